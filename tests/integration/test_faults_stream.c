/* Integration tests for fault plans on exec streams (execHogboxStream), read over a real
 * socket and parsed with the common SSE parser: each sse_ kind after event N, a fault that
 * never comes, body faults (truncate, drip, a status after the commit) on a stream, and
 * the journal's account of each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"
#include "server.h"
#include "sse.h"
#include "xmalloc.h"

/* Three output events and the exit event. */
#define ABC "{\"argv\":[\"sh\",\"-c\",\"echo a; echo b; echo c\"]}"

struct ev {
    char type[40], id[16];
    char data[160];
};

/* One stream as the client saw it. */
struct got {
    CURLcode rc;
    long status;
    struct buf raw;
    struct ev ev[16];
    size_t nev;
    long ms;
};

static int on_event(const struct sse_event *e, void *ctx)
{
    struct got *g = ctx;

    if (g->nev < sizeof(g->ev) / sizeof(g->ev[0])) {
        snprintf(g->ev[g->nev].type, sizeof(g->ev[0].type), "%s", e->type);
        snprintf(g->ev[g->nev].id, sizeof(g->ev[0].id), "%s", e->id);
        snprintf(g->ev[g->nev].data, sizeof(g->ev[0].data), "%s", e->data);
    }
    g->nev++;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(&((struct got *)ctx)->raw, data, size * n);
    return size * n;
}

/* Run a stream of json on box as alice; the events come from the common parser fed with
 * what arrived, finished as a client does when the connection ends. */
static void stream(struct mock *m, const char *box, const char *json, struct got *g)
{
    struct sse_callbacks cb = { on_event, NULL, NULL, g };
    struct curl_slist *h = NULL;
    struct sse_parser p;
    struct timespec t0;
    char url[256];
    CURL *c = curl_easy_init();

    memset(g, 0, sizeof(*g));
    snprintf(url, sizeof(url), "%s/v1/hogboxes/%s/exec/stream", m->url, box);
    h = curl_slist_append(h, "Authorization: Bearer tok_alice");
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    g->rc = curl_easy_perform(c);
    g->ms = mock_ms_since(&t0);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    sse_parser_init(&p, &cb);
    assert_int_equal(sse_parser_feed(&p, g->raw.data, g->raw.len), RC_OK);
    sse_parser_finish(&p);
    sse_parser_release(&p);
}

/* The events' types and ids as "stdout/1 stdout/2 exit/3". */
static const char *seq(const struct got *g)
{
    static char out[512];
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < g->nev && i < 16; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s/%s", i ? " " : "", g->ev[i].type,
                              g->ev[i].id);
    return out;
}

static void add_plan(struct mock *m, const char *json, char *id, size_t size)
{
    struct resp r;

    mock_json(m, "POST", "/__hogmock/faults", NULL, json, &r);
    if (r.status != 201)
        fail_msg("fault plan %s: %ld %s", json, r.status, buf_cstr(&r.body));
    mock_check(m, "adminAddFault", &r);
    if (id)
        snprintf(id, size, "%s", resp_str(&r, "id"));
    resp_release(&r);
}

static void clear_plans(struct mock *m)
{
    struct resp r;

    mock_call(m, "DELETE", "/__hogmock/faults", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_release(&r);
}

/* The newest execHogboxStream journal entry once its stream is over (up to 5 s). */
static cJSON *stream_entry(struct mock *m)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct resp r;
        const cJSON *items, *last;
        cJSON *out = NULL;

        mock_expect(m, "adminJournal", 200, "GET",
                    "/__hogmock/journal?op=execHogboxStream&limit=1000", NULL, NULL, &r);
        items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
        last = cJSON_GetArrayItem(items, cJSON_GetArraySize(items) - 1);
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(last, "stream")))
            out = cJSON_Duplicate(last, 1);
        resp_release(&r);
        if (out)
            return out;
        if (mock_ms_since(&t0) > 5000)
            fail_msg("the journal never recorded the end of the stream");
        mock_pause_ms(10);
    }
}

/* The journal says plan id acted (or not) on the last stream. */
static void expect_fault(struct mock *m, const char *id, const char *action, bool fired)
{
    cJSON *e = stream_entry(m);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "fault");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "stream");
    char want[64];

    snprintf(want, sizeof(want), "%s:%s", id, action);
    if (!cJSON_IsString(f) || strcmp(f->valuestring, want) != 0)
        fail_msg("the journal's fault is '%s', expected '%s'",
                 cJSON_IsString(f) ? f->valuestring : "null", want);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "fault_fired")) != fired)
        fail_msg("the journal says fault_fired %s", fired ? "false" : "true");
    cJSON_Delete(e);
}

static void expect_no_threads(struct mock *m)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&m->hm->threads) > 0) {
        if (mock_ms_since(&t0) > 5000)
            fail_msg("%d command threads still run", (int)atomic_load(&m->hm->threads));
        mock_pause_ms(10);
    }
}

struct fx {
    struct mock *m;
    char *box;
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    f->m = mock_start(NULL);
    f->box = mock_new_box(f->m, "tok_alice");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    free(f->box);
    mock_stop(f->m);
    free(f);
    return 0;
}

/* ---- each kind ------------------------------------------------------------------------ */

static void test_sse_drop_resets_after_event_n(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_drop\",\"after_event\":2}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.rc, CURLE_RECV_ERROR);
    assert_string_equal(seq(&g), "stdout/1 stdout/2");
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_drop", true);
    expect_no_threads(f->m);
    /* times ran out: the next stream is whole. */
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_string_equal(seq(&g), "stdout/1 stdout/2 stdout/3 exit/4");
    buf_release(&g.raw);
}

static void test_sse_close_ends_cleanly_without_exit(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_close\",\"after_event\":1}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_string_equal(seq(&g), "stdout/1");
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_close", true);
    expect_no_threads(f->m);
}

static void test_sse_stall_goes_silent_then_cuts(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_stall\",\"after_event\":1,\"max_ms\":300}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_PARTIAL_FILE);
    assert_string_equal(seq(&g), "stdout/1");
    assert_true(g.ms >= 300);   /* a stall is on the wire: real time, even on a virtual clock */
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_stall", true);
    expect_no_threads(f->m);
}

static void test_sse_cut_mid_line_stops_inside_a_data_line(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;
    const char *tail;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_cut_mid_line\",\"after_event\":2}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_PARTIAL_FILE);
    assert_string_equal(seq(&g), "stdout/1 stdout/2");
    tail = strstr(buf_cstr(&g.raw), "id: 3\ndata: ");
    assert_non_null(tail);
    assert_null(strchr(tail + 12, '\n'));   /* the data line never ends */
    assert_true(strlen(tail + 12) > 0);
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_cut_mid_line", true);
}

static void test_sse_garbage_line_is_skipped_and_the_same_seed_gives_the_same_bytes(void **state)
{
    struct fx *f = *state;
    char id[32], line[2][64];
    struct got g;
    int run;

    for (run = 0; run < 2; run++) {
        const char *after, *end;

        clear_plans(f->m);
        add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"seed\":5,\"times\":1,"
                       "\"action\":{\"type\":\"sse_garbage_line\",\"after_event\":2,"
                       "\"bytes\":40}}", id, sizeof(id));
        stream(f->m, f->box, ABC, &g);
        assert_int_equal(g.rc, CURLE_OK);
        assert_string_equal(seq(&g), "stdout/1 stdout/2 stdout/3 exit/4");
        after = strstr(buf_cstr(&g.raw), "{\"data\":\"b\\n\"}\n\n");
        assert_non_null(after);
        after += strlen("{\"data\":\"b\\n\"}\n\n");
        end = memchr(after, '\n', g.raw.len - (size_t)(after - g.raw.data));
        assert_non_null(end);
        assert_int_equal(end - after, 40);
        assert_true(strncmp(end + 1, "event: stdout\nid: 3\n", 20) == 0);
        memcpy(line[run], after, 40);
        buf_release(&g.raw);
        expect_fault(f->m, id, "sse_garbage_line", true);
    }
    assert_memory_equal(line[0], line[1], 40);
}

static void test_sse_duplicate_event_sends_it_twice(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_duplicate_event\",\"after_event\":2}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_string_equal(seq(&g), "stdout/1 stdout/2 stdout/2 stdout/3 exit/4");
    assert_string_equal(g.ev[1].data, g.ev[2].data);
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_duplicate_event", true);
}

static void test_sse_unknown_event_kind_comes_first(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_unknown_event_kind\",\"after_event\":1}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    /* It carries no id: the last event id stays 1. */
    assert_string_equal(seq(&g), "stdout/1 hogmock_unknown_kind/1 stdout/2 stdout/3 exit/4");
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_unknown_event_kind", true);
}

static void test_sse_no_exit_sends_everything_but_the_exit(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_no_exit\"}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_string_equal(seq(&g), "stdout/1 stdout/2 stdout/3");
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_no_exit", true);
}

static void test_sse_fault_after_the_last_event_never_fires(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"sse_drop\",\"after_event\":50}}", id, sizeof(id));
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_string_equal(seq(&g), "stdout/1 stdout/2 stdout/3 exit/4");
    buf_release(&g.raw);
    expect_fault(f->m, id, "sse_drop", false);
}

static void test_sse_plans_see_only_streams(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct resp r;
    const cJSON *p;

    clear_plans(f->m);
    add_plan(f->m, "{\"action\":{\"type\":\"sse_drop\"}}", id, sizeof(id));
    mock_expect(f->m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    resp_release(&r);
    mock_expect(f->m, "adminListFaults", 200, "GET", "/__hogmock/faults", NULL, NULL, &r);
    p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "items"), 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "matched")->valueint, 0);
    resp_release(&r);
    clear_plans(f->m);
}

/* ---- body faults on a stream ---------------------------------------------------------- */

static void test_status_after_commit_replaces_a_stream(void **state)
{
    struct fx *f = *state;
    char id[32];
    struct got g;

    clear_plans(f->m);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"phase\":\"after_commit\","
                   "\"times\":1,\"action\":{\"type\":\"status\",\"status\":503}}", id, sizeof(id));
    stream(f->m, f->box, "{\"argv\":[\"sleep\",\"30\"]}", &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_int_equal(g.status, 503);
    assert_non_null(strstr(buf_cstr(&g.raw), "\"code\":\"unavailable\""));
    assert_int_equal(g.nev, 0);
    buf_release(&g.raw);
    expect_no_threads(f->m);
}

static void test_truncate_and_drip_shape_a_stream(void **state)
{
    struct fx *f = *state;
    struct got g, whole;

    clear_plans(f->m);
    stream(f->m, f->box, ABC, &whole);
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"truncate\",\"bytes\":50}}", NULL, 0);
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(g.raw.len, 50);
    assert_memory_equal(g.raw.data, whole.raw.data, 50);
    assert_string_equal(seq(&g), "stdout/1");
    buf_release(&g.raw);
    expect_no_threads(f->m);

    /* Drip (on the wire, so real time): 40 bytes every 20 ms, the stream whole. */
    add_plan(f->m, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,\"action\":{\"type\":"
                   "\"drip\",\"chunk_bytes\":40,\"interval_ms\":20}}", NULL, 0);
    stream(f->m, f->box, ABC, &g);
    assert_int_equal(g.rc, CURLE_OK);
    assert_int_equal(g.raw.len, whole.raw.len);
    assert_memory_equal(g.raw.data, whole.raw.data, whole.raw.len);
    assert_true(g.ms >= (long)((whole.raw.len - 1) / 40) * 20);
    buf_release(&g.raw);
    buf_release(&whole.raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_drop_resets_after_event_n),
        cmocka_unit_test(test_sse_close_ends_cleanly_without_exit),
        cmocka_unit_test(test_sse_stall_goes_silent_then_cuts),
        cmocka_unit_test(test_sse_cut_mid_line_stops_inside_a_data_line),
        cmocka_unit_test(test_sse_garbage_line_is_skipped_and_the_same_seed_gives_the_same_bytes),
        cmocka_unit_test(test_sse_duplicate_event_sends_it_twice),
        cmocka_unit_test(test_sse_unknown_event_kind_comes_first),
        cmocka_unit_test(test_sse_no_exit_sends_everything_but_the_exit),
        cmocka_unit_test(test_sse_fault_after_the_last_event_never_fires),
        cmocka_unit_test(test_sse_plans_see_only_streams),
        cmocka_unit_test(test_status_after_commit_replaces_a_stream),
        cmocka_unit_test(test_truncate_and_drip_shape_a_stream),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, setup, teardown);
}
