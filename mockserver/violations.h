/* violations: what the real host's answers got wrong (proxy and record modes), one item per
 * answer, in a bounded ring for GET /__hogmock/violations. Thread-safe; keeps no
 * credential: tokens in a path are kept as fingerprints. */
#ifndef HOG_VIOLATIONS_H
#define HOG_VIOLATIONS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct violations;

/* One answer that broke the spec; every pointer is borrowed for the call. */
struct violations_input {
    uint64_t time_ms;           /* when the request arrived (hogmock's clock) */
    const char *request_id;
    const char *method, *path;
    const char *op;             /* NULL when no operation matched the request */
    int status;
    const cJSON *list;          /* array of {kind, pointer, detail}, not empty */
};

/* A new ring of at most max answers (0: 10000); violations_free. */
struct violations *violations_new(size_t max);
void violations_free(struct violations *v);
/* Keep one answer's violations (copied); the oldest answer goes when the ring is full. */
void violations_add(struct violations *v, const struct violations_input *in);
/* Answers matching filter {op, request_id, since (seq, exclusive), limit (default 100,
 * 1..1000)}, any of which may be absent (filter may be NULL), oldest first, as a new
 * array (caller cJSON_Delete) of {seq, time, request_id, method, path, op, status,
 * violations}; *total (may be NULL) gets how many match without the limit. */
cJSON *violations_query(struct violations *v, const cJSON *filter, size_t *total);
/* Forget every answer (seq keeps counting); how many there were. */
size_t violations_clear(struct violations *v);

#endif
