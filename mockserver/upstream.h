/* upstream: proxy and record modes: each hogplane request forwarded to the real host with
 * libcurl, both bodies streamed, every answer checked against the spec. Never
 * authenticates, never logs a credential: Authorization goes through untouched. */
#ifndef HOG_UPSTREAM_H
#define HOG_UPSTREAM_H

#include <stddef.h>

#include "buf.h"
#include "rc.h"
#include "req.h"

struct hogmock;
struct upstream;
struct upstream_call;

/* The server's side of one forwarded request. Each hook is called with the call's lock
 * held and never after upstream_call_release. */
struct upstream_hooks {
    void *ctx;
    /* Stop reading the request body (only ever from inside upstream_feed). */
    void (*pause_intake)(void *ctx);
    /* Go on reading it (from the transfer's thread, after pause_intake). */
    void (*resume_intake)(void *ctx);
    /* The answer is set on the request: send it (from the transfer's thread, only after
     * upstream_end, while the server waits for it). */
    void (*answered)(void *ctx);
};

/* The proxy of hm, whose config names the upstream URL (http or https) and, in record
 * mode, the fixtures directory. *out is new (upstream_free); on failure a one-line
 * message is appended to err. */
enum rc upstream_new(struct hogmock *hm, struct upstream **out, struct buf *err);
/* Free u once no call is left; NULL is a no-op. */
void upstream_free(struct upstream *u);

/* Start forwarding r, whose headers are in: the transfer runs on a thread of its own and
 * the body follows through upstream_feed and upstream_end. The call is new (release it
 * with upstream_call_release); NULL when r was answered at once (no thread to spare). */
struct upstream_call *upstream_begin(struct upstream *u, struct req *r,
                                     const struct upstream_hooks *hooks);
/* The next len bytes of the request body, as they arrive. */
void upstream_feed(struct upstream_call *c, const char *data, size_t len);
/* The request body is complete (r->body holds it when the server kept it): from now on
 * the answer may come, through the answered hook. */
void upstream_end(struct upstream_call *c);
/* The server is done with the request (the client may have left before its answer): the
 * transfer stops if it still runs for nothing. NULL is a no-op. */
void upstream_call_release(struct upstream_call *c);

#endif
