/* Unit tests for common/shell: the emulated hogbox shell, checked byte for byte against
 * this machine's real dash (/bin/sh), bash and coreutils, run from a temporary directory
 * holding the same files the fake read_file serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "shell.h"
#include "xmalloc.h"

/* ------------------------------------------------------------ the box: files in a temp dir */

static char box_dir[64];

/* The files of the box, relative to box_dir ("" content with dir set: a directory). */
static const struct { const char *path; const char *content; bool dir; } box_files[] = {
    { "d", NULL, true },
    { "d/g.txt", "in d\n", false },
    { "f.txt", "hello\nworld\n", false },
    { "empty.txt", "", false },
    { "nonl.txt", "no newline", false },
    { "words.txt", "  one two\tthree\n\nfour  five six\nseven\n", false },
    { "script.sh", "#!/bin/sh\necho \"from script: $0 $# $1\"\nexit 3\n", false },
    { "plain.sh", "echo plain $1\n", false },
    { "lib.sh", "greet() { echo \"hi $1\"; }\nLIBVAR=loaded\n", false },
};

#define NFILES (sizeof(box_files) / sizeof(box_files[0]))

static void box_create(void)
{
    size_t i;

    strcpy(box_dir, "/tmp/hogshell.XXXXXX");
    assert_non_null(mkdtemp(box_dir));
    for (i = 0; i < NFILES; i++) {
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", box_dir, box_files[i].path);
        if (box_files[i].dir) {
            assert_int_equal(mkdir(path, 0755), 0);
        } else {
            FILE *f = fopen(path, "wb");

            assert_non_null(f);
            fwrite(box_files[i].content, 1, strlen(box_files[i].content), f);
            fclose(f);
            chmod(path, 0755);
        }
    }
}

static void box_remove(void)
{
    size_t i;

    for (i = NFILES; i-- > 0;) {
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", box_dir, box_files[i].path);
        if (box_files[i].dir)
            rmdir(path);
        else
            unlink(path);
    }
    rmdir(box_dir);
}

static enum rc fake_read(void *ctx, const char *path, struct buf *content)
{
    size_t n = strlen(box_dir), i;

    (void)ctx;
    if (strcmp(path, box_dir) == 0)
        return RC_INVALID;
    if (strncmp(path, box_dir, n) != 0 || path[n] != '/')
        return RC_NOT_FOUND;
    for (i = 0; i < NFILES; i++) {
        if (strcmp(path + n + 1, box_files[i].path) != 0)
            continue;
        if (box_files[i].dir)
            return RC_INVALID;
        buf_addstr(content, box_files[i].content);
        return RC_OK;
    }
    return RC_NOT_FOUND;
}

/* ------------------------------------------------------------ running: emulated and real */

struct result {
    struct buf out, err;
    int status;
    size_t writes, max_write;
    struct buf events;      /* "w1:...", "s:1000" in order, for the callback tests */
    int stop_after_writes;  /* > 0: the nth write asks to stop */
    int stop_after_sleeps;
    int sleeps;
    uint64_t slept;
};

static void result_init(struct result *r)
{
    memset(r, 0, sizeof(*r));
}

static void result_release(struct result *r)
{
    buf_release(&r->out);
    buf_release(&r->err);
    buf_release(&r->events);
}

static int cap_write(void *ctx, int fd, const char *data, size_t len)
{
    struct result *r = ctx;

    assert_true(len > 0 && len <= SHELL_WRITE_MAX);
    assert_true(fd == 1 || fd == 2);
    buf_add(fd == 1 ? &r->out : &r->err, data, len);
    r->writes++;
    if (len > r->max_write)
        r->max_write = len;
    if (r->events.len < 4096) {
        buf_addf(&r->events, "w%d:", fd);
        buf_add(&r->events, data, len < 32 ? len : 32);
        buf_addch(&r->events, '|');
    }
    return r->stop_after_writes > 0 && (int)r->writes >= r->stop_after_writes;
}

static int cap_sleep(void *ctx, uint64_t ms)
{
    struct result *r = ctx;

    r->sleeps++;
    r->slept += ms;
    if (r->events.len < 4096)
        buf_addf(&r->events, "s:%llu|", (unsigned long long)ms);
    return r->stop_after_sleeps > 0 && r->sleeps >= r->stop_after_sleeps;
}

static int emulate(const char *const *argv, const char *const *env, struct result *res)
{
    struct shell_io io = { cap_write, cap_sleep, fake_read, res };
    struct shell_env se = { env, box_dir };
    size_t argc = 0;

    while (argv[argc])
        argc++;
    res->status = shell_run(argv, argc, &se, &io);
    return res->status;
}

static void drain(int fd, struct buf *b, bool *open)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));

    if (n > 0)
        buf_add(b, chunk, (size_t)n);
    else if (n == 0 || errno != EINTR)
        *open = false;
}

/* Run argv on this machine from box_dir with exactly env, stdin from /dev/null. */
static void run_real(const char *const *argv, const char *const *env, struct result *res)
{
    int po[2], pe[2], status;
    pid_t pid;
    bool oo = true, eo = true;
    char path[256];

    if (strchr(argv[0], '/'))
        snprintf(path, sizeof(path), "%s", argv[0]);
    else
        snprintf(path, sizeof(path), "/usr/bin/%s", argv[0]);
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        dup2(null, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        if (chdir(box_dir) != 0)
            _exit(99);
        signal(SIGPIPE, SIG_DFL);
        execve(path, (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    while (oo || eo) {
        struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };

        if (poll(fds, 2, 10000) <= 0)
            break;
        if (oo && (fds[0].revents & (POLLIN | POLLHUP)))
            drain(po[0], &res->out, &oo);
        if (eo && (fds[1].revents & (POLLIN | POLLHUP)))
            drain(pe[0], &res->err, &eo);
    }
    close(po[0]);
    close(pe[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ------------------------------------------------------------ the comparison table */

enum cmp {
    CMP_ALL,            /* stdout, stderr and status byte for byte */
    CMP_SIZES,          /* sizes and status: the bytes depend on the host or on chance */
    CMP_STATUS_STDOUT,  /* stderr differs knowingly: see the case's reason */
    CMP_STATUS,         /* only the status: the output is this host's */
};

struct tcase {
    const char *mode;       /* "sh", "bash" (a -c script) or "argv" */
    const char *args[16];
    enum cmp cmp;
    const char *why;        /* why a case compares less than everything */
    bool utf8;              /* run with LANG=C.UTF-8 */
    bool x87;               /* needs the real 80-bit long double: skipped under valgrind */
};

static const struct tcase cases[] = {
    /* direct argv: what execve of coreutils gives */
    { "argv", { "echo", "hello", "world" } },
    { "argv", { "echo", "-n", "no newline" } },
    { "argv", { "echo", "a\\tb", "-e" } },
    { "argv", { "echo", "-e", "a\\tb\\101\\0102\\x43\\c", "not printed" } },
    { "argv", { "echo", "-neE", "x\\n" } },
    { "argv", { "/bin/echo", "--", "-n" } },
    { "argv", { "printf", "%s=%d|%5.2f|%-4s|%x|%o|%c|%%\\n", "a", "42", "3.14159", "ab", "255", "8", "xyz" } },
    { "argv", { "printf", "%s,%s\\n", "1", "2", "3" } },
    { "argv", { "printf", "%d %i\\n", "abc", "12abc" } },
    { "argv", { "printf", "%b|%q\\n", "a\\tb\\0101\\c", "x y" } },
    { "argv", { "printf" } },
    { "argv", { "printf", "x", "extra" } },
    { "argv", { "printf", "%z" } },
    { "argv", { "cat", "f.txt", "nonl.txt", "-", "empty.txt" } },
    { "argv", { "cat", "nope.txt" } },
    { "argv", { "/bin/cat", "d", "f.txt" } },
    { "argv", { "cat", "-n", "words.txt" } },
    { "argv", { "cat", "-A", "words.txt" } },
    { "argv", { "true", "--anything" } },
    { "argv", { "false" } },
    { "argv", { "seq", "3" } },
    { "argv", { "seq", "2", "5" } },
    { "argv", { "seq", "10", "-3", "1" } },
    { "argv", { "seq", "-s", ", ", "1", "4" } },
    { "argv", { "seq", "-w", "8", "11" } },
    { "argv", { "seq", "0", "0.25", "1" } },
    { "argv", { "seq", "-f", "%.3e", "1", "3" } },
    { "argv", { "seq", "-3", "-1" } },
    { "argv", { "seq", "5", "1" } },
    { "argv", { "seq", "x" } },
    { "argv", { "seq" } },
    { "argv", { "seq", "1", "0", "3" } },
    { "argv", { "seq", "99999999999999999998", "100000000000000000001" } },
    { "argv", { "sleep", "0.01" } },
    { "argv", { "sleep", "x" } },
    { "argv", { "sleep" } },
    { "argv", { "sleep", "-1" } },
    { "argv", { "head", "-c", "7", "f.txt" } },
    { "argv", { "head", "-n", "1", "f.txt", "words.txt" } },
    { "argv", { "head", "-c", "x", "f.txt" } },
    { "argv", { "head", "nope.txt" } },
    { "argv", { "head", "-c", "1000", "/dev/zero" } },
    { "argv", { "head", "-c", "1000", "/dev/urandom" }, CMP_SIZES, "random bytes" },
    { "argv", { "head", "-n", "-2", "words.txt" } },
    { "argv", { "head", "-c", "-3", "f.txt" } },
    { "argv", { "wc", "-c", "f.txt" } },
    { "argv", { "wc", "f.txt", "words.txt" } },
    { "argv", { "wc", "-l", "-w", "nope.txt", "f.txt" } },
    { "argv", { "wc", "-c" } },
    { "argv", { "wc", "-x" } },
    { "argv", { "env" } },
    { "argv", { "env", "-i", "A=1", "B=2" } },
    { "argv", { "env", "X=1", "PATH=/usr/bin", "env" } },
    { "argv", { "env", "nope-cmd" } },
    { "argv", { "env", "-u" } },
    { "argv", { "pwd" } },
    { "argv", { "uname" } },
    { "argv", { "uname", "-a" }, CMP_STATUS, "the kernel release and host name are this machine's" },
    { "argv", { "uname", "-s", "-o" } },
    { "argv", { "uname", "-x" } },
    { "argv", { "uname", "extra" } },
    { "argv", { "/usr/bin/seq", "2" } },
    { "argv", { "test", "1", "-lt", "2" } },
    { "argv", { "[", "a", "=", "b", "]" } },

    /* sh -c: dash */
    { "sh", { "sh", "-c", "echo hi; echo there >&2; exit 3" } },
    { "sh", { "sh", "-c", "echo -n a; echo -e 'b\\tc\\0101'; echo 'x\\cy'; echo done" } },
    { "sh", { "sh", "-c", "false; echo $?; true && echo and; false || echo or" } },
    { "sh", { "sh", "-c", "exit 300" } },
    { "sh", { "sh", "-c", "nosuchcmd arg; echo after $?" } },
    { "sh", { "sh", "-c", "echo a\nnosuch" } },
    { "sh", { "sh", "-c", "X=1; echo $X ${X} \"$X\" '$X' \\$X ${Y:-def} ${X:+alt} ${#X}" } },
    { "sh", { "sh", "-c", "for i in 1 2 3; do echo $i; done" } },
    { "sh", { "sh", "-c", "for i in $(seq 2 4); do echo n$i; done; echo $(seq 1 3)" } },
    { "sh", { "sh", "-c", "x=$(printf 'a\\n\\n\\n'); echo \"[$x]\"; y=\"$(echo '  spaced  out ')\"; echo [$y] \"[$y]\"" } },
    { "sh", { "sh", "-c", "if [ -f f.txt ]; then echo file; else echo none; fi; if [ -d nope ]; then :; elif test -d d; then echo dir; fi" } },
    { "sh", { "sh", "-c", "cat f.txt nope.txt d; echo $?" } },
    { "sh", { "sh", "-c", "printf '%s|' a b c; printf '\\n'; printf '%d\\n' x; echo st=$?" } },
    { "sh", { "sh", "-c", "echo out; echo err 1>&2; echo both 2>&1; echo gone >/dev/null; ls_nope 2>/dev/null; echo $?" } },
    { "sh", { "sh", "-c", "env" } },
    { "sh", { "sh", "-c", "A=1 B=2 env; echo ---; export Z=26; env" } },
    { "sh", { "sh", "-c", "pwd; cd d; pwd; cd ..; pwd; cd nope; echo $?" } },
    { "sh", { "sh", "-c", "uname; uname -s" } },
    { "sh", { "sh", "-c", "seq 1 3 | wc -l; echo hello | cat; printf 'a\\nb\\nc\\n' | head -n 2" } },
    { "sh", { "sh", "-c", "head -c 100000 /dev/zero | wc -c; echo x | wc" } },
    { "sh", { "sh", "-c", "for i in 1 2; do" } },
    { "sh", { "sh", "-c", "echo 'unterminated" } },
    { "sh", { "sh", "-c", "echo a; fi" } },
    { "sh", { "sh", "-c", "if true; then fi" } },
    { "sh", { "sh", "-c", "echo $(echo" } },
    { "sh", { "sh", "-c", "echo ${x" } },
    { "sh", { "sh", "-c", "echo a |" } },
    { "sh", { "sh", "-c", "( echo sub; exit 4 ); echo $?; { echo brace; }" } },
    { "sh", { "sh", "-c", "i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo w$i; done; until true; do :; done" } },
    { "sh", { "sh", "-c", "case foo.txt in *.sh) echo sh;; *.txt|*.md) echo text;; esac" } },
    { "sh", { "sh", "-c", "f() { echo \"in f: $# $1\"; return 5; }; f a b; echo $?" } },
    { "sh", { "sh", "-c", "set -- a 'b c' d; echo $#; for x in \"$@\"; do echo \"[$x]\"; done; shift; echo $*" } },
    { "sh", { "sh", "-c", "echo $((3 * (4 + 2) / 5)) $((7 % 3)) $((1 << 4)) $((-5 / 2))" } },
    { "sh", { "sh", "-c", "echo $((1/0)); echo notreached" } },
    { "sh", { "sh", "-c", "x=a.b.c; echo ${x#*.} ${x##*.} ${x%.*} ${x%%.*}" } },
    { "sh", { "sh", "-c", "read a b <f.txt; echo \"$a|$b\"; cat <<EOF\nhere $HOME\nEOF\ncat <<'E'\nraw $HOME\nE" } },
    { "sh", { "sh", "-c", "set -e; echo one; false; echo two" } },
    { "sh", { "sh", "-c", "echo `echo back quoted`; echo \"$(echo \"nested $(echo deep)\")\"" } },
    { "sh", { "sh", "-c", "sleep 0.01; sleep x; echo $?" } },
    { "sh", { "sh", "-c", "/bin/echo -e 'a\\tb'; /usr/bin/env -i /bin/sh -c 'echo $PATH'" } },
    { "sh", { "sh", "-c", "sh -c 'echo inner $0 $1' name arg; bash -c 'echo b'; exit" } },
    { "sh", { "sh", "-c", "./script.sh x; echo $?; sh plain.sh p; . ./lib.sh; greet you; echo $LIBVAR" } },
    { "sh", { "sh", "-c", "trap 'echo bye' EXIT; echo hi; exit 2" } },
    { "sh", { "sh", "-c", "IFS=:; x=a:b::c; for f in $x; do echo \"<$f>\"; done" } },
    { "sh", { "sh", "-c", "echo ${v?is unset}" } },
    { "sh", { "sh", "-c", "seq 1000 | head -n 2; seq 100000 | tail_nope 2>/dev/null; echo $?" } },
    { "sh", { "sh", "-c", "type echo cat nope; command -v seq" } },
    { "sh", { "sh", "-c", "printf '%s\\n' \"$0\" \"$#\"; echo ~ ~/x" } },
    { "sh", { "sh", "-c", "export -p; readonly R=1; echo $R" } },

    /* bash -c */
    { "bash", { "bash", "-c", "echo hi; nosuch; echo $?" } },
    { "bash", { "bash", "-c", "echo -e 'a\\tb'; echo 'a\\tb'; echo -n x; echo" } },
    { "bash", { "bash", "-c", "for i in 1 2; do echo $i; done; fi" } },
    { "bash", { "bash", "-c", "echo 'open" } },
    { "bash", { "bash", "-c", "if true; then" } },
    { "bash", { "bash", "-c", "printf '%d|%s\\n' 12abc x; echo st=$?" } },
    { "bash", { "bash", "-c", "env" } },
    { "bash", { "bash", "-c", "env; true" } },
    { "bash", { "bash", "-c", "X=1 env; (env)" } },
    { "bash", { "bash", "-c", "echo $((2**10)) $((i++)) $i; echo $((1/0)); echo after" } },
    { "bash", { "bash", "-c", "f() { local x=in; echo $x; }; x=out; f; echo $x" } },


    /* exploratory: more edges */
    { "argv", { "printf", "%c|%5s|%-5d|%05d|%+d|%.0f|%e|%g|%#x|%*d|\\n", "", "ab", "3", "42", "7", "2.5", "1", "0.0001", "255", "4", "9" } },
    { "argv", { "printf", "%d %s %d\\n", "1" } },
    { "argv", { "printf", "a\\cb" } },
    { "argv", { "printf", "%b\\n", "x\\cy", "z" } },
    { "argv", { "printf", "\\e[1m\\x41\\u00e9\\n" } },
    { "argv", { "printf", "%d\\n", "'A", "\"B", "0x1F", "010", "-7", " 5", "5 " } },
    { "argv", { "printf", "%d\\n", "99999999999999999999" } },
    { "argv", { "printf", "%.3s|%10.4f|%-+6d|%#o|%G|%a\\n", "abcdef", "3.14159", "42", "8", "0.00001", "1" } },
    { "argv", { "printf", "%s" } },
    { "argv", { "printf", "%" } },
    { "argv", { "printf", "%5%" } },
    { "argv", { "printf", "\\x" } },
    { "sh", { "sh", "-c", "printf '%c|%5s|%-5d|%05d|%+d|%.0f|%e|%g|%#x|%*d|\\n' '' ab 3 42 7 2.5 1 0.0001 255 4 9" } },
    { "sh", { "sh", "-c", "printf '%d %s %d\\n' 1; printf 'a\\cb\\n'; printf '%b|' 'x\\cy' z; echo" } },
    { "sh", { "sh", "-c", "printf '\\e[1m\\x41\\101\\n'; printf '%d\\n' \\'A 0x1F 010 -7 ' 5' '5 '" } },
    { "sh", { "sh", "-c", "printf '%d\\n' 99999999999999999999; printf '%z'; echo st=$?; printf; echo st=$?" } },
    { "sh", { "sh", "-c", "printf '%.3s|%10.4f|%-+6d|%#o|%G|%a\\n' abcdef 3.14159 42 8 0.00001 1" } },
    { "bash", { "bash", "-c", "printf '%c|%5s|%-5d|%05d|%+d|%.0f|%e|%g|%#x|%*d|\\n' '' ab 3 42 7 2.5 1 0.0001 255 4 9" } },
    { "bash", { "bash", "-c", "printf '%d %s %d\\n' 1; printf 'a\\cb\\n'; printf '%b|' 'x\\cy' z; echo" } },
    { "bash", { "bash", "-c", "printf '\\e[1m\\x41\\101\\n'; printf '%d\\n' \\'A 0x1F 010 -7 ' 5' '5 '" } },
    { "bash", { "bash", "-c", "printf '%d\\n' 99999999999999999999; printf '%z'; echo st=$?; printf; echo st=$?" } },
    { "bash", { "bash", "-c", "printf '%q %q %q\\n' 'a b' \"it's\" ''; printf -v v '%05d' 42; echo $v" } },
    { "sh", { "sh", "-c", "echo -n -n x; echo; echo -- -n; echo -e; echo '\\0101\\x41\\c' tail; echo end" } },
    { "sh", { "sh", "-c", "set --; for a in \"$@\"; do echo in; done; echo \"[$@]\" \"[$*]\"; set -- 'a b' c; printf '<%s>' $@ \"$@\" $* \"$*\"; echo" } },
    { "sh", { "sh", "-c", "x=; echo \"${x:-\"a b\"}\" ${x-unset} ${x:=set} $x ${#x} ${y:+no}end" } },
    { "sh", { "sh", "-c", "echo one \\\n two # comment\necho three#notcomment" } },
    { "sh", { "sh", "-c", "cat <<-EOF\n\tindented $((1+1))\n\tEOF\ncat <<E1; cat <<'E2'\nfirst $(echo sub)\nE1\nsecond $(echo no)\nE2" } },
    { "sh", { "sh", "-c", "cat <<EOF\nunterminated" } },
    { "sh", { "sh", "-c", "true | false; echo $?; false | true; echo $?; ! true; echo $?; ! false | false; echo $?" } },
    { "sh", { "sh", "-c", "printf 'a b\\nc d\\n' | while read x y; do echo \"$y-$x\"; done; echo after" } },
    { "sh", { "sh", "-c", "{ echo a; echo b >&2; } 2>&1 | cat; (echo sub; echo err >&2) 2>/dev/null | wc -l" } },
    { "sh", { "sh", "-c", "echo x >&-; echo st=$?; echo y 2>&1 >/dev/null; nope 2>&1 >/dev/null | cat" } },
    { "sh", { "sh", "-c", "echo > /nonexistent/dir/file; echo st=$?; echo > d; echo st=$?; cat < nope.txt; echo st=$?" } },
    { "sh", { "sh", "-c", "echo $((1+2*3)) $((10>3)) $((5&3)) $((5|3)) $((5^3)) $((~5)) $((!5)) $((2>1?7:8)) $((x=4)) $((x+=2)) $x" } },
    { "sh", { "sh", "-c", "echo $((1+))" } },
    { "sh", { "sh", "-c", "echo $((08))" } },
    { "sh", { "sh", "-c", "x=abc; echo $((x+1))" } },
    { "sh", { "sh", "-c", "case b in [abc]) echo class;; esac; case '*' in \\*) echo star;; esac; case x in ?) echo one;; esac; case abc in 'a'*) echo q;; *) echo default;; esac" } },
    { "sh", { "sh", "-c", "fib() { if [ $1 -le 1 ]; then echo $1; else echo $(( $(fib $(($1-1))) + $(fib $(($1-2))) )); fi; }; fib 10" } },
    { "sh", { "sh", "-c", "wc -m words.txt; wc -L words.txt; wc -w words.txt; wc words.txt f.txt nonl.txt; wc < f.txt; wc -l < f.txt" } },
    { "sh", { "sh", "-c", "printf 'a\\001b c\\200d\\n' | wc -w; printf 'x' | wc; printf '' | wc -c" } },
    { "sh", { "sh", "-c", "head -n 0 f.txt; head -c 0 f.txt; head -q -n1 f.txt words.txt; head -v -c3 f.txt; echo; echo in | head -n1 - f.txt" } },
    { "sh", { "sh", "-c", "seq 1 0.5 3; seq -w -5 3 5; seq 1 7 40; seq -s '--' 3; seq -f '%g' 0.1 0.1 0.5; seq 1e3 1e3; seq 0.1 0.1 0.3" } },
    { "sh", { "sh", "-c", "env -u HOME; env -i; env -C d pwd; env -i sh -c 'env'; env -i bash -c 'echo $SHLVL'" } },
    { "sh", { "sh", "-c", "printf 'a\\n\\n\\n\\tb\\001\\177\\200\\n' | cat -s -b -E -T -v" } },
    { "sh", { "sh", "-c", "set -u; echo ok; echo $nope; echo notreached" } },
    { "sh", { "sh", "-c", "set -x; echo \"a b\" c; x=1; echo $x >&2" } },
    { "sh", { "sh", "-c", "(exit 256); echo $?; (exit 255); echo $?; exit -1" } },
    { "sh", { "sh", "-c", "cd d; cd -; echo $OLDPWD; env | grep_nope; cd /; pwd; cd; pwd" } },
    { "sh", { "sh", "-c", "sleep 0.001s; sleep 0.0001m; sleep 1x; sleep 1 2x" } },
    { "argv", { "sh" } },
    { "argv", { "sh", "-c" } },
    { "argv", { "sh", "-q" } },
    { "argv", { "sh", "-ec", "false; echo no" } },
    { "argv", { "sh", "nope.sh" } },
    { "argv", { "sh", "-c", "echo $0 $1 $2", "zero", "one" } },
    { "argv", { "bash", "-c", "echo $0 $1 $2", "zero", "one" } },
    { "argv", { "bash", "nope.sh" } },
    { "argv", { "./script.sh", "arg" } },
    { "argv", { "uname", "-r" }, CMP_STATUS, "this host's kernel" },
    { "sh", { "sh", "-c", "x=$(exit 5); echo $?; x=$(false) y=1; echo $?; $(exit 3); echo $?" } },
    { "sh", { "sh", "-c", "seq 100000 | wc -l; seq 3 | { read a; read b; echo $b$a; }; echo hi | (cat; echo done)" } },
    { "sh", { "sh", "-c", "for i in 1 2 3; do for j in a b; do [ $j = b ] && continue 2; echo $i$j; [ $i = 2 ] && break 2; done; done; echo out" } },
    { "sh", { "sh", "-c", "f() { local v=1; g; }; g() { echo \"g sees $v\"; }; v=0; f; echo $v; unset -f f; f" } },
    { "sh", { "sh", "-c", "eval 'echo ev; x=7'; echo $x; eval 'if'; echo no" } },
    { "sh", { "sh", "-c", "exec echo replaced; echo not here" } },
    { "sh", { "sh", "-c", "echo ${x:?custom msg}; echo no" } },
    { "sh", { "sh", "-c", "for 1 in a; do :; done" } },
    { "sh", { "sh", "-c", "echo a && && echo b" } },
    { "sh", { "sh", "-c", "case x in" } },
    { "sh", { "sh", "-c", "echo (foo)" } },
    { "sh", { "sh", "-c", "while true; do echo loop; break; done; until false; do break; done; echo $?" } },
    { "bash", { "bash", "-c", "echo a && && echo b" } },
    { "bash", { "bash", "-c", "echo (foo)" } },
    { "bash", { "bash", "-c", "case x in" } },
    { "bash", { "bash", "-c", "echo ${x:?custom msg}; echo no" } },
    { "bash", { "bash", "-c", "set -x; echo \"a b\" c; x=1; echo $x >&2" } },
    { "bash", { "bash", "-c", "cd nope; echo $?; cd f.txt; echo $?; type nope; echo $?" } },
    { "bash", { "bash", "-c", "echo $((1+)); echo no" } },
    { "bash", { "bash", "-c", "echo $((x=3, x*2)) $((08))" } },
    { "bash", { "bash", "-c", "exit 1 2; echo still; exit x" } },
    { "bash", { "bash", "-c", "read; echo \"[$REPLY]\"; false; (env); echo st=$?" } },
    { "bash", { "bash", "-c", "{ env; }; false || env" } },
    { "bash", { "bash", "-c", "echo -e '\\1\\0101\\x41\\u00e9\\e.' | cat -v" } },
    /* regression cases found while comparing: quoting, expansions, syntax errors, builtins,
     * pipelines, here-documents, [[ ]], brace expansion, coreutils options and messages,
     * and the environment order of dash's and bash's hash tables */
    { "sh", { "sh", "-c", "echo \"$(cat f.txt)\"; echo $(cat nonl.txt)x" } },
    { "sh", { "sh", "-c", "a=1 b=2; echo $a$b; echo ${a}b; unset a; echo ${a-none}" } },
    { "sh", { "sh", "-c", "echo \"a\\\\b\" 'a\\b' a\\b \"a\\$x\" \"\\\"q\\\"\"" } },
    { "sh", { "sh", "-c", "echo $HOME ~root ~nobody \"~\" x~" } },
    { "sh", { "sh", "-c", "for x in a b; do echo $x; done > /dev/null; echo ok" } },
    { "sh", { "sh", "-c", "echo a; exit; echo b" } },
    { "sh", { "sh", "-c", "exit 0; echo no" } },
    { "sh", { "sh", "-c", "false; exit" } },
    { "sh", { "sh", "-c", "echo ${#}; echo ${10}; set -- 1 2 3 4 5 6 7 8 9 10; echo ${10} $10" } },
    { "sh", { "sh", "-c", "echo $$ >/dev/null; echo $- ; echo $!" } },
    { "sh", { "sh", "-c", "echo \"$*\" \"$@\"" } },
    { "sh", { "sh", "-c", "printf '%s\\n' \"${HOME#/}\" \"${HOME%o*}\" \"${HOME##*o}\"" } },
    { "sh", { "sh", "-c", "x='a*b'; echo ${x#*\\*} ${x%'*'b}" } },
    { "sh", { "sh", "-c", "v=hello; echo ${v#h*l} ${v##h*l} ${v%l*} ${v%%l*}" } },
    { "sh", { "sh", "-c", "echo $(( 0x10 + 010 + 10 ))" } },
    { "sh", { "sh", "-c", "i=5; i=$((i*i)); echo $i; echo $((i>20 && i<30))" } },
    { "sh", { "sh", "-c", "echo \"$((1+1))\" '$((1+1))'" } },
    { "sh", { "sh", "-c", "echo $(echo $(echo $(echo deep)))" } },
    { "sh", { "sh", "-c", "echo \"a" } },
    { "sh", { "sh", "-c", "echo 'a'\"b\"c\\ d" } },
    { "sh", { "sh", "-c", "echo a\\\nb" } },
    { "sh", { "sh", "-c", "if false; then echo a; fi; echo $?" } },
    { "sh", { "sh", "-c", "if; then" } },
    { "sh", { "sh", "-c", "while" } },
    { "sh", { "sh", "-c", "until true do" } },
    { "sh", { "sh", "-c", "for" } },
    { "sh", { "sh", "-c", "for x" } },
    { "sh", { "sh", "-c", "for x in" } },
    { "sh", { "sh", "-c", "{" } },
    { "sh", { "sh", "-c", "}" } },
    { "sh", { "sh", "-c", "(" } },
    { "sh", { "sh", "-c", ")" } },
    { "sh", { "sh", "-c", ";;" } },
    { "sh", { "sh", "-c", "|" } },
    { "sh", { "sh", "-c", "echo a | | echo b" } },
    { "sh", { "sh", "-c", "echo >" } },
    { "sh", { "sh", "-c", "echo <" } },
    { "sh", { "sh", "-c", "echo 2>" } },
    { "sh", { "sh", "-c", "cat <<" } },
    { "sh", { "sh", "-c", "echo $(" } },
    { "sh", { "sh", "-c", "echo ${" } },
    { "sh", { "sh", "-c", "echo ${}" } },
    { "sh", { "sh", "-c", "echo ${a b}" } },
    { "sh", { "sh", "-c", "echo ${a:}" } },
    { "sh", { "sh", "-c", "echo ${a:x}" } },
    { "sh", { "sh", "-c", "echo ${#a:-x}" } },
    { "sh", { "sh", "-c", "echo `" } },
    { "sh", { "sh", "-c", "echo $((" } },
    { "sh", { "sh", "-c", "case" } },
    { "sh", { "sh", "-c", "case a in a) echo a" } },
    { "sh", { "sh", "-c", "case a in a) echo a;; esac; case b in (b) echo b;; esac" } },
    { "sh", { "sh", "-c", "if true; then echo a; else; fi" } },
    { "sh", { "sh", "-c", "while false; do; done" } },
    { "sh", { "sh", "-c", "f() echo f; f" } },
    { "sh", { "sh", "-c", "f() { echo f" } },
    { "sh", { "sh", "-c", "1a() { :; }" } },
    { "sh", { "sh", "-c", "f(); " } },
    { "sh", { "sh", "-c", "! ! true; echo $?" } },
    { "sh", { "sh", "-c", "echo a;" } },
    { "sh", { "sh", "-c", "echo a;;" } },
    { "sh", { "sh", "-c", "echo a && echo b || echo c && echo d" } },
    { "sh", { "sh", "-c", "false && echo b || echo c" } },
    { "sh", { "sh", "-c", "echo \"$(echo \"a b\")\" $(echo \"a   b\")" } },
    { "sh", { "sh", "-c", "x='  a  b  '; echo [$x] \"[$x]\"; IFS=; echo [$x]" } },
    { "sh", { "sh", "-c", "IFS=,; set -- $(echo \"a,b,,c\"); echo $#" } },
    { "sh", { "sh", "-c", "x=\" a : b \"; IFS=' :'; for i in $x; do echo \"[$i]\"; done" } },
    { "sh", { "sh", "-c", "echo */x" } },
    { "sh", { "sh", "-c", "echo \"\\$HOME\" \"\\`\" \"\\\\\"" } },
    { "sh", { "sh", "-c", "a=x; b=$a$a; c=\"$b $a\"; echo $c" } },
    { "sh", { "sh", "-c", "echo ${x:=default}; echo $x" } },
    { "sh", { "sh", "-c", "echo ${1:-none} ${1+set}" } },
    { "sh", { "sh", "-c", "echo $0" } },
    { "sh", { "sh", "-c", "test; echo $?; test \"\"; echo $?; test x; echo $?; test -n; echo $?; test -z \"\"; echo $?" } },
    { "sh", { "sh", "-c", "[ 1 -eq 1 -a 2 -gt 1 ]; echo $?; [ ! -e nope ]; echo $?; [ \\( a = a \\) -o b = c ]; echo $?" } },
    { "sh", { "sh", "-c", "[ a = ]; echo $?; [ = a ]; echo $?; [ -f ]; echo $?" } },
    { "sh", { "sh", "-c", "[ 1 -lt ]; echo $?" } },
    { "sh", { "sh", "-c", "[ 01 -eq 1 ]; echo $?; [ \" 1\" -eq 1 ]; echo $?; [ \"1 \" -eq 1 ]; echo $?" } },
    { "sh", { "sh", "-c", "[ a \\< b ]; echo $?; [ -s f.txt ]; echo $?; [ -s empty.txt ]; echo $?; [ -x script.sh ]; echo $?" } },
    { "sh", { "sh", "-c", "test -e d -a -d d; echo $?; test f.txt -ef ./f.txt; echo $?" } },
    { "sh", { "sh", "-c", "[ a b c ]; echo $?" } },
    { "sh", { "sh", "-c", "test a -x b; echo $?" } },
    { "bash", { "bash", "-c", "[ \"1 \" -eq 1 ]; echo $?; [ a = ]; echo $?; [ 1 -lt ]; echo $?; [ a b c ]; echo $?; test a -x b; echo $?" } },
    { "bash", { "bash", "-c", "[ ! ]; echo $?; [ ( ]; echo $?; [ -n ]; echo $?; [ ! -n ]; echo $?; [ a -a ]; echo $?" } },
    { "argv", { "test", "1 -lt" } },
    { "argv", { "test", "a =" } },
    { "argv", { "test", "a b c" } },
    { "argv", { "test", "\"1 \" -eq 1" } },
    { "argv", { "test", "x -eq 1" } },
    { "argv", { "[", "a" } },
    { "argv", { "test", "( a" } },
    { "argv", { "test", "!" } },
    { "argv", { "test", "a -a b -o c" } },
    { "bash", { "bash", "-c", "echo $'a\\tb' $\"x\"" } },
    { "bash", { "bash", "-c", "echo {1..3} {a,b}c" } },
    { "bash", { "bash", "-c", "[[ a == a ]] && echo yes" } },
    { "sh", { "sh", "-c", "echo {1..3}" } },
    { "sh", { "sh", "-c", "echo $'a\\tb'" } },
    { "sh", { "sh", "-c", "cat <<EOF\n$(echo a)`echo b`\\$HOME\\\\\n\\\nEOF" } },
    { "sh", { "sh", "-c", "cat <<\"EOF\"\n$HOME\nEOF" } },
    { "sh", { "sh", "-c", "cat <<E\\OF\n$HOME\nEOF" } },
    { "sh", { "sh", "-c", "cat << EOF\nx\n EOF\nEOF" } },
    { "sh", { "sh", "-c", "cat <<EOF; echo after\nbody\nEOF" } },
    { "sh", { "sh", "-c", "read x <<EOF\nhello world\nEOF\necho \"[$x]\"" } },
    { "sh", { "sh", "-c", "while read l; do echo \"<$l>\"; done < words.txt" } },
    { "sh", { "sh", "-c", "while IFS= read -r l; do echo \"<$l>\"; done < words.txt" } },
    { "sh", { "sh", "-c", "read -r a b c <<EOF\n  x\\ y   z  w  \nEOF\necho \"[$a][$b][$c]\"" } },
    { "sh", { "sh", "-c", "read a b <<EOF\nx\\\ny z\nEOF\necho \"[$a][$b]\"" } },
    { "sh", { "sh", "-c", "echo $(( $(echo 3) + 4 ))" } },
    { "sh", { "sh", "-c", "n=3; echo $(($n+1)) $((n+1))" } },
    { "sh", { "sh", "-c", "echo \"${x-a\\}b}\"" } },
    { "sh", { "sh", "-c", "x=5; echo \"${x:+\"quoted $x\"}\"" } },
    { "sh", { "sh", "-c", "unset x; echo ${x=y z}; echo \"$x\"" } },
    { "sh", { "sh", "-c", "echo ${#HOME} ${#?} ${##} ${#1}" } },
    { "sh", { "sh", "-c", "echo $# $1 \"$2\"", "a", "b" } },
    { "sh", { "sh", "-c", "echo $0 \"$@\"", "zero", "one two" } },
    { "sh", { "sh", "-c", "f() { echo \"$1\"; shift; echo \"$@\"; }; f a b c" } },
    { "sh", { "sh", "-c", "set -- a b; f() { set -- x; echo $1; }; f; echo $1" } },
    { "sh", { "sh", "-c", "echo \"$(echo a; exit 3)\" $?" } },
    { "sh", { "sh", "-c", "exit 3 | exit 4; echo $?" } },
    { "sh", { "sh", "-c", "cd /tmp; pwd; echo $PWD" } },
    { "sh", { "sh", "-c", "cd d && cat g.txt && cd .. && cat d/g.txt" } },
    { "sh", { "sh", "-c", "cat ./d/../f.txt d/./g.txt" } },
    { "sh", { "sh", "-c", "wc -c d/g.txt ../$(basename_nope) 2>/dev/null; echo $?" } },
    { "sh", { "sh", "-c", "echo a >/dev/stderr; echo b 2>/dev/stdout >&2" } },
    { "sh", { "sh", "-c", "echo a 1>&2 2>&1" } },
    { "sh", { "sh", "-c", "echo a 2>&1 1>&2" } },
    { "sh", { "sh", "-c", "{ echo a >&3; } 3>&1" } },
    { "sh", { "sh", "-c", "exec 2>&1; echo x >&2" } },
    { "sh", { "sh", "-c", "printf '%s\\n' 'a b' | { read x; echo \"$x\"; }" } },
    { "sh", { "sh", "-c", "echo x | cat - f.txt -" } },
    { "sh", { "sh", "-c", "echo abc | head -c 2; echo; echo abc | head -c -1; echo" } },
    { "sh", { "sh", "-c", "seq 5 | head -n -2" } },
    { "sh", { "sh", "-c", "seq 3 | wc" } },
    { "sh", { "sh", "-c", "wc -c < /dev/null; wc < words.txt" } },
    { "sh", { "sh", "-c", "cat f.txt | wc -l f.txt -" } },
    { "sh", { "sh", "-c", "echo hi | sh; echo 'echo from stdin $0' | sh" } },
    { "sh", { "sh", "-c", "echo 'echo $1' | sh -s a b" } },
    { "sh", { "sh", "-c", "printf 'x\\ny' | while read l; do echo $l; done" } },
    { "sh", { "sh", "-c", "echo | false; echo $?; ! echo | false; echo $?" } },
    { "sh", { "sh", "-c", "exit 1 | true" } },
    { "sh", { "sh", "-c", "a=$(seq 3 | wc -l); echo $a" } },
    { "sh", { "sh", "-c", "echo $(cat <<EOF\ninner\nEOF\n)" } },
    { "sh", { "sh", "-c", "echo $( (echo sub) )" } },
    { "sh", { "sh", "-c", "echo $((  (1+2) * 3 ))" } },
    { "sh", { "sh", "-c", "set -e; if false; then :; fi; false && true; echo survived; (false); echo no" } },
    { "sh", { "sh", "-c", "set -e; x=$(false); echo still" } },
    { "sh", { "sh", "-c", "set -e; f() { false; echo inf; }; f; echo after" } },
    { "sh", { "sh", "-c", "set -e; false | true; echo ok; true | false; echo no" } },
    { "sh", { "sh", "-c", "set -u; echo ${x:-ok}; echo ${#x}" } },
    { "sh", { "sh", "-c", "set -x; for i in 1; do echo $i; done; x=$(echo y); f() { :; }; f a" } },
    { "sh", { "sh", "-c", "set -o errexit; set +e; false; echo ok; set -o; echo $?" } },
    { "sh", { "sh", "-c", "set -q" } },
    { "sh", { "sh", "-c", "set -- ; echo $#; set a b c; echo $#" } },
    { "sh", { "sh", "-c", "shift; echo $?" } },
    { "sh", { "sh", "-c", "unset HOME; echo ~; cd; echo $?" } },
    { "sh", { "sh", "-c", "echo $PATH; PATH=/nope; echo x; ls; echo $?" } },
    { "sh", { "sh", "-c", "PATH=; cat f.txt; echo $?" } },
    { "sh", { "sh", "-c", "env -i PATH=/bin cat f.txt; /usr/bin/env -i HOME=/x env" } },
    { "sh", { "sh", "-c", "command echo hi; command nope; echo $?; command -v nope; echo $?; command -V echo" } },
    { "sh", { "sh", "-c", "type cat exit if f; echo $?" } },
    { "sh", { "sh", "-c", "f() { :; }; type f" } },
    { "sh", { "sh", "-c", "umask; umask -S; umask 077; umask" } },
    { "sh", { "sh", "-c", "trap; trap 'echo t' EXIT; trap; trap - EXIT; trap" } },
    { "sh", { "sh", "-c", "trap 'echo int' INT; trap 'echo e' 0; (exit 3); echo $?" } },
    { "sh", { "sh", "-c", "(trap 'echo sub' EXIT; echo in); echo out" } },
    { "sh", { "sh", "-c", "x=$(trap 'echo cs' EXIT; echo a); echo \"[$x]\"" } },
    { "sh", { "sh", "-c", "echo $(exit 2)$?; echo \"$(exit 3)\"; echo $?" } },
    { "sh", { "sh", "-c", "true; x=$(false) y=$?; echo $y" } },
    { "sh", { "sh", "-c", "echo \"a\" \"\" '' \"$nope\" $nope end" } },
    { "sh", { "sh", "-c", "set -- \"\" \"\"; echo $#; for a in \"$@\"; do echo \"[$a]\"; done; for a in $@; do echo \"{$a}\"; done" } },
    { "sh", { "sh", "-c", "v='a\\b'; echo $v \"$v\"; printf '%s\\n' $v" } },
    { "sh", { "sh", "-c", "echo '\\\\' \"\\\\\" \\\\" } },
    { "sh", { "sh", "-c", "echo 'a\\nb'; echo \"a\\nb\"" } },
    { "bash", { "bash", "-c", "echo {1..3} {a,b}c x{,y}z {a..e..2} {10..7} {01..03} {a,b{1,2}} {x} {} {a,b" } },
    { "bash", { "bash", "-c", "for i in {1..3}; do echo $i; done; echo pre{A,B}\"quoted{a,b}\"post" } },
    { "bash", { "bash", "-c", "x=1; echo {$x,2} \"${x}\"{a,b}" } },
    { "bash", { "bash", "-c", "[[ a == a ]] && echo yes; [[ abc == a* ]] && echo glob; [[ abc == \"a*\" ]] || echo literal" } },
    { "bash", { "bash", "-c", "[[ -f f.txt && ! -d f.txt ]]; echo $?; [[ -z \"\" || x ]]; echo $?; [[ ( 1 -lt 2 ) && 3 -gt 2 ]]; echo $?" } },
    { "bash", { "bash", "-c", "[[ 1+1 -eq 2 ]]; echo $?; [[ b > a ]]; echo $?; [[ \"\" ]]; echo $?; [[ x ]]; echo $?" } },
    { "bash", { "bash", "-c", "x=abc123; [[ $x =~ ^[a-z]+([0-9]+)$ ]] && echo match $BASH_REMATCH; [[ $x =~ \"c1\" ]] && echo q" } },
    { "bash", { "bash", "-c", "[[ -n $nope ]]; echo $?; s=\"a b\"; [[ $s == \"a b\" ]] && echo nosplit" } },
    { "bash", { "bash", "-c", "echo $'a\\tb\\x41\\101\\u00e9\\'q' $\"dq\" '$x'" } },
    { "bash", { "bash", "-c", "[[ a == a" } },
    { "bash", { "bash", "-c", "[[ a b ]]" } },
    { "bash", { "bash", "-c", "[[ ]]" } },
    { "sh", { "sh", "-c", "[[ a == a ]]" } },
    { "argv", { "echo" } },
    { "argv", { "echo", "-" } },
    { "argv", { "echo", "-e" } },
    { "argv", { "echo", "-n", "-e", "a\\nb" } },
    { "argv", { "echo", "--version" } },
    { "argv", { "echo", "-e", "\\e\\a\\f\\v\\r\\b|" } },
    { "argv", { "echo", "-e", "a\\0" } },
    { "argv", { "echo", "-e", "\\0400" } },
    { "argv", { "printf", "--" } },
    { "argv", { "printf", "--", "%s\\n", "a" } },
    { "argv", { "printf", "-v", "x" } },
    { "argv", { "printf", "%5.3d|%-8.3x|%08.3f|%.10s|\\n", "5", "255", "3.14159", "abc" } },
    { "argv", { "printf", "%s %s %s\\n", "a", "b" } },
    { "argv", { "printf", "%c%c%c", "abc", "d" } },
    { "argv", { "printf", "%%%s%%", "x" } },
    { "argv", { "printf", "%10b|", "a\\tb" } },
    { "argv", { "printf", "%*s|%-*s|", "-5", "a", "3", "b" } },
    { "argv", { "printf", "%.*s|", "-1", "abc" } },
    { "argv", { "printf", "%i %o %X %u", "-12", "-8", "-255", "3000000000" } },
    /* valgrind computes long double with 64 bits, which turns inf into a huge number */
    { "argv", { "printf", "%e %E %g %G %f %F", "123456789", "0.000123", "1e100", "1e-5", "inf", "-nan" }, CMP_ALL, NULL, false, true },
    { "argv", { "printf", "%a %A", "1.5", "-0" } },
    { "argv", { "printf", "%d", "9223372036854775807" } },
    { "argv", { "printf", "%d", "-9223372036854775809" } },
    { "argv", { "printf", "%u", "18446744073709551616" } },
    { "argv", { "printf", "%x", "0x" } },
    { "argv", { "printf", "%d", "0x1g" } },
    { "argv", { "printf", "%f", "1.5x" } },
    { "argv", { "printf", "%f", "abc" } },
    { "argv", { "printf", "%.3f", "'a" } },
    { "argv", { "printf", "\\101\\60\\0101" } },
    { "argv", { "printf", "\\u263a\\U0001F600\\u" } },
    { "argv", { "printf", "%q", "a\tb" } },
    { "argv", { "printf", "%s", "\\c" } },
    { "argv", { "printf", "a%%b%%" } },
    { "argv", { "printf", "%'d", "1000000" } },
    { "argv", { "printf", "%5c|", "x" } },
    { "argv", { "printf", "%-5c|", "x" } },
    { "argv", { "printf", "%05s|", "x" } },
    { "argv", { "printf", "%+s|", "x" } },
    { "argv", { "printf", "%#s|", "x" } },
    { "argv", { "printf", "%hhd|%lld|%Lf|%jd|%zd|%td", "1", "2", "3", "4", "5", "6" } },
    { "argv", { "cat", "-" } },
    { "argv", { "cat", "--" } },
    { "argv", { "cat", "-x" } },
    { "argv", { "cat", "--number", "f.txt" } },
    { "argv", { "cat", "-b", "words.txt" } },
    { "argv", { "cat", "-sn", "words.txt" } },
    { "argv", { "cat", "-vET", "words.txt" } },
    { "argv", { "cat", "f.txt", "f.txt" } },
    { "argv", { "cat", "/" } },
    { "argv", { "cat", "/etc" } },
    { "argv", { "cat", "\"\"" } },
    { "argv", { "cat", "a b" } },
    { "argv", { "cat", "/dev/null" } },
    { "argv", { "cat", "-n", "/dev/null", "f.txt" } },
    { "argv", { "head", "-3", "words.txt" } },
    { "argv", { "head", "-n", "-0", "f.txt" } },
    { "argv", { "head", "-c", "1k", "f.txt" } },
    { "argv", { "head", "--bytes=3", "f.txt" } },
    { "argv", { "head", "--lines", "1", "f.txt" } },
    { "argv", { "head", "-n", "2x", "f.txt" } },
    { "argv", { "head", "-n", "-x", "f.txt" } },
    { "argv", { "head", "-c", "-", "f.txt" } },
    { "argv", { "head", "-q", "-v", "f.txt" } },
    { "argv", { "head", "d" } },
    { "argv", { "head", "d", "f.txt" } },
    { "argv", { "head", "-" } },
    { "argv", { "head", "--zz" } },
    { "argv", { "head", "-c", "99999999999999999999999", "f.txt" } },
    { "argv", { "wc" } },
    { "argv", { "wc", "-" } },
    { "argv", { "wc", "-lwmcL", "words.txt" } },
    { "argv", { "wc", "--bytes", "f.txt" } },
    { "argv", { "wc", "-l", "d" } },
    { "argv", { "wc", "d", "f.txt" } },
    { "argv", { "wc", "/dev/null" } },
    { "argv", { "wc", "-c", "/dev/null", "f.txt" } },
    { "argv", { "wc", "nonl.txt" } },
    { "argv", { "wc", "empty.txt", "empty.txt" } },
    { "argv", { "wc", "--lines", "--words", "nope.txt" } },
    { "argv", { "seq", "1", "-1", "-3" } },
    { "argv", { "seq", "-1", "1" } },
    { "argv", { "seq", "-w", "-10", "5", "5" } },
    { "argv", { "seq", "-w", "1", "0.5", "2" } },
    { "argv", { "seq", "-w", "0.5", "3" } },
    { "argv", { "seq", "-s", ",", "-w", "9", "11" } },
    { "argv", { "seq", "-f", "%05g", "3" } },
    { "argv", { "seq", "-f", "x%gy", "2" } },
    { "argv", { "seq", "-f", "%d", "3" } },
    { "argv", { "seq", "-f", "%", "3" } },
    { "argv", { "seq", "-f", "%g%g", "3" } },
    { "argv", { "seq", "-f", "abc", "3" } },
    { "argv", { "seq", "-f", "%s", "3" } },
    { "argv", { "seq", "-w", "-f", "%g", "3" } },
    { "argv", { "seq", "1", "2", "3", "4" } },
    { "argv", { "seq", "nan" } },
    { "argv", { "seq", "inf", "1" } },
    { "argv", { "seq", "0.1", "0.2" } },
    { "argv", { "seq", "1", "0.1", "1.3" } },
    { "argv", { "seq", "0", "0.000001", "0.000003" } },
    { "argv", { "seq", "1e-2", "1e-2", "3e-2" } },
    { "argv", { "seq", ".5", "2" } },
    { "argv", { "seq", "1.", "3" } },
    { "argv", { "seq", "-.5", "1" } },
    { "argv", { "seq", "+2", "+4" } },
    { "argv", { "seq", "' 2'", "3" } },
    { "argv", { "seq", "2", "-0.5", "0" } },
    { "argv", { "seq", "-s", "''", "1", "3" } },
    { "argv", { "seq", "-s", "ab", "1", "3" } },
    { "argv", { "seq", "--separator=:", "3" } },
    { "argv", { "seq", "-z" } },
    { "argv", { "seq", "--", "-1", "1" } },
    { "argv", { "seq", "0x1p2" } },
    { "argv", { "seq", "1", "1.5e1", "31" } },
    { "argv", { "seq", "99999999999999999999", "99999999999999999999" } },
    { "argv", { "seq", "18446744073709551614", "18446744073709551616" } },
    { "argv", { "sleep", "1e-3" } },
    { "argv", { "sleep", "0x0.01" } },
    { "argv", { "sleep", "--", "0" } },
    { "argv", { "sleep", "." } },
    { "argv", { "sleep", "1s", "1m", "x", "y" } },
    { "argv", { "sleep", "inf", "-" } },
    { "argv", { "false", "--version" } },
    { "argv", { "pwd", "-L" } },
    { "argv", { "pwd", "-P", "x" } },
    { "argv", { "pwd", "-x" } },
    { "argv", { "env", "-0" } },
    { "argv", { "env", "--ignore-environment", "X=1" } },
    { "argv", { "env", "-u", "HOME", "-u", "PATH" } },
    { "argv", { "env", "-u", "NOPE" } },
    { "argv", { "env", "-u", "A=B" } },
    { "argv", { "env", "-i", "env", "-i" } },
    { "argv", { "env", "-i", "echo", "x" } },
    { "argv", { "env", "-", "A=1" } },
    { "argv", { "env", "--", "A=1" } },
    { "argv", { "env", "-C", "/tmp", "pwd" } },
    { "argv", { "env", "-C", "/nope", "pwd" } },
    { "argv", { "env", "-C", "/tmp" } },
    { "argv", { "env", "-x" } },
    { "argv", { "env", "--foo" } },
    { "argv", { "env", "-i", "PATH=/nope", "echo", "x" } },
    { "argv", { "env", "/bin/echo", "hi" } },
    { "argv", { "env", "./script.sh", "a" } },
    { "argv", { "env", "d" } },
    { "argv", { "test" } },
    { "argv", { "test", "-z" } },
    { "argv", { "test", "a", "=", "a", "-a", "b", "!=", "c" } },
    { "argv", { "test", "(", "a", ")" } },
    { "argv", { "test", "!", "a" } },
    { "argv", { "test", "1", "-gt" } },
    { "argv", { "test", "-x" } },
    { "argv", { "test", "x", "-eq", "y" } },
    { "argv", { "test", "1", "-eq", "1", "-o" } },
    { "argv", { "[", "1", "-eq", "1", "]" } },
    { "argv", { "[", "]" } },
    { "argv", { "[" } },
    { "argv", { "[", "a" } },
    { "argv", { "[", "a", "]", "]" } },
    { "argv", { "test", "-e", "/tmp" } },
    { "argv", { "test", "-d", "d" } },
    { "argv", { "test", "-f", "nope" } },
    { "argv", { "test", "-s", "f.txt" } },
    { "argv", { "test", "-n", "\"\"" } },
    { "argv", { "test", "a", "-nt", "b" } },
    { "argv", { "test", "-t", "1" } },
    { "sh", { "sh", "-c", "env -i V21=0 V45=1 V28=2 PPID=3 V39=4 V24=5 V0=6 V16=7 V23=8 V44=9 PATH=10 V58=11 V42=12 SHLVL=13 V49=14 V10=15 V13=16 V59=17 V56=18 V33=19 V1=20 V29=21 LANG=22 V22=23 V17=24 V43=25 V32=26 V31=27 V20=28 V30=29 V38=30 OLDPWD=31 PS1=32 ENV=33 V54=34 V34=35 _=36 HOME=37 V18=38 V8=39 V57=40 V2=41 V51=42 V47=43 V25=44 V48=45 V53=46 V55=47 V37=48 V40=50 V14=51 HISTSIZE=52 V36=53 V52=54 V3=55 IFS=56 V35=57 V5=58 V15=59 TERM=60 V26=61 OPTIND=62 V11=63 V4=64 V27=65 MAIL=66 V7=67 V46=68 V12=69 LINENO=70 V9=71 V6=72 V50=73 V19=74 V41=75 sh -c env" } },
    { "sh", { "sh", "-c", "env -i V21=0 V45=1 V28=2 PPID=3 V39=4 V24=5 V0=6 V16=7 V23=8 V44=9 PATH=10 V58=11 V42=12 SHLVL=13 V49=14 V10=15 V13=16 V59=17 V56=18 V33=19 V1=20 V29=21 LANG=22 V22=23 V17=24 V43=25 V32=26 V31=27 V20=28 V30=29 V38=30 OLDPWD=31 PS1=32 ENV=33 V54=34 V34=35 _=36 HOME=37 V18=38 V8=39 V57=40 V2=41 V51=42 V47=43 V25=44 V48=45 V53=46 V55=47 V37=48 V40=50 V14=51 HISTSIZE=52 V36=53 V52=54 V3=55 IFS=56 V35=57 V5=58 V15=59 TERM=60 V26=61 OPTIND=62 V11=63 V4=64 V27=65 MAIL=66 V7=67 V46=68 V12=69 LINENO=70 V9=71 V6=72 V50=73 V19=74 V41=75 bash -c env" } },
    { "sh", { "sh", "-c", "env -i V21=0 V45=1 V28=2 PPID=3 V39=4 V24=5 V0=6 V16=7 V23=8 V44=9 PATH=10 V58=11 V42=12 SHLVL=13 V49=14 V10=15 V13=16 V59=17 V56=18 V33=19 V1=20 V29=21 LANG=22 V22=23 V17=24 V43=25 V32=26 V31=27 V20=28 V30=29 V38=30 OLDPWD=31 PS1=32 ENV=33 V54=34 V34=35 _=36 HOME=37 V18=38 V8=39 V57=40 V2=41 V51=42 V47=43 V25=44 V48=45 V53=46 V55=47 V37=48 V40=50 V14=51 HISTSIZE=52 V36=53 V52=54 V3=55 IFS=56 V35=57 V5=58 V15=59 TERM=60 V26=61 OPTIND=62 V11=63 V4=64 V27=65 MAIL=66 V7=67 V46=68 V12=69 LINENO=70 V9=71 V6=72 V50=73 V19=74 V41=75 bash -c 'env; true'" } },
    { "sh", { "sh", "-c", "env -i V21=0 V45=1 V28=2 PPID=3 V39=4 V24=5 V0=6 V16=7 V23=8 V44=9 PATH=10 V58=11 V42=12 SHLVL=13 V49=14 V10=15 V13=16 V59=17 V56=18 V33=19 V1=20 V29=21 LANG=22 V22=23 V17=24 V43=25 V32=26 V31=27 V20=28 V30=29 V38=30 OLDPWD=31 PS1=32 ENV=33 V54=34 V34=35 _=36 HOME=37 V18=38 V8=39 V57=40 V2=41 V51=42 V47=43 V25=44 V48=45 V53=46 V55=47 V37=48 V40=50 V14=51 HISTSIZE=52 V36=53 V52=54 V3=55 IFS=56 V35=57 V5=58 V15=59 TERM=60 V26=61 OPTIND=62 V11=63 V4=64 V27=65 MAIL=66 V7=67 V46=68 V12=69 LINENO=70 V9=71 V6=72 V50=73 V19=74 V41=75 sh -c 'export NEWV=1; unset V3; V3=2; export V3; env'" } },
    { "sh", { "sh", "-c", "env -i A=1 IFS=xy OPTIND=9 PS1=p sh -c 'env; echo \"[$IFS]\" $OPTIND'" } },
    { "sh", { "sh", "-c", "env -i A=1 PWD=/nonexistent sh -c 'env; echo $PWD'" } },
    { "sh", { "sh", "-c", "env -i A=1 PWD=/tmp sh -c 'env; echo $PWD'" } },
    { "sh", { "sh", "-c", "env -i A=1 PWD=/tmp bash -c 'env; echo $PWD'" } },
    { "sh", { "sh", "-c", "env -i A=1 _=/x bash -c 'env; true'" } },
    { "sh", { "sh", "-c", "env -i A=1 SHLVL=x bash -c 'env; true'" } },
    { "sh", { "sh", "-c", "env -i 1A=1 A-B=2 =x A=1 sh -c 'env'" } },
    { "sh", { "sh", "-c", "env -i 1A=1 A-B=2 A=1 bash -c 'env;:'" } },
    { "sh", { "sh", "-c", "env -i A=1 env B=2 A=3" } },
    { "sh", { "sh", "-c", "echo a\nfor i in 1; do\n  nope1\ndone\nf() {\n  nope2\n}\nf\ncat <<EOF\nx\nEOF\nnope3" } },
    { "bash", { "bash", "-c", "echo a\nfor i in 1; do\n  nope1\ndone\nf() {\n  nope2\n}\nf\ncat <<EOF\nx\nEOF\nnope3" } },
    { "sh", { "sh", "-c", "echo a \\\n  b; nope\nif true\nthen nope4\nfi" } },
    { "bash", { "bash", "-c", "echo a \\\n  b; nope\nif true\nthen nope4\nfi" } },
    { "sh", { "sh", "-c", "x=$(nope5\nnope6); echo $x" } },
    { "bash", { "bash", "-c", "x=$(nope5\nnope6); echo $x" } },
    { "sh", { "sh", "-c", "echo \"multi\nline\" $(echo\nnope7)" } },
    { "sh", { "sh", "-c", "\n\n  nope8  \n" } },
    { "bash", { "bash", "-c", "\n\n  nope8  \n" } },
    { "sh", { "sh", "-c", "set -e; false | false; echo no" } },
    { "sh", { "sh", "-c", "set -e; ! false; echo yes; { false; }; echo no" } },
    { "sh", { "sh", "-c", "set -e; f() { false; return 0; }; f && echo andok; f; echo after" } },
    { "sh", { "sh", "-c", "set -e; while false; do :; done; for i in 1; do false; done; echo no" } },
    { "sh", { "sh", "-c", "set -e; x=1 false; echo no" } },
    { "sh", { "sh", "-c", "set -e; $(false); echo no" } },
    { "sh", { "sh", "-c", "for i in 1 2 3; do if [ $i = 2 ]; then exit 7; fi; echo $i; done" } },
    { "sh", { "sh", "-c", "f() { exit 4; echo no; }; f; echo no" } },
    { "sh", { "sh", "-c", "(exit 5) | cat; echo $?; echo | exit 6; echo $?" } },
    { "sh", { "sh", "-c", "while true; do echo x; exit 3; done" } },
    { "sh", { "sh", "-c", "x=foo; echo \"${x}\" \"${x}bar\" \"$x\"\"y\" ${x:-$HOME} \"${y:-$x}\" '${x}'" } },
    { "sh", { "sh", "-c", "echo \"it's\" 'say \"hi\"' \"a'b'c\" 'a\"b\"c'" } },
    { "sh", { "sh", "-c", "echo \"$(echo 'in \"quotes\"')\" \"$(echo \"nested 'q'\")\"" } },
    { "sh", { "sh", "-c", "x=~/a:~/b; echo $x; y=a:~; echo $y" } },
    { "bash", { "bash", "-c", "x=~/a:~/b; echo $x; y=a:~; echo $y" } },
    { "sh", { "sh", "-c", "cd ..; pwd; cd /; cd ..; pwd; cd //; pwd; cd //tmp; pwd; cd /tmp/; pwd" } },
    { "bash", { "bash", "-c", "cd //; pwd; cd //tmp; pwd; cd /tmp//; pwd" } },
    { "sh", { "sh", "-c", "cd d; cd ../d/../d; pwd; echo $PWD $OLDPWD" } },
    { "sh", { "sh", "-c", "/bin//echo a; ../../usr/bin/seq 2; /usr/bin/env A=1 sh -c 'echo $A'" } },
    { "sh", { "sh", "-c", "./nope; /tmp/nope; d; f.txt; ./d; ./f.txt" } },
    { "bash", { "bash", "-c", "./nope; /tmp/nope; d; f.txt; ./d" } },
    { "sh", { "sh", "-c", "./plain.sh arg; ./script.sh x y; echo $?" } },
    { "bash", { "bash", "-c", "./plain.sh arg; ./script.sh x y; echo $?" } },
    { "sh", { "sh", "-c", "sh -c 'exit 3'; echo $?; sh -c 'kill_nope'; echo $?" } },
    { "sh", { "sh", "-c", "printf '%s\\n' one two three | while read x; do [ $x = two ] && break; echo $x; done" } },
    { "sh", { "sh", "-c", "set -f; echo *; set +f" } },
    { "sh", { "sh", "-c", "exec >/dev/null; echo hidden; echo shown >&2" } },
    { "sh", { "sh", "-c", "exec 3>&1; echo via3 >&3; exec 3>&-; echo x >&3" } },
    { "sh", { "sh", "-c", "exec < f.txt; read a; read b; echo $b$a" } },
    { "sh", { "sh", "-c", "{ echo a; echo b; } > /dev/null; echo c" } },
    { "sh", { "sh", "-c", "for i in 1 2; do echo $i; done 2>&1 >/dev/null | cat; echo end" } },
    { "sh", { "sh", "-c", "if true; then echo t; fi > /dev/null; echo after" } },
    { "sh", { "sh", "-c", "while read l; do echo \"[$l]\"; done < nonl.txt" } },
    { "sh", { "sh", "-c", "cat f.txt | while read l; do echo \"<$l>\"; done | cat" } },
    { "sh", { "sh", "-c", "echo $((2+3)) > /dev/null && echo ok" } },
    { "bash", { "bash", "-c", "exit 256; echo no" } },
    { "bash", { "bash", "-c", "exit -1" } },
    { "bash", { "bash", "-c", "exit 1x" } },
    { "bash", { "bash", "-c", "exit 3.5" } },
    { "sh", { "sh", "-c", "exit 3.5" } },
    { "sh", { "sh", "-c", "exit ''" } },
    { "sh", { "sh", "-c", "exit +3" } },
    { "bash", { "bash", "-c", "exit +3" } },
    { "sh", { "sh", "-c", "return 4" } },
    { "sh", { "sh", "-c", "break; continue; echo ok" } },
    { "bash", { "bash", "-c", "break 2; continue x; echo ok" } },
    { "sh", { "sh", "-c", "for i in 1; do break 0; done; echo $?" } },
    { "sh", { "sh", "-c", "echo ${HOME:1:2}" } },
    { "bash", { "bash", "-c", "echo ${HOME:1:2} ${HOME: -2} ${HOME/o/0} ${HOME//o/0} ${HOME^^} ${#HOME}" } },
    { "bash", { "bash", "-c", "let x=1+2; echo $x; declare -i y=5; echo $y" } },
    { "bash", { "bash", "-c", "shopt -s nullglob; echo ok" } },
    { "bash", { "bash", "-c", "source lib.sh; greet bash" } },
    { "bash", { "bash", "-c", "printf -v; printf -v x; echo $?" } },
    { "bash", { "bash", "-c", "echo $BASH_VERSION" } },
    { "sh", { "sh", "-c", "echo $BASH_VERSION." } },
    { "sh", { "sh", "-c", "x='a b'; set -- $x \"$x\"; echo $#" } },
    { "sh", { "sh", "-c", "set -- a b c; echo ${#}; echo \"${@}\"; echo ${*}" } },
    { "sh", { "sh", "-c", "echo \"${1-default}\" \"${1:-x}\" \"$1\"" } },
    { "sh", { "sh", "-c", "IFS=; x='a b'; set -- $x; echo $#; unset IFS; set -- $x; echo $#" } },
    { "sh", { "sh", "-c", "IFS=' '; x=' a  b '; set -- $x; echo $#; IFS='- '; x='-a- -b-'; set -- $x; echo $# \"$1\" \"$2\"" } },
    { "sh", { "sh", "-c", "read a b c <<EOF\n 1  2  3  4 \nEOF\necho \"[$a][$b][$c]\"" } },
    { "sh", { "sh", "-c", "IFS=: read a b <<EOF\nx:y:z\nEOF\necho \"[$a][$b]\"" } },
    { "sh", { "sh", "-c", "read a; echo \"[$a] $?\"" } },
    { "sh", { "sh", "-c", "echo hi | read x; echo \"[$x]\"" } },
    { "bash", { "bash", "-c", "echo hi | read x; echo \"[$x]\"" } },
    { "bash", { "bash", "-c", "x=hello; echo ${x:1} ${x:1:2} ${x: -3} ${x: -3:1} ${x:1:-1} ${x:10} ${x:(-2)} ${x:$((1+1)):2}" } },
    { "bash", { "bash", "-c", "x=hello; echo ${x/l/L} ${x//l/L} ${x/#h/H} ${x/%o/O} ${x/l} ${x//l} ${x/*l/X} ${x/x/y} \"${x/l/ a b }\"" } },
    { "bash", { "bash", "-c", "x=hello; echo ${x^} ${x^^} ${x,} ${x,,} ${x^^l}; y=HeLLo; echo ${y,,} ${y^^}" } },
    { "bash", { "bash", "-c", "set -- abc def; echo ${@:1} ${*:2} ${@:1:1} ${1:1} ${@: -1} ${@:0:1}" } },
    { "bash", { "bash", "-c", "x=hello; echo ${x:1:-10}" } },
    { "bash", { "bash", "-c", "x=hello; echo ${x:a}" } },
    { "bash", { "bash", "-c", "x=a.b.c; echo ${x//./-} ${x/./} \"${x//\".\"/x}\" ${x//[ab]/Z}" } },
    { "bash", { "bash", "-c", "p=/usr/local/bin; echo ${p##*/} ${p%/*} ${p//\\//:}" } },
    { "sh", { "sh", "-c", "x=hello; echo ${x:1}" } },
    { "sh", { "sh", "-c", "x=hello; echo ${x/l/L}" } },
    { "argv", { "wc", "-m", "-c", "-w", "-L", "words.txt" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "printf 'h\303\251llo w\303\266rld\\n' | wc -m -c -w -L" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "printf '\377\376abc\\n' | wc -m -w" }, CMP_ALL, NULL, true },
    { "argv", { "seq", "x\303\251" }, CMP_ALL, NULL, true },
    { "argv", { "cat", "a\303\251b" }, CMP_ALL, NULL, true },
    { "argv", { "cat", "a\\tb\303\251" }, CMP_ALL, NULL, true },
    { "argv", { "printf", "%d", "\303\251" }, CMP_ALL, NULL, true },
    { "argv", { "printf", "%d\\n", "'\303\251" }, CMP_ALL, NULL, true },
    { "argv", { "printf", "\\u00e9\\U0001F600\\n" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "printf '\\u00e9\\n'; printf '%b\\n' '\\u00e9'" }, CMP_ALL, NULL, true },
    { "bash", { "bash", "-c", "printf '\\u00e9\\n'; printf '%b\\n' '\\u00e9'; echo -e '\\u00e9'; echo $'\\u00e9'" }, CMP_ALL, NULL, true },
    { "bash", { "bash", "-c", "x=h\303\251llo; echo ${#x} ${x:1:2} ${x^^}" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "x=h\303\251llo; echo ${#x}" }, CMP_ALL, NULL, true },
    { "argv", { "head", "-c", "2", "nope\303\251" }, CMP_ALL, NULL, true },
    { "argv", { "env", "nope\303\251" }, CMP_ALL, NULL, true },
    { "argv", { "sleep", "\303\251" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "cat 'a b' \"it's\"" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "test \303\251 -eq 1" }, CMP_ALL, NULL, true },
    { "bash", { "bash", "-c", "[ \303\251 -eq 1 ]" }, CMP_ALL, NULL, true },
    { "argv", { "test", "\303\251", "-eq", "1" }, CMP_ALL, NULL, true },
    { "sh", { "sh", "-c", "seq 10 | head -n -3; seq 10 | head -n -0 | wc -l; printf 'a\\nb\\nc' | head -n -1; echo; printf 'a\\nb\\nc' | head -n -2; echo; printf 'abc' | head -n -1; echo ." } },
    { "sh", { "sh", "-c", "seq 100 | head -c -250 | tail_nope 2>/dev/null; seq 100 | head -c -250 | wc -c; seq 5 | head -c -2; echo; printf '' | head -c -1; echo ." } },
    { "argv", { "head", "-n", "-2", "words.txt", "f.txt", "nonl.txt" } },
    { "argv", { "head", "-c", "-3", "words.txt", "nonl.txt" } },
    { "sh", { "sh", "-c", "head -n -1 < words.txt; head -c -5 < f.txt" } },
    { "argv", { "basename" } },
    { "argv", { "basename", "/a/b/" } },
    { "argv", { "basename", "a.txt", ".txt" } },
    { "argv", { "basename", ".txt", ".txt" } },
    { "argv", { "basename", "-a", "x/y", "z/w" } },
    { "argv", { "basename", "-s", ".c", "a.c", "b.c" } },
    { "argv", { "basename", "a", "b", "c" } },
    { "argv", { "basename", "//" } },
    { "argv", { "basename", "" } },
    { "argv", { "basename", "--version" } },
    { "argv", { "basename", "-x" } },
    { "argv", { "dirname" } },
    { "argv", { "dirname", "/a/b/" } },
    { "argv", { "dirname", "a" } },
    { "argv", { "dirname", "/", "//", "///", "a/", "" } },
    { "argv", { "dirname", "-z", "a/b" } },
    { "argv", { "dirname", "a//b//", "/a", "a/b/c" } },
    { "argv", { "whoami" } },
    { "argv", { "whoami", "x" } },
    { "argv", { "whoami", "--version" } },
    { "argv", { "yes", "--version" } },
    { "sh", { "sh", "-c", "yes | head -n 3; yes a b | head -c 20; yes '' | head -n 2 | wc -c" } },
    { "sh", { "sh", "-c", "yes $(seq 1000) | head -c 100000 | wc -c" } },
    { "sh", { "sh", "-c", "x=$(yes | head -n 100000 | wc -l); echo $x" } },
    { "sh", { "sh", "-c", "readonly X=1; X=2; echo $X" } },
    { "bash", { "bash", "-c", "readonly X=1; X=2; echo $X" } },
    { "sh", { "sh", "-c", "readonly X=1; unset X; echo $X" } },
    { "bash", { "bash", "-c", "readonly X=1; unset X; echo $X" } },
    { "sh", { "sh", "-c", "readonly X=1; export X=3; echo $X" } },
    { "bash", { "bash", "-c", "readonly X=1; for X in a; do echo $X; done; echo $?" } },
    { "sh", { "sh", "-c", "readonly Y; Y=1; echo no" } },
    { "sh", { "sh", "-c", "readonly X=1; readonly X=2; echo $X" } },
    { "sh", { "sh", "-c", "readonly X=1; for X in a; do echo $X; done; echo $?" } },
    { "sh", { "sh", "-c", "readonly X=1; read X <<EOF\na\nEOF\necho $?" } },
    /* the locale changes coreutils' quotes */
    { "argv", { "seq", "x" }, CMP_ALL, NULL, true },
    { "argv", { "printf", "%d\\n", "x" }, CMP_ALL, NULL, true },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const char *env_c[] = { "HOME=/root", "PATH=/usr/bin:/bin", NULL };
static const char *env_utf8[] = { "HOME=/root", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL };

static void show(const char *label, const struct buf *b)
{
    size_t i;

    fprintf(stderr, "  %s (%zu): \"", label, b->len);
    for (i = 0; i < b->len && i < 2000; i++) {
        unsigned char c = (unsigned char)b->data[i];

        if (c == '\n')
            fputs("\\n", stderr);
        else if (c == '\t')
            fputs("\\t", stderr);
        else if (c < 32 || c >= 127)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
}

static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");

    return p && strstr(p, "vgpreload");
}

static void test_shell_matches_the_real_programs_byte_for_byte(void **state)
{
    size_t i, failures = 0;
    bool valgrind = under_valgrind();

    (void)state;
    for (i = 0; i < NCASES; i++) {
        const struct tcase *c = &cases[i];
        const char *const *env = c->utf8 ? env_utf8 : env_c;
        struct result emu, real;
        bool ok;

        if (c->x87 && valgrind)
            continue;
        result_init(&emu);
        result_init(&real);
        emulate(c->args, env, &emu);
        run_real(c->args, env, &real);
        if (c->cmp == CMP_SIZES)
            ok = emu.status == real.status && emu.out.len == real.out.len &&
                 emu.err.len == real.err.len;
        else if (c->cmp == CMP_STATUS)
            ok = emu.status == real.status;
        else if (c->cmp == CMP_STATUS_STDOUT)
            ok = emu.status == real.status && same(&emu.out, &real.out);
        else
            ok = emu.status == real.status && same(&emu.out, &real.out) && same(&emu.err, &real.err);
        if (!ok || getenv("SHELL_TEST_VERBOSE")) {
            size_t k;

            failures++;
            fprintf(stderr, "case %zu (%s):", i, c->mode);
            for (k = 0; c->args[k]; k++)
                fprintf(stderr, " [%s]", c->args[k]);
            fprintf(stderr, "\n  status emulated %d, real %d\n", emu.status, real.status);
            show("emulated stdout", &emu.out);
            show("real     stdout", &real.out);
            show("emulated stderr", &emu.err);
            show("real     stderr", &real.err);
        }
        result_release(&emu);
        result_release(&real);
    }
    fprintf(stderr, "%zu of %zu cases differ\n", failures, NCASES);
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ callbacks and streaming */

static const char *const plain_env[] = { "PATH=/usr/bin:/bin", NULL };

static void test_shell_sleeps_through_the_callback_between_writes(void **state)
{
    const char *argv[] = { "sh", "-c", "for i in 1 2 3; do echo $i; sleep 1; done", NULL };
    struct result r;

    (void)state;
    result_init(&r);
    assert_int_equal(emulate(argv, plain_env, &r), 0);
    assert_string_equal(buf_cstr(&r.events), "w1:1\n|s:1000|w1:2\n|s:1000|w1:3\n|s:1000|");
    result_release(&r);
}

static void test_shell_passes_fractional_and_suffixed_sleeps_in_milliseconds(void **state)
{
    const char *argv[] = { "sleep", "0.5", "1m", "0.0001", NULL };
    struct result r;

    (void)state;
    result_init(&r);
    assert_int_equal(emulate(argv, plain_env, &r), 0);
    /* one call for the sum; a fraction of a millisecond rounds up */
    assert_string_equal(buf_cstr(&r.events), "s:60501|");
    result_release(&r);
}

static void test_shell_stops_at_once_when_the_sleep_callback_says_so(void **state)
{
    const char *argv[] = { "bash", "-c",
                           "sh -c 'for i in 1 2 3; do echo $i; sleep 1; done; echo inner'; echo outer",
                           NULL };
    struct result r;

    (void)state;
    result_init(&r);
    r.stop_after_sleeps = 1;
    assert_int_equal(emulate(argv, plain_env, &r), SHELL_STOPPED);
    assert_string_equal(buf_cstr(&r.events), "w1:1\n|s:1000|");
    result_release(&r);
}

static void test_shell_stops_at_once_when_the_write_callback_says_so(void **state)
{
    const char *argv[] = { "sh", "-c", "seq 1 1000000000000; echo never", NULL };
    struct result r;

    (void)state;
    result_init(&r);
    r.stop_after_writes = 3;
    assert_int_equal(emulate(argv, plain_env, &r), SHELL_STOPPED);
    assert_int_equal(r.writes, 3);
    assert_true(r.max_write <= SHELL_WRITE_MAX);
    assert_memory_equal(r.out.data, "1\n2\n3\n", 6);
    assert_null(strstr(buf_cstr(&r.out), "never"));
    result_release(&r);
}

/* Counts what head writes without keeping 100 MiB. */
struct counter {
    uint64_t bytes, writes, max_write, nonzero;
};

static int count_write(void *ctx, int fd, const char *data, size_t len)
{
    struct counter *c = ctx;
    size_t i;

    assert_int_equal(fd, 1);
    c->bytes += len;
    c->writes++;
    if (len > c->max_write)
        c->max_write = len;
    for (i = 0; i < len; i += 4096)
        if (data[i])
            c->nonzero++;
    return 0;
}

static void test_shell_streams_100_mib_of_zeros_in_bounded_writes(void **state)
{
    const char *argv[] = { "head", "-c", "104857600", "/dev/zero", NULL };
    struct counter c = { 0, 0, 0, 0 };
    struct shell_io io = { count_write, NULL, NULL, &c };
    struct shell_env env = { plain_env, "/" };
    clock_t t0 = clock();

    (void)state;
    assert_int_equal(shell_run(argv, 4, &env, &io), 0);
    assert_true(c.bytes == 104857600u);
    assert_true(c.max_write <= SHELL_WRITE_MAX);
    assert_true(c.writes >= 104857600u / SHELL_WRITE_MAX);
    assert_true(c.nonzero == 0);
    /* generous: it is a memset and a callback per 64 KiB */
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 30.0);
}

static void test_shell_streams_a_pipeline_without_holding_it(void **state)
{
    const char *argv[] = { "sh", "-c", "head -c 104857600 /dev/zero | wc -c; cat /dev/zero | head -c 3 | wc -c", NULL };
    struct result r;

    (void)state;
    result_init(&r);
    assert_int_equal(emulate(argv, plain_env, &r), 0);
    assert_string_equal(buf_cstr(&r.out), "104857600\n3\n");
    result_release(&r);
}

static void test_shell_urandom_is_repeatable_per_run(void **state)
{
    const char *argv[] = { "head", "-c", "64", "/dev/urandom", NULL };
    struct result a, b;
    size_t i, zeros = 0;

    (void)state;
    result_init(&a);
    result_init(&b);
    emulate(argv, plain_env, &a);
    emulate(argv, plain_env, &b);
    assert_int_equal(a.out.len, 64);
    assert_memory_equal(a.out.data, b.out.data, 64);
    for (i = 0; i < 64; i++)
        zeros += a.out.data[i] == 0;
    assert_true(zeros < 8);
    result_release(&a);
    result_release(&b);
}

/* ------------------------------------------------------------ hostile input */

static void run_bounded(const char *const *argv, struct result *r)
{
    result_init(r);
    r->stop_after_sleeps = 1;
    r->stop_after_writes = 64;
    emulate(argv, plain_env, r);
}

static void test_shell_reports_unterminated_quotes_as_syntax_errors(void **state)
{
    static const char *const scripts[] = { "echo 'a", "echo \"a", "echo `a", "echo $(a", "echo ${a",
                                           "echo $((1+", "cat <<EOF\nx", "echo \\" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        const char *argv[] = { "sh", "-c", scripts[i], NULL };
        struct result r;

        run_bounded(argv, &r);
        assert_true(r.status == 0 || r.status == 2);
        result_release(&r);
    }
}

static char *repeat(const char *a, size_t n, const char *mid, const char *b)
{
    struct buf s = BUF_INIT;
    size_t i;

    for (i = 0; i < n; i++)
        buf_addstr(&s, a);
    buf_addstr(&s, mid);
    for (i = 0; i < n; i++)
        buf_addstr(&s, b);
    return buf_detach(&s, NULL);
}

static void test_shell_bounds_deep_nesting_with_a_clear_error(void **state)
{
    static const struct { const char *open, *mid, *close; } shapes[] = {
        { "$(", "echo hi", ")" }, { "(", "echo hi", ")" }, { "{ ", "echo hi;", " }" },
        { "echo \"$(", "echo hi", ")\"" }, { "${x:-", "v", "}" }, { "$((", "1", "))" },
        { "if true; then ", "echo hi", "; fi" }, { "f() { ", "f", "; }; f" },
        { "for i in 1; do ", "f", "; done" },
        { "(", "1", ")" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *script = repeat(shapes[i].open, 3000, shapes[i].mid, shapes[i].close);
        char *arith = NULL;
        const char *argv[] = { "sh", "-c", script, NULL };
        struct result r;

        if (i == sizeof(shapes) / sizeof(shapes[0]) - 1) {
            /* parentheses inside one arithmetic expansion */
            char *inner = repeat("(", 3000, "1", ")");

            arith = malloc(strlen(inner) + 16);
            sprintf(arith, "echo $((%s))", inner);
            free(inner);
            argv[2] = arith;
        }
        run_bounded(argv, &r);
        if (r.status != 2 || !strstr(buf_cstr(&r.err), "limit"))
            fprintf(stderr, "shape %zu: status %d, err %.200s\n", i, r.status, buf_cstr(&r.err));
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(buf_cstr(&r.err), "limit"));
        result_release(&r);
        free(script);
        free(arith);
    }
}

static void test_shell_refuses_a_1_mib_argument_like_execve(void **state)
{
    char *script = repeat("echo x;", 150000, "", "");
    const char *argv[] = { "sh", "-c", script, NULL };
    struct result r;

    (void)state;
    run_bounded(argv, &r);
    assert_int_equal(r.status, 126);
    assert_string_equal(buf_cstr(&r.err), "sh: 1: sh: Argument list too long\n");
    result_release(&r);
    free(script);
}

static void test_shell_runs_a_1_mib_eval_and_refuses_a_bigger_one(void **state)
{
    /* the text is built inside the box (doubling a word), so no argument is too long:
     * 2^20 - 3 bytes of a comment and a long word is one script under the 1 MiB bound,
     * and one byte more than 1 MiB is refused with the emulator's message */
    const char *ok[] = { "sh", "-c",
                         "x=a; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; do "
                         "x=$x$x; done; y=${x%aaaaaaaaaaaaaaaa}; eval \"#$y\n: $x; echo ok\"", NULL };
    const char *big[] = { "sh", "-c",
                          "x=a; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
                          "x=$x$x; done; eval \"#$x\"; echo never", NULL };
    struct result r;

    (void)state;
    run_bounded(ok, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(buf_cstr(&r.out), "ok\n");
    result_release(&r);
    run_bounded(big, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(buf_cstr(&r.err), "limit"));
    assert_int_equal(r.out.len, 0);
    result_release(&r);
}

static void test_shell_survives_random_garbage_deterministically(void **state)
{
    static const char alphabet[] = "ab1 \t\n;&|()<>{}$`'\"\\*?[]~#=!-+%:.,/^@if then fi do done for in case esac while";
    uint64_t seed = 0x5eed5eedull;
    int n;

    (void)state;
    for (n = 0; n < 400; n++) {
        char script[160];
        size_t len, i;
        const char *argv[] = { n % 2 ? "bash" : "sh", "-c", script, NULL };
        struct result a, b;

        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        len = 1 + seed % (sizeof(script) - 1);
        for (i = 0; i < len; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            script[i] = alphabet[seed % (sizeof(alphabet) - 1)];
        }
        script[len] = '\0';
        run_bounded(argv, &a);
        run_bounded(argv, &b);
        assert_int_equal(a.status, b.status);
        assert_true(a.status >= SHELL_STOPPED && a.status <= 255);
        assert_true(a.out.len == b.out.len && (!a.out.len || !memcmp(a.out.data, b.out.data, a.out.len)));
        assert_true(a.err.len == b.err.len && (!a.err.len || !memcmp(a.err.data, b.err.data, a.err.len)));
        result_release(&a);
        result_release(&b);
    }
}

static void test_shell_stops_a_silent_endless_loop(void **state)
{
    const char *argv[] = { "sh", "-c", "while :; do :; done", NULL };
    struct result r;

    (void)state;
    run_bounded(argv, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(buf_cstr(&r.err), "limit"));
    result_release(&r);
}

static void test_shell_bounds_what_command_substitution_holds(void **state)
{
    const char *argv[] = { "sh", "-c", "x=$(cat /dev/zero); echo never", NULL };
    struct result r;

    (void)state;
    run_bounded(argv, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(buf_cstr(&r.err), "limit"));
    assert_int_equal(r.out.len, 0);
    result_release(&r);
}

static void test_shell_treats_an_unknown_program_like_the_design_says(void **state)
{
    const char *argv[] = { "frobnicate", "--now", NULL };
    struct result r;

    (void)state;
    result_init(&r);
    assert_int_equal(emulate(argv, plain_env, &r), 127);
    assert_string_equal(buf_cstr(&r.err), "sh: 1: frobnicate: not found\n");
    assert_int_equal(r.out.len, 0);
    result_release(&r);
}

static int group_setup(void **state)
{
    (void)state;
    box_create();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    box_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_matches_the_real_programs_byte_for_byte),
        cmocka_unit_test(test_shell_sleeps_through_the_callback_between_writes),
        cmocka_unit_test(test_shell_passes_fractional_and_suffixed_sleeps_in_milliseconds),
        cmocka_unit_test(test_shell_stops_at_once_when_the_sleep_callback_says_so),
        cmocka_unit_test(test_shell_stops_at_once_when_the_write_callback_says_so),
        cmocka_unit_test(test_shell_streams_100_mib_of_zeros_in_bounded_writes),
        cmocka_unit_test(test_shell_streams_a_pipeline_without_holding_it),
        cmocka_unit_test(test_shell_urandom_is_repeatable_per_run),
        cmocka_unit_test(test_shell_reports_unterminated_quotes_as_syntax_errors),
        cmocka_unit_test(test_shell_bounds_deep_nesting_with_a_clear_error),
        cmocka_unit_test(test_shell_refuses_a_1_mib_argument_like_execve),
        cmocka_unit_test(test_shell_runs_a_1_mib_eval_and_refuses_a_bigger_one),
        cmocka_unit_test(test_shell_survives_random_garbage_deterministically),
        cmocka_unit_test(test_shell_stops_a_silent_endless_loop),
        cmocka_unit_test(test_shell_bounds_what_command_substitution_holds),
        cmocka_unit_test(test_shell_treats_an_unknown_program_like_the_design_says),
    };

    return cmocka_run_group_tests_name("shell", tests, group_setup, group_teardown);
}
