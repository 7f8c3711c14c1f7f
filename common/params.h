/* params: an operation's query and path parameters turned into typed JSON per their schemas
 * (strings to integers, booleans, arrays...). Conversion only: constraints are schema's job. */
#ifndef HOG_PARAMS_H
#define HOG_PARAMS_H

#include <cjson/cJSON.h>

#include "openapi.h"
#include "rc.h"

struct param_issue {
    enum openapi_in in;
    char *name;         /* the parameter's name */
    char *detail;       /* a sentence: "'abc' is not an integer" */
};

struct param_issues {
    struct param_issue *items;
    size_t count;
    size_t cap;
};

/* Free the issues; the list is left empty and reusable. */
void param_issues_release(struct param_issues *issues);

/* Type the raw query string (without '?', may be NULL or "") per op's query parameters
 * into *out, a new object {name: value} (caller cJSON_Delete) that also carries schema
 * defaults for absent optional parameters. Parameters the operation does not declare are
 * ignored. RC_OK, or RC_INVALID with one issue per bad parameter (a missing required one,
 * a value of the wrong type, a bad escape, a repeated scalar); *out is NULL then. */
enum rc params_query(const struct openapi_op *op, const char *query, cJSON **out,
                     struct param_issues *issues);

/* As params_query for the path parameters captured by openapi_route. */
enum rc params_path(const struct openapi_op *op, const struct openapi_match *m, cJSON **out,
                    struct param_issues *issues);

/* One value converted per schema (its "type", which may be a list): RC_OK and a new
 * *out, or RC_INVALID and a sentence appended to why. */
enum rc params_convert(const char *text, const cJSON *schema, cJSON **out, struct buf *why);

#endif
