/* journal: every request hogmock answered, in a bounded in-memory ring, queryable.
 * Never holds a secret: credential headers are reduced to fingerprints on the way in. */
#ifndef HOG_JOURNAL_H
#define HOG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

struct journal;

/* What the server knows of one finished request; every pointer is borrowed for the call. */
struct journal_input {
    uint64_t time_ms;           /* when it arrived (hogmock's clock) */
    struct timespec arrival;    /* when it arrived (CLOCK_MONOTONIC); zero: now */
    const char *request_id;
    const char *method, *path, *query;
    const char *op;             /* operation name, NULL when unrouted */
    const char *principal_id;   /* NULL when unauthenticated */
    const char *auth_path;
    const char *auth_issuer;    /* the JWT's issuer (accepted or refused), NULL when none */
    const char *auth_subject;   /* who the credential names: a sub, a token's fingerprint */
    const char *auth_error;     /* the problem code of a refused credential, else NULL */
    const char *const *headers; /* name, value, name, value, ..., NULL */
    const char *body;           /* request body, NULL when none */
    size_t body_len;
    const char *body_sha256;    /* its SHA-256 in hex when already taken, else NULL */
    const char *content_type;
    int status;
    uint64_t response_bytes;
    uint64_t duration_us;
    const char *fault;          /* NULL: none applied */
    const char *note;           /* NULL, or what else happened ("client went away") */
};

/* A new ring of at most max entries (journal_free). */
struct journal *journal_new(size_t max);
void journal_free(struct journal *j);
/* Record one request (copied, redacted); returns its seq. Thread-safe, never blocks on I/O. */
uint64_t journal_append(struct journal *j, const struct journal_input *in);
/* Set (or replace) each member of the object members in entry seq, after the fact: a
 * stream's outcome, known only when it ends. False when seq has left the ring. */
bool journal_update(struct journal *j, uint64_t seq, const cJSON *members);
/* Forget everything (seq keeps counting). */
void journal_clear(struct journal *j);

/* Entries matching filter {op, principal, status, method (any case), path (exact, or a glob
 * when it has * ? [, where * also crosses '/'), request_id, since (seq, exclusive), limit
 * (default 100, 1..1000)}, any of which may be absent (filter may be NULL), oldest first,
 * at most limit of them, as a new JSON array (caller cJSON_Delete); *total (may be NULL)
 * gets how many match without the limit. An entry is
 * {seq, time, time_ms, mono_ms (the arrival in real milliseconds since journal_new,
 *  to the microsecond), request_id, method, path, query, op, principal_id, auth_path,
 *  auth_issuer, auth_subject, auth_error, headers: {lowercase name: value}, body: null | {size, sha256, content_type, json?},
 *  status, response_bytes, duration_ms, fault, note, stream (null, or what a streamed
 *  answer sent: see journal_update)}, with credentials (credential headers,
 * tok_... and JWTs anywhere in path, query, headers and JSON body) replaced by fingerprints. */
cJSON *journal_query(struct journal *j, const cJSON *filter, size_t *total);
/* How many entries match filter (its limit ignored). */
size_t journal_count(struct journal *j, const cJSON *filter);
/* Every entry matching filter (its limit ignored), as journal_query gives them. */
cJSON *journal_select(struct journal *j, const cJSON *filter);

/* Milliseconds since journal_new: hogmock's uptime, as the journal lives as long as it. */
uint64_t journal_age_ms(const struct journal *j);

#endif
