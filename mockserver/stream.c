/* stream: execHogboxStream, a command's output served as Server-Sent Events while it runs:
 * the command runs on a thread of its own and the connection pulls the events it queues. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "exec.h"
#include "faults.h"
#include "log.h"
#include "server.h"
#include "vclock.h"
#include "xmalloc.h"

/* Choices where the spec leaves room:
 * - one write of the command is one event (a write is at most 64 KiB); a longer one is
 *   split at a character boundary, so every event's data is valid UTF-8 on its own;
 * - invalid UTF-8 becomes U+FFFD per maximal invalid subsequence (as WHATWG decoders do),
 *   and a character cut between two writes is joined, not replaced;
 * - keepalives count the command's silence on hogmock's clock: on a virtual clock a
 *   `sleep 60` sends its 4 keepalives at once when the sleep ends (at 15 s each);
 * - the journal gets the events sent, the keepalives, how the stream ended and when each
 *   of the first TIMELINE_MAX events was produced (ms since the command started, on the
 *   command's clock), so a test can check the pacing even on a virtual clock;
 * - a fault plan's sse_* fault counts the events queued (keepalives are not events): it
 *   acts just before event after_event + 1 is queued (a duplicate: just after event
 *   after_event), and a fault that ends the stream stops the command too. */

/* Queued bytes above which the command waits for the client to read: the server's memory
 * per stream stays bounded whatever the command prints. It goes on once the client has
 * read the queue down to QUEUE_LOW, so a fast command and a fast client do not take turns
 * an event at a time. */
#define QUEUE_HIGH (256u << 10)
#define QUEUE_LOW (QUEUE_HIGH / 2)
/* The queue is a list of segments of this size: the command's thread writes into the
 * last one beyond what it has published, without the lock, and the connection reads the
 * first; the few the connection has emptied are kept for reuse. */
#define SEG_SIZE (64u << 10)
#define SEG_SPARE 2
/* The least text escaped straight into a segment at once: a segment with less room than
 * that takes (6 bytes each at worst) is left for the next one. */
#define ESCAPE_PIECE_MIN 256u
/* The most output one event carries (bytes of UTF-8 text, before JSON escaping). */
#define EVENT_TEXT_MAX (64u << 10)
#define TIMELINE_MAX 100
/* How long the command waits for the client to read before it checks again. */
#define WAIT_SLICE_MS 100
/* Keepalives sent at once for a long virtual sleep; more say nothing new. */
#define KEEPALIVE_BURST_MAX 1000

struct mark {
    uint64_t id;
    int kind;           /* 1 stdout, 2 stderr, 0 exit */
    uint64_t at_ms;
};

struct seg {
    struct seg *next;
    size_t len;                 /* bytes published (readable), under the stream's lock */
    size_t off;                 /* bytes read */
    char data[SEG_SIZE];
};

struct stream {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;                   /* the command's thread and the server */
    struct hogmock *hm;
    struct exec_job job;
    struct req_waker *waker;

    /* under lock */
    struct seg *head, *tail;    /* the queue: read from head, written into tail */
    struct seg *spare;          /* emptied segments kept for reuse, nspare of them */
    size_t nspare;
    size_t queued;              /* bytes published and not yet read */
    uint64_t read_total;        /* bytes read by the connection */
    bool producer_waits;        /* the command waits for the queue to go down */
    uint64_t *ends;             /* stream offsets where queued events end, from nends_head */
    size_t nends, nends_head, ends_cap;
    uint64_t events_sent;       /* events read out whole by the connection */
    size_t queue_peak;          /* the most bytes ever queued at once */
    bool producer_done;         /* the exit event is queued (or the command gave up) */
    bool server_done;           /* the connection is over */
    long cut;                   /* 0, or how read ends once the queue is empty: REQ_READ_END
                                 * (close), REQ_READ_ERROR (cut), REQ_READ_RESET (drop) */
    bool fault_fired;

    /* the command's thread only, until producer_done */
    size_t fill;                /* bytes written into tail (published or not) */
    uint64_t pushed_total;      /* bytes written into the queue */
    struct buf ev, text;        /* reused for each event: its text and its UTF-8 repair */
    uint64_t next_id;
    uint64_t keepalives;
    uint64_t last_activity_ms;  /* the command's time of its last event or keepalive */
    uint64_t now_ms;            /* the command's time as last seen (virtual clock) */
    uint64_t t0;                /* monotonic ms at start (real clock) */
    bool real;
    struct exec_utf8 utf8[2];
    struct mark timeline[TIMELINE_MAX];
    size_t ntimeline;
    int exit_code;
    bool timed_out, exited;
    /* a fault plan's sse_* fault, copied from the request: kind -1 when none */
    int fault;
    uint64_t fault_after, fault_ms, fault_seed, fault_bytes;
    uint64_t pushed;            /* events queued so far */
    bool stall;                 /* go silent for fault_ms before the stream is cut */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void seg_free_list(struct seg *g)
{
    while (g) {
        struct seg *next = g->next;

        free(g);
        g = next;
    }
}

static void stream_unref(struct stream *s)
{
    int left;

    pthread_mutex_lock(&s->lock);
    left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left)
        return;
    exec_job_release(&s->job);
    seg_free_list(s->head);
    seg_free_list(s->spare);
    buf_release(&s->ev);
    buf_release(&s->text);
    free(s->ends);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- the connection's side ------------------------------------------------------- */

static long stream_read(void *ctx, char *out, size_t max)
{
    struct stream *s = ctx;
    size_t n = 0;
    long ret;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct seg *g = s->head;
        size_t k;

        /* Segments read to their end go; the last one stays, the command writes on into it. */
        while (g && g->off == g->len && g->next) {
            s->head = g->next;
            if (s->nspare < SEG_SPARE) {
                g->next = s->spare;
                s->spare = g;
                s->nspare++;
            } else {
                free(g);
            }
            g = s->head;
        }
        if (!g || g->off == g->len || n == max)
            break;
        k = g->len - g->off < max - n ? g->len - g->off : max - n;
        /* Published bytes never change and only this side drops segments: the copy needs
         * no lock, and the command is not held up by it. */
        pthread_mutex_unlock(&s->lock);
        memcpy(out + n, g->data + g->off, k);
        pthread_mutex_lock(&s->lock);
        g->off += k;
        n += k;
    }
    if (!n) {
        ret = !s->producer_done ? 0 : s->cut ? s->cut : REQ_READ_END;
        pthread_mutex_unlock(&s->lock);
        return ret;
    }
    s->queued -= n;
    s->read_total += n;
    while (s->nends_head < s->nends && s->ends[s->nends_head] <= s->read_total) {
        s->nends_head++;
        s->events_sent++;
    }
    if (s->nends_head == s->nends)
        s->nends = s->nends_head = 0;
    if (s->producer_waits && s->queued <= QUEUE_LOW)
        pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return (long)n;
}

static const char *end_name(enum req_stream_end end)
{
    switch (end) {
    case REQ_STREAM_COMPLETE: return "complete";
    case REQ_STREAM_CLIENT_GONE: return "client_gone";
    case REQ_STREAM_STOPPED: return "stopped";
    }
    return "unknown";
}

static const char *kind_name(int kind)
{
    return kind == 1 ? "stdout" : kind == 2 ? "stderr" : "exit";
}

static cJSON *stream_done(void *ctx, enum req_stream_end end, uint64_t bytes)
{
    struct stream *s = ctx;
    cJSON *o = cJSON_CreateObject(), *tl;
    size_t i;

    (void)bytes;
    pthread_mutex_lock(&s->lock);
    s->server_done = true;
    pthread_cond_broadcast(&s->cond);
    cJSON_AddStringToObject(o, "outcome", end_name(end));
    cJSON_AddNumberToObject(o, "events_sent", (double)s->events_sent);
    /* The command's own fields are final once producer_done; before that, what they
     * were a moment ago is the honest answer (the client left mid-command). */
    cJSON_AddNumberToObject(o, "keepalives", (double)s->keepalives);
    cJSON_AddNumberToObject(o, "queue_peak_bytes", (double)s->queue_peak);
    if (s->producer_done && s->exited) {
        cJSON_AddNumberToObject(o, "exit_code", s->exit_code);
        cJSON_AddBoolToObject(o, "timed_out", s->timed_out);
    } else {
        cJSON_AddNullToObject(o, "exit_code");
        cJSON_AddNullToObject(o, "timed_out");
    }
    if (s->fault >= 0)
        cJSON_AddBoolToObject(o, "fault_fired", s->fault_fired);
    tl = cJSON_AddArrayToObject(o, "timeline");
    for (i = 0; i < s->ntimeline; i++) {
        cJSON *m = cJSON_CreateObject();

        cJSON_AddNumberToObject(m, "id", (double)s->timeline[i].id);
        cJSON_AddStringToObject(m, "event", kind_name(s->timeline[i].kind));
        cJSON_AddNumberToObject(m, "at_ms", (double)s->timeline[i].at_ms);
        cJSON_AddItemToArray(tl, m);
    }
    pthread_mutex_unlock(&s->lock);
    stream_unref(s);
    return o;
}

static const struct req_stream_ops stream_ops = { stream_read, stream_done };

/* ---- the command's side ---------------------------------------------------------- */

/* The command's time now: real elapsed time, or the simulated time of a virtual run. */
static uint64_t cmd_now(const struct stream *s)
{
    return s->real ? mono_ms() - s->t0 : s->now_ms;
}

/* A segment to write into: a spare one or a new one. */
static struct seg *seg_take(struct stream *s)
{
    struct seg *g;

    pthread_mutex_lock(&s->lock);
    g = s->spare;
    if (g) {
        s->spare = g->next;
        s->nspare--;
    }
    pthread_mutex_unlock(&s->lock);
    if (!g)
        g = xmalloc(sizeof(*g));
    g->next = NULL;
    g->len = g->off = 0;
    return g;
}

/* Make what the command wrote into the last segment readable; under s->lock. */
static void publish(struct stream *s)
{
    s->queued += s->fill - s->tail->len;
    s->tail->len = s->fill;
    if (s->queued > s->queue_peak)
        s->queue_peak = s->queued;
}

/* Room to write into at s->tail->data + s->fill: at least want bytes (at most SEG_SIZE),
 * in a new segment when the last one has less. */
static size_t queue_room(struct stream *s, size_t want)
{
    struct seg *g;

    if (s->tail && SEG_SIZE - s->fill >= want)
        return SEG_SIZE - s->fill;
    g = seg_take(s);
    pthread_mutex_lock(&s->lock);
    if (s->tail) {
        publish(s);
        s->tail->next = g;
    } else {
        s->head = g;
    }
    s->tail = g;
    pthread_mutex_unlock(&s->lock);
    s->fill = 0;
    return SEG_SIZE;
}

/* Write len bytes into the queue. Only the command's thread writes, and only past what
 * is published, so the copy needs no lock; publish() makes it readable. */
static void queue_write(struct stream *s, const char *data, size_t len)
{
    while (len) {
        size_t k = queue_room(s, 1);

        if (k > len)
            k = len;
        memcpy(s->tail->data + s->fill, data, k);
        s->fill += k;
        data += k;
        len -= k;
    }
}

/* Wait while the client is QUEUE_HIGH behind. True when the stream is over (the client
 * went away, hogmock stops): the command must stop. */
static bool queue_wait(struct stream *s)
{
    bool over;

    pthread_mutex_lock(&s->lock);
    while (!s->server_done && s->queued >= QUEUE_HIGH) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WAIT_SLICE_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        s->producer_waits = true;
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
        s->producer_waits = false;
        if (s->server_done || s->queued < QUEUE_HIGH)
            break;
        /* The waker is never taken under s->lock (the server takes them the other way). */
        pthread_mutex_unlock(&s->lock);
        over = req_waker_gone(s->waker);
        pthread_mutex_lock(&s->lock);
        if (over)
            break;
    }
    over = s->server_done || atomic_load(&s->hm->stopping);
    pthread_mutex_unlock(&s->lock);
    return over;
}

/* The block written since the last one is whole: make it readable (an event counts as
 * sent once read to its end) and wake the connection. */
static void queue_done(struct stream *s, bool is_event)
{
    pthread_mutex_lock(&s->lock);
    if (s->tail)
        publish(s);
    if (is_event) {
        if (s->nends_head && s->nends == s->ends_cap) {
            memmove(s->ends, s->ends + s->nends_head, (s->nends - s->nends_head) * sizeof(*s->ends));
            s->nends -= s->nends_head;
            s->nends_head = 0;
        }
        if (s->nends == s->ends_cap) {
            s->ends_cap = s->ends_cap ? s->ends_cap * 2 : 64;
            s->ends = xrealloc(s->ends, s->ends_cap * sizeof(*s->ends));
        }
        s->ends[s->nends++] = s->pushed_total;
    }
    pthread_mutex_unlock(&s->lock);
    req_waker_wake(s->waker);
}

/* Queue block (a whole event or comment; taken from b, which is reset). Waits while the
 * client is QUEUE_HIGH behind. Non-zero when the stream is over (the client went away,
 * hogmock stops): the command must stop. */
static int push_block(struct stream *s, struct buf *b, bool is_event)
{
    if (queue_wait(s)) {
        buf_reset(b);
        return 1;
    }
    queue_write(s, b->data, b->len);
    s->pushed_total += b->len;
    buf_reset(b);
    queue_done(s, is_event);
    return 0;
}

/* The fault has fired; cut (0: none) is how the stream then ends. */
static void fault_fired(struct stream *s, long cut)
{
    pthread_mutex_lock(&s->lock);
    s->fault_fired = true;
    if (cut)
        s->cut = cut;
    pthread_mutex_unlock(&s->lock);
}

/* Queue the event in b with the fault, when its turn has come (push's contract). */
static int push_faulted(struct stream *s, struct buf *b)
{
    struct buf extra = BUF_INIT;
    uint64_t k = ++s->pushed;
    const char *data;
    int stop;

    if (s->fault == FAULT_SSE_DUPLICATE_EVENT && k == s->fault_after) {
        buf_add(&extra, b->data, b->len);
        stop = push_block(s, b, true);
        fault_fired(s, 0);
        if (!stop)
            stop = push_block(s, &extra, true);
        buf_release(&extra);
        return stop;
    }
    if (s->fault == FAULT_SSE_DUPLICATE_EVENT || s->fault == FAULT_SSE_NO_EXIT
        || k != s->fault_after + 1)
        return push_block(s, b, true);
    switch (s->fault) {
    case FAULT_SSE_DROP:
        fault_fired(s, REQ_READ_RESET);
        buf_reset(b);
        return 1;
    case FAULT_SSE_CLOSE:
        fault_fired(s, REQ_READ_END);
        buf_reset(b);
        return 1;
    case FAULT_SSE_STALL:
        s->stall = true;
        fault_fired(s, 0);
        buf_reset(b);
        return 1;
    case FAULT_SSE_CUT_MID_LINE:
        /* The event up to the middle of its data line, then the connection is cut. */
        data = strstr(buf_cstr(b), "\ndata: ");
        if (data) {
            size_t start = (size_t)(data + 1 - b->data), end = start;

            while (end < b->len && b->data[end] != '\n')
                end++;
            buf_truncate(b, start + (end - start) / 2);
        }
        push_block(s, b, false);
        fault_fired(s, REQ_READ_ERROR);
        return 1;
    case FAULT_SSE_GARBAGE_LINE:
        buf_grow(&extra, (size_t)s->fault_bytes + 1);
        fault_garbage(s->fault_seed, extra.data, (size_t)s->fault_bytes, true);
        extra.len = (size_t)s->fault_bytes;
        buf_addch(&extra, '\n');
        stop = push_block(s, &extra, false);
        break;
    case FAULT_SSE_UNKNOWN_EVENT_KIND:
        buf_addstr(&extra, "event: hogmock_unknown_kind\ndata: {\"note\":\"an event kind the "
                   "spec does not define\"}\n\n");
        stop = push_block(s, &extra, true);
        break;
    default:
        stop = 0;
        break;
    }
    fault_fired(s, 0);
    buf_release(&extra);
    return stop ? stop : push_block(s, b, true);
}

/* Queue block through the fault plan's fault, if any (push_block's contract). */
static int push(struct stream *s, struct buf *b, bool is_event)
{
    if (!is_event || s->fault < 0 || s->fault_fired)
        return push_block(s, b, is_event);
    return push_faulted(s, b);
}

/* A stalled stream: silent for fault_ms of real time (or until the client leaves or
 * hogmock stops), then cut. */
static void stall(struct stream *s)
{
    uint64_t until = mono_ms() + s->fault_ms, now;
    bool gone = false;

    pthread_mutex_lock(&s->lock);
    while (!gone && !s->server_done && !atomic_load(&s->hm->stopping)
           && (now = mono_ms()) < until) {
        uint64_t slice = until - now < WAIT_SLICE_MS ? until - now : WAIT_SLICE_MS;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)slice * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        pthread_mutex_unlock(&s->lock);
        gone = req_waker_gone(s->waker);
        pthread_mutex_lock(&s->lock);
    }
    s->cut = REQ_READ_ERROR;
    pthread_mutex_unlock(&s->lock);
}

/* Under the lock: the connection reads the timeline when the client leaves mid-command. */
static void mark(struct stream *s, uint64_t id, int kind)
{
    if (s->ntimeline >= TIMELINE_MAX)   /* only this thread adds: no lock to look */
        return;
    pthread_mutex_lock(&s->lock);
    s->timeline[s->ntimeline].id = id;
    s->timeline[s->ntimeline].kind = kind;
    s->timeline[s->ntimeline].at_ms = cmd_now(s);
    s->ntimeline++;
    pthread_mutex_unlock(&s->lock);
}

/* Queue an output event of n bytes of text (valid UTF-8) with the JSON escaping done in
 * place in the queue, in pieces that fit the room left (push_block's contract). */
static int push_output(struct stream *s, int fd, const char *text, size_t n)
{
    char head[96];
    int hl;

    if (queue_wait(s))
        return 1;
    hl = snprintf(head, sizeof(head), "event: %s\nid: %llu\ndata: {\"data\":\"",
                  fd == 2 ? "stderr" : "stdout", (unsigned long long)s->next_id);
    queue_write(s, head, (size_t)hl);
    s->pushed_total += (size_t)hl;
    while (n) {
        /* An escaped byte takes at most 6; a piece is never under ESCAPE_PIECE_MIN bytes. */
        size_t room = queue_room(s, 6 * ESCAPE_PIECE_MIN), k = room / 6 < n ? room / 6 : n, w;

        while (k < n && k > 0 && ((unsigned char)text[k] & 0xC0) == 0x80)
            k--;        /* never cut a character */
        w = str_json_escape(s->tail->data + s->fill, text, k);
        s->fill += w;
        s->pushed_total += w;
        text += k;
        n -= k;
    }
    queue_write(s, "\"}\n\n", 4);
    s->pushed_total += 4;
    queue_done(s, true);
    return 0;
}

/* One output event of text (valid UTF-8), split so no event is over EVENT_TEXT_MAX. */
static int emit_output(struct stream *s, int fd, const char *text, size_t len)
{
    struct buf *ev = &s->ev;
    int stop = 0;

    while (len && !stop) {
        size_t n = len;

        if (n > EVENT_TEXT_MAX) {
            n = EVENT_TEXT_MAX;
            while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
                n--;        /* never cut a character */
        }
        s->next_id++;
        mark(s, s->next_id, fd == 2 ? 2 : 1);
        if (s->fault < 0 || s->fault_fired) {
            stop = push_output(s, fd, text, n);
        } else {
            /* A fault may need the event whole: built aside, then queued. */
            buf_addf(ev, "event: %s\nid: %llu\ndata: {\"data\":", fd == 2 ? "stderr" : "stdout",
                     (unsigned long long)s->next_id);
            buf_add_json_str(ev, text, n);
            buf_addstr(ev, "}\n\n");
            stop = push(s, ev, true);
        }
        text += n;
        len -= n;
    }
    s->last_activity_ms = cmd_now(s);
    return stop;
}

static int sink_output(void *ctx, int fd, const char *data, size_t len)
{
    struct stream *s = ctx;
    const char *text;
    size_t n;

    text = exec_utf8_view(&s->utf8[fd == 2], data, len, false, &s->text, &n);
    return emit_output(s, fd, text, n);
}

static int sink_tick(void *ctx, uint64_t elapsed_ms)
{
    struct stream *s = ctx;
    uint64_t ka = s->hm->sse_keepalive_ms, n, i;
    struct buf b = BUF_INIT;
    int stop = 0;

    s->now_ms = elapsed_ms;
    if (cmd_now(s) >= s->last_activity_ms + ka) {
        n = (cmd_now(s) - s->last_activity_ms) / ka;
        s->last_activity_ms += n * ka;
        if (n > KEEPALIVE_BURST_MAX)
            n = KEEPALIVE_BURST_MAX;
        for (i = 0; i < n && !stop; i++) {
            buf_addstr(&b, ": keepalive\n\n");
            pthread_mutex_lock(&s->lock);
            s->keepalives++;        /* read by the connection when the client leaves */
            pthread_mutex_unlock(&s->lock);
            stop = push(s, &b, false);
        }
    }
    buf_release(&b);
    /* A silent command is where a client that left goes unnoticed: look. */
    return stop || req_waker_gone(s->waker);
}

static void *stream_main(void *arg)
{
    struct stream *s = arg;
    struct hogmock *hm = s->hm;
    struct exec_sink sink = { sink_output, sink_tick, s };
    struct exec_result res;
    struct buf tail = BUF_INIT, ev = BUF_INIT;
    int i, stop = 0;

    pthread_mutex_lock(&s->lock);
    while (!s->waker)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    s->t0 = mono_ms();
    exec_run(&s->job, &sink, &res);
    s->now_ms = res.duration_ms;
    if (!res.stopped) {
        /* A character the command left unfinished is replaced, not lost. */
        for (i = 0; i < 2 && !stop; i++) {
            exec_utf8_feed(&s->utf8[i], NULL, 0, true, &tail);
            stop = emit_output(s, i ? 2 : 1, tail.data, tail.len);
            buf_reset(&tail);
        }
        if (!stop) {
            s->next_id++;
            buf_addf(&ev, "event: exit\nid: %llu\ndata: {\"exit_code\":%d,\"timed_out\":%s}\n\n",
                     (unsigned long long)s->next_id, res.exit_code,
                     res.timed_out ? "true" : "false");
            mark(s, s->next_id, 0);
            pthread_mutex_lock(&s->lock);
            s->exit_code = res.exit_code;
            s->timed_out = res.timed_out;
            s->exited = true;
            pthread_mutex_unlock(&s->lock);
            if (s->fault == FAULT_SSE_NO_EXIT)
                fault_fired(s, 0);
            else
                push(s, &ev, true);
        }
    }
    if (s->stall)
        stall(s);
    buf_release(&tail);
    buf_release(&ev);
    pthread_mutex_lock(&s->lock);
    s->producer_done = true;
    pthread_mutex_unlock(&s->lock);
    req_waker_wake(s->waker);
    req_waker_release(s->waker);
    stream_unref(s);
    atomic_fetch_sub(&hm->threads, 1);
    return NULL;
}

/* ---- the request ----------------------------------------------------------------- */

/* Does the Accept header (absent: anything) allow text/event-stream? A range with q=0
 * rules its types out. */
static bool accepts_sse(const char *accept)
{
    const char *p = accept;

    if (!accept || !*accept)
        return true;
    while (*p) {
        const char *end = p + strcspn(p, ","), *semi, *q;
        size_t n;
        bool zero = false;

        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        semi = memchr(p, ';', (size_t)(end - p));
        n = (size_t)((semi ? semi : end) - p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        for (q = semi; q && q < end; q = memchr(q + 1, ';', (size_t)(end - q - 1))) {
            const char *v = q + 1;

            while (*v == ' ' || *v == '\t')
                v++;
            if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
                double d = strtod(v + 2, NULL);

                zero = d <= 0.0;
            }
        }
        if (!zero && ((n == 17 && strncasecmp(p, "text/event-stream", 17) == 0)
                      || (n == 6 && strncasecmp(p, "text/*", 6) == 0)
                      || (n == 3 && strncmp(p, "*/*", 3) == 0)))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

static void exec_hogbox_stream(struct req *r)
{
    const char *accept = req_header(r, "Accept");
    struct req_waker *waker;
    struct stream *s;
    pthread_attr_t attr;
    pthread_t tid;
    int err;

    if (!accepts_sse(accept)) {
        req_problem(r, 406, "not_acceptable", "This operation produces text/event-stream; the "
                    "request accepts only %.200s.", accept);
        return;
    }
    s = xcalloc(1, sizeof(*s));
    s->fault = -1;
    if (r->stream_fault) {
        s->fault = (int)r->stream_fault->kind;
        s->fault_after = r->stream_fault->after_event;
        s->fault_ms = r->stream_fault->ms;
        s->fault_seed = r->stream_fault->seed;
        s->fault_bytes = r->stream_fault->bytes;
    }
    if (!exec_prepare(r, &s->job)) {
        free(s);
        return;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->refs = 2;
    s->hm = r->hm;
    s->real = !vclock_is_virtual(r->hm->clock);

    /* The thread first, so a failure can still be a problem+json; it waits for the
     * waker, which exists once the answer is a stream. */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&r->hm->threads, 1);
    err = pthread_create(&tid, &attr, stream_main, s);
    pthread_attr_destroy(&attr);
    if (err) {
        atomic_fetch_sub(&r->hm->threads, 1);
        log_error("cannot start a thread for an exec stream: %s", strerror(err));
        req_problem(r, 503, "unavailable", "hogmock cannot start another command right now "
                    "(%s); retry later", strerror(err));
        s->refs = 1;
        stream_unref(s);
        return;
    }
    req_set_header(r, "Cache-Control", "no-cache");
    req_stream(r, 200, "text/event-stream", &stream_ops, s, &waker);
    pthread_mutex_lock(&s->lock);
    s->waker = waker;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

const struct route stream_routes[] = {
    { "execHogboxStream", exec_hogbox_stream, 0 },
    { NULL, NULL, 0 },
};
