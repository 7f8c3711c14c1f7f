/* auth: credentials to principals. API tokens (from --tokens FILE and the admin API),
 * compared in constant time, stored as SHA-256, never logged, only fingerprinted; JWTs
 * go to the OIDC registry (oidc.h). */
#ifndef HOG_AUTH_H
#define HOG_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct store;
struct oidc;
struct auth_denial;

/* Who made a request. */
struct principal {
    char *id;               /* "pr_alice" */
    char *auth_path;        /* "api_token", "k8s_sa", "github_oidc" or "tailscale" */
    char *subject;          /* what the credential named: the token's fingerprint, a sub... */
    char *display_name;
    cJSON *attributes;      /* object of extra facts; never NULL */
    bool packed;            /* the strings live in the principal's own allocation */
};

void principal_free(struct principal *p);

struct auth;

/* A new resolver over the store's tokens table (auth_free). */
struct auth *auth_new(struct store *store);
void auth_free(struct auth *a);
/* Resolve JWT credentials (anything with a '.' that is not tok_...) through o, borrowed
 * until auth_free; without one they are refused as API tokens only. */
void auth_set_oidc(struct auth *a, struct oidc *o);

/* Register the tokens of a JSON/YAML file: {"tok_...": {"principal_id": ..., "display_name": ...}}
 * or a list of {token, principal_id, display_name} (display_name optional: the principal
 * id). RC_OK, or an error with a message naming the file and entry by index and
 * fingerprint (nothing registered then). A token revoked in a --db kept from an earlier
 * run stays revoked; auth_reset_tokens brings it back. */
enum rc auth_load_tokens(struct auth *a, const char *path, struct buf *err);
/* Add (or replace, un-revoking) one token; RC_INVALID with a sentence appended to err (never
 * the token) when the token, principal id or display name is malformed. */
enum rc auth_add_token(struct auth *a, const char *token, const char *principal_id,
                       const char *display_name, struct buf *err);
/* Revoke a token given either the token itself or its fingerprint; RC_NOT_FOUND. */
enum rc auth_revoke(struct auth *a, const char *token_or_fingerprint);

/* Resolve an Authorization header value (NULL when absent; several headers joined with
 * ", " as RFC 9110 combines them, which reads as a duplicate). RC_OK and a new principal
 * (principal_free); RC_DENIED and a sentence for WWW-Authenticate's error_description
 * appended to why ("the token was revoked", ...): never the credential, at most its
 * fingerprint. On RC_DENIED, denial (may be NULL) holds the status and problem code
 * (401 invalid_token for anything but a JWT; see oidc_resolve for those) and what the
 * journal may keep. API tokens are served from a cache after their first use. */
enum rc auth_resolve(struct auth *a, const char *authorization, struct principal **out,
                     struct auth_denial *denial, struct buf *why);

/* True when token has the api_token form: "tok_" + 1..200 of [A-Za-z0-9_-]. */
bool auth_token_well_formed(const char *token);

/* Undo the admin API's token changes for principal_id (NULL: every principal): remove the
 * tokens that did not come from the tokens file and register the file's again, revocations
 * undone. *removed (may be NULL) gets how many tokens were removed. */
enum rc auth_reset_tokens(struct auth *a, const char *principal_id, size_t *removed);

/* The registered tokens, never their values or hashes, as a new array (cJSON_Delete) of
 * {fingerprint, principal_id, display_name, revoked, source: "file"|"api"}. */
cJSON *auth_list_tokens(struct auth *a);

/* Append the WWW-Authenticate value for a refused credential:
 * Bearer error="invalid_token", error_description="why" (quotes and backslashes escaped,
 * characters outside printable ASCII replaced by one '?' each, en and em dashes by '-'). */
void auth_challenge(struct buf *out, const char *why);
/* The same with another RFC 6750 error code ("insufficient_scope" for a 403). */
void auth_challenge_error(struct buf *out, const char *error, const char *why);

#define AUTH_FINGERPRINT_SIZE 24
/* "fp_" + 12 hex digits of SHA-256(secret): safe to log and journal. */
void auth_fingerprint(const char *secret, size_t len, char out[AUTH_FINGERPRINT_SIZE]);

#endif
