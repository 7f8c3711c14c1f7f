/* Integration tests for hogmock's admin API (/__hogmock/): every operation, its errors,
 * and the programs and services registries behind two of them. Every answer is checked
 * against openapi/hogmock-admin.yaml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "programs.h"
#include "services.h"
#include "xmalloc.h"

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v))
        fail_msg("no number '%s'", name);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* The journal is written once a response has gone out, so a request's entry may land
 * just after the client saw the answer: wait (up to 2 s) until target counts want. */
static long journal_count_reaches(struct mock *m, const char *target, long want)
{
    long n = -1;
    int i;

    for (i = 0; i < 200; i++) {
        struct resp r;

        mock_expect(m, "adminJournalCount", 200, "GET", target, NULL, NULL, &r);
        n = (long)num(r.json, "count");
        resp_release(&r);
        if (n >= want)
            break;
        sleep_ms(10);
    }
    return n;
}

/* ---- health and clock ------------------------------------------------------------- */

static void test_admin_health_says_ok_and_which_clock(void **state)
{
    struct mock *m = *state;
    struct resp r;

    mock_expect(m, "adminHealth", 200, "GET", "/__hogmock/health", NULL, NULL, &r);
    assert_string_equal(resp_str(&r, "status"), "ok");
    assert_string_equal(resp_str(&r, "clock"), "virtual");
    assert_non_null(resp_str(&r, "version"));
    assert_true(num(r.json, "uptime_ms") >= 0);
    resp_release(&r);
}

static void test_admin_clock_reads_advances_and_sets(void **state)
{
    struct mock *m = *state;
    double before;
    struct resp r;

    mock_expect(m, "adminClock", 200, "GET", "/__hogmock/clock", NULL, NULL, &r);
    before = num(r.json, "now_ms");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "virtual")));
    resp_release(&r);

    mock_expect(m, "adminClockAdvance", 200, "POST", "/__hogmock/clock/advance", NULL,
                "{\"ms\": 1500}", &r);
    assert_true(num(r.json, "now_ms") == before + 1500);
    resp_release(&r);

    mock_expect(m, "adminClockSet", 200, "POST", "/__hogmock/clock/set", NULL,
                "{\"now\": \"2100-01-01T00:00:00Z\"}", &r);
    assert_true(num(r.json, "now_ms") == 4102444800000.0);
    assert_string_equal(resp_str(&r, "now"), "2100-01-01T00:00:00.000Z");
    resp_release(&r);
    /* The same instant with an offset, and with a fraction. */
    mock_expect(m, "adminClockSet", 200, "POST", "/__hogmock/clock/set", NULL,
                "{\"now\": \"2100-01-01T01:00:00.250+01:00\"}", &r);
    assert_true(num(r.json, "now_ms") == 4102444800250.0);
    resp_release(&r);
    mock_expect(m, "adminClockSet", 200, "POST", "/__hogmock/clock/set", NULL,
                "{\"now_ms\": 4102444801000}", &r);
    assert_true(num(r.json, "now_ms") == 4102444801000.0);
    resp_release(&r);
    mock_expect(m, "adminClock", 200, "GET", "/__hogmock/clock", NULL, NULL, &r);
    assert_string_equal(resp_str(&r, "now"), "2100-01-01T00:00:01.000Z");
    resp_release(&r);

    /* Never backwards. */
    mock_expect(m, "adminClockSet", 409, "POST", "/__hogmock/clock/set", NULL,
                "{\"now_ms\": 1000}", &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "backwards"));
    resp_release(&r);
}

static void test_admin_clock_refuses_bad_bodies(void **state)
{
    static const struct {
        const char *op, *target, *body;
        long status;
        const char *code;
    } cases[] = {
        { "adminClockSet", "/__hogmock/clock/set", "{}", 422, "validation_failed" },
        { "adminClockSet", "/__hogmock/clock/set", "{\"now_ms\": 1, \"now\": \"2100-01-01T00:00:00Z\"}",
          422, "validation_failed" },
        { "adminClockSet", "/__hogmock/clock/set", "{\"now\": \"tomorrow\"}", 422,
          "validation_failed" },
        { "adminClockSet", "/__hogmock/clock/set", "{\"later\": 1}", 422, "validation_failed" },
        { "adminClockAdvance", "/__hogmock/clock/advance", "{\"ms\": -1}", 422, "validation_failed" },
        { "adminClockAdvance", "/__hogmock/clock/advance", "{\"ms\": 1.5}", 422, "validation_failed" },
        { "adminClockAdvance", "/__hogmock/clock/advance", "{\"ms\": ", 400, "malformed_json" },
        { "adminClockAdvance", "/__hogmock/clock/advance", NULL, 400, "malformed_json" },
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mock_expect(m, cases[i].op, cases[i].status, "POST", cases[i].target, NULL, cases[i].body,
                    &r);
        mock_check_problem(&r, cases[i].code);
        resp_release(&r);
    }
    {
        static const char *const text[] = { "Content-Type: text/plain", NULL };

        mock_call(m, "POST", "/__hogmock/clock/advance", NULL, "{\"ms\":1}", 8, text, &r);
        assert_int_equal(r.status, 415);
        mock_check(m, "adminClockAdvance", &r);
        resp_release(&r);
    }
}

static void test_admin_real_clock_cannot_be_moved(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    m = mock_start(&cfg);
    mock_expect(m, "adminHealth", 200, "GET", "/__hogmock/health", NULL, NULL, &r);
    assert_string_equal(resp_str(&r, "clock"), "real");
    resp_release(&r);
    mock_expect(m, "adminClock", 200, "GET", "/__hogmock/clock", NULL, NULL, &r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "virtual")));
    resp_release(&r);
    mock_expect(m, "adminClockAdvance", 409, "POST", "/__hogmock/clock/advance", NULL,
                "{\"ms\": 10}", &r);
    mock_check_problem(&r, "invalid_state");
    assert_non_null(strstr(resp_str(&r, "detail"), "--clock virtual"));
    resp_release(&r);
    mock_expect(m, "adminClockSet", 409, "POST", "/__hogmock/clock/set", NULL,
                "{\"now_ms\": 4102444800000}", &r);
    assert_non_null(strstr(resp_str(&r, "detail"), "--clock virtual"));
    resp_release(&r);
    mock_stop(m);
}

/* ---- state and reset -------------------------------------------------------------- */

static const cJSON *principal_of(const cJSON *state, const char *id)
{
    const cJSON *p;

    cJSON_ArrayForEach(p, cJSON_GetObjectItem(state, "principals"))
        if (strcmp(str(p, "principal_id"), id) == 0)
            return p;
    return NULL;
}

static void test_admin_state_dumps_boxes_files_and_tokens_without_secrets(void **state)
{
    struct mock *m = *state;
    char *a = mock_new_box(m, "tok_alice"), *b = mock_new_box(m, "tok_bob");
    char target[160];
    const cJSON *st, *alice, *box, *f, *file = NULL;
    struct resp r;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/tmp/x.txt", a);
    mock_call(m, "PUT", target, "tok_alice", "abc", 3, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);

    st = mock_expect(m, "adminState", 200, "GET", "/__hogmock/state", NULL, NULL, &r);
    assert_null(strstr(buf_cstr(&r.body), "tok_"));
    alice = principal_of(st, "pr_alice");
    assert_non_null(alice);
    assert_non_null(principal_of(st, "pr_bob"));
    box = cJSON_GetArrayItem(cJSON_GetObjectItem(alice, "hogboxes"), 0);
    assert_string_equal(str(box, "id"), a);
    assert_string_equal(str(box, "state"), "running");
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(box, "files"))
        if (strcmp(str(f, "path"), "/tmp/x.txt") == 0)
            file = f;
    assert_non_null(file);
    assert_string_equal(str(file, "type"), "file");
    assert_int_equal((int)num(file, "size"), 3);
    assert_string_equal(str(file, "sha256"),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_null(cJSON_GetObjectItem(file, "content"));
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(st, "tokens")) >= 2);
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "tokens"), 0), "source"),
                        "file");
    resp_release(&r);
    free(a);
    free(b);
}

static void test_admin_reset_of_one_principal_keeps_the_others(void **state)
{
    struct mock *m = *state;
    char *a = mock_new_box(m, "tok_alice"), *b = mock_new_box(m, "tok_bob");
    char target[128];
    struct resp r;

    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL,
                "{\"principal_id\": \"pr_alice\"}", &r);
    assert_string_equal(resp_str(&r, "scope"), "principal");
    assert_string_equal(resp_str(&r, "principal_id"), "pr_alice");
    assert_int_equal((int)num(cJSON_GetObjectItem(r.json, "removed"), "hogboxes"), 1);
    assert_true(num(cJSON_GetObjectItem(r.json, "removed"), "files") > 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "journal_cleared")));
    resp_release(&r);

    snprintf(target, sizeof(target), "/v1/hogboxes/%s", a);
    mock_call(m, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", b);
    mock_expect(m, "getHogbox", 200, "GET", target, "tok_bob", NULL, &r);
    resp_release(&r);
    assert_true(journal_count_reaches(m, "/__hogmock/journal/count?op=createHogbox", 2) == 2);
    free(a);
    free(b);
}

static void test_admin_reset_of_everything_clears_journal_programs_and_services(void **state)
{
    struct mock *m = *state;
    char *a = mock_new_box(m, "tok_alice");
    struct resp r;

    mock_expect(m, "adminAddProgram", 201, "POST", "/__hogmock/exec-programs", NULL,
                "{\"argv\":[\"x\"],\"events\":[{\"exit\":0}]}", &r);
    resp_release(&r);
    mock_expect(m, "adminSetService", 200, "PUT", "/__hogmock/services", NULL,
                "{\"box\":\"*\",\"port\":3000}", &r);
    resp_release(&r);
    assert_int_equal(journal_count_reaches(m, "/__hogmock/journal/count?op=createHogbox", 1), 1);

    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL, NULL, &r);
    assert_string_equal(resp_str(&r, "scope"), "all");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "principal_id")));
    assert_int_equal((int)num(cJSON_GetObjectItem(r.json, "removed"), "hogboxes"), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "journal_cleared")));
    resp_release(&r);

    mock_expect(m, "adminJournalCount", 200, "GET", "/__hogmock/journal/count?op=createHogbox",
                NULL, NULL, &r);
    assert_int_equal((int)num(r.json, "count"), 0);
    resp_release(&r);
    mock_expect(m, "adminListPrograms", 200, "GET", "/__hogmock/exec-programs", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0);
    resp_release(&r);
    mock_expect(m, "adminListServices", 200, "GET", "/__hogmock/services", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0);
    resp_release(&r);
    mock_expect(m, "adminState", 200, "GET", "/__hogmock/state", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "principals")), 0);
    resp_release(&r);
    /* Tokens stay unless asked. */
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminReset", 422, "POST", "/__hogmock/reset", NULL, "{\"everything\": true}",
                &r);
    resp_release(&r);
    free(a);
}

/* ---- journal ---------------------------------------------------------------------- */

static void test_admin_journal_filters_and_pages(void **state)
{
    struct mock *m = *state;
    const cJSON *page, *items, *e;
    double last;
    struct resp r;

    mock_expect(m, "adminReset", 200, "POST", "/__hogmock/reset", NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    resp_release(&r);
    mock_expect(m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
    resp_release(&r);
    mock_call(m, "GET", "/v1/me", NULL, NULL, 0, NULL, &r);
    resp_release(&r);
    mock_expect(m, "getLimits", 200, "GET", "/v1/limits", "tok_bob", NULL, &r);
    resp_release(&r);
    assert_int_equal(journal_count_reaches(m, "/__hogmock/journal/count?path=/v1/*", 5), 5);

    page = mock_expect(m, "adminJournal", 200, "GET",
                       "/__hogmock/journal?op=getMe&principal=pr_alice", NULL, NULL, &r);
    assert_int_equal((int)num(page, "total"), 2);
    items = cJSON_GetObjectItem(page, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_true(num(cJSON_GetArrayItem(items, 0), "seq") < num(cJSON_GetArrayItem(items, 1), "seq"));
    assert_string_equal(str(cJSON_GetArrayItem(items, 0), "auth_path"), "api_token");
    assert_string_equal(str(cJSON_GetArrayItem(items, 0), "op"), "getMe");
    resp_release(&r);

    page = mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?status=401", NULL, NULL,
                       &r);
    assert_int_equal((int)num(page, "total"), 1);
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(page, "items"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "principal_id")));
    resp_release(&r);

    assert_int_equal(journal_count_reaches(m, "/__hogmock/journal/count?path=/v1/me", 4), 4);
    assert_int_equal(journal_count_reaches(m, "/__hogmock/journal/count?method=get&op=getLimits",
                                           1), 1);
    assert_int_equal(journal_count_reaches(m, "/__hogmock/journal/count?path=/v1/%5Bl%5Dimits",
                                           1), 1);

    /* Paging: limit 2, then since the last seq. */
    page = mock_expect(m, "adminJournal", 200, "GET", "/__hogmock/journal?path=/v1/*&limit=2",
                       NULL, NULL, &r);
    assert_int_equal((int)num(page, "total"), 5);
    items = cJSON_GetObjectItem(page, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    last = num(cJSON_GetArrayItem(items, 1), "seq");
    resp_release(&r);
    {
        char target[128];

        snprintf(target, sizeof(target), "/__hogmock/journal?path=/v1/*&limit=2&since=%.0f", last);
        page = mock_expect(m, "adminJournal", 200, "GET", target, NULL, NULL, &r);
        assert_int_equal((int)num(page, "total"), 3);
        assert_true(num(cJSON_GetArrayItem(cJSON_GetObjectItem(page, "items"), 0), "seq") > last);
        resp_release(&r);
    }

    mock_expect(m, "adminJournal", 400, "GET", "/__hogmock/journal?limit=5000", NULL, NULL, &r);
    mock_check_problem(&r, "invalid_parameter");
    resp_release(&r);
    mock_expect(m, "adminJournal", 400, "GET", "/__hogmock/journal?status=teapot", NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminJournalCount", 400, "GET", "/__hogmock/journal/count?since=-1", NULL,
                NULL, &r);
    resp_release(&r);
}

/* ---- exec programs ---------------------------------------------------------------- */

static void test_admin_programs_are_added_listed_deleted_and_cleared(void **state)
{
    struct mock *m = *state;
    const cJSON *list, *p, *ev;
    char *id, target[128];
    struct resp r;

    mock_expect(m, "adminAddProgram", 201, "POST", "/__hogmock/exec-programs", NULL,
                "{\"argv\":[\"mytool\",\"--flag\"],\"match\":\"exact\",\"events\":"
                "[{\"stdout\":\"a\\n\",\"after_ms\":100},{\"stderr\":\"b\\n\"},{\"exit\":3}]}", &r);
    id = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    list = mock_expect(m, "adminListPrograms", 200, "GET", "/__hogmock/exec-programs", NULL,
                       NULL, &r);
    list = cJSON_GetObjectItem(list, "items");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    p = cJSON_GetArrayItem(list, 0);
    assert_string_equal(str(p, "id"), id);
    assert_string_equal(str(p, "match"), "exact");
    ev = cJSON_GetObjectItem(p, "events");
    assert_int_equal(cJSON_GetArraySize(ev), 3);
    assert_string_equal(str(cJSON_GetArrayItem(ev, 0), "stdout"), "a\n");
    assert_int_equal((int)num(cJSON_GetArrayItem(ev, 0), "after_ms"), 100);
    assert_int_equal((int)num(cJSON_GetArrayItem(ev, 2), "exit"), 3);
    resp_release(&r);

    snprintf(target, sizeof(target), "/__hogmock/exec-programs/%s", id);
    mock_expect(m, "adminDeleteProgram", 204, "DELETE", target, NULL, NULL, &r);
    resp_release(&r);
    mock_expect(m, "adminDeleteProgram", 404, "DELETE", target, NULL, NULL, &r);
    mock_check_problem(&r, "not_found");
    resp_release(&r);

    mock_expect(m, "adminAddProgram", 201, "POST", "/__hogmock/exec-programs", NULL,
                "{\"argv\":[\"a\"],\"match\":\"prefix\",\"events\":[{\"exit\":0}]}", &r);
    resp_release(&r);
    mock_expect(m, "adminAddProgram", 201, "POST", "/__hogmock/exec-programs", NULL,
                "{\"argv\":[\"b\"],\"events\":[{\"exit\":1,\"after_ms\":5}]}", &r);
    resp_release(&r);
    mock_expect(m, "adminClearPrograms", 204, "DELETE", "/__hogmock/exec-programs", NULL, NULL,
                &r);
    resp_release(&r);
    list = mock_expect(m, "adminListPrograms", 200, "GET", "/__hogmock/exec-programs", NULL,
                       NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 0);
    resp_release(&r);
    free(id);
}

static void test_admin_programs_refuse_bad_definitions(void **state)
{
    static const struct {
        const char *body, *pointer;
    } cases[] = {
        { "{\"argv\":[\"t\"],\"events\":[{\"exit\":0},{\"stdout\":\"x\"}]}", "/events/0" },
        { "{\"argv\":[\"t\"],\"events\":[{\"stdout\":\"x\"}]}", "/events" },
        { "{\"argv\":[\"t\"],\"events\":[{\"exit\":0},{\"exit\":1}]}", "/events/0" },
        { "{\"argv\":[\"t\"],\"events\":[{\"stdout\":\"x\",\"exit\":0}]}", NULL },
        { "{\"argv\":[\"t\"],\"events\":[{\"exit\":0,\"after_ms\":3600001}]}", NULL },
        { "{\"argv\":[\"t\"],\"events\":[{\"exit\":256}]}", NULL },
        { "{\"argv\":[],\"events\":[{\"exit\":0}]}", NULL },
        { "{\"argv\":[\"\"],\"events\":[{\"exit\":0}]}", "/argv/0" },
        { "{\"argv\":[\"t\"],\"events\":[]}", NULL },
        { "{\"argv\":[\"t\"],\"match\":\"regex\",\"events\":[{\"exit\":0}]}", NULL },
        { "{\"argv\":[\"t\"],\"events\":[{\"exit\":0}],\"shell\":true}", NULL },
        { "{\"argv\":[\"t\"],\"events\":[{\"stdout\":1},{\"exit\":0}]}", NULL },
        { "{\"argv\":[\"t\"],\"events\":[{\"exit\":0,\"after_ms\":-1}]}", NULL },
    };
    struct mock *m = *state;
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cJSON *errors, *e;
        int found = 0;

        mock_expect(m, "adminAddProgram", 422, "POST", "/__hogmock/exec-programs", NULL,
                    cases[i].body, &r);
        mock_check_problem(&r, "validation_failed");
        errors = cJSON_GetObjectItem(r.json, "errors");
        assert_true(cJSON_GetArraySize(errors) >= 1);
        cJSON_ArrayForEach(e, errors)
            found += !cases[i].pointer || strcmp(str(e, "pointer"), cases[i].pointer) == 0;
        if (!found)
            fail_msg("case %zu: no error at %s: %s", i, cases[i].pointer, buf_cstr(&r.body));
        resp_release(&r);
    }
    mock_expect(m, "adminListPrograms", 200, "GET", "/__hogmock/exec-programs", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 0);
    resp_release(&r);
}

static struct program *match(struct programs *p, const char *a, const char *b, const char *c)
{
    const char *argv[3] = { a, b, c };
    size_t n = c ? 3 : b ? 2 : 1;

    return programs_match(p, argv, n);
}

static char *add(struct programs *p, const char *json)
{
    cJSON *def = cJSON_Parse(json);
    struct buf err = BUF_INIT;
    char *id = NULL;

    assert_non_null(def);
    if (programs_add(p, def, &id, &err) != RC_OK)
        fail_msg("%s: %s", json, buf_cstr(&err));
    cJSON_Delete(def);
    buf_release(&err);
    return id;
}

static int exit_of(struct program *prog)
{
    int code;

    assert_non_null(prog);
    code = prog->events[prog->nevents - 1].exit_code;
    program_free(prog);
    return code;
}

static void test_programs_prefer_exact_then_longest_prefix_then_latest(void **state)
{
    struct programs *p = programs_new();
    char *ids[5];
    struct program *prog;
    size_t i;

    (void)state;
    xmalloc_init_cjson();
    ids[0] = add(p, "{\"argv\":[\"git\"],\"match\":\"prefix\",\"events\":[{\"exit\":1}]}");
    ids[1] = add(p, "{\"argv\":[\"git\",\"status\"],\"match\":\"prefix\",\"events\":[{\"exit\":2}]}");
    ids[2] = add(p, "{\"argv\":[\"git\",\"status\"],\"events\":[{\"exit\":3}]}");
    ids[3] = add(p, "{\"argv\":[\"git\",\"status\"],\"events\":[{\"exit\":4}]}");
    ids[4] = add(p, "{\"argv\":[\"ls\"],\"events\":[{\"stdout\":\"x\\n\",\"after_ms\":7},"
                    "{\"exit\":0}]}");
    assert_int_equal(exit_of(match(p, "git", "status", NULL)), 4);
    assert_int_equal(exit_of(match(p, "git", "status", "-s")), 2);
    assert_int_equal(exit_of(match(p, "git", "log", NULL)), 1);
    assert_int_equal(exit_of(match(p, "git", NULL, NULL)), 1);
    assert_null(match(p, "ls", "-l", NULL));
    assert_null(match(p, "gi", NULL, NULL));
    /* A match is a copy: it outlives the program's deletion. */
    prog = match(p, "ls", NULL, NULL);
    assert_int_equal(programs_delete(p, ids[4]), RC_OK);
    assert_int_equal(programs_delete(p, ids[4]), RC_NOT_FOUND);
    assert_int_equal(prog->nevents, 2);
    assert_int_equal(prog->events[0].fd, 1);
    assert_int_equal(prog->events[0].after_ms, 7);
    assert_memory_equal(prog->events[0].data, "x\n", 2);
    assert_int_equal(prog->events[0].len, 2);
    assert_int_equal(prog->events[1].fd, 0);
    program_free(prog);
    program_free(NULL);
    assert_int_equal(programs_delete(p, ids[3]), RC_OK);
    assert_int_equal(exit_of(match(p, "git", "status", NULL)), 3);
    for (i = 0; i < 5; i++)
        free(ids[i]);
    programs_free(p);
    programs_free(NULL);
}

/* ---- services --------------------------------------------------------------------- */

static void test_admin_services_are_set_listed_and_cleared(void **state)
{
    struct mock *m = *state;
    const cJSON *s;
    struct resp r;

    s = mock_expect(m, "adminSetService", 200, "PUT", "/__hogmock/services", NULL,
                    "{\"box\":\"hb_1\",\"port\":8080,\"path\":\"/health\",\"status\":503,"
                    "\"body\":\"starting\"}", &r);
    assert_string_equal(str(s, "box"), "hb_1");
    assert_int_equal((int)num(s, "status"), 503);
    assert_int_equal((int)num(s, "delay_ms"), 0);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(s, "headers")));
    resp_release(&r);
    s = mock_expect(m, "adminSetServicePost", 200, "POST", "/__hogmock/services", NULL,
                    "{\"box\":\"*\",\"port\":3000,\"headers\":{\"Content-Type\":\"text/plain\"},"
                    "\"body\":\"hello\\n\",\"delay_ms\":20}", &r);
    assert_string_equal(str(s, "path"), "/");
    assert_int_equal((int)num(s, "status"), 200);
    resp_release(&r);
    /* The same box, port and path: replaced, not added. */
    mock_expect(m, "adminSetService", 200, "PUT", "/__hogmock/services", NULL,
                "{\"box\":\"hb_1\",\"port\":8080,\"path\":\"/health\",\"status\":200}", &r);
    resp_release(&r);
    s = mock_expect(m, "adminListServices", 200, "GET", "/__hogmock/services", NULL, NULL, &r);
    s = cJSON_GetObjectItem(s, "items");
    assert_int_equal(cJSON_GetArraySize(s), 2);
    assert_int_equal((int)num(cJSON_GetArrayItem(s, 0), "status"), 200);
    resp_release(&r);

    mock_expect(m, "adminSetService", 422, "PUT", "/__hogmock/services", NULL,
                "{\"box\":\"hb_1\",\"port\":0}", &r);
    mock_check_problem(&r, "validation_failed");
    resp_release(&r);
    mock_expect(m, "adminSetService", 422, "PUT", "/__hogmock/services", NULL,
                "{\"box\":\"hb_1\",\"port\":80,\"path\":\"api\"}", &r);
    resp_release(&r);
    mock_expect(m, "adminSetService", 422, "PUT", "/__hogmock/services", NULL,
                "{\"box\":\"hb_1\",\"port\":80,\"headers\":{\"Bad Name\":\"x\"}}", &r);
    resp_release(&r);
    mock_expect(m, "adminSetService", 422, "PUT", "/__hogmock/services", NULL,
                "{\"box\":\"hb_1\",\"port\":80,\"headers\":{\"X\":\"a\\r\\nInjected: 1\"}}", &r);
    resp_release(&r);
    mock_expect(m, "adminSetService", 422, "PUT", "/__hogmock/services", NULL,
                "{\"port\":80}", &r);
    resp_release(&r);

    mock_expect(m, "adminClearServices", 204, "DELETE", "/__hogmock/services", NULL, NULL, &r);
    resp_release(&r);
    s = mock_expect(m, "adminListServices", 200, "GET", "/__hogmock/services", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "items")), 0);
    resp_release(&r);
}

static void set_service(struct services *s, const char *json)
{
    cJSON *def = cJSON_Parse(json);
    struct buf err = BUF_INIT;

    assert_non_null(def);
    if (services_set(s, def, 0, &err) != RC_OK)
        fail_msg("%s: %s", json, buf_cstr(&err));
    cJSON_Delete(def);
    buf_release(&err);
}

/* The status box:port answers for path, or 0 when nothing listens (yet). */
static int answer(struct services *s, const char *box, int port, const char *path)
{
    cJSON *def;
    int status = services_lookup(s, box, port, path, 0, &def) == SERVICE_READY
                 ? (int)num(def, "status") : 0;

    cJSON_Delete(def);
    return status;
}

static void test_services_prefer_the_box_then_the_longest_path(void **state)
{
    struct services *s = services_new();
    cJSON *def;

    (void)state;
    xmalloc_init_cjson();
    /* The default: the agent server's health check. */
    assert_int_equal(services_lookup(s, "hb_1", 8080, "/health", 0, &def), SERVICE_READY);
    assert_non_null(def);
    assert_int_equal((int)num(def, "status"), 200);
    assert_string_equal(str(def, "body"), "{\"status\":\"ok\"}");
    cJSON_Delete(def);
    assert_int_equal(answer(s, "hb_1", 8080, "/health?verbose=1"), 200);
    /* Other paths: the agent server's own 404. */
    assert_int_equal(answer(s, "hb_1", 8080, "/other"), 404);
    assert_int_equal(answer(s, "hb_1", 9090, "/health"), 0);

    set_service(s, "{\"box\":\"*\",\"port\":3000,\"status\":201}");
    set_service(s, "{\"box\":\"*\",\"port\":3000,\"path\":\"/api\",\"status\":202}");
    set_service(s, "{\"box\":\"hb_1\",\"port\":3000,\"status\":203}");
    set_service(s, "{\"box\":\"*\",\"port\":8080,\"path\":\"/\",\"status\":503}");
    assert_int_equal(answer(s, "hb_2", 3000, "/"), 201);
    assert_int_equal(answer(s, "hb_2", 3000, "/api"), 202);
    assert_int_equal(answer(s, "hb_2", 3000, "/api/v1?x=1"), 202);
    assert_int_equal(answer(s, "hb_2", 3000, "/apix"), 201);
    assert_int_equal(answer(s, "hb_1", 3000, "/api"), 203);
    assert_int_equal(answer(s, "hb_1", 8080, "/health"), 503);
    services_clear(s);
    assert_int_equal(answer(s, "hb_1", 3000, "/"), 0);
    assert_int_equal(answer(s, "hb_1", 8080, "/health"), 200);
    services_free(s);
    services_free(NULL);
}

/* ---- access ------------------------------------------------------------------------ */

static void test_admin_unknown_routes_are_problems(void **state)
{
    struct mock *m = *state;
    struct resp r;

    mock_call(m, "GET", "/__hogmock/nothing", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    mock_check_problem(&r, "not_found");
    resp_release(&r);
    mock_call(m, "PATCH", "/__hogmock/clock", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 405);
    mock_check_problem(&r, "method_not_allowed");
    assert_non_null(resp_header(&r, "Allow"));
    resp_release(&r);
}

static void test_admin_wants_the_admin_token_when_configured(void **state)
{
    static const char *const good[] = { "X-Hogmock-Admin-Token: s3cret-admin-token", NULL };
    static const char *const bad[] = { "X-Hogmock-Admin-Token: guess", NULL };
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;

    (void)state;
    mock_default_config(&cfg);
    cfg.admin_token = "s3cret-admin-token";
    m = mock_start(&cfg);
    mock_call(m, "GET", "/__hogmock/health", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 403);
    mock_check(m, "adminHealth", &r);
    mock_check_problem(&r, "forbidden");
    resp_release(&r);
    mock_call(m, "GET", "/__hogmock/health", NULL, NULL, 0, bad, &r);
    assert_int_equal(r.status, 403);
    resp_release(&r);
    mock_call(m, "GET", "/__hogmock/health", NULL, NULL, 0, good, &r);
    assert_int_equal(r.status, 200);
    mock_check(m, "adminHealth", &r);
    resp_release(&r);
    mock_call(m, "GET", "/__hogmock/journal?limit=1000", NULL, NULL, 0, good, &r);
    assert_int_equal(r.status, 200);
    mock_check(m, "adminJournal", &r);
    assert_null(strstr(buf_cstr(&r.body), "s3cret-admin-token"));
    assert_non_null(strstr(buf_cstr(&r.body), "x-hogmock-admin-token\":\"fp_"));
    resp_release(&r);
    mock_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_admin_health_says_ok_and_which_clock, mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_admin_clock_reads_advances_and_sets, mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_admin_clock_refuses_bad_bodies, mock_setup, mock_teardown),
        cmocka_unit_test(test_admin_real_clock_cannot_be_moved),
        cmocka_unit_test_setup_teardown(
            test_admin_state_dumps_boxes_files_and_tokens_without_secrets, mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_admin_reset_of_one_principal_keeps_the_others, mock_setup,
                                        mock_teardown),
        cmocka_unit_test_setup_teardown(
            test_admin_reset_of_everything_clears_journal_programs_and_services, mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_admin_journal_filters_and_pages, mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_admin_programs_are_added_listed_deleted_and_cleared,
                                        mock_setup, mock_teardown),
        cmocka_unit_test_setup_teardown(test_admin_programs_refuse_bad_definitions, mock_setup,
                                        mock_teardown),
        cmocka_unit_test(test_programs_prefer_exact_then_longest_prefix_then_latest),
        cmocka_unit_test_setup_teardown(test_admin_services_are_set_listed_and_cleared, mock_setup,
                                        mock_teardown),
        cmocka_unit_test(test_services_prefer_the_box_then_the_longest_path),
        cmocka_unit_test_setup_teardown(test_admin_unknown_routes_are_problems, mock_setup, mock_teardown),
        cmocka_unit_test(test_admin_wants_the_admin_token_when_configured),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
