/* schema: JSON Schema (draft 2020-12, plus OpenAPI 3.0 `nullable`) validation of cJSON values.
 * Never changes or keeps the trees it is given and never compiles anything per call: one
 * struct schema is read-only after schema_new and may be shared by any number of threads. */
#ifndef HOG_SCHEMA_H
#define HOG_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rc.h"

/* Nested schema evaluations (in place, or one instance level down) before RC_TOO_DEEP. */
#define SCHEMA_MAX_DEPTH 128
/* Violations recorded per schema_validate call; one more entry says the rest were dropped. */
#define SCHEMA_MAX_ERRORS 100

enum schema_flags {
    /* `format` only annotates (the 2020-12 default) instead of asserting the formats we know. */
    SCHEMA_FORMAT_ANNOTATION = 1u << 0,
};

/* Opaque: the borrowed root document plus what schema_new precomputed (node index, $id/$anchor
 * resources, resolved $refs, compiled patterns). */
struct schema;

/* One violation; every string is owned by the schema_errors it sits in. */
struct schema_error {
    char *pointer;          /* RFC 6901 pointer into the instance, "" for the instance itself;
                             * a member that is missing (required) or not allowed
                             * (additional/unevaluatedProperties) is pointed at itself */
    char *schema_pointer;   /* pointer into the root document to the failing keyword */
    char *keyword;          /* "maximum", "required", ...; "" when no single keyword failed */
    char *message;          /* the whole sentence: `/cpus: 64 is greater than the maximum 8` */
};

/* The caller's list: start it with SCHEMA_ERRORS_INIT, free it with schema_errors_release. */
struct schema_errors {
    struct schema_error *items;
    size_t count, cap;
};

#define SCHEMA_ERRORS_INIT { NULL, 0, 0 }

/* A validator for the schemas inside root (a schema, or an OpenAPI document whose schemas sit
 * under "schema" and "components/schemas"), which is borrowed and must outlive the result
 * (caller frees with schema_free). Never fails: problems in the schemas (a bad pattern, an
 * unresolvable $ref) are listed by schema_check and reported by the schema_validate calls
 * that reach them. Formats are asserted. */
struct schema *schema_new(const cJSON *root);
/* Same, with schema_flags. */
struct schema *schema_new_flags(const cJSON *root, unsigned flags);
/* Free s and everything it compiled; NULL is a no-op. The root document is not touched. */
void schema_free(struct schema *s);

/* Validate instance against schema, a node inside the root (for example
 * jsonptr_get(root, "/components/schemas/Hogbox")); neither is kept, and any number of
 * threads may validate with one s at once. Violations are appended to errs when it is
 * non-NULL; the verdict is the same without it (and cheaper: it stops at the first one).
 * RC_OK: valid. RC_INVALID: not valid, one entry per violation (a NULL instance, too).
 * Errors in the schema stop the call and append one entry saying why:
 * RC_TOO_DEEP (nesting over SCHEMA_MAX_DEPTH), RC_CYCLE ($refs that loop without consuming
 * the instance), RC_UNSUPPORTED (a $ref that leaves the document or points at nothing in
 * it), RC_PARSE (an invalid pattern, array-form items, or a schema that is neither an
 * object nor a boolean).
 * RC_NOT_FOUND when schema is NULL or not a node of the root document. */
enum rc schema_validate(const struct schema *s, const cJSON *schema, const cJSON *instance,
                        struct schema_errors *errs);

/* Look for errors in the schemas of the document without validating anything: patterns
 * that do not compile (RC_PARSE) and $refs that do not resolve (RC_UNSUPPORTED), one entry
 * each appended to errs when non-NULL, sorted by schema_pointer, with pointer "" and a
 * message that starts with the schema pointer. RC_OK when there are none. For start-up
 * warnings: schema_validate reports the same problems only when it reaches them. */
enum rc schema_check(const struct schema *s, struct schema_errors *errs);

/* Free every entry and the array; errs is left empty and reusable. */
void schema_errors_release(struct schema_errors *errs);

#endif
