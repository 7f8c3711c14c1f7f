/* mockproc: hogmock as a child process of the runner, started on a free port of
 * 127.0.0.1 and stopped at the end; its URL read from its ready file. */
#ifndef HOG_MOCKPROC_H
#define HOG_MOCKPROC_H

#include "buf.h"
#include "child.h"
#include "rc.h"

struct mockproc {
    struct child child;
    char *url;              /* "http://127.0.0.1:PORT" once started */
    char *log_path;         /* its stdout and stderr */
};

#define MOCKPROC_WAIT_S 20

/* Start the hogmock binary exe with args (NULL-terminated, after the ones this adds:
 * --listen 127.0.0.1:0 --ready-file ...), logging into dir/hogmock.log, and wait up to
 * wait_s seconds (MOCKPROC_WAIT_S when 0) for its URL. On failure err says why (with the
 * log's last lines). */
enum rc mockproc_start(struct mockproc *m, const char *exe, const char *const *args,
                       const char *dir, unsigned wait_s, struct buf *err);
/* SIGTERM and reap; frees everything. Safe on a never-started or stopped one. */
void mockproc_stop(struct mockproc *m);

#endif
