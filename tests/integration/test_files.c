/* Integration tests for writeFile and readFile: binary-exact round trips up to the 64 MiB
 * limit, modes, mkdir, path normalisation and traversal, atomic replacement, and every
 * documented error, each answer checked against the spec. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "harness.h"
#include "xmalloc.h"

#define MIB (1024u * 1024u)

/* PUT data to /v1/hogboxes/BOX/files?QUERY as token, checked against the spec. */
static void put(struct mock *m, const char *box, const char *query, const char *token,
                const void *data, size_t len, struct resp *r)
{
    struct buf target = BUF_INIT;

    buf_addf(&target, "/v1/hogboxes/%s/files?%s", box, query);
    /* An empty body still has to be sent: "" rather than NULL. */
    mock_call(m, "PUT", buf_cstr(&target), token, data ? data : "", len, NULL, r);
    mock_check(m, "writeFile", r);
    buf_release(&target);
}

static void get(struct mock *m, const char *box, const char *query, const char *token,
                struct resp *r)
{
    struct buf target = BUF_INIT;

    buf_addf(&target, "/v1/hogboxes/%s/files?%s", box, query);
    mock_call(m, "GET", buf_cstr(&target), token, NULL, 0, NULL, r);
    mock_check(m, "readFile", r);
    buf_release(&target);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    assert_true(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL));
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Write data, expect 200 with the FileWritten fields, and read it back byte for byte. */
static void round_trip(struct mock *m, const char *box, const char *path_query,
                       const char *want_path, const void *data, size_t len)
{
    struct resp r;
    char sha[65];
    const cJSON *size;

    put(m, box, path_query, "tok_alice", data, len, &r);
    assert_int_equal(r.status, 200);
    sha256_hex(data, len, sha);
    assert_string_equal(resp_str(&r, "path"), want_path);
    size = cJSON_GetObjectItem(r.json, "size");
    assert_true(cJSON_IsNumber(size));
    assert_true(size->valuedouble == (double)len);
    assert_string_equal(resp_str(&r, "sha256"), sha);
    resp_release(&r);

    {
        char q[1024];

        snprintf(q, sizeof(q), "path=%s", want_path);
        get(m, box, q, "tok_alice", &r);
    }
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Content-Type"), "application/octet-stream");
    assert_int_equal(r.body.len, len);
    assert_true(len == 0 || memcmp(r.body.data, data, len) == 0);
    resp_release(&r);
}

static void expect_problem(const struct resp *r, long status, const char *code)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, buf_cstr(&r->body));
    mock_check_problem(r, code);
}

static void test_files_round_trip_every_byte_value(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    unsigned char data[256 * 4];
    size_t i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + i / 256);
    round_trip(m, box, "path=/root/bytes.bin", "/root/bytes.bin", data, sizeof(data));
    for (i = 0; i < 256; i++)
        data[i] = (unsigned char)i;
    round_trip(m, box, "path=/tmp/256.bin", "/tmp/256.bin", data, 256);
    free(box);
}

static void test_files_write_an_empty_file(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    round_trip(m, box, "path=/root/empty", "/root/empty", "", 0);
    put(m, box, "path=/root/empty", "tok_alice", "", 0, &r);
    assert_string_equal(resp_str(&r, "sha256"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    resp_release(&r);
    free(box);
}

static void test_files_round_trip_64_mib_and_refuse_one_byte_more(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    size_t len = 64 * MIB, i;
    unsigned char *data = xmalloc(len + 1);
    uint32_t x = 2463534242u;
    struct resp r;

    for (i = 0; i < len + 1; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    round_trip(m, box, "path=/root/big.bin", "/root/big.bin", data, len);

    /* One byte over: 413, and the file keeps its old content. */
    data[0] ^= 0xff;
    put(m, box, "path=/root/big.bin", "tok_alice", data, len + 1, &r);
    expect_problem(&r, 413, "payload_too_large");
    resp_release(&r);
    data[0] ^= 0xff;
    get(m, box, "path=/root/big.bin", "tok_alice", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, len);
    assert_memory_equal(r.body.data, data, len);
    resp_release(&r);
    free(data);
    free(box);
}

static void test_files_follow_a_narrower_file_limit(void **state)
{
    static const char limits[] = "file_max_bytes: 100\n";
    char path[] = "/tmp/hoglimitsXXXXXX", data[101];
    struct hogmock_config cfg;
    struct mock *m;
    char *box;
    struct resp r;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(limits, f);
    fclose(f);
    mock_default_config(&cfg);
    cfg.limits_path = path;
    m = mock_start(&cfg);
    box = mock_new_box(m, "tok_alice");
    memset(data, 'x', sizeof(data));
    round_trip(m, box, "path=/root/f", "/root/f", data, 100);
    data[0] = 'y';
    put(m, box, "path=/root/f", "tok_alice", data, 101, &r);
    expect_problem(&r, 413, "payload_too_large");
    resp_release(&r);
    get(m, box, "path=/root/f", "tok_alice", &r);
    assert_int_equal(r.body.len, 100);
    assert_int_equal(r.body.data[0], 'x');
    resp_release(&r);
    free(box);
    mock_stop(m);
    unlink(path);
}

static void test_files_replace_content_and_mode(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    put(m, box, "path=/root/hello.txt", "tok_alice", "hello\n", 6, &r);
    assert_int_equal(r.status, 200);
    /* The spec's own example. */
    assert_string_equal(resp_str(&r, "mode"), "0644");
    assert_string_equal(resp_str(&r, "sha256"),
                        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    assert_int_equal(cJSON_GetObjectItem(r.json, "size")->valueint, 6);
    resp_release(&r);

    put(m, box, "path=/root/hello.txt&mode=755", "tok_alice", "bye\n", 4, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_str(&r, "mode"), "0755");
    resp_release(&r);
    get(m, box, "path=/root/hello.txt", "tok_alice", &r);
    assert_int_equal(r.body.len, 4);
    assert_memory_equal(r.body.data, "bye\n", 4);
    resp_release(&r);

    put(m, box, "path=/root/setuid&mode=4750", "tok_alice", "x", 1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_str(&r, "mode"), "4750");
    resp_release(&r);
    put(m, box, "path=/root/private&mode=0600", "tok_alice", "x", 1, &r);
    assert_string_equal(resp_str(&r, "mode"), "0600");
    resp_release(&r);
    free(box);
}

static void test_files_refuse_a_malformed_mode(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    static const char *const bad[] = { "mode=0999", "mode=rwx", "mode=12", "mode=07777",
                                       "mode=", NULL };
    char q[128];
    struct resp r;
    size_t i;

    for (i = 0; bad[i]; i++) {
        snprintf(q, sizeof(q), "path=/root/m&%s", bad[i]);
        put(m, box, q, "tok_alice", "x", 1, &r);
        expect_problem(&r, 400, "invalid_parameter");
        resp_release(&r);
    }
    /* Nothing was written. */
    get(m, box, "path=/root/m", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    free(box);
}

static void test_files_mkdir_creates_missing_parents(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    put(m, box, "path=/srv/app/main.py", "tok_alice", "print(\"hi\")\n", 12, &r);
    expect_problem(&r, 404, "file_not_found");
    assert_non_null(strstr(resp_str(&r, "detail"), "/srv/app"));
    resp_release(&r);
    put(m, box, "path=/srv/app/main.py&mkdir=false", "tok_alice", "x", 1, &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);

    /* The spec's second example, byte for byte. */
    put(m, box, "path=/srv/app/main.py&mkdir=true&mode=0755", "tok_alice", "print(\"hi\")\n", 12,
        &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_str(&r, "path"), "/srv/app/main.py");
    assert_string_equal(resp_str(&r, "mode"), "0755");
    assert_string_equal(resp_str(&r, "sha256"),
                        "0ca9091eb4e31fb1ab24c8c5de92a08e4e5f402919f82ea3ca784f38534f03f3");
    resp_release(&r);

    /* The parents now exist: a sibling needs no mkdir, and they are directories. */
    put(m, box, "path=/srv/app/other.txt", "tok_alice", "y", 1, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    get(m, box, "path=/srv/app", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    /* mkdir on parents that already exist changes nothing. */
    round_trip(m, box, "path=/srv/app/main.py&mkdir=true", "/srv/app/main.py", "z", 1);
    free(box);
}

static void test_files_fresh_box_has_the_standard_tree(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    static const char *const dirs[] = { "/tmp", "/root", "/home", "/etc", "/usr", "/usr/bin",
                                        "/var", NULL };
    char q[128], want[128];
    struct resp r;
    size_t i;

    for (i = 0; dirs[i]; i++) {
        /* Each is a directory: reading it is 404, writing into it works. */
        snprintf(q, sizeof(q), "path=%s", dirs[i]);
        get(m, box, q, "tok_alice", &r);
        expect_problem(&r, 404, "file_not_found");
        resp_release(&r);
        snprintf(q, sizeof(q), "path=%s/f", dirs[i]);
        snprintf(want, sizeof(want), "%s/f", dirs[i]);
        round_trip(m, box, q, want, "f", 1);
    }
    put(m, box, "path=/work/f", "tok_alice", "f", 1, &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    free(box);
}

static void test_files_normalise_paths(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    round_trip(m, box, "path=/root/./a/../b.txt", "/root/b.txt", "b", 1);
    round_trip(m, box, "path=//root///c.txt", "/root/c.txt", "c", 1);
    round_trip(m, box, "path=/tmp/d.txt/", "/tmp/d.txt", "d", 1);
    /* Percent-encoded dots are dots once decoded. */
    round_trip(m, box, "path=%2Froot%2F%2E%2E%2Froot%2Fe.txt", "/root/e.txt", "e", 1);
    get(m, box, "path=/root/../root/./b.txt", "tok_alice", &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body.data, "b", 1);
    resp_release(&r);
    free(box);
}

static void test_files_traversal_stays_inside_the_box(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    /* The host's /etc/passwd is never read: the box has none. */
    get(m, box, "path=/../../etc/passwd", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    /* ".." above "/" stays at "/", as on Linux. */
    round_trip(m, box, "path=/../../etc/passwd", "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26);
    get(m, box, "path=/etc/../../../etc/passwd", "tok_alice", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 26);
    resp_release(&r);
    put(m, box, "path=/..", "tok_alice", "x", 1, &r);
    expect_problem(&r, 422, "validation_failed");
    resp_release(&r);
    free(box);
}

static void test_files_refuse_relative_paths_with_422(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    static const char *const rel[] = { "path=hello.txt", "path=./x", "path=../etc/passwd",
                                       "path=root/x", NULL };
    const cJSON *err;
    struct resp r;
    size_t i;

    for (i = 0; rel[i]; i++) {
        put(m, box, rel[i], "tok_alice", "x", 1, &r);
        expect_problem(&r, 422, "validation_failed");
        err = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0);
        assert_non_null(err);
        assert_string_equal(cJSON_GetObjectItem(err, "parameter")->valuestring, "path");
        resp_release(&r);
        get(m, box, rel[i], "tok_alice", &r);
        expect_problem(&r, 422, "validation_failed");
        resp_release(&r);
    }
    free(box);
}

static void test_files_refuse_directories_and_files_in_the_way(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    const cJSON *err;
    struct resp r;

    /* Over a directory (EISDIR): 422 on the path parameter; the directory stays. */
    put(m, box, "path=/tmp", "tok_alice", "x", 1, &r);
    expect_problem(&r, 422, "validation_failed");
    err = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0);
    assert_string_equal(cJSON_GetObjectItem(err, "parameter")->valuestring, "path");
    resp_release(&r);
    put(m, box, "path=/", "tok_alice", "x", 1, &r);
    expect_problem(&r, 422, "validation_failed");
    resp_release(&r);
    round_trip(m, box, "path=/tmp/still-a-dir", "/tmp/still-a-dir", "x", 1);

    /* A file where a directory should be (ENOTDIR): 422 too, with or without mkdir. */
    round_trip(m, box, "path=/root/plain", "/root/plain", "p", 1);
    put(m, box, "path=/root/plain/child", "tok_alice", "x", 1, &r);
    expect_problem(&r, 422, "validation_failed");
    resp_release(&r);
    put(m, box, "path=/root/plain/a/b&mkdir=true", "tok_alice", "x", 1, &r);
    expect_problem(&r, 422, "validation_failed");
    resp_release(&r);
    get(m, box, "path=/root/plain/child", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    /* The failed mkdir left nothing behind. */
    get(m, box, "path=/root/plain", "tok_alice", &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body.data, "p", 1);
    resp_release(&r);
    free(box);
}

static void test_files_missing_file_is_404(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    get(m, box, "path=/root/missing.txt", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    get(m, box, "path=/nowhere/at/all", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    get(m, box, "path=/", "tok_alice", &r);
    expect_problem(&r, 404, "file_not_found");
    resp_release(&r);
    free(box);
}

static void test_files_need_a_running_box(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    char target[128];
    struct resp r;

    round_trip(m, box, "path=/root/a", "/root/a", "a", 1);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/pause", box);
    mock_expect(m, "pauseHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    resp_release(&r);
    put(m, box, "path=/root/a", "tok_alice", "b", 1, &r);
    expect_problem(&r, 409, "invalid_state");
    resp_release(&r);
    get(m, box, "path=/root/a", "tok_alice", &r);
    expect_problem(&r, 409, "invalid_state");
    resp_release(&r);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/resume", box);
    mock_expect(m, "resumeHogbox", 200, "POST", target, "tok_alice", NULL, &r);
    resp_release(&r);
    get(m, box, "path=/root/a", "tok_alice", &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body.data, "a", 1);
    resp_release(&r);
    free(box);
}

static void test_files_of_another_principal_are_404(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    struct resp r;

    round_trip(m, box, "path=/root/secret", "/root/secret", "s", 1);
    get(m, box, "path=/root/secret", "tok_bob", &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    put(m, box, "path=/root/secret", "tok_bob", "b", 1, &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    get(m, "hb_0000000000000000", "path=/root/secret", "tok_alice", &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    put(m, "hb_0000000000000000", "path=/root/x", "tok_alice", "b", 1, &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    /* Bob's attempt changed nothing. */
    get(m, box, "path=/root/secret", "tok_alice", &r);
    assert_memory_equal(r.body.data, "s", 1);
    resp_release(&r);
    free(box);
}

static void test_files_of_a_destroyed_box_are_404(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    char target[128];
    struct resp r;

    round_trip(m, box, "path=/root/a", "/root/a", "a", 1);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s", box);
    mock_expect(m, "destroyHogbox", 204, "DELETE", target, "tok_alice", NULL, &r);
    resp_release(&r);
    get(m, box, "path=/root/a", "tok_alice", &r);
    expect_problem(&r, 404, "hogbox_not_found");
    resp_release(&r);
    free(box);
}

static void test_files_refuse_other_content_types(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    static const char *const json[] = { "Content-Type: application/json", NULL };
    char target[128];
    struct resp r;

    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/j", box);
    mock_call(m, "PUT", target, "tok_alice", "{}", 2, json, &r);
    mock_check(m, "writeFile", &r);
    expect_problem(&r, 415, "unsupported_media_type");
    resp_release(&r);
    free(box);
}

static void test_files_follow_the_box_into_snapshots(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    char target[128], body[128], *child;
    unsigned char data[300];
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(255 - i % 256);
    round_trip(m, box, "path=/srv/data.bin&mkdir=true", "/srv/data.bin", data, sizeof(data));
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/snapshot", box);
    mock_expect(m, "snapshotHogbox", 201, "POST", target, "tok_alice", NULL, &r);
    snprintf(body, sizeof(body), "{\"snapshot_id\": \"%s\"}", resp_str(&r, "id"));
    assert_true(cJSON_GetObjectItem(r.json, "size_bytes")->valuedouble >= (double)sizeof(data));
    resp_release(&r);

    /* Later writes to the box do not reach the snapshot. */
    round_trip(m, box, "path=/srv/data.bin", "/srv/data.bin", "new", 3);
    mock_expect(m, "createHogbox", 201, "POST", "/v1/hogboxes", "tok_alice", body, &r);
    child = xstrdup(resp_str(&r, "id"));
    resp_release(&r);
    get(m, child, "path=/srv/data.bin", "tok_alice", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, sizeof(data));
    assert_memory_equal(r.body.data, data, sizeof(data));
    resp_release(&r);
    free(child);
    free(box);
}

/* ---- atomicity: readers racing a writer see the old file or the new one ---- */

struct race {
    struct mock *m;
    const char *box;
    const unsigned char *a, *b;
    size_t len;
    atomic_int stop;
    int reads, mixed;
};

static void *reader(void *arg)
{
    struct race *race = arg;
    struct resp r;

    while (!atomic_load(&race->stop)) {
        get(race->m, race->box, "path=/root/race.bin", "tok_alice", &r);
        if (r.status != 200 || r.body.len != race->len
            || (memcmp(r.body.data, race->a, race->len) != 0
                && memcmp(r.body.data, race->b, race->len) != 0))
            race->mixed++;
        race->reads++;
        resp_release(&r);
    }
    return NULL;
}

static void test_files_readers_never_see_half_a_file(void **state)
{
    struct mock *m = *state;
    char *box = mock_new_box(m, "tok_alice");
    size_t len = 2 * MIB;
    unsigned char *a = xmalloc(len), *b = xmalloc(len);
    struct race race;
    pthread_t t;
    struct resp r;
    int i;

    memset(a, 'a', len);
    memset(b, 'b', len);
    round_trip(m, box, "path=/root/race.bin", "/root/race.bin", a, len);
    memset(&race, 0, sizeof(race));
    race.m = m;
    race.box = box;
    race.a = a;
    race.b = b;
    race.len = len;
    assert_int_equal(pthread_create(&t, NULL, reader, &race), 0);
    for (i = 0; i < 20; i++) {
        put(m, box, "path=/root/race.bin", "tok_alice", i % 2 ? a : b, len, &r);
        assert_int_equal(r.status, 200);
        resp_release(&r);
    }
    atomic_store(&race.stop, 1);
    pthread_join(t, NULL);
    assert_true(race.reads > 0);
    assert_int_equal(race.mixed, 0);
    free(a);
    free(b);
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_round_trip_every_byte_value),
        cmocka_unit_test(test_files_write_an_empty_file),
        cmocka_unit_test(test_files_round_trip_64_mib_and_refuse_one_byte_more),
        cmocka_unit_test(test_files_follow_a_narrower_file_limit),
        cmocka_unit_test(test_files_replace_content_and_mode),
        cmocka_unit_test(test_files_refuse_a_malformed_mode),
        cmocka_unit_test(test_files_mkdir_creates_missing_parents),
        cmocka_unit_test(test_files_fresh_box_has_the_standard_tree),
        cmocka_unit_test(test_files_normalise_paths),
        cmocka_unit_test(test_files_traversal_stays_inside_the_box),
        cmocka_unit_test(test_files_refuse_relative_paths_with_422),
        cmocka_unit_test(test_files_refuse_directories_and_files_in_the_way),
        cmocka_unit_test(test_files_missing_file_is_404),
        cmocka_unit_test(test_files_need_a_running_box),
        cmocka_unit_test(test_files_of_another_principal_are_404),
        cmocka_unit_test(test_files_of_a_destroyed_box_are_404),
        cmocka_unit_test(test_files_refuse_other_content_types),
        cmocka_unit_test(test_files_follow_the_box_into_snapshots),
        cmocka_unit_test(test_files_readers_never_see_half_a_file),
    };

    return cmocka_run_group_tests_name("files", tests, mock_setup, mock_teardown);
}
