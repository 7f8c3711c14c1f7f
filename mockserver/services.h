/* services: the HTTP services simulated inside boxes (per box and port), as set through
 * the admin API, and which one answers a proxied request. Decides only; never waits or answers. */
#ifndef HOG_SERVICES_H
#define HOG_SERVICES_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct services;

/* What a port of a box does with a request. */
enum service_state {
    SERVICE_CLOSED,     /* nothing listens on the port */
    SERVICE_STARTING,   /* a definition covers the path but is not ready yet */
    SERVICE_READY,      /* the service answers as its definition says */
};

/* New, empty (services_free); thread-safe throughout. */
struct services *services_new(void);
/* Free everything; NULL is a no-op. */
void services_free(struct services *s);
/* Set what box (or "*" for every box) answers on port for path prefix, as of now_ms on
 * hogmock's clock; def is the admin API's JSON ({box, port, path?: "/", status?: 200,
 * headers?: {}, body?: "", delay_ms?: 0, echo?: false, ready_after_requests?: 0,
 * ready_after_ms?: 0, starting_status?: null}, borrowed). The same box, port and path
 * replace an earlier definition and its request counts. RC_INVALID with a message
 * starting with a JSON pointer appended to err on a bad definition. */
enum rc services_set(struct services *s, const cJSON *def, uint64_t now_ms, struct buf *err);
void services_clear(struct services *s);
/* Every definition as set, normalised, as a new array (cJSON_Delete). */
cJSON *services_list(struct services *s);
/* What box:port does at now_ms with a request for path (percent-encoded as received; a
 * query is ignored), counting the request towards the definition's ready_after_requests
 * for this box. The box's own definitions beat those for "*", then the longest path
 * prefix (whole segments) wins. With none covering the path, port 8080 answers exactly
 * /health with 200 {"status":"ok"}, and a port that has some definition (8080 always) answers
 * 404 "404 page not found\n" as Go's net/http does; other ports are CLOSED.
 * *def is a new definition with every member set (cJSON_Delete) for STARTING and READY,
 * else NULL. */
enum service_state services_lookup(struct services *s, const char *box, int port,
                                   const char *path, uint64_t now_ms, cJSON **def);

#endif
