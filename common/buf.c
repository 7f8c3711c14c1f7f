#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_grow(struct buf *b, size_t extra)
{
    size_t need;

    if (extra > SIZE_MAX - b->len - 1) {
        fprintf(stderr, "fatal: buffer size overflow\n");
        abort();
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    if (b->cap < 64)
        b->cap = 64;
    while (b->cap < need)
        b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
    b->data = xrealloc(b->data, b->cap);
    b->data[b->len] = '\0';
}

void buf_add(struct buf *b, const void *data, size_t len)
{
    buf_grow(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_addstr(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    buf_grow(b, 64);
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        buf_grow(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *s = b->data ? b->data : xstrdup("");

    if (len)
        *len = b->len;
    buf_init(b);
    return s;
}

const char *buf_cstr(const struct buf *b)
{
    return b->data ? b->data : "";
}

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool buf_add_pct_decoded(struct buf *b, const char *s, size_t len, bool plus_is_space)
{
    size_t start = b->len, i;

    buf_grow(b, len);
    for (i = 0; i < len; i++) {
        int hi, lo;

        if (s[i] == '+' && plus_is_space) {
            buf_addch(b, ' ');
            continue;
        }
        if (s[i] != '%') {
            buf_addch(b, s[i]);
            continue;
        }
        hi = i + 2 < len ? hex_digit_value(s[i + 1]) : -1;
        lo = hi < 0 ? -1 : hex_digit_value(s[i + 2]);
        if (lo < 0 || (hi | lo) == 0) {
            buf_truncate(b, start);
            return false;
        }
        buf_addch(b, (char)(hi << 4 | lo));
        i += 2;
    }
    return true;
}

bool str_startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_endswith(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool mem_equal_ct(const void *a, size_t alen, const void *b, size_t blen)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = alen != blen;
    size_t i;

    /* Walk the first operand whole so timing does not reveal a common prefix. */
    for (i = 0; i < alen; i++)
        diff |= x[i] ^ (blen ? y[i % blen] : 0);
    return diff == 0;
}

/* The length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len, i;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void buf_add_json_str(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    char *o;

    /* One grow for the worst case (every byte a \u00XX), then plain stores: this runs
     * over every byte a command streams. */
    if (len > (SIZE_MAX - 2) / 6) {
        fprintf(stderr, "fatal: buffer size overflow\n");
        abort();
    }
    buf_grow(b, len * 6 + 2);
    o = b->data + b->len;
    *o++ = '"';
    while (i < len) {
        unsigned char c = p[i];
        size_t n, run;

        /* Plain ASCII goes in runs. */
        for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"'
                      && p[run] != '\\'; run++)
            ;
        if (run > i) {
            memcpy(o, p + i, run - i);
            o += run - i;
            i = run;
            continue;
        }
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c < 0x20) {
            *o++ = '\\';
            switch (c) {
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                memcpy(o, "u00", 3);
                o[3] = hex[c >> 4];
                o[4] = hex[c & 15];
                o += 5;
                break;
            }
            i++;
        } else if ((n = utf8_len(p + i, len - i)) != 0) {
            memcpy(o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);   /* U+FFFD: 3 bytes for 1, within the 6 */
            o += 3;
            i++;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}
