/* Integration tests for hogmock's state across restarts (--db FILE): a clean stop and start,
 * and a kill -9 of the hogmock process in the middle of file writes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "bundle.h"
#include "harness.h"
#include "xmalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW 4
#else
#define SLOW 1
#endif

#define MIB (1024u * 1024u)

struct fixture {
    char dir[64];
    char db[128];
    char exe[PATH_MAX];
    char tokens[PATH_MAX];
    pid_t pids[4];              /* hogmock children not yet reaped */
};

/* ---- helpers ---- */

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    assert_true(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL));
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    struct buf b = BUF_INIT;

    if (!mock_binary(fx->exe, sizeof(fx->exe))) {
        fprintf(stderr, "test_restart: no hogmock binary at '%s'\n", fx->exe);
        free(fx);
        return -1;
    }
    /* Made last: a setup that fails gets no teardown to remove it. */
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_restart.XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->db, sizeof(fx->db), "%s/state.db", fx->dir);
    bundle_path("fixtures/auth/tokens.yaml", &b);
    snprintf(fx->tokens, sizeof(fx->tokens), "%s", buf_cstr(&b));
    buf_release(&b);
    *state = fx;
    return 0;
}

/* Kill (by PID) the children this test started and did not reap; remove the files. */
static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    size_t i;

    for (i = 0; i < sizeof(fx->pids) / sizeof(fx->pids[0]); i++) {
        if (fx->pids[i] > 0) {
            kill(fx->pids[i], SIGKILL);
            waitpid(fx->pids[i], NULL, 0);
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    free(fx);
    return system(cmd) == 0 ? 0 : -1;
}

/* A request with a JSON body and extra headers (after Content-Type), checked against the
 * spec for op and expected to answer status. */
static cJSON *call_with(struct mock *m, const char *op, long status, const char *method,
                        const char *target, const char *token, const char *json,
                        const char *extra_header, struct resp *r)
{
    const char *extra[] = { "Content-Type: application/json", extra_header, NULL };

    mock_call(m, method, target, token, json, json ? strlen(json) : 0, extra, r);
    if (r->status != status)
        fail_msg("%s %s: status %ld, expected %ld: %s", method, target, r->status, status,
                 buf_cstr(&r->body));
    mock_check(m, op, r);
    return r->json;
}

static char *create_box(struct mock *m, const char *token, const char *json, const char *idem)
{
    struct resp r;
    char *id;

    call_with(m, "createHogbox", 201, "POST", "/v1/hogboxes", token, json, idem, &r);
    id = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    return id;
}

static char *snapshot_box(struct mock *m, const char *token, const char *box, const char *idem)
{
    char target[96];
    struct resp r;
    char *id;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/snapshot", box);
    call_with(m, "snapshotHogbox", 201, "POST", target, token, NULL, idem, &r);
    id = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    return id;
}

/* The JSON an operation answers with 200 for a GET of target (new; cJSON_Delete). */
static cJSON *get_json(struct mock *m, const char *op, const char *target, const char *token)
{
    struct resp r;
    cJSON *j;

    mock_expect(m, op, 200, "GET", target, token, NULL, &r);
    j = r.json;
    r.json = NULL;
    resp_release(&r);
    return j;
}

/* The principals of the admin state dump (new; cJSON_Delete): every box, file and
 * snapshot, without the clock. */
static cJSON *state_principals(struct mock *m)
{
    cJSON *dump = get_json(m, "adminState", "/__hogmock/state", NULL);
    cJSON *p = cJSON_DetachItemFromObject(dump, "principals");

    cJSON_Delete(dump);
    assert_non_null(p);
    return p;
}

static cJSON *get_box(struct mock *m, const char *token, const char *box)
{
    char target[96];

    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    return get_json(m, "getHogbox", target, token);
}

/* A file written to a box, and what writeFile answered for it. */
struct written {
    const char *token, *box, *path;
    unsigned char *data;
    size_t len;
    char sha[65];
};

static void write_file(struct mock *m, struct written *w, const char *query_extra)
{
    char target[256], sha[65];
    struct resp r;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=%s%s", w->box, w->path,
             query_extra);
    mock_call(m, "PUT", target, w->token, w->len ? (const char *)w->data : "", w->len, NULL, &r);
    if (r.status != 200)
        fail_msg("PUT %s: %ld: %s", target, r.status, buf_cstr(&r.body));
    mock_check(m, "writeFile", &r);
    sha256_hex(w->data, w->len, sha);
    assert_string_equal(resp_str(&r, "sha256"), sha);
    snprintf(w->sha, sizeof(w->sha), "%s", sha);
    resp_release(&r);
}

/* Read path of box as token: expect it byte for byte as want (len bytes, sha256 sha). */
static void expect_file(struct mock *m, const char *token, const char *box, const char *path,
                        const unsigned char *want, size_t len, const char *sha)
{
    char target[256], got[65];
    struct resp r;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=%s", box, path);
    mock_call(m, "GET", target, token, NULL, 0, NULL, &r);
    if (r.status != 200)
        fail_msg("GET %s: %ld: %s", target, r.status, buf_cstr(&r.body));
    mock_check(m, "readFile", &r);
    assert_int_equal(r.body.len, len);
    assert_true(len == 0 || memcmp(r.body.data, want, len) == 0);
    sha256_hex(r.body.data, r.body.len, got);
    assert_string_equal(got, sha);
    resp_release(&r);
}

static void expect_404(struct mock *m, const char *op, const char *code, const char *target,
                       const char *token)
{
    struct resp r;

    mock_expect(m, op, 404, "GET", target, token, NULL, &r);
    mock_check_problem(&r, code);
    resp_release(&r);
}

static void assert_same_json(const cJSON *before, const cJSON *after, const char *what)
{
    if (!cJSON_Compare(before, after, true)) {
        char *a = cJSON_Print(before), *b = cJSON_Print(after);

        print_message("before: %s\nafter: %s\n", a, b);
        cJSON_free(a);
        cJSON_free(b);
        fail_msg("%s changed across the restart", what);
    }
}

static int list_count(const cJSON *page)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(page, "items"));
}

static bool list_has(const cJSON *page, const char *id)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "items")) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));

        if (v && strcmp(v, id) == 0)
            return true;
    }
    return false;
}

/* Deterministic bytes covering every value, different for each seed. */
static unsigned char *noise(size_t len, uint32_t seed)
{
    unsigned char *p = xmalloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    size_t i;

    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(i < 256 ? i : x);
    }
    return p;
}

/* ---- a clean stop and start, in process ---- */

#define A1_BODY "{\"cpus\": 2, \"memory_mib\": 512, \"labels\": {\"role\": \"kept\"}}"

static void test_a_restart_keeps_boxes_files_snapshots_and_idempotency_records(void **state)
{
    struct fixture *fx = *state;
    struct hogmock_config cfg;
    struct mock *m;
    struct resp r;
    struct timespec t0;
    long stop_ms, start_ms;
    char target[256];
    char *a1, *a2, *b1, *s1, *sb, *c1;
    cJSON *before[9], *after[9];
    const char *what[9] = { "a1", "a2", "b1", "snapshot s1", "snapshot sb", "alice's boxes",
                            "bob's boxes", "alice's snapshots", "the state dump" };
    struct written files[5];
    unsigned char *old_data;
    char old_sha[65];
    size_t old_len, i;

    mock_default_config(&cfg);
    cfg.db_path = fx->db;
    m = mock_start(&cfg);

    a1 = create_box(m, "tok_alice", A1_BODY, "Idempotency-Key: restart-a1");
    a2 = create_box(m, "tok_alice", "{}", NULL);
    b1 = create_box(m, "tok_bob", "{\"labels\": {\"role\": \"bob\"}}", NULL);

    memset(files, 0, sizeof(files));
    files[0] = (struct written){ "tok_alice", a1, "/root/data.bin", noise(200000, 1), 200000, "" };
    files[1] = (struct written){ "tok_alice", a1, "/tmp/empty", noise(0, 2), 0, "" };
    files[2] = (struct written){ "tok_alice", a1, "/srv/app/conf", (unsigned char *)xstrdup("k=v\n"),
                                 4, "" };
    files[3] = (struct written){ "tok_bob", b1, "/root/bob.bin", noise(70001, 3), 70001, "" };
    files[4] = (struct written){ "tok_alice", a2, "/home/nul.bin", noise(4096, 4), 4096, "" };
    for (i = 0; i < 5; i++)
        write_file(m, &files[i], i == 2 ? "&mkdir=true&mode=0600" : "");

    s1 = snapshot_box(m, "tok_alice", a1, "Idempotency-Key: restart-s1");
    sb = snapshot_box(m, "tok_bob", b1, NULL);
    /* The box moves on after its snapshot: each must keep its own content. */
    old_data = files[0].data;
    old_len = files[0].len;
    snprintf(old_sha, sizeof(old_sha), "%s", files[0].sha);
    files[0].data = noise(150000, 5);
    files[0].len = 150000;
    write_file(m, &files[0], "");

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/pause", a2);
    mock_expect(m, "pauseHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    resp_release(&r);

    before[0] = get_box(m, "tok_alice", a1);
    before[1] = get_box(m, "tok_alice", a2);
    before[2] = get_box(m, "tok_bob", b1);
    snprintf(target, sizeof(target), "/v1/snapshots/%s", s1);
    before[3] = get_json(m, "getSnapshot", target, "tok_alice");
    snprintf(target, sizeof(target), "/v1/snapshots/%s", sb);
    before[4] = get_json(m, "getSnapshot", target, "tok_bob");
    before[5] = get_json(m, "listHogboxes", "/v1/hogboxes?limit=100", "tok_alice");
    before[6] = get_json(m, "listHogboxes", "/v1/hogboxes?limit=100", "tok_bob");
    before[7] = get_json(m, "listSnapshots", "/v1/snapshots?limit=100", "tok_alice");
    before[8] = state_principals(m);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(before[1], "state")), "paused");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    mock_stop(m);
    stop_ms = mock_ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    m = mock_start(&cfg);
    start_ms = mock_ms_since(&t0);
    print_message("restart in process: stop %ld ms, start %ld ms\n", stop_ms, start_ms);

    /* Everything reads back the same, the paused box included. */
    after[0] = get_box(m, "tok_alice", a1);
    after[1] = get_box(m, "tok_alice", a2);
    after[2] = get_box(m, "tok_bob", b1);
    snprintf(target, sizeof(target), "/v1/snapshots/%s", s1);
    after[3] = get_json(m, "getSnapshot", target, "tok_alice");
    snprintf(target, sizeof(target), "/v1/snapshots/%s", sb);
    after[4] = get_json(m, "getSnapshot", target, "tok_bob");
    after[5] = get_json(m, "listHogboxes", "/v1/hogboxes?limit=100", "tok_alice");
    after[6] = get_json(m, "listHogboxes", "/v1/hogboxes?limit=100", "tok_bob");
    after[7] = get_json(m, "listSnapshots", "/v1/snapshots?limit=100", "tok_alice");
    after[8] = state_principals(m);
    for (i = 0; i < 9; i++)
        assert_same_json(before[i], after[i], what[i]);
    assert_int_equal(list_count(after[5]), 2);
    assert_int_equal(list_count(after[6]), 1);

    /* Files byte for byte; the snapshot has the content of its time. */
    for (i = 0; i < 4; i++)
        expect_file(m, files[i].token, files[i].box, files[i].path, files[i].data, files[i].len,
                    files[i].sha);
    snprintf(target, sizeof(target), "{\"snapshot_id\": \"%s\"}", s1);
    c1 = create_box(m, "tok_alice", target, NULL);
    expect_file(m, "tok_alice", c1, "/root/data.bin", old_data, old_len, old_sha);
    expect_file(m, "tok_alice", c1, "/srv/app/conf", files[2].data, files[2].len, files[2].sha);

    /* Idempotency records: a replay answers the first result, a changed body is refused. */
    {
        char *again = create_box(m, "tok_alice", A1_BODY, "Idempotency-Key: restart-a1");
        char *snap_again = snapshot_box(m, "tok_alice", a1, "Idempotency-Key: restart-s1");
        cJSON *page;

        assert_string_equal(again, a1);
        assert_string_equal(snap_again, s1);
        call_with(m, "createHogbox", 422, "POST", "/v1/hogboxes", "tok_alice", "{\"cpus\": 1}",
                  "Idempotency-Key: restart-a1", &r);
        mock_check_problem(&r, NULL);
        resp_release(&r);
        page = get_json(m, "listHogboxes", "/v1/hogboxes?limit=100", "tok_alice");
        assert_int_equal(list_count(page), 3);      /* a1, a2, c1 */
        cJSON_Delete(page);
        page = get_json(m, "listSnapshots", "/v1/snapshots?limit=100", "tok_alice");
        assert_int_equal(list_count(page), 1);
        cJSON_Delete(page);
        free(again);
        free(snap_again);
    }

    /* The paused box is still paused: no exec until it is resumed. */
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", a2);
    mock_expect(m, "execHogbox", 409, "POST", target, "tok_alice", "{\"argv\": [\"true\"]}", &r);
    mock_check_problem(&r, "invalid_state");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/resume", a2);
    mock_expect(m, "resumeHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    assert_string_equal(resp_str(&r, "state"), "running");
    resp_release(&r);
    expect_file(m, files[4].token, files[4].box, files[4].path, files[4].data, files[4].len,
                files[4].sha);

    /* Tenancy holds: the other principal's boxes, files and snapshots are 404. */
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", a1);
    expect_404(m, "getHogbox", "hogbox_not_found", target, "tok_bob");
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/data.bin", a1);
    expect_404(m, "readFile", "hogbox_not_found", target, "tok_bob");
    snprintf(target, sizeof(target), "/v1/snapshots/%s", s1);
    expect_404(m, "getSnapshot", "snapshot_not_found", target, "tok_bob");
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", b1);
    expect_404(m, "getHogbox", "hogbox_not_found", target, "tok_alice");
    snprintf(target, sizeof(target), "/v1/snapshots/%s", sb);
    expect_404(m, "getSnapshot", "snapshot_not_found", target, "tok_alice");
    assert_false(list_has(after[6], a1));
    assert_false(list_has(after[5], b1));

    /* New ids never collide with the ones from before the restart. */
    for (i = 0; i < 4; i++) {
        char *id = create_box(m, i % 2 ? "tok_bob" : "tok_alice", "{}", NULL);
        char *snap = snapshot_box(m, i % 2 ? "tok_bob" : "tok_alice", id, NULL);

        assert_true(strcmp(id, a1) && strcmp(id, a2) && strcmp(id, b1) && strcmp(id, c1));
        assert_true(strcmp(snap, s1) && strcmp(snap, sb));
        free(id);
        free(snap);
    }

    mock_stop(m);
    for (i = 0; i < 9; i++) {
        cJSON_Delete(before[i]);
        cJSON_Delete(after[i]);
    }
    for (i = 0; i < 5; i++)
        free(files[i].data);
    free(old_data);
    free(a1);
    free(a2);
    free(b1);
    free(s1);
    free(sb);
    free(c1);
}

/* ---- kill -9 in the middle of writes, as a process ---- */

#define WRITERS 4
#define ROUNDS 24
#define SLOTS 3
/* The kill comes once this many writes got their 200 (more than WRITERS * SLOTS, so
 * files have been replaced) and at least two are in flight. */
#define KILL_AFTER 20

struct attempt {
    int slot;
    unsigned char value;        /* every byte of the file */
    size_t size;
    long status;                /* 0: no answer (cut by the kill) */
};

struct writer {
    int index;
    const char *token;
    const char *url;
    char box[40];
    struct attempt w[ROUNDS];
    int nw;
    char created[ROUNDS][40];
    int ncreated;
    int creates_cut;            /* creates with no answer */
    long unexpected;            /* a status that is neither success nor cut, 0 if none */
    char unexpected_body[256];
};

static atomic_int acked_writes;
static atomic_int in_flight;
static atomic_bool killed;

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, data, size * n);
    return size * n;
}

/* One request on the thread's own handle (kept alive across calls); the status, 0 when
 * the connection failed. */
static long client_call(CURL *c, const char *url, const char *method, const char *target,
                        const char *token, const void *body, size_t len, const char *ctype,
                        struct buf *out)
{
    struct curl_slist *h = NULL;
    char line[256];
    long status = 0;

    buf_reset(out);
    curl_easy_reset(c);
    snprintf(line, sizeof(line), "%s%s", url, target);
    curl_easy_setopt(c, CURLOPT_URL, line);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "Expect:");
    if (ctype) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L * SLOW);
    atomic_fetch_add(&in_flight, 1);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    atomic_fetch_sub(&in_flight, 1);
    curl_slist_free_all(h);
    return status;
}

static void note_unexpected(struct writer *wr, long status, const struct buf *body)
{
    if (!wr->unexpected) {
        wr->unexpected = status;
        snprintf(wr->unexpected_body, sizeof(wr->unexpected_body), "%.*s",
                 (int)(body->len > 200 ? 200 : body->len), body->data ? body->data : "");
    }
}

/* Writes files of a few MiB, every byte one value, to SLOTS paths in turn, and creates a
 * box now and then, until ROUNDS are done or the server is gone. */
static void *writer_main(void *arg)
{
    struct writer *wr = arg;
    CURL *c = curl_easy_init();
    struct buf out = BUF_INIT;
    unsigned char *data = xmalloc(4 * MIB);
    int i;

    for (i = 0; i < ROUNDS && !atomic_load(&killed); i++) {
        struct attempt *a = &wr->w[wr->nw];
        char target[128];

        if (i % 4 == 3) {
            long st = client_call(c, wr->url, "POST", "/v1/hogboxes", wr->token, "{}", 2,
                                  "application/json", &out);

            if (st == 0) {
                wr->creates_cut++;
                break;
            }
            if (st == 201) {
                cJSON *j = cJSON_ParseWithLength(out.data, out.len);
                const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));

                snprintf(wr->created[wr->ncreated++], sizeof(wr->created[0]), "%s",
                         id ? id : "?");
                cJSON_Delete(j);
            } else {
                note_unexpected(wr, st, &out);
            }
        }
        a->slot = i % SLOTS;
        a->value = (unsigned char)(1 + wr->index * ROUNDS + i);
        a->size = (1 + (size_t)((wr->index + i) % 3)) * MIB + (size_t)(wr->index * 1000 + i);
        memset(data, a->value, a->size);
        snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/w%d-s%d.bin", wr->box,
                 wr->index, a->slot);
        wr->nw++;
        a->status = client_call(c, wr->url, "PUT", target, wr->token, data, a->size,
                                "application/octet-stream", &out);
        if (a->status == 200)
            atomic_fetch_add(&acked_writes, 1);
        else if (a->status == 0)
            break;
        else
            note_unexpected(wr, a->status, &out);
    }
    free(data);
    buf_release(&out);
    curl_easy_cleanup(c);
    return NULL;
}

/* Start hogmock on the fixture's database; its PID into a free slot, its URL into url. */
static pid_t spawn_hogmock(struct fixture *fx, const char *tag, char *url, size_t size,
                           long *ready_ms)
{
    char ready[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    struct buf b = BUF_INIT;
    struct timespec t0;
    size_t slot;
    pid_t pid;

    snprintf(ready, sizeof(ready), "%s/ready.%s", fx->dir, tag);
    snprintf(out, sizeof(out), "%s/out.%s", fx->dir, tag);
    snprintf(err, sizeof(err), "%s/err.%s", fx->dir, tag);
    for (slot = 0; slot < 4 && fx->pids[slot] > 0; slot++)
        ;
    assert_true(slot < 4);
    fflush(NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execl(fx->exe, fx->exe, "--listen", "127.0.0.1:0", "--ready-file", ready, "--db", fx->db,
              "--tokens", fx->tokens, "--clock", "virtual", "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    fx->pids[slot] = pid;
    /* Ready once the ready file holds a whole line. */
    for (;;) {
        FILE *f = fopen(ready, "r");
        char line[128] = "";
        int st;

        if (f) {
            if (!fgets(line, sizeof(line), f))
                line[0] = '\0';
            fclose(f);
        }
        if (strchr(line, '\n')) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(url, size, "%s", line);
            break;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fx->pids[slot] = 0;
            fail_msg("hogmock exited (status %d) before it was ready; see %s", st, err);
        }
        if (mock_ms_since(&t0) > 20000L * SLOW)
            fail_msg("hogmock was not ready within %d s", 20 * SLOW);
        mock_pause_ms(2);
    }
    *ready_ms = mock_ms_since(&t0);
    buf_release(&b);
    return pid;
}

/* Forget pid in the fixture once reaped. */
static void reaped(struct fixture *fx, pid_t pid)
{
    size_t i;

    for (i = 0; i < 4; i++)
        if (fx->pids[i] == pid)
            fx->pids[i] = 0;
}

/* The database as SQLite sees it after the crash: intact, and every file's content
 * matches its recorded sha256 (no half-written row). Returns how many files it holds. */
static int check_database(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int files = 0, rc;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    assert_int_equal(sqlite3_prepare_v2(db, "SELECT owner, path, content, sha256 FROM files "
                                        "WHERE is_dir = 0", -1, &st, NULL), SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 2);
        size_t n = (size_t)sqlite3_column_bytes(st, 2), i;
        const char *path_col = (const char *)sqlite3_column_text(st, 1);
        const char *want = (const char *)sqlite3_column_text(st, 3);
        char sha[65];

        sha256_hex(p ? (const void *)p : "", n, sha);
        if (!want || strcmp(sha, want) != 0)
            fail_msg("%s %s: the content does not match its sha256", sqlite3_column_text(st, 0),
                     path_col);
        if (strncmp(path_col, "/root/w", 7) == 0)
            for (i = 1; i < n; i++)
                if (p[i] != p[0])
                    fail_msg("%s: byte %zu is %u, byte 0 is %u: a mix of two writes", path_col,
                             i, p[i], p[0]);
        files++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return files;
}

/* What slot s of writer wr may hold after the crash: the last acknowledged write, or a
 * later write that was cut (it may or may not have committed). NULL: nothing acknowledged. */
static void slot_candidates(const struct writer *wr, int s, const struct attempt **acked,
                            const struct attempt **cut)
{
    int i;

    *acked = NULL;
    *cut = NULL;
    for (i = 0; i < wr->nw; i++) {
        if (wr->w[i].slot != s)
            continue;
        if (wr->w[i].status == 200) {
            *acked = &wr->w[i];
            *cut = NULL;
        } else if (wr->w[i].status == 0) {
            *cut = &wr->w[i];
        }
    }
}

static void test_a_kill_during_writes_leaves_a_consistent_database_and_every_acked_write(
    void **state)
{
    struct fixture *fx = *state;
    struct writer wr[WRITERS];
    pthread_t th[WRITERS];
    char url[96];
    struct mock ext;
    struct timespec t0;
    long ready_ms, restart_ms;
    int i, s, st, acked, cut = 0, boxes_created = 0, db_files, found = 0, from_cut = 0;
    pid_t pid;

    atomic_store(&acked_writes, 0);
    atomic_store(&in_flight, 0);
    atomic_store(&killed, false);
    pid = spawn_hogmock(fx, "first", url, sizeof(url), &ready_ms);
    memset(&ext, 0, sizeof(ext));
    snprintf(ext.url, sizeof(ext.url), "%s", url);

    memset(wr, 0, sizeof(wr));
    for (i = 0; i < WRITERS; i++) {
        char *box;

        wr[i].index = i;
        wr[i].token = i % 2 ? "tok_bob" : "tok_alice";
        wr[i].url = ext.url;
        box = create_box(&ext, wr[i].token, "{}", NULL);
        snprintf(wr[i].box, sizeof(wr[i].box), "%s", box);
        free(box);
    }
    for (i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &wr[i]), 0);

    /* The kill comes after a bounded number of acknowledged writes, while others are on
     * the wire. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!(atomic_load(&acked_writes) >= KILL_AFTER && atomic_load(&in_flight) >= 2)
           && mock_ms_since(&t0) < 60000L * SLOW)
        mock_pause_ms(1);
    acked = atomic_load(&acked_writes);
    kill(pid, SIGKILL);
    atomic_store(&killed, true);
    for (i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    reaped(fx, pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    if (acked < KILL_AFTER)
        fail_msg("only %d writes were acknowledged in %d s", acked, 60 * SLOW);

    acked = 0;
    for (i = 0; i < WRITERS; i++) {
        int k;

        if (wr[i].unexpected)
            fail_msg("writer %d: unexpected status %ld: %s", i, wr[i].unexpected,
                     wr[i].unexpected_body);
        for (k = 0; k < wr[i].nw; k++) {
            acked += wr[i].w[k].status == 200;
            cut += wr[i].w[k].status == 0;
        }
        cut += wr[i].creates_cut;
        boxes_created += wr[i].ncreated;
    }

    /* The database as it was left: intact, no row with half its content. */
    db_files = check_database(fx->db);

    /* Restarted on it: every acknowledged write is there, complete; nothing is mixed. */
    pid = spawn_hogmock(fx, "second", url, sizeof(url), &restart_ms);
    snprintf(ext.url, sizeof(ext.url), "%s", url);
    for (i = 0; i < WRITERS; i++) {
        for (s = 0; s < SLOTS; s++) {
            const struct attempt *a, *c, *match = NULL;
            char target[128];
            struct resp r;
            size_t k;

            slot_candidates(&wr[i], s, &a, &c);
            snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/w%d-s%d.bin",
                     wr[i].box, i, s);
            mock_call(&ext, "GET", target, wr[i].token, NULL, 0, NULL, &r);
            mock_check(&ext, "readFile", &r);
            if (r.status == 404) {
                /* Durability: a process kill loses no acknowledged transaction. */
                if (a)
                    fail_msg("writer %d slot %d: the write of value %u got 200 but is gone", i,
                             s, a->value);
                resp_release(&r);
                continue;
            }
            assert_int_equal(r.status, 200);
            found++;
            if (a && r.body.len == a->size && (unsigned char)r.body.data[0] == a->value)
                match = a;
            else if (c && r.body.len == c->size && (unsigned char)r.body.data[0] == c->value)
                match = c, from_cut++;
            if (!match)
                fail_msg("writer %d slot %d: %zu bytes of value %u, neither the last "
                         "acknowledged write nor one cut by the kill", i, s, r.body.len,
                         r.body.len ? (unsigned char)r.body.data[0] : 0);
            for (k = 0; k < r.body.len; k++)
                if ((unsigned char)r.body.data[k] != match->value)
                    fail_msg("writer %d slot %d: byte %zu is %u, not %u: half-written", i, s, k,
                             (unsigned char)r.body.data[k], match->value);
            resp_release(&r);
        }
        for (s = 0; s < wr[i].ncreated; s++) {
            cJSON *box = get_box(&ext, wr[i].token, wr[i].created[s]);

            cJSON_Delete(box);
        }
    }

    /* It serves normally: a new box, a file, an exec, a destroy. */
    {
        struct written w = { "tok_alice", NULL, "/root/after.bin", noise(100000, 9), 100000, "" };
        char *box = create_box(&ext, "tok_alice", "{}", NULL);
        char target[96];
        struct resp r;

        w.box = box;
        write_file(&ext, &w, "");
        expect_file(&ext, "tok_alice", box, w.path, w.data, w.len, w.sha);
        snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", box);
        mock_expect(&ext, "execHogbox", 200, "POST", target, "tok_alice",
                    "{\"argv\": [\"echo\", \"alive\"]}", &r);
        assert_string_equal(resp_str(&r, "stdout"), "alive\n");
        resp_release(&r);
        snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
        mock_expect(&ext, "destroyHogbox", 204, "DELETE", target, "tok_alice", NULL, &r);
        resp_release(&r);
        free(w.data);
        free(box);
    }
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    reaped(fx, pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    print_message("kill -9: %d writes acknowledged, %d requests cut, %d boxes created; "
                  "%d files in the database, %d writer files back (%d of them from a cut write); "
                  "first start %ld ms, restart after the crash %ld ms\n", acked, cut,
                  boxes_created, db_files, found, from_cut, ready_ms, restart_ms);
    /* The kill did land in the middle of writes. */
    assert_true(cut >= 1);
}

/* A database written before files became a rowid table (schema 0: a WITHOUT ROWID table,
 * where every search passing a big row read all of it) is brought up to date on open, its
 * files kept. */
static void test_an_older_database_gets_its_files_table_upgraded(void **state)
{
    struct fixture *fx = *state;
    struct hogmock_config cfg;
    unsigned char content[3000];
    char target[160], *box;
    struct resp r;
    struct mock *m;
    sqlite3_stmt *st;
    sqlite3 *db;
    size_t i;

    for (i = 0; i < sizeof(content); i++)
        content[i] = (unsigned char)(i * 7);
    mock_default_config(&cfg);
    cfg.db_path = fx->db;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");
    mock_stop(m);

    /* Back to the old layout, with one file written the old way. */
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "BEGIN;"
        "CREATE TABLE files_old (owner TEXT NOT NULL, path TEXT NOT NULL, is_dir INTEGER NOT NULL,"
        "  mode INTEGER NOT NULL, content BLOB, sha256 TEXT, PRIMARY KEY (owner, path))"
        "  WITHOUT ROWID;"
        "INSERT INTO files_old SELECT owner, path, is_dir, mode, content, sha256 FROM files;"
        "DROP TABLE files; ALTER TABLE files_old RENAME TO files; PRAGMA user_version=0;"
        "COMMIT;", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO files VALUES (?1, '/root/old.bin', 0, 420,"
                                            " ?2, 'unchecked')", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, box, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, content, sizeof(content), SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);

    m = mock_start(&cfg);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/old.bin", box);
    mock_call(m, "GET", target, "tok_alice", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, sizeof(content));
    assert_memory_equal(r.body.data, content, sizeof(content));
    resp_release(&r);
    mock_stop(m);

    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM pragma_user_version),"
                                            " sql FROM sqlite_schema WHERE name = 'files'", -1,
                                        &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_null(strstr((const char *)sqlite3_column_text(st, 1), "WITHOUT ROWID"));
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_restart_keeps_boxes_files_snapshots_and_idempotency_records, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_kill_during_writes_leaves_a_consistent_database_and_every_acked_write, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_an_older_database_gets_its_files_table_upgraded,
                                        setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("restart", tests, NULL, NULL);
}
