/* sse: the text/event-stream codec: an encoder that appends events to a buf, and an
 * incremental parser that follows WHATWG HTML "Interpreting an event stream" exactly.
 * Pure codec: never does I/O, never emits a field line that holds a line break, and
 * never buffers more than its configured limits. */
#ifndef HOG_SSE_H
#define HOG_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"

/* Default cap on one line and on one event's data buffer (16 MiB). */
#define SSE_DEFAULT_MAX (16u * 1024u * 1024u)

/* What feed and finish return once a callback returned non-zero. */
#define SSE_STOPPED RC_STOPPED

/* ---- encoder --------------------------------------------------------------------
 * Every encoder call appends one complete block ending in a blank line, so blocks can
 * be written in any order and the stream cut anywhere between them.
 * Round trip: for data that is valid UTF-8, the parser hands back exactly the bytes
 * given, except that each CRLF or lone CR comes back as LF (SSE has no way to carry
 * them); invalid UTF-8 comes back with U+FFFD in place of each bad subsequence. */

/* Append an event: "event: NAME" unless event is NULL or "", "id: ID" unless id is
 * NULL ("" sends "id:", which resets the client's last event ID), one "data:" line per
 * line of data (split on CRLF, LF or lone CR; len 0 gives one empty "data:" line and a
 * trailing line break a final empty one), then a blank line. data may be NULL when
 * len is 0. RC_INVALID, with nothing appended, when event or id holds CR or LF (ids
 * are C strings, so they cannot hold the NUL that would make a client ignore them). */
enum rc sse_encode_event(struct buf *out, const char *event, const char *id,
                         const void *data, size_t len);
/* Append "retry: MS" (the client's reconnection time in milliseconds) and a blank line. */
void sse_encode_retry(struct buf *out, uint64_t ms);
/* Append text (NULL is "") as comment lines ": TEXT", one per line of text split like
 * data, then a blank line; sse_encode_comment(out, "keepalive") is the keepalive. */
void sse_encode_comment(struct buf *out, const char *text);

/* ---- parser --------------------------------------------------------------------- */

/* One dispatched event; every pointer is borrowed and valid only during the callback. */
struct sse_event {
    const char *type;   /* NUL-terminated; "message" when the stream set none or "" */
    size_t type_len;    /* type can hold U+0000, so use the length */
    const char *data;   /* NUL-terminated; len bytes, valid UTF-8, may hold U+0000 */
    size_t len;
    const char *id;     /* the last event ID, "" when none; never holds U+0000 */
};

/* Callbacks return 0 to go on and non-zero to stop the parser (see SSE_STOPPED). */
typedef int sse_event_fn(const struct sse_event *ev, void *ctx);
/* A comment line's text after ':' and one optional space, NUL-terminated, borrowed
 * during the call; not part of WHATWG's model (which ignores comments). */
typedef int sse_comment_fn(const char *text, size_t len, void *ctx);
/* A valid "retry:" field's value in milliseconds (saturating at UINT64_MAX). */
typedef int sse_retry_fn(uint64_t ms, void *ctx);

/* Any callback may be NULL; ctx is passed to each, never touched. */
struct sse_callbacks {
    sse_event_fn *on_event;
    sse_comment_fn *on_comment;
    sse_retry_fn *on_retry;
    void *ctx;
};

/* Caller-allocated; only max_line and max_event are for the caller to touch, best
 * right after init (lowering one below what is already buffered gives RC_TOO_LARGE). */
struct sse_parser {
    size_t max_line;    /* bytes in one decoded line, else RC_TOO_LARGE; init sets SSE_DEFAULT_MAX */
    size_t max_event;   /* bytes in the data buffer (data + one LF per data line), same */

    /* private */
    struct sse_callbacks cb;
    enum rc rc;             /* sticky once a callback stopped us or a limit was hit */
    bool ended;             /* finish was called */
    bool bom_done;          /* past the place where a BOM may be */
    unsigned char bom_seen; /* leading BOM bytes held back so far */
    unsigned char u8_pend[4]; /* the UTF-8 sequence being decoded */
    unsigned char u8_npend, u8_need, u8_lower, u8_upper;
    bool u8_carried;        /* u8_pend began in an earlier chunk */
    bool skip_lf;           /* last line ended in CR: an LF next belongs to it */
    bool id_dirty;          /* id_buf changed since last_id was set from it */
    struct buf line, data, type, id_buf, last_id;
};

/* Set up a parser at the start of a stream with cb copied (NULL: no callbacks);
 * allocates nothing, and a parser that is never fed needs no release. */
void sse_parser_init(struct sse_parser *p, const struct sse_callbacks *cb);
/* Parse len more bytes of the stream, cut anywhere, calling back for what they
 * complete. RC_OK; SSE_STOPPED when a callback asked to stop; RC_TOO_LARGE over a
 * limit; RC_INVALID after finish. After a stop or RC_TOO_LARGE every later feed and
 * finish return that same code without calling back again. */
enum rc sse_parser_feed(struct sse_parser *p, const void *bytes, size_t len);
/* End the stream: an event without its closing blank line and a partial line are
 * discarded, never dispatched. RC_OK (also a second time), or the sticky code. */
enum rc sse_parser_finish(struct sse_parser *p);
/* The last event ID as a client would send it in Last-Event-ID ("" when none):
 * set at each blank line from the latest valid "id:"; borrowed until the next feed,
 * finish or release. */
const char *sse_parser_last_event_id(const struct sse_parser *p);
/* Free what the parser holds; it needs sse_parser_init before any further use.
 * Releasing twice is harmless. */
void sse_parser_release(struct sse_parser *p);

#endif
