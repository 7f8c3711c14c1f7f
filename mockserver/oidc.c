#include "oidc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "curlapi.h"
#include "jose.h"
#include "log.h"
#include "vclock.h"
#include "xmalloc.h"
#include "yamljson.h"

#define GITHUB_ISSUER "https://token.actions.githubusercontent.com"
#define LEGACY_ISSUER "kubernetes/serviceaccount"
#define SA_PREFIX "system:serviceaccount:"
#define DEFAULT_AUDIENCE "hogland"
#define DEFAULT_LEEWAY 60
#define MAX_LEEWAY 3600
#define MAX_AUDIENCES 16
#define URL_MAX 255
#define FIELD_MAX 253
#define PRINCIPAL_MAX 128
#define DISPLAY_NAME_MAX 256
#define FETCH_TIMEOUT_MS 5000L
#define REFETCH_MIN_MS 10000u       /* an unknown kid refetches a JWKS at most this often */
#define DEFAULT_TTL_S 300           /* a JWKS served without Cache-Control max-age */
#define MAX_TTL_S 86400
#define LIST_MAX 8                  /* issuers or audiences named in one message */

enum kind { KIND_K8S_SA, KIND_GITHUB_OIDC, KIND_TAILSCALE };

static const char *const kind_names[] = { "k8s_sa", "github_oidc", "tailscale" };

/* A parsed JWKS, shared by the requests verifying with it while a refetch replaces it. */
struct keyset {
    atomic_int refs;
    struct jose_jwks set;
};

enum jwks_source { JWKS_INLINE, JWKS_FILE, JWKS_URI };

static const char *const source_names[] = { "inline", "file", "uri" };

/* A trusted issuer. Everything but the key cache is fixed once registered; requests hold
 * a reference, so an admin replacing it never pulls it from under them. */
struct issuer {
    atomic_int refs;
    char *url;
    enum kind kind;
    char **audiences;
    size_t naudiences;
    int leeway;                 /* seconds; -1: the registry's */
    enum jwks_source source;
    char *jwks_where;           /* the file or URL; NULL for inline */
    bool from_config;
    /* The keys and the state of fetching them, under mu. Times on hogmock's clock (ms). */
    pthread_mutex_t mu;
    pthread_cond_t fetched;
    struct keyset *keys;        /* NULL until a URL's first good fetch */
    bool attempted, fetching;
    uint64_t attempted_at, fetched_at, expires_at;
    unsigned fetches;
    char *jwks_error;           /* why the last fetch failed; NULL after a good one */
};

/* A TrustMapping; fields a kind does not use are NULL. */
struct mapping {
    enum kind kind;
    char *issuer;
    char *namespace_name, *service_account;
    char *repository, *ref, *environment, *workflow, *job_workflow_ref;
    char *login;
    char *principal_id, *display_name;
    bool from_config;
};

struct oidc {
    const struct vclock *clock;
    /* Readers (requests) share it; changes take it exclusively. Never held while fetching. */
    pthread_rwlock_t lock;
    struct issuer **issuers;
    size_t nissuers;
    struct mapping **maps;
    size_t nmaps;
    /* What the configuration registered, for oidc_clear to come back to. */
    struct issuer **cfg_issuers;
    size_t ncfg_issuers;
    struct mapping **cfg_maps;
    size_t ncfg_maps;
    int leeway;
};

/* ---- messages ------------------------------------------------------------------------ */

static void vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    int n;

    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n <= 0)
        return;
    buf_grow(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

/* Append "<at>/<member>: why" (or "<at>: why" without a member) to err; RC_INVALID. */
static enum rc invalid(struct buf *err, const char *at, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum rc invalid(struct buf *err, const char *at, const char *member, const char *fmt, ...)
{
    va_list ap;

    if (member)
        buf_addf(err, "%s/%s: ", at, member);
    else if (*at)
        buf_addf(err, "%s: ", at);
    va_start(ap, fmt);
    vaddf(err, fmt, ap);
    va_end(ap);
    return RC_INVALID;
}

/* Append a value taken from a token or a definition, quoted: at most 160 bytes, control
 * characters as '?', so that no message grows without bound or breaks a header. */
static void add_q(struct buf *b, const char *s)
{
    size_t i;

    buf_addch(b, '\'');
    for (i = 0; s[i] && i < 160; i++)
        buf_addch(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
    if (s[i])
        buf_addstr(b, "...");
    buf_addch(b, '\'');
}

/* Copy s into a fixed field, cut to fit, control characters as '?'. */
static void set_field(char *dst, size_t size, const char *s)
{
    size_t i;

    for (i = 0; s && s[i] && i + 1 < size; i++)
        dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    dst[i] = '\0';
}

static enum rc deny(struct auth_denial *d, struct buf *why, int status, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum rc deny(struct auth_denial *d, struct buf *why, int status, const char *code,
                    const char *fmt, ...)
{
    va_list ap;

    d->status = status;
    set_field(d->code, sizeof(d->code), code);
    va_start(ap, fmt);
    vaddf(why, fmt, ap);
    va_end(ap);
    return RC_DENIED;
}

static void add_duration(struct buf *b, uint64_t ms)
{
    uint64_t s = ms / 1000;

    if (s >= 3600)
        buf_addf(b, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else if (s >= 60)
        buf_addf(b, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    else
        buf_addf(b, "%llus", (unsigned long long)s);
}

/* ---- definitions: shared checks -------------------------------------------------------- */

static bool text_ok(const char *s, size_t max)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool url_ok(const char *s)
{
    size_t i, n = strlen(s), scheme;

    if (str_startswith(s, "https://"))
        scheme = 8;
    else if (str_startswith(s, "http://"))
        scheme = 7;
    else
        return false;
    if (n <= scheme || n > URL_MAX || s[scheme] == '/')
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}

/* Principal ids as API tokens have them: 1..128 of [A-Za-z0-9_.:@-]. */
static bool principal_id_ok(const char *id)
{
    size_t i, n = strlen(id);

    if (n == 0 || n > PRINCIPAL_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr("_-.:@", id[i]))
            return false;
    return true;
}

/* Members of def outside names (a NULL-terminated list) are refused, naming the known ones. */
static enum rc known_members(const cJSON *def, const char *at, const char *what,
                             const char *const *names, struct buf *err)
{
    const cJSON *m;
    const char *const *n;

    cJSON_ArrayForEach(m, def) {
        for (n = names; *n && strcmp(*n, m->string) != 0; n++)
            ;
        if (*n)
            continue;
        invalid(err, at, m->string, "unknown member of %s (known:", what);
        for (n = names; *n; n++)
            buf_addf(err, "%s %s", n == names ? "" : ",", *n);
        buf_addch(err, ')');
        return RC_INVALID;
    }
    return RC_OK;
}

/* The string member name of def into *out (NULL when absent): RC_INVALID when it is
 * required and absent, not a string, empty, over max bytes or holds control characters. */
static enum rc get_str(const cJSON *def, const char *at, const char *name, bool required,
                       size_t max, const char **out, struct buf *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, name);

    *out = NULL;
    if (!v) {
        if (required)
            return invalid(err, at, NULL, "%s is required", name);
        return RC_OK;
    }
    if (!cJSON_IsString(v))
        return invalid(err, at, name, "must be a string");
    if (!text_ok(v->valuestring, max))
        return invalid(err, at, name, "must be 1 to %zu bytes without control characters", max);
    *out = v->valuestring;
    return RC_OK;
}

static enum rc get_leeway(const cJSON *def, const char *at, int *out, struct buf *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, "leeway_seconds");

    if (!v)
        return RC_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble
        || v->valuedouble < 0 || v->valuedouble > MAX_LEEWAY)
        return invalid(err, at, "leeway_seconds", "must be a whole number of seconds from 0 to %d",
                       MAX_LEEWAY);
    *out = (int)v->valuedouble;
    return RC_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* ---- key sets ------------------------------------------------------------------------ */

static struct keyset *keyset_new(void)
{
    struct keyset *k = xcalloc(1, sizeof(*k));

    atomic_init(&k->refs, 1);
    jose_jwks_init(&k->set);
    return k;
}

static struct keyset *keyset_ref(struct keyset *k)
{
    if (k)
        atomic_fetch_add(&k->refs, 1);
    return k;
}

static void keyset_unref(struct keyset *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
        jose_jwks_release(&k->set);
        free(k);
    }
}

/* jose says "jwks /keys/1/use: 'enc' ..." or "jwks: ..."; as a pointer below at/member. */
static void add_jwks_error(struct buf *err, const char *at, const char *member, const char *msg)
{
    const char *colon;

    if (str_startswith(msg, "jwks /") && (colon = strstr(msg, ": ")) != NULL) {
        buf_addf(err, "%s/%s%.*s: %s", at, member, (int)(colon - msg - 5), msg + 5, colon + 2);
        return;
    }
    if (str_startswith(msg, "jwks: "))
        msg += 6;
    buf_addf(err, "%s/%s: %s", at, member, msg);
}

/* Parse a JWKS text into set, which must end up with a usable key; messages as pointers. */
static enum rc jwks_from_text(const char *text, size_t len, const char *at, const char *member,
                              struct jose_jwks *set, struct buf *err)
{
    struct buf msg = BUF_INIT;
    size_t i;

    if (jose_jwks_parse(text, len, set, &msg) != JOSE_OK) {
        add_jwks_error(err, at, member, buf_cstr(&msg));
        buf_release(&msg);
        return RC_INVALID;
    }
    buf_release(&msg);
    if (!set->nkeys) {
        invalid(err, at, member, "no usable key (RS256 or ES256 signing keys)");
        for (i = 0; i < set->nwarnings && i < 2; i++)
            buf_addf(err, "%s%s", i ? "; " : ": ", set->warnings[i]);
        return RC_INVALID;
    }
    for (i = 0; i < set->nwarnings; i++)
        log_warn("oidc: %s/%s: %s", at, member, set->warnings[i]);
    return RC_OK;
}

static enum rc read_small_file(const char *path, size_t max, struct buf *out, struct buf *why)
{
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        buf_addf(why, "cannot read '%s': %s", path, strerror(errno));
        return RC_IO;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > max) {
            buf_addf(why, "'%s' is over the %zu-byte limit of a JWKS", path, max);
            fclose(f);
            return RC_TOO_LARGE;
        }
        buf_add(out, chunk, n);
    }
    if (ferror(f)) {
        buf_addf(why, "cannot read '%s': %s", path, strerror(errno));
        fclose(f);
        return RC_IO;
    }
    fclose(f);
    return RC_OK;
}

/* ---- fetching a JWKS ------------------------------------------------------------------ */

struct fetch {
    struct buf body;
    bool too_large;
    bool no_cache;
    int64_t max_age;            /* -1: none given */
};

static size_t on_fetch_body(char *data, size_t size, size_t n, void *ctx)
{
    struct fetch *f = ctx;
    size_t len = size * n;

    if (f->body.len + len > JOSE_MAX_JWKS) {
        f->too_large = true;
        return 0;
    }
    buf_add(&f->body, data, len);
    return len;
}

/* Cache-Control directives of one header line: max-age=N, no-store and no-cache. */
static void parse_cache_control(struct fetch *f, const char *v, size_t len)
{
    char line[512], *tok, *save = NULL;

    if (len >= sizeof(line))
        len = sizeof(line) - 1;
    memcpy(line, v, len);
    line[len] = '\0';
    for (tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long long n;

        while (*tok == ' ' || *tok == '\t')
            tok++;
        end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'
                             || end[-1] == '\n'))
            *--end = '\0';
        if (strcasecmp(tok, "no-store") == 0 || strcasecmp(tok, "no-cache") == 0) {
            f->no_cache = true;
        } else if (strncasecmp(tok, "max-age=", 8) == 0) {
            tok += 8;
            if (*tok == '"')
                tok++;
            if (!isdigit((unsigned char)*tok))
                continue;
            errno = 0;
            n = strtoll(tok, &end, 10);
            if (errno || (*end && *end != '"'))
                continue;
            f->max_age = n;
        }
    }
}

static size_t on_fetch_header(char *data, size_t size, size_t n, void *ctx)
{
    struct fetch *f = ctx;
    size_t len = size * n;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a redirect): only its own headers count. */
        f->max_age = -1;
        f->no_cache = false;
    } else if (len > 14 && strncasecmp(data, "Cache-Control:", 14) == 0) {
        parse_cache_control(f, data + 14, len - 14);
    }
    return len;
}

/* GET url (http or https only, 5 s, at most JOSE_MAX_JWKS bytes, up to 3 redirects) into
 * set. *ttl_s gets how long the answer may be kept. One line to err on failure. */
static enum rc jwks_fetch(const char *url, struct jose_jwks *set, int64_t *ttl_s, struct buf *err)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    struct fetch f = { BUF_INIT, false, false, -1 };
    struct curl_slist *hdrs = NULL;
    struct buf why = BUF_INIT;
    long status = 0;
    const struct curlapi *cu;
    CURLcode cc;
    CURL *c;
    enum rc rc = RC_IO;

    if (curlapi_load(err) != RC_OK)
        return RC_ERR;
    cu = curlapi();
    c = cu->easy_init();
    if (!c) {
        buf_addstr(err, "libcurl could not start a transfer");
        return RC_ERR;
    }
    hdrs = cu->slist_append(hdrs, "Accept: application/jwk-set+json, application/json");
    cu->easy_setopt(c, CURLOPT_URL, url);
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu->easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, FETCH_TIMEOUT_MS);
    cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, FETCH_TIMEOUT_MS);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JOSE_MAX_JWKS);
    cu->easy_setopt(c, CURLOPT_USERAGENT, "hogmock");
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_fetch_body);
    cu->easy_setopt(c, CURLOPT_WRITEDATA, &f);
    cu->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_fetch_header);
    cu->easy_setopt(c, CURLOPT_HEADERDATA, &f);
    cu->easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    cc = cu->easy_perform(c);
    cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (f.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        buf_addf(err, "the JWKS at '%s' is over the %d-byte limit", url, JOSE_MAX_JWKS);
    } else if (cc != CURLE_OK) {
        buf_addf(err, "cannot fetch the JWKS from '%s': %s", url,
                 curl_err[0] ? curl_err : cu->easy_strerror(cc));
    } else if (status != 200) {
        buf_addf(err, "fetching the JWKS from '%s' answered HTTP %ld, not 200", url, status);
    } else if (jwks_from_text(f.body.data ? f.body.data : "", f.body.len, "", "jwks", set, &why)
               != RC_OK) {
        buf_addf(err, "the JWKS at '%s' is not usable: %s", url, buf_cstr(&why));
    } else {
        *ttl_s = f.no_cache ? 0 : f.max_age < 0 ? DEFAULT_TTL_S
               : f.max_age > MAX_TTL_S ? MAX_TTL_S : f.max_age;
        rc = RC_OK;
    }
    cu->slist_free_all(hdrs);
    cu->easy_cleanup(c);
    buf_release(&f.body);
    buf_release(&why);
    return rc;
}

/* ---- issuers ------------------------------------------------------------------------- */

static struct issuer *issuer_ref(struct issuer *is)
{
    if (is)
        atomic_fetch_add(&is->refs, 1);
    return is;
}

static void issuer_unref(struct issuer *is)
{
    size_t i;

    if (!is || atomic_fetch_sub(&is->refs, 1) != 1)
        return;
    free(is->url);
    for (i = 0; i < is->naudiences; i++)
        free(is->audiences[i]);
    free(is->audiences);
    free(is->jwks_where);
    keyset_unref(is->keys);
    free(is->jwks_error);
    pthread_mutex_destroy(&is->mu);
    pthread_cond_destroy(&is->fetched);
    free(is);
}

static enum rc get_kind(const cJSON *def, const char *at, bool tailscale_too, enum kind *out,
                        struct buf *err)
{
    const char *k;
    enum rc rc;

    if ((rc = get_str(def, at, "kind", true, 32, &k, err)) != RC_OK)
        return rc;
    if (strcmp(k, "k8s_sa") == 0)
        *out = KIND_K8S_SA;
    else if (strcmp(k, "github_oidc") == 0)
        *out = KIND_GITHUB_OIDC;
    else if (tailscale_too && strcmp(k, "tailscale") == 0)
        *out = KIND_TAILSCALE;
    else
        return invalid(err, at, "kind", "must be \"k8s_sa\", \"github_oidc\"%s",
                       tailscale_too ? " or \"tailscale\"" : "");
    return RC_OK;
}

static enum rc get_audiences(const cJSON *def, const char *at, struct issuer *is,
                             struct buf *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, "audiences"), *a;
    size_t n = 0, i;

    if (!v) {
        is->audiences = xcalloc(1, sizeof(char *));
        is->audiences[0] = xstrdup(DEFAULT_AUDIENCE);
        is->naudiences = 1;
        return RC_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > MAX_AUDIENCES)
        return invalid(err, at, "audiences", "must be a list of 1 to %d audiences", MAX_AUDIENCES);
    is->audiences = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(char *));
    cJSON_ArrayForEach(a, v) {
        char name[32];

        snprintf(name, sizeof(name), "audiences/%zu", n);
        if (!cJSON_IsString(a) || !text_ok(a->valuestring, URL_MAX))
            return invalid(err, at, name, "must be a string of 1 to %d bytes without control "
                           "characters", URL_MAX);
        for (i = 0; i < n; i++)
            if (strcmp(is->audiences[i], a->valuestring) == 0)
                return invalid(err, at, name, "the same audience as /audiences/%zu", i);
        is->audiences[n++] = xstrdup(a->valuestring);
        is->naudiences = n;
    }
    return RC_OK;
}

/* The keys of an issuer's definition: exactly one of jwks, jwks_file, jwks_uri. */
static enum rc get_jwks(const cJSON *def, const char *at, const char *base_dir,
                        struct issuer *is, struct buf *err)
{
    const cJSON *inline_set = cJSON_GetObjectItemCaseSensitive(def, "jwks");
    const char *file = NULL, *uri = NULL;
    struct buf text = BUF_INIT, why = BUF_INIT, path = BUF_INIT;
    struct keyset *ks = NULL;
    enum rc rc;
    char *printed;

    if ((rc = get_str(def, at, "jwks_file", false, 4096, &file, err)) != RC_OK
        || (rc = get_str(def, at, "jwks_uri", false, URL_MAX, &uri, err)) != RC_OK)
        return rc;
    if ((inline_set != NULL) + (file != NULL) + (uri != NULL) != 1)
        return invalid(err, at, NULL, "give exactly one of jwks (the key set itself), "
                       "jwks_file (a file holding it) and jwks_uri (where to fetch it)");
    if (uri) {
        if (!url_ok(uri))
            return invalid(err, at, "jwks_uri", "must be an http:// or https:// URL of at most "
                           "%d bytes", URL_MAX);
        is->source = JWKS_URI;
        is->jwks_where = xstrdup(uri);
        return RC_OK;
    }
    ks = keyset_new();
    if (inline_set) {
        if (!cJSON_IsObject(inline_set)) {
            rc = invalid(err, at, "jwks", "must be a JWKS object {\"keys\": [...]}");
            goto out;
        }
        printed = cJSON_PrintUnformatted(inline_set);
        buf_addstr(&text, printed);
        cJSON_free(printed);
        rc = jwks_from_text(buf_cstr(&text), text.len, at, "jwks", &ks->set, err);
        is->source = JWKS_INLINE;
    } else {
        if (file[0] != '/' && base_dir)
            buf_addf(&path, "%s/%s", base_dir, file);
        else
            buf_addstr(&path, file);
        if (read_small_file(buf_cstr(&path), JOSE_MAX_JWKS, &text, &why) != RC_OK) {
            rc = invalid(err, at, "jwks_file", "%s", buf_cstr(&why));
            goto out;
        }
        rc = jwks_from_text(buf_cstr(&text), text.len, at, "jwks_file", &ks->set, err);
        is->source = JWKS_FILE;
        is->jwks_where = xstrdup(buf_cstr(&path));
    }
    if (rc == RC_OK) {
        is->keys = ks;
        ks = NULL;
    }
out:
    keyset_unref(ks);
    buf_release(&text);
    buf_release(&why);
    buf_release(&path);
    return rc;
}

static enum rc issuer_from_def(const cJSON *def, const char *at, const char *base_dir,
                               bool from_config, struct issuer **out, struct buf *err)
{
    static const char *const names[] = {
        "issuer", "kind", "audiences", "jwks", "jwks_file", "jwks_uri", "leeway_seconds", NULL,
    };
    struct issuer *is;
    const char *url;
    enum rc rc;

    *out = NULL;
    if (!cJSON_IsObject(def))
        return invalid(err, at, NULL, "an issuer must be a mapping {issuer, kind, jwks | "
                       "jwks_file | jwks_uri, audiences?, leeway_seconds?}");
    if ((rc = known_members(def, at, "an issuer", names, err)) != RC_OK
        || (rc = get_str(def, at, "issuer", true, URL_MAX, &url, err)) != RC_OK)
        return rc;
    if (!url_ok(url))
        return invalid(err, at, "issuer", "must be an https:// (or http://) URL of at most %d "
                       "bytes, exactly as the tokens' iss claim says it", URL_MAX);
    is = xcalloc(1, sizeof(*is));
    atomic_init(&is->refs, 1);
    pthread_mutex_init(&is->mu, NULL);
    pthread_cond_init(&is->fetched, NULL);
    is->url = xstrdup(url);
    is->leeway = -1;
    is->from_config = from_config;
    if ((rc = get_kind(def, at, false, &is->kind, err)) != RC_OK
        || (rc = get_audiences(def, at, is, err)) != RC_OK
        || (rc = get_leeway(def, at, &is->leeway, err)) != RC_OK
        || (rc = get_jwks(def, at, base_dir, is, err)) != RC_OK) {
        issuer_unref(is);
        return rc;
    }
    *out = is;
    return RC_OK;
}

/* Under the write lock: put is (taken over) in place of the issuer with its URL, or last. */
static void put_issuer(struct issuer ***list, size_t *n, struct issuer *is)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*list)[i]->url, is->url) == 0) {
            issuer_unref((*list)[i]);
            (*list)[i] = is;
            return;
        }
    }
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[(*n)++] = is;
}

/* The trusted issuer with this URL, referenced (issuer_unref), or NULL. */
static struct issuer *issuer_find(struct oidc *o, const char *url)
{
    struct issuer *is = NULL;
    size_t i;

    pthread_rwlock_rdlock(&o->lock);
    for (i = 0; i < o->nissuers && !is; i++)
        if (strcmp(o->issuers[i]->url, url) == 0)
            is = issuer_ref(o->issuers[i]);
    pthread_rwlock_unlock(&o->lock);
    return is;
}

/* Fetch is's JWKS now (the caller set is->fetching) and install what came. */
static void issuer_fetch(struct oidc *o, struct issuer *is)
{
    struct keyset *ks = keyset_new(), *old = NULL;
    struct buf err = BUF_INIT;
    int64_t ttl = 0;
    uint64_t now;
    enum rc rc;

    rc = jwks_fetch(is->jwks_where, &ks->set, &ttl, &err);
    now = vclock_now_ms(o->clock);
    pthread_mutex_lock(&is->mu);
    is->fetches++;
    is->attempted = true;
    is->attempted_at = now;
    if (rc == RC_OK) {
        old = is->keys;
        is->keys = ks;
        ks = NULL;
        is->fetched_at = now;
        is->expires_at = now + (uint64_t)ttl * 1000u;
        free(is->jwks_error);
        is->jwks_error = NULL;
    } else {
        /* Keep what was there; try again no sooner than an unknown kid would. */
        is->expires_at = now + REFETCH_MIN_MS;
        free(is->jwks_error);
        is->jwks_error = xstrdup(buf_cstr(&err));
        log_warn("oidc: issuer '%s': %s", is->url, buf_cstr(&err));
    }
    is->fetching = false;
    pthread_cond_broadcast(&is->fetched);
    pthread_mutex_unlock(&is->mu);
    keyset_unref(old);
    keyset_unref(ks);
    buf_release(&err);
}

/* The issuer's keys to verify with (keyset_unref; NULL when there are none yet). A URL's
 * set is fetched first when it was never fetched or its max-age has passed, or, for
 * unknown_kid, when the last fetch is REFETCH_MIN_MS old. One thread fetches; others
 * that need it wait for that fetch; no registry lock is held meanwhile. */
static struct keyset *issuer_keys(struct oidc *o, struct issuer *is, bool unknown_kid)
{
    struct keyset *ks;
    uint64_t now;
    bool due;

    pthread_mutex_lock(&is->mu);
    if (is->source == JWKS_URI) {
        now = vclock_now_ms(o->clock);
        due = !is->attempted
              || (unknown_kid ? now >= is->attempted_at + REFETCH_MIN_MS : now >= is->expires_at);
        if (due && !is->fetching) {
            is->fetching = true;
            pthread_mutex_unlock(&is->mu);
            issuer_fetch(o, is);
            pthread_mutex_lock(&is->mu);
        } else if (due) {
            while (is->fetching)
                pthread_cond_wait(&is->fetched, &is->mu);
        }
    }
    ks = keyset_ref(is->keys);
    pthread_mutex_unlock(&is->mu);
    return ks;
}

/* Would an unknown kid refetch is's JWKS now? */
static bool refetch_allowed(struct oidc *o, struct issuer *is)
{
    bool ok;

    if (is->source != JWKS_URI)
        return false;
    pthread_mutex_lock(&is->mu);
    ok = !is->attempted || vclock_now_ms(o->clock) >= is->attempted_at + REFETCH_MIN_MS;
    pthread_mutex_unlock(&is->mu);
    return ok;
}

/* What is known of is's keys, for an unknown_kid detail. */
static void describe_keys(struct oidc *o, struct issuer *is, struct buf *b)
{
    uint64_t now = vclock_now_ms(o->clock);

    pthread_mutex_lock(&is->mu);
    if (is->source != JWKS_URI) {
        buf_addf(b, "; its keys come from %s", is->source == JWKS_FILE ? "a file" : "its "
                 "definition");
        if (is->jwks_where) {
            buf_addch(b, ' ');
            add_q(b, is->jwks_where);
        }
        buf_addstr(b, " and are never fetched: register the issuer again with the new key set");
    } else {
        buf_addstr(b, "; the JWKS ");
        add_q(b, is->jwks_where);
        if (is->fetched_at) {
            buf_addstr(b, " was fetched ");
            add_duration(b, now - is->fetched_at);
            buf_addstr(b, " ago");
        } else {
            buf_addstr(b, is->attempted ? " could not be fetched yet" : " was never fetched");
        }
        if (is->jwks_error)
            buf_addf(b, "; its last fetch failed: %s", is->jwks_error);
        buf_addf(b, "; an unknown kid fetches it again at most once every %u s",
                 REFETCH_MIN_MS / 1000);
        if (is->attempted && now < is->attempted_at + REFETCH_MIN_MS) {
            buf_addstr(b, " (next in ");
            add_duration(b, is->attempted_at + REFETCH_MIN_MS - now + 999);
            buf_addch(b, ')');
        }
    }
    pthread_mutex_unlock(&is->mu);
}

static cJSON *issuer_json(struct oidc *o, struct issuer *is)
{
    cJSON *j = cJSON_CreateObject(), *a;
    char when[40];
    size_t i;

    cJSON_AddStringToObject(j, "issuer", is->url);
    cJSON_AddStringToObject(j, "kind", kind_names[is->kind]);
    a = cJSON_AddArrayToObject(j, "audiences");
    for (i = 0; i < is->naudiences; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(is->audiences[i]));
    cJSON_AddNumberToObject(j, "leeway_seconds", is->leeway >= 0 ? is->leeway : o->leeway);
    cJSON_AddStringToObject(j, "jwks_source", source_names[is->source]);
    if (is->source == JWKS_FILE)
        cJSON_AddStringToObject(j, "jwks_file", is->jwks_where);
    else
        cJSON_AddNullToObject(j, "jwks_file");
    if (is->source == JWKS_URI)
        cJSON_AddStringToObject(j, "jwks_uri", is->jwks_where);
    else
        cJSON_AddNullToObject(j, "jwks_uri");
    pthread_mutex_lock(&is->mu);
    a = cJSON_AddArrayToObject(j, "kids");
    for (i = 0; is->keys && i < is->keys->set.nkeys; i++) {
        const char *kid = is->keys->set.keys[i]->kid;

        cJSON_AddItemToArray(a, kid ? cJSON_CreateString(kid) : cJSON_CreateNull());
    }
    if (is->fetched_at) {
        vclock_format(is->fetched_at, when, sizeof(when));
        cJSON_AddStringToObject(j, "jwks_fetched_at", when);
        vclock_format(is->expires_at, when, sizeof(when));
        cJSON_AddStringToObject(j, "jwks_expires_at", when);
    } else {
        cJSON_AddNullToObject(j, "jwks_fetched_at");
        cJSON_AddNullToObject(j, "jwks_expires_at");
    }
    cJSON_AddNumberToObject(j, "jwks_fetches", is->fetches);
    if (is->jwks_error)
        cJSON_AddStringToObject(j, "jwks_error", is->jwks_error);
    else
        cJSON_AddNullToObject(j, "jwks_error");
    pthread_mutex_unlock(&is->mu);
    cJSON_AddStringToObject(j, "source", is->from_config ? "config" : "api");
    return j;
}

/* ---- mappings ------------------------------------------------------------------------ */

static void mapping_free(struct mapping *m)
{
    if (!m)
        return;
    free(m->issuer);
    free(m->namespace_name);
    free(m->service_account);
    free(m->repository);
    free(m->ref);
    free(m->environment);
    free(m->workflow);
    free(m->job_workflow_ref);
    free(m->login);
    free(m->principal_id);
    free(m->display_name);
    free(m);
}

static struct mapping *mapping_dup(const struct mapping *m)
{
    struct mapping *c = xcalloc(1, sizeof(*c));

    c->kind = m->kind;
    c->issuer = dup_or_null(m->issuer);
    c->namespace_name = dup_or_null(m->namespace_name);
    c->service_account = dup_or_null(m->service_account);
    c->repository = dup_or_null(m->repository);
    c->ref = dup_or_null(m->ref);
    c->environment = dup_or_null(m->environment);
    c->workflow = dup_or_null(m->workflow);
    c->job_workflow_ref = dup_or_null(m->job_workflow_ref);
    c->login = dup_or_null(m->login);
    c->principal_id = dup_or_null(m->principal_id);
    c->display_name = dup_or_null(m->display_name);
    c->from_config = m->from_config;
    return c;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_key(const struct mapping *a, const struct mapping *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case KIND_K8S_SA:
        return same_str(a->issuer, b->issuer) && same_str(a->namespace_name, b->namespace_name)
               && same_str(a->service_account, b->service_account);
    case KIND_GITHUB_OIDC:
        return same_str(a->issuer, b->issuer) && strcasecmp(a->repository, b->repository) == 0
               && same_str(a->ref, b->ref) && same_str(a->environment, b->environment)
               && same_str(a->workflow, b->workflow)
               && same_str(a->job_workflow_ref, b->job_workflow_ref);
    case KIND_TAILSCALE:
        return strcasecmp(a->login, b->login) == 0;
    }
    return false;
}

/* A name without ':' or blanks (a namespace, a service account). */
static bool name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (s[i] == ':' || s[i] == ' ' || s[i] == '/')
            return false;
    return i > 0;
}

/* "owner/repo": one slash, both sides of [A-Za-z0-9_.-]. */
static bool repository_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    size_t i;

    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
        return false;
    for (i = 0; s[i]; i++)
        if (s[i] != '/' && !isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

static enum rc mapping_from_def(const cJSON *def, const char *at, bool from_config,
                                struct mapping **out, struct buf *err)
{
    static const char *const k8s_names[] = {
        "kind", "issuer", "namespace", "service_account", "principal_id", "display_name", NULL,
    };
    static const char *const gh_names[] = {
        "kind", "issuer", "repository", "ref", "environment", "workflow", "job_workflow_ref",
        "principal_id", "display_name", NULL,
    };
    static const char *const ts_names[] = {
        "kind", "login", "principal_id", "display_name", NULL,
    };
    const char *issuer = NULL, *ns = NULL, *sa = NULL, *repo = NULL, *ref = NULL, *env = NULL;
    const char *wf = NULL, *jwr = NULL, *login = NULL, *pid = NULL, *dn = NULL;
    struct mapping *m;
    enum kind kind;
    enum rc rc;

    *out = NULL;
    if (!cJSON_IsObject(def))
        return invalid(err, at, NULL, "a TrustMapping must be a mapping {kind, ..., principal_id}");
    if ((rc = get_kind(def, at, true, &kind, err)) != RC_OK)
        return rc;
    switch (kind) {
    case KIND_K8S_SA:
        if ((rc = known_members(def, at, "a k8s_sa TrustMapping", k8s_names, err))
            || (rc = get_str(def, at, "issuer", true, URL_MAX, &issuer, err))
            || (rc = get_str(def, at, "namespace", true, FIELD_MAX, &ns, err))
            || (rc = get_str(def, at, "service_account", true, FIELD_MAX, &sa, err)))
            return rc;
        if (!name_ok(ns))
            return invalid(err, at, "namespace", "must be a Kubernetes namespace name (no ':', '/' "
                           "or spaces)");
        if (!name_ok(sa))
            return invalid(err, at, "service_account", "must be a ServiceAccount name (no ':', "
                           "'/' or spaces)");
        break;
    case KIND_GITHUB_OIDC:
        if ((rc = known_members(def, at, "a github_oidc TrustMapping", gh_names, err))
            || (rc = get_str(def, at, "issuer", false, URL_MAX, &issuer, err))
            || (rc = get_str(def, at, "repository", true, FIELD_MAX, &repo, err))
            || (rc = get_str(def, at, "ref", false, FIELD_MAX, &ref, err))
            || (rc = get_str(def, at, "environment", false, FIELD_MAX, &env, err))
            || (rc = get_str(def, at, "workflow", false, FIELD_MAX, &wf, err))
            || (rc = get_str(def, at, "job_workflow_ref", false, FIELD_MAX, &jwr, err)))
            return rc;
        if (!repository_ok(repo))
            return invalid(err, at, "repository", "must be \"owner/repo\" as the token's "
                           "repository claim says it");
        if (!issuer)
            issuer = GITHUB_ISSUER;
        break;
    case KIND_TAILSCALE:
        if ((rc = known_members(def, at, "a tailscale TrustMapping", ts_names, err))
            || (rc = get_str(def, at, "login", true, FIELD_MAX, &login, err)))
            return rc;
        break;
    }
    if (issuer && !url_ok(issuer))
        return invalid(err, at, "issuer", "must be an https:// (or http://) URL of at most %d "
                       "bytes, exactly as the tokens' iss claim says it", URL_MAX);
    if ((rc = get_str(def, at, "principal_id", true, PRINCIPAL_MAX, &pid, err))
        || (rc = get_str(def, at, "display_name", false, DISPLAY_NAME_MAX, &dn, err)))
        return rc;
    if (!principal_id_ok(pid))
        return invalid(err, at, "principal_id", "must be 1 to %d of A-Z a-z 0-9 _ - . : @",
                       PRINCIPAL_MAX);
    m = xcalloc(1, sizeof(*m));
    m->kind = kind;
    m->issuer = dup_or_null(issuer);
    m->namespace_name = dup_or_null(ns);
    m->service_account = dup_or_null(sa);
    m->repository = dup_or_null(repo);
    m->ref = dup_or_null(ref);
    m->environment = dup_or_null(env);
    m->workflow = dup_or_null(wf);
    m->job_workflow_ref = dup_or_null(jwr);
    m->login = dup_or_null(login);
    m->principal_id = xstrdup(pid);
    m->display_name = dup_or_null(dn);
    m->from_config = from_config;
    *out = m;
    return RC_OK;
}

/* Under the write lock: m (taken over) replaces the mapping with its key, or goes last. */
static void put_mapping(struct mapping ***list, size_t *n, struct mapping *m)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (same_key((*list)[i], m)) {
            mapping_free((*list)[i]);
            (*list)[i] = m;
            return;
        }
    }
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[(*n)++] = m;
}

static void add_opt(cJSON *j, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(j, name, v);
}

static cJSON *mapping_json(const struct mapping *m)
{
    cJSON *j = cJSON_CreateObject();

    cJSON_AddStringToObject(j, "kind", kind_names[m->kind]);
    add_opt(j, "issuer", m->issuer);
    add_opt(j, "namespace", m->namespace_name);
    add_opt(j, "service_account", m->service_account);
    add_opt(j, "repository", m->repository);
    add_opt(j, "ref", m->ref);
    add_opt(j, "environment", m->environment);
    add_opt(j, "workflow", m->workflow);
    add_opt(j, "job_workflow_ref", m->job_workflow_ref);
    add_opt(j, "login", m->login);
    cJSON_AddStringToObject(j, "principal_id", m->principal_id);
    if (m->display_name)
        cJSON_AddStringToObject(j, "display_name", m->display_name);
    else
        cJSON_AddNullToObject(j, "display_name");
    cJSON_AddStringToObject(j, "source", m->from_config ? "config" : "api");
    return j;
}

/* ---- the registry -------------------------------------------------------------------- */

struct oidc *oidc_new(const struct vclock *clock)
{
    struct oidc *o = xcalloc(1, sizeof(*o));

    o->clock = clock;
    o->leeway = DEFAULT_LEEWAY;
    pthread_rwlock_init(&o->lock, NULL);
    return o;
}

static void issuers_drop(struct issuer **list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        issuer_unref(list[i]);
    free(list);
}

static void maps_drop(struct mapping **list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        mapping_free(list[i]);
    free(list);
}

void oidc_free(struct oidc *o)
{
    if (!o)
        return;
    issuers_drop(o->issuers, o->nissuers);
    issuers_drop(o->cfg_issuers, o->ncfg_issuers);
    maps_drop(o->maps, o->nmaps);
    maps_drop(o->cfg_maps, o->ncfg_maps);
    pthread_rwlock_destroy(&o->lock);
    free(o);
}

void oidc_set_leeway(struct oidc *o, int64_t seconds)
{
    pthread_rwlock_wrlock(&o->lock);
    o->leeway = seconds < 0 ? 0 : seconds > MAX_LEEWAY ? MAX_LEEWAY : (int)seconds;
    pthread_rwlock_unlock(&o->lock);
}

enum rc oidc_add_issuer(struct oidc *o, const cJSON *def, struct buf *err)
{
    struct issuer *is;
    enum rc rc = issuer_from_def(def, "", NULL, false, &is, err);

    if (rc != RC_OK)
        return rc;
    pthread_rwlock_wrlock(&o->lock);
    put_issuer(&o->issuers, &o->nissuers, is);
    pthread_rwlock_unlock(&o->lock);
    return RC_OK;
}

enum rc oidc_remove_issuer(struct oidc *o, const char *issuer)
{
    struct issuer *gone = NULL;
    size_t i;

    pthread_rwlock_wrlock(&o->lock);
    for (i = 0; i < o->nissuers && !gone; i++) {
        if (strcmp(o->issuers[i]->url, issuer) == 0) {
            gone = o->issuers[i];
            memmove(&o->issuers[i], &o->issuers[i + 1],
                    (o->nissuers - i - 1) * sizeof(*o->issuers));
            o->nissuers--;
        }
    }
    pthread_rwlock_unlock(&o->lock);
    issuer_unref(gone);
    return gone ? RC_OK : RC_NOT_FOUND;
}

cJSON *oidc_list_issuers(struct oidc *o)
{
    cJSON *list = cJSON_CreateArray();
    size_t i;

    pthread_rwlock_rdlock(&o->lock);
    for (i = 0; i < o->nissuers; i++)
        cJSON_AddItemToArray(list, issuer_json(o, o->issuers[i]));
    pthread_rwlock_unlock(&o->lock);
    return list;
}

enum rc oidc_add_trust(struct oidc *o, const cJSON *def, struct buf *err)
{
    struct mapping *m;
    enum rc rc = mapping_from_def(def, "", false, &m, err);

    if (rc != RC_OK)
        return rc;
    pthread_rwlock_wrlock(&o->lock);
    put_mapping(&o->maps, &o->nmaps, m);
    pthread_rwlock_unlock(&o->lock);
    return RC_OK;
}

cJSON *oidc_list_trust(struct oidc *o)
{
    cJSON *list = cJSON_CreateArray();
    size_t i;

    pthread_rwlock_rdlock(&o->lock);
    for (i = 0; i < o->nmaps; i++)
        cJSON_AddItemToArray(list, mapping_json(o->maps[i]));
    pthread_rwlock_unlock(&o->lock);
    return list;
}

size_t oidc_clear_trust(struct oidc *o)
{
    struct mapping **old, **maps;
    size_t n_old, i, gone = 0;

    pthread_rwlock_wrlock(&o->lock);
    maps = o->ncfg_maps ? xcalloc(o->ncfg_maps, sizeof(*maps)) : NULL;
    for (i = 0; i < o->ncfg_maps; i++)
        maps[i] = mapping_dup(o->cfg_maps[i]);
    old = o->maps;
    n_old = o->nmaps;
    o->maps = maps;
    o->nmaps = o->ncfg_maps;
    pthread_rwlock_unlock(&o->lock);
    for (i = 0; i < n_old; i++)
        gone += !old[i]->from_config;
    maps_drop(old, n_old);
    return gone;
}

void oidc_clear(struct oidc *o, bool config_only)
{
    struct issuer **old_issuers, **issuers = NULL;
    struct mapping **old_maps, **maps = NULL;
    size_t old_ni, old_nm, ni = 0, nm = 0, i;

    pthread_rwlock_wrlock(&o->lock);
    if (config_only) {
        issuers = o->ncfg_issuers ? xcalloc(o->ncfg_issuers, sizeof(*issuers)) : NULL;
        for (i = 0; i < o->ncfg_issuers; i++)
            issuers[ni++] = issuer_ref(o->cfg_issuers[i]);
        maps = o->ncfg_maps ? xcalloc(o->ncfg_maps, sizeof(*maps)) : NULL;
        for (i = 0; i < o->ncfg_maps; i++)
            maps[nm++] = mapping_dup(o->cfg_maps[i]);
    }
    old_issuers = o->issuers;
    old_ni = o->nissuers;
    old_maps = o->maps;
    old_nm = o->nmaps;
    o->issuers = issuers;
    o->nissuers = ni;
    o->maps = maps;
    o->nmaps = nm;
    pthread_rwlock_unlock(&o->lock);
    issuers_drop(old_issuers, old_ni);
    maps_drop(old_maps, old_nm);
}

enum rc oidc_load_config(struct oidc *o, const char *path, struct buf *err)
{
    static const char *const names[] = {
        "leeway_seconds", "issuers", "trust", "builtin_issuers", NULL,
    };
    struct issuer **issuers = NULL;
    struct mapping **maps = NULL;
    size_t ni = 0, nm = 0, i, j;
    struct buf why = BUF_INIT, at = BUF_INIT;
    const cJSON *list, *item;
    cJSON *doc = NULL;
    char *dir = NULL, *slash;
    int leeway = -1;
    enum rc rc;

    if ((rc = yamljson_load_file(path, &doc, err)) != RC_OK)
        return rc;
    dir = xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    if (!cJSON_IsObject(doc)) {
        rc = invalid(&why, "", NULL, "the auth configuration must be a mapping {leeway_seconds?, "
                     "issuers?, trust?}");
        goto out;
    }
    if ((rc = known_members(doc, "", "the auth configuration", names, &why)) != RC_OK
        || (rc = get_leeway(doc, "", &leeway, &why)) != RC_OK)
        goto out;
    list = cJSON_GetObjectItemCaseSensitive(doc, "issuers");
    if (list && !cJSON_IsArray(list)) {
        rc = invalid(&why, "", "issuers", "must be a list of issuers");
        goto out;
    }
    i = 0;
    cJSON_ArrayForEach(item, list) {
        struct issuer *is;

        buf_reset(&at);
        buf_addf(&at, "/issuers/%zu", i++);
        if ((rc = issuer_from_def(item, buf_cstr(&at), dir, true, &is, &why)) != RC_OK)
            goto out;
        for (j = 0; j < ni; j++) {
            if (strcmp(issuers[j]->url, is->url) == 0) {
                rc = invalid(&why, buf_cstr(&at), "issuer", "the same issuer as /issuers/%zu", j);
                issuer_unref(is);
                goto out;
            }
        }
        issuers = xrealloc(issuers, (ni + 1) * sizeof(*issuers));
        issuers[ni++] = is;
    }
    list = cJSON_GetObjectItemCaseSensitive(doc, "trust");
    if (list && !cJSON_IsArray(list)) {
        rc = invalid(&why, "", "trust", "must be a list of TrustMappings");
        goto out;
    }
    i = 0;
    cJSON_ArrayForEach(item, list) {
        struct mapping *m;

        buf_reset(&at);
        buf_addf(&at, "/trust/%zu", i++);
        if ((rc = mapping_from_def(item, buf_cstr(&at), true, &m, &why)) != RC_OK)
            goto out;
        for (j = 0; j < nm; j++) {
            if (same_key(maps[j], m)) {
                rc = invalid(&why, buf_cstr(&at), NULL, "the same key as /trust/%zu", j);
                mapping_free(m);
                goto out;
            }
        }
        maps = xrealloc(maps, (nm + 1) * sizeof(*maps));
        maps[nm++] = m;
    }

    pthread_rwlock_wrlock(&o->lock);
    if (leeway >= 0)
        o->leeway = leeway;
    for (i = 0; i < ni; i++) {
        put_issuer(&o->cfg_issuers, &o->ncfg_issuers, issuer_ref(issuers[i]));
        put_issuer(&o->issuers, &o->nissuers, issuers[i]);
    }
    for (i = 0; i < nm; i++) {
        put_mapping(&o->cfg_maps, &o->ncfg_maps, mapping_dup(maps[i]));
        put_mapping(&o->maps, &o->nmaps, maps[i]);
    }
    pthread_rwlock_unlock(&o->lock);
    free(issuers);
    free(maps);
    issuers = NULL;
    maps = NULL;
    ni = nm = 0;
out:
    if (rc != RC_OK) {
        if (!why.len)
            buf_addstr(&why, "the auth configuration is not valid");
        buf_addf(err, "%s: %s", path, buf_cstr(&why));
    }
    issuers_drop(issuers, ni);
    maps_drop(maps, nm);
    buf_release(&why);
    buf_release(&at);
    free(dir);
    cJSON_Delete(doc);
    return rc;
}

enum rc oidc_trust_tailscale(struct oidc *o, const char *login, char **principal_id,
                             char **display_name)
{
    enum rc rc = RC_NOT_FOUND;
    size_t i;

    *principal_id = *display_name = NULL;
    if (!login)
        return RC_NOT_FOUND;
    pthread_rwlock_rdlock(&o->lock);
    for (i = 0; i < o->nmaps && rc != RC_OK; i++) {
        const struct mapping *m = o->maps[i];

        if (m->kind == KIND_TAILSCALE && strcasecmp(m->login, login) == 0) {
            *principal_id = xstrdup(m->principal_id);
            *display_name = xstrdup(m->display_name ? m->display_name : m->principal_id);
            rc = RC_OK;
        }
    }
    pthread_rwlock_unlock(&o->lock);
    return rc;
}

/* ---- checking a token ----------------------------------------------------------------- */

static const char *claim_str(const struct jose_jwt *jwt, const char *name)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(jwt->claims, name);

    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static bool alg_allowed(const char *alg)
{
    return strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0;
}

static enum rc deny_alg(struct auth_denial *d, struct buf *why, const char *alg)
{
    struct buf q = BUF_INIT;
    enum rc rc;

    add_q(&q, alg);
    if (strcasecmp(alg, "none") == 0)
        rc = deny(d, why, 401, "alg_not_allowed", "the JWT has alg %s: an unsigned token is "
                  "never accepted; issuers sign with RS256 or ES256", buf_cstr(&q));
    else if (strncasecmp(alg, "HS", 2) == 0)
        rc = deny(d, why, 401, "alg_not_allowed", "the JWT has alg %s: an HMAC alg is never "
                  "accepted for an issuer's token (signing with the issuer's public key as an "
                  "HMAC secret is the RS256-to-HS256 key-confusion attack); only RS256 and "
                  "ES256 are", buf_cstr(&q));
    else
        rc = deny(d, why, 401, "alg_not_allowed", "the JWT has alg %s; only RS256 and ES256 are "
                  "accepted, each with keys of its own type", buf_cstr(&q));
    buf_release(&q);
    return rc;
}

static enum rc deny_unknown_issuer(struct oidc *o, struct auth_denial *d, struct buf *why,
                                   const char *iss)
{
    struct buf b = BUF_INIT;
    size_t i, n;
    enum rc rc;

    if (iss) {
        buf_addstr(&b, "the JWT's issuer ");
        add_q(&b, iss);
        buf_addstr(&b, " is not trusted");
    } else {
        buf_addstr(&b, "the JWT has no 'iss' claim, so no trusted issuer vouches for it");
    }
    pthread_rwlock_rdlock(&o->lock);
    n = o->nissuers;
    if (!n) {
        buf_addstr(&b, "; no issuer is trusted yet (add one with --auth-config or "
                   "POST /__hogmock/issuers)");
    } else {
        buf_addstr(&b, "; trusted issuers: ");
        for (i = 0; i < n && i < LIST_MAX; i++) {
            if (i)
                buf_addstr(&b, ", ");
            add_q(&b, o->issuers[i]->url);
            buf_addf(&b, " (%s)", kind_names[o->issuers[i]->kind]);
        }
        if (n > LIST_MAX)
            buf_addf(&b, " and %zu more", n - LIST_MAX);
        /* The usual near miss: a trailing slash, or http for https. */
        for (i = 0; iss && i < n; i++) {
            const char *u = o->issuers[i]->url;
            size_t lu = strlen(u), li = strlen(iss);

            if ((lu + 1 == li && iss[lu] == '/' && strncmp(u, iss, lu) == 0)
                || (li + 1 == lu && u[li] == '/' && strncmp(u, iss, li) == 0)) {
                buf_addstr(&b, "; the iss claim must equal the issuer exactly, and ");
                add_q(&b, u);
                buf_addstr(&b, " differs from it by a trailing slash");
                break;
            }
        }
    }
    pthread_rwlock_unlock(&o->lock);
    rc = deny(d, why, 401, "unknown_issuer", "%s", buf_cstr(&b));
    buf_release(&b);
    return rc;
}

/* aud holds one of is's audiences; else the sentence to act on in msg. */
static bool audience_ok(const struct issuer *is, const struct jose_jwt *jwt, struct buf *msg)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(jwt->claims, "aud"), *a;
    size_t i, n = 0;

    if (cJSON_IsString(aud)) {
        for (i = 0; i < is->naudiences; i++)
            if (strcmp(aud->valuestring, is->audiences[i]) == 0)
                return true;
    } else if (cJSON_IsArray(aud)) {
        cJSON_ArrayForEach(a, aud)
            for (i = 0; cJSON_IsString(a) && i < is->naudiences; i++)
                if (strcmp(a->valuestring, is->audiences[i]) == 0)
                    return true;
    }
    if (!aud) {
        buf_addstr(msg, "the token has no aud claim");
    } else if (cJSON_IsString(aud) || cJSON_IsArray(aud)) {
        buf_addstr(msg, "token audience is [");
        if (cJSON_IsString(aud)) {
            add_q(msg, aud->valuestring);
        } else {
            cJSON_ArrayForEach(a, aud) {
                if (n == LIST_MAX) {
                    buf_addstr(msg, ", ...");
                    break;
                }
                buf_addstr(msg, n++ ? ", " : "");
                if (cJSON_IsString(a))
                    add_q(msg, a->valuestring);
                else
                    buf_addstr(msg, "(not a string)");
            }
        }
        buf_addch(msg, ']');
    } else {
        buf_addstr(msg, "the token's aud claim is neither a string nor a list of strings");
    }
    buf_addstr(msg, ", this server expects ");
    if (is->naudiences > 1)
        buf_addstr(msg, "one of ");
    for (i = 0; i < is->naudiences && i < LIST_MAX; i++)
        buf_addf(msg, "%s%s", i ? ", " : "", is->audiences[i]);
    if (is->kind == KIND_K8S_SA)
        buf_addf(msg, " — is the pod mounting the default service-account token instead of a "
                 "projected one? Project a ServiceAccount token with audience %s",
                 is->audiences[0]);
    else
        buf_addf(msg, " — request the Actions ID token with audience %s "
                 "(core.getIDToken('%s'))", is->audiences[0], is->audiences[0]);
    return false;
}

/* The claims a k8s_sa token must have: a ServiceAccount sub that agrees with the
 * kubernetes.io claim. *ns, *sa (borrowed from jwt) on success. */
static bool k8s_profile(const struct issuer *is, const struct jose_jwt *jwt, const char **ns,
                        const char **sa, struct buf *msg)
{
    const char *sub = claim_str(jwt, "sub"), *colon;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(jwt->claims, "kubernetes.io");
    const cJSON *kns, *ksa, *kname;
    size_t nslen;

    if (!cJSON_IsObject(k)
        && (claim_str(jwt, "repository") || (sub && str_startswith(sub, "repo:")))) {
        buf_addf(msg, "the token looks like a GitHub Actions OIDC token (repository claim, sub ");
        add_q(msg, sub ? sub : "");
        buf_addstr(msg, "), but its issuer ");
        add_q(msg, is->url);
        buf_addstr(msg, " is trusted for Kubernetes ServiceAccount tokens (k8s_sa): register "
                   "GitHub issuers as github_oidc");
        return false;
    }
    if (!sub || !str_startswith(sub, SA_PREFIX) || !(colon = strchr(sub + strlen(SA_PREFIX), ':'))
        || colon == sub + strlen(SA_PREFIX) || !colon[1] || strchr(colon + 1, ':')) {
        buf_addstr(msg, "a k8s_sa token's sub must be system:serviceaccount:<namespace>:<name>, "
                   "not ");
        if (sub)
            add_q(msg, sub);
        else
            buf_addstr(msg, "absent");
        return false;
    }
    if (!cJSON_IsObject(k)) {
        buf_addstr(msg, "the token has no kubernetes.io claim {namespace, serviceaccount: {name, "
                   "uid}}: a k8s_sa token must be a projected ServiceAccount token");
        return false;
    }
    kns = cJSON_GetObjectItemCaseSensitive(k, "namespace");
    ksa = cJSON_GetObjectItemCaseSensitive(k, "serviceaccount");
    kname = cJSON_GetObjectItemCaseSensitive(ksa, "name");
    if (!cJSON_IsString(kns) || !cJSON_IsObject(ksa) || !cJSON_IsString(kname)) {
        buf_addstr(msg, "the kubernetes.io claim must hold namespace (a string) and "
                   "serviceaccount {name, uid}");
        return false;
    }
    *ns = sub + strlen(SA_PREFIX);
    nslen = (size_t)(colon - *ns);
    if (strlen(kns->valuestring) != nslen || strncmp(kns->valuestring, *ns, nslen) != 0
        || strcmp(kname->valuestring, colon + 1) != 0) {
        buf_addstr(msg, "sub ");
        add_q(msg, sub);
        buf_addstr(msg, " disagrees with the kubernetes.io claim (namespace ");
        add_q(msg, kns->valuestring);
        buf_addstr(msg, ", serviceaccount ");
        add_q(msg, kname->valuestring);
        buf_addch(msg, ')');
        return false;
    }
    *ns = kns->valuestring;
    *sa = kname->valuestring;
    return true;
}

/* sub's repository part ("repo:ORG/REPO:..." or "repo:OWNER@ID/REPO@ID:...") agrees with
 * the repository claim (and its ids with repository_owner_id, repository_id). */
static bool github_sub_agrees(const struct jose_jwt *jwt, const char *sub, const char *repo)
{
    const char *seg = sub + 5, *end = strchr(seg, ':'), *slash, *at1, *at2;
    const char *owner_id = claim_str(jwt, "repository_owner_id");
    const char *repo_id = claim_str(jwt, "repository_id");
    size_t len = end ? (size_t)(end - seg) : strlen(seg);
    const char *rslash = strchr(repo, '/');
    char buf[FIELD_MAX + 1];

    if (!rslash || len > FIELD_MAX)
        return false;
    memcpy(buf, seg, len);
    buf[len] = '\0';
    if (!strchr(buf, '@'))
        return strcasecmp(buf, repo) == 0;
    slash = strchr(buf, '/');
    at1 = strchr(buf, '@');
    at2 = slash ? strchr(slash, '@') : NULL;
    if (!slash || !at1 || at1 > slash || !at2 || !at1[1] || !at2[1])
        return false;
    if ((size_t)(at1 - buf) != (size_t)(rslash - repo)
        || strncasecmp(buf, repo, (size_t)(at1 - buf))
        || (size_t)(at2 - slash - 1) != strlen(rslash + 1)
        || strncasecmp(slash + 1, rslash + 1, (size_t)(at2 - slash - 1)))
        return false;
    if (owner_id && ((size_t)(slash - at1 - 1) != strlen(owner_id)
                     || strncmp(at1 + 1, owner_id, strlen(owner_id)) != 0))
        return false;
    if (repo_id && strcmp(at2 + 1, repo_id) != 0)
        return false;
    return true;
}

/* The claims a github_oidc token must have: repository, and a sub that agrees with it. */
static bool github_profile(const struct issuer *is, const struct jose_jwt *jwt,
                           const char **repo, struct buf *msg)
{
    const char *sub = claim_str(jwt, "sub");

    *repo = claim_str(jwt, "repository");
    if (cJSON_GetObjectItemCaseSensitive(jwt->claims, "kubernetes.io")
        || (sub && str_startswith(sub, SA_PREFIX))) {
        buf_addstr(msg, "the token looks like a Kubernetes ServiceAccount token (kubernetes.io "
                   "claim, sub ");
        add_q(msg, sub ? sub : "");
        buf_addstr(msg, "), but its issuer ");
        add_q(msg, is->url);
        buf_addstr(msg, " is trusted for GitHub Actions OIDC tokens (github_oidc): register "
                   "cluster issuers as k8s_sa");
        return false;
    }
    if (!*repo || !repository_ok(*repo)) {
        buf_addstr(msg, "a github_oidc token needs a repository claim \"owner/repo\"");
        return false;
    }
    if (!sub) {
        buf_addstr(msg, "the token has no sub claim (a string)");
        return false;
    }
    if (str_startswith(sub, "repo:") && !github_sub_agrees(jwt, sub, *repo)) {
        buf_addstr(msg, "sub ");
        add_q(msg, sub);
        buf_addstr(msg, " names another repository than the repository claim ");
        add_q(msg, *repo);
        return false;
    }
    return true;
}

static struct principal *principal_new(const struct mapping *m, const char *auth_path,
                                       const char *sub)
{
    struct principal *p = xcalloc(1, sizeof(*p));

    p->id = xstrdup(m->principal_id);
    p->auth_path = xstrdup(auth_path);
    p->subject = xstrdup(sub);
    p->display_name = xstrdup(m->display_name ? m->display_name : m->principal_id);
    p->attributes = cJSON_CreateObject();
    return p;
}

static enum rc map_k8s(struct oidc *o, const struct issuer *is, const struct jose_jwt *jwt,
                       const char *ns, const char *sa, struct principal **out,
                       struct auth_denial *d, struct buf *why)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(jwt->claims, "kubernetes.io");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(k, "serviceaccount"), "uid");
    const cJSON *pod = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(k, "pod"), "name");
    struct buf b = BUF_INIT;
    size_t i;
    enum rc rc;

    pthread_rwlock_rdlock(&o->lock);
    for (i = 0; i < o->nmaps && !*out; i++) {
        const struct mapping *m = o->maps[i];

        if (m->kind == KIND_K8S_SA && strcmp(m->issuer, is->url) == 0
            && strcmp(m->namespace_name, ns) == 0 && strcmp(m->service_account, sa) == 0)
            *out = principal_new(m, "k8s_sa", claim_str(jwt, "sub"));
    }
    pthread_rwlock_unlock(&o->lock);
    if (*out) {
        cJSON *attrs = (*out)->attributes;

        cJSON_AddStringToObject(attrs, "issuer", is->url);
        cJSON_AddStringToObject(attrs, "namespace", ns);
        cJSON_AddStringToObject(attrs, "sa_name", sa);
        if (cJSON_IsString(uid))
            cJSON_AddStringToObject(attrs, "sa_uid", uid->valuestring);
        if (cJSON_IsString(pod))
            cJSON_AddStringToObject(attrs, "pod", pod->valuestring);
        return RC_OK;
    }
    buf_addstr(&b, "no TrustMapping for issuer ");
    add_q(&b, is->url);
    buf_addstr(&b, ", namespace ");
    add_q(&b, ns);
    buf_addstr(&b, ", sa_name ");
    add_q(&b, sa);
    buf_addstr(&b, ": the token is valid, but names no principal; add {kind: k8s_sa, issuer, "
               "namespace, service_account, principal_id} to trust in --auth-config or "
               "POST it to /__hogmock/trust");
    rc = deny(d, why, 403, "no_trust_mapping", "%s", buf_cstr(&b));
    buf_release(&b);
    return rc;
}

/* How many of m's optional fields are set, or -1 when one does not match the token. */
static int github_match(const struct mapping *m, const struct jose_jwt *jwt)
{
    const char *const fields[][2] = {
        { m->ref, "ref" }, { m->environment, "environment" }, { m->workflow, "workflow" },
        { m->job_workflow_ref, "job_workflow_ref" },
    };
    int n = 0;
    size_t i;

    for (i = 0; i < 4; i++) {
        const char *want = fields[i][0], *have;

        if (!want)
            continue;
        have = claim_str(jwt, fields[i][1]);
        if (!have || strcmp(have, want) != 0)
            return -1;
        n++;
    }
    return n;
}

static void add_github_want(struct buf *b, const struct mapping *m)
{
    const char *const fields[][2] = {
        { m->ref, "ref" }, { m->environment, "environment" }, { m->workflow, "workflow" },
        { m->job_workflow_ref, "job_workflow_ref" },
    };
    size_t i;
    bool any = false;

    for (i = 0; i < 4; i++) {
        if (!fields[i][0])
            continue;
        buf_addf(b, "%s%s ", any ? ", " : "", fields[i][1]);
        add_q(b, fields[i][0]);
        any = true;
    }
}

static enum rc map_github(struct oidc *o, const struct issuer *is, const struct jose_jwt *jwt,
                          const char *repo, struct principal **out, struct auth_denial *d,
                          struct buf *why)
{
    static const char *const opt[] = { "ref", "environment", "workflow", "job_workflow_ref" };
    const struct mapping *best = NULL, *near = NULL;
    struct buf b = BUF_INIT;
    size_t i, candidates = 0;
    int best_n = -1;
    enum rc rc;

    pthread_rwlock_rdlock(&o->lock);
    for (i = 0; i < o->nmaps; i++) {
        const struct mapping *m = o->maps[i];
        int n;

        if (m->kind != KIND_GITHUB_OIDC || strcmp(m->issuer, is->url) != 0
            || strcasecmp(m->repository, repo) != 0)
            continue;
        candidates++;
        n = github_match(m, jwt);
        if (n < 0 && !near)
            near = m;
        if (n > best_n) {
            best = m;
            best_n = n;
        }
    }
    if (best) {
        *out = principal_new(best, "github_oidc", claim_str(jwt, "sub"));
        cJSON_AddStringToObject((*out)->attributes, "issuer", is->url);
        cJSON_AddStringToObject((*out)->attributes, "repository", repo);
        for (i = 0; i < 4; i++)
            if (claim_str(jwt, opt[i]))
                cJSON_AddStringToObject((*out)->attributes, opt[i], claim_str(jwt, opt[i]));
        pthread_rwlock_unlock(&o->lock);
        return RC_OK;
    }
    buf_addstr(&b, "no TrustMapping for GitHub repository ");
    add_q(&b, repo);
    buf_addstr(&b, " (issuer ");
    add_q(&b, is->url);
    for (i = 0; i < 4; i++) {
        if (claim_str(jwt, opt[i])) {
            buf_addf(&b, ", %s ", opt[i]);
            add_q(&b, claim_str(jwt, opt[i]));
        }
    }
    buf_addch(&b, ')');
    if (near) {
        buf_addf(&b, "; %zu mapping%s for this repository did not match: the first wants ",
                 candidates, candidates == 1 ? "" : "s");
        add_github_want(&b, near);
    } else {
        buf_addstr(&b, "; add {kind: github_oidc, repository, principal_id} (narrowed by ref, "
                   "environment, workflow, job_workflow_ref) to trust in --auth-config or POST "
                   "it to /__hogmock/trust");
    }
    pthread_rwlock_unlock(&o->lock);
    rc = deny(d, why, 403, "no_trust_mapping", "%s", buf_cstr(&b));
    buf_release(&b);
    return rc;
}

static enum rc deny_unknown_kid(struct oidc *o, struct issuer *is, const struct keyset *ks,
                                const char *msg, struct auth_denial *d, struct buf *why)
{
    struct buf b = BUF_INIT;
    enum rc rc;

    if (!ks || !ks->set.nkeys) {
        buf_addstr(&b, "no key can be found for issuer ");
        add_q(&b, is->url);
        buf_addstr(&b, ": it has no keys yet");
    } else {
        buf_addstr(&b, msg);
        buf_addstr(&b, " of issuer ");
        add_q(&b, is->url);
    }
    describe_keys(o, is, &b);
    rc = deny(d, why, 401, "unknown_kid", "%s", buf_cstr(&b));
    buf_release(&b);
    return rc;
}

enum rc oidc_resolve(struct oidc *o, const char *token, size_t len, struct principal **out,
                     struct auth_denial *denial, struct buf *why)
{
    struct jose_jwt jwt;
    struct buf msg = BUF_INIT;
    struct issuer *is = NULL;
    struct keyset *ks = NULL;
    const struct jose_key *key = NULL;
    const cJSON *iss;
    const char *sub, *ns = NULL, *sa = NULL, *repo = NULL;
    char *copy = NULL;
    enum jose_err e;
    enum rc rc;
    int64_t now;
    int leeway;

    *out = NULL;
    memset(denial, 0, sizeof(*denial));
    denial->status = 401;
    jose_jwt_init(&jwt);
    if (len > JOSE_MAX_TOKEN) {
        rc = deny(denial, why, 401, "malformed_token", "the JWT is %zu bytes, over the %d-byte "
                  "limit", len, JOSE_MAX_TOKEN);
        goto out;
    }
    copy = xstrndup(token, len);
    if (jose_jwt_decode(copy, &jwt, &msg) != JOSE_OK) {
        rc = deny(denial, why, 401, "malformed_token", "the bearer token is not a well-formed "
                  "signed JWT: %s", buf_cstr(&msg));
        goto out;
    }
    iss = cJSON_GetObjectItemCaseSensitive(jwt.claims, "iss");
    sub = claim_str(&jwt, "sub");
    set_field(denial->subject, sizeof(denial->subject), sub);
    if (iss && !cJSON_IsString(iss)) {
        rc = deny(denial, why, 401, "malformed_token", "the JWT's iss claim is not a string");
        goto out;
    }
    if (!iss) {
        rc = deny_unknown_issuer(o, denial, why, NULL);
        goto out;
    }
    set_field(denial->issuer, sizeof(denial->issuer), iss->valuestring);
    if (strcmp(iss->valuestring, LEGACY_ISSUER) == 0) {
        rc = deny(denial, why, 401, "unknown_issuer", "this is a legacy secret-based "
                  "ServiceAccount token (iss 'kubernetes/serviceaccount', %s): it never expires "
                  "and no OIDC issuer vouches for it; use a projected ServiceAccount token with "
                  "audience hogland instead (a serviceAccountToken volume source with "
                  "audience: hogland and an expirationSeconds)",
                  cJSON_GetObjectItemCaseSensitive(jwt.claims, "exp") ? "from a Secret"
                                                                      : "no exp, no aud");
        goto out;
    }
    if (!alg_allowed(jwt.alg)) {
        rc = deny_alg(denial, why, jwt.alg);
        goto out;
    }
    if (!(is = issuer_find(o, iss->valuestring))) {
        rc = deny_unknown_issuer(o, denial, why, iss->valuestring);
        goto out;
    }

    ks = issuer_keys(o, is, false);
    e = ks ? jose_jwks_select(&ks->set, &jwt, &key, &msg) : JOSE_UNKNOWN_KID;
    if (e == JOSE_UNKNOWN_KID && refetch_allowed(o, is)) {
        keyset_unref(ks);
        buf_reset(&msg);
        ks = issuer_keys(o, is, true);
        e = ks ? jose_jwks_select(&ks->set, &jwt, &key, &msg) : JOSE_UNKNOWN_KID;
    }
    if (e != JOSE_OK) {
        rc = deny_unknown_kid(o, is, ks, buf_cstr(&msg), denial, why);
        goto out;
    }
    buf_reset(&msg);
    if ((e = jose_jwt_verify(&jwt, key, &msg)) != JOSE_OK) {
        rc = deny(denial, why, 401, e == JOSE_ALG_NOT_ALLOWED ? "alg_not_allowed"
                  : "bad_signature", "%s (issuer %s)", buf_cstr(&msg), is->url);
        goto out;
    }

    buf_reset(&msg);
    pthread_rwlock_rdlock(&o->lock);
    leeway = is->leeway >= 0 ? is->leeway : o->leeway;
    pthread_rwlock_unlock(&o->lock);
    now = (int64_t)(vclock_now_ms(o->clock) / 1000u);
    if ((e = jose_claims_check_time(&jwt, now, leeway, &msg)) != JOSE_OK) {
        const char *m = buf_cstr(&msg);

        rc = deny(denial, why, 401, e == JOSE_EXPIRED ? "token_expired"
                  : e == JOSE_NOT_YET_VALID ? "token_not_yet_valid" : "invalid_claims",
                  "the token from issuer %s %s%s", is->url,
                  str_startswith(m, "expired") ? "" : str_startswith(m, "not valid") ? "is "
                  : str_startswith(m, "issued") ? "was " : "is refused: ", m);
        goto out;
    }
    buf_reset(&msg);
    if (!audience_ok(is, &jwt, &msg)) {
        rc = deny(denial, why, 401, "audience_mismatch", "%s", buf_cstr(&msg));
        goto out;
    }
    buf_reset(&msg);
    if (is->kind == KIND_K8S_SA ? !k8s_profile(is, &jwt, &ns, &sa, &msg)
                                : !github_profile(is, &jwt, &repo, &msg)) {
        rc = deny(denial, why, 401, "invalid_claims", "%s", buf_cstr(&msg));
        goto out;
    }
    rc = is->kind == KIND_K8S_SA ? map_k8s(o, is, &jwt, ns, sa, out, denial, why)
                                 : map_github(o, is, &jwt, repo, out, denial, why);
    if (rc == RC_OK)
        memset(denial, 0, sizeof(*denial));
out:
    keyset_unref(ks);
    issuer_unref(is);
    jose_jwt_release(&jwt);
    buf_release(&msg);
    free(copy);
    return rc;
}
