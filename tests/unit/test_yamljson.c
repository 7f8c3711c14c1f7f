/* Unit tests for common/yamljson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "rc.h"
#include "xmalloc.h"
#include "yamljson.h"

/* ---- helpers ---- */

/* Parse text as name and check the compact JSON it becomes. */
static void expect_json(const char *name, const char *text, const char *want)
{
    struct buf err = BUF_INIT;
    cJSON *out = NULL;
    enum rc rc = yamljson_parse(text, strlen(text), name, &out, &err);
    char *got;

    if (rc != RC_OK)
        fail_msg("%s: [%s] failed: %s: %s", name, text, rc_str(rc), buf_cstr(&err));
    assert_int_equal(err.len, 0);
    got = cJSON_PrintUnformatted(out);
    if (strcmp(got, want) != 0)
        fail_msg("%s: [%s] gave %s, want %s", name, text, got, want);
    cJSON_free(got);
    cJSON_Delete(out);
    buf_release(&err);
}

#define YAML_IS(text, want) expect_json("t.yaml", (text), (want))
#define JSON_IS(text, want) expect_json("t.json", (text), (want))

/* Parse len bytes and check the rc and the exact message. */
static void expect_error_n(const char *name, const char *text, size_t len, enum rc want_rc,
                           const char *want_msg)
{
    struct buf err = BUF_INIT;
    cJSON *out = (cJSON *)&err; /* must come back NULL */
    enum rc rc = yamljson_parse(text, len, name, &out, &err);

    if (rc != want_rc || strcmp(buf_cstr(&err), want_msg) != 0)
        fail_msg("%s: [%.*s] gave %s \"%s\", want %s \"%s\"", name, (int)len, text, rc_str(rc),
                 buf_cstr(&err), rc_str(want_rc), want_msg);
    assert_null(out);
    buf_release(&err);
}

#define YAML_ERR(text, rc, msg) expect_error_n("t.yaml", (text), strlen(text), (rc), (msg))
#define JSON_ERR(text, rc, msg) expect_error_n("t.json", (text), strlen(text), (rc), (msg))

/* Parse one plain scalar as the value of key v and check its compact JSON. */
static void expect_scalar(const char *scalar, const char *want)
{
    struct buf doc = BUF_INIT, json = BUF_INIT;

    buf_addf(&doc, "v: %s\n", scalar);
    buf_addf(&json, "{\"v\":%s}", want);
    expect_json("t.yaml", doc.data, json.data);
    buf_release(&doc);
    buf_release(&json);
}

/* The parsed tree of text, which must be fine (caller cJSON_Delete). */
static cJSON *parse_ok(const char *name, const char *text, size_t len)
{
    struct buf err = BUF_INIT;
    cJSON *out = NULL;
    enum rc rc = yamljson_parse(text, len, name, &out, &err);

    if (rc != RC_OK)
        fail_msg("%s failed: %s: %.300s", name, rc_str(rc), buf_cstr(&err));
    buf_release(&err);
    return out;
}

static char *repeat(const char *unit, size_t times)
{
    struct buf b = BUF_INIT;
    size_t i;

    for (i = 0; i < times; i++)
        buf_addstr(&b, unit);
    return buf_detach(&b, NULL);
}

static int setup(void **state)
{
    (void)state;
    xmalloc_init_cjson();
    return 0;
}

/* ---- scalars: the YAML 1.2 core schema ---- */

static void test_yamljson_reads_core_schema_nulls(void **state)
{
    (void)state;
    expect_scalar("null", "null");
    expect_scalar("Null", "null");
    expect_scalar("NULL", "null");
    expect_scalar("~", "null");
    expect_scalar("", "null");
    YAML_IS("- \n-\n", "[null,null]");
    expect_scalar("nULL", "\"nULL\"");
    expect_scalar("none", "\"none\"");
    expect_scalar("nil", "\"nil\"");
    expect_scalar("~~", "\"~~\"");
}

static void test_yamljson_reads_only_1_2_booleans(void **state)
{
    (void)state;
    expect_scalar("true", "true");
    expect_scalar("True", "true");
    expect_scalar("TRUE", "true");
    expect_scalar("false", "false");
    expect_scalar("False", "false");
    expect_scalar("FALSE", "false");
    expect_scalar("tRUE", "\"tRUE\"");
    expect_scalar("truex", "\"truex\"");
}

static void test_yamljson_reads_yes_no_on_off_as_strings(void **state)
{
    (void)state;
    expect_scalar("yes", "\"yes\"");
    expect_scalar("Yes", "\"Yes\"");
    expect_scalar("no", "\"no\"");
    expect_scalar("NO", "\"NO\"");
    expect_scalar("on", "\"on\"");
    expect_scalar("off", "\"off\"");
    expect_scalar("y", "\"y\"");
    expect_scalar("n", "\"n\"");
    YAML_IS("%YAML 1.1\n---\nflag: yes\n", "{\"flag\":\"yes\"}");
}

static void test_yamljson_reads_decimal_octal_and_hex_integers(void **state)
{
    (void)state;
    expect_scalar("0", "0");
    expect_scalar("42", "42");
    expect_scalar("-3", "-3");
    expect_scalar("+5", "5");
    expect_scalar("007", "7");
    expect_scalar("0o17", "15");
    expect_scalar("0o0", "0");
    expect_scalar("0x1F", "31");
    expect_scalar("0xff", "255");
    expect_scalar("4294967296", "4294967296");
    /* Not integers under the core schema, so strings. */
    expect_scalar("0o8", "\"0o8\"");
    expect_scalar("0o", "\"0o\"");
    expect_scalar("0x", "\"0x\"");
    expect_scalar("0xG", "\"0xG\"");
    expect_scalar("0X1F", "\"0X1F\"");
    expect_scalar("0O7", "\"0O7\"");
    expect_scalar("+0x1", "\"+0x1\"");
    expect_scalar("-0o7", "\"-0o7\"");
    expect_scalar("1_000", "\"1_000\"");
    expect_scalar("12:30", "\"12:30\"");
    expect_scalar("0b101", "\"0b101\"");
    expect_scalar("-x", "\"-x\"");
    expect_scalar("+", "\"+\"");
}

static void test_yamljson_reads_core_schema_floats(void **state)
{
    (void)state;
    expect_scalar("1.5", "1.5");
    expect_scalar(".5", "0.5");
    expect_scalar("+.5", "0.5");
    expect_scalar("-.5e-3", "-0.0005");
    expect_scalar("1.", "1");
    expect_scalar("1e3", "1000");
    expect_scalar("1E+3", "1000");
    expect_scalar("2.5e2", "250");
    expect_scalar("1e-400", "0");
    expect_scalar("1e", "\"1e\"");
    expect_scalar("1e+", "\"1e+\"");
    expect_scalar("1.2.3", "\"1.2.3\"");
    expect_scalar(".", "\".\"");
    expect_scalar(".e3", "\".e3\"");
    expect_scalar("1,5", "\"1,5\"");
    expect_scalar("1.5x", "\"1.5x\"");
    expect_scalar("0x1p3", "\"0x1p3\"");
}

static void test_yamljson_refuses_infinity_and_nan(void **state)
{
    (void)state;
    YAML_ERR("v: .inf", RC_UNSUPPORTED,
             "t.yaml:1:4: '.inf' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR("v: [1, -.Inf]", RC_UNSUPPORTED,
             "t.yaml:1:8: '-.Inf' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR("v:\n  - +.INF", RC_UNSUPPORTED,
             "t.yaml:2:5: '+.INF' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR(".nan", RC_UNSUPPORTED,
             "t.yaml:1:1: '.nan' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR("v: .NaN", RC_UNSUPPORTED,
             "t.yaml:1:4: '.NaN' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR("v: .NAN", RC_UNSUPPORTED,
             "t.yaml:1:4: '.NAN' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR("v: !!float .inf", RC_UNSUPPORTED,
             "t.yaml:1:4: '.inf' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    expect_scalar("\".inf\"", "\".inf\"");
    expect_scalar("'.nan'", "\".nan\"");
    expect_scalar(".nAn", "\".nAn\"");
    expect_scalar("-.nan", "\"-.nan\"");
    expect_scalar(".infinity", "\".infinity\"");
    expect_scalar("inf", "\"inf\"");
    expect_scalar("NaN", "\"NaN\"");
}

static void test_yamljson_keeps_big_integers_as_the_nearest_double(void **state)
{
    static const char text[] = "max: 9223372036854775807\nodd: 9007199254740993\n"
                               "hex: 0x7FFFFFFFFFFFFFFF\noct: 0o777777777777777777777\n"
                               "neg: -9223372036854775808\nexact: 9007199254740992\n";
    cJSON *doc = parse_ok("t.yaml", text, sizeof(text) - 1);

    (void)state;
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(doc, "max")));
    assert_true(cJSON_GetObjectItem(doc, "max")->valuedouble == 9223372036854775807.0);
    /* 2^53 + 1 has no double; it becomes 2^53, as documented. */
    assert_true(cJSON_GetObjectItem(doc, "odd")->valuedouble == 9007199254740992.0);
    assert_true(cJSON_GetObjectItem(doc, "hex")->valuedouble == 9223372036854775807.0);
    assert_true(cJSON_GetObjectItem(doc, "oct")->valuedouble == 9223372036854775807.0);
    assert_true(cJSON_GetObjectItem(doc, "neg")->valuedouble == -9223372036854775808.0);
    assert_true(cJSON_GetObjectItem(doc, "exact")->valuedouble == 9007199254740992.0);
    cJSON_Delete(doc);
}

static void test_yamljson_refuses_numbers_beyond_double_range(void **state)
{
    char *digits = repeat("9", 400);
    struct buf doc = BUF_INIT;

    (void)state;
    YAML_ERR("v: 1e999", RC_UNSUPPORTED, "t.yaml:1:4: number '1e999' is too large for json");
    YAML_ERR("v: !!float -2e308", RC_UNSUPPORTED, "t.yaml:1:4: number '-2e308' is too large for json");
    JSON_ERR("[1, 1e400]", RC_UNSUPPORTED, "t.json:1:5: number '1e400' is too large for json");
    buf_addf(&doc, "v: %s", digits);
    YAML_ERR(doc.data, RC_UNSUPPORTED,
             "t.yaml:1:4: number '999999999999999999999999999999999999999999999999999999999999...' "
             "is too large for json");
    buf_release(&doc);
    free(digits);
}

static void test_yamljson_reads_quoted_and_block_scalars_as_strings(void **state)
{
    (void)state;
    expect_scalar("\"1\"", "\"1\"");
    expect_scalar("'true'", "\"true\"");
    expect_scalar("'null'", "\"null\"");
    expect_scalar("\"\"", "\"\"");
    expect_scalar("''", "\"\"");
    expect_scalar("\"a\\tb\\u00e9\"", "\"a\\tbé\"");
    expect_scalar("'it''s'", "\"it's\"");
    YAML_IS("v: |\n  12\n  true\n", "{\"v\":\"12\\ntrue\\n\"}");
    YAML_IS("v: |-\n  null\n", "{\"v\":\"null\"}");
    YAML_IS("v: >\n  1\n  2\n\n  3\n", "{\"v\":\"1 2\\n3\\n\"}");
    YAML_IS("v: >-\n  folded\n  text\n", "{\"v\":\"folded text\"}");
    YAML_IS("v: plain\n  continued\n", "{\"v\":\"plain continued\"}");
}

static void test_yamljson_honours_core_tags(void **state)
{
    (void)state;
    expect_scalar("!!str 12", "\"12\"");
    expect_scalar("!!str true", "\"true\"");
    expect_scalar("!!str", "\"\"");
    expect_scalar("!!int \"12\"", "12");
    expect_scalar("!!int 0x10", "16");
    expect_scalar("!!float 1", "1");
    expect_scalar("!!float '2.5'", "2.5");
    expect_scalar("!!bool \"true\"", "true");
    expect_scalar("!!null ''", "null");
    expect_scalar("!!null ~", "null");
    expect_scalar("! 12", "\"12\"");
    expect_scalar("!<tag:yaml.org,2002:str> 5", "\"5\"");
    YAML_IS("m: !!map {a: 1}\ns: !!seq [1]\n", "{\"m\":{\"a\":1},\"s\":[1]}");
    YAML_IS("m: !!map\n  a: 1\n", "{\"m\":{\"a\":1}}");
    YAML_IS("! [a]", "[\"a\"]");
}

static void test_yamljson_rejects_a_value_its_tag_does_not_fit(void **state)
{
    (void)state;
    YAML_ERR("v: !!int abc", RC_PARSE, "t.yaml:1:4: 'abc' is not an integer (tag '!!int')");
    YAML_ERR("v: !!int 1.5", RC_PARSE, "t.yaml:1:4: '1.5' is not an integer (tag '!!int')");
    YAML_ERR("v: !!int", RC_PARSE, "t.yaml:1:4: '' is not an integer (tag '!!int')");
    YAML_ERR("v: !!float abc", RC_PARSE, "t.yaml:1:4: 'abc' is not a float (tag '!!float')");
    YAML_ERR("v: !!bool yes", RC_PARSE, "t.yaml:1:4: 'yes' is not a boolean (tag '!!bool')");
    YAML_ERR("v: !!null x", RC_PARSE, "t.yaml:1:4: 'x' is not null (tag '!!null')");
    YAML_ERR("v: !!map x", RC_PARSE, "t.yaml:1:4: tag '!!map' cannot apply to a scalar");
    YAML_ERR("v: !!seq {a: 1}", RC_PARSE, "t.yaml:1:4: tag '!!seq' cannot apply to a mapping");
    YAML_ERR("v: !!str [1]", RC_PARSE, "t.yaml:1:4: tag '!!str' cannot apply to a sequence");
    YAML_ERR("!!int abc: 1", RC_PARSE, "t.yaml:1:1: 'abc' is not an integer (tag '!!int')");
}

static void test_yamljson_refuses_unknown_tags(void **state)
{
    (void)state;
    YAML_ERR("v: !!binary aGk=", RC_UNSUPPORTED, "t.yaml:1:4: unsupported tag '!!binary'");
    YAML_ERR("v: !!timestamp 2001-12-14", RC_UNSUPPORTED, "t.yaml:1:4: unsupported tag '!!timestamp'");
    YAML_ERR("v:\n  x: !custom 1", RC_UNSUPPORTED, "t.yaml:2:6: unsupported tag '!custom'");
    YAML_ERR("v: !!set {a}", RC_UNSUPPORTED, "t.yaml:1:4: unsupported tag '!!set'");
    YAML_ERR("v: !!omap [a: 1]", RC_UNSUPPORTED, "t.yaml:1:4: unsupported tag '!!omap'");
    YAML_ERR("!Ref x: 1", RC_UNSUPPORTED, "t.yaml:1:1: unsupported tag '!Ref'");
    YAML_ERR("%TAG !e! tag:example.com,2000:\n---\nv: !e!thing 1", RC_UNSUPPORTED,
             "t.yaml:3:4: unsupported tag 'tag:example.com,2000:thing'");
}

/* ---- collections ---- */

static void test_yamljson_reads_flow_collections(void **state)
{
    (void)state;
    YAML_IS("{a: [1, {b: c}], \"d\": [], e: {}}", "{\"a\":[1,{\"b\":\"c\"}],\"d\":[],\"e\":{}}");
    YAML_IS("[a, b, ]", "[\"a\",\"b\"]");
    YAML_IS("{x, y: 1}", "{\"x\":null,\"y\":1}");
    YAML_IS("[a: 1, b]", "[{\"a\":1},\"b\"]");
    YAML_IS("v: [\n  1,\n  2\n]\n", "{\"v\":[1,2]}");
    YAML_IS("[]", "[]");
    YAML_IS("{}", "{}");
}

static void test_yamljson_reads_nested_block_documents(void **state)
{
    static const char doc[] =
        "openapi: 3.1.0\n"
        "info:\n"
        "  title: hogplane\n"
        "  version: \"1.0\"\n"
        "paths:\n"
        "  /v1/hogboxes/{id}:\n"
        "    get:\n"
        "      operationId: getHogbox\n"
        "      parameters:\n"
        "        - name: id\n"
        "          in: path\n"
        "          required: true\n"
        "      responses:\n"
        "        200:\n"
        "          description: ok\n"
        "        '404':\n"
        "          description: >-\n"
        "            not\n"
        "            found\n"
        "# trailing comment\n";

    (void)state;
    YAML_IS(doc, "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"hogplane\",\"version\":\"1.0\"},"
                 "\"paths\":{\"/v1/hogboxes/{id}\":{\"get\":{\"operationId\":\"getHogbox\","
                 "\"parameters\":[{\"name\":\"id\",\"in\":\"path\",\"required\":true}],"
                 "\"responses\":{\"200\":{\"description\":\"ok\"},"
                 "\"404\":{\"description\":\"not found\"}}}}}}");
    YAML_IS("- - a\n  - b\n- c:\n  - 1\n", "[[\"a\",\"b\"],{\"c\":[1]}]");
    YAML_IS("a:\n- 1\n- 2\nb: x\n", "{\"a\":[1,2],\"b\":\"x\"}");
}

static void test_yamljson_uses_key_text_as_written(void **state)
{
    (void)state;
    YAML_IS("200: a\n0x10: b\ntrue: c\nnull: d\n~: e\n1.0: f\n\"q\": g\n'007': h\n",
            "{\"200\":\"a\",\"0x10\":\"b\",\"true\":\"c\",\"null\":\"d\",\"~\":\"e\","
            "\"1.0\":\"f\",\"q\":\"g\",\"007\":\"h\"}");
    YAML_IS("? explicit\n: v\n? bare\n", "{\"explicit\":\"v\",\"bare\":null}");
    YAML_IS("!!str 12: a\n!!int 13: b\n", "{\"12\":\"a\",\"13\":\"b\"}");
    /* An untagged key is only text, so what a value could not be is fine as a key. */
    YAML_IS(".inf: 1\n1e999: 2\n", "{\".inf\":1,\"1e999\":2}");
}

static void test_yamljson_rejects_duplicate_keys_naming_both_positions(void **state)
{
    (void)state;
    YAML_ERR("a: 1\nb: 2\na: 3\n", RC_PARSE, "t.yaml:3:1: duplicate key 'a' (first at 1:1)");
    YAML_ERR("a: 1\n\"a\": 2\n", RC_PARSE, "t.yaml:2:1: duplicate key 'a' (first at 1:1)");
    YAML_ERR("x:\n  k: [1]\n  y: 2\n  k: {}\n", RC_PARSE, "t.yaml:4:3: duplicate key 'k' (first at 2:3)");
    YAML_ERR("{a: 1, b: 2, a: 3}", RC_PARSE, "t.yaml:1:14: duplicate key 'a' (first at 1:2)");
    YAML_ERR("? a\n? a\n", RC_PARSE, "t.yaml:2:3: duplicate key 'a' (first at 1:3)");
    YAML_ERR("&k a: 1\n*k : 2\n", RC_PARSE, "t.yaml:2:1: duplicate key 'a' (first at 1:1)");
    /* The same key in different mappings, and keys that only mean the same, are fine. */
    YAML_IS("a: {a: 1}\nb: {a: 2}\n", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
    YAML_IS("1: a\n01: b\n", "{\"1\":\"a\",\"01\":\"b\"}");
}

static void test_yamljson_detects_duplicates_among_many_keys(void **state)
{
    struct buf doc = BUF_INIT;
    cJSON *tree;
    int i;

    (void)state;
    for (i = 0; i < 5000; i++)
        buf_addf(&doc, "key%d: %d\n", i, i);
    tree = parse_ok("t.yaml", doc.data, doc.len);
    assert_int_equal(cJSON_GetArraySize(tree), 5000);
    assert_int_equal(cJSON_GetObjectItem(tree, "key4999")->valueint, 4999);
    cJSON_Delete(tree);
    buf_addstr(&doc, "key2500: again\n");
    YAML_ERR(doc.data, RC_PARSE, "t.yaml:5001:1: duplicate key 'key2500' (first at 2501:1)");
    buf_release(&doc);
}

static void test_yamljson_rejects_complex_keys(void **state)
{
    (void)state;
    YAML_ERR("? [a]\n: b\n", RC_UNSUPPORTED,
             "t.yaml:1:3: a sequence cannot be a mapping key (json keys are strings)");
    YAML_ERR("x:\n  ? {a: 1}\n  : b\n", RC_UNSUPPORTED,
             "t.yaml:2:5: a mapping cannot be a mapping key (json keys are strings)");
    YAML_ERR("{[a]: b}", RC_UNSUPPORTED, "t.yaml:1:2: a sequence cannot be a mapping key (json keys are strings)");
    YAML_ERR("- &m {a: 1}\n- *m : 2\n", RC_UNSUPPORTED,
             "t.yaml:2:3: alias '*m' is a mapping and cannot be a mapping key (json keys are strings)");
}

static void test_yamljson_refuses_merge_keys(void **state)
{
    (void)state;
    YAML_ERR("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n", RC_UNSUPPORTED,
             "t.yaml:3:3: merge key '<<' is not supported (write the keys out, or quote '<<' for a plain key)");
    YAML_IS("\"<<\": 1\n", "{\"<<\":1}");
    YAML_IS("v: <<\n", "{\"v\":\"<<\"}");
}

/* ---- anchors and aliases ---- */

static void test_yamljson_expands_aliases_as_deep_copies(void **state)
{
    static const char anchored[] = "base: &b {x: [1, 2], y: z}\ncopy: *b\n";
    cJSON *doc, *a, *b;

    (void)state;
    doc = parse_ok("t.yaml", anchored, sizeof(anchored) - 1);
    a = cJSON_GetObjectItem(doc, "base");
    b = cJSON_GetObjectItem(doc, "copy");
    assert_true(cJSON_Compare(a, b, true));
    assert_ptr_not_equal(a->child, b->child);
    /* A copy is independent: changing it leaves the original alone. */
    cJSON_DeleteItemFromObject(b, "x");
    assert_non_null(cJSON_GetObjectItem(a, "x"));
    cJSON_Delete(doc);

    YAML_IS("- &s hello\n- *s\n- [*s, *s]\n", "[\"hello\",\"hello\",[\"hello\",\"hello\"]]");
    YAML_IS("a: &n 0x10\nb: *n\n", "{\"a\":16,\"b\":16}");
    YAML_IS("- &a 1\n- &a 2\n- *a\n", "[1,2,2]");
    YAML_IS("&k key: *k\n", "{\"key\":\"key\"}");
    YAML_IS("&k 0x10: *k\n", "{\"0x10\":16}");
    YAML_IS("- &v 0x10\n- {*v : x}\n", "[16,{\"0x10\":\"x\"}]");
    YAML_IS("a: &e\nb: *e\n", "{\"a\":null,\"b\":null}");
    YAML_IS("outer: &o\n  inner: &i [1]\n  again: *i\ncopy: *o\n",
            "{\"outer\":{\"inner\":[1],\"again\":[1]},\"copy\":{\"inner\":[1],\"again\":[1]}}");
}

static void test_yamljson_rejects_undefined_and_recursive_aliases(void **state)
{
    (void)state;
    YAML_ERR("a: 1\nb: *nope\n", RC_PARSE, "t.yaml:2:4: alias '*nope' refers to an undefined anchor");
    YAML_ERR("b: *a\na: &a 1\n", RC_PARSE, "t.yaml:1:4: alias '*a' refers to an undefined anchor");
    YAML_ERR("&a [1, *a]", RC_UNSUPPORTED, "t.yaml:1:8: alias '*a' refers to a node that contains it (recursive)");
    YAML_ERR("&a\nx:\n  y: *a\n", RC_UNSUPPORTED,
             "t.yaml:3:6: alias '*a' refers to a node that contains it (recursive)");
}

static void test_yamljson_stops_an_alias_bomb_at_the_node_limit(void **state)
{
    static const char bomb[] =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    cJSON *doc;

    (void)state;
    /* 1 + 11 + 111 + ... nodes: the 8th *e in f would pass 1,000,000. */
    YAML_ERR(bomb, RC_TOO_LARGE,
             "t.yaml:6:36: document has more than 1000000 nodes (each alias counts as a full copy)");
    /* Five levels (123,457 nodes) are fine. */
    doc = parse_ok("t.yaml", bomb, strstr(bomb, "f:") - bomb);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "e"), 9)), 10);
    cJSON_Delete(doc);
}

/* One node per use but a MiB of text each: the byte budget stops it. */
static void test_yamljson_stops_a_string_alias_bomb_at_the_byte_limit(void **state)
{
    size_t mib = 1u << 20, i;
    struct buf doc = BUF_INIT, want = BUF_INIT;
    cJSON *tree;

    (void)state;
    buf_addstr(&doc, "a: &a ");
    buf_grow(&doc, mib);
    memset(doc.data + doc.len, 's', mib);
    doc.len += mib;
    buf_addstr(&doc, "\nb: [");
    for (i = 0; i < 63; i++)
        buf_addstr(&doc, "*a, ");
    buf_addstr(&doc, "*a]\n");
    tree = parse_ok("t.yaml", doc.data, doc.len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(tree, "b")), 64);
    cJSON_Delete(tree);
    buf_truncate(&doc, doc.len - 4);
    buf_addstr(&doc, "*a, *a]\n");
    buf_addf(&want, "t.yaml:2:%d: aliases copy more than %d bytes of text", 5 + 64 * 4,
             YAMLJSON_MAX_ALIAS_BYTES);
    YAML_ERR(doc.data, RC_TOO_LARGE, want.data);

    /* The same through keys. */
    buf_reset(&doc);
    buf_addstr(&doc, "- &a ");
    buf_grow(&doc, mib);
    memset(doc.data + doc.len, 'k', mib);
    doc.len += mib;
    buf_addch(&doc, '\n');
    for (i = 0; i < 70; i++)
        buf_addstr(&doc, "- {*a : 1}\n");
    buf_reset(&want);
    buf_addf(&want, "t.yaml:66:4: aliases copy more than %d bytes of text", YAMLJSON_MAX_ALIAS_BYTES);
    YAML_ERR(doc.data, RC_TOO_LARGE, want.data);
    buf_release(&doc);
    buf_release(&want);
}

static void test_yamljson_counts_alias_depth_against_the_nesting_limit(void **state)
{
    char *open200 = repeat("[", 200), *close200 = repeat("]", 200);
    char *open55 = repeat("[", 55), *open56 = repeat("[", 56);
    char *close55 = repeat("]", 55), *close56 = repeat("]", 56);
    struct buf doc = BUF_INIT, want = BUF_INIT;
    cJSON *tree;

    (void)state;
    /* The root mapping is level 1, so 55 + 200 more levels just fit. */
    buf_addf(&doc, "a: &a %s%s\nb: %s*a%s\n", open200, close200, open55, close55);
    tree = parse_ok("t.yaml", doc.data, doc.len);
    cJSON_Delete(tree);
    buf_reset(&doc);
    buf_addf(&doc, "a: &a %s%s\nb: %s*a%s\n", open200, close200, open56, close56);
    buf_addf(&want, "t.yaml:2:60: nesting deeper than %d levels", YAMLJSON_MAX_DEPTH);
    YAML_ERR(doc.data, RC_TOO_DEEP, want.data);
    buf_release(&doc);
    buf_release(&want);
    free(open200);
    free(close200);
    free(open55);
    free(open56);
    free(close55);
    free(close56);
}

/* ---- documents, nesting, size ---- */

static void test_yamljson_reads_exactly_one_document(void **state)
{
    (void)state;
    YAML_IS("---\na: 1\n...\n", "{\"a\":1}");
    YAML_IS("--- 5\n", "5");
    YAML_IS("---\n", "null");
    YAML_IS("---\n# nothing\n...\n", "null");
    YAML_IS("plain scalar", "\"plain scalar\"");
    YAML_ERR("a: 1\n---\nb: 2\n", RC_PARSE, "t.yaml:2:1: more than one document");
    YAML_ERR("---\na: 1\n---\n", RC_PARSE, "t.yaml:3:1: more than one document");
    YAML_ERR("a: 1\n...\n--- x\n", RC_PARSE, "t.yaml:3:1: more than one document");
}

static void test_yamljson_rejects_an_empty_stream(void **state)
{
    (void)state;
    YAML_ERR("", RC_PARSE, "t.yaml:1:1: empty document");
    YAML_ERR("  \n\n", RC_PARSE, "t.yaml:1:1: empty document");
    YAML_ERR("# only\n# comments\n", RC_PARSE, "t.yaml:1:1: empty document");
    expect_error_n("t.yaml", NULL, 0, RC_PARSE, "t.yaml:1:1: empty document");
    JSON_ERR("", RC_PARSE, "t.json:1:1: expected a value, found end of input");
    JSON_ERR(" \n ", RC_PARSE, "t.json:2:2: expected a value, found end of input");
}

/* Build n nested levels of each kind and check 256 passes and 257 stops at the 257th. */
static void test_yamljson_limits_nesting_to_256_levels(void **state)
{
    static const struct {
        const char *name, *open, *inner, *close;
        size_t chars; /* characters per level */
    } kinds[] = {
        { "t.yaml", "[x, ", "1", "]" , 4 },   /* YAML flow (not JSON) */
        { "t.yaml", "{a: ", "1", "}", 4 },
        { "t.yaml", "- ", "x", "", 2 },
        { "t.yaml", "[", "1", "]", 1 },      /* JSON-looking, so read as JSON */
        { "t.json", "[", "1", "]", 1 },
        { "t.json", "{\"a\":", "1", "}", 5 },
    };
    size_t k, levels;

    (void)state;
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (levels = 256; levels <= 257; levels++) {
            char *open = repeat(kinds[k].open, levels), *close = repeat(kinds[k].close, levels);
            struct buf doc = BUF_INIT, want = BUF_INIT;

            buf_addf(&doc, "%s%s%s", open, kinds[k].inner, close);
            if (levels == 256) {
                cJSON *tree = parse_ok(kinds[k].name, doc.data, doc.len);

                cJSON_Delete(tree);
            } else {
                buf_addf(&want, "%s:1:%zu: nesting deeper than 256 levels", kinds[k].name,
                         256 * kinds[k].chars + 1);
                expect_error_n(kinds[k].name, doc.data, doc.len, RC_TOO_DEEP, want.data);
            }
            buf_release(&doc);
            buf_release(&want);
            free(open);
            free(close);
        }
    }
}

static void test_yamljson_stops_early_on_very_deep_input(void **state)
{
    size_t n = 4u << 20, i;
    char *deep = xmalloc(n);

    (void)state;
    memset(deep, '[', n);
    expect_error_n("t.yaml", deep, n, RC_TOO_DEEP, "t.yaml:1:257: nesting deeper than 256 levels");
    expect_error_n("t.json", deep, n, RC_TOO_DEEP, "t.json:1:257: nesting deeper than 256 levels");
    memset(deep, '{', n);
    expect_error_n("t.json", deep, n, RC_PARSE, "t.json:1:2: expected a string key or '}', found '{'");
    for (i = 0; i < n; i += 2)
        memcpy(deep + i, "- ", 2);
    expect_error_n("t.yaml", deep, n, RC_TOO_DEEP, "t.yaml:1:513: nesting deeper than 256 levels");
    free(deep);
}

static void test_yamljson_block_mappings_nest_too(void **state)
{
    struct buf doc = BUF_INIT;
    size_t i;
    cJSON *tree;

    (void)state;
    for (i = 0; i < 256; i++)
        buf_addf(&doc, "%*sk:\n", (int)i, "");
    tree = parse_ok("t.yaml", doc.data, doc.len);
    cJSON_Delete(tree);
    buf_addf(&doc, "%*sk: 1\n", 256, "");
    YAML_ERR(doc.data, RC_TOO_DEEP, "t.yaml:257:257: nesting deeper than 256 levels");
    buf_release(&doc);
}

static void check_huge_scalar(const char *before, const char *after, const char *name)
{
    size_t n = 10u << 20;
    struct buf doc = BUF_INIT;
    cJSON *tree, *v;

    buf_addstr(&doc, before);
    buf_grow(&doc, n);
    memset(doc.data + doc.len, 'h', n);
    doc.len += n;
    doc.data[doc.len] = '\0';
    buf_addstr(&doc, after);
    tree = parse_ok(name, doc.data, doc.len);
    v = cJSON_IsArray(tree) ? cJSON_GetArrayItem(tree, 0) : cJSON_GetObjectItem(tree, "v");
    assert_true(cJSON_IsString(v));
    assert_int_equal(strlen(v->valuestring), n);
    assert_int_equal(v->valuestring[n - 1], 'h');
    cJSON_Delete(tree);
    buf_release(&doc);
}

static void test_yamljson_reads_a_10_mib_scalar(void **state)
{
    (void)state;
    check_huge_scalar("v: ", "\n", "t.yaml");
    check_huge_scalar("v: \"", "\"\n", "t.yaml");
    check_huge_scalar("v: |-\n  ", "\n", "t.yaml");
    check_huge_scalar("[\"", "\"]", "t.json");
    check_huge_scalar("{\"v\": \"", "\"}", "t.yaml");
}

/* ---- errors ---- */

static void test_yamljson_reports_syntax_errors_with_file_line_and_column(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        { "a: \"unclosed\nb: 1",
          "t.yaml:2:5: found unexpected end of stream (while scanning a quoted scalar at 1:4)" },
        { "a:\n  b: 1\n c: 2",
          "t.yaml:3:2: did not find expected key (while parsing a block mapping at 1:1)" },
        { "a:\n\tb: 1", "t.yaml:2:1: found character that cannot start any token (while scanning for the next token at 2:1)" },
        { "a: b\n\tc: d",
          "t.yaml:2:1: found a tab character that violates indentation (while scanning a plain scalar at 1:4)" },
        { "]", "t.yaml:1:1: did not find expected node content (while parsing a block node at 1:1)" },
        { "key: value: x", "t.yaml:1:11: mapping values are not allowed in this context" },
        { "- a\nb: c", "t.yaml:2:1: did not find expected '-' indicator (while parsing a block collection at 1:1)" },
        { "a: [1, 2\nb: 3", "t.yaml:2:2: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)" },
        { "a: \"\\q\"", "t.yaml:1:5: found unknown escape character (while parsing a quoted scalar at 1:4)" },
        { "a: &", "t.yaml:1:5: did not find expected alphabetic or numeric character (while scanning an anchor at 1:4)" },
        { "@x", "t.yaml:1:1: found character that cannot start any token (while scanning for the next token at 1:1)" },
        { "%FOO\n---\na", "t.yaml:1:5: found unknown directive name (while scanning a directive at 1:1)" },
        { "a: !x!y z", "t.yaml:1:4: found undefined tag handle (while parsing a node at 1:4)" },
        { "ééé: [x\n", "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:6)" },
        { "ééé: {a: 1, a: 2}", "t.yaml:1:13: duplicate key 'a' (first at 1:7)" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        YAML_ERR(cases[i].text, RC_PARSE, cases[i].msg);
}

static void test_yamljson_rejects_bad_bytes_with_a_position(void **state)
{
    static const char nul_in_value[] = "a: b\0c\n";
    static const char nul_line2[] = "a: 1\nb: \0";
    static const char nul_json[] = "{\"a\": \"x\0\"}";

    (void)state;
    expect_error_n("t.yaml", nul_in_value, sizeof(nul_in_value) - 1, RC_PARSE,
                   "t.yaml:1:5: control characters are not allowed (0x0)");
    expect_error_n("t.yaml", nul_line2, sizeof(nul_line2) - 1, RC_PARSE,
                   "t.yaml:2:4: control characters are not allowed (0x0)");
    expect_error_n("t.json", nul_json, sizeof(nul_json) - 1, RC_PARSE,
                   "t.json:1:9: control character 0x00 in string (escape it)");
    YAML_ERR("a: \x01", RC_PARSE, "t.yaml:1:4: control characters are not allowed (0x1)");
    YAML_ERR("a: 1\nb: \xff", RC_PARSE, "t.yaml:2:4: invalid leading UTF-8 octet (0xff)");
    YAML_ERR("é: \xc3\x28", RC_PARSE, "t.yaml:1:5: invalid trailing UTF-8 octet (0x28)");
    YAML_ERR("a: \xe2\x82", RC_PARSE, "t.yaml:1:4: incomplete UTF-8 octet sequence");
    YAML_ERR("a: \xed\xa0\x80", RC_PARSE, "t.yaml:1:4: invalid Unicode character (0xd800)");
    YAML_ERR("a: \xc0\xaf", RC_PARSE, "t.yaml:1:4: invalid length of a UTF-8 sequence");
    YAML_ERR("\xfe\xff\x00a", RC_PARSE, "t.yaml:1:1: invalid leading UTF-8 octet (0xfe)");
    JSON_ERR("[\"\xc3\x28\"]", RC_PARSE, "t.json:1:3: invalid utf-8 in string (byte 0xc3)");
    JSON_ERR("[\"\xed\xa0\x80\"]", RC_PARSE, "t.json:1:3: invalid utf-8 in string (byte 0xed)");
    JSON_ERR("[\"é\xff\"]", RC_PARSE, "t.json:1:4: invalid utf-8 in string (byte 0xff)");
    JSON_ERR("[\xff]", RC_PARSE, "t.json:1:2: expected a value, found byte 0xff");
}

static void test_yamljson_rejects_nul_characters_in_strings(void **state)
{
    (void)state;
    YAML_ERR("v: \"a\\0b\"", RC_UNSUPPORTED,
             "t.yaml:1:4: string 'a\\x00b' contains a nul character, which is not supported");
    YAML_ERR("\"k\\x00\": 1", RC_UNSUPPORTED,
             "t.yaml:1:1: mapping key 'k\\x00' contains a nul character, which is not supported");
    JSON_ERR("[\"a\\u0000\"]", RC_UNSUPPORTED, "t.json:1:4: string contains '\\u0000', which is not supported");
    /* Semantic, not syntax: a JSON-looking text is not re-read as YAML. */
    YAML_ERR("{\"a\": \"\\u0000\"}", RC_UNSUPPORTED, "t.yaml:1:8: string contains '\\u0000', which is not supported");
}

/* Whatever the bytes, a failure is one positioned line and nothing leaks or crashes. */
static void test_yamljson_survives_malformed_input(void **state)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
    } cases[] = {
        { "\"", 0 }, { "'", 0 }, { "\"abc", 0 }, { "'abc\n", 0 }, { "[", 0 }, { "{", 0 },
        { "]", 0 }, { "}", 0 }, { "[[[[", 0 }, { "{a: [}", 0 }, { ":", 0 }, { ": :", 0 },
        { "- - - :", 0 }, { "? ? ?", 0 }, { "&", 0 }, { "*", 0 }, { "*x", 0 }, { "&a *a", 0 },
        { "!", 0 }, { "!<", 0 }, { "!!", 0 }, { "%", 0 }, { "%YAML", 0 }, { "%YAML 2.0\n---\na", 0 },
        { "%YAML 1.2\n%YAML 1.2\n---\na", 0 }, { "---\n---\n", 0 }, { "...\n...", 0 },
        { "a: |\n x\n  y\nz", 0 }, { "a: >x", 0 }, { "a: |0", 0 }, { "- a\n-b\n - c", 0 },
        { "\t", 0 }, { "\ta: 1", 0 }, { "a:\n\t- 1", 0 }, { "a: b: c", 0 }, { "a: 'b'c", 0 },
        { "a: \"b\"c", 0 }, { "[a, b]]", 0 }, { "{\"a\": 1}}", 0 }, { "{\"a\": }", 0 },
        { "{\"a\" \"b\"}", 0 }, { "[1 2]", 0 }, { "[,]", 0 }, { "{,}", 0 }, { "[1,,2]", 0 },
        { "{\"a\":1,,}", 0 }, { "\x7f", 0 }, { "\x1b[31m", 0 }, { "a: \x08", 0 },
        { "\x80", 0 }, { "\xc3", 0 }, { "\xf4\x90\x80\x80", 0 }, { "\xef\xbb\xbf\xef\xbb", 0 },
        { "\0", 1 }, { "a\0", 2 }, { "[\0]", 3 }, { "{\"a\0\": 1}", 9 }, { "---\0", 4 },
        { "# comment \0 here", 16 }, { "\"\\", 0 }, { "\"\\u12", 0 }, { "[\"\\ud800\\u0041\"]", 0 },
        { "[\"\\udc00\"]", 0 }, { "[tru]", 0 }, { "[-]", 0 }, { "[1.]", 0 }, { "[1e]", 0 },
        { "[.5]", 0 }, { "[01]", 0 }, { "[+1]", 0 }, { "[0x10]", 0 }, { "[NaN]", 0 },
        { "[\"a\"]x", 0 }, { "{\"a\":1} {\"b\":2}", 0 }, { "['single']", 0 }, { "[// c\n1]", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *names[] = { "t.yaml", "t.json" };
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text), k;

        for (k = 0; k < 2; k++) {
            struct buf err = BUF_INIT;
            cJSON *out = NULL;
            enum rc rc = yamljson_parse(cases[i].text, len, names[k], &out, &err);
            unsigned line, col;
            int used = 0;

            if (rc == RC_OK) {
                /* Some of these are valid YAML (or JSON); then a tree must come back. */
                assert_non_null(out);
                assert_int_equal(err.len, 0);
                cJSON_Delete(out);
                continue;
            }
            assert_null(out);
            assert_true(rc == RC_PARSE || rc == RC_UNSUPPORTED || rc == RC_TOO_DEEP);
            if (sscanf(buf_cstr(&err), "t.%*4[jsonyaml]:%u:%u: %n", &line, &col, &used) != 2 ||
                used == 0 || line == 0 || col == 0)
                fail_msg("case %zu as %s: no position in \"%s\"", i, names[k], buf_cstr(&err));
            assert_true(strncmp(err.data, names[k], 6) == 0);
            assert_null(strchr(err.data, '\n'));
            assert_true(err.len > (size_t)used);
            buf_release(&err);
        }
    }
}

/* ---- JSON ---- */

static void test_yamljson_reads_json_strictly_when_named_json(void **state)
{
    (void)state;
    JSON_IS("{\"a\": [1, -2.5e3, true, false, null, \"s\"], \"b\": {}}",
            "{\"a\":[1,-2500,true,false,null,\"s\"],\"b\":{}}");
    JSON_IS(" 42 ", "42");
    JSON_IS("\"x\"", "\"x\"");
    JSON_IS("\t[\r\n1\r\n]\n", "[1]");
    JSON_IS("[9223372036854775807]", "[9.2233720368547758e+18]");
    JSON_ERR("{\"a\": 01}", RC_PARSE, "t.json:1:7: invalid number (leading zero)");
    JSON_ERR("[1,]", RC_PARSE, "t.json:1:4: expected a value, found ']'");
    JSON_ERR("{\"a\":1,}", RC_PARSE, "t.json:1:8: expected a string key after ',', found '}'");
    JSON_ERR("{a: 1}", RC_PARSE, "t.json:1:2: expected a string key or '}', found 'a'");
    JSON_ERR("{\"a\" 1}", RC_PARSE, "t.json:1:6: expected ':' after the key, found '1'");
    JSON_ERR("[1 2]", RC_PARSE, "t.json:1:4: expected ',' or ']', found '2'");
    JSON_ERR("{\"a\": 1 \"b\": 2}", RC_PARSE, "t.json:1:9: expected ',' or '}', found '\"'");
    JSON_ERR("{\n  \"a\": tru\n}", RC_PARSE, "t.json:2:8: invalid literal (true, false or null expected)");
    JSON_ERR("[1] x", RC_PARSE, "t.json:1:5: expected end of input after the json value, found 'x'");
    JSON_ERR("[1] // c", RC_PARSE, "t.json:1:5: expected end of input after the json value, found '/'");
    JSON_ERR("['a']", RC_PARSE, "t.json:1:2: expected a value, found '''");
    JSON_ERR("[\n  \"abc", RC_PARSE, "t.json:2:3: unterminated string");
    JSON_ERR("[\"\\q\"]", RC_PARSE, "t.json:1:3: invalid escape '\\q'");
    JSON_ERR("[\"\\u12G4\"]", RC_PARSE, "t.json:1:3: invalid \\u escape (four hex digits expected)");
    JSON_ERR("[\"\\ud800\"]", RC_PARSE, "t.json:1:3: invalid \\u escape (unpaired surrogate)");
    JSON_ERR("[\"\\udc00\\ud800\"]", RC_PARSE, "t.json:1:3: invalid \\u escape (unpaired surrogate)");
    JSON_ERR("[\"a\tb\"]", RC_PARSE, "t.json:1:4: control character 0x09 in string (escape it)");
    JSON_ERR("[-]", RC_PARSE, "t.json:1:2: invalid number");
    JSON_ERR("[1.]", RC_PARSE, "t.json:1:2: invalid number (digits expected after '.')");
    JSON_ERR("[1e+]", RC_PARSE, "t.json:1:2: invalid number (digits expected in exponent)");
    JSON_ERR("[.5]", RC_PARSE, "t.json:1:2: expected a value, found '.'");
    JSON_ERR("[\"é\", x]", RC_PARSE, "t.json:1:7: expected a value, found 'x'");
    JSON_ERR("a: 1", RC_PARSE, "t.json:1:1: expected a value, found 'a'");
    JSON_ERR("[1]\n[2]", RC_PARSE, "t.json:2:1: expected end of input after the json value, found '['");
    expect_error_n("T.JSON", "[", 1, RC_PARSE, "T.JSON:1:2: expected a value, found end of input");
}

static void test_yamljson_decodes_json_escapes(void **state)
{
    static const char text[] = "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\\ud83d\\ude00\"]";
    cJSON *doc;

    (void)state;
    doc = parse_ok("t.json", text, sizeof(text) - 1);
    assert_string_equal(cJSON_GetArrayItem(doc, 0)->valuestring, "\"\\/\b\f\n\r\t");
    assert_string_equal(cJSON_GetArrayItem(doc, 1)->valuestring, "é€😀");
    cJSON_Delete(doc);
}

static void test_yamljson_detects_duplicate_keys_in_json(void **state)
{
    (void)state;
    JSON_ERR("{\"a\": 1, \"b\": 2, \"a\": 3}", RC_PARSE, "t.json:1:18: duplicate key 'a' (first at 1:2)");
    JSON_ERR("{\n  \"x\": {\"k\": 1},\n  \"x\": 2\n}", RC_PARSE, "t.json:3:3: duplicate key 'x' (first at 2:3)");
    JSON_ERR("{\"\\u0061\": 1, \"a\": 2}", RC_PARSE, "t.json:1:15: duplicate key 'a' (first at 1:2)");
    /* Also when the text is JSON but not named so. */
    YAML_ERR("{\"a\": 1, \"a\": 2}", RC_PARSE, "t.yaml:1:10: duplicate key 'a' (first at 1:2)");
    JSON_IS("{\"a\": {\"a\": 1}, \"b\": [{\"a\": 2}]}", "{\"a\":{\"a\":1},\"b\":[{\"a\":2}]}");
}

static void test_yamljson_reads_json_that_libyaml_cannot(void **state)
{
    char *key = repeat("k", 2000);
    struct buf doc = BUF_INIT;
    cJSON *tree;

    (void)state;
    /* libyaml refuses implicit keys over 1024 characters; JSON has no such limit. */
    buf_addf(&doc, "{\"%s\": 1}", key);
    tree = parse_ok("t.yaml", doc.data, doc.len);
    assert_int_equal(cJSON_GetObjectItem(tree, key)->valueint, 1);
    cJSON_Delete(tree);
    JSON_IS("{\n\t\"a\": [\n\t\t1\n\t]\n}", "{\"a\":[1]}");
    YAML_IS("{\n\t\"a\": [\n\t\t1\n\t]\n}", "{\"a\":[1]}");
    buf_release(&doc);
    free(key);
}

static void test_yamljson_reads_flow_yaml_that_starts_like_json(void **state)
{
    (void)state;
    YAML_IS("{a: 1, b: [x, y]}", "{\"a\":1,\"b\":[\"x\",\"y\"]}");
    YAML_IS("[a, b] # comment\n", "[\"a\",\"b\"]");
    YAML_IS("{\"a\": 1,}", "{\"a\":1}");
    YAML_IS("[yes, 0x10, ~]", "[\"yes\",16,null]");
    /* When both readers fail, the one that got further speaks. */
    YAML_ERR("{\"a\": 1}}", RC_PARSE, "t.yaml:1:9: expected end of input after the json value, found '}'");
    YAML_ERR("{\"a\" 1}", RC_PARSE, "t.yaml:1:6: expected ':' after the key, found '1'");
    YAML_ERR("{a: 1, b: [}", RC_PARSE,
             "t.yaml:1:12: did not find expected node content (while parsing a flow node at 1:12)");
    YAML_ERR("[.inf]", RC_UNSUPPORTED,
             "t.yaml:1:2: '.inf' (infinity or not-a-number) cannot be represented in json; quote it for a string");
    YAML_ERR("{a: 1, a: 2}", RC_PARSE, "t.yaml:1:8: duplicate key 'a' (first at 1:2)");
    /* Named .json, it is JSON or nothing. */
    JSON_ERR("{a: 1}", RC_PARSE, "t.json:1:2: expected a string key or '}', found 'a'");
}

static void test_yamljson_skips_a_byte_order_mark(void **state)
{
    (void)state;
    YAML_IS("\xef\xbb\xbf" "a: 1\n", "{\"a\":1}");
    JSON_IS("\xef\xbb\xbf" "[1]", "[1]");
    YAML_IS("\xef\xbb\xbf" "{\"a\": 1}", "{\"a\":1}");
    YAML_ERR("\xef\xbb\xbf" "a: [", RC_PARSE,
             "t.yaml:2:1: did not find expected node content (while parsing a flow node at 2:1)");
    JSON_ERR("\xef\xbb\xbf" "[1,", RC_PARSE, "t.json:1:4: expected a value, found end of input");
}

/* ---- the API around the parse ---- */

static void test_yamljson_appends_to_err_and_allows_null_err_and_name(void **state)
{
    struct buf err = BUF_INIT;
    cJSON *out = NULL;

    (void)state;
    buf_addstr(&err, "earlier; ");
    assert_int_equal(yamljson_parse("a: [", 4, "x.yaml", &out, &err), RC_PARSE);
    assert_true(str_startswith(err.data, "earlier; x.yaml:2:1: "));
    buf_reset(&err);
    assert_int_equal(yamljson_parse("", 0, NULL, &out, &err), RC_PARSE);
    assert_string_equal(err.data, "<input>:1:1: empty document");
    assert_int_equal(yamljson_parse("a: 1\na: 2", 9, "x.yaml", &out, NULL), RC_PARSE);
    assert_null(out);
    assert_int_equal(yamljson_parse("{\"a\": 1, \"a\": 2", 15, "x.yaml", &out, NULL), RC_PARSE);
    assert_int_equal(yamljson_parse("a: 1", 4, "x.yaml", &out, NULL), RC_OK);
    assert_non_null(out);
    cJSON_Delete(out);
    /* Only len bytes count; the text need not end in NUL. */
    assert_int_equal(yamljson_parse("a: 1xyz", 4, "x.yaml", &out, &err), RC_OK);
    assert_int_equal(cJSON_GetObjectItem(out, "a")->valueint, 1);
    cJSON_Delete(out);
    buf_release(&err);
}

static char *make_temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    struct buf path = BUF_INIT;

    buf_addf(&path, "%s/yamljson-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(path.data));
    return buf_detach(&path, NULL);
}

/* Write text to a new file made by mkstemp under dir; returns its path (caller frees). */
static char *write_temp(const char *dir, const char *text)
{
    struct buf path = BUF_INIT;
    size_t len = strlen(text);
    int fd;

    buf_addf(&path, "%s/specXXXXXX", dir);
    fd = mkstemp(path.data);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return buf_detach(&path, NULL);
}

static void test_yamljson_loads_a_file(void **state)
{
    char *dir = make_temp_dir(), *path, *json_path;
    struct buf err = BUF_INIT, want = BUF_INIT;
    cJSON *out = NULL;
    char *printed;

    (void)state;
    path = write_temp(dir, "openapi: 3.1.0\npaths:\n  /v1/x: {}\n");
    assert_int_equal(yamljson_load_file(path, &out, &err), RC_OK);
    printed = cJSON_PrintUnformatted(out);
    assert_string_equal(printed, "{\"openapi\":\"3.1.0\",\"paths\":{\"/v1/x\":{}}}");
    cJSON_free(printed);
    cJSON_Delete(out);
    unlink(path);
    free(path);

    /* Messages carry the path as the name. */
    path = write_temp(dir, "a: 1\nb: [1,\n");
    assert_int_equal(yamljson_load_file(path, &out, &err), RC_PARSE);
    assert_null(out);
    buf_addf(&want, "%s:3:1: did not find expected node content (while parsing a flow node at 3:1)", path);
    assert_string_equal(err.data, want.data);
    unlink(path);
    free(path);

    /* A .json name means strict JSON. */
    buf_reset(&want);
    buf_addf(&want, "%s/spec.json", dir);
    json_path = buf_detach(&want, NULL);
    path = write_temp(dir, "{a: 1}");
    assert_int_equal(rename(path, json_path), 0);
    buf_reset(&err);
    assert_int_equal(yamljson_load_file(json_path, &out, &err), RC_PARSE);
    buf_addf(&want, "%s:1:2: expected a string key or '}', found 'a'", json_path);
    assert_string_equal(err.data, want.data);
    unlink(json_path);
    free(json_path);
    free(path);

    /* A directory cannot be read. */
    buf_reset(&err);
    buf_reset(&want);
    assert_int_equal(yamljson_load_file(dir, &out, &err), RC_IO);
    buf_addf(&want, "cannot read '%s': Is a directory", dir);
    assert_string_equal(err.data, want.data);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
    buf_release(&err);
    buf_release(&want);
}

static void test_yamljson_reports_a_missing_file(void **state)
{
    struct buf err = BUF_INIT;
    cJSON *out = NULL;

    (void)state;
    assert_int_equal(yamljson_load_file("/nonexistent/hogplane.yaml", &out, &err), RC_NOT_FOUND);
    assert_null(out);
    assert_string_equal(err.data, "cannot read '/nonexistent/hogplane.yaml': No such file or directory");
    assert_int_equal(yamljson_load_file("/nonexistent/hogplane.yaml", &out, NULL), RC_NOT_FOUND);
    buf_release(&err);
}

static void test_yamljson_loads_the_hogplane_spec(void **state)
{
    const char *src = getenv("HOG_SRCDIR");
    struct buf path = BUF_INIT, err = BUF_INIT;
    const cJSON *version, *paths;
    cJSON *spec = NULL;
    enum rc rc;

    (void)state;
    buf_addf(&path, "%s/openapi/hogplane.yaml", src && *src ? src : ".");
    if (access(path.data, R_OK) != 0) {
        buf_release(&path);
        skip();
    }
    rc = yamljson_load_file(path.data, &spec, &err);
    if (rc != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    version = cJSON_GetObjectItem(spec, "openapi");
    paths = cJSON_GetObjectItem(spec, "paths");
    assert_true(cJSON_IsString(version));
    assert_true(str_startswith(version->valuestring, "3."));
    assert_true(cJSON_IsObject(paths));
    cJSON_Delete(spec);
    buf_release(&path);
    buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yamljson_reads_core_schema_nulls),
        cmocka_unit_test(test_yamljson_reads_only_1_2_booleans),
        cmocka_unit_test(test_yamljson_reads_yes_no_on_off_as_strings),
        cmocka_unit_test(test_yamljson_reads_decimal_octal_and_hex_integers),
        cmocka_unit_test(test_yamljson_reads_core_schema_floats),
        cmocka_unit_test(test_yamljson_refuses_infinity_and_nan),
        cmocka_unit_test(test_yamljson_keeps_big_integers_as_the_nearest_double),
        cmocka_unit_test(test_yamljson_refuses_numbers_beyond_double_range),
        cmocka_unit_test(test_yamljson_reads_quoted_and_block_scalars_as_strings),
        cmocka_unit_test(test_yamljson_honours_core_tags),
        cmocka_unit_test(test_yamljson_rejects_a_value_its_tag_does_not_fit),
        cmocka_unit_test(test_yamljson_refuses_unknown_tags),
        cmocka_unit_test(test_yamljson_reads_flow_collections),
        cmocka_unit_test(test_yamljson_reads_nested_block_documents),
        cmocka_unit_test(test_yamljson_uses_key_text_as_written),
        cmocka_unit_test(test_yamljson_rejects_duplicate_keys_naming_both_positions),
        cmocka_unit_test(test_yamljson_detects_duplicates_among_many_keys),
        cmocka_unit_test(test_yamljson_rejects_complex_keys),
        cmocka_unit_test(test_yamljson_refuses_merge_keys),
        cmocka_unit_test(test_yamljson_expands_aliases_as_deep_copies),
        cmocka_unit_test(test_yamljson_rejects_undefined_and_recursive_aliases),
        cmocka_unit_test(test_yamljson_stops_an_alias_bomb_at_the_node_limit),
        cmocka_unit_test(test_yamljson_stops_a_string_alias_bomb_at_the_byte_limit),
        cmocka_unit_test(test_yamljson_counts_alias_depth_against_the_nesting_limit),
        cmocka_unit_test(test_yamljson_reads_exactly_one_document),
        cmocka_unit_test(test_yamljson_rejects_an_empty_stream),
        cmocka_unit_test(test_yamljson_limits_nesting_to_256_levels),
        cmocka_unit_test(test_yamljson_stops_early_on_very_deep_input),
        cmocka_unit_test(test_yamljson_block_mappings_nest_too),
        cmocka_unit_test(test_yamljson_reads_a_10_mib_scalar),
        cmocka_unit_test(test_yamljson_reports_syntax_errors_with_file_line_and_column),
        cmocka_unit_test(test_yamljson_rejects_bad_bytes_with_a_position),
        cmocka_unit_test(test_yamljson_rejects_nul_characters_in_strings),
        cmocka_unit_test(test_yamljson_survives_malformed_input),
        cmocka_unit_test(test_yamljson_reads_json_strictly_when_named_json),
        cmocka_unit_test(test_yamljson_decodes_json_escapes),
        cmocka_unit_test(test_yamljson_detects_duplicate_keys_in_json),
        cmocka_unit_test(test_yamljson_reads_json_that_libyaml_cannot),
        cmocka_unit_test(test_yamljson_reads_flow_yaml_that_starts_like_json),
        cmocka_unit_test(test_yamljson_skips_a_byte_order_mark),
        cmocka_unit_test(test_yamljson_appends_to_err_and_allows_null_err_and_name),
        cmocka_unit_test(test_yamljson_loads_a_file),
        cmocka_unit_test(test_yamljson_reports_a_missing_file),
        cmocka_unit_test(test_yamljson_loads_the_hogplane_spec),
    };

    return cmocka_run_group_tests_name("yamljson", tests, setup, NULL);
}
