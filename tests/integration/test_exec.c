/* Integration tests for execHogbox: the emulated commands (compared with this machine's
 * real shell where they do not depend on the box), box files, env and workdir, exit
 * codes, the 1 MiB cap, timeouts on the virtual and on the real clock, scripted programs,
 * UTF-8 repair, and every documented error, each answer checked against the spec. */
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
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

#include "exec.h"
#include "harness.h"
#include "xmalloc.h"

extern char **environ;

static void exec_call(struct mock *m, const char *box, const char *token, const char *json,
                      struct resp *r)
{
    char target[128];

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", box);
    mock_json(m, "POST", target, token, json, r);
    mock_check(m, "execHogbox", r);
}

/* Exec json in box as alice and expect a 200 ExecResult. */
static void exec_ok(struct mock *m, const char *box, const char *json, struct resp *r)
{
    exec_call(m, box, "tok_alice", json, r);
    if (r->status != 200)
        fail_msg("exec %s: status %ld: %s", json, r->status, buf_cstr(&r->body));
}

/* The request body {"argv": [...]} for a NULL-terminated argv (new string). */
static char *argv_json(const char *const *argv)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "argv");
    char *s;

    for (; *argv; argv++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*argv));
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int exit_code(const struct resp *r)
{
    return cJSON_GetObjectItem(r->json, "exit_code")->valueint;
}

static bool flag(const struct resp *r, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(r->json, name));
}

static double duration(const struct resp *r)
{
    return cJSON_GetObjectItem(r->json, "duration_ms")->valuedouble;
}

static void expect_output(const struct resp *r, int code, const char *out, const char *err)
{
    if (exit_code(r) != code || strcmp(resp_str(r, "stdout"), out) != 0
        || strcmp(resp_str(r, "stderr"), err) != 0)
        fail_msg("expected exit %d, stdout '%s', stderr '%s'; got %s", code, out, err,
                 buf_cstr(&r->body));
    assert_false(flag(r, "stdout_truncated"));
    assert_false(flag(r, "stderr_truncated"));
    assert_false(flag(r, "timed_out"));
}

static void expect_problem(const struct resp *r, long status, const char *code)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, buf_cstr(&r->body));
    mock_check_problem(r, code);
}

static void put_file(struct mock *m, const char *box, const char *path, const void *data,
                     size_t len)
{
    char target[512];
    struct resp r;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=%s&mkdir=true", box, path);
    mock_call(m, "PUT", target, "tok_alice", data, len, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- against the real shell ---- */

static void slurp(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    fclose(f);
}

/* Run argv on this machine (PATH lookup, no box) and capture what it prints. */
static int real_run(const char *const *argv, struct buf *out, struct buf *err)
{
    char dir[] = "/tmp/hogexecXXXXXX", opath[64], epath[64];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;

    assert_non_null(mkdtemp(dir));
    snprintf(opath, sizeof(opath), "%s/out", dir);
    snprintf(epath, sizeof(epath), "%s/err", dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    slurp(opath, out);
    slurp(epath, err);
    unlink(opath);
    unlink(epath);
    rmdir(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_exec_prints_what_the_real_shell_prints(void **state)
{
    static const char *const cases[][8] = {
        { "echo", "hello", NULL },
        { "echo", "-n", "a  b", NULL },
        { "echo", "tab\there", "x", NULL },
        { "printf", "%s-%d\\n", "a", "5", NULL },
        { "printf", "[%s]\\n", "a", "b", "c", NULL },
        { "true", NULL },
        { "false", NULL },
        { "seq", "3", NULL },
        { "seq", "2", "5", NULL },
        { "uname", NULL },
        { "sh", "-c", "echo hello; echo oops >&2", NULL },
        { "sh", "-c", "for x in a b c; do echo $x; done", NULL },
        { "sh", "-c", "false || echo rescued && echo again", NULL },
        { "sh", "-c", "true && false; echo $?", NULL },
        { "sh", "-c", "echo $(seq 1 3)", NULL },
        { "sh", "-c", "for i in $(seq 1 3); do printf '%s,' $i; done; echo", NULL },
        { "sh", "-c", "exit 3", NULL },
        { "sh", "-c", "nosuch", NULL },
        { "sh", "-c", "echo before; nosuch arg; echo after $?", NULL },
        { "bash", "-c", "nosuch", NULL },
        { "bash", "-c", "echo hi >&2; exit 7", NULL },
    };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf out = BUF_INIT, err = BUF_INIT;
        char *json = argv_json(cases[i]);
        int code = real_run(cases[i], &out, &err);
        struct resp r;

        exec_ok(m, box, json, &r);
        /* No NUL in these outputs, so the JSON strings hold all of it. */
        if (exit_code(&r) != code || strcmp(resp_str(&r, "stdout"), buf_cstr(&out)) != 0
            || strcmp(resp_str(&r, "stderr"), buf_cstr(&err)) != 0)
            fail_msg("%s: the real shell gives exit %d, stdout '%s', stderr '%s'; hogmock %s",
                     json, code, buf_cstr(&out), buf_cstr(&err), buf_cstr(&r.body));
        resp_release(&r);
        buf_release(&out);
        buf_release(&err);
        cJSON_free(json);
    }
    free(box);
}

/* ---- the box side ---- */

static void test_exec_answers_the_spec_examples(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"echo hello; echo oops >&2\"]}", &r);
    expect_output(&r, 0, "hello\n", "oops\n");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"false\"]}", &r);
    expect_output(&r, 1, "", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"nosuch\"]}", &r);
    expect_output(&r, 127, "", "sh: 1: nosuch: not found\n");
    resp_release(&r);
    free(box);
}

static void test_exec_reports_exit_codes_with_200(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    exec_ok(m, box, "{\"argv\": [\"true\"]}", &r);
    expect_output(&r, 0, "", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"exit 42\"]}", &r);
    expect_output(&r, 42, "", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"exit 255\"]}", &r);
    assert_int_equal(exit_code(&r), 255);
    resp_release(&r);
    /* An unknown program run directly (no shell) is 127 too. */
    exec_ok(m, box, "{\"argv\": [\"nosuch\"]}", &r);
    assert_int_equal(exit_code(&r), 127);
    assert_false(flag(&r, "timed_out"));
    resp_release(&r);
    free(box);
}

static void test_exec_cats_box_files(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    put_file(m, box, "/root/note.txt", "first line\nsecond\n", 18);
    put_file(m, box, "/srv/app/conf", "k=v\n", 4);
    exec_ok(m, box, "{\"argv\": [\"cat\", \"/root/note.txt\"]}", &r);
    expect_output(&r, 0, "first line\nsecond\n", "");
    resp_release(&r);
    /* Relative to the working directory, /root by default. */
    exec_ok(m, box, "{\"argv\": [\"cat\", \"note.txt\"]}", &r);
    expect_output(&r, 0, "first line\nsecond\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"cat\", \"conf\", \"../app/conf\"], \"workdir\": \"/srv/app\"}",
            &r);
    expect_output(&r, 0, "k=v\nk=v\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"wc\", \"-c\", \"/root/note.txt\"]}", &r);
    expect_output(&r, 0, "18 /root/note.txt\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"cat\", \"/root/nope\"]}", &r);
    expect_output(&r, 1, "", "cat: /root/nope: No such file or directory\n");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"cat\", \"/srv\"]}", &r);
    expect_output(&r, 1, "", "cat: /srv: Is a directory\n");
    resp_release(&r);
    /* The host's files are not the box's. */
    exec_ok(m, box, "{\"argv\": [\"cat\", \"/etc/hostname\"]}", &r);
    assert_int_equal(exit_code(&r), 1);
    resp_release(&r);
    free(box);
}

static void test_exec_honours_env(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"echo $GREETING, $NAME\"],"
            " \"env\": {\"GREETING\": \"hi\", \"NAME\": \"hog\"}}", &r);
    expect_output(&r, 0, "hi, hog\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"env\"], \"env\": {\"A_B\": \"x y\", \"HOME\": \"/tmp\"}}", &r);
    assert_non_null(strstr(resp_str(&r, "stdout"), "A_B=x y\n"));
    /* A variable of the request replaces the box's default. */
    assert_non_null(strstr(resp_str(&r, "stdout"), "HOME=/tmp\n"));
    assert_null(strstr(resp_str(&r, "stdout"), "HOME=/root\n"));
    assert_non_null(strstr(resp_str(&r, "stdout"), "PATH=/"));
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"env\"]}", &r);
    assert_non_null(strstr(resp_str(&r, "stdout"), "HOME=/root\n"));
    assert_null(strstr(resp_str(&r, "stdout"), "A_B="));
    resp_release(&r);
    free(box);
}

static void test_exec_honours_workdir(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    exec_ok(m, box, "{\"argv\": [\"pwd\"]}", &r);
    expect_output(&r, 0, "/root\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"pwd\"], \"workdir\": \"/tmp\"}", &r);
    expect_output(&r, 0, "/tmp\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"pwd\"], \"workdir\": \"/tmp/../usr/./bin/\"}",
            &r);
    expect_output(&r, 0, "/usr/bin\n", "");
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"pwd\"], \"workdir\": \"/\"}", &r);
    expect_output(&r, 0, "/\n", "");
    resp_release(&r);
    free(box);
}

static void test_exec_refuses_a_workdir_the_box_lacks(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    const cJSON *err;
    struct resp r;

    exec_call(m, box, "tok_alice", "{\"argv\": [\"pwd\"], \"workdir\": \"/work\"}", &r);
    expect_problem(&r, 422, "validation_failed");
    err = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0);
    assert_string_equal(cJSON_GetObjectItem(err, "pointer")->valuestring, "/workdir");
    resp_release(&r);
    put_file(m, box, "/root/file", "x", 1);
    exec_call(m, box, "tok_alice", "{\"argv\": [\"pwd\"], \"workdir\": \"/root/file\"}", &r);
    expect_problem(&r, 422, "validation_failed");
    resp_release(&r);
    free(box);
}

static size_t count(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, k = strlen(needle), i = 0;

    while (i + k <= len) {
        if (memcmp(hay + i, needle, k) == 0) {
            n++;
            i += k;
        } else {
            i++;
        }
    }
    return n;
}

static void test_exec_caps_each_stream_at_1_mib(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    exec_ok(m, box, "{\"argv\": [\"head\", \"-c\", \"2000000\", \"/dev/zero\"]}", &r);
    assert_true(flag(&r, "stdout_truncated"));
    assert_false(flag(&r, "stderr_truncated"));
    assert_int_equal(exit_code(&r), 0);
    /* NUL bytes travel as \u0000: exactly 1 MiB of them. */
    assert_int_equal(count(r.body.data, r.body.len, "\\u0000"), 1048576);
    resp_release(&r);

    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"head -c 3000000 /dev/zero >&2; echo tail\"]}",
            &r);
    assert_false(flag(&r, "stdout_truncated"));
    assert_true(flag(&r, "stderr_truncated"));
    assert_string_equal(resp_str(&r, "stdout"), "tail\n");
    assert_int_equal(count(r.body.data, r.body.len, "\\u0000"), 1048576);
    resp_release(&r);

    /* Exactly the cap is not truncated. */
    exec_ok(m, box, "{\"argv\": [\"head\", \"-c\", \"1048576\", \"/dev/zero\"]}", &r);
    assert_false(flag(&r, "stdout_truncated"));
    assert_int_equal(count(r.body.data, r.body.len, "\\u0000"), 1048576);
    resp_release(&r);
    free(box);
}

static void test_exec_repairs_invalid_utf8(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    static const char bytes[] = "a\xff" "b\xe2\x82" "c\xc3\xa9\xf0\x9f\x90\xb7\xed\xa0\x80.\xe2\x82";
    struct resp r;

    put_file(m, box, "/root/bad.txt", bytes, sizeof(bytes) - 1);
    exec_ok(m, box, "{\"argv\": [\"cat\", \"/root/bad.txt\"]}", &r);
    /* One U+FFFD per maximal invalid subsequence (WHATWG), valid characters kept; the
     * surrogate ED A0 80 is three of them. */
    assert_string_equal(resp_str(&r, "stdout"),
                        "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xc3\xa9\xf0\x9f\x90\xb7"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.\xef\xbf\xbd");
    resp_release(&r);
    free(box);
}

static void test_exec_times_out_at_once_on_the_virtual_clock(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    double t0;
    struct resp r;

    t0 = now_ms();
    exec_ok(m, box, "{\"argv\": [\"sleep\", \"100\"], \"timeout_seconds\": 1}", &r);
    assert_true(now_ms() - t0 < 1000.0);
    assert_true(flag(&r, "timed_out"));
    assert_int_equal(exit_code(&r), 124);
    assert_true(duration(&r) == 1000.0);
    resp_release(&r);

    /* The spec's example: output before the timeout is kept. */
    t0 = now_ms();
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"echo start; sleep 120; echo done\"],"
            " \"timeout_seconds\": 5, \"env\": {\"GREETING\": \"hi\"}, \"workdir\": \"/tmp\"}", &r);
    assert_true(now_ms() - t0 < 1000.0);
    assert_string_equal(resp_str(&r, "stdout"), "start\n");
    assert_true(flag(&r, "timed_out"));
    assert_int_equal(exit_code(&r), 124);
    assert_true(duration(&r) == 5000.0);
    resp_release(&r);

    /* Sleeping less than the timeout (the default, 60 s) just takes simulated time. */
    t0 = now_ms();
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"sleep 30; echo done\"]}", &r);
    assert_true(now_ms() - t0 < 1000.0);
    expect_output(&r, 0, "done\n", "");
    assert_true(duration(&r) == 30000.0);
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"sleep\", \"61\"]}", &r);
    assert_true(flag(&r, "timed_out"));
    assert_true(duration(&r) == 60000.0);
    resp_release(&r);
    free(box);
}

static void test_exec_times_out_on_the_real_clock(void **state)
{
    struct hogmock_config cfg;
    struct mock *m;
    char *box;
    double t0, took;
    struct resp r;

    (void)state;
    mock_default_config(&cfg);
    cfg.virtual_clock = false;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");
    t0 = now_ms();
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"echo a; sleep 30; echo b\"],"
            " \"timeout_seconds\": 1}", &r);
    took = now_ms() - t0;
    assert_true(took >= 950.0 && took < 5000.0);
    assert_string_equal(resp_str(&r, "stdout"), "a\n");
    assert_true(flag(&r, "timed_out"));
    assert_int_equal(exit_code(&r), 124);
    assert_true(duration(&r) >= 950.0 && duration(&r) < 5000.0);
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"echo\", \"quick\"]}", &r);
    expect_output(&r, 0, "quick\n", "");
    assert_true(duration(&r) < 1000.0);
    resp_release(&r);
    free(box);
    mock_stop(m);
}

static void test_exec_runs_scripted_programs(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    mock_json(m, "POST", "/__hogmock/exec-programs", NULL,
              "{\"argv\": [\"deploy\", \"--prod\"], \"events\": [{\"stdout\": \"step 1\\n\"},"
              " {\"stderr\": \"warn\\n\", \"after_ms\": 2500}, {\"stdout\": \"done\\n\"},"
              " {\"exit\": 3}]}", &r);
    if (r.status == 404 || r.status == 501) {
        resp_release(&r);
        free(box);
        skip();
    }
    assert_true(r.status == 200 || r.status == 201);
    resp_release(&r);

    exec_ok(m, box, "{\"argv\": [\"deploy\", \"--prod\"]}", &r);
    expect_output(&r, 3, "step 1\ndone\n", "warn\n");
    assert_true(duration(&r) == 2500.0);
    resp_release(&r);
    /* Delays count against the timeout like sleeps. */
    exec_ok(m, box, "{\"argv\": [\"deploy\", \"--prod\"], \"timeout_seconds\": 2}", &r);
    assert_string_equal(resp_str(&r, "stdout"), "step 1\n");
    assert_string_equal(resp_str(&r, "stderr"), "");
    assert_true(flag(&r, "timed_out"));
    assert_int_equal(exit_code(&r), 124);
    assert_true(duration(&r) == 2000.0);
    resp_release(&r);
    /* Another argv is not the program. */
    exec_ok(m, box, "{\"argv\": [\"deploy\"]}", &r);
    assert_int_equal(exit_code(&r), 127);
    resp_release(&r);
    free(box);
}

static void test_exec_follows_narrower_limits(void **state)
{
    static const char limits[] =
        "{\"exec_timeout_seconds\": {\"min\": 2, \"max\": 10, \"default\": 3},"
        " \"exec_output_max_bytes\": 10}\n";
    char path[] = "/tmp/hoglimitsXXXXXX";
    struct hogmock_config cfg;
    struct mock *m;
    const cJSON *err;
    char *box;
    struct resp r;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, limits, sizeof(limits) - 1), (ssize_t)(sizeof(limits) - 1));
    close(fd);
    mock_default_config(&cfg);
    cfg.limits_path = path;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");

    exec_call(m, box, "tok_alice", "{\"argv\": [\"true\"], \"timeout_seconds\": 11}", &r);
    expect_problem(&r, 422, "validation_failed");
    err = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0);
    assert_string_equal(cJSON_GetObjectItem(err, "pointer")->valuestring, "/timeout_seconds");
    assert_string_equal(cJSON_GetObjectItem(err, "detail")->valuestring, "must be at most 10");
    resp_release(&r);
    exec_call(m, box, "tok_alice", "{\"argv\": [\"true\"], \"timeout_seconds\": 1}", &r);
    expect_problem(&r, 422, "validation_failed");
    resp_release(&r);

    /* The limits' default timeout. */
    exec_ok(m, box, "{\"argv\": [\"sleep\", \"100\"]}", &r);
    assert_true(flag(&r, "timed_out"));
    assert_true(duration(&r) == 3000.0);
    resp_release(&r);

    /* The limits' cap; a character cut by it is dropped, not replaced. */
    exec_ok(m, box, "{\"argv\": [\"echo\", \"0123456789abc\"]}", &r);
    assert_string_equal(resp_str(&r, "stdout"), "0123456789");
    assert_true(flag(&r, "stdout_truncated"));
    resp_release(&r);
    put_file(m, box, "/root/e.txt", "abcdefghi\xc3\xa9", 11);
    exec_ok(m, box, "{\"argv\": [\"sh\", \"-c\", \"cat e.txt >&2\"]}", &r);
    assert_string_equal(resp_str(&r, "stderr"), "abcdefghi");
    assert_true(flag(&r, "stderr_truncated"));
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"echo\", \"012345678\"]}", &r);
    expect_output(&r, 0, "012345678\n", "");
    resp_release(&r);

    free(box);
    mock_stop(m);
    unlink(path);
}

/* ---- the UTF-8 repair the streaming endpoint shares: chunking never changes it ---- */

static void utf8_chunked(const char *s, size_t len, const size_t *cuts, size_t ncuts,
                         struct buf *out)
{
    struct exec_utf8 u = EXEC_UTF8_INIT;
    size_t at = 0, i;

    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        exec_utf8_feed(&u, s + at, end - at, false, out);
        at = end;
    }
    exec_utf8_feed(&u, NULL, 0, true, out);
}

static void test_exec_utf8_repair_ignores_chunk_boundaries(void **state)
{
    static const char s[] = "a\xff" "b\xe2\x82" "c\xc3\xa9\xf0\x9f\x90\xb7\xed\xa0\x80"
                            "\xf4\x90\x80\x80\xc0\xaf\xe0\x80\xf0\x9f\x90.\xe2\x82";
    static const char want[] = "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xc3\xa9\xf0\x9f\x90\xb7"
                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"       /* ED A0 80 */
                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" /* F4 90 80 80 */
                               "\xef\xbf\xbd\xef\xbf\xbd"                   /* C0 AF */
                               "\xef\xbf\xbd\xef\xbf\xbd"                   /* E0 80 */
                               "\xef\xbf\xbd."                               /* F0 9F 90 */
                               "\xef\xbf\xbd";                               /* E2 82 at the end */
    size_t len = sizeof(s) - 1, i, j, cuts[2];
    struct buf out = BUF_INIT;

    (void)state;
    utf8_chunked(s, len, NULL, 0, &out);
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(out.data, want, out.len);
    /* Every single and every pair of cut points. */
    for (i = 0; i <= len; i++) {
        for (j = i; j <= len; j++) {
            cuts[0] = i;
            cuts[1] = j;
            buf_reset(&out);
            utf8_chunked(s, len, cuts, 2, &out);
            if (out.len != sizeof(want) - 1 || memcmp(out.data, want, out.len) != 0)
                fail_msg("cut at %zu and %zu gives a different text", i, j);
        }
    }
    /* Byte by byte. */
    {
        size_t every[sizeof(s)];

        for (i = 0; i < len; i++)
            every[i] = i + 1;
        buf_reset(&out);
        utf8_chunked(s, len, every, len - 1, &out);
        assert_memory_equal(out.data, want, sizeof(want) - 1);
    }
    /* A cut stream drops the incomplete character at its end. */
    {
        struct exec_utf8 u = EXEC_UTF8_INIT;

        buf_reset(&out);
        exec_utf8_feed(&u, "ok\xf0\x9f\x90", 5, false, &out);
        exec_utf8_drop_tail(&u);
        exec_utf8_feed(&u, NULL, 0, true, &out);
        assert_int_equal(out.len, 2);
        assert_memory_equal(out.data, "ok", 2);
    }
    buf_release(&out);
}

/* ---- errors ---- */

static void test_exec_needs_a_running_box(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    char target[128];
    struct resp r;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/pause", box);
    mock_expect(m, "pauseHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    resp_release(&r);
    exec_call(m, box, "tok_alice", "{\"argv\": [\"echo\", \"hi\"]}", &r);
    expect_problem(&r, 409, "invalid_state");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/resume", box);
    mock_expect(m, "resumeHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    resp_release(&r);
    exec_ok(m, box, "{\"argv\": [\"echo\", \"hi\"]}", &r);
    expect_output(&r, 0, "hi\n", "");
    resp_release(&r);
    free(box);
}

static void test_exec_in_another_principals_box_is_404(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    exec_call(m, box, "tok_bob", "{\"argv\": [\"echo\", \"hi\"]}", &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    exec_call(m, "hb_0000000000000000", "tok_alice", "{\"argv\": [\"echo\", \"hi\"]}", &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    free(box);
}

static void test_exec_refuses_bad_requests(void **state)
{
    static const char *const bad[] = {
        "{\"argv\": []}",
        "{}",
        "{\"argv\": \"echo hi\"}",
        "{\"argv\": [\"echo\", 1]}",
        "{\"argv\": [\"echo\"], \"timeout_seconds\": 0}",
        "{\"argv\": [\"echo\"], \"timeout_seconds\": 3601}",
        "{\"argv\": [\"echo\"], \"timeout_seconds\": 1.5}",
        "{\"argv\": [\"echo\"], \"timeout_seconds\": \"10\"}",
        "{\"argv\": [\"echo\"], \"workdir\": \"tmp\"}",
        "{\"argv\": [\"echo\"], \"env\": {\"1BAD\": \"x\"}}",
        "{\"argv\": [\"echo\"], \"env\": {\"OK\": 1}}",
        "{\"argv\": [\"echo\"], \"shell\": true}",
        NULL,
    };
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    char target[128];
    struct resp r;
    size_t i;

    for (i = 0; bad[i]; i++) {
        exec_call(m, box, "tok_alice", bad[i], &r);
        if (r.status != 422)
            fail_msg("%s: status %ld, expected 422: %s", bad[i], r.status, buf_cstr(&r.body));
        mock_check_problem(&r, "validation_failed");
        assert_non_null(cJSON_GetObjectItem(r.json, "errors"));
        resp_release(&r);
    }
    exec_call(m, box, "tok_alice", "{\"argv\": [\"echo\"", &r);
    expect_problem(&r, 400, "malformed_json");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", box);
    mock_call(m, "POST", target, "tok_alice", "argv=echo", 9, NULL, &r);
    mock_check(m, "execHogbox", &r);
    expect_problem(&r, 415, "unsupported_media_type");
    resp_release(&r);
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_prints_what_the_real_shell_prints),
        cmocka_unit_test(test_exec_answers_the_spec_examples),
        cmocka_unit_test(test_exec_reports_exit_codes_with_200),
        cmocka_unit_test(test_exec_cats_box_files),
        cmocka_unit_test(test_exec_honours_env),
        cmocka_unit_test(test_exec_honours_workdir),
        cmocka_unit_test(test_exec_refuses_a_workdir_the_box_lacks),
        cmocka_unit_test(test_exec_caps_each_stream_at_1_mib),
        cmocka_unit_test(test_exec_repairs_invalid_utf8),
        cmocka_unit_test(test_exec_times_out_at_once_on_the_virtual_clock),
        cmocka_unit_test(test_exec_times_out_on_the_real_clock),
        cmocka_unit_test(test_exec_runs_scripted_programs),
        cmocka_unit_test(test_exec_follows_narrower_limits),
        cmocka_unit_test(test_exec_utf8_repair_ignores_chunk_boundaries),
        cmocka_unit_test(test_exec_needs_a_running_box),
        cmocka_unit_test(test_exec_in_another_principals_box_is_404),
        cmocka_unit_test(test_exec_refuses_bad_requests),
    };

    return cmocka_run_group_tests_name("exec", tests, mock_setup, mock_teardown);
}
