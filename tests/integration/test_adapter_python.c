/* Integration tests of the Python adapters: harness/adapters/python/stdlib_adapter.py runs
 * as a child with pipes, speaking harness/PROTOCOL.md against hogmock in-process (every op,
 * error mapping, streams, binary files, token files read per call, retries under fault
 * plans, bad lines, end of input, SIGTERM), and the unit tests of the adapters' Python parts
 * (the SDK adapter's translation layer among them) run with python3 -m unittest. Needs
 * python3 on PATH; never starts anything but python3 and reaps every child it starts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "base64.h"
#include "bundle.h"
#include "harness.h"
#include "xmalloc.h"

/* Sanitized binaries run several times slower; bounds scale with this. */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 4
#else
#define SLOW 1
#endif

extern char **environ;

static char python[PATH_MAX];       /* python3 as found on PATH */
static char adapter_py[PATH_MAX];   /* harness/adapters/python/stdlib_adapter.py */
static char tests_dir[PATH_MAX];    /* harness/adapters/python/tests */

/* ---- a child process with pipes --------------------------------------------------- */

struct child {
    pid_t pid;
    int in;                 /* its stdin, or -1 once closed */
    int out;                /* its stdout */
    struct buf pending;     /* read from out, not yet returned as lines */
    int err;                /* its stderr: a file already unlinked, so none is left behind */
    bool reaped;
    int status;
    long calls;
};

/* What the child has written on its stderr so far into out (reset first). */
static void child_log(const struct child *c, struct buf *out)
{
    char chunk[4096];
    off_t off = 0;
    ssize_t n;

    buf_reset(out);
    while ((n = pread(c->err, chunk, sizeof(chunk), off)) > 0) {
        buf_add(out, chunk, (size_t)n);
        off += n;
    }
}

/* The first executable NAME on PATH into out; false when there is none. */
static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH"), *p, *end;

    for (p = path ? path : "/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
        end = strchr(p, ':');
        if (!end)
            end = p + strlen(p);
        if (end > p && (size_t)snprintf(out, size, "%.*s/%s", (int)(end - p), p, name) < size
            && access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* Run argv (argv[0] a path) with env added to this process's environment (HOG_* left
 * out), stdin and stdout on pipes, stderr to a new file. Everything the child needs is
 * made before fork: the test process has hogmock's threads, so the child only calls
 * async-signal-safe functions until exec. */
static void child_start(struct child *c, const char *const *argv, const char *const *env)
{
    int to[2], from[2];
    size_t n = 0, i, cap = 8;
    char **envp;
    char errpath[] = "/tmp/test_adapter_python.XXXXXX";

    memset(c, 0, sizeof(*c));
    buf_init(&c->pending);
    for (i = 0; environ[i]; i++)
        cap++;
    for (i = 0; env && env[i]; i++)
        cap++;
    envp = xcalloc(cap, sizeof(char *));
    for (i = 0; environ[i]; i++)
        if (strncmp(environ[i], "HOG_", 4) != 0 && strncmp(environ[i], "PYTHON", 6) != 0)
            envp[n++] = environ[i];
    for (i = 0; env && env[i]; i++)
        envp[n++] = (char *)env[i];
    envp[n++] = (char *)"PYTHONDONTWRITEBYTECODE=1";
    envp[n] = NULL;
    c->err = mkstemp(errpath);
    assert_true(c->err >= 0);
    unlink(errpath);
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    fflush(NULL);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0 || dup2(c->err, 2) < 0)
            _exit(126);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        close(c->err);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(to[0]);
    close(from[1]);
    c->in = to[1];
    c->out = from[0];
    /* A child that is gone must fail a write, not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
}

/* Reap c if it has exited, waiting up to ms; true once it has. */
static bool child_wait(struct child *c, long ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!c->reaped) {
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);

        if (r == c->pid)
            c->reaped = true;
        else if (r < 0 || mock_ms_since(&t0) >= ms)
            break;
        else
            mock_pause_ms(5);
    }
    return c->reaped;
}

static void child_close_stdin(struct child *c)
{
    if (c->in >= 0)
        close(c->in);
    c->in = -1;
}

/* Stop c (SIGKILL if it has not exited), close its pipes, remove its stderr file. */
static void child_release(struct child *c)
{
    child_close_stdin(c);
    if (c->pid > 0 && !c->reaped) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->reaped = true;
    }
    if (c->out >= 0)
        close(c->out);
    c->out = -1;
    if (c->err >= 0)
        close(c->err);
    c->err = -1;
    buf_release(&c->pending);
}

/* Fail the test with msg and what the child logged on stderr. */
static void child_fail(struct child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void child_fail(struct child *c, const char *fmt, ...)
{
    struct buf log = BUF_INIT;
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    child_log(c, &log);
    fail_msg("%s\n--- the adapter's stderr ---\n%.4000s", msg, buf_cstr(&log));
    buf_release(&log);
}

/* The next line c writes, parsed (caller frees with cJSON_Delete); NULL at its end of
 * output. Fails the test when nothing whole comes within ms or the line is not JSON. */
static cJSON *child_read(struct child *c, long ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *nl = c->pending.len ? memchr(c->pending.data, '\n', c->pending.len) : NULL;
        struct pollfd p = { c->out, POLLIN, 0 };
        char chunk[65536];
        long left;
        ssize_t n;

        if (nl) {
            size_t len = (size_t)(nl - c->pending.data);
            cJSON *msg = cJSON_ParseWithLength(c->pending.data, len);

            if (!msg)
                child_fail(c, "the adapter wrote a line that is not JSON: %.200s",
                           c->pending.data);
            memmove(c->pending.data, nl + 1, c->pending.len - len - 1);
            buf_truncate(&c->pending, c->pending.len - len - 1);
            return msg;
        }
        left = ms - mock_ms_since(&t0);
        if (left <= 0)
            child_fail(c, "no line from the adapter within %ld ms", ms);
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        n = read(c->out, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        buf_add(&c->pending, chunk, (size_t)n);
    }
}

static void child_write(struct child *c, const char *line)
{
    size_t len = strlen(line), off = 0;

    while (off < len) {
        ssize_t n = write(c->in, line + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            child_fail(c, "unable to write to the adapter: %s", strerror(errno));
        off += (size_t)n;
    }
    if (write(c->in, "\n", 1) != 1)
        child_fail(c, "unable to write to the adapter");
}

/* ---- the adapter under the protocol ------------------------------------------------ */

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

    return s ? s : "(none)";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}


#define READ_MS (10000L * SLOW)

/* Start stdlib_adapter.py for m with these extra environment entries (NULL: HOG_TOKEN
 * tok_alice) and check its hello. */
static void adapter_start(struct child *c, struct mock *m, const char *const *env)
{
    static const char *const alice[] = { "HOG_TOKEN=tok_alice", NULL };
    const char *argv[] = { python, "-B", adapter_py, NULL };
    const char *all[8];
    char host[160];
    cJSON *hello;
    const cJSON *features, *client;
    size_t n = 0;

    snprintf(host, sizeof(host), "HOG_HOST=%s", m->url);
    all[n++] = host;
    for (env = env ? env : alice; *env && n < 7; env++)
        all[n++] = *env;
    all[n] = NULL;
    child_start(c, argv, all);
    child_write(c, "{\"type\":\"hello\",\"protocol\":\"hogconf/1\"}");
    hello = child_read(c, READ_MS);
    if (!hello)
        child_fail(c, "the adapter exited before its hello");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(hello, "type")), "hello");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(hello, "protocol")), "hogconf/1");
    client = cJSON_GetObjectItem(hello, "client");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(client, "language")), "python");
    features = cJSON_GetObjectItem(hello, "features");
    assert_int_equal(cJSON_GetArraySize(features), 6);
    cJSON_Delete(hello);
}

/* Send a call of op with args (JSON text, NULL: none) and return its result (caller
 * frees); events before it are appended to *events when events is not NULL (a new
 * array), and fail the test otherwise. */
static cJSON *adapter_call(struct child *c, const char *op, const char *args, cJSON **events)
{
    struct buf line = BUF_INIT;
    char id[32];
    long seq = 0;

    snprintf(id, sizeof(id), "t#%ld", ++c->calls);
    buf_addf(&line, "{\"type\":\"call\",\"id\":\"%s\",\"op\":\"%s\"%s%s}", id, op,
             args ? ",\"args\":" : "", args ? args : "");
    child_write(c, buf_cstr(&line));
    buf_release(&line);
    if (events)
        *events = cJSON_CreateArray();
    for (;;) {
        cJSON *msg = child_read(c, READ_MS);
        const char *type;

        if (!msg)
            child_fail(c, "the adapter exited during call %s (%s)", id, op);
        type = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "type"));
        if (strcmp(str(msg, "id"), id) != 0)
            child_fail(c, "call %s got a %s of another id", id, type);
        if (type && strcmp(type, "event") == 0 && events) {
            assert_int_equal((long)cJSON_GetNumberValue(cJSON_GetObjectItem(msg, "seq")), seq++);
            cJSON_AddItemToArray(*events, cJSON_DetachItemFromObject(msg, "event"));
            cJSON_Delete(msg);
            continue;
        }
        if (!type || strcmp(type, "result") != 0) {
            char *text = cJSON_PrintUnformatted(msg);

            child_fail(c, "call %s (%s) got %s instead of a result", id, op, text);
        }
        return msg;
    }
}

/* The value of a call that must succeed (caller frees with cJSON_Delete). */
static cJSON *call_ok(struct child *c, const char *op, const char *args)
{
    cJSON *r = adapter_call(c, op, args, NULL);
    cJSON *value;

    if (!cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"))) {
        char *text = cJSON_PrintUnformatted(r);

        child_fail(c, "%s %s failed: %s", op, args ? args : "", text);
    }
    value = cJSON_DetachItemFromObject(r, "value");
    cJSON_Delete(r);
    assert_non_null(value);
    return value;
}

/* The error of a call that must fail (caller frees with cJSON_Delete). */
static cJSON *call_error(struct child *c, const char *op, const char *args)
{
    cJSON *r = adapter_call(c, op, args, NULL);
    cJSON *error;

    if (!cJSON_IsFalse(cJSON_GetObjectItem(r, "ok"))) {
        char *text = cJSON_PrintUnformatted(r);

        child_fail(c, "%s %s succeeded: %s", op, args ? args : "", text);
    }
    error = cJSON_DetachItemFromObject(r, "error");
    cJSON_Delete(r);
    assert_non_null(error);
    return error;
}

/* error's type and status (0: null) are these. */
static void expect_error(cJSON *error, const char *type, int status)
{
    const cJSON *s = cJSON_GetObjectItem(error, "status_code");

    assert_string_equal(str(error, "type"), type);
    if (status)
        assert_int_equal((int)num(error, "status_code"), status);
    else
        assert_true(cJSON_IsNull(s));
    cJSON_Delete(error);
}

/* Every journal entry of op (oldest first) as a new array. */
static cJSON *journal(struct mock *m, const char *op)
{
    struct resp r;
    char target[128];
    cJSON *items;

    snprintf(target, sizeof(target), "/__hogmock/journal?op=%s&limit=1000", op);
    mock_call(m, "GET", target, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    items = cJSON_DetachItemFromObject(r.json, "items");
    resp_release(&r);
    return items;
}

static void admin_post(struct mock *m, const char *path, const char *json, long status)
{
    struct resp r;

    mock_json(m, "POST", path, NULL, json, &r);
    if (r.status != status)
        fail_msg("POST %s answered %ld: %s", path, r.status, buf_cstr(&r.body));
    resp_release(&r);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_adapter_python_carries_out_every_op(void **state)
{
    struct mock *m = *state;
    struct child c;
    cJSON *v, *w, *items;
    char args[512], box[64], snap[64];

    adapter_start(&c, m, NULL);

    v = call_ok(&c, "configure", "{\"max_attempts\":2,\"color\":\"red\"}");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "ignored"), 0)),
                        "color");
    cJSON_Delete(v);

    v = call_ok(&c, "me", "{}");
    assert_string_equal(str(v, "principal_id"), "pr_alice");
    assert_string_equal(str(v, "auth_path"), "api_token");
    cJSON_Delete(v);

    v = call_ok(&c, "limits", NULL);
    assert_int_equal((int)num(v, "file_max_bytes"), 67108864);
    assert_int_equal((int)num(cJSON_GetObjectItem(v, "cpus"), "max"), 8);
    cJSON_Delete(v);

    v = call_ok(&c, "create", "{\"cpus\":1,\"memory_mib\":512,\"labels\":{\"suite\":\"py\"}}");
    snprintf(box, sizeof(box), "%s", str(v, "id"));
    assert_int_equal((int)num(v, "cpus"), 1);
    assert_string_equal(str(cJSON_GetObjectItem(v, "labels"), "suite"), "py");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "snapshot_id")));
    cJSON_Delete(v);
    cJSON_Delete(call_ok(&c, "create", "{\"labels\":{\"suite\":\"py\"}}"));  /* one more to list */
    cJSON_Delete(call_ok(&c, "create", "{\"idempotency_key\":\"py-key-1\"}"));

    snprintf(args, sizeof(args), "{\"box\":\"%s\"}", box);
    v = call_ok(&c, "get", args);
    assert_string_equal(str(v, "id"), box);
    assert_string_equal(str(v, "state"), "running");
    cJSON_Delete(v);

    v = call_ok(&c, "list", "{\"limit\":1,\"labels\":{\"suite\":\"py\"}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "items")), 1);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(v, "next_cursor")));
    cJSON_Delete(v);
    v = call_ok(&c, "list_all", "{\"limit\":1,\"labels\":{\"suite\":\"py\"}}");
    items = cJSON_GetObjectItem(v, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_null(cJSON_GetObjectItem(v, "next_cursor"));
    cJSON_Delete(v);
    /* Pages after the first were asked for with the previous page's cursor. */
    items = journal(m, "listHogboxes");
    assert_true(cJSON_GetArraySize(items) >= 1 + 2);
    assert_null(strstr(str(cJSON_GetArrayItem(items, 1), "query"), "cursor="));
    assert_non_null(strstr(str(cJSON_GetArrayItem(items, 2), "query"), "cursor="));
    cJSON_Delete(items);

    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"argv\":[\"sh\",\"-c\",\"echo $G; echo e >&2; "
             "exit 4\"],\"env\":{\"G\":\"hello\"},\"timeout_seconds\":30}", box);
    v = call_ok(&c, "exec", args);
    assert_int_equal((int)num(v, "exit_code"), 4);
    assert_string_equal(str(v, "stdout"), "hello\n");
    assert_string_equal(str(v, "stderr"), "e\n");
    assert_string_equal(str(v, "stdout_base64"), "aGVsbG8K");
    assert_string_equal(str(v, "stderr_base64"), "ZQo=");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "timed_out")));
    cJSON_Delete(v);
    /* Output with NUL bytes: whole in the base64 members. */
    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"argv\":[\"sh\",\"-c\","
             "\"printf 'a\\\\0b'; printf '\\\\0c\\\\0' >&2\"]}", box);
    v = call_ok(&c, "exec", args);
    assert_string_equal(str(v, "stdout_base64"), "YQBi");
    assert_string_equal(str(v, "stderr_base64"), "AGMA");
    cJSON_Delete(v);

    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"argv\":[\"echo\",\"s\"]}", box);
    v = adapter_call(&c, "exec_stream", args, &w);
    assert_int_equal((int)num(cJSON_GetObjectItem(v, "value"), "exit_code"), 0);
    assert_string_equal(str(cJSON_GetArrayItem(w, 0), "data"), "s\n");
    assert_string_equal(str(cJSON_GetArrayItem(w, 1), "kind"), "exit");
    cJSON_Delete(v);
    cJSON_Delete(w);

    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"path\":\"/root/d/hello.txt\",\"data\":\"aGVsbG8K\","
             "\"mode\":\"0600\",\"mkdir\":true}", box);
    v = call_ok(&c, "write_file", args);
    assert_int_equal((int)num(v, "size"), 6);
    assert_string_equal(str(v, "mode"), "0600");
    assert_string_equal(str(v, "sha256"), "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    cJSON_Delete(v);
    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"path\":\"/root/d/hello.txt\"}", box);
    v = call_ok(&c, "read_file", args);
    assert_string_equal(str(v, "data"), "aGVsbG8K");
    cJSON_Delete(v);

    snprintf(args, sizeof(args), "{\"box\":\"%s\"}", box);
    v = call_ok(&c, "snapshot", args);
    snprintf(snap, sizeof(snap), "%s", str(v, "id"));
    assert_string_equal(str(v, "hogbox_id"), box);
    cJSON_Delete(v);
    v = call_ok(&c, "list_snapshots", "{\"limit\":10}");
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "items"), 0), "id"), snap);
    cJSON_Delete(v);
    snprintf(args, sizeof(args), "{\"snapshot\":\"%s\"}", snap);
    v = call_ok(&c, "get_snapshot", args);
    assert_string_equal(str(v, "id"), snap);
    cJSON_Delete(v);

    snprintf(args, sizeof(args), "{\"box\":\"%s\"}", box);
    v = call_ok(&c, "pause", args);
    assert_string_equal(str(v, "state"), "paused");
    cJSON_Delete(v);
    v = call_ok(&c, "resume", args);
    assert_string_equal(str(v, "state"), "running");
    cJSON_Delete(v);

    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"port\":8080,\"path\":\"/health\"}", box);
    v = call_ok(&c, "proxy_url", args);
    {
        char want[256];

        snprintf(want, sizeof(want), "%s/v1/hogboxes/%s/proxy/8080/health", m->url, box);
        assert_string_equal(str(v, "url"), want);
        assert_null(strstr(str(v, "url"), "tok_"));
    }
    cJSON_Delete(v);
    v = call_ok(&c, "proxy_request", args);
    assert_int_equal((int)num(v, "status"), 200);
    assert_string_equal(str(cJSON_GetObjectItem(v, "headers"), "content-type"), "application/json");
    assert_string_equal(str(v, "body"), "eyJzdGF0dXMiOiJvayJ9");     /* {"status":"ok"} */
    cJSON_Delete(v);

    snprintf(args, sizeof(args), "{\"snapshot\":\"%s\"}", snap);
    v = call_ok(&c, "delete_snapshot", args);
    assert_int_equal(cJSON_GetArraySize(v), 0);
    cJSON_Delete(v);
    snprintf(args, sizeof(args), "{\"box\":\"%s\"}", box);
    v = call_ok(&c, "destroy", args);
    assert_int_equal(cJSON_GetArraySize(v), 0);
    cJSON_Delete(v);

    /* On the wire: a User-Agent naming the adapter, Accept per operation, the key given. */
    items = journal(m, "execHogboxStream");
    assert_non_null(strstr(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers"),
                               "user-agent"), "hogland-stdlib-adapter/"));
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers"), "accept"),
                        "text/event-stream");
    cJSON_Delete(items);
    items = journal(m, "readFile");
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers"), "accept"),
                        "application/octet-stream");
    cJSON_Delete(items);
    items = journal(m, "createHogbox");
    assert_int_equal(cJSON_GetArraySize(items), 3);
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 2), "headers"),
                            "idempotency-key"), "py-key-1");
    assert_string_not_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers"),
                                "idempotency-key"), "(none)");
    cJSON_Delete(items);
    child_release(&c);
}

static void test_adapter_python_maps_errors_to_the_canonical_types(void **state)
{
    struct mock *m = *state;
    struct child c;
    cJSON *v, *e;
    char args[256], box[64];

    adapter_start(&c, m, NULL);
    e = call_error(&c, "get", "{\"box\":\"hb_0000000000000000\"}");
    assert_string_equal(str(cJSON_GetObjectItem(e, "body"), "code"), "hogbox_not_found");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "retry_after")));
    assert_non_null(strstr(str(e, "message"), "404"));
    expect_error(e, "NotFoundError", 404);

    e = call_error(&c, "create", "{\"cpus\":99}");
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"),
                                                                  "errors"), 0), "pointer"), "/cpus");
    expect_error(e, "ValidationError", 422);

    v = call_ok(&c, "create", "{}");
    snprintf(box, sizeof(box), "%s", str(v, "id"));
    cJSON_Delete(v);
    snprintf(args, sizeof(args), "{\"box\":\"%s\"}", box);
    cJSON_Delete(call_ok(&c, "pause", args));
    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"argv\":[\"echo\",\"hi\"]}", box);
    e = call_error(&c, "exec", args);
    assert_string_equal(str(cJSON_GetObjectItem(e, "body"), "code"), "invalid_state");
    expect_error(e, "ConflictError", 409);
    e = call_error(&c, "exec_stream", args);     /* before the stream: no event, a 409 */
    expect_error(e, "ConflictError", 409);

    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"path\":\"relative.txt\",\"data\":\"\"}", box);
    expect_error(call_error(&c, "write_file", args), "ValidationError", 422);

    snprintf(args, sizeof(args), "{\"box\":\"%s\"}", box);
    cJSON_Delete(call_ok(&c, "destroy", args));
    expect_error(call_error(&c, "destroy", args), "NotFoundError", 404);

    /* The adapter's own faults are not the client's errors. */
    expect_error(call_error(&c, "teleport", "{}"), "UnsupportedOperation", 0);
    expect_error(call_error(&c, "get", "{}"), "InvalidArguments", 0);
    expect_error(call_error(&c, "write_file", "{\"box\":\"hb_1\",\"path\":\"/a\",\"data\":\"!\"}"),
                 "InvalidArguments", 0);

    cJSON_Delete(call_ok(&c, "configure", "{\"token\":\"tok_nobody\"}"));
    e = call_error(&c, "me", NULL);
    assert_null(strstr(str(e, "message"), "tok_nobody"));
    expect_error(e, "AuthenticationError", 401);
    child_release(&c);
}

static void test_adapter_python_streams_events_in_order_with_an_exit(void **state)
{
    struct mock *m = *state;
    struct child c;
    cJSON *v, *r, *events;
    char args[256];
    static const char *const want[][2] = {
        { "stdout", "a\n" }, { "stderr", "b\n" }, { "stdout", "c\n" },
    };
    int i;

    adapter_start(&c, m, NULL);
    v = call_ok(&c, "create", "{}");
    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"argv\":[\"sh\",\"-c\",\"echo a; echo b >&2; "
             "echo c; exit 3\"]}", str(v, "id"));
    cJSON_Delete(v);
    r = adapter_call(&c, "exec_stream", args, &events);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
    assert_int_equal(cJSON_GetArraySize(events), 4);
    for (i = 0; i < 3; i++) {
        const cJSON *ev = cJSON_GetArrayItem(events, i);

        assert_string_equal(str(ev, "kind"), want[i][0]);
        assert_string_equal(str(ev, "data"), want[i][1]);
    }
    assert_string_equal(str(cJSON_GetArrayItem(events, 3), "kind"), "exit");
    assert_int_equal((int)num(cJSON_GetArrayItem(events, 3), "exit_code"), 3);
    assert_int_equal((int)num(cJSON_GetObjectItem(r, "value"), "exit_code"), 3);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "value"), "timed_out")));
    cJSON_Delete(events);
    cJSON_Delete(r);
    child_release(&c);
}

static void test_adapter_python_writes_each_event_as_it_arrives(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct child c;
    struct timespec t0;
    cJSON *v, *msg;
    char args[256];
    long at[3];
    int i;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;          /* the program's pauses take real time */
    m = mock_start(&cfg);
    admin_post(m, "/__hogmock/exec-programs", "{\"argv\":[\"ticker\"],\"events\":["
               "{\"stdout\":\"tick 1\\n\"},{\"stdout\":\"tick 2\\n\",\"after_ms\":500},"
               "{\"exit\":0,\"after_ms\":100}]}", 201);
    adapter_start(&c, m, NULL);
    v = call_ok(&c, "create", "{}");
    snprintf(args, sizeof(args), "{\"type\":\"call\",\"id\":\"tick\",\"op\":\"exec_stream\","
             "\"args\":{\"box\":\"%s\",\"argv\":[\"ticker\"]}}", str(v, "id"));
    cJSON_Delete(v);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child_write(&c, args);
    for (i = 0; i < 3; i++) {
        msg = child_read(&c, READ_MS);
        assert_non_null(msg);
        assert_string_equal(str(msg, "type"), "event");
        at[i] = mock_ms_since(&t0);
        cJSON_Delete(msg);
    }
    msg = child_read(&c, READ_MS);
    assert_string_equal(str(msg, "type"), "result");
    cJSON_Delete(msg);
    /* Lower bounds only: a slow machine can stretch the gap, never shrink it. */
    if (at[1] - at[0] < 350)
        fail_msg("events reached the runner at %ld, %ld and %ld ms: not as the command "
                 "printed them", at[0], at[1], at[2]);
    child_release(&c);
    mock_stop(m);
}

static void test_adapter_python_round_trips_all_256_byte_values(void **state)
{
    struct mock *m = *state;
    struct child c;
    struct buf b64 = BUF_INIT, args = BUF_INIT, back = BUF_INIT;
    unsigned char bytes[256];
    char box[64];
    cJSON *v;
    int i;

    for (i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    base64_encode(&b64, bytes, sizeof(bytes));
    adapter_start(&c, m, NULL);
    v = call_ok(&c, "create", "{}");
    snprintf(box, sizeof(box), "%s", str(v, "id"));
    cJSON_Delete(v);
    buf_addf(&args, "{\"box\":\"%s\",\"path\":\"/root/all.bin\",\"data\":\"%s\"}", box, buf_cstr(&b64));
    v = call_ok(&c, "write_file", buf_cstr(&args));
    assert_int_equal((int)num(v, "size"), 256);
    cJSON_Delete(v);
    buf_reset(&args);
    buf_addf(&args, "{\"box\":\"%s\",\"path\":\"/root/all.bin\"}", box);
    v = call_ok(&c, "read_file", buf_cstr(&args));
    assert_int_equal(base64_decode(str(v, "data"), strlen(str(v, "data")), &back), RC_OK);
    assert_int_equal(back.len, 256);
    assert_memory_equal(back.data, bytes, 256);
    cJSON_Delete(v);
    /* The bytes went out raw, as application/octet-stream. */
    v = journal(m, "writeFile");
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "headers"), "content-type"),
                        "application/octet-stream");
    assert_int_equal((int)num(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "body"), "size"), 256);
    cJSON_Delete(v);
    buf_release(&b64);
    buf_release(&args);
    buf_release(&back);
    child_release(&c);
}

static void write_file_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_adapter_python_reads_the_token_file_at_every_call(void **state)
{
    struct mock *m = *state;
    struct child c;
    char dir[] = "/tmp/test_adapter_python.tok.XXXXXX", path[96], env[128];
    const char *envs[2] = { env, NULL };
    cJSON *v, *items;
    int n;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    snprintf(env, sizeof(env), "HOG_TOKEN_FILE=%s", path);
    write_file_text(path, "tok_alice\n");
    adapter_start(&c, m, envs);
    v = call_ok(&c, "me", NULL);
    assert_string_equal(str(v, "principal_id"), "pr_alice");
    cJSON_Delete(v);

    /* The kubelet rotates the token: a new one for the same principal. */
    admin_post(m, "/__hogmock/tokens", "{\"token\":\"tok_alice_rotated\",\"principal_id\":\"pr_alice\"}",
               201);
    write_file_text(path, "  tok_alice_rotated\n");
    v = call_ok(&c, "me", NULL);
    assert_string_equal(str(v, "principal_id"), "pr_alice");
    cJSON_Delete(v);

    items = journal(m, "getMe");
    n = cJSON_GetArraySize(items);
    assert_true(n >= 2);
    assert_string_not_equal(str(cJSON_GetArrayItem(items, n - 2), "auth_subject"),
                            str(cJSON_GetArrayItem(items, n - 1), "auth_subject"));
    assert_null(strstr(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, n - 1), "headers"),
                           "authorization"), "tok_"));
    cJSON_Delete(items);

    /* A file that cannot be read is an AuthenticationError that sent nothing. */
    unlink(path);
    expect_error(call_error(&c, "me", NULL), "AuthenticationError", 0);
    items = journal(m, "getMe");
    assert_int_equal(cJSON_GetArraySize(items), n);
    cJSON_Delete(items);
    child_release(&c);
    assert_int_equal(rmdir(dir), 0);
}

static void test_adapter_python_answers_bad_lines_and_goes_on(void **state)
{
    struct mock *m = *state;
    struct child c;
    cJSON *msg, *v;

    adapter_start(&c, m, NULL);
    child_write(&c, "{\"type\":\"call\",\"id\":\"x#1\",\"op\":\"get\",\"args\":{\"box\":");
    msg = child_read(&c, READ_MS);
    assert_string_equal(str(msg, "type"), "protocol_error");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "id")));
    cJSON_Delete(msg);
    child_write(&c, "{\"type\":\"call\",\"id\":\"x#2\",\"op\":\"get\",\"args\":[1]}");
    msg = child_read(&c, READ_MS);
    assert_string_equal(str(msg, "type"), "protocol_error");
    assert_string_equal(str(msg, "id"), "x#2");
    cJSON_Delete(msg);
    child_write(&c, "\xff\xfe not even UTF-8");
    msg = child_read(&c, READ_MS);
    assert_string_equal(str(msg, "type"), "protocol_error");
    cJSON_Delete(msg);
    child_write(&c, "{\"type\":\"hello\",\"protocol\":\"hogconf/0\"}");
    msg = child_read(&c, READ_MS);
    assert_string_equal(str(msg, "type"), "protocol_error");
    cJSON_Delete(msg);
    v = call_ok(&c, "me", NULL);
    assert_string_equal(str(v, "principal_id"), "pr_alice");
    cJSON_Delete(v);
    child_release(&c);
}

static void test_adapter_python_exits_0_at_end_of_input(void **state)
{
    struct mock *m = *state;
    struct child c;

    adapter_start(&c, m, NULL);
    child_close_stdin(&c);
    assert_null(child_read(&c, READ_MS));
    if (!child_wait(&c, 5000L * SLOW))
        child_fail(&c, "the adapter did not exit at the end of its input");
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 0);
    child_release(&c);
}

static void test_adapter_python_exits_on_sigterm_during_a_call(void **state)
{
    struct mock *m = *state;
    struct child c;
    struct timespec t0;

    admin_post(m, "/__hogmock/faults", "{\"match\":{\"op\":\"getMe\"},\"times\":1,"
               "\"action\":{\"type\":\"stall\",\"max_ms\":5000}}", 201);
    adapter_start(&c, m, NULL);
    child_write(&c, "{\"type\":\"call\",\"id\":\"s#1\",\"op\":\"me\"}");
    mock_pause_ms(200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(c.pid, SIGTERM);
    if (!child_wait(&c, 1000))
        child_fail(&c, "the adapter did not exit within 1 s of SIGTERM");
    assert_true(mock_ms_since(&t0) < 1000);
    child_release(&c);
}

static void test_adapter_python_retries_503_with_the_same_idempotency_key(void **state)
{
    struct mock *m = *state;
    struct child c;
    cJSON *v, *items;
    const char *key;
    int i;

    admin_post(m, "/__hogmock/faults", "{\"match\":{\"op\":\"createHogbox\"},\"phase\":\"after_commit\","
               "\"times\":2,\"action\":{\"type\":\"status\",\"status\":503,\"retry_after\":null}}", 201);
    adapter_start(&c, m, NULL);
    cJSON_Delete(call_ok(&c, "configure", "{\"backoff_base_ms\":10,\"backoff_cap_ms\":50}"));
    v = call_ok(&c, "create", "{\"labels\":{\"retry\":\"yes\"}}");
    assert_string_equal(str(v, "state"), "running");
    cJSON_Delete(v);

    items = journal(m, "createHogbox");
    assert_int_equal(cJSON_GetArraySize(items), 3);
    key = str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers"), "idempotency-key");
    for (i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(items, i);

        assert_int_equal((int)num(e, "status"), i < 2 ? 503 : 201);
        assert_string_equal(str(cJSON_GetObjectItem(e, "headers"), "idempotency-key"), key);
    }
    cJSON_Delete(items);
    /* The work of the first attempt was committed; the retries did not make more. */
    v = call_ok(&c, "list", "{\"labels\":{\"retry\":\"yes\"}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "items")), 1);
    cJSON_Delete(v);

    /* exec is not idempotent: a 503 is returned, never retried. */
    admin_post(m, "/__hogmock/faults", "{\"match\":{\"op\":\"execHogbox\"},\"times\":1,"
               "\"action\":{\"type\":\"status\",\"status\":503,\"retry_after\":null}}", 201);
    expect_error(call_error(&c, "exec", "{\"box\":\"hb_0000000000000000\",\"argv\":[\"true\"]}"),
                 "ServerError", 503);
    items = journal(m, "execHogbox");
    assert_int_equal(cJSON_GetArraySize(items), 1);
    cJSON_Delete(items);
    child_release(&c);
}

static void test_adapter_python_honours_retry_after_on_429(void **state)
{
    struct mock *m = *state;
    struct child c;
    struct timespec t0;
    cJSON *v, *e, *items;
    long ms;

    admin_post(m, "/__hogmock/faults", "{\"match\":{\"op\":\"getLimits\"},\"times\":1,"
               "\"action\":{\"type\":\"status\",\"status\":429,\"retry_after\":1}}", 201);
    adapter_start(&c, m, NULL);
    cJSON_Delete(call_ok(&c, "configure", "{\"backoff_base_ms\":10}"));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    v = call_ok(&c, "limits", NULL);
    ms = mock_ms_since(&t0);
    cJSON_Delete(v);
    items = journal(m, "getLimits");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "status"), 429);
    /* Waited at least the Retry-After, not the 10 ms backoff. */
    if (ms < 1000 || num(cJSON_GetArrayItem(items, 1), "mono_ms")
                     - num(cJSON_GetArrayItem(items, 0), "mono_ms") < 990)
        fail_msg("the retry came %ld ms after the call started, before Retry-After: 1", ms);
    cJSON_Delete(items);

    /* A Retry-After longer than the client waits: the RateLimitError, with it, at once. */
    admin_post(m, "/__hogmock/faults", "{\"match\":{\"op\":\"getLimits\"},\"times\":1,"
               "\"action\":{\"type\":\"status\",\"status\":429,\"retry_after\":120}}", 201);
    e = call_error(&c, "limits", NULL);
    assert_int_equal((int)num(e, "retry_after"), 120);
    expect_error(e, "RateLimitError", 429);
    items = journal(m, "getLimits");
    assert_int_equal(cJSON_GetArraySize(items), 3);
    cJSON_Delete(items);
    child_release(&c);
}

static void test_adapter_python_never_retries_a_stream_that_delivered_events(void **state)
{
    struct mock *m = *state;
    struct child c;
    cJSON *v, *r, *events, *items;
    char args[256];

    admin_post(m, "/__hogmock/faults", "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
               "\"action\":{\"type\":\"sse_drop\",\"after_event\":1}}", 201);
    adapter_start(&c, m, NULL);
    v = call_ok(&c, "create", "{}");
    snprintf(args, sizeof(args), "{\"box\":\"%s\",\"argv\":[\"sh\",\"-c\",\"echo a; echo b\"]}",
             str(v, "id"));
    cJSON_Delete(v);
    r = adapter_call(&c, "exec_stream", args, &events);
    assert_int_equal(cJSON_GetArraySize(events), 1);
    assert_string_equal(str(cJSON_GetArrayItem(events, 0), "data"), "a\n");
    expect_error(cJSON_DetachItemFromObject(r, "error"), "ConnectionError", 0);
    cJSON_Delete(r);
    cJSON_Delete(events);
    items = journal(m, "execHogboxStream");
    assert_int_equal(cJSON_GetArraySize(items), 1);
    cJSON_Delete(items);
    child_release(&c);
}

static void test_python_unit_tests_of_the_adapters_pass(void **state)
{
    const char *argv[] = { python, "-B", "-m", "unittest", "discover", "-s", tests_dir, NULL };
    struct child c;
    struct buf log = BUF_INIT;

    (void)state;
    child_start(&c, argv, NULL);
    child_close_stdin(&c);
    while (child_read(&c, 60000L * SLOW))
        ;       /* unittest writes nothing on stdout */
    if (!child_wait(&c, 60000L * SLOW))
        child_fail(&c, "python3 -m unittest did not finish");
    child_log(&c, &log);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
        fail_msg("the adapters' Python unit tests failed:\n%.8000s", buf_cstr(&log));
    assert_non_null(strstr(buf_cstr(&log), "\nOK"));
    buf_release(&log);
    child_release(&c);
}

/* ---- setup ------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    if (!find_on_path("python3", python, sizeof(python))) {
        fprintf(stderr, "test_adapter_python: python3 is not on PATH; the Python adapter "
                "tests need it (Python 3.8 or later)\n");
        return -1;
    }
    /* python3 may be a launcher (pyenv's shim takes half a second per start): ask it
     * once for the interpreter it runs, and start that. */
    {
        const char *argv[] = { python, "-c", "import json, sys; print(json.dumps(sys.executable))",
                               NULL };
        struct child c;
        cJSON *exe;

        child_start(&c, argv, NULL);
        child_close_stdin(&c);
        exe = child_read(&c, 30000L * SLOW);
        if (cJSON_IsString(exe) && access(exe->valuestring, X_OK) == 0)
            snprintf(python, sizeof(python), "%s", exe->valuestring);
        cJSON_Delete(exe);
        child_release(&c);
    }
    bundle_path("harness/adapters/python/stdlib_adapter.py", &b);
    snprintf(adapter_py, sizeof(adapter_py), "%s", buf_cstr(&b));
    buf_reset(&b);
    bundle_path("harness/adapters/python/tests", &b);
    snprintf(tests_dir, sizeof(tests_dir), "%s", buf_cstr(&b));
    buf_release(&b);
    if (access(adapter_py, R_OK) != 0) {
        fprintf(stderr, "test_adapter_python: no adapter at '%s'\n", adapter_py);
        return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_adapter_python_carries_out_every_op,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_maps_errors_to_the_canonical_types,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_streams_events_in_order_with_an_exit,
                                        mock_setup, mock_teardown),
        cmocka_unit_test(test_adapter_python_writes_each_event_as_it_arrives),
        cmocka_unit_test_setup_teardown(test_adapter_python_round_trips_all_256_byte_values,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_reads_the_token_file_at_every_call,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_answers_bad_lines_and_goes_on,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_exits_0_at_end_of_input,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_exits_on_sigterm_during_a_call,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_retries_503_with_the_same_idempotency_key,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_honours_retry_after_on_429,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_adapter_python_never_retries_a_stream_that_delivered_events,
                                        mock_setup, mock_teardown),
        cmocka_unit_test(test_python_unit_tests_of_the_adapters_pass),
    };

    return cmocka_run_group_tests_name("adapter_python", tests, group_setup, NULL);
}
