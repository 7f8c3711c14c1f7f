#include "upstream.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "curlapi.h"
#include "digest.h"
#include "faults.h"
#include "log.h"
#include "record.h"
#include "respcheck.h"
#include "server.h"
#include "sse.h"
#include "vclock.h"
#include "violations.h"
#include "xmalloc.h"

/* How it flows. One thread per forwarded request runs the transfer on a curl multi handle
 * of its own, so it can sleep in curl_multi_poll and be woken from the server's threads
 * (curl_multi_wakeup) while only it ever touches the easy handle (curl_easy_pause may
 * not be called from another thread).
 * - Request body: the server hands each chunk to upstream_feed, which queues it; curl's
 *   read callback takes from the queue, or pauses the upload while it is empty. Over
 *   INTAKE_HIGH queued bytes the server stops reading the client (its connection is
 *   suspended) until the upload has taken the queue below INTAKE_LOW.
 * - Answer: known small (Content-Length up to BUFFER_MAX, or a body that ends within
 *   it) it is read whole and answered like any handler's answer (req_bytes), so fault
 *   plans apply to it at queue time. Anything else (an event stream, a large file) is a
 *   streamed answer (req_stream): bytes go to the client as they come, and the transfer
 *   pauses while the client is QUEUE_HIGH behind, until it is below QUEUE_LOW.
 * - Every answer goes through respcheck as it passes; the violations go to the journal
 *   entry and the violations ring; record mode writes the exchange as a fixture.
 * - A fault plan's sse_* fault acts on a forwarded event stream as on a simulated one
 *   (stream.c): events are counted as whole blocks come from the host, and the fault
 *   acts just before event after_event + 1 (a duplicate: just after event after_event).
 *   The checks and the recording see the host's stream, not the faulted one. */

#define BUFFER_MAX RESPCHECK_BODY_MAX
#define QUEUE_HIGH (256u << 10)
#define QUEUE_LOW (64u << 10)
#define INTAKE_HIGH (256u << 10)
#define INTAKE_LOW (64u << 10)
#define POLL_MS 100
#define CONNECT_TIMEOUT_S 10L
#define TIMELINE_MAX 100

struct upstream {
    struct hogmock *hm;
    char *base;                 /* scheme://authority[/path], no trailing '/' */
    char *shown;                /* the same without user and password, for messages */
    struct recorder *rec;       /* record mode; NULL otherwise */
};

enum mode { MODE_NONE, MODE_BUFFER, MODE_STREAM };

struct pair {
    char *name, *value;
};

struct mark {
    uint64_t id;
    const char *event;
    uint64_t at_ms;
};

struct upstream_call {
    pthread_mutex_t lock;
    int refs;                   /* the server, the transfer's thread, a streamed answer */
    struct upstream *u;
    struct hogmock *hm;
    struct req *r;              /* until answered (and in the stream's done) */
    struct upstream_hooks hooks;
    CURLM *multi;
    CURL *easy;
    struct curl_slist *req_headers;
    char *url;
    char errbuf[CURL_ERROR_SIZE];

    /* the request, copied for the transfer's thread */
    char *method, *op, *path, *query, *req_ctype;
    const struct openapi_op *spec_op;
    uint64_t arrival_ms;
    bool has_body;

    /* under lock from here on */
    bool server_gone;           /* upstream_call_release was called */
    bool answered;
    bool stream_over;           /* the streamed answer's done was called */
    bool transfer_done;
    CURLcode result;

    /* the request body */
    struct buf in;              /* queued for the upload, from in_off */
    size_t in_off;
    bool in_ended, intake_paused, send_paused;
    uint64_t in_bytes;
    struct digest_sha256 *in_digest;

    /* the answer */
    int status;
    struct pair *rh;            /* response headers as received */
    size_t nrh;
    bool head_done;
    int64_t length;             /* Content-Length, -1 when none */
    enum mode mode;
    struct buf out;             /* the body, whole (buffer) or queued from out_off (stream) */
    size_t out_off;
    size_t queue_peak;
    bool recv_paused;
    uint64_t out_bytes;
    struct req_waker *waker;
    struct respcheck *check;
    cJSON *violations;          /* once the check is over */
    struct timespec head_at;

    /* an event stream, for the journal */
    bool sse;
    struct sse_parser sp;
    uint64_t events, keepalives;
    int exit_code;
    bool exited, timed_out;
    struct mark timeline[TIMELINE_MAX];
    size_t ntimeline;

    /* a fault plan's sse_* fault on the stream: kind -1 when none */
    int fault;
    uint64_t fault_after, fault_ms, fault_seed, fault_bytes;
    struct buf pend;            /* the host's bytes since the last whole block */
    uint64_t pushed;            /* events passed on so far */
    bool fault_fired;
    bool fault_stop;            /* the fault ends the stream: the transfer stops */
    bool stalling;              /* silent for fault_ms from stall_from, then cut */
    struct timespec stall_from;
    long cut;                   /* 0, or how read ends once the queue is empty */

    /* record mode: the answer's first RECORD_BODY_MAX bytes, and the request body */
    struct buf rec_body;
    bool rec_cut;
    char *req_body;
    size_t req_len;
};

static uint64_t ms_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000u
           + (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* ---- the proxy ------------------------------------------------------------------ */

enum rc upstream_new(struct hogmock *hm, struct upstream **out, struct buf *err)
{
    const struct curlapi *cu = curlapi();
    const char *url = hm->cfg.upstream;
    struct upstream *u;
    CURLU *h;
    char *scheme = NULL, *host = NULL, *shown = NULL;
    enum rc rc;
    bool ok;
    size_t n;

    *out = NULL;
    if (!url || !*url) {
        buf_addf(err, "--mode %s needs --upstream URL, the real host to forward to",
                 hm->cfg.mode == HOGMOCK_RECORD ? "record" : "proxy");
        return RC_INVALID;
    }
    if (curlapi_load(err) != RC_OK)
        return RC_IO;
    h = cu->url();
    ok = h && cu->url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK
         && cu->url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
         && cu->url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK
         && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && *host
         && !strpbrk(url, "?#") && strncasecmp(url, scheme, strlen(scheme)) == 0
         && cu->url_set(h, CURLUPART_USER, NULL, 0) == CURLUE_OK
         && cu->url_set(h, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK
         && cu->url_get(h, CURLUPART_URL, &shown, 0) == CURLUE_OK;
    cu->free(scheme);
    cu->free(host);
    cu->url_cleanup(h);
    if (!ok) {
        /* Not quoted: a URL may hold a password. */
        buf_addstr(err, "--upstream is not an http:// or https:// URL of a host (with no query)");
        cu->free(shown);
        return RC_INVALID;
    }
    u = xcalloc(1, sizeof(*u));
    u->hm = hm;
    n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    u->base = xstrndup(url, n);
    n = strlen(shown);
    while (n && shown[n - 1] == '/')
        n--;
    u->shown = xstrndup(shown, n);
    cu->free(shown);
    if (hm->cfg.mode == HOGMOCK_RECORD
        && (rc = recorder_new(hm->cfg.fixtures_dir, u->shown, &u->rec, err)) != RC_OK) {
        upstream_free(u);
        return rc;
    }
    *out = u;
    return RC_OK;
}

void upstream_free(struct upstream *u)
{
    if (!u)
        return;
    recorder_free(u->rec);
    free(u->base);
    free(u->shown);
    free(u);
}

/* ---- one call: state ------------------------------------------------------------- */

static void call_unref(struct upstream_call *c)
{
    const struct curlapi *cu = curlapi();
    size_t i;
    int left;
    char hex[2 * DIGEST_SHA256_LEN + 1];

    pthread_mutex_lock(&c->lock);
    left = --c->refs;
    pthread_mutex_unlock(&c->lock);
    if (left)
        return;
    if (c->multi && c->easy)
        cu->multi_remove_handle(c->multi, c->easy);
    cu->easy_cleanup(c->easy);
    cu->multi_cleanup(c->multi);
    cu->slist_free_all(c->req_headers);
    if (c->check)
        cJSON_Delete(respcheck_end(c->check, false));
    cJSON_Delete(c->violations);
    if (c->sse)
        sse_parser_release(&c->sp);
    if (c->in_digest)
        digest_sha256_end(c->in_digest, hex);
    for (i = 0; i < c->nrh; i++) {
        free(c->rh[i].name);
        free(c->rh[i].value);
    }
    free(c->rh);
    buf_release(&c->in);
    buf_release(&c->out);
    buf_release(&c->pend);
    buf_release(&c->rec_body);
    free(c->req_body);
    free(c->url);
    free(c->method);
    free(c->op);
    free(c->path);
    free(c->query);
    free(c->req_ctype);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static const char *resp_header(const struct upstream_call *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nrh; i++)
        if (strcasecmp(c->rh[i].name, name) == 0)
            return c->rh[i].value;
    return NULL;
}

/* Hop-by-hop headers (RFC 9110 7.6.1) and those the other side sets for itself. */
static bool hop_header(const char *name)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length", NULL,
    };
    const char *const *n;

    for (n = names; *n; n++)
        if (strcasecmp(name, *n) == 0)
            return true;
    return false;
}

/* Is name listed in a Connection header's value (which makes it hop-by-hop too)? */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);

    while (list && *list) {
        size_t len;

        list += strspn(list, " \t,");
        len = strcspn(list, " \t,");
        if (len == n && strncasecmp(list, name, n) == 0)
            return true;
        list += len;
    }
    return false;
}

/* Up to max bytes of the queue q, read up to *off, copied to dst; under the lock. The
 * queue empties once all of it is read, and moves down once high bytes of it are. */
static size_t queue_take(struct buf *q, size_t *off, char *dst, size_t max, size_t high)
{
    size_t n = q->len - *off < max ? q->len - *off : max;

    memcpy(dst, q->data + *off, n);
    *off += n;
    if (*off == q->len) {
        buf_reset(q);
        *off = 0;
    } else if (*off >= high) {
        memmove(q->data, q->data + *off, q->len - *off);
        buf_truncate(q, q->len - *off);
        *off = 0;
    }
    return n;
}

/* ---- the transfer's callbacks (its thread) ----------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t nitems, void *ctx)
{
    struct upstream_call *c = ctx;
    size_t n;

    pthread_mutex_lock(&c->lock);
    if (c->in.len == c->in_off) {
        n = c->in_ended ? 0 : CURL_READFUNC_PAUSE;
        c->send_paused = !c->in_ended;
        pthread_mutex_unlock(&c->lock);
        return n;
    }
    n = queue_take(&c->in, &c->in_off, buf, size * nitems, INTAKE_HIGH);
    if (c->intake_paused && c->in.len - c->in_off < INTAKE_LOW) {
        c->intake_paused = false;
        if (!c->server_gone)
            c->hooks.resume_intake(c->hooks.ctx);
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

static int sse_event(const struct sse_event *ev, void *ctx)
{
    struct upstream_call *c = ctx;
    static const char *const kinds[] = { "stdout", "stderr", "exit" };
    size_t k;

    c->events++;
    if (strcmp(ev->type, "exit") == 0) {
        cJSON *d = cJSON_ParseWithLength(ev->data, ev->len);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(d, "exit_code");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(d, "timed_out");

        if (cJSON_IsNumber(code)) {
            c->exited = true;
            c->exit_code = code->valueint;
            c->timed_out = cJSON_IsTrue(to);
        }
        cJSON_Delete(d);
    }
    for (k = 0; k < 3 && strcmp(ev->type, kinds[k]) != 0; k++)
        ;
    if (k < 3 && c->ntimeline < TIMELINE_MAX) {
        char *end;
        unsigned long long id = strtoull(ev->id, &end, 10);

        if (*ev->id && !*end && id > 0) {
            c->timeline[c->ntimeline].id = id;
            c->timeline[c->ntimeline].event = kinds[k];
            c->timeline[c->ntimeline].at_ms = ms_since(&c->head_at);
            c->ntimeline++;
        }
    }
    return 0;
}

static int sse_comment(const char *text, size_t len, void *ctx)
{
    struct upstream_call *c = ctx;

    (void)text;
    (void)len;
    c->keepalives++;
    return 0;
}

/* The header block of the final answer is in: what the body is, and how it is sent. */
static void head_in(struct upstream_call *c)
{
    const char *ct = resp_header(c, "Content-Type"), *cl = resp_header(c, "Content-Length");
    cJSON *headers = cJSON_CreateObject();
    bool no_body = strcmp(c->method, "HEAD") == 0 || c->status == 204 || c->status == 304;
    size_t i;

    clock_gettime(CLOCK_MONOTONIC, &c->head_at);
    for (i = 0; i < c->nrh; i++) {
        char lower[128];
        size_t k;
        cJSON *old;

        for (k = 0; c->rh[i].name[k] && k < sizeof(lower) - 1; k++)
            lower[k] = (char)tolower((unsigned char)c->rh[i].name[k]);
        lower[k] = '\0';
        old = cJSON_GetObjectItemCaseSensitive(headers, lower);
        if (!old) {
            cJSON_AddStringToObject(headers, lower, c->rh[i].value);
        } else {
            struct buf b = BUF_INIT;

            buf_addf(&b, "%s, %s", old->valuestring, c->rh[i].value);
            cJSON_SetValuestring(old, buf_cstr(&b));
            buf_release(&b);
        }
    }
    c->check = respcheck_begin(c->hm->pub.api, c->hm->pub.schema, c->spec_op, c->method,
                               c->status, headers);
    cJSON_Delete(headers);
    c->length = -1;
    if (cl && !no_body) {
        char *end;
        long long n = strtoll(cl, &end, 10);

        if (!*end && n >= 0)
            c->length = n;
    }
    c->sse = !no_body && ct && strncasecmp(ct, "text/event-stream", 17) == 0;
    if (c->sse) {
        struct sse_callbacks cb = { sse_event, sse_comment, NULL, c };

        sse_parser_init(&c->sp, &cb);
        c->sp.max_line = c->sp.max_event = RESPCHECK_BODY_MAX;
    }
    if (no_body)
        c->mode = MODE_BUFFER;
    else if (c->sse || c->length > (int64_t)BUFFER_MAX)
        c->mode = MODE_STREAM;
    else
        c->mode = MODE_BUFFER;  /* a body of unknown length becomes a stream past the bound */
    c->head_done = true;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ctx)
{
    struct upstream_call *c = ctx;
    size_t len = size * nitems, n = len;

    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        n--;
    pthread_mutex_lock(&c->lock);
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', n);
        size_t i;

        /* A new status line: an interim (1xx) block before it is forgotten. */
        for (i = 0; i < c->nrh; i++) {
            free(c->rh[i].name);
            free(c->rh[i].value);
        }
        c->nrh = 0;
        c->status = sp ? atoi(sp + 1) : 0;
    } else if (n == 0) {
        if (c->status >= 200 && !c->head_done)
            head_in(c);
    } else if ((data[0] == ' ' || data[0] == '\t') && c->nrh) {
        /* An obsolete folded line continues the previous value. */
        struct pair *p = &c->rh[c->nrh - 1];
        struct buf v = BUF_INIT;

        buf_addf(&v, "%s %.*s", p->value, (int)n, data + strspn(data, " \t"));
        free(p->value);
        p->value = buf_detach(&v, NULL);
    } else {
        const char *colon = memchr(data, ':', n);

        if (colon) {
            const char *v = colon + 1;

            while (v < data + n && (*v == ' ' || *v == '\t'))
                v++;
            c->rh = xrealloc(c->rh, (c->nrh + 1) * sizeof(*c->rh));
            c->rh[c->nrh].name = xstrndup(data, (size_t)(colon - data));
            c->rh[c->nrh].value = xstrndup(v, (size_t)(data + n - v));
            c->nrh++;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return len;
}

/* ---- sse_* faults on a forwarded stream (the transfer's thread, under the lock) ---- */

/* The fault has fired; cut (0: none) is how the stream ends once the queue is out. */
static void fault_fire(struct upstream_call *c, long cut)
{
    c->fault_fired = true;
    if (cut) {
        c->cut = cut;
        c->fault_stop = true;
    }
}

/* Does a block of the stream hold a field (an event) rather than only comments? */
static bool is_event(const char *b, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = 0;

        while (i + n < len && b[i + n] != '\n' && b[i + n] != '\r')
            n++;
        if (n && b[i] != ':')
            return true;
        i += n + 1;
    }
    return false;
}

/* One whole block of the host's stream, passed on through the fault. */
static void fault_block(struct upstream_call *c, const char *b, size_t len)
{
    uint64_t k;
    const char *data;

    if (c->fault_fired || !is_event(b, len)) {
        if (!c->fault_stop)
            buf_add(&c->out, b, len);
        return;
    }
    k = ++c->pushed;
    if (c->fault == FAULT_SSE_NO_EXIT) {
        if (strncmp(b, "event: exit", 11) == 0 || strstr(b, "\nevent: exit")) {
            fault_fire(c, 0);
            return;     /* everything else goes on; the stream ends without it */
        }
        buf_add(&c->out, b, len);
        return;
    }
    if (c->fault == FAULT_SSE_DUPLICATE_EVENT) {
        buf_add(&c->out, b, len);
        if (k == c->fault_after) {
            buf_add(&c->out, b, len);
            fault_fire(c, 0);
        }
        return;
    }
    if (k != c->fault_after + 1) {
        buf_add(&c->out, b, len);
        return;
    }
    switch (c->fault) {
    case FAULT_SSE_DROP:
        fault_fire(c, REQ_READ_RESET);
        return;
    case FAULT_SSE_CLOSE:
        fault_fire(c, REQ_READ_END);
        return;
    case FAULT_SSE_STALL:
        fault_fire(c, 0);
        c->fault_stop = c->stalling = true;
        clock_gettime(CLOCK_MONOTONIC, &c->stall_from);
        return;
    case FAULT_SSE_CUT_MID_LINE:
        /* The event up to the middle of its data line, then the connection is cut. */
        for (data = b; data + 7 <= b + len && memcmp(data, "\ndata:", 7) != 0; data++)
            ;
        if (data + 7 <= b + len) {
            size_t start = (size_t)(data + 1 - b), end = start;

            while (end < len && b[end] != '\n')
                end++;
            buf_add(&c->out, b, start + (end - start) / 2);
        }
        fault_fire(c, REQ_READ_ERROR);
        return;
    case FAULT_SSE_GARBAGE_LINE: {
        size_t at = c->out.len;

        buf_grow(&c->out, (size_t)c->fault_bytes + 1);
        fault_garbage(c->fault_seed, c->out.data + at, (size_t)c->fault_bytes, true);
        c->out.len = at + (size_t)c->fault_bytes;
        buf_addch(&c->out, '\n');
        break;
    }
    case FAULT_SSE_UNKNOWN_EVENT_KIND:
        buf_addstr(&c->out, "event: hogmock_unknown_kind\ndata: {\"note\":\"an event kind the "
                   "spec does not define\"}\n\n");
        break;
    default:
        break;
    }
    fault_fire(c, 0);
    buf_add(&c->out, b, len);
}

/* The host's bytes, cut into whole blocks (each ends with a blank line) for the fault. */
static void fault_blocks(struct upstream_call *c, const char *data, size_t len)
{
    size_t i, from = 0;

    buf_add(&c->pend, data, len);
    for (i = 0; i + 1 < c->pend.len; i++) {
        const char *p = c->pend.data;
        size_t end = 0;

        if (p[i] == '\n' && p[i + 1] == '\n')
            end = i + 2;
        else if (p[i] == '\r' && p[i + 1] == '\r')
            end = i + 2;
        else if (i + 3 < c->pend.len && memcmp(p + i, "\r\n\r\n", 4) == 0)
            end = i + 4;
        if (!end)
            continue;
        fault_block(c, p + from, end - from);
        from = end;
        i = end - 1;
        if (c->fault_fired) {
            /* From here on the host's bytes pass as they come. */
            if (!c->fault_stop)
                buf_add(&c->out, p + from, c->pend.len - from);
            from = c->pend.len;
            break;
        }
    }
    if (from == c->pend.len) {
        buf_release(&c->pend);
    } else if (c->pend.len - from > RESPCHECK_BODY_MAX) {
        /* A block that never ends is not held: it goes on as it is. */
        buf_add(&c->out, c->pend.data + from, c->pend.len - from);
        buf_release(&c->pend);
    } else if (from) {
        memmove(c->pend.data, c->pend.data + from, c->pend.len - from);
        buf_truncate(&c->pend, c->pend.len - from);
    }
}

static size_t on_write(char *data, size_t size, size_t nitems, void *ctx)
{
    struct upstream_call *c = ctx;
    size_t len = size * nitems;
    bool wake;

    pthread_mutex_lock(&c->lock);
    if (c->stream_over || (c->server_gone && !c->answered)) {
        pthread_mutex_unlock(&c->lock);
        return 0;   /* nobody to take it: the transfer ends in an error */
    }
    if (c->mode == MODE_BUFFER && c->out.len + len > BUFFER_MAX)
        c->mode = MODE_STREAM;
    if (c->mode == MODE_STREAM && c->out.len - c->out_off >= QUEUE_HIGH) {
        /* The client is behind: curl keeps this chunk and hands it over again later. */
        c->recv_paused = true;
        pthread_mutex_unlock(&c->lock);
        return CURL_WRITEFUNC_PAUSE;
    }
    if (c->fault >= 0 && c->sse && !c->fault_fired)
        fault_blocks(c, data, len);
    else if (!c->fault_stop)
        buf_add(&c->out, data, len);
    if (c->out.len - c->out_off > c->queue_peak)
        c->queue_peak = c->out.len - c->out_off;
    c->out_bytes += len;
    if (c->check)
        respcheck_feed(c->check, data, len);
    if (c->sse)
        sse_parser_feed(&c->sp, data, len);
    if (c->u->rec && !c->rec_cut) {
        size_t room = RECORD_BODY_MAX - c->rec_body.len;

        buf_add(&c->rec_body, data, len < room ? len : room);
        c->rec_cut = len > room;
    }
    wake = c->answered && c->mode == MODE_STREAM;
    pthread_mutex_unlock(&c->lock);
    if (wake)
        req_waker_wake(c->waker);
    return len;
}

/* ---- the streamed answer (the server's threads) ------------------------------------ */

static long stream_read(void *ctx, char *buf, size_t max)
{
    const struct curlapi *cu = curlapi();
    struct upstream_call *c = ctx;
    bool wake = false;
    long ret;

    pthread_mutex_lock(&c->lock);
    if (c->out.len > c->out_off) {
        ret = (long)queue_take(&c->out, &c->out_off, buf, max, QUEUE_HIGH);
        wake = c->recv_paused && c->out.len - c->out_off < QUEUE_LOW;
    } else if (c->stalling) {
        ret = 0;
    } else if (c->cut) {
        ret = c->cut;
    } else if (c->transfer_done) {
        /* A cut answer is cut for the client too, never passed off as complete. */
        ret = c->result == CURLE_OK ? REQ_READ_END : REQ_READ_ERROR;
    } else {
        ret = 0;
    }
    pthread_mutex_unlock(&c->lock);
    if (wake)
        cu->multi_wakeup(c->multi);
    return ret;
}

/* The check ends once: with the transfer, or when the client leaves before it. */
static void end_check(struct upstream_call *c, bool complete)
{
    if (!c->check)
        return;
    c->violations = respcheck_end(c->check, complete);
    c->check = NULL;
}

/* The violations of the answer into the request's journal entry and the ring. */
static void report(struct upstream_call *c, struct req *r)
{
    struct violations_input vi = { 0 };

    if (!c->violations)
        return;
    req_journal_set(r, "violations", cJSON_Duplicate(c->violations, 1));
    if (!cJSON_GetArraySize(c->violations))
        return;
    vi.time_ms = c->arrival_ms;
    vi.request_id = r->request_id;
    vi.method = c->method;
    vi.path = c->path;
    vi.op = c->op;
    vi.status = c->status;
    vi.list = c->violations;
    violations_add(c->hm->violations, &vi);
}

static cJSON *stream_info(struct upstream_call *c, enum req_stream_end end)
{
    cJSON *o = cJSON_CreateObject(), *tl;
    size_t i;

    cJSON_AddStringToObject(o, "outcome", end == REQ_STREAM_COMPLETE ? "complete"
                                          : end == REQ_STREAM_STOPPED ? "stopped"
                                          : c->transfer_done && c->result != CURLE_OK ? "cut"
                                                                                 : "client_gone");
    cJSON_AddNumberToObject(o, "events_sent", (double)c->events);
    cJSON_AddNumberToObject(o, "keepalives", (double)c->keepalives);
    cJSON_AddNumberToObject(o, "queue_peak_bytes", (double)c->queue_peak);
    if (c->exited) {
        cJSON_AddNumberToObject(o, "exit_code", c->exit_code);
        cJSON_AddBoolToObject(o, "timed_out", c->timed_out);
    } else {
        cJSON_AddNullToObject(o, "exit_code");
        cJSON_AddNullToObject(o, "timed_out");
    }
    if (c->fault >= 0)
        cJSON_AddBoolToObject(o, "fault_fired", c->fault_fired);
    tl = cJSON_AddArrayToObject(o, "timeline");
    for (i = 0; i < c->ntimeline; i++) {
        cJSON *m = cJSON_CreateObject();

        cJSON_AddNumberToObject(m, "id", (double)c->timeline[i].id);
        cJSON_AddStringToObject(m, "event", c->timeline[i].event);
        cJSON_AddNumberToObject(m, "at_ms", (double)c->timeline[i].at_ms);
        cJSON_AddItemToArray(tl, m);
    }
    return o;
}

static cJSON *stream_done(void *ctx, enum req_stream_end end, uint64_t bytes)
{
    const struct curlapi *cu = curlapi();
    struct upstream_call *c = ctx;
    cJSON *info = NULL;

    (void)bytes;
    pthread_mutex_lock(&c->lock);
    c->stream_over = true;
    /* Whatever the client got went through the check first. */
    end_check(c, end == REQ_STREAM_COMPLETE);
    if (c->sse)
        info = stream_info(c, end);
    pthread_mutex_unlock(&c->lock);
    /* The request lives until done returns; its entry takes the violations now. */
    report(c, c->r);
    cu->multi_wakeup(c->multi);
    call_unref(c);
    return info;
}

static const struct req_stream_ops stream_ops = { stream_read, stream_done };

/* ---- answering (the transfer's thread, under the lock) ------------------------------ */

static void set_headers(struct upstream_call *c)
{
    const char *conn = resp_header(c, "Connection"), *rid = resp_header(c, "X-Request-Id");
    size_t i;

    for (i = 0; i < c->nrh; i++) {
        const char *n = c->rh[i].name;

        if (hop_header(n) || in_list(conn, n) || strcasecmp(n, "Content-Type") == 0
            || strcasecmp(n, "X-Request-Id") == 0)
            continue;
        req_set_header(c->r, n, c->rh[i].value);
    }
    /* The client sees the real host's request id, and so does the journal. */
    if (rid && *rid)
        req_set_request_id(c->r, rid);
}

static void journal_request_body(struct upstream_call *c)
{
    char hex[2 * DIGEST_SHA256_LEN + 1];
    cJSON *body;

    digest_sha256_end(c->in_digest, hex);
    c->in_digest = NULL;
    /* The server keeps bodies up to json_body_max for its journal; larger ones went
     * upstream unkept, and the entry gets their size and digest from here. */
    if (c->in_bytes <= c->hm->cfg.json_body_max)
        return;
    body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "size", (double)c->in_bytes);
    cJSON_AddStringToObject(body, "sha256", hex);
    if (c->req_ctype)
        cJSON_AddStringToObject(body, "content_type", c->req_ctype);
    else
        cJSON_AddNullToObject(body, "content_type");
    req_journal_set(c->r, "body", body);
}

static void answer(struct upstream_call *c)
{
    const struct curlapi *cu = curlapi();
    struct req *r = c->r;

    journal_request_body(c);
    if (c->u->rec && r->body) {
        c->req_body = xmemdup(r->body, r->body_len);
        c->req_len = r->body_len;
    }
    if (!c->head_done) {
        req_problem(r, 502, "upstream_unavailable", "the upstream %s did not answer: %s",
                    c->u->shown, c->errbuf[0] ? c->errbuf : cu->easy_strerror(c->result));
        req_journal_set(r, "note", cJSON_CreateString("the upstream did not answer"));
    } else if (c->mode == MODE_BUFFER && c->result != CURLE_OK) {
        req_problem(r, 502, "upstream_unavailable", "the upstream's answer (%d) was cut: %s",
                    c->status, c->errbuf[0] ? c->errbuf : cu->easy_strerror(c->result));
        req_journal_set(r, "note", cJSON_CreateString("the upstream's answer was cut"));
    } else if (c->mode == MODE_BUFFER) {
        size_t len = c->out.len;

        set_headers(c);
        report(c, r);
        req_bytes(r, c->status, resp_header(c, "Content-Type"), buf_detach(&c->out, NULL), len);
    } else {
        set_headers(c);
        if (c->length >= 0)
            req_stream_length(r, (uint64_t)c->length);
        c->refs++;      /* the stream's, dropped in stream_done */
        req_stream(r, c->status, resp_header(c, "Content-Type"), &stream_ops, c, &c->waker);
    }
    c->answered = true;
    c->hooks.answered(c->hooks.ctx);
}

/* ---- the transfer's thread -------------------------------------------------------- */

static void record(struct upstream_call *c)
{
    struct record_input in = { 0 };
    const char **h;
    size_t i;

    if (!c->u->rec || !c->head_done || c->result != CURLE_OK)
        return;
    h = xcalloc(2 * c->nrh + 1, sizeof(*h));
    for (i = 0; i < c->nrh; i++) {
        h[2 * i] = c->rh[i].name;
        h[2 * i + 1] = c->rh[i].value;
    }
    in.op = c->op;
    in.method = c->method;
    in.path = c->path;
    in.query = c->query;
    in.req_content_type = c->req_ctype;
    in.req_body = c->req_body;
    in.req_len = c->req_len;
    in.status = c->status;
    in.resp_headers = h;
    in.resp_body = c->rec_body.data;
    in.resp_len = c->rec_body.len;
    in.resp_cut = c->rec_cut;
    recorder_save(c->u->rec, &in);
    free(h);
}

static void *call_main(void *arg)
{
    const struct curlapi *cu = curlapi();
    struct upstream_call *c = arg;
    struct hogmock *hm = c->hm;
    int running = 1;
    bool finished = false;
    struct timespec looked;

    clock_gettime(CLOCK_MONOTONIC, &looked);

    cu->multi_add_handle(c->multi, c->easy);
    while (!finished) {
        CURLMsg *msg;
        int left, paused, want;
        bool wake = false, stop;

        if (running)
            cu->multi_perform(c->multi, &running);
        pthread_mutex_lock(&c->lock);
        while ((msg = cu->multi_info_read(c->multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE && !c->transfer_done) {
                c->transfer_done = true;
                c->result = msg->data.result;
            }
        stop = !c->transfer_done && ((c->server_gone && !c->answered) || c->stream_over
                                     || c->fault_stop || atomic_load(&hm->drain_over));
        if (stop) {
            /* Nobody waits for the rest (or hogmock stops): end the transfer here. */
            cu->multi_remove_handle(c->multi, c->easy);
            running = 0;
            c->transfer_done = true;
            c->result = CURLE_ABORTED_BY_CALLBACK;
        }
        if (c->transfer_done) {
            end_check(c, c->result == CURLE_OK);
            if (c->sse)
                sse_parser_finish(&c->sp);
            if (c->intake_paused) {
                /* The client may finish sending; what it sends is dropped. */
                c->intake_paused = false;
                if (!c->server_gone)
                    c->hooks.resume_intake(c->hooks.ctx);
            }
        }
        if (c->stalling && (ms_since(&c->stall_from) >= c->fault_ms || c->stream_over
                            || atomic_load(&hm->stopping))) {
            /* The stall is over: the stream is cut. */
            c->stalling = false;
            c->cut = REQ_READ_ERROR;
            wake = true;
        }
        if (!c->answered && !c->server_gone && c->in_ended
            && (c->transfer_done || (c->head_done && c->mode == MODE_STREAM)))
            answer(c);
        wake |= c->answered && c->mode == MODE_STREAM && (c->transfer_done
                                                          || c->out.len > c->out_off);
        /* The callbacks paused the transfer (curl keeps the state); it is lifted here, on
         * the transfer's own thread, once there is something to send or room to take. */
        paused = (c->send_paused ? CURLPAUSE_SEND : 0) | (c->recv_paused ? CURLPAUSE_RECV : 0);
        want = paused;
        if (c->send_paused && (c->in.len > c->in_off || c->in_ended))
            want &= ~CURLPAUSE_SEND;
        if (c->recv_paused && c->out.len - c->out_off < QUEUE_LOW)
            want &= ~CURLPAUSE_RECV;
        c->send_paused = want & CURLPAUSE_SEND;
        c->recv_paused = want & CURLPAUSE_RECV;
        finished = c->transfer_done && (c->answered || c->server_gone)
                   && !(c->stalling && c->answered);
        pthread_mutex_unlock(&c->lock);
        if (wake && c->waker)
            req_waker_wake(c->waker);
        /* A silent stream is where a client that left goes unnoticed: look now and then
         * (the server ends the stream then, and the transfer with it). */
        if (c->waker && !finished && ms_since(&looked) >= POLL_MS) {
            req_waker_gone(c->waker);
            clock_gettime(CLOCK_MONOTONIC, &looked);
        }
        if (!c->transfer_done && want != paused) {
            /* May call back right away (the data held back): the lock is not held. */
            cu->easy_pause(c->easy, want);
        }
        if (!finished)
            cu->multi_poll(c->multi, NULL, 0, POLL_MS, NULL);
    }
    record(c);
    if (c->waker) {
        req_waker_wake(c->waker);
        req_waker_release(c->waker);
    }
    call_unref(c);
    atomic_fetch_sub(&hm->threads, 1);
    return NULL;
}

/* ---- the server's side ------------------------------------------------------------ */

struct header_copy {
    struct upstream_call *c;
    const char *conn;
    bool accept, ctype;
};

static int copy_header(void *ctx, const char *name, const char *value)
{
    const struct curlapi *cu = curlapi();
    struct header_copy *hc = ctx;
    struct buf line = BUF_INIT;

    if (hop_header(name) || in_list(hc->conn, name) || strcasecmp(name, "Host") == 0
        || strcasecmp(name, "Expect") == 0 || strcasecmp(name, "Accept-Encoding") == 0)
        return 0;
    hc->accept |= strcasecmp(name, "Accept") == 0;
    hc->ctype |= strcasecmp(name, "Content-Type") == 0;
    /* "Name;" is how curl sends a header with an empty value. */
    if (*value)
        buf_addf(&line, "%s: %s", name, value);
    else
        buf_addf(&line, "%s;", name);
    hc->c->req_headers = cu->slist_append(hc->c->req_headers, buf_cstr(&line));
    buf_release(&line);
    return 0;
}

static void setup_easy(struct upstream_call *c, struct req *r)
{
    const struct curlapi *cu = curlapi();
    const char *cl = req_header(r, "Content-Length"), *te = req_header(r, "Transfer-Encoding");
    struct header_copy hc = { c, req_header(r, "Connection"), false, false };
    long long size = -1;
    CURL *e = c->easy;

    req_each_header(r, copy_header, &hc);
    /* Nothing the client did not send: curl's own defaults are switched off. */
    if (!hc.accept)
        c->req_headers = cu->slist_append(c->req_headers, "Accept:");
    c->req_headers = cu->slist_append(c->req_headers, "Expect:");
    if (cl) {
        char *end;

        size = strtoll(cl, &end, 10);
        if (*end || size < 0)
            size = -1;
    }
    c->has_body = size > 0 || (size < 0 && te);
    cu->easy_setopt(e, CURLOPT_URL, c->url);
    cu->easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    cu->easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    if (strcmp(c->method, "HEAD") == 0) {
        cu->easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (c->has_body) {
        cu->easy_setopt(e, CURLOPT_UPLOAD, 1L);
        cu->easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
        cu->easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        cu->easy_setopt(e, CURLOPT_READDATA, c);
    } else if (size == 0) {
        /* An empty body announced as such (POST .../pause): Content-Length: 0 again. */
        cu->easy_setopt(e, CURLOPT_POSTFIELDS, "");
        cu->easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
        if (!hc.ctype)
            c->req_headers = cu->slist_append(c->req_headers, "Content-Type:");
    }
    cu->easy_setopt(e, CURLOPT_HTTPHEADER, c->req_headers);
    cu->easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    cu->easy_setopt(e, CURLOPT_HEADERDATA, c);
    cu->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    cu->easy_setopt(e, CURLOPT_WRITEDATA, c);
    cu->easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    cu->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    cu->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    cu->easy_setopt(e, CURLOPT_BUFFERSIZE, 64L * 1024);
    cu->easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 64L * 1024);
    cu->easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
}

struct upstream_call *upstream_begin(struct upstream *u, struct req *r,
                                     const struct upstream_hooks *hooks)
{
    const struct curlapi *cu = curlapi();
    struct upstream_call *c = xcalloc(1, sizeof(*c));
    struct buf url = BUF_INIT;
    pthread_attr_t attr;
    pthread_t tid;
    int err;

    pthread_mutex_init(&c->lock, NULL);
    c->refs = 2;
    c->u = u;
    c->hm = r->hm;
    c->r = r;
    c->hooks = *hooks;
    c->method = xstrdup(r->method);
    c->spec_op = r->op;
    c->op = r->op ? xstrdup(r->op->name) : NULL;
    c->path = xstrdup(r->path);
    c->query = xstrdup(r->query);
    c->req_ctype = req_header(r, "Content-Type") ? xstrdup(req_header(r, "Content-Type")) : NULL;
    c->arrival_ms = vclock_now_ms(r->hm->clock);
    c->in_digest = digest_sha256_begin();
    c->fault = -1;
    if (r->stream_fault) {
        c->fault = (int)r->stream_fault->kind;
        c->fault_after = r->stream_fault->after_event;
        c->fault_ms = r->stream_fault->ms;
        c->fault_seed = r->stream_fault->seed;
        c->fault_bytes = r->stream_fault->bytes;
    }
    buf_addf(&url, "%s%s%s%s", u->base, r->path, *r->query ? "?" : "", r->query);
    c->url = buf_detach(&url, NULL);
    c->multi = cu->multi_init();
    c->easy = cu->easy_init();
    if (!c->multi || !c->easy) {
        req_problem(r, 503, "unavailable", "hogmock cannot forward the request right now");
        c->refs = 1;
        call_unref(c);
        return NULL;
    }
    setup_easy(c, r);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&c->hm->threads, 1);
    err = pthread_create(&tid, &attr, call_main, c);
    pthread_attr_destroy(&attr);
    if (err) {
        atomic_fetch_sub(&c->hm->threads, 1);
        log_error("cannot start a thread to forward a request: %s", strerror(err));
        req_problem(r, 503, "unavailable", "hogmock cannot forward the request right now (%s); "
                    "retry later", strerror(err));
        c->refs = 1;
        call_unref(c);
        return NULL;
    }
    return c;
}

void upstream_feed(struct upstream_call *c, const char *data, size_t len)
{
    const struct curlapi *cu = curlapi();
    bool wake;

    pthread_mutex_lock(&c->lock);
    c->in_bytes += len;
    digest_sha256_update(c->in_digest, data, len);
    if (c->transfer_done || !c->has_body) {
        /* The upstream answered already (or takes no body): the rest is dropped. */
        pthread_mutex_unlock(&c->lock);
        return;
    }
    buf_add(&c->in, data, len);
    if (!c->intake_paused && c->in.len - c->in_off >= INTAKE_HIGH) {
        c->intake_paused = true;
        c->hooks.pause_intake(c->hooks.ctx);
    }
    wake = c->send_paused;
    pthread_mutex_unlock(&c->lock);
    if (wake)
        cu->multi_wakeup(c->multi);
}

void upstream_end(struct upstream_call *c)
{
    const struct curlapi *cu = curlapi();
    pthread_mutex_lock(&c->lock);
    c->in_ended = true;
    pthread_mutex_unlock(&c->lock);
    cu->multi_wakeup(c->multi);
}

void upstream_call_release(struct upstream_call *c)
{
    const struct curlapi *cu = curlapi();
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->server_gone = true;
    pthread_mutex_unlock(&c->lock);
    cu->multi_wakeup(c->multi);
    call_unref(c);
}
