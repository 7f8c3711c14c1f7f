#include "derive.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

#define NAME_PART_MAX 90

/* A request-body example of the operation. */
struct req_example {
    const char *name;
    const char *media;
    const cJSON *value;
};

/* What one operation's fixtures share, and the fixtures made so far. */
struct op_work {
    const struct openapi *api;
    const struct openapi_op *op;
    const char *spec_name;
    char *path;                 /* concrete, with the base path */
    cJSON *query;               /* required query parameters, or NULL */
    cJSON *headers;             /* required header parameters, or NULL */
    struct req_example *reqs;
    size_t nreqs;
    struct fixture *items;
    size_t count;
    cJSON *names;               /* every name given so far, across operations */
};

/* ---- small helpers ---------------------------------------------------------------- */

static const cJSON *member(const cJSON *obj, const char *name)
{
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static const cJSON *deref(const struct openapi *api, const cJSON *node)
{
    const cJSON *out = NULL;

    return node && openapi_deref(api, node, &out, NULL) == RC_OK ? out : NULL;
}

static bool json_media(const char *mt)
{
    size_t n = strcspn(mt, ";");

    return (n == 16 && strncasecmp(mt, "application/json", 16) == 0)
           || (n > 5 && strncasecmp(mt + n - 5, "+json", 5) == 0);
}

/* A scalar (or the items of a list) as the text a URL or a header carries. */
static void add_text(struct buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        buf_addstr(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
            buf_addf(b, "%.0f", v->valuedouble);
        else
            buf_addf(b, "%.17g", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        buf_addstr(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        const cJSON *it;

        cJSON_ArrayForEach(it, v) {
            if (it != v->child)
                buf_addch(b, ',');
            add_text(b, it);
        }
    } else if (!cJSON_IsNull(v)) {
        char *text = cJSON_PrintUnformatted(v);

        buf_addstr(b, text);
        cJSON_free(text);
    }
}

static cJSON *text_of(const cJSON *v)
{
    struct buf b = BUF_INIT;
    cJSON *s;

    add_text(&b, v);
    s = cJSON_CreateString(buf_cstr(&b));
    buf_release(&b);
    return s;
}

/* The first value of an `examples` map (Example objects with `value`). */
static const cJSON *first_example(const struct openapi *api, const cJSON *examples)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, examples) {
        const cJSON *v = member(deref(api, e), "value");

        if (v)
            return v;
    }
    return NULL;
}

/* An example for a parameter or a header: its own, then its schema's; NULL when none. */
static const cJSON *node_example(const struct openapi *api, const cJSON *node)
{
    const cJSON *schema = deref(api, member(node, "schema")), *v;

    if ((v = member(node, "example")) || (v = first_example(api, member(node, "examples"))))
        return v;
    if ((v = member(schema, "example")) || (v = member(schema, "default")))
        return v;
    if ((v = member(schema, "examples")) && cJSON_IsArray(v) && v->child)
        return v->child;
    if ((v = member(schema, "enum")) && cJSON_IsArray(v) && v->child)
        return v->child;
    return NULL;
}

/* The parameter object of op named name in location in: the operation's own, else the
 * path item's. */
static const cJSON *param_node(const struct openapi *api, const struct openapi_op *op,
                               const char *name, const char *in)
{
    const cJSON *item = member(member(openapi_doc(api), "paths"), op->path);
    const cJSON *lists[2] = { member(op->node, "parameters"), member(item, "parameters") };
    size_t i;

    for (i = 0; i < 2; i++) {
        const cJSON *p;

        cJSON_ArrayForEach(p, lists[i]) {
            const cJSON *node = deref(api, p);
            const cJSON *n = member(node, "name"), *where = member(node, "in");

            if (cJSON_IsString(n) && cJSON_IsString(where) && strcmp(n->valuestring, name) == 0
                && strcmp(where->valuestring, in) == 0)
                return node;
        }
    }
    return NULL;
}

/* A parameter's example as a new JSON value: its example, else one of its schema's type. */
static cJSON *param_value(const struct openapi *api, const struct openapi_op *op,
                          const struct openapi_param *p, const char *in)
{
    const cJSON *v = node_example(api, param_node(api, op, p->name, in));
    const cJSON *type = member(p->schema, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "string";

    if (v)
        return cJSON_Duplicate(v, 1);
    if (strcmp(t, "integer") == 0 || strcmp(t, "number") == 0)
        return cJSON_CreateNumber(1);
    if (strcmp(t, "boolean") == 0)
        return cJSON_CreateTrue();
    return cJSON_CreateString(p->name);
}

/* Percent-encode a path parameter's value; slashes stay in a greedy one. */
static void add_path_value(struct buf *b, const char *s, bool greedy)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || strchr("-._~!$&'()*+,;=:@", c) || (greedy && c == '/')) {
            buf_addch(b, (char)c);
        } else {
            buf_addch(b, '%');
            buf_addch(b, hex[c >> 4]);
            buf_addch(b, hex[c & 15]);
        }
    }
}

/* A file-name-safe part of a fixture name. */
static void add_name_part(struct buf *b, const char *s)
{
    size_t i;

    for (i = 0; s[i] && i < NAME_PART_MAX; i++)
        buf_addch(b, isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'
                         ? s[i] : '_');
}

/* ---- the request ------------------------------------------------------------------ */

static void request_template(struct op_work *w)
{
    const struct openapi *api = w->api;
    const struct openapi_op *op = w->op;
    struct buf path = BUF_INIT;
    const char *t = op->path;
    size_t i;

    buf_addstr(&path, openapi_base_path(api));
    while (*t) {
        const char *close;

        if (*t != '{' || !(close = strchr(t, '}'))) {
            buf_addch(&path, *t++);
            continue;
        }
        {
            char *name = xstrndup(t + 1, (size_t)(close - t - 1));
            const struct openapi_param *p = openapi_find_param(op, name, OPENAPI_IN_PATH);
            struct buf text = BUF_INIT;
            cJSON *v;

            if (p) {
                v = param_value(api, op, p, "path");
                add_text(&text, v);
                cJSON_Delete(v);
            } else {
                buf_addstr(&text, name);
            }
            add_path_value(&path, buf_cstr(&text), p && p->greedy);
            buf_release(&text);
            free(name);
        }
        t = close + 1;
    }
    w->path = buf_detach(&path, NULL);
    for (i = 0; i < op->nparams; i++) {
        const struct openapi_param *p = &op->params[i];
        cJSON *v, *text;

        if (!p->required || (p->in != OPENAPI_IN_QUERY && p->in != OPENAPI_IN_HEADER))
            continue;
        v = param_value(api, op, p, p->in == OPENAPI_IN_QUERY ? "query" : "header");
        if (p->in == OPENAPI_IN_QUERY) {
            if (!w->query)
                w->query = cJSON_CreateObject();
            if (cJSON_IsArray(v) && p->explode && v->child) {
                const cJSON *it;

                text = cJSON_CreateArray();
                cJSON_ArrayForEach(it, v)
                    cJSON_AddItemToArray(text, text_of(it));
            } else {
                text = text_of(v);
            }
            cJSON_AddItemToObject(w->query, p->name, text);
        } else {
            struct buf lower = BUF_INIT;
            const char *c;

            for (c = p->name; *c; c++)
                buf_addch(&lower, (char)tolower((unsigned char)*c));
            if (!w->headers)
                w->headers = cJSON_CreateObject();
            cJSON_AddItemToObject(w->headers, buf_cstr(&lower), text_of(v));
            buf_release(&lower);
        }
        cJSON_Delete(v);
    }
    /* The request-body examples, every media type's in order. */
    if (op->request_body) {
        const cJSON *media;

        cJSON_ArrayForEach(media, member(op->request_body, "content")) {
            const cJSON *one = member(media, "example"), *e;

            if (one) {
                w->reqs = xrealloc(w->reqs, (w->nreqs + 1) * sizeof(*w->reqs));
                w->reqs[w->nreqs++] = (struct req_example){ "example", media->string, one };
            }
            cJSON_ArrayForEach(e, member(media, "examples")) {
                const cJSON *v = member(deref(api, e), "value");

                if (!v)
                    continue;
                w->reqs = xrealloc(w->reqs, (w->nreqs + 1) * sizeof(*w->reqs));
                w->reqs[w->nreqs++] = (struct req_example){ e->string, media->string, v };
            }
        }
    }
}

/* The request body for the response example name: the request example of that name,
 * else the first when the body is required; NULL (any body will do) otherwise. */
static const struct req_example *request_for(const struct op_work *w, const char *name)
{
    size_t i;

    for (i = 0; name && i < w->nreqs; i++)
        if (strcmp(w->reqs[i].name, name) == 0)
            return &w->reqs[i];
    return w->nreqs && cJSON_IsTrue(member(w->op->request_body, "required")) ? &w->reqs[0]
                                                                              : NULL;
}

/* ---- the response ----------------------------------------------------------------- */

static bool listed(const cJSON *responses, int status)
{
    char key[8];

    snprintf(key, sizeof(key), "%d", status);
    return member(responses, key) != NULL;
}

/* A status for key: itself when it is one; for "default" or a range ("4XX"), the status
 * member of an object example, else 418 (default only) or the first of the range that
 * the operation does not list. */
static int concrete_status(const cJSON *responses, const char *key, const cJSON *value)
{
    const cJSON *st = member(cJSON_IsObject(value) ? value : NULL, "status");
    int lo = 400, hi = 599, s;

    if (strlen(key) == 3 && isdigit((unsigned char)key[0]) && isdigit((unsigned char)key[1])
        && isdigit((unsigned char)key[2]))
        return atoi(key);
    if (cJSON_IsNumber(st) && st->valueint >= 100 && st->valueint <= 599
        && st->valuedouble == (double)st->valueint)
        return st->valueint;
    if (strlen(key) == 3 && key[0] >= '1' && key[0] <= '5') {
        lo = (key[0] - '0') * 100;
        hi = lo + 99;
    } else if (!listed(responses, 418)) {
        return 418;
    }
    for (s = lo; s <= hi; s++)
        if (!listed(responses, s))
            return s;
    return lo;
}

/* The response headers of a fixture: Content-Type, then every documented header with an
 * example (those hogmock sets itself left out). */
static cJSON *response_headers(const struct openapi *api, const cJSON *resp,
                               const char *content_type)
{
    cJSON *h = cJSON_CreateObject();
    const cJSON *hd;

    if (content_type)
        cJSON_AddStringToObject(h, "Content-Type", content_type);
    cJSON_ArrayForEach(hd, member(resp, "headers")) {
        const cJSON *v;

        if (strcasecmp(hd->string, "X-Request-Id") == 0 || strcasecmp(hd->string, "Content-Type") == 0
            || strcasecmp(hd->string, "Content-Length") == 0)
            continue;
        if ((v = node_example(api, deref(api, hd))) != NULL)
            cJSON_AddItemToObject(h, hd->string, text_of(v));
    }
    if (!h->child) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

/* A new fixture of w's operation for response key (its node resp), media type media
 * (NULL: no body) and example name/value. */
static void add_fixture(struct op_work *w, const cJSON *responses, const char *key,
                        const cJSON *resp, const char *media, const char *name,
                        const cJSON *value)
{
    const struct openapi_op *op = w->op;
    const struct req_example *rx = request_for(w, media ? name : NULL);
    struct fixture *f;
    struct buf b = BUF_INIT;
    const char *ctype = media;
    int n;

    w->items = xrealloc(w->items, (w->count + 1) * sizeof(*w->items));
    f = &w->items[w->count++];
    memset(f, 0, sizeof(*f));

    add_name_part(&b, op->operation_id);
    buf_addch(&b, '-');
    add_name_part(&b, key);
    buf_addch(&b, '-');
    add_name_part(&b, media ? name : "no_content");
    /* Two examples that clean up to one name: -2, -3 ... */
    for (n = 2; member(w->names, buf_cstr(&b)); n++) {
        char *base = xstrdup(buf_cstr(&b));
        char *dash = strrchr(base, '-');

        if (n > 2 && dash)
            *dash = '\0';
        buf_reset(&b);
        buf_addf(&b, "%s-%d", base, n);
        free(base);
    }
    cJSON_AddTrueToObject(w->names, buf_cstr(&b));
    f->name = buf_detach(&b, NULL);

    f->operation = xstrdup(op->name);
    f->method = xstrdup(op->method);
    f->path = xstrdup(w->path);
    f->query = w->query ? cJSON_Duplicate(w->query, 1) : NULL;
    f->headers = w->headers ? cJSON_Duplicate(w->headers, 1) : NULL;
    f->body = rx ? cJSON_Duplicate(rx->value, 1) : NULL;
    f->status = concrete_status(responses, key, value);
    if (media && strchr(media, '*'))
        ctype = cJSON_IsString(value) ? "text/plain" : "application/json";
    f->resp_headers = response_headers(w->api, resp, ctype);
    if (media) {
        if (cJSON_IsString(value) && !json_media(ctype)) {
            f->resp_body = xstrdup(value->valuestring);
        } else {
            char *text = cJSON_PrintUnformatted(value);

            f->resp_body = xstrdup(text);
            cJSON_free(text);
        }
        f->resp_len = strlen(f->resp_body);
    }
    buf_addf(&b, "%s %s %s %s example '%s' of %s", op->method, op->path, key,
             media ? media : "(no body)", media ? name : "-", w->spec_name);
    f->description = buf_detach(&b, NULL);
}

/* Fixtures whose request equals an earlier one's are picked by the select header. */
static void add_selectors(struct op_work *w)
{
    char **keys = xcalloc(w->count ? w->count : 1, sizeof(*keys));
    size_t i, j;

    for (i = 0; i < w->count; i++) {
        struct fixture *f = &w->items[i];
        char *q = f->query ? cJSON_PrintUnformatted(f->query) : NULL;
        char *h = f->headers ? cJSON_PrintUnformatted(f->headers) : NULL;
        char *body = f->body ? cJSON_PrintUnformatted(f->body) : NULL;
        struct buf k = BUF_INIT;

        buf_addf(&k, "%s\n%s\n%s\n%s\n%s", f->method, f->path, q ? q : "", h ? h : "",
                 body ? body : "");
        keys[i] = buf_detach(&k, NULL);
        cJSON_free(q);
        cJSON_free(h);
        cJSON_free(body);
    }
    for (i = 0; i < w->count; i++) {
        struct fixture *f = &w->items[i];

        for (j = 0; j < i && strcmp(keys[j], keys[i]) != 0; j++)
            ;
        if (j < i) {
            struct buf v = BUF_INIT;

            buf_addf(&v, "example=%s", f->name);
            if (!f->headers)
                f->headers = cJSON_CreateObject();
            cJSON_AddStringToObject(f->headers, DERIVE_SELECT_HEADER, buf_cstr(&v));
            buf_release(&v);
        }
    }
    for (i = 0; i < w->count; i++)
        free(keys[i]);
    free(keys);
}

static enum rc derive_op(struct op_work *w, struct buf *err)
{
    const cJSON *responses = member(w->op->node, "responses"), *r;

    request_template(w);
    cJSON_ArrayForEach(r, responses) {
        const cJSON *resp, *content, *media;
        enum rc rc = openapi_deref(w->api, r, &resp, err);

        if (rc != RC_OK)
            return rc;
        content = member(resp, "content");
        if (!content || !content->child) {
            add_fixture(w, responses, r->string, resp, NULL, NULL, NULL);
            continue;
        }
        cJSON_ArrayForEach(media, content) {
            const cJSON *one = member(media, "example"), *e;

            if (one)
                add_fixture(w, responses, r->string, resp, media->string, "example", one);
            cJSON_ArrayForEach(e, member(media, "examples")) {
                const cJSON *node;
                const cJSON *v;

                if ((rc = openapi_deref(w->api, e, &node, err)) != RC_OK)
                    return rc;
                if ((v = member(node, "value")) != NULL)
                    add_fixture(w, responses, r->string, resp, media->string, e->string, v);
            }
        }
    }
    add_selectors(w);
    return RC_OK;
}

static void work_release(struct op_work *w)
{
    size_t i;

    for (i = 0; i < w->count; i++)
        fixture_release(&w->items[i]);
    free(w->items);
    free(w->reqs);
    free(w->path);
    cJSON_Delete(w->query);
    cJSON_Delete(w->headers);
}

enum rc derive_fixtures(const struct openapi *api, const char *spec_name, derive_fn *fn,
                        void *ctx, struct buf *err)
{
    cJSON *names = cJSON_CreateObject();
    enum rc rc = RC_OK;
    size_t i, k;

    for (i = 0; i < openapi_op_count(api) && rc == RC_OK; i++) {
        struct op_work w = { 0 };

        w.api = api;
        w.op = openapi_op_at(api, i);
        w.spec_name = spec_name;
        w.names = names;
        rc = derive_op(&w, err);
        for (k = 0; rc == RC_OK && k < w.count; k++)
            if (fn(&w.items[k], ctx))
                rc = RC_STOPPED;
        work_release(&w);
    }
    cJSON_Delete(names);
    return rc;
}
