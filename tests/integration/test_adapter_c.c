/* Integration tests for hog-adapter-c, driven as the runner drives it: spawned with pipes,
 * HOG_HOST and a credential in its environment, NDJSON in and out (harness/PROTOCOL.md):
 * the handshake, every operation against an in-process hogmock, errors in the canonical
 * shape, protocol errors for malformed lines, events before the result, the end of input
 * and SIGTERM, the token file and configure. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cmocka.h>

#include "base64.h"
#include "harness.h"
#include "hogclient.h"
#include "xmalloc.h"

/* ---- the adapter process -------------------------------------------------------- */

struct adapter {
    pid_t pid;
    int in, out;            /* its stdin (we write), its stdout (we read) */
    struct buf pending;     /* bytes read that are not yet a whole line */
};

static void adapter_path(char *out, size_t size)
{
    char *slash = NULL;
    ssize_t n = readlink("/proc/self/exe", out, size - 1);

    if (n > 0) {
        out[n] = '\0';
        slash = strrchr(out, '/');
    }
    assert_non_null(slash);
    snprintf(slash, size - (size_t)(slash - out), "/../../bin/hog-adapter-c");
    if (access(out, X_OK) != 0)
        fail_msg("no adapter at %s", out);
}

/* Start the adapter with host and a token (or a token file; both NULL: neither). */
static void adapter_start(struct adapter *a, const char *host, const char *token,
                          const char *token_file)
{
    extern char **environ;
    char path[4096], *env[256], *own[8];
    size_t i, k = 0, o = 0;
    int to[2], from[2];

    adapter_path(path, sizeof(path));
    /* The environment is built here: after fork only async-signal-safe calls are made. */
    for (i = 0; environ[i] && k < 240; i++)
        if (strncmp(environ[i], "HOG_", 4) != 0)
            env[k++] = environ[i];
    {
        struct buf b = BUF_INIT;

        if (host) {
            buf_addf(&b, "HOG_HOST=%s", host);
            own[o++] = env[k++] = buf_detach(&b, NULL);
        }
        if (token) {
            buf_addf(&b, "HOG_TOKEN=%s", token);
            own[o++] = env[k++] = buf_detach(&b, NULL);
        }
        if (token_file) {
            buf_addf(&b, "HOG_TOKEN_FILE=%s", token_file);
            own[o++] = env[k++] = buf_detach(&b, NULL);
        }
        own[o++] = env[k++] = xstrdup("HOG_LOG_LEVEL=error");
    }
    env[k] = NULL;
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    for (i = 0; i < 2; i++) {
        fcntl(to[i], F_SETFD, FD_CLOEXEC);      /* dup2 clears it on 0 and 1 */
        fcntl(from[i], F_SETFD, FD_CLOEXEC);
    }
    a->pid = fork();
    assert_true(a->pid >= 0);
    if (a->pid == 0) {
        /* stderr stays the test's: quiet at log level error, loud on a sanitizer report. */
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        execve(path, (char *const[]){ path, NULL }, env);
        _exit(127);
    }
    for (i = 0; i < o; i++)
        free(own[i]);
    close(to[0]);
    close(from[1]);
    a->in = to[1];
    a->out = from[0];
    buf_init(&a->pending);
}

static void send_line(struct adapter *a, const char *line)
{
    size_t n = strlen(line), off = 0;

    while (off < n) {
        ssize_t w = write(a->in, line + off, n - off);

        assert_true(w > 0);
        off += (size_t)w;
    }
    assert_int_equal(write(a->in, "\n", 1), 1);
}

/* The next line the adapter writes, within ms; NULL at EOF or timeout. New string. */
static char *recv_line(struct adapter *a, long ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *nl = a->pending.len ? memchr(a->pending.data, '\n', a->pending.len) : NULL;
        char chunk[65536];
        struct pollfd p = { a->out, POLLIN, 0 };
        long left = ms - mock_ms_since(&t0);
        ssize_t n;

        if (nl) {
            size_t len = (size_t)(nl - a->pending.data);
            char *line = xstrndup(a->pending.data, len);

            memmove(a->pending.data, nl + 1, a->pending.len - len - 1);
            buf_truncate(&a->pending, a->pending.len - len - 1);
            return line;
        }
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        n = read(a->out, chunk, sizeof(chunk));
        if (n <= 0)
            return NULL;
        buf_add(&a->pending, chunk, (size_t)n);
    }
}

/* The next message, parsed; fails the test at EOF, timeout or a line that is not JSON. */
static cJSON *recv_msg(struct adapter *a, long ms)
{
    char *line = recv_line(a, ms);
    cJSON *msg;

    if (!line)
        fail_msg("the adapter wrote nothing within %ld ms", ms);
    msg = cJSON_Parse(line);
    if (!cJSON_IsObject(msg))
        fail_msg("not a JSON object: %.200s", line);
    free(line);
    return msg;
}

static void hello(struct adapter *a)
{
    cJSON *h;

    send_line(a, "{\"type\":\"hello\",\"protocol\":\"hogconf/1\"}");
    h = recv_msg(a, 10000);
    assert_string_equal(cJSON_GetObjectItem(h, "type")->valuestring, "hello");
    cJSON_Delete(h);
}

/* Send a call and read up to its result (returned); its events go into *events (a new
 * array) when events is not NULL. */
static cJSON *call(struct adapter *a, const char *id, const char *op, const char *args,
                   cJSON **events)
{
    struct buf line = BUF_INIT;
    int rounds;

    buf_addf(&line, "{\"type\":\"call\",\"id\":\"%s\",\"op\":\"%s\",\"args\":%s}", id, op,
             args ? args : "{}");
    send_line(a, buf_cstr(&line));
    buf_release(&line);
    if (events)
        *events = cJSON_CreateArray();
    for (rounds = 0; rounds < 100000; rounds++) {
        cJSON *msg = recv_msg(a, 30000);
        const char *type = cJSON_GetObjectItem(msg, "type")->valuestring;
        const cJSON *mid = cJSON_GetObjectItem(msg, "id");

        assert_true(cJSON_IsString(mid));
        assert_string_equal(mid->valuestring, id);
        if (strcmp(type, "result") == 0)
            return msg;
        assert_string_equal(type, "event");
        if (events)
            cJSON_AddItemToArray(*events, msg);
        else
            cJSON_Delete(msg);
    }
    fail_msg("no result for %s", id);
    return NULL;
}

/* A call that must succeed: its value, detached (caller frees). */
static cJSON *ok(struct adapter *a, const char *id, const char *op, const char *args)
{
    cJSON *res = call(a, id, op, args, NULL), *value;

    if (!cJSON_IsTrue(cJSON_GetObjectItem(res, "ok"))) {
        char *text = cJSON_PrintUnformatted(res);

        fail_msg("%s %s failed: %.500s", op, id, text);
    }
    value = cJSON_DetachItemFromObject(res, "value");
    cJSON_Delete(res);
    assert_non_null(value);
    return value;
}

/* A call that must fail: its error object, detached (caller frees). */
static cJSON *failed(struct adapter *a, const char *id, const char *op, const char *args,
                     const char *type)
{
    cJSON *res = call(a, id, op, args, NULL), *e;

    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "ok")));
    e = cJSON_DetachItemFromObject(res, "error");
    cJSON_Delete(res);
    assert_non_null(e);
    assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, type);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    return e;
}

/* Close its stdin and wait up to ms for it to exit: its exit status, or -1 (then it is
 * killed). */
static int adapter_finish(struct adapter *a, long ms)
{
    struct timespec t0;
    int status = 0;

    if (a->in >= 0)
        close(a->in);
    a->in = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (mock_ms_since(&t0) < ms) {
        pid_t p = waitpid(a->pid, &status, WNOHANG);

        if (p == a->pid) {
            close(a->out);
            buf_release(&a->pending);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        mock_pause_ms(10);
    }
    kill(a->pid, SIGKILL);
    waitpid(a->pid, &status, 0);
    close(a->out);
    buf_release(&a->pending);
    return -1;
}

static const char *s(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double n(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void add_program(struct mock *m, const char *json)
{
    struct resp r;

    mock_json(m, "POST", "/__hogmock/exec-programs", NULL, json, &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
}

static struct mock *real_clock_mock(void)
{
    struct hogmock_config cfg;

    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    return mock_start(&cfg);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_adapter_says_hello_with_client_and_features(void **state)
{
    struct mock *m = *state;
    struct adapter a;
    const cJSON *f;
    cJSON *h, *client;
    int have = 0;

    adapter_start(&a, m->url, "tok_alice", NULL);
    send_line(&a, "{\"type\":\"hello\",\"protocol\":\"hogconf/1\"}");
    h = recv_msg(&a, 10000);
    assert_string_equal(s(h, "type"), "hello");
    assert_string_equal(s(h, "protocol"), "hogconf/1");
    client = cJSON_GetObjectItem(h, "client");
    assert_string_equal(s(client, "name"), "libhogclient");
    assert_string_equal(s(client, "version"), HOG_CLIENT_VERSION);
    assert_string_equal(s(client, "language"), "c");
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(h, "features")) {
        have += strcmp(f->valuestring, "exec_stream") == 0 || strcmp(f->valuestring, "files") == 0
                || strcmp(f->valuestring, "snapshots") == 0 || strcmp(f->valuestring, "proxy") == 0
                || strcmp(f->valuestring, "token_file") == 0;
    }
    assert_int_equal(have, 5);
    cJSON_Delete(h);
    assert_int_equal(adapter_finish(&a, 5000), 0);
}

static void test_adapter_runs_every_operation(void **state)
{
    struct mock *m = *state;
    struct adapter a;
    struct buf args = BUF_INIT, b64 = BUF_INIT, raw = BUF_INIT;
    unsigned char bytes[256];
    cJSON *v, *events;
    const cJSON *items, *ev;
    char box[64], snap[64], url[256];
    int i;

    adapter_start(&a, m->url, "tok_alice", NULL);
    hello(&a);

    v = ok(&a, "ops#1", "configure", "{\"max_attempts\":2,\"backoff_base_ms\":10,\"favourite\":1}");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "ignored"), 0)->valuestring,
                        "favourite");
    cJSON_Delete(v);
    v = ok(&a, "ops#2", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_alice");
    cJSON_Delete(v);
    v = ok(&a, "ops#3", "limits", NULL);
    assert_int_equal((long)n(v, "file_max_bytes"), 67108864);
    cJSON_Delete(v);
    v = ok(&a, "ops#4", "create", "{\"cpus\":1,\"memory_mib\":512,\"labels\":{\"suite\":\"adapter\"},"
           "\"idempotency_key\":\"adapter-ops-1\"}");
    snprintf(box, sizeof(box), "%s", s(v, "id"));
    assert_int_equal((int)n(v, "cpus"), 1);
    assert_string_equal(s(cJSON_GetObjectItem(v, "labels"), "suite"), "adapter");
    cJSON_Delete(v);
    buf_addf(&args, "{\"box\":\"%s\"}", box);
    v = ok(&a, "ops#5", "get", buf_cstr(&args));
    assert_string_equal(s(v, "id"), box);
    cJSON_Delete(v);
    cJSON_Delete(ok(&a, "ops#6", "create", "{\"labels\":{\"suite\":\"adapter\"}}"));
    v = ok(&a, "ops#7", "list", "{\"limit\":1,\"labels\":{\"suite\":\"adapter\"}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "items")), 1);
    assert_non_null(s(v, "next_cursor"));
    cJSON_Delete(v);
    v = ok(&a, "ops#8", "list_all", "{\"limit\":1,\"labels\":{\"suite\":\"adapter\"}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "items")), 2);
    cJSON_Delete(v);

    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\",\"argv\":[\"sh\",\"-c\",\"echo $G; echo e >&2; exit 2\"],"
             "\"env\":{\"G\":\"hi\"},\"timeout_seconds\":10,\"workdir\":\"/root\"}", box);
    v = ok(&a, "ops#9", "exec", buf_cstr(&args));
    assert_int_equal((int)n(v, "exit_code"), 2);
    assert_string_equal(s(v, "stdout"), "hi\n");
    assert_string_equal(s(v, "stderr"), "e\n");
    assert_string_equal(s(v, "stdout_base64"), "aGkK");
    assert_string_equal(s(v, "stderr_base64"), "ZQo=");
    cJSON_Delete(v);
    {
        /* NUL bytes of the output, read on the raw line: \u0000 in the text, and base64. */
        struct buf line = BUF_INIT;
        char *got;

        buf_addf(&line, "{\"type\":\"call\",\"id\":\"ops#9a\",\"op\":\"exec\",\"args\":"
                 "{\"box\":\"%s\",\"argv\":[\"sh\",\"-c\","
                 "\"printf 'a\\\\0b'; printf '\\\\0' >&2\"]}}", box);
        send_line(&a, buf_cstr(&line));
        got = recv_line(&a, 30000);
        assert_non_null(got);
        assert_non_null(strstr(got, "\"stdout\":\"a\\u0000b\""));
        assert_non_null(strstr(got, "\"stderr\":\"\\u0000\""));
        assert_non_null(strstr(got, "\"stdout_base64\":\"YQBi\""));
        assert_non_null(strstr(got, "\"stderr_base64\":\"AA==\""));
        free(got);
        buf_release(&line);
    }
    v = call(&a, "ops#10", "exec_stream", buf_cstr(&args), &events);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "ok")));
    assert_int_equal((int)n(cJSON_GetObjectItem(v, "value"), "exit_code"), 2);
    assert_int_equal(cJSON_GetArraySize(events), 3);
    i = 0;
    cJSON_ArrayForEach(ev, events) {
        const cJSON *e = cJSON_GetObjectItem(ev, "event");

        assert_int_equal((int)n(ev, "seq"), i);
        if (i == 0)
            assert_string_equal(s(e, "data"), "hi\n");
        if (i == 1)
            assert_string_equal(s(e, "kind"), "stderr");
        if (i == 2) {
            assert_string_equal(s(e, "kind"), "exit");
            assert_int_equal((int)n(e, "exit_code"), 2);
            assert_true(cJSON_IsFalse(cJSON_GetObjectItem(e, "timed_out")));
        }
        i++;
    }
    cJSON_Delete(v);
    cJSON_Delete(events);

    /* Every byte value through base64 and back. */
    for (i = 0; i < 256; i++)
        bytes[i] = (unsigned char)(255 - i);
    base64_encode(&b64, bytes, sizeof(bytes));
    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\",\"path\":\"/srv/x/bytes\",\"mkdir\":true,\"mode\":\"0640\","
             "\"data\":\"%s\"}", box, buf_cstr(&b64));
    v = ok(&a, "ops#11", "write_file", buf_cstr(&args));
    assert_int_equal((int)n(v, "size"), 256);
    assert_string_equal(s(v, "mode"), "0640");
    cJSON_Delete(v);
    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\",\"path\":\"/srv/x/bytes\"}", box);
    v = ok(&a, "ops#12", "read_file", buf_cstr(&args));
    assert_int_equal(base64_decode(s(v, "data"), strlen(s(v, "data")), &raw), RC_OK);
    assert_int_equal(raw.len, 256);
    assert_memory_equal(raw.data, bytes, 256);
    cJSON_Delete(v);

    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\"}", box);
    v = ok(&a, "ops#13", "snapshot", buf_cstr(&args));
    snprintf(snap, sizeof(snap), "%s", s(v, "id"));
    assert_string_equal(s(v, "hogbox_id"), box);
    cJSON_Delete(v);
    v = ok(&a, "ops#14", "list_snapshots", "{\"limit\":5}");
    items = cJSON_GetObjectItem(v, "items");
    assert_string_equal(s(cJSON_GetArrayItem(items, 0), "id"), snap);
    cJSON_Delete(v);
    buf_reset(&args);
    buf_addf(&args, "{\"snapshot\":\"%s\"}", snap);
    v = ok(&a, "ops#15", "get_snapshot", buf_cstr(&args));
    assert_string_equal(s(v, "id"), snap);
    cJSON_Delete(v);

    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\",\"port\":8080,\"path\":\"/health\"}", box);
    v = ok(&a, "ops#16", "proxy_url", buf_cstr(&args));
    snprintf(url, sizeof(url), "%s/v1/hogboxes/%s/proxy/8080/health", m->url, box);
    assert_string_equal(s(v, "url"), url);
    cJSON_Delete(v);
    v = ok(&a, "ops#17", "proxy_request", buf_cstr(&args));
    assert_int_equal((int)n(v, "status"), 200);
    assert_string_equal(s(v, "body"), "eyJzdGF0dXMiOiJvayJ9");     /* {"status":"ok"} */
    assert_string_equal(s(cJSON_GetObjectItem(v, "headers"), "content-type"), "application/json");
    cJSON_Delete(v);

    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\"}", box);
    v = ok(&a, "ops#18", "pause", buf_cstr(&args));
    assert_string_equal(s(v, "state"), "paused");
    cJSON_Delete(v);
    v = ok(&a, "ops#19", "resume", buf_cstr(&args));
    assert_string_equal(s(v, "state"), "running");
    cJSON_Delete(v);
    v = ok(&a, "ops#20", "destroy", buf_cstr(&args));
    assert_int_equal(cJSON_GetArraySize(v), 0);
    cJSON_Delete(v);
    buf_reset(&args);
    buf_addf(&args, "{\"snapshot\":\"%s\"}", snap);
    v = ok(&a, "ops#21", "delete_snapshot", buf_cstr(&args));
    cJSON_Delete(v);

    buf_release(&args);
    buf_release(&b64);
    buf_release(&raw);
    assert_int_equal(adapter_finish(&a, 5000), 0);
}

static void test_adapter_reports_errors_in_the_canonical_shape(void **state)
{
    struct mock *m = *state;
    struct adapter a;
    struct buf args = BUF_INIT;
    cJSON *e, *v;
    char box[64];

    adapter_start(&a, m->url, "tok_alice", NULL);
    hello(&a);
    e = failed(&a, "err#1", "get", "{\"box\":\"hb_0000000000000000\"}", "NotFoundError");
    assert_int_equal((int)n(e, "status_code"), 404);
    assert_string_equal(s(cJSON_GetObjectItem(e, "body"), "code"), "hogbox_not_found");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "retry_after")));
    assert_string_equal(s(e, "native_type"), "HOG_ERR_NOT_FOUND");
    cJSON_Delete(e);
    e = failed(&a, "err#2", "create", "{\"cpus\":99}", "ValidationError");
    assert_int_equal((int)n(e, "status_code"), 422);
    cJSON_Delete(e);
    /* 0 is a value to send, not "not given". */
    e = failed(&a, "err#2a", "create", "{\"cpus\":0}", "ValidationError");
    assert_int_equal((int)n(e, "status_code"), 422);
    cJSON_Delete(e);
    e = failed(&a, "err#2b", "list", "{\"limit\":0}", "ValidationError");
    assert_int_equal((int)n(e, "status_code"), 400);
    cJSON_Delete(e);

    v = ok(&a, "err#3", "create", NULL);
    snprintf(box, sizeof(box), "%s", s(v, "id"));
    cJSON_Delete(v);
    buf_addf(&args, "{\"box\":\"%s\"}", box);
    cJSON_Delete(ok(&a, "err#4", "pause", buf_cstr(&args)));
    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\",\"argv\":[\"echo\",\"hi\"]}", box);
    e = failed(&a, "err#5", "exec", buf_cstr(&args), "ConflictError");
    assert_int_equal((int)n(e, "status_code"), 409);
    assert_string_equal(s(cJSON_GetObjectItem(e, "body"), "code"), "invalid_state");
    cJSON_Delete(e);
    e = failed(&a, "err#6", "exec_stream", buf_cstr(&args), "ConflictError");
    cJSON_Delete(e);

    /* Refused before sending: no status. */
    e = failed(&a, "err#7", "proxy_url", "{\"box\":\"hb_1\",\"port\":70000}", "ValidationError");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "status_code")));
    cJSON_Delete(e);

    /* The adapter's own: arguments that do not fit, an op it does not know. */
    cJSON_Delete(failed(&a, "err#8", "get", NULL, "InvalidArguments"));
    cJSON_Delete(failed(&a, "err#9", "get", "{\"box\":7}", "InvalidArguments"));
    cJSON_Delete(failed(&a, "err#10", "exec", "{\"box\":\"hb_1\",\"argv\":\"echo hi\"}",
                        "InvalidArguments"));
    cJSON_Delete(failed(&a, "err#11", "write_file",
                        "{\"box\":\"hb_1\",\"path\":\"/x\",\"data\":\"not base64!\"}",
                        "InvalidArguments"));
    cJSON_Delete(failed(&a, "err#12", "teleport", NULL, "UnsupportedOperation"));
    cJSON_Delete(failed(&a, "err#13", "configure", "{\"max_attempts\":0}", "InvalidArguments"));
    buf_release(&args);
    assert_int_equal(adapter_finish(&a, 5000), 0);

    /* A bad credential. */
    adapter_start(&a, m->url, "tok_wrong", NULL);
    hello(&a);
    e = failed(&a, "err#14", "me", NULL, "AuthenticationError");
    assert_int_equal((int)n(e, "status_code"), 401);
    assert_null(strstr(s(e, "message"), "tok_wrong"));
    cJSON_Delete(e);
    assert_int_equal(adapter_finish(&a, 5000), 0);

    /* No host at all: every call is an AdapterError until configure gives one. */
    adapter_start(&a, NULL, "tok_alice", NULL);
    hello(&a);
    cJSON_Delete(failed(&a, "err#15", "me", NULL, "AdapterError"));
    buf_addf(&args, "{\"host\":\"%s\"}", m->url);
    cJSON_Delete(ok(&a, "err#16", "configure", buf_cstr(&args)));
    v = ok(&a, "err#17", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_alice");
    cJSON_Delete(v);
    buf_release(&args);
    assert_int_equal(adapter_finish(&a, 5000), 0);
}

static void expect_protocol_error(struct adapter *a, const char *line, const char *id)
{
    cJSON *msg;

    send_line(a, line);
    msg = recv_msg(a, 10000);
    assert_string_equal(s(msg, "type"), "protocol_error");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(msg, "message")));
    if (id)
        assert_string_equal(s(msg, "id"), id);
    else
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "id")));
    cJSON_Delete(msg);
}

static void test_adapter_answers_malformed_lines_with_protocol_errors(void **state)
{
    struct mock *m = *state;
    struct adapter a;
    cJSON *v;

    adapter_start(&a, m->url, "tok_alice", NULL);
    expect_protocol_error(&a, "{\"type\":\"hello\",\"protocol\":\"hogconf/9\"}", NULL);
    hello(&a);
    expect_protocol_error(&a, "{\"type\":\"call\",\"id\":\"x#1\",\"op\":\"get\",\"args\":{\"box\":", NULL);
    expect_protocol_error(&a, "", NULL);
    expect_protocol_error(&a, "[1,2,3]", NULL);
    expect_protocol_error(&a, "\"call\"", NULL);
    expect_protocol_error(&a, "{\"id\":\"x#2\"}", NULL);
    expect_protocol_error(&a, "{\"type\":\"dance\"}", NULL);
    expect_protocol_error(&a, "{\"type\":\"call\",\"op\":\"me\"}", NULL);
    expect_protocol_error(&a, "{\"type\":\"call\",\"id\":7,\"op\":\"me\"}", NULL);
    expect_protocol_error(&a, "{\"type\":\"call\",\"id\":\"x#3\"}", "x#3");
    expect_protocol_error(&a, "{\"type\":\"call\",\"id\":\"x#4\",\"op\":\"me\",\"args\":[1]}", "x#4");
    expect_protocol_error(&a, "{\"type\":\"call\",\"id\":\"x#5\",\"op\":\"me\",\"deadline_ms\":-1}", "x#5");
    expect_protocol_error(&a, "{\"type\":\"call\",\"id\":\"x#6\",\"op\":\"me\",\"deadline_ms\":\"soon\"}",
                          "x#6");
    expect_protocol_error(&a, "\xff\xfe garbage \x01", NULL);
    /* ... and it still works. */
    v = ok(&a, "x#7", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_alice");
    cJSON_Delete(v);
    assert_int_equal(adapter_finish(&a, 5000), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_adapter_reads_the_token_file_for_every_call(void **state)
{
    struct mock *m = *state;
    char dir[] = "/tmp/hogadapter-XXXXXX", path[64];
    struct adapter a;
    struct buf args = BUF_INIT;
    struct resp r;
    cJSON *v;

    mock_json(m, "POST", "/__hogmock/tokens", NULL,
              "{\"token\":\"tok_adapter_one\",\"principal_id\":\"pr_adapter_one\"}", &r);
    resp_release(&r);
    mock_json(m, "POST", "/__hogmock/tokens", NULL,
              "{\"token\":\"tok_adapter_two\",\"principal_id\":\"pr_adapter_two\"}", &r);
    resp_release(&r);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    write_text(path, "tok_adapter_one\n");
    adapter_start(&a, m->url, "tok_alice", path);  /* the file wins over HOG_TOKEN */
    hello(&a);
    v = ok(&a, "tf#1", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_adapter_one");
    cJSON_Delete(v);
    write_text(path, "tok_adapter_two\n");
    v = ok(&a, "tf#2", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_adapter_two");
    cJSON_Delete(v);
    /* configure switches between a token and a token file. */
    cJSON_Delete(ok(&a, "tf#3", "configure", "{\"token\":\"tok_bob\"}"));
    v = ok(&a, "tf#4", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_bob");
    cJSON_Delete(v);
    buf_addf(&args, "{\"token_file\":\"%s\"}", path);
    cJSON_Delete(ok(&a, "tf#5", "configure", buf_cstr(&args)));
    v = ok(&a, "tf#6", "me", NULL);
    assert_string_equal(s(v, "principal_id"), "pr_adapter_two");
    cJSON_Delete(v);
    buf_release(&args);
    assert_int_equal(adapter_finish(&a, 5000), 0);
    unlink(path);
    rmdir(dir);
}

/* On the real clock: a program that prints, waits 500 ms and prints again. The first
 * event reaches the runner's side well before the result (lower bounds only). */
static void test_adapter_streams_events_before_the_result(void **state)
{
    struct mock *m = real_clock_mock();
    struct adapter a;
    struct buf line = BUF_INIT;
    struct timespec t0;
    cJSON *v, *msg;
    long first = -1, result = -1;
    char box[64];
    int rounds;

    (void)state;
    add_program(m, "{\"argv\":[\"ticker\"],\"events\":[{\"stdout\":\"tick\\n\"},"
                   "{\"stdout\":\"tock\\n\",\"after_ms\":500},{\"exit\":0}]}");
    adapter_start(&a, m->url, "tok_alice", NULL);
    hello(&a);
    v = ok(&a, "st#1", "create", NULL);
    snprintf(box, sizeof(box), "%s", s(v, "id"));
    cJSON_Delete(v);
    buf_addf(&line, "{\"type\":\"call\",\"id\":\"st#2\",\"op\":\"exec_stream\",\"args\":"
             "{\"box\":\"%s\",\"argv\":[\"ticker\"]}}", box);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    send_line(&a, buf_cstr(&line));
    for (rounds = 0; rounds < 10 && result < 0; rounds++) {
        msg = recv_msg(&a, 10000);
        if (strcmp(s(msg, "type"), "event") == 0 && first < 0) {
            first = mock_ms_since(&t0);
            assert_string_equal(s(cJSON_GetObjectItem(msg, "event"), "data"), "tick\n");
        }
        if (strcmp(s(msg, "type"), "result") == 0) {
            result = mock_ms_since(&t0);
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(msg, "ok")));
        }
        cJSON_Delete(msg);
    }
    assert_true(first >= 0);
    assert_true(result - first >= 400);

    /* A deadline shorter than the program: TimeoutError, with the first event kept. */
    buf_reset(&line);
    buf_addf(&line, "{\"type\":\"call\",\"id\":\"st#3\",\"op\":\"exec_stream\",\"deadline_ms\":250,"
             "\"args\":{\"box\":\"%s\",\"argv\":[\"ticker\"]}}", box);
    send_line(&a, buf_cstr(&line));
    msg = recv_msg(&a, 10000);
    assert_string_equal(s(msg, "type"), "event");
    cJSON_Delete(msg);
    msg = recv_msg(&a, 10000);
    assert_string_equal(s(msg, "type"), "result");
    assert_string_equal(s(cJSON_GetObjectItem(msg, "error"), "type"), "TimeoutError");
    cJSON_Delete(msg);

    buf_release(&line);
    assert_int_equal(adapter_finish(&a, 5000), 0);
    mock_stop(m);
}

static void test_adapter_finishes_calls_in_flight_at_end_of_input(void **state)
{
    struct mock *m = real_clock_mock();
    struct adapter a;
    struct buf line = BUF_INIT;
    cJSON *v, *msg;
    char box[64];
    int rounds, results = 0;

    (void)state;
    add_program(m, "{\"argv\":[\"slow\"],\"events\":[{\"stdout\":\"done\\n\",\"after_ms\":300},"
                   "{\"exit\":0}]}");
    adapter_start(&a, m->url, "tok_alice", NULL);
    hello(&a);
    v = ok(&a, "eof#1", "create", NULL);
    snprintf(box, sizeof(box), "%s", s(v, "id"));
    cJSON_Delete(v);
    buf_addf(&line, "{\"type\":\"call\",\"id\":\"eof#2\",\"op\":\"exec\",\"args\":"
             "{\"box\":\"%s\",\"argv\":[\"slow\"]}}", box);
    send_line(&a, buf_cstr(&line));
    buf_reset(&line);
    buf_addf(&line, "{\"type\":\"call\",\"id\":\"eof#3\",\"op\":\"exec_stream\",\"args\":"
             "{\"box\":\"%s\",\"argv\":[\"slow\"]}}", box);
    send_line(&a, buf_cstr(&line));
    close(a.in);
    a.in = -1;
    for (rounds = 0; rounds < 10 && results < 2; rounds++) {
        msg = recv_msg(&a, 10000);
        if (strcmp(s(msg, "type"), "result") == 0) {
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(msg, "ok")));
            results++;
        }
        cJSON_Delete(msg);
    }
    assert_int_equal(results, 2);
    assert_int_equal(adapter_finish(&a, 5000), 0);
    buf_release(&line);
    mock_stop(m);
}

static void test_adapter_exits_promptly_on_sigterm(void **state)
{
    struct mock *m = real_clock_mock();
    struct adapter a;
    struct buf line = BUF_INIT;
    struct timespec t0;
    cJSON *v, *msg;
    char box[64];
    int status;

    (void)state;
    add_program(m, "{\"argv\":[\"forever\"],\"events\":[{\"stdout\":\"up\\n\"},"
                   "{\"exit\":0,\"after_ms\":60000}]}");
    adapter_start(&a, m->url, "tok_alice", NULL);
    hello(&a);
    v = ok(&a, "term#1", "create", NULL);
    snprintf(box, sizeof(box), "%s", s(v, "id"));
    cJSON_Delete(v);
    buf_addf(&line, "{\"type\":\"call\",\"id\":\"term#2\",\"op\":\"exec_stream\",\"args\":"
             "{\"box\":\"%s\",\"argv\":[\"forever\"]}}", box);
    send_line(&a, buf_cstr(&line));
    msg = recv_msg(&a, 10000);      /* the stream is open */
    assert_string_equal(s(msg, "type"), "event");
    cJSON_Delete(msg);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(a.pid, SIGTERM);
    status = adapter_finish(&a, 2000);
    assert_true(status != -1);
    assert_true(mock_ms_since(&t0) < 1500);
    buf_release(&line);
    mock_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_says_hello_with_client_and_features),
        cmocka_unit_test(test_adapter_runs_every_operation),
        cmocka_unit_test(test_adapter_reports_errors_in_the_canonical_shape),
        cmocka_unit_test(test_adapter_answers_malformed_lines_with_protocol_errors),
        cmocka_unit_test(test_adapter_reads_the_token_file_for_every_call),
        cmocka_unit_test(test_adapter_streams_events_before_the_result),
        cmocka_unit_test(test_adapter_finishes_calls_in_flight_at_end_of_input),
        cmocka_unit_test(test_adapter_exits_promptly_on_sigterm),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("adapter_c", tests, mock_setup, mock_teardown);
}
