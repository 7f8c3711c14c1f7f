/* Integration tests for hogconf as a user runs it: scenario directories written here, run
 * through build/bin/hogconf with the C adapter (or a stuck shell adapter) against hogmock. */
#include <errno.h>
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
#include "harness.h"
#include "xmalloc.h"

#define RUN_LIMIT_MS (60000 * mock_slow())

struct fixture {
    char dir[64];
    char exe[PATH_MAX];
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

/* Write text to dir/rel, making its directory. */
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
        fprintf(stderr, "test_hogconf: no hogconf binary at '%s'\n", fx->exe);
        goto fail;
    }
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_hogconf.XXXXXX");
    if (!mkdtemp(fx->dir))
        goto fail;
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

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    buf_release(&fx->out);
    free(fx);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run hogconf with args (NULL-terminated); its output lands in fx->out; its exit status
 * is returned. Killed after RUN_LIMIT_MS. */
static int hogconf(struct fixture *fx, ...)
{
    const char *argv[40];
    char out[PATH_MAX];
    va_list ap;
    int n = 0, status = 0;
    pid_t pid;
    struct timespec t0, now;

    argv[n++] = fx->exe;
    va_start(ap, fx);
    while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
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
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec ts = { 0, 20 * 1000000L };
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > RUN_LIMIT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("hogconf did not finish within %d ms", RUN_LIMIT_MS);
        }
        nanosleep(&ts, NULL);
    }
    slurp(out, &fx->out);
    if (getenv("TEST_HOGCONF_VERBOSE"))
        fprintf(stderr, "---- hogconf output:\n%s----\n", buf_cstr(&fx->out));
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static bool has(struct fixture *fx, const char *needle)
{
    if (strstr(buf_cstr(&fx->out), needle))
        return true;
    fprintf(stderr, "test_hogconf: '%s' not in the output:\n%s\n", needle, buf_cstr(&fx->out));
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

static const char pass_yaml[] =
    "id: basic/pass\n"
    "title: a box is made, read and destroyed\n"
    "steps:\n"
    "  - op: me\n"
    "    expect: {value: {principal_id: \"${principal}\", auth_path: api_token}}\n"
    "  - op: create\n"
    "    args: {cpus: 1, memory_mib: 512}\n"
    "    save: box\n"
    "  - op: get\n"
    "    args: {box: \"${box.id}\"}\n"
    "    expect: {value: {id: {$regex: '^hb_'}, state: {$any: [running, creating]}, cpus: 1,\n"
    "                     memory_mib: {$gte: 512, $lte: 512, $type: integer}, labels: {$len: 0},\n"
    "                     snapshot_id: {$present: false}, created_at: {$present: true}}}\n"
    "  - op: destroy\n"
    "    args: {box: \"${box.id}\"}\n"
    "wire:\n"
    "  - {kind: count, match: {op: createHogbox}, exact: 1}\n"
    "  - {kind: order, steps: [{op: createHogbox}, {op: destroyHogbox}]}\n";

static const char fail_yaml[] =
    "id: basic/fail\n"
    "title: an expectation the client cannot meet\n"
    "steps:\n"
    "  - op: me\n"
    "    expect: {value: {auth_path: k8s_sa}}\n";

static const char error_type_yaml[] =
    "id: other/wrong-type\n"
    "title: a 404 expected as a conflict\n"
    "steps:\n"
    "  - op: get\n"
    "    args: {box: hb_0000000000000000}\n"
    "    expect: {error: {type: ConflictError}}\n";

static void write_basic(struct fixture *fx)
{
    put(fx, "sc/basic/pass.yaml", pass_yaml);
    put(fx, "sc/basic/fail.yaml", fail_yaml);
    put(fx, "sc/other/wrong-type.yaml", error_type_yaml);
}

static void test_a_passing_scenario_exits_0_with_the_closing_line(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], line[256];

    write_basic(fx);
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--scenario", "basic/pass", NULL), 0);
    assert_true(has(fx, "PASS basic/pass ("));
    assert_string_equal(last_line(fx, line, sizeof(line)), "1 passed, 0 failed");
}

static void test_a_failed_expectation_shows_expected_and_got_and_exits_1(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], line[256];

    write_basic(fx);
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--jobs", "2", NULL), 1);
    assert_true(has(fx, "FAIL basic/fail ("));
    assert_true(has(fx, "/value/auth_path: expected \"k8s_sa\", got \"api_token\""));
    assert_true(has(fx, "FAIL other/wrong-type ("));
    assert_true(has(fx, "/error/type: expected \"ConflictError\", got \"NotFoundError\""));
    /* The journal excerpt of the failing scenario. */
    assert_true(has(fx, "GET /v1/hogboxes/hb_0000000000000000 -> 404 getHogbox"));
    assert_true(has(fx, "GET /v1/me -> 200 getMe"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "1 passed, 2 failed");
}

/* A shell adapter that greets with no features, answers me, and hangs on anything else. */
static const char stuck_adapter[] =
    "#!/bin/sh\n"
    "read hello\n"
    "echo '{\"type\":\"hello\",\"protocol\":\"hogconf/1\",\"client\":{\"name\":\"stuck\","
    "\"version\":\"0\",\"language\":\"sh\"},\"features\":[]}'\n"
    "while read line; do\n"
    "  id=$(printf '%s' \"$line\" | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')\n"
    "  case \"$line\" in\n"
    "    *'\"op\":\"me\"'*) printf '{\"type\":\"result\",\"id\":\"%s\",\"ok\":true,"
    "\"value\":{\"principal_id\":\"x\"}}\\n' \"$id\" ;;\n"
    "    *) sleep 600 ;;\n"
    "  esac\n"
    "done\n";

static void test_a_hung_adapter_is_killed_and_the_run_goes_on(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], adapter[PATH_MAX], line[256];
    struct timespec t0, t1;

    put(fx, "sc/hang/a-stuck.yaml",
        "id: hang/a-stuck\n"
        "steps:\n"
        "  - op: get\n"
        "    args: {box: hb_0000000000000000}\n"
        "    deadline_ms: 300\n");
    put(fx, "sc/hang/b-after.yaml",
        "id: hang/b-after\n"
        "steps:\n"
        "  - op: me\n"
        "    expect: {value: {principal_id: x}}\n");
    put(fx, "sc/hang/c-needs-files.yaml",
        "id: hang/c-needs-files\n"
        "requires: [files]\n"
        "steps:\n"
        "  - op: me\n");
    put(fx, "stuck.sh", stuck_adapter);
    snprintf(adapter, sizeof(adapter), "%s/stuck.sh", fx->dir);
    chmod(adapter, 0755);
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--adapter", adapter, "--jobs", "1", NULL), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(has(fx, "ERROR hang/a-stuck ("));
    assert_true(has(fx, "adapter hung: no result within 5300 ms"));
    assert_true(has(fx, "PASS hang/b-after ("));
    assert_true(has(fx, "SKIP hang/c-needs-files ("));
    assert_true(has(fx, "N/A: the adapter does not announce files"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "1 passed, 1 failed, 1 skipped");
    /* The deadline plus the grace, the kill, and little more (hogmock's start included). */
    assert_true(t1.tv_sec - t0.tv_sec < 15 * mock_slow());
}

static void test_a_baseline_excuses_known_failures_and_flags_stale_entries(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], bl[PATH_MAX], line[256];

    write_basic(fx);
    put(fx, "baseline.yaml",
        "- id: basic/fail\n"
        "  reason: the client does not speak k8s yet\n"
        "- id: basic/pass\n"
        "  reason: was broken once\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    snprintf(bl, sizeof(bl), "%s/baseline.yaml", fx->dir);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--baseline", bl, NULL), 1);
    assert_true(has(fx, "known failure (baseline): the client does not speak k8s yet"));
    assert_true(has(fx, "stale baseline entry: it passes now; remove it from"));
    assert_true(has(fx, "new failures, ready to paste into"));
    assert_true(has(fx, "- id: other/wrong-type\n  reason: \"step 1 (get): expectation not met\"\n"));
    /* basic/pass is stale (failed), other/wrong-type is new (failed), basic/fail known. */
    assert_string_equal(last_line(fx, line, sizeof(line)), "0 passed, 2 failed");

    /* Only the known failure: the run passes. */
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--baseline", bl, "--scenario",
                             "basic/fail", NULL), 0);
    assert_string_equal(last_line(fx, line, sizeof(line)), "0 passed, 0 failed");
}

static void test_junit_and_json_reports_are_written_and_parse(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], junit[PATH_MAX], json[PATH_MAX], art[256], p[PATH_MAX];
    struct buf text = BUF_INIT;
    cJSON *doc;
    const cJSON *sum, *list, *s;
    size_t suites = 0;
    const char *x;

    write_basic(fx);
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    snprintf(junit, sizeof(junit), "%s/junit.xml", fx->dir);
    snprintf(json, sizeof(json), "%s/run.json", fx->dir);
    snprintf(art, sizeof(art), "%s/art", fx->dir);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--junit", junit, "--json", json,
                             "--artifacts", art, "--seed", "42", NULL), 1);

    slurp(json, &text);
    doc = cJSON_Parse(buf_cstr(&text));
    assert_non_null(doc);
    sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "passed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "failed")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "seed")->valueint, 42);
    list = cJSON_GetObjectItemCaseSensitive(doc, "scenarios");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    cJSON_ArrayForEach(s, list) {
        const char *id = cJSON_GetObjectItemCaseSensitive(s, "id")->valuestring;
        const char *status = cJSON_GetObjectItemCaseSensitive(s, "status")->valuestring;

        assert_string_equal(status, strcmp(id, "basic/pass") == 0 ? "PASS" : "FAIL");
        assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(s, "steps")));
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "journal")) >= 1);
    }
    cJSON_Delete(doc);

    slurp(junit, &text);
    x = buf_cstr(&text);
    assert_true(str_startswith(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert_true(str_endswith(x, "</testsuites>\n"));
    for (const char *q = x; (q = strstr(q, "<testsuite ")); q++)
        suites++;
    assert_int_equal(suites, 2);
    assert_non_null(strstr(x, "<testsuite name=\"basic\" tests=\"2\" failures=\"1\""));
    assert_non_null(strstr(x, "<testsuite name=\"other\" tests=\"1\" failures=\"1\""));
    assert_non_null(strstr(x, "<failure type=\"FAIL\" message=\"step 1 (me): expectation not met\">"));
    assert_non_null(strstr(x, "expected &quot;k8s_sa&quot;"));
    assert_int_equal(strstr(x, "<testcase ") ? 0 : 1, 0);

    /* Artifacts for each failure: transcript, journal, logs. */
    snprintf(p, sizeof(p), "%s/basic_fail/adapter.ndjson", art);
    slurp(p, &text);
    assert_non_null(strstr(buf_cstr(&text), "\"dir\":\"send\",\"msg\":{\"type\":\"hello\""));
    assert_non_null(strstr(buf_cstr(&text), "\"id\":\"basic/fail#1\""));
    snprintf(p, sizeof(p), "%s/basic_fail/journal.json", art);
    assert_int_equal(access(p, R_OK), 0);
    snprintf(p, sizeof(p), "%s/basic_fail/hogmock.log", art);
    assert_int_equal(access(p, R_OK), 0);
    snprintf(p, sizeof(p), "%s/basic_pass", art);
    assert_int_equal(access(p, F_OK), -1);
    buf_release(&text);
}

/* A shell adapter with no features whose answers and stderr carry what XML must escape
 * or cannot hold: markup, quotes, control characters, bytes that are not UTF-8 (an
 * overlong '/', a lone surrogate). me answers with them; on odd/error it reports its
 * own fault with them in the message. */
static const char odd_adapter[] =
    "#!/bin/sh\n"
    "read hello\n"
    "echo '{\"type\":\"hello\",\"protocol\":\"hogconf/1\",\"client\":{\"name\":\"odd\","
    "\"version\":\"0\",\"language\":\"sh\"},\"features\":[]}'\n"
    "printf 'stderr <b> & \\033[31m \\001 \\377 end\\n' >&2\n"
    "while read line; do\n"
    "  id=$(printf '%s' \"$line\" | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')\n"
    "  case \"$line\" in\n"
    "    *'\"id\":\"odd/error#'*) printf '{\"type\":\"result\",\"id\":\"%s\",\"ok\":false,"
    "\"error\":{\"type\":\"AdapterError\",\"message\":\"a<b & \\\\\"q\\\\\" '\"'\"'s'\"'\"' "
    "\\\\u0001\\\\u001b ]]> \\377\\376 \\300\\257 \\355\\240\\200 caf\\303\\251 end\"}}\\n' \"$id\" ;;\n"
    "    *) printf '{\"type\":\"result\",\"id\":\"%s\",\"ok\":true,"
    "\"value\":{\"principal_id\":\"x<y & \\\\\"z\\\\\" \\\\u0007 \\377 end\"}}\\n' \"$id\" ;;\n"
    "  esac\n"
    "done\n";

/* Run prog with args (NULL-terminated), stdout and stderr into out; its exit status. */
static int run_tool(struct fixture *fx, struct buf *out, const char *prog, ...)
{
    const char *argv[16];
    char path[PATH_MAX];
    va_list ap;
    int n = 0, status = 0;
    pid_t pid;

    argv[n++] = prog;
    va_start(ap, prog);
    while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    snprintf(path, sizeof(path), "%s/tool.txt", fx->dir);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(path, "w", stdout);

        if (!f || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
            _exit(99);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    slurp(path, out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* s holds only UTF-8 that XML 1.0 allows, no control character but tab, LF and CR. */
static bool xml_chars_only(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned long cp;
        size_t len, k;

        if (*p < 0x80)
            cp = *p, len = 1;
        else if ((*p & 0xE0) == 0xC0)
            cp = *p & 0x1F, len = 2;
        else if ((*p & 0xF0) == 0xE0)
            cp = *p & 0x0F, len = 3;
        else if ((*p & 0xF8) == 0xF0)
            cp = *p & 0x07, len = 4;
        else
            return false;
        for (k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return false;
        if (cp < 0x20 ? cp != 0x9 && cp != 0xA && cp != 0xD
                      : (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF
                            || cp > 0x10FFFF)
            return false;
        p += len;
    }
    return true;
}

static void test_the_junit_report_validates_against_the_jenkins_schema(void **state)
{
    struct fixture *fx = *state;
    const char *top = getenv("HOG_SRCDIR");
    char sc[PATH_MAX], adapter[PATH_MAX], junit[PATH_MAX], xsd[PATH_MAX], line[256];
    struct buf text = BUF_INIT, lint = BUF_INIT;
    size_t suites = 0;
    const char *x;
    int status;

    put(fx, "sc/odd/pass.yaml", "id: odd/pass\nsteps:\n  - op: me\n");
    put(fx, "sc/odd/fail.yaml",
        "id: odd/fail\n"
        "steps:\n"
        "  - op: me\n"
        "    expect: {value: {principal_id: \"a<b & 'c' \\\"d\\\"\"}}\n");
    put(fx, "sc/odd/error.yaml", "id: odd/error\nsteps:\n  - op: me\n");
    put(fx, "sc/more/pass.yaml", "id: more/pass\nsteps:\n  - op: me\n");
    put(fx, "sc/more/needs-files.yaml",
        "id: more/needs-files\nrequires: [files]\nsteps:\n  - op: me\n");
    put(fx, "odd.sh", odd_adapter);
    snprintf(adapter, sizeof(adapter), "%s/odd.sh", fx->dir);
    chmod(adapter, 0755);
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    snprintf(junit, sizeof(junit), "%s/junit.xml", fx->dir);
    snprintf(xsd, sizeof(xsd), "%s/tests/schemas/junit-10.xsd", top ? top : ".");
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--adapter", adapter, "--junit",
                             junit, NULL), 1);
    assert_string_equal(last_line(fx, line, sizeof(line)), "2 passed, 2 failed, 1 skipped");

    status = run_tool(fx, &lint, "xmllint", "--noout", "--schema", xsd, junit, NULL);
    slurp(junit, &text);
    if (status != 0) {
        fprintf(stderr, "test_hogconf: xmllint exited %d on the JUnit report:\n%s\nthe report:\n%s",
                status, buf_cstr(&lint), buf_cstr(&text));
        fail();
    }
    x = buf_cstr(&text);
    assert_true(xml_chars_only(x));

    for (const char *q = x; (q = strstr(q, "<testsuite ")); q++)
        suites++;
    assert_int_equal(suites, 2);
    assert_non_null(strstr(x, "<testsuites name=\"hogconf\" tests=\"5\" failures=\"1\" errors=\"1\""));
    assert_non_null(strstr(x, "<testsuite name=\"odd\" tests=\"3\" failures=\"1\" errors=\"1\" "
                              "skipped=\"0\" time=\""));
    assert_non_null(strstr(x, "<testsuite name=\"more\" tests=\"2\" failures=\"0\" errors=\"0\" "
                              "skipped=\"1\" time=\""));
    assert_non_null(strstr(x, "<testcase classname=\"odd\" name=\"odd/pass\" time=\""));
    assert_non_null(strstr(x, "<skipped message=\"N/A: the adapter does not announce files\"/>"));
    assert_non_null(strstr(x, "<failure type=\"FAIL\" message=\"step 1 (me): expectation not met\">"));
    /* Escaped in text: markup and quotes; control characters and bytes that are not
     * UTF-8 become '?'; valid UTF-8 stays. */
    assert_non_null(strstr(x, "expected &quot;a&lt;b &amp; 'c' \\&quot;d\\&quot;&quot;"));
    assert_non_null(strstr(x, "x&lt;y &amp; \\&quot;z\\&quot; \\u0007 ? end"));
    /* The same in an attribute. */
    assert_non_null(strstr(x, "<error type=\"ERROR\" message=\"step 1 (me): adapter fault, not the "
                              "client's: AdapterError: a&lt;b &amp; &quot;q&quot; 's' ?? ]]&gt; "
                              "?? ?? ??? caf\xc3\xa9 end\">"));
    assert_non_null(strstr(x, "<system-err>stderr &lt;b&gt; &amp; ?[31m ? ? end\n"));

    buf_release(&lint);
    buf_release(&text);
}

static void test_usage_exits_2_and_broken_scenario_files_are_errors(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX];

    assert_int_equal(hogconf(fx, "run", "--bogus", NULL), 2);
    assert_true(has(fx, "hogconf: unknown option '--bogus' (try --help)"));
    assert_int_equal(hogconf(fx, "run", "--shard", "3/2", NULL), 2);
    assert_int_equal(hogconf(fx, "run", "--target", "real", NULL), 2);
    assert_true(has(fx, "--target real needs --host"));

    put(fx, "bad/lifecycle/typo.yaml",
        "id: lifecycle/typo\n"
        "steps:\n"
        "  - op: me\n"
        "    expct: {value: {}}\n");
    snprintf(sc, sizeof(sc), "%s/bad", fx->dir);
    /* A file that does not load is an error of the run, reported with the others. */
    put(fx, "bad/lifecycle/fine.yaml", "id: lifecycle/fine\nsteps:\n  - op: me\n");
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, NULL), 1);
    assert_true(has(fx, "lifecycle/typo.yaml:4:5: /steps/0/expct: unknown member 'expct'"));
    assert_true(has(fx, "ERROR lifecycle/typo ("));
    assert_true(has(fx, "the scenario file does not load"));
    assert_true(has(fx, "PASS lifecycle/fine ("));
    assert_int_equal(hogconf(fx, "list", "--scenarios", sc, NULL), 2);
    put(fx, "bad/lifecycle/typo.yaml",
        "id: lifecycle/typo\n"
        "steps:\n"
        "  - op: me\n"
        "    expect: {value: {principal_id: {$regexp: x}}}\n");
    assert_int_equal(hogconf(fx, "list", "--scenarios", sc, NULL), 2);
    assert_true(has(fx, "/steps/0/expect/value/principal_id/$regexp: unknown matcher"));

    assert_int_equal(hogconf(fx, "--help", NULL), 0);
    assert_true(has(fx, "SYNOPSIS"));
    assert_true(has(fx, "EXIT STATUS"));
}

static void test_list_shows_targets_auth_and_required_features(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX];

    write_basic(fx);
    put(fx, "sc/streams/order.yaml",
        "id: streams/order\n"
        "title: events in order\n"
        "auth: token_file\n"
        "setup:\n"
        "  faults: [{match: {op: createHogbox}, times: 1, action: {type: status, status: 503}}]\n"
        "steps:\n"
        "  - op: exec_stream\n"
        "    args: {box: hb_0000000000000000, argv: [echo, hi]}\n"
        "    expect: {error: {type: NotFoundError}}\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    assert_int_equal(hogconf(fx, "list", "--scenarios", sc, NULL), 0);
    assert_true(has(fx, "basic/pass"));
    assert_true(has(fx, "mock,real"));
    assert_true(has(fx, "token_file,exec_stream"));
    assert_true(has(fx, "4 scenarios"));
    assert_int_equal(hogconf(fx, "list", "--scenarios", sc, "--suite", "streams", NULL), 0);
    assert_true(has(fx, "1 scenario\n"));
    /* The shards split the set, stably. */
    {
        char line[256];
        unsigned long first, second, again;

        assert_int_equal(hogconf(fx, "list", "--scenarios", sc, "--shard", "1/2", NULL), 0);
        first = strtoul(last_line(fx, line, sizeof(line)), NULL, 10);
        assert_int_equal(hogconf(fx, "list", "--scenarios", sc, "--shard", "2/2", NULL), 0);
        second = strtoul(last_line(fx, line, sizeof(line)), NULL, 10);
        assert_int_equal(first + second, 4);
        assert_int_equal(hogconf(fx, "list", "--scenarios", sc, "--shard", "1/2", NULL), 0);
        again = strtoul(last_line(fx, line, sizeof(line)), NULL, 10);
        assert_int_equal(again, first);
    }
    /* A fault plan in setup: the scenario passes on the mock, scoped to its principal. */
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--suite", "streams", NULL), 0);
    assert_true(has(fx, "PASS streams/order ("));
}

static void test_an_unrunnable_adapter_skips_every_scenario_with_its_error(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX], adapter[PATH_MAX], line[256];

    write_basic(fx);
    put(fx, "absent.sh",
        "#!/bin/sh\n"
        "read hello\n"
        "echo '{\"type\":\"hello\",\"protocol\":\"hogconf/1\",\"client\":{\"name\":\"sdk\","
        "\"version\":\"not installed\",\"language\":\"sh\"},\"features\":[],\"runnable\":false,"
        "\"error\":\"the SDK is not installed; install it with pip\"}'\n"
        "exit 3\n");
    snprintf(adapter, sizeof(adapter), "%s/absent.sh", fx->dir);
    chmod(adapter, 0755);
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, "--adapter", adapter, NULL), 0);
    assert_true(has(fx, "SKIP basic/pass ("));
    assert_true(has(fx, "not runnable: the SDK is not installed; install it with pip"));
    assert_string_equal(last_line(fx, line, sizeof(line)), "0 passed, 0 failed, 3 skipped");
}

static void test_a_create_retried_with_another_idempotency_key_fails_on_the_wire(void **state)
{
    struct fixture *fx = *state;
    char sc[PATH_MAX];

    /* The scenario plays the careless client: a 503, then the same create with a new key. */
    put(fx, "sc/wire/new-key.yaml",
        "id: wire/new-key\n"
        "setup:\n"
        "  faults: [{match: {op: createHogbox}, times: 1, action: {type: status, status: 503, retry_after: 0}}]\n"
        "steps:\n"
        "  - op: configure\n"
        "    args: {max_attempts: 1}\n"
        "  - op: create\n"
        "    args: {cpus: 1, idempotency_key: key-one}\n"
        "    expect: {error: {type: ServerError, status_code: 503}}\n"
        "  - op: create\n"
        "    args: {cpus: 1, idempotency_key: key-two}\n");
    snprintf(sc, sizeof(sc), "%s/sc", fx->dir);
    assert_int_equal(hogconf(fx, "run", "--scenarios", sc, NULL), 1);
    assert_true(has(fx, "FAIL wire/new-key ("));
    assert_true(has(fx, "without the same Idempotency-Key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_passing_scenario_exits_0_with_the_closing_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_expectation_shows_expected_and_got_and_exits_1,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_hung_adapter_is_killed_and_the_run_goes_on,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_baseline_excuses_known_failures_and_flags_stale_entries,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit_and_json_reports_are_written_and_parse,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_junit_report_validates_against_the_jenkins_schema,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_exits_2_and_broken_scenario_files_are_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_shows_targets_auth_and_required_features,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_unrunnable_adapter_skips_every_scenario_with_its_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_create_retried_with_another_idempotency_key_fails_on_the_wire,
                                        setup, teardown),
    };

    return cmocka_run_group_tests_name("hogconf", tests, NULL, NULL);
}
