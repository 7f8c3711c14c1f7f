/* Unit tests for common/openapi: loading, $ref resolution, routing; and the real spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "openapi.h"
#include "xmalloc.h"

/* A small spec exercising every routing rule. */
static const char mini[] =
    "{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"t\", \"version\": \"1\"},"
    " \"paths\": {"
    "  \"/v1/things\": {"
    "    \"get\": {\"operationId\": \"listThings\","
    "            \"parameters\": [{\"$ref\": \"#/components/parameters/Limit\"}]},"
    "    \"post\": {\"operationId\": \"createThing\","
    "             \"requestBody\": {\"$ref\": \"#/components/requestBodies/Thing\"}}},"
    "  \"/v1/things/{id}\": {"
    "    \"parameters\": [{\"name\": \"id\", \"in\": \"path\", \"required\": true,"
    "                    \"schema\": {\"type\": \"string\"}}],"
    "    \"get\": {\"operationId\": \"getThing\"},"
    "    \"delete\": {\"operationId\": \"deleteThing\"}},"
    "  \"/v1/things/special\": {\"get\": {\"operationId\": \"getSpecial\"}},"
    "  \"/v1/things/{id}/files/report-{name}.json\": {"
    "    \"get\": {\"operationId\": \"getFile\", \"parameters\": ["
    "      {\"name\": \"id\", \"in\": \"path\", \"required\": true},"
    "      {\"name\": \"name\", \"in\": \"path\", \"required\": true}]}},"
    "  \"/v1/things/{id}/proxy/{port}/{rest}\": {"
    "    \"parameters\": ["
    "      {\"name\": \"id\", \"in\": \"path\", \"required\": true},"
    "      {\"name\": \"port\", \"in\": \"path\", \"required\": true,"
    "       \"schema\": {\"type\": \"integer\"}},"
    "      {\"name\": \"rest\", \"in\": \"path\", \"required\": true, \"x-hog-greedy\": true}],"
    "    \"get\": {\"operationId\": \"proxyGet\", \"x-hog-operation\": \"proxy\"},"
    "    \"post\": {\"operationId\": \"proxyPost\", \"x-hog-operation\": \"proxy\"}}"
    " },"
    " \"components\": {"
    "  \"parameters\": {\"Limit\": {\"name\": \"limit\", \"in\": \"query\","
    "     \"schema\": {\"$ref\": \"#/components/schemas/Limit\"}}},"
    "  \"schemas\": {\"Limit\": {\"type\": \"integer\", \"default\": 20},"
    "               \"A\": {\"$ref\": \"#/components/schemas/B\"},"
    "               \"B\": {\"$ref\": \"#/components/schemas/Limit\"}},"
    "  \"requestBodies\": {\"Thing\": {\"content\": {\"application/json\": {}}}}"
    " }}";

static struct openapi *load_text(const char *text, enum rc want, const char *want_msg)
{
    struct openapi *api = NULL;
    struct buf err = BUF_INIT;
    cJSON *doc = cJSON_Parse(text);
    enum rc rc;

    assert_non_null(doc);
    rc = openapi_from_json(doc, "mini.json", &api, &err);
    if (rc != want)
        fail_msg("rc %s, want %s: %s", rc_str(rc), rc_str(want), buf_cstr(&err));
    if (want_msg && !strstr(buf_cstr(&err), want_msg))
        fail_msg("message '%s' lacks '%s'", buf_cstr(&err), want_msg);
    buf_release(&err);
    return api;
}

static int setup(void **state)
{
    xmalloc_init_cjson();
    *state = load_text(mini, RC_OK, NULL);
    return 0;
}

static int teardown(void **state)
{
    openapi_free(*state);
    return 0;
}

static void expect_route(const struct openapi *api, const char *method, const char *path,
                         const char *op_id, const char *params)
{
    struct openapi_match m;
    struct buf got = BUF_INIT;
    enum rc rc = openapi_route(api, method, path, &m);
    size_t i;

    if (rc != RC_OK)
        fail_msg("%s %s: %s", method, path, rc_str(rc));
    assert_string_equal(m.op->operation_id, op_id);
    for (i = 0; i < m.nparams; i++)
        buf_addf(&got, "%s%s=%s", i ? " " : "", m.params[i].name, m.params[i].value);
    assert_string_equal(buf_cstr(&got), params);
    openapi_match_release(&m);
    buf_release(&got);
}

static void test_openapi_lists_operations_in_document_order(void **state)
{
    const struct openapi *api = *state;
    const struct openapi_op *op;

    assert_int_equal(openapi_op_count(api), 8);
    assert_string_equal(openapi_op_at(api, 0)->operation_id, "listThings");
    assert_string_equal(openapi_op_at(api, 0)->method, "GET");
    assert_null(openapi_op_at(api, 8));
    op = openapi_find_op(api, "proxyPost");
    assert_non_null(op);
    assert_string_equal(op->name, "proxy");
    assert_string_equal(openapi_find_op(api, "getThing")->name, "getThing");
    assert_null(openapi_find_op(api, "nope"));
    assert_string_equal(openapi_version(api), "3.1.0");
}

static void test_openapi_merges_path_item_parameters_and_resolves_refs(void **state)
{
    const struct openapi *api = *state;
    const struct openapi_op *list = openapi_find_op(api, "listThings");
    const struct openapi_op *get = openapi_find_op(api, "getThing");
    const struct openapi_op *create = openapi_find_op(api, "createThing");

    assert_int_equal(list->nparams, 1);
    assert_string_equal(list->params[0].name, "limit");
    assert_int_equal(list->params[0].in, OPENAPI_IN_QUERY);
    assert_true(list->params[0].explode);
    assert_string_equal(cJSON_GetObjectItem(list->params[0].schema, "type")->valuestring, "integer");
    assert_int_equal(get->nparams, 1);
    assert_true(get->params[0].required);
    assert_non_null(create->request_body);
    assert_non_null(cJSON_GetObjectItem(create->request_body, "content"));
}

static void test_openapi_deref_follows_chains(void **state)
{
    const struct openapi *api = *state;
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
        openapi_doc(api), "components"), "schemas"), "A"), *out;

    assert_int_equal(openapi_deref(api, a, &out, NULL), RC_OK);
    assert_string_equal(cJSON_GetObjectItem(out, "type")->valuestring, "integer");
}

static void test_openapi_routes_literals_before_templates(void **state)
{
    const struct openapi *api = *state;

    expect_route(api, "GET", "/v1/things", "listThings", "");
    expect_route(api, "POST", "/v1/things", "createThing", "");
    expect_route(api, "GET", "/v1/things/special", "getSpecial", "");
    expect_route(api, "GET", "/v1/things/hb_1", "getThing", "id=hb_1");
    expect_route(api, "DELETE", "/v1/things/hb_1", "deleteThing", "id=hb_1");
}

static void test_openapi_decodes_path_parameters(void **state)
{
    const struct openapi *api = *state;

    expect_route(api, "GET", "/v1/things/a%20b", "getThing", "id=a b");
    expect_route(api, "GET", "/v1/things/a%2Fb", "getThing", "id=a/b");
    expect_route(api, "GET", "/v1/thin%67s/x", "getThing", "id=x");
}

static void test_openapi_matches_partial_segments(void **state)
{
    const struct openapi *api = *state;

    expect_route(api, "GET", "/v1/things/t1/files/report-2026.tar.json", "getFile",
                 "id=t1 name=2026.tar");
}

static void test_openapi_greedy_parameter_takes_the_rest_undecoded(void **state)
{
    const struct openapi *api = *state;

    expect_route(api, "GET", "/v1/things/t1/proxy/8080/health", "proxyGet",
                 "id=t1 port=8080 rest=health");
    expect_route(api, "POST", "/v1/things/t1/proxy/8080/a/b%2Fc/", "proxyPost",
                 "id=t1 port=8080 rest=a/b%2Fc/");
    expect_route(api, "GET", "/v1/things/t1/proxy/8080/", "proxyGet", "id=t1 port=8080 rest=");
    expect_route(api, "GET", "/v1/things/t1/proxy/8080", "proxyGet", "id=t1 port=8080 rest=");
}

static void test_openapi_unknown_path_is_not_found(void **state)
{
    const struct openapi *api = *state;
    static const char *const paths[] = {
        "/", "", "v1/things", "/v1", "/v1/things/", "/v1/things//files", "/v2/things",
        "/v1/things/t1/unknown", "/V1/things", "/v1/things/t1/files/report-.json",
        "/v1/things/t1/files/report-x.yaml", "/v1/things/t1/files/x.json",
    };
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct openapi_match m;

        if (openapi_route(api, "GET", paths[i], &m) != RC_NOT_FOUND)
            fail_msg("'%s' was not a 404", paths[i]);
    }
}

static void test_openapi_wrong_method_is_405_with_allow(void **state)
{
    const struct openapi *api = *state;
    struct openapi_match m;

    assert_int_equal(openapi_route(api, "PUT", "/v1/things/t1", &m), RC_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, DELETE");
    assert_int_equal(openapi_route(api, "DELETE", "/v1/things", &m), RC_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, POST");
    /* Methods are case-sensitive (RFC 9110). */
    assert_int_equal(openapi_route(api, "get", "/v1/things", &m), RC_METHOD_NOT_ALLOWED);
    /* "special" is a literal path, but {id} also matches it and allows DELETE. */
    assert_int_equal(openapi_route(api, "DELETE", "/v1/things/special", &m), RC_OK);
    assert_string_equal(m.op->operation_id, "deleteThing");
    openapi_match_release(&m);
}

static void test_openapi_bad_escape_in_path_is_a_parse_error(void **state)
{
    const struct openapi *api = *state;
    struct openapi_match m;

    assert_int_equal(openapi_route(api, "GET", "/v1/things/a%zz", &m), RC_PARSE);
    assert_int_equal(openapi_route(api, "GET", "/v1/things/a%00", &m), RC_PARSE);
    assert_int_equal(openapi_route(api, "GET", "/v1/things/a%2", &m), RC_PARSE);
}

static void test_openapi_refuses_broken_documents(void **state)
{
    static const struct { const char *text; enum rc rc; const char *msg; } cases[] = {
        { "[]", RC_INVALID, "not an OpenAPI document" },
        { "{\"swagger\": \"2.0\"}", RC_UNSUPPORTED, "not an OpenAPI document" },
        { "{\"openapi\": \"2.0\"}", RC_UNSUPPORTED, "'2.0' is not supported" },
        { "{\"openapi\": \"3.0.3\", \"paths\": []}", RC_INVALID, "'paths' is not an object" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a\": {\"get\": {\"$ref\": \"#/nope\"}}}}",
          RC_NOT_FOUND, "unresolvable reference '#/nope' (at '#/paths/~1a/get')" },
        { "{\"openapi\": \"3.1.0\", \"x\": {\"$ref\": \"#/y\"}, \"y\": {\"$ref\": \"#/x\"}}",
          RC_CYCLE, "reference cycle" },
        { "{\"openapi\": \"3.1.0\", \"x\": {\"$ref\": \"other.yaml#/a\"}}",
          RC_UNSUPPORTED, "only local refs" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"a\": {}}}", RC_INVALID, "does not start with '/'" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a/{x\": {}}}", RC_INVALID, "malformed" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a/{x}{y}\": {}}}", RC_INVALID, "multiple" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a/{x}\": {\"get\": {}}}}", RC_INVALID,
          "GET /a/{x}: path parameter 'x' is not declared" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a\": {\"get\": {\"operationId\": \"o\"}},"
          " \"/b\": {\"get\": {\"operationId\": \"o\"}}}}", RC_INVALID, "operationId 'o' is used twice" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a/{r}/b\": {\"get\": {\"parameters\": [{\"name\":"
          " \"r\", \"in\": \"path\", \"x-hog-greedy\": true}]}}}}", RC_INVALID, "must be a whole, last segment" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a\": {\"get\": {\"parameters\": [{\"in\": \"query\"}]}}}}",
          RC_INVALID, "lacks a valid 'name'" },
        { "{\"openapi\": \"3.1.0\", \"paths\": {\"/a\": {\"get\": 3}}}", RC_INVALID, "not an operation object" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_null(load_text(cases[i].text, cases[i].rc, cases[i].msg));
}

static void test_openapi_routes_under_the_server_base_path(void **state)
{
    static const char *const specs[] = {
        "{\"openapi\": \"3.0.3\", \"servers\": [{\"url\": \"https://api.example.test/api/v2/\"}],"
        " \"paths\": {\"/me\": {\"get\": {\"operationId\": \"me\"}}, \"/\": {\"get\": {\"operationId\": \"root\"}}}}",
        "{\"openapi\": \"3.1.0\", \"servers\": [{\"url\": \"{scheme}://h/{base}\", \"variables\":"
        " {\"scheme\": {\"default\": \"https\"}, \"base\": {\"default\": \"api/v2\"}}}],"
        " \"paths\": {\"/me\": {\"get\": {\"operationId\": \"me\"}}, \"/\": {\"get\": {\"operationId\": \"root\"}}}}",
        "{\"openapi\": \"3.1.0\", \"servers\": [{\"url\": \"/api/v2\"}],"
        " \"paths\": {\"/me\": {\"get\": {\"operationId\": \"me\"}}, \"/\": {\"get\": {\"operationId\": \"root\"}}}}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct openapi *api = load_text(specs[i], RC_OK, NULL);
        struct openapi_match m;

        assert_string_equal(openapi_base_path(api), "/api/v2");
        expect_route(api, "GET", "/api/v2/me", "me", "");
        expect_route(api, "GET", "/api/v2", "root", "");
        expect_route(api, "GET", "/api/v2/", "root", "");
        assert_int_equal(openapi_route(api, "GET", "/me", &m), RC_NOT_FOUND);
        assert_int_equal(openapi_route(api, "GET", "/api/v2me", &m), RC_NOT_FOUND);
        openapi_free(api);
    }
}

static void test_openapi_server_without_path_has_no_base(void **state)
{
    (void)state;
    assert_string_equal(openapi_base_path(*state), "");
}

static void test_openapi_load_reports_a_missing_file(void **state)
{
    struct openapi *api;
    struct buf err = BUF_INIT;

    (void)state;
    assert_int_not_equal(openapi_load("/nonexistent/spec.yaml", &api, &err), RC_OK);
    assert_null(api);
    assert_non_null(strstr(buf_cstr(&err), "/nonexistent/spec.yaml"));
    buf_release(&err);
}

/* The real spec: every operation of DESIGN.md's table is there and routes. */
static void test_openapi_real_spec_routes_every_operation(void **state)
{
    static const struct { const char *method, *path, *op; } table[] = {
        { "GET", "/v1/me", "getMe" },
        { "GET", "/v1/limits", "getLimits" },
        { "POST", "/v1/hogboxes", "createHogbox" },
        { "GET", "/v1/hogboxes", "listHogboxes" },
        { "GET", "/v1/hogboxes/hb_0123456789abcdef", "getHogbox" },
        { "DELETE", "/v1/hogboxes/hb_0123456789abcdef", "destroyHogbox" },
        { "POST", "/v1/hogboxes/hb_0123456789abcdef/pause", "pauseHogbox" },
        { "POST", "/v1/hogboxes/hb_0123456789abcdef/resume", "resumeHogbox" },
        { "POST", "/v1/hogboxes/hb_0123456789abcdef/snapshot", "snapshotHogbox" },
        { "POST", "/v1/hogboxes/hb_0123456789abcdef/exec", "execHogbox" },
        { "POST", "/v1/hogboxes/hb_0123456789abcdef/exec/stream", "execHogboxStream" },
        { "PUT", "/v1/hogboxes/hb_0123456789abcdef/files", "writeFile" },
        { "GET", "/v1/hogboxes/hb_0123456789abcdef/files", "readFile" },
        { "GET", "/v1/hogboxes/hb_0123456789abcdef/proxy/8080/health", "proxyHogbox" },
        { "POST", "/v1/hogboxes/hb_0123456789abcdef/proxy/8080/a/b", "proxyHogboxPost" },
        { "DELETE", "/v1/hogboxes/hb_0123456789abcdef/proxy/3000/", "proxyHogboxDelete" },
        { "GET", "/v1/snapshots", "listSnapshots" },
        { "GET", "/v1/snapshots/snap_0123456789abcdef", "getSnapshot" },
        { "DELETE", "/v1/snapshots/snap_0123456789abcdef", "deleteSnapshot" },
    };
    const char *top = getenv("HOG_SRCDIR");
    struct openapi *api = NULL;
    struct buf path = BUF_INIT, err = BUF_INIT;
    size_t i;
    enum rc rc;

    (void)state;
    buf_addf(&path, "%s/openapi/hogplane.yaml", top ? top : ".");
    rc = openapi_load(buf_cstr(&path), &api, &err);
    if (rc != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct openapi_match m;

        if (openapi_route(api, table[i].method, table[i].path, &m) != RC_OK)
            fail_msg("%s %s does not route", table[i].method, table[i].path);
        assert_string_equal(m.op->operation_id, table[i].op);
        if (str_startswith(table[i].op, "proxyHogbox"))
            assert_string_equal(m.op->name, "proxyHogbox");
        else
            assert_string_equal(m.op->name, table[i].op);
        openapi_match_release(&m);
    }
    /* Every operation has an id of its own, and exactly the logical names of the table. */
    for (i = 0; i < openapi_op_count(api); i++)
        assert_true(cJSON_IsString(cJSON_GetObjectItem(openapi_op_at(api, i)->node, "operationId")));
    openapi_free(api);
    buf_release(&path);
    buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_lists_operations_in_document_order),
        cmocka_unit_test(test_openapi_merges_path_item_parameters_and_resolves_refs),
        cmocka_unit_test(test_openapi_deref_follows_chains),
        cmocka_unit_test(test_openapi_routes_literals_before_templates),
        cmocka_unit_test(test_openapi_decodes_path_parameters),
        cmocka_unit_test(test_openapi_matches_partial_segments),
        cmocka_unit_test(test_openapi_greedy_parameter_takes_the_rest_undecoded),
        cmocka_unit_test(test_openapi_unknown_path_is_not_found),
        cmocka_unit_test(test_openapi_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_openapi_bad_escape_in_path_is_a_parse_error),
        cmocka_unit_test(test_openapi_refuses_broken_documents),
        cmocka_unit_test(test_openapi_routes_under_the_server_base_path),
        cmocka_unit_test(test_openapi_server_without_path_has_no_base),
        cmocka_unit_test(test_openapi_load_reports_a_missing_file),
        cmocka_unit_test(test_openapi_real_spec_routes_every_operation),
    };

    return cmocka_run_group_tests_name("openapi", tests, setup, teardown);
}
