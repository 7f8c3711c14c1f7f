/* child: a child process in a process group of its own, with its stdin and stdout as
 * pipes (or not) and its stderr in a file; line reads with deadlines; a bounded stop. */
#ifndef HOG_CHILD_H
#define HOG_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "rc.h"

struct child {
    pid_t pid;              /* 0 when not running */
    int in_fd;              /* its stdin, -1 without pipes or once closed */
    int out_fd;             /* its stdout, -1 without pipes */
    struct buf rbuf;        /* read but not yet returned */
    bool exited;
    int status;             /* wait status once exited */
};

#define CHILD_INIT { 0, -1, -1, BUF_INIT, false, 0 }

/* Start argv[0] (searched in PATH) with envp (NULL: this process's environment). With
 * pipes its stdin and stdout are pipes to us; without, stdin is /dev/null and stdout
 * goes with stderr to log_path. stderr goes to log_path (appended), or /dev/null when
 * it is NULL. */
enum rc child_start(struct child *c, char *const argv[], char *const envp[], bool pipes,
                    const char *log_path, struct buf *err);

/* Write all of data to its stdin. RC_IO when it is gone. */
enum rc child_write(struct child *c, const char *data, size_t len);

/* The next line of its stdout (without the newline) into line (reset first), waiting
 * until deadline (CLOCK_MONOTONIC ms) or until *stop turns true (checked every 100 ms;
 * stop may be NULL). RC_TIMEOUT at the deadline, RC_STOPPED when stopped, RC_IO at end
 * of output. */
enum rc child_read_line(struct child *c, long long deadline, const volatile int *stop,
                        struct buf *line);

/* Whether it has exited (reaped here), without waiting. */
bool child_exited(struct child *c);

/* Stop it: close its stdin, wait up to grace_ms for it to leave on its own (0: do not
 * wait), then SIGTERM its group, 2 s, SIGKILL. Always reaps it; frees the buffers. */
void child_stop(struct child *c, int grace_ms);

/* CLOCK_MONOTONIC in milliseconds. */
long long child_now_ms(void);

#endif
