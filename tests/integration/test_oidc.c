/* Integration tests for the JWT auth paths: k8s_sa and github_oidc tokens accepted and
 * described by getMe, each RFC 8725 pitfall refused with its code, the leeway edges on
 * the virtual clock, TrustMappings, JWKS fetched over HTTP (rotation, rate-limited
 * refetch, max-age, failures), the admin API and --auth-config, the journal, and a table
 * of malformed tokens that must all be 401. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "base64.h"
#include "harness.h"
#include "jose.h"
#include "xmalloc.h"

#define K8S_ISS "https://k8s.test.example/cluster-1"
#define GH_ISS "https://token.actions.githubusercontent.com"
#define CHALLENGE_401 "Bearer error=\"invalid_token\", error_description=\""
#define CHALLENGE_403 "Bearer error=\"insufficient_scope\", error_description=\""

/* Keys made once for the whole file. */
static struct {
    struct jose_key *k8s_ec;     /* ES256, kid k8s-1 */
    struct jose_key *k8s_rsa;    /* RS256, kid k8s-rsa */
    struct jose_key *gh;         /* RS256, kid gh-1 */
    struct jose_key *stranger;   /* ES256, kid stranger: in no set */
    struct jose_key *impostor;   /* ES256, kid k8s-1: another key under a known kid */
    struct jose_key *rot_a;      /* ES256, kid rot-a */
    struct jose_key *rot_b;      /* ES256, kid rot-b */
} keys;

static int keys_setup(void **state)
{
    (void)state;
    xmalloc_init_cjson();
    if (jose_key_generate("ES256", "k8s-1", &keys.k8s_ec, NULL)
        || jose_key_generate("RS256", "k8s-rsa", &keys.k8s_rsa, NULL)
        || jose_key_generate("RS256", "gh-1", &keys.gh, NULL)
        || jose_key_generate("ES256", "stranger", &keys.stranger, NULL)
        || jose_key_generate("ES256", "k8s-1", &keys.impostor, NULL)
        || jose_key_generate("ES256", "rot-a", &keys.rot_a, NULL)
        || jose_key_generate("ES256", "rot-b", &keys.rot_b, NULL))
        return -1;
    return 0;
}

static int keys_teardown(void **state)
{
    (void)state;
    jose_key_free(keys.k8s_ec);
    jose_key_free(keys.k8s_rsa);
    jose_key_free(keys.gh);
    jose_key_free(keys.stranger);
    jose_key_free(keys.impostor);
    jose_key_free(keys.rot_a);
    jose_key_free(keys.rot_b);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* The public JWKS text of these keys (a new string). */
static char *jwks_text(const struct jose_key *const *list, size_t n)
{
    cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "keys");
    char *text, *copy;
    size_t i;

    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, jose_key_to_jwk(list[i]));
    text = cJSON_PrintUnformatted(doc);
    copy = xstrdup(text);
    cJSON_free(text);
    cJSON_Delete(doc);
    return copy;
}

static void post_ok(struct mock *m, const char *op, const char *target, const char *json)
{
    struct resp r;

    mock_expect(m, op, 201, "POST", target, NULL, json, &r);
    resp_release(&r);
}

/* Trust url (kind) with these keys inline. */
static void add_issuer_inline(struct mock *m, const char *url, const char *kind,
                              const struct jose_key *const *list, size_t n, const char *extra)
{
    char *set = jwks_text(list, n), *body = xmalloc(strlen(set) + 512);

    sprintf(body, "{\"issuer\":\"%s\",\"kind\":\"%s\",\"jwks\":%s%s}", url, kind, set,
            extra ? extra : "");
    post_ok(m, "adminAddIssuer", "/__hogmock/issuers", body);
    free(body);
    free(set);
}

static void add_issuer_uri(struct mock *m, const char *url, const char *kind, const char *uri)
{
    char body[512];

    snprintf(body, sizeof(body), "{\"issuer\":\"%s\",\"kind\":\"%s\",\"jwks_uri\":\"%s\"}", url,
             kind, uri);
    post_ok(m, "adminAddIssuer", "/__hogmock/issuers", body);
}

static void add_trust(struct mock *m, const char *json)
{
    post_ok(m, "adminAddTrust", "/__hogmock/trust", json);
}

/* The standard test setup: the k8s issuer with both its keys, the GitHub issuer, and a
 * mapping for agents/runner. */
static void standard_setup(struct mock *m)
{
    const struct jose_key *k8s[] = { keys.k8s_ec, keys.k8s_rsa };
    const struct jose_key *gh[] = { keys.gh };

    add_issuer_inline(m, K8S_ISS, "k8s_sa", k8s, 2, NULL);
    add_issuer_inline(m, GH_ISS, "github_oidc", gh, 1, NULL);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\","
                 "\"display_name\":\"agents/runner\"}");
}

static int64_t clock_ms(struct mock *m)
{
    struct resp r;
    int64_t ms;

    mock_expect(m, "adminClock", 200, "GET", "/__hogmock/clock", NULL, NULL, &r);
    ms = (int64_t)cJSON_GetObjectItem(r.json, "now_ms")->valuedouble;
    resp_release(&r);
    return ms;
}

static void clock_set_ms(struct mock *m, int64_t ms)
{
    char body[64];
    struct resp r;

    snprintf(body, sizeof(body), "{\"now_ms\":%lld}", (long long)ms);
    mock_expect(m, "adminClockSet", 200, "POST", "/__hogmock/clock/set", NULL, body, &r);
    resp_release(&r);
}

static void clock_advance(struct mock *m, int64_t ms)
{
    char body[64];
    struct resp r;

    snprintf(body, sizeof(body), "{\"ms\":%lld}", (long long)ms);
    mock_expect(m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL, body, &r);
    resp_release(&r);
}

/* Claims of a projected ServiceAccount token for ns/sa, valid for 10 minutes from now_s. */
static cJSON *k8s_claims(const char *iss, const char *ns, const char *sa, int64_t now_s)
{
    cJSON *c = cJSON_CreateObject(), *k, *o;
    char sub[256];

    snprintf(sub, sizeof(sub), "system:serviceaccount:%s:%s", ns, sa);
    cJSON_AddStringToObject(c, "iss", iss);
    cJSON_AddStringToObject(c, "sub", sub);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "aud"), cJSON_CreateString("hogland"));
    cJSON_AddNumberToObject(c, "exp", (double)(now_s + 600));
    cJSON_AddNumberToObject(c, "iat", (double)now_s);
    cJSON_AddNumberToObject(c, "nbf", (double)now_s);
    k = cJSON_AddObjectToObject(c, "kubernetes.io");
    cJSON_AddStringToObject(k, "namespace", ns);
    o = cJSON_AddObjectToObject(k, "serviceaccount");
    cJSON_AddStringToObject(o, "name", sa);
    cJSON_AddStringToObject(o, "uid", "5c7d1a2e-0000-4000-8000-00000000a11c");
    o = cJSON_AddObjectToObject(k, "pod");
    cJSON_AddStringToObject(o, "name", "runner-7d9f8-abcde");
    cJSON_AddStringToObject(o, "uid", "0b1c2d3e-0000-4000-8000-0000000000b0");
    return c;
}

/* Claims of a GitHub Actions token of acme/agents (env NULL: none; new_sub: the
 * repo:OWNER@ID/REPO@ID form). */
static cJSON *gh_claims(const char *ref, const char *env, const char *workflow, bool new_sub,
                        int64_t now_s)
{
    cJSON *c = cJSON_CreateObject();
    char sub[256], jwr[256];

    if (env)
        snprintf(sub, sizeof(sub), "repo:%s:environment:%s",
                 new_sub ? "acme@1001/agents@2002" : "acme/agents", env);
    else
        snprintf(sub, sizeof(sub), "repo:%s:ref:%s",
                 new_sub ? "acme@1001/agents@2002" : "acme/agents", ref);
    snprintf(jwr, sizeof(jwr), "acme/agents/.github/workflows/%s.yml@%s", workflow, ref);
    cJSON_AddStringToObject(c, "iss", GH_ISS);
    cJSON_AddStringToObject(c, "sub", sub);
    cJSON_AddStringToObject(c, "aud", "hogland");
    cJSON_AddNumberToObject(c, "exp", (double)(now_s + 300));
    cJSON_AddNumberToObject(c, "iat", (double)now_s);
    cJSON_AddNumberToObject(c, "nbf", (double)now_s);
    cJSON_AddStringToObject(c, "repository", "acme/agents");
    cJSON_AddStringToObject(c, "repository_owner", "acme");
    cJSON_AddStringToObject(c, "repository_owner_id", "1001");
    cJSON_AddStringToObject(c, "repository_id", "2002");
    cJSON_AddStringToObject(c, "ref", ref);
    if (env)
        cJSON_AddStringToObject(c, "environment", env);
    cJSON_AddStringToObject(c, "workflow", workflow);
    cJSON_AddStringToObject(c, "job_workflow_ref", jwr);
    cJSON_AddStringToObject(c, "event_name", "push");
    return c;
}

static void set_str(cJSON *c, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, name);
    if (v)
        cJSON_AddStringToObject(c, name, v);
}

static void set_num(cJSON *c, const char *name, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, name);
    cJSON_AddNumberToObject(c, name, v);
}

/* A token signed by key; claims taken over. New string. */
static char *sign(const struct jose_key *key, cJSON *claims)
{
    struct buf err = BUF_INIT;
    char *token = NULL;

    if (jose_jwt_sign(NULL, claims, key, &token, &err) != JOSE_OK)
        fail_msg("cannot sign: %s", buf_cstr(&err));
    cJSON_Delete(claims);
    buf_release(&err);
    return token;
}

static void me(struct mock *m, const char *token, struct resp *r)
{
    mock_call(m, "GET", "/v1/me", token, NULL, 0, NULL, r);
    mock_check(m, "getMe", r);
}

/* GET /v1/me with token is 200 for principal; answers r (release it). */
static void expect_me(struct mock *m, const char *token, const char *principal, struct resp *r)
{
    me(m, token, r);
    if (r->status != 200)
        fail_msg("expected 200 for %s: %ld %s", principal, r->status, buf_cstr(&r->body));
    assert_string_equal(resp_str(r, "principal_id"), principal);
}

/* r is a refusal (status, code) whose detail and challenge both say want (may be NULL),
 * and which holds no part of token (may be NULL). */
static void expect_refused(const struct resp *r, long status, const char *code, const char *want,
                           const char *token)
{
    const char *prefix = status == 403 ? CHALLENGE_403 : CHALLENGE_401;
    const char *detail;
    char *challenge;

    if (r->status != status)
        fail_msg("expected %ld %s (%s): %ld %s", status, code, want ? want : "",
                 r->status, buf_cstr(&r->body));
    mock_check_problem(r, code);
    detail = resp_str(r, "detail");
    assert_non_null(resp_header(r, "WWW-Authenticate"));
    challenge = xstrdup(resp_header(r, "WWW-Authenticate"));
    if (strncmp(challenge, prefix, strlen(prefix)) != 0)
        fail_msg("WWW-Authenticate is '%s'", challenge);
    if (want && (!detail || !strstr(detail, want) || !strstr(challenge, want)))
        fail_msg("expected '%s' in the detail '%s' and the challenge '%s'", want,
                 detail ? detail : "", challenge);
    if (token) {
        const char *sig = strrchr(token, '.');

        if (strstr(buf_cstr(&r->body), token) || strstr(buf_cstr(&r->headers), token)
            || (sig && strlen(sig) > 8 && strstr(buf_cstr(&r->body), sig + 1)))
            fail_msg("the answer holds the token");
    }
    free(challenge);
}

static void me_refused(struct mock *m, const char *token, long status, const char *code,
                       const char *want)
{
    struct resp r;

    me(m, token, &r);
    expect_refused(&r, status, code, want, token);
    resp_release(&r);
}

static const char *attr(const struct resp *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "attributes"), name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- a JWKS server the tests control ------------------------------------------------------ */

struct jwks_srv {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    char *body;
    char cache_control[128];    /* "" for none */
    unsigned status;
    unsigned delay_ms;          /* how long each answer takes */
    atomic_int fetches;
    char url[96];
};

static enum MHD_Result serve_jwks(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct jwks_srv *s = cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char *body;
    unsigned status;

    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req_cls;
    atomic_fetch_add(&s->fetches, 1);
    if (s->delay_ms)
        mock_pause_ms((long)s->delay_ms);
    pthread_mutex_lock(&s->mu);
    body = xstrdup(s->body ? s->body : "{}");
    status = s->status;
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (s->cache_control[0])
        MHD_add_response_header(resp, "Cache-Control", s->cache_control);
    pthread_mutex_unlock(&s->mu);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct jwks_srv *jwks_srv_start(void)
{
    struct jwks_srv *s = xcalloc(1, sizeof(*s));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pthread_mutex_init(&s->mu, NULL);
    s->status = 200;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve_jwks, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    assert_non_null(s->d);
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u/keys", (unsigned)info->port);
    return s;
}

/* Serve these keys (body NULL) or this body, with this Cache-Control and status. */
static void jwks_srv_set(struct jwks_srv *s, const struct jose_key *const *list, size_t n,
                         const char *body, const char *cache_control, unsigned status)
{
    char *text = body ? xstrdup(body) : jwks_text(list, n);

    pthread_mutex_lock(&s->mu);
    free(s->body);
    s->body = text;
    snprintf(s->cache_control, sizeof(s->cache_control), "%s", cache_control ? cache_control : "");
    s->status = status;
    pthread_mutex_unlock(&s->mu);
}

static void jwks_srv_stop(struct jwks_srv *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s->body);
    free(s);
}

static int fetches(struct jwks_srv *s)
{
    return atomic_load(&s->fetches);
}

/* The listing entry of issuer url: its member name (borrowed from *list; cJSON_Delete it). */
static const cJSON *issuer_entry(struct mock *m, const char *url, cJSON **list)
{
    struct resp r;
    const cJSON *it, *found = NULL;

    mock_expect(m, "adminListIssuers", 200, "GET", "/__hogmock/issuers", NULL, NULL, &r);
    *list = cJSON_Duplicate(cJSON_GetObjectItem(r.json, "items"), 1);
    resp_release(&r);
    cJSON_ArrayForEach(it, *list)
        if (strcmp(cJSON_GetObjectItem(it, "issuer")->valuestring, url) == 0)
            found = it;
    assert_non_null(found);
    return found;
}

/* ---- accepted tokens ---------------------------------------------------------------------- */

static void test_oidc_accepts_a_k8s_sa_token_and_me_shows_its_claims(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    struct resp r;
    char *es, *rs;

    standard_setup(m);
    es = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));
    rs = sign(keys.k8s_rsa, k8s_claims(K8S_ISS, "agents", "runner", now));
    expect_me(m, es, "pr_runner", &r);
    assert_string_equal(resp_str(&r, "auth_path"), "k8s_sa");
    assert_string_equal(resp_str(&r, "subject"), "system:serviceaccount:agents:runner");
    assert_string_equal(resp_str(&r, "display_name"), "agents/runner");
    assert_string_equal(attr(&r, "issuer"), K8S_ISS);
    assert_string_equal(attr(&r, "namespace"), "agents");
    assert_string_equal(attr(&r, "sa_name"), "runner");
    assert_string_equal(attr(&r, "sa_uid"), "5c7d1a2e-0000-4000-8000-00000000a11c");
    assert_string_equal(attr(&r, "pod"), "runner-7d9f8-abcde");
    resp_release(&r);
    /* Both algorithms of the one key set, each with its own key. */
    expect_me(m, rs, "pr_runner", &r);
    resp_release(&r);
    /* The credential works for the rest of the API too. */
    mock_expect(m, "listHogboxes", 200, "GET", "/v1/hogboxes", es, NULL, &r);
    resp_release(&r);
    free(es);
    free(rs);
}

static void test_oidc_accepts_github_tokens_in_both_sub_formats(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    struct resp r;
    char *old_sub, *new_sub, *env_sub;

    standard_setup(m);
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\","
                 "\"principal_id\":\"pr_acme\"}");
    old_sub = sign(keys.gh, gh_claims("refs/heads/main", NULL, "ci", false, now));
    new_sub = sign(keys.gh, gh_claims("refs/heads/main", NULL, "ci", true, now));
    env_sub = sign(keys.gh, gh_claims("refs/heads/main", "production", "deploy", true, now));
    expect_me(m, old_sub, "pr_acme", &r);
    assert_string_equal(resp_str(&r, "auth_path"), "github_oidc");
    assert_string_equal(resp_str(&r, "subject"), "repo:acme/agents:ref:refs/heads/main");
    assert_string_equal(resp_str(&r, "display_name"), "pr_acme");
    assert_string_equal(attr(&r, "issuer"), GH_ISS);
    assert_string_equal(attr(&r, "repository"), "acme/agents");
    assert_string_equal(attr(&r, "ref"), "refs/heads/main");
    assert_string_equal(attr(&r, "workflow"), "ci");
    assert_string_equal(attr(&r, "job_workflow_ref"),
                        "acme/agents/.github/workflows/ci.yml@refs/heads/main");
    assert_null(attr(&r, "environment"));
    resp_release(&r);
    expect_me(m, new_sub, "pr_acme", &r);
    assert_string_equal(resp_str(&r, "subject"), "repo:acme@1001/agents@2002:ref:refs/heads/main");
    resp_release(&r);
    expect_me(m, env_sub, "pr_acme", &r);
    assert_string_equal(attr(&r, "environment"), "production");
    resp_release(&r);
    free(old_sub);
    free(new_sub);
    free(env_sub);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_oidc_refuses_each_rfc8725_pitfall_with_its_code(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    struct buf err = BUF_INIT;
    char *good, *t, *payload;
    cJSON *c;
    int part;

    standard_setup(m);
    good = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));

    /* alg none, in any case. */
    {
        static const char *const spellings[] = { "none", "None", "NONE", "nOnE" };
        size_t i;

        for (i = 0; i < 4; i++) {
            c = k8s_claims(K8S_ISS, "agents", "runner", now);
            t = jose_mint_alg_none(spellings[i], "k8s-1", c);
            cJSON_Delete(c);
            me_refused(m, t, 401, "alg_not_allowed", "an unsigned token is never accepted");
            free(t);
        }
    }
    /* RS256 -> HS256 key confusion with the issuer's own public key. */
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    assert_int_equal(jose_mint_hs256_confusion(c, keys.k8s_rsa, &t, &err), JOSE_OK);
    cJSON_Delete(c);
    me_refused(m, t, 401, "alg_not_allowed", "key-confusion");
    free(t);
    /* The header says another alg than the key's. */
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    assert_int_equal(jose_mint_alg_mismatch("ES256", c, keys.k8s_rsa, &t, &err), JOSE_OK);
    me_refused(m, t, 401, "alg_not_allowed", "allows only RS256");
    free(t);
    assert_int_equal(jose_mint_alg_mismatch("RS384", c, keys.k8s_rsa, &t, &err), JOSE_OK);
    cJSON_Delete(c);
    me_refused(m, t, 401, "alg_not_allowed", "'RS384'");
    free(t);
    /* A kid the set does not hold (inline keys: never fetched). */
    t = sign(keys.stranger, k8s_claims(K8S_ISS, "agents", "runner", now));
    me_refused(m, t, 401, "unknown_kid", "no key with kid 'stranger'");
    free(t);
    /* Another key under a known kid, and a tampered payload. */
    t = sign(keys.impostor, k8s_claims(K8S_ISS, "agents", "runner", now));
    me_refused(m, t, 401, "bad_signature", "does not verify");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "admin", now);
    t = sign(keys.stranger, c);
    payload = xstrndup(strchr(t, '.') + 1, (size_t)(strrchr(t, '.') - strchr(t, '.') - 1));
    free(t);
    t = xmalloc(strlen(good) + strlen(payload) + 1);
    sprintf(t, "%.*s.%s%s", (int)(strchr(good, '.') - good), good, payload, strrchr(good, '.'));
    me_refused(m, t, 401, "bad_signature", NULL);
    free(t);
    free(payload);
    /* Bad base64url in each part. */
    for (part = 0; part < 3; part++) {
        static const char bad[] = { '+', '/', '*', '=' };
        size_t i;

        for (i = 0; i < sizeof(bad); i++) {
            /* '*' and a '=' before a '.' are not even RFC 6750 token characters. */
            bool b64token = bad[i] == '+' || bad[i] == '/' || (bad[i] == '=' && part == 2);

            t = jose_mint_bad_base64url(good, part, bad[i]);
            me_refused(m, t, 401, b64token ? "malformed_token" : "invalid_token", NULL);
            free(t);
        }
    }
    /* A JWE. */
    t = jose_mint_jwe_shaped();
    me_refused(m, t, 401, "malformed_token", "JWE");
    free(t);
    /* Wrong iss, a trailing slash, no iss at all. */
    c = k8s_claims("https://evil.example", "agents", "runner", now);
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "unknown_issuer", "'https://evil.example' is not trusted; trusted "
               "issuers: '" K8S_ISS "' (k8s_sa)");
    free(t);
    t = sign(keys.k8s_ec, k8s_claims(K8S_ISS "/", "agents", "runner", now));
    me_refused(m, t, 401, "unknown_issuer", "trailing slash");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    cJSON_DeleteItemFromObject(c, "iss");
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "unknown_issuer", "no 'iss' claim");
    free(t);
    /* aud: a string, a list, absent, of the wrong type; a list that holds hogland is fine. */
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_str(c, "aud", "https://other.example");
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "audience_mismatch", "token audience is ['https://other.example'], this "
               "server expects hogland");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    cJSON_DeleteItemFromObject(c, "aud");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "aud"),
                         cJSON_CreateString("https://kubernetes.default.svc"));
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "audience_mismatch", "token audience is "
               "['https://kubernetes.default.svc'], this server expects hogland");
    me_refused(m, t, 401, "audience_mismatch", "is the pod mounting the default service-account "
               "token instead of a projected one?");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    cJSON_DeleteItemFromObject(c, "aud");
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "audience_mismatch", "no aud claim");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_num(c, "aud", 7);
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "audience_mismatch", "neither a string nor a list");
    free(t);
    {
        struct resp r;

        c = k8s_claims(K8S_ISS, "agents", "runner", now);
        cJSON_AddItemToArray(cJSON_GetObjectItem(c, "aud"),
                             cJSON_CreateString("https://kubernetes.default.svc"));
        t = sign(keys.k8s_ec, c);
        expect_me(m, t, "pr_runner", &r);
        resp_release(&r);
        free(t);
    }
    /* A legacy secret-based ServiceAccount token: no exp, no aud. */
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "iss", "kubernetes/serviceaccount");
    cJSON_AddStringToObject(c, "kubernetes.io/serviceaccount/namespace", "agents");
    cJSON_AddStringToObject(c, "kubernetes.io/serviceaccount/secret.name", "runner-token-x1");
    cJSON_AddStringToObject(c, "kubernetes.io/serviceaccount/service-account.name", "runner");
    cJSON_AddStringToObject(c, "sub", "system:serviceaccount:agents:runner");
    t = sign(keys.k8s_rsa, c);
    me_refused(m, t, 401, "unknown_issuer", "legacy secret-based");
    me_refused(m, t, 401, "unknown_issuer", "projected ServiceAccount token with audience hogland");
    free(t);
    /* No kid while the set holds two keys. */
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    {
        char *text = cJSON_PrintUnformatted(c);

        assert_int_equal(jose_jws_sign_raw("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", 27, text,
                                           strlen(text), keys.k8s_ec, &t, &err), JOSE_OK);
        cJSON_free(text);
    }
    cJSON_Delete(c);
    me_refused(m, t, 401, "unknown_kid", "has no kid");
    free(t);
    free(good);
    buf_release(&err);
}

static void test_oidc_checks_exp_and_nbf_at_the_leeway_edges(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000, nbf, exp;
    struct resp r;
    cJSON *c;
    char *t, *missing;

    standard_setup(m);
    /* Not yet valid until nbf - leeway (60 s). */
    nbf = now + 300;
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_num(c, "nbf", (double)nbf);
    set_num(c, "iat", (double)nbf);
    set_num(c, "exp", (double)(nbf + 3600));
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "token_not_yet_valid", "not valid for another");
    clock_set_ms(m, (nbf - 60) * 1000 - 1);
    me_refused(m, t, 401, "token_not_yet_valid", "leeway 60 s");
    clock_set_ms(m, (nbf - 60) * 1000);
    expect_me(m, t, "pr_runner", &r);
    resp_release(&r);
    free(t);

    /* Valid until exp + leeway, then expired: the same token, mid-session. */
    now = clock_ms(m) / 1000;
    exp = now + 100;
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_num(c, "exp", (double)exp);
    t = sign(keys.k8s_ec, c);
    expect_me(m, t, "pr_runner", &r);
    resp_release(&r);
    clock_set_ms(m, (exp + 60) * 1000 - 1);
    expect_me(m, t, "pr_runner", &r);
    resp_release(&r);
    clock_advance(m, 1);
    me_refused(m, t, 401, "token_expired", "expired 1m ago");
    me_refused(m, t, 401, "token_expired", "leeway 60 s");
    clock_advance(m, 3 * 3600 * 1000);
    me_refused(m, t, 401, "token_expired", "expired 3h1m ago");
    free(t);

    /* An issuer's own leeway; a token without exp. */
    {
        const struct jose_key *gh[] = { keys.gh };

        add_issuer_inline(m, "https://strict.example", "github_oidc", gh, 1,
                          ",\"leeway_seconds\":0");
    }
    add_trust(m, "{\"kind\":\"github_oidc\",\"issuer\":\"https://strict.example\","
                 "\"repository\":\"acme/agents\",\"principal_id\":\"pr_strict\"}");
    now = clock_ms(m) / 1000;
    c = gh_claims("refs/heads/main", NULL, "ci", false, now);
    set_str(c, "iss", "https://strict.example");
    set_num(c, "exp", (double)(now + 1));
    t = sign(keys.gh, c);
    expect_me(m, t, "pr_strict", &r);
    resp_release(&r);
    clock_advance(m, 1000);
    me_refused(m, t, 401, "token_expired", "leeway 0 s");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", clock_ms(m) / 1000);
    cJSON_DeleteItemFromObject(c, "exp");
    missing = sign(keys.k8s_ec, c);
    me_refused(m, missing, 401, "invalid_claims", "never expires");
    free(missing);
}

static void test_oidc_refuses_a_github_token_on_a_k8s_issuer_and_back(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    cJSON *c;
    char *t;

    standard_setup(m);
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\","
                 "\"principal_id\":\"pr_acme\"}");
    /* GitHub-shaped claims from the cluster's issuer, signed by its key. */
    c = gh_claims("refs/heads/main", NULL, "ci", false, now);
    set_str(c, "iss", K8S_ISS);
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "invalid_claims", "looks like a GitHub Actions OIDC token");
    free(t);
    /* A ServiceAccount token from the GitHub issuer. */
    t = sign(keys.gh, k8s_claims(GH_ISS, "agents", "runner", now));
    me_refused(m, t, 401, "invalid_claims", "looks like a Kubernetes ServiceAccount token");
    free(t);
    /* A GitHub token signed by GitHub's key but claiming the cluster as issuer. */
    c = gh_claims("refs/heads/main", NULL, "ci", false, now);
    set_str(c, "iss", K8S_ISS);
    t = sign(keys.gh, c);
    me_refused(m, t, 401, "unknown_kid", "no key with kid 'gh-1'");
    free(t);
    /* Claims that disagree with each other. */
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_str(cJSON_GetObjectItem(c, "kubernetes.io"), "namespace", "other");
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "invalid_claims", "disagrees with the kubernetes.io claim");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    cJSON_DeleteItemFromObject(c, "kubernetes.io");
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "invalid_claims", "no kubernetes.io claim");
    free(t);
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_str(c, "sub", "system:serviceaccount:agents");
    t = sign(keys.k8s_ec, c);
    me_refused(m, t, 401, "invalid_claims", "system:serviceaccount:<namespace>:<name>");
    free(t);
    c = gh_claims("refs/heads/main", NULL, "ci", false, now);
    set_str(c, "sub", "repo:acme/other:ref:refs/heads/main");
    t = sign(keys.gh, c);
    me_refused(m, t, 401, "invalid_claims", "names another repository");
    free(t);
    c = gh_claims("refs/heads/main", NULL, "ci", true, now);
    set_str(c, "repository_owner_id", "9999");
    t = sign(keys.gh, c);
    me_refused(m, t, 401, "invalid_claims", "names another repository");
    free(t);
    c = gh_claims("refs/heads/main", NULL, "ci", false, now);
    cJSON_DeleteItemFromObject(c, "repository");
    t = sign(keys.gh, c);
    me_refused(m, t, 401, "invalid_claims", "repository claim");
    free(t);
}

static void test_oidc_no_trust_mapping_is_403_naming_the_key(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    struct resp r;
    char *t, *g;

    standard_setup(m);
    t = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "builder", now));
    me_refused(m, t, 403, "no_trust_mapping", "no TrustMapping for issuer '" K8S_ISS "', "
               "namespace 'agents', sa_name 'builder'");
    /* Refused on every operation, not only getMe. */
    mock_call(m, "GET", "/v1/hogboxes", t, NULL, 0, NULL, &r);
    mock_check(m, "listHogboxes", &r);
    expect_refused(&r, 403, "no_trust_mapping", "sa_name 'builder'", t);
    resp_release(&r);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"builder\",\"principal_id\":\"pr_builder\"}");
    expect_me(m, t, "pr_builder", &r);
    assert_string_equal(resp_str(&r, "display_name"), "pr_builder");
    resp_release(&r);
    /* A mapping of another issuer does not count. */
    g = sign(keys.gh, gh_claims("refs/heads/main", NULL, "ci", false, now));
    me_refused(m, g, 403, "no_trust_mapping", "no TrustMapping for GitHub repository "
               "'acme/agents' (issuer '" GH_ISS "', ref 'refs/heads/main', workflow 'ci'");
    free(g);
    free(t);
}

static void test_oidc_github_mappings_pick_the_most_specific(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    struct {
        const char *ref, *env, *workflow, *principal;
    } cases[] = {
        { "refs/heads/main", "production", "ci", "pr_deploy" },
        { "refs/heads/main", NULL, "ci", "pr_main" },
        { "refs/heads/dev", NULL, "ci", "pr_ci" },
        { "refs/heads/dev", NULL, "release", "pr_release" },
        { "refs/heads/main", NULL, "release", "pr_main" },   /* a tie: the first added */
        { "refs/heads/main", "staging", "ci", "pr_main" },
    };
    struct resp r;
    size_t i;
    char *t;

    standard_setup(m);
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\",\"principal_id\":\"pr_ci\"}");
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"ACME/Agents\",\"ref\":\"refs/heads/main\","
                 "\"principal_id\":\"pr_main\"}");
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\",\"ref\":\"refs/heads/main\","
                 "\"environment\":\"production\",\"principal_id\":\"pr_deploy\"}");
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\",\"workflow\":\"release\","
                 "\"principal_id\":\"pr_release\"}");
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/other\",\"principal_id\":\"pr_other\"}");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t = sign(keys.gh, gh_claims(cases[i].ref, cases[i].env, cases[i].workflow, i % 2, now));
        expect_me(m, t, cases[i].principal, &r);
        resp_release(&r);
        free(t);
    }
    /* The same key again replaces the mapping in its place. */
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\",\"workflow\":\"release\","
                 "\"principal_id\":\"pr_release_2\"}");
    mock_expect(m, "adminListTrust", 200, "GET", "/__hogmock/trust", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 6);
    resp_release(&r);
    t = sign(keys.gh, gh_claims("refs/heads/dev", NULL, "release", false, now));
    expect_me(m, t, "pr_release_2", &r);
    resp_release(&r);
    free(t);

    /* Only a narrow mapping: a token it does not cover is 403, saying what it wants. */
    mock_expect(m, "adminClearTrust", 204, "DELETE", "/__hogmock/trust", NULL, NULL, &r);
    resp_release(&r);
    add_trust(m, "{\"kind\":\"github_oidc\",\"repository\":\"acme/agents\",\"ref\":\"refs/heads/main\","
                 "\"principal_id\":\"pr_main\"}");
    t = sign(keys.gh, gh_claims("refs/heads/dev", NULL, "ci", false, now));
    me_refused(m, t, 403, "no_trust_mapping", "1 mapping for this repository did not match: the "
               "first wants ref 'refs/heads/main'");
    free(t);
}

/* ---- JWKS over HTTP ------------------------------------------------------------------------- */

static void test_oidc_jwks_rotation_overlaps_then_drops_the_old_key(void **state)
{
    struct mock *m = *state;
    struct jwks_srv *s = jwks_srv_start();
    const struct jose_key *a[] = { keys.rot_a }, *ab[] = { keys.rot_a, keys.rot_b };
    const struct jose_key *b[] = { keys.rot_b };
    int64_t now = clock_ms(m) / 1000;
    struct resp r;
    char *ta, *tb;

    jwks_srv_set(s, a, 1, NULL, "public, max-age=60", 200);
    add_issuer_uri(m, K8S_ISS, "k8s_sa", s->url);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}");
    assert_int_equal(fetches(s), 0);
    ta = sign(keys.rot_a, k8s_claims(K8S_ISS, "agents", "runner", now));
    tb = sign(keys.rot_b, k8s_claims(K8S_ISS, "agents", "runner", now));
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 1);

    /* The new key is published beside the old one: its first token fetches the set again. */
    jwks_srv_set(s, ab, 2, NULL, "max-age=60", 200);
    clock_advance(m, 10000);
    expect_me(m, tb, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 2);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    expect_me(m, tb, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 2);

    /* The old key goes; once the set is fetched again, its tokens are unknown_kid. */
    jwks_srv_set(s, b, 1, NULL, "max-age=60", 200);
    clock_advance(m, 60000);
    me_refused(m, ta, 401, "unknown_kid", "no key with kid 'rot-a'");
    assert_int_equal(fetches(s), 3);
    expect_me(m, tb, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 3);
    free(ta);
    free(tb);
    jwks_srv_stop(s);
}

static void test_oidc_unknown_kid_refetch_is_rate_limited(void **state)
{
    struct mock *m = *state;
    struct jwks_srv *s = jwks_srv_start();
    const struct jose_key *a[] = { keys.rot_a };
    int64_t now = clock_ms(m) / 1000;
    struct resp r;
    char *ta, *tx;
    int i;

    jwks_srv_set(s, a, 1, NULL, NULL, 200);
    add_issuer_uri(m, K8S_ISS, "k8s_sa", s->url);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}");
    ta = sign(keys.rot_a, k8s_claims(K8S_ISS, "agents", "runner", now));
    tx = sign(keys.stranger, k8s_claims(K8S_ISS, "agents", "runner", now));
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 1);
    /* Just fetched: an unknown kid does not fetch again within 10 s. */
    for (i = 0; i < 5; i++)
        me_refused(m, tx, 401, "unknown_kid", "at most once every 10 s");
    assert_int_equal(fetches(s), 1);
    clock_advance(m, 9999);
    me_refused(m, tx, 401, "unknown_kid", "next in 1s");
    assert_int_equal(fetches(s), 1);
    clock_advance(m, 1);
    me_refused(m, tx, 401, "unknown_kid", "no key with kid 'stranger'");
    assert_int_equal(fetches(s), 2);
    for (i = 0; i < 5; i++)
        me_refused(m, tx, 401, "unknown_kid", NULL);
    assert_int_equal(fetches(s), 2);
    /* Known kids never wait for the window. */
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 2);
    clock_advance(m, 10000);
    me_refused(m, tx, 401, "unknown_kid", NULL);
    assert_int_equal(fetches(s), 3);
    free(ta);
    free(tx);
    jwks_srv_stop(s);
}

static void test_oidc_cache_control_max_age_is_honoured(void **state)
{
    struct mock *m = *state;
    struct jwks_srv *s = jwks_srv_start();
    const struct jose_key *a[] = { keys.rot_a };
    int64_t now = clock_ms(m) / 1000;
    const cJSON *e;
    cJSON *list;
    struct resp r;
    char *ta;

    jwks_srv_set(s, a, 1, NULL, "public, max-age=30, must-revalidate", 200);
    add_issuer_uri(m, K8S_ISS, "k8s_sa", s->url);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}");
    ta = sign(keys.rot_a, k8s_claims(K8S_ISS, "agents", "runner", now));
    e = issuer_entry(m, K8S_ISS, &list);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "jwks_fetched_at")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e, "kids")), 0);
    cJSON_Delete(list);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 1);
    e = issuer_entry(m, K8S_ISS, &list);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "kids"), 0)->valuestring, "rot-a");
    assert_int_equal(cJSON_GetObjectItem(e, "jwks_fetches")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(e, "jwks_source")->valuestring, "uri");
    cJSON_Delete(list);

    clock_advance(m, 29999);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 1);
    clock_advance(m, 1);
    jwks_srv_set(s, a, 1, NULL, "no-store", 200);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 2);
    /* no-store: every use fetches it again. */
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 3);
    /* Without Cache-Control: kept 300 s. */
    jwks_srv_set(s, a, 1, NULL, NULL, 200);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 4);
    clock_advance(m, 299000);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 4);
    free(ta);
    jwks_srv_stop(s);
}

static void test_oidc_a_failed_fetch_keeps_the_keys_and_is_reported(void **state)
{
    struct mock *m = *state;
    struct jwks_srv *s = jwks_srv_start();
    const struct jose_key *a[] = { keys.rot_a };
    int64_t now = clock_ms(m) / 1000;
    const cJSON *e;
    cJSON *list;
    struct resp r;
    char *ta, *big;

    jwks_srv_set(s, a, 1, NULL, "max-age=10", 200);
    add_issuer_uri(m, K8S_ISS, "k8s_sa", s->url);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}");
    ta = sign(keys.rot_a, k8s_claims(K8S_ISS, "agents", "runner", now));
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);

    jwks_srv_set(s, NULL, 0, "oops", NULL, 500);
    clock_advance(m, 10000);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 2);
    e = issuer_entry(m, K8S_ISS, &list);
    assert_non_null(strstr(cJSON_GetObjectItem(e, "jwks_error")->valuestring, "HTTP 500"));
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "kids"), 0)->valuestring, "rot-a");
    cJSON_Delete(list);
    /* A failure is retried no sooner than 10 s later. */
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    assert_int_equal(fetches(s), 2);

    /* Over the size limit, and not a JWKS: reported the same way. */
    big = xmalloc(JOSE_MAX_JWKS + 64);
    memset(big, ' ', JOSE_MAX_JWKS + 63);
    big[0] = '{';
    strcpy(big + JOSE_MAX_JWKS + 60, "}");
    jwks_srv_set(s, NULL, 0, big, NULL, 200);
    free(big);
    clock_advance(m, 10000);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    e = issuer_entry(m, K8S_ISS, &list);
    assert_non_null(strstr(cJSON_GetObjectItem(e, "jwks_error")->valuestring, "over the"));
    cJSON_Delete(list);
    jwks_srv_set(s, NULL, 0, "{\"keys\":[]}", NULL, 200);
    clock_advance(m, 10000);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    e = issuer_entry(m, K8S_ISS, &list);
    assert_non_null(strstr(cJSON_GetObjectItem(e, "jwks_error")->valuestring, "no usable key"));
    cJSON_Delete(list);
    /* Good again: the error is gone. */
    jwks_srv_set(s, a, 1, NULL, NULL, 200);
    clock_advance(m, 10000);
    expect_me(m, ta, "pr_runner", &r);
    resp_release(&r);
    e = issuer_entry(m, K8S_ISS, &list);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "jwks_error")));
    cJSON_Delete(list);

    /* Nothing listens: no key at all, and the detail says why. */
    add_issuer_uri(m, "https://down.example", "k8s_sa", "http://127.0.0.1:1/keys");
    free(ta);
    ta = sign(keys.rot_a, k8s_claims("https://down.example", "agents", "runner", now));
    me_refused(m, ta, 401, "unknown_kid", "no key can be found");
    me_refused(m, ta, 401, "unknown_kid", "cannot fetch the JWKS from 'http://127.0.0.1:1/keys'");
    free(ta);
    jwks_srv_stop(s);
}

struct hammer {
    const char *url, *token;
    atomic_int ok, other;
};

static size_t drop_body(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

/* Requests from a thread of its own: counted, never asserted (cmocka's asserts stay on
 * the test's thread). */
static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    struct curl_slist *hdrs = NULL;
    struct buf auth = BUF_INIT, url = BUF_INIT;
    CURL *c = curl_easy_init();
    long status = 0;
    int i;

    buf_addf(&auth, "Authorization: Bearer %s", h->token);
    buf_addf(&url, "%s/v1/me", h->url);
    hdrs = curl_slist_append(hdrs, buf_cstr(&auth));
    curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    for (i = 0; i < 10; i++) {
        if (curl_easy_perform(c) == CURLE_OK
            && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
            atomic_fetch_add(&h->ok, 1);
        else
            atomic_fetch_add(&h->other, 1);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    buf_release(&auth);
    buf_release(&url);
    return NULL;
}

static void test_oidc_concurrent_first_uses_fetch_the_jwks_once(void **state)
{
    struct mock *m = *state;
    struct jwks_srv *s = jwks_srv_start();
    const struct jose_key *a[] = { keys.rot_a };
    struct hammer h;
    pthread_t t[8];
    char *ta;
    int i;

    jwks_srv_set(s, a, 1, NULL, NULL, 200);
    s->delay_ms = 200;
    add_issuer_uri(m, K8S_ISS, "k8s_sa", s->url);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}");
    ta = sign(keys.rot_a, k8s_claims(K8S_ISS, "agents", "runner", clock_ms(m) / 1000));
    h.url = m->url;
    h.token = ta;
    atomic_init(&h.ok, 0);
    atomic_init(&h.other, 0);
    for (i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h), 0);
    for (i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&h.ok), 80);
    assert_int_equal(atomic_load(&h.other), 0);
    assert_int_equal(fetches(s), 1);
    free(ta);
    jwks_srv_stop(s);
}

/* ---- admin API, configuration, reset ----------------------------------------------------------- */

/* POST body to target: 422 whose first error has pointer and says want. */
static void expect_invalid(struct mock *m, const char *op, const char *target, const char *body,
                           const char *pointer, const char *want)
{
    const cJSON *e;
    struct resp r;

    mock_expect(m, op, 422, "POST", target, NULL, body, &r);
    mock_check_problem(&r, "validation_failed");
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0);
    if (!e || strcmp(cJSON_GetObjectItem(e, "pointer")->valuestring, pointer) != 0
        || (want && !strstr(cJSON_GetObjectItem(e, "detail")->valuestring, want)))
        fail_msg("%s: expected pointer '%s' saying '%s': %s", body, pointer, want ? want : "",
                 buf_cstr(&r.body));
    resp_release(&r);
}

static void test_oidc_admin_refuses_bad_definitions_with_a_pointer(void **state)
{
    struct mock *m = *state;
    char *set = jwks_text((const struct jose_key *[]){ keys.k8s_ec }, 1), body[2048];
    struct resp r;

    snprintf(body, sizeof(body), "{\"issuer\":\"https://a.example\",\"kind\":\"k8s_sa\","
             "\"jwks\":%s,\"jwks_uri\":\"https://a.example/keys\"}", set);
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers", body, "", "exactly one of jwks");
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"https://a.example\",\"kind\":\"k8s_sa\"}", "", "exactly one");
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"https://a.example\",\"kind\":\"k8s_sa\",\"jwks\":{\"keys\":[]}}",
                   "/jwks", "no usable key");
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"https://a.example\",\"kind\":\"k8s_sa\",\"jwks\":{\"keys\":"
                   "[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}}",
                   "/jwks/keys/0/x", NULL);
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"https://a.example\",\"kind\":\"k8s_sa\","
                   "\"jwks_file\":\"/nonexistent/keys.json\"}", "/jwks_file", "cannot read");
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"https://a.example\",\"kind\":\"oauth\",\"jwks_uri\":\"https://a\"}",
                   "/kind", NULL);
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"ftp://a.example\",\"kind\":\"k8s_sa\",\"jwks_uri\":\"https://a\"}",
                   "/issuer", NULL);
    expect_invalid(m, "adminAddIssuer", "/__hogmock/issuers",
                   "{\"issuer\":\"https://a.example\",\"kind\":\"k8s_sa\",\"jwks_uri\":\"https://a\","
                   "\"audiences\":[\"hogland\",\"hogland\"]}", "/audiences/1", "the same audience");
    expect_invalid(m, "adminAddTrust", "/__hogmock/trust",
                   "{\"kind\":\"k8s_sa\",\"issuer\":\"https://a.example\",\"namespace\":\"n\","
                   "\"service_account\":\"s\",\"ref\":\"x\",\"principal_id\":\"p\"}", "/ref",
                   "unknown member of a k8s_sa TrustMapping");
    expect_invalid(m, "adminAddTrust", "/__hogmock/trust",
                   "{\"kind\":\"k8s_sa\",\"issuer\":\"https://a.example\",\"namespace\":\"n\","
                   "\"principal_id\":\"p\"}", "", "service_account is required");
    expect_invalid(m, "adminAddTrust", "/__hogmock/trust",
                   "{\"kind\":\"github_oidc\",\"repository\":\"noslash\",\"principal_id\":\"p\"}",
                   "/repository", "owner/repo");
    expect_invalid(m, "adminAddTrust", "/__hogmock/trust",
                   "{\"kind\":\"tailscale\",\"login\":\"a@b\",\"principal_id\":\"p q\"}",
                   "/principal_id", NULL);
    /* Nothing was registered by any of them. */
    mock_expect(m, "adminListIssuers", 200, "GET", "/__hogmock/issuers", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0);
    resp_release(&r);
    mock_expect(m, "adminRemoveIssuer", 404, "DELETE", "/__hogmock/issuers?issuer=https%3A%2F%2Fa.example",
                NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminRemoveIssuer", 400, "DELETE", "/__hogmock/issuers", NULL, NULL, &r);
    resp_release(&r);
    free(set);
}

static void test_oidc_admin_adds_lists_and_removes_issuers(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    struct resp r;
    char *t;

    standard_setup(m);
    mock_expect(m, "adminListIssuers", 200, "GET", "/__hogmock/issuers", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2);
    resp_release(&r);
    t = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));
    expect_me(m, t, "pr_runner", &r);
    resp_release(&r);
    mock_expect(m, "adminRemoveIssuer", 204, "DELETE",
                "/__hogmock/issuers?issuer=https%3A%2F%2Fk8s.test.example%2Fcluster-1", NULL, NULL,
                &r);
    resp_release(&r);
    me_refused(m, t, 401, "unknown_issuer", "'" K8S_ISS "' is not trusted; trusted issuers: '"
               GH_ISS "' (github_oidc)");
    /* Back with only the RSA key: the EC token's kid is unknown now. */
    add_issuer_inline(m, K8S_ISS, "k8s_sa", (const struct jose_key *[]){ keys.k8s_rsa }, 1,
                      ",\"audiences\":[\"other\",\"hogland\"]");
    me_refused(m, t, 401, "unknown_kid", "never fetched");
    free(t);
    mock_expect(m, "adminRemoveIssuer", 204, "DELETE",
                "/__hogmock/issuers?issuer=https%3A%2F%2Fk8s.test.example%2Fcluster-1", NULL, NULL,
                &r);
    resp_release(&r);
    mock_expect(m, "adminRemoveIssuer", 204, "DELETE",
                "/__hogmock/issuers?issuer=https%3A%2F%2Ftoken.actions.githubusercontent.com", NULL,
                NULL, &r);
    resp_release(&r);
    t = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));
    me_refused(m, t, 401, "unknown_issuer", "no issuer is trusted yet");
    free(t);
}

static char *write_temp(const char *name, const char *text)
{
    char *path = xmalloc(256);
    FILE *f;

    snprintf(path, 256, "/tmp/hog_test_oidc_%d_%s", (int)getpid(), name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_oidc_auth_config_loads_and_a_reset_comes_back_to_it(void **state)
{
    char *set = jwks_text((const struct jose_key *[]){ keys.k8s_ec }, 1);
    char *gh_set = jwks_text((const struct jose_key *[]){ keys.gh }, 1);
    char *keyfile = write_temp("keys.json", set), *text = xmalloc(4096), *config, *t;
    const char *slash = strrchr(keyfile, '/');
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;
    int64_t now;

    (void)state;
    snprintf(text, 4096,
             "leeway_seconds: 5\n"
             "issuers:\n"
             "  - issuer: " K8S_ISS "\n"
             "    kind: k8s_sa\n"
             "    jwks_file: %s\n"
             "  - {issuer: " GH_ISS ", kind: github_oidc, jwks: %s}\n"
             "trust:\n"
             "  - {kind: k8s_sa, issuer: " K8S_ISS ", namespace: agents, service_account: runner,\n"
             "     principal_id: pr_config}\n"
             "builtin_issuers: []\n",
             slash + 1, gh_set);
    config = write_temp("auth.yaml", text);
    mock_default_config(&cfg);
    cfg.auth_config_path = config;
    m = mock_start(&cfg);
    now = clock_ms(m) / 1000;
    t = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));
    expect_me(m, t, "pr_config", &r);
    resp_release(&r);
    mock_expect(m, "adminListIssuers", 200, "GET", "/__hogmock/issuers", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"),
                                                               0), "source")->valuestring, "config");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 0),
                                         "leeway_seconds")->valueint, 5);
    resp_release(&r);

    /* Changes through the API ... */
    mock_expect(m, "adminRemoveIssuer", 204, "DELETE",
                "/__hogmock/issuers?issuer=https%3A%2F%2Fk8s.test.example%2Fcluster-1", NULL, NULL,
                &r);
    resp_release(&r);
    add_issuer_inline(m, "https://extra.example", "k8s_sa",
                      (const struct jose_key *[]){ keys.stranger }, 1, NULL);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_api\"}");
    me_refused(m, t, 401, "unknown_issuer", NULL);
    /* The API's mapping replaced the configured one; clearing the mappings brings it back. */
    mock_expect(m, "adminListTrust", 200, "GET", "/__hogmock/trust", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"),
                                                               0), "source")->valuestring, "api");
    resp_release(&r);
    mock_expect(m, "adminClearTrust", 204, "DELETE", "/__hogmock/trust", NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminListTrust", 200, "GET", "/__hogmock/trust", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"),
                                                               0), "principal_id")->valuestring,
                        "pr_config");
    resp_release(&r);
    add_trust(m, "{\"kind\":\"k8s_sa\",\"issuer\":\"" K8S_ISS "\",\"namespace\":\"agents\","
                 "\"service_account\":\"runner\",\"principal_id\":\"pr_api\"}");

    /* ... go with a reset of everything; the configuration comes back. */
    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL, NULL, &r);
    resp_release(&r);
    expect_me(m, t, "pr_config", &r);
    resp_release(&r);
    mock_expect(m, "adminListIssuers", 200, "GET", "/__hogmock/issuers", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2);
    resp_release(&r);
    mock_expect(m, "adminListTrust", 200, "GET", "/__hogmock/trust", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1);
    resp_release(&r);
    /* The configured leeway: 5 s. */
    clock_set_ms(m, (now + 600 + 5) * 1000);
    me_refused(m, t, 401, "token_expired", "leeway 5 s");
    free(t);
    mock_stop(m);

    /* The example in fixtures/ loads. */
    {
        struct buf err = BUF_INIT;
        struct hogmock *hm = NULL;
        char example[4096];
        const char *top = getenv("HOG_SRCDIR");

        snprintf(example, sizeof(example), "%s/fixtures/auth/auth-config.example.yaml",
                 top ? top : ".");
        cfg.auth_config_path = example;
        if (hogmock_start(&cfg, &hm, &err) != RC_OK)
            fail_msg("the example config does not load: %s", buf_cstr(&err));
        hogmock_stop(hm);
        buf_release(&err);
    }
    unlink(config);
    unlink(keyfile);
    free(config);
    free(keyfile);
    free(text);
    free(set);
    free(gh_set);
}

static void test_oidc_bad_auth_config_names_file_and_pointer(void **state)
{
    struct {
        const char *text, *says;
    } cases[] = {
        { "issuers: []\nextra: 1\n", ": /extra: unknown member of the auth configuration" },
        { "leeway_seconds: 4000\n", ": /leeway_seconds: must be a whole number" },
        { "issuers:\n  - {issuer: https://a.example, kind: k8s_sa, jwks_uri: ftp://x}\n",
          ": /issuers/0/jwks_uri: must be an http:// or https:// URL" },
        { "issuers:\n  - {issuer: https://a.example, kind: k8s_sa, jwks_uri: https://a/k}\n"
          "  - {issuer: https://a.example, kind: k8s_sa, jwks_uri: https://a/k}\n",
          ": /issuers/1/issuer: the same issuer as /issuers/0" },
        { "issuers:\n  - {issuer: https://a.example, kind: k8s_sa, jwks_file: nope.json}\n",
          ": /issuers/0/jwks_file: cannot read" },
        { "trust:\n  - {kind: github_oidc, repository: a/b, principal_id: p, colour: red}\n",
          ": /trust/0/colour: unknown member of a github_oidc TrustMapping" },
        { "trust:\n  - {kind: k8s_sa, issuer: https://a.example, namespace: n, principal_id: p}\n",
          ": /trust/0: service_account is required" },
        { "[1, 2]\n", "must be a mapping" },
    };
    struct hogmock_config cfg;
    struct buf err = BUF_INIT;
    char binary[512], cmd[1200];
    size_t i;

    (void)state;
    mock_default_config(&cfg);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_temp("bad.yaml", cases[i].text);
        struct hogmock *hm = NULL;

        buf_reset(&err);
        cfg.auth_config_path = path;
        assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
        assert_null(hm);
        if (!strstr(buf_cstr(&err), path) || !strstr(buf_cstr(&err), cases[i].says)
            || strchr(buf_cstr(&err), '\n'))
            fail_msg("case %zu: '%s' does not say '%s%s'", i, buf_cstr(&err), path, cases[i].says);
        if (i == 0 && mock_binary(binary, sizeof(binary))) {
            int status;

            snprintf(cmd, sizeof(cmd), "'%s' --listen 127.0.0.1:0 --auth-config '%s' 2>/dev/null",
                     binary, path);
            status = system(cmd);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 1);
        }
        unlink(path);
        free(path);
    }
    buf_release(&err);
}

/* ---- journal ---------------------------------------------------------------------------------- */

static const cJSON *entry_with(const cJSON *items, const char *member, const char *value)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, items) {
        const cJSON *v = cJSON_GetObjectItem(e, member);

        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return e;
    }
    fail_msg("no journal entry with %s '%s'", member, value);
    return NULL;
}

static const char *member_str(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(e, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_oidc_journal_shows_auth_facts_and_never_the_token(void **state)
{
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    const cJSON *items, *e;
    char *ok, *aud, *unmapped, *gh;
    struct resp r;
    cJSON *c;

    standard_setup(m);
    ok = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));
    c = k8s_claims(K8S_ISS, "agents", "runner", now);
    set_str(c, "aud", "https://kubernetes.default.svc");
    aud = sign(keys.k8s_ec, c);
    unmapped = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "builder", now));
    gh = sign(keys.gh, gh_claims("refs/heads/main", NULL, "ci", false, now));
    expect_me(m, ok, "pr_runner", &r);
    resp_release(&r);
    me_refused(m, aud, 401, "audience_mismatch", NULL);
    me_refused(m, unmapped, 403, "no_trust_mapping", NULL);
    me_refused(m, gh, 403, "no_trust_mapping", NULL);
    /* A token in the query and the body, too. */
    {
        char target[2048];

        snprintf(target, sizeof(target), "/v1/me?id_token=%s", ok);
        mock_call(m, "GET", target, ok, NULL, 0, NULL, &r);
        resp_release(&r);
    }
    expect_me(m, "tok_alice", "pr_alice", &r);
    resp_release(&r);

    items = mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?op=getMe", NULL, NULL,
                        &r);
    items = cJSON_GetObjectItem(items, "items");
    if (strstr(buf_cstr(&r.body), ok) || strstr(buf_cstr(&r.body), aud)
        || strstr(buf_cstr(&r.body), unmapped) || strstr(buf_cstr(&r.body), gh)
        || strstr(buf_cstr(&r.body), strrchr(ok, '.') + 1))
        fail_msg("the journal holds a token: %s", buf_cstr(&r.body));
    e = entry_with(items, "principal_id", "pr_runner");
    assert_string_equal(member_str(e, "auth_path"), "k8s_sa");
    assert_string_equal(member_str(e, "auth_issuer"), K8S_ISS);
    assert_string_equal(member_str(e, "auth_subject"), "system:serviceaccount:agents:runner");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "auth_error")));
    e = entry_with(items, "auth_error", "audience_mismatch");
    assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 401);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "principal_id")));
    assert_string_equal(member_str(e, "auth_issuer"), K8S_ISS);
    assert_string_equal(member_str(e, "auth_subject"), "system:serviceaccount:agents:runner");
    e = entry_with(items, "auth_subject", "system:serviceaccount:agents:builder");
    assert_string_equal(member_str(e, "auth_error"), "no_trust_mapping");
    assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 403);
    e = entry_with(items, "auth_subject", "repo:acme/agents:ref:refs/heads/main");
    assert_string_equal(member_str(e, "auth_issuer"), GH_ISS);
    assert_string_equal(member_str(e, "auth_error"), "no_trust_mapping");
    e = entry_with(items, "principal_id", "pr_alice");
    assert_string_equal(member_str(e, "auth_path"), "api_token");
    assert_string_equal(member_str(e, "auth_subject"), "fp_c81f011a8fd5");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "auth_issuer")));
    resp_release(&r);
    mock_expect(m, "adminJournalCount", 200, "GET", "/__hogmock/journal/count?status=403&op=getMe",
                NULL, NULL, &r);
    assert_int_equal(cJSON_GetObjectItem(r.json, "count")->valueint, 2);
    resp_release(&r);
    /* An unknown API token: refused as invalid_token, by fingerprint. */
    me_refused(m, "tok_nobody_here", 401, "invalid_token", "fp_");
    mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?status=401&op=getMe", NULL,
                NULL, &r);
    e = entry_with(cJSON_GetObjectItem(r.json, "items"), "auth_error", "invalid_token");
    assert_true(str_startswith(member_str(e, "auth_subject"), "fp_"));
    resp_release(&r);
    free(ok);
    free(aud);
    free(unmapped);
    free(gh);
}

/* ---- malformed tokens -------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void add_b64url(struct buf *b, const void *data, size_t len)
{
    base64url_encode(b, data, len);
}

/* A token whose header and payload are exactly these bytes, signed by k8s_ec. */
static char *raw_token(const char *header, const char *payload)
{
    char *t = NULL;

    assert_int_equal(jose_jws_sign_raw(header, strlen(header), payload, strlen(payload),
                                       keys.k8s_ec, &t, NULL), JOSE_OK);
    return t;
}

static void test_oidc_malformed_tokens_are_always_401(void **state)
{
    static const char b64chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct mock *m = *state;
    int64_t now = clock_ms(m) / 1000;
    char **tokens = xcalloc(512, sizeof(char *));
    size_t n = 0, i, len;
    struct buf b = BUF_INIT;
    char *good;
    int k;

    standard_setup(m);
    good = sign(keys.k8s_ec, k8s_claims(K8S_ISS, "agents", "runner", now));
    /* Every truncation of a good token. */
    len = strlen(good);
    for (i = 1; i < len; i += 1 + len / 60)
        tokens[n++] = xstrndup(good, i);
    tokens[n++] = xstrndup(good, strrchr(good, '.') - good);
    /* Random base64url segments, 1 to 7 of them. */
    for (k = 0; k < 120; k++) {
        int parts = 1 + (int)(rnd() % 7), p;

        buf_reset(&b);
        if (k % 3 == 0)
            buf_addstr(&b, "eyJ");
        for (p = 0; p < parts; p++) {
            int l = (int)(rnd() % 40);

            if (p)
                buf_addch(&b, '.');
            while (l--)
                buf_addch(&b, b64chars[rnd() % 64]);
        }
        if (!b.len)
            buf_addch(&b, '.');
        tokens[n++] = xstrdup(buf_cstr(&b));
    }
    /* Random printable bytes: not even a bearer token. */
    for (k = 0; k < 40; k++) {
        int l = 1 + (int)(rnd() % 60);

        buf_reset(&b);
        while (l--)
            buf_addch(&b, (char)(0x21 + rnd() % 94));
        tokens[n++] = xstrdup(buf_cstr(&b));
    }
    /* Well-signed tokens with bad insides. */
    {
        static const char *const payloads[] = {
            "[]", "\"a string\"", "123", "null", "true", "{\"iss\":123}", "{\"iss\":null}",
            "{\"iss\":\"" K8S_ISS "\",\"iss\":\"https://evil.example\"}",
            "{\"iss\":\"" K8S_ISS "\",\"sub\":\"a\\u0000b\"}", "{", "",
            "{\"iss\":\"" K8S_ISS "\",\"exp\":\"tomorrow\",\"aud\":\"hogland\"}",
            "{\"iss\":\"" K8S_ISS "\",\"exp\":1e400}",
            "{\"iss\":\"" K8S_ISS "\",\"exp\":99999999999999999999,\"aud\":\"hogland\"}",
            "{\"iss\":\"" K8S_ISS "\",\"exp\":4102444800,\"aud\":[\"hogland\"],\"sub\":7,"
            "\"kubernetes.io\":[]}",
            "{\"iss\":\"" K8S_ISS "\",\"exp\":4102444800,\"aud\":[\"hogland\"],"
            "\"sub\":\"system:serviceaccount:agents:runner\",\"kubernetes.io\":{\"namespace\":1}}",
            "\xff\xfe",
        };
        static const char *const headers[] = {
            "{\"alg\":\"ES256\",\"kid\":\"k8s-1\",\"crit\":[\"exp\"]}",
            "{\"alg\":\"ES256\",\"kid\":7}", "{\"alg\":null,\"kid\":\"k8s-1\"}", "{\"kid\":\"k8s-1\"}",
            "{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"k8s-1\"}", "[\"ES256\"]",
            "{\"alg\":\"es256\",\"kid\":\"k8s-1\"}", "{\"alg\":\"\",\"kid\":\"k8s-1\"}",
        };
        const char *base = "{\"iss\":\"" K8S_ISS "\",\"exp\":4102444800,\"aud\":\"hogland\"}";

        for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
            tokens[n++] = raw_token("{\"alg\":\"ES256\",\"kid\":\"k8s-1\"}", payloads[i]);
        for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
            tokens[n++] = raw_token(headers[i], base);
        /* Nested 40 deep, in the claims and in the header. */
        buf_reset(&b);
        buf_addstr(&b, "{\"iss\":\"" K8S_ISS "\",\"x\":");
        for (k = 0; k < 40; k++)
            buf_addch(&b, '[');
        for (k = 0; k < 40; k++)
            buf_addch(&b, ']');
        buf_addch(&b, '}');
        tokens[n++] = raw_token("{\"alg\":\"ES256\",\"kid\":\"k8s-1\"}", buf_cstr(&b));
        buf_reset(&b);
        buf_addstr(&b, "{\"alg\":\"ES256\",\"x\":");
        for (k = 0; k < 40; k++)
            buf_addstr(&b, "{\"a\":");
        buf_addstr(&b, "1");
        for (k = 0; k < 40; k++)
            buf_addch(&b, '}');
        buf_addch(&b, '}');
        tokens[n++] = raw_token(buf_cstr(&b), base);
        /* A header over the 8 KiB a header may have. */
        buf_reset(&b);
        buf_addstr(&b, "{\"alg\":\"ES256\",\"kid\":\"k8s-1\",\"pad\":\"");
        for (k = 0; k < 9000; k++)
            buf_addch(&b, 'x');
        buf_addstr(&b, "\"}");
        tokens[n++] = raw_token(buf_cstr(&b), base);
    }
    /* Hand-made shapes. */
    {
        static const char *const shapes[] = {
            ".", "..", "...", "....", "a.b", "a..b", "eyJ..", ".eyJ.", "eyJhbGciOiJub25lIn0..",
            "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
            "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl",
            "e30.e30.e30", "tok_.x", "=.=.=", "eyJ.eyJ.eyJ.eyJ.eyJ.eyJ",
        };

        for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
            tokens[n++] = xstrdup(shapes[i]);
        buf_reset(&b);
        add_b64url(&b, "{\"alg\":\"ES256\"}", 15);
        buf_addch(&b, '.');
        add_b64url(&b, "{}", 2);
        buf_addch(&b, '.');
        tokens[n++] = xstrdup(buf_cstr(&b));
    }
    assert_true(n < 512);
    for (i = 0; i < n; i++) {
        char line[32768];
        const char *h[] = { line, NULL };
        struct resp r;

        snprintf(line, sizeof(line), "Authorization: Bearer %s", tokens[i]);
        mock_call(m, "GET", "/v1/me", NULL, NULL, 0, h, &r);
        if (r.status != 401)
            fail_msg("token %zu '%.200s': %ld %s", i, tokens[i], r.status, buf_cstr(&r.body));
        mock_check(m, "getMe", &r);
        mock_check_problem(&r, NULL);
        assert_non_null(resp_header(&r, "WWW-Authenticate"));
        resp_release(&r);
        free(tokens[i]);
    }
    /* Still serving. */
    {
        struct resp r;

        expect_me(m, good, "pr_runner", &r);
        resp_release(&r);
    }
    free(tokens);
    free(good);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oidc_accepts_a_k8s_sa_token_and_me_shows_its_claims,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_accepts_github_tokens_in_both_sub_formats,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_refuses_each_rfc8725_pitfall_with_its_code,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_checks_exp_and_nbf_at_the_leeway_edges,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_refuses_a_github_token_on_a_k8s_issuer_and_back,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_no_trust_mapping_is_403_naming_the_key,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_github_mappings_pick_the_most_specific,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_jwks_rotation_overlaps_then_drops_the_old_key,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_unknown_kid_refetch_is_rate_limited,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_cache_control_max_age_is_honoured,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_a_failed_fetch_keeps_the_keys_and_is_reported,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_concurrent_first_uses_fetch_the_jwks_once,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_admin_refuses_bad_definitions_with_a_pointer,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_admin_adds_lists_and_removes_issuers,
                                        mock_setup, mock_teardown),
        cmocka_unit_test(test_oidc_auth_config_loads_and_a_reset_comes_back_to_it),
        cmocka_unit_test(test_oidc_bad_auth_config_names_file_and_pointer),
        cmocka_unit_test_setup_teardown(test_oidc_journal_shows_auth_facts_and_never_the_token,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_oidc_malformed_tokens_are_always_401,
                                        mock_setup, mock_teardown),
    };

    return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
