/* firstreply: how long a server takes from launch to its first 200, measured without
 * an interpreter in the way: fork, exec, then GET a path on 127.0.0.1:PORT every 0.5 ms.
 *
 * usage: firstreply PORT PATH HEADER LIMIT_MS -- COMMAND [ARG]...
 * Prints the milliseconds from just before fork to the first "HTTP/1.x 200" and the
 * server's PID ("12.34 5678"), and leaves the server running (the caller stops it).
 * Exits 1 when the server exits or does not answer 200 within LIMIT_MS. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One GET; 1 when it answered 200, 0 otherwise (not listening yet, or another status). */
static int get_is_200(int port, const char *req, size_t req_len)
{
    struct sockaddr_in sa;
    struct pollfd pfd;
    char resp[64];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;

    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0
        || write(fd, req, req_len) != (ssize_t)req_len)
        goto out;
    pfd.fd = fd;
    pfd.events = POLLIN;
    while (got < 12 && poll(&pfd, 1, 2000) == 1) {
        ssize_t n = read(fd, resp + got, sizeof(resp) - 1 - got);

        if (n <= 0)
            break;
        got += (size_t)n;
    }
    resp[got] = '\0';
    ok = got >= 12 && strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 9, "200", 3) == 0;
out:
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    char req[1024];
    double t0, limit;
    int port, n, status;
    pid_t pid;

    if (argc < 7 || strcmp(argv[5], "--") != 0) {
        fprintf(stderr, "usage: firstreply PORT PATH HEADER LIMIT_MS -- COMMAND [ARG]...\n");
        return 2;
    }
    port = atoi(argv[1]);
    limit = atof(argv[4]);
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s"
                 "Connection: close\r\n\r\n", argv[2], port, argv[3], *argv[3] ? "\r\n" : "");
    if (port <= 0 || port > 65535 || n <= 0 || (size_t)n >= sizeof(req) || limit <= 0) {
        fprintf(stderr, "firstreply: bad port, header or limit\n");
        return 2;
    }
    t0 = now_ms();
    pid = fork();
    if (pid < 0) {
        perror("firstreply: fork");
        return 1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);     /* our stdout carries the figure only */
        execvp(argv[6], argv + 6);
        fprintf(stderr, "firstreply: %s: %s\n", argv[6], strerror(errno));
        _exit(127);
    }
    while (now_ms() - t0 < limit) {
        struct timespec half = { 0, 500 * 1000L };

        if (get_is_200(port, req, (size_t)n)) {
            printf("%.2f %d\n", now_ms() - t0, (int)pid);
            return 0;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "firstreply: the server exited before answering\n");
            return 1;
        }
        nanosleep(&half, NULL);
    }
    fprintf(stderr, "firstreply: no 200 within %.0f ms\n", limit);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    return 1;
}
