#include "faultwire.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <microhttpd.h>

#include "faults.h"
#include "xmalloc.h"

/* How long a reset waits for the bytes before it to be acknowledged (in 1 ms steps). */
#define RESET_DRAIN_MS 200

struct timer {
    uint64_t due;               /* monotonic microseconds */
    void (*fn)(void *arg);
    void *arg;
    struct timer *next;
};

struct faultwire {
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* on CLOCK_MONOTONIC */
    struct timer *head;         /* soonest first */
    bool flushing, quit;
    pthread_t thread;
};

/* Microseconds: waits never end early by a rounding. */
static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the timer thread ----------------------------------------------------------------- */

static void *timer_main(void *arg)
{
    struct faultwire *fw = arg;

    pthread_mutex_lock(&fw->lock);
    for (;;) {
        struct timer *t = fw->head;

        if (t && (fw->flushing || t->due <= mono_us())) {
            fw->head = t->next;
            pthread_mutex_unlock(&fw->lock);
            t->fn(t->arg);
            free(t);
            pthread_mutex_lock(&fw->lock);
            continue;
        }
        if (fw->quit)
            break;
        if (t) {
            struct timespec until = { (time_t)(t->due / 1000000u),
                                      (long)(t->due % 1000000u) * 1000L };

            pthread_cond_timedwait(&fw->cond, &fw->lock, &until);
        } else {
            pthread_cond_wait(&fw->cond, &fw->lock);
        }
    }
    pthread_mutex_unlock(&fw->lock);
    return NULL;
}

struct faultwire *faultwire_new(void)
{
    struct faultwire *fw = xcalloc(1, sizeof(*fw));
    pthread_condattr_t ca;
    int err;

    pthread_mutex_init(&fw->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fw->cond, &ca);
    pthread_condattr_destroy(&ca);
    err = pthread_create(&fw->thread, NULL, timer_main, fw);
    if (err) {
        pthread_cond_destroy(&fw->cond);
        pthread_mutex_destroy(&fw->lock);
        free(fw);
        errno = err;
        return NULL;
    }
    return fw;
}

void faultwire_flush(struct faultwire *fw)
{
    pthread_mutex_lock(&fw->lock);
    fw->flushing = true;
    pthread_cond_signal(&fw->cond);
    pthread_mutex_unlock(&fw->lock);
}

void faultwire_free(struct faultwire *fw)
{
    struct timer *t, *next;

    if (!fw)
        return;
    pthread_mutex_lock(&fw->lock);
    fw->quit = true;
    pthread_cond_signal(&fw->cond);
    pthread_mutex_unlock(&fw->lock);
    pthread_join(fw->thread, NULL);
    for (t = fw->head; t; t = next) {
        next = t->next;
        free(t);
    }
    pthread_cond_destroy(&fw->cond);
    pthread_mutex_destroy(&fw->lock);
    free(fw);
}

void faultwire_after(struct faultwire *fw, uint64_t ms, void (*fn)(void *arg), void *arg)
{
    struct timer *t = xmalloc(sizeof(*t)), **at;

    t->due = mono_us() + ms * 1000u;
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&fw->lock);
    for (at = &fw->head; *at && (*at)->due <= t->due; at = &(*at)->next)
        ;
    t->next = *at;
    *at = t;
    if (fw->head == t)
        pthread_cond_signal(&fw->cond);
    pthread_mutex_unlock(&fw->lock);
}

/* ---- raw socket actions ------------------------------------------------------------- */

static int conn_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    return info ? info->connect_fd : -1;
}

void faultwire_reset(struct MHD_Connection *conn)
{
    struct linger lg = { 1, 0 };
    struct sockaddr sa;
    int fd = conn_fd(conn), outq = 0, i;

    if (fd < 0)
        return;
    for (i = 0; i < RESET_DRAIN_MS && ioctl(fd, TIOCOUTQ, &outq) == 0 && outq > 0; i++) {
        struct timespec ms = { 0, 1000000L };

        nanosleep(&ms, NULL);
    }
    /* With linger {1, 0} a close resets; but MHD shuts the socket down (a FIN) before it
     * closes, so disconnect it now: on Linux, connect() to AF_UNSPEC aborts a TCP
     * connection with a RST. MHD's shutdown and close then find nothing to do. */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNSPEC;
    (void)connect(fd, &sa, sizeof(sa));
}

void faultwire_garbage(struct MHD_Connection *conn, uint64_t seed, size_t n)
{
    char *bytes = xmalloc(n ? n : 1);
    int fd = conn_fd(conn);
    size_t off = 0;

    fault_garbage(seed, bytes, n, false);
    while (fd >= 0 && off < n) {
        ssize_t w = send(fd, bytes + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w <= 0)
            break;      /* the client is gone or not reading: what went out is enough */
        off += (size_t)w;
    }
    free(bytes);
}

/* ---- shaped answers ------------------------------------------------------------------ */

void fault_shape_init(struct fault_shape *sh, const struct fault *f, uint64_t len)
{
    memset(sh, 0, sizeof(*sh));
    sh->cut = UINT64_MAX;
    switch (f->kind) {
    case FAULT_TRUNCATE:
        if (f->fraction < 0)
            sh->cut = f->bytes;
        else if (len != UINT64_MAX)
            sh->cut = (uint64_t)(f->fraction * (double)len);
        break;
    case FAULT_DRIP:
        sh->chunk = f->bytes;
        sh->interval_ms = f->ms;
        break;
    case FAULT_DELAY:
        if (len) {
            sh->pause_ms = f->ms;
            sh->pause_at = len == UINT64_MAX ? 0 : (len + 1) / 2;
        }
        break;
    default:
        break;
    }
}

long fault_shape_take(struct fault_shape *sh, uint64_t pos, size_t max, uint64_t *wait_ms)
{
    uint64_t now, n = max;

    if (pos >= sh->cut)
        return -1;
    now = mono_us();
    if (now < sh->next_us) {
        *wait_ms = (sh->next_us - now + 999) / 1000;
        return 0;
    }
    if (n > sh->cut - pos)
        n = sh->cut - pos;
    if (sh->chunk && n > sh->chunk)
        n = sh->chunk;
    if (sh->pause_ms && sh->pause_at > pos && n > sh->pause_at - pos)
        n = sh->pause_at - pos;
    return (long)n;
}

void fault_shape_sent(struct fault_shape *sh, uint64_t pos, size_t n)
{
    uint64_t now = mono_us();

    if (sh->chunk)
        sh->next_us = now + sh->interval_ms * 1000u;
    if (sh->pause_ms && (!sh->pause_at || pos + n >= sh->pause_at)) {
        sh->next_us = now + sh->pause_ms * 1000u;
        sh->pause_ms = 0;
    }
}

struct shaped {
    struct faultwire *fw;
    struct MHD_Connection *conn;
    const atomic_bool *stopping;
    char *body;
    size_t len;
    struct fault_shape shape;
};

static void shaped_wake(void *arg)
{
    struct shaped *s = arg;

    MHD_resume_connection(s->conn);
}

static ssize_t shaped_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct shaped *s = cls;
    uint64_t wait = 0;
    long n;

    if (atomic_load(s->stopping))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (pos >= s->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = fault_shape_take(&s->shape, pos, max, &wait);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) {
        /* Park: no thread waits; the timer resumes the connection and MHD asks again. */
        MHD_suspend_connection(s->conn);
        faultwire_after(s->fw, wait, shaped_wake, s);
        return 0;
    }
    memcpy(buf, s->body + pos, (size_t)n);
    fault_shape_sent(&s->shape, pos, (size_t)n);
    return (ssize_t)n;
}

static void shaped_free(void *cls)
{
    struct shaped *s = cls;

    free(s->body);
    free(s);
}

struct MHD_Response *faultwire_response(struct faultwire *fw, struct MHD_Connection *conn,
                                        const struct fault *f, char *body, size_t len,
                                        const atomic_bool *stopping)
{
    struct shaped *s = xcalloc(1, sizeof(*s));
    struct MHD_Response *resp;

    s->fw = fw;
    s->conn = conn;
    s->stopping = stopping;
    s->body = body;
    s->len = len;
    fault_shape_init(&s->shape, f, len);
    resp = MHD_create_response_from_callback(len, 4096, shaped_read, s, shaped_free);
    if (!resp)
        shaped_free(s);
    return resp;
}
