/* Integration tests for API-token auth: getMe, every reason a credential is refused and
 * its WWW-Authenticate, tokens added and revoked through the admin API taking effect at
 * once, tokens files, persistence, and that no token reaches the journal. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "harness.h"
#include "store.h"
#include "xmalloc.h"

#define CHALLENGE_PREFIX "Bearer error=\"invalid_token\", error_description=\""

static char *fingerprint(const char *token)
{
    char fp[AUTH_FINGERPRINT_SIZE];

    auth_fingerprint(token, strlen(token), fp);
    return xstrdup(fp);
}

/* getMe with a raw Authorization header (NULL: none); answers r. */
static void me_with(struct mock *m, const char *authorization, struct resp *r)
{
    char line[1024];
    const char *h[] = { line, NULL };

    snprintf(line, sizeof(line), "Authorization: %s", authorization ? authorization : "");
    mock_call(m, "GET", "/v1/me", NULL, NULL, 0, authorization ? h : NULL, r);
}

/* r is a 401 with a challenge saying why; neither holds secret. */
static void expect_refused(const struct resp *r, const char *why, const char *secret)
{
    const char *challenge;
    char *copy;

    if (r->status != 401)
        fail_msg("status %ld, expected 401 (%s): %s", r->status, why, buf_cstr(&r->body));
    mock_check_problem(r, "invalid_token");
    challenge = resp_header(r, "WWW-Authenticate");
    assert_non_null(challenge);
    copy = xstrdup(challenge);
    if (strncmp(copy, CHALLENGE_PREFIX, strlen(CHALLENGE_PREFIX)) != 0
        || copy[strlen(copy) - 1] != '"')
        fail_msg("WWW-Authenticate is '%s'", copy);
    if (!strstr(copy, why) || !strstr(resp_str(r, "detail"), why))
        fail_msg("expected '%s' in the challenge '%s' and the detail '%s'", why, copy,
                 resp_str(r, "detail"));
    if (secret && (strstr(buf_cstr(&r->body), secret) || strstr(buf_cstr(&r->headers), secret)))
        fail_msg("the answer holds the credential '%s'", secret);
    free(copy);
}

static void test_auth_get_me_describes_the_principal(void **state)
{
    struct mock *m = *state;
    struct resp r;
    char *fp = fingerprint("tok_alice");

    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_alice");
    assert_string_equal(resp_str(&r, "auth_path"), "api_token");
    assert_string_equal(resp_str(&r, "subject"), fp);
    assert_string_equal(resp_str(&r, "display_name"), "Alice (tests)");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(r.json, "attributes")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "attributes")), 0);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_bob");
    resp_release(&r);
    free(fp);
}

static void test_auth_fingerprint_is_sha256_prefix(void **state)
{
    char *fp = fingerprint("tok_alice");

    (void)state;
    assert_string_equal(fp, "fp_c81f011a8fd5");
    free(fp);
}

static void test_auth_refuses_each_bad_credential_with_its_reason(void **state)
{
    static char long_token[300];
    struct {
        const char *header, *why, *secret;
    } cases[] = {
        { NULL, "missing credential", NULL },
        { "Basic dXNlcjpwYXNzd29yZA==", "the Basic auth scheme is not accepted", "dXNlcjpwYXNz" },
        { "Basic", "the Basic scheme came without credentials", NULL },
        { "Bearer", "the Bearer scheme came without a token", NULL },
        { "Bearer    ", "the Bearer scheme came without a token", NULL },
        { "Bearer tok_alice extra", "expected exactly one token after 'Bearer', found 2", "tok_alice" },
        { "Bearer tok_alice, Bearer tok_bob", "more than one credential", "tok_alice" },
        { "tok_alice", "the credential has no auth scheme", "tok_alice" },
        { "Bearer\ttok_alice", "is not '<scheme> <credentials>'", "tok_alice" },
        { "Bearer tok_", "the API token is malformed", NULL },
        { "Bearer tok_al!ce", "characters that RFC 6750 does not allow", "al!ce" },
        { "Bearer \"tok_alice\"", "characters that RFC 6750 does not allow", "tok_alice" },
        { "Bearer tok_a.b~c", "the API token is malformed", "tok_a.b~c" },
        { "Bearer abcdefgh", "API tokens start with", "abcdefgh" },
        { "Bearer tok_nobody_knows_me", "the token is not known (fingerprint fp_", "tok_nobody" },
        { "Weird$Scheme tok_alice", "the auth scheme is not Bearer", "tok_alice" },
        { "Bearer tok_BOB", "the token is not known", "tok_BOB" },
        { long_token, "the API token is malformed", "tok_aaaaaaaaaaaaaaaaaaaa" },
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    memset(long_token, 'a', sizeof(long_token) - 1);
    memcpy(long_token, "Bearer tok_", 11);
    long_token[11 + 201] = '\0';
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        me_with(m, cases[i].header, &r);
        expect_refused(&r, cases[i].why, cases[i].secret);
        mock_check(m, "getMe", &r);
        resp_release(&r);
    }
}

static void test_auth_names_the_unknown_token_by_fingerprint(void **state)
{
    struct mock *m = *state;
    char *fp = fingerprint("tok_nobody_knows_me");
    struct resp r;

    mock_call(m, "GET", "/v1/me", "tok_nobody_knows_me", NULL, 0, NULL, &r);
    expect_refused(&r, fp, "tok_nobody_knows_me");
    resp_release(&r);
    free(fp);
}

static void test_auth_refuses_two_authorization_headers(void **state)
{
    static const char *const h[] = {
        "Authorization: Bearer tok_alice", "Authorization: Bearer tok_bob", NULL,
    };
    struct mock *m = *state;
    struct resp r;

    mock_call(m, "GET", "/v1/me", NULL, NULL, 0, h, &r);
    expect_refused(&r, "more than one", "tok_bob");
    resp_release(&r);
}

static void test_auth_accepts_any_case_and_several_spaces(void **state)
{
    static const char *const ok[] = {
        "bearer tok_alice", "BEARER tok_alice", "Bearer   tok_alice", "Bearer tok_alice   ",
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        me_with(m, ok[i], &r);
        if (r.status != 200)
            fail_msg("'%s': %ld %s", ok[i], r.status, buf_cstr(&r.body));
        mock_check(m, "getMe", &r);
        assert_string_equal(resp_str(&r, "principal_id"), "pr_alice");
        resp_release(&r);
    }
}

static void test_auth_challenge_escapes_quotes_and_backslashes(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    auth_challenge(&b, "say \"hi\" \\ now\n\x01\xc3\xa9");
    assert_string_equal(buf_cstr(&b), CHALLENGE_PREFIX "say \\\"hi\\\" \\\\ now???\"");
    buf_reset(&b);
    auth_challenge(&b, "a \xe2\x80\x94 b \xe2\x80\x93 c");
    assert_string_equal(buf_cstr(&b), CHALLENGE_PREFIX "a - b - c\"");
    buf_reset(&b);
    auth_challenge(&b, "");
    assert_string_equal(buf_cstr(&b), CHALLENGE_PREFIX "\"");
    buf_release(&b);
}

static void test_auth_tokens_added_and_revoked_take_effect_at_once(void **state)
{
    struct mock *m = *state;
    char *fp = fingerprint("tok_carol_0123456789");
    char target[128];
    struct resp r;

    mock_call(m, "GET", "/v1/me", "tok_carol_0123456789", NULL, 0, NULL, &r);
    expect_refused(&r, "the token is not known", "tok_carol");
    resp_release(&r);

    mock_expect(m, "adminAddToken", 201, "POST", "/__hogmock/tokens", NULL,
                "{\"token\":\"tok_carol_0123456789\",\"principal_id\":\"pr_carol\","
                "\"display_name\":\"Carol\"}", &r);
    assert_string_equal(resp_str(&r, "fingerprint"), fp);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_carol");
    assert_null(strstr(buf_cstr(&r.body), "tok_carol"));
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_carol_0123456789", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_carol");
    assert_string_equal(resp_str(&r, "display_name"), "Carol");
    resp_release(&r);

    /* Revoked by fingerprint: refused on the very next request. */
    snprintf(target, sizeof(target), "/__hogmock/tokens/%s", fp);
    mock_expect(m, "adminRevokeToken", 204, "DELETE", target, NULL, NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", "tok_carol_0123456789", NULL, 0, NULL, &r);
    expect_refused(&r, "the token was revoked", "tok_carol");
    resp_release(&r);
    mock_expect(m, "adminRevokeToken", 204, "DELETE", target, NULL, NULL, &r);
    resp_release(&r);

    /* Added again: back at once, for the principal now given. */
    mock_expect(m, "adminAddToken", 201, "POST", "/__hogmock/tokens", NULL,
                "{\"token\":\"tok_carol_0123456789\",\"principal_id\":\"pr_dan\"}", &r);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_carol_0123456789", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_dan");
    assert_string_equal(resp_str(&r, "display_name"), "pr_dan");
    resp_release(&r);

    /* Revoked by value. */
    mock_expect(m, "adminRevokeToken", 204, "DELETE", "/__hogmock/tokens/tok_carol_0123456789",
                NULL, NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", "tok_carol_0123456789", NULL, 0, NULL, &r);
    expect_refused(&r, "the token was revoked", "tok_carol");
    resp_release(&r);

    mock_expect(m, "adminRevokeToken", 404, "DELETE", "/__hogmock/tokens/tok_never_seen_1",
                NULL, NULL, &r);
    mock_check_problem(&r, "not_found");
    assert_null(strstr(buf_cstr(&r.body), "tok_never_seen_1"));
    resp_release(&r);
    mock_expect(m, "adminRevokeToken", 404, "DELETE", "/__hogmock/tokens/fp_000000000000",
                NULL, NULL, &r);
    resp_release(&r);
    free(fp);
}

static void test_auth_revoking_a_cached_file_token_refuses_it_at_once(void **state)
{
    struct mock *m = *state;
    struct resp r;
    int i;

    for (i = 0; i < 3; i++) {
        mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
        resp_release(&r);
    }
    mock_expect(m, "adminRevokeToken", 204, "DELETE", "/__hogmock/tokens/tok_bob", NULL, NULL,
                &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", "tok_bob", NULL, 0, NULL, &r);
    expect_refused(&r, "the token was revoked", "tok_bob");
    resp_release(&r);
    /* A reset of the tokens brings the file's token back. */
    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL,
                "{\"principal_id\":\"pr_bob\",\"tokens\":true}", &r);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
    resp_release(&r);
}

static void test_auth_add_token_refuses_bad_entries_without_echo(void **state)
{
    static const char *const bodies[] = {
        "{\"token\":\"tok_bad token!\",\"principal_id\":\"pr_x\"}",
        "{\"token\":\"secret-without-prefix\",\"principal_id\":\"pr_x\"}",
        "{\"token\":\"tok_fine_but_principal_bad\",\"principal_id\":\"pr x\"}",
        "{\"token\":\"tok_fine_display_bad\",\"principal_id\":\"pr_x\",\"display_name\":\"a\\nb\"}",
        "{\"token\":\"tok_fine_extra\",\"principal_id\":\"pr_x\",\"admin\":true}",
        "{\"principal_id\":\"pr_x\"}",
    };
    static const char *const secrets[] = {
        "bad token!", "secret-without-prefix", "tok_fine_but", "tok_fine_display", "tok_fine_extra",
        NULL,
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        mock_expect(m, "adminAddToken", 422, "POST", "/__hogmock/tokens", NULL, bodies[i], &r);
        mock_check_problem(&r, "validation_failed");
        if (secrets[i] && strstr(buf_cstr(&r.body), secrets[i]))
            fail_msg("the answer quotes the token: %s", buf_cstr(&r.body));
        resp_release(&r);
    }
    mock_call(m, "GET", "/v1/me", "tok_fine_but_principal_bad", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_release(&r);
}

static void test_auth_journal_shows_rejections_and_holds_no_token(void **state)
{
    static const char *const tokens[] = {
        "tok_alice", "tok_bob", "tok_carol", "tok_journal_secret_1", "tok_nobody", "dXNlcjpw",
        NULL,
    };
    static const char *const basic[] = { "Authorization: Basic dXNlcjpwYXNzd29yZA==", NULL };
    struct mock *m = *state;
    const char *const *t;
    const cJSON *items, *e;
    char *fp = fingerprint("tok_journal_secret_1"), want[64];
    struct resp r;
    int rejected = 0;

    mock_expect(m, "adminAddToken", 201, "POST", "/__hogmock/tokens", NULL,
                "{\"token\":\"tok_journal_secret_1\",\"principal_id\":\"pr_j\"}", &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", "tok_journal_secret_1", NULL, 0, NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me?access_token=tok_journal_secret_1", NULL, NULL, 0, NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", NULL, NULL, 0, basic, &r);
    resp_release(&r);
    mock_call(m, "DELETE", "/__hogmock/tokens/tok_journal_secret_1", NULL, NULL, 0, NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", "tok_journal_secret_1", NULL, 0, NULL, &r);
    resp_release(&r);

    items = mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?limit=1000", NULL,
                        NULL, &r);
    items = cJSON_GetObjectItem(items, "items");
    for (t = tokens; *t; t++)
        if (strstr(buf_cstr(&r.body), *t))
            fail_msg("the journal holds '%s'", *t);
    snprintf(want, sizeof(want), "Bearer %s", fp);
    assert_non_null(strstr(buf_cstr(&r.body), want));
    cJSON_ArrayForEach(e, items) {
        const cJSON *status = cJSON_GetObjectItem(e, "status");

        if (status->valueint != 401)
            continue;
        rejected++;
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "principal_id")));
        assert_string_equal(cJSON_GetObjectItem(e, "op")->valuestring, "getMe");
    }
    assert_true(rejected >= 3);
    resp_release(&r);
    mock_expect(m, "adminJournalCount", 200, "GET", "/__hogmock/journal/count?status=401&op=getMe",
                NULL, NULL, &r);
    assert_int_equal(cJSON_GetObjectItem(r.json, "count")->valueint, rejected);
    resp_release(&r);
    free(fp);
}

/* ---- tokens files, straight through the auth API ---------------------------------- */

static char *write_temp(const char *name, const char *text)
{
    char *path = xmalloc(256);
    FILE *f;

    snprintf(path, 256, "/tmp/hog_test_auth_%d_%s", (int)getpid(), name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static enum rc resolve(struct auth *a, const char *header, struct principal **p)
{
    struct buf why = BUF_INIT;
    enum rc rc = auth_resolve(a, header, p, NULL, &why);

    buf_release(&why);
    return rc;
}

static void test_auth_loads_tokens_files_in_both_shapes(void **state)
{
    char *json = write_temp("list.json", "[{\"token\":\"tok_listed_1\",\"principal_id\":\"pr_l\","
                                         "\"display_name\":\"Listed\"},"
                                         "{\"token\":\"tok_listed_2\",\"principal_id\":\"pr_m\"}]");
    char *yaml = write_temp("map.yaml", "tok_mapped_1:\n  principal_id: pr_y\n");
    struct store *s;
    struct auth *a;
    struct buf err = BUF_INIT;
    struct principal *p = NULL;
    cJSON *list;
    char *text;

    (void)state;
    assert_int_equal(store_open(NULL, &s, &err), RC_OK);
    a = auth_new(s);
    assert_int_equal(auth_load_tokens(a, json, &err), RC_OK);
    assert_int_equal(auth_load_tokens(a, yaml, &err), RC_OK);
    assert_int_equal(resolve(a, "Bearer tok_listed_1", &p), RC_OK);
    assert_string_equal(p->id, "pr_l");
    assert_string_equal(p->display_name, "Listed");
    principal_free(p);
    assert_int_equal(resolve(a, "Bearer tok_listed_2", &p), RC_OK);
    assert_string_equal(p->display_name, "pr_m");
    principal_free(p);
    assert_int_equal(resolve(a, "Bearer tok_mapped_1", &p), RC_OK);
    assert_string_equal(p->id, "pr_y");
    principal_free(p);
    list = auth_list_tokens(a);
    assert_int_equal(cJSON_GetArraySize(list), 3);
    text = cJSON_PrintUnformatted(list);
    assert_null(strstr(text, "tok_"));
    assert_non_null(strstr(text, "\"source\":\"file\""));
    cJSON_free(text);
    cJSON_Delete(list);
    auth_free(a);
    store_close(s);
    unlink(json);
    unlink(yaml);
    free(json);
    free(yaml);
    buf_release(&err);
}

static void test_auth_bad_tokens_files_name_the_entry_and_register_nothing(void **state)
{
    struct {
        const char *text, *says, *secret;
    } cases[] = {
        { "[{\"token\":\"tok_good_1\",\"principal_id\":\"pr_a\"},"
          "{\"token\":\"tok_sneaky_2\",\"principal_id\":\"pr_b\",\"role\":\"admin\"}]",
          "entry 2 (fp_", "tok_sneaky_2" },
        { "[{\"token\":\"tok_good_1\",\"principal_id\":\"pr_a\"},{\"token\":\"tok_x\"}]",
          "entry 2 (fp_", "tok_x\"" },
        { "[{\"token\":\"tok_good_1\",\"principal_id\":\"pr_a\"},"
          "{\"token\":\"nope secret\",\"principal_id\":\"pr_b\"}]",
          "entry 2 (fp_", "nope secret" },
        { "[{\"token\":\"tok_good_1\",\"principal_id\":\"pr_a\"},"
          "{\"token\":\"tok_good_1\",\"principal_id\":\"pr_b\"}]",
          "the same token as entry 1", "tok_good_1" },
        { "tok_good_1:\n  principal_id: pr_a\ntok_other_2: just a string\n", "entry 2", "tok_other" },
        { "\"a string\"\n", "must be a mapping", NULL },
        { "[{\"token\":\"tok_good_1\",\"principal_id\":\"pr_a\"},{\"principal_id\":\"pr_b\"}]",
          "entry 2: has no token", NULL },
    };
    struct buf err = BUF_INIT;
    struct store *s;
    struct auth *a;
    struct principal *p = NULL;
    size_t i;

    (void)state;
    assert_int_equal(store_open(NULL, &s, &err), RC_OK);
    a = auth_new(s);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_temp("bad.yaml", cases[i].text);

        buf_reset(&err);
        assert_int_not_equal(auth_load_tokens(a, path, &err), RC_OK);
        if (!strstr(buf_cstr(&err), cases[i].says) || !strstr(buf_cstr(&err), path))
            fail_msg("case %zu: '%s' does not say '%s'", i, buf_cstr(&err), cases[i].says);
        if (cases[i].secret && strstr(buf_cstr(&err), cases[i].secret))
            fail_msg("case %zu: the message quotes the token: %s", i, buf_cstr(&err));
        assert_int_equal(resolve(a, "Bearer tok_good_1", &p), RC_DENIED);
        assert_null(p);
        unlink(path);
        free(path);
    }
    buf_reset(&err);
    assert_int_equal(auth_load_tokens(a, "/nonexistent/tokens.yaml", &err), RC_NOT_FOUND);
    auth_free(a);
    store_close(s);
    buf_release(&err);
}

static void unlink_db(const char *db)
{
    char side[160];

    unlink(db);
    snprintf(side, sizeof(side), "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", db);
    unlink(side);
}

static void test_auth_tokens_survive_a_restart_with_a_db(void **state)
{
    struct hogmock_config cfg;
    char db[128];
    struct mock *m;
    struct resp r;

    (void)state;
    snprintf(db, sizeof(db), "/tmp/hog_test_auth_%d.db", (int)getpid());
    unlink_db(db);
    mock_default_config(&cfg);
    cfg.db_path = db;
    m = mock_start(&cfg);
    mock_expect(m, "adminAddToken", 201, "POST", "/__hogmock/tokens", NULL,
                "{\"token\":\"tok_dave_persist\",\"principal_id\":\"pr_dave\"}", &r);
    resp_release(&r);
    mock_expect(m, "adminRevokeToken", 204, "DELETE", "/__hogmock/tokens/tok_bob", NULL, NULL,
                &r);
    resp_release(&r);
    mock_stop(m);

    m = mock_start(&cfg);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_dave_persist", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_dave");
    resp_release(&r);
    /* Loading the tokens file again does not undo a revocation... */
    mock_call(m, "GET", "/v1/me", "tok_bob", NULL, 0, NULL, &r);
    expect_refused(&r, "the token was revoked", "tok_bob");
    resp_release(&r);
    /* ...a reset of the tokens does, and removes what the admin API added. */
    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL, "{\"tokens\":true}", &r);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "removed"), "tokens")->valueint,
                     1);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", "tok_dave_persist", NULL, 0, NULL, &r);
    expect_refused(&r, "the token is not known", "tok_dave");
    resp_release(&r);
    mock_stop(m);
    unlink_db(db);
}

struct churn {
    struct auth *a;
    int done;
    int ok, denied, wrong;
};

static void *resolve_loop(void *arg)
{
    struct churn *c = arg;
    int i;

    for (i = 0; i < 2000; i++) {
        struct principal *p = NULL;

        if (resolve(c->a, i % 2 ? "Bearer tok_churn_1" : "Bearer tok_steady_1", &p) == RC_OK) {
            /* No assertions here: cmocka's cannot leave a thread. */
            if (strcmp(p->id, i % 2 ? "pr_c" : "pr_s") != 0)
                __atomic_add_fetch(&c->wrong, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&c->ok, 1, __ATOMIC_RELAXED);
        } else {
            __atomic_add_fetch(&c->denied, 1, __ATOMIC_RELAXED);
        }
        principal_free(p);
    }
    __atomic_add_fetch(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_auth_resolves_while_tokens_change(void **state)
{
    struct buf err = BUF_INIT;
    struct churn c = { 0 };
    struct principal *p = NULL;
    struct store *s;
    pthread_t t[4];
    int i;

    (void)state;
    assert_int_equal(store_open(NULL, &s, &err), RC_OK);
    c.a = auth_new(s);
    assert_int_equal(auth_add_token(c.a, "tok_steady_1", "pr_s", NULL, &err), RC_OK);
    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, resolve_loop, &c);
    /* Change the token for as long as the readers read. */
    for (i = 0; i < 50 || __atomic_load_n(&c.done, __ATOMIC_ACQUIRE) < 4; i++) {
        assert_int_equal(auth_add_token(c.a, "tok_churn_1", "pr_c", NULL, &err), RC_OK);
        assert_int_equal(auth_revoke(c.a, "tok_churn_1"), RC_OK);
    }
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    /* After the churn the store decides: revoked. */
    assert_int_equal(resolve(c.a, "Bearer tok_churn_1", &p), RC_DENIED);
    assert_int_equal(resolve(c.a, "Bearer tok_steady_1", &p), RC_OK);
    principal_free(p);
    assert_true(c.ok > 0);
    assert_int_equal(c.wrong, 0);
    auth_free(c.a);
    store_close(s);
    buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth_get_me_describes_the_principal, mock_setup, mock_teardown),
        cmocka_unit_test(test_auth_fingerprint_is_sha256_prefix),
        cmocka_unit_test_setup_teardown(test_auth_refuses_each_bad_credential_with_its_reason,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_auth_names_the_unknown_token_by_fingerprint, mock_setup,
                                        mock_teardown),
        cmocka_unit_test_setup_teardown(test_auth_refuses_two_authorization_headers, mock_setup,
                                        mock_teardown),
        cmocka_unit_test_setup_teardown(test_auth_accepts_any_case_and_several_spaces, mock_setup,
                                        mock_teardown),
        cmocka_unit_test(test_auth_challenge_escapes_quotes_and_backslashes),
        cmocka_unit_test_setup_teardown(test_auth_tokens_added_and_revoked_take_effect_at_once,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_auth_revoking_a_cached_file_token_refuses_it_at_once,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_auth_add_token_refuses_bad_entries_without_echo,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_auth_journal_shows_rejections_and_holds_no_token,
                                        mock_setup, mock_teardown),
        cmocka_unit_test(test_auth_loads_tokens_files_in_both_shapes),
        cmocka_unit_test(test_auth_bad_tokens_files_name_the_entry_and_register_nothing),
        cmocka_unit_test(test_auth_tokens_survive_a_restart_with_a_db),
        cmocka_unit_test(test_auth_resolves_while_tokens_change),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
