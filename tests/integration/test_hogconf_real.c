/* Integration tests for `hogconf run --target real`: a hogmock child stands in for the real
 * host, hogconf puts its own hogmock in proxy mode in front of it, and the upstream's
 * journal and state show what went over the wire and which boxes were left behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "bundle.h"
#include "harness.h"
#include "xmalloc.h"

/* Sanitized binaries start and stop several times slower; bounds scale with this. */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 4
#else
#define SLOW 1
#endif

#define RUN_LIMIT_MS (60000L * SLOW)
#define TOKEN "tok_alice"               /* fixtures/auth/tokens.yaml: pr_alice */
#define RUN_ID "rcafe"

struct fixture {
    char dir[64];
    char exe[PATH_MAX];     /* build[/san]/bin/hogconf */
    pid_t up_pid;           /* the upstream: hogmock standing in for the real host */
    struct mock up;         /* its URL, for the harness's calls (no in-process hogmock) */
    struct buf out;         /* what the last hogconf printed, stdout and stderr */
};

static void slurp(const char *path, struct buf *out)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    buf_reset(out);
    if (!f)
        return;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    fclose(f);
}

/* Write text to dir/rel, making its directories. */
static void put(struct fixture *fx, const char *rel, const char *text)
{
    char path[PATH_MAX], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", fx->dir, rel);
    for (slash = strchr(path + strlen(fx->dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Wait up to ms for pid to exit; its wait status, or -1 when it is still running. */
static int wait_bounded(pid_t pid, long ms)
{
    struct timespec t0;
    int status;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return -1;
        if (mock_ms_since(&t0) > ms)
            return -1;
        mock_pause_ms(10);
    }
}

/* Start the upstream: the hogmock binary on a free port of 127.0.0.1 with the test tokens
 * and room for more boxes than one page lists, on the real clock as a host is. */
static bool start_upstream(struct fixture *fx)
{
    char exe[PATH_MAX], ready[PATH_MAX], limits[PATH_MAX], log[PATH_MAX];
    struct buf tokens = BUF_INIT;
    struct timespec t0;

    if (!mock_binary(exe, sizeof(exe))) {
        fprintf(stderr, "test_hogconf_real: no hogmock binary at '%s'\n", exe);
        return false;
    }
    snprintf(ready, sizeof(ready), "%s/upstream.ready", fx->dir);
    snprintf(limits, sizeof(limits), "%s/limits.json", fx->dir);
    snprintf(log, sizeof(log), "%s/upstream.log", fx->dir);
    put(fx, "limits.json", "{\"max_hogboxes\": 200}\n");
    bundle_path("fixtures/auth/tokens.yaml", &tokens);
    fflush(NULL);
    fx->up_pid = fork();
    if (fx->up_pid < 0) {
        buf_release(&tokens);
        return false;
    }
    if (fx->up_pid == 0) {
        int null = open("/dev/null", O_RDONLY), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (null < 0 || fd < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execl(exe, exe, "--listen", "127.0.0.1:0", "--ready-file", ready, "--tokens",
              buf_cstr(&tokens), "--limits", limits, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    buf_release(&tokens);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        FILE *f = fopen(ready, "r");

        if (f) {
            bool ok = fgets(fx->up.url, (int)sizeof(fx->up.url), f) && strchr(fx->up.url, '\n');

            fclose(f);
            if (ok) {
                fx->up.url[strcspn(fx->up.url, "\n")] = '\0';
                return true;
            }
        }
        if (mock_ms_since(&t0) > 10000L * SLOW || wait_bounded(fx->up_pid, 0) != -1) {
            fprintf(stderr, "test_hogconf_real: the upstream hogmock did not start (see %s)\n",
                    log);
            kill(fx->up_pid, SIGKILL);
            waitpid(fx->up_pid, NULL, 0);
            fx->up_pid = 0;
            return false;
        }
        mock_pause_ms(5);
    }
}

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    ssize_t n = readlink("/proc/self/exe", fx->exe, sizeof(fx->exe) - 1);
    char *slash;

    if (n <= 0)
        goto fail;
    fx->exe[n] = '\0';
    slash = strrchr(fx->exe, '/');
    if (!slash)
        goto fail;
    /* build[/san]/tests/integration/X -> build[/san]/bin/hogconf */
    snprintf(slash, sizeof(fx->exe) - (size_t)(slash - fx->exe), "/../../bin/hogconf");
    if (access(fx->exe, X_OK) != 0) {
        fprintf(stderr, "test_hogconf_real: no hogconf binary at '%s'\n", fx->exe);
        goto fail;
    }
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_hogconf_real.XXXXXX");
    if (!mkdtemp(fx->dir))
        goto fail;
    if (!start_upstream(fx)) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_hogconf_real: unable to remove '%s'\n", fx->dir);
        goto fail;
    }
    *state = fx;
    return 0;
fail:
    free(fx);
    return -1;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    int status = -1, ok;

    /* The upstream drains and exits 0 (under the sanitizers: with nothing to say). */
    if (fx->up_pid > 0) {
        kill(fx->up_pid, SIGTERM);
        status = wait_bounded(fx->up_pid, 10000L * SLOW);
        if (status == -1) {
            kill(fx->up_pid, SIGKILL);
            waitpid(fx->up_pid, NULL, 0);
        }
    }
    ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
        snprintf(cmd, sizeof(cmd), "%s/upstream.log", fx->dir);
        slurp(cmd, &fx->out);
        fprintf(stderr, "test_hogconf_real: the upstream hogmock did not exit 0 (status %d):\n%s\n",
                status, buf_cstr(&fx->out));
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    buf_release(&fx->out);
    free(fx);
    return system(cmd) == 0 && ok ? 0 : -1;
}

/* Start hogconf run --target real against the upstream with args (NULL-terminated) after
 * the target options; its output goes to dir/out.txt. Its pid. */
static pid_t hogconf_start(struct fixture *fx, va_list ap)
{
    const char *argv[40];
    char out[PATH_MAX];
    int n = 0;
    pid_t pid;

    argv[n++] = fx->exe;
    argv[n++] = "run";
    argv[n++] = "--target";
    argv[n++] = "real";
    argv[n++] = "--host";
    argv[n++] = fx->up.url;
    argv[n++] = "--run-id";
    argv[n++] = RUN_ID;
    while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    argv[n] = NULL;
    snprintf(out, sizeof(out), "%s/out.txt", fx->dir);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(out, "w", stdout);

        if (!f || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
            _exit(99);
        execv(argv[0], (char *const *)argv);
        _exit(98);
    }
    return pid;
}

/* Wait up to ms for hogconf to end, read its output into fx->out; its exit status. */
static int hogconf_wait(struct fixture *fx, pid_t pid, long ms)
{
    char out[PATH_MAX];
    int status = wait_bounded(pid, ms);

    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("hogconf did not finish within %ld ms", ms);
    }
    snprintf(out, sizeof(out), "%s/out.txt", fx->dir);
    slurp(out, &fx->out);
    if (getenv("TEST_HOGCONF_VERBOSE"))
        fprintf(stderr, "---- hogconf output:\n%s----\n", buf_cstr(&fx->out));
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Run hogconf to its end (see hogconf_start); its exit status. */
static int hogconf(struct fixture *fx, ...)
{
    va_list ap;
    pid_t pid;

    va_start(ap, fx);
    pid = hogconf_start(fx, ap);
    va_end(ap);
    return hogconf_wait(fx, pid, RUN_LIMIT_MS);
}

static pid_t hogconf_spawn(struct fixture *fx, ...)
{
    va_list ap;
    pid_t pid;

    va_start(ap, fx);
    pid = hogconf_start(fx, ap);
    va_end(ap);
    return pid;
}

static bool has(struct fixture *fx, const char *needle)
{
    if (strstr(buf_cstr(&fx->out), needle))
        return true;
    fprintf(stderr, "test_hogconf_real: '%s' not in the output:\n%s\n", needle, buf_cstr(&fx->out));
    return false;
}

/* The output's last line. */
static const char *last_line(struct fixture *fx, char *line, size_t size)
{
    const char *s = buf_cstr(&fx->out);
    size_t len = strlen(s);
    const char *start;

    while (len && s[len - 1] == '\n')
        len--;
    start = s + len;
    while (start > s && start[-1] != '\n')
        start--;
    snprintf(line, size, "%.*s", (int)(s + len - start), start);
    return line;
}

/* How many of pr_alice's boxes on the upstream carry the label hogconf-run with value run
 * (any value when run is NULL), asked of the upstream directly, every page. */
static int labelled_boxes(struct fixture *fx, const char *run)
{
    char target[768];
    char *cursor = NULL;
    int count = 0, page;

    for (page = 0; page < 100; page++) {
        struct resp r;
        const cJSON *item, *next;

        snprintf(target, sizeof(target), "/v1/hogboxes?limit=100%s%s", cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        mock_call(&fx->up, "GET", target, TOKEN, NULL, 0, NULL, &r);
        assert_int_equal(r.status, 200);
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r.json, "items")) {
            const cJSON *labels = cJSON_GetObjectItemCaseSensitive(item, "labels");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, "hogconf-run");

            count += cJSON_IsString(v) && (!run || strcmp(v->valuestring, run) == 0);
        }
        next = cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor");
        free(cursor);
        cursor = cJSON_IsString(next) ? xstrdup(next->valuestring) : NULL;
        resp_release(&r);
        if (!cursor)
            break;
    }
    assert_null(cursor);
    return count;
}

/* The upstream's journal entries (up to 1000) with query q ("op=createHogbox"); new
 * (caller cJSON_Delete). */
static cJSON *journal(struct fixture *fx, const char *q)
{
    char target[256];
    struct resp r;
    cJSON *items;

    snprintf(target, sizeof(target), "/__hogmock/journal?limit=1000&%s", q);
    mock_call(&fx->up, "GET", target, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    items = cJSON_DetachItemFromObjectCaseSensitive(r.json, "items");
    resp_release(&r);
    assert_non_null(items);
    return items;
}

/* A box made on the upstream directly, labelled hogconf-run=run (none when NULL). */
static void upstream_box(struct fixture *fx, const char *run)
{
    char body[128];
    struct resp r;

    if (run)
        snprintf(body, sizeof(body),
                 "{\"cpus\":1,\"memory_mib\":256,\"labels\":{\"hogconf-run\":\"%s\"}}", run);
    else
        snprintf(body, sizeof(body), "{\"cpus\":1,\"memory_mib\":256}");
    mock_json(&fx->up, "POST", "/v1/hogboxes", TOKEN, body, &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);
}

static void test_a_real_run_goes_through_the_proxy_and_leaves_no_box(void **state)
{
    struct fixture *fx = *state;
    char line[256];
    cJSON *creates, *me;
    const cJSON *e;
    int n = 0;

    assert_int_equal(hogconf(fx, "--token", TOKEN,
                             "--scenario", "lifecycle/create-get-destroy",
                             "--scenario", "lifecycle/pause-resume",
                             "--scenario", "lifecycle/list-pages",
                             "--scenario", "lifecycle/other-principal-404", NULL), 0);
    assert_true(has(fx, "target real"));
    assert_true(has(fx, ", 1 job\n"));     /* the real target runs them one at a time */
    assert_true(has(fx, "PASS lifecycle/create-get-destroy ("));
    assert_true(has(fx, "PASS lifecycle/pause-resume ("));
    assert_true(has(fx, "PASS lifecycle/list-pages ("));
    /* A mock-only scenario is skipped, with the reason. */
    assert_true(has(fx, "SKIP lifecycle/other-principal-404 ("));
    assert_true(has(fx, "not for the real target"));
    assert_true(has(fx, ", target real, run " RUN_ID ","));
    /* The scenarios destroy what they make: nothing was left to sweep. */
    assert_null(strstr(buf_cstr(&fx->out), "left by this run"));
    assert_null(strstr(buf_cstr(&fx->out), "warning"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "3 passed, 0 failed, 1 skipped");

    /* The upstream saw the client's own requests, every create labelled with the run. */
    creates = journal(fx, "op=createHogbox");
    cJSON_ArrayForEach(e, creates) {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(e, "body");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(body, "json"), "labels");
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(labels, "hogconf-run");
        const cJSON *ua = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e, "headers"), "user-agent");

        assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "principal_id")->valuestring,
                            "pr_alice");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(e, "status")->valueint, 201);
        assert_true(cJSON_IsString(run));
        assert_string_equal(run->valuestring, RUN_ID);
        assert_true(cJSON_IsString(ua) && str_startswith(ua->valuestring, "libhogclient/"));
        n++;
    }
    assert_int_equal(n, 1 + 1 + 3);     /* create-get-destroy, pause-resume, list-pages */
    cJSON_Delete(creates);
    me = journal(fx, "op=getMe");
    assert_true(cJSON_GetArraySize(me) >= 1);
    cJSON_Delete(me);
    assert_int_equal(labelled_boxes(fx, NULL), 0);
}

static const char fails_midway_yaml[] =
    "id: real/fails-midway\n"
    "title: a box is made, then an expectation fails before its destroy\n"
    "targets: [real]\n"
    "steps:\n"
    "  - op: create\n"
    "    args: {cpus: 1, memory_mib: 256}\n"
    "    save: box\n"
    "  - op: get\n"
    "    args: {box: \"${box.id}\"}\n"
    "    expect: {value: {state: paused}}\n"
    "  - op: destroy\n"
    "    args: {box: \"${box.id}\"}\n";

static void test_a_scenario_failing_midway_has_its_box_destroyed(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], tok[PATH_MAX], line[256];
    cJSON *deletes;

    put(fx, "sc/real/fails-midway.yaml", fails_midway_yaml);
    put(fx, "token", TOKEN "\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    snprintf(tok, sizeof(tok), "%s/token", fx->dir);
    assert_int_equal(hogconf(fx, "--token-file", tok, "--scenarios", sc, NULL), 1);
    assert_true(has(fx, "FAIL real/fails-midway ("));
    assert_true(has(fx, "step 2 (get): expectation not met"));
    assert_true(has(fx, "destroyed 1 box left by this run\n"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "0 passed, 1 failed");
    deletes = journal(fx, "op=destroyHogbox&status=204");
    assert_int_equal(cJSON_GetArraySize(deletes), 1);
    cJSON_Delete(deletes);
    assert_int_equal(labelled_boxes(fx, NULL), 0);
}

static void test_the_final_sweep_follows_every_page_and_spares_other_boxes(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], line[256];
    cJSON *lists;
    const cJSON *e;
    struct resp r;
    int i, with_cursor = 0;

    /* Boxes of this run beyond one page (as a run cut short might leave), one of another
     * run, one of nobody's run. */
    for (i = 0; i < 120; i++)
        upstream_box(fx, RUN_ID);
    upstream_box(fx, "rbeef");
    upstream_box(fx, NULL);
    /* The cleanup after the scenario is refused once: only the final sweep is left. */
    mock_json(&fx->up, "POST", "/__hogmock/faults", NULL,
              "{\"match\": {\"op\": \"listHogboxes\"}, \"times\": 1,"
              " \"action\": {\"type\": \"status\", \"status\": 503}}", &r);
    assert_int_equal(r.status, 201);
    resp_release(&r);

    put(fx, "sc/real/leaves-a-box.yaml",
        "id: real/leaves-a-box\n"
        "targets: [real]\n"
        "steps:\n"
        "  - op: create\n"
        "    args: {cpus: 1, memory_mib: 256}\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    assert_int_equal(hogconf(fx, "--token", TOKEN, "--scenarios", sc, NULL), 0);
    assert_true(has(fx, "PASS real/leaves-a-box ("));
    assert_true(has(fx, "destroyed 121 boxes left by this run\n"));
    assert_null(strstr(buf_cstr(&fx->out), "warning"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "1 passed, 0 failed");

    assert_int_equal(labelled_boxes(fx, RUN_ID), 0);
    assert_int_equal(labelled_boxes(fx, "rbeef"), 1);
    mock_call(&fx->up, "GET", "/v1/hogboxes?limit=100", TOKEN, NULL, 0, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
    resp_release(&r);
    /* The sweep asked for the second page with the cursor the first gave. */
    lists = journal(fx, "op=listHogboxes");
    cJSON_ArrayForEach(e, lists) {
        const char *q = cJSON_GetObjectItemCaseSensitive(e, "query")->valuestring;

        if (strstr(q, "label=hogconf-run%3D" RUN_ID) && strstr(q, "cursor="))
            with_cursor++;
    }
    assert_true(with_cursor >= 1);
    cJSON_Delete(lists);
}

static void test_a_sweep_the_host_refuses_ends_in_a_warning(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], line[256], fault[128];
    struct resp r;

    /* Every list refused: neither the cleanup after the scenario nor the sweep can see. */
    mock_json(&fx->up, "POST", "/__hogmock/faults", NULL,
              "{\"match\": {\"op\": \"listHogboxes\"},"
              " \"action\": {\"type\": \"status\", \"status\": 503}}", &r);
    assert_int_equal(r.status, 201);
    snprintf(fault, sizeof(fault), "/__hogmock/faults/%s", resp_str(&r, "id"));
    resp_release(&r);
    put(fx, "sc/real/leaves-a-box.yaml",
        "id: real/leaves-a-box\n"
        "targets: [real]\n"
        "steps:\n"
        "  - op: create\n"
        "    args: {cpus: 1, memory_mib: 256}\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    /* The client passed: the verdict stands, the warning says what may be left. */
    assert_int_equal(hogconf(fx, "--token", TOKEN, "--scenarios", sc, NULL), 0);
    assert_true(has(fx, "hogconf: warning: boxes labelled hogconf-run=" RUN_ID " may remain on "));
    assert_true(has(fx, "answered 503"));
    assert_null(strstr(buf_cstr(&fx->out), "left by this run"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "1 passed, 0 failed");
    mock_call(&fx->up, "DELETE", fault, NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_release(&r);
    assert_int_equal(labelled_boxes(fx, RUN_ID), 1);
}

static void test_ctrl_c_ends_the_run_promptly_and_destroys_its_boxes(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], line[256];
    struct timespec t0;
    pid_t pid;
    long ms;

    put(fx, "sc/real/a-waits.yaml",
        "id: real/a-waits\n"
        "targets: [real]\n"
        "steps:\n"
        "  - op: create\n"
        "    args: {cpus: 1, memory_mib: 256}\n"
        "    save: box\n"
        "  - op: exec_stream\n"
        "    args: {box: \"${box.id}\", argv: [sh, -c, \"sleep 30\"], timeout_seconds: 60}\n"
        "    deadline_ms: 60000\n");
    put(fx, "sc/real/b-after.yaml",
        "id: real/b-after\n"
        "targets: [real]\n"
        "steps:\n"
        "  - op: me\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    pid = hogconf_spawn(fx, "--token", TOKEN, "--scenarios", sc, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (labelled_boxes(fx, RUN_ID) == 0) {
        int status;

        if (waitpid(pid, &status, WNOHANG) == pid) {
            snprintf(sc, sizeof(sc), "%s/out.txt", fx->dir);
            slurp(sc, &fx->out);
            fail_msg("hogconf ended before its box was made:\n%s", buf_cstr(&fx->out));
        }
        if (mock_ms_since(&t0) > 15000L * SLOW) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("no box labelled hogconf-run=%s on the upstream within %ld ms", RUN_ID,
                     15000L * SLOW);
        }
        mock_pause_ms(20);
    }
    mock_pause_ms(200);     /* into the exec */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(kill(pid, SIGINT), 0);
    assert_int_equal(hogconf_wait(fx, pid, 15000L * SLOW), 2);
    ms = mock_ms_since(&t0);
    assert_true(ms < 5000L * SLOW);
    /* The report so far: neither scenario counts, and the box it made is gone. */
    assert_true(has(fx, "interrupted: 2 scenarios not run\n"));
    assert_true(has(fx, "destroyed 1 box left by this run\n"));
    assert_null(strstr(buf_cstr(&fx->out), "warning"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "0 passed, 0 failed");
    assert_int_equal(labelled_boxes(fx, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_real_run_goes_through_the_proxy_and_leaves_no_box,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_scenario_failing_midway_has_its_box_destroyed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_final_sweep_follows_every_page_and_spares_other_boxes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_sweep_the_host_refuses_ends_in_a_warning,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_c_ends_the_run_promptly_and_destroys_its_boxes,
                                        setup, teardown),
    };

    return cmocka_run_group_tests_name("hogconf_real", tests, NULL, NULL);
}
