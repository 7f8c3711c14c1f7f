/* digest: SHA-256 for hogmock (token hashes, fingerprints, file and body digests) through
 * OpenSSL libcrypto, fetched once. Hashes only; never keeps or logs what it hashes. */
#ifndef HOG_DIGEST_H
#define HOG_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_LEN 32

struct digest_sha256;

/* Fetch SHA-256 from libcrypto now (its first fetch reads OpenSSL's configuration and
 * loads the provider: a few milliseconds) rather than on first use. Thread-safe;
 * optional. */
void digest_prepare(void);

/* SHA-256 of len bytes of data (NULL allowed when len is 0) into out. Thread-safe. */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* The same as 64 lowercase hex digits and a NUL. */
void digest_sha256_hex(const void *data, size_t len, char out[2 * DIGEST_SHA256_LEN + 1]);

/* A digest of bytes that come in pieces: new (digest_sha256_end frees it). */
struct digest_sha256 *digest_sha256_begin(void);
void digest_sha256_update(struct digest_sha256 *d, const void *data, size_t len);
/* The hex digest of everything given to d, which is freed; NULL is a no-op. */
void digest_sha256_end(struct digest_sha256 *d, char out[2 * DIGEST_SHA256_LEN + 1]);
/* Drop an unfinished digest; NULL is a no-op. */
void digest_sha256_free(struct digest_sha256 *d);

#endif
