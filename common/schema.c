/* schema: JSON Schema draft 2020-12 validation (see schema.h).
 *
 * Supported keywords:
 *   type ("integer" is any number without a fractional part, so 1.0 is one), enum, const
 *   (deep equality: 1 == 1.0, object members in any order), multipleOf, maximum,
 *   exclusiveMaximum, minimum, exclusiveMinimum (2020-12 numbers; the OpenAPI 3.0 boolean
 *   form is honoured too), maxLength, minLength (Unicode code points), pattern (ECMA-262 on
 *   PCRE2), format, items, prefixItems, maxItems, minItems, uniqueItems, contains,
 *   maxContains, minContains, properties, patternProperties, additionalProperties,
 *   required, maxProperties, minProperties, propertyNames, dependentRequired,
 *   dependentSchemas, allOf, anyOf, oneOf, not, if/then/else, unevaluatedItems,
 *   unevaluatedProperties, $ref (siblings evaluated too), $dynamicRef/$dynamicAnchor, $defs
 *   (and definitions), $id (embedded resources, base URI changes, URNs), $anchor, boolean
 *   schemas, and OpenAPI 3.0 `nullable: true` (adds "null" to `type`, as 3.0.3 specifies).
 *   format asserts date-time, date, time, uri, uri-reference, uuid, email, ipv4, ipv6,
 *   hostname, json-pointer and relative-json-pointer unless SCHEMA_FORMAT_ANNOTATION.
 * Annotations and unknown keywords are ignored: $schema, $comment, title, description,
 *   default, examples, example, readOnly, writeOnly, deprecated, discriminator, xml,
 *   externalDocs, contentEncoding, contentMediaType, contentSchema, x-*.
 * Unsupported:
 *   - $refs into other documents (remote URLs, relative file refs that no $id inside the
 *     document names), including the draft 2020-12 meta-schema: RC_UNSUPPORTED;
 *   - $vocabulary and custom meta-schemas ($schema is not read);
 *   - formats duration, regex, uri-template, iri, iri-reference, idn-email, idn-hostname
 *     (never asserted);
 *   - pre-2019 keywords: dependencies, additionalItems (ignored), array-form items (an
 *     error in the schema);
 *   - patterns: lookbehind of varying length (PCRE2 10.42 rejects it: an invalid pattern);
 *     \S inside a character class keeps PCRE's ASCII meaning (so [\S] matches U+00A0).
 * Worth knowing:
 *   - numbers are cJSON doubles: integers beyond 2^53 compare approximately;
 *   - OpenAPI 3.0 ignores the siblings of a $ref; like 2020-12 we evaluate them;
 *   - `nullable: true` does not make null pass an allOf/$ref or enum that refuses it.
 *
 * How: schema_new walks the document once, knowing which keywords hold subschemas, and
 * builds sorted tables: every node with its parent and schema resource (for $id, for
 * $dynamicRef scopes and for error pointers), resources by URI, anchors, every $ref
 * already resolved, every pattern compiled. Validation only reads them, so it needs no
 * locks; a valid instance costs a pointer buffer, PCRE2 match data when a pattern runs,
 * and a bitset only for unevaluated* over more than 256 items or members.
 */
#include "schema.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "buf.h"
#include "jsonptr.h"
#include "xmalloc.h"

/* Backtracking steps one pattern match may take: a slow pattern fails instead of hanging. */
#define MATCH_LIMIT 1000000
/* How much of a value a message quotes. */
#define QUOTE_MAX 64
/* Scratch buffers for the values one message quotes. */
#define RING 4
/* Branches an anyOf/oneOf message explains. */
#define EXPLAIN_MAX 8

struct node_info {
    const cJSON *node;      /* first: the tables are sorted by this pointer */
    const cJSON *parent;    /* NULL for the root */
    size_t res;             /* the schema resource the node belongs to */
};

struct resource {
    char *uri;              /* absolute (or, without any $id, relative to "") and fragment-free */
    const cJSON *node;
};

struct anchor {
    size_t res;
    const char *name;       /* borrowed from the document */
    const cJSON *node;
    bool dynamic;           /* $dynamicAnchor (which is also a plain anchor) */
};

struct pattern {
    const cJSON *node;      /* a "pattern" member, or a patternProperties member (its key) */
    pcre2_code *code;       /* NULL when the pattern is invalid */
    char *error;            /* why, when code is NULL */
    bool in_schema;         /* a keyword of a schema, not data that looks like one */
    bool is_key;            /* a patternProperties key rather than a pattern value */
};

struct ref {
    const cJSON *node;      /* the "$ref" / "$dynamicRef" member */
    const cJSON *target;    /* NULL when unresolvable */
    size_t res;             /* the node's resource; after resolution, the target's */
    bool dynamic;
    bool in_schema;
    char *dyn_anchor;       /* a $dynamicRef whose first target has this $dynamicAnchor */
};

struct schema {
    const cJSON *root;
    unsigned flags;
    struct node_info *nodes;
    size_t nnodes, capnodes;
    struct resource *res;
    size_t nres, capres;
    struct anchor *anchors;
    size_t nanchors, capanchors;
    struct pattern *pats;
    size_t npats, cappats;
    struct ref *refs;
    size_t nrefs, caprefs;
    pcre2_match_context *mctx;
};

/* Room for one more element in arr, which holds n of *cap. */
static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 16;
    return xrealloc(arr, *cap * size);
}

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "fatal: out of memory in pcre2\n");
        abort();
    }
    return p;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || is_digit(c);
}

static bool is_hex(char c)
{
    return hex_digit_value(c) >= 0;
}

/* ---- URIs (RFC 3986 section 5: reference resolution) ---- */

struct uri {
    const char *scheme, *auth, *path, *query, *frag;    /* NULL when absent (path never) */
    size_t scheme_len, auth_len, path_len, query_len;
};

static void uri_split(const char *s, struct uri *u)
{
    const char *p = s, *q = s + strcspn(s, ":/?#");

    memset(u, 0, sizeof(*u));
    if (*q == ':' && q > p) {
        u->scheme = p;
        u->scheme_len = (size_t)(q - p);
        p = q + 1;
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        q = p + strcspn(p, "/?#");
        u->auth = p;
        u->auth_len = (size_t)(q - p);
        p = q;
    }
    q = p + strcspn(p, "?#");
    u->path = p;
    u->path_len = (size_t)(q - p);
    p = q;
    if (*p == '?') {
        p++;
        q = p + strcspn(p, "#");
        u->query = p;
        u->query_len = (size_t)(q - p);
        p = q;
    }
    if (*p == '#')
        u->frag = p + 1;
}

/* Drop the last segment (and its '/') of what was written to out since start. */
static void drop_segment(struct buf *out, size_t start)
{
    size_t i = out->len;

    while (i > start && out->data[i - 1] != '/')
        i--;
    buf_truncate(out, i > start ? i - 1 : start);
}

/* RFC 3986 5.2.4 remove_dot_segments: append path p[0..len) without "." and ".." to out. */
static void remove_dots(const char *p, size_t len, struct buf *out)
{
    const char *end = p + len;
    size_t start = out->len;

    while (p < end) {
        size_t n = (size_t)(end - p);

        if (n >= 3 && !memcmp(p, "../", 3))
            p += 3;
        else if (n >= 2 && !memcmp(p, "./", 2))
            p += 2;
        else if (n >= 3 && !memcmp(p, "/./", 3))
            p += 2;
        else if (n == 2 && !memcmp(p, "/.", 2)) {
            buf_addch(out, '/');
            p = end;
        } else if (n >= 4 && !memcmp(p, "/../", 4)) {
            p += 3;
            drop_segment(out, start);
        } else if (n == 3 && !memcmp(p, "/..", 3)) {
            drop_segment(out, start);
            buf_addch(out, '/');
            p = end;
        } else if ((n == 1 && *p == '.') || (n == 2 && !memcmp(p, "..", 2))) {
            p = end;
        } else {
            const char *q = p + 1;

            while (q < end && *q != '/')
                q++;
            buf_add(out, p, (size_t)(q - p));
            p = q;
        }
    }
}

/* ref resolved against base (RFC 3986 5.2.2), as a new string; base may be relative or "". */
static char *uri_resolve(const char *base, const char *ref)
{
    struct uri b, r;
    const char *scheme, *auth, *query;
    size_t scheme_len, auth_len, query_len;
    struct buf out = BUF_INIT, path = BUF_INIT;

    uri_split(base, &b);
    uri_split(ref, &r);
    if (r.scheme || r.auth) {
        scheme = r.scheme ? r.scheme : b.scheme;
        scheme_len = r.scheme ? r.scheme_len : b.scheme_len;
        auth = r.auth;
        auth_len = r.auth_len;
        remove_dots(r.path, r.path_len, &path);
        query = r.query;
        query_len = r.query_len;
    } else {
        scheme = b.scheme;
        scheme_len = b.scheme_len;
        auth = b.auth;
        auth_len = b.auth_len;
        if (r.path_len == 0) {
            buf_add(&path, b.path, b.path_len);
            query = r.query ? r.query : b.query;
            query_len = r.query ? r.query_len : b.query_len;
        } else {
            if (r.path[0] == '/') {
                remove_dots(r.path, r.path_len, &path);
            } else {
                struct buf merged = BUF_INIT;
                size_t keep = b.path_len;

                while (keep > 0 && b.path[keep - 1] != '/')
                    keep--;
                if (b.auth && b.path_len == 0)
                    buf_addch(&merged, '/');
                buf_add(&merged, b.path, keep);
                buf_add(&merged, r.path, r.path_len);
                remove_dots(buf_cstr(&merged), merged.len, &path);
                buf_release(&merged);
            }
            query = r.query;
            query_len = r.query_len;
        }
    }
    if (scheme) {
        buf_add(&out, scheme, scheme_len);
        buf_addch(&out, ':');
    }
    if (auth) {
        buf_addstr(&out, "//");
        buf_add(&out, auth, auth_len);
    }
    buf_add(&out, buf_cstr(&path), path.len);
    if (query) {
        buf_addch(&out, '?');
        buf_add(&out, query, query_len);
    }
    if (r.frag) {
        buf_addch(&out, '#');
        buf_addstr(&out, r.frag);
    }
    buf_release(&path);
    return buf_detach(&out, NULL);
}

/* ---- patterns: ECMA-262 regular expressions on PCRE2 ----
 * PCRE2 is compiled with UTF but without UCP: that makes \d, \w and \b ASCII-only as in
 * ECMA-262, while \p{...} still knows Unicode. What PCRE does differently is rewritten:
 * \s (Unicode spaces and U+FEFF), \v, \uXXXX and \u{...}, '.', long \p names, and escapes
 * ECMA-262 does not have are errors. */

static const char ECMA_SPACES[] = "\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
                                  "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}";

/* Long general category names (compared loosely) to the short ones PCRE2 10.42 knows. */
static const char *const GENERAL_CATEGORIES[][2] = {
    { "other", "C" }, { "control", "Cc" }, { "cntrl", "Cc" }, { "format", "Cf" },
    { "unassigned", "Cn" }, { "privateuse", "Co" }, { "surrogate", "Cs" },
    { "letter", "L" }, { "casedletter", "L&" }, { "lowercaseletter", "Ll" },
    { "modifierletter", "Lm" }, { "otherletter", "Lo" }, { "titlecaseletter", "Lt" },
    { "uppercaseletter", "Lu" }, { "mark", "M" }, { "combiningmark", "M" },
    { "spacingmark", "Mc" }, { "enclosingmark", "Me" }, { "nonspacingmark", "Mn" },
    { "number", "N" }, { "decimalnumber", "Nd" }, { "digit", "Nd" }, { "letternumber", "Nl" },
    { "othernumber", "No" }, { "punctuation", "P" }, { "punct", "P" },
    { "connectorpunctuation", "Pc" }, { "dashpunctuation", "Pd" },
    { "closepunctuation", "Pe" }, { "finalpunctuation", "Pf" },
    { "initialpunctuation", "Pi" }, { "otherpunctuation", "Po" },
    { "openpunctuation", "Ps" }, { "symbol", "S" }, { "currencysymbol", "Sc" },
    { "modifiersymbol", "Sk" }, { "mathsymbol", "Sm" }, { "othersymbol", "So" },
    { "separator", "Z" }, { "lineseparator", "Zl" }, { "paragraphseparator", "Zp" },
    { "spaceseparator", "Zs" },
};

/* Unicode property names match loosely: case, '_', '-' and ' ' do not count. */
static bool loose_equal(const char *a, size_t alen, const char *b)
{
    size_t i = 0;

    for (;;) {
        while (i < alen && (a[i] == '_' || a[i] == '-' || a[i] == ' '))
            i++;
        if (i == alen || !*b)
            return i == alen && !*b;
        if ((a[i] | 0x20) != *b)
            return false;
        i++;
        b++;
    }
}

static void add_category(struct buf *out, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(GENERAL_CATEGORIES) / sizeof(GENERAL_CATEGORIES[0]); i++)
        if (loose_equal(name, len, GENERAL_CATEGORIES[i][0])) {
            buf_addstr(out, GENERAL_CATEGORIES[i][1]);
            return;
        }
    buf_add(out, name, len);
}

/* \p{...} / \P{...} at p: append the PCRE spelling, return the length consumed (0: bad). */
static size_t translate_property(const char *p, struct buf *out)
{
    const char *name = p + 3, *close, *eq;
    size_t len;

    if (p[2] != '{' || !(close = strchr(name, '}')) || close == name)
        return 0;
    len = (size_t)(close - name);
    buf_add(out, p, 3);
    eq = memchr(name, '=', len);
    if (!eq) {
        add_category(out, name, len);
    } else if (loose_equal(name, (size_t)(eq - name), "generalcategory")
               || loose_equal(name, (size_t)(eq - name), "gc")) {
        add_category(out, eq + 1, (size_t)(close - eq - 1));
    } else {
        buf_add(out, name, len);    /* Script=, sc=, Script_Extensions=, scx=: PCRE knows them */
    }
    buf_addch(out, '}');
    return len + 4;
}

/* \uXXXX (a surrogate pair as two of them) or \u{X...} at p: the code point and length. */
static size_t parse_u(const char *p, unsigned long *cp)
{
    size_t i, n;

    if (p[2] == '{') {
        for (n = 0, *cp = 0; is_hex(p[3 + n]) && n < 6; n++)
            *cp = *cp * 16 + (unsigned long)hex_digit_value(p[3 + n]);
        return n && p[3 + n] == '}' && *cp <= 0x10FFFF ? n + 4 : 0;
    }
    for (i = 0, *cp = 0; i < 4; i++) {
        if (!is_hex(p[2 + i]))
            return 0;
        *cp = *cp * 16 + (unsigned long)hex_digit_value(p[2 + i]);
    }
    if (*cp >= 0xD800 && *cp < 0xDC00 && p[6] == '\\' && p[7] == 'u') {
        unsigned long lo = 0;

        for (i = 0; i < 4 && is_hex(p[8 + i]); i++)
            lo = lo * 16 + (unsigned long)hex_digit_value(p[8 + i]);
        if (i == 4 && lo >= 0xDC00 && lo < 0xE000) {
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
            return 12;
        }
    }
    return 6;
}

/* Rewrite an ECMA-262 pattern for PCRE2; false with a reason in err when it is not valid. */
static bool translate(const char *p, struct buf *out, struct buf *err)
{
    bool in_class = false;

    while (*p) {
        if (*p == '\\') {
            char e = p[1];
            unsigned long cp;
            size_t used;

            switch (e) {
            case '\0':
                buf_addstr(err, "\\ at end of pattern");
                return false;
            case 's':
                if (in_class)
                    buf_addstr(out, ECMA_SPACES);
                else
                    buf_addf(out, "[%s]", ECMA_SPACES);
                p += 2;
                continue;
            case 'S':
                if (in_class)
                    buf_addstr(out, "\\S");
                else
                    buf_addf(out, "[^%s]", ECMA_SPACES);
                p += 2;
                continue;
            case 'v':
                buf_addstr(out, "\\x{0b}");
                p += 2;
                continue;
            case 'u':
                if (!(used = parse_u(p, &cp))) {
                    buf_addstr(err, "invalid \\u escape");
                    return false;
                }
                buf_addf(out, "\\x{%lx}", cp);
                p += used;
                continue;
            case 'p':
            case 'P':
                if (!(used = translate_property(p, out))) {
                    buf_addf(err, "invalid \\%c escape", e);
                    return false;
                }
                p += used;
                continue;
            case 'c':
                if (!is_alpha(p[2])) {
                    buf_addstr(err, "invalid \\c escape");
                    return false;
                }
                buf_add(out, p, 3);
                p += 3;
                continue;
            default:
                if (is_alpha(e) && !strchr("bBdDfknrtwWx", e)) {
                    buf_addf(err, "\\%c is not an ECMA-262 escape", e);
                    return false;
                }
                buf_add(out, p, 2);
                p += 2;
                continue;
            }
        }
        if (in_class) {
            in_class = *p != ']';
            buf_addch(out, *p++);
        } else if (*p == '[') {
            in_class = true;
            buf_addch(out, *p++);
            if (*p == '^')
                buf_addch(out, *p++);
        } else if (*p == '.') {
            buf_addstr(out, "[^\\n\\r\\x{2028}\\x{2029}]");
            p++;
        } else {
            buf_addch(out, *p++);
        }
    }
    return true;
}

static void add_pattern(struct schema *s, const cJSON *node, const char *src, bool in_schema)
{
    struct buf out = BUF_INIT, err = BUF_INIT;
    struct pattern *p;

    s->pats = grow(s->pats, s->npats, &s->cappats, sizeof(*s->pats));
    p = &s->pats[s->npats++];
    p->node = node;
    p->code = NULL;
    p->error = NULL;
    p->in_schema = in_schema;
    p->is_key = src == node->string;
    if (translate(src, &out, &err)) {
        int code;
        PCRE2_SIZE off;

        p->code = pcre2_compile((PCRE2_SPTR)buf_cstr(&out), out.len,
                                PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS,
                                &code, &off, NULL);
        if (!p->code) {
            PCRE2_UCHAR msg[256];

            if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
                strcpy((char *)msg, "unknown error");
            buf_addstr(&err, (const char *)msg);
        }
    }
    if (!p->code)
        p->error = buf_detach(&err, NULL);
    buf_release(&out);
    buf_release(&err);
}

/* ---- schema_new: one walk over the document ---- */

enum mode {
    M_SCHEMA,   /* a schema (an object or a boolean) */
    M_MAP,      /* an object whose member values are schemas */
    M_LIST,     /* an array of schemas */
    M_DATA,     /* anything else in a schema: enum values, examples, unknown keywords */
    M_DOC,      /* an OpenAPI document around the schemas */
};

static const char *const SCHEMA_KEYWORDS[] = {
    "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
    "unevaluatedItems", "unevaluatedProperties", "contentSchema", "additionalItems", NULL,
};
static const char *const MAP_KEYWORDS[] = {
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
    "dependencies", NULL,
};
static const char *const LIST_KEYWORDS[] = { "allOf", "anyOf", "oneOf", "prefixItems", NULL };

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

static enum mode child_mode(enum mode m, const cJSON *parent, const cJSON *child)
{
    const char *k = child->string;

    switch (m) {
    case M_SCHEMA:
        if (!cJSON_IsObject(parent) || !k)
            return M_DATA;
        if (in_list(k, SCHEMA_KEYWORDS))
            return cJSON_IsArray(child) ? M_LIST : M_SCHEMA;
        if (in_list(k, MAP_KEYWORDS))
            return M_MAP;
        return in_list(k, LIST_KEYWORDS) ? M_LIST : M_DATA;
    case M_MAP:
        return cJSON_IsObject(parent) ? M_SCHEMA : M_DATA;
    case M_LIST:
        return cJSON_IsArray(parent) ? M_SCHEMA : M_DATA;
    case M_DOC:
        if (cJSON_IsObject(parent) && k && !strcmp(k, "schema"))
            return M_SCHEMA;
        if (cJSON_IsObject(parent) && k && !strcmp(k, "schemas"))
            return M_MAP;
        return M_DOC;
    default:
        return M_DATA;
    }
}

static size_t add_resource(struct schema *s, char *uri, const cJSON *node)
{
    s->res = grow(s->res, s->nres, &s->capres, sizeof(*s->res));
    s->res[s->nres].uri = uri;
    s->res[s->nres].node = node;
    return s->nres++;
}

static void add_anchor(struct schema *s, size_t res, const cJSON *name, const cJSON *node,
                       bool dynamic)
{
    if (!cJSON_IsString(name))
        return;
    s->anchors = grow(s->anchors, s->nanchors, &s->capanchors, sizeof(*s->anchors));
    s->anchors[s->nanchors].res = res;
    s->anchors[s->nanchors].name = name->valuestring;
    s->anchors[s->nanchors].node = node;
    s->anchors[s->nanchors].dynamic = dynamic;
    s->nanchors++;
}

static void add_ref(struct schema *s, const cJSON *member, size_t res, bool dynamic,
                    bool in_schema)
{
    if (!cJSON_IsString(member))
        return;
    s->refs = grow(s->refs, s->nrefs, &s->caprefs, sizeof(*s->refs));
    s->refs[s->nrefs].node = member;
    s->refs[s->nrefs].target = NULL;
    s->refs[s->nrefs].res = res;
    s->refs[s->nrefs].dynamic = dynamic;
    s->refs[s->nrefs].in_schema = in_schema;
    s->refs[s->nrefs].dyn_anchor = NULL;
    s->nrefs++;
}

/* Record node; for a schema, its $id (a new resource) and anchors; for any object, the
 * patterns and refs it holds (a $ref may point anywhere, even into unknown keywords). */
static size_t visit(struct schema *s, const cJSON *node, const cJSON *parent, size_t res,
                    enum mode mode)
{
    const cJSON *m;

    if (mode == M_SCHEMA && cJSON_IsObject(node)) {
        m = cJSON_GetObjectItemCaseSensitive(node, "$id");
        if (cJSON_IsString(m)) {
            char *uri = uri_resolve(s->res[res].uri, m->valuestring), *hash = strchr(uri, '#');

            /* A non-empty fragment makes the $id invalid in 2020-12: not an identifier. */
            if (hash && hash[1]) {
                free(uri);
            } else {
                if (hash)
                    *hash = '\0';
                res = add_resource(s, uri, node);
            }
        }
        add_anchor(s, res, cJSON_GetObjectItemCaseSensitive(node, "$anchor"), node, false);
        add_anchor(s, res, cJSON_GetObjectItemCaseSensitive(node, "$dynamicAnchor"), node, true);
    }
    s->nodes = grow(s->nodes, s->nnodes, &s->capnodes, sizeof(*s->nodes));
    s->nodes[s->nnodes].node = node;
    s->nodes[s->nnodes].parent = parent;
    s->nodes[s->nnodes].res = res;
    s->nnodes++;
    if (cJSON_IsObject(node)) {
        m = cJSON_GetObjectItemCaseSensitive(node, "pattern");
        if (cJSON_IsString(m))
            add_pattern(s, m, m->valuestring, mode == M_SCHEMA);
        m = cJSON_GetObjectItemCaseSensitive(node, "patternProperties");
        if (cJSON_IsObject(m))
            for (m = m->child; m; m = m->next)
                if (m->string)
                    add_pattern(s, m, m->string, mode == M_SCHEMA);
        add_ref(s, cJSON_GetObjectItemCaseSensitive(node, "$ref"), res, false, mode == M_SCHEMA);
        add_ref(s, cJSON_GetObjectItemCaseSensitive(node, "$dynamicRef"), res, true,
                mode == M_SCHEMA);
    }
    return res;
}

static int cmp_first_pointer(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const cJSON *const *)a, y = (uintptr_t) * (const cJSON *const *)b;

    return x < y ? -1 : x > y;
}

static const struct node_info *find_node(const struct schema *s, const cJSON *node)
{
    return s->nnodes ? bsearch(&node, s->nodes, s->nnodes, sizeof(*s->nodes), cmp_first_pointer)
                     : NULL;
}

static size_t node_res(const struct schema *s, const cJSON *node, size_t fallback)
{
    const struct node_info *ni = find_node(s, node);

    return ni ? ni->res : fallback;
}

static const struct anchor *find_anchor(const struct schema *s, size_t res, const char *name,
                                        bool dynamic_only)
{
    size_t i;

    for (i = 0; i < s->nanchors; i++)
        if (s->anchors[i].res == res && !strcmp(s->anchors[i].name, name)
            && (!dynamic_only || s->anchors[i].dynamic))
            return &s->anchors[i];
    return NULL;
}

/* Resolve r against the resources and anchors of the whole document. */
static void resolve_ref(struct schema *s, struct ref *r)
{
    char *uri = uri_resolve(s->res[r->res].uri, r->node->valuestring);
    char *hash = strchr(uri, '#');
    const char *frag = hash ? hash + 1 : "";
    const cJSON *target = NULL;
    size_t i;

    if (hash)
        *hash = '\0';
    for (i = 0; i < s->nres && strcmp(s->res[i].uri, uri); i++)
        ;
    if (i < s->nres) {
        if (!*frag) {
            target = s->res[i].node;
        } else if (*frag == '/') {
            struct buf ptr = BUF_INIT;

            if (jsonptr_from_fragment(frag, &ptr) == RC_OK)
                target = jsonptr_get(s->res[i].node, buf_cstr(&ptr));
            buf_release(&ptr);
        } else {
            const struct anchor *a = find_anchor(s, i, frag, false);

            target = a ? a->node : NULL;
        }
    }
    r->target = target;
    if (target) {
        const cJSON *dyn = cJSON_GetObjectItemCaseSensitive(target, "$dynamicAnchor");

        r->res = node_res(s, target, i);
        /* Only a $dynamicRef whose first target bears the same $dynamicAnchor looks at the
         * dynamic scope ("bookending"); otherwise it is a plain $ref. */
        if (r->dynamic && *frag && *frag != '/' && cJSON_IsString(dyn)
            && !strcmp(dyn->valuestring, frag))
            r->dyn_anchor = xstrdup(frag);
    }
    free(uri);
}

struct walk {
    const cJSON *node, *parent;
    size_t res;
    enum mode mode;
};

struct schema *schema_new_flags(const cJSON *root, unsigned flags)
{
    struct schema *s = xcalloc(1, sizeof(*s));
    struct walk *stack = NULL;
    size_t top = 0, cap = 0, i;

    s->root = root;
    s->flags = flags;
    s->mctx = must(pcre2_match_context_create(NULL));
    pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
    add_resource(s, xstrdup(""), root);
    if (root) {
        stack = grow(stack, top, &cap, sizeof(*stack));
        stack[top].node = root;
        stack[top].parent = NULL;
        stack[top].res = 0;
        /* An OpenAPI document is not a schema: its schemas sit under "schema" and
         * "components/schemas" members. */
        stack[top].mode = cJSON_GetObjectItemCaseSensitive(root, "openapi") ? M_DOC : M_SCHEMA;
        top++;
    }
    while (top) {
        struct walk w = stack[--top];
        const cJSON *ch;
        size_t n = 0, res = visit(s, w.node, w.parent, w.res, w.mode);

        if (!cJSON_IsObject(w.node) && !cJSON_IsArray(w.node))
            continue;
        for (ch = w.node->child; ch; ch = ch->next)
            n++;
        while (cap < top + n) {
            cap = cap ? cap * 2 : 64;
            stack = xrealloc(stack, cap * sizeof(*stack));
        }
        /* Pushed in reverse so the document is visited in order: the first $id wins. */
        for (i = 0, ch = w.node->child; ch; ch = ch->next, i++) {
            struct walk *c = &stack[top + n - 1 - i];

            c->node = ch;
            c->parent = w.node;
            c->res = res;
            c->mode = child_mode(w.mode, w.node, ch);
        }
        top += n;
    }
    free(stack);
    if (s->nnodes)
        qsort(s->nodes, s->nnodes, sizeof(*s->nodes), cmp_first_pointer);
    for (i = 0; i < s->nrefs; i++)
        resolve_ref(s, &s->refs[i]);
    if (s->nrefs)
        qsort(s->refs, s->nrefs, sizeof(*s->refs), cmp_first_pointer);
    if (s->npats)
        qsort(s->pats, s->npats, sizeof(*s->pats), cmp_first_pointer);
    return s;
}

struct schema *schema_new(const cJSON *root)
{
    return schema_new_flags(root, 0);
}

void schema_free(struct schema *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->nres; i++)
        free(s->res[i].uri);
    for (i = 0; i < s->npats; i++) {
        pcre2_code_free(s->pats[i].code);
        free(s->pats[i].error);
    }
    for (i = 0; i < s->nrefs; i++)
        free(s->refs[i].dyn_anchor);
    pcre2_match_context_free(s->mctx);
    free(s->nodes);
    free(s->res);
    free(s->anchors);
    free(s->pats);
    free(s->refs);
    free(s);
}

/* ---- values ---- */

static bool is_integral(double d)
{
    return isfinite(d) && floor(d) == d;
}

static bool json_equal(const cJSON *a, const cJSON *b, int depth)
{
    const cJSON *x, *y;
    size_t na = 0, nb = 0;

    if (depth > 10000)
        return false;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return false;
    if (cJSON_IsString(a) || cJSON_IsRaw(a))
        return a->valuestring && b->valuestring && !strcmp(a->valuestring, b->valuestring);
    if (cJSON_IsArray(a)) {
        for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y, depth + 1))
                return false;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        for (x = a->child; x; x = x->next)
            na++;
        for (y = b->child; y; y = y->next)
            nb++;
        if (na != nb)
            return false;
        for (x = a->child; x; x = x->next) {
            y = x->string ? cJSON_GetObjectItemCaseSensitive(b, x->string) : NULL;
            if (!y || !json_equal(x, y, depth + 1))
                return false;
        }
        return true;
    }
    return true;    /* true, false, null */
}

static size_t count_children(const cJSON *v)
{
    size_t n = 0;

    for (v = v->child; v; v = v->next)
        n++;
    return n;
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void add_number(struct buf *b, double d)
{
    char tmp[40];
    int prec;

    if (is_integral(d) && fabs(d) < 1e15) {
        buf_addf(b, "%.0f", d);
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
    buf_addstr(b, tmp);
}

/* s as a JSON string, cut after QUOTE_MAX bytes (at a character boundary). */
static void add_quoted(struct buf *b, const char *s)
{
    size_t n = 0;

    buf_addch(b, '"');
    for (; *s; s++, n++) {
        unsigned char ch = (unsigned char)*s;

        if (n >= QUOTE_MAX && (ch & 0xC0) != 0x80) {
            buf_addstr(b, "...");
            break;
        }
        if (ch == '"' || ch == '\\')
            buf_addf(b, "\\%c", ch);
        else if (ch == '\n')
            buf_addstr(b, "\\n");
        else if (ch == '\t')
            buf_addstr(b, "\\t");
        else if (ch < 0x20 || ch == 0x7f)
            buf_addf(b, "\\u%04x", ch);
        else
            buf_addch(b, (char)ch);
    }
    buf_addch(b, '"');
}

static void add_value(struct buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        add_quoted(b, v->valuestring ? v->valuestring : "");
    } else if (cJSON_IsNumber(v)) {
        add_number(b, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        buf_addstr(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        buf_addstr(b, "null");
    } else {
        char *json = cJSON_PrintUnformatted(v);
        size_t len = json ? strlen(json) : 0;

        if (len > QUOTE_MAX) {
            len = QUOTE_MAX;
            while (len > 0 && ((unsigned char)json[len] & 0xC0) == 0x80)
                len--;
            buf_add(b, json, len);
            buf_addstr(b, "...");
        } else {
            buf_addstr(b, json ? json : "?");
        }
        cJSON_free(json);
    }
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsNull(v))
        return "null";
    return cJSON_IsObject(v) ? "an object" : "a boolean";
}

/* ---- formats ---- */

/* The value of exactly n ASCII digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* RFC 3339 full-date: exactly "YYYY-MM-DD" at the start of s. */
static bool full_date(const char *s)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = digits(s, 4), m, d;

    if (y < 0 || s[4] != '-' || (m = digits(s + 5, 2)) < 1 || m > 12 || s[7] != '-'
        || (d = digits(s + 8, 2)) < 1)
        return false;
    return d <= mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* RFC 3339 full-time, the whole of s; a leap second only at 23:59:60 UTC. */
static bool full_time(const char *s)
{
    int h = digits(s, 2), mi, sec, oh = 0, om = 0, sign = 0, utc;

    if (h < 0 || h > 23 || s[2] != ':' || (mi = digits(s + 3, 2)) < 0 || mi > 59 || s[5] != ':'
        || (sec = digits(s + 6, 2)) < 0 || sec > 60)
        return false;
    s += 8;
    if (*s == '.') {
        if (!is_digit(*++s))
            return false;
        while (is_digit(*s))
            s++;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s == '+' ? 1 : -1;
        if ((oh = digits(s + 1, 2)) < 0 || oh > 23 || s[3] != ':' || (om = digits(s + 4, 2)) < 0
            || om > 59)
            return false;
        s += 6;
    } else {
        return false;
    }
    if (*s)
        return false;
    utc = ((h * 60 + mi - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
    return sec < 60 || utc == 23 * 60 + 59;
}

static bool fmt_date_time(const char *s)
{
    return full_date(s) && (s[10] == 'T' || s[10] == 't') && full_time(s + 11);
}

static bool fmt_date(const char *s)
{
    return full_date(s) && s[10] == '\0';
}

static bool fmt_uuid(const char *s)
{
    int i;

    for (i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !is_hex(s[i]))
            return false;
    return s[36] == '\0';
}

/* The end of a dotted-quad IPv4 address at s (no leading zeros), or NULL. */
static const char *ipv4_end(const char *s)
{
    int part, v, n;

    for (part = 0; part < 4; part++) {
        if (part && *s++ != '.')
            return NULL;
        if (!is_digit(*s) || (*s == '0' && is_digit(s[1])))
            return NULL;
        for (v = 0, n = 0; is_digit(*s) && n < 3; n++)
            v = v * 10 + (*s++ - '0');
        if (v > 255 || is_digit(*s))
            return NULL;
    }
    return s;
}

static bool fmt_ipv4(const char *s)
{
    const char *end = ipv4_end(s);

    return end && !*end;
}

static bool fmt_ipv6(const char *s)
{
    const char *p = s;
    int groups = 0;
    bool elided = false;

    if (p[0] == ':') {
        if (p[1] != ':')
            return false;
        elided = true;
        p += 2;
        if (!*p)
            return true;
    }
    for (;;) {
        const char *q = p;

        while (is_hex(*q) && q - p < 5)
            q++;
        if (*q == '.') {
            if (!(q = ipv4_end(p)) || *q)
                return false;
            groups += 2;
            break;
        }
        if (q == p || q - p > 4)
            return false;
        groups++;
        p = q;
        if (!*p)
            break;
        if (*p++ != ':' || !*p)
            return false;
        if (*p == ':') {
            if (elided)
                return false;
            elided = true;
            if (!*++p)
                break;
        }
    }
    return elided ? groups < 8 : groups == 8;
}

/* RFC 1123 host name: dot-separated labels of 1-63 letters, digits and inner hyphens. */
static bool fmt_hostname(const char *s)
{
    size_t total = strlen(s), len = 0;
    const char *p;

    if (total == 0 || total > 253)
        return false;
    for (p = s;; p++) {
        if (*p == '.' || !*p) {
            if (len == 0 || len > 63 || p[-1] == '-')
                return false;
            if (!*p)
                return true;
            len = 0;
        } else if (is_alnum(*p) || (*p == '-' && len > 0)) {
            len++;
        } else {
            return false;
        }
    }
}

static bool is_atext(char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5321 Mailbox: dot-atom or quoted local part; host name or address literal. */
static bool fmt_email(const char *s)
{
    const char *p = s;

    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && !*++p)
                return false;
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return false;
        }
        if (*p++ != '"')
            return false;
    } else {
        for (;;) {
            const char *start = p;

            while (is_atext(*p))
                p++;
            if (p == start)
                return false;
            if (*p != '.')
                break;
            p++;
        }
    }
    if (*p++ != '@')
        return false;
    if (*p == '[') {
        char lit[64];
        size_t len = strlen(p);

        if (len < 3 || len - 2 >= sizeof(lit) || p[len - 1] != ']')
            return false;
        memcpy(lit, p + 1, len - 2);
        lit[len - 2] = '\0';
        return !strncmp(lit, "IPv6:", 5) ? fmt_ipv6(lit + 5) : fmt_ipv4(lit);
    }
    return fmt_hostname(p);
}

static bool is_unreserved(char c)
{
    return is_alnum(c) || (c && strchr("-._~", c));
}

static bool is_sub_delim(char c)
{
    return c && strchr("!$&'()*+,;=", c);
}

/* One URI character at *p from the classes RFC 3986 allows here; advance past it. */
static bool uri_char(const char **p, const char *extra)
{
    const char *s = *p;

    if (s[0] == '%') {
        if (!is_hex(s[1]) || !is_hex(s[2]))
            return false;
        *p += 3;
        return true;
    }
    if (is_unreserved(*s) || is_sub_delim(*s) || (*s && strchr(extra, *s))) {
        (*p)++;
        return true;
    }
    return false;
}

static bool uri_authority(const char *p, const char *end)
{
    const char *at = memchr(p, '@', (size_t)(end - p)), *q;

    if (at) {
        while (p < at)
            if (!uri_char(&p, ":"))
                return false;
        p = at + 1;
    }
    if (*p == '[') {
        char lit[64];
        const char *close = memchr(p, ']', (size_t)(end - p));
        size_t len = close ? (size_t)(close - p - 1) : 0;

        if (!close || len == 0 || len >= sizeof(lit))
            return false;
        memcpy(lit, p + 1, len);
        lit[len] = '\0';
        if (lit[0] == 'v' || lit[0] == 'V') {
            /* IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
            const char *f = lit + 1;

            while (is_hex(*f))
                f++;
            if (f == lit + 1 || *f++ != '.' || !*f)
                return false;
            while (*f)
                if (!uri_char(&f, ":") || f[-1] == '%')
                    return false;
        } else if (!fmt_ipv6(lit)) {
            return false;
        }
        p = close + 1;
    } else {
        while (p < end && *p != ':')
            if (!uri_char(&p, ""))
                return false;
    }
    if (p < end && *p++ != ':')
        return false;
    for (q = p; q < end; q++)
        if (!is_digit(*q))
            return false;
    return true;
}

/* RFC 3986 URI (scheme required) or URI-reference (need_scheme false). */
static bool fmt_uri(const char *s, bool need_scheme)
{
    const char *p = s, *q = s;
    bool scheme = false;

    if (is_alpha(*q)) {
        while (is_alnum(*q) || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            scheme = true;
            p = q + 1;
        }
    }
    if (!scheme && need_scheme)
        return false;
    if (p[0] == '/' && p[1] == '/') {
        const char *end = p + 2 + strcspn(p + 2, "/?#");

        if (!uri_authority(p + 2, end))
            return false;
        p = end;
    } else if (!scheme) {
        size_t seg = strcspn(p, "/?#");

        if (memchr(p, ':', seg))    /* path-noscheme: no ':' in the first segment */
            return false;
    }
    while (*p && *p != '?' && *p != '#')
        if (*p == '/')
            p++;
        else if (!uri_char(&p, ":@"))
            return false;
    if (*p == '?')
        for (p++; *p && *p != '#';)
            if (!uri_char(&p, ":@/?"))
                return false;
    if (*p == '#')
        for (p++; *p;)
            if (!uri_char(&p, ":@/?"))
                return false;
    return true;
}

static bool fmt_json_pointer(const char *s)
{
    if (*s && *s != '/')
        return false;
    for (; *s; s++)
        if (*s == '~' && s[1] != '0' && s[1] != '1')
            return false;
    return true;
}

static bool fmt_relative_json_pointer(const char *s)
{
    if (!is_digit(*s) || (*s == '0' && is_digit(s[1])))
        return false;
    while (is_digit(*s))
        s++;
    return (s[0] == '#' && !s[1]) || fmt_json_pointer(s);
}

/* 1 valid, 0 not, -1 a format we do not assert. */
static int check_format(const char *name, const char *s)
{
    if (!strcmp(name, "date-time"))
        return fmt_date_time(s);
    if (!strcmp(name, "date"))
        return fmt_date(s);
    if (!strcmp(name, "time"))
        return full_time(s);
    if (!strcmp(name, "uri"))
        return fmt_uri(s, true);
    if (!strcmp(name, "uri-reference"))
        return fmt_uri(s, false);
    if (!strcmp(name, "uuid"))
        return fmt_uuid(s);
    if (!strcmp(name, "email"))
        return fmt_email(s);
    if (!strcmp(name, "ipv4"))
        return fmt_ipv4(s);
    if (!strcmp(name, "ipv6"))
        return fmt_ipv6(s);
    if (!strcmp(name, "hostname"))
        return fmt_hostname(s);
    if (!strcmp(name, "json-pointer"))
        return fmt_json_pointer(s);
    if (!strcmp(name, "relative-json-pointer"))
        return fmt_relative_json_pointer(s);
    return -1;
}

/* ---- evaluation ---- */

/* Which items or members of the instance some subschema evaluated (for unevaluated*). */
struct ann {
    size_t n;
    uint64_t *bits;
    uint64_t small[4];
};

static void ann_init(struct ann *a, size_t n)
{
    size_t words = (n + 63) / 64;

    a->n = n;
    memset(a->small, 0, sizeof(a->small));
    a->bits = words <= 4 ? a->small : xcalloc(words, sizeof(uint64_t));
}

static void ann_release(struct ann *a)
{
    if (a->bits != a->small)
        free(a->bits);
}

static void ann_set(struct ann *a, size_t i)
{
    if (a && i < a->n)
        a->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool ann_get(const struct ann *a, size_t i)
{
    return i < a->n && (a->bits[i / 64] >> (i % 64) & 1);
}

static void ann_merge(struct ann *dst, const struct ann *src)
{
    size_t i;

    if (dst->n == src->n)
        for (i = 0; i < (src->n + 63) / 64; i++)
            dst->bits[i] |= src->bits[i];
}

/* One schema applied to one value; the chain is the dynamic scope. */
struct frame {
    const struct frame *up;
    const cJSON *schema, *inst;
    size_t res;
};

struct ctx {
    const struct schema *s;
    struct schema_errors *top;      /* the caller's list, or NULL */
    struct schema_errors *errs;     /* where violations go now; NULL while only probing */
    size_t limit;                   /* errs->count at which recording stops */
    bool dropped;
    enum rc fatal;                  /* set by the first error in the schema: stop */
    int depth;
    struct buf ptr;                 /* instance pointer of the value being validated */
    struct buf ring[RING];          /* scratch for values quoted in messages */
    unsigned ring_next;
    pcre2_match_data *md;
};

static struct buf *scratch(struct ctx *c)
{
    struct buf *b = &c->ring[c->ring_next++ % RING];

    buf_reset(b);
    return b;
}

static const char *vstr(struct ctx *c, const cJSON *v)
{
    struct buf *b = scratch(c);

    add_value(b, v);
    return buf_cstr(b);
}

static const char *qstr(struct ctx *c, const char *s)
{
    struct buf *b = scratch(c);

    add_quoted(b, s);
    return buf_cstr(b);
}

/* The pointer to node in the root document, appended to out. */
static void node_path(const struct schema *s, const cJSON *node, struct buf *out)
{
    const cJSON **chain = NULL;
    const struct node_info *ni;
    size_t n = 0, cap = 0, i;

    while ((ni = find_node(s, node)) && ni->parent) {
        chain = grow(chain, n, &cap, sizeof(*chain));
        chain[n++] = node;
        node = ni->parent;
    }
    for (i = n; i-- > 0;) {
        const cJSON *parent = find_node(s, chain[i])->parent, *e;
        size_t idx = 0;

        if (cJSON_IsArray(parent)) {
            for (e = parent->child; e && e != chain[i]; e = e->next)
                idx++;
            jsonptr_append_index(out, idx);
        } else {
            jsonptr_append(out, chain[i]->string ? chain[i]->string : "");
        }
    }
    free(chain);
}

static void push_error(struct schema_errors *e, const char *pointer, char *schema_pointer,
                       const char *keyword, char *message)
{
    struct schema_error *x;

    e->items = grow(e->items, e->count, &e->cap, sizeof(*e->items));
    x = &e->items[e->count++];
    x->pointer = xstrdup(pointer);
    x->schema_pointer = schema_pointer;
    x->keyword = xstrdup(keyword);
    x->message = message;
}

__attribute__((format(printf, 5, 0)))
static void add_to(struct ctx *c, struct schema_errors *e, const struct frame *f,
                   const char *kw, const char *fmt, va_list ap)
{
    struct buf msg = BUF_INIT, sp = BUF_INIT;
    va_list copy;
    int n;

    buf_addstr(&msg, c->ptr.len ? c->ptr.data : "/");
    buf_addstr(&msg, ": ");
    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n > 0) {
        buf_grow(&msg, (size_t)n);
        vsnprintf(msg.data + msg.len, (size_t)n + 1, fmt, ap);
        msg.len += (size_t)n;
    }
    node_path(c->s, f->schema, &sp);
    if (*kw && strcmp(kw, "false"))
        jsonptr_append(&sp, kw);
    push_error(e, buf_cstr(&c->ptr), buf_detach(&sp, NULL), kw, buf_detach(&msg, NULL));
}

/* Record a violation of keyword kw of the schema in f (only while collecting). */
__attribute__((format(printf, 4, 5)))
static void report(struct ctx *c, const struct frame *f, const char *kw, const char *fmt, ...)
{
    va_list ap;

    if (!c->errs)
        return;
    if (c->errs->count >= c->limit) {
        if (c->errs == c->top && !c->dropped) {
            struct buf msg = BUF_INIT;

            c->dropped = true;
            buf_addf(&msg, "/: too many violations; only the first %d are reported",
                     SCHEMA_MAX_ERRORS);
            push_error(c->errs, "", xstrdup(""), "", buf_detach(&msg, NULL));
        }
        return;
    }
    va_start(ap, fmt);
    add_to(c, c->errs, f, kw, fmt, ap);
    va_end(ap);
}

/* An error in the schema itself: stop validating and say why. */
__attribute__((format(printf, 5, 6)))
static void fatal(struct ctx *c, const struct frame *f, enum rc rc, const char *kw,
                  const char *fmt, ...)
{
    va_list ap;

    if (c->fatal)
        return;
    c->fatal = rc;
    if (!c->top)
        return;
    va_start(ap, fmt);
    add_to(c, c->top, f, kw, fmt, ap);
    va_end(ap);
}

/* Keyword lookups for one schema object, filled in one pass over its members. */
struct kw {
    const cJSON *type, *enum_, *const_, *multiple_of, *maximum, *exclusive_maximum, *minimum,
        *exclusive_minimum, *max_length, *min_length, *pattern, *format, *items, *prefix_items,
        *max_items, *min_items, *unique_items, *contains, *max_contains, *min_contains,
        *properties, *pattern_properties, *additional_properties, *required, *max_properties,
        *min_properties, *property_names, *dependent_required, *dependent_schemas, *all_of,
        *any_of, *one_of, *not_, *if_, *then_, *else_, *ref, *dynamic_ref, *unevaluated_items,
        *unevaluated_properties, *nullable, *id;
};

#define KW(name, field) { name, offsetof(struct kw, field) }
static const struct {
    const char *name;
    size_t off;
} KEYWORDS[] = {
    KW("type", type), KW("enum", enum_), KW("const", const_), KW("multipleOf", multiple_of),
    KW("maximum", maximum), KW("exclusiveMaximum", exclusive_maximum), KW("minimum", minimum),
    KW("exclusiveMinimum", exclusive_minimum), KW("maxLength", max_length),
    KW("minLength", min_length), KW("pattern", pattern), KW("format", format),
    KW("items", items), KW("prefixItems", prefix_items), KW("maxItems", max_items),
    KW("minItems", min_items), KW("uniqueItems", unique_items), KW("contains", contains),
    KW("maxContains", max_contains), KW("minContains", min_contains),
    KW("properties", properties), KW("patternProperties", pattern_properties),
    KW("additionalProperties", additional_properties), KW("required", required),
    KW("maxProperties", max_properties), KW("minProperties", min_properties),
    KW("propertyNames", property_names), KW("dependentRequired", dependent_required),
    KW("dependentSchemas", dependent_schemas), KW("allOf", all_of), KW("anyOf", any_of),
    KW("oneOf", one_of), KW("not", not_), KW("if", if_), KW("then", then_), KW("else", else_),
    KW("$ref", ref), KW("$dynamicRef", dynamic_ref), KW("unevaluatedItems", unevaluated_items),
    KW("unevaluatedProperties", unevaluated_properties), KW("nullable", nullable),
    KW("$id", id),
};
#undef KW

static void collect(struct kw *k, const cJSON *schema)
{
    const cJSON *m;
    size_t i;

    memset(k, 0, sizeof(*k));
    for (m = schema->child; m; m = m->next) {
        if (!m->string)
            continue;
        for (i = 0; i < sizeof(KEYWORDS) / sizeof(KEYWORDS[0]); i++) {
            const cJSON **slot = (const cJSON **)(void *)((char *)k + KEYWORDS[i].off);

            if (m->string[0] == KEYWORDS[i].name[0] && !strcmp(m->string, KEYWORDS[i].name)) {
                if (!*slot)     /* the first of duplicate keys, as cJSON lookups do */
                    *slot = m;
                break;
            }
        }
    }
}

static bool validate(struct ctx *c, const struct frame *up, const cJSON *schema,
                     const cJSON *inst, size_t res, struct ann *out);

/* A failed check: record it, and stop early unless collecting every violation. */
#define FAIL(kw, ...) \
    do { \
        ok = false; \
        if (!c->errs) \
            return false; \
        report(c, f, kw, __VA_ARGS__); \
    } while (0)

/* FAIL with c->ptr extended to a member; mark is its length before, restored after. */
#define FAIL_AT(mark, kw, ...) \
    do { \
        ok = false; \
        if (c->errs) \
            report(c, f, kw, __VA_ARGS__); \
        buf_truncate(&c->ptr, mark); \
        if (!c->errs) \
            return false; \
    } while (0)

/* A failed subschema (which recorded its own violations). */
#define SUB(expr) \
    do { \
        if (!(expr)) { \
            ok = false; \
            if (!c->errs || c->fatal) \
                return false; \
        } \
    } while (0)

/* Validate without recording violations (for anyOf, oneOf, not, if, contains). */
static bool probe(struct ctx *c, const struct frame *f, const cJSON *sub, const cJSON *inst,
                  struct ann *ann)
{
    struct schema_errors *saved = c->errs;
    bool ok;

    c->errs = NULL;
    ok = validate(c, f, sub, inst, f->res, ann);
    c->errs = saved;
    return ok;
}

/* sub applied to a member (key) or item (index) of the instance. */
static bool child(struct ctx *c, const struct frame *f, const cJSON *sub, const cJSON *value,
                  const char *key, size_t index, bool quiet)
{
    size_t len = c->ptr.len;
    bool ok;

    if (key)
        jsonptr_append(&c->ptr, key);
    else
        jsonptr_append_index(&c->ptr, index);
    ok = quiet ? probe(c, f, sub, value, NULL) : validate(c, f, sub, value, f->res, NULL);
    buf_truncate(&c->ptr, len);
    return ok;
}

/* Validate collecting into a private list; append the first violation to why (without the
 * location when it is the current one). */
static bool explain(struct ctx *c, const struct frame *f, const cJSON *sub, const cJSON *inst,
                    struct buf *why)
{
    struct schema_errors tmp = SCHEMA_ERRORS_INIT, *saved = c->errs;
    size_t saved_limit = c->limit;
    bool ok;

    c->errs = &tmp;
    c->limit = 1;
    ok = validate(c, f, sub, inst, f->res, NULL);
    c->errs = saved;
    c->limit = saved_limit;
    if (tmp.count) {
        const struct schema_error *e = &tmp.items[0];

        if (!strcmp(e->pointer, buf_cstr(&c->ptr)))
            buf_addstr(why, e->message + strlen(*e->pointer ? e->pointer : "/") + 2);
        else
            buf_addstr(why, e->message);
    } else {
        buf_addstr(why, ok ? "valid" : "invalid");
    }
    schema_errors_release(&tmp);
    return ok;
}

/* 1 match, 0 no match, -1 stop (an error in the schema), -2 could not match (reported). */
static int regex_test(struct ctx *c, const struct frame *f, const char *kw, const cJSON *node,
                      const char *pattern, const char *subject)
{
    const struct pattern *p = c->s->npats ? bsearch(&node, c->s->pats, c->s->npats,
                                                    sizeof(*c->s->pats), cmp_first_pointer)
                                          : NULL;
    PCRE2_UCHAR msg[128];
    int rc;

    if (!p || !p->code) {
        fatal(c, f, RC_PARSE, kw, "invalid pattern %s in the schema: %s", qstr(c, pattern),
              p ? p->error : "not compiled");
        return -1;
    }
    if (!c->md)
        c->md = must(pcre2_match_data_create(1, NULL));
    rc = pcre2_match(p->code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, c->md, c->s->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
        strcpy((char *)msg, "unknown error");
    if (c->errs)
        report(c, f, kw, "%s cannot be matched against pattern %s: %s", qstr(c, subject),
               qstr(c, pattern), (const char *)msg);
    return -2;
}

static bool type_is(const char *t, const cJSON *v)
{
    if (!strcmp(t, "string"))
        return cJSON_IsString(v);
    if (!strcmp(t, "number"))
        return cJSON_IsNumber(v);
    if (!strcmp(t, "integer"))
        return cJSON_IsNumber(v) && is_integral(v->valuedouble);
    if (!strcmp(t, "object"))
        return cJSON_IsObject(v);
    if (!strcmp(t, "array"))
        return cJSON_IsArray(v);
    if (!strcmp(t, "boolean"))
        return cJSON_IsBool(v);
    if (!strcmp(t, "null"))
        return cJSON_IsNull(v);
    return false;
}

static bool check_type(struct ctx *c, const struct frame *f, const struct kw *k)
{
    const cJSON *t = k->type, *e;
    struct buf *names;

    if (!t || (cJSON_IsNull(f->inst) && cJSON_IsTrue(k->nullable)))
        return true;
    if (cJSON_IsString(t)) {
        if (type_is(t->valuestring, f->inst))
            return true;
    } else if (cJSON_IsArray(t)) {
        cJSON_ArrayForEach(e, t)
            if (cJSON_IsString(e) && type_is(e->valuestring, f->inst))
                return true;
    } else {
        return true;    /* not a type keyword we can read */
    }
    if (!c->errs)
        return false;
    names = scratch(c);
    if (cJSON_IsString(t)) {
        add_quoted(names, t->valuestring);
    } else {
        cJSON_ArrayForEach(e, t)
            if (cJSON_IsString(e)) {
                if (names->len)
                    buf_addstr(names, e->next ? ", " : " or ");
                add_quoted(names, e->valuestring);
            }
    }
    report(c, f, "type", "%s is not of type %s", vstr(c, f->inst), buf_cstr(names));
    return false;
}

static bool check_values(struct ctx *c, const struct frame *f, const struct kw *k)
{
    const cJSON *e;
    bool ok = true;

    if (cJSON_IsArray(k->enum_)) {
        bool found = false;

        cJSON_ArrayForEach(e, k->enum_)
            if ((found = json_equal(e, f->inst, 0)))
                break;
        if (!found) {
            struct buf *list;
            int n = 0;

            if (!c->errs)
                return false;
            list = scratch(c);
            cJSON_ArrayForEach(e, k->enum_) {
                if (n++ == 10) {
                    buf_addstr(list, ", ...");
                    break;
                }
                if (n > 1)
                    buf_addstr(list, ", ");
                add_value(list, e);
            }
            FAIL("enum", "%s is not one of %s", vstr(c, f->inst), buf_cstr(list));
        }
    }
    if (k->const_ && !json_equal(k->const_, f->inst, 0))
        FAIL("const", "%s is not the constant %s", vstr(c, f->inst), vstr(c, k->const_));
    return ok;
}

static bool is_multiple(double x, double m)
{
    double q = x / m;

    if (is_integral(x) && is_integral(m))
        return fmod(x, m) == 0;
    if (!isfinite(q))
        return fmod(x, m) == 0;
    if (fabs(q) >= 9007199254740992.0)  /* 2^53: q has no fractional bits left */
        return true;
    /* x and m carry binary rounding (0.0075 / 0.0001 = 74.99999999999999): allow a few ulps. */
    return fabs(q - nearbyint(q)) <= fabs(q) * 8 * DBL_EPSILON;
}

static bool check_number(struct ctx *c, const struct frame *f, const struct kw *k)
{
    double x = f->inst->valuedouble;
    bool ok = true;

    if (cJSON_IsNumber(k->maximum) && x > k->maximum->valuedouble)
        FAIL("maximum", "%s is greater than the maximum %s", vstr(c, f->inst),
             vstr(c, k->maximum));
    if (cJSON_IsNumber(k->exclusive_maximum) && x >= k->exclusive_maximum->valuedouble)
        FAIL("exclusiveMaximum", "%s is not less than the exclusive maximum %s",
             vstr(c, f->inst), vstr(c, k->exclusive_maximum));
    /* OpenAPI 3.0 (draft 4): exclusiveMaximum: true makes maximum exclusive. */
    if (cJSON_IsTrue(k->exclusive_maximum) && cJSON_IsNumber(k->maximum)
        && x == k->maximum->valuedouble)
        FAIL("exclusiveMaximum", "%s is not less than the exclusive maximum %s",
             vstr(c, f->inst), vstr(c, k->maximum));
    if (cJSON_IsNumber(k->minimum) && x < k->minimum->valuedouble)
        FAIL("minimum", "%s is less than the minimum %s", vstr(c, f->inst), vstr(c, k->minimum));
    if (cJSON_IsNumber(k->exclusive_minimum) && x <= k->exclusive_minimum->valuedouble)
        FAIL("exclusiveMinimum", "%s is not greater than the exclusive minimum %s",
             vstr(c, f->inst), vstr(c, k->exclusive_minimum));
    if (cJSON_IsTrue(k->exclusive_minimum) && cJSON_IsNumber(k->minimum)
        && x == k->minimum->valuedouble)
        FAIL("exclusiveMinimum", "%s is not greater than the exclusive minimum %s",
             vstr(c, f->inst), vstr(c, k->minimum));
    if (cJSON_IsNumber(k->multiple_of) && k->multiple_of->valuedouble > 0
        && !is_multiple(x, k->multiple_of->valuedouble))
        FAIL("multipleOf", "%s is not a multiple of %s", vstr(c, f->inst), vstr(c, k->multiple_of));
    return ok;
}

static bool check_string(struct ctx *c, const struct frame *f, const struct kw *k)
{
    const char *s = f->inst->valuestring ? f->inst->valuestring : "";
    bool ok = true;

    if (cJSON_IsNumber(k->max_length) || cJSON_IsNumber(k->min_length)) {
        double len = (double)utf8_length(s);

        if (cJSON_IsNumber(k->max_length) && len > k->max_length->valuedouble)
            FAIL("maxLength", "%s is longer than %s characters", vstr(c, f->inst),
                 vstr(c, k->max_length));
        if (cJSON_IsNumber(k->min_length) && len < k->min_length->valuedouble)
            FAIL("minLength", "%s is shorter than %s characters", vstr(c, f->inst),
                 vstr(c, k->min_length));
    }
    if (cJSON_IsString(k->pattern)) {
        int r = regex_test(c, f, "pattern", k->pattern, k->pattern->valuestring, s);

        if (r == -1)
            return false;
        if (r == -2)
            SUB(false);
        else if (r == 0)
            FAIL("pattern", "%s does not match pattern %s", vstr(c, f->inst),
                 qstr(c, k->pattern->valuestring));
    }
    if (cJSON_IsString(k->format) && !(c->s->flags & SCHEMA_FORMAT_ANNOTATION)
        && check_format(k->format->valuestring, s) == 0)
        FAIL("format", "%s is not a valid %s", vstr(c, f->inst), k->format->valuestring);
    return ok;
}

static bool check_array(struct ctx *c, const struct frame *f, const struct kw *k, struct ann *ann)
{
    const cJSON *item, *sub, *e;
    size_t n = count_children(f->inst), i, np = 0;
    bool ok = true;

    if (cJSON_IsArray(k->prefix_items)) {
        for (item = f->inst->child, sub = k->prefix_items->child; item && sub;
             item = item->next, sub = sub->next, np++) {
            SUB(child(c, f, sub, item, NULL, np, false));
            ann_set(ann, np);
        }
    }
    if (cJSON_IsArray(k->items)) {
        fatal(c, f, RC_PARSE, "items",
              "items must be a schema; draft 2020-12 spells tuples prefixItems");
        return false;
    }
    if (k->items && n > np) {
        if (cJSON_IsFalse(k->items)) {
            FAIL("items", "the array has %zu items, more than the %zu allowed", n, np);
        } else {
            for (item = f->inst->child, i = 0; item; item = item->next, i++) {
                if (i < np)
                    continue;
                SUB(child(c, f, k->items, item, NULL, i, false));
                ann_set(ann, i);
            }
        }
    }
    if (k->contains) {
        size_t matches = 0;
        double min = cJSON_IsNumber(k->min_contains) ? k->min_contains->valuedouble : 1;

        for (item = f->inst->child, i = 0; item; item = item->next, i++) {
            if (child(c, f, k->contains, item, NULL, i, true)) {
                matches++;
                ann_set(ann, i);
            } else if (c->fatal) {
                return false;
            }
        }
        if ((double)matches < min) {
            if (matches == 0)
                FAIL(cJSON_IsNumber(k->min_contains) ? "minContains" : "contains",
                     "no item matches the contains schema");
            else
                FAIL("minContains", "only %zu items match the contains schema, fewer than %s",
                     matches, vstr(c, k->min_contains));
        }
        if (cJSON_IsNumber(k->max_contains) && (double)matches > k->max_contains->valuedouble)
            FAIL("maxContains", "%zu items match the contains schema, more than %s", matches,
                 vstr(c, k->max_contains));
    }
    if (cJSON_IsNumber(k->max_items) && (double)n > k->max_items->valuedouble)
        FAIL("maxItems", "the array has %zu items, more than the maximum %s", n,
             vstr(c, k->max_items));
    if (cJSON_IsNumber(k->min_items) && (double)n < k->min_items->valuedouble)
        FAIL("minItems", "the array has %zu items, fewer than the minimum %s", n,
             vstr(c, k->min_items));
    if (cJSON_IsTrue(k->unique_items)) {
        for (item = f->inst->child, i = 0; item; item = item->next, i++) {
            size_t j = i + 1;

            for (e = item->next; e; e = e->next, j++)
                if (json_equal(item, e, 0))
                    break;
            if (e) {
                FAIL("uniqueItems", "items %zu and %zu are equal; items must be unique", i, j);
                break;
            }
        }
    }
    return ok;
}

static bool check_object(struct ctx *c, const struct frame *f, const struct kw *k, struct ann *ann)
{
    const cJSON *m, *sub, *e;
    size_t i;
    bool ok = true;

    for (m = f->inst->child, i = 0; m; m = m->next, i++) {
        bool covered = false;

        if (!m->string)
            continue;
        if (cJSON_IsObject(k->properties)
            && (sub = cJSON_GetObjectItemCaseSensitive(k->properties, m->string))) {
            covered = true;
            ann_set(ann, i);
            SUB(child(c, f, sub, m, m->string, 0, false));
        }
        if (cJSON_IsObject(k->pattern_properties)) {
            cJSON_ArrayForEach(sub, k->pattern_properties) {
                int r;

                if (!sub->string)
                    continue;
                r = regex_test(c, f, "patternProperties", sub, sub->string, m->string);
                if (r == -1)
                    return false;
                if (r == -2)
                    SUB(false);
                if (r != 1)
                    continue;
                covered = true;
                ann_set(ann, i);
                SUB(child(c, f, sub, m, m->string, 0, false));
            }
        }
        if (!covered && k->additional_properties) {
            ann_set(ann, i);
            if (cJSON_IsFalse(k->additional_properties)) {
                /* The pointer names the member that is not allowed, not its object. */
                size_t mark = c->ptr.len;

                jsonptr_append(&c->ptr, m->string);
                FAIL_AT(mark, "additionalProperties", "property %s is not allowed",
                        qstr(c, m->string));
            }
            else
                SUB(child(c, f, k->additional_properties, m, m->string, 0, false));
        }
    }
    if (cJSON_IsArray(k->required))
        cJSON_ArrayForEach(e, k->required)
            if (cJSON_IsString(e) && !cJSON_GetObjectItemCaseSensitive(f->inst, e->valuestring)) {
                size_t mark = c->ptr.len;

                jsonptr_append(&c->ptr, e->valuestring);
                FAIL_AT(mark, "required", "missing required property %s",
                        qstr(c, e->valuestring));
            }
    if (cJSON_IsNumber(k->max_properties) || cJSON_IsNumber(k->min_properties)) {
        size_t n = count_children(f->inst);

        if (cJSON_IsNumber(k->max_properties) && (double)n > k->max_properties->valuedouble)
            FAIL("maxProperties", "the object has %zu properties, more than the maximum %s", n,
                 vstr(c, k->max_properties));
        if (cJSON_IsNumber(k->min_properties) && (double)n < k->min_properties->valuedouble)
            FAIL("minProperties", "the object has %zu properties, fewer than the minimum %s", n,
                 vstr(c, k->min_properties));
    }
    if (k->property_names) {
        for (m = f->inst->child; m; m = m->next) {
            cJSON name;

            if (!m->string)
                continue;
            memset(&name, 0, sizeof(name));
            name.type = cJSON_String;
            name.valuestring = m->string;
            if (!c->errs) {
                SUB(validate(c, f, k->property_names, &name, f->res, NULL));
            } else {
                struct buf why = BUF_INIT;

                if (!explain(c, f, k->property_names, &name, &why)) {
                    if (c->fatal) {
                        buf_release(&why);
                        return false;
                    }
                    FAIL("propertyNames", "property name %s is invalid: %s", qstr(c, m->string),
                         buf_cstr(&why));
                }
                buf_release(&why);
            }
        }
    }
    if (cJSON_IsObject(k->dependent_required)) {
        cJSON_ArrayForEach(m, k->dependent_required) {
            if (!m->string || !cJSON_IsArray(m)
                || !cJSON_GetObjectItemCaseSensitive(f->inst, m->string))
                continue;
            cJSON_ArrayForEach(e, m)
                if (cJSON_IsString(e)
                    && !cJSON_GetObjectItemCaseSensitive(f->inst, e->valuestring))
                    FAIL("dependentRequired", "property %s is required when %s is present",
                         qstr(c, e->valuestring), qstr(c, m->string));
        }
    }
    if (cJSON_IsObject(k->dependent_schemas)) {
        cJSON_ArrayForEach(m, k->dependent_schemas)
            if (m->string && cJSON_GetObjectItemCaseSensitive(f->inst, m->string))
                SUB(validate(c, f, m, f->inst, f->res, ann));
    }
    return ok;
}

static bool follow(struct ctx *c, const struct frame *f, const cJSON *node, const char *kw,
                   struct ann *ann)
{
    const struct ref *r = c->s->nrefs ? bsearch(&node, c->s->refs, c->s->nrefs,
                                                sizeof(*c->s->refs), cmp_first_pointer)
                                      : NULL;
    const cJSON *target;
    const struct frame *p;
    size_t res;

    if (!r || !r->target) {
        if (node->valuestring[0] == '#')
            fatal(c, f, RC_UNSUPPORTED, kw, "%s %s points at nothing in the document", kw,
                  qstr(c, node->valuestring));
        else
            fatal(c, f, RC_UNSUPPORTED, kw,
                  "%s %s leaves the document; only references within it are supported", kw,
                  qstr(c, node->valuestring));
        return false;
    }
    target = r->target;
    res = r->res;
    if (r->dyn_anchor) {
        /* The outermost resource in the dynamic scope that has the anchor wins. */
        for (p = f; p; p = p->up) {
            const struct anchor *a = find_anchor(c->s, p->res, r->dyn_anchor, true);

            if (a) {
                target = a->node;
                res = node_res(c->s, a->node, p->res);
            }
        }
    }
    return validate(c, f, target, f->inst, res, ann);
}

/* "does not match any of the anyOf schemas: [0] why; [1] why". */
static void explain_branches(struct ctx *c, const struct frame *f, const char *kw,
                             const cJSON *list)
{
    struct buf msg = BUF_INIT;
    const cJSON *sub;
    size_t i = 0;

    buf_addf(&msg, "does not match any of the %s schemas", kw);
    cJSON_ArrayForEach(sub, list) {
        if (i == EXPLAIN_MAX) {
            buf_addstr(&msg, "; ...");
            break;
        }
        buf_addf(&msg, "%s[%zu] ", i ? "; " : ": ", i);
        explain(c, f, sub, f->inst, &msg);
        if (c->fatal)
            break;
        i++;
    }
    report(c, f, kw, "%s", buf_cstr(&msg));
    buf_release(&msg);
}

static bool check_logic(struct ctx *c, const struct frame *f, const struct kw *k, struct ann *ann)
{
    const cJSON *sub;
    bool ok = true;

    if (cJSON_IsString(k->ref))
        SUB(follow(c, f, k->ref, "$ref", ann));
    if (cJSON_IsString(k->dynamic_ref))
        SUB(follow(c, f, k->dynamic_ref, "$dynamicRef", ann));
    if (cJSON_IsArray(k->all_of))
        cJSON_ArrayForEach(sub, k->all_of)
            SUB(validate(c, f, sub, f->inst, f->res, ann));
    if (cJSON_IsArray(k->any_of)) {
        bool any = false;

        cJSON_ArrayForEach(sub, k->any_of) {
            if (probe(c, f, sub, f->inst, ann)) {
                any = true;
                if (!ann)   /* the rest only matter for their annotations */
                    break;
            } else if (c->fatal) {
                return false;
            }
        }
        if (!any) {
            ok = false;
            if (!c->errs)
                return false;
            explain_branches(c, f, "anyOf", k->any_of);
        }
    }
    if (cJSON_IsArray(k->one_of)) {
        size_t which[EXPLAIN_MAX], i = 0, matches = 0;

        cJSON_ArrayForEach(sub, k->one_of) {
            if (probe(c, f, sub, f->inst, ann)) {
                if (matches < EXPLAIN_MAX)
                    which[matches] = i;
                matches++;
            } else if (c->fatal) {
                return false;
            }
            i++;
        }
        if (matches == 0) {
            ok = false;
            if (!c->errs)
                return false;
            explain_branches(c, f, "oneOf", k->one_of);
        } else if (matches > 1 && c->errs) {
            struct buf *list = scratch(c);

            for (i = 0; i < matches && i < EXPLAIN_MAX; i++)
                buf_addf(list, "%s%zu", i ? ", " : "", which[i]);
            if (matches > EXPLAIN_MAX)
                buf_addstr(list, ", ...");
            FAIL("oneOf", "matches %zu of the oneOf schemas (%s); exactly one is required",
                 matches, buf_cstr(list));
        } else if (matches > 1) {
            return false;
        }
    }
    if (k->not_) {
        if (probe(c, f, k->not_, f->inst, NULL))
            FAIL("not", "%s must not match the \"not\" schema", vstr(c, f->inst));
        else if (c->fatal)
            return false;
    }
    if (k->if_) {
        bool cond = probe(c, f, k->if_, f->inst, ann);

        if (c->fatal)
            return false;
        if (cond && k->then_)
            SUB(validate(c, f, k->then_, f->inst, f->res, ann));
        else if (!cond && k->else_)
            SUB(validate(c, f, k->else_, f->inst, f->res, ann));
    }
    return ok;
}

static bool check_unevaluated(struct ctx *c, const struct frame *f, const struct kw *k,
                              struct ann *ann)
{
    const cJSON *m;
    size_t i;
    bool ok = true;

    if (cJSON_IsArray(f->inst) && k->unevaluated_items) {
        for (m = f->inst->child, i = 0; m; m = m->next, i++) {
            if (ann_get(ann, i))
                continue;
            if (cJSON_IsFalse(k->unevaluated_items))
                FAIL("unevaluatedItems", "item %zu is not allowed (no schema evaluates it)", i);
            else
                SUB(child(c, f, k->unevaluated_items, m, NULL, i, false));
            ann_set(ann, i);
        }
    }
    if (cJSON_IsObject(f->inst) && k->unevaluated_properties) {
        for (m = f->inst->child, i = 0; m; m = m->next, i++) {
            if (ann_get(ann, i) || !m->string)
                continue;
            if (cJSON_IsFalse(k->unevaluated_properties)) {
                size_t mark = c->ptr.len;

                jsonptr_append(&c->ptr, m->string);
                FAIL_AT(mark, "unevaluatedProperties", "property %s is not allowed",
                        qstr(c, m->string));
            } else
                SUB(child(c, f, k->unevaluated_properties, m, m->string, 0, false));
            ann_set(ann, i);
        }
    }
    return ok;
}

static bool check_all(struct ctx *c, const struct frame *f, const struct kw *k, struct ann *ann)
{
    bool ok = true;

    SUB(check_type(c, f, k));
    SUB(check_values(c, f, k));
    if (cJSON_IsNumber(f->inst))
        SUB(check_number(c, f, k));
    if (cJSON_IsString(f->inst))
        SUB(check_string(c, f, k));
    if (cJSON_IsArray(f->inst))
        SUB(check_array(c, f, k, ann));
    if (cJSON_IsObject(f->inst))
        SUB(check_object(c, f, k, ann));
    SUB(check_logic(c, f, k, ann));
    /* Last: it needs what every other keyword here evaluated. */
    if (k->unevaluated_items || k->unevaluated_properties)
        SUB(check_unevaluated(c, f, k, ann));
    return ok;
}

/* Apply schema (a node of the document in resource res) to inst. When out is non-NULL and
 * the result is valid, the items/members evaluated are added to it. */
static bool validate(struct ctx *c, const struct frame *up, const cJSON *schema,
                     const cJSON *inst, size_t res, struct ann *out)
{
    struct frame f = { up, schema, inst, res };
    const struct frame *p;
    struct kw k;
    struct ann mine, *ann = NULL;
    bool ok;

    if (c->fatal)
        return false;
    if (cJSON_IsBool(schema)) {
        if (cJSON_IsTrue(schema))
            return true;
        if (c->errs)
            report(c, &f, "false", "%s is not allowed here", vstr(c, inst));
        return false;
    }
    if (!cJSON_IsObject(schema)) {
        fatal(c, &f, RC_PARSE, "", "the schema is %s, not an object or a boolean",
              type_name(schema));
        return false;
    }
    if (c->depth >= SCHEMA_MAX_DEPTH) {
        fatal(c, &f, RC_TOO_DEEP, "",
              "validation nests deeper than %d schemas (a deeply nested value or a recursive "
              "schema)", SCHEMA_MAX_DEPTH);
        return false;
    }
    for (p = up; p && p->inst == inst; p = p->up)
        if (p->schema == schema) {
            fatal(c, &f, RC_CYCLE, "",
                  "$ref cycle: this schema applies to the same value again without descending "
                  "into it");
            return false;
        }
    collect(&k, schema);
    if (cJSON_IsString(k.id))
        f.res = node_res(c->s, schema, res);
    if ((cJSON_IsObject(inst) || cJSON_IsArray(inst))
        && (out || k.unevaluated_items || k.unevaluated_properties)) {
        ann_init(&mine, count_children(inst));
        ann = &mine;
    }
    c->depth++;
    ok = check_all(c, &f, &k, ann);
    c->depth--;
    if (ann) {
        if (ok && out)
            ann_merge(out, ann);
        ann_release(ann);
    }
    return ok && !c->fatal;
}

enum rc schema_validate(const struct schema *s, const cJSON *schema, const cJSON *instance,
                        struct schema_errors *errs)
{
    const struct node_info *ni = s && schema ? find_node(s, schema) : NULL;
    struct ctx c;
    enum rc rc;
    bool ok;
    int i;

    if (!ni || !instance) {
        if (errs)
            push_error(errs, "", xstrdup(""), "",
                       xstrdup(!instance ? "/: no instance to validate"
                                         : "/: the schema is not a node of the root document"));
        return !instance ? RC_INVALID : RC_NOT_FOUND;
    }
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.top = c.errs = errs;
    c.limit = errs ? errs->count + SCHEMA_MAX_ERRORS : 0;
    ok = validate(&c, NULL, schema, instance, ni->res, NULL);
    rc = c.fatal ? c.fatal : ok ? RC_OK : RC_INVALID;
    buf_release(&c.ptr);
    for (i = 0; i < RING; i++)
        buf_release(&c.ring[i]);
    pcre2_match_data_free(c.md);
    return rc;
}

static int cmp_schema_pointer(const void *a, const void *b)
{
    return strcmp(((const struct schema_error *)a)->schema_pointer,
                  ((const struct schema_error *)b)->schema_pointer);
}

static void add_problem(const struct schema *s, struct schema_errors *errs, const cJSON *node,
                        const char *keyword, const char *what, const char *text, const char *sep,
                        const char *why)
{
    struct buf sp = BUF_INIT, msg = BUF_INIT;

    node_path(s, node, &sp);
    buf_addf(&msg, "%s: %s ", sp.len ? sp.data : "/", what);
    add_quoted(&msg, text);
    buf_addf(&msg, "%s%s", sep, why);
    push_error(errs, "", buf_detach(&sp, NULL), keyword, buf_detach(&msg, NULL));
}

enum rc schema_check(const struct schema *s, struct schema_errors *errs)
{
    enum rc rc = RC_OK;
    size_t i, start = errs ? errs->count : 0;

    for (i = 0; i < s->npats; i++) {
        const struct pattern *p = &s->pats[i];

        if (!p->in_schema || p->code)
            continue;
        if (rc == RC_OK)
            rc = RC_PARSE;
        if (errs)
            add_problem(s, errs, p->node, p->is_key ? "patternProperties" : "pattern",
                        "invalid pattern", p->is_key ? p->node->string : p->node->valuestring,
                        ": ", p->error);
    }
    for (i = 0; i < s->nrefs; i++) {
        const struct ref *r = &s->refs[i];

        if (!r->in_schema || r->target)
            continue;
        if (rc == RC_OK)
            rc = RC_UNSUPPORTED;
        if (errs)
            add_problem(s, errs, r->node, r->node->string, r->node->string, r->node->valuestring,
                        " ", r->node->valuestring[0] == '#'
                            ? "points at nothing in the document"
                            : "leaves the document; only references within it are supported");
    }
    if (errs && errs->count > start)
        qsort(errs->items + start, errs->count - start, sizeof(*errs->items),
              cmp_schema_pointer);
    return rc;
}

void schema_errors_release(struct schema_errors *errs)
{
    size_t i;

    for (i = 0; i < errs->count; i++) {
        free(errs->items[i].pointer);
        free(errs->items[i].schema_pointer);
        free(errs->items[i].keyword);
        free(errs->items[i].message);
    }
    free(errs->items);
    errs->items = NULL;
    errs->count = errs->cap = 0;
}
