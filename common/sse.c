#include "sse.h"

#include <inttypes.h>
#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */
#define REPLACEMENT_LEN 3

static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

/* ---- encoder ---- */

/* "name: value" or, for an empty value, "name:" (no trailing space). */
static void add_field(struct buf *out, const char *name, const char *value, size_t len)
{
    buf_addstr(out, name);
    buf_addch(out, ':');
    if (len) {
        buf_addch(out, ' ');
        buf_add(out, value, len);
    }
    buf_addch(out, '\n');
}

/* One field line per line of s: a line break inside a field would end the field and
 * let the rest be read as fields of its own. */
static void add_lines(struct buf *out, const char *name, const char *s, size_t len)
{
    size_t start = 0, i = 0;

    for (;;) {
        while (i < len && s[i] != '\r' && s[i] != '\n')
            i++;
        add_field(out, name, s + start, i - start);
        if (i == len)
            break;
        if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
            i++;
        start = ++i;
    }
}

enum rc sse_encode_event(struct buf *out, const char *event, const char *id,
                         const void *data, size_t len)
{
    if ((event && strpbrk(event, "\r\n")) || (id && strpbrk(id, "\r\n")))
        return RC_INVALID;
    if (event && *event)
        add_field(out, "event", event, strlen(event));
    if (id)
        add_field(out, "id", id, strlen(id));
    add_lines(out, "data", data ? data : "", data ? len : 0);
    buf_addch(out, '\n');
    return RC_OK;
}

void sse_encode_retry(struct buf *out, uint64_t ms)
{
    buf_addf(out, "retry: %" PRIu64 "\n\n", ms);
}

void sse_encode_comment(struct buf *out, const char *text)
{
    if (!text)
        text = "";
    add_lines(out, "", text, strlen(text));
    buf_addch(out, '\n');
}

/* ---- parser ---- */

void sse_parser_init(struct sse_parser *p, const struct sse_callbacks *cb)
{
    memset(p, 0, sizeof(*p));
    p->max_line = SSE_DEFAULT_MAX;
    p->max_event = SSE_DEFAULT_MAX;
    if (cb)
        p->cb = *cb;
    p->rc = RC_OK;
    buf_init(&p->line);
    buf_init(&p->data);
    buf_init(&p->type);
    buf_init(&p->id_buf);
    buf_init(&p->last_id);
}

void sse_parser_release(struct sse_parser *p)
{
    buf_release(&p->line);
    buf_release(&p->data);
    buf_release(&p->type);
    buf_release(&p->id_buf);
    buf_release(&p->last_id);
}

const char *sse_parser_last_event_id(const struct sse_parser *p)
{
    return buf_cstr(&p->last_id);
}

static bool field_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* WHATWG "dispatch the event", run at each blank line. */
static enum rc dispatch(struct sse_parser *p)
{
    struct sse_event ev;
    int stop;

    /* The ID is committed even when no event follows, and the buffer keeps it. */
    if (p->id_dirty) {
        buf_reset(&p->last_id);
        buf_add(&p->last_id, buf_cstr(&p->id_buf), p->id_buf.len);
        p->id_dirty = false;
    }
    if (p->data.len == 0) {
        buf_reset(&p->type);
        return RC_OK;
    }
    /* Every data line appended an LF, so the last byte is one. */
    buf_truncate(&p->data, p->data.len - 1);
    if (!p->cb.on_event) {
        stop = 0;
    } else {
        ev.type = p->type.len ? buf_cstr(&p->type) : "message";
        ev.type_len = p->type.len ? p->type.len : strlen("message");
        ev.data = buf_cstr(&p->data);
        ev.len = p->data.len;
        ev.id = buf_cstr(&p->last_id);
        stop = p->cb.on_event(&ev, p->cb.ctx);
    }
    buf_reset(&p->data);
    buf_reset(&p->type);
    return stop ? SSE_STOPPED : RC_OK;
}

static enum rc retry_field(struct sse_parser *p, const char *value, size_t len)
{
    uint64_t ms = 0;
    size_t i;

    /* Only ASCII digits, and at least one: anything else is ignored. */
    if (len == 0)
        return RC_OK;
    for (i = 0; i < len; i++)
        if (value[i] < '0' || value[i] > '9')
            return RC_OK;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned)(value[i] - '0');

        ms = ms > (UINT64_MAX - d) / 10 ? UINT64_MAX : ms * 10 + d;
    }
    if (p->cb.on_retry && p->cb.on_retry(ms, p->cb.ctx))
        return SSE_STOPPED;
    return RC_OK;
}

static enum rc process_field(struct sse_parser *p, const char *name, size_t nlen,
                             const char *value, size_t vlen)
{
    if (field_is(name, nlen, "event")) {
        buf_reset(&p->type);
        buf_add(&p->type, value, vlen);
    } else if (field_is(name, nlen, "data")) {
        if (p->data.len >= p->max_event || vlen >= p->max_event - p->data.len)
            return RC_TOO_LARGE;
        buf_add(&p->data, value, vlen);
        buf_addch(&p->data, '\n');
    } else if (field_is(name, nlen, "id")) {
        if (!memchr(value, '\0', vlen)) {
            buf_reset(&p->id_buf);
            buf_add(&p->id_buf, value, vlen);
            p->id_dirty = true;
        }
    } else if (field_is(name, nlen, "retry")) {
        return retry_field(p, value, vlen);
    }
    /* Any other field, "Data" included (names are case-sensitive), is ignored. */
    return RC_OK;
}

static enum rc process_line(struct sse_parser *p)
{
    const char *line = buf_cstr(&p->line), *colon, *value;
    size_t len = p->line.len, nlen, vlen;

    if (len == 0)
        return dispatch(p);
    colon = memchr(line, ':', len);
    if (colon) {
        nlen = (size_t)(colon - line);
        value = colon + 1;
        vlen = len - nlen - 1;
        /* Exactly one space goes; a second one is part of the value. */
        if (vlen && *value == ' ') {
            value++;
            vlen--;
        }
    } else {
        nlen = len;
        value = line + len;
        vlen = 0;
    }
    if (colon == line) {
        if (p->cb.on_comment && p->cb.on_comment(value, vlen, p->cb.ctx))
            return SSE_STOPPED;
        return RC_OK;
    }
    return process_field(p, line, nlen, value, vlen);
}

/* Decoded text -> lines. A line is processed as soon as its CR or LF arrives; a CR
 * leaves skip_lf set so that an LF at the start of the next chunk joins it. */
static enum rc lines_feed(struct sse_parser *p, const char *s, size_t n)
{
    enum rc rc;
    size_t k;

    while (n) {
        if (p->skip_lf) {
            p->skip_lf = false;
            if (*s == '\n') {
                s++;
                n--;
                continue;
            }
        }
        for (k = 0; k < n && s[k] != '\r' && s[k] != '\n'; k++)
            ;
        if (p->line.len > p->max_line || k > p->max_line - p->line.len)
            return RC_TOO_LARGE;
        if (k)
            buf_add(&p->line, s, k);
        if (k == n)
            break;
        p->skip_lf = s[k] == '\r';
        s += k + 1;
        n -= k + 1;
        rc = process_line(p);
        buf_reset(&p->line);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

static enum rc pass(struct sse_parser *p, const void *s, size_t n)
{
    return n ? lines_feed(p, s, n) : RC_OK;
}

/* Bytes -> UTF-8 with each maximal invalid subsequence replaced by U+FFFD, as the
 * WHATWG Encoding standard's UTF-8 decoder does. Valid runs are passed on in place;
 * only a sequence cut by a chunk boundary is copied (into u8_pend). */
static enum rc utf8_feed(struct sse_parser *p, const unsigned char *s, size_t n)
{
    size_t i = 0, run = 0, seq = 0; /* s[run..) is valid and not yet passed on */
    enum rc rc;

    while (i < n) {
        unsigned char b = s[i];

        if (!p->u8_need) {
            if (b < 0x80) {
                i++;
                continue;
            }
            if (b >= 0xC2 && b <= 0xDF) {
                p->u8_need = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                p->u8_need = 2;
            } else if (b >= 0xF0 && b <= 0xF4) {
                p->u8_need = 3;
            } else {
                if ((rc = pass(p, s + run, i - run)) != RC_OK ||
                    (rc = pass(p, REPLACEMENT, REPLACEMENT_LEN)) != RC_OK)
                    return rc;
                run = ++i;
                continue;
            }
            /* The bounds that rule out overlongs, surrogates and > U+10FFFF. */
            p->u8_lower = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
            p->u8_upper = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
            p->u8_pend[0] = b;
            p->u8_npend = 1;
            p->u8_carried = false;
            seq = i++;
            continue;
        }
        if (b < p->u8_lower || b > p->u8_upper) {
            /* What came before b is one maximal invalid subsequence; b starts afresh.
             * A carried sequence lies wholly before this chunk's first byte. */
            if ((rc = pass(p, s + run, (p->u8_carried ? run : seq) - run)) != RC_OK ||
                (rc = pass(p, REPLACEMENT, REPLACEMENT_LEN)) != RC_OK)
                return rc;
            p->u8_need = 0;
            run = i;
            continue;
        }
        p->u8_lower = 0x80;
        p->u8_upper = 0xBF;
        p->u8_pend[p->u8_npend++] = b;
        i++;
        if (p->u8_npend == p->u8_need + 1) {
            p->u8_need = 0;
            if (p->u8_carried) {
                if ((rc = pass(p, p->u8_pend, p->u8_npend)) != RC_OK)
                    return rc;
                run = i;
            }
        }
    }
    if (!p->u8_need)
        return pass(p, s + run, n - run);
    if (p->u8_carried)
        return RC_OK; /* all of s continued the carried sequence */
    p->u8_carried = true;
    return pass(p, s + run, seq - run);
}

enum rc sse_parser_feed(struct sse_parser *p, const void *bytes, size_t len)
{
    const unsigned char *s = bytes;
    enum rc rc = RC_OK;

    if (p->rc != RC_OK)
        return p->rc;
    if (p->ended)
        return RC_INVALID;
    /* One BOM, only at the very start, possibly cut across chunks. */
    while (!p->bom_done && len) {
        if (*s == bom[p->bom_seen]) {
            s++;
            len--;
            p->bom_done = ++p->bom_seen == sizeof(bom);
            continue;
        }
        p->bom_done = true;
        rc = utf8_feed(p, bom, p->bom_seen);
        if (rc != RC_OK)
            break;
    }
    if (rc == RC_OK && len)
        rc = utf8_feed(p, s, len);
    p->rc = rc;
    return rc;
}

enum rc sse_parser_finish(struct sse_parser *p)
{
    if (p->rc != RC_OK)
        return p->rc;
    /* What is left cannot be followed by a line end: a partial line (a held BOM
     * prefix or UTF-8 tail is part of it) and an event never closed. WHATWG says to
     * discard them, so nothing is dispatched here. */
    p->ended = true;
    buf_reset(&p->line);
    buf_reset(&p->data);
    buf_reset(&p->type);
    p->u8_need = 0;
    p->skip_lf = false;
    return RC_OK;
}
