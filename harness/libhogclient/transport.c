#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "xmalloc.h"

#define ERROR_BODY_MAX (1024 * 1024)    /* kept of an error answer's body */
#define ERROR_TEXT_MAX (64 * 1024)      /* of which a non-JSON body goes into hog_error */
#define TOKEN_FILE_MAX (64 * 1024)

/* ---- errors --------------------------------------------------------------------- */

static const char *const type_names[][2] = {
    [HOG_ERR_NONE] = { "", "HOG_ERR_NONE" },
    [HOG_ERR_VALIDATION] = { "ValidationError", "HOG_ERR_VALIDATION" },
    [HOG_ERR_AUTHENTICATION] = { "AuthenticationError", "HOG_ERR_AUTHENTICATION" },
    [HOG_ERR_PERMISSION_DENIED] = { "PermissionDeniedError", "HOG_ERR_PERMISSION_DENIED" },
    [HOG_ERR_NOT_FOUND] = { "NotFoundError", "HOG_ERR_NOT_FOUND" },
    [HOG_ERR_CONFLICT] = { "ConflictError", "HOG_ERR_CONFLICT" },
    [HOG_ERR_RATE_LIMIT] = { "RateLimitError", "HOG_ERR_RATE_LIMIT" },
    [HOG_ERR_SERVER] = { "ServerError", "HOG_ERR_SERVER" },
    [HOG_ERR_API] = { "APIError", "HOG_ERR_API" },
    [HOG_ERR_CONNECTION] = { "ConnectionError", "HOG_ERR_CONNECTION" },
    [HOG_ERR_TIMEOUT] = { "TimeoutError", "HOG_ERR_TIMEOUT" },
};

void hog_error_init(struct hog_error *e)
{
    memset(e, 0, sizeof(*e));
    e->retry_after = -1;
}

void hog_error_release(struct hog_error *e)
{
    cJSON_Delete(e->body);
    free(e->request_id);
    free(e->message);
    hog_error_init(e);
}

const char *hog_error_type_name(enum hog_error_type type)
{
    if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]))
        return "APIError";
    return type_names[type][0];
}

const char *hog_error_type_cname(enum hog_error_type type)
{
    if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]))
        return "HOG_ERR_API";
    return type_names[type][1];
}

enum hog_error_type hog_error_type_for_status(long status)
{
    if (status >= 200 && status < 300)
        return HOG_ERR_NONE;
    switch (status) {
    case 400: case 413: case 422: return HOG_ERR_VALIDATION;
    case 401: return HOG_ERR_AUTHENTICATION;
    case 403: return HOG_ERR_PERMISSION_DENIED;
#if HOG_MUTANT == 1     /* mutant 1: 404 mapped to ServerError */
    case 404: return HOG_ERR_SERVER;
#else
    case 404: return HOG_ERR_NOT_FOUND;
#endif
#if HOG_MUTANT != 15    /* mutant 15: 409 left as a generic ApiError */
    case 409: return HOG_ERR_CONFLICT;
#endif
    case 429: return HOG_ERR_RATE_LIMIT;
    default: return status >= 500 ? HOG_ERR_SERVER : HOG_ERR_API;
    }
}

const char *hog_error_code(const struct hog_error *e)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e->body, "code");

    return cJSON_IsString(code) ? code->valuestring : NULL;
}

void hog_error_set(struct hog_error *err, enum hog_error_type type, const char *fmt, ...)
{
    struct buf m = BUF_INIT;
    va_list ap;
    int n;

    hog_error_release(err);
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_grow(&m, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(m.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        m.len = (size_t)n;
    }
    err->type = type;
    err->message = buf_detach(&m, NULL);
}

long hog_parse_retry_after(const char *value, time_t now)
{
    const char *p = value;
    long secs = 0;
    time_t t;

    if (!value)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (isdigit((unsigned char)*p)) {
        for (; isdigit((unsigned char)*p); p++)
            secs = secs > 100000000L ? 1000000000L : secs * 10 + (*p - '0');
        while (*p == ' ' || *p == '\t')
            p++;
        return *p ? -1 : secs;
    }
    t = curl_getdate(p, NULL);
    if (t == (time_t)-1)
        return -1;
    return t > now ? (long)(t - now) : 0;
}

void hog_uuid4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    size_t i, o = 0;

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        /* No entropy source: still unique enough per process and moment. */
        struct timespec ts;
        uint64_t x;

        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        for (i = 0; i < sizeof(r); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r[i] = (unsigned char)x;
        }
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
}

/* ---- the answer ----------------------------------------------------------------- */

bool xfer_header(const struct xfer *x, const char *name, struct buf *out)
{
    const char *p = buf_cstr(&x->head);
    size_t n = strlen(name);

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);

        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *end = p + len;

            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            buf_add(out, v, (size_t)(end - v));
            return true;
        }
        p += len + (eol ? 1 : 0);
    }
    return false;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;

    /* A new status line starts a new set (after 100 Continue). */
    if (size * n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        buf_reset(&x->head);
    buf_add(&x->head, data, size * n);
    return size * n;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    size_t len = size * n;
    long status = 0;

    if (!len)
        return 0;
    curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->sink && status >= 200 && status < 300) {
        x->delivered = true;
        if (x->sink(data, len, x->sink_ctx)) {
            x->stopped = true;
            return 0;
        }
        return len;
    }
    if ((status >= 200 && status < 300) || x->proxy)
        buf_add(&x->body, data, len);
    else if (x->body.len < ERROR_BODY_MAX)
        buf_add(&x->body, data, len < ERROR_BODY_MAX - x->body.len ? len : ERROR_BODY_MAX - x->body.len);
    return len;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ctx)
{
    struct xfer *x = ctx;
    size_t want = size * n, left;

    if (x->read) {
        ssize_t got;

        x->read_called = true;
        got = x->read(dst, want, x->read_ctx);
        if (got < 0) {
            x->stopped = true;
            return CURL_READFUNC_ABORT;
        }
        return (size_t)got < want ? (size_t)got : want;
    }
    left = x->upload_len - (size_t)x->read_off;
    if (want > left)
        want = left;
    if (want)
        memcpy(dst, (const char *)x->upload + x->read_off, want);
    x->read_off += (int64_t)want;
    return want;
}

/* curl rewinds a body to send it again on a fresh connection (or after a 100-continue
 * refusal); memory can always go back, a callback only before it was first read. */
static int on_seek(void *ctx, curl_off_t offset, int origin)
{
    struct xfer *x = ctx;

    if (origin != SEEK_SET)
        return CURL_SEEKFUNC_CANTSEEK;
    if (x->read)
        return offset == 0 && !x->read_called ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
    if (offset < 0 || (size_t)offset > x->upload_len)
        return CURL_SEEKFUNC_FAIL;
    x->read_off = offset;
    return CURL_SEEKFUNC_OK;
}

/* ---- one attempt ---------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The credential for this request: the token, or the token file as it is now. */
static enum rc read_credential(struct hog_client *c, struct buf *out, struct hog_error *err)
{
    size_t i, start = 0;

    buf_reset(out);
#if HOG_MUTANT == 3     /* mutant 3: token file read once, then the first token kept */
    {
        static char *first;

        if (first) {
            buf_addstr(out, first);
            return RC_OK;
        }
        if (c->token_file) {
            FILE *f = fopen(c->token_file, "rb");
            char chunk[4096];
            size_t n;

            if (f) {
                struct buf t = BUF_INIT;

                while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                    buf_add(&t, chunk, n);
                fclose(f);
                while (t.len && isspace((unsigned char)t.data[t.len - 1]))
                    t.len--;
                if (t.len) {
                    first = xstrndup(t.data, t.len);
                    buf_release(&t);
                    buf_addstr(out, first);
                    return RC_OK;
                }
                buf_release(&t);
            }
        }
    }
#endif
    if (c->token_file) {
        FILE *f = fopen(c->token_file, "rb");
        char chunk[4096];
        size_t n;

        if (!f) {
            hog_error_set(err, HOG_ERR_AUTHENTICATION, "unable to open token file '%s': %s",
                          c->token_file, strerror(errno));
            return RC_IO;
        }
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len <= TOKEN_FILE_MAX)
            buf_add(out, chunk, n);
        fclose(f);
        if (out->len > TOKEN_FILE_MAX) {
            hog_error_set(err, HOG_ERR_AUTHENTICATION, "token file '%s' is over %d bytes",
                          c->token_file, TOKEN_FILE_MAX);
            return RC_TOO_LARGE;
        }
    } else {
        buf_addstr(out, c->token);
    }
    /* Kubernetes and editors end the file with a newline; it is no part of the token. */
#if HOG_MUTANT == 14    /* mutant 14: the token file's trailing newline kept */
    while (0)
#else
    while (out->len && isspace((unsigned char)out->data[out->len - 1]))
        out->len--;
#endif
    while (start < out->len && isspace((unsigned char)out->data[start]))
        start++;
    if (start)
        memmove(out->data, out->data + start, out->len - start);
    out->len -= start;
    if (out->data)
        out->data[out->len] = '\0';
    for (i = 0; i < out->len; i++) {
        if ((unsigned char)out->data[i] < 0x21 || (unsigned char)out->data[i] == 0x7f) {
            hog_error_set(err, HOG_ERR_AUTHENTICATION, "the credential%s%s%s holds a space or a "
                          "control character", c->token_file ? " in '" : "",
                          c->token_file ? c->token_file : "", c->token_file ? "'" : "");
            return RC_INVALID;
        }
    }
    if (!out->len) {
        hog_error_set(err, HOG_ERR_AUTHENTICATION, "the credential%s%s%s is empty",
                      c->token_file ? " in '" : "", c->token_file ? c->token_file : "",
                      c->token_file ? "'" : "");
        return RC_INVALID;
    }
    return RC_OK;
}

static bool has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);

    for (; headers && *headers; headers++)
        if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
            return true;
    return false;
}

static struct curl_slist *append(struct curl_slist *l, const char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);

    if (!n) {
        fprintf(stderr, "fatal: out of memory\n");
        abort();
    }
    return n;
}

static struct curl_slist *add_header(struct curl_slist *l, struct buf *line, const char *name,
                                     const char *value)
{
    buf_reset(line);
    buf_addf(line, "%s: %s", name, value);
    return append(l, buf_cstr(line));
}

static CURLcode perform(struct hog_client *c, struct xfer *x, const char *credential,
                        long timeout_ms, char *errbuf)
{
    CURL *h = c->curl;
    struct curl_slist *hl = NULL;
    struct buf line = BUF_INIT;
    const char *const *e;
    bool has_body = x->upload || x->read;
    CURLcode cc;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#if HOG_MUTANT != 6     /* mutant 6: no User-Agent */
    curl_easy_setopt(h, CURLOPT_USERAGENT, HOG_CLIENT_NAME "/" HOG_CLIENT_VERSION);
#endif
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (c->o.connect_timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    if (timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    /* libcurl sends a request again by itself when a reused connection dies before a
     * byte of answer: fine for what may be retried, not for an exec that may have run. */
    if (!x->idempotent)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    if (x->idle_ms > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (x->idle_ms + 999) / 1000);
    }

    /* Built here so the credential sits in one buffer of ours, wiped below. */
    buf_reset(&line);
    buf_addstr(&line, "Authorization: Bearer ");
    buf_addstr(&line, credential);
    hl = append(NULL, buf_cstr(&line));
    if (x->accept)
        hl = add_header(hl, &line, "Accept", x->accept);
    if (x->content_type)
        hl = add_header(hl, &line, "Content-Type", x->content_type);
    else if (!has_header(x->headers, "Content-Type"))
        hl = append(hl, "Content-Type:");
    if (x->idempotency_key)
        hl = add_header(hl, &line, "Idempotency-Key", x->idempotency_key);
    for (e = x->headers; e && *e; e++)
        hl = append(hl, *e);

    if (!has_body && strcmp(x->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (!has_body && strcmp(x->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (has_body && strcmp(x->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(x->read ? x->read_size : (int64_t)x->upload_len));
    } else if (has_body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (x->read) {
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, x);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->read_size);
            if (x->read_size < 0)
                hl = append(hl, "Transfer-Encoding: chunked");
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->upload_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->upload);
        }
        if (strcmp(x->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
    } else if (strcmp(x->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

    cc = curl_easy_perform(h);

    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    if (line.data)
        memset(line.data, 0, line.cap);
    buf_release(&line);
    return cc;
}

/* ---- deciding ------------------------------------------------------------------- */

/* hogplane's own error through the proxy: a problem+json that repeats the answer's
 * X-Request-Id (a service cannot know it in advance). */
static bool is_hogplane_problem(const struct xfer *x, const cJSON *body)
{
    struct buf ct = BUF_INIT, rid = BUF_INIT;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(body, "code");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(body, "request_id");
    bool yes;

    xfer_header(x, "Content-Type", &ct);
    xfer_header(x, "X-Request-Id", &rid);
    yes = strncasecmp(buf_cstr(&ct), "application/problem+json", 24) == 0
          && cJSON_IsString(code) && cJSON_IsString(req) && rid.len
          && strcmp(req->valuestring, buf_cstr(&rid)) == 0;
    buf_release(&ct);
    buf_release(&rid);
    return yes;
}

static void error_from_answer(struct xfer *x, struct hog_error *err)
{
    struct buf v = BUF_INIT;
    const cJSON *code, *detail;
    unsigned attempts = err->attempts;

    hog_error_release(err);
    err->attempts = attempts;
    err->type = hog_error_type_for_status(x->status);
    if (err->type == HOG_ERR_NONE)
        err->type = HOG_ERR_API;
    err->status = x->status;
#if HOG_MUTANT == 12    /* mutant 12: the problem body discarded */
    if (0) {
#else
    if (x->body.len) {
#endif
        err->body = cJSON_ParseWithLength(x->body.data, x->body.len);
        if (!err->body) {
            /* Text as a JSON string, invalid UTF-8 repaired, so it can be passed on. */
            buf_add_json_str(&v, x->body.data, x->body.len < ERROR_TEXT_MAX ? x->body.len : ERROR_TEXT_MAX);
            err->body = cJSON_ParseWithLength(v.data, v.len);
            buf_reset(&v);
        }
    }
#if HOG_MUTANT == 2     /* mutant 2: Retry-After ignored */
    if (0)
#else
    if (xfer_header(x, "Retry-After", &v))
#endif
        err->retry_after = hog_parse_retry_after(buf_cstr(&v), time(NULL));
    buf_reset(&v);
    if (xfer_header(x, "X-Request-Id", &v))
        err->request_id = buf_detach(&v, NULL);
    code = cJSON_GetObjectItemCaseSensitive(err->body, "code");
    detail = cJSON_GetObjectItemCaseSensitive(err->body, "detail");
    buf_addf(&v, "hogplane answered %ld", x->status);
    if (cJSON_IsString(code))
        buf_addf(&v, " %s", code->valuestring);
    if (cJSON_IsString(detail))
        buf_addf(&v, ": %s", detail->valuestring);
    err->message = buf_detach(&v, NULL);
}

static bool retryable_status(long status, const struct hog_error *err)
{
    const char *code = hog_error_code(err);

    /* quota_exceeded clears only when a box is destroyed: waiting does not help. */
#if HOG_MUTANT == 13    /* mutant 13: 429 not retried */
    (void)code;
    if (status == 429)
        return false;
#elif HOG_MUTANT == 16  /* mutant 16: a 429 quota_exceeded retried like a rate limit */
    (void)code;
    if (status == 429)
        return true;
#else
    if (status == 429)
        return !code || strcmp(code, "quota_exceeded") != 0;
#endif
    return status == 502 || status == 503 || status == 504;
}

static uint64_t next_random(struct hog_client *c)
{
    /* xorshift64*: jitter needs spread, not secrecy. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 2685821657736338717ull;
}

/* Exponential backoff with jitter: attempt n waits between half and all of
 * base * 2^(n-1), capped. */
static long backoff_ms(struct hog_client *c, unsigned retry)
{
    long d = c->o.backoff_base_ms > 0 ? c->o.backoff_base_ms : 0;
    unsigned i;

    for (i = 1; i < retry && d < c->o.backoff_cap_ms; i++)
        d *= 2;
    if (d > c->o.backoff_cap_ms)
        d = c->o.backoff_cap_ms;
    if (d <= 1)
        return d > 0 ? d : 0;
    return d / 2 + (long)(next_random(c) % (uint64_t)(d / 2 + 1));
}

static void wait_ms(struct hog_client *c, long ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    if (c->o.sleep) {
        c->o.sleep(ms, c->o.sleep_ctx);
        return;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void reset_answer(struct xfer *x)
{
    x->status = 0;
    buf_reset(&x->head);
    buf_reset(&x->body);
    cJSON_Delete(x->json);
    x->json = NULL;
    x->read_off = 0;
}

void xfer_release(struct xfer *x)
{
    buf_release(&x->head);
    buf_release(&x->body);
    cJSON_Delete(x->json);
    x->json = NULL;
}

enum rc xfer_run(struct hog_client *c, struct xfer *x, struct hog_error *err)
{
    int64_t start = now_ms(), deadline = c->deadline_ms > 0 ? start + c->deadline_ms : 0;
    unsigned max = c->o.max_attempts ? c->o.max_attempts : 1, n;
    struct buf cred = BUF_INIT;
    char errbuf[CURL_ERROR_SIZE];
    enum rc rc = RC_ERR;

    hog_error_release(err);
    x->c = c;
    for (n = 1;; n++) {
        long timeout = x->timeout_ms, wait;
        bool retry = false, reached = false;
        CURLcode cc;

        x->deadline_bound = false;
        if (deadline) {
            int64_t left = deadline - now_ms();

            if (left <= 0) {
                hog_error_set(err, HOG_ERR_TIMEOUT, "the deadline of %ld ms passed after %u "
                              "attempt%s", c->deadline_ms, n - 1, n == 2 ? "" : "s");
                n--;
                break;
            }
            if (!timeout || left < timeout) {
                timeout = (long)left;
                x->deadline_bound = true;
            }
        }
        reset_answer(x);
        if (read_credential(c, &cred, err) != RC_OK) {
            n--;
            break;
        }
        errbuf[0] = '\0';
        cc = perform(c, x, buf_cstr(&cred), timeout, errbuf);
        err->attempts = n;

        if (x->stopped) {
            hog_error_release(err);
            rc = RC_STOPPED;
            break;
        }
        if (cc != CURLE_OK) {
            bool nothing_sent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST
                                || cc == CURLE_COULDNT_RESOLVE_PROXY;

            if (cc == CURLE_OPERATION_TIMEDOUT && x->deadline_bound) {
                hog_error_set(err, HOG_ERR_TIMEOUT, "the deadline of %ld ms passed during "
                              "attempt %u of %s %s", c->deadline_ms, n, x->method, x->url);
                break;
            }
            hog_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? HOG_ERR_TIMEOUT : HOG_ERR_CONNECTION,
                          "%s %s failed: %s", x->method, x->url,
                          errbuf[0] ? errbuf : curl_easy_strerror(cc));
            reached = !nothing_sent;
            retry = !x->delivered && !x->read_called && (x->idempotent || nothing_sent);
        } else {
            curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x->status);
            if (x->proxy && (x->status < 200 || x->status >= 300)) {
                cJSON *b = cJSON_ParseWithLength(x->body.data ? x->body.data : "", x->body.len);
                bool own = is_hogplane_problem(x, b);

                cJSON_Delete(b);
                if (!own) {
                    rc = RC_OK;
                    break;
                }
            }
            if (x->status >= 200 && x->status < 300) {
                if (!x->want_json || x->status == 204) {
                    rc = RC_OK;
                    break;
                }
                x->json = cJSON_ParseWithLength(x->body.data ? x->body.data : "", x->body.len);
                if (cJSON_IsObject(x->json)) {
                    rc = RC_OK;
                    break;
                }
                cJSON_Delete(x->json);
                x->json = NULL;
                hog_error_set(err, HOG_ERR_CONNECTION, "%s %s answered %ld with a body that "
                              "is not a JSON object (%zu bytes)", x->method, x->url, x->status,
                              x->body.len);
                reached = true;
                retry = x->idempotent && !x->read_called;
            } else {
                error_from_answer(x, err);
                /* A gateway error may come after the service did the work. */
                reached = x->status == 502 || x->status == 504;
#if HOG_MUTANT == 7     /* mutant 7: a non-idempotent POST retried */
                retry = !x->delivered && !x->read_called && retryable_status(x->status, err);
#else
                retry = x->idempotent && !x->delivered && !x->read_called
                        && retryable_status(x->status, err);
#endif
            }
        }
        if (!retry || n >= max)
            break;
        wait = backoff_ms(c, n);
        if (err->retry_after >= 0) {
            if (err->retry_after > c->o.retry_after_cap_ms / 1000
                || err->retry_after * 1000 > c->o.retry_after_cap_ms)
                break;
            if (err->retry_after * 1000 > wait)
                wait = err->retry_after * 1000;
        }
        if (deadline && now_ms() + wait >= deadline)
            break;
        if (reached)
            x->maybe_done = true;
#if HOG_MUTANT == 8     /* mutant 8: a new Idempotency-Key for each retry */
        if (x->idempotency_key) {
            static char fresh[37];

            hog_uuid4(fresh);
            x->idempotency_key = fresh;
        }
#endif
        wait_ms(c, wait);
    }
    if (rc == RC_OK)
        hog_error_release(err);
    err->attempts = n;
    if (cred.data)
        memset(cred.data, 0, cred.cap);
    buf_release(&cred);
    return rc;
}
