/* match: the matchers of conformance/SCENARIOS.md (subset objects, arrays element by
 * element, $regex $type $present $len $gte $lte $any $contains) over cJSON values. */
#ifndef HOG_MATCH_H
#define HOG_MATCH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

/* Whether got (NULL: absent) satisfies the matcher want. On a mismatch, one line is
 * appended to why: "/value/stdout: expected "hi\n", got "ho\n"", its pointer starting
 * with the text of at ("" or "/value"). */
bool match_json(const cJSON *want, const cJSON *got, const char *at, struct buf *why);

/* Check that the matcher m is well formed (known operators with operands of the right
 * type, regexes that compile). RC_INVALID with "POINTER: what is wrong" appended to err;
 * at is the pointer of m in its document. */
enum rc match_validate(const cJSON *m, const char *at, struct buf *err);

/* Replace, in v, every {"$bytes": {"size": N, "repeat": TEXT}} with the base64 of N bytes
 * of TEXT repeated (what a scenario writes instead of a 90 MB literal). RC_INVALID with
 * "POINTER: what is wrong" in err for a malformed one; at is v's pointer. */
enum rc match_expand_bytes(cJSON *v, const char *at, struct buf *err);

/* Append v as short JSON for a message (long values cut with "..."); NULL as "absent". */
void match_describe(struct buf *out, const cJSON *v);

#endif
