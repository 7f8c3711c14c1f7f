/* exec: execHogbox, the batch exec of the emulated shell (or a scripted program) in a
 * box, with timeouts on hogmock's clock and the 1 MiB per-stream cap. The machinery
 * (exec_prepare, exec_run, exec_utf8) is shared with the streaming endpoint; it never
 * writes to a connection itself: output goes to the caller's sink. */
#ifndef HOG_EXEC_H
#define HOG_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "req.h"

struct hogmock;

/* One command ready to run: everything exec_run needs, copied out of the request so it
 * can outlive it (a streaming handler may run it on another thread). */
struct exec_job {
    struct hogmock *hm;
    char *box_id;
    char **argv;            /* argc strings, then NULL */
    size_t argc;
    char **env;             /* the request's env as "NAME=value", nenv of them, then NULL */
    size_t nenv;
    char *workdir;          /* normalised, an existing directory of the box */
    uint64_t timeout_ms;
};

/* Where a running command's output goes. Callbacks return 0 to go on and non-zero to
 * stop the command (the client went away); it then ends as if killed (exit 137 unless
 * it had already timed out). */
struct exec_sink {
    /* fd 1 (stdout) or 2 (stderr): bytes as the command wrote them, not yet UTF-8
     * checked (see exec_utf8); data is borrowed for the call. */
    int (*output)(void *ctx, int fd, const char *data, size_t len);
    /* While the command sleeps, with its elapsed time so far (keepalives, noticing a
     * client that went away): on a real clock at least every EXEC_TICK_MS of real time,
     * on a virtual one once at the end of each sleep. Not called for the sleep the
     * timeout ends. May be NULL. */
    int (*tick)(void *ctx, uint64_t elapsed_ms);
    void *ctx;
};

#define EXEC_TICK_MS 100

struct exec_result {
    int exit_code;          /* 124 when timed out */
    bool timed_out;
    bool stopped;           /* a sink callback asked to stop */
    uint64_t duration_ms;   /* wall time on a real clock; the simulated time on a virtual one */
};

/* Check an execHogbox/execHogboxStream request (r->json is valid ExecRequest) and fill
 * job (exec_job_release): the box is the principal's (else 404 hogbox_not_found) and
 * running (else 409 invalid_state), timeout_seconds is within the limits and workdir is
 * an existing directory of the box (else 422 validation_failed). On failure r has its
 * answer and false is returned (job is then empty). */
bool exec_prepare(struct req *r, struct exec_job *job);
void exec_job_release(struct exec_job *job);

/* Run job to its end: a scripted program when one matches argv (hm->programs), else the
 * emulated shell. Sleeps really wait on a real clock (in slices of EXEC_TICK_MS) and not
 * at all on a virtual one; past the timeout the command stops with exit 124. Blocking;
 * thread-safe; sink callbacks run on the calling thread. */
void exec_run(const struct exec_job *job, const struct exec_sink *sink, struct exec_result *res);

/* An incremental bytes -> UTF-8 converter: each maximal invalid subsequence becomes
 * U+FFFD (as the WHATWG decoder does), and a sequence cut by a chunk boundary is held
 * back until the next chunk. Caller-allocated; zero-initialise (or EXEC_UTF8_INIT). */
struct exec_utf8 {
    unsigned char pend[4];
    size_t npend;
};

#define EXEC_UTF8_INIT { { 0 }, 0 }

/* Append the valid UTF-8 form of len bytes (data may be NULL when len is 0) to out; an
 * incomplete sequence at the end is held back for the next call unless final (the stream
 * ends here), which turns it into U+FFFD. */
void exec_utf8_feed(struct exec_utf8 *u, const void *data, size_t len, bool final,
                    struct buf *out);
/* exec_utf8_feed without a copy when none is needed: the valid UTF-8 form of len bytes,
 * *n bytes at the returned pointer, which is data itself when the bytes need no repair
 * and scratch's contents (reset first) otherwise; valid until data or scratch changes. */
const char *exec_utf8_view(struct exec_utf8 *u, const void *data, size_t len, bool final,
                           struct buf *scratch, size_t *n);
/* Forget a held-back incomplete sequence: for a stream that was cut (the output cap),
 * whose last character is dropped rather than replaced. */
void exec_utf8_drop_tail(struct exec_utf8 *u);

#endif
