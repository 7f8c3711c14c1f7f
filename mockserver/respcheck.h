/* respcheck: one answer of a real host held against the spec as it passes (status, media
 * type, required headers, JSON body, each SSE event's data). Only reports: never changes
 * the answer, and keeps at most RESPCHECK_BODY_MAX of it. */
#ifndef HOG_RESPCHECK_H
#define HOG_RESPCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "openapi.h"
#include "schema.h"

/* JSON bodies up to this size are checked; larger ones are not kept, nor judged. The
 * same bounds one SSE event's data. */
#define RESPCHECK_BODY_MAX (1u << 20)
/* Violations listed per answer; one more entry says the rest were left out. */
#define RESPCHECK_MAX 20

struct respcheck;

/* Start checking the answer to a request routed to op (NULL: no operation matched; then
 * the spec's x-hog-unmatched-responses, when it has them, say what may come back) with
 * method, status and headers (an object of lower-case name -> value, borrowed for the
 * call). api and s must outlive the check. New: respcheck_end frees it. */
struct respcheck *respcheck_begin(const struct openapi *api, const struct schema *s,
                                  const struct openapi_op *op, const char *method, int status,
                                  const cJSON *headers);
/* The next len bytes of the body, cut anywhere. */
void respcheck_feed(struct respcheck *c, const void *data, size_t len);
/* The body is over: complete when every byte went through feed (a cut body is not
 * judged). The violations, a new array of {kind, pointer, detail} ([] when none);
 * kind is status, content_type, header, body, event or problem; pointer points into the
 * JSON body or the event's data, null elsewhere. c is freed. */
cJSON *respcheck_end(struct respcheck *c, bool complete);

#endif
