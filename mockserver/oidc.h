/* oidc: trusted OIDC issuers (k8s_sa, github_oidc) with their JWKS, the TrustMappings, and
 * the check of a JWT credential down to a principal, with a reason a person can act on. */
#ifndef HOG_OIDC_H
#define HOG_OIDC_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "buf.h"
#include "rc.h"

struct oidc;
struct vclock;

/* A registry on hogmock's clock (exp/nbf are checked against vclock_now_ms). */
struct oidc *oidc_new(const struct vclock *clock);
void oidc_free(struct oidc *o);

/* The leeway (seconds, 0..3600) for issuers that set none; 60 until set. */
void oidc_set_leeway(struct oidc *o, int64_t seconds);

/* Add or replace (same issuer URL) a trusted issuer from its JSON:
 *   {issuer: URL, kind: "k8s_sa" | "github_oidc",
 *    audiences?: [..] (default ["hogland"] for k8s_sa; for github_oidc the default is
 *                      ["hogland"] too),
 *    jwks?: {keys: [...]} | jwks_file?: PATH | jwks_uri?: URL   (exactly one),
 *    leeway_seconds?: 0..3600 (default 60)}
 * An inline or file JWKS is read now and needs a usable key; a jwks_uri (http or https)
 * is fetched at first use, then again when its Cache-Control max-age (default 300 s)
 * has passed on hogmock's clock, or for an unknown kid at most once per 10 s.
 * RC_INVALID with a message starting with a JSON pointer ("/jwks: ...") on a bad
 * definition; nothing changes then. Built-in issuers register themselves through this
 * with an inline jwks. */
enum rc oidc_add_issuer(struct oidc *o, const cJSON *def, struct buf *err);
/* Forget the issuer with this exact URL; RC_NOT_FOUND. */
enum rc oidc_remove_issuer(struct oidc *o, const char *issuer);
/* Every issuer as a new array (cJSON_Delete) of its definition plus what is known of its
 * keys: {issuer, kind, audiences, leeway_seconds, jwks_source: inline|file|uri,
 * jwks_file, jwks_uri, kids: [...], jwks_fetched_at, jwks_expires_at, jwks_fetches,
 * jwks_error, source: config|api} (absent facts are null). */
cJSON *oidc_list_issuers(struct oidc *o);

/* Add a TrustMapping from its JSON, one of:
 *   {kind: "k8s_sa", issuer, namespace, service_account, principal_id, display_name?}
 *   {kind: "github_oidc", issuer? (default https://token.actions.githubusercontent.com),
 *    repository: "org/repo", ref?, environment?, workflow?, job_workflow_ref?,
 *    principal_id, display_name?}
 *   {kind: "tailscale", login: "alice@example.com", principal_id, display_name?}
 * A mapping with the same key (k8s_sa: issuer, namespace, service_account; github_oidc:
 * issuer, repository and every optional field; tailscale: login) replaces the earlier one
 * in its place. RC_INVALID with a JSON-pointer message on a bad one. */
enum rc oidc_add_trust(struct oidc *o, const cJSON *def, struct buf *err);
/* Every mapping, as a new array (cJSON_Delete), in the order added, each with
 * source: config|api and display_name (null when none). */
cJSON *oidc_list_trust(struct oidc *o);
/* Put the mappings back to the configuration's: those added since go (how many is
 * returned), configured ones removed or replaced since come back. */
size_t oidc_clear_trust(struct oidc *o);
/* config_only: go back to the configuration loaded at start (oidc_load_config): issuers
 * and mappings added since go, configured ones removed or replaced since come back.
 * !config_only: forget every issuer and mapping. Built-in issuers are re-registered by
 * their owner after a reset. */
void oidc_clear(struct oidc *o, bool config_only);

/* Load an auth configuration file (YAML or JSON), once, at start:
 *   {leeway_seconds?: 0..3600, issuers?: [<oidc_add_issuer def>...],
 *    trust?: [<oidc_add_trust def>...], builtin_issuers?: (read by its own owner)}
 * Relative jwks_file paths are taken from the file's directory. On failure one line
 * "PATH: /issuers/1/jwks_uri: why" is appended to err and nothing changes. What it
 * registers is what oidc_clear(o, true) comes back to. */
enum rc oidc_load_config(struct oidc *o, const char *path, struct buf *err);

/* The principal for a Tailscale login (the Tailscale-User-Login header on the ingress
 * listener), or RC_NOT_FOUND. *principal_id and *display_name are new strings. */
enum rc oidc_trust_tailscale(struct oidc *o, const char *login, char **principal_id,
                             char **display_name);

/* Why a credential was refused: the HTTP status (401 bad credential, 403 good credential
 * without a mapping) and the problem code (invalid_token, malformed_token, unknown_issuer,
 * unknown_kid, alg_not_allowed, bad_signature, audience_mismatch, token_expired,
 * token_not_yet_valid, invalid_claims, no_trust_mapping), plus what the journal may keep:
 * issuer and subject as the token claims them, "" when unknown (never the token). */
struct auth_denial {
    int status;
    char code[32];
    char issuer[256];
    char subject[256];
};

/* Check a JWT credential (the bearer token, len bytes) and resolve it to a principal:
 * RC_OK and a new principal (auth_path k8s_sa or github_oidc, subject = sub, attributes =
 * the claims that selected the mapping and the issuer); RC_DENIED with *denial filled
 * and a sentence appended to why. Thread-safe; may fetch a JWKS (libcurl), at most once
 * per issuer per unknown kid within a rate-limit window. */
enum rc oidc_resolve(struct oidc *o, const char *token, size_t len, struct principal **out,
                     struct auth_denial *denial, struct buf *why);

#endif
