#include "hogclient.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sse.h"
#include "transport.h"
#include "xmalloc.h"

/* ---- the client ----------------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmalloc_init_cjson();
}

void hog_client_options_init(struct hog_client_options *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_ms = 60000;
    o->connect_timeout_ms = 10000;
    o->stream_idle_ms = 60000;
    o->max_attempts = 4;
    o->backoff_base_ms = 200;
    o->backoff_cap_ms = 5000;
    o->retry_after_cap_ms = 60000;
}

enum rc hog_client_new(const struct hog_client_options *o, struct hog_client **out,
                       struct buf *why)
{
    struct hog_client *c;
    size_t n;

    *out = NULL;
    if (!o->host || !*o->host) {
        if (why)
            buf_addstr(why, "no host given");
        return RC_INVALID;
    }
    if (strncasecmp(o->host, "http://", 7) != 0 && strncasecmp(o->host, "https://", 8) != 0) {
        if (why)
            buf_addf(why, "host '%s' is not an http:// or https:// URL", o->host);
        return RC_INVALID;
    }
    if ((!o->token || !*o->token) && (!o->token_file || !*o->token_file)) {
        if (why)
            buf_addstr(why, "neither a token nor a token file given");
        return RC_INVALID;
    }
    pthread_once(&global_once, global_init);
    c = xcalloc(1, sizeof(*c));
    c->o = *o;
    c->host = xstrdup(o->host);
    n = strlen(c->host);
    while (n > 0 && c->host[n - 1] == '/')
        c->host[--n] = '\0';
    if (o->token_file && *o->token_file)
        c->token_file = xstrdup(o->token_file);
    else
        c->token = xstrdup(o->token);
    c->o.host = c->host;
    c->o.token = c->token;
    c->o.token_file = c->token_file;
    c->deadline_ms = o->deadline_ms;
    if (c->o.backoff_cap_ms < c->o.backoff_base_ms)
        c->o.backoff_cap_ms = c->o.backoff_base_ms;
    if (o->jitter_seed) {
        c->rng = o->jitter_seed;
    } else {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        c->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40)
                 ^ (uint64_t)(uintptr_t)c;
    }
    c->rng |= 1;
    c->curl = curl_easy_init();
    if (!c->curl) {
        fprintf(stderr, "fatal: curl_easy_init failed\n");
        abort();
    }
    *out = c;
    return RC_OK;
}

void hog_client_free(struct hog_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    if (c->token)
        memset(c->token, 0, strlen(c->token));
    free(c->host);
    free(c->token);
    free(c->token_file);
    free(c);
}

void hog_client_set_deadline(struct hog_client *c, long ms)
{
    c->deadline_ms = ms > 0 ? ms : 0;
}

const char *hog_client_host(const struct hog_client *c)
{
    return c->host;
}

/* ---- URLs ----------------------------------------------------------------------- */

static bool unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
           || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* s percent-encoded so that it is one path segment or one query value. */
static void add_escaped(struct buf *u, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (unreserved(ch)) {
            buf_addch(u, (char)ch);
        } else {
            buf_addch(u, '%');
            buf_addch(u, hex[ch >> 4]);
            buf_addch(u, hex[ch & 15]);
        }
    }
}

static void url_start(const struct hog_client *c, struct buf *u, const char *path)
{
    buf_reset(u);
    buf_addstr(u, c->host);
    buf_addstr(u, path);
}

static void url_seg(struct buf *u, const char *seg)
{
    buf_addch(u, '/');
    add_escaped(u, seg);
}

static void url_query(struct buf *u, const char *name, const char *value)
{
    buf_addch(u, strchr(buf_cstr(u), '?') ? '&' : '?');
    buf_addstr(u, name);
    buf_addch(u, '=');
    add_escaped(u, value);
}

/* A number that was given goes into the query as it is (see add_int). */
static void url_query_int(struct buf *u, const char *name, struct hog_int n)
{
    char num[32];

#if HOG_MUTANT == 18    /* mutant 18: a number given as 0 taken as not given */
    if (!n.value)
        return;
#endif
    if (!n.given)
        return;
    snprintf(num, sizeof(num), "%d", n.value);
    url_query(u, name, num);
}

/* ---- shared steps --------------------------------------------------------------- */

static enum rc need(const char *value, const char *what, struct hog_error *err)
{
    if (value && *value)
        return RC_OK;
    hog_error_set(err, HOG_ERR_VALIDATION, "%s is required", what);
    return RC_INVALID;
}

static void out_clear(cJSON **out)
{
    if (out)
        *out = NULL;
}

/* One JSON request; body (borrowed) NULL sends none. */
static enum rc run_json(struct hog_client *c, const char *method, const struct buf *url,
                        const cJSON *body, const char *idempotency_key, bool idempotent,
                        long timeout_ms, cJSON **out, struct hog_error *err)
{
    struct xfer x;
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    enum rc rc;

    memset(&x, 0, sizeof(x));
    x.method = method;
    x.url = buf_cstr(url);
    x.accept = "application/json";
    if (text) {
        x.content_type = "application/json";
        x.upload = text;
        x.upload_len = strlen(text);
    }
    x.idempotency_key = idempotency_key;
    x.idempotent = idempotent || idempotency_key;
    x.want_json = out != NULL;
    x.timeout_ms = timeout_ms ? timeout_ms : c->o.timeout_ms;
    rc = xfer_run(c, &x, err);
    if (rc == RC_OK && out) {
        *out = x.json;
        x.json = NULL;
    }
    xfer_release(&x);
    cJSON_free(text);
    return rc;
}

static enum rc get_json(struct hog_client *c, const struct buf *url, cJSON **out,
                        struct hog_error *err)
{
    return run_json(c, "GET", url, NULL, NULL, true, 0, out, err);
}

/* DELETE: a 404 after an attempt that may have done the work counts as done. */
static enum rc run_delete(struct hog_client *c, const struct buf *url, struct hog_error *err)
{
    struct xfer x;
    enum rc rc;

    memset(&x, 0, sizeof(x));
    x.method = "DELETE";
    x.url = buf_cstr(url);
    x.accept = "application/json";
    x.idempotent = true;
    x.timeout_ms = c->o.timeout_ms;
    rc = xfer_run(c, &x, err);
    if (rc == RC_ERR && err->status == 404 && x.maybe_done) {
        unsigned attempts = err->attempts;

        hog_error_release(err);
        err->attempts = attempts;
        rc = RC_OK;
    }
    xfer_release(&x);
    return rc;
}

/* "key=value" strings into {key: value}; RC_INVALID on one without '='. */
static enum rc labels_object(const char *const *labels, cJSON **out, struct hog_error *err)
{
    cJSON *o = cJSON_CreateObject();

    for (; labels && *labels; labels++) {
        const char *eq = strchr(*labels, '=');
        char *key;

        if (!eq || eq == *labels) {
            cJSON_Delete(o);
            hog_error_set(err, HOG_ERR_VALIDATION, "label '%s' is not key=value", *labels);
            return RC_INVALID;
        }
        key = xstrndup(*labels, (size_t)(eq - *labels));
        cJSON_DeleteItemFromObjectCaseSensitive(o, key);
        cJSON_AddStringToObject(o, key, eq + 1);
        free(key);
    }
    *out = o;
    return RC_OK;
}

/* A number that was given goes into body as it is, 0 and negative numbers included: the
 * server is the one to refuse them. */
static void add_int(cJSON *body, const char *name, struct hog_int n)
{
#if HOG_MUTANT == 18    /* mutant 18: a number given as 0 taken as not given */
    if (!n.value)
        return;
#endif
    if (n.given)
        cJSON_AddNumberToObject(body, name, n.value);
}

/* ---- principal ------------------------------------------------------------------ */

enum rc hog_me(struct hog_client *c, cJSON **out, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    url_start(c, &u, "/v1/me");
    rc = get_json(c, &u, out, err);
    buf_release(&u);
    return rc;
}

enum rc hog_limits(struct hog_client *c, cJSON **out, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    url_start(c, &u, "/v1/limits");
    rc = get_json(c, &u, out, err);
    buf_release(&u);
    return rc;
}

/* ---- hogboxes ------------------------------------------------------------------- */

enum rc hog_box_create(struct hog_client *c, const struct hog_box_spec *spec, cJSON **out,
                       struct hog_error *err)
{
    struct hog_box_spec none;
    struct buf u = BUF_INIT;
    cJSON *body = cJSON_CreateObject();
    char key[37];
    enum rc rc;

    out_clear(out);
    if (!spec) {
        memset(&none, 0, sizeof(none));
        spec = &none;
    }
    add_int(body, "cpus", spec->cpus);
    add_int(body, "memory_mib", spec->memory_mib);
    add_int(body, "disk_gib", spec->disk_gib);
    if (spec->snapshot_id)
        cJSON_AddStringToObject(body, "snapshot_id", spec->snapshot_id);
    if (spec->ssh_public_key)
        cJSON_AddStringToObject(body, "ssh_public_key", spec->ssh_public_key);
    if (spec->access_type)
        cJSON_AddStringToObject(body, "access_type", spec->access_type);
    if (spec->labels) {
        cJSON *labels;

        if (labels_object(spec->labels, &labels, err) != RC_OK) {
            cJSON_Delete(body);
            return RC_INVALID;
        }
        cJSON_AddItemToObject(body, "labels", labels);
    }
    /* One key for the operation: every retry must carry the same. */
    if (!spec->idempotency_key)
        hog_uuid4(key);
    url_start(c, &u, "/v1/hogboxes");
    rc = run_json(c, "POST", &u, body, spec->idempotency_key ? spec->idempotency_key : key,
                  true, 0, out, err);
    cJSON_Delete(body);
    buf_release(&u);
    return rc;
}

static enum rc box_url(struct hog_client *c, const char *box, const char *tail, struct buf *u,
                       struct hog_error *err)
{
    if (need(box, "a hogbox id", err) != RC_OK)
        return RC_INVALID;
    url_start(c, u, "/v1/hogboxes");
    url_seg(u, box);
    if (tail)
        buf_addstr(u, tail);
    return RC_OK;
}

enum rc hog_box_get(struct hog_client *c, const char *box, cJSON **out, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    rc = box_url(c, box, NULL, &u, err);
    if (rc == RC_OK)
        rc = get_json(c, &u, out, err);
    buf_release(&u);
    return rc;
}

enum rc hog_box_destroy(struct hog_client *c, const char *box, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    rc = box_url(c, box, NULL, &u, err);
    if (rc == RC_OK)
        rc = run_delete(c, &u, err);
    buf_release(&u);
    return rc;
}

static enum rc box_post(struct hog_client *c, const char *box, const char *tail,
                        const char *idempotency_key, cJSON **out, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    rc = box_url(c, box, tail, &u, err);
    if (rc == RC_OK)
        rc = run_json(c, "POST", &u, NULL, idempotency_key, false, 0, out, err);
    buf_release(&u);
    return rc;
}

enum rc hog_box_pause(struct hog_client *c, const char *box, cJSON **out, struct hog_error *err)
{
    return box_post(c, box, "/pause", NULL, out, err);
}

enum rc hog_box_resume(struct hog_client *c, const char *box, cJSON **out, struct hog_error *err)
{
    return box_post(c, box, "/resume", NULL, out, err);
}

enum rc hog_box_snapshot(struct hog_client *c, const char *box, const char *idempotency_key,
                         cJSON **out, struct hog_error *err)
{
    char key[37];

    if (!idempotency_key) {
        hog_uuid4(key);
        idempotency_key = key;
    }
    return box_post(c, box, "/snapshot", idempotency_key, out, err);
}

enum rc hog_box_list(struct hog_client *c, const struct hog_list_opts *opts, cJSON **out,
                     struct hog_error *err)
{
    struct buf u = BUF_INIT;
    const char *const *l;
    enum rc rc;

    out_clear(out);
    url_start(c, &u, "/v1/hogboxes");
    if (opts) {
        url_query_int(&u, "limit", opts->limit);
        if (opts->cursor)
            url_query(&u, "cursor", opts->cursor);
        if (opts->state)
            url_query(&u, "state", opts->state);
        for (l = opts->labels; l && *l; l++)
            url_query(&u, "label", *l);
    }
    rc = get_json(c, &u, out, err);
    buf_release(&u);
    return rc;
}

/* ---- snapshots ------------------------------------------------------------------ */

enum rc hog_snapshot_list(struct hog_client *c, struct hog_int limit, const char *cursor,
                          cJSON **out, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    url_start(c, &u, "/v1/snapshots");
    url_query_int(&u, "limit", limit);
    if (cursor)
        url_query(&u, "cursor", cursor);
    rc = get_json(c, &u, out, err);
    buf_release(&u);
    return rc;
}

static enum rc snapshot_url(struct hog_client *c, const char *id, struct buf *u,
                            struct hog_error *err)
{
    if (need(id, "a snapshot id", err) != RC_OK)
        return RC_INVALID;
    url_start(c, u, "/v1/snapshots");
    url_seg(u, id);
    return RC_OK;
}

enum rc hog_snapshot_get(struct hog_client *c, const char *id, cJSON **out,
                         struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    rc = snapshot_url(c, id, &u, err);
    if (rc == RC_OK)
        rc = get_json(c, &u, out, err);
    buf_release(&u);
    return rc;
}

enum rc hog_snapshot_delete(struct hog_client *c, const char *id, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    rc = snapshot_url(c, id, &u, err);
    if (rc == RC_OK)
        rc = run_delete(c, &u, err);
    buf_release(&u);
    return rc;
}

/* ---- iterators ------------------------------------------------------------------ */

void hog_iter_boxes(struct hog_iter *it, struct hog_client *c, const struct hog_list_opts *opts)
{
    memset(it, 0, sizeof(*it));
    it->c = c;
    if (opts) {
        it->opts = *opts;
        if (opts->cursor)
            it->cursor = xstrdup(opts->cursor);
    }
}

void hog_iter_snapshots(struct hog_iter *it, struct hog_client *c, struct hog_int limit)
{
    memset(it, 0, sizeof(*it));
    it->c = c;
    it->snapshots = true;
    it->opts.limit = limit;
}

enum rc hog_iter_next(struct hog_iter *it, const cJSON **item, struct hog_error *err)
{
    *item = NULL;
    for (;;) {
        if (it->page) {
            const cJSON *items = cJSON_GetObjectItemCaseSensitive(it->page, "items");
            const cJSON *next = cJSON_GetObjectItemCaseSensitive(it->page, "next_cursor");

            if (it->index < cJSON_GetArraySize(items)) {
                *item = cJSON_GetArrayItem(items, it->index++);
                hog_error_release(err);
                return RC_OK;
            }
#if HOG_MUTANT == 10    /* mutant 10: only the first page listed */
            (void)next;
            if (0) {
#else
            if (cJSON_IsString(next) && *next->valuestring) {
#endif
                free(it->cursor);
                it->cursor = xstrdup(next->valuestring);
            } else {
                it->done = true;
            }
            cJSON_Delete(it->page);
            it->page = NULL;
        }
        if (it->done) {
            hog_error_release(err);
            return RC_NOT_FOUND;
        }
        {
            struct hog_list_opts o = it->opts;
            cJSON *page;
            const cJSON *items, *next;
            enum rc rc;

            o.cursor = it->cursor;
            if (it->snapshots)
                rc = hog_snapshot_list(it->c, o.limit, o.cursor, &page, err);
            else
                rc = hog_box_list(it->c, &o, &page, err);
            if (rc != RC_OK)
                return rc;
            items = cJSON_GetObjectItemCaseSensitive(page, "items");
            next = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
            if (!cJSON_IsArray(items)
                || (cJSON_IsString(next) && it->cursor && strcmp(next->valuestring, it->cursor) == 0)) {
                /* A page without items, or a cursor that leads back to itself, would loop. */
                cJSON_Delete(page);
                hog_error_set(err, HOG_ERR_CONNECTION, "%s",
                              cJSON_IsArray(items) ? "the server gave the same cursor again"
                                                   : "a list page has no items array");
                return RC_ERR;
            }
            it->pages++;
            it->page = page;
            it->index = 0;
        }
    }
}

unsigned hog_iter_pages(const struct hog_iter *it)
{
    return it->pages;
}

void hog_iter_release(struct hog_iter *it)
{
    cJSON_Delete(it->page);
    it->page = NULL;
    free(it->cursor);
    it->cursor = NULL;
}

/* ---- exec ----------------------------------------------------------------------- */

static enum rc exec_body(const struct hog_exec_req *req, cJSON **out, struct hog_error *err)
{
    cJSON *body, *argv;
    const char *const *p;

    if (!req || !req->argv || !req->argv[0]) {
        hog_error_set(err, HOG_ERR_VALIDATION, "argv needs at least one word");
        return RC_INVALID;
    }
    body = cJSON_CreateObject();
    argv = cJSON_AddArrayToObject(body, "argv");
    for (p = req->argv; *p; p++)
        cJSON_AddItemToArray(argv, cJSON_CreateString(*p));
    add_int(body, "timeout_seconds", req->timeout_seconds);
    if (req->env) {
        cJSON *env;

        if (labels_object(req->env, &env, err) != RC_OK) {
            cJSON_Delete(body);
            return RC_INVALID;
        }
        cJSON_AddItemToObject(body, "env", env);
    }
    if (req->workdir)
        cJSON_AddStringToObject(body, "workdir", req->workdir);
    *out = body;
    return RC_OK;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static bool hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    int i, d;

    if (end - p < 4)
        return false;
    for (i = 0; i < 4; i++) {
        d = hex_digit_value(p[i]);
        if (d < 0)
            return false;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return true;
}

static void add_utf8(struct buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_addch(b, (char)cp);
    } else if (cp < 0x800) {
        buf_addch(b, (char)(0xc0 | (cp >> 6)));
        buf_addch(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_addch(b, (char)(0xe0 | (cp >> 12)));
        buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_addch(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_addch(b, (char)(0xf0 | (cp >> 18)));
        buf_addch(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_addch(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* Decode the JSON string that *pp points at (its opening quote) into out, and move *pp
 * past it. Unlike cJSON it keeps U+0000, which a command's output may hold. */
static bool json_decode_string(const char **pp, const char *end, struct buf *out)
{
    const char *p = *pp;

    if (p >= end || *p != '"')
        return false;
    p++;
    while (p < end) {
        unsigned cp, lo;
        const char *q;

        if (*p == '"') {
            *pp = p + 1;
            return true;
        }
        if ((unsigned char)*p < 0x20)
            return false;
        if (*p != '\\') {
            for (q = p; q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20; q++)
                ;
            buf_add(out, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (++p >= end)
            return false;
        switch (*p++) {
        case '"': buf_addch(out, '"'); break;
        case '\\': buf_addch(out, '\\'); break;
        case '/': buf_addch(out, '/'); break;
        case 'b': buf_addch(out, '\b'); break;
        case 'f': buf_addch(out, '\f'); break;
        case 'n': buf_addch(out, '\n'); break;
        case 'r': buf_addch(out, '\r'); break;
        case 't': buf_addch(out, '\t'); break;
        case 'u':
            if (!hex4(p, end, &cp))
                return false;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, end, &lo)
                    && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                } else {
                    cp = 0xfffd;
                }
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                cp = 0xfffd;
            }
            add_utf8(out, cp);
            break;
        default:
            return false;
        }
    }
    return false;
}

/* The string member key of the JSON object in s, decoded into out. */
static bool json_string_member(const char *s, size_t len, const char *key, struct buf *out)
{
    const char *p = s, *end = s + len;
    struct buf k = BUF_INIT, v = BUF_INIT;
    bool found = false, ok = false;

    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return false;
    for (;;) {
        buf_reset(&k);
        buf_reset(&v);
        if (!json_decode_string(&p, end, &k))
            break;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            break;
        p = skip_ws(p + 1, end);
        if (p < end && *p == '"') {
            if (!json_decode_string(&p, end, &v))
                break;
            if (!found && k.len == strlen(key) && memcmp(k.data, key, k.len) == 0) {
                buf_add(out, v.data, v.len);
                found = true;
            }
        } else {
            const char *stop = NULL;
            cJSON *skip = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, false);

            if (!skip || !stop)
                break;
            cJSON_Delete(skip);
            p = stop;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        ok = p < end && *p == '}' && skip_ws(p + 1, end) == end;
        break;
    }
    buf_release(&k);
    buf_release(&v);
    return ok && found;
}

void hog_exec_result_init(struct hog_exec_result *r)
{
    r->json = NULL;
    buf_init(&r->stdout_data);
    buf_init(&r->stderr_data);
}

void hog_exec_result_release(struct hog_exec_result *r)
{
    cJSON_Delete(r->json);
    buf_release(&r->stdout_data);
    buf_release(&r->stderr_data);
    hog_exec_result_init(r);
}

/* stdout and stderr of an ExecResult body into r, as bytes; false when either is not a
 * string. cJSON would end them at the first U+0000, so they are read from the text. */
static bool exec_output(const struct buf *body, struct hog_exec_result *r)
{
    if (!json_string_member(body->data, body->len, "stdout", &r->stdout_data)
        || !json_string_member(body->data, body->len, "stderr", &r->stderr_data))
        return false;
#if HOG_MUTANT == 17    /* mutant 17: batch exec output cut at the first NUL */
    buf_truncate(&r->stdout_data, strlen(buf_cstr(&r->stdout_data)));
    buf_truncate(&r->stderr_data, strlen(buf_cstr(&r->stderr_data)));
#endif
    return true;
}

enum rc hog_box_exec(struct hog_client *c, const char *box, const struct hog_exec_req *req,
                     struct hog_exec_result *out, struct hog_error *err)
{
    struct hog_exec_result unwanted;
    struct buf u = BUF_INIT;
    struct xfer x;
    cJSON *body = NULL;
    char *text = NULL;
    long timeout;
    enum rc rc;

    hog_exec_result_init(&unwanted);
    if (!out)
        out = &unwanted;
    hog_exec_result_release(out);
    memset(&x, 0, sizeof(x));
    rc = box_url(c, box, "/exec", &u, err);
    if (rc == RC_OK)
        rc = exec_body(req, &body, err);
    if (rc == RC_OK) {
        /* The answer comes when the command ends: allow its own timeout on top. */
        timeout = req->timeout_seconds.given && req->timeout_seconds.value > 0
                  ? req->timeout_seconds.value : 60;
        text = cJSON_PrintUnformatted(body);
        x.method = "POST";
        x.url = buf_cstr(&u);
        x.accept = "application/json";
        x.content_type = "application/json";
        x.upload = text;
        x.upload_len = strlen(text);
        x.want_json = true;
        x.timeout_ms = timeout * 1000L + c->o.timeout_ms;
        rc = xfer_run(c, &x, err);
    }
    if (rc == RC_OK && !exec_output(&x.body, out)) {
        unsigned attempts = err->attempts;

        hog_exec_result_release(out);
        hog_error_set(err, HOG_ERR_CONNECTION, "POST %s answered %ld with an ExecResult "
                      "whose stdout or stderr is not a string", x.url, x.status);
        err->attempts = attempts;
        rc = RC_ERR;
    } else if (rc == RC_OK) {
        out->json = x.json;
        x.json = NULL;
    }
    hog_exec_result_release(&unwanted);
    xfer_release(&x);
    cJSON_free(text);
    cJSON_Delete(body);
    buf_release(&u);
    return rc;
}

struct stream {
    struct sse_parser parser;
    hog_event_fn *fn;
    void *ctx;
    struct hog_exec_exit exit;
    unsigned long long last_id;     /* ids count up from 1 ... */
    struct buf prev;                /* ... so an old id with the last event's bytes is a repeat */
    bool have_exit, user_stopped;
    struct buf why;         /* why the stream is malformed */
    struct buf chunk;
};

static int on_sse_event(const struct sse_event *ev, void *ctx)
{
    struct stream *st = ctx;
    struct hog_exec_event e;

    if (st->have_exit)
        return 0;
    if (*ev->id) {
        char *end;
        unsigned long long id = strtoull(ev->id, &end, 10);

        if (!*end && ev->id[0] != '-') {
            /* A stream without ids repeats the last one for each event (WHATWG), so an
             * old id alone is no repeat: it must bring the same event again. */
            if (id <= st->last_id && st->prev.len == ev->type_len + 1 + ev->len
                && memcmp(st->prev.data, ev->type, ev->type_len) == 0
                && memcmp(st->prev.data + ev->type_len + 1, ev->data, ev->len) == 0)
                return 0;   /* sent twice: delivered once */
            if (id > st->last_id)
                st->last_id = id;
        }
    }
    buf_reset(&st->prev);
    buf_add(&st->prev, ev->type, ev->type_len);
    buf_addch(&st->prev, '\n');
    buf_add(&st->prev, ev->data, ev->len);
    memset(&e, 0, sizeof(e));
    e.id = ev->id;
    if (strcmp(ev->type, "stdout") == 0 || strcmp(ev->type, "stderr") == 0) {
#if HOG_MUTANT == 5     /* mutant 5: stdout and stderr merged */
        e.kind = HOG_EVENT_STDOUT;
#else
        e.kind = ev->type[3] == 'o' ? HOG_EVENT_STDOUT : HOG_EVENT_STDERR;
#endif
        buf_reset(&st->chunk);
        if (!json_string_member(ev->data, ev->len, "data", &st->chunk)) {
            buf_addf(&st->why, "event %s (id %s) has no \"data\" string", ev->type, ev->id);
            return 1;
        }
        e.data = buf_cstr(&st->chunk);
        e.len = st->chunk.len;
    } else if (strcmp(ev->type, "exit") == 0) {
        cJSON *d = cJSON_ParseWithLength(ev->data, ev->len);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(d, "exit_code");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(d, "timed_out");
        bool good = cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble <= 255
                    && code->valuedouble == (double)code->valueint && (!to || cJSON_IsBool(to));

        if (good) {
            e.kind = HOG_EVENT_EXIT;
            e.exit_code = code->valueint;
            e.timed_out = cJSON_IsTrue(to);
        }
        cJSON_Delete(d);
        if (!good) {
            buf_addf(&st->why, "exit event (id %s) has no exit_code from 0 to 255", ev->id);
            return 1;
        }
        st->have_exit = true;
        st->exit.exit_code = e.exit_code;
        st->exit.timed_out = e.timed_out;
    } else {
        return 0;       /* unknown event names are for later versions: skip them */
    }
    st->exit.events++;
#if HOG_MUTANT == 4     /* mutant 4: the last SSE event (the exit) dropped */
    if (e.kind == HOG_EVENT_EXIT)
        return 0;
#endif
    if (st->fn && st->fn(&e, st->ctx)) {
        st->user_stopped = true;
        return 1;
    }
    return 0;
}

static int stream_sink(const void *data, size_t n, void *ctx)
{
    struct stream *st = ctx;
    enum rc rc = sse_parser_feed(&st->parser, data, n);

    if (rc == RC_OK)
        return 0;
    if (!st->user_stopped && !st->why.len)
        buf_addf(&st->why, "the event stream is malformed: %s", rc_str(rc));
    return 1;
}

enum rc hog_box_exec_stream(struct hog_client *c, const char *box,
                            const struct hog_exec_req *req, hog_event_fn *on_event,
                            void *ctx, struct hog_exec_exit *exit, struct hog_error *err)
{
    struct sse_callbacks cb = { on_sse_event, NULL, NULL, NULL };
    struct buf u = BUF_INIT;
    struct stream st;
    struct xfer x;
    cJSON *body = NULL;
    char *text = NULL;
    enum rc rc;

    if (exit)
        memset(exit, 0, sizeof(*exit));
    rc = box_url(c, box, "/exec/stream", &u, err);
    if (rc == RC_OK)
        rc = exec_body(req, &body, err);
    if (rc != RC_OK) {
        buf_release(&u);
        return rc;
    }
    memset(&st, 0, sizeof(st));
    st.fn = on_event;
    st.ctx = ctx;
    cb.ctx = &st;
    sse_parser_init(&st.parser, &cb);
    text = cJSON_PrintUnformatted(body);

    memset(&x, 0, sizeof(x));
    x.method = "POST";
    x.url = buf_cstr(&u);
    x.accept = "text/event-stream";
    x.content_type = "application/json";
    x.upload = text;
    x.upload_len = strlen(text);
    x.idle_ms = c->o.stream_idle_ms;
    x.sink = stream_sink;
    x.sink_ctx = &st;
    rc = xfer_run(c, &x, err);

    if (rc == RC_STOPPED && !st.user_stopped) {
        unsigned attempts = err->attempts;

        hog_error_set(err, HOG_ERR_CONNECTION, "%s", buf_cstr(&st.why));
        err->attempts = attempts;
        rc = RC_ERR;
    } else if (rc == RC_OK) {
        sse_parser_finish(&st.parser);
#if HOG_MUTANT == 11    /* mutant 11: a stream that ends without its exit taken as success */
        if (0) {
#else
        if (!st.have_exit) {
#endif
            unsigned attempts = err->attempts;

            hog_error_set(err, HOG_ERR_CONNECTION, "the stream ended after %u event%s without "
                          "its exit event", st.exit.events, st.exit.events == 1 ? "" : "s");
            err->attempts = attempts;
            rc = RC_ERR;
        }
    } else if (rc == RC_ERR && st.have_exit) {
        /* Cut after the exit event: the command's outcome is known. */
        unsigned attempts = err->attempts;

        hog_error_release(err);
        err->attempts = attempts;
        rc = RC_OK;
    } else if (rc == RC_ERR && st.exit.events && err->message) {
        char *m = err->message;
        struct buf b = BUF_INIT;

        buf_addf(&b, "the stream was cut after %u event%s: %s", st.exit.events,
                 st.exit.events == 1 ? "" : "s", m);
        free(m);
        err->message = buf_detach(&b, NULL);
    }
    if (exit)
        *exit = st.exit;
    sse_parser_release(&st.parser);
    buf_release(&st.why);
    buf_release(&st.chunk);
    buf_release(&st.prev);
    xfer_release(&x);
    cJSON_free(text);
    cJSON_Delete(body);
    buf_release(&u);
    return rc;
}

/* ---- files ---------------------------------------------------------------------- */

static enum rc file_url(struct hog_client *c, const char *box, const char *path,
                        const struct hog_file_opts *opts, struct buf *u, struct hog_error *err)
{
    if (box_url(c, box, "/files", u, err) != RC_OK || need(path, "a file path", err) != RC_OK)
        return RC_INVALID;
    url_query(u, "path", path);
    if (opts && opts->mode)
        url_query(u, "mode", opts->mode);
    if (opts && opts->mkdir)
        url_query(u, "mkdir", "true");
    return RC_OK;
}

static enum rc file_put(struct hog_client *c, const char *box, const char *path,
                        const struct hog_file_opts *opts, struct xfer *x, cJSON **out,
                        struct hog_error *err)
{
    struct buf u = BUF_INIT;
    enum rc rc;

    out_clear(out);
    rc = file_url(c, box, path, opts, &u, err);
    if (rc == RC_OK) {
        x->method = "PUT";
        x->url = buf_cstr(&u);
        x->accept = "application/json";
        x->content_type = "application/octet-stream";
        x->idempotent = true;       /* an atomic replace: the same bytes twice are one write */
        x->want_json = true;
        x->idle_ms = c->o.timeout_ms;
        rc = xfer_run(c, x, err);
        if (rc == RC_OK && out) {
            *out = x->json;
            x->json = NULL;
        }
    }
    xfer_release(x);
    buf_release(&u);
    return rc;
}

enum rc hog_file_write(struct hog_client *c, const char *box, const char *path,
                       const struct hog_file_opts *opts, const void *data, size_t len,
                       cJSON **out, struct hog_error *err)
{
    struct xfer x;

    memset(&x, 0, sizeof(x));
    x.upload = data ? data : "";
#if HOG_MUTANT == 9     /* mutant 9: the file's bytes cut at the first NUL */
    x.upload_len = data ? strnlen(data, len) : 0;
#else
    x.upload_len = data ? len : 0;
#endif
    return file_put(c, box, path, opts, &x, out, err);
}

enum rc hog_file_write_cb(struct hog_client *c, const char *box, const char *path,
                          const struct hog_file_opts *opts, hog_read_fn *read, void *ctx,
                          int64_t size, cJSON **out, struct hog_error *err)
{
    struct xfer x;

    memset(&x, 0, sizeof(x));
    x.read = read;
    x.read_ctx = ctx;
    x.read_size = size < 0 ? -1 : size;
    return file_put(c, box, path, opts, &x, out, err);
}

static enum rc file_get(struct hog_client *c, const char *box, const char *path,
                        hog_sink_fn *sink, void *ctx, struct buf *out, struct hog_error *err)
{
    struct buf u = BUF_INIT;
    struct xfer x;
    enum rc rc;

    memset(&x, 0, sizeof(x));
    rc = file_url(c, box, path, NULL, &u, err);
    if (rc == RC_OK) {
        x.method = "GET";
        x.url = buf_cstr(&u);
        x.accept = "application/octet-stream";
        x.idempotent = true;
        x.idle_ms = c->o.timeout_ms;
        x.sink = sink;
        x.sink_ctx = ctx;
        rc = xfer_run(c, &x, err);
        if (rc == RC_OK && out) {
            if (!out->len) {
                /* 64 MiB is not worth copying. */
                buf_release(out);
                *out = x.body;
                buf_init(&x.body);
            } else {
                buf_add(out, x.body.data, x.body.len);
            }
        }
    }
    xfer_release(&x);
    buf_release(&u);
    return rc;
}

enum rc hog_file_read(struct hog_client *c, const char *box, const char *path,
                      struct buf *out, struct hog_error *err)
{
    return file_get(c, box, path, NULL, NULL, out, err);
}

enum rc hog_file_read_cb(struct hog_client *c, const char *box, const char *path,
                         hog_sink_fn *sink, void *ctx, struct hog_error *err)
{
    if (!sink) {
        hog_error_set(err, HOG_ERR_VALIDATION, "a sink is required");
        return RC_INVALID;
    }
    return file_get(c, box, path, sink, ctx, NULL, err);
}

/* ---- proxy ---------------------------------------------------------------------- */

/* Bytes a URL path may hold as they are (RFC 3986 pchar and '/'). */
static bool path_char(unsigned char ch)
{
    return unreserved(ch) || strchr("!$&'()*+,;=:@/", ch) != NULL;
}

enum rc hog_proxy_url(const struct hog_client *c, const char *box, int port, const char *path,
                      struct buf *url)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *p;

    if (!box || !*box || port < 1 || port > 65535)
        return RC_INVALID;
    buf_addstr(url, c->host);
    buf_addstr(url, "/v1/hogboxes/");
    add_escaped(url, box);
    buf_addf(url, "/proxy/%d/", port);
    p = path ? path : "";
    if (*p == '/')
        p++;
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;

        if (path_char(ch) && ch != '\0') {
            buf_addch(url, (char)ch);
        } else if (ch == '%' && hex_digit_value(p[1]) >= 0 && hex_digit_value(p[2]) >= 0) {
            buf_addch(url, '%');
        } else {
            buf_addch(url, '%');
            buf_addch(url, hex[ch >> 4]);
            buf_addch(url, hex[ch & 15]);
        }
    }
    return RC_OK;
}

void hog_proxy_resp_init(struct hog_proxy_resp *r)
{
    r->status = 0;
    r->headers = NULL;
    buf_init(&r->body);
}

void hog_proxy_resp_release(struct hog_proxy_resp *r)
{
    cJSON_Delete(r->headers);
    buf_release(&r->body);
    hog_proxy_resp_init(r);
}

/* The answer's header lines as {"lowercased-name": "value"}. */
static cJSON *headers_object(const struct buf *head)
{
    cJSON *o = cJSON_CreateObject();
    const char *p = buf_cstr(head), *eol;
    struct buf name = BUF_INIT, value = BUF_INIT;

    for (; *p; p = eol ? eol + 1 : p + strlen(p)) {
        const char *colon, *v, *end;
        cJSON *old;
        size_t i;

        eol = strchr(p, '\n');
        end = eol ? eol : p + strlen(p);
        colon = memchr(p, ':', (size_t)(end - p));
        if (!colon || strncmp(p, "HTTP/", 5) == 0)
            continue;
        buf_reset(&name);
        buf_reset(&value);
        for (i = 0; p + i < colon; i++)
            buf_addch(&name, (char)tolower((unsigned char)p[i]));
        for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
            ;
        while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        old = cJSON_GetObjectItemCaseSensitive(o, buf_cstr(&name));
        if (old) {
            buf_addstr(&value, old->valuestring);
            buf_addstr(&value, ", ");
        }
        buf_add(&value, v, (size_t)(end - v));
        /* Header bytes need not be UTF-8; JSON text must be. */
        {
            struct buf lit = BUF_INIT;
            cJSON *s;

            buf_add_json_str(&lit, value.data ? value.data : "", value.len);
            s = cJSON_ParseWithLength(lit.data, lit.len);
            buf_release(&lit);
            if (old)
                cJSON_ReplaceItemInObjectCaseSensitive(o, buf_cstr(&name), s);
            else
                cJSON_AddItemToObject(o, buf_cstr(&name), s);
        }
    }
    buf_release(&name);
    buf_release(&value);
    return o;
}

enum rc hog_proxy_request(struct hog_client *c, const char *box, const struct hog_proxy_req *req,
                          struct hog_proxy_resp *out, struct hog_error *err)
{
    static const char *const idempotent[] = { "GET", "HEAD", "OPTIONS", "DELETE", NULL };
    struct buf u = BUF_INIT;
    const char *const *h;
    struct xfer x;
    size_t i;
    enum rc rc;

    hog_proxy_resp_release(out);
    if (need(box, "a hogbox id", err) != RC_OK)
        return RC_INVALID;
    if (hog_proxy_url(c, box, req->port, req->path, &u) != RC_OK) {
        buf_release(&u);
        hog_error_set(err, HOG_ERR_VALIDATION, "port %d is outside 1..65535", req->port);
        return RC_INVALID;
    }
    for (h = req->headers; h && *h; h++) {
        if (strncasecmp(*h, "Authorization:", 14) == 0 || !strchr(*h, ':') || strpbrk(*h, "\r\n")) {
            buf_release(&u);
            hog_error_set(err, HOG_ERR_VALIDATION, "header '%.40s' cannot be sent: the client "
                          "sends its own credential, and a header is one 'Name: value' line", *h);
            return RC_INVALID;
        }
    }
    if (req->query && *req->query) {
        buf_addch(&u, '?');
        buf_addstr(&u, req->query);
    }
    memset(&x, 0, sizeof(x));
    x.method = req->method && *req->method ? req->method : "GET";
    x.url = buf_cstr(&u);
    x.headers = req->headers;
    x.upload = req->body;
    x.upload_len = req->body ? req->body_len : 0;
    x.proxy = true;
    x.timeout_ms = c->o.timeout_ms;
    for (i = 0; idempotent[i]; i++)
        if (strcmp(x.method, idempotent[i]) == 0)
            x.idempotent = true;
    rc = xfer_run(c, &x, err);
    if (rc == RC_OK) {
        out->status = x.status;
        out->headers = headers_object(&x.head);
        out->body = x.body;
        buf_init(&x.body);
    }
    xfer_release(&x);
    buf_release(&u);
    return rc;
}
