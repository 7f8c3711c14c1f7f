/* Integration tests for libhogclient's retries against hogmock's fault plans
 * (POST /__hogmock/faults) on the virtual clock: 503s then success, a 429's Retry-After
 * waited out by moving the clock, a rate-limit quota, a reset after the create committed
 * (one box, one Idempotency-Key), transport faults on a GET, cut and odd exec streams,
 * and stalls against the request timeout and the deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "hogclient.h"
#include "xmalloc.h"

/* ---- helpers -------------------------------------------------------------------- */

/* The client's sleep: moves hogmock's virtual clock, and records the wait. */
struct waits {
    struct mock *m;
    long ms[16];
    unsigned n;
};

static void advance(long ms, void *ctx)
{
    struct waits *w = ctx;
    char json[64];
    struct resp r;

    if (w->n < 16)
        w->ms[w->n] = ms;
    w->n++;
    snprintf(json, sizeof(json), "{\"ms\":%ld}", ms);
    mock_json(w->m, "POST", "/__hogmock/clock/advance", NULL, json, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

static struct hog_client *client(struct mock *m, const char *token, unsigned attempts,
                                 struct waits *w)
{
    struct hog_client_options o;
    struct hog_client *c;

    w->m = m;
    hog_client_options_init(&o);
    o.host = m->url;
    o.token = token;
    o.max_attempts = attempts;
    o.backoff_base_ms = 100;
    o.backoff_cap_ms = 1000;
    o.jitter_seed = 11;
    o.sleep = advance;
    o.sleep_ctx = w;
    assert_int_equal(hog_client_new(&o, &c, NULL), RC_OK);
    return c;
}

/* Forget every plan, then add the given ones (NULL-terminated JSON texts). */
static void faults(struct mock *m, ...)
{
    const char *plan;
    struct resp r;
    va_list ap;

    mock_call(m, "DELETE", "/__hogmock/faults", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_release(&r);
    va_start(ap, m);
    while ((plan = va_arg(ap, const char *)) != NULL) {
        mock_json(m, "POST", "/__hogmock/faults", NULL, plan, &r);
        if (r.status != 201)
            fail_msg("fault plan refused (%ld): %s", r.status, buf_cstr(&r.body));
        resp_release(&r);
    }
    va_end(ap);
}

static void add_token(struct mock *m, const char *token, const char *principal)
{
    char json[256];
    struct resp r;

    snprintf(json, sizeof(json), "{\"token\":\"%s\",\"principal_id\":\"%s\"}", token, principal);
    mock_json(m, "POST", "/__hogmock/tokens", NULL, json, &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
}

/* Journal entries for query (borrowed from r). */
static const cJSON *journal(struct mock *m, const char *query, struct resp *r)
{
    char target[512];

    snprintf(target, sizeof(target), "/__hogmock/journal?limit=1000&%s", query);
    mock_call(m, "GET", target, NULL, NULL, 0, NULL, r);
    assert_int_equal(r->status, 200);
    return cJSON_GetObjectItemCaseSensitive(r->json, "items");
}

static long inum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static const char *istr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *new_box(struct hog_client *c)
{
    struct hog_error err;
    cJSON *box = NULL;
    char *id;

    hog_error_init(&err);
    if (hog_box_create(c, NULL, &box, &err) != RC_OK)
        fail_msg("create: %s", err.message);
    id = xstrdup(istr(box, "id"));
    cJSON_Delete(box);
    hog_error_release(&err);
    return id;
}

/* ---- retries -------------------------------------------------------------------- */

static void test_faults_503_twice_then_success_is_retried(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    const cJSON *items;
    cJSON *me = NULL;
    struct resp r;
    int n;

    add_token(m, "tok_f503", "pr_f503");
    faults(m, "{\"match\":{\"op\":\"getMe\",\"principal\":\"pr_f503\"},\"times\":2,"
              "\"action\":{\"type\":\"status\",\"status\":503}}", NULL);
    c = client(m, "tok_f503", 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(err.attempts, 3);
    /* Each 503 said Retry-After: 1, longer than the backoff. */
    assert_int_equal(w.n, 2);
    assert_int_equal(w.ms[0], 1000);
    assert_int_equal(w.ms[1], 1000);
    items = journal(m, "op=getMe&principal=pr_f503", &r);
    n = cJSON_GetArraySize(items);
    assert_int_equal(n, 3);
    assert_int_equal(inum(cJSON_GetArrayItem(items, 0), "status"), 503);
    assert_non_null(istr(cJSON_GetArrayItem(items, 0), "fault"));
    assert_int_equal(inum(cJSON_GetArrayItem(items, 1), "status"), 503);
    assert_int_equal(inum(cJSON_GetArrayItem(items, 2), "status"), 200);
    resp_release(&r);
    cJSON_Delete(me);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_429_retry_after_is_waited_on_the_virtual_clock(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    const cJSON *items;
    cJSON *l = NULL;
    struct resp r;

    add_token(m, "tok_f429", "pr_f429");
    faults(m, "{\"match\":{\"op\":\"getLimits\",\"principal\":\"pr_f429\"},\"times\":1,"
              "\"action\":{\"type\":\"status\",\"status\":429,\"retry_after\":2}}", NULL);
    c = client(m, "tok_f429", 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_limits(c, &l, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.ms[0], 2000);
    /* The retry came 2 s later on hogmock's clock. */
    items = journal(m, "op=getLimits&principal=pr_f429", &r);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_int_equal(inum(cJSON_GetArrayItem(items, 0), "status"), 429);
    assert_true(inum(cJSON_GetArrayItem(items, 1), "time_ms")
                - inum(cJSON_GetArrayItem(items, 0), "time_ms") >= 2000);
    resp_release(&r);
    cJSON_Delete(l);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_rate_limit_quota_is_waited_out(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    const cJSON *items;
    cJSON *me = NULL;
    struct resp r;
    int i;

    add_token(m, "tok_frl", "pr_frl");
    faults(m, "{\"match\":{\"principal\":\"pr_frl\"},"
              "\"action\":{\"type\":\"rate_limit\",\"limit\":2,\"window_ms\":5000}}", NULL);
    c = client(m, "tok_frl", 4, &w);
    hog_error_init(&err);
    for (i = 0; i < 3; i++) {
        assert_int_equal(hog_me(c, &me, &err), RC_OK);
        cJSON_Delete(me);
    }
    assert_int_equal(err.attempts, 2);
    assert_int_equal(w.n, 1);
    assert_in_range(w.ms[0], 1000, 5000);
    items = journal(m, "principal=pr_frl&status=429", &r);
    assert_int_equal(cJSON_GetArraySize(items), 1);
    resp_release(&r);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_reset_after_commit_on_create_makes_one_box(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    struct hog_iter it;
    const cJSON *items, *e, *item;
    cJSON *box = NULL;
    struct resp r;
    const char *key;
    int n = 0;

    add_token(m, "tok_fidem", "pr_fidem");
    faults(m, "{\"match\":{\"op\":\"createHogbox\",\"principal\":\"pr_fidem\"},"
              "\"phase\":\"after_commit\",\"times\":1,\"action\":{\"type\":\"reset\"}}", NULL);
    c = client(m, "tok_fidem", 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_box_create(c, NULL, &box, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    items = journal(m, "op=createHogbox&principal=pr_fidem", &r);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    key = istr(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers"), "idempotency-key");
    assert_non_null(key);
    cJSON_ArrayForEach(e, items)
        assert_string_equal(istr(cJSON_GetObjectItem(e, "headers"), "idempotency-key"), key);
    resp_release(&r);
    hog_iter_boxes(&it, c, NULL);
    while (hog_iter_next(&it, &item, &err) == RC_OK) {
        assert_string_equal(istr(item, "id"), istr(box, "id"));
        n++;
    }
    hog_iter_release(&it);
    assert_int_equal(n, 1);
    cJSON_Delete(box);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_503_after_commit_on_snapshot_replays_it(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    struct hog_iter it;
    const cJSON *item;
    cJSON *snap = NULL;
    char *id;
    int n = 0;

    add_token(m, "tok_fsnap", "pr_fsnap");
    c = client(m, "tok_fsnap", 4, &w);
    id = new_box(c);
    faults(m, "{\"match\":{\"op\":\"snapshotHogbox\",\"principal\":\"pr_fsnap\"},"
              "\"phase\":\"after_commit\",\"times\":1,"
              "\"action\":{\"type\":\"status\",\"status\":503,\"retry_after\":null}}", NULL);
    hog_error_init(&err);
    assert_int_equal(hog_box_snapshot(c, id, NULL, &snap, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    assert_int_equal(w.n, 1);
    assert_in_range(w.ms[0], 50, 100);     /* no Retry-After: the backoff */
    hog_iter_snapshots(&it, c, HOG_INT_DEFAULT);
    while (hog_iter_next(&it, &item, &err) == RC_OK)
        n++;
    hog_iter_release(&it);
    assert_int_equal(n, 1);
    cJSON_Delete(snap);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_exec_is_never_retried(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    const char *argv[] = { "true", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_exec_result xr;
    struct hog_error err;
    const cJSON *items;
    cJSON *res = NULL;
    struct resp r;
    char *id;

    hog_exec_result_init(&xr);
    add_token(m, "tok_fexec", "pr_fexec");
    c = client(m, "tok_fexec", 4, &w);
    id = new_box(c);
    faults(m, "{\"match\":{\"op\":\"execHogbox\",\"principal\":\"pr_fexec\"},\"times\":1,"
              "\"action\":{\"type\":\"status\",\"status\":503}}", NULL);
    hog_error_init(&err);
    assert_int_equal(hog_box_exec(c, id, &req, &xr, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_SERVER);
    assert_int_equal(err.status, 503);
    assert_int_equal(err.retry_after, 1);
    assert_int_equal(err.attempts, 1);
    items = journal(m, "op=execHogbox&principal=pr_fexec", &r);
    assert_int_equal(cJSON_GetArraySize(items), 1);
    resp_release(&r);

    /* The command ran, then the connection closed without a byte: it must not run twice,
     * not even by libcurl's own resend on a reused connection. */
    faults(m, "{\"match\":{\"op\":\"execHogbox\",\"principal\":\"pr_fexec\"},\"times\":1,"
              "\"phase\":\"after_commit\",\"action\":{\"type\":\"empty\"}}", NULL);
    assert_int_equal(hog_box_get(c, id, &res, &err), RC_OK);     /* a warm connection */
    cJSON_Delete(res);
    assert_int_equal(hog_box_exec(c, id, &req, &xr, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(err.attempts, 1);
    items = journal(m, "op=execHogbox&principal=pr_fexec", &r);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    resp_release(&r);
    faults(m, NULL);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_transport_failures_on_a_get_are_retried(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    const cJSON *items, *e;
    cJSON *box = NULL;
    struct resp r;
    char *id;
    int faulted = 0;

    add_token(m, "tok_fnet", "pr_fnet");
    c = client(m, "tok_fnet", 6, &w);
    id = new_box(c);
    faults(m,
           "{\"match\":{\"op\":\"getHogbox\",\"principal\":\"pr_fnet\"},\"times\":1,\"action\":{\"type\":\"empty\"}}",
           "{\"match\":{\"op\":\"getHogbox\",\"principal\":\"pr_fnet\"},\"times\":1,\"action\":{\"type\":\"garbage\"}}",
           "{\"match\":{\"op\":\"getHogbox\",\"principal\":\"pr_fnet\"},\"times\":1,"
           "\"action\":{\"type\":\"truncate\",\"fraction\":0.5}}",
           "{\"match\":{\"op\":\"getHogbox\",\"principal\":\"pr_fnet\"},\"times\":1,"
           "\"action\":{\"type\":\"malformed_json\"}}",
           NULL);
    hog_error_init(&err);
    assert_int_equal(hog_box_get(c, id, &box, &err), RC_OK);
    assert_string_equal(istr(box, "id"), id);
    /* Four faults, then the answer. An empty reply on a reused connection is sent again
     * by libcurl itself (a GET may be), so that one is not always ours to count. */
    assert_in_range(err.attempts, 4, 5);
    items = journal(m, "op=getHogbox&principal=pr_fnet", &r);
    cJSON_ArrayForEach(e, items)
        faulted += istr(e, "fault") != NULL;
    assert_int_equal(faulted, 4);
    assert_int_equal(cJSON_GetArraySize(items), 5);
    resp_release(&r);
    cJSON_Delete(box);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_faults_stall_meets_the_timeout_and_the_deadline(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client_options o;
    struct hog_client *c;
    struct hog_error err;
    struct timespec t0;
    cJSON *me = NULL;

    add_token(m, "tok_fstall", "pr_fstall");
    faults(m, "{\"match\":{\"op\":\"getMe\",\"principal\":\"pr_fstall\"},\"times\":1,"
              "\"action\":{\"type\":\"stall\",\"max_ms\":2000}}", NULL);
    hog_client_options_init(&o);
    o.host = m->url;
    o.token = "tok_fstall";
    o.timeout_ms = 300;
    o.sleep = advance;
    o.sleep_ctx = &w;
    w.m = m;
    assert_int_equal(hog_client_new(&o, &c, NULL), RC_OK);
    hog_error_init(&err);
    /* The request timeout: a stalled GET is tried again. */
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    cJSON_Delete(me);
    /* The deadline: the operation ends, no retry. */
    faults(m, "{\"match\":{\"op\":\"getMe\",\"principal\":\"pr_fstall\"},\"times\":1,"
              "\"action\":{\"type\":\"stall\",\"max_ms\":2000}}", NULL);
    hog_client_set_deadline(c, 200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_TIMEOUT);
    assert_int_equal(err.attempts, 1);
    assert_true(mock_ms_since(&t0) < 2000);
    faults(m, NULL);
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- streams -------------------------------------------------------------------- */

struct seen {
    unsigned n, exits;
    struct buf out;
};

static int on_event(const struct hog_exec_event *ev, void *ctx)
{
    struct seen *s = ctx;

    s->n++;
    if (ev->kind == HOG_EVENT_EXIT)
        s->exits++;
    else
        buf_add(&s->out, ev->data, ev->len);
    return 0;
}

/* Run the three-line stream under plan: its rc, with the events in *seen. */
static enum rc stream_under(struct mock *m, struct hog_client *c, const char *box,
                            const char *plan, struct seen *seen, struct hog_error *err)
{
    const char *argv[] = { "sh", "-c", "echo a; echo b; echo c", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_exec_exit ex;

    faults(m, plan, NULL);
    buf_release(&seen->out);
    memset(seen, 0, sizeof(*seen));
    return hog_box_exec_stream(c, box, &req, on_event, seen, &ex, err);
}

static void test_faults_on_streams_cut_or_skip_as_they_should(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    struct seen seen = { 0, 0, BUF_INIT };
    const cJSON *items;
    struct resp r;
    char *id;

    add_token(m, "tok_fsse", "pr_fsse");
    c = client(m, "tok_fsse", 4, &w);
    id = new_box(c);
    hog_error_init(&err);

    /* Cut after one event: a ConnectionError, that event delivered, never retried. */
    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_drop\",\"after_event\":1}}",
                                  &seen, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(seen.n, 1);
    assert_string_equal(buf_cstr(&seen.out), "a\n");
    assert_int_equal(err.attempts, 1);
    items = journal(m, "op=execHogboxStream&principal=pr_fsse", &r);
    assert_int_equal(cJSON_GetArraySize(items), 1);
    resp_release(&r);

    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_no_exit\"}}", &seen, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(seen.exits, 0);
    assert_string_equal(buf_cstr(&seen.out), "a\nb\nc\n");

    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_close\",\"after_event\":2}}",
                                  &seen, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);

    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_cut_mid_line\",\"after_event\":1}}",
                                  &seen, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_string_equal(buf_cstr(&seen.out), "a\n");

    /* What a careful client reads past: a repeat, an unknown kind, a garbage line. */
    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_duplicate_event\",\"after_event\":1}}",
                                  &seen, &err), RC_OK);
    assert_string_equal(buf_cstr(&seen.out), "a\nb\nc\n");
    assert_int_equal(seen.exits, 1);
    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_unknown_event_kind\",\"after_event\":1}}",
                                  &seen, &err), RC_OK);
    assert_string_equal(buf_cstr(&seen.out), "a\nb\nc\n");
    assert_int_equal(stream_under(m, c, id, "{\"match\":{\"op\":\"execHogboxStream\"},\"times\":1,"
                                  "\"action\":{\"type\":\"sse_garbage_line\",\"after_event\":1}}",
                                  &seen, &err), RC_OK);
    assert_string_equal(buf_cstr(&seen.out), "a\nb\nc\n");

    faults(m, NULL);
    buf_release(&seen.out);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_503_twice_then_success_is_retried),
        cmocka_unit_test(test_faults_429_retry_after_is_waited_on_the_virtual_clock),
        cmocka_unit_test(test_faults_rate_limit_quota_is_waited_out),
        cmocka_unit_test(test_faults_reset_after_commit_on_create_makes_one_box),
        cmocka_unit_test(test_faults_503_after_commit_on_snapshot_replays_it),
        cmocka_unit_test(test_faults_exec_is_never_retried),
        cmocka_unit_test(test_faults_transport_failures_on_a_get_are_retried),
        cmocka_unit_test(test_faults_stall_meets_the_timeout_and_the_deadline),
        cmocka_unit_test(test_faults_on_streams_cut_or_skip_as_they_should),
    };

    return cmocka_run_group_tests_name("client_faults", tests, mock_setup, mock_teardown);
}
