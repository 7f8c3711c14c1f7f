/* Unit tests for common/buf and common/rc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rc.h"
#include "xmalloc.h"

static void test_buf_starts_empty_and_reads_as_empty_string(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_null(b.data);
    assert_string_equal(buf_cstr(&b), "");
    buf_release(&b);
}

static void test_buf_appends_and_stays_nul_terminated(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_addstr(&b, "hog");
    buf_addch(&b, '-');
    buf_add(&b, "box\0x", 3);
    buf_addf(&b, "/%d/%s", 42, "end");
    assert_int_equal(b.len, strlen("hog-box/42/end"));
    assert_string_equal(b.data, "hog-box/42/end");
    buf_truncate(&b, 3);
    assert_string_equal(b.data, "hog");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_release(&b);
}

static void test_buf_addf_grows_past_initial_capacity(void **state)
{
    struct buf b = BUF_INIT;
    char big[5000];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_addstr(&b, "a");
    buf_addf(&b, "[%s]", big);
    assert_int_equal(b.len, 1 + 2 + sizeof(big) - 1);
    assert_int_equal(b.data[b.len - 1], ']');
    buf_release(&b);
}

static void test_buf_grow_alone_leaves_a_valid_empty_string(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_grow(&b, 100);
    assert_non_null(b.data);
    assert_string_equal(buf_cstr(&b), "");
    buf_release(&b);
}

static void test_buf_pct_decoding_refuses_bad_escapes_and_nul(void **state)
{
    static const char *const bad[] = { "%", "%2", "a%zz", "%00", "%0", "x%G1" };
    struct buf b = BUF_INIT;
    size_t i;

    (void)state;
    assert_true(buf_add_pct_decoded(&b, "a%2Fb+c%25", 10, false));
    assert_string_equal(buf_cstr(&b), "a/b+c%");
    buf_reset(&b);
    assert_true(buf_add_pct_decoded(&b, "a+b%2b", 6, true));
    assert_string_equal(buf_cstr(&b), "a b+");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_reset(&b);
        buf_addstr(&b, "keep");
        assert_false(buf_add_pct_decoded(&b, bad[i], strlen(bad[i]), false));
        assert_string_equal(buf_cstr(&b), "keep");
    }
    buf_release(&b);
}

static void test_buf_detach_hands_over_the_string(void **state)
{
    struct buf b = BUF_INIT;
    size_t len;
    char *s;

    (void)state;
    s = buf_detach(&b, &len);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    buf_addstr(&b, "kept");
    s = buf_detach(&b, NULL);
    assert_string_equal(s, "kept");
    assert_null(b.data);
    free(s);
}

static void test_str_prefix_and_suffix(void **state)
{
    (void)state;
    assert_true(str_startswith("tok_abc", "tok_"));
    assert_false(str_startswith("to", "tok_"));
    assert_true(str_endswith("hogplane.yaml", ".yaml"));
    assert_false(str_endswith("yaml", ".yaml"));
    assert_true(str_endswith("x", ""));
}

static void test_mem_equal_ct_compares_content_and_length(void **state)
{
    (void)state;
    assert_true(mem_equal_ct("secret", 6, "secret", 6));
    assert_false(mem_equal_ct("secret", 6, "secreT", 6));
    assert_false(mem_equal_ct("secret", 6, "secret!", 7));
    assert_false(mem_equal_ct("secret", 6, "", 0));
    assert_true(mem_equal_ct("", 0, "", 0));
}

static void test_buf_add_json_str_escapes_and_repairs(void **state)
{
    static const struct { const char *in; size_t len; const char *out; } cases[] = {
        { "", 0, "\"\"" },
        { "plain", 5, "\"plain\"" },
        { "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
        { "\n\r\t\b\f", 5, "\"\\n\\r\\t\\u0008\\u000c\"" },
        { "x\0y\x1f", 4, "\"x\\u0000y\\u001f\"" },
        { "\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x97", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x97\"" },
        { "a\xff" "b\xc3", 4, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"" },
        { "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
        { "\x7f", 1, "\"\x7f\"" },
    };
    struct buf b = BUF_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&b);
        buf_addstr(&b, "<");
        buf_add_json_str(&b, cases[i].in, cases[i].len);
        buf_addstr(&b, ">");
        assert_int_equal(b.len, strlen(cases[i].out) + 2);
        assert_memory_equal(b.data + 1, cases[i].out, b.len - 2);
        assert_int_equal(b.data[b.len], '\0');
    }
    /* Every one of 65536 bytes a control character: the worst case fits. */
    {
        char *zeros = calloc(65536, 1);

        buf_reset(&b);
        buf_add_json_str(&b, zeros, 65536);
        assert_int_equal(b.len, 65536 * 6 + 2);
        free(zeros);
    }
    buf_release(&b);
}

/* Found by tests/fuzz/fuzz_pipeline (an exec with no output): an empty buf's NULL data
 * went in with length 0, and the escaper computed NULL + 0, which C leaves undefined
 * (clang's UBSan reports it). */
static void test_buf_add_json_str_takes_null_with_length_zero(void **state)
{
    struct buf b = BUF_INIT, empty = BUF_INIT;
    char out[8];

    (void)state;
    buf_add_json_str(&b, empty.data, empty.len);
    assert_string_equal(buf_cstr(&b), "\"\"");
    assert_int_equal(str_json_escape(out, NULL, 0), 0);
    buf_release(&b);
}

/* The escape one byte at a time, as the spec of buf_add_json_str reads: what the fast
 * paths (8 plain bytes at once, pairs through a table in text dense with escapes) must
 * agree with, wherever a stretch starts or ends. */
static size_t escape_slowly(char *o, const unsigned char *p, size_t len)
{
    char *start = o;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];

        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            *o++ = '\\';
            *o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", c);
        } else if (c < 0x80) {
            *o++ = (char)c;
        } else {
            struct buf one = BUF_INIT;
            size_t n = 1;

            /* The longest prefix (up to 4 bytes) the library takes as one character. */
            while (n < 4 && i + n < len && (p[i + n] & 0xc0) == 0x80)
                n++;
            for (; n > 1; n--) {
                buf_reset(&one);
                buf_add_json_str(&one, (const char *)p + i, n);
                if (one.len == n + 2 && memcmp(one.data + 1, p + i, n) == 0)
                    break;
            }
            buf_release(&one);
            if (n > 1) {
                memcpy(o, p + i, n);
                o += n;
                i += n;
                continue;
            }
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
        }
        i++;
    }
    return (size_t)(o - start);
}

static void test_str_json_escape_agrees_with_a_byte_at_a_time_escape(void **state)
{
    static const char *const pieces[] = { "y\n", "plain text ", "\"q\"", "\\", "\t", "\x01",
                                          "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x90\x97",
                                          "\xff", "\xc3", "0123456789abcdef", "\r\n", "\x7f",
                                          "\x1f", "\x08\x0c", "a\"b\\c\td\re\nf", " " };
    unsigned char in[600];
    char *want = malloc(6 * sizeof(in)), *got = malloc(6 * sizeof(in));
    unsigned seed = 12345;
    int round;

    (void)state;
    for (round = 0; round < 3000; round++) {
        size_t len = 0, nw, ng;

        /* Runs of one piece (dense or plain stretches) mixed with single pieces. */
        while (len < sizeof(in) - 64) {
            const char *piece;
            size_t plen, reps;

            seed = seed * 1103515245u + 12345u;
            piece = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
            plen = strlen(piece);
            reps = (seed >> 8) % 3 == 0 ? 1 + (seed >> 4) % 40 : 1;
            while (reps-- && len + plen <= sizeof(in) - 64) {
                memcpy(in + len, piece, plen);
                len += plen;
            }
            if ((seed >> 24) % 5 == 0)
                break;
        }
        nw = escape_slowly(want, in, len);
        ng = str_json_escape(got, (const char *)in, len);
        assert_int_equal(ng, nw);
        assert_memory_equal(got, want, nw);
    }
    /* Any bytes at all, at every length and alignment up to the buffer's end (the 8-byte
     * steps store 16 bytes at a time: ASan sees any that land past the 6x room). */
    for (round = 0; round < 3000; round++) {
        size_t len = (size_t)round % 200, i, nw, ng;
        unsigned char *exact = malloc(len ? len : 1);
        char *room = malloc(6 * len + 1);

        for (i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* Mostly ASCII, so the fast steps run between the odd bytes. */
            in[i] = (unsigned char)((seed >> 16) % 7 ? (seed >> 20) % 128 : (seed >> 20) % 256);
        }
        memcpy(exact, in, len);
        nw = escape_slowly(want, exact, len);
        ng = str_json_escape(room, (const char *)exact, len);
        assert_int_equal(ng, nw);
        assert_memory_equal(room, want, nw);
        free(exact);
        free(room);
    }
    free(want);
    free(got);
}

static void test_rc_str_names_every_code(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < RC__COUNT; i++)
        assert_string_not_equal(rc_str((enum rc)i), "unknown error");
    assert_string_equal(rc_str(RC_NOT_FOUND), "not found");
    assert_string_equal(rc_str((enum rc)999), "unknown error");
}

static void test_xstrndup_stops_at_nul_and_at_n(void **state)
{
    char *a = xstrndup("abcdef", 3), *b = xstrndup("ab", 10);

    (void)state;
    assert_string_equal(a, "abc");
    assert_string_equal(b, "ab");
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_starts_empty_and_reads_as_empty_string),
        cmocka_unit_test(test_buf_appends_and_stays_nul_terminated),
        cmocka_unit_test(test_buf_addf_grows_past_initial_capacity),
        cmocka_unit_test(test_buf_grow_alone_leaves_a_valid_empty_string),
        cmocka_unit_test(test_buf_pct_decoding_refuses_bad_escapes_and_nul),
        cmocka_unit_test(test_buf_detach_hands_over_the_string),
        cmocka_unit_test(test_str_prefix_and_suffix),
        cmocka_unit_test(test_mem_equal_ct_compares_content_and_length),
        cmocka_unit_test(test_buf_add_json_str_escapes_and_repairs),
        cmocka_unit_test(test_buf_add_json_str_takes_null_with_length_zero),
        cmocka_unit_test(test_str_json_escape_agrees_with_a_byte_at_a_time_escape),
        cmocka_unit_test(test_rc_str_names_every_code),
        cmocka_unit_test(test_xstrndup_stops_at_nul_and_at_n),
    };

    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
