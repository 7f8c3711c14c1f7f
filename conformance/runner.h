/* runner: runs the selected scenarios against hogmock (or a real host behind hogmock in
 * proxy mode) through the adapter, N jobs at a time, and records one result each. */
#ifndef HOG_RUNNER_H
#define HOG_RUNNER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"
#include "scenario.h"

enum outcome { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_ERROR, OUTCOME_SKIP };

struct result {
    const struct scenario *sc;
    enum outcome outcome;
    bool ran;               /* false: not reached (interrupted run) */
    long long ms;
    struct buf message;     /* one line: why it failed, errored or was skipped */
    struct buf details;     /* more lines: expected vs got, wire verdicts */
    struct buf journal;     /* the journal excerpt of its principal, one line a request */
    cJSON *journal_json;    /* the same entries as hogmock gave them (or NULL) */
    cJSON *steps;           /* [{step, op|admin, args, ok, value|error, events, ms}] */
    struct buf transcript;  /* the adapter's NDJSON transcript */
    struct buf adapter_log; /* the adapter's stderr */
    struct buf mock_log;    /* the log of its own hogmock, when it had one */
    /* Set by the baseline: */
    bool known;             /* a failure the baseline expects */
    bool stale;             /* in the baseline, but passed */
    const char *baseline_reason;
};

struct run {
    /* Set by the caller. */
    bool real;              /* target real: hogmock in proxy mode before host */
    const char *adapter;    /* the adapter command (run by /bin/sh) */
    const char *hogmock;    /* the hogmock binary */
    unsigned hogmock_wait_s; /* how long a hogmock may take to start (0: 20 s) */
    const char *tokens;     /* fixtures/auth/tokens.yaml */
    const char *host;       /* real: the host's base URL */
    const char *token;      /* real: the credential */
    const char *token_file; /* real: or a file that holds it */
    unsigned jobs;
    unsigned long long seed;
    const volatile int *stop; /* turns true on Ctrl-C */
    /* Called (under a lock, one at a time) as each result is complete. */
    void (*on_result)(const struct result *r, void *ctx);
    void *ctx;
    char run_id[32];        /* given (--run-id), or made random by runner_run when empty */

    /* Set by runner_run. */
    char *mock_url;
    char *hogmock_log;      /* the whole log of hogmock, read at the end */
    char *workdir;
    char *issuer_args[2];   /* --issuer k8s=FILE, github=FILE: keys made for the run */
    cJSON *client;          /* the adapter's hello "client" */
    cJSON *features;        /* its features */
    bool runnable;
    char *not_runnable;     /* its hello's error when not runnable */
    bool interrupted;
    unsigned leftovers;     /* real: boxes labelled with the run id it had to destroy */
    char *sweep_error;      /* real: why such boxes may remain (NULL: none does) */
    long long ms;
};

/* Run the scenarios sel[0..n) into results[0..n) (zeroed by the caller; release each
 * with result_release). RC_OK when the run could be made, whatever the verdicts; an
 * infrastructure failure (hogmock does not start, the adapter cannot even greet) is
 * another rc with err set. */
enum rc runner_run(struct run *run, const struct scenario *const *sel, size_t n,
                   struct result *results, struct buf *err);
void runner_release(struct run *run);
void result_release(struct result *r);

const char *outcome_str(enum outcome o);

#endif
