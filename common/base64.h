/* base64: RFC 4648 base64 (padded) and base64url (unpadded), with strict decoding.
 * Decoders accept only the canonical encoding: no whitespace, no stray padding, zero spare bits. */
#ifndef HOG_BASE64_H
#define HOG_BASE64_H

#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* Append the padded base64 of data to out. */
void base64_encode(struct buf *out, const void *data, size_t len);
/* Append the unpadded base64url of data to out (the JOSE form). */
void base64url_encode(struct buf *out, const void *data, size_t len);

/* Append the bytes encoded in s (len chars) to out; RC_PARSE on any character outside
 * the alphabet, wrong or missing padding, or non-zero spare bits; out is unchanged then. */
enum rc base64_decode(const char *s, size_t len, struct buf *out);
/* As base64_decode for the url alphabet; padding ('=') is refused, as JOSE requires. */
enum rc base64url_decode(const char *s, size_t len, struct buf *out);

#endif
