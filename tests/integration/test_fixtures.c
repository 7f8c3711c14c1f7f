/* Integration tests for fixtures: derived from the bundled spec (in-process and through the
 * binary), served back byte for byte by --mode replay, near misses explained, and the
 * file format's save/load round trip. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle.h"
#include "derive.h"
#include "examples.h"
#include "fixtures.h"
#include "harness.h"
#include "openapi.h"
#include "problem.h"
#include "xmalloc.h"

#define ALICE "tok_alice"

/* ---- helpers ---------------------------------------------------------------------- */

static struct openapi *bundled_spec(void)
{
    struct buf path = BUF_INIT, err = BUF_INIT;
    struct openapi *api = NULL;

    xmalloc_init_cjson();
    bundle_path("openapi/hogplane.yaml", &path);
    if (openapi_load(buf_cstr(&path), &api, &err) != RC_OK)
        fail_msg("cannot load the bundled spec: %s", buf_cstr(&err));
    buf_release(&path);
    buf_release(&err);
    return api;
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/test_fixtures.XXXXXX";

    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

/* Remove dir and the files in it (fixture directories have no subdirectories). */
static void remove_tmpdir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        struct buf p = BUF_INIT;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        buf_addf(&p, "%s/%s", dir, de->d_name);
        unlink(buf_cstr(&p));
        buf_release(&p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.' && str_endswith(de->d_name, suffix);
    closedir(d);
    return n;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    struct buf p = BUF_INIT;
    FILE *f;

    buf_addf(&p, "%s/%s", dir, name);
    f = fopen(buf_cstr(&p), "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    buf_release(&p);
}

/* Run argv to its end: exit status, stdout and stderr into out and err. */
static int run(char *const argv[], struct buf *out, struct buf *err)
{
    char otmpl[] = "/tmp/test_fixtures.out.XXXXXX", etmpl[] = "/tmp/test_fixtures.err.XXXXXX";
    int ofd = mkstemp(otmpl), efd = mkstemp(etmpl), status = 0;
    char chunk[4096];
    ssize_t n;
    pid_t pid;

    assert_true(ofd >= 0 && efd >= 0);
    unlink(otmpl);
    unlink(etmpl);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        status = -1;
    lseek(ofd, 0, SEEK_SET);
    while ((n = read(ofd, chunk, sizeof(chunk))) > 0)
        buf_add(out, chunk, (size_t)n);
    lseek(efd, 0, SEEK_SET);
    while ((n = read(efd, chunk, sizeof(chunk))) > 0)
        buf_add(err, chunk, (size_t)n);
    close(ofd);
    close(efd);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Exactly one line, holding want. */
static void expect_one_line(const struct buf *b, const char *want)
{
    const char *nl = memchr(b->data ? b->data : "", '\n', b->len);

    if (!b->len || !nl || nl != b->data + b->len - 1 || !strstr(buf_cstr(b), want))
        fail_msg("expected one line with '%s', got '%s'", want, buf_cstr(b));
}

/* How many fixtures derive must make of api: one per response example of an operation,
 * one per response without a body. */
static int count_example(const struct example *ex, void *ctx)
{
    if (ex->op && ex->status)
        (*(size_t *)ctx)++;
    return 0;
}

static size_t expected_fixtures(const struct openapi *api)
{
    size_t n = 0, i;
    struct buf err = BUF_INIT;

    assert_int_equal(examples_foreach(api, count_example, &n, &err), RC_OK);
    for (i = 0; i < openapi_op_count(api); i++) {
        const struct openapi_op *op = openapi_op_at(api, i);
        const cJSON *r;

        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(op->node, "responses")) {
            const cJSON *node, *content;

            assert_int_equal(openapi_deref(api, r, &node, NULL), RC_OK);
            content = cJSON_GetObjectItemCaseSensitive(node, "content");
            n += !content || !content->child;
        }
    }
    buf_release(&err);
    return n;
}

static int save_fixture(const struct fixture *f, void *ctx)
{
    struct buf err = BUF_INIT;

    if (fixture_save(ctx, f, &err) != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    buf_release(&err);
    return 0;
}

static const char *header_of(const cJSON *headers, const char *name)
{
    const cJSON *h;

    cJSON_ArrayForEach(h, headers)
        if (strcasecmp(h->string, name) == 0)
            return h->valuestring;
    return NULL;
}

static void add_pct(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || strchr("-._~/", c))
            buf_addch(b, (char)c);
        else
            buf_addf(b, "%%%02X", c);
    }
}

/* Send the request a fixture describes, as alice. */
static void send_fixture_request(struct mock *m, const struct fixture *f, struct resp *r)
{
    struct buf target = BUF_INIT, hdrs[16];
    const char *extra[18];
    size_t nh = 0, i;
    char *body = NULL;
    size_t len = 0;
    const cJSON *q, *h;

    buf_addstr(&target, f->path);
    cJSON_ArrayForEach(q, f->query) {
        const cJSON *v;

        for (v = cJSON_IsArray(q) ? q->child : q; v; v = cJSON_IsArray(q) ? v->next : NULL) {
            buf_addch(&target, strchr(buf_cstr(&target), '?') ? '&' : '?');
            add_pct(&target, q->string);
            buf_addch(&target, '=');
            add_pct(&target, v->valuestring);
        }
    }
    cJSON_ArrayForEach(h, f->headers) {
        assert_true(nh < 15);
        buf_init(&hdrs[nh]);
        buf_addf(&hdrs[nh], "%s: %s", h->string, h->valuestring);
        nh++;
    }
    if (f->body) {
        buf_init(&hdrs[nh]);
        if (cJSON_IsString(f->body)) {
            body = xstrdup(f->body->valuestring);
            buf_addstr(&hdrs[nh], "Content-Type: application/octet-stream");
        } else {
            char *text = cJSON_PrintUnformatted(f->body);

            body = xstrdup(text);
            cJSON_free(text);
            buf_addstr(&hdrs[nh], "Content-Type: application/json");
        }
        len = strlen(body);
        nh++;
    }
    /* Content-Type first: mock_call reads only the first extra header to know it. */
    for (i = 0; i < nh; i++)
        extra[i] = buf_cstr(&hdrs[f->body ? (i + nh - 1) % nh : i]);
    extra[nh] = NULL;
    mock_call(m, f->method, buf_cstr(&target), ALICE, body, len, extra, r);
    for (i = 0; i < nh; i++)
        buf_release(&hdrs[i]);
    free(body);
    buf_release(&target);
}

/* The operationId a fixture's request routes to in api. */
static const char *operation_id_of(const struct openapi *api, const struct fixture *f)
{
    struct openapi_match match;
    const char *id;

    if (openapi_route(api, f->method, f->path, &match) != RC_OK)
        fail_msg("%s: %s %s does not route", f->name, f->method, f->path);
    id = match.op->operation_id;
    openapi_match_release(&match);
    return id;
}

/* r is the fixture's answer: status, Content-Type, its headers, and its body (equal JSON,
 * with this request's id in a problem). */
static void expect_served(const struct fixture *f, const struct resp *r)
{
    const char *want_ct = header_of(f->resp_headers, "Content-Type");
    const char *got_ct = resp_header(r, "Content-Type");
    const cJSON *h;

    if (r->status != f->status)
        fail_msg("%s: status %ld, expected %d: %s", f->name, r->status, f->status,
                 buf_cstr(&r->body));
    if (want_ct && (!got_ct || strcmp(want_ct, got_ct) != 0))
        fail_msg("%s: Content-Type '%s', expected '%s'", f->name, got_ct ? got_ct : "", want_ct);
    cJSON_ArrayForEach(h, f->resp_headers) {
        const char *got = resp_header(r, h->string);

        if (!got || strcmp(got, h->valuestring) != 0)
            fail_msg("%s: header %s '%s', expected '%s'", f->name, h->string, got ? got : "",
                     h->valuestring);
    }
    if (strcmp(f->method, "HEAD") == 0)
        return;
    if (want_ct && strstr(want_ct, "json")) {
        cJSON *want = cJSON_ParseWithLength(f->resp_body, f->resp_len);

        assert_non_null(want);
        if (strcmp(want_ct, PROBLEM_CONTENT_TYPE) == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(
                want, "request_id", cJSON_CreateString(resp_header(r, "X-Request-Id")));
        if (!r->json || !cJSON_Compare(want, r->json, 1))
            fail_msg("%s: the body differs: %s", f->name, buf_cstr(&r->body));
        cJSON_Delete(want);
    } else if (r->body.len != f->resp_len
               || (f->resp_len && memcmp(r->body.data, f->resp_body, f->resp_len) != 0)) {
        fail_msg("%s: the body differs: %s", f->name, buf_cstr(&r->body));
    }
}

static struct mock *start_replay(const char *dir)
{
    struct hogmock_config cfg;

    mock_default_config(&cfg);
    cfg.mode = HOGMOCK_REPLAY;
    cfg.fixtures_dir = dir;
    return mock_start(&cfg);
}

/* ---- derive ----------------------------------------------------------------------- */

struct names {
    size_t count;
    cJSON *seen;
};

static int note_name(const struct fixture *f, void *ctx)
{
    struct names *n = ctx;

    if (cJSON_GetObjectItemCaseSensitive(n->seen, f->name))
        fail_msg("two fixtures named %s", f->name);
    cJSON_AddTrueToObject(n->seen, f->name);
    n->count++;
    return 0;
}

static void test_derive_makes_one_fixture_per_example_of_the_bundled_spec(void **state)
{
    struct openapi *api = bundled_spec();
    struct names n = { 0, cJSON_CreateObject() };
    struct fixture_set *set = NULL;
    struct buf err = BUF_INIT;
    size_t want = expected_fixtures(api);
    char *dir = make_tmpdir();

    (void)state;
    assert_int_equal(derive_fixtures(api, "hogplane.yaml", note_name, &n, &err), RC_OK);
    assert_int_equal(n.count, want);
    /* Names follow <operationId>-<status>-<example>: a few the spec is known to have. */
    assert_non_null(cJSON_GetObjectItemCaseSensitive(n.seen, "getHogbox-200-running"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(n.seen, "getHogbox-404-hogbox_not_found"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(n.seen, "createHogbox-429-rate_limited"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(n.seen, "destroyHogbox-204-no_content"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(n.seen, "proxyHogboxPut-default-teapot"));

    assert_int_equal(derive_fixtures(api, "hogplane.yaml", save_fixture, dir, &err), RC_OK);
    assert_int_equal(count_files(dir, ".yaml"), want);
    if (fixture_set_load(dir, &set, &err) != RC_OK)
        fail_msg("the derived fixtures do not load: %s", buf_cstr(&err));
    assert_int_equal(fixture_set_count(set), want);
    {
        const struct fixture *f;
        size_t i;

        for (i = 0; (f = fixture_set_at(set, i)) != NULL; i++) {
            if (strcmp(f->name, "proxyHogboxPut-default-teapot") == 0) {
                assert_int_equal(f->status, 418);
                assert_string_equal(header_of(f->resp_headers, "Content-Type"), "text/plain");
            }
            if (strcmp(f->name, "getMe-429-rate_limited") == 0) {
                assert_string_equal(header_of(f->resp_headers, "Retry-After"), "12");
                assert_string_equal(header_of(f->headers, "prefer"),
                                    "example=getMe-429-rate_limited");
            }
            if (strcmp(f->name, "getMe-200-api_token") == 0)
                assert_null(f->headers);
            if (strcmp(f->name, "execHogbox-200-exit_nonzero") == 0)
                assert_non_null(f->body);
            if (strcmp(f->name, "readFile-200-hello") == 0)
                assert_non_null(cJSON_GetObjectItemCaseSensitive(f->query, "path"));
        }
    }
    fixture_set_free(set);
    cJSON_Delete(n.seen);
    buf_release(&err);
    remove_tmpdir(dir);
    openapi_free(api);
}

static void test_derive_through_the_binary(void **state)
{
    struct openapi *api = bundled_spec();
    struct buf out = BUF_INIT, err = BUF_INIT, bad = BUF_INIT, sub = BUF_INIT;
    char exe[4096], *dir = make_tmpdir();
    int status;

    (void)state;
    if (!mock_binary(exe, sizeof(exe)))
        fail_msg("no hogmock binary at '%s'", exe);
    {
        char *argv[] = { exe, "fixtures", "derive", "--out", dir, NULL };

        status = run(argv, &out, &err);
    }
    if (status != 0)
        fail_msg("hogmock fixtures derive exited %d: %s", status, buf_cstr(&err));
    assert_int_equal(count_files(dir, ".yaml"), expected_fixtures(api));
    expect_one_line(&out, "derived ");
    buf_reset(&out);
    {
        char *argv[] = { exe, "fixtures", "check", dir, NULL };

        assert_int_equal(run(argv, &out, &err), 0);
    }
    expect_one_line(&out, "fixtures in ");

    /* A bad spec, an unwritable directory, bad usage: one line each. */
    write_file(dir, "broken-spec.txt", "openapi: [\n");
    buf_addf(&bad, "%s/broken-spec.txt", dir);
    buf_reset(&err);
    {
        char *argv[] = { exe, "fixtures", "derive", "--spec", bad.data, "--out", dir, NULL };

        assert_int_equal(run(argv, &out, &err), 1);
    }
    expect_one_line(&err, "hogmock fixtures: ");
    buf_reset(&err);
    buf_addf(&sub, "%s/broken-spec.txt/below", dir);
    {
        char *argv[] = { exe, "fixtures", "derive", "--out", sub.data, NULL };

        assert_int_equal(run(argv, &out, &err), 1);
    }
    expect_one_line(&err, "hogmock fixtures: cannot create the directory");
    buf_reset(&err);
    {
        char *argv[] = { exe, "fixtures", "derive", NULL };

        assert_int_equal(run(argv, &out, &err), 2);
    }
    expect_one_line(&err, "derive needs --out DIR");
    buf_reset(&out);
    {
        char *argv[] = { exe, "fixtures", "--help", NULL };

        assert_int_equal(run(argv, &out, &err), 0);
    }
    assert_non_null(strstr(buf_cstr(&out), "hogmock fixtures derive [--spec FILE] --out DIR"));
    unlink(bad.data);
    buf_release(&out);
    buf_release(&err);
    buf_release(&bad);
    buf_release(&sub);
    remove_tmpdir(dir);
    openapi_free(api);
}

/* ---- replay ----------------------------------------------------------------------- */

static void test_replay_serves_every_derived_fixture_as_the_spec_documents(void **state)
{
    struct openapi *api = bundled_spec();
    struct fixture_set *set = NULL;
    struct buf err = BUF_INIT;
    char *dir = make_tmpdir();
    struct mock *m;
    size_t i;

    (void)state;
    assert_int_equal(derive_fixtures(api, "hogplane.yaml", save_fixture, dir, &err), RC_OK);
    assert_int_equal(fixture_set_load(dir, &set, &err), RC_OK);
    m = start_replay(dir);
    for (i = 0; i < fixture_set_count(set); i++) {
        const struct fixture *f = fixture_set_at(set, i);
        struct resp r;

        send_fixture_request(m, f, &r);
        expect_served(f, &r);
        if (strcmp(f->method, "HEAD") != 0)
            mock_check(m, operation_id_of(api, f), &r);
        resp_release(&r);
    }
    mock_stop(m);
    fixture_set_free(set);
    buf_release(&err);
    remove_tmpdir(dir);
    openapi_free(api);
}

/* A fixture of op for method path answering status with a JSON body. */
static void add(const char *dir, const char *name, const char *op, const char *method,
                const char *path, const char *query, const char *headers, const char *body,
                const char *answer)
{
    struct fixture f = { 0 };
    struct buf err = BUF_INIT;

    f.name = xstrdup(name);
    f.operation = xstrdup(op);
    f.method = xstrdup(method);
    f.path = xstrdup(path);
    f.query = query ? cJSON_Parse(query) : NULL;
    f.headers = headers ? cJSON_Parse(headers) : NULL;
    f.body = body ? cJSON_Parse(body) : NULL;
    f.status = 200;
    f.resp_headers = cJSON_Parse("{\"Content-Type\": \"application/json\"}");
    f.resp_body = xstrdup(answer);
    f.resp_len = strlen(answer);
    if (fixture_save(dir, &f, &err) != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    fixture_release(&f);
    buf_release(&err);
}

#define BOX "/v1/hogboxes/hb_8c41d0e6a97f2b35"

/* A 404 not_found whose detail holds want. */
static void expect_near_miss(struct mock *m, const char *method, const char *target,
                             const char *json, const char *want)
{
    const char *detail;
    struct resp r;

    mock_json(m, method, target, ALICE, json, &r);
    assert_int_equal(r.status, 404);
    mock_check_problem(&r, "not_found");
    detail = resp_str(&r, "detail");
    if (!detail || !strstr(detail, want))
        fail_msg("%s %s: expected '%s' in the detail: %s", method, target, want,
                 buf_cstr(&r.body));
    resp_release(&r);
}

static void expect_answer(struct mock *m, const char *method, const char *target,
                          const char *json, const char *const *extra, const char *want)
{
    struct resp r;

    if (extra)
        mock_call(m, method, target, ALICE, json, json ? strlen(json) : 0, extra, &r);
    else
        mock_json(m, method, target, ALICE, json, &r);
    if (r.status != 200 || strcmp(buf_cstr(&r.body), want) != 0)
        fail_msg("%s %s: expected 200 %s, got %ld %s", method, target, want, r.status,
                 buf_cstr(&r.body));
    resp_release(&r);
}

static void test_replay_explains_near_misses(void **state)
{
    static const char *const pref[] = { "Prefer: example=special", NULL };
    char *dir = make_tmpdir();
    struct mock *m;

    (void)state;
    add(dir, "box-running", "getHogbox", "GET", BOX, NULL, NULL, NULL, "{\"n\":1}");
    add(dir, "list-running", "listHogboxes", "GET", "/v1/hogboxes", "{\"state\": \"running\"}",
        NULL, NULL, "{\"n\":2}");
    add(dir, "exec-echo", "execHogbox", "POST", BOX "/exec", NULL, NULL,
        "{\"argv\": [\"echo\", \"hi\"], \"env\": {\"A\": \"1\"}}", "{\"n\":3}");
    add(dir, "proxy-get", "proxyHogbox", "GET", BOX "/proxy/8080/health", NULL, NULL, NULL,
        "{\"n\":4}");
    add(dir, "proxy-post", "proxyHogbox", "POST", BOX "/proxy/8080/health", NULL, NULL,
        "{\"n\": \"1\", \"list\": [1]}", "{\"n\":6}");
    add(dir, "me-special", "getMe", "GET", "/v1/me", NULL, "{\"prefer\": \"example=special\"}",
        NULL, "{\"n\":5}");
    m = start_replay(dir);

    expect_answer(m, "GET", BOX, NULL, NULL, "{\"n\":1}");
    expect_near_miss(m, "GET", "/v1/hogboxes/hb_x?state=paused",
                     NULL, "no fixture matches GET /v1/hogboxes/hb_x?state=paused: fixture "
                           "box-running differs: path /v1/hogboxes/hb_x, fixture has " BOX);
    expect_answer(m, "GET", "/v1/hogboxes?limit=5&state=running", NULL, NULL, "{\"n\":2}");
    expect_near_miss(m, "GET", "/v1/hogboxes?state=paused", NULL,
                     "fixture list-running differs: query state=paused, fixture has "
                     "state=running");
    expect_near_miss(m, "GET", "/v1/hogboxes", NULL,
                     "fixture list-running differs: query has no state, fixture has "
                     "state=running");
    expect_answer(m, "POST", BOX "/exec", "{\"argv\": [\"echo\", \"hi\"], \"env\": {\"A\": \"1\","
                  " \"B\": \"2\"}}", NULL, "{\"n\":3}");
    expect_near_miss(m, "POST", BOX "/exec", "{\"argv\": [\"echo\", \"bye\"]}",
                     "fixture exec-echo differs: body /argv/1 is \"bye\", fixture has \"hi\"; "
                     "body has no /env, fixture has {\"A\":\"1\"}");
    expect_near_miss(m, "POST", BOX "/exec", "{\"argv\": [\"echo\"], \"env\": {\"A\": \"2\"}}",
                     "body /argv has 1 items, fixture has 2; body /env/A is \"2\", fixture has "
                     "\"1\"");
    expect_near_miss(m, "POST", BOX "/proxy/8080/health", "{\"n\": 1, \"list\": [1]}",
                     "fixture proxy-post differs: body /n is a number, fixture has a string");
    expect_near_miss(m, "DELETE", BOX "/proxy/8080/health", NULL,
                     "fixture proxy-get differs: method DELETE, fixture has GET");
    expect_answer(m, "GET", "/v1/me", NULL, pref, "{\"n\":5}");
    expect_near_miss(m, "GET", "/v1/me", NULL,
                     "fixture me-special differs: no header prefer, fixture has 'example=special'");
    expect_near_miss(m, "GET", "/v1/limits", NULL, "differs: operation getLimits, fixture has ");
    mock_stop(m);
    remove_tmpdir(dir);
}

static void test_replay_prefers_the_most_specific_fixture_then_the_first_name(void **state)
{
    static const char *const sel[] = { "Prefer: example=x", NULL };
    char *dir = make_tmpdir();
    struct mock *m;

    (void)state;
    add(dir, "snap-a", "getSnapshot", "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863", NULL, NULL, NULL, "\"a\"");
    add(dir, "snap-b", "getSnapshot", "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863", "{\"v\": \"1\"}", NULL, NULL,
        "\"b\"");
    add(dir, "snap-c", "getSnapshot", "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863", NULL, NULL, NULL, "\"c\"");
    add(dir, "snap-d", "getSnapshot", "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863", "{\"v\": [\"1\", \"2\"]}",
        "{\"prefer\": \"example=x\"}", NULL, "\"d\"");
    add(dir, "post-any", "proxyHogbox", "POST", BOX "/proxy/8080/x", NULL, NULL, NULL,
        "\"any\"");
    add(dir, "post-empty", "proxyHogbox", "POST", BOX "/proxy/8080/x", NULL, NULL, "{}",
        "\"{}\"");
    add(dir, "post-two", "proxyHogbox", "POST", BOX "/proxy/8080/x", NULL, NULL,
        "{\"cpus\": 2}", "\"two\"");
    m = start_replay(dir);
    expect_answer(m, "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863", NULL, NULL, "\"a\"");
    expect_answer(m, "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863?v=1", NULL, NULL, "\"b\"");
    expect_answer(m, "GET", "/v1/snapshots/snap_5e0b7d29c4a1f863?v=2&v=1", NULL, sel, "\"d\"");
    expect_answer(m, "POST", BOX "/proxy/8080/x", NULL, NULL, "\"any\"");
    expect_answer(m, "POST", BOX "/proxy/8080/x", "{\"memory_mib\": 1024}", NULL, "\"{}\"");
    expect_answer(m, "POST", BOX "/proxy/8080/x", "{\"cpus\": 2, \"memory_mib\": 1024}", NULL,
                  "\"two\"");
    mock_stop(m);
    remove_tmpdir(dir);
}

static void test_replay_keeps_routing_auth_validation_and_the_admin_api(void **state)
{
    char *dir = make_tmpdir();
    const cJSON *list;
    struct mock *m;
    struct resp r;

    (void)state;
    add(dir, "exec-any", "execHogbox", "POST", BOX "/exec", NULL, NULL, NULL, "{\"n\":1}");
    m = start_replay(dir);
    /* Refused before any fixture is looked at, as in sim mode. */
    mock_json(m, "POST", BOX "/exec", NULL, "{\"argv\": [\"true\"]}", &r);
    assert_int_equal(r.status, 401);
    resp_release(&r);
    mock_expect(m, "execHogbox", 422, "POST", BOX "/exec", ALICE, "{\"argv\": []}", &r);
    resp_release(&r);
    mock_expect(m, "execHogbox", 400, "POST", BOX "/exec", ALICE, "{\"argv\": ", &r);
    resp_release(&r);
    mock_json(m, "GET", "/v1/nothing", ALICE, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(resp_str(&r, "detail"), "no route matches"));
    resp_release(&r);
    /* The admin API answers for itself. */
    mock_expect(m, "adminHealth", 200, "GET", "/__hogmock/health", NULL, NULL, &r);
    resp_release(&r);
    list = mock_expect(m, "adminFixtures", 200, "GET", "/__hogmock/fixtures", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(list, "mode")->valuestring, "replay");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(list, "dir")->valuestring, dir);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(list, "count")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(list, "items"), 0),
                            "name")->valuestring, "exec-any");
    resp_release(&r);
    mock_stop(m);

    /* In sim mode the list is empty. */
    m = mock_start(NULL);
    list = mock_expect(m, "adminFixtures", 200, "GET", "/__hogmock/fixtures", NULL, NULL, &r);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(list, "mode")->valuestring, "sim");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(list, "dir")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(list, "count")->valueint, 0);
    resp_release(&r);
    mock_stop(m);
    remove_tmpdir(dir);
}

/* hogmock_start in replay mode on dir fails with a message holding want. */
static void expect_start_refused(const char *dir, const char *want)
{
    struct hogmock_config cfg;
    struct hogmock *hm = NULL;
    struct buf err = BUF_INIT;

    mock_default_config(&cfg);
    cfg.mode = HOGMOCK_REPLAY;
    cfg.fixtures_dir = dir;
    assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
    assert_null(hm);
    if (!strstr(buf_cstr(&err), want) || strchr(buf_cstr(&err), '\n'))
        fail_msg("expected one line with '%s', got '%s'", want, buf_cstr(&err));
    buf_release(&err);
}

static void test_replay_refuses_to_start_on_a_bad_fixture(void **state)
{
    static const char good[] =
        "operation: getMe\nrequest: {method: GET, path: /v1/me}\nresponse: {status: 200}\n";
    struct buf want = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
    char exe[4096], *dir = make_tmpdir();

    (void)state;
    write_file(dir, "good.yaml", good);
    write_file(dir, "bad.yaml", "operation: getMe\nrequest: {method: GET, path: /v1/me}\n"
                                "response: {status: 99}\n");
    buf_addf(&want, "%s/bad.yaml: /response/status: must be an integer from 100 to 599", dir);
    expect_start_refused(dir, buf_cstr(&want));
    write_file(dir, "bad.yaml", "operation: getMe\nrequest: {method: GET, path: /v1/me,"
                                " cookies: {}}\nresponse: {status: 200}\n");
    expect_start_refused(dir, "bad.yaml: /request/cookies: unknown member (known: method, path,"
                              " query, headers, body)");
    write_file(dir, "bad.yaml", "operation: getMe\nrequest: {method: GET, path: /v1/me}\n"
                                "response: {status: 200, body: {}, body_text: x}\n");
    expect_start_refused(dir, "bad.yaml: /response/body_text: give one of body, body_text and "
                              "body_base64");
    write_file(dir, "bad.yaml", "name: other\noperation: getMe\nrequest: {method: GET, path: "
                                "/v1/me}\nresponse: {status: 200}\n");
    expect_start_refused(dir, "bad.yaml: /name: 'other' is not the file's name 'bad'");
    write_file(dir, "bad.yaml", "operation: getMe\nrequest: [\n");
    expect_start_refused(dir, "bad.yaml:");
    buf_reset(&want);
    buf_addf(&want, "%s/bad.yaml", dir);
    unlink(buf_cstr(&want));
    write_file(dir, "good.json", "{\"operation\": \"getMe\", \"request\": {\"method\": \"GET\","
                                 " \"path\": \"/v1/me\"}, \"response\": {\"status\": 204}}");
    expect_start_refused(dir, "two files hold the fixture 'good'");
    expect_start_refused("/nonexistent/fixtures", "cannot read the fixtures directory "
                                                  "'/nonexistent/fixtures'");
    expect_start_refused(NULL, "replay mode needs the fixtures to answer from (--fixtures DIR)");

    /* The binary: exit 1 and the same one line; a bad --mode is bad usage. */
    if (!mock_binary(exe, sizeof(exe)))
        fail_msg("no hogmock binary at '%s'", exe);
    write_file(dir, "bad.yaml", "operation: getMe\nrequest: {method: GET, path: /v1/me}\n"
                                "response: {status: 99}\n");
    {
        char *argv[] = { exe, "--mode", "replay", "--fixtures", dir, NULL };

        assert_int_equal(run(argv, &out, &err), 1);
    }
    expect_one_line(&err, "/response/status: must be an integer from 100 to 599");
    buf_reset(&err);
    {
        char *argv[] = { exe, "--mode", "mirror", NULL };

        assert_int_equal(run(argv, &out, &err), 2);
    }
    expect_one_line(&err, "--mode takes sim, replay, proxy or record, not 'mirror'");
    buf_release(&want);
    buf_release(&out);
    buf_release(&err);
    remove_tmpdir(dir);
}

/* ---- the format ------------------------------------------------------------------- */

static void expect_same(const struct fixture *a, const struct fixture *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->operation, b->operation);
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->path, b->path);
    assert_true(cJSON_Compare(a->query, b->query, 1) || (!a->query && !b->query));
    assert_true(cJSON_Compare(a->headers, b->headers, 1) || (!a->headers && !b->headers));
    assert_true(cJSON_Compare(a->body, b->body, 1) || (!a->body && !b->body));
    assert_int_equal(a->status, b->status);
    assert_true(cJSON_Compare(a->resp_headers, b->resp_headers, 1)
                || (!a->resp_headers && !b->resp_headers));
    assert_int_equal(a->resp_len, b->resp_len);
    if (a->resp_len)
        assert_memory_equal(a->resp_body, b->resp_body, a->resp_len);
    assert_true(!a->resp_body == !b->resp_body);
    if (a->description || b->description)
        assert_string_equal(a->description, b->description);
}

static void test_fixture_save_then_load_gives_the_same_fixtures(void **state)
{
    static const char text[] = "line one\n  indented: yes\n# not a comment\n\ttab\r\nend \n\n";
    struct fixture f[4] = { { 0 } };
    struct fixture_set *set = NULL;
    struct buf err = BUF_INIT, path = BUF_INIT, yaml = BUF_INIT;
    char *dir = make_tmpdir(), bytes[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bytes); i++)
        bytes[i] = (char)i;
    for (i = 0; i < 4; i++) {
        f[i].operation = xstrdup("execHogbox");
        f[i].method = xstrdup("POST");
        f[i].path = xstrdup(BOX "/exec");
        f[i].status = 200;
    }
    f[0].name = xstrdup("json-body");
    f[0].description = xstrdup("every member: \"quoted\", yes, 007, null");
    f[0].query = cJSON_Parse("{\"label\": [\"team=agents\", \"env=ci\"], \"limit\": \"20\","
                             " \"empty\": \"\"}");
    f[0].headers = cJSON_Parse("{\"prefer\": \"example=json-body\", \"x-trace\": \"true\"}");
    f[0].body = cJSON_Parse("{\"argv\": [\"sh\", \"-c\", \"echo 'a: b' # c\"], \"env\": {},"
                            " \"n\": 1.5, \"t\": true, \"u\": \"caf\\u00e9\"}");
    f[0].resp_headers = cJSON_Parse("{\"Content-Type\": \"application/json\", \"Retry-After\": \"1\"}");
    f[0].resp_body = xstrdup("{\"exit_code\":0,\"stdout\":\"hi\\n\",\"nested\":{\"a\":[1,null]}}");
    f[0].resp_len = strlen(f[0].resp_body);
    f[1].name = xstrdup("text-body");
    f[1].body = cJSON_CreateString("print(\"hi\")\n");
    f[1].resp_headers = cJSON_Parse("{\"Content-Type\": \"text/plain\"}");
    f[1].resp_body = xstrdup(text);
    f[1].resp_len = strlen(text);
    f[2].name = xstrdup("binary.body");
    f[2].status = 502;
    f[2].resp_headers = cJSON_Parse("{\"Content-Type\": \"application/octet-stream\"}");
    f[2].resp_body = xmemdup(bytes, sizeof(bytes));
    f[2].resp_len = sizeof(bytes);
    f[3].name = xstrdup("no-body");
    f[3].status = 204;
    for (i = 0; i < 4; i++) {
        if (fixture_save(dir, &f[i], &err) != RC_OK)
            fail_msg("%s", buf_cstr(&err));
    }
    /* Saving again replaces the file whole. */
    assert_int_equal(fixture_save(dir, &f[0], &err), RC_OK);
    assert_int_equal(count_files(dir, ".yaml"), 4);
    assert_int_equal(count_files(dir, ".tmp"), 0);
    if (fixture_set_load(dir, &set, &err) != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    assert_int_equal(fixture_set_count(set), 4);
    /* In name order. */
    expect_same(&f[2], fixture_set_at(set, 0));
    expect_same(&f[0], fixture_set_at(set, 1));
    expect_same(&f[3], fixture_set_at(set, 2));
    expect_same(&f[1], fixture_set_at(set, 3));
    /* Readable: JSON as YAML, text as a literal block where it can be one, bytes base64. */
    fixture_to_yaml(&f[0], &yaml);
    assert_non_null(strstr(buf_cstr(&yaml), "  body:\n    exit_code: 0\n"));
    buf_reset(&yaml);
    fixture_to_yaml(&f[2], &yaml);
    assert_non_null(strstr(buf_cstr(&yaml), "body_base64: "));
    buf_reset(&yaml);
    fixture_to_yaml(&f[1], &yaml);
    assert_non_null(strstr(buf_cstr(&yaml), "body_text: "));
    assert_non_null(strstr(buf_cstr(&yaml), "  body: |\n    print(\"hi\")\n"));

    /* Names that are not file names, and directories that cannot be made. */
    free(f[3].name);
    f[3].name = xstrdup("../escape");
    buf_reset(&err);
    assert_int_equal(fixture_save(dir, &f[3], &err), RC_INVALID);
    assert_non_null(strstr(buf_cstr(&err), "cannot save a fixture named '../escape'"));
    buf_reset(&err);
    buf_addf(&path, "%s/no-body.yaml/sub", dir);
    free(f[3].name);
    f[3].name = xstrdup("fine");
    assert_int_equal(fixture_save(buf_cstr(&path), &f[3], &err), RC_IO);
    assert_non_null(strstr(buf_cstr(&err), "cannot create the directory"));
    for (i = 0; i < 4; i++)
        fixture_release(&f[i]);
    fixture_set_free(set);
    buf_release(&err);
    buf_release(&path);
    buf_release(&yaml);
    remove_tmpdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_makes_one_fixture_per_example_of_the_bundled_spec),
        cmocka_unit_test(test_derive_through_the_binary),
        cmocka_unit_test(test_replay_serves_every_derived_fixture_as_the_spec_documents),
        cmocka_unit_test(test_replay_explains_near_misses),
        cmocka_unit_test(test_replay_prefers_the_most_specific_fixture_then_the_first_name),
        cmocka_unit_test(test_replay_keeps_routing_auth_validation_and_the_admin_api),
        cmocka_unit_test(test_replay_refuses_to_start_on_a_bad_fixture),
        cmocka_unit_test(test_fixture_save_then_load_gives_the_same_fixtures),
    };

    return cmocka_run_group_tests_name("fixtures", tests, NULL, NULL);
}
