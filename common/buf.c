#include "buf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xmalloc.h"

#define HUGE_PAGE (2u << 20)
#define HUGE_BUF_MIN (8u << 20)

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

void buf_grow_exact(struct buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) {
        fprintf(stderr, "fatal: buffer size overflow\n");
        abort();
    }
    if (b->len + extra + 1 <= b->cap)
        return;
    b->cap = b->len + extra + 1;
    b->data = xrealloc(b->data, b->cap);
    b->data[b->len] = '\0';
#ifdef MADV_HUGEPAGE
    if (b->cap >= HUGE_BUF_MIN) {
        /* Fresh memory of this size is faulted in 2 MiB at a time rather than 4 KiB. */
        uintptr_t lo = ((uintptr_t)b->data + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)b->data + b->cap) & ~(uintptr_t)(HUGE_PAGE - 1);

        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
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
    size_t start = b->len, i = 0;
    char *o;

    /* Decoding never grows the text: one grow, then plain stores (every request's path
     * and query go through here). */
    buf_grow(b, len);
    o = b->data + b->len;
    while (i < len) {
        int hi, lo;

        if (s[i] == '+' && plus_is_space) {
            *o++ = ' ';
            i++;
            continue;
        }
        if (s[i] != '%') {
            *o++ = s[i++];
            continue;
        }
        hi = i + 2 < len ? hex_digit_value(s[i + 1]) : -1;
        lo = hi < 0 ? -1 : hex_digit_value(s[i + 2]);
        if (lo < 0 || (hi | lo) == 0) {
            b->data[start] = '\0';     /* b->len is still start */
            return false;
        }
        *o++ = (char)(hi << 4 | lo);
        i += 3;
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
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

/* How an ASCII byte goes into a JSON string: its output bytes in bits 0-15 (low byte
 * first) and their count in bits 16-17; 0 for the bytes that take more (\u00XX, and
 * anything from 0x80 up, which is UTF-8 to check). */
#define JE2(e) ((uint32_t)'\\' | (uint32_t)(e) << 8 | 2u << 16)
#define JE(c) ((c) == '\n' ? JE2('n') : (c) == '\r' ? JE2('r') : (c) == '\t' ? JE2('t')    \
               : (c) == '"' || (c) == '\\' ? JE2(c)                                    \
               : (c) >= 0x20 && (c) < 0x80 ? ((uint32_t)(c) | 1u << 16) : 0u)
#define JE4(c) JE(c), JE((c) + 1), JE((c) + 2), JE((c) + 3)
#define JE16(c) JE4(c), JE4((c) + 4), JE4((c) + 8), JE4((c) + 12)
#define JE64(c) JE16(c), JE16((c) + 16), JE16((c) + 32), JE16((c) + 48)
static const uint32_t json_esc[256] = { JE64(0), JE64(64), JE64(128), JE64(192) };

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Are the 8 bytes of x all ASCII that a JSON string holds as it is? */
static int json_plain8(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');

    return !(((x - ONES * 0x20) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | x) & HIGHS);
}

/* One character the table does not take, at p (n bytes left), written to o: returns
 * the bytes written and sets *used to the bytes of p it took. Kept out of the loop that
 * runs over every byte. */
static __attribute__((noinline)) size_t json_escape_slow(const unsigned char *p, size_t n,
                                                          char *o, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    size_t k;

    *used = 1;
    if (p[0] < 0x80) {
        memcpy(o, "\\u00", 4);
        o[4] = hex[p[0] >> 4];
        o[5] = hex[p[0] & 15];
        return 6;
    }
    k = utf8_len(p, n);
    if (k) {
        memcpy(o, p, k);
        *used = k;
        return k;
    }
    memcpy(o, "\xef\xbf\xbd", 3);       /* U+FFFD: 3 bytes for 1, within the 6 */
    return 3;
}

/* Two ASCII bytes a, b at (a << 7) | b: their output bytes in bits 0-31 (low byte first)
 * and how many in bits 32-35, or 0 when json_esc does not take both. "y\n" becomes 'y',
 * '\\', 'n' and 3. Filled on first use. */
static uint64_t json_pair[128 * 128];
static pthread_once_t json_pair_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) && defined(__GNUC__)
static void json_shuffle_init(void);
#endif

static void json_pair_init(void)
{
    uint64_t a, b;

#if defined(__x86_64__) && defined(__GNUC__)
    json_shuffle_init();
#endif

    for (a = 0; a < 128; a++)
        for (b = 0; b < 128; b++)
            if (json_esc[a] && json_esc[b])
                json_pair[a << 7 | b] = (json_esc[a] & 0xffff)
                                        | (uint64_t)(json_esc[b] & 0xffff) << (8 * (json_esc[a] >> 16))
                                        | (uint64_t)((json_esc[a] >> 16) + (json_esc[b] >> 16)) << 32;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* With SSSE3 (every x86-64 CPU of the last fifteen years has it) text goes 8 bytes a
 * step whether or not it holds escapes: the bytes that take a two-byte escape (\n \r \t
 * \" \\) are found by compares, and one byte shuffle, chosen by their mask, puts each
 * one's backslash and letter in place. json_shuffle[m] holds that shuffle for mask m,
 * json_shuffle_len[m] the output's length. */
static unsigned char json_shuffle[256][16];
static unsigned char json_shuffle_len[256];
static bool json_ssse3;

static void json_shuffle_init(void)
{
    unsigned m, i, j;

    for (m = 0; m < 256; m++) {
        memset(json_shuffle[m], 0x80, 16);
        for (i = 0, j = 0; i < 8; i++) {
            json_shuffle[m][j++] = (unsigned char)i;
            if (m >> i & 1)
                json_shuffle[m][j++] = (unsigned char)(8 + i);
        }
        json_shuffle_len[m] = (unsigned char)j;
    }
    __builtin_cpu_init();
    json_ssse3 = __builtin_cpu_supports("ssse3");
}

/* Escape whole steps of 8 bytes of p (n of them) into o while they hold only ASCII that
 * stays as it is or takes a two-byte escape; returns the bytes written, *used the bytes
 * taken (a multiple of 8: the step holding anything else is left to the caller). Each
 * step stores 16 bytes at o: o has room for 6 bytes per byte of p. */
__attribute__((target("ssse3")))
static size_t json_escape_ssse3(char *o, const unsigned char *p, size_t n, size_t *used)
{
    const __m128i ctl = _mm_set1_epi8(0x20), lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), tab = _mm_set1_epi8('\t');
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    char *start = o;
    size_t i = 0;

    for (; n - i >= 8; i += 8) {
        __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)(p + i));
        __m128i is_lf = _mm_cmpeq_epi8(x, lf), is_cr = _mm_cmpeq_epi8(x, cr);
        __m128i is_tab = _mm_cmpeq_epi8(x, tab), is_q = _mm_cmpeq_epi8(x, quote);
        __m128i is_bs = _mm_cmpeq_epi8(x, bs);
        __m128i two = _mm_or_si128(_mm_or_si128(is_lf, is_cr), is_tab);
        __m128i esc = _mm_or_si128(two, _mm_or_si128(is_q, is_bs));
        /* Non-ASCII (a sign bit) or a control byte without a two-byte escape: stop. */
        int other = _mm_movemask_epi8(_mm_or_si128(x, _mm_andnot_si128(two,
                                                      _mm_cmplt_epi8(x, ctl)))) & 0xff;
        unsigned m;

        if (other)
            break;
        m = (unsigned)_mm_movemask_epi8(esc) & 0xff;
        if (!m) {
            _mm_storel_epi64((__m128i *)(void *)o, x);
            o += 8;
            continue;
        }
        {
            __m128i letter = _mm_or_si128(
                _mm_or_si128(_mm_and_si128(is_lf, _mm_set1_epi8('n')),
                             _mm_and_si128(is_cr, _mm_set1_epi8('r'))),
                _mm_or_si128(_mm_and_si128(is_tab, _mm_set1_epi8('t')),
                             _mm_and_si128(_mm_or_si128(is_q, is_bs), x)));
            __m128i lead = _mm_or_si128(_mm_andnot_si128(esc, x), _mm_and_si128(esc, bs));
            __m128i both = _mm_unpacklo_epi64(lead, letter);
            __m128i shuf = _mm_loadu_si128((const __m128i *)(const void *)json_shuffle[m]);

            _mm_storeu_si128((__m128i *)(void *)o, _mm_shuffle_epi8(both, shuf));
            o += json_shuffle_len[m];
        }
    }
    *used = i;
    return (size_t)(o - start);
}
#endif

size_t str_json_escape(char *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e;
    char *o = out;
    size_t span = 8;

    if (len == 0)
        return 0;       /* s may be NULL then (an empty buf), and NULL + 0 is undefined */
    e = p + len;

    /* This runs over every byte a command streams. Plain text goes 8 bytes at a time;
     * text dense with escapes (`yes` prints "y\n" forever) goes two bytes at a time
     * through json_pair, 64 bytes before the 8-byte test is tried again. */
    pthread_once(&json_pair_once, json_pair_init);
    while (p < e) {
        const unsigned char *start, *end;
        char *group;

#if defined(__x86_64__) && defined(__GNUC__)
        if (json_ssse3 && e - p >= 8) {
            size_t used;

            o += json_escape_ssse3(o, p, (size_t)(e - p), &used);
            p += used;
            if (p == e)
                break;
            span = 8;   /* the step it left: the scalar code takes it, then hands back */
        }
#endif
        start = p;
        group = o;

        if (span == 8 && e - p >= 8) {
            uint64_t x;

            memcpy(&x, p, 8);
            if (json_plain8(x)) {
                memcpy(o, p, 8);
                o += 8;
                p += 8;
                continue;
            }
        }
        end = (size_t)(e - p) < span ? e : p + span;
        while (p < end) {
            uint32_t ta, w;
            uint64_t v;

            if (end - p >= 2 && !((p[0] | p[1]) & 0x80) && (v = json_pair[p[0] << 7 | p[1]])) {
                w = (uint32_t)v;
                memcpy(o, &w, 4);
                o += v >> 32;
                p += 2;
            } else if ((ta = json_esc[p[0]]) != 0) {
                o[0] = (char)ta;
                o[1] = (char)(ta >> 8);
                o += ta >> 16;
                p++;
            } else {
                size_t used;

                o += json_escape_slow(p, (size_t)(e - p), o, &used);
                p += used;
            }
        }
        /* Two escapes or more in the span: the text is dense, stay on pairs. */
        span = o - group > (p - start) + 1 ? 64 : 8;
    }
    return (size_t)(o - out);
}

void buf_add_json_str(struct buf *b, const char *s, size_t len)
{
    /* One grow for the worst case (every byte a \u00XX), then plain stores. */
    if (len > (SIZE_MAX - 2) / 6) {
        fprintf(stderr, "fatal: buffer size overflow\n");
        abort();
    }
    buf_grow(b, len * 6 + 2);
    b->data[b->len++] = '"';
    b->len += str_json_escape(b->data + b->len, s, len);
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}
