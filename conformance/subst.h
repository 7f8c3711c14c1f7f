/* subst: ${name} and ${name.member.0} in scenario strings, replaced from a table of
 * variables (saved step values, principal, token, run_id, issuer.*). Never changes vars. */
#ifndef HOG_SUBST_H
#define HOG_SUBST_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

/* A deep copy of tmpl (caller cJSON_Delete) with every string substituted from vars (an
 * object): a string that is exactly "${x}" becomes the value of x whatever its type; a
 * ${x} inside a longer string becomes x's text (strings as they are, other values as
 * JSON). Keys are not substituted. RC_NOT_FOUND with "POINTER: unknown variable
 * ${x}" appended to err when a name does not resolve; at is tmpl's pointer. */
enum rc subst_json(const cJSON *tmpl, const cJSON *vars, const char *at, cJSON **out,
                   struct buf *err);

#endif
