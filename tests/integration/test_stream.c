/* Integration tests for execHogboxStream, read over a real socket with the common SSE
 * parser: event order and ids, pacing on the virtual and the real clock, keepalives, huge
 * output with bounded server memory, UTF-8 repair, clients that leave mid-stream, 200
 * streams open at once beside ordinary requests, and problem+json before any stream byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"
#include "server.h"
#include "sse.h"
#include "xmalloc.h"

/* ---- a streaming client ------------------------------------------------------------ */

struct event {
    char *type, *id;
    cJSON *data;        /* the event's data parsed as JSON (NULL when it is not JSON) */
    long at_ms;         /* when it arrived, since the request started */
};

struct sclient {
    CURL *curl;
    struct curl_slist *hdrs;
    struct sse_parser parser;
    struct timespec t0;
    struct buf raw;             /* the body as received, kept up to keep_raw bytes */
    size_t keep_raw;
    struct buf head;            /* response headers */
    struct event *ev;
    size_t nev, cap;
    size_t comments;
    long first_byte_ms;         /* -1 until the first body byte */
    /* counters for big streams: events are counted, not kept, when count_only */
    bool count_only;
    uint64_t out_bytes[3];      /* decoded data bytes per fd (1, 2) */
    bool out_ok;                /* every stdout byte was as expected (see expect_yes) */
    bool expect_yes;            /* stdout must be "y\n" repeated */
    int exit_code;
    bool have_exit, timed_out;
    size_t stop_after;          /* leave after this many events (0: never) */
    char body[256];
    char url[256];
};

static int on_event(const struct sse_event *e, void *ctx)
{
    struct sclient *c = ctx;
    cJSON *data = cJSON_ParseWithLength(e->data, e->len);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(data, "data");

    if (strcmp(e->type, "exit") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(data, "exit_code");

        c->have_exit = true;
        c->exit_code = cJSON_IsNumber(code) ? code->valueint : -1;
        c->timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "timed_out"));
    } else if (cJSON_IsString(d)) {
        int fd = strcmp(e->type, "stderr") == 0 ? 2 : 1;
        size_t n = strlen(d->valuestring), i;

        if (c->expect_yes && fd == 1) {
            for (i = 0; i < n; i++)
                if (d->valuestring[i] != ((c->out_bytes[1] + i) % 2 ? '\n' : 'y'))
                    c->out_ok = false;
        }
        c->out_bytes[fd] += n;
    }
    if (c->count_only) {
        c->nev++;
        cJSON_Delete(data);
    } else {
        if (c->nev == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->ev = xrealloc(c->ev, c->cap * sizeof(*c->ev));
        }
        c->ev[c->nev].type = xstrdup(e->type);
        c->ev[c->nev].id = xstrdup(e->id);
        c->ev[c->nev].data = data;
        c->ev[c->nev].at_ms = mock_ms_since(&c->t0);
        c->nev++;
    }
    return c->stop_after && c->nev >= c->stop_after;
}

static int on_comment(const char *text, size_t len, void *ctx)
{
    struct sclient *c = ctx;

    (void)len;
    if (strcmp(text, "keepalive") == 0)
        c->comments++;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct sclient *c = ctx;

    if (c->first_byte_ms < 0)
        c->first_byte_ms = mock_ms_since(&c->t0);
    if (c->raw.len < c->keep_raw)
        buf_add(&c->raw, data, n < c->keep_raw - c->raw.len ? n : c->keep_raw - c->raw.len);
    if (sse_parser_feed(&c->parser, data, size * n) == SSE_STOPPED)
        return 0;   /* leave: curl closes the connection */
    return size * n;
}

static size_t on_head(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(&((struct sclient *)ctx)->head, data, size * n);
    return size * n;
}

/* Set up a stream request of json on box as token (not yet run). */
static void sclient_init(struct sclient *c, struct mock *m, const char *box, const char *token,
                         const char *json, const char *accept)
{
    struct sse_callbacks cb = { on_event, on_comment, NULL, c };
    char h[160];

    memset(c, 0, sizeof(*c));
    c->first_byte_ms = -1;
    c->keep_raw = 1u << 20;
    c->out_ok = true;
    c->exit_code = -1;
    sse_parser_init(&c->parser, &cb);
    snprintf(c->url, sizeof(c->url), "%s/v1/hogboxes/%s/exec/stream", m->url, box);
    snprintf(c->body, sizeof(c->body), "%s", json);
    c->curl = curl_easy_init();
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 60L * mock_slow());
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    c->hdrs = curl_slist_append(c->hdrs, "Content-Type: application/json");
    if (token) {
        snprintf(h, sizeof(h), "Authorization: Bearer %s", token);
        c->hdrs = curl_slist_append(c->hdrs, h);
    }
    if (accept) {
        snprintf(h, sizeof(h), "Accept: %s", accept);
        c->hdrs = curl_slist_append(c->hdrs, h);
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
}

static void sclient_release(struct sclient *c)
{
    size_t i;

    for (i = 0; i < c->nev && !c->count_only; i++) {
        free(c->ev[i].type);
        free(c->ev[i].id);
        cJSON_Delete(c->ev[i].data);
    }
    free(c->ev);
    sse_parser_release(&c->parser);
    buf_release(&c->raw);
    buf_release(&c->head);
    curl_slist_free_all(c->hdrs);
    curl_easy_cleanup(c->curl);
}

static long sclient_status(struct sclient *c)
{
    long status = 0;

    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Run it to its end; the curl result (a client that leaves gets CURLE_WRITE_ERROR). */
static CURLcode sclient_run(struct sclient *c)
{
    CURLcode rc = curl_easy_perform(c->curl);

    sse_parser_finish(&c->parser);
    return rc;
}

/* The response as a struct resp, to check it with the harness (body up to keep_raw). */
static void sclient_resp(struct sclient *c, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    r->status = sclient_status(c);
    buf_add(&r->body, c->raw.data, c->raw.len);
    buf_add(&r->headers, c->head.data, c->head.len);
    if (r->body.len && strstr(buf_cstr(&r->headers), "json"))
        r->json = cJSON_Parse(buf_cstr(&r->body));
}

/* The event's data member as a string ("" when none). */
static const char *ev_text(const struct event *e)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e->data, "data");

    return cJSON_IsString(d) ? d->valuestring : "";
}

/* Stream json on box as alice, expect a 200 stream that ends with exit, check it against
 * the spec and the id rules. */
static void stream_ok(struct mock *m, const char *box, const char *json, struct sclient *c)
{
    struct resp r;
    CURLcode rc;
    size_t i;

    sclient_init(c, m, box, "tok_alice", json, NULL);
    rc = sclient_run(c);
    if (rc != CURLE_OK)
        fail_msg("stream %s: %s", json, curl_easy_strerror(rc));
    sclient_resp(c, &r);
    if (r.status != 200)
        fail_msg("stream %s: status %ld: %s", json, r.status, buf_cstr(&r.body));
    if (c->raw.len < c->keep_raw)
        mock_check(m, "execHogboxStream", &r);
    assert_non_null(resp_header(&r, "X-Request-Id"));
    assert_string_equal(resp_header(&r, "Cache-Control"), "no-cache");
    assert_true(strncmp(resp_header(&r, "Content-Type"), "text/event-stream", 17) == 0);
    resp_release(&r);
    if (!c->count_only) {
        for (i = 0; i < c->nev; i++) {
            char want[24];

            snprintf(want, sizeof(want), "%zu", i + 1);
            if (strcmp(c->ev[i].id, want) != 0)
                fail_msg("event %zu has id '%s', not %s", i + 1, c->ev[i].id, want);
            if ((strcmp(c->ev[i].type, "exit") == 0) != (i + 1 == c->nev))
                fail_msg("event %zu is '%s': exit must come exactly once, last", i + 1,
                         c->ev[i].type);
        }
    }
    assert_true(c->have_exit);
}

static char *new_box(struct mock *m)
{
    return mock_new_box(m, "tok_alice");
}

static void add_program(struct mock *m, const char *json)
{
    struct resp r;

    mock_expect(m, "adminAddProgram", 201, "POST", "/__hogmock/exec-programs", NULL, json, &r);
    resp_release(&r);
}

/* The journal's stream member of the last execHogboxStream request, waiting (up to 5 s)
 * until the stream is over; a new object. */
static cJSON *journal_stream(struct mock *m)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct resp r;
        const cJSON *items, *last, *st;
        cJSON *out = NULL;

        mock_expect(m, "adminJournal", 200, "GET",
                    "/__hogmock/journal?op=execHogboxStream&limit=1000", NULL, NULL, &r);
        items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
        last = cJSON_GetArrayItem(items, cJSON_GetArraySize(items) - 1);
        st = cJSON_GetObjectItemCaseSensitive(last, "stream");
        if (cJSON_IsObject(st))
            out = cJSON_Duplicate(st, 1);
        resp_release(&r);
        if (out)
            return out;
        if (mock_ms_since(&t0) > 5000)
            fail_msg("the journal never recorded the end of the stream");
        mock_pause_ms(10);
    }
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", name);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Wait (up to 5 s) until hogmock has no command thread left. */
static void expect_no_threads(struct mock *m)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&m->hm->threads) > 0) {
        if (mock_ms_since(&t0) > 5000)
            fail_msg("%d command threads still run 5 s after their clients left",
                     (int)atomic_load(&m->hm->threads));
        mock_pause_ms(10);
    }
}

/* ---- order and content -------------------------------------------------------------- */

static void test_order_and_ids(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;

    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"echo a; echo b >&2; echo c; echo d >&2; "
              "exit 3\"]}", &c);
    assert_int_equal(c.nev, 5);
    assert_string_equal(c.ev[0].type, "stdout");
    assert_string_equal(ev_text(&c.ev[0]), "a\n");
    assert_string_equal(c.ev[1].type, "stderr");
    assert_string_equal(ev_text(&c.ev[1]), "b\n");
    assert_string_equal(c.ev[2].type, "stdout");
    assert_string_equal(ev_text(&c.ev[2]), "c\n");
    assert_string_equal(c.ev[3].type, "stderr");
    assert_string_equal(ev_text(&c.ev[3]), "d\n");
    assert_int_equal(c.exit_code, 3);
    assert_false(c.timed_out);
    /* The exit event's data is exactly the two documented members. */
    assert_int_equal(cJSON_GetArraySize(c.ev[4].data), 2);
    sclient_release(&c);
    free(box);
}

static void test_scripted_program(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;

    add_program(m, "{\"argv\":[\"shape\"],\"events\":[{\"stdout\":\"a\\n\",\"after_ms\":100},"
                "{\"stderr\":\"b\\n\"},{\"stdout\":\"\"},{\"stdout\":\"c\"},{\"exit\":3}]}");
    stream_ok(m, box, "{\"argv\":[\"shape\"]}", &c);
    /* An empty write is no event. */
    assert_int_equal(c.nev, 4);
    assert_string_equal(ev_text(&c.ev[0]), "a\n");
    assert_string_equal(c.ev[1].type, "stderr");
    assert_string_equal(ev_text(&c.ev[2]), "c");
    assert_int_equal(c.exit_code, 3);
    sclient_release(&c);
    free(box);
}

static void test_multiline_and_escapes(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;
    const char *p;
    size_t datalines = 0;

    /* Empty lines, CR, tab, quotes, backslashes and a control character in one write. */
    stream_ok(m, box, "{\"argv\":[\"printf\",\"one\\n\\ntwo\\r\\n\\\"q\\\" \\\\\\\\ \\t\\\\001end\"]}", &c);
    assert_int_equal(c.nev, 2);
    assert_string_equal(ev_text(&c.ev[0]), "one\n\ntwo\r\n\"q\" \\ \t\001end");
    /* Every event is one data line: no output byte ever breaks an SSE line. */
    for (p = buf_cstr(&c.raw); (p = strstr(p, "\ndata: ")) != NULL; p++)
        datalines++;
    assert_int_equal(datalines, c.nev);
    sclient_release(&c);
    free(box);
}

static void test_invalid_utf8(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;

    /* 0xFF is invalid; "é" (C3 A9) is written in two halves by two commands and must be
     * joined; a lone C3 at the very end is replaced. */
    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"printf 'a\\\\377b'; printf '\\\\303'; "
              "printf '\\\\251'; printf '\\\\303'\"]}", &c);
    {
        struct buf all = BUF_INIT;
        size_t i;

        for (i = 0; i + 1 < c.nev; i++)
            buf_addstr(&all, ev_text(&c.ev[i]));
        assert_string_equal(buf_cstr(&all), "a\xEF\xBF\xBD" "b\xC3\xA9\xEF\xBF\xBD");
        buf_release(&all);
    }
    sclient_release(&c);
    free(box);
}

static void test_long_line(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;
    size_t i, total = 0;
    bool ok = true;

    /* 300000 characters and no newline: split into events, each whole characters. */
    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"printf '%0300000d' 0\"]}", &c);
    assert_true(c.nev > 2);
    for (i = 0; i + 1 < c.nev; i++) {
        const char *t = ev_text(&c.ev[i]);

        total += strlen(t);
        ok = ok && strspn(t, "0") == strlen(t);
    }
    assert_true(ok);
    assert_int_equal(total, 300000);
    sclient_release(&c);
    free(box);
}

/* ---- pacing and keepalives ---------------------------------------------------------- */

static void test_pacing_virtual(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;
    cJSON *st, *tl;
    static const double want[] = { 0, 1000, 2000, 3000 };
    size_t i;

    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"for i in 1 2 3; do echo $i; sleep 1; done\"]}",
              &c);
    assert_int_equal(c.nev, 4);
    assert_string_equal(ev_text(&c.ev[2]), "3\n");
    /* On the virtual clock it took no time, yet the journal shows the command's pace. */
    st = journal_stream(m);
    assert_string_equal(str(st, "outcome"), "complete");
    assert_int_equal((int)num(st, "events_sent"), 4);
    tl = cJSON_GetObjectItemCaseSensitive(st, "timeline");
    assert_int_equal(cJSON_GetArraySize(tl), 4);
    for (i = 0; i < 4; i++) {
        const cJSON *e = cJSON_GetArrayItem(tl, (int)i);

        assert_int_equal((int)num(e, "id"), (int)i + 1);
        if (num(e, "at_ms") != want[i])
            fail_msg("event %zu at %.0f ms of the command, not %.0f", i + 1, num(e, "at_ms"),
                     want[i]);
    }
    assert_string_equal(str(cJSON_GetArrayItem(tl, 3), "event"), "exit");
    cJSON_Delete(st);
    sclient_release(&c);
    free(box);
}

static struct mock *real_mock(uint64_t keepalive_ms)
{
    struct hogmock_config cfg;

    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    cfg.sse_keepalive_ms = keepalive_ms;
    return mock_start(&cfg);
}

static void test_pacing_real(void **state)
{
    struct mock *m = real_mock(0);
    char *box = new_box(m);
    struct sclient c;

    (void)state;
    add_program(m, "{\"argv\":[\"slow\"],\"events\":[{\"stdout\":\"a\\n\"},"
                "{\"stdout\":\"b\\n\",\"after_ms\":400},{\"exit\":0,\"after_ms\":400}]}");
    stream_ok(m, box, "{\"argv\":[\"slow\"]}", &c);
    assert_int_equal(c.nev, 3);
    /* Each event arrives as it is produced, not when the command ends (lower bounds only:
     * a slow machine can stretch the gaps, never shrink them). */
    if (c.ev[1].at_ms - c.ev[0].at_ms < 300 || c.ev[2].at_ms - c.ev[0].at_ms < 700)
        fail_msg("events arrived at %ld, %ld and %ld ms: not as the command produced them",
                 c.ev[0].at_ms, c.ev[1].at_ms, c.ev[2].at_ms);
    sclient_release(&c);
    free(box);
    mock_stop(m);
}

static void test_keepalive_virtual(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    char *box;
    struct sclient c;
    cJSON *st;

    (void)state;
    mock_default_config(&cfg);
    cfg.sse_keepalive_ms = 1000;
    m = mock_start(&cfg);
    box = new_box(m);
    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"echo start; sleep 3.5; echo done\"]}", &c);
    assert_int_equal(c.nev, 3);
    assert_int_equal(c.comments, 3);
    /* The comments sit between start and done. */
    assert_non_null(strstr(buf_cstr(&c.raw), "\"start\\n\"}\n\n: keepalive\n\n: keepalive\n\n"
                                             ": keepalive\n\nevent: stdout"));
    st = journal_stream(m);
    assert_int_equal((int)num(st, "keepalives"), 3);
    cJSON_Delete(st);
    sclient_release(&c);
    free(box);
    mock_stop(m);
}

static void test_keepalive_default_virtual(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;

    /* The spec's promise: at least one every 15 s of silence. */
    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"sleep 14; echo a; sleep 31\"]}", &c);
    assert_int_equal(c.comments, 2);
    sclient_release(&c);
    free(box);
}

static void test_keepalive_real(void **state)
{
    struct mock *m = real_mock(100);
    char *box = new_box(m);
    struct sclient c;

    (void)state;
    stream_ok(m, box, "{\"argv\":[\"sh\",\"-c\",\"sleep 0.55\"]}", &c);
    assert_int_equal(c.nev, 1);
    /* 5 in theory; a loaded machine may lose one at the edges. */
    if (c.comments < 3 || c.comments > 6)
        fail_msg("%zu keepalives in 550 ms at one per 100 ms", c.comments);
    sclient_release(&c);
    free(box);
    mock_stop(m);
}

/* ---- big output, leaving clients ----------------------------------------------------- */

static void test_huge_output(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;
    cJSON *st;

    /* 100 MiB of "y\n", streamed whole (no cap), the server queueing at most a bounded
     * amount whatever the client's pace. */
    memset(&c, 0, sizeof(c));
    sclient_init(&c, m, box, "tok_alice", "{\"argv\":[\"sh\",\"-c\",\"yes | head -c 104857600\"]}",
                 NULL);
    c.count_only = true;
    c.expect_yes = true;
    c.keep_raw = 4096;
    assert_int_equal(sclient_run(&c), CURLE_OK);
    assert_int_equal(sclient_status(&c), 200);
    assert_true(c.have_exit);
    assert_int_equal(c.exit_code, 0);
    assert_true(c.out_ok);
    assert_true(c.out_bytes[1] == 104857600u);
    st = journal_stream(m);
    assert_string_equal(str(st, "outcome"), "complete");
    assert_int_equal((uint64_t)num(st, "events_sent"), c.nev);
    if (num(st, "queue_peak_bytes") > 2 * 1024 * 1024)
        fail_msg("the server queued up to %.0f bytes of one stream", num(st, "queue_peak_bytes"));
    cJSON_Delete(st);
    sclient_release(&c);
    free(box);
}

static void test_client_leaves_endless_output(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    struct sclient c;
    cJSON *st;

    /* `yes` never ends by itself: only the client leaving can stop it. */
    sclient_init(&c, m, box, "tok_alice", "{\"argv\":[\"yes\"]}", NULL);
    c.stop_after = 10;
    assert_int_equal(sclient_run(&c), CURLE_WRITE_ERROR);
    assert_int_equal(c.nev, 10);
    expect_no_threads(m);
    st = journal_stream(m);
    assert_string_equal(str(st, "outcome"), "client_gone");
    assert_true(num(st, "events_sent") >= 10);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(st, "exit_code")));
    cJSON_Delete(st);
    sclient_release(&c);
    free(box);
}

static void test_client_leaves_silent_command(void **state)
{
    struct mock *m = real_mock(0);
    char *box = new_box(m);
    struct sclient c;
    struct resp r;
    cJSON *st;

    (void)state;
    /* An hour of silence, on the real clock: the client gives up after 300 ms. */
    sclient_init(&c, m, box, "tok_alice", "{\"argv\":[\"sleep\",\"3600\"],\"timeout_seconds\":3600}",
                 NULL);
    curl_easy_setopt(c.curl, CURLOPT_TIMEOUT_MS, 300L);
    assert_int_equal(sclient_run(&c), CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(sclient_status(&c), 200);
    assert_int_equal(c.nev, 0);
    expect_no_threads(m);
    st = journal_stream(m);
    assert_string_equal(str(st, "outcome"), "client_gone");
    assert_int_equal((int)num(st, "events_sent"), 0);
    cJSON_Delete(st);
    mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?op=execHogboxStream",
                NULL, NULL, &r);
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 0), "note"),
                        "the client went away before the stream ended");
    resp_release(&r);
    sclient_release(&c);
    free(box);
    mock_stop(m);
}

static void test_stop_during_streams(void **state)
{
    struct mock *m = real_mock(0);
    char *box = new_box(m);
    struct sclient c;
    CURLM *multi = curl_multi_init();
    struct timespec t0;
    int running = 1;

    (void)state;
    /* hogmock stops while a stream is parked: it must wake it, cut it and end cleanly. */
    sclient_init(&c, m, box, "tok_alice", "{\"argv\":[\"sh\",\"-c\",\"echo a; sleep 3600\"],"
                 "\"timeout_seconds\":3600}", NULL);
    curl_multi_add_handle(multi, c.curl);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (running && c.nev < 1 && mock_ms_since(&t0) < 5000) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    assert_int_equal(c.nev, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hogmock_stop(m->hm);
    m->hm = NULL;
    if (mock_ms_since(&t0) > 4000)
        fail_msg("stopping took %ld ms with a stream open", mock_ms_since(&t0));
    curl_multi_remove_handle(multi, c.curl);
    curl_multi_cleanup(multi);
    sclient_release(&c);
    free(box);
    free(m);
}

/* ---- many streams ------------------------------------------------------------------ */

#define NSTREAMS 200

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void test_many_streams(void **state)
{
    struct mock *m = real_mock(0);
    char *box = new_box(m);
    struct sclient *c = xcalloc(NSTREAMS, sizeof(*c));
    CURLM *multi = curl_multi_init();
    struct timespec t0, w0;
    int running = 0, i, started = 0, done = 0;
    double cpu0, cpu1;
    long wall, worst = 0, slow = mock_slow();
    char program[160];

    (void)state;
    snprintf(program, sizeof(program), "{\"argv\":[\"quiet\"],\"events\":[{\"stdout\":"
             "\"start\\n\"},{\"exit\":0,\"after_ms\":%ld}]}", 2500 * slow);
    add_program(m, program);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)NSTREAMS + 10);
    for (i = 0; i < NSTREAMS; i++) {
        sclient_init(&c[i], m, box, "tok_alice", "{\"argv\":[\"quiet\"]}", NULL);
        curl_easy_setopt(c[i].curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_multi_add_handle(multi, c[i].curl);
    }
    /* Every stream open and past its first event (bounded: 20 s). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 20, NULL);
        for (started = 0, i = 0; i < NSTREAMS; i++)
            started += c[i].nev >= 1;
    } while (started < NSTREAMS && running && mock_ms_since(&t0) < 20000 * slow);
    if (started < NSTREAMS)
        fail_msg("only %d of %d streams started", started, NSTREAMS);

    /* While all 200 are silent: ordinary requests are answered, and, left alone, the
     * server does not spin (a spinning thread would burn a whole core: far above 50% of
     * the wall time; measured idle, as the checks of the answers take CPU of their own). */
    for (i = 0; i < 20; i++) {
        struct resp r;
        struct timespec q0;
        long ms;

        clock_gettime(CLOCK_MONOTONIC, &q0);
        mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
        resp_release(&r);
        ms = mock_ms_since(&q0);
        worst = ms > worst ? ms : worst;
        curl_multi_perform(multi, &running);
        mock_pause_ms(20);
    }
    clock_gettime(CLOCK_MONOTONIC, &w0);
    cpu0 = cpu_seconds();
    mock_pause_ms(400);
    cpu1 = cpu_seconds();
    wall = mock_ms_since(&w0);
    for (started = 0, i = 0; i < NSTREAMS; i++)
        started += c[i].have_exit;
    if (started)
        fail_msg("%d streams ended before the check of the silent period was over", started);
    if (worst > 2000 * slow)
        fail_msg("a request took %ld ms beside %d open streams", worst, NSTREAMS);
    if ((cpu1 - cpu0) * 1000.0 > 0.5 * (double)wall)
        fail_msg("%.0f ms of CPU in %ld ms with every stream silent: something spins",
                 (cpu1 - cpu0) * 1000.0, wall);

    /* Then every stream ends with its exit event. */
    do {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    } while (running && mock_ms_since(&t0) < 30000 * slow);
    for (done = 0, i = 0; i < NSTREAMS; i++)
        done += c[i].have_exit && c[i].nev == 2;
    assert_int_equal(done, NSTREAMS);
    for (i = 0; i < NSTREAMS; i++) {
        curl_multi_remove_handle(multi, c[i].curl);
        sclient_release(&c[i]);
    }
    curl_multi_cleanup(multi);
    free(c);
    free(box);
    expect_no_threads(m);
    mock_stop(m);
}

/* ---- errors before the stream ------------------------------------------------------ */

/* A request that must be refused with status and code, as problem+json, no stream. */
static void expect_refused(struct mock *m, const char *box, const char *token, const char *json,
                           const char *accept, long status, const char *code)
{
    struct sclient c;
    struct resp r;

    sclient_init(&c, m, box, token, json, accept);
    assert_int_equal(sclient_run(&c), CURLE_OK);
    sclient_resp(&c, &r);
    if (r.status != status)
        fail_msg("%s: status %ld, expected %ld: %s", json, r.status, status, buf_cstr(&r.body));
    assert_true(strncmp(resp_header(&r, "Content-Type"), "application/problem+json", 24) == 0);
    mock_check(m, "execHogboxStream", &r);
    mock_check_problem(&r, code);
    assert_int_equal(c.nev, 0);
    resp_release(&r);
    sclient_release(&c);
}

static void test_errors_before_stream(void **state)
{
    struct mock *m = *state;
    char *box = new_box(m);
    char target[128];
    struct resp r;

    expect_refused(m, box, NULL, "{\"argv\":[\"true\"]}", NULL, 401, "invalid_token");
    expect_refused(m, box, "tok_nope", "{\"argv\":[\"true\"]}", NULL, 401, "invalid_token");
    expect_refused(m, box, "tok_bob", "{\"argv\":[\"true\"]}", NULL, 404, "hogbox_not_found");
    expect_refused(m, "hb_0000000000000000", "tok_alice", "{\"argv\":[\"true\"]}", NULL, 404,
                   "hogbox_not_found");
    expect_refused(m, box, "tok_alice", "{\"argv\":[]}", NULL, 422, "validation_failed");
    expect_refused(m, box, "tok_alice", "{\"argv\":[\"true\"],\"timeout_seconds\":0}", NULL, 422,
                   "validation_failed");
    expect_refused(m, box, "tok_alice", "{\"argv\":[\"true\"],\"workdir\":\"/nope\"}", NULL, 422,
                   "validation_failed");
    expect_refused(m, box, "tok_alice", "{\"argv\":", NULL, 400, "malformed_json");
    expect_refused(m, box, "tok_alice", "{\"argv\":[\"true\"]}", "application/json", 406,
                   "not_acceptable");
    expect_refused(m, box, "tok_alice", "{\"argv\":[\"true\"]}", "text/event-stream;q=0, */*;q=0",
                   406, "not_acceptable");
    /* Accept forms that allow the stream. */
    {
        static const char *const ok[] = {
            "text/event-stream", "text/*", "*/*", "application/json, text/event-stream;q=0.5",
            "TEXT/EVENT-STREAM",
        };
        size_t i;

        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
            struct sclient c;

            sclient_init(&c, m, box, "tok_alice", "{\"argv\":[\"true\"]}", ok[i]);
            assert_int_equal(sclient_run(&c), CURLE_OK);
            if (sclient_status(&c) != 200)
                fail_msg("Accept: %s was refused", ok[i]);
            sclient_release(&c);
        }
    }
    /* Paused: 409 before any byte. */
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/pause", box);
    mock_expect(m, "pauseHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    resp_release(&r);
    expect_refused(m, box, "tok_alice", "{\"argv\":[\"true\"]}", NULL, 409, "invalid_state");
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_ids),
        cmocka_unit_test(test_scripted_program),
        cmocka_unit_test(test_multiline_and_escapes),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_pacing_virtual),
        cmocka_unit_test(test_pacing_real),
        cmocka_unit_test(test_keepalive_virtual),
        cmocka_unit_test(test_keepalive_default_virtual),
        cmocka_unit_test(test_keepalive_real),
        cmocka_unit_test(test_huge_output),
        cmocka_unit_test(test_client_leaves_endless_output),
        cmocka_unit_test(test_client_leaves_silent_command),
        cmocka_unit_test(test_stop_during_streams),
        cmocka_unit_test(test_many_streams),
        cmocka_unit_test(test_errors_before_stream),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, mock_setup, mock_teardown);
}
