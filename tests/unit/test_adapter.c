/* Unit tests for conformance/adapter: how hogconf takes the lines an adapter writes (call
 * results, events, protocol errors, stray lines) and keeps its transcript. hogconf's
 * modules are not in libhog, so the two it needs are compiled into this test. */
#define _GNU_SOURCE     /* conformance/child.c needs pipe2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../conformance/adapter.c"
#include "../../conformance/child.c"

static void adapter_fake(struct adapter *a)
{
    memset(a, 0, sizeof(*a));
    a->child.in_fd = a->child.out_fd = -1;
    a->first_event_ms = -1;
    a->t0 = child_now_ms();
}

/* Take each '\n'-ended line of text for call "c1"; the result (or NULL) is returned. */
static cJSON *take_lines(struct adapter *a, const char *text, size_t len, cJSON *events)
{
    cJSON *result = NULL;
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (!result)
            adapter_take_line(a, "c1", p, n, a->t0, &result, events);
        p += n + 1;
    }
    return result;
}

/* Every transcript line parses as a JSON object and is valid UTF-8. */
static void assert_transcript_ndjson(const struct buf *t)
{
    const char *p = buf_cstr(t), *end = p + t->len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cJSON *o;

        assert_non_null(nl);
        assert_true(utf8_valid((const unsigned char *)p, (size_t)(nl - p)));
        o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        assert_true(cJSON_IsObject(o));
        cJSON_Delete(o);
        p = nl + 1;
    }
}

static void test_adapter_takes_events_then_the_result_of_its_call(void **state)
{
    static const char lines[] =
        "{\"type\":\"event\",\"id\":\"other\",\"event\":{\"kind\":\"stdout\"}}\n"
        "not json at all\n"
        "{\"type\":\"event\",\"id\":\"c1\",\"seq\":0,\"event\":{\"kind\":\"stdout\",\"data\":\"a\\n\"}}\n"
        "{\"type\":\"event\",\"id\":\"c1\",\"seq\":1}\n"
        "{\"type\":\"result\",\"id\":\"c1\",\"ok\":true,\"value\":{\"exit_code\":0}}\n";
    struct adapter a;
    cJSON *events = cJSON_CreateArray(), *result;

    (void)state;
    adapter_fake(&a);
    result = take_lines(&a, lines, sizeof(lines) - 1, events);
    assert_non_null(result);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok")));
    assert_int_equal(cJSON_GetArraySize(events), 2);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(events, 1)));
    assert_true(a.first_event_ms >= 0);
    assert_transcript_ndjson(&a.transcript);
    assert_non_null(strstr(buf_cstr(&a.transcript), "\"raw\":\"not json at all\""));
    cJSON_Delete(result);
    cJSON_Delete(events);
    buf_release(&a.transcript);
}

static void test_adapter_turns_a_protocol_error_into_a_failed_result(void **state)
{
    static const char line[] = "{\"type\":\"protocol_error\",\"id\":\"c1\",\"message\":7}\n";
    struct adapter a;
    cJSON *events = cJSON_CreateArray(), *result;
    const cJSON *error;

    (void)state;
    adapter_fake(&a);
    result = take_lines(&a, line, sizeof(line) - 1, events);
    assert_non_null(result);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(result, "ok")));
    error = cJSON_GetObjectItemCaseSensitive(result, "error");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(error, "type")->valuestring,
                        "ProtocolError");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(error, "message")->valuestring, "");
    cJSON_Delete(result);
    cJSON_Delete(events);
    buf_release(&a.transcript);
}

/* Found by tests/fuzz/fuzz_adapter (corpus: adapter/invalid-utf8): a line that is JSON but
 * not UTF-8 went into the transcript as it came, so adapter.ndjson was not UTF-8. It is
 * kept as raw text now, with U+FFFD for the bad bytes. */
static void test_adapter_transcript_stays_utf8_whatever_the_adapter_writes(void **state)
{
    static const char lines[] =
        "{\"type\":\"protocol_error\",\"id\":\"\x84" "c1\",\"message\":7}\n"
        "{\"type\":\"event\",\"id\":\"c1\",\"event\":\"\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80\"}\n"
        "{\"a\":\"\xe2\x82\"}\n"
        "{\"type\":\"result\",\"id\":\"c1\",\"ok\":true,\"value\":\"\xc3\xa9\xf0\x9f\x98\x80\"}\n";
    struct adapter a;
    cJSON *events = cJSON_CreateArray(), *result;

    (void)state;
    adapter_fake(&a);
    result = take_lines(&a, lines, sizeof(lines) - 1, events);
    assert_non_null(result);
    assert_transcript_ndjson(&a.transcript);
    /* Valid UTF-8 is kept as the message it is. */
    assert_non_null(strstr(buf_cstr(&a.transcript), "\"msg\":{\"type\":\"result\""));
    assert_non_null(strstr(buf_cstr(&a.transcript), "\"raw\":\"{\\\"a\\\":\\\"\xef\xbf\xbd"));
    cJSON_Delete(result);
    cJSON_Delete(events);
    buf_release(&a.transcript);
}

static void test_adapter_utf8_check_follows_rfc_3629(void **state)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        { "", true }, { "plain", true }, { "\xc3\xa9", true }, { "\xe2\x82\xac", true },
        { "\xf0\x9f\x98\x80", true }, { "\xf4\x8f\xbf\xbf", true }, { "\xef\xbf\xbd", true },
        { "\x80", false }, { "\xc0\xaf", false }, { "\xc1\xbf", false }, { "\xc3", false },
        { "\xe0\x80\xaf", false }, { "\xed\xa0\x80", false }, { "\xe2\x82", false },
        { "\xf0\x80\x80\xaf", false }, { "\xf4\x90\x80\x80", false }, { "\xf5\x80\x80\x80", false },
        { "\xff", false }, { "a\xc3\xa9\xc3", false },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(utf8_valid((const unsigned char *)cases[i].s, strlen(cases[i].s)),
                         cases[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_takes_events_then_the_result_of_its_call),
        cmocka_unit_test(test_adapter_turns_a_protocol_error_into_a_failed_result),
        cmocka_unit_test(test_adapter_transcript_stays_utf8_whatever_the_adapter_writes),
        cmocka_unit_test(test_adapter_utf8_check_follows_rfc_3629),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("adapter", tests, NULL, NULL);
}
