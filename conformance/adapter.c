#include "adapter.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "xmalloc.h"

#define TRANSCRIPT_LINE_MAX 65536
#define STOP_GRACE_MS 2000

/* Whether s holds only whole UTF-8 sequences (RFC 3629: no overlong forms, surrogates
 * or code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0, need, k;

    while (i < len) {
        unsigned char c = s[i], lo = 0x80, hi = 0xBF;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3;
        else
            return false;
        if (len - i <= need)
            return false;
        /* A narrower range for the second byte rules those out. */
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        for (k = 1; k <= need; k++, lo = 0x80, hi = 0xBF)
            if (s[i + k] < lo || s[i + k] > hi)
                return false;
        i += need + 1;
    }
    return true;
}

/* One line of the transcript: the message when the line is JSON in UTF-8, else the raw
 * text (invalid UTF-8 shown as U+FFFD), so that the transcript stays NDJSON. */
static void record(struct adapter *a, const char *dir, const char *line, size_t len)
{
    cJSON *msg = len <= TRANSCRIPT_LINE_MAX && utf8_valid((const unsigned char *)line, len)
                 ? cJSON_ParseWithLength(line, len) : NULL;
    char *text;

    buf_addf(&a->transcript, "{\"ms\":%lld,\"dir\":\"%s\",", child_now_ms() - a->t0, dir);
    if (msg) {
        text = cJSON_PrintUnformatted(msg);
        buf_addstr(&a->transcript, "\"msg\":");
        buf_addstr(&a->transcript, text);
        cJSON_free(text);
        cJSON_Delete(msg);
    } else {
        buf_addstr(&a->transcript, "\"raw\":");
        buf_add_json_str(&a->transcript, line, len > 4096 ? 4096 : len);
        if (len > 4096)
            buf_addf(&a->transcript, ",\"raw_bytes\":%zu", len);
    }
    buf_addstr(&a->transcript, "}\n");
}

static enum rc send_msg(struct adapter *a, const cJSON *msg, struct buf *err)
{
    char *text = cJSON_PrintUnformatted(msg);
    size_t n = strlen(text);
    struct buf line = BUF_INIT;
    enum rc rc;

    record(a, "send", text, n);
    buf_add(&line, text, n);
    buf_addch(&line, '\n');
    cJSON_free(text);
    rc = child_write(&a->child, line.data, line.len);
    buf_release(&line);
    if (rc != RC_OK) {
        buf_addstr(err, "the adapter closed its input");
        if (child_exited(&a->child)) {
            buf_addstr(err, ": it ");
            adapter_describe_exit(a, err);
        }
    }
    return rc;
}

void adapter_describe_exit(struct adapter *a, struct buf *out)
{
    if (!a->child.exited && a->child.pid > 0 && !child_exited(&a->child))
        buf_addstr(out, "is still running");
    else if (!a->child.exited)
        buf_addstr(out, "was stopped");
    else if (WIFEXITED(a->child.status))
        buf_addf(out, "exited with status %d", WEXITSTATUS(a->child.status));
    else if (WIFSIGNALED(a->child.status))
        buf_addf(out, "was killed by signal %d (%s)", WTERMSIG(a->child.status),
                 strsignal(WTERMSIG(a->child.status)));
    else
        buf_addstr(out, "ended");
}

/* Why reading stopped, as a message. */
static void read_failed(struct adapter *a, enum rc rc, const char *waiting_for, long ms,
                        struct buf *err)
{
    if (rc == RC_TIMEOUT) {
        buf_addf(err, "adapter hung: no %s within %ld ms", waiting_for, ms);
    } else if (rc == RC_STOPPED) {
        buf_addstr(err, "interrupted");
    } else {
        struct timespec ts = { 0, 50 * 1000000L };

        nanosleep(&ts, NULL);   /* let it finish dying, for the message */
        buf_addf(err, "the adapter closed its output while %s was awaited: it ", waiting_for);
        adapter_describe_exit(a, err);
    }
}

enum rc adapter_start(struct adapter *a, const char *command, char *const envp[],
                      const char *stderr_path, const volatile int *stop, struct buf *err)
{
    struct buf sh = BUF_INIT, line = BUF_INIT;
    char *argv[4];
    cJSON *hello = cJSON_CreateObject(), *got = NULL;
    const cJSON *type, *proto;
    enum rc rc;
    long long deadline;

    memset(a, 0, sizeof(*a));
    a->child.in_fd = a->child.out_fd = -1;
    a->t0 = child_now_ms();
    a->stop = stop;
    buf_addf(&sh, "exec %s", command);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = sh.data;
    argv[3] = NULL;
    rc = child_start(&a->child, argv, envp, true, stderr_path, err);
    if (rc != RC_OK)
        goto out;
    cJSON_AddStringToObject(hello, "type", "hello");
    cJSON_AddStringToObject(hello, "protocol", "hogconf/1");
    rc = send_msg(a, hello, err);
    if (rc != RC_OK)
        goto fail;
    deadline = child_now_ms() + ADAPTER_HELLO_MS;
    rc = child_read_line(&a->child, deadline, stop, &line);
    if (rc != RC_OK) {
        read_failed(a, rc, "hello", ADAPTER_HELLO_MS, err);
        goto fail;
    }
    record(a, "recv", line.data ? line.data : "", line.len);
    got = cJSON_ParseWithLength(line.data ? line.data : "", line.len);
    type = cJSON_GetObjectItemCaseSensitive(got, "type");
    proto = cJSON_GetObjectItemCaseSensitive(got, "protocol");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "hello") != 0) {
        buf_addf(err, "the adapter answered hello with: %.300s", buf_cstr(&line));
        rc = RC_PARSE;
        goto fail;
    }
    if (!cJSON_IsString(proto) || strcmp(proto->valuestring, "hogconf/1") != 0) {
        buf_addf(err, "the adapter speaks %s, not hogconf/1",
                 cJSON_IsString(proto) ? proto->valuestring : "no protocol it names");
        rc = RC_UNSUPPORTED;
        goto fail;
    }
    a->hello = got;
    got = NULL;
    goto out;
fail:
    adapter_stop(a, true);
out:
    cJSON_Delete(hello);
    cJSON_Delete(got);
    buf_release(&sh);
    buf_release(&line);
    return rc;
}

void adapter_take_line(struct adapter *a, const char *id, const char *line, size_t len,
                       long long sent_ms, cJSON **result, cJSON *events)
{
    cJSON *msg;
    const cJSON *type, *mid;

    record(a, "recv", line, len);
    msg = cJSON_ParseWithLength(line, len);
    type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    mid = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (!cJSON_IsString(type) || !cJSON_IsString(mid) || strcmp(mid->valuestring, id) != 0) {
        /* Not this call's: a stray line stays in the transcript only. */
        cJSON_Delete(msg);
        return;
    }
    if (strcmp(type->valuestring, "result") == 0) {
        *result = msg;
    } else if (strcmp(type->valuestring, "event") == 0) {
        cJSON *ev = cJSON_DetachItemFromObjectCaseSensitive(msg, "event");

        if (a->first_event_ms < 0)
            a->first_event_ms = child_now_ms() - sent_ms;

        cJSON_AddItemToArray(events, ev ? ev : cJSON_CreateNull());
        cJSON_Delete(msg);
    } else if (strcmp(type->valuestring, "protocol_error") == 0) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "message");
        cJSON *r = cJSON_CreateObject(), *e;

        cJSON_AddStringToObject(r, "type", "result");
        cJSON_AddStringToObject(r, "id", id);
        cJSON_AddFalseToObject(r, "ok");
        e = cJSON_AddObjectToObject(r, "error");
        cJSON_AddStringToObject(e, "type", "ProtocolError");
        cJSON_AddStringToObject(e, "message", cJSON_IsString(m) ? m->valuestring : "");
        *result = r;
        cJSON_Delete(msg);
    } else {
        cJSON_Delete(msg);
    }
}

enum rc adapter_call(struct adapter *a, const char *id, const char *op, const cJSON *args,
                     long deadline_ms, cJSON **result, cJSON **events, struct buf *err)
{
    cJSON *call = cJSON_CreateObject();
    struct buf line = BUF_INIT;
    long wait_ms = deadline_ms > 0 ? deadline_ms + ADAPTER_GRACE_MS : ADAPTER_NO_DEADLINE_MS;
    long long deadline = child_now_ms() + wait_ms;
    enum rc rc;

    long long sent = child_now_ms();

    *result = NULL;
    *events = cJSON_CreateArray();
    a->first_event_ms = -1;
    cJSON_AddStringToObject(call, "type", "call");
    cJSON_AddStringToObject(call, "id", id);
    cJSON_AddStringToObject(call, "op", op);
    cJSON_AddItemToObject(call, "args", args ? cJSON_Duplicate(args, true) : cJSON_CreateObject());
    if (deadline_ms > 0)
        cJSON_AddNumberToObject(call, "deadline_ms", (double)deadline_ms);
    rc = send_msg(a, call, err);
    /* Bounded by the deadline: every turn reads a line or ends. */
    while (rc == RC_OK && !*result) {
        rc = child_read_line(&a->child, deadline, a->stop, &line);
        if (rc != RC_OK) {
            read_failed(a, rc, "result", wait_ms, err);
            break;
        }
        adapter_take_line(a, id, line.data ? line.data : "", line.len, sent, result, *events);
    }
    if (rc != RC_OK) {
        cJSON_Delete(*events);
        *events = NULL;
    }
    cJSON_Delete(call);
    buf_release(&line);
    return rc;
}

void adapter_stop(struct adapter *a, bool hung)
{
    if (a->child.pid > 0 || a->child.in_fd >= 0 || a->child.out_fd >= 0)
        child_stop(&a->child, hung ? 0 : STOP_GRACE_MS);
}

void adapter_release(struct adapter *a)
{
    adapter_stop(a, true);
    buf_release(&a->transcript);
    cJSON_Delete(a->hello);
    a->hello = NULL;
}

long long adapter_first_event_ms(const struct adapter *a)
{
    return a->first_event_ms;
}
