/* faultwire: how a picked fault reaches the socket (server.c only): connections parked on one
 * timer thread, TCP resets, raw bytes, answers cut short or trickled. Never picks a fault. */
#ifndef HOG_FAULTWIRE_H
#define HOG_FAULTWIRE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Response;
struct fault;
struct faultwire;

/* New, its timer thread running (faultwire_free stops it); NULL, errno set, when the
 * thread cannot start. */
struct faultwire *faultwire_new(void);
/* Fire every timer now, and every later one as soon as it is set: hogmock is stopping. */
void faultwire_flush(struct faultwire *fw);
/* Stop the timer thread and free; a timer not fired yet is dropped (flush first, and only
 * free once no connection waits on one). NULL is a no-op. */
void faultwire_free(struct faultwire *fw);

/* Call fn(arg) on the timer thread once ms of real time have passed (no lock held). */
void faultwire_after(struct faultwire *fw, uint64_t ms, void (*fn)(void *arg), void *arg);

/* Reset the connection: a TCP RST with no FIN before it. Bytes already sent reach the
 * client first (it waits, briefly, until they are acknowledged). */
void faultwire_reset(struct MHD_Connection *conn);
/* Write n bytes of fault_garbage(seed) straight to the connection's socket. */
void faultwire_garbage(struct MHD_Connection *conn, uint64_t seed, size_t n);

/* How a fault (truncate, drip, a delay of f->ms between body chunks) paces and cuts a
 * body on the wire, for whoever feeds the connection. */
struct fault_shape {
    uint64_t cut;               /* bytes sent before the connection is cut; UINT64_MAX: all */
    uint64_t chunk;             /* bytes per write (drip); 0: as many as fit */
    uint64_t interval_ms;
    uint64_t pause_at;          /* the pause comes once this many bytes went out (0: after
                                 * the first write) */
    uint64_t pause_ms;          /* 0: no pause, or it is over */
    uint64_t next_us;           /* monotonic microseconds: no byte before then */
};

/* The shape f gives a body of len bytes (UINT64_MAX when unknown: a fraction then cuts
 * nothing, and a pause comes after the first write). */
void fault_shape_init(struct fault_shape *sh, const struct fault *f, uint64_t len);
/* How many bytes may go out at pos now, at most max: > 0; 0 when the connection must
 * wait *wait_ms first; -1 when the body is cut here. */
long fault_shape_take(struct fault_shape *sh, uint64_t pos, size_t max, uint64_t *wait_ms);
/* n bytes went out at pos: start the next wait. */
void fault_shape_sent(struct fault_shape *sh, uint64_t pos, size_t n);

/* The answer body (taken over: from malloc, or NULL when len is 0) shaped by f: a
 * response that announces the whole Content-Length and may end early; it parks the
 * connection between chunks and cuts it short once *stopping. Headers are the caller's
 * to add. NULL when MHD refuses. */
struct MHD_Response *faultwire_response(struct faultwire *fw, struct MHD_Connection *conn,
                                        const struct fault *f, char *body, size_t len,
                                        const atomic_bool *stopping);

#endif
