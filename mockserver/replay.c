#include "replay.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixtures.h"
#include "problem.h"
#include "server.h"
#include "xmalloc.h"

/* Response headers a fixture cannot set: the server writes them itself. */
static bool own_header(const char *name)
{
    static const char *const names[] = {
        "X-Request-Id", "Content-Length", "Transfer-Encoding", "Connection", "Date", NULL,
    };
    const char *const *n;

    for (n = names; *n; n++)
        if (strcasecmp(name, *n) == 0)
            return true;
    return false;
}

/* The request headers by lower-case name, repeated ones joined with ", ". */
static int collect_header(void *ctx, const char *name, const char *value)
{
    cJSON *headers = ctx;
    struct buf lower = BUF_INIT;
    const char *c;
    cJSON *old;

    for (c = name; *c; c++)
        buf_addch(&lower, (char)tolower((unsigned char)*c));
    old = cJSON_GetObjectItemCaseSensitive(headers, buf_cstr(&lower));
    if (old) {
        struct buf joined = BUF_INIT;

        buf_addf(&joined, "%s, %s", old->valuestring, value);
        cJSON_SetValuestring(old, buf_cstr(&joined));
        buf_release(&joined);
    } else {
        cJSON_AddStringToObject(headers, buf_cstr(&lower), value);
    }
    buf_release(&lower);
    return 0;
}

static bool is_problem(const char *ctype)
{
    size_t n = strlen(PROBLEM_CONTENT_TYPE);

    return ctype && strncasecmp(ctype, PROBLEM_CONTENT_TYPE, n) == 0
           && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static void answer_with(struct req *r, const struct fixture *f)
{
    const char *ctype = NULL;
    const cJSON *h;
    char *body;
    size_t len;

    cJSON_ArrayForEach(h, f->resp_headers) {
        if (strcasecmp(h->string, "Content-Type") == 0)
            ctype = h->valuestring;
        else if (!own_header(h->string))
            req_set_header(r, h->string, h->valuestring);
    }
    if (!f->resp_body) {
        req_empty(r, f->status);
        return;
    }
    body = xmemdup(f->resp_body, f->resp_len);
    len = f->resp_len;
    if (is_problem(ctype)) {
        /* A problem repeats the request's id, as the spec says: this request's. */
        cJSON *doc = cJSON_ParseWithLength(body, len);

        if (cJSON_IsObject(doc)) {
            char *text;

            if (cJSON_GetObjectItemCaseSensitive(doc, "request_id"))
                cJSON_ReplaceItemInObjectCaseSensitive(doc, "request_id",
                                                       cJSON_CreateString(r->request_id));
            else
                cJSON_AddStringToObject(doc, "request_id", r->request_id);
            text = cJSON_PrintUnformatted(doc);
            free(body);
            body = xstrdup(text);
            len = strlen(body);
            cJSON_free(text);
        }
        cJSON_Delete(doc);
    }
    req_bytes(r, f->status, ctype, body, len);
}

void replay_answer(struct req *r)
{
    struct fixture_request rq = { 0 };
    cJSON *headers = cJSON_CreateObject();
    struct buf why = BUF_INIT;
    const struct fixture *f;

    req_each_header(r, collect_header, headers);
    rq.operation = r->op->name;
    rq.operation_id = r->op->operation_id;
    rq.method = r->method;
    rq.path = r->path;
    rq.query = r->query;
    rq.headers = headers;
    rq.body = r->body;
    rq.body_len = r->body_len;
    rq.content_type = req_header(r, "Content-Type");
    f = fixture_set_match(r->hm->fixtures, &rq, &why);
    if (f)
        answer_with(r, f);
    else
        req_problem(r, 404, "not_found", "no fixture matches %s %s%s%s: %s", r->method, r->path,
                    r->query[0] ? "?" : "", r->query, buf_cstr(&why));
    buf_release(&why);
    cJSON_Delete(headers);
}

/* ---- the admin API ------------------------------------------------------------------ */

static const char *mode_name(enum hogmock_mode mode)
{
    switch (mode) {
    case HOGMOCK_REPLAY: return "replay";
    case HOGMOCK_PROXY: return "proxy";
    case HOGMOCK_RECORD: return "record";
    case HOGMOCK_SIM: break;
    }
    return "sim";
}

static cJSON *dup_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static void admin_fixtures(struct req *r)
{
    struct hogmock *hm = r->hm;
    const struct fixture_set *set = hm->fixtures;
    cJSON *o = cJSON_CreateObject(), *items;
    size_t i;

    cJSON_AddStringToObject(o, "mode", mode_name(hm->cfg.mode));
    if (hm->cfg.fixtures_dir)
        cJSON_AddStringToObject(o, "dir", hm->cfg.fixtures_dir);
    else
        cJSON_AddNullToObject(o, "dir");
    cJSON_AddNumberToObject(o, "count", (double)fixture_set_count(set));
    items = cJSON_AddArrayToObject(o, "items");
    for (i = 0; i < fixture_set_count(set); i++) {
        const struct fixture *f = fixture_set_at(set, i);
        cJSON *it = cJSON_CreateObject(), *req, *resp;
        const cJSON *h, *ctype = NULL;

        cJSON_AddStringToObject(it, "name", f->name);
        cJSON_AddStringToObject(it, "operation", f->operation);
        if (f->description)
            cJSON_AddStringToObject(it, "description", f->description);
        else
            cJSON_AddNullToObject(it, "description");
        req = cJSON_AddObjectToObject(it, "request");
        cJSON_AddStringToObject(req, "method", f->method);
        cJSON_AddStringToObject(req, "path", f->path);
        cJSON_AddItemToObject(req, "query", dup_or_null(f->query));
        cJSON_AddItemToObject(req, "headers", dup_or_null(f->headers));
        cJSON_AddItemToObject(req, "body", dup_or_null(f->body));
        resp = cJSON_AddObjectToObject(it, "response");
        cJSON_AddNumberToObject(resp, "status", f->status);
        cJSON_ArrayForEach(h, f->resp_headers)
            if (strcasecmp(h->string, "Content-Type") == 0)
                ctype = h;
        cJSON_AddItemToObject(resp, "content_type", dup_or_null(ctype));
        cJSON_AddNumberToObject(resp, "bytes", (double)(f->resp_body ? f->resp_len : 0));
        cJSON_AddItemToArray(items, it);
    }
    req_json(r, 200, o);
}

const struct route replay_admin_routes[] = {
    { "adminFixtures", admin_fixtures },
    { NULL, NULL },
};
