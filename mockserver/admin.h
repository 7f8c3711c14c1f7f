/* admin: hogmock's own API under /__hogmock/ (health, reset, state, tokens, journal, clock,
 * exec-programs, services), described in openapi/hogmock-admin.yaml. */
#ifndef HOG_ADMIN_H
#define HOG_ADMIN_H

#include "req.h"

/* Answer 422 validation_failed, detail what, for a module's message "/pointer: detail"
 * (or just "detail", pointing at the whole body). */
void admin_invalid_body(struct req *r, const char *what, const char *msg);

#endif
