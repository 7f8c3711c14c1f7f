/* redact: credentials taken out of what hogmock keeps (recorded fixtures, the journal):
 * credential headers, cookies, API tokens (tok_...) and JWT-shaped strings, each replaced by
 * its fingerprint ("fp_" + 12 hex digits). Never logs what it removes. */
#ifndef HOG_REDACT_H
#define HOG_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* Does a header or member of this name (any case) carry a secret whatever its value:
 * Authorization, Cookie, names holding "token", "secret", "password", "api-key"...? */
bool redact_secret_name(const char *name);

/* Is the whole of v (len bytes) shaped like a credential: tok_..., or eyJ... with two dots
 * or more (a JWT)? */
bool redact_secret_value(const char *v, size_t len);

/* v appended to out as the credential it is: "Scheme secret" (Bearer, Basic, Digest...)
 * as "Scheme fp_...", anything else as the fingerprint of the whole. */
void redact_credential(struct buf *out, const char *v);

/* value of header name as it may be kept, appended to out: a credential (by its name, its
 * scheme or its shape) keeps its scheme ("Bearer fp_..."), a cookie its names, a Set-Cookie
 * its attributes; anything else loses its tokens and JWTs. */
void redact_header(struct buf *out, const char *name, const char *value);

/* len bytes of text (any bytes) appended to out with every tok_... run and every
 * JWT-shaped run (eyJ... with two dots or more) replaced by its fingerprint. */
void redact_text(struct buf *out, const char *s, size_t len);

/* A JSON value changed in place: strings under secret-named members, strings that are
 * "Scheme credential" or a token or JWT whole, and tokens or JWTs inside any string
 * become fingerprints. */
void redact_json(cJSON *node);

/* The light hand, for the journal that people read: a value goes when it is a credential
 * as a whole, other text stays as it came but for the API tokens in a request's target. */

/* Like redact_header for a request's header, but text that is no credential is kept as it
 * is, and a Set-Cookie (no attributes in a request) loses every value. */
void redact_header_light(struct buf *out, const char *name, const char *value);

/* len bytes of a request path (any bytes) appended to out with every tok_... run replaced
 * by its fingerprint. */
void redact_tokens(struct buf *out, const char *s, size_t len);

/* A raw query ("a=1&b=2") appended to out: the value of a parameter named like a
 * credential (a cookie is not), shaped like one or starting "Bearer" becomes its
 * fingerprint; tok_... runs anywhere else become theirs. */
void redact_query(struct buf *out, const char *query);

/* Like redact_json, but a string changes only when it is a credential whole: under a
 * member named like one (a member named cookie is not), "Scheme credential", a token or
 * a JWT. */
void redact_json_light(cJSON *node);

#endif
