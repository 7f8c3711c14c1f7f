#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "admin.h"
#include "auth.h"
#include "bundle.h"
#include "digest.h"
#include "faults.h"
#include "faultwire.h"
#include "fixtures.h"
#include "issuer.h"
#include "journal.h"
#include "oidc.h"
#include "params.h"
#include "problem.h"
#include "programs.h"
#include "replay.h"
#include "services.h"
#include "sim.h"
#include "store.h"
#include "tailscale.h"
#include "upstream.h"
#include "vclock.h"
#include "violations.h"
#include "xmalloc.h"
#include "yamljson.h"

#define ADMIN_PREFIX "/__hogmock"
#define DEFAULT_JSON_BODY_MAX (1u << 20)
#define DEFAULT_JOURNAL_MAX 100000
/* How much of an oversized body is read and dropped before the connection is cut. */
#define DISCARD_MAX (64u << 20)
/* How long hogmock_stop waits for requests in flight. */
#define DRAIN_MS 5000
/* How long, after that, commands and waits get to notice they must end. */
#define CUT_MS 2000
#define DEFAULT_SSE_KEEPALIVE_MS 15000

/* A response header, kept until the response is built. */
struct header {
    char *name, *value;
};

/* Per request, from the URI logger to the completion callback. */
struct exchange {
    struct req r;
    struct MHD_Connection *conn;
    char *path, *query;         /* the URI as received, cut at '?': one allocation, path's */
    char request_id[136];       /* ours, or the real host's (req_set_request_id) */
    uint64_t arrival_ms;
    struct timespec start;
    const struct api_side *side;
    struct openapi_match match;
    bool matched;
    bool started;               /* the first call (headers) is done */
    bool journaled;
    bool ingress;               /* came in on the Tailscale ingress listener */
    const char *note;           /* static text for the journal entry, or NULL */
    bool worker;                /* the handler runs on its own thread */
    atomic_bool worker_done;
    handler_fn *worker_fn;
    bool body_json;             /* the operation takes a JSON body */
    size_t body_limit;
    bool too_large;
    uint64_t discarded;         /* bytes read past the limit and dropped */
    struct buf body;
    struct digest_sha256 *body_digest; /* a raw body's SHA-256, taken as it comes in */
    struct principal *principal;
    struct auth_denial denial;  /* why the credential was refused (code "" when it was not) */
    uint64_t journal_seq;       /* 0 until journaled */
    cJSON *journal_extra;       /* members req_journal_set gave before the entry existed */
    struct upstream_call *call; /* proxy and record modes: the forwarded request */
    bool body_unkept;           /* the forwarded body outgrew json_body_max: not kept */
    /* a fault plan's pick for this request (NULL: none) and how far it got */
    struct fault *fault;
    bool fault_applied;         /* carried out, or under way: never twice */
    bool fault_shapes;          /* the answer goes out through faultwire_response */
    bool fault_parked;          /* suspended until the fault timer wakes it */
    bool fault_close;           /* once woken, close without an answer (stall) */
    atomic_bool fault_woken;
    const char *fault_label;    /* the journal's fault: "flt_3:status", once applied */
    /* a streamed answer: ops and its waker */
    const struct req_stream_ops *stream_ops;
    void *stream_ctx;
    struct req_waker *waker;
    bool stream_sized;          /* req_stream_length was called */
    uint64_t stream_size;
    /* the answer */
    bool answered, queued;
    int status;
    char *resp_body;
    size_t resp_len;
    char *content_type;
    struct header *headers;
    size_t nheaders;
};

/* ---- ids ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void hogmock_new_id(struct hogmock *hm, const char *prefix, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t n = atomic_fetch_add(&hm->next_id, 1);
    size_t plen = strlen(prefix), i;
    char text[64];

    /* A bijection of the counter: unique in this process, random-looking across runs.
     * Prefix and 16 hex digits, by hand: every request takes one. */
    n = mix64(n ^ hm->id_salt);
    if (!size)
        return;
    if (plen > sizeof(text) - 17) {
        snprintf(out, size, "%s%016llx", prefix, (unsigned long long)n);
        return;
    }
    memcpy(text, prefix, plen);
    for (i = 0; i < 16; i++)
        text[plen + i] = hex[(n >> (60 - 4 * i)) & 15];
    text[plen + 16] = '\0';
    if (plen + 17 > size) {
        memcpy(out, text, size - 1);
        out[size - 1] = '\0';
    } else {
        memcpy(out, text, plen + 17);
    }
}

/* ---- the handler API -------------------------------------------------------------- */

static struct exchange *ex_of(const struct req *r)
{
    return r->priv;
}

const char *req_header(const struct req *r, const char *name)
{
    return MHD_lookup_connection_value(ex_of(r)->conn, MHD_HEADER_KIND, name);
}

struct header_walk {
    int (*fn)(void *ctx, const char *name, const char *value);
    void *ctx;
};

static enum MHD_Result walk_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct header_walk *w = cls;

    (void)kind;
    return w->fn(w->ctx, key, value ? value : "") == 0 ? MHD_YES : MHD_NO;
}

void req_each_header(const struct req *r, int (*fn)(void *ctx, const char *name,
                                                    const char *value), void *ctx)
{
    struct header_walk w = { fn, ctx };

    MHD_get_connection_values(ex_of(r)->conn, MHD_HEADER_KIND, walk_header, &w);
}

static const cJSON *param(const cJSON *obj, const char *name)
{
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

const char *req_path_str(const struct req *r, const char *name)
{
    const cJSON *v = param(r->path_params, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *req_query_str(const struct req *r, const char *name)
{
    const cJSON *v = param(r->query_params, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t req_query_int(const struct req *r, const char *name, int64_t def)
{
    const cJSON *v = param(r->query_params, name);

    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

void req_set_header(struct req *r, const char *name, const char *value)
{
    struct exchange *ex = ex_of(r);

    ex->headers = xrealloc(ex->headers, (ex->nheaders + 1) * sizeof(*ex->headers));
    ex->headers[ex->nheaders].name = xstrdup(name);
    ex->headers[ex->nheaders++].value = xstrdup(value);
}

bool req_answered(const struct req *r)
{
    return ex_of(r)->answered;
}

void req_set_request_id(struct req *r, const char *id)
{
    struct exchange *ex = ex_of(r);

    if (strlen(id) < sizeof(ex->request_id))
        snprintf(ex->request_id, sizeof(ex->request_id), "%s", id);
}

void req_stream_length(struct req *r, uint64_t len)
{
    ex_of(r)->stream_sized = true;
    ex_of(r)->stream_size = len;
}

void req_journal_set(struct req *r, const char *name, cJSON *value)
{
    struct exchange *ex = ex_of(r);
    cJSON *members;

    if (ex->journal_seq) {
        members = cJSON_CreateObject();
        cJSON_AddItemToObject(members, name, value);
        journal_update(r->hm->journal, ex->journal_seq, members);
        cJSON_Delete(members);
        return;
    }
    if (!ex->journal_extra)
        ex->journal_extra = cJSON_CreateObject();
    if (cJSON_GetObjectItemCaseSensitive(ex->journal_extra, name))
        cJSON_ReplaceItemInObjectCaseSensitive(ex->journal_extra, name, value);
    else
        cJSON_AddItemToObject(ex->journal_extra, name, value);
}

static void answer(struct exchange *ex, int status, const char *content_type, char *body,
                   size_t len)
{
    if (ex->answered) {
        /* A handler answering twice is a bug; keep the first answer. */
        log_error("%s: answered twice (%d after %d)", ex->request_id, status, ex->status);
        free(body);
        return;
    }
    ex->answered = true;
    ex->status = status;
    ex->content_type = content_type ? xstrdup(content_type) : NULL;
    ex->resp_body = body;
    ex->resp_len = len;
}

void req_bytes(struct req *r, int status, const char *content_type, char *data, size_t len)
{
    answer(ex_of(r), status, content_type, data, len);
}

void req_empty(struct req *r, int status)
{
    answer(ex_of(r), status, NULL, NULL, 0);
}

void req_json(struct req *r, int status, cJSON *body)
{
    char *text = NULL;

    if (body) {
        text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
    }
    answer(ex_of(r), status, body ? "application/json" : NULL, text, text ? strlen(text) : 0);
}

void req_problem_json(struct req *r, cJSON *problem)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(problem, "status");
    size_t len;
    char *text;

    problem_set_request_id(problem, r->request_id);
    text = problem_render(problem, &len);
    answer(ex_of(r), cJSON_IsNumber(status) ? status->valueint : 500, PROBLEM_CONTENT_TYPE,
           text, len);
    cJSON_Delete(problem);
}

void req_problem(struct req *r, int status, const char *code, const char *fmt, ...)
{
    struct buf detail = BUF_INIT;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_grow(&detail, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(detail.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        detail.len = (size_t)n;
    }
    req_problem_json(r, problem_new(status, code, "%s", buf_cstr(&detail)));
    buf_release(&detail);
}

/* ---- streamed answers ------------------------------------------------------------- */

struct req_waker {
    pthread_mutex_t lock;
    int refs;                   /* the exchange, the MHD response, the producer */
    struct hogmock *hm;
    struct MHD_Connection *conn;
    const struct req_stream_ops *ops;
    void *ctx;
    bool parked;                /* the connection is suspended, waiting for a wake */
    bool closed;                /* the request is over: nothing may touch conn */
    bool peer_gone;             /* a parked connection's client hung up */
    bool ended;                 /* read returned REQ_READ_END */
    bool broken;                /* read returned REQ_READ_ERROR */
    uint64_t bytes;
    struct fault_shape *shape;  /* a fault plan's pacing and cut, or NULL */
    bool timer_pending;         /* the fault timer holds a reference, to wake it */
    struct req_waker *prev, *next;
};

static void waker_unref(struct req_waker *w)
{
    struct hogmock *hm = w->hm;
    int left;

    pthread_mutex_lock(&w->lock);
    left = --w->refs;
    pthread_mutex_unlock(&w->lock);
    if (left)
        return;
    pthread_mutex_lock(&hm->streams_lock);
    if (w->prev)
        w->prev->next = w->next;
    else
        hm->streams = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&hm->streams_lock);
    pthread_mutex_destroy(&w->lock);
    free(w->shape);
    free(w);
}

/* Wake a parked connection; under w->lock. */
static void waker_unpark(struct req_waker *w)
{
    if (w->parked && !w->closed) {
        w->parked = false;
        MHD_resume_connection(w->conn);
    }
}

void req_stream(struct req *r, int status, const char *content_type,
                const struct req_stream_ops *ops, void *ctx, struct req_waker **waker)
{
    struct exchange *ex = ex_of(r);
    struct hogmock *hm = r->hm;
    struct req_waker *w = xcalloc(1, sizeof(*w));

    pthread_mutex_init(&w->lock, NULL);
    w->refs = 2;
    w->hm = hm;
    w->conn = ex->conn;
    w->ops = ops;
    w->ctx = ctx;
    pthread_mutex_lock(&hm->streams_lock);
    w->next = hm->streams;
    if (w->next)
        w->next->prev = w;
    hm->streams = w;
    pthread_mutex_unlock(&hm->streams_lock);
    ex->stream_ops = ops;
    ex->stream_ctx = ctx;
    ex->waker = w;
    *waker = w;
    answer(ex, status, content_type, NULL, 0);
}

void req_waker_wake(struct req_waker *w)
{
    pthread_mutex_lock(&w->lock);
    waker_unpark(w);
    pthread_mutex_unlock(&w->lock);
}

/* Has the client of a parked connection hung up? A suspended connection is not polled
 * by MHD, so a silent stream looks: readable with nothing to read is the end of file. */
static bool peer_hung_up(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct pollfd pfd;
    char c;
    ssize_t n;

    if (!info)
        return false;
    pfd.fd = info->connect_fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLERR | POLLNVAL))
        return true;
    n = recv(pfd.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    /* Bytes to read are a pipelined request, not a hang-up. */
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool req_waker_gone(struct req_waker *w)
{
    bool gone;

    pthread_mutex_lock(&w->lock);
    if (!w->closed && !w->peer_gone && w->parked && peer_hung_up(w->conn))
        w->peer_gone = true;
    gone = w->closed || w->peer_gone || atomic_load(&w->hm->stopping);
    if (gone)
        waker_unpark(w);    /* so MHD sees the end and cleans up */
    pthread_mutex_unlock(&w->lock);
    return gone;
}

void req_waker_release(struct req_waker *w)
{
    if (w)
        waker_unref(w);
}

/* The fault timer's wake of a stream held back by its shape. */
static void waker_timer(void *arg)
{
    struct req_waker *w = arg;

    pthread_mutex_lock(&w->lock);
    w->timer_pending = false;
    waker_unpark(w);
    pthread_mutex_unlock(&w->lock);
    waker_unref(w);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct req_waker *w = cls;
    uint64_t wait = 0;
    ssize_t ret;
    long n = 0;

    (void)pos;
    pthread_mutex_lock(&w->lock);
    if (w->closed || w->peer_gone || atomic_load(&w->hm->stopping)) {
        pthread_mutex_unlock(&w->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (w->shape && (n = fault_shape_take(w->shape, w->bytes, max, &wait)) <= 0) {
        if (n < 0) {
            w->broken = true;
            ret = MHD_CONTENT_READER_END_WITH_ERROR;
        } else {
            /* Held back by a fault: parked until the fault timer (or the producer) wakes it. */
            w->parked = true;
            MHD_suspend_connection(w->conn);
            if (!w->timer_pending) {
                w->timer_pending = true;
                w->refs++;
                faultwire_after(w->hm->faultwire, wait, waker_timer, w);
            }
            ret = 0;
        }
        pthread_mutex_unlock(&w->lock);
        return ret;
    }
    if (w->shape)
        max = (size_t)n;
    n = w->ops->read(w->ctx, buf, max);
    if (n > 0 && w->shape)
        fault_shape_sent(w->shape, w->bytes, (size_t)n);
    if (n > 0) {
        w->bytes += (uint64_t)n;
        ret = (ssize_t)n;
    } else if (n == REQ_READ_END) {
        w->ended = true;
        ret = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (n == REQ_READ_ERROR || n == REQ_READ_RESET) {
        w->broken = true;
        if (n == REQ_READ_RESET)
            faultwire_reset(w->conn);
        ret = MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        /* Nothing yet: park the connection (no thread waits on it) until a wake. */
        w->parked = true;
        MHD_suspend_connection(w->conn);
        ret = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return ret;
}

static void stream_response_free(void *cls)
{
    waker_unref(cls);
}

static void journal_stream_end(struct hogmock *hm, struct exchange *ex,
                               enum MHD_RequestTerminationCode toe)
{
    struct req_waker *w = ex->waker;
    enum req_stream_end end;
    struct timespec now;
    uint64_t bytes, us;
    cJSON *members, *info;
    bool ended, broken;

    pthread_mutex_lock(&w->lock);
    w->closed = true;
    w->parked = false;
    ended = w->ended;
    broken = w->broken;
    bytes = w->bytes;
    pthread_mutex_unlock(&w->lock);
    /* A body of announced length is over when its last byte went: read is not asked
     * for the end then. */
    ended = ended || (ex->stream_sized && bytes == ex->stream_size);
    end = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && ended ? REQ_STREAM_COMPLETE
        : atomic_load(&hm->stopping) ? REQ_STREAM_STOPPED : REQ_STREAM_CLIENT_GONE;
    info = ex->stream_ops->done(ex->stream_ctx, end, bytes);
    if (ex->journal_seq) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        us = (uint64_t)(now.tv_sec - ex->start.tv_sec) * 1000000u
             + (uint64_t)((now.tv_nsec - ex->start.tv_nsec) / 1000);
        members = cJSON_CreateObject();
        cJSON_AddNumberToObject(members, "response_bytes", (double)bytes);
        cJSON_AddNumberToObject(members, "duration_ms", (double)(us / 1000) + (double)(us % 1000) / 1000.0);
        if (broken && ex->fault_label)
            cJSON_AddStringToObject(members, "note", "a fault plan cut the stream");
        else if (broken)
            cJSON_AddStringToObject(members, "note", "the stream was cut: its source broke off");
        else if (end == REQ_STREAM_CLIENT_GONE)
            cJSON_AddStringToObject(members, "note", "the client went away before the stream ended");
        else if (end == REQ_STREAM_STOPPED)
            cJSON_AddStringToObject(members, "note", "hogmock stopped during the stream");
        if (info)
            cJSON_AddItemToObject(members, "stream", info);
        journal_update(hm->journal, ex->journal_seq, members);
        cJSON_Delete(members);
    } else {
        cJSON_Delete(info);
    }
    ex->waker = NULL;
    waker_unref(w);
}

/* ---- the pipeline ----------------------------------------------------------------- */

static bool is_admin_path(const char *path)
{
    size_t n = strlen(ADMIN_PREFIX);

    return strncmp(path, ADMIN_PREFIX, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static bool from_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info ? info->client_addr : NULL;

    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return false;
}

/* Count the values of one header (to refuse duplicated credentials). */
struct header_count {
    const char *name;
    unsigned n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct header_count *hc = cls;

    (void)kind;
    (void)value;
    if (strcasecmp(key, hc->name) == 0)
        hc->n++;
    return MHD_YES;
}

static unsigned header_count(struct MHD_Connection *c, const char *name)
{
    struct header_count hc = { name, 0 };

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
    return hc.n;
}

/* A refused credential as auth_resolve described it: 401 (a bad credential) or 403 (a
 * good one without a TrustMapping), its code, and the RFC 6750 challenge that fits. */
static void answer_denied(struct exchange *ex, const char *why)
{
    const struct auth_denial *d = &ex->denial;
    struct buf challenge = BUF_INIT;
    bool forbidden = d->status == 403;

    auth_challenge_error(&challenge, forbidden ? "insufficient_scope" : "invalid_token", why);
    req_set_header(&ex->r, "WWW-Authenticate", buf_cstr(&challenge));
    req_problem(&ex->r, forbidden ? 403 : 401, d->code[0] ? d->code : "invalid_token", "%s", why);
    buf_release(&challenge);
}

/* Admin API: loopback only, or anyone holding --admin-token. */
static bool admin_allowed(struct hogmock *hm, struct exchange *ex)
{
    const char *token = hm->cfg.admin_token;

    if (token) {
        const char *given = req_header(&ex->r, "X-Hogmock-Admin-Token");

        if (given && mem_equal_ct(given, strlen(given), token, strlen(token)))
            return true;
        req_problem(&ex->r, 403, "forbidden",
                    "the admin API needs the X-Hogmock-Admin-Token header given to --admin-token");
        return false;
    }
    if (from_loopback(ex->conn))
        return true;
    req_problem(&ex->r, 403, "forbidden",
                "the admin API answers loopback clients only (start hogmock with --admin-token "
                "to open it to others)");
    return false;
}

/* The body limit and kind of an operation: file uploads take raw bytes up to
 * file_max_bytes, everything else JSON up to json_body_max. */
static void body_rules(struct hogmock *hm, struct exchange *ex)
{
    const cJSON *content = ex->r.op->request_body
        ? cJSON_GetObjectItemCaseSensitive(ex->r.op->request_body, "content") : NULL;
    const cJSON *mt;

    ex->body_limit = hm->cfg.json_body_max;
    ex->body_json = false;
    cJSON_ArrayForEach(mt, content) {
        if (strcmp(mt->string, "application/json") == 0) {
            ex->body_json = true;
        } else {
            /* Raw bodies (files, proxied requests) may be as large as a file. */
            if ((size_t)hm->limits.file_max_bytes > ex->body_limit)
                ex->body_limit = (size_t)hm->limits.file_max_bytes;
        }
    }
}

/* On the Tailscale ingress, the login the proxy vouches for names the caller through its
 * TrustMapping. False after answering: no mapping (403), a bad or repeated header (401). */
static bool tailscale_identity(struct hogmock *hm, struct exchange *ex, const char *login)
{
    struct buf why = BUF_INIT;
    enum rc rc;

    if (header_count(ex->conn, TAILSCALE_LOGIN_HEADER) > 1
        || header_count(ex->conn, TAILSCALE_NAME_HEADER) > 1) {
        buf_addstr(&why, "more than one " TAILSCALE_LOGIN_HEADER " or " TAILSCALE_NAME_HEADER
                   " header was sent");
        rc = RC_INVALID;
    } else {
        rc = tailscale_resolve(hm->oidc, login, req_header(&ex->r, TAILSCALE_NAME_HEADER),
                               &ex->principal, &why);
    }
    if (rc == RC_OK) {
        ex->r.principal = ex->principal;
    } else {
        ex->denial.status = rc == RC_DENIED ? 403 : 401;
        strcpy(ex->denial.code, rc == RC_DENIED ? "no_trust_mapping" : "invalid_token");
        if (rc == RC_DENIED)
            snprintf(ex->denial.subject, sizeof(ex->denial.subject), "%s", login);
        answer_denied(ex, buf_cstr(&why));
    }
    buf_release(&why);
    return rc == RC_OK;
}

/* ---- fault plans: picked after authentication, carried out on the wire --------------- */

static const char *fault_header(void *ctx, const char *name)
{
    return req_header(ctx, name);
}

/* Does op answer with an event stream (a 2xx of text/event-stream)? */
static bool op_streams(const struct openapi *api, const struct openapi_op *op)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(op->node, "responses")) {
        const cJSON *resp = r;

        if (r->string[0] == '2' && openapi_deref(api, r, &resp, NULL) == RC_OK
            && cJSON_GetObjectItemCaseSensitive(
                   cJSON_GetObjectItemCaseSensitive(resp, "content"), "text/event-stream"))
            return true;
    }
    return false;
}

/* Does a plan fault this request? Only hogplane requests are ever faulted. */
static void pick_fault(struct hogmock *hm, struct exchange *ex)
{
    struct fault_request fr;

    if (ex->side != &hm->pub || faults_none(hm->faults))
        return;
    memset(&fr, 0, sizeof(fr));
    fr.op = ex->matched ? ex->r.op->name : NULL;
    fr.operation_id = ex->matched ? ex->r.op->operation_id : NULL;
    fr.method = ex->r.method;
    fr.path = ex->path;
    fr.principal = ex->principal ? ex->principal->id : NULL;
    fr.header = fault_header;
    fr.ctx = &ex->r;
    fr.streams = ex->matched && op_streams(ex->side->api, ex->r.op);
    fr.now_ms = vclock_now_ms(hm->clock);
    ex->fault = faults_pick(hm->faults, &fr);
    if (ex->fault && fault_is_sse(ex->fault->kind))
        ex->r.stream_fault = ex->fault;
}

static void fault_wake(void *arg)
{
    struct exchange *ex = arg;

    /* The connection is suspended: nothing frees ex before it resumes. */
    atomic_store(&ex->fault_woken, true);
    MHD_resume_connection(ex->conn);
}

/* Suspend the connection for ms of real time: no thread waits; the fault timer resumes
 * it and MHD calls on_request again (then close it without an answer when close). */
static void fault_park(struct hogmock *hm, struct exchange *ex, uint64_t ms, bool close)
{
    ex->fault_parked = true;
    ex->fault_close = close;
    atomic_store(&ex->fault_woken, false);
    MHD_suspend_connection(ex->conn);
    faultwire_after(hm->faultwire, ms, fault_wake, ex);
}

/* A streamed answer that will not be sent: its producer is told the client left. */
static void drop_stream(struct exchange *ex)
{
    struct req_waker *w = ex->waker;

    pthread_mutex_lock(&w->lock);
    w->closed = true;
    w->parked = false;
    pthread_mutex_unlock(&w->lock);
    cJSON_Delete(ex->stream_ops->done(ex->stream_ctx, REQ_STREAM_CLIENT_GONE, 0));
    ex->waker = NULL;
    waker_unref(w);
}

/* Forget the operation's answer (a fault answers instead). */
static void drop_answer(struct exchange *ex)
{
    size_t i;

    if (ex->waker)
        drop_stream(ex);
    for (i = 0; i < ex->nheaders; i++) {
        free(ex->headers[i].name);
        free(ex->headers[i].value);
    }
    ex->nheaders = 0;
    free(ex->resp_body);
    free(ex->content_type);
    ex->resp_body = ex->content_type = NULL;
    ex->resp_len = 0;
    ex->answered = false;
}

/* The fault's own answer: its status with a problem+json or raw body, or (malformed_json)
 * the operation's JSON cut in half, which never parses. */
static void fault_answer(struct exchange *ex, const struct fault *f)
{
    size_t i;

    if (f->kind == FAULT_MALFORMED_JSON) {
        struct buf b = BUF_INIT;
        cJSON *parsed;
        char *text;

        if (ex->answered && ex->resp_len >= 2)
            buf_add(&b, ex->resp_body, ex->resp_len / 2);
        else
            buf_addstr(&b, "{\"id\":\"hb_");
        if ((parsed = cJSON_ParseWithLength(b.data, b.len)) != NULL)
            buf_addch(&b, ',');
        cJSON_Delete(parsed);
        drop_answer(ex);
        text = buf_detach(&b, &i);
        answer(ex, f->status, "application/json", text, i);
    } else if (f->body) {
        drop_answer(ex);
        answer(ex, f->status, f->content_type, xmemdup(f->body, f->body_len + 1), f->body_len);
    } else {
        drop_answer(ex);
        req_problem_json(&ex->r, problem_new(f->status, f->code, "%s", f->detail));
    }
    for (i = 0; i < f->nheaders; i++)
        req_set_header(&ex->r, f->headers[i].name, f->headers[i].value);
}

static void journal_exchange(struct hogmock *hm, struct exchange *ex, const char *note);
static enum MHD_Result queue(struct exchange *ex);

/* A fault that sends no answer: journal the request (status 0), then reset the
 * connection, feed it garbage or close it (MHD_NO closes it), or park it (stall). */
static enum MHD_Result fault_no_answer(struct hogmock *hm, struct exchange *ex)
{
    const struct fault *f = ex->fault;
    bool ran = ex->answered;

    drop_answer(ex);
    ex->fault_label = f->label;
    journal_exchange(hm, ex, ex->note ? ex->note : ran ? "the operation ran; a fault plan kept "
                     "its answer from the client" : NULL);
    ex->queued = true;  /* no answer will come: nothing more to journal */
    switch (f->kind) {
    case FAULT_RESET:
        faultwire_reset(ex->conn);
        return MHD_NO;
    case FAULT_GARBAGE:
        faultwire_garbage(ex->conn, f->seed, (size_t)f->bytes);
        return MHD_NO;
    case FAULT_STALL:
        fault_park(hm, ex, f->ms, true);
        return MHD_YES;
    default:
        return MHD_NO;
    }
}

/* A before-phase fault once the request is in. True when it took the operation's place
 * (answered, closed or parked: *ret is on_request's result); false to go on. */
static bool fault_before(struct hogmock *hm, struct exchange *ex, enum MHD_Result *ret)
{
    struct fault *f = ex->fault;

    ex->fault_applied = true;
    switch (f->kind) {
    case FAULT_DELAY:
        /* On a virtual clock a delay takes no real time. */
        ex->fault_label = f->label;
        if (!f->ms || vclock_is_virtual(hm->clock))
            return false;
        fault_park(hm, ex, f->ms, false);
        *ret = MHD_YES;
        return true;
    case FAULT_STATUS:
    case FAULT_RATE_LIMIT:
    case FAULT_MALFORMED_JSON:
        fault_answer(ex, f);
        ex->fault_label = f->label;
        *ret = queue(ex);
        return true;
    default:
        *ret = fault_no_answer(hm, ex);
        return true;
    }
}

/* A streamed answer goes out as the fault shapes it (stream_read applies the shape). */
static void shape_stream(struct exchange *ex)
{
    struct fault_shape *sh = xmalloc(sizeof(*sh));

    fault_shape_init(sh, ex->fault, ex->stream_sized ? ex->stream_size : UINT64_MAX);
    pthread_mutex_lock(&ex->waker->lock);
    ex->waker->shape = sh;
    pthread_mutex_unlock(&ex->waker->lock);
}

/* A fault on the operation's answer, as it is queued. True when queue must stop there
 * (*ret is its result); false to queue the answer, which the fault may have replaced. */
static bool fault_after(struct hogmock *hm, struct exchange *ex, enum MHD_Result *ret)
{
    struct fault *f = ex->fault;

    ex->fault_applied = true;
    if (fault_is_sse(f->kind)) {
        /* The stream carries it out (stream.c); nothing to do when none started. */
        if (ex->waker)
            ex->fault_label = f->label;
        return false;
    }
    if (ex->waker && f->kind == FAULT_MALFORMED_JSON) {
        if (!ex->note)
            ex->note = "a fault plan's malformed_json was not applied: the answer is streamed";
        return false;
    }
    ex->fault_label = f->label;
    switch (f->kind) {
    case FAULT_STATUS:
    case FAULT_RATE_LIMIT:
    case FAULT_MALFORMED_JSON:
        fault_answer(ex, f);
        return false;
    case FAULT_DELAY:
        if (vclock_is_virtual(hm->clock))
            f->ms = 0;
        if (f->in_body) {
            ex->fault_shapes = f->ms > 0;
            if (ex->fault_shapes && ex->waker)
                shape_stream(ex);
            return false;
        }
        if (!f->ms)
            return false;
        fault_park(hm, ex, f->ms, false);
        *ret = MHD_YES;
        return true;
    case FAULT_TRUNCATE:
    case FAULT_DRIP:
        ex->fault_shapes = true;
        if (ex->waker)
            shape_stream(ex);
        return false;
    default:
        *ret = fault_no_answer(hm, ex);
        return true;
    }
}

/* ---- proxy and record modes: the server's side of a forwarded request ---------------- */

static void proxy_pause_intake(void *ctx)
{
    struct exchange *ex = ctx;

    MHD_suspend_connection(ex->conn);
}

static void proxy_resume_intake(void *ctx)
{
    struct exchange *ex = ctx;

    MHD_resume_connection(ex->conn);
}

static void proxy_answered(void *ctx)
{
    struct exchange *ex = ctx;

    atomic_store(&ex->worker_done, true);
    MHD_resume_connection(ex->conn);
}

/* The real host authenticates and judges the request; hogmock routes it only to know its
 * operation (journal, checks of the answer, fault plans) and forwards it at once, so the
 * body streams through as it arrives. */
static void proxy_headers(struct hogmock *hm, struct exchange *ex)
{
    struct upstream_hooks hooks = {
        ex, proxy_pause_intake, proxy_resume_intake, proxy_answered,
    };

    /* Tailscale headers go to the real host, whose business they are. A body that a
     * fault keeps from it is read up to the usual bound. */
    ex->note = NULL;
    ex->body_limit = hm->cfg.json_body_max;
    if (openapi_route(ex->side->api, ex->r.method, ex->path, &ex->match) == RC_OK) {
        ex->matched = true;
        ex->r.op = ex->match.op;
        ex->r.match = &ex->match;
    }
    /* A fault in place of the operation keeps the request from the real host; a delay
     * before it waits for the real host's answer instead. */
    pick_fault(hm, ex);
    if (ex->fault && ex->fault->phase == FAULT_BEFORE) {
        if (ex->fault->kind != FAULT_DELAY)
            return;
        ex->fault->phase = FAULT_AFTER_COMMIT;
    }
    ex->call = upstream_begin(hm->upstream, &ex->r, &hooks);
}

/* A chunk of a forwarded body: kept for the journal while it is small, and passed on. */
static void proxy_body(struct hogmock *hm, struct exchange *ex, const char *data, size_t n)
{
    if (!ex->body_unkept && n <= hm->cfg.json_body_max - ex->body.len) {
        buf_add(&ex->body, data, n);
    } else if (!ex->body_unkept) {
        ex->body_unkept = true;
        buf_release(&ex->body);
    }
    upstream_feed(ex->call, data, n);
}

static const struct route *const admin_tables[] = {
    admin_routes, admin_oidc_routes, issuer_routes, admin_upstream_routes,
    replay_admin_routes, admin_faults_routes, NULL,
};

static enum rc load_side(struct api_side *side, const char *path, const char *bundled,
                         const struct route *const *tables, struct buf *err);

/* The bundled admin description, loaded beside the start: a first /v1 answer does not
 * wait for a second spec nobody has asked for yet. */
static void *admin_loader_main(void *arg)
{
    struct hogmock *hm = arg;
    enum rc rc = load_side(&hm->admin, NULL, "openapi/hogmock-admin.yaml", admin_tables,
                           &hm->admin_err);

    pthread_mutex_lock(&hm->admin_lock);
    hm->admin_rc = rc;
    atomic_store(&hm->admin_loaded, true);
    pthread_cond_broadcast(&hm->admin_cond);
    pthread_mutex_unlock(&hm->admin_lock);
    if (rc != RC_OK)
        log_error("%s", buf_cstr(&hm->admin_err));
    return NULL;
}

/* Wait for the admin description (at most the few milliseconds of its loading, right
 * after start): RC_OK, or why it did not load (hm->admin_err). */
static enum rc admin_wait(struct hogmock *hm)
{
    enum rc rc;

    if (atomic_load(&hm->admin_loaded))
        return hm->admin_rc;
    pthread_mutex_lock(&hm->admin_lock);
    while (!atomic_load(&hm->admin_loaded))
        pthread_cond_wait(&hm->admin_cond, &hm->admin_lock);
    rc = hm->admin_rc;
    pthread_mutex_unlock(&hm->admin_lock);
    return rc;
}

/* Whether the client waits for "100 Continue" before it sends its body, so that an answer
 * now costs it nothing. Without that the body is already on its way, and an answer given
 * before reading it is lost to the reset that closing on unread bytes makes. */
static bool expects_continue(struct exchange *ex)
{
    const char *v = MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "Expect");

    return v && strcasecmp(v, "100-continue") == 0;
}

/* Headers are in: route, authorise, check the declared size. An early answer here
 * makes MHD skip the body. */
static void on_headers(struct hogmock *hm, struct exchange *ex)
{
    const char *cl, *ts_login = req_header(&ex->r, TAILSCALE_LOGIN_HEADER);
    enum rc rc;

    if (!ex->ingress && (ts_login || req_header(&ex->r, TAILSCALE_NAME_HEADER)))
        ex->note = "a Tailscale identity header was ignored as a spoofing attempt: only the "
                   "Tailscale ingress listener trusts it";
    /* The ingress serves the hogplane API only: the admin paths are unknown there. */
    ex->side = !ex->ingress && is_admin_path(ex->path) ? &hm->admin : &hm->pub;
    if (ex->side == &hm->admin && !admin_allowed(hm, ex))
        return;
    if (ex->side == &hm->admin && admin_wait(hm) != RC_OK) {
        req_problem(&ex->r, 500, "internal_error", "the admin API's description did not load: %s",
                    buf_cstr(&hm->admin_err));
        return;
    }
    if (ex->side == &hm->pub && hm->upstream) {
        proxy_headers(hm, ex);
        return;
    }
    rc = openapi_route(ex->side->api, ex->r.method, ex->path, &ex->match);
    if (rc == RC_METHOD_NOT_ALLOWED) {
        req_set_header(&ex->r, "Allow", ex->match.allow);
        req_problem(&ex->r, 405, "method_not_allowed", "%s takes only %s, not %s", ex->path,
                    ex->match.allow, ex->r.method);
        return;
    }
    if (rc == RC_PARSE) {
        req_problem(&ex->r, 400, "invalid_parameter",
                    "the path has a malformed %%-escape or an encoded NUL");
        return;
    }
    if (rc != RC_OK) {
        req_problem(&ex->r, 404, "not_found", "no route matches %s %s", ex->r.method, ex->path);
        return;
    }
    ex->matched = true;
    ex->r.op = ex->match.op;
    ex->r.match = &ex->match;

    /* On the ingress without a login, the bearer credential counts, as on the main one. */
    if (ex->side == &hm->pub && ex->ingress && ts_login && *ts_login
        && !tailscale_identity(hm, ex, ts_login))
        return;
    if (ex->side == &hm->pub && !ex->principal) {
        struct buf why = BUF_INIT;
        const char *authz = req_header(&ex->r, "Authorization");

        if (header_count(ex->conn, "Authorization") > 1) {
            buf_addstr(&why, "more than one Authorization header was sent");
            ex->denial.status = 401;
            strcpy(ex->denial.code, "invalid_token");
        } else if (auth_resolve(hm->auth, authz, &ex->principal, &ex->denial, &why) == RC_OK) {
            ex->r.principal = ex->principal;
        }
        if (!ex->principal) {
            answer_denied(ex, buf_cstr(&why));
            buf_release(&why);
            return;
        }
        buf_release(&why);
    }

    body_rules(hm, ex);
    /* Fault plans come after authentication and before any check of the request; a
     * fault in place of the operation is carried out once the body is in. */
    pick_fault(hm, ex);
    if (ex->fault && ex->fault->phase == FAULT_BEFORE)
        return;
    cl = MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        unsigned long long n;

        errno = 0;
        n = strtoull(cl, &end, 10);
        if (*end || errno || (n > 0 && !ex->r.op->request_body) || n > ex->body_limit) {
            if (*end || errno)
                req_problem(&ex->r, 400, "invalid_parameter", "Content-Length '%s' is not a number", cl);
            else if (!ex->r.op->request_body)
                req_problem(&ex->r, 400, "invalid_parameter",
                            "%s takes no request body, but %llu bytes were announced",
                            ex->r.op->operation_id, n);
            else if (expects_continue(ex) || n > ex->body_limit + DISCARD_MAX)
                req_problem(&ex->r, 413, "payload_too_large",
                            "the body of %llu bytes is over the limit of %zu bytes", n,
                            ex->body_limit);
            else
                ex->too_large = true;   /* read through unkept, then 413: see on_request */
        }
    }
}

static bool media_is(const char *content_type, const char *media)
{
    size_t n = strlen(media);

    return content_type && strncasecmp(content_type, media, n) == 0
           && (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

static void add_param_issues(cJSON *problem, const struct param_issues *issues)
{
    size_t i;

    for (i = 0; i < issues->count; i++)
        problem_add_param_error(problem, issues->items[i].name, issues->items[i].detail);
}

/* Typed parameters, checked against their schemas: 400 invalid_parameter otherwise. */
static bool check_params(struct exchange *ex)
{
    struct param_issues issues = { 0 };
    const struct openapi_op *op = ex->r.op;
    cJSON *problem;
    size_t i;

    params_path(op, &ex->match, &ex->r.path_params, &issues);
    params_query(op, ex->query, &ex->r.query_params, &issues);
    for (i = 0; i < op->nparams && !issues.count; i++) {
        const struct openapi_param *p = &op->params[i];
        const cJSON *obj = p->in == OPENAPI_IN_PATH ? ex->r.path_params
                         : p->in == OPENAPI_IN_QUERY ? ex->r.query_params : NULL;
        const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, p->name) : NULL;
        struct schema_errors errs = SCHEMA_ERRORS_INIT;
        size_t k;

        if (!v || !p->schema || schema_validate(ex->side->schema, p->schema, v, &errs) == RC_OK)
            continue;
        for (k = 0; k < errs.count; k++) {
            struct param_issue *is;

            if (issues.count == issues.cap) {
                issues.cap = issues.cap ? issues.cap * 2 : 4;
                issues.items = xrealloc(issues.items, issues.cap * sizeof(*issues.items));
            }
            is = &issues.items[issues.count++];
            is->in = p->in;
            is->name = xstrdup(p->name);
            /* The message starts with the pointer inside the value; "/: " is the value. */
            is->detail = xstrdup(str_startswith(errs.items[k].message, "/: ")
                                     ? errs.items[k].message + 3 : errs.items[k].message);
        }
        schema_errors_release(&errs);
    }
    if (!issues.count)
        return true;
    problem = problem_new(400, "invalid_parameter", "%s", issues.count == 1
                          ? "a parameter is not valid" : "some parameters are not valid");
    add_param_issues(problem, &issues);
    param_issues_release(&issues);
    req_problem_json(&ex->r, problem);
    return false;
}

/* The JSON body: well-formed (400 malformed_json) and valid per the schema (422). */
static bool check_json_body(struct exchange *ex)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(ex->r.op->request_body, "content");
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(content, "application/json");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(media, "schema");
    const char *ctype = req_header(&ex->r, "Content-Type");
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    struct buf err = BUF_INIT;
    cJSON *problem;
    size_t i;

    if (ex->body.len == 0) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex->r.op->request_body, "required"))) {
            req_problem(&ex->r, 400, "malformed_json", "%s needs a JSON body",
                        ex->r.op->operation_id);
            return false;
        }
        return true;
    }
    if (!media_is(ctype, "application/json")) {
        req_problem(&ex->r, 415, "unsupported_media_type",
                    "the body must be application/json, not '%s'", ctype ? ctype : "(none)");
        return false;
    }
    if (yamljson_parse(ex->body.data, ex->body.len, "body.json", &ex->r.json, &err) != RC_OK) {
        /* "body.json:1:5: message" -> "line 1, column 5: message" reads better. */
        const char *msg = buf_cstr(&err);
        unsigned line, col;
        int used = 0;

        if (sscanf(msg, "body.json:%u:%u: %n", &line, &col, &used) == 2 && used > 0)
            req_problem(&ex->r, 400, "malformed_json", "the body is not valid JSON: line %u, "
                        "column %u: %s", line, col, msg + used);
        else
            req_problem(&ex->r, 400, "malformed_json", "the body is not valid JSON: %s", msg);
        buf_release(&err);
        return false;
    }
    buf_release(&err);
    if (!schema || schema_validate(ex->side->schema, schema, ex->r.json, &errs) == RC_OK)
        return true;
    problem = problem_new(422, "validation_failed", "%s",
                          errs.count == 1 ? "the request body breaks 1 rule of the schema"
                                          : "the request body breaks rules of the schema");
    for (i = 0; i < errs.count; i++) {
        const char *m = errs.items[i].message;
        size_t plen = strlen(errs.items[i].pointer);

        /* Messages start with "pointer: "; the pointer has its own member. */
        if (strncmp(m, errs.items[i].pointer, plen) == 0 && strncmp(m + plen, ": ", 2) == 0)
            m += plen + 2;
        else if (str_startswith(m, "/: "))
            m += 3;
        problem_add_error(problem, errs.items[i].pointer, m);
    }
    schema_errors_release(&errs);
    req_problem_json(&ex->r, problem);
    return false;
}

static void run_handler(struct exchange *ex, handler_fn *fn)
{
    fn(&ex->r);
    if (!ex->answered) {
        log_error("%s: %s gave no answer", ex->request_id, ex->r.op->operation_id);
        req_problem(&ex->r, 500, "internal_error", "the handler of %s gave no answer",
                    ex->r.op->operation_id);
    }
}

static void *worker_main(void *arg)
{
    struct exchange *ex = arg;
    struct hogmock *hm = ex->r.hm;

    run_handler(ex, ex->worker_fn);
    atomic_store(&ex->worker_done, true);
    MHD_resume_connection(ex->conn);   /* ex may be gone after this */
    atomic_fetch_sub(&hm->threads, 1);
    return NULL;
}

/* The body is in: check it and the parameters, then run the handler, inline or (when it
 * may wait on the real clock) on a thread of its own with the connection suspended.
 * False when it went to a thread: the answer comes when the connection resumes. */
static bool on_complete(struct hogmock *hm, struct exchange *ex)
{
    size_t idx;
    handler_fn *fn;

    if (!check_params(ex))
        return true;
    ex->r.body = ex->body.data;
    ex->r.body_len = ex->body.len;
    if (ex->body_digest) {
        digest_sha256_end(ex->body_digest, ex->r.body_sha256);
        ex->body_digest = NULL;
    }
    if (ex->body_json && !check_json_body(ex))
        return true;
    if (!ex->body_json && ex->body.len && !ex->r.op->request_body) {
        req_problem(&ex->r, 400, "invalid_parameter", "%s takes no request body",
                    ex->r.op->operation_id);
        return true;
    }
    /* Replay answers the hogplane API from fixtures; the admin API stays itself. */
    if (hm->cfg.mode == HOGMOCK_REPLAY && ex->side == &hm->pub) {
        replay_answer(&ex->r);
        return true;
    }
    idx = (size_t)(ex->r.op - openapi_op_at(ex->side->api, 0));
    fn = ex->side->handlers[idx];
    if (!fn) {
        req_problem(&ex->r, 501, "not_implemented", "hogmock does not simulate %s",
                    ex->r.op->operation_id);
        return true;
    }
    if ((ex->side->flags[idx] & ROUTE_BLOCKING) && !vclock_is_virtual(hm->clock)) {
        pthread_attr_t attr;
        pthread_t tid;

        ex->worker_fn = fn;
        ex->worker = true;
        MHD_suspend_connection(ex->conn);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        atomic_fetch_add(&hm->threads, 1);
        if (pthread_create(&tid, &attr, worker_main, ex) == 0) {
            pthread_attr_destroy(&attr);
            return false;
        }
        atomic_fetch_sub(&hm->threads, 1);
        pthread_attr_destroy(&attr);
        ex->worker = false;
        MHD_resume_connection(ex->conn);
    }
    run_handler(ex, fn);
    return true;
}

static void journal_exchange(struct hogmock *hm, struct exchange *ex, const char *note);

static enum MHD_Result queue(struct exchange *ex)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t i;

    if (ex->fault && !ex->fault_applied && fault_after(ex->r.hm, ex, &ret))
        return ret;
    journal_exchange(ex->r.hm, ex, ex->note);
    if (ex->waker) {
        resp = MHD_create_response_from_callback(ex->stream_sized ? ex->stream_size
                                                                  : MHD_SIZE_UNKNOWN,
                                                 16 * 1024, stream_read, ex->waker,
                                                 stream_response_free);
        if (!resp)
            return MHD_NO;
        pthread_mutex_lock(&ex->waker->lock);
        ex->waker->refs++;
        pthread_mutex_unlock(&ex->waker->lock);
    } else if (ex->fault_shapes) {
        /* A body in memory, shaped by the fault. */
        resp = faultwire_response(ex->r.hm->faultwire, ex->conn, ex->fault, ex->resp_body,
                                  ex->resp_len, &ex->r.hm->stopping);
        ex->resp_body = NULL;   /* taken over, even on failure */
        if (!resp)
            return MHD_NO;
    } else {
        resp = MHD_create_response_from_buffer(ex->resp_len, ex->resp_body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            return MHD_NO;
        ex->resp_body = NULL;   /* MHD owns it now */
    }
    MHD_add_response_header(resp, "X-Request-Id", ex->request_id);
    if (ex->content_type)
        MHD_add_response_header(resp, "Content-Type", ex->content_type);
    for (i = 0; i < ex->nheaders; i++)
        MHD_add_response_header(resp, ex->headers[i].name, ex->headers[i].value);
    ret = MHD_queue_response(ex->conn, (unsigned)ex->status, resp);
    MHD_destroy_response(resp);
    ex->queued = true;
    return ret;
}

/* The first bytes of a raw body (a file) are in: room for all of it at once when its
 * length is announced, and its SHA-256 taken as it arrives, while the rest is still on
 * the way, for the handler (the file's digest) and the journal alike. */
static void body_begin(struct exchange *ex)
{
    const char *cl = MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n;
    char *end;

    if (cl && *cl >= '0' && *cl <= '9') {
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (!errno && !*end && n <= ex->body_limit)
            buf_grow_exact(&ex->body, (size_t)n);
    }
    ex->body_digest = digest_sha256_begin();
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct hogmock *hm = cls;
    struct exchange *ex = *req_cls;

    (void)url;
    (void)version;
    if (!ex)
        return MHD_NO;
    if (!ex->started) {
        ex->started = true;
        ex->conn = conn;
        ex->r.method = method;
        on_headers(hm, ex);
        return ex->answered ? queue(ex) : MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (ex->answered)
            return MHD_YES;
        if (ex->call) {
            proxy_body(hm, ex, upload_data, n);
            return MHD_YES;
        }
        if (ex->too_large || n > ex->body_limit - ex->body.len) {
            /* Keep reading but not storing, and answer 413 once the body ends: closing
             * now would make the kernel reset the connection and lose the answer. A
             * client that goes on far past the limit is cut off. */
            ex->too_large = true;
            ex->discarded += n;
            if (ex->discarded > ex->body_limit + DISCARD_MAX) {
                req_problem(&ex->r, 413, "payload_too_large",
                            "the body is over the limit of %zu bytes", ex->body_limit);
                return queue(ex);
            }
            return MHD_YES;
        }
        if (!ex->body.len && !ex->body_json)
            body_begin(ex);
        buf_add(&ex->body, upload_data, n);
        if (ex->body_digest)
            digest_sha256_update(ex->body_digest, upload_data, n);
        return MHD_YES;
    }
    if (ex->fault_parked) {
        /* A fault's wait: over once the fault timer has resumed the connection. */
        if (!atomic_load(&ex->fault_woken))
            return MHD_YES;
        ex->fault_parked = false;
        if (ex->fault_close)
            return MHD_NO;
    }
    if (ex->queued)
        return MHD_YES;
    if (ex->worker)
        return atomic_load(&ex->worker_done) ? queue(ex) : MHD_YES;
    if (ex->fault && !ex->fault_applied && ex->fault->phase == FAULT_BEFORE) {
        enum MHD_Result ret;

        if (fault_before(hm, ex, &ret))
            return ret;
    }
    if (ex->call) {
        /* The body is through: the answer comes from the transfer's thread, which
         * resumes the connection with it. */
        if (!ex->body_unkept) {
            ex->r.body = ex->body.data;
            ex->r.body_len = ex->body.len;
        }
        ex->worker = true;
        MHD_suspend_connection(conn);
        upstream_end(ex->call);
        return MHD_YES;
    }
    if (ex->too_large)
        req_problem(&ex->r, 413, "payload_too_large", "the body is over the limit of %zu bytes",
                    ex->body_limit);
    if (!ex->answered && !on_complete(hm, ex))
        return MHD_YES;
    return queue(ex);
}

/* The first thing MHD knows of a request: its raw URI, before any unescaping. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct hogmock *hm = cls;
    struct exchange *ex = xcalloc(1, sizeof(*ex));
    size_t len = strlen(uri), plen = strcspn(uri, "?");

    (void)conn;
    ex->path = xmalloc(len + 2);
    memcpy(ex->path, uri, plen);
    ex->path[plen] = '\0';
    ex->query = ex->path + plen + 1;
    if (plen < len)
        memcpy(ex->query, uri + plen + 1, len - plen);  /* with its NUL */
    else
        ex->query[0] = '\0';
    ex->arrival_ms = vclock_now_ms(hm->clock);
    clock_gettime(CLOCK_MONOTONIC, &ex->start);
    hogmock_new_id(hm, "req_", ex->request_id, sizeof(ex->request_id));
    ex->r.hm = hm;
    ex->r.priv = ex;
    ex->r.request_id = ex->request_id;
    ex->r.path = ex->path;
    ex->r.query = ex->query;
    ex->r.method = "";
    buf_init(&ex->body);
    atomic_fetch_add(&hm->inflight, 1);
    return ex;
}

struct header_list {
    const char **v;
    size_t n, cap;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct header_list *l = cls;

    (void)kind;
    if (l->n + 3 > l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = key;
    l->v[l->n++] = value ? value : "";
    l->v[l->n] = NULL;
    return MHD_YES;
}

static void exchange_free(struct exchange *ex)
{
    size_t i;

    upstream_call_release(ex->call);
    fault_free(ex->fault);
    cJSON_Delete(ex->journal_extra);
    openapi_match_release(&ex->match);
    cJSON_Delete(ex->r.path_params);
    cJSON_Delete(ex->r.query_params);
    cJSON_Delete(ex->r.json);
    principal_free(ex->principal);
    digest_sha256_free(ex->body_digest);
    buf_release(&ex->body);
    for (i = 0; i < ex->nheaders; i++) {
        free(ex->headers[i].name);
        free(ex->headers[i].value);
    }
    free(ex->headers);
    free(ex->resp_body);
    free(ex->content_type);
    free(ex->path);
    free(ex);
}

/* Journal the exchange once: when its answer is queued (so a client that sees the
 * answer finds it in the journal), or at completion when it never got one. */
static void journal_exchange(struct hogmock *hm, struct exchange *ex, const char *note)
{
    struct header_list hl = { NULL, 0, 0 };
    struct journal_input in = { 0 };
    struct timespec end;

    if (ex->journaled || !ex->started)
        return;
    ex->journaled = true;
    clock_gettime(CLOCK_MONOTONIC, &end);
    MHD_get_connection_values(ex->conn, MHD_HEADER_KIND, collect_header, &hl);
    in.time_ms = ex->arrival_ms;
    in.arrival = ex->start;
    in.request_id = ex->request_id;
    in.method = ex->r.method;
    in.path = ex->path;
    in.query = ex->query;
    in.op = ex->matched ? ex->r.op->name : NULL;
    in.principal_id = ex->principal ? ex->principal->id : NULL;
    in.auth_path = ex->principal ? ex->principal->auth_path : NULL;
    if (ex->principal) {
        const cJSON *iss = cJSON_GetObjectItemCaseSensitive(ex->principal->attributes, "issuer");

        in.auth_issuer = cJSON_IsString(iss) ? iss->valuestring : NULL;
        in.auth_subject = ex->principal->subject;
    } else if (ex->denial.code[0]) {
        in.auth_issuer = ex->denial.issuer[0] ? ex->denial.issuer : NULL;
        in.auth_subject = ex->denial.subject[0] ? ex->denial.subject : NULL;
        in.auth_error = ex->denial.code;
    }
    in.headers = hl.v;
    in.body = ex->body.data;
    in.body_len = ex->body.len;
    in.body_sha256 = ex->r.body_sha256[0] ? ex->r.body_sha256 : NULL;
    in.content_type = req_header(&ex->r, "Content-Type");
    in.status = ex->answered ? ex->status : 0;
    in.response_bytes = ex->answered ? ex->resp_len : 0;
    in.duration_us = (uint64_t)(end.tv_sec - ex->start.tv_sec) * 1000000u
                     + (uint64_t)((end.tv_nsec - ex->start.tv_nsec) / 1000);
    in.note = note;
    in.fault = ex->fault_label;
    ex->journal_seq = journal_append(hm->journal, &in);
    if (ex->journal_extra) {
        journal_update(hm->journal, ex->journal_seq, ex->journal_extra);
        cJSON_Delete(ex->journal_extra);
        ex->journal_extra = NULL;
    }
    free(hl.v);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    struct hogmock *hm = cls;
    struct exchange *ex = *req_cls;

    (void)conn;
    *req_cls = NULL;
    if (!ex)
        return;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !ex->queued)
        journal_exchange(hm, ex, "the client went away before the request was complete");
    if (ex->waker)
        journal_stream_end(hm, ex, toe);
    exchange_free(ex);
    atomic_fetch_sub(&hm->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("http: %s", line);
}

/* MHD unescapes paths and arguments by default; the router wants them raw. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* ---- start and stop ----------------------------------------------------------------- */

static enum rc parse_listen(const char *opt, const char *listen, struct sockaddr_storage *ss,
                            int *v6, struct buf *err)
{
    const char *colon = strrchr(listen, ':');
    char host[128];
    char *end;
    unsigned long port;
    size_t hlen;

    memset(ss, 0, sizeof(*ss));
    if (!colon || colon == listen) {
        buf_addf(err, "%s '%s' is not HOST:PORT (as in 127.0.0.1:0 or [::1]:8080)", opt, listen);
        return RC_INVALID;
    }
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port > 65535) {
        buf_addf(err, "%s '%s': the port must be a number from 0 to 65535", opt, listen);
        return RC_INVALID;
    }
    hlen = (size_t)(colon - listen);
    if (listen[0] == '[' && hlen >= 2 && listen[hlen - 1] == ']') {
        listen++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host)) {
        buf_addf(err, "%s '%s': the host is too long", opt, listen);
        return RC_INVALID;
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;

        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons((uint16_t)port);
            *v6 = 0;
            return RC_OK;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            *v6 = 1;
            return RC_OK;
        }
    }
    buf_addf(err, "%s '%s': '%s' is not an IPv4 or IPv6 address", opt, listen, host);
    return RC_INVALID;
}

/* Join the spec's operations to the modules' handlers by operation name. */
static void bind_handlers(struct api_side *side, const struct route *const *tables)
{
    size_t i, n = openapi_op_count(side->api);

    side->handlers = xcalloc(n ? n : 1, sizeof(*side->handlers));
    side->flags = xcalloc(n ? n : 1, sizeof(*side->flags));
    for (i = 0; i < n; i++) {
        const struct openapi_op *op = openapi_op_at(side->api, i);
        const struct route *const *t;

        for (t = tables; *t && !side->handlers[i]; t++) {
            const struct route *r;

            for (r = *t; r->op; r++) {
                if (strcmp(r->op, op->name) == 0) {
                    side->handlers[i] = r->fn;
                    side->flags[i] = r->flags;
                    break;
                }
            }
        }
    }
}

/* The whole file at path into out; false when it cannot be read. */
static bool read_whole(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return false;
    for (;;) {
        buf_grow(out, 65536);
        n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
    close(fd);
    return n == 0;
}

/* The document of a bundled spec from the build's JSON form of it (share/<bundled>.cache:
 * the SHA-256 of the YAML it was made from, a newline, the JSON), when that was made from
 * the YAML at yaml as it is now: reading the JSON takes a fraction of the time the YAML
 * does, and this is most of hogmock's start. NULL when there is no such form. */
static cJSON *load_built_form(const char *yaml, const char *bundled)
{
    struct buf name = BUF_INIT, where = BUF_INIT, form = BUF_INIT, src = BUF_INIT;
    cJSON *doc = NULL;
    char hex[65];

    buf_addf(&name, "share/%s.cache", bundled);
    /* Parsed before the YAML is hashed: libcrypto's first SHA-256 (loading its provider,
     * a few milliseconds) is being fetched on another thread meanwhile. */
    if (bundle_build_path(buf_cstr(&name), &where) && read_whole(buf_cstr(&where), &form)
        && form.len > 65 && form.data[64] == '\n' && read_whole(yaml, &src)
        && yamljson_parse(form.data + 65, form.len - 65, buf_cstr(&where), &doc, NULL)
           == RC_OK) {
        digest_sha256_hex(src.data, src.len, hex);
        if (memcmp(hex, form.data, 64) != 0) {
            cJSON_Delete(doc);
            doc = NULL;
        }
    }
    buf_release(&name);
    buf_release(&where);
    buf_release(&form);
    buf_release(&src);
    return doc;
}

static enum rc load_side(struct api_side *side, const char *path, const char *bundled,
                         const struct route *const *tables, struct buf *err)
{
    struct buf def = BUF_INIT;
    cJSON *doc = NULL;
    enum rc rc;

    if (!path) {
        bundle_path(bundled, &def);
        path = buf_cstr(&def);
        doc = load_built_form(path, bundled);
    }
    if (doc)
        rc = openapi_from_json(doc, strrchr(bundled, '/') ? strrchr(bundled, '/') + 1 : bundled,
                               &side->api, err);
    else
        rc = openapi_load(path, &side->api, err);
    buf_release(&def);
    if (rc != RC_OK)
        return rc;
    side->schema = schema_new(openapi_doc(side->api));
    bind_handlers(side, tables);
    return RC_OK;
}

/* The same for the Tailscale ingress, whose requests are marked as such from the start
 * (with a thread pool, a connection belongs to a worker, not to the daemon started). */
static void *on_ingress_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct exchange *ex = on_uri(cls, uri, conn);

    ex->ingress = true;
    return ex;
}

/* Serve the pipeline on ss (ingress: as the Tailscale ingress): the daemon, with its URL
 * and bound port written to url and *port; NULL (errno set) when it cannot listen there. */
static struct MHD_Daemon *start_listener(struct hogmock *hm, unsigned flags,
                                         const struct sockaddr_storage *ss, int v6,
                                         bool ingress, char *url, size_t url_size,
                                         uint16_t *port)
{
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;
    char host[INET6_ADDRSTRLEN];

    /* The logger goes first: MHD reports problems with the options that follow it.
     * A connection's memory pool holds its request's headers, then the buffers MHD reads
     * an upload into (half of it) and writes a streamed answer from (what is free): at
     * 64 KiB the exec stream runs 12-20% faster than at 32. MHD zeroes the whole pool
     * before each keep-alive request, which costs GET /v1/me ~1.3 us more. */
    d = MHD_start_daemon(
        flags | (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request, hm,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
        MHD_OPTION_THREAD_POOL_SIZE, hm->cfg.threads > 1 ? hm->cfg.threads : 0u,
        MHD_OPTION_URI_LOG_CALLBACK, ingress ? on_ingress_uri : on_uri, hm,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, hm,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_END);
    if (!d)
        return NULL;
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    if (v6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, host,
                  sizeof(host));
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, host,
                  sizeof(host));
    snprintf(url, url_size, v6 ? "http://[%s]:%u" : "http://%s:%u", host, (unsigned)*port);
    return d;
}

static void side_release(struct api_side *side)
{
    schema_free(side->schema);
    openapi_free(side->api);
    free(side->handlers);
    free(side->flags);
}

void hogmock_config_init(struct hogmock_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen = "127.0.0.1:0";
}

static const char *own(struct hogmock *hm, size_t slot, const char *s)
{
    return s ? (hm->owned[slot] = xstrdup(s)) : NULL;
}

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (unsigned)n : 1;
}

struct store_opener {
    const char *path;
    struct store *store;
    enum rc rc;
    struct buf err;
};

static void *store_opener_main(void *arg)
{
    struct store_opener *o = arg;

    /* SHA-256 as well: checking the description's cache and every token need it. */
    digest_prepare();
    o->rc = store_open(o->path, &o->store, &o->err);
    return NULL;
}

enum rc hogmock_start(const struct hogmock_config *cfg, struct hogmock **out, struct buf *err)
{
    static const struct route *const pub_tables[] = {
        auth_routes, sim_routes, files_routes, exec_routes, stream_routes, boxproxy_routes, NULL,
    };
    struct hogmock *hm = xcalloc(1, sizeof(*hm));
    struct sockaddr_storage ss, ts_ss;
    /* poll(), not epoll: with a thread pool on epoll, MHD_quiesce_daemon and a worker
     * that sees the quiesce race to take the listen socket out of the worker's epoll
     * set, and the loser aborts the process (libmicrohttpd 0.9.75). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC
                     | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct store_opener opener = { 0 };
    pthread_t opener_thread;
    struct timespec ts;
    enum rc rc;
    int v6 = 0, ts_v6 = 0;
    size_t i;

    *out = NULL;
    xmalloc_init_cjson();
    pthread_mutex_init(&hm->streams_lock, NULL);
    pthread_mutex_init(&hm->admin_lock, NULL);
    pthread_cond_init(&hm->admin_cond, NULL);
    hm->cfg = *cfg;
    hm->cfg.listen = own(hm, 0, cfg->listen ? cfg->listen : "127.0.0.1:0");
    hm->cfg.spec_path = own(hm, 1, cfg->spec_path);
    hm->cfg.admin_spec_path = own(hm, 2, cfg->admin_spec_path);
    hm->cfg.db_path = own(hm, 3, cfg->db_path);
    hm->cfg.tokens_path = own(hm, 4, cfg->tokens_path);
    hm->cfg.limits_path = own(hm, 5, cfg->limits_path);
    hm->cfg.ready_file = own(hm, 6, cfg->ready_file);
    hm->cfg.admin_token = own(hm, 7, cfg->admin_token);
    hm->cfg.tailscale_listen = own(hm, 8, cfg->tailscale_listen);
    hm->cfg.auth_config_path = own(hm, 9, cfg->auth_config_path);
    hm->cfg.fixtures_dir = own(hm, 11, cfg->fixtures_dir);
    hm->cfg.upstream = own(hm, 12, cfg->upstream);
    hm->cfg.faults_path = own(hm, 14, cfg->faults_path);
    hm->cfg.issuers = NULL;     /* the caller's: read from cfg below, at start only */
    if (!hm->cfg.json_body_max)
        hm->cfg.json_body_max = DEFAULT_JSON_BODY_MAX;
    if (!hm->cfg.journal_max)
        hm->cfg.journal_max = DEFAULT_JOURNAL_MAX;
    /* Two per core: when a thread loses its core to another process (a client on the
     * same machine), the other one there serves its connections meanwhile. GET /v1/me
     * under wrk on 2 cores: 39-43k req/s with 2 threads, 47-55k with 4, 43-46k with 8. */
    if (!hm->cfg.threads)
        hm->cfg.threads = 2 * cores();
    clock_gettime(CLOCK_REALTIME, &ts);
    hm->id_salt = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid());

    hogmock_limits_default(&hm->limits);
    if ((rc = parse_listen("--listen", hm->cfg.listen, &ss, &v6, err)) != RC_OK
        || (hm->cfg.tailscale_listen && (rc = parse_listen("--tailscale-listen",
                                                           hm->cfg.tailscale_listen, &ts_ss,
                                                           &ts_v6, err))))
        goto fail;
    /* The database (its schema, a few milliseconds) is made on a thread of its own while
     * this one reads the API's description: the two halves of the start. */
    opener.path = hm->cfg.db_path;
    buf_init(&opener.err);
    if ((errno = pthread_create(&opener_thread, NULL, store_opener_main, &opener)) != 0) {
        buf_addf(err, "cannot start a thread: %s", strerror(errno));
        rc = RC_ERR;
        goto fail;
    }
    if (!(hm->cfg.limits_path && (rc = sim_load_limits(&hm->limits, hm->cfg.limits_path, err)))
        && !(rc = load_side(&hm->pub, hm->cfg.spec_path, "openapi/hogplane.yaml", pub_tables,
                            err)))
        rc = RC_OK;
    pthread_join(opener_thread, NULL);
    hm->store = opener.store;
    if (rc == RC_OK && opener.rc != RC_OK) {
        buf_addstr(err, buf_cstr(&opener.err));
        rc = opener.rc;
    }
    buf_release(&opener.err);
    if (rc != RC_OK)
        goto fail;
    /* A description given on the command line stops the start when it is wrong; the
     * bundled one is known good and loads beside the rest of the start. */
    if (hm->cfg.admin_spec_path) {
        if ((rc = load_side(&hm->admin, hm->cfg.admin_spec_path, NULL, admin_tables, err)))
            goto fail;
        atomic_store(&hm->admin_loaded, true);
    } else if ((errno = pthread_create(&hm->admin_loader, NULL, admin_loader_main, hm)) != 0) {
        buf_addf(err, "cannot start a thread: %s", strerror(errno));
        rc = RC_ERR;
        goto fail;
    } else {
        hm->admin_loading = true;
    }
    hm->clock = vclock_new(hm->cfg.virtual_clock);
    hm->sse_keepalive_ms = hm->cfg.sse_keepalive_ms ? hm->cfg.sse_keepalive_ms
                                                    : DEFAULT_SSE_KEEPALIVE_MS;
    hm->journal = journal_new(hm->cfg.journal_max);
    hm->auth = auth_new(hm->store);
    hm->programs = programs_new();
    hm->services = services_new();
    hm->oidc = oidc_new(hm->clock);
    hm->issuers = issuers_new();
    if (hm->cfg.mode == HOGMOCK_REPLAY) {
        if (!hm->cfg.fixtures_dir) {
            buf_addstr(err, "replay mode needs the fixtures to answer from (--fixtures DIR)");
            rc = RC_INVALID;
            goto fail;
        }
        if ((rc = fixture_set_load(hm->cfg.fixtures_dir, &hm->fixtures, err)) != RC_OK)
            goto fail;
    }
    hm->violations = violations_new(0);
    hm->faults = faults_new(hm->id_salt);
    if (!(hm->faultwire = faultwire_new())) {
        buf_addf(err, "cannot start the fault timer thread: %s", strerror(errno));
        rc = RC_ERR;
        goto fail;
    }
    if (hm->cfg.faults_path && (rc = faults_load(hm->faults, hm->cfg.faults_path, err)) != RC_OK)
        goto fail;
    if ((hm->cfg.mode == HOGMOCK_PROXY || hm->cfg.mode == HOGMOCK_RECORD)
        && (rc = upstream_new(hm, &hm->upstream, err)) != RC_OK)
        goto fail;
    if (hm->cfg.tokens_path && (rc = auth_load_tokens(hm->auth, hm->cfg.tokens_path, err)))
        goto fail;
    auth_set_oidc(hm->auth, hm->oidc);
    if (hm->cfg.auth_config_path
        && (rc = oidc_load_config(hm->oidc, hm->cfg.auth_config_path, err)) != RC_OK)
        goto fail;
    /* The config file's builtin_issuers, then --issuer, which may give one another key. */
    if (hm->cfg.auth_config_path
        && (rc = issuers_enable_config(hm->issuers, hm->cfg.auth_config_path, err)) != RC_OK)
        goto fail;
    for (i = 0; cfg->issuers && cfg->issuers[i]; i++)
        if ((rc = issuers_enable(hm->issuers, cfg->issuers[i], err)) != RC_OK)
            goto fail;

    hm->daemon = start_listener(hm, flags, &ss, v6, false, hm->url, sizeof(hm->url), &hm->port);
    if (!hm->daemon) {
        buf_addf(err, "cannot listen on %s: %s", hm->cfg.listen, strerror(errno ? errno : EADDRINUSE));
        rc = RC_IO;
        goto fail;
    }
    if (hm->cfg.tailscale_listen) {
        uint16_t ts_port;

        hm->ts_daemon = start_listener(hm, flags, &ts_ss, ts_v6, true, hm->ts_url,
                                       sizeof(hm->ts_url), &ts_port);
        if (!hm->ts_daemon) {
            buf_addf(err, "cannot listen on %s: %s", hm->cfg.tailscale_listen,
                     strerror(errno ? errno : EADDRINUSE));
            rc = RC_IO;
            goto fail;
        }
    }
    /* Built-in issuers are named after the URL, known only now. */
    issuers_start(hm->issuers, hm->url, hm->oidc);
    if (hm->cfg.ready_file) {
        /* Written aside and renamed, so a watcher never reads half a URL. */
        struct buf tmp = BUF_INIT;
        FILE *f;
        bool ok;

        buf_addf(&tmp, "%s.%ld.tmp", hm->cfg.ready_file, (long)getpid());
        f = fopen(buf_cstr(&tmp), "w");
        ok = f && fprintf(f, "%s\n", hm->url) >= 0;
        ok = (f && fclose(f) == 0) && ok && rename(buf_cstr(&tmp), hm->cfg.ready_file) == 0;
        if (!ok) {
            buf_addf(err, "cannot write the ready file '%s': %s", hm->cfg.ready_file,
                     strerror(errno));
            unlink(buf_cstr(&tmp));
            buf_release(&tmp);
            rc = RC_IO;
            goto fail;
        }
        buf_release(&tmp);
    }
    *out = hm;
    return RC_OK;
fail:
    hogmock_stop(hm);
    return rc;
}

bool hogmock_nap(struct hogmock *hm, uint64_t ms)
{
    while (ms && !atomic_load(&hm->drain_over)) {
        uint64_t step = ms < 50 ? ms : 50;
        struct timespec ts = { 0, (long)step * 1000000L };

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ms -= step;
    }
    return !atomic_load(&hm->drain_over);
}

const char *hogmock_url(const struct hogmock *hm)
{
    return hm->url;
}

uint16_t hogmock_port(const struct hogmock *hm)
{
    return hm->port;
}

const char *hogmock_tailscale_url(const struct hogmock *hm)
{
    return hm->ts_daemon ? hm->ts_url : NULL;
}

void hogmock_stop(struct hogmock *hm)
{
    size_t i;

    if (!hm)
        return;
    if (hm->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(hm->daemon);
        int waited;

        if (fd != MHD_INVALID_SOCKET)
            close(fd);
        if (hm->ts_daemon && (fd = MHD_quiesce_daemon(hm->ts_daemon)) != MHD_INVALID_SOCKET)
            close(fd);
        /* Exec streams have no natural end to wait for: they are cut now (parked ones
         * woken for it). Other requests in flight get DRAIN_MS to finish; then their
         * commands and waits end too. */
        atomic_store(&hm->stopping, true);
        pthread_mutex_lock(&hm->streams_lock);
        for (struct req_waker *w = hm->streams; w; w = w->next) {
            pthread_mutex_lock(&w->lock);
            waker_unpark(w);
            pthread_mutex_unlock(&w->lock);
        }
        pthread_mutex_unlock(&hm->streams_lock);
        /* Connections parked by faults (delays, stalls, drips) are woken the same way. */
        if (hm->faultwire)
            faultwire_flush(hm->faultwire);
        for (waited = 0; waited < DRAIN_MS + CUT_MS && (atomic_load(&hm->inflight) > 0
                                                       || atomic_load(&hm->threads) > 0);
             waited += 5) {
            struct timespec ts = { 0, 5 * 1000000L };

            if (waited >= DRAIN_MS)
                atomic_store(&hm->drain_over, true);
            nanosleep(&ts, NULL);
        }
        if (hm->ts_daemon)
            MHD_stop_daemon(hm->ts_daemon);
        MHD_stop_daemon(hm->daemon);
    }
    upstream_free(hm->upstream);
    violations_free(hm->violations);
    faultwire_free(hm->faultwire);
    faults_free(hm->faults);
    fixture_set_free(hm->fixtures);
    services_free(hm->services);
    issuers_free(hm->issuers);
    oidc_free(hm->oidc);
    programs_free(hm->programs);
    auth_free(hm->auth);
    journal_free(hm->journal);
    vclock_free(hm->clock);
    store_close(hm->store);
    side_release(&hm->pub);
    if (hm->admin_loading)
        pthread_join(hm->admin_loader, NULL);
    side_release(&hm->admin);
    buf_release(&hm->admin_err);
    pthread_cond_destroy(&hm->admin_cond);
    pthread_mutex_destroy(&hm->admin_lock);
    for (i = 0; i < sizeof(hm->owned) / sizeof(hm->owned[0]); i++)
        free(hm->owned[i]);
    pthread_mutex_destroy(&hm->streams_lock);
    free(hm);
}
