/* harness: hogmock started in-process on port 0 and driven over a real socket with libcurl,
 * and every answer checked against the spec. For the integration tests only. */
#ifndef HOG_HARNESS_H
#define HOG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "hogmock.h"

struct mock {
    struct hogmock *hm;
    char url[96];
};

/* Start hogmock with cfg (NULL: defaults, virtual clock, fixtures/auth/tokens.yaml, which
 * holds tok_alice -> pr_alice and tok_bob -> pr_bob). Fails the test when it cannot. */
struct mock *mock_start(const struct hogmock_config *cfg);
/* cmocka group setup/teardown: *state is a mock_start(NULL) for the group's tests. */
int mock_setup(void **state);
int mock_teardown(void **state);
/* The config mock_start(NULL) uses, to adjust and pass back. */
void mock_default_config(struct hogmock_config *cfg);
void mock_stop(struct mock *m);

struct resp {
    long status;
    struct buf body;
    struct buf headers;     /* raw "Name: value\r\n" lines */
    cJSON *json;            /* the body parsed when it is JSON, else NULL */
};

/* One request. target is a path with optional query ("/v1/hogboxes?limit=2"); token NULL
 * sends no Authorization; body NULL sends none; extra is a NULL-terminated list of raw
 * "Name: value" headers (or NULL). Fails the test on a transport error. */
void mock_call(struct mock *m, const char *method, const char *target, const char *token,
               const char *body, size_t len, const char *const *extra, struct resp *out);
/* mock_call with a JSON body text and Content-Type: application/json. */
void mock_json(struct mock *m, const char *method, const char *target, const char *token,
               const char *json, struct resp *out);
/* A response header's value (case-insensitive) in a per-thread slot that the eighth
 * call after this one reuses; NULL when absent. */
const char *resp_header(const struct resp *r, const char *name);
/* r->json's string member (or NULL). */
const char *resp_str(const struct resp *r, const char *key);
void resp_release(struct resp *r);

/* Check r against what the spec documents for operation op_id (status listed or default,
 * Content-Type, schema of the body, X-Request-Id present, problem+json for errors with
 * the code's catalogue title); fails the test with the reasons. Uses the bundled spec
 * (or the admin spec when op_id is one of its operations). */
void mock_check(struct mock *m, const char *op_id, const struct resp *r);

/* Check that r is a problem+json valid against the spec's Problem schema, with the
 * catalogue title of its code, matching status and request id, and code want_code. */
void mock_check_problem(const struct resp *r, const char *want_code);

/* How many times longer than usual a test should allow for something to happen: 1,
 * 4 under AddressSanitizer, 10 under valgrind (tests/run-unit sets HOG_VALGRIND=1 there).
 * Scales time limits only, never what a test asserts about timing it controls. */
int mock_slow(void);
/* Milliseconds since t0 (a CLOCK_MONOTONIC reading). */
long mock_ms_since(const struct timespec *t0);
/* Sleep ms milliseconds, resuming after signals. */
void mock_pause_ms(long ms);
/* The hogmock binary of this build (build[/san]/tests/integration/X ->
 * build[/san]/bin/hogmock) into out; false when it is not there. */
bool mock_binary(char *out, size_t size);

/* Create a box with default sizes for token's principal (checked like mock_expect);
 * its id, a new string (caller frees). */
char *mock_new_box(struct mock *m, const char *token);

/* mock_call + assert the status + mock_check in one step; returns r->json. */
cJSON *mock_expect(struct mock *m, const char *op_id, long status, const char *method,
                   const char *target, const char *token, const char *json, struct resp *r);

#endif
