/* Tests for what proxy and record modes rely on, without a server: respcheck holding real
 * answers against the bundled spec, and redact taking credentials out of what is recorded.
 * Here rather than in tests/unit because both live in hogmock, which links libcrypto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "bundle.h"
#include "openapi.h"
#include "redact.h"
#include "respcheck.h"
#include "schema.h"
#include "xmalloc.h"

struct spec {
    struct openapi *api;
    struct schema *schema;
};

static int setup(void **state)
{
    struct spec *sp = xcalloc(1, sizeof(*sp));
    struct buf path = BUF_INIT, err = BUF_INIT;

    xmalloc_init_cjson();
    bundle_path("openapi/hogplane.yaml", &path);
    if (openapi_load(buf_cstr(&path), &sp->api, &err) != RC_OK) {
        fprintf(stderr, "test_respcheck: %s\n", buf_cstr(&err));
        free(sp);
        return -1;
    }
    sp->schema = schema_new(openapi_doc(sp->api));
    buf_release(&path);
    buf_release(&err);
    *state = sp;
    return 0;
}

static int teardown(void **state)
{
    struct spec *sp = *state;

    schema_free(sp->schema);
    openapi_free(sp->api);
    free(sp);
    return 0;
}

static const char hogbox[] =
    "{\"id\":\"hb_3f9a2c7e5b1d8046\",\"state\":\"running\",\"cpus\":2,\"memory_mib\":1024,"
    "\"disk_gib\":10,\"snapshot_id\":null,\"access_type\":\"none\",\"labels\":{},"
    "\"created_at\":\"2026-05-28T20:26:40Z\",\"updated_at\":\"2026-05-28T20:26:40Z\"}";

/* Check an answer to op (an operationId, or NULL) fed step bytes at a time (0: at once);
 * headers is a JSON object text. The violations, a new array. */
static cJSON *check(struct spec *sp, const char *op_id, const char *method, int status,
                    const char *headers, const char *body, size_t step, bool complete)
{
    const struct openapi_op *op = op_id ? openapi_find_op(sp->api, op_id) : NULL;
    cJSON *h = cJSON_Parse(headers);
    struct respcheck *c;
    size_t len = body ? strlen(body) : 0, at = 0;

    if (op_id && !op)
        fail_msg("no operation %s", op_id);
    assert_non_null(h);
    c = respcheck_begin(sp->api, sp->schema, op, method, status, h);
    cJSON_Delete(h);
    while (at < len) {
        size_t n = step && step < len - at ? step : len - at;

        respcheck_feed(c, body + at, n);
        at += n;
    }
    return respcheck_end(c, complete);
}

static size_t count(const cJSON *list, const char *kind)
{
    const cJSON *v;
    size_t n = 0;

    cJSON_ArrayForEach(v, list)
        n += strcmp(cJSON_GetObjectItem(v, "kind")->valuestring, kind) == 0;
    return n;
}

static bool has(const cJSON *list, const char *kind, const char *pointer, const char *what)
{
    const cJSON *v;

    cJSON_ArrayForEach(v, list) {
        const cJSON *p = cJSON_GetObjectItem(v, "pointer");

        if (strcmp(cJSON_GetObjectItem(v, "kind")->valuestring, kind) == 0
            && (!pointer || (cJSON_IsString(p) && strcmp(p->valuestring, pointer) == 0))
            && (!what || strstr(cJSON_GetObjectItem(v, "detail")->valuestring, what)))
            return true;
    }
    return false;
}

#define JSON_HEADERS "{\"x-request-id\":\"req_1\",\"content-type\":\"application/json\"}"
#define PROBLEM_HEADERS "{\"x-request-id\":\"req_1\",\"content-type\":\"application/problem+json\"}"

static void expect_none(cJSON *list)
{
    if (cJSON_GetArraySize(list))
        fail_msg("unexpected violations: %s", cJSON_PrintUnformatted(list));
    cJSON_Delete(list);
}

/* ---- respcheck ------------------------------------------------------------------- */

static void test_respcheck_accepts_a_documented_answer_cut_anywhere(void **state)
{
    size_t step;

    for (step = 0; step < 8; step++)
        expect_none(check(*state, "getHogbox", "GET", 200, JSON_HEADERS, hogbox, step, true));
}

static void test_respcheck_names_an_undocumented_status_and_nothing_else(void **state)
{
    cJSON *list = check(*state, "getHogbox", "GET", 418, "{}", "teapot", 0, true);

    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_true(has(list, "status", NULL, "418 is not documented for getHogbox"));
    cJSON_Delete(list);
}

static void test_respcheck_takes_the_default_response(void **state)
{
    /* proxyHogbox documents a default: any status of the service is fine. */
    expect_none(check(*state, "proxyHogbox", "GET", 418,
                      "{\"x-request-id\":\"req_1\",\"content-type\":\"text/plain\"}", "teapot", 0,
                      true));
}

static void test_respcheck_names_an_undocumented_content_type(void **state)
{
    cJSON *list = check(*state, "getHogbox", "GET", 200,
                        "{\"x-request-id\":\"req_1\",\"content-type\":\"text/html\"}", "<p>",
                        0, true);

    assert_true(has(list, "content_type", NULL, "'text/html' is not documented"));
    cJSON_Delete(list);
    list = check(*state, "getHogbox", "GET", 200, "{\"x-request-id\":\"req_1\"}", hogbox, 0, true);
    assert_true(has(list, "content_type", NULL, "without Content-Type"));
    cJSON_Delete(list);
}

static void test_respcheck_names_missing_required_headers(void **state)
{
    cJSON *list = check(*state, "createHogbox", "POST", 201,
                        "{\"content-type\":\"application/json\"}", hogbox, 0, true);

    assert_true(has(list, "header", NULL, "Location"));
    assert_true(has(list, "header", NULL, "X-Request-Id"));
    assert_int_equal(count(list, "header"), 2);
    cJSON_Delete(list);
}

static void test_respcheck_points_at_what_breaks_the_schema(void **state)
{
    cJSON *list = check(*state, "getHogbox", "GET", 200, JSON_HEADERS,
                        "{\"id\":5,\"state\":\"running\"}", 3, true);

    assert_true(has(list, "body", "/id", NULL));
    assert_true(has(list, "body", NULL, "required"));
    cJSON_Delete(list);
    list = check(*state, "getHogbox", "GET", 200, JSON_HEADERS, "{\"id\":\"hb_", 0, true);
    assert_true(has(list, "body", NULL, "not JSON"));
    cJSON_Delete(list);
}

static void test_respcheck_does_not_judge_a_cut_body(void **state)
{
    expect_none(check(*state, "getHogbox", "GET", 200, JSON_HEADERS, "{\"id\":\"hb_", 0, false));
}

static void test_respcheck_wants_the_body_that_is_documented_and_no_other(void **state)
{
    cJSON *list = check(*state, "getHogbox", "GET", 200, JSON_HEADERS, "", 0, true);

    assert_true(has(list, "body", NULL, "no body"));
    cJSON_Delete(list);
    /* No body where the description has none; HEAD and 204 never have one. */
    expect_none(check(*state, "destroyHogbox", "DELETE", 204, "{\"x-request-id\":\"req_1\"}",
                      NULL, 0, true));
    expect_none(check(*state, "getHogbox", "HEAD", 200, JSON_HEADERS, NULL, 0, true));
}

static void test_respcheck_holds_a_problem_to_its_answer(void **state)
{
    cJSON *list = check(*state, "getHogbox", "GET", 404, PROBLEM_HEADERS,
                        "{\"type\":\"urn:hogplane:problem:hogbox_not_found\",\"title\":"
                        "\"Hogbox not found\",\"status\":409,\"detail\":\"x\",\"code\":"
                        "\"hogbox_not_found\",\"request_id\":\"req_2\"}", 0, true);

    assert_true(has(list, "problem", "/status", "409"));
    assert_true(has(list, "problem", "/request_id", "req_2"));
    cJSON_Delete(list);
}

static void test_respcheck_checks_each_event_as_it_passes(void **state)
{
    static const char stream[] =
        "event: stdout\nid: 1\ndata: {\"data\":\"a\\n\"}\n\n"
        ": keepalive\n\n"
        "event: surprise\nid: 2\ndata: {}\n\n"
        "event: stderr\nid: 3\ndata: not json\n\n"
        "event: exit\nid: 4\ndata: {\"exit_code\":\"zero\",\"timed_out\":false}\n\n";
    cJSON *list = check(*state, "execHogboxStream", "POST", 200,
                        "{\"x-request-id\":\"req_1\",\"content-type\":\"text/event-stream\"}",
                        stream, 1, true);

    assert_int_equal(count(list, "event"), 3);
    assert_true(has(list, "event", NULL, "event 2 'surprise'"));
    assert_true(has(list, "event", NULL, "event 3 'stderr': data is not JSON"));
    assert_true(has(list, "event", "/exit_code", "event 4 'exit'"));
    cJSON_Delete(list);
}

static void test_respcheck_lists_at_most_its_bound(void **state)
{
    struct buf b = BUF_INIT;
    cJSON *list;
    int i;

    for (i = 0; i < 30; i++)
        buf_addf(&b, "event: nope%d\ndata: {}\n\n", i);
    list = check(*state, "execHogboxStream", "POST", 200,
                 "{\"x-request-id\":\"req_1\",\"content-type\":\"text/event-stream\"}",
                 buf_cstr(&b), 0, true);
    assert_int_equal(cJSON_GetArraySize(list), RESPCHECK_MAX + 1);
    assert_true(has(list, "body", NULL, "10 more violations were left out"));
    cJSON_Delete(list);
    buf_release(&b);
}

/* ---- redact ----------------------------------------------------------------------- */

static char *fp(const char *secret)
{
    char out[AUTH_FINGERPRINT_SIZE];

    auth_fingerprint(secret, strlen(secret), out);
    return xstrdup(out);
}

static void test_redact_text_replaces_tokens_and_jwts_anywhere(void **state)
{
    static const char jwt[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    struct buf in = BUF_INIT, out = BUF_INIT, want = BUF_INIT;
    char *a = fp("tok_alice"), *j = fp(jwt);

    (void)state;
    buf_addf(&in, "API_TOKEN=tok_alice\nid=%s;not_tok_x stok_y tok_", jwt);
    redact_text(&out, in.data, in.len);
    buf_addf(&want, "API_TOKEN=%s\nid=%s;not_tok_x stok_y tok_", a, j);
    assert_string_equal(buf_cstr(&out), buf_cstr(&want));
    buf_release(&in);
    buf_release(&out);
    buf_release(&want);
    free(a);
    free(j);
}

static void test_redact_header_keeps_schemes_and_cookie_names(void **state)
{
    struct buf out = BUF_INIT, want = BUF_INIT;
    char *s = fp("opaque-secret"), *c1 = fp("abc"), *c2 = fp("def");

    (void)state;
    redact_header(&out, "Authorization", "Bearer opaque-secret");
    buf_addf(&want, "Bearer %s", s);
    assert_string_equal(buf_cstr(&out), buf_cstr(&want));
    buf_reset(&out);
    buf_reset(&want);
    redact_header(&out, "Cookie", "sid=abc; theme=def");
    buf_addf(&want, "sid=%s; theme=%s", c1, c2);
    assert_string_equal(buf_cstr(&out), buf_cstr(&want));
    buf_reset(&out);
    buf_reset(&want);
    redact_header(&out, "Set-Cookie", "sid=abc; Path=/; HttpOnly");
    buf_addf(&want, "sid=%s; Path=/; HttpOnly", c1);
    assert_string_equal(buf_cstr(&out), buf_cstr(&want));
    buf_reset(&out);
    redact_header(&out, "Content-Type", "application/json");
    assert_string_equal(buf_cstr(&out), "application/json");
    buf_release(&out);
    buf_release(&want);
    free(s);
    free(c1);
    free(c2);
}

static void test_redact_json_takes_secret_members_and_tokens(void **state)
{
    cJSON *doc = cJSON_Parse("{\"client_secret\":\"s3cr3t\",\"env\":{\"X\":\"tok_bob\"},"
                             "\"argv\":[\"echo\",\"Bearer abc\"],\"n\":1,\"name\":\"plain\"}");
    char *text, *s = fp("s3cr3t"), *b = fp("tok_bob"), *abc = fp("abc");
    struct buf want = BUF_INIT;

    (void)state;
    redact_json(doc);
    text = cJSON_PrintUnformatted(doc);
    buf_addf(&want, "{\"client_secret\":\"%s\",\"env\":{\"X\":\"%s\"},\"argv\":[\"echo\","
             "\"Bearer %s\"],\"n\":1,\"name\":\"plain\"}", s, b, abc);
    assert_string_equal(text, buf_cstr(&want));
    cJSON_free(text);
    cJSON_Delete(doc);
    buf_release(&want);
    free(s);
    free(b);
    free(abc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respcheck_accepts_a_documented_answer_cut_anywhere),
        cmocka_unit_test(test_respcheck_names_an_undocumented_status_and_nothing_else),
        cmocka_unit_test(test_respcheck_takes_the_default_response),
        cmocka_unit_test(test_respcheck_names_an_undocumented_content_type),
        cmocka_unit_test(test_respcheck_names_missing_required_headers),
        cmocka_unit_test(test_respcheck_points_at_what_breaks_the_schema),
        cmocka_unit_test(test_respcheck_does_not_judge_a_cut_body),
        cmocka_unit_test(test_respcheck_wants_the_body_that_is_documented_and_no_other),
        cmocka_unit_test(test_respcheck_holds_a_problem_to_its_answer),
        cmocka_unit_test(test_respcheck_checks_each_event_as_it_passes),
        cmocka_unit_test(test_respcheck_lists_at_most_its_bound),
        cmocka_unit_test(test_redact_text_replaces_tokens_and_jwts_anywhere),
        cmocka_unit_test(test_redact_header_keeps_schemes_and_cookie_names),
        cmocka_unit_test(test_redact_json_takes_secret_members_and_tokens),
    };

    return cmocka_run_group_tests_name("respcheck and redact", tests, setup, teardown);
}
