/* digest: SHA-256 for hogmock (token hashes, fingerprints, file and body digests) through
 * OpenSSL libcrypto, fetched once. Hashes only; never keeps or logs what it hashes. */
#ifndef HOG_DIGEST_H
#define HOG_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_LEN 32

/* SHA-256 of len bytes of data (NULL allowed when len is 0) into out. Thread-safe. */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* The same as 64 lowercase hex digits and a NUL. */
void digest_sha256_hex(const void *data, size_t len, char out[2 * DIGEST_SHA256_LEN + 1]);

#endif
