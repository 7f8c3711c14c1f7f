/* shell: a small deterministic interpreter that answers like dash 0.5.12 (sh), bash 5.2.15
 * and coreutils 9.1 on Debian 12 for the commands hogboxes are asked to run.
 *
 * Programs: echo, printf, cat, head, wc, seq, sleep, env, pwd, uname, true, false, test
 * and [, yes, basename, dirname, whoami, and the shells sh, dash and bash, by name (found on
 * PATH in /bin or /usr/bin) or by path; a box file run by path follows its "#!" line.
 * /dev/null, /dev/zero and /dev/urandom (a fixed-seed stream) are there for any of them.
 * Shell language: dash's grammar (lists, && ||, pipelines, !, ( ), { }, if, while,
 * until, for, case, functions, here-documents), quoting, parameters with all of POSIX's
 * ${...} forms, $(...) and `...`, $((...)), field splitting on IFS, tildes, redirections
 * (<, >, >>, >|, <>, <&, >&, <<, <<-; output on fds 0-9), assignments, set -e -u -x -f, the
 * builtins : . break cd command continue echo eval exec exit export false local printf pwd
 * read readonly return set shift test [ trap type umask unset wait. bash adds [[ ]],
 * brace expansion, $'...', ${x:o:l} ${x/p/r} ${x^^} ${x,,}, let, declare, typeset, shopt,
 * source, and its own messages, error line numbers and environment order.
 *
 * Knowingly different from a real box: pathname globbing is not done (no directory
 * listing callback: a pattern stays as written, as when nothing matches); files written
 * by redirection are not kept (the box file API is read-only here, so ">file" succeeds and
 * discards); a background job (&) runs when waited for or when its shell ends rather than
 * alongside; bash arrays, ${!x}, process substitution, job control, aliases, getopts and
 * the --help texts of coreutils are not emulated; $$ and $PPID are fixed numbers; uname
 * says hogbox / 6.1.0-hogbox / x86_64; only the C and C.UTF-8 locales exist.
 *
 * Layout: foundations (arena, sinks, sources, messages), variables, the parser (modelled on
 * dash's grammar so syntax errors read the same), expansion, execution (pipelines run as
 * push filters, never as processes), shell builtins, then the coreutils programs, and
 * shell_run. Everything is bounded: nesting, captured output, scripts, silent work. */
#include "shell.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Limits. A real box is bounded only by its memory; these keep a hostile request cheap
 * and fail with a message that says it is the emulator's limit. */
#define ARG_MAX_LEN 131072u         /* Linux MAX_ARG_STRLEN: one execve string, NUL counted */
#define ARGS_MAX_TOTAL 2097152u     /* what execve takes in argv + envp on a default stack */
#define NEST_MAX 100                /* parse nesting, and run nesting ($(...), subshells, sh) */
#define CAPTURE_MAX (16u << 20)     /* output held for $(...) or a pipe into a compound command */
#define SCRIPT_MAX (1u << 20)       /* a script read from a file or stdin, or given to eval */
#define SILENT_STEPS_MAX 2000000u   /* work in a row that neither writes nor sleeps */
#define STEP_CHUNK 256u             /* the work of a 64 KiB chunk of input, in commands */
#define PIPE_CAPACITY 65536u        /* what a writer puts in a pipe whose reader never reads */
#define CHUNK SHELL_WRITE_MAX

/* What the emulated box answers for uname. */
#define UNAME_NODENAME "hogbox"
#define UNAME_RELEASE "6.1.0-hogbox"
#define UNAME_VERSION "#1 SMP PREEMPT_DYNAMIC @0"
#define UNAME_MACHINE "x86_64"

enum dialect { D_DASH, D_BASH };

/* ---------------------------------------------------------------- arena */

/* Parse trees live in an arena so a syntax error (a longjmp) frees them all at once. */
struct ablock {
    struct ablock *next;
    size_t used, cap;
};
#define AHDR ((sizeof(struct ablock) + 15) & ~(size_t)15)

struct arena {
    struct ablock *head;
    int refs;               /* functions defined from it keep it alive */
};

static void *arena_alloc(struct arena *a, size_t n)
{
    struct ablock *b;
    char *p;

    n = (n + 15) & ~(size_t)15;
    b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4096 ? n : 4096;

        b = xmalloc(AHDR + cap);
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    p = (char *)b + AHDR + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static struct arena *arena_new(void)
{
    return xcalloc(1, sizeof(struct arena));
}

static void arena_free(struct arena *a);

/* Drop a hold on an arena made with arena_hold; frees it with the last one. */
static void arena_unref(struct arena *a)
{
    if (a && --a->refs <= 0)
        arena_free(a);
}

static struct arena *arena_hold(struct arena *a)
{
    if (a)
        a->refs++;
    return a;
}

static void arena_free(struct arena *a)
{
    struct ablock *b, *next;

    if (!a)
        return;
    for (b = a->head; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* ---------------------------------------------------------------- string vectors */

struct strv {
    char **v;               /* NULL-terminated once anything was pushed */
    size_t n, cap;
};

#define STRV_INIT { NULL, 0, 0 }

/* Takes over s. */
static void strv_push(struct strv *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = xrealloc(sv->v, sv->cap * sizeof(char *));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

static void strv_release(struct strv *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

static void strv_copy(struct strv *dst, char *const *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        strv_push(dst, xstrdup(src[i]));
}

/* ---------------------------------------------------------------- run state */

enum unwind {
    UW_NONE,
    UW_BREAK,       /* break N: loops still to leave in run.loops */
    UW_CONTINUE,
    UW_RETURN,      /* return from a function */
    UW_EXIT,        /* exit the current shell (or subshell) */
    UW_PIPE,        /* SIGPIPE: the current subshell dies */
    UW_STOP,        /* a callback asked to stop: unwind everything */
    UW_FATAL,       /* an emulator limit: unwind everything */
};

struct run {
    const struct shell_io *io;
    int jobid;              /* background jobs started so far */
    enum unwind unwind;
    long loops;             /* UW_BREAK / UW_CONTINUE levels */
    int depth;              /* run nesting */
    uint64_t silent;        /* steps since the last write or sleep */
    uint64_t rng;           /* /dev/urandom: a fixed-seed stream, so runs are repeatable */
};

static bool unwinding(const struct run *r)
{
    return r->unwind != UW_NONE;
}

static bool aborting(const struct run *r)
{
    return r->unwind == UW_STOP || r->unwind == UW_FATAL;
}

static void fatal(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fatal(struct run *r, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;

    if (aborting(r))
        return;
    buf_addstr(&b, "hogmock: shell emulation limit: ");
    va_start(ap, fmt);
    buf_grow(&b, 256);
    {
        int n = vsnprintf(b.data + b.len, b.cap - b.len, fmt, ap);

        if (n > 0)
            b.len += (size_t)n < b.cap - b.len ? (size_t)n : b.cap - b.len - 1;
    }
    va_end(ap);
    buf_addch(&b, '\n');
    r->unwind = UW_FATAL;
    if (r->io->write(r->io->ctx, 2, b.data, b.len))
        r->unwind = UW_STOP;
    buf_release(&b);
}

/* Count work done without output or sleep (a command is 1, a chunk of input STEP_CHUNK);
 * past the bound a silent loop is stopped, since no callback would ever stop it. */
static bool step(struct run *r, unsigned units)
{
    if (aborting(r))
        return false;
    r->silent += units;
    if (r->silent > SILENT_STEPS_MAX) {
        fatal(r, "over %u steps without output or sleep", SILENT_STEPS_MAX);
        return false;
    }
    return true;
}

static uint64_t rng_next(struct run *r)
{
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Sleep through the caller; false when it asked to stop. */
static bool run_sleep(struct run *r, uint64_t ms)
{
    if (unwinding(r))
        return false;
    r->silent = 0;
    if (r->io->sleep && r->io->sleep(r->io->ctx, ms)) {
        r->unwind = UW_STOP;
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- sinks */

/* Where a file descriptor's output goes. */
enum sink_kind { SK_IO, SK_NULL, SK_CAPTURE, SK_PIPE };

struct consumer;

struct sink {
    enum sink_kind kind;
    int fd;                 /* SK_IO: 1 or 2 */
    struct buf *cap;        /* SK_CAPTURE: NULL counts without keeping (a pipe nobody reads) */
    size_t count, limit;    /* SK_CAPTURE */
    struct consumer *cons;  /* SK_PIPE */
    bool closed;            /* the reader went away */
};

enum wr { WR_OK, WR_PIPE, WR_ABORT, WR_BADF };

static enum wr consumer_feed(struct run *r, struct consumer *c, const char *data, size_t len);

static enum wr sink_write(struct run *r, struct sink *s, const char *data, size_t len)
{
    if (aborting(r))
        return WR_ABORT;
    if (!s)
        return WR_BADF;     /* a closed descriptor */
    if (len == 0)
        return WR_OK;
    if (s->closed)
        return WR_PIPE;
    if (s->kind != SK_IO && !step(r, (unsigned)(len / 256) + 1))
        return WR_ABORT;
    switch (s->kind) {
    case SK_IO:
        r->silent = 0;
        while (len) {
            size_t n = len > CHUNK ? CHUNK : len;

            if (r->io->write(r->io->ctx, s->fd, data, n)) {
                r->unwind = UW_STOP;
                return WR_ABORT;
            }
            data += n;
            len -= n;
        }
        return WR_OK;
    case SK_NULL:
        return WR_OK;
    case SK_CAPTURE:
        if (len > s->limit - s->count) {
            if (!s->cap) {
                s->closed = true;
                return WR_PIPE;
            }
            fatal(r, "command output kept for $(...) or a pipe is over %zu bytes", s->limit);
            return WR_ABORT;
        }
        s->count += len;
        if (s->cap)
            buf_add(s->cap, data, len);
        return WR_OK;
    case SK_PIPE:
        return consumer_feed(r, s->cons, data, len);
    }
    return WR_OK;
}

/* A buffered writer for one command's output: commands build their output here and it
 * goes out in chunks of at most CHUNK bytes. */
struct out {
    struct run *r;
    struct sink *s;
    struct buf b;
    enum wr st;
};

static void out_init(struct out *o, struct run *r, struct sink *s)
{
    o->r = r;
    o->s = s;
    buf_init(&o->b);
    o->st = WR_OK;
}

static enum wr out_flush(struct out *o)
{
    if (o->st == WR_OK && o->b.len)
        o->st = sink_write(o->r, o->s, o->b.data, o->b.len);
    buf_reset(&o->b);
    return o->st;
}

static enum wr out_add(struct out *o, const char *data, size_t len)
{
    if (o->st != WR_OK)
        return o->st;
    /* Whole chunks with nothing buffered go out from where they are: the same chunks as
     * through the buffer, without copying every byte of a pipeline at each stage. */
    while (!o->b.len && len >= CHUNK) {
        o->st = sink_write(o->r, o->s, data, CHUNK);
        if (o->st != WR_OK)
            return o->st;
        data += CHUNK;
        len -= CHUNK;
    }
    while (len) {
        size_t room = CHUNK - o->b.len, n = len < room ? len : room;

        buf_add(&o->b, data, n);
        data += n;
        len -= n;
        if (o->b.len >= CHUNK && out_flush(o) != WR_OK)
            return o->st;
    }
    return o->st;
}

static enum wr out_str(struct out *o, const char *s)
{
    return out_add(o, s, strlen(s));
}

static enum wr out_ch(struct out *o, char c)
{
    return out_add(o, &c, 1);
}

static void out_release(struct out *o)
{
    buf_release(&o->b);
}

static void sink_printf(struct run *r, struct sink *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sink_printf(struct run *r, struct sink *s, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_grow(&b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b.len = (size_t)n;
        sink_write(r, s, b.data, b.len);
    }
    buf_release(&b);
}

/* ---------------------------------------------------------------- sources */

/* What a program reads on stdin. */
enum src_kind { SRC_EMPTY, SRC_BUF, SRC_ZERO, SRC_URANDOM };

struct source {
    enum src_kind kind;
    const char *data;       /* SRC_BUF, borrowed */
    size_t len, pos;
    bool regular;           /* a regular file (wc sizes its columns from it) */
};

static size_t source_read(struct run *r, struct source *src, char *dst, size_t max)
{
    size_t n = 0;

    if (!src)
        return 0;
    switch (src->kind) {
    case SRC_EMPTY:
        return 0;
    case SRC_BUF:
        n = src->len - src->pos < max ? src->len - src->pos : max;
        memcpy(dst, src->data + src->pos, n);
        src->pos += n;
        return n;
    case SRC_ZERO:
        memset(dst, 0, max);
        return max;
    case SRC_URANDOM:
        for (n = 0; n < max; n += 8) {
            uint64_t v = rng_next(r);
            size_t k = max - n < 8 ? max - n : 8;

            memcpy(dst + n, &v, k);
        }
        return max;
    }
    return 0;
}

static bool source_is_infinite(const struct source *src)
{
    return src && (src->kind == SRC_ZERO || src->kind == SRC_URANDOM);
}

/* ---------------------------------------------------------------- small helpers */

static bool is_name_start(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(int c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !is_name_start((unsigned char)s[0]))
        return false;
    for (i = 1; i < n; i++)
        if (!is_name_char((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Normalise an absolute path: collapse "//", ".", "..". Caller frees. */
static char *path_normalise(const char *path)
{
    struct buf b = BUF_INIT;
    const char *p = path;

    buf_addch(&b, '/');
    while (*p) {
        const char *e;
        size_t n;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        e = strchr(p, '/');
        n = e ? (size_t)(e - p) : strlen(p);
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (b.len > 1 && b.data[b.len - 1] != '/')
                b.len--;
            if (b.len > 1)
                b.len--;
            b.data[b.len] = '\0';
        } else {
            if (b.len > 1)
                buf_addch(&b, '/');
            buf_add(&b, p, n);
        }
        p += n;
    }
    return buf_detach(&b, NULL);
}

/* The absolute, normalised form of path seen from cwd. Caller frees. */
static char *path_resolve(const char *cwd, const char *path)
{
    char *joined, *norm;

    if (path[0] == '/')
        return path_normalise(path);
    joined = xasprintf("%s/%s", cwd, path);
    norm = path_normalise(joined);
    free(joined);
    return norm;
}

/* cd's logical path: like path_resolve, but a leading "//" stays, as POSIX lets it. */
static char *path_logical(const char *cwd, const char *path)
{
    bool two;
    char *norm;

    if (path[0] == '/')
        two = path[1] == '/' && path[2] != '/';
    else
        two = cwd[0] == '/' && cwd[1] == '/' && cwd[2] != '/';
    norm = path_resolve(cwd, path);
    if (two) {
        char *t = xasprintf("/%s", norm);

        if (strcmp(t, "//") != 0 && t[strlen(t) - 1] == '/')
            t[strlen(t) - 1] = '\0';
        free(norm);
        return t;
    }
    return norm;
}

/* ---------------------------------------------------------------- box files */

enum ftype { F_NONE, F_REG, F_DIR, F_ZERO, F_URANDOM, F_NULL };

/* The directories every Debian box has, whatever the file store says. */
static bool is_standard_dir(const char *abs)
{
    static const char *const dirs[] = {
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt",
        "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin",
        "/usr/lib", "/usr/local", "/usr/local/bin", "/usr/sbin", "/usr/share", "/var",
        "/var/log", "/var/tmp",
    };
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (strcmp(abs, dirs[i]) == 0)
            return true;
    return false;
}

/* Look path up on the box: its kind and, for a regular file, its content. */
static enum ftype box_stat(struct run *r, const char *cwd, const char *path, struct buf *content)
{
    char *abs = path_resolve(cwd, path);
    enum ftype t = F_NONE;
    enum rc rc;

    if (strcmp(abs, "/dev/zero") == 0)
        t = F_ZERO;
    else if (strcmp(abs, "/dev/urandom") == 0 || strcmp(abs, "/dev/random") == 0)
        t = F_URANDOM;
    else if (strcmp(abs, "/dev/null") == 0)
        t = F_NULL;
    else if (is_standard_dir(abs))
        t = F_DIR;
    else if (r->io->read_file) {
        struct buf tmp = BUF_INIT;

        rc = r->io->read_file(r->io->ctx, abs, content ? content : &tmp);
        t = rc == RC_OK ? F_REG : rc == RC_INVALID ? F_DIR : F_NONE;
        buf_release(&tmp);
    }
    free(abs);
    return t;
}

/* ---------------------------------------------------------------- coreutils quoting */

/* coreutils quotes names in messages with gnulib's quotearg; these reproduce the styles it
 * uses: quote() ('x', or curly quotes in a UTF-8 locale), quotef() (shell-escaped only when
 * needed) and quoteaf() (always shell-escaped). */
enum qstyle { Q_LOCALE, Q_SHELL_IF_NEEDED, Q_SHELL_ALWAYS, Q_C };

/* Length of a valid printable UTF-8 sequence at s (0 if none). */
static size_t utf8_printable_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t len, i;

    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len > n)
        return 0;
    cp = s[0] & (0x7f >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    /* C1 controls and a few format characters are not printable. */
    if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029)
        return 0;
    return len;
}

static int c_escape_letter(unsigned char c)
{
    switch (c) {
    case '\a': return 'a';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\v': return 'v';
    }
    return 0;
}

static bool shell_special(const char *s, size_t i, size_t n, bool colon)
{
    unsigned char c = (unsigned char)s[i];

    switch (c) {
    case '{': case '}':
        return n == 1;
    case '#': case '~':
        return i == 0;
    case ' ': case '!': case '"': case '$': case '&': case '(': case ')': case '*':
    case ';': case '<': case '=': case '>': case '[': case '^': case '`': case '|':
    case '\\': case '?': case '\'':
        return true;
    case ':':
        return colon;
    }
    return false;
}

static void quote_into(struct buf *b, const char *s, enum qstyle style, bool utf8, bool colon)
{
    size_t n = strlen(s), i;
    bool needs = n == 0, has_sq = false, all_printable = true;

    if (style == Q_LOCALE || style == Q_C) {
        const char *lq = style == Q_C ? "\"" : utf8 ? "\xe2\x80\x98" : "'";
        const char *rq = style == Q_C ? "\"" : utf8 ? "\xe2\x80\x99" : "'";
        size_t rql = strlen(rq);

        buf_addstr(b, lq);
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            size_t m;

            if (n - i >= rql && memcmp(s + i, rq, rql) == 0) {
                buf_addch(b, '\\');
                buf_add(b, s + i, rql);
                i += rql - 1;
            } else if (c == '\\') {
                buf_addstr(b, "\\\\");
            } else if (c_escape_letter(c)) {
                buf_addch(b, '\\');
                buf_addch(b, (char)c_escape_letter(c));
            } else if (c >= 0x20 && c < 0x7f) {
                buf_addch(b, (char)c);
            } else if (utf8 && (m = utf8_printable_len((const unsigned char *)s + i, n - i))) {
                buf_add(b, s + i, m);
                i += m - 1;
            } else {
                buf_addf(b, "\\%03o", c);
            }
        }
        buf_addstr(b, rq);
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t m;

        if (c == '\'')
            has_sq = true;
        if (shell_special(s, i, n, colon))
            needs = true;
        else if (c < 0x20 || c == 0x7f) {
            needs = true;
            all_printable = false;
        } else if (c >= 0x80) {
            m = utf8 ? utf8_printable_len((const unsigned char *)s + i, n - i) : 0;
            if (m)
                i += m - 1;
            else {
                needs = true;
                all_printable = false;
            }
        }
    }
    if (!needs && style == Q_SHELL_IF_NEEDED) {
        buf_add(b, s, n);
        return;
    }
    if (has_sq && all_printable) {
        /* An apostrophe reads better in double quotes. */
        buf_addch(b, '"');
        for (i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                buf_addch(b, '\\');
            buf_addch(b, s[i]);
        }
        buf_addch(b, '"');
        return;
    }
    {
        bool in_esc = false;

        buf_addch(b, '\'');
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            size_t m = 0;
            bool printable = (c >= 0x20 && c < 0x7f) ||
                             (c >= 0x80 && utf8 &&
                              (m = utf8_printable_len((const unsigned char *)s + i, n - i)));

            if (!printable) {
                if (!in_esc) {
                    buf_addstr(b, "'$'");
                    in_esc = true;
                }
                if (c_escape_letter(c))
                    buf_addf(b, "\\%c", c_escape_letter(c));
                else
                    buf_addf(b, "\\%03o", c);
                continue;
            }
            if (in_esc) {
                buf_addstr(b, "''");
                in_esc = false;
            }
            if (c == '\'')
                buf_addstr(b, "'\\''");
            else if (m > 1) {
                buf_add(b, s + i, m);
                i += m - 1;
            } else
                buf_addch(b, (char)c);
        }
        buf_addch(b, '\'');
    }
}

/* Quoted forms for messages; each returns a new string (caller frees). */
static char *quote_locale(const char *s, bool utf8)
{
    struct buf b = BUF_INIT;

    quote_into(&b, s, Q_LOCALE, utf8, false);
    return buf_detach(&b, NULL);
}

static char *quote_file(const char *s, bool utf8)
{
    struct buf b = BUF_INIT;

    quote_into(&b, s, Q_SHELL_IF_NEEDED, utf8, true);
    return buf_detach(&b, NULL);
}

static char *quote_file_always(const char *s, bool utf8)
{
    struct buf b = BUF_INIT;

    quote_into(&b, s, Q_SHELL_ALWAYS, utf8, false);
    return buf_detach(&b, NULL);
}

/* ---------------------------------------------------------------- variables */

struct var {
    char *name;
    char *value;            /* NULL: unset (a dash built-in variable keeps its slot) */
    bool exported;
    bool readonly;
    uint64_t seq;           /* creation order */
    int fixed;              /* dash: index among its built-in variables, or -1 */
};

struct vars {
    struct var *v;
    size_t n, cap;
    uint64_t seq;
};

/* dash creates these first, each at the head of its hash chain (var.c varinit). */
static const char *const dash_fixed_vars[] = {
    "IFS", "MAIL", "MAILPATH", "PATH", "PS1", "PS2", "PS4", "OPTIND",
};

static struct var *var_find(struct vars *vs, const char *name)
{
    size_t i;

    for (i = 0; i < vs->n; i++)
        if (strcmp(vs->v[i].name, name) == 0)
            return &vs->v[i];
    return NULL;
}

static const char *var_get(struct vars *vs, const char *name)
{
    struct var *v = var_find(vs, name);

    return v ? v->value : NULL;
}

static struct var *var_create(struct vars *vs, const char *name)
{
    struct var *v;

    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 32;
        vs->v = xrealloc(vs->v, vs->cap * sizeof(*vs->v));
    }
    v = &vs->v[vs->n++];
    v->name = xstrdup(name);
    v->value = NULL;
    v->exported = false;
    v->readonly = false;
    v->seq = vs->seq++;
    v->fixed = -1;
    return v;
}

/* Set name to value (copied); export when export is true (never un-exports). */
static void var_set(struct vars *vs, const char *name, const char *value, bool export)
{
    struct var *v = var_find(vs, name);

    if (!v)
        v = var_create(vs, name);
    free(v->value);
    v->value = xstrdup(value);
    if (export)
        v->exported = true;
}

static void var_unset(struct vars *vs, const char *name)
{
    struct var *v = var_find(vs, name);

    if (!v)
        return;
    free(v->value);
    v->value = NULL;
    v->exported = false;
    if (v->fixed < 0) {
        free(v->name);
        *v = vs->v[--vs->n];
    }
}

static void vars_copy(struct vars *dst, const struct vars *src)
{
    size_t i;

    dst->n = dst->cap = src->n;
    dst->seq = src->seq;
    dst->v = xmalloc((src->n ? src->n : 1) * sizeof(*dst->v));
    for (i = 0; i < src->n; i++) {
        dst->v[i] = src->v[i];
        dst->v[i].name = xstrdup(src->v[i].name);
        dst->v[i].value = src->v[i].value ? xstrdup(src->v[i].value) : NULL;
    }
}

static void vars_release(struct vars *vs)
{
    size_t i;

    for (i = 0; i < vs->n; i++) {
        free(vs->v[i].name);
        free(vs->v[i].value);
    }
    free(vs->v);
    vs->v = NULL;
    vs->n = vs->cap = 0;
}

static unsigned dash_bucket(const char *name)
{
    unsigned h = (unsigned)(unsigned char)name[0] << 4;

    for (; *name; name++)
        h += (unsigned char)*name;
    return h % 39;
}

static unsigned bash_bucket(const char *name)
{
    uint32_t h = 2166136261u;

    for (; *name; name++) {
        h *= 16777619u;
        h ^= (uint32_t)(unsigned char)*name;
    }
    return h & 1023;
}

/* The order a shell hands its exported variables to a program: dash walks its 39 hash
 * chains (built-ins first in each, then in creation order), bash its 1024 buckets with
 * the newest variable first. */
struct export_key {
    unsigned bucket;
    int rank;               /* dash: built-ins before the rest */
    uint64_t order;
    const struct var *v;
};

static int export_cmp(const void *pa, const void *pb)
{
    const struct export_key *a = pa, *b = pb;

    if (a->bucket != b->bucket)
        return a->bucket < b->bucket ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* The exported variables in the order the shell hands them to a program. */
static void vars_export(struct vars *vs, enum dialect d, struct strv *out)
{
    struct export_key *keys = xmalloc((vs->n ? vs->n : 1) * sizeof(*keys));
    size_t i, k = 0;

    for (i = 0; i < vs->n; i++) {
        const struct var *v = &vs->v[i];

        if (!v->exported || !v->value)
            continue;
        keys[k].v = v;
        if (d == D_DASH) {
            keys[k].bucket = dash_bucket(v->name);
            /* a built-in leads its chain, the last created first */
            keys[k].rank = v->fixed >= 0 ? -1 - v->fixed : 0;
            keys[k].order = v->fixed >= 0 ? 0 : v->seq;
        } else {
            keys[k].bucket = bash_bucket(v->name);
            keys[k].rank = 0;
            keys[k].order = UINT64_MAX - v->seq;
        }
        k++;
    }
    qsort(keys, k, sizeof(*keys), export_cmp);
    for (i = 0; i < k; i++)
        strv_push(out, xasprintf("%s=%s", keys[i].v->name, keys[i].v->value));
    free(keys);
}

/* ---------------------------------------------------------------- the shell */

struct node;
struct func;

struct sh {
    struct run *r;
    enum dialect d;
    char *arg0;             /* $0, and the name in error messages */
    bool from_c;            /* the script came from -c (bash says "-c: line N") */
    struct strv params;     /* $1 ... */
    struct vars vars;
    char *cwd;
    int status;             /* $? */
    int line;               /* line of the command running, for messages */
    int cmdsub_status;      /* status of the last $(...) of the current command, or -1 */
    bool opt_e, opt_u, opt_f;
    int no_errexit;         /* > 0 while a condition runs */
    int loops;              /* enclosing loops */
    int funcdepth;
    const char *cmdname;    /* the builtin running, for its write-error message */
    struct arena *arena;    /* holding the commands running now (background jobs keep it) */
    struct fds *outer_fds;  /* the running simple command's descriptors before its redirections */
    struct rstore *cur_rs;  /* and after them: exec without a command keeps them */
    struct sink nullsink;   /* what exec >/dev/null leaves in place */
    struct source exec_src; /* what exec <file leaves in place */
    struct buf exec_data;
    unsigned umask;
    struct job *jobs;       /* background jobs not yet run */
    int lastpid;            /* $! */
    struct sink *errsink;   /* and its stderr */
    bool utf8;              /* the locale of the environment quotes with ‘’ */
    int shlvl_adjust;       /* bash: SHLVL as exported, relative to the variable */
    struct func *funcs;
    bool opt_x;
    bool tail;              /* bash: the command about to run is the script's last (no fork) */
    int dotdepth;           /* files being sourced with . */
    char *exit_trap;
    struct localsave *locals;
    size_t nlocals, caplocals;
    struct strv bad_env;    /* bash passes on environment strings that are not variables */
};

/* A background job: run later, at wait or when its shell ends, as the job most often
 * finishes after the commands that follow it. */
struct job {
    struct job *next;
    struct sh *sh;
    const struct node *node;
    struct arena *arena;
    struct fds *fds;
    int pid;
};

/* What "local" replaced, restored when the function returns. */
struct localsave {
    char *name;
    char *value;            /* NULL: was unset */
    bool exported;
    int depth;
};

struct func {
    struct func *next;
    char *name;
    struct node *body;
    struct arena *arena;
};

static void func_unref(struct func *f)
{
    if (--f->arena->refs == 0)
        arena_free(f->arena);
    free(f->name);
    free(f);
}

static void funcs_release(struct func *f)
{
    struct func *next;

    for (; f; f = next) {
        next = f->next;
        func_unref(f);
    }
}

static struct func *funcs_copy(const struct func *f)
{
    struct func *head = NULL, **tail = &head;

    for (; f; f = f->next) {
        struct func *c = xcalloc(1, sizeof(*c));

        c->name = xstrdup(f->name);
        c->body = f->body;
        c->arena = f->arena;
        c->arena->refs++;
        *tail = c;
        tail = &c->next;
    }
    return head;
}

static struct func *func_find(struct sh *sh, const char *name)
{
    struct func *f;

    for (f = sh->funcs; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* A subshell: a copy of the shell's state (caller frees with sh_free). */
static struct sh *sh_clone(const struct sh *sh)
{
    struct sh *c = xmalloc(sizeof(*c));

    *c = *sh;
    c->arg0 = xstrdup(sh->arg0);
    memset(&c->params, 0, sizeof(c->params));
    strv_copy(&c->params, sh->params.v, sh->params.n);
    memset(&c->bad_env, 0, sizeof(c->bad_env));
    strv_copy(&c->bad_env, sh->bad_env.v, sh->bad_env.n);
    vars_copy(&c->vars, &sh->vars);
    c->cwd = xstrdup(sh->cwd);
    c->funcs = funcs_copy(sh->funcs);
    c->loops = 0;
    c->exit_trap = NULL;
    c->jobs = NULL;
    buf_init(&c->exec_data);
    c->locals = NULL;
    c->nlocals = c->caplocals = 0;
    c->tail = false;
    return c;
}

static void sh_free(struct sh *sh);
static void arena_unref(struct arena *a);

static void jobs_drop(struct sh *sh)
{
    while (sh->jobs) {
        struct job *j = sh->jobs;

        sh->jobs = j->next;
        sh_free(j->sh);
        arena_unref(j->arena);
        free(j->fds);
        free(j);
    }
}

static void sh_free(struct sh *sh)
{
    if (!sh)
        return;
    free(sh->arg0);
    strv_release(&sh->params);
    strv_release(&sh->bad_env);
    vars_release(&sh->vars);
    free(sh->cwd);
    funcs_release(sh->funcs);
    free(sh->exit_trap);
    jobs_drop(sh);
    buf_release(&sh->exec_data);
    while (sh->nlocals) {
        struct localsave *l = &sh->locals[--sh->nlocals];

        free(l->name);
        free(l->value);
    }
    free(sh->locals);
    free(sh);
}

/* The prefix of a runtime message: "sh: 3: " or "bash: line 3: ". */
static void sh_prefix(struct sh *sh, struct buf *b)
{
    if (sh->d == D_DASH)
        buf_addf(b, "%s: %d: ", sh->arg0, sh->line);
    else if (sh->funcdepth && sh->from_c)
        buf_addf(b, "environment: line %d: ", sh->line);   /* bash's name for -c functions */
    else
        buf_addf(b, "%s: line %d: ", sh->arg0, sh->line);
}

static void sh_err(struct sh *sh, struct sink *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A shell assignment: false, with the shell's message, when name is read-only; who is the
 * builtin assigning (NULL for NAME=value, which then ends the shell: 2 in dash, 1 in bash). */
static bool sh_assign(struct sh *sh, struct sink *err, const char *who, const char *name,
                      const char *value, bool export)
{
    struct var *v = var_find(&sh->vars, name);

    if (v && v->readonly) {
        if (sh->d == D_DASH)
            sh_err(sh, err, "%s%s%s: is read only", who ? who : "", who ? ": " : "", name);
        else
            sh_err(sh, err, "%s: readonly variable", name);
        if (!who) {
            sh->status = sh->d == D_DASH ? 2 : 1;
            sh->r->unwind = UW_EXIT;
        }
        return false;
    }
    var_set(&sh->vars, name, value, export);
    return true;
}

static void sh_err(struct sh *sh, struct sink *err, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    int n;

    sh_prefix(sh, &b);
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_grow(&b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b.data + b.len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b.len += (size_t)n;
    }
    buf_addch(&b, '\n');
    sink_write(sh->r, err, b.data, b.len);
    buf_release(&b);
}

/* ---------------------------------------------------------------- parse trees */

enum wp_kind { WP_LIT, WP_PARAM, WP_CMDSUB, WP_ARITH, WP_BADSUB };

/* Parameter expansion operators, as in ${name<op>word}. */
enum pop { PO_NONE, PO_DEFAULT, PO_ASSIGN, PO_ERROR, PO_ALT, PO_LENGTH,
           PO_TRIM_SHORT_LEFT, PO_TRIM_LONG_LEFT, PO_TRIM_SHORT_RIGHT, PO_TRIM_LONG_RIGHT,
           /* bash only */
           PO_SUBSTR, PO_PATSUB, PO_PATSUB_ALL, PO_PATSUB_START, PO_PATSUB_END,
           PO_UPPER1, PO_UPPER, PO_LOWER1, PO_LOWER };

struct word;
struct node;

struct wpart {
    struct wpart *next;
    enum wp_kind kind;
    bool quoted;            /* inside quotes, or escaped */
    char *text;             /* LIT: the bytes; PARAM: the name */
    size_t len;
    enum pop op;
    bool colon;             /* ${x:-y} rather than ${x-y} */
    struct word *arg;       /* PARAM: the word after the operator; ARITH: the expression */
    struct word *arg2;      /* bash: ${x:off:LEN}, ${x/pat/REP} (NULL: absent) */
    struct node *body;      /* CMDSUB */
};

struct word {
    struct wpart *parts;
    bool quoted;            /* some part was quoted */
};

struct wlist {
    struct wlist *next;
    struct word *w;
};

enum redir_kind { R_TO, R_CLOBBER, R_APPEND, R_FROM, R_FROMTO, R_TOFD, R_FROMFD, R_HERE };

struct redir {
    struct redir *next;
    struct redir *hnext;    /* pending here-documents */
    enum redir_kind kind;
    int fd;
    struct word *target;    /* file name; for >& and <& a word to expand when dupfd == -2 */
    int dupfd;              /* >&N: N; >&-: -1 */
    struct word *here;      /* the here-document */
    char *delim;
    bool striptabs, here_quoted;
};

enum node_kind { N_CMD, N_PIPE, N_AND, N_OR, N_SEQ, N_BG, N_NOT, N_SUBSHELL, N_BRACE, N_IF,
                 N_WHILE, N_UNTIL, N_FOR, N_CASE, N_DEFUN, N_COND };

/* bash's [[ ... ]] */
enum cond_kind { CD_AND, CD_OR, CD_NOT, CD_UNARY, CD_BINARY, CD_WORD };

struct cond {
    enum cond_kind kind;
    struct cond *a, *b;
    const char *op;
    struct word *w1, *w2;
};

struct caseitem {
    struct caseitem *next;
    struct wlist *patterns;
    struct node *body;
};

struct nlist {
    struct nlist *next;
    struct node *n;
};

struct node {
    enum node_kind kind;
    int line;
    struct node *a, *b, *c;     /* SEQ/AND/OR: a b; IF: test a, then b, else c; loops: a b */
    struct wlist *args;         /* CMD: words; FOR: the list */
    struct wlist *assigns;      /* CMD */
    struct redir *redirs;
    struct nlist *pipe;         /* PIPE */
    char *name;                 /* FOR variable, DEFUN name */
    bool has_in;                /* FOR */
    struct word *subject;       /* CASE */
    struct caseitem *cases;
    struct cond *cond;          /* COND */
    const char *src;            /* DEFUN: its text, re-parsed into the function's own arena */
    size_t srclen;
    int srcline;
};

/* ---------------------------------------------------------------- the parser */

enum tok {
    T_EOF, T_NL, T_SEMI, T_BG, T_AND, T_OR, T_PIPE, T_LP, T_RP, T_ENDCASE, T_REDIR, T_WORD,
    T_NOT, T_CASE, T_DO, T_DONE, T_ELIF, T_ELSE, T_ESAC, T_FI, T_FOR, T_IF, T_IN, T_THEN,
    T_UNTIL, T_WHILE, T_BEGIN, T_END,
};

static const char *const kwtext[] = {
    "!", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then",
    "until", "while", "{", "}",
};

static const char *const dash_tokname[] = {
    "end of file", "newline", "\";\"", "\"&\"", "\"&&\"", "\"||\"", "\"|\"", "\"(\"",
    "\")\"", "\";;\"", "redirection", "word", "\"!\"", "\"case\"", "\"do\"", "\"done\"",
    "\"elif\"", "\"else\"", "\"esac\"", "\"fi\"", "\"for\"", "\"if\"", "\"in\"", "\"then\"",
    "\"until\"", "\"while\"", "\"{\"", "\"}\"",
};

/* Tokens that end a list inside a compound command. */
static const bool tokendlist[] = {
    [T_EOF] = true, [T_RP] = true, [T_ENDCASE] = true, [T_DO] = true, [T_DONE] = true,
    [T_ELIF] = true, [T_ELSE] = true, [T_ESAC] = true, [T_FI] = true, [T_THEN] = true,
    [T_END] = true,
};

/* A syntax error: its message, line, and what it does to the shell. */
struct perr {
    struct buf msg;
    int line;
    bool fatal;             /* an emulator limit */
    int status;             /* the shell's status after it: 2, or one of bash's quirks */
};

#define CHKNL 1
#define CHKKWD 2
#define CHKEOFMARK 4
#define PEOF (-1)

struct parser {
    struct arena *a;
    const char *s;
    size_t n, pos;
    int line;
    enum dialect d;
    jmp_buf *jb;
    int depth;
    int lasttok;
    bool pushback;
    int checkkwd;
    struct word *wordval;
    bool quoteflag;
    struct redir *redirval;
    size_t tokstart;
    int tokline;
    struct redir *heredocs;     /* waiting for their bodies after the next newline */
    bool got_eof;               /* the last parse found only the end of input */
    struct perr *e;             /* the error, shared with sub-parsers */
    bool utf8;                  /* bash's $'\u...' can be encoded */
};

static void syn_fail(struct parser *p) __attribute__((noreturn));

static void syn_fail(struct parser *p)
{
    longjmp(*p->jb, 1);
}

/* dash: "Syntax error: msg"; bash gets its own wording through the callers. */
static void syn_error(struct parser *p, const char *msg) __attribute__((noreturn));

static void syn_error(struct parser *p, const char *msg)
{
    buf_reset(&p->e->msg);
    if (p->d == D_DASH)
        buf_addf(&p->e->msg, "Syntax error: %s", msg);
    else
        buf_addstr(&p->e->msg, msg);
    p->e->line = p->line;
    syn_fail(p);
}

static void syn_limit(struct parser *p) __attribute__((noreturn));

static void syn_limit(struct parser *p)
{
    buf_reset(&p->e->msg);
    buf_addf(&p->e->msg, "nesting over %d levels", NEST_MAX);
    p->e->line = p->line;
    p->e->fatal = true;
    syn_fail(p);
}

/* The text of the line holding offset pos, for bash's second message line. */
static void line_text(struct parser *p, size_t pos, struct buf *out)
{
    size_t b = pos, e = pos;

    if (b > p->n)
        b = e = p->n;
    while (b > 0 && p->s[b - 1] != '\n')
        b--;
    while (e < p->n && p->s[e] != '\n')
        e++;
    buf_add(out, p->s + b, e - b);
}

static void synexpect(struct parser *p, int tok) __attribute__((noreturn));

static void synexpect(struct parser *p, int tok)
{
    buf_reset(&p->e->msg);
    p->e->line = p->line;
    if (p->d == D_DASH) {
        if (tok >= 0)
            buf_addf(&p->e->msg, "Syntax error: %s unexpected (expecting %s)",
                     dash_tokname[p->lasttok], dash_tokname[tok]);
        else
            buf_addf(&p->e->msg, "Syntax error: %s unexpected", dash_tokname[p->lasttok]);
    } else if (p->lasttok == T_EOF) {
        buf_addstr(&p->e->msg, "syntax error: unexpected end of file");
    } else {
        struct buf t = BUF_INIT;

        if (p->lasttok == T_NL)
            buf_addstr(&t, "newline");
        else
            buf_add(&t, p->s + p->tokstart, p->pos - p->tokstart);
        p->e->line = p->tokline;
        buf_addf(&p->e->msg, "syntax error near unexpected token `%s'\n", buf_cstr(&t));
        buf_release(&t);
        /* The caller prefixes each line. */
        buf_addch(&p->e->msg, '`');
        line_text(p, p->tokstart, &p->e->msg);
        buf_addch(&p->e->msg, '\'');
    }
    syn_fail(p);
}

static int pc_raw(struct parser *p)
{
    return p->pos < p->n ? (unsigned char)p->s[p->pos] : PEOF;
}

/* The next character, with backslash-newline pairs removed. */
static int pc(struct parser *p)
{
    while (p->pos + 1 < p->n && p->s[p->pos] == '\\' && p->s[p->pos + 1] == '\n') {
        p->pos += 2;
        p->line++;
    }
    return pc_raw(p);
}

static void adv(struct parser *p)
{
    if (p->pos < p->n) {
        if (p->s[p->pos] == '\n')
            p->line++;
        p->pos++;
    }
}

/* Word building: parts appended in order, adjacent literals merged. Everything, even the
 * literal being gathered, lives in the arena, so a syntax error's longjmp leaks nothing. */
struct wbuild {
    struct parser *p;
    struct wpart *head, *tail;
    bool quoted;
    char *lit;
    size_t litlen, litcap;
    bool lit_quoted, lit_open;
};

static void wb_init(struct wbuild *wb, struct parser *p)
{
    memset(wb, 0, sizeof(*wb));
    wb->p = p;
}

static void wb_append(struct wbuild *wb, struct wpart *part)
{
    if (wb->tail)
        wb->tail->next = part;
    else
        wb->head = part;
    wb->tail = part;
}

static void wb_close_lit(struct wbuild *wb)
{
    struct wpart *part;

    if (!wb->lit_open)
        return;
    part = arena_alloc(wb->p->a, sizeof(*part));
    part->kind = WP_LIT;
    part->quoted = wb->lit_quoted;
    part->text = wb->lit ? wb->lit : arena_strndup(wb->p->a, "", 0);
    part->len = wb->litlen;
    wb_append(wb, part);
    wb->lit = NULL;
    wb->litlen = wb->litcap = 0;
    wb->lit_open = false;
}

static void wb_lit(struct wbuild *wb, const char *s, size_t n, bool quoted)
{
    if (wb->lit_open && wb->lit_quoted != quoted)
        wb_close_lit(wb);
    if (!wb->lit_open) {
        wb->lit_open = true;
        wb->lit_quoted = quoted;
    }
    if (wb->litlen + n + 1 > wb->litcap) {
        size_t cap = wb->litcap ? wb->litcap * 2 : 32;
        char *nl;

        while (cap < wb->litlen + n + 1)
            cap *= 2;
        nl = arena_alloc(wb->p->a, cap);
        if (wb->litlen)
            memcpy(nl, wb->lit, wb->litlen);
        wb->lit = nl;
        wb->litcap = cap;
    }
    if (n)
        memcpy(wb->lit + wb->litlen, s, n);
    wb->litlen += n;
    wb->lit[wb->litlen] = '\0';
    if (quoted)
        wb->quoted = true;
}

static void wb_ch(struct wbuild *wb, int c, bool quoted)
{
    char ch = (char)c;

    wb_lit(wb, &ch, 1, quoted);
}

static void wb_part(struct wbuild *wb, struct wpart *part)
{
    wb_close_lit(wb);
    wb_append(wb, part);
    if (part->quoted)
        wb->quoted = true;
}

static struct word *wb_finish(struct wbuild *wb)
{
    struct word *w;

    wb_close_lit(wb);
    w = arena_alloc(wb->p->a, sizeof(*w));
    w->parts = wb->head;
    w->quoted = wb->quoted;
    return w;
}

/* The word's text when it is one unquoted literal (keywords, names), else NULL. */
static const char *word_plain(const struct word *w)
{
    if (!w->parts)
        return w->quoted ? NULL : "";
    if (w->parts->next || w->parts->kind != WP_LIT || w->parts->quoted)
        return NULL;
    return w->parts->text;
}

enum wctx { WC_BASE, WC_DQ, WC_VARARG, WC_ARITH, WC_HEREDOC, WC_REGEX, WC_SUBOFF, WC_PATSUB };

static void lex_parts(struct parser *p, struct wbuild *wb, enum wctx ctx, bool dq);
static struct node *p_list(struct parser *p, int nlflag);
static int readtoken(struct parser *p);

/* Parse a separate text (a backquoted command, a here-document) as part of this parse. */
static void sub_parser(struct parser *sub, struct parser *p, const char *s, size_t n, int line)
{
    memset(sub, 0, sizeof(*sub));
    sub->a = p->a;
    sub->s = s;
    sub->n = n;
    sub->line = line;
    sub->d = p->d;
    sub->jb = p->jb;
    sub->depth = p->depth;
    sub->e = p->e;
    sub->utf8 = p->utf8;
}

static void depth_in(struct parser *p)
{
    if (++p->depth > NEST_MAX)
        syn_limit(p);
}

static void bash_eof_match(struct parser *p, const char *what, int line) __attribute__((noreturn));

static void bash_eof_match(struct parser *p, const char *what, int line)
{
    buf_reset(&p->e->msg);
    buf_addf(&p->e->msg, "unexpected EOF while looking for matching `%s'", what);
    p->e->line = line;
    syn_fail(p);
}

/* bash's $'...': C escapes in single quotes. */
static void lex_ansi_c(struct parser *p, struct wbuild *wb)
{
    int qline = p->line;

    adv(p);
    wb_lit(wb, "", 0, true);
    for (;;) {
        int c = pc_raw(p);

        if (c == PEOF)
            bash_eof_match(p, "'", qline);
        adv(p);
        if (c == '\'')
            return;
        if (c != '\\') {
            wb_ch(wb, c, true);
            continue;
        }
        c = pc_raw(p);
        if (c == PEOF) {
            wb_ch(wb, '\\', true);
            continue;
        }
        adv(p);
        switch (c) {
        case 'a': wb_ch(wb, '\a', true); break;
        case 'b': wb_ch(wb, '\b', true); break;
        case 'e': case 'E': wb_ch(wb, '\033', true); break;
        case 'f': wb_ch(wb, '\f', true); break;
        case 'n': wb_ch(wb, '\n', true); break;
        case 'r': wb_ch(wb, '\r', true); break;
        case 't': wb_ch(wb, '\t', true); break;
        case 'v': wb_ch(wb, '\v', true); break;
        case '\\': case '\'': case '"': case '?': wb_ch(wb, c, true); break;
        case 'c': {
            int x = pc_raw(p);

            if (x == PEOF) {
                wb_lit(wb, "\\c", 2, true);
                break;
            }
            adv(p);
            wb_ch(wb, x & 0x1f, true);
            break;
        }
        case 'x': case 'u': case 'U': {
            int want = c == 'x' ? 2 : c == 'u' ? 4 : 8, k;
            uint32_t v = 0;

            for (k = 0; k < want && hex_digit_value((char)pc_raw(p)) >= 0; k++) {
                v = v * 16 + (uint32_t)hex_digit_value((char)pc_raw(p));
                adv(p);
            }
            if (k == 0) {
                wb_ch(wb, '\\', true);
                wb_ch(wb, c, true);
            } else if (c == 'x' || v < 0x80) {
                wb_ch(wb, (int)v, true);
            } else if (!p->utf8) {
                char esc[16];

                snprintf(esc, sizeof(esc), c == 'u' ? "\\u%04X" : "\\U%08X", v);
                wb_lit(wb, esc, strlen(esc), true);
            } else {
                char u[4];
                int n = v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;

                if (n == 2) {
                    u[0] = (char)(0xc0 | v >> 6);
                } else if (n == 3) {
                    u[0] = (char)(0xe0 | v >> 12);
                    u[1] = (char)(0x80 | ((v >> 6) & 0x3f));
                } else {
                    u[0] = (char)(0xf0 | v >> 18);
                    u[1] = (char)(0x80 | ((v >> 12) & 0x3f));
                    u[2] = (char)(0x80 | ((v >> 6) & 0x3f));
                }
                u[n - 1] = (char)(0x80 | (v & 0x3f));
                wb_lit(wb, u, (size_t)n, true);
            }
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int v = c - '0', k;

                for (k = 1; k < 3 && pc_raw(p) >= '0' && pc_raw(p) <= '7'; k++) {
                    v = v * 8 + pc_raw(p) - '0';
                    adv(p);
                }
                wb_ch(wb, v & 0xff, true);
            } else {
                wb_ch(wb, '\\', true);
                wb_ch(wb, c, true);
            }
            break;
        }
    }
}

static void shift_lines(struct node *n, int d)
{
    struct nlist *l;
    struct caseitem *ci;

    if (!n)
        return;
    n->line += d;
    shift_lines(n->a, d);
    shift_lines(n->b, d);
    shift_lines(n->c, d);
    for (l = n->pipe; l; l = l->next)
        shift_lines(l->n, d);
    for (ci = n->cases; ci; ci = ci->next)
        shift_lines(ci->body, d);
}

static void lex_dollar(struct parser *p, struct wbuild *wb, bool dq)
{
    int c, startline = p->line;
    struct wpart *part;

    adv(p);                                 /* '$' */
    c = pc(p);
    if (p->d == D_BASH && !dq && !(p->checkkwd & CHKEOFMARK) && (c == '\'' || c == '"')) {
        if (c == '\'')
            lex_ansi_c(p, wb);
        /* $"..." is "..." in the C locale: the caller reads the quotes */
        return;
    }
    if ((p->checkkwd & CHKEOFMARK) ||
        (c != '(' && c != '{' && !is_name_char(c) && !strchr("@*#?-$!", c) ) || c == PEOF) {
        wb_ch(wb, '$', dq);
        return;
    }
    part = arena_alloc(p->a, sizeof(*part));
    part->quoted = dq;
    if (c == '(') {
        adv(p);
        if (pc(p) == '(') {
            struct wbuild sub;

            adv(p);
            depth_in(p);
            wb_init(&sub, p);
            lex_parts(p, &sub, WC_ARITH, true);
            p->depth--;
            part->kind = WP_ARITH;
            part->arg = wb_finish(&sub);
        } else {
            int savekwd = p->checkkwd, savelast = p->lasttok;
            bool savepush = p->pushback;
            struct redir *saveheredocs = p->heredocs;

            int subline = p->line;

            depth_in(p);
            p->pushback = false;
            p->heredocs = NULL;
            part->kind = WP_CMDSUB;
            part->body = p_list(p, 2);
            if (readtoken(p) != T_RP) {
                if (p->d == D_BASH && p->lasttok == T_EOF)
                    bash_eof_match(p, ")", p->line);
                synexpect(p, T_RP);
            }
            /* bash re-reads a $(...) that spans lines and counts one line too many */
            if (p->d == D_BASH && p->line > subline)
                shift_lines(part->body, 1);
            p->depth--;
            p->heredocs = saveheredocs;
            p->checkkwd = savekwd;
            p->lasttok = savelast;
            p->pushback = savepush;
        }
        wb_part(wb, part);
        return;
    }
    part->kind = WP_PARAM;
    if (c != '{') {
        size_t start = p->pos;

        if (is_name_start(c)) {
            while (is_name_char(pc(p)))
                adv(p);
        } else {
            adv(p);
        }
        part->text = arena_strndup(p->a, p->s + start, p->pos - start);
        part->len = p->pos - start;
        wb_part(wb, part);
        return;
    }
    /* ${...} */
    adv(p);
    depth_in(p);
    c = pc(p);
    {
        struct buf name = BUF_INIT;
        bool bad = false;

        if (c == '#') {
            size_t save = p->pos;
            int saveline = p->line, c2;

            adv(p);
            c2 = pc(p);
            if (c2 == '}' || c2 == PEOF) {
                p->pos = save;
                p->line = saveline;
            } else if (is_name_char(c2) || strchr("@*#?-$!", c2)) {
                part->op = PO_LENGTH;
                c = c2;
            } else {
                p->pos = save;
                p->line = saveline;
            }
        }
        c = pc(p);
        if (is_name_start(c)) {
            while (is_name_char(pc(p))) {
                buf_addch(&name, (char)pc(p));
                adv(p);
            }
        } else if (c >= '0' && c <= '9') {
            while (pc(p) >= '0' && pc(p) <= '9') {
                buf_addch(&name, (char)pc(p));
                adv(p);
            }
        } else if (c != PEOF && strchr("@*#?-$!", c)) {
            buf_addch(&name, (char)c);
            adv(p);
        } else {
            bad = true;
        }
        part->text = arena_strndup(p->a, buf_cstr(&name), name.len);
        part->len = name.len;
        buf_release(&name);
        c = pc(p);
        if (!bad && part->op == PO_LENGTH) {
            if (c != '}')
                bad = true;
        } else if (!bad && p->d == D_BASH &&
                   (c == '/' || c == '^' || c == ',' ||
                    (c == ':' && p->pos + 1 < p->n && !strchr("-=?+}", p->s[p->pos + 1])))) {
            /* bash: ${x:off:len}, ${x/pat/rep}, ${x^^} and friends */
            struct wbuild sub;
            bool closed = false;

            adv(p);
            if (c == ':') {
                part->op = PO_SUBSTR;
                wb_init(&sub, p);
                lex_parts(p, &sub, WC_SUBOFF, dq);
                part->arg = wb_finish(&sub);
                if (pc(p) == ':') {
                    adv(p);
                    wb_init(&sub, p);
                    lex_parts(p, &sub, WC_SUBOFF, dq);
                    part->arg2 = wb_finish(&sub);
                }
            } else if (c == '/') {
                part->op = PO_PATSUB;
                if (pc(p) == '/') {
                    part->op = PO_PATSUB_ALL;
                    adv(p);
                } else if (pc(p) == '#') {
                    part->op = PO_PATSUB_START;
                    adv(p);
                } else if (pc(p) == '%') {
                    part->op = PO_PATSUB_END;
                    adv(p);
                }
                wb_init(&sub, p);
                lex_parts(p, &sub, WC_PATSUB, false);
                part->arg = wb_finish(&sub);
                if (pc(p) == '/') {
                    adv(p);
                    wb_init(&sub, p);
                    lex_parts(p, &sub, WC_VARARG, dq);
                    part->arg2 = wb_finish(&sub);
                    closed = true;
                }
            } else {
                bool twice = pc(p) == c;

                if (twice)
                    adv(p);
                part->op = c == '^' ? (twice ? PO_UPPER : PO_UPPER1) : (twice ? PO_LOWER : PO_LOWER1);
                wb_init(&sub, p);
                lex_parts(p, &sub, WC_VARARG, false);
                part->arg = wb_finish(&sub);
                closed = true;
            }
            if (!closed) {
                /* whatever is left up to the brace is bash's to complain about; skip it */
                while ((c = pc(p)) != '}' && c != PEOF)
                    adv(p);
                if (c != '}')
                    bash_eof_match(p, "}", startline);
                adv(p);
            }
            p->depth--;
            wb_part(wb, part);
            return;
        } else if (!bad) {
            bool argdq = dq;

            if (c == ':') {
                adv(p);
                c = pc(p);
                part->colon = true;
                if (c == '}') {
                    /* dash reads the brace as an operator and wants another */
                    struct wbuild sub;

                    adv(p);
                    wb_init(&sub, p);
                    lex_parts(p, &sub, WC_VARARG, argdq);
                    part->arg = wb_finish(&sub);
                    part->kind = WP_BADSUB;
                    p->depth--;
                    wb_part(wb, part);
                    return;
                }
                if (c == PEOF || !strchr("-=?+", c))
                    bad = true;
            }
            if (!bad && c != PEOF && strchr("-=?+", c)) {
                part->op = c == '-' ? PO_DEFAULT : c == '=' ? PO_ASSIGN : c == '?' ? PO_ERROR : PO_ALT;
                adv(p);
            } else if (!bad && (c == '#' || c == '%')) {
                adv(p);
                if (pc(p) == c) {
                    adv(p);
                    part->op = c == '#' ? PO_TRIM_LONG_LEFT : PO_TRIM_LONG_RIGHT;
                } else {
                    part->op = c == '#' ? PO_TRIM_SHORT_LEFT : PO_TRIM_SHORT_RIGHT;
                }
                argdq = false;
            } else if (!bad && c != '}') {
                bad = true;
            }
            if (!bad && part->op != PO_NONE) {
                struct wbuild sub;

                wb_init(&sub, p);
                lex_parts(p, &sub, WC_VARARG, argdq);
                part->arg = wb_finish(&sub);
                p->depth--;
                wb_part(wb, part);
                return;
            }
        }
        if (bad) {
            /* dash reports a bad substitution when it expands it; skip to the brace. */
            part->kind = WP_BADSUB;
            while ((c = pc(p)) != '}' && c != PEOF)
                adv(p);
        }
        if (pc(p) != '}') {
            if (p->d == D_BASH)
                bash_eof_match(p, "}", startline);
            syn_error(p, "Missing '}'");
        }
        adv(p);
        p->depth--;
        wb_part(wb, part);
    }
}

static void lex_backquote(struct parser *p, struct wbuild *wb, bool dq)
{
    struct buf text = BUF_INIT;
    struct parser sub;
    struct wpart *part;
    int startline = p->line, c;
    char *s;
    size_t n;

    adv(p);                                 /* '`' */
    for (;;) {
        c = pc(p);
        if (c == '`') {
            adv(p);
            break;
        }
        if (c == PEOF) {
            buf_release(&text);
            if (p->d == D_BASH)
                bash_eof_match(p, "`", startline);
            syn_error(p, "EOF in backquote substitution");
        }
        if (c == '\\') {
            adv(p);
            c = pc_raw(p);
            if (c != '\\' && c != '`' && c != '$' && (!dq || c != '"'))
                buf_addch(&text, '\\');
            if (c == PEOF)
                continue;
        }
        buf_addch(&text, (char)c);
        adv(p);
    }
    s = arena_strndup(p->a, buf_cstr(&text), text.len);
    n = text.len;
    buf_release(&text);
    depth_in(p);
    sub_parser(&sub, p, s, n, startline);
    part = arena_alloc(p->a, sizeof(*part));
    part->kind = WP_CMDSUB;
    part->quoted = dq;
    part->body = p_list(&sub, 2);
    if (readtoken(&sub) != T_EOF)
        synexpect(&sub, -1);
    p->depth--;
    wb_part(wb, part);
}

/* Read word parts until the context's end: an unquoted metacharacter (WC_BASE), the
 * closing quote (WC_DQ), the closing brace (WC_VARARG), "))" (WC_ARITH) or the end of
 * the text (WC_HEREDOC). dq: text here counts as double-quoted. */
static void lex_parts(struct parser *p, struct wbuild *wb, enum wctx ctx, bool dq)
{
    int parens = 0, startline = p->line;

    for (;;) {
        int c = pc(p);

        if (c == PEOF) {
            if (ctx == WC_BASE || ctx == WC_HEREDOC || ctx == WC_REGEX)
                return;
            if (ctx == WC_DQ) {
                if (p->d == D_BASH)
                    bash_eof_match(p, "\"", startline);
                syn_error(p, "Unterminated quoted string");
            }
            if (ctx == WC_VARARG || ctx == WC_SUBOFF || ctx == WC_PATSUB) {
                if (p->d == D_BASH)
                    bash_eof_match(p, "}", startline);
                syn_error(p, "Missing '}'");
            }
            if (p->d == D_BASH)
                bash_eof_match(p, ")", startline);
            syn_error(p, "Missing '))'");
        }
        switch (ctx) {
        case WC_BASE:
            if (strchr(" \t\n;&|()<>", c))
                return;
            break;
        case WC_DQ:
            if (c == '"') {
                adv(p);
                return;
            }
            break;
        case WC_VARARG:
            if (c == '}') {
                adv(p);
                return;
            }
            break;
        case WC_SUBOFF:
            if (c == ':' || c == '}')
                return;
            break;
        case WC_PATSUB:
            if (c == '/' || c == '}')
                return;
            break;
        case WC_ARITH:
            if (c == '(') {
                parens++;
            } else if (c == ')') {
                if (parens > 0) {
                    parens--;
                } else {
                    adv(p);
                    if (pc(p) == ')') {
                        adv(p);
                        return;
                    }
                    wb_ch(wb, ')', true);
                    continue;
                }
            }
            break;
        case WC_HEREDOC:
            break;
        case WC_REGEX:
            /* bash's =~ word: parentheses and bars are the regex's own */
            if ((c == ' ' || c == '\t' || c == '\n') && parens == 0)
                return;
            if (c == '(')
                parens++;
            else if (c == ')' && parens > 0)
                parens--;
            else if (c == ')' || (c == ']' && parens == 0 && p->pos + 1 < p->n &&
                                  p->s[p->pos + 1] == ']' && wb->head == NULL && !wb->lit_open))
                return;
            if (strchr("()|&;<>", c)) {
                wb_ch(wb, c, false);
                adv(p);
                continue;
            }
            break;
        }
        if (c == '\\') {
            adv(p);
            c = pc_raw(p);
            if (c == PEOF) {
                wb_ch(wb, '\\', true);
                continue;
            }
            if (dq || ctx == WC_HEREDOC) {
                bool special = c == '\\' || c == '`' || c == '$' ||
                               (c == '"' && ctx != WC_HEREDOC) ||
                               (c == '}' && (ctx == WC_VARARG || ctx == WC_SUBOFF ||
                                             ctx == WC_PATSUB)) ||
                               (c == '/' && ctx == WC_PATSUB);

                if (!special)
                    wb_ch(wb, '\\', true);
            }
            wb_ch(wb, c, true);
            adv(p);
            continue;
        }
        if (c == '\'' && !dq && ctx != WC_HEREDOC && ctx != WC_ARITH) {
            size_t start;
            int qline = p->line;

            adv(p);
            start = p->pos;
            while (pc_raw(p) != '\'' && pc_raw(p) != PEOF)
                adv(p);
            if (pc_raw(p) == PEOF) {
                if (p->d == D_BASH)
                    bash_eof_match(p, "'", qline);
                syn_error(p, "Unterminated quoted string");
            }
            wb_lit(wb, p->s + start, p->pos - start, true);
            adv(p);
            continue;
        }
        if (c == '"' && ctx != WC_HEREDOC && (ctx != WC_DQ)) {
            struct wbuild *w = wb;

            adv(p);
            wb_lit(w, "", 0, true);
            lex_parts(p, w, WC_DQ, true);
            continue;
        }
        if (c == '$') {
            lex_dollar(p, wb, dq || ctx == WC_HEREDOC);
            continue;
        }
        if (c == '`' && !(p->checkkwd & CHKEOFMARK)) {
            lex_backquote(p, wb, dq || ctx == WC_HEREDOC);
            continue;
        }
        wb_ch(wb, c, dq || ctx == WC_HEREDOC);
        adv(p);
    }
}

/* Read the bodies of the here-documents waiting for this newline. */
static void read_heredocs(struct parser *p)
{
    struct redir *r = p->heredocs;

    p->heredocs = NULL;
    for (; r; r = r->hnext) {
        struct buf body = BUF_INIT;
        int startline = p->line;
        size_t dl = strlen(r->delim);

        for (;;) {
            size_t ls = p->pos, le;

            if (p->pos >= p->n)
                break;
            if (r->striptabs)
                while (p->pos < p->n && p->s[p->pos] == '\t')
                    p->pos++;
            ls = p->pos;
            le = ls;
            while (le < p->n && p->s[le] != '\n')
                le++;
            if (le - ls == dl && memcmp(p->s + ls, r->delim, dl) == 0) {
                p->pos = le < p->n ? le + 1 : le;
                p->line++;
                break;
            }
            buf_add(&body, p->s + ls, le - ls);
            if (le < p->n)
                buf_addch(&body, '\n');
            p->pos = le < p->n ? le + 1 : le;
            p->line++;
        }
        if (r->here_quoted) {
            struct wbuild wb;

            wb_init(&wb, p);
            wb_lit(&wb, buf_cstr(&body), body.len, true);
            r->here = wb_finish(&wb);
        } else {
            struct parser sub;
            struct wbuild wb;
            size_t blen = body.len;
            char *s = arena_strndup(p->a, buf_cstr(&body), body.len);

            buf_release(&body);
            sub_parser(&sub, p, s, blen, startline);
            wb_init(&wb, &sub);
            wb_lit(&wb, "", 0, true);
            lex_parts(&sub, &wb, WC_HEREDOC, true);
            r->here = wb_finish(&wb);
        }
        buf_release(&body);
    }
}

static int parse_redir_op(struct parser *p, int fd)
{
    struct redir *r = arena_alloc(p->a, sizeof(*r));
    int c = pc(p);

    adv(p);
    r->dupfd = -2;
    if (c == '>') {
        r->fd = 1;
        c = pc(p);
        if (c == '>') {
            r->kind = R_APPEND;
            adv(p);
        } else if (c == '|') {
            r->kind = R_CLOBBER;
            adv(p);
        } else if (c == '&') {
            r->kind = R_TOFD;
            adv(p);
        } else {
            r->kind = R_TO;
        }
    } else {
        r->fd = 0;
        c = pc(p);
        if (c == '<') {
            adv(p);
            r->kind = R_HERE;
            if (pc(p) == '-') {
                adv(p);
                r->striptabs = true;
            }
        } else if (c == '&') {
            r->kind = R_FROMFD;
            adv(p);
        } else if (c == '>') {
            r->kind = R_FROMTO;
            adv(p);
        } else {
            r->kind = R_FROM;
        }
    }
    if (fd >= 0)
        r->fd = fd;
    p->redirval = r;
    return p->lasttok = T_REDIR;
}

static int readword(struct parser *p)
{
    struct wbuild wb;
    int c = pc(p);

    if (c == '<' || c == '>')
        return parse_redir_op(p, -1);
    if (c >= '0' && c <= '9') {
        size_t save = p->pos;
        int saveline = p->line;

        adv(p);
        if (pc(p) == '<' || pc(p) == '>')
            return parse_redir_op(p, c - '0');
        p->pos = save;
        p->line = saveline;
    }
    wb_init(&wb, p);
    lex_parts(p, &wb, WC_BASE, false);
    p->wordval = wb_finish(&wb);
    p->quoteflag = p->wordval->quoted;
    return p->lasttok = T_WORD;
}

static int xxreadtoken(struct parser *p)
{
    int c;

    if (p->pushback) {
        p->pushback = false;
        return p->lasttok;
    }
    for (;;) {
        c = pc(p);
        p->tokstart = p->pos;
        p->tokline = p->line;
        switch (c) {
        case ' ':
        case '\t':
            adv(p);
            continue;
        case '#':
            while ((c = pc_raw(p)) != '\n' && c != PEOF)
                adv(p);
            continue;
        case '\n':
            adv(p);
            read_heredocs(p);
            return p->lasttok = T_NL;
        case PEOF:
            return p->lasttok = T_EOF;
        case '&':
            adv(p);
            if (pc(p) == '&') {
                adv(p);
                return p->lasttok = T_AND;
            }
            return p->lasttok = T_BG;
        case '|':
            adv(p);
            if (pc(p) == '|') {
                adv(p);
                return p->lasttok = T_OR;
            }
            return p->lasttok = T_PIPE;
        case ';':
            adv(p);
            if (pc(p) == ';') {
                adv(p);
                return p->lasttok = T_ENDCASE;
            }
            return p->lasttok = T_SEMI;
        case '(':
            adv(p);
            return p->lasttok = T_LP;
        case ')':
            adv(p);
            return p->lasttok = T_RP;
        }
        break;
    }
    return readword(p);
}

static int readtoken(struct parser *p)
{
    int t, kwd = p->checkkwd;

    t = xxreadtoken(p);
    if (kwd & CHKNL) {
        while (t == T_NL) {
            p->checkkwd = 0;
            t = xxreadtoken(p);
        }
    }
    kwd |= p->checkkwd;
    p->checkkwd = 0;
    if (t == T_WORD && !p->quoteflag && (kwd & CHKKWD)) {
        const char *s = word_plain(p->wordval);
        size_t i;

        for (i = 0; s && i < sizeof(kwtext) / sizeof(kwtext[0]); i++) {
            if (strcmp(s, kwtext[i]) == 0) {
                t = T_NOT + (int)i;
                p->lasttok = t;
                break;
            }
        }
    }
    return t;
}

static struct node *mknode(struct parser *p, enum node_kind kind, int line)
{
    struct node *n = arena_alloc(p->a, sizeof(*n));

    n->kind = kind;
    n->line = line;
    return n;
}

static struct node *mkbin(struct parser *p, enum node_kind kind, struct node *a, struct node *b)
{
    struct node *n = mknode(p, kind, a ? a->line : p->line);

    n->a = a;
    n->b = b;
    return n;
}

static struct node *p_andor(struct parser *p);
static struct node *p_pipeline(struct parser *p);
static struct node *p_command(struct parser *p);

/* dash's list(): nlflag 1 at top level (a newline ends it), 0 inside compound commands,
 * 2 for $(...) and case bodies (may be empty). */
static struct node *p_list(struct parser *p, int nlflag)
{
    int chknl = (nlflag & 1) ? 0 : CHKNL;
    struct node *n1 = NULL, *n2;
    int tok;

    for (;;) {
        p->checkkwd = chknl | CHKKWD;
        tok = readtoken(p);
        switch (tok) {
        case T_NL:
            return n1;
        case T_EOF:
            if (!n1 && !chknl)
                p->got_eof = true;
            p->pushback = true;
            p->lasttok = T_EOF;
            return n1;
        }
        p->pushback = true;
        if (nlflag == 2 && tokendlist[tok])
            return n1;
        nlflag |= 2;
        n2 = p_andor(p);
        tok = readtoken(p);
        if (tok == T_BG)
            n2 = mkbin(p, N_BG, n2, NULL);
        n1 = n1 ? mkbin(p, N_SEQ, n1, n2) : n2;
        switch (tok) {
        case T_EOF:
            p->pushback = true;
            p->lasttok = T_EOF;
            return n1;
        case T_NL:
            p->pushback = true;
            /* fall through */
        case T_BG:
        case T_SEMI:
            break;
        default:
            if (!chknl)
                synexpect(p, -1);
            p->pushback = true;
            return n1;
        }
    }
}

static struct node *p_andor(struct parser *p)
{
    struct node *n1 = p_pipeline(p);

    for (;;) {
        int t = readtoken(p);
        enum node_kind k;

        if (t == T_AND)
            k = N_AND;
        else if (t == T_OR)
            k = N_OR;
        else {
            p->pushback = true;
            return n1;
        }
        p->checkkwd = CHKNL | CHKKWD;
        n1 = mkbin(p, k, n1, p_pipeline(p));
    }
}

static struct node *p_pipeline(struct parser *p)
{
    struct node *n1, *pn;
    bool negate = false;

    if (readtoken(p) == T_NOT) {
        negate = true;
        p->checkkwd = CHKKWD;
    } else {
        p->pushback = true;
    }
    n1 = p_command(p);
    if (readtoken(p) == T_PIPE) {
        struct nlist *lp = arena_alloc(p->a, sizeof(*lp)), **tail;

        pn = mknode(p, N_PIPE, n1->line);
        lp->n = n1;
        pn->pipe = lp;
        tail = &lp->next;
        do {
            struct nlist *e = arena_alloc(p->a, sizeof(*e));

            p->checkkwd = CHKNL | CHKKWD;
            e->n = p_command(p);
            *tail = e;
            tail = &e->next;
        } while (readtoken(p) == T_PIPE);
        n1 = pn;
    }
    p->pushback = true;
    if (negate)
        n1 = mkbin(p, N_NOT, n1, NULL);
    return n1;
}

static struct wlist *wl_add(struct parser *p, struct wlist ***tail, struct word *w)
{
    struct wlist *e = arena_alloc(p->a, sizeof(*e));

    e->w = w;
    **tail = e;
    *tail = &e->next;
    return e;
}

static void parse_fname(struct parser *p)
{
    struct redir *r = p->redirval;

    if (r->kind == R_HERE)
        p->checkkwd = CHKEOFMARK;
    if (readtoken(p) != T_WORD) {
        p->checkkwd = 0;
        synexpect(p, -1);
    }
    p->checkkwd = 0;
    if (r->kind == R_HERE) {
        struct buf d = BUF_INIT;
        struct wpart *part;
        struct redir **tail;

        for (part = p->wordval->parts; part; part = part->next)
            buf_add(&d, part->text ? part->text : "", part->kind == WP_LIT ? part->len : 0);
        r->delim = arena_strndup(p->a, buf_cstr(&d), d.len);
        buf_release(&d);
        r->here_quoted = p->wordval->quoted;
        for (tail = &p->heredocs; *tail; tail = &(*tail)->hnext)
            ;
        *tail = r;
    } else if (r->kind == R_TOFD || r->kind == R_FROMFD) {
        const char *t = word_plain(p->wordval);

        r->target = p->wordval;
        if (t && t[0] >= '0' && t[0] <= '9' && !t[1])
            r->dupfd = t[0] - '0';
        else if (t && t[0] == '-' && !t[1])
            r->dupfd = -1;
    } else {
        r->target = p->wordval;
    }
}

static struct node *p_simplecmd(struct parser *p)
{
    struct node *n = mknode(p, N_CMD, p->line);
    struct wlist *args = NULL, **atail = &args, *assigns = NULL, **vtail = &assigns;
    struct redir *redirs = NULL, **rtail = &redirs;
    bool assigning = true;
    size_t first_start = 0;
    int first_line = 0;

    for (;;) {
        p->checkkwd = 0;
        switch (readtoken(p)) {
        case T_WORD: {
            const char *t = p->wordval->parts && p->wordval->parts->kind == WP_LIT &&
                            !p->wordval->parts->quoted ? p->wordval->parts->text : NULL;
            const char *eq = t ? strchr(t, '=') : NULL;

            if (assigning && eq && is_name(t, (size_t)(eq - t))) {
                wl_add(p, &vtail, p->wordval);
            } else {
                if (!args) {
                    first_start = p->tokstart;
                    first_line = p->tokline;
                }
                wl_add(p, &atail, p->wordval);
                assigning = false;
            }
            break;
        }
        case T_REDIR:
            *rtail = p->redirval;
            rtail = &p->redirval->next;
            parse_fname(p);
            break;
        case T_LP:
            if (args && !args->next && !assigns && !redirs) {
                const char *name = word_plain(args->w);
                struct node *body;

                if (readtoken(p) != T_RP)
                    synexpect(p, T_RP);
                if (!name || !is_name(name, strlen(name)) ||
                    strcmp(name, "exit") == 0 || strcmp(name, "export") == 0 ||
                    strcmp(name, "readonly") == 0 || strcmp(name, "set") == 0 ||
                    strcmp(name, "shift") == 0 || strcmp(name, "unset") == 0 ||
                    strcmp(name, "eval") == 0 || strcmp(name, "exec") == 0 ||
                    strcmp(name, "break") == 0 || strcmp(name, "continue") == 0 ||
                    strcmp(name, "return") == 0 || strcmp(name, ".") == 0 ||
                    strcmp(name, ":") == 0 || strcmp(name, "trap") == 0 ||
                    strcmp(name, "times") == 0) {
                    if (p->d == D_BASH && name && strchr(name, '/') == NULL)
                        ;   /* bash takes most names */
                    else
                        syn_error(p, "Bad function name");
                }
                p->checkkwd = CHKNL | CHKKWD;
                n->kind = N_DEFUN;
                n->name = arena_strndup(p->a, name ? name : "", name ? strlen(name) : 0);
                n->line = first_line;
                body = p_command(p);
                n->a = body;
                /* a copy: a background job may define it after the text is gone */
                n->srclen = (p->pushback ? p->tokstart : p->pos) - first_start;
                n->src = arena_strndup(p->a, p->s + first_start, n->srclen);
                n->srcline = first_line;
                return n;
            }
            /* fall through */
        default:
            p->pushback = true;
            n->args = args;
            n->assigns = assigns;
            n->redirs = redirs;
            return n;
        }
    }
}

/* ---- bash's [[ ]] */

enum ctok { CT_END, CT_AND, CT_OR, CT_LP, CT_RP, CT_NOT, CT_WORD, CT_EOF, CT_BAD };

struct cparse {
    struct parser *p;
    int line;               /* where [[ is */
    int push;               /* a token read ahead, or -1 */
    struct word *pushw;
    struct word *w;
};

/* bash gives up on the whole script after a [[ ]] syntax error, with status 0; some of
 * these errors it does not even report. */
static void cond_error(struct parser *p, const char *msg, int line) __attribute__((noreturn));

static void cond_error(struct parser *p, const char *msg, int line)
{
    buf_reset(&p->e->msg);
    p->e->line = line ? line : p->line;
    if (msg) {
        buf_addstr(&p->e->msg, msg);
        p->e->status = strncmp(msg, "unexpected EOF", 14) == 0 ? 2 : 0;
    } else {
        p->e->status = -1;
    }
    syn_fail(p);
}

static struct word *plain_word(struct parser *p, const char *text)
{
    struct wbuild wb;

    wb_init(&wb, p);
    wb_lit(&wb, text, strlen(text), false);
    return wb_finish(&wb);
}

static int cond_lex(struct cparse *cp, bool regex)
{
    struct parser *p = cp->p;
    struct wbuild wb;
    int c;

    if (cp->push >= 0) {
        int t = cp->push;

        cp->push = -1;
        cp->w = cp->pushw;
        return t;
    }
    for (;;) {
        c = pc(p);
        if (c == ' ' || c == '\t' || c == '\n') {
            adv(p);
            continue;
        }
        break;
    }
    p->tokstart = p->pos;
    p->tokline = p->line;
    if (c == PEOF)
        return CT_EOF;
    if (c == ']' && p->pos + 1 < p->n && p->s[p->pos + 1] == ']' &&
        (p->pos + 2 >= p->n || strchr(" \t\n;&|)", p->s[p->pos + 2]))) {
        adv(p);
        adv(p);
        return CT_END;
    }
    if ((c == '&' || c == '|') && p->pos + 1 < p->n && p->s[p->pos + 1] == c) {
        adv(p);
        adv(p);
        return c == '&' ? CT_AND : CT_OR;
    }
    if (!regex && (c == '(' || c == ')')) {
        adv(p);
        return c == '(' ? CT_LP : CT_RP;
    }
    if (!regex && (c == '<' || c == '>')) {
        char op[2] = { (char)c, 0 };

        adv(p);
        cp->w = plain_word(p, op);
        return CT_WORD;
    }
    if (!regex && strchr(";&|", c))
        return CT_BAD;
    wb_init(&wb, p);
    lex_parts(p, &wb, regex ? WC_REGEX : WC_BASE, false);
    cp->w = wb_finish(&wb);
    if (!cp->w->quoted && word_plain(cp->w) && strcmp(word_plain(cp->w), "!") == 0)
        return CT_NOT;
    return CT_WORD;
}

static bool cond_unop(const char *s)
{
    return s && s[0] == '-' && s[1] && !s[2] && strchr("abcdefghknoprstuvwxzGLNOS", s[1]);
}

static bool cond_binop(const char *s)
{
    static const char *const ops[] = { "==", "=", "!=", "=~", "<", ">", "-eq", "-ne", "-lt",
                                       "-le", "-gt", "-ge", "-nt", "-ot", "-ef" };
    size_t i;

    for (i = 0; s && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(s, ops[i]) == 0)
            return true;
    return false;
}

static struct cond *cond_or(struct cparse *cp);

static const char *ctok_text(struct cparse *cp, int t)
{
    switch (t) {
    case CT_END: return "]]";
    case CT_AND: return "&&";
    case CT_OR: return "||";
    case CT_LP: return "(";
    case CT_RP: return ")";
    case CT_NOT: return "!";
    case CT_WORD: return word_plain(cp->w) ? word_plain(cp->w) : "word";
    }
    return NULL;
}

static struct cond *cond_primary(struct cparse *cp)
{
    struct parser *p = cp->p;
    struct cond *c = arena_alloc(p->a, sizeof(*c));
    int t = cond_lex(cp, false), t2;

    depth_in(p);
    if (t == CT_LP) {
        c = cond_or(cp);
        t = cond_lex(cp, false);
        if (t != CT_RP) {
            char msg[64];

            snprintf(msg, sizeof(msg), "unexpected token `%s', expected `)'",
                     t == CT_EOF ? "EOF" : ctok_text(cp, t));
            cond_error(p, msg, 0);
        }
        p->depth--;
        return c;
    }
    if (t == CT_EOF)
        cond_error(p, "unexpected EOF while looking for `]]'", cp->line);
    if (t != CT_WORD)
        cond_error(p, NULL, 0);
    c->w1 = cp->w;
    t2 = cond_lex(cp, false);
    if (!c->w1->quoted && cond_unop(word_plain(c->w1)) &&
        (t2 == CT_WORD || t2 == CT_END || t2 == CT_EOF)) {
        if (t2 != CT_WORD)
            cond_error(p, t2 == CT_END ? "unexpected argument `]]' to conditional unary operator"
                                       : "unexpected EOF while looking for `]]'", 0);
        c->kind = CD_UNARY;
        c->op = word_plain(c->w1);
        c->w1 = cp->w;
    } else if (t2 == CT_WORD && !cp->w->quoted && cond_binop(word_plain(cp->w))) {
        c->kind = CD_BINARY;
        c->op = word_plain(cp->w);
        t2 = cond_lex(cp, strcmp(c->op, "=~") == 0);
        if (t2 != CT_WORD)
            cond_error(p, t2 == CT_END ? "unexpected argument `]]' to conditional binary operator"
                                       : "unexpected EOF while looking for `]]'", 0);
        c->w2 = cp->w;
    } else {
        c->kind = CD_WORD;
        if (t2 == CT_WORD)
            cond_error(p, "conditional binary operator expected", 0);
        cp->push = t2;
        cp->pushw = cp->w;
    }
    p->depth--;
    return c;
}

static struct cond *cond_not(struct cparse *cp)
{
    int t = cond_lex(cp, false);

    if (t == CT_NOT) {
        struct cond *c = arena_alloc(cp->p->a, sizeof(*c));

        depth_in(cp->p);
        c->kind = CD_NOT;
        c->a = cond_not(cp);
        cp->p->depth--;
        return c;
    }
    cp->push = t;
    cp->pushw = cp->w;
    return cond_primary(cp);
}

static struct cond *cond_and(struct cparse *cp)
{
    struct cond *c = cond_not(cp);

    for (;;) {
        int t = cond_lex(cp, false);
        struct cond *n;

        if (t != CT_AND) {
            cp->push = t;
            cp->pushw = cp->w;
            return c;
        }
        n = arena_alloc(cp->p->a, sizeof(*n));
        n->kind = CD_AND;
        n->a = c;
        n->b = cond_not(cp);
        c = n;
    }
}

static struct cond *cond_or(struct cparse *cp)
{
    struct cond *c = cond_and(cp);

    for (;;) {
        int t = cond_lex(cp, false);
        struct cond *n;

        if (t != CT_OR) {
            cp->push = t;
            cp->pushw = cp->w;
            return c;
        }
        n = arena_alloc(cp->p->a, sizeof(*n));
        n->kind = CD_OR;
        n->a = c;
        n->b = cond_and(cp);
        c = n;
    }
}

static struct node *p_cond(struct parser *p, int line)
{
    struct cparse cp = { p, p->line, -1, NULL, NULL };
    struct node *n = mknode(p, N_COND, line);
    int t;

    t = cond_lex(&cp, false);
    if (t == CT_END)
        cond_error(p, NULL, 0);
    cp.push = t;
    cp.pushw = cp.w;
    n->cond = cond_or(&cp);
    t = cond_lex(&cp, false);
    if (t != CT_END) {
        if (t == CT_EOF)
            cond_error(p, "unexpected EOF while looking for `]]'", cp.line);
        cond_error(p, "conditional binary operator expected", 0);
    }
    return n;
}

static struct node *p_command(struct parser *p)
{
    struct node *n1 = NULL, *n2;
    struct redir *redirs = NULL, **rtail = &redirs;
    int t = T_EOF, savelinno = p->line;

    depth_in(p);
    switch (readtoken(p)) {
    default:
        synexpect(p, -1);
    case T_IF:
        n1 = mknode(p, N_IF, savelinno);
        n1->a = p_list(p, 0);
        if (readtoken(p) != T_THEN)
            synexpect(p, T_THEN);
        n1->b = p_list(p, 0);
        n2 = n1;
        while (readtoken(p) == T_ELIF) {
            n2->c = mknode(p, N_IF, p->line);
            n2 = n2->c;
            n2->a = p_list(p, 0);
            if (readtoken(p) != T_THEN)
                synexpect(p, T_THEN);
            n2->b = p_list(p, 0);
        }
        if (p->lasttok == T_ELSE)
            n2->c = p_list(p, 0);
        else
            p->pushback = true;
        t = T_FI;
        break;
    case T_WHILE:
    case T_UNTIL:
        n1 = mknode(p, p->lasttok == T_WHILE ? N_WHILE : N_UNTIL, savelinno);
        n1->a = p_list(p, 0);
        if (readtoken(p) != T_DO)
            synexpect(p, T_DO);
        n1->b = p_list(p, 0);
        t = T_DONE;
        break;
    case T_FOR: {
        const char *name;

        if (readtoken(p) != T_WORD || p->quoteflag ||
            !(name = word_plain(p->wordval)) || !is_name(name, strlen(name))) {
            if (p->d == D_BASH) {
                buf_reset(&p->e->msg);
                buf_addf(&p->e->msg, "`%.*s': not a valid identifier",
                         (int)(p->pos - p->tokstart), p->s + p->tokstart);
                p->e->line = p->line;
                syn_fail(p);
            }
            syn_error(p, "Bad for loop variable");
        }
        n1 = mknode(p, N_FOR, savelinno);
        n1->name = arena_strndup(p->a, name, strlen(name));
        p->checkkwd = CHKNL | CHKKWD;
        if (readtoken(p) == T_IN) {
            struct wlist *args = NULL, **atail = &args;

            n1->has_in = true;
            while (readtoken(p) == T_WORD)
                wl_add(p, &atail, p->wordval);
            n1->args = args;
            if (p->lasttok != T_NL && p->lasttok != T_SEMI)
                synexpect(p, -1);
        } else {
            if (p->lasttok != T_SEMI)
                p->pushback = true;
        }
        p->checkkwd = CHKNL | CHKKWD;
        if (readtoken(p) != T_DO)
            synexpect(p, T_DO);
        n1->a = p_list(p, 0);
        t = T_DONE;
        break;
    }
    case T_CASE: {
        struct caseitem **ctail;

        n1 = mknode(p, N_CASE, savelinno);
        if (readtoken(p) != T_WORD)
            synexpect(p, T_WORD);
        n1->subject = p->wordval;
        p->checkkwd = CHKNL | CHKKWD;
        if (readtoken(p) != T_IN)
            synexpect(p, T_IN);
        ctail = &n1->cases;
        for (;;) {
            struct caseitem *ci;
            struct wlist **ptail;

            p->checkkwd = CHKNL | CHKKWD;
            t = readtoken(p);
            if (t == T_ESAC)
                break;
            if (p->lasttok == T_LP)
                readtoken(p);
            ci = arena_alloc(p->a, sizeof(*ci));
            *ctail = ci;
            ctail = &ci->next;
            ptail = &ci->patterns;
            for (;;) {
                struct word *pat = p->wordval;

                if (p->lasttok != T_WORD) {
                    /* dash takes the token's text, whatever it is: a keyword stays a
                     * pattern, and anything else fails on the ")" check below. */
                    struct wbuild wb;

                    wb_init(&wb, p);
                    if (p->lasttok >= T_NOT)
                        wb_lit(&wb, kwtext[p->lasttok - T_NOT],
                               strlen(kwtext[p->lasttok - T_NOT]), false);
                    pat = wb_finish(&wb);
                }
                wl_add(p, &ptail, pat);
                if (readtoken(p) != T_PIPE)
                    break;
                readtoken(p);
            }
            if (p->lasttok != T_RP)
                synexpect(p, T_RP);
            ci->body = p_list(p, 2);
            p->checkkwd = CHKNL | CHKKWD;
            if ((t = readtoken(p)) != T_ESAC) {
                if (t != T_ENDCASE)
                    synexpect(p, T_ENDCASE);
                continue;
            }
            break;
        }
        goto redir;
    }
    case T_LP:
        n1 = mknode(p, N_SUBSHELL, savelinno);
        n1->a = p_list(p, 0);
        t = T_RP;
        break;
    case T_BEGIN:
        n1 = mknode(p, N_BRACE, savelinno);
        n1->a = p_list(p, 0);
        t = T_END;
        break;
    case T_WORD:
        if (p->d == D_BASH && !p->quoteflag && word_plain(p->wordval) &&
            strcmp(word_plain(p->wordval), "[[") == 0) {
            n1 = p_cond(p, savelinno);
            goto redir;
        }
        /* fall through */
    case T_REDIR:
        p->pushback = true;
        n1 = p_simplecmd(p);
        p->depth--;
        return n1;
    }
    if (readtoken(p) != t)
        synexpect(p, t);
redir:
    p->checkkwd = CHKKWD;
    while (readtoken(p) == T_REDIR) {
        *rtail = p->redirval;
        rtail = &p->redirval->next;
        parse_fname(p);
    }
    p->pushback = true;
    n1->redirs = redirs;
    p->depth--;
    return n1;
}

/* ---------------------------------------------------------------- expansion */

/* The file descriptors of a command: outputs 0..9 (NULL: closed) and stdin. */
struct fds {
    struct sink *out[10];
    struct source *in;
};

/* Fields being built from one or more words. */
struct fields {
    struct strv out;
    struct buf cur;
    bool started;           /* cur is a field, even if empty */
    bool content;           /* cur holds more than quoted-empty marks */
    bool pending;           /* IFS white space seen after cur: the next byte starts a field */
    bool split;             /* split unquoted expansion results on IFS */
    bool pattern;           /* escape quoted pattern characters (case, ${x#pat}) */
    bool regex;             /* escape quoted regex characters ([[ =~ ]]) */
    const char *ifs;
    size_t total;
};

static void fields_init(struct fields *f, struct sh *sh, bool split, bool pattern)
{
    const char *ifs = var_get(&sh->vars, "IFS");

    memset(f, 0, sizeof(*f));
    f->split = split;
    f->pattern = pattern;
    f->ifs = ifs ? ifs : " \t\n";
}

static void fields_release(struct fields *f)
{
    strv_release(&f->out);
    buf_release(&f->cur);
}

static void f_emit(struct fields *f)
{
    strv_push(&f->out, buf_detach(&f->cur, NULL));
    f->started = f->content = f->pending = false;
}

static bool f_room(struct sh *sh, struct fields *f, size_t n)
{
    if (n > CAPTURE_MAX - f->total) {
        fatal(sh->r, "an expanded word is over %u bytes", CAPTURE_MAX);
        return false;
    }
    f->total += n;
    return true;
}

static void f_lit(struct fields *f, const char *s, size_t n, bool quoted)
{
    size_t i;

    if (f->pending)
        f_emit(f);
    if ((f->pattern || f->regex) && quoted) {
        for (i = 0; i < n; i++) {
            if (s[i] && strchr(f->regex ? ".[]()*+?{}|^$\\" : "*?[\\]", s[i]))
                buf_addch(&f->cur, '\\');
            buf_addch(&f->cur, s[i]);
        }
    } else {
        buf_add(&f->cur, s, n);
    }
    f->started = true;
    if (n)
        f->content = true;
}

static bool ifs_white(int c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Text from an unquoted expansion: split on IFS when splitting is on. */
static void f_split(struct fields *f, const char *s, size_t n)
{
    size_t i;

    if (!f->split) {
        f_lit(f, s, n, false);
        return;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c && strchr(f->ifs, c)) {
            if (ifs_white((unsigned char)c)) {
                if (f->started)
                    f->pending = true;
            } else {
                f_emit(f);
            }
            continue;
        }
        if (f->pending)
            f_emit(f);
        buf_addch(&f->cur, c);
        f->started = f->content = true;
    }
}

/* End of one word: its last field, if any. */
static void f_end_word(struct fields *f)
{
    if (f->started)
        f_emit(f);
    f->pending = false;
}

/* The fields joined into one string (for assignments and the like); caller frees. */
static char *fields_join(struct fields *f)
{
    struct buf b = BUF_INIT;
    size_t i;

    for (i = 0; i < f->out.n; i++) {
        if (i)
            buf_addch(&b, ' ');
        buf_addstr(&b, f->out.v[i]);
    }
    return buf_detach(&b, NULL);
}

static int exec_node(struct sh *sh, const struct node *n, struct fds *fds);
static bool expand_parts(struct sh *sh, const struct wpart *part, struct fields *f,
                         struct fds *fds, bool vsplit);

/* Expansion errors end the shell, as in a non-interactive dash or bash. */
static bool expand_fail(struct sh *sh, int status)
{
    sh->status = status;
    if (!unwinding(sh->r))
        sh->r->unwind = UW_EXIT;
    return false;
}

#define FAKE_PID "4242"

/* The value of a parameter; false when unset. */
static bool param_get(struct sh *sh, const char *name, struct buf *val)
{
    if (strcmp(name, "?") == 0) {
        buf_addf(val, "%d", sh->status);
    } else if (strcmp(name, "#") == 0) {
        buf_addf(val, "%zu", sh->params.n);
    } else if (strcmp(name, "$") == 0) {
        buf_addstr(val, FAKE_PID);
    } else if (strcmp(name, "!") == 0) {
        if (!sh->lastpid)
            return false;
        buf_addf(val, "%d", sh->lastpid);
    } else if (strcmp(name, "-") == 0) {
        if (sh->opt_e)
            buf_addch(val, 'e');
        if (sh->opt_f)
            buf_addch(val, 'f');
        if (sh->opt_u)
            buf_addch(val, 'u');
        if (sh->d == D_BASH)
            buf_addstr(val, "hBc");
    } else if (strcmp(name, "@") == 0 || strcmp(name, "*") == 0) {
        size_t i;

        for (i = 0; i < sh->params.n; i++) {
            if (i)
                buf_addch(val, ' ');
            buf_addstr(val, sh->params.v[i]);
        }
        return sh->params.n > 0;
    } else if (sh->d == D_BASH && strcmp(name, "LINENO") == 0) {
        buf_addf(val, "%d", sh->line);
    } else if (sh->d == D_BASH && strcmp(name, "RANDOM") == 0) {
        buf_addf(val, "%u", (unsigned)(rng_next(sh->r) % 32768));
    } else if (sh->d == D_BASH && strcmp(name, "SECONDS") == 0) {
        buf_addstr(val, "0");
    } else if (sh->d == D_BASH && strcmp(name, "BASHPID") == 0) {
        buf_addstr(val, FAKE_PID);
    } else if (name[0] >= '0' && name[0] <= '9') {
        unsigned long k = strtoul(name, NULL, 10);

        if (k == 0 && strcmp(name, "0") == 0) {
            buf_addstr(val, sh->arg0);
        } else if (k == 0 || k > sh->params.n) {
            return false;
        } else {
            buf_addstr(val, sh->params.v[k - 1]);
        }
    } else {
        const char *v = var_get(&sh->vars, name);

        if (!v)
            return false;
        buf_addstr(val, v);
    }
    return true;
}

static bool unset_error(struct sh *sh, const char *name, struct fds *fds)
{
    if (sh->d == D_DASH) {
        sh_err(sh, fds->out[2], "%s: parameter not set", name);
        return expand_fail(sh, 2);
    }
    sh_err(sh, fds->out[2], "%s: unbound variable", name);
    return expand_fail(sh, 127);
}

/* Expand a word into one string with no field splitting; caller frees *out. */
static bool expand_string(struct sh *sh, const struct word *w, struct fds *fds, bool pattern,
                          char **out)
{
    struct fields f;
    bool ok;

    fields_init(&f, sh, false, pattern);
    ok = expand_parts(sh, w ? w->parts : NULL, &f, fds, false);
    f_end_word(&f);
    *out = ok ? fields_join(&f) : NULL;
    fields_release(&f);
    return ok;
}

static size_t text_length(struct sh *sh, const char *s)
{
    size_t n = 0;

    if (sh->d == D_DASH || !sh->utf8)
        return strlen(s);
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static void emit_value(struct fields *f, const char *s, size_t n, bool quoted)
{
    if (quoted)
        f_lit(f, s, n, true);
    else
        f_split(f, s, n);
}

static bool arith_eval(struct sh *sh, const char *expr, struct fds *fds, intmax_t *out);

/* Byte offset of character k in s (bash counts characters in a UTF-8 locale). */
static size_t char_offset(struct sh *sh, const char *s, size_t n, size_t k)
{
    size_t i = 0;

    if (!sh->utf8)
        return k < n ? k : n;
    while (i < n && k > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        k--;
    }
    return i;
}

/* bash's ${x:offset:length} (and ${@:offset:length}). */
static bool bash_substr(struct sh *sh, const struct wpart *part, struct fields *f, struct fds *fds,
                        const char *s, size_t n, bool special_at)
{
    char *text = NULL;
    intmax_t off = 0, len = 0;
    bool has_len = part->arg2 != NULL;
    size_t count = sh->utf8 ? text_length(sh, s) : n;

    if (!expand_string(sh, part->arg, fds, false, &text))
        return false;
    if (!arith_eval(sh, text, fds, &off)) {
        free(text);
        return false;
    }
    free(text);
    text = NULL;
    if (has_len) {
        if (!expand_string(sh, part->arg2, fds, false, &text))
            return false;
        if (!arith_eval(sh, text, fds, &len)) {
            free(text);
            return false;
        }
    }
    if (special_at) {
        /* the parameters, $0 first */
        size_t total = sh->params.n + 1, start, end, i;
        bool star = part->text[0] == '*';

        free(text);
        if (off < 0)
            off = (intmax_t)total - 1 + off + 1 < 0 ? -1 : (intmax_t)sh->params.n + 1 + off;
        if (off < 0 || (size_t)off >= total)
            return true;
        start = (size_t)off;
        end = total;
        if (has_len && len >= 0 && (size_t)len < total - start)
            end = start + (size_t)len;
        for (i = start; i < end; i++) {
            const char *v = i == 0 ? sh->arg0 : sh->params.v[i - 1];

            if (i > start) {
                if (part->quoted && !star)
                    f_emit(f);
                else if (part->quoted)
                    f_lit(f, " ", 1, true);
                else if (f->started)
                    f_emit(f);
            }
            emit_value(f, v, strlen(v), part->quoted);
        }
        return true;
    }
    if (off < 0)
        off += (intmax_t)count;
    if (off < 0 || (size_t)off > count) {
        free(text);
        return true;
    }
    {
        size_t b0 = char_offset(sh, s, n, (size_t)off), b1 = n;

        if (has_len) {
            intmax_t end = len < 0 ? (intmax_t)count + len : off + len;

            if (end < off) {
                sh_err(sh, fds->out[2], "%s: substring expression < 0", text ? text : "");
                free(text);
                return expand_fail(sh, 1);
            }
            b1 = char_offset(sh, s, n, (size_t)(end > (intmax_t)count ? (intmax_t)count : end));
        }
        free(text);
        emit_value(f, s + b0, b1 - b0, part->quoted);
    }
    return true;
}

/* The longest a match of pattern pat can be, or SIZE_MAX when it has a star. */
static size_t pattern_maxlen(const char *pat)
{
    size_t n = 0;

    for (; *pat; pat++, n++) {
        if (*pat == '*')
            return SIZE_MAX;
        if (*pat == '\\' && pat[1])
            pat++;
        else if (*pat == '[') {
            const char *e = strchr(pat + 2, ']');

            if (e)
                pat = e;
        }
    }
    return n;
}

static bool sub_match(const char *pat, const char *s, size_t i, size_t k)
{
    char *t = xstrndup(s + i, k - i);
    bool m = fnmatch(pat, t, 0) == 0;

    free(t);
    return m;
}

/* bash's ${x/pat/rep}, ${x//pat/rep}, ${x/#pat/rep}, ${x/%pat/rep}: longest matches. */
static bool bash_patsub(struct sh *sh, const struct wpart *part, struct fds *fds, const char *s,
                        size_t n, struct buf *out)
{
    char *pat = NULL, *rep = NULL;
    size_t i = 0, k, maxlen;
    bool done = false;

    if (!expand_string(sh, part->arg, fds, true, &pat))
        return false;
    if (part->arg2 && !expand_string(sh, part->arg2, fds, false, &rep)) {
        free(pat);
        return false;
    }
    maxlen = pattern_maxlen(pat);
    if (!*pat) {
        buf_add(out, s, n);
    } else if (part->op == PO_PATSUB_START) {
        for (k = n + 1; k-- > 0;) {
            if (sub_match(pat, s, 0, k)) {
                buf_addstr(out, rep ? rep : "");
                buf_add(out, s + k, n - k);
                done = true;
                break;
            }
        }
        if (!done)
            buf_add(out, s, n);
    } else if (part->op == PO_PATSUB_END) {
        for (i = 0; i <= n; i++) {
            if (sub_match(pat, s, i, n)) {
                buf_add(out, s, i);
                buf_addstr(out, rep ? rep : "");
                done = true;
                break;
            }
        }
        if (!done)
            buf_add(out, s, n);
    } else {
        while (i < n && !aborting(sh->r)) {
            size_t top = maxlen == SIZE_MAX || maxlen > n - i ? n : i + maxlen;
            bool hit = false;

            if (!step(sh->r, (unsigned)((top - i) / 256) + 1))
                break;
            for (k = top + 1; k-- > i;) {
                if (sub_match(pat, s, i, k)) {
                    hit = true;
                    break;
                }
            }
            if (hit && !done) {
                buf_addstr(out, rep ? rep : "");
                if (k == i)
                    buf_addch(out, s[i++]);
                else
                    i = k;
                if (part->op != PO_PATSUB_ALL)
                    done = true;
                continue;
            }
            buf_addch(out, s[i++]);
        }
    }
    free(pat);
    free(rep);
    return !aborting(sh->r);
}

static uint32_t utf8_decode(const char *s, size_t m)
{
    uint32_t cp = (unsigned char)s[0] & (0x7f >> m);
    size_t i;

    for (i = 1; i < m; i++)
        cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
    return cp;
}

static void utf8_encode(uint32_t cp, char *out, size_t *m)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        *m = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        *m = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        *m = 3;
    } else {
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        *m = 4;
    }
    out[*m] = '\0';
}

/* Upper or lower case of the commonest alphabets: Latin-1, Latin Extended-A, Greek,
 * Cyrillic (what C.UTF-8's towupper does for them). */
static uint32_t case_map(uint32_t c, bool up)
{
    if (up) {
        if ((c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) ||
            (c >= 0x430 && c <= 0x44f))
            return c - 0x20;
        if (c == 0xff)
            return 0x178;
        if (c >= 0x450 && c <= 0x45f)
            return c - 0x50;
        if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
            return c & ~1u;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
            return (c & 1) ? c : c - 1;
        return c;
    }
    if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) ||
        (c >= 0x410 && c <= 0x42f))
        return c + 0x20;
    if (c == 0x178)
        return 0xff;
    if (c >= 0x400 && c <= 0x40f)
        return c + 0x50;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c | 1u;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return (c & 1) ? c + 1 : c;
    return c;
}

/* bash's ${x^pat}, ${x^^pat}, ${x,pat}, ${x,,pat}. */
static bool bash_case(struct sh *sh, const struct wpart *part, struct fds *fds, const char *s,
                      struct buf *out)
{
    char *pat = NULL;
    bool all = part->op == PO_UPPER || part->op == PO_LOWER;
    bool up = part->op == PO_UPPER || part->op == PO_UPPER1;
    size_t i;

    if (!expand_string(sh, part->arg, fds, true, &pat))
        return false;
    for (i = 0; s[i];) {
        size_t m0 = sh->utf8 ? utf8_printable_len((const unsigned char *)s + i, strlen(s + i)) : 0;
        size_t m = m0 < 2 ? 1 : m0;
        char one[8];

        memcpy(one, s + i, m);
        one[m] = '\0';
        /* the default pattern matches any character; fnmatch here counts bytes */
        if ((all || i == 0) && (!*pat || fnmatch(pat, one, 0) == 0)) {
            if (m == 1 && up)
                one[0] = (char)toupper((unsigned char)one[0]);
            else if (m == 1)
                one[0] = (char)tolower((unsigned char)one[0]);
            else
                utf8_encode(case_map(utf8_decode(one, m), up), one, &m);
        }
        buf_add(out, one, m);
        i += m0 < 2 ? 1 : m0;
    }
    free(pat);
    return true;
}

static bool expand_param(struct sh *sh, const struct wpart *part, struct fields *f,
                         struct fds *fds)
{
    struct buf val = BUF_INIT;
    const char *name = part->text;
    bool set = param_get(sh, name, &val), ok = true;
    bool special_at = strcmp(name, "@") == 0 || strcmp(name, "*") == 0;
    bool empty = val.len == 0;

    if (part->kind == WP_BADSUB) {
        buf_release(&val);
        if (sh->d == D_DASH)
            sh_err(sh, fds->out[2], "Bad substitution");
        else
            sh_err(sh, fds->out[2], "${%s}: bad substitution", name);
        return expand_fail(sh, sh->d == D_DASH ? 2 : 1);
    }
    switch (part->op) {
    case PO_LENGTH:
        if (!set && sh->opt_u && !special_at) {
            buf_release(&val);
            return unset_error(sh, name, fds);
        }
        {
            char num[32];

            snprintf(num, sizeof(num), "%zu",
                     special_at ? sh->params.n : text_length(sh, buf_cstr(&val)));
            emit_value(f, num, strlen(num), part->quoted);
        }
        break;
    case PO_NONE:
        if (!set && sh->opt_u && !special_at && strcmp(name, "!") != 0) {
            buf_release(&val);
            return unset_error(sh, name, fds);
        }
        if (special_at) {
            size_t i;
            bool star = name[0] == '*';

            if (part->quoted && !star && f->split) {
                /* "$@": one field per parameter */
                if (sh->params.n == 0 && !f->content)
                    f->started = false;
                for (i = 0; i < sh->params.n; i++) {
                    if (i)
                        f_emit(f);
                    f_lit(f, sh->params.v[i], strlen(sh->params.v[i]), true);
                }
            } else if (part->quoted || !f->split) {
                char sep[2] = { ' ', 0 };

                if (star || !f->split) {
                    const char *ifs = var_get(&sh->vars, "IFS");

                    if (star)
                        sep[0] = ifs ? ifs[0] : ' ';
                }
                for (i = 0; i < sh->params.n; i++) {
                    if (i && sep[0])
                        f_lit(f, sep, 1, part->quoted);
                    f_lit(f, sh->params.v[i], strlen(sh->params.v[i]), part->quoted);
                }
            } else {
                for (i = 0; i < sh->params.n; i++) {
                    if (i && f->started)
                        f_emit(f);
                    f->pending = false;
                    f_split(f, sh->params.v[i], strlen(sh->params.v[i]));
                }
            }
            break;
        }
        emit_value(f, buf_cstr(&val), val.len, part->quoted);
        break;
    case PO_DEFAULT:
    case PO_ALT:
    case PO_ASSIGN:
    case PO_ERROR: {
        bool use_word = (part->op == PO_ALT) ? (set && !(part->colon && empty))
                                             : (!set || (part->colon && empty));

        if (!use_word) {
            emit_value(f, buf_cstr(&val), val.len, part->quoted);
            break;
        }
        if (part->op == PO_DEFAULT || part->op == PO_ALT) {
            ok = expand_parts(sh, part->arg->parts, f, fds, !part->quoted);
        } else {
            char *word = NULL;

            if (!expand_string(sh, part->arg, fds, false, &word)) {
                ok = false;
                break;
            }
            if (part->op == PO_ASSIGN) {
                if (!is_name(name, strlen(name))) {
                    if (sh->d == D_DASH)
                        sh_err(sh, fds->out[2], "%s: bad variable name", name);
                    else
                        sh_err(sh, fds->out[2], "$%s: cannot assign in this way", name);
                    free(word);
                    ok = expand_fail(sh, sh->d == D_DASH ? 2 : 1);
                    break;
                }
                var_set(&sh->vars, name, word, false);
                emit_value(f, word, strlen(word), part->quoted);
            } else {
                if (*word)
                    sh_err(sh, fds->out[2], "%s: %s", name, word);
                else if (sh->d == D_DASH)
                    sh_err(sh, fds->out[2], "%s: parameter not set%s", name,
                           part->colon ? " or null" : "");
                else
                    sh_err(sh, fds->out[2], "%s: parameter %s", name,
                           part->colon ? "null or not set" : "not set");
                ok = expand_fail(sh, sh->d == D_DASH ? 2 : 127);
            }
            free(word);
        }
        break;
    }
    case PO_SUBSTR:
        ok = bash_substr(sh, part, f, fds, buf_cstr(&val), val.len, special_at);
        break;
    case PO_PATSUB:
    case PO_PATSUB_ALL:
    case PO_PATSUB_START:
    case PO_PATSUB_END:
    case PO_UPPER1:
    case PO_UPPER:
    case PO_LOWER1:
    case PO_LOWER: {
        struct buf out = BUF_INIT;

        if (!set && sh->opt_u && !special_at) {
            buf_release(&val);
            return unset_error(sh, name, fds);
        }
        ok = part->op >= PO_UPPER1 ? bash_case(sh, part, fds, buf_cstr(&val), &out)
                                   : bash_patsub(sh, part, fds, buf_cstr(&val), val.len, &out);
        if (ok)
            emit_value(f, buf_cstr(&out), out.len, part->quoted);
        buf_release(&out);
        break;
    }
    default: {
        /* ${x#pat} and friends */
        char *pat = NULL;
        const char *s = buf_cstr(&val);
        size_t n = val.len, i, best_start = 0, best_len = n;
        bool found = false;

        if (!set && sh->opt_u && !special_at) {
            buf_release(&val);
            return unset_error(sh, name, fds);
        }
        if (!expand_string(sh, part->arg, fds, true, &pat)) {
            ok = false;
            break;
        }
        if (part->op == PO_TRIM_SHORT_LEFT || part->op == PO_TRIM_LONG_LEFT) {
            bool longest = part->op == PO_TRIM_LONG_LEFT;

            for (i = 0; i <= n; i++) {
                size_t k = longest ? n - i : i;
                char *pre = xstrndup(s, k);
                bool m = fnmatch(pat, pre, 0) == 0;

                free(pre);
                if (m) {
                    best_start = k;
                    best_len = n - k;
                    found = true;
                    break;
                }
            }
        } else {
            bool longest = part->op == PO_TRIM_LONG_RIGHT;

            for (i = 0; i <= n; i++) {
                size_t k = longest ? i : n - i;

                if (fnmatch(pat, s + k, 0) == 0) {
                    best_start = 0;
                    best_len = k;
                    found = true;
                    break;
                }
            }
        }
        if (!found) {
            best_start = 0;
            best_len = n;
        }
        emit_value(f, s + best_start, best_len, part->quoted);
        free(pat);
        break;
    }
    }
    buf_release(&val);
    return ok && !unwinding(sh->r);
}

static int run_capture(struct sh *sh, const struct node *body, struct fds *fds, struct buf *out);

static bool expand_cmdsub(struct sh *sh, const struct wpart *part, struct fields *f,
                          struct fds *fds)
{
    struct buf out = BUF_INIT;
    size_t i, k, n;
    bool had_nul = false;

    sh->cmdsub_status = run_capture(sh, part->body, fds, &out);
    if (aborting(sh->r)) {
        buf_release(&out);
        return false;
    }
    /* Shells drop NUL bytes; bash says so. */
    for (i = k = 0; i < out.len; i++) {
        if (out.data[i])
            out.data[k++] = out.data[i];
        else
            had_nul = true;
    }
    n = k;
    while (n > 0 && out.data[n - 1] == '\n')
        n--;
    if (had_nul && sh->d == D_BASH)
        sh_err(sh, fds->out[2], "warning: command substitution: ignored null byte in input");
    if (!f_room(sh, f, n)) {
        buf_release(&out);
        return false;
    }
    emit_value(f, out.data ? out.data : "", n, part->quoted);
    buf_release(&out);
    return true;
}

/* ---------------------------------------------------------------- arithmetic */

struct arith {
    struct sh *sh;
    struct fds *fds;
    const char *expr;       /* the whole expression, for messages */
    const char *p;
    const char *last;       /* where the last token started (bash names it in errors) */
    bool noeval;            /* inside the untaken side of && || ?: */
    bool failed;
    int depth;
};

static void arith_fail(struct arith *a, const char *dash_msg, const char *bash_msg,
                       const char *token)
{
    if (a->failed)
        return;
    a->failed = true;
    if (a->sh->d == D_DASH)
        sh_err(a->sh, a->fds->out[2], "arithmetic expression: %s: \"%s\"", dash_msg, a->expr);
    else
        sh_err(a->sh, a->fds->out[2], "%s: %s (error token is \"%s\")", a->expr, bash_msg,
               token);
}

static void arith_ws(struct arith *a)
{
    while (*a->p == ' ' || *a->p == '\t' || *a->p == '\n')
        a->p++;
}

static intmax_t arith_expr(struct arith *a);

/* A variable's value as a number. */
static intmax_t arith_var(struct arith *a, const char *name)
{
    const char *v = var_get(&a->sh->vars, name);
    char *end;
    intmax_t x;

    if (!v || !*v) {
        if (a->sh->opt_u && !v && !a->noeval) {
            unset_error(a->sh, name, a->fds);
            a->failed = true;
        }
        return 0;
    }
    if (a->sh->d == D_BASH) {
        /* bash evaluates the value as an expression of its own */
        struct arith sub = *a;

        if (++a->depth > NEST_MAX) {
            fatal(a->sh->r, "arithmetic nested over %d levels", NEST_MAX);
            a->failed = true;
            a->depth--;
            return 0;
        }
        sub.expr = v;
        sub.p = v;
        sub.depth = a->depth;
        x = arith_expr(&sub);
        arith_ws(&sub);
        if (!sub.failed && *sub.p)
            arith_fail(&sub, "", "syntax error in expression", sub.p);
        a->depth--;
        if (sub.failed)
            a->failed = true;
        return x;
    }
    errno = 0;
    while (*v == ' ' || *v == '\t' || *v == '\n')
        v++;
    x = strtoimax(v, &end, 0);
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    if (end == v || *end) {
        if (!a->noeval) {
            sh_err(a->sh, a->fds->out[2], "Illegal number: %s", var_get(&a->sh->vars, name));
            a->failed = true;
        }
        return 0;
    }
    return x;
}

static void arith_assign(struct arith *a, const char *name, intmax_t v)
{
    char num[32];

    if (a->noeval || a->failed)
        return;
    snprintf(num, sizeof(num), "%" PRIdMAX, v);
    var_set(&a->sh->vars, name, num, false);
}

static intmax_t arith_primary(struct arith *a)
{
    intmax_t x = 0;

    if (a->failed)
        return 0;
    arith_ws(a);
    if (++a->depth > NEST_MAX) {
        fatal(a->sh->r, "arithmetic nested over %d levels", NEST_MAX);
        a->failed = true;
        a->depth--;
        return 0;
    }
    if (*a->p == '(') {
        a->p++;
        x = arith_expr(a);
        arith_ws(a);
        if (*a->p != ')') {
            arith_fail(a, "expecting ')'", "missing `)'", a->p);
            a->depth--;
            return 0;
        }
        a->p++;
    } else if (*a->p == '-' || *a->p == '+' || *a->p == '!' || *a->p == '~') {
        char op = *a->p++;

        if (a->sh->d == D_BASH && (op == '-' || op == '+') && *a->p == op) {
            /* pre-increment */
            const char *s;

            a->p++;
            arith_ws(a);
            s = a->p;
            if (!is_name_start((unsigned char)*s)) {
                arith_fail(a, "", "syntax error: operand expected", a->p);
                a->depth--;
                return 0;
            }
            while (is_name_char((unsigned char)*a->p))
                a->p++;
            {
                char *name = xstrndup(s, (size_t)(a->p - s));

                x = arith_var(a, name) + (op == '+' ? 1 : -1);
                arith_assign(a, name, x);
                free(name);
            }
        } else {
            x = arith_primary(a);
            x = op == '-' ? (intmax_t)(0 - (uintmax_t)x) : op == '+' ? x : op == '!' ? !x : ~x;
        }
    } else if (*a->p >= '0' && *a->p <= '9') {
        const char *s = a->p;
        char *end;
        uintmax_t u;

        errno = 0;
        u = strtoumax(s, &end, 0);
        if (is_name_char((unsigned char)*end)) {
            while (is_name_char((unsigned char)*end))
                end++;
            if (a->sh->d == D_DASH) {
                a->p = s;
                arith_fail(a, "expecting EOF", "", "");
            } else {
                char *tok = xstrndup(s, (size_t)(end - s));

                arith_fail(a, "", s[0] == '0' && end - s > 1 ? "value too great for base"
                                                             : "invalid number", tok);
                free(tok);
            }
            a->depth--;
            return 0;
        }
        x = (intmax_t)u;
        a->p = end;
    } else if (is_name_start((unsigned char)*a->p)) {
        const char *s = a->p;
        char *name;

        while (is_name_char((unsigned char)*a->p))
            a->p++;
        name = xstrndup(s, (size_t)(a->p - s));
        arith_ws(a);
        {
            const char *q = a->p;
            const char *ops[] = { "<<=", ">>=", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "=" };
            size_t i, oplen = 0;
            int op = 0;

            for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                size_t l = strlen(ops[i]);

                if (strncmp(q, ops[i], l) == 0 && !(l == 1 && q[1] == '=')) {
                    oplen = l;
                    op = ops[i][0];
                    if (l == 3)
                        op = ops[i][0] == '<' ? 'L' : 'R';
                    if (l == 1)
                        op = '=';
                    break;
                }
            }
            if (oplen) {
                intmax_t rhs, cur;

                a->p += oplen;
                rhs = arith_expr(a);
                cur = op == '=' ? 0 : arith_var(a, name);
                if (a->failed) {
                    free(name);
                    a->depth--;
                    return 0;
                }
                switch (op) {
                case '=': x = rhs; break;
                case '+': x = (intmax_t)((uintmax_t)cur + (uintmax_t)rhs); break;
                case '-': x = (intmax_t)((uintmax_t)cur - (uintmax_t)rhs); break;
                case '*': x = (intmax_t)((uintmax_t)cur * (uintmax_t)rhs); break;
                case '/':
                case '%':
                    if (rhs == 0) {
                        if (!a->noeval)
                            arith_fail(a, "division by zero", "division by 0", "0");
                        x = 0;
                    } else if (rhs == -1) {
                        x = op == '/' ? (intmax_t)(0 - (uintmax_t)cur) : 0;
                    } else {
                        x = op == '/' ? cur / rhs : cur % rhs;
                    }
                    break;
                case '&': x = cur & rhs; break;
                case '^': x = cur ^ rhs; break;
                case '|': x = cur | rhs; break;
                case 'L': x = (intmax_t)((uintmax_t)cur << (rhs & 63)); break;
                case 'R': x = cur >> (rhs & 63); break;
                }
                arith_assign(a, name, x);
            } else if (a->sh->d == D_BASH && (strncmp(q, "++", 2) == 0 || strncmp(q, "--", 2) == 0)) {
                x = arith_var(a, name);
                arith_assign(a, name, x + (q[0] == '+' ? 1 : -1));
                a->p += 2;
            } else {
                x = arith_var(a, name);
            }
        }
        free(name);
    } else {
        if (a->sh->d == D_DASH)
            arith_fail(a, "expecting primary", "", "");
        else
            arith_fail(a, "", "syntax error: operand expected", !*a->p && a->last ? a->last : a->p);
    }
    a->depth--;
    return x;
}

/* Binary operators by precedence, lowest first. */
static int arith_binop(struct arith *a, int level, int *len)
{
    static const char *const levels[][4] = {
        { "||" }, { "&&" }, { "|" }, { "^" }, { "&" }, { "==", "!=" },
        { "<=", ">=", "<", ">" }, { "<<", ">>" }, { "+", "-" }, { "*", "/", "%" },
    };
    size_t i;

    arith_ws(a);
    for (i = 0; i < 4 && levels[level][i]; i++) {
        const char *op = levels[level][i];
        size_t l = strlen(op);

        if (strncmp(a->p, op, l) != 0)
            continue;
        /* not the start of a longer operator: || vs |, |= , <<=, == vs = ... */
        if (l == 1 && (a->p[1] == '=' || (a->p[1] == op[0] && op[0] != '!')))
            continue;
        if (l == 2 && op[0] == op[1] && a->p[2] == '=')
            continue;
        if (a->sh->d == D_BASH && l == 1 && op[0] == '*' && a->p[1] == '*')
            continue;
        a->last = a->p;
        *len = (int)l;
        return op[0] << 8 | op[1];
    }
    return 0;
}

#define ARITH_LEVELS 10

static intmax_t arith_power(struct arith *a)
{
    intmax_t x = arith_primary(a);

    arith_ws(a);
    if (a->sh->d == D_BASH && a->p[0] == '*' && a->p[1] == '*' && a->p[2] != '=') {
        intmax_t e, r = 1;

        a->p += 2;
        e = arith_power(a);
        if (e < 0) {
            if (!a->noeval)
                arith_fail(a, "", "exponent less than 0", "");
            return 0;
        }
        while (e-- > 0)
            r = (intmax_t)((uintmax_t)r * (uintmax_t)x);
        return r;
    }
    return x;
}

static intmax_t arith_level(struct arith *a, int level)
{
    intmax_t x;
    int op, len;

    if (level == ARITH_LEVELS)
        return arith_power(a);
    x = arith_level(a, level + 1);
    while (!a->failed && (op = arith_binop(a, level, &len)) != 0) {
        intmax_t y;
        bool save = a->noeval;

        a->p += len;
        if ((op == ('|' << 8 | '|') && x) || (op == ('&' << 8 | '&') && !x))
            a->noeval = true;
        y = arith_level(a, level + 1);
        a->noeval = save;
        switch (op) {
        case '|' << 8 | '|': x = x || y; break;
        case '&' << 8 | '&': x = x && y; break;
        case '|' << 8: x |= y; break;
        case '^' << 8: x ^= y; break;
        case '&' << 8: x &= y; break;
        case '=' << 8 | '=': x = x == y; break;
        case '!' << 8 | '=': x = x != y; break;
        case '<' << 8 | '=': x = x <= y; break;
        case '>' << 8 | '=': x = x >= y; break;
        case '<' << 8: x = x < y; break;
        case '>' << 8: x = x > y; break;
        case '<' << 8 | '<': x = (intmax_t)((uintmax_t)x << (y & 63)); break;
        case '>' << 8 | '>': x = x >> (y & 63); break;
        case '+' << 8: x = (intmax_t)((uintmax_t)x + (uintmax_t)y); break;
        case '-' << 8: x = (intmax_t)((uintmax_t)x - (uintmax_t)y); break;
        case '*' << 8: x = (intmax_t)((uintmax_t)x * (uintmax_t)y); break;
        case '/' << 8:
        case '%' << 8:
            if (y == 0) {
                if (!a->noeval)
                    arith_fail(a, "division by zero", "division by 0", "0");
                x = 0;
            } else if (y == -1) {
                x = op == ('/' << 8) ? (intmax_t)(0 - (uintmax_t)x) : 0;
            } else {
                x = op == ('/' << 8) ? x / y : x % y;
            }
            break;
        }
    }
    return x;
}

static intmax_t arith_ternary(struct arith *a)
{
    intmax_t c = arith_level(a, 0), x, y;
    bool save = a->noeval;

    arith_ws(a);
    if (*a->p != '?')
        return c;
    a->p++;
    a->noeval = save || !c;
    x = arith_expr(a);
    arith_ws(a);
    if (*a->p != ':') {
        arith_fail(a, "expecting ':'", "`:' expected for conditional expression", a->p);
        a->noeval = save;
        return 0;
    }
    a->p++;
    a->noeval = save || c;
    y = arith_ternary(a);
    a->noeval = save;
    return c ? x : y;
}

static intmax_t arith_expr(struct arith *a)
{
    intmax_t x = arith_ternary(a);

    if (a->sh->d == D_BASH) {
        arith_ws(a);
        while (!a->failed && *a->p == ',') {
            a->p++;
            x = arith_ternary(a);
            arith_ws(a);
        }
    }
    return x;
}

static bool arith_eval(struct sh *sh, const char *expr, struct fds *fds, intmax_t *out)
{
    struct arith a = { sh, fds, expr, expr, NULL, false, false, 0 };

    arith_ws(&a);
    if (!*a.p && sh->d == D_BASH) {
        *out = 0;
        return true;
    }
    *out = arith_expr(&a);
    arith_ws(&a);
    if (!a.failed && *a.p) {
        if (sh->d == D_DASH)
            arith_fail(&a, "expecting EOF", "", "");
        else if (*a.p == '=')
            arith_fail(&a, "", "attempted assignment to non-variable", a.p);
        else
            arith_fail(&a, "", "syntax error in expression", a.p);
    }
    if (a.failed)
        return expand_fail(sh, sh->d == D_DASH ? 2 : 1);
    return true;
}

static bool expand_arith(struct sh *sh, const struct wpart *part, struct fields *f,
                         struct fds *fds)
{
    char *expr = NULL, num[32];
    intmax_t v;
    bool ok;

    if (!expand_string(sh, part->arg, fds, false, &expr))
        return false;
    ok = arith_eval(sh, expr, fds, &v);
    free(expr);
    if (!ok)
        return false;
    snprintf(num, sizeof(num), "%" PRIdMAX, v);
    emit_value(f, num, strlen(num), part->quoted);
    return true;
}

static bool expand_parts(struct sh *sh, const struct wpart *part, struct fields *f,
                         struct fds *fds, bool vsplit)
{
    for (; part; part = part->next) {
        bool ok = true;

        if (unwinding(sh->r))
            return false;
        switch (part->kind) {
        case WP_LIT:
            if (!f_room(sh, f, part->len))
                return false;
            if (vsplit && !part->quoted)
                f_split(f, part->text, part->len);
            else
                f_lit(f, part->text, part->len, part->quoted);
            break;
        case WP_PARAM:
        case WP_BADSUB: {
            size_t before = f->cur.len;

            ok = expand_param(sh, part, f, fds);
            if (ok && !f_room(sh, f, f->cur.len > before ? f->cur.len - before : 0))
                return false;
            break;
        }
        case WP_CMDSUB:
            ok = expand_cmdsub(sh, part, f, fds);
            break;
        case WP_ARITH:
            ok = expand_arith(sh, part, f, fds);
            break;
        }
        if (!ok)
            return false;
    }
    return !unwinding(sh->r);
}

/* The home directories of Debian 12's base users (/etc/passwd). */
static const char *user_home(const char *name, size_t n)
{
    static const struct { const char *user, *home; } users[] = {
        { "root", "/root" }, { "daemon", "/usr/sbin" }, { "bin", "/bin" }, { "sys", "/dev" },
        { "sync", "/bin" }, { "games", "/usr/games" }, { "man", "/var/cache/man" },
        { "lp", "/var/spool/lpd" }, { "mail", "/var/mail" }, { "news", "/var/spool/news" },
        { "uucp", "/var/spool/uucp" }, { "proxy", "/bin" }, { "www-data", "/var/www" },
        { "backup", "/var/backups" }, { "list", "/var/list" }, { "irc", "/run/ircd" },
        { "_apt", "/nonexistent" }, { "nobody", "/nonexistent" },
    };
    size_t i;

    for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
        if (strlen(users[i].user) == n && strncmp(users[i].user, name, n) == 0)
            return users[i].home;
    return NULL;
}

/* Tilde at the start of a word: ~ is $HOME, ~user the user's home; unknown users stay. */
static const char *user_home(const char *name, size_t n);

static bool expand_tilde(struct sh *sh, const struct word *w, struct fields *f,
                         const struct wpart **rest, size_t *skip)
{
    const struct wpart *part = w->parts;
    const char *slash, *home;
    size_t n;

    *rest = part;
    *skip = 0;
    if (!part || part->kind != WP_LIT || part->quoted || part->text[0] != '~')
        return false;
    slash = strchr(part->text, '/');
    n = slash ? (size_t)(slash - part->text) : part->len;
    if (!slash && part->next)
        return false;
    if (n == 1) {
        home = var_get(&sh->vars, "HOME");
        if (!home || !*home)
            return false;
    } else if (!(home = user_home(part->text + 1, n - 1))) {
        return false;
    }
    f_lit(f, home, strlen(home), true);
    *skip = n;
    return true;
}

/* Expand a word into fields (appended to f). */
static bool expand_word(struct sh *sh, const struct word *w, struct fields *f, struct fds *fds)
{
    const struct wpart *rest;
    size_t skip;
    bool ok;

    if (expand_tilde(sh, w, f, &rest, &skip)) {
        struct wpart first = *rest;

        first.text += skip;
        first.len -= skip;
        first.next = NULL;
        ok = expand_parts(sh, &first, f, fds, false) &&
             expand_parts(sh, rest->next, f, fds, false);
    } else {
        ok = expand_parts(sh, w->parts, f, fds, false);
    }
    f_end_word(f);
    return ok;
}

/* ---------------------------------------------------------------- redirections */

/* The descriptors of one command after its redirections, and what they point to. */
struct rstore {
    struct fds fds;
    struct sink null;       /* /dev/null, and files written to (not kept: no write callback) */
    struct source src;      /* stdin from a file or a here-document */
    struct buf data;
};

static void rstore_init(struct rstore *rs, const struct fds *fds)
{
    memset(rs, 0, sizeof(*rs));
    rs->fds = *fds;
    rs->null.kind = SK_NULL;
}

static void rstore_release(struct rstore *rs)
{
    buf_release(&rs->data);
}

static int redir_fail(struct sh *sh)
{
    return sh->d == D_DASH ? 2 : 1;
}

/* Output to a file: /dev/null and the /dev/std* names are honoured; anything else is
 * checked like open(2) would and then discarded, since box files are read-only here. */
static bool redir_out(struct sh *sh, struct rstore *rs, int fd, const char *path)
{
    struct sink **slot = &rs->fds.out[fd];
    char *abs, *parent, *slash;
    enum ftype t;

    if (strcmp(path, "/dev/stdout") == 0 || strcmp(path, "/dev/fd/1") == 0) {
        *slot = rs->fds.out[1];
        return true;
    }
    if (strcmp(path, "/dev/stderr") == 0 || strcmp(path, "/dev/fd/2") == 0) {
        *slot = rs->fds.out[2];
        return true;
    }
    abs = path_resolve(sh->cwd, path);
    t = box_stat(sh->r, "/", abs, NULL);
    if (t == F_DIR) {
        if (sh->d == D_DASH)
            sh_err(sh, rs->fds.out[2], "cannot create %s: Is a directory", path);
        else
            sh_err(sh, rs->fds.out[2], "%s: Is a directory", path);
        free(abs);
        return false;
    }
    parent = xstrdup(abs);
    slash = strrchr(parent, '/');
    if (slash == parent)
        parent[1] = '\0';
    else if (slash)
        *slash = '\0';
    if (t == F_NONE && box_stat(sh->r, "/", parent, NULL) != F_DIR) {
        if (sh->d == D_DASH)
            sh_err(sh, rs->fds.out[2], "cannot create %s: Directory nonexistent", path);
        else
            sh_err(sh, rs->fds.out[2], "%s: No such file or directory", path);
        free(parent);
        free(abs);
        return false;
    }
    free(parent);
    free(abs);
    *slot = &rs->null;
    return true;
}

static bool redir_in(struct sh *sh, struct rstore *rs, const char *path)
{
    enum ftype t;

    buf_reset(&rs->data);
    t = box_stat(sh->r, sh->cwd, path, &rs->data);
    memset(&rs->src, 0, sizeof(rs->src));
    switch (t) {
    case F_NONE:
        if (sh->d == D_DASH)
            sh_err(sh, rs->fds.out[2], "cannot open %s: No such file", path);
        else
            sh_err(sh, rs->fds.out[2], "%s: No such file or directory", path);
        return false;
    case F_REG:
        rs->src.kind = SRC_BUF;
        rs->src.data = buf_cstr(&rs->data);
        rs->src.len = rs->data.len;
        rs->src.regular = true;
        break;
    case F_DIR:
        /* open(2) works on a directory; reading it fails, which an empty stdin stands for */
        rs->src.kind = SRC_EMPTY;
        break;
    case F_ZERO:
        rs->src.kind = SRC_ZERO;
        break;
    case F_URANDOM:
        rs->src.kind = SRC_URANDOM;
        break;
    case F_NULL:
        rs->src.kind = SRC_EMPTY;
        break;
    }
    rs->fds.in = &rs->src;
    return true;
}

static bool apply_redirs(struct sh *sh, const struct redir *r, const struct fds *fds,
                         struct rstore *rs)
{
    rstore_init(rs, fds);
    for (; r; r = r->next) {
        char *target = NULL;
        int dupfd = r->dupfd;

        if (r->kind == R_HERE) {
            char *doc = NULL;

            if (!expand_string(sh, r->here, &rs->fds, false, &doc))
                return false;
            buf_reset(&rs->data);
            buf_addstr(&rs->data, doc);
            free(doc);
            memset(&rs->src, 0, sizeof(rs->src));
            rs->src.kind = SRC_BUF;
            rs->src.data = buf_cstr(&rs->data);
            rs->src.len = rs->data.len;
            if (r->fd == 0)
                rs->fds.in = &rs->src;
            continue;
        }
        if (r->target && !(dupfd >= -1 && (r->kind == R_TOFD || r->kind == R_FROMFD))) {
            if (!expand_string(sh, r->target, &rs->fds, false, &target))
                return false;
        }
        switch (r->kind) {
        case R_TO:
        case R_CLOBBER:
        case R_APPEND:
        case R_FROMTO:
            if (r->kind == R_FROMTO && r->fd == 0) {
                bool ok = redir_in(sh, rs, target);

                free(target);
                if (!ok)
                    return false;
                break;
            }
            if (!redir_out(sh, rs, r->fd, target)) {
                free(target);
                return false;
            }
            free(target);
            break;
        case R_FROM:
            if (r->fd != 0) {
                free(target);
                break;
            }
            if (!redir_in(sh, rs, target)) {
                free(target);
                return false;
            }
            free(target);
            break;
        case R_TOFD:
        case R_FROMFD:
            if (dupfd == -2) {
                if (target[0] >= '0' && target[0] <= '9' && !target[1]) {
                    dupfd = target[0] - '0';
                } else if (strcmp(target, "-") == 0) {
                    dupfd = -1;
                } else if (sh->d == D_BASH && r->kind == R_TOFD) {
                    /* bash: >&word is >word 2>&1 */
                    bool ok = redir_out(sh, rs, 1, target);

                    free(target);
                    if (!ok)
                        return false;
                    rs->fds.out[2] = rs->fds.out[1];
                    break;
                } else {
                    if (sh->d == D_DASH)
                        sh_err(sh, rs->fds.out[2], "Syntax error: Bad fd number");
                    else
                        sh_err(sh, rs->fds.out[2], "%s: ambiguous redirect", target);
                    free(target);
                    return false;
                }
            }
            free(target);
            if (r->kind == R_FROMFD) {
                if (r->fd == 0 && dupfd == -1) {
                    memset(&rs->src, 0, sizeof(rs->src));
                    rs->fds.in = &rs->src;
                } else if (r->fd != 0 && dupfd >= 0) {
                    rs->fds.out[r->fd] = dupfd == 0 ? &rs->null : rs->fds.out[dupfd];
                }
                break;
            }
            if (dupfd == -1) {
                rs->fds.out[r->fd] = NULL;
            } else if (dupfd == 0) {
                rs->fds.out[r->fd] = &rs->null;
            } else if (!rs->fds.out[dupfd]) {
                sh_err(sh, rs->fds.out[2], "%d: Bad file descriptor", dupfd);
                return false;
            } else {
                rs->fds.out[r->fd] = rs->fds.out[dupfd];
            }
            break;
        case R_HERE:
            break;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- programs and lookup */

struct proc {
    struct run *r;
    struct sink *out, *err;
    struct source *in;
    char **env;             /* NULL-terminated */
    const char *cwd;
    bool utf8;
    enum dialect parent;    /* the shell that ran it (for sh -c started from bash, nothing) */
};

typedef int prog_fn(struct proc *p, int argc, char **argv);

enum prog_kind { PK_PLAIN, PK_CONSUMER, PK_READER };

struct prog {
    const char *name;
    prog_fn *fn;
    enum prog_kind kind;
};

static const struct prog *prog_find(const char *name);

/* Does this directory hold the coreutils and shells? On Debian 12 /bin is /usr/bin. */
static bool dir_has_progs(const char *cwd, const char *dir)
{
    char *abs = path_resolve(cwd, *dir ? dir : ".");
    bool yes = strcmp(abs, "/usr/bin") == 0 || strcmp(abs, "/bin") == 0;

    free(abs);
    return yes;
}

/* Find name on path (NULL: not set, use def): the program and its full name (caller frees). */
static const struct prog *path_lookup(const char *path, const char *def, const char *cwd,
                                      const char *name, char **full)
{
    const struct prog *pg = prog_find(name);
    const char *p = path ? path : def;

    *full = NULL;
    if (!pg || !*name)
        return NULL;
    for (;;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *dir = xstrndup(p, n);

        if (dir_has_progs(cwd, dir)) {
            *full = n ? xasprintf("%s/%s", dir, name) : xasprintf("%s", name);
            free(dir);
            return pg;
        }
        free(dir);
        if (!e)
            return NULL;
        p = e + 1;
    }
}

/* A program named by a path ("/bin/echo", "../../usr/bin/seq"). */
static const struct prog *prog_by_path(const char *cwd, const char *path)
{
    char *abs = path_resolve(cwd, path), *slash = strrchr(abs, '/');
    const struct prog *pg = NULL;

    if (slash && slash != abs) {
        *slash = '\0';
        if (strcmp(abs, "/usr/bin") == 0 || strcmp(abs, "/bin") == 0)
            pg = prog_find(slash + 1);
    }
    free(abs);
    return pg;
}

static const char *env_get(char **env, const char *name)
{
    size_t n = strlen(name);

    for (; env && *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* Which locale the environment picks for messages: only C.UTF-8 exists on the box. */
static bool env_utf8(char **env)
{
    const char *v = env_get(env, "LC_ALL");

    if (!v || !*v)
        v = env_get(env, "LC_CTYPE");
    if (!v || !*v)
        v = env_get(env, "LANG");
    return v && (strcmp(v, "C.UTF-8") == 0 || strcmp(v, "C.utf8") == 0 ||
                 strcmp(v, "C.utf-8") == 0 || strcmp(v, "C.UTF8") == 0);
}

/* ---------------------------------------------------------------- consumers */

/* cat, head and wc read their input as it is pushed to them, so a pipeline streams. */
enum ckind { C_CAT, C_HEAD, C_WC };

struct consumer {
    enum ckind kind;
    struct proc p;
    char *name;             /* argv[0], for messages */
    struct strv ops;        /* operands; "-" is stdin */
    size_t idx;             /* operand being read */
    bool reading;           /* reading stdin now */
    bool dead;              /* killed by SIGPIPE */
    int status;
    struct out o;
    /* head */
    bool lines;
    bool negative;
    uintmax_t count, left;
    bool headers;
    bool first_header;
    struct buf hold;        /* head -c -N / -n -N: what may still be the tail */
    size_t hold_off;        /* where the live part of hold starts */
    uintmax_t hold_nl;      /* newlines in the live part */
    /* wc */
    bool wl, ww, wc_, wm, wL;
    uintmax_t c_lines, c_words, c_bytes, c_chars, c_maxlen, c_linelen;
    bool in_word;
    int u8need;             /* continuation bytes still expected */
    uintmax_t t_lines, t_words, t_bytes, t_chars, t_maxlen;
    int width;
    size_t nfiles;
    bool stdin_regular;
    uintmax_t stdin_size;
    bool stdin_infinite;
};

static enum wr consumer_feed(struct run *r, struct consumer *c, const char *data, size_t len);

/* A coreutils message: "prog: text\n" on stderr, stdout flushed first as error() does. */
static void prog_err(struct proc *p, struct out *o, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void prog_err(struct proc *p, struct out *o, const char *name, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    int n;

    if (o)
        out_flush(o);
    buf_addf(&b, "%s: ", name);
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_grow(&b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b.data + b.len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b.len += (size_t)n;
    }
    buf_addch(&b, '\n');
    sink_write(p->r, p->err, b.data, b.len);
    buf_release(&b);
}

/* Flush a program's stdout: 141 when the reader is gone (SIGPIPE), 1 with coreutils'
 * message when stdout is closed, else st. */
static int prog_out_done(struct proc *p, struct out *o, const char *name, int st)
{
    enum wr w = out_flush(o);

    out_release(o);
    if (w == WR_PIPE)
        return 141;
    if (w == WR_BADF) {
        prog_err(p, NULL, name, "write error: Bad file descriptor");
        return 1;
    }
    return st;
}

static void try_help(struct proc *p, const char *name)
{
    sink_printf(p->r, p->err, "Try '%s --help' for more information.\n", name);
}

/* --version and --help of a coreutils program (id: its name in coreutils). --help's long
 * text is not reproduced: a one-line note says so. */
static const char *coreutils_authors(const char *id)
{
    static const struct { const char *id, *authors; } a[] = {
        { "echo", "Brian Fox and Chet Ramey" }, { "printf", "David MacKenzie" },
        { "cat", "Torbjorn Granlund and Richard M. Stallman" }, { "true", "Jim Meyering" },
        { "false", "Jim Meyering" }, { "sleep", "Jim Meyering and Paul Eggert" },
        { "seq", "Ulrich Drepper" }, { "head", "David MacKenzie and Jim Meyering" },
        { "wc", "Paul Rubin and David MacKenzie" },
        { "env", "Richard Mlynarik, David MacKenzie, and Assaf Gordon" }, { "pwd", "Jim Meyering" },
        { "uname", "David MacKenzie" }, { "[", "Kevin Braunsdorf and Matthew Bradburn" },
        { "yes", "David MacKenzie" }, { "basename", "David MacKenzie" },
        { "dirname", "David MacKenzie and Jim Meyering" }, { "whoami", "Richard Mlynarik" },
    };
    size_t i;

    for (i = 0; i < sizeof(a) / sizeof(a[0]); i++)
        if (strcmp(a[i].id, id) == 0)
            return a[i].authors;
    return "";
}

static int prog_info(struct proc *p, const char *id, bool version)
{
    if (version)
        sink_printf(p->r, p->out,
                    "%s (GNU coreutils) 9.1\n"
                    "Copyright (C) 2022 Free Software Foundation, Inc.\n"
                    "License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\n"
                    "This is free software: you are free to change and redistribute it.\n"
                    "There is NO WARRANTY, to the extent permitted by law.\n"
                    "\n"
                    "Written by %s.\n", id, coreutils_authors(id));
    else
        sink_printf(p->r, p->out, "%s: hogmock does not reproduce coreutils' --help text\n", id);
    return 0;
}

/* "prog --help" or "prog --version" as the only argument (echo, printf, true, false, [). */
static bool prog_info_only(struct proc *p, const char *id, int argc, char **argv, int *st)
{
    if (argc != 2 || (strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "--version") != 0))
        return false;
    *st = prog_info(p, id, argv[1][2] == 'v');
    return true;
}

/* GNU getopt_long, as far as these programs need it: clusters, attached or separate
 * arguments, unambiguous long-option prefixes, operands anywhere unless stop_at_operand. */
struct gopt {
    char shortc;            /* 0: long only */
    const char *longname;   /* NULL: short only */
    bool has_arg;
    int id;
};

struct getopt {
    struct proc *p;
    const char *name;
    const struct gopt *opts;
    size_t nopts;
    int argc;
    char **argv;
    int i;                  /* next argument */
    const char *cluster;    /* rest of a short-option cluster */
    bool stop_at_operand;   /* "+" in the option string */
    bool negative_numbers;  /* seq: "-1" is an operand */
    struct strv operands;
    const char *optarg;
    bool done;
};

#define GOPT_HELP 0x10001
#define GOPT_VERSION 0x10002

/* Next option id; 0 when done (operands in g->operands); -1 after printing an error;
 * GOPT_HELP or GOPT_VERSION for coreutils' standard options. */
static int getopt_next(struct getopt *g)
{
    const char *a;
    size_t k;

    if (g->cluster && *g->cluster) {
        char c = *g->cluster++;

        for (k = 0; k < g->nopts; k++) {
            if (g->opts[k].shortc != c)
                continue;
            if (g->opts[k].has_arg) {
                if (*g->cluster) {
                    g->optarg = g->cluster;
                    g->cluster = NULL;
                } else if (g->i < g->argc) {
                    g->optarg = g->argv[g->i++];
                } else {
                    prog_err(g->p, NULL, g->name, "option requires an argument -- '%c'", c);
                    return -1;
                }
            }
            return g->opts[k].id;
        }
        prog_err(g->p, NULL, g->name, "invalid option -- '%c'", c);
        return -1;
    }
    for (;;) {
        if (g->done || g->i >= g->argc) {
            while (g->i < g->argc)
                strv_push(&g->operands, xstrdup(g->argv[g->i++]));
            return 0;
        }
        a = g->argv[g->i];
        if (strcmp(a, "--") == 0) {
            g->i++;
            g->done = true;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0' ||
            (g->negative_numbers && (a[1] == '.' || (a[1] >= '0' && a[1] <= '9')))) {
            if (g->stop_at_operand) {
                g->done = true;
                continue;
            }
            strv_push(&g->operands, xstrdup(a));
            g->i++;
            continue;
        }
        g->i++;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            const struct gopt *hit = NULL;
            int hits = 0;
            static const struct gopt std[] = { { 0, "help", false, GOPT_HELP },
                                               { 0, "version", false, GOPT_VERSION } };

            for (k = 0; k < g->nopts + 2; k++) {
                const struct gopt *o = k < g->nopts ? &g->opts[k] : &std[k - g->nopts];

                if (!o->longname || strncmp(o->longname, name, n) != 0)
                    continue;
                if (strlen(o->longname) == n) {
                    hit = o;
                    hits = 1;
                    break;
                }
                if (!hit || hit->id != o->id)
                    hits++;
                hit = o;
            }
            if (hits == 0) {
                prog_err(g->p, NULL, g->name, "unrecognized option '%s'", a);
                return -1;
            }
            if (hits > 1) {
                struct buf b = BUF_INIT;

                for (k = 0; k < g->nopts; k++)
                    if (g->opts[k].longname && strncmp(g->opts[k].longname, name, n) == 0)
                        buf_addf(&b, " '--%s'", g->opts[k].longname);
                if (strncmp("help", name, n) == 0)
                    buf_addstr(&b, " '--help'");
                if (strncmp("version", name, n) == 0)
                    buf_addstr(&b, " '--version'");
                prog_err(g->p, NULL, g->name, "option '%.*s' is ambiguous; possibilities:%s",
                         (int)(n + 2), a, buf_cstr(&b));
                buf_release(&b);
                return -1;
            }
            if (hit->has_arg) {
                if (eq) {
                    g->optarg = eq + 1;
                } else if (g->i < g->argc) {
                    g->optarg = g->argv[g->i++];
                } else {
                    prog_err(g->p, NULL, g->name, "option '--%s' requires an argument",
                             hit->longname);
                    return -1;
                }
            } else if (eq) {
                prog_err(g->p, NULL, g->name, "option '--%s' doesn't allow an argument",
                         hit->longname);
                return -1;
            }
            return hit->id;
        }
        g->cluster = a + 1;
        return getopt_next(g);
    }
}

static void getopt_init(struct getopt *g, struct proc *p, const char *name, const struct gopt *opts,
                        size_t nopts, int argc, char **argv)
{
    memset(g, 0, sizeof(*g));
    g->p = p;
    g->name = name;
    g->opts = opts;
    g->nopts = nopts;
    g->argc = argc;
    g->argv = argv;
    g->i = 1;
}

/* Read an operand's file for a consumer; calls fn on each chunk until it returns false. */
typedef bool chunk_fn(struct consumer *c, const char *data, size_t len);

enum fread_rc { FR_OK, FR_NOENT, FR_DIR };

static enum fread_rc consume_file(struct consumer *c, const char *path, chunk_fn *fn,
                                  bool *regular, uintmax_t *size)
{
    struct buf content = BUF_INIT;
    enum ftype t = box_stat(c->p.r, c->p.cwd, path, &content);
    size_t off;

    if (regular)
        *regular = t == F_REG;
    if (size)
        *size = content.len;
    switch (t) {
    case F_NONE:
        buf_release(&content);
        return FR_NOENT;
    case F_DIR:
        buf_release(&content);
        return FR_DIR;
    case F_NULL:
        break;
    case F_REG:
        for (off = 0; off < content.len && !aborting(c->p.r);) {
            size_t n = content.len - off < CHUNK ? content.len - off : CHUNK;

            if (!fn(c, content.data + off, n))
                break;
            off += n;
        }
        break;
    case F_ZERO:
    case F_URANDOM: {
        struct source src = { t == F_ZERO ? SRC_ZERO : SRC_URANDOM, NULL, 0, 0, false };
        char *chunk = xmalloc(CHUNK);

        for (;;) {
            size_t n = source_read(c->p.r, &src, chunk, CHUNK);

            if (!step(c->p.r, STEP_CHUNK) || !fn(c, chunk, n))
                break;
        }
        free(chunk);
        break;
    }
    }
    buf_release(&content);
    return FR_OK;
}

/* cat: the output options work byte by byte across all files, as GNU cat's do. */
struct catopts {
    bool number, number_nonblank, show_ends, squeeze, show_tabs, show_nonprinting;
    uintmax_t line;
    bool at_start;
    int newlines;           /* newlines in a row, for -s */
};

static struct catopts *cat_opts(struct consumer *c)
{
    return (struct catopts *)c->hold.data;
}

static bool cat_chunk(struct consumer *c, const char *data, size_t len)
{
    struct catopts *co = cat_opts(c);
    size_t i;

    if (!co->number && !co->number_nonblank && !co->show_ends && !co->squeeze &&
        !co->show_tabs && !co->show_nonprinting) {
        if (out_add(&c->o, data, len) != WR_OK)
            goto fail;
        return true;
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];

        if (ch == '\n') {
            co->newlines++;
            if (co->squeeze && co->newlines > 2 && co->at_start)
                continue;
            if (co->at_start && co->number && !co->number_nonblank) {
                char num[40];

                snprintf(num, sizeof(num), "%6ju\t", ++co->line);
                out_str(&c->o, num);
            }
            if (co->show_ends)
                out_ch(&c->o, '$');
            out_ch(&c->o, '\n');
            co->at_start = true;
            continue;
        }
        if (co->at_start) {
            co->newlines = 1;
            if (co->number || co->number_nonblank) {
                char num[40];

                snprintf(num, sizeof(num), "%6ju\t", ++co->line);
                out_str(&c->o, num);
            }
            co->at_start = false;
        }
        co->newlines = 0;
        if (ch == '\t' && co->show_tabs) {
            out_str(&c->o, "^I");
        } else if (co->show_nonprinting && ch != '\t') {
            if (ch >= 128) {
                out_str(&c->o, "M-");
                ch -= 128;
            }
            if (ch < 32) {
                out_ch(&c->o, '^');
                out_ch(&c->o, (char)(ch + 64));
            } else if (ch == 127) {
                out_str(&c->o, "^?");
            } else {
                out_ch(&c->o, (char)ch);
            }
        } else {
            out_ch(&c->o, (char)ch);
        }
        if (c->o.st != WR_OK)
            goto fail;
    }
    if (c->o.st == WR_OK)
        return true;
fail:
    c->dead = true;
    return false;
}

static void cat_operand_file(struct consumer *c, const char *path)
{
    enum fread_rc rc = consume_file(c, path, cat_chunk, NULL, NULL);
    char *q;

    if (rc == FR_OK)
        return;
    q = quote_file(path, c->p.utf8);
    prog_err(&c->p, &c->o, c->name, "%s: %s", q,
             rc == FR_NOENT ? "No such file or directory" : "Is a directory");
    free(q);
    c->status = 1;
}

/* head */
static bool head_emit(struct consumer *c, const char *data, size_t len)
{
    if (out_add(&c->o, data, len) != WR_OK) {
        c->dead = true;
        return false;
    }
    return true;
}

static bool head_chunk(struct consumer *c, const char *data, size_t len)
{
    size_t i, n;

    if (c->negative) {
        /* everything but the last count bytes or lines: hold back what may be the tail;
         * what is sure not to be in it goes out, and the buffer is compacted now and then */
        const char *p, *e;

        if (len > CAPTURE_MAX - (c->hold.len - c->hold_off)) {
            fatal(c->p.r, "head held more than %u bytes", CAPTURE_MAX);
            return false;
        }
        if (c->hold_off > c->hold.len / 2) {
            memmove(c->hold.data, c->hold.data + c->hold_off, c->hold.len - c->hold_off);
            buf_truncate(&c->hold, c->hold.len - c->hold_off);
            c->hold_off = 0;
        }
        buf_add(&c->hold, data, len);
        if (!c->lines) {
            size_t live = c->hold.len - c->hold_off;

            if (live > c->count) {
                n = live - (size_t)c->count;
                if (!head_emit(c, c->hold.data + c->hold_off, n))
                    return false;
                c->hold_off += n;
            }
            return true;
        }
        for (p = data, e = data + len; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
            c->hold_nl++;
        if (c->hold_nl > c->count) {
            /* the first (complete lines - count) lines can no longer be in the tail */
            uintmax_t emit = c->hold_nl - c->count, k = emit;

            p = c->hold.data + c->hold_off;
            e = c->hold.data + c->hold.len;
            while (k && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
                p++;
                k--;
            }
            n = (size_t)(p - (c->hold.data + c->hold_off));
            if (!head_emit(c, c->hold.data + c->hold_off, n))
                return false;
            c->hold_off += n;
            c->hold_nl -= emit;
        }
        return true;
    }
    if (c->left == 0)
        return false;
    if (!c->lines) {
        n = len < c->left ? len : (size_t)c->left;
        c->left -= n;
        if (!head_emit(c, data, n))
            return false;
        return c->left > 0;
    }
    for (i = 0; i < len; i++) {
        if (data[i] == '\n' && --c->left == 0) {
            i++;
            break;
        }
    }
    if (!head_emit(c, data, i))
        return false;
    return c->left > 0;
}

/* At the end of an operand, head -n -N still owes the lines before an unfinished last one. */
static void head_end_operand(struct consumer *c)
{
    uintmax_t k = 0, total, emit;
    size_t i;

    const char *live = c->hold.data + c->hold_off;
    size_t n = c->hold.len - c->hold_off;

    if (!c->negative || !c->lines || c->dead || n == 0 || live[n - 1] == '\n')
        return;
    for (i = 0; i < n; i++)
        if (live[i] == '\n')
            k++;
    total = k + 1;
    if (total <= c->count)
        return;
    emit = total - c->count;
    for (i = 0; i < n; i++)
        if (live[i] == '\n' && --emit == 0)
            break;
    head_emit(c, live, i + 1);
}

static void head_header(struct consumer *c, const char *label)
{
    if (!c->headers)
        return;
    if (!c->first_header)
        out_ch(&c->o, '\n');
    c->first_header = false;
    out_str(&c->o, "==> ");
    out_str(&c->o, label);
    out_str(&c->o, " <==\n");
}

static void head_begin_operand(struct consumer *c)
{
    c->left = c->count;
    buf_reset(&c->hold);
    c->hold_off = 0;
    c->hold_nl = 0;
}

static void head_operand_file(struct consumer *c, const char *path)
{
    enum fread_rc rc;
    char *q;
    struct buf probe = BUF_INIT;
    enum ftype t = box_stat(c->p.r, c->p.cwd, path, &probe);

    buf_release(&probe);
    if (t == F_NONE) {
        q = quote_file_always(path, c->p.utf8);
        prog_err(&c->p, &c->o, c->name, "cannot open %s for reading: No such file or directory", q);
        free(q);
        c->status = 1;
        return;
    }
    head_header(c, path);
    head_begin_operand(c);
    rc = consume_file(c, path, head_chunk, NULL, NULL);
    if (rc == FR_OK)
        head_end_operand(c);
    if (rc == FR_DIR) {
        q = quote_file_always(path, c->p.utf8);
        prog_err(&c->p, &c->o, c->name, "error reading %s: Is a directory", q);
        free(q);
        c->status = 1;
    }
}

/* wc */
static bool wc_chunk(struct consumer *c, const char *data, size_t len)
{
    uintmax_t lines = c->c_lines, words = c->c_words, chars = c->c_chars;
    uintmax_t linelen = c->c_linelen, maxlen = c->c_maxlen;
    bool in_word = c->in_word, utf8 = c->p.utf8;
    int need = c->u8need;
    size_t i;

    c->c_bytes += len;
    if (!c->wl && !c->ww && !c->wm && !c->wL)
        return true;
    if (!c->ww && !c->wm && !c->wL) {
        /* lines only */
        const char *p = data, *e = data + len;

        while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
            lines++;
            p++;
        }
        c->c_lines = lines;
        return step(c->p.r, STEP_CHUNK / 4);
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];

        if (utf8 && (ch >= 0x80 || need)) {
            /* a multibyte character counts once it is whole; bad bytes count as nothing */
            if (need && (ch & 0xc0) == 0x80) {
                if (--need)
                    continue;
                chars++;
                linelen++;
                if (!in_word) {
                    words++;
                    in_word = true;
                }
                continue;
            }
            need = 0;
            if (ch >= 0xc2 && ch <= 0xdf)
                need = 1;
            else if (ch >= 0xe0 && ch <= 0xef)
                need = 2;
            else if (ch >= 0xf0 && ch <= 0xf4)
                need = 3;
            if (ch >= 0x80)
                continue;
        }
        chars++;
        if (ch > ' ' && ch < 0x7f) {
            linelen++;
            if (!in_word) {
                words++;
                in_word = true;
            }
            continue;
        }
        switch (ch) {
        case '\n':
            lines++;
            /* fall through */
        case '\r':
        case '\f':
            if (linelen > maxlen)
                maxlen = linelen;
            linelen = 0;
            in_word = false;
            break;
        case '\t':
            linelen += 8 - (linelen % 8);
            in_word = false;
            break;
        case ' ':
            linelen++;
            in_word = false;
            break;
        case '\v':
            in_word = false;
            break;
        default:
            break;
        }
    }
    c->c_lines = lines;
    c->c_words = words;
    c->c_chars = chars;
    c->c_linelen = linelen;
    c->c_maxlen = maxlen;
    c->in_word = in_word;
    c->u8need = need;
    /* byte by byte is slower than copying: count it so */
    return step(c->p.r, (unsigned)(len / 64));
}

static void wc_row(struct consumer *c, uintmax_t l, uintmax_t w, uintmax_t ch, uintmax_t b,
                   uintmax_t L, const char *label)
{
    struct buf row = BUF_INIT;
    bool first = true;

#define WC_COL(flag, v) \
    if (flag) { \
        buf_addf(&row, first ? "%*ju" : " %*ju", c->width, (v)); \
        first = false; \
    }
    WC_COL(c->wl, l)
    WC_COL(c->ww, w)
    WC_COL(c->wm, ch)
    WC_COL(c->wc_, b)
    WC_COL(c->wL, L)
#undef WC_COL
    if (label)
        buf_addf(&row, " %s", label);
    buf_addch(&row, '\n');
    out_add(&c->o, row.data, row.len);
    buf_release(&row);
}

static void wc_begin_operand(struct consumer *c)
{
    c->c_lines = c->c_words = c->c_bytes = c->c_chars = c->c_maxlen = c->c_linelen = 0;
    c->in_word = false;
    c->u8need = 0;
}

static void wc_end_operand(struct consumer *c, const char *label)
{
    if (c->c_linelen > c->c_maxlen)
        c->c_maxlen = c->c_linelen;
    wc_row(c, c->c_lines, c->c_words, c->c_chars, c->c_bytes, c->c_maxlen, label);
    c->t_lines += c->c_lines;
    c->t_words += c->c_words;
    c->t_chars += c->c_chars;
    c->t_bytes += c->c_bytes;
    if (c->c_maxlen > c->t_maxlen)
        c->t_maxlen = c->c_maxlen;
}

static void wc_operand_file(struct consumer *c, const char *path)
{
    enum fread_rc rc;
    char *q;

    wc_begin_operand(c);
    rc = consume_file(c, path, wc_chunk, NULL, NULL);
    if (rc == FR_OK) {
        wc_end_operand(c, path);
        return;
    }
    q = quote_file(path, c->p.utf8);
    prog_err(&c->p, &c->o, c->name, "%s: %s", q,
             rc == FR_NOENT ? "No such file or directory" : "Is a directory");
    free(q);
    c->status = 1;
    if (rc == FR_DIR)
        wc_end_operand(c, path);
}

/* Work through operands until one reads stdin; false when there are no more. */
static bool consumer_advance(struct consumer *c)
{
    while (c->idx < c->ops.n && !c->dead && !aborting(c->p.r)) {
        const char *op = c->ops.v[c->idx];

        if (strcmp(op, "-") == 0) {
            switch (c->kind) {
            case C_CAT:
                break;
            case C_HEAD:
                head_header(c, "standard input");
                head_begin_operand(c);
                if (!c->negative && c->count == 0) {
                    c->idx++;
                    continue;
                }
                break;
            case C_WC:
                wc_begin_operand(c);
                break;
            }
            c->reading = true;
            return true;
        }
        switch (c->kind) {
        case C_CAT:
            cat_operand_file(c, op);
            break;
        case C_HEAD:
            head_operand_file(c, op);
            break;
        case C_WC:
            wc_operand_file(c, op);
            break;
        }
        c->idx++;
    }
    return false;
}

/* Stdin is at its end (or the consumer stopped reading): finish that operand, do the rest. */
static void consumer_stdin_done(struct consumer *c)
{
    if (!c->reading)
        return;
    c->reading = false;
    if (c->kind == C_HEAD)
        head_end_operand(c);
    if (c->kind == C_WC)
        wc_end_operand(c, c->ops.n == 1 && c->nfiles == 0 ? NULL : "-");
    c->idx++;
    /* a later "-" reads an exhausted stdin */
    while (c->idx < c->ops.n && !c->dead && !aborting(c->p.r)) {
        if (strcmp(c->ops.v[c->idx], "-") == 0) {
            if (c->kind == C_HEAD) {
                head_header(c, "standard input");
            } else if (c->kind == C_WC) {
                wc_begin_operand(c);
                wc_end_operand(c, "-");
            }
            c->idx++;
            continue;
        }
        consumer_advance(c);
        if (c->reading) {
            c->reading = false;
            continue;
        }
    }
}

static enum wr consumer_feed(struct run *r, struct consumer *c, const char *data, size_t len)
{
    bool more = true;

    if (aborting(r))
        return WR_ABORT;
    if (!c->reading || c->dead)
        return WR_PIPE;
    switch (c->kind) {
    case C_CAT:
        more = cat_chunk(c, data, len);
        break;
    case C_HEAD:
        more = head_chunk(c, data, len);
        break;
    case C_WC:
        more = wc_chunk(c, data, len);
        break;
    }
    if (aborting(r))
        return WR_ABORT;
    if (c->dead) {
        c->reading = false;
        return WR_PIPE;
    }
    if (!more)
        consumer_stdin_done(c);
    return WR_OK;
}

static void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    strv_release(&c->ops);
    out_release(&c->o);
    buf_release(&c->hold);
    free(c->name);
    free(c);
}

/* Parse a coreutils size like 10K, 1MiB, 2kB: 1, 0 on junk, -1 when too large. */
static int parse_size(const char *s, uintmax_t *out)
{
    static const struct { const char *suffix; uintmax_t mult; } sfx[] = {
        { "b", 512 }, { "kB", 1000 }, { "K", 1024 }, { "KiB", 1024 }, { "k", 1024 },
        { "MB", 1000000 }, { "M", 1048576 }, { "MiB", 1048576 },
        { "GB", 1000000000 }, { "G", 1073741824 }, { "GiB", 1073741824 },
        { "TB", 1000000000000ull }, { "T", 1099511627776ull }, { "TiB", 1099511627776ull },
        { "PB", 1000000000000000ull }, { "P", 1125899906842624ull }, { "PiB", 1125899906842624ull },
        { "EB", 1000000000000000000ull }, { "E", 1152921504606846976ull },
        { "EiB", 1152921504606846976ull },
    };
    const char *p = s;
    char *end;
    uintmax_t v;
    size_t i;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '-' || !isdigit((unsigned char)*p))
        return 0;
    errno = 0;
    v = strtoumax(p, &end, 10);
    if (errno == ERANGE)
        return -1;
    if (!*end) {
        *out = v;
        return 1;
    }
    for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        if (strcmp(end, sfx[i].suffix) == 0) {
            if (v > UINTMAX_MAX / sfx[i].mult)
                return -1;
            *out = v * sfx[i].mult;
            return 1;
        }
    }
    if ((end[0] == 'Z' || end[0] == 'Y' || end[0] == 'R' || end[0] == 'Q') &&
        (!end[1] || strcmp(end + 1, "B") == 0 || strcmp(end + 1, "iB") == 0)) {
        if (v)
            return -1;
        *out = 0;
        return 1;
    }
    return 0;
}

static struct consumer *consumer_new(enum ckind kind, struct proc *p, const char *name)
{
    struct consumer *c = xcalloc(1, sizeof(*c));

    c->kind = kind;
    c->p = *p;
    c->name = xstrdup(name);
    out_init(&c->o, p->r, p->out);
    return c;
}

/* Set up cat, head or wc from argv; NULL (status in *status) on a usage error. */
static struct consumer *consumer_create(enum ckind kind, struct proc *p, int argc, char **argv,
                                        int *status)
{
    struct consumer *c = consumer_new(kind, p, argv[0]);
    struct getopt g;
    int id;

    *status = 0;
    if (kind == C_CAT) {
        static const struct gopt opts[] = {
            { 'A', "show-all", false, 'A' }, { 'b', "number-nonblank", false, 'b' },
            { 'e', NULL, false, 'e' }, { 'E', "show-ends", false, 'E' },
            { 'n', "number", false, 'n' }, { 's', "squeeze-blank", false, 's' },
            { 't', NULL, false, 't' }, { 'T', "show-tabs", false, 'T' },
            { 'u', NULL, false, 'u' }, { 'v', "show-nonprinting", false, 'v' },
        };
        struct catopts co = { false, false, false, false, false, false, 0, true, 0 };

        getopt_init(&g, p, argv[0], opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
        while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
            switch (id) {
            case 'A': co.show_nonprinting = co.show_ends = co.show_tabs = true; break;
            case 'b': co.number = co.number_nonblank = true; break;
            case 'e': co.show_nonprinting = co.show_ends = true; break;
            case 'E': co.show_ends = true; break;
            case 'n': co.number = true; break;
            case 's': co.squeeze = true; break;
            case 't': co.show_nonprinting = co.show_tabs = true; break;
            case 'T': co.show_tabs = true; break;
            case 'v': co.show_nonprinting = true; break;
            }
        }
        buf_add(&c->hold, &co, sizeof(co));
    } else if (kind == C_HEAD) {
        static const struct gopt opts[] = {
            { 'c', "bytes", true, 'c' }, { 'n', "lines", true, 'n' },
            { 'q', "quiet", false, 'q' }, { 'q', "silent", false, 'q' },
            { 'v', "verbose", false, 'v' }, { 'z', "zero-terminated", false, 'z' },
        };
        int verbose = 0;
        bool bad = false;

        c->lines = true;
        c->count = 10;
        getopt_init(&g, p, argv[0], opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
        /* the old form "head -5" */
        if (argc > 1 && argv[1][0] == '-' && isdigit((unsigned char)argv[1][1])) {
            const char *s = argv[1] + 1;
            char *end;

            c->count = strtoumax(s, &end, 10);
            if (*end == 'c')
                c->lines = false;
            g.i = 2;
        }
        while (!bad && (id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
            const char *v = g.optarg;
            bool neg = false;

            switch (id) {
            case 'c':
            case 'n':
                if (*v == '-') {
                    neg = true;
                    v++;
                }
                {
                    int ok = parse_size(v, &c->count);

                    if (ok <= 0) {
                        char *q = quote_locale(v, p->utf8);

                        prog_err(p, NULL, argv[0], "invalid number of %s: %s%s",
                                 id == 'c' ? "bytes" : "lines", q,
                                 ok < 0 ? ": Value too large for defined data type" : "");
                        free(q);
                        bad = true;
                        break;
                    }
                }
                c->lines = id == 'n';
                c->negative = neg;
                break;
            case 'q':
                verbose = -1;
                break;
            case 'v':
                verbose = 1;
                break;
            case 'z':
                break;
            }
        }
        if (bad) {
            getopt_next(&g);
            strv_release(&g.operands);
            consumer_free(c);
            *status = 1;
            return NULL;
        }
        if (id < 0)
            goto usage;
        if (id >= GOPT_HELP) {
            strv_release(&g.operands);
            *status = prog_info(p, "head", id == GOPT_VERSION);
            consumer_free(c);
            return NULL;
        }
        c->headers = verbose > 0 || (verbose == 0 && g.operands.n > 1);
        c->first_header = true;
    } else {
        static const struct gopt opts[] = {
            { 'c', "bytes", false, 'c' }, { 'm', "chars", false, 'm' },
            { 'l', "lines", false, 'l' }, { 'w', "words", false, 'w' },
            { 'L', "max-line-length", false, 'L' },
        };

        getopt_init(&g, p, argv[0], opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
        while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
            switch (id) {
            case 'c': c->wc_ = true; break;
            case 'm': c->wm = true; break;
            case 'l': c->wl = true; break;
            case 'w': c->ww = true; break;
            case 'L': c->wL = true; break;
            }
        }
        if (!c->wc_ && !c->wm && !c->wl && !c->ww && !c->wL)
            c->wl = c->ww = c->wc_ = true;
    }
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        *status = prog_info(p, kind == C_CAT ? "cat" : kind == C_HEAD ? "head" : "wc",
                            id == GOPT_VERSION);
        consumer_free(c);
        return NULL;
    }
    if (id < 0)
        goto usage;
    c->ops = g.operands;
    memset(&g.operands, 0, sizeof(g.operands));
    if (c->ops.n == 0)
        strv_push(&c->ops, xstrdup("-"));
    else
        c->nfiles = c->ops.n;
    return c;
usage:
    strv_release(&g.operands);
    try_help(p, argv[0]);
    consumer_free(c);
    *status = 1;
    return NULL;
}

/* The width of wc's columns, worked out before any count as coreutils does from stat. */
static void wc_width(struct consumer *c)
{
    int counts = c->wl + c->ww + c->wm + c->wc_ + c->wL;
    uintmax_t total = 0;
    int minimum = 1, width = 1;
    size_t i;

    if (c->ops.n == 1 && counts == 1) {
        c->width = 1;
        return;
    }
    for (i = 0; i < c->ops.n; i++) {
        const char *op = c->ops.v[i];

        if (strcmp(op, "-") == 0) {
            if (c->stdin_regular)
                total += c->stdin_size;
            else
                minimum = 7;
        } else {
            struct buf content = BUF_INIT;
            enum ftype t = box_stat(c->p.r, c->p.cwd, op, &content);

            if (t == F_REG)
                total += content.len;
            else if (t != F_NONE)
                minimum = 7;
            buf_release(&content);
        }
    }
    for (; total >= 10; total /= 10)
        width++;
    c->width = width < minimum ? minimum : width;
}

/* Start a consumer: it handles operands up to the first "-", then waits for input. */
static void consumer_start(struct consumer *c, struct source *in)
{
    if (c->kind == C_WC) {
        c->stdin_regular = in && in->regular;
        c->stdin_size = in && in->regular ? in->len - in->pos : 0;
        wc_width(c);
    }
    consumer_advance(c);
}

static int consumer_finish(struct consumer *c)
{
    consumer_stdin_done(c);
    if (c->kind == C_WC && c->ops.n > 1 && !c->dead)
        wc_row(c, c->t_lines, c->t_words, c->t_chars, c->t_bytes, c->t_maxlen, "total");
    if (!c->dead)
        out_flush(&c->o);
    if (c->o.st == WR_PIPE)
        c->dead = true;
    if (c->o.st == WR_BADF) {
        prog_err(&c->p, NULL, c->name, "write error: Bad file descriptor");
        return 1;
    }
    return c->dead ? 141 : c->status;
}

/* Run a consumer reading a source (not a pipe). */
static int consumer_run(struct consumer *c, struct source *in)
{
    char *chunk = xmalloc(CHUNK);
    int st;

    consumer_start(c, in);
    while (c->reading && !aborting(c->p.r)) {
        size_t n = source_read(c->p.r, in, chunk, CHUNK);

        if (n == 0)
            break;
        if (source_is_infinite(in) && !step(c->p.r, STEP_CHUNK))
            break;
        if (consumer_feed(c->p.r, c, chunk, n) != WR_OK)
            break;
    }
    free(chunk);
    st = consumer_finish(c);
    return st;
}

static int prog_consumer(struct proc *p, int argc, char **argv, enum ckind kind)
{
    int st;
    struct consumer *c = consumer_create(kind, p, argc, argv, &st);

    if (!c)
        return st;
    st = consumer_run(c, p->in);
    consumer_free(c);
    return st;
}

static int prog_cat(struct proc *p, int argc, char **argv)
{
    return prog_consumer(p, argc, argv, C_CAT);
}

static int prog_head(struct proc *p, int argc, char **argv)
{
    return prog_consumer(p, argc, argv, C_HEAD);
}

static int prog_wc(struct proc *p, int argc, char **argv)
{
    return prog_consumer(p, argc, argv, C_WC);
}

/* ---------------------------------------------------------------- echo and printf */

/* printf as coreutils, dash's builtin or bash's builtin: one engine, three dialects. */
enum pfd { PF_CORE, PF_DASH, PF_BASH };

struct pf {
    enum pfd d;
    struct out *o;
    char **argv;            /* the arguments after the format */
    int argc, ai;
    int status;
    bool stop;              /* \c: no more output at all */
    bool failed;            /* a bad format: stop now */
    bool utf8;
    bool echo;              /* echo's escapes, not printf's */
    struct sh *sh;          /* dash and bash: for message prefixes */
    struct sink *err;
    struct proc *p;         /* coreutils */
    const char *name;
};

static void pf_msg(struct pf *pf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pf_msg(struct pf *pf, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_grow(&b, (size_t)(n > 0 ? n : 0));
    va_start(ap, fmt);
    vsnprintf(b.data, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    b.len = (size_t)(n > 0 ? n : 0);
    if (pf->d == PF_CORE)
        prog_err(pf->p, pf->o, pf->name, "%s", b.data);
    else {
        /* dash keeps its own stdout buffered until the builtin ends; bash does not */
        if (pf->d == PF_BASH)
            out_flush(pf->o);
        sh_err(pf->sh, pf->err, "printf: %s", b.data);
    }
    buf_release(&b);
}

static const char *pf_next(struct pf *pf)
{
    return pf->ai < pf->argc ? pf->argv[pf->ai++] : NULL;
}

static int hexval(int c)
{
    return hex_digit_value((char)c);
}

/* Put the UTF-8 encoding of cp (or coreutils' \u escape when the locale cannot). */
static void put_unicode(struct pf *pf, uint32_t cp, int digits)
{
    char tmp[16];

    if (!pf->utf8 && cp >= 0x80) {
        snprintf(tmp, sizeof(tmp), digits == 4 ? "\\u%04X" : "\\U%08X", cp);
        out_str(pf->o, tmp);
        return;
    }
    if (cp < 0x80) {
        out_ch(pf->o, (char)cp);
    } else if (cp < 0x800) {
        out_ch(pf->o, (char)(0xc0 | cp >> 6));
        out_ch(pf->o, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out_ch(pf->o, (char)(0xe0 | cp >> 12));
        out_ch(pf->o, (char)(0x80 | ((cp >> 6) & 0x3f)));
        out_ch(pf->o, (char)(0x80 | (cp & 0x3f)));
    } else {
        out_ch(pf->o, (char)(0xf0 | cp >> 18));
        out_ch(pf->o, (char)(0x80 | ((cp >> 12) & 0x3f)));
        out_ch(pf->o, (char)(0x80 | ((cp >> 6) & 0x3f)));
        out_ch(pf->o, (char)(0x80 | (cp & 0x3f)));
    }
}

/* One backslash escape at s (just after the backslash), written to out; returns the
 * characters used. in_b: inside %b (or echo), where \0NNN is the octal form. */
static size_t pf_escape(struct pf *pf, const char *s, bool in_b, struct buf *out)
{
    const char *p = s;
    int c = (unsigned char)*p;
    int v, k;

    if (in_b && c == 'c') {
        pf->stop = true;
        return 1;
    }
    if (pf->d == PF_CORE && c == 'c') {
        pf->stop = true;
        return 1;
    }
    if (c >= '0' && c <= '7') {
        if (in_b && c == '0')
            p++;
        for (v = 0, k = 0; k < 3 && *p >= '0' && *p <= '7'; k++, p++)
            v = v * 8 + (*p - '0');
        buf_addch(out, (char)v);
        return (size_t)(p - s);
    }
    if (c == 'x' && pf->d != PF_DASH) {
        p++;
        for (v = 0, k = 0; k < 2 && hexval(*p) >= 0; k++, p++)
            v = v * 16 + hexval(*p);
        if (k == 0) {
            if (pf->d == PF_CORE && !pf->echo) {
                pf_msg(pf, "missing hexadecimal number in escape");
                pf->failed = true;
                pf->status = 1;
                return 1;
            }
            buf_addstr(out, "\\x");
            return 1;
        }
        buf_addch(out, (char)v);
        return (size_t)(p - s);
    }
    if ((c == 'u' || c == 'U') && pf->d != PF_DASH && !(pf->echo && pf->d == PF_CORE)) {
        int want = c == 'u' ? 4 : 8;
        uint32_t cp = 0;

        p++;
        for (k = 0; k < want && hexval(*p) >= 0; k++, p++)
            cp = cp * 16 + (uint32_t)hexval(*p);
        if (k == 0 || (pf->d == PF_CORE && k < want)) {
            if (pf->d == PF_CORE) {
                pf_msg(pf, "missing hexadecimal number in escape");
                pf->failed = true;
                pf->status = 1;
                return 1;
            }
            buf_addch(out, '\\');
            buf_addch(out, (char)c);
            return 1;
        }
        {
            struct out *save = pf->o, tmp;

            out_init(&tmp, NULL, NULL);
            pf->o = &tmp;
            put_unicode(pf, cp, want);
            pf->o = save;
            buf_add(out, tmp.b.data, tmp.b.len);
            out_release(&tmp);
        }
        return (size_t)(p - s);
    }
    switch (c) {
    case '\\': buf_addch(out, '\\'); return 1;
    case 'a': buf_addch(out, '\a'); return 1;
    case 'b': buf_addch(out, '\b'); return 1;
    case 'f': buf_addch(out, '\f'); return 1;
    case 'n': buf_addch(out, '\n'); return 1;
    case 'r': buf_addch(out, '\r'); return 1;
    case 't': buf_addch(out, '\t'); return 1;
    case 'v': buf_addch(out, '\v'); return 1;
    case 'e':
        buf_addch(out, '\033');
        return 1;
    case 'E':
        if (pf->d == PF_BASH) {
            buf_addch(out, '\033');
            return 1;
        }
        break;
    case '"':
        if ((pf->d == PF_CORE && !pf->echo) || (pf->d == PF_BASH && !in_b)) {
            buf_addch(out, '"');
            return 1;
        }
        break;
    case '\'':
    case '?':
        if (pf->d == PF_BASH && !in_b) {
            buf_addch(out, (char)c);
            return 1;
        }
        break;
    }
    buf_addch(out, '\\');
    if (c == 0)
        return 0;
    if (pf->d == PF_DASH)
        return 0;       /* dash leaves the next character to be read again */
    buf_addch(out, (char)c);
    return 1;
}

/* Expand the escapes of a %b argument (or echo's). */
static void pf_bstring(struct pf *pf, const char *s, struct buf *out)
{
    while (*s && !pf->stop && !pf->failed) {
        if (*s != '\\') {
            buf_addch(out, *s++);
            continue;
        }
        s++;
        if (!*s) {
            buf_addch(out, '\\');
            break;
        }
        s += pf_escape(pf, s, true, out);
    }
}

/* A number argument; messages and status as the dialect has them. */
static void pf_check(struct pf *pf, const char *s, const char *end, bool range)
{
    char *q;

    if (pf->d == PF_BASH) {
        if (end == s || *end) {
            if (*s || end != s)
                pf_msg(pf, "%s: invalid number", s);
            if (*s)
                pf->status = 1;
        } else if (range) {
            pf_msg(pf, "warning: %s: %s", s, strerror(ERANGE));
        }
        return;
    }
    if (pf->d == PF_DASH) {
        if (*end) {
            pf_msg(pf, "%s: %s", s, end == s ? "expected numeric value" : "not completely converted");
            pf->status = 1;
        } else if (range) {
            pf_msg(pf, "%s: %s", s, strerror(ERANGE));
            pf->status = 1;
        }
        return;
    }
    if (!*s)
        return;
    q = quote_locale(s, pf->utf8);
    if (range)
        pf_msg(pf, "%s: %s", q, strerror(ERANGE));
    else if (end == s)
        pf_msg(pf, "%s: expected a numeric value", q);
    else if (*end)
        pf_msg(pf, "%s: value not completely converted", q);
    else {
        free(q);
        return;
    }
    free(q);
    pf->status = 1;
}

static bool pf_char_const(struct pf *pf, const char *s, uintmax_t *v)
{
    if (*s != '\'' && *s != '"')
        return false;
    if (pf->utf8 && pf->d != PF_DASH && ((unsigned char)s[1] & 0xc0) == 0xc0) {
        size_t m = utf8_printable_len((const unsigned char *)s + 1, strlen(s + 1));
        uint32_t cp;
        size_t i;

        if (m) {
            cp = (unsigned char)s[1] & (0x7f >> m);
            for (i = 1; i < m; i++)
                cp = cp << 6 | ((unsigned char)s[1 + i] & 0x3f);
            *v = cp;
            if (s[1 + m] && pf->d == PF_CORE)
                pf_msg(pf, "warning: %s: character(s) following character constant have been ignored",
                       s + 1 + m);
            return true;
        }
    }
    *v = (unsigned char)s[1];
    if (s[1] && s[2] && pf->d == PF_CORE)
        pf_msg(pf, "warning: %s: character(s) following character constant have been ignored",
               s + 2);
    return true;
}

static intmax_t pf_signed(struct pf *pf)
{
    const char *s = pf_next(pf);
    char *end;
    intmax_t v;
    uintmax_t u;

    if (!s)
        return 0;
    if (pf_char_const(pf, s, &u))
        return (intmax_t)u;
    errno = 0;
    v = strtoimax(s, &end, 0);
    pf_check(pf, s, end, errno == ERANGE);
    return v;
}

static uintmax_t pf_unsigned(struct pf *pf)
{
    const char *s = pf_next(pf);
    char *end;
    uintmax_t v;

    if (!s)
        return 0;
    if (pf_char_const(pf, s, &v))
        return v;
    errno = 0;
    if (pf->d == PF_DASH || pf->d == PF_BASH) {
        /* both read unsigned conversions through strtoimax's sibling */
        v = strtoumax(s, &end, 0);
    } else {
        v = strtoumax(s, &end, 0);
    }
    pf_check(pf, s, end, errno == ERANGE);
    return v;
}

static long double pf_float(struct pf *pf)
{
    const char *s = pf_next(pf);
    char *end;
    long double v;
    uintmax_t u;

    if (!s)
        return 0;
    if (pf_char_const(pf, s, &u))
        return (long double)u;
    errno = 0;
    if (pf->d == PF_DASH)
        v = strtod(s, &end);
    else
        v = strtold(s, &end);
    pf_check(pf, s, end, errno == ERANGE && (v > 1 || v < -1));
    return v;
}

/* Pad and emit one converted field built by snprintf-like rules, streaming big widths. */
static void pf_field(struct pf *pf, const char *text, size_t len, bool left, uintmax_t width)
{
    uintmax_t pad = width > len ? width - len : 0;
    static const char spaces[64] = "                                                                ";

    if (!left)
        for (; pad && pf->o->st == WR_OK; pad -= pad > 64 ? 64 : pad)
            out_add(pf->o, spaces, pad > 64 ? 64 : (size_t)pad);
    out_add(pf->o, text, len);
    if (left)
        for (; pad && pf->o->st == WR_OK; pad -= pad > 64 ? 64 : pad)
            out_add(pf->o, spaces, pad > 64 ? 64 : (size_t)pad);
}

/* bash's %q: quote for re-use as shell input. */
static void bash_quote(const char *s, struct buf *out)
{
    size_t i, n = strlen(s);
    bool ctl = false;

    if (n == 0) {
        buf_addstr(out, "''");
        return;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            ctl = true;
    if (ctl) {
        buf_addstr(out, "$'");
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];

            if (c_escape_letter(c))
                buf_addf(out, "\\%c", c_escape_letter(c));
            else if (c == 0x1b)
                buf_addstr(out, "\\E");
            else if (c < 0x20 || c == 0x7f)
                buf_addf(out, "\\%03o", c);
            else if (c == '\'' || c == '\\')
                buf_addf(out, "\\%c", c);
            else
                buf_addch(out, (char)c);
        }
        buf_addch(out, '\'');
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (strchr(" \t\n'\"\\|&;()<>!{}*[?]^$`,", c) || (c == '~' && i == 0) ||
            (c == '#' && i == 0) || (c == '=' && false))
            buf_addch(out, '\\');
        buf_addch(out, (char)c);
    }
}

/* coreutils accepts a flag only with the conversions it means something for, and
 * %b and %q only bare. */
static bool core_conv_ok(char conv, const char *flags, const char *start, bool prec)
{
    if (conv == 'b' || conv == 'q')
        return start[1] == conv;
    if (strchr(flags, '\'') && strchr("aAceEosxX", conv))
        return false;
    if (strchr(flags, '#') && strchr("cdisu", conv))
        return false;
    if (strchr(flags, '0') && strchr("cs", conv))
        return false;
    if (prec && conv == 'c')
        return false;
    return true;
}

/* One pass over the format; returns false when printing must end. */
static bool pf_once(struct pf *pf, const char *fmt)
{
    const char *f = fmt;
    struct buf tmp = BUF_INIT;

    while (*f && !pf->stop && !pf->failed) {
        const char *start;
        char flags[8];
        size_t nflags = 0;
        bool have_width = false, have_prec = false, left = false;
        intmax_t width = 0, prec = -1;
        char conv;

        if (*f == '\\') {
            buf_reset(&tmp);
            f++;
            if (!*f) {
                out_ch(pf->o, '\\');
                break;
            }
            f += pf_escape(pf, f, false, &tmp);
            out_add(pf->o, tmp.data ? tmp.data : "", tmp.len);
            continue;
        }
        if (*f != '%') {
            const char *e = f;

            while (*e && *e != '%' && *e != '\\')
                e++;
            out_add(pf->o, f, (size_t)(e - f));
            f = e;
            continue;
        }
        if (f[1] == '%') {
            out_ch(pf->o, '%');
            f += 2;
            continue;
        }
        start = f++;
        while (*f && strchr(pf->d == PF_DASH ? "#-+ 0" : "#-+ 0'", *f)) {
            if (*f == '-')
                left = true;
            if (nflags < sizeof(flags) - 1)
                flags[nflags++] = *f;
            f++;
        }
        flags[nflags] = '\0';
        if (*f == '*') {
            f++;
            width = pf_signed(pf);
            have_width = true;
            if (width < 0) {
                left = true;
                width = -width;
            }
        } else {
            while (*f >= '0' && *f <= '9') {
                width = width > 100000000 ? width : width * 10 + (*f - '0');
                have_width = true;
                f++;
            }
        }
        if (*f == '.') {
            f++;
            have_prec = true;
            prec = 0;
            if (*f == '*') {
                f++;
                prec = pf_signed(pf);
                if (prec < 0) {
                    have_prec = false;
                    prec = -1;
                }
            } else {
                while (*f >= '0' && *f <= '9') {
                    prec = prec > 100000000 ? prec : prec * 10 + (*f - '0');
                    f++;
                }
            }
        }
        if (pf->d != PF_DASH)
            while (*f && strchr("hlLjtz", *f))
                f++;
        conv = *f;
        if (!conv) {
            if (pf->d == PF_CORE)
                pf_msg(pf, "%.*s: invalid conversion specification", (int)(f - start), start);
            else if (pf->d == PF_DASH)
                pf_msg(pf, "missing format character");
            else
                pf_msg(pf, "`%s': missing format character", start);
            pf->status = pf->d == PF_DASH ? 2 : 1;
            pf->failed = true;
            break;
        }
        f++;
        if (!strchr(pf->d == PF_DASH ? "diouxXeEfFgGaAcsb" : "diouxXeEfFgGaAcsbq", conv) ||
            (pf->d == PF_CORE && !core_conv_ok(conv, flags, start, have_prec))) {
            if (pf->d == PF_CORE)
                pf_msg(pf, "%.*s: invalid conversion specification", (int)(f - start), start);
            else if (pf->d == PF_DASH)
                pf_msg(pf, "%.*s: invalid directive", (int)(f - start), start);
            else
                pf_msg(pf, "`%c': invalid format character", conv);
            pf->status = pf->d == PF_DASH ? 2 : 1;
            pf->failed = true;
            break;
        }
        buf_reset(&tmp);
        switch (conv) {
        case 's':
        case 'b':
        case 'q': {
            const char *arg = pf_next(pf);
            size_t len;

            if (!arg)
                arg = "";
            if (conv == 'b') {
                pf_bstring(pf, arg, &tmp);
            } else if (conv == 'q') {
                if (pf->d == PF_BASH)
                    bash_quote(arg, &tmp);
                else
                    quote_into(&tmp, arg, Q_SHELL_IF_NEEDED, pf->utf8, false);
            } else {
                buf_addstr(&tmp, arg);
            }
            len = tmp.len;
            if (have_prec && (uintmax_t)prec < len)
                len = (size_t)prec;
            pf_field(pf, tmp.data ? tmp.data : "", len, left, have_width ? (uintmax_t)width : 0);
            break;
        }
        case 'c': {
            const char *arg = pf_next(pf);
            char ch = arg ? arg[0] : '\0';

            pf_field(pf, &ch, 1, left, have_width ? (uintmax_t)width : 0);
            break;
        }
        default: {
            char spec[64];
            int n;
            bool is_float = strchr("eEfFgGaA", conv) != NULL;
            bool is_signed = conv == 'd' || conv == 'i';
            intmax_t sv = 0;
            uintmax_t uv = 0;
            long double fv = 0;
            int w = have_width && width <= 1000000 ? (int)width : 0;
            int pr = have_prec && prec <= 1000000 ? (int)prec : -1;

            if (is_float)
                fv = pf_float(pf);
            else if (is_signed)
                sv = pf_signed(pf);
            else
                uv = pf_unsigned(pf);
            if (have_prec && prec > 1000000) {
                fatal(pf->o->r, "printf precision over 1000000");
                pf->failed = true;
                break;
            }
            snprintf(spec, sizeof(spec), "%%%s%s%s%s%s%c", flags, w ? "*" : "",
                     pr >= 0 ? ".*" : "", is_float ? (pf->d == PF_DASH ? "" : "L") : "j",
                     "", conv);
            /* snprintf with the built spec: widths and precisions are passed as ints */
            {
                char *p;

#define PF_FMT(...) do { \
                    n = snprintf(NULL, 0, spec, __VA_ARGS__); \
                    p = xmalloc((size_t)n + 1); \
                    snprintf(p, (size_t)n + 1, spec, __VA_ARGS__); \
                } while (0)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                if (is_float && pf->d == PF_DASH) {
                    double dv = (double)fv;

                    if (w && pr >= 0) PF_FMT(w, pr, dv);
                    else if (w) PF_FMT(w, dv);
                    else if (pr >= 0) PF_FMT(pr, dv);
                    else PF_FMT(dv);
                } else if (is_float) {
                    if (w && pr >= 0) PF_FMT(w, pr, fv);
                    else if (w) PF_FMT(w, fv);
                    else if (pr >= 0) PF_FMT(pr, fv);
                    else PF_FMT(fv);
                } else if (is_signed) {
                    if (w && pr >= 0) PF_FMT(w, pr, sv);
                    else if (w) PF_FMT(w, sv);
                    else if (pr >= 0) PF_FMT(pr, sv);
                    else PF_FMT(sv);
                } else {
                    if (w && pr >= 0) PF_FMT(w, pr, uv);
                    else if (w) PF_FMT(w, uv);
                    else if (pr >= 0) PF_FMT(pr, uv);
                    else PF_FMT(uv);
                }
#pragma GCC diagnostic pop
#undef PF_FMT
                pf_field(pf, p, (size_t)n, left, have_width && width > 1000000 ? (uintmax_t)width : 0);
                free(p);
            }
            break;
        }
        }
    }
    buf_release(&tmp);
    return !pf->stop && !pf->failed;
}

/* Run printf: format then arguments; returns the status. */
static int pf_run(struct pf *pf, const char *fmt)
{
    do {
        int before = pf->ai;

        if (!pf_once(pf, fmt))
            break;
        if (pf->ai == before)
            break;
    } while (pf->ai < pf->argc);
    if (pf->d == PF_CORE && pf->ai < pf->argc && !pf->stop && !pf->failed) {
        char *q = quote_locale(pf->argv[pf->ai], pf->utf8);

        pf_msg(pf, "warning: ignoring excess arguments, starting with %s", q);
        free(q);
    }
    return pf->status;
}

/* echo: coreutils (-neE, no escapes unless -e), dash (escapes always, only -n) or bash. */
static int echo_run(enum pfd d, struct out *o, int argc, char **argv, bool utf8)
{
    struct pf pf;
    struct buf b = BUF_INIT;
    bool newline = true, escapes = d == PF_DASH;
    int i = 1, j;

    memset(&pf, 0, sizeof(pf));
    pf.d = d;
    pf.o = o;
    pf.utf8 = utf8;
    pf.echo = true;
    if (d == PF_DASH) {
        if (argc > 1 && strcmp(argv[1], "-n") == 0) {
            newline = false;
            i = 2;
        }
    } else {
        for (; i < argc; i++) {
            const char *a = argv[i];

            if (a[0] != '-' || !a[1])
                break;
            for (j = 1; a[j]; j++)
                if (!strchr("neE", a[j]))
                    break;
            if (a[j])
                break;
            for (j = 1; a[j]; j++) {
                if (a[j] == 'n')
                    newline = false;
                else if (a[j] == 'e')
                    escapes = true;
                else
                    escapes = false;
            }
        }
    }
    for (; i < argc && !pf.stop; i++) {
        if (escapes) {
            /* echo's escapes: \0NNN, and for coreutils and bash also \NNN is not octal */
            const char *s = argv[i];

            while (*s && !pf.stop) {
                if (*s != '\\') {
                    buf_addch(&b, *s++);
                    continue;
                }
                s++;
                if (!*s) {
                    buf_addch(&b, '\\');
                    break;
                }
                if (d == PF_BASH && *s >= '1' && *s <= '7') {
                    buf_addch(&b, '\\');
                    buf_addch(&b, *s++);
                    continue;
                }
                s += pf_escape(&pf, s, true, &b);
            }
        } else {
            buf_addstr(&b, argv[i]);
        }
        if (pf.stop)
            break;
        if (i + 1 < argc)
            buf_addch(&b, ' ');
    }
    if (newline && !pf.stop)
        buf_addch(&b, '\n');
    out_add(o, b.data ? b.data : "", b.len);
    buf_release(&b);
    return 0;
}

static int prog_echo(struct proc *p, int argc, char **argv)
{
    struct out o;
    enum wr w;
    int st;

    if (prog_info_only(p, "echo", argc, argv, &st))
        return st;
    (void)w;
    out_init(&o, p->r, p->out);
    echo_run(PF_CORE, &o, argc, argv, p->utf8);
    return prog_out_done(p, &o, argv[0], 0);
}

static int prog_printf(struct proc *p, int argc, char **argv)
{
    struct pf pf;
    struct out o;
    const char *name = argv[0];
    int st;

    if (prog_info_only(p, "printf", argc, argv, &st))
        return st;
    if (argc > 1 && strcmp(argv[1], "--") == 0) {
        argc--;
        argv++;
    }
    if (argc < 2) {
        prog_err(p, NULL, name, "missing operand");
        try_help(p, name);
        return 1;
    }
    out_init(&o, p->r, p->out);
    memset(&pf, 0, sizeof(pf));
    pf.d = PF_CORE;
    pf.o = &o;
    pf.argv = argv + 2;
    pf.argc = argc - 2;
    pf.utf8 = p->utf8;
    pf.p = p;
    pf.name = name;
    st = pf_run(&pf, argv[1]);
    return prog_out_done(p, &o, name, st);
}

/* ---------------------------------------------------------------- seq */

struct seq_operand {
    long double value;
    size_t width;
    int precision;          /* INT_MAX: not a fixed-point number */
};

static bool seq_scan(struct proc *p, const char *name, const char *arg, struct seq_operand *op)
{
    char *end;
    const char *a = arg, *dot, *e;
    char *q;

    errno = 0;
    op->value = strtold(arg, &end);
    if (end == arg || *end || (errno == ERANGE && fabsl(op->value) < 1)) {
        q = quote_locale(arg, p->utf8);
        prog_err(p, NULL, name, "invalid floating point argument: %s", q);
        free(q);
        try_help(p, name);
        return false;
    }
    if (isnan(op->value)) {
        char *q0 = quote_locale("not-a-number", p->utf8);

        q = quote_locale(arg, p->utf8);
        prog_err(p, NULL, name, "invalid %s argument: %s", q0, q);
        free(q0);
        free(q);
        try_help(p, name);
        return false;
    }
    while (isspace((unsigned char)*a) || *a == '+')
        a++;
    op->width = 0;
    op->precision = INT_MAX;
    dot = strchr(a, '.');
    if (!dot && !strchr(a, 'p'))
        op->precision = 0;
    if (!a[strcspn(a, "xX")] && isfinite(op->value)) {
        size_t fraction = 0;

        op->width = strlen(a);
        if (dot) {
            fraction = strcspn(dot + 1, "eE");
            if (fraction <= INT_MAX)
                op->precision = (int)fraction;
            if (fraction == 0)
                op->width--;
            else if (dot == a || !isdigit((unsigned char)dot[-1]))
                op->width++;
        }
        e = strchr(a, 'e');
        if (!e)
            e = strchr(a, 'E');
        if (e) {
            long exponent = strtol(e + 1, NULL, 10);

            if (exponent < -LONG_MAX)
                exponent = -LONG_MAX;
            if (exponent < 0)
                op->precision += (int)(-exponent > INT_MAX / 2 ? INT_MAX / 2 : -exponent);
            else
                op->precision -= (int)(op->precision < exponent ? op->precision : exponent);
            op->width -= strlen(a) - (size_t)(e - a);
            if (exponent < 0) {
                if (dot) {
                    if (e == dot + 1)
                        op->width++;
                } else {
                    op->width++;
                }
                exponent = -exponent;
            } else {
                if (dot && op->precision == 0 && fraction)
                    op->width--;
                exponent -= (long)fraction < exponent ? (long)fraction : exponent;
            }
            op->width += (size_t)exponent;
        }
    }
    return true;
}

static bool all_digits(const char *s)
{
    return isdigit((unsigned char)s[0]) && strspn(s, "0123456789") == strlen(s);
}

/* Whole numbers from a to b as digit strings, any size (seq's fast path). */
static int seq_fast(struct proc *p, struct out *o, const char *a, const char *b,
                    unsigned step_by, const char *sep)
{
    struct buf cur = BUF_INIT;
    bool inf = strcmp(b, "inf") == 0;
    unsigned k;

    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    buf_addstr(&cur, a);
#define SEQ_CMP(x, xl, y, yl) ((xl) != (yl) ? ((xl) < (yl) ? -1 : 1) : memcmp((x), (y), (xl)))
    if (!inf && SEQ_CMP(cur.data, cur.len, b, strlen(b)) > 0) {
        buf_release(&cur);
        return 0;
    }
    out_add(o, cur.data, cur.len);
    for (;;) {
        for (k = 0; k < step_by; k++) {
            size_t i = cur.len;

            while (i > 0 && cur.data[i - 1] == '9')
                cur.data[--i] = '0';
            if (i == 0) {
                buf_addch(&cur, '0');
                memmove(cur.data + 1, cur.data, cur.len - 1);
                cur.data[0] = '1';
            } else {
                cur.data[i - 1]++;
            }
        }
        if (!inf && SEQ_CMP(cur.data, cur.len, b, strlen(b)) > 0)
            break;
        out_str(o, sep);
        if (out_add(o, cur.data, cur.len) != WR_OK)
            break;
        if (cur.len > CAPTURE_MAX) {
            fatal(p->r, "seq number over %u digits", CAPTURE_MAX);
            break;
        }
    }
#undef SEQ_CMP
    out_ch(o, '\n');
    buf_release(&cur);
    return 0;
}

/* Check a -f format the way seq does; returns a long double format (caller frees). */
static char *seq_format(struct proc *p, const char *name, const char *fmt, size_t *prefix,
                        size_t *suffix)
{
    size_t i = 0, lm;
    char *q, *out;
    bool has_L;

    *prefix = *suffix = 0;
    for (; !(fmt[i] == '%' && fmt[i + 1] != '%'); i += (fmt[i] == '%') + 1) {
        if (!fmt[i]) {
            q = quote_locale(fmt, p->utf8);
            prog_err(p, NULL, name, "format %s has no %% directive", q);
            free(q);
            return NULL;
        }
        (*prefix)++;
    }
    i++;
    i += strspn(fmt + i, "-+#0 '");
    i += strspn(fmt + i, "0123456789");
    if (fmt[i] == '.') {
        i++;
        i += strspn(fmt + i, "0123456789");
    }
    lm = i;
    has_L = fmt[i] == 'L';
    i += has_L;
    if (!fmt[i]) {
        q = quote_locale(fmt, p->utf8);
        prog_err(p, NULL, name, "format %s ends in %%", q);
        free(q);
        return NULL;
    }
    if (!strchr("efgaEFGA", fmt[i])) {
        q = quote_locale(fmt, p->utf8);
        prog_err(p, NULL, name, "format %s has unknown %%%c directive", q, fmt[i]);
        free(q);
        return NULL;
    }
    for (i++;; i += (fmt[i] == '%') + 1) {
        if (fmt[i] == '%' && fmt[i + 1] != '%') {
            q = quote_locale(fmt, p->utf8);
            prog_err(p, NULL, name, "format %s has too many %% directives", q);
            free(q);
            return NULL;
        }
        if (!fmt[i])
            break;
        (*suffix)++;
    }
    out = xmalloc(strlen(fmt) + 2);
    memcpy(out, fmt, lm);
    out[lm] = 'L';
    strcpy(out + lm + 1, fmt + lm + has_L);
    return out;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *ld_format(const char *fmt, long double x)
{
    int n = snprintf(NULL, 0, fmt, x);
    char *s = xmalloc((size_t)(n < 0 ? 0 : n) + 1);

    snprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, x);
    return s;
}
#pragma GCC diagnostic pop

static int prog_seq(struct proc *p, int argc, char **argv)
{
    static const struct gopt opts[] = {
        { 'f', "format", true, 'f' }, { 's', "separator", true, 's' },
        { 'w', "equal-width", false, 'w' },
    };
    struct getopt g;
    const char *format = NULL, *sep = "\n", *name = argv[0];
    bool equal = false;
    struct seq_operand first = { 1, 1, 0 }, stp = { 1, 1, 0 }, last;
    struct out o;
    char *fmt = NULL;
    size_t prefix = 0, suffix = 0, n;
    int id, st = 0;
    char **ops;

    getopt_init(&g, p, name, opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
    g.stop_at_operand = true;
    g.negative_numbers = true;
    while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
        if (id == 'f')
            format = g.optarg;
        else if (id == 's')
            sep = g.optarg;
        else
            equal = true;
    }
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "seq", id == GOPT_VERSION);
    }
    if (id < 0) {
        strv_release(&g.operands);
        try_help(p, name);
        return 1;
    }
    n = g.operands.n;
    ops = g.operands.v;
    if (n < 1 || n > 3) {
        if (n < 1) {
            prog_err(p, NULL, name, "missing operand");
        } else {
            char *q = quote_locale(ops[3], p->utf8);

            prog_err(p, NULL, name, "extra operand %s", q);
            free(q);
        }
        try_help(p, name);
        strv_release(&g.operands);
        return 1;
    }
    if (format) {
        fmt = seq_format(p, name, format, &prefix, &suffix);
        if (!fmt) {
            strv_release(&g.operands);
            return 1;
        }
        if (equal) {
            prog_err(p, NULL, name, "format string may not be specified when printing equal width strings");
            try_help(p, name);
            free(fmt);
            strv_release(&g.operands);
            return 1;
        }
    }
    out_init(&o, p->r, p->out);
    if (all_digits(ops[0]) && (n == 1 || all_digits(ops[1])) &&
        (n < 3 || (all_digits(ops[1]) && strtold(ops[1], NULL) > 0 &&
                   strtold(ops[1], NULL) <= 200 && all_digits(ops[2]))) &&
        !equal && !fmt && strlen(sep) == 1) {
        seq_fast(p, &o, n == 1 ? "1" : ops[0], ops[n - 1],
                 n == 3 ? (unsigned)strtoul(ops[1], NULL, 10) : 1, sep);
        goto done;
    }
    if (!seq_scan(p, name, ops[0], &last)) {
        st = 1;
        goto done;
    }
    if (n >= 2) {
        first = last;
        if (!seq_scan(p, name, ops[1], &last)) {
            st = 1;
            goto done;
        }
        if (n == 3) {
            stp = last;
            if (stp.value == 0) {
                char *q = quote_locale(ops[1], p->utf8);

                prog_err(p, NULL, name, "invalid Zero increment value: %s", q);
                free(q);
                try_help(p, name);
                st = 1;
                goto done;
            }
            if (!seq_scan(p, name, ops[2], &last)) {
                st = 1;
                goto done;
            }
        }
    }
    if (first.precision == 0 && stp.precision == 0 && last.precision == 0 &&
        isfinite(first.value) && first.value >= 0 && last.value >= 0 && stp.value > 0 &&
        stp.value <= 200 && !equal && !fmt && strlen(sep) == 1) {
        char *s1 = ld_format("%0.Lf", first.value);
        char *s2 = isfinite(last.value) ? ld_format("%0.Lf", last.value) : xstrdup("inf");

        seq_fast(p, &o, s1, s2, (unsigned)stp.value, sep);
        free(s1);
        free(s2);
        goto done;
    }
    if (!fmt) {
        int prec = first.precision > stp.precision ? first.precision : stp.precision;

        if (prec != INT_MAX && last.precision != INT_MAX) {
            if (equal) {
                size_t fw = first.width + (size_t)(prec - first.precision);
                size_t lw = last.width + (size_t)(prec - last.precision);

                if (last.precision && prec == 0)
                    lw--;
                if (last.precision == 0 && prec)
                    lw++;
                if (first.precision == 0 && prec)
                    fw++;
                fmt = xasprintf("%%0%zu.%dLf", fw > lw ? fw : lw, prec);
            } else {
                fmt = xasprintf("%%.%dLf", prec);
            }
        } else {
            fmt = xstrdup("%Lg");
        }
    }
    {
        long double x = first.value, i;
        bool out_of_range = stp.value < 0 ? first.value < last.value : last.value < first.value;

        if (!out_of_range) {
            for (i = 1;; i++) {
                long double x0 = x;
                char *str = ld_format(fmt, x);

                out_str(&o, str);
                free(str);
                if (o.st != WR_OK)
                    break;
                x = first.value + i * stp.value;
                out_of_range = stp.value < 0 ? x < last.value : last.value < x;
                if (out_of_range) {
                    char *xs = ld_format(fmt, x), *x0s;
                    bool extra = false;
                    long double xv;
                    char *end;

                    xs[strlen(xs) - suffix] = '\0';
                    xv = strtold(xs + prefix, &end);
                    if (end != xs + prefix && !*end && xv == last.value) {
                        x0s = ld_format(fmt, x0);
                        x0s[strlen(x0s) - suffix] = '\0';
                        extra = strcmp(x0s, xs) != 0;
                        free(x0s);
                    }
                    free(xs);
                    if (!extra)
                        break;
                }
                out_str(&o, sep);
                if (!isfinite(x) && !isfinite(last.value) && !step(p->r, 1))
                    break;
            }
            out_ch(&o, '\n');
        }
    }
done:
    free(fmt);
    strv_release(&g.operands);
    return prog_out_done(p, &o, name, st);
}

/* ---------------------------------------------------------------- sleep, env, pwd, uname */

static int prog_sleep(struct proc *p, int argc, char **argv)
{
    struct getopt g;
    long double total = 0;
    bool bad = false;
    size_t i;
    int id;

    getopt_init(&g, p, argv[0], NULL, 0, argc, argv);
    g.stop_at_operand = true;
    id = getopt_next(&g);
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "sleep", id == GOPT_VERSION);
    }
    if (id < 0) {
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    if (g.operands.n == 0) {
        prog_err(p, NULL, argv[0], "missing operand");
        try_help(p, argv[0]);
        return 1;
    }
    for (i = 0; i < g.operands.n; i++) {
        const char *a = g.operands.v[i];
        char *end;
        long double v;

        errno = 0;
        v = strtold(a, &end);
        if (end != a && *end && !end[1]) {
            switch (*end) {
            case 's': end++; break;
            case 'm': v *= 60; end++; break;
            case 'h': v *= 3600; end++; break;
            case 'd': v *= 86400; end++; break;
            }
        }
        if (end == a || *end || !(v >= 0) || isspace((unsigned char)a[0])) {
            char *q = quote_locale(a, p->utf8);

            prog_err(p, NULL, argv[0], "invalid time interval %s", q);
            free(q);
            bad = true;
            continue;
        }
        total += v;
    }
    strv_release(&g.operands);
    if (bad) {
        try_help(p, argv[0]);
        return 1;
    }
    {
        long double ms = ceill(total * 1000);
        uint64_t m = !isfinite(ms) || ms >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)ms;

        if (m && !run_sleep(p->r, m))
            return 0;
    }
    return 0;
}

static int run_program(struct proc *p, const struct prog *pg, int argc, char **argv);

enum xres { X_RAN, X_NOENT, X_DIR, X_BADINTERP };

static enum xres exec_path(struct proc *p, const char *path, int argc, char **argv, int *status);

static int prog_env(struct proc *p, int argc, char **argv)
{
    static const struct gopt opts[] = {
        { 'i', "ignore-environment", false, 'i' }, { '0', "null", false, '0' },
        { 'u', "unset", true, 'u' }, { 'C', "chdir", true, 'C' },
    };
    struct getopt g;
    struct strv env = STRV_INIT;
    bool ignore = false, nul = false;
    const char *chdir_to = NULL;
    struct strv unsets = STRV_INIT;
    size_t i, k;
    int id, st = 0;

    getopt_init(&g, p, argv[0], opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
    g.stop_at_operand = true;
    while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
        switch (id) {
        case 'i': ignore = true; break;
        case '0': nul = true; break;
        case 'u': strv_push(&unsets, xstrdup(g.optarg)); break;
        case 'C': chdir_to = g.optarg; break;
        }
    }
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        strv_release(&unsets);
        return prog_info(p, "env", id == GOPT_VERSION);
    }
    if (id < 0) {
        strv_release(&g.operands);
        strv_release(&unsets);
        try_help(p, argv[0]);
        return 125;
    }
    i = 0;
    if (g.operands.n && strcmp(g.operands.v[0], "-") == 0) {
        ignore = true;
        i = 1;
    }
    if (!ignore)
        for (k = 0; p->env && p->env[k]; k++)
            strv_push(&env, xstrdup(p->env[k]));
    for (k = 0; k < unsets.n; k++) {
        size_t j, l = strlen(unsets.v[k]);

        if (!l || strchr(unsets.v[k], '=')) {
            char *q = quote_locale(unsets.v[k], p->utf8);

            prog_err(p, NULL, argv[0], "cannot unset %s: Invalid argument", q);
            free(q);
            st = 125;
            goto out;
        }
        for (j = 0; j < env.n;) {
            if (strncmp(env.v[j], unsets.v[k], l) == 0 && env.v[j][l] == '=') {
                free(env.v[j]);
                memmove(&env.v[j], &env.v[j + 1], (env.n - j) * sizeof(char *));
                env.n--;
            } else {
                j++;
            }
        }
    }
    for (; i < g.operands.n && strchr(g.operands.v[i], '='); i++) {
        const char *a = g.operands.v[i];
        size_t l = (size_t)(strchr(a, '=') - a), j;

        for (j = 0; l && j < env.n; j++) {
            if (strncmp(env.v[j], a, l + 1) == 0) {
                free(env.v[j]);
                env.v[j] = xstrdup(a);
                break;
            }
        }
        if (j == env.n)
            strv_push(&env, xstrdup(a));
    }
    if (chdir_to && i >= g.operands.n) {
        prog_err(p, NULL, argv[0], "must specify command with --chdir (-C)");
        try_help(p, argv[0]);
        st = 125;
        goto out;
    }
    if (i >= g.operands.n) {
        struct out o;

        out_init(&o, p->r, p->out);
        for (k = 0; k < env.n; k++) {
            out_str(&o, env.v[k]);
            out_ch(&o, nul ? '\0' : '\n');
        }
        st = prog_out_done(p, &o, argv[0], st);
        goto out;
    }
    {
        struct proc child = *p;
        char *full = NULL, *cwd = NULL;
        const char *cmd = g.operands.v[i];
        const struct prog *pg;
        struct strv cargv = STRV_INIT;

        if (!env.v)
            strv_push(&env, NULL), env.n = 0;
        child.env = env.v;
        child.utf8 = env_utf8(env.v);
        if (chdir_to) {
            enum ftype t = box_stat(p->r, p->cwd, chdir_to, NULL);

            if (t != F_DIR) {
                char *q = quote_locale(chdir_to, p->utf8);

                prog_err(p, NULL, argv[0], "cannot change directory to %s: %s", q,
                         t == F_NONE ? "No such file or directory" : "Not a directory");
                free(q);
                st = 125;
                goto out;
            }
            cwd = path_resolve(p->cwd, chdir_to);
            child.cwd = cwd;
        }
        if (strchr(cmd, '/')) {
            enum xres x;

            strv_copy(&cargv, g.operands.v + i, g.operands.n - i);
            x = exec_path(&child, cmd, (int)cargv.n, cargv.v, &st);
            strv_release(&cargv);
            if (x == X_RAN) {
                free(cwd);
                goto out;
            }
            {
                char *q = quote_locale(cmd, p->utf8);

                prog_err(p, NULL, argv[0], "%s: %s", q,
                         x == X_DIR ? "Permission denied" : "No such file or directory");
                free(q);
            }
            free(cwd);
            st = x == X_DIR ? 126 : 127;
            goto out;
        }
        pg = path_lookup(env_get(env.v, "PATH"), "/bin:/usr/bin", child.cwd, cmd, &full);
        free(full);
        if (!pg) {
            char *q = quote_locale(cmd, p->utf8);

            prog_err(p, NULL, argv[0], "%s: No such file or directory", q);
            free(q);
            free(cwd);
            st = 127;
            goto out;
        }
        strv_copy(&cargv, g.operands.v + i, g.operands.n - i);
        st = run_program(&child, pg, (int)cargv.n, cargv.v);
        strv_release(&cargv);
        free(cwd);
    }
out:
    strv_release(&env);
    strv_release(&unsets);
    strv_release(&g.operands);
    return st;
}

static int prog_pwd(struct proc *p, int argc, char **argv)
{
    static const struct gopt opts[] = {
        { 'L', "logical", false, 'L' }, { 'P', "physical", false, 'P' },
    };
    struct getopt g;
    struct out o;
    int id, st = 0;

    getopt_init(&g, p, argv[0], opts, 2, argc, argv);
    while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP)
        ;
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "pwd", id == GOPT_VERSION);
    }
    if (id < 0) {
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    if (g.operands.n)
        prog_err(p, NULL, argv[0], "ignoring non-option arguments");
    strv_release(&g.operands);
    {
        /* the physical directory: "//" is "/" to the kernel */
        char *phys = path_normalise(p->cwd);

        out_init(&o, p->r, p->out);
        out_str(&o, phys);
        out_ch(&o, '\n');
        free(phys);
    }
    return prog_out_done(p, &o, argv[0], st);
}

static int prog_uname(struct proc *p, int argc, char **argv)
{
    static const struct gopt opts[] = {
        { 'a', "all", false, 'a' }, { 's', "kernel-name", false, 's' },
        { 'n', "nodename", false, 'n' }, { 'r', "kernel-release", false, 'r' },
        { 'v', "kernel-version", false, 'v' }, { 'm', "machine", false, 'm' },
        { 'p', "processor", false, 'p' }, { 'i', "hardware-platform", false, 'i' },
        { 'o', "operating-system", false, 'o' },
    };
    struct getopt g;
    unsigned mask = 0;
    int id, st = 0;
    struct out o;
    bool first = true;
    static const struct { unsigned bit; const char *text; } fields[] = {
        { 1, "Linux" }, { 2, UNAME_NODENAME }, { 4, UNAME_RELEASE }, { 8, UNAME_VERSION },
        { 16, UNAME_MACHINE }, { 32, "unknown" }, { 64, "unknown" }, { 128, "GNU/Linux" },
    };
    size_t k;

    getopt_init(&g, p, argv[0], opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
    while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
        switch (id) {
        case 'a': mask |= 0x100 | 1 | 2 | 4 | 8 | 16 | 128; break;
        case 's': mask |= 1; break;
        case 'n': mask |= 2; break;
        case 'r': mask |= 4; break;
        case 'v': mask |= 8; break;
        case 'm': mask |= 16; break;
        case 'p': mask |= 32; break;
        case 'i': mask |= 64; break;
        case 'o': mask |= 128; break;
        }
    }
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "uname", id == GOPT_VERSION);
    }
    if (id < 0) {
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    if (g.operands.n) {
        char *q = quote_locale(g.operands.v[0], p->utf8);

        prog_err(p, NULL, argv[0], "extra operand %s", q);
        free(q);
        try_help(p, argv[0]);
        strv_release(&g.operands);
        return 1;
    }
    strv_release(&g.operands);
    if (!(mask & 0xff))
        mask |= 1;
    out_init(&o, p->r, p->out);
    for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        if (!(mask & fields[k].bit))
            continue;
        if (!first)
            out_ch(&o, ' ');
        out_str(&o, fields[k].text);
        first = false;
    }
    out_ch(&o, '\n');
    return prog_out_done(p, &o, argv[0], st);
}

/* ---------------------------------------------------------------- yes, basename, dirname, whoami */

static int prog_yes(struct proc *p, int argc, char **argv)
{
    struct getopt g;
    struct buf line = BUF_INIT, block = BUF_INIT;
    struct out o;
    size_t i;
    int id, st;

    getopt_init(&g, p, argv[0], NULL, 0, argc, argv);
    id = getopt_next(&g);
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "yes", id == GOPT_VERSION);
    }
    if (id < 0) {
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    for (i = 0; i < g.operands.n; i++) {
        if (i)
            buf_addch(&line, ' ');
        buf_addstr(&line, g.operands.v[i]);
    }
    if (!g.operands.n)
        buf_addch(&line, 'y');
    buf_addch(&line, '\n');
    strv_release(&g.operands);
    /* forever, a block at a time: the reader or the caller stops it */
    while (block.len + line.len <= CHUNK || !block.len)
        buf_add(&block, line.data, line.len);
    out_init(&o, p->r, p->out);
    while (out_add(&o, block.data, block.len) == WR_OK && out_flush(&o) == WR_OK)
        ;
    st = prog_out_done(p, &o, argv[0], 0);
    buf_release(&line);
    buf_release(&block);
    return st;
}

static void strip_slashes(char *s)
{
    size_t n = strlen(s);

    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
}

static int prog_basename(struct proc *p, int argc, char **argv)
{
    static const struct gopt opts[] = {
        { 'a', "multiple", false, 'a' }, { 's', "suffix", true, 's' }, { 'z', "zero", false, 'z' },
    };
    struct getopt g;
    const char *suffix = NULL;
    bool multi = false, zero = false;
    struct out o;
    size_t i, n;
    int id;

    getopt_init(&g, p, argv[0], opts, sizeof(opts) / sizeof(opts[0]), argc, argv);
    while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP) {
        if (id == 's') {
            suffix = g.optarg;
            multi = true;
        } else if (id == 'a') {
            multi = true;
        } else {
            zero = true;
        }
    }
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "basename", id == GOPT_VERSION);
    }
    if (id < 0 || g.operands.n == 0 || (!multi && g.operands.n > 2)) {
        if (id >= 0 && g.operands.n == 0) {
            prog_err(p, NULL, argv[0], "missing operand");
        } else if (id >= 0) {
            char *q = quote_locale(g.operands.v[2], p->utf8);

            prog_err(p, NULL, argv[0], "extra operand %s", q);
            free(q);
        }
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    if (!multi && g.operands.n == 2)
        suffix = g.operands.v[1];
    n = multi ? g.operands.n : 1;
    out_init(&o, p->r, p->out);
    for (i = 0; i < n; i++) {
        char *name = xstrdup(g.operands.v[i]), *base;

        strip_slashes(name);
        base = strrchr(name, '/');
        base = base && base[1] ? base + 1 : name;
        if (suffix && *suffix) {
            size_t bl = strlen(base), sl = strlen(suffix);

            if (bl > sl && strcmp(base + bl - sl, suffix) == 0)
                base[bl - sl] = '\0';
        }
        out_str(&o, base);
        out_ch(&o, zero ? '\0' : '\n');
        free(name);
    }
    strv_release(&g.operands);
    return prog_out_done(p, &o, argv[0], 0);
}

static int prog_dirname(struct proc *p, int argc, char **argv)
{
    static const struct gopt opts[] = { { 'z', "zero", false, 'z' } };
    struct getopt g;
    bool zero = false;
    struct out o;
    size_t i;
    int id;

    getopt_init(&g, p, argv[0], opts, 1, argc, argv);
    while ((id = getopt_next(&g)) > 0 && id < GOPT_HELP)
        zero = true;
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "dirname", id == GOPT_VERSION);
    }
    if (id < 0 || g.operands.n == 0) {
        if (id >= 0)
            prog_err(p, NULL, argv[0], "missing operand");
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    out_init(&o, p->r, p->out);
    for (i = 0; i < g.operands.n; i++) {
        char *d = xmalloc(strlen(g.operands.v[i]) + 2), *slash;

        strcpy(d, g.operands.v[i]);

        strip_slashes(d);
        slash = strrchr(d, '/');
        if (!slash) {
            strcpy(d, ".");
        } else {
            while (slash > d && slash[-1] == '/')
                slash--;
            if (slash == d)
                strcpy(d, d[0] == '/' ? "/" : ".");
            else
                *slash = '\0';
        }
        out_str(&o, d);
        out_ch(&o, zero ? '\0' : '\n');
        free(d);
    }
    strv_release(&g.operands);
    return prog_out_done(p, &o, argv[0], 0);
}

static int prog_whoami(struct proc *p, int argc, char **argv)
{
    struct getopt g;
    struct out o;
    int id;

    getopt_init(&g, p, argv[0], NULL, 0, argc, argv);
    id = getopt_next(&g);
    if (id >= GOPT_HELP) {
        strv_release(&g.operands);
        return prog_info(p, "whoami", id == GOPT_VERSION);
    }
    if (id < 0 || g.operands.n) {
        if (id >= 0) {
            char *q = quote_locale(g.operands.v[0], p->utf8);

            prog_err(p, NULL, argv[0], "extra operand %s", q);
            free(q);
        }
        strv_release(&g.operands);
        try_help(p, argv[0]);
        return 1;
    }
    out_init(&o, p->r, p->out);
    out_str(&o, "root\n");
    return prog_out_done(p, &o, argv[0], 0);
}

static int prog_true(struct proc *p, int argc, char **argv)
{
    int st;

    return prog_info_only(p, "true", argc, argv, &st) ? st : 0;
}

static int prog_false(struct proc *p, int argc, char **argv)
{
    int st;

    /* false --version prints and still fails */
    prog_info_only(p, "false", argc, argv, &st);
    return 1;
}

/* ---------------------------------------------------------------- test and [ */

enum tdialect { TD_DASH, TD_BASH, TD_CORE };

struct tst {
    enum tdialect d;
    char **argv;
    int argc, i;
    bool failed;
    struct run *r;
    const char *cwd;
    /* messages */
    struct sh *sh;
    struct sink *err;
    struct proc *p;
    const char *name;       /* for messages */
    bool bracket;           /* invoked as "[": wants a closing "]" */
};

static void tst_err(struct tst *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tst_err(struct tst *t, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    int n;

    if (t->failed)
        return;
    t->failed = true;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_grow(&b, (size_t)(n > 0 ? n : 0));
    va_start(ap, fmt);
    vsnprintf(b.data, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    if (t->d == TD_CORE)
        prog_err(t->p, NULL, t->name, "%s", b.data ? b.data : "");
    else
        sh_err(t->sh, t->err, "%s: %s", t->name, b.data ? b.data : "");
    buf_release(&b);
}

static bool tst_int(struct tst *t, const char *s, intmax_t *v)
{
    const char *p = s;
    char *end;

    while (isspace((unsigned char)*p))
        p++;
    errno = 0;
    *v = strtoimax(p, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == p || *end || errno == ERANGE ||
        (*p != '-' && *p != '+' && !isdigit((unsigned char)*p))) {
        if (t->d == TD_DASH) {
            tst_err(t, "Illegal number: %s", s);
        } else if (t->d == TD_BASH) {
            tst_err(t, "%s: integer expression expected", s);
        } else {
            char *q = quote_locale(s, t->p->utf8);

            tst_err(t, "invalid integer %s", q);
            free(q);
        }
        return false;
    }
    return true;
}

static bool tst_unary_op(const char *s)
{
    return s[0] == '-' && s[1] && !s[2] && strchr("bcdefghknprstuwxzLOGSN", s[1]);
}

static bool tst_binary_op(const char *s)
{
    static const char *const ops[] = { "=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-le",
                                       "-gt", "-ge", "-nt", "-ot", "-ef" };
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(s, ops[i]) == 0)
            return true;
    return false;
}

static bool tst_unary(struct tst *t, const char *op, const char *arg)
{
    struct buf content = BUF_INIT;
    enum ftype ft;
    bool res = false;

    switch (op[1]) {
    case 'n': return *arg != '\0';
    case 'z': return *arg == '\0';
    case 't': return false;
    }
    if (!*arg)
        return false;
    ft = box_stat(t->r, t->cwd, arg, &content);
    switch (op[1]) {
    case 'e': case 'r': case 'w': case 'O': case 'G':
        res = ft != F_NONE;
        break;
    case 'f':
        res = ft == F_REG;
        break;
    case 'd':
        res = ft == F_DIR;
        break;
    case 's':
        res = ft == F_DIR || (ft == F_REG && content.len > 0);
        break;
    case 'x':
        res = ft == F_DIR || (ft == F_REG && content.len >= 2 && content.data[0] == '#' &&
                              content.data[1] == '!') || prog_by_path(t->cwd, arg) != NULL;
        break;
    case 'c':
        res = ft == F_ZERO || ft == F_URANDOM || ft == F_NULL;
        break;
    default:
        res = false;
        break;
    }
    buf_release(&content);
    return res;
}

static bool tst_binary(struct tst *t, const char *a, const char *op, const char *b)
{
    intmax_t x, y;

    if (strcmp(op, "=") == 0 || strcmp(op, "==") == 0)
        return strcmp(a, b) == 0;
    if (strcmp(op, "!=") == 0)
        return strcmp(a, b) != 0;
    if (strcmp(op, "<") == 0)
        return strcmp(a, b) < 0;
    if (strcmp(op, ">") == 0)
        return strcmp(a, b) > 0;
    if (strcmp(op, "-nt") == 0 || strcmp(op, "-ot") == 0)
        return false;
    if (strcmp(op, "-ef") == 0) {
        char *pa = path_resolve(t->cwd, a), *pb = path_resolve(t->cwd, b);
        bool same = strcmp(pa, pb) == 0 && box_stat(t->r, "/", pa, NULL) != F_NONE;

        free(pa);
        free(pb);
        return same;
    }
    if (!tst_int(t, a, &x) || !tst_int(t, b, &y))
        return false;
    if (strcmp(op, "-eq") == 0) return x == y;
    if (strcmp(op, "-ne") == 0) return x != y;
    if (strcmp(op, "-lt") == 0) return x < y;
    if (strcmp(op, "-le") == 0) return x <= y;
    if (strcmp(op, "-gt") == 0) return x > y;
    return x >= y;
}

static bool tst_oexpr(struct tst *t);
static void tst_beyond(struct tst *t);

static const char *tst_peek(struct tst *t, int k)
{
    return t->i + k < t->argc ? t->argv[t->i + k] : NULL;
}

static bool tst_primary(struct tst *t)
{
    const char *a = tst_peek(t, 0), *b, *c;

    if (t->failed)
        return false;
    if (!a) {
        if (t->d == TD_CORE)
            tst_beyond(t);
        else
            tst_err(t, "argument expected");
        return false;
    }
    b = tst_peek(t, 1);
    c = tst_peek(t, 2);
    if (strcmp(a, "(") == 0 && !(b && tst_binary_op(b) && c)) {
        bool v;

        t->i++;
        v = tst_oexpr(t);
        if (!tst_peek(t, 0) || strcmp(tst_peek(t, 0), ")") != 0) {
            if (t->d == TD_DASH)
                tst_err(t, "closing paren expected");
            else if (t->d == TD_BASH)
                tst_err(t, "`)' expected");
            else
                tst_err(t, "')' expected");
            return false;
        }
        t->i++;
        return v;
    }
    if (b && tst_binary_op(b) && c) {
        t->i += 3;
        return tst_binary(t, a, b, c);
    }
    if (tst_unary_op(a)) {
        if (!b) {
            /* a lone operator is a string */
            t->i++;
            return true;
        }
        t->i += 2;
        return tst_unary(t, a, b);
    }
    t->i++;
    return *a != '\0';
}

static bool tst_nexpr(struct tst *t)
{
    const char *a = tst_peek(t, 0);

    if (a && strcmp(a, "!") == 0 && tst_peek(t, 1)) {
        t->i++;
        return !tst_nexpr(t);
    }
    return tst_primary(t);
}

static bool tst_aexpr(struct tst *t)
{
    bool v = tst_nexpr(t);

    while (!t->failed && tst_peek(t, 0) && strcmp(tst_peek(t, 0), "-a") == 0) {
        bool w;

        t->i++;
        w = tst_nexpr(t);
        v = v && w;
    }
    return v;
}

static bool tst_oexpr(struct tst *t)
{
    bool v = tst_aexpr(t);

    while (!t->failed && tst_peek(t, 0) && strcmp(tst_peek(t, 0), "-o") == 0) {
        bool w;

        t->i++;
        w = tst_aexpr(t);
        v = v || w;
    }
    return v;
}

static int tst_count(struct tst *t, int at, int n);

/* dash's test: its own recursive parser, operators told from operands by lookahead. */
enum dtok { DT_EOI, DT_OPERAND, DT_UNOP, DT_BINOP, DT_NOT, DT_AND, DT_OR, DT_LP, DT_RP };

static enum dtok dt_kind(const char *s)
{
    if (tst_unary_op(s) && strchr("rwxefdcbpugkstznhOGLS", s[1]))
        return DT_UNOP;
    if (tst_binary_op(s) && strcmp(s, "==") != 0)
        return DT_BINOP;
    if (strcmp(s, "!") == 0)
        return DT_NOT;
    if (strcmp(s, "-a") == 0)
        return DT_AND;
    if (strcmp(s, "-o") == 0)
        return DT_OR;
    if (strcmp(s, "(") == 0)
        return DT_LP;
    if (strcmp(s, ")") == 0)
        return DT_RP;
    return DT_OPERAND;
}

static enum dtok dt_lex(struct tst *t, int at)
{
    enum dtok k;

    if (at >= t->argc)
        return DT_EOI;
    k = dt_kind(t->argv[at]);
    if (k == DT_UNOP) {
        /* a unary operator followed by a binary one is an operand */
        if (at + 1 >= t->argc)
            return DT_OPERAND;
        if (at + 2 < t->argc && dt_kind(t->argv[at + 1]) == DT_BINOP)
            return DT_OPERAND;
    }
    if (k == DT_LP && at + 1 >= t->argc)
        return DT_OPERAND;
    return k;
}

static bool dt_oexpr(struct tst *t, enum dtok n);

static bool dt_primary(struct tst *t, enum dtok n)
{
    bool res;

    if (t->failed || n == DT_EOI)
        return false;
    if (n == DT_LP) {
        enum dtok nn = dt_lex(t, ++t->i);

        if (nn == DT_RP)
            return false;
        res = dt_oexpr(t, nn);
        if (dt_lex(t, ++t->i) != DT_RP)
            tst_err(t, "closing paren expected");
        return res;
    }
    if (n == DT_UNOP) {
        const char *op = t->argv[t->i];

        if (++t->i >= t->argc) {
            tst_err(t, "%s: argument expected", op);
            return false;
        }
        return tst_unary(t, op, t->argv[t->i]);
    }
    if (dt_lex(t, t->i + 1) == DT_BINOP) {
        const char *a = t->argv[t->i], *op = t->argv[t->i + 1];

        t->i += 2;
        if (t->i >= t->argc) {
            tst_err(t, "%s: argument expected", op);
            return false;
        }
        return tst_binary(t, a, op, t->argv[t->i]);
    }
    return t->argv[t->i][0] != '\0';
}

static bool dt_nexpr(struct tst *t, enum dtok n)
{
    if (n != DT_NOT)
        return dt_primary(t, n);
    n = dt_lex(t, t->i + 1);
    if (n != DT_EOI)
        t->i++;
    return !dt_nexpr(t, n);
}

static bool dt_aexpr(struct tst *t, enum dtok n)
{
    bool res = true;

    for (;;) {
        if (!dt_nexpr(t, n))
            res = false;
        if (t->failed || dt_lex(t, t->i + 1) != DT_AND)
            return res;
        t->i += 2;
        n = dt_lex(t, t->i);
    }
}

static bool dt_oexpr(struct tst *t, enum dtok n)
{
    bool res = false;

    for (;;) {
        if (dt_aexpr(t, n))
            res = true;
        if (t->failed || dt_lex(t, t->i + 1) != DT_OR)
            return res;
        t->i += 2;
        n = dt_lex(t, t->i);
    }
}

static int tst_run_dash(struct tst *t)
{
    int res = 1;
    enum dtok n;

    if (t->bracket) {
        if (t->argc == 0 || strcmp(t->argv[t->argc - 1], "]") != 0) {
            tst_err(t, "missing ]");
            return 2;
        }
        t->argc--;
    }
    for (;;) {
        if (t->argc < 1)
            return res;
        if (t->argc == 3 && dt_kind(t->argv[1]) == DT_BINOP) {
            n = DT_OPERAND;
            break;
        }
        if (t->argc == 3 || t->argc == 4) {
            if (strcmp(t->argv[0], "(") == 0 && strcmp(t->argv[t->argc - 1], ")") == 0) {
                t->argv++;
                t->argc -= 2;
            } else if (strcmp(t->argv[0], "!") == 0) {
                res = 0;
                t->argv++;
                t->argc--;
                continue;
            }
        }
        n = dt_lex(t, 0);
        break;
    }
    t->i = 0;
    if (dt_oexpr(t, n))
        res ^= 1;
    if (!t->failed && t->i < t->argc && t->i + 1 < t->argc)
        tst_err(t, "%s: unexpected operator", t->argv[t->i]);
    return t->failed ? 2 : res;
}

/* test's exit status: 0 true, 1 false, 2 error. */
static int tst_run(struct tst *t)
{
    int n = t->argc;

    if (t->d == TD_DASH)
        return tst_run_dash(t);
    if (t->bracket) {
        t->bracket = false;
        if (n == 0 || strcmp(t->argv[n - 1], "]") != 0) {
            if (t->d == TD_DASH)
                tst_err(t, "missing ]");
            else if (t->d == TD_BASH)
                tst_err(t, "missing `]'");
            else
                tst_err(t, "missing ']'");
            return 2;
        }
        t->argc = --n;
    }
    t->i = 0;
    return tst_count(t, 0, n);
}

/* coreutils: an operator with nothing after it */
static void tst_beyond(struct tst *t)
{
    char *q = quote_locale(t->argv[t->argc - 1], t->p->utf8);

    tst_err(t, "missing argument after %s", q);
    free(q);
}

static void tst_unop_expected(struct tst *t, const char *op)
{
    if (t->d == TD_BASH) {
        tst_err(t, "%s: unary operator expected", op);
    } else {
        char *q = quote_locale(op, t->p->utf8);

        tst_err(t, "%s: unary operator expected", q);
        free(q);
    }
}

static int tst_two(struct tst *t, int at)
{
    bool v;

    if (strcmp(t->argv[at], "!") == 0)
        return *t->argv[at + 1] ? 1 : 0;
    if (tst_unary_op(t->argv[at])) {
        v = tst_unary(t, t->argv[at], t->argv[at + 1]);
        return t->failed ? 2 : !v;
    }
    if (t->d == TD_CORE && !(t->argv[at][0] == '-' && t->argv[at][1] && !t->argv[at][2])) {
        tst_beyond(t);
        return 2;
    }
    tst_unop_expected(t, t->argv[at]);
    return 2;
}

static int tst_three(struct tst *t, int at)
{
    const char *a = t->argv[at], *b = t->argv[at + 1], *c = t->argv[at + 2];
    bool v;

    if (tst_binary_op(b)) {
        v = tst_binary(t, a, b, c);
        return t->failed ? 2 : !v;
    }
    if (strcmp(a, "!") == 0) {
        int st = tst_two(t, at + 1);

        return st == 2 ? 2 : !st;
    }
    if (strcmp(a, "(") == 0 && strcmp(c, ")") == 0)
        return *b ? 0 : 1;
    if (strcmp(b, "-a") == 0)
        return *a && *c ? 0 : 1;
    if (strcmp(b, "-o") == 0)
        return *a || *c ? 0 : 1;
    if (t->d == TD_BASH) {
        tst_err(t, "%s: binary operator expected", b);
    } else {
        char *q = quote_locale(b, t->p->utf8);

        tst_err(t, "%s: binary operator expected", q);
        free(q);
    }
    return 2;
}

/* bash's and coreutils' test: POSIX's rules by argument count, an expression beyond. */
static int tst_count(struct tst *t, int at, int n)
{
    bool v;

    switch (n) {
    case 0:
        return 1;
    case 1:
        return *t->argv[at] ? 0 : 1;
    case 2:
        return tst_two(t, at);
    case 3:
        return tst_three(t, at);
    case 4:
        if (strcmp(t->argv[at], "!") == 0) {
            int st = tst_three(t, at + 1);

            return st == 2 ? 2 : !st;
        }
        if (strcmp(t->argv[at], "(") == 0 && strcmp(t->argv[at + 3], ")") == 0)
            return tst_two(t, at + 1);
        break;
    }
    t->i = at;
    v = tst_oexpr(t);
    if (!t->failed && t->i < t->argc) {
        if (t->d == TD_BASH) {
            tst_err(t, "too many arguments");
        } else {
            char *q = quote_locale(t->argv[t->i], t->p->utf8);

            tst_err(t, "extra argument %s", q);
            free(q);
        }
    }
    return t->failed ? 2 : !v;
}

static int prog_test(struct proc *p, int argc, char **argv)
{
    struct tst t;
    const char *base = strrchr(argv[0], '/');

    memset(&t, 0, sizeof(t));
    t.d = TD_CORE;
    t.argv = argv + 1;
    t.argc = argc - 1;
    t.r = p->r;
    t.cwd = p->cwd;
    t.p = p;
    t.name = argv[0];
    t.bracket = strcmp(base ? base + 1 : argv[0], "[") == 0;
    if (t.bracket) {
        int st;

        if (prog_info_only(p, "[", argc, argv, &st))
            return st;
    }
    return tst_run(&t);
}

/* ---------------------------------------------------------------- shell builtins */

typedef int builtin_fn(struct sh *sh, int argc, char **argv, struct fds *fds);

#define BI_SPECIAL 1u       /* POSIX special builtin (dash keeps prefix assignments) */
#define BI_READS 2u         /* reads stdin or runs commands: in a pipe it gets the data */
#define BI_BASH 4u          /* bash only */

struct builtin {
    const char *name;
    builtin_fn *fn;
    unsigned flags;
};

static const struct builtin *builtin_find(struct sh *sh, const char *name);
static int run_script(struct sh *sh, const char *text, size_t len, int kind, struct fds *fds);
static int run_argv(struct sh *sh, struct strv *argv, struct strv *assigns, struct fds *fds,
                    bool tail, bool no_funcs, bool is_exec);

enum { SCR_C, SCR_FILE, SCR_EVAL, SCR_DOT, SCR_STDIN };

static int builtin_flush(struct sh *sh, struct out *o, int status)
{
    enum wr w = out_flush(o);

    out_release(o);
    if (w == WR_PIPE) {
        sh->r->unwind = UW_PIPE;
        return 141;
    }
    if (w == WR_BADF) {
        if (sh->d == D_DASH)
            sh_err(sh, sh->errsink, "%s: %s: I/O error", sh->cmdname, sh->cmdname);
        else
            sh_err(sh, sh->errsink, "%s: write error: Bad file descriptor", sh->cmdname);
        return 1;
    }
    return status;
}

/* Options of a builtin, dash or bash style; returns the first operand, or -1 on error. */
static int builtin_opts(struct sh *sh, int argc, char **argv, struct fds *fds, const char *allowed,
                        const char *usage, bool *set)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t k;

        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || !a[1])
            return i;
        for (k = 1; a[k]; k++) {
            const char *hit = strchr(allowed, a[k]);

            if (!hit) {
                if (sh->d == D_DASH) {
                    sh_err(sh, fds->out[2], "%s: Illegal option -%c", argv[0], a[k]);
                } else {
                    sh_err(sh, fds->out[2], "%s: -%c: invalid option", argv[0], a[k]);
                    if (usage)
                        sink_printf(sh->r, fds->out[2], "%s: usage: %s\n", argv[0], usage);
                }
                return -1;
            }
            if (set)
                set[hit - allowed] = true;
        }
    }
    return i;
}

static int bi_true(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    (void)sh;
    (void)argc;
    (void)argv;
    (void)fds;
    return 0;
}

static int bi_false(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    (void)sh;
    (void)argc;
    (void)argv;
    (void)fds;
    return 1;
}

static int bi_echo(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct out o;

    out_init(&o, sh->r, fds->out[1]);
    echo_run(sh->d == D_DASH ? PF_DASH : PF_BASH, &o, argc, argv, sh->utf8);
    return builtin_flush(sh, &o, 0);
}

static int bi_printf(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct pf pf;
    struct out o;
    struct buf var = BUF_INIT;
    struct sink vsink;
    const char *vname = NULL;
    int i = 1, st;

    if (sh->d == D_BASH && argc > 1 && strcmp(argv[1], "-v") == 0) {
        if (argc == 2) {
            sh_err(sh, fds->out[2], "printf: -v: option requires an argument");
            sink_printf(sh->r, fds->out[2], "printf: usage: printf [-v var] format [arguments]\n");
            return 2;
        }
        vname = argv[2];
        i = 3;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        if (sh->d == D_DASH)
            sh_err(sh, fds->out[2], "printf: usage: printf format [arg ...]");
        else
            sink_printf(sh->r, fds->out[2], "printf: usage: printf [-v var] format [arguments]\n");
        return 2;
    }
    memset(&vsink, 0, sizeof(vsink));
    vsink.kind = SK_CAPTURE;
    vsink.cap = &var;
    vsink.limit = CAPTURE_MAX;
    out_init(&o, sh->r, vname ? &vsink : fds->out[1]);
    memset(&pf, 0, sizeof(pf));
    pf.d = sh->d == D_DASH ? PF_DASH : PF_BASH;
    pf.o = &o;
    pf.argv = argv + i + 1;
    pf.argc = argc - i - 1;
    pf.utf8 = sh->utf8;
    pf.sh = sh;
    pf.err = fds->out[2];
    st = pf_run(&pf, argv[i]);
    st = builtin_flush(sh, &o, st);
    if (vname && !aborting(sh->r))
        var_set(&sh->vars, vname, buf_cstr(&var), false);
    buf_release(&var);
    return st;
}

static int bi_pwd(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct out o;

    if (builtin_opts(sh, argc, argv, fds, "LP", "pwd [-LP]", NULL) < 0)
        return 2;
    out_init(&o, sh->r, fds->out[1]);
    out_str(&o, sh->cwd);
    out_ch(&o, '\n');
    return builtin_flush(sh, &o, 0);
}

static int bi_cd(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int i = builtin_opts(sh, argc, argv, fds, "LP", "cd [-L|[-P [-e]] [-@]] [dir]", NULL);
    const char *target;
    char *dest;
    bool print = false;
    enum ftype t;

    if (i < 0)
        return 2;
    if (sh->d == D_BASH && argc - i > 1) {
        sh_err(sh, fds->out[2], "cd: too many arguments");
        return 1;
    }
    if (i >= argc) {
        target = var_get(&sh->vars, "HOME");
        if (!target) {
            if (sh->d == D_DASH)
                return 0;
            sh_err(sh, fds->out[2], "cd: HOME not set");
            return 1;
        }
    } else if (strcmp(argv[i], "-") == 0) {
        target = var_get(&sh->vars, "OLDPWD");
        if (!target) {
            sh_err(sh, fds->out[2], "cd: OLDPWD not set");
            return sh->d == D_DASH ? 2 : 1;
        }
        print = true;
    } else {
        target = argv[i];
    }
    if (!*target)
        return 0;
    dest = path_logical(sh->cwd, target);
    t = box_stat(sh->r, "/", dest, NULL);
    if (t != F_DIR) {
        if (sh->d == D_DASH)
            sh_err(sh, fds->out[2], "cd: can't cd to %s", target);
        else
            sh_err(sh, fds->out[2], "cd: %s: %s", target,
                   t == F_NONE ? "No such file or directory" : "Not a directory");
        free(dest);
        return sh->d == D_DASH ? 2 : 1;
    }
    var_set(&sh->vars, "OLDPWD", sh->cwd, true);
    var_set(&sh->vars, "PWD", dest, true);
    free(sh->cwd);
    sh->cwd = dest;
    if (print) {
        struct out o;

        out_init(&o, sh->r, fds->out[1]);
        out_str(&o, dest);
        out_ch(&o, '\n');
        return builtin_flush(sh, &o, 0);
    }
    return 0;
}

/* A special builtin's error ends a dash shell (POSIX 2.8.1). */
static int special_fail(struct sh *sh, int status)
{
    if (sh->d == D_DASH) {
        sh->status = status;
        sh->r->unwind = UW_EXIT;
    }
    return status;
}

static int bi_exit(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int st = sh->status;

    if (argc > 1) {
        const char *a = argv[1];
        char *end;
        intmax_t v;

        if (sh->d == D_DASH) {
            if (!is_digits(a[0] == '+' ? a + 1 : a)) {
                sh_err(sh, fds->out[2], "exit: Illegal number: %s", a);
                return special_fail(sh, 2);
            }
            v = strtoimax(a, NULL, 10);
        } else {
            errno = 0;
            v = strtoimax(a, &end, 10);
            while (isspace((unsigned char)*end))
                end++;
            if (!*a || *end || errno) {
                sh_err(sh, fds->out[2], "exit: %s: numeric argument required", a);
                sh->status = 2;
                sh->r->unwind = UW_EXIT;
                return 2;
            }
            if (argc > 2) {
                sh_err(sh, fds->out[2], "exit: too many arguments");
                sh->status = 1;
                sh->r->unwind = UW_EXIT;
                return 1;
            }
        }
        st = (int)(v & 255);
    }
    sh->status = st;
    sh->r->unwind = UW_EXIT;
    return st;
}

/* NAME='value' with single quotes, as dash lists variables. */
static void dash_quote(struct buf *b, const char *s)
{
    buf_addch(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_addstr(b, "'\\''");
        else
            buf_addch(b, *s);
    }
    buf_addch(b, '\'');
}

static int var_name_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct var *const *)a)->name, (*(const struct var *const *)b)->name);
}

/* List variables sorted by name: "export " prefixed (export -p), or all (set). */
static int list_vars(struct sh *sh, struct fds *fds, bool exported_only)
{
    struct var **list = xmalloc((sh->vars.n ? sh->vars.n : 1) * sizeof(*list));
    struct out o;
    struct buf line = BUF_INIT;
    size_t i, k = 0;

    for (i = 0; i < sh->vars.n; i++) {
        struct var *v = &sh->vars.v[i];

        if (exported_only ? v->exported : v->value != NULL)
            list[k++] = v;
    }
    qsort(list, k, sizeof(*list), var_name_cmp);
    out_init(&o, sh->r, fds->out[1]);
    for (i = 0; i < k; i++) {
        buf_reset(&line);
        if (sh->d == D_DASH) {
            if (exported_only)
                buf_addstr(&line, "export ");
            buf_addstr(&line, list[i]->name);
            if (list[i]->value) {
                buf_addch(&line, '=');
                dash_quote(&line, list[i]->value);
            }
        } else {
            const char *v;

            if (exported_only)
                buf_addstr(&line, "declare -x ");
            buf_addstr(&line, list[i]->name);
            if (list[i]->value) {
                buf_addstr(&line, exported_only ? "=\"" : "=");
                for (v = list[i]->value; *v; v++) {
                    if (exported_only && strchr("\"\\$`", *v))
                        buf_addch(&line, '\\');
                    buf_addch(&line, *v);
                }
                if (exported_only)
                    buf_addch(&line, '"');
            }
        }
        buf_addch(&line, '\n');
        out_add(&o, line.data, line.len);
    }
    buf_release(&line);
    free(list);
    return builtin_flush(sh, &o, 0);
}

static int bi_export(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    bool readonly = strcmp(argv[0], "readonly") == 0;
    int i = 1, st = 0;

    if (i < argc && strcmp(argv[i], "-p") == 0)
        i++;
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc)
        return readonly ? 0 : list_vars(sh, fds, true);
    for (; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        char *name = xstrndup(a, n);

        if (!is_name(name, n)) {
            if (sh->d == D_DASH) {
                sh_err(sh, fds->out[2], "%s: %s: bad variable name", argv[0], name);
                free(name);
                return special_fail(sh, 2);
            }
            sh_err(sh, fds->out[2], "%s: `%s': not a valid identifier", argv[0], a);
            free(name);
            st = 1;
            continue;
        }
        if (eq && !sh_assign(sh, fds->out[2], argv[0], name, eq + 1, !readonly)) {
            free(name);
            return sh->d == D_DASH ? special_fail(sh, 2) : 1;
        }
        {
            struct var *v = var_find(&sh->vars, name);

            if (!v)
                v = var_create(&sh->vars, name);
            if (readonly)
                v->readonly = true;
            else
                v->exported = true;
        }
        free(name);
    }
    return st;
}

static int bi_unset(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    bool set[2] = { false, false };
    int i = builtin_opts(sh, argc, argv, fds, "fv", "unset [-f] [-v] [-n] [name ...]", set);
    int st = 0;

    if (i < 0)
        return sh->d == D_DASH ? special_fail(sh, 2) : 2;
    for (; i < argc; i++) {
        if (set[0]) {
            struct func **fp;

            for (fp = &sh->funcs; *fp; fp = &(*fp)->next) {
                if (strcmp((*fp)->name, argv[i]) == 0) {
                    struct func *f = *fp;

                    *fp = f->next;
                    func_unref(f);
                    break;
                }
            }
            continue;
        }
        if (!is_name(argv[i], strlen(argv[i]))) {
            if (sh->d == D_DASH) {
                sh_err(sh, fds->out[2], "unset: %s: bad variable name", argv[i]);
                return special_fail(sh, 2);
            }
            sh_err(sh, fds->out[2], "unset: `%s': not a valid identifier", argv[i]);
            st = 1;
            continue;
        }
        {
            struct var *v = var_find(&sh->vars, argv[i]);

            if (v && v->readonly) {
                if (sh->d == D_DASH) {
                    sh_err(sh, fds->out[2], "unset: %s: is read only", argv[i]);
                    return special_fail(sh, 2);
                }
                sh_err(sh, fds->out[2], "unset: %s: cannot unset: readonly variable", argv[i]);
                st = 1;
                continue;
            }
        }
        var_unset(&sh->vars, argv[i]);
    }
    return st;
}

static bool set_option(struct sh *sh, const char *name, bool on)
{
    if (strcmp(name, "errexit") == 0)
        sh->opt_e = on;
    else if (strcmp(name, "nounset") == 0)
        sh->opt_u = on;
    else if (strcmp(name, "noglob") == 0)
        sh->opt_f = on;
    else if (strcmp(name, "xtrace") == 0)
        sh->opt_x = on;
    else if (strcmp(name, "pipefail") == 0 && sh->d == D_BASH)
        ;
    else
        return false;
    return true;
}

/* set -o: the option table as dash or bash prints it. */
static int list_options(struct sh *sh, struct fds *fds, bool on)
{
    static const char *const dash_opts[] = {
        "errexit", "noglob", "ignoreeof", "interactive", "monitor", "noexec", "stdin", "xtrace",
        "verbose", "vi", "emacs", "noclobber", "allexport", "notify", "nounset", "privileged",
        "nolog", "debug",
    };
    static const char *const bash_opts[] = {
        "allexport", "braceexpand", "emacs", "errexit", "errtrace", "functrace", "hashall",
        "histexpand", "history", "ignoreeof", "interactive-comments", "keyword", "monitor",
        "noclobber", "noexec", "noglob", "nolog", "notify", "nounset", "onecmd", "physical",
        "pipefail", "posix", "privileged", "verbose", "vi", "xtrace",
    };
    struct out o;
    size_t i, n = sh->d == D_DASH ? sizeof(dash_opts) / sizeof(dash_opts[0])
                                  : sizeof(bash_opts) / sizeof(bash_opts[0]);
    struct buf line = BUF_INIT;

    out_init(&o, sh->r, fds->out[1]);
    if (sh->d == D_DASH && on)
        out_str(&o, "Current option settings\n");
    for (i = 0; i < n; i++) {
        const char *name = sh->d == D_DASH ? dash_opts[i] : bash_opts[i];
        bool v = (strcmp(name, "errexit") == 0 && sh->opt_e) ||
                 (strcmp(name, "noglob") == 0 && sh->opt_f) ||
                 (strcmp(name, "nounset") == 0 && sh->opt_u) ||
                 (strcmp(name, "xtrace") == 0 && sh->opt_x) ||
                 (sh->d == D_BASH && (strcmp(name, "braceexpand") == 0 ||
                                      strcmp(name, "hashall") == 0 ||
                                      strcmp(name, "interactive-comments") == 0));

        buf_reset(&line);
        if (!on)
            buf_addf(&line, "set %co %s\n", v ? '-' : '+', name);
        else if (sh->d == D_DASH)
            buf_addf(&line, "%-16s%s\n", name, v ? "on" : "off");
        else
            buf_addf(&line, "%-15s\t%s\n", name, v ? "on" : "off");
        out_add(&o, line.data, line.len);
    }
    buf_release(&line);
    return builtin_flush(sh, &o, 0);
}

static int bi_set(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int i;
    bool params = false;

    if (argc == 1)
        return list_vars(sh, fds, false);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool on = a[0] == '-';
        size_t k;

        if (strcmp(a, "--") == 0) {
            i++;
            params = true;
            break;
        }
        if ((a[0] != '-' && a[0] != '+') || !a[1]) {
            if (strcmp(a, "-") == 0)
                i++;
            params = i < argc || strcmp(a, "-") != 0;
            break;
        }
        for (k = 1; a[k]; k++) {
            switch (a[k]) {
            case 'e': sh->opt_e = on; break;
            case 'u': sh->opt_u = on; break;
            case 'f': sh->opt_f = on; break;
            case 'x': sh->opt_x = on; break;
            case 'v': case 'a': case 'b': case 'C': case 'h': case 'm': case 'n':
                break;
            case 'o':
                if (i + 1 >= argc)
                    return list_options(sh, fds, on);
                if (!set_option(sh, argv[++i], on)) {
                    if (sh->d == D_DASH) {
                        sh_err(sh, fds->out[2], "set: Illegal option -o %s", argv[i]);
                        return special_fail(sh, 2);
                    }
                    sh_err(sh, fds->out[2], "set: %s: invalid option name", argv[i]);
                    return 1;
                }
                break;
            default:
                if (sh->d == D_DASH) {
                    sh_err(sh, fds->out[2], "set: Illegal option %c%c", a[0], a[k]);
                    return special_fail(sh, 2);
                }
                sh_err(sh, fds->out[2], "set: %c%c: invalid option", a[0], a[k]);
                sink_printf(sh->r, fds->out[2], "set: usage: set [-abefhkmnptuvxBCEHPT] [-o option-name] [--] [-] [arg ...]\n");
                return 2;
            }
        }
    }
    if (params) {
        strv_release(&sh->params);
        strv_copy(&sh->params, argv + i, (size_t)(argc - i));
    }
    return 0;
}

static int bi_shift(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    size_t n = 1;

    if (argc > 1) {
        if (!is_digits(argv[1])) {
            if (sh->d == D_DASH) {
                sh_err(sh, fds->out[2], "shift: Illegal number: %s", argv[1]);
                return special_fail(sh, 2);
            }
            sh_err(sh, fds->out[2], "shift: %s: numeric argument required", argv[1]);
            return 1;
        }
        n = strtoul(argv[1], NULL, 10);
    }
    if (n > sh->params.n) {
        if (sh->d == D_DASH) {
            sh_err(sh, fds->out[2], "shift: can't shift that many");
            return special_fail(sh, 2);
        }
        return 1;
    }
    if (n) {
        size_t i;

        for (i = 0; i < n; i++)
            free(sh->params.v[i]);
        memmove(sh->params.v, sh->params.v + n, (sh->params.n - n + 1) * sizeof(char *));
        sh->params.n -= n;
    }
    return 0;
}

static int bi_eval(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct buf text = BUF_INIT;
    int i, st;

    for (i = 1; i < argc; i++) {
        if (i > 1)
            buf_addch(&text, ' ');
        buf_addstr(&text, argv[i]);
    }
    if (text.len > SCRIPT_MAX) {
        fatal(sh->r, "eval text over %u bytes", SCRIPT_MAX);
        buf_release(&text);
        return 2;
    }
    sh->status = 0;
    st = text.len ? run_script(sh, text.data, text.len, SCR_EVAL, fds) : 0;
    buf_release(&text);
    return st;
}

static int bi_exec(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct strv args = STRV_INIT, none = STRV_INIT;
    int st;

    if (argc < 2) {
        /* exec with only redirections: they stay for the rest of the command list */
        struct fds *outer = sh->outer_fds;
        struct rstore *rs = sh->cur_rs;
        int i;

        if (!outer || !rs || fds != &rs->fds)
            return 0;
        for (i = 0; i < 10; i++)
            outer->out[i] = rs->fds.out[i] == &rs->null ? &sh->nullsink : rs->fds.out[i];
        if (rs->fds.in == &rs->src) {
            buf_reset(&sh->exec_data);
            buf_add(&sh->exec_data, rs->data.data ? rs->data.data : "", rs->data.len);
            sh->exec_src = rs->src;
            sh->exec_src.data = buf_cstr(&sh->exec_data);
            outer->in = &sh->exec_src;
        } else {
            outer->in = rs->fds.in;
        }
        return 0;
    }
    strv_copy(&args, argv + 1, (size_t)(argc - 1));
    st = run_argv(sh, &args, &none, fds, true, true, true);
    strv_release(&args);
    if (!aborting(sh->r)) {
        sh->status = st;
        sh->r->unwind = UW_EXIT;
    }
    return st;
}

static int bi_return(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int st = sh->status;

    if (argc > 1) {
        if (!is_digits(argv[1]) && !(sh->d == D_BASH && argv[1][0] == '-' && is_digits(argv[1] + 1))) {
            if (sh->d == D_DASH) {
                sh_err(sh, fds->out[2], "return: Illegal number: %s", argv[1]);
                return special_fail(sh, 2);
            }
            sh_err(sh, fds->out[2], "return: %s: numeric argument required", argv[1]);
            st = 2;
        } else {
            st = (int)(strtol(argv[1], NULL, 10) & 255);
        }
    }
    if (!sh->funcdepth && !sh->dotdepth && sh->d == D_BASH) {
        sh_err(sh, fds->out[2], "return: can only `return' from a function or sourced script");
        return 1;
    }
    sh->status = st;
    sh->r->unwind = sh->funcdepth || sh->dotdepth ? UW_RETURN : UW_EXIT;
    return st;
}

static int bi_break(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    long n = 1;
    bool brk = strcmp(argv[0], "break") == 0;

    if (sh->loops == 0 && sh->d == D_BASH) {
        sh_err(sh, fds->out[2], "%s: only meaningful in a `for', `while', or `until' loop", argv[0]);
        return 0;
    }
    if (argc > 1) {
        if (!is_digits(argv[1]) || (n = strtol(argv[1], NULL, 10)) <= 0) {
            if (sh->d == D_DASH) {
                sh_err(sh, fds->out[2], "%s: Illegal number: %s", argv[0], argv[1]);
                return special_fail(sh, 2);
            }
            if (is_digits(argv[1]))
                sh_err(sh, fds->out[2], "%s: %s: loop count out of range", argv[0], argv[1]);
            else
                sh_err(sh, fds->out[2], "%s: %s: numeric argument required", argv[0], argv[1]);
            return 1;
        }
    }
    if (sh->loops == 0) {
        if (sh->d == D_BASH)
            sh_err(sh, fds->out[2], "%s: only meaningful in a `for', `while', or `until' loop",
                   argv[0]);
        return 0;
    }
    if (n > sh->loops)
        n = sh->loops;
    sh->r->loops = n;
    sh->r->unwind = brk ? UW_BREAK : UW_CONTINUE;
    sh->status = 0;
    return 0;
}

static int bi_test(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct tst t;

    memset(&t, 0, sizeof(t));
    t.d = sh->d == D_DASH ? TD_DASH : TD_BASH;
    t.argv = argv + 1;
    t.argc = argc - 1;
    t.r = sh->r;
    t.cwd = sh->cwd;
    t.sh = sh;
    t.err = fds->out[2];
    t.name = argv[0];
    t.bracket = strcmp(argv[0], "[") == 0;
    return tst_run(&t);
}

/* read: one line of stdin, split on IFS into the names. */
static int bi_read(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    bool raw = false;
    int i;
    struct buf line = BUF_INIT, mask = BUF_INIT;
    bool eof = false;
    const char *ifs = var_get(&sh->vars, "IFS");
    size_t pos = 0, k;
    int st;

    if (!ifs)
        ifs = " \t\n";
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "-r") == 0) {
            raw = true;
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            i++;
        } else {
            if (sh->d == D_DASH)
                sh_err(sh, fds->out[2], "read: Illegal option %s", argv[i]);
            else
                sh_err(sh, fds->out[2], "read: %s: invalid option", argv[i]);
            return 2;
        }
    }
    if (i >= argc && sh->d == D_DASH) {
        sh_err(sh, fds->out[2], "read: arg count");
        return 2;
    }
    for (;;) {
        char c;

        if (source_read(sh->r, fds->in, &c, 1) == 0) {
            eof = true;
            break;
        }
        if (line.len > CAPTURE_MAX) {
            fatal(sh->r, "read: a line over %u bytes", CAPTURE_MAX);
            buf_release(&line);
            buf_release(&mask);
            return 2;
        }
        if (c == '\n')
            break;
        if (c == '\\' && !raw) {
            if (source_read(sh->r, fds->in, &c, 1) == 0) {
                eof = true;
                break;
            }
            if (c == '\n')
                continue;
            buf_addch(&line, c);
            buf_addch(&mask, 1);
            continue;
        }
        if (c == '\0')
            continue;
        buf_addch(&line, c);
        buf_addch(&mask, 0);
    }
    st = eof ? 1 : 0;
    {
        struct strv names = STRV_INIT;

        if (i >= argc)
            strv_push(&names, xstrdup("REPLY"));
        else
            strv_copy(&names, argv + i, (size_t)(argc - i));
        /* leading IFS white space goes */
        while (pos < line.len && !mask.data[pos] && ifs_white((unsigned char)line.data[pos]) &&
               strchr(ifs, line.data[pos]))
            pos++;
        for (k = 0; k < names.n; k++) {
            struct buf val = BUF_INIT;

            if (i >= argc) {
                /* bash's REPLY keeps the line as read */
                buf_add(&val, line.data ? line.data : "", line.len);
            } else if (k + 1 == names.n) {
                size_t end = line.len;

                buf_add(&val, line.data ? line.data + pos : "", line.len - pos);
                /* trailing IFS white space goes */
                while (end > pos && !mask.data[end - 1] &&
                       ifs_white((unsigned char)line.data[end - 1]) && strchr(ifs, line.data[end - 1]))
                    end--;
                buf_truncate(&val, end - pos);
                pos = line.len;
            } else {
                while (pos < line.len && (mask.data[pos] || !strchr(ifs, line.data[pos])))
                    buf_addch(&val, line.data[pos++]);
                if (pos < line.len) {
                    bool white = ifs_white((unsigned char)line.data[pos]);

                    pos++;
                    while (pos < line.len && !mask.data[pos] && strchr(ifs, line.data[pos]) &&
                           ifs_white((unsigned char)line.data[pos]))
                        pos++;
                    if (white && pos < line.len && !mask.data[pos] &&
                        strchr(ifs, line.data[pos])) {
                        pos++;
                        while (pos < line.len && !mask.data[pos] &&
                               ifs_white((unsigned char)line.data[pos]) &&
                               strchr(ifs, line.data[pos]))
                            pos++;
                    }
                }
            }
            if (!is_name(names.v[k], strlen(names.v[k]))) {
                if (sh->d == D_DASH)
                    sh_err(sh, fds->out[2], "read: %s: bad variable name", names.v[k]);
                else
                    sh_err(sh, fds->out[2], "read: `%s': not a valid identifier", names.v[k]);
                buf_release(&val);
                st = sh->d == D_DASH ? 2 : 1;
                break;
            }
            if (!sh_assign(sh, fds->out[2], "read", names.v[k], buf_cstr(&val), false))
                st = sh->d == D_DASH ? 2 : 1;
            buf_release(&val);
        }
        strv_release(&names);
    }
    buf_release(&line);
    buf_release(&mask);
    return st;
}

static int bi_local(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int i;

    if (!sh->funcdepth) {
        if (sh->d == D_DASH) {
            sh_err(sh, fds->out[2], "local: not in a function");
            return 2;
        }
        sh_err(sh, fds->out[2], "local: can only be used in a function");
        return 1;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a), k;
        char *name = xstrndup(a, n);
        struct var *v = var_find(&sh->vars, name);
        bool saved = false;

        for (k = 0; k < sh->nlocals; k++)
            if (sh->locals[k].depth == sh->funcdepth && strcmp(sh->locals[k].name, name) == 0)
                saved = true;
        if (!saved) {
            struct localsave *l;

            if (sh->nlocals == sh->caplocals) {
                sh->caplocals = sh->caplocals ? sh->caplocals * 2 : 8;
                sh->locals = xrealloc(sh->locals, sh->caplocals * sizeof(*sh->locals));
            }
            l = &sh->locals[sh->nlocals++];
            l->name = xstrdup(name);
            l->value = v && v->value ? xstrdup(v->value) : NULL;
            l->exported = v && v->exported;
            l->depth = sh->funcdepth;
        }
        if (eq)
            var_set(&sh->vars, name, eq + 1, false);
        else if (sh->d == D_BASH && v)
            var_unset(&sh->vars, name);
        free(name);
    }
    return 0;
}

static void locals_restore(struct sh *sh)
{
    while (sh->nlocals && sh->locals[sh->nlocals - 1].depth >= sh->funcdepth) {
        struct localsave *l = &sh->locals[--sh->nlocals];

        if (l->value)
            var_set(&sh->vars, l->name, l->value, false);
        else
            var_unset(&sh->vars, l->name);
        if (l->value && !l->exported) {
            struct var *v = var_find(&sh->vars, l->name);

            if (v)
                v->exported = false;
        }
        free(l->name);
        free(l->value);
    }
}

static int bi_umask(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct out o;
    bool sym = argc > 1 && strcmp(argv[1], "-S") == 0;
    char text[64];

    if (argc > 1 && !sym) {
        const char *a = argv[1];
        char *end;
        unsigned long v = strtoul(a, &end, 8);

        if (!*a || *end || v > 0777) {
            if (sh->d == D_DASH)
                sh_err(sh, fds->out[2], "umask: Illegal number: %s", a);
            else
                sh_err(sh, fds->out[2], "umask: %s: octal number out of range", a);
            return sh->d == D_DASH ? 2 : 1;
        }
        sh->umask = (unsigned)v;
        return 0;
    }
    if (sym) {
        unsigned m = ~sh->umask & 0777, k;
        size_t n = 0;

        for (k = 0; k < 3; k++) {
            unsigned bits = (m >> (6 - 3 * k)) & 7;

            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%c=%s%s%s", k ? "," : "", "ugo"[k],
                                  bits & 4 ? "r" : "", bits & 2 ? "w" : "", bits & 1 ? "x" : "");
        }
        snprintf(text + n, sizeof(text) - n, "\n");
    } else {
        snprintf(text, sizeof(text), "%04o\n", sh->umask);
    }
    out_init(&o, sh->r, fds->out[1]);
    out_str(&o, text);
    return builtin_flush(sh, &o, 0);
}

static int jobs_run(struct sh *sh, int mark, int pid);

static int bi_wait(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int i, st = 0;

    (void)fds;
    if (argc < 2) {
        jobs_run(sh, 0, 0);
        return 0;
    }
    for (i = 1; i < argc; i++) {
        int pid = atoi(argv[i]);

        st = jobs_run(sh, 0, pid > 0 ? pid : -1);
    }
    return st;
}

static const char *const keywords[] = {
    "!", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then",
    "until", "while", "{", "}",
};

/* What a name is, for type and command -v/-V: 0 not found, 1 keyword, 2 function,
 * 3 builtin, 4 special builtin, 5 program (*full set). */
static int whatis(struct sh *sh, const char *name, char **full)
{
    const struct builtin *b;
    size_t i;

    *full = NULL;
    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strcmp(name, keywords[i]) == 0)
            return 1;
    if (func_find(sh, name))
        return 2;
    if ((b = builtin_find(sh, name)))
        return (b->flags & BI_SPECIAL) ? 4 : 3;
    if (strchr(name, '/')) {
        if (prog_by_path(sh->cwd, name)) {
            *full = xstrdup(name);
            return 5;
        }
        return 0;
    }
    if (path_lookup(var_get(&sh->vars, "PATH"),
                    sh->d == D_DASH ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                    : "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:.",
                    sh->cwd, name, full)) {
        if ((*full)[0] != '/') {
            char *abs = path_resolve(sh->cwd, *full);

            free(*full);
            *full = abs;
        }
        return 5;
    }
    return 0;
}

static int bi_type(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct out o;
    int i, st = 0;

    out_init(&o, sh->r, fds->out[1]);
    for (i = 1; i < argc; i++) {
        char *full;
        int w = whatis(sh, argv[i], &full);

        switch (w) {
        case 0:
            if (sh->d == D_DASH) {
                out_str(&o, argv[i]);
                out_str(&o, ": not found\n");
                st = 127;
            } else {
                out_flush(&o);
                sh_err(sh, fds->out[2], "type: %s: not found", argv[i]);
                st = 1;
            }
            break;
        case 1:
            out_str(&o, argv[i]);
            out_str(&o, " is a shell keyword\n");
            break;
        case 2:
            out_str(&o, argv[i]);
            out_str(&o, sh->d == D_DASH ? " is a shell function\n" : " is a function\n");
            break;
        case 3:
        case 4:
            out_str(&o, argv[i]);
            out_str(&o, w == 4 && sh->d == D_DASH ? " is a special shell builtin\n"
                                                  : " is a shell builtin\n");
            break;
        case 5:
            out_str(&o, argv[i]);
            out_str(&o, " is ");
            out_str(&o, full);
            out_ch(&o, '\n');
            break;
        }
        free(full);
    }
    return builtin_flush(sh, &o, st);
}

static int bi_command(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int i = 1;
    bool v = false, V = false;

    while (i < argc && argv[i][0] == '-' && argv[i][1]) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        for (a++; *a; a++) {
            if (*a == 'v')
                v = true;
            else if (*a == 'V')
                V = true;
            else if (*a != 'p') {
                if (sh->d == D_DASH)
                    sh_err(sh, fds->out[2], "command: Illegal option -%c", *a);
                else
                    sh_err(sh, fds->out[2], "command: -%c: invalid option", *a);
                return 2;
            }
        }
        i++;
    }
    if (i >= argc)
        return 0;
    if (V) {
        char *targv[2] = { "type", argv[i] };

        return bi_type(sh, 2, targv, fds);
    }
    if (v) {
        struct out o;
        int st = 0, last = sh->d == D_DASH ? i + 1 : argc;

        out_init(&o, sh->r, fds->out[1]);
        for (; i < last; i++) {
            char *full;
            int w = whatis(sh, argv[i], &full);

            if (w == 0)
                st = sh->d == D_DASH ? 127 : 1;
            else {
                out_str(&o, w == 5 ? full : argv[i]);
                out_ch(&o, '\n');
            }
            free(full);
        }
        return builtin_flush(sh, &o, st);
    }
    {
        struct strv args = STRV_INIT, none = STRV_INIT;
        int st;

        strv_copy(&args, argv + i, (size_t)(argc - i));
        st = run_argv(sh, &args, &none, fds, false, true, false);
        strv_release(&args);
        return st;
    }
}

static int bi_trap(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    int i;

    if (argc == 1) {
        if (sh->exit_trap) {
            struct out o;
            struct buf b = BUF_INIT;

            out_init(&o, sh->r, fds->out[1]);
            buf_addstr(&b, "trap -- ");
            dash_quote(&b, sh->exit_trap);
            buf_addstr(&b, " EXIT\n");
            out_add(&o, b.data, b.len);
            buf_release(&b);
            return builtin_flush(sh, &o, 0);
        }
        return 0;
    }
    i = 1;
    if (strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc)
        return 0;
    {
        const char *action = argv[i];
        bool reset = strcmp(action, "-") == 0;

        if (is_digits(action) || i + 1 >= argc) {
            /* "trap 0" or "trap EXIT": reset */
            reset = true;
        } else {
            i++;
        }
        for (; i < argc; i++) {
            if (strcmp(argv[i], "EXIT") == 0 || strcmp(argv[i], "0") == 0) {
                free(sh->exit_trap);
                sh->exit_trap = reset ? NULL : xstrdup(action);
            }
        }
    }
    return 0;
}

static int bi_dot(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    struct buf content = BUF_INIT;
    enum ftype t;
    int st;

    if (argc < 2) {
        if (sh->d == D_DASH)
            return 0;
        sh_err(sh, fds->out[2], "%s: filename argument required", argv[0]);
        sink_printf(sh->r, fds->out[2], "%s: usage: %s filename [arguments]\n", argv[0], argv[0]);
        return 2;
    }
    t = box_stat(sh->r, sh->cwd, argv[1], &content);
    if (t != F_REG && t != F_NULL) {
        if (sh->d == D_DASH) {
            sh_err(sh, fds->out[2], "%s: cannot open %s: No such file", argv[0], argv[1]);
            buf_release(&content);
            return special_fail(sh, 2);
        }
        sh_err(sh, fds->out[2], "%s: %s", argv[1],
               t == F_DIR ? "is a directory" : "No such file or directory");
        buf_release(&content);
        return 1;
    }
    if (content.len > SCRIPT_MAX) {
        fatal(sh->r, "sourced file over %u bytes", SCRIPT_MAX);
        buf_release(&content);
        return 2;
    }
    sh->dotdepth++;
    sh->status = 0;
    st = run_script(sh, buf_cstr(&content), content.len, SCR_DOT, fds);
    sh->dotdepth--;
    if (sh->r->unwind == UW_RETURN) {
        sh->r->unwind = UW_NONE;
        st = sh->status;
    }
    buf_release(&content);
    return st;
}

/* bash's let: arithmetic on each argument; true when the last is not 0. */
static int bi_let(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    intmax_t v = 0;
    int i;

    if (argc < 2) {
        sh_err(sh, fds->out[2], "let: expression expected");
        return 1;
    }
    for (i = 1; i < argc; i++)
        if (!arith_eval(sh, argv[i], fds, &v))
            return 1;
    return v == 0 ? 1 : 0;
}

/* bash's declare and typeset: -x exports, -p prints, inside a function it is local;
 * arrays (-a, -A) and attributes that change values (-i, -l, -u) are not emulated. */
static int bi_declare(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    bool x = false, print = false, func = false;
    int i, st = 0;

    for (i = 1; i < argc && (argv[i][0] == '-' || argv[i][0] == '+') && argv[i][1]; i++) {
        const char *a = argv[i] + 1;

        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        for (; *a; a++) {
            if (*a == 'x')
                x = argv[i][0] == '-';
            else if (*a == 'p')
                print = true;
            else if (*a == 'f' || *a == 'F')
                func = true;
            else if (!strchr("girltnaAuIl", *a)) {
                sh_err(sh, fds->out[2], "%s: -%c: invalid option", argv[0], *a);
                sink_printf(sh->r, fds->out[2],
                            "%s: usage: %s [-aAfFgiIlnrtux] [name[=value] ...] or %s -p [-aAfFilnrtux] [name ...]\n",
                            argv[0], argv[0], argv[0]);
                return 2;
            }
        }
    }
    if (func)
        return 0;
    if (print || i >= argc) {
        struct out o;
        struct buf line = BUF_INIT;

        out_init(&o, sh->r, fds->out[1]);
        for (; i < argc; i++) {
            struct var *v = var_find(&sh->vars, argv[i]);
            const char *c;

            if (!v) {
                out_flush(&o);
                sh_err(sh, fds->out[2], "%s: %s: not found", argv[0], argv[i]);
                st = 1;
                continue;
            }
            buf_reset(&line);
            buf_addf(&line, "declare -%s %s", v->exported ? "x" : "-", v->name);
            if (v->value) {
                buf_addstr(&line, "=\"");
                for (c = v->value; *c; c++) {
                    if (strchr("\"\\$`", *c))
                        buf_addch(&line, '\\');
                    buf_addch(&line, *c);
                }
                buf_addch(&line, '"');
            }
            buf_addch(&line, '\n');
            out_add(&o, line.data, line.len);
        }
        buf_release(&line);
        return builtin_flush(sh, &o, st);
    }
    for (; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t n = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        char *name = xstrndup(argv[i], n);
        struct var *v;

        if (!is_name(name, n)) {
            sh_err(sh, fds->out[2], "%s: `%s': not a valid identifier", argv[0], argv[i]);
            free(name);
            st = 1;
            continue;
        }
        if (sh->funcdepth) {
            char *l[2] = { "local", name };

            bi_local(sh, 2, l, fds);
        }
        v = var_find(&sh->vars, name);
        if (eq)
            var_set(&sh->vars, name, eq + 1, x);
        else if (!v)
            v = var_create(&sh->vars, name);
        v = var_find(&sh->vars, name);
        if (x)
            v->exported = true;
        free(name);
    }
    return st;
}

static int bi_shopt(struct sh *sh, int argc, char **argv, struct fds *fds)
{
    static const char *const names[] = {
        "autocd", "assoc_expand_once", "cdable_vars", "cdspell", "checkhash", "checkjobs",
        "checkwinsize", "cmdhist", "compat31", "compat32", "compat40", "compat41", "compat42",
        "compat43", "compat44", "complete_fullquote", "direxpand", "dirspell", "dotglob",
        "execfail", "expand_aliases", "extdebug", "extglob", "extquote", "failglob",
        "force_fignore", "globasciiranges", "globskipdots", "globstar", "gnu_errfmt",
        "histappend", "histreedit", "histverify", "hostcomplete", "huponexit",
        "inherit_errexit", "interactive_comments", "lastpipe", "lithist", "localvar_inherit",
        "localvar_unset", "login_shell", "mailwarn", "no_empty_cmd_completion", "nocaseglob",
        "nocasematch", "noexpand_translation", "nullglob", "patsub_replacement", "progcomp",
        "progcomp_alias", "promptvars", "restricted_shell", "shift_verbose", "sourcepath",
        "varredir_close", "xpg_echo",
    };
    int i, st = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i++)
        ;
    for (; i < argc; i++) {
        size_t k;
        bool found = false;

        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (strcmp(names[k], argv[i]) == 0)
                found = true;
        if (!found) {
            sh_err(sh, fds->out[2], "shopt: %s: invalid shell option name", argv[i]);
            st = 1;
        }
    }
    return st;
}

static const struct builtin builtins[] = {
    { ".", bi_dot, BI_SPECIAL | BI_READS },
    { ":", bi_true, BI_SPECIAL },
    { "[", bi_test, 0 },
    { "break", bi_break, BI_SPECIAL },
    { "cd", bi_cd, 0 },
    { "command", bi_command, BI_READS },
    { "continue", bi_break, BI_SPECIAL },
    { "declare", bi_declare, BI_BASH },
    { "echo", bi_echo, 0 },
    { "eval", bi_eval, BI_SPECIAL | BI_READS },
    { "exec", bi_exec, BI_SPECIAL | BI_READS },
    { "exit", bi_exit, BI_SPECIAL },
    { "export", bi_export, BI_SPECIAL },
    { "false", bi_false, 0 },
    { "let", bi_let, BI_BASH },
    { "local", bi_local, 0 },
    { "printf", bi_printf, 0 },
    { "pwd", bi_pwd, 0 },
    { "read", bi_read, BI_READS },
    { "readonly", bi_export, BI_SPECIAL },
    { "return", bi_return, BI_SPECIAL },
    { "set", bi_set, BI_SPECIAL },
    { "shift", bi_shift, BI_SPECIAL },
    { "shopt", bi_shopt, BI_BASH },
    { "source", bi_dot, BI_READS | BI_BASH },
    { "test", bi_test, 0 },
    { "trap", bi_trap, BI_SPECIAL },
    { "true", bi_true, 0 },
    { "type", bi_type, 0 },
    { "typeset", bi_declare, BI_BASH },
    { "umask", bi_umask, 0 },
    { "unset", bi_unset, BI_SPECIAL },
    { "wait", bi_wait, 0 },
};

static const struct builtin *builtin_find(struct sh *sh, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (strcmp(builtins[i].name, name) == 0)
            return (builtins[i].flags & BI_BASH) && sh->d != D_BASH ? NULL : &builtins[i];
    return NULL;
}

/* ---------------------------------------------------------------- running commands */

static bool depth_enter(struct run *r)
{
    if (aborting(r))
        return false;
    if (r->depth >= NEST_MAX) {
        fatal(r, "nesting over %d levels of subshells, $(...) or shells", NEST_MAX);
        return false;
    }
    r->depth++;
    return true;
}

static int run_program(struct proc *p, const struct prog *pg, int argc, char **argv)
{
    int st;

    if (!depth_enter(p->r))
        return 2;
    st = pg->fn(p, argc, argv);
    p->r->depth--;
    return st;
}


/* A box file run as a program: "#!" names its interpreter; without one a shell reads it. */
static enum xres run_file(struct proc *p, const char *path, const struct buf *content, int argc,
                          char **argv, int *status)
{
    struct strv nargv = STRV_INIT;
    const struct prog *pg;
    int i;

    if (content->len >= 2 && content->data[0] == '#' && content->data[1] == '!') {
        const char *s = content->data + 2, *e;
        char *interp, *arg = NULL;

        while (*s == ' ' || *s == '\t')
            s++;
        for (e = s; *e && *e != ' ' && *e != '\t' && *e != '\n'; e++)
            ;
        interp = xstrndup(s, (size_t)(e - s));
        s = e;
        while (*s == ' ' || *s == '\t')
            s++;
        for (e = s; *e && *e != '\n'; e++)
            ;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s)
            arg = xstrndup(s, (size_t)(e - s));
        pg = prog_by_path(p->cwd, interp);
        if (!pg) {
            free(interp);
            free(arg);
            return X_BADINTERP;
        }
        strv_push(&nargv, interp);
        if (arg)
            strv_push(&nargv, arg);
    } else {
        pg = prog_find(p->parent == D_BASH ? "bash" : "sh");
        strv_push(&nargv, xstrdup(p->parent == D_BASH ? "bash" : "sh"));
    }
    strv_push(&nargv, xstrdup(path));
    for (i = 1; i < argc; i++)
        strv_push(&nargv, xstrdup(argv[i]));
    *status = run_program(p, pg, (int)nargv.n, nargv.v);
    strv_release(&nargv);
    return X_RAN;
}

static enum xres exec_path(struct proc *p, const char *path, int argc, char **argv, int *status)
{
    const struct prog *pg = prog_by_path(p->cwd, path);
    struct buf content = BUF_INIT;
    enum ftype t;
    enum xres x;

    if (pg) {
        *status = run_program(p, pg, argc, argv);
        return X_RAN;
    }
    t = box_stat(p->r, p->cwd, path, &content);
    if (t == F_DIR) {
        buf_release(&content);
        return X_DIR;
    }
    if (t != F_REG) {
        buf_release(&content);
        return X_NOENT;
    }
    x = run_file(p, path, &content, argc, argv, status);
    buf_release(&content);
    return x;
}

/* The environment a program gets from the shell, in the shell's own order. */
static void build_env(struct sh *sh, struct strv *assigns, const char *full, bool tail,
                      bool is_exec, struct strv *env)
{
    struct vars tmp;
    size_t i;

    if (sh->d == D_DASH) {
        vars_copy(&tmp, &sh->vars);
        for (i = 0; i < assigns->n; i++) {
            char *eq = strchr(assigns->v[i], '=');
            char *name = xstrndup(assigns->v[i], (size_t)(eq - assigns->v[i]));

            var_set(&tmp, name, eq + 1, true);
            free(name);
        }
        vars_export(&tmp, D_DASH, env);
        vars_release(&tmp);
        return;
    }
    /* bash: what it could not import, the command's own assignments, then the shell's
     * exported variables */
    {
        struct vars t = { NULL, 0, 0, 0 };
        struct var *v;

        strv_copy(env, sh->bad_env.v, sh->bad_env.n);
        for (i = 0; i < assigns->n; i++) {
            char *eq = strchr(assigns->v[i], '=');
            char *name = xstrndup(assigns->v[i], (size_t)(eq - assigns->v[i]));

            var_set(&t, name, eq + 1, true);
            free(name);
        }
        vars_export(&t, D_BASH, env);
        vars_copy(&tmp, &sh->vars);
        for (i = 0; i < t.n; i++)
            var_unset(&tmp, t.v[i].name);
        vars_release(&t);
        if ((tail || is_exec) && (v = var_find(&tmp, "SHLVL")) && v->value) {
            long l = strtol(v->value, NULL, 10);
            char num[32];

            snprintf(num, sizeof(num), "%ld", l - 1);
            free(v->value);
            v->value = xstrdup(num);
        }
        if (!is_exec && (v = var_find(&tmp, "_")) && v->exported) {
            free(v->value);
            v->value = xstrdup(full);
        }
        vars_export(&tmp, D_BASH, env);
        if (!is_exec && !((v = var_find(&tmp, "_")) && v->exported))
            strv_push(env, xasprintf("_=%s", full));
        vars_release(&tmp);
    }
}

static bool args_too_long(struct strv *argv, struct strv *env)
{
    size_t total = 0, i;

    for (i = 0; i < argv->n; i++) {
        size_t l = strlen(argv->v[i]) + 1;

        if (l > ARG_MAX_LEN)
            return true;
        total += l + sizeof(char *);
    }
    for (i = 0; i < env->n; i++) {
        size_t l = strlen(env->v[i]) + 1;

        if (l > ARG_MAX_LEN)
            return true;
        total += l + sizeof(char *);
    }
    return total > ARGS_MAX_TOTAL;
}

static int run_external(struct sh *sh, const struct prog *pg, const char *full, struct strv *argv,
                        struct strv *assigns, struct fds *fds, bool tail, bool is_exec)
{
    struct strv env = STRV_INIT;
    struct source empty = { SRC_EMPTY, NULL, 0, 0, false };
    struct proc p;
    int st = 0;
    enum xres x = X_RAN;

    build_env(sh, assigns, full, tail, is_exec, &env);
    if (!env.v) {
        strv_push(&env, NULL);
        env.n = 0;
    }
    if (args_too_long(argv, &env)) {
        sh_err(sh, fds->out[2], "%s: Argument list too long", argv->v[0]);
        strv_release(&env);
        return 126;
    }
    p.r = sh->r;
    p.out = fds->out[1];
    p.err = fds->out[2];
    p.in = fds->in ? fds->in : &empty;
    p.env = env.v;
    p.cwd = sh->cwd;
    p.utf8 = env_utf8(env.v);
    p.parent = sh->d;
    if (pg)
        st = run_program(&p, pg, (int)argv->n, argv->v);
    else
        x = exec_path(&p, full, (int)argv->n, argv->v, &st);
    strv_release(&env);
    if (x == X_DIR) {
        sh_err(sh, fds->out[2], "%s: %s", argv->v[0],
               sh->d == D_DASH ? "Permission denied" : "Is a directory");
        return 126;
    }
    if (x == X_NOENT || x == X_BADINTERP) {
        if (sh->d == D_DASH)
            sh_err(sh, fds->out[2], "%s: not found", argv->v[0]);
        else if (x == X_BADINTERP)
            sh_err(sh, fds->out[2], "%s: bad interpreter: No such file or directory", argv->v[0]);
        else
            sh_err(sh, fds->out[2], "%s: No such file or directory", argv->v[0]);
        return 127;
    }
    return st;
}

/* Assignments in effect for one builtin or function; restore with assigns_restore. */
struct saved_var {
    char *name;
    char *value;
    bool existed, exported;
};

static struct saved_var *assigns_apply(struct sh *sh, struct strv *assigns, bool export)
{
    struct saved_var *sv = xcalloc(assigns->n + 1, sizeof(*sv));
    size_t i;

    for (i = 0; i < assigns->n; i++) {
        char *eq = strchr(assigns->v[i], '=');
        struct var *v;

        sv[i].name = xstrndup(assigns->v[i], (size_t)(eq - assigns->v[i]));
        v = var_find(&sh->vars, sv[i].name);
        sv[i].existed = v && v->value;
        sv[i].exported = v && v->exported;
        sv[i].value = v && v->value ? xstrdup(v->value) : NULL;
        var_set(&sh->vars, sv[i].name, eq + 1, export);
    }
    return sv;
}

static void assigns_restore(struct sh *sh, struct saved_var *sv, size_t n)
{
    size_t i;

    for (i = n; i-- > 0;) {
        if (sv[i].existed) {
            struct var *v;

            var_set(&sh->vars, sv[i].name, sv[i].value, false);
            v = var_find(&sh->vars, sv[i].name);
            v->exported = sv[i].exported;
        } else {
            var_unset(&sh->vars, sv[i].name);
        }
        free(sv[i].name);
        free(sv[i].value);
    }
    free(sv);
}

static int call_func(struct sh *sh, struct func *fn, struct strv *argv, struct fds *fds)
{
    struct strv saved = sh->params;
    struct arena *a = fn->arena;
    const struct node *body = fn->body;
    int st, loops = sh->loops;

    if (!depth_enter(sh->r))
        return 2;
    a->refs++;
    memset(&sh->params, 0, sizeof(sh->params));
    strv_copy(&sh->params, argv->v + 1, argv->n - 1);
    sh->funcdepth++;
    sh->loops = 0;
    {
        struct arena *save = sh->arena;

        sh->arena = a;
        st = exec_node(sh, body, fds);
        sh->arena = save;
    }
    if (sh->r->unwind == UW_RETURN) {
        sh->r->unwind = UW_NONE;
        st = sh->status;
    }
    locals_restore(sh);
    sh->funcdepth--;
    sh->loops = loops;
    strv_release(&sh->params);
    sh->params = saved;
    if (--a->refs == 0)
        arena_free(a);
    sh->r->depth--;
    return st;
}

static const char *default_path(enum dialect d)
{
    return d == D_DASH ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                       : "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:.";
}

static int run_builtin(struct sh *sh, const struct builtin *b, struct strv *argv, struct fds *fds)
{
    sh->cmdname = argv->v[0];
    sh->errsink = fds->out[2];
    return b->fn(sh, (int)argv->n, argv->v, fds);
}

/* Run an expanded command: special builtin, function, builtin or program. */
static int run_argv(struct sh *sh, struct strv *argv, struct strv *assigns, struct fds *fds,
                    bool tail, bool no_funcs, bool is_exec)
{
    const char *name = argv->v[0];
    const struct builtin *b;
    struct func *fn;
    int st;

    if (!strchr(name, '/')) {
        const struct prog *pg;
        char *full = NULL;

        b = builtin_find(sh, name);
        fn = no_funcs ? NULL : func_find(sh, name);
        if (b && (b->flags & BI_SPECIAL) && !is_exec) {
            struct saved_var *sv = NULL;

            if (sh->d == D_DASH) {
                size_t i;

                for (i = 0; i < assigns->n; i++) {
                    char *eq = strchr(assigns->v[i], '=');
                    char *vn = xstrndup(assigns->v[i], (size_t)(eq - assigns->v[i]));

                    var_set(&sh->vars, vn, eq + 1, false);
                    free(vn);
                }
                return run_builtin(sh, b, argv, fds);
            }
            sv = assigns_apply(sh, assigns, false);
            st = run_builtin(sh, b, argv, fds);
            assigns_restore(sh, sv, assigns->n);
            return st;
        }
        if (fn && !is_exec) {
            struct saved_var *sv = assigns_apply(sh, assigns, true);

            st = call_func(sh, fn, argv, fds);
            assigns_restore(sh, sv, assigns->n);
            return st;
        }
        if (b && !is_exec) {
            struct saved_var *sv = assigns_apply(sh, assigns, false);

            st = run_builtin(sh, b, argv, fds);
            assigns_restore(sh, sv, assigns->n);
            return st;
        }
        pg = path_lookup(var_get(&sh->vars, "PATH"), default_path(sh->d), sh->cwd, name, &full);
        if (!pg) {
            if (is_exec)
                sh_err(sh, fds->out[2], "exec: %s: not found", name);
            else if (sh->d == D_DASH)
                sh_err(sh, fds->out[2], "%s: not found", name);
            else if (!var_get(&sh->vars, "PATH"))
                sh_err(sh, fds->out[2], "%s: No such file or directory", name);
            else
                sh_err(sh, fds->out[2], "%s: command not found", name);
            return 127;
        }
        st = run_external(sh, pg, full, argv, assigns, fds, tail, is_exec);
        free(full);
        return st;
    }
    return run_external(sh, NULL, name, argv, assigns, fds, tail, is_exec);
}

static bool expand_words(struct sh *sh, struct wlist *w, struct fields *f, struct fds *fds);

/* A simple command with its words expanded and its redirections applied. */
struct prepared {
    struct strv argv;
    struct strv assigns;
    struct rstore rs;
    struct sink *trace;     /* stderr before the redirections, for set -x */
    bool failed;
    int status;
};

static void prepared_release(struct prepared *pc)
{
    strv_release(&pc->argv);
    strv_release(&pc->assigns);
    rstore_release(&pc->rs);
}

/* An assignment's value with each ~ at its start or after a ':' made the home directory,
 * as both shells do (the parts live in arena a, or it is w itself). */
static const struct word *assign_tildes(struct sh *sh, const struct word *w, struct arena *a)
{
    const struct wpart *part;
    struct wpart *head = NULL, **tail = &head;
    struct word *nw;
    bool changed = false, at_start = true;

    for (part = w->parts; part; part = part->next) {
        size_t i = 0, from = 0;

        if (part->kind != WP_LIT || part->quoted) {
            struct wpart *c = arena_alloc(a, sizeof(*c));

            *c = *part;
            c->next = NULL;
            *tail = c;
            tail = &c->next;
            at_start = false;
            continue;
        }
        for (i = 0; i <= part->len; i++) {
            bool boundary = (i == 0 && at_start) || (i > 0 && part->text[i - 1] == ':');
            size_t e = i;
            const char *home = NULL;

            if (i < part->len && boundary && part->text[i] == '~') {
                while (e < part->len && part->text[e] != '/' && part->text[e] != ':')
                    e++;
                if (e < part->len || !part->next) {
                    if (e == i + 1) {
                        home = var_get(&sh->vars, "HOME");
                        if (home && !*home)
                            home = NULL;
                    } else {
                        home = user_home(part->text + i + 1, e - i - 1);
                    }
                }
            }
            if (i == part->len || home) {
                struct wpart *c = arena_alloc(a, sizeof(*c));

                c->kind = WP_LIT;
                c->text = arena_strndup(a, part->text + from, i - from);
                c->len = i - from;
                *tail = c;
                tail = &c->next;
                if (home) {
                    c = arena_alloc(a, sizeof(*c));
                    c->kind = WP_LIT;
                    c->quoted = true;
                    c->text = arena_strndup(a, home, strlen(home));
                    c->len = strlen(home);
                    *tail = c;
                    tail = &c->next;
                    changed = true;
                    from = e;
                    i = e - 1;
                }
            }
        }
        at_start = false;
    }
    if (!changed)
        return w;
    nw = arena_alloc(a, sizeof(*nw));
    nw->parts = head;
    nw->quoted = w->quoted;
    return nw;
}

/* Expand a word with a tilde at its start, without field splitting. */
static bool expand_assign(struct sh *sh, const struct word *w, struct fds *fds, char **out)
{
    struct fields f;
    bool ok;

    fields_init(&f, sh, false, false);
    ok = expand_word(sh, w, &f, fds);
    *out = ok ? fields_join(&f) : NULL;
    if (ok && f.out.n == 0) {
        free(*out);
        *out = xstrdup("");
    }
    fields_release(&f);
    return ok;
}

static bool prepare(struct sh *sh, const struct node *n, struct fds *fds, struct prepared *pc)
{
    struct fields f;
    struct wlist *w;

    memset(pc, 0, sizeof(*pc));
    rstore_init(&pc->rs, fds);
    pc->trace = fds->out[2];
    sh->line = n->line;
    sh->cmdsub_status = -1;
    if (!step(sh->r, 1))
        goto fail;
    fields_init(&f, sh, true, false);
    if (!expand_words(sh, n->args, &f, fds)) {
        fields_release(&f);
        goto fail;
    }
    pc->argv = f.out;
    memset(&f.out, 0, sizeof(f.out));
    fields_release(&f);
    if (!apply_redirs(sh, n->redirs, fds, &pc->rs)) {
        if (unwinding(sh->r))
            goto fail;
        pc->failed = true;
        pc->status = redir_fail(sh);
        return false;
    }
    for (w = n->assigns; w; w = w->next) {
        const struct wpart *first = w->w->parts;
        const char *eq = strchr(first->text, '=');
        struct wpart head = *first;
        struct word tmp = *w->w;
        char *value = NULL;

        head.text = (char *)eq + 1;
        head.len = first->len - (size_t)(eq + 1 - first->text);
        tmp.parts = &head;
        {
            struct arena *ta = arena_new();
            bool ok = expand_assign(sh, assign_tildes(sh, &tmp, ta), fds, &value);

            arena_free(ta);
            if (!ok)
                goto fail;
        }
        strv_push(&pc->assigns, xasprintf("%.*s=%s", (int)(eq - first->text), first->text, value));
        free(value);
    }
    return true;
fail:
    pc->failed = true;
    pc->status = sh->status;
    return false;
}

/* set -x: "+ cmd args" on stderr; bash quotes what needs it, dash does not. */
static void xtrace(struct sh *sh, struct prepared *pc)
{
    struct buf b = BUF_INIT;
    const char *ps4 = var_get(&sh->vars, "PS4");
    size_t i;

    buf_addstr(&b, ps4 ? ps4 : "+ ");
    for (i = 0; i < pc->assigns.n + pc->argv.n; i++) {
        const char *a = i < pc->assigns.n ? pc->assigns.v[i] : pc->argv.v[i - pc->assigns.n];

        if (i)
            buf_addch(&b, ' ');
        if (sh->d == D_BASH && (strpbrk(a, " \t\n'\"\\$`|&;()<>*?[]{}!#~") || !*a) &&
            i >= pc->assigns.n)
            dash_quote(&b, a);
        else
            buf_addstr(&b, a);
    }
    buf_addch(&b, '\n');
    sink_write(sh->r, pc->trace, b.data, b.len);
    buf_release(&b);
}

static int run_prepared(struct sh *sh, struct prepared *pc, bool tail)
{
    size_t i;

    if (pc->failed)
        return pc->status;
    if (sh->opt_x)
        xtrace(sh, pc);
    if (pc->argv.n == 0) {
        for (i = 0; i < pc->assigns.n; i++) {
            char *eq = strchr(pc->assigns.v[i], '=');
            char *name = xstrndup(pc->assigns.v[i], (size_t)(eq - pc->assigns.v[i]));
            bool ok = sh_assign(sh, pc->rs.fds.out[2], NULL, name, eq + 1, false);

            free(name);
            if (!ok)
                return sh->d == D_DASH ? 2 : 1;
        }
        return sh->cmdsub_status >= 0 ? sh->cmdsub_status : 0;
    }
    return run_argv(sh, &pc->argv, &pc->assigns, &pc->rs.fds, tail, false, false);
}

static int exec_simple(struct sh *sh, const struct node *n, struct fds *fds, bool tail)
{
    struct prepared pc;
    int st;

    int mark = sh->r->jobid;
    struct fds *save_outer = sh->outer_fds;
    struct rstore *save_rs = sh->cur_rs;

    if (!prepare(sh, n, fds, &pc)) {
        st = pc.status;
    } else {
        sh->outer_fds = fds;
        sh->cur_rs = &pc.rs;
        st = run_prepared(sh, &pc, tail && !n->redirs);
        sh->outer_fds = save_outer;
        sh->cur_rs = save_rs;
    }
    if (sh->jobs && n->redirs)
        jobs_run(sh, mark, 0);
    prepared_release(&pc);
    return st;
}

static void run_exit_trap(struct sh *sh, struct fds *fds)
{
    char *t = sh->exit_trap;
    int save = sh->status;

    if (!t || aborting(sh->r))
        return;
    sh->exit_trap = NULL;
    sh->r->unwind = UW_NONE;
    run_script(sh, t, strlen(t), SCR_EVAL, fds);
    if (sh->r->unwind == UW_EXIT)
        sh->r->unwind = UW_NONE;
    else if (!aborting(sh->r))
        sh->status = save;
    free(t);
}

static int jobs_run(struct sh *sh, int mark, int pid);

/* The end of a subshell: exit, return and SIGPIPE stop here; its jobs finish. */
static int subshell_end(struct sh *c, struct fds *fds)
{
    struct run *r = c->r;

    if (r->unwind == UW_PIPE) {
        c->status = 141;
        r->unwind = UW_NONE;
    } else if (r->unwind != UW_NONE && !aborting(r)) {
        r->unwind = UW_NONE;
    }
    run_exit_trap(c, fds);
    if (c->jobs) {
        int st = c->status;

        jobs_run(c, 0, 0);
        c->status = st;
    }
    return c->status;
}

static int subshell_run(struct sh *sh, const struct node *body, struct fds *fds, bool tail)
{
    struct sh *c;
    int st;

    if (!depth_enter(sh->r))
        return 2;
    c = sh_clone(sh);
    c->tail = tail;
    c->status = sh->status;
    exec_node(c, body, fds);
    st = subshell_end(c, fds);
    sh_free(c);
    sh->r->depth--;
    return st;
}

static int run_capture(struct sh *sh, const struct node *body, struct fds *fds, struct buf *out)
{
    struct sink cap;
    struct fds f = *fds;

    memset(&cap, 0, sizeof(cap));
    cap.kind = SK_CAPTURE;
    cap.cap = out;
    cap.limit = CAPTURE_MAX;
    f.out[1] = &cap;
    return subshell_run(sh, body, &f, false);
}

/* After a loop body: true when the loop must end (break, or unwinding further). */
static bool loop_leave(struct sh *sh)
{
    struct run *r = sh->r;

    if (r->unwind == UW_BREAK) {
        if (--r->loops == 0)
            r->unwind = UW_NONE;
        return true;
    }
    if (r->unwind == UW_CONTINUE) {
        if (--r->loops == 0) {
            r->unwind = UW_NONE;
            return false;
        }
        return true;
    }
    return unwinding(r);
}

static bool parse_command(struct parser *p, struct node **out);

static void func_define(struct sh *sh, const struct node *n)
{
    struct arena *a = arena_new();
    struct parser p;
    struct perr err = { BUF_INIT, 0, false, 2 };
    struct node *def = NULL;
    struct func *f;

    memset(&p, 0, sizeof(p));
    p.a = a;
    p.s = n->src;
    p.n = n->srclen;
    p.line = n->srcline;
    p.d = sh->d;
    p.e = &err;
    p.utf8 = sh->utf8;
    if (!parse_command(&p, &def) || !def || def->kind != N_DEFUN) {
        buf_release(&err.msg);
        arena_free(a);
        return;
    }
    buf_release(&err.msg);
    f = func_find(sh, n->name);
    if (!f) {
        f = xcalloc(1, sizeof(*f));
        f->name = xstrdup(n->name);
        f->next = sh->funcs;
        sh->funcs = f;
    } else if (--f->arena->refs == 0) {
        arena_free(f->arena);
    }
    f->arena = a;
    a->refs = 1;
    f->body = def->a;
}

static int exec_pipeline(struct sh *sh, const struct node *n, struct fds *fds);

/* ---- bash's brace expansion: a{b,c}d and {1..5}, on the unquoted text of a word */

struct batom {
    char c;                         /* an unquoted character, when part is NULL */
    const struct wpart *part;       /* anything else, kept whole */
};

struct bexp {
    struct sh *sh;
    struct arena *a;
    struct wlist *head, **tail;
    size_t words, atoms;
    bool failed;
};

static bool batom_is(const struct batom *x, char c)
{
    return !x->part && x->c == c;
}

static void brace_emit(struct bexp *b, const struct batom *v, size_t n)
{
    struct wpart *head = NULL, **tail = &head;
    struct word *w;
    size_t i = 0;

    if (++b->words > 100000 || (b->atoms += n) > CAPTURE_MAX) {
        if (!b->failed)
            fatal(b->sh->r, "brace expansion over 100000 words or %u bytes", CAPTURE_MAX);
        b->failed = true;
        return;
    }
    while (i < n) {
        struct wpart *part = arena_alloc(b->a, sizeof(*part));

        if (v[i].part) {
            *part = *v[i].part;
            part->next = NULL;
            i++;
        } else {
            size_t j = i;

            while (j < n && !v[j].part)
                j++;
            part->kind = WP_LIT;
            part->text = arena_alloc(b->a, j - i + 1);
            part->len = j - i;
            for (; i < j; i++)
                part->text[part->len - (j - i)] = v[i].c;
        }
        *tail = part;
        tail = &part->next;
    }
    w = arena_alloc(b->a, sizeof(*w));
    w->parts = head;
    {
        struct wlist *e = arena_alloc(b->a, sizeof(*e));

        e->w = w;
        *b->tail = e;
        b->tail = &e->next;
    }
}

static void brace_rec(struct bexp *b, const struct batom *v, size_t n, int depth);

/* prefix + middle + suffix, expanded further */
static void brace_join(struct bexp *b, const struct batom *pre, size_t np, const struct batom *mid,
                       size_t nm, const struct batom *suf, size_t ns, int depth)
{
    struct batom *v = xmalloc((np + nm + ns + 1) * sizeof(*v));

    memcpy(v, pre, np * sizeof(*v));
    memcpy(v + np, mid, nm * sizeof(*v));
    memcpy(v + np + nm, suf, ns * sizeof(*v));
    brace_rec(b, v, np + nm + ns, depth + 1);
    free(v);
}

/* {x..y[..step]}: integers (zero-padded if either end is) or single letters */
static bool brace_seq(struct bexp *b, const struct batom *v, size_t i, size_t j, size_t n, int depth)
{
    char text[128], *dots, *dots2;
    size_t k, len = j - i - 1;
    intmax_t x, y, st = 1;
    bool letters;
    int width = 0;

    if (len >= sizeof(text))
        return false;
    for (k = 0; k < len; k++) {
        if (v[i + 1 + k].part)
            return false;
        text[k] = v[i + 1 + k].c;
    }
    text[len] = '\0';
    dots = strstr(text, "..");
    if (!dots)
        return false;
    *dots = '\0';
    dots2 = strstr(dots + 2, "..");
    if (dots2) {
        char *end;

        *dots2 = '\0';
        st = strtoimax(dots2 + 2, &end, 10);
        if (!dots2[2] || *end)
            return false;
    }
    letters = strlen(text) == 1 && strlen(dots + 2) == 1 && isalpha((unsigned char)text[0]) &&
              isalpha((unsigned char)dots[2]);
    if (letters) {
        x = (unsigned char)text[0];
        y = (unsigned char)dots[2];
    } else {
        char *e1, *e2;
        const char *a = text, *c = dots + 2;

        if (!*a || !*c)
            return false;
        x = strtoimax(a, &e1, 10);
        y = strtoimax(c, &e2, 10);
        if (*e1 || *e2)
            return false;
        if ((a[0] == '0' && a[1]) || (a[0] == '-' && a[1] == '0' && a[2]) ||
            (c[0] == '0' && c[1]) || (c[0] == '-' && c[1] == '0' && c[2]))
            width = (int)(strlen(a) > strlen(c) ? strlen(a) : strlen(c));
    }
    if (st < 0)
        st = -st;
    if (st == 0)
        st = 1;
    for (k = 0;; k++) {
        intmax_t cur = x < y ? x + (intmax_t)k * st : x - (intmax_t)k * st;
        struct batom item[64];
        char num[64];
        size_t m, q;

        if ((x < y && cur > y) || (x > y && cur < y) || (x == y && k > 0) || b->failed)
            break;
        if (letters)
            snprintf(num, sizeof(num), "%c", (char)cur);
        else if (width)
            snprintf(num, sizeof(num), "%0*jd", width, cur);
        else
            snprintf(num, sizeof(num), "%jd", cur);
        m = strlen(num);
        for (q = 0; q < m; q++) {
            item[q].c = num[q];
            item[q].part = NULL;
        }
        brace_join(b, v, i, item, m, v + j + 1, n - j - 1, depth);
    }
    return true;
}

static void brace_rec(struct bexp *b, const struct batom *v, size_t n, int depth)
{
    size_t i, j;

    if (b->failed)
        return;
    if (depth > NEST_MAX) {
        fatal(b->sh->r, "brace expansion nested over %d levels", NEST_MAX);
        b->failed = true;
        return;
    }
    for (i = 0; i < n; i++) {
        size_t commas = 0;
        int level = 0;

        if (!batom_is(&v[i], '{'))
            continue;
        for (j = i + 1; j < n; j++) {
            if (batom_is(&v[j], '{'))
                level++;
            else if (batom_is(&v[j], '}') && level-- == 0)
                break;
            else if (batom_is(&v[j], ',') && level == 0)
                commas++;
        }
        if (j >= n)
            return brace_emit(b, v, n);
        if (commas) {
            size_t start = i + 1, k;

            level = 0;
            for (k = i + 1; k <= j && !b->failed; k++) {
                if (batom_is(&v[k], '{')) {
                    level++;
                } else if (k < j && batom_is(&v[k], '}')) {
                    level--;
                } else if (k == j || (batom_is(&v[k], ',') && level == 0)) {
                    brace_join(b, v, i, v + start, k - start, v + j + 1, n - j - 1, depth);
                    start = k + 1;
                }
            }
            return;
        }
        if (brace_seq(b, v, i, j, n, depth))
            return;
    }
    brace_emit(b, v, n);
}

/* The words of w after brace expansion, or NULL when it has none (in arena a). */
static struct wlist *brace_expand(struct sh *sh, const struct word *w, struct arena *a)
{
    const struct wpart *part;
    struct batom *v;
    size_t n = 0, k = 0;
    bool any = false;
    struct bexp b;

    for (part = w->parts; part; part = part->next) {
        if (part->kind == WP_LIT && !part->quoted) {
            n += part->len;
            if (memchr(part->text, '{', part->len))
                any = true;
        } else {
            n++;
        }
    }
    if (!any)
        return NULL;
    v = xmalloc((n + 1) * sizeof(*v));
    for (part = w->parts; part; part = part->next) {
        if (part->kind == WP_LIT && !part->quoted) {
            size_t i;

            for (i = 0; i < part->len; i++) {
                v[k].c = part->text[i];
                v[k++].part = NULL;
            }
        } else {
            v[k].c = 0;
            v[k++].part = part;
        }
    }
    memset(&b, 0, sizeof(b));
    b.sh = sh;
    b.a = a;
    b.tail = &b.head;
    brace_rec(&b, v, n, 0);
    free(v);
    return b.head;
}

/* Expand a list of words into fields, with bash's brace expansion first. */
static bool expand_words(struct sh *sh, struct wlist *w, struct fields *f, struct fds *fds)
{
    for (; w; w = w->next) {
        struct arena *a = NULL;
        struct wlist *bw = NULL;
        bool ok = true;

        if (sh->d == D_BASH) {
            a = arena_new();
            bw = brace_expand(sh, w->w, a);
            if (aborting(sh->r)) {
                arena_free(a);
                return false;
            }
        }
        if (bw) {
            for (; bw && ok; bw = bw->next)
                ok = expand_word(sh, bw->w, f, fds);
        } else {
            ok = expand_word(sh, w->w, f, fds);
        }
        arena_free(a);
        if (!ok)
            return false;
    }
    return true;
}

/* ---- [[ ]] evaluation: 0 true, 1 false, 2 error */

static bool cond_word(struct sh *sh, const struct word *w, struct fds *fds, int mode, char **out)
{
    struct fields f;
    bool ok;

    fields_init(&f, sh, false, mode == 1);
    f.regex = mode == 2;
    ok = expand_word(sh, w, &f, fds);
    *out = ok ? fields_join(&f) : NULL;
    fields_release(&f);
    return ok;
}

static int cond_eval(struct sh *sh, const struct cond *c, struct fds *fds)
{
    char *l = NULL, *r = NULL;
    int st = 1;

    if (unwinding(sh->r))
        return 2;
    switch (c->kind) {
    case CD_AND:
        st = cond_eval(sh, c->a, fds);
        return st != 0 ? st : cond_eval(sh, c->b, fds);
    case CD_OR:
        st = cond_eval(sh, c->a, fds);
        return st == 0 ? 0 : cond_eval(sh, c->b, fds);
    case CD_NOT:
        st = cond_eval(sh, c->a, fds);
        return st == 2 ? 2 : !st;
    case CD_WORD:
        if (!cond_word(sh, c->w1, fds, 0, &l))
            return 2;
        st = *l ? 0 : 1;
        break;
    case CD_UNARY:
        if (!cond_word(sh, c->w1, fds, 0, &l))
            return 2;
        if (strcmp(c->op, "-o") == 0) {
            st = !((strcmp(l, "errexit") == 0 && sh->opt_e) ||
                   (strcmp(l, "nounset") == 0 && sh->opt_u) ||
                   (strcmp(l, "xtrace") == 0 && sh->opt_x) ||
                   (strcmp(l, "noglob") == 0 && sh->opt_f));
        } else if (strcmp(c->op, "-v") == 0) {
            st = var_get(&sh->vars, l) ? 0 : 1;
        } else {
            struct tst t;
            char op[3] = { '-', c->op[1] == 'a' ? 'e' : c->op[1], 0 };

            memset(&t, 0, sizeof(t));
            t.d = TD_BASH;
            t.r = sh->r;
            t.cwd = sh->cwd;
            t.sh = sh;
            t.err = fds->out[2];
            t.name = "[[";
            st = !tst_unary(&t, op, l);
        }
        break;
    case CD_BINARY: {
        const char *op = c->op;
        int mode = strcmp(op, "=~") == 0 ? 2 :
                   (strcmp(op, "==") == 0 || strcmp(op, "=") == 0 || strcmp(op, "!=") == 0) ? 1 : 0;

        if (!cond_word(sh, c->w1, fds, 0, &l) || !cond_word(sh, c->w2, fds, mode, &r)) {
            st = 2;
            break;
        }
        if (mode == 1) {
            bool m = fnmatch(r, l, 0) == 0;

            st = (strcmp(op, "!=") == 0) == m;
        } else if (mode == 2) {
            regex_t re;
            regmatch_t m[1];

            if (regcomp(&re, r, REG_EXTENDED) != 0) {
                st = 2;
                break;
            }
            st = regexec(&re, l, 1, m, 0) == 0 ? 0 : 1;
            if (st == 0) {
                char *whole = xstrndup(l + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));

                var_set(&sh->vars, "BASH_REMATCH", whole, false);
                free(whole);
            } else {
                var_set(&sh->vars, "BASH_REMATCH", "", false);
            }
            regfree(&re);
        } else if (strcmp(op, "<") == 0 || strcmp(op, ">") == 0) {
            int k = strcmp(l, r);

            st = op[0] == '<' ? !(k < 0) : !(k > 0);
        } else if (op[0] == '-' && strchr("elgn", op[1]) && strcmp(op, "-ef") != 0 &&
                   strcmp(op, "-nt") != 0) {
            intmax_t x, y;

            if (!arith_eval(sh, l, fds, &x) || !arith_eval(sh, r, fds, &y)) {
                st = 2;
                break;
            }
            if (strcmp(op, "-eq") == 0) st = !(x == y);
            else if (strcmp(op, "-ne") == 0) st = !(x != y);
            else if (strcmp(op, "-lt") == 0) st = !(x < y);
            else if (strcmp(op, "-le") == 0) st = !(x <= y);
            else if (strcmp(op, "-gt") == 0) st = !(x > y);
            else st = !(x >= y);
        } else {
            struct tst t;

            memset(&t, 0, sizeof(t));
            t.d = TD_BASH;
            t.r = sh->r;
            t.cwd = sh->cwd;
            t.sh = sh;
            t.err = fds->out[2];
            t.name = "[[";
            st = !tst_binary(&t, l, op, r);
        }
        break;
    }
    }
    free(l);
    free(r);
    return st;
}

static void job_start(struct sh *sh, const struct node *n, struct fds *fds)
{
    struct job *j = xcalloc(1, sizeof(*j)), **tail;

    j->sh = sh_clone(sh);
    j->sh->status = sh->status;
    j->node = n;
    j->arena = arena_hold(sh->arena);
    j->fds = xmemdup(fds, sizeof(*fds));
    j->pid = 4242 + ++sh->r->jobid;
    sh->lastpid = j->pid;
    for (tail = &sh->jobs; *tail; tail = &(*tail)->next)
        ;
    *tail = j;
}

/* Run the jobs started after job number mark (all: 0), or only the one with pid; returns
 * the status of the last one run (127 when pid names none). */
static int jobs_run(struct sh *sh, int mark, int pid)
{
    struct job **jp = &sh->jobs;
    int st = pid ? 127 : 0;

    while (*jp) {
        struct job *j = *jp;

        if (j->pid - 4242 <= mark || (pid && j->pid != pid)) {
            jp = &j->next;
            continue;
        }
        *jp = j->next;
        if (!aborting(sh->r) && depth_enter(sh->r)) {
            j->sh->arena = j->arena;
            exec_node(j->sh, j->node, j->fds);
            st = subshell_end(j->sh, j->fds);
            sh->r->depth--;
        }
        sh_free(j->sh);
        arena_unref(j->arena);
        free(j->fds);
        free(j);
    }
    return st;
}

static int exec_compound(struct sh *sh, const struct node *n, struct fds *fds)
{
    struct rstore rs;
    int st = 0, mark = sh->r->jobid;

    if (n->redirs) {
        sh->line = n->line;
        if (!apply_redirs(sh, n->redirs, fds, &rs)) {
            rstore_release(&rs);
            return unwinding(sh->r) ? sh->status : redir_fail(sh);
        }
        fds = &rs.fds;
    }
    switch (n->kind) {
    case N_SUBSHELL:
        /* bash's forked subshell runs its own last command without another fork */
        st = subshell_run(sh, n->a, fds, sh->d == D_BASH);
        break;
    case N_BRACE:
        st = exec_node(sh, n->a, fds);
        break;
    case N_IF: {
        int c;

        sh->no_errexit++;
        c = exec_node(sh, n->a, fds);
        sh->no_errexit--;
        if (unwinding(sh->r))
            break;
        if (c == 0)
            st = exec_node(sh, n->b, fds);
        else if (n->c)
            st = exec_node(sh, n->c, fds);
        else
            st = 0;
        break;
    }
    case N_WHILE:
    case N_UNTIL:
        sh->loops++;
        for (;;) {
            int c;

            if (!step(sh->r, 1))
                break;
            sh->no_errexit++;
            c = exec_node(sh, n->a, fds);
            sh->no_errexit--;
            if (unwinding(sh->r)) {
                if (loop_leave(sh))
                    break;
                continue;
            }
            if ((c == 0) != (n->kind == N_WHILE))
                break;
            st = exec_node(sh, n->b, fds);
            if (loop_leave(sh))
                break;
        }
        sh->loops--;
        break;
    case N_FOR: {
        struct fields f;
        size_t i;

        sh->line = n->line;
        fields_init(&f, sh, true, false);
        if (n->has_in) {
            expand_words(sh, n->args, &f, fds);
        } else {
            strv_copy(&f.out, sh->params.v, sh->params.n);
        }
        if (unwinding(sh->r)) {
            fields_release(&f);
            st = sh->status;
            break;
        }
        sh->loops++;
        for (i = 0; i < f.out.n; i++) {
            if (!step(sh->r, 1))
                break;
            if (!sh_assign(sh, fds->out[2], sh->d == D_DASH ? NULL : "for", n->name,
                           f.out.v[i], false)) {
                st = 1;
                break;
            }
            st = exec_node(sh, n->a, fds);
            if (loop_leave(sh))
                break;
        }
        sh->loops--;
        fields_release(&f);
        break;
    }
    case N_COND:
        sh->line = n->line;
        st = cond_eval(sh, n->cond, fds);
        if (unwinding(sh->r))
            st = sh->status;
        break;
    case N_CASE: {
        char *subject = NULL;
        struct caseitem *ci;
        struct wlist *pw;
        bool matched = false;

        sh->line = n->line;
        if (!expand_assign(sh, n->subject, fds, &subject)) {
            st = sh->status;
            break;
        }
        for (ci = n->cases; ci && !matched; ci = ci->next) {
            for (pw = ci->patterns; pw && !matched; pw = pw->next) {
                char *pat = NULL;

                if (!expand_string(sh, pw->w, fds, true, &pat))
                    break;
                matched = fnmatch(pat, subject, 0) == 0;
                free(pat);
            }
            if (unwinding(sh->r))
                break;
            if (matched)
                st = ci->body ? exec_node(sh, ci->body, fds) : 0;
        }
        free(subject);
        if (!matched && !unwinding(sh->r))
            st = 0;
        break;
    }
    default:
        break;
    }
    if (n->redirs) {
        jobs_run(sh, mark, 0);
        rstore_release(&rs);
    }
    return st;
}

static int exec_node(struct sh *sh, const struct node *n, struct fds *fds)
{
    bool tail = sh->tail;
    int st = 0;

    sh->tail = false;
    if (unwinding(sh->r))
        return sh->status;
    if (!n) {
        sh->status = 0;
        return 0;
    }
    switch (n->kind) {
    case N_CMD:
        st = exec_simple(sh, n, fds, tail);
        break;
    case N_SEQ:
        exec_node(sh, n->a, fds);
        if (unwinding(sh->r))
            return sh->status;
        /* bash runs only a final simple command without a fork */
        sh->tail = tail && n->b->kind == N_CMD;
        st = exec_node(sh, n->b, fds);
        return st;
    case N_AND:
    case N_OR:
        sh->no_errexit++;
        st = exec_node(sh, n->a, fds);
        sh->no_errexit--;
        if (unwinding(sh->r))
            return sh->status;
        if ((st == 0) == (n->kind == N_AND)) {
            sh->tail = tail;
            st = exec_node(sh, n->b, fds);
        }
        return st;
    case N_NOT:
        sh->no_errexit++;
        st = exec_node(sh, n->a, fds);
        sh->no_errexit--;
        if (unwinding(sh->r))
            return sh->status;
        st = !st;
        sh->status = st;
        return st;
    case N_BG:
        job_start(sh, n->a, fds);
        st = 0;
        break;
    case N_PIPE:
        st = exec_pipeline(sh, n, fds);
        break;
    case N_DEFUN:
        func_define(sh, n);
        st = 0;
        break;
    default:
        st = exec_compound(sh, n, fds);
        break;
    }
    if (unwinding(sh->r))
        return sh->status;
    sh->status = st;
    if (sh->opt_e && !sh->no_errexit && st != 0 &&
        (n->kind == N_CMD || n->kind == N_PIPE || n->kind == N_SUBSHELL)) {
        sh->r->unwind = UW_EXIT;
    }
    return st;
}

/* ---------------------------------------------------------------- pipelines */

/* How a pipeline element takes its input: pushed to it as it comes (cat, head, wc), not
 * at all (it runs after the writer, who sees a pipe that is never read), or gathered and
 * handed over whole (compound commands, read, sh, functions). */
enum pkind { PE_DONE, PE_CONSUMER, PE_LATER, PE_BUFFERED };

struct pelem {
    const struct node *node;
    struct sh *sh;
    struct prepared *pc;
    enum pkind kind;
    struct consumer *cons;
    struct sink in;
    struct buf data;
    struct source src;
    struct fds fds;
    int status;
};

static struct source pipe_marker;

static enum pkind classify(struct sh *sh, struct prepared *pc, const struct prog **pgp)
{
    const char *name;
    const struct builtin *b;
    char *full = NULL;
    const struct prog *pg;

    *pgp = NULL;
    if (pc->failed)
        return PE_DONE;
    if (pc->rs.fds.in != &pipe_marker || pc->argv.n == 0)
        return PE_LATER;
    name = pc->argv.v[0];
    if (strchr(name, '/')) {
        pg = prog_by_path(sh->cwd, name);
        if (!pg)
            return PE_BUFFERED;
    } else {
        if (func_find(sh, name))
            return PE_BUFFERED;
        b = builtin_find(sh, name);
        if (b)
            return (b->flags & BI_READS) ? PE_BUFFERED : PE_LATER;
        pg = path_lookup(var_get(&sh->vars, "PATH"), default_path(sh->d), sh->cwd, name, &full);
        free(full);
        if (!pg)
            return PE_LATER;
    }
    *pgp = pg;
    if (pg->kind == PK_CONSUMER)
        return PE_CONSUMER;
    return pg->kind == PK_READER ? PE_BUFFERED : PE_LATER;
}

static int exec_pipeline(struct sh *sh, const struct node *n, struct fds *fds)
{
    struct nlist *l;
    struct pelem *e;
    size_t k = 0, i;
    struct sink *down = fds->out[1];
    struct source empty = { SRC_EMPTY, NULL, 0, 0, false };
    int st = 0;

    for (l = n->pipe; l; l = l->next)
        k++;
    if (!depth_enter(sh->r))
        return 2;
    e = xcalloc(k, sizeof(*e));
    for (i = 0, l = n->pipe; l; l = l->next, i++)
        e[i].node = l->n;
    for (i = k; i-- > 1 && !aborting(sh->r);) {
        struct pelem *x = &e[i];
        const struct prog *pg = NULL;

        x->sh = sh_clone(sh);
        x->sh->status = sh->status;
        x->fds = *fds;
        x->fds.out[1] = down;
        x->fds.in = &pipe_marker;
        if (x->node->kind == N_CMD) {
            x->pc = xcalloc(1, sizeof(*x->pc));
            if (!prepare(x->sh, x->node, &x->fds, x->pc)) {
                x->kind = PE_DONE;
                x->status = subshell_end(x->sh, &x->fds);
                if (!aborting(sh->r))
                    x->status = x->pc->status ? x->pc->status : x->status;
            } else {
                x->kind = classify(x->sh, x->pc, &pg);
            }
        } else {
            x->kind = PE_BUFFERED;
        }
        if (x->kind == PE_CONSUMER) {
            struct strv env = STRV_INIT;
            struct proc p;
            int cst;

            build_env(x->sh, &x->pc->assigns, "", false, false, &env);
            p.r = sh->r;
            p.out = x->pc->rs.fds.out[1];
            p.err = x->pc->rs.fds.out[2];
            p.in = NULL;
            p.env = NULL;
            p.cwd = x->sh->cwd;
            p.utf8 = env_utf8(env.v);
            p.parent = sh->d;
            strv_release(&env);
            if (x->sh->opt_x)
                xtrace(x->sh, x->pc);
            x->cons = consumer_create(pg->fn == prog_cat ? C_CAT : pg->fn == prog_head ? C_HEAD : C_WC,
                                      &p, (int)x->pc->argv.n, x->pc->argv.v, &cst);
            if (!x->cons) {
                x->kind = PE_DONE;
                x->status = cst;
            } else {
                consumer_start(x->cons, NULL);
            }
        }
        memset(&x->in, 0, sizeof(x->in));
        switch (x->kind) {
        case PE_CONSUMER:
            x->in.kind = SK_PIPE;
            x->in.cons = x->cons;
            break;
        case PE_BUFFERED:
            x->in.kind = SK_CAPTURE;
            x->in.cap = &x->data;
            x->in.limit = CAPTURE_MAX;
            break;
        default:
            x->in.kind = SK_CAPTURE;
            x->in.limit = PIPE_CAPACITY;
            break;
        }
        down = &x->in;
    }
    if (!aborting(sh->r)) {
        struct fds f0 = *fds;

        f0.out[1] = down;
        e[0].sh = sh_clone(sh);
        e[0].sh->status = sh->status;
        exec_node(e[0].sh, e[0].node, &f0);
        e[0].status = subshell_end(e[0].sh, &f0);
    }
    for (i = 1; i < k && !aborting(sh->r); i++) {
        struct pelem *x = &e[i];

        switch (x->kind) {
        case PE_DONE:
            break;
        case PE_CONSUMER:
            x->status = consumer_finish(x->cons);
            break;
        case PE_LATER:
        case PE_BUFFERED:
            memset(&x->src, 0, sizeof(x->src));
            if (x->kind == PE_BUFFERED) {
                x->src.kind = SRC_BUF;
                x->src.data = buf_cstr(&x->data);
                x->src.len = x->data.len;
            }
            if (x->pc) {
                if (x->pc->rs.fds.in == &pipe_marker)
                    x->pc->rs.fds.in = x->kind == PE_BUFFERED ? &x->src : &empty;
                x->sh->status = run_prepared(x->sh, x->pc, false);
            } else {
                x->fds.in = &x->src;
                exec_node(x->sh, x->node, &x->fds);
            }
            x->status = subshell_end(x->sh, &x->fds);
            break;
        }
    }
    st = k > 1 ? e[k - 1].status : e[0].status;
    for (i = 0; i < k; i++) {
        consumer_free(e[i].cons);
        if (e[i].pc) {
            prepared_release(e[i].pc);
            free(e[i].pc);
        }
        sh_free(e[i].sh);
        buf_release(&e[i].data);
    }
    free(e);
    sh->r->depth--;
    return st;
}

/* ---------------------------------------------------------------- scripts and shells */

static bool parse_command(struct parser *p, struct node **out)
{
    jmp_buf jb;

    p->jb = &jb;
    if (setjmp(jb))
        return false;
    p->pushback = false;
    p->checkkwd = 0;
    p->heredocs = NULL;
    p->got_eof = false;
    *out = p_list(p, 1);
    return true;
}

/* Nothing but blanks and comments left: the command just parsed is the script's last. */
static bool rest_blank(const struct parser *p)
{
    size_t i = p->pos;

    while (i < p->n) {
        char c = p->s[i];

        if (c == ' ' || c == '\t' || c == '\n') {
            i++;
        } else if (c == '#') {
            while (i < p->n && p->s[i] != '\n')
                i++;
        } else {
            return false;
        }
    }
    return true;
}

static void report_syntax(struct sh *sh, struct parser *p, int kind, struct fds *fds)
{
    struct buf b = BUF_INIT;
    const char *msg = buf_cstr(&p->e->msg), *nl;

    if (p->e->fatal) {
        fatal(sh->r, "%s", msg);
        return;
    }
    for (;;) {
        nl = strchr(msg, '\n');
        if (sh->d == D_DASH)
            buf_addf(&b, "%s: %d: %s", sh->arg0, p->e->line, kind == SCR_EVAL ? "eval: " : "");
        else if (kind == SCR_EVAL)
            buf_addf(&b, "%s: eval: line %d: ", sh->arg0, p->e->line);
        else if (kind == SCR_C)
            buf_addf(&b, "%s: -c: line %d: ", sh->arg0, p->e->line);
        else
            buf_addf(&b, "%s: line %d: ", sh->arg0, p->e->line);
        buf_add(&b, msg, nl ? (size_t)(nl - msg) : strlen(msg));
        buf_addch(&b, '\n');
        if (!nl)
            break;
        msg = nl + 1;
    }
    sink_write(sh->r, fds->out[2], b.data, b.len);
    buf_release(&b);
}

/* Parse and run text a complete command at a time, as dash and bash read their input. */
static int run_script(struct sh *sh, const char *text, size_t len, int kind, struct fds *fds)
{
    struct parser p;
    struct perr err = { BUF_INIT, 0, false, 2 };
    char *owned = NULL;

    if (sh->d == D_BASH && (len == 0 || text[len - 1] != '\n')) {
        /* bash reads a final newline it was not given (its messages count it) */
        owned = xmalloc(len + 2);
        memcpy(owned, text, len);
        owned[len++] = '\n';
        owned[len] = '\0';
        text = owned;
    }
    memset(&p, 0, sizeof(p));
    p.s = text;
    p.n = len;
    p.line = kind == SCR_EVAL && sh->d == D_DASH ? sh->line : 1;
    p.d = sh->d;
    p.e = &err;
    p.utf8 = sh->utf8;
    for (;;) {
        struct node *n = NULL;

        p.a = arena_hold(arena_new());
        if (!parse_command(&p, &n)) {
            if (err.status >= 0 || err.fatal)
                report_syntax(sh, &p, kind, fds);
            arena_unref(p.a);
            if (!aborting(sh->r)) {
                sh->status = err.status >= 0 ? err.status : 0;
                if (sh->d == D_DASH || kind != SCR_EVAL)
                    sh->r->unwind = UW_EXIT;
            }
            break;
        }
        if (n) {
            struct arena *save = sh->arena;

            sh->arena = p.a;
            sh->tail = sh->d == D_BASH && kind == SCR_C && rest_blank(&p);
            exec_node(sh, n, fds);
            sh->tail = false;
            sh->arena = save;
        }
        arena_unref(p.a);
        if (unwinding(sh->r) || p.got_eof || (!n && p.lasttok == T_EOF && p.pushback))
            break;
    }
    buf_release(&err.msg);
    free(owned);
    return sh->status;
}

/* The variables a freshly started dash or bash has. */
static void sh_init_vars(struct sh *sh, char **env)
{
    struct var *v;
    char *pwd;
    size_t i;

    if (sh->d == D_DASH) {
        for (i = 0; i < sizeof(dash_fixed_vars) / sizeof(dash_fixed_vars[0]); i++) {
            v = var_create(&sh->vars, dash_fixed_vars[i]);
            v->fixed = (int)i;
        }
        var_set(&sh->vars, "PATH", default_path(D_DASH), false);
        var_set(&sh->vars, "PS1", "$ ", false);
        var_set(&sh->vars, "PS2", "> ", false);
        var_set(&sh->vars, "PS4", "+ ", false);
    }
    for (i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        char *name;

        if (!eq || !is_name(env[i], (size_t)(eq - env[i]))) {
            if (sh->d == D_BASH && eq)
                strv_push(&sh->bad_env, xstrdup(env[i]));
            continue;
        }
        name = xstrndup(env[i], (size_t)(eq - env[i]));
        var_set(&sh->vars, name, eq + 1, true);
        free(name);
    }
    var_set(&sh->vars, "IFS", " \t\n", false);
    if (sh->d == D_DASH) {
        var_set(&sh->vars, "OPTIND", "1", false);
        var_set(&sh->vars, "PPID", "4241", false);
    } else {
        static const char *const bash_vars[][2] = {
            { "BASH", "/usr/bin/bash" }, { "BASH_VERSION", "5.2.15(1)-release" },
            { "HOSTNAME", UNAME_NODENAME }, { "HOSTTYPE", "x86_64" },
            { "MACHTYPE", "x86_64-pc-linux-gnu" }, { "OSTYPE", "linux-gnu" }, { "UID", "0" },
            { "EUID", "0" }, { "PPID", "4241" }, { "OPTIND", "1" }, { "OPTERR", "1" },
            { "PS4", "+ " }, { "BASH_SUBSHELL", "0" },
        };

        if (!var_get(&sh->vars, "PATH"))
            var_set(&sh->vars, "PATH", default_path(D_BASH), false);
        if (!var_get(&sh->vars, "SHELL"))
            var_set(&sh->vars, "SHELL", "/bin/bash", false);
        if (!var_get(&sh->vars, "TERM"))
            var_set(&sh->vars, "TERM", "dumb", false);
        for (i = 0; i < sizeof(bash_vars) / sizeof(bash_vars[0]); i++)
            var_set(&sh->vars, bash_vars[i][0], bash_vars[i][1], false);
    }
    pwd = (char *)var_get(&sh->vars, "PWD");
    if (pwd && pwd[0] == '/') {
        char *norm = path_normalise(pwd);

        if (strcmp(norm, sh->cwd) != 0)
            pwd = NULL;
        free(norm);
    } else {
        pwd = NULL;
    }
    if (!pwd)
        var_set(&sh->vars, "PWD", sh->cwd, true);
    else
        var_find(&sh->vars, "PWD")->exported = true;
    if (sh->d == D_BASH) {
        const char *lvl = var_get(&sh->vars, "SHLVL");
        long l = lvl && is_digits(lvl) ? strtol(lvl, NULL, 10) : 0;
        char num[32];

        snprintf(num, sizeof(num), "%ld", l + 1);
        var_set(&sh->vars, "SHLVL", num, true);
        v = var_find(&sh->vars, "OLDPWD");
        if (!v) {
            v = var_create(&sh->vars, "OLDPWD");
            v->exported = true;
        }
    }
}

/* sh, dash and bash: options, then -c text, a script file, or stdin. */
static int shell_main(struct proc *p, enum dialect d, int argc, char **argv)
{
    struct sh *sh = xcalloc(1, sizeof(*sh));
    struct fds fds;
    const char *script = NULL, *file = NULL;
    bool cflag = false, sflag = false, opt_e = false, opt_u = false, opt_x = false, opt_f = false;
    int i, st = 0;
    struct buf content = BUF_INIT;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t k;
        bool on;

        if (d == D_BASH && a[0] == '-' && a[1] == '-' && a[2]) {
            if (strcmp(a, "--norc") == 0 || strcmp(a, "--noprofile") == 0 ||
                strcmp(a, "--posix") == 0 || strcmp(a, "--login") == 0 ||
                strcmp(a, "--noediting") == 0)
                continue;
            sink_printf(p->r, p->err, "%s: %s: invalid option\n", argv[0], a);
            free(sh);
            return 2;
        }
        if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
            i++;
            break;
        }
        if ((a[0] != '-' && a[0] != '+') || !a[1])
            break;
        on = a[0] == '-';
        for (k = 1; a[k]; k++) {
            switch (a[k]) {
            case 'c': cflag = on; break;
            case 'e': opt_e = on; break;
            case 'u': opt_u = on; break;
            case 'x': opt_x = on; break;
            case 'f': opt_f = on; break;
            case 's': sflag = on; break;
            case 'i': case 'l': case 'v': case 'a': case 'b': case 'C': case 'h':
            case 'm': case 'n': case 'p': case 'B': case 'H': case 'P': case 'T': case 'E':
                break;
            case 'o':
                if (i + 1 < argc) {
                    const char *o = argv[++i];

                    if (strcmp(o, "errexit") == 0) opt_e = on;
                    else if (strcmp(o, "nounset") == 0) opt_u = on;
                    else if (strcmp(o, "xtrace") == 0) opt_x = on;
                    else if (strcmp(o, "noglob") == 0) opt_f = on;
                }
                break;
            default:
                if (d == D_DASH) {
                    sink_printf(p->r, p->err, "%s: 0: Illegal option %c%c\n", argv[0], a[0], a[k]);
                } else {
                    sink_printf(p->r, p->err, "%s: %c%c: invalid option\n", argv[0], a[0], a[k]);
                }
                free(sh);
                return 2;
            }
        }
    }
    if (cflag) {
        if (i >= argc) {
            if (d == D_DASH)
                sink_printf(p->r, p->err, "%s: 0: -c requires an argument\n", argv[0]);
            else
                sink_printf(p->r, p->err, "%s: -c: option requires an argument\n", argv[0]);
            free(sh);
            return 2;
        }
        script = argv[i++];
    } else if (i < argc && !sflag) {
        file = argv[i++];
    }
    sh->r = p->r;
    sh->d = d;
    sh->cwd = xstrdup(p->cwd);
    sh->nullsink.kind = SK_NULL;
    sh->umask = 022;
    sh->utf8 = p->utf8;
    sh->opt_e = opt_e;
    sh->opt_u = opt_u;
    sh->opt_x = opt_x;
    sh->opt_f = opt_f;
    sh->from_c = cflag;
    if (script) {
        sh->arg0 = xstrdup(i < argc ? argv[i++] : argv[0]);
    } else if (file) {
        sh->arg0 = xstrdup(file);
    } else {
        sh->arg0 = xstrdup(argv[0]);
    }
    strv_copy(&sh->params, argv + i, (size_t)(argc - i));
    sh_init_vars(sh, p->env);
    memset(&fds, 0, sizeof(fds));
    fds.out[1] = p->out;
    fds.out[2] = p->err;
    fds.in = p->in;
    if (script) {
        run_script(sh, script, strlen(script), SCR_C, &fds);
    } else if (file) {
        enum ftype t = box_stat(p->r, p->cwd, file, &content);

        if (t != F_REG && t != F_NULL) {
            if (d == D_DASH)
                sink_printf(p->r, p->err, "%s: 0: cannot open %s: %s\n", argv[0], file,
                            t == F_DIR ? "Is a directory" : "No such file");
            else
                sink_printf(p->r, p->err, "%s: %s: %s\n", argv[0], file,
                            t == F_DIR ? "Is a directory" : "No such file or directory");
            sh->status = d == D_DASH ? 2 : t == F_DIR ? 126 : 127;
        } else if (content.len > SCRIPT_MAX) {
            fatal(p->r, "script %s over %u bytes", file, SCRIPT_MAX);
        } else {
            /* a shell skips NUL bytes in its input */
            size_t a, b;

            for (a = b = 0; a < content.len; a++)
                if (content.data[a])
                    content.data[b++] = content.data[a];
            run_script(sh, buf_cstr(&content), b, SCR_FILE, &fds);
        }
    } else {
        char *chunk = xmalloc(CHUNK);
        size_t n;

        while ((n = source_read(p->r, p->in, chunk, CHUNK)) > 0) {
            size_t a;

            for (a = 0; a < n; a++)
                if (chunk[a])
                    buf_addch(&content, chunk[a]);
            if (content.len > SCRIPT_MAX) {
                fatal(p->r, "script on stdin over %u bytes", SCRIPT_MAX);
                break;
            }
        }
        free(chunk);
        if (!aborting(p->r))
            run_script(sh, buf_cstr(&content), content.len, SCR_STDIN, &fds);
    }
    buf_release(&content);
    if (sh->r->unwind == UW_PIPE)
        sh->status = 141;
    if (!aborting(sh->r))
        sh->r->unwind = UW_NONE;
    run_exit_trap(sh, &fds);
    st = sh->status;
    jobs_run(sh, 0, 0);
    if (!aborting(sh->r))
        sh->r->unwind = UW_NONE;
    sh_free(sh);
    return st;
}

static int prog_dash(struct proc *p, int argc, char **argv)
{
    return shell_main(p, D_DASH, argc, argv);
}

static int prog_bash(struct proc *p, int argc, char **argv)
{
    return shell_main(p, D_BASH, argc, argv);
}

static const struct prog progs[] = {
    { "[", prog_test, PK_PLAIN },
    { "basename", prog_basename, PK_PLAIN },
    { "bash", prog_bash, PK_READER },
    { "cat", prog_cat, PK_CONSUMER },
    { "dash", prog_dash, PK_READER },
    { "dirname", prog_dirname, PK_PLAIN },
    { "echo", prog_echo, PK_PLAIN },
    { "env", prog_env, PK_READER },
    { "false", prog_false, PK_PLAIN },
    { "head", prog_head, PK_CONSUMER },
    { "printf", prog_printf, PK_PLAIN },
    { "pwd", prog_pwd, PK_PLAIN },
    { "seq", prog_seq, PK_PLAIN },
    { "sh", prog_dash, PK_READER },
    { "sleep", prog_sleep, PK_PLAIN },
    { "test", prog_test, PK_PLAIN },
    { "true", prog_true, PK_PLAIN },
    { "uname", prog_uname, PK_PLAIN },
    { "wc", prog_wc, PK_CONSUMER },
    { "whoami", prog_whoami, PK_PLAIN },
    { "yes", prog_yes, PK_PLAIN },
};

static const struct prog *prog_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
        if (strcmp(progs[i].name, name) == 0)
            return &progs[i];
    return NULL;
}

/* ---------------------------------------------------------------- entry point */

int shell_run(const char *const *argv, size_t argc, const struct shell_env *env,
              const struct shell_io *io)
{
    struct run r;
    struct sink out1, out2;
    struct source in;
    struct strv av = STRV_INIT, ev = STRV_INIT;
    struct proc p;
    char *cwd;
    const char *name;
    int st = 0;
    size_t i;

    memset(&r, 0, sizeof(r));
    r.io = io;
    r.rng = 0x686f67626f78ull;  /* "hogbox" */
    memset(&out1, 0, sizeof(out1));
    memset(&out2, 0, sizeof(out2));
    out1.kind = out2.kind = SK_IO;
    out1.fd = 1;
    out2.fd = 2;
    memset(&in, 0, sizeof(in));
    if (argc == 0 || !argv || !argv[0])
        return 127;
    for (i = 0; i < argc; i++)
        strv_push(&av, xstrdup(argv[i] ? argv[i] : ""));
    for (i = 0; env && env->env && env->env[i]; i++)
        strv_push(&ev, xstrdup(env->env[i]));
    if (!ev.v) {
        strv_push(&ev, NULL);
        ev.n = 0;
    }
    cwd = path_normalise(env && env->workdir && env->workdir[0] == '/' ? env->workdir : "/");
    p.r = &r;
    p.out = &out1;
    p.err = &out2;
    p.in = &in;
    p.env = ev.v;
    p.cwd = cwd;
    p.utf8 = env_utf8(ev.v);
    p.parent = D_DASH;
    name = av.v[0];
    if (args_too_long(&av, &ev)) {
        sink_printf(&r, &out2, "sh: 1: %s: Argument list too long\n", name);
        st = 126;
    } else if (strchr(name, '/')) {
        enum xres x = exec_path(&p, name, (int)av.n, av.v, &st);

        if (x == X_DIR) {
            sink_printf(&r, &out2, "sh: 1: %s: Permission denied\n", name);
            st = 126;
        } else if (x != X_RAN) {
            sink_printf(&r, &out2, "sh: 1: %s: not found\n", name);
            st = 127;
        }
    } else {
        char *full = NULL;
        const struct prog *pg = path_lookup(env_get(ev.v, "PATH"), "/bin:/usr/bin", cwd, name, &full);

        free(full);
        if (pg) {
            st = run_program(&p, pg, (int)av.n, av.v);
        } else {
            sink_printf(&r, &out2, "sh: 1: %s: not found\n", name);
            st = 127;
        }
    }
    strv_release(&av);
    strv_release(&ev);
    free(cwd);
    if (r.unwind == UW_STOP)
        return SHELL_STOPPED;
    if (r.unwind == UW_FATAL)
        return 2;
    return st & 255;
}
