/* issuer: hogmock as its own OIDC issuers, "k8s" and "github": their keys, discovery
 * document and JWKS, their place among the trusted issuers, and tokens minted with them,
 * valid or broken on purpose. A private key never leaves the module: answers hold public
 * JWKs and tokens, and nothing here logs a token. */
#ifndef HOG_ISSUER_H
#define HOG_ISSUER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct jose_key;
struct oidc;

/* The kinds of issuer hogmock can be: a Kubernetes API server signing projected
 * ServiceAccount tokens, and GitHub Actions' OIDC provider. */
enum issuer_kind {
    ISSUER_K8S = 0,
    ISSUER_GITHUB = 1,
    ISSUER__COUNT
};

#define ISSUER_AUDIENCE "hogland"           /* the audience minted tokens get by default */
#define ISSUER_LIFETIME_DEFAULT 3600        /* seconds */
#define ISSUER_LIFETIME_MAX 31536000        /* a year */

/* "k8s" or "github" to a kind; RC_NOT_FOUND for any other name. */
enum rc issuer_kind_parse(const char *name, enum issuer_kind *out);
/* "k8s" or "github". */
const char *issuer_kind_name(enum issuer_kind kind);

/* ------------------------------------------------------------------ minting */

/* A minted token and what it carries. */
struct mint_result {
    char *token;
    cJSON *header;          /* the JOSE header as encoded (a JWE header for jwe_shaped) */
    cJSON *claims;          /* the claims as encoded; NULL for jwe_shaped, which has none */
    int64_t expires_at;     /* its exp in Unix seconds; 0 when it has none */
};

/* Free the contents; m is left zeroed. */
void mint_result_release(struct mint_result *m);

/* Mint a token from issuer iss (its URL) of kind, signed with key (which must hold its
 * private part), at now (Unix seconds), as req asks: the MintRequest of
 * openapi/hogmock-admin.yaml, whose issuer member is not read here. wrong_key signs the
 * "wrong_key" kind (NULL: a key is made for it). RC_OK fills out (mint_result_release);
 * RC_INVALID appends "/member: why" to err when req does not make sense for kind (a
 * GitHub shortcut for k8s, an unknown broken kind, a lifetime out of range ...). */
enum rc issuer_mint(enum issuer_kind kind, const char *iss, const struct jose_key *key,
                    const struct jose_key *wrong_key, const cJSON *req, int64_t now,
                    struct mint_result *out, struct buf *err);

/* ------------------------------------------------------------------ a running hogmock's issuers */

struct issuers;

/* An empty set (issuers_free); NULL frees nothing. */
struct issuers *issuers_new(void);
void issuers_free(struct issuers *is);

/* Run the built-in issuer spec names: "k8s" or "github" with a new key, or "NAME=PEMFILE"
 * with the key of that file (see fixtures/auth/issuer-*.pem). Naming one again replaces
 * its key. RC_INVALID, RC_IO ... with one line appended to err. */
enum rc issuers_enable(struct issuers *is, const char *spec, struct buf *err);
/* Run the issuers listed in the builtin_issuers member of an auth config file (YAML or
 * JSON), each a spec as for issuers_enable; a file without the member runs none. */
enum rc issuers_enable_config(struct issuers *is, const char *path, struct buf *err);
bool issuers_any(const struct issuers *is);

/* Name each issuer after hogmock's URL base_url (issuer URL base_url/__hogmock/oidc/NAME)
 * and trust it in oidc, as issuers_register does. Once, when the URL is known. */
void issuers_start(struct issuers *is, const char *base_url, struct oidc *oidc);
/* Trust each issuer in oidc again (after a reset that forgot them): kind k8s_sa or
 * github_oidc, audience hogland, its JWKS inline. A refusal is logged, not fatal. */
void issuers_register(struct issuers *is, struct oidc *oidc);

#endif
