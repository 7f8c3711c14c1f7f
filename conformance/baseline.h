/* baseline: the scenarios a client is known to fail, with reasons (a YAML or JSON list of
 * {id, reason}). A listed scenario that fails does not fail the run; one that passes is
 * a stale entry and does. */
#ifndef HOG_BASELINE_H
#define HOG_BASELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"
#include "runner.h"

struct baseline_entry {
    char *id;
    char *reason;
};

struct baseline {
    char *path;
    struct baseline_entry *items;
    size_t n;
};

#define BASELINE_INIT { NULL, NULL, 0 }

/* Load path into b (caller baseline_release). RC_PARSE or RC_INVALID with
 * "path:line:col: ..." in err for a malformed file; RC_NOT_FOUND when it is missing. */
enum rc baseline_load(const char *path, struct baseline *b, struct buf *err);
void baseline_release(struct baseline *b);

/* Mark r as known (a listed failure or error) or stale (listed, passed). */
void baseline_apply(const struct baseline *b, struct result *r);

/* Append r as an entry ready to paste into a baseline file ("- id: ...\n  reason: ...\n"). */
void baseline_entry_format(const struct result *r, struct buf *out);

#endif
