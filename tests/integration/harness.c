#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "bundle.h"
#include "examples.h"
#include "jsonptr.h"
#include "openapi.h"
#include "problem.h"
#include "schema.h"
#include "xmalloc.h"

/* The specs answers are checked against, loaded once per test binary. */
static struct {
    struct openapi *api[2];
    struct schema *schema[2];
    char tokens[4096];
} specs;
static pthread_once_t specs_once = PTHREAD_ONCE_INIT;

static void load_specs(void)
{
    static const char *const files[2] = { "openapi/hogplane.yaml", "openapi/hogmock-admin.yaml" };
    struct buf path = BUF_INIT, err = BUF_INIT;
    size_t i;

    xmalloc_init_cjson();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (i = 0; i < 2; i++) {
        buf_reset(&path);
        bundle_path(files[i], &path);
        if (openapi_load(buf_cstr(&path), &specs.api[i], &err) == RC_OK)
            specs.schema[i] = schema_new(openapi_doc(specs.api[i]));
        else
            fprintf(stderr, "harness: %s\n", buf_cstr(&err));
        buf_reset(&err);
    }
    buf_reset(&path);
    bundle_path("fixtures/auth/tokens.yaml", &path);
    snprintf(specs.tokens, sizeof(specs.tokens), "%s", buf_cstr(&path));
    buf_release(&path);
    buf_release(&err);
}

void mock_default_config(struct hogmock_config *cfg)
{
    pthread_once(&specs_once, load_specs);
    hogmock_config_init(cfg);
    cfg->virtual_clock = true;
    cfg->threads = 4;
    cfg->tokens_path = specs.tokens;
}

struct mock *mock_start(const struct hogmock_config *cfg)
{
    struct hogmock_config def;
    struct mock *m = xcalloc(1, sizeof(*m));
    struct buf err = BUF_INIT;

    pthread_once(&specs_once, load_specs);
    if (!cfg) {
        mock_default_config(&def);
        cfg = &def;
    }
    if (hogmock_start(cfg, &m->hm, &err) != RC_OK) {
        free(m);
        fail_msg("hogmock did not start: %s", buf_cstr(&err));
    }
    buf_release(&err);
    snprintf(m->url, sizeof(m->url), "%s", hogmock_url(m->hm));
    return m;
}

int mock_setup(void **state)
{
    *state = mock_start(NULL);
    return 0;
}

int mock_teardown(void **state)
{
    mock_stop(*state);
    return 0;
}

void mock_stop(struct mock *m)
{
    if (!m)
        return;
    hogmock_stop(m->hm);
    free(m);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, data, size * n);
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;

    /* A new status line starts a new set (after 100 Continue). */
    if (size * n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        buf_reset(b);
    buf_add(b, data, size * n);
    return size * n;
}

const char *resp_header(const struct resp *r, const char *name)
{
    /* A few values may be held at once (each call takes the next slot). */
    static __thread char values[8][4096];
    static __thread unsigned slot;
    char *value = values[slot++ % 8];
    const size_t vsize = sizeof(values[0]);
    const char *p = buf_cstr(&r->headers);
    size_t n = strlen(name);

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *end;

            while (*v == ' ')
                v++;
            end = strstr(v, "\r\n");
            snprintf(value, vsize, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
            return value;
        }
    }
    return NULL;
}

const char *resp_str(const struct resp *r, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void resp_release(struct resp *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

void mock_call(struct mock *m, const char *method, const char *target, const char *token,
               const char *body, size_t len, const char *const *extra, struct resp *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct buf url = BUF_INIT, auth = BUF_INIT;
    const char *ctype;
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    buf_addf(&url, "%s%s", m->url, target);
    curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
    /* Send the path as written: tests probe dot segments and odd escapes on purpose. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (token) {
        buf_addf(&auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, buf_cstr(&auth));
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (body && !(extra && *extra && strncasecmp(*extra, "Content-Type:", 13) == 0))
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    for (; extra && *extra; extra++)
        hdrs = curl_slist_append(hdrs, *extra);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L * mock_slow());
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, target, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    ctype = resp_header(out, "Content-Type");
    if (ctype && (strstr(ctype, "json") != NULL) && out->body.len)
        out->json = cJSON_ParseWithLength(out->body.data, out->body.len);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    buf_release(&url);
    buf_release(&auth);
}

void mock_json(struct mock *m, const char *method, const char *target, const char *token,
               const char *json, struct resp *out)
{
    static const char *const ct[] = { "Content-Type: application/json", NULL };

    mock_call(m, method, target, token, json, json ? strlen(json) : 0, ct, out);
}

static const struct openapi_op *find_op(const char *op_id, int *side)
{
    int i;

    for (i = 0; i < 2; i++) {
        const struct openapi_op *op = specs.api[i] ? openapi_find_op(specs.api[i], op_id) : NULL;

        if (op) {
            *side = i;
            return op;
        }
    }
    return NULL;
}

/* Why r does not match the documented response (appended to why); empty when it does. */
static void check_against(int side, const struct openapi_op *op, const struct resp *r,
                          struct buf *why)
{
    const struct openapi *api = specs.api[side];
    const cJSON *responses = cJSON_GetObjectItemCaseSensitive(op->node, "responses");
    const cJSON *resp, *content, *headers, *h, *media = NULL;
    const char *ctype = resp_header(r, "Content-Type");
    char status[8], mt[128];

    snprintf(status, sizeof(status), "%ld", r->status);
    resp = cJSON_GetObjectItemCaseSensitive(responses, status);
    if (!resp)
        resp = cJSON_GetObjectItemCaseSensitive(responses, "default");
    if (!resp) {
        buf_addf(why, "- status %ld is not documented for %s\n", r->status, op->operation_id);
        return;
    }
    openapi_deref(api, resp, &resp, NULL);
    if (!resp_header(r, "X-Request-Id"))
        buf_addstr(why, "- no X-Request-Id header\n");
    headers = cJSON_GetObjectItemCaseSensitive(resp, "headers");
    cJSON_ArrayForEach(h, headers) {
        const cJSON *hd;

        openapi_deref(api, h, &hd, NULL);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hd, "required")) && !resp_header(r, h->string))
            buf_addf(why, "- required header %s is missing\n", h->string);
    }
    content = cJSON_GetObjectItemCaseSensitive(resp, "content");
    if (!content || !content->child) {
        if (r->body.len)
            buf_addf(why, "- a body of %zu bytes where none is documented\n", r->body.len);
        return;
    }
    if (!ctype) {
        if (r->body.len)
            buf_addstr(why, "- a body without Content-Type\n");
        return;
    }
    snprintf(mt, sizeof(mt), "%.*s", (int)strcspn(ctype, "; "), ctype);
    media = cJSON_GetObjectItemCaseSensitive(content, mt);
    if (!media)
        media = cJSON_GetObjectItemCaseSensitive(content, "*/*");
    if (!media) {
        buf_addf(why, "- Content-Type '%s' is not documented\n", ctype);
        return;
    }
    if (strcmp(mt, "text/event-stream") == 0) {
        /* The whole stream, parsed as SSE, each event's data against its schema. */
        struct example ex = { op, status, mt, "the response", NULL, NULL, NULL };
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(media, "schema");
        cJSON *value;

        if (schema)
            openapi_deref(api, schema, &schema, NULL);
        value = cJSON_CreateString(buf_cstr(&r->body));
        ex.value = value;
        ex.schema = schema;
        ex.sse_events = cJSON_GetObjectItemCaseSensitive(resp, "x-hog-sse-events");
        example_check(api, specs.schema[side], &ex, why);
        cJSON_Delete(value);
        return;
    }
    if (strstr(mt, "json")) {
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(media, "schema");
        struct schema_errors errs = SCHEMA_ERRORS_INIT;
        size_t i;

        if (!r->json) {
            buf_addstr(why, "- the body is not JSON\n");
            return;
        }
        if (schema) {
            openapi_deref(api, schema, &schema, NULL);
            if (schema_validate(specs.schema[side], schema, r->json, &errs) != RC_OK)
                for (i = 0; i < errs.count; i++)
                    buf_addf(why, "- body %s\n", errs.items[i].message);
            schema_errors_release(&errs);
        }
        if (strcmp(mt, PROBLEM_CONTENT_TYPE) == 0) {
            const char *code = resp_str(r, "code"), *title = resp_str(r, "title");
            const char *rid = resp_str(r, "request_id"), *hrid = resp_header(r, "X-Request-Id");
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(r->json, "status");

            if (!code || !title || strcmp(title, problem_title(code, (int)r->status)) != 0)
                buf_addstr(why, "- the problem's title is not its code's catalogue title\n");
            if (!cJSON_IsNumber(st) || st->valueint != r->status)
                buf_addstr(why, "- the problem's status differs from the HTTP status\n");
            if (!rid || !hrid || strcmp(rid, hrid) != 0)
                buf_addstr(why, "- the problem's request_id differs from X-Request-Id\n");
        }
    }
}

void mock_check(struct mock *m, const char *op_id, const struct resp *r)
{
    struct buf why = BUF_INIT;
    const struct openapi_op *op;
    int side = 0;

    (void)m;
    pthread_once(&specs_once, load_specs);
    op = find_op(op_id, &side);
    if (!op)
        fail_msg("no operation '%s' in the specs", op_id);
    check_against(side, op, r, &why);
    if (why.len) {
        fail_msg("%s answered %ld, not as the spec says:\n%s--- body: %.*s", op_id, r->status,
                 buf_cstr(&why), (int)(r->body.len > 2000 ? 2000 : r->body.len),
                 buf_cstr(&r->body));
    }
    buf_release(&why);
}

cJSON *mock_expect(struct mock *m, const char *op_id, long status, const char *method,
                   const char *target, const char *token, const char *json, struct resp *r)
{
    mock_json(m, method, target, token, json, r);
    if (r->status != status)
        fail_msg("%s %s: status %ld, expected %ld: %.*s", method, target, r->status, status,
                 (int)(r->body.len > 2000 ? 2000 : r->body.len), buf_cstr(&r->body));
    mock_check(m, op_id, r);
    return r->json;
}

void mock_check_problem(const struct resp *r, const char *want_code)
{
    const cJSON *schema;
    struct schema_errors errs = SCHEMA_ERRORS_INIT;
    const char *ctype = resp_header(r, "Content-Type"), *code;
    struct buf why = BUF_INIT;
    size_t i;

    pthread_once(&specs_once, load_specs);
    schema = jsonptr_get(openapi_doc(specs.api[0]), "/components/schemas/Problem");
    if (!ctype || strncmp(ctype, PROBLEM_CONTENT_TYPE, strlen(PROBLEM_CONTENT_TYPE)) != 0)
        buf_addf(&why, "- Content-Type is '%s', not %s\n", ctype ? ctype : "(none)",
                 PROBLEM_CONTENT_TYPE);
    if (!r->json) {
        buf_addstr(&why, "- the body is not JSON\n");
    } else {
        if (schema_validate(specs.schema[0], schema, r->json, &errs) != RC_OK)
            for (i = 0; i < errs.count; i++)
                buf_addf(&why, "- %s\n", errs.items[i].message);
        schema_errors_release(&errs);
        code = resp_str(r, "code");
        if (want_code && (!code || strcmp(code, want_code) != 0))
            buf_addf(&why, "- code '%s', expected '%s'\n", code ? code : "(none)", want_code);
        if (!code || !resp_str(r, "title")
            || strcmp(resp_str(r, "title"), problem_title(code, (int)r->status)) != 0)
            buf_addstr(&why, "- the title is not the code's catalogue title\n");
        if (!resp_header(r, "X-Request-Id") || !resp_str(r, "request_id")
            || strcmp(resp_header(r, "X-Request-Id"), resp_str(r, "request_id")) != 0)
            buf_addstr(&why, "- request_id differs from X-Request-Id\n");
    }
    if (why.len)
        fail_msg("not the expected problem (status %ld):\n%s--- body: %.*s", r->status,
                 buf_cstr(&why), (int)(r->body.len > 2000 ? 2000 : r->body.len),
                 buf_cstr(&r->body));
    buf_release(&why);
}

char *mock_new_box(struct mock *m, const char *token)
{
    struct resp r;
    char *id;

    mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", token, "{}", &r);
    id = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    return id;
}

int mock_slow(void)
{
    const char *vg = getenv("HOG_VALGRIND");

    if (vg && strcmp(vg, "1") == 0)
        return 10;
#if defined(__SANITIZE_ADDRESS__)
    return 4;
#else
    return 1;
#endif
}

long mock_ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

void mock_pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool mock_binary(char *out, size_t size)
{
    char *slash = NULL;
    ssize_t n = readlink("/proc/self/exe", out, size - 1);

    if (n > 0) {
        out[n] = '\0';
        slash = strrchr(out, '/');
    }
    if (slash)
        snprintf(slash, size - (size_t)(slash - out), "/../../bin/hogmock");
    return slash && access(out, X_OK) == 0;
}
