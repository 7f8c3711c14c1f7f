/* The official JSON-Schema-Test-Suite (draft 2020-12, as Debian ships it in
 * libtest-json-schema-acceptance-perl) run against common/schema: every file for a keyword
 * we support, and the optional format files with format assertion on. Set
 * JSON_SCHEMA_TEST_SUITE to another tests/draft2020-12 directory to use that instead.
 * Every case must pass except the test groups in SKIPS; a skipped group that passes, or
 * that no longer exists, fails the run so the table stays honest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "jsonptr.h"
#include "schema.h"
#include "xmalloc.h"

#define DEFAULT_SUITE_DIR \
    "/usr/share/perl5/auto/share/dist/Test-JSON-Schema-Acceptance/tests/draft2020-12"

static const char META[] = "needs the draft 2020-12 meta-schema (a remote $ref)";
static const char REMOTE[] = "needs a remote document from the suite's remotes/ directory";

static const struct skip {
    const char *file, *group, *reason;
} SKIPS[] = {
    { "anchor.json", "invalid anchors", META },
    { "defs.json", "validate definition against metaschema", META },
    { "id.json", "Invalid use of fragments in location-independent $id", META },
    { "id.json", "Valid use of empty fragments in location-independent $id", META },
    { "id.json", "Unnormalized $ids are allowed but discouraged", META },
    { "ref.json", "remote ref, containing refs itself", META },
    { "ref.json", "URN base URI with f-component", META },
    { "optional/ecmascript-regex.json", "\\a is not an ECMA 262 control escape", META },
    { "dynamicRef.json", "strict-tree schema, guards against misspelled properties", REMOTE },
    { "dynamicRef.json", "tests for implementation dynamic anchor and reference link", REMOTE },
    { "dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $defs first",
      REMOTE },
    { "dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $ref first",
      REMOTE },
};
#define NSKIPS (sizeof(SKIPS) / sizeof(SKIPS[0]))

static size_t total_files, total_run, total_passed, total_skipped_meta, total_skipped_remote;

static const char *suite_dir(void)
{
    const char *dir = getenv("JSON_SCHEMA_TEST_SUITE");

    return dir && *dir ? dir : DEFAULT_SUITE_DIR;
}

static cJSON *load(const char *path)
{
    struct buf text = BUF_INIT;
    char chunk[8192];
    size_t n;
    FILE *f = fopen(path, "rb");
    cJSON *doc;

    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&text, chunk, n);
    fclose(f);
    doc = cJSON_Parse(buf_cstr(&text));
    buf_release(&text);
    return doc;
}

static const struct skip *find_skip(const char *file, const char *group, bool *used)
{
    size_t i;

    for (i = 0; i < NSKIPS; i++)
        if (!strcmp(SKIPS[i].file, file) && !strcmp(SKIPS[i].group, group)) {
            used[i] = true;
            return &SKIPS[i];
        }
    return NULL;
}

/* One case: the verdict must match, and every violation must point into the instance and
 * at a keyword of the schema, with a message. */

/* The violation's pointer names a value of data, or (for a missing required member) a
 * member of an object that data holds. */
static bool points_into(const cJSON *data, const struct schema_error *e)
{
    const char *slash;
    char *parent;
    bool ok;

    if (jsonptr_get(data, e->pointer))
        return true;
    if (strcmp(e->keyword, "required") != 0 || !(slash = strrchr(e->pointer, '/')))
        return false;
    parent = xstrndup(e->pointer, (size_t)(slash - e->pointer));
    ok = cJSON_IsObject(jsonptr_get(data, parent));
    free(parent);
    return ok;
}

static bool run_case(const struct schema *s, const cJSON *schema, const cJSON *test,
                     struct buf *why)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(test, "data");
    bool valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(test, "valid"));
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    enum rc rc = schema_validate(s, schema, data, &errs);
    bool good = valid ? rc == RC_OK && errs.count == 0 : rc == RC_INVALID && errs.count > 0;
    size_t i;

    if (!good)
        buf_addf(why, "expected %s, got %s", valid ? "valid" : "invalid", rc_str(rc));
    for (i = 0; i < errs.count; i++) {
        const struct schema_error *e = &errs.items[i];

        if (i == 0 && !good)
            buf_addf(why, " (%s)", e->message);
        if (good && (!points_into(data, e) || !jsonptr_get(schema, e->schema_pointer)
                     || !*e->message)) {
            buf_addf(why, "bad violation: pointer '%s', schema pointer '%s', message '%s'",
                     e->pointer, e->schema_pointer, e->message);
            good = false;
        }
    }
    schema_errors_release(&errs);
    return good;
}

static void run_file(const char *file, unsigned flags)
{
    struct buf path = BUF_INIT;
    bool used[NSKIPS] = { false };
    size_t run = 0, passed = 0, skipped = 0, failures = 0, i;
    const cJSON *group;
    cJSON *doc;

    if (access(suite_dir(), R_OK) != 0) {
        printf("JSON-Schema-Test-Suite not found at %s: install libtest-json-schema-acceptance-perl "
               "or set JSON_SCHEMA_TEST_SUITE\n", suite_dir());
        skip();
    }
    buf_addf(&path, "%s/%s", suite_dir(), file);
    doc = load(buf_cstr(&path));
    if (!doc)
        fail_msg("cannot read or parse %s", buf_cstr(&path));
    cJSON_ArrayForEach(group, doc) {
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(group, "description");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(group, "schema");
        const cJSON *tests = cJSON_GetObjectItemCaseSensitive(group, "tests"), *test;
        const struct skip *sk = find_skip(file, desc->valuestring, used);
        struct schema *s = schema_new_flags(schema, flags);
        size_t n = 0, good = 0;

        cJSON_ArrayForEach(test, tests) {
            struct buf why = BUF_INIT;
            bool ok = run_case(s, schema, test, &why);

            n++;
            good += ok;
            if (!ok && !sk) {
                printf("FAIL %s | %s | %s: %s\n", file, desc->valuestring,
                       cJSON_GetObjectItemCaseSensitive(test, "description")->valuestring,
                       buf_cstr(&why));
                failures++;
            }
            buf_release(&why);
        }
        schema_free(s);
        if (sk) {
            skipped += n;
            if (sk->reason == META)
                total_skipped_meta += n;
            else
                total_skipped_remote += n;
            if (good == n) {
                printf("FAIL %s | %s: skipped (%s) but passes now; remove it from SKIPS\n", file,
                       desc->valuestring, sk->reason);
                failures++;
            }
        } else {
            run += n;
            passed += good;
        }
    }
    for (i = 0; i < NSKIPS; i++)
        if (!strcmp(SKIPS[i].file, file) && !used[i]) {
            printf("FAIL %s | %s: in SKIPS but not in the file; remove it\n", file, SKIPS[i].group);
            failures++;
        }
    printf("%-44s %3zu cases, %3zu passed, %2zu skipped\n", file, run + skipped, passed, skipped);
    total_files++;
    total_run += run;
    total_passed += passed;
    cJSON_Delete(doc);
    buf_release(&path);
    assert_int_equal(failures, 0);
}

#define SUITE(name, file, flags) \
    static void test_suite_##name(void **state) \
    { \
        (void)state; \
        run_file(file, flags); \
    }

SUITE(additionalProperties_json, "additionalProperties.json", 0)
SUITE(allOf_json, "allOf.json", 0)
SUITE(anchor_json, "anchor.json", 0)
SUITE(anyOf_json, "anyOf.json", 0)
SUITE(boolean_schema_json, "boolean_schema.json", 0)
SUITE(const_json, "const.json", 0)
SUITE(contains_json, "contains.json", 0)
SUITE(content_json, "content.json", 0)
SUITE(default_json, "default.json", 0)
SUITE(defs_json, "defs.json", 0)
SUITE(dependentRequired_json, "dependentRequired.json", 0)
SUITE(dependentSchemas_json, "dependentSchemas.json", 0)
SUITE(dynamicRef_json, "dynamicRef.json", 0)
SUITE(enum_json, "enum.json", 0)
SUITE(exclusiveMaximum_json, "exclusiveMaximum.json", 0)
SUITE(exclusiveMinimum_json, "exclusiveMinimum.json", 0)
SUITE(format_json, "format.json", SCHEMA_FORMAT_ANNOTATION)
SUITE(id_json, "id.json", 0)
SUITE(if_then_else_json, "if-then-else.json", 0)
SUITE(infinite_loop_detection_json, "infinite-loop-detection.json", 0)
SUITE(items_json, "items.json", 0)
SUITE(maxContains_json, "maxContains.json", 0)
SUITE(maxItems_json, "maxItems.json", 0)
SUITE(maxLength_json, "maxLength.json", 0)
SUITE(maxProperties_json, "maxProperties.json", 0)
SUITE(maximum_json, "maximum.json", 0)
SUITE(minContains_json, "minContains.json", 0)
SUITE(minItems_json, "minItems.json", 0)
SUITE(minLength_json, "minLength.json", 0)
SUITE(minProperties_json, "minProperties.json", 0)
SUITE(minimum_json, "minimum.json", 0)
SUITE(multipleOf_json, "multipleOf.json", 0)
SUITE(not_json, "not.json", 0)
SUITE(oneOf_json, "oneOf.json", 0)
SUITE(pattern_json, "pattern.json", 0)
SUITE(patternProperties_json, "patternProperties.json", 0)
SUITE(prefixItems_json, "prefixItems.json", 0)
SUITE(properties_json, "properties.json", 0)
SUITE(propertyNames_json, "propertyNames.json", 0)
SUITE(ref_json, "ref.json", 0)
SUITE(required_json, "required.json", 0)
SUITE(type_json, "type.json", 0)
SUITE(unevaluatedItems_json, "unevaluatedItems.json", 0)
SUITE(unevaluatedProperties_json, "unevaluatedProperties.json", 0)
SUITE(uniqueItems_json, "uniqueItems.json", 0)
SUITE(unknownKeyword_json, "unknownKeyword.json", 0)
SUITE(optional_bignum_json, "optional/bignum.json", 0)
SUITE(optional_ecmascript_regex_json, "optional/ecmascript-regex.json", 0)
SUITE(optional_float_overflow_json, "optional/float-overflow.json", 0)
SUITE(optional_no_schema_json, "optional/no-schema.json", 0)
SUITE(optional_non_bmp_regex_json, "optional/non-bmp-regex.json", 0)
SUITE(optional_refOfUnknownKeyword_json, "optional/refOfUnknownKeyword.json", 0)
SUITE(format_date_time_json, "optional/format/date-time.json", 0)
SUITE(format_date_json, "optional/format/date.json", 0)
SUITE(format_time_json, "optional/format/time.json", 0)
SUITE(format_uri_json, "optional/format/uri.json", 0)
SUITE(format_uri_reference_json, "optional/format/uri-reference.json", 0)
SUITE(format_uuid_json, "optional/format/uuid.json", 0)
SUITE(format_email_json, "optional/format/email.json", 0)
SUITE(format_ipv4_json, "optional/format/ipv4.json", 0)
SUITE(format_ipv6_json, "optional/format/ipv6.json", 0)
SUITE(format_hostname_json, "optional/format/hostname.json", 0)
SUITE(format_json_pointer_json, "optional/format/json-pointer.json", 0)
SUITE(format_relative_json_pointer_json, "optional/format/relative-json-pointer.json", 0)
SUITE(format_unknown_json, "optional/format/unknown.json", 0)

static void test_suite_totals(void **state)
{
    (void)state;
    printf("JSON-Schema-Test-Suite draft2020-12: %zu files, %zu cases run, %zu passed, "
           "%zu skipped (%zu: %s; %zu: %s)\n", total_files, total_run, total_passed,
           total_skipped_meta + total_skipped_remote, total_skipped_meta, META,
           total_skipped_remote, REMOTE);
    assert_int_equal(total_run, total_passed);
}

#define T(name) cmocka_unit_test(test_suite_##name)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(additionalProperties_json), T(allOf_json), T(anchor_json), T(anyOf_json),
        T(boolean_schema_json), T(const_json), T(contains_json), T(content_json),
        T(default_json), T(defs_json), T(dependentRequired_json), T(dependentSchemas_json),
        T(dynamicRef_json), T(enum_json), T(exclusiveMaximum_json), T(exclusiveMinimum_json),
        T(format_json), T(id_json), T(if_then_else_json), T(infinite_loop_detection_json),
        T(items_json), T(maxContains_json), T(maxItems_json), T(maxLength_json),
        T(maxProperties_json), T(maximum_json), T(minContains_json), T(minItems_json),
        T(minLength_json), T(minProperties_json), T(minimum_json), T(multipleOf_json),
        T(not_json), T(oneOf_json), T(pattern_json), T(patternProperties_json),
        T(prefixItems_json), T(properties_json), T(propertyNames_json), T(ref_json),
        T(required_json), T(type_json), T(unevaluatedItems_json),
        T(unevaluatedProperties_json), T(uniqueItems_json), T(unknownKeyword_json),
        T(optional_bignum_json), T(optional_ecmascript_regex_json),
        T(optional_float_overflow_json), T(optional_no_schema_json),
        T(optional_non_bmp_regex_json), T(optional_refOfUnknownKeyword_json),
        T(format_date_time_json), T(format_date_json), T(format_time_json), T(format_uri_json),
        T(format_uri_reference_json), T(format_uuid_json), T(format_email_json),
        T(format_ipv4_json), T(format_ipv6_json), T(format_hostname_json),
        T(format_json_pointer_json), T(format_relative_json_pointer_json),
        T(format_unknown_json),
        T(totals),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("schema_suite", tests, NULL, NULL);
}
