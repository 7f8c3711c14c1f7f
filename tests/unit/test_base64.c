/* Unit tests for common/base64: RFC 4648 vectors and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

/* RFC 4648 section 10 test vectors. */
static const struct { const char *plain, *b64, *b64url; } vectors[] = {
    { "", "", "" },
    { "f", "Zg==", "Zg" },
    { "fo", "Zm8=", "Zm8" },
    { "foo", "Zm9v", "Zm9v" },
    { "foob", "Zm9vYg==", "Zm9vYg" },
    { "fooba", "Zm9vYmE=", "Zm9vYmE" },
    { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void test_base64_encodes_the_rfc_vectors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct buf a = BUF_INIT, b = BUF_INIT;

        base64_encode(&a, vectors[i].plain, strlen(vectors[i].plain));
        base64url_encode(&b, vectors[i].plain, strlen(vectors[i].plain));
        assert_string_equal(buf_cstr(&a), vectors[i].b64);
        assert_string_equal(buf_cstr(&b), vectors[i].b64url);
        buf_release(&a);
        buf_release(&b);
    }
}

static void test_base64_decodes_the_rfc_vectors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct buf a = BUF_INIT, b = BUF_INIT;

        assert_int_equal(base64_decode(vectors[i].b64, strlen(vectors[i].b64), &a), RC_OK);
        assert_int_equal(base64url_decode(vectors[i].b64url, strlen(vectors[i].b64url), &b), RC_OK);
        assert_int_equal(a.len, strlen(vectors[i].plain));
        assert_memory_equal(buf_cstr(&a), vectors[i].plain, a.len);
        assert_memory_equal(buf_cstr(&b), vectors[i].plain, b.len);
        buf_release(&a);
        buf_release(&b);
    }
}

static void test_base64url_uses_the_url_alphabet(void **state)
{
    const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
    struct buf a = BUF_INIT, b = BUF_INIT, back = BUF_INIT;

    (void)state;
    base64_encode(&a, bytes, sizeof(bytes));
    base64url_encode(&b, bytes, sizeof(bytes));
    assert_string_equal(buf_cstr(&a), "+/+/");
    assert_string_equal(buf_cstr(&b), "-_-_");
    assert_int_equal(base64url_decode("+/+/", 4, &back), RC_PARSE);
    assert_int_equal(base64_decode("-_-_", 4, &back), RC_PARSE);
    assert_int_equal(back.len, 0);
    buf_release(&a);
    buf_release(&b);
    buf_release(&back);
}

static void test_base64_round_trips_every_byte_value_and_length(void **state)
{
    unsigned char bytes[300];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    for (n = 0; n <= sizeof(bytes); n += 1) {
        struct buf e = BUF_INIT, d = BUF_INIT, eu = BUF_INIT, du = BUF_INIT;

        base64_encode(&e, bytes, n);
        base64url_encode(&eu, bytes, n);
        assert_int_equal(base64_decode(buf_cstr(&e), e.len, &d), RC_OK);
        assert_int_equal(base64url_decode(buf_cstr(&eu), eu.len, &du), RC_OK);
        assert_int_equal(d.len, n);
        assert_int_equal(du.len, n);
        if (n) {
            assert_memory_equal(d.data, bytes, n);
            assert_memory_equal(du.data, bytes, n);
        }
        buf_release(&e);
        buf_release(&d);
        buf_release(&eu);
        buf_release(&du);
    }
}

static void test_base64_decoding_is_strict(void **state)
{
    static const char *const bad[] = {
        "Zg",       /* padding missing */
        "Zg=",      /* padding short */
        "Zg===",    /* padding long */
        "Z===",     /* one symbol cannot hold a byte */
        "====",
        "Zh==",     /* non-zero spare bits: 'h' leaves bits set */
        "Zm9=",     /* non-zero spare bits */
        "Zm 9v",    /* whitespace */
        "Zm9v\n",
        "Zm=v",     /* padding inside */
        "Zm9v*A==", /* outside the alphabet */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf out = BUF_INIT;

        buf_addstr(&out, "keep");
        assert_int_equal(base64_decode(bad[i], strlen(bad[i]), &out), RC_PARSE);
        assert_string_equal(buf_cstr(&out), "keep");
        buf_release(&out);
    }
}

static void test_base64url_decoding_is_strict(void **state)
{
    static const char *const bad[] = {
        "Zg==",     /* padding is not allowed in JOSE */
        "Zg=",
        "Z",        /* length 1 mod 4 */
        "Zm9vY",
        "Zh",       /* non-zero spare bits */
        "Zm9",
        "Zm9v+",
        "Zm9v/A",
        "Zm 9v",
        "eyJhbGciOiJub25lIn0.",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf out = BUF_INIT;

        assert_int_equal(base64url_decode(bad[i], strlen(bad[i]), &out), RC_PARSE);
        assert_int_equal(out.len, 0);
        buf_release(&out);
    }
}

static void test_base64url_decodes_a_jwt_header(void **state)
{
    const char *h = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0";
    struct buf out = BUF_INIT;

    (void)state;
    assert_int_equal(base64url_decode(h, strlen(h), &out), RC_OK);
    assert_string_equal(buf_cstr(&out), "{\"alg\":\"RS256\",\"kid\":\"k1\"}");
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_encodes_the_rfc_vectors),
        cmocka_unit_test(test_base64_decodes_the_rfc_vectors),
        cmocka_unit_test(test_base64url_uses_the_url_alphabet),
        cmocka_unit_test(test_base64_round_trips_every_byte_value_and_length),
        cmocka_unit_test(test_base64_decoding_is_strict),
        cmocka_unit_test(test_base64url_decoding_is_strict),
        cmocka_unit_test(test_base64url_decodes_a_jwt_header),
    };

    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
