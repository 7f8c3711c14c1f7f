/* Integration tests for proxy and record modes: a hogmock in sim mode stands for the real
 * host, and another one in proxy (or record) mode in front of it forwards, checks, journals
 * and records what goes through. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "auth.h"
#include "bundle.h"
#include "digest.h"
#include "harness.h"
#include "sse.h"
#include "xmalloc.h"

#define MIB (1024u * 1024u)

/* Sanitized binaries, and everything under valgrind, run several times slower; time
 * bounds scale with this. */
#define SLOW mock_slow()

/* A real host (a sim hogmock) and a proxy in front of it. */
struct pair {
    struct mock *up, *px;
};

static struct mock *proxy_start(const char *upstream, enum hogmock_mode mode, const char *dir)
{
    struct hogmock_config cfg;

    mock_default_config(&cfg);
    cfg.mode = mode;
    cfg.upstream = upstream;
    cfg.fixtures_dir = dir;
    cfg.tokens_path = NULL;     /* the proxy never authenticates: the real host does */
    return mock_start(&cfg);
}

static int setup(void **state)
{
    struct pair *p = xcalloc(1, sizeof(*p));

    p->up = mock_start(NULL);
    p->px = proxy_start(p->up->url, HOGMOCK_PROXY, NULL);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;

    mock_stop(p->px);
    mock_stop(p->up);
    free(p);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------- */

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v))
        fail_msg("no number '%s'", name);
    return v->valuedouble;
}

/* The journal entry of request id on m (its X-Request-Id), a new object; NULL when none. */
static cJSON *entry(struct mock *m, const char *id)
{
    struct resp r;
    char target[256];
    cJSON *e;

    snprintf(target, sizeof(target), "/__hogmock/journal?request_id=%s", id);
    mock_expect(m, "adminJournal", 200, "GET", target, NULL, NULL, &r);
    e = cJSON_DetachItemFromArray(cJSON_GetObjectItemCaseSensitive(r.json, "items"), 0);
    resp_release(&r);
    return e;
}

/* The latest journal entry of op on m, a new object. */
static cJSON *last_entry(struct mock *m, const char *op)
{
    struct resp r;
    char target[256];
    cJSON *items, *e;

    snprintf(target, sizeof(target), "/__hogmock/journal?op=%s&limit=1000", op);
    mock_expect(m, "adminJournal", 200, "GET", target, NULL, NULL, &r);
    items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
    e = cJSON_DetachItemFromArray(items, cJSON_GetArraySize(items) - 1);
    resp_release(&r);
    if (!e)
        fail_msg("no journal entry of %s", op);
    return e;
}

/* The latest journal entry of op on m once a streamed answer's end is in it (its bytes,
 * and for an event stream its stream member; a proxy sets the violations before them),
 * which comes just after the client has the last byte. */
static cJSON *settled_entry(struct mock *m, const char *op, bool events)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        cJSON *e = last_entry(m, op);

        if ((!events || cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "stream")))
            && num(e, "response_bytes") > 0)
            return e;
        cJSON_Delete(e);
        if (mock_ms_since(&t0) > 5000L * SLOW)
            fail_msg("the journal never recorded the end of the %s answer", op);
        mock_pause_ms(5);
    }
}

/* The whole journal of m as text (to look for what must not be there). */
static char *journal_text(struct mock *m)
{
    struct resp r;
    char *text;

    mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?limit=1000", NULL, NULL, &r);
    text = cJSON_PrintUnformatted(r.json);
    resp_release(&r);
    return text;
}

/* The violations listed for request id on m, a new array ([] when none). */
static cJSON *violations_of(struct mock *m, const char *id)
{
    struct resp r;
    char target[256];
    cJSON *items, *first;

    snprintf(target, sizeof(target), "/__hogmock/violations?request_id=%s", id);
    mock_expect(m, "adminViolations", 200, "GET", target, NULL, NULL, &r);
    items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
    first = cJSON_GetArrayItem(items, 0);
    items = first ? cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(first, "violations"), 1)
                  : cJSON_CreateArray();
    resp_release(&r);
    return items;
}

/* Does the list hold a violation of kind whose detail contains what (NULL: any)? */
static bool has_violation(const cJSON *list, const char *kind, const char *what)
{
    const cJSON *v;

    cJSON_ArrayForEach(v, list)
        if (strcmp(str(v, "kind"), kind) == 0 && (!what || strstr(str(v, "detail"), what)))
            return true;
    return false;
}

static char *fingerprint(const char *token)
{
    char fp[AUTH_FINGERPRINT_SIZE];

    auth_fingerprint(token, strlen(token), fp);
    return xstrdup(fp);
}

/* One request through the proxy, then the same exchange as both sides journaled it:
 * the upstream answered it (same request id, status and byte count), the proxy journaled
 * it under its operation without a principal, and found nothing wrong with it. */
static void through(struct pair *p, const char *op, long status, const char *method,
                    const char *target, const char *token, const char *body, size_t len,
                    const char *ctype, struct resp *r)
{
    const char *extra[2] = { ctype, NULL };
    const char *id;
    cJSON *up, *px;

    mock_call(p->px, method, target, token, body, len, ctype ? extra : NULL, r);
    if (r->status != status)
        fail_msg("%s %s through the proxy: %ld, expected %ld: %s", method, target, r->status,
                 status, buf_cstr(&r->body));
    if (op)
        mock_check(p->px, op, r);
    id = resp_header(r, "X-Request-Id");
    assert_non_null(id);
    up = entry(p->up, id);
    px = entry(p->px, id);
    if (!up || !px)
        fail_msg("%s %s: request %s is not in the %s journal", method, target, id,
                 up ? "proxy's" : "upstream's");
    assert_int_equal((long)num(up, "status"), status);
    assert_int_equal((long)num(px, "status"), status);
    assert_int_equal((size_t)num(up, "response_bytes"), r->body.len);
    assert_int_equal((size_t)num(px, "response_bytes"), r->body.len);
    if (op)
        assert_string_equal(str(px, "op"), str(up, "op"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(px, "principal_id")));
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(px, "violations")) != 0)
        fail_msg("%s %s: the proxy found violations: %s", method, target,
                 cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(px, "violations")));
    cJSON_Delete(up);
    cJSON_Delete(px);
}

static void through_json(struct pair *p, const char *op, long status, const char *method,
                         const char *target, const char *json, struct resp *r)
{
    through(p, op, status, method, target, "tok_alice", json, json ? strlen(json) : 0,
            json ? "Content-Type: application/json" : NULL, r);
}

/* A GET through the proxy and straight to the upstream give the same bytes. */
static void same_as_direct(struct pair *p, const char *op, const char *target)
{
    struct resp a, b;

    through(p, op, 200, "GET", target, "tok_alice", NULL, 0, NULL, &a);
    mock_call(p->up, "GET", target, "tok_alice", NULL, 0, NULL, &b);
    assert_int_equal(b.status, 200);
    if (a.body.len != b.body.len || memcmp(a.body.data, b.body.data, a.body.len) != 0)
        fail_msg("GET %s: the proxy answered\n%s\nthe upstream\n%s", target, buf_cstr(&a.body),
                 buf_cstr(&b.body));
    assert_string_equal(resp_header(&a, "Content-Type"), resp_header(&b, "Content-Type"));
    resp_release(&a);
    resp_release(&b);
}

static void add_fault(struct mock *m, const char *json)
{
    struct resp r;

    mock_json(m, "POST", "/__hogmock/faults", NULL, json, &r);
    if (r.status != 201)
        fail_msg("fault plan %s: %ld %s", json, r.status, buf_cstr(&r.body));
    resp_release(&r);
}

static void clear_faults(struct mock *m)
{
    struct resp r;

    mock_call(m, "DELETE", "/__hogmock/faults", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_release(&r);
}

/* ---- an event-stream client ------------------------------------------------------------ */

struct sse_client {
    struct sse_parser parser;
    struct timespec t0;
    long at_ms[16];
    char type[16][16];
    size_t n;
    struct buf raw, head;
    size_t stop_after;          /* leave after this many events (0: never) */
};

static int sc_event(const struct sse_event *e, void *ctx)
{
    struct sse_client *c = ctx;

    if (c->n < 16) {
        c->at_ms[c->n] = mock_ms_since(&c->t0);
        snprintf(c->type[c->n], sizeof(c->type[0]), "%s", e->type);
    }
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static size_t sc_body(char *data, size_t size, size_t n, void *ctx)
{
    struct sse_client *c = ctx;

    buf_add(&c->raw, data, size * n);
    if (sse_parser_feed(&c->parser, data, size * n) == SSE_STOPPED)
        return 0;   /* leave: curl closes the connection */
    return size * n;
}

static size_t sc_head(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(&((struct sse_client *)ctx)->head, data, size * n);
    return size * n;
}

/* POST json to target on m as alice, reading the answer as an event stream; leave after
 * stop_after events (0: read to the end). */
static long sse_run_until(struct mock *m, const char *target, const char *json,
                          size_t stop_after, struct sse_client *c)
{
    struct sse_callbacks cb = { sc_event, NULL, NULL, c };
    struct curl_slist *h = NULL;
    char url[256];
    long status = 0;
    CURL *curl = curl_easy_init();
    CURLcode rc;

    memset(c, 0, sizeof(*c));
    c->stop_after = stop_after;
    sse_parser_init(&c->parser, &cb);
    snprintf(url, sizeof(url), "%s%s", m->url, target);
    h = curl_slist_append(h, "Authorization: Bearer tok_alice");
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sc_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sc_head);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK && !(stop_after && rc == CURLE_WRITE_ERROR))
        fail_msg("POST %s: %s", target, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    sse_parser_finish(&c->parser);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return status;
}

static long sse_run(struct mock *m, const char *target, const char *json, struct sse_client *c)
{
    return sse_run_until(m, target, json, 0, c);
}

static void sse_release(struct sse_client *c)
{
    sse_parser_release(&c->parser);
    buf_release(&c->raw);
    buf_release(&c->head);
}

/* ---- pass-through ------------------------------------------------------------------- */

static void test_upstream_passes_every_operation_through(void **state)
{
    struct pair *p = *state;
    struct resp r;
    char box[64], target[256];

    through_json(p, "getMe", 200, "GET", "/v1/me", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_alice");
    resp_release(&r);
    same_as_direct(p, "getLimits", "/v1/limits");

    through_json(p, "createHogbox", 201, "POST", "/v1/hogboxes", "{\"labels\":{\"t\":\"pass\"}}",
                 &r);
    snprintf(box, sizeof(box), "%s", resp_str(&r, "id"));
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    assert_string_equal(resp_header(&r, "Location"), target);
    resp_release(&r);
    same_as_direct(p, "getHogbox", target);
    same_as_direct(p, "listHogboxes", "/v1/hogboxes?limit=5&label=t=pass");

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", box);
    through_json(p, "execHogbox", 200, "POST", target, "{\"argv\":[\"echo\",\"hi\"]}", &r);
    assert_string_equal(resp_str(&r, "stdout"), "hi\n");
    resp_release(&r);
    through_json(p, "execHogbox", 422, "POST", target, "{\"argv\":[]}", &r);
    mock_check_problem(&r, "validation_failed");
    resp_release(&r);

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/tmp/a.txt", box);
    through(p, "writeFile", 200, "PUT", target, "tok_alice", "hello", 5,
            "Content-Type: application/octet-stream", &r);
    assert_int_equal((long)num(r.json, "size"), 5);
    resp_release(&r);
    same_as_direct(p, "readFile", target);

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/pause", box);
    through_json(p, "pauseHogbox", 200, "POST", target, NULL, &r);
    assert_string_equal(resp_str(&r, "state"), "paused");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", box);
    through_json(p, "execHogbox", 409, "POST", target, "{\"argv\":[\"true\"]}", &r);
    mock_check_problem(&r, "invalid_state");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/resume", box);
    through_json(p, "resumeHogbox", 200, "POST", target, NULL, &r);
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/snapshot", box);
    through_json(p, "snapshotHogbox", 201, "POST", target, NULL, &r);
    resp_release(&r);

    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    through_json(p, "destroyHogbox", 204, "DELETE", target, NULL, &r);
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
    through_json(p, "getHogbox", 404, "GET", target, NULL, &r);
    mock_check_problem(&r, "hogbox_not_found");
    resp_release(&r);

    /* Refused by the upstream, never by the proxy. */
    through(p, "getMe", 401, "GET", "/v1/me", NULL, NULL, 0, NULL, &r);
    assert_non_null(resp_header(&r, "WWW-Authenticate"));
    mock_check_problem(&r, "invalid_token");
    resp_release(&r);
    through(p, NULL, 404, "GET", "/v1/nothing/here", "tok_alice", NULL, 0, NULL, &r);
    mock_check_problem(&r, "not_found");
    resp_release(&r);
}

static void test_upstream_passes_credentials_untouched(void **state)
{
    struct pair *p = *state;
    char *fp = fingerprint("tok_bob"), want[64], *text;
    struct resp r;
    cJSON *up, *px;

    mock_call(p->px, "GET", "/v1/me", "tok_bob", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_bob");
    up = entry(p->up, resp_header(&r, "X-Request-Id"));
    px = entry(p->px, resp_header(&r, "X-Request-Id"));
    assert_non_null(up);
    assert_non_null(px);
    /* The upstream saw the very credential the client sent: the same fingerprint. */
    snprintf(want, sizeof(want), "Bearer %s", fp);
    assert_string_equal(str(cJSON_GetObjectItem(up, "headers"), "authorization"), want);
    assert_string_equal(str(cJSON_GetObjectItem(px, "headers"), "authorization"), want);
    assert_string_equal(str(up, "principal_id"), "pr_bob");
    assert_string_equal(str(up, "auth_subject"), fp);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(px, "principal_id")));
    text = journal_text(p->px);
    assert_null(strstr(text, "tok_bob"));
    assert_null(strstr(text, "tok_alice"));
    free(text);
    cJSON_Delete(up);
    cJSON_Delete(px);
    resp_release(&r);
    free(fp);
}

static void test_upstream_streams_events_as_they_come(void **state)
{
    struct hogmock_config cfg;
    struct mock *up, *px;
    struct sse_client c;
    struct resp r;
    char *box, target[128];
    const cJSON *stream;
    cJSON *e;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;  /* sleeps take real time on the upstream */
    up = mock_start(&cfg);
    px = proxy_start(up->url, HOGMOCK_PROXY, NULL);
    box = mock_new_box(up, "tok_alice");
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec/stream", box);
    assert_int_equal(sse_run(px, target, "{\"argv\":[\"sh\",\"-c\",\"echo a; sleep 0.4; echo b "
                                         ">&2; sleep 0.4; echo c\"]}", &c), 200);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.type[1], "stderr");
    assert_string_equal(c.type[3], "exit");
    /* Each event arrives as the upstream sends it, not at the end (lower bounds only). */
    if (c.at_ms[1] - c.at_ms[0] < 300 || c.at_ms[2] - c.at_ms[1] < 300)
        fail_msg("events arrived at %ld, %ld, %ld and %ld ms: not as they were produced",
                 c.at_ms[0], c.at_ms[1], c.at_ms[2], c.at_ms[3]);
    /* The answer is the upstream's, and valid per the spec. */
    memset(&r, 0, sizeof(r));
    r.status = 200;
    buf_add(&r.body, c.raw.data, c.raw.len);
    buf_add(&r.headers, c.head.data, c.head.len);
    mock_check(px, "execHogboxStream", &r);
    e = settled_entry(px, "execHogboxStream", true);
    assert_string_equal(str(e, "request_id"), resp_header(&r, "X-Request-Id"));
    stream = cJSON_GetObjectItemCaseSensitive(e, "stream");
    assert_string_equal(str(stream, "outcome"), "complete");
    assert_int_equal((long)num(stream, "events_sent"), 4);
    assert_int_equal((long)num(stream, "exit_code"), 0);
    assert_int_equal((size_t)num(e, "response_bytes"), c.raw.len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e, "violations")), 0);
    cJSON_Delete(e);
    resp_release(&r);
    sse_release(&c);

    /* A client that leaves a silent stream: the proxy notices, and so does the upstream,
     * whose command stops instead of sleeping on. */
    assert_int_equal(sse_run_until(px, target, "{\"argv\":[\"sh\",\"-c\",\"echo a; "
                                               "sleep 30\"]}", 1, &c), 200);
    sse_release(&c);
    e = settled_entry(up, "execHogboxStream", true);
    assert_string_equal(str(cJSON_GetObjectItem(e, "stream"), "outcome"), "client_gone");
    cJSON_Delete(e);
    e = settled_entry(px, "execHogboxStream", true);
    assert_string_equal(str(cJSON_GetObjectItem(e, "stream"), "outcome"), "client_gone");
    cJSON_Delete(e);
    free(box);
    mock_stop(px);
    mock_stop(up);
}

/* ---- 64 MiB each way, in little memory -------------------------------------------- */

struct gen {
    uint64_t state, left;
    struct digest_sha256 *sha;
};

static size_t gen_read(char *buf, size_t size, size_t n, void *ctx)
{
    struct gen *g = ctx;
    size_t len = size * n < g->left ? size * n : (size_t)g->left, i;

    for (i = 0; i < len; i++) {
        g->state ^= g->state << 13;
        g->state ^= g->state >> 7;
        g->state ^= g->state << 17;
        buf[i] = (char)(g->state >> 24);
    }
    g->left -= len;
    digest_sha256_update(g->sha, buf, len);
    return len;
}

struct sink {
    uint64_t bytes;
    struct digest_sha256 *sha;
};

static size_t sink_write(char *data, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;

    s->bytes += size * n;
    digest_sha256_update(s->sha, data, size * n);
    return size * n;
}

static size_t keep_body(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, data, size * n);
    return size * n;
}

/* A kB figure of /proc/self/status ("VmRSS", "VmHWM"); -1 when there is none. */
static long proc_kb(const char *field)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Start the hogmock binary as an upstream of its own (its memory is not ours to count). */
static pid_t child_upstream(const char *dir, char *url, size_t size)
{
    char exe[PATH_MAX], ready[PATH_MAX];
    struct buf tokens = BUF_INIT;
    struct timespec t0;
    pid_t pid;

    if (!mock_binary(exe, sizeof(exe)))
        fail_msg("no hogmock binary at '%s'", exe);
    snprintf(ready, sizeof(ready), "%s/ready", dir);
    bundle_path("fixtures/auth/tokens.yaml", &tokens);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
            _exit(126);
        execl(exe, exe, "--listen", "127.0.0.1:0", "--ready-file", ready, "--tokens",
              buf_cstr(&tokens), "--clock", "virtual", "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    buf_release(&tokens);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        FILE *f = fopen(ready, "r");

        if (f) {
            bool ok = fgets(url, (int)size, f) != NULL;

            fclose(f);
            if (ok) {
                url[strcspn(url, "\n")] = '\0';
                return pid;
            }
        }
        if (mock_ms_since(&t0) > 5000L * SLOW) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("the upstream hogmock did not start");
        }
        mock_pause_ms(5);
    }
}

static void test_upstream_streams_64_mib_both_ways_in_little_memory(void **state)
{
    const uint64_t size = 64u * MIB;
    char dir[] = "/tmp/test_upstream.XXXXXX", url[96], target[256], hex[65], sent[65];
    struct mock *px, up_ref;
    struct gen g = { 0x9e3779b97f4a7c15ull, 64u * MIB, NULL };
    struct sink s = { 0, NULL };
    struct curl_slist *h = NULL;
    struct buf body = BUF_INIT;
    char *box;
    long status = 0, base_kb, peak_kb;
    cJSON *put_resp, *e;
    bool hwm_reset;
    pid_t pid;
    CURL *c;
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    pid = child_upstream(dir, url, sizeof(url));
    px = proxy_start(url, HOGMOCK_PROXY, NULL);
    memset(&up_ref, 0, sizeof(up_ref));
    snprintf(up_ref.url, sizeof(up_ref.url), "%s", url);
    box = mock_new_box(&up_ref, "tok_alice");

    /* Peak RSS from here: "5" resets the high-water mark (Linux 4.0 and later). */
    fd = open("/proc/self/clear_refs", O_WRONLY);
    hwm_reset = fd >= 0 && write(fd, "5", 1) == 1;
    if (fd >= 0)
        close(fd);
    base_kb = proc_kb("VmRSS");

    snprintf(target, sizeof(target), "%s/v1/hogboxes/%s/files?path=/tmp/big.bin", px->url, box);
    g.sha = digest_sha256_begin();
    c = curl_easy_init();
    h = curl_slist_append(h, "Authorization: Bearer tok_alice");
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, target);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, gen_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &g);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L * SLOW);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    digest_sha256_end(g.sha, sent);
    if (status != 200)
        fail_msg("PUT of 64 MiB through the proxy: %ld %s", status, buf_cstr(&body));
    put_resp = cJSON_Parse(buf_cstr(&body));
    assert_string_equal(str(put_resp, "sha256"), sent);
    assert_int_equal((uint64_t)num(put_resp, "size"), size);
    cJSON_Delete(put_resp);

    s.sha = digest_sha256_begin();
    c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, target);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L * SLOW);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    digest_sha256_end(s.sha, hex);
    assert_int_equal(status, 200);
    assert_int_equal(s.bytes, size);
    assert_string_equal(hex, sent);
    peak_kb = proc_kb("VmHWM");

#if !defined(__SANITIZE_ADDRESS__)
    /* Both bodies went through without being held: the peak grew by far less than one. */
    if (hwm_reset && base_kb > 0 && peak_kb > 0 && peak_kb - base_kb > 24 * 1024)
        fail_msg("the peak RSS grew by %ld KiB while 64 MiB went each way", peak_kb - base_kb);
#else
    (void)hwm_reset;
    (void)base_kb;
    (void)peak_kb;
#endif

    /* The journal has both with their sizes and digest, though neither body was kept. */
    buf_release(&body);
    e = last_entry(px, "writeFile");
    assert_int_equal((uint64_t)num(cJSON_GetObjectItem(e, "body"), "size"), size);
    assert_string_equal(str(cJSON_GetObjectItem(e, "body"), "sha256"), sent);
    cJSON_Delete(e);
    e = settled_entry(px, "readFile", false);
    assert_int_equal((uint64_t)num(e, "response_bytes"), size);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "note")));
    cJSON_Delete(e);
    free(box);
    mock_stop(px);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    snprintf(target, sizeof(target), "rm -rf '%s'", dir);
    assert_int_equal(system(target), 0);
}

/* ---- violations ---------------------------------------------------------------------- */

static void test_upstream_violations_are_journaled_and_listed(void **state)
{
    struct pair *p = *state;
    char *box = mock_new_box(p->up, "tok_alice"), target[256], json[256];
    const char *id;
    struct resp r;
    cJSON *e, *list;

    /* An in-box service's odd status is no violation: proxyHogbox documents a default. */
    snprintf(json, sizeof(json), "{\"box\":\"%s\",\"port\":9000,\"status\":418,"
             "\"body\":\"short and stout\"}", box);
    mock_expect(p->up, "adminSetService", 200, "PUT", "/__hogmock/services", NULL, json, &r);
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/proxy/9000/pot", box);
    mock_call(p->px, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 418);
    assert_string_equal(buf_cstr(&r.body), "short and stout");
    e = entry(p->px, resp_header(&r, "X-Request-Id"));
    assert_non_null(e);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e, "violations")), 0);
    cJSON_Delete(e);
    resp_release(&r);

    /* Fault plans on the upstream make it break the spec on purpose. */
    add_fault(p->up, "{\"match\":{\"op\":\"getHogbox\"},\"times\":1,\"phase\":\"before\","
                     "\"action\":{\"type\":\"status\",\"status\":200,\"content_type\":"
                     "\"application/json\",\"body\":\"{\\\"id\\\":5,\\\"cpus\\\":99}\"}}");
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    mock_call(p->px, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    list = violations_of(p->px, resp_header(&r, "X-Request-Id"));
    if (!has_violation(list, "body", "required") || !has_violation(list, "body", NULL))
        fail_msg("no schema violations: %s", cJSON_PrintUnformatted(list));
    assert_true(has_violation(list, "body", "string"));
    cJSON_Delete(list);
    resp_release(&r);

    add_fault(p->up, "{\"match\":{\"op\":\"getHogbox\"},\"times\":1,\"phase\":\"after_commit\","
                     "\"action\":{\"type\":\"malformed_json\"}}");
    mock_call(p->px, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    list = violations_of(p->px, resp_header(&r, "X-Request-Id"));
    assert_true(has_violation(list, "body", "not JSON"));
    cJSON_Delete(list);
    resp_release(&r);

    add_fault(p->up, "{\"match\":{\"op\":\"getHogbox\"},\"times\":1,\"phase\":\"before\","
                     "\"action\":{\"type\":\"status\",\"status\":418}}");
    mock_call(p->px, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 418);
    id = resp_header(&r, "X-Request-Id");
    e = entry(p->px, id);
    assert_non_null(e);
    list = cJSON_GetObjectItemCaseSensitive(e, "violations");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_true(has_violation(list, "status", "418 is not documented for getHogbox"));
    cJSON_Delete(e);
    list = violations_of(p->px, id);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_true(has_violation(list, "status", "418"));
    cJSON_Delete(list);
    resp_release(&r);
    clear_faults(p->up);

    /* The list, as the admin spec says; then emptied. */
    mock_expect(p->px, "adminViolations", 200, "GET", "/__hogmock/violations?op=getHogbox",
                NULL, NULL, &r);
    assert_int_equal((long)num(r.json, "total"), 3);
    resp_release(&r);
    mock_call(p->px, "DELETE", "/__hogmock/violations", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    mock_check(p->px, "adminClearViolations", &r);
    resp_release(&r);
    mock_expect(p->px, "adminViolations", 200, "GET", "/__hogmock/violations", NULL, NULL, &r);
    assert_int_equal((long)num(r.json, "total"), 0);
    resp_release(&r);
    free(box);
}

/* ---- faults on top -------------------------------------------------------------------- */

static void test_upstream_faults_apply_on_top(void **state)
{
    struct pair *p = *state;
    char *box = mock_new_box(p->up, "tok_alice"), target[256];
    struct sse_client c;
    struct resp r;
    size_t before;
    cJSON *e;

    snprintf(target, sizeof(target), "/__hogmock/journal/count?op=getHogbox");
    mock_expect(p->up, "adminJournalCount", 200, "GET", target, NULL, NULL, &r);
    before = (size_t)num(r.json, "count");
    resp_release(&r);

    /* Before: the proxy answers in place of the upstream, which never sees the request. */
    add_fault(p->px, "{\"match\":{\"op\":\"getHogbox\"},\"times\":1,\"phase\":\"before\","
                     "\"action\":{\"type\":\"status\",\"status\":503,\"headers\":"
                     "{\"Retry-After\":\"2\"}}}");
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    mock_call(p->px, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(resp_header(&r, "Retry-After"), "2");
    mock_check_problem(&r, NULL);
    resp_release(&r);
    mock_expect(p->up, "adminJournalCount", 200, "GET", "/__hogmock/journal/count?op=getHogbox",
                NULL, NULL, &r);
    assert_int_equal((size_t)num(r.json, "count"), before);
    resp_release(&r);

    /* After the commit: the upstream does it, the client sees the fault. */
    add_fault(p->px, "{\"match\":{\"op\":\"createHogbox\"},\"times\":1,\"phase\":\"after_commit\","
                     "\"action\":{\"type\":\"status\",\"status\":500}}");
    mock_json(p->px, "POST", "/v1/hogboxes", "tok_alice", "{\"labels\":{\"t\":\"fault\"}}", &r);
    assert_int_equal(r.status, 500);
    e = entry(p->px, resp_header(&r, "X-Request-Id"));
    assert_non_null(e);
    assert_non_null(str(e, "fault"));
    cJSON_Delete(e);
    resp_release(&r);
    mock_expect(p->up, "adminJournalCount", 200, "GET",
                "/__hogmock/journal/count?op=createHogbox&status=201", NULL, NULL, &r);
    assert_true(num(r.json, "count") >= 1);
    resp_release(&r);

    /* A shaping fault on a small forwarded answer: cut short. */
    add_fault(p->px, "{\"match\":{\"op\":\"getHogbox\"},\"times\":1,"
                     "\"action\":{\"type\":\"truncate\",\"bytes\":10}}");
    {
        CURL *curl = curl_easy_init();
        struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer tok_alice");
        struct buf got = BUF_INIT;
        char url[384];
        CURLcode rc;

        snprintf(url, sizeof(url), "%s%s", p->px->url, target);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
        rc = curl_easy_perform(curl);
        assert_int_not_equal(rc, CURLE_OK);
        assert_int_equal(got.len, 10);
        buf_release(&got);
        curl_slist_free_all(h);
        curl_easy_cleanup(curl);
    }

    /* On a forwarded event stream: an event twice, then one stream without its exit. */
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec/stream", box);
    add_fault(p->px, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                     "\"action\":{\"type\":\"sse_duplicate_event\",\"after_event\":1}}");
    assert_int_equal(sse_run(p->px, target, "{\"argv\":[\"sh\",\"-c\",\"echo a; echo b\"]}",
                             &c), 200);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.type[0], "stdout");
    assert_string_equal(c.type[1], "stdout");
    assert_string_equal(c.type[3], "exit");
    sse_release(&c);
    add_fault(p->px, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                     "\"action\":{\"type\":\"sse_close\",\"after_event\":1}}");
    assert_int_equal(sse_run(p->px, target, "{\"argv\":[\"sh\",\"-c\",\"echo a; echo b\"]}",
                             &c), 200);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.type[0], "stdout");
    sse_release(&c);
    e = settled_entry(p->px, "execHogboxStream", true);
    assert_non_null(str(e, "fault"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "stream"),
                                                 "fault_fired")));
    /* The check sees the host's stream, which was fine. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e, "violations")), 0);
    cJSON_Delete(e);
    clear_faults(p->px);
    free(box);
}

/* ---- record, then replay ---------------------------------------------------------------- */

struct call {
    const char *method, *target, *json;
    long status;
};

/* Everything under dir as one text. */
static void slurp_dir(const char *dir, struct buf *out, size_t *files)
{
    struct dirent *d;
    DIR *dp = opendir(dir);

    *files = 0;
    assert_non_null(dp);
    while ((d = readdir(dp)) != NULL) {
        char path[PATH_MAX], chunk[4096];
        size_t n;
        FILE *f;

        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
        f = fopen(path, "r");
        assert_non_null(f);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            buf_add(out, chunk, n);
        fclose(f);
        (*files)++;
    }
    closedir(dp);
}

/* Two answers are the same: status, media type and body (a problem's request_id aside). */
static void same_answer(const char *what, const struct resp *a, const struct resp *b)
{
    const char *ta = resp_header(a, "Content-Type"), *tb = resp_header(b, "Content-Type");

    if (a->status != b->status)
        fail_msg("%s: recorded %ld, replayed %ld: %s", what, a->status, b->status,
                 buf_cstr(&b->body));
    if (a->body.len == 0 && b->body.len == 0)
        return;
    assert_non_null(ta);
    assert_non_null(tb);
    assert_string_equal(ta, tb);
    if (a->json && b->json) {
        cJSON *ca = cJSON_Duplicate(a->json, 1), *cb = cJSON_Duplicate(b->json, 1);

        cJSON_DeleteItemFromObject(ca, "request_id");
        cJSON_DeleteItemFromObject(cb, "request_id");
        if (!cJSON_Compare(ca, cb, 1))
            fail_msg("%s: recorded %s, replayed %s", what, buf_cstr(&a->body), buf_cstr(&b->body));
        cJSON_Delete(ca);
        cJSON_Delete(cb);
    } else if (a->body.len != b->body.len || memcmp(a->body.data, b->body.data, a->body.len)) {
        fail_msg("%s: recorded %s, replayed %s", what, buf_cstr(&a->body), buf_cstr(&b->body));
    }
}

static void test_upstream_records_a_session_that_replays(void **state)
{
    struct pair *p = *state;
    char dir[] = "/tmp/test_upstream.XXXXXX", cmd[64], box[64], t[8][128];
    struct hogmock_config cfg;
    struct mock *rec, *rep;
    struct resp r, recorded[10];
    struct buf all = BUF_INIT;
    size_t files, i, n = 0;
    struct call calls[10];

    (void)state;
    assert_non_null(mkdtemp(dir));
    rec = proxy_start(p->up->url, HOGMOCK_RECORD, dir);
    mock_json(rec, "POST", "/v1/hogboxes", "tok_alice", "{\"labels\":{\"t\":\"record\"}}", &r);
    assert_int_equal(r.status, 201);
    snprintf(box, sizeof(box), "%s", resp_str(&r, "id"));
    resp_release(&r);

    snprintf(t[0], sizeof(t[0]), "/v1/hogboxes/%s", box);
    snprintf(t[1], sizeof(t[1]), "/v1/hogboxes/%s/exec", box);
    snprintf(t[2], sizeof(t[2]), "/v1/hogboxes/%s/exec/stream", box);
    snprintf(t[3], sizeof(t[3]), "/v1/hogboxes/%s/files?path=/tmp/r.txt", box);
    snprintf(t[4], sizeof(t[4]), "/v1/hogboxes?limit=10&label=t=record");
    calls[n++] = (struct call){ "GET", t[0], NULL, 200 };
    calls[n++] = (struct call){ "POST", t[1], "{\"argv\":[\"echo\",\"hi\"]}", 200 };
    calls[n++] = (struct call){ "POST", t[2], "{\"argv\":[\"sh\",\"-c\",\"echo a; echo b >&2\"]}",
                                200 };
    calls[n++] = (struct call){ "PUT", t[3], "recorded", 200 };
    calls[n++] = (struct call){ "GET", t[4], NULL, 200 };
    calls[n++] = (struct call){ "GET", "/v1/hogboxes/hb_0000000000000000", NULL, 404 };
    calls[n++] = (struct call){ "GET", "/v1/me", NULL, 200 };
    for (i = 0; i < n; i++) {
        const char *ct = strcmp(calls[i].method, "PUT") == 0 ? "Content-Type: application/octet-stream"
                                                             : "Content-Type: application/json";
        const char *extra[2] = { ct, NULL };

        mock_call(rec, calls[i].method, calls[i].target, "tok_alice", calls[i].json,
                  calls[i].json ? strlen(calls[i].json) : 0, calls[i].json ? extra : NULL,
                  &recorded[i]);
        if (recorded[i].status != calls[i].status)
            fail_msg("%s %s: %ld", calls[i].method, calls[i].target, recorded[i].status);
    }
    /* Secrets in a request and in an answer: neither may reach a fixture. */
    mock_json(rec, "POST", t[1], "tok_alice",
              "{\"argv\":[\"env\"],\"env\":{\"API_TOKEN\":\"tok_alice\",\"ID_TOKEN\":"
              "\"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln\"}}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(resp_str(&r, "stdout"), "API_TOKEN=tok_alice"));
    resp_release(&r);
    mock_stop(rec);

    slurp_dir(dir, &all, &files);
    assert_int_equal(files, n + 2);
    assert_null(strstr(buf_cstr(&all), "tok_alice"));
    assert_null(strstr(buf_cstr(&all), "eyJhbGciOiJub25lIn0"));
    assert_non_null(strstr(buf_cstr(&all), "API_TOKEN=fp_"));
    buf_release(&all);

    mock_default_config(&cfg);
    cfg.mode = HOGMOCK_REPLAY;
    cfg.fixtures_dir = dir;
    rep = mock_start(&cfg);
    for (i = 0; i < n; i++) {
        const char *ct = strcmp(calls[i].method, "PUT") == 0 ? "Content-Type: application/octet-stream"
                                                             : "Content-Type: application/json";
        const char *extra[2] = { ct, NULL };
        char what[160];

        mock_call(rep, calls[i].method, calls[i].target, "tok_alice", calls[i].json,
                  calls[i].json ? strlen(calls[i].json) : 0, calls[i].json ? extra : NULL, &r);
        snprintf(what, sizeof(what), "%s %s", calls[i].method, calls[i].target);
        same_answer(what, &recorded[i], &r);
        resp_release(&r);
        resp_release(&recorded[i]);
    }
    mock_stop(rep);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- configuration ------------------------------------------------------------------ */

static void test_upstream_refuses_a_bad_url(void **state)
{
    static const char *const bad[] = {
        "ftp://example.com", "example.com", "http://", "http://127.0.0.1:1/x?y=1", "", NULL,
    };
    struct hogmock_config cfg;
    struct buf err = BUF_INIT;
    struct hogmock *hm;
    size_t i;

    (void)state;
    for (i = 0; bad[i]; i++) {
        mock_default_config(&cfg);
        cfg.mode = HOGMOCK_PROXY;
        cfg.upstream = bad[i];
        buf_reset(&err);
        assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
        assert_null(hm);
        assert_non_null(strstr(buf_cstr(&err), "--upstream"));
        assert_null(strchr(buf_cstr(&err), '\n'));
    }
    buf_release(&err);
}

static void test_upstream_unreachable_is_a_502(void **state)
{
    struct mock *px;
    struct resp r;

    (void)state;
    /* Port 1 on loopback: nothing listens, the connection is refused at once. */
    px = proxy_start("http://127.0.0.1:1", HOGMOCK_PROXY, NULL);
    mock_call(px, "GET", "/v1/me", "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 502);
    mock_check_problem(&r, "upstream_unavailable");
    resp_release(&r);
    mock_stop(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_passes_every_operation_through),
        cmocka_unit_test(test_upstream_passes_credentials_untouched),
        cmocka_unit_test(test_upstream_violations_are_journaled_and_listed),
        cmocka_unit_test(test_upstream_faults_apply_on_top),
        cmocka_unit_test(test_upstream_records_a_session_that_replays),
        cmocka_unit_test(test_upstream_streams_events_as_they_come),
        cmocka_unit_test(test_upstream_streams_64_mib_both_ways_in_little_memory),
        cmocka_unit_test(test_upstream_refuses_a_bad_url),
        cmocka_unit_test(test_upstream_unreachable_is_a_502),
    };

    return cmocka_run_group_tests_name("upstream", tests, setup, teardown);
}
