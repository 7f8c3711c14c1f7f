/* Unit tests for common/schema: each keyword passing and failing, the instance pointer and
 * message of each violation, errors in schemas, limits, and concurrent use. The official
 * suite runs in test_schema_suite.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "jsonptr.h"
#include "rc.h"
#include "schema.h"
#include "xmalloc.h"

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    if (!j)
        fail_msg("test JSON does not parse: %s", text);
    return j;
}

/* Validate inst against the whole schema document; when want is not RC_OK, the first
 * violation must have pointer and message (either NULL: not checked). */
static void expect_at(const char *file, int line, unsigned flags, const char *schema_text,
                      const char *inst_text, enum rc want, const char *pointer,
                      const char *message)
{
    cJSON *schema = parse(schema_text), *inst = parse(inst_text);
    struct schema *s = schema_new_flags(schema, flags);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    enum rc rc = schema_validate(s, schema, inst, &errs);
    const struct schema_error *e = errs.count ? &errs.items[0] : NULL;
    bool good = rc == want && (want == RC_OK ? errs.count == 0 : e != NULL)
                && (!pointer || (e && !strcmp(e->pointer, pointer)))
                && (!message || (e && !strcmp(e->message, message)));

    if (good && e && rc == RC_INVALID) {
        /* A missing required member is pointed at where it should be: its object exists. */
        struct buf parent = BUF_INIT;

        buf_addstr(&parent, e->pointer);
        if (strcmp(e->keyword, "required") == 0)
            buf_truncate(&parent, (size_t)(strrchr(buf_cstr(&parent), '/') - parent.data));
        good = jsonptr_get(inst, buf_cstr(&parent)) && jsonptr_get(schema, e->schema_pointer);
        buf_release(&parent);
    }
    if (!good)
        print_error("schema   %s\ninstance %s\nwant     %s %s %s\ngot      %s (%zu): %s %s\n",
                    schema_text, inst_text, rc_str(want), pointer ? pointer : "",
                    message ? message : "", rc_str(rc), errs.count, e ? e->pointer : "",
                    e ? e->message : "");
    schema_errors_release(&errs);
    schema_free(s);
    cJSON_Delete(schema);
    cJSON_Delete(inst);
    if (!good)
        _fail(file, line);
}

#define VALID(schema, inst) expect_at(__FILE__, __LINE__, 0, schema, inst, RC_OK, NULL, NULL)
#define INVALID(schema, inst, pointer, message) \
    expect_at(__FILE__, __LINE__, 0, schema, inst, RC_INVALID, pointer, message)
#define FAILS(schema, inst, rc) expect_at(__FILE__, __LINE__, 0, schema, inst, rc, NULL, NULL)

static void test_type_names_the_value_and_the_types(void **state)
{
    (void)state;
    VALID("{\"type\": \"integer\"}", "1");
    VALID("{\"type\": \"integer\"}", "1.0");
    VALID("{\"type\": \"integer\"}", "-1e300");
    INVALID("{\"type\": \"integer\"}", "1.5", "", "/: 1.5 is not of type \"integer\"");
    INVALID("{\"type\": \"integer\"}", "\"8\"", "", "/: \"8\" is not of type \"integer\"");
    VALID("{\"type\": \"number\"}", "0.25");
    VALID("{\"type\": \"null\"}", "null");
    INVALID("{\"type\": \"null\"}", "false", "", "/: false is not of type \"null\"");
    VALID("{\"type\": \"boolean\"}", "false");
    INVALID("{\"type\": \"boolean\"}", "0", "", NULL);
    VALID("{\"type\": [\"string\", \"null\"]}", "null");
    INVALID("{\"type\": [\"string\", \"null\"]}", "true", "",
            "/: true is not of type \"string\" or \"null\"");
    INVALID("{\"type\": [\"string\", \"array\", \"null\"]}", "{}", "",
            "/: {} is not of type \"string\", \"array\" or \"null\"");
    INVALID("{\"type\": \"object\"}", "[1, 2]", "", "/: [1,2] is not of type \"object\"");
}

static void test_nullable_adds_null_to_type_as_openapi_30_says(void **state)
{
    (void)state;
    VALID("{\"type\": \"string\", \"nullable\": true}", "null");
    VALID("{\"type\": \"string\", \"nullable\": true}", "\"x\"");
    INVALID("{\"type\": \"string\", \"nullable\": false}", "null", "", NULL);
    INVALID("{\"type\": \"string\"}", "null", "", NULL);
    /* 3.0.3: other keywords keep their meaning, so an enum without null still refuses it. */
    INVALID("{\"type\": \"string\", \"nullable\": true, \"enum\": [\"a\"]}", "null", "",
            "/: null is not one of \"a\"");
}

static void test_properties_report_the_member_pointer(void **state)
{
    (void)state;
    VALID("{\"properties\": {\"cpus\": {\"maximum\": 8}}}", "{\"cpus\": 8, \"other\": 100}");
    INVALID("{\"properties\": {\"cpus\": {\"maximum\": 8}}}", "{\"cpus\": 64}", "/cpus",
            "/cpus: 64 is greater than the maximum 8");
    INVALID("{\"properties\": {\"a/b\": {\"properties\": {\"c~d\": {\"type\": \"string\"}}}}}",
            "{\"a/b\": {\"c~d\": 1}}", "/a~1b/c~0d", "/a~1b/c~0d: 1 is not of type \"string\"");
    VALID("{\"properties\": {\"cpus\": {\"maximum\": 8}}}", "\"not an object\"");
}

static void test_required_names_the_missing_property(void **state)
{
    (void)state;
    VALID("{\"required\": [\"argv\"]}", "{\"argv\": []}");
    INVALID("{\"required\": [\"argv\"]}", "{\"env\": {}}", "/argv",
            "/argv: missing required property \"argv\"");
    INVALID("{\"properties\": {\"exec\": {\"required\": [\"argv\"]}}}", "{\"exec\": {}}", "/exec/argv",
            "/exec/argv: missing required property \"argv\"");
    VALID("{\"required\": [\"argv\"]}", "[]");
}

static void test_additional_properties_see_properties_and_patterns(void **state)
{
    const char *schema = "{\"properties\": {\"color\": {}}, \"patternProperties\": "
                         "{\"^x-\": {}}, \"additionalProperties\": false}";

    (void)state;
    VALID(schema, "{\"color\": 1, \"x-anything\": 2}");
    INVALID(schema, "{\"color\": 1, \"colour\": 2}", "/colour", "/colour: property \"colour\" is not allowed");
    VALID("{\"additionalProperties\": {\"type\": \"string\"}}", "{\"a\": \"x\"}");
    INVALID("{\"additionalProperties\": {\"type\": \"string\"}}", "{\"a\": \"x\", \"b\": 2}", "/b",
            "/b: 2 is not of type \"string\"");
    VALID("{\"additionalProperties\": true}", "{\"a\": 1}");
}

static void test_pattern_properties_apply_to_matching_names(void **state)
{
    const char *schema = "{\"patternProperties\": {\"^x-\": {\"type\": \"string\"}, "
                         "\"[0-9]$\": {\"minimum\": 5}}}";

    (void)state;
    VALID(schema, "{\"x-a\": \"s\", \"b1\": 7, \"other\": false}");
    INVALID(schema, "{\"x-a\": 1}", "/x-a", "/x-a: 1 is not of type \"string\"");
    VALID(schema, "{\"x-9\": \"s\"}");
    INVALID(schema, "{\"x-9\": 3}", "/x-9", "/x-9: 3 is not of type \"string\"");
}

static void test_object_size_and_names(void **state)
{
    (void)state;
    VALID("{\"minProperties\": 1, \"maxProperties\": 2}", "{\"a\": 1}");
    INVALID("{\"minProperties\": 1}", "{}", "", "/: the object has 0 properties, fewer than the minimum 1");
    INVALID("{\"maxProperties\": 1}", "{\"a\": 1, \"b\": 2}", "",
            "/: the object has 2 properties, more than the maximum 1");
    VALID("{\"propertyNames\": {\"pattern\": \"^[a-z]+$\"}}", "{\"abc\": 1}");
    INVALID("{\"propertyNames\": {\"pattern\": \"^[a-z]+$\"}}", "{\"abc\": 1, \"Foo\": 2}", "",
            "/: property name \"Foo\" is invalid: \"Foo\" does not match pattern \"^[a-z]+$\"");
    INVALID("{\"propertyNames\": {\"maxLength\": 2}}", "{\"abc\": 1}", "",
            "/: property name \"abc\" is invalid: \"abc\" is longer than 2 characters");
}

static void test_dependent_required_and_schemas(void **state)
{
    (void)state;
    VALID("{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"a\": 1, \"b\": 2}");
    VALID("{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"c\": 1}");
    INVALID("{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"a\": 1}", "",
            "/: property \"b\" is required when \"a\" is present");
    VALID("{\"dependentSchemas\": {\"a\": {\"required\": [\"b\"]}}}", "{\"c\": 1}");
    INVALID("{\"dependentSchemas\": {\"a\": {\"required\": [\"b\"]}}}", "{\"a\": 1}", "/b",
            "/b: missing required property \"b\"");
}

static void test_enum_lists_the_allowed_values(void **state)
{
    const char *schema = "{\"properties\": {\"access_type\": {\"enum\": [\"none\", "
                         "\"ssh-public\"]}}}";

    (void)state;
    VALID(schema, "{\"access_type\": \"none\"}");
    INVALID(schema, "{\"access_type\": \"rdp\"}", "/access_type",
            "/access_type: \"rdp\" is not one of \"none\", \"ssh-public\"");
    VALID("{\"enum\": [1, null, {\"a\": [true]}]}", "1.0");
    VALID("{\"enum\": [1, null, {\"a\": [true]}]}", "{\"a\": [true]}");
    INVALID("{\"enum\": [1, null, {\"a\": [true]}]}", "{\"a\": [false]}", "",
            "/: {\"a\":[false]} is not one of 1, null, {\"a\":[true]}");
}

static void test_const_compares_deeply(void **state)
{
    (void)state;
    VALID("{\"const\": 1}", "1.0");
    VALID("{\"const\": {\"a\": 1, \"b\": [1, {\"c\": null}]}}", "{\"b\": [1.0, {\"c\": null}], \"a\": 1}");
    INVALID("{\"const\": {\"a\": 1}}", "{\"a\": 1, \"b\": 2}", "",
            "/: {\"a\":1,\"b\":2} is not the constant {\"a\":1}");
    INVALID("{\"const\": [1, 2]}", "[2, 1]", "", NULL);
    INVALID("{\"const\": false}", "0", "", "/: 0 is not the constant false");
    INVALID("{\"const\": null}", "{}", "", NULL);
    VALID("{\"const\": \"h\\u00e9\"}", "\"h\\u00e9\"");
}

static void test_numeric_bounds(void **state)
{
    (void)state;
    VALID("{\"minimum\": 1, \"maximum\": 8}", "8");
    INVALID("{\"minimum\": 1}", "0.5", "", "/: 0.5 is less than the minimum 1");
    INVALID("{\"exclusiveMaximum\": 8}", "8", "", "/: 8 is not less than the exclusive maximum 8");
    VALID("{\"exclusiveMaximum\": 8}", "7.999");
    INVALID("{\"exclusiveMinimum\": 0}", "0", "", "/: 0 is not greater than the exclusive minimum 0");
    VALID("{\"exclusiveMinimum\": 0}", "1e-300");
    /* OpenAPI 3.0 spells exclusive bounds as booleans beside minimum/maximum. */
    INVALID("{\"maximum\": 8, \"exclusiveMaximum\": true}", "8", "", NULL);
    VALID("{\"maximum\": 8, \"exclusiveMaximum\": false}", "8");
    INVALID("{\"minimum\": 0, \"exclusiveMinimum\": true}", "0", "", NULL);
    VALID("{\"maximum\": 8}", "\"99\"");
}

static void test_multiple_of_tolerates_binary_fractions(void **state)
{
    (void)state;
    VALID("{\"multipleOf\": 0.1}", "0.3");
    VALID("{\"multipleOf\": 0.01}", "19.99");
    VALID("{\"multipleOf\": 0.0001}", "0.0075");
    INVALID("{\"multipleOf\": 0.1}", "0.35", "", "/: 0.35 is not a multiple of 0.1");
    INVALID("{\"multipleOf\": 3}", "10", "", "/: 10 is not a multiple of 3");
    VALID("{\"multipleOf\": 3}", "-9");
    VALID("{\"multipleOf\": 0.5}", "1e308");
    INVALID("{\"multipleOf\": 0.123456789}", "1e308", "", NULL);
    VALID("{\"multipleOf\": 0}", "5");    /* not a valid multipleOf: ignored */
}

static void test_string_length_counts_code_points(void **state)
{
    (void)state;
    VALID("{\"maxLength\": 5}", "\"h\\u00e9llo\"");             /* 5 code points, 6 bytes */
    VALID("{\"minLength\": 3, \"maxLength\": 3}", "\"\\u65e5\\u672c\\u8a9e\"");
    VALID("{\"maxLength\": 1}", "\"\\ud83d\\udc32\"");         /* one astral code point */
    INVALID("{\"maxLength\": 2}", "\"\\u65e5\\u672c\\u8a9e\"", "",
            "/: \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\" is longer than 2 characters");
    INVALID("{\"minLength\": 2}", "\"a\"", "", "/: \"a\" is shorter than 2 characters");
    INVALID("{\"maxLength\": 2}", "\"abc\"", "", "/: \"abc\" is longer than 2 characters");
}

static void test_pattern_is_an_unanchored_ecma_regex(void **state)
{
    const char *labels = "{\"properties\": {\"labels\": {\"additionalProperties\": "
                         "{\"pattern\": \"^[a-z]+$\"}}}}";

    (void)state;
    VALID(labels, "{\"labels\": {\"env\": \"prod\"}}");
    INVALID(labels, "{\"labels\": {\"env\": \"a b\"}}", "/labels/env",
            "/labels/env: \"a b\" does not match pattern \"^[a-z]+$\"");
    VALID("{\"pattern\": \"b+\"}", "\"aabbcc\"");
    INVALID("{\"pattern\": \"^abc$\"}", "\"abc\\n\"", "", NULL);       /* $ is the very end */
    INVALID("{\"pattern\": \"^\\\\d$\"}", "\"\\u0660\"", "", NULL);    /* \d is ASCII */
    VALID("{\"pattern\": \"^\\\\s$\"}", "\"\\ufeff\"");                /* \s is Unicode */
    VALID("{\"pattern\": \"^\\\\u0041\\\\u{1F432}$\"}", "\"A\\ud83d\\udc32\"");
    VALID("{\"pattern\": \"^\\\\p{Letter}+$\"}", "\"\\u00e9t\\u00e9\"");
    INVALID("{\"pattern\": \"^.$\"}", "\"\\u2028\"", "", NULL);        /* . stops at LS */
    VALID("{\"pattern\": \"^[^]$\"}", "\"\\n\"");
    VALID("{\"pattern\": \"^a\\\\/b$\"}", "\"a/b\"");
}

static void test_invalid_pattern_is_an_error_in_the_schema(void **state)
{
    cJSON *schema = parse("{\"properties\": {\"a\": {\"pattern\": \"([a-z\"}, "
                          "\"b\": {\"pattern\": \"\\\\a\"}}}");
    cJSON *a = parse("{\"a\": \"x\"}"), *b = parse("{\"b\": \"x\"}"), *none = parse("{}");
    struct schema *s = schema_new(schema);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;

    (void)state;
    assert_int_equal(schema_validate(s, schema, none, &errs), RC_OK);
    assert_int_equal(schema_validate(s, schema, a, &errs), RC_PARSE);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0].keyword, "pattern");
    assert_string_equal(errs.items[0].schema_pointer, "/properties/a/pattern");
    assert_non_null(strstr(errs.items[0].message, "invalid pattern \"([a-z\""));
    assert_int_equal(schema_validate(s, schema, b, &errs), RC_PARSE);
    assert_non_null(strstr(errs.items[1].message, "\\a is not an ECMA-262 escape"));
    schema_errors_release(&errs);
    schema_free(s);
    cJSON_Delete(schema);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(none);
}

static void test_catastrophic_pattern_fails_instead_of_hanging(void **state)
{
    (void)state;
    INVALID("{\"pattern\": \"^(a+)+$\"}", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"", "", NULL);
}

static void test_formats_are_asserted(void **state)
{
    (void)state;
    VALID("{\"format\": \"date-time\"}", "\"2024-02-29T23:59:60Z\"");
    INVALID("{\"format\": \"date-time\"}", "\"2024-02-29 10:00:00Z\"", "",
            "/: \"2024-02-29 10:00:00Z\" is not a valid date-time");
    VALID("{\"format\": \"date\"}", "\"2024-02-29\"");
    INVALID("{\"format\": \"date\"}", "\"2023-02-29\"", "", "/: \"2023-02-29\" is not a valid date");
    VALID("{\"format\": \"time\"}", "\"15:59:60-08:00\"");
    INVALID("{\"format\": \"time\"}", "\"12:00:00\"", "", NULL);
    VALID("{\"format\": \"uri\"}", "\"https://example.com/a?b#c\"");
    INVALID("{\"format\": \"uri\"}", "\"/relative\"", "", NULL);
    VALID("{\"format\": \"uri-reference\"}", "\"../x?y\"");
    INVALID("{\"format\": \"uri-reference\"}", "\"a b\"", "", NULL);
    VALID("{\"format\": \"uuid\"}", "\"2EB8AA08-AA98-11EA-B4AA-73B441D16380\"");
    INVALID("{\"format\": \"uuid\"}", "\"2eb8aa08aa9811eab4aa73b441d16380\"", "", NULL);
    VALID("{\"format\": \"email\"}", "\"joe.bloggs@example.com\"");
    INVALID("{\"format\": \"email\"}", "\"te..st@example.com\"", "", NULL);
    VALID("{\"format\": \"ipv4\"}", "\"192.168.0.1\"");
    INVALID("{\"format\": \"ipv4\"}", "\"087.10.0.1\"", "", NULL);
    VALID("{\"format\": \"ipv6\"}", "\"::ffff:192.168.0.1\"");
    INVALID("{\"format\": \"ipv6\"}", "\"1::2::3\"", "", NULL);
    VALID("{\"format\": \"hostname\"}", "\"api.hogland.dev\"");
    INVALID("{\"format\": \"hostname\"}", "\"-bad.example\"", "", NULL);
    VALID("{\"format\": \"no-such-format\"}", "\"anything\"");
    VALID("{\"format\": \"date\"}", "20240229");
    expect_at(__FILE__, __LINE__, SCHEMA_FORMAT_ANNOTATION, "{\"format\": \"date\"}",
              "\"not a date\"", RC_OK, NULL, NULL);
}

static void test_items_and_prefix_items(void **state)
{
    (void)state;
    VALID("{\"items\": {\"type\": \"string\"}}", "[\"a\", \"b\"]");
    INVALID("{\"items\": {\"type\": \"string\"}}", "[\"a\", \"b\", 3]", "/2",
            "/2: 3 is not of type \"string\"");
    VALID("{\"prefixItems\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "[1, \"a\", null]");
    INVALID("{\"prefixItems\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "[1, 2]", "/1",
            NULL);
    INVALID("{\"prefixItems\": [{}, {}], \"items\": false}", "[1, 2, 3]", "",
            "/: the array has 3 items, more than the 2 allowed");
    VALID("{\"prefixItems\": [{}, {}], \"items\": false}", "[1]");
    VALID("{\"minItems\": 1, \"maxItems\": 2}", "[1, 2]");
    INVALID("{\"minItems\": 1}", "[]", "", "/: the array has 0 items, fewer than the minimum 1");
    INVALID("{\"maxItems\": 1}", "[1, 2]", "", "/: the array has 2 items, more than the maximum 1");
}

static void test_unique_items_compares_deeply(void **state)
{
    (void)state;
    VALID("{\"uniqueItems\": true}", "[1, \"1\", [1], {\"a\": 1}, true]");
    INVALID("{\"uniqueItems\": true}", "[0, 1, 1.0]", "",
            "/: items 1 and 2 are equal; items must be unique");
    INVALID("{\"uniqueItems\": true}", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]", "", NULL);
    VALID("{\"uniqueItems\": false}", "[1, 1]");
}

static void test_contains_counts_matches(void **state)
{
    (void)state;
    VALID("{\"contains\": {\"type\": \"string\"}}", "[1, \"a\"]");
    INVALID("{\"contains\": {\"type\": \"string\"}}", "[1, 2]", "",
            "/: no item matches the contains schema");
    INVALID("{\"contains\": {\"type\": \"string\"}, \"minContains\": 2}", "[\"a\", 2]", "",
            "/: only 1 items match the contains schema, fewer than 2");
    INVALID("{\"contains\": {\"type\": \"string\"}, \"maxContains\": 1}", "[\"a\", \"b\"]", "",
            "/: 2 items match the contains schema, more than 1");
    VALID("{\"contains\": {\"type\": \"string\"}, \"minContains\": 0}", "[]");
}

static void test_combinators_explain_their_branches(void **state)
{
    const char *any = "{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\", "
                      "\"minimum\": 10}]}";
    const char *one = "{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}";

    (void)state;
    VALID(any, "\"s\"");
    VALID(any, "12");
    INVALID(any, "5", "", "/: does not match any of the anyOf schemas: [0] 5 is not of type "
                          "\"string\"; [1] 5 is less than the minimum 10");
    VALID(one, "1");
    VALID(one, "2.5");
    INVALID(one, "3", "", "/: matches 2 of the oneOf schemas (0, 1); exactly one is required");
    INVALID(one, "1.5", "", "/: does not match any of the oneOf schemas: [0] 1.5 is not of type "
                            "\"integer\"; [1] 1.5 is less than the minimum 2");
    INVALID("{\"oneOf\": [{\"properties\": {\"a\": {\"type\": \"string\"}}}, {\"type\": \"array\"}]}",
            "{\"a\": 1}", "", "/: does not match any of the oneOf schemas: [0] /a: 1 is not of type "
                              "\"string\"; [1] {\"a\":1} is not of type \"array\"");
    VALID("{\"allOf\": [{\"minimum\": 1}, {\"maximum\": 3}]}", "2");
    INVALID("{\"allOf\": [{\"minimum\": 1}, {\"maximum\": 3}]}", "4", "",
            "/: 4 is greater than the maximum 3");
    VALID("{\"not\": {\"type\": \"string\"}}", "5");
    INVALID("{\"not\": {\"type\": \"string\"}}", "\"s\"", "", "/: \"s\" must not match the \"not\" schema");
}

static void test_if_then_else(void **state)
{
    const char *schema = "{\"if\": {\"properties\": {\"access_type\": {\"const\": \"ssh-public\"}}, "
                         "\"required\": [\"access_type\"]}, "
                         "\"then\": {\"required\": [\"ssh_public_key\"]}, "
                         "\"else\": {\"not\": {\"required\": [\"ssh_public_key\"]}}}";

    (void)state;
    VALID(schema, "{\"access_type\": \"ssh-public\", \"ssh_public_key\": \"k\"}");
    VALID(schema, "{\"access_type\": \"none\"}");
    INVALID(schema, "{\"access_type\": \"ssh-public\"}", "/ssh_public_key",
            "/ssh_public_key: missing required property \"ssh_public_key\"");
    INVALID(schema, "{\"ssh_public_key\": \"k\"}", "", NULL);
    VALID("{\"then\": false}", "1");    /* then without if does nothing */
}

static void test_boolean_schemas(void **state)
{
    (void)state;
    VALID("true", "{\"anything\": [1]}");
    INVALID("false", "1", "", "/: 1 is not allowed here");
    INVALID("{\"properties\": {\"gone\": false}}", "{\"gone\": 1}", "/gone",
            "/gone: 1 is not allowed here");
}

static void test_refs_resolve_within_the_document(void **state)
{
    const char *schema = "{\"$defs\": {\"port\": {\"type\": \"integer\", \"maximum\": 65535}, "
                         "\"a~b/c\": {\"type\": \"string\"}}, "
                         "\"properties\": {\"port\": {\"$ref\": \"#/$defs/port\", \"minimum\": 1}, "
                         "\"name\": {\"$ref\": \"#/$defs/a~0b~1c\"}, "
                         "\"child\": {\"$ref\": \"#\"}}}";
    cJSON *doc = parse(schema), *inst = parse("{\"child\": {\"port\": 70000}}");
    struct schema *s = schema_new(doc);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;

    (void)state;
    VALID(schema, "{\"port\": 22, \"name\": \"x\", \"child\": {\"port\": 80}}");
    INVALID(schema, "{\"port\": 0}", "/port", "/port: 0 is less than the minimum 1");
    INVALID(schema, "{\"name\": 5}", "/name", "/name: 5 is not of type \"string\"");
    assert_int_equal(schema_validate(s, doc, inst, &errs), RC_INVALID);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0].pointer, "/child/port");
    assert_string_equal(errs.items[0].schema_pointer, "/$defs/port/maximum");
    assert_string_equal(errs.items[0].keyword, "maximum");
    schema_errors_release(&errs);
    schema_free(s);
    cJSON_Delete(doc);
    cJSON_Delete(inst);
}

static void test_ids_and_anchors_name_embedded_resources(void **state)
{
    const char *schema = "{\"$id\": \"https://hog.example/root.json\", "
                         "\"properties\": {\"a\": {\"$ref\": \"item.json\"}, "
                         "\"b\": {\"$ref\": \"#positive\"}, \"c\": {\"$ref\": \"urn:hog:n#/$defs/s\"}}, "
                         "\"$defs\": {\"item\": {\"$id\": \"item.json\", \"type\": \"integer\"}, "
                         "\"pos\": {\"$anchor\": \"positive\", \"exclusiveMinimum\": 0}, "
                         "\"urn\": {\"$id\": \"urn:hog:n\", \"$defs\": {\"s\": {\"type\": \"string\"}}}}}";

    (void)state;
    VALID(schema, "{\"a\": 1, \"b\": 2, \"c\": \"x\"}");
    INVALID(schema, "{\"a\": \"x\"}", "/a", NULL);
    INVALID(schema, "{\"b\": 0}", "/b", NULL);
    INVALID(schema, "{\"c\": 1}", "/c", NULL);
}

static void test_dynamic_ref_uses_the_outermost_dynamic_anchor(void **state)
{
    const char *schema = "{\"$id\": \"https://hog.example/strings\", \"$ref\": \"list\", "
                         "\"$defs\": {\"s\": {\"$dynamicAnchor\": \"items\", \"type\": \"string\"}, "
                         "\"list\": {\"$id\": \"list\", \"type\": \"array\", "
                         "\"items\": {\"$dynamicRef\": \"#items\"}, "
                         "\"$defs\": {\"any\": {\"$dynamicAnchor\": \"items\"}}}}}";

    (void)state;
    VALID(schema, "[\"a\", \"b\"]");
    INVALID(schema, "[\"a\", 2]", "/1", "/1: 2 is not of type \"string\"");
}

static void test_unevaluated_properties_see_through_combinators(void **state)
{
    const char *schema = "{\"allOf\": [{\"properties\": {\"a\": {}}}], "
                         "\"anyOf\": [{\"properties\": {\"b\": {}}, \"required\": [\"b\"]}, "
                         "{\"properties\": {\"c\": {}}, \"required\": [\"c\"]}], "
                         "\"unevaluatedProperties\": false}";

    (void)state;
    VALID(schema, "{\"a\": 1, \"b\": 2}");
    VALID(schema, "{\"a\": 1, \"b\": 2, \"c\": 3}");
    INVALID(schema, "{\"b\": 2, \"d\": 4}", "/d", "/d: property \"d\" is not allowed");
    VALID("{\"prefixItems\": [{}], \"unevaluatedItems\": {\"type\": \"string\"}}", "[1, \"a\"]");
    INVALID("{\"prefixItems\": [{}], \"unevaluatedItems\": false}", "[1, 2]", "",
            "/: item 1 is not allowed (no schema evaluates it)");
}

static void test_openapi_document_refs_and_schema_pointers(void **state)
{
    cJSON *doc = parse(
        "{\"openapi\": \"3.1.0\", \"paths\": {}, \"components\": {\"schemas\": {"
        "\"Hogbox\": {\"type\": \"object\", \"required\": [\"cpus\"], \"properties\": {"
        "\"cpus\": {\"type\": \"integer\", \"maximum\": 8}, "
        "\"labels\": {\"$ref\": \"#/components/schemas/Labels\"}}, \"additionalProperties\": false}, "
        "\"Labels\": {\"additionalProperties\": {\"pattern\": \"^[a-z]+$\"}}}}}");
    cJSON *inst = parse("{\"cpus\": 64, \"labels\": {\"env\": \"a b\"}, \"colour\": 1}");
    struct schema *s = schema_new(doc);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    const cJSON *hogbox = jsonptr_get(doc, "/components/schemas/Hogbox");

    (void)state;
    assert_int_equal(schema_validate(s, hogbox, inst, &errs), RC_INVALID);
    assert_int_equal(errs.count, 3);
    assert_string_equal(errs.items[0].message, "/cpus: 64 is greater than the maximum 8");
    assert_string_equal(errs.items[0].schema_pointer,
                        "/components/schemas/Hogbox/properties/cpus/maximum");
    assert_string_equal(errs.items[1].pointer, "/labels/env");
    assert_string_equal(errs.items[1].schema_pointer,
                        "/components/schemas/Labels/additionalProperties/pattern");
    assert_string_equal(errs.items[2].message, "/colour: property \"colour\" is not allowed");
    assert_string_equal(errs.items[2].schema_pointer,
                        "/components/schemas/Hogbox/additionalProperties");
    /* A node that is not a schema of this document, or none at all. */
    assert_int_equal(schema_validate(s, inst, inst, NULL), RC_NOT_FOUND);
    assert_int_equal(schema_validate(s, jsonptr_get(doc, "/nope"), inst, NULL), RC_NOT_FOUND);
    /* Without a list the verdict is the same. */
    assert_int_equal(schema_validate(s, hogbox, inst, NULL), RC_INVALID);
    schema_errors_release(&errs);
    schema_errors_release(&errs);
    schema_free(s);
    schema_free(NULL);
    cJSON_Delete(doc);
    cJSON_Delete(inst);
}

static void test_unresolvable_refs_are_unsupported(void **state)
{
    (void)state;
    FAILS("{\"$ref\": \"#/$defs/missing\"}", "1", RC_UNSUPPORTED);
    FAILS("{\"$ref\": \"https://json-schema.org/draft/2020-12/schema\"}", "{}", RC_UNSUPPORTED);
    FAILS("{\"properties\": {\"a\": {\"$ref\": \"common.yaml#/Thing\"}}}", "{\"a\": 1}",
          RC_UNSUPPORTED);
    VALID("{\"properties\": {\"a\": {\"$ref\": \"common.yaml#/Thing\"}}}", "{\"b\": 1}");
    FAILS("{\"anyOf\": [{\"$ref\": \"#/nope\"}, true]}", "1", RC_UNSUPPORTED);
}

static void test_check_lists_errors_in_schemas_up_front(void **state)
{
    cJSON *doc = parse(
        "{\"openapi\": \"3.1.0\", \"paths\": {\"/x\": {\"get\": {\"parameters\": [{\"name\": \"q\", "
        "\"in\": \"query\", \"schema\": {\"pattern\": \"(\"}}]}}}, "
        "\"components\": {\"schemas\": {\"A\": {\"$ref\": \"other.yaml#/B\"}, "
        "\"C\": {\"patternProperties\": {\"[\": true}, \"examples\": [{\"pattern\": \"(\"}]}, "
        "\"D\": {\"$ref\": \"#/components/schemas/C\"}}}}");
    cJSON *fine = parse("{\"$defs\": {\"a\": {\"pattern\": \"^a$\"}}, \"$ref\": \"#/$defs/a\"}");
    struct schema *s = schema_new(doc), *t = schema_new(fine);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;

    (void)state;
    assert_int_equal(schema_check(t, &errs), RC_OK);
    assert_int_equal(errs.count, 0);
    assert_int_not_equal(schema_check(s, NULL), RC_OK);
    assert_int_not_equal(schema_check(s, &errs), RC_OK);
    /* The pattern inside examples is data, not a schema keyword. */
    assert_int_equal(errs.count, 3);
    assert_string_equal(errs.items[0].schema_pointer, "/components/schemas/A/$ref");
    assert_string_equal(errs.items[0].keyword, "$ref");
    assert_string_equal(errs.items[0].message,
                        "/components/schemas/A/$ref: $ref \"other.yaml#/B\" leaves the document; "
                        "only references within it are supported");
    assert_string_equal(errs.items[1].schema_pointer, "/components/schemas/C/patternProperties/[");
    assert_string_equal(errs.items[1].keyword, "patternProperties");
    assert_string_equal(errs.items[2].schema_pointer,
                        "/paths/~1x/get/parameters/0/schema/pattern");
    assert_non_null(strstr(errs.items[2].message, "invalid pattern \"(\": "));
    schema_errors_release(&errs);
    schema_free(s);
    schema_free(t);
    cJSON_Delete(doc);
    cJSON_Delete(fine);
}

static void test_ref_cycles_are_caught(void **state)
{
    (void)state;
    FAILS("{\"$ref\": \"#\"}", "1", RC_CYCLE);
    FAILS("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"allOf\": [{\"$ref\": "
          "\"#/$defs/a\"}]}}, \"$ref\": \"#/$defs/a\"}", "{}", RC_CYCLE);
    FAILS("{\"not\": {\"anyOf\": [{\"$ref\": \"#\"}]}}", "null", RC_CYCLE);
    /* Recursion that descends into the value is fine. */
    VALID("{\"items\": {\"$ref\": \"#\"}}", "[[[], [[]]]]");
}

static void test_deep_nesting_stops_at_the_bound(void **state)
{
    struct buf deep = BUF_INIT, pointer = BUF_INIT;
    cJSON *schema = parse("{\"items\": {\"$ref\": \"#\"}}"), *inst;
    struct schema *s = schema_new(schema);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    int i;

    (void)state;
    for (i = 0; i < 300; i++)
        buf_addch(&deep, '[');
    for (i = 0; i < 300; i++)
        buf_addch(&deep, ']');
    inst = parse(deep.data);
    assert_int_equal(schema_validate(s, schema, inst, &errs), RC_TOO_DEEP);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0].message, "deeper than 128 schemas"));
    /* Two evaluations per level: items, then the $ref. */
    for (i = 0; i < SCHEMA_MAX_DEPTH / 2; i++)
        jsonptr_append_index(&pointer, 0);
    assert_string_equal(errs.items[0].pointer, pointer.data);
    schema_errors_release(&errs);
    schema_free(s);
    cJSON_Delete(schema);
    cJSON_Delete(inst);
    buf_release(&deep);
    buf_release(&pointer);
}

static void test_bad_schemas_never_crash(void **state)
{
    static const char *const schemas[] = {
        "5", "\"string\"", "null", "[]", "{\"type\": 5}", "{\"type\": [1, null]}",
        "{\"type\": \"nonsense\"}", "{\"required\": 5}", "{\"required\": [1, null]}",
        "{\"properties\": []}", "{\"properties\": {\"a\": 5}}", "{\"enum\": {}}", "{\"enum\": 3}",
        "{\"minimum\": \"5\"}", "{\"maxLength\": -1}", "{\"pattern\": 5}",
        "{\"patternProperties\": []}", "{\"patternProperties\": {\"(\": {}}}",
        "{\"items\": [{}]}", "{\"items\": 5}", "{\"prefixItems\": {}}", "{\"contains\": 1}",
        "{\"minContains\": \"x\", \"contains\": {}}", "{\"allOf\": {}}", "{\"anyOf\": []}",
        "{\"oneOf\": []}", "{\"oneOf\": [5]}", "{\"not\": []}", "{\"if\": 1, \"then\": 2}",
        "{\"$ref\": 5}", "{\"$ref\": \"\"}", "{\"$ref\": \"#/%zz\"}", "{\"$ref\": \"#/a~2\"}",
        "{\"$ref\": \"#foo\"}", "{\"$id\": 7}", "{\"$id\": \"#frag\", \"$ref\": \"#frag\"}",
        "{\"$id\": \"http://[bad\", \"$ref\": \"../../..\"}", "{\"$dynamicRef\": \"#x\"}",
        "{\"dependentRequired\": {\"a\": 5}}", "{\"dependentSchemas\": {\"a\": 5}}",
        "{\"propertyNames\": 5}", "{\"additionalProperties\": []}",
        "{\"unevaluatedProperties\": 3}", "{\"unevaluatedItems\": {\"$ref\": \"#\"}}",
        "{\"format\": 5}", "{\"multipleOf\": -2}", "{\"uniqueItems\": \"yes\"}",
        "{\"nullable\": \"yes\", \"type\": \"string\"}", "{\"const\": {}, \"enum\": []}",
    };
    static const char *const instances[] = {
        "null", "true", "0", "-1.5", "\"\"", "\"x\"", "[]", "[1, [2], {\"a\": null}]", "{}",
        "{\"a\": 1, \"b\": [true]}",
    };
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        cJSON *schema = parse(schemas[i]);
        struct schema *s = schema_new(schema);

        for (j = 0; j < sizeof(instances) / sizeof(instances[0]); j++) {
            cJSON *inst = parse(instances[j]);
            struct schema_errors errs = SCHEMA_ERRORS_INIT;
            enum rc rc = schema_validate(s, schema, inst, &errs);

            if (rc != RC_OK && rc != RC_INVALID && rc != RC_PARSE && rc != RC_UNSUPPORTED
                && rc != RC_CYCLE)
                fail_msg("schema %s, instance %s: %s", schemas[i], instances[j], rc_str(rc));
            assert_true(rc == RC_OK ? errs.count == 0 : errs.count > 0);
            schema_errors_release(&errs);
            cJSON_Delete(inst);
        }
        schema_free(s);
        cJSON_Delete(schema);
    }
    /* A document that is not even an object, and no document at all. */
    {
        struct schema *s = schema_new(NULL);
        cJSON *one = parse("1");

        assert_int_equal(schema_validate(s, one, one, NULL), RC_NOT_FOUND);
        schema_free(s);
        cJSON_Delete(one);
    }
}

static void test_violations_are_capped(void **state)
{
    struct buf text = BUF_INIT;
    cJSON *schema = parse("{\"items\": {\"type\": \"string\"}}"), *inst;
    struct schema *s = schema_new(schema);
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    int i;

    (void)state;
    buf_addch(&text, '[');
    for (i = 0; i < 500; i++)
        buf_addf(&text, "%s%d", i ? "," : "", i);
    buf_addch(&text, ']');
    inst = parse(text.data);
    assert_int_equal(schema_validate(s, schema, inst, &errs), RC_INVALID);
    assert_int_equal(errs.count, SCHEMA_MAX_ERRORS + 1);
    assert_string_equal(errs.items[SCHEMA_MAX_ERRORS - 1].pointer, "/99");
    assert_string_equal(errs.items[SCHEMA_MAX_ERRORS].message,
                        "/: too many violations; only the first 100 are reported");
    schema_errors_release(&errs);
    schema_free(s);
    cJSON_Delete(schema);
    cJSON_Delete(inst);
    buf_release(&text);
}

struct shared {
    const struct schema *s;
    const cJSON *schema, *good, *bad;
    int failures;
};

static void *validate_many(void *arg)
{
    struct shared *sh = arg;
    int i, failures = 0;

    for (i = 0; i < 300; i++) {
        struct schema_errors errs = SCHEMA_ERRORS_INIT;

        failures += schema_validate(sh->s, sh->schema, sh->good, &errs) != RC_OK;
        failures += schema_validate(sh->s, sh->schema, sh->bad, &errs) != RC_INVALID;
        failures += errs.count != 2
                    || strcmp(errs.items[0].message, "/labels/env: \"A B\" does not match "
                                                     "pattern \"^[a-z]+$\"") != 0;
        schema_errors_release(&errs);
    }
    return (void *)(intptr_t)failures;
}

static void test_one_schema_serves_many_threads(void **state)
{
    cJSON *schema = parse("{\"properties\": {\"labels\": {\"patternProperties\": {\"^[a-z]+$\": "
                          "{\"pattern\": \"^[a-z]+$\"}}, \"additionalProperties\": false}, "
                          "\"id\": {\"format\": \"uuid\"}, \"n\": {\"$ref\": \"#/$defs/n\"}}, "
                          "\"$defs\": {\"n\": {\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"null\"}]}}, "
                          "\"unevaluatedProperties\": false}");
    cJSON *good = parse("{\"labels\": {\"env\": \"prod\"}, \"n\": 3, "
                        "\"id\": \"98d80576-482e-427f-8434-7f86890ab222\"}");
    cJSON *bad = parse("{\"labels\": {\"env\": \"A B\"}, \"n\": 3.5}");
    struct shared sh;
    pthread_t threads[8];
    int i, failures = 0;

    (void)state;
    sh.s = schema_new(schema);
    sh.schema = schema;
    sh.good = good;
    sh.bad = bad;
    for (i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, validate_many, &sh), 0);
    for (i = 0; i < 8; i++) {
        void *ret;

        assert_int_equal(pthread_join(threads[i], &ret), 0);
        failures += (int)(intptr_t)ret;
    }
    assert_int_equal(failures, 0);
    schema_free((struct schema *)sh.s);
    cJSON_Delete(schema);
    cJSON_Delete(good);
    cJSON_Delete(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names_the_value_and_the_types),
        cmocka_unit_test(test_nullable_adds_null_to_type_as_openapi_30_says),
        cmocka_unit_test(test_properties_report_the_member_pointer),
        cmocka_unit_test(test_required_names_the_missing_property),
        cmocka_unit_test(test_additional_properties_see_properties_and_patterns),
        cmocka_unit_test(test_pattern_properties_apply_to_matching_names),
        cmocka_unit_test(test_object_size_and_names),
        cmocka_unit_test(test_dependent_required_and_schemas),
        cmocka_unit_test(test_enum_lists_the_allowed_values),
        cmocka_unit_test(test_const_compares_deeply),
        cmocka_unit_test(test_numeric_bounds),
        cmocka_unit_test(test_multiple_of_tolerates_binary_fractions),
        cmocka_unit_test(test_string_length_counts_code_points),
        cmocka_unit_test(test_pattern_is_an_unanchored_ecma_regex),
        cmocka_unit_test(test_invalid_pattern_is_an_error_in_the_schema),
        cmocka_unit_test(test_catastrophic_pattern_fails_instead_of_hanging),
        cmocka_unit_test(test_formats_are_asserted),
        cmocka_unit_test(test_items_and_prefix_items),
        cmocka_unit_test(test_unique_items_compares_deeply),
        cmocka_unit_test(test_contains_counts_matches),
        cmocka_unit_test(test_combinators_explain_their_branches),
        cmocka_unit_test(test_if_then_else),
        cmocka_unit_test(test_boolean_schemas),
        cmocka_unit_test(test_refs_resolve_within_the_document),
        cmocka_unit_test(test_ids_and_anchors_name_embedded_resources),
        cmocka_unit_test(test_dynamic_ref_uses_the_outermost_dynamic_anchor),
        cmocka_unit_test(test_unevaluated_properties_see_through_combinators),
        cmocka_unit_test(test_openapi_document_refs_and_schema_pointers),
        cmocka_unit_test(test_unresolvable_refs_are_unsupported),
        cmocka_unit_test(test_check_lists_errors_in_schemas_up_front),
        cmocka_unit_test(test_ref_cycles_are_caught),
        cmocka_unit_test(test_deep_nesting_stops_at_the_bound),
        cmocka_unit_test(test_bad_schemas_never_crash),
        cmocka_unit_test(test_violations_are_capped),
        cmocka_unit_test(test_one_schema_serves_many_threads),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
