#include "services.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define DELAY_MS_MAX 3600000
#define READY_AFTER_MS_MAX 3600000
#define READY_AFTER_REQUESTS_MAX 1000000
#define BOX_MAX 128
#define PATH_MAX_LEN 2048

/* The agent server that listens on 8080 in every box: its health check, and what Go's
 * net/http answers for a path that nothing serves. */
#define AGENT_PORT 8080
#define HEALTH_PATH "/health"
#define HEALTH_BODY "{\"status\":\"ok\"}"
#define NOT_FOUND_BODY "404 page not found\n"

/* How many requests one box has made to a definition (for ready_after_requests). */
struct box_count {
    char *box;
    uint64_t n;
};

struct service {
    cJSON *def;                 /* normalised, as listed */
    uint64_t set_ms;            /* hogmock's clock when it was set */
    struct box_count *counts;
    size_t ncounts;
};

struct services {
    pthread_mutex_t lock;
    struct service *v;          /* in the order set */
    size_t n, cap;
};

static void service_release(struct service *sv)
{
    size_t i;

    cJSON_Delete(sv->def);
    for (i = 0; i < sv->ncounts; i++)
        free(sv->counts[i].box);
    free(sv->counts);
    memset(sv, 0, sizeof(*sv));
}

struct services *services_new(void)
{
    struct services *s = xcalloc(1, sizeof(*s));

    pthread_mutex_init(&s->lock, NULL);
    return s;
}

/* Drop every definition; the lock is held. */
static void drop_all(struct services *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        service_release(&s->v[i]);
    s->n = 0;
}

void services_free(struct services *s)
{
    if (!s)
        return;
    drop_all(s);
    free(s->v);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void services_clear(struct services *s)
{
    pthread_mutex_lock(&s->lock);
    drop_all(s);
    pthread_mutex_unlock(&s->lock);
}

cJSON *services_list(struct services *s)
{
    cJSON *list = cJSON_CreateArray();
    size_t i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->n; i++)
        cJSON_AddItemToArray(list, cJSON_Duplicate(s->v[i].def, 1));
    pthread_mutex_unlock(&s->lock);
    return list;
}

/* ---- definitions ------------------------------------------------------------------ */

static bool int_in(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble
           && v->valuedouble >= lo && v->valuedouble <= hi;
}

static bool tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!tchar((unsigned char)*s))
            return false;
    return true;
}

static bool header_value_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

static bool box_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (strcmp(s, "*") == 0)
        return true;
    if (n == 0 || n > BOX_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!tchar((unsigned char)s[i]) || s[i] == '*')
            return false;
    return true;
}

static enum rc invalid(struct buf *err, const char *msg)
{
    buf_addstr(err, msg);
    return RC_INVALID;
}

/* Check def and build its normalised form into *out (new). */
static enum rc normalise(const cJSON *def, cJSON **out, struct buf *err)
{
    static const char *const known[] = {
        "box", "port", "path", "status", "headers", "body", "delay_ms", "echo",
        "ready_after_requests", "ready_after_ms", "starting_status", NULL,
    };
    const cJSON *m, *box, *port, *path, *status, *headers, *body, *delay, *echo, *after_n,
        *after_ms, *starting;
    const char *const *k;
    cJSON *o, *h;

    *out = NULL;
    if (!cJSON_IsObject(def))
        return invalid(err, "a service is an object {box, port, path, status, headers, body, "
                       "delay_ms, echo, ready_after_requests, ready_after_ms, starting_status}");
    cJSON_ArrayForEach(m, def) {
        for (k = known; *k && strcmp(*k, m->string) != 0; k++)
            ;
        if (!*k) {
            buf_addf(err, "/%.64s: unknown member (known: box, port, path, status, headers, "
                     "body, delay_ms, echo, ready_after_requests, ready_after_ms, "
                     "starting_status)", m->string);
            return RC_INVALID;
        }
    }
    box = cJSON_GetObjectItemCaseSensitive(def, "box");
    port = cJSON_GetObjectItemCaseSensitive(def, "port");
    path = cJSON_GetObjectItemCaseSensitive(def, "path");
    status = cJSON_GetObjectItemCaseSensitive(def, "status");
    headers = cJSON_GetObjectItemCaseSensitive(def, "headers");
    body = cJSON_GetObjectItemCaseSensitive(def, "body");
    delay = cJSON_GetObjectItemCaseSensitive(def, "delay_ms");
    echo = cJSON_GetObjectItemCaseSensitive(def, "echo");
    after_n = cJSON_GetObjectItemCaseSensitive(def, "ready_after_requests");
    after_ms = cJSON_GetObjectItemCaseSensitive(def, "ready_after_ms");
    starting = cJSON_GetObjectItemCaseSensitive(def, "starting_status");
    if (!cJSON_IsString(box) || !box_ok(box->valuestring))
        return invalid(err, "/box: must be a hogbox id or \"*\" for every hogbox");
    if (!int_in(port, 1, 65535))
        return invalid(err, "/port: must be an integer from 1 to 65535");
    if (path && (!cJSON_IsString(path) || path->valuestring[0] != '/'
                 || strlen(path->valuestring) > PATH_MAX_LEN || strchr(path->valuestring, '?')))
        return invalid(err, "/path: must be an absolute path prefix without a query ('/api')");
    if (status && !int_in(status, 100, 599))
        return invalid(err, "/status: must be an integer from 100 to 599");
    if (headers) {
        if (!cJSON_IsObject(headers))
            return invalid(err, "/headers: must be an object of header name -> string value");
        cJSON_ArrayForEach(m, headers) {
            if (!header_name_ok(m->string)) {
                buf_addf(err, "/headers: '%.64s' is not a header name", m->string);
                return RC_INVALID;
            }
            if (!cJSON_IsString(m) || !header_value_ok(m->valuestring)) {
                buf_addf(err, "/headers/%.64s: must be a string without control characters",
                         m->string);
                return RC_INVALID;
            }
        }
    }
    if (body && !cJSON_IsString(body))
        return invalid(err, "/body: must be a string");
    if (delay && !int_in(delay, 0, DELAY_MS_MAX))
        return invalid(err, "/delay_ms: must be an integer from 0 to 3600000");
    if (echo && !cJSON_IsBool(echo))
        return invalid(err, "/echo: must be true or false");
    if (cJSON_IsTrue(echo) && body)
        return invalid(err, "/body: an echo service answers with what it received; leave body "
                       "out or set echo to false");
    if (after_n && !int_in(after_n, 0, READY_AFTER_REQUESTS_MAX))
        return invalid(err, "/ready_after_requests: must be an integer from 0 to 1000000");
    if (after_ms && !int_in(after_ms, 0, READY_AFTER_MS_MAX))
        return invalid(err, "/ready_after_ms: must be an integer from 0 to 3600000");
    if (starting && !cJSON_IsNull(starting) && !int_in(starting, 100, 599))
        return invalid(err, "/starting_status: must be an integer from 100 to 599, or null to "
                       "refuse connections while starting");

    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "box", box->valuestring);
    cJSON_AddNumberToObject(o, "port", port->valuedouble);
    cJSON_AddStringToObject(o, "path", path ? path->valuestring : "/");
    cJSON_AddNumberToObject(o, "status", status ? status->valuedouble : 200);
    h = headers ? cJSON_Duplicate(headers, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(o, "headers", h);
    cJSON_AddStringToObject(o, "body", body ? body->valuestring : "");
    cJSON_AddNumberToObject(o, "delay_ms", delay ? delay->valuedouble : 0);
    cJSON_AddBoolToObject(o, "echo", cJSON_IsTrue(echo));
    cJSON_AddNumberToObject(o, "ready_after_requests", after_n ? after_n->valuedouble : 0);
    cJSON_AddNumberToObject(o, "ready_after_ms", after_ms ? after_ms->valuedouble : 0);
    if (starting && cJSON_IsNumber(starting))
        cJSON_AddNumberToObject(o, "starting_status", starting->valuedouble);
    else
        cJSON_AddNullToObject(o, "starting_status");
    *out = o;
    return RC_OK;
}

static const char *sget(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static uint64_t uget(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

enum rc services_set(struct services *s, const cJSON *def, uint64_t now_ms, struct buf *err)
{
    struct service fresh = { NULL, now_ms, NULL, 0 };
    enum rc rc;
    size_t i;

    if ((rc = normalise(def, &fresh.def, err)) != RC_OK)
        return rc;
    pthread_mutex_lock(&s->lock);
    /* The same box, port and path: the new definition replaces the old one in place. */
    for (i = 0; i < s->n; i++) {
        const cJSON *d = s->v[i].def;

        if (strcmp(sget(d, "box"), sget(fresh.def, "box")) == 0
            && uget(d, "port") == uget(fresh.def, "port")
            && strcmp(sget(d, "path"), sget(fresh.def, "path")) == 0)
            break;
    }
    if (i < s->n) {
        service_release(&s->v[i]);
    } else {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        s->n++;
    }
    s->v[i] = fresh;
    pthread_mutex_unlock(&s->lock);
    return RC_OK;
}

/* ---- lookups ---------------------------------------------------------------------- */

/* Does prefix cover path (both without query)? Whole segments only: /api covers /api and
 * /api/x, not /apix. */
static bool covers(const char *prefix, const char *path, size_t plen)
{
    size_t n = strlen(prefix);

    if (n == 1 && prefix[0] == '/')
        return true;
    if (prefix[n - 1] == '/')
        return plen >= n && strncmp(prefix, path, n) == 0;
    return plen >= n && strncmp(prefix, path, n) == 0 && (plen == n || path[n] == '/');
}

/* Count one more request of box to sv, up to limit; the count before it. Lock held. */
static uint64_t count_request(struct service *sv, const char *box, uint64_t limit)
{
    struct box_count *c = NULL;
    uint64_t before;
    size_t i;

    for (i = 0; i < sv->ncounts && !c; i++)
        if (strcmp(sv->counts[i].box, box) == 0)
            c = &sv->counts[i];
    if (!c) {
        sv->counts = xrealloc(sv->counts, (sv->ncounts + 1) * sizeof(*sv->counts));
        c = &sv->counts[sv->ncounts++];
        c->box = xstrdup(box);
        c->n = 0;
    }
    before = c->n;
    if (c->n < limit)
        c->n++;
    return before;
}

/* Is sv ready for box's request at now_ms? Counts the request. Lock held. */
static bool ready(struct service *sv, const char *box, uint64_t now_ms)
{
    uint64_t after_n = uget(sv->def, "ready_after_requests");
    uint64_t after_ms = uget(sv->def, "ready_after_ms");
    bool ok = true;

    if (after_n && count_request(sv, box, after_n) < after_n)
        ok = false;
    if (after_ms && (now_ms < sv->set_ms || now_ms - sv->set_ms < after_ms))
        ok = false;
    return ok;
}

/* A definition of the agent server's own answers (new). */
static cJSON *builtin(const char *box, int port, const char *path, int status,
                      const char *content_type, const char *body)
{
    cJSON *o = cJSON_CreateObject(), *h;

    cJSON_AddStringToObject(o, "box", box);
    cJSON_AddNumberToObject(o, "port", port);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "status", status);
    h = cJSON_AddObjectToObject(o, "headers");
    cJSON_AddStringToObject(h, "Content-Type", content_type);
    if (status == 404)
        cJSON_AddStringToObject(h, "X-Content-Type-Options", "nosniff");
    cJSON_AddStringToObject(o, "body", body);
    cJSON_AddNumberToObject(o, "delay_ms", 0);
    cJSON_AddBoolToObject(o, "echo", false);
    cJSON_AddNumberToObject(o, "ready_after_requests", 0);
    cJSON_AddNumberToObject(o, "ready_after_ms", 0);
    cJSON_AddNullToObject(o, "starting_status");
    return o;
}

enum service_state services_lookup(struct services *s, const char *box, int port,
                                   const char *path, uint64_t now_ms, cJSON **def)
{
    struct service *best = NULL;
    size_t plen, best_len = 0, i;
    bool best_exact = false, port_open = port == AGENT_PORT;
    enum service_state state = SERVICE_CLOSED;

    *def = NULL;
    if (!path || !*path)
        path = "/";
    plen = strcspn(path, "?");
    pthread_mutex_lock(&s->lock);
    /* A definition for this box beats one for every box; then the longest path. */
    for (i = 0; i < s->n; i++) {
        struct service *sv = &s->v[i];
        const char *dbox = sget(sv->def, "box"), *dpath = sget(sv->def, "path");
        bool exact = strcmp(dbox, box) == 0;
        size_t len = strlen(dpath);

        if ((!exact && strcmp(dbox, "*") != 0) || uget(sv->def, "port") != (uint64_t)port)
            continue;
        port_open = true;
        if (!covers(dpath, path, plen))
            continue;
        if (!best || (exact && !best_exact) || (exact == best_exact && len >= best_len)) {
            best = sv;
            best_len = len;
            best_exact = exact;
        }
    }
    if (best) {
        state = ready(best, box, now_ms) ? SERVICE_READY : SERVICE_STARTING;
        *def = cJSON_Duplicate(best->def, 1);
    }
    pthread_mutex_unlock(&s->lock);
    if (best)
        return state;
    /* Like a Go ServeMux pattern without a trailing slash, /health is matched exactly. */
    if (port == AGENT_PORT && plen == strlen(HEALTH_PATH)
        && strncmp(path, HEALTH_PATH, plen) == 0)
        *def = builtin(box, port, HEALTH_PATH, 200, "application/json", HEALTH_BODY);
    else if (port_open)
        *def = builtin(box, port, "/", 404, "text/plain; charset=utf-8", NOT_FOUND_BODY);
    return *def ? SERVICE_READY : SERVICE_CLOSED;
}
