/* Integration tests for hogmock's built-in OIDC issuers: discovery documents and JWKS,
 * tokens minted on the admin API (every broken kind decoded to check it is what it says),
 * interop with PyJWT, `hogmock mint` on the command line, and a minted token through
 * GET /v1/me once a TrustMapping names its ServiceAccount. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "bundle.h"
#include "harness.h"
#include "jose.h"
#include "oidc.h"
#include "server.h"
#include "xmalloc.h"

struct fixture {
    struct mock *m;
    char k8s_pem[PATH_MAX], github_pem[PATH_MAX];
    char k8s_spec[PATH_MAX + 8], github_spec[PATH_MAX + 8];
};

static const char *const broken_kinds[] = {
    "alg_none", "wrong_key", "hs256_confusion", "expired", "not_yet_valid",
    "wrong_audience", "bad_base64url", "jwe_shaped", "no_kid", "unknown_kid",
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    struct hogmock_config cfg;
    struct buf b = BUF_INIT;
    const char *issuers[3];

    bundle_path("fixtures/auth/issuer-k8s.pem", &b);
    snprintf(fx->k8s_pem, sizeof(fx->k8s_pem), "%s", buf_cstr(&b));
    buf_reset(&b);
    bundle_path("fixtures/auth/issuer-github.pem", &b);
    snprintf(fx->github_pem, sizeof(fx->github_pem), "%s", buf_cstr(&b));
    buf_release(&b);
    snprintf(fx->k8s_spec, sizeof(fx->k8s_spec), "k8s=%s", fx->k8s_pem);
    snprintf(fx->github_spec, sizeof(fx->github_spec), "github=%s", fx->github_pem);
    issuers[0] = fx->k8s_spec;
    issuers[1] = fx->github_spec;
    issuers[2] = NULL;
    mock_default_config(&cfg);
    cfg.issuers = issuers;
    fx->m = mock_start(&cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    mock_stop(fx->m);
    free(fx);
    return 0;
}

/* ---- helpers ---- */

static const cJSON *get(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static const char *get_str(const cJSON *obj, const char *name)
{
    const cJSON *v = get(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool array_has(const cJSON *arr, const char *s)
{
    const cJSON *v;

    cJSON_ArrayForEach(v, arr)
        if (cJSON_IsString(v) && strcmp(v->valuestring, s) == 0)
            return true;
    return false;
}

/* The issuer URL of a built-in issuer of m. */
static void issuer_url(struct mock *m, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/__hogmock/oidc/%s", m->url, name);
}

/* The served JWKS of issuer name, parsed into set (empty before). */
static void served_jwks(struct mock *m, const char *name, struct jose_jwks *set)
{
    char target[128];
    struct resp r;
    struct buf err = BUF_INIT;

    snprintf(target, sizeof(target), "/__hogmock/oidc/%s/keys", name);
    mock_expect(m, "adminOidcJwks", 200, "GET", target, NULL, NULL, &r);
    if (jose_jwks_parse(buf_cstr(&r.body), r.body.len, set, &err) != JOSE_OK)
        fail_msg("the JWKS of %s does not parse: %s", name, buf_cstr(&err));
    assert_int_equal(jose_jwks_count(set), 1);
    buf_release(&err);
    resp_release(&r);
}

/* hogmock's clock, in Unix seconds. */
static int64_t mock_now(struct mock *m)
{
    struct resp r;
    int64_t now;

    mock_expect(m, "adminClock", 200, "GET", "/__hogmock/clock", NULL, NULL, &r);
    now = (int64_t)(cJSON_GetObjectItem(r.json, "now_ms")->valuedouble / 1000);
    resp_release(&r);
    return now;
}

/* POST /__hogmock/mint with json; the answer's token, a new string. The answer is
 * checked against the spec, and its header and claims against the token's own. */
static char *mint(struct mock *m, const char *json, struct resp *r)
{
    struct jose_jwt jwt;
    struct buf err = BUF_INIT;
    const char *token;

    mock_expect(m, "adminMint", 200, "POST", "/__hogmock/mint", NULL, json, r);
    token = get_str(r->json, "token");
    assert_non_null(token);
    jose_jwt_init(&jwt);
    if (jose_jwt_decode(token, &jwt, &err) == JOSE_OK) {
        if (!cJSON_Compare(jwt.header, get(r->json, "header"), 1)
            || !cJSON_Compare(jwt.claims, get(r->json, "claims"), 1))
            fail_msg("the answer's header or claims are not the token's: %s", buf_cstr(&r->body));
    }
    jose_jwt_release(&jwt);
    buf_release(&err);
    return xstrdup(token);
}

/* token decoded into jwt (empty before); fails the test when it does not decode. */
static void decode(const char *token, struct jose_jwt *jwt)
{
    struct buf err = BUF_INIT;

    jose_jwt_init(jwt);
    if (jose_jwt_decode(token, jwt, &err) != JOSE_OK)
        fail_msg("the token does not decode: %s", buf_cstr(&err));
    buf_release(&err);
}

/* token fully valid for jose: signature by the JWKS's key, times at now, audience hogland. */
static void expect_valid(const char *token, const struct jose_jwks *set, int64_t now)
{
    struct jose_jwt jwt;
    const struct jose_key *key;
    struct buf err = BUF_INIT;

    decode(token, &jwt);
    if (jose_jwks_select(set, &jwt, &key, &err) || jose_jwt_verify(&jwt, key, &err)
        || jose_claims_check_time(&jwt, now, 60, &err)
        || jose_claim_aud_contains(&jwt, "hogland", &err))
        fail_msg("a minted token does not verify: %s", buf_cstr(&err));
    jose_jwt_release(&jwt);
    buf_release(&err);
}

/* Run argv; stdout into out, stderr into err_out; the exit status, or -1. */
static int run(char *const argv[], struct buf *out, struct buf *err_out)
{
    char tmpl[] = "/tmp/test_issuer.XXXXXX", chunk[4096];
    int fds[2], status = 0, errfd = mkstemp(tmpl);
    ssize_t n;
    pid_t pid;

    assert_true(errfd >= 0);
    unlink(tmpl);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(errfd, 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        buf_add(out, chunk, (size_t)n);
    }
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid)
        status = -1;
    lseek(errfd, 0, SEEK_SET);
    while ((n = read(errfd, chunk, sizeof(chunk))) > 0)
        buf_add(err_out, chunk, (size_t)n);
    close(errfd);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void chomp(struct buf *b)
{
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
        buf_truncate(b, b->len - 1);
}

/* ---- discovery and JWKS ---- */

static void test_issuer_discovery_documents_follow_oidc_discovery(void **state)
{
    struct fixture *fx = *state;
    static const char *const names[] = { "k8s", "github" }, *const algs[] = { "ES256", "RS256" };
    size_t i;

    for (i = 0; i < 2; i++) {
        char target[128], want[256], jwks_target[256];
        const char *jwks_uri;
        struct resp r, k;

        snprintf(target, sizeof(target), "/__hogmock/oidc/%s/.well-known/openid-configuration",
                 names[i]);
        mock_expect(fx->m, "adminOidcDiscovery", 200, "GET", target, NULL, NULL, &r);
        issuer_url(fx->m, names[i], want, sizeof(want));
        assert_string_equal(get_str(r.json, "issuer"), want);
        /* OpenID Connect Discovery 1.0, section 3: the REQUIRED members a verifier reads. */
        jwks_uri = get_str(r.json, "jwks_uri");
        assert_non_null(jwks_uri);
        assert_true(strncmp(jwks_uri, want, strlen(want)) == 0);
        assert_true(array_has(get(r.json, "response_types_supported"), "id_token"));
        assert_true(array_has(get(r.json, "subject_types_supported"), "public"));
        assert_true(array_has(get(r.json, "id_token_signing_alg_values_supported"), algs[i]));
        assert_false(array_has(get(r.json, "id_token_signing_alg_values_supported"), "none"));
        /* The jwks_uri it names is served. */
        snprintf(jwks_target, sizeof(jwks_target), "%s", jwks_uri + strlen(fx->m->url));
        mock_expect(fx->m, "adminOidcJwks", 200, "GET", jwks_target, NULL, NULL, &k);
        resp_release(&k);
        resp_release(&r);
    }
}

static void test_issuer_jwks_holds_public_keys_only(void **state)
{
    struct fixture *fx = *state;
    static const char *const names[] = { "k8s", "github" };
    static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
    const char *pems[2] = { fx->k8s_pem, fx->github_pem };
    size_t i, j;

    for (i = 0; i < 2; i++) {
        char target[128];
        struct jose_jwks set;
        struct jose_key *fixture = NULL;
        struct buf err = BUF_INIT;
        const cJSON *key;
        struct resp r;

        snprintf(target, sizeof(target), "/__hogmock/oidc/%s/keys", names[i]);
        mock_expect(fx->m, "adminOidcJwks", 200, "GET", target, NULL, NULL, &r);
        cJSON_ArrayForEach(key, get(r.json, "keys")) {
            for (j = 0; j < sizeof(private_members) / sizeof(private_members[0]); j++)
                if (get(key, private_members[j]))
                    fail_msg("the JWKS of %s has the private member '%s'", names[i],
                             private_members[j]);
            assert_string_equal(get_str(key, "use"), "sig");
        }
        jose_jwks_init(&set);
        assert_int_equal(jose_jwks_parse(buf_cstr(&r.body), r.body.len, &set, &err), JOSE_OK);
        assert_int_equal(jose_jwks_count(&set), 1);
        assert_false(set.keys[0]->has_private);
        /* The key is the fixture's, named by its thumbprint. */
        assert_int_equal(jose_key_load_pem(pems[i], NULL, NULL, &fixture, &err), JOSE_OK);
        assert_string_equal(set.keys[0]->kid, fixture->kid);
        assert_string_equal(set.keys[0]->alg, fixture->alg);
        jose_key_free(fixture);
        jose_jwks_release(&set);
        buf_release(&err);
        resp_release(&r);
    }
}

static void test_issuer_not_running_is_404(void **state)
{
    struct hogmock_config cfg;
    const char *issuers[] = { "k8s", NULL };   /* a new key, made at start */
    struct mock *m;
    struct resp r;

    (void)state;
    mock_default_config(&cfg);
    cfg.issuers = issuers;
    m = mock_start(&cfg);
    mock_expect(m, "adminOidcJwks", 200, "GET", "/__hogmock/oidc/k8s/keys", NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminOidcJwks", 404, "GET", "/__hogmock/oidc/github/keys", NULL, NULL, &r);
    mock_check_problem(&r, "not_found");
    assert_non_null(strstr(resp_str(&r, "detail"), "--issuer github"));
    resp_release(&r);
    mock_expect(m, "adminOidcDiscovery", 404, "GET",
                "/__hogmock/oidc/nope/.well-known/openid-configuration", NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminMint", 404, "POST", "/__hogmock/mint", NULL, "{\"issuer\":\"github\"}",
                &r);
    resp_release(&r);
    mock_stop(m);

    /* A key file that is not there stops the start with a message that names it. */
    {
        const char *bad[] = { "k8s=/nonexistent/issuer.pem", NULL };
        struct hogmock *hm = NULL;
        struct buf err = BUF_INIT;

        mock_default_config(&cfg);
        cfg.issuers = bad;
        assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
        assert_null(hm);
        assert_non_null(strstr(buf_cstr(&err), "/nonexistent/issuer.pem"));
        buf_reset(&err);
        bad[0] = "gitlab";
        assert_int_equal(hogmock_start(&cfg, &hm, &err), RC_INVALID);
        assert_non_null(strstr(buf_cstr(&err), "gitlab"));
        buf_release(&err);
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void test_issuer_auth_config_runs_builtin_issuers(void **state)
{
    struct fixture *fx = *state;
    char dir[] = "/tmp/test_issuer.XXXXXX", conf[64], pem[64], cmd[128];
    struct hogmock_config cfg;
    struct hogmock *hm = NULL;
    struct jose_key *want = NULL;
    struct jose_jwks set;
    struct buf text = BUF_INIT, err = BUF_INIT;
    struct mock *m;
    FILE *f;
    size_t n;
    char chunk[4096];

    assert_non_null(mkdtemp(dir));
    snprintf(conf, sizeof(conf), "%s/auth.yaml", dir);
    snprintf(pem, sizeof(pem), "%s/github.pem", dir);
    f = fopen(fx->github_pem, "r");
    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&text, chunk, n);
    fclose(f);
    write_text(pem, buf_cstr(&text));
    /* A key path relative to the file, and a generated key. */
    write_text(conf, "builtin_issuers: [k8s, github=github.pem]\n");
    mock_default_config(&cfg);
    cfg.auth_config_path = conf;
    m = mock_start(&cfg);
    jose_jwks_init(&set);
    served_jwks(m, "github", &set);
    assert_int_equal(jose_key_load_pem(fx->github_pem, NULL, NULL, &want, &err), JOSE_OK);
    assert_string_equal(set.keys[0]->kid, want->kid);
    jose_jwks_release(&set);
    jose_jwks_init(&set);
    served_jwks(m, "k8s", &set);
    assert_string_equal(set.keys[0]->alg, "ES256");
    jose_jwks_release(&set);
    mock_stop(m);

    /* A name that is no built-in issuer stops the start, naming file and entry. */
    write_text(conf, "builtin_issuers: [k8s, okta]\n");
    assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
    assert_null(hm);
    if (!strstr(buf_cstr(&err), conf) || !strstr(buf_cstr(&err), "/builtin_issuers/1"))
        fail_msg("the message does not name the file and entry: %s", buf_cstr(&err));

    jose_key_free(want);
    buf_release(&text);
    buf_release(&err);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- minting ---- */

static void test_issuer_mints_k8s_tokens_like_projected_ones(void **state)
{
    struct fixture *fx = *state;
    struct jose_jwks set;
    struct jose_jwt jwt;
    struct resp r;
    char iss[256];
    const cJSON *kio, *aud;
    char *token;

    jose_jwks_init(&set);
    served_jwks(fx->m, "k8s", &set);
    token = mint(fx->m, "{\"issuer\":\"k8s\",\"namespace\":\"agents\","
                        "\"service_account\":\"runner\",\"pod\":\"runner-7d9c5\"}", &r);
    expect_valid(token, &set, mock_now(fx->m));
    decode(token, &jwt);
    issuer_url(fx->m, "k8s", iss, sizeof(iss));
    assert_string_equal(jwt.alg, "ES256");
    assert_string_equal(jwt.kid, set.keys[0]->kid);
    assert_string_equal(get_str(jwt.claims, "iss"), iss);
    assert_string_equal(get_str(jwt.claims, "sub"), "system:serviceaccount:agents:runner");
    aud = get(jwt.claims, "aud");
    assert_true(cJSON_IsArray(aud) && array_has(aud, "hogland"));
    assert_true(cJSON_IsNumber(get(jwt.claims, "nbf")) && cJSON_IsNumber(get(jwt.claims, "iat")));
    assert_int_equal((int64_t)get(jwt.claims, "exp")->valuedouble
                     - (int64_t)get(jwt.claims, "iat")->valuedouble, 3600);
    assert_non_null(get_str(jwt.claims, "jti"));
    kio = get(jwt.claims, "kubernetes.io");
    assert_string_equal(get_str(kio, "namespace"), "agents");
    assert_string_equal(get_str(get(kio, "serviceaccount"), "name"), "runner");
    assert_int_equal(strlen(get_str(get(kio, "serviceaccount"), "uid")), 36);
    assert_string_equal(get_str(get(kio, "pod"), "name"), "runner-7d9c5");
    assert_int_equal(strlen(get_str(get(kio, "pod"), "uid")), 36);
    assert_non_null(get_str(r.json, "expires_at"));
    jose_jwt_release(&jwt);
    resp_release(&r);
    free(token);

    /* Defaults: namespace and ServiceAccount "default", no pod. */
    token = mint(fx->m, "{\"issuer\":\"k8s\"}", &r);
    decode(token, &jwt);
    assert_string_equal(get_str(jwt.claims, "sub"), "system:serviceaccount:default:default");
    assert_null(get(get(jwt.claims, "kubernetes.io"), "pod"));
    jose_jwt_release(&jwt);
    resp_release(&r);
    free(token);
    jose_jwks_release(&set);
}

static void test_issuer_mints_github_tokens_like_actions_ones(void **state)
{
    struct fixture *fx = *state;
    struct jose_jwks set;
    struct jose_jwt jwt;
    struct resp r;
    char iss[256];
    char *token;

    jose_jwks_init(&set);
    served_jwks(fx->m, "github", &set);
    token = mint(fx->m, "{\"issuer\":\"github\",\"repository\":\"acme/website\","
                        "\"ref\":\"refs/heads/release\",\"workflow\":\"deploy\"}", &r);
    expect_valid(token, &set, mock_now(fx->m));
    decode(token, &jwt);
    issuer_url(fx->m, "github", iss, sizeof(iss));
    assert_string_equal(jwt.alg, "RS256");
    assert_string_equal(get_str(jwt.claims, "iss"), iss);
    assert_string_equal(get_str(jwt.claims, "sub"), "repo:acme/website:ref:refs/heads/release");
    assert_string_equal(get_str(jwt.claims, "aud"), "hogland");
    assert_string_equal(get_str(jwt.claims, "repository"), "acme/website");
    assert_string_equal(get_str(jwt.claims, "repository_owner"), "acme");
    assert_string_equal(get_str(jwt.claims, "ref"), "refs/heads/release");
    assert_string_equal(get_str(jwt.claims, "ref_type"), "branch");
    assert_string_equal(get_str(jwt.claims, "workflow"), "deploy");
    assert_string_equal(get_str(jwt.claims, "job_workflow_ref"),
                        "acme/website/.github/workflows/deploy.yml@refs/heads/release");
    assert_int_equal(strlen(get_str(jwt.claims, "sha")), 40);
    assert_null(get(jwt.claims, "environment"));
    jose_jwt_release(&jwt);
    resp_release(&r);
    free(token);

    /* With an environment, sub names it, as GitHub does. */
    token = mint(fx->m, "{\"issuer\":\"github\",\"repository\":\"acme/website\","
                        "\"environment\":\"production\"}", &r);
    decode(token, &jwt);
    assert_string_equal(get_str(jwt.claims, "sub"), "repo:acme/website:environment:production");
    assert_string_equal(get_str(jwt.claims, "environment"), "production");
    assert_string_equal(get_str(jwt.claims, "ref"), "refs/heads/main");
    jose_jwt_release(&jwt);
    resp_release(&r);
    free(token);
    jose_jwks_release(&set);
}

static void test_issuer_mint_takes_lifetime_audience_kid_and_claims(void **state)
{
    struct fixture *fx = *state;
    struct jose_jwt jwt;
    struct resp r;
    char *token;

    token = mint(fx->m, "{\"issuer\":\"k8s\",\"lifetime_seconds\":60,"
                        "\"audience\":[\"hogland\",\"vault\"],\"kid\":\"rotated-1\","
                        "\"claims\":{\"jti\":null,\"team\":\"agents\",\"sub\":\"custom\"}}", &r);
    decode(token, &jwt);
    assert_int_equal((int64_t)get(jwt.claims, "exp")->valuedouble
                     - (int64_t)get(jwt.claims, "iat")->valuedouble, 60);
    assert_int_equal(cJSON_GetArraySize(get(jwt.claims, "aud")), 2);
    assert_true(array_has(get(jwt.claims, "aud"), "vault"));
    assert_string_equal(jwt.kid, "rotated-1");
    assert_null(get(jwt.claims, "jti"));
    assert_string_equal(get_str(jwt.claims, "team"), "agents");
    assert_string_equal(get_str(jwt.claims, "sub"), "custom");
    jose_jwt_release(&jwt);
    resp_release(&r);
    free(token);

    /* Without exp, expires_at is null. */
    token = mint(fx->m, "{\"issuer\":\"github\",\"audience\":\"vault\","
                        "\"claims\":{\"exp\":null}}", &r);
    assert_true(cJSON_IsNull(get(r.json, "expires_at")));
    decode(token, &jwt);
    assert_string_equal(get_str(jwt.claims, "aud"), "vault");
    jose_jwt_release(&jwt);
    resp_release(&r);
    free(token);
}

static void test_issuer_mint_refuses_requests_that_do_not_fit(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *json, *pointer;
    } cases[] = {
        { "{\"issuer\":\"k8s\",\"repository\":\"acme/agents\"}", "/repository" },
        { "{\"issuer\":\"github\",\"namespace\":\"agents\"}", "/namespace" },
        { "{\"issuer\":\"k8s\",\"namespace\":\"Not_A_Name\"}", "/namespace" },
        { "{\"issuer\":\"k8s\",\"broken\":\"rot13\"}", "/broken" },
        { "{\"issuer\":\"k8s\",\"lifetime_seconds\":0}", "/lifetime_seconds" },
        { "{\"issuer\":\"github\",\"repository\":\"no-slash\"}", "/repository" },
        { "{\"issuer\":\"okta\"}", "/issuer" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cJSON *e;
        bool found = false;
        struct resp r;

        mock_expect(fx->m, "adminMint", 422, "POST", "/__hogmock/mint", NULL, cases[i].json, &r);
        mock_check_problem(&r, "validation_failed");
        cJSON_ArrayForEach(e, get(r.json, "errors"))
            found = found || (get_str(e, "pointer")
                              && strcmp(get_str(e, "pointer"), cases[i].pointer) == 0);
        if (!found)
            fail_msg("%s: no error at %s: %s", cases[i].json, cases[i].pointer,
                     buf_cstr(&r.body));
        resp_release(&r);
    }
}

/* Each broken kind, from the issuer name, checked to be what it says with jose. */
static void check_broken(struct fixture *fx, const char *issuer, const char *kind)
{
    struct jose_jwks set;
    struct jose_jwt jwt;
    const struct jose_key *key;
    struct buf err = BUF_INIT;
    int64_t now = mock_now(fx->m);
    char json[128];
    struct resp r;
    char *token;

    jose_jwks_init(&set);
    served_jwks(fx->m, issuer, &set);
    key = set.keys[0];
    snprintf(json, sizeof(json), "{\"issuer\":\"%s\",\"broken\":\"%s\"}", issuer, kind);
    token = mint(fx->m, json, &r);
    jose_jwt_init(&jwt);
    if (strcmp(kind, "bad_base64url") == 0) {
        assert_non_null(strchr(token, '+'));
        assert_int_equal(jose_jwt_decode(token, &jwt, &err), JOSE_MALFORMED);
    } else if (strcmp(kind, "jwe_shaped") == 0) {
        size_t dots = 0;
        const char *p;

        for (p = token; *p; p++)
            dots += *p == '.';
        assert_int_equal(dots, 4);
        assert_int_equal(jose_jwt_decode(token, &jwt, &err), JOSE_MALFORMED);
        assert_true(cJSON_IsNull(get(r.json, "claims")));
        assert_non_null(get_str(get(r.json, "header"), "enc"));
    } else {
        decode(token, &jwt);
        if (strcmp(kind, "alg_none") == 0) {
            assert_string_equal(jwt.alg, "none");
            assert_int_equal(jwt.signature.len, 0);
            assert_int_equal(jose_jwt_verify(&jwt, key, &err), JOSE_ALG_NOT_ALLOWED);
        } else if (strcmp(kind, "wrong_key") == 0) {
            assert_string_equal(jwt.kid, key->kid);
            assert_string_equal(jwt.alg, key->alg);
            assert_int_equal(jose_jwt_verify(&jwt, key, &err), JOSE_BAD_SIGNATURE);
        } else if (strcmp(kind, "hs256_confusion") == 0) {
            /* HMAC-SHA256 keyed by the public key's PEM, as a confused verifier checks it. */
            char *pem = jose_key_public_pem(key);
            unsigned char mac[EVP_MAX_MD_SIZE];
            size_t maclen = 0;

            assert_string_equal(jwt.alg, "HS256");
            assert_int_equal(jose_jwt_verify(&jwt, key, &err), JOSE_ALG_NOT_ALLOWED);
            assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, strlen(pem),
                                      (const unsigned char *)jwt.signing_input.data,
                                      jwt.signing_input.len, mac, sizeof(mac), &maclen));
            assert_int_equal(maclen, jwt.signature.len);
            assert_memory_equal(mac, jwt.signature.data, maclen);
            free(pem);
        } else {
            const struct jose_key *chosen = NULL;
            enum jose_err sel = jose_jwks_select(&set, &jwt, &chosen, &err);

            /* Well signed by the issuer's key, whatever else is wrong. */
            assert_int_equal(jose_jwt_verify(&jwt, key, &err), JOSE_OK);
            if (strcmp(kind, "expired") == 0) {
                assert_int_equal(jose_claims_check_time(&jwt, now, 60, &err), JOSE_EXPIRED);
            } else if (strcmp(kind, "not_yet_valid") == 0) {
                assert_int_equal(jose_claims_check_time(&jwt, now, 60, &err), JOSE_NOT_YET_VALID);
            } else if (strcmp(kind, "wrong_audience") == 0) {
                assert_int_equal(jose_claim_aud_contains(&jwt, "hogland", &err),
                                 JOSE_BAD_AUDIENCE);
                assert_int_equal(jose_claims_check_time(&jwt, now, 60, &err), JOSE_OK);
            } else if (strcmp(kind, "no_kid") == 0) {
                assert_null(jwt.kid);
                assert_null(get(get(r.json, "header"), "kid"));
            } else if (strcmp(kind, "unknown_kid") == 0) {
                assert_non_null(jwt.kid);
                assert_string_not_equal(jwt.kid, key->kid);
                assert_int_equal(sel, JOSE_UNKNOWN_KID);
            } else {
                fail_msg("no check for broken kind %s", kind);
            }
        }
    }
    jose_jwt_release(&jwt);
    jose_jwks_release(&set);
    buf_release(&err);
    resp_release(&r);
    free(token);
}

static void test_issuer_every_broken_kind_is_what_it_says(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(broken_kinds) / sizeof(broken_kinds[0]); i++) {
        check_broken(*state, "k8s", broken_kinds[i]);
        check_broken(*state, "github", broken_kinds[i]);
    }
}

/* ---- PyJWT ---- */

/* A python3 with PyJWT: the one on PATH, else Debian's (python3-jwt). */
static const char *python_with_pyjwt(void)
{
    static const char *const candidates[] = { "python3", "/usr/bin/python3" };
    size_t i;

    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        char *argv[] = { (char *)candidates[i], "-c", "import jwt, cryptography", NULL };
        struct buf out = BUF_INIT, err = BUF_INIT;
        int status = run(argv, &out, &err);

        buf_release(&out);
        buf_release(&err);
        if (status == 0)
            return candidates[i];
    }
    fail_msg("python3 with PyJWT is missing (import jwt failed): run scripts/install-deps test");
    return NULL;
}

/* Fetch the discovery document and the JWKS it names from hogmock, verify the token as a
 * relying party would, and make sure a token under the wrong key is refused. */
static const char py_verify[] =
    "import json, sys, urllib.request, jwt\n"
    "urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))\n"
    "issuer, token, bad = sys.argv[1], sys.argv[2], sys.argv[3]\n"
    "conf = json.load(urllib.request.urlopen(issuer + '/.well-known/openid-configuration'))\n"
    "assert conf['issuer'] == issuer, conf\n"
    "client = jwt.PyJWKClient(conf['jwks_uri'])\n"
    "key = client.get_signing_key_from_jwt(token)\n"
    "claims = jwt.decode(token, key.key, algorithms=conf['id_token_signing_alg_values_supported'],\n"
    "                    audience='hogland', issuer=issuer)\n"
    "try:\n"
    "    jwt.decode(bad, client.get_signing_key_from_jwt(bad).key,\n"
    "               algorithms=conf['id_token_signing_alg_values_supported'], audience='hogland')\n"
    "    sys.exit('a token signed by another key verified')\n"
    "except jwt.InvalidSignatureError:\n"
    "    pass\n"
    "print('verified', claims['sub'])\n";

static void test_issuer_tokens_verify_with_pyjwt(void **state)
{
    struct fixture *fx = *state;
    const char *python = python_with_pyjwt();
    static const char *const names[] = { "k8s", "github" };
    static const char *const subs[] = { "system:serviceaccount:agents:runner",
                                        "repo:acme/agents:ref:refs/heads/main" };
    size_t i;

    for (i = 0; i < 2; i++) {
        char json[160], iss[256];
        struct buf out = BUF_INIT, err = BUF_INIT;
        struct resp r, b;
        char *token, *bad;
        int status;

        snprintf(json, sizeof(json), "{\"issuer\":\"%s\"%s}", names[i],
                 i == 0 ? ",\"namespace\":\"agents\",\"service_account\":\"runner\"" : "");
        token = mint(fx->m, json, &r);
        snprintf(json, sizeof(json), "{\"issuer\":\"%s\",\"broken\":\"wrong_key\"}", names[i]);
        bad = mint(fx->m, json, &b);
        issuer_url(fx->m, names[i], iss, sizeof(iss));
        {
            char *argv[] = { (char *)python, "-c", (char *)py_verify, iss, token, bad, NULL };

            status = run(argv, &out, &err);
        }
        if (status != 0 || !strstr(buf_cstr(&out), subs[i]))
            fail_msg("PyJWT did not verify the %s token (exit %d): %s%s", names[i], status,
                     buf_cstr(&out), buf_cstr(&err));
        buf_release(&out);
        buf_release(&err);
        resp_release(&r);
        resp_release(&b);
        free(token);
        free(bad);
    }
}

static void add_trust(struct mock *m, const char *json)
{
    cJSON *def = cJSON_Parse(json);
    struct buf err = BUF_INIT;

    assert_non_null(def);
    if (oidc_add_trust(m->hm->oidc, def, &err) != RC_OK)
        fail_msg("the TrustMapping %s was refused: %s", json, buf_cstr(&err));
    cJSON_Delete(def);
    buf_release(&err);
}

/* PyJWT signs a projected-token look-alike with the k8s issuer's fixture key (argv: pem,
 * issuer, now, kid); hogmock must take it like its own. */
static const char py_sign[] =
    "import sys, jwt\n"
    "pem, issuer, now, kid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]\n"
    "key = open(pem).read()\n"
    "claims = {'iss': issuer, 'sub': 'system:serviceaccount:agents:runner', 'aud': ['hogland'],\n"
    "          'iat': now, 'nbf': now, 'exp': now + 600,\n"
    "          'kubernetes.io': {'namespace': 'agents',\n"
    "                            'serviceaccount': {'name': 'runner', 'uid': 'u-1'}}}\n"
    "print(jwt.encode(claims, key, algorithm='ES256', headers={'kid': kid}))\n";

static void test_issuer_accepts_tokens_pyjwt_signs(void **state)
{
    struct fixture *fx = *state;
    const char *python = python_with_pyjwt();
    char iss[256], json[512], now[32];
    struct buf out = BUF_INIT, err = BUF_INIT;
    struct jose_jwks set;
    struct resp r;
    int status;

    issuer_url(fx->m, "k8s", iss, sizeof(iss));
    jose_jwks_init(&set);
    served_jwks(fx->m, "k8s", &set);
    snprintf(now, sizeof(now), "%lld", (long long)mock_now(fx->m));
    {
        char *argv[] = { (char *)python, "-c", (char *)py_sign, fx->k8s_pem, iss, now,
                         set.keys[0]->kid, NULL };

        status = run(argv, &out, &err);
    }
    jose_jwks_release(&set);
    if (status != 0)
        fail_msg("PyJWT could not sign (exit %d): %s", status, buf_cstr(&err));
    chomp(&out);
    snprintf(json, sizeof(json), "{\"kind\":\"k8s_sa\",\"issuer\":\"%s\",\"namespace\":\"agents\","
             "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}", iss);
    add_trust(fx->m, json);
    mock_expect(fx->m, "getMe", 200, "GET", "/v1/me", buf_cstr(&out), NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_runner");
    assert_string_equal(resp_str(&r, "auth_path"), "k8s_sa");
    resp_release(&r);
    buf_release(&out);
    buf_release(&err);
}

/* As a client given HOG_TOKEN_FILE must: read the file on every call, never once. */
static void call_with_token_file(struct mock *m, const char *path, struct resp *r)
{
    struct buf tok = BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&tok, chunk, n);
    fclose(f);
    chomp(&tok);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", buf_cstr(&tok), NULL, r);
    buf_release(&tok);
}

/* Kubernetes rotates a projected token in place (a new file renamed over the old); the
 * same client process sends the new one on its next call, and the journal tells the two
 * credentials apart by fingerprint without holding either. */
static void test_issuer_token_file_rotation(void **state)
{
    struct fixture *fx = *state;
    char dir[] = "/tmp/hogmock-token-XXXXXX", path[64], tmp[64], iss[256], json[512];
    const char *fp[2];
    struct resp r, j;
    const cJSON *items;
    char *token;
    int i;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    snprintf(tmp, sizeof(tmp), "%s/token.new", dir);
    issuer_url(fx->m, "k8s", iss, sizeof(iss));
    snprintf(json, sizeof(json), "{\"kind\":\"k8s_sa\",\"issuer\":\"%s\",\"namespace\":\"agents\","
             "\"service_account\":\"rotor\",\"principal_id\":\"pr_rotor\"}", iss);
    add_trust(fx->m, json);
    for (i = 0; i < 2; i++) {
        token = mint(fx->m, "{\"issuer\":\"k8s\",\"namespace\":\"agents\","
                            "\"service_account\":\"rotor\",\"lifetime_seconds\":3600}", &r);
        resp_release(&r);
        write_text(tmp, token);
        assert_int_equal(rename(tmp, path), 0);
        free(token);
        call_with_token_file(fx->m, path, &r);
        assert_string_equal(resp_str(&r, "principal_id"), "pr_rotor");
        resp_release(&r);
        /* 48 minutes later the kubelet has written a new token (at 80% of its life). */
        mock_expect(fx->m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL,
                    "{\"ms\":2880000}", &r);
        resp_release(&r);
    }
    unlink(path);
    rmdir(dir);
    mock_expect(fx->m, "adminJournal", 200, "GET", "/__hogmock/journal?op=getMe&principal=pr_rotor",
                NULL, NULL, &j);
    items = get(j.json, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    for (i = 0; i < 2; i++) {
        const cJSON *e = cJSON_GetArrayItem(items, i);

        fp[i] = get_str(get(e, "headers"), "authorization");
        assert_non_null(fp[i]);
        assert_non_null(strstr(fp[i], "fp_"));
        assert_string_equal(get_str(e, "auth_subject"), "system:serviceaccount:agents:rotor");
    }
    assert_string_not_equal(fp[0], fp[1]);
    assert_null(strstr(buf_cstr(&j.body), "eyJ"));
    resp_release(&j);
}

/* ---- the command line ---- */

static void test_issuer_cli_mints_with_a_fixture_key(void **state)
{
    struct fixture *fx = *state;
    char exe[PATH_MAX];
    struct jose_key *key = NULL;
    struct jose_jwt jwt;
    struct buf out = BUF_INIT, err = BUF_INIT, why = BUF_INIT;
    int status;

    if (!mock_binary(exe, sizeof(exe)))
        fail_msg("no hogmock binary at '%s'", exe);
    assert_int_equal(jose_key_load_pem(fx->k8s_pem, NULL, NULL, &key, &why), JOSE_OK);

    {
        char *argv[] = { exe, "mint", "--issuer-key", fx->k8s_pem, "--issuer",
                         "https://oidc.example.com/id/TEST", "--namespace", "agents",
                         "--service-account", "runner", "--lifetime=600", NULL };

        status = run(argv, &out, &err);
    }
    if (status != 0)
        fail_msg("hogmock mint exited %d: %s", status, buf_cstr(&err));
    chomp(&out);
    assert_null(strchr(buf_cstr(&out), '\n'));
    decode(buf_cstr(&out), &jwt);
    if (jose_jwt_verify(&jwt, key, &why) || jose_claims_check_time(&jwt, time(NULL), 60, &why)
        || jose_claim_aud_contains(&jwt, "hogland", &why))
        fail_msg("the token of hogmock mint does not verify: %s", buf_cstr(&why));
    assert_string_equal(jwt.kid, key->kid);
    assert_string_equal(get_str(jwt.claims, "iss"), "https://oidc.example.com/id/TEST");
    assert_string_equal(get_str(jwt.claims, "sub"), "system:serviceaccount:agents:runner");
    assert_int_equal((int64_t)get(jwt.claims, "exp")->valuedouble
                     - (int64_t)get(jwt.claims, "iat")->valuedouble, 600);
    jose_jwt_release(&jwt);

    /* A GitHub token, broken on purpose. */
    buf_reset(&out);
    buf_reset(&err);
    {
        char *argv[] = { exe, "mint", "--issuer-key", fx->github_pem, "--kind", "github",
                         "--issuer", "https://token.actions.githubusercontent.com",
                         "--repository", "acme/agents", "--broken", "expired", NULL };

        status = run(argv, &out, &err);
    }
    assert_int_equal(status, 0);
    chomp(&out);
    decode(buf_cstr(&out), &jwt);
    assert_string_equal(jwt.alg, "RS256");
    assert_string_equal(get_str(jwt.claims, "sub"), "repo:acme/agents:ref:refs/heads/main");
    assert_int_equal(jose_claims_check_time(&jwt, time(NULL), 60, &why), JOSE_EXPIRED);
    jose_jwt_release(&jwt);

    /* The public JWKS of the key, for the verifier's configuration. */
    buf_reset(&out);
    buf_reset(&err);
    {
        char *argv[] = { exe, "mint", "--issuer-key", fx->k8s_pem, "--print-jwks", NULL };
        struct jose_jwks set;

        assert_int_equal(run(argv, &out, &err), 0);
        jose_jwks_init(&set);
        assert_int_equal(jose_jwks_parse(buf_cstr(&out), out.len, &set, &why), JOSE_OK);
        assert_string_equal(set.keys[0]->kid, key->kid);
        assert_null(strstr(buf_cstr(&out), "\"d\""));
        jose_jwks_release(&set);
    }

    /* --help, and usage errors that name the option. */
    buf_reset(&out);
    buf_reset(&err);
    {
        char *argv[] = { exe, "mint", "--help", NULL };

        assert_int_equal(run(argv, &out, &err), 0);
        assert_non_null(strstr(buf_cstr(&out), "--issuer-key"));
        assert_non_null(strstr(buf_cstr(&out), "--broken"));
    }
    buf_reset(&out);
    buf_reset(&err);
    {
        char *argv[] = { exe, "mint", "--issuer-key", fx->k8s_pem, "--issuer", "https://x",
                         "--repository", "acme/agents", NULL };

        assert_int_equal(run(argv, &out, &err), 2);
        assert_int_equal(out.len, 0);
        assert_non_null(strstr(buf_cstr(&err), "--repository"));
    }
    buf_reset(&out);
    buf_reset(&err);
    {
        char *argv[] = { exe, "mint", "--issuer-key", fx->k8s_pem, NULL };

        assert_int_equal(run(argv, &out, &err), 2);
        assert_non_null(strstr(buf_cstr(&err), "--issuer"));
    }
    buf_reset(&out);
    buf_reset(&err);
    {
        char *argv[] = { exe, "mint", "--issuer-key", "/nonexistent.pem", "--issuer", "x", NULL };

        assert_int_equal(run(argv, &out, &err), 1);
        assert_non_null(strstr(buf_cstr(&err), "/nonexistent.pem"));
    }
    jose_key_free(key);
    buf_release(&out);
    buf_release(&err);
    buf_release(&why);
}

/* ---- end to end ---- */

static void test_issuer_minted_tokens_reach_get_me_through_a_trust_mapping(void **state)
{
    struct fixture *fx = *state;
    char iss[256], json[512];
    struct resp r;
    char *token;

    issuer_url(fx->m, "k8s", iss, sizeof(iss));
    /* Without a mapping: a good credential, no principal. */
    token = mint(fx->m, "{\"issuer\":\"k8s\",\"namespace\":\"agents\","
                        "\"service_account\":\"builder\"}", &r);
    resp_release(&r);
    mock_expect(fx->m, "getMe", 403, "GET", "/v1/me", token, NULL, &r);
    mock_check_problem(&r, "no_trust_mapping");
    assert_non_null(strstr(resp_str(&r, "detail"), "builder"));
    resp_release(&r);
    free(token);

    snprintf(json, sizeof(json), "{\"kind\":\"k8s_sa\",\"issuer\":\"%s\",\"namespace\":\"agents\","
             "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}", iss);
    add_trust(fx->m, json);
    token = mint(fx->m, "{\"issuer\":\"k8s\",\"namespace\":\"agents\","
                        "\"service_account\":\"runner\"}", &r);
    resp_release(&r);
    mock_expect(fx->m, "getMe", 200, "GET", "/v1/me", token, NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_runner");
    assert_string_equal(resp_str(&r, "auth_path"), "k8s_sa");
    assert_string_equal(resp_str(&r, "subject"), "system:serviceaccount:agents:runner");
    assert_string_equal(get_str(get(r.json, "attributes"), "namespace"), "agents");
    resp_release(&r);
    free(token);

    /* Expired, and for the wrong audience: refused with 401. */
    token = mint(fx->m, "{\"issuer\":\"k8s\",\"namespace\":\"agents\","
                        "\"service_account\":\"runner\",\"broken\":\"expired\"}", &r);
    resp_release(&r);
    mock_expect(fx->m, "getMe", 401, "GET", "/v1/me", token, NULL, &r);
    resp_release(&r);
    free(token);

    /* The GitHub issuer, mapped on its repository. */
    issuer_url(fx->m, "github", iss, sizeof(iss));
    snprintf(json, sizeof(json), "{\"kind\":\"github_oidc\",\"issuer\":\"%s\","
             "\"repository\":\"acme/agents\",\"principal_id\":\"pr_ci\"}", iss);
    add_trust(fx->m, json);
    token = mint(fx->m, "{\"issuer\":\"github\",\"repository\":\"acme/agents\"}", &r);
    resp_release(&r);
    mock_expect(fx->m, "getMe", 200, "GET", "/v1/me", token, NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_ci");
    assert_string_equal(resp_str(&r, "auth_path"), "github_oidc");
    resp_release(&r);
    free(token);

    /* After a reset the built-in issuers are trusted still. */
    mock_expect(fx->m, "adminReset", 200, "POST", "/__hogmock/reset", NULL, NULL, &r);
    resp_release(&r);
    issuer_url(fx->m, "k8s", iss, sizeof(iss));
    snprintf(json, sizeof(json), "{\"kind\":\"k8s_sa\",\"issuer\":\"%s\",\"namespace\":\"agents\","
             "\"service_account\":\"runner\",\"principal_id\":\"pr_runner\"}", iss);
    {
        cJSON *list = oidc_list_trust(fx->m->hm->oidc);

        if (cJSON_GetArraySize(list) == 0)
            add_trust(fx->m, json);
        cJSON_Delete(list);
    }
    token = mint(fx->m, "{\"issuer\":\"k8s\",\"namespace\":\"agents\","
                        "\"service_account\":\"runner\"}", &r);
    resp_release(&r);
    mock_expect(fx->m, "getMe", 200, "GET", "/v1/me", token, NULL, &r);
    assert_string_equal(resp_str(&r, "auth_path"), "k8s_sa");
    resp_release(&r);
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issuer_discovery_documents_follow_oidc_discovery),
        cmocka_unit_test(test_issuer_jwks_holds_public_keys_only),
        cmocka_unit_test(test_issuer_not_running_is_404),
        cmocka_unit_test(test_issuer_auth_config_runs_builtin_issuers),
        cmocka_unit_test(test_issuer_mints_k8s_tokens_like_projected_ones),
        cmocka_unit_test(test_issuer_mints_github_tokens_like_actions_ones),
        cmocka_unit_test(test_issuer_mint_takes_lifetime_audience_kid_and_claims),
        cmocka_unit_test(test_issuer_mint_refuses_requests_that_do_not_fit),
        cmocka_unit_test(test_issuer_every_broken_kind_is_what_it_says),
        cmocka_unit_test(test_issuer_tokens_verify_with_pyjwt),
        cmocka_unit_test(test_issuer_accepts_tokens_pyjwt_signs),
        cmocka_unit_test(test_issuer_token_file_rotation),
        cmocka_unit_test(test_issuer_cli_mints_with_a_fixture_key),
        cmocka_unit_test(test_issuer_minted_tokens_reach_get_me_through_a_trust_mapping),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
