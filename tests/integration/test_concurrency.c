/* Integration test for hogmock under concurrent clients of two principals: no box lost or
 * duplicated, no tenant sees another's, and the journal counts every request exactly. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "harness.h"
#include "xmalloc.h"

#define THREADS 8
#define ROUNDS 25
/* Requests one round sends: create, exec, write, read, the other principal's get, list,
 * destroy, get after destroy. */
#define PER_ROUND 8

struct worker {
    int index;
    const char *url;
    const char *token, *other_token, *owner;
    char ids[ROUNDS][40];
    int nids;
    long sent;                  /* requests that reached the server (got any answer) */
    int destroyed;              /* destroys answered 204 */
    char failure[600];          /* the first thing that went wrong, "" if nothing */
};

/* ---- helpers ---- */

static long ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, data, size * n);
    return size * n;
}

/* One request on the worker's own handle (the connection is kept alive across calls).
 * The status, or 0 when there was no answer. *json (may be NULL) gets the body parsed. */
static long call(struct worker *w, CURL *c, const char *method, const char *target,
                 const char *token, const void *body, size_t len, const char *ctype,
                 struct buf *out, cJSON **json)
{
    struct curl_slist *h = NULL;
    char line[256];
    long status = 0;

    buf_reset(out);
    curl_easy_reset(c);
    snprintf(line, sizeof(line), "%s%s", w->url, target);
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
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        w->sent++;
    }
    curl_slist_free_all(h);
    if (json)
        *json = out->len ? cJSON_ParseWithLength(out->data, out->len) : NULL;
    return status;
}

static const char *jstr(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Record the first failure of a worker (cmocka's asserts belong to the main thread). */
static void failed(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failed(struct worker *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->failure[0])
        return;
    n = snprintf(w->failure, sizeof(w->failure), "worker %d: ", w->index);
    va_start(ap, fmt);
    vsnprintf(w->failure + n, sizeof(w->failure) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* One round: create, exec, write and read a file, probe tenancy, list, destroy. False
 * once something went wrong (recorded). */
static bool round_trip(struct worker *w, CURL *c, int r, struct buf *out)
{
    char target[160], body[256], marker[96], sha[65];
    unsigned char data[4096];
    size_t len = 1000 + (size_t)(w->index * 97 + r * 13) % 3000, k;
    cJSON *j = NULL;
    const cJSON *it;
    const char *id;
    bool mine = false;
    long st;

    snprintf(body, sizeof(body), "{\"labels\": {\"owner\": \"%s\", \"worker\": \"w%d\"}}",
             w->owner, w->index);
    st = call(w, c, "POST", "/v1/hogboxes", w->token, body, strlen(body), "application/json",
              out, &j);
    id = jstr(j, "id");
    if (st != 201 || !id) {
        failed(w, "create: %ld: %s", st, buf_cstr(out));
        cJSON_Delete(j);
        return false;
    }
    snprintf(w->ids[w->nids++], sizeof(w->ids[0]), "%s", id);
    cJSON_Delete(j);
    id = w->ids[w->nids - 1];

    snprintf(marker, sizeof(marker), "mark-%d-%d-%s", w->index, r, id);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/exec", id);
    snprintf(body, sizeof(body), "{\"argv\": [\"echo\", \"%s\"]}", marker);
    st = call(w, c, "POST", target, w->token, body, strlen(body), "application/json", out, &j);
    {
        const char *so = jstr(j, "stdout");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
        size_t ml = strlen(marker);

        if (st != 200 || !so || strncmp(so, marker, ml) != 0 || strcmp(so + ml, "\n") != 0
            || !cJSON_IsNumber(code) || code->valueint != 0) {
            failed(w, "exec echo %s: %ld: %s", marker, st, buf_cstr(out));
            cJSON_Delete(j);
            return false;
        }
    }
    cJSON_Delete(j);

    for (k = 0; k < len; k++)
        data[k] = (unsigned char)(w->index * 31 + r * 7 + (int)k);
    sha256_hex(data, len, sha);
    snprintf(target, sizeof(target), "/v1/hogboxes/%s/files?path=/root/r%d.bin", id, r);
    st = call(w, c, "PUT", target, w->token, data, len, "application/octet-stream", out, &j);
    if (st != 200 || !jstr(j, "sha256") || strcmp(jstr(j, "sha256"), sha) != 0) {
        failed(w, "write %s: %ld: %s", target, st, buf_cstr(out));
        cJSON_Delete(j);
        return false;
    }
    cJSON_Delete(j);
    st = call(w, c, "GET", target, w->token, NULL, 0, NULL, out, NULL);
    if (st != 200 || out->len != len || memcmp(out->data, data, len) != 0) {
        failed(w, "read %s: %ld, %zu bytes of %zu, or not the bytes written", target, st,
               out->len, len);
        return false;
    }

    snprintf(target, sizeof(target), "/v1/hogboxes/%s", id);
    st = call(w, c, "GET", target, w->other_token, NULL, 0, NULL, out, NULL);
    if (st != 404) {
        failed(w, "the other principal got %s: %ld: %s", id, st, buf_cstr(out));
        return false;
    }

    st = call(w, c, "GET", "/v1/hogboxes?limit=100", w->token, NULL, 0, NULL, out, &j);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
        const char *owner = jstr(cJSON_GetObjectItemCaseSensitive(it, "labels"), "owner");

        if (!owner || strcmp(owner, w->owner) != 0) {
            failed(w, "%s's list holds %s of '%s'", w->owner, jstr(it, "id"),
                   owner ? owner : "?");
            cJSON_Delete(j);
            return false;
        }
        mine |= jstr(it, "id") && strcmp(jstr(it, "id"), id) == 0;
    }
    cJSON_Delete(j);
    if (st != 200 || !mine) {
        failed(w, "list: %ld, %s missing: %s", st, id, buf_cstr(out));
        return false;
    }

    st = call(w, c, "DELETE", target, w->token, NULL, 0, NULL, out, NULL);
    if (st != 204) {
        failed(w, "destroy %s: %ld: %s", id, st, buf_cstr(out));
        return false;
    }
    w->destroyed++;
    st = call(w, c, "GET", target, w->token, NULL, 0, NULL, out, NULL);
    if (st != 404) {
        failed(w, "get after destroy %s: %ld: %s", id, st, buf_cstr(out));
        return false;
    }
    return true;
}

static pthread_barrier_t start_line;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    CURL *c = curl_easy_init();
    struct buf out = BUF_INIT;
    int r;

    pthread_barrier_wait(&start_line);
    for (r = 0; r < ROUNDS; r++)
        if (!round_trip(w, c, r, &out))
            break;
    buf_release(&out);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long journal_count(struct mock *m, const char *query)
{
    char target[160];
    struct resp r;
    long n;

    snprintf(target, sizeof(target), "/__hogmock/journal/count%s", query);
    mock_expect(m, "adminJournalCount", 200, "GET", target, NULL, NULL, &r);
    n = (long)cJSON_GetObjectItem(r.json, "count")->valuedouble;
    resp_release(&r);
    return n;
}

static int count_items(struct mock *m, const char *token)
{
    struct resp r;
    int n;

    mock_expect(m, "listHogboxes", 200, "GET", "/v1/hogboxes?limit=100", token, NULL, &r);
    n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items"));
    resp_release(&r);
    return n;
}

/* ---- the test ---- */

static void test_concurrent_clients_lose_no_box_and_the_journal_counts_every_request(
    void **state)
{
    struct mock *m = *state;
    struct worker *w = xcalloc(THREADS, sizeof(*w));
    pthread_t th[THREADS];
    const char *all[THREADS * ROUNDS];
    struct timespec t0;
    long sent = 0, alice_sent = 0, elapsed_ms, want, got = -1;
    int i, k, n = 0, destroyed = 0;

    assert_int_equal(pthread_barrier_init(&start_line, NULL, THREADS + 1), 0);
    for (i = 0; i < THREADS; i++) {
        w[i].index = i;
        w[i].url = m->url;
        w[i].token = i % 2 ? "tok_bob" : "tok_alice";
        w[i].other_token = i % 2 ? "tok_alice" : "tok_bob";
        w[i].owner = i % 2 ? "bob" : "alice";
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    pthread_barrier_wait(&start_line);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    elapsed_ms = ms_since(&t0);
    pthread_barrier_destroy(&start_line);

    for (i = 0; i < THREADS; i++) {
        if (w[i].failure[0])
            fail_msg("%s", w[i].failure);
        assert_int_equal(w[i].nids, ROUNDS);
        assert_int_equal(w[i].sent, ROUNDS * PER_ROUND);
        sent += w[i].sent;
        if (i % 2 == 0)
            alice_sent += w[i].sent;
        destroyed += w[i].destroyed;
        for (k = 0; k < w[i].nids; k++)
            all[n++] = w[i].ids[k];
    }
    print_message("concurrency: %d threads x %d rounds, %ld requests in %ld ms: %.0f "
                  "requests/s\n", THREADS, ROUNDS, sent, elapsed_ms,
                  elapsed_ms ? (double)sent * 1000.0 / (double)elapsed_ms : 0.0);

    /* No box lost or duplicated: every id distinct, every destroy 204, nothing left. */
    assert_int_equal(n, THREADS * ROUNDS);
    qsort(all, (size_t)n, sizeof(all[0]), cmp_id);
    for (i = 1; i < n; i++)
        if (strcmp(all[i - 1], all[i]) == 0)
            fail_msg("box id %s was given twice", all[i]);
    assert_int_equal(destroyed, THREADS * ROUNDS);
    assert_int_equal(count_items(m, "tok_alice"), 0);
    assert_int_equal(count_items(m, "tok_bob"), 0);
    sent += 2;
    alice_sent += 1;

    /* The journal holds every request exactly once. A count request is journaled after
     * it answers, so the k-th count sees want + k; a count may lag behind an answer the
     * client has seen, never run ahead of it. */
    want = sent;
    for (k = 0; k < 200; k++) {
        got = journal_count(m, "");
        if (got > want + k)
            fail_msg("the journal counts %ld requests, %ld were sent", got, want + k);
        if (got == want + k)
            break;
    }
    if (got != want + k)
        fail_msg("the journal counts %ld requests, %ld were sent", got, want + k);
    print_message("concurrency: the journal counted all %ld requests at count request %d\n",
                  want, k + 1);
    assert_int_equal(journal_count(m, ""), want + k + 1);
    assert_int_equal(journal_count(m, "?op=createHogbox&status=201"), THREADS * ROUNDS);
    assert_int_equal(journal_count(m, "?op=destroyHogbox&status=204"), THREADS * ROUNDS);
    assert_int_equal(journal_count(m, "?op=execHogbox&status=200"), THREADS * ROUNDS);
    assert_int_equal(journal_count(m, "?op=getHogbox&status=404"), 2 * THREADS * ROUNDS);
    assert_int_equal(journal_count(m, "?principal=pr_alice"), alice_sent);
    assert_int_equal(journal_count(m, "?principal=pr_bob"), sent - alice_sent);
    assert_int_equal(journal_count(m, "?op=adminJournalCount"), k + 8);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_concurrent_clients_lose_no_box_and_the_journal_counts_every_request, mock_setup,
            mock_teardown),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("concurrency", tests, NULL, NULL);
}
