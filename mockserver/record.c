#include "record.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fixtures.h"
#include "log.h"
#include "redact.h"
#include "xmalloc.h"

struct recorder {
    char *dir;
    char *source;               /* where the exchanges come from, for the description */
    pthread_mutex_t lock;
    unsigned long next;         /* the number of the next fixture */
};

/* The highest "NNNN-" prefix among the files in dir, 0 when none. */
static unsigned long last_number(const char *dir)
{
    unsigned long max = 0;
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char *end;
        unsigned long n;

        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        n = strtoul(e->d_name, &end, 10);
        if (*end == '-' && n > max)
            max = n;
    }
    closedir(d);
    return max;
}

enum rc recorder_new(const char *dir, const char *source, struct recorder **out,
                     struct buf *err)
{
    struct recorder *rec;
    struct stat st;

    *out = NULL;
    if (!dir || !*dir) {
        buf_addstr(err, "record mode needs --fixtures DIR, where the exchanges are written");
        return RC_INVALID;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        buf_addf(err, "cannot create the fixtures directory '%s': %s", dir, strerror(errno));
        return RC_IO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
        buf_addf(err, "the fixtures directory '%s' is not a writable directory", dir);
        return RC_IO;
    }
    rec = xcalloc(1, sizeof(*rec));
    rec->dir = xstrdup(dir);
    rec->source = xstrdup(source);
    rec->next = last_number(dir) + 1;
    pthread_mutex_init(&rec->lock, NULL);
    *out = rec;
    return RC_OK;
}

void recorder_free(struct recorder *rec)
{
    if (!rec)
        return;
    pthread_mutex_destroy(&rec->lock);
    free(rec->dir);
    free(rec->source);
    free(rec);
}

/* Headers a fixture does not keep: per-connection, or regenerated when served. */
static bool unkept_header(const char *name)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        "trailer", "content-length", "date", "x-request-id", NULL,
    };
    const char *const *n;

    for (n = names; *n; n++)
        if (strcasecmp(name, *n) == 0)
            return true;
    return false;
}

static const char *find_header(const char *const *h, const char *name)
{
    for (; h && h[0] && h[1]; h += 2)
        if (strcasecmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

static bool media_has(const char *ct, const char *what)
{
    size_t n = ct ? strcspn(ct, ";") : 0;
    size_t w = strlen(what);
    size_t i;

    for (i = 0; i + w <= n; i++)
        if (strncasecmp(ct + i, what, w) == 0)
            return true;
    return false;
}

static bool json_media(const char *ct)
{
    return media_has(ct, "application/json") || media_has(ct, "+json");
}

/* Bodies that are text, where credentials can hide; other bytes are kept as they are. */
static bool text_media(const char *ct)
{
    return ct && (json_media(ct) || strncasecmp(ct, "text/", 5) == 0 || media_has(ct, "xml")
                  || media_has(ct, "application/x-www-form-urlencoded"));
}

static cJSON *query_object(const char *q)
{
    cJSON *o = NULL;

    while (q && *q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        struct buf name = BUF_INIT, value = BUF_INIT, safe = BUF_INIT;

        if (len && buf_add_pct_decoded(&name, q, nlen, true)
            && (!eq || buf_add_pct_decoded(&value, eq + 1, len - nlen - 1, true))) {
            cJSON *old;

            if (!o)
                o = cJSON_CreateObject();
            if (redact_secret_name(buf_cstr(&name)) && value.len)
                redact_header(&safe, "authorization", buf_cstr(&value));
            else
                redact_text(&safe, buf_cstr(&value), value.len);
            old = cJSON_GetObjectItemCaseSensitive(o, buf_cstr(&name));
            /* A repeated parameter (label=a&label=b) is a list of its values. */
            if (!old) {
                cJSON_AddStringToObject(o, buf_cstr(&name), buf_cstr(&safe));
            } else {
                if (cJSON_IsString(old)) {
                    cJSON *list = cJSON_CreateArray();

                    cJSON_AddItemToArray(list, cJSON_CreateString(old->valuestring));
                    cJSON_ReplaceItemInObjectCaseSensitive(o, buf_cstr(&name), list);
                    old = list;
                }
                cJSON_AddItemToArray(old, cJSON_CreateString(buf_cstr(&safe)));
            }
        }
        buf_release(&name);
        buf_release(&value);
        buf_release(&safe);
        q += len;
        if (*q == '&')
            q++;
    }
    return o;
}

static cJSON *response_headers(const char *const *h)
{
    cJSON *o = cJSON_CreateObject();

    for (; h && h[0] && h[1]; h += 2) {
        struct buf v = BUF_INIT;
        cJSON *old;

        if (unkept_header(h[0]))
            continue;
        redact_header(&v, h[0], h[1]);
        old = cJSON_GetObjectItemCaseSensitive(o, h[0]);
        if (old) {
            struct buf joined = BUF_INIT;

            buf_addf(&joined, "%s, %s", old->valuestring, buf_cstr(&v));
            cJSON_SetValuestring(old, buf_cstr(&joined));
            buf_release(&joined);
        } else {
            cJSON_AddStringToObject(o, h[0], buf_cstr(&v));
        }
        buf_release(&v);
    }
    return o;
}

/* A JSON body without tokens; re-printed only when a secret-named member had to change,
 * so the recorded bytes stay the host's own wherever they can. */
static void redact_json_text(struct buf *body)
{
    cJSON *doc = cJSON_ParseWithLength(buf_cstr(body), body->len), *copy;
    char *text;

    if (!doc)
        return;
    copy = cJSON_Duplicate(doc, 1);
    redact_json(copy);
    if (!cJSON_Compare(doc, copy, 1) && (text = cJSON_PrintUnformatted(copy)) != NULL) {
        buf_reset(body);
        buf_addstr(body, text);
        cJSON_free(text);
    }
    cJSON_Delete(copy);
    cJSON_Delete(doc);
}

/* How much of an event stream cut at len is whole events. */
static size_t whole_events(const char *s, size_t len)
{
    size_t i;

    for (i = len; i >= 2; i--)
        if (s[i - 1] == '\n' && (s[i - 2] == '\n' || (i >= 4 && s[i - 2] == '\r'
                                                      && s[i - 3] == '\n')))
            return i;
    return 0;
}

void recorder_save(struct recorder *rec, const struct record_input *in)
{
    const char *ct = find_header(in->resp_headers, "content-type");
    struct fixture f = { 0 };
    struct buf name = BUF_INIT, path = BUF_INIT, body = BUF_INIT, err = BUF_INIT;
    size_t len = in->resp_len;
    unsigned long n;

    if (!in->op)
        return;
    if (in->resp_cut) {
        if (!media_has(ct, "text/event-stream")) {
            log_warn("record: %s %s: the answer of more than %u bytes is not recorded",
                     in->method, in->op, RECORD_BODY_MAX);
            return;
        }
        len = whole_events(in->resp_body, len);
    }
    pthread_mutex_lock(&rec->lock);
    n = rec->next++;
    pthread_mutex_unlock(&rec->lock);
    buf_addf(&name, "%04lu-%s", n, in->op);
    redact_text(&path, in->path, strlen(in->path));
    f.name = buf_detach(&name, NULL);
    buf_addf(&name, "recorded from %s", rec->source);
    f.description = buf_detach(&name, NULL);
    f.operation = xstrdup(in->op);
    f.method = xstrdup(in->method);
    f.path = buf_detach(&path, NULL);
    f.query = query_object(in->query);
    if (in->req_body && in->req_len && json_media(in->req_content_type)) {
        f.body = cJSON_ParseWithLength(in->req_body, in->req_len);
        if (f.body)
            redact_json(f.body);
    }
    f.status = in->status;
    f.resp_headers = response_headers(in->resp_headers);
    if (len) {
        if (text_media(ct)) {
            redact_text(&body, in->resp_body, len);
            if (json_media(ct))
                redact_json_text(&body);
        } else {
            buf_add(&body, in->resp_body, len);
        }
        f.resp_body = buf_detach(&body, &f.resp_len);
    }
    if (fixture_save(rec->dir, &f, &err) != RC_OK)
        log_warn("record: %s", buf_cstr(&err));
    fixture_release(&f);
    buf_release(&err);
}
