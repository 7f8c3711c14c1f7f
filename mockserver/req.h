/* req: one request as a handler sees it, and the only way a handler answers.
 * Handlers never touch libmicrohttpd; a request gets exactly one answer. */
#ifndef HOG_REQ_H
#define HOG_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "openapi.h"

struct fault;
struct hogmock;
struct principal;
struct req;

typedef void handler_fn(struct req *r);

/* What a module serves: operation name (x-hog-operation or operationId) -> handler.
 * Tables end with { NULL, NULL }. */
struct route {
    const char *op;
    handler_fn *fn;
    unsigned flags;
};

/* The handler may wait on the real clock (a command's sleep): it runs on a thread of its
 * own while the connection is suspended, so it never holds up the request threads. */
#define ROUTE_BLOCKING 1u

struct req {
    struct hogmock *hm;
    const char *request_id;     /* "req_" + 16 hex digits */
    const char *method;
    const char *path;           /* as received, still percent-encoded, no query */
    const char *query;          /* raw query string without '?', "" when none */
    const struct openapi_op *op;
    const struct openapi_match *match;
    cJSON *path_params;         /* typed per the spec: {"id": "hb_..."} */
    cJSON *query_params;        /* typed, with defaults for absent optional ones */
    cJSON *json;                /* the JSON body, parsed and valid per the spec; or NULL */
    const char *body;           /* the raw body (any content type); NULL when none */
    size_t body_len;
    char body_sha256[65];       /* a raw body's SHA-256 in hex, taken as it came in; "" when
                                 * not taken (JSON bodies) */
    const struct principal *principal; /* the caller; NULL on the admin API */
    const struct fault *stream_fault; /* a fault plan's sse_* fault for the streamed answer,
                                       * or NULL; borrowed for the request: copy what is used */
    void *priv;                 /* the server's own state */
};

/* A request header (case-insensitive name), borrowed for the request; NULL when absent. */
const char *req_header(const struct req *r, const char *name);
/* Call fn for every request header in the order received (names as sent); fn returns 0
 * to go on. */
void req_each_header(const struct req *r, int (*fn)(void *ctx, const char *name,
                                                    const char *value), void *ctx);
/* A typed path or query parameter's string value, borrowed; NULL when absent or not a string. */
const char *req_path_str(const struct req *r, const char *name);
const char *req_query_str(const struct req *r, const char *name);
/* A typed integer parameter, or def when absent. */
int64_t req_query_int(const struct req *r, const char *name, int64_t def);

/* Add a response header (both copied); may be called before the answer. */
void req_set_header(struct req *r, const char *name, const char *value);

/* Answer with JSON (body taken over; NULL for no body) and status. */
void req_json(struct req *r, int status, cJSON *body);
/* Answer with raw bytes (data taken over: it must come from malloc). */
void req_bytes(struct req *r, int status, const char *content_type, char *data, size_t len);
/* Answer with no body (204, or a 200 HEAD). */
void req_empty(struct req *r, int status);
/* Answer with a problem+json (RFC 9457) of the spec's catalogue; request_id is added. */
void req_problem(struct req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answer with a problem the caller built (taken over); request_id is added. */
void req_problem_json(struct req *r, cJSON *problem);
/* ---- streamed answers --------------------------------------------------------------
 * A body produced while it is sent (Server-Sent Events): the server pulls it through
 * read and sends it chunked as it comes; whoever produces it (usually a thread of its
 * own) calls req_waker_wake when read has something new. */

enum req_stream_end {
    REQ_STREAM_COMPLETE,        /* read returned REQ_READ_END and every byte went out */
    REQ_STREAM_CLIENT_GONE,     /* the client closed the connection or stopped reading */
    REQ_STREAM_STOPPED,         /* hogmock is stopping */
};

#define REQ_READ_END (-1L)
/* What read returns when the body cannot be completed (the source of it broke off): the
 * connection is cut, so the client sees a truncated answer, not a complete one. */
#define REQ_READ_ERROR (-2L)
/* The same with a TCP reset instead of a close (a fault plan's dropped stream). */
#define REQ_READ_RESET (-3L)

struct req_stream_ops {
    /* Copy at most max bytes of the body into buf: the count copied, 0 when there is
     * nothing yet (the connection is parked until req_waker_wake, holding no thread),
     * or REQ_READ_END once the body is complete. Runs on a server thread. */
    long (*read)(void *ctx, char *buf, size_t max);
    /* The server is done with the body (read is never called again): how it ended and
     * how many bytes went out. Returns what the journal records of the stream, a new
     * object (taken over), or NULL. */
    cJSON *(*done)(void *ctx, enum req_stream_end end, uint64_t bytes);
};

/* The producer's handle on a streamed answer; reference counted. */
struct req_waker;

/* Answer with status and a streamed body of content_type (ops and ctx are used until
 * ops->done has returned). *waker gets a reference for the producer (release it with
 * req_waker_release). Headers set with req_set_header are sent. */
void req_stream(struct req *r, int status, const char *content_type,
                const struct req_stream_ops *ops, void *ctx, struct req_waker **waker);
/* There is something new to read: a parked connection is woken. Never call it holding a
 * lock that ops->read takes. Thread-safe; a no-op once the stream is over. */
void req_waker_wake(struct req_waker *w);
/* True once the client is known to be gone or hogmock is stopping (then read will not be
 * called again, or only to be told to stop): checks a parked connection's socket for a
 * hang-up, so a silent stream notices a client that left. Same locking rule as wake. */
bool req_waker_gone(struct req_waker *w);
/* Drop the producer's reference; NULL is a no-op. */
void req_waker_release(struct req_waker *w);

/* True once the request has its answer. */
bool req_answered(const struct req *r);

/* ---- forwarded answers (proxy and record modes) ------------------------------------- */

/* The answer's X-Request-Id and the journal's request_id become id (the real host's, at
 * most 128 bytes; longer ones are not taken). Call before the answer. */
void req_set_request_id(struct req *r, const char *id);
/* A streamed answer of exactly len bytes: sent with Content-Length instead of chunked.
 * Call before req_stream; a body that ends short is cut, as with REQ_READ_ERROR. */
void req_stream_length(struct req *r, uint64_t len);
/* Set member name of the request's journal entry to value (taken over), replacing what
 * the server put there: at once when the entry exists, else when it is written. May be
 * called by the handler and, for a streamed answer, from ops->done. */
void req_journal_set(struct req *r, const char *name, cJSON *value);

#endif
