#include "fixtures_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli.h"
#include "derive.h"
#include "fixtures.h"
#include "openapi.h"
#include "xmalloc.h"

static const char usage[] =
    "NAME\n"
    "    hogmock fixtures - make and check the fixtures that --mode replay answers from\n"
    "\n"
    "SYNOPSIS\n"
    "    hogmock fixtures derive [--spec FILE] --out DIR\n"
    "    hogmock fixtures check DIR\n"
    "\n"
    "DESCRIPTION\n"
    "    A fixture is one request and the response to give it, in a YAML file of its own\n"
    "    (the format is in fixtures/README.md).\n"
    "\n"
    "    derive writes one fixture per example of every response of every operation of\n"
    "    the spec, successes and documented errors alike, named\n"
    "    <operationId>-<status>-<example>.yaml, plus <operationId>-<status>-no_content.yaml\n"
    "    for each response without a body. The request is the request-body example of the\n"
    "    same name (else the first, when the body is required), with path parameters and\n"
    "    required query and header parameters from their examples. Fixtures of one\n"
    "    operation with the same request are told apart by the header\n"
    "    'Prefer: example=<name>', which every one but the first needs. Files of the same\n"
    "    name in DIR are replaced; others are left alone.\n"
    "\n"
    "    check loads every fixture of DIR as hogmock --mode replay --fixtures DIR does,\n"
    "    and reports the first bad one with its file and the JSON pointer at fault.\n"
    "\n"
    "OPTIONS\n"
    "    --spec FILE   the OpenAPI description to derive from (default: the bundled\n"
    "                  openapi/hogplane.yaml)\n"
    "    --out DIR     where derive writes (created when missing)\n"
    "    -q, --quiet   print nothing but errors\n"
    "    -h, --help    show this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0 done; 1 the spec cannot be loaded, DIR cannot be written, or a fixture is bad;\n"
    "    2 bad usage.\n"
    "\n"
    "EXAMPLES\n"
    "    hogmock fixtures derive --out build/fixtures\n"
    "    hogmock fixtures check build/fixtures\n"
    "    hogmock --mode replay --fixtures build/fixtures --tokens fixtures/auth/tokens.yaml\n";

#define BAD_USAGE(...) \
    cli_usage_error("hogmock fixtures", "hogmock fixtures --help", __VA_ARGS__)

struct save {
    const char *dir;
    size_t written;
    struct buf *err;
};

static int save_one(const struct fixture *f, void *ctx)
{
    struct save *s = ctx;

    if (fixture_save(s->dir, f, s->err) != RC_OK)
        return 1;
    s->written++;
    return 0;
}

static int derive(const char *spec, const char *out, bool quiet)
{
    struct buf path = BUF_INIT, err = BUF_INIT;
    struct openapi *api = NULL;
    struct save s = { out, 0, &err };
    const char *base;
    int status = 1;

    if (!spec) {
        bundle_path("openapi/hogplane.yaml", &path);
        spec = buf_cstr(&path);
    }
    if (openapi_load(spec, &api, &err) != RC_OK)
        goto out;
    base = strrchr(spec, '/') ? strrchr(spec, '/') + 1 : spec;
    if (derive_fixtures(api, base, save_one, &s, &err) != RC_OK)
        goto out;
    if (!quiet)
        printf("derived %zu fixtures from %s into %s\n", s.written, spec, out);
    status = 0;
out:
    if (status)
        fprintf(stderr, "hogmock fixtures: %s\n", buf_cstr(&err));
    openapi_free(api);
    buf_release(&path);
    buf_release(&err);
    return status;
}

static int check(const char *dir, bool quiet)
{
    struct fixture_set *set = NULL;
    struct buf err = BUF_INIT;

    if (fixture_set_load(dir, &set, &err) != RC_OK) {
        fprintf(stderr, "hogmock fixtures: %s\n", buf_cstr(&err));
        buf_release(&err);
        return 1;
    }
    if (!quiet)
        printf("%zu fixtures in %s, all valid\n", fixture_set_count(set), dir);
    fixture_set_free(set);
    return 0;
}

int fixtures_cli_main(int argc, char **argv)
{
    const char *command = NULL, *spec = NULL, *out = NULL, *dir = NULL;
    bool quiet = false;
    int i;

    xmalloc_init_cjson();
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i], *val;
        char name[32];
        bool eq;

        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(opt, "-q") == 0 || strcmp(opt, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (strncmp(opt, "--", 2) != 0) {
            if (!command)
                command = opt;
            else if (strcmp(command, "check") == 0 && !dir)
                dir = opt;
            else
                return BAD_USAGE("unexpected argument '%s'", opt);
            continue;
        }
        eq = cli_option(argc, argv, i, name, sizeof(name), &opt, &val);
        if (strcmp(opt, "--spec") != 0 && strcmp(opt, "--out") != 0)
            return BAD_USAGE("unknown option '%s'", argv[i]);
        if (!val || !*val)
            return BAD_USAGE("%s needs a value", opt);
        if (!eq)
            i++;
        if (strcmp(opt, "--spec") == 0)
            spec = val;
        else
            out = val;
    }
    if (!command)
        return BAD_USAGE("a command is needed: derive or check");
    if (strcmp(command, "derive") == 0) {
        if (!out)
            return BAD_USAGE("derive needs --out DIR");
        return derive(spec, out, quiet);
    }
    if (strcmp(command, "check") == 0) {
        if (spec || out)
            return BAD_USAGE("check takes a directory only");
        if (!dir)
            return BAD_USAGE("check needs the directory to check");
        return check(dir, quiet);
    }
    return BAD_USAGE("unknown command '%s' (derive or check)", command);
}
