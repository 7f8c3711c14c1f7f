/* The mutation self-test: build[/san]/mutants/hog-adapter-c-mK is the C adapter with
 * libhogclient compiled with -DHOG_MUTANT=K (one deliberate bug each, see the HOG_MUTANT
 * sites in harness/libhogclient/). The unmutated adapter passes every catching scenario;
 * each mutant must fail (FAIL or ERROR) the scenario meant to catch it. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "harness.h"

static const struct mutant {
    int k;
    const char *name;
    const char *scenario;       /* the scenario meant to catch it */
} mutants[] = {
    { 1, "404 mapped to ServerError", "errors/status-404" },
    { 2, "Retry-After ignored", "errors/rate-limit-retry-after-seconds" },
    { 3, "token file read once", "auth/token-file-rotation" },
    { 4, "last SSE event (the exit) dropped", "streaming/exit-codes" },
    { 5, "stdout and stderr merged", "streaming/order-interleaving" },
    { 6, "no User-Agent", "lifecycle/create-get-destroy" },
    { 7, "non-idempotent POST retried", "errors/exec-not-retried" },
    { 8, "a new Idempotency-Key per retry", "errors/create-503-after-commit" },
    { 9, "file bytes cut at NUL", "files/binary-roundtrip" },
    { 10, "only the first page listed", "lifecycle/list-all-pages" },
    { 11, "stream error swallowed as success", "streaming/sse-no-exit" },
    { 12, "problem body discarded", "errors/problem-extensions-kept" },
    { 13, "429 not retried", "errors/rate-limit-retried" },
    { 14, "token file's trailing newline kept", "auth/token-file-whitespace" },
    { 15, "409 left as a generic ApiError", "errors/status-409" },
    { 16, "429 quota_exceeded retried", "errors/quota-exceeded-not-retried" },
    { 17, "batch exec output cut at NUL", "streaming/exec-nul-bytes" },
    { 18, "a number given as 0 taken as not given", "lifecycle/create-zero-sizes" },
};
#define N_MUTANTS (sizeof(mutants) / sizeof(mutants[0]))

static char build_dir[PATH_MAX];        /* build or build/san */

static int find_build(void **state)
{
    ssize_t n = readlink("/proc/self/exe", build_dir, sizeof(build_dir) - 1);
    char *slash;
    int i;

    (void)state;
    if (n <= 0)
        return -1;
    build_dir[n] = '\0';
    /* build[/san]/tests/integration/test_mutants -> build[/san] */
    for (i = 0; i < 3; i++) {
        slash = strrchr(build_dir, '/');
        if (!slash)
            return -1;
        *slash = '\0';
    }
    return 0;
}

/* Run hogconf with the adapter over the given scenarios; its output into out. */
static int hogconf(const char *adapter, const char *const *ids, size_t n_ids, struct buf *out)
{
    char exe[PATH_MAX + 16], path[] = "/tmp/test_mutants.XXXXXX", chunk[4096], wait[16];
    const char *argv[10 + 2 * N_MUTANTS];
    size_t argc = 0, i, got;
    int fd, status;
    pid_t pid;
    FILE *f;

    snprintf(exe, sizeof(exe), "%s/bin/hogconf", build_dir);
    argv[argc++] = exe;
    argv[argc++] = "run";
    argv[argc++] = "-q";
    argv[argc++] = "--adapter";
    argv[argc++] = adapter;
    /* Under valgrind each hogmock takes seconds to start. */
    snprintf(wait, sizeof(wait), "%d", 20 * mock_slow());
    argv[argc++] = "--hogmock-wait";
    argv[argc++] = wait;
    for (i = 0; i < n_ids; i++) {
        argv[argc++] = "--scenario";
        argv[argc++] = ids[i];
    }
    argv[argc] = NULL;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fd);
    buf_reset(out);
    f = fopen(path, "rb");
    assert_non_null(f);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, got);
    fclose(f);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_unmutated_passes(void **state)
{
    const char *ids[N_MUTANTS];
    char adapter[PATH_MAX + 32];
    struct buf out = BUF_INIT;
    size_t i;
    int rc;

    (void)state;
    for (i = 0; i < N_MUTANTS; i++)
        ids[i] = mutants[i].scenario;
    snprintf(adapter, sizeof(adapter), "%s/bin/hog-adapter-c", build_dir);
    rc = hogconf(adapter, ids, N_MUTANTS, &out);
    if (rc != 0)
        fprintf(stderr, "%s", buf_cstr(&out));
    assert_int_equal(rc, 0);
    buf_release(&out);
}

static void test_each_mutant_caught(void **state)
{
    struct buf out = BUF_INIT;
    char adapter[PATH_MAX + 32], fail[256], error[256];
    size_t i;
    unsigned missed = 0;

    (void)state;
    for (i = 0; i < N_MUTANTS; i++) {
        const struct mutant *m = &mutants[i];
        int rc;

        snprintf(adapter, sizeof(adapter), "%s/mutants/hog-adapter-c-m%d", build_dir, m->k);
        snprintf(fail, sizeof(fail), "FAIL %s ", m->scenario);
        snprintf(error, sizeof(error), "ERROR %s ", m->scenario);
        rc = hogconf(adapter, &m->scenario, 1, &out);
        if (rc != 1 || (!strstr(buf_cstr(&out), fail) && !strstr(buf_cstr(&out), error))) {
            fprintf(stderr, "mutant %d (%s) not caught by %s: hogconf exited %d\n%s\n", m->k,
                    m->name, m->scenario, rc, buf_cstr(&out));
            missed++;
        }
    }
    buf_release(&out);
    assert_int_equal(missed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmutated_passes),
        cmocka_unit_test(test_each_mutant_caught),
    };

    return cmocka_run_group_tests(tests, find_build, NULL);
}
