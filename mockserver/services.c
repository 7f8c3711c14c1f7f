#include "services.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define DELAY_MS_MAX 3600000
#define BOX_MAX 128
#define PATH_MAX_LEN 2048

/* The agent-server health check that every box answers until told otherwise. */
#define DEFAULT_PORT 8080
#define DEFAULT_PATH "/health"
#define DEFAULT_BODY "{\"status\":\"ok\"}"

struct services {
    pthread_mutex_t lock;
    cJSON *defs;    /* array of normalised definitions, in the order set */
};

struct services *services_new(void)
{
    struct services *s = xcalloc(1, sizeof(*s));

    pthread_mutex_init(&s->lock, NULL);
    s->defs = cJSON_CreateArray();
    return s;
}

void services_free(struct services *s)
{
    if (!s)
        return;
    cJSON_Delete(s->defs);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void services_clear(struct services *s)
{
    pthread_mutex_lock(&s->lock);
    cJSON_Delete(s->defs);
    s->defs = cJSON_CreateArray();
    pthread_mutex_unlock(&s->lock);
}

cJSON *services_list(struct services *s)
{
    cJSON *copy;

    pthread_mutex_lock(&s->lock);
    copy = cJSON_Duplicate(s->defs, 1);
    pthread_mutex_unlock(&s->lock);
    return copy;
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
        "box", "port", "path", "status", "headers", "body", "delay_ms", NULL,
    };
    const cJSON *m, *box, *port, *path, *status, *headers, *body, *delay;
    const char *const *k;
    cJSON *o, *h;

    *out = NULL;
    if (!cJSON_IsObject(def))
        return invalid(err, "a service is an object {box, port, path, status, headers, body, "
                       "delay_ms}");
    cJSON_ArrayForEach(m, def) {
        for (k = known; *k && strcmp(*k, m->string) != 0; k++)
            ;
        if (!*k) {
            buf_addf(err, "/%.64s: unknown member (known: box, port, path, status, headers, "
                     "body, delay_ms)", m->string);
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

    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "box", box->valuestring);
    cJSON_AddNumberToObject(o, "port", port->valuedouble);
    cJSON_AddStringToObject(o, "path", path ? path->valuestring : "/");
    cJSON_AddNumberToObject(o, "status", status ? status->valuedouble : 200);
    h = headers ? cJSON_Duplicate(headers, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(o, "headers", h);
    cJSON_AddStringToObject(o, "body", body ? body->valuestring : "");
    cJSON_AddNumberToObject(o, "delay_ms", delay ? delay->valuedouble : 0);
    *out = o;
    return RC_OK;
}

static const char *sget(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static int iget(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valueint : 0;
}

enum rc services_set(struct services *s, const cJSON *def, struct buf *err)
{
    cJSON *o, *d;
    enum rc rc;
    int i = 0;

    if ((rc = normalise(def, &o, err)) != RC_OK)
        return rc;
    pthread_mutex_lock(&s->lock);
    /* The same box, port and path: the new definition replaces the old one. */
    cJSON_ArrayForEach(d, s->defs) {
        if (strcmp(sget(d, "box"), sget(o, "box")) == 0 && iget(d, "port") == iget(o, "port")
            && strcmp(sget(d, "path"), sget(o, "path")) == 0)
            break;
        i++;
    }
    if (d)
        cJSON_ReplaceItemInArray(s->defs, i, o);
    else
        cJSON_AddItemToArray(s->defs, o);
    pthread_mutex_unlock(&s->lock);
    return RC_OK;
}

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

cJSON *services_lookup(struct services *s, const char *box, int port, const char *path)
{
    const cJSON *d, *best = NULL;
    size_t plen = strcspn(path ? path : "/", "?"), best_len = 0;
    bool best_exact = false;
    cJSON *out = NULL;

    if (!path || !*path)
        path = "/";
    pthread_mutex_lock(&s->lock);
    /* A definition for this box beats one for every box; then the longest path. */
    cJSON_ArrayForEach(d, s->defs) {
        const char *dbox = sget(d, "box"), *dpath = sget(d, "path");
        bool exact = strcmp(dbox, box) == 0;
        size_t len = strlen(dpath);

        if ((!exact && strcmp(dbox, "*") != 0) || iget(d, "port") != port
            || !covers(dpath, path, plen))
            continue;
        if (!best || (exact && !best_exact) || (exact == best_exact && len >= best_len)) {
            best = d;
            best_len = len;
            best_exact = exact;
        }
    }
    if (best)
        out = cJSON_Duplicate(best, 1);
    pthread_mutex_unlock(&s->lock);
    if (!out && port == DEFAULT_PORT && covers(DEFAULT_PATH, path, plen)) {
        cJSON *h;

        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "box", box);
        cJSON_AddNumberToObject(out, "port", DEFAULT_PORT);
        cJSON_AddStringToObject(out, "path", DEFAULT_PATH);
        cJSON_AddNumberToObject(out, "status", 200);
        h = cJSON_AddObjectToObject(out, "headers");
        cJSON_AddStringToObject(h, "Content-Type", "application/json");
        cJSON_AddStringToObject(out, "body", DEFAULT_BODY);
        cJSON_AddNumberToObject(out, "delay_ms", 0);
    }
    return out;
}
