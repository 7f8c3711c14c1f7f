/* Integration tests for the Tailscale ingress listener: the login header names the caller
 * through a tailscale TrustMapping, an unmapped login is 403, no login falls back to the
 * bearer credential, the admin API is not served there, and the main listener ignores the
 * headers and journals them as a spoofing attempt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "oidc.h"
#include "server.h"
#include "xmalloc.h"

#define LOGIN "Tailscale-User-Login: "
#define NAME "Tailscale-User-Name: "

struct fixture {
    struct mock *m;         /* the main listener */
    struct mock ingress;    /* the same hogmock, through its Tailscale ingress */
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    struct hogmock_config cfg;
    struct buf err = BUF_INIT;
    cJSON *def;

    mock_default_config(&cfg);
    cfg.tailscale_listen = "127.0.0.1:0";
    fx->m = mock_start(&cfg);
    fx->ingress = *fx->m;
    assert_non_null(hogmock_tailscale_url(fx->m->hm));
    snprintf(fx->ingress.url, sizeof(fx->ingress.url), "%s", hogmock_tailscale_url(fx->m->hm));
    assert_string_not_equal(fx->ingress.url, fx->m->url);
    def = cJSON_Parse("{\"kind\":\"tailscale\",\"login\":\"alice@example.com\","
                      "\"principal_id\":\"pr_alice_ts\",\"display_name\":\"Alice Example\"}");
    if (oidc_add_trust(fx->m->hm->oidc, def, &err) != RC_OK)
        fprintf(stderr, "test_tailscale: the tailscale TrustMapping was refused: %s\n",
                buf_cstr(&err));
    cJSON_Delete(def);
    buf_release(&err);
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

/* The journal entry of the request that r answered. */
static cJSON *entry_of(struct mock *m, const struct resp *r)
{
    char target[160];
    struct resp j;
    cJSON *items, *e;

    snprintf(target, sizeof(target), "/__hogmock/journal?request_id=%s",
             resp_header(r, "X-Request-Id"));
    mock_expect(m, "adminJournal", 200, "GET", target, NULL, NULL, &j);
    items = cJSON_GetObjectItem(j.json, "items");
    assert_int_equal(cJSON_GetArraySize(items), 1);
    e = cJSON_Duplicate(cJSON_GetArrayItem(items, 0), 1);
    resp_release(&j);
    return e;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_tailscale_ingress_names_the_caller_by_login(void **state)
{
    struct fixture *fx = *state;
    const char *h[] = { LOGIN "alice@example.com", NAME "Alice Example", NULL };
    const cJSON *attrs;
    cJSON *e;
    struct resp r;

    mock_call(&fx->ingress, "GET", "/v1/me", NULL, NULL, 0, h, &r);
    assert_int_equal(r.status, 200);
    mock_check(&fx->ingress, "getMe", &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_alice_ts");
    assert_string_equal(resp_str(&r, "auth_path"), "tailscale");
    assert_string_equal(resp_str(&r, "subject"), "alice@example.com");
    assert_string_equal(resp_str(&r, "display_name"), "Alice Example");
    attrs = cJSON_GetObjectItem(r.json, "attributes");
    assert_string_equal(str_of(attrs, "login"), "alice@example.com");
    assert_string_equal(str_of(attrs, "name"), "Alice Example");
    e = entry_of(fx->m, &r);
    assert_string_equal(str_of(e, "principal_id"), "pr_alice_ts");
    assert_string_equal(str_of(e, "auth_path"), "tailscale");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "note")));
    cJSON_Delete(e);
    resp_release(&r);

    /* The whole hogplane API is there for that principal. */
    mock_call(&fx->ingress, "POST", "/v1/hogboxes", NULL, "{}", 2,
              (const char *[]){ "Content-Type: application/json", LOGIN "alice@example.com",
                                NULL }, &r);
    assert_int_equal(r.status, 201);
    mock_check(&fx->ingress, "createHogbox", &r);
    resp_release(&r);
}

static void test_tailscale_unmapped_login_is_403_naming_it(void **state)
{
    struct fixture *fx = *state;
    const char *h[] = { LOGIN "mallory@example.com", NAME "Mallory", NULL };
    struct resp r;

    mock_call(&fx->ingress, "GET", "/v1/me", NULL, NULL, 0, h, &r);
    assert_int_equal(r.status, 403);
    mock_check(&fx->ingress, "getMe", &r);
    mock_check_problem(&r, "no_trust_mapping");
    assert_non_null(strstr(resp_str(&r, "detail"), "mallory@example.com"));
    resp_release(&r);

    /* A bearer credential does not rescue an unmapped login: the login decides. */
    mock_call(&fx->ingress, "GET", "/v1/me", "tok_alice", NULL, 0, h, &r);
    assert_int_equal(r.status, 403);
    resp_release(&r);

    /* Two logins are refused rather than picked from. */
    {
        const char *two[] = { LOGIN "alice@example.com", LOGIN "bob@example.com", NULL };

        mock_call(&fx->ingress, "GET", "/v1/me", NULL, NULL, 0, two, &r);
        assert_int_equal(r.status, 401);
        mock_check_problem(&r, "invalid_token");
        resp_release(&r);
    }
}

static void test_tailscale_ingress_without_login_takes_the_bearer(void **state)
{
    struct fixture *fx = *state;
    struct resp r;

    mock_expect(&fx->ingress, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_alice");
    assert_string_equal(resp_str(&r, "auth_path"), "api_token");
    resp_release(&r);
    mock_expect(&fx->ingress, "getMe", 401, "GET", "/v1/me", NULL, NULL, &r);
    mock_check_problem(&r, "invalid_token");
    resp_release(&r);
    /* An empty login is no login. */
    mock_call(&fx->ingress, "GET", "/v1/me", "tok_bob", NULL, 0,
              (const char *[]){ LOGIN, NULL }, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_bob");
    resp_release(&r);
}

static void test_tailscale_main_listener_ignores_and_journals_the_spoof(void **state)
{
    struct fixture *fx = *state;
    const char *h[] = { LOGIN "alice@example.com", NAME "Alice Example", NULL };
    const char *note;
    cJSON *e;
    struct resp r;

    /* The bearer decides: bob stays bob. */
    mock_call(fx->m, "GET", "/v1/me", "tok_bob", NULL, 0, h, &r);
    assert_int_equal(r.status, 200);
    mock_check(fx->m, "getMe", &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_bob");
    assert_string_equal(resp_str(&r, "auth_path"), "api_token");
    e = entry_of(fx->m, &r);
    note = str_of(e, "note");
    if (!note || !strstr(note, "Tailscale") || !strstr(note, "spoofing"))
        fail_msg("the journal entry's note is '%s'", note ? note : "(null)");
    assert_string_equal(str_of(e, "principal_id"), "pr_bob");
    cJSON_Delete(e);
    resp_release(&r);

    /* Without a bearer the headers get nobody in. */
    mock_call(fx->m, "GET", "/v1/me", NULL, NULL, 0, h, &r);
    assert_int_equal(r.status, 401);
    mock_check_problem(&r, "invalid_token");
    e = entry_of(fx->m, &r);
    assert_non_null(strstr(str_of(e, "note"), "spoofing"));
    cJSON_Delete(e);
    resp_release(&r);

    /* An ordinary request has no note. */
    mock_expect(fx->m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
    e = entry_of(fx->m, &r);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "note")));
    cJSON_Delete(e);
    resp_release(&r);
}

static void test_tailscale_ingress_serves_no_admin_api(void **state)
{
    struct fixture *fx = *state;
    const char *h[] = { LOGIN "alice@example.com", NULL };
    struct resp r;

    mock_call(&fx->ingress, "GET", "/__hogmock/health", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    mock_check_problem(&r, "not_found");
    resp_release(&r);
    mock_call(&fx->ingress, "POST", "/__hogmock/reset", NULL, NULL, 0, h, &r);
    assert_int_equal(r.status, 404);
    resp_release(&r);
    /* The main listener still serves it. */
    mock_expect(fx->m, "adminHealth", 200, "GET", "/__hogmock/health", NULL, NULL, &r);
    resp_release(&r);
}

static void test_tailscale_ingress_is_off_by_default(void **state)
{
    struct mock *m = mock_start(NULL);
    struct hogmock_config cfg;
    struct hogmock *hm = NULL;
    struct buf err = BUF_INIT;

    (void)state;
    assert_null(hogmock_tailscale_url(m->hm));
    mock_stop(m);
    mock_default_config(&cfg);
    cfg.tailscale_listen = "nowhere";
    assert_int_equal(hogmock_start(&cfg, &hm, &err), RC_INVALID);
    assert_null(hm);
    assert_non_null(strstr(buf_cstr(&err), "--tailscale-listen"));
    buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tailscale_ingress_names_the_caller_by_login),
        cmocka_unit_test(test_tailscale_unmapped_login_is_403_naming_it),
        cmocka_unit_test(test_tailscale_ingress_without_login_takes_the_bearer),
        cmocka_unit_test(test_tailscale_main_listener_ignores_and_journals_the_spoof),
        cmocka_unit_test(test_tailscale_ingress_serves_no_admin_api),
        cmocka_unit_test(test_tailscale_ingress_is_off_by_default),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
