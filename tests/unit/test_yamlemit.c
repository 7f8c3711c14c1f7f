/* Unit tests for common/yamlemit: what it writes reads back as the same tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "xmalloc.h"
#include "yamlemit.h"
#include "yamljson.h"

/* Emit doc, parse it back, and fail unless the trees are equal; returns the text (caller
 * frees). */
static char *round_trip(const cJSON *doc)
{
    struct buf text = BUF_INIT, err = BUF_INIT;
    cJSON *back = NULL;

    yamlemit_doc(&text, doc);
    if (yamljson_parse(text.data, text.len, "emitted.yaml", &back, &err) != RC_OK)
        fail_msg("does not parse back: %s\n---\n%s", buf_cstr(&err), buf_cstr(&text));
    if (!cJSON_Compare(doc, back, 1)) {
        char *a = cJSON_PrintUnformatted(doc), *b = cJSON_PrintUnformatted(back);

        fail_msg("reads back differently:\n%s\n%s\n---\n%s", a, b, buf_cstr(&text));
    }
    cJSON_Delete(back);
    buf_release(&err);
    return buf_detach(&text, NULL);
}

static void test_yamlemit_round_trips_strings_that_look_like_other_things(void **state)
{
    static const char *const tricky[] = {
        "", " ", "null", "Null", "~", "true", "False", "yes", "NO", "on", "off", "y", "n",
        "0", "007", "0x1f", "0o17", "1e3", "-1", "+1", ".5", ".inf", ".NaN", "-", "- item",
        "?", "a: b", "a:", "a #b", "#c", "&anchor", "*alias", "!tag", "|", ">", "'q'",
        "\"q\"", "%YAML", "@x", "`x`", "[a]", "{a: 1}", ",", "<<", "=", "---", "...",
        " leading", "trailing ", "tab\there", "nul-free\x01" "control", "del\x7f",
        "caf\xc3\xa9", "bad \xff" " byte", "line\u2028sep", "\xef\xbb\xbf" "bom",
        "2025-06-03T10:15:30Z", "a,b", "plain text", "https://example.com/a?b=c#d",
    };
    cJSON *doc = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(doc, "list");
    size_t i;
    char *text;

    (void)state;
    for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        char key[16];

        /* Invalid UTF-8 cannot survive as such: the tree keeps U+FFFD instead. */
        if (strchr(tricky[i], '\xff')) {
            cJSON_AddItemToArray(list, cJSON_CreateString("bad \xef\xbf\xbd byte"));
            continue;
        }
        cJSON_AddItemToArray(list, cJSON_CreateString(tricky[i]));
        snprintf(key, sizeof(key), "k%zu", i);
        cJSON_AddStringToObject(doc, key, tricky[i]);
        cJSON_AddNumberToObject(doc, tricky[i], (double)i);
    }
    text = round_trip(doc);
    assert_non_null(strstr(text, "plain text\n"));
    assert_non_null(strstr(text, "\"null\""));
    free(text);
    cJSON_Delete(doc);
}

static void test_yamlemit_writes_lines_as_literal_blocks(void **state)
{
    static const char *const texts[] = {
        "one\ntwo", "one\ntwo\n", "one\n\n", "one\n\n\n", "a\n\nb\n", "event: stdout\nid: 1\n"
        "data: {\"data\": \"hi\\n\"}\n\n", "  indented first\nline\n", "\nleading newline",
        "trailing space \nx", "tab\tinside\nx", "cr\r\nlf", "x\n  indented\n    more\n",
        "- dash\n# hash\n",
    };
    cJSON *doc = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(doc, "list");
    cJSON *nested = cJSON_CreateObject();
    size_t i;
    char *text;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char key[16];

        snprintf(key, sizeof(key), "t%zu", i);
        cJSON_AddStringToObject(doc, key, texts[i]);
        cJSON_AddItemToArray(list, cJSON_CreateString(texts[i]));
    }
    cJSON_AddStringToObject(nested, "body_text", "a\nb\n");
    cJSON_AddItemToArray(list, nested);
    text = round_trip(doc);
    assert_non_null(strstr(text, "t1: |\n  one\n  two\n"));
    assert_non_null(strstr(text, "t0: |-\n"));
    assert_non_null(strstr(text, "t3: |+\n"));
    assert_non_null(strstr(text, "  - body_text: |\n      a\n      b\n"));
    free(text);
    cJSON_Delete(doc);
}

static void test_yamlemit_round_trips_nesting_numbers_and_empties(void **state)
{
    static const char json[] =
        "{\"a\":{\"b\":[1,2.5,-3,1e300,0.1,1780000000123,123456789012345678,true,false,null],"
        "\"c\":{},\"d\":[],\"e\":[[1,[2]],[],{}],\"f\":[{\"x\":1,\"y\":{\"z\":[\"w\"]}},{}]},"
        "\"\":\"empty key\",\"list\":[{\"k\":\"multi\\nline\\n\",\"m\":[1]}]}";
    cJSON *doc = cJSON_Parse(json);
    char *text;

    (void)state;
    assert_non_null(doc);
    text = round_trip(doc);
    free(text);
    cJSON_Delete(doc);
}

static void test_yamlemit_writes_json_for_keys_too_long_for_yaml(void **state)
{
    char key[YAMLEMIT_MAX_KEY + 10];
    cJSON *doc = cJSON_CreateObject();
    char *text;

    (void)state;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    cJSON_AddStringToObject(cJSON_AddObjectToObject(doc, "inner"), key, "v");
    text = round_trip(doc);
    assert_int_equal(text[0], '{');
    free(text);
    cJSON_Delete(doc);
}

static void test_yamlemit_writes_a_lone_scalar(void **state)
{
    cJSON *s = cJSON_CreateString("true"), *n = cJSON_CreateNumber(42), *o = cJSON_CreateObject();
    char *text;

    (void)state;
    text = round_trip(s);
    assert_string_equal(text, "\"true\"\n");
    free(text);
    text = round_trip(n);
    assert_string_equal(text, "42\n");
    free(text);
    text = round_trip(o);
    assert_string_equal(text, "{}\n");
    free(text);
    cJSON_Delete(s);
    cJSON_Delete(n);
    cJSON_Delete(o);
}

/* Found by tests/fuzz/fuzz_yamljson (corpus: yamljson/long-escaped-key): a key under
 * YAMLEMIT_MAX_KEY bytes whose escapes take it over as written was written as YAML that
 * libyaml refuses (an implicit key of more than 1024 characters). */
static void test_yamlemit_writes_json_for_keys_long_once_escaped(void **state)
{
    char key[901];
    cJSON *doc = cJSON_CreateObject();
    char *text;
    size_t i;

    (void)state;
    for (i = 0; i + 1 < sizeof(key); i += 2)
        memcpy(key + i, "a\n", 2);
    key[sizeof(key) - 1] = '\0';
    cJSON_AddNullToObject(cJSON_AddObjectToObject(doc, "inner"), key);
    text = round_trip(doc);
    assert_int_equal(text[0], '{');
    free(text);
    cJSON_Delete(doc);
}

/* Found by tests/fuzz/fuzz_yamljson: a lone string of several lines came out as a
 * literal block at column 0, which YAML readers refuse. */
static void test_yamlemit_writes_a_lone_string_of_lines_readers_take(void **state)
{
    cJSON *s = cJSON_CreateString("a:naem\n1$ :--- :b 2"), *t = cJSON_CreateString("x\n\n");
    char *text;

    (void)state;
    text = round_trip(s);
    assert_string_equal(text, "|-\n a:naem\n 1$ :--- :b 2\n");
    free(text);
    text = round_trip(t);
    free(text);
    cJSON_Delete(s);
    cJSON_Delete(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yamlemit_round_trips_strings_that_look_like_other_things),
        cmocka_unit_test(test_yamlemit_writes_lines_as_literal_blocks),
        cmocka_unit_test(test_yamlemit_round_trips_nesting_numbers_and_empties),
        cmocka_unit_test(test_yamlemit_writes_json_for_keys_too_long_for_yaml),
        cmocka_unit_test(test_yamlemit_writes_json_for_keys_long_once_escaped),
        cmocka_unit_test(test_yamlemit_writes_a_lone_scalar),
        cmocka_unit_test(test_yamlemit_writes_a_lone_string_of_lines_readers_take),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("yamlemit", tests, NULL, NULL);
}
