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

void digest_sha256_hex(const void *data, size_t len, char out[2 * DIGEST_SHA256_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[DIGEST_SHA256_LEN];
    size_t i;

    digest_sha256(data, len, md);
    for (i = 0; i < DIGEST_SHA256_LEN; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * DIGEST_SHA256_LEN] = '\0';
}
