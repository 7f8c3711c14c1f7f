#include "fixtures.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "jsonptr.h"
#include "xmalloc.h"
#include "yamlemit.h"
#include "yamljson.h"

#define NAME_MAX_LEN 200
/* Differences a near-miss message lists before "and N more". */
#define DIFFS_SHOWN 6
/* How much of a value a message quotes. */
#define QUOTE_MAX 60

struct fixture_set {
    struct fixture *items;
    size_t count;
};

void fixture_release(struct fixture *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->operation);
    free(f->method);
    free(f->path);
    cJSON_Delete(f->query);
    cJSON_Delete(f->headers);
    cJSON_Delete(f->body);
    cJSON_Delete(f->resp_headers);
    free(f->resp_body);
    free(f->description);
    memset(f, 0, sizeof(*f));
}

bool fixture_name_ok(const char *name)
{
    size_t i;

    if (!name || !name[0] || name[0] == '.')
        return false;
    for (i = 0; name[i]; i++)
        if (i >= NAME_MAX_LEN
            || !(isalnum((unsigned char)name[i]) || strchr("._-", name[i])))
            return false;
    return true;
}

/* ---- helpers ---------------------------------------------------------------------- */

static bool json_media(const char *ct)
{
    size_t len;

    if (!ct)
        return false;
    len = strcspn(ct, ";");
    while (len && ct[len - 1] == ' ')
        len--;
    return (len == 16 && strncasecmp(ct, "application/json", 16) == 0)
           || (len > 5 && strncasecmp(ct + len - 5, "+json", 5) == 0);
}

/* Whether len bytes of s are UTF-8 text without NUL. */
static bool utf8_text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i], v, n, k;

        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!n || len - i < n)
            return false;
        v = c & (0xff >> (n + 1));
        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            v = (v << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff))
            || (v >= 0xd800 && v <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

/* The whole of len bytes as one JSON value (new), or NULL. */
static cJSON *parse_json(const char *s, size_t len)
{
    const char *end = NULL;
    cJSON *v;

    if (!s || !len)
        return NULL;
    v = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!v)
        return NULL;
    while (end < s + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != s + len) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* A header's value in an object of headers, by name in any case; NULL when absent. */
static const char *header_in(const cJSON *headers, const char *name)
{
    const cJSON *h;

    cJSON_ArrayForEach(h, headers)
        if (h->string && strcasecmp(h->string, name) == 0 && cJSON_IsString(h))
            return h->valuestring;
    return NULL;
}

/* Compact JSON of v for a message, cut at QUOTE_MAX characters. */
static void add_quote(struct buf *b, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    size_t len = strlen(text);

    if (len > QUOTE_MAX)
        buf_addf(b, "%.*s...", QUOTE_MAX, text);
    else
        buf_addstr(b, text);
    cJSON_free(text);
}

/* ---- reading ---------------------------------------------------------------------- */

/* Refuse members of obj not in known: "/ptr/member: unknown member (known: ...)". */
static bool known_members(const cJSON *obj, const char *const *known, const char *ptr,
                          struct buf *err)
{
    const cJSON *m;
    size_t i;

    cJSON_ArrayForEach(m, obj) {
        for (i = 0; known[i] && strcmp(known[i], m->string) != 0; i++)
            ;
        if (known[i])
            continue;
        buf_addf(err, "%s/%s: unknown member (known: ", ptr, m->string);
        for (i = 0; known[i]; i++)
            buf_addf(err, "%s%s", i ? ", " : "", known[i]);
        buf_addch(err, ')');
        return false;
    }
    return true;
}

/* A scalar as text: strings as they are, numbers and booleans as JSON writes them. */
static char *scalar_text(const cJSON *v)
{
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    if (cJSON_IsNumber(v) || cJSON_IsBool(v)) {
        char *text = cJSON_PrintUnformatted(v), *copy = xstrdup(text);

        cJSON_free(text);
        return copy;
    }
    return NULL;
}

/* An object of name -> text (or, with lists, a list of texts), normalised to strings;
 * lower names lower-cases them and refuses a name given twice. NULL with a message. */
static cJSON *string_map(const cJSON *v, const char *ptr, bool lists, bool lower_names,
                         struct buf *err)
{
    cJSON *out;
    const cJSON *m;

    if (!cJSON_IsObject(v)) {
        buf_addf(err, "%s: must be a mapping of names to %s", ptr,
                 lists ? "strings or lists of strings" : "strings");
        return NULL;
    }
    out = cJSON_CreateObject();
    cJSON_ArrayForEach(m, v) {
        char *name = xstrdup(m->string), *c, *text;
        cJSON *item = NULL;

        if (lower_names)
            for (c = name; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        if (!name[0] || cJSON_GetObjectItemCaseSensitive(out, name)) {
            buf_addf(err, "%s/%s: %s", ptr, m->string,
                     name[0] ? "given twice (names are compared in any case)" : "an empty name");
            free(name);
            cJSON_Delete(out);
            return NULL;
        }
        if (lists && cJSON_IsArray(m) && m->child) {
            const cJSON *it;

            item = cJSON_CreateArray();
            cJSON_ArrayForEach(it, m) {
                if (!(text = scalar_text(it))) {
                    cJSON_Delete(item);
                    item = NULL;
                    break;
                }
                cJSON_AddItemToArray(item, cJSON_CreateString(text));
                free(text);
            }
        } else if ((text = scalar_text(m)) != NULL) {
            item = cJSON_CreateString(text);
            free(text);
        }
        if (!item) {
            buf_addf(err, "%s/%s: must be a string%s", ptr, m->string,
                     lists ? " or a non-empty list of strings" : "");
            free(name);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(out, name, item);
        free(name);
    }
    return out;
}

static bool read_request(const cJSON *req, struct fixture *f, struct buf *err)
{
    static const char *const known[] = { "method", "path", "query", "headers", "body", NULL };
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(req, "method");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(req, "path");
    const cJSON *v;
    char *c;

    if (!cJSON_IsObject(req)) {
        buf_addstr(err, "/request: must be a mapping with method and path");
        return false;
    }
    if (!known_members(req, known, "/request", err))
        return false;
    if (!cJSON_IsString(method) || !method->valuestring[0] || strlen(method->valuestring) > 16
        || strspn(method->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
               != strlen(method->valuestring)) {
        buf_addstr(err, "/request/method: must be an HTTP method such as GET");
        return false;
    }
    if (!cJSON_IsString(path) || path->valuestring[0] != '/' || strchr(path->valuestring, '?')
        || strpbrk(path->valuestring, " \t\r\n")) {
        buf_addstr(err, "/request/path: must be a path starting with / (the query goes in "
                        "query)");
        return false;
    }
    f->method = xstrdup(method->valuestring);
    for (c = f->method; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    f->path = xstrdup(path->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "query")) && !cJSON_IsNull(v)
        && !(f->query = string_map(v, "/request/query", true, false, err)))
        return false;
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "headers")) && !cJSON_IsNull(v)
        && !(f->headers = string_map(v, "/request/headers", false, true, err)))
        return false;
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "body")) && !cJSON_IsNull(v))
        f->body = cJSON_Duplicate(v, 1);
    return true;
}

static bool read_response(const cJSON *resp, struct fixture *f, struct buf *err)
{
    static const char *const known[] = {
        "status", "headers", "body", "body_text", "body_base64", NULL,
    };
    static const char *const forms[] = { "body", "body_text", "body_base64" };
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(resp, "status");
    const cJSON *v, *form = NULL;
    size_t i;

    if (!cJSON_IsObject(resp)) {
        buf_addstr(err, "/response: must be a mapping with status");
        return false;
    }
    if (!known_members(resp, known, "/response", err))
        return false;
    if (!cJSON_IsNumber(status) || status->valuedouble != (double)(int)status->valuedouble
        || status->valueint < 100 || status->valueint > 599) {
        buf_addstr(err, "/response/status: must be an integer from 100 to 599");
        return false;
    }
    f->status = status->valueint;
    if ((v = cJSON_GetObjectItemCaseSensitive(resp, "headers")) && !cJSON_IsNull(v)
        && !(f->resp_headers = string_map(v, "/response/headers", false, false, err)))
        return false;
    for (i = 0; i < 3; i++) {
        v = cJSON_GetObjectItemCaseSensitive(resp, forms[i]);
        if (!v)
            continue;
        if (form) {
            buf_addf(err, "/response/%s: give one of body, body_text and body_base64, not "
                          "both %s and %s", forms[i], form->string, forms[i]);
            return false;
        }
        form = v;
    }
    if (!form)
        return true;
    if (strcmp(form->string, "body") == 0) {
        f->resp_body = cJSON_PrintUnformatted(form);
        f->resp_len = strlen(f->resp_body);
    } else if (!cJSON_IsString(form)) {
        buf_addf(err, "/response/%s: must be a string", form->string);
        return false;
    } else if (strcmp(form->string, "body_text") == 0) {
        f->resp_len = strlen(form->valuestring);
        f->resp_body = xstrdup(form->valuestring);
    } else {
        struct buf compact = BUF_INIT, bytes = BUF_INIT;
        const char *s;

        /* Line breaks and blanks are allowed, so long bodies can be wrapped. */
        for (s = form->valuestring; *s; s++)
            if (!isspace((unsigned char)*s))
                buf_addch(&compact, *s);
        if (base64_decode(buf_cstr(&compact), compact.len, &bytes) != RC_OK) {
            buf_release(&compact);
            buf_addstr(err, "/response/body_base64: is not base64 (RFC 4648, padded)");
            return false;
        }
        buf_release(&compact);
        f->resp_body = buf_detach(&bytes, &f->resp_len);
    }
    return true;
}

enum rc fixture_from_json(const cJSON *doc, const char *stem, struct fixture *f,
                          struct buf *err)
{
    static const char *const known[] = {
        "name", "description", "operation", "request", "response", NULL,
    };
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(doc, "description");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(doc, "operation");

    memset(f, 0, sizeof(*f));
    if (!cJSON_IsObject(doc)) {
        buf_addstr(err, "a fixture must be a mapping with operation, request and response");
        return RC_INVALID;
    }
    if (!known_members(doc, known, "", err))
        goto fail;
    if (name && (!cJSON_IsString(name) || !fixture_name_ok(name->valuestring))) {
        buf_addstr(err, "/name: must be 1 to 200 of A-Z a-z 0-9 . _ -, not starting with a dot");
        goto fail;
    }
    if (name && stem && strcmp(name->valuestring, stem) != 0) {
        buf_addf(err, "/name: '%s' is not the file's name '%s' (a fixture is named after its "
                      "file)", name->valuestring, stem);
        goto fail;
    }
    if (!name && !fixture_name_ok(stem)) {
        buf_addstr(err, "/name: missing, and the file name cannot be a fixture's name");
        goto fail;
    }
    f->name = xstrdup(name ? name->valuestring : stem);
    if (desc && !cJSON_IsNull(desc)) {
        if (!cJSON_IsString(desc)) {
            buf_addstr(err, "/description: must be a string");
            goto fail;
        }
        f->description = xstrdup(desc->valuestring);
    }
    if (!cJSON_IsString(op) || !op->valuestring[0]) {
        buf_addstr(err, "/operation: must be the operation's name (operationId or "
                        "x-hog-operation)");
        goto fail;
    }
    f->operation = xstrdup(op->valuestring);
    if (!cJSON_GetObjectItemCaseSensitive(doc, "request")) {
        buf_addstr(err, "/request: missing (method and path at least)");
        goto fail;
    }
    if (!read_request(cJSON_GetObjectItemCaseSensitive(doc, "request"), f, err))
        goto fail;
    if (!cJSON_GetObjectItemCaseSensitive(doc, "response")) {
        buf_addstr(err, "/response: missing (status at least)");
        goto fail;
    }
    if (!read_response(cJSON_GetObjectItemCaseSensitive(doc, "response"), f, err))
        goto fail;
    return RC_OK;
fail:
    fixture_release(f);
    return RC_INVALID;
}

/* ---- writing ---------------------------------------------------------------------- */

void fixture_to_yaml(const struct fixture *f, struct buf *out)
{
    cJSON *doc = cJSON_CreateObject(), *req, *resp;
    const char *ctype = header_in(f->resp_headers, "Content-Type");
    cJSON *json = NULL;

    cJSON_AddStringToObject(doc, "name", f->name ? f->name : "");
    if (f->description)
        cJSON_AddStringToObject(doc, "description", f->description);
    cJSON_AddStringToObject(doc, "operation", f->operation ? f->operation : "");
    req = cJSON_AddObjectToObject(doc, "request");
    cJSON_AddStringToObject(req, "method", f->method ? f->method : "GET");
    cJSON_AddStringToObject(req, "path", f->path ? f->path : "/");
    if (f->query)
        cJSON_AddItemToObject(req, "query", cJSON_Duplicate(f->query, 1));
    if (f->headers)
        cJSON_AddItemToObject(req, "headers", cJSON_Duplicate(f->headers, 1));
    if (f->body)
        cJSON_AddItemToObject(req, "body", cJSON_Duplicate(f->body, 1));
    resp = cJSON_AddObjectToObject(doc, "response");
    cJSON_AddNumberToObject(resp, "status", f->status);
    if (f->resp_headers)
        cJSON_AddItemToObject(resp, "headers", cJSON_Duplicate(f->resp_headers, 1));
    if (f->resp_body) {
        /* JSON as YAML when the body is JSON, else text when it is text, else base64. */
        if (json_media(ctype) && (json = parse_json(f->resp_body, f->resp_len)) != NULL) {
            cJSON_AddItemToObject(resp, "body", json);
        } else if (utf8_text(f->resp_body, f->resp_len)) {
            char *text = xstrndup(f->resp_body, f->resp_len);

            cJSON_AddStringToObject(resp, "body_text", text);
            free(text);
        } else {
            struct buf b64 = BUF_INIT;

            base64_encode(&b64, f->resp_body, f->resp_len);
            cJSON_AddStringToObject(resp, "body_base64", buf_cstr(&b64));
            buf_release(&b64);
        }
    }
    {
        struct buf text = BUF_INIT;

        yamlemit_doc(&text, doc);
        /* JSON (a document with very long keys) takes no comment. */
        if (text.data[0] != '{')
            buf_addstr(out, "# hogmock fixture: the format is in fixtures/README.md\n");
        buf_add(out, text.data, text.len);
        buf_release(&text);
    }
    cJSON_Delete(doc);
}

/* mkdir -p. */
static int make_dirs(const char *dir)
{
    char *copy = xstrdup(dir), *p;
    int ret = 0;

    for (p = copy + 1; *p && ret == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST)
            ret = -1;
        *p = '/';
    }
    if (ret == 0 && mkdir(copy, 0777) != 0 && errno != EEXIST)
        ret = -1;
    free(copy);
    return ret;
}

enum rc fixture_save(const char *dir, const struct fixture *f, struct buf *err)
{
    static atomic_uint counter;
    struct buf path = BUF_INIT, tmp = BUF_INIT, text = BUF_INIT;
    enum rc rc = RC_IO;
    FILE *out;
    bool ok;

    if (!fixture_name_ok(f->name)) {
        buf_addf(err, "cannot save a fixture named '%s': a name is 1 to 200 of A-Z a-z 0-9 . _ -,"
                      " not starting with a dot", f->name ? f->name : "");
        return RC_INVALID;
    }
    buf_addf(&path, "%s/%s.yaml", dir, f->name);
    if (make_dirs(dir) != 0) {
        buf_addf(err, "cannot create the directory '%s': %s", dir, strerror(errno));
        goto out;
    }
    fixture_to_yaml(f, &text);
    /* Written aside and renamed: a reader sees the old file or the new one, whole. */
    buf_addf(&tmp, "%s/.%s.yaml.%ld.%u.tmp", dir, f->name, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    out = fopen(buf_cstr(&tmp), "w");
    if (!out) {
        buf_addf(err, "cannot write '%s': %s", buf_cstr(&path), strerror(errno));
        goto out;
    }
    ok = fwrite(text.data, 1, text.len, out) == text.len;
    ok = fclose(out) == 0 && ok;
    if (!ok || rename(buf_cstr(&tmp), buf_cstr(&path)) != 0) {
        buf_addf(err, "cannot write '%s': %s", buf_cstr(&path), strerror(errno));
        unlink(buf_cstr(&tmp));
        goto out;
    }
    rc = RC_OK;
out:
    buf_release(&path);
    buf_release(&tmp);
    buf_release(&text);
    return rc;
}

/* ---- the set ---------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct fixture *)a)->name, ((const struct fixture *)b)->name);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool fixture_file(const char *name)
{
    return name[0] != '.' && (str_endswith(name, ".yaml") || str_endswith(name, ".yml")
                              || str_endswith(name, ".json"));
}

enum rc fixture_set_load(const char *dir, struct fixture_set **out, struct buf *err)
{
    struct fixture_set *set = xcalloc(1, sizeof(*set));
    char **files = NULL;
    size_t nfiles = 0, i;
    struct dirent *de;
    enum rc rc = RC_OK;
    DIR *d;

    *out = NULL;
    d = opendir(dir);
    if (!d) {
        buf_addf(err, "cannot read the fixtures directory '%s': %s", dir, strerror(errno));
        free(set);
        return RC_IO;
    }
    while ((de = readdir(d)) != NULL) {
        if (!fixture_file(de->d_name))
            continue;
        files = xrealloc(files, (nfiles + 1) * sizeof(*files));
        files[nfiles++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (nfiles)
        qsort(files, nfiles, sizeof(*files), by_string);
    set->items = xcalloc(nfiles ? nfiles : 1, sizeof(*set->items));
    for (i = 0; i < nfiles && rc == RC_OK; i++) {
        struct buf path = BUF_INIT, why = BUF_INIT;
        char *stem = xstrndup(files[i], strrchr(files[i], '.') - files[i]);
        cJSON *doc = NULL;

        buf_addf(&path, "%s/%s", dir, files[i]);
        rc = yamljson_load_file(buf_cstr(&path), &doc, err);
        if (rc == RC_OK) {
            rc = fixture_from_json(doc, stem, &set->items[set->count], &why);
            if (rc == RC_OK)
                set->count++;
            else
                buf_addf(err, "%s: %s", buf_cstr(&path), buf_cstr(&why));
        }
        cJSON_Delete(doc);
        buf_release(&path);
        buf_release(&why);
        free(stem);
    }
    for (i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    if (rc == RC_OK && set->count > 1) {
        qsort(set->items, set->count, sizeof(*set->items), by_name);
        for (i = 1; i < set->count && rc == RC_OK; i++) {
            if (strcmp(set->items[i - 1].name, set->items[i].name) == 0) {
                buf_addf(err, "%s: two files hold the fixture '%s' (.yaml, .yml or .json)", dir,
                         set->items[i].name);
                rc = RC_INVALID;
            }
        }
    }
    if (rc != RC_OK) {
        fixture_set_free(set);
        return rc;
    }
    *out = set;
    return RC_OK;
}

void fixture_set_free(struct fixture_set *set)
{
    size_t i;

    if (!set)
        return;
    for (i = 0; i < set->count; i++)
        fixture_release(&set->items[i]);
    free(set->items);
    free(set);
}

size_t fixture_set_count(const struct fixture_set *set)
{
    return set ? set->count : 0;
}

const struct fixture *fixture_set_at(const struct fixture_set *set, size_t i)
{
    return set && i < set->count ? &set->items[i] : NULL;
}

/* ---- matching --------------------------------------------------------------------- */

/* The request, taken apart once for every fixture. */
struct parsed {
    const struct fixture_request *rq;
    char *path;                 /* percent-decoded */
    cJSON *query;               /* [[name, value], ...], decoded */
    cJSON *json;                /* the body as JSON when its type says JSON and it parses */
};

/* What differs between a fixture and the request. */
struct diffs {
    size_t count;
    struct buf text;
};

static void diff(struct diffs *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void diff(struct diffs *d, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (d->count++ >= DIFFS_SHOWN)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (d->text.len)
        buf_addstr(&d->text, "; ");
    buf_addstr(&d->text, line);
}

static char *decoded(const char *s, size_t len, bool plus_is_space)
{
    struct buf b = BUF_INIT;

    if (!buf_add_pct_decoded(&b, s, len, plus_is_space)) {
        buf_reset(&b);
        buf_add(&b, s, len);
    }
    return buf_detach(&b, NULL);
}

static void parse_request(const struct fixture_request *rq, struct parsed *p)
{
    const char *q = rq->query ? rq->query : "";

    p->rq = rq;
    p->path = decoded(rq->path, strlen(rq->path), false);
    p->query = cJSON_CreateArray();
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        cJSON *pair = cJSON_CreateArray();
        char *name = decoded(q, nlen, true);
        char *value = eq ? decoded(eq + 1, len - nlen - 1, true) : xstrdup("");

        if (len) {
            cJSON_AddItemToArray(pair, cJSON_CreateString(name));
            cJSON_AddItemToArray(pair, cJSON_CreateString(value));
            cJSON_AddItemToArray(p->query, pair);
        } else {
            cJSON_Delete(pair);
        }
        free(name);
        free(value);
        q += len;
        if (*q == '&')
            q++;
    }
    p->json = json_media(rq->content_type) ? parse_json(rq->body, rq->body_len) : NULL;
}

static void parsed_release(struct parsed *p)
{
    free(p->path);
    cJSON_Delete(p->query);
    cJSON_Delete(p->json);
}

/* The request's values of query parameter name, joined with commas into out; false when
 * it has none. */
static bool query_values(const struct parsed *p, const char *name, const char *want,
                         bool *has_want, struct buf *out)
{
    const cJSON *pair;
    bool any = false;

    *has_want = false;
    cJSON_ArrayForEach(pair, p->query) {
        const char *n = cJSON_GetArrayItem(pair, 0)->valuestring;
        const char *v = cJSON_GetArrayItem(pair, 1)->valuestring;

        if (strcmp(n, name) != 0)
            continue;
        if (strcmp(v, want) == 0)
            *has_want = true;
        if (any)
            buf_addch(out, ',');
        buf_addstr(out, v);
        any = true;
    }
    return any;
}

static void compare_query(const struct fixture *f, const struct parsed *p, struct diffs *d,
                          size_t *score)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, f->query) {
        const cJSON *it;

        for (it = cJSON_IsArray(m) ? m->child : m; it; it = cJSON_IsArray(m) ? it->next : NULL) {
            struct buf got = BUF_INIT;
            bool has;

            if (!query_values(p, m->string, it->valuestring, &has, &got))
                diff(d, "query has no %s, fixture has %s=%s", m->string, m->string,
                     it->valuestring);
            else if (!has)
                diff(d, "query %s=%s, fixture has %s=%s", m->string, buf_cstr(&got), m->string,
                     it->valuestring);
            else
                (*score)++;
            buf_release(&got);
        }
    }
}

static void compare_headers(const struct fixture *f, const struct parsed *p, struct diffs *d,
                            size_t *score)
{
    const cJSON *m;

    cJSON_ArrayForEach(m, f->headers) {
        const char *got = header_in(p->rq->headers, m->string);

        if (!got)
            diff(d, "no header %s, fixture has '%s'", m->string, m->valuestring);
        else if (strcmp(got, m->valuestring) != 0)
            diff(d, "header %s '%s', fixture has '%s'", m->string, got, m->valuestring);
        else
            (*score)++;
    }
}

static const char *kind_of(const cJSON *v)
{
    return cJSON_IsObject(v) ? "an object" : cJSON_IsArray(v) ? "an array"
         : cJSON_IsString(v) ? "a string" : cJSON_IsNumber(v) ? "a number"
         : cJSON_IsBool(v) ? "a boolean" : "null";
}

/* want (the fixture's) against got (the request's) at pointer ptr: objects as subsets,
 * arrays item by item, scalars equal. */
static void compare_json(const cJSON *want, const cJSON *got, struct buf *ptr,
                         struct diffs *d, size_t *score)
{
    const char *at = ptr->len ? buf_cstr(ptr) : "";
    const char *sp = ptr->len ? " " : "";

    if (cJSON_IsObject(want) && cJSON_IsObject(got)) {
        const cJSON *m;

        cJSON_ArrayForEach(m, want) {
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, m->string);
            size_t mark = ptr->len;

            jsonptr_append(ptr, m->string);
            if (!g) {
                struct buf q = BUF_INIT;

                add_quote(&q, m);
                diff(d, "body has no %s, fixture has %s", buf_cstr(ptr), buf_cstr(&q));
                buf_release(&q);
            } else {
                compare_json(m, g, ptr, d, score);
            }
            buf_truncate(ptr, mark);
        }
        return;
    }
    if (cJSON_IsArray(want) && cJSON_IsArray(got)) {
        int n = cJSON_GetArraySize(want), k = cJSON_GetArraySize(got), i;

        if (n != k) {
            diff(d, "body%s%s has %d items, fixture has %d", sp, at, k, n);
            return;
        }
        for (i = 0; i < n; i++) {
            size_t mark = ptr->len;

            jsonptr_append_index(ptr, (size_t)i);
            compare_json(cJSON_GetArrayItem(want, i), cJSON_GetArrayItem(got, i), ptr, d, score);
            buf_truncate(ptr, mark);
        }
        return;
    }
    if (cJSON_Compare(want, got, 1) && !cJSON_IsObject(want) && !cJSON_IsArray(want)) {
        (*score)++;
        return;
    }
    if (strcmp(kind_of(want), kind_of(got)) != 0) {
        diff(d, "body%s%s is %s, fixture has %s", sp, at, kind_of(got), kind_of(want));
    } else {
        struct buf g = BUF_INIT, w = BUF_INIT;

        add_quote(&g, got);
        add_quote(&w, want);
        diff(d, "body%s%s is %s, fixture has %s", sp, at, buf_cstr(&g), buf_cstr(&w));
        buf_release(&g);
        buf_release(&w);
    }
}

static void compare_body(const struct fixture *f, const struct parsed *p, struct diffs *d,
                         size_t *score)
{
    const struct fixture_request *rq = p->rq;
    struct buf ptr = BUF_INIT;

    if (!f->body)
        return;
    /* A body condition counts one more than its values: {} is more specific than none. */
    (*score)++;
    if (!rq->body || !rq->body_len) {
        diff(d, "no body, fixture has one");
        return;
    }
    if (p->json) {
        compare_json(f->body, p->json, &ptr, d, score);
        buf_release(&ptr);
        return;
    }
    /* Not JSON: a string fixture body is the text itself. */
    if (!cJSON_IsString(f->body))
        diff(d, "the body is not JSON (Content-Type %s), fixture has JSON",
             rq->content_type ? rq->content_type : "none");
    else if (strlen(f->body->valuestring) != rq->body_len
             || memcmp(f->body->valuestring, rq->body, rq->body_len) != 0)
        diff(d, "the body's %zu bytes are not the fixture's text of %zu", rq->body_len,
             strlen(f->body->valuestring));
}

static bool same_operation(const struct fixture *f, const struct fixture_request *rq)
{
    return strcmp(f->operation, rq->operation) == 0
           || (rq->operation_id && strcmp(f->operation, rq->operation_id) == 0);
}

/* Every difference between f and the request into d; *score gets how many of f's
 * conditions hold (its specificity when d->count is 0). */
static void compare(const struct fixture *f, const struct parsed *p, struct diffs *d,
                    size_t *score)
{
    const struct fixture_request *rq = p->rq;
    char *fpath;

    *score = 0;
    if (!same_operation(f, rq))
        diff(d, "operation %s, fixture has %s", rq->operation, f->operation);
    if (strcasecmp(f->method, rq->method) != 0)
        diff(d, "method %s, fixture has %s", rq->method, f->method);
    fpath = decoded(f->path, strlen(f->path), false);
    if (strcmp(fpath, p->path) != 0)
        diff(d, "path %s, fixture has %s", rq->path, f->path);
    free(fpath);
    compare_query(f, p, d, score);
    compare_headers(f, p, d, score);
    compare_body(f, p, d, score);
}

const struct fixture *fixture_set_match(const struct fixture_set *set,
                                        const struct fixture_request *rq, struct buf *why)
{
    const struct fixture *best = NULL, *near = NULL;
    size_t best_score = 0, near_count = 0, i;
    bool near_same_op = false, near_same_method = false;
    struct parsed p;

    if (!set || !set->count) {
        if (why)
            buf_addstr(why, "no fixtures are loaded");
        return NULL;
    }
    parse_request(rq, &p);
    /* In name order, so a tie keeps the first name. */
    for (i = 0; i < set->count; i++) {
        const struct fixture *f = &set->items[i];
        struct diffs d = { 0, BUF_INIT };
        bool same_op = same_operation(f, rq);
        bool same_method = strcasecmp(f->method, rq->method) == 0;
        size_t score;

        compare(f, &p, &d, &score);
        if (d.count == 0 && (!best || score > best_score)) {
            best = f;
            best_score = score;
        }
        /* The closest: of the operation's fixtures if it has any, the fewest differences,
         * then one of the same method. */
        if (d.count && (!near || (same_op && !near_same_op)
                        || (same_op == near_same_op
                            && (d.count < near_count
                                || (d.count == near_count && same_method
                                    && !near_same_method))))) {
            near = f;
            near_count = d.count;
            near_same_op = same_op;
            near_same_method = same_method;
        }
        buf_release(&d.text);
    }
    if (!best && why) {
        struct diffs d = { 0, BUF_INIT };
        size_t score;

        compare(near, &p, &d, &score);
        buf_addf(why, "fixture %s differs: %s", near->name, buf_cstr(&d.text));
        if (d.count > DIFFS_SHOWN)
            buf_addf(why, "; and %zu more", d.count - DIFFS_SHOWN);
        buf_release(&d.text);
    }
    parsed_release(&p);
    return best;
}
