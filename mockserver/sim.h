/* sim: the simulated hogplane's boxes, snapshots and limits on the store: lifecycle rules,
 * tenancy, pagination, idempotency. Handlers for those operations, and lookups for others. */
#ifndef HOG_SIM_H
#define HOG_SIM_H

#include "buf.h"
#include "rc.h"
#include "req.h"

struct hogmock;
struct hog_limits;

/* The state of box_id as principal_id sees it ("running", "paused", ...; transient
 * states resolved against the clock) into state (>= 16 bytes). RC_NOT_FOUND when the
 * box does not exist, was destroyed, or belongs to another principal. Takes the store lock. */
enum rc sim_box_state(struct hogmock *hm, const char *principal_id, const char *box_id,
                      char *state, size_t size);

/* Answer 404 hogbox_not_found for box_id. */
void sim_box_not_found(struct req *r, const char *box_id);
/* Answer 409 invalid_state: "Hogbox hb_.. is paused; OPERATION needs it running." (need is
 * the state the operation requires: "running"). */
void sim_invalid_state(struct req *r, const char *box_id, const char *state, const char *need);

/* Load limits from a JSON/YAML file in the Limits shape (any member may be left out) over
 * the defaults into *limits. RC_INVALID (or the loader's rc) with a one-line message naming
 * the file and the field appended to err when a value is not an integer, lies outside what
 * the spec's HogboxCreate/ExecRequest schemas allow, or breaks min <= default <= max;
 * *limits is unchanged then. A default left out is clamped into a narrowed range. */
enum rc sim_load_limits(struct hog_limits *limits, const char *path, struct buf *err);

#endif
