/* Tests for the journal on its own (no server): the ring bound, the filters, what an entry
 * holds, and that no credential survives into it. Here rather than in tests/unit because
 * the journal digests with libcrypto, which only hogmock's binaries link. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "auth.h"
#include "bundle.h"
#include "journal.h"
#include "jsonptr.h"
#include "openapi.h"
#include "schema.h"
#include "vclock.h"
#include "xmalloc.h"

static struct journal_input input(const char *method, const char *path, const char *op,
                                  const char *principal, int status)
{
    struct journal_input in = { 0 };

    in.time_ms = 1780000000123ull;
    in.request_id = "req_0123456789abcdef";
    in.method = method;
    in.path = path;
    in.query = "";
    in.op = op;
    in.principal_id = principal;
    in.auth_path = principal ? "api_token" : NULL;
    in.status = status;
    in.response_bytes = 42;
    in.duration_us = 1234;
    return in;
}

static cJSON *filter(const char *json)
{
    cJSON *f = cJSON_Parse(json);

    assert_non_null(f);
    return f;
}

/* The entries matching json, with *total; caller deletes. */
static cJSON *query(struct journal *j, const char *json, size_t *total)
{
    cJSON *f = json ? filter(json) : NULL;
    cJSON *items = journal_query(j, f, total);

    cJSON_Delete(f);
    assert_true(cJSON_IsArray(items));
    return items;
}

static size_t count(struct journal *j, const char *json)
{
    cJSON *f = json ? filter(json) : NULL;
    size_t n = journal_count(j, f);

    cJSON_Delete(f);
    return n;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Five requests of two principals. */
static struct journal *sample(size_t max)
{
    struct journal *j = journal_new(max);
    struct journal_input in;

    xmalloc_init_cjson();
    in = input("GET", "/v1/me", "getMe", "pr_alice", 200);
    journal_append(j, &in);
    in = input("GET", "/v1/me", "getMe", NULL, 401);
    journal_append(j, &in);
    in = input("POST", "/v1/hogboxes", "createHogbox", "pr_bob", 201);
    journal_append(j, &in);
    in = input("GET", "/v1/hogboxes/hb_1/files", "readFile", "pr_alice", 404);
    journal_append(j, &in);
    in = input("DELETE", "/v1/hogboxes/hb_1", "destroyHogbox", "pr_alice", 204);
    journal_append(j, &in);
    return j;
}

static void test_journal_numbers_entries_and_keeps_them_oldest_first(void **state)
{
    struct journal *j = sample(10);
    size_t total = 0;
    cJSON *items = query(j, NULL, &total);

    (void)state;
    assert_int_equal(total, 5);
    assert_int_equal(cJSON_GetArraySize(items), 5);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "seq"), 1);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 4), "seq"), 5);
    assert_string_equal(str(cJSON_GetArrayItem(items, 4), "op"), "destroyHogbox");
    cJSON_Delete(items);
    journal_free(j);
}

static void test_journal_ring_drops_the_oldest_beyond_its_bound(void **state)
{
    struct journal *j = sample(3);
    size_t total = 0;
    cJSON *items = query(j, NULL, &total);
    struct journal_input in = input("GET", "/v1/limits", "getLimits", "pr_bob", 200);

    (void)state;
    assert_int_equal(total, 3);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "seq"), 3);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 2), "seq"), 5);
    cJSON_Delete(items);
    assert_int_equal(journal_append(j, &in), 6);
    assert_int_equal(count(j, NULL), 3);
    items = query(j, NULL, NULL);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "seq"), 4);
    assert_string_equal(str(cJSON_GetArrayItem(items, 2), "op"), "getLimits");
    cJSON_Delete(items);
    journal_free(j);
}

static void test_journal_filters_by_op_principal_status_and_method(void **state)
{
    struct journal *j = sample(10);

    (void)state;
    assert_int_equal(count(j, "{\"op\":\"getMe\"}"), 2);
    assert_int_equal(count(j, "{\"principal\":\"pr_alice\"}"), 3);
    assert_int_equal(count(j, "{\"status\":401}"), 1);
    assert_int_equal(count(j, "{\"status\":\"404\"}"), 1);
    assert_int_equal(count(j, "{\"method\":\"get\"}"), 3);
    assert_int_equal(count(j, "{\"op\":\"getMe\",\"principal\":\"pr_alice\"}"), 1);
    assert_int_equal(count(j, "{\"op\":\"nothing\"}"), 0);
    assert_int_equal(count(j, "{\"request_id\":\"req_0123456789abcdef\"}"), 5);
    journal_free(j);
}

static void test_journal_filters_paths_exactly_or_by_glob(void **state)
{
    struct journal *j = sample(10);

    (void)state;
    assert_int_equal(count(j, "{\"path\":\"/v1/hogboxes\"}"), 1);
    assert_int_equal(count(j, "{\"path\":\"/v1/hogboxes/*\"}"), 2);
    assert_int_equal(count(j, "{\"path\":\"/v1/hogboxes*\"}"), 3);
    assert_int_equal(count(j, "{\"path\":\"/v1/hogboxes/hb_?\"}"), 1);
    assert_int_equal(count(j, "{\"path\":\"/v1/[m]e\"}"), 2);
    journal_free(j);
}

static void test_journal_pages_with_since_and_limit(void **state)
{
    struct journal *j = sample(10);
    size_t total = 0;
    cJSON *items;

    (void)state;
    items = query(j, "{\"since\":2,\"limit\":2}", &total);
    assert_int_equal(total, 3);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "seq"), 3);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 1), "seq"), 4);
    cJSON_Delete(items);
    items = query(j, "{\"since\":4,\"limit\":2}", &total);
    assert_int_equal(total, 1);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "seq"), 5);
    cJSON_Delete(items);
    items = query(j, "{\"since\":5}", &total);
    assert_int_equal(total, 0);
    assert_int_equal(cJSON_GetArraySize(items), 0);
    cJSON_Delete(items);
    /* The limit is clamped to 1..1000. */
    items = query(j, "{\"limit\":0}", &total);
    assert_int_equal(cJSON_GetArraySize(items), 1);
    cJSON_Delete(items);
    assert_int_equal(count(j, "{\"since\":3,\"limit\":1}"), 2);
    journal_free(j);
}

static void test_journal_clear_forgets_entries_but_keeps_counting(void **state)
{
    struct journal *j = sample(10);
    struct journal_input in = input("GET", "/v1/me", "getMe", "pr_alice", 200);

    (void)state;
    journal_clear(j);
    assert_int_equal(count(j, NULL), 0);
    assert_int_equal(journal_append(j, &in), 6);
    assert_int_equal(count(j, NULL), 1);
    journal_clear(j);
    journal_clear(j);
    journal_free(j);
    journal_free(NULL);
}

static void test_journal_entry_has_every_field(void **state)
{
    struct journal *j = journal_new(10);
    struct journal_input in = input("POST", "/v1/hogboxes", "createHogbox", "pr_alice", 201);
    static const char *const headers[] = {
        "Host", "127.0.0.1", "Content-Type", "application/json", "X-Dup", "a", "x-dup", "b", NULL,
    };
    cJSON *items, *e, *body;

    (void)state;
    in.headers = headers;
    in.body = "{\"cpus\":2}";
    in.body_len = strlen(in.body);
    in.content_type = "application/json";
    in.query = "limit=2";
    in.note = "the client went away";
    journal_append(j, &in);
    items = query(j, NULL, NULL);
    e = cJSON_GetArrayItem(items, 0);
    assert_string_equal(str(e, "time"), "2026-05-28T20:26:40.123Z");
    assert_true(num(e, "time_ms") == 1780000000123.0);
    assert_string_equal(str(e, "request_id"), "req_0123456789abcdef");
    assert_string_equal(str(e, "method"), "POST");
    assert_string_equal(str(e, "path"), "/v1/hogboxes");
    assert_string_equal(str(e, "query"), "limit=2");
    assert_string_equal(str(e, "op"), "createHogbox");
    assert_string_equal(str(e, "principal_id"), "pr_alice");
    assert_string_equal(str(e, "auth_path"), "api_token");
    assert_string_equal(str(cJSON_GetObjectItem(e, "headers"), "host"), "127.0.0.1");
    assert_string_equal(str(cJSON_GetObjectItem(e, "headers"), "x-dup"), "a, b");
    body = cJSON_GetObjectItem(e, "body");
    assert_int_equal((int)num(body, "size"), 10);
    assert_int_equal(strlen(str(body, "sha256")), 64);
    assert_int_equal((int)num(cJSON_GetObjectItem(body, "json"), "cpus"), 2);
    assert_int_equal((int)num(e, "status"), 201);
    assert_int_equal((int)num(e, "response_bytes"), 42);
    assert_true(num(e, "duration_ms") > 1.233 && num(e, "duration_ms") < 1.235);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "fault")));
    assert_string_equal(str(e, "note"), "the client went away");
    cJSON_Delete(items);
    journal_free(j);
}

static void test_journal_entries_match_the_admin_schema(void **state)
{
    struct journal *j = sample(10);
    struct journal_input in = input("PUT", "/v1/hogboxes/hb_1/files", "writeFile", "pr_a", 200);
    struct buf path = BUF_INIT, err = BUF_INIT;
    struct openapi *api = NULL;
    struct schema *schema;
    const cJSON *entry;
    cJSON *items, *e;

    (void)state;
    in.body = "\x00\x01binary";
    in.body_len = 8;
    in.content_type = "application/octet-stream";
    journal_append(j, &in);
    bundle_path("openapi/hogmock-admin.yaml", &path);
    if (openapi_load(buf_cstr(&path), &api, &err) != RC_OK)
        fail_msg("%s", buf_cstr(&err));
    schema = schema_new(openapi_doc(api));
    entry = jsonptr_get(openapi_doc(api), "/components/schemas/JournalEntry");
    assert_non_null(entry);
    items = query(j, NULL, NULL);
    assert_int_equal(cJSON_GetArraySize(items), 6);
    cJSON_ArrayForEach(e, items) {
        struct schema_errors errs = SCHEMA_ERRORS_INIT;

        if (schema_validate(schema, entry, e, &errs) != RC_OK)
            fail_msg("entry %d: %s", (int)num(e, "seq"), errs.count ? errs.items[0].message : "?");
        schema_errors_release(&errs);
    }
    /* A binary body: digest, no JSON. */
    e = cJSON_GetArrayItem(items, 5);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"), "json"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "body")));
    cJSON_Delete(items);
    schema_free(schema);
    openapi_free(api);
    buf_release(&path);
    buf_release(&err);
    journal_free(j);
}

static void test_journal_digests_bodies_and_keeps_only_small_json(void **state)
{
    struct journal *j = journal_new(10);
    struct journal_input in = input("POST", "/v1/x", NULL, NULL, 400);
    struct buf big = BUF_INIT;
    cJSON *items, *body;
    size_t i;

    (void)state;
    in.body = "abc";
    in.body_len = 3;
    in.content_type = "text/plain";
    journal_append(j, &in);
    buf_addstr(&big, "{\"a\":\"");
    for (i = 0; i < 9000; i++)
        buf_addch(&big, 'x');
    buf_addstr(&big, "\"}");
    in.body = big.data;
    in.body_len = big.len;
    in.content_type = "application/json; charset=utf-8";
    journal_append(j, &in);
    in.body = "{not json";
    in.body_len = 9;
    in.content_type = "application/json";
    journal_append(j, &in);
    in.body = "[1,2]";
    in.body_len = 5;
    in.content_type = "application/merge-patch+json";
    journal_append(j, &in);
    items = query(j, NULL, NULL);
    body = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "body");
    assert_string_equal(str(body, "sha256"),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(str(body, "content_type"), "text/plain");
    assert_null(cJSON_GetObjectItem(body, "json"));
    body = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "body");
    assert_int_equal((int)num(body, "size"), (int)big.len);
    assert_null(cJSON_GetObjectItem(body, "json"));
    body = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 2), "body");
    assert_null(cJSON_GetObjectItem(body, "json"));
    body = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 3), "body");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(body, "json")), 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "op")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "principal_id")));
    cJSON_Delete(items);
    buf_release(&big);
    journal_free(j);
}

/* The whole journal as text. */
static char *dump(struct journal *j)
{
    cJSON *items = query(j, "{\"limit\":1000}", NULL);
    char *text = cJSON_PrintUnformatted(items);

    cJSON_Delete(items);
    return text;
}

static void test_journal_never_holds_a_credential(void **state)
{
    static const char *const secrets[] = {
        "tok_secret_123456", "abc123secretcookie", "adm1n-s3cret", "opaque-xyz-credential",
        "dXNlcjpwYXNzd29yZA", "hunter2hunter2", "tok_other_abcdef", "eyJhbGciOiJub25lIn0",
        "tok_inpath_98765", "tok_inquery_5555", "querysecretvalue", "apikeyvalue77", NULL,
    };
    static const char *const headers[] = {
        "Authorization", "Bearer tok_secret_123456",
        "Cookie", "session=abc123secretcookie; theme=dark",
        "X-Hogmock-Admin-Token", "adm1n-s3cret",
        "X-Forwarded-Auth", "Bearer opaque-xyz-credential",
        "Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA",
        "X-Api-Key", "apikeyvalue77",
        "X-Something", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln",
        "User-Agent", "test/1.0",
        NULL,
    };
    struct journal *j = journal_new(10);
    struct journal_input in = input("POST", "/__hogmock/tokens/tok_inpath_98765", "x", NULL, 201);
    char fp[AUTH_FINGERPRINT_SIZE], want[64];
    const char *const *s;
    cJSON *items, *h;
    char *text;

    (void)state;
    in.headers = headers;
    in.query = "access_token=tok_inquery_5555&client_secret=querysecretvalue&limit=2";
    in.body = "{\"token\":\"tok_secret_123456\",\"nested\":{\"password\":\"hunter2hunter2\"},"
              "\"list\":[\"tok_other_abcdef\"],\"cpus\":2}";
    in.body_len = strlen(in.body);
    in.content_type = "application/json";
    journal_append(j, &in);
    text = dump(j);
    for (s = secrets; *s; s++)
        if (strstr(text, *s))
            fail_msg("the journal holds '%s': %s", *s, text);
    /* Fingerprints instead, and what is not secret stays. */
    auth_fingerprint("tok_secret_123456", strlen("tok_secret_123456"), fp);
    snprintf(want, sizeof(want), "Bearer %s", fp);
    items = query(j, NULL, NULL);
    h = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers");
    assert_string_equal(str(h, "authorization"), want);
    assert_string_equal(str(h, "user-agent"), "test/1.0");
    assert_true(strncmp(str(h, "proxy-authorization"), "Basic fp_", 9) == 0);
    assert_non_null(strstr(str(h, "cookie"), "session=fp_"));
    assert_non_null(strstr(str(h, "cookie"), "theme=fp_"));
    assert_non_null(strstr(text, "\"cpus\":2"));
    assert_non_null(strstr(text, "limit=2"));
    assert_non_null(strstr(text, "/__hogmock/tokens/fp_"));
    assert_non_null(strstr(text, fp));
    cJSON_Delete(items);
    cJSON_free(text);
    journal_free(j);
}

static void test_journal_writes_valid_json_from_hostile_bytes(void **state)
{
    static const char *const headers[] = {
        "X-Bytes", "a\xff\xfe\x01\"\\\x7f\xc3\xa9\xe2\x82", "X-Empty", "", NULL,
    };
    struct journal *j = journal_new(10);
    struct journal_input in = input("GET\x01", "/v1/\xff\"x", "op\"", "pr\\", 0);
    cJSON *items, *h;

    (void)state;
    in.headers = headers;
    in.query = "q=\x02\xc0\xaf";
    journal_append(j, &in);
    items = query(j, NULL, NULL);
    assert_int_equal(cJSON_GetArraySize(items), 1);
    h = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "headers");
    assert_string_equal(str(h, "x-bytes"), "a\xef\xbf\xbd\xef\xbf\xbd\x01\"\\\x7f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(str(h, "x-empty"), "");
    assert_string_equal(str(cJSON_GetArrayItem(items, 0), "op"), "op\"");
    /* Filters compare with what was received. */
    assert_int_equal(count(j, "{\"principal\":\"pr\\\\\"}"), 1);
    cJSON_Delete(items);
    journal_free(j);
}

struct worker {
    struct journal *j;
    int n;
};

static void *append_many(void *arg)
{
    struct worker *w = arg;
    int i;

    for (i = 0; i < w->n; i++) {
        struct journal_input in = input("GET", "/v1/me", "getMe", "pr_alice", 200);

        journal_append(w->j, &in);
    }
    return NULL;
}

/* Entries of 128 KiB each: the byte budget (24 MiB), not the count, decides how many stay. */
static void test_journal_drops_the_oldest_beyond_its_byte_budget(void **state)
{
    struct journal *j = journal_new(1000);
    struct journal_input in = input("GET", "/v1/me", "getMe", "pr_alice", 200);
    const char *headers[] = { "X-Big", NULL, NULL };
    struct buf big = BUF_INIT;
    size_t total = 0, i;
    cJSON *items;

    (void)state;
    for (i = 0; i < 128 * 1024; i++)
        buf_addch(&big, 'a' + (char)(i % 26));
    headers[1] = big.data;
    in.headers = headers;
    for (i = 0; i < 400; i++)
        journal_append(j, &in);
    items = query(j, "{\"limit\":1000}", &total);
    assert_true(total <= (24u << 20) / (128 * 1024));
    assert_true(total >= 150);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, (int)total - 1), "seq"), 400);
    assert_int_equal((int)num(cJSON_GetArrayItem(items, 0), "seq"), 400 - (int)total + 1);
    cJSON_Delete(items);
    buf_release(&big);
    journal_free(j);
}

/* A body whose digest the server took as it came in is not hashed again. */
static void test_journal_takes_a_body_digest_already_taken(void **state)
{
    static const char hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    struct journal *j = journal_new(10);
    struct journal_input in = input("PUT", "/v1/hogboxes/hb_1/files", "writeFile", "pr_alice",
                                    200);
    cJSON *items;

    (void)state;
    in.body = "abc";
    in.body_len = 3;
    in.body_sha256 = hex;
    in.content_type = "application/octet-stream";
    journal_append(j, &in);
    items = query(j, NULL, NULL);
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "body"), "sha256"),
                        hex);
    cJSON_Delete(items);
    journal_free(j);
}

static void test_journal_appends_from_many_threads(void **state)
{
    struct journal *j = journal_new(3000);
    struct worker w = { j, 1000 };
    pthread_t t[4];
    cJSON *items, *e;
    double last = 0;
    size_t total = 0;
    int i;

    (void)state;
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_many, &w), 0);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(count(j, NULL), 3000);
    items = query(j, "{\"since\":0,\"limit\":1000}", &total);
    assert_int_equal(total, 3000);
    cJSON_ArrayForEach(e, items) {
        assert_true(num(e, "seq") > last);
        last = num(e, "seq");
    }
    assert_true(num(cJSON_GetArrayItem(items, 0), "seq") == 1001.0);
    cJSON_Delete(items);
    journal_free(j);
}

/* An entry's time is computed without gmtime_r (which takes a process-wide lock): it must
 * be what gmtime_r and strftime give, on leap days, at century rules and at random. */
static void check_time(uint64_t ms)
{
    char got[40], want[40], text[32];
    time_t secs = (time_t)(ms / 1000u);
    struct tm tm;

    assert_non_null(gmtime_r(&secs, &tm));
    assert_true(strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm) > 0);
    snprintf(want, sizeof(want), "%s.%03uZ", text, (unsigned)(ms % 1000u));
    vclock_format(ms, got, sizeof(got));
    assert_string_equal(got, want);
}

static void test_journal_time_matches_gmtime(void **state)
{
    static const uint64_t fixed[] = {
        0, 999, 951782400000ull /* 2000-02-29 */, 951868799999ull, 4107542400000ull
        /* 2100-03-01 */, 4107455999999ull, 1780000000123ull, 253402300799999ull
        /* 9999-12-31T23:59:59.999 */, 253402300800000ull /* year 10000 */,
    };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char small[8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_time(fixed[i]);
    for (i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_time(x % 253402300800000ull);
    }
    vclock_format(1780000000123ull, small, sizeof(small));
    assert_string_equal(small, "2026-05");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_numbers_entries_and_keeps_them_oldest_first),
        cmocka_unit_test(test_journal_ring_drops_the_oldest_beyond_its_bound),
        cmocka_unit_test(test_journal_filters_by_op_principal_status_and_method),
        cmocka_unit_test(test_journal_filters_paths_exactly_or_by_glob),
        cmocka_unit_test(test_journal_pages_with_since_and_limit),
        cmocka_unit_test(test_journal_clear_forgets_entries_but_keeps_counting),
        cmocka_unit_test(test_journal_entry_has_every_field),
        cmocka_unit_test(test_journal_entries_match_the_admin_schema),
        cmocka_unit_test(test_journal_digests_bodies_and_keeps_only_small_json),
        cmocka_unit_test(test_journal_never_holds_a_credential),
        cmocka_unit_test(test_journal_writes_valid_json_from_hostile_bytes),
        cmocka_unit_test(test_journal_drops_the_oldest_beyond_its_byte_budget),
        cmocka_unit_test(test_journal_takes_a_body_digest_already_taken),
        cmocka_unit_test(test_journal_appends_from_many_threads),
        cmocka_unit_test(test_journal_time_matches_gmtime),
    };

    xmalloc_init_cjson();
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
