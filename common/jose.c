#include "jose.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "base64.h"
#include "log.h"
#include "xmalloc.h"

static const char alg_rs256[] = "RS256";
static const char alg_es256[] = "ES256";

/* ------------------------------------------------------------------ errors and messages */

const char *jose_err_name(enum jose_err code)
{
    static const char *const names[JOSE__COUNT] = {
        [JOSE_OK] = "ok",
        [JOSE_MALFORMED] = "malformed",
        [JOSE_TOO_LARGE] = "too_large",
        [JOSE_UNSUPPORTED] = "unsupported",
        [JOSE_ALG_NOT_ALLOWED] = "alg_not_allowed",
        [JOSE_BAD_SIGNATURE] = "bad_signature",
        [JOSE_UNKNOWN_KID] = "unknown_kid",
        [JOSE_BAD_KEY] = "bad_key",
        [JOSE_DUPLICATE_KID] = "duplicate_kid",
        [JOSE_MISSING_CLAIM] = "missing_claim",
        [JOSE_BAD_CLAIM] = "bad_claim",
        [JOSE_BAD_AUDIENCE] = "bad_audience",
        [JOSE_EXPIRED] = "expired",
        [JOSE_NOT_YET_VALID] = "not_yet_valid",
        [JOSE_IO] = "io",
        [JOSE_CRYPTO] = "crypto",
    };

    if ((unsigned)code >= JOSE__COUNT || !names[code])
        return "unknown";
    return names[code];
}

static void vaddf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    char *text;
    int n;

    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    text = xmalloc((size_t)n + 1);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    buf_add(b, text, (size_t)n);
    free(text);
}

/* Append the message to err (when not NULL) and return code. */
static enum jose_err fail(struct buf *err, enum jose_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum jose_err fail(struct buf *err, enum jose_err code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        vaddf(err, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A libcrypto failure: its last reason, and an empty error queue for the next caller. */
static enum jose_err crypto_fail(struct buf *err, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    enum jose_err rc = fail(err, JOSE_CRYPTO, "%s: %s", what, reason ? reason : "libcrypto error");

    ERR_clear_error();
    return rc;
}

/* Failures of libcrypto on keys this module made itself: only out of memory. */
static void crypto_fatal(const char *what) __attribute__((noreturn));

static void crypto_fatal(const char *what)
{
    log_error("libcrypto failed: %s", what);
    abort();
}

/* Untrusted text quoted for a one-line message: 'text', control and non-ASCII bytes
 * as \xNN, cut with "..." past QUOTE_MAX characters. */
#define QUOTE_MAX 64
struct quoted {
    char s[QUOTE_MAX + 16]; /* "key " + quote + escape overrun + "..." + NUL */
};

/* Write 'text' at dst, which has room for QUOTE_MAX + 8 bytes. */
static void quote_into(char *dst, const char *s)
{
    size_t o = 0;

    dst[o++] = '\'';
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (o >= QUOTE_MAX) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
            static const char hex[] = "0123456789abcdef";

            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o++] = '\'';
    dst[o] = '\0';
}

static const char *quote(struct quoted *q, const char *s)
{
    quote_into(q->s, s);
    return q->s;
}

static const char *json_type(const cJSON *node)
{
    if (cJSON_IsObject(node))
        return "an object";
    if (cJSON_IsArray(node))
        return "an array";
    if (cJSON_IsString(node))
        return "a string";
    if (cJSON_IsNumber(node))
        return "a number";
    if (cJSON_IsBool(node))
        return "a boolean";
    if (cJSON_IsNull(node))
        return "null";
    return "missing";
}

static bool is_es256(const struct jose_key *key)
{
    return strcmp(key->alg, alg_es256) == 0;
}

/* "key 'k1'" or "the key without kid", for messages. */
static const char *key_name(struct quoted *q, const struct jose_key *key)
{
    if (!key->kid)
        return "the key without kid";
    memcpy(q->s, "key ", 4);
    quote_into(q->s + 4, key->kid);
    return q->s;
}

/* ------------------------------------------------------------------ base64url and JSON */

static bool is_b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_';
}

/* Decode one base64url field into out (appended); on failure say precisely why. */
static enum jose_err b64url_field(const char *what, const char *s, size_t len, struct buf *out,
                                  struct buf *err)
{
    size_t i;

    if (base64url_decode(s, len, out) == RC_OK)
        return JOSE_OK;
    for (i = 0; i < len && is_b64url_char((unsigned char)s[i]); i++)
        ;
    if (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c == '=')
            return fail(err, JOSE_MALFORMED,
                        "%s: not base64url: padding '=' at offset %zu (JOSE forbids padding)",
                        what, i);
        if (c == '+' || c == '/')
            return fail(err, JOSE_MALFORMED,
                        "%s: not base64url: '%c' at offset %zu is the base64 alphabet "
                        "(base64url uses '-' and '_')", what, c, i);
        if (c > 0x20 && c < 0x7f)
            return fail(err, JOSE_MALFORMED, "%s: not base64url: character '%c' at offset %zu",
                        what, c, i);
        return fail(err, JOSE_MALFORMED, "%s: not base64url: byte 0x%02x at offset %zu",
                    what, c, i);
    }
    if (len % 4 == 1)
        return fail(err, JOSE_MALFORMED,
                    "%s: not base64url: %zu characters cannot encode whole bytes", what, len);
    return fail(err, JOSE_MALFORMED,
                "%s: not base64url: the last character has non-zero spare bits "
                "(not the canonical encoding)", what);
}

/* Length of the valid UTF-8 sequence at s (2..4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    unsigned long cp;
    size_t n, i;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* What cJSON does not check: UTF-8, NUL characters (raw, or \u0000, which cJSON would
 * turn into a C string cut short: "RS256\u0000x" read as "RS256"), and nesting depth. */
static enum jose_err json_prescan(const char *what, const char *text, size_t len, struct buf *err)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, depth = 0;
    bool in_string = false;

    while (i < len) {
        unsigned char c = s[i];

        if (c == 0)
            return fail(err, JOSE_MALFORMED, "%s: NUL byte at offset %zu", what, i);
        if (c >= 0x80) {
            size_t n = utf8_seq(s + i, len - i);

            if (!n)
                return fail(err, JOSE_MALFORMED, "%s: invalid UTF-8 at offset %zu", what, i);
            i += n;
            continue;
        }
        if (in_string) {
            if (c == '\\') {
                if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
                    return fail(err, JOSE_MALFORMED,
                                "%s: \\u0000 in a string at offset %zu (a NUL would cut the "
                                "string short)", what, i);
                i += 2;
                continue;
            }
            if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > JOSE_MAX_DEPTH)
                return fail(err, JOSE_TOO_LARGE, "%s: nested deeper than %d levels", what,
                            JOSE_MAX_DEPTH);
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
        i++;
    }
    return JOSE_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first member name that repeats within one object of the tree, or NULL. Two
 * parsers that keep different duplicates read different claims; so none is kept. */
static const char *find_duplicate(const cJSON *node)
{
    const cJSON *child;
    const char *dup = NULL;

    cJSON_ArrayForEach(child, node) {
        if ((dup = find_duplicate(child)))
            return dup;
    }
    if (cJSON_IsObject(node)) {
        const char **names;
        size_t n = 0, i;

        cJSON_ArrayForEach(child, node)
            n++;
        if (n < 2)
            return NULL;
        names = xmalloc(n * sizeof(*names));
        n = 0;
        cJSON_ArrayForEach(child, node)
            names[n++] = child->string;
        qsort(names, n, sizeof(*names), compare_names);
        for (i = 1; i < n && !dup; i++) {
            if (strcmp(names[i - 1], names[i]) == 0)
                dup = names[i];
        }
        free(names);
    }
    return dup;
}

/* Parse len bytes of JSON strictly (one value, nothing after it but whitespace). *out is
 * new (cJSON_Delete), NULL on failure. */
static enum jose_err json_parse(const char *what, const char *text, size_t len, cJSON **out,
                                struct buf *err)
{
    const char *end = NULL, *dup;
    enum jose_err rc;
    struct quoted q;
    cJSON *doc;

    *out = NULL;
    if (len == 0)
        return fail(err, JOSE_MALFORMED, "%s: empty, not JSON", what);
    if ((rc = json_prescan(what, text, len, err)))
        return rc;
    doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!doc) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;

        return fail(err, JOSE_MALFORMED, "%s: not JSON (error near offset %zu)", what, at);
    }
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        cJSON_Delete(doc);
        return fail(err, JOSE_MALFORMED, "%s: data after the JSON value at offset %zu", what,
                    (size_t)(end - text));
    }
    if ((dup = find_duplicate(doc))) {
        rc = fail(err, JOSE_MALFORMED, "%s: duplicate member %s", what, quote(&q, dup));
        cJSON_Delete(doc);
        return rc;
    }
    *out = doc;
    return JOSE_OK;
}

/* ------------------------------------------------------------------ signing primitives */

/* ECDSA's DER form to JOSE's r||s, each padded to 32 bytes. */
static bool der_to_raw(const unsigned char *der, size_t len, struct buf *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r, *s;
    unsigned char raw[64];
    bool ok;

    if (!sig)
        return false;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    if (ok)
        buf_add(out, raw, sizeof(raw));
    ECDSA_SIG_free(sig);
    return ok;
}

/* JOSE's 64-byte r||s to DER; *der is new (OPENSSL_free). */
static bool raw_to_der(const unsigned char *raw, unsigned char **der, size_t *len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    int n;

    *der = NULL;
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return false;
    }
    n = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig);
    if (n <= 0)
        return false;
    *len = (size_t)n;
    return true;
}

/* Append the JOSE signature of data (RS256 or ES256 by es256) to sig. */
static bool sign_bytes(EVP_PKEY *pkey, bool es256, const void *data, size_t len, struct buf *sig)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *out = NULL;
    size_t n = 0;
    bool ok = false;

    if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1
        || EVP_DigestSign(md, NULL, &n, data, len) != 1)
        goto out;
    out = xmalloc(n);
    if (EVP_DigestSign(md, out, &n, data, len) != 1)
        goto out;
    if (es256) {
        ok = der_to_raw(out, n, sig);
    } else {
        buf_add(sig, out, n);
        ok = true;
    }
out:
    free(out);
    EVP_MD_CTX_free(md);
    return ok;
}

/* True when sig is a valid JOSE signature of data. */
static bool verify_bytes(EVP_PKEY *pkey, bool es256, const void *data, size_t len,
                         const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    bool ok = false;

    if (es256) {
        if (siglen != 64 || !raw_to_der(sig, &der, &siglen))
            goto out;
        sig = der;
    }
    md = EVP_MD_CTX_new();
    if (md && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1)
        ok = EVP_DigestVerify(md, sig, siglen, data, len) == 1;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

/* A private part that belongs to the public one signs what the public one verifies. */
static bool key_pair_matches(EVP_PKEY *pkey, bool es256)
{
    static const char probe[] = "jose key pair check";
    struct buf sig = BUF_INIT;
    bool ok;

    ok = sign_bytes(pkey, es256, probe, sizeof(probe) - 1, &sig)
         && verify_bytes(pkey, es256, probe, sizeof(probe) - 1,
                         (const unsigned char *)sig.data, sig.len);
    buf_release(&sig);
    ERR_clear_error();
    return ok;
}

/* ------------------------------------------------------------------ keys */

void jose_key_free(struct jose_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key->kid);
    free(key);
}

/* A new key that takes over pkey; kid NULL names it by its thumbprint when name_it. */
static struct jose_key *key_new(EVP_PKEY *pkey, const char *alg, const char *kid,
                                bool has_private, bool name_it)
{
    struct jose_key *key = xcalloc(1, sizeof(*key));

    key->pkey = pkey;
    key->alg = alg;
    key->has_private = has_private;
    if (kid) {
        key->kid = xstrdup(kid);
    } else if (name_it) {
        struct buf tp = BUF_INIT;

        jose_key_thumbprint(key, &tp);
        key->kid = buf_detach(&tp, NULL);
    }
    return key;
}

/* Where in a document a JWK sits, for messages: whole "jwk" and members "jwk /n", or
 * "jwks /keys/2" and "jwks /keys/2/n". */
struct where {
    char whole[48];
    char base[48];
};

static void where_init(struct where *w, const char *doc, size_t index, bool in_set)
{
    if (in_set) {
        snprintf(w->whole, sizeof(w->whole), "%s /keys/%zu", doc, index);
        snprintf(w->base, sizeof(w->base), "%s /keys/%zu", doc, index);
    } else {
        snprintf(w->whole, sizeof(w->whole), "%s", doc);
        snprintf(w->base, sizeof(w->base), "%s ", doc);
    }
}

/* The optional string member name; JOSE_MALFORMED when it is not a string. */
static enum jose_err jwk_string(const struct where *w, const cJSON *jwk, const char *name,
                                const char **out, struct buf *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(jwk, name);

    *out = NULL;
    if (!m)
        return JOSE_OK;
    if (!cJSON_IsString(m))
        return fail(err, JOSE_MALFORMED, "%s/%s: %s, not a string", w->base, name,
                    json_type(m));
    *out = m->valuestring;
    return JOSE_OK;
}

/* The base64url member name decoded into out (appended); *present false when absent
 * (JOSE_MALFORMED when required). */
static enum jose_err jwk_bytes(const struct where *w, const cJSON *jwk, const char *name,
                               bool required, struct buf *out, bool *present, struct buf *err)
{
    const char *s;
    enum jose_err rc;
    char what[64];

    *present = false;
    if ((rc = jwk_string(w, jwk, name, &s, err)))
        return rc;
    if (!s) {
        if (required)
            return fail(err, JOSE_MALFORMED, "%s: no '%s' member", w->whole, name);
        return JOSE_OK;
    }
    snprintf(what, sizeof(what), "%s/%s", w->base, name);
    if ((rc = b64url_field(what, s, strlen(s), out, err)))
        return rc;
    if (out->len == 0)
        return fail(err, JOSE_MALFORMED, "%s: empty", what);
    *present = true;
    return JOSE_OK;
}

static size_t bit_length(const unsigned char *p, size_t len)
{
    size_t bits = len * 8;
    unsigned char top = p[0];

    for (unsigned char m = 0x80; m && !(top & m); m >>= 1)
        bits--;
    return bits;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static void push_bn(OSSL_PARAM_BLD *bld, const char *name, const struct buf *b, BIGNUM **keep)
{
    BIGNUM *bn = BN_bin2bn((const unsigned char *)b->data, (int)b->len, NULL);

    if (!bn || !OSSL_PARAM_BLD_push_BN(bld, name, bn))
        crypto_fatal("building key parameters");
    *keep = bn;
}

/* RSA private members, in the order of the OpenSSL parameters they fill. */
static const char *const rsa_private_names[] = { "d", "p", "q", "dp", "dq", "qi" };
static const char *const rsa_private_params[] = {
    OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
    OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};
#define RSA_NPRIV 6

static enum jose_err rsa_from_jwk(const struct where *w, const cJSON *jwk, EVP_PKEY **out,
                                  bool *has_private, struct buf *err)
{
    struct buf n = BUF_INIT, e = BUF_INIT, priv[RSA_NPRIV];
    bool present[RSA_NPRIV], have;
    BIGNUM *bns[2 + RSA_NPRIV] = { NULL };
    OSSL_PARAM_BLD *bld = NULL;
    size_t bits, i, nfactors = 0;
    enum jose_err rc;

    *out = NULL;
    *has_private = false;
    for (i = 0; i < RSA_NPRIV; i++)
        buf_init(&priv[i]);
    if ((rc = jwk_bytes(w, jwk, "n", true, &n, &have, err))
        || (rc = jwk_bytes(w, jwk, "e", true, &e, &have, err)))
        goto out;
    if (n.data[0] == 0 || e.data[0] == 0) {
        rc = fail(err, JOSE_MALFORMED,
                  "%s/%s: leading zero octet (RFC 7518 requires the minimal encoding)", w->base,
                  n.data[0] == 0 ? "n" : "e");
        goto out;
    }
    bits = bit_length((const unsigned char *)n.data, n.len);
    if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
        rc = fail(err, JOSE_BAD_KEY, "%s/n: a %zu-bit modulus; %d to %d bits are allowed",
                  w->base, bits, JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
        goto out;
    }
    if (!(n.data[n.len - 1] & 1)) {
        rc = fail(err, JOSE_BAD_KEY, "%s/n: an even modulus is not an RSA modulus", w->base);
        goto out;
    }
    if (!(e.data[e.len - 1] & 1) || (e.len == 1 && (unsigned char)e.data[0] == 1)) {
        rc = fail(err, JOSE_BAD_KEY, "%s/e: the exponent must be odd and greater than 1",
                  w->base);
        goto out;
    }
    if (e.len > n.len || (e.len == n.len && memcmp(e.data, n.data, n.len) >= 0)) {
        rc = fail(err, JOSE_BAD_KEY, "%s/e: not smaller than the modulus", w->base);
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(jwk, "oth")) {
        rc = fail(err, JOSE_UNSUPPORTED, "%s/oth: multi-prime RSA keys are not supported",
                  w->base);
        goto out;
    }
    for (i = 0; i < RSA_NPRIV; i++) {
        if ((rc = jwk_bytes(w, jwk, rsa_private_names[i], false, &priv[i], &present[i], err)))
            goto out;
        if (i > 0 && present[i])
            nfactors++;
    }
    if (nfactors && !present[0]) {
        rc = fail(err, JOSE_MALFORMED, "%s: RSA private members without 'd'", w->whole);
        goto out;
    }
    if (nfactors && nfactors != RSA_NPRIV - 1) {
        rc = fail(err, JOSE_MALFORMED,
                  "%s: an RSA private key needs all of p, q, dp, dq, qi or none of them",
                  w->whole);
        goto out;
    }
    if (!(bld = OSSL_PARAM_BLD_new()))
        crypto_fatal("OSSL_PARAM_BLD_new");
    push_bn(bld, OSSL_PKEY_PARAM_RSA_N, &n, &bns[0]);
    push_bn(bld, OSSL_PKEY_PARAM_RSA_E, &e, &bns[1]);
    for (i = 0; i < RSA_NPRIV; i++) {
        if (present[i])
            push_bn(bld, rsa_private_params[i], &priv[i], &bns[2 + i]);
    }
    *has_private = present[0];
    *out = pkey_fromdata("RSA", bld, *has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    if (!*out)
        rc = fail(err, JOSE_BAD_KEY, "%s: libcrypto refuses the RSA key", w->whole);
out:
    ERR_clear_error();
    OSSL_PARAM_BLD_free(bld);
    for (i = 0; i < 2 + RSA_NPRIV; i++)
        BN_clear_free(bns[i]);
    for (i = 0; i < RSA_NPRIV; i++) {
        if (priv[i].data)
            OPENSSL_cleanse(priv[i].data, priv[i].len);
        buf_release(&priv[i]);
    }
    buf_release(&n);
    buf_release(&e);
    return rc;
}

static enum jose_err ec_from_jwk(const struct where *w, const cJSON *jwk, EVP_PKEY **out,
                                 bool *has_private, struct buf *err)
{
    struct buf x = BUF_INIT, y = BUF_INIT, d = BUF_INIT;
    unsigned char point[65];
    const char *crv, *bad = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY_CTX *check = NULL;
    BIGNUM *dbn = NULL;
    struct quoted q;
    enum jose_err rc;
    bool have;

    *out = NULL;
    *has_private = false;
    if ((rc = jwk_string(w, jwk, "crv", &crv, err)))
        goto out;
    if (!crv) {
        rc = fail(err, JOSE_MALFORMED, "%s: no 'crv' member", w->whole);
        goto out;
    }
    if (strcmp(crv, "P-256") != 0) {
        rc = fail(err, JOSE_UNSUPPORTED, "%s/crv: %s is not supported (P-256 only)", w->base,
                  quote(&q, crv));
        goto out;
    }
    if ((rc = jwk_bytes(w, jwk, "x", true, &x, &have, err))
        || (rc = jwk_bytes(w, jwk, "y", true, &y, &have, err))
        || (rc = jwk_bytes(w, jwk, "d", false, &d, has_private, err)))
        goto out;
    bad = x.len != 32 ? "x" : y.len != 32 ? "y" : *has_private && d.len != 32 ? "d" : NULL;
    if (bad) {
        rc = fail(err, JOSE_BAD_KEY, "%s/%s: %zu bytes; P-256 needs 32", w->base, bad,
                  bad[0] == 'x' ? x.len : bad[0] == 'y' ? y.len : d.len);
        goto out;
    }
    point[0] = 0x04;
    memcpy(point + 1, x.data, 32);
    memcpy(point + 33, y.data, 32);
    if (!(bld = OSSL_PARAM_BLD_new())
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
        crypto_fatal("building key parameters");
    if (*has_private)
        push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, &d, &dbn);
    *out = pkey_fromdata("EC", bld, *has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    if (*out) {
        check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
        if (!check || EVP_PKEY_public_check(check) != 1) {
            EVP_PKEY_free(*out);
            *out = NULL;
        }
    }
    if (!*out)
        rc = fail(err, JOSE_BAD_KEY, "%s: (x, y) is not a point on P-256", w->whole);
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(check);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(dbn);
    if (d.data)
        OPENSSL_cleanse(d.data, d.len);
    buf_release(&d);
    buf_release(&x);
    buf_release(&y);
    return rc;
}

/* An alg of the same family as the key type (RS384 on RSA) is merely unsupported; one
 * of another family (ES256 on RSA) contradicts the key. */
static bool alg_in_family(const char *alg, bool ec)
{
    if (ec)
        return strncmp(alg, "ES", 2) == 0 || strncmp(alg, "ECDH", 4) == 0;
    return strncmp(alg, "RS", 2) == 0 || strncmp(alg, "PS", 2) == 0;
}

static enum jose_err jwk_parse_at(const struct where *w, const cJSON *jwk,
                                  struct jose_key **out, struct buf *err)
{
    const char *kty, *kid, *use, *alg, *want;
    const cJSON *ops;
    EVP_PKEY *pkey = NULL;
    bool ec, has_private;
    struct quoted q;
    enum jose_err rc;

    *out = NULL;
    if (!cJSON_IsObject(jwk))
        return fail(err, JOSE_MALFORMED, "%s: %s, not a JSON object", w->whole, json_type(jwk));
    if ((rc = jwk_string(w, jwk, "kty", &kty, err)) || (rc = jwk_string(w, jwk, "kid", &kid, err))
        || (rc = jwk_string(w, jwk, "use", &use, err))
        || (rc = jwk_string(w, jwk, "alg", &alg, err)))
        return rc;
    if (!kty)
        return fail(err, JOSE_MALFORMED, "%s: no 'kty' member", w->whole);
    if (kid && !*kid)
        return fail(err, JOSE_MALFORMED, "%s/kid: empty", w->base);
    if (strcmp(kty, "RSA") == 0) {
        ec = false;
        want = alg_rs256;
    } else if (strcmp(kty, "EC") == 0) {
        ec = true;
        want = alg_es256;
    } else if (strcmp(kty, "oct") == 0) {
        return fail(err, JOSE_UNSUPPORTED,
                    "%s/kty: 'oct' (a shared secret) is not supported; RSA and EC keys only",
                    w->base);
    } else {
        return fail(err, JOSE_UNSUPPORTED, "%s/kty: %s is not supported; RSA and EC keys only",
                    w->base, quote(&q, kty));
    }
    if (use && strcmp(use, "sig") != 0)
        return fail(err, JOSE_UNSUPPORTED, "%s/use: %s; only 'sig' keys verify signatures",
                    w->base, quote(&q, use));
    if ((ops = cJSON_GetObjectItemCaseSensitive(jwk, "key_ops"))) {
        const cJSON *op;
        bool verify = false;

        if (!cJSON_IsArray(ops))
            return fail(err, JOSE_MALFORMED, "%s/key_ops: %s, not an array", w->base,
                        json_type(ops));
        cJSON_ArrayForEach(op, ops) {
            if (!cJSON_IsString(op))
                return fail(err, JOSE_MALFORMED, "%s/key_ops: holds %s, not only strings",
                            w->base, json_type(op));
            verify = verify || strcmp(op->valuestring, "verify") == 0;
        }
        if (!verify)
            return fail(err, JOSE_UNSUPPORTED, "%s/key_ops: no 'verify'", w->base);
    }
    if (alg && strcmp(alg, want) != 0) {
        if (alg_in_family(alg, ec))
            return fail(err, JOSE_UNSUPPORTED, "%s/alg: %s is not supported (%s only for %s keys)",
                        w->base, quote(&q, alg), want, kty);
        return fail(err, JOSE_BAD_KEY, "%s/alg: %s does not fit an %s key (which is for %s)",
                    w->base, quote(&q, alg), kty, want);
    }
    rc = ec ? ec_from_jwk(w, jwk, &pkey, &has_private, err)
            : rsa_from_jwk(w, jwk, &pkey, &has_private, err);
    if (rc)
        return rc;
    if (has_private && !key_pair_matches(pkey, ec)) {
        EVP_PKEY_free(pkey);
        return fail(err, JOSE_BAD_KEY, "%s/d: the private key does not match the public key",
                    w->base);
    }
    *out = key_new(pkey, want, kid, has_private, false);
    return JOSE_OK;
}

enum jose_err jose_jwk_parse(const cJSON *jwk, struct jose_key **out, struct buf *err)
{
    struct where w;

    where_init(&w, "jwk", 0, false);
    return jwk_parse_at(&w, jwk, out, err);
}

enum jose_err jose_key_generate(const char *alg, const char *kid, struct jose_key **out,
                                struct buf *err)
{
    EVP_PKEY *pkey;
    struct quoted q;

    *out = NULL;
    if (alg && strcmp(alg, alg_rs256) == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)JOSE_RSA_MIN_BITS);
    else if (alg && strcmp(alg, alg_es256) == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        return fail(err, JOSE_UNSUPPORTED, "cannot generate a key for alg %s (RS256 or ES256)",
                    quote(&q, alg));
    if (!pkey)
        return crypto_fail(err, "key generation failed");
    *out = key_new(pkey, strcmp(alg, alg_rs256) == 0 ? alg_rs256 : alg_es256, kid, true, true);
    return JOSE_OK;
}

/* Append the base64url of a public number of the key ("n", "e", "x" or "y") to out. */
static void add_public_member(const struct jose_key *key, const char *name, struct buf *out)
{
    const char *param = strcmp(name, "n") == 0   ? OSSL_PKEY_PARAM_RSA_N
                        : strcmp(name, "e") == 0 ? OSSL_PKEY_PARAM_RSA_E
                        : strcmp(name, "x") == 0 ? OSSL_PKEY_PARAM_EC_PUB_X
                                                 : OSSL_PKEY_PARAM_EC_PUB_Y;
    BIGNUM *bn = NULL;
    unsigned char *bytes;
    int len;

    if (!EVP_PKEY_get_bn_param(key->pkey, param, &bn))
        crypto_fatal("reading a public key parameter");
    len = is_es256(key) ? 32 : BN_num_bytes(bn);
    bytes = xmalloc((size_t)len);
    if (BN_bn2binpad(bn, bytes, len) != len)
        crypto_fatal("encoding a public key parameter");
    base64url_encode(out, bytes, (size_t)len);
    free(bytes);
    BN_free(bn);
}

static void jwk_add_member(cJSON *jwk, const struct jose_key *key, const char *name)
{
    struct buf b = BUF_INIT;

    add_public_member(key, name, &b);
    cJSON_AddStringToObject(jwk, name, buf_cstr(&b));
    buf_release(&b);
}

cJSON *jose_key_to_jwk(const struct jose_key *key)
{
    cJSON *jwk = cJSON_CreateObject();

    cJSON_AddStringToObject(jwk, "kty", is_es256(key) ? "EC" : "RSA");
    if (key->kid)
        cJSON_AddStringToObject(jwk, "kid", key->kid);
    cJSON_AddStringToObject(jwk, "alg", key->alg);
    cJSON_AddStringToObject(jwk, "use", "sig");
    if (is_es256(key)) {
        cJSON_AddStringToObject(jwk, "crv", "P-256");
        jwk_add_member(jwk, key, "x");
        jwk_add_member(jwk, key, "y");
    } else {
        jwk_add_member(jwk, key, "n");
        jwk_add_member(jwk, key, "e");
    }
    return jwk;
}

void jose_key_thumbprint(const struct jose_key *key, struct buf *out)
{
    struct buf json = BUF_INIT;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    /* RFC 7638: the required members only, in lexicographic order, no whitespace. */
    if (is_es256(key)) {
        buf_addstr(&json, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"");
        add_public_member(key, "x", &json);
        buf_addstr(&json, "\",\"y\":\"");
        add_public_member(key, "y", &json);
    } else {
        buf_addstr(&json, "{\"e\":\"");
        add_public_member(key, "e", &json);
        buf_addstr(&json, "\",\"kty\":\"RSA\",\"n\":\"");
        add_public_member(key, "n", &json);
    }
    buf_addstr(&json, "\"}");
    if (!EVP_Digest(json.data, json.len, md, &mdlen, EVP_sha256(), NULL))
        crypto_fatal("SHA-256");
    base64url_encode(out, md, mdlen);
    buf_release(&json);
}

static char *bio_detach(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *text = xstrndup(data ? data : "", n > 0 ? (size_t)n : 0);

    BIO_free(bio);
    return text;
}

char *jose_key_private_pem(const struct jose_key *key)
{
    BIO *bio;

    if (!key->has_private)
        return NULL;
    if (!(bio = BIO_new(BIO_s_mem()))
        || !PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL))
        crypto_fatal("writing a private key PEM");
    return bio_detach(bio);
}

char *jose_key_public_pem(const struct jose_key *key)
{
    BIO *bio;

    if (!(bio = BIO_new(BIO_s_mem())) || !PEM_write_bio_PUBKEY(bio, key->pkey))
        crypto_fatal("writing a public key PEM");
    return bio_detach(bio);
}

/* Refuse to prompt for a pass phrase: an encrypted key simply fails to load. */
static int no_pass_phrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static bool read_file(const char *path, struct buf *out, int *errnum)
{
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    size_t n;
    bool ok;

    if (!f) {
        *errnum = errno;
        return false;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    ok = !ferror(f);
    fclose(f);
    if (!ok)
        *errnum = EIO;
    return ok;
}

enum jose_err jose_key_load_pem(const char *pem, const char *alg, const char *kid,
                                struct jose_key **out, struct buf *err)
{
    struct buf text = BUF_INIT;
    const char *p = pem, *key_alg = NULL, *name;
    struct quoted qn, qa;
    EVP_PKEY *pkey = NULL;
    bool has_private = true;
    enum jose_err rc = JOSE_OK;
    BIO *bio = NULL;
    int errnum = 0;

    *out = NULL;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (str_startswith(p, "-----BEGIN")) {
        buf_addstr(&text, p);
        name = "PEM text";
    } else {
        name = quote(&qn, pem);
        if (!read_file(pem, &text, &errnum)) {
            rc = fail(err, JOSE_IO, "cannot read %s: %s", name, strerror(errnum));
            goto out;
        }
    }
    if (text.len > 1024 * 1024) {
        rc = fail(err, JOSE_TOO_LARGE, "%s: over 1 MiB, not a key", name);
        goto out;
    }
    if (!(bio = BIO_new_mem_buf(buf_cstr(&text), (int)text.len)))
        crypto_fatal("BIO_new_mem_buf");
    pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_pass_phrase, NULL, NULL, NULL);
    if (!pkey) {
        BIO_free(bio);
        if (!(bio = BIO_new_mem_buf(buf_cstr(&text), (int)text.len)))
            crypto_fatal("BIO_new_mem_buf");
        pkey = PEM_read_bio_PUBKEY_ex(bio, NULL, NULL, NULL, NULL, NULL);
        has_private = false;
    }
    ERR_clear_error();
    if (!pkey) {
        rc = fail(err, JOSE_BAD_KEY,
                  "%s: no private or public key PEM that can be read (encrypted keys are not "
                  "supported)", name);
        goto out;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);

        if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
            rc = fail(err, JOSE_BAD_KEY, "%s: a %d-bit RSA key; %d to %d bits are allowed", name,
                      bits, JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
            goto out;
        }
        key_alg = alg_rs256;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";

        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof(group), NULL)
            || (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
            rc = fail(err, JOSE_BAD_KEY, "%s: an EC key on %s; only P-256 is supported", name,
                      quote(&qa, group));
            goto out;
        }
        key_alg = alg_es256;
    } else {
        rc = fail(err, JOSE_BAD_KEY, "%s: a %s key; only RSA and EC P-256 keys are supported",
                  name, quote(&qa, EVP_PKEY_get0_type_name(pkey)));
        goto out;
    }
    if (alg && strcmp(alg, key_alg) != 0) {
        rc = fail(err, JOSE_BAD_KEY, "%s: holds a key for %s, not %s", name, key_alg,
                  quote(&qa, alg));
        goto out;
    }
    *out = key_new(pkey, key_alg, kid, has_private, true);
    pkey = NULL;
out:
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    if (text.data)
        OPENSSL_cleanse(text.data, text.len);
    buf_release(&text);
    return rc;
}

/* ------------------------------------------------------------------ key sets */

void jose_jwks_init(struct jose_jwks *set)
{
    set->keys = NULL;
    set->nkeys = 0;
    set->warnings = NULL;
    set->nwarnings = 0;
}

void jose_jwks_release(struct jose_jwks *set)
{
    size_t i;

    for (i = 0; i < set->nkeys; i++)
        jose_key_free(set->keys[i]);
    for (i = 0; i < set->nwarnings; i++)
        free(set->warnings[i]);
    free(set->keys);
    free(set->warnings);
    jose_jwks_init(set);
}

const struct jose_key *jose_jwks_find(const struct jose_jwks *set, const char *kid)
{
    size_t i;

    for (i = 0; kid && i < set->nkeys; i++) {
        if (set->keys[i]->kid && strcmp(set->keys[i]->kid, kid) == 0)
            return set->keys[i];
    }
    return NULL;
}

size_t jose_jwks_count(const struct jose_jwks *set)
{
    return set->nkeys;
}

enum jose_err jose_jwks_add(struct jose_jwks *set, struct jose_key *key, struct buf *err)
{
    struct quoted q;

    if (key->kid && jose_jwks_find(set, key->kid)) {
        enum jose_err rc = fail(err, JOSE_DUPLICATE_KID, "two keys with kid %s",
                                quote(&q, key->kid));

        jose_key_free(key);
        return rc;
    }
    set->keys = xrealloc(set->keys, (set->nkeys + 1) * sizeof(*set->keys));
    set->keys[set->nkeys++] = key;
    return JOSE_OK;
}

enum jose_err jose_jwks_parse(const char *json, size_t len, struct jose_jwks *set,
                              struct buf *err)
{
    const cJSON *keys, *jwk;
    cJSON *doc = NULL;
    enum jose_err rc;
    size_t index = 0;

    if (len > JOSE_MAX_JWKS)
        return fail(err, JOSE_TOO_LARGE, "jwks: %zu bytes, over the %d-byte limit", len,
                    JOSE_MAX_JWKS);
    if ((rc = json_parse("jwks", json, len, &doc, err)))
        return rc;
    keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
    if (!cJSON_IsObject(doc) || !keys) {
        rc = fail(err, JOSE_MALFORMED, "jwks: no 'keys' member");
        goto out;
    }
    if (!cJSON_IsArray(keys)) {
        rc = fail(err, JOSE_MALFORMED, "jwks /keys: %s, not an array", json_type(keys));
        goto out;
    }
    cJSON_ArrayForEach(jwk, keys) {
        struct buf msg = BUF_INIT;
        struct jose_key *key;
        struct where w;
        struct quoted q;

        where_init(&w, "jwks", index, true);
        rc = jwk_parse_at(&w, jwk, &key, &msg);
        if (rc == JOSE_UNSUPPORTED) {
            const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");

            if (cJSON_IsString(kid))
                buf_addf(&msg, " (kid %s)", quote(&q, kid->valuestring));
            buf_addstr(&msg, "; skipped");
            set->warnings = xrealloc(set->warnings, (set->nwarnings + 1) * sizeof(char *));
            set->warnings[set->nwarnings++] = buf_detach(&msg, NULL);
            rc = JOSE_OK;
        } else if (rc) {
            if (err)
                buf_add(err, msg.data, msg.len);
            buf_release(&msg);
            goto out;
        } else if (key->kid && jose_jwks_find(set, key->kid)) {
            rc = fail(err, JOSE_DUPLICATE_KID, "%s/kid: %s is also the kid of another key",
                      w.base, quote(&q, key->kid));
            jose_key_free(key);
            goto out;
        } else {
            jose_jwks_add(set, key, NULL);
        }
        buf_release(&msg);
        index++;
    }
out:
    if (rc)
        jose_jwks_release(set);
    cJSON_Delete(doc);
    return rc;
}

cJSON *jose_jwks_to_json(const struct jose_jwks *set)
{
    cJSON *doc = cJSON_CreateObject(), *keys = cJSON_AddArrayToObject(doc, "keys");
    size_t i;

    for (i = 0; i < set->nkeys; i++)
        cJSON_AddItemToArray(keys, jose_key_to_jwk(set->keys[i]));
    return doc;
}

/* ------------------------------------------------------------------ tokens */

void jose_jwt_init(struct jose_jwt *jwt)
{
    jwt->header = NULL;
    jwt->claims = NULL;
    jwt->alg = NULL;
    jwt->typ = NULL;
    jwt->kid = NULL;
    buf_init(&jwt->signing_input);
    buf_init(&jwt->signature);
}

void jose_jwt_release(struct jose_jwt *jwt)
{
    cJSON_Delete(jwt->header);
    cJSON_Delete(jwt->claims);
    buf_release(&jwt->signing_input);
    buf_release(&jwt->signature);
    jose_jwt_init(jwt);
}

/* The optional string header member name; JOSE_MALFORMED when it is another type. */
static enum jose_err header_string(const cJSON *header, const char *name, const char **out,
                                   struct buf *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(header, name);

    *out = NULL;
    if (!m)
        return JOSE_OK;
    if (!cJSON_IsString(m))
        return fail(err, JOSE_MALFORMED, "header /%s: %s, not a string", name, json_type(m));
    *out = m->valuestring;
    return JOSE_OK;
}

enum jose_err jose_jwt_decode(const char *token, struct jose_jwt *jwt, struct buf *err)
{
    const char *dot[2] = { NULL, NULL }, *h, *p, *s;
    size_t len, ndots = 0, i, hlen, plen, slen;
    struct buf raw = BUF_INIT;
    enum jose_err rc;

    if (!token || !*token)
        return fail(err, JOSE_MALFORMED, "empty token");
    len = strlen(token);
    if (len > JOSE_MAX_TOKEN)
        return fail(err, JOSE_TOO_LARGE, "token is %zu bytes, over the %d-byte limit", len,
                    JOSE_MAX_TOKEN);
    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots < 2)
                dot[ndots] = token + i;
            ndots++;
        }
    }
    if (ndots == 4)
        return fail(err, JOSE_MALFORMED, "a JWE (5 parts), not a signed JWT");
    if (ndots == 0)
        return fail(err, JOSE_MALFORMED,
                    "not a compact JWS: no '.' (expected header.payload.signature)");
    if (ndots != 2)
        return fail(err, JOSE_MALFORMED, "token has %zu parts, expected 3 "
                    "(header.payload.signature)", ndots + 1);
    h = token;
    hlen = (size_t)(dot[0] - token);
    p = dot[0] + 1;
    plen = (size_t)(dot[1] - p);
    s = dot[1] + 1;
    slen = (size_t)(token + len - s);

    if (hlen == 0) {
        rc = fail(err, JOSE_MALFORMED, "header: empty part");
        goto out;
    }
    if ((rc = b64url_field("header", h, hlen, &raw, err)))
        goto out;
    if (raw.len > JOSE_MAX_HEADER) {
        rc = fail(err, JOSE_TOO_LARGE, "header: %zu bytes, over the %d-byte limit", raw.len,
                  JOSE_MAX_HEADER);
        goto out;
    }
    if ((rc = json_parse("header", buf_cstr(&raw), raw.len, &jwt->header, err)))
        goto out;
    if (!cJSON_IsObject(jwt->header)) {
        rc = fail(err, JOSE_MALFORMED, "header: %s, not a JSON object",
                  json_type(jwt->header));
        goto out;
    }
    if ((rc = header_string(jwt->header, "alg", &jwt->alg, err))
        || (rc = header_string(jwt->header, "typ", &jwt->typ, err))
        || (rc = header_string(jwt->header, "kid", &jwt->kid, err)))
        goto out;
    if (!jwt->alg) {
        rc = fail(err, JOSE_MALFORMED, "header: no 'alg' member");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(jwt->header, "crit")) {
        rc = fail(err, JOSE_UNSUPPORTED,
                  "header /crit: no critical extension is understood, so the token must be "
                  "refused (RFC 7515 section 4.1.11)");
        goto out;
    }

    buf_reset(&raw);
    if (plen == 0) {
        rc = fail(err, JOSE_MALFORMED, "payload: empty part (a JWT's claims are a JSON object)");
        goto out;
    }
    if ((rc = b64url_field("payload", p, plen, &raw, err))
        || (rc = json_parse("claims", buf_cstr(&raw), raw.len, &jwt->claims, err)))
        goto out;
    if (!cJSON_IsObject(jwt->claims)) {
        rc = fail(err, JOSE_MALFORMED, "claims: %s, not a JSON object", json_type(jwt->claims));
        goto out;
    }
    if ((rc = b64url_field("signature", s, slen, &jwt->signature, err)))
        goto out;
    buf_add(&jwt->signing_input, token, (size_t)(dot[1] - token));
out:
    buf_release(&raw);
    if (rc)
        jose_jwt_release(jwt);
    return rc;
}

static enum jose_err alg_refused(const struct jose_jwt *jwt, const struct jose_key *key,
                                 struct buf *err)
{
    struct quoted qa, qk;
    const char *alg = quote(&qa, jwt->alg), *name = key_name(&qk, key);

    if (strcasecmp(jwt->alg, "none") == 0)
        return fail(err, JOSE_ALG_NOT_ALLOWED,
                    "alg %s: an unsigned token is never accepted (%s is for %s)", alg, name,
                    key->alg);
    if (strncmp(jwt->alg, "HS", 2) == 0)
        return fail(err, JOSE_ALG_NOT_ALLOWED,
                    "alg %s: an HMAC alg with the public %s is the key-confusion attack; "
                    "it allows only %s", alg, name, key->alg);
    return fail(err, JOSE_ALG_NOT_ALLOWED, "alg %s does not match %s, which allows only %s",
                alg, name, key->alg);
}

enum jose_err jose_jwt_verify(const struct jose_jwt *jwt, const struct jose_key *key,
                              struct buf *err)
{
    const unsigned char *sig = (const unsigned char *)jwt->signature.data;
    size_t siglen = jwt->signature.len;
    struct quoted q;

    if (!jwt->alg || !jwt->signing_input.data)
        return fail(err, JOSE_MALFORMED, "no decoded token to verify");
    if (strcmp(jwt->alg, key->alg) != 0)
        return alg_refused(jwt, key, err);
    if (is_es256(key)) {
        if (siglen != 64)
            return fail(err, JOSE_BAD_SIGNATURE,
                        "ES256 signature is %zu bytes, expected 64 (r||s)%s", siglen,
                        siglen > 8 && sig[0] == 0x30 && sig[1] == siglen - 2
                            ? "; it is DER-encoded, which JOSE does not use" : "");
    } else {
        size_t want = (size_t)EVP_PKEY_get_size(key->pkey);

        if (siglen != want)
            return fail(err, JOSE_BAD_SIGNATURE,
                        "RS256 signature is %zu bytes; %s signs with %zu", siglen,
                        key_name(&q, key), want);
    }
    if (!verify_bytes(key->pkey, is_es256(key), jwt->signing_input.data, jwt->signing_input.len,
                      sig, siglen))
        return fail(err, JOSE_BAD_SIGNATURE, "signature does not verify with %s (%s)",
                    key_name(&q, key), key->alg);
    return JOSE_OK;
}

enum jose_err jose_jwks_select(const struct jose_jwks *set, const struct jose_jwt *jwt,
                               const struct jose_key **out, struct buf *err)
{
    struct quoted q;
    size_t i;

    *out = NULL;
    if (!jwt->kid) {
        if (set->nkeys == 1) {
            *out = set->keys[0];
            return JOSE_OK;
        }
        return fail(err, JOSE_UNKNOWN_KID, "the token has no kid and the JWKS holds %zu keys",
                    set->nkeys);
    }
    if ((*out = jose_jwks_find(set, jwt->kid)))
        return JOSE_OK;
    fail(err, JOSE_UNKNOWN_KID, "no key with kid %s in the JWKS", quote(&q, jwt->kid));
    for (i = 0; err && i < set->nkeys && i < 8; i++) {
        const char *kid = set->keys[i]->kid;

        buf_addstr(err, i == 0 ? " (it holds " : ", ");
        buf_addstr(err, kid ? quote(&q, kid) : "a key without kid");
    }
    if (err && set->nkeys)
        buf_addstr(err, set->nkeys > 8 ? ", ...)" : ")");
    return JOSE_UNKNOWN_KID;
}

enum jose_err jose_jws_sign_raw(const void *header, size_t header_len, const void *payload,
                                size_t payload_len, const struct jose_key *key, char **token,
                                struct buf *err)
{
    struct buf t = BUF_INIT, sig = BUF_INIT;
    struct quoted q;

    *token = NULL;
    if (!key->has_private)
        return fail(err, JOSE_BAD_KEY, "%s has no private part: it cannot sign",
                    key_name(&q, key));
    base64url_encode(&t, header, header_len);
    buf_addch(&t, '.');
    base64url_encode(&t, payload, payload_len);
    if (!sign_bytes(key->pkey, is_es256(key), t.data, t.len, &sig)) {
        buf_release(&t);
        return crypto_fail(err, "signing failed");
    }
    buf_addch(&t, '.');
    base64url_encode(&t, sig.data, sig.len);
    buf_release(&sig);
    *token = buf_detach(&t, NULL);
    return JOSE_OK;
}

/* Sign the printed forms of header and claims. */
static enum jose_err sign_json(const cJSON *header, const cJSON *claims,
                               const struct jose_key *key, char **token, struct buf *err)
{
    char *h = cJSON_PrintUnformatted(header), *p = cJSON_PrintUnformatted(claims);
    enum jose_err rc = jose_jws_sign_raw(h, strlen(h), p, strlen(p), key, token, err);

    cJSON_free(h);
    cJSON_free(p);
    return rc;
}

enum jose_err jose_jwt_sign(const cJSON *header, const cJSON *claims,
                            const struct jose_key *key, char **token, struct buf *err)
{
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg"), *m;
    struct quoted q;
    enum jose_err rc;
    cJSON *h;

    *token = NULL;
    if (!cJSON_IsObject(claims))
        return fail(err, JOSE_MALFORMED, "claims: %s, not a JSON object", json_type(claims));
    if (header && !cJSON_IsObject(header))
        return fail(err, JOSE_MALFORMED, "header: %s, not a JSON object", json_type(header));
    if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, key->alg) != 0))
        return fail(err, JOSE_ALG_NOT_ALLOWED, "header alg %s is not the key's alg %s",
                    cJSON_IsString(alg) ? quote(&q, alg->valuestring) : json_type(alg),
                    key->alg);
    h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "alg", key->alg);
    if ((m = cJSON_GetObjectItemCaseSensitive(header, "typ")))
        cJSON_AddItemToObject(h, "typ", cJSON_Duplicate(m, true));
    else
        cJSON_AddStringToObject(h, "typ", "JWT");
    if ((m = cJSON_GetObjectItemCaseSensitive(header, "kid")))
        cJSON_AddItemToObject(h, "kid", cJSON_Duplicate(m, true));
    else if (key->kid)
        cJSON_AddStringToObject(h, "kid", key->kid);
    cJSON_ArrayForEach(m, header) {
        if (strcmp(m->string, "alg") != 0 && strcmp(m->string, "typ") != 0
            && strcmp(m->string, "kid") != 0)
            cJSON_AddItemToObject(h, m->string, cJSON_Duplicate(m, true));
    }
    rc = sign_json(h, claims, key, token, err);
    cJSON_Delete(h);
    return rc;
}

/* ------------------------------------------------------------------ broken tokens */

static cJSON *mint_header(const char *alg, const char *kid)
{
    cJSON *h = cJSON_CreateObject();

    cJSON_AddStringToObject(h, "alg", alg);
    cJSON_AddStringToObject(h, "typ", "JWT");
    if (kid)
        cJSON_AddStringToObject(h, "kid", kid);
    return h;
}

/* base64url(header) "." base64url(claims or {}) into t. */
static void mint_signing_input(const cJSON *header, const cJSON *claims, struct buf *t)
{
    char *h = cJSON_PrintUnformatted(header);
    char *p = claims ? cJSON_PrintUnformatted(claims) : NULL;

    base64url_encode(t, h, strlen(h));
    buf_addch(t, '.');
    if (p)
        base64url_encode(t, p, strlen(p));
    else
        base64url_encode(t, "{}", 2);
    cJSON_free(h);
    cJSON_free(p);
}

char *jose_mint_alg_none(const char *alg, const char *kid, const cJSON *claims)
{
    cJSON *h = mint_header(alg, kid);
    struct buf t = BUF_INIT;

    mint_signing_input(h, claims, &t);
    buf_addch(&t, '.');
    cJSON_Delete(h);
    return buf_detach(&t, NULL);
}

enum jose_err jose_mint_hs256_confusion(const cJSON *claims, const struct jose_key *key,
                                        char **token, struct buf *err)
{
    char *pem = jose_key_public_pem(key);
    cJSON *h = mint_header("HS256", key->kid);
    unsigned char mac[EVP_MAX_MD_SIZE];
    struct buf t = BUF_INIT;
    size_t maclen = 0;

    *token = NULL;
    mint_signing_input(h, claims, &t);
    cJSON_Delete(h);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, strlen(pem),
                   (const unsigned char *)t.data, t.len, mac, sizeof(mac), &maclen)) {
        free(pem);
        buf_release(&t);
        return crypto_fail(err, "HMAC-SHA256 failed");
    }
    free(pem);
    buf_addch(&t, '.');
    base64url_encode(&t, mac, maclen);
    *token = buf_detach(&t, NULL);
    return JOSE_OK;
}

enum jose_err jose_mint_alg_mismatch(const char *alg, const cJSON *claims,
                                     const struct jose_key *key, char **token,
                                     struct buf *err)
{
    cJSON *h = mint_header(alg, key->kid);
    cJSON *empty = claims ? NULL : cJSON_CreateObject();
    enum jose_err rc = sign_json(h, claims ? claims : empty, key, token, err);

    cJSON_Delete(h);
    cJSON_Delete(empty);
    return rc;
}

char *jose_mint_bad_base64url(const char *token, int part, char bad)
{
    const char *start = token, *end;
    struct buf t = BUF_INIT;
    size_t len;
    int i;

    if (part < 0)
        return NULL;
    for (i = 0; i < part; i++) {
        if (!(start = strchr(start, '.')))
            return NULL;
        start++;
    }
    end = strchr(start, '.');
    len = end ? (size_t)(end - start) : strlen(start);
    buf_add(&t, token, (size_t)(start - token));
    if (bad == '=') {
        size_t padded = len;

        buf_add(&t, start, len);
        do
            buf_addch(&t, '=');
        while (++padded % 4 != 0);
    } else if (len == 0) {
        buf_addch(&t, bad);
    } else {
        buf_add(&t, start, len);
        t.data[(size_t)(start - token) + len / 2] = bad;
    }
    buf_addstr(&t, start + len);
    return buf_detach(&t, NULL);
}

char *jose_mint_jwe_shaped(void)
{
    static const char header[] = "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}";
    static const size_t sizes[] = { 256, 12, 48, 16 }; /* key, iv, ciphertext, tag */
    unsigned char bytes[256];
    struct buf t = BUF_INIT;
    size_t i, j;

    base64url_encode(&t, header, sizeof(header) - 1);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (j = 0; j < sizes[i]; j++)
            bytes[j] = (unsigned char)(j * 37 + i * 11 + 5);
        buf_addch(&t, '.');
        base64url_encode(&t, bytes, sizes[i]);
    }
    return buf_detach(&t, NULL);
}

/* ------------------------------------------------------------------ claims */

static const cJSON *claim(const struct jose_jwt *jwt, const char *name)
{
    return jwt->claims ? cJSON_GetObjectItemCaseSensitive(jwt->claims, name) : NULL;
}

enum jose_err jose_claim_string(const struct jose_jwt *jwt, const char *name,
                                const char **out, struct buf *err)
{
    const cJSON *c = claim(jwt, name);
    struct quoted q;

    *out = NULL;
    if (!c)
        return fail(err, JOSE_MISSING_CLAIM, "no %s claim", quote(&q, name));
    if (!cJSON_IsString(c))
        return fail(err, JOSE_BAD_CLAIM, "claim %s is %s, expected a string", quote(&q, name),
                    json_type(c));
    *out = c->valuestring;
    return JOSE_OK;
}

enum jose_err jose_claim_number(const struct jose_jwt *jwt, const char *name, double *out,
                                struct buf *err)
{
    const cJSON *c = claim(jwt, name);
    struct quoted q;
    double v;

    *out = 0;
    if (!c)
        return fail(err, JOSE_MISSING_CLAIM, "no %s claim", quote(&q, name));
    if (!cJSON_IsNumber(c))
        return fail(err, JOSE_BAD_CLAIM, "claim %s is %s, expected a number", quote(&q, name),
                    json_type(c));
    v = c->valuedouble;
    if (!(v > -1e300 && v < 1e300))
        return fail(err, JOSE_BAD_CLAIM, "claim %s is not a finite number", quote(&q, name));
    *out = v;
    return JOSE_OK;
}

enum jose_err jose_claim_aud_contains(const struct jose_jwt *jwt, const char *audience,
                                      struct buf *err)
{
    const cJSON *aud = claim(jwt, "aud"), *a;
    struct quoted q, qe;
    size_t n = 0;

    if (!aud)
        return fail(err, JOSE_MISSING_CLAIM, "no 'aud' claim; expected %s", quote(&qe, audience));
    if (cJSON_IsString(aud)) {
        if (strcmp(aud->valuestring, audience) == 0)
            return JOSE_OK;
        return fail(err, JOSE_BAD_AUDIENCE, "audience %s is not the expected %s",
                    quote(&q, aud->valuestring), quote(&qe, audience));
    }
    if (!cJSON_IsArray(aud))
        return fail(err, JOSE_BAD_CLAIM, "claim 'aud' is %s, expected a string or an array",
                    json_type(aud));
    cJSON_ArrayForEach(a, aud) {
        if (!cJSON_IsString(a))
            return fail(err, JOSE_BAD_CLAIM, "claim 'aud' holds %s, expected only strings",
                        json_type(a));
    }
    cJSON_ArrayForEach(a, aud) {
        if (strcmp(a->valuestring, audience) == 0)
            return JOSE_OK;
    }
    fail(err, JOSE_BAD_AUDIENCE, "audience [");
    cJSON_ArrayForEach(a, aud) {
        if (!err)
            break;
        if (n == 8) {
            buf_addstr(err, ", ...");
            break;
        }
        buf_addstr(err, n++ ? ", " : "");
        buf_addstr(err, quote(&q, a->valuestring));
    }
    return fail(err, JOSE_BAD_AUDIENCE, "] does not include the expected %s",
                quote(&qe, audience));
}

/* Append a duration as "1d2h3m4s", zero units left out ("0s" for none). */
static void add_duration(struct buf *b, double seconds)
{
    static const struct { int64_t size; char unit; } units[] = {
        { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
    };
    int64_t s = seconds < 0 ? (int64_t)-seconds : (int64_t)seconds;
    size_t i;

    if (s == 0) {
        buf_addstr(b, "0s");
        return;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (s >= units[i].size) {
            buf_addf(b, "%lld%c", (long long)(s / units[i].size), units[i].unit);
            s %= units[i].size;
        }
    }
}

static void add_date(struct buf *b, double v)
{
    if (v == (double)(int64_t)v)
        buf_addf(b, "%lld", (long long)v);
    else
        buf_addf(b, "%.3f", v);
}

/* The NumericDate claim name: *present false when absent. */
static enum jose_err numeric_date(const struct jose_jwt *jwt, const char *name, bool *present,
                                  double *v, struct buf *err)
{
    const cJSON *c = claim(jwt, name);

    *present = c != NULL;
    *v = 0;
    if (!c)
        return JOSE_OK;
    if (!cJSON_IsNumber(c))
        return fail(err, JOSE_BAD_CLAIM,
                    "claim '%s' is %s, expected a NumericDate (seconds since the epoch)", name,
                    json_type(c));
    /* 2^53: beyond, seconds are no longer exact, and no real token goes there. */
    if (!(c->valuedouble > -9007199254740992.0 && c->valuedouble < 9007199254740992.0))
        return fail(err, JOSE_BAD_CLAIM, "claim '%s' is out of range for a NumericDate", name);
    *v = c->valuedouble;
    return JOSE_OK;
}

/* "(exp 1764620000, leeway 60 s)" */
static enum jose_err time_fail(struct buf *err, enum jose_err code, const char *name, double v,
                               int64_t leeway)
{
    if (err) {
        buf_addf(err, " (%s ", name);
        add_date(err, v);
        buf_addf(err, ", leeway %lld s)", (long long)leeway);
    }
    return code;
}

enum jose_err jose_claims_check_time(const struct jose_jwt *jwt, int64_t now, int64_t leeway,
                                     struct buf *err)
{
    double exp, nbf, iat, t = (double)now, l = (double)leeway;
    bool has_exp, has_nbf, has_iat;
    enum jose_err rc;

    if ((rc = numeric_date(jwt, "exp", &has_exp, &exp, err))
        || (rc = numeric_date(jwt, "nbf", &has_nbf, &nbf, err))
        || (rc = numeric_date(jwt, "iat", &has_iat, &iat, err)))
        return rc;
    if (!has_exp)
        return fail(err, JOSE_MISSING_CLAIM,
                    "no 'exp' claim: a token that never expires is refused");
    if (t >= exp + l) {
        if (err) {
            buf_addstr(err, "expired ");
            add_duration(err, t - exp);
            buf_addstr(err, " ago");
        }
        return time_fail(err, JOSE_EXPIRED, "exp", exp, leeway);
    }
    if (has_nbf && t + l < nbf) {
        if (err) {
            buf_addstr(err, "not valid for another ");
            add_duration(err, nbf - t);
        }
        return time_fail(err, JOSE_NOT_YET_VALID, "nbf", nbf, leeway);
    }
    if (has_iat && t + l < iat) {
        if (err) {
            buf_addstr(err, "issued ");
            add_duration(err, iat - t);
            buf_addstr(err, " in the future");
        }
        return time_fail(err, JOSE_NOT_YET_VALID, "iat", iat, leeway);
    }
    return JOSE_OK;
}
