#include "openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "xmalloc.h"
#include "yamljson.h"

/* The longest $ref chain followed before calling it a cycle. */
#define MAX_REF_HOPS 64
/* Deepest document walked when checking refs at load. */
#define MAX_WALK_DEPTH 512

static const char *const methods[] = {
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

enum seg_kind { SEG_GREEDY, SEG_PARAM, SEG_PARTIAL, SEG_LITERAL };

struct segment {
    enum seg_kind kind;
    char *literal;          /* SEG_LITERAL: the text; SEG_PARTIAL: prefix */
    char *suffix;           /* SEG_PARTIAL only */
    char *param;            /* parameter name for all but SEG_LITERAL */
};

struct template {
    const char *path;
    struct segment *segs;
    size_t nsegs;
    size_t ops[NMETHODS];   /* index + 1 into api->ops; 0 when the method is absent */
};

struct openapi {
    cJSON *doc;
    const char *version;
    char *base_path;
    struct openapi_op *ops;
    size_t nops;
    struct template *templates;
    size_t ntemplates;
};

const cJSON *openapi_doc(const struct openapi *api)
{
    return api->doc;
}

const char *openapi_version(const struct openapi *api)
{
    return api->version;
}

const char *openapi_base_path(const struct openapi *api)
{
    return api->base_path;
}

size_t openapi_op_count(const struct openapi *api)
{
    return api->nops;
}

const struct openapi_op *openapi_op_at(const struct openapi *api, size_t i)
{
    return i < api->nops ? &api->ops[i] : NULL;
}

const struct openapi_op *openapi_find_op(const struct openapi *api, const char *operation_id)
{
    size_t i;

    for (i = 0; i < api->nops; i++)
        if (strcmp(api->ops[i].operation_id, operation_id) == 0)
            return &api->ops[i];
    return NULL;
}

enum rc openapi_deref(const struct openapi *api, const cJSON *node, const cJSON **out,
                      struct buf *err)
{
    struct buf ptr = BUF_INIT;
    int hops;

    *out = NULL;
    for (hops = 0; node; hops++) {
        const cJSON *ref = cJSON_IsObject(node)
                               ? cJSON_GetObjectItemCaseSensitive(node, "$ref") : NULL;
        const cJSON *target;

        if (!cJSON_IsString(ref)) {
            *out = node;
            buf_release(&ptr);
            return RC_OK;
        }
        if (hops == MAX_REF_HOPS) {
            if (err)
                buf_addf(err, "reference cycle through '%s'", ref->valuestring);
            buf_release(&ptr);
            return RC_CYCLE;
        }
        if (ref->valuestring[0] != '#') {
            if (err)
                buf_addf(err, "unsupported reference '%s': only local refs (#/...) are resolved",
                         ref->valuestring);
            buf_release(&ptr);
            return RC_UNSUPPORTED;
        }
        buf_reset(&ptr);
        target = jsonptr_from_fragment(ref->valuestring, &ptr) == RC_OK
                     ? jsonptr_get(api->doc, buf_cstr(&ptr)) : NULL;
        if (!target) {
            if (err)
                buf_addf(err, "unresolvable reference '%s'", ref->valuestring);
            buf_release(&ptr);
            return RC_NOT_FOUND;
        }
        node = target;
    }
    buf_release(&ptr);
    return RC_NOT_FOUND;
}

/* Check that every $ref in the document resolves; err names the first that does not. */
static enum rc check_refs(const struct openapi *api, const cJSON *node, struct buf *where,
                          int depth, struct buf *err)
{
    const cJSON *child;
    size_t mark = where->len, i = 0;
    enum rc rc = RC_OK;

    if (depth > MAX_WALK_DEPTH) {
        buf_addf(err, "document nested deeper than %d levels at '%s'", MAX_WALK_DEPTH,
                 buf_cstr(where));
        return RC_TOO_DEEP;
    }
    if (cJSON_IsObject(node) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(node, "$ref"))) {
        const cJSON *target;
        struct buf msg = BUF_INIT;

        rc = openapi_deref(api, node, &target, &msg);
        if (rc != RC_OK) {
            buf_addf(err, "%s (at '#%s')", buf_cstr(&msg), buf_cstr(where));
            buf_release(&msg);
            return rc;
        }
        buf_release(&msg);
    }
    cJSON_ArrayForEach(child, node) {
        if (cJSON_IsObject(node))
            jsonptr_append(where, child->string);
        else
            jsonptr_append_index(where, i);
        i++;
        rc = check_refs(api, child, where, depth + 1, err);
        buf_truncate(where, mark);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

static void template_release(struct template *t)
{
    size_t i;

    for (i = 0; i < t->nsegs; i++) {
        free(t->segs[i].literal);
        free(t->segs[i].suffix);
        free(t->segs[i].param);
    }
    free(t->segs);
}

void openapi_free(struct openapi *api)
{
    size_t i;

    if (!api)
        return;
    for (i = 0; i < api->nops; i++) {
        free((char *)api->ops[i].method);
        free((char *)api->ops[i].operation_id);
        free(api->ops[i].params);
    }
    free(api->ops);
    for (i = 0; i < api->ntemplates; i++)
        template_release(&api->templates[i]);
    free(api->templates);
    free(api->base_path);
    cJSON_Delete(api->doc);
    free(api);
}

/* Split a path template into segments; RC_INVALID (with a message) when malformed. */
static enum rc compile_template(const char *path, struct template *t, struct buf *err)
{
    const char *p = path + 1;

    if (path[0] != '/') {
        buf_addf(err, "path '%s' does not start with '/'", path);
        return RC_INVALID;
    }
    t->path = path;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *open = memchr(p, '{', len), *close = memchr(p, '}', len);
        struct segment seg = { SEG_LITERAL, NULL, NULL, NULL };

        if (!open && !close) {
            seg.literal = xstrndup(p, len);
        } else if (!open || !close || close < open || close == open + 1
                   || memchr(open + 1, '{', len - (size_t)(open + 1 - p))
                   || memchr(close + 1, '}', len - (size_t)(close + 1 - p))) {
            buf_addf(err, "path '%s': malformed or multiple parameters in one segment", path);
            return RC_INVALID;
        } else {
            seg.param = xstrndup(open + 1, (size_t)(close - open - 1));
            if (open == p && close == p + len - 1) {
                seg.kind = SEG_PARAM;
            } else {
                seg.kind = SEG_PARTIAL;
                seg.literal = xstrndup(p, (size_t)(open - p));
                seg.suffix = xstrndup(close + 1, len - (size_t)(close + 1 - p));
            }
        }
        t->segs = xrealloc(t->segs, (t->nsegs + 1) * sizeof(*t->segs));
        t->segs[t->nsegs++] = seg;
        if (!end)
            break;
        p = end + 1;
    }
    return RC_OK;
}

/* Concrete paths win over templated ones (OpenAPI "Path Templating Matching"):
 * compare segment by segment, literal > partial > parameter > greedy. */
static int template_cmp(const void *a, const void *b)
{
    const struct template *x = a, *y = b;
    size_t i;

    for (i = 0; i < x->nsegs && i < y->nsegs; i++)
        if (x->segs[i].kind != y->segs[i].kind)
            return (int)y->segs[i].kind - (int)x->segs[i].kind;
    if (x->nsegs != y->nsegs)
        return x->nsegs > y->nsegs ? -1 : 1;
    return strcmp(x->path, y->path);
}

static bool parse_in(const char *s, enum openapi_in *in)
{
    static const char *const names[] = { "path", "query", "header", "cookie" };
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *in = (enum openapi_in)i;
            return true;
        }
    }
    return false;
}

/* Add the parameters in list (path-item or operation level) to op; a later one with the
 * same name and location replaces an earlier one, as OpenAPI says. */
static enum rc add_params(struct openapi *api, struct openapi_op *op, const cJSON *list,
                          struct buf *err)
{
    const cJSON *item;

    if (!list)
        return RC_OK;
    if (!cJSON_IsArray(list)) {
        buf_addf(err, "%s %s: 'parameters' is not an array", op->method, op->path);
        return RC_INVALID;
    }
    cJSON_ArrayForEach(item, list) {
        const cJSON *node, *name, *in, *schema, *v;
        struct openapi_param p = { 0 };
        size_t i;
        enum rc rc = openapi_deref(api, item, &node, err);

        if (rc != RC_OK)
            return rc;
        name = cJSON_GetObjectItemCaseSensitive(node, "name");
        in = cJSON_GetObjectItemCaseSensitive(node, "in");
        if (!cJSON_IsString(name) || !cJSON_IsString(in) || !parse_in(in->valuestring, &p.in)) {
            buf_addf(err, "%s %s: a parameter lacks a valid 'name' or 'in'", op->method, op->path);
            return RC_INVALID;
        }
        p.name = name->valuestring;
        p.required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "required"))
                     || p.in == OPENAPI_IN_PATH;
        /* explode defaults to true for the form style of query and cookie parameters only. */
        v = cJSON_GetObjectItemCaseSensitive(node, "style");
        p.delim = ',';
        if (cJSON_IsString(v) && strcmp(v->valuestring, "spaceDelimited") == 0)
            p.delim = ' ';
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "pipeDelimited") == 0)
            p.delim = '|';
        p.deep_object = cJSON_IsString(v) && strcmp(v->valuestring, "deepObject") == 0;
        v = cJSON_GetObjectItemCaseSensitive(node, "explode");
        p.explode = v ? cJSON_IsTrue(v)
                      : (p.in == OPENAPI_IN_QUERY || p.in == OPENAPI_IN_COOKIE) && p.delim == ',';
        p.greedy = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "x-hog-greedy"));
        schema = cJSON_GetObjectItemCaseSensitive(node, "schema");
        if (schema && (rc = openapi_deref(api, schema, &p.schema, err)) != RC_OK)
            return rc;
        for (i = 0; i < op->nparams; i++)
            if (op->params[i].in == p.in && strcmp(op->params[i].name, p.name) == 0)
                break;
        if (i == op->nparams)
            op->params = xrealloc(op->params, ++op->nparams * sizeof(*op->params));
        op->params[i] = p;
    }
    return RC_OK;
}

const struct openapi_param *openapi_find_param(const struct openapi_op *op, const char *name,
                                               enum openapi_in in)
{
    size_t i;

    for (i = 0; i < op->nparams; i++)
        if (op->params[i].in == in && strcmp(op->params[i].name, name) == 0)
            return &op->params[i];
    return NULL;
}

static char *upper(const char *s)
{
    char *u = xstrdup(s), *p;

    for (p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

static enum rc index_op(struct openapi *api, struct template *t, size_t m,
                        const cJSON *item, const cJSON *node, struct buf *err)
{
    struct openapi_op *op;
    const cJSON *id, *name, *body;
    size_t i;
    enum rc rc;

    api->ops = xrealloc(api->ops, (api->nops + 1) * sizeof(*api->ops));
    op = &api->ops[api->nops++];
    memset(op, 0, sizeof(*op));
    op->method = upper(methods[m]);
    op->path = t->path;
    op->node = node;
    id = cJSON_GetObjectItemCaseSensitive(node, "operationId");
    if (cJSON_IsString(id)) {
        op->operation_id = xstrdup(id->valuestring);
    } else {
        struct buf b = BUF_INIT;

        buf_addf(&b, "%s %s", op->method, t->path);
        op->operation_id = buf_detach(&b, NULL);
    }
    name = cJSON_GetObjectItemCaseSensitive(node, "x-hog-operation");
    op->name = cJSON_IsString(name) ? name->valuestring : op->operation_id;
    for (i = 0; i + 1 < api->nops; i++) {
        if (strcmp(api->ops[i].operation_id, op->operation_id) == 0) {
            buf_addf(err, "operationId '%s' is used twice (%s %s and %s %s)", op->operation_id,
                     api->ops[i].method, api->ops[i].path, op->method, op->path);
            return RC_INVALID;
        }
    }
    if ((rc = add_params(api, op, cJSON_GetObjectItemCaseSensitive(item, "parameters"), err))
        || (rc = add_params(api, op, cJSON_GetObjectItemCaseSensitive(node, "parameters"), err)))
        return rc;
    body = cJSON_GetObjectItemCaseSensitive(node, "requestBody");
    if (body && (rc = openapi_deref(api, body, &op->request_body, err)) != RC_OK)
        return rc;

    /* Every template variable needs a path parameter; greedy ones must come last. */
    for (i = 0; i < t->nsegs; i++) {
        const struct openapi_param *p;

        if (t->segs[i].kind == SEG_LITERAL)
            continue;
        p = openapi_find_param(op, t->segs[i].param, OPENAPI_IN_PATH);
        if (!p) {
            buf_addf(err, "%s %s: path parameter '%s' is not declared", op->method, t->path,
                     t->segs[i].param);
            return RC_INVALID;
        }
        if (p->greedy) {
            if (t->segs[i].kind == SEG_PARTIAL || i + 1 != t->nsegs) {
                buf_addf(err, "%s %s: greedy parameter '%s' must be a whole, last segment",
                         op->method, t->path, p->name);
                return RC_INVALID;
            }
            t->segs[i].kind = SEG_GREEDY;
        }
    }
    t->ops[m] = api->nops;
    return RC_OK;
}

/* The path part of the first server URL, with {variables} replaced by their defaults and
 * no trailing slash: "https://h/api/" and "/api" both give "/api". */
static char *server_base_path(const cJSON *doc)
{
    const cJSON *server = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "servers"), 0);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(server, "url");
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(server, "variables");
    struct buf out = BUF_INIT;
    const char *p, *scheme;

    if (!cJSON_IsString(url))
        return xstrdup("");
    for (p = url->valuestring; *p; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;

        if (close) {
            char *name = xstrndup(p + 1, (size_t)(close - p - 1));
            const cJSON *def = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(vars, name), "default");

            if (cJSON_IsString(def))
                buf_addstr(&out, def->valuestring);
            free(name);
            p = close;
        } else {
            buf_addch(&out, *p);
        }
    }
    p = buf_cstr(&out);
    scheme = strstr(p, "://");
    if (scheme) {
        p = strchr(scheme + 3, '/');
        p = p ? p : "";
    }
    p = xstrndup(p, strcspn(p, "?#"));
    buf_release(&out);
    {
        char *base = (char *)p;
        size_t n = strlen(base);

        while (n && base[n - 1] == '/')
            base[--n] = '\0';
        /* A relative URL without a leading slash ("v1") is relative to the document;
         * the kit serves from the root, so treat it as absolute. */
        if (n && base[0] != '/') {
            char *abs = xmalloc(n + 2);

            abs[0] = '/';
            memcpy(abs + 1, base, n + 1);
            free(base);
            base = abs;
        }
        return base;
    }
}

enum rc openapi_from_json(cJSON *doc, const char *name, struct openapi **out, struct buf *err)
{
    struct openapi *api = xcalloc(1, sizeof(*api));
    const cJSON *version, *paths, *path;
    enum rc rc = RC_OK;

    *out = NULL;
    api->doc = doc;
    version = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(version)) {
        buf_addf(err, "%s: not an OpenAPI document (no 'openapi' version field)", name);
        rc = cJSON_IsObject(doc) && cJSON_GetObjectItemCaseSensitive(doc, "swagger")
                 ? RC_UNSUPPORTED : RC_INVALID;
        goto fail;
    }
    api->version = version->valuestring;
    api->base_path = server_base_path(doc);
    if (!str_startswith(api->version, "3.")) {
        buf_addf(err, "%s: OpenAPI version '%s' is not supported (3.x only)", name, api->version);
        rc = RC_UNSUPPORTED;
        goto fail;
    }
    paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    if (paths && !cJSON_IsObject(paths)) {
        buf_addf(err, "%s: 'paths' is not an object", name);
        rc = RC_INVALID;
        goto fail;
    }
    {
        struct buf where = BUF_INIT;

        rc = check_refs(api, doc, &where, 0, err);
        buf_release(&where);
        if (rc != RC_OK)
            goto fail;
    }
    cJSON_ArrayForEach(path, paths) {
        const cJSON *item;
        struct template *t;
        size_t m;

        if (str_startswith(path->string, "x-"))
            continue;
        api->templates = xrealloc(api->templates, (api->ntemplates + 1) * sizeof(*api->templates));
        t = &api->templates[api->ntemplates++];
        memset(t, 0, sizeof(*t));
        if ((rc = compile_template(path->string, t, err)) != RC_OK
            || (rc = openapi_deref(api, path, &item, err)) != RC_OK)
            goto fail;
        for (m = 0; m < NMETHODS; m++) {
            const cJSON *node = cJSON_GetObjectItemCaseSensitive(item, methods[m]);

            if (!node)
                continue;
            if (!cJSON_IsObject(node)) {
                buf_addf(err, "%s: %s %s is not an operation object", name, methods[m], path->string);
                rc = RC_INVALID;
                goto fail;
            }
            if ((rc = index_op(api, t, m, item, node, err)) != RC_OK)
                goto fail;
        }
    }
    /* ops point into templates only by path string, which lives in doc: sorting is safe. */
    if (api->ntemplates > 1)
        qsort(api->templates, api->ntemplates, sizeof(*api->templates), template_cmp);
    *out = api;
    return RC_OK;
fail:
    openapi_free(api);
    return rc;
}

enum rc openapi_load(const char *path, struct openapi **out, struct buf *err)
{
    cJSON *doc;
    const char *name = strrchr(path, '/');
    enum rc rc = yamljson_load_file(path, &doc, err);

    *out = NULL;
    if (rc != RC_OK)
        return rc;
    return openapi_from_json(doc, name ? name + 1 : path, out, err);
}

/* A segment of the request path: as received, and percent-decoded (the path's escapes
 * were checked first, so decoding cannot fail). */
struct raw_seg {
    const char *p;
    size_t len;
    const char *dec;
    size_t dlen;
};

/* Match the segments against t; on success the parameter values are set in m. */
static bool match_template(const struct template *t, const struct raw_seg *segs, size_t n,
                           const char *path_end, struct openapi_match *m)
{
    size_t i;

    m->nparams = 0;
    for (i = 0; i < t->nsegs; i++) {
        const struct segment *s = &t->segs[i];
        const char *dec;
        size_t dlen;

        if (s->kind == SEG_GREEDY) {
            /* The rest as received (still percent-encoded), so it can be forwarded as is. */
            const char *rest = i < n ? segs[i].p : path_end;

            if (m->nparams == OPENAPI_MAX_PATH_PARAMS)
                goto fail;
            m->params[m->nparams].name = s->param;
            m->params[m->nparams++].value = xstrndup(rest, (size_t)(path_end - rest));
            return true;
        }
        if (i >= n)
            goto fail;
        dec = segs[i].dec;
        dlen = segs[i].dlen;
        if (s->kind == SEG_LITERAL) {
            if (strcmp(dec, s->literal) != 0)
                goto fail;
            continue;
        }
        if (s->kind == SEG_PARTIAL) {
            size_t pre = strlen(s->literal), suf = strlen(s->suffix);

            if (dlen <= pre + suf || strncmp(dec, s->literal, pre) != 0
                || strcmp(dec + dlen - suf, s->suffix) != 0)
                goto fail;
            if (m->nparams == OPENAPI_MAX_PATH_PARAMS)
                goto fail;
            m->params[m->nparams].name = s->param;
            m->params[m->nparams++].value = xstrndup(dec + pre, dlen - pre - suf);
            continue;
        }
        if (dlen == 0 || m->nparams == OPENAPI_MAX_PATH_PARAMS)
            goto fail;
        m->params[m->nparams].name = s->param;
        m->params[m->nparams++].value = xstrndup(dec, dlen);
    }
    if (n == t->nsegs)
        return true;
    openapi_match_release(m);
    return false;
fail:
    openapi_match_release(m);
    return false;
}

void openapi_match_release(struct openapi_match *m)
{
    size_t i;

    for (i = 0; i < m->nparams; i++)
        free(m->params[i].value);
    m->nparams = 0;
}

const char *openapi_match_param(const struct openapi_match *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].value;
    return NULL;
}

/* Escapes are checked once for the whole path, so a bad one is a 400 whatever matches. */
static bool escapes_valid(const char *path)
{
    for (; *path; path++) {
        if (*path != '%')
            continue;
        if (hex_digit_value(path[1]) < 0 || hex_digit_value(path[2]) < 0 || (path[1] == '0' && path[2] == '0'))
            return false;
        path += 2;
    }
    return true;
}

enum rc openapi_route(const struct openapi *api, const char *method, const char *path,
                      struct openapi_match *m)
{
    struct raw_seg local[16], *segs = local;
    struct buf dec = BUF_INIT;
    size_t n = 0, i, allowed = 0, k, *offs;
    const char *p, *end = path + strlen(path);
    enum rc rc = RC_NOT_FOUND;

    memset(m, 0, sizeof(*m));
    if (*api->base_path) {
        size_t blen = strlen(api->base_path);

        if (strncmp(path, api->base_path, blen) != 0 || (path[blen] != '/' && path[blen] != '\0'))
            return RC_NOT_FOUND;
        path += blen;
        if (!*path)
            path = "/";
    }
    if (path[0] != '/')
        return RC_NOT_FOUND;
    if (!escapes_valid(path))
        return RC_PARSE;
    /* Split and decode once; every template is then matched against the same segments. */
    for (p = path, n = 1; *p; p++)
        n += *p == '/';
    n--;
    if (n > sizeof(local) / sizeof(local[0]))
        segs = xcalloc(n, sizeof(*segs));
    offs = xcalloc(n, sizeof(*offs));
    for (p = path + 1, i = 0; i < n; i++) {
        const char *slash = strchr(p, '/');

        segs[i].p = p;
        segs[i].len = slash ? (size_t)(slash - p) : strlen(p);
        offs[i] = dec.len;
        buf_add_pct_decoded(&dec, p, segs[i].len, false);
        segs[i].dlen = dec.len - offs[i];
        buf_addch(&dec, '\0');
        p = slash ? slash + 1 : p + segs[i].len;
    }
    for (i = 0; i < n; i++)
        segs[i].dec = dec.data + offs[i];
    free(offs);
    for (i = 0; i < api->ntemplates; i++) {
        const struct template *t = &api->templates[i];
        size_t mi;

        if (!match_template(t, segs, n, end, m))
            continue;
        for (mi = 0; mi < NMETHODS; mi++)
            if (t->ops[mi] && strcmp(api->ops[t->ops[mi] - 1].method, method) == 0)
                break;
        if (mi < NMETHODS) {
            m->op = &api->ops[t->ops[mi] - 1];
            rc = RC_OK;
            break;
        }
        openapi_match_release(m);
        for (k = 0; k < NMETHODS; k++)
            if (t->ops[k])
                allowed |= (size_t)1 << k;
        rc = RC_METHOD_NOT_ALLOWED;
    }
    if (rc == RC_METHOD_NOT_ALLOWED) {
        struct buf allow = BUF_INIT;

        for (k = 0; k < NMETHODS; k++) {
            char *u;

            if (!(allowed & ((size_t)1 << k)))
                continue;
            u = upper(methods[k]);
            buf_addf(&allow, "%s%s", allow.len ? ", " : "", u);
            free(u);
        }
        snprintf(m->allow, sizeof(m->allow), "%s", buf_cstr(&allow));
        buf_release(&allow);
    }
    if (segs != local)
        free(segs);
    buf_release(&dec);
    return rc;
}
