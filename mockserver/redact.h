/* redact: credentials and secrets taken out of what hogmock writes to disk (recorded
 * fixtures): credential headers, cookies, API tokens (tok_...) and JWT-shaped strings,
 * each replaced by its fingerprint ("fp_" + 12 hex digits). Never logs what it removes. */
#ifndef HOG_REDACT_H
#define HOG_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* Does a header or member of this name (any case) carry a secret whatever its value:
 * Authorization, Cookie, names holding "token", "secret", "password", "api-key"...? */
bool redact_secret_name(const char *name);

/* value of header name as it may be kept, appended to out: a credential header keeps
 * its scheme ("Bearer fp_..."), a cookie its names, anything else loses its tokens. */
void redact_header(struct buf *out, const char *name, const char *value);

/* len bytes of text (any bytes) appended to out with every tok_... run and every
 * JWT-shaped run (eyJ... with two dots or more) replaced by its fingerprint. */
void redact_text(struct buf *out, const char *s, size_t len);

/* A JSON value changed in place: strings under secret-named members, strings that are
 * "Scheme credential", and tokens or JWTs inside any string become fingerprints. */
void redact_json(cJSON *node);

#endif
