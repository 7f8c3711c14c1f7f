/* jose: JWK/JWKS keys and compact JWS/JWT (RS256, ES256) over libcrypto: decode, verify, sign.
 * The key decides the algorithm, never the token; jose_mint_* break tokens on purpose (tests). */
#ifndef HOG_JOSE_H
#define HOG_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/types.h>

#include "buf.h"

#define JOSE_MAX_TOKEN (64 * 1024)      /* bytes of a compact token */
#define JOSE_MAX_HEADER (8 * 1024)      /* bytes of the decoded header JSON */
#define JOSE_MAX_JWKS (1024 * 1024)     /* bytes of a JWKS document */
#define JOSE_MAX_DEPTH 32               /* nesting of arrays and objects in any JOSE JSON */
#define JOSE_RSA_MIN_BITS 2048
#define JOSE_RSA_MAX_BITS 16384

/* Why a JOSE operation failed. Numbered and never renumbered; add new ones at the end.
 * Every failure also appends one line for a person to err (any err may be NULL). */
enum jose_err {
    JOSE_OK = 0,
    JOSE_MALFORMED = 1,         /* not a compact JWS, JWK or JWKS: parts, base64url, JSON, types */
    JOSE_TOO_LARGE = 2,         /* over a size bound or nested deeper than JOSE_MAX_DEPTH */
    JOSE_UNSUPPORTED = 3,       /* well-formed but not handled: crit, a JWK's kty/crv/alg/use */
    JOSE_ALG_NOT_ALLOWED = 4,   /* the header alg is not the key's alg (none, HS256, RS384, ...) */
    JOSE_BAD_SIGNATURE = 5,     /* the signature does not verify, or has the wrong length or form */
    JOSE_UNKNOWN_KID = 6,       /* no key in the set for the token's kid */
    JOSE_BAD_KEY = 7,           /* a key broken or too weak, or without the private part needed */
    JOSE_DUPLICATE_KID = 8,     /* two usable keys of one JWKS share a kid */
    JOSE_MISSING_CLAIM = 9,
    JOSE_BAD_CLAIM = 10,        /* a claim of the wrong JSON type or out of range */
    JOSE_BAD_AUDIENCE = 11,     /* aud does not contain the expected audience */
    JOSE_EXPIRED = 12,          /* exp (plus leeway) has passed */
    JOSE_NOT_YET_VALID = 13,    /* nbf, or iat, is beyond now plus leeway */
    JOSE_IO = 14,               /* a key file could not be read */
    JOSE_CRYPTO = 15,           /* libcrypto failed where it should not */
    JOSE__COUNT
};

/* A stable snake_case name for code ("alg_not_allowed"); never NULL. */
const char *jose_err_name(enum jose_err code);

/* ------------------------------------------------------------------ keys */

/* A key bound to one algorithm. Fields are read-only to callers. */
struct jose_key {
    EVP_PKEY *pkey;
    char *kid;          /* NULL when the key has none */
    const char *alg;    /* "RS256" or "ES256" (static) */
    bool has_private;   /* can sign */
};

/* Free the key and its EVP_PKEY; NULL is a no-op. */
void jose_key_free(struct jose_key *key);

/* Import one JWK (RFC 7517/7518): kty RSA (n, e; modulus of JOSE_RSA_MIN_BITS to
 * JOSE_RSA_MAX_BITS, minimal encoding, e odd and > 1) or kty EC with crv P-256 (x, y of 32
 * bytes each, a point on the curve). alg, when present, must be RS256 for RSA and ES256
 * for EC; use, when present, must be "sig"; key_ops, when present, must list "verify".
 * Private members are read too (RSA d with p, q, dp, dq, qi all or none; EC d) and must
 * match the public part. *out is new (jose_key_free), NULL on failure: JOSE_MALFORMED
 * (missing member, wrong type, not base64url), JOSE_UNSUPPORTED (another kty, crv or alg,
 * use other than sig), JOSE_BAD_KEY (weak or invalid key, alg for the other key type). */
enum jose_err jose_jwk_parse(const cJSON *jwk, struct jose_key **out, struct buf *err);

/* A new key pair: alg "RS256" (RSA 2048) or "ES256" (P-256); kid NULL names it by its
 * RFC 7638 thumbprint. *out is new (jose_key_free); JOSE_UNSUPPORTED for another alg. */
enum jose_err jose_key_generate(const char *alg, const char *kid, struct jose_key **out,
                                struct buf *err);

/* The public JWK {kty, kid, alg, use: "sig", n/e or crv/x/y}, never a private member;
 * new (caller cJSON_Delete). kid is left out when the key has none. */
cJSON *jose_key_to_jwk(const struct jose_key *key);

/* Append the RFC 7638 JWK thumbprint (base64url of SHA-256) of the public key to out. */
void jose_key_thumbprint(const struct jose_key *key, struct buf *out);

/* The private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), or the public key as
 * SubjectPublicKeyInfo PEM; new (caller frees with free()). The private form is NULL
 * for a key without a private part. */
char *jose_key_private_pem(const struct jose_key *key);
char *jose_key_public_pem(const struct jose_key *key);

/* Load a PEM key: pem is the text itself when it starts with "-----BEGIN", else the
 * path of a file holding it. A private key (PKCS#8, or traditional RSA/EC) is read
 * first, else a public one (SubjectPublicKeyInfo); encrypted keys are refused. alg NULL
 * takes the key type's (RSA -> RS256, P-256 -> ES256), else it must agree; kid NULL
 * names it by its thumbprint. *out is new (jose_key_free); JOSE_IO when the file cannot
 * be read, JOSE_BAD_KEY when it holds no usable key. */
enum jose_err jose_key_load_pem(const char *pem, const char *alg, const char *kid,
                                struct jose_key **out, struct buf *err);

/* ------------------------------------------------------------------ key sets */

/* A JWKS: the usable keys, and one line for each key that was skipped. */
struct jose_jwks {
    struct jose_key **keys;
    size_t nkeys;
    char **warnings;        /* "jwks /keys/1/use: 'enc'; ... (kid 'x'); skipped" */
    size_t nwarnings;
};

/* Set up an empty set; allocates nothing. */
void jose_jwks_init(struct jose_jwks *set);
/* Free the keys and warnings; the set is left empty and reusable. */
void jose_jwks_release(struct jose_jwks *set);

/* Parse a JWKS document {"keys": [...]} of len bytes (at most JOSE_MAX_JWKS) into set,
 * which must be empty. A key that jose_jwk_parse finds JOSE_UNSUPPORTED (an encryption
 * key, an Ed25519 or P-384 key, RS384 ...) is skipped with a warning; any other bad key,
 * a duplicate member, or two usable keys with one kid (JOSE_DUPLICATE_KID) refuses the
 * whole set, which is then left empty. */
enum jose_err jose_jwks_parse(const char *json, size_t len, struct jose_jwks *set,
                              struct buf *err);

/* Add key to set, which takes it over, even on failure: JOSE_DUPLICATE_KID (key freed)
 * when a key of the set already has its kid. */
enum jose_err jose_jwks_add(struct jose_jwks *set, struct jose_key *key, struct buf *err);

/* The key with this kid, borrowed from set; NULL when none. */
const struct jose_key *jose_jwks_find(const struct jose_jwks *set, const char *kid);
size_t jose_jwks_count(const struct jose_jwks *set);

/* The public JWKS {"keys": [...]} of the set, as served by an issuer; new (cJSON_Delete). */
cJSON *jose_jwks_to_json(const struct jose_jwks *set);

/* ------------------------------------------------------------------ tokens */

/* A decoded, not yet verified, compact JWS whose payload is a JSON object (a JWT). */
struct jose_jwt {
    cJSON *header;              /* the header object */
    cJSON *claims;              /* the payload object */
    const char *alg;            /* header alg, borrowed from header */
    const char *typ;            /* header typ, or NULL */
    const char *kid;            /* header kid, or NULL */
    struct buf signing_input;   /* "header.payload" exactly as in the token */
    struct buf signature;       /* the decoded signature bytes; empty for "h.p." */
};

/* Set up an empty token; allocates nothing. */
void jose_jwt_init(struct jose_jwt *jwt);
/* Free the contents; jwt is left as after jose_jwt_init. */
void jose_jwt_release(struct jose_jwt *jwt);

/* Split a compact token into exactly 3 parts and decode them without verifying: strict
 * base64url in each part (no padding, no '+' or '/', canonical last character); header
 * and payload must be UTF-8 JSON objects without duplicate members or NUL characters,
 * nested at most JOSE_MAX_DEPTH deep; the header at most JOSE_MAX_HEADER bytes, the
 * token at most JOSE_MAX_TOKEN. The header needs alg (a string); typ and kid are optional
 * strings; crit is refused (JOSE_UNSUPPORTED: no extension is understood). jwt must be
 * empty (jose_jwt_init); it is filled on JOSE_OK and left empty on failure. */
enum jose_err jose_jwt_decode(const char *token, struct jose_jwt *jwt, struct buf *err);

/* Check jwt's signature with key. The header alg must equal key->alg exactly, else
 * JOSE_ALG_NOT_ALLOWED: none in any case, HS256 with an RSA key (key confusion), RS384,
 * ES256 with an RSA key ... RS256 is RSASSA-PKCS1-v1_5 with SHA-256 and a signature as
 * long as the modulus; ES256 is ECDSA P-256 with SHA-256 and the JOSE 64-byte r||s form
 * (a DER signature is JOSE_BAD_SIGNATURE). The kid is not compared: choosing the key is
 * the caller's (see jose_jwks_select). */
enum jose_err jose_jwt_verify(const struct jose_jwt *jwt, const struct jose_key *key,
                              struct buf *err);

/* The key of set for jwt (borrowed from set): the one with jwt's kid (JOSE_UNKNOWN_KID
 * when none), or without a kid in the token the set's only key (JOSE_UNKNOWN_KID when
 * the set holds another number of keys). */
enum jose_err jose_jwks_select(const struct jose_jwks *set, const struct jose_jwt *jwt,
                               const struct jose_key **out, struct buf *err);

/* Sign claims (an object) as a compact JWT with key, which must have a private part
 * (else JOSE_BAD_KEY). header (NULL for none) gives extra header members; alg, typ
 * "JWT" and the key's kid are added unless header has them. A header alg other than
 * key->alg is JOSE_ALG_NOT_ALLOWED (jose_mint_alg_mismatch does that on purpose).
 * *token is new (caller frees with free()), NULL on failure. */
enum jose_err jose_jwt_sign(const cJSON *header, const cJSON *claims,
                            const struct jose_key *key, char **token, struct buf *err);

/* Sign the exact bytes given as header and payload with key's alg, whatever the header
 * says: base64url(header) "." base64url(payload) "." base64url(signature). For
 * well-signed tokens that are malformed inside (duplicate members, deep nesting, crit, a
 * non-object payload) and for fixed vectors. *token is new (free()), NULL on failure. */
enum jose_err jose_jws_sign_raw(const void *header, size_t header_len, const void *payload,
                                size_t payload_len, const struct jose_key *key, char **token,
                                struct buf *err);

/* ------------------------------------------------------------------ broken tokens, for tests */

/* An unsigned token "h.p." with header {"alg": alg, "typ": "JWT"} (plus kid when not
 * NULL); alg is the spelling to test ("none", "None", "NONE"). claims NULL is {}. New
 * (free()). */
char *jose_mint_alg_none(const char *alg, const char *kid, const cJSON *claims);

/* The RS256 -> HS256 key confusion: header {"alg": "HS256", "typ": "JWT", kid}, signed
 * with HMAC-SHA256 keyed by the bytes of key's public PEM (jose_key_public_pem), as a
 * verifier that takes alg from the token and the key as a secret would check it.
 * *token is new (free()). */
enum jose_err jose_mint_hs256_confusion(const cJSON *claims, const struct jose_key *key,
                                        char **token, struct buf *err);

/* A token signed by key (its alg) whose header says alg instead (RS384, ES256 on an
 * RSA key, ...). *token is new (free()). */
enum jose_err jose_mint_alg_mismatch(const char *alg, const cJSON *claims,
                                     const struct jose_key *key, char **token,
                                     struct buf *err);

/* A copy of token with part (0 header, 1 payload, 2 signature) made bad base64url: its
 * middle character replaced by bad ('+', '/', '*', ...; an empty part becomes bad
 * alone), or for bad '=' the part padded with '=' to a multiple of 4 (at least one).
 * New (free()); NULL when token has fewer than part + 1 parts. */
char *jose_mint_bad_base64url(const char *token, int part, char bad);

/* A JWE-shaped string of 5 base64url parts (RSA-OAEP / A256GCM header). New (free()). */
char *jose_mint_jwe_shaped(void);

/* ------------------------------------------------------------------ claims */

/* The string claim name, borrowed from jwt; JOSE_MISSING_CLAIM or JOSE_BAD_CLAIM (not a
 * string), *out NULL then. */
enum jose_err jose_claim_string(const struct jose_jwt *jwt, const char *name,
                                const char **out, struct buf *err);
/* The number claim name; JOSE_MISSING_CLAIM or JOSE_BAD_CLAIM (not a finite number). */
enum jose_err jose_claim_number(const struct jose_jwt *jwt, const char *name, double *out,
                                struct buf *err);

/* aud (a string, or an array of strings) contains audience exactly: JOSE_OK,
 * JOSE_MISSING_CLAIM, JOSE_BAD_CLAIM (another type), or JOSE_BAD_AUDIENCE with a message
 * that shows the audiences seen and the one expected. */
enum jose_err jose_claim_aud_contains(const struct jose_jwt *jwt, const char *audience,
                                      struct buf *err);

/* Check the times against now (seconds since the epoch) allowing leeway seconds of clock
 * skew: exp is required and now must be before exp + leeway (JOSE_EXPIRED); nbf, when
 * present, must be at most now + leeway, and so must iat (JOSE_NOT_YET_VALID). Each
 * must be a NumericDate (JOSE_BAD_CLAIM). The message says which check failed and by
 * how much: "expired 3m12s ago (exp 1764620000, leeway 60 s)". */
enum jose_err jose_claims_check_time(const struct jose_jwt *jwt, int64_t now, int64_t leeway,
                                     struct buf *err);

#endif
