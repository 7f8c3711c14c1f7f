#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *prog, const char *hint, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try %s)\n", hint);
    return 2;
}

bool cli_option(int argc, char **argv, int i, char *name, size_t size, const char **opt,
                const char **val)
{
    const char *eq = strchr(argv[i], '=');

    *opt = argv[i];
    *val = NULL;
    if (eq && (size_t)(eq - argv[i]) < size) {
        snprintf(name, size, "%.*s", (int)(eq - argv[i]), argv[i]);
        *opt = name;
        *val = eq + 1;
    } else if (i + 1 < argc) {
        *val = argv[i + 1];
    }
    return eq != NULL;
}
