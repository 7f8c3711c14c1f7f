/* Unit tests for common/log: levels, parsing and the sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "log.h"

static void capture(enum log_level level, const char *line, void *ctx)
{
    struct buf *b = ctx;

    buf_addf(b, "%s:%s\n", log_level_str(level), line);
}

static void test_log_level_parse_accepts_the_five_names(void **state)
{
    enum log_level l;

    (void)state;
    assert_int_equal(log_level_parse("error", &l), RC_OK);
    assert_int_equal(l, LOG_ERROR);
    assert_int_equal(log_level_parse("trace", &l), RC_OK);
    assert_int_equal(l, LOG_TRACE);
    assert_int_equal(log_level_parse("INFO", &l), RC_INVALID);
    assert_int_equal(log_level_parse("", &l), RC_INVALID);
    assert_string_equal(log_level_str(LOG_WARN), "warn");
}

static void test_log_drops_messages_above_the_level(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    log_set_sink(capture, &b);
    log_set_level(LOG_WARN);
    log_error("unable to open '%s'", "x.db");
    log_info("not shown");
    log_debug("not shown either");
    log_warn("slow request %d ms", 12);
    log_set_sink(NULL, NULL);
    log_set_level(LOG_INFO);
    assert_string_equal(buf_cstr(&b), "error:unable to open 'x.db'\nwarn:slow request 12 ms\n");
    buf_release(&b);
}

static void test_log_cuts_overlong_lines_safely(void **state)
{
    struct buf b = BUF_INIT;
    char big[5000];

    (void)state;
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_set_sink(capture, &b);
    log_error("%s", big);
    log_set_sink(NULL, NULL);
    assert_true(b.len > 1000 && b.len < sizeof(big));
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_level_parse_accepts_the_five_names),
        cmocka_unit_test(test_log_drops_messages_above_the_level),
        cmocka_unit_test(test_log_cuts_overlong_lines_safely),
    };

    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
