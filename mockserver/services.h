/* services: the HTTP services simulated inside boxes (per box and port): status,
 * headers, body, delay, as set through the admin API. Port 8080 /health answers by default. */
#ifndef HOG_SERVICES_H
#define HOG_SERVICES_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct services;

struct services *services_new(void);
void services_free(struct services *s);
/* Set what box (or "*" for every box) answers on port for path prefix; def is the
 * admin API's JSON ({box, port, path?: "/", status?: 200, headers?: {}, body?: "",
 * delay_ms?: 0}); the same box, port and path replace an earlier definition. RC_INVALID
 * with a message starting with a JSON pointer on a bad definition. */
enum rc services_set(struct services *s, const cJSON *def, struct buf *err);
void services_clear(struct services *s);
/* Every definition as set, normalised, as a new array (cJSON_Delete). */
cJSON *services_list(struct services *s);
/* What box:port answers for path (a query is ignored): a new JSON copy of the matching
 * definition with every member set, or NULL when nothing listens there. A definition for
 * the box beats one for "*", then the longest path prefix (whole segments) wins; with none,
 * port 8080 /health answers 200 {"status":"ok"}. */
cJSON *services_lookup(struct services *s, const char *box, int port, const char *path);

#endif
