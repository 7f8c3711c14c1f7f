/* Integration tests for fault plans over a real socket: the admin API and bad plans, every
 * match rule, nth/times/probability with a seed (reproducible), phases before and
 * after_commit, each action as the client sees it (libcurl's error, bytes, timings) and as
 * the journal records it, plans from files, 1000 faulted connections in flat memory, and a
 * stop that wakes every parked connection. Streams: test_faults_stream.c. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#include "bundle.h"
#include "harness.h"
#include "server.h"
#include "xmalloc.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* One exchange that may fail at the transport level. */
struct call {
    CURLcode rc;
    struct resp r;              /* status, headers and the body bytes received */
    long ms;                    /* the whole exchange */
    long first_byte_ms;         /* the first body byte; -1 when none came */
    struct timespec t0;
};

static size_t call_body(char *data, size_t size, size_t n, void *ctx)
{
    struct call *c = ctx;

    if (c->first_byte_ms < 0)
        c->first_byte_ms = mock_ms_since(&c->t0);
    buf_add(&c->r.body, data, size * n);
    return size * n;
}

static size_t call_head(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, data, size * n);
    return size * n;
}

/* Set up a request on a new connection (not run): a JSON body when json is given; extra
 * is NULL or NULL-terminated raw header lines. */
static CURL *call_prepare(struct mock *m, const char *method, const char *target,
                          const char *token, const char *json, const char *const *extra,
                          long timeout_ms, struct curl_slist **hdrs, struct buf *url,
                          struct call *out)
{
    CURL *c = curl_easy_init();
    char line[160];

    memset(out, 0, sizeof(*out));
    out->first_byte_ms = -1;
    buf_addf(url, "%s%s", m->url, target);
    curl_easy_setopt(c, CURLOPT_URL, buf_cstr(url));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (json) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        *hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
    }
    if (token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    for (; extra && *extra; extra++)
        *hdrs = curl_slist_append(*hdrs, *extra);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, call_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, call_head);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->r.headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    clock_gettime(CLOCK_MONOTONIC, &out->t0);
    return c;
}

static void call_finish(CURL *c, struct call *out)
{
    const char *ctype;

    out->ms = mock_ms_since(&out->t0);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->r.status);
    ctype = resp_header(&out->r, "Content-Type");
    if (ctype && strstr(ctype, "json") && out->r.body.len)
        out->r.json = cJSON_ParseWithLength(out->r.body.data, out->r.body.len);
}

static void call_do(struct mock *m, const char *method, const char *target, const char *token,
                    const char *json, const char *const *extra, long timeout_ms,
                    struct call *out)
{
    struct curl_slist *hdrs = NULL;
    struct buf url = BUF_INIT;
    CURL *c = call_prepare(m, method, target, token, json, extra, timeout_ms, &hdrs, &url, out);

    out->rc = curl_easy_perform(c);
    call_finish(c, out);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    buf_release(&url);
}

static void call_release(struct call *c)
{
    resp_release(&c->r);
}

static void get_me(struct mock *m, const char *token, struct call *out)
{
    call_do(m, "GET", "/v1/me", token, NULL, NULL, 10000, out);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v))
        fail_msg("no number '%s'", name);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Add a plan (checked against the admin spec); its id into id. */
static void add_plan(struct mock *m, const char *json, char *id, size_t size)
{
    struct resp r;

    mock_json(m, "POST", "/__hogmock/faults", NULL, json, &r);
    if (r.status != 201)
        fail_msg("fault plan %s: %ld %s", json, r.status, buf_cstr(&r.body));
    mock_check(m, "adminAddFault", &r);
    if (id)
        snprintf(id, size, "%s", resp_str(&r, "id"));
    resp_release(&r);
}

static void clear_plans(struct mock *m)
{
    struct resp r;

    mock_call(m, "DELETE", "/__hogmock/faults", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_release(&r);
}

/* The listed plan id, a new object. */
static cJSON *plan_get(struct mock *m, const char *id)
{
    struct resp r;
    const cJSON *p;
    cJSON *found = NULL;

    mock_expect(m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
        if (strcmp(str(p, "id"), id) == 0)
            found = cJSON_Duplicate(p, 1);
    resp_release(&r);
    if (!found)
        fail_msg("no plan %s in the list", id);
    return found;
}

static void expect_counts(struct mock *m, const char *id, double matched, double hits,
                          bool expired)
{
    cJSON *p = plan_get(m, id);

    if (num(p, "matched") != matched || num(p, "hits") != hits
        || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "expired")) != expired)
        fail_msg("plan %s: matched %g hits %g expired %d, expected %g %g %d", id,
                 num(p, "matched"), num(p, "hits"),
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "expired")), matched, hits,
                 expired);
    cJSON_Delete(p);
}

/* The newest journal entry of op, a new object (waits up to 2 s for one after seq since). */
static cJSON *last_entry(struct mock *m, const char *op)
{
    char target[160];
    int i;

    snprintf(target, sizeof(target), "/__hogmock/journal?op=%s&limit=1000", op);
    for (i = 0; i < 200; i++) {
        struct resp r;
        const cJSON *items;
        cJSON *e = NULL;

        mock_expect(m, "adminJournal", 200, "GET", target, NULL, NULL, &r);
        items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
        if (cJSON_GetArraySize(items) > 0)
            e = cJSON_Duplicate(cJSON_GetArrayItem(items, cJSON_GetArraySize(items) - 1), 1);
        resp_release(&r);
        if (e)
            return e;
        mock_pause_ms(10);
    }
    fail_msg("no journal entry of %s", op);
    return NULL;
}

/* The journal's fault and status of the newest entry of op. */
static void expect_journal(struct mock *m, const char *op, const char *fault_prefix, long status)
{
    cJSON *e = last_entry(m, op);
    const char *f = str(e, "fault");

    if (fault_prefix ? !f || strncmp(f, fault_prefix, strlen(fault_prefix)) != 0 : f != NULL)
        fail_msg("%s: the journal's fault is '%s', expected '%s'", op, f ? f : "null",
                 fault_prefix ? fault_prefix : "null");
    if (num(e, "status") != status)
        fail_msg("%s: the journal's status is %g, expected %ld", op, num(e, "status"), status);
    cJSON_Delete(e);
}

/* "flt_3:reset" from the id and the action. */
static const char *label(const char *id, const char *action)
{
    static char out[64];

    snprintf(out, sizeof(out), "%s:%s", id, action);
    return out;
}

static struct mock *real_clock_mock(void)
{
    struct hogmock_config cfg;

    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    return mock_start(&cfg);
}

static size_t count_boxes(struct mock *m, const char *token)
{
    struct resp r;
    size_t n;

    mock_expect(m, "listHogboxes", 200, "GET", "/v1/hogboxes?limit=100", token, NULL, &r);
    n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items"));
    resp_release(&r);
    return n;
}

static void reset_all(struct mock *m)
{
    struct resp r;

    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL, NULL, &r);
    resp_release(&r);
}

/* ---- the admin API ------------------------------------------------------------------ */

static void test_faults_admin_api_adds_lists_deletes_and_clears(void **state)
{
    struct mock *m = *state;
    char id[32], id2[32], target[64];
    struct resp r;
    struct call c;
    cJSON *p;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"action\":{\"type\":\"status\",\"status\":500}}",
             id, sizeof(id));
    assert_true(strncmp(id, "flt_", 4) == 0);
    p = plan_get(m, id);
    assert_string_equal(str(p, "phase"), "before");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "nth")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "times")));
    assert_true(num(p, "probability") == 1);
    assert_true(num(p, "seed") >= 0);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(p, "action"), "code"),
                        "internal_error");
    cJSON_Delete(p);
    /* A plan that matches every path never touches the admin API. */
    add_plan(m, "{\"match\":{\"path\":\"*\"},\"action\":{\"type\":\"reset\"}}", id2, sizeof(id2));
    mock_expect(m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
    resp_release(&r);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.status, 500);
    mock_check(m, "getMe", &c.r);
    mock_check_problem(&c.r, "internal_error");
    call_release(&c);
    expect_counts(m, id, 1, 1, false);
    expect_counts(m, id2, 1, 0, false);     /* counted, but the older plan faulted the call */

    snprintf(target, sizeof(target), "/__hogmock/faults/%s", id);
    mock_call(m, "DELETE", target, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    mock_check(m, "adminDeleteFault", &r);
    resp_release(&r);
    mock_call(m, "DELETE", target, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    mock_check(m, "adminDeleteFault", &r);
    mock_check_problem(&r, "not_found");
    resp_release(&r);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_RECV_ERROR);
    call_release(&c);
    mock_call(m, "DELETE", "/__hogmock/faults", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    mock_check(m, "adminClearFaults", &r);
    resp_release(&r);
    mock_expect(m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 0);
    resp_release(&r);
    /* After the clear, traffic is normal. */
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    /* A reset of everything forgets the plans too. */
    add_plan(m, "{\"action\":{\"type\":\"empty\"}}", NULL, 0);
    reset_all(m);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
}

static void test_faults_bad_plans_are_422_with_a_pointer(void **state)
{
    static const struct { const char *json, *pointer; } cases[] = {
        { "{\"action\":{\"type\":\"nope\"}}", "/action/type" },
        { "{\"match\":{\"op\":\"getMe\"}}", "/action" },
        { "{\"action\":{\"type\":\"status\"}}", "/action/status" },
        { "{\"action\":{\"type\":\"status\",\"status\":503,\"fraction\":0.5}}",
          "/action/fraction" },
        { "{\"action\":{\"type\":\"status\",\"status\":503,\"body\":\"x\",\"code\":\"c\"}}",
          "/action/code" },
        { "{\"action\":{\"type\":\"status\",\"status\":503,\"retry_after\":\"soon\"}}",
          "/action/retry_after" },
        { "{\"action\":{\"type\":\"status\",\"status\":503,\"headers\":"
          "{\"Content-Length\":\"1\"}}}",
          "/action/headers/Content-Length" },
        { "{\"action\":{\"type\":\"truncate\",\"bytes\":3},\"phase\":\"before\"}", "/phase" },
        { "{\"action\":{\"type\":\"truncate\",\"bytes\":3,\"fraction\":0.5}}", "/action" },
        { "{\"action\":{\"type\":\"delay\"}}", "/action" },
        { "{\"action\":{\"type\":\"delay\",\"uniform\":{\"min\":9,\"max\":3}}}",
          "/action/uniform/max" },
        { "{\"action\":{\"type\":\"rate_limit\",\"limit\":3},\"nth\":2}", "/nth" },
        { "{\"action\":{\"type\":\"rate_limit\"}}", "/action/limit" },
        { "{\"action\":{\"type\":\"sse_duplicate_event\",\"after_event\":0}}",
          "/action/after_event" },
        { "{\"action\":{\"type\":\"sse_no_exit\",\"after_event\":2}}", "/action/after_event" },
        { "{\"match\":{\"header\":{\"name\":\"X-A\",\"regex\":\"((\"}},"
          "\"action\":{\"type\":\"reset\"}}",
          "/match/header/regex" },
        { "{\"match\":{\"path\":\"v1\"},\"action\":{\"type\":\"reset\"}}", "/match/path" },
        { "{\"match\":{\"method\":\"GE T\"},\"action\":{\"type\":\"reset\"}}", "/match/method" },
        { "{\"probability\":1.5,\"action\":{\"type\":\"reset\"}}", "/probability" },
        { "{\"times\":0,\"action\":{\"type\":\"reset\"}}", "/times" },
        { "{\"id\":\"flt_9\",\"action\":{\"type\":\"reset\"}}", "/id" },
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    clear_plans(m);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cJSON *errors, *e;

        mock_json(m, "POST", "/__hogmock/faults", NULL, cases[i].json, &r);
        if (r.status != 422)
            fail_msg("%s: status %ld, expected 422: %s", cases[i].json, r.status,
                     buf_cstr(&r.body));
        mock_check(m, "adminAddFault", &r);
        mock_check_problem(&r, "validation_failed");
        errors = cJSON_GetObjectItemCaseSensitive(r.json, "errors");
        e = cJSON_GetArrayItem(errors, 0);
        if (!str(e, "pointer") || strcmp(str(e, "pointer"), cases[i].pointer) != 0)
            fail_msg("%s: pointer '%s', expected '%s' (%s)", cases[i].json,
                     str(e, "pointer") ? str(e, "pointer") : "(none)", cases[i].pointer,
                     buf_cstr(&r.body));
        resp_release(&r);
    }
    mock_expect(m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 0);
    resp_release(&r);
}

/* ---- status answers ------------------------------------------------------------------- */

static void test_faults_status_answers_problem_or_raw_body(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;

    clear_plans(m);
    /* 503: the catalogue's code, Retry-After 1 by default. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"status\","
                "\"status\":503}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 503);
    mock_check(m, "getMe", &c.r);
    mock_check_problem(&c.r, "unavailable");
    assert_string_equal(resp_header(&c.r, "Retry-After"), "1");
    call_release(&c);
    expect_journal(m, "getMe", label(id, "status"), 503);

    /* 429 with an HTTP-date, a code and detail of its own, an extra header. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"status\","
                "\"status\":429,\"code\":\"rate_limited\",\"detail\":\"slow down\","
                "\"retry_after\":\"Wed, 21 Oct 2026 07:28:00 GMT\","
                "\"headers\":{\"X-Why\":\"test\"}}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 429);
    mock_check_problem(&c.r, "rate_limited");
    assert_string_equal(resp_str(&c.r, "detail"), "slow down");
    assert_string_equal(resp_header(&c.r, "Retry-After"), "Wed, 21 Oct 2026 07:28:00 GMT");
    assert_string_equal(resp_header(&c.r, "X-Why"), "test");
    call_release(&c);

    /* A status outside the catalogue; no Retry-After when null. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"status\","
                "\"status\":418}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 418);
    mock_check_problem(&c.r, "http_418");
    call_release(&c);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"status\","
                "\"status\":503,\"retry_after\":null}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 503);
    assert_null(resp_header(&c.r, "Retry-After"));
    call_release(&c);

    /* A load balancer's HTML 502. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"status\","
                "\"status\":502,\"body\":\"<html><h1>502 Bad Gateway</h1></html>\","
                "\"content_type\":\"text/html\"}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 502);
    assert_string_equal(resp_header(&c.r, "Content-Type"), "text/html");
    assert_string_equal(buf_cstr(&c.r.body), "<html><h1>502 Bad Gateway</h1></html>");
    assert_non_null(resp_header(&c.r, "X-Request-Id"));
    call_release(&c);

    /* Every plan ran out: normal again. */
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    mock_check(m, "getMe", &c.r);
    call_release(&c);
    expect_journal(m, "getMe", NULL, 200);
}

static void test_faults_malformed_json_does_not_parse(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;
    cJSON *parsed;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":"
                "\"malformed_json\"}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.status, 200);
    assert_string_equal(resp_header(&c.r, "Content-Type"), "application/json");
    assert_true(c.r.body.len > 0);
    parsed = cJSON_ParseWithLength(c.r.body.data, c.r.body.len);
    assert_null(parsed);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "malformed_json"), 200);

    /* After the commit: the operation's own JSON, cut in half. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"phase\":\"after_commit\",\"times\":1,"
                "\"action\":{\"type\":\"malformed_json\"}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    assert_true(strncmp(buf_cstr(&c.r.body), "{\"principal_id\":\"pr_alice\"", 10) == 0);
    parsed = cJSON_ParseWithLength(c.r.body.data, c.r.body.len);
    assert_null(parsed);
    call_release(&c);
}

/* ---- matching and counting ------------------------------------------------------------ */

static void test_faults_times_then_traffic_is_normal(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;
    int i;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":2,\"action\":{\"type\":\"status\","
                "\"status\":500}}", id, sizeof(id));
    for (i = 0; i < 5; i++) {
        get_me(m, "tok_alice", &c);
        if (c.r.status != (i < 2 ? 500 : 200))
            fail_msg("call %d: status %ld", i + 1, c.r.status);
        call_release(&c);
    }
    expect_counts(m, id, 5, 2, true);
}

static void test_faults_nth_faults_that_call(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;
    int i;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"nth\":3,\"action\":{\"type\":\"status\","
                "\"status\":500}}", id, sizeof(id));
    for (i = 1; i <= 5; i++) {
        get_me(m, "tok_alice", &c);
        if (c.r.status != (i == 3 ? 500 : 200))
            fail_msg("nth 3, call %d: status %ld", i, c.r.status);
        call_release(&c);
    }
    expect_counts(m, id, 5, 1, true);
    clear_plans(m);
    /* nth with times: from the Nth on, times calls. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"nth\":2,\"times\":2,\"action\":{\"type\":"
                "\"status\",\"status\":500}}", id, sizeof(id));
    for (i = 1; i <= 5; i++) {
        get_me(m, "tok_alice", &c);
        if (c.r.status != (i == 2 || i == 3 ? 500 : 200))
            fail_msg("nth 2 times 2, call %d: status %ld", i, c.r.status);
        call_release(&c);
    }
    expect_counts(m, id, 5, 2, true);
}

static void test_faults_match_on_op_method_path_principal_and_header(void **state)
{
    static const char *const fail_hdr[] = { "X-Test: fail-42", NULL };
    static const char *const other_hdr[] = { "X-Test: fail-x", NULL };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice"), target[160];
    struct call c;

    clear_plans(m);
    /* The operation's name covers every method; its operationId only its own. */
    add_plan(m, "{\"match\":{\"op\":\"proxyHogboxPut\"},\"action\":{\"type\":\"status\","
                "\"status\":599}}", NULL, 0);
    add_plan(m, "{\"match\":{\"op\":\"getLimits\",\"method\":\"get\"},\"action\":{\"type\":"
                "\"status\",\"status\":598}}", NULL, 0);
    add_plan(m, "{\"match\":{\"path\":\"/v1/hogboxes/*/files\"},\"action\":{\"type\":"
                "\"status\",\"status\":597}}", NULL, 0);
    add_plan(m, "{\"match\":{\"op\":\"getMe\",\"principal\":\"pr_bob\"},\"action\":{\"type\":"
                "\"status\",\"status\":596}}", NULL, 0);
    add_plan(m, "{\"match\":{\"op\":\"getMe\",\"header\":{\"name\":\"x-test\",\"regex\":"
                "\"^fail-[0-9]+$\"}},\"action\":{\"type\":\"status\",\"status\":595}}", NULL, 0);

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/proxy/8080/health", box);
    call_do(m, "PUT", target, "tok_alice", NULL, NULL, 10000, &c);
    assert_int_equal(c.r.status, 599);
    call_release(&c);
    call_do(m, "GET", target, "tok_alice", NULL, NULL, 10000, &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    add_plan(m, "{\"match\":{\"op\":\"proxyHogbox\",\"method\":\"DELETE\"},\"action\":{"
                "\"type\":\"status\",\"status\":594}}", NULL, 0);
    call_do(m, "DELETE", target, "tok_alice", NULL, NULL, 10000, &c);
    assert_int_equal(c.r.status, 594);
    call_release(&c);

    call_do(m, "GET", "/v1/limits", "tok_alice", NULL, NULL, 10000, &c);
    assert_int_equal(c.r.status, 598);
    call_release(&c);

    /* The glob's * crosses '/', and the query is not part of the path. */
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/x", box);
    call_do(m, "GET", target, "tok_alice", NULL, NULL, 10000, &c);
    assert_int_equal(c.r.status, 597);
    call_release(&c);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    call_do(m, "GET", target, "tok_alice", NULL, NULL, 10000, &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);

    get_me(m, "tok_bob", &c);
    assert_int_equal(c.r.status, 596);
    call_release(&c);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    call_do(m, "GET", "/v1/me", "tok_alice", NULL, fail_hdr, 10000, &c);
    assert_int_equal(c.r.status, 595);
    call_release(&c);
    call_do(m, "GET", "/v1/me", "tok_alice", NULL, other_hdr, 10000, &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    /* Unauthenticated requests are refused before any plan sees them. */
    get_me(m, NULL, &c);
    assert_int_equal(c.r.status, 401);
    call_release(&c);
    clear_plans(m);
    free(box);
}

/* Run n getMe calls and write which were faulted ('x') or not ('.') into out. */
static void pattern(struct mock *m, int n, char *out)
{
    struct call c;
    int i;

    for (i = 0; i < n; i++) {
        get_me(m, "tok_alice", &c);
        if (c.r.status != 200 && c.r.status != 503)
            fail_msg("call %d: status %ld", i, c.r.status);
        out[i] = c.r.status == 503 ? 'x' : '.';
        call_release(&c);
    }
    out[n] = '\0';
}

static void test_faults_probability_with_a_seed_is_reproducible(void **state)
{
    static const char plan[] = "{\"match\":{\"op\":\"getMe\"},\"probability\":0.3,\"seed\":1234,"
                               "\"action\":{\"type\":\"status\",\"status\":503}}";
    struct mock *m = *state;
    char a[101], b[101], d[101];
    size_t i, faulted = 0;

    clear_plans(m);
    add_plan(m, plan, NULL, 0);
    pattern(m, 100, a);
    clear_plans(m);
    add_plan(m, plan, NULL, 0);
    pattern(m, 100, b);
    assert_string_equal(a, b);
    for (i = 0; i < 100; i++)
        faulted += a[i] == 'x';
    if (faulted < 10 || faulted > 55)
        fail_msg("probability 0.3 faulted %zu calls of 100: %s", faulted, a);
    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"probability\":0.3,\"seed\":99,"
                "\"action\":{\"type\":\"status\",\"status\":503}}", NULL, 0);
    pattern(m, 100, d);
    assert_string_not_equal(a, d);
    clear_plans(m);
}

/* ---- phases ------------------------------------------------------------------------- */

static void test_faults_before_means_the_operation_does_not_happen(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;
    size_t boxes;

    clear_plans(m);
    reset_all(m);
    add_plan(m, "{\"match\":{\"op\":\"createHogbox\"},\"times\":1,\"action\":{\"type\":"
                "\"status\",\"status\":503}}", id, sizeof(id));
    /* Not even validated: a body the schema refuses gets the fault. */
    call_do(m, "POST", "/v1/hogboxes", "tok_alice", "{\"cpus\":\"many\"}", NULL, 10000, &c);
    assert_int_equal(c.r.status, 503);
    mock_check(m, "createHogbox", &c.r);
    call_release(&c);
    expect_journal(m, "createHogbox", label(id, "status"), 503);
    boxes = count_boxes(m, "tok_alice");
    assert_int_equal(boxes, 0);
}

static void test_faults_after_commit_creates_then_fails_and_a_retry_finds_it(void **state)
{
    static const char *const key[] = { "Idempotency-Key: retry-me-1", NULL };
    struct mock *m = *state;
    char id[32], first[64];
    struct call c;

    clear_plans(m);
    reset_all(m);
    add_plan(m, "{\"match\":{\"op\":\"createHogbox\"},\"phase\":\"after_commit\",\"times\":1,"
                "\"action\":{\"type\":\"status\",\"status\":503}}", id, sizeof(id));
    call_do(m, "POST", "/v1/hogboxes", "tok_alice", "{}", key, 10000, &c);
    assert_int_equal(c.r.status, 503);
    mock_check_problem(&c.r, "unavailable");
    assert_null(resp_header(&c.r, "Location"));
    call_release(&c);
    expect_journal(m, "createHogbox", label(id, "status"), 503);
    assert_int_equal(count_boxes(m, "tok_alice"), 1);
    {
        struct resp r;

        mock_expect(m, "listHogboxes", 200, "GET", "/v1/hogboxes", "tok_alice", NULL, &r);
        snprintf(first, sizeof(first), "%s",
                 str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "items"), 0),
                     "id"));
        resp_release(&r);
    }
    /* The retry with the same key gets the box the lost answer was about. */
    call_do(m, "POST", "/v1/hogboxes", "tok_alice", "{}", key, 10000, &c);
    assert_int_equal(c.r.status, 201);
    assert_string_equal(resp_str(&c.r, "id"), first);
    call_release(&c);
    assert_int_equal(count_boxes(m, "tok_alice"), 1);

    /* A reset after the commit: the box exists though the client saw nothing. */
    add_plan(m, "{\"match\":{\"op\":\"createHogbox\"},\"phase\":\"after_commit\",\"times\":1,"
                "\"action\":{\"type\":\"reset\"}}", id, sizeof(id));
    call_do(m, "POST", "/v1/hogboxes", "tok_alice", "{}", NULL, 10000, &c);
    assert_int_equal(c.rc, CURLE_RECV_ERROR);
    assert_int_equal(c.r.body.len, 0);
    call_release(&c);
    expect_journal(m, "createHogbox", label(id, "reset"), 0);
    assert_int_equal(count_boxes(m, "tok_alice"), 2);

    /* And an empty answer after the commit. */
    add_plan(m, "{\"match\":{\"op\":\"createHogbox\"},\"phase\":\"after_commit\",\"times\":1,"
                "\"action\":{\"type\":\"empty\"}}", id, sizeof(id));
    call_do(m, "POST", "/v1/hogboxes", "tok_alice", "{}", NULL, 10000, &c);
    assert_int_equal(c.rc, CURLE_GOT_NOTHING);
    call_release(&c);
    expect_journal(m, "createHogbox", label(id, "empty"), 0);
    assert_int_equal(count_boxes(m, "tok_alice"), 3);
}

/* ---- the wire ------------------------------------------------------------------------- */

static void test_faults_reset_empty_and_garbage_close_the_connection(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"reset\"}}",
             id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_RECV_ERROR);   /* connection reset by peer */
    assert_int_equal(c.r.body.len, 0);
    assert_int_equal(c.r.status, 0);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "reset"), 0);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"empty\"}}",
             id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_GOT_NOTHING);
    assert_int_equal(c.r.headers.len, 0);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "empty"), 0);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"garbage\","
                "\"bytes\":200}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    /* Not HTTP: libcurl says so (7.88 reports it as HTTP/0.9, which it refuses). */
    if (c.rc != CURLE_WEIRD_SERVER_REPLY && c.rc != CURLE_UNSUPPORTED_PROTOCOL)
        fail_msg("garbage: %s", curl_easy_strerror(c.rc));
    assert_int_equal(c.r.status, 0);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "garbage"), 0);

    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
}

static void test_faults_truncate_sends_part_of_the_announced_body(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;
    size_t full;

    clear_plans(m);
    get_me(m, "tok_alice", &c);
    full = c.r.body.len;
    call_release(&c);
    assert_true(full > 40);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"truncate\","
                "\"bytes\":10}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(c.r.status, 200);
    assert_int_equal(c.r.body.len, 10);
    assert_int_equal(strtoul(resp_header(&c.r, "Content-Length"), NULL, 10), full);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "truncate"), 200);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"truncate\","
                "\"fraction\":0.5}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(c.r.body.len, full / 2);
    call_release(&c);

    /* Nothing of the body, the headers still. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"truncate\","
                "\"bytes\":0}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(c.r.status, 200);
    assert_int_equal(c.r.body.len, 0);
    call_release(&c);
}

static void test_faults_rate_limit_is_a_quota_per_principal(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;
    struct resp r;
    int i;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"action\":{\"type\":\"rate_limit\",\"limit\":3,"
                "\"window_ms\":60000}}", id, sizeof(id));
    for (i = 0; i < 3; i++) {
        get_me(m, "tok_alice", &c);
        assert_int_equal(c.r.status, 200);
        call_release(&c);
    }
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 429);
    mock_check(m, "getMe", &c.r);
    mock_check_problem(&c.r, "rate_limited");
    assert_string_equal(resp_header(&c.r, "RateLimit-Limit"), "3");
    assert_string_equal(resp_header(&c.r, "RateLimit-Remaining"), "0");
    assert_true(atoi(resp_header(&c.r, "Retry-After")) >= 1
                && atoi(resp_header(&c.r, "Retry-After")) <= 60);
    assert_string_equal(resp_header(&c.r, "RateLimit-Reset"), resp_header(&c.r, "Retry-After"));
    call_release(&c);
    expect_journal(m, "getMe", label(id, "rate_limit"), 429);
    /* Bob has a quota of his own. */
    get_me(m, "tok_bob", &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    /* The window is on hogmock's clock: a minute later alice may go on. */
    mock_expect(m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL,
                "{\"ms\":60000}", &r);
    resp_release(&r);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    expect_counts(m, id, 6, 1, false);
    clear_plans(m);
}

static void test_faults_delay_takes_no_time_on_a_virtual_clock(void **state)
{
    struct mock *m = *state;
    char id[32];
    struct call c;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":2,\"action\":{\"type\":\"delay\","
                "\"fixed\":600000}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    assert_true(c.ms < 60000);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "delay"), 200);
    clear_plans(m);
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"delay\","
                "\"fixed\":600000,\"where\":\"body\"}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.status, 200);
    assert_true(c.ms < 60000);
    call_release(&c);
}

/* Real time: delays before the headers and in the body, drip and stall, each at least
 * as long as it says; none holds a request thread. */
static void test_faults_delays_drip_and_stall_on_the_real_clock(void **state)
{
    struct mock *m = real_clock_mock();
    char id[32];
    struct call c;
    size_t full;

    (void)state;
    get_me(m, "tok_alice", &c);
    full = c.r.body.len;
    call_release(&c);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"delay\","
                "\"fixed\":300}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    assert_true(c.ms >= 300);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "delay"), 200);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"delay\","
                "\"uniform\":{\"min\":150,\"max\":200}}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    assert_true(c.ms >= 150);
    call_release(&c);

    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"delay\","
                "\"lognormal\":{\"median\":120,\"sigma\":0}}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    assert_true(c.ms >= 120);
    call_release(&c);

    /* After the commit: the operation first, then the wait before the headers. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"phase\":\"after_commit\",\"times\":1,"
                "\"action\":{\"type\":\"delay\",\"fixed\":200}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    assert_true(c.ms >= 200);
    call_release(&c);

    /* A handler that runs on a thread of its own (exec on the real clock), its answer
     * cut short after the commit. */
    {
        char *box = mock_new_box(m, "tok_alice"), target[96];

        add_plan(m, "{\"match\":{\"op\":\"execHogbox\"},\"times\":1,\"action\":{\"type\":"
                    "\"truncate\",\"bytes\":5}}", NULL, 0);
        snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", box);
        call_do(m, "POST", target, "tok_alice", "{\"argv\":[\"echo\",\"hi\"]}", NULL, 10000, &c);
        assert_int_equal(c.rc, CURLE_PARTIAL_FILE);
        assert_int_equal(c.r.body.len, 5);
        call_release(&c);
        free(box);
    }

    /* In the body: the headers and half the body, then the wait. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"delay\","
                "\"fixed\":300,\"where\":\"body\"}}", NULL, 0);
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.body.len, full);
    assert_true(c.ms >= 300);
    assert_true(c.first_byte_ms >= 0 && c.ms - c.first_byte_ms >= 200);
    call_release(&c);

    /* Drip: 16 bytes every 40 ms, the body whole in the end. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"drip\","
                "\"chunk_bytes\":16,\"interval_ms\":40}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_OK);
    assert_int_equal(c.r.body.len, full);
    assert_true(c.ms >= (long)((full - 1) / 16) * 40);
    assert_non_null(c.r.json);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "drip"), 200);

    /* Stall: nothing, then the connection closes. */
    add_plan(m, "{\"match\":{\"op\":\"getMe\"},\"times\":1,\"action\":{\"type\":\"stall\","
                "\"max_ms\":300}}", id, sizeof(id));
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.rc, CURLE_GOT_NOTHING);
    assert_true(c.ms >= 300);
    call_release(&c);
    expect_journal(m, "getMe", label(id, "stall"), 0);
    mock_stop(m);
}

/* More parked connections than request threads, and the server still answers. */
static void test_faults_parked_connections_hold_no_thread(void **state)
{
    static const char *const slow[] = { "X-Slow: 1", NULL };
    enum { N = 10 };
    struct mock *m = real_clock_mock();   /* 4 request threads */
    struct call calls[N], c;
    struct curl_slist *hdrs[N] = { NULL };
    struct buf urls[N];
    CURL *easy[N];
    CURLM *multi = curl_multi_init();
    struct timespec t0;
    char id[32];
    int running = 1, i;
    cJSON *p;

    (void)state;
    add_plan(m, "{\"match\":{\"op\":\"getMe\",\"header\":{\"name\":\"X-Slow\"}},\"action\":{"
                "\"type\":\"delay\",\"fixed\":2500}}", id, sizeof(id));
    for (i = 0; i < N; i++) {
        buf_init(&urls[i]);
        easy[i] = call_prepare(m, "GET", "/v1/me", "tok_alice", NULL, slow, 20000, &hdrs[i],
                               &urls[i], &calls[i]);
        curl_multi_add_handle(multi, easy[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Until every request is parked (the plan counted them) ... */
    for (;;) {
        curl_multi_perform(multi, &running);
        p = plan_get(m, id);
        i = (int)num(p, "matched");
        cJSON_Delete(p);
        if (i == N)
            break;
        if (mock_ms_since(&t0) > 10000)
            fail_msg("only %d of %d delayed requests arrived", i, N);
        curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
    /* ... then, with all of them waiting, a plain request is answered at once. */
    get_me(m, "tok_alice", &c);
    assert_int_equal(c.r.status, 200);
    call_release(&c);
    curl_multi_perform(multi, &running);
    assert_int_equal(running, N);
    while (running && mock_ms_since(&t0) < 15000) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    assert_int_equal(running, 0);
    for (i = 0; i < N; i++) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(multi, &left)) != NULL)
            assert_int_equal(msg->data.result, CURLE_OK);
        call_finish(easy[i], &calls[i]);
        assert_int_equal(calls[i].r.status, 200);
        assert_true(calls[i].ms >= 2500);
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(hdrs[i]);
        buf_release(&urls[i]);
        call_release(&calls[i]);
    }
    curl_multi_cleanup(multi);
    mock_stop(m);
}

/* hogmock_stop wakes what faults parked (a ten-minute stall, delay and drip) and closes
 * them, without waiting for them. */
struct parked_client {
    struct mock *m;
    const char *header;
    struct call c;
    pthread_t tid;
};

static void *parked_main(void *arg)
{
    struct parked_client *p = arg;
    const char *extra[] = { p->header, NULL };

    call_do(p->m, "GET", "/v1/me", "tok_alice", NULL, extra, 30000, &p->c);
    return NULL;
}

static void test_faults_stop_wakes_and_closes_parked_connections(void **state)
{
    struct parked_client cl[3] = {
        { NULL, "X-Kind: stall", { 0 }, 0 },
        { NULL, "X-Kind: delay", { 0 }, 0 },
        { NULL, "X-Kind: drip", { 0 }, 0 },
    };
    struct mock *m = real_clock_mock();
    struct timespec t0;
    long took;
    int i;

    (void)state;
    add_plan(m, "{\"match\":{\"header\":{\"name\":\"X-Kind\",\"regex\":\"stall\"}},\"action\":{"
                "\"type\":\"stall\",\"max_ms\":600000}}", NULL, 0);
    add_plan(m, "{\"match\":{\"header\":{\"name\":\"X-Kind\",\"regex\":\"delay\"}},\"action\":{"
                "\"type\":\"delay\",\"fixed\":600000}}", NULL, 0);
    add_plan(m, "{\"match\":{\"header\":{\"name\":\"X-Kind\",\"regex\":\"drip\"}},\"action\":{"
                "\"type\":\"drip\",\"chunk_bytes\":1,\"interval_ms\":60000}}", NULL, 0);
    for (i = 0; i < 3; i++) {
        cl[i].m = m;
        pthread_create(&cl[i].tid, NULL, parked_main, &cl[i]);
    }
    /* Wait until the three are in (each plan counted its request). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct resp r;
        const cJSON *p;
        int in = 0;

        mock_expect(m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
            in += num(p, "hits") == 1;
        resp_release(&r);
        if (in == 3)
            break;
        if (mock_ms_since(&t0) > 5000)
            fail_msg("the faulted requests did not arrive");
        mock_pause_ms(10);
    }
    mock_pause_ms(100);     /* the drip's first byte has gone out and it waits */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hogmock_stop(m->hm);
    took = mock_ms_since(&t0);
    free(m);
    for (i = 0; i < 3; i++)
        pthread_join(cl[i].tid, NULL);
    /* Well under the faults' ten minutes, and under the drain time it gives requests. */
    if (took > 4000)
        fail_msg("hogmock_stop took %ld ms with parked connections", took);
    assert_int_equal(cl[0].c.rc, CURLE_GOT_NOTHING);
    /* The delay ends and its request is answered (or cut by the stop). */
    assert_true(cl[1].c.rc == CURLE_OK || cl[1].c.rc == CURLE_GOT_NOTHING
                || cl[1].c.rc == CURLE_RECV_ERROR);
    /* The drip: its first byte (unless the stop came first), then cut. */
    assert_int_equal(cl[2].c.rc, CURLE_PARTIAL_FILE);
    assert_true(cl[2].c.r.body.len <= 1);
    for (i = 0; i < 3; i++)
        call_release(&cl[i].c);
}

/* ---- files ---------------------------------------------------------------------------- */

static struct mock *mock_with_faults(const char *rel)
{
    struct hogmock_config cfg;
    struct buf path = BUF_INIT;
    struct mock *m;

    mock_default_config(&cfg);
    bundle_path(rel, &path);
    cfg.faults_path = buf_cstr(&path);
    m = mock_start(&cfg);
    buf_release(&path);
    return m;
}

static int plan_count(struct mock *m)
{
    struct resp r;
    int n;

    mock_expect(m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
    n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items"));
    resp_release(&r);
    return n;
}

static void test_faults_example_files_load_and_work(void **state)
{
    static const struct { const char *file; int plans; } files[] = {
        { "fixtures/faults/flaky-create.yaml", 1 },
        { "fixtures/faults/load-balancer.yaml", 2 },
        { "fixtures/faults/network.yaml", 6 },
        { "fixtures/faults/streams.yaml", 3 },
        { "fixtures/faults/rate-limit.yaml", 1 },
    };
    struct mock *m;
    struct call c;
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        m = mock_with_faults(files[i].file);
        if (plan_count(m) != files[i].plans)
            fail_msg("%s: %d plans, expected %d", files[i].file, plan_count(m), files[i].plans);
        mock_stop(m);
    }
    /* network.yaml: alice's third getMe is reset, the fourth empty, the fifth garbage. */
    m = mock_with_faults("fixtures/faults/network.yaml");
    for (k = 1; k <= 6; k++) {
        get_me(m, "tok_alice", &c);
        if ((k == 3 && c.rc != CURLE_RECV_ERROR) || (k == 4 && c.rc != CURLE_GOT_NOTHING)
            || (k == 5 && c.rc == CURLE_OK) || (k != 3 && k != 4 && k != 5 && c.rc != CURLE_OK))
            fail_msg("network.yaml, getMe %d: %s", k, curl_easy_strerror(c.rc));
        call_release(&c);
    }
    mock_stop(m);
    /* rate-limit.yaml: five, then 429. */
    m = mock_with_faults("fixtures/faults/rate-limit.yaml");
    for (k = 1; k <= 6; k++) {
        get_me(m, "tok_alice", &c);
        assert_int_equal(c.r.status, k <= 5 ? 200 : 429);
        call_release(&c);
    }
    mock_stop(m);
}

static void test_faults_a_bad_file_stops_start_with_one_line(void **state)
{
    char dir[] = "/tmp/hogfaultsXXXXXX", file[64], bin[512];
    struct hogmock_config cfg;
    struct hogmock *hm = NULL;
    struct buf err = BUF_INIT;
    FILE *f;
    int pipefd[2], status = 0;
    pid_t pid;
    char out[1024];
    ssize_t n, got = 0;
    struct timespec t0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/bad.yaml", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("- action: {type: reset}\n- action: {type: status, status: 700}\n", f);
    fclose(f);
    mock_default_config(&cfg);
    cfg.faults_path = file;
    assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
    assert_null(hm);
    assert_non_null(strstr(buf_cstr(&err), file));
    assert_non_null(strstr(buf_cstr(&err), "/1/action/status"));
    assert_null(strchr(buf_cstr(&err), '\n'));
    buf_release(&err);

    /* The binary: exit 1, one line on stderr. */
    if (mock_binary(bin, sizeof(bin))) {
        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            dup2(pipefd[1], 2);
            close(pipefd[0]);
            execl(bin, bin, "--faults", file, (char *)NULL);
            _exit(127);
        }
        close(pipefd[1]);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while ((n = read(pipefd[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
            got += n;
        close(pipefd[0]);
        out[got] = '\0';
        while (waitpid(pid, &status, WNOHANG) == 0 && mock_ms_since(&t0) < 5000)
            mock_pause_ms(10);
        if (mock_ms_since(&t0) >= 5000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("hogmock --faults with a bad file did not exit");
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        assert_true(strncmp(out, "hogmock: invalid fault plans in '", 33) == 0);
        assert_non_null(strstr(out, "/1/action/status"));
        assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);
    }
    unlink(file);
    rmdir(dir);
}

/* ---- no leaks ------------------------------------------------------------------------- */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static int open_fds(void)
{
    char path[64];
    int fd, n = 0;

    for (fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n += access(path, F_OK) == 0;
    }
    return n;
}

static void test_faults_1000_faulted_connections_leave_nothing_behind(void **state)
{
    static const char *const reset[] = { "X-Fault: reset", NULL };
    static const char *const empty[] = { "X-Fault: empty", NULL };
    struct mock *m = *state;
    struct timespec t0;
    long before = 0, after;
    int i, done = 0, fds_before = 0;

    clear_plans(m);
    add_plan(m, "{\"match\":{\"header\":{\"name\":\"X-Fault\",\"regex\":\"^reset$\"}},"
                "\"action\":{\"type\":\"reset\"}}", NULL, 0);
    add_plan(m, "{\"match\":{\"header\":{\"name\":\"X-Fault\",\"regex\":\"^empty$\"}},"
                "\"action\":{\"type\":\"empty\"}}", NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < 1100 && mock_ms_since(&t0) < 12000; i++) {
        struct call c;

        if (i == 100) {
            before = rss_kib();     /* after a warm-up */
            fds_before = open_fds();
        }
        call_do(m, "GET", "/v1/me", "tok_alice", NULL, i % 2 ? empty : reset, 5000, &c);
        if (c.rc != (i % 2 ? CURLE_GOT_NOTHING : CURLE_RECV_ERROR))
            fail_msg("connection %d: %s", i, curl_easy_strerror(c.rc));
        call_release(&c);
        done++;
    }
    after = rss_kib();
    if (done < 1100)
        fail_msg("only %d faulted connections in 12 s", done);
    /* Every exchange is over on the server too. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&m->hm->inflight) > 0 && mock_ms_since(&t0) < 2000)
        mock_pause_ms(5);
    assert_int_equal(atomic_load(&m->hm->inflight), 0);
    assert_int_equal(atomic_load(&m->hm->threads), 0);
    /* No socket left open on either side. */
    if (open_fds() > fds_before + 4)
        fail_msg("%d file descriptors open after 1000 faulted connections, %d before",
                 open_fds(), fds_before);
#ifndef __SANITIZE_ADDRESS__
    /* The journal keeps an entry per request (a few hundred bytes each): 8 MiB is far
     * more than 1000 of them, and far less than a leaked connection each. */
    if (after - before > 8192)
        fail_msg("VmRSS grew from %ld to %ld KiB over 1000 faulted connections", before, after);
#else
    (void)before;
    (void)after;
#endif
    clear_plans(m);
    {
        struct call c;

        get_me(m, "tok_alice", &c);
        assert_int_equal(c.r.status, 200);
        call_release(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_admin_api_adds_lists_deletes_and_clears),
        cmocka_unit_test(test_faults_bad_plans_are_422_with_a_pointer),
        cmocka_unit_test(test_faults_status_answers_problem_or_raw_body),
        cmocka_unit_test(test_faults_malformed_json_does_not_parse),
        cmocka_unit_test(test_faults_times_then_traffic_is_normal),
        cmocka_unit_test(test_faults_nth_faults_that_call),
        cmocka_unit_test(test_faults_match_on_op_method_path_principal_and_header),
        cmocka_unit_test(test_faults_probability_with_a_seed_is_reproducible),
        cmocka_unit_test(test_faults_before_means_the_operation_does_not_happen),
        cmocka_unit_test(test_faults_after_commit_creates_then_fails_and_a_retry_finds_it),
        cmocka_unit_test(test_faults_reset_empty_and_garbage_close_the_connection),
        cmocka_unit_test(test_faults_truncate_sends_part_of_the_announced_body),
        cmocka_unit_test(test_faults_rate_limit_is_a_quota_per_principal),
        cmocka_unit_test(test_faults_delay_takes_no_time_on_a_virtual_clock),
        cmocka_unit_test(test_faults_delays_drip_and_stall_on_the_real_clock),
        cmocka_unit_test(test_faults_parked_connections_hold_no_thread),
        cmocka_unit_test(test_faults_stop_wakes_and_closes_parked_connections),
        cmocka_unit_test(test_faults_example_files_load_and_work),
        cmocka_unit_test(test_faults_a_bad_file_stops_start_with_one_line),
        cmocka_unit_test(test_faults_1000_faulted_connections_leave_nothing_behind),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, mock_setup, mock_teardown);
}
