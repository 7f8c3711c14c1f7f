#include "yamljson.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "xmalloc.h"

#define CORE_TAG "tag:yaml.org,2002:"
#define QUOTE_MAX 60

struct mark {
    size_t line, col; /* 1-based; col counts characters */
};

static void fatal_oom(void)
{
    fprintf(stderr, "fatal: out of memory in yamljson\n");
    abort();
}

/* cJSON returns NULL when its allocator fails; our policy makes that fatal. */
static cJSON *need(cJSON *item)
{
    if (!item)
        fatal_oom();
    return item;
}

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* ---- messages ---- */

__attribute__((format(printf, 2, 0)))
static void addvf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    buf_grow(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

/* Append s quoted for a one-line message: cut after QUOTE_MAX bytes (on a character
 * boundary), control bytes shown as \xNN. */
static void add_quoted(struct buf *out, const char *s, size_t n)
{
    size_t lim = n, i;

    if (lim > QUOTE_MAX) {
        lim = QUOTE_MAX;
        while (lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80)
            lim--;
    }
    buf_addch(out, '\'');
    for (i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            buf_addf(out, "\\x%02x", c);
        else
            buf_addch(out, (char)c);
    }
    if (lim < n)
        buf_addstr(out, "...");
    buf_addch(out, '\'');
}

/* A tag as people write it: "!!int" rather than "tag:yaml.org,2002:int". */
static void add_tag(struct buf *out, const char *tag)
{
    struct buf t = BUF_INIT;

    if (str_startswith(tag, CORE_TAG)) {
        buf_addstr(&t, "!!");
        buf_addstr(&t, tag + strlen(CORE_TAG));
    } else {
        buf_addstr(&t, tag);
    }
    add_quoted(out, t.data, t.len);
    buf_release(&t);
}

/* ---- a string-keyed hash map over borrowed keys ---- */

struct slot {
    const char *key; /* borrowed; NULL marks an empty slot */
    size_t len;
    size_t hash;
    struct mark mark;
    size_t index;
};

struct strmap {
    struct slot *slots;
    size_t cap, count; /* cap is 0 or a power of two */
};

static size_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 32));
}

static struct slot *strmap_probe(struct slot *slots, size_t cap, const char *key, size_t len,
                                 size_t hash)
{
    size_t i;

    for (i = hash & (cap - 1); slots[i].key; i = (i + 1) & (cap - 1))
        if (slots[i].hash == hash && slots[i].len == len && memcmp(slots[i].key, key, len) == 0)
            break;
    return &slots[i];
}

static struct slot *strmap_find(const struct strmap *m, const char *key, size_t len)
{
    struct slot *s;

    if (!m->cap)
        return NULL;
    s = strmap_probe(m->slots, m->cap, key, len, hash_bytes(key, len));
    return s->key ? s : NULL;
}

/* The slot for key: the existing one, or a new one holding only key. */
static struct slot *strmap_put(struct strmap *m, const char *key, size_t len)
{
    size_t hash = hash_bytes(key, len), i;
    struct slot *s;

    if ((m->count + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct slot *slots = xcalloc(cap, sizeof(*slots));

        for (i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                *strmap_probe(slots, cap, m->slots[i].key, m->slots[i].len, m->slots[i].hash) =
                    m->slots[i];
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    s = strmap_probe(m->slots, m->cap, key, len, hash);
    if (!s->key) {
        s->key = key;
        s->len = len;
        s->hash = hash;
        m->count++;
    }
    return s;
}

static void strmap_release(struct strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* ---- the tree builder shared by the YAML and JSON readers ---- */

struct anchor {
    char *name;
    const cJSON *node; /* in the tree, or owned when the anchor sat on a mapping key */
    cJSON *owned;
    char *text;        /* a scalar's text as written (so an alias can be a key); else NULL */
    size_t text_len;
    size_t nodes, height;
    size_t bytes;      /* text in the subtree: strings and keys */
};

struct frame {
    cJSON *node;       /* borrowed from the tree */
    char *key;         /* pending key of a mapping, owned; NULL while a key is wanted */
    size_t key_len;
    struct mark key_mark;
    struct strmap keys; /* keys so far, borrowed from the members' ->string */
    char *anchor;      /* owned */
    size_t nodes_before;
    size_t bytes_before;
    size_t height;     /* tallest child so far (a scalar is 0, a container 1 + children) */
};

struct builder {
    const char *name;
    struct buf *err;
    cJSON *root;
    struct frame *stack;
    size_t depth, cap;
    size_t nodes, max_nodes;
    size_t bytes;             /* text added so far: scalar values and keys */
    size_t alias_bytes;       /* of which copied by aliases */
    struct anchor *anchors;
    size_t n_anchors, anchors_cap;
    struct strmap anchor_map; /* name -> latest index in anchors */
    size_t open_anchors;      /* frames with an anchor */
    struct mark failed_at;
    bool syntax;              /* the failure was malformed text, not meaning */
};

static void builder_init(struct builder *b, const char *name, struct buf *err, size_t max_nodes)
{
    memset(b, 0, sizeof(*b));
    b->name = name;
    b->err = err;
    b->max_nodes = max_nodes;
}

static void builder_release(struct builder *b)
{
    size_t i;

    for (i = 0; i < b->depth; i++) {
        free(b->stack[i].key);
        free(b->stack[i].anchor);
        strmap_release(&b->stack[i].keys);
    }
    free(b->stack);
    for (i = 0; i < b->n_anchors; i++) {
        free(b->anchors[i].name);
        free(b->anchors[i].text);
        cJSON_Delete(b->anchors[i].owned);
    }
    free(b->anchors);
    strmap_release(&b->anchor_map);
    cJSON_Delete(b->root);
    memset(b, 0, sizeof(*b));
}

__attribute__((format(printf, 4, 5)))
static enum rc fail(struct builder *b, enum rc rc, struct mark m, const char *fmt, ...)
{
    va_list ap;

    b->failed_at = m;
    buf_addf(b->err, "%s:%zu:%zu: ", b->name, m.line, m.col);
    va_start(ap, fmt);
    addvf(b->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* fail() with a message built by the caller; releases msg. */
static enum rc fail_msg(struct builder *b, enum rc rc, struct mark m, struct buf *msg)
{
    fail(b, rc, m, "%s", buf_cstr(msg));
    buf_release(msg);
    return rc;
}

static struct frame *top(struct builder *b)
{
    return b->depth ? &b->stack[b->depth - 1] : NULL;
}

static bool wants_key(struct builder *b)
{
    struct frame *f = top(b);

    return f && cJSON_IsObject(f->node) && !f->key;
}

static void note_height(struct builder *b, size_t height)
{
    struct frame *f = top(b);

    if (f && f->height < height)
        f->height = height;
}

/* Count nodes about to be added, before anything is built (an alias bomb stops here). */
static enum rc reserve(struct builder *b, size_t nodes, size_t height, struct mark m)
{
    if (b->depth + height > YAMLJSON_MAX_DEPTH)
        return fail(b, RC_TOO_DEEP, m, "nesting deeper than %d levels", YAMLJSON_MAX_DEPTH);
    if (nodes > b->max_nodes - b->nodes)
        return fail(b, RC_TOO_LARGE, m,
                    "document has more than %zu nodes (each alias counts as a full copy)",
                    b->max_nodes);
    b->nodes += nodes;
    return RC_OK;
}

/* Aliases of long strings amplify memory without adding nodes; bound the text they copy. */
static enum rc reserve_alias_text(struct builder *b, size_t bytes, struct mark m)
{
    if (bytes > YAMLJSON_MAX_ALIAS_BYTES - b->alias_bytes)
        return fail(b, RC_TOO_LARGE, m, "aliases copy more than %d bytes of text",
                    YAMLJSON_MAX_ALIAS_BYTES);
    b->alias_bytes += bytes;
    return RC_OK;
}

/* Hang item (taken over) where the document is: root, next array element, or the
 * value of the pending key. */
static void attach(struct builder *b, cJSON *item)
{
    struct frame *f = top(b);
    struct slot *s;

    if (!f) {
        b->root = item;
        return;
    }
    if (!cJSON_IsObject(f->node)) {
        if (!cJSON_AddItemToArray(f->node, item))
            fatal_oom();
        return;
    }
    if (!cJSON_AddItemToObject(f->node, f->key, item))
        fatal_oom();
    s = strmap_put(&f->keys, item->string, f->key_len);
    s->mark = f->key_mark;
    free(f->key);
    f->key = NULL;
}

static void add_anchor(struct builder *b, const char *name, const cJSON *node, cJSON *owned,
                       const char *text, size_t text_len, size_t nodes, size_t height,
                       size_t bytes)
{
    struct anchor *a;

    if (b->n_anchors == b->anchors_cap) {
        b->anchors_cap = b->anchors_cap ? b->anchors_cap * 2 : 8;
        b->anchors = xrealloc(b->anchors, b->anchors_cap * sizeof(*b->anchors));
    }
    a = &b->anchors[b->n_anchors];
    a->name = xstrdup(name);
    a->node = node;
    a->owned = owned;
    a->text = NULL;
    a->text_len = text_len;
    if (text) {
        a->text = xmalloc(text_len + 1);
        memcpy(a->text, text, text_len);
        a->text[text_len] = '\0';
    }
    a->nodes = nodes;
    a->height = height;
    a->bytes = bytes;
    strmap_put(&b->anchor_map, a->name, strlen(a->name))->index = b->n_anchors++;
}

static enum rc open_container(struct builder *b, bool is_map, struct mark m, const char *anchor)
{
    size_t before = b->nodes;
    struct frame *f;
    cJSON *node;
    enum rc rc;

    if ((rc = reserve(b, 1, 1, m)))
        return rc;
    node = need(is_map ? cJSON_CreateObject() : cJSON_CreateArray());
    attach(b, node);
    if (b->depth == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->stack = xrealloc(b->stack, b->cap * sizeof(*b->stack));
    }
    f = &b->stack[b->depth++];
    memset(f, 0, sizeof(*f));
    f->node = node;
    f->nodes_before = before;
    f->bytes_before = b->bytes;
    if (anchor) {
        f->anchor = xstrdup(anchor);
        b->open_anchors++;
    }
    return RC_OK;
}

static void close_container(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    size_t height = f->height + 1;

    if (f->anchor) {
        add_anchor(b, f->anchor, f->node, NULL, NULL, 0, b->nodes - f->nodes_before, height,
                   b->bytes - f->bytes_before);
        free(f->anchor);
        b->open_anchors--;
    }
    free(f->key);
    strmap_release(&f->keys);
    note_height(b, height);
}

/* Take text as the pending key of the innermost mapping; a repeat is an error. */
static enum rc set_key(struct builder *b, const char *text, size_t len, struct mark m)
{
    struct frame *f = top(b);
    struct slot *s;
    struct buf msg = BUF_INIT;

    if (memchr(text, '\0', len)) {
        buf_addstr(&msg, "mapping key ");
        add_quoted(&msg, text, len);
        buf_addstr(&msg, " contains a nul character, which is not supported");
        return fail_msg(b, RC_UNSUPPORTED, m, &msg);
    }
    s = strmap_find(&f->keys, text, len);
    if (s) {
        buf_addstr(&msg, "duplicate key ");
        add_quoted(&msg, text, len);
        buf_addf(&msg, " (first at %zu:%zu)", s->mark.line, s->mark.col);
        return fail_msg(b, RC_PARSE, m, &msg);
    }
    f->key = xmalloc(len + 1);
    memcpy(f->key, text, len);
    f->key[len] = '\0';
    f->key_len = len;
    f->key_mark = m;
    b->bytes += len;
    return RC_OK;
}

/* ---- scalars: YAML 1.2 core schema ---- */

static size_t span_digits(const char *s, size_t n, int base)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];
        bool ok = base == 8    ? (c >= '0' && c <= '7')
                  : base == 10 ? (c >= '0' && c <= '9')
                               : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                     (c >= 'A' && c <= 'F');

        if (!ok)
            break;
    }
    return i;
}

static bool is_null_text(const char *s, size_t n)
{
    return n == 0 || eq(s, n, "~") || eq(s, n, "null") || eq(s, n, "Null") || eq(s, n, "NULL");
}

/* 1 true, 0 false, -1 neither. */
static int bool_text(const char *s, size_t n)
{
    if (eq(s, n, "true") || eq(s, n, "True") || eq(s, n, "TRUE"))
        return 1;
    if (eq(s, n, "false") || eq(s, n, "False") || eq(s, n, "FALSE"))
        return 0;
    return -1;
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
static bool is_int_text(const char *s, size_t n)
{
    if (n > 2 && s[0] == '0' && s[1] == 'o')
        return span_digits(s + 2, n - 2, 8) == n - 2;
    if (n > 2 && s[0] == '0' && s[1] == 'x')
        return span_digits(s + 2, n - 2, 16) == n - 2;
    if (n && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    return n > 0 && span_digits(s, n, 10) == n;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_text(const char *s, size_t n)
{
    size_t i = 0, d;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    if (i < n && s[i] == '.') {
        i++;
        if (!(d = span_digits(s + i, n - i, 10)))
            return false;
        i += d;
    } else {
        if (!(d = span_digits(s + i, n - i, 10)))
            return false;
        i += d;
        if (i < n && s[i] == '.') {
            i++;
            i += span_digits(s + i, n - i, 10);
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (!(d = span_digits(s + i, n - i, 10)))
            return false;
        i += d;
    }
    return i == n;
}

/* [-+]?\.(inf|Inf|INF) | \.nan|\.NaN|\.NAN */
static bool is_inf_or_nan_text(const char *s, size_t n)
{
    const char *t = s;
    size_t m = n;

    if (eq(s, n, ".nan") || eq(s, n, ".NaN") || eq(s, n, ".NAN"))
        return true;
    if (m && (t[0] == '-' || t[0] == '+')) {
        t++;
        m--;
    }
    return eq(t, m, ".inf") || eq(t, m, ".Inf") || eq(t, m, ".INF");
}

static enum rc too_large(struct builder *b, const char *s, size_t n, struct mark m)
{
    struct buf msg = BUF_INIT;

    buf_addstr(&msg, "number ");
    add_quoted(&msg, s, n);
    buf_addstr(&msg, " is too large for json");
    return fail_msg(b, RC_UNSUPPORTED, m, &msg);
}

/* strtod on s..s+n in any locale; RC_UNSUPPORTED when the value overflows a double. */
static enum rc to_number(struct builder *b, const char *s, size_t n, struct mark m, double *out)
{
    char small[64], *copy = n < sizeof(small) ? small : xmalloc(n + 1);
    const char *point = localeconv()->decimal_point;
    size_t i;

    memcpy(copy, s, n);
    copy[n] = '\0';
    /* strtod reads the locale's decimal point; YAML and JSON always use '.'. */
    if (point && point[0] && point[0] != '.' && !point[1])
        for (i = 0; i < n; i++)
            if (copy[i] == '.')
                copy[i] = point[0];
    *out = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    return isfinite(*out) ? RC_OK : too_large(b, s, n, m);
}

static enum rc int_value(struct builder *b, const char *s, size_t n, struct mark m, double *out)
{
    size_t i;

    if (n > 2 && s[0] == '0' && s[1] == 'o') {
        /* strtod knows no octal; exact up to 2^53, the nearest double beyond. */
        double v = 0;

        for (i = 2; i < n; i++)
            v = v * 8 + (s[i] - '0');
        *out = v;
        return isfinite(v) ? RC_OK : too_large(b, s, n, m);
    }
    return to_number(b, s, n, m, out); /* decimal, and C99 strtod reads 0x hex */
}

enum kind { K_AUTO, K_STR, K_INT, K_FLOAT, K_BOOL, K_NULL, K_MAP, K_SEQ, K_ANY, K_OTHER };

static enum kind tag_kind(const char *tag)
{
    static const struct {
        const char *name;
        enum kind kind;
    } core[] = {
        { "str", K_STR },   { "int", K_INT }, { "float", K_FLOAT }, { "bool", K_BOOL },
        { "null", K_NULL }, { "map", K_MAP }, { "seq", K_SEQ },
    };
    size_t i;

    if (strcmp(tag, "!") == 0)
        return K_ANY; /* the non-specific tag: "not plain", so a string for scalars */
    if (!str_startswith(tag, CORE_TAG))
        return K_OTHER;
    for (i = 0; i < sizeof(core) / sizeof(core[0]); i++)
        if (strcmp(tag + strlen(CORE_TAG), core[i].name) == 0)
            return core[i].kind;
    return K_OTHER;
}

static enum rc unsupported_tag(struct builder *b, const char *tag, struct mark m)
{
    struct buf msg = BUF_INIT;

    buf_addstr(&msg, "unsupported tag ");
    add_tag(&msg, tag);
    return fail_msg(b, RC_UNSUPPORTED, m, &msg);
}

static enum rc wrong_tag(struct builder *b, const char *tag, const char *what, struct mark m)
{
    struct buf msg = BUF_INIT;

    buf_addstr(&msg, "tag ");
    add_tag(&msg, tag);
    buf_addf(&msg, " cannot apply to a %s", what);
    return fail_msg(b, RC_PARSE, m, &msg);
}

static enum rc not_a(struct builder *b, const char *s, size_t n, const char *tag, const char *what,
                     struct mark m)
{
    struct buf msg = BUF_INIT;

    add_quoted(&msg, s, n);
    buf_addf(&msg, " is not %s (tag ", what);
    add_tag(&msg, tag);
    buf_addch(&msg, ')');
    return fail_msg(b, RC_PARSE, m, &msg);
}

static enum rc inf_or_nan(struct builder *b, const char *s, size_t n, struct mark m)
{
    struct buf msg = BUF_INIT;

    add_quoted(&msg, s, n);
    buf_addstr(&msg, " (infinity or not-a-number) cannot be represented in json;"
                     " quote it for a string");
    return fail_msg(b, RC_UNSUPPORTED, m, &msg);
}

/* The JSON value of a YAML scalar event, new in *out. */
static enum rc resolve_scalar(struct builder *b, const yaml_event_t *ev, cJSON **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    size_t n = ev->data.scalar.length;
    struct mark m = { ev->start_mark.line + 1, ev->start_mark.column + 1 };
    enum kind kind;
    double d;
    int truth;
    enum rc rc;

    *out = NULL;
    if (memchr(s, '\0', n)) {
        struct buf msg = BUF_INIT;

        buf_addstr(&msg, "string ");
        add_quoted(&msg, s, n);
        buf_addstr(&msg, " contains a nul character, which is not supported");
        return fail_msg(b, RC_UNSUPPORTED, m, &msg);
    }
    if (!tag)
        kind = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? K_AUTO : K_STR;
    else
        kind = tag_kind(tag);

    switch (kind) {
    case K_STR:
    case K_ANY:
        *out = need(cJSON_CreateString(s));
        return RC_OK;
    case K_NULL:
        if (!is_null_text(s, n))
            return not_a(b, s, n, tag, "null", m);
        *out = need(cJSON_CreateNull());
        return RC_OK;
    case K_BOOL:
        if ((truth = bool_text(s, n)) < 0)
            return not_a(b, s, n, tag, "a boolean", m);
        *out = need(cJSON_CreateBool(truth));
        return RC_OK;
    case K_INT:
        if (!is_int_text(s, n))
            return not_a(b, s, n, tag, "an integer", m);
        if ((rc = int_value(b, s, n, m, &d)))
            return rc;
        *out = need(cJSON_CreateNumber(d));
        return RC_OK;
    case K_FLOAT:
        if (is_inf_or_nan_text(s, n))
            return inf_or_nan(b, s, n, m);
        if (!is_float_text(s, n))
            return not_a(b, s, n, tag, "a float", m);
        if ((rc = to_number(b, s, n, m, &d)))
            return rc;
        *out = need(cJSON_CreateNumber(d));
        return RC_OK;
    case K_MAP:
    case K_SEQ:
        return wrong_tag(b, tag, "scalar", m);
    case K_OTHER:
        return unsupported_tag(b, tag, m);
    case K_AUTO:
        break;
    }

    if (is_null_text(s, n)) {
        *out = need(cJSON_CreateNull());
    } else if ((truth = bool_text(s, n)) >= 0) {
        *out = need(cJSON_CreateBool(truth));
    } else if (is_int_text(s, n)) {
        if ((rc = int_value(b, s, n, m, &d)))
            return rc;
        *out = need(cJSON_CreateNumber(d));
    } else if (is_float_text(s, n)) {
        if ((rc = to_number(b, s, n, m, &d)))
            return rc;
        *out = need(cJSON_CreateNumber(d));
    } else if (is_inf_or_nan_text(s, n)) {
        return inf_or_nan(b, s, n, m);
    } else {
        *out = need(cJSON_CreateString(s));
    }
    return RC_OK;
}

/* ---- YAML: libyaml events into the builder, iteratively ---- */

static struct mark ymark(yaml_mark_t m)
{
    struct mark r = { m.line + 1, m.column + 1 };

    return r;
}

/* line:col of byte offset off, counted the way libyaml counts marks. */
static struct mark offset_mark(const char *s, size_t len, size_t off)
{
    struct mark m = { 1, 1 };
    size_t i;

    if (off > len)
        off = len;
    for (i = 0; i < off; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n' || (c == '\r' && (i + 1 >= len || s[i + 1] != '\n'))) {
            m.line++;
            m.col = 1;
        } else if (c != '\r' && (c & 0xC0) != 0x80) {
            m.col++;
        }
    }
    return m;
}

static enum rc yaml_failed(struct builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "malformed yaml";
    struct mark m;

    if (p->error == YAML_MEMORY_ERROR)
        fatal_oom();
    b->syntax = true;
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        m = offset_mark(text, len, p->problem_offset);
        if (p->problem_value >= 0)
            return fail(b, RC_PARSE, m, "%s (0x%x)", problem, (unsigned)p->problem_value);
        return fail(b, RC_PARSE, m, "%s", problem);
    }
    m = ymark(p->problem_mark);
    if (p->context)
        return fail(b, RC_PARSE, m, "%s (%s at %zu:%zu)", problem, p->context,
                    (size_t)p->context_mark.line + 1, (size_t)p->context_mark.column + 1);
    return fail(b, RC_PARSE, m, "%s", problem);
}

static enum rc on_start(struct builder *b, const yaml_event_t *ev)
{
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    const char *tag =
        (const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    const char *anchor =
        (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    const char *what = is_map ? "mapping" : "sequence";
    struct mark m = ymark(ev->start_mark);
    enum kind kind;

    if (wants_key(b))
        return fail(b, RC_UNSUPPORTED, m, "a %s cannot be a mapping key (json keys are strings)",
                    what);
    if (tag) {
        kind = tag_kind(tag);
        if (kind == K_OTHER)
            return unsupported_tag(b, tag, m);
        if (kind != K_ANY && kind != (is_map ? K_MAP : K_SEQ))
            return wrong_tag(b, tag, what, m);
    }
    return open_container(b, is_map, m, anchor);
}

static enum rc on_scalar(struct builder *b, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    size_t n = ev->data.scalar.length;
    struct mark m = ymark(ev->start_mark);
    cJSON *node = NULL;
    enum rc rc;

    if (wants_key(b)) {
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
            eq(s, n, "<<"))
            return fail(b, RC_UNSUPPORTED, m,
                        "merge key '<<' is not supported"
                        " (write the keys out, or quote '<<' for a plain key)");
        /* A key is its text; resolve only to check a tag or to keep an anchored value. */
        if ((ev->data.scalar.tag || anchor) && (rc = resolve_scalar(b, ev, &node)))
            return rc;
        if ((rc = set_key(b, s, n, m))) {
            cJSON_Delete(node);
            return rc;
        }
        if (anchor)
            add_anchor(b, anchor, node, node, s, n, 1, 0, n);
        else
            cJSON_Delete(node);
        return RC_OK;
    }
    if ((rc = reserve(b, 1, 0, m)) || (rc = resolve_scalar(b, ev, &node)))
        return rc;
    attach(b, node);
    b->bytes += n;
    if (anchor)
        add_anchor(b, anchor, node, NULL, s, n, 1, 0, n);
    return RC_OK;
}

static enum rc on_alias(struct builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct mark m = ymark(ev->start_mark);
    const struct anchor *a;
    struct slot *s;
    enum rc rc;
    size_t i;

    for (i = b->depth; b->open_anchors && i > 0; i--)
        if (b->stack[i - 1].anchor && strcmp(b->stack[i - 1].anchor, name) == 0)
            return fail(b, RC_UNSUPPORTED, m,
                        "alias '*%s' refers to a node that contains it (recursive)", name);
    if (!(s = strmap_find(&b->anchor_map, name, strlen(name))))
        return fail(b, RC_PARSE, m, "alias '*%s' refers to an undefined anchor", name);
    a = &b->anchors[s->index];
    if (wants_key(b)) {
        if (!a->text)
            return fail(b, RC_UNSUPPORTED, m,
                        "alias '*%s' is a %s and cannot be a mapping key (json keys are strings)",
                        name, cJSON_IsObject(a->node) ? "mapping" : "sequence");
        if ((rc = reserve_alias_text(b, a->text_len, m)))
            return rc;
        return set_key(b, a->text, a->text_len, m);
    }
    if ((rc = reserve(b, a->nodes, a->height, m)) || (rc = reserve_alias_text(b, a->bytes, m)))
        return rc;
    b->bytes += a->bytes;
    attach(b, need(cJSON_Duplicate(a->node, true)));
    note_height(b, a->height);
    return RC_OK;
}

static enum rc on_event(struct builder *b, const yaml_event_t *ev, int *docs, bool *done)
{
    struct mark m = ymark(ev->start_mark);

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if ((*docs)++)
            return fail(b, RC_PARSE, m, "more than one document");
        return RC_OK;
    case YAML_STREAM_END_EVENT:
        *done = true;
        if (!*docs) {
            struct mark first = { 1, 1 }; /* libyaml puts the stream end past the last line */

            return fail(b, RC_PARSE, first, "empty document");
        }
        return RC_OK;
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        close_container(b);
        return RC_OK;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        break;
    }
    return RC_OK;
}

static enum rc parse_yaml(struct builder *b, const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    enum rc rc = RC_OK;
    bool done = false;
    int docs = 0;

    if (!yaml_parser_initialize(&p))
        fatal_oom();
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    while (!done && rc == RC_OK) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = yaml_failed(b, &p, text, len);
            break;
        }
        rc = on_event(b, &ev, &docs, &done);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- JSON: strict RFC 8259, iterative, with positions ---- */

struct json {
    struct builder *b;
    const unsigned char *p, *end;
    size_t line, col;
    struct buf str;
};

static struct mark jmark(const struct json *j)
{
    struct mark m = { j->line, j->col };

    return m;
}

/* Past one byte outside a string. */
static void jstep(struct json *j)
{
    unsigned char c = *j->p++;

    if (c == '\n' || (c == '\r' && (j->p == j->end || *j->p != '\n'))) {
        j->line++;
        j->col = 1;
    } else if (c != '\r' && (c & 0xC0) != 0x80) {
        j->col++;
    }
}

static void jskip_ws(struct json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        jstep(j);
}

__attribute__((format(printf, 3, 4)))
static enum rc jsyntax(struct json *j, struct mark m, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    addvf(&msg, fmt, ap);
    va_end(ap);
    j->b->syntax = true;
    return fail_msg(j->b, RC_PARSE, m, &msg);
}

/* "<what>, found 'x'" at the current position. */
static enum rc jfound(struct json *j, const char *what)
{
    if (j->p == j->end)
        return jsyntax(j, jmark(j), "%s, found end of input", what);
    if (*j->p >= 0x20 && *j->p < 0x7f)
        return jsyntax(j, jmark(j), "%s, found '%c'", what, *j->p);
    return jsyntax(j, jmark(j), "%s, found byte 0x%02x", what, *j->p);
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        lo = s[0] == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = s[0] == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

static bool hex4(const unsigned char *s, const unsigned char *end, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (end - s < 4)
        return false;
    for (i = 0; i < 4; i++) {
        unsigned char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return false;
    }
    *out = v;
    return true;
}

static void add_utf8(struct buf *out, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_add(out, u, n);
}

/* One escape at j->p (a backslash) into j->str. */
static enum rc jescape(struct json *j)
{
    struct mark m = jmark(j);
    const unsigned char *e = j->p + 1;
    unsigned cp, lo;
    size_t used = 2;

    if (e == j->end)
        return jsyntax(j, m, "unterminated escape at end of input");
    switch (*e) {
    case '"': case '\\': case '/':
        buf_addch(&j->str, (char)*e);
        break;
    case 'b': buf_addch(&j->str, '\b'); break;
    case 'f': buf_addch(&j->str, '\f'); break;
    case 'n': buf_addch(&j->str, '\n'); break;
    case 'r': buf_addch(&j->str, '\r'); break;
    case 't': buf_addch(&j->str, '\t'); break;
    case 'u':
        if (!hex4(e + 1, j->end, &cp))
            return jsyntax(j, m, "invalid \\u escape (four hex digits expected)");
        used = 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return jsyntax(j, m, "invalid \\u escape (unpaired surrogate)");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (j->end - e < 7 || e[5] != '\\' || e[6] != 'u' || !hex4(e + 7, j->end, &lo) ||
                lo < 0xDC00 || lo > 0xDFFF)
                return jsyntax(j, m, "invalid \\u escape (unpaired surrogate)");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        }
        if (cp == 0)
            return fail(j->b, RC_UNSUPPORTED, m,
                        "string contains '\\u0000', which is not supported");
        add_utf8(&j->str, cp);
        break;
    default:
        if (*e >= 0x20 && *e < 0x7f)
            return jsyntax(j, m, "invalid escape '\\%c'", *e);
        return jsyntax(j, m, "invalid escape (byte 0x%02x after '\\')", *e);
    }
    j->p += used;
    j->col += used;
    return RC_OK;
}

/* The string at j->p (a quote) into j->str. */
static enum rc jstring(struct json *j)
{
    struct mark start = jmark(j);
    enum rc rc;

    buf_reset(&j->str);
    jstep(j);
    for (;;) {
        const unsigned char *run = j->p;
        size_t n;

        while (j->p < j->end && *j->p >= 0x20 && *j->p < 0x80 && *j->p != '"' && *j->p != '\\')
            j->p++;
        buf_add(&j->str, run, (size_t)(j->p - run));
        j->col += (size_t)(j->p - run);
        if (j->p == j->end)
            return jsyntax(j, start, "unterminated string");
        if (*j->p == '"') {
            jstep(j);
            return RC_OK;
        }
        if (*j->p == '\\') {
            if ((rc = jescape(j)))
                return rc;
            continue;
        }
        if (*j->p < 0x20)
            return jsyntax(j, jmark(j), "control character 0x%02x in string (escape it)", *j->p);
        if (!(n = utf8_len(j->p, (size_t)(j->end - j->p))))
            return jsyntax(j, jmark(j), "invalid utf-8 in string (byte 0x%02x)", *j->p);
        buf_add(&j->str, j->p, n);
        j->p += n;
        j->col++;
    }
}

static enum rc jnumber(struct json *j, double *out)
{
    const unsigned char *s = j->p;
    size_t n = (size_t)(j->end - j->p), i = 0;
    struct mark m = jmark(j);

    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
        if (i < n && s[i] >= '0' && s[i] <= '9')
            return jsyntax(j, m, "invalid number (leading zero)");
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        i += span_digits((const char *)s + i, n - i, 10);
    } else {
        return jsyntax(j, m, "invalid number");
    }
    if (i < n && s[i] == '.') {
        size_t d = span_digits((const char *)s + i + 1, n - i - 1, 10);

        if (!d)
            return jsyntax(j, m, "invalid number (digits expected after '.')");
        i += 1 + d;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t d;

        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (!(d = span_digits((const char *)s + i, n - i, 10)))
            return jsyntax(j, m, "invalid number (digits expected in exponent)");
        i += d;
    }
    j->p += i;
    j->col += i;
    return to_number(j->b, (const char *)s, i, m, out);
}

/* A value starting at j->p: a scalar (attached, *done set) or a container (opened). */
static enum rc jvalue(struct json *j, bool *done, bool *opened_map, bool *opened_seq)
{
    struct mark m = jmark(j);
    size_t left = (size_t)(j->end - j->p);
    cJSON *item = NULL;
    enum rc rc;
    double d;

    if (j->p == j->end)
        return jfound(j, "expected a value");
    switch (*j->p) {
    case '{':
    case '[':
        if ((rc = open_container(j->b, *j->p == '{', m, NULL)))
            return rc;
        *(*j->p == '{' ? opened_map : opened_seq) = true;
        jstep(j);
        return RC_OK;
    case '"':
        if ((rc = jstring(j)))
            return rc;
        item = need(cJSON_CreateString(buf_cstr(&j->str)));
        break;
    case 't':
    case 'f':
    case 'n':
        if (left >= 4 && memcmp(j->p, "true", 4) == 0)
            item = need(cJSON_CreateTrue());
        else if (left >= 5 && memcmp(j->p, "false", 5) == 0)
            item = need(cJSON_CreateFalse());
        else if (left >= 4 && memcmp(j->p, "null", 4) == 0)
            item = need(cJSON_CreateNull());
        else
            return jsyntax(j, m, "invalid literal (true, false or null expected)");
        j->p += cJSON_IsFalse(item) ? 5 : 4;
        j->col += cJSON_IsFalse(item) ? 5 : 4;
        break;
    default:
        if (*j->p != '-' && !(*j->p >= '0' && *j->p <= '9'))
            return jfound(j, "expected a value");
        if ((rc = jnumber(j, &d)))
            return rc;
        item = need(cJSON_CreateNumber(d));
        break;
    }
    if ((rc = reserve(j->b, 1, 0, m))) {
        cJSON_Delete(item);
        return rc;
    }
    attach(j->b, item);
    *done = true;
    return RC_OK;
}

enum jstate { J_VALUE, J_FIRST_VALUE, J_FIRST_KEY, J_KEY, J_COLON, J_NEXT };

static enum rc parse_json(struct builder *b, const char *text, size_t len)
{
    struct json j;
    enum jstate st = J_VALUE;
    enum rc rc = RC_OK;

    memset(&j, 0, sizeof(j));
    j.b = b;
    j.p = (const unsigned char *)text;
    j.end = j.p + len;
    j.line = j.col = 1;
    for (;;) {
        bool done = false, opened_map = false, opened_seq = false;
        struct frame *f;
        struct mark m;

        jskip_ws(&j);
        m = jmark(&j);
        f = top(b);
        if ((st == J_FIRST_VALUE && j.p < j.end && *j.p == ']') ||
            (st == J_FIRST_KEY && j.p < j.end && *j.p == '}')) {
            jstep(&j);
            close_container(b);
            done = true;
        } else if (st == J_VALUE || st == J_FIRST_VALUE) {
            rc = jvalue(&j, &done, &opened_map, &opened_seq);
            st = opened_map ? J_FIRST_KEY : opened_seq ? J_FIRST_VALUE : st;
        } else if (st == J_FIRST_KEY || st == J_KEY) {
            if (j.p == j.end || *j.p != '"')
                rc = jfound(&j, st == J_KEY ? "expected a string key after ','"
                                            : "expected a string key or '}'");
            else if (!(rc = jstring(&j)))
                rc = set_key(b, buf_cstr(&j.str), j.str.len, m);
            st = J_COLON;
        } else if (st == J_COLON) {
            if (j.p == j.end || *j.p != ':')
                rc = jfound(&j, "expected ':' after the key");
            else
                jstep(&j);
            st = J_VALUE;
        } else {
            bool is_map = cJSON_IsObject(f->node);

            if (j.p < j.end && *j.p == ',') {
                jstep(&j);
                st = is_map ? J_KEY : J_VALUE;
            } else if (j.p < j.end && *j.p == (is_map ? '}' : ']')) {
                jstep(&j);
                close_container(b);
                done = true;
            } else {
                rc = jfound(&j, is_map ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
        if (rc)
            break;
        if (done) {
            if (b->depth == 0) {
                jskip_ws(&j);
                if (j.p != j.end)
                    rc = jfound(&j, "expected end of input after the json value");
                break;
            }
            st = J_NEXT;
        }
    }
    buf_release(&j.str);
    return rc;
}

/* ---- entry points ---- */

static bool looks_like_json(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i < n && (s[i] == '{' || s[i] == '[');
}

static bool is_json_name(const char *name)
{
    size_t n = strlen(name);

    return n >= 5 && strcasecmp(name + n - 5, ".json") == 0;
}

static bool mark_before(struct mark a, struct mark b)
{
    return a.line < b.line || (a.line == b.line && a.col < b.col);
}

enum rc yamljson_parse(const char *text, size_t len, const char *name, cJSON **out,
                       struct buf *err)
{
    struct buf msg[2] = { BUF_INIT, BUF_INIT };
    struct builder b[2]; /* [0] JSON, [1] YAML */
    enum rc rc[2] = { RC_ERR, RC_ERR };
    enum rc result;
    bool strict;
    int win;

    *out = NULL;
    if (!text) {
        text = "";
        len = 0;
    }
    if (!name)
        name = "<input>";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    builder_init(&b[0], name, &msg[0], SIZE_MAX);
    builder_init(&b[1], name, &msg[1], YAMLJSON_MAX_NODES);
    strict = is_json_name(name);
    win = strict || looks_like_json(text, len) ? 0 : 1;
    if (win == 0) {
        rc[0] = parse_json(&b[0], text, len);
        if (rc[0] != RC_OK && b[0].syntax && !strict) {
            /* Not JSON; YAML (a superset) may still read it. When both fail, report the
             * reader that understood more of the text; ties go to JSON. */
            rc[1] = parse_yaml(&b[1], text, len);
            if (rc[1] == RC_OK || !b[1].syntax || mark_before(b[0].failed_at, b[1].failed_at))
                win = 1;
        }
    } else {
        rc[1] = parse_yaml(&b[1], text, len);
    }
    result = rc[win];
    if (result == RC_OK) {
        *out = b[win].root;
        b[win].root = NULL;
    } else if (err) {
        buf_add(err, msg[win].data, msg[win].len);
    }
    builder_release(&b[0]);
    builder_release(&b[1]);
    buf_release(&msg[0]);
    buf_release(&msg[1]);
    return result;
}

enum rc yamljson_load_file(const char *path, cJSON **out, struct buf *err)
{
    struct buf data = BUF_INIT;
    enum rc rc;
    ssize_t n;
    int fd, e;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto unreadable;
    for (;;) {
        buf_grow(&data, 65536);
        n = read(fd, data.data + data.len, data.cap - data.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto unreadable;
        if (n == 0)
            break;
        data.len += (size_t)n;
        data.data[data.len] = '\0';
    }
    close(fd);
    rc = yamljson_parse(data.data, data.len, path, out, err);
    buf_release(&data);
    return rc;

unreadable:
    e = errno;
    if (fd >= 0)
        close(fd);
    buf_release(&data);
    if (err)
        buf_addf(err, "cannot read '%s': %s", path, strerror(e));
    return e == ENOENT || e == ENOTDIR ? RC_NOT_FOUND : RC_IO;
}
