/* Integration tests for POST /__hogmock/journal/verify: every kind of check, passing and
 * failing with its message, gaps on the virtual clock, and malformed checks refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define ALICE "tok_alice"

/* Each test starts from an empty journal. */
static int reset(void **state)
{
    struct resp r;

    mock_expect(*state, "adminReset", 200, "POST", "/__hogmock/reset", NULL, "{}", &r);
    resp_release(&r);
    return 0;
}

/* POST the verify request json, expect 200; the answer's checks array (in r). */
static const cJSON *verify(struct mock *m, const char *json, bool passed, struct resp *r)
{
    const cJSON *answer = mock_expect(m, "adminJournalVerify", 200, "POST",
                                      "/__hogmock/journal/verify", NULL, json, r);

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(answer, "passed")) != passed)
        fail_msg("passed is not %s: %s", passed ? "true" : "false", buf_cstr(&r->body));
    return cJSON_GetObjectItemCaseSensitive(answer, "checks");
}

/* Check i of checks: its verdict and a piece of its message. */
static const cJSON *verdict(const cJSON *checks, int i, bool passed, const char *in_message)
{
    const cJSON *c = cJSON_GetArrayItem(checks, i);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");

    if (!c)
        fail_msg("no check %d", i);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "passed")) != passed
        || !cJSON_IsString(msg) || !strstr(msg->valuestring, in_message)) {
        char *text = cJSON_PrintUnformatted(c);

        fail_msg("check %d: expected %s with '%s' in the message, got %s", i,
                 passed ? "a pass" : "a failure", in_message, text);
    }
    return c;
}

static int seq_at(const cJSON *check, int i)
{
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(check, "seqs"), i);

    assert_non_null(s);
    return s->valueint;
}

static void call(struct mock *m, const char *method, const char *target, const char *token,
                 long status)
{
    struct resp r;

    mock_json(m, method, target, token, NULL, &r);
    assert_int_equal(r.status, status);
    resp_release(&r);
}

static void advance(struct mock *m, long ms)
{
    struct resp r;
    char body[64];

    snprintf(body, sizeof(body), "{\"ms\": %ld}", ms);
    mock_expect(m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL, body, &r);
    resp_release(&r);
}

static void test_verify_counts_requests_against_exact_min_and_max(void **state)
{
    struct mock *m = *state;
    const cJSON *checks, *c;
    struct resp r;

    call(m, "GET", "/v1/me", ALICE, 200);
    call(m, "GET", "/v1/me", ALICE, 200);
    call(m, "GET", "/v1/me", "tok_nobody", 401);
    checks = verify(m, "{\"checks\": ["
                       "{\"kind\": \"count\", \"name\": \"two good\", \"match\": {\"op\": \"getMe\","
                       " \"status\": 200}, \"exact\": 2},"
                       "{\"kind\": \"count\", \"match\": {\"op\": \"getMe\"}, \"min\": 4},"
                       "{\"kind\": \"count\", \"match\": {\"status\": 401}, \"max\": 0},"
                       "{\"kind\": \"count\", \"match\": {\"method\": \"get\", \"path\": \"/v1/*\"},"
                       " \"min\": 1, \"max\": 3}"
                       "]}", false, &r);
    assert_int_equal(cJSON_GetArraySize(checks), 4);
    c = verdict(checks, 0, true, "2 requests match op=getMe status=200: exactly 2 expected");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, "two good");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(c, "count")->valueint, 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "seqs")), 2);
    verdict(checks, 1, false, "3 requests match op=getMe, expected at least 4");
    c = verdict(checks, 2, false, "1 request matches status=401, expected at most 0");
    assert_int_equal(seq_at(c, 0), seq_at(cJSON_GetArrayItem(checks, 1), 2));
    verdict(checks, 3, true, "3 requests match method=get path=/v1/*: from 1 to 3 expected");
    resp_release(&r);
}

static void test_verify_matches_headers_by_regex_on_the_redacted_value(void **state)
{
    static const char *const ua[] = { "User-Agent: hogland-python/1.4.0", NULL };
    struct mock *m = *state;
    const cJSON *checks;
    struct resp r;

    mock_call(m, "GET", "/v1/me", ALICE, NULL, 0, ua, &r);
    resp_release(&r);
    call(m, "GET", "/v1/limits", ALICE, 200);
    checks = verify(m, "{\"checks\": ["
                       "{\"kind\": \"count\", \"match\": {\"header\": {\"name\": \"User-Agent\","
                       " \"regex\": \"^hogland-python/\\\\d+\\\\.\"}}, \"exact\": 1},"
                       "{\"kind\": \"count\", \"match\": {\"header\": {\"name\": \"authorization\","
                       " \"regex\": \"^Bearer fp_[0-9a-f]{12}$\"}}, \"exact\": 2},"
                       "{\"kind\": \"count\", \"match\": {\"header\": {\"name\": \"authorization\","
                       " \"regex\": \"tok_alice\"}}, \"max\": 0},"
                       "{\"kind\": \"count\", \"match\": {\"header\": {\"name\": \"x-absent\"}},"
                       " \"exact\": 1}"
                       "]}", false, &r);
    verdict(checks, 0, true, "header user-agent~/^hogland-python/\\d+\\./: exactly 1");
    /* The journal keeps fingerprints, never the token: the regex sees what it keeps. */
    verdict(checks, 1, true, "2 requests match header authorization~");
    verdict(checks, 2, true, "0 requests match");
    verdict(checks, 3, false, "0 requests match header x-absent, expected exactly 1");
    resp_release(&r);
}

static void test_verify_checks_order_without_adjacency(void **state)
{
    struct mock *m = *state;
    const cJSON *checks, *c;
    struct resp r;
    char target[128], *box;

    box = mock_new_box(m, ALICE);
    call(m, "GET", "/v1/me", ALICE, 200);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/pause", box);
    call(m, "POST", target, ALICE, 200);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/resume", box);
    call(m, "POST", target, ALICE, 200);
    checks = verify(m, "{\"checks\": ["
                       "{\"kind\": \"order\", \"steps\": [{\"op\": \"createHogbox\"},"
                       " {\"op\": \"pauseHogbox\"}, {\"op\": \"resumeHogbox\"}]},"
                       "{\"kind\": \"order\", \"steps\": [{\"op\": \"resumeHogbox\"},"
                       " {\"op\": \"pauseHogbox\"}]},"
                       "{\"kind\": \"order\", \"steps\": [{\"op\": \"getMe\"},"
                       " {\"op\": \"deleteSnapshot\"}]},"
                       "{\"kind\": \"order\", \"steps\": [{\"op\": \"destroyHogbox\"}]}"
                       "]}", false, &r);
    c = verdict(checks, 0, true, "the 3 steps occur in order (seqs ");
    assert_true(seq_at(c, 0) < seq_at(c, 1) && seq_at(c, 1) < seq_at(c, 2));
    c = verdict(checks, 1, false, "step 2 of 2 (op=pauseHogbox) does not occur after step 1");
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(c, "message")->valuestring,
                           "it matches 1 earlier request, the first at seq"));
    verdict(checks, 2, false, "step 2 of 2 (op=deleteSnapshot) does not occur after step 1");
    verdict(checks, 3, false, "step 1 of 1 (op=destroyHogbox) matches no request");
    free(box);
    resp_release(&r);
}

static void test_verify_measures_gaps_on_the_virtual_clock(void **state)
{
    struct mock *m = *state;
    const cJSON *checks, *c, *gaps;
    struct resp r;

    call(m, "GET", "/v1/me", ALICE, 200);
    advance(m, 1000);
    call(m, "GET", "/v1/me", ALICE, 200);
    advance(m, 250);
    call(m, "GET", "/v1/me", ALICE, 200);
    checks = verify(m, "{\"checks\": ["
                       "{\"kind\": \"gaps\", \"match\": {\"op\": \"getMe\"}, \"min_ms\": 1000},"
                       "{\"kind\": \"gaps\", \"match\": {\"op\": \"getMe\"}, \"min_ms\": 200,"
                       " \"max_ms\": 1000},"
                       "{\"kind\": \"gaps\", \"match\": {\"op\": \"getMe\"}, \"clock\": \"monotonic\","
                       " \"max_ms\": 60000},"
                       "{\"kind\": \"gaps\", \"match\": {\"op\": \"getMe\"}, \"clock\": \"monotonic\","
                       " \"min_ms\": 1000},"
                       "{\"kind\": \"gaps\", \"match\": {\"op\": \"getLimits\"}, \"min_ms\": 1}"
                       "]}", false, &r);
    c = verdict(checks, 0, false, "1 of 2 gaps between requests matching op=getMe, on "
                                       "hogmock's clock (virtual) is not at least 1000 ms: 250 ms "
                                       "from seq ");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(c, "clock")->valuestring, "hogmock");
    gaps = cJSON_GetObjectItemCaseSensitive(c, "gaps");
    assert_int_equal(cJSON_GetArraySize(gaps), 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gaps, 0), "ms")->valueint,
                     1000);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gaps, 0),
                                                              "passed")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(gaps, 1), "ms")->valueint,
                     250);
    verdict(checks, 1, true, "2 gaps between requests matching op=getMe, on hogmock's clock "
                                  "(virtual), from 250 ms to 1000 ms, all from 200 to 1000 ms");
    /* The virtual clock moved a second; real time hardly did. */
    c = verdict(checks, 2, true, "on the monotonic clock (real time)");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(c, "clock")->valuestring, "monotonic");
    verdict(checks, 3, false, "2 of 2 gaps between requests matching op=getMe, on the "
                                   "monotonic clock (real time) are not at least 1000 ms");
    verdict(checks, 4, true, "no gap to check between requests matching op=getLimits");
    resp_release(&r);
}

static void test_verify_gaps_after_a_refusal_show_whether_the_client_waited(void **state)
{
    struct mock *m = *state;
    const cJSON *checks, *c;
    struct resp r;

    /* Refused, retried at once, refused again, then a retry a second later. */
    call(m, "GET", "/v1/me", "tok_nobody", 401);
    call(m, "GET", "/v1/me", "tok_nobody", 401);
    advance(m, 1000);
    call(m, "GET", "/v1/me", ALICE, 200);
    advance(m, 10);
    call(m, "GET", "/v1/me", ALICE, 200);
    checks = verify(m, "{\"checks\": ["
                       "{\"kind\": \"gaps\", \"name\": \"waited after each 401\","
                       " \"match\": {\"op\": \"getMe\"}, \"after\": {\"status\": 401},"
                       " \"min_ms\": 1000},"
                       "{\"kind\": \"gaps\", \"match\": {\"op\": \"getMe\"},"
                       " \"after\": {\"status\": 200}, \"max_ms\": 10}"
                       "]}", false, &r);
    c = verdict(checks, 0, false, "1 of 2 gaps between requests matching op=getMe that "
                                       "follow one matching status=401, on hogmock's clock "
                                       "(virtual) is not at least 1000 ms: 0 ms from seq ");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "gaps")), 2);
    verdict(checks, 1, true, "1 gap between requests matching op=getMe that follow one "
                                  "matching status=200");
    resp_release(&r);
}

static void test_verify_lists_requests_that_matched_no_operation(void **state)
{
    struct mock *m = *state;
    const cJSON *checks, *c;
    struct resp r;

    checks = verify(m, "{\"checks\": [{\"kind\": \"unmatched\"},"
                       "{\"kind\": \"unmatched\", \"empty\": false}]}", false, &r);
    verdict(checks, 0, true, "every request matched an operation of the spec");
    verdict(checks, 1, false, "but unmatched ones were expected");
    resp_release(&r);

    call(m, "GET", "/v1/me", ALICE, 200);
    call(m, "GET", "/v1/hogbox", ALICE, 404);
    call(m, "DELETE", "/v2/things?x=1", ALICE, 404);
    call(m, "GET", "/__hogmock/nothing", NULL, 404);
    checks = verify(m, "{\"checks\": [{\"kind\": \"unmatched\", \"empty\": true},"
                       "{\"kind\": \"unmatched\", \"empty\": false}]}", false, &r);
    c = verdict(checks, 0, false, "2 requests matched no operation of the spec: GET "
                                       "/v1/hogbox (seq ");
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(c, "message")->valuestring,
                           "DELETE /v2/things?x=1 (seq "));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(c, "count")->valueint, 2);
    verdict(checks, 1, true, "as expected");
    resp_release(&r);
}

static void test_verify_counts_neither_admin_requests_nor_those_before_since(void **state)
{
    struct mock *m = *state;
    const cJSON *checks, *c;
    struct resp r;
    char body[160];
    int last;

    call(m, "GET", "/v1/me", ALICE, 200);
    call(m, "GET", "/__hogmock/health", NULL, 200);
    checks = verify(m, "{\"checks\": [{\"kind\": \"count\", \"exact\": 1}]}", true, &r);
    c = verdict(checks, 0, true, "1 request matches any request: exactly 1 expected");
    last = seq_at(c, 0);
    resp_release(&r);
    call(m, "GET", "/v1/limits", ALICE, 200);
    snprintf(body, sizeof(body), "{\"since\": %d, \"checks\": [{\"kind\": \"count\", \"match\": {},"
             " \"exact\": 1}, {\"kind\": \"count\", \"match\": {\"op\": \"getMe\"}, \"max\": 0}]}",
             last);
    checks = verify(m, body, true, &r);
    verdict(checks, 0, true, "1 request matches any request");
    verdict(checks, 1, true, "0 requests match op=getMe: at most 0 expected");
    resp_release(&r);
}

static void test_journal_entries_carry_monotonic_arrival_times(void **state)
{
    struct mock *m = *state;
    const cJSON *items, *a, *b;
    struct resp r;

    call(m, "GET", "/v1/me", ALICE, 200);
    mock_pause_ms(20);
    call(m, "GET", "/v1/me", ALICE, 200);
    items = cJSON_GetObjectItemCaseSensitive(
        mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?op=getMe", NULL, NULL, &r),
        "items");
    a = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0), "mono_ms");
    b = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1), "mono_ms");
    assert_true(cJSON_IsNumber(a) && cJSON_IsNumber(b));
    assert_true(b->valuedouble - a->valuedouble >= 19.0);
    resp_release(&r);
}

/* A 422 whose first error points at pointer and says detail_part. */
static void expect_refused(struct mock *m, const char *json, const char *pointer,
                           const char *detail_part)
{
    const cJSON *err, *p, *d;
    struct resp r;

    mock_expect(m, "adminJournalVerify", 422, "POST", "/__hogmock/journal/verify", NULL, json, &r);
    mock_check_problem(&r, "validation_failed");
    err = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "errors"), 0);
    p = cJSON_GetObjectItemCaseSensitive(err, "pointer");
    d = cJSON_GetObjectItemCaseSensitive(err, "detail");
    if (!cJSON_IsString(p) || strcmp(p->valuestring, pointer) != 0 || !cJSON_IsString(d)
        || (detail_part && !strstr(d->valuestring, detail_part)))
        fail_msg("expected %s with '%s': %s", pointer, detail_part ? detail_part : "",
                 buf_cstr(&r.body));
    resp_release(&r);
}

static void test_verify_refuses_a_malformed_check_with_a_pointer(void **state)
{
    struct mock *m = *state;

    expect_refused(m, "{\"checks\": [{\"kind\": \"count\", \"min\": 3, \"max\": 1}]}",
                   "/checks/0/min", "min 3 is more than max 1");
    expect_refused(m, "{\"checks\": [{\"kind\": \"unmatched\"}, {\"kind\": \"count\","
                      " \"exact\": 1, \"max\": 2}]}",
                   "/checks/1/exact", "exact leaves no room for max");
    expect_refused(m, "{\"checks\": [{\"kind\": \"count\", \"match\": {\"op\": \"getMe\"}}]}",
                   "/checks/0", "a count check needs exact, min or max");
    expect_refused(m, "{\"checks\": [{\"kind\": \"gaps\", \"match\": {}}]}",
                   "/checks/0", "a gaps check needs min_ms or max_ms");
    expect_refused(m, "{\"checks\": [{\"kind\": \"gaps\", \"min_ms\": 5, \"max_ms\": 1}]}",
                   "/checks/0/min_ms", "min_ms 5 is more than max_ms 1");
    expect_refused(m, "{\"checks\": [{\"kind\": \"order\", \"steps\": [{}, {\"header\":"
                      " {\"name\": \"x\", \"regex\": \"(ab\"}}]}]}",
                   "/checks/0/steps/1/header/regex", "not a valid regular expression");
    expect_refused(m, "{\"checks\": [{\"kind\": \"gaps\", \"min_ms\": 1, \"after\": {\"header\":"
                      " {\"name\": \"x\", \"regex\": \"[\"}}}]}",
                   "/checks/0/after/header/regex", "not a valid regular expression");
    expect_refused(m, "{\"checks\": [{\"kind\": \"count\", \"exact\": 1, \"steps\": [{}]}]}",
                   "/checks/0/steps", "a count check does not take steps (it takes name, match, "
                   "exact, min, max)");
    expect_refused(m, "{\"checks\": [{\"kind\": \"order\", \"steps\": [{}], \"min_ms\": 1}]}",
                   "/checks/0/min_ms", "an order check does not take min_ms");
    /* The schema's own refusals point the same way. */
    expect_refused(m, "{\"checks\": []}", "/checks", NULL);
    expect_refused(m, "{\"checks\": [{\"kind\": \"count\", \"exact\": -1}]}",
                   "/checks/0/exact", "less than the minimum 0");
    expect_refused(m, "{\"checks\": [{\"kind\": \"sometimes\"}]}", "/checks/0/kind", NULL);
    expect_refused(m, "{\"checks\": [{\"kind\": \"count\", \"exactly\": 1}]}",
                   "/checks/0/exactly", "not allowed");
    expect_refused(m, "{\"checks\": [{\"kind\": \"gaps\", \"min_ms\": 1, \"clock\": \"wall\"}]}",
                   "/checks/0/clock", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_verify_counts_requests_against_exact_min_and_max, reset),
        cmocka_unit_test_setup(test_verify_matches_headers_by_regex_on_the_redacted_value, reset),
        cmocka_unit_test_setup(test_verify_checks_order_without_adjacency, reset),
        cmocka_unit_test_setup(test_verify_measures_gaps_on_the_virtual_clock, reset),
        cmocka_unit_test_setup(test_verify_gaps_after_a_refusal_show_whether_the_client_waited,
                               reset),
        cmocka_unit_test_setup(test_verify_lists_requests_that_matched_no_operation, reset),
        cmocka_unit_test_setup(test_verify_counts_neither_admin_requests_nor_those_before_since,
                               reset),
        cmocka_unit_test_setup(test_journal_entries_carry_monotonic_arrival_times, reset),
        cmocka_unit_test_setup(test_verify_refuses_a_malformed_check_with_a_pointer, reset),
    };

    return cmocka_run_group_tests_name("verify", tests, mock_setup, mock_teardown);
}
