/* fuzz_sse: the text/event-stream parser (common/sse) on arbitrary bytes. The input is a
 * stream; it is fed whole, byte by byte and in chunks drawn from a hash of the input, and
 * every feeding must call back the same way. Each event must hold valid UTF-8 and an id
 * without U+0000, and must come back the same through the encoder and the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "utf8check.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    struct buf log;     /* one record per callback, then the return codes */
    unsigned events;
    unsigned stop_after; /* stop at this event (0: never) */
    bool check;         /* round-trip each event through the encoder */
};

static void log_bytes(struct buf *b, const char *tag, const void *p, size_t n)
{
    buf_addf(b, "%s %zu:", tag, n);
    buf_add(b, p, n);
    buf_addch(b, '\n');
}

/* What the encoder makes of ev must parse back to ev. */
static int echo_event(const struct sse_event *ev, void *ctx)
{
    struct sse_event *want = ctx;

    if (ev->type_len != want->type_len || memcmp(ev->type, want->type, ev->type_len) != 0
        || ev->len != want->len || memcmp(ev->data, want->data, ev->len) != 0
        || strcmp(ev->id, want->id) != 0)
        abort();
    want->type = NULL;  /* seen */
    return 0;
}

static void round_trip(const struct sse_event *ev)
{
    struct sse_event want = *ev;
    struct sse_callbacks cb = { echo_event, NULL, NULL, &want };
    struct sse_parser p;
    struct buf enc = BUF_INIT;

    /* The encoder takes C strings without line breaks for the type and the id. */
    if (memchr(ev->type, '\0', ev->type_len) || strpbrk(ev->type, "\r\n"))
        return;
    if (sse_encode_event(&enc, ev->type, ev->id, ev->data, ev->len) != RC_OK)
        abort();
    sse_parser_init(&p, &cb);
    if (sse_parser_feed(&p, enc.data, enc.len) != RC_OK || sse_parser_finish(&p) != RC_OK)
        abort();
    if (want.type != NULL)  /* never dispatched */
        abort();
    sse_parser_release(&p);
    buf_release(&enc);
}

static int on_event(const struct sse_event *ev, void *ctx)
{
    struct run *r = ctx;

    if (!utf8_valid((const unsigned char *)ev->data, ev->len) || ev->data[ev->len] != '\0'
        || ev->type[ev->type_len] != '\0' || ev->type_len == 0 || strpbrk(ev->id, "\r\n"))
        abort();
    log_bytes(&r->log, "type", ev->type, ev->type_len);
    log_bytes(&r->log, "data", ev->data, ev->len);
    log_bytes(&r->log, "id", ev->id, strlen(ev->id));
    if (r->check)
        round_trip(ev);
    return ++r->events == r->stop_after;
}

static int on_comment(const char *text, size_t len, void *ctx)
{
    struct run *r = ctx;

    if (text[len] != '\0')
        abort();
    log_bytes(&r->log, "comment", text, len);
    return 0;
}

static int on_retry(uint64_t ms, void *ctx)
{
    struct run *r = ctx;

    buf_addf(&r->log, "retry %llu\n", (unsigned long long)ms);
    return 0;
}

/* Feed data in chunks: whole (step 0), one byte at a time (step 1), or sizes drawn
 * from seed; log the callbacks and the codes into r. */
static void run(struct run *r, const uint8_t *data, size_t size, int step, uint64_t seed,
                size_t max_line, size_t max_event)
{
    struct sse_callbacks cb = { on_event, on_comment, on_retry, r };
    struct sse_parser p;
    size_t off = 0;
    enum rc rc = RC_OK;

    sse_parser_init(&p, &cb);
    p.max_line = max_line;
    p.max_event = max_event;
    while (off < size) {
        size_t n = size - off;

        if (step == 1) {
            n = 1;
        } else if (step == 2) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            n = (size_t)(seed >> 33) % 17 + 1;
            if (n > size - off)
                n = size - off;
        }
        rc = sse_parser_feed(&p, data + off, n);
        off += n;
        if (rc != RC_OK)
            break;
    }
    buf_addf(&r->log, "feed %d finish %d last \"%s\"\n", rc, sse_parser_finish(&p),
             sse_parser_last_event_id(&p));
    sse_parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[4][2] = {
        { SSE_DEFAULT_MAX, SSE_DEFAULT_MAX }, { 64, 256 }, { 16, 16 }, { 256, 8 },
    };
    uint64_t h = 1469598103934665603ull;
    struct run r[3];
    size_t i, max_line, max_event;

    xmalloc_init_cjson();
    for (i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    max_line = limits[h & 3][0];
    max_event = limits[h & 3][1];
    for (i = 0; i < 3; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].stop_after = (h >> 8) % 8 == 0 ? (unsigned)((h >> 11) % 4 + 1) : 0;
        r[i].check = i == 0;
        run(&r[i], data, size, (int)i, h, max_line, max_event);
    }
    for (i = 1; i < 3; i++)
        if (r[i].log.len != r[0].log.len || memcmp(r[i].log.data, r[0].log.data, r[0].log.len) != 0)
            abort();
    for (i = 0; i < 3; i++)
        buf_release(&r[i].log);
    return 0;
}
