/* fuzz_jose: the JOSE parsers (common/jose) on arbitrary text: as a compact JWT, decoded
 * and verified against the test issuers' keys (fixtures/auth/issuer-*.pem) with its claims
 * checked; as a JWKS; and as one JWK. What decodes must sign and decode back the same,
 * and what imports must export and import back as the same key. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "bundle.h"
#include "jose.h"
#include "xmalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1764620000      /* 2025-12-01: the claims are checked against a fixed clock */

static struct jose_jwks keys;   /* ES256 (k8s) and RS256 (github) */
static const struct jose_key *es256;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const files[2] = { "fixtures/auth/issuer-k8s.pem",
                                          "fixtures/auth/issuer-github.pem" };
    struct buf path = BUF_INIT, err = BUF_INIT;
    int i;

    (void)argc;
    (void)argv;
    xmalloc_init_cjson();
    jose_jwks_init(&keys);
    for (i = 0; i < 2; i++) {
        struct jose_key *key = NULL;

        buf_reset(&path);
        bundle_path(files[i], &path);
        if (jose_key_load_pem(buf_cstr(&path), NULL, NULL, &key, &err) != JOSE_OK
            || jose_jwks_add(&keys, key, &err) != JOSE_OK) {
            fprintf(stderr, "fuzz_jose: %s\n", buf_cstr(&err));
            exit(2);
        }
    }
    es256 = keys.keys[0];
    buf_release(&path);
    buf_release(&err);
    return 0;
}

/* A failure says why; the code is a known one. */
static void check_err(enum jose_err e, const struct buf *err)
{
    if (e >= JOSE__COUNT || (e != JOSE_OK && err->len == 0))
        abort();
}

/* The claims re-signed with the ES256 key decode back to the same claims. */
static void resign(const struct jose_jwt *jwt)
{
    cJSON *header = cJSON_Duplicate(jwt->header, true);
    struct jose_jwt again;
    struct buf err = BUF_INIT;
    char *token = NULL;

    cJSON_DeleteItemFromObjectCaseSensitive(header, "alg");
    cJSON_DeleteItemFromObjectCaseSensitive(header, "kid");
    jose_jwt_init(&again);
    if (jose_jwt_sign(header, jwt->claims, es256, &token, &err) != JOSE_OK
        || jose_jwt_decode(token, &again, &err) != JOSE_OK
        || jose_jwt_verify(&again, es256, &err) != JOSE_OK
        || !cJSON_Compare(again.claims, jwt->claims, true)) {
        fprintf(stderr, "re-signed token does not decode back: %s\n", buf_cstr(&err));
        abort();
    }
    jose_jwt_release(&again);
    free(token);
    cJSON_Delete(header);
    buf_release(&err);
}

static void fuzz_token(const char *token)
{
    struct jose_jwt jwt;
    struct buf err = BUF_INIT;
    const struct jose_key *key;
    const char *s;
    double d;
    enum jose_err e;
    size_t i, dots;

    jose_jwt_init(&jwt);
    e = jose_jwt_decode(token, &jwt, &err);
    check_err(e, &err);
    if (e != JOSE_OK) {
        if (jwt.header || jwt.claims || jwt.signing_input.len)
            abort();
        buf_release(&err);
        return;
    }
    /* The signing input is the token up to its second dot. */
    for (i = 0, dots = 0; token[i] && dots < 2; i++)
        dots += token[i] == '.';
    if (!jwt.alg || dots != 2 || jwt.signing_input.len != i - 1
        || memcmp(jwt.signing_input.data, token, i - 1) != 0)
        abort();
    e = jose_jwks_select(&keys, &jwt, &key, &err);
    check_err(e, &err);
    if (e == JOSE_OK)
        check_err(jose_jwt_verify(&jwt, key, &err), &err);
    for (i = 0; i < keys.nkeys; i++) {
        buf_reset(&err);
        check_err(jose_jwt_verify(&jwt, keys.keys[i], &err), &err);
    }
    buf_reset(&err);
    check_err(jose_claim_string(&jwt, "sub", &s, &err), &err);
    check_err(jose_claim_number(&jwt, "exp", &d, &err), &err);
    check_err(jose_claim_aud_contains(&jwt, "hogland", &err), &err);
    check_err(jose_claims_check_time(&jwt, NOW, 60, &err), &err);
    buf_reset(&err);
    check_err(jose_claims_check_time(&jwt, INT64_MAX / 2, INT64_MAX / 4, &err), &err);
    resign(&jwt);
    jose_jwt_release(&jwt);
    buf_release(&err);
}

/* key exported as a JWK and as PEM imports back as the same key. */
static void key_round_trip(const struct jose_key *key)
{
    struct buf want = BUF_INIT, got = BUF_INIT, err = BUF_INIT;
    cJSON *jwk = jose_key_to_jwk(key);
    struct jose_key *back = NULL;
    char *pem = jose_key_public_pem(key);

    jose_key_thumbprint(key, &want);
    if (jose_jwk_parse(jwk, &back, &err) != JOSE_OK)
        abort();
    jose_key_thumbprint(back, &got);
    if (strcmp(buf_cstr(&want), buf_cstr(&got)) != 0 || strcmp(back->alg, key->alg) != 0)
        abort();
    jose_key_free(back);
    back = NULL;
    buf_reset(&got);
    if (!pem || jose_key_load_pem(pem, key->alg, NULL, &back, &err) != JOSE_OK)
        abort();
    jose_key_thumbprint(back, &got);
    if (strcmp(buf_cstr(&want), buf_cstr(&got)) != 0)
        abort();
    jose_key_free(back);
    free(pem);
    cJSON_Delete(jwk);
    buf_release(&want);
    buf_release(&got);
    buf_release(&err);
}

static void fuzz_jwks(const char *text, size_t len)
{
    struct jose_jwks set;
    struct buf err = BUF_INIT;
    enum jose_err e;
    cJSON *doc;
    size_t i;

    jose_jwks_init(&set);
    e = jose_jwks_parse(text, len, &set, &err);
    check_err(e, &err);
    if (e != JOSE_OK && (set.nkeys || set.nwarnings))
        abort();
    for (i = 0; i < set.nkeys; i++)
        key_round_trip(set.keys[i]);
    jose_jwks_release(&set);

    /* The whole text as one JWK. */
    doc = cJSON_ParseWithLength(text, len);
    if (doc) {
        struct jose_key *key = NULL;

        buf_reset(&err);
        e = jose_jwk_parse(doc, &key, &err);
        check_err(e, &err);
        if ((e == JOSE_OK) != (key != NULL))
            abort();
        if (key)
            key_round_trip(key);
        jose_key_free(key);
        cJSON_Delete(doc);
    }
    buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);

    fuzz_token(text);
    fuzz_jwks((const char *)data, size);
    free(text);
    return 0;
}
