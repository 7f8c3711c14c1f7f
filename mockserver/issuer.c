#include "issuer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "admin.h"
#include "base64.h"
#include "digest.h"
#include "jose.h"
#include "log.h"
#include "oidc.h"
#include "server.h"
#include "vclock.h"
#include "xmalloc.h"
#include "yamljson.h"

#define OIDC_PATH "/__hogmock/oidc/"
/* How far outside its validity window an expired or not-yet-valid token lies: well past
 * any verifier's leeway for clock skew (hogplane allows 60 s). */
#define OUTSIDE_WINDOW 600

static const char *const kind_names[ISSUER__COUNT] = { "k8s", "github" };
static const char *const kind_oidc[ISSUER__COUNT] = { "k8s_sa", "github_oidc" };
/* Each kind's own algorithm for a key it makes: kube-apiserver signs with an EC or RSA
 * key; GitHub signs with RSA. */
static const char *const kind_alg[ISSUER__COUNT] = { "ES256", "RS256" };

static const char *const broken_kinds[] = {
    "alg_none", "wrong_key", "hs256_confusion", "expired", "not_yet_valid",
    "wrong_audience", "bad_base64url", "jwe_shaped", "no_kid", "unknown_kid", NULL,
};

/* The shortcuts of each kind, for telling a caller who mixes them up. */
static const char *const k8s_shortcuts[] = { "namespace", "service_account", "pod", NULL };
static const char *const github_shortcuts[] = { "repository", "ref", "environment", "workflow",
                                                NULL };

enum rc issuer_kind_parse(const char *name, enum issuer_kind *out)
{
    int k;

    for (k = 0; k < ISSUER__COUNT; k++) {
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (enum issuer_kind)k;
            return RC_OK;
        }
    }
    return RC_NOT_FOUND;
}

const char *issuer_kind_name(enum issuer_kind kind)
{
    return kind >= 0 && kind < ISSUER__COUNT ? kind_names[kind] : "?";
}

/* ---- helpers ---------------------------------------------------------------------- */

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static const char *member_str(const cJSON *obj, const char *name)
{
    const cJSON *v = member(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void set_member(cJSON *obj, const char *name, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, value);
    else
        cJSON_AddItemToObject(obj, name, value);
}

/* A name as Kubernetes allows it: an RFC 1123 label (namespace) or subdomain (the rest):
 * lowercase letters, digits and '-' (and '.' in a subdomain), alphanumeric at both ends. */
static bool k8s_name_ok(const char *s, bool subdomain)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > (subdomain ? 253u : 63u))
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && !(c == '-' && i > 0 && i + 1 < n) && !(subdomain && c == '.' && i > 0
                                                             && i + 1 < n))
            return false;
    }
    return true;
}

/* "owner/repo", each part of letters, digits, '-', '_' and '.'. */
static bool repository_ok(const char *s)
{
    const char *slash = strchr(s, '/'), *p;

    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') || strlen(s) > 200)
        return false;
    for (p = s; *p; p++) {
        char c = *p;

        if (!(c == '/' || c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* A UUID that depends only on what (so the same ServiceAccount keeps its uid), or a
 * random one when what is NULL, as the 36-character text form. */
static void make_uuid(const char *what, char out[37])
{
    unsigned char b[DIGEST_SHA256_LEN];

    if (what)
        digest_sha256(what, strlen(what), b);
    else if (RAND_bytes(b, 16) != 1)
        memset(b, 0, 16);   /* no randomness to be had: still a well-formed id */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* A decimal id that depends only on what (GitHub's numeric ids, as strings). */
static void make_numeric_id(const char *what, char out[16])
{
    unsigned char b[DIGEST_SHA256_LEN];
    unsigned long v;

    digest_sha256(what, strlen(what), b);
    v = ((unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 | (unsigned long)b[2] << 8
         | b[3]) % 900000000ul + 100000000ul;
    snprintf(out, 16, "%lu", v);
}

/* ---- claims of each kind ------------------------------------------------------------ */

struct times {
    int64_t iat, nbf, exp;
};

static void add_times(cJSON *claims, const struct times *t, bool k8s_order)
{
    if (k8s_order) {
        cJSON_AddNumberToObject(claims, "exp", (double)t->exp);
        cJSON_AddNumberToObject(claims, "nbf", (double)t->nbf);
        cJSON_AddNumberToObject(claims, "iat", (double)t->iat);
    } else {
        cJSON_AddNumberToObject(claims, "nbf", (double)t->nbf);
        cJSON_AddNumberToObject(claims, "exp", (double)t->exp);
        cJSON_AddNumberToObject(claims, "iat", (double)t->iat);
    }
}

/* The audience asked for (a string or a list), or the default, as a new aud value:
 * Kubernetes always writes a list, GitHub a string when there is one audience. */
static cJSON *audience(const cJSON *req, bool as_list)
{
    const cJSON *a = member(req, "audience");
    cJSON *aud;

    if (cJSON_IsArray(a))
        return cJSON_GetArraySize(a) == 1 && !as_list
               ? cJSON_Duplicate(cJSON_GetArrayItem(a, 0), 1) : cJSON_Duplicate(a, 1);
    if (!as_list)
        return cJSON_CreateString(cJSON_IsString(a) ? a->valuestring : ISSUER_AUDIENCE);
    aud = cJSON_CreateArray();
    cJSON_AddItemToArray(aud, cJSON_CreateString(cJSON_IsString(a) ? a->valuestring
                                                                    : ISSUER_AUDIENCE));
    return aud;
}

/* A projected ServiceAccount token's claims, as kube-apiserver writes them. */
static enum rc k8s_claims(const char *iss, const cJSON *req, const struct times *t,
                          bool wrong_audience, cJSON **out, struct buf *err)
{
    const char *ns = member_str(req, "namespace"), *sa = member_str(req, "service_account");
    const char *pod = member_str(req, "pod");
    struct buf b = BUF_INIT;
    char uid[37], jti[37];
    cJSON *c, *kio, *o;

    ns = ns ? ns : "default";
    sa = sa ? sa : "default";
    if (!k8s_name_ok(ns, false)) {
        buf_addf(err, "/namespace: '%s' is not a namespace name (lowercase letters, digits "
                 "and '-', at most 63)", ns);
        return RC_INVALID;
    }
    if (!k8s_name_ok(sa, true) || (pod && !k8s_name_ok(pod, true))) {
        buf_addf(err, "/%s: '%s' is not a Kubernetes object name (lowercase letters, digits, "
                 "'-' and '.', at most 253)", k8s_name_ok(sa, true) ? "pod" : "service_account",
                 k8s_name_ok(sa, true) ? pod : sa);
        return RC_INVALID;
    }
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "iss", iss);
    buf_addf(&b, "system:serviceaccount:%s:%s", ns, sa);
    cJSON_AddStringToObject(c, "sub", buf_cstr(&b));
    if (wrong_audience) {
        /* The API server's own audience: what an unprojected token carries. */
        o = cJSON_AddArrayToObject(c, "aud");
        cJSON_AddItemToArray(o, cJSON_CreateString("https://kubernetes.default.svc.cluster.local"));
    } else {
        cJSON_AddItemToObject(c, "aud", audience(req, true));
    }
    add_times(c, t, true);
    make_uuid(NULL, jti);
    cJSON_AddStringToObject(c, "jti", jti);
    kio = cJSON_AddObjectToObject(c, "kubernetes.io");
    cJSON_AddStringToObject(kio, "namespace", ns);
    if (pod) {
        o = cJSON_AddObjectToObject(kio, "pod");
        cJSON_AddStringToObject(o, "name", pod);
        buf_reset(&b);
        buf_addf(&b, "pod/%s/%s", ns, pod);
        make_uuid(buf_cstr(&b), uid);
        cJSON_AddStringToObject(o, "uid", uid);
    }
    o = cJSON_AddObjectToObject(kio, "serviceaccount");
    cJSON_AddStringToObject(o, "name", sa);
    buf_reset(&b);
    buf_addf(&b, "serviceaccount/%s/%s", ns, sa);
    make_uuid(buf_cstr(&b), uid);
    cJSON_AddStringToObject(o, "uid", uid);
    buf_release(&b);
    *out = c;
    return RC_OK;
}

/* A GitHub Actions OIDC token's claims, as GitHub writes them for a push workflow run. */
static enum rc github_claims(const char *iss, const cJSON *req, const struct times *t,
                             bool wrong_audience, cJSON **out, struct buf *err)
{
    const char *repo = member_str(req, "repository"), *ref = member_str(req, "ref");
    const char *env = member_str(req, "environment"), *workflow = member_str(req, "workflow");
    struct buf b = BUF_INIT, wref = BUF_INIT;
    char id[16], jti[37], sha[2 * DIGEST_SHA256_LEN + 1];
    size_t owner_len;
    const char *p;
    cJSON *c;

    repo = repo ? repo : "acme/agents";
    ref = ref ? ref : "refs/heads/main";
    workflow = workflow ? workflow : "ci";
    if (!repository_ok(repo)) {
        buf_addf(err, "/repository: '%s' is not OWNER/REPO", repo);
        return RC_INVALID;
    }
    if (!str_startswith(ref, "refs/") || strlen(ref) > 255) {
        buf_addf(err, "/ref: '%s' is not a git ref (refs/heads/..., refs/tags/...)", ref);
        return RC_INVALID;
    }
    if ((env && (!*env || strlen(env) > 255)) || !*workflow || strlen(workflow) > 255) {
        buf_addf(err, "/%s: must be 1 to 255 characters", env && (!*env || strlen(env) > 255)
                 ? "environment" : "workflow");
        return RC_INVALID;
    }
    owner_len = (size_t)(strchr(repo, '/') - repo);
    c = cJSON_CreateObject();
    make_uuid(NULL, jti);
    cJSON_AddStringToObject(c, "jti", jti);
    /* GitHub names the environment in sub when the job has one, else the ref. */
    if (env)
        buf_addf(&b, "repo:%s:environment:%s", repo, env);
    else
        buf_addf(&b, "repo:%s:ref:%s", repo, ref);
    cJSON_AddStringToObject(c, "sub", buf_cstr(&b));
    if (env)
        cJSON_AddStringToObject(c, "environment", env);
    if (wrong_audience) {
        /* GitHub's default audience: the owner's URL. */
        buf_reset(&b);
        buf_addf(&b, "https://github.com/%.*s", (int)owner_len, repo);
        cJSON_AddStringToObject(c, "aud", buf_cstr(&b));
    } else {
        cJSON_AddItemToObject(c, "aud", audience(req, false));
    }
    cJSON_AddStringToObject(c, "ref", ref);
    buf_reset(&b);
    buf_addf(&b, "%s@%s", repo, ref);
    digest_sha256_hex(b.data, b.len, sha);
    sha[40] = '\0';
    cJSON_AddStringToObject(c, "sha", sha);
    cJSON_AddStringToObject(c, "repository", repo);
    buf_reset(&b);
    buf_add(&b, repo, owner_len);
    cJSON_AddStringToObject(c, "repository_owner", buf_cstr(&b));
    make_numeric_id(buf_cstr(&b), id);
    cJSON_AddStringToObject(c, "repository_owner_id", id);
    snprintf(id, sizeof(id), "%lld", (long long)(t->iat % 10000000000LL));
    cJSON_AddStringToObject(c, "run_id", id);
    cJSON_AddStringToObject(c, "run_number", "1");
    cJSON_AddStringToObject(c, "run_attempt", "1");
    cJSON_AddStringToObject(c, "repository_visibility", "private");
    make_numeric_id(repo, id);
    cJSON_AddStringToObject(c, "repository_id", id);
    make_numeric_id("octocat", id);
    cJSON_AddStringToObject(c, "actor_id", id);
    cJSON_AddStringToObject(c, "actor", "octocat");
    cJSON_AddStringToObject(c, "workflow", workflow);
    cJSON_AddStringToObject(c, "head_ref", "");
    cJSON_AddStringToObject(c, "base_ref", "");
    cJSON_AddStringToObject(c, "event_name", "push");
    cJSON_AddStringToObject(c, "ref_protected", "false");
    cJSON_AddStringToObject(c, "ref_type", str_startswith(ref, "refs/tags/") ? "tag" : "branch");
    /* The workflow file is named after the workflow, as far as a file name allows. */
    buf_addf(&wref, "%s/.github/workflows/", repo);
    for (p = workflow; *p; p++) {
        char ch = *p;

        buf_addch(&wref, (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a')
                         : ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'
                            || ch == '_' || ch == '.') ? ch : '-');
    }
    buf_addf(&wref, ".yml@%s", ref);
    cJSON_AddStringToObject(c, "workflow_ref", buf_cstr(&wref));
    cJSON_AddStringToObject(c, "workflow_sha", sha);
    cJSON_AddStringToObject(c, "job_workflow_ref", buf_cstr(&wref));
    cJSON_AddStringToObject(c, "job_workflow_sha", sha);
    cJSON_AddStringToObject(c, "runner_environment", "github-hosted");
    cJSON_AddStringToObject(c, "iss", iss);
    add_times(c, t, false);
    buf_release(&b);
    buf_release(&wref);
    *out = c;
    return RC_OK;
}

/* ---- minting ---------------------------------------------------------------------- */

void mint_result_release(struct mint_result *m)
{
    free(m->token);
    cJSON_Delete(m->header);
    cJSON_Delete(m->claims);
    memset(m, 0, sizeof(*m));
}

/* The request's members that make sense for kind, and their types (the admin API's
 * schema says as much; the command line comes here unchecked). */
static enum rc check_request(enum issuer_kind kind, const cJSON *req, const char **broken,
                             int64_t *lifetime, struct buf *err)
{
    const char *const *other = kind == ISSUER_K8S ? github_shortcuts : k8s_shortcuts;
    const char *const *mine = kind == ISSUER_K8S ? k8s_shortcuts : github_shortcuts;
    const cJSON *v;
    size_t i;

    for (i = 0; other[i]; i++) {
        if (member(req, other[i])) {
            buf_addf(err, "/%s: the %s issuer does not take it (it takes %s, %s and %s)",
                     other[i], kind_names[kind], mine[0], mine[1], mine[2]);
            return RC_INVALID;
        }
    }
    for (i = 0; mine[i]; i++) {
        v = member(req, mine[i]);
        if (v && !cJSON_IsString(v)) {
            buf_addf(err, "/%s: must be a string", mine[i]);
            return RC_INVALID;
        }
    }
    *broken = NULL;
    if ((v = member(req, "broken")) != NULL) {
        for (i = 0; broken_kinds[i] && !(cJSON_IsString(v)
                                         && strcmp(v->valuestring, broken_kinds[i]) == 0); i++)
            ;
        if (!broken_kinds[i]) {
            buf_addstr(err, "/broken: must be one of alg_none, wrong_key, hs256_confusion, "
                       "expired, not_yet_valid, wrong_audience, bad_base64url, jwe_shaped, "
                       "no_kid, unknown_kid");
            return RC_INVALID;
        }
        *broken = v->valuestring;
    }
    *lifetime = ISSUER_LIFETIME_DEFAULT;
    if ((v = member(req, "lifetime_seconds")) != NULL) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= ISSUER_LIFETIME_MAX)
            || v->valuedouble != (double)(int64_t)v->valuedouble) {
            buf_addf(err, "/lifetime_seconds: must be a whole number of seconds from 1 to %d",
                     ISSUER_LIFETIME_MAX);
            return RC_INVALID;
        }
        *lifetime = (int64_t)v->valuedouble;
    }
    if ((v = member(req, "audience")) != NULL) {
        const cJSON *a;
        bool ok = cJSON_IsString(v) ? *v->valuestring != '\0'
                                    : cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0;

        if (cJSON_IsArray(v))
            cJSON_ArrayForEach(a, v)
                ok = ok && cJSON_IsString(a) && *a->valuestring;
        if (!ok) {
            buf_addstr(err, "/audience: must be a non-empty string or list of them");
            return RC_INVALID;
        }
    }
    if ((v = member(req, "kid")) != NULL && !(cJSON_IsString(v) && *v->valuestring)) {
        buf_addstr(err, "/kid: must be a non-empty string");
        return RC_INVALID;
    }
    if ((v = member(req, "claims")) != NULL && !cJSON_IsObject(v)) {
        buf_addstr(err, "/claims: must be an object");
        return RC_INVALID;
    }
    return RC_OK;
}

/* The header of a compact token, decoded; NULL when its first part is not base64url JSON. */
static cJSON *token_header(const char *token)
{
    const char *dot = strchr(token, '.');
    struct buf b = BUF_INIT;
    cJSON *h = NULL;

    if (dot && base64url_decode(token, (size_t)(dot - token), &b) == RC_OK)
        h = cJSON_ParseWithLength(b.data, b.len);
    buf_release(&b);
    return h;
}

enum rc issuer_mint(enum issuer_kind kind, const char *iss, const struct jose_key *key,
                    const struct jose_key *wrong_key, const cJSON *req, int64_t now,
                    struct mint_result *out, struct buf *err)
{
    const char *broken = NULL, *kid = member_str(req, "kid");
    const cJSON *extra = member(req, "claims"), *v;
    struct jose_key *made = NULL, nokid;
    struct buf kidbuf = BUF_INIT;
    cJSON *claims = NULL, *header = NULL;
    char *token = NULL;
    struct times t;
    int64_t lifetime;
    enum jose_err je = JOSE_OK;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = check_request(kind, req, &broken, &lifetime, err)) != RC_OK)
        return rc;
#define IS(k) (broken && strcmp(broken, k) == 0)
    t.iat = t.nbf = now;
    if (IS("expired"))
        t.iat = t.nbf = now - OUTSIDE_WINDOW - lifetime;
    else if (IS("not_yet_valid"))
        t.iat = t.nbf = now + OUTSIDE_WINDOW;
    t.exp = t.iat + lifetime;
    rc = kind == ISSUER_K8S ? k8s_claims(iss, req, &t, IS("wrong_audience"), &claims, err)
                            : github_claims(iss, req, &t, IS("wrong_audience"), &claims, err);
    if (rc != RC_OK)
        return rc;
    /* The caller's claims last: a member replaces, null removes. */
    cJSON_ArrayForEach(v, extra) {
        if (cJSON_IsNull(v))
            cJSON_DeleteItemFromObjectCaseSensitive(claims, v->string);
        else
            set_member(claims, v->string, cJSON_Duplicate(v, 1));
    }

    if (IS("unknown_kid")) {
        buf_addf(&kidbuf, "unknown-%s", key->kid ? key->kid : "kid");
        kid = buf_cstr(&kidbuf);
    } else if (!kid || IS("no_kid")) {
        kid = key->kid;
    }
    if (kid && !IS("no_kid")) {
        header = cJSON_CreateObject();
        cJSON_AddStringToObject(header, "kid", kid);
    }

    if (IS("alg_none")) {
        token = jose_mint_alg_none("none", kid, claims);
    } else if (IS("hs256_confusion")) {
        je = jose_mint_hs256_confusion(claims, key, &token, err);
    } else if (IS("jwe_shaped")) {
        token = jose_mint_jwe_shaped();
        cJSON_Delete(claims);
        claims = NULL;
    } else if (IS("wrong_key")) {
        /* Same alg and kid as the issuer's key, another key pair: a bad signature. */
        if (!wrong_key && (je = jose_key_generate(key->alg, key->kid, &made, err)) == JOSE_OK)
            wrong_key = made;
        if (je == JOSE_OK)
            je = jose_jwt_sign(header, claims, wrong_key, &token, err);
    } else if (IS("no_kid")) {
        nokid = *key;   /* borrows the key pair; only the name goes */
        nokid.kid = NULL;
        je = jose_jwt_sign(NULL, claims, &nokid, &token, err);
    } else {
        je = jose_jwt_sign(header, claims, key, &token, err);
    }
    if (je == JOSE_OK && token) {
        out->header = token_header(token);
        if (IS("bad_base64url")) {
            char *bad = jose_mint_bad_base64url(token, 1, '+');

            free(token);
            token = bad;
        }
    }
#undef IS
    cJSON_Delete(header);
    jose_key_free(made);
    buf_release(&kidbuf);
    if (je != JOSE_OK || !token) {
        if (err && !err->len)
            buf_addstr(err, "the token could not be signed");
        cJSON_Delete(claims);
        cJSON_Delete(out->header);
        out->header = NULL;
        free(token);
        return RC_ERR;
    }
    out->token = token;
    out->claims = claims;
    v = member(claims, "exp");
    out->expires_at = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
    return RC_OK;
}

/* ---- a running hogmock's issuers ------------------------------------------------------ */

struct issuer {
    bool on;
    struct jose_key *key;
    struct jose_key *wrong_key;     /* made on first use, under the lock */
    char *url;                      /* NULL until issuers_start, under the lock */
};

struct issuers {
    struct issuer set[ISSUER__COUNT];
    pthread_mutex_t lock;
};

struct issuers *issuers_new(void)
{
    struct issuers *is = xcalloc(1, sizeof(*is));

    pthread_mutex_init(&is->lock, NULL);
    return is;
}

void issuers_free(struct issuers *is)
{
    int k;

    if (!is)
        return;
    for (k = 0; k < ISSUER__COUNT; k++) {
        jose_key_free(is->set[k].key);
        jose_key_free(is->set[k].wrong_key);
        free(is->set[k].url);
    }
    pthread_mutex_destroy(&is->lock);
    free(is);
}

/* Enable from spec, with a relative key file taken from dir (NULL: as given). */
static enum rc enable(struct issuers *is, const char *spec, const char *dir, struct buf *err)
{
    const char *eq = strchr(spec, '=');
    char *name = eq ? xstrndup(spec, (size_t)(eq - spec)) : xstrdup(spec);
    struct buf path = BUF_INIT, why = BUF_INIT;
    struct jose_key *key = NULL;
    enum issuer_kind kind;
    enum jose_err je;
    enum rc rc = RC_OK;

    if (issuer_kind_parse(name, &kind) != RC_OK) {
        buf_addf(err, "unknown built-in issuer '%s' (k8s or github)", name);
        rc = RC_INVALID;
        goto out;
    }
    if (eq && !eq[1]) {
        buf_addf(err, "built-in issuer %s: no key file after '='", name);
        rc = RC_INVALID;
        goto out;
    }
    if (eq) {
        if (dir && eq[1] != '/')
            buf_addf(&path, "%s/", dir);
        buf_addstr(&path, eq + 1);
        je = jose_key_load_pem(buf_cstr(&path), NULL, NULL, &key, &why);
        if (je == JOSE_OK && !key->has_private) {
            buf_addf(&why, "'%s' holds a public key; signing needs the private one",
                     buf_cstr(&path));
            je = JOSE_BAD_KEY;
        }
    } else {
        je = jose_key_generate(kind_alg[kind], NULL, &key, &why);
    }
    if (je != JOSE_OK) {
        buf_addf(err, "built-in issuer %s: %s", name, buf_cstr(&why));
        rc = je == JOSE_IO ? RC_IO : RC_INVALID;
        goto out;
    }
    jose_key_free(is->set[kind].key);
    jose_key_free(is->set[kind].wrong_key);
    is->set[kind].wrong_key = NULL;
    is->set[kind].key = key;
    is->set[kind].on = true;
    key = NULL;
out:
    jose_key_free(key);
    buf_release(&path);
    buf_release(&why);
    free(name);
    return rc;
}

enum rc issuers_enable(struct issuers *is, const char *spec, struct buf *err)
{
    return enable(is, spec, NULL, err);
}

enum rc issuers_enable_config(struct issuers *is, const char *path, struct buf *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : NULL;
    const cJSON *list, *item;
    cJSON *doc = NULL;
    struct buf why = BUF_INIT;
    enum rc rc;
    int i = 0;

    if ((rc = yamljson_load_file(path, &doc, err)) != RC_OK)
        goto out;
    list = member(doc, "builtin_issuers");
    if (list && !cJSON_IsArray(list)) {
        buf_addf(err, "%s: /builtin_issuers: must be a list of issuer names (k8s, github)", path);
        rc = RC_INVALID;
        goto out;
    }
    cJSON_ArrayForEach(item, list) {
        buf_reset(&why);
        rc = cJSON_IsString(item) ? enable(is, item->valuestring, dir, &why) : RC_INVALID;
        if (rc != RC_OK) {
            buf_addf(err, "%s: /builtin_issuers/%d: %s", path, i,
                     why.len ? buf_cstr(&why) : "must be an issuer name (k8s, github)");
            goto out;
        }
        i++;
    }
out:
    cJSON_Delete(doc);
    buf_release(&why);
    free(dir);
    return rc;
}

bool issuers_any(const struct issuers *is)
{
    int k;

    for (k = 0; k < ISSUER__COUNT; k++)
        if (is->set[k].on)
            return true;
    return false;
}

static cJSON *jwks_of(const struct issuer *it)
{
    cJSON *jwks = cJSON_CreateObject();

    cJSON_AddItemToArray(cJSON_AddArrayToObject(jwks, "keys"), jose_key_to_jwk(it->key));
    return jwks;
}

void issuers_register(struct issuers *is, struct oidc *oidc)
{
    struct buf err = BUF_INIT;
    int k;

    for (k = 0; k < ISSUER__COUNT; k++) {
        struct issuer *it = &is->set[k];
        cJSON *def;

        if (!it->on || !it->url)
            continue;
        def = cJSON_CreateObject();
        cJSON_AddStringToObject(def, "issuer", it->url);
        cJSON_AddStringToObject(def, "kind", kind_oidc[k]);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(def, "audiences"),
                             cJSON_CreateString(ISSUER_AUDIENCE));
        cJSON_AddItemToObject(def, "jwks", jwks_of(it));
        buf_reset(&err);
        if (oidc_add_issuer(oidc, def, &err) != RC_OK)
            log_warn("built-in issuer %s is not trusted: %s", kind_names[k], buf_cstr(&err));
        cJSON_Delete(def);
    }
    buf_release(&err);
}

void issuers_start(struct issuers *is, const char *base_url, struct oidc *oidc)
{
    int k;

    for (k = 0; k < ISSUER__COUNT; k++) {
        struct buf url = BUF_INIT;

        if (!is->set[k].on)
            continue;
        buf_addf(&url, "%s" OIDC_PATH "%s", base_url, kind_names[k]);
        pthread_mutex_lock(&is->lock);
        free(is->set[k].url);
        is->set[k].url = buf_detach(&url, NULL);
        pthread_mutex_unlock(&is->lock);
        log_info("built-in issuer %s: %s (kid %s)", kind_names[k], is->set[k].url,
                 is->set[k].key->kid ? is->set[k].key->kid : "none");
    }
    issuers_register(is, oidc);
}

/* ---- the admin API ---------------------------------------------------------------- */

/* The running issuer the request names, or NULL after answering 404. A request that
 * comes between the listener's start and issuers_start finds it not named yet. */
static struct issuer *running(struct req *r, const char *name, enum issuer_kind *kind)
{
    struct issuers *is = r->hm->issuers;
    bool named = false;

    if (name && issuer_kind_parse(name, kind) == RC_OK && is->set[*kind].on) {
        pthread_mutex_lock(&is->lock);
        named = is->set[*kind].url != NULL;
        pthread_mutex_unlock(&is->lock);
        if (named)
            return &is->set[*kind];
        req_problem(r, 404, "not_found", "the built-in issuer %s is still starting", name);
    } else if (name && issuer_kind_parse(name, kind) == RC_OK) {
        req_problem(r, 404, "not_found", "hogmock runs no built-in issuer %s (start it with "
                    "--issuer %s)", name, name);
    } else {
        req_problem(r, 404, "not_found", "no built-in issuer is called '%.64s' (k8s, github)",
                    name ? name : "");
    }
    return NULL;
}

/* GET /__hogmock/oidc/{name}/.well-known/openid-configuration: OpenID Connect Discovery
 * 1.0, with what the real issuer of the kind lists. */
static void admin_oidc_discovery(struct req *r)
{
    enum issuer_kind kind;
    struct issuer *it = running(r, req_path_str(r, "name"), &kind);
    struct buf jwks_uri = BUF_INIT;
    cJSON *d, *a;

    if (!it)
        return;
    buf_addf(&jwks_uri, "%s/keys", it->url);
    d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "issuer", it->url);
    cJSON_AddStringToObject(d, "jwks_uri", buf_cstr(&jwks_uri));
    a = cJSON_AddArrayToObject(d, "response_types_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("id_token"));
    a = cJSON_AddArrayToObject(d, "subject_types_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString("public"));
    a = cJSON_AddArrayToObject(d, "id_token_signing_alg_values_supported");
    cJSON_AddItemToArray(a, cJSON_CreateString(it->key->alg));
    if (kind == ISSUER_GITHUB) {
        static const char *const claims[] = {
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
            "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number",
            "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "workflow_sha",
            "head_ref", "base_ref", "event_name", "ref_type", "ref_protected", "environment",
            "job_workflow_ref", "job_workflow_sha", "repository_visibility",
            "runner_environment",
        };
        size_t i;

        a = cJSON_AddArrayToObject(d, "claims_supported");
        for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(claims[i]));
        a = cJSON_AddArrayToObject(d, "scopes_supported");
        cJSON_AddItemToArray(a, cJSON_CreateString("openid"));
    }
    buf_release(&jwks_uri);
    req_json(r, 200, d);
}

/* GET /__hogmock/oidc/{name}/keys: the issuer's public JWKS. */
static void admin_oidc_jwks(struct req *r)
{
    enum issuer_kind kind;
    struct issuer *it = running(r, req_path_str(r, "name"), &kind);

    if (it)
        req_json(r, 200, jwks_of(it));
}

/* The issuer's other key pair for wrong_key tokens, made once. */
static const struct jose_key *wrong_key_of(struct issuers *is, struct issuer *it)
{
    const struct jose_key *k;

    pthread_mutex_lock(&is->lock);
    if (!it->wrong_key && jose_key_generate(it->key->alg, it->key->kid, &it->wrong_key, NULL))
        it->wrong_key = NULL;
    k = it->wrong_key;
    pthread_mutex_unlock(&is->lock);
    return k;
}

/* POST /__hogmock/mint */
static void admin_mint(struct req *r)
{
    struct hogmock *hm = r->hm;
    const char *broken = member_str(r->json, "broken");
    struct mint_result m;
    struct buf err = BUF_INIT;
    enum issuer_kind kind;
    struct issuer *it = running(r, member_str(r->json, "issuer"), &kind);
    int64_t now = (int64_t)(vclock_now_ms(hm->clock) / 1000);
    char when[40];
    enum rc rc;
    cJSON *o;

    if (!it)
        return;
    rc = issuer_mint(kind, it->url, it->key,
                     broken && strcmp(broken, "wrong_key") == 0 ? wrong_key_of(hm->issuers, it)
                                                               : NULL,
                     r->json, now, &m, &err);
    if (rc == RC_INVALID) {
        admin_invalid_body(r, "the mint request does not fit the issuer", buf_cstr(&err));
    } else if (rc != RC_OK) {
        log_error("mint: %s", buf_cstr(&err));
        req_problem(r, 500, "internal_error", "the token could not be minted");
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "token", m.token);
        cJSON_AddItemToObject(o, "header", m.header ? m.header : cJSON_CreateObject());
        cJSON_AddItemToObject(o, "claims", m.claims ? m.claims : cJSON_CreateNull());
        m.header = m.claims = NULL;
        if (m.expires_at > 0 && m.expires_at <= 253402300799) {
            vclock_format((uint64_t)m.expires_at * 1000u, when, sizeof(when));
            cJSON_AddStringToObject(o, "expires_at", when);
        } else {
            cJSON_AddNullToObject(o, "expires_at");
        }
        req_json(r, 200, o);
        mint_result_release(&m);
    }
    buf_release(&err);
}

const struct route issuer_routes[] = {
    { "adminMint", admin_mint },
    { "adminOidcDiscovery", admin_oidc_discovery },
    { "adminOidcJwks", admin_oidc_jwks },
    { NULL, NULL },
};
