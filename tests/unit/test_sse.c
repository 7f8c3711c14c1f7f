/* Unit tests for common/sse: the encoder, each WHATWG parsing rule, limits, stopping,
 * round trips, and fixed-seed fuzzing. Every parser stream is fed whole, byte by byte
 * and in RANDOM_SPLITS random chunkings, and must give the same log every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rc.h"
#include "sse.h"
#include "xmalloc.h"

#define FFFD "\xEF\xBF\xBD"
#define BOM "\xEF\xBB\xBF"
#define RANDOM_SPLITS 200

/* One line of the log per event, comment or retry, then the end line. */
#define EV(type, id, data) "event type=\"" type "\" id=\"" id "\" data=\"" data "\"\n"
#define COMMENT(text) "comment \"" text "\"\n"
#define RETRY(n) "retry " n "\n"
#define END(feed, finish, id) "end feed=" feed " finish=" finish " last_id=\"" id "\"\n"
#define END_OK END("ok", "ok", "")

/* splitmix64: a fixed seed gives the same splittings on every run. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rng_next(s) % n) : 0;
}

/* Strict UTF-8 check, written independently of the parser's decoder. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp;

    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if ((s[i] & 0xE0) == 0xC0) {
            need = 1;
            cp = s[i] & 0x1F;
        } else if ((s[i] & 0xF0) == 0xE0) {
            need = 2;
            cp = s[i] & 0x0F;
        } else if ((s[i] & 0xF8) == 0xF0) {
            need = 3;
            cp = s[i] & 0x07;
        } else {
            return false;
        }
        if (need > n - i - 1)
            return false;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
            (need == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

struct opts {
    size_t max_line;    /* 0: the default */
    size_t max_event;   /* 0: the default */
    int stop_after;     /* the Nth callback asks to stop; 0: never */
};

struct rec {
    struct buf log;
    int calls;
    int stop_after;
    const struct sse_parser *parser;    /* when set, ev->id is checked against it */
};

static bool plain(unsigned char c)
{
    return c >= 0x20 && c != 0x7F && c != '"' && c != '\\';
}

/* Controls as escapes, bytes >= 0x80 raw, so expected logs read like the text. */
static void add_escaped(struct buf *b, const char *s, size_t n)
{
    size_t i = 0, run;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];

        for (run = i; run < n && plain((unsigned char)s[run]); run++)
            ;
        if (run > i) {
            buf_add(b, s + i, run - i);
            i = run;
            continue;
        }
        if (c == '\n')
            buf_addstr(b, "\\n");
        else if (c == '\r')
            buf_addstr(b, "\\r");
        else if (c == '\0')
            buf_addstr(b, "\\0");
        else if (c == '"' || c == '\\')
            buf_addf(b, "\\%c", c);
        else
            buf_addf(b, "\\x%02x", c);
        i++;
    }
}

static int rec_done(struct rec *r)
{
    r->calls++;
    return r->stop_after && r->calls >= r->stop_after;
}

static int on_event(const struct sse_event *ev, void *ctx)
{
    struct rec *r = ctx;

    /* The callback contract, checked on every event of every test. */
    assert_int_equal(ev->type[ev->type_len], '\0');
    assert_int_equal(ev->data[ev->len], '\0');
    assert_true(utf8_valid((const unsigned char *)ev->type, ev->type_len));
    assert_true(utf8_valid((const unsigned char *)ev->data, ev->len));
    assert_true(utf8_valid((const unsigned char *)ev->id, strlen(ev->id)));
    assert_true(ev->type_len > 0);
    assert_null(memchr(ev->type, '\r', ev->type_len));
    assert_null(memchr(ev->type, '\n', ev->type_len));
    assert_null(memchr(ev->data, '\r', ev->len));
    assert_null(strpbrk(ev->id, "\r\n"));
    /* The event's id is the parser's last event ID at dispatch. */
    if (r->parser)
        assert_string_equal(ev->id, sse_parser_last_event_id(r->parser));

    buf_addstr(&r->log, "event type=\"");
    add_escaped(&r->log, ev->type, ev->type_len);
    buf_addstr(&r->log, "\" id=\"");
    add_escaped(&r->log, ev->id, strlen(ev->id));
    buf_addstr(&r->log, "\" data=\"");
    add_escaped(&r->log, ev->data, ev->len);
    buf_addstr(&r->log, "\"\n");
    return rec_done(r);
}

static int on_comment(const char *text, size_t len, void *ctx)
{
    struct rec *r = ctx;

    assert_int_equal(text[len], '\0');
    assert_true(utf8_valid((const unsigned char *)text, len));
    buf_addstr(&r->log, "comment \"");
    add_escaped(&r->log, text, len);
    buf_addstr(&r->log, "\"\n");
    return rec_done(r);
}

static int on_retry(uint64_t ms, void *ctx)
{
    struct rec *r = ctx;

    buf_addf(&r->log, "retry %llu\n", (unsigned long long)ms);
    return rec_done(r);
}

static const char *rc_name(enum rc rc)
{
    return rc == SSE_STOPPED ? "stopped" : rc_str(rc);
}

enum split { WHOLE, BYTES, RANDOM };

/* Parse s cut as how says and return the log (caller frees). */
static char *parse_split(const char *s, size_t n, const struct opts *o, enum split how,
                         uint64_t *rng)
{
    struct sse_parser p;
    struct rec r = { BUF_INIT, 0, o ? o->stop_after : 0, &p };
    struct sse_callbacks cb = { on_event, on_comment, on_retry, &r };
    enum rc rc = RC_OK, frc;
    size_t off = 0, max = 1;

    sse_parser_init(&p, &cb);
    if (o && o->max_line)
        p.max_line = o->max_line;
    if (o && o->max_event)
        p.max_event = o->max_event;
    /* Tiny chunks half the time, except on big streams: BYTES covers those, and
     * a megabyte in 1..8-byte feeds is slow under valgrind for nothing more. */
    if (how == RANDOM)
        max = rng_below(rng, 2) && n <= 65536 ? 1 + rng_below(rng, 8)
                                              : 1 + rng_below(rng, n + 1);
    while (off < n && rc == RC_OK) {
        /* Random chunkings include empty feeds. */
        size_t k = how == WHOLE ? n : how == BYTES ? 1 : rng_below(rng, max + 1);

        if (k > n - off)
            k = n - off;
        rc = sse_parser_feed(&p, s + off, k);
        off += k;
    }
    if (rc != RC_OK) {
        /* Sticky: later feeds give the same code and call nothing back. */
        int calls = r.calls;

        assert_int_equal(sse_parser_feed(&p, "data: z\n\n", 9), rc);
        assert_int_equal(r.calls, calls);
    }
    frc = sse_parser_finish(&p);
    buf_addf(&r.log, "end feed=%s finish=%s last_id=\"", rc_name(rc), rc_name(frc));
    add_escaped(&r.log, sse_parser_last_event_id(&p), strlen(sse_parser_last_event_id(&p)));
    buf_addstr(&r.log, "\"\n");
    sse_parser_release(&p);
    return buf_detach(&r.log, NULL);
}

/* Whole, byte by byte, then `splits` random chunkings: all must log want. */
static void check_stream_n(const char *s, size_t n, const struct opts *o, const char *want,
                           int splits)
{
    uint64_t rng = 0x55E0C0DECull ^ n;
    char *got;
    int i;

    got = parse_split(s, n, o, WHOLE, &rng);
    assert_string_equal(got, want);
    free(got);
    got = parse_split(s, n, o, BYTES, &rng);
    assert_string_equal(got, want);
    free(got);
    for (i = 0; i < splits; i++) {
        got = parse_split(s, n, o, RANDOM, &rng);
        assert_string_equal(got, want);
        free(got);
    }
}

static void check_stream(const char *s, size_t n, const struct opts *o, const char *want)
{
    check_stream_n(s, n, o, want, RANDOM_SPLITS);
}

#define CHECK(lit, want) check_stream(lit, sizeof(lit) - 1, NULL, want)
#define CHECK_OPTS(lit, o, want) check_stream(lit, sizeof(lit) - 1, o, want)

/* ---- encoder ---- */

static void test_sse_encode_event_writes_event_id_and_data_lines(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(sse_encode_event(&b, "stdout", "7", "{\"data\": \"hi\"}", 14), RC_OK);
    assert_string_equal(b.data, "event: stdout\nid: 7\ndata: {\"data\": \"hi\"}\n\n");
    buf_release(&b);
}

static void test_sse_encode_event_splits_data_on_lf_crlf_and_lone_cr(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(sse_encode_event(&b, NULL, NULL, "a\nb\r\nc\rd", 8), RC_OK);
    assert_string_equal(b.data, "data: a\ndata: b\ndata: c\ndata: d\n\n");
    buf_reset(&b);
    assert_int_equal(sse_encode_event(&b, NULL, NULL, "\r\n\r", 3), RC_OK);
    assert_string_equal(b.data, "data:\ndata:\ndata:\n\n");
    buf_release(&b);
}

static void test_sse_encode_event_gives_empty_data_one_data_line(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(sse_encode_event(&b, NULL, NULL, "", 0), RC_OK);
    assert_string_equal(b.data, "data:\n\n");
    buf_reset(&b);
    assert_int_equal(sse_encode_event(&b, NULL, NULL, NULL, 0), RC_OK);
    assert_string_equal(b.data, "data:\n\n");
    buf_release(&b);
}

static void test_sse_encode_event_ends_a_trailing_newline_with_an_empty_data_line(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(sse_encode_event(&b, NULL, NULL, "x\n", 2), RC_OK);
    assert_string_equal(b.data, "data: x\ndata:\n\n");
    buf_reset(&b);
    assert_int_equal(sse_encode_event(&b, NULL, NULL, "\n", 1), RC_OK);
    assert_string_equal(b.data, "data:\ndata:\n\n");
    buf_release(&b);
}

static void test_sse_encode_event_keeps_leading_spaces_after_the_one_separator(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(sse_encode_event(&b, NULL, NULL, "  x", 3), RC_OK);
    assert_string_equal(b.data, "data:   x\n\n");
    buf_release(&b);
}

static void test_sse_encode_event_refuses_line_breaks_in_event_and_id(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_addstr(&b, "before");
    assert_int_equal(sse_encode_event(&b, "a\nb", NULL, "x", 1), RC_INVALID);
    assert_int_equal(sse_encode_event(&b, "a\rb", NULL, "x", 1), RC_INVALID);
    assert_int_equal(sse_encode_event(&b, NULL, "1\r\n", "x", 1), RC_INVALID);
    assert_int_equal(sse_encode_event(&b, NULL, "\n", "x", 1), RC_INVALID);
    assert_int_equal(sse_encode_event(&b, "ok", "\r", "x", 1), RC_INVALID);
    assert_string_equal(b.data, "before");
    buf_release(&b);
}

static void test_sse_encode_event_omits_no_event_and_sends_an_empty_id(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(sse_encode_event(&b, "", "", "x", 1), RC_OK);
    assert_string_equal(b.data, "id:\ndata: x\n\n");
    buf_release(&b);
}

static void test_sse_encode_retry_and_comments_write_whole_blocks(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    sse_encode_retry(&b, 3000);
    sse_encode_comment(&b, "keepalive");
    sse_encode_comment(&b, "");
    sse_encode_comment(&b, NULL);
    assert_string_equal(b.data, "retry: 3000\n\n: keepalive\n\n:\n\n:\n\n");
    buf_reset(&b);
    sse_encode_retry(&b, UINT64_MAX);
    assert_string_equal(b.data, "retry: 18446744073709551615\n\n");
    buf_release(&b);
}

static void test_sse_encode_comment_splits_a_multi_line_comment(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    sse_encode_comment(&b, "one\ntwo\r\nthree\rfour\n");
    assert_string_equal(b.data, ": one\n: two\n: three\n: four\n:\n\n");
    buf_release(&b);
}

/* ---- parser rules ---- */

static void test_sse_parser_dispatches_a_simple_message(void **state)
{
    (void)state;
    CHECK("data: hello\n\n", EV("message", "", "hello") END_OK);
    CHECK("", END_OK);
}

static void test_sse_parser_starts_with_the_documented_limits(void **state)
{
    struct sse_parser p;

    (void)state;
    sse_parser_init(&p, NULL);
    assert_int_equal(p.max_line, 16u * 1024 * 1024);
    assert_int_equal(p.max_event, 16u * 1024 * 1024);
    /* No callbacks at all is fine. */
    assert_int_equal(sse_parser_feed(&p, "retry: 1\n: c\ndata: x\n\n", 22), RC_OK);
    assert_int_equal(sse_parser_finish(&p), RC_OK);
    sse_parser_release(&p);
    sse_parser_release(&p);
}

static void test_sse_parser_strips_one_leading_bom(void **state)
{
    (void)state;
    CHECK(BOM "data: a\n\n", EV("message", "", "a") END_OK);
    CHECK(BOM ": hi\n", COMMENT("hi") END_OK);
    CHECK(BOM, END_OK);
}

static void test_sse_parser_treats_a_second_bom_as_data(void **state)
{
    (void)state;
    /* The second BOM makes the field name U+FEFF "data", which is unknown. */
    CHECK(BOM BOM "data: a\n\n", END_OK);
    CHECK(BOM BOM ": hi\n", END_OK);
    CHECK(BOM "data: " BOM "a\n\n", EV("message", "", BOM "a") END_OK);
}

static void test_sse_parser_strips_a_bom_only_at_the_very_start(void **state)
{
    (void)state;
    CHECK("data: a\n\n" BOM "data: b\n\n", EV("message", "", "a") END_OK);
    CHECK(" " BOM ": hi\n", END_OK);
    CHECK("\n" BOM ": hi\n", END_OK);
}

static void test_sse_parser_decodes_a_partial_bom_as_invalid_utf8(void **state)
{
    (void)state;
    /* EF BB then ':' is one maximal invalid subsequence: the line is U+FFFD ": hi". */
    CHECK("\xEF\xBB: hi\n" ": x\n", COMMENT("x") END_OK);
    CHECK("\xEF" "data: a\n\n", END_OK);
    CHECK("\xEF\xBB\ndata: a\n\n", EV("message", "", "a") END_OK);
    CHECK("\xEF\xBB", END_OK);
    /* A BOM prefix followed by a valid sequence: EF BB is FFFD, then the rest. */
    CHECK("\xEF\xBB\xC3\xA9\n", END_OK);
}

static void test_sse_parser_replaces_each_maximal_invalid_subsequence(void **state)
{
    (void)state;
    CHECK("data: \xFF\n\n", EV("message", "", FFFD) END_OK);
    CHECK("data: \x80\x80\n\n", EV("message", "", FFFD FFFD) END_OK);
    CHECK("data: \xC0\x80\n\n", EV("message", "", FFFD FFFD) END_OK);
    CHECK("data: \xE2\x82" "A\n\n", EV("message", "", FFFD "A") END_OK);
    CHECK("data: \xF0\x80\x80\n\n", EV("message", "", FFFD FFFD FFFD) END_OK);
    CHECK("data: \xED\xA0\x80\n\n", EV("message", "", FFFD FFFD FFFD) END_OK);
    CHECK("data: \xF4\x90\x80\x80\n\n", EV("message", "", FFFD FFFD FFFD FFFD) END_OK);
    CHECK("data: \xF5\xC1\n\n", EV("message", "", FFFD FFFD) END_OK);
    /* The second byte's bounds: overlongs, surrogates and > U+10FFFF are refused. */
    CHECK("data: \xE0\x9F\xBF|\xE0\xA0\x80\n\n",
          EV("message", "", FFFD FFFD FFFD "|\xE0\xA0\x80") END_OK);
    CHECK("data: \xED\x9F\xBF|\xED\xBF\xBF\n\n",
          EV("message", "", "\xED\x9F\xBF|" FFFD FFFD FFFD) END_OK);
    CHECK("data: \xF0\x8F\xBF\xBF|\xF0\x90\x80\x80\n\n",
          EV("message", "", FFFD FFFD FFFD FFFD "|\xF0\x90\x80\x80") END_OK);
    CHECK("data: \xF4\x8F\xBF\xBF|\xF4\x90\x80\x80\n\n",
          EV("message", "", "\xF4\x8F\xBF\xBF|" FFFD FFFD FFFD FFFD) END_OK);
    CHECK("data: \xF0\x9F\x92\xF0\x9F\x92\xA9\n\n",
          EV("message", "", FFFD "\xF0\x9F\x92\xA9") END_OK);
    CHECK("data: \xE2\x82\n\n", EV("message", "", FFFD) END_OK);
    CHECK("data: \xE2\x82\r\n\r\n", EV("message", "", FFFD) END_OK);
    CHECK("event: \xC3\ndata: x\n\n", EV(FFFD, "", "x") END_OK);
    CHECK("id: \xC3\ndata: x\n\n", EV("message", FFFD, "x") END(
          "ok", "ok", FFFD));
}

static void test_sse_parser_keeps_valid_multibyte_text(void **state)
{
    (void)state;
    CHECK("data: h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x92\xA9 \xF4\x8F\xBF\xBF\n\n",
          EV("message", "", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x92\xA9 \xF4\x8F\xBF\xBF")
          END_OK);
}

static void test_sse_parser_decodes_sequences_cut_between_chunks(void **state)
{
    struct rec r = { BUF_INIT, 0, 0, NULL };
    struct sse_callbacks cb = { on_event, NULL, NULL, &r };
    struct sse_parser p;

    (void)state;
    sse_parser_init(&p, &cb);
    assert_int_equal(sse_parser_feed(&p, "\xEF", 1), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\xBB", 1), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\xBF" "data: \xF0", 8), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\x9F\x92", 2), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\xA9\xE2\x82", 3), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\n\n", 2), RC_OK);
    assert_int_equal(sse_parser_finish(&p), RC_OK);
    assert_string_equal(buf_cstr(&r.log), EV("message", "", "\xF0\x9F\x92\xA9" FFFD));
    sse_parser_release(&p);
    buf_release(&r.log);
}

static void test_sse_parser_accepts_crlf_lf_and_lone_cr_line_ends(void **state)
{
    (void)state;
    CHECK("data: a\r\ndata: b\ndata: c\rdata: d\r\n\r\n",
          EV("message", "", "a\\nb\\nc\\nd") END_OK);
    CHECK("data: a\r\r", EV("message", "", "a") END_OK);
    CHECK("data: a\n\r", EV("message", "", "a") END_OK);
    CHECK("data: a\r\n\n", EV("message", "", "a") END_OK);
    /* CR LF is one line end, LF CR is two. */
    CHECK("data: a\r\ndata: b\r\n", END_OK);
    CHECK("data: a\n\rdata: b\n\n", EV("message", "", "a") EV("message", "", "b") END_OK);
}

static void test_sse_parser_joins_a_cr_and_an_lf_split_across_chunks(void **state)
{
    struct rec r = { BUF_INIT, 0, 0, NULL };
    struct sse_callbacks cb = { on_event, NULL, NULL, &r };
    struct sse_parser p;

    (void)state;
    sse_parser_init(&p, &cb);
    assert_int_equal(sse_parser_feed(&p, "data: a\r", 8), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\ndata: b\r", 9), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\n", 1), RC_OK);
    assert_int_equal(r.calls, 0);
    assert_int_equal(sse_parser_feed(&p, "\r", 1), RC_OK);
    /* The blank line's CR dispatches at once, without waiting to see an LF. */
    assert_string_equal(buf_cstr(&r.log), EV("message", "", "a\\nb"));
    assert_int_equal(sse_parser_feed(&p, "\n", 1), RC_OK);
    assert_int_equal(sse_parser_finish(&p), RC_OK);
    assert_int_equal(r.calls, 1);
    sse_parser_release(&p);
    buf_release(&r.log);
}

static void test_sse_parser_ends_a_line_at_a_cr_followed_by_anything_else(void **state)
{
    struct rec r = { BUF_INIT, 0, 0, NULL };
    struct sse_callbacks cb = { on_event, NULL, NULL, &r };
    struct sse_parser p;

    (void)state;
    sse_parser_init(&p, &cb);
    assert_int_equal(sse_parser_feed(&p, "data: a\r", 8), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "data: b\r", 8), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\r", 1), RC_OK);
    assert_string_equal(buf_cstr(&r.log), EV("message", "", "a\\nb"));
    sse_parser_release(&p);
    buf_release(&r.log);
}

static void test_sse_parser_reports_comment_lines(void **state)
{
    (void)state;
    CHECK(": hello\n:\n:  two\n::x\n", COMMENT("hello") COMMENT("") COMMENT(" two")
          COMMENT(":x") END_OK);
    CHECK("data: a\n: between\ndata: b\n\n",
          COMMENT("between") EV("message", "", "a\\nb") END_OK);
    /* A comment is not a blank line: no dispatch. */
    CHECK("data: a\n:\n", COMMENT("") END_OK);
}

static void test_sse_parser_reads_a_line_without_colon_as_a_field_with_empty_value(void **state)
{
    (void)state;
    CHECK("data\n\n", EV("message", "", "") END_OK);
    CHECK("data\ndata\n\n", EV("message", "", "\\n") END_OK);
    CHECK("event: x\nevent\ndata: y\n\n", EV("message", "", "y") END_OK);
    CHECK("id: 3\nid\ndata: y\n\n", EV("message", "", "y") END_OK);
}

static void test_sse_parser_strips_exactly_one_space_after_the_colon(void **state)
{
    (void)state;
    CHECK("data:x\n\n", EV("message", "", "x") END_OK);
    CHECK("data: x\n\n", EV("message", "", "x") END_OK);
    CHECK("data:  x \n\n", EV("message", "", " x ") END_OK);
    CHECK("data:\tx\n\n", EV("message", "", "\\x09x") END_OK);
    CHECK("data: \n\n", EV("message", "", "") END_OK);
    CHECK("data:a:b: c\n\n", EV("message", "", "a:b: c") END_OK);
    CHECK("event:  sp\ndata\n\n", EV(" sp", "", "") END_OK);
}

static void test_sse_parser_sets_the_type_from_event(void **state)
{
    (void)state;
    CHECK("event: add\ndata: 1\n\n", EV("add", "", "1") END_OK);
    CHECK("event: a\nevent: b\ndata: 1\n\n", EV("b", "", "1") END_OK);
    CHECK("event: a\nevent:\ndata: 1\n\n", EV("message", "", "1") END_OK);
    CHECK("event: a\0b\ndata: 1\n\n", EV("a\\0b", "", "1") END_OK);
}

static void test_sse_parser_resets_the_type_after_each_blank_line(void **state)
{
    (void)state;
    CHECK("event: a\ndata: 1\n\ndata: 2\n\n", EV("a", "", "1") EV("message", "", "2") END_OK);
    CHECK("event: a\n\ndata: 2\n\n", EV("message", "", "2") END_OK);
}

static void test_sse_parser_appends_each_data_line_and_strips_one_final_lf(void **state)
{
    (void)state;
    CHECK("data: a\ndata:\ndata: b\n\n", EV("message", "", "a\\n\\nb") END_OK);
    CHECK("data: a\ndata:\n\n", EV("message", "", "a\\n") END_OK);
    CHECK("data:\ndata:\ndata:\n\n", EV("message", "", "\\n\\n") END_OK);
    CHECK("data: a\0b\n\n", EV("message", "", "a\\0b") END_OK);
}

static void test_sse_parser_does_not_dispatch_an_event_without_data(void **state)
{
    (void)state;
    CHECK("\n\n\r\n\r", END_OK);
    CHECK("event: a\n\n", END_OK);
    CHECK("foo: x\n\n", END_OK);
}

static void test_sse_parser_keeps_the_last_event_id_across_events(void **state)
{
    (void)state;
    CHECK("id: 1\ndata: a\n\ndata: b\n\n",
          EV("message", "1", "a") EV("message", "1", "b") END("ok", "ok", "1"));
    CHECK("data: a\nid: 2\n\n", EV("message", "2", "a") END("ok", "ok", "2"));
    CHECK("id: 1\nid: 2\ndata: a\n\n", EV("message", "2", "a") END("ok", "ok", "2"));
}

static void test_sse_parser_resets_the_last_event_id_on_an_empty_id(void **state)
{
    (void)state;
    CHECK("id: 1\ndata: a\n\nid\ndata: b\n\n",
          EV("message", "1", "a") EV("message", "", "b") END_OK);
    CHECK("id: 1\ndata: a\n\nid:\ndata: b\n\n",
          EV("message", "1", "a") EV("message", "", "b") END_OK);
    CHECK("id: 1\ndata: a\n\nid: \n\n", EV("message", "1", "a") END_OK);
}

static void test_sse_parser_ignores_an_id_holding_nul(void **state)
{
    (void)state;
    CHECK("id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n",
          EV("message", "1", "a") EV("message", "1", "b") END("ok", "ok", "1"));
    CHECK("id: \0\ndata: b\n\n", EV("message", "", "b") END_OK);
}

static void test_sse_parser_sets_the_last_event_id_at_a_blank_line_without_event(void **state)
{
    (void)state;
    CHECK("id: 7\n\n", END("ok", "ok", "7"));
    CHECK("id: 7\n\nid: 8\n", END("ok", "ok", "7"));
    CHECK("id: 7\n\ndata: x\n\n", EV("message", "7", "x") END("ok", "ok", "7"));
}

static void test_sse_parser_reports_retry_only_for_ascii_digits(void **state)
{
    (void)state;
    CHECK("retry: 1500\n", RETRY("1500") END_OK);
    CHECK("retry:0\n", RETRY("0") END_OK);
    CHECK("retry: 007\n", RETRY("7") END_OK);
    CHECK("retry: 15x\nretry: -1\nretry:\nretry: \nretry\nretry:  15\nretry: 1.5\n"
          "retry: +3\nretry: \xD9\xA3\n", END_OK);
    CHECK("retry: 18446744073709551615\n", RETRY("18446744073709551615") END_OK);
    CHECK("retry: 99999999999999999999999\n", RETRY("18446744073709551615") END_OK);
    /* retry does not touch the event being built. */
    CHECK("data: a\nretry: 5\ndata: b\n\n", RETRY("5") EV("message", "", "a\\nb") END_OK);
}

static void test_sse_parser_ignores_unknown_fields(void **state)
{
    (void)state;
    CHECK("foo: bar\ndata: x\nevent2: y\n: c\nid2: 9\n\n",
          COMMENT("c") EV("message", "", "x") END_OK);
}

static void test_sse_parser_matches_field_names_case_sensitively(void **state)
{
    (void)state;
    CHECK("Data: x\n\n", END_OK);
    CHECK("EVENT: a\nID: 4\nRetry: 5\ndata: x\n\n", EV("message", "", "x") END_OK);
    CHECK("data : x\n\n", END_OK);
    CHECK(" data: x\n\n", END_OK);
}

static void test_sse_parser_discards_an_unfinished_event_at_the_end(void **state)
{
    (void)state;
    CHECK("data: a\n", END_OK);
    CHECK("data: a", END_OK);
    CHECK("data: a\n\ndata: b", EV("message", "", "a") END_OK);
    CHECK("data: a\n\ndata: b\n", EV("message", "", "a") END_OK);
    CHECK("data: a\n\nevent: x\nid: 4\ndata: b\n", EV("message", "", "a") END_OK);
}

static void test_sse_parser_refuses_to_be_fed_after_finish(void **state)
{
    struct rec r = { BUF_INIT, 0, 0, NULL };
    struct sse_callbacks cb = { on_event, NULL, NULL, &r };
    struct sse_parser p;

    (void)state;
    sse_parser_init(&p, &cb);
    assert_int_equal(sse_parser_feed(&p, "data: a\n", 8), RC_OK);
    assert_int_equal(sse_parser_finish(&p), RC_OK);
    assert_int_equal(sse_parser_feed(&p, "\n", 1), RC_INVALID);
    assert_int_equal(sse_parser_finish(&p), RC_OK);
    assert_int_equal(r.calls, 0);
    sse_parser_release(&p);
}

/* ---- limits and stopping ---- */

static void test_sse_parser_refuses_a_line_over_max_line(void **state)
{
    struct opts o = { 8, 0, 0 };

    (void)state;
    CHECK_OPTS("data: 12\n\n", &o, EV("message", "", "12") END_OK);
    CHECK_OPTS("data: 1\n\ndata: 123\n\n", &o,
               EV("message", "", "1") END("too large", "too large", ""));
    CHECK_OPTS(": 345678\r\n", &o, COMMENT("345678") END_OK);
    CHECK_OPTS(": 3456789", &o, END("too large", "too large", ""));
    /* U+FFFD counts as the three bytes it decodes to. */
    CHECK_OPTS("data:\xFF\xFF\n", &o, END("too large", "too large", ""));
}

static void test_sse_parser_refuses_an_event_over_max_event(void **state)
{
    struct opts o = { 0, 4, 0 };

    (void)state;
    CHECK_OPTS("data: ab\ndata:\n\n", &o, EV("message", "", "ab\\n") END_OK);
    CHECK_OPTS("data: abc\n\ndata: ab\ndata: c\n\n", &o,
               EV("message", "", "abc") END("too large", "too large", ""));
    CHECK_OPTS("data: abcd\n\n", &o, END("too large", "too large", ""));
}

static void test_sse_parser_holds_memory_within_the_limits(void **state)
{
    struct sse_parser p;
    char chunk[1000];
    enum rc rc = RC_OK;
    int i;

    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    sse_parser_init(&p, NULL);
    p.max_line = 4096;
    for (i = 0; i < 100 && rc == RC_OK; i++)
        rc = sse_parser_feed(&p, chunk, sizeof(chunk));
    assert_int_equal(rc, RC_TOO_LARGE);
    assert_true(p.line.cap <= 2 * (p.max_line + 1));
    sse_parser_release(&p);
}

static void test_sse_parser_stops_when_a_callback_asks(void **state)
{
    struct opts first = { 0, 0, 1 }, second = { 0, 0, 2 };

    (void)state;
    CHECK_OPTS("data: a\n\ndata: b\n\n", &first,
               EV("message", "", "a") END("stopped", "stopped", ""));
    CHECK_OPTS("id: 1\ndata: a\n\n: c\nretry: 3\ndata: b\n\n", &second,
               EV("message", "1", "a") COMMENT("c") END("stopped", "stopped", "1"));
    CHECK_OPTS("retry: 3\ndata: b\n\n", &first, RETRY("3") END("stopped", "stopped", ""));
    assert_int_not_equal(SSE_STOPPED, RC_OK);
    assert_int_not_equal(SSE_STOPPED, RC_TOO_LARGE);
    assert_int_not_equal(SSE_STOPPED, RC_INVALID);
}

/* ---- round trips ---- */

/* Encode data as one event, parse it in many chunkings: want comes back. */
static void round_trip(const char *data, size_t len, const char *want, size_t want_len,
                       int splits)
{
    struct buf stream = BUF_INIT, log = BUF_INIT;

    assert_int_equal(sse_encode_event(&stream, "stdout", "7", data, len), RC_OK);
    sse_encode_comment(&stream, "keepalive\nagain");
    assert_int_equal(sse_encode_event(&stream, NULL, NULL, "z", 1), RC_OK);
    buf_addstr(&log, "event type=\"stdout\" id=\"7\" data=\"");
    add_escaped(&log, want, want_len);
    buf_addstr(&log, "\"\n" COMMENT("keepalive") COMMENT("again") EV("message", "7", "z")
               END("ok", "ok", "7"));
    check_stream_n(stream.data, stream.len, NULL, log.data, splits);
    buf_release(&stream);
    buf_release(&log);
}

#define ROUND_TRIP(d, w) round_trip(d, sizeof(d) - 1, w, sizeof(w) - 1, RANDOM_SPLITS)

static void test_sse_round_trip_gives_back_awkward_data(void **state)
{
    (void)state;
    ROUND_TRIP("", "");
    ROUND_TRIP("\n", "\n");
    ROUND_TRIP("\n\n", "\n\n");
    ROUND_TRIP("a\nb\n", "a\nb\n");
    ROUND_TRIP(" lead", " lead");
    ROUND_TRIP(":colon", ":colon");
    ROUND_TRIP("a\0b", "a\0b");
    ROUND_TRIP("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA9", "h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA9");
    ROUND_TRIP(BOM "x", BOM "x");
    /* A payload that looks like fields stays data. */
    ROUND_TRIP("x\n\nevent: evil\nid: 666\ndata: y\n\n", "x\n\nevent: evil\nid: 666\ndata: y\n\n");
}

static void test_sse_round_trip_turns_cr_and_crlf_into_lf(void **state)
{
    (void)state;
    ROUND_TRIP("a\r\nb", "a\nb");
    ROUND_TRIP("\r", "\n");
    ROUND_TRIP("\r\n", "\n");
    ROUND_TRIP("\n\r", "\n\n");
    ROUND_TRIP("a\r\r\nb\r", "a\n\nb\n");
}

static void test_sse_round_trip_replaces_invalid_utf8(void **state)
{
    (void)state;
    ROUND_TRIP("\xFF", FFFD);
    ROUND_TRIP("a\xC0\x80z", "a" FFFD FFFD "z");
    ROUND_TRIP("\xE2\x82\n", FFFD "\n");
}

static void test_sse_round_trip_carries_one_mib_lines(void **state)
{
    size_t n = 1024 * 1024, i;
    char *big = xmalloc(3 * n + 8), *want = xmalloc(3 * n + 8);

    (void)state;
    for (i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    round_trip(big, n, big, n, 3);
    /* Two 1 MiB lines, CRLF between them and at the end. */
    memcpy(big + n, "\r\n", 2);
    memcpy(big + n + 2, big, n);
    memcpy(big + 2 * n + 2, "\r\n", 2);
    memcpy(want, big, n);
    want[n] = '\n';
    memcpy(want + n + 1, big, n);
    want[2 * n + 1] = '\n';
    round_trip(big, 2 * n + 4, want, 2 * n + 2, 2);
    /* Many line breaks: 64 Ki empty data lines (a 384 KiB stream). */
    memset(big, '\n', 64 * 1024);
    round_trip(big, 64 * 1024, big, 64 * 1024, 2);
    free(big);
    free(want);
}

/* The documented property: parse(encode(d)) is d with CRLF and lone CR made LF. */
static void test_sse_round_trip_holds_for_random_valid_utf8(void **state)
{
    static const char *const pieces[] = {
        "a", "b", " ", ":", "\n", "\r", "\r\n", "\xC3\xA9", "\xE2\x82\xAC",
        "\xF0\x9F\x92\xA9", "data: ", "id: 1", BOM,
    };
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    struct buf data = BUF_INIT, want = BUF_INIT;
    uint64_t rng = 42;
    int iter, k, count;
    size_t i;

    (void)state;
    for (iter = 0; iter < 300; iter++) {
        buf_reset(&data);
        buf_reset(&want);
        count = (int)rng_below(&rng, 40);
        for (k = 0; k < count; k++) {
            size_t j = rng_below(&rng, npieces + 1);

            if (j == npieces)
                buf_addch(&data, '\0');
            else
                buf_addstr(&data, pieces[j]);
        }
        for (i = 0; i < data.len; i++) {
            if (data.data[i] != '\r') {
                buf_addch(&want, data.data[i]);
                continue;
            }
            buf_addch(&want, '\n');
            if (i + 1 < data.len && data.data[i + 1] == '\n')
                i++;
        }
        round_trip(buf_cstr(&data), data.len, buf_cstr(&want), want.len, 3);
    }
    buf_release(&data);
    buf_release(&want);
}

/* ---- fuzzing ---- */

/* A reference model for differential fuzzing: the WHATWG steps done over the whole
 * stream at once, written separately from the incremental parser (default limits,
 * no stopping). Returns the log parse_split would give (caller frees). */
static size_t ref_sequence(const unsigned char *s, size_t n)
{
    /* Unicode Table 3-7: how many bytes at s form a maximal valid prefix, or 0 when
     * s[0] cannot start a sequence; returns len|0x100 for a complete sequence. */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need, k;

    if (s[0] < 0x80)
        return 1 | 0x100;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 1;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 2;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 3;
    else
        return 0;
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi)
            return k;
        lo = 0x80;
        hi = 0xBF;
    }
    return (need + 1) | 0x100;
}

static char *ref_parse(const char *in, size_t n)
{
    const unsigned char *s = (const unsigned char *)in;
    struct buf text = BUF_INIT, log = BUF_INIT, data = BUF_INIT, type = BUF_INIT;
    struct buf idbuf = BUF_INIT, lastid = BUF_INIT;
    size_t i = 0, start, end, k;

    if (n >= 3 && memcmp(s, BOM, 3) == 0)
        i = 3;
    while (i < n) {
        k = ref_sequence(s + i, n - i);
        if (k & 0x100) {
            buf_add(&text, s + i, k & 0xFF);
            i += k & 0xFF;
        } else {
            buf_addstr(&text, FFFD);
            i += k ? k : 1;
        }
    }
    for (start = 0;; start = end) {
        const char *line = buf_cstr(&text) + start, *colon, *value;
        size_t len, nlen, vlen;

        for (end = start; end < text.len && text.data[end] != '\r' && text.data[end] != '\n';
             end++)
            ;
        if (end == text.len)
            break; /* no line end: discarded */
        len = end - start;
        end += text.data[end] == '\r' && end + 1 < text.len && text.data[end + 1] == '\n' ? 2 : 1;
        if (len == 0) {
            buf_reset(&lastid);
            buf_add(&lastid, buf_cstr(&idbuf), idbuf.len);
            if (data.len) {
                buf_truncate(&data, data.len - 1);
                buf_addstr(&log, "event type=\"");
                if (type.len)
                    add_escaped(&log, type.data, type.len);
                else
                    buf_addstr(&log, "message");
                buf_addstr(&log, "\" id=\"");
                add_escaped(&log, buf_cstr(&lastid), lastid.len);
                buf_addstr(&log, "\" data=\"");
                add_escaped(&log, data.data, data.len);
                buf_addstr(&log, "\"\n");
            }
            buf_reset(&data);
            buf_reset(&type);
            continue;
        }
        colon = memchr(line, ':', len);
        nlen = colon ? (size_t)(colon - line) : len;
        value = colon ? colon + 1 : line + len;
        vlen = colon ? len - nlen - 1 : 0;
        if (vlen && value[0] == ' ') {
            value++;
            vlen--;
        }
        if (nlen == 0) {
            buf_addstr(&log, "comment \"");
            add_escaped(&log, value, vlen);
            buf_addstr(&log, "\"\n");
        } else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
            buf_reset(&type);
            buf_add(&type, value, vlen);
        } else if (nlen == 4 && memcmp(line, "data", 4) == 0) {
            buf_add(&data, value, vlen);
            buf_addch(&data, '\n');
        } else if (nlen == 2 && memcmp(line, "id", 2) == 0) {
            if (!memchr(value, '\0', vlen)) {
                buf_reset(&idbuf);
                buf_add(&idbuf, value, vlen);
            }
        } else if (nlen == 5 && memcmp(line, "retry", 5) == 0 && vlen &&
                   strspn(value, "0123456789") >= vlen && vlen < 20) {
            buf_addf(&log, "retry %llu\n", strtoull(value, NULL, 10));
        }
    }
    buf_addf(&log, "end feed=ok finish=ok last_id=\"");
    add_escaped(&log, buf_cstr(&lastid), lastid.len);
    buf_addstr(&log, "\"\n");
    buf_release(&text);
    buf_release(&data);
    buf_release(&type);
    buf_release(&idbuf);
    buf_release(&lastid);
    return buf_detach(&log, NULL);
}

static void test_sse_reference_model_agrees_on_known_streams(void **state)
{
    char *got;

    (void)state;
    got = ref_parse(BOM "id: 1\r\nevent: e\rdata: \xE2\x82" "A\n\n: c\nretry: 5\ndata\n\n", 49);
    assert_string_equal(got, EV("e", "1", FFFD "A") COMMENT("c") RETRY("5")
                        EV("message", "1", "") END("ok", "ok", "1"));
    free(got);
}


/* Same log whole, byte by byte and in random chunkings; no crash, no leak, and the
 * callbacks' checks (valid UTF-8, no CR, NUL-terminated) hold throughout. */
static void test_sse_parser_survives_random_token_streams(void **state)
{
    static const char *const tokens[] = {
        "data", "data:", "data: ", "event:", "event: x", "id:", "id: 9", "retry:",
        "retry: 12", ":", " ", "\n", "\r", "\r\n", "\n\n", "x", BOM, "\xEF", "\xBB",
        "\xBF", "\x80", "\xC3", "\xE2\x82", "\xF0\x9F", "\xFF", "Data", "\xC3\xA9",
        "\xE0", "\xED", "\xF0", "\xF4", "\x8F", "\x90", "\x9F", "\xA0",
    };
    struct buf s = BUF_INIT;
    uint64_t rng = 0xF022u;
    int iter, k, count;

    (void)state;
    for (iter = 0; iter < 2000; iter++) {
        struct opts o = { 0, 0, 0 };
        char *want;
        int split;

        buf_reset(&s);
        count = (int)rng_below(&rng, 60);
        for (k = 0; k < count; k++) {
            size_t j = rng_below(&rng, sizeof(tokens) / sizeof(tokens[0]) + 1);

            if (j == sizeof(tokens) / sizeof(tokens[0]))
                buf_addch(&s, '\0');
            else
                buf_addstr(&s, tokens[j]);
        }
        if (rng_below(&rng, 3) == 0) {
            o.max_line = 1 + rng_below(&rng, 40);
            o.max_event = 1 + rng_below(&rng, 60);
        }
        if (rng_below(&rng, 4) == 0)
            o.stop_after = 1 + (int)rng_below(&rng, 5);
        want = parse_split(buf_cstr(&s), s.len, &o, WHOLE, &rng);
        if (!o.max_line && !o.stop_after) {
            char *ref = ref_parse(buf_cstr(&s), s.len);

            assert_string_equal(want, ref);
            free(ref);
        }
        for (split = 0; split < 4; split++) {
            char *got = parse_split(buf_cstr(&s), s.len, &o, split ? RANDOM : BYTES, &rng);

            assert_string_equal(got, want);
            free(got);
        }
        free(want);
    }
    buf_release(&s);
}

static void test_sse_parser_survives_random_bytes(void **state)
{
    uint64_t rng = 0xB17E5u;
    char s[512];
    int iter;

    (void)state;
    for (iter = 0; iter < 1000; iter++) {
        size_t n = rng_below(&rng, sizeof(s) + 1), i;
        char *want, *got;

        for (i = 0; i < n; i++)
            s[i] = (char)rng_next(&rng);
        /* Half of them framed as one data line, so the bytes reach an event. */
        if (iter % 2 && n >= 8) {
            memcpy(s, "data:", 5);
            memcpy(s + n - 2, "\n\n", 2);
            for (i = 5; i < n - 2; i++)
                if (s[i] == '\r' || s[i] == '\n')
                    s[i] = 'x';
        }
        want = parse_split(s, n, NULL, WHOLE, &rng);
        got = parse_split(s, n, NULL, RANDOM, &rng);
        assert_string_equal(got, want);
        free(got);
        got = ref_parse(s, n);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_encode_event_writes_event_id_and_data_lines),
        cmocka_unit_test(test_sse_encode_event_splits_data_on_lf_crlf_and_lone_cr),
        cmocka_unit_test(test_sse_encode_event_gives_empty_data_one_data_line),
        cmocka_unit_test(test_sse_encode_event_ends_a_trailing_newline_with_an_empty_data_line),
        cmocka_unit_test(test_sse_encode_event_keeps_leading_spaces_after_the_one_separator),
        cmocka_unit_test(test_sse_encode_event_refuses_line_breaks_in_event_and_id),
        cmocka_unit_test(test_sse_encode_event_omits_no_event_and_sends_an_empty_id),
        cmocka_unit_test(test_sse_encode_retry_and_comments_write_whole_blocks),
        cmocka_unit_test(test_sse_encode_comment_splits_a_multi_line_comment),
        cmocka_unit_test(test_sse_parser_dispatches_a_simple_message),
        cmocka_unit_test(test_sse_parser_starts_with_the_documented_limits),
        cmocka_unit_test(test_sse_parser_strips_one_leading_bom),
        cmocka_unit_test(test_sse_parser_treats_a_second_bom_as_data),
        cmocka_unit_test(test_sse_parser_strips_a_bom_only_at_the_very_start),
        cmocka_unit_test(test_sse_parser_decodes_a_partial_bom_as_invalid_utf8),
        cmocka_unit_test(test_sse_parser_replaces_each_maximal_invalid_subsequence),
        cmocka_unit_test(test_sse_parser_keeps_valid_multibyte_text),
        cmocka_unit_test(test_sse_parser_decodes_sequences_cut_between_chunks),
        cmocka_unit_test(test_sse_parser_accepts_crlf_lf_and_lone_cr_line_ends),
        cmocka_unit_test(test_sse_parser_joins_a_cr_and_an_lf_split_across_chunks),
        cmocka_unit_test(test_sse_parser_ends_a_line_at_a_cr_followed_by_anything_else),
        cmocka_unit_test(test_sse_parser_reports_comment_lines),
        cmocka_unit_test(test_sse_parser_reads_a_line_without_colon_as_a_field_with_empty_value),
        cmocka_unit_test(test_sse_parser_strips_exactly_one_space_after_the_colon),
        cmocka_unit_test(test_sse_parser_sets_the_type_from_event),
        cmocka_unit_test(test_sse_parser_resets_the_type_after_each_blank_line),
        cmocka_unit_test(test_sse_parser_appends_each_data_line_and_strips_one_final_lf),
        cmocka_unit_test(test_sse_parser_does_not_dispatch_an_event_without_data),
        cmocka_unit_test(test_sse_parser_keeps_the_last_event_id_across_events),
        cmocka_unit_test(test_sse_parser_resets_the_last_event_id_on_an_empty_id),
        cmocka_unit_test(test_sse_parser_ignores_an_id_holding_nul),
        cmocka_unit_test(test_sse_parser_sets_the_last_event_id_at_a_blank_line_without_event),
        cmocka_unit_test(test_sse_parser_reports_retry_only_for_ascii_digits),
        cmocka_unit_test(test_sse_parser_ignores_unknown_fields),
        cmocka_unit_test(test_sse_parser_matches_field_names_case_sensitively),
        cmocka_unit_test(test_sse_parser_discards_an_unfinished_event_at_the_end),
        cmocka_unit_test(test_sse_parser_refuses_to_be_fed_after_finish),
        cmocka_unit_test(test_sse_parser_refuses_a_line_over_max_line),
        cmocka_unit_test(test_sse_parser_refuses_an_event_over_max_event),
        cmocka_unit_test(test_sse_parser_holds_memory_within_the_limits),
        cmocka_unit_test(test_sse_parser_stops_when_a_callback_asks),
        cmocka_unit_test(test_sse_round_trip_gives_back_awkward_data),
        cmocka_unit_test(test_sse_round_trip_turns_cr_and_crlf_into_lf),
        cmocka_unit_test(test_sse_round_trip_replaces_invalid_utf8),
        cmocka_unit_test(test_sse_round_trip_carries_one_mib_lines),
        cmocka_unit_test(test_sse_round_trip_holds_for_random_valid_utf8),
        cmocka_unit_test(test_sse_reference_model_agrees_on_known_streams),
        cmocka_unit_test(test_sse_parser_survives_random_token_streams),
        cmocka_unit_test(test_sse_parser_survives_random_bytes),
    };

    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
