/* Integration tests for the simulated hogplane (mockserver/sim.c): limits, the hogbox
 * lifecycle, tenancy, pagination and filters, idempotency, quota, snapshots, transient
 * states on the virtual clock, and loading a limits file. Every answer is checked
 * against the spec by the harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "sim.h"
#include "xmalloc.h"

#define NOBOX "hb_0000000000000000"
#define NOSNAP "snap_0000000000000000"

/* ---- helpers ---- */

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sim.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A file in the group's temporary directory holding text; its path is new (free). */
static char *temp_file(const char *name, const char *text)
{
    struct buf path = BUF_INIT;
    FILE *f;

    buf_addf(&path, "%s/%s", tmpdir, name);
    f = fopen(buf_cstr(&path), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return buf_detach(&path, NULL);
}

/* A mock whose limits come from a file with text. */
static struct mock *mock_with_limits(const char *text)
{
    struct hogmock_config cfg;
    struct mock *m;
    char *path = temp_file("limits.yaml", text);

    mock_default_config(&cfg);
    cfg.limits_path = path;
    m = mock_start(&cfg);
    free(path);
    return m;
}

static char *create(struct mock *m, const char *token, const char *json)
{
    struct resp r;
    char *id;

    mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", token, json, &r);
    id = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    return id;
}

static char *snapshot(struct mock *m, const char *token, const char *box)
{
    struct buf target = BUF_INIT;
    struct resp r;
    char *id;

    buf_addf(&target, "/v1/hogboxes/%s/snapshot", box);
    mock_expect(m, "snapshotHogbox", 201, "POST", buf_cstr(&target), token, NULL, &r);
    id = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    buf_release(&target);
    return id;
}

/* Expect a problem with status and code; r is kept for more checks (resp_release it). */
static void expect_problem(struct mock *m, const char *op, long status, const char *code,
                           const char *method, const char *target, const char *token,
                           const char *json, struct resp *r)
{
    mock_expect(m, op, status, method, target, token, json, r);
    mock_check_problem(r, code);
}

static void expect_problem_only(struct mock *m, const char *op, long status, const char *code,
                                const char *method, const char *target, const char *token,
                                const char *json)
{
    struct resp r;

    expect_problem(m, op, status, code, method, target, token, json, &r);
    resp_release(&r);
}

static void box_call(struct mock *m, const char *op, long status, const char *method,
                     const char *box, const char *suffix, const char *token, struct resp *r)
{
    struct buf target = BUF_INIT;

    buf_addf(&target, "/v1/hogboxes/%s%s", box, suffix);
    mock_expect(m, op, status, method, buf_cstr(&target), token, NULL, r);
    buf_release(&target);
}

static void box_problem(struct mock *m, const char *op, long status, const char *code,
                        const char *method, const char *box, const char *suffix,
                        const char *token)
{
    struct resp r;

    box_call(m, op, status, method, box, suffix, token, &r);
    mock_check_problem(&r, code);
    resp_release(&r);
}

/* The state getHogbox reports for box. */
static char *box_state(struct mock *m, const char *token, const char *box)
{
    struct resp r;
    char *s;

    box_call(m, "getHogbox", 200, "GET", box, "", token, &r);
    s = xstrdup(resp_str(&r, "state"));
    resp_release(&r);
    return s;
}

static void assert_state(struct mock *m, const char *token, const char *box, const char *want)
{
    char *s = box_state(m, token, box);

    assert_string_equal(s, want);
    free(s);
}

static const char *error_member(const struct resp *r, int i, const char *member)
{
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "errors"), i);

    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, member));
}

static int error_count(const struct resp *r)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->json, "errors"));
}

/* The detail of the errors[] entry whose pointer is ptr, or NULL. */
static const char *error_at(const struct resp *r, const char *ptr)
{
    int i, n = error_count(r);

    for (i = 0; i < n; i++)
        if (error_member(r, i, "pointer") && strcmp(error_member(r, i, "pointer"), ptr) == 0)
            return error_member(r, i, "detail");
    return NULL;
}

static int64_t num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_true(cJSON_IsNumber(v));
    return (int64_t)v->valuedouble;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* One page of a list: the ids into ids (each new), *next a new cursor or NULL. */
static int list_page(struct mock *m, const char *op, const char *target, const char *token,
                     char **ids, int max, char **next)
{
    struct resp r;
    const cJSON *items, *it, *nc;
    int n = 0;

    mock_expect(m, op, 200, "GET", target, token, NULL, &r);
    items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
    cJSON_ArrayForEach(it, items) {
        assert_true(n < max);
        ids[n++] = xstrdup(str(it, "id"));
    }
    nc = cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor");
    assert_true(cJSON_IsNull(nc) || cJSON_IsString(nc));
    *next = cJSON_IsString(nc) ? xstrdup(nc->valuestring) : NULL;
    resp_release(&r);
    return n;
}

static void free_ids(char **ids, int n)
{
    int i;

    for (i = 0; i < n; i++)
        free(ids[i]);
}

static int count_boxes(struct mock *m, const char *token, const char *query)
{
    char *ids[100], *next = NULL;
    struct buf target = BUF_INIT;
    int n;

    buf_addf(&target, "/v1/hogboxes?limit=100%s", query);
    n = list_page(m, "listHogboxes", buf_cstr(&target), token, ids, 100, &next);
    assert_null(next);
    free_ids(ids, n);
    buf_release(&target);
    return n;
}

/* Move the virtual clock through the admin API, as a test in any language would. */
static void advance(struct mock *m, uint64_t ms)
{
    char body[48];
    struct resp r;

    snprintf(body, sizeof(body), "{\"ms\": %llu}", (unsigned long long)ms);
    mock_expect(m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL, body, &r);
    resp_release(&r);
}

/* ---- limits ---- */

static void test_limits_are_the_documented_defaults(void **state)
{
    struct mock *m = *state;
    struct resp r;
    const cJSON *j, *mem;

    j = mock_expect(m, "getLimits", 200, "GET", "/v1/limits", "tok_alice", NULL, &r);
    assert_int_equal(num(cJSON_GetObjectItem(j, "cpus"), "min"), 1);
    assert_int_equal(num(cJSON_GetObjectItem(j, "cpus"), "max"), 8);
    assert_int_equal(num(cJSON_GetObjectItem(j, "cpus"), "default"), 2);
    mem = cJSON_GetObjectItem(j, "memory_mib");
    assert_int_equal(num(mem, "min"), 256);
    assert_int_equal(num(mem, "max"), 16384);
    assert_int_equal(num(mem, "default"), 1024);
    assert_int_equal(num(mem, "multiple_of"), 256);
    assert_int_equal(num(cJSON_GetObjectItem(j, "disk_gib"), "max"), 100);
    assert_int_equal(num(cJSON_GetObjectItem(j, "disk_gib"), "default"), 10);
    assert_int_equal(num(cJSON_GetObjectItem(j, "exec_timeout_seconds"), "max"), 3600);
    assert_int_equal(num(cJSON_GetObjectItem(j, "exec_timeout_seconds"), "default"), 60);
    assert_int_equal(num(j, "exec_output_max_bytes"), 1048576);
    assert_int_equal(num(j, "file_max_bytes"), 67108864);
    assert_int_equal(num(j, "max_hogboxes"), 20);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cpus"), "multiple_of"));
    resp_release(&r);
}

/* Every operation of sim refuses a missing and an unknown credential with the documented
 * 401, before looking at anything else. */
static void test_every_operation_needs_a_known_token(void **state)
{
    static const struct { const char *op, *method, *target, *body; } ops[] = {
        { "getLimits", "GET", "/v1/limits", NULL },
        { "createHogbox", "POST", "/v1/hogboxes", "{}" },
        { "listHogboxes", "GET", "/v1/hogboxes", NULL },
        { "getHogbox", "GET", "/v1/hogboxes/" NOBOX, NULL },
        { "destroyHogbox", "DELETE", "/v1/hogboxes/" NOBOX, NULL },
        { "pauseHogbox", "POST", "/v1/hogboxes/" NOBOX "/pause", NULL },
        { "resumeHogbox", "POST", "/v1/hogboxes/" NOBOX "/resume", NULL },
        { "snapshotHogbox", "POST", "/v1/hogboxes/" NOBOX "/snapshot", NULL },
        { "listSnapshots", "GET", "/v1/snapshots", NULL },
        { "getSnapshot", "GET", "/v1/snapshots/" NOSNAP, NULL },
        { "deleteSnapshot", "DELETE", "/v1/snapshots/" NOSNAP, NULL },
    };
    static const char *const tokens[] = { NULL, "tok_nobody" };
    struct mock *m = *state;
    size_t i, t;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        for (t = 0; t < 2; t++) {
            struct resp r;
            const char *www;

            expect_problem(m, ops[i].op, 401, "invalid_token", ops[i].method, ops[i].target,
                           tokens[t], ops[i].body, &r);
            www = resp_header(&r, "WWW-Authenticate");
            assert_non_null(www);
            assert_non_null(strstr(www, "error=\"invalid_token\""));
            resp_release(&r);
        }
    }
    assert_int_equal(count_boxes(m, "tok_alice", ""), 0);
}

/* ---- create ---- */

static void test_create_with_defaults_is_running_with_a_location(void **state)
{
    struct mock *m = *state;
    struct resp r, g;
    const cJSON *j;
    char loc[96];

    j = mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice", "{}", &r);
    assert_int_equal(strncmp(str(j, "id"), "hb_", 3), 0);
    assert_int_equal(strlen(str(j, "id")), 19);
    assert_string_equal(str(j, "state"), "running");
    assert_int_equal(num(j, "cpus"), 2);
    assert_int_equal(num(j, "memory_mib"), 1024);
    assert_int_equal(num(j, "disk_gib"), 10);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "snapshot_id")));
    assert_string_equal(str(j, "access_type"), "none");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "labels")));
    assert_null(cJSON_GetObjectItem(j, "labels")->child);
    assert_string_equal(str(j, "created_at"), str(j, "updated_at"));
    assert_int_equal(strlen(str(j, "created_at")), 20);   /* whole seconds, "Z" */
    snprintf(loc, sizeof(loc), "/v1/hogboxes/%s", str(j, "id"));
    assert_string_equal(resp_header(&r, "Location"), loc);

    mock_expect(m, "getHogbox", 200, "GET", loc, "tok_alice", NULL, &g);
    assert_true(cJSON_Compare(r.json, g.json, true));
    resp_release(&g);
    resp_release(&r);
}

static void test_create_keeps_sizes_access_and_labels(void **state)
{
    struct mock *m = *state;
    struct resp r;
    const cJSON *j, *labels;

    j = mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice",
                    "{\"cpus\": 4, \"memory_mib\": 2048, \"disk_gib\": 20,"
                    " \"access_type\": \"ssh-public\","
                    " \"ssh_public_key\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 alice@laptop\","
                    " \"labels\": {\"team\": \"agents\", \"hogconf-run\": \"r1\"}}", &r);
    assert_int_equal(num(j, "cpus"), 4);
    assert_int_equal(num(j, "memory_mib"), 2048);
    assert_int_equal(num(j, "disk_gib"), 20);
    assert_string_equal(str(j, "access_type"), "ssh-public");
    assert_null(cJSON_GetObjectItem(j, "ssh_public_key"));
    labels = cJSON_GetObjectItem(j, "labels");
    assert_string_equal(str(labels, "team"), "agents");
    assert_string_equal(str(labels, "hogconf-run"), "r1");
    assert_int_equal(cJSON_GetArraySize(labels), 2);
    resp_release(&r);
}

static void test_create_outside_the_spec_is_422_with_pointers(void **state)
{
    struct mock *m = *state;
    struct resp r;

    expect_problem(m, "createHogbox", 422, "validation_failed", "POST", "/v1/hogboxes",
                   "tok_alice", "{\"cpus\": 9, \"memory_mib\": 300, \"gpu\": 1}", &r);
    assert_non_null(error_at(&r, "/cpus"));
    assert_non_null(error_at(&r, "/memory_mib"));
    /* The unknown member is named (by its pointer, or by the pipeline's detail). */
    assert_int_equal(error_count(&r), 3);
    assert_true(error_at(&r, "/gpu") || strstr(r.body.data, "gpu"));
    resp_release(&r);
    expect_problem_only(m, "createHogbox", 422, "validation_failed", "POST", "/v1/hogboxes",
                        "tok_alice", "{\"disk_gib\": -1}");
    expect_problem_only(m, "createHogbox", 400, "malformed_json", "POST", "/v1/hogboxes",
                        "tok_alice", "{\"cpus\": ");
    assert_int_equal(count_boxes(m, "tok_alice", ""), 0);
}

static void test_create_ssh_public_without_a_key_is_422(void **state)
{
    struct mock *m = *state;
    struct resp r;

    expect_problem(m, "createHogbox", 422, "validation_failed", "POST", "/v1/hogboxes",
                   "tok_alice", "{\"access_type\": \"ssh-public\"}", &r);
    assert_true(error_count(&r) >= 1);
    resp_release(&r);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 0);
}

static void test_create_outside_configured_limits_is_422_with_pointers(void **state)
{
    struct mock *m = mock_with_limits("cpus: {max: 4}\n"
                                      "memory_mib: {max: 4096, multiple_of: 512}\n"
                                      "disk_gib: {min: 5, max: 20}\n");
    struct resp r;
    const cJSON *j;
    char *id;

    (void)state;
    j = mock_expect(m, "getLimits", 200, "GET", "/v1/limits", "tok_alice", NULL, &r);
    assert_int_equal(num(cJSON_GetObjectItem(j, "cpus"), "max"), 4);
    assert_int_equal(num(cJSON_GetObjectItem(j, "memory_mib"), "multiple_of"), 512);
    assert_int_equal(num(cJSON_GetObjectItem(j, "disk_gib"), "min"), 5);
    resp_release(&r);

    expect_problem(m, "createHogbox", 422, "validation_failed", "POST", "/v1/hogboxes",
                   "tok_alice", "{\"cpus\": 6, \"memory_mib\": 768, \"disk_gib\": 50}", &r);
    assert_int_equal(error_count(&r), 3);
    assert_string_equal(error_at(&r, "/cpus"), "must be at most 4");
    assert_string_equal(error_at(&r, "/memory_mib"), "must be a multiple of 512");
    assert_string_equal(error_at(&r, "/disk_gib"), "must be at most 20");
    assert_string_equal(resp_str(&r, "detail"), "The request body has 3 invalid fields.");
    resp_release(&r);
    expect_problem(m, "createHogbox", 422, "validation_failed", "POST", "/v1/hogboxes",
                   "tok_alice", "{\"disk_gib\": 2}", &r);
    assert_string_equal(error_at(&r, "/disk_gib"), "must be at least 5");
    resp_release(&r);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 0);

    /* The edges are allowed, and defaults stay inside the narrowed ranges. */
    id = create(m, "tok_alice", "{\"cpus\": 4, \"memory_mib\": 4096, \"disk_gib\": 5}");
    free(id);
    j = mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice", "{}", &r);
    assert_int_equal(num(j, "cpus"), 2);
    assert_int_equal(num(j, "memory_mib"), 1024);
    assert_int_equal(num(j, "disk_gib"), 10);
    resp_release(&r);
    mock_stop(m);
}

static void test_create_over_quota_is_429_without_retry_after(void **state)
{
    struct mock *m = mock_with_limits("{\"max_hogboxes\": 2}");
    struct resp r;
    char *a, *b, *c;

    (void)state;
    a = create(m, "tok_alice", "{}");
    b = create(m, "tok_alice", "{}");
    expect_problem(m, "createHogbox", 429, "quota_exceeded", "POST", "/v1/hogboxes",
                   "tok_alice", "{}", &r);
    /* The spec: quota_exceeded has no Retry-After (waiting does not help). */
    assert_null(resp_header(&r, "Retry-After"));
    assert_non_null(strstr(resp_str(&r, "detail"), "pr_alice"));
    resp_release(&r);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 2);

    /* The quota is per principal. */
    c = create(m, "tok_bob", "{}");
    free(c);
    /* A paused box still counts; a destroyed one does not. */
    box_call(m, "pauseHogbox", 200, "POST", a, "/pause", "tok_alice", &r);
    resp_release(&r);
    expect_problem_only(m, "createHogbox", 429, "quota_exceeded", "POST", "/v1/hogboxes",
                        "tok_alice", "{}");
    box_call(m, "destroyHogbox", 204, "DELETE", b, "", "tok_alice", &r);
    resp_release(&r);
    c = create(m, "tok_alice", "{}");
    free(a);
    free(b);
    free(c);
    mock_stop(m);
}

static void test_create_from_an_unknown_snapshot_is_404(void **state)
{
    struct mock *m = *state;
    struct resp r;
    char *box, *snap, body[128];

    expect_problem(m, "createHogbox", 404, "snapshot_not_found", "POST", "/v1/hogboxes",
                   "tok_alice", "{\"snapshot_id\": \"" NOSNAP "\"}", &r);
    assert_non_null(strstr(resp_str(&r, "detail"), NOSNAP));
    resp_release(&r);
    /* Bob's snapshot is not Alice's to start from. */
    box = create(m, "tok_bob", "{}");
    snap = snapshot(m, "tok_bob", box);
    snprintf(body, sizeof(body), "{\"snapshot_id\": \"%s\"}", snap);
    expect_problem_only(m, "createHogbox", 404, "snapshot_not_found", "POST", "/v1/hogboxes",
                        "tok_alice", body);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 0);
    free(box);
    free(snap);
}

/* ---- idempotency ---- */

/* Header name of a and b: equal (same) or different; resp_header's value is borrowed
 * only until its next call, so keep a copy. */
static void assert_same_header(const struct resp *a, const struct resp *b, const char *name,
                               bool same)
{
    char *va, *vb;

    assert_non_null(resp_header(a, name));
    va = xstrdup(resp_header(a, name));
    assert_non_null(resp_header(b, name));
    vb = xstrdup(resp_header(b, name));
    if (same)
        assert_string_equal(va, vb);
    else
        assert_string_not_equal(va, vb);
    free(va);
    free(vb);
}

static void idem_create(struct mock *m, const char *token, const char *key, const char *body,
                        struct resp *r)
{
    char h[300];
    const char *const extra[] = { "Content-Type: application/json", h, NULL };

    snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
    mock_call(m, "POST", "/v1/hogboxes", token, body, strlen(body), extra, r);
    mock_check(m, "createHogbox", r);
}

static void test_idempotent_create_replays_the_first_answer(void **state)
{
    struct mock *m = *state;
    struct resp a, b, c;
    char key[300];

    idem_create(m, "tok_alice", "7b0c4e1a-2f3d", "{\"cpus\": 1, \"labels\": {\"a\": \"1\"}}", &a);
    assert_int_equal(a.status, 201);
    /* The same request (members in another order) replays the first answer. */
    idem_create(m, "tok_alice", "7b0c4e1a-2f3d", "{\"labels\": {\"a\": \"1\"},\"cpus\":1}", &b);
    assert_int_equal(b.status, 201);
    assert_true(cJSON_Compare(a.json, b.json, true));
    assert_same_header(&a, &b, "Location", true);
    assert_same_header(&a, &b, "X-Request-Id", false);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 1);

    /* The same key with another body. */
    idem_create(m, "tok_alice", "7b0c4e1a-2f3d", "{\"cpus\": 2}", &c);
    assert_int_equal(c.status, 422);
    mock_check_problem(&c, "idempotency_key_reused");
    assert_non_null(strstr(resp_str(&c, "detail"), "7b0c4e1a-2f3d"));
    resp_release(&c);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 1);

    /* Keys are per principal. */
    idem_create(m, "tok_bob", "7b0c4e1a-2f3d", "{\"cpus\": 1, \"labels\": {\"a\": \"1\"}}", &c);
    assert_int_equal(c.status, 201);
    assert_string_not_equal(resp_str(&c, "id"), resp_str(&a, "id"));
    resp_release(&c);

    /* Malformed keys are 400 naming the header. */
    idem_create(m, "tok_alice", "two words", "{}", &c);
    assert_int_equal(c.status, 400);
    mock_check_problem(&c, "invalid_parameter");
    assert_string_equal(error_member(&c, 0, "parameter"), "Idempotency-Key");
    resp_release(&c);
    memset(key, 'k', 256);
    key[256] = '\0';
    idem_create(m, "tok_alice", key, "{}", &c);
    assert_int_equal(c.status, 400);
    mock_check_problem(&c, "invalid_parameter");
    assert_string_equal(error_member(&c, 0, "detail"), "must be at most 255 characters");
    resp_release(&c);
    key[255] = '\0';
    idem_create(m, "tok_alice", key, "{}", &c);
    assert_int_equal(c.status, 201);
    resp_release(&c);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 2);

    /* A replay still answers after the box is gone: it repeats, it does not redo. */
    box_call(m, "destroyHogbox", 204, "DELETE", resp_str(&a, "id"), "", "tok_alice", &c);
    resp_release(&c);
    idem_create(m, "tok_alice", "7b0c4e1a-2f3d", "{\"cpus\": 1, \"labels\": {\"a\": \"1\"}}", &c);
    assert_int_equal(c.status, 201);
    assert_string_equal(resp_str(&c, "id"), resp_str(&a, "id"));
    resp_release(&c);
    assert_int_equal(count_boxes(m, "tok_alice", ""), 1);
    resp_release(&a);
    resp_release(&b);
}

/* A key past the spec's 24 hours is forgotten, not only replaced if it comes back: a long
 * run holds a day of keys, not every key it ever saw. */
static void test_idempotency_keys_past_24_hours_are_forgotten(void **state)
{
    struct mock *m = *state;
    struct resp r;
    const cJSON *j;

    idem_create(m, "tok_alice", "old-key", "{}", &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
    advance(m, 24ULL * 3600 * 1000 + 60000);
    idem_create(m, "tok_alice", "new-key", "{}", &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
    /* A reset of the principal removes what was still kept: the new key alone. */
    j = mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL,
                    "{\"principal_id\": \"pr_alice\"}", &r);
    assert_int_equal(num(cJSON_GetObjectItem(j, "removed"), "idempotency_keys"), 1);
    resp_release(&r);
}

static void idem_snapshot(struct mock *m, const char *box, const char *key, struct resp *r)
{
    char h[300], target[96];
    const char *const extra[] = { h, NULL };

    snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/snapshot", box);
    mock_call(m, "POST", target, "tok_alice", NULL, 0, extra, r);
    mock_check(m, "snapshotHogbox", r);
}

static void test_idempotent_snapshot_replays_and_refuses_reuse(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}"), *other = create(m, "tok_alice", "{}");
    char *ids[10], *next;
    struct resp a, b;
    int n;

    idem_snapshot(m, box, "snap-nightly-0603", &a);
    assert_int_equal(a.status, 201);
    idem_snapshot(m, box, "snap-nightly-0603", &b);
    assert_int_equal(b.status, 201);
    assert_true(cJSON_Compare(a.json, b.json, true));
    assert_same_header(&a, &b, "Location", true);
    resp_release(&b);
    n = list_page(m, "listSnapshots", "/v1/snapshots", "tok_alice", ids, 10, &next);
    assert_int_equal(n, 1);
    free_ids(ids, n);

    idem_snapshot(m, other, "snap-nightly-0603", &b);
    assert_int_equal(b.status, 422);
    mock_check_problem(&b, "idempotency_key_reused");
    assert_non_null(strstr(resp_str(&b, "detail"), box));
    resp_release(&b);
    idem_snapshot(m, other, "bad\tkey", &b);
    assert_int_equal(b.status, 400);
    mock_check_problem(&b, "invalid_parameter");
    resp_release(&b);
    n = list_page(m, "listSnapshots", "/v1/snapshots", "tok_alice", ids, 10, &next);
    assert_int_equal(n, 1);
    free_ids(ids, n);
    resp_release(&a);
    free(box);
    free(other);
}

/* ---- lists ---- */

static void test_list_pages_are_stable_across_creates_and_destroys(void **state)
{
    struct mock *m = *state;
    char *box[6], *ids[10], *next, *next2, target[700];
    struct resp r;
    int n, i;

    for (i = 0; i < 5; i++) {
        box[i] = create(m, "tok_alice", "{}");
        advance(m, 1000);   /* distinct created_at: the order is by time first */
    }
    n = list_page(m, "listHogboxes", "/v1/hogboxes?limit=2", "tok_alice", ids, 10, &next);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], box[0]);
    assert_string_equal(ids[1], box[1]);
    assert_non_null(next);
    free_ids(ids, n);

    /* Between pages: one seen box and one unseen box go, a new one comes. */
    box_call(m, "destroyHogbox", 204, "DELETE", box[0], "", "tok_alice", &r);
    resp_release(&r);
    box_call(m, "destroyHogbox", 204, "DELETE", box[2], "", "tok_alice", &r);
    resp_release(&r);
    box[5] = create(m, "tok_alice", "{}");

    snprintf(target, sizeof(target), "/v1/hogboxes?limit=2&cursor=%s", next);
    n = list_page(m, "listHogboxes", target, "tok_alice", ids, 10, &next2);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], box[3]);
    assert_string_equal(ids[1], box[4]);
    assert_non_null(next2);
    free_ids(ids, n);
    free(next);

    /* The last page is not empty and ends the list. */
    snprintf(target, sizeof(target), "/v1/hogboxes?limit=2&cursor=%s", next2);
    n = list_page(m, "listHogboxes", target, "tok_alice", ids, 10, &next);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], box[5]);
    assert_null(next);
    free_ids(ids, n);
    free(next2);

    /* Exactly limit items left: no cursor to an empty page. */
    n = list_page(m, "listHogboxes", "/v1/hogboxes?limit=4", "tok_alice", ids, 10, &next);
    assert_int_equal(n, 4);
    assert_null(next);
    free_ids(ids, n);
    for (i = 0; i < 6; i++)
        free(box[i]);
}

static void test_list_orders_by_created_at_then_id(void **state)
{
    struct mock *m = *state;
    char *ids[10], *next;
    int n, i;

    for (i = 0; i < 6; i++) {
        free(create(m, "tok_alice", "{}"));
        if (i == 2)
            advance(m, 1500);
    }
    n = list_page(m, "listHogboxes", "/v1/hogboxes", "tok_alice", ids, 10, &next);
    assert_int_equal(n, 6);
    assert_null(next);
    /* Within one second by id; the second three after the first three. */
    assert_true(strcmp(ids[0], ids[1]) < 0 && strcmp(ids[1], ids[2]) < 0);
    assert_true(strcmp(ids[3], ids[4]) < 0 && strcmp(ids[4], ids[5]) < 0);
    free_ids(ids, n);

    /* Walking one by one gives the same order. */
    {
        char *all[10], *page[2], target[700], *cursor = NULL;
        int total = 0;

        n = list_page(m, "listHogboxes", "/v1/hogboxes", "tok_alice", all, 10, &next);
        do {
            if (cursor)
                snprintf(target, sizeof(target), "/v1/hogboxes?limit=1&cursor=%s", cursor);
            else
                snprintf(target, sizeof(target), "/v1/hogboxes?limit=1");
            free(cursor);
            assert_int_equal(list_page(m, "listHogboxes", target, "tok_alice", page, 2,
                                       &cursor), 1);
            assert_string_equal(page[0], all[total]);
            free(page[0]);
            total++;
        } while (cursor);
        assert_int_equal(total, 6);
        free_ids(all, n);
    }
}

static void test_list_filters_by_state_and_labels(void **state)
{
    struct mock *m = *state;
    char *a = create(m, "tok_alice", "{\"labels\": {\"team\": \"a\"}}");
    char *b = create(m, "tok_alice", "{\"labels\": {\"team\": \"b\"}}");
    char *c = create(m, "tok_alice", "{\"labels\": {\"team\": \"a\", \"env\": \"prod\"}}");
    char *d = create(m, "tok_alice", "{\"labels\": {\"team\": \"\", "
                     "\"example.com/owner\": \"me@x\"}}");
    char *ids[10], *next, target[700];
    struct resp r;
    int n;

    box_call(m, "pauseHogbox", 200, "POST", c, "/pause", "tok_alice", &r);
    resp_release(&r);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=team=a"), 2);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=team=a&label=env=prod"), 1);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=env=prod&label=team=b"), 0);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=team=a&label=team=b"), 0);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=team="), 1);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=nope=x"), 0);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=example.com/owner=me@x"), 1);
    assert_int_equal(count_boxes(m, "tok_alice", "&label=example.com/owner=me"), 0);
    assert_int_equal(count_boxes(m, "tok_alice", "&state=paused"), 1);
    assert_int_equal(count_boxes(m, "tok_alice", "&state=running"), 3);
    assert_int_equal(count_boxes(m, "tok_alice", "&state=running&label=team=a"), 1);
    assert_int_equal(count_boxes(m, "tok_alice", "&state=destroyed"), 0);
    assert_int_equal(count_boxes(m, "tok_bob", "&label=team=a"), 0);

    /* Filters hold across pages; a cursor is only good for its own filters. */
    n = list_page(m, "listHogboxes", "/v1/hogboxes?limit=1&label=team=a", "tok_alice", ids, 10,
                  &next);
    assert_int_equal(n, 1);
    assert_non_null(next);
    free_ids(ids, n);
    snprintf(target, sizeof(target), "/v1/hogboxes?label=team=a&limit=1&cursor=%s", next);
    free(next);
    n = list_page(m, "listHogboxes", target, "tok_alice", ids, 10, &next);
    assert_int_equal(n, 1);
    assert_null(next);
    free_ids(ids, n);
    n = list_page(m, "listHogboxes", "/v1/hogboxes?limit=1&label=env=prod&label=team=a",
                  "tok_alice", ids, 10, &next);
    free_ids(ids, n);
    assert_null(next);
    n = list_page(m, "listHogboxes", "/v1/hogboxes?limit=1&state=running", "tok_alice", ids,
                  10, &next);
    free_ids(ids, n);
    assert_non_null(next);
    snprintf(target, sizeof(target), "/v1/hogboxes?limit=1&state=paused&cursor=%s", next);
    expect_problem(m, "listHogboxes", 400, "invalid_parameter", "GET", target, "tok_alice",
                   NULL, &r);
    assert_string_equal(error_member(&r, 0, "parameter"), "cursor");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes?limit=1&cursor=%s", next);
    expect_problem_only(m, "listHogboxes", 400, "invalid_parameter", "GET", target,
                        "tok_alice", NULL);
    free(next);

    expect_problem_only(m, "listHogboxes", 400, "invalid_parameter", "GET",
                        "/v1/hogboxes?state=sleeping", "tok_alice", NULL);
    expect_problem_only(m, "listHogboxes", 400, "invalid_parameter", "GET",
                        "/v1/hogboxes?label=team", "tok_alice", NULL);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_list_rejects_cursors_it_did_not_issue(void **state)
{
    static const char *const bad[] = {
        "/v1/hogboxes?cursor=garbage!",
        /* The spec's example cursor: well-formed base64url, but not one of ours. */
        "/v1/hogboxes?cursor=eyJjIjoiMjAyNS0wNi0wM1QxMDoxNTozMFoiLCJpIjoiaGJfM2Y5YTJjN2U1"
        "YjFkODA0NiJ9",
        "/v1/hogboxes?cursor=aDEuMC5oYl8xLjAwMDAwMDAwMDAwMDAwMDAuMDAwMDAwMDAwMDAwMDAwMA",
        "/v1/hogboxes?limit=0",
        "/v1/hogboxes?limit=101",
        "/v1/hogboxes?limit=ten",
    };
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}"), *ids[4], *next, target[700];
    struct resp r;
    size_t i;
    int n;

    free(create(m, "tok_alice", "{}"));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_problem_only(m, "listHogboxes", 400, "invalid_parameter", "GET", bad[i],
                            "tok_alice", NULL);
    expect_problem(m, "listHogboxes", 400, "invalid_parameter", "GET", bad[0], "tok_alice",
                   NULL, &r);
    assert_string_equal(error_member(&r, 0, "parameter"), "cursor");
    resp_release(&r);

    /* A hogbox cursor is no snapshot cursor, and a cursor survives a one-letter change
     * only by failing. */
    n = list_page(m, "listHogboxes", "/v1/hogboxes?limit=1", "tok_alice", ids, 4, &next);
    free_ids(ids, n);
    assert_non_null(next);
    snprintf(target, sizeof(target), "/v1/snapshots?cursor=%s", next);
    expect_problem_only(m, "listSnapshots", 400, "invalid_parameter", "GET", target,
                        "tok_alice", NULL);
    next[3] = next[3] == 'A' ? 'B' : 'A';
    snprintf(target, sizeof(target), "/v1/hogboxes?cursor=%s", next);
    expect_problem_only(m, "listHogboxes", 400, "invalid_parameter", "GET", target,
                        "tok_alice", NULL);
    free(next);
    expect_problem_only(m, "listSnapshots", 400, "invalid_parameter", "GET",
                        "/v1/snapshots?cursor=zzz", "tok_alice", NULL);
    expect_problem_only(m, "listSnapshots", 400, "invalid_parameter", "GET",
                        "/v1/snapshots?limit=500", "tok_alice", NULL);
    free(box);
}

static void test_lists_are_empty_when_there_is_nothing(void **state)
{
    struct mock *m = *state;
    struct resp r;
    const cJSON *j;

    j = mock_expect(m, "listHogboxes", 200, "GET", "/v1/hogboxes", "tok_alice", NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
    resp_release(&r);
    j = mock_expect(m, "listSnapshots", 200, "GET", "/v1/snapshots", "tok_alice", NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
    resp_release(&r);
}

/* ---- lifecycle ---- */

static void test_boxes_of_another_principal_are_404(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}");

    box_problem(m, "getHogbox", 404, "hogbox_not_found", "GET", box, "", "tok_bob");
    box_problem(m, "pauseHogbox", 404, "hogbox_not_found", "POST", box, "/pause", "tok_bob");
    box_problem(m, "resumeHogbox", 404, "hogbox_not_found", "POST", box, "/resume", "tok_bob");
    box_problem(m, "snapshotHogbox", 404, "hogbox_not_found", "POST", box, "/snapshot",
                "tok_bob");
    box_problem(m, "destroyHogbox", 404, "hogbox_not_found", "DELETE", box, "", "tok_bob");
    assert_int_equal(count_boxes(m, "tok_bob", ""), 0);
    assert_state(m, "tok_alice", box, "running");
    box_problem(m, "getHogbox", 404, "hogbox_not_found", "GET", NOBOX, "", "tok_alice");
    box_problem(m, "getHogbox", 404, "hogbox_not_found", "GET", "not-an-id", "", "tok_alice");
    free(box);
}

static void test_pause_and_resume_follow_the_lifecycle(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}");
    struct resp r;
    const cJSON *j;
    char created[32];

    box_call(m, "getHogbox", 200, "GET", box, "", "tok_alice", &r);
    snprintf(created, sizeof(created), "%s", resp_str(&r, "created_at"));
    resp_release(&r);
    advance(m, 5000);
    box_call(m, "pauseHogbox", 200, "POST", box, "/pause", "tok_alice", &r);
    j = r.json;
    assert_string_equal(str(j, "state"), "paused");
    assert_string_equal(str(j, "created_at"), created);
    assert_string_not_equal(str(j, "updated_at"), created);
    resp_release(&r);
    assert_state(m, "tok_alice", box, "paused");

    box_call(m, "pauseHogbox", 409, "POST", box, "/pause", "tok_alice", &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "is paused"));
    assert_non_null(strstr(resp_str(&r, "detail"), box));
    resp_release(&r);
    box_problem(m, "snapshotHogbox", 409, "invalid_state", "POST", box, "/snapshot",
                "tok_alice");

    box_call(m, "resumeHogbox", 200, "POST", box, "/resume", "tok_alice", &r);
    assert_string_equal(resp_str(&r, "state"), "running");
    resp_release(&r);
    box_call(m, "resumeHogbox", 409, "POST", box, "/resume", "tok_alice", &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "is running"));
    resp_release(&r);
    assert_state(m, "tok_alice", box, "running");
    free(box);
}

static void test_destroy_makes_the_box_404_everywhere(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}");
    struct resp r;

    box_call(m, "destroyHogbox", 204, "DELETE", box, "", "tok_alice", &r);
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
    box_problem(m, "destroyHogbox", 404, "hogbox_not_found", "DELETE", box, "", "tok_alice");
    box_problem(m, "getHogbox", 404, "hogbox_not_found", "GET", box, "", "tok_alice");
    box_problem(m, "pauseHogbox", 404, "hogbox_not_found", "POST", box, "/pause", "tok_alice");
    box_problem(m, "resumeHogbox", 404, "hogbox_not_found", "POST", box, "/resume",
                "tok_alice");
    box_problem(m, "snapshotHogbox", 404, "hogbox_not_found", "POST", box, "/snapshot",
                "tok_alice");
    assert_int_equal(count_boxes(m, "tok_alice", ""), 0);

    /* A paused box can be destroyed too. */
    free(box);
    box = create(m, "tok_alice", "{}");
    box_call(m, "pauseHogbox", 200, "POST", box, "/pause", "tok_alice", &r);
    resp_release(&r);
    box_call(m, "destroyHogbox", 204, "DELETE", box, "", "tok_alice", &r);
    resp_release(&r);
    free(box);
}

static void test_boot_ms_keeps_a_new_box_creating_until_the_clock_passes(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;
    char *box, *gone, created[32];

    (void)state;
    mock_default_config(&cfg);
    cfg.boot_ms = 3000;
    m = mock_start(&cfg);
    mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice", "{}", &r);
    assert_string_equal(resp_str(&r, "state"), "creating");
    box = xstrdup(resp_str(&r, "id"));
    snprintf(created, sizeof(created), "%s", resp_str(&r, "created_at"));
    resp_release(&r);
    gone = create(m, "tok_alice", "{}");

    assert_state(m, "tok_alice", box, "creating");
    box_call(m, "pauseHogbox", 409, "POST", box, "/pause", "tok_alice", &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "is creating"));
    resp_release(&r);
    box_problem(m, "snapshotHogbox", 409, "invalid_state", "POST", box, "/snapshot",
                "tok_alice");
    box_problem(m, "resumeHogbox", 409, "invalid_state", "POST", box, "/resume", "tok_alice");
    assert_int_equal(count_boxes(m, "tok_alice", "&state=creating"), 2);
    /* A box that is still booting can be destroyed. */
    box_call(m, "destroyHogbox", 204, "DELETE", gone, "", "tok_alice", &r);
    resp_release(&r);

    advance(m, 2999);
    assert_state(m, "tok_alice", box, "creating");
    advance(m, 1);
    box_call(m, "getHogbox", 200, "GET", box, "", "tok_alice", &r);
    assert_string_equal(resp_str(&r, "state"), "running");
    assert_string_equal(resp_str(&r, "created_at"), created);
    assert_string_not_equal(resp_str(&r, "updated_at"), created);
    resp_release(&r);
    assert_int_equal(count_boxes(m, "tok_alice", "&state=creating"), 0);
    assert_int_equal(count_boxes(m, "tok_alice", "&state=running"), 1);
    box_call(m, "pauseHogbox", 200, "POST", box, "/pause", "tok_alice", &r);
    resp_release(&r);
    free(box);
    free(gone);
    mock_stop(m);
}

static void test_snapshot_ms_keeps_the_box_snapshotting(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;
    char *box, *snap;

    (void)state;
    mock_default_config(&cfg);
    cfg.snapshot_ms = 2000;
    m = mock_start(&cfg);
    box = create(m, "tok_alice", "{}");
    snap = snapshot(m, "tok_alice", box);
    assert_state(m, "tok_alice", box, "snapshotting");
    /* The snapshot itself is complete when the call returns. */
    box_call(m, "getHogbox", 200, "GET", box, "", "tok_alice", &r);
    resp_release(&r);
    {
        char target[96];

        snprintf(target, sizeof(target), "/v1/snapshots/%s", snap);
        mock_expect(m, "getSnapshot", 200, "GET", target, "tok_alice", NULL, &r);
        resp_release(&r);
    }
    box_problem(m, "pauseHogbox", 409, "invalid_state", "POST", box, "/pause", "tok_alice");
    box_problem(m, "snapshotHogbox", 409, "invalid_state", "POST", box, "/snapshot",
                "tok_alice");
    assert_int_equal(count_boxes(m, "tok_alice", "&state=snapshotting"), 1);
    advance(m, 2000);
    assert_state(m, "tok_alice", box, "running");
    free(snapshot(m, "tok_alice", box));
    free(box);
    free(snap);
    mock_stop(m);
}

/* ---- snapshots ---- */

static void test_snapshots_record_list_get_and_delete(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}"), *from, *ids[4], *next;
    char target[96], body[128], snap[48];
    struct resp r, g;
    const cJSON *j;
    int n;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/snapshot", box);
    j = mock_expect(m, "snapshotHogbox", 201, "POST", target, "tok_alice", NULL, &r);
    snprintf(snap, sizeof(snap), "%s", str(j, "id"));
    assert_int_equal(strncmp(snap, "snap_", 5), 0);
    assert_int_equal(strlen(snap), 21);
    assert_string_equal(str(j, "hogbox_id"), box);
    assert_true(num(j, "size_bytes") >= 0);
    snprintf(target, sizeof(target), "/v1/snapshots/%s", snap);
    assert_string_equal(resp_header(&r, "Location"), target);
    assert_state(m, "tok_alice", box, "running");

    mock_expect(m, "getSnapshot", 200, "GET", target, "tok_alice", NULL, &g);
    assert_true(cJSON_Compare(r.json, g.json, true));
    resp_release(&g);
    n = list_page(m, "listSnapshots", "/v1/snapshots", "tok_alice", ids, 4, &next);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], snap);
    assert_null(next);
    free_ids(ids, n);
    resp_release(&r);

    /* A box started from it holds it. */
    snprintf(body, sizeof(body), "{\"snapshot_id\": \"%s\", \"cpus\": 1}", snap);
    j = mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice", body, &r);
    assert_string_equal(str(j, "snapshot_id"), snap);
    from = xstrdup(str(j, "id"));
    resp_release(&r);
    expect_problem(m, "deleteSnapshot", 409, "snapshot_in_use", "DELETE", target, "tok_alice",
                   NULL, &r);
    assert_non_null(strstr(resp_str(&r, "detail"), from));
    resp_release(&r);

    /* Snapshots outlive the box they were taken from. */
    box_call(m, "destroyHogbox", 204, "DELETE", box, "", "tok_alice", &r);
    resp_release(&r);
    mock_expect(m, "getSnapshot", 200, "GET", target, "tok_alice", NULL, &r);
    resp_release(&r);
    expect_problem_only(m, "deleteSnapshot", 409, "snapshot_in_use", "DELETE", target,
                        "tok_alice", NULL);
    box_call(m, "destroyHogbox", 204, "DELETE", from, "", "tok_alice", &r);
    resp_release(&r);

    mock_expect(m, "deleteSnapshot", 204, "DELETE", target, "tok_alice", NULL, &r);
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
    expect_problem_only(m, "deleteSnapshot", 404, "snapshot_not_found", "DELETE", target,
                        "tok_alice", NULL);
    expect_problem_only(m, "getSnapshot", 404, "snapshot_not_found", "GET", target,
                        "tok_alice", NULL);
    expect_problem_only(m, "createHogbox", 404, "snapshot_not_found", "POST", "/v1/hogboxes",
                        "tok_alice", body);
    n = list_page(m, "listSnapshots", "/v1/snapshots", "tok_alice", ids, 4, &next);
    assert_int_equal(n, 0);
    free(box);
    free(from);
}

static void test_snapshots_of_another_principal_are_404(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}"), *snap = snapshot(m, "tok_alice", box);
    char *ids[4], *next, target[96];
    int n;

    snprintf(target, sizeof(target), "/v1/snapshots/%s", snap);
    expect_problem_only(m, "getSnapshot", 404, "snapshot_not_found", "GET", target, "tok_bob",
                        NULL);
    expect_problem_only(m, "deleteSnapshot", 404, "snapshot_not_found", "DELETE", target,
                        "tok_bob", NULL);
    n = list_page(m, "listSnapshots", "/v1/snapshots", "tok_bob", ids, 4, &next);
    assert_int_equal(n, 0);
    n = list_page(m, "listSnapshots", "/v1/snapshots", "tok_alice", ids, 4, &next);
    assert_int_equal(n, 1);
    free_ids(ids, n);
    expect_problem_only(m, "getSnapshot", 404, "snapshot_not_found", "GET",
                        "/v1/snapshots/" NOSNAP, "tok_alice", NULL);
    free(box);
    free(snap);
}

static void test_snapshot_list_pages(void **state)
{
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}"), *snap[3], *ids[4], *next, *next2, target[700];
    int n, i;

    for (i = 0; i < 3; i++) {
        snap[i] = snapshot(m, "tok_alice", box);
        advance(m, 1000);
    }
    n = list_page(m, "listSnapshots", "/v1/snapshots?limit=2", "tok_alice", ids, 4, &next);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], snap[0]);
    assert_string_equal(ids[1], snap[1]);
    free_ids(ids, n);
    assert_non_null(next);
    snprintf(target, sizeof(target), "/v1/snapshots?limit=2&cursor=%s", next);
    n = list_page(m, "listSnapshots", target, "tok_alice", ids, 4, &next2);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], snap[2]);
    assert_null(next2);
    free_ids(ids, n);
    free(next);
    for (i = 0; i < 3; i++)
        free(snap[i]);
    free(box);
}

static void test_snapshot_carries_the_files_into_a_new_box(void **state)
{
    static const char content[] = "hello from a snapshot\n";
    static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };
    struct mock *m = *state;
    char *box = create(m, "tok_alice", "{}"), *snap, *from, target[160], body[96];
    struct resp r;
    const cJSON *j;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/hello.txt", box);
    mock_call(m, "PUT", target, "tok_alice", content, sizeof(content) - 1, octet, &r);
    assert_int_equal(r.status, 200);
    mock_check(m, "writeFile", &r);
    resp_release(&r);

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/snapshot", box);
    j = mock_expect(m, "snapshotHogbox", 201, "POST", target, "tok_alice", NULL, &r);
    assert_int_equal(num(j, "size_bytes"), (int64_t)sizeof(content) - 1);
    snap = xstrdup(str(j, "id"));
    resp_release(&r);

    /* Changes after the snapshot do not reach it. */
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/hello.txt", box);
    mock_call(m, "PUT", target, "tok_alice", "changed", 7, octet, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);

    snprintf(body, sizeof(body), "{\"snapshot_id\": \"%s\"}", snap);
    from = create(m, "tok_alice", body);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/hello.txt", from);
    mock_call(m, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    mock_check(m, "readFile", &r);
    assert_int_equal(r.body.len, sizeof(content) - 1);
    assert_memory_equal(r.body.data, content, sizeof(content) - 1);
    resp_release(&r);

    /* A destroyed box's files go with it: a new box from scratch has none of them. */
    box_call(m, "destroyHogbox", 204, "DELETE", box, "", "tok_alice", &r);
    resp_release(&r);
    free(box);
    box = create(m, "tok_alice", "{}");
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/hello.txt", box);
    mock_call(m, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_release(&r);
    free(box);
    free(snap);
    free(from);
}

/* ---- sim_load_limits ---- */

static enum rc load(const char *text, struct hog_limits *l, struct buf *err)
{
    char *path = temp_file("load.yaml", text);
    enum rc rc;

    buf_reset(err);
    hogmock_limits_default(l);
    rc = sim_load_limits(l, path, err);
    free(path);
    return rc;
}

static void test_load_limits_takes_a_partial_file_over_the_defaults(void **state)
{
    struct hog_limits l;
    struct buf err = BUF_INIT;

    (void)state;
    assert_int_equal(load("cpus: {max: 4}\nmax_hogboxes: 3\nfile_max_bytes: 1024\n", &l, &err),
                     RC_OK);
    assert_int_equal(l.cpus.min, 1);
    assert_int_equal(l.cpus.max, 4);
    assert_int_equal(l.cpus.def, 2);
    assert_int_equal(l.max_hogboxes, 3);
    assert_int_equal(l.file_max_bytes, 1024);
    assert_int_equal(l.memory_mib.max, 16384);
    assert_int_equal(l.memory_multiple_of, 256);
    assert_int_equal(l.exec_output_max_bytes, 1048576);

    /* A default left out moves into a narrowed range (and onto its multiple). */
    assert_int_equal(load("cpus: {min: 4}\nmemory_mib: {max: 768, multiple_of: 512}\n"
                          "disk_gib: {max: 5}\n", &l, &err), RC_OK);
    assert_int_equal(l.cpus.def, 4);
    assert_int_equal(l.memory_mib.def, 512);
    assert_int_equal(l.memory_multiple_of, 512);
    assert_int_equal(l.disk_gib.def, 5);
    assert_int_equal(load("{\"exec_timeout_seconds\": {\"min\": 5, \"max\": 10, "
                          "\"default\": 5}}", &l, &err), RC_OK);
    assert_int_equal(l.exec_timeout_seconds.def, 5);
    assert_int_equal(load("{}", &l, &err), RC_OK);
    buf_release(&err);
}

static void test_load_limits_refuses_what_the_spec_does_not_allow(void **state)
{
    static const struct { const char *text, *want; } bad[] = {
        { "gpus: 1\n", "unknown field 'gpus'" },
        { "cpus: {max: 9}\n", "cpus.max must be at most 8" },
        { "cpus: {min: 0}\n", "cpus.min must be at least 1" },
        { "cpus: {min: 4, max: 2}\n", "cpus.min (4) is above cpus.max (2)" },
        { "cpus: {default: 6, max: 4}\n", "cpus.default (6) is outside" },
        { "cpus: {maximum: 4}\n", "unknown field 'cpus.maximum'" },
        { "cpus: {max: 2.5}\n", "cpus.max must be an integer" },
        { "cpus: {max: four}\n", "cpus.max must be an integer" },
        { "cpus: 4\n", "cpus must be an object" },
        { "disk_gib: {max: 101}\n", "disk_gib.max must be at most 100" },
        { "memory_mib: {multiple_of: 100}\n", "memory_mib.multiple_of must be a positive "
                                              "multiple of 256" },
        { "memory_mib: {default: 768, multiple_of: 512}\n", "memory_mib.default (768) is not "
                                                            "a multiple" },
        { "memory_mib: {min: 300, max: 400}\n", "memory_mib.default" },
        { "cpus: {multiple_of: 2}\n", "unknown field 'cpus.multiple_of'" },
        { "exec_timeout_seconds: {max: 3601}\n", "exec_timeout_seconds.max must be at most" },
        { "exec_output_max_bytes: 2000000\n", "exec_output_max_bytes must be between 0 and "
                                              "1048576" },
        { "file_max_bytes: 67108865\n", "file_max_bytes must be between" },
        { "max_hogboxes: -1\n", "max_hogboxes must be between" },
        { "- cpus\n", "must be a mapping" },
        { "cpus: [\n", "load.yaml" },
    };
    struct hog_limits l, def;
    struct buf err = BUF_INIT;
    size_t i;

    (void)state;
    hogmock_limits_default(&def);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum rc rc = load(bad[i].text, &l, &err);

        if (rc == RC_OK || !strstr(buf_cstr(&err), bad[i].want)
            || !strstr(buf_cstr(&err), tmpdir))
            fail_msg("'%s': rc %s, message '%s', expected one with '%s'", bad[i].text,
                     rc_str(rc), buf_cstr(&err), bad[i].want);
        /* Nothing changes on failure. */
        assert_memory_equal(&l, &def, sizeof(l));
    }
    buf_reset(&err);
    hogmock_limits_default(&l);
    assert_int_equal(sim_load_limits(&l, "/nonexistent/limits.yaml", &err), RC_NOT_FOUND);
    assert_non_null(strstr(buf_cstr(&err), "/nonexistent/limits.yaml"));
    buf_release(&err);
}

static void test_a_bad_limits_file_stops_hogmock_from_starting(void **state)
{
    struct hogmock_config cfg;
    struct hogmock *hm = NULL;
    struct buf err = BUF_INIT;
    char *path = temp_file("bad-limits.yaml", "cpus: {max: 64}\n");

    (void)state;
    mock_default_config(&cfg);
    cfg.limits_path = path;
    assert_int_not_equal(hogmock_start(&cfg, &hm, &err), RC_OK);
    assert_null(hm);
    assert_non_null(strstr(buf_cstr(&err), "cpus.max"));
    buf_release(&err);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, mock_setup, mock_teardown)
        T(test_limits_are_the_documented_defaults),
        T(test_every_operation_needs_a_known_token),
        T(test_create_with_defaults_is_running_with_a_location),
        T(test_create_keeps_sizes_access_and_labels),
        T(test_create_outside_the_spec_is_422_with_pointers),
        T(test_create_ssh_public_without_a_key_is_422),
        cmocka_unit_test(test_create_outside_configured_limits_is_422_with_pointers),
        cmocka_unit_test(test_create_over_quota_is_429_without_retry_after),
        T(test_create_from_an_unknown_snapshot_is_404),
        T(test_idempotent_create_replays_the_first_answer),
        T(test_idempotent_snapshot_replays_and_refuses_reuse),
        T(test_idempotency_keys_past_24_hours_are_forgotten),
        T(test_list_pages_are_stable_across_creates_and_destroys),
        T(test_list_orders_by_created_at_then_id),
        T(test_list_filters_by_state_and_labels),
        T(test_list_rejects_cursors_it_did_not_issue),
        T(test_lists_are_empty_when_there_is_nothing),
        T(test_boxes_of_another_principal_are_404),
        T(test_pause_and_resume_follow_the_lifecycle),
        T(test_destroy_makes_the_box_404_everywhere),
        cmocka_unit_test(test_boot_ms_keeps_a_new_box_creating_until_the_clock_passes),
        cmocka_unit_test(test_snapshot_ms_keeps_the_box_snapshotting),
        T(test_snapshots_record_list_get_and_delete),
        T(test_snapshots_of_another_principal_are_404),
        T(test_snapshot_list_pages),
        T(test_snapshot_carries_the_files_into_a_new_box),
        cmocka_unit_test(test_load_limits_takes_a_partial_file_over_the_defaults),
        cmocka_unit_test(test_load_limits_refuses_what_the_spec_does_not_allow),
        cmocka_unit_test(test_a_bad_limits_file_stops_hogmock_from_starting),
#undef T
    };

    return cmocka_run_group_tests_name("sim", tests, group_setup, group_teardown);
}
