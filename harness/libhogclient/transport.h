/* transport: one hogplane operation over libcurl: its attempts, which failures may be
 * retried and how long to wait, the deadline, the credential read for each request, and
 * the typed error an answer maps to. Internal to libhogclient; knows no operation and
 * never retries what could do the work twice. */
#ifndef HOG_TRANSPORT_H
#define HOG_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "hogclient.h"
#include "rc.h"

struct hog_client {
    struct hog_client_options o;    /* the strings below, not the caller's */
    char *host, *token, *token_file;
    long deadline_ms;
    uint64_t rng;
    CURL *curl;                     /* kept for its connection cache */
};

/* One operation's request and, after xfer_run, its answer. Zero it, then set the
 * request members. */
struct xfer {
    const char *method;
    const char *url;
    const char *accept;             /* NULL: no Accept */
    const char *content_type;       /* NULL: none (also none of curl's own) */
    const char *idempotency_key;    /* NULL: none */
    const char *const *headers;     /* extra "Name: value" lines, or NULL */
    const void *upload;             /* the request body, upload_len bytes, or NULL */
    size_t upload_len;
    hog_read_fn *read;              /* or the body from here, read_size bytes (-1: unknown) */
    void *read_ctx;
    int64_t read_size;
    bool idempotent;                /* the request may be sent again after a failure */
    bool proxy;                     /* any answer but hogplane's own errors is a success */
    bool want_json;                 /* a 2xx body other than 204's must be a JSON object */
    long timeout_ms;                /* one attempt, in all; 0: none */
    long idle_ms;                   /* one attempt, without a byte either way; 0: none */
    hog_sink_fn *sink;              /* a 2xx body goes here as it arrives; NULL: to body */
    void *sink_ctx;

    /* the answer */
    long status;
    struct buf head;                /* the last answer's header lines */
    struct buf body;                /* its body (error bodies: the first 1 MiB) */
    cJSON *json;                    /* want_json: the parsed body; owned, xfer_release frees */
    bool maybe_done;                /* an earlier attempt may have reached the service */

    /* private */
    bool delivered, stopped, read_called, deadline_bound;
    int64_t read_off;
    struct hog_client *c;
};

/* Run x: RC_OK with the answer in x; RC_ERR with err filled; RC_STOPPED when the sink or
 * the read callback stopped it. err is released first. */
enum rc xfer_run(struct hog_client *c, struct xfer *x, struct hog_error *err);
/* Free the answer's buffers and json. */
void xfer_release(struct xfer *x);
/* A header of x's answer (case-insensitive name) appended to out; false when absent. */
bool xfer_header(const struct xfer *x, const char *name, struct buf *out);

/* Fill err from scratch: type, message from fmt, everything else empty. */
void hog_error_set(struct hog_error *err, enum hog_error_type type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Seconds of a Retry-After value (delay-seconds, or an HTTP-date relative to now), or -1
 * when it is neither. */
long hog_parse_retry_after(const char *value, time_t now);
/* A random RFC 4122 version 4 UUID into out (37 bytes). */
void hog_uuid4(char out[37]);

#endif
