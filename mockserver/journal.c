#include "journal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "digest.h"
#include "buf.h"
#include "log.h"
#include "redact.h"
#include "vclock.h"
#include "xmalloc.h"

#define JOURNAL_DEFAULT_MAX 100000
/* The most bytes the entries may hold together: the oldest go first past it, however
 * many fewer than max that leaves (some 45000 entries of a plain GET). 100000 entries of
 * half a KiB would otherwise be over 60 MiB of a process that idles at 15. */
#define JOURNAL_MAX_BYTES (24u << 20)
#define JSON_BODY_KEEP (8u << 10)   /* JSON bodies up to this size are kept whole */
#define QUERY_DEFAULT_LIMIT 100
#define QUERY_MAX_LIMIT 1000

/* One request. Everything lives in one allocation: the fields the filters look at, then
 * the entry's JSON without its leading {"seq":N (the seq is only known under the lock,
 * the rendering is done before taking it). */
struct entry {
    uint64_t seq;
    int status;
    const char *op, *principal, *method, *path, *request_id;
    const char *rest;           /* ,"time":...} */
    size_t rest_len;
    size_t size;                /* bytes of blob */
    char *blob;
};

struct journal {
    pthread_mutex_t lock;
    struct entry *ring;
    size_t max, head, count;    /* head: index of the oldest entry */
    size_t bytes;               /* what the entries' blobs hold together */
    uint64_t next_seq;
    struct timespec born;
};

/* ---- digests ---------------------------------------------------------------------- */

/* ---- rendering -------------------------------------------------------------------- */

/* Decimal digits of v, without printf (this is on every request's path). */
static void add_u64(struct buf *b, uint64_t v)
{
    char d[24];
    size_t n = sizeof(d);

    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_add(b, d + n, sizeof(d) - n);
}

static void json_str(struct buf *b, const char *s)
{
    if (s)
        buf_add_json_str(b, s, strlen(s));
    else
        buf_addstr(b, "null");
}

/* ,"key": for a literal key, in one append (an entry has twenty of them). */
#define json_key(b, key) buf_add((b), ",\"" key "\":", sizeof(",\"" key "\":") - 1)

/* name lowercased: into buf (size bytes) when it fits, else into a new string. */
static char *lower_name(const char *name, char *buf, size_t size)
{
    size_t n = strlen(name), i;
    char *out = n < size ? buf : xmalloc(n + 1);

    for (i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[n] = '\0';
    return out;
}

/* The request headers as one object: names lowercased, repeated ones joined by ", "
 * ("; " for Cookie) in the order they came, each value redacted. A name is written where
 * it first appears; the few headers of a request make the scans for repeats cheap. */
static void render_headers(struct buf *b, const char *const *h)
{
    struct buf v = BUF_INIT;
    char local[128], *lname;
    size_t i, k;
    bool first = true;

    buf_addch(b, '{');
    for (i = 0; h && h[i] && h[i + 1]; i += 2) {
        for (k = 0; k < i && strcasecmp(h[k], h[i]) != 0; k += 2)
            ;
        if (k < i)
            continue;       /* joined to its first appearance */
        lname = lower_name(h[i], local, sizeof(local));
        buf_reset(&v);
        redact_header_light(&v, lname, h[i + 1]);
        for (k = i + 2; h[k] && h[k + 1]; k += 2) {
            if (strcasecmp(h[k], h[i]) != 0)
                continue;
            buf_addstr(&v, strcmp(lname, "cookie") == 0 ? "; " : ", ");
            redact_header_light(&v, lname, h[k + 1]);
        }
        if (!first)
            buf_addch(b, ',');
        first = false;
        json_str(b, lname);
        buf_addch(b, ':');
        buf_add_json_str(b, v.data ? v.data : "", v.len);
        if (lname != local)
            free(lname);
    }
    buf_addch(b, '}');
    buf_release(&v);
}

static bool json_media(const char *ct)
{
    const char *semi;
    size_t len;

    if (!ct)
        return false;
    semi = strchr(ct, ';');
    len = semi ? (size_t)(semi - ct) : strlen(ct);
    while (len && ct[len - 1] == ' ')
        len--;
    return (len == 16 && strncasecmp(ct, "application/json", 16) == 0)
           || (len > 5 && strncasecmp(ct + len - 5, "+json", 5) == 0);
}

static void render_body(struct buf *b, const struct journal_input *in)
{
    char hex[65];

    if (!in->body || !in->body_len) {
        buf_addstr(b, "null");
        return;
    }
    if (in->body_sha256)
        snprintf(hex, sizeof(hex), "%s", in->body_sha256);
    else
        digest_sha256_hex(in->body, in->body_len, hex);
    buf_addf(b, "{\"size\":%zu,\"sha256\":\"%s\",\"content_type\":", in->body_len, hex);
    json_str(b, in->content_type);
    if (in->body_len <= JSON_BODY_KEEP && json_media(in->content_type)) {
        cJSON *doc = cJSON_ParseWithLength(in->body, in->body_len);

        if (doc) {
            char *text;

            redact_json_light(doc);
            text = cJSON_PrintUnformatted(doc);
            if (text) {
                buf_addstr(b, ",\"json\":");
                buf_addstr(b, text);
                cJSON_free(text);
            }
            cJSON_Delete(doc);
        }
    }
    buf_addch(b, '}');
}

/* Microseconds as milliseconds with three decimals. */
static void add_ms3(struct buf *b, uint64_t us)
{
    add_u64(b, us / 1000);
    buf_addch(b, '.');
    buf_addch(b, (char)('0' + us / 100 % 10));
    buf_addch(b, (char)('0' + us / 10 % 10));
    buf_addch(b, (char)('0' + us % 10));
}

/* Everything after {"seq":N; mono_us is the arrival on the journal's monotonic clock. */
static void render(struct buf *b, const struct journal_input *in, const char *path,
                   const char *query, uint64_t mono_us)
{
    char when[40];

    vclock_format(in->time_ms, when, sizeof(when));
    json_key(b, "time");
    json_str(b, when);
    json_key(b, "time_ms");
    add_u64(b, in->time_ms);
    json_key(b, "mono_ms");
    add_ms3(b, mono_us);
    json_key(b, "request_id");
    json_str(b, in->request_id);
    json_key(b, "method");
    json_str(b, in->method ? in->method : "");
    json_key(b, "path");
    json_str(b, path);
    json_key(b, "query");
    json_str(b, query);
    json_key(b, "op");
    json_str(b, in->op);
    json_key(b, "principal_id");
    json_str(b, in->principal_id);
    json_key(b, "auth_path");
    json_str(b, in->auth_path);
    json_key(b, "auth_issuer");
    json_str(b, in->auth_issuer);
    json_key(b, "auth_subject");
    if (in->auth_subject && redact_secret_value(in->auth_subject, strlen(in->auth_subject))) {
        /* A subject is a name, but one that looks like a credential is not kept. */
        struct buf fp = BUF_INIT;

        redact_credential(&fp, in->auth_subject);
        json_str(b, buf_cstr(&fp));
        buf_release(&fp);
    } else {
        json_str(b, in->auth_subject);
    }
    json_key(b, "auth_error");
    json_str(b, in->auth_error);
    json_key(b, "headers");
    render_headers(b, in->headers);
    json_key(b, "body");
    render_body(b, in);
    json_key(b, "status");
    add_u64(b, in->status > 0 ? (uint64_t)in->status : 0);
    json_key(b, "response_bytes");
    add_u64(b, in->response_bytes);
    json_key(b, "duration_ms");
    add_ms3(b, in->duration_us);
    json_key(b, "fault");
    json_str(b, in->fault);
    json_key(b, "note");
    json_str(b, in->note);
    json_key(b, "stream");
    buf_addstr(b, "null");
    buf_addch(b, '}');
}

/* ---- the ring --------------------------------------------------------------------- */

struct journal *journal_new(size_t max)
{
    struct journal *j = xcalloc(1, sizeof(*j));

    j->max = max ? max : JOURNAL_DEFAULT_MAX;
    j->next_seq = 1;
    pthread_mutex_init(&j->lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &j->born);
    return j;
}

static void entries_free(struct journal *j)
{
    size_t i;

    for (i = 0; i < j->count; i++)
        free(j->ring[(j->head + i) % j->max].blob);
}

void journal_free(struct journal *j)
{
    if (!j)
        return;
    entries_free(j);
    free(j->ring);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

uint64_t journal_age_ms(const struct journal *j)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - j->born.tv_sec) * 1000u
           + (uint64_t)((now.tv_nsec - j->born.tv_nsec) / 1000000);
}

/* Copy s into the blob at *at; returns where it went. */
static const char *put(char **at, const char *s, size_t len)
{
    char *p = *at;

    memcpy(p, s, len);
    p[len] = '\0';
    *at += len + 1;
    return p;
}

/* Make room for an entry of size bytes: the oldest entries leave the ring, always one
 * when it is full, more while the bytes are over JOURNAL_MAX_BYTES (at most OLD_MAX at
 * a time: an entry rarely outgrows the one before by much). Their blobs go to old[*nold]
 * for the caller to free outside the lock. Under the lock. */
#define OLD_MAX 8

static void evict(struct journal *j, size_t size, char **old, size_t *nold)
{
    while (j->count && *nold < OLD_MAX
           && (j->count == j->max || j->bytes + size > JOURNAL_MAX_BYTES)) {
        struct entry *e = &j->ring[j->head];

        old[(*nold)++] = e->blob;
        j->bytes -= e->size;
        e->blob = NULL;
        j->head = (j->head + 1) % j->max;
        j->count--;
    }
}

uint64_t journal_append(struct journal *j, const struct journal_input *in)
{
    struct buf path = BUF_INIT, query = BUF_INIT, json = BUF_INIT;
    const char *method = in->method ? in->method : "";
    const char *op = in->op ? in->op : "";
    const char *principal = in->principal_id ? in->principal_id : "";
    const char *rid = in->request_id ? in->request_id : "";
    size_t lens[5], total, i;
    struct entry e;
    struct timespec at_time;
    int64_t mono_us;
    char *at, *old[OLD_MAX];
    size_t nold = 0;
    uint64_t seq;

    /* All the work before the lock: redact, render, pack into one allocation. */
    at_time = in->arrival;
    if (!at_time.tv_sec && !at_time.tv_nsec)
        clock_gettime(CLOCK_MONOTONIC, &at_time);
    mono_us = (int64_t)(at_time.tv_sec - j->born.tv_sec) * 1000000
              + (at_time.tv_nsec - j->born.tv_nsec) / 1000;
    redact_tokens(&path, in->path ? in->path : "", in->path ? strlen(in->path) : 0);
    redact_query(&query, in->query ? in->query : "");
    buf_grow(&json, 1024);      /* most entries fit: no growing on the way */
    render(&json, in, buf_cstr(&path), buf_cstr(&query), mono_us > 0 ? (uint64_t)mono_us : 0);
    lens[0] = strlen(op);
    lens[1] = strlen(principal);
    lens[2] = strlen(method);
    lens[3] = path.len;
    lens[4] = strlen(rid);
    for (total = json.len + 1, i = 0; i < 5; i++)
        total += lens[i] + 1;
    e.blob = xmalloc(total);
    e.size = total;
    at = e.blob;
    e.status = in->status;
    e.op = put(&at, op, lens[0]);
    e.principal = put(&at, principal, lens[1]);
    e.method = put(&at, method, lens[2]);
    e.path = put(&at, buf_cstr(&path), lens[3]);
    e.request_id = put(&at, rid, lens[4]);
    e.rest = put(&at, json.data, json.len);
    e.rest_len = json.len;
    buf_release(&path);
    buf_release(&query);
    buf_release(&json);

    pthread_mutex_lock(&j->lock);
    if (!j->ring)
        j->ring = xcalloc(j->max, sizeof(*j->ring));
    e.seq = seq = j->next_seq++;
    evict(j, e.size, old, &nold);
    j->ring[(j->head + j->count) % j->max] = e;
    j->count++;
    j->bytes += e.size;
    pthread_mutex_unlock(&j->lock);
    while (nold)
        free(old[--nold]);
    return seq;
}

void journal_clear(struct journal *j)
{
    struct entry *ring;
    size_t head, count, max, i;

    pthread_mutex_lock(&j->lock);
    ring = j->ring;
    head = j->head;
    count = j->count;
    max = j->max;
    j->ring = NULL;
    j->head = j->count = 0;
    j->bytes = 0;
    pthread_mutex_unlock(&j->lock);
    for (i = 0; i < count; i++)
        free(ring[(head + i) % max].blob);
    free(ring);
}

/* The entry seq, or NULL once it left the ring; under the lock. Seqs in the ring are
 * consecutive from the oldest. */
static struct entry *find_seq(struct journal *j, uint64_t seq)
{
    uint64_t first;

    if (!j->count)
        return NULL;
    first = j->ring[j->head].seq;
    if (seq < first || seq - first >= j->count)
        return NULL;
    return &j->ring[(j->head + (size_t)(seq - first)) % j->max];
}

bool journal_update(struct journal *j, uint64_t seq, const cJSON *members)
{
    struct buf text = BUF_INIT;
    const cJSON *m;
    struct entry *e;
    cJSON *doc;
    char *rest, *blob, *at, *old;
    size_t lens[5], total, i, rest_len;
    const char *fixed[5];

    /* Take the text out, change it unlocked, put it back if the entry is still there. */
    pthread_mutex_lock(&j->lock);
    e = find_seq(j, seq);
    if (e) {
        buf_addch(&text, '{');
        buf_add(&text, e->rest + 1, e->rest_len - 1);   /* rest starts with ',' */
    }
    pthread_mutex_unlock(&j->lock);
    if (!e)
        return false;
    doc = cJSON_Parse(buf_cstr(&text));
    buf_release(&text);
    if (!doc)
        return false;
    cJSON_ArrayForEach(m, members) {
        cJSON *copy = cJSON_Duplicate(m, 1);

        if (cJSON_GetObjectItemCaseSensitive(doc, m->string))
            cJSON_ReplaceItemInObjectCaseSensitive(doc, m->string, copy);
        else
            cJSON_AddItemToObject(doc, m->string, copy);
    }
    rest = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!rest)
        return false;
    rest[0] = ',';
    rest_len = strlen(rest);

    pthread_mutex_lock(&j->lock);
    e = find_seq(j, seq);
    if (!e) {
        pthread_mutex_unlock(&j->lock);
        cJSON_free(rest);
        return false;
    }
    fixed[0] = e->op;
    fixed[1] = e->principal;
    fixed[2] = e->method;
    fixed[3] = e->path;
    fixed[4] = e->request_id;
    for (total = rest_len + 1, i = 0; i < 5; i++)
        total += (lens[i] = strlen(fixed[i])) + 1;
    blob = xmalloc(total);
    at = blob;
    e->op = put(&at, fixed[0], lens[0]);
    e->principal = put(&at, fixed[1], lens[1]);
    e->method = put(&at, fixed[2], lens[2]);
    e->path = put(&at, fixed[3], lens[3]);
    e->request_id = put(&at, fixed[4], lens[4]);
    e->rest = put(&at, rest, rest_len);
    e->rest_len = rest_len;
    old = e->blob;
    e->blob = blob;
    j->bytes += total - e->size;
    e->size = total;
    pthread_mutex_unlock(&j->lock);
    free(old);
    cJSON_free(rest);
    return true;
}

/* ---- queries ---------------------------------------------------------------------- */

struct filter {
    const char *op, *principal, *method, *path, *request_id;
    bool path_glob;
    bool has_status;
    int status;
    uint64_t since;
    size_t limit;
};

static const char *fstr(const cJSON *f, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);

    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A number member, or a string holding one (query parameters may come untyped). */
static bool fnum(const cJSON *f, const char *name, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);
    char *end;

    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring[0]) {
        *out = strtod(v->valuestring, &end);
        return *end == '\0';
    }
    return false;
}

static void filter_init(struct filter *f, const cJSON *json)
{
    double d;

    memset(f, 0, sizeof(*f));
    f->limit = QUERY_DEFAULT_LIMIT;
    if (!json)
        return;
    f->op = fstr(json, "op");
    f->principal = fstr(json, "principal");
    f->method = fstr(json, "method");
    f->path = fstr(json, "path");
    f->request_id = fstr(json, "request_id");
    f->path_glob = f->path && strpbrk(f->path, "*?[") != NULL;
    if (fnum(json, "status", &d)) {
        f->has_status = true;
        f->status = (int)d;
    }
    if (fnum(json, "since", &d) && d > 0)
        f->since = (uint64_t)d;
    if (fnum(json, "limit", &d))
        f->limit = d < 1 ? 1 : d > QUERY_MAX_LIMIT ? QUERY_MAX_LIMIT : (size_t)d;
}

static bool matches(const struct filter *f, const struct entry *e)
{
    if (e->seq <= f->since)
        return false;
    if (f->has_status && e->status != f->status)
        return false;
    if (f->op && strcmp(f->op, e->op) != 0)
        return false;
    if (f->principal && strcmp(f->principal, e->principal) != 0)
        return false;
    if (f->method && strcasecmp(f->method, e->method) != 0)
        return false;
    if (f->request_id && strcmp(f->request_id, e->request_id) != 0)
        return false;
    if (f->path) {
        /* A glob's star also crosses slashes: "/v1/hogboxes/" + star covers the subtree. */
        if (f->path_glob ? fnmatch(f->path, e->path, 0) != 0 : strcmp(f->path, e->path) != 0)
            return false;
    }
    return true;
}

/* The entries matching filter, at most its limit unless unlimited. */
static cJSON *select_entries(struct journal *j, const cJSON *filter, bool unlimited,
                             size_t *total)
{
    struct filter f;
    char **texts;
    size_t n = 0, matched = 0, i;
    cJSON *items = cJSON_CreateArray();

    filter_init(&f, filter);
    /* Copy the texts out under the lock; parse them after. */
    pthread_mutex_lock(&j->lock);
    if (unlimited)
        f.limit = j->count;
    texts = xcalloc(f.limit ? f.limit : 1, sizeof(*texts));
    for (i = 0; i < j->count; i++) {
        const struct entry *e = &j->ring[(j->head + i) % j->max];

        if (!matches(&f, e))
            continue;
        matched++;
        if (n < f.limit) {
            char head[32];
            int hl = snprintf(head, sizeof(head), "{\"seq\":%llu", (unsigned long long)e->seq);

            texts[n] = xmalloc((size_t)hl + e->rest_len + 1);
            memcpy(texts[n], head, (size_t)hl);
            memcpy(texts[n] + hl, e->rest, e->rest_len + 1);
            n++;
        }
    }
    pthread_mutex_unlock(&j->lock);
    for (i = 0; i < n; i++) {
        cJSON *item = cJSON_Parse(texts[i]);

        if (item)
            cJSON_AddItemToArray(items, item);
        else
            log_error("journal: an entry does not parse back (a bug): %.80s", texts[i]);
        free(texts[i]);
    }
    free(texts);
    if (total)
        *total = matched;
    return items;
}

cJSON *journal_query(struct journal *j, const cJSON *filter, size_t *total)
{
    return select_entries(j, filter, false, total);
}

cJSON *journal_select(struct journal *j, const cJSON *filter)
{
    return select_entries(j, filter, true, NULL);
}

size_t journal_count(struct journal *j, const cJSON *filter)
{
    struct filter f;
    size_t matched = 0, i;

    filter_init(&f, filter);
    pthread_mutex_lock(&j->lock);
    for (i = 0; i < j->count; i++)
        matched += matches(&f, &j->ring[(j->head + i) % j->max]);
    pthread_mutex_unlock(&j->lock);
    return matched;
}
