/* Integration tests for libhogclient against hogmock in-process: every operation, the
 * canonical error mapping, the exec stream as it arrives (on the real clock), files as raw
 * bytes up to 64 MiB, the token file read for every request, and what went over the wire
 * as hogmock's journal saw it. Retries against a scripted server are in test_client_retry.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "harness.h"
#include "hogclient.h"
#include "transport.h"
#include "xmalloc.h"

/* ---- helpers -------------------------------------------------------------------- */

/* The sleep libhogclient is given: moves hogmock's virtual clock (when m is set) instead
 * of waiting, and records each wait. */
struct waits {
    struct mock *m;
    long ms[16];
    unsigned n;
};

static void record_wait(long ms, void *ctx)
{
    struct waits *w = ctx;

    if (w->n < 16)
        w->ms[w->n] = ms;
    w->n++;
    if (w->m) {
        char json[64];
        struct resp r;

        snprintf(json, sizeof(json), "{\"ms\":%ld}", ms);
        mock_json(w->m, "POST", "/__hogmock/clock/advance", NULL, json, &r);
        assert_int_equal(r.status, 200);
        resp_release(&r);
    }
}

static struct hog_client *client_at(const char *url, const char *token, const char *token_file,
                                    struct waits *w)
{
    struct hog_client_options o;
    struct hog_client *c;
    struct buf why = BUF_INIT;

    hog_client_options_init(&o);
    o.host = url;
    o.token = token;
    o.token_file = token_file;
    o.backoff_base_ms = 100;
    o.backoff_cap_ms = 1000;
    o.jitter_seed = 42;
    o.sleep = record_wait;
    o.sleep_ctx = w;
    if (hog_client_new(&o, &c, &why) != RC_OK)
        fail_msg("client: %s", buf_cstr(&why));
    buf_release(&why);
    return c;
}

static struct hog_client *client_for(struct mock *m, const char *token, struct waits *w)
{
    w->m = m;
    return client_at(m->url, token, NULL, w);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Journal entries for query (borrowed from r, which the caller releases). */
static const cJSON *journal(struct mock *m, const char *query, struct resp *r)
{
    char target[512];

    snprintf(target, sizeof(target), "/__hogmock/journal?limit=1000&%s", query);
    mock_call(m, "GET", target, NULL, NULL, 0, NULL, r);
    assert_int_equal(r->status, 200);
    return cJSON_GetObjectItemCaseSensitive(r->json, "items");
}

static const char *jheader(const cJSON *entry, const char *name)
{
    return str(cJSON_GetObjectItemCaseSensitive(entry, "headers"), name);
}

static const cJSON *last(const cJSON *items)
{
    int n = cJSON_GetArraySize(items);

    assert_true(n > 0);
    return cJSON_GetArrayItem(items, n - 1);
}

static void add_token(struct mock *m, const char *token, const char *principal, char *fp, size_t n)
{
    char json[256];
    struct resp r;

    snprintf(json, sizeof(json), "{\"token\":\"%s\",\"principal_id\":\"%s\"}", token, principal);
    mock_json(m, "POST", "/__hogmock/tokens", NULL, json, &r);
    assert_int_equal(r.status, 201);
    if (fp)
        snprintf(fp, n, "%s", resp_str(&r, "fingerprint"));
    resp_release(&r);
}

static char *new_box(struct hog_client *c, const char *const *labels)
{
    struct hog_box_spec s;
    struct hog_error err;
    cJSON *box = NULL;
    char *id;

    memset(&s, 0, sizeof(s));
    s.labels = labels;
    hog_error_init(&err);
    if (hog_box_create(c, &s, &box, &err) != RC_OK)
        fail_msg("create: %s", err.message);
    id = xstrdup(str(box, "id"));
    cJSON_Delete(box);
    hog_error_release(&err);
    return id;
}

static void sha256_hex(const unsigned char md[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    int i;

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void sha256_of(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
    sha256_hex(md, out);
}

/* ---- principal and wire --------------------------------------------------------- */

static void test_client_me_sends_credential_user_agent_and_accept(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    struct hog_error err;
    cJSON *me = NULL;
    const cJSON *e;
    struct resp r;

    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(err.type, HOG_ERR_NONE);
    assert_int_equal(err.attempts, 1);
    assert_string_equal(str(me, "principal_id"), "pr_alice");
    assert_string_equal(str(me, "auth_path"), "api_token");
    e = last(journal(m, "op=getMe", &r));
    assert_string_equal(jheader(e, "user-agent"), "libhogclient/" HOG_CLIENT_VERSION);
    assert_string_equal(jheader(e, "accept"), "application/json");
    assert_true(strncmp(jheader(e, "authorization"), "Bearer fp_", 10) == 0);
    assert_null(strstr(str(e, "query"), "tok_"));
    resp_release(&r);
    cJSON_Delete(me);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_limits_are_the_documented_defaults(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    struct hog_error err;
    cJSON *l = NULL;

    hog_error_init(&err);
    assert_int_equal(hog_limits(c, &l, &err), RC_OK);
    assert_int_equal((long)num(l, "file_max_bytes"), 67108864);
    assert_int_equal((long)num(l, "exec_output_max_bytes"), 1048576);
    assert_int_equal((long)num(cJSON_GetObjectItemCaseSensitive(l, "cpus"), "max"), 8);
    cJSON_Delete(l);
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- hogboxes ------------------------------------------------------------------- */

static void test_client_create_sends_an_idempotency_key_that_replays(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    const char *labels[] = { "suite=create", "team=agents", NULL };
    struct hog_box_spec s;
    struct hog_error err;
    cJSON *a = NULL, *b = NULL;
    const cJSON *e, *body;
    struct resp r;
    const char *key;

    hog_error_init(&err);
    memset(&s, 0, sizeof(s));
    s.cpus = HOG_INT(1);
    s.memory_mib = HOG_INT(512);
    s.labels = labels;
    assert_int_equal(hog_box_create(c, &s, &a, &err), RC_OK);
    assert_string_equal(str(a, "state"), "running");
    assert_int_equal((int)num(a, "cpus"), 1);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(a, "labels"), "team"), "agents");
    e = last(journal(m, "op=createHogbox", &r));
    key = jheader(e, "idempotency-key");
    assert_non_null(key);
    assert_int_equal(strlen(key), 36);
    assert_int_equal(key[14], '4');     /* a version 4 UUID */
    assert_string_equal(jheader(e, "content-type"), "application/json");
    body = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "body"), "json");
    assert_int_equal((int)num(body, "memory_mib"), 512);

    /* The same key again is the same box, not a second one. */
    s.idempotency_key = "client-test-key-1";
    assert_int_equal(hog_box_create(c, &s, &b, &err), RC_OK);
    cJSON_Delete(a);
    a = b;
    b = NULL;
    assert_int_equal(hog_box_create(c, &s, &b, &err), RC_OK);
    assert_string_equal(str(a, "id"), str(b, "id"));
    resp_release(&r);
    e = last(journal(m, "op=createHogbox", &r));
    assert_string_equal(jheader(e, "idempotency-key"), "client-test-key-1");

    resp_release(&r);
    cJSON_Delete(a);
    cJSON_Delete(b);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_box_lifecycle_maps_conflicts_and_not_found(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    struct hog_error err;
    cJSON *b = NULL;

    hog_error_init(&err);
    assert_int_equal(hog_box_get(c, id, &b, &err), RC_OK);
    assert_string_equal(str(b, "id"), id);
    cJSON_Delete(b);
    assert_int_equal(hog_box_pause(c, id, &b, &err), RC_OK);
    assert_string_equal(str(b, "state"), "paused");
    cJSON_Delete(b);

    assert_int_equal(hog_box_pause(c, id, &b, &err), RC_ERR);
    assert_null(b);
    assert_int_equal(err.type, HOG_ERR_CONFLICT);
    assert_int_equal(err.status, 409);
    assert_string_equal(hog_error_code(&err), "invalid_state");
    assert_non_null(err.request_id);
    assert_int_equal(err.attempts, 1);
    assert_string_equal(hog_error_type_name(err.type), "ConflictError");

    assert_int_equal(hog_box_resume(c, id, &b, &err), RC_OK);
    assert_int_equal(err.type, HOG_ERR_NONE);   /* an earlier error does not linger */
    assert_string_equal(str(b, "state"), "running");
    cJSON_Delete(b);

    assert_int_equal(hog_box_destroy(c, id, &err), RC_OK);
    assert_int_equal(hog_box_get(c, id, &b, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
    assert_string_equal(hog_error_code(&err), "hogbox_not_found");
    /* A second destroy of our own (no retry in between) is a NotFoundError. */
    assert_int_equal(hog_box_destroy(c, id, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
    assert_int_equal(err.status, 404);

    /* Another principal's box is 404 too. */
    free(id);
    id = new_box(c, NULL);
    {
        struct waits w2 = { 0 };
        struct hog_client *bob = client_for(m, "tok_bob", &w2);

        assert_int_equal(hog_box_get(bob, id, &b, &err), RC_ERR);
        assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
        hog_client_free(bob);
    }
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_list_pages_and_iterates_every_box(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    const char *labels[] = { "suite=list", NULL };
    char *ids[5];
    struct hog_list_opts o;
    struct hog_error err;
    struct hog_iter it;
    const cJSON *item, *items, *e;
    cJSON *page = NULL;
    struct resp r;
    int i, seen = 0, with_cursor = 0;

    hog_error_init(&err);
    for (i = 0; i < 5; i++)
        ids[i] = new_box(c, labels);
    memset(&o, 0, sizeof(o));
    o.limit = HOG_INT(2);
    o.labels = labels;
    assert_int_equal(hog_box_list(c, &o, &page, &err), RC_OK);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(page, "items")), 2);
    assert_non_null(str(page, "next_cursor"));
    cJSON_Delete(page);

    hog_iter_boxes(&it, c, &o);
    while (hog_iter_next(&it, &item, &err) == RC_OK) {
        /* Boxes made in the same instant come in id order: look each one up. */
        for (i = 0; i < 5 && strcmp(str(item, "id"), ids[i]) != 0; i++)
            ;
        assert_true(i < 5);
        seen++;
        assert_true(seen <= 5);
    }
    assert_int_equal(err.type, HOG_ERR_NONE);
    assert_int_equal(seen, 5);
    assert_int_equal(hog_iter_pages(&it), 3);
    assert_int_equal(hog_iter_next(&it, &item, &err), RC_NOT_FOUND);
    hog_iter_release(&it);

    /* Each page after the first asked with a cursor and the same filter. */
    items = journal(m, "op=listHogboxes", &r);
    cJSON_ArrayForEach(e, items)
        if (strstr(str(e, "query"), "cursor=") && strstr(str(e, "query"), "label=suite%3Dlist"))
            with_cursor++;
    assert_true(with_cursor >= 2);
    resp_release(&r);

    for (i = 0; i < 5; i++) {
        assert_int_equal(hog_box_destroy(c, ids[i], &err), RC_OK);
        free(ids[i]);
    }
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- exec ----------------------------------------------------------------------- */

static void test_client_exec_returns_output_and_a_nonzero_exit(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    const char *argv[] = { "sh", "-c", "echo $GREETING; pwd; echo oops >&2; exit 3", NULL };
    const char *env[] = { "GREETING=hi", NULL };
    struct hog_exec_req req = { argv, HOG_INT(30), env, "/tmp" };
    struct hog_exec_result res;
    struct hog_error err;

    hog_error_init(&err);
    hog_exec_result_init(&res);
    assert_int_equal(hog_box_exec(c, id, &req, &res, &err), RC_OK);
    assert_int_equal((int)num(res.json, "exit_code"), 3);
    assert_string_equal(buf_cstr(&res.stdout_data), "hi\n/tmp\n");
    assert_int_equal(res.stdout_data.len, 8);
    assert_string_equal(buf_cstr(&res.stderr_data), "oops\n");
    hog_exec_result_release(&res);
    hog_error_release(&err);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_client_free(c);
}

static void test_client_exec_keeps_nul_bytes_of_stdout_and_stderr(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    const char *argv[] = { "sh", "-c", "printf 'a\\000b'; printf '\\000c\\000' >&2", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_exec_result res;
    struct hog_error err;

    hog_error_init(&err);
    hog_exec_result_init(&res);
    assert_int_equal(hog_box_exec(c, id, &req, &res, &err), RC_OK);
    assert_int_equal(res.stdout_data.len, 3);
    assert_memory_equal(res.stdout_data.data, "a\0b", 3);
    assert_int_equal(res.stderr_data.len, 3);
    assert_memory_equal(res.stderr_data.data, "\0c\0", 3);
    /* The next call refills the result rather than adding to it. */
    assert_int_equal(hog_box_exec(c, id, &req, &res, &err), RC_OK);
    assert_int_equal(res.stdout_data.len, 3);
    assert_int_equal(res.stderr_data.len, 3);
    assert_int_equal(hog_box_exec(c, id, &req, NULL, &err), RC_OK);    /* output unwanted */
    hog_exec_result_release(&res);
    hog_exec_result_release(&res);      /* twice is harmless */
    hog_error_release(&err);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_client_free(c);
}

static const cJSON *last_body(struct mock *m, const char *query, struct resp *r)
{
    const cJSON *e = last(journal(m, query, r));

    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "body"), "json");
}

static void test_client_numbers_given_as_zero_or_below_are_sent(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    const char *argv[] = { "true", NULL };
    struct hog_exec_req req = { argv, HOG_INT(0), NULL, NULL };
    struct hog_exec_result res;
    struct hog_box_spec s;
    struct hog_list_opts o;
    struct hog_error err;
    const cJSON *body;
    cJSON *out = NULL;
    struct resp r;

    hog_error_init(&err);
    hog_exec_result_init(&res);
    memset(&s, 0, sizeof(s));
    s.cpus = HOG_INT(0);
    s.memory_mib = HOG_INT(-256);
    assert_int_equal(hog_box_create(c, &s, &out, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_VALIDATION);
    assert_int_equal(err.status, 422);
    body = last_body(m, "op=createHogbox", &r);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(body, "cpus")));
    assert_int_equal((int)num(body, "cpus"), 0);
    assert_int_equal((int)num(body, "memory_mib"), -256);
    assert_null(cJSON_GetObjectItemCaseSensitive(body, "disk_gib"));     /* not given */
    resp_release(&r);

    assert_int_equal(hog_box_exec(c, id, &req, &res, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_VALIDATION);
    assert_int_equal(err.status, 422);
    assert_null(res.json);
    body = last_body(m, "op=execHogbox", &r);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(body, "timeout_seconds")));
    resp_release(&r);

    memset(&o, 0, sizeof(o));
    o.limit = HOG_INT(0);
    assert_int_equal(hog_box_list(c, &o, &out, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_VALIDATION);
    assert_int_equal(err.status, 400);
    assert_string_equal(str(last(journal(m, "op=listHogboxes", &r)), "query"), "limit=0");
    resp_release(&r);
    assert_int_equal(hog_snapshot_list(c, HOG_INT(-1), NULL, &out, &err), RC_ERR);
    assert_int_equal(err.status, 400);
    assert_string_equal(str(last(journal(m, "op=listSnapshots", &r)), "query"), "limit=-1");
    resp_release(&r);

    /* Not given: left out, so the server's defaults apply. */
    o.limit = HOG_INT_DEFAULT;
    assert_int_equal(hog_box_list(c, &o, &out, &err), RC_OK);
    cJSON_Delete(out);
    assert_string_equal(str(last(journal(m, "op=listHogboxes", &r)), "query"), "");
    resp_release(&r);
    req.timeout_seconds = HOG_INT_DEFAULT;
    assert_int_equal(hog_box_exec(c, id, &req, &res, &err), RC_OK);
    body = last_body(m, "op=execHogbox", &r);
    assert_null(cJSON_GetObjectItemCaseSensitive(body, "timeout_seconds"));
    resp_release(&r);

    hog_exec_result_release(&res);
    hog_error_release(&err);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_client_free(c);
}

struct events {
    char kinds[64];
    struct buf out, errs;
    int exit_code;
    unsigned n, stop_after;
    long at_ms[64];
    struct timespec t0;
};

static int on_event(const struct hog_exec_event *ev, void *ctx)
{
    struct events *e = ctx;

    if (e->n < 63) {
        e->kinds[e->n] = ev->kind == HOG_EVENT_STDOUT ? 'o' : ev->kind == HOG_EVENT_STDERR ? 'e' : 'x';
        e->at_ms[e->n] = mock_ms_since(&e->t0);
    }
    e->n++;
    if (ev->kind == HOG_EVENT_STDOUT)
        buf_add(&e->out, ev->data, ev->len);
    else if (ev->kind == HOG_EVENT_STDERR)
        buf_add(&e->errs, ev->data, ev->len);
    else
        e->exit_code = ev->exit_code;
    return e->stop_after && e->n >= e->stop_after;
}

static void test_client_exec_stream_delivers_events_in_order(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    const char *argv[] = { "sh", "-c", "echo a; echo b >&2; printf 'c\\000d'; exit 4", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_exec_exit ex;
    struct hog_error err;
    struct events ev;
    const cJSON *e;
    struct resp r;

    memset(&ev, 0, sizeof(ev));
    clock_gettime(CLOCK_MONOTONIC, &ev.t0);
    hog_error_init(&err);
    assert_int_equal(hog_box_exec_stream(c, id, &req, on_event, &ev, &ex, &err), RC_OK);
    assert_int_equal(ex.exit_code, 4);
    assert_false(ex.timed_out);
    assert_int_equal(ex.events, ev.n);
    assert_int_equal(ev.kinds[ev.n - 1], 'x');
    assert_int_equal(ev.exit_code, 4);
    assert_int_equal(ev.out.len, 5);
    assert_memory_equal(ev.out.data, "a\nc\0d", 5);   /* U+0000 survives */
    assert_string_equal(buf_cstr(&ev.errs), "b\n");
    e = last(journal(m, "op=execHogboxStream", &r));
    assert_string_equal(jheader(e, "accept"), "text/event-stream");
    resp_release(&r);

    /* A callback that says stop ends the call. */
    buf_release(&ev.out);
    buf_release(&ev.errs);
    memset(&ev, 0, sizeof(ev));
    ev.stop_after = 1;
    assert_int_equal(hog_box_exec_stream(c, id, &req, on_event, &ev, &ex, &err), RC_STOPPED);
    assert_int_equal(ev.n, 1);
    assert_int_equal(err.type, HOG_ERR_NONE);

    /* An error before the stream starts is typed like any other. */
    assert_int_equal(hog_box_pause(c, id, NULL, &err), RC_OK);
    buf_release(&ev.out);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(hog_box_exec_stream(c, id, &req, on_event, &ev, &ex, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONFLICT);
    assert_int_equal(ev.n, 0);

    buf_release(&ev.out);
    buf_release(&ev.errs);
    hog_error_release(&err);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_client_free(c);
}

/* On the real clock, a scripted program's first event reaches the callback while the
 * program still runs; only lower bounds on time are checked. */
static void test_client_exec_stream_events_arrive_while_the_command_runs(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct waits w = { 0 };
    struct hog_client *c;
    const char *argv[] = { "ticker", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_exec_exit ex;
    struct hog_error err;
    struct events ev;
    struct resp r;
    char *id;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    m = mock_start(&cfg);
    c = client_for(m, "tok_alice", &w);
    w.m = NULL;
    mock_json(m, "POST", "/__hogmock/exec-programs", NULL,
              "{\"argv\":[\"ticker\"],\"events\":[{\"stdout\":\"one\\n\"},"
              "{\"stdout\":\"two\\n\",\"after_ms\":400},{\"stderr\":\"three\\n\",\"after_ms\":300},"
              "{\"exit\":0}]}", &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
    id = new_box(c, NULL);
    memset(&ev, 0, sizeof(ev));
    hog_error_init(&err);
    clock_gettime(CLOCK_MONOTONIC, &ev.t0);
    assert_int_equal(hog_box_exec_stream(c, id, &req, on_event, &ev, &ex, &err), RC_OK);
    assert_int_equal(ev.n, 4);
    assert_memory_equal(ev.kinds, "ooe", 3);
    assert_int_equal(ev.kinds[3], 'x');
    assert_string_equal(buf_cstr(&ev.out), "one\ntwo\n");
    /* "one" came at least 650 ms before the exit: events are not held back. */
    assert_true(ev.at_ms[1] - ev.at_ms[0] >= 350);
    assert_true(ev.at_ms[3] - ev.at_ms[0] >= 600);
    buf_release(&ev.out);
    buf_release(&ev.errs);
    hog_error_release(&err);
    free(id);
    hog_client_free(c);
    mock_stop(m);
}

/* ---- snapshots ------------------------------------------------------------------ */

static void test_client_snapshots_list_get_delete_and_in_use(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_bob", &w);
    char *id = new_box(c, NULL), *child;
    struct hog_box_spec s;
    struct hog_error err;
    struct hog_iter it;
    const cJSON *item, *e;
    cJSON *snap = NULL, *got = NULL, *box = NULL;
    struct resp r;
    char sid[64];
    int found = 0;

    hog_error_init(&err);
    assert_int_equal(hog_box_snapshot(c, id, NULL, &snap, &err), RC_OK);
    snprintf(sid, sizeof(sid), "%s", str(snap, "id"));
    assert_string_equal(str(snap, "hogbox_id"), id);
    e = last(journal(m, "op=snapshotHogbox", &r));
    assert_int_equal(strlen(jheader(e, "idempotency-key")), 36);
    resp_release(&r);
    assert_int_equal(hog_snapshot_get(c, sid, &got, &err), RC_OK);
    assert_string_equal(str(got, "id"), sid);
    hog_iter_snapshots(&it, c, HOG_INT(1));
    while (hog_iter_next(&it, &item, &err) == RC_OK)
        found += strcmp(str(item, "id"), sid) == 0;
    hog_iter_release(&it);
    assert_int_equal(found, 1);

    memset(&s, 0, sizeof(s));
    s.snapshot_id = sid;
    assert_int_equal(hog_box_create(c, &s, &box, &err), RC_OK);
    child = xstrdup(str(box, "id"));
    assert_int_equal(hog_snapshot_delete(c, sid, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONFLICT);
    assert_string_equal(hog_error_code(&err), "snapshot_in_use");
    assert_int_equal(hog_box_destroy(c, child, &err), RC_OK);
    assert_int_equal(hog_snapshot_delete(c, sid, &err), RC_OK);
    cJSON_Delete(got);
    assert_int_equal(hog_snapshot_get(c, sid, &got, &err), RC_ERR);
    assert_null(got);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
    s.snapshot_id = "snap_nosuch";
    cJSON_Delete(box);
    assert_int_equal(hog_box_create(c, &s, &box, &err), RC_ERR);
    assert_null(box);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
    assert_string_equal(hog_error_code(&err), "snapshot_not_found");

    cJSON_Delete(snap);
    cJSON_Delete(got);
    cJSON_Delete(box);
    hog_box_destroy(c, id, &err);
    free(id);
    free(child);
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- files ---------------------------------------------------------------------- */

static void test_client_files_round_trip_all_256_byte_values(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    struct hog_file_opts o = { "0600", true };
    unsigned char bytes[512];
    struct buf back = BUF_INIT;
    struct hog_error err;
    char hex[65];
    cJSON *wr = NULL;
    const cJSON *e;
    struct resp r;
    int i;

    for (i = 0; i < 512; i++)
        bytes[i] = (unsigned char)(i < 256 ? i : 511 - i);
    hog_error_init(&err);
    assert_int_equal(hog_file_write(c, id, "/srv/bin/all bytes", &o, bytes, sizeof(bytes), &wr,
                                    &err), RC_OK);
    sha256_of(bytes, sizeof(bytes), hex);
    assert_string_equal(str(wr, "sha256"), hex);
    assert_string_equal(str(wr, "mode"), "0600");
    assert_string_equal(str(wr, "path"), "/srv/bin/all bytes");
    assert_int_equal((int)num(wr, "size"), 512);
    e = last(journal(m, "op=writeFile", &r));
    assert_string_equal(jheader(e, "content-type"), "application/octet-stream");
    resp_release(&r);

    assert_int_equal(hog_file_read(c, id, "/srv/bin/all bytes", &back, &err), RC_OK);
    assert_int_equal(back.len, sizeof(bytes));
    assert_memory_equal(back.data, bytes, sizeof(bytes));
    e = last(journal(m, "op=readFile", &r));
    assert_string_equal(jheader(e, "accept"), "application/octet-stream");
    resp_release(&r);

    /* An empty file is a file. */
    assert_int_equal(hog_file_write(c, id, "/root/empty", NULL, NULL, 0, NULL, &err), RC_OK);
    buf_reset(&back);
    assert_int_equal(hog_file_read(c, id, "/root/empty", &back, &err), RC_OK);
    assert_int_equal(back.len, 0);

    cJSON_Delete(wr);
    buf_release(&back);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

/* A deterministic byte source, hashed as it is produced. */
struct source {
    uint64_t x;
    int64_t left;
    size_t max_chunk;
    EVP_MD_CTX *md;
    unsigned calls;
};

static ssize_t produce(void *dst, size_t n, void *ctx)
{
    struct source *s = ctx;
    unsigned char *p = dst;
    size_t i;

    s->calls++;
    if (n > s->max_chunk)
        n = s->max_chunk;
    if ((int64_t)n > s->left)
        n = (size_t)s->left;
    for (i = 0; i < n; i++) {
        s->x ^= s->x << 13;
        s->x ^= s->x >> 7;
        s->x ^= s->x << 17;
        p[i] = (unsigned char)(s->x >> 24);
    }
    s->left -= (int64_t)n;
    EVP_DigestUpdate(s->md, dst, n);
    return (ssize_t)n;
}

static int hash_sink(const void *data, size_t n, void *ctx)
{
    EVP_DigestUpdate(ctx, data, n);
    return 0;
}

static void digest_hex(EVP_MD_CTX *md, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;

    EVP_DigestFinal_ex(md, d, &n);
    sha256_hex(d, out);
}

static void test_client_files_64_mib_round_trip_keeps_sha256(void **state)
{
    const int64_t size = 64 * 1024 * 1024;
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    struct source src = { 0x9e3779b97f4a7c15ull, size, 1 << 20, EVP_MD_CTX_new(), 0 };
    EVP_MD_CTX *back = EVP_MD_CTX_new();
    struct buf mem = BUF_INIT;
    struct hog_error err;
    char sent[65], got[65], mem_hex[65];
    cJSON *wr = NULL;

    hog_error_init(&err);
    EVP_DigestInit_ex(src.md, EVP_sha256(), NULL);
    EVP_DigestInit_ex(back, EVP_sha256(), NULL);
    /* Streamed from a callback ... */
    assert_int_equal(hog_file_write_cb(c, id, "/root/big.bin", NULL, produce, &src, size, &wr,
                                       &err), RC_OK);
    assert_int_equal(src.left, 0);
    digest_hex(src.md, sent);
    assert_string_equal(str(wr, "sha256"), sent);
    assert_true(num(wr, "size") == (double)size);
    /* ... back into a callback ... */
    assert_int_equal(hog_file_read_cb(c, id, "/root/big.bin", hash_sink, back, &err), RC_OK);
    digest_hex(back, got);
    assert_string_equal(got, sent);
    /* ... and into memory. */
    assert_int_equal(hog_file_read(c, id, "/root/big.bin", &mem, &err), RC_OK);
    assert_true(mem.len == (size_t)size);
    sha256_of(mem.data, mem.len, mem_hex);
    assert_string_equal(mem_hex, sent);

    EVP_MD_CTX_free(src.md);
    EVP_MD_CTX_free(back);
    buf_release(&mem);
    cJSON_Delete(wr);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_files_stream_a_body_of_unknown_size(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    struct source src = { 7, 300000, 4096, EVP_MD_CTX_new(), 0 };
    struct buf back = BUF_INIT;
    struct hog_error err;
    char sent[65], got[65];
    cJSON *wr = NULL;
    const cJSON *e;
    struct resp r;

    hog_error_init(&err);
    EVP_DigestInit_ex(src.md, EVP_sha256(), NULL);
    assert_int_equal(hog_file_write_cb(c, id, "/root/chunked", NULL, produce, &src, -1, &wr,
                                       &err), RC_OK);
    digest_hex(src.md, sent);
    assert_string_equal(str(wr, "sha256"), sent);
    e = last(journal(m, "op=writeFile", &r));
    assert_string_equal(jheader(e, "transfer-encoding"), "chunked");
    resp_release(&r);
    assert_int_equal(hog_file_read(c, id, "/root/chunked", &back, &err), RC_OK);
    sha256_of(back.data, back.len, got);
    assert_string_equal(got, sent);

    EVP_MD_CTX_free(src.md);
    buf_release(&back);
    cJSON_Delete(wr);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static ssize_t zeros(void *dst, size_t n, void *ctx)
{
    (void)ctx;
    memset(dst, 0, n);
    return (ssize_t)n;
}

static void test_client_file_errors_are_typed(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    struct buf back = BUF_INIT;
    struct hog_error err;

    hog_error_init(&err);
    assert_int_equal(hog_file_read(c, id, "/root/missing", &back, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
    assert_string_equal(hog_error_code(&err), "file_not_found");
    assert_int_equal(back.len, 0);
    assert_int_equal(hog_file_write(c, id, "relative.txt", NULL, "x", 1, NULL, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_VALIDATION);
    assert_int_equal(err.status, 422);
    assert_int_equal(hog_file_write(c, id, "/no/such/dir/f", NULL, "x", 1, NULL, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);
    /* One byte over file_max_bytes: refused on its Content-Length, before the body. */
    assert_int_equal(hog_file_write_cb(c, id, "/root/too-big", NULL, zeros, NULL,
                                       64 * 1024 * 1024 + 1, NULL, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_VALIDATION);
    assert_int_equal(err.status, 413);
    assert_string_equal(hog_error_code(&err), "payload_too_large");

    buf_release(&back);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- proxy ---------------------------------------------------------------------- */

static void test_client_proxy_url_escapes_and_holds_no_credential(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    struct buf u = BUF_INIT, want = BUF_INIT;

    assert_int_equal(hog_proxy_url(c, "hb_1", 8080, "/health", &u), RC_OK);
    buf_addf(&want, "%s/v1/hogboxes/hb_1/proxy/8080/health", m->url);
    assert_string_equal(buf_cstr(&u), buf_cstr(&want));
    buf_reset(&u);
    buf_reset(&want);
    assert_int_equal(hog_proxy_url(c, "hb/1", 3000, "a b/c%2Fd?é", &u), RC_OK);
    buf_addf(&want, "%s/v1/hogboxes/hb%%2F1/proxy/3000/a%%20b/c%%2Fd%%3F%%C3%%A9", m->url);
    assert_string_equal(buf_cstr(&u), buf_cstr(&want));
    assert_null(strstr(buf_cstr(&u), "tok_"));
    buf_reset(&u);
    assert_int_equal(hog_proxy_url(c, "hb_1", 8080, NULL, &u), RC_OK);
    assert_true(str_endswith(buf_cstr(&u), "/proxy/8080/"));
    buf_reset(&u);
    assert_int_equal(hog_proxy_url(c, "hb_1", 0, "/", &u), RC_INVALID);
    assert_int_equal(hog_proxy_url(c, "hb_1", 65536, "/", &u), RC_INVALID);
    assert_int_equal(u.len, 0);
    buf_release(&u);
    buf_release(&want);
    hog_client_free(c);
}

static void test_client_proxy_request_returns_the_service_answer(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    const char *hdrs[] = { "Content-Type: text/plain", "X-Test: yes", NULL };
    struct hog_proxy_req req;
    struct hog_proxy_resp resp;
    struct hog_error err;
    cJSON *echo, *h;
    struct resp r;

    hog_error_init(&err);
    hog_proxy_resp_init(&resp);
    memset(&req, 0, sizeof(req));
    req.port = 8080;
    req.path = "/health";
    assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(buf_cstr(&resp.body), "{\"status\":\"ok\"}");
    assert_string_equal(str(resp.headers, "content-type"), "application/json");
    assert_non_null(str(resp.headers, "x-request-id"));

    /* The service's own 404 is an answer, not an error. */
    req.path = "/nope";
    assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_OK);
    assert_int_equal(resp.status, 404);
    assert_string_equal(buf_cstr(&resp.body), "404 page not found\n");

    /* What the service receives: method, path, query, body, and no credential. */
    mock_json(m, "PUT", "/__hogmock/services", NULL, "{\"box\":\"*\",\"port\":3000,\"echo\":true}", &r);
    assert_int_equal(r.status / 100, 2);
    resp_release(&r);
    req.method = "POST";
    req.port = 3000;
    req.path = "/api/items";
    req.query = "x=1";
    req.headers = hdrs;
    req.body = "hello";
    req.body_len = 5;
    assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_OK);
    assert_int_equal(resp.status, 200);
    echo = cJSON_ParseWithLength(resp.body.data, resp.body.len);
    assert_non_null(echo);
    assert_string_equal(str(echo, "method"), "POST");
    assert_string_equal(str(echo, "path"), "/api/items");
    assert_string_equal(str(echo, "query"), "x=1");
    h = cJSON_GetObjectItemCaseSensitive(echo, "headers");
    assert_null(cJSON_GetObjectItem(h, "authorization"));
    assert_non_null(cJSON_GetObjectItem(h, "x-test"));
    cJSON_Delete(echo);

    /* An Authorization of the caller's is refused: the client sends its own. */
    {
        const char *bad[] = { "Authorization: Bearer other", NULL };

        req.headers = bad;
        assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_INVALID);
        assert_int_equal(err.type, HOG_ERR_VALIDATION);
        assert_int_equal(err.attempts, 0);
    }

    hog_proxy_resp_release(&resp);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_proxy_errors_of_hogplane_are_typed_and_retried(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w);
    char *id = new_box(c, NULL);
    struct hog_proxy_req req;
    struct hog_proxy_resp resp;
    struct hog_error err;

    hog_error_init(&err);
    hog_proxy_resp_init(&resp);
    memset(&req, 0, sizeof(req));
    req.port = 9999;
    req.path = "/";
    /* Nothing listens: 502 upstream_unavailable, a GET is tried max_attempts times. */
    assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_SERVER);
    assert_int_equal(err.status, 502);
    assert_string_equal(hog_error_code(&err), "upstream_unavailable");
    assert_int_equal(err.attempts, 4);
    assert_int_equal(w.n, 3);
    /* ... but a POST is not. */
    req.method = "POST";
    assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_ERR);
    assert_int_equal(err.attempts, 1);
    /* A paused box: 409 from hogplane itself. */
    req.method = NULL;
    req.port = 8080;
    assert_int_equal(hog_box_pause(c, id, NULL, &err), RC_OK);
    assert_int_equal(hog_proxy_request(c, id, &req, &resp, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONFLICT);
    assert_int_equal(hog_proxy_request(c, "hb_0000000000000000", &req, &resp, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_NOT_FOUND);

    hog_proxy_resp_release(&resp);
    hog_box_destroy(c, id, &err);
    free(id);
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- errors --------------------------------------------------------------------- */

static void test_client_unknown_token_is_an_authentication_error(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_nobody", &w);
    struct hog_error err;
    cJSON *me = NULL;

    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_null(me);
    assert_int_equal(err.type, HOG_ERR_AUTHENTICATION);
    assert_int_equal(err.status, 401);
    assert_string_equal(hog_error_code(&err), "invalid_token");
    assert_int_equal(err.attempts, 1);
    assert_null(strstr(err.message, "tok_nobody"));
    assert_string_equal(hog_error_type_name(err.type), "AuthenticationError");
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_missing_trust_mapping_is_permission_denied(void **state)
{
    const char *issuers[] = { "k8s", NULL };
    struct hogmock_config cfg;
    struct mock *m;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;
    struct resp r;

    (void)state;
    mock_default_config(&cfg);
    cfg.issuers = issuers;
    m = mock_start(&cfg);
    mock_json(m, "POST", "/__hogmock/mint", NULL,
              "{\"issuer\":\"k8s\",\"namespace\":\"agents\",\"service_account\":\"unmapped\"}", &r);
    assert_int_equal(r.status, 200);
    c = client_for(m, resp_str(&r, "token"), &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_PERMISSION_DENIED);
    assert_int_equal(err.status, 403);
    assert_string_equal(hog_error_code(&err), "no_trust_mapping");
    resp_release(&r);
    hog_error_release(&err);
    hog_client_free(c);
    mock_stop(m);
}

static void test_client_quota_is_a_rate_limit_error_not_retried(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    struct hog_iter it;
    const cJSON *item;
    cJSON *box = NULL;
    char *ids[32];
    int i, n = 0;

    add_token(m, "tok_quota", "pr_quota", NULL, 0);
    c = client_for(m, "tok_quota", &w);
    hog_error_init(&err);
    for (i = 0; i < 30; i++) {
        if (hog_box_create(c, NULL, &box, &err) != RC_OK)
            break;
        cJSON_Delete(box);
    }
    assert_int_equal(i, 20);
    assert_int_equal(err.type, HOG_ERR_RATE_LIMIT);
    assert_int_equal(err.status, 429);
    assert_string_equal(hog_error_code(&err), "quota_exceeded");
    assert_int_equal(err.retry_after, -1);
    assert_int_equal(err.attempts, 1);
    assert_int_equal(w.n, 0);
    hog_iter_boxes(&it, c, NULL);
    while (hog_iter_next(&it, &item, &err) == RC_OK && n < 32)
        ids[n++] = xstrdup(str(item, "id"));
    hog_iter_release(&it);
    assert_int_equal(n, 20);
    for (i = 0; i < n; i++) {
        assert_int_equal(hog_box_destroy(c, ids[i], &err), RC_OK);
        free(ids[i]);
    }
    hog_error_release(&err);
    hog_client_free(c);
}

/* A port that nothing listens on (bound, then closed). */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void test_client_refused_connection_is_retried_even_for_exec(void **state)
{
    const char *argv[] = { "true", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_exec_result res;
    struct hog_error err;
    char url[64];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    c = client_at(url, "tok_alice", NULL, &w);
    hog_error_init(&err);
    hog_exec_result_init(&res);
    /* Nothing reached a server, so even a POST without a key may go again. */
    assert_int_equal(hog_box_exec(c, "hb_1", &req, &res, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(err.status, 0);
    assert_null(err.body);
    assert_null(res.json);
    assert_int_equal(err.attempts, 4);
    /* Exponential backoff with jitter: base 100, each wait in [d/2, d] for d = 100, 200, 400. */
    assert_int_equal(w.n, 3);
    assert_in_range(w.ms[0], 50, 100);
    assert_in_range(w.ms[1], 100, 200);
    assert_in_range(w.ms[2], 200, 400);
    hog_error_release(&err);
    hog_client_free(c);
}

/* A deadline ends the call where it is, here in the middle of a stream on the real clock:
 * the events before it stay delivered. */
static void test_client_deadline_is_a_timeout_error(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct waits w = { 0 };
    struct hog_client *c;
    const char *argv[] = { "slowpoke", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_exec_exit ex;
    struct hog_error err;
    struct events ev;
    struct timespec t0;
    struct resp r;
    long took, slow = mock_slow();
    char program[160];
    char *id;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    m = mock_start(&cfg);
    c = client_for(m, "tok_alice", &w);
    w.m = NULL;
    snprintf(program, sizeof(program), "{\"argv\":[\"slowpoke\"],\"events\":[{\"stdout\":"
             "\"start\\n\"},{\"stdout\":\"late\\n\",\"after_ms\":%ld},{\"exit\":0}]}",
             5000 * slow);
    mock_json(m, "POST", "/__hogmock/exec-programs", NULL, program, &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
    id = new_box(c, NULL);
    memset(&ev, 0, sizeof(ev));
    hog_error_init(&err);
    hog_client_set_deadline(c, 400 * slow);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ev.t0 = t0;
    assert_int_equal(hog_box_exec_stream(c, id, &req, on_event, &ev, &ex, &err), RC_ERR);
    took = mock_ms_since(&t0);
    assert_int_equal(err.type, HOG_ERR_TIMEOUT);
    assert_string_equal(hog_error_type_name(err.type), "TimeoutError");
    assert_int_equal(err.attempts, 1);
    assert_int_equal(ev.n, 1);
    assert_string_equal(buf_cstr(&ev.out), "start\n");
    assert_true(took >= 350 * slow);
    assert_true(took < 4000 * slow);
    buf_release(&ev.out);
    hog_error_release(&err);
    free(id);
    hog_client_free(c);
    mock_stop(m);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_client_token_file_is_read_for_every_request(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    char dir[] = "/tmp/hogclient-XXXXXX", path[64], fp1[32], fp2[32];
    struct hog_client *c;
    struct hog_error err;
    const cJSON *items, *e;
    cJSON *me = NULL;
    struct resp r;

    add_token(m, "tok_rotating_one", "pr_rotating", fp1, sizeof(fp1));
    add_token(m, "tok_rotating_two", "pr_rotating", fp2, sizeof(fp2));
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    write_text(path, "tok_rotating_one\n");
    w.m = m;
    c = client_at(m->url, NULL, path, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    cJSON_Delete(me);
    /* Rotated as the kubelet does it: the file is replaced between two calls. */
    write_text(path, "tok_rotating_two\n");
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_string_equal(str(me, "principal_id"), "pr_rotating");
    cJSON_Delete(me);
    items = journal(m, "principal=pr_rotating", &r);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    e = cJSON_GetArrayItem(items, 0);
    assert_true(strstr(jheader(e, "authorization"), fp1) != NULL);
    e = cJSON_GetArrayItem(items, 1);
    assert_true(strstr(jheader(e, "authorization"), fp2) != NULL);
    resp_release(&r);

    /* A file that is gone is an authentication error, before anything is sent. */
    unlink(path);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_AUTHENTICATION);
    assert_int_equal(err.attempts, 0);
    assert_non_null(strstr(err.message, path));
    write_text(path, "\n");
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_AUTHENTICATION);
    unlink(path);
    rmdir(dir);
    hog_error_release(&err);
    hog_client_free(c);
}

static void test_client_arguments_are_refused_before_sending(void **state)
{
    struct mock *m = *state;
    struct waits w = { 0 };
    struct hog_client *c = client_for(m, "tok_alice", &w), *none = NULL;
    struct hog_client_options o;
    const char *empty[] = { NULL };
    const char *badlabel[] = { "novalue", NULL };
    struct hog_exec_req req = { empty, HOG_INT_DEFAULT, NULL, NULL };
    struct hog_box_spec s;
    struct hog_exec_result res;
    struct hog_error err;
    struct buf why = BUF_INIT;
    cJSON *out = NULL;

    hog_error_init(&err);
    hog_exec_result_init(&res);
    assert_int_equal(hog_box_get(c, NULL, &out, &err), RC_INVALID);
    assert_int_equal(err.type, HOG_ERR_VALIDATION);
    assert_int_equal(err.status, 0);
    assert_int_equal(err.attempts, 0);
    assert_int_equal(hog_box_get(c, "", &out, &err), RC_INVALID);
    assert_int_equal(hog_box_exec(c, "hb_1", &req, &res, &err), RC_INVALID);
    assert_null(res.json);
    assert_int_equal(hog_file_read(c, "hb_1", NULL, &why, &err), RC_INVALID);
    memset(&s, 0, sizeof(s));
    s.labels = badlabel;
    assert_int_equal(hog_box_create(c, &s, &out, &err), RC_INVALID);
    assert_null(out);

    hog_client_options_init(&o);
    assert_int_equal(hog_client_new(&o, &none, &why), RC_INVALID);
    assert_null(none);
    assert_string_equal(buf_cstr(&why), "no host given");
    buf_reset(&why);
    o.host = "ftp://127.0.0.1";
    o.token = "tok_alice";
    assert_int_equal(hog_client_new(&o, &none, &why), RC_INVALID);
    buf_reset(&why);
    o.host = "http://127.0.0.1:1/";
    o.token = NULL;
    assert_int_equal(hog_client_new(&o, &none, &why), RC_INVALID);
    o.token = "tok_alice";
    assert_int_equal(hog_client_new(&o, &none, NULL), RC_OK);
    assert_string_equal(hog_client_host(none), "http://127.0.0.1:1");
    hog_client_free(none);
    hog_client_free(NULL);
    buf_release(&why);
    hog_error_release(&err);
    hog_client_free(c);
}

/* ---- pure functions ------------------------------------------------------------- */

static void test_client_maps_every_status_the_canonical_way(void **state)
{
    static const struct {
        long status;
        enum hog_error_type type;
        const char *name;
    } cases[] = {
        { 200, HOG_ERR_NONE, "" }, { 204, HOG_ERR_NONE, "" },
        { 400, HOG_ERR_VALIDATION, "ValidationError" }, { 413, HOG_ERR_VALIDATION, "ValidationError" },
        { 422, HOG_ERR_VALIDATION, "ValidationError" },
        { 401, HOG_ERR_AUTHENTICATION, "AuthenticationError" },
        { 403, HOG_ERR_PERMISSION_DENIED, "PermissionDeniedError" },
        { 404, HOG_ERR_NOT_FOUND, "NotFoundError" }, { 409, HOG_ERR_CONFLICT, "ConflictError" },
        { 429, HOG_ERR_RATE_LIMIT, "RateLimitError" }, { 500, HOG_ERR_SERVER, "ServerError" },
        { 502, HOG_ERR_SERVER, "ServerError" }, { 599, HOG_ERR_SERVER, "ServerError" },
        { 302, HOG_ERR_API, "APIError" }, { 405, HOG_ERR_API, "APIError" },
        { 406, HOG_ERR_API, "APIError" }, { 415, HOG_ERR_API, "APIError" },
        { 418, HOG_ERR_API, "APIError" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(hog_error_type_for_status(cases[i].status), cases[i].type);
        assert_string_equal(hog_error_type_name(hog_error_type_for_status(cases[i].status)),
                            cases[i].name);
    }
    assert_string_equal(hog_error_type_name(HOG_ERR_CONNECTION), "ConnectionError");
    assert_string_equal(hog_error_type_cname(HOG_ERR_TIMEOUT), "HOG_ERR_TIMEOUT");
}

static void test_client_parses_retry_after_seconds_and_dates(void **state)
{
    time_t now = 1445412470;    /* 2015-10-21T07:27:50Z */

    (void)state;
    assert_int_equal(hog_parse_retry_after("120", now), 120);
    assert_int_equal(hog_parse_retry_after(" 2 ", now), 2);
    assert_int_equal(hog_parse_retry_after("0", now), 0);
    assert_int_equal(hog_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 10);
    assert_int_equal(hog_parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
    assert_int_equal(hog_parse_retry_after("12abc", now), -1);
    assert_int_equal(hog_parse_retry_after("-5", now), -1);
    assert_int_equal(hog_parse_retry_after("soon", now), -1);
    assert_int_equal(hog_parse_retry_after("", now), -1);
    assert_int_equal(hog_parse_retry_after(NULL, now), -1);
    assert_int_equal(hog_parse_retry_after("99999999999999999999", now), 1000000000L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_me_sends_credential_user_agent_and_accept),
        cmocka_unit_test(test_client_limits_are_the_documented_defaults),
        cmocka_unit_test(test_client_create_sends_an_idempotency_key_that_replays),
        cmocka_unit_test(test_client_box_lifecycle_maps_conflicts_and_not_found),
        cmocka_unit_test(test_client_list_pages_and_iterates_every_box),
        cmocka_unit_test(test_client_exec_returns_output_and_a_nonzero_exit),
        cmocka_unit_test(test_client_exec_keeps_nul_bytes_of_stdout_and_stderr),
        cmocka_unit_test(test_client_numbers_given_as_zero_or_below_are_sent),
        cmocka_unit_test(test_client_exec_stream_delivers_events_in_order),
        cmocka_unit_test(test_client_exec_stream_events_arrive_while_the_command_runs),
        cmocka_unit_test(test_client_snapshots_list_get_delete_and_in_use),
        cmocka_unit_test(test_client_files_round_trip_all_256_byte_values),
        cmocka_unit_test(test_client_files_64_mib_round_trip_keeps_sha256),
        cmocka_unit_test(test_client_files_stream_a_body_of_unknown_size),
        cmocka_unit_test(test_client_file_errors_are_typed),
        cmocka_unit_test(test_client_proxy_url_escapes_and_holds_no_credential),
        cmocka_unit_test(test_client_proxy_request_returns_the_service_answer),
        cmocka_unit_test(test_client_proxy_errors_of_hogplane_are_typed_and_retried),
        cmocka_unit_test(test_client_unknown_token_is_an_authentication_error),
        cmocka_unit_test(test_client_missing_trust_mapping_is_permission_denied),
        cmocka_unit_test(test_client_quota_is_a_rate_limit_error_not_retried),
        cmocka_unit_test(test_client_refused_connection_is_retried_even_for_exec),
        cmocka_unit_test(test_client_deadline_is_a_timeout_error),
        cmocka_unit_test(test_client_token_file_is_read_for_every_request),
        cmocka_unit_test(test_client_arguments_are_refused_before_sending),
        cmocka_unit_test(test_client_maps_every_status_the_canonical_way),
        cmocka_unit_test(test_client_parses_retry_after_seconds_and_dates),
    };

    return cmocka_run_group_tests_name("client", tests, mock_setup, mock_teardown);
}
