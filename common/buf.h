/* buf: a growable byte buffer and a few string helpers.
 * data is always NUL-terminated (when non-NULL) so text can be used as a C string. */
#ifndef HOG_BUF_H
#define HOG_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;     /* NULL until the first byte is added */
    size_t len;
    size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Set up an empty buffer; allocates nothing. */
void buf_init(struct buf *b);
/* Free the contents; the buffer is left empty and reusable. */
void buf_release(struct buf *b);
/* Keep the memory, drop the contents. */
void buf_reset(struct buf *b);
/* Make room for at least extra more bytes. */
void buf_grow(struct buf *b, size_t extra);
/* Make room for extra more bytes without rounding up, for a size known in advance (a
 * 64 MiB body would otherwise reserve 128 MiB). */
void buf_grow_exact(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Shorten to len bytes (no-op when already shorter). */
void buf_truncate(struct buf *b, size_t len);
/* The contents as a new string (caller frees; "" for an empty buffer);
 * the buffer is left empty. len may be NULL. */
char *buf_detach(struct buf *b, size_t *len);
/* The contents as a C string, "" when empty; borrowed until the next change. */
const char *buf_cstr(const struct buf *b);

/* Append the percent-decoded form of len bytes of s ('+' becomes a space when
 * plus_is_space, as in form data). False, with b unchanged, on a malformed escape or an
 * encoded NUL (%00), which no caller can hold in a C string. */
bool buf_add_pct_decoded(struct buf *b, const char *s, size_t len, bool plus_is_space);
/* The value of a hex digit, or -1. */
int hex_digit_value(char c);

/* Append len bytes of s (may hold NUL) as a JSON string, quotes included: escaped, each
 * invalid UTF-8 byte replaced by U+FFFD. */
void buf_add_json_str(struct buf *b, const char *s, size_t len);
/* The inside of that JSON string (no quotes) written to out, which must have room for
 * 6 * len bytes; returns the bytes written. */
size_t str_json_escape(char *out, const char *s, size_t len);
bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);
/* Compare two byte strings in time that depends only on their lengths. */
bool mem_equal_ct(const void *a, size_t alen, const void *b, size_t blen);

#endif
