/* Unit tests for common/problem: RFC 9457 bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "problem.h"
#include "xmalloc.h"

static int setup(void **state)
{
    (void)state;
    xmalloc_init_cjson();
    return 0;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_problem_carries_type_title_status_detail_and_code(void **state)
{
    cJSON *p = problem_new(404, "hogbox_not_found", "no hogbox '%s'", "hb_0123");

    (void)state;
    assert_string_equal(str(p, "type"), PROBLEM_TYPE_BASE "hogbox_not_found");
    assert_string_equal(str(p, "title"), "Hogbox not found");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "status")->valueint, 404);
    assert_string_equal(str(p, "detail"), "no hogbox 'hb_0123'");
    assert_string_equal(str(p, "code"), "hogbox_not_found");
    assert_null(cJSON_GetObjectItemCaseSensitive(p, "errors"));
    cJSON_Delete(p);
}

static void test_problem_without_detail_omits_it(void **state)
{
    cJSON *p = problem_new(500, "internal_error", NULL);

    (void)state;
    assert_null(cJSON_GetObjectItemCaseSensitive(p, "detail"));
    assert_string_equal(str(p, "title"), "Internal error");
    cJSON_Delete(p);
}

static void test_problem_keeps_a_long_detail_whole(void **state)
{
    char big[3000];
    cJSON *p;

    (void)state;
    memset(big, 'd', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    p = problem_new(422, "validation_failed", "x%sy", big);
    assert_int_equal(strlen(str(p, "detail")), sizeof(big) + 1);
    cJSON_Delete(p);
}

static void test_problem_collects_errors_with_pointers(void **state)
{
    cJSON *p = problem_new(422, "validation_failed", "the request body is invalid");
    const cJSON *errors, *e;

    (void)state;
    problem_add_error(p, "/cpus", "64 is greater than the maximum 8");
    problem_add_error(p, "/labels/a~1b", "is not a string");
    problem_add_param_error(p, "limit", "'abc' is not an integer");
    problem_set_request_id(p, "req_1");
    problem_set_request_id(p, "req_2");
    errors = cJSON_GetObjectItemCaseSensitive(p, "errors");
    assert_int_equal(cJSON_GetArraySize(errors), 3);
    assert_string_equal(str(cJSON_GetArrayItem(errors, 2), "parameter"), "limit");
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(errors, 2), "pointer"));
    e = cJSON_GetArrayItem(errors, 1);
    assert_string_equal(str(e, "pointer"), "/labels/a~1b");
    assert_string_equal(str(e, "detail"), "is not a string");
    assert_string_equal(str(p, "request_id"), "req_2");
    cJSON_Delete(p);
}

static void test_problem_renders_compact_json_that_parses_back(void **state)
{
    cJSON *p = problem_new(401, "invalid_token", "the token \"tok_\" is unknown"), *back;
    size_t len;
    char *text;

    (void)state;
    text = problem_render(p, &len);
    assert_int_equal(len, strlen(text));
    assert_null(strchr(text, '\n'));
    back = cJSON_Parse(text);
    assert_non_null(back);
    assert_true(cJSON_Compare(p, back, 1));
    free(text);
    cJSON_Delete(back);
    cJSON_Delete(p);
}

static void test_problem_titles_follow_the_catalogue(void **state)
{
    cJSON *p = problem_new(418, "teapot", NULL);

    (void)state;
    assert_string_equal(problem_title("invalid_state", 409), "Invalid state");
    assert_string_equal(problem_title("validation_failed", 422), "Validation failed");
    /* Codes outside the catalogue fall back to the reason phrase. */
    assert_string_equal(problem_title("whatever", 404), "Not Found");
    assert_string_equal(str(p, "title"), "Unknown Status");
    assert_string_equal(str(p, "type"), "urn:hogplane:problem:teapot");
    cJSON_Delete(p);
}

static void test_http_reason_knows_the_statuses_the_kit_sends(void **state)
{
    (void)state;
    assert_string_equal(http_reason(409), "Conflict");
    assert_string_equal(http_reason(413), "Content Too Large");
    assert_string_equal(http_reason(422), "Unprocessable Content");
    assert_string_equal(http_reason(429), "Too Many Requests");
    assert_string_equal(http_reason(599), "Unknown Status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_carries_type_title_status_detail_and_code),
        cmocka_unit_test(test_problem_without_detail_omits_it),
        cmocka_unit_test(test_problem_keeps_a_long_detail_whole),
        cmocka_unit_test(test_problem_collects_errors_with_pointers),
        cmocka_unit_test(test_problem_renders_compact_json_that_parses_back),
        cmocka_unit_test(test_problem_titles_follow_the_catalogue),
        cmocka_unit_test(test_http_reason_knows_the_statuses_the_kit_sends),
    };

    return cmocka_run_group_tests_name("problem", tests, setup, NULL);
}
