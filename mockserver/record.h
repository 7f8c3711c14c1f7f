/* record: record mode's writer: each exchange forwarded to the real host saved as a fixture
 * (fixtures.h) that replay mode serves back. Credentials and secrets become fingerprints
 * on the way; nothing else is changed. Never writes a credential. */
#ifndef HOG_RECORD_H
#define HOG_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* Response bodies are recorded up to this size: an event stream is cut after its last
 * whole event within it, and any other body over it is not recorded. */
#define RECORD_BODY_MAX (1u << 20)

struct recorder;

/* One exchange; every pointer is borrowed for the call. */
struct record_input {
    const char *op;             /* operation name; an exchange without one is not recorded */
    const char *method, *path, *query;  /* path and raw query as received */
    const char *req_content_type;
    const char *req_body;       /* the request body, or NULL when it was not kept */
    size_t req_len;
    int status;
    const char *const *resp_headers; /* name, value, name, value, ..., NULL */
    const char *resp_body;      /* at most RECORD_BODY_MAX bytes of the response body */
    size_t resp_len;
    bool resp_cut;              /* the body was longer than resp_len */
};

/* A writer into dir, created when missing, of exchanges with source (a URL, named in
 * each fixture's description). *out is new (recorder_free); on failure a one-line message
 * is appended to err. */
enum rc recorder_new(const char *dir, const char *source, struct recorder **out,
                     struct buf *err);
void recorder_free(struct recorder *rec);
/* Save in as the next fixture, "NNNN-<op>" in the order of the calls (numbers go on
 * after those already in the directory). Failures are logged, never fatal. Thread-safe. */
void recorder_save(struct recorder *rec, const struct record_input *in);

#endif
