#include "base64.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void encode(struct buf *out, const unsigned char *p, size_t len,
                   const char *alpha, int pad)
{
    char *o;

    buf_grow(out, (len + 2) / 3 * 4);
    o = out->data + out->len;
    for (; len >= 3; p += 3, len -= 3) {
        *o++ = alpha[p[0] >> 2];
        *o++ = alpha[((p[0] & 3) << 4) | (p[1] >> 4)];
        *o++ = alpha[((p[1] & 15) << 2) | (p[2] >> 6)];
        *o++ = alpha[p[2] & 63];
    }
    if (len > 0) {
        *o++ = alpha[p[0] >> 2];
        if (len == 1) {
            *o++ = alpha[(p[0] & 3) << 4];
            if (pad) {
                *o++ = '=';
                *o++ = '=';
            }
        } else {
            *o++ = alpha[((p[0] & 3) << 4) | (p[1] >> 4)];
            *o++ = alpha[(p[1] & 15) << 2];
            if (pad)
                *o++ = '=';
        }
    }
    out->len = (size_t)(o - out->data);
    *o = '\0';
}

void base64_encode(struct buf *out, const void *data, size_t len)
{
    encode(out, data, len, std_alphabet, 1);
}

void base64url_encode(struct buf *out, const void *data, size_t len)
{
    encode(out, data, len, url_alphabet, 0);
}

static int value_of(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Decode len symbols with no padding among them; rem = len % 4 must not be 1. */
static enum rc decode(const char *s, size_t len, int url, struct buf *out)
{
    size_t start = out->len, i;
    unsigned acc = 0;
    int bits = 0;
    char *o;

    if (len % 4 == 1)
        return RC_PARSE;
    buf_grow(out, len / 4 * 3 + 2);
    o = out->data + out->len;
    for (i = 0; i < len; i++) {
        int v = value_of(s[i], url);

        if (v < 0) {
            out->data[start] = '\0';   /* nothing was added */
            return RC_PARSE;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (char)((acc >> bits) & 0xff);
        }
    }
    out->len = (size_t)(o - out->data);
    *o = '\0';
    /* Spare bits of the last symbol must be zero, or two encodings decode alike. */
    if (bits && (acc & ((1u << bits) - 1))) {
        buf_truncate(out, start);
        return RC_PARSE;
    }
    return RC_OK;
}

enum rc base64_decode(const char *s, size_t len, struct buf *out)
{
    size_t pad = 0;

    if (len % 4 != 0)
        return RC_PARSE;
    if (len && s[len - 1] == '=')
        pad = (len >= 2 && s[len - 2] == '=') ? 2 : 1;
    return decode(s, len - pad, 0, out);
}

enum rc base64url_decode(const char *s, size_t len, struct buf *out)
{
    return decode(s, len, 1, out);
}
