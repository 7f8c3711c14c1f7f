/* shell: a hogbox's sh (dash), bash and coreutils, emulated so exec prints what Debian 12 prints.
 * It never reads the host's files, spawns a process or reads the clock: the callbacks do all that. */
#ifndef HOG_SHELL_H
#define HOG_SHELL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"

/* What shell_run returns when a callback asked to stop. */
#define SHELL_STOPPED (-1)

struct shell_io {
    /* Output as the program produces it, fd 1 (stdout) or 2 (stderr), in order; return
     * non-zero to stop the program (the client went away). Required. len is never 0 and
     * never over SHELL_WRITE_MAX; data is borrowed for the call only. */
    int (*write)(void *ctx, int fd, const char *data, size_t len);
    /* The program sleeps ms milliseconds (sleep, or scripted delays); the caller decides
     * whether time is virtual (batch exec advances a clock) or real (a stream waits);
     * return non-zero to stop (timeout reached). UINT64_MAX means forever (sleep inf).
     * May be NULL: sleeps then take no time. */
    int (*sleep)(void *ctx, uint64_t ms);
    /* Read the box file at an absolute, normalised path into content (appending to the
     * empty buffer it is given): RC_OK, RC_NOT_FOUND (no such file), or RC_INVALID (it is
     * a directory). May be NULL: then the box has only the standard directories. */
    enum rc (*read_file)(void *ctx, const char *path, struct buf *content);
    void *ctx;
};

struct shell_env {
    const char *const *env;   /* "NAME=value" strings, NULL-terminated (NULL: empty); the program's environment */
    const char *workdir;      /* absolute; what pwd prints and relative cat paths resolve against (NULL: "/") */
};

/* The largest single write the shell makes through shell_io.write. */
#define SHELL_WRITE_MAX 65536

/* Run argv (argc >= 1) as a hogbox would run it through execve: returns the exit status
 * 0..255, or SHELL_STOPPED (-1) when a callback asked to stop. Never reads the host's
 * files, never spawns a process. Everything it is given is borrowed for the call; the
 * same inputs and callback answers always give the same outputs; calls on different
 * threads share nothing. Past one of its bounds it writes "hogmock: shell emulation
 * limit: ..." on stderr and returns 2. */
int shell_run(const char *const *argv, size_t argc, const struct shell_env *env,
              const struct shell_io *io);

#endif
