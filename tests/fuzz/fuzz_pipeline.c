/* fuzz_pipeline: hogmock's whole request pipeline (route, authenticate, validate, handle,
 * journal, faults) in-process, driven over a real loopback socket. hogmock starts once
 * (virtual clock, fixtures/auth/tokens.yaml, the k8s issuer); each input is up to
 * MAX_REQUESTS requests, each record being
 *
 *   u8 flags | u8 len, method | u16 len, path | u16 len, query | u16 len, headers | u16 len, body
 *
 * (lengths big-endian; a record cut short takes what is left). flags & 3 picks the
 * Authorization: none, Bearer tok_alice, Bearer tok_bob, or Bearer {$token}; flags & 4
 * adds Content-Type: application/json. Headers are "Name: value" lines split on '\n'.
 * "{$name}" anywhere is replaced by the string member name of an earlier JSON answer of
 * the same input ({$id} is the box just created). Every request goes out as HTTP/1.1 with
 * Connection: close and the Content-Length of its body.
 * After each input the fault plans are dropped, the state is reset and GET /v1/me must
 * still answer 200 for tok_alice; a 500 internal_error is a crash too when the input did
 * not touch the admin API (which can script such answers). FUZZ_TRACE=1 in the
 * environment prints each request and the start of its answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "bundle.h"
#include "faults.h"
#include "hogmock.h"
#include "log.h"
#include "server.h"
#include "xmalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 4
#define FUZZ_WAIT_MS 1000       /* a fuzzed request may stall on purpose (fault plans) */
#define CHECK_WAIT_MS 10000
#define CHECK_ATTEMPTS 5
#define ANSWER_MAX (1 << 20)

static struct hogmock *hm;
static uint16_t port;
static bool trace;          /* FUZZ_TRACE=1: each request and its answer on stderr */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char issuer[4200];
    static const char *issuers[2] = { issuer, NULL };
    struct hogmock_config cfg;
    struct buf path = BUF_INIT, err = BUF_INIT;
    static char tokens[4096];

    (void)argc;
    (void)argv;
    xmalloc_init_cjson();
    signal(SIGPIPE, SIG_IGN);
    trace = getenv("FUZZ_TRACE") != NULL;
    log_set_level(LOG_ERROR);
    bundle_path("fixtures/auth/tokens.yaml", &path);
    snprintf(tokens, sizeof(tokens), "%s", buf_cstr(&path));
    buf_reset(&path);
    bundle_path("fixtures/auth/issuer-k8s.pem", &path);
    snprintf(issuer, sizeof(issuer), "k8s=%s", buf_cstr(&path));
    hogmock_config_init(&cfg);
    cfg.virtual_clock = true;
    cfg.threads = 4;
    cfg.tokens_path = tokens;
    cfg.issuers = issuers;
    cfg.journal_max = 1000;
    if (hogmock_start(&cfg, &hm, &err) != RC_OK) {
        fprintf(stderr, "fuzz_pipeline: hogmock did not start: %s\n", buf_cstr(&err));
        exit(2);
    }
    port = hogmock_port(hm);
    buf_release(&path);
    buf_release(&err);
    return 0;
}

/* ---- the wire ----------------------------------------------------------------------- */

struct answer {
    int status;             /* 0: no complete status line */
    struct buf raw;
    const char *body;       /* into raw, after the blank line; NULL when none */
    size_t body_len;
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A socket connected to hogmock. libFuzzer's timer (SIGALRM) may interrupt connect,
 * which then goes on in the background: such a socket is dropped for a new one. */
static int connect_hogmock(void)
{
    struct sockaddr_in sa;
    int tries;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd < 0)
            break;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        if (errno != EINTR)
            break;
    }
    fprintf(stderr, "fuzz_pipeline: cannot connect to hogmock: %s\n", strerror(errno));
    abort();
}

/* Send req and read until the server closes or wait_ms passes. */
static void exchange(const struct buf *req, long wait_ms, struct answer *ans)
{
    long long deadline = now_ms() + wait_ms;
    size_t off = 0;
    int fd = connect_hogmock();
    char chunk[16384];
    const char *end;

    memset(ans, 0, sizeof(*ans));
    while (off < req->len) {
        ssize_t n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && (errno == EINTR || errno == EAGAIN) && now_ms() < deadline) {
            struct pollfd pfd = { fd, POLLOUT, 0 };

            poll(&pfd, 1, 10);
            continue;
        }
        if (n <= 0)
            break;      /* the server may answer and close before reading it all */
        off += (size_t)n;
    }
    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        long long left = deadline - now_ms();
        ssize_t n;

        if (left <= 0)
            break;
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;   /* interrupted, or the time is up (checked above) */
        n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        if (ans->raw.len < ANSWER_MAX)
            buf_add(&ans->raw, chunk, (size_t)n);
    }
    close(fd);
    if (ans->raw.len >= 12 && memcmp(ans->raw.data, "HTTP/1.1 ", 9) == 0)
        ans->status = atoi(ans->raw.data + 9);
    end = ans->raw.len ? strstr(ans->raw.data, "\r\n\r\n") : NULL;
    if (end) {
        ans->body = end + 4;
        ans->body_len = ans->raw.len - (size_t)(ans->body - ans->raw.data);
    }
}

/* ---- inputs ------------------------------------------------------------------------- */

struct reader {
    const uint8_t *p;
    size_t left;
};

static size_t take_len(struct reader *r, int width)
{
    size_t n = 0;

    while (width-- > 0 && r->left) {
        n = (n << 8) | *r->p++;
        r->left--;
    }
    return n;
}

/* The next field of n bytes (fewer when the input ends) into out (reset first); NUL
 * bytes are dropped unless binary. */
static void take(struct reader *r, size_t n, struct buf *out, bool binary)
{
    size_t i;

    buf_reset(out);
    if (n > r->left)
        n = r->left;
    for (i = 0; i < n; i++)
        if (r->p[i] || binary)
            buf_addch(out, (char)r->p[i]);
    r->p += n;
    r->left -= n;
}

/* Replace each {$name} in s by the string member name of vars (kept when unknown). */
static void substitute(struct buf *s, const cJSON *vars)
{
    struct buf out = BUF_INIT;
    const char *p = buf_cstr(s);

    if (!strstr(p, "{$"))
        return;
    while (*p) {
        const char *close;

        if (p[0] == '{' && p[1] == '$' && (close = strchr(p + 2, '}')) != NULL && close - p < 64) {
            char name[64];
            const cJSON *v;

            snprintf(name, sizeof(name), "%.*s", (int)(close - p - 2), p + 2);
            v = cJSON_GetObjectItemCaseSensitive(vars, name);
            if (cJSON_IsString(v)) {
                buf_addstr(&out, v->valuestring);
                p = close + 1;
                continue;
            }
        }
        buf_addch(&out, *p++);
    }
    buf_reset(s);
    buf_add(s, out.data ? out.data : "", out.len);
    buf_release(&out);
}

/* Keep only bytes that can stand in a request line: no controls, no spaces. */
static void squeeze(struct buf *s)
{
    size_t i, n = 0;

    for (i = 0; i < s->len; i++)
        if ((unsigned char)s->data[i] > 0x20 && s->data[i] != 0x7f)
            s->data[n++] = s->data[i];
    buf_truncate(s, n);
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The fuzzed header lines that can go out without changing the framing. */
static void add_headers(struct buf *req, const char *text)
{
    static const char *const framing[] = { "host", "content-length", "transfer-encoding",
                                           "connection", "keep-alive", "upgrade", "te", "trailer" };

    while (*text) {
        size_t len = strcspn(text, "\n"), name = 0, i;
        bool ok = true;

        while (name < len && is_tchar(text[name]))
            name++;
        if (name == 0 || name == len || text[name] != ':')
            ok = false;
        for (i = 0; ok && i < sizeof(framing) / sizeof(framing[0]); i++)
            if (strlen(framing[i]) == name && strncasecmp(text, framing[i], name) == 0)
                ok = false;
        if (ok) {
            for (i = 0; i < len; i++) {
                unsigned char c = (unsigned char)text[i];

                if (c >= 0x20 || c == '\t')
                    buf_addch(req, (char)c);
            }
            buf_addstr(req, "\r\n");
        }
        text += len + (text[len] == '\n');
    }
}

static void remember_strings(const cJSON *obj, cJSON *vars, int depth)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, obj) {
        if (cJSON_IsString(c) && c->string) {
            cJSON_DeleteItemFromObjectCaseSensitive(vars, c->string);
            cJSON_AddStringToObject(vars, c->string, c->valuestring);
        }
    }
    cJSON_ArrayForEach(c, obj)
        if (cJSON_IsObject(c) && depth < 1)
            remember_strings(c, vars, depth + 1);
}

/* The string members of a JSON answer (and of its objects, such as a minted token's
 * claims, where the answer itself has no such member), for {$name}. */
static void remember(const struct answer *ans, cJSON *vars)
{
    cJSON *doc, *top;

    if (!ans->body || !ans->body_len || ans->body[0] != '{')
        return;
    doc = cJSON_ParseWithLength(ans->body, ans->body_len);
    top = cJSON_CreateObject();
    remember_strings(doc, top, 0);
    /* The answer's own members win over those of its objects. */
    remember_strings(doc, top, 1);
    while (top->child) {
        cJSON *c = cJSON_DetachItemViaPointer(top, top->child);

        cJSON_DeleteItemFromObjectCaseSensitive(vars, c->string);
        cJSON_AddItemToObject(vars, c->string, c);
    }
    cJSON_Delete(top);
    cJSON_Delete(doc);
}

static void fail(const char *what, const struct answer *ans)
{
    fprintf(stderr, "fuzz_pipeline: %s; the answer (%zu bytes):\n%.*s\n", what, ans->raw.len,
            (int)(ans->raw.len > 4000 ? 4000 : ans->raw.len), buf_cstr(&ans->raw));
    abort();
}

/* After every input: no fault plans, the state reset, and hogmock still answering. A
 * request of the input that outlived its wait (a fault plan delayed it) may still add a
 * plan after the clear, so a failed check clears and tries again, a few times. */
static void check_alive(void)
{
    static const char reset[] =
        "POST /__hogmock/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"tokens\": true}";
    static const char me[] =
        "GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Authorization: Bearer tok_alice\r\n\r\n";
    struct buf req = BUF_INIT;
    struct answer ans;
    const char *what = NULL;
    int attempt;

    for (attempt = 0; attempt < CHECK_ATTEMPTS; attempt++) {
        if (attempt) {
            struct timespec ts = { 0, 200 * 1000000L };

            buf_release(&ans.raw);
            nanosleep(&ts, NULL);
        }
        faults_clear(hm->faults);
        buf_reset(&req);
        buf_add(&req, reset, sizeof(reset) - 1);
        exchange(&req, CHECK_WAIT_MS, &ans);
        if (ans.status != 200) {
            what = "POST /__hogmock/reset did not answer 200 after this input";
            continue;
        }
        buf_release(&ans.raw);
        buf_reset(&req);
        buf_add(&req, me, sizeof(me) - 1);
        exchange(&req, CHECK_WAIT_MS, &ans);
        if (ans.status != 200 || !ans.body || !strstr(ans.body, "pr_alice")) {
            what = "GET /v1/me did not answer 200 for tok_alice after this input";
            continue;
        }
        what = NULL;
        break;
    }
    if (what)
        fail(what, &ans);
    buf_release(&ans.raw);
    buf_release(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = { data, size };
    struct buf method = BUF_INIT, path = BUF_INIT, query = BUF_INIT, headers = BUF_INIT;
    struct buf body = BUF_INIT, req = BUF_INIT;
    cJSON *vars = cJSON_CreateObject();
    bool admin = false;
    int i;

    for (i = 0; i < MAX_REQUESTS && r.left; i++) {
        static const char *const auth[] = { NULL, "tok_alice", "tok_bob", "{$token}" };
        unsigned flags = (unsigned)take_len(&r, 1);
        struct answer ans;
        size_t k;

        take(&r, take_len(&r, 1), &method, false);
        take(&r, take_len(&r, 2), &path, false);
        take(&r, take_len(&r, 2), &query, false);
        take(&r, take_len(&r, 2), &headers, false);
        take(&r, take_len(&r, 2), &body, true);
        for (k = 0; k < method.len && is_tchar(method.data[k]); k++)
            ;
        buf_truncate(&method, k);
        if (!method.len)
            buf_addstr(&method, "GET");
        substitute(&path, vars);
        substitute(&query, vars);
        substitute(&headers, vars);
        if (!memchr(buf_cstr(&body), '\0', body.len))
            substitute(&body, vars);
        squeeze(&path);
        squeeze(&query);
        if (strstr(buf_cstr(&path), "__hogmock") || strchr(buf_cstr(&path), '%'))
            admin = true;

        buf_reset(&req);
        buf_addf(&req, "%s %s%s%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
                 buf_cstr(&method), path.len && path.data[0] == '/' ? "" : "/", buf_cstr(&path),
                 query.len ? "?" : "", buf_cstr(&query));
        if (auth[flags & 3]) {
            struct buf bearer = BUF_INIT;

            buf_addstr(&bearer, auth[flags & 3]);
            substitute(&bearer, vars);
            squeeze(&bearer);
            buf_addf(&req, "Authorization: Bearer %s\r\n", buf_cstr(&bearer));
            buf_release(&bearer);
        }
        if (flags & 4)
            buf_addstr(&req, "Content-Type: application/json\r\n");
        add_headers(&req, buf_cstr(&headers));
        if (body.len || strcmp(buf_cstr(&method), "GET") != 0)
            buf_addf(&req, "Content-Length: %zu\r\n", body.len);
        buf_addstr(&req, "\r\n");
        buf_add(&req, body.data ? body.data : "", body.len);

        exchange(&req, FUZZ_WAIT_MS, &ans);
        if (trace)
            fprintf(stderr, "%s %s -> %d %.*s\n", buf_cstr(&method), buf_cstr(&path), ans.status,
                    (int)(ans.body_len > 200 ? 200 : ans.body_len), ans.body ? ans.body : "");
        if (ans.status == 500 && !admin && ans.body && strstr(ans.body, "internal_error"))
            fail("an internal error", &ans);
        remember(&ans, vars);
        buf_release(&ans.raw);
    }
    check_alive();
    cJSON_Delete(vars);
    buf_release(&method);
    buf_release(&path);
    buf_release(&query);
    buf_release(&headers);
    buf_release(&body);
    buf_release(&req);
    return 0;
}
