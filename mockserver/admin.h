/* admin: hogmock's own API under /__hogmock/ (health, reset, state, tokens, journal, clock,
 * exec-programs, services), described in openapi/hogmock-admin.yaml, and the answers the
 * other admin modules share. */
#ifndef HOG_ADMIN_H
#define HOG_ADMIN_H

#include "req.h"

/* Answer 422 validation_failed, detail what, for a module's message "/pointer: detail"
 * (or just "detail", pointing at the whole body). */
void admin_invalid_body(struct req *r, const char *what, const char *msg);

/* Answer 200 {"items": items}; items is taken over. */
void admin_answer_items(struct req *r, cJSON *items);

/* Answer 200 {"items": items, "total": total}, a page of total matches; items is taken
 * over. */
void admin_answer_page(struct req *r, cJSON *items, size_t total);

#endif
