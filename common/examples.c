#include "examples.h"

#include <string.h>

#include "sse.h"

static bool is_json_media(const char *mt)
{
    size_t n = strcspn(mt, ";");

    return (n == 16 && strncmp(mt, "application/json", 16) == 0)
           || (n > 5 && strncmp(mt + n - 5, "+json", 5) == 0);
}

/* Bytes or text on the wire: an example of it can only be a string. A wildcard media
 * range may well carry JSON, so it is not opaque. */
static bool is_opaque_media(const char *mt)
{
    return !is_json_media(mt) && !strchr(mt, '*');
}

/* Call fn for each example of one content map; rc != RC_OK stops. */
static enum rc walk_content(const struct openapi *api, const struct openapi_op *op,
                            const char *status, const cJSON *content, const cJSON *sse_events,
                            example_fn *fn, void *ctx, struct buf *err, int *stop)
{
    const cJSON *media;

    cJSON_ArrayForEach(media, content) {
        struct example ex = { op, status, media->string, NULL, NULL, NULL, sse_events };
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(media, "schema");
        const cJSON *one = cJSON_GetObjectItemCaseSensitive(media, "example");
        const cJSON *many = cJSON_GetObjectItemCaseSensitive(media, "examples"), *item;
        enum rc rc;

        if (schema && (rc = openapi_deref(api, schema, &ex.schema, err)) != RC_OK)
            return rc;
        if (one) {
            ex.name = "example";
            ex.value = one;
            if (fn(&ex, ctx)) {
                *stop = 1;
                return RC_OK;
            }
        }
        cJSON_ArrayForEach(item, many) {
            const cJSON *node;

            if ((rc = openapi_deref(api, item, &node, err)) != RC_OK)
                return rc;
            ex.name = item->string;
            ex.value = cJSON_GetObjectItemCaseSensitive(node, "value");
            if (!ex.value)
                continue;
            if (fn(&ex, ctx)) {
                *stop = 1;
                return RC_OK;
            }
        }
    }
    return RC_OK;
}

static enum rc walk_responses(const struct openapi *api, const struct openapi_op *op,
                              const cJSON *responses, example_fn *fn, void *ctx,
                              struct buf *err, int *stop)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, responses) {
        const cJSON *node;
        enum rc rc = openapi_deref(api, r, &node, err);

        if (rc != RC_OK)
            return rc;
        rc = walk_content(api, op, r->string, cJSON_GetObjectItemCaseSensitive(node, "content"),
                          cJSON_GetObjectItemCaseSensitive(node, "x-hog-sse-events"),
                          fn, ctx, err, stop);
        if (rc != RC_OK || *stop)
            return rc;
    }
    return RC_OK;
}

enum rc examples_foreach(const struct openapi *api, example_fn *fn, void *ctx,
                         struct buf *err)
{
    const cJSON *unmatched;
    size_t i;
    int stop = 0;
    enum rc rc;

    for (i = 0; i < openapi_op_count(api) && !stop; i++) {
        const struct openapi_op *op = openapi_op_at(api, i);

        if (op->request_body) {
            rc = walk_content(api, op, NULL,
                              cJSON_GetObjectItemCaseSensitive(op->request_body, "content"),
                              NULL, fn, ctx, err, &stop);
            if (rc != RC_OK)
                return rc;
        }
        if (stop)
            break;
        rc = walk_responses(api, op, cJSON_GetObjectItemCaseSensitive(op->node, "responses"),
                            fn, ctx, err, &stop);
        if (rc != RC_OK)
            return rc;
    }
    unmatched = cJSON_GetObjectItemCaseSensitive(openapi_doc(api), "x-hog-unmatched-responses");
    if (!stop && unmatched)
        return walk_responses(api, NULL, cJSON_GetObjectItemCaseSensitive(unmatched, "responses"),
                              fn, ctx, err, &stop);
    return RC_OK;
}

void example_describe(const struct example *ex, struct buf *out)
{
    if (ex->op)
        buf_addf(out, "%s %s ", ex->op->method, ex->op->path);
    else
        buf_addstr(out, "(unmatched) ");
    buf_addf(out, "%s %s '%s'", ex->status ? ex->status : "request", ex->media_type, ex->name);
}

static size_t report(const struct schema *s, const cJSON *schema, const cJSON *value,
                     const char *prefix, struct buf *problems)
{
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    size_t i, n;

    if (schema_validate(s, schema, value, &errs) == RC_OK)
        return 0;
    for (i = 0; i < errs.count; i++)
        buf_addf(problems, "- %s%s\n", prefix, errs.items[i].message);
    n = errs.count ? errs.count : 1;
    if (!errs.count)
        buf_addf(problems, "- %sdoes not validate\n", prefix);
    schema_errors_release(&errs);
    return n;
}

struct sse_check {
    const struct openapi *api;
    const struct schema *s;
    const cJSON *events;
    struct buf *problems;
    size_t count;
    size_t n;
};

static int check_event(const struct sse_event *ev, void *ctx)
{
    struct sse_check *c = ctx;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(c->events, ev->type), *node;
    struct buf prefix = BUF_INIT;
    cJSON *data;

    c->n++;
    buf_addf(&prefix, "event %zu '%s': ", c->n, ev->type);
    if (!schema) {
        buf_addf(c->problems, "- %sthe event is not listed in x-hog-sse-events\n",
                 buf_cstr(&prefix));
        c->count++;
    } else if (!(data = cJSON_ParseWithLength(ev->data, ev->len))) {
        buf_addf(c->problems, "- %sdata is not JSON\n", buf_cstr(&prefix));
        c->count++;
    } else {
        if (openapi_deref(c->api, schema, &node, NULL) == RC_OK)
            c->count += report(c->s, node, data, buf_cstr(&prefix), c->problems);
        cJSON_Delete(data);
    }
    buf_release(&prefix);
    return 0;
}

size_t example_check(const struct openapi *api, const struct schema *s,
                     const struct example *ex, struct buf *problems)
{
    if (strncmp(ex->media_type, "text/event-stream", 17) == 0) {
        struct sse_check c = { api, s, ex->sse_events, problems, 0, 0 };
        struct sse_callbacks cb = { check_event, NULL, NULL, &c };
        struct sse_parser p;

        if (!cJSON_IsString(ex->value)) {
            buf_addstr(problems, "- an event-stream example must be a string\n");
            return 1;
        }
        if (!ex->sse_events)
            return 0;
        sse_parser_init(&p, &cb);
        sse_parser_feed(&p, ex->value->valuestring, strlen(ex->value->valuestring));
        sse_parser_finish(&p);
        sse_parser_release(&p);
        if (c.n == 0) {
            buf_addstr(problems, "- the event stream holds no complete event\n");
            c.count++;
        }
        return c.count;
    }
    if (!ex->schema)
        return 0;
    if (is_opaque_media(ex->media_type) && !cJSON_IsString(ex->value)) {
        buf_addf(problems, "- a '%s' example must be a string\n", ex->media_type);
        return 1;
    }
    return report(s, ex->schema, ex->value, "", problems);
}
