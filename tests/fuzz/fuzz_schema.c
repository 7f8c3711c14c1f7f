/* fuzz_schema: the JSON Schema validator (common/schema). The first line of the input
 * names a schema of openapi/hogplane.yaml (or of the admin spec) under components/schemas
 * and the rest is a JSON instance to validate against it; a first line "*" (formats
 * asserted) or "~" (formats only annotated) makes the rest a JSON array [schema, instance]
 * that fuzzes the schema too. The verdict must not depend on whether errors are collected,
 * every error must be filled in, and neither tree may change. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bundle.h"
#include "jsonptr.h"
#include "log.h"
#include "openapi.h"
#include "schema.h"
#include "xmalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct openapi *api[2];
static struct schema *spec_schema[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const files[2] = { "openapi/hogplane.yaml", "openapi/hogmock-admin.yaml" };
    struct buf path = BUF_INIT, err = BUF_INIT;
    int i;

    (void)argc;
    (void)argv;
    xmalloc_init_cjson();
    log_set_level(LOG_ERROR);
    for (i = 0; i < 2; i++) {
        buf_reset(&path);
        bundle_path(files[i], &path);
        if (openapi_load(buf_cstr(&path), &api[i], &err) != RC_OK) {
            fprintf(stderr, "fuzz_schema: %s\n", buf_cstr(&err));
            exit(2);
        }
        spec_schema[i] = schema_new(openapi_doc(api[i]));
    }
    buf_release(&path);
    buf_release(&err);
    return 0;
}

/* Whether a and b print the same: cJSON_Compare takes the first of duplicate members. */
static bool same_tree(const cJSON *a, const cJSON *b)
{
    char *x = a ? cJSON_PrintUnformatted(a) : NULL, *y = b ? cJSON_PrintUnformatted(b) : NULL;
    bool same = (!x && !y) || (x && y && strcmp(x, y) == 0);

    cJSON_free(x);
    cJSON_free(y);
    return same;
}

static void validate(const struct schema *s, const cJSON *schema, const cJSON *instance)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    enum rc with, without;
    size_t i;

    with = schema_validate(s, schema, instance, &errs);
    without = schema_validate(s, schema, instance, NULL);
    /* Without errs it stops at the first violation, so it may not reach a broken part of
     * the schema (a bad pattern) that a full run reports: the verdicts on the instance
     * must agree, and valid must mean valid either way. */
    if (((with == RC_OK || with == RC_INVALID) && (without == RC_OK || without == RC_INVALID)
         && with != without)
        || (with == RC_OK) != (without == RC_OK) || (with == RC_OK) != (errs.count == 0)
        || errs.count > SCHEMA_MAX_ERRORS + 1) {
        fprintf(stderr, "schema_validate: %s with errors, %s without\n", rc_str(with),
                rc_str(without));
        abort();
    }
    for (i = 0; i < errs.count; i++) {
        const struct schema_error *e = &errs.items[i];

        if (!e->pointer || !e->schema_pointer || !e->keyword || !e->message || !*e->message)
            abort();
    }
    schema_errors_release(&errs);
}

/* Both documents as given, against a fresh validator for the schema document. */
static void fuzz_both(const char *text, size_t len, unsigned flags)
{
    cJSON *doc = cJSON_ParseWithLength(text, len), *copy;
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    struct schema *s;

    if (!cJSON_IsArray(doc) || cJSON_GetArraySize(doc) != 2) {
        cJSON_Delete(doc);
        return;
    }
    copy = cJSON_Duplicate(doc, true);
    s = schema_new_flags(cJSON_GetArrayItem(doc, 0), flags);
    if ((schema_check(s, &errs) == RC_OK) != (errs.count == 0))
        abort();
    schema_errors_release(&errs);
    validate(s, cJSON_GetArrayItem(doc, 0), cJSON_GetArrayItem(doc, 1));
    /* A node of the root that is not a schema is still a node: validation must cope. */
    validate(s, cJSON_GetArrayItem(doc, 0)->child, cJSON_GetArrayItem(doc, 1));
    schema_free(s);
    if (!same_tree(doc, copy))
        abort();
    cJSON_Delete(copy);
    cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t first = nl ? (size_t)(nl - text) : size, rest = nl ? size - first - 1 : 0;
    struct buf ptr = BUF_INIT;
    const cJSON *schema = NULL;
    cJSON *instance, *copy;
    char *name;
    int i;

    if (first == 1 && (text[0] == '*' || text[0] == '~')) {
        fuzz_both(nl ? nl + 1 : "", rest, text[0] == '~' ? SCHEMA_FORMAT_ANNOTATION : 0);
        return 0;
    }
    if (first > 64 || memchr(text, '\0', first))
        return 0;
    name = xstrndup(text, first);
    buf_addstr(&ptr, "/components/schemas");
    jsonptr_append(&ptr, name);
    free(name);
    for (i = 0; i < 2; i++)
        if ((schema = jsonptr_get(openapi_doc(api[i]), buf_cstr(&ptr))) != NULL)
            break;
    buf_release(&ptr);
    if (!schema)
        return 0;
    instance = cJSON_ParseWithLength(nl ? nl + 1 : "", rest);
    copy = cJSON_Duplicate(instance, true);
    validate(spec_schema[i], schema, instance);
    if (!same_tree(instance, copy))
        abort();
    cJSON_Delete(copy);
    cJSON_Delete(instance);
    return 0;
}
