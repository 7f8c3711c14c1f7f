#include "respcheck.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "sse.h"
#include "xmalloc.h"

enum body_kind { BODY_NONE, BODY_FORBIDDEN, BODY_JSON, BODY_SSE, BODY_OTHER };

struct respcheck {
    const struct openapi *api;
    const struct schema *s;
    char what[160];             /* "getHogbox" or "GET /x (no operation)", for messages */
    int status;
    char *request_id;           /* the X-Request-Id header, or NULL */
    enum body_kind kind;
    const cJSON *schema;        /* the JSON body's schema, NULL when none */
    bool problem;               /* application/problem+json */
    bool expect_body;           /* a documented content and a status that has a body */
    bool no_ctype;              /* ... and no Content-Type came */
    char *media;                /* the documented media types, for messages */
    uint64_t bytes;
    struct buf body;            /* a JSON body while it fits */
    bool over;                  /* the JSON body outgrew RESPCHECK_BODY_MAX */
    const cJSON *events;        /* x-hog-sse-events */
    struct sse_parser sse;
    size_t nevents;
    cJSON *list;
    size_t left_out;
};

static void add(struct respcheck *c, const char *kind, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct respcheck *c, const char *kind, const char *pointer, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    cJSON *v;

    if ((size_t)cJSON_GetArraySize(c->list) >= RESPCHECK_MAX) {
        c->left_out++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "kind", kind);
    if (pointer)
        cJSON_AddStringToObject(v, "pointer", pointer);
    else
        cJSON_AddNullToObject(v, "pointer");
    cJSON_AddStringToObject(v, "detail", detail);
    cJSON_AddItemToArray(c->list, v);
}

/* Schema errors as violations; their messages start with the pointer, which has its own
 * member. */
static void add_schema_errors(struct respcheck *c, const char *kind, const char *prefix,
                              const struct schema_errors *errs)
{
    size_t i;

    for (i = 0; i < errs->count; i++) {
        const char *m = errs->items[i].message, *p = errs->items[i].pointer;
        size_t plen = strlen(p);

        if (strncmp(m, p, plen) == 0 && strncmp(m + plen, ": ", 2) == 0)
            m += plen + 2;
        else if (str_startswith(m, "/: "))
            m += 3;
        add(c, kind, p, "%s%s", prefix, m);
    }
}

static const cJSON *header(const cJSON *headers, const char *name)
{
    const cJSON *h;

    cJSON_ArrayForEach(h, headers)
        if (h->string && strcasecmp(h->string, name) == 0)
            return h;
    return NULL;
}

/* The response documented for status: exact, then a range ("4XX"), then default. */
static const cJSON *documented(const cJSON *responses, int status)
{
    char key[8];
    const cJSON *r;

    snprintf(key, sizeof(key), "%d", status);
    if ((r = cJSON_GetObjectItemCaseSensitive(responses, key)))
        return r;
    cJSON_ArrayForEach(r, responses)
        if (r->string && strlen(r->string) == 3 && r->string[0] == key[0]
            && toupper((unsigned char)r->string[1]) == 'X'
            && toupper((unsigned char)r->string[2]) == 'X')
            return r;
    return cJSON_GetObjectItemCaseSensitive(responses, "default");
}

static bool json_media(const char *mt)
{
    size_t n = strlen(mt);

    return strcmp(mt, "application/json") == 0 || (n > 5 && strcmp(mt + n - 5, "+json") == 0);
}

/* The content entry for media type mt (lower case, no parameters): exact, then a
 * wildcard range ("type/" + star, or star/star). */
static const cJSON *media_entry(const cJSON *content, const char *mt)
{
    const cJSON *m;
    size_t slash = strcspn(mt, "/");

    cJSON_ArrayForEach(m, content) {
        if (m->string && strcasecmp(m->string, mt) == 0)
            return m;
    }
    cJSON_ArrayForEach(m, content) {
        const char *k = m->string;

        if (k && strcmp(k, "*/*") == 0)
            return m;
        if (k && strlen(k) == slash + 2 && strncasecmp(k, mt, slash) == 0 && k[slash] == '/'
            && k[slash + 1] == '*')
            return m;
    }
    return NULL;
}

static int on_event(const struct sse_event *ev, void *ctx)
{
    struct respcheck *c = ctx;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(c->events, ev->type), *node;
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    char prefix[192];
    cJSON *data;

    c->nevents++;
    snprintf(prefix, sizeof(prefix), "event %zu '%.64s': ", c->nevents, ev->type);
    if (!schema) {
        add(c, "event", NULL, "%sthe event is not listed in x-hog-sse-events", prefix);
        return 0;
    }
    data = cJSON_ParseWithLength(ev->data, ev->len);
    if (!data) {
        add(c, "event", NULL, "%sdata is not JSON", prefix);
        return 0;
    }
    if (openapi_deref(c->api, schema, &node, NULL) == RC_OK
        && schema_validate(c->s, node, data, &errs) != RC_OK)
        add_schema_errors(c, "event", prefix, &errs);
    schema_errors_release(&errs);
    cJSON_Delete(data);
    return 0;
}

static void media_list(struct respcheck *c, const cJSON *content)
{
    struct buf b = BUF_INIT;
    const cJSON *m;

    cJSON_ArrayForEach(m, content) {
        if (b.len)
            buf_addstr(&b, ", ");
        buf_addstr(&b, m->string);
    }
    c->media = buf_detach(&b, NULL);
}

struct respcheck *respcheck_begin(const struct openapi *api, const struct schema *s,
                                  const struct openapi_op *op, const char *method, int status,
                                  const cJSON *headers)
{
    struct respcheck *c = xcalloc(1, sizeof(*c));
    const cJSON *responses, *resp, *hdrs, *h, *content, *media, *ctype, *rid;
    char mt[128];
    size_t n;

    c->api = api;
    c->s = s;
    c->status = status;
    c->list = cJSON_CreateArray();
    c->kind = BODY_OTHER;
    buf_init(&c->body);
    rid = header(headers, "x-request-id");
    c->request_id = cJSON_IsString(rid) ? xstrdup(rid->valuestring) : NULL;
    if (op) {
        snprintf(c->what, sizeof(c->what), "%s", op->name);
        responses = cJSON_GetObjectItemCaseSensitive(op->node, "responses");
    } else {
        const cJSON *un = cJSON_GetObjectItemCaseSensitive(openapi_doc(api),
                                                           "x-hog-unmatched-responses");

        snprintf(c->what, sizeof(c->what), "a request that matches no operation");
        responses = cJSON_GetObjectItemCaseSensitive(un, "responses");
        if (!responses)
            return c;       /* nothing says what may come back */
    }
    resp = documented(responses, status);
    if (!resp || openapi_deref(api, resp, &resp, NULL) != RC_OK) {
        add(c, "status", NULL, "status %d is not documented for %s", status, c->what);
        return c;
    }
    hdrs = cJSON_GetObjectItemCaseSensitive(resp, "headers");
    cJSON_ArrayForEach(h, hdrs) {
        const cJSON *hd;

        if (openapi_deref(api, h, &hd, NULL) == RC_OK
            && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hd, "required"))
            && !header(headers, h->string))
            add(c, "header", NULL, "the required header %s is missing (status %d of %s)",
                h->string, status, c->what);
    }
    content = cJSON_GetObjectItemCaseSensitive(resp, "content");
    /* HEAD, 204 and 304 answers have no body whatever the description says. */
    if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304 || status < 200) {
        c->kind = BODY_NONE;
        return c;
    }
    if (!content || !content->child) {
        c->kind = BODY_FORBIDDEN;
        return c;
    }
    media_list(c, content);
    c->expect_body = true;
    ctype = header(headers, "content-type");
    if (!cJSON_IsString(ctype)) {
        c->no_ctype = true;     /* judged at the end, by whether a body came */
        return c;
    }
    n = strcspn(ctype->valuestring, "; \t");
    snprintf(mt, sizeof(mt), "%.*s", (int)(n < sizeof(mt) - 1 ? n : sizeof(mt) - 1),
             ctype->valuestring);
    for (n = 0; mt[n]; n++)
        mt[n] = (char)tolower((unsigned char)mt[n]);
    media = media_entry(content, mt);
    if (!media) {
        add(c, "content_type", NULL, "Content-Type '%s' is not documented for status %d of %s "
            "(documented: %s)", ctype->valuestring, status, c->what, c->media);
        return c;
    }
    if (strcmp(mt, "text/event-stream") == 0) {
        struct sse_callbacks cb = { on_event, NULL, NULL, c };

        c->events = cJSON_GetObjectItemCaseSensitive(resp, "x-hog-sse-events");
        c->kind = BODY_SSE;
        sse_parser_init(&c->sse, c->events ? &cb : NULL);
        c->sse.max_line = c->sse.max_event = RESPCHECK_BODY_MAX;
    } else if (json_media(mt)) {
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(media, "schema");

        c->kind = BODY_JSON;
        c->problem = strcmp(mt, "application/problem+json") == 0;
        if (schema && openapi_deref(api, schema, &c->schema, NULL) != RC_OK)
            c->schema = NULL;
    }
    return c;
}

void respcheck_feed(struct respcheck *c, const void *data, size_t len)
{
    c->bytes += len;
    if (c->kind == BODY_SSE) {
        /* Past a limit the parser stops for good: the rest goes unchecked. */
        sse_parser_feed(&c->sse, data, len);
    } else if (c->kind == BODY_JSON && !c->over) {
        if (c->body.len + len > RESPCHECK_BODY_MAX) {
            c->over = true;
            buf_release(&c->body);
        } else {
            buf_add(&c->body, data, len);
        }
    }
}

/* A problem body must agree with its answer: same status, same request id. */
static void check_problem(struct respcheck *c, const cJSON *doc)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(doc, "request_id");

    if (cJSON_IsNumber(st) && st->valueint != c->status)
        add(c, "problem", "/status", "the problem says status %d, the answer is %d",
            st->valueint, c->status);
    if (cJSON_IsString(rid) && c->request_id && strcmp(rid->valuestring, c->request_id) != 0)
        add(c, "problem", "/request_id", "the problem's request_id '%.64s' is not the "
            "X-Request-Id '%.64s'", rid->valuestring, c->request_id);
}

static void check_json(struct respcheck *c)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    const char *end = NULL;
    cJSON *doc;

    if (c->over)
        return;
    doc = cJSON_ParseWithLengthOpts(buf_cstr(&c->body), c->body.len, &end, false);
    if (!doc || (end && (size_t)(end - buf_cstr(&c->body)) < c->body.len
                 && strspn(end, " \t\r\n") < strlen(end))) {
        add(c, "body", NULL, "the body is not JSON (%llu bytes)", (unsigned long long)c->bytes);
        cJSON_Delete(doc);
        return;
    }
    if (c->schema && schema_validate(c->s, c->schema, doc, &errs) != RC_OK)
        add_schema_errors(c, "body", "", &errs);
    schema_errors_release(&errs);
    if (c->problem)
        check_problem(c, doc);
    cJSON_Delete(doc);
}

cJSON *respcheck_end(struct respcheck *c, bool complete)
{
    cJSON *list = c->list;

    if (complete) {
        if (c->kind == BODY_FORBIDDEN && c->bytes)
            add(c, "body", NULL, "a body of %llu bytes where status %d of %s documents none",
                (unsigned long long)c->bytes, c->status, c->what);
        else if (c->expect_body && !c->bytes)
            add(c, "body", NULL, "no body where status %d of %s documents one (%s)", c->status,
                c->what, c->media);
        else if (c->no_ctype)
            add(c, "content_type", NULL, "a body of %llu bytes without Content-Type (status %d "
                "of %s documents %s)", (unsigned long long)c->bytes, c->status, c->what,
                c->media);
        else if (c->kind == BODY_JSON)
            check_json(c);
        else if (c->kind == BODY_SSE)
            sse_parser_finish(&c->sse);
    }
    if (c->left_out) {
        cJSON *v = cJSON_CreateObject();
        char detail[96];

        snprintf(detail, sizeof(detail), "%zu more violations were left out", c->left_out);
        cJSON_AddStringToObject(v, "kind", "body");
        cJSON_AddNullToObject(v, "pointer");
        cJSON_AddStringToObject(v, "detail", detail);
        cJSON_AddItemToArray(list, v);
    }
    if (c->kind == BODY_SSE)
        sse_parser_release(&c->sse);
    buf_release(&c->body);
    free(c->media);
    free(c->request_id);
    free(c);
    return list;
}
