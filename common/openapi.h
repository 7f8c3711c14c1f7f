/* openapi: an OpenAPI 3.x document loaded and indexed: local $refs resolved on demand,
 * operations listed, and (method, path) routed to an operation with its path parameters.
 * Read-only after load, so one instance may serve many threads; knows nothing of HTTP servers. */
#ifndef HOG_OPENAPI_H
#define HOG_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

enum openapi_in { OPENAPI_IN_PATH, OPENAPI_IN_QUERY, OPENAPI_IN_HEADER, OPENAPI_IN_COOKIE };

struct openapi_param {
    const char *name;
    enum openapi_in in;
    bool required;
    bool explode;           /* form style: repeated name=v (true) or name=a,b (false) */
    char delim;             /* between array items when not exploded: ',' ' ' or '|' */
    bool deep_object;       /* style: deepObject (not typed by params; reported there) */
    bool greedy;            /* x-hog-greedy path parameter: matches the rest, slashes too */
    const cJSON *schema;    /* $refs resolved at the top level; NULL when none */
};

struct openapi_op {
    const char *method;         /* upper case: "GET" */
    const char *path;           /* the template as written: "/v1/hogboxes/{id}" */
    const char *operation_id;   /* operationId, or "METHOD path" when the spec has none */
    const char *name;           /* x-hog-operation when present, else operation_id */
    const cJSON *node;          /* the operation object */
    const cJSON *request_body;  /* resolved requestBody object, or NULL */
    struct openapi_param *params; /* path-item and operation parameters merged */
    size_t nparams;
};

struct openapi;

/* Load and index a spec (YAML or JSON). *out is new (openapi_free); on failure *out is
 * NULL and a one-line message is appended to err. */
enum rc openapi_load(const char *path, struct openapi **out, struct buf *err);
/* Index an already parsed document, which the result takes over (even on failure).
 * name is used in messages. */
enum rc openapi_from_json(cJSON *doc, const char *name, struct openapi **out, struct buf *err);
/* Free everything; NULL is a no-op. */
void openapi_free(struct openapi *api);

/* The whole document, borrowed until openapi_free. */
const cJSON *openapi_doc(const struct openapi *api);
/* "3.1.0" or similar; borrowed. */
const char *openapi_version(const struct openapi *api);
/* The path of the first server URL ("/api/v2", variables replaced by their defaults),
 * which every routed path must start with; "" when there is none. Borrowed. */
const char *openapi_base_path(const struct openapi *api);

/* Follow node's "$ref" chain (local refs "#/..." only) to the node it names; a node
 * without $ref is returned as is. RC_NOT_FOUND for a dangling ref, RC_CYCLE for a
 * loop, RC_UNSUPPORTED for a non-local ref; message appended to err when non-NULL. */
enum rc openapi_deref(const struct openapi *api, const cJSON *node, const cJSON **out,
                      struct buf *err);

size_t openapi_op_count(const struct openapi *api);
/* Operations in document order; borrowed. */
const struct openapi_op *openapi_op_at(const struct openapi *api, size_t i);
/* By operationId; NULL when absent. */
const struct openapi_op *openapi_find_op(const struct openapi *api, const char *operation_id);

/* op's parameter name in location in; NULL when it has none. */
const struct openapi_param *openapi_find_param(const struct openapi_op *op, const char *name,
                                               enum openapi_in in);

#define OPENAPI_MAX_PATH_PARAMS 16

struct openapi_match {
    const struct openapi_op *op;
    size_t nparams;
    struct {
        const char *name;   /* borrowed from the spec */
        char *value;        /* percent-decoded, new: freed by openapi_match_release */
    } params[OPENAPI_MAX_PATH_PARAMS];
    char allow[64];         /* on RC_METHOD_NOT_ALLOWED: the Allow header value */
};

/* Route method + path (no query string; percent-encoded as received; including the
 * base path when the spec has one). RC_OK fills m;
 * RC_NOT_FOUND when no path template matches; RC_METHOD_NOT_ALLOWED when one does but
 * not for this method (m->allow lists those that do); RC_PARSE for a malformed
 * percent-escape or an encoded NUL. Call openapi_match_release after RC_OK. */
enum rc openapi_route(const struct openapi *api, const char *method, const char *path,
                      struct openapi_match *m);
/* Free the values of m; m may be reused. */
void openapi_match_release(struct openapi_match *m);
/* The decoded value of path parameter name in m, borrowed; NULL when absent. */
const char *openapi_match_param(const struct openapi_match *m, const char *name);

#endif
