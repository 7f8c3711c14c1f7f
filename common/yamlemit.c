#include "yamlemit.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- characters ------------------------------------------------------------------- */

/* The length of the valid UTF-8 character at p (code point in *cp), or 0 when it is not
 * one (overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8_char(const unsigned char *p, size_t len, unsigned *cp)
{
    unsigned c = p[0], v;
    size_t n, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff))
        || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* What may stand as itself in a quoted or literal scalar: YAML's printable characters,
 * less those some readers take as line breaks or a byte-order mark. */
static bool printable(unsigned cp)
{
    if (cp >= 0x20 && cp <= 0x7e)
        return true;
    if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
        return false;
    return cp <= 0xd7ff || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

static void indent_to(struct buf *b, int n)
{
    while (n-- > 0)
        buf_addch(b, ' ');
}

/* ---- scalars ---------------------------------------------------------------------- */

/* A plain scalar that every reader takes for this very string: ASCII only, no indicator
 * first, nothing a YAML 1.1 or 1.2 reader would resolve to null, a boolean or a number. */
static bool plain_ok(const char *s)
{
    static const char *const words[] = {
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", NULL,
    };
    const char *const *w;
    size_t len = strlen(s), i;

    if (!len || strchr("-?:,[]{}#&*!|>'\"%@`.<=~+ ", s[0]) || (s[0] >= '0' && s[0] <= '9'))
        return false;
    if (s[len - 1] == ' ' || s[len - 1] == ':')
        return false;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    if (strstr(s, ": ") || strstr(s, " #"))
        return false;
    for (w = words; *w; w++)
        if (strcasecmp(s, *w) == 0)
            return false;
    return true;
}

static void add_quoted(struct buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    unsigned cp;

    buf_addch(b, '"');
    while (i < len) {
        unsigned char c = p[i];

        switch (c) {
        case '"': buf_addstr(b, "\\\""); i++; continue;
        case '\\': buf_addstr(b, "\\\\"); i++; continue;
        case '\n': buf_addstr(b, "\\n"); i++; continue;
        case '\r': buf_addstr(b, "\\r"); i++; continue;
        case '\t': buf_addstr(b, "\\t"); i++; continue;
        default: break;
        }
        n = utf8_char(p + i, len - i, &cp);
        if (!n) {
            buf_addstr(b, "\xef\xbf\xbd");
            i++;
        } else if (printable(cp)) {
            buf_add(b, p + i, n);
            i += n;
        } else {
            buf_addf(b, cp <= 0xff ? "\\x%02x" : "\\u%04x", cp);
            i += n;
        }
    }
    buf_addch(b, '"');
}

/* A string of several lines that reads well as a literal block: printable, no tab or
 * carriage return, no line ending in a space, not starting with a space or a newline. */
static bool literal_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, n;
    unsigned cp;

    if (!strchr(s, '\n') || s[0] == ' ' || s[0] == '\n')
        return false;
    while (i < len) {
        if (p[i] == '\n') {
            if (i && p[i - 1] == ' ')
                return false;
            i++;
            continue;
        }
        n = utf8_char(p + i, len - i, &cp);
        if (!n || !printable(cp))
            return false;
        i += n;
    }
    return p[len - 1] != ' ';
}

/* " |-" and the lines at indent; the chomping indicator keeps the trailing newlines. */
static void add_literal(struct buf *b, const char *s, int indent)
{
    size_t len = strlen(s), trailing = 0, i;
    const char *line, *end;

    while (trailing < len && s[len - 1 - trailing] == '\n')
        trailing++;
    buf_addstr(b, trailing == 0 ? " |-\n" : trailing == 1 ? " |\n" : " |+\n");
    for (line = s; line < s + len - trailing; line = end + 1) {
        end = memchr(line, '\n', (size_t)(s + len - trailing - line));
        if (!end)
            end = s + len - trailing;
        if (end > line) {
            indent_to(b, indent);
            buf_add(b, line, (size_t)(end - line));
        }
        buf_addch(b, '\n');
    }
    for (i = 1; i < trailing; i++)
        buf_addch(b, '\n');
}

static void add_number(struct buf *b, double d)
{
    if (isnan(d) || isinf(d))
        buf_addstr(b, "null");
    else if (d == floor(d) && fabs(d) < 1e15)
        buf_addf(b, "%.0f", d);
    else
        buf_addf(b, "%.17g", d);
}

static void add_key(struct buf *b, const char *key)
{
    if (plain_ok(key))
        buf_addstr(b, key);
    else
        add_quoted(b, key, strlen(key));
}

/* ---- blocks ----------------------------------------------------------------------- */

static void emit_members(struct buf *b, const cJSON *obj, int indent, bool first_inline);
static void emit_items(struct buf *b, const cJSON *arr, int indent);

static bool is_block(const cJSON *n)
{
    return (cJSON_IsObject(n) || cJSON_IsArray(n)) && n->child;
}

/* What follows "key:" or "-" on the same line, and the block below it when there is one;
 * indent is the column of the key or the dash. */
static void emit_after(struct buf *b, const cJSON *n, int indent, bool in_sequence)
{
    if (cJSON_IsObject(n) && n->child) {
        if (in_sequence) {
            buf_addch(b, ' ');
            emit_members(b, n, indent + 2, true);
        } else {
            buf_addch(b, '\n');
            emit_members(b, n, indent + 2, false);
        }
        return;
    }
    if (cJSON_IsArray(n) && n->child) {
        buf_addch(b, '\n');
        emit_items(b, n, indent + 2);
        return;
    }
    if (cJSON_IsString(n) && literal_ok(n->valuestring)) {
        add_literal(b, n->valuestring, indent + 2);
        return;
    }
    buf_addch(b, ' ');
    if (cJSON_IsObject(n))
        buf_addstr(b, "{}");
    else if (cJSON_IsArray(n))
        buf_addstr(b, "[]");
    else if (cJSON_IsString(n) && plain_ok(n->valuestring))
        buf_addstr(b, n->valuestring);
    else if (cJSON_IsString(n))
        add_quoted(b, n->valuestring, strlen(n->valuestring));
    else if (cJSON_IsNumber(n))
        add_number(b, n->valuedouble);
    else if (cJSON_IsTrue(n))
        buf_addstr(b, "true");
    else if (cJSON_IsFalse(n))
        buf_addstr(b, "false");
    else
        buf_addstr(b, "null");
    buf_addch(b, '\n');
}

static void emit_members(struct buf *b, const cJSON *obj, int indent, bool first_inline)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, obj) {
        if (!first_inline || m != obj->child)
            indent_to(b, indent);
        add_key(b, m->string ? m->string : "");
        buf_addch(b, ':');
        emit_after(b, m, indent, false);
    }
}

static void emit_items(struct buf *b, const cJSON *arr, int indent)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, arr) {
        indent_to(b, indent);
        buf_addch(b, '-');
        emit_after(b, it, indent, true);
    }
}

/* Bytes key takes as written: escapes make a quoted key longer than the string. */
static size_t key_width(const char *key)
{
    struct buf b = BUF_INIT;
    size_t n;

    if (strlen(key) > YAMLEMIT_MAX_KEY)
        return strlen(key);
    add_key(&b, key);
    n = b.len;
    buf_release(&b);
    return n;
}

static bool has_long_key(const cJSON *n)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, n) {
        if (cJSON_IsObject(n) && c->string && key_width(c->string) > YAMLEMIT_MAX_KEY)
            return true;
        if (is_block(c) && has_long_key(c))
            return true;
    }
    return false;
}

void yamlemit_doc(struct buf *out, const cJSON *doc)
{
    if (has_long_key(doc)) {
        char *text = cJSON_Print(doc);

        buf_addstr(out, text);
        buf_addch(out, '\n');
        cJSON_free(text);
        return;
    }
    if (cJSON_IsObject(doc) && doc->child) {
        emit_members(out, doc, 0, false);
    } else if (cJSON_IsArray(doc) && doc->child) {
        emit_items(out, doc, 0);
    } else {
        struct buf line = BUF_INIT;

        /* A lone scalar: as a member's value would be, without the key. A literal block's
         * lines go one column in: YAML readers take a block at column 0 for the end of
         * the document. */
        emit_after(&line, doc, -1, false);
        buf_addstr(out, line.data[0] == ' ' ? line.data + 1 : line.data);
        buf_release(&line);
    }
}
