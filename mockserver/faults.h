/* faults: fault plans (which requests fail, and how) from the admin API or a file, and the
 * pick for each request. Thread-safe; it only decides: the server carries faults out. */
#ifndef HOG_FAULTS_H
#define HOG_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct faults;

enum fault_phase {
    FAULT_BEFORE,               /* instead of the operation: it does not happen */
    FAULT_AFTER_COMMIT,         /* the operation runs and commits; its answer is faulted */
};

enum fault_kind {
    FAULT_STATUS,               /* a status with a problem+json or a raw body */
    FAULT_DELAY,                /* wait, then answer as usual */
    FAULT_RESET,                /* TCP reset before any byte */
    FAULT_EMPTY,                /* close before any byte */
    FAULT_GARBAGE,              /* random bytes that are not HTTP, then close */
    FAULT_TRUNCATE,             /* the headers and part of the body, then close */
    FAULT_DRIP,                 /* the body a few bytes at a time */
    FAULT_STALL,                /* no answer for a while, then close */
    FAULT_MALFORMED_JSON,       /* a JSON body that does not parse */
    FAULT_RATE_LIMIT,           /* 429 rate_limited once a principal is over its quota */
    /* on an event stream, once after_event events went out */
    FAULT_SSE_DROP,             /* TCP reset */
    FAULT_SSE_CLOSE,            /* a clean end without the exit event */
    FAULT_SSE_STALL,            /* silence for max_ms, then the connection is cut */
    FAULT_SSE_GARBAGE_LINE,     /* a line that is no SSE field, then the stream goes on */
    FAULT_SSE_CUT_MID_LINE,     /* the next event cut in the middle of its data line */
    FAULT_SSE_DUPLICATE_EVENT,  /* event after_event sent twice */
    FAULT_SSE_UNKNOWN_EVENT_KIND, /* an event of a kind the spec does not define */
    FAULT_SSE_NO_EXIT,          /* all the output, then a clean end without the exit event */
};

struct fault_header {
    char *name, *value;
};

/* One fault to carry out on one request: the picked plan's action with every random
 * choice made, self-contained (it outlives a delete of its plan). */
struct fault {
    char label[48];             /* "flt_3:status": plan and action, for the journal */
    enum fault_kind kind;
    enum fault_phase phase;
    int status;                 /* status, malformed_json, rate_limit */
    char *code, *detail;        /* the problem's (status without body, rate_limit) */
    char *body;                 /* status: a raw body instead of a problem; NULL: none */
    size_t body_len;
    char *content_type;         /* with body */
    struct fault_header *headers; /* extra response headers (Retry-After, RateLimit-*) */
    size_t nheaders;
    uint64_t ms;                /* delay (drawn), stall and sse_stall bound, drip interval */
    bool in_body;               /* delay: between body chunks, not before the headers */
    uint64_t bytes;             /* truncate (unless fraction >= 0), garbage, drip chunk */
    double fraction;            /* truncate: share of the body sent; < 0 when bytes counts */
    uint64_t after_event;       /* sse_*: events that go out before the fault */
    uint64_t seed;              /* for the random bytes of garbage and sse_garbage_line */
};

/* Free a fault and what it holds; NULL is a no-op. */
void fault_free(struct fault *f);
/* True for the kinds that act on an event stream (sse_*). */
bool fault_is_sse(enum fault_kind kind);
/* n random bytes from seed into out: never an HTTP status line's start; with line, never
 * CR or LF either (one SSE line). The same seed gives the same bytes. */
void fault_garbage(uint64_t seed, char *out, size_t n, bool line);

/* A request as plans see it; every pointer is borrowed for the call. */
struct fault_request {
    const char *op;             /* operation name (x-hog-operation or operationId) */
    const char *operation_id;
    const char *method;
    const char *path;           /* as received, percent-encoding kept */
    const char *principal;      /* principal id, NULL when none */
    /* a request header (any case) or NULL */
    const char *(*header)(void *ctx, const char *name);
    void *ctx;
    bool streams;               /* the operation answers with an event stream */
    uint64_t now_ms;            /* hogmock's clock, for rate-limit windows */
};

/* New, with no plan; salt seeds the plans that give no seed (faults_free). */
struct faults *faults_new(uint64_t salt);
void faults_free(struct faults *fs);

/* Add a plan from its JSON definition (the format: README.md "Fault plans" and the
 * FaultPlanRequest schema of openapi/hogmock-admin.yaml). *plan (may be NULL) gets the plan
 * as stored, a new object (cJSON_Delete). RC_INVALID with "/pointer: what is wrong"
 * appended to err on a bad definition; nothing is added then. */
enum rc faults_add(struct faults *fs, const cJSON *def, cJSON **plan, struct buf *err);
/* Add every plan of a YAML or JSON file holding a list of them. On failure a one-line
 * message naming the file and the JSON pointer at fault is appended to err. */
enum rc faults_load(struct faults *fs, const char *path, struct buf *err);
/* Every plan, oldest first, with its counters, as a new array (cJSON_Delete). */
cJSON *faults_list(struct faults *fs);
/* Remove the plan id; RC_NOT_FOUND when there is none. */
enum rc faults_delete(struct faults *fs, const char *id);
void faults_clear(struct faults *fs);

/* True when no plan exists: the one check requests pay while faults are unused. */
bool faults_none(struct faults *fs);
/* The fault for this request, or NULL. Every plan whose match fits counts the call; the
 * oldest one that fires (nth, times, probability, quota) gives the fault, a new one
 * (fault_free), and counts a hit. */
struct fault *faults_pick(struct faults *fs, const struct fault_request *req);

#endif
