/* Unit tests for common/buf and common/rc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
        cmocka_unit_test(test_rc_str_names_every_code),
        cmocka_unit_test(test_xstrndup_stops_at_nul_and_at_n),
    };

    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
