/* Integration tests for libhogclient's retries and transport errors, against a scripted
 * HTTP server on 127.0.0.1 that answers each connection with the next step of a script:
 * raw bytes (503s, 429 with Retry-After, truncated or malformed bodies, cut streams), a
 * reset, silence, or the request forwarded to an in-process hogmock whose answer is then
 * relayed or lost (a reset after the work was done). Waits go through the client's
 * injectable sleep, so no test waits for a backoff. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"
#include "hogclient.h"
#include "xmalloc.h"

/* ---- the scripted server -------------------------------------------------------- */

enum end {
    END_CLOSE,      /* answer, then close */
    END_RESET,      /* answer (or not), then a TCP reset */
    END_HANG,       /* no answer; wait until the client leaves */
};

struct step {
    char *reply;        /* bytes to answer with; NULL: forward to the upstream */
    enum end end;
};

#define MAX_STEPS 8

struct script {
    int fd, port, upstream_port;
    struct step steps[MAX_STEPS];
    size_t nsteps;
    pthread_t tid;
    atomic_bool stop;
    pthread_mutex_t lock;
    struct buf req[MAX_STEPS + 4];      /* each request as received */
    size_t nreq;
};

/* strcasestr, which is not POSIX. */
static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

static bool wait_readable(int fd, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };

    return poll(&p, 1, ms) > 0;
}

/* Read one request (head and Content-Length body); false when the client sent none. */
static bool read_request(int fd, struct buf *out)
{
    const char *end = NULL, *cl;
    size_t want = 0;
    char chunk[8192];
    ssize_t n;
    int rounds = 0;

    while (!end && rounds++ < 200) {
        if (!wait_readable(fd, 2000) || (n = read(fd, chunk, sizeof(chunk))) <= 0)
            return false;
        buf_add(out, chunk, (size_t)n);
        end = strstr(buf_cstr(out), "\r\n\r\n");
    }
    if (!end)
        return false;
    cl = find_ci(buf_cstr(out), "\r\nContent-Length:");
    if (cl && cl < end)
        want = (size_t)strtoul(cl + 17, NULL, 10);
    if (find_ci(buf_cstr(out), "\r\nExpect: 100-continue"))
        (void)!write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    while ((size_t)(out->len - (size_t)(end + 4 - out->data)) < want && rounds++ < 2000) {
        size_t head = (size_t)(end - out->data);

        if (!wait_readable(fd, 2000) || (n = read(fd, chunk, sizeof(chunk))) <= 0)
            break;
        buf_add(out, chunk, (size_t)n);
        end = out->data + head;
    }
    return true;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void reset(int fd)
{
    struct linger l = { 1, 0 };

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* Send req to the upstream and read its whole answer (head and Content-Length body). */
static void forward(int port, const struct buf *req, struct buf *answer)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        write_all(fd, req->data, req->len);
        read_request(fd, answer);   /* an answer has the same framing */
    }
    close(fd);
}

static void *serve(void *arg)
{
    struct script *s = arg;
    size_t i = 0;

    while (!atomic_load(&s->stop)) {
        struct buf req = BUF_INIT;
        const struct step *st;
        int cfd;

        if (!wait_readable(s->fd, 50))
            continue;
        cfd = accept(s->fd, NULL, NULL);
        if (cfd < 0)
            continue;
        if (!read_request(cfd, &req)) {
            buf_release(&req);
            close(cfd);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        if (s->nreq < MAX_STEPS + 4)
            s->req[s->nreq++] = req;
        else
            buf_release(&req);
        pthread_mutex_unlock(&s->lock);
        if (i >= s->nsteps) {
            static const char over[] = "HTTP/1.1 500 Script Over\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";

            write_all(cfd, over, sizeof(over) - 1);
            close(cfd);
            continue;
        }
        st = &s->steps[i++];
        if (!st->reply) {
            struct buf answer = BUF_INIT;

            forward(s->upstream_port, &s->req[s->nreq - 1], &answer);
            if (st->end != END_RESET)
                write_all(cfd, answer.data, answer.len);
            buf_release(&answer);
        } else {
            write_all(cfd, st->reply, strlen(st->reply));
        }
        if (st->end == END_RESET) {
            reset(cfd);
        } else if (st->end == END_HANG) {
            int rounds = 0;
            char sink[256];

            /* Until the client gives up (EOF) or the test ends; at most 10 s. */
            while (!atomic_load(&s->stop) && rounds++ < 200) {
                if (wait_readable(cfd, 50) && read(cfd, sink, sizeof(sink)) <= 0)
                    break;
            }
            close(cfd);
        } else {
            shutdown(cfd, SHUT_WR);
            close(cfd);
        }
    }
    return NULL;
}

static void script_start(struct script *s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int one = 1;

    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->lock, NULL);
    atomic_store(&s->stop, false);
    assert_int_equal(pthread_create(&s->tid, NULL, serve, s), 0);
}

static void script_stop(struct script *s)
{
    size_t i;

    atomic_store(&s->stop, true);
    pthread_join(s->tid, NULL);
    close(s->fd);
    for (i = 0; i < s->nreq; i++)
        buf_release(&s->req[i]);
    for (i = 0; i < s->nsteps; i++)
        free(s->steps[i].reply);
    pthread_mutex_destroy(&s->lock);
}

static void step(struct script *s, enum end end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add a step answering with the bytes of fmt. */
static void step(struct script *s, enum end end, const char *fmt, ...)
{
    va_list ap;
    char *text;
    int n;

    assert_true(s->nsteps < MAX_STEPS);
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    text = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->steps[s->nsteps].reply = text;
    s->steps[s->nsteps++].end = end;
}

/* Add a step that forwards the request to the upstream (hogmock). */
static void forward_step(struct script *s, enum end end)
{
    assert_true(s->nsteps < MAX_STEPS);
    s->steps[s->nsteps].reply = NULL;
    s->steps[s->nsteps++].end = end;
}

/* A complete answer: status line, headers (each ending in \r\n), a body. */
static void answer(struct script *s, int status, const char *headers, const char *body)
{
    step(s, END_CLOSE, "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
         status, headers, strlen(body), body);
}

static const char problem_503[] =
    "{\"type\":\"urn:hogplane:problem:unavailable\",\"title\":\"Unavailable\",\"status\":503,"
    "\"code\":\"unavailable\",\"request_id\":\"req_1\"}";
static const char me_json[] =
    "{\"principal_id\":\"pr_x\",\"auth_path\":\"api_token\",\"subject\":\"s\",\"display_name\":\"x\","
    "\"attributes\":{}}";
static const char box_json[] =
    "{\"id\":\"hb_0123456789abcdef\",\"state\":\"running\",\"cpus\":2,\"memory_mib\":1024,"
    "\"disk_gib\":10,\"snapshot_id\":null,\"access_type\":\"none\",\"labels\":{},"
    "\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}";

/* A request header's value into out ("" when absent). */
static void req_header(struct script *s, size_t i, const char *name, char *out, size_t n)
{
    const char *h, *v;
    char pat[64];

    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    out[0] = '\0';
    assert_true(i < s->nreq);
    h = find_ci(buf_cstr(&s->req[i]), pat);
    if (!h)
        return;
    for (v = h + strlen(pat); *v == ' '; v++)
        ;
    snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
}

/* ---- the client ----------------------------------------------------------------- */

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
        resp_release(&r);
    }
}

static struct hog_client *client(int port, unsigned attempts, struct waits *w)
{
    struct hog_client_options o;
    struct hog_client *c;
    char url[64];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    hog_client_options_init(&o);
    o.host = url;
    o.token = "tok_alice";
    o.max_attempts = attempts;
    o.backoff_base_ms = 100;
    o.backoff_cap_ms = 1000;
    o.timeout_ms = 5000;
    o.jitter_seed = 7;
    o.sleep = record_wait;
    o.sleep_ctx = w;
    assert_int_equal(hog_client_new(&o, &c, NULL), RC_OK);
    return c;
}

/* ---- retries -------------------------------------------------------------------- */

static void test_retry_503_twice_then_success(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;
    char ua[64];

    (void)state;
    answer(&s, 503, "Content-Type: application/problem+json\r\n", problem_503);
    answer(&s, 503, "Content-Type: application/problem+json\r\n", problem_503);
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_string_equal(cJSON_GetObjectItem(me, "principal_id")->valuestring, "pr_x");
    assert_int_equal(err.attempts, 3);
    assert_int_equal(s.nreq, 3);
    assert_int_equal(w.n, 2);
    assert_in_range(w.ms[0], 50, 100);
    assert_in_range(w.ms[1], 100, 200);
    req_header(&s, 2, "User-Agent", ua, sizeof(ua));
    assert_string_equal(ua, "libhogclient/" HOG_CLIENT_VERSION);
    cJSON_Delete(me);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_retry_waits_the_retry_after_of_a_429(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;

    (void)state;
    answer(&s, 429, "Retry-After: 2\r\nContent-Type: application/problem+json\r\n",
           "{\"code\":\"rate_limited\",\"status\":429}");
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.ms[0], 2000);
    cJSON_Delete(me);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_retry_reads_retry_after_as_an_http_date(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;
    char date[64], hdr[128];
    time_t when = time(NULL) + 3;
    struct tm tm;

    (void)state;
    gmtime_r(&when, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(hdr, sizeof(hdr), "Retry-After: %s\r\n", date);
    answer(&s, 503, hdr, "");
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(w.n, 1);
    assert_in_range(w.ms[0], 1000, 3000);
    cJSON_Delete(me);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_retry_after_beyond_the_cap_returns_the_error(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;

    (void)state;
    answer(&s, 429, "Retry-After: 3600\r\nContent-Type: application/problem+json\r\n",
           "{\"code\":\"rate_limited\",\"status\":429}");
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_RATE_LIMIT);
    assert_int_equal(err.retry_after, 3600);
    assert_string_equal(hog_error_code(&err), "rate_limited");
    assert_int_equal(err.attempts, 1);
    assert_int_equal(w.n, 0);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_retry_gives_up_when_the_wait_would_pass_the_deadline(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;

    (void)state;
    answer(&s, 503, "Retry-After: 5\r\nContent-Type: application/problem+json\r\n", problem_503);
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_client_set_deadline(c, 2000);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_SERVER);
    assert_int_equal(err.status, 503);
    assert_int_equal(err.retry_after, 5);
    assert_int_equal(w.n, 0);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_retry_never_for_a_post_without_a_key(void **state)
{
    const char *argv[] = { "true", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_exec_result res;
    struct hog_error err;
    cJSON *out = NULL;

    (void)state;
    hog_exec_result_init(&res);
    answer(&s, 503, "Content-Type: application/problem+json\r\n", problem_503);
    step(&s, END_RESET, "%s", "");
    answer(&s, 200, "Content-Type: application/json\r\n", box_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_box_exec(c, "hb_1", &req, &res, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_SERVER);
    assert_int_equal(err.attempts, 1);
    /* A reset after the request went out: it may have run, so no retry either. */
    assert_int_equal(hog_box_pause(c, "hb_1", &out, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(err.attempts, 1);
    assert_int_equal(w.n, 0);
    assert_int_equal(s.nreq, 2);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_retry_of_create_and_snapshot_keeps_the_idempotency_key(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *box = NULL;
    char k[4][64];
    size_t i;

    (void)state;
    answer(&s, 503, "Content-Type: application/problem+json\r\n", problem_503);
    step(&s, END_RESET, "%s", "");
    answer(&s, 201, "Content-Type: application/json\r\nLocation: /v1/hogboxes/hb_0123456789abcdef\r\n",
           box_json);
    answer(&s, 502, "", "bad gateway");
    answer(&s, 201, "Content-Type: application/json\r\n",
           "{\"id\":\"snap_1\",\"hogbox_id\":\"hb_1\",\"size_bytes\":0,\"created_at\":\"2026-01-01T00:00:00Z\"}");
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_box_create(c, NULL, &box, &err), RC_OK);
    assert_int_equal(err.attempts, 3);
    cJSON_Delete(box);
    assert_int_equal(hog_box_snapshot(c, "hb_1", NULL, &box, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    cJSON_Delete(box);
    assert_int_equal(s.nreq, 5);
    for (i = 0; i < 4; i++)
        req_header(&s, i, "Idempotency-Key", k[i], sizeof(k[i]));
    assert_int_equal(strlen(k[0]), 36);
    assert_string_equal(k[0], k[1]);
    assert_string_equal(k[0], k[2]);
    req_header(&s, 4, "Idempotency-Key", k[3], sizeof(k[3]));
    req_header(&s, 3, "Idempotency-Key", k[2], sizeof(k[2]));
    assert_string_equal(k[2], k[3]);
    assert_string_not_equal(k[0], k[3]);    /* a new operation, a new key */
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

/* ---- transport errors ----------------------------------------------------------- */

/* One GET /v1/me against one scripted step, without retries: the error it gives. */
static void one_shot(void (*add)(struct script *), enum hog_error_type want, long want_status,
                     struct hog_error *err)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    cJSON *me = NULL;

    add(&s);
    script_start(&s);
    c = client(s.port, 1, &w);
    assert_int_equal(hog_me(c, &me, err), RC_ERR);
    assert_null(me);
    assert_int_equal(err->type, want);
    assert_int_equal(err->status, want_status);
    assert_int_equal(err->attempts, 1);
    hog_client_free(c);
    script_stop(&s);
}

static void add_reset(struct script *s) { step(s, END_RESET, "%s", ""); }
static void add_empty(struct script *s) { step(s, END_CLOSE, "%s", ""); }
static void add_garbage(struct script *s) { step(s, END_CLOSE, "%s", "\x01\x02 not http at all\r\n\r\n"); }
static void add_truncated(struct script *s)
{
    step(s, END_CLOSE, "%s", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
         "Content-Length: 100\r\nConnection: close\r\n\r\n{\"principal");
}
static void add_malformed(struct script *s)
{
    answer(s, 200, "Content-Type: application/json\r\n", "{\"principal_id\": pr_x");
}
static void add_not_an_object(struct script *s)
{
    answer(s, 200, "Content-Type: application/json\r\n", "[1, 2]");
}
static void add_teapot(struct script *s) { answer(s, 418, "Content-Type: text/plain\r\n", "short and stout\xff"); }
static void add_html_503(struct script *s) { answer(s, 503, "Content-Type: text/html\r\n", "<h1>down</h1>"); }

static void test_transport_failures_are_connection_errors(void **state)
{
    void (*const adds[])(struct script *) = {
        add_reset, add_empty, add_garbage, add_truncated, add_malformed, add_not_an_object,
    };
    struct hog_error err;
    size_t i;

    (void)state;
    hog_error_init(&err);
    for (i = 0; i < sizeof(adds) / sizeof(adds[0]); i++) {
        one_shot(adds[i], HOG_ERR_CONNECTION, 0, &err);
        assert_non_null(err.message);
        assert_null(err.body);
    }
    hog_error_release(&err);
}

static void test_other_statuses_keep_their_body_as_text(void **state)
{
    struct hog_error err;

    (void)state;
    hog_error_init(&err);
    one_shot(add_teapot, HOG_ERR_API, 418, &err);
    assert_true(cJSON_IsString(err.body));
    assert_string_equal(err.body->valuestring, "short and stout\xef\xbf\xbd");  /* U+FFFD */
    assert_string_equal(hog_error_type_name(err.type), "APIError");
    one_shot(add_html_503, HOG_ERR_SERVER, 503, &err);
    assert_string_equal(err.body->valuestring, "<h1>down</h1>");
    hog_error_release(&err);
}

static void test_retry_after_transport_failures_on_a_get(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    cJSON *me = NULL;

    (void)state;
    add_reset(&s);
    add_truncated(&s);
    add_malformed(&s);
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(err.attempts, 4);
    assert_int_equal(w.n, 3);
    cJSON_Delete(me);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_request_timeout_is_retried_and_deadline_is_not(void **state)
{
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client_options o;
    struct hog_client *c;
    struct hog_error err;
    struct timespec t0;
    cJSON *me = NULL;
    char url[64];
    long took;

    (void)state;
    step(&s, END_HANG, "%s", "");
    answer(&s, 200, "Content-Type: application/json\r\n", me_json);
    step(&s, END_HANG, "%s", "");
    script_start(&s);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    hog_client_options_init(&o);
    o.host = url;
    o.token = "tok_alice";
    o.timeout_ms = 300;
    o.sleep = record_wait;
    o.sleep_ctx = &w;
    assert_int_equal(hog_client_new(&o, &c, NULL), RC_OK);
    hog_error_init(&err);
    /* A silent server: the request's own timeout, then a retry that is answered. */
    assert_int_equal(hog_me(c, &me, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    cJSON_Delete(me);
    /* The deadline ends the operation: TimeoutError, no retry. */
    hog_client_set_deadline(c, 200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hog_me(c, &me, &err), RC_ERR);
    took = mock_ms_since(&t0);
    assert_int_equal(err.type, HOG_ERR_TIMEOUT);
    assert_int_equal(err.status, 0);
    assert_int_equal(err.attempts, 1);
    assert_true(took >= 150 && took < 5000);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

/* ---- streams -------------------------------------------------------------------- */

struct seen {
    unsigned n;
    struct buf out;
};

static int count_event(const struct hog_exec_event *ev, void *ctx)
{
    struct seen *s = ctx;

    s->n++;
    if (ev->kind != HOG_EVENT_EXIT)
        buf_add(&s->out, ev->data, ev->len);
    return 0;
}

#define SSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"

static void test_stream_cut_before_exit_is_a_connection_error_not_retried(void **state)
{
    const char *argv[] = { "seq", "1", "3", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_exec_exit ex;
    struct hog_error err;
    struct seen seen = { 0, BUF_INIT };

    (void)state;
    step(&s, END_RESET, "%s", SSE_HEAD "event: stdout\nid: 1\ndata: {\"data\":\"1\\n\"}\n\n"
         "event: stdout\nid: 2\ndata: {\"data\":\"2");
    step(&s, END_CLOSE, "%s", SSE_HEAD "event: stdout\nid: 1\ndata: {\"data\":\"1\\n\"}\n\n");
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_box_exec_stream(c, "hb_1", &req, count_event, &seen, &ex, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(seen.n, 1);
    assert_string_equal(buf_cstr(&seen.out), "1\n");
    assert_int_equal(err.attempts, 1);
    assert_non_null(strstr(err.message, "after 1 event"));
    /* A clean end without the exit event is a cut stream too. */
    seen.n = 0;
    assert_int_equal(hog_box_exec_stream(c, "hb_1", &req, count_event, &seen, &ex, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_non_null(strstr(err.message, "without its exit event"));
    assert_int_equal(s.nreq, 2);
    assert_int_equal(w.n, 0);
    buf_release(&seen.out);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_stream_skips_comments_and_unknown_events(void **state)
{
    const char *argv[] = { "x", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_exec_exit ex;
    struct hog_error err;
    struct seen seen = { 0, BUF_INIT };

    (void)state;
    step(&s, END_CLOSE, "%s", SSE_HEAD ": keepalive\n\n"
         "event: progress\nid: 1\ndata: {\"pct\":5}\n\n"
         "event: stdout\r\nid: 2\r\ndata: {\"data\":\"caf\\u00e9 \\ud83d\\udc37\"}\r\n\r\n"
         "event: stdout\nid: 2\ndata: {\"data\":\"caf\\u00e9 \\ud83d\\udc37\"}\n\n"
         "data: no event name\n\n"
         "event: exit\nid: 3\ndata: {\"exit_code\":7,\"timed_out\":true}\n\n"
         "event: stdout\nid: 4\ndata: {\"data\":\"after exit\"}\n\n");
    step(&s, END_CLOSE, "%s", SSE_HEAD "event: stdout\nid: 1\ndata: not json\n\n");
    script_start(&s);
    c = client(s.port, 1, &w);
    hog_error_init(&err);
    assert_int_equal(hog_box_exec_stream(c, "hb_1", &req, count_event, &seen, &ex, &err), RC_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(buf_cstr(&seen.out), "caf\xc3\xa9 \xf0\x9f\x90\xb7");
    assert_int_equal(ex.exit_code, 7);
    assert_true(ex.timed_out);
    /* An event whose data is not what the spec says: the stream is malformed. */
    assert_int_equal(hog_box_exec_stream(c, "hb_1", &req, count_event, &seen, &ex, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    buf_release(&seen.out);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

static void test_exec_output_is_decoded_with_its_length(void **state)
{
    const char *argv[] = { "x", NULL };
    struct hog_exec_req req = { argv, HOG_INT_DEFAULT, NULL, NULL };
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_exec_result res;
    struct hog_error err;

    (void)state;
    answer(&s, 200, "Content-Type: application/json\r\n",
           "{\"exit_code\":0,\"stderr\":\"\\u0000\\\"\\\\\\/\\b\\f\\n\\r\\t\","
           "\"stdout\":\"\\u0000caf\\u00e9 \\ud83d\\udc37!\\u0000\",\"stdout_truncated\":false,"
           "\"stderr_truncated\":false,\"timed_out\":false,\"duration_ms\":1}");
    answer(&s, 200, "Content-Type: application/json\r\n",
           "{\"exit_code\":0,\"stdout\":null,\"stderr\":\"\",\"stdout_truncated\":false,"
           "\"stderr_truncated\":false,\"timed_out\":false,\"duration_ms\":1}");
    script_start(&s);
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    hog_exec_result_init(&res);
    assert_int_equal(hog_box_exec(c, "hb_1", &req, &res, &err), RC_OK);
    /* Every escape decoded, a surrogate pair as one character, U+0000 kept. */
    assert_int_equal(res.stdout_data.len, 13);
    assert_memory_equal(res.stdout_data.data, "\0caf\xc3\xa9 \xf0\x9f\x90\xb7!\0", 13);
    assert_int_equal(res.stderr_data.len, 9);
    assert_memory_equal(res.stderr_data.data, "\0\"\\/\b\f\n\r\t", 9);
    assert_int_equal(cJSON_GetObjectItem(res.json, "exit_code")->valueint, 0);
    /* An ExecResult without its output is not what exec returns; never sent twice. */
    assert_int_equal(hog_box_exec(c, "hb_1", &req, &res, &err), RC_ERR);
    assert_int_equal(err.type, HOG_ERR_CONNECTION);
    assert_int_equal(err.attempts, 1);
    assert_null(res.json);
    assert_int_equal(res.stdout_data.len, 0);
    assert_int_equal(s.nreq, 2);
    hog_exec_result_release(&res);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

/* ---- a lost answer in front of hogmock -------------------------------------------- */

static void test_reset_after_commit_on_create_makes_one_box(void **state)
{
    struct mock *m = *state;
    struct script s = { 0 };
    struct waits w = { 0 };
    struct hog_client *c;
    struct hog_error err;
    struct hog_iter it;
    const cJSON *item, *items, *e;
    cJSON *box = NULL;
    struct resp r;
    char key[2][64];
    int n = 0;

    s.upstream_port = hogmock_port(m->hm);
    forward_step(&s, END_RESET);    /* hogmock creates the box; its answer is lost */
    forward_step(&s, END_CLOSE);    /* the retry: the same key replays the answer */
    script_start(&s);
    w.m = m;
    c = client(s.port, 4, &w);
    hog_error_init(&err);
    assert_int_equal(hog_box_create(c, NULL, &box, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    req_header(&s, 0, "Idempotency-Key", key[0], sizeof(key[0]));
    req_header(&s, 1, "Idempotency-Key", key[1], sizeof(key[1]));
    assert_string_equal(key[0], key[1]);
    hog_client_free(c);
    script_stop(&s);

    /* Straight to hogmock: the principal holds exactly that one box. */
    c = client(hogmock_port(m->hm), 1, &w);
    hog_iter_boxes(&it, c, NULL);
    while (hog_iter_next(&it, &item, &err) == RC_OK) {
        assert_string_equal(cJSON_GetObjectItem(item, "id")->valuestring,
                            cJSON_GetObjectItem(box, "id")->valuestring);
        n++;
    }
    hog_iter_release(&it);
    assert_int_equal(n, 1);
    items = cJSON_GetObjectItemCaseSensitive(
        mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?op=createHogbox", NULL,
                    NULL, &r), "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    cJSON_ArrayForEach(e, items) {
        assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 201);
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "headers"),
                                                "idempotency-key")->valuestring, key[0]);
    }
    resp_release(&r);

    /* The same for a destroy: the retry's 404 means the first attempt did it. */
    memset(&s, 0, sizeof(s));
    s.upstream_port = hogmock_port(m->hm);
    forward_step(&s, END_RESET);
    forward_step(&s, END_CLOSE);
    script_start(&s);
    hog_client_free(c);
    c = client(s.port, 4, &w);
    assert_int_equal(hog_box_destroy(c, cJSON_GetObjectItem(box, "id")->valuestring, &err), RC_OK);
    assert_int_equal(err.attempts, 2);
    assert_int_equal(err.type, HOG_ERR_NONE);
    assert_int_equal(s.nreq, 2);
    cJSON_Delete(box);
    hog_error_release(&err);
    hog_client_free(c);
    script_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_503_twice_then_success),
        cmocka_unit_test(test_retry_waits_the_retry_after_of_a_429),
        cmocka_unit_test(test_retry_reads_retry_after_as_an_http_date),
        cmocka_unit_test(test_retry_after_beyond_the_cap_returns_the_error),
        cmocka_unit_test(test_retry_gives_up_when_the_wait_would_pass_the_deadline),
        cmocka_unit_test(test_retry_never_for_a_post_without_a_key),
        cmocka_unit_test(test_retry_of_create_and_snapshot_keeps_the_idempotency_key),
        cmocka_unit_test(test_transport_failures_are_connection_errors),
        cmocka_unit_test(test_other_statuses_keep_their_body_as_text),
        cmocka_unit_test(test_retry_after_transport_failures_on_a_get),
        cmocka_unit_test(test_request_timeout_is_retried_and_deadline_is_not),
        cmocka_unit_test(test_stream_cut_before_exit_is_a_connection_error_not_retried),
        cmocka_unit_test(test_stream_skips_comments_and_unknown_events),
        cmocka_unit_test(test_exec_output_is_decoded_with_its_length),
        cmocka_unit_test(test_reset_after_commit_on_create_makes_one_box),
    };

    return cmocka_run_group_tests_name("client_retry", tests, mock_setup, mock_teardown);
}
