/* examples: every example of an OpenAPI document, paired with the schema it must satisfy,
 * and the check that it does. Reads the loaded spec only; fixtures and `hogspec check` build on it. */
#ifndef HOG_EXAMPLES_H
#define HOG_EXAMPLES_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "openapi.h"
#include "rc.h"
#include "schema.h"

/* One example; every pointer is borrowed from the spec and valid during the callback. */
struct example {
    const struct openapi_op *op; /* NULL outside operations (x-hog-unmatched-responses) */
    const char *status;         /* "201", "default"; NULL for a request body */
    const char *media_type;     /* "application/json", "text/event-stream", ... */
    const char *name;           /* the key under `examples`, or "example" */
    const cJSON *value;         /* the example's value; externalValue examples are skipped */
    const cJSON *schema;        /* the media type's schema, $refs resolved; NULL when none */
    const cJSON *sse_events;    /* the response's x-hog-sse-events map, or NULL */
};

/* Called per example; return non-zero to stop the walk. */
typedef int example_fn(const struct example *ex, void *ctx);

/* Walk the request-body and response examples of every operation in document order,
 * then those under x-hog-unmatched-responses. RC_OK, or the rc of a $ref that does not
 * resolve (message appended to err). */
enum rc examples_foreach(const struct openapi *api, example_fn *fn, void *ctx,
                         struct buf *err);

/* Check ex: a JSON example against its schema; a text/event-stream example parsed as SSE,
 * each event's data against its x-hog-sse-events schema; other media types against a
 * string schema when they have one. Appends one line per problem to problems (each
 * starting with "- ") and returns how many there were. s must be built on api's document. */
size_t example_check(const struct openapi *api, const struct schema *s,
                     const struct example *ex, struct buf *problems);

/* "GET /v1/me 200 application/json 'me'": where ex sits, for messages (appended). */
void example_describe(const struct example *ex, struct buf *out);

#endif
