/* hogspec: load an OpenAPI spec the way the kit does, list what the kit sees in it, check
 * every example against its schema, and show how a request routes. Reads only; changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "examples.h"
#include "openapi.h"
#include "params.h"
#include "schema.h"
#include "xmalloc.h"

static const char usage[] =
    "usage: hogspec [--spec FILE] [-q] check\n"
    "       hogspec [--spec FILE] route METHOD TARGET\n"
    "       hogspec [--spec FILE] json\n"
    "\n"
    "Loads an OpenAPI 3.x document as hogmock and hogconf do (YAML or JSON, local $refs,\n"
    "path templates) and reports what they would see.\n"
    "\n"
    "commands:\n"
    "  check                 list every operation, then validate every example of every\n"
    "                        request and response against its schema (event streams event\n"
    "                        by event); exit 1 when one does not validate\n"
    "  route METHOD TARGET   show the operation that METHOD TARGET (a path with an optional\n"
    "                        ?query) reaches and its typed parameters, or why none does\n"
    "  json                  print the document, once loaded, as one line of JSON (what\n"
    "                        the build keeps of the bundled specs, which hogmock reads\n"
    "                        several times faster than their YAML)\n"
    "\n"
    "options:\n"
    "  --spec FILE   the document to load (default: the bundled openapi/hogplane.yaml,\n"
    "                or $HOG_SPEC when set)\n"
    "  -q, --quiet   check: print only problems and the summary\n"
    "  -h, --help    show this text\n"
    "\n"
    "exit status: 0 all good, 1 problems found or no route, 2 usage or load error\n";

/* The bundled spec, or $HOG_SPEC when set. */
static void default_spec(struct buf *out)
{
    const char *env = getenv("HOG_SPEC");

    if (env && *env)
        buf_addstr(out, env);
    else
        bundle_path("openapi/hogplane.yaml", out);
}

struct check {
    const struct openapi *api;
    const struct schema *schema;
    size_t examples, bad, problems;
};

static int check_one(const struct example *ex, void *ctx)
{
    struct check *c = ctx;
    struct buf problems = BUF_INIT, where = BUF_INIT;
    size_t n = example_check(c->api, c->schema, ex, &problems);

    c->examples++;
    if (n) {
        example_describe(ex, &where);
        printf("example %s does not validate:\n%s", buf_cstr(&where), buf_cstr(&problems));
        c->bad++;
        c->problems += n;
    }
    buf_release(&problems);
    buf_release(&where);
    return 0;
}

static int cmd_check(const struct openapi *api, const char *path, bool quiet)
{
    struct schema *schema = schema_new(openapi_doc(api));
    struct check c = { api, schema, 0, 0, 0 };
    struct buf err = BUF_INIT;
    size_t i;
    enum rc rc;

    if (!quiet) {
        printf("%s: OpenAPI %s, %zu operations\n", path, openapi_version(api),
               openapi_op_count(api));
        for (i = 0; i < openapi_op_count(api); i++) {
            const struct openapi_op *op = openapi_op_at(api, i);

            printf("  %-7s %-48s %s", op->method, op->path, op->operation_id);
            if (strcmp(op->name, op->operation_id) != 0)
                printf(" (%s)", op->name);
            putchar('\n');
        }
    }
    rc = examples_foreach(api, check_one, &c, &err);
    schema_free(schema);
    if (rc != RC_OK) {
        fprintf(stderr, "hogspec: %s\n", buf_cstr(&err));
        buf_release(&err);
        return 2;
    }
    printf("%zu examples checked: %zu valid, %zu invalid (%zu problems)\n", c.examples,
           c.examples - c.bad, c.bad, c.problems);
    return c.bad ? 1 : 0;
}

static void print_params(const char *what, const cJSON *obj)
{
    char *text;

    if (!obj || !obj->child)
        return;
    text = cJSON_PrintUnformatted(obj);
    printf("  %s: %s\n", what, text);
    cJSON_free(text);
}

static int cmd_route(const struct openapi *api, const char *method, const char *target)
{
    const char *q = strchr(target, '?');
    char *path = q ? xstrndup(target, (size_t)(q - target)) : xstrdup(target);
    struct param_issues issues = { 0 };
    struct openapi_match m;
    cJSON *pathp = NULL, *query = NULL;
    int status = 0;
    size_t i;

    switch (openapi_route(api, method, path, &m)) {
    case RC_OK:
        break;
    case RC_METHOD_NOT_ALLOWED:
        printf("405 %s takes only %s\n", path, m.allow);
        free(path);
        return 1;
    case RC_PARSE:
        printf("400 '%s' has a malformed %%-escape\n", path);
        free(path);
        return 1;
    default:
        printf("404 no path of the spec matches '%s'\n", path);
        free(path);
        return 1;
    }
    printf("%s %s -> %s", m.op->method, m.op->path, m.op->operation_id);
    if (strcmp(m.op->name, m.op->operation_id) != 0)
        printf(" (%s)", m.op->name);
    putchar('\n');
    params_path(m.op, &m, &pathp, &issues);
    params_query(m.op, q ? q + 1 : NULL, &query, &issues);
    print_params("path", pathp);
    print_params("query", query);
    for (i = 0; i < issues.count; i++) {
        printf("  400 %s parameter '%s' %s\n",
               issues.items[i].in == OPENAPI_IN_PATH ? "path" : "query",
               issues.items[i].name, issues.items[i].detail);
        status = 1;
    }
    cJSON_Delete(pathp);
    cJSON_Delete(query);
    param_issues_release(&issues);
    openapi_match_release(&m);
    free(path);
    return status;
}

static int cmd_json(const struct openapi *api)
{
    char *text = cJSON_PrintUnformatted(openapi_doc(api));
    int status = 0;

    if (!text || puts(text) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "hogspec: cannot write the JSON\n");
        status = 2;
    }
    cJSON_free(text);
    return status;
}

int main(int argc, char **argv)
{
    struct buf spec = BUF_INIT, err = BUF_INIT;
    struct openapi *api = NULL;
    const char *args[3], *cmd;
    bool quiet = false;
    int i, nargs = 0, status;

    xmalloc_init_cjson();
    /* Options may come before or after the command. */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            buf_release(&spec);
            return 0;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(argv[i], "--spec") == 0 || strncmp(argv[i], "--spec=", 7) == 0) {
            const char *v = argv[i][6] == '=' ? argv[i] + 7 : (i + 1 < argc ? argv[++i] : NULL);

            if (!v || !*v) {
                fprintf(stderr, "hogspec: --spec needs a file name\n");
                buf_release(&spec);
                return 2;
            }
            buf_reset(&spec);
            buf_addstr(&spec, v);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "hogspec: unknown option '%s' (try --help)\n", argv[i]);
            buf_release(&spec);
            return 2;
        } else if (nargs < 3) {
            args[nargs++] = argv[i];
        } else {
            fprintf(stderr, "hogspec: unexpected argument '%s' (try --help)\n", argv[i]);
            buf_release(&spec);
            return 2;
        }
    }
    if (nargs == 0) {
        fputs(usage, stderr);
        buf_release(&spec);
        return 2;
    }
    cmd = args[0];
    if (strcmp(cmd, "check") != 0 && strcmp(cmd, "route") != 0 && strcmp(cmd, "json") != 0) {
        fprintf(stderr, "hogspec: unknown command '%s' (check, route, json)\n", cmd);
        buf_release(&spec);
        return 2;
    }
    if (nargs != (strcmp(cmd, "route") == 0 ? 3 : 1)) {
        if (strcmp(cmd, "route") == 0)
            fprintf(stderr, "hogspec: route takes METHOD and TARGET, as in: route GET /v1/me\n");
        else
            fprintf(stderr, "hogspec: %s takes no argument\n", cmd);
        buf_release(&spec);
        return 2;
    }
    if (!spec.len)
        default_spec(&spec);
    if (openapi_load(buf_cstr(&spec), &api, &err) != RC_OK) {
        fprintf(stderr, "hogspec: %s\n", buf_cstr(&err));
        buf_release(&err);
        buf_release(&spec);
        return 2;
    }
    if (strcmp(cmd, "check") == 0)
        status = cmd_check(api, buf_cstr(&spec), quiet);
    else if (strcmp(cmd, "json") == 0)
        status = cmd_json(api);
    else
        status = cmd_route(api, args[1], args[2]);
    openapi_free(api);
    buf_release(&spec);
    buf_release(&err);
    return status;
}
