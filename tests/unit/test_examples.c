/* Unit tests for common/examples, and the real spec's examples checked with our own
 * validator (a second opinion beside the linter's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "examples.h"
#include "problem.h"
#include "xmalloc.h"

static const char mini[] =
    "{\"openapi\": \"3.1.0\", \"paths\": {\"/x\": {\"post\": {\"operationId\": \"make\","
    " \"requestBody\": {\"content\": {\"application/json\": {"
    "   \"schema\": {\"$ref\": \"#/components/schemas/In\"},"
    "   \"examples\": {\"good\": {\"value\": {\"n\": 1}},"
    "                  \"bad\": {\"$ref\": \"#/components/examples/Bad\"},"
    "                  \"external\": {\"externalValue\": \"x.json\"}}}}},"
    " \"responses\": {"
    "  \"200\": {\"x-hog-sse-events\": {\"tick\": {\"$ref\": \"#/components/schemas/In\"}},"
    "    \"content\": {\"text/event-stream\": {\"examples\": {"
    "      \"ok\": {\"value\": \"event: tick\\ndata: {\\\"n\\\": 2}\\n\\n\"},"
    "      \"wrong\": {\"value\": \"event: tock\\ndata: {}\\n\\nevent: tick\\ndata: {\\\"n\\\": \\\"2\\\"}\\n\\n\"},"
    "      \"empty\": {\"value\": \"data: unfinished\"}}}}},"
    "  \"400\": {\"content\": {\"application/problem+json\": {\"schema\": {\"type\": \"object\"},"
    "    \"example\": [1]}}},"
    "  \"201\": {\"content\": {\"application/octet-stream\": {\"schema\": {\"type\": \"string\"},"
    "    \"example\": {\"a\": 1}}}}}}}},"
    " \"components\": {\"schemas\": {\"In\": {\"type\": \"object\", \"required\": [\"n\"],"
    "   \"properties\": {\"n\": {\"type\": \"integer\"}}}},"
    "  \"examples\": {\"Bad\": {\"value\": {\"n\": \"one\"}}}}}";

struct seen {
    const struct openapi *api;
    struct schema *schema;
    struct buf log;
};

static int record(const struct example *ex, void *ctx)
{
    struct seen *s = ctx;
    struct buf problems = BUF_INIT;
    size_t n = example_check(s->api, s->schema, ex, &problems);

    example_describe(ex, &s->log);
    buf_addf(&s->log, ": %zu\n%s", n, buf_cstr(&problems));
    buf_release(&problems);
    return 0;
}

static void test_examples_are_walked_and_checked(void **state)
{
    struct openapi *api;
    struct buf err = BUF_INIT;
    struct seen s = { NULL, NULL, BUF_INIT };

    (void)state;
    assert_int_equal(openapi_from_json(cJSON_Parse(mini), "mini", &api, &err), RC_OK);
    s.api = api;
    s.schema = schema_new(openapi_doc(api));
    assert_int_equal(examples_foreach(api, record, &s, &err), RC_OK);
    assert_string_equal(buf_cstr(&s.log),
        "POST /x request application/json 'good': 0\n"
        "POST /x request application/json 'bad': 1\n"
        "- /n: \"one\" is not of type \"integer\"\n"
        "POST /x 200 text/event-stream 'ok': 0\n"
        "POST /x 200 text/event-stream 'wrong': 2\n"
        "- event 1 'tock': the event is not listed in x-hog-sse-events\n"
        "- event 2 'tick': /n: \"2\" is not of type \"integer\"\n"
        "POST /x 200 text/event-stream 'empty': 1\n"
        "- the event stream holds no complete event\n"
        "POST /x 400 application/problem+json 'example': 1\n"
        "- /: [1] is not of type \"object\"\n"
        "POST /x 201 application/octet-stream 'example': 1\n"
        "- a 'application/octet-stream' example must be a string\n");
    schema_free(s.schema);
    openapi_free(api);
    buf_release(&s.log);
    buf_release(&err);
}

struct real {
    const struct openapi *api;
    struct schema *schema;
    size_t count, problems;
    struct buf report;
};

static int check_real(const struct example *ex, void *ctx)
{
    struct real *r = ctx;
    struct buf problems = BUF_INIT;
    size_t n = example_check(r->api, r->schema, ex, &problems);

    r->count++;
    if (n) {
        example_describe(ex, &r->report);
        buf_addf(&r->report, "\n%s", buf_cstr(&problems));
        r->problems += n;
    }
    /* Problem examples must use the title our builder gives their code. */
    if (strcmp(ex->media_type, PROBLEM_CONTENT_TYPE) == 0) {
        const cJSON *code = cJSON_GetObjectItem(ex->value, "code");
        const cJSON *title = cJSON_GetObjectItem(ex->value, "title");
        const cJSON *status = cJSON_GetObjectItem(ex->value, "status");

        if (!cJSON_IsString(code) || !cJSON_IsString(title) || !cJSON_IsNumber(status)
            || strcmp(problem_title(code->valuestring, status->valueint), title->valuestring)) {
            example_describe(ex, &r->report);
            buf_addstr(&r->report, ": title does not match the code catalogue\n");
            r->problems++;
        }
    }
    buf_release(&problems);
    return 0;
}

static void test_examples_of_the_real_spec_all_validate(void **state)
{
    const char *top = getenv("HOG_SRCDIR");
    struct real r = { NULL, NULL, 0, 0, BUF_INIT };
    struct buf path = BUF_INIT, err = BUF_INIT;
    struct openapi *api;

    (void)state;
    buf_addf(&path, "%s/openapi/hogplane.yaml", top ? top : ".");
    if (openapi_load(buf_cstr(&path), &api, &err) != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    r.api = api;
    r.schema = schema_new(openapi_doc(api));
    assert_int_equal(examples_foreach(api, check_real, &r, &err), RC_OK);
    if (r.problems)
        fail_msg("%zu problems:\n%s", r.problems, buf_cstr(&r.report));
    /* Every operation has at least one example per documented response with a body. */
    assert_true(r.count >= 300);
    schema_free(r.schema);
    openapi_free(api);
    buf_release(&r.report);
    buf_release(&path);
    buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_are_walked_and_checked),
        cmocka_unit_test(test_examples_of_the_real_spec_all_validate),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("examples", tests, NULL, NULL);
}
