/* Integration tests for the hogmock command as a user runs it: --help, bad options, the
 * announced URL and ready file, IPv6, draining on SIGTERM, SIGINT, and a port in use. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "bundle.h"
#include "harness.h"
#include "xmalloc.h"

/* Sanitized binaries, and those valgrind runs, start and stop several times slower;
 * bounds scale with this. */
#define SLOW mock_slow()

#define MAX_PROCS 4

/* One hogmock child: its output goes to files in the test's directory. */
struct proc {
    pid_t pid;
    bool reaped;
    int status;
    char out[PATH_MAX], err[PATH_MAX], ready[PATH_MAX];
};

struct fixture {
    char dir[64];
    char exe[PATH_MAX];
    char tokens[PATH_MAX];
    struct proc procs[MAX_PROCS];
    int nprocs;
};

/* ---- helpers ---- */

/* The whole of a file into out (reset first); false when it cannot be opened. */
static bool slurp(const char *path, struct buf *out)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    buf_reset(out);
    if (!f)
        return false;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    fclose(f);
    return true;
}

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    struct buf b = BUF_INIT;

    if (!mock_binary(fx->exe, sizeof(fx->exe))) {
        fprintf(stderr, "test_process: no hogmock binary at '%s'\n", fx->exe);
        free(fx);
        return -1;
    }
    /* Made last: a setup that fails gets no teardown to remove it. */
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_process.XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    bundle_path("fixtures/auth/tokens.yaml", &b);
    snprintf(fx->tokens, sizeof(fx->tokens), "%s", buf_cstr(&b));
    buf_release(&b);
    *state = fx;
    return 0;
}

/* Kill (by PID) every child this test started and did not reap, and remove the files. */
static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    int i;

    for (i = 0; i < fx->nprocs; i++) {
        struct proc *p = &fx->procs[i];

        if (p->pid > 0 && !p->reaped) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &p->status, 0);
            p->reaped = true;
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    free(fx);
    return system(cmd) == 0 ? 0 : -1;
}

/* Start hogmock with args (NULL-terminated, after argv[0]); stdout and stderr go to
 * files named after the child's slot. The child is the fixture's to kill. */
static struct proc *proc_start(struct fixture *fx, const char *const *args)
{
    struct proc *p;
    const char *argv[32];
    char dir[sizeof(fx->dir)];
    int n = 0;

    assert_true(fx->nprocs < MAX_PROCS);
    p = &fx->procs[fx->nprocs];
    memset(p, 0, sizeof(*p));
    memcpy(dir, fx->dir, sizeof(dir));
    snprintf(p->out, sizeof(p->out), "%s/out.%d", dir, fx->nprocs);
    snprintf(p->err, sizeof(p->err), "%s/err.%d", dir, fx->nprocs);
    snprintf(p->ready, sizeof(p->ready), "%s/ready.%d", dir, fx->nprocs);
    argv[n++] = fx->exe;
    for (; *args; args++) {
        assert_true(n < 31);
        argv[n++] = *args;
    }
    argv[n] = NULL;
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0
            || dup2(err, 2) < 0)
            _exit(126);
        execv(fx->exe, (char *const *)argv);
        _exit(127);
    }
    fx->nprocs++;
    return p;
}

/* Reap p if it has exited, waiting up to ms; true once it has. */
static bool proc_wait(struct proc *p, long ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!p->reaped) {
        pid_t r = waitpid(p->pid, &p->status, WNOHANG);

        if (r == p->pid)
            p->reaped = true;
        else if (r < 0 || mock_ms_since(&t0) >= ms)
            break;
        else
            mock_pause_ms(2);
    }
    return p->reaped;
}

/* Exit status of a reaped child that exited normally; fails the test otherwise. */
static int proc_exit_code(const struct proc *p)
{
    assert_true(p->reaped);
    if (!WIFEXITED(p->status))
        fail_msg("hogmock died of signal %d", WIFSIGNALED(p->status) ? WTERMSIG(p->status) : -1);
    return WEXITSTATUS(p->status);
}

/* Run hogmock with args to its end (bounded) and return its exit code. */
static int run_to_end(struct fixture *fx, const char *const *args, struct proc **out)
{
    struct proc *p = proc_start(fx, args);

    if (!proc_wait(p, 10000L * SLOW))
        fail_msg("hogmock %s did not exit within %d s", args[0], 10 * SLOW);
    *out = p;
    return proc_exit_code(p);
}

/* Wait until p has written its whole URL (a line) to its ready file; the URL into url.
 * Fails at once if p exits first, with what it printed. */
static void proc_wait_ready(struct proc *p, char *url, size_t size)
{
    struct buf b = BUF_INIT;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (slurp(p->ready, &b) && memchr(b.data, '\n', b.len))
            break;
        if (proc_wait(p, 0)) {
            slurp(p->err, &b);
            fail_msg("hogmock exited (status %d) before it was ready: %s", p->status, buf_cstr(&b));
        }
        if (mock_ms_since(&t0) > 15000L * SLOW)
            fail_msg("hogmock wrote no ready file within %d s", 15 * SLOW);
        mock_pause_ms(5);
    }
    snprintf(url, size, "%.*s", (int)strcspn(buf_cstr(&b), "\n"), buf_cstr(&b));
    buf_release(&b);
}

/* Wait until p has printed a whole line on stdout (it comes right after the ready file). */
static void proc_wait_stdout_line(struct proc *p, struct buf *out)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!(slurp(p->out, out) && memchr(out->data, '\n', out->len))) {
        if (mock_ms_since(&t0) > 5000L * SLOW)
            fail_msg("hogmock printed no line on stdout within %d s", 5 * SLOW);
        mock_pause_ms(5);
    }
}

/* Start a hogmock serving the test tokens on listen, wait until it is ready; its URL. */
static struct proc *serve(struct fixture *fx, const char *listen, const char *clock, char *url,
                          size_t size)
{
    char ready_opt[PATH_MAX];
    struct proc *p;
    const char *args[16];
    int n = 0;

    snprintf(ready_opt, sizeof(ready_opt), "%s/ready.%d", fx->dir, fx->nprocs);
    args[n++] = "--listen";
    args[n++] = listen;
    args[n++] = "--ready-file";
    args[n++] = ready_opt;
    args[n++] = "--tokens";
    args[n++] = fx->tokens;
    if (clock) {
        args[n++] = "--clock";
        args[n++] = clock;
    }
    args[n] = NULL;
    p = proc_start(fx, args);
    proc_wait_ready(p, url, size);
    return p;
}

/* Send SIGNO to p and wait (bounded by ms) for it to exit; its exit code, or -1. */
static int stop_with(struct proc *p, int signo, long ms, long *took_ms)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(kill(p->pid, signo), 0);
    if (!proc_wait(p, ms))
        return -1;
    if (took_ms)
        *took_ms = mock_ms_since(&t0);
    return proc_exit_code(p);
}

static int count_lines(const struct buf *b)
{
    int n = 0;
    size_t i;

    for (i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

/* A mock handle for the harness's calls to a hogmock in another process (only url used). */
static void ext_mock(struct mock *m, const char *url)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->url, sizeof(m->url), "%.*s", (int)sizeof(m->url) - 1, url);
}

/* ---- tests ---- */

static void test_help_exits_0_and_reads_like_a_man_page(void **state)
{
    static const char *const args[] = { "--help", NULL };
    struct fixture *fx = *state;
    struct buf out = BUF_INIT, err = BUF_INIT;
    struct proc *p;

    assert_int_equal(run_to_end(fx, args, &p), 0);
    slurp(p->out, &out);
    slurp(p->err, &err);
    assert_int_equal(strncmp(buf_cstr(&out), "NAME\n", 5), 0);
    assert_non_null(strstr(buf_cstr(&out), "\nSYNOPSIS\n"));
    assert_non_null(strstr(buf_cstr(&out), "\nOPTIONS\n"));
    assert_non_null(strstr(buf_cstr(&out), "\nEXIT STATUS\n"));
    assert_non_null(strstr(buf_cstr(&out), "--listen HOST:PORT"));
    assert_int_equal(err.len, 0);
    buf_release(&out);
    buf_release(&err);
}

static void test_bad_options_exit_with_one_line_naming_the_problem(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *args[4];
        int code, alt;          /* alt: another acceptable code, or -1 */
        const char *names;      /* what the message must mention */
    } cases[] = {
        { { "--bogus", NULL }, 2, -1, "--bogus" },
        { { "stray", NULL }, 2, -1, "stray" },
        { { "--listen", NULL }, 2, -1, "--listen" },
        /* A malformed address is found while starting: either code is a fair answer. */
        { { "--listen", "nonsense", NULL }, 2, 1, "nonsense" },
        { { "--listen", "127.0.0.1:99999", NULL }, 2, 1, "99999" },
        { { "--listen", "not.an.ip:80", NULL }, 2, 1, "not.an.ip" },
        { { "--clock", "sometimes", NULL }, 2, -1, "sometimes" },
        { { "--threads", "0", NULL }, 2, -1, "--threads" },
        { { "--threads", "300", NULL }, 2, -1, "300" },
        { { "--journal-max", "0", NULL }, 2, -1, "--journal-max" },
        { { "--log-level", "loud", NULL }, 2, -1, "loud" },
        { { "--spec", "/nonexistent/hogplane.yaml", NULL }, 1, -1, "/nonexistent/hogplane.yaml" },
        { { "--tokens", "/nonexistent/tokens.yaml", NULL }, 1, -1, "/nonexistent/tokens.yaml" },
        { { "--limits", "/nonexistent/limits.yaml", NULL }, 1, -1, "/nonexistent/limits.yaml" },
        { { "--db", "/nonexistent/dir/state.db", NULL }, 1, -1, "/nonexistent/dir/state.db" },
    };
    struct buf out = BUF_INIT, err = BUF_INIT;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proc *p;
        int code;

        /* Each run is its own child; keep the slots free for it. */
        fx->nprocs = 0;
        code = run_to_end(fx, cases[i].args, &p);
        slurp(p->out, &out);
        slurp(p->err, &err);
        if (code != cases[i].code && code != cases[i].alt)
            fail_msg("hogmock %s %s: exit %d, expected %d: %s", cases[i].args[0],
                     cases[i].args[1] ? cases[i].args[1] : "", code, cases[i].code,
                     buf_cstr(&err));
        if (count_lines(&err) != 1 || err.data[err.len - 1] != '\n'
            || strncmp(buf_cstr(&err), "hogmock: ", 9) != 0)
            fail_msg("hogmock %s: stderr is not one 'hogmock: ...' line: '%s'", cases[i].args[0],
                     buf_cstr(&err));
        if (!strstr(buf_cstr(&err), cases[i].names))
            fail_msg("hogmock %s: the message does not name '%s': %s", cases[i].args[0],
                     cases[i].names, buf_cstr(&err));
        assert_null(strstr(buf_cstr(&out), "listening"));
    }
    buf_release(&out);
    buf_release(&err);
}

static void test_a_count_that_is_not_a_number_gets_one_line(void **state)
{
    struct fixture *fx = *state;
    static const char *const cases[][3] = {
        { "--threads", "many", NULL },
        { "--journal-max", "lots", NULL },
        { "--boot-ms", "-5", NULL },
    };
    struct buf err = BUF_INIT;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proc *p;

        fx->nprocs = 0;
        assert_int_equal(run_to_end(fx, cases[i], &p), 2);
        slurp(p->err, &err);
        assert_int_equal(strncmp(buf_cstr(&err), "hogmock: ", 9), 0);
        assert_non_null(strstr(buf_cstr(&err), cases[i][0]));
        assert_non_null(strstr(buf_cstr(&err), cases[i][1]));
        /* Once two lines: the parse error, then a wrong "must be at least 1". */
        if (count_lines(&err) != 1)
            fail_msg("hogmock %s %s: %d lines on stderr:\n%s", cases[i][0], cases[i][1],
                     count_lines(&err), buf_cstr(&err));
    }
    buf_release(&err);
}

static void test_start_prints_the_url_and_writes_it_to_the_ready_file(void **state)
{
    struct fixture *fx = *state;
    char url[128], want[160];
    struct buf out = BUF_INIT;
    struct mock m;
    struct resp r;
    unsigned port = 0;
    int end = 0;
    struct proc *p = serve(fx, "127.0.0.1:0", "virtual", url, sizeof(url));

    assert_int_equal(sscanf(url, "http://127.0.0.1:%u%n", &port, &end), 1);
    assert_true(port > 0 && port < 65536);
    assert_int_equal((size_t)end, strlen(url));
    proc_wait_stdout_line(p, &out);
    snprintf(want, sizeof(want), "hogmock listening on %s\n", url);
    assert_string_equal(buf_cstr(&out), want);

    ext_mock(&m, url);
    mock_expect(&m, "adminHealth", 200, "GET", "/__hogmock/health", NULL, NULL, &r);
    resp_release(&r);
    mock_expect(&m, "getMe", 200, "GET", "/v1/me", "tok_alice", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_alice");
    resp_release(&r);

    assert_int_equal(stop_with(p, SIGTERM, 5000L * SLOW, NULL), 0);
    buf_release(&out);
}

static bool ipv6_loopback_available(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0)
        return false;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void test_listen_on_ipv6_loopback_serves_there(void **state)
{
    struct fixture *fx = *state;
    char url[128];
    struct mock m;
    struct resp r;
    unsigned port = 0;
    int end = 0;
    struct proc *p;

    if (!ipv6_loopback_available()) {
        skip();
        return;
    }
    p = serve(fx, "[::1]:0", "virtual", url, sizeof(url));
    assert_int_equal(sscanf(url, "http://[::1]:%u%n", &port, &end), 1);
    assert_int_equal((size_t)end, strlen(url));
    assert_true(port > 0 && port < 65536);
    ext_mock(&m, url);
    mock_expect(&m, "getMe", 200, "GET", "/v1/me", "tok_bob", NULL, &r);
    assert_string_equal(resp_str(&r, "principal_id"), "pr_bob");
    resp_release(&r);
    assert_int_equal(stop_with(p, SIGTERM, 5000L * SLOW, NULL), 0);
}

/* A request sent from a thread, so the main thread can signal hogmock meanwhile. */
struct inflight {
    const char *url;
    const char *target;
    const char *body;
    atomic_int sent;            /* the whole request is on the wire */
    long status;
    CURLcode rc;
    struct buf answer;
    long took_ms;               /* from the request being sent to the answer */
    struct timespec sent_at;
};

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct inflight *f = ctx;

    (void)dltotal;
    (void)dlnow;
    if (ultotal > 0 && ulnow == ultotal && !atomic_load(&f->sent)) {
        clock_gettime(CLOCK_MONOTONIC, &f->sent_at);
        atomic_store(&f->sent, 1);
    }
    return 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, data, size * n);
    return size * n;
}

static void *send_request(void *arg)
{
    struct inflight *f = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct buf url = BUF_INIT;

    buf_addf(&url, "%s%s", f->url, f->target);
    h = curl_slist_append(h, "Authorization: Bearer tok_alice");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, f->body);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f->answer);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L * SLOW);
    f->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    if (atomic_load(&f->sent))
        f->took_ms = mock_ms_since(&f->sent_at);
    /* Release the wait below even when the send never completed. */
    atomic_store(&f->sent, 1);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_release(&url);
    return NULL;
}

/* True once a new connection to port on 127.0.0.1 is refused. */
static bool refuses_connections(unsigned port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
    return rc != 0 && errno == ECONNREFUSED;
}

static void test_sigterm_lets_a_request_in_flight_finish_then_exits_0(void **state)
{
    struct fixture *fx = *state;
    char url[128], target[96];
    struct inflight f;
    struct mock m;
    struct resp r;
    struct timespec t0;
    pthread_t th;
    unsigned port = 0;
    bool refused = false;
    long refused_ms = -1;
    cJSON *j;
    int code;
    /* The real clock: the sleep below really takes 2 s. */
    struct proc *p = serve(fx, "127.0.0.1:0", NULL, url, sizeof(url));

    assert_int_equal(sscanf(url, "http://127.0.0.1:%u", &port), 1);
    ext_mock(&m, url);
    mock_expect(&m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice", "{}", &r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", resp_str(&r, "id"));
    resp_release(&r);

    memset(&f, 0, sizeof(f));
    f.url = url;
    f.target = target;
    f.body = "{\"argv\": [\"sleep\", \"2\"], \"timeout_seconds\": 5}";
    buf_init(&f.answer);
    atomic_init(&f.sent, 0);
    assert_int_equal(pthread_create(&th, NULL, send_request, &f), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!atomic_load(&f.sent) && mock_ms_since(&t0) < 10000L * SLOW)
        mock_pause_ms(2);
    if (!atomic_load(&f.sent)) {
        kill(p->pid, SIGKILL);
        pthread_join(th, NULL);
        fail_msg("the exec request was not sent within %d s", 10 * SLOW);
    }
    /* Not synchronisation: the signal is meant to land while the command sleeps. */
    mock_pause_ms(200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    /* Draining: new connections are refused while the request in flight goes on. */
    while (mock_ms_since(&t0) < 1500) {
        if (refuses_connections(port)) {
            refused = true;
            refused_ms = mock_ms_since(&t0);
            break;
        }
        mock_pause_ms(5);
    }
    pthread_join(th, NULL);
    code = proc_wait(p, 5000L * SLOW) ? proc_exit_code(p) : -1;
    print_message("sigterm: refused new connections after %ld ms; the request in flight "
                  "answered %ld after %ld ms; exit %d %ld ms after the signal\n",
                  refused_ms, f.status, f.took_ms, code, mock_ms_since(&t0));

    assert_int_equal(f.rc, CURLE_OK);
    assert_int_equal(f.status, 200);
    j = cJSON_ParseWithLength(f.answer.data, f.answer.len);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "timed_out")));
    cJSON_Delete(j);
    assert_true(f.took_ms >= 1500);
    assert_true(refused);
    assert_int_equal(code, 0);
    buf_release(&f.answer);
}

static void test_sigint_on_an_idle_server_exits_0_within_a_second(void **state)
{
    struct fixture *fx = *state;
    char url[128], me[160];
    struct buf body = BUF_INIT;
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    long status = 0, took = -1;
    struct proc *p = serve(fx, "127.0.0.1:0", "virtual", url, sizeof(url));
    int code;

    /* Leave an idle keep-alive connection open: it must not hold the exit up. */
    snprintf(me, sizeof(me), "%s/v1/me", url);
    h = curl_slist_append(h, "Authorization: Bearer tok_alice");
    curl_easy_setopt(c, CURLOPT_URL, me);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);

    code = stop_with(p, SIGINT, 1000L * SLOW, &took);
    print_message("sigint: exit %d after %ld ms\n", code, took);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_release(&body);
    assert_int_equal(code, 0);
}

static void test_a_second_hogmock_on_a_port_in_use_exits_1_saying_so(void **state)
{
    struct fixture *fx = *state;
    char url[128], listen[64], ready[PATH_MAX];
    struct buf err = BUF_INIT, out = BUF_INIT;
    const char *args[8];
    struct proc *first = serve(fx, "127.0.0.1:0", "virtual", url, sizeof(url)), *second;
    struct mock m;
    struct resp r;
    unsigned port = 0;
    int code;

    assert_int_equal(sscanf(url, "http://127.0.0.1:%u", &port), 1);
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    snprintf(ready, sizeof(ready), "%s/ready.second", fx->dir);
    args[0] = "--listen";
    args[1] = listen;
    args[2] = "--ready-file";
    args[3] = ready;
    args[4] = NULL;
    code = run_to_end(fx, args, &second);
    slurp(second->err, &err);
    slurp(second->out, &out);
    print_message("second hogmock: exit %d: %s", code, buf_cstr(&err));
    assert_int_equal(code, 1);
    assert_int_equal(count_lines(&err), 1);
    assert_int_equal(strncmp(buf_cstr(&err), "hogmock: ", 9), 0);
    assert_non_null(strstr(buf_cstr(&err), listen));
    assert_non_null(strstr(buf_cstr(&err), "in use"));
    assert_int_equal(out.len, 0);
    assert_int_equal(access(ready, F_OK), -1);

    /* The first one is untouched. */
    ext_mock(&m, url);
    mock_expect(&m, "adminHealth", 200, "GET", "/__hogmock/health", NULL, NULL, &r);
    resp_release(&r);
    assert_int_equal(stop_with(first, SIGTERM, 5000L * SLOW, NULL), 0);
    buf_release(&err);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help_exits_0_and_reads_like_a_man_page, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_options_exit_with_one_line_naming_the_problem,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_count_that_is_not_a_number_gets_one_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_start_prints_the_url_and_writes_it_to_the_ready_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_on_ipv6_loopback_serves_there, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_lets_a_request_in_flight_finish_then_exits_0,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigint_on_an_idle_server_exits_0_within_a_second,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_second_hogmock_on_a_port_in_use_exits_1_saying_so,
                                        setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
