#include "faults.h"

#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"
#include "yamljson.h"

/* Choices where the design leaves room:
 * - a plan with nth N leaves the first N-1 matching calls alone and faults the Nth (and,
 *   with times K, the K calls from there); times alone faults the first K; a plan whose
 *   times ran out stays listed, expired, with its counters;
 * - a call is faulted by at most one plan, the oldest that fires; later plans whose match
 *   fits still count it (matched, and a rate_limit quota) but do not draw for it;
 * - each plan has its own generator (splitmix64) seeded by `seed`, or by a seed hogmock
 *   draws and lists: the same seed and the same calls give the same faults, delays and
 *   bytes, whatever other plans do. */

#define MS_MAX 600000               /* the longest delay, stall or interval: ten minutes */
#define STALL_DEFAULT_MS 30000
#define GARBAGE_DEFAULT 64
#define GARBAGE_LINE_DEFAULT 32
#define GARBAGE_MAX 65536
#define DRIP_CHUNK_DEFAULT 16
#define DRIP_INTERVAL_DEFAULT 100
#define WINDOW_MAX_MS 86400000      /* a day */
#define SEED_MAX 9007199254740991.0 /* 2^53 - 1: what a JSON number holds exactly */
#define PLANS_MAX 1000
#define HEADERS_MAX 32
#define TEXT_MAX 65536              /* a raw body, a detail */

/* A principal's requests in the current window of a rate_limit plan. */
struct bucket {
    char *principal;
    uint64_t start_ms, count;
    struct bucket *next;
};

enum dist { DIST_FIXED, DIST_UNIFORM, DIST_LOGNORMAL };

struct plan {
    char id[24];
    cJSON *def;                 /* as listed, counters left out */
    /* match */
    char *op, *method, *path, *principal, *header_name;
    regex_t header_re;
    bool has_re;
    /* when it fires */
    uint64_t nth, times;        /* 0: not given */
    double probability;
    uint64_t rng;
    /* what it does */
    struct fault act;           /* the template every pick copies */
    enum dist dist;
    double d_a, d_b;
    uint64_t quota, window_ms;
    struct bucket *buckets;
    /* counters */
    uint64_t matched, hits;
    struct plan *next;
};

struct faults {
    pthread_mutex_t lock;
    struct plan *head, *tail;
    atomic_size_t count;
    uint64_t next_num;
    uint64_t salt;
};

static const char *const kind_names[] = {
    "status", "delay", "reset", "empty", "garbage", "truncate", "drip", "stall",
    "malformed_json", "rate_limit", "sse_drop", "sse_close", "sse_stall", "sse_garbage_line",
    "sse_cut_mid_line", "sse_duplicate_event", "sse_unknown_event_kind", "sse_no_exit",
};

/* The members each kind takes besides type, space-separated. */
static const char *const kind_members[] = {
    "status code detail body content_type headers retry_after", "fixed uniform lognormal where",
    "", "", "bytes", "bytes fraction", "chunk_bytes interval_ms", "max_ms", "status",
    "limit window_ms", "after_event", "after_event", "after_event max_ms", "after_event bytes",
    "after_event", "after_event", "after_event", "",
};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

/* ---- the generator ------------------------------------------------------------------ */

static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unit(uint64_t *s)
{
    return (double)(next64(s) >> 11) * 0x1.0p-53;
}

void fault_garbage(uint64_t seed, char *out, size_t n, bool line)
{
    uint64_t s = seed, v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (i % 8 == 0)
            v = next64(&s);
        out[i] = (char)(v & 0xff);
        v >>= 8;
        if (line && (out[i] == '\r' || out[i] == '\n'))
            out[i] = '~';
    }
    /* Never the start of "HTTP/" (a status line), nor a comment or an empty line. */
    if (n && (out[0] == 'H' || out[0] == ':' || out[0] == '\r' || out[0] == '\n'))
        out[0] = '\x7f';
}

bool fault_is_sse(enum fault_kind kind)
{
    return kind >= FAULT_SSE_DROP;
}

/* ---- faults --------------------------------------------------------------------------- */

static void fault_release(struct fault *f)
{
    size_t i;

    free(f->code);
    free(f->detail);
    free(f->body);
    free(f->content_type);
    for (i = 0; i < f->nheaders; i++) {
        free(f->headers[i].name);
        free(f->headers[i].value);
    }
    free(f->headers);
}

void fault_free(struct fault *f)
{
    if (!f)
        return;
    fault_release(f);
    free(f);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static struct fault *fault_copy(const struct fault *src)
{
    struct fault *f = xmalloc(sizeof(*f));
    size_t i;

    *f = *src;
    f->code = dup_or_null(src->code);
    f->detail = dup_or_null(src->detail);
    f->body = src->body ? xmemdup(src->body, src->body_len + 1) : NULL;
    f->content_type = dup_or_null(src->content_type);
    f->headers = src->nheaders ? xcalloc(src->nheaders, sizeof(*f->headers)) : NULL;
    for (i = 0; i < src->nheaders; i++) {
        f->headers[i].name = xstrdup(src->headers[i].name);
        f->headers[i].value = xstrdup(src->headers[i].value);
    }
    return f;
}

static void fault_add_header(struct fault *f, const char *name, const char *value)
{
    f->headers = xrealloc(f->headers, (f->nheaders + 1) * sizeof(*f->headers));
    f->headers[f->nheaders].name = xstrdup(name);
    f->headers[f->nheaders++].value = xstrdup(value);
}

static bool fault_has_header(const struct fault *f, const char *name)
{
    size_t i;

    for (i = 0; i < f->nheaders; i++)
        if (strcasecmp(f->headers[i].name, name) == 0)
            return true;
    return false;
}

/* ---- plans -------------------------------------------------------------------------- */

static void plan_free(struct plan *p)
{
    struct bucket *b, *next;

    if (!p)
        return;
    cJSON_Delete(p->def);
    free(p->op);
    free(p->method);
    free(p->path);
    free(p->principal);
    free(p->header_name);
    if (p->has_re)
        regfree(&p->header_re);
    fault_release(&p->act);
    for (b = p->buckets; b; b = next) {
        next = b->next;
        free(b->principal);
        free(b);
    }
    free(p);
}

struct faults *faults_new(uint64_t salt)
{
    struct faults *fs = xcalloc(1, sizeof(*fs));

    pthread_mutex_init(&fs->lock, NULL);
    fs->next_num = 1;
    fs->salt = salt;
    return fs;
}

void faults_clear(struct faults *fs)
{
    struct plan *p, *next;

    pthread_mutex_lock(&fs->lock);
    p = fs->head;
    fs->head = fs->tail = NULL;
    atomic_store(&fs->count, 0);
    pthread_mutex_unlock(&fs->lock);
    for (; p; p = next) {
        next = p->next;
        plan_free(p);
    }
}

void faults_free(struct faults *fs)
{
    if (!fs)
        return;
    faults_clear(fs);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

bool faults_none(struct faults *fs)
{
    return atomic_load_explicit(&fs->count, memory_order_relaxed) == 0;
}

/* ---- reading a definition ------------------------------------------------------------- */

/* Where a definition sits ("" for the admin API, "/3" in a file) and the message list. */
struct ctx {
    const char *at;
    struct buf *err;
};

static enum rc bad(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum rc bad(const struct ctx *c, const char *fmt, ...)
{
    char line[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* ": what" is about the whole plan, which the admin API's pointer "" names. */
    buf_addf(c->err, "%s%s", c->at, !*c->at && line[0] == ':' ? line + 2 : line);
    return RC_INVALID;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* An integer member in [min, max] into *out; absent leaves *out alone. */
static enum rc get_int(const struct ctx *c, const cJSON *o, const char *ptr, const char *name,
                       double min, double max, uint64_t *out)
{
    const cJSON *v = member(o, name);

    if (!v)
        return RC_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min
        || v->valuedouble > max)
        return bad(c, "%s/%s: must be an integer from %.0f to %.0f", ptr, name, min, max);
    *out = (uint64_t)v->valuedouble;
    return RC_OK;
}

static enum rc get_str(const struct ctx *c, const cJSON *o, const char *ptr, const char *name,
                       size_t max, char **out)
{
    const cJSON *v = member(o, name);

    if (!v)
        return RC_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max)
        return bad(c, "%s/%s: must be a string of 1 to %zu characters", ptr, name, max);
    *out = xstrdup(v->valuestring);
    return RC_OK;
}

/* Every member of o is in the space-separated list known. */
static enum rc only_members(const struct ctx *c, const cJSON *o, const char *ptr,
                            const char *known, const char *what)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, o) {
        const char *k = known;
        size_t n = strlen(m->string);
        bool ok = false;

        while (*k && !ok) {
            size_t len = strcspn(k, " ");

            ok = len == n && strncmp(k, m->string, n) == 0;
            k += len + (k[len] == ' ');
        }
        if (!ok)
            return bad(c, "%s/%.64s: not a member of %s (known: %s)", ptr, m->string, what,
                       *known ? known : "none");
    }
    return RC_OK;
}

static bool is_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || strchr(extra, *s)))
            return false;
    return true;
}

static enum rc read_match(const struct ctx *c, const cJSON *match, struct plan *p)
{
    const cJSON *h;
    enum rc rc;
    char *s;

    if (!match)
        return RC_OK;
    if (!cJSON_IsObject(match))
        return bad(c, "/match: must be an object {op, method, path, principal, header}");
    if ((rc = only_members(c, match, "/match", "op method path principal header", "match")))
        return rc;
    if ((rc = get_str(c, match, "/match", "op", 128, &p->op))
        || (rc = get_str(c, match, "/match", "method", 16, &p->method))
        || (rc = get_str(c, match, "/match", "path", 2048, &p->path))
        || (rc = get_str(c, match, "/match", "principal", 128, &p->principal)))
        return rc;
    if (p->method && !is_token(p->method))
        return bad(c, "/match/method: '%s' is not an HTTP method", p->method);
    for (s = p->method; s && *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
    if (p->path && p->path[0] != '/' && p->path[0] != '*')
        return bad(c, "/match/path: must start with / (or be a glob starting with *)");
    h = member(match, "header");
    if (h) {
        const cJSON *re;
        int err;

        if (!cJSON_IsObject(h))
            return bad(c, "/match/header: must be an object {name, regex}");
        if ((rc = only_members(c, h, "/match/header", "name regex", "header")))
            return rc;
        if (!member(h, "name"))
            return bad(c, "/match/header/name: missing: the header to look at");
        if ((rc = get_str(c, h, "/match/header", "name", 128, &p->header_name)))
            return rc;
        if (!is_token(p->header_name))
            return bad(c, "/match/header/name: '%s' is not a header name", p->header_name);
        re = member(h, "regex");
        if (re) {
            if (!cJSON_IsString(re) || strlen(re->valuestring) > 1024)
                return bad(c, "/match/header/regex: must be a string of at most 1024 characters");
            err = regcomp(&p->header_re, re->valuestring, REG_EXTENDED | REG_NOSUB);
            if (err) {
                char why[128];

                regerror(err, &p->header_re, why, sizeof(why));
                return bad(c, "/match/header/regex: not a POSIX extended regular expression: %s",
                           why);
            }
            p->has_re = true;
        }
    }
    return RC_OK;
}

/* An HTTP-date as Retry-After may give: RFC 9110's IMF-fixdate,
 * "Wed, 21 Oct 2026 07:28:00 GMT". */
static bool http_date(const char *s)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char day[4], mon[4];
    int d, y, h, mi, sec, used = 0;

    if (strlen(s) != 29
        || sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", day, &d, mon, &y, &h,
                  &mi, &sec, &used) != 7 || used != 29)
        return false;
    return strstr(days, day) && (strstr(days, day) - days) % 3 == 0 && strstr(months, mon)
           && (strstr(months, mon) - months) % 3 == 0 && d >= 1 && d <= 31 && h <= 23
           && mi <= 59 && sec <= 60 && y >= 1970;
}

/* The catalogue code that fits a status, or "http_NNN" for one the catalogue lacks. */
static void default_code(int status, char *out, size_t size)
{
    static const struct { int status; const char *code; } codes[] = {
        { 400, "invalid_parameter" }, { 401, "invalid_token" }, { 403, "forbidden" },
        { 404, "not_found" }, { 405, "method_not_allowed" }, { 406, "not_acceptable" },
        { 409, "invalid_state" }, { 413, "payload_too_large" },
        { 415, "unsupported_media_type" }, { 422, "validation_failed" },
        { 429, "rate_limited" }, { 500, "internal_error" }, { 502, "upstream_unavailable" },
        { 503, "unavailable" }, { 504, "upstream_unavailable" },
    };
    size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (codes[i].status == status) {
            snprintf(out, size, "%s", codes[i].code);
            return;
        }
    }
    snprintf(out, size, "http_%d", status);
}

static enum rc read_status(const struct ctx *c, const cJSON *a, struct plan *p, cJSON *norm)
{
    struct fault *f = &p->act;
    const cJSON *v, *h;
    uint64_t status = 0;
    enum rc rc;

    if (!member(a, "status"))
        return bad(c, "/action/status: missing: the status to answer (200 to 599)");
    if ((rc = get_int(c, a, "/action", "status", 200, 599, &status)))
        return rc;
    f->status = (int)status;
    cJSON_AddNumberToObject(norm, "status", (double)status);
    if ((v = member(a, "body"))) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) > TEXT_MAX)
            return bad(c, "/action/body: must be a string of at most %d bytes", TEXT_MAX);
        if (member(a, "code") || member(a, "detail"))
            return bad(c, "/action/%s: a raw body is sent as it is: code and detail belong to "
                       "the problem+json sent without one", member(a, "code") ? "code" : "detail");
        f->body_len = strlen(v->valuestring);
        f->body = xmemdup(v->valuestring, f->body_len + 1);
        if ((rc = get_str(c, a, "/action", "content_type", 256, &f->content_type)))
            return rc;
        if (!f->content_type)
            f->content_type = xstrdup("text/plain");
        cJSON_AddStringToObject(norm, "body", f->body);
        cJSON_AddStringToObject(norm, "content_type", f->content_type);
    } else {
        char code[24];

        if (member(a, "content_type"))
            return bad(c, "/action/content_type: goes with body (without one the answer is a "
                       "problem+json)");
        if ((rc = get_str(c, a, "/action", "code", 64, &f->code)))
            return rc;
        if (f->code) {
            const char *s;

            for (s = f->code; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9' && s > f->code)
                      || (*s == '_' && s > f->code)))
                    return bad(c, "/action/code: must match ^[a-z][a-z0-9_]*$");
        } else {
            default_code(f->status, code, sizeof(code));
            f->code = xstrdup(code);
        }
        if ((rc = get_str(c, a, "/action", "detail", TEXT_MAX, &f->detail)))
            return rc;
        if (!f->detail) {
            char d[96];

            snprintf(d, sizeof(d), "fault plan %s answered %d on purpose", p->id, f->status);
            f->detail = xstrdup(d);
        }
        cJSON_AddStringToObject(norm, "code", f->code);
        cJSON_AddStringToObject(norm, "detail", f->detail);
    }
    h = member(a, "headers");
    if (h) {
        const cJSON *m;

        if (!cJSON_IsObject(h) || cJSON_GetArraySize(h) > HEADERS_MAX)
            return bad(c, "/action/headers: must be an object of at most %d name: value strings",
                       HEADERS_MAX);
        cJSON_ArrayForEach(m, h) {
            if (!is_token(m->string) || strlen(m->string) > 128)
                return bad(c, "/action/headers/%.64s: not a header name", m->string);
            if (strcasecmp(m->string, "Content-Length") == 0
                || strcasecmp(m->string, "Transfer-Encoding") == 0
                || strcasecmp(m->string, "Connection") == 0
                || strcasecmp(m->string, "Content-Type") == 0)
                return bad(c, "/action/headers/%s: hogmock sets this header itself%s", m->string,
                           strcasecmp(m->string, "Content-Type") == 0 ? " (use content_type)" : "");
            if (!cJSON_IsString(m) || strlen(m->valuestring) > 4096
                || strpbrk(m->valuestring, "\r\n"))
                return bad(c, "/action/headers/%s: must be a string of one line", m->string);
            fault_add_header(f, m->string, m->valuestring);
        }
    }
    v = member(a, "retry_after");
    if (v && !cJSON_IsNull(v)) {
        char secs[24];

        if (cJSON_IsString(v)) {
            if (!http_date(v->valuestring))
                return bad(c, "/action/retry_after: '%.64s' is not an HTTP-date as "
                           "'Wed, 21 Oct 2026 07:28:00 GMT'", v->valuestring);
            fault_add_header(f, "Retry-After", v->valuestring);
        } else {
            uint64_t n = 0;

            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)
                || v->valuedouble < 0 || v->valuedouble > 86400)
                return bad(c, "/action/retry_after: must be seconds (0 to 86400), an HTTP-date "
                           "string or null (no Retry-After)");
            n = (uint64_t)v->valuedouble;
            snprintf(secs, sizeof(secs), "%llu", (unsigned long long)n);
            fault_add_header(f, "Retry-After", secs);
        }
    } else if (!v && !f->body && (f->status == 429 || f->status == 503)
               && !fault_has_header(f, "Retry-After")) {
        /* The spec has every 429 rate_limited and 503 say when to come back. */
        fault_add_header(f, "Retry-After", "1");
    }
    if (f->nheaders) {
        cJSON *hs = cJSON_AddObjectToObject(norm, "headers");
        size_t i;

        for (i = 0; i < f->nheaders; i++)
            cJSON_AddStringToObject(hs, f->headers[i].name, f->headers[i].value);
    }
    return RC_OK;
}

static enum rc read_delay(const struct ctx *c, const cJSON *a, struct plan *p, cJSON *norm)
{
    const cJSON *u = member(a, "uniform"), *l = member(a, "lognormal"), *w = member(a, "where");
    int given = !!member(a, "fixed") + !!u + !!l;
    enum rc rc;

    if (given != 1)
        return bad(c, "/action: a delay has exactly one of fixed (ms), uniform {min, max} and "
                   "lognormal {median, sigma}");
    if (w && (!cJSON_IsString(w) || (strcmp(w->valuestring, "headers") != 0
                                     && strcmp(w->valuestring, "body") != 0)))
        return bad(c, "/action/where: must be \"headers\" (before them, the default) or \"body\" "
                   "(between body chunks)");
    p->act.in_body = w && strcmp(w->valuestring, "body") == 0;
    if (member(a, "fixed")) {
        uint64_t ms = 0;

        if ((rc = get_int(c, a, "/action", "fixed", 0, MS_MAX, &ms)))
            return rc;
        p->dist = DIST_FIXED;
        p->d_a = (double)ms;
        cJSON_AddNumberToObject(norm, "fixed", (double)ms);
    } else if (u) {
        uint64_t lo = 0, hi = 0;
        cJSON *o;

        if (!cJSON_IsObject(u))
            return bad(c, "/action/uniform: must be an object {min, max} in ms");
        if ((rc = only_members(c, u, "/action/uniform", "min max", "uniform")))
            return rc;
        if (!member(u, "min") || !member(u, "max"))
            return bad(c, "/action/uniform: needs both min and max (ms)");
        if ((rc = get_int(c, u, "/action/uniform", "min", 0, MS_MAX, &lo))
            || (rc = get_int(c, u, "/action/uniform", "max", 0, MS_MAX, &hi)))
            return rc;
        if (hi < lo)
            return bad(c, "/action/uniform/max: must not be less than min");
        p->dist = DIST_UNIFORM;
        p->d_a = (double)lo;
        p->d_b = (double)hi;
        o = cJSON_AddObjectToObject(norm, "uniform");
        cJSON_AddNumberToObject(o, "min", (double)lo);
        cJSON_AddNumberToObject(o, "max", (double)hi);
    } else {
        const cJSON *med, *sig;
        cJSON *o;

        if (!cJSON_IsObject(l))
            return bad(c, "/action/lognormal: must be an object {median (ms), sigma}");
        if ((rc = only_members(c, l, "/action/lognormal", "median sigma", "lognormal")))
            return rc;
        med = member(l, "median");
        sig = member(l, "sigma");
        if (!cJSON_IsNumber(med) || med->valuedouble <= 0 || med->valuedouble > MS_MAX)
            return bad(c, "/action/lognormal/median: must be a number of ms above 0, at most %d",
                       MS_MAX);
        if (!cJSON_IsNumber(sig) || sig->valuedouble < 0 || sig->valuedouble > 5)
            return bad(c, "/action/lognormal/sigma: must be a number from 0 to 5");
        p->dist = DIST_LOGNORMAL;
        p->d_a = med->valuedouble;
        p->d_b = sig->valuedouble;
        o = cJSON_AddObjectToObject(norm, "lognormal");
        cJSON_AddNumberToObject(o, "median", p->d_a);
        cJSON_AddNumberToObject(o, "sigma", p->d_b);
    }
    cJSON_AddStringToObject(norm, "where", p->act.in_body ? "body" : "headers");
    return RC_OK;
}

/* The members of the action that are not status or delay. */
static enum rc read_simple(const struct ctx *c, const cJSON *a, struct plan *p, cJSON *norm)
{
    struct fault *f = &p->act;
    enum rc rc = RC_OK;

    switch (f->kind) {
    case FAULT_GARBAGE:
    case FAULT_SSE_GARBAGE_LINE:
        f->bytes = f->kind == FAULT_GARBAGE ? GARBAGE_DEFAULT : GARBAGE_LINE_DEFAULT;
        rc = get_int(c, a, "/action", "bytes", 1, GARBAGE_MAX, &f->bytes);
        cJSON_AddNumberToObject(norm, "bytes", (double)f->bytes);
        break;
    case FAULT_TRUNCATE: {
        const cJSON *fr = member(a, "fraction");

        if (!!member(a, "bytes") + !!fr != 1)
            return bad(c, "/action: a truncate has exactly one of bytes (sent of the body) and "
                       "fraction (0 <= f < 1 of its Content-Length)");
        f->fraction = -1;
        if (fr) {
            if (!cJSON_IsNumber(fr) || fr->valuedouble < 0 || fr->valuedouble >= 1)
                return bad(c, "/action/fraction: must be a number from 0 up to (not including) 1");
            f->fraction = fr->valuedouble;
            cJSON_AddNumberToObject(norm, "fraction", f->fraction);
        } else if (!(rc = get_int(c, a, "/action", "bytes", 0, SEED_MAX, &f->bytes))) {
            cJSON_AddNumberToObject(norm, "bytes", (double)f->bytes);
        }
        break;
    }
    case FAULT_DRIP:
        f->bytes = DRIP_CHUNK_DEFAULT;
        f->ms = DRIP_INTERVAL_DEFAULT;
        if (!(rc = get_int(c, a, "/action", "chunk_bytes", 1, 1 << 20, &f->bytes))
            && !(rc = get_int(c, a, "/action", "interval_ms", 1, 60000, &f->ms))) {
            cJSON_AddNumberToObject(norm, "chunk_bytes", (double)f->bytes);
            cJSON_AddNumberToObject(norm, "interval_ms", (double)f->ms);
        }
        break;
    case FAULT_STALL:
    case FAULT_SSE_STALL:
        f->ms = STALL_DEFAULT_MS;
        if (!(rc = get_int(c, a, "/action", "max_ms", 1, MS_MAX, &f->ms)))
            cJSON_AddNumberToObject(norm, "max_ms", (double)f->ms);
        break;
    case FAULT_MALFORMED_JSON: {
        uint64_t st = 200;

        if (!(rc = get_int(c, a, "/action", "status", 200, 599, &st)))
            cJSON_AddNumberToObject(norm, "status", (double)st);
        f->status = (int)st;
        break;
    }
    case FAULT_RATE_LIMIT:
        if (!member(a, "limit"))
            return bad(c, "/action/limit: missing: the requests allowed per window");
        p->window_ms = 60000;
        if (!(rc = get_int(c, a, "/action", "limit", 1, 1000000000, &p->quota))
            && !(rc = get_int(c, a, "/action", "window_ms", 1, WINDOW_MAX_MS, &p->window_ms))) {
            cJSON_AddNumberToObject(norm, "limit", (double)p->quota);
            cJSON_AddNumberToObject(norm, "window_ms", (double)p->window_ms);
        }
        f->status = 429;
        f->code = xstrdup("rate_limited");
        break;
    default:
        break;
    }
    if (rc == RC_OK && fault_is_sse(f->kind) && f->kind != FAULT_SSE_NO_EXIT) {
        f->after_event = f->kind == FAULT_SSE_DUPLICATE_EVENT ? 1 : 0;
        rc = get_int(c, a, "/action", "after_event", f->kind == FAULT_SSE_DUPLICATE_EVENT,
                     1000000000, &f->after_event);
        if (rc == RC_OK)
            cJSON_AddNumberToObject(norm, "after_event", (double)f->after_event);
    }
    return rc;
}

static enum rc read_action(const struct ctx *c, const cJSON *a, struct plan *p, cJSON *norm)
{
    const cJSON *type;
    size_t k;
    enum rc rc;

    if (!cJSON_IsObject(a))
        return bad(c, "/action: missing: an object {type, ...} saying how the request fails");
    type = member(a, "type");
    if (!cJSON_IsString(type))
        return bad(c, "/action/type: missing: status, delay, reset, empty, garbage, truncate, "
                   "drip, stall, malformed_json, rate_limit or an sse_ kind");
    for (k = 0; k < NKINDS && strcmp(kind_names[k], type->valuestring) != 0; k++)
        ;
    if (k == NKINDS)
        return bad(c, "/action/type: '%.64s' is not one of status, delay, reset, empty, garbage, "
                   "truncate, drip, stall, malformed_json, rate_limit, sse_drop, sse_close, "
                   "sse_stall, sse_garbage_line, sse_cut_mid_line, sse_duplicate_event, "
                   "sse_unknown_event_kind, sse_no_exit", type->valuestring);
    p->act.kind = (enum fault_kind)k;
    {
        char known[96];
        char what[48];

        snprintf(known, sizeof(known), "type%s%s", kind_members[k][0] ? " " : "",
                 kind_members[k]);
        snprintf(what, sizeof(what), "a %s action", kind_names[k]);
        if ((rc = only_members(c, a, "/action", known, what)))
            return rc;
    }
    cJSON_AddStringToObject(norm, "type", kind_names[k]);
    if (p->act.kind == FAULT_STATUS)
        return read_status(c, a, p, norm);
    if (p->act.kind == FAULT_DELAY)
        return read_delay(c, a, p, norm);
    return read_simple(c, a, p, norm);
}

/* Check def and fill p (p->id set); the listed form goes to p->def. */
static enum rc read_plan(const struct ctx *c, const cJSON *def, struct plan *p, uint64_t salt)
{
    const cJSON *match = member(def, "match"), *phase = member(def, "phase");
    const cJSON *prob = member(def, "probability");
    cJSON *action = cJSON_CreateObject();
    uint64_t seed;
    enum rc rc;
    bool own_answer;

    p->def = cJSON_CreateObject();
    if (!cJSON_IsObject(def)) {
        rc = bad(c, ": a fault plan is an object {match, phase, nth, times, probability, seed, "
                 "action}");
        goto out;
    }
    if ((rc = only_members(c, def, "", "match phase nth times probability seed action",
                           "a fault plan"))
        || (rc = read_match(c, match, p))
        || (rc = read_action(c, member(def, "action"), p, action)))
        goto out;
    /* truncate, drip, a delay in the body and the sse_ kinds need the operation's answer. */
    own_answer = p->act.kind == FAULT_TRUNCATE || p->act.kind == FAULT_DRIP
                 || fault_is_sse(p->act.kind) || (p->act.kind == FAULT_DELAY && p->act.in_body);
    p->act.phase = own_answer ? FAULT_AFTER_COMMIT : FAULT_BEFORE;
    if (phase && (!cJSON_IsString(phase) || (strcmp(phase->valuestring, "before") != 0
                                             && strcmp(phase->valuestring, "after_commit") != 0))) {
        rc = bad(c, "/phase: must be \"before\" (the operation does not happen) or "
                 "\"after_commit\" (it happens, then its answer is faulted)");
        goto out;
    }
    if (phase && own_answer && strcmp(phase->valuestring, "before") == 0) {
        rc = bad(c, "/phase: %s acts on the operation's own answer: only after_commit",
                 p->act.kind == FAULT_DELAY ? "a delay between body chunks"
                                            : kind_names[p->act.kind]);
        goto out;
    }
    if (phase && strcmp(phase->valuestring, "after_commit") == 0)
        p->act.phase = FAULT_AFTER_COMMIT;
    if ((rc = get_int(c, def, "", "nth", 1, SEED_MAX, &p->nth))
        || (rc = get_int(c, def, "", "times", 1, SEED_MAX, &p->times)))
        goto out;
    if (p->nth && !p->times)
        p->times = 1;   /* "the nth call": that one, unless times says more */
    if (prob && (!cJSON_IsNumber(prob) || prob->valuedouble < 0 || prob->valuedouble > 1)) {
        rc = bad(c, "/probability: must be a number from 0 to 1");
        goto out;
    }
    p->probability = prob ? prob->valuedouble : 1;
    if (p->act.kind == FAULT_RATE_LIMIT && (p->nth || prob)) {
        rc = bad(c, "/%s: a rate_limit fires by its quota; leave nth and probability out",
                 p->nth ? "nth" : "probability");
        goto out;
    }
    /* A drawn seed stays small enough to read and to type back. */
    seed = next64(&salt) & 0x7fffffffu;
    if ((rc = get_int(c, def, "", "seed", 0, SEED_MAX, &seed)))
        goto out;
    p->rng = seed;
    snprintf(p->act.label, sizeof(p->act.label), "%s:%s", p->id, kind_names[p->act.kind]);
    cJSON_AddStringToObject(p->def, "id", p->id);
    cJSON_AddItemToObject(p->def, "match", match ? cJSON_Duplicate(match, 1)
                                                 : cJSON_CreateObject());
    cJSON_AddStringToObject(p->def, "phase", p->act.phase == FAULT_BEFORE ? "before"
                                                                           : "after_commit");
    if (p->nth)
        cJSON_AddNumberToObject(p->def, "nth", (double)p->nth);
    else
        cJSON_AddNullToObject(p->def, "nth");
    if (p->times)
        cJSON_AddNumberToObject(p->def, "times", (double)p->times);
    else
        cJSON_AddNullToObject(p->def, "times");
    cJSON_AddNumberToObject(p->def, "probability", p->probability);
    cJSON_AddNumberToObject(p->def, "seed", (double)seed);
    cJSON_AddItemToObject(p->def, "action", action);
    action = NULL;
out:
    cJSON_Delete(action);
    return rc;
}

/* The listed form of p: its definition and counters (a new object). */
static cJSON *plan_json(const struct plan *p)
{
    cJSON *o = cJSON_Duplicate(p->def, 1);

    cJSON_AddNumberToObject(o, "matched", (double)p->matched);
    cJSON_AddNumberToObject(o, "hits", (double)p->hits);
    cJSON_AddBoolToObject(o, "expired", p->times && p->hits >= p->times);
    return o;
}

static enum rc add_at(struct faults *fs, const cJSON *def, const char *at, cJSON **out,
                      struct buf *err)
{
    struct plan *p = xcalloc(1, sizeof(*p));
    struct ctx c = { at, err };
    uint64_t num, salt;
    enum rc rc;

    pthread_mutex_lock(&fs->lock);
    if (atomic_load(&fs->count) >= PLANS_MAX) {
        pthread_mutex_unlock(&fs->lock);
        free(p);
        return bad(&c, ": there are %d fault plans already; delete some first", PLANS_MAX);
    }
    num = fs->next_num++;
    pthread_mutex_unlock(&fs->lock);
    snprintf(p->id, sizeof(p->id), "flt_%llu", (unsigned long long)num);
    salt = fs->salt ^ (num * 0x9e3779b97f4a7c15ull);
    rc = read_plan(&c, def, p, salt);
    if (rc != RC_OK) {
        plan_free(p);
        return rc;
    }
    pthread_mutex_lock(&fs->lock);
    if (fs->tail)
        fs->tail->next = p;
    else
        fs->head = p;
    fs->tail = p;
    atomic_fetch_add(&fs->count, 1);
    if (out)
        *out = plan_json(p);
    pthread_mutex_unlock(&fs->lock);
    return RC_OK;
}

enum rc faults_add(struct faults *fs, const cJSON *def, cJSON **plan, struct buf *err)
{
    if (plan)
        *plan = NULL;
    return add_at(fs, def, "", plan, err);
}

enum rc faults_load(struct faults *fs, const char *path, struct buf *err)
{
    struct buf why = BUF_INIT;
    const cJSON *def;
    cJSON *doc = NULL;
    enum rc rc;
    size_t i = 0;

    rc = yamljson_load_file(path, &doc, &why);
    if (rc == RC_OK && !cJSON_IsArray(doc)) {
        buf_addstr(&why, "the file must hold a list of fault plans");
        rc = RC_INVALID;
    }
    cJSON_ArrayForEach(def, (rc == RC_OK ? doc : NULL)) {
        char at[24];

        snprintf(at, sizeof(at), "/%zu", i++);
        if ((rc = add_at(fs, def, at, NULL, &why)) != RC_OK)
            break;
    }
    if (rc == RC_INVALID)
        buf_addf(err, "invalid fault plans in '%s': %s", path, buf_cstr(&why));
    else if (rc != RC_OK)
        buf_addf(err, "cannot load the fault plans: %s", buf_cstr(&why));
    cJSON_Delete(doc);
    buf_release(&why);
    return rc;
}

cJSON *faults_list(struct faults *fs)
{
    cJSON *list = cJSON_CreateArray();
    const struct plan *p;

    pthread_mutex_lock(&fs->lock);
    for (p = fs->head; p; p = p->next)
        cJSON_AddItemToArray(list, plan_json(p));
    pthread_mutex_unlock(&fs->lock);
    return list;
}

enum rc faults_delete(struct faults *fs, const char *id)
{
    struct plan *p, *prev = NULL;

    pthread_mutex_lock(&fs->lock);
    for (p = fs->head; p && strcmp(p->id, id) != 0; p = p->next)
        prev = p;
    if (p) {
        if (prev)
            prev->next = p->next;
        else
            fs->head = p->next;
        if (fs->tail == p)
            fs->tail = prev;
        atomic_fetch_sub(&fs->count, 1);
    }
    pthread_mutex_unlock(&fs->lock);
    if (!p)
        return RC_NOT_FOUND;
    plan_free(p);
    return RC_OK;
}

/* ---- picking -------------------------------------------------------------------------- */

static bool plan_matches(const struct plan *p, const struct fault_request *req)
{
    if (p->op && !(req->op && strcmp(p->op, req->op) == 0)
        && !(req->operation_id && strcmp(p->op, req->operation_id) == 0))
        return false;
    if (p->method && strcasecmp(p->method, req->method) != 0)
        return false;
    if (p->path && fnmatch(p->path, req->path, 0) != 0)
        return false;
    if (p->principal && !(req->principal && strcmp(p->principal, req->principal) == 0))
        return false;
    if (p->header_name) {
        const char *v = req->header(req->ctx, p->header_name);

        if (!v || (p->has_re && regexec(&p->header_re, v, 0, NULL, 0) != 0))
            return false;
    }
    /* Stream faults need an event stream; malformed_json needs a JSON answer. */
    if (fault_is_sse(p->act.kind) != req->streams
        && (fault_is_sse(p->act.kind) || p->act.kind == FAULT_MALFORMED_JSON))
        return false;
    return true;
}

/* Count the request in the principal's window; true when it is over the quota. *reset_ms
 * gets the time left in the window. */
static bool over_quota(struct plan *p, const struct fault_request *req, uint64_t *left_ms)
{
    const char *who = req->principal ? req->principal : "";
    struct bucket *b;

    for (b = p->buckets; b && strcmp(b->principal, who) != 0; b = b->next)
        ;
    if (!b) {
        b = xcalloc(1, sizeof(*b));
        b->principal = xstrdup(who);
        b->start_ms = req->now_ms;
        b->next = p->buckets;
        p->buckets = b;
    }
    if (req->now_ms >= b->start_ms + p->window_ms || req->now_ms < b->start_ms) {
        b->start_ms = req->now_ms;
        b->count = 0;
    }
    b->count++;
    *left_ms = b->start_ms + p->window_ms - req->now_ms;
    return b->count > p->quota;
}

static uint64_t draw_delay(struct plan *p)
{
    double ms;

    switch (p->dist) {
    case DIST_UNIFORM:
        ms = p->d_a + floor(unit(&p->rng) * (p->d_b - p->d_a + 1));
        break;
    case DIST_LOGNORMAL: {
        double u1 = 1.0 - unit(&p->rng), u2 = unit(&p->rng);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);

        ms = floor(p->d_a * exp(p->d_b * z) + 0.5);
        break;
    }
    default:
        ms = p->d_a;
        break;
    }
    return ms < 0 ? 0 : ms > MS_MAX ? MS_MAX : (uint64_t)ms;
}

/* Does p fire for this call (counted already)? Under the lock. */
static struct fault *plan_fire(struct plan *p, const struct fault_request *req)
{
    struct fault *f;
    uint64_t left_ms = 0;

    if (p->act.kind == FAULT_RATE_LIMIT) {
        if (!over_quota(p, req, &left_ms) || (p->times && p->hits >= p->times))
            return NULL;
    } else {
        if (p->nth && p->matched < p->nth)
            return NULL;
        if (p->times && p->hits >= p->times)
            return NULL;
        if (p->probability < 1 && !(unit(&p->rng) < p->probability))
            return NULL;
    }
    p->hits++;
    f = fault_copy(&p->act);
    if (f->kind == FAULT_DELAY)
        f->ms = draw_delay(p);
    f->seed = next64(&p->rng);
    if (f->kind == FAULT_RATE_LIMIT) {
        char n[24], d[160];
        uint64_t secs = (left_ms + 999) / 1000;

        snprintf(n, sizeof(n), "%llu", (unsigned long long)secs);
        fault_add_header(f, "Retry-After", n);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)p->quota);
        fault_add_header(f, "RateLimit-Limit", n);
        fault_add_header(f, "RateLimit-Remaining", "0");
        snprintf(n, sizeof(n), "%llu", (unsigned long long)secs);
        fault_add_header(f, "RateLimit-Reset", n);
        snprintf(d, sizeof(d), "rate limit of %llu requests per %llu ms exceeded; retry in %llu "
                 "seconds", (unsigned long long)p->quota, (unsigned long long)p->window_ms,
                 (unsigned long long)secs);
        f->detail = xstrdup(d);
    }
    return f;
}

struct fault *faults_pick(struct faults *fs, const struct fault_request *req)
{
    struct fault *picked = NULL;
    struct plan *p;

    if (faults_none(fs))
        return NULL;
    pthread_mutex_lock(&fs->lock);
    for (p = fs->head; p; p = p->next) {
        if (!plan_matches(p, req))
            continue;
        p->matched++;
        if (!picked)
            picked = plan_fire(p, req);
        else if (p->act.kind == FAULT_RATE_LIMIT) {
            uint64_t left;

            (void)over_quota(p, req, &left);
        }
    }
    pthread_mutex_unlock(&fs->lock);
    return picked;
}
