/* Integration tests for proxyHogbox (mockserver/boxproxy.c) and the simulated services
 * behind it: the agent server on 8080, scripted and echo services, what is forwarded and
 * what is stripped, readiness by requests and by clock, delays on both clocks, every
 * documented error, and the admin API's checks of service definitions. Every answer is
 * checked against the spec by the harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "digest.h"
#include "harness.h"
#include "xmalloc.h"

#define NOBOX "hb_0000000000000000"
#define GO_404 "404 page not found\n"
#define GO_TEXT "text/plain; charset=utf-8"

/* ---- helpers ---------------------------------------------------------------------- */

/* The operation id the spec gives the proxy for method. */
static const char *op_of(const char *method)
{
    static const char *const ops[][2] = {
        { "GET", "proxyHogbox" }, { "PUT", "proxyHogboxPut" }, { "POST", "proxyHogboxPost" },
        { "DELETE", "proxyHogboxDelete" }, { "PATCH", "proxyHogboxPatch" },
        { "HEAD", "proxyHogboxHead" }, { "OPTIONS", "proxyHogboxOptions" },
    };
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i][0], method) == 0)
            return ops[i][1];
    fail_msg("no proxy operation for %s", method);
    return NULL;
}

/* method /v1/hogboxes/BOX/proxy/REST with body (or NULL) and extra headers, checked against
 * the spec (a HEAD answer has no body to check, so only its X-Request-Id is). */
static void proxy_call(struct mock *m, const char *method, const char *box, const char *rest,
                       const char *token, const char *body, const char *const *extra,
                       struct resp *r)
{
    struct buf target = BUF_INIT;

    buf_addf(&target, "/v1/hogboxes/%s/proxy/%s", box, rest);
    mock_call(m, method, buf_cstr(&target), token, body, body ? strlen(body) : 0, extra, r);
    if (strcmp(method, "HEAD") == 0)
        assert_non_null(resp_header(r, "X-Request-Id"));
    else
        mock_check(m, op_of(method), r);
    buf_release(&target);
}

/* GET as alice, expecting status. */
static void proxy_get(struct mock *m, const char *box, const char *rest, long status,
                      struct resp *r)
{
    proxy_call(m, "GET", box, rest, "tok_alice", NULL, NULL, r);
    if (r->status != status)
        fail_msg("GET %s/proxy/%s: status %ld, expected %ld: %s", box, rest, r->status, status,
                 buf_cstr(&r->body));
}

static void set_service(struct mock *m, const char *json)
{
    struct resp r;

    mock_expect(m, "adminSetService", 200, "PUT", "/__hogmock/services", NULL, json, &r);
    resp_release(&r);
}

static void clear_services(struct mock *m)
{
    struct resp r;

    mock_expect(m, "adminClearServices", 204, "DELETE", "/__hogmock/services", NULL, NULL, &r);
    resp_release(&r);
}

static void advance_clock(struct mock *m, long ms)
{
    char body[64];
    struct resp r;

    snprintf(body, sizeof(body), "{\"ms\":%ld}", ms);
    mock_expect(m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL, body,
                &r);
    resp_release(&r);
}

/* A service definition for every box (new string; free). */
static char *service_json(int port, const char *path, const char *more)
{
    struct buf b = BUF_INIT;

    buf_addf(&b, "{\"box\":\"*\",\"port\":%d,\"path\":\"%s\"%s%s}", port, path,
             more && *more ? "," : "", more ? more : "");
    return buf_detach(&b, NULL);
}

static void set_star(struct mock *m, int port, const char *path, const char *more)
{
    char *json = service_json(port, path, more);

    set_service(m, json);
    free(json);
}

/* How many times a response header came. */
static int header_count(const struct resp *r, const char *name)
{
    const char *p = buf_cstr(&r->headers);
    size_t n = strlen(name);
    int count = 0;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            count++;
    }
    return count;
}

static void expect_body(const struct resp *r, const char *want)
{
    if (r->body.len != strlen(want) || memcmp(buf_cstr(&r->body), want, r->body.len) != 0)
        fail_msg("body '%s', expected '%s'", buf_cstr(&r->body), want);
}

/* The agent server's own 404, not a hogplane problem. */
static void expect_go_404(const struct resp *r)
{
    assert_int_equal(r->status, 404);
    assert_string_equal(resp_header(r, "Content-Type"), GO_TEXT);
    assert_string_equal(resp_header(r, "X-Content-Type-Options"), "nosniff");
    expect_body(r, GO_404);
    assert_null(r->json);
}

/* A 502 upstream_unavailable whose detail contains want. */
static void expect_upstream(const struct resp *r, const char *want)
{
    assert_int_equal(r->status, 502);
    mock_check_problem(r, "upstream_unavailable");
    if (!strstr(resp_str(r, "detail"), want))
        fail_msg("detail '%s' does not say '%s'", resp_str(r, "detail"), want);
}

static const char *echo_str(const struct resp *r, const char *key)
{
    const char *v = resp_str(r, key);

    if (!v)
        fail_msg("the echo has no '%s': %s", key, buf_cstr(&r->body));
    return v;
}

/* A header as the echo service received it (lower-case name), or NULL. */
static const char *echo_header(const struct resp *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r->json, "headers"), name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The echo's body digest matches body (NULL: none). */
static void expect_echo_body(const struct resp *r, const char *body)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(r->json, "body");
    size_t len = body ? strlen(body) : 0;
    char hex[2 * DIGEST_SHA256_LEN + 1];

    digest_sha256_hex(body, len, hex);
    assert_true(cJSON_IsObject(b));
    assert_int_equal((long)cJSON_GetObjectItem(b, "size")->valuedouble, (long)len);
    assert_string_equal(cJSON_GetObjectItem(b, "sha256")->valuestring, hex);
}

/* ---- the agent server on 8080 ------------------------------------------------------- */

static void test_proxy_health_answers_once_the_box_is_running(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;
    char *box;

    (void)state;
    mock_default_config(&cfg);
    cfg.boot_ms = 2000;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");
    proxy_get(m, box, "8080/health", 409, &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "creating"));
    resp_release(&r);

    advance_clock(m, 2000);
    proxy_get(m, box, "8080/health", 200, &r);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
    expect_body(&r, "{\"status\":\"ok\"}");
    assert_string_equal(resp_str(&r, "status"), "ok");
    resp_release(&r);
    free(box);
    mock_stop(m);
}

static void test_proxy_other_agent_paths_get_the_agent_servers_own_404(void **state)
{
    static const char *const rests[] = {
        "8080", "8080/", "8080/nope", "8080/health/deeper", "8080/healthz", "8080/api/v1/x",
        "8080/Health",
    };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;
    size_t i;

    clear_services(m);
    for (i = 0; i < sizeof(rests) / sizeof(rests[0]); i++) {
        proxy_get(m, box, rests[i], 404, &r);
        expect_go_404(&r);
        assert_null(strstr(buf_cstr(&r.body), "hogbox_not_found"));
        resp_release(&r);
    }
    /* A query does not change the path. */
    proxy_get(m, box, "8080/health?verbose=1", 200, &r);
    resp_release(&r);
    free(box);
}

static void test_proxy_to_a_port_where_nothing_listens_is_502(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct buf want = BUF_INIT;
    struct resp r;

    clear_services(m);
    buf_addf(&want, "Nothing is listening on port 9000 in hogbox %s", box);
    proxy_get(m, box, "9000/anything", 502, &r);
    expect_upstream(&r, buf_cstr(&want));
    resp_release(&r);
    proxy_call(m, "POST", box, "9000/", "tok_alice", "x", NULL, &r);
    expect_upstream(&r, buf_cstr(&want));
    resp_release(&r);
    /* A service for another box listens only there. */
    set_service(m, "{\"box\":\"hb_someoneelse0000\",\"port\":9000}");
    proxy_get(m, box, "9000/", 502, &r);
    expect_upstream(&r, buf_cstr(&want));
    resp_release(&r);
    buf_release(&want);
    free(box);
}

/* ---- hogplane's own errors ---------------------------------------------------------- */

static void test_proxy_needs_a_running_box(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct buf target = BUF_INIT;
    struct resp r;

    buf_addf(&target, "/v1/hogboxes/%s/pause", box);
    mock_expect(m, "pauseHogbox", 200, "POST", buf_cstr(&target), "tok_alice", NULL, &r);
    resp_release(&r);
    proxy_get(m, box, "8080/health", 409, &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "paused"));
    resp_release(&r);
    proxy_call(m, "PUT", box, "8080/x", "tok_alice", "body", NULL, &r);
    assert_int_equal(r.status, 409);
    mock_check_problem(&r, "invalid_state");
    resp_release(&r);

    buf_reset(&target);
    buf_addf(&target, "/v1/hogboxes/%s/resume", box);
    mock_expect(m, "resumeHogbox", 200, "POST", buf_cstr(&target), "tok_alice", NULL, &r);
    resp_release(&r);
    proxy_get(m, box, "8080/health", 200, &r);
    resp_release(&r);
    buf_release(&target);
    free(box);
}

static void test_proxy_to_an_unknown_or_foreign_box_is_404(void **state)
{
    struct mock *m = *state;
    char *bobs = mock_new_box(m, "tok_bob"), *mine = mock_new_box(m, "tok_alice");
    struct buf target = BUF_INIT;
    struct resp r;

    proxy_get(m, NOBOX, "8080/health", 404, &r);
    mock_check_problem(&r, "hogbox_not_found");
    resp_release(&r);
    proxy_get(m, bobs, "8080/health", 404, &r);
    mock_check_problem(&r, "hogbox_not_found");
    resp_release(&r);
    proxy_call(m, "GET", bobs, "8080/health", "tok_bob", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);

    buf_addf(&target, "/v1/hogboxes/%s", mine);
    mock_expect(m, "destroyHogbox", 204, "DELETE", buf_cstr(&target), "tok_alice", NULL, &r);
    resp_release(&r);
    proxy_get(m, mine, "8080/health", 404, &r);
    mock_check_problem(&r, "hogbox_not_found");
    resp_release(&r);
    buf_release(&target);
    free(bobs);
    free(mine);
}

static void test_proxy_refuses_ports_outside_1_to_65535(void **state)
{
    static const char *const ports[] = { "0", "65536", "-1", "http", "80.5", "99999999999" };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        struct buf rest = BUF_INIT;

        buf_addf(&rest, "%s/health", ports[i]);
        proxy_get(m, box, buf_cstr(&rest), 400, &r);
        mock_check_problem(&r, "invalid_parameter");
        resp_release(&r);
        buf_release(&rest);
    }
    proxy_get(m, box, "65535/", 502, &r);
    resp_release(&r);
    proxy_get(m, box, "1/", 502, &r);
    resp_release(&r);
    free(box);
}

static void test_proxy_needs_a_valid_token(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    proxy_call(m, "GET", box, "8080/health", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    mock_check_problem(&r, "invalid_token");
    assert_non_null(resp_header(&r, "WWW-Authenticate"));
    resp_release(&r);
    proxy_call(m, "POST", box, "8080/health", "tok_nobody", "x", NULL, &r);
    assert_int_equal(r.status, 401);
    mock_check_problem(&r, "invalid_token");
    assert_non_null(resp_header(&r, "WWW-Authenticate"));
    resp_release(&r);
    free(box);
}

/* ---- what the service receives ---------------------------------------------------- */

static void test_proxy_forwards_every_method_to_an_echo_service(void **state)
{
    static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS" };
    static const char *const extra[] = { "X-Trace-Id: 4bf92f3577b34da6", NULL };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    size_t get_len = 0, i;
    struct resp r;

    clear_services(m);
    set_star(m, 3000, "/", "\"echo\":true");
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const char *method = methods[i];
        bool has_body = strcmp(method, "GET") != 0 && strcmp(method, "OPTIONS") != 0;
        const char *body = has_body ? "{\"name\":\"hog\"}" : NULL;

        proxy_call(m, method, box, "3000/api/items?dry_run=1", "tok_alice", body, extra, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
        assert_string_equal(echo_str(&r, "method"), method);
        assert_string_equal(echo_str(&r, "path"), "/api/items");
        assert_string_equal(echo_str(&r, "query"), "dry_run=1");
        assert_string_equal(echo_header(&r, "x-trace-id"), "4bf92f3577b34da6");
        assert_null(echo_header(&r, "authorization"));
        expect_echo_body(&r, body);
        if (has_body)
            assert_string_equal(echo_header(&r, "content-length"), "14");
        else
            assert_null(echo_header(&r, "content-length"));
        if (strcmp(method, "GET") == 0)
            get_len = r.body.len;
        resp_release(&r);
    }
    /* HEAD: the server sends no body, but Content-Length tells the echo's size, which is
     * GET's plus one for the longer method name: the service saw HEAD and the same rest. */
    proxy_call(m, "HEAD", box, "3000/api/items?dry_run=1", "tok_alice", NULL, extra, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
    assert_int_equal(atol(resp_header(&r, "Content-Length")), (long)get_len + 1);
    resp_release(&r);
    free(box);
}

static void test_proxy_forwards_the_path_and_query_as_received(void **state)
{
    static const struct {
        const char *rest, *path, *query;
    } cases[] = {
        { "3000", "/", "" },
        { "3000/", "/", "" },
        { "3000?x=1", "/", "x=1" },
        { "3000/a/b/c/d", "/a/b/c/d", "" },
        { "3000/a/b/", "/a/b/", "" },
        { "3000/files/my%20doc%2Fv2.txt", "/files/my%20doc%2Fv2.txt", "" },
        { "3000/%7Euser/caf%C3%A9", "/%7Euser/caf%C3%A9", "" },
        { "3000/a//b", "/a//b", "" },
        { "3000/search?q=a%20b&q=c+d&flag&empty=", "/search", "q=a%20b&q=c+d&flag&empty=" },
    };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;
    size_t i;

    clear_services(m);
    set_star(m, 3000, "/", "\"echo\":true");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proxy_get(m, box, cases[i].rest, 200, &r);
        if (strcmp(echo_str(&r, "path"), cases[i].path) != 0
            || strcmp(echo_str(&r, "query"), cases[i].query) != 0)
            fail_msg("%s: the service saw %s", cases[i].rest, buf_cstr(&r.body));
        resp_release(&r);
    }
    free(box);
}

static void test_proxy_strips_the_credential_and_hop_by_hop_headers(void **state)
{
    static const char *const extra[] = {
        "Content-Type: application/json",
        "X-Custom: kept",
        "X-Multi: one",
        "X-Multi: two",
        "Accept: application/json",
        "Connection: keep-alive, X-Hop-Named",
        "X-Hop-Named: dropped",
        "Keep-Alive: timeout=5",
        "TE: trailers",
        "Trailer: X-Tail",
        "Upgrade: websocket",
        "Proxy-Authorization: Basic dXNlcjpwYXNz",
        "Proxy-Connection: keep-alive",
        "Transfer-Encoding: chunked",
        NULL,
    };
    static const char *const gone[] = {
        "authorization", "connection", "x-hop-named", "keep-alive", "te", "trailer",
        "upgrade", "proxy-authorization", "proxy-connection", "transfer-encoding", NULL,
    };
    const char *body = "{\"name\":\"hog\",\"size\":3}";
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    const char *const *g;
    char host[32];
    struct resp r;

    clear_services(m);
    set_star(m, 3000, "/", "\"echo\":true");
    proxy_call(m, "POST", box, "3000/submit", "tok_alice", body, extra, &r);
    assert_int_equal(r.status, 200);
    for (g = gone; *g; g++)
        if (echo_header(&r, *g))
            fail_msg("the service saw %s: %s", *g, buf_cstr(&r.body));
    assert_null(strstr(buf_cstr(&r.body), "tok_alice"));
    assert_string_equal(echo_header(&r, "x-custom"), "kept");
    assert_string_equal(echo_header(&r, "x-multi"), "one, two");
    assert_string_equal(echo_header(&r, "accept"), "application/json");
    assert_string_equal(echo_header(&r, "content-type"), "application/json");
    /* Host and Content-Length are the proxy's own, the body having arrived chunked. */
    snprintf(host, sizeof(host), "localhost:%d", 3000);
    assert_string_equal(echo_header(&r, "host"), host);
    assert_string_equal(echo_header(&r, "content-length"), "23");
    expect_echo_body(&r, body);
    resp_release(&r);
    free(box);
}

/* ---- what the client receives ----------------------------------------------------- */

static void test_proxy_passes_the_service_status_headers_and_body_through(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    const char *rid;
    struct resp r;

    clear_services(m);
    set_star(m, 3000, "/items", "\"status\":201,\"headers\":{\"Content-Type\":"
             "\"application/json\",\"Location\":\"/items/42\",\"Set-Cookie\":\"sid=1; HttpOnly\","
             "\"Cache-Control\":\"no-store\",\"Connection\":\"X-Secret\",\"X-Secret\":\"s\","
             "\"Keep-Alive\":\"timeout=5\",\"Transfer-Encoding\":\"chunked\","
             "\"Content-Length\":\"999\",\"X-Request-Id\":\"svc-1\"},"
             "\"body\":\"{\\\"id\\\":42}\"");
    set_star(m, 3000, "/teapot", "\"status\":418,\"body\":\"I'm a teapot\\n\"");
    set_star(m, 3000, "/empty", "\"status\":204,\"body\":\"dropped\"");
    set_star(m, 3000, "/moved", "\"status\":302,\"headers\":{\"Location\":\"/new\"}");
    set_star(m, 3000, "/early", "\"status\":103,\"body\":\"never\"");

    proxy_call(m, "POST", box, "3000/items", "tok_alice", "x", NULL, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
    assert_string_equal(resp_header(&r, "Location"), "/items/42");
    assert_string_equal(resp_header(&r, "Set-Cookie"), "sid=1; HttpOnly");
    assert_string_equal(resp_header(&r, "Cache-Control"), "no-store");
    assert_string_equal(resp_header(&r, "Content-Length"), "9");
    assert_null(resp_header(&r, "X-Secret"));
    assert_null(resp_header(&r, "Keep-Alive"));
    assert_null(resp_header(&r, "Transfer-Encoding"));
    rid = resp_header(&r, "X-Request-Id");
    assert_true(strncmp(rid, "req_", 4) == 0);
    assert_int_equal(header_count(&r, "X-Request-Id"), 1);
    assert_int_equal(header_count(&r, "Content-Type"), 1);
    expect_body(&r, "{\"id\":42}");
    resp_release(&r);

    /* A status the spec lists under default, and a body without a type: sniffed as text. */
    proxy_get(m, box, "3000/teapot", 418, &r);
    assert_string_equal(resp_header(&r, "Content-Type"), GO_TEXT);
    expect_body(&r, "I'm a teapot\n");
    resp_release(&r);
    proxy_get(m, box, "3000/empty", 204, &r);
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
    proxy_get(m, box, "3000/moved", 302, &r);
    assert_string_equal(resp_header(&r, "Location"), "/new");
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
    /* An interim status alone is no answer. */
    proxy_get(m, box, "3000/early", 502, &r);
    expect_upstream(&r, "answered only the interim status 103");
    resp_release(&r);
    /* A port with a service answers paths that no definition covers with its own 404. */
    proxy_get(m, box, "3000/elsewhere", 404, &r);
    expect_go_404(&r);
    resp_release(&r);
    free(box);
}

static void test_proxy_prefers_the_boxs_own_service_then_the_longest_prefix(void **state)
{
    struct mock *m = *state;
    char *mine = mock_new_box(m, "tok_alice"), *other = mock_new_box(m, "tok_alice");
    struct buf json = BUF_INIT;
    struct resp r;

    clear_services(m);
    set_star(m, 3000, "/", "\"body\":\"star root\"");
    set_star(m, 3000, "/api", "\"body\":\"star api\"");
    set_star(m, 3000, "/api/v2/", "\"body\":\"star v2\"");
    buf_addf(&json, "{\"box\":\"%s\",\"port\":3000,\"body\":\"mine root\"}", mine);
    set_service(m, buf_cstr(&json));
    buf_reset(&json);
    buf_addf(&json, "{\"box\":\"%s\",\"port\":3000,\"path\":\"/api/v1\",\"body\":\"mine v1\"}",
             mine);
    set_service(m, buf_cstr(&json));
    /* For 8080 a definition beats the agent server's /health, for one box only. */
    buf_reset(&json);
    buf_addf(&json, "{\"box\":\"%s\",\"port\":8080,\"path\":\"/health\",\"status\":503,"
             "\"body\":\"down\"}", mine);
    set_service(m, buf_cstr(&json));

    proxy_get(m, other, "3000/", 200, &r);
    expect_body(&r, "star root");
    resp_release(&r);
    proxy_get(m, other, "3000/api", 200, &r);
    expect_body(&r, "star api");
    resp_release(&r);
    proxy_get(m, other, "3000/api/v1/x?y=1", 200, &r);
    expect_body(&r, "star api");
    resp_release(&r);
    proxy_get(m, other, "3000/apix", 200, &r);
    expect_body(&r, "star root");
    resp_release(&r);
    proxy_get(m, other, "3000/api/v2/items", 200, &r);
    expect_body(&r, "star v2");
    resp_release(&r);
    /* A prefix ending in a slash does not cover the path without it. */
    proxy_get(m, other, "3000/api/v2", 200, &r);
    expect_body(&r, "star api");
    resp_release(&r);

    /* The box's own definitions beat "*" even with a shorter prefix. */
    proxy_get(m, mine, "3000/api", 200, &r);
    expect_body(&r, "mine root");
    resp_release(&r);
    proxy_get(m, mine, "3000/api/v2/items", 200, &r);
    expect_body(&r, "mine root");
    resp_release(&r);
    proxy_get(m, mine, "3000/api/v1/items", 200, &r);
    expect_body(&r, "mine v1");
    resp_release(&r);

    proxy_get(m, mine, "8080/health", 503, &r);
    expect_body(&r, "down");
    resp_release(&r);
    proxy_get(m, other, "8080/health", 200, &r);
    expect_body(&r, "{\"status\":\"ok\"}");
    resp_release(&r);
    buf_release(&json);
    free(mine);
    free(other);
}

/* ---- readiness -------------------------------------------------------------------- */

/* GET box/rest expecting the default not-ready answer: 502 "... is starting". */
static void expect_starting(struct mock *m, const char *box, const char *rest)
{
    struct resp r;

    proxy_get(m, box, rest, 502, &r);
    expect_upstream(&r, "is starting");
    resp_release(&r);
}

static void expect_answer(struct mock *m, const char *box, const char *rest, long status,
                          const char *body)
{
    struct resp r;

    proxy_get(m, box, rest, status, &r);
    expect_body(&r, body);
    if (!*body)
        assert_null(resp_header(&r, "Content-Type"));
    else
        assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
    resp_release(&r);
}

static void test_proxy_ready_after_requests_counts_per_box(void **state)
{
    struct mock *m = *state;
    char *a = mock_new_box(m, "tok_alice"), *b = mock_new_box(m, "tok_alice");
    const char *ready = "\"headers\":{\"Content-Type\":\"application/json\"},"
                        "\"body\":\"{\\\"ok\\\":true}\",\"ready_after_requests\":2";
    char *more;
    struct resp r;

    clear_services(m);
    set_star(m, 5000, "/", ready);
    expect_starting(m, a, "5000/");
    expect_starting(m, a, "5000/x");
    expect_answer(m, a, "5000/", 200, "{\"ok\":true}");
    expect_answer(m, a, "5000/", 200, "{\"ok\":true}");
    /* Another box counts its own requests. */
    expect_starting(m, b, "5000/");
    expect_starting(m, b, "5000/");
    expect_answer(m, b, "5000/", 200, "{\"ok\":true}");
    /* hogplane's refusals never reach the service and do not count. */
    proxy_call(m, "GET", a, "5000/", "tok_bob", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_release(&r);

    /* Setting it again starts over; starting_status makes the service answer itself. */
    more = xmalloc(strlen(ready) + 64);
    sprintf(more, "%s,\"starting_status\":503", ready);
    set_star(m, 5000, "/", more);
    expect_answer(m, a, "5000/", 503, "");
    proxy_call(m, "GET", a, "5000/", "tok_alice", NULL, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_null(r.json);
    assert_null(resp_header(&r, "Retry-After"));
    resp_release(&r);
    expect_answer(m, a, "5000/", 200, "{\"ok\":true}");
    free(more);
    free(a);
    free(b);
}

static void test_proxy_ready_after_ms_follows_the_clock(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");

    clear_services(m);
    set_star(m, 5001, "/", "\"headers\":{\"Content-Type\":\"application/json\"},"
             "\"body\":\"{}\",\"ready_after_ms\":5000");
    set_star(m, 5002, "/healthz", "\"headers\":{\"Content-Type\":\"application/json\"},"
             "\"body\":\"{}\",\"ready_after_ms\":5000,\"starting_status\":503");
    expect_starting(m, box, "5001/");
    expect_answer(m, box, "5002/healthz", 503, "");
    advance_clock(m, 4999);
    expect_starting(m, box, "5001/");
    expect_answer(m, box, "5002/healthz", 503, "");
    advance_clock(m, 1);
    expect_answer(m, box, "5001/", 200, "{}");
    expect_answer(m, box, "5002/healthz", 200, "{}");

    /* With both rules, the service is ready once both hold. */
    set_star(m, 5003, "/", "\"headers\":{\"Content-Type\":\"application/json\"},"
             "\"body\":\"{}\",\"ready_after_ms\":1000,\"ready_after_requests\":1,"
             "\"starting_status\":503");
    advance_clock(m, 1000);
    expect_answer(m, box, "5003/", 503, "");
    expect_answer(m, box, "5003/", 200, "{}");
    free(box);
}

/* ---- delays ----------------------------------------------------------------------- */

static void test_proxy_delay_takes_no_time_on_a_virtual_clock(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct timespec t0;
    struct resp r;

    clear_services(m);
    set_star(m, 3000, "/", "\"delay_ms\":600000,\"body\":\"late\"");
    set_star(m, 3001, "/", "\"delay_ms\":600000,\"ready_after_requests\":1,"
             "\"starting_status\":503");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    proxy_get(m, box, "3000/", 200, &r);
    expect_body(&r, "late");
    resp_release(&r);
    proxy_get(m, box, "3001/", 503, &r);
    resp_release(&r);
    /* Ten minutes of delay each, answered at once. */
    assert_true(mock_ms_since(&t0) < 30000);
    free(box);
}

static void test_proxy_delay_waits_on_a_real_clock(void **state)
{
    struct hogmock_config cfg;
    struct timespec t0;
    struct mock *m;
    struct resp r;
    char *box;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");
    set_star(m, 3000, "/", "\"delay_ms\":300,\"echo\":true");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    proxy_call(m, "PUT", box, "3000/slow", "tok_alice", "data", NULL, &r);
    assert_true(mock_ms_since(&t0) >= 200);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_str(&r, "path"), "/slow");
    expect_echo_body(&r, "data");
    resp_release(&r);
    /* A real-clock hogmock counts ready_after_ms in real time too. */
    set_star(m, 3001, "/", "\"ready_after_ms\":3600000");
    proxy_get(m, box, "3001/", 502, &r);
    expect_upstream(&r, "is starting");
    resp_release(&r);
    free(box);
    mock_stop(m);
}

/* ---- the admin API ---------------------------------------------------------------- */

static void test_proxy_admin_stores_every_service_member(void **state)
{
    struct mock *m = *state;
    const cJSON *s;
    struct resp r;

    clear_services(m);
    s = mock_expect(m, "adminSetService", 200, "PUT", "/__hogmock/services", NULL,
                    "{\"box\":\"*\",\"port\":3000}", &r);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(s, "echo")));
    assert_int_equal(cJSON_GetObjectItem(s, "ready_after_requests")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(s, "ready_after_ms")->valueint, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "starting_status")));
    resp_release(&r);
    s = mock_expect(m, "adminSetServicePost", 200, "POST", "/__hogmock/services", NULL,
                    "{\"box\":\"*\",\"port\":3001,\"echo\":true,\"ready_after_requests\":3,"
                    "\"ready_after_ms\":2000,\"starting_status\":503}", &r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s, "echo")));
    assert_int_equal(cJSON_GetObjectItem(s, "ready_after_requests")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(s, "ready_after_ms")->valueint, 2000);
    assert_int_equal(cJSON_GetObjectItem(s, "starting_status")->valueint, 503);
    resp_release(&r);
    s = mock_expect(m, "adminSetService", 200, "PUT", "/__hogmock/services", NULL,
                    "{\"box\":\"*\",\"port\":3002,\"starting_status\":null}", &r);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "starting_status")));
    resp_release(&r);
    s = mock_expect(m, "adminListServices", 200, "GET", "/__hogmock/services", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "items")), 3);
    resp_release(&r);
    clear_services(m);
}

static void test_proxy_admin_refuses_bad_service_fields(void **state)
{
    static const struct {
        const char *more;
        long status;
        const char *pointer;
    } cases[] = {
        { "\"echo\":\"yes\"", 422, "/echo" },
        { "\"echo\":1", 422, "/echo" },
        { "\"echo\":true,\"body\":\"mine\"", 422, "/body" },
        { "\"ready_after_requests\":-1", 422, "/ready_after_requests" },
        { "\"ready_after_requests\":1.5", 422, "/ready_after_requests" },
        { "\"ready_after_requests\":\"3\"", 422, "/ready_after_requests" },
        { "\"ready_after_requests\":1000001", 422, "/ready_after_requests" },
        { "\"ready_after_ms\":-1", 422, "/ready_after_ms" },
        { "\"ready_after_ms\":3600001", 422, "/ready_after_ms" },
        { "\"ready_after_ms\":null", 422, "/ready_after_ms" },
        { "\"starting_status\":99", 422, "/starting_status" },
        { "\"starting_status\":600", 422, "/starting_status" },
        { "\"starting_status\":\"503\"", 422, "/starting_status" },
        { "\"starting_status\":503.5", 422, "/starting_status" },
        { "\"ready_after_ms\":", 400, NULL },
        { "\"echo\":tru", 400, NULL },
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    clear_services(m);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *json = service_json(3000, "/", cases[i].more);
        const cJSON *errs, *e;
        bool named = false;

        mock_json(m, "PUT", "/__hogmock/services", NULL, json, &r);
        if (r.status != cases[i].status)
            fail_msg("%s: status %ld, expected %ld: %s", json, r.status, cases[i].status,
                     buf_cstr(&r.body));
        mock_check(m, "adminSetService", &r);
        mock_check_problem(&r, cases[i].status == 400 ? "malformed_json" : "validation_failed");
        errs = cJSON_GetObjectItem(r.json, "errors");
        cJSON_ArrayForEach(e, errs) {
            const cJSON *p = cJSON_GetObjectItem(e, "pointer");

            if (cases[i].pointer && cJSON_IsString(p)
                && strcmp(p->valuestring, cases[i].pointer) == 0)
                named = true;
        }
        if (cases[i].pointer && !named)
            fail_msg("%s: no error points at %s: %s", json, cases[i].pointer,
                     buf_cstr(&r.body));
        resp_release(&r);
        free(json);
    }
    mock_expect(m, "adminListServices", 200, "GET", "/__hogmock/services", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0);
    resp_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_health_answers_once_the_box_is_running),
        cmocka_unit_test(test_proxy_other_agent_paths_get_the_agent_servers_own_404),
        cmocka_unit_test(test_proxy_to_a_port_where_nothing_listens_is_502),
        cmocka_unit_test(test_proxy_needs_a_running_box),
        cmocka_unit_test(test_proxy_to_an_unknown_or_foreign_box_is_404),
        cmocka_unit_test(test_proxy_refuses_ports_outside_1_to_65535),
        cmocka_unit_test(test_proxy_needs_a_valid_token),
        cmocka_unit_test(test_proxy_forwards_every_method_to_an_echo_service),
        cmocka_unit_test(test_proxy_forwards_the_path_and_query_as_received),
        cmocka_unit_test(test_proxy_strips_the_credential_and_hop_by_hop_headers),
        cmocka_unit_test(test_proxy_passes_the_service_status_headers_and_body_through),
        cmocka_unit_test(test_proxy_prefers_the_boxs_own_service_then_the_longest_prefix),
        cmocka_unit_test(test_proxy_ready_after_requests_counts_per_box),
        cmocka_unit_test(test_proxy_ready_after_ms_follows_the_clock),
        cmocka_unit_test(test_proxy_delay_takes_no_time_on_a_virtual_clock),
        cmocka_unit_test(test_proxy_delay_waits_on_a_real_clock),
        cmocka_unit_test(test_proxy_admin_stores_every_service_member),
        cmocka_unit_test(test_proxy_admin_refuses_bad_service_fields),
    };

    return cmocka_run_group_tests_name("proxy", tests, mock_setup, mock_teardown);
}
