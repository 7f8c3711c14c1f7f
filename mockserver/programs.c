#include "programs.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define ARGV_MAX 256
#define EVENTS_MAX 10000
#define AFTER_MS_MAX 3600000   /* one hour */
#define EXIT_MAX 255

/* One definition, as added. */
struct def {
    char *id;
    char **argv;
    size_t argc;
    bool prefix;
    struct program prog;    /* id points at def's id */
    uint64_t order;
};

struct programs {
    pthread_mutex_t lock;
    struct def *defs;
    size_t n, cap;
    uint64_t next;
};

struct programs *programs_new(void)
{
    struct programs *p = xcalloc(1, sizeof(*p));

    pthread_mutex_init(&p->lock, NULL);
    p->next = 1;
    return p;
}

static void events_free(struct program_event *ev, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(ev[i].data);
    free(ev);
}

static void def_release(struct def *d)
{
    size_t i;

    for (i = 0; i < d->argc; i++)
        free(d->argv[i]);
    free(d->argv);
    free(d->id);
    events_free(d->prog.events, d->prog.nevents);
}

void programs_clear(struct programs *p)
{
    size_t i;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->n; i++)
        def_release(&p->defs[i]);
    p->n = 0;
    pthread_mutex_unlock(&p->lock);
}

void programs_free(struct programs *p)
{
    if (!p)
        return;
    programs_clear(p);
    free(p->defs);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ---- definitions ------------------------------------------------------------------ */

static enum rc bad(struct buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum rc bad(struct buf *err, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    buf_addstr(err, line);
    return RC_INVALID;
}

static enum rc read_event(const cJSON *ev, size_t i, size_t n, struct program_event *out,
                          struct buf *err)
{
    const cJSON *m;
    int kinds = 0;

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(ev))
        return bad(err, "/events/%zu: an event must be an object with one of stdout, stderr, exit",
                   i);
    cJSON_ArrayForEach(m, ev) {
        if (strcmp(m->string, "stdout") == 0 || strcmp(m->string, "stderr") == 0) {
            if (!cJSON_IsString(m))
                return bad(err, "/events/%zu/%s: must be a string", i, m->string);
            out->fd = m->string[3] == 'o' ? 1 : 2;
            out->len = strlen(m->valuestring);
            out->data = xmemdup(m->valuestring, out->len + 1);
            kinds++;
        } else if (strcmp(m->string, "exit") == 0) {
            if (!cJSON_IsNumber(m) || m->valuedouble != (double)(int)m->valuedouble
                || m->valuedouble < 0 || m->valuedouble > EXIT_MAX)
                return bad(err, "/events/%zu/exit: must be an integer from 0 to %d", i, EXIT_MAX);
            out->fd = 0;
            out->exit_code = (int)m->valuedouble;
            kinds++;
        } else if (strcmp(m->string, "after_ms") == 0) {
            if (!cJSON_IsNumber(m) || m->valuedouble != (double)(long long)m->valuedouble
                || m->valuedouble < 0 || m->valuedouble > AFTER_MS_MAX)
                return bad(err, "/events/%zu/after_ms: must be an integer from 0 to %d", i,
                           AFTER_MS_MAX);
            out->after_ms = (uint64_t)m->valuedouble;
        } else {
            return bad(err, "/events/%zu: unknown member '%.64s' (known: stdout, stderr, exit, "
                       "after_ms)", i, m->string);
        }
    }
    if (kinds != 1)
        return bad(err, "/events/%zu: an event has exactly one of stdout, stderr, exit", i);
    if (out->fd == 0 && i != n - 1)
        return bad(err, "/events/%zu: the exit event must be the last one", i);
    if (out->fd != 0 && i == n - 1)
        return bad(err, "/events: the last event must be the exit event ({\"exit\": N})");
    return RC_OK;
}

/* Check def and fill d (nothing kept on failure). */
static enum rc read_def(const cJSON *def, struct def *d, struct buf *err)
{
    const cJSON *argv, *events, *match, *m, *a;
    size_t i, n;
    enum rc rc;

    memset(d, 0, sizeof(*d));
    if (!cJSON_IsObject(def))
        return bad(err, "a program is an object {argv, match, events}");
    cJSON_ArrayForEach(m, def)
        if (strcmp(m->string, "argv") != 0 && strcmp(m->string, "match") != 0
            && strcmp(m->string, "events") != 0)
            return bad(err, "/%.64s: unknown member (known: argv, match, events)", m->string);
    argv = cJSON_GetObjectItemCaseSensitive(def, "argv");
    match = cJSON_GetObjectItemCaseSensitive(def, "match");
    events = cJSON_GetObjectItemCaseSensitive(def, "events");
    if (!cJSON_IsArray(argv) || cJSON_GetArraySize(argv) < 1
        || cJSON_GetArraySize(argv) > ARGV_MAX)
        return bad(err, "/argv: must be an array of 1 to %d strings", ARGV_MAX);
    cJSON_ArrayForEach(a, argv)
        if (!cJSON_IsString(a))
            return bad(err, "/argv: must be an array of 1 to %d strings", ARGV_MAX);
    if (!cJSON_IsString(cJSON_GetArrayItem(argv, 0)) || !cJSON_GetArrayItem(argv, 0)->valuestring[0])
        return bad(err, "/argv/0: the program name must not be empty");
    if (match && (!cJSON_IsString(match) || (strcmp(match->valuestring, "exact") != 0
                                             && strcmp(match->valuestring, "prefix") != 0)))
        return bad(err, "/match: must be \"exact\" or \"prefix\"");
    if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) < 1
        || cJSON_GetArraySize(events) > EVENTS_MAX)
        return bad(err, "/events: must be an array of 1 to %d events ending with {\"exit\": N}",
                   EVENTS_MAX);

    d->prefix = match && strcmp(match->valuestring, "prefix") == 0;
    d->argc = (size_t)cJSON_GetArraySize(argv);
    d->argv = xcalloc(d->argc, sizeof(*d->argv));
    i = 0;
    cJSON_ArrayForEach(a, argv)
        d->argv[i++] = xstrdup(a->valuestring);
    n = (size_t)cJSON_GetArraySize(events);
    d->prog.events = xcalloc(n, sizeof(*d->prog.events));
    i = 0;
    cJSON_ArrayForEach(m, events) {
        rc = read_event(m, i, n, &d->prog.events[i], err);
        d->prog.nevents = i + 1;
        if (rc != RC_OK) {
            def_release(d);
            memset(d, 0, sizeof(*d));
            return rc;
        }
        i++;
    }
    return RC_OK;
}

enum rc programs_add(struct programs *p, const cJSON *def, char **id, struct buf *err)
{
    struct def d;
    char buf[32];
    enum rc rc;

    *id = NULL;
    if ((rc = read_def(def, &d, err)) != RC_OK)
        return rc;
    pthread_mutex_lock(&p->lock);
    d.order = p->next++;
    snprintf(buf, sizeof(buf), "prog_%llu", (unsigned long long)d.order);
    d.id = xstrdup(buf);
    d.prog.id = d.id;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->defs = xrealloc(p->defs, p->cap * sizeof(*p->defs));
    }
    p->defs[p->n++] = d;
    pthread_mutex_unlock(&p->lock);
    *id = xstrdup(buf);
    return RC_OK;
}

enum rc programs_delete(struct programs *p, const char *id)
{
    enum rc rc = RC_NOT_FOUND;
    size_t i;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->n; i++) {
        if (strcmp(p->defs[i].id, id) == 0) {
            def_release(&p->defs[i]);
            memmove(&p->defs[i], &p->defs[i + 1], (p->n - i - 1) * sizeof(*p->defs));
            p->n--;
            rc = RC_OK;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static cJSON *def_json(const struct def *d)
{
    cJSON *o = cJSON_CreateObject(), *argv = cJSON_AddArrayToObject(o, "argv");
    cJSON *events;
    size_t i;

    cJSON_AddStringToObject(o, "id", d->id);
    for (i = 0; i < d->argc; i++)
        cJSON_AddItemToArray(argv, cJSON_CreateString(d->argv[i]));
    cJSON_AddStringToObject(o, "match", d->prefix ? "prefix" : "exact");
    events = cJSON_AddArrayToObject(o, "events");
    for (i = 0; i < d->prog.nevents; i++) {
        const struct program_event *e = &d->prog.events[i];
        cJSON *ev = cJSON_CreateObject();

        if (e->fd == 0)
            cJSON_AddNumberToObject(ev, "exit", e->exit_code);
        else
            cJSON_AddStringToObject(ev, e->fd == 1 ? "stdout" : "stderr", e->data);
        cJSON_AddNumberToObject(ev, "after_ms", (double)e->after_ms);
        cJSON_AddItemToArray(events, ev);
    }
    return o;
}

cJSON *programs_list(struct programs *p)
{
    cJSON *list = cJSON_CreateArray();
    size_t i;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->n; i++)
        cJSON_AddItemToArray(list, def_json(&p->defs[i]));
    pthread_mutex_unlock(&p->lock);
    return list;
}

static bool def_matches(const struct def *d, const char *const *argv, size_t argc)
{
    size_t i;

    if (d->prefix ? argc < d->argc : argc != d->argc)
        return false;
    for (i = 0; i < d->argc; i++)
        if (!argv[i] || strcmp(d->argv[i], argv[i]) != 0)
            return false;
    return true;
}

static struct program *program_copy(const struct program *src)
{
    struct program *c = xcalloc(1, sizeof(*c));
    size_t i;

    c->id = xstrdup(src->id);
    c->nevents = src->nevents;
    c->events = xcalloc(src->nevents ? src->nevents : 1, sizeof(*c->events));
    for (i = 0; i < src->nevents; i++) {
        c->events[i] = src->events[i];
        c->events[i].data = src->events[i].data ? xmemdup(src->events[i].data,
                                                          src->events[i].len + 1) : NULL;
    }
    return c;
}

struct program *programs_match(struct programs *p, const char *const *argv, size_t argc)
{
    const struct def *best = NULL;
    struct program *out = NULL;
    size_t i;

    pthread_mutex_lock(&p->lock);
    /* An exact match wins; then the longest prefix; among equals the latest added. */
    for (i = 0; i < p->n; i++) {
        const struct def *d = &p->defs[i];

        if (!def_matches(d, argv, argc))
            continue;
        if (!best || (best->prefix && !d->prefix)
            || (best->prefix == d->prefix && (d->argc > best->argc
                                              || (d->argc == best->argc && d->order > best->order))))
            best = d;
    }
    if (best)
        out = program_copy(&best->prog);
    pthread_mutex_unlock(&p->lock);
    return out;
}

void program_free(struct program *prog)
{
    if (!prog)
        return;
    events_free(prog->events, prog->nevents);
    free(prog->id);
    free(prog);
}
