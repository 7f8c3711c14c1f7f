/* cli: what the hogmock commands (hogmock, hogmock mint, hogmock fixtures) share in reading
 * their command lines. Writes to stderr only and never exits: the command decides. */
#ifndef HOG_CLI_H
#define HOG_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Say "prog: message (try hint)" on stderr; returns 2, the exit status of bad usage. */
int cli_usage_error(const char *prog, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* argv[i] read as "--name" or "--name=value": *opt gets the name (copied into name, of size
 * bytes, when a value follows '='), *val the value after '=', else argv[i + 1], else NULL.
 * Returns whether argv[i] holds a '=' (argv[i + 1] is then not its value). */
bool cli_option(int argc, char **argv, int i, char *name, size_t size, const char **opt,
                const char **val);

#endif
