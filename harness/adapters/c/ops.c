#include "ops.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "log.h"
#include "xmalloc.h"

/* ---- configuration -------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

void conf_from_env(struct conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    hog_client_options_init(&conf->o);
    conf->host = dup_or_null(getenv("HOG_HOST"));
    conf->token_file = dup_or_null(getenv("HOG_TOKEN_FILE"));
    if (!conf->token_file)
        conf->token = dup_or_null(getenv("HOG_TOKEN"));
}

void conf_copy(struct conf *dst, const struct conf *src)
{
    *dst = *src;
    dst->host = dup_or_null(src->host);
    dst->token = dup_or_null(src->token);
    dst->token_file = dup_or_null(src->token_file);
}

void conf_release(struct conf *conf)
{
    if (conf->token)
        memset(conf->token, 0, strlen(conf->token));
    free(conf->host);
    free(conf->token);
    free(conf->token_file);
    conf->host = conf->token = conf->token_file = NULL;
}

/* An integer member in [min, max]; false (why set) when it is something else. */
static bool int_member(const cJSON *v, const char *name, double min, double max, long *out,
                       struct buf *why)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min
        || v->valuedouble > max) {
        buf_addf(why, "\"%s\" must be an integer from %.0f to %.0f", name, min, max);
        return false;
    }
    *out = (long)v->valuedouble;
    return true;
}

enum rc conf_apply(struct conf *conf, const cJSON *args, cJSON **value, struct buf *why)
{
    static const struct {
        const char *name;
        size_t off;
        double min;
    } nums[] = {
        { "timeout_ms", offsetof(struct hog_client_options, timeout_ms), 1 },
        { "backoff_base_ms", offsetof(struct hog_client_options, backoff_base_ms), 0 },
        { "backoff_cap_ms", offsetof(struct hog_client_options, backoff_cap_ms), 0 },
        { "retry_after_cap_ms", offsetof(struct hog_client_options, retry_after_cap_ms), 0 },
    };
    struct conf next;
    cJSON *ignored = cJSON_CreateArray();
    const cJSON *m;
    size_t i;

    conf_copy(&next, conf);
    cJSON_ArrayForEach(m, args) {
        bool known = false;
        long n;

        if (strcmp(m->string, "host") == 0 || strcmp(m->string, "token") == 0
            || strcmp(m->string, "token_file") == 0) {
            if (!cJSON_IsString(m) || !*m->valuestring) {
                buf_addf(why, "\"%s\" must be a non-empty string", m->string);
                goto fail;
            }
            if (m->string[0] == 'h') {
                free(next.host);
                next.host = xstrdup(m->valuestring);
            } else {
                free(next.token);
                free(next.token_file);
                next.token = next.token_file = NULL;
                if (strcmp(m->string, "token") == 0)
                    next.token = xstrdup(m->valuestring);
                else
                    next.token_file = xstrdup(m->valuestring);
            }
            continue;
        }
        if (strcmp(m->string, "max_attempts") == 0) {
            if (!int_member(m, m->string, 1, 100, &n, why))
                goto fail;
            next.o.max_attempts = (unsigned)n;
            continue;
        }
        for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
            if (strcmp(m->string, nums[i].name) == 0) {
                if (!int_member(m, m->string, nums[i].min, 86400000, &n, why))
                    goto fail;
                *(long *)(void *)((char *)&next.o + nums[i].off) = n;
                known = true;
            }
        }
        if (!known)
            cJSON_AddItemToArray(ignored, cJSON_CreateString(m->string));
    }
    conf_release(conf);
    *conf = next;
    *value = cJSON_CreateObject();
    cJSON_AddItemToObject(*value, "ignored", ignored);
    return RC_OK;
fail:
    conf_release(&next);
    cJSON_Delete(ignored);
    return RC_PARSE;
}

/* ---- output --------------------------------------------------------------------- */

static void add_id(struct buf *b, const struct call *call)
{
    buf_add_json_str(b, call->id, strlen(call->id));
}

void emit_ok(const struct call *call, const char *value, size_t len)
{
    struct buf b = BUF_INIT;

    buf_addstr(&b, "{\"type\":\"result\",\"id\":");
    add_id(&b, call);
    buf_addstr(&b, ",\"ok\":true,\"value\":");
    buf_add(&b, value, len);
    buf_addch(&b, '}');
    adapter_emit(&b);
    buf_release(&b);
}

static void emit_ok_json(const struct call *call, const cJSON *value)
{
    char *text = cJSON_PrintUnformatted(value);

    emit_ok(call, text, strlen(text));
    cJSON_free(text);
}

static void emit_error_object(const struct call *call, cJSON *error)
{
    char *text = cJSON_PrintUnformatted(error);
    struct buf b = BUF_INIT;

    buf_addstr(&b, "{\"type\":\"result\",\"id\":");
    add_id(&b, call);
    buf_addstr(&b, ",\"ok\":false,\"error\":");
    buf_addstr(&b, text);
    buf_addch(&b, '}');
    adapter_emit(&b);
    buf_release(&b);
    cJSON_free(text);
}

void emit_adapter_error(const struct call *call, const char *type, const char *message)
{
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "status_code");
    cJSON_AddNullToObject(e, "body");
    cJSON_AddNullToObject(e, "retry_after");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "native_type", "adapter");
    emit_error_object(call, e);
    cJSON_Delete(e);
}

static void emit_client_error(const struct call *call, const struct hog_error *err)
{
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "type", hog_error_type_name(err->type));
    if (err->status)
        cJSON_AddNumberToObject(e, "status_code", (double)err->status);
    else
        cJSON_AddNullToObject(e, "status_code");
    if (err->body)
        cJSON_AddItemToObject(e, "body", cJSON_Duplicate(err->body, true));
    else
        cJSON_AddNullToObject(e, "body");
    if (err->retry_after >= 0)
        cJSON_AddNumberToObject(e, "retry_after", (double)err->retry_after);
    else
        cJSON_AddNullToObject(e, "retry_after");
    cJSON_AddStringToObject(e, "message", err->message ? err->message : "");
    cJSON_AddStringToObject(e, "native_type", hog_error_type_cname(err->type));
    if (err->request_id)
        cJSON_AddStringToObject(e, "request_id", err->request_id);
    else
        cJSON_AddNullToObject(e, "request_id");
    cJSON_AddNumberToObject(e, "attempts", err->attempts);
    emit_error_object(call, e);
    cJSON_Delete(e);
}

/* ---- arguments ------------------------------------------------------------------ */

/* What an op handler needs; handlers return RC_OK (value set), RC_ERR or RC_INVALID
 * (err set: the client's error), or RC_PARSE (why set: InvalidArguments). */
struct ctx {
    struct call *call;
    struct hog_client *c;
    const cJSON *args;
    struct hog_error err;
    struct buf why;
    cJSON *value;           /* the result, as JSON ... */
    struct buf raw;         /* ... or already rendered (read_file's big base64) */
    bool have_raw;
    char **lists[3];        /* string lists built from args, freed after the call */
};

static const cJSON *arg(const struct ctx *x, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(x->args, name);

    return cJSON_IsNull(v) ? NULL : v;
}

/* A string argument: NULL when absent and optional. */
static bool arg_str(struct ctx *x, const char *name, bool required, const char **out)
{
    const cJSON *v = arg(x, name);

    *out = NULL;
    if (!v) {
        if (required)
            buf_addf(&x->why, "\"%s\" is required", name);
        return !required;
    }
    if (!cJSON_IsString(v)) {
        buf_addf(&x->why, "\"%s\" must be a string", name);
        return false;
    }
    *out = v->valuestring;
    return true;
}

/* A required integer argument. */
static bool arg_int(struct ctx *x, const char *name, long *out)
{
    const cJSON *v = arg(x, name);

    *out = 0;
    if (!v) {
        buf_addf(&x->why, "\"%s\" is required", name);
        return false;
    }
    return int_member(v, name, -2147483648.0, 2147483647.0, out, &x->why);
}

/* An optional number of the request: given whatever its value when present (0 and
 * negative numbers go to the server as they are), not given when absent or null. */
static bool arg_opt_int(struct ctx *x, const char *name, struct hog_int *out)
{
    long n;

    *out = HOG_INT_DEFAULT;
    if (!arg(x, name))
        return true;
    if (!arg_int(x, name, &n))
        return false;
    *out = HOG_INT((int)n);
    return true;
}

static bool arg_bool(struct ctx *x, const char *name, bool *out)
{
    const cJSON *v = arg(x, name);

    *out = false;
    if (!v)
        return true;
    if (!cJSON_IsBool(v)) {
        buf_addf(&x->why, "\"%s\" must be true or false", name);
        return false;
    }
    *out = cJSON_IsTrue(v);
    return true;
}

static char **new_list(struct ctx *x, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(x->lists) / sizeof(x->lists[0]); i++) {
        if (!x->lists[i]) {
            x->lists[i] = xcalloc(n + 1, sizeof(char *));
            return x->lists[i];
        }
    }
    abort();    /* no op takes more than three lists */
}

/* An object of strings as "key<sep>value" strings, NULL-terminated (NULL when absent). */
static bool arg_pairs(struct ctx *x, const char *name, const char *sep, const char *const **out)
{
    const cJSON *v = arg(x, name), *m;
    char **list;
    size_t n = 0;

    *out = NULL;
    if (!v)
        return true;
    if (!cJSON_IsObject(v)) {
        buf_addf(&x->why, "\"%s\" must be an object of strings", name);
        return false;
    }
    list = new_list(x, (size_t)cJSON_GetArraySize(v));
    cJSON_ArrayForEach(m, v) {
        struct buf b = BUF_INIT;

        if (!cJSON_IsString(m)) {
            buf_addf(&x->why, "\"%s\" must be an object of strings", name);
            return false;
        }
        buf_addf(&b, "%s%s%s", m->string, sep, m->valuestring);
        list[n++] = buf_detach(&b, NULL);
    }
    *out = (const char *const *)list;
    return true;
}

static bool arg_strings(struct ctx *x, const char *name, const char *const **out)
{
    const cJSON *v = arg(x, name), *m;
    char **list;
    size_t n = 0;

    *out = NULL;
    if (!cJSON_IsArray(v)) {
        buf_addf(&x->why, "\"%s\" must be an array of strings", name);
        return false;
    }
    list = new_list(x, (size_t)cJSON_GetArraySize(v));
    cJSON_ArrayForEach(m, v) {
        if (!cJSON_IsString(m)) {
            buf_addf(&x->why, "\"%s\" must be an array of strings", name);
            return false;
        }
        list[n++] = xstrdup(m->valuestring);
    }
    *out = (const char *const *)list;
    return true;
}

/* Base64 bytes into out; absent is an empty body unless required. */
static bool arg_bytes(struct ctx *x, const char *name, bool required, struct buf *out,
                      bool *present)
{
    const char *s;

    if (!arg_str(x, name, required, &s))
        return false;
    *present = s != NULL;
    if (s && base64_decode(s, strlen(s), out) != RC_OK) {
        buf_addf(&x->why, "\"%s\" is not base64 (RFC 4648, padded)", name);
        return false;
    }
    return true;
}

/* ---- operations ----------------------------------------------------------------- */

static enum rc op_me(struct ctx *x)
{
    return hog_me(x->c, &x->value, &x->err);
}

static enum rc op_limits(struct ctx *x)
{
    return hog_limits(x->c, &x->value, &x->err);
}

static enum rc op_create(struct ctx *x)
{
    struct hog_box_spec s;

    memset(&s, 0, sizeof(s));
    if (!arg_opt_int(x, "cpus", &s.cpus) || !arg_opt_int(x, "memory_mib", &s.memory_mib)
        || !arg_opt_int(x, "disk_gib", &s.disk_gib)
        || !arg_str(x, "snapshot_id", false, &s.snapshot_id)
        || !arg_str(x, "ssh_public_key", false, &s.ssh_public_key)
        || !arg_str(x, "access_type", false, &s.access_type)
        || !arg_pairs(x, "labels", "=", &s.labels)
        || !arg_str(x, "idempotency_key", false, &s.idempotency_key))
        return RC_PARSE;
    return hog_box_create(x->c, &s, &x->value, &x->err);
}

static enum rc op_get(struct ctx *x)
{
    const char *box;

    if (!arg_str(x, "box", true, &box))
        return RC_PARSE;
    return hog_box_get(x->c, box, &x->value, &x->err);
}

static bool list_opts(struct ctx *x, struct hog_list_opts *o, bool cursor)
{
    memset(o, 0, sizeof(*o));
    return arg_opt_int(x, "limit", &o->limit)
           && (!cursor || arg_str(x, "cursor", false, &o->cursor))
           && arg_str(x, "state", false, &o->state) && arg_pairs(x, "labels", "=", &o->labels);
}

static enum rc op_list(struct ctx *x)
{
    struct hog_list_opts o;

    if (!list_opts(x, &o, true))
        return RC_PARSE;
    return hog_box_list(x->c, &o, &x->value, &x->err);
}

static enum rc op_list_all(struct ctx *x)
{
    struct hog_list_opts o;
    struct hog_iter it;
    const cJSON *item;
    cJSON *items;
    enum rc rc;

    if (!list_opts(x, &o, false))
        return RC_PARSE;
    x->value = cJSON_CreateObject();
    items = cJSON_AddArrayToObject(x->value, "items");
    hog_iter_boxes(&it, x->c, &o);
    while ((rc = hog_iter_next(&it, &item, &x->err)) == RC_OK)
        cJSON_AddItemToArray(items, cJSON_Duplicate(item, true));
    log_debug("list_all: %u pages", hog_iter_pages(&it));
    hog_iter_release(&it);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static bool exec_req(struct ctx *x, const char **box, struct hog_exec_req *r)
{
    memset(r, 0, sizeof(*r));
    return arg_str(x, "box", true, box) && arg_strings(x, "argv", &r->argv)
           && arg_opt_int(x, "timeout_seconds", &r->timeout_seconds)
           && arg_pairs(x, "env", "=", &r->env) && arg_str(x, "workdir", false, &r->workdir);
}

/* Output bytes as two members of value (PROTOCOL.md, exec): name, the JSON string of the
 * bytes (a NUL as \u0000), in place of the client's cJSON string, which ends at a NUL;
 * and b64_name, their base64, for a receiver that keeps JSON strings as C strings. */
static void add_output(cJSON *value, const char *name, const char *b64_name,
                       const struct buf *bytes)
{
    struct buf text = BUF_INIT, b64 = BUF_INIT;
    cJSON *raw;

    buf_add_json_str(&text, bytes->data ? bytes->data : "", bytes->len);
    raw = cJSON_CreateRaw(buf_cstr(&text));
    if (cJSON_GetObjectItemCaseSensitive(value, name))
        cJSON_ReplaceItemInObjectCaseSensitive(value, name, raw);
    else
        cJSON_AddItemToObject(value, name, raw);
    base64_encode(&b64, bytes->data, bytes->len);
    cJSON_DeleteItemFromObjectCaseSensitive(value, b64_name);
    cJSON_AddStringToObject(value, b64_name, buf_cstr(&b64));
    buf_release(&text);
    buf_release(&b64);
}

static enum rc op_exec(struct ctx *x)
{
    struct hog_exec_req r;
    struct hog_exec_result res;
    const char *box;
    enum rc rc;

    if (!exec_req(x, &box, &r))
        return RC_PARSE;
    hog_exec_result_init(&res);
    rc = hog_box_exec(x->c, box, &r, &res, &x->err);
    if (rc == RC_OK) {
        x->value = res.json;
        res.json = NULL;
        add_output(x->value, "stdout", "stdout_base64", &res.stdout_data);
        add_output(x->value, "stderr", "stderr_base64", &res.stderr_data);
    }
    hog_exec_result_release(&res);
    return rc;
}

/* Each event goes out the moment libhogclient hands it over. */
static int on_event(const struct hog_exec_event *ev, void *ctx)
{
    struct call *call = ctx;
    struct buf b = BUF_INIT;

    buf_addstr(&b, "{\"type\":\"event\",\"id\":");
    add_id(&b, call);
    buf_addf(&b, ",\"seq\":%u,\"event\":{\"kind\":", call->seq++);
    if (ev->kind == HOG_EVENT_EXIT) {
        buf_addf(&b, "\"exit\",\"exit_code\":%d,\"timed_out\":%s}}", ev->exit_code,
                 ev->timed_out ? "true" : "false");
    } else {
        buf_addstr(&b, ev->kind == HOG_EVENT_STDOUT ? "\"stdout\",\"data\":" : "\"stderr\",\"data\":");
        buf_add_json_str(&b, ev->data, ev->len);
        buf_addstr(&b, "}}");
    }
    adapter_emit(&b);
    buf_release(&b);
    return 0;
}

static enum rc op_exec_stream(struct ctx *x)
{
    struct hog_exec_req r;
    struct hog_exec_exit ex;
    const char *box;
    enum rc rc;

    if (!exec_req(x, &box, &r))
        return RC_PARSE;
    rc = hog_box_exec_stream(x->c, box, &r, on_event, x->call, &ex, &x->err);
    if (rc == RC_OK) {
        x->value = cJSON_CreateObject();
        cJSON_AddNumberToObject(x->value, "exit_code", ex.exit_code);
        cJSON_AddBoolToObject(x->value, "timed_out", ex.timed_out);
    }
    return rc;
}

static enum rc op_write_file(struct ctx *x)
{
    struct hog_file_opts o;
    struct buf data = BUF_INIT;
    const char *box, *path;
    bool present;
    enum rc rc;

    memset(&o, 0, sizeof(o));
    if (!arg_str(x, "box", true, &box) || !arg_str(x, "path", true, &path)
        || !arg_str(x, "mode", false, &o.mode) || !arg_bool(x, "mkdir", &o.mkdir)
        || !arg_bytes(x, "data", true, &data, &present)) {
        buf_release(&data);
        return RC_PARSE;
    }
    rc = hog_file_write(x->c, box, path, &o, data.data, data.len, &x->value, &x->err);
    buf_release(&data);
    return rc;
}

static enum rc op_read_file(struct ctx *x)
{
    struct buf data = BUF_INIT;
    const char *box, *path;
    enum rc rc;

    if (!arg_str(x, "box", true, &box) || !arg_str(x, "path", true, &path))
        return RC_PARSE;
    rc = hog_file_read(x->c, box, path, &data, &x->err);
    if (rc == RC_OK) {
        /* Rendered here: 64 MiB of base64 need not go through cJSON. */
        buf_addstr(&x->raw, "{\"data\":\"");
        base64_encode(&x->raw, data.data, data.len);
        buf_addstr(&x->raw, "\"}");
        x->have_raw = true;
    }
    buf_release(&data);
    return rc;
}

static enum rc op_snapshot(struct ctx *x)
{
    const char *box, *key;

    if (!arg_str(x, "box", true, &box) || !arg_str(x, "idempotency_key", false, &key))
        return RC_PARSE;
    return hog_box_snapshot(x->c, box, key, &x->value, &x->err);
}

static enum rc op_list_snapshots(struct ctx *x)
{
    struct hog_int limit;
    const char *cursor;

    if (!arg_opt_int(x, "limit", &limit) || !arg_str(x, "cursor", false, &cursor))
        return RC_PARSE;
    return hog_snapshot_list(x->c, limit, cursor, &x->value, &x->err);
}

static enum rc op_get_snapshot(struct ctx *x)
{
    const char *id;

    if (!arg_str(x, "snapshot", true, &id))
        return RC_PARSE;
    return hog_snapshot_get(x->c, id, &x->value, &x->err);
}

static enum rc empty_value(struct ctx *x, enum rc rc)
{
    if (rc == RC_OK)
        x->value = cJSON_CreateObject();
    return rc;
}

static enum rc op_delete_snapshot(struct ctx *x)
{
    const char *id;

    if (!arg_str(x, "snapshot", true, &id))
        return RC_PARSE;
    return empty_value(x, hog_snapshot_delete(x->c, id, &x->err));
}

static enum rc op_pause(struct ctx *x)
{
    const char *box;

    if (!arg_str(x, "box", true, &box))
        return RC_PARSE;
    return hog_box_pause(x->c, box, &x->value, &x->err);
}

static enum rc op_resume(struct ctx *x)
{
    const char *box;

    if (!arg_str(x, "box", true, &box))
        return RC_PARSE;
    return hog_box_resume(x->c, box, &x->value, &x->err);
}

static enum rc op_destroy(struct ctx *x)
{
    const char *box;

    if (!arg_str(x, "box", true, &box))
        return RC_PARSE;
    return empty_value(x, hog_box_destroy(x->c, box, &x->err));
}

static enum rc op_proxy_url(struct ctx *x)
{
    struct buf url = BUF_INIT;
    const char *box, *path;
    long port;

    if (!arg_str(x, "box", true, &box) || !arg_int(x, "port", &port)
        || !arg_str(x, "path", false, &path))
        return RC_PARSE;
    if (hog_proxy_url(x->c, box, (int)port, path, &url) != RC_OK) {
        buf_release(&url);
        x->err.type = HOG_ERR_VALIDATION;
        x->err.message = xstrdup("a hogbox id and a port from 1 to 65535 are required");
        return RC_INVALID;
    }
    x->value = cJSON_CreateObject();
    cJSON_AddStringToObject(x->value, "url", buf_cstr(&url));
    buf_release(&url);
    return RC_OK;
}

static enum rc op_proxy_request(struct ctx *x)
{
    struct hog_proxy_req r;
    struct hog_proxy_resp resp;
    struct buf body = BUF_INIT, b64 = BUF_INIT;
    const char *box;
    long port;
    bool present;
    enum rc rc;

    memset(&r, 0, sizeof(r));
    if (!arg_str(x, "box", true, &box) || !arg_int(x, "port", &port)
        || !arg_str(x, "path", false, &r.path) || !arg_str(x, "method", false, &r.method)
        || !arg_str(x, "query", false, &r.query) || !arg_pairs(x, "headers", ": ", &r.headers)
        || !arg_bytes(x, "body", false, &body, &present)) {
        buf_release(&body);
        return RC_PARSE;
    }
    r.port = (int)port;
    if (present) {
        r.body = body.data ? body.data : "";
        r.body_len = body.len;
    }
    hog_proxy_resp_init(&resp);
    rc = hog_proxy_request(x->c, box, &r, &resp, &x->err);
    if (rc == RC_OK) {
        x->value = cJSON_CreateObject();
        cJSON_AddNumberToObject(x->value, "status", (double)resp.status);
        cJSON_AddItemToObject(x->value, "headers", resp.headers);
        resp.headers = NULL;
        base64_encode(&b64, resp.body.data, resp.body.len);
        cJSON_AddStringToObject(x->value, "body", buf_cstr(&b64));
    }
    hog_proxy_resp_release(&resp);
    buf_release(&body);
    buf_release(&b64);
    return rc;
}

static const struct op {
    const char *name;
    enum rc (*fn)(struct ctx *x);
} ops[] = {
    { "me", op_me },
    { "limits", op_limits },
    { "create", op_create },
    { "get", op_get },
    { "list", op_list },
    { "list_all", op_list_all },
    { "exec", op_exec },
    { "exec_stream", op_exec_stream },
    { "write_file", op_write_file },
    { "read_file", op_read_file },
    { "snapshot", op_snapshot },
    { "list_snapshots", op_list_snapshots },
    { "get_snapshot", op_get_snapshot },
    { "delete_snapshot", op_delete_snapshot },
    { "pause", op_pause },
    { "resume", op_resume },
    { "destroy", op_destroy },
    { "proxy_url", op_proxy_url },
    { "proxy_request", op_proxy_request },
};

cJSON *ops_features(void)
{
    static const char *const features[] = {
        "exec_stream", "files", "snapshots", "proxy", "token_file", "idempotency_key", "concurrent",
    };
    cJSON *a = cJSON_CreateArray();
    size_t i;

    for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(features[i]));
    return a;
}

static const struct op *find_op(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

bool ops_known(const char *op)
{
    return find_op(op) != NULL;
}

void ops_run(struct call *call)
{
    const struct op *op = find_op(call->op);
    struct hog_client_options o = call->conf.o;
    struct buf why = BUF_INIT;
    struct ctx x;
    enum rc rc;
    size_t i;

    if (!op) {
        buf_addf(&why, "unknown op '%s'", call->op);
        emit_adapter_error(call, "UnsupportedOperation", buf_cstr(&why));
        buf_release(&why);
        return;
    }
    memset(&x, 0, sizeof(x));
    x.call = call;
    x.args = call->args;
    hog_error_init(&x.err);
    o.host = call->conf.host;
    o.token = call->conf.token;
    o.token_file = call->conf.token_file;
    if (hog_client_new(&o, &x.c, &why) != RC_OK) {
        struct buf m = BUF_INIT;

        buf_addf(&m, "the client cannot be set up: %s (set HOG_HOST and HOG_TOKEN or "
                 "HOG_TOKEN_FILE, or call configure)", buf_cstr(&why));
        emit_adapter_error(call, "AdapterError", buf_cstr(&m));
        buf_release(&m);
        buf_release(&why);
        return;
    }
    hog_client_set_deadline(x.c, call->deadline_ms);
    log_debug("call '%s': %s", call->id, call->op);
    rc = op->fn(&x);
    if (rc == RC_OK && x.have_raw)
        emit_ok(call, x.raw.data, x.raw.len);
    else if (rc == RC_OK)
        emit_ok_json(call, x.value);
    else if (rc == RC_PARSE)
        emit_adapter_error(call, "InvalidArguments", buf_cstr(&x.why));
    else if (x.err.type != HOG_ERR_NONE)
        emit_client_error(call, &x.err);
    else
        emit_adapter_error(call, "AdapterError", rc_str(rc));
    log_debug("call '%s': %s after %u attempt%s", call->id,
              rc == RC_OK ? "ok" : rc == RC_PARSE ? "invalid arguments" : hog_error_type_name(x.err.type),
              x.err.attempts, x.err.attempts == 1 ? "" : "s");
    for (i = 0; i < sizeof(x.lists) / sizeof(x.lists[0]); i++) {
        char **l;

        for (l = x.lists[i]; l && *l; l++)
            free(*l);
        free(x.lists[i]);
    }
    cJSON_Delete(x.value);
    buf_release(&x.raw);
    buf_release(&x.why);
    buf_release(&why);
    hog_error_release(&x.err);
    hog_client_free(x.c);
}
