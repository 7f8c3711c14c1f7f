#include "digest.h"

#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "log.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    /* Fetched once: an implicit fetch on every digest costs a lookup under a global lock. */
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void digest_prepare(void)
{
    pthread_once(&sha256_once, sha256_fetch);
}

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN])
{
    unsigned int n = 0;

    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || !EVP_Digest(len ? data : "", len, out, &n, sha256_md, NULL)
        || n != DIGEST_SHA256_LEN) {
        /* Short of running out of memory libcrypto cannot fail here; both are fatal. */
        log_error("SHA-256 is not available from libcrypto");
        abort();
    }
}

static void to_hex(const unsigned char md[DIGEST_SHA256_LEN], char out[2 * DIGEST_SHA256_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < DIGEST_SHA256_LEN; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * DIGEST_SHA256_LEN] = '\0';
}

void digest_sha256_hex(const void *data, size_t len, char out[2 * DIGEST_SHA256_LEN + 1])
{
    unsigned char md[DIGEST_SHA256_LEN];

    digest_sha256(data, len, md);
    to_hex(md, out);
}

static void fatal(void)
{
    log_error("SHA-256 is not available from libcrypto");
    abort();
}

struct digest_sha256 *digest_sha256_begin(void)
{
    EVP_MD_CTX *ctx;

    pthread_once(&sha256_once, sha256_fetch);
    ctx = EVP_MD_CTX_new();
    if (!sha256_md || !ctx || !EVP_DigestInit_ex(ctx, sha256_md, NULL))
        fatal();
    return (struct digest_sha256 *)(void *)ctx;
}

void digest_sha256_update(struct digest_sha256 *d, const void *data, size_t len)
{
    if (len && !EVP_DigestUpdate((EVP_MD_CTX *)(void *)d, data, len))
        fatal();
}

void digest_sha256_end(struct digest_sha256 *d, char out[2 * DIGEST_SHA256_LEN + 1])
{
    EVP_MD_CTX *ctx = (EVP_MD_CTX *)(void *)d;
    unsigned char md[DIGEST_SHA256_LEN];
    unsigned int n = 0;

    if (!ctx)
        return;
    if (!EVP_DigestFinal_ex(ctx, md, &n) || n != DIGEST_SHA256_LEN)
        fatal();
    EVP_MD_CTX_free(ctx);
    to_hex(md, out);
}

void digest_sha256_free(struct digest_sha256 *d)
{
    EVP_MD_CTX_free((EVP_MD_CTX *)(void *)d);
}
