/* hog-adapter-c: the C adapter of the hogconf/1 protocol (harness/PROTOCOL.md) over
 * libhogclient. Reads NDJSON messages on stdin, runs each call on a thread of its own,
 * writes events and results on stdout and its log on stderr. A line it cannot read gets
 * a protocol_error and the reading goes on: no input makes it crash or exit. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "hogclient.h"
#include "log.h"
#include "ops.h"
#include "xmalloc.h"

#define PROTOCOL "hogconf/1"
#define MAX_IN_FLIGHT 64

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t run_cond = PTHREAD_COND_INITIALIZER;

/* The calls in flight, one thread each; every thread is joined, so none is still
 * unwinding when the process exits. */
static struct slot {
    pthread_t tid;
    struct call *call;
    bool used, done;
} slots[MAX_IN_FLIGHT];

void adapter_emit(struct buf *line)
{
    size_t off = 0, len;

    buf_addch(line, '\n');
    len = line->len;
    pthread_mutex_lock(&out_lock);
    while (off < len) {
        ssize_t n = write(STDOUT_FILENO, line->data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* The runner is gone: nobody is left to answer. */
            log_error("unable to write to stdout: %s", strerror(errno));
            _exit(1);
        }
        off += (size_t)n;
    }
    pthread_mutex_unlock(&out_lock);
    buf_truncate(line, len - 1);
}

static void protocol_error(const char *id, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void protocol_error(const char *id, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    buf_addstr(&b, "{\"type\":\"protocol_error\",\"id\":");
    if (id)
        buf_add_json_str(&b, id, strlen(id));
    else
        buf_addstr(&b, "null");
    buf_addstr(&b, ",\"message\":");
    buf_add_json_str(&b, text, strlen(text));
    buf_addch(&b, '}');
    log_warn("protocol error: %s", text);
    adapter_emit(&b);
    buf_release(&b);
}

static void hello(const cJSON *msg)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(msg, "protocol");
    cJSON *h, *client;
    char *text;
    struct buf b = BUF_INIT;

    if (!cJSON_IsString(p) || strcmp(p->valuestring, PROTOCOL) != 0) {
        protocol_error(NULL, "protocol %s%.64s%s is not spoken here; this adapter speaks "
                       PROTOCOL, cJSON_IsString(p) ? "'" : "", cJSON_IsString(p) ? p->valuestring
                       : "(none)", cJSON_IsString(p) ? "'" : "");
        return;
    }
    h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "type", "hello");
    cJSON_AddStringToObject(h, "protocol", PROTOCOL);
    client = cJSON_AddObjectToObject(h, "client");
    cJSON_AddStringToObject(client, "name", HOG_CLIENT_NAME);
    cJSON_AddStringToObject(client, "version", HOG_CLIENT_VERSION);
    cJSON_AddStringToObject(client, "language", "c");
    cJSON_AddItemToObject(h, "features", ops_features());
    text = cJSON_PrintUnformatted(h);
    buf_addstr(&b, text);
    adapter_emit(&b);
    buf_release(&b);
    cJSON_free(text);
    cJSON_Delete(h);
}

static void call_free(struct call *call)
{
    free(call->id);
    free(call->op);
    cJSON_Delete(call->args);
    conf_release(&call->conf);
    free(call);
}

static void *worker(void *arg)
{
    struct slot *slot = arg;

    ops_run(slot->call);
    call_free(slot->call);
    pthread_mutex_lock(&run_lock);
    slot->call = NULL;
    slot->done = true;
    pthread_cond_broadcast(&run_cond);
    pthread_mutex_unlock(&run_lock);
    return NULL;
}

/* Join the threads that are done (with run_lock held); the number still running. */
static unsigned reap(void)
{
    unsigned busy = 0;
    size_t i;

    for (i = 0; i < MAX_IN_FLIGHT; i++) {
        if (slots[i].used && slots[i].done) {
            pthread_join(slots[i].tid, NULL);
            slots[i].used = false;
        }
        busy += slots[i].used;
    }
    return busy;
}

static void start(struct call *call)
{
    struct slot *slot = NULL;
    size_t i;
    int err;

    pthread_mutex_lock(&run_lock);
    for (;;) {
        reap();
        for (i = 0; i < MAX_IN_FLIGHT && !slot; i++)
            if (!slots[i].used)
                slot = &slots[i];
        if (slot)
            break;
        pthread_cond_wait(&run_cond, &run_lock);
    }
    slot->used = true;
    slot->done = false;
    slot->call = call;
    err = pthread_create(&slot->tid, NULL, worker, slot);
    if (err)
        slot->used = false;
    pthread_mutex_unlock(&run_lock);
    if (err) {
        log_warn("unable to start a thread: %s; running the call here", strerror(err));
        ops_run(call);
        call_free(call);
    }
}

static void call_msg(struct conf *conf, const cJSON *msg)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(msg, "op");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(msg, "args");
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(msg, "deadline_ms");
    struct call *call;

    if (!cJSON_IsString(id)) {
        protocol_error(NULL, "a call needs a string \"id\"");
        return;
    }
    if (!cJSON_IsString(op)) {
        protocol_error(id->valuestring, "a call needs a string \"op\"");
        return;
    }
    if (args && !cJSON_IsNull(args) && !cJSON_IsObject(args)) {
        protocol_error(id->valuestring, "\"args\" of a call must be an object");
        return;
    }
    if (dl && !cJSON_IsNull(dl)
        && (!cJSON_IsNumber(dl) || dl->valuedouble < 1 || dl->valuedouble > 2147483647.0
            || dl->valuedouble != (double)(long)dl->valuedouble)) {
        protocol_error(id->valuestring, "\"deadline_ms\" must be a positive integer");
        return;
    }
    call = xcalloc(1, sizeof(*call));
    call->id = xstrdup(id->valuestring);
    call->op = xstrdup(op->valuestring);
    call->args = cJSON_IsObject(args) ? cJSON_Duplicate(args, true) : cJSON_CreateObject();
    call->deadline_ms = cJSON_IsNumber(dl) ? (long)dl->valuedouble : 0;

    if (strcmp(call->op, "configure") == 0) {
        /* Here, not on a thread: the calls read after it must see it. */
        struct buf why = BUF_INIT;
        cJSON *value = NULL;

        if (conf_apply(conf, call->args, &value, &why) == RC_OK) {
            char *text = cJSON_PrintUnformatted(value);

            emit_ok(call, text, strlen(text));
            cJSON_free(text);
        } else {
            emit_adapter_error(call, "InvalidArguments", buf_cstr(&why));
        }
        cJSON_Delete(value);
        buf_release(&why);
        call_free(call);
        return;
    }
    conf_copy(&call->conf, conf);
    if (!ops_known(call->op)) {
        ops_run(call);
        call_free(call);
        return;
    }
    start(call);
}

int main(int argc, char **argv)
{
    struct conf conf;
    enum log_level level = LOG_WARN;
    const char *lv = getenv("HOG_LOG_LEVEL");
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    ssize_t n;

    if (argc > 1) {
        fprintf(stderr, "usage: %s  (speaks " PROTOCOL " on stdin/stdout; see harness/PROTOCOL.md)\n"
                "environment: HOG_HOST, HOG_TOKEN or HOG_TOKEN_FILE, HOG_LOG_LEVEL\n", argv[0]);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (lv && log_level_parse(lv, &level) != RC_OK)
        fprintf(stderr, "hog-adapter-c: unknown HOG_LOG_LEVEL '%s'\n", lv);
    log_set_level(level);
    xmalloc_init_cjson();
    conf_from_env(&conf);
    if (!conf.host)
        log_warn("HOG_HOST is not set; calls fail until configure gives a host");

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        cJSON *msg;
        const cJSON *type;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        msg = cJSON_ParseWithLength(line, (size_t)n);
        type = cJSON_GetObjectItemCaseSensitive(msg, "type");
        if (!msg)
            protocol_error(NULL, "line %lu is not JSON", lineno);
        else if (!cJSON_IsObject(msg))
            protocol_error(NULL, "line %lu is not a JSON object", lineno);
        else if (!cJSON_IsString(type))
            protocol_error(NULL, "line %lu has no string \"type\"", lineno);
        else if (strcmp(type->valuestring, "hello") == 0)
            hello(msg);
        else if (strcmp(type->valuestring, "call") == 0)
            call_msg(&conf, msg);
        else
            protocol_error(NULL, "line %lu: unknown message type '%.64s'", lineno, type->valuestring);
        cJSON_Delete(msg);
    }

    /* End of input: let the calls in flight finish and answer, then leave. */
    pthread_mutex_lock(&run_lock);
    while (reap())
        pthread_cond_wait(&run_cond, &run_lock);
    pthread_mutex_unlock(&run_lock);
    free(line);
    conf_release(&conf);
    return 0;
}
