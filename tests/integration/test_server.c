/* Integration tests for hogmock's request pipeline: routing, authentication, body limits,
 * parameter and body validation, and a table of hostile requests that must each get
 * their documented problem+json, be journaled, and change nothing. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "server.h"
#include "xmalloc.h"

static long journal_count(struct mock *m)
{
    struct resp r;
    long n;

    mock_call(m, "GET", "/__hogmock/journal/count", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    n = (long)cJSON_GetObjectItem(r.json, "count")->valuedouble;
    resp_release(&r);
    return n;
}

static char *state_dump(struct mock *m)
{
    struct resp r;
    char *s;

    mock_call(m, "GET", "/__hogmock/state", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    s = buf_detach(&r.body, NULL);
    resp_release(&r);
    return s;
}

static void test_server_answers_every_request_with_a_request_id(void **state)
{
    struct mock *m = *state;
    struct resp a, b;

    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &a);
    mock_call(m, "GET", "/v1/me", NULL, NULL, 0, NULL, &b);
    assert_non_null(resp_header(&a, "X-Request-Id"));
    assert_non_null(resp_header(&b, "X-Request-Id"));
    assert_string_not_equal(resp_header(&a, "X-Request-Id"), "");
    assert_int_equal(strncmp(resp_header(&a, "X-Request-Id"), "req_", 4), 0);
    resp_release(&a);
    resp_release(&b);
}

static void test_server_unknown_path_is_404_and_wrong_method_405_with_allow(void **state)
{
    struct mock *m = *state;
    struct resp r;

    mock_call(m, "GET", "/v1/nothing-here", "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    mock_check_problem(&r, "not_found");
    resp_release(&r);
    mock_call(m, "DELETE", "/v1/me", "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 405);
    mock_check_problem(&r, "method_not_allowed");
    assert_string_equal(resp_header(&r, "Allow"), "GET");
    resp_release(&r);
}

static void test_server_bearer_scheme_is_case_insensitive(void **state)
{
    static const char *const h[] = { "Authorization: bEaReR tok_alice", NULL };
    struct mock *m = *state;
    struct resp r;

    mock_call(m, "GET", "/v1/me", NULL, NULL, 0, h, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

static void test_server_malformed_json_names_line_and_column(void **state)
{
    struct mock *m = *state;
    struct resp r;

    mock_json(m, "POST", "/v1/hogboxes", "tok_alice", "{\n  \"cpus\": 2,\n  oops\n}", &r);
    assert_int_equal(r.status, 400);
    mock_check_problem(&r, "malformed_json");
    assert_non_null(strstr(resp_str(&r, "detail"), "line 3"));
    resp_release(&r);
}

static void test_server_schema_violations_carry_pointers(void **state)
{
    struct mock *m = *state;
    struct resp r;
    const cJSON *errors, *e;
    int found = 0;

    mock_json(m, "POST", "/v1/hogboxes", "tok_alice",
              "{\"cpus\": 64, \"memory_mib\": \"lots\", \"labels\": {\"env\": 3}}", &r);
    assert_int_equal(r.status, 422);
    mock_check(m, "createHogbox", &r);
    mock_check_problem(&r, "validation_failed");
    errors = cJSON_GetObjectItem(r.json, "errors");
    cJSON_ArrayForEach(e, errors) {
        const char *p = cJSON_GetObjectItem(e, "pointer")->valuestring;

        found += strcmp(p, "/cpus") == 0 || strcmp(p, "/memory_mib") == 0
                 || strcmp(p, "/labels/env") == 0;
    }
    assert_int_equal(found, 3);
    resp_release(&r);
}

/* A body bigger than the limit is refused from its Content-Length (read through unkept
 * first unless the client waits for 100 Continue: see the next test). */
static void test_server_refuses_an_announced_oversized_body(void **state)
{
    struct mock *m = *state;
    size_t len = (1u << 20) + 1;
    char *big = xmalloc(len);
    struct resp r;

    static const char *const ct[] = { "Content-Type: application/json", NULL };

    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    mock_call(m, "POST", "/v1/hogboxes", "tok_alice", big, len, ct, &r);
    assert_int_equal(r.status, 413);
    mock_check_problem(&r, "payload_too_large");
    resp_release(&r);
    free(big);
}

/* A client that does not wait for 100 Continue has its body on the way when the headers
 * arrive: the 413 must come after the server read it, not before, or closing on the
 * unread bytes resets the connection and the client sees a broken pipe, not the 413. */
static void test_server_oversized_body_without_expect_still_gets_its_413(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    size_t total = (64u << 20) + 1, sent = 0;
    struct timeval tv = { 60L * mock_slow(), 0 };
    struct sockaddr_in sa;
    struct buf head = BUF_INIT;
    char chunk[65536], answer[64];
    ssize_t n;
    int fd;

    buf_addf(&head, "PUT /v1/hogboxes/%s/files?path=/tmp/over.bin HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer tok_alice\r\nContent-Type: application/octet-stream\r\n"
             "Content-Length: %zu\r\n\r\n", box, total);
    memset(chunk, 'x', sizeof(chunk));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hogmock_port(m->hm));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, head.data, head.len, MSG_NOSIGNAL), (ssize_t)head.len);
    while (sent < total) {
        size_t want = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);

        n = send(fd, chunk, want, MSG_NOSIGNAL);
        if (n <= 0)
            fail_msg("the body was cut off after %zu of %zu bytes", sent, total);
        sent += (size_t)n;
    }
    n = recv(fd, answer, sizeof(answer) - 1, 0);
    assert_true(n > 12);
    answer[n] = '\0';
    assert_memory_equal(answer, "HTTP/1.1 413", 12);
    close(fd);
    buf_release(&head);
    free(box);
}

/* Chunked: no Content-Length, so the limit trips while reading. */
static void test_server_refuses_an_oversized_chunked_body_while_reading(void **state)
{
    static const char *const h[] = { "Content-Type: application/json",
                                     "Transfer-Encoding: chunked", NULL };
    struct mock *m = *state;
    size_t len = 3u << 20;
    char *big = xmalloc(len);
    struct resp r;

    memset(big, ' ', len);
    mock_call(m, "POST", "/v1/hogboxes", "tok_alice", big, len, h, &r);
    assert_int_equal(r.status, 413);
    mock_check_problem(&r, "payload_too_large");
    resp_release(&r);
    free(big);
}

/* Send raw bytes on a fresh TCP connection and close without reading much. */
static void raw_send(struct mock *m, const char *bytes, size_t len)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char sink[512];
    ssize_t n;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hogmock_port(m->hm));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    /* A request left incomplete on purpose may be held open until the server's own
     * timeout; the answer (if any) is not what these tests look at, so wait a little. */
    struct timeval tv = { 2, 0 };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    n = write(fd, bytes, len);
    assert_int_equal(n, (ssize_t)len);
    shutdown(fd, SHUT_WR);
    while (read(fd, sink, sizeof(sink)) > 0)
        ;
    close(fd);
}

static void test_server_truncated_body_changes_nothing(void **state)
{
    static const char req[] =
        "POST /v1/hogboxes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok_alice\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"cpus\": 1}";
    struct mock *m = *state;
    char *before = state_dump(m), *after;
    struct resp r;

    raw_send(m, req, sizeof(req) - 1);
    after = state_dump(m);
    assert_string_equal(before, after);
    /* The server still serves. */
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    resp_release(&r);
    free(before);
    free(after);
}

static void test_server_garbage_instead_of_http_keeps_it_serving(void **state)
{
    static const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n";
    struct mock *m = *state;
    struct resp r;

    raw_send(m, junk, sizeof(junk) - 1);
    raw_send(m, "GET /v1/me HTTP/1.1\r\n", 21);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    resp_release(&r);
}

struct bad {
    const char *what;
    const char *method;
    const char *target;     /* "{box}" is replaced by a box of alice's */
    const char *token;
    const char *headers[4];
    const char *body;       /* NULL: none; "@big" and "@deep" are generated */
    long status;
    const char *code;       /* NULL: MHD's own answer, not problem+json */
};

static const struct bad bad[] = {
    { "unknown path", "GET", "/v1/nope", "tok_alice", { NULL }, NULL, 404, "not_found" },
    { "trailing slash", "GET", "/v1/hogboxes/", "tok_alice", { NULL }, NULL, 404, "not_found" },
    { "double slash", "GET", "//v1/me", "tok_alice", { NULL }, NULL, 404, "not_found" },
    { "upper-case path", "GET", "/V1/ME", "tok_alice", { NULL }, NULL, 404, "not_found" },
    { "wrong method", "POST", "/v1/me", "tok_alice", { NULL }, NULL, 405, "method_not_allowed" },
    { "unknown method", "BREW", "/v1/me", "tok_alice", { NULL }, NULL, 405, "method_not_allowed" },
    { "encoded NUL in path", "GET", "/v1/hogboxes/hb%00", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "bad escape in path", "GET", "/v1/hogboxes/hb%zz", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "no Authorization", "GET", "/v1/me", NULL, { NULL }, NULL, 401, "invalid_token" },
    { "Basic scheme", "GET", "/v1/me", NULL, { "Authorization: Basic YTpi", NULL }, NULL, 401, "invalid_token" },
    { "empty bearer", "GET", "/v1/me", NULL, { "Authorization: Bearer", NULL }, NULL, 401, "invalid_token" },
    { "bearer with two parts", "GET", "/v1/me", NULL, { "Authorization: Bearer tok_alice x", NULL }, NULL, 401, "invalid_token" },
    { "unknown token", "GET", "/v1/me", "tok_nobody_at_all", { NULL }, NULL, 401, "invalid_token" },
    { "malformed token", "GET", "/v1/me", "not-a-token", { NULL }, NULL, 401, "invalid_token" },
    { "two Authorization headers", "GET", "/v1/me", "tok_alice", { "Authorization: Bearer tok_bob", NULL }, NULL, 401, "invalid_token" },
    { "control bytes in token", "GET", "/v1/me", NULL, { "Authorization: Bearer tok_\x01\x02zz", NULL }, NULL, 401, "invalid_token" },
    { "body on a GET", "GET", "/v1/me", "tok_alice", { NULL }, "hello", 400, "invalid_parameter" },
    { "unclosed JSON", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{", 400, "malformed_json" },
    { "trailing garbage", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{} x", 400, "malformed_json" },
    { "duplicate keys", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"cpus\":1,\"cpus\":2}", 400, "malformed_json" },
    { "invalid UTF-8", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"labels\":{\"a\":\"\xff\xfe\"}}", 400, "malformed_json" },
    { "number overflow", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"cpus\":1e999}", 400, "malformed_json" },
    { "nesting 300 deep", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "@deep", 400, "malformed_json" },
    { "array body", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "[1,2]", 422, "validation_failed" },
    { "string for integer", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"cpus\":\"two\"}", 422, "validation_failed" },
    { "huge integer", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"cpus\":99999999999999999999}", 422, "validation_failed" },
    { "negative size", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"disk_gib\":-5}", 422, "validation_failed" },
    { "fractional cpus", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"cpus\":1.5}", 422, "validation_failed" },
    { "memory not a multiple", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"memory_mib\":300}", 422, "validation_failed" },
    { "unknown field", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"colour\":\"red\"}", 422, "validation_failed" },
    { "bad enum", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"access_type\":\"rdp\"}", 422, "validation_failed" },
    { "label not a string", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "{\"labels\":{\"a\":1}}", 422, "validation_failed" },
    { "null body", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "null", 422, "validation_failed" },
    { "text/plain body", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: text/plain", NULL }, "{}", 415, "unsupported_media_type" },
    { "no Content-Type", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type:", NULL }, "{}", 415, "unsupported_media_type" },
    { "JSON over 1 MiB", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", NULL }, "@big", 413, "payload_too_large" },
    { "limit 0", "GET", "/v1/hogboxes?limit=0", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "limit 1000", "GET", "/v1/hogboxes?limit=1000", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "limit not a number", "GET", "/v1/hogboxes?limit=ten", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "limit twice", "GET", "/v1/hogboxes?limit=1&limit=2", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "unknown state", "GET", "/v1/hogboxes?state=exploded", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "bad escape in query", "GET", "/v1/hogboxes?cursor=%zz", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "garbage cursor", "GET", "/v1/hogboxes?cursor=garbage", "tok_alice", { NULL }, NULL, 400, "invalid_parameter" },
    { "missing box", "GET", "/v1/hogboxes/hb_0000000000000000", "tok_alice", { NULL }, NULL, 404, "hogbox_not_found" },
    { "another principal's box", "GET", "/v1/hogboxes/{box}", "tok_bob", { NULL }, NULL, 404, "hogbox_not_found" },
    { "exec with empty argv", "POST", "/v1/hogboxes/{box}/exec", "tok_alice", { "Content-Type: application/json", NULL }, "{\"argv\":[]}", 422, "validation_failed" },
    { "exec with timeout 0", "POST", "/v1/hogboxes/{box}/exec", "tok_alice", { "Content-Type: application/json", NULL }, "{\"argv\":[\"true\"],\"timeout_seconds\":0}", 422, "validation_failed" },
    { "file path relative", "PUT", "/v1/hogboxes/{box}/files?path=etc/passwd", "tok_alice", { NULL }, "x", 422, "validation_failed" },
    { "file path missing", "PUT", "/v1/hogboxes/{box}/files", "tok_alice", { NULL }, "x", 400, "invalid_parameter" },
    { "file mode not octal", "PUT", "/v1/hogboxes/{box}/files?path=/tmp/x&mode=999", "tok_alice", { NULL }, "x", 400, "invalid_parameter" },
    { "Idempotency-Key too long", "POST", "/v1/hogboxes", "tok_alice", { "Content-Type: application/json", "@longkey", NULL }, "{}", 400, "invalid_parameter" },
    { "over-long path", "GET", "@longpath", "tok_alice", { NULL }, NULL, 414, NULL },
    { "over-long header", "GET", "/v1/me", "tok_alice", { "@longheader", NULL }, NULL, 431, NULL },
};

static char *expand(const char *s, const char *box)
{
    const char *at = strstr(s, "{box}");
    struct buf b = BUF_INIT;

    if (!at)
        return xstrdup(s);
    buf_add(&b, s, (size_t)(at - s));
    buf_addstr(&b, box);
    buf_addstr(&b, at + 5);
    return buf_detach(&b, NULL);
}

static void test_server_hostile_requests_get_their_problem_and_change_nothing(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    char *before = state_dump(m), *after;
    struct buf big = BUF_INIT, deep = BUF_INIT, longpath = BUF_INIT, longheader = BUF_INIT,
               longkey = BUF_INIT;
    size_t i;
    int k;

    buf_addch(&big, '{');
    for (i = 0; i < (1u << 20); i++)
        buf_addch(&big, ' ');
    buf_addch(&big, '}');
    for (k = 0; k < 300; k++)
        buf_addch(&deep, '[');
    for (k = 0; k < 300; k++)
        buf_addch(&deep, ']');
    buf_addstr(&longpath, "/v1/hogboxes/");
    for (i = 0; i < 200000; i++)
        buf_addch(&longpath, 'a');
    buf_addstr(&longheader, "X-Filler: ");
    for (i = 0; i < 200000; i++)
        buf_addch(&longheader, 'b');
    buf_addstr(&longkey, "Idempotency-Key: ");
    for (i = 0; i < 1000; i++)
        buf_addch(&longkey, 'k');

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct bad *b = &bad[i];
        const char *hdrs[5] = { NULL };
        const char *body = b->body;
        char *target = strcmp(b->target, "@longpath") == 0 ? xstrdup(buf_cstr(&longpath))
                                                           : expand(b->target, box);
        long journal = journal_count(m);
        struct resp r, ok;
        size_t h;

        for (h = 0; h < 4 && b->headers[h]; h++)
            hdrs[h] = strcmp(b->headers[h], "@longheader") == 0 ? buf_cstr(&longheader)
                    : strcmp(b->headers[h], "@longkey") == 0 ? buf_cstr(&longkey) : b->headers[h];
        if (body && strcmp(body, "@big") == 0)
            body = buf_cstr(&big);
        else if (body && strcmp(body, "@deep") == 0)
            body = buf_cstr(&deep);
        mock_call(m, b->method, target, b->token, body, body ? strlen(body) : 0, hdrs, &r);
        if (r.status != b->status)
            fail_msg("row %zu (%s): status %ld, expected %ld: %.*s", i, b->what, r.status,
                     b->status, (int)(r.body.len > 500 ? 500 : r.body.len), buf_cstr(&r.body));
        if (b->code) {
            mock_check_problem(&r, b->code);
            /* Everything MHD lets through is journaled. */
            if (journal_count(m) != journal + 2)
                fail_msg("row %zu (%s): not journaled", i, b->what);
        }
        resp_release(&r);
        mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &ok);
        resp_release(&ok);
        free(target);
    }
    after = state_dump(m);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(box);
    buf_release(&big);
    buf_release(&deep);
    buf_release(&longpath);
    buf_release(&longheader);
    buf_release(&longkey);
}

struct slow_exec {
    struct mock *m;
    const char *box;
    long status;
    atomic_bool done;
};

static void *run_slow_exec(void *arg)
{
    struct slow_exec *se = arg;
    struct buf target = BUF_INIT;
    struct resp r;

    buf_addf(&target, "/v1/hogboxes/%s/exec", se->box);
    mock_json(se->m, "POST", buf_cstr(&target), "tok_alice",
              "{\"argv\": [\"sleep\", \"2\"], \"timeout_seconds\": 10}", &r);
    se->status = r.status;
    atomic_store(&se->done, true);
    resp_release(&r);
    buf_release(&target);
    return NULL;
}

/* A command sleeping on the real clock runs off the request threads: with one request
 * thread, other requests are answered while it sleeps. */
static void test_server_sleeping_exec_does_not_hold_up_other_requests(void **state)
{
    struct hogmock_config cfg;
    struct slow_exec se = { NULL, NULL, 0, false };
    struct mock *m;
    pthread_t tid;
    char *box;
    int i;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    cfg.threads = 1;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");
    se.m = m;
    se.box = box;
    assert_int_equal(pthread_create(&tid, NULL, run_slow_exec, &se), 0);
    /* Wait (bounded) until the exec is in flight, then ask for /v1/me a few times: each
     * must be answered while the command is still sleeping. */
    for (i = 0; i < 2000 && atomic_load(&m->hm->inflight) == 0; i++)
        mock_pause_ms(1);
    assert_int_equal(atomic_load(&m->hm->inflight), 1);
    for (i = 0; i < 5; i++) {
        struct resp r;

        mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
        resp_release(&r);
    }
    assert_false(atomic_load(&se.done));
    pthread_join(tid, NULL);
    assert_int_equal(se.status, 200);
    free(box);
    mock_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_answers_every_request_with_a_request_id),
        cmocka_unit_test(test_server_unknown_path_is_404_and_wrong_method_405_with_allow),
        cmocka_unit_test(test_server_bearer_scheme_is_case_insensitive),
        cmocka_unit_test(test_server_malformed_json_names_line_and_column),
        cmocka_unit_test(test_server_schema_violations_carry_pointers),
        cmocka_unit_test(test_server_refuses_an_announced_oversized_body),
        cmocka_unit_test(test_server_oversized_body_without_expect_still_gets_its_413),
        cmocka_unit_test(test_server_refuses_an_oversized_chunked_body_while_reading),
        cmocka_unit_test(test_server_truncated_body_changes_nothing),
        cmocka_unit_test(test_server_garbage_instead_of_http_keeps_it_serving),
        cmocka_unit_test(test_server_hostile_requests_get_their_problem_and_change_nothing),
        cmocka_unit_test(test_server_sleeping_exec_does_not_hold_up_other_requests),
    };

    return cmocka_run_group_tests_name("server", tests, mock_setup, mock_teardown);
}
