/* verify: assertions over the journal in one call (POST /__hogmock/journal/verify): how
 * many requests of a kind, in which order, how far apart, and which matched no operation.
 * Reads the journal only; the admin API's own requests are never counted. */
#ifndef HOG_VERIFY_H
#define HOG_VERIFY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "journal.h"
#include "rc.h"

/* Run the checks of request, a VerifyRequest of openapi/hogmock-admin.yaml already valid
 * against its schema, over the journal's hogplane requests after request.since. *out gets
 * a new {passed, checks: [{kind, name?, passed, message, seqs, ...}]} (caller cJSON_Delete).
 * clock_virtual says which clock time_ms is, for the messages. A check that cannot be run
 * (bounds that contradict, a regex that does not compile) is RC_INVALID with
 * "/checks/N/...: why" appended to err and *out NULL. */
enum rc verify_run(struct journal *j, const cJSON *request, bool clock_virtual, cJSON **out,
                   struct buf *err);

#endif
