/* hogconf: the conformance runner's command line: run the scenario suites through an
 * adapter against hogmock (or a real host), list them, report; exit 0, 1 or 2. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "buf.h"
#include "bundle.h"
#include "log.h"
#include "mockapi.h"
#include "report.h"
#include "runner.h"
#include "scenario.h"
#include "xmalloc.h"

#define MAX_FILTERS 64

static const char usage[] =
    "NAME\n"
    "    hogconf - run the hogplane conformance suites against a client, through its adapter\n"
    "\n"
    "SYNOPSIS\n"
    "    hogconf run [OPTION]...\n"
    "    hogconf list [--scenarios DIR] [--suite NAME] [--scenario GLOB] [--skip GLOB]\n"
    "    hogconf --help\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads the scenario files (conformance/scenarios/<suite>/*.yaml, the format is\n"
    "    conformance/SCENARIOS.md); a file with a mistake is reported with file:line:col and\n"
    "    counts as an error of the run ('list' exits 2 on it). 'run' starts hogmock as a\n"
    "    child on a free port of 127.0.0.1 (virtual clock, the test tokens, the built-in k8s\n"
    "    and github issuers) and drives the client under test through its adapter\n"
    "    (harness/PROTOCOL.md, hogconf/1) scenario by scenario. Each scenario\n"
    "    gets a principal of its own (pr_<hash of its id>) and a fresh credential for it,\n"
    "    so scenarios run in parallel without seeing each other; its setup goes through\n"
    "    hogmock's admin API (fault plans scoped to its principal); a new adapter process\n"
    "    is started for each scenario with HOG_HOST and HOG_TOKEN (or HOG_TOKEN_FILE).\n"
    "    Scenarios whose setup changes what every principal shares (clock, scripted\n"
    "    programs, services, issuers, TrustMappings), or whose requests may be refused\n"
    "    before they have a principal (JWT auth paths, other credentials), each get a\n"
    "    hogmock of their own, started for them with the same options. They run in\n"
    "    parallel with the others; their checks see every request sent to their hogmock.\n"
    "\n"
    "    Each step's answer is checked against its expect, then the scenario's wire checks\n"
    "    run over hogmock's journal of its principal, and every request it sent must carry\n"
    "    Authorization: Bearer and a User-Agent, no credential in the URL, match an\n"
    "    operation of the spec, and repeat its Idempotency-Key when it retries a create.\n"
    "\n"
    "    A scenario needing a feature the adapter does not announce is skipped (N/A); an\n"
    "    adapter whose hello says runnable: false has every scenario skipped as not\n"
    "    runnable. An adapter that gives no answer by the call's deadline_ms plus 5 s\n"
    "    (60 s without one), or that exits, is killed (SIGTERM, then SIGKILL) and the\n"
    "    scenario is an error; the run goes on. A failed setup is an error. Ctrl-C stops\n"
    "    the run, kills the children and prints the report so far.\n"
    "\n"
    "OPTIONS (run)\n"
    "    --target mock|real   mock (default): hogmock simulates hogplane. real: hogmock runs\n"
    "                         as a validating proxy in front of --host; scenarios that\n"
    "                         name the real target run one at a time, the boxes they make\n"
    "                         are labelled hogconf-run=<run id> and destroyed after each\n"
    "                         scenario and again at the end of the run (Ctrl-C included)\n"
    "    --host URL           real: the hogplane base URL\n"
    "    --token TOKEN        real: the credential (or $HOG_TOKEN)\n"
    "    --token-file FILE    real: a file holding the credential (or $HOG_TOKEN_FILE)\n"
    "    --adapter CMD        the adapter command, run by /bin/sh (default: hog-adapter-c\n"
    "                         beside hogconf); 'python' means python3\n"
    "                         harness/adapters/python/stdlib_adapter.py\n"
    "    --suite NAME         only this suite (repeatable; NAME,NAME also works)\n"
    "    --scenario GLOB      only scenarios whose id matches (repeatable): 'lifecycle/*'\n"
    "    --skip GLOB          leave out scenarios whose id matches (repeatable)\n"
    "    --shard I/N          only the I-th of N shards (1 <= I <= N), split by a hash of\n"
    "                         the scenario id: stable across runs and machines\n"
    "    --jobs N             scenarios run at once (default 8)\n"
    "    --baseline FILE      known failures, a YAML list of {id, reason}: a listed scenario\n"
    "                         that fails does not fail the run, one that passes does (a\n"
    "                         stale entry); new failures are printed ready to paste\n"
    "    --junit FILE         write a JUnit XML report (a testsuite per suite)\n"
    "    --json FILE          write everything as JSON (steps, answers, journal entries)\n"
    "    --artifacts DIR      per failing scenario, DIR/<suite>_<name>/: result.txt,\n"
    "                         adapter.ndjson (the transcript), adapter.stderr,\n"
    "                         journal.json (its requests) and hogmock.log\n"
    "    --seed N             seed of fault plans that draw at random without a seed of\n"
    "                         their own (default: from the time; printed)\n"
    "    --run-id ID          the run's id, in the label hogconf-run=ID of every box it\n"
    "                         creates and in scenario variables (default: random, so shards\n"
    "                         and runs sharing a seed never destroy each other's boxes);\n"
    "                         1 to 31 of A-Z a-z 0-9 . _ -\n"
    "    --scenarios DIR      where the scenario files are (default: conformance/scenarios\n"
    "                         of the kit)\n"
    "    --hogmock FILE       the hogmock binary (default: hogmock beside hogconf)\n"
    "    --hogmock-wait S     how long each hogmock may take to start, 1 to 3600 s\n"
    "                         (default 20; more on a slow or emulated machine)\n"
    "    -q, --quiet          print only what is not a pass, and the summary\n"
    "    -h, --help           show this text\n"
    "\n"
    "OUTPUT\n"
    "    One line per scenario as it ends, PASS|FAIL|ERROR|SKIP id (ms); a failure adds what\n"
    "    was expected and what came, and the journal of its requests. Then a table per\n"
    "    suite, and last the line 'N passed, M failed' (', K skipped' when some were).\n"
    "    Errors count as failed; known failures of the baseline are counted apart.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 every scenario passed (skips allowed), 1 a scenario failed or a baseline entry is\n"
    "    stale or a scenario file does not load, 2 bad usage, an infrastructure error\n"
    "    (hogmock or the adapter cannot start) or an interrupted run.\n"
    "\n"
    "EXAMPLES\n"
    "    hogconf run\n"
    "    hogconf run --adapter python --suite lifecycle --junit build/junit.xml\n"
    "    hogconf run --adapter 'node my-adapter.js' --baseline known.yaml --artifacts out\n"
    "    hogconf run --target real --host https://staging.hogland.example --token-file tok\n"
    "    hogconf list --suite auth\n";

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("hogconf: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try --help)\n", stderr);
    return 2;
}

struct opts {
    const char *cmd;
    const char *target, *adapter, *host, *token, *token_file;
    const char *suites[MAX_FILTERS], *globs[MAX_FILTERS], *skips[MAX_FILTERS];
    size_t nsuites, nglobs, nskips;
    unsigned shard_i, shard_n, jobs, hogmock_wait;
    const char *junit, *json, *artifacts, *baseline, *scenarios, *hogmock;
    unsigned long long seed;
    const char *run_id;
    bool seed_set, quiet;
};

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool known_option(const char *name)
{
    static const char *const with_value[] = {
        "--target", "--adapter", "--host", "--token", "--token-file", "--suite", "--scenario",
        "--skip", "--shard", "--jobs", "--seed", "--run-id", "--junit", "--json", "--artifacts", "--baseline",
        "--scenarios", "--hogmock", "--hogmock-wait",
    };
    size_t i;

    for (i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
        if (strcmp(name, with_value[i]) == 0)
            return true;
    return false;
}

static int parse(int argc, char **argv, struct opts *o)
{
    int i;

    o->target = "mock";
    o->jobs = 8;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char *eq;
        char name[64];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if (a[0] != '-') {
            if (o->cmd)
                return bad_usage("unexpected argument '%s'", a);
            o->cmd = a;
            continue;
        }
        snprintf(name, sizeof(name), "%s", a);
        eq = strchr(name, '=');
        if (eq)
            *eq = '\0';
        if (!known_option(name))
            return bad_usage("unknown option '%s'", name);
        if (eq) {
            val = a + (eq - name) + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return bad_usage("%s needs a value", a);
        }
#define IS(n) (strcmp(name, n) == 0)
        if (IS("--target")) {
            if (strcmp(val, "mock") != 0 && strcmp(val, "real") != 0)
                return bad_usage("--target takes mock or real, not '%s'", val);
            o->target = val;
        } else if (IS("--adapter")) {
            o->adapter = val;
        } else if (IS("--host")) {
            o->host = val;
        } else if (IS("--token")) {
            o->token = val;
        } else if (IS("--token-file")) {
            o->token_file = val;
        } else if (IS("--suite")) {
            if (o->nsuites == MAX_FILTERS)
                return bad_usage("too many --suite");
            o->suites[o->nsuites++] = val;
        } else if (IS("--scenario")) {
            if (o->nglobs == MAX_FILTERS)
                return bad_usage("too many --scenario");
            o->globs[o->nglobs++] = val;
        } else if (IS("--skip")) {
            if (o->nskips == MAX_FILTERS)
                return bad_usage("too many --skip");
            o->skips[o->nskips++] = val;
        } else if (IS("--shard")) {
            unsigned si, sn;
            char extra;

            if (sscanf(val, "%u/%u%c", &si, &sn, &extra) != 2 || sn == 0 || si == 0 || si > sn)
                return bad_usage("--shard takes I/N with 1 <= I <= N, not '%s'", val);
            o->shard_i = si;
            o->shard_n = sn;
        } else if (IS("--jobs")) {
            unsigned long long v;

            if (!parse_uint(val, 64, &v) || v == 0)
                return bad_usage("--jobs takes 1 to 64, not '%s'", val);
            o->jobs = (unsigned)v;
        } else if (IS("--seed")) {
            if (!parse_uint(val, 0xFFFFFFFFFFFFULL, &o->seed))
                return bad_usage("--seed takes a number up to 2^48-1, not '%s'", val);
            o->seed_set = true;
        } else if (IS("--run-id")) {
            if (!*val || strlen(val) > 31 || strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                    "abcdefghijklmnopqrstuvwxyz0123456789._-")
                                                 != strlen(val))
                return bad_usage("--run-id takes 1 to 31 of A-Z a-z 0-9 . _ -, not '%s'", val);
            o->run_id = val;
        } else if (IS("--junit")) {
            o->junit = val;
        } else if (IS("--json")) {
            o->json = val;
        } else if (IS("--artifacts")) {
            o->artifacts = val;
        } else if (IS("--baseline")) {
            o->baseline = val;
        } else if (IS("--scenarios")) {
            o->scenarios = val;
        } else if (IS("--hogmock")) {
            o->hogmock = val;
        } else if (IS("--hogmock-wait")) {
            unsigned long long v;

            if (!parse_uint(val, 3600, &v) || v == 0)
                return bad_usage("--hogmock-wait takes 1 to 3600 seconds, not '%s'", val);
            o->hogmock_wait = (unsigned)v;
        } else {
            return bad_usage("unknown option '%s'", name);
        }
#undef IS
    }
    if (!o->cmd)
        return bad_usage("say what to do: run or list");
    if (strcmp(o->cmd, "run") != 0 && strcmp(o->cmd, "list") != 0)
        return bad_usage("unknown command '%s'", o->cmd);
    if (strcmp(o->target, "real") == 0) {
        if (!o->host)
            return bad_usage("--target real needs --host");
        if (!str_startswith(o->host, "http://") && !str_startswith(o->host, "https://"))
            return bad_usage("--host takes an http:// or https:// URL, not '%s'", o->host);
        if (!o->token && !o->token_file) {
            o->token_file = getenv("HOG_TOKEN_FILE");
            o->token = o->token_file ? NULL : getenv("HOG_TOKEN");
        }
        if (!o->token && !o->token_file)
            return bad_usage("--target real needs --token or --token-file (or $HOG_TOKEN)");
    } else if (o->host || o->token || o->token_file) {
        return bad_usage("--host, --token and --token-file are for --target real");
    }
    return 0;
}

/* path of name beside this binary (build/bin/NAME). */
static void beside_me(const char *name, struct buf *out)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            buf_addf(out, "%s/%s", exe, name);
            return;
        }
    }
    buf_addstr(out, name);
}

/* Whether name is one of the comma-separated items of list. */
static bool in_comma_list(const char *list, const char *name)
{
    size_t n = strlen(name);

    while (*list) {
        size_t len = strcspn(list, ",");

        if (len == n && strncmp(list, name, n) == 0)
            return true;
        list += len + (list[len] == ',');
    }
    return false;
}

static bool selected(const struct opts *o, const struct scenario *sc)
{
    size_t i;
    bool hit;

    if (o->nsuites) {
        for (i = 0, hit = false; i < o->nsuites; i++)
            hit |= in_comma_list(o->suites[i], sc->suite);
        if (!hit)
            return false;
    }
    if (o->nglobs) {
        for (i = 0, hit = false; i < o->nglobs; i++)
            hit |= scenario_glob(o->globs[i], sc->id);
        if (!hit)
            return false;
    }
    for (i = 0; i < o->nskips; i++)
        if (scenario_glob(o->skips[i], sc->id))
            return false;
    if (o->shard_n && sc->hash % o->shard_n != o->shard_i - 1)
        return false;
    return true;
}

static void list(const struct scenario *const *sel, size_t n)
{
    size_t i;

    printf("%-40s %-10s %-10s %-28s %s\n", "ID", "TARGETS", "AUTH", "REQUIRES", "TITLE");
    for (i = 0; i < n; i++) {
        const struct scenario *sc = sel[i];
        struct buf req = BUF_INIT;
        const cJSON *f;

        cJSON_ArrayForEach(f, sc->requires)
            buf_addf(&req, "%s%s", req.len ? "," : "", f->valuestring);
        printf("%-40s %-10s %-10s %-28s %s%s\n", sc->id,
               sc->targets == (TARGET_MOCK | TARGET_REAL) ? "mock,real"
               : sc->targets == TARGET_REAL ? "real" : "mock",
               sc->auth, req.len ? buf_cstr(&req) : "-", sc->title,
               sc->exclusive ? " [own hogmock]" : "");
        buf_release(&req);
    }
    printf("%zu scenario%s\n", n, n == 1 ? "" : "s");
}

struct printer {
    const struct baseline *baseline;
    bool color, quiet;
};

static void on_result(const struct result *r, void *ctx)
{
    struct printer *p = ctx;

    baseline_apply(p->baseline, (struct result *)r);
    if (p->quiet && r->outcome == OUTCOME_PASS && !r->stale)
        return;
    report_result(stdout, r, p->baseline, p->color);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct opts o;
    struct scenario_set set = { NULL, 0 };
    struct baseline baseline = BASELINE_INIT;
    struct buf dir = BUF_INIT, err = BUF_INIT, adapter = BUF_INIT, hogmock = BUF_INIT,
               tokens = BUF_INIT;
    const struct scenario **sel = NULL;
    struct result *results = NULL;
    struct run run;
    struct printer printer;
    struct tally t;
    struct sigaction sa;
    size_t n = 0, i;
    int status = 2, e;
    bool broken = false;

    memset(&o, 0, sizeof(o));
    memset(&run, 0, sizeof(run));
    xmalloc_init_cjson();
    if ((e = parse(argc, argv, &o)) != 0)
        return e;
    if (o.scenarios)
        buf_addstr(&dir, o.scenarios);
    else
        bundle_path("conformance/scenarios", &dir);
    if (scenario_load_dir(buf_cstr(&dir), &set, &err) != RC_OK) {
        fprintf(stderr, "hogconf: scenario files in '%s' do not load%s:\n%s", buf_cstr(&dir),
                strcmp(o.cmd, "run") == 0 ? " (each is reported as an error)" : "", buf_cstr(&err));
        if (set.n == 0 || strcmp(o.cmd, "list") == 0)
            broken = true;
        buf_reset(&err);
    }
    sel = xcalloc(set.n + 1, sizeof(*sel));
    for (i = 0; i < set.n; i++)
        if (selected(&o, &set.items[i]))
            sel[n++] = &set.items[i];
    if (strcmp(o.cmd, "list") == 0) {
        list(sel, n);
        status = broken ? 2 : 0;
        goto out;
    }
    if (broken)
        goto out;
    if (n == 0) {
        fprintf(stderr, "hogconf: no scenario in '%s' is selected\n", buf_cstr(&dir));
        goto out;
    }
    if (o.baseline && baseline_load(o.baseline, &baseline, &err) != RC_OK) {
        fprintf(stderr, "hogconf: %s\n", buf_cstr(&err));
        goto out;
    }
    if (!o.adapter) {
        beside_me("hog-adapter-c", &adapter);
    } else if (strcmp(o.adapter, "python") == 0) {
        struct buf script = BUF_INIT;

        bundle_path("harness/adapters/python/stdlib_adapter.py", &script);
        buf_addf(&adapter, "python3 '%s'", buf_cstr(&script));
        buf_release(&script);
    } else {
        buf_addstr(&adapter, o.adapter);
    }
    if (o.hogmock)
        buf_addstr(&hogmock, o.hogmock);
    else
        beside_me("hogmock", &hogmock);
    bundle_path("fixtures/auth/tokens.yaml", &tokens);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    mockapi_global_init();

    run.real = strcmp(o.target, "real") == 0;
    run.adapter = buf_cstr(&adapter);
    run.hogmock = buf_cstr(&hogmock);
    run.hogmock_wait_s = o.hogmock_wait;
    run.tokens = buf_cstr(&tokens);
    run.host = o.host;
    run.token = o.token;
    run.token_file = o.token_file;
    run.jobs = o.jobs;
    if (o.seed_set) {
        run.seed = o.seed;
    } else {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        run.seed = ((unsigned long long)ts.tv_sec * 1000003ULL ^ (unsigned long long)ts.tv_nsec
                    ^ (unsigned long long)getpid() << 16) & 0xFFFFFFFFFFFFULL;
    }
    if (o.run_id)
        snprintf(run.run_id, sizeof(run.run_id), "%s", o.run_id);
    run.stop = &stop_flag;
    printer.baseline = &baseline;
    printer.quiet = o.quiet;
    printer.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR")
                    && !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
    run.on_result = on_result;
    run.ctx = &printer;
    if (run.real)
        o.jobs = 1;     /* the runner runs them one at a time there */
    printf("hogconf: %zu scenario%s, target %s, adapter %s, seed %llu, %u job%s\n", n,
           n == 1 ? "" : "s", o.target, run.adapter, run.seed, o.jobs, o.jobs == 1 ? "" : "s");
    fflush(stdout);

    results = xcalloc(n + 1, sizeof(*results));
    if (runner_run(&run, sel, n, results, &err) != RC_OK) {
        fprintf(stderr, "hogconf: %s\n", buf_cstr(&err));
        goto out;
    }
    if (run.leftovers)
        printf("destroyed %u box%s left by this run\n", run.leftovers,
               run.leftovers == 1 ? "" : "es");
    if (run.sweep_error) {
        fflush(stdout);
        fprintf(stderr, "hogconf: warning: boxes labelled hogconf-run=%s may remain on %s: %s\n",
                run.run_id, o.host, run.sweep_error);
    }
    report_summary(stdout, &run, results, n, &baseline);
    buf_reset(&err);
    if (o.junit && report_junit(o.junit, &run, results, n, &err) != RC_OK)
        fprintf(stderr, "hogconf: %s\n", buf_cstr(&err));
    else if (o.json && report_json(o.json, &run, results, n, &baseline, &err) != RC_OK)
        fprintf(stderr, "hogconf: %s\n", buf_cstr(&err));
    else if (o.artifacts && report_artifacts(o.artifacts, &run, results, n, &err) != RC_OK)
        fprintf(stderr, "hogconf: %s\n", buf_cstr(&err));
    if (err.len)
        goto out;
    report_tally(results, n, &t);
    status = run.interrupted ? 2 : t.failed ? 1 : 0;
out:
    for (i = 0; results && i < n; i++)
        result_release(&results[i]);
    free(results);
    runner_release(&run);
    free(sel);
    baseline_release(&baseline);
    scenario_set_release(&set);
    buf_release(&dir);
    buf_release(&err);
    buf_release(&adapter);
    buf_release(&hogmock);
    buf_release(&tokens);
    mockapi_global_cleanup();
    return status;
}
