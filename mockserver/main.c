/* hogmock: the command. Parses options, starts the mock, waits for SIGINT/SIGTERM, drains
 * and exits 0. Everything else lives in the library (hogmock.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hogmock.h"
#include "cli.h"
#include "log.h"
#include "fixtures_cli.h"
#include "mint_cli.h"

#define MAX_ISSUERS 8

static const char usage[] =
    "NAME\n"
    "    hogmock - a programmable mock of hogplane, the hogbox sandbox API\n"
    "\n"
    "SYNOPSIS\n"
    "    hogmock [OPTION]...\n"
    "    hogmock mint --issuer-key FILE --issuer URL [OPTION]...   (see hogmock mint --help)\n"
    "    hogmock fixtures derive|check ...   (see hogmock fixtures --help)\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves the hogplane API from its OpenAPI description with real state: hogboxes and\n"
    "    their lifecycle, files, snapshots and exec, kept in SQLite. Every request is routed\n"
    "    and validated against the spec, authenticated, journaled, and every error is an\n"
    "    RFC 9457 problem+json with a stable code. An admin API under /__hogmock/ (see\n"
    "    openapi/hogmock-admin.yaml) resets state, adds tokens, moves the clock, scripts\n"
    "    programs, and reads and verifies the journal (counts, order, gaps between\n"
    "    requests, requests no operation matched).\n"
    "\n"
    "    Fault plans (POST /__hogmock/faults, --faults FILE) make chosen requests fail as\n"
    "    networks and servers do: a status, a delay, a reset, garbage, a truncated or\n"
    "    dripping body, a stall, a rate limit, a broken event stream.\n"
    "\n"
    "    With --mode proxy --upstream URL it stands in front of a real host instead: every\n"
    "    /v1 request goes there, bodies streamed both ways, the credential untouched; each\n"
    "    answer is journaled and checked against the spec (GET /__hogmock/violations), and\n"
    "    fault plans apply on top. --mode record also writes each exchange as a fixture\n"
    "    (credentials redacted) for --mode replay.\n"
    "\n"
    "    hogmock can be its own OIDC issuers (--issuer): each serves a discovery document\n"
    "    at URL/__hogmock/oidc/NAME/.well-known/openid-configuration and its JWKS at\n"
    "    URL/__hogmock/oidc/NAME/keys, is trusted by hogmock itself (audience hogland),\n"
    "    and signs the tokens POST /__hogmock/mint makes, valid or broken on purpose.\n"
    "    'hogmock mint' signs the same tokens offline with a PEM key.\n"
    "\n"
    "    Once listening it prints 'hogmock listening on URL'. SIGINT or SIGTERM stops it:\n"
    "    it stops accepting, cuts open exec streams (they end without an exit event),\n"
    "    gives other requests in flight 5 s to finish, and exits 0.\n"
    "\n"
    "OPTIONS\n"
    "    --listen HOST:PORT   where to listen (default 127.0.0.1:0, a free port); IPv6 as\n"
    "                         [::1]:8080\n"
    "    --ready-file FILE    write the URL to FILE once listening\n"
    "    --spec FILE          the hogplane OpenAPI description (default: the bundled\n"
    "                         openapi/hogplane.yaml); operations it has that hogmock does not\n"
    "                         simulate answer 501\n"
    "    --admin-spec FILE    the admin API description (default: the bundled one)\n"
    "    --db FILE            keep state in FILE (SQLite, WAL) so it survives a restart\n"
    "                         (default: in memory, gone at exit)\n"
    "    --tokens FILE        API tokens, YAML or JSON: {tok_...: {principal_id, display_name}}\n"
    "                         (example: fixtures/auth/tokens.yaml)\n"
    "    --limits FILE        limits in the shape of GET /v1/limits, over the defaults\n"
    "    --auth-config FILE   trusted OIDC issuers (k8s_sa, github_oidc) and TrustMappings,\n"
    "                         YAML or JSON: {leeway_seconds, issuers: [...], trust: [...]}\n"
    "                         (example: fixtures/auth/auth-config.example.yaml); a bad file\n"
    "                         stops hogmock with the file and the JSON pointer at fault\n"
    "    --issuer NAME[=PEM]  run the built-in OIDC issuer NAME, k8s (ES256 by default) or\n"
    "                         github (RS256), with a new key or the private key in the PEM\n"
    "                         file (test keys: fixtures/auth/issuer-NAME.pem); repeatable\n"
    "    --tailscale-listen HOST:PORT\n"
    "                         also listen there as behind a Tailscale ingress: the hogplane\n"
    "                         API only, where Tailscale-User-Login names the caller through\n"
    "                         its tailscale TrustMapping (403 no_trust_mapping without one)\n"
    "                         and a request without it falls back to its bearer credential;\n"
    "                         the main listener ignores those headers and journals them as a\n"
    "                         spoofing attempt. Prints 'hogmock tailscale ingress on URL'\n"
    "    --upstream URL       proxy and record modes: the real host (http:// or https://,\n"
    "                         with a base path if it has one) every /v1 request goes to,\n"
    "                         untouched, with its answer checked against the spec (see\n"
    "                         GET /__hogmock/violations)\n"
    "    --mode MODE          where /v1 answers come from: sim (default, the simulation),\n"
    "                         replay (fixtures, see --fixtures), proxy or record (the real\n"
    "                         host of --upstream; record also writes fixtures)\n"
    "    --fixtures DIR       replay: the fixtures to answer from, loaded at start (a bad\n"
    "                         file stops hogmock with the file and the JSON pointer at\n"
    "                         fault); record: where fixtures are written. A request no\n"
    "                         fixture matches is 404 not_found naming the closest fixture\n"
    "                         and what differs. 'hogmock fixtures derive' makes fixtures from\n"
    "                         the spec's examples; GET /__hogmock/fixtures lists them\n"
    "    --faults FILE        fault plans to start with, YAML or JSON: a list of plans as\n"
    "                         POST /__hogmock/faults takes them (examples: fixtures/faults/);\n"
    "                         a bad plan stops hogmock with the file and the JSON pointer at\n"
    "                         fault\n"
    "    --admin-token TOKEN  open the admin API to any client sending\n"
    "                         X-Hogmock-Admin-Token: TOKEN (default: loopback clients only)\n"
    "    --clock real|virtual time source (default real); with virtual, time moves only\n"
    "                         through the admin clock API, and exec's sleep costs no time\n"
    "    --boot-ms N          new hogboxes stay 'creating' for N ms (default 0)\n"
    "    --snapshot-ms N      snapshots keep a box 'snapshotting' for N ms (default 0)\n"
    "    --threads N          request threads (default: two per core)\n"
    "    --journal-max N      requests kept in the journal (default 100000; past 24 MiB of\n"
    "                         entries the oldest go too)\n"
    "    --sse-keepalive-ms N a silent exec stream gets a ': keepalive' comment every N ms\n"
    "                         of the command's silence (default 15000, at least 10)\n"
    "    --log-level LEVEL    error, warn, info (default), debug or trace\n"
    "    -h, --help           show this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0 stopped by a signal after draining; 1 could not start; 2 bad usage.\n"

    "\n"
    "EXAMPLE\n"
    "    hogmock --listen 127.0.0.1:8080 --tokens fixtures/auth/tokens.yaml &\n"
    "    curl -H 'Authorization: Bearer tok_alice' http://127.0.0.1:8080/v1/me\n"
    "\n"
    "    hogmock --listen 127.0.0.1:8080 --issuer k8s=fixtures/auth/issuer-k8s.pem &\n"
    "    curl -H 'Content-Type: application/json' -d '{\"issuer\": \"k8s\"}' \\\n"
    "         http://127.0.0.1:8080/__hogmock/mint\n";

#define BAD_USAGE(...) cli_usage_error("hogmock", "--help", __VA_ARGS__)

static int parse_count(const char *opt, const char *s, unsigned long long max,
                       unsigned long long *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    if (!*s || *end || errno || *out > max || s[0] == '-') {
        BAD_USAGE("%s needs a number from 0 to %llu, not '%s'", opt, max, s);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct hogmock_config cfg;
    struct hogmock *hm;
    struct buf err = BUF_INIT;
    const char *issuers[MAX_ISSUERS + 1] = { NULL };
    size_t nissuers = 0;
    sigset_t stop;
    enum log_level level = LOG_INFO;
    int i, sig = 0;

    hogmock_config_init(&cfg);
    if (argc > 1 && strcmp(argv[1], "mint") == 0)
        return mint_cli_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "fixtures") == 0)
        return fixtures_cli_main(argc - 1, argv + 1);
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i], *val;
        char name[32];
        unsigned long long n;
        bool eq;

        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strncmp(opt, "--", 2) != 0)
            return BAD_USAGE("unexpected argument '%s'", opt);
        eq = cli_option(argc, argv, i, name, sizeof(name), &opt, &val);
#define TAKE() do { if (!val) return BAD_USAGE("%s needs a value", opt); if (!eq) i++; } while (0)
        if (strcmp(opt, "--listen") == 0) { TAKE(); cfg.listen = val; }
        else if (strcmp(opt, "--ready-file") == 0) { TAKE(); cfg.ready_file = val; }
        else if (strcmp(opt, "--spec") == 0) { TAKE(); cfg.spec_path = val; }
        else if (strcmp(opt, "--admin-spec") == 0) { TAKE(); cfg.admin_spec_path = val; }
        else if (strcmp(opt, "--db") == 0) { TAKE(); cfg.db_path = val; }
        else if (strcmp(opt, "--tokens") == 0) { TAKE(); cfg.tokens_path = val; }
        else if (strcmp(opt, "--limits") == 0) { TAKE(); cfg.limits_path = val; }
        else if (strcmp(opt, "--auth-config") == 0) { TAKE(); cfg.auth_config_path = val; }
        else if (strcmp(opt, "--tailscale-listen") == 0) { TAKE(); cfg.tailscale_listen = val; }
        else if (strcmp(opt, "--faults") == 0) { TAKE(); cfg.faults_path = val; }
        else if (strcmp(opt, "--upstream") == 0) { TAKE(); cfg.upstream = val; }
        else if (strcmp(opt, "--fixtures") == 0) { TAKE(); cfg.fixtures_dir = val; }
        else if (strcmp(opt, "--mode") == 0) {
            static const struct { const char *name; enum hogmock_mode mode; } modes[] = {
                { "sim", HOGMOCK_SIM }, { "replay", HOGMOCK_REPLAY },
                { "proxy", HOGMOCK_PROXY }, { "record", HOGMOCK_RECORD },
            };
            size_t k;

            TAKE();
            for (k = 0; k < 4 && strcmp(val, modes[k].name) != 0; k++)
                ;
            if (k == 4)
                return BAD_USAGE("--mode takes sim, replay, proxy or record, not '%s'", val);
            cfg.mode = modes[k].mode;
        }
        else if (strcmp(opt, "--issuer") == 0) {
            TAKE();
            if (nissuers == MAX_ISSUERS)
                return BAD_USAGE("--issuer is given more than %d times", MAX_ISSUERS);
            issuers[nissuers++] = val;
            cfg.issuers = issuers;
        }
        else if (strcmp(opt, "--admin-token") == 0) {
            TAKE();
            if (!*val)
                return BAD_USAGE("%s must not be empty", opt);
            cfg.admin_token = val;
        } else if (strcmp(opt, "--clock") == 0) {
            TAKE();
            if (strcmp(val, "virtual") != 0 && strcmp(val, "real") != 0)
                return BAD_USAGE("--clock takes 'real' or 'virtual', not '%s'", val);
            cfg.virtual_clock = strcmp(val, "virtual") == 0;
        } else if (strcmp(opt, "--boot-ms") == 0) {
            TAKE();
            if (parse_count(opt, val, 86400000ull, &n))
                return 2;
            cfg.boot_ms = n;
        } else if (strcmp(opt, "--snapshot-ms") == 0) {
            TAKE();
            if (parse_count(opt, val, 86400000ull, &n))
                return 2;
            cfg.snapshot_ms = n;
        } else if (strcmp(opt, "--threads") == 0) {
            TAKE();
            if (parse_count(opt, val, 256, &n))
                return 2;
            if (n == 0)
                return BAD_USAGE("%s must be at least 1", opt);
            cfg.threads = (unsigned)n;
        } else if (strcmp(opt, "--journal-max") == 0) {
            TAKE();
            if (parse_count(opt, val, 100000000ull, &n))
                return 2;
            if (n == 0)
                return BAD_USAGE("%s must be at least 1", opt);
            cfg.journal_max = (size_t)n;
        } else if (strcmp(opt, "--sse-keepalive-ms") == 0) {
            TAKE();
            if (parse_count(opt, val, 86400000ull, &n))
                return 2;
            if (n < 10)
                return BAD_USAGE("%s must be at least 10", opt);
            cfg.sse_keepalive_ms = n;
        } else if (strcmp(opt, "--log-level") == 0) {
            TAKE();
            if (log_level_parse(val, &level) != RC_OK)
                return BAD_USAGE("--log-level takes error, warn, info, debug or trace, not '%s'", val);
        } else {
            return BAD_USAGE("unknown option '%s'", argv[i]);
        }
#undef TAKE
    }
    log_set_level(level);

    /* Block the stop signals before any thread starts, so only sigwait sees them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (hogmock_start(&cfg, &hm, &err) != RC_OK) {
        fprintf(stderr, "hogmock: %s\n", buf_cstr(&err));
        buf_release(&err);
        return 1;
    }
    printf("hogmock listening on %s\n", hogmock_url(hm));
    if (hogmock_tailscale_url(hm))
        printf("hogmock tailscale ingress on %s\n", hogmock_tailscale_url(hm));
    fflush(stdout);
    sigwait(&stop, &sig);
    log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    hogmock_stop(hm);
    buf_release(&err);
    return 0;
}
