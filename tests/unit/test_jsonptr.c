/* Unit tests for common/jsonptr: RFC 6901 resolution, escaping and fragments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jsonptr.h"
#include "xmalloc.h"

/* The example document of RFC 6901 section 5. */
static const char rfc_doc[] =
    "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3,"
    " \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8}";

static int setup(void **state)
{
    xmalloc_init_cjson();
    *state = cJSON_Parse(rfc_doc);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    cJSON_Delete(*state);
    return 0;
}

static void test_jsonptr_resolves_the_rfc_examples(void **state)
{
    const cJSON *doc = *state;
    static const struct { const char *ptr; int number; } cases[] = {
        { "/", 0 }, { "/a~1b", 1 }, { "/c%d", 2 }, { "/e^f", 3 }, { "/g|h", 4 },
        { "/i\\j", 5 }, { "/k\"l", 6 }, { "/ ", 7 }, { "/m~0n", 8 },
    };
    size_t i;

    assert_ptr_equal(jsonptr_get(doc, ""), doc);
    assert_string_equal(jsonptr_get(doc, "/foo/0")->valuestring, "bar");
    assert_string_equal(jsonptr_get(doc, "/foo/1")->valuestring, "baz");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cJSON *n = jsonptr_get(doc, cases[i].ptr);

        assert_non_null(n);
        assert_int_equal(n->valueint, cases[i].number);
    }
}

static void test_jsonptr_refuses_bad_pointers_and_indexes(void **state)
{
    const cJSON *doc = *state;
    static const char *const bad[] = {
        "foo", "/foo/2", "/foo/-", "/foo/01", "/foo/+1", "/foo/ 1", "/foo/1x",
        "/missing", "/m~2n", "/m~", "/foo/0/deeper", "/foo/99999999999",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(jsonptr_get(doc, bad[i]));
}

static void test_jsonptr_append_escapes_tilde_and_slash(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    jsonptr_append(&b, "labels");
    jsonptr_append(&b, "a/b~c");
    jsonptr_append_index(&b, 3);
    jsonptr_append(&b, "");
    assert_string_equal(buf_cstr(&b), "/labels/a~1b~0c/3/");
    buf_release(&b);
}

static void test_jsonptr_append_round_trips_through_get(void **state)
{
    const cJSON *doc = *state, *child;

    cJSON_ArrayForEach(child, doc) {
        struct buf b = BUF_INIT;

        jsonptr_append(&b, child->string);
        assert_ptr_equal(jsonptr_get(doc, buf_cstr(&b)), child);
        buf_release(&b);
    }
}

static void test_jsonptr_fragment_is_percent_decoded(void **state)
{
    static const struct { const char *frag, *ptr; } cases[] = {
        { "#", "" },
        { "#/components/schemas/Hogbox", "/components/schemas/Hogbox" },
        { "#/c%25d", "/c%d" },
        { "#/%20", "/ " },
        { "/a~1b", "/a~1b" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT;

        assert_int_equal(jsonptr_from_fragment(cases[i].frag, &b), RC_OK);
        assert_string_equal(buf_cstr(&b), cases[i].ptr);
        buf_release(&b);
    }
}

static void test_jsonptr_fragment_refuses_bad_escapes(void **state)
{
    static const char *const bad[] = { "#/a%2", "#/a%zz", "#/a%00", "#a", "components" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b = BUF_INIT;

        assert_int_equal(jsonptr_from_fragment(bad[i], &b), RC_PARSE);
        buf_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jsonptr_resolves_the_rfc_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonptr_refuses_bad_pointers_and_indexes, setup, teardown),
        cmocka_unit_test(test_jsonptr_append_escapes_tilde_and_slash),
        cmocka_unit_test_setup_teardown(test_jsonptr_append_round_trips_through_get, setup, teardown),
        cmocka_unit_test(test_jsonptr_fragment_is_percent_decoded),
        cmocka_unit_test(test_jsonptr_fragment_refuses_bad_escapes),
    };

    return cmocka_run_group_tests_name("jsonptr", tests, NULL, NULL);
}
