#include "exec.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "files.h"
#include "problem.h"
#include "programs.h"
#include "server.h"
#include "shell.h"
#include "sim.h"
#include "vclock.h"
#include "xmalloc.h"

/* Choices where the spec leaves room:
 * - a workdir that is not a directory of the box is 422 validation_failed (/workdir),
 *   found before the command starts, as a real box's chdir would fail;
 * - on a virtual clock sleeps take no real time and duration_ms is the simulated time,
 *   so timeouts are exact and instant; the hogmock clock itself is not moved;
 * - the 1 MiB cap counts raw bytes; a UTF-8 character cut by it is dropped, and the
 *   rest of the output is still run and counted (the *_truncated flags);
 * - NUL bytes are kept and sent as \u0000 (the result is written without cJSON). */

/* Exit status of a command killed by SIGKILL, as a shell reports it. */
#define EXIT_KILLED 137
#define EXIT_TIMED_OUT 124
#define DEFAULT_WORKDIR "/root"

/* ---- UTF-8 ------------------------------------------------------------------------ */

static const char replacement[] = "\xEF\xBF\xBD";

/* How many continuation bytes lead byte b announces (0 for ASCII), or -1 when b cannot
 * start a sequence; *lo and *hi bound the first continuation byte (ruling out overlongs,
 * surrogates and code points above U+10FFFF). */
static int utf8_lead(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80)
        return 0;
    if (b >= 0xC2 && b <= 0xDF)
        return 1;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
            *lo = 0xA0;
        if (b == 0xED)
            *hi = 0x9F;
        return 2;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
            *lo = 0x90;
        if (b == 0xF4)
            *hi = 0x8F;
        return 3;
    }
    return -1;
}

/* Convert s[0..n) to out; returns how many bytes at the end form an incomplete but so far
 * valid sequence (not converted) unless final. */
static size_t utf8_convert(const unsigned char *s, size_t n, bool final, struct buf *out)
{
    size_t i = 0, run = 0;

    while (i < n) {
        unsigned char lo, hi;
        int need = utf8_lead(s[i], &lo, &hi);
        size_t k;

        if (need == 0) {
            i++;
            continue;
        }
        if (need < 0) {
            buf_add(out, s + run, i - run);
            buf_add(out, replacement, 3);
            run = ++i;
            continue;
        }
        /* s[i] starts a sequence of need continuation bytes; find its maximal valid part. */
        for (k = 1; k <= (size_t)need && i + k < n; k++) {
            unsigned char c = s[i + k];

            if (c < lo || c > hi)
                break;
            lo = 0x80;
            hi = 0xBF;
        }
        if (k == (size_t)need + 1) {
            i += k;
            continue;
        }
        if (i + k == n && !final) {
            buf_add(out, s + run, i - run);
            return n - i;
        }
        buf_add(out, s + run, i - run);
        buf_add(out, replacement, 3);
        i += k;
        run = i;
    }
    buf_add(out, s + run, n - run);
    return 0;
}

void exec_utf8_feed(struct exec_utf8 *u, const void *data, size_t len, bool final,
                    struct buf *out)
{
    const unsigned char *s = data;
    size_t held;

    if (!len) {
        if (final && u->npend) {
            utf8_convert(u->pend, u->npend, true, out);
            u->npend = 0;
        }
        return;
    }
    if (u->npend) {
        /* Complete the held-back sequence first, with as few bytes as it takes. */
        unsigned char tmp[8];
        size_t take = len < 4 ? len : 4, n;

        memcpy(tmp, u->pend, u->npend);
        memcpy(tmp + u->npend, s, take);
        n = u->npend + take;
        held = utf8_convert(tmp, n, final && take == len, out);
        if (held == n) {
            /* Still incomplete: everything given so far continues it. */
            memcpy(u->pend, tmp, n);
            u->npend = n;
            return;
        }
        /* tmp converted up to its last `held` bytes; those came from s. Re-run s after
         * the bytes of it that were consumed. */
        u->npend = 0;
        s += take - held;
        len -= take - held;
    }
    held = utf8_convert(s, len, final, out);
    if (held)
        memcpy(u->pend, s + len - held, held);
    u->npend = held;
}

/* How many bytes at the start of s[0..n) are valid UTF-8, whole characters only. ASCII,
 * the usual output, is checked a word at a time. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char lo, hi;
        uint64_t w;
        size_t k;
        int need;

        if (n - i >= 8) {
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        need = utf8_lead(s[i], &lo, &hi);
        if (need < 0)
            return i;
        if ((size_t)need >= n - i)
            return i;
        for (k = 1; k <= (size_t)need; k++) {
            if (s[i + k] < lo || s[i + k] > hi)
                return i;
            lo = 0x80;
            hi = 0xBF;
        }
        i += k;
    }
    return i;
}

/* Is s[0..n) (n < 4) the start of a character that more bytes could complete? */
static bool utf8_incomplete(const unsigned char *s, size_t n)
{
    unsigned char lo, hi;
    int need = utf8_lead(s[0], &lo, &hi);
    size_t k;

    if (need <= 0 || n > (size_t)need)
        return false;
    for (k = 1; k < n; k++) {
        if (s[k] < lo || s[k] > hi)
            return false;
        lo = 0x80;
        hi = 0xBF;
    }
    return true;
}

const char *exec_utf8_view(struct exec_utf8 *u, const void *data, size_t len, bool final,
                           struct buf *scratch, size_t *n)
{
    const unsigned char *s = data;
    size_t valid;

    /* Output that needs no repair, the usual case, is passed on where it is. */
    if (!u->npend && len) {
        valid = utf8_valid_prefix(s, len);
        if (valid == len) {
            *n = len;
            return data;
        }
        if (!final && len - valid < 4 && utf8_incomplete(s + valid, len - valid)) {
            memcpy(u->pend, s + valid, len - valid);
            u->npend = len - valid;
            *n = valid;
            return data;
        }
    }
    buf_reset(scratch);
    exec_utf8_feed(u, data, len, final, scratch);
    *n = scratch->len;
    return buf_cstr(scratch);
}

void exec_utf8_drop_tail(struct exec_utf8 *u)
{
    u->npend = 0;
}

/* ---- the run ---------------------------------------------------------------------- */

struct run {
    const struct exec_job *job;
    const struct exec_sink *sink;
    bool real;              /* a real clock: sleeps really wait */
    uint64_t elapsed_ms;    /* simulated time the command has spent */
    bool timed_out, stopped;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static bool run_over(const struct run *run)
{
    return run->timed_out || run->stopped;
}

/* The command sleeps ms: 0 to go on, non-zero once it must stop (timeout or the sink).
 * A sleep that reaches the deadline is cut there: the command is killed at it (a real
 * sleep always takes a little longer than asked, so one that ends exactly at the
 * deadline is killed too). */
static int run_sleep(struct run *run, uint64_t ms)
{
    const struct exec_sink *sink = run->sink;
    uint64_t left, step, done = 0;

    if (run_over(run))
        return 1;
    left = run->job->timeout_ms > run->elapsed_ms ? run->job->timeout_ms - run->elapsed_ms : 0;
    step = ms < left ? ms : left;
    if (run->real) {
        uint64_t start = mono_ms();

        while (done < step) {
            nap(step - done < EXEC_TICK_MS ? step - done : EXEC_TICK_MS);
            done = mono_ms() - start;
            if (done > step)
                done = step;
            if (done < step && (atomic_load(&run->job->hm->drain_over)
                                || (sink->tick && sink->tick(sink->ctx, run->elapsed_ms + done)))) {
                run->elapsed_ms += done;
                run->stopped = true;
                return 1;
            }
        }
    }
    run->elapsed_ms += step;
    if (ms >= left) {
        run->timed_out = true;
        return 1;
    }
    if (step && sink->tick && sink->tick(sink->ctx, run->elapsed_ms)) {
        run->stopped = true;
        return 1;
    }
    return 0;
}

static int run_write(struct run *run, int fd, const char *data, size_t len)
{
    if (run_over(run))
        return 1;
    if (!len)
        return 0;
    if (run->sink->output(run->sink->ctx, fd == 2 ? 2 : 1, data, len)) {
        run->stopped = true;
        return 1;
    }
    return 0;
}

static int run_program(struct run *run, const struct program *prog)
{
    int exit_code = 0;
    size_t i;

    for (i = 0; i < prog->nevents && !run_over(run); i++) {
        const struct program_event *ev = &prog->events[i];

        if (ev->after_ms && run_sleep(run, ev->after_ms))
            break;
        if (ev->fd == 0) {
            exit_code = ev->exit_code;
            break;
        }
        if (run_write(run, ev->fd, ev->data, ev->len))
            break;
    }
    return exit_code;
}

/* The box's own environment, before the request's env: what a root login shell of a
 * Debian box has, less what only a terminal sets. */
static const char *const default_env[] = {
    "HOME=/root",
    "LOGNAME=root",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "SHELL=/bin/sh",
    "USER=root",
};
#define NDEFAULT_ENV (sizeof(default_env) / sizeof(default_env[0]))

static int shell_write(void *ctx, int fd, const char *data, size_t len)
{
    return run_write(ctx, fd, data, len);
}

static int shell_sleep(void *ctx, uint64_t ms)
{
    return run_sleep(ctx, ms);
}

static enum rc shell_read_file(void *ctx, const char *path, struct buf *content)
{
    const struct run *run = ctx;

    return files_read(run->job->hm->store, run->job->box_id, path, content);
}

/* The default environment with the request's variables laid over it: a name the
 * request sets replaces the default in place, new names follow in the request's order.
 * A new NULL-terminated array of borrowed strings (caller frees the array only). */
static const char **merged_env(const struct exec_job *job)
{
    const char **env = xcalloc(NDEFAULT_ENV + job->nenv + 1, sizeof(*env));
    size_t n = 0, i, k;

    for (i = 0; i < NDEFAULT_ENV; i++)
        env[n++] = default_env[i];
    for (i = 0; i < job->nenv; i++) {
        size_t name = strcspn(job->env[i], "=") + 1;

        for (k = 0; k < n; k++)
            if (strncmp(env[k], job->env[i], name) == 0)
                break;
        env[k] = job->env[i];
        if (k == n)
            n++;
    }
    env[n] = NULL;
    return env;
}

static int run_shell(struct run *run)
{
    const char **env = merged_env(run->job);
    struct shell_env senv = { env, run->job->workdir };
    struct shell_io io = { shell_write, shell_sleep, shell_read_file, run };
    int status = shell_run((const char *const *)run->job->argv, run->job->argc, &senv, &io);

    free(env);
    return status < 0 ? 0 : status;
}

void exec_run(const struct exec_job *job, const struct exec_sink *sink, struct exec_result *res)
{
    struct run run = { job, sink, !vclock_is_virtual(job->hm->clock), 0, false, false };
    struct program *prog = NULL;
    uint64_t start = mono_ms();
    int exit_code;

    if (job->hm->programs)
        prog = programs_match(job->hm->programs, (const char *const *)job->argv, job->argc);
    if (prog) {
        exit_code = run_program(&run, prog);
        program_free(prog);
    } else {
        exit_code = run_shell(&run);
    }
    res->timed_out = run.timed_out;
    res->stopped = run.stopped;
    res->exit_code = run.timed_out ? EXIT_TIMED_OUT : run.stopped ? EXIT_KILLED
                                                                    : exit_code & 0xff;
    res->duration_ms = run.real ? mono_ms() - start : run.elapsed_ms;
}

/* ---- the request ------------------------------------------------------------------ */

void exec_job_release(struct exec_job *job)
{
    size_t i;

    free(job->box_id);
    for (i = 0; job->argv && i < job->argc; i++)
        free(job->argv[i]);
    free(job->argv);
    for (i = 0; job->env && i < job->nenv; i++)
        free(job->env[i]);
    free(job->env);
    free(job->workdir);
    memset(job, 0, sizeof(*job));
}

bool exec_prepare(struct req *r, struct exec_job *job)
{
    const struct hog_limits *lim = &r->hm->limits;
    const cJSON *argv = cJSON_GetObjectItemCaseSensitive(r->json, "argv");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(r->json, "timeout_seconds");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(r->json, "env");
    const cJSON *workdir = cJSON_GetObjectItemCaseSensitive(r->json, "workdir");
    const char *box = req_path_str(r, "id");
    const cJSON *it;
    cJSON *problem = NULL;
    struct buf wd = BUF_INIT;
    int64_t secs = lim->exec_timeout_seconds.def;
    char state[32];
    bool is_dir = false;
    size_t i;

    memset(job, 0, sizeof(*job));
    /* The schema has been checked by the server; what is left are the limits, which
     * may be narrower than the schema, and what only the box can tell. */
    if (!cJSON_IsArray(argv) || cJSON_GetArraySize(argv) < 1) {
        problem = problem_new(422, "validation_failed", "The request body has invalid fields.");
        problem_add_error(problem, "/argv", "must have at least 1 item");
    }
    if (timeout) {
        char detail[64];

        /* Range-checked before the cast, which is undefined for a huge double. */
        bool integral = cJSON_IsNumber(timeout) && timeout->valuedouble >= -1e15
                        && timeout->valuedouble <= 1e15
                        && timeout->valuedouble == (double)(int64_t)timeout->valuedouble;

        secs = integral ? (int64_t)timeout->valuedouble : -1;
        detail[0] = '\0';
        if (!integral)
            snprintf(detail, sizeof(detail), "must be an integer");
        else if (secs < lim->exec_timeout_seconds.min)
            snprintf(detail, sizeof(detail), "must be at least %lld",
                     (long long)lim->exec_timeout_seconds.min);
        else if (secs > lim->exec_timeout_seconds.max)
            snprintf(detail, sizeof(detail), "must be at most %lld",
                     (long long)lim->exec_timeout_seconds.max);
        if (detail[0]) {
            if (!problem)
                problem = problem_new(422, "validation_failed",
                                      "The request body has invalid fields.");
            problem_add_error(problem, "/timeout_seconds", detail);
        }
    }
    if (files_normalise(cJSON_IsString(workdir) ? workdir->valuestring : DEFAULT_WORKDIR, &wd)
        != RC_OK) {
        if (!problem)
            problem = problem_new(422, "validation_failed", "The request body has invalid fields.");
        problem_add_error(problem, "/workdir", "must be an absolute path");
    }
    if (problem) {
        req_problem_json(r, problem);
        goto fail;
    }
    if (!r->principal || sim_box_state(r->hm, r->principal->id, box, state, sizeof(state))
                             != RC_OK) {
        sim_box_not_found(r, box);
        goto fail;
    }
    if (strcmp(state, "running") != 0) {
        sim_invalid_state(r, box, state, "running");
        goto fail;
    }
    /* A real box could not chdir there and would run nothing: refuse before starting. */
    if (files_stat(r->hm->store, box, buf_cstr(&wd), &is_dir) != RC_OK || !is_dir) {
        problem = problem_new(422, "validation_failed", "Working directory %s is not a "
                              "directory in hogbox %s.", buf_cstr(&wd), box);
        problem_add_error(problem, "/workdir", "must be an existing directory in the hogbox");
        req_problem_json(r, problem);
        goto fail;
    }

    job->hm = r->hm;
    job->box_id = xstrdup(box);
    job->argc = (size_t)cJSON_GetArraySize(argv);
    job->argv = xcalloc(job->argc + 1, sizeof(*job->argv));
    i = 0;
    cJSON_ArrayForEach(it, argv)
        job->argv[i++] = xstrdup(cJSON_IsString(it) ? it->valuestring : "");
    job->nenv = cJSON_IsObject(env) ? (size_t)cJSON_GetArraySize(env) : 0;
    job->env = xcalloc(job->nenv + 1, sizeof(*job->env));
    i = 0;
    if (cJSON_IsObject(env)) {
        cJSON_ArrayForEach(it, env) {
            struct buf kv = BUF_INIT;

            buf_addf(&kv, "%s=%s", it->string, cJSON_IsString(it) ? it->valuestring : "");
            job->env[i++] = buf_detach(&kv, NULL);
        }
    }
    job->workdir = buf_detach(&wd, NULL);
    job->timeout_ms = (uint64_t)secs * 1000u;
    return true;

fail:
    buf_release(&wd);
    return false;
}

/* ---- execHogbox ------------------------------------------------------------------- */

/* The batch sink: each stream kept up to the cap, the rest counted and dropped. */
struct collect {
    struct buf text[2];         /* stdout, stderr: valid UTF-8 */
    struct exec_utf8 utf8[2];
    uint64_t kept[2], total[2];
    uint64_t cap;
};

static int collect_output(void *ctx, int fd, const char *data, size_t len)
{
    struct collect *c = ctx;
    int i = fd == 2;
    uint64_t room = c->cap > c->kept[i] ? c->cap - c->kept[i] : 0;
    size_t take = len < room ? len : (size_t)room;

    c->total[i] += len;
    if (take) {
        exec_utf8_feed(&c->utf8[i], data, take, false, &c->text[i]);
        c->kept[i] += take;
    }
    return 0;
}

static void exec_hogbox(struct req *r)
{
    struct exec_job job;
    struct collect c;
    struct exec_sink sink = { collect_output, NULL, &c };
    struct exec_result res;
    struct buf out = BUF_INIT;
    bool trunc[2];
    size_t len;
    char *body;
    int i;

    if (!exec_prepare(r, &job))
        return;
    memset(&c, 0, sizeof(c));
    c.cap = r->hm->limits.exec_output_max_bytes > 0 ? (uint64_t)r->hm->limits.exec_output_max_bytes
                                                    : 0;
    exec_run(&job, &sink, &res);
    for (i = 0; i < 2; i++) {
        trunc[i] = c.total[i] > c.kept[i];
        if (trunc[i])
            exec_utf8_drop_tail(&c.utf8[i]);   /* a character cut by the cap is dropped */
        else
            exec_utf8_feed(&c.utf8[i], NULL, 0, true, &c.text[i]);
    }
    buf_addf(&out, "{\"exit_code\":%d,\"stdout\":", res.exit_code);
    buf_add_json_str(&out, c.text[0].data, c.text[0].len);
    buf_addstr(&out, ",\"stderr\":");
    buf_add_json_str(&out, c.text[1].data, c.text[1].len);
    buf_addf(&out, ",\"stdout_truncated\":%s,\"stderr_truncated\":%s,\"timed_out\":%s,"
             "\"duration_ms\":%llu}", trunc[0] ? "true" : "false", trunc[1] ? "true" : "false",
             res.timed_out ? "true" : "false", (unsigned long long)res.duration_ms);
    for (i = 0; i < 2; i++)
        buf_release(&c.text[i]);
    exec_job_release(&job);
    body = buf_detach(&out, &len);
    req_bytes(r, 200, "application/json", body, len);
}

const struct route exec_routes[] = {
    { "execHogbox", exec_hogbox, ROUTE_BLOCKING },
    { NULL, NULL, 0 },
};
