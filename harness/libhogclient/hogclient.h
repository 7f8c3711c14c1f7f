/* hogclient: the reference C client of the hogplane REST API, over libcurl: every
 * operation of openapi/hogplane.yaml, errors typed after the kit's canonical mapping,
 * retries only where a retry cannot do the work twice, the exec stream delivered event by
 * event as it arrives, files as raw bytes. Never logs, prints or stores a credential.
 *
 * Conventions of every operation below:
 * - c is used by one thread at a time (like a CURL easy handle); clients share nothing,
 *   so a thread per client is safe.
 * - err (caller-allocated, hog_error_init'ed) is released and refilled at the start of
 *   each operation; on RC_OK it is left empty (type HOG_ERR_NONE).
 * - The return value is RC_OK; RC_ERR when hogplane answered an error or the transport
 *   failed (err says which, per the canonical mapping); RC_INVALID when the arguments were
 *   refused before anything was sent (err: HOG_ERR_VALIDATION, status 0); RC_STOPPED when
 *   a callback of the caller asked to stop.
 * - A cJSON **out receives a new object (caller frees with cJSON_Delete) on RC_OK and
 *   NULL otherwise. Strings and structs passed in are borrowed for the call only, unless
 *   a function says otherwise. */
#ifndef HOG_HOGCLIENT_H
#define HOG_HOGCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

#define HOG_CLIENT_NAME "libhogclient"
#define HOG_CLIENT_VERSION "0.1.0"

/* ---- errors --------------------------------------------------------------------- */

/* The canonical client error mapping (DESIGN.md); values never renumbered. */
enum hog_error_type {
    HOG_ERR_NONE = 0,
    HOG_ERR_VALIDATION = 1,         /* 400, 413, 422; or arguments refused before sending */
    HOG_ERR_AUTHENTICATION = 2,     /* 401; or a token file that cannot be read */
    HOG_ERR_PERMISSION_DENIED = 3,  /* 403 */
    HOG_ERR_NOT_FOUND = 4,          /* 404 */
    HOG_ERR_CONFLICT = 5,           /* 409 */
    HOG_ERR_RATE_LIMIT = 6,         /* 429, with retry_after when given */
    HOG_ERR_SERVER = 7,             /* >= 500 */
    HOG_ERR_API = 8,                /* any other non-2xx */
    HOG_ERR_CONNECTION = 9,         /* refused, reset, truncated, malformed body, stream cut */
    HOG_ERR_TIMEOUT = 10,           /* a client-side deadline or timeout passed */
};

struct hog_error {
    enum hog_error_type type;
    long status;        /* HTTP status of the answer that decided; 0 when none came */
    cJSON *body;        /* that answer's body: JSON as parsed (the problem+json), other
                         * text as a JSON string (at most 64 KiB), NULL when empty; owned */
    long retry_after;   /* seconds from Retry-After (delay-seconds or HTTP-date); -1: absent */
    char *request_id;   /* its X-Request-Id, or NULL; owned */
    char *message;      /* one line for people; non-NULL whenever type is set; owned */
    unsigned attempts;  /* requests the operation sent, retries included (for a request
                         * that may be retried, libcurl may add one resend of its own when
                         * a reused connection died before any byte of answer) */
};

/* Set up an empty error; allocates nothing. */
void hog_error_init(struct hog_error *e);
/* Free the contents; e is left empty and reusable. */
void hog_error_release(struct hog_error *e);
/* "ValidationError", "NotFoundError", ... as the adapter protocol names them; "" for
 * HOG_ERR_NONE. Static, never NULL. */
const char *hog_error_type_name(enum hog_error_type type);
/* "HOG_ERR_NOT_FOUND": the C name, for the protocol's native_type. Static, never NULL. */
const char *hog_error_type_cname(enum hog_error_type type);
/* The type the canonical mapping gives an HTTP error status (HOG_ERR_NONE below 300). */
enum hog_error_type hog_error_type_for_status(long status);
/* The problem body's "code" ("hogbox_not_found"), borrowed from e, or NULL. */
const char *hog_error_code(const struct hog_error *e);

/* ---- the client ----------------------------------------------------------------- */

/* Wait ms milliseconds between two attempts. Tests against a virtual clock pass one that
 * moves the clock instead. */
typedef void hog_sleep_fn(long ms, void *ctx);

struct hog_client_options {
    const char *host;           /* base URL, "http://127.0.0.1:8080"; a path prefix is kept */
    const char *token;          /* the bearer credential ... */
    const char *token_file;     /* ... or a file holding it, read again for every request
                                 * (a rotated Kubernetes token is picked up); wins over token */
    long timeout_ms;            /* one JSON request, connect to last byte; exec adds its
                                 * timeout_seconds; file transfers: longest time without progress */
    long connect_timeout_ms;
    long stream_idle_ms;        /* an exec stream silent this long (keepalives count as
                                 * traffic) is given up with HOG_ERR_TIMEOUT */
    long deadline_ms;           /* each whole operation, retries and waits included; 0: none */
    unsigned max_attempts;      /* requests per operation, the first included; 1: no retry */
    long backoff_base_ms;       /* the first retry waits about this (jittered), */
    long backoff_cap_ms;        /* doubling per retry up to this */
    long retry_after_cap_ms;    /* a longer Retry-After is not waited for: the error returns */
    hog_sleep_fn *sleep;        /* NULL: nanosleep */
    void *sleep_ctx;
    uint64_t jitter_seed;       /* 0: seeded from the clock and the process */
};

/* The defaults: no host or token, timeout 60 s, connect 10 s, stream idle 60 s, no
 * deadline, 4 attempts, backoff 200 ms doubling to 5 s, Retry-After up to 60 s. */
void hog_client_options_init(struct hog_client_options *o);

struct hog_client;

/* A new client holding copies of o's strings (caller frees with hog_client_free). On
 * RC_INVALID (no host, not http:// or https://, neither token nor token_file) *out is
 * NULL and one line is appended to why (may be NULL). */
enum rc hog_client_new(const struct hog_client_options *o, struct hog_client **out,
                       struct buf *why);
/* Free c; NULL is a no-op. */
void hog_client_free(struct hog_client *c);
/* Give each later operation at most ms, retries and waits included (0: no deadline);
 * past it the operation ends with HOG_ERR_TIMEOUT. */
void hog_client_set_deadline(struct hog_client *c, long ms);
/* The base URL without a trailing '/', borrowed until hog_client_free. */
const char *hog_client_host(const struct hog_client *c);

/* ---- principal ------------------------------------------------------------------ */

/* GET /v1/me: {principal_id, auth_path, subject, display_name, attributes}. */
enum rc hog_me(struct hog_client *c, cJSON **out, struct hog_error *err);
/* GET /v1/limits. */
enum rc hog_limits(struct hog_client *c, cJSON **out, struct hog_error *err);

/* ---- hogboxes ------------------------------------------------------------------- */

/* An optional number of a request: sent when given, whatever its value (0 and negative
 * numbers too: the server judges them), left out otherwise (the server's default). A
 * zeroed one is not given, so a zeroed struct below asks for every default. */
struct hog_int {
    bool given;
    int value;
};

/* A given number, for initializers and assignments: spec.cpus = HOG_INT(2). */
#define HOG_INT(v) ((struct hog_int){ true, (v) })
/* Not given: the server's default. */
#define HOG_INT_DEFAULT ((struct hog_int){ false, 0 })

/* createHogbox's body; numbers not given and NULL members are left out (the server's
 * defaults). */
struct hog_box_spec {
    struct hog_int cpus, memory_mib, disk_gib;
    const char *snapshot_id;
    const char *ssh_public_key;
    const char *access_type;        /* "none" or "ssh-public" */
    const char *const *labels;      /* NULL-terminated "key=value" strings, or NULL */
    const char *idempotency_key;    /* NULL: a new random one; kept across retries */
};

/* POST /v1/hogboxes (spec NULL: all defaults): the new Hogbox, maybe still "creating". */
enum rc hog_box_create(struct hog_client *c, const struct hog_box_spec *spec, cJSON **out,
                       struct hog_error *err);
enum rc hog_box_get(struct hog_client *c, const char *box, cJSON **out, struct hog_error *err);
/* DELETE /v1/hogboxes/{box}. A 404 to a retried delete counts as done (the first attempt
 * must have destroyed it). */
enum rc hog_box_destroy(struct hog_client *c, const char *box, struct hog_error *err);
/* POST .../pause and .../resume: the Hogbox after the change. */
enum rc hog_box_pause(struct hog_client *c, const char *box, cJSON **out, struct hog_error *err);
enum rc hog_box_resume(struct hog_client *c, const char *box, cJSON **out, struct hog_error *err);
/* POST .../snapshot (idempotency_key NULL: a new random one): the SnapshotRecord. */
enum rc hog_box_snapshot(struct hog_client *c, const char *box, const char *idempotency_key,
                         cJSON **out, struct hog_error *err);

/* listHogboxes' query; a limit not given and NULL members are left out. */
struct hog_list_opts {
    struct hog_int limit;
    const char *cursor;
    const char *state;
    const char *const *labels;      /* NULL-terminated "key=value" strings, every one must match */
};

/* One page, {items, next_cursor}; opts NULL: the first page with the server's limit. */
enum rc hog_box_list(struct hog_client *c, const struct hog_list_opts *opts, cJSON **out,
                     struct hog_error *err);

/* ---- snapshots ------------------------------------------------------------------ */

/* One page of snapshots (limit HOG_INT_DEFAULT: the server's, cursor NULL: the first
 * page). */
enum rc hog_snapshot_list(struct hog_client *c, struct hog_int limit, const char *cursor,
                          cJSON **out, struct hog_error *err);
enum rc hog_snapshot_get(struct hog_client *c, const char *id, cJSON **out,
                         struct hog_error *err);
/* DELETE /v1/snapshots/{id}; a 404 to a retried delete counts as done. */
enum rc hog_snapshot_delete(struct hog_client *c, const char *id, struct hog_error *err);

/* ---- every item of a list, page after page ---------------------------------------- */

/* Caller-allocated; members are private. */
struct hog_iter {
    struct hog_client *c;
    bool snapshots;
    struct hog_list_opts opts;
    char *cursor;
    cJSON *page;
    int index;
    bool done;
    unsigned pages;
};

/* Iterate over every hogbox matching opts (NULL: all); c and opts, with its strings, are
 * borrowed until hog_iter_release. Allocates nothing yet. */
void hog_iter_boxes(struct hog_iter *it, struct hog_client *c, const struct hog_list_opts *opts);
/* Iterate over every snapshot, limit per page (HOG_INT_DEFAULT: the server's). */
void hog_iter_snapshots(struct hog_iter *it, struct hog_client *c, struct hog_int limit);
/* The next item: RC_OK with *item borrowed until the next call or the release; RC_NOT_FOUND
 * after the last one; RC_ERR with err when a page failed (calling again retries that page). */
enum rc hog_iter_next(struct hog_iter *it, const cJSON **item, struct hog_error *err);
/* Pages fetched so far. */
unsigned hog_iter_pages(const struct hog_iter *it);
/* Free what it holds; releasing twice is harmless. */
void hog_iter_release(struct hog_iter *it);

/* ---- exec ----------------------------------------------------------------------- */

struct hog_exec_req {
    const char *const *argv;        /* NULL-terminated, at least one word */
    struct hog_int timeout_seconds; /* not given: the server's default */
    const char *const *env;         /* NULL-terminated "NAME=VALUE" strings, or NULL */
    const char *workdir;            /* NULL: the server's (/root) */
};

/* The ExecResult of a batch exec. A command's output may hold NUL bytes, which the
 * answer sends as \u0000 and a C string cannot hold: stdout and stderr are kept as bytes
 * with their length, decoded by the client from the answer's JSON strings. */
struct hog_exec_result {
    cJSON *json;                /* the answer as parsed: exit_code, stdout_truncated,
                                 * timed_out, duration_ms ...; its "stdout" and "stderr"
                                 * strings end at the first NUL: read the bytes below; owned */
    struct buf stdout_data;     /* stdout, exactly: stdout_data.len bytes, NUL included */
    struct buf stderr_data;     /* stderr, likewise */
};

/* Set up an empty result; allocates nothing. */
void hog_exec_result_init(struct hog_exec_result *r);
/* Free the contents; r is left empty and reusable. */
void hog_exec_result_release(struct hog_exec_result *r);

/* POST .../exec: the ExecResult in out (caller-allocated, hog_exec_result_init'ed;
 * released and refilled, left empty on failure; may be NULL); a non-zero exit is RC_OK. An answer
 * whose stdout or stderr is not a JSON string is HOG_ERR_CONNECTION (not what the
 * operation returns). Never retried once sent (exec is not idempotent). */
enum rc hog_box_exec(struct hog_client *c, const char *box, const struct hog_exec_req *req,
                     struct hog_exec_result *out, struct hog_error *err);

enum hog_event_kind {
    HOG_EVENT_STDOUT = 1,
    HOG_EVENT_STDERR = 2,
    HOG_EVENT_EXIT = 3,
};

/* One event of an exec stream; pointers are borrowed during the callback only. */
struct hog_exec_event {
    enum hog_event_kind kind;
    const char *data;       /* stdout/stderr: the chunk, UTF-8, len bytes (may hold NUL) */
    size_t len;
    int exit_code;          /* exit: the status, and whether the command timed out */
    bool timed_out;
    const char *id;         /* the SSE event id ("1", "2", ...) */
};

/* Called for each event as it arrives, the exit event last; non-zero stops the stream
 * (the operation then returns RC_STOPPED). */
typedef int hog_event_fn(const struct hog_exec_event *ev, void *ctx);

struct hog_exec_exit {
    int exit_code;
    bool timed_out;
    unsigned events;        /* events delivered, the exit event included */
};

/* POST .../exec/stream (Accept: text/event-stream): on_event (may be NULL) gets every
 * stdout, stderr and exit event while the command runs; comments, unknown events and an
 * event sent twice (an id not past the last, with the same bytes) are skipped. RC_OK
 * with *exit (may be NULL) once the exit event came; a stream that ends before it is
 * HOG_ERR_CONNECTION, with the events delivered so far left delivered. Sent once: never
 * retried after it may have reached the server. */
enum rc hog_box_exec_stream(struct hog_client *c, const char *box,
                            const struct hog_exec_req *req, hog_event_fn *on_event,
                            void *ctx, struct hog_exec_exit *exit, struct hog_error *err);

/* ---- files ---------------------------------------------------------------------- */

struct hog_file_opts {
    const char *mode;       /* octal permission bits, "0755"; NULL: the server's (0644) */
    bool mkdir;             /* create missing parent directories */
};

/* Fill up to n bytes at dst; return how many (0 at the end) or -1 to abandon the upload
 * (the operation returns RC_STOPPED). */
typedef ssize_t hog_read_fn(void *dst, size_t n, void *ctx);
/* Take n bytes of a download; non-zero stops it (the operation returns RC_STOPPED). */
typedef int hog_sink_fn(const void *data, size_t n, void *ctx);

/* PUT .../files?path (application/octet-stream) with len bytes of data, streamed from
 * memory: the FileWritten {path, size, mode, sha256}. opts may be NULL. */
enum rc hog_file_write(struct hog_client *c, const char *box, const char *path,
                       const struct hog_file_opts *opts, const void *data, size_t len,
                       cJSON **out, struct hog_error *err);
/* As hog_file_write with the bytes from read: size of them when known (sent with
 * Content-Length), -1 when not (sent chunked). Retried only while read was not called. */
enum rc hog_file_write_cb(struct hog_client *c, const char *box, const char *path,
                          const struct hog_file_opts *opts, hog_read_fn *read, void *ctx,
                          int64_t size, cJSON **out, struct hog_error *err);
/* GET .../files?path (Accept: application/octet-stream): the bytes appended to out (left
 * as it was on failure). */
enum rc hog_file_read(struct hog_client *c, const char *box, const char *path,
                      struct buf *out, struct hog_error *err);
/* As hog_file_read with the bytes handed to sink as they arrive; retried only while sink
 * got nothing. */
enum rc hog_file_read_cb(struct hog_client *c, const char *box, const char *path,
                         hog_sink_fn *sink, void *ctx, struct hog_error *err);

/* ---- the proxy into a hogbox ------------------------------------------------------ */

/* Append to url the URL that reaches path (NULL or "": "/") of the service on port of box
 * through hogplane's proxy. path keeps its '/' and %XX escapes; other bytes outside a URL
 * path are escaped. RC_INVALID (url unchanged) for a NULL box or a port outside 1..65535.
 * The URL needs the client's credential: send it with hog_proxy_request, never put the
 * credential in the URL. */
enum rc hog_proxy_url(const struct hog_client *c, const char *box, int port, const char *path,
                      struct buf *url);

struct hog_proxy_req {
    const char *method;             /* NULL: GET */
    int port;
    const char *path;               /* as for hog_proxy_url */
    const char *query;              /* without '?', sent as is; NULL: none */
    const char *const *headers;     /* NULL-terminated "Name: value" lines, or NULL */
    const void *body;               /* body_len bytes; NULL: no body */
    size_t body_len;
};

struct hog_proxy_resp {
    long status;
    cJSON *headers;         /* {"lowercased-name": "value"}, repeats joined with ", "; owned */
    struct buf body;
};

void hog_proxy_resp_init(struct hog_proxy_resp *r);
void hog_proxy_resp_release(struct hog_proxy_resp *r);

/* Send req to the service with the client's credential (hogplane strips it before the
 * service). The service's answer, whatever its status, is RC_OK in *out (released and
 * refilled); hogplane's own errors (a problem+json whose request_id is the answer's
 * X-Request-Id: 404 hogbox_not_found, 409, 502 upstream_unavailable ...) are RC_ERR.
 * Retried only for GET, HEAD, OPTIONS and DELETE. */
enum rc hog_proxy_request(struct hog_client *c, const char *box, const struct hog_proxy_req *req,
                          struct hog_proxy_resp *out, struct hog_error *err);

#endif
