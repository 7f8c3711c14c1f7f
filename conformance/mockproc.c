#include "mockproc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define MAX_ARGS 64

static void tail_of(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    struct buf all = BUF_INIT;

    if (!f)
        return;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && all.len < (1 << 20))
        buf_add(&all, chunk, n);
    fclose(f);
    if (all.len) {
        size_t from = all.len > 600 ? all.len - 600 : 0;

        buf_addf(out, "; its log ends: %s", all.data + from);
        while (out->len && out->data[out->len - 1] == '\n')
            buf_truncate(out, out->len - 1);
    }
    buf_release(&all);
}

enum rc mockproc_start(struct mockproc *m, const char *exe, const char *const *args,
                       const char *dir, unsigned wait_s, struct buf *err)
{
    char *argv[MAX_ARGS + 8];
    struct buf ready = BUF_INIT, log = BUF_INIT, url = BUF_INIT;
    size_t n = 0, i;
    long long end;
    enum rc rc = RC_OK;

    memset(m, 0, sizeof(*m));
    m->child.in_fd = m->child.out_fd = -1;
    buf_addf(&ready, "%s/hogmock.ready", dir);
    buf_addf(&log, "%s/hogmock.log", dir);
    unlink(buf_cstr(&ready));
    argv[n++] = (char *)exe;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--ready-file";
    argv[n++] = ready.data;
    for (i = 0; args && args[i] && n < MAX_ARGS; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    m->log_path = buf_detach(&log, NULL);
    rc = child_start(&m->child, argv, NULL, false, m->log_path, err);
    if (rc != RC_OK)
        goto out;
    if (!wait_s)
        wait_s = MOCKPROC_WAIT_S;
    end = child_now_ms() + 1000LL * wait_s;
    while (!m->url) {
        FILE *f = fopen(buf_cstr(&ready), "r");
        struct timespec ts = { 0, 5 * 1000000L };

        if (f) {
            char line[256];

            if (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (str_startswith(line, "http"))
                    m->url = xstrdup(line);
            }
            fclose(f);
            if (m->url)
                break;
        }
        if (child_exited(&m->child)) {
            buf_addf(err, "hogmock ('%s') exited before it was ready", exe);
            tail_of(m->log_path, err);
            rc = RC_ERR;
            goto out;
        }
        if (child_now_ms() > end) {
            buf_addf(err, "hogmock ('%s') was not ready after %u s (--hogmock-wait)", exe,
                     wait_s);
            tail_of(m->log_path, err);
            rc = RC_TIMEOUT;
            goto out;
        }
        nanosleep(&ts, NULL);
    }
out:
    if (rc != RC_OK)
        mockproc_stop(m);
    buf_release(&ready);
    buf_release(&url);
    return rc;
}

void mockproc_stop(struct mockproc *m)
{
    if (m->child.pid > 0)
        child_stop(&m->child, 0);
    free(m->url);
    free(m->log_path);
    m->url = m->log_path = NULL;
}
