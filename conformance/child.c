#define _GNU_SOURCE     /* pipe2 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES ((size_t)256 << 20)

extern char **environ;

long long child_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum rc child_start(struct child *c, char *const argv[], char *const envp[], bool pipes,
                    const char *log_path, struct buf *err)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dflt;
    int e;

    c->pid = 0;
    c->in_fd = c->out_fd = -1;
    c->exited = false;
    buf_init(&c->rbuf);
    if (pipes && (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)) {
        buf_addf(err, "unable to make a pipe: %s", strerror(errno));
        goto fail;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (pipes) {
        posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path ? log_path : "/dev/null",
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log_path ? log_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    /* A group of its own: Ctrl-C reaches only us, and a stop reaches its children too. */
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                             | POSIX_SPAWN_SETSIGDEF);
    e = posix_spawnp(&c->pid, argv[0], &fa, &attr, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e != 0) {
        buf_addf(err, "unable to start '%s': %s", argv[0], strerror(e));
        c->pid = 0;
        goto fail;
    }
    if (pipes) {
        close(in[0]);
        close(out[1]);
        c->in_fd = in[1];
        c->out_fd = out[0];
    }
    return RC_OK;
fail:
    if (in[0] >= 0) {
        close(in[0]);
        close(in[1]);
    }
    if (out[0] >= 0) {
        close(out[0]);
        close(out[1]);
    }
    return RC_ERR;
}

enum rc child_write(struct child *c, const char *data, size_t len)
{
    size_t off = 0;

    if (c->in_fd < 0)
        return RC_IO;
    while (off < len) {
        ssize_t n = write(c->in_fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return RC_IO;
        off += (size_t)n;
    }
    return RC_OK;
}

enum rc child_read_line(struct child *c, long long deadline, const volatile int *stop,
                        struct buf *line)
{
    size_t scanned = 0;     /* rbuf[0..scanned) holds no newline: a long line is read once */

    buf_reset(line);
    for (;;) {
        char *nl = c->rbuf.len > scanned ? memchr(c->rbuf.data + scanned, '\n', c->rbuf.len - scanned)
                                         : NULL;
        struct pollfd pfd;
        long long left;
        ssize_t n;
        int r;

        if (nl) {
            size_t take = (size_t)(nl - c->rbuf.data);

            buf_add(line, c->rbuf.data, take);
            if (take && line->data[take - 1] == '\r')
                buf_truncate(line, take - 1);
            memmove(c->rbuf.data, nl + 1, c->rbuf.len - take - 1);
            buf_truncate(&c->rbuf, c->rbuf.len - take - 1);
            return RC_OK;
        }
        scanned = c->rbuf.len;
        if (c->out_fd < 0 || c->rbuf.len > LINE_MAX_BYTES)
            return RC_IO;
        if (stop && *stop)
            return RC_STOPPED;
        left = deadline - child_now_ms();
        if (left <= 0)
            return RC_TIMEOUT;
        pfd.fd = c->out_fd;
        pfd.events = POLLIN;
        r = poll(&pfd, 1, (int)(left < 100 ? left : 100));
        if (r < 0 && errno != EINTR)
            return RC_IO;
        if (r <= 0)
            continue;
        buf_grow(&c->rbuf, 1 << 16);
        n = read(c->out_fd, c->rbuf.data + c->rbuf.len, c->rbuf.cap - c->rbuf.len - 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return RC_IO;
        c->rbuf.len += (size_t)n;
        c->rbuf.data[c->rbuf.len] = '\0';
    }
}

bool child_exited(struct child *c)
{
    if (c->pid > 0 && !c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
        c->exited = true;
    return c->pid <= 0 || c->exited;
}

/* Wait up to ms for it to exit; whether it did. */
static bool wait_exit(struct child *c, int ms)
{
    long long end = child_now_ms() + ms;

    while (!child_exited(c)) {
        struct timespec ts = { 0, 10 * 1000000L };

        if (child_now_ms() >= end)
            return false;
        nanosleep(&ts, NULL);
    }
    return true;
}

void child_stop(struct child *c, int grace_ms)
{
    if (c->in_fd >= 0) {
        close(c->in_fd);
        c->in_fd = -1;
    }
    if (c->pid > 0) {
        if (grace_ms <= 0 || !wait_exit(c, grace_ms)) {
            kill(-c->pid, SIGTERM);
            kill(c->pid, SIGTERM);
            if (!wait_exit(c, 2000)) {
                kill(-c->pid, SIGKILL);
                kill(c->pid, SIGKILL);
                wait_exit(c, 5000);     /* SIGKILL cannot be refused; bounded all the same */
            }
        }
        /* What it left behind in its group (a shell script's children). */
        kill(-c->pid, SIGKILL);
    }
    if (c->out_fd >= 0) {
        close(c->out_fd);
        c->out_fd = -1;
    }
    buf_release(&c->rbuf);
    c->pid = 0;
}
