/* Unit tests for common/params: query and path parameters typed per their schemas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "params.h"
#include "xmalloc.h"

static const char spec[] =
    "{\"openapi\": \"3.1.0\", \"paths\": {"
    " \"/things\": {\"get\": {\"operationId\": \"list\", \"parameters\": ["
    "  {\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", \"default\": 20}},"
    "  {\"name\": \"cursor\", \"in\": \"query\", \"schema\": {\"type\": \"string\"}},"
    "  {\"name\": \"label\", \"in\": \"query\", \"schema\": {\"type\": \"array\","
    "    \"items\": {\"type\": \"string\"}}},"
    "  {\"name\": \"ids\", \"in\": \"query\", \"explode\": false, \"schema\": {\"type\": \"array\","
    "    \"items\": {\"type\": \"integer\"}}},"
    "  {\"name\": \"flag\", \"in\": \"query\", \"schema\": {\"type\": \"boolean\"}},"
    "  {\"name\": \"ratio\", \"in\": \"query\", \"schema\": {\"type\": \"number\"}},"
    "  {\"name\": \"maybe\", \"in\": \"query\", \"schema\": {\"type\": [\"integer\", \"null\"]}},"
    "  {\"name\": \"loose\", \"in\": \"query\"},"
    "  {\"name\": \"piped\", \"in\": \"query\", \"style\": \"pipeDelimited\", \"schema\": {\"type\": \"array\"}},"
    "  {\"name\": \"spaced\", \"in\": \"query\", \"style\": \"spaceDelimited\", \"schema\": {\"type\": \"array\","
    "    \"items\": {\"type\": \"integer\"}}},"
    "  {\"name\": \"filter\", \"in\": \"query\", \"style\": \"deepObject\", \"schema\": {\"type\": \"object\"}}]}},"
    " \"/files/{id}\": {\"put\": {\"operationId\": \"put\", \"parameters\": ["
    "  {\"name\": \"id\", \"in\": \"path\", \"schema\": {\"type\": \"string\"}},"
    "  {\"name\": \"path\", \"in\": \"query\", \"required\": true, \"schema\": {\"type\": \"string\"}}]}},"
    " \"/ports/{port}\": {\"get\": {\"operationId\": \"port\", \"parameters\": ["
    "  {\"name\": \"port\", \"in\": \"path\", \"schema\": {\"type\": \"integer\"}}]}}"
    "}}";

static int setup(void **state)
{
    struct openapi *api;
    struct buf err = BUF_INIT;

    xmalloc_init_cjson();
    if (openapi_from_json(cJSON_Parse(spec), "spec", &api, &err) != RC_OK) {
        print_error("%s\n", buf_cstr(&err));
        buf_release(&err);
        return -1;
    }
    *state = api;
    return 0;
}

static int teardown(void **state)
{
    openapi_free(*state);
    return 0;
}

/* Type query for op and compare the compact JSON with want (NULL: expect failure whose
 * issues, "name: detail; ...", equal want_issues). */
static void check(void **state, const char *op_id, const char *query, const char *want,
                  const char *want_issues)
{
    const struct openapi_op *op = openapi_find_op(*state, op_id);
    struct param_issues issues = { 0 };
    cJSON *out = NULL;
    enum rc rc = params_query(op, query, &out, &issues);

    if (want) {
        char *text;

        if (rc != RC_OK)
            fail_msg("'%s': %s: %s", query, rc_str(rc), issues.count ? issues.items[0].detail : "");
        text = cJSON_PrintUnformatted(out);
        assert_string_equal(text, want);
        cJSON_free(text);
    } else {
        struct buf got = BUF_INIT;
        size_t i;

        assert_int_equal(rc, RC_INVALID);
        assert_null(out);
        for (i = 0; i < issues.count; i++)
            buf_addf(&got, "%s%s: %s", i ? "; " : "", issues.items[i].name, issues.items[i].detail);
        assert_string_equal(buf_cstr(&got), want_issues);
        buf_release(&got);
    }
    cJSON_Delete(out);
    param_issues_release(&issues);
}

static void test_params_type_integers_booleans_numbers_and_strings(void **state)
{
    check(state, "list", "limit=5&cursor=abc&flag=true&ratio=-1.5e2",
          "{\"limit\":5,\"cursor\":\"abc\",\"flag\":true,\"ratio\":-150}", NULL);
    check(state, "list", "maybe=null", "{\"maybe\":null,\"limit\":20}", NULL);
    check(state, "list", "maybe=7", "{\"maybe\":7,\"limit\":20}", NULL);
    check(state, "list", "loose=1", "{\"loose\":\"1\",\"limit\":20}", NULL);
}

static void test_params_fill_defaults_and_ignore_unknown_names(void **state)
{
    check(state, "list", NULL, "{\"limit\":20}", NULL);
    check(state, "list", "", "{\"limit\":20}", NULL);
    check(state, "list", "other=1&&x", "{\"limit\":20}", NULL);
}

static void test_params_decode_escapes_and_plus(void **state)
{
    check(state, "list", "cursor=a%2Bb+c%26d", "{\"cursor\":\"a+b c&d\",\"limit\":20}", NULL);
    check(state, "list", "cur%73or=x", "{\"cursor\":\"x\",\"limit\":20}", NULL);
    check(state, "list", "cursor", "{\"cursor\":\"\",\"limit\":20}", NULL);
}

static void test_params_collect_arrays_in_both_styles(void **state)
{
    check(state, "list", "label=env%3Dprod&label=team%3Dcore",
          "{\"label\":[\"env=prod\",\"team=core\"],\"limit\":20}", NULL);
    check(state, "list", "ids=1,2,3", "{\"ids\":[1,2,3],\"limit\":20}", NULL);
    check(state, "list", "piped=a|b,c", "{\"piped\":[\"a\",\"b,c\"],\"limit\":20}", NULL);
    check(state, "list", "spaced=1%202+3", "{\"spaced\":[1,2,3],\"limit\":20}", NULL);
}

static void test_params_reject_values_of_the_wrong_type(void **state)
{
    check(state, "list", "limit=abc", NULL, "limit: 'abc' is not an integer");
    check(state, "list", "limit=1.5", NULL, "limit: '1.5' is not an integer");
    check(state, "list", "limit=", NULL, "limit: '' is not an integer");
    check(state, "list", "limit=99999999999999999999", NULL,
          "limit: '99999999999999999999' is not an integer");
    check(state, "list", "flag=yes", NULL, "flag: 'yes' is not a boolean (true or false)");
    check(state, "list", "ratio=0x10", NULL, "ratio: '0x10' is not a number");
    check(state, "list", "ratio=nan", NULL, "ratio: 'nan' is not a number");
    check(state, "list", "ratio=1e999", NULL, "ratio: '1e999' is not a number");
    check(state, "list", "ids=1,x", NULL, "ids: item 1: 'x' is not an integer");
    check(state, "list", "maybe=nil", NULL, "maybe: 'nil' is not an integer");
}

static void test_params_report_every_bad_parameter(void **state)
{
    check(state, "list", "limit=2&limit=3&flag=1&cursor=%zz", NULL,
          "limit: given more than once; it takes a single value; "
          "flag: '1' is not a boolean (true or false); "
          "cursor: the value has a malformed %-escape or an encoded NUL");
    check(state, "list", "cursor=%00", NULL,
          "cursor: the value has a malformed %-escape or an encoded NUL");
}

static void test_params_report_deep_object_style_as_unsupported(void **state)
{
    check(state, "list", "filter[state]=running&filter[label]=x", NULL,
          "filter: uses style deepObject, which is not supported");
    check(state, "list", "filterx=1", "{\"limit\":20}", NULL);
}

static void test_params_require_required_parameters(void **state)
{
    check(state, "put", "mode=0644", NULL, "path: is required");
    check(state, "put", "path=%2Ftmp%2Fa", "{\"path\":\"/tmp/a\"}", NULL);
}

static void test_params_cut_long_values_in_messages(void **state)
{
    char query[400];

    memcpy(query, "limit=", 6);
    memset(query + 6, '9', sizeof(query) - 7);
    query[sizeof(query) - 1] = '\0';
    {
        const struct openapi_op *op = openapi_find_op(*state, "list");
        struct param_issues issues = { 0 };
        cJSON *out;

        assert_int_equal(params_query(op, query, &out, &issues), RC_INVALID);
        assert_true(strlen(issues.items[0].detail) < 120);
        assert_non_null(strstr(issues.items[0].detail, "..."));
        param_issues_release(&issues);
    }
}

static void test_params_type_path_parameters(void **state)
{
    const struct openapi *api = *state;
    struct openapi_match m;
    struct param_issues issues = { 0 };
    cJSON *out;
    char *text;

    assert_int_equal(openapi_route(api, "GET", "/ports/8080", &m), RC_OK);
    assert_int_equal(params_path(m.op, &m, &out, &issues), RC_OK);
    text = cJSON_PrintUnformatted(out);
    assert_string_equal(text, "{\"port\":8080}");
    cJSON_free(text);
    cJSON_Delete(out);
    openapi_match_release(&m);

    assert_int_equal(openapi_route(api, "GET", "/ports/http", &m), RC_OK);
    assert_int_equal(params_path(m.op, &m, &out, &issues), RC_INVALID);
    assert_int_equal(issues.count, 1);
    assert_int_equal(issues.items[0].in, OPENAPI_IN_PATH);
    assert_string_equal(issues.items[0].detail, "'http' is not an integer");
    openapi_match_release(&m);
    param_issues_release(&issues);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_type_integers_booleans_numbers_and_strings),
        cmocka_unit_test(test_params_fill_defaults_and_ignore_unknown_names),
        cmocka_unit_test(test_params_decode_escapes_and_plus),
        cmocka_unit_test(test_params_collect_arrays_in_both_styles),
        cmocka_unit_test(test_params_reject_values_of_the_wrong_type),
        cmocka_unit_test(test_params_report_every_bad_parameter),
        cmocka_unit_test(test_params_report_deep_object_style_as_unsupported),
        cmocka_unit_test(test_params_require_required_parameters),
        cmocka_unit_test(test_params_cut_long_values_in_messages),
        cmocka_unit_test(test_params_type_path_parameters),
    };

    return cmocka_run_group_tests_name("params", tests, setup, teardown);
}
