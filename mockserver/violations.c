#include "violations.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"
#include "vclock.h"
#include "xmalloc.h"

#define DEFAULT_MAX 10000
#define QUERY_DEFAULT_LIMIT 100
#define QUERY_MAX_LIMIT 1000

struct violations {
    pthread_mutex_t lock;
    cJSON **ring;               /* items, each with its seq; NULL until the first */
    size_t max, head, count;
    uint64_t next_seq;
};

struct violations *violations_new(size_t max)
{
    struct violations *v = xcalloc(1, sizeof(*v));

    v->max = max ? max : DEFAULT_MAX;
    v->next_seq = 1;
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

static void items_free(cJSON **ring, size_t head, size_t count, size_t max)
{
    size_t i;

    for (i = 0; i < count; i++)
        cJSON_Delete(ring[(head + i) % max]);
    free(ring);
}

void violations_free(struct violations *v)
{
    if (!v)
        return;
    items_free(v->ring, v->head, v->count, v->max);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static void add_str(cJSON *o, const char *name, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, name, s);
    else
        cJSON_AddNullToObject(o, name);
}

void violations_add(struct violations *v, const struct violations_input *in)
{
    cJSON *item = cJSON_CreateObject(), *seq, *old = NULL;
    struct buf path = BUF_INIT;
    char when[40];

    /* Built before the lock; the seq is set once it is known. */
    seq = cJSON_AddNumberToObject(item, "seq", 0);
    vclock_format(in->time_ms, when, sizeof(when));
    redact_text(&path, in->path ? in->path : "", in->path ? strlen(in->path) : 0);
    cJSON_AddStringToObject(item, "time", when);
    add_str(item, "request_id", in->request_id);
    add_str(item, "method", in->method);
    cJSON_AddStringToObject(item, "path", buf_cstr(&path));
    add_str(item, "op", in->op);
    cJSON_AddNumberToObject(item, "status", in->status);
    cJSON_AddItemToObject(item, "violations", cJSON_Duplicate(in->list, 1));
    buf_release(&path);

    pthread_mutex_lock(&v->lock);
    if (!v->ring)
        v->ring = xcalloc(v->max, sizeof(*v->ring));
    cJSON_SetNumberValue(seq, (double)v->next_seq++);
    if (v->count == v->max) {
        old = v->ring[v->head];
        v->ring[v->head] = item;
        v->head = (v->head + 1) % v->max;
    } else {
        v->ring[(v->head + v->count) % v->max] = item;
        v->count++;
    }
    pthread_mutex_unlock(&v->lock);
    cJSON_Delete(old);
}

static const char *fstr(const cJSON *f, const char *name)
{
    const cJSON *m = f ? cJSON_GetObjectItemCaseSensitive(f, name) : NULL;

    return cJSON_IsString(m) && m->valuestring[0] ? m->valuestring : NULL;
}

static double fnum(const cJSON *f, const char *name, double def)
{
    const cJSON *m = f ? cJSON_GetObjectItemCaseSensitive(f, name) : NULL;

    return cJSON_IsNumber(m) ? m->valuedouble : def;
}

static bool str_is(const cJSON *item, const char *name, const char *want)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(item, name);

    return cJSON_IsString(m) && strcmp(m->valuestring, want) == 0;
}

cJSON *violations_query(struct violations *v, const cJSON *filter, size_t *total)
{
    const char *op = fstr(filter, "op"), *rid = fstr(filter, "request_id");
    double since = fnum(filter, "since", 0), limit = fnum(filter, "limit", QUERY_DEFAULT_LIMIT);
    cJSON *items = cJSON_CreateArray();
    size_t matched = 0, i;

    if (limit < 1)
        limit = 1;
    if (limit > QUERY_MAX_LIMIT)
        limit = QUERY_MAX_LIMIT;
    pthread_mutex_lock(&v->lock);
    for (i = 0; i < v->count; i++) {
        const cJSON *item = v->ring[(v->head + i) % v->max];

        if (item->child->valuedouble <= since || (op && !str_is(item, "op", op))
            || (rid && !str_is(item, "request_id", rid)))
            continue;
        if ((double)matched++ < limit)
            cJSON_AddItemToArray(items, cJSON_Duplicate(item, 1));
    }
    pthread_mutex_unlock(&v->lock);
    if (total)
        *total = matched;
    return items;
}

size_t violations_clear(struct violations *v)
{
    cJSON **ring;
    size_t head, count, max;

    pthread_mutex_lock(&v->lock);
    ring = v->ring;
    head = v->head;
    count = v->count;
    max = v->max;
    v->ring = NULL;
    v->head = v->count = 0;
    pthread_mutex_unlock(&v->lock);
    items_free(ring, head, count, max);
    return count;
}
