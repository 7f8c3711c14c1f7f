/* admin: hogmock's own API under /__hogmock/ (health, reset, state, tokens, journal, clock,
 * exec-programs, services), described in openapi/hogmock-admin.yaml. */
#ifndef HOG_ADMIN_H
#define HOG_ADMIN_H

#include "req.h"

#endif
