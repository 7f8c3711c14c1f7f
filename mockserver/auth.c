#include "auth.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "log.h"
#include "oidc.h"
#include "req.h"
#include "server.h"
#include "store.h"
#include "xmalloc.h"
#include "yamljson.h"

#define SHA256_LEN DIGEST_SHA256_LEN
#define TOKEN_PREFIX "tok_"
#define TOKEN_MAX_BODY 200
#define PRINCIPAL_MAX 128
#define DISPLAY_NAME_MAX 256

/* A token seen before: what the store said about it, kept until the next change. */
struct cached {
    unsigned char hash[SHA256_LEN];
    bool used;
    bool revoked;
    char *principal_id;
    char *display_name;
    char fingerprint[AUTH_FINGERPRINT_SIZE];
};

/* A token of the tokens file, remembered (by hash only) so that a reset can restore it. */
struct file_token {
    unsigned char hash[SHA256_LEN];
    char fingerprint[AUTH_FINGERPRINT_SIZE];
    char *principal_id;
    char *display_name;
};

struct auth {
    struct store *store;
    /* The cache: open addressing on the hash, at most half full. Readers share the lock;
     * anything that changes the tokens table takes it exclusively and empties the cache,
     * and bumps gen so that a lookup that raced with it does not cache what it read. */
    pthread_rwlock_t lock;
    struct cached *slots;
    size_t cap, count;
    uint64_t gen;
    struct file_token *file;
    size_t nfile;
    struct oidc *oidc;          /* JWTs go here; NULL: API tokens only */
};

/* ---- hashing ---------------------------------------------------------------------- */

static void fingerprint_of_hash(const unsigned char hash[SHA256_LEN],
                                char out[AUTH_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    memcpy(out, "fp_", 3);
    for (i = 0; i < 6; i++) {
        out[3 + 2 * i] = hex[hash[i] >> 4];
        out[4 + 2 * i] = hex[hash[i] & 15];
    }
    out[15] = '\0';
}

/* A request's token is hashed twice, to find it and to fingerprint it in the journal,
 * on the same thread: the last API-token-sized secret a thread hashed and its hash are
 * kept, in this thread's memory only (as the request's own buffers keep it), and compared
 * in constant time. */
#define MEMO_MAX (4 + TOKEN_MAX_BODY)

static _Thread_local struct {
    size_t len;                 /* 0: empty */
    char secret[MEMO_MAX];
    unsigned char hash[SHA256_LEN];
} memo;

static void secret_hash(const char *secret, size_t len, unsigned char out[SHA256_LEN])
{
    if (len && len == memo.len && mem_equal_ct(memo.secret, len, secret, len)) {
        memcpy(out, memo.hash, SHA256_LEN);
        return;
    }
    digest_sha256(secret, len, out);
    if (len && len <= MEMO_MAX) {
        memcpy(memo.secret, secret, len);
        memcpy(memo.hash, out, SHA256_LEN);
        memo.len = len;
    }
}

void auth_fingerprint(const char *secret, size_t len, char out[AUTH_FINGERPRINT_SIZE])
{
    unsigned char hash[SHA256_LEN];

    secret_hash(secret, len, hash);
    fingerprint_of_hash(hash, out);
}

/* ---- shapes --------------------------------------------------------------------- */

static bool token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '_' || c == '-';
}

static bool token_well_formed_n(const char *t, size_t len)
{
    size_t plen = strlen(TOKEN_PREFIX), i;

    if (len <= plen || len - plen > TOKEN_MAX_BODY || memcmp(t, TOKEN_PREFIX, plen) != 0)
        return false;
    for (i = plen; i < len; i++)
        if (!token_char((unsigned char)t[i]))
            return false;
    return true;
}

bool auth_token_well_formed(const char *token)
{
    return token && token_well_formed_n(token, strlen(token));
}

/* Principal ids: 1..128 of [A-Za-z0-9_.:@-], so they sit in URLs and logs unquoted. */
static bool principal_id_ok(const char *id)
{
    size_t i, n = strlen(id);

    if (n == 0 || n > PRINCIPAL_MAX)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];

        if (!token_char(c) && c != '.' && c != ':' && c != '@')
            return false;
    }
    return true;
}

/* Display names: up to 256 bytes, no control characters. */
static bool display_name_ok(const char *name)
{
    size_t i, n = strlen(name);

    if (n > DISPLAY_NAME_MAX)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return false;
    return true;
}

static enum rc check_entry(const char *token, const char *principal_id, const char *display_name,
                           struct buf *err)
{
    if (!auth_token_well_formed(token)) {
        buf_addf(err, "the token must be \"%s\" followed by 1 to %d of A-Z a-z 0-9 _ -",
                 TOKEN_PREFIX, TOKEN_MAX_BODY);
        return RC_INVALID;
    }
    if (!principal_id || !principal_id_ok(principal_id)) {
        buf_addf(err, "principal_id must be 1 to %d of A-Z a-z 0-9 _ - . : @", PRINCIPAL_MAX);
        return RC_INVALID;
    }
    if (display_name && !display_name_ok(display_name)) {
        buf_addf(err, "display_name must be at most %d bytes without control characters",
                 DISPLAY_NAME_MAX);
        return RC_INVALID;
    }
    return RC_OK;
}

/* ---- principals ---------------------------------------------------------------- */

void principal_free(struct principal *p)
{
    if (!p)
        return;
    if (!p->packed) {
        free(p->id);
        free(p->auth_path);
        free(p->subject);
        free(p->display_name);
    }
    cJSON_Delete(p->attributes);
    free(p);
}

static char *pack(char **at, const char *s, size_t len)
{
    char *p = *at;

    memcpy(p, s, len + 1);
    *at += len + 1;
    return p;
}

/* Every request with an API token gets one: the strings go in the principal's own
 * allocation. */
static struct principal *principal_from(const struct cached *c)
{
    static const char path[] = "api_token";
    const char *name = c->display_name ? c->display_name : c->principal_id;
    size_t lid = strlen(c->principal_id), lfp = strlen(c->fingerprint), lname = strlen(name);
    struct principal *p = xmalloc(sizeof(*p) + lid + lfp + lname + sizeof(path) + 3);
    char *at = (char *)(p + 1);

    memset(p, 0, sizeof(*p));
    p->id = pack(&at, c->principal_id, lid);
    p->auth_path = pack(&at, path, sizeof(path) - 1);
    p->subject = pack(&at, c->fingerprint, lfp);
    p->display_name = pack(&at, name, lname);
    p->attributes = cJSON_CreateObject();
    p->packed = true;
    return p;
}

/* ---- the cache ------------------------------------------------------------------- */

static size_t slot_of(const struct auth *a, const unsigned char hash[SHA256_LEN])
{
    uint64_t h;

    memcpy(&h, hash, sizeof(h));
    return (size_t)h & (a->cap - 1);
}

/* While holding the lock (either way). */
static const struct cached *cache_find(const struct auth *a, const unsigned char hash[SHA256_LEN])
{
    size_t i;

    if (!a->cap)
        return NULL;
    for (i = slot_of(a, hash); a->slots[i].used; i = (i + 1) & (a->cap - 1))
        if (mem_equal_ct(a->slots[i].hash, SHA256_LEN, hash, SHA256_LEN))
            return &a->slots[i];
    return NULL;
}

static void cached_release(struct cached *c)
{
    free(c->principal_id);
    free(c->display_name);
    memset(c, 0, sizeof(*c));
}

/* Holding the lock exclusively. */
static void cache_clear(struct auth *a)
{
    size_t i;

    for (i = 0; i < a->cap; i++)
        if (a->slots[i].used)
            cached_release(&a->slots[i]);
    a->count = 0;
    a->gen++;
}

static void cache_put_slot(struct auth *a, struct cached *c)
{
    size_t i;

    for (i = slot_of(a, c->hash); a->slots[i].used; i = (i + 1) & (a->cap - 1))
        ;
    a->slots[i] = *c;
    a->count++;
}

/* Holding the lock exclusively; takes over c's strings. */
static void cache_put(struct auth *a, struct cached *c)
{
    if (cache_find(a, c->hash)) {
        cached_release(c);
        return;
    }
    if ((a->count + 1) * 2 > a->cap) {
        struct cached *old = a->slots;
        size_t oldcap = a->cap, i;

        a->cap = a->cap ? a->cap * 2 : 64;
        a->slots = xcalloc(a->cap, sizeof(*a->slots));
        a->count = 0;
        for (i = 0; i < oldcap; i++)
            if (old[i].used)
                cache_put_slot(a, &old[i]);
        free(old);
    }
    c->used = true;
    cache_put_slot(a, c);
}

/* ---- the store ----------------------------------------------------------------- */

static const char sql_find[] =
    "SELECT token_sha256, principal_id, display_name, fingerprint, revoked FROM tokens"
    " WHERE token_sha256 = ?1";
static const char sql_add[] =
    "INSERT INTO tokens (token_sha256, principal_id, display_name, fingerprint, revoked,"
    " created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)"
    " ON CONFLICT (token_sha256) DO UPDATE SET principal_id = excluded.principal_id,"
    " display_name = excluded.display_name, fingerprint = excluded.fingerprint, revoked = 0";
static const char sql_add_keep_revoked[] =
    "INSERT INTO tokens (token_sha256, principal_id, display_name, fingerprint, revoked,"
    " created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)"
    " ON CONFLICT (token_sha256) DO UPDATE SET principal_id = excluded.principal_id,"
    " display_name = excluded.display_name, fingerprint = excluded.fingerprint";
static const char sql_revoke_hash[] = "UPDATE tokens SET revoked = 1 WHERE token_sha256 = ?1";
static const char sql_revoke_fp[] = "UPDATE tokens SET revoked = 1 WHERE fingerprint = ?1";
static const char sql_list[] =
    "SELECT token_sha256, principal_id, display_name, fingerprint, revoked FROM tokens"
    " ORDER BY principal_id, created_at, fingerprint";
static const char sql_delete_hash[] = "DELETE FROM tokens WHERE token_sha256 = ?1";

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* While the store is locked. */
static enum rc store_put(struct auth *a, const char *sql, const unsigned char hash[SHA256_LEN],
                         const char *principal_id, const char *display_name)
{
    sqlite3_stmt *st = store_stmt(a->store, sql);
    char fp[AUTH_FINGERPRINT_SIZE];
    int rc;

    if (!st)
        return RC_ERR;
    fingerprint_of_hash(hash, fp);
    sqlite3_bind_blob(st, 1, hash, SHA256_LEN, SQLITE_TRANSIENT);
    store_bind_text(st, 2, principal_id);
    store_bind_text(st, 3, display_name);
    store_bind_text(st, 4, fp);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)wall_ms());
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        log_error("auth: cannot store token %s: %s", fp, sqlite3_errstr(rc));
        return RC_IO;
    }
    return RC_OK;
}

/* Look hash up in the store: RC_OK and *out filled, or RC_NOT_FOUND. */
static enum rc store_find(struct auth *a, const unsigned char hash[SHA256_LEN], struct cached *out)
{
    sqlite3_stmt *st;
    enum rc rc = RC_NOT_FOUND;

    memset(out, 0, sizeof(*out));
    store_lock(a->store);
    st = store_stmt(a->store, sql_find);
    if (st) {
        sqlite3_bind_blob(st, 1, hash, SHA256_LEN, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const void *h = sqlite3_column_blob(st, 0);
            int hlen = sqlite3_column_bytes(st, 0);

            /* The index found it; the constant-time compare is what decides. */
            if (!h || !mem_equal_ct(h, (size_t)hlen, hash, SHA256_LEN))
                continue;
            memcpy(out->hash, hash, SHA256_LEN);
            out->principal_id = store_column_dup(st, 1);
            out->display_name = store_column_dup(st, 2);
            fingerprint_of_hash(hash, out->fingerprint);
            out->revoked = sqlite3_column_int(st, 4) != 0;
            rc = RC_OK;
            break;
        }
        sqlite3_reset(st);
    }
    store_unlock(a->store);
    return rc;
}

/* ---- life ------------------------------------------------------------------------ */

struct auth *auth_new(struct store *store)
{
    struct auth *a = xcalloc(1, sizeof(*a));

    a->store = store;
    pthread_rwlock_init(&a->lock, NULL);
    return a;
}

static void file_tokens_release(struct auth *a)
{
    size_t i;

    for (i = 0; i < a->nfile; i++) {
        free(a->file[i].principal_id);
        free(a->file[i].display_name);
    }
    free(a->file);
    a->file = NULL;
    a->nfile = 0;
}

void auth_set_oidc(struct auth *a, struct oidc *o)
{
    a->oidc = o;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    cache_clear(a);
    free(a->slots);
    file_tokens_release(a);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

/* ---- tokens ---------------------------------------------------------------------- */

enum rc auth_add_token(struct auth *a, const char *token, const char *principal_id,
                       const char *display_name, struct buf *err)
{
    unsigned char hash[SHA256_LEN];
    enum rc rc;

    if ((rc = check_entry(token, principal_id, display_name, err)) != RC_OK)
        return rc;
    digest_sha256(token, strlen(token), hash);
    pthread_rwlock_wrlock(&a->lock);
    store_lock(a->store);
    rc = store_put(a, sql_add, hash, principal_id, display_name);
    store_unlock(a->store);
    cache_clear(a);
    pthread_rwlock_unlock(&a->lock);
    if (rc != RC_OK)
        buf_addstr(err, "cannot store the token");
    return rc;
}

enum rc auth_revoke(struct auth *a, const char *token_or_fingerprint)
{
    const char *t = token_or_fingerprint;
    unsigned char hash[SHA256_LEN];
    sqlite3_stmt *st;
    sqlite3 *db;
    enum rc rc = RC_NOT_FOUND;
    bool by_fp = str_startswith(t, "fp_");

    if (!by_fp && !auth_token_well_formed(t))
        return RC_NOT_FOUND;
    if (!by_fp)
        digest_sha256(t, strlen(t), hash);
    pthread_rwlock_wrlock(&a->lock);
    db = store_lock(a->store);
    st = store_stmt(a->store, by_fp ? sql_revoke_fp : sql_revoke_hash);
    if (st) {
        if (by_fp)
            store_bind_text(st, 1, t);
        else
            sqlite3_bind_blob(st, 1, hash, SHA256_LEN, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = sqlite3_changes(db) > 0 ? RC_OK : RC_NOT_FOUND;
        else
            rc = RC_IO;
        sqlite3_reset(st);
    }
    store_unlock(a->store);
    cache_clear(a);
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

/* One entry of a tokens file, checked; strings borrowed from the document. */
struct entry {
    const char *token, *principal_id, *display_name;
};

static enum rc read_entry(const cJSON *node, const char *token, bool list, struct entry *e,
                          struct buf *why)
{
    const cJSON *m;

    e->token = token;
    e->principal_id = NULL;
    e->display_name = NULL;
    if (!cJSON_IsObject(node)) {
        buf_addstr(why, list ? "must be a mapping {token, principal_id, display_name}"
                             : "must be a mapping {principal_id, display_name}");
        return RC_INVALID;
    }
    cJSON_ArrayForEach(m, node) {
        const char **slot = strcmp(m->string, "principal_id") == 0 ? &e->principal_id
                          : strcmp(m->string, "display_name") == 0 ? &e->display_name
                          : list && strcmp(m->string, "token") == 0 ? &e->token : NULL;

        if (!slot) {
            buf_addf(why, "unknown key '%.64s' (known: %sprincipal_id, display_name)", m->string,
                     list ? "token, " : "");
            return RC_INVALID;
        }
        if (!cJSON_IsString(m)) {
            buf_addf(why, "%s must be a string", m->string);
            return RC_INVALID;
        }
        *slot = m->valuestring;
    }
    if (!e->token) {
        buf_addstr(why, "has no token");
        return RC_INVALID;
    }
    if (!e->principal_id) {
        buf_addstr(why, "has no principal_id");
        return RC_INVALID;
    }
    return check_entry(e->token, e->principal_id, e->display_name, why);
}

static void remember_file_token(struct auth *a, const unsigned char hash[SHA256_LEN],
                                const char *principal_id, const char *display_name)
{
    struct file_token *f = NULL;
    size_t i;

    for (i = 0; i < a->nfile && !f; i++)
        if (memcmp(a->file[i].hash, hash, SHA256_LEN) == 0)
            f = &a->file[i];
    if (f) {
        free(f->principal_id);
        free(f->display_name);
    } else {
        a->file = xrealloc(a->file, (a->nfile + 1) * sizeof(*a->file));
        f = &a->file[a->nfile++];
        memcpy(f->hash, hash, SHA256_LEN);
        fingerprint_of_hash(hash, f->fingerprint);
    }
    f->principal_id = xstrdup(principal_id);
    f->display_name = display_name ? xstrdup(display_name) : NULL;
}

enum rc auth_load_tokens(struct auth *a, const char *path, struct buf *err)
{
    cJSON *doc = NULL;
    const cJSON *node;
    struct entry *entries = NULL;
    unsigned char (*hashes)[SHA256_LEN] = NULL;
    struct buf why = BUF_INIT;
    size_t n = 0, i, j;
    enum rc rc;

    if ((rc = yamljson_load_file(path, &doc, err)) != RC_OK)
        return rc;
    if (!cJSON_IsObject(doc) && !cJSON_IsArray(doc)) {
        buf_addf(err, "%s: the tokens file must be a mapping of token -> {principal_id, "
                 "display_name} or a list of {token, principal_id, display_name}", path);
        cJSON_Delete(doc);
        return RC_INVALID;
    }
    entries = xcalloc((size_t)cJSON_GetArraySize(doc) + 1, sizeof(*entries));
    hashes = xcalloc((size_t)cJSON_GetArraySize(doc) + 1, sizeof(*hashes));
    rc = RC_OK;
    cJSON_ArrayForEach(node, doc) {
        bool list = cJSON_IsArray(doc);
        const char *token = list ? NULL : node->string;
        char fp[AUTH_FINGERPRINT_SIZE];

        buf_reset(&why);
        rc = read_entry(node, token, list, &entries[n], &why);
        if (entries[n].token)
            digest_sha256(entries[n].token, strlen(entries[n].token), hashes[n]);
        for (j = 0; rc == RC_OK && j < n; j++) {
            if (memcmp(hashes[j], hashes[n], SHA256_LEN) == 0) {
                buf_addf(&why, "the same token as entry %zu", j + 1);
                rc = RC_INVALID;
            }
        }
        if (rc != RC_OK) {
            /* Name the entry by position and fingerprint: the token itself is a secret. */
            if (entries[n].token) {
                auth_fingerprint(entries[n].token, strlen(entries[n].token), fp);
                buf_addf(err, "%s: entry %zu (%s): %s", path, n + 1, fp, buf_cstr(&why));
            } else {
                buf_addf(err, "%s: entry %zu: %s", path, n + 1, buf_cstr(&why));
            }
            goto out;
        }
        n++;
    }

    pthread_rwlock_wrlock(&a->lock);
    store_lock(a->store);
    rc = store_begin(a->store);
    for (i = 0; rc == RC_OK && i < n; i++)
        rc = store_put(a, sql_add_keep_revoked, hashes[i], entries[i].principal_id,
                       entries[i].display_name);
    if (rc == RC_OK)
        rc = store_commit(a->store);
    if (rc != RC_OK) {
        store_rollback(a->store);
        buf_addf(err, "%s: cannot store the tokens", path);
    } else {
        for (i = 0; i < n; i++)
            remember_file_token(a, hashes[i], entries[i].principal_id, entries[i].display_name);
    }
    store_unlock(a->store);
    cache_clear(a);
    pthread_rwlock_unlock(&a->lock);
out:
    buf_release(&why);
    free(entries);
    free(hashes);
    cJSON_Delete(doc);
    return rc;
}

static const struct file_token *file_token_find(const struct auth *a, const void *hash,
                                                size_t len)
{
    size_t i;

    for (i = 0; i < a->nfile; i++)
        if (len == SHA256_LEN && memcmp(a->file[i].hash, hash, SHA256_LEN) == 0)
            return &a->file[i];
    return NULL;
}

enum rc auth_reset_tokens(struct auth *a, const char *principal_id, size_t *removed)
{
    struct row {
        unsigned char hash[SHA256_LEN];
        char *principal_id;
    } *rows = NULL;
    size_t nrows = 0, cap = 0, gone = 0, i;
    sqlite3_stmt *st;
    enum rc rc;

    pthread_rwlock_wrlock(&a->lock);
    store_lock(a->store);
    rc = store_begin(a->store);
    st = rc == RC_OK ? store_stmt(a->store, sql_list) : NULL;
    if (rc == RC_OK && !st)
        rc = RC_ERR;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != SHA256_LEN)
            continue;
        if (nrows == cap) {
            cap = cap ? cap * 2 : 16;
            rows = xrealloc(rows, cap * sizeof(*rows));
        }
        memcpy(rows[nrows].hash, sqlite3_column_blob(st, 0), SHA256_LEN);
        rows[nrows++].principal_id = store_column_dup(st, 1);
    }
    if (st)
        sqlite3_reset(st);
    /* Tokens the admin API added go; tokens of the file come back as the file says. */
    for (i = 0; rc == RC_OK && i < nrows; i++) {
        bool mine = !principal_id || (rows[i].principal_id
                                      && strcmp(rows[i].principal_id, principal_id) == 0);
        const struct file_token *f = file_token_find(a, rows[i].hash, SHA256_LEN);

        if (!mine)
            continue;
        if (f) {
            rc = store_put(a, sql_add, f->hash, f->principal_id, f->display_name);
            continue;
        }
        st = store_stmt(a->store, sql_delete_hash);
        if (!st) {
            rc = RC_ERR;
            break;
        }
        sqlite3_bind_blob(st, 1, rows[i].hash, SHA256_LEN, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = RC_IO;
        sqlite3_reset(st);
        gone++;
    }
    for (i = 0; rc == RC_OK && i < a->nfile; i++)
        if (!principal_id || strcmp(a->file[i].principal_id, principal_id) == 0)
            rc = store_put(a, sql_add, a->file[i].hash, a->file[i].principal_id,
                           a->file[i].display_name);
    if (rc == RC_OK)
        rc = store_commit(a->store);
    if (rc != RC_OK) {
        store_rollback(a->store);
        gone = 0;
    }
    store_unlock(a->store);
    cache_clear(a);
    pthread_rwlock_unlock(&a->lock);
    for (i = 0; i < nrows; i++)
        free(rows[i].principal_id);
    free(rows);
    if (removed)
        *removed = gone;
    return rc;
}

cJSON *auth_list_tokens(struct auth *a)
{
    cJSON *list = cJSON_CreateArray();
    sqlite3_stmt *st;

    /* The file set is read under the cache lock; the store has its own. */
    pthread_rwlock_rdlock(&a->lock);
    store_lock(a->store);
    st = store_stmt(a->store, sql_list);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        cJSON *t = cJSON_CreateObject();
        const char *fp = (const char *)sqlite3_column_text(st, 3);
        const char *dn = (const char *)sqlite3_column_text(st, 2);
        const char *pid = (const char *)sqlite3_column_text(st, 1);

        cJSON_AddStringToObject(t, "fingerprint", fp ? fp : "");
        cJSON_AddStringToObject(t, "principal_id", pid ? pid : "");
        cJSON_AddStringToObject(t, "display_name", dn ? dn : pid ? pid : "");
        cJSON_AddBoolToObject(t, "revoked", sqlite3_column_int(st, 4) != 0);
        cJSON_AddStringToObject(t, "source",
                                file_token_find(a, sqlite3_column_blob(st, 0),
                                                (size_t)sqlite3_column_bytes(st, 0))
                                    ? "file" : "api");
        cJSON_AddItemToArray(list, t);
    }
    if (st)
        sqlite3_reset(st);
    store_unlock(a->store);
    pthread_rwlock_unlock(&a->lock);
    return list;
}

/* ---- resolving a credential ------------------------------------------------------- */

#define SEND_BEARER "send 'Authorization: Bearer <token>'"

static bool tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool b64token(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
                       || (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i])))
        i++;
    if (i == 0)
        return false;
    while (i < len && s[i] == '=')
        i++;
    return i == len;
}

/* Scheme names worth naming back; anything else might be a secret sent without one. */
static bool known_scheme(const char *s, size_t len)
{
    static const char *const names[] = {
        "Basic", "Digest", "Negotiate", "NTLM", "Token", "ApiKey", "Api-Key", "HOBA",
        "Mutual", "DPoP", "AWS4-HMAC-SHA256", "OAuth", "JWT", "MAC", "Kerberos", NULL,
    };
    const char *const *n;

    for (n = names; *n; n++)
        if (strlen(*n) == len && strncasecmp(*n, s, len) == 0)
            return true;
    return false;
}

static bool looks_like_jwt(const char *s, size_t len)
{
    size_t i, dots = 0;

    for (i = 0; i < len; i++)
        dots += s[i] == '.';
    return dots >= 2 && len > 3 && strncmp(s, "eyJ", 3) == 0;
}

/* Compact JWS and JWE have dots; API tokens never do. */
static bool has_dot(const char *s, size_t len)
{
    return memchr(s, '.', len) != NULL;
}

/* An API-token refusal: 401 invalid_token, naming the token by fingerprint when known. */
static enum rc refuse(struct auth_denial *d, const char *fingerprint)
{
    if (d) {
        memset(d, 0, sizeof(*d));
        d->status = 401;
        strcpy(d->code, "invalid_token");
        if (fingerprint)
            snprintf(d->subject, sizeof(d->subject), "%s", fingerprint);
    }
    return RC_DENIED;
}

/* Split the header into the bearer token (borrowed from h) or say why not. */
static enum rc parse_bearer(const char *h, const char **tok, size_t *tlen, struct buf *why)
{
    const char *end, *scheme, *p, *sp;
    size_t slen;
    unsigned parts;

    if (!h) {
        buf_addstr(why, "missing credential: " SEND_BEARER);
        return RC_DENIED;
    }
    while (*h == ' ' || *h == '\t')
        h++;
    end = h + strlen(h);
    while (end > h && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end == h) {
        buf_addstr(why, "the Authorization header is empty: " SEND_BEARER);
        return RC_DENIED;
    }
    scheme = h;
    for (p = h; p < end && tchar((unsigned char)*p); p++)
        ;
    slen = (size_t)(p - scheme);
    if (p == end) {
        if (slen == 6 && strncasecmp(scheme, "Bearer", 6) == 0)
            buf_addstr(why, "the Bearer scheme came without a token: " SEND_BEARER);
        else if (known_scheme(scheme, slen))
            buf_addf(why, "the %.*s scheme came without credentials and is not accepted: "
                     SEND_BEARER, (int)slen, scheme);
        else
            buf_addstr(why, "the credential has no auth scheme: " SEND_BEARER);
        return RC_DENIED;
    }
    if (slen == 0 || *p != ' ') {
        buf_addstr(why, "the Authorization header is not '<scheme> <credentials>': " SEND_BEARER);
        return RC_DENIED;
    }
    if (!(slen == 6 && strncasecmp(scheme, "Bearer", 6) == 0)) {
        if (known_scheme(scheme, slen))
            buf_addf(why, "the %.*s auth scheme is not accepted: " SEND_BEARER, (int)slen, scheme);
        else
            buf_addstr(why, "the auth scheme is not Bearer: " SEND_BEARER);
        return RC_DENIED;
    }
    while (p < end && *p == ' ')
        p++;
    if (p == end) {
        buf_addstr(why, "the Bearer scheme came without a token: " SEND_BEARER);
        return RC_DENIED;
    }
    for (sp = p; sp < end && *sp != ','; sp++)
        ;
    if (sp < end) {
        buf_addstr(why, "more than one credential in the Authorization header: send exactly "
                   "one Bearer token");
        return RC_DENIED;
    }
    for (parts = 1, sp = p; sp < end; sp++)
        if ((*sp == ' ' || *sp == '\t') && sp + 1 < end && sp[1] != ' ' && sp[1] != '\t')
            parts++;
    if (parts > 1) {
        buf_addf(why, "expected exactly one token after 'Bearer', found %u space-separated parts",
                 parts);
        return RC_DENIED;
    }
    if (!b64token(p, (size_t)(end - p))) {
        buf_addstr(why, "the bearer token has characters that RFC 6750 does not allow "
                   "(A-Z a-z 0-9 - . _ ~ + / and trailing =)");
        return RC_DENIED;
    }
    *tok = p;
    *tlen = (size_t)(end - p);
    return RC_OK;
}

enum rc auth_resolve(struct auth *a, const char *authorization, struct principal **out,
                     struct auth_denial *denial, struct buf *why)
{
    unsigned char hash[SHA256_LEN];
    char fp[AUTH_FINGERPRINT_SIZE];
    const struct cached *hit;
    struct cached found;
    const char *tok = NULL;
    size_t tlen = 0;
    uint64_t gen;

    *out = NULL;
    if (denial)
        refuse(denial, NULL);
    if (parse_bearer(authorization, &tok, &tlen, why) != RC_OK)
        return RC_DENIED;
    if (!token_well_formed_n(tok, tlen)) {
        if (tlen >= 4 && memcmp(tok, TOKEN_PREFIX, 4) == 0) {
            buf_addf(why, "the API token is malformed: expected \"%s\" followed by 1 to %d of "
                     "A-Z a-z 0-9 _ -", TOKEN_PREFIX, TOKEN_MAX_BODY);
        } else if (a->oidc && has_dot(tok, tlen)) {
            struct auth_denial scratch;

            return oidc_resolve(a->oidc, tok, tlen, out, denial ? denial : &scratch, why);
        } else if (looks_like_jwt(tok, tlen)) {
            buf_addstr(why, "the credential is a JWT, and this hogmock accepts API tokens "
                       "(tok_...) only");
        } else {
            buf_addstr(why, "the credential is malformed: API tokens start with \"tok_\"");
        }
        return RC_DENIED;
    }
    secret_hash(tok, tlen, hash);

    pthread_rwlock_rdlock(&a->lock);
    hit = cache_find(a, hash);
    if (hit && !hit->revoked)
        *out = principal_from(hit);
    else if (hit)
        buf_addf(why, "the token was revoked (fingerprint %s)", hit->fingerprint);
    if (hit && !*out)
        refuse(denial, hit->fingerprint);
    gen = a->gen;
    pthread_rwlock_unlock(&a->lock);
    if (hit)
        return *out ? RC_OK : RC_DENIED;

    if (store_find(a, hash, &found) != RC_OK) {
        fingerprint_of_hash(hash, fp);
        buf_addf(why, "the token is not known (fingerprint %s)", fp);
        return refuse(denial, fp);
    }
    if (found.revoked) {
        buf_addf(why, "the token was revoked (fingerprint %s)", found.fingerprint);
        refuse(denial, found.fingerprint);
    } else {
        *out = principal_from(&found);
    }
    pthread_rwlock_wrlock(&a->lock);
    /* Unknown tokens are never cached (no growth from guessing); known ones are,
     * unless the table changed while the store was read. */
    if (a->gen == gen)
        cache_put(a, &found);
    else
        cached_release(&found);
    pthread_rwlock_unlock(&a->lock);
    return *out ? RC_OK : RC_DENIED;
}

void auth_challenge(struct buf *out, const char *why)
{
    auth_challenge_error(out, "invalid_token", why);
}

void auth_challenge_error(struct buf *out, const char *error, const char *why)
{
    const unsigned char *p;

    buf_addf(out, "Bearer error=\"%s\", error_description=\"", error);
    for (p = (const unsigned char *)(why ? why : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_addch(out, '\\');
            buf_addch(out, (char)*p);
        } else if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0x93 || p[2] == 0x94)) {
            buf_addch(out, '-');    /* an en or em dash reads well as a hyphen */
            p += 2;
        } else if (*p >= 0x80 && *p < 0xC0) {
            continue;               /* the rest of a character already replaced */
        } else if (*p < 0x20 || *p >= 0x7f) {
            buf_addch(out, '?');    /* one per character outside printable ASCII */
        } else {
            buf_addch(out, (char)*p);
        }
    }
    buf_addch(out, '"');
}

/* ---- GET /v1/me ------------------------------------------------------------------- */

static void get_me(struct req *r)
{
    const struct principal *p = r->principal;
    struct buf out = BUF_INIT;
    const char *name;
    char *attrs, *text;
    size_t len;

    if (!p) {
        req_problem(r, 401, "invalid_token", "missing credential: " SEND_BEARER);
        return;
    }
    /* Written out rather than built as a tree and printed: the most frequent request of
     * all, and a tree per answer was most of what it cost. One allocation for the
     * worst case of the four strings (every byte escaped), the attributes grow it. */
    name = p->display_name ? p->display_name : p->id;
    buf_grow(&out, 96 + 6 * (strlen(p->id) + strlen(p->auth_path)
                             + (p->subject ? strlen(p->subject) : 0) + strlen(name)));
    buf_addstr(&out, "{\"principal_id\":");
    buf_add_json_str(&out, p->id, strlen(p->id));
    buf_addstr(&out, ",\"auth_path\":");
    buf_add_json_str(&out, p->auth_path, strlen(p->auth_path));
    buf_addstr(&out, ",\"subject\":");
    buf_add_json_str(&out, p->subject ? p->subject : "", p->subject ? strlen(p->subject) : 0);
    buf_addstr(&out, ",\"display_name\":");
    buf_add_json_str(&out, name, strlen(name));
    buf_addstr(&out, ",\"attributes\":");
    attrs = cJSON_IsObject(p->attributes) && p->attributes->child
            ? cJSON_PrintUnformatted(p->attributes) : NULL;
    buf_addstr(&out, attrs ? attrs : "{}");
    cJSON_free(attrs);
    buf_addch(&out, '}');
    text = buf_detach(&out, &len);
    req_bytes(r, 200, "application/json", text, len);
}

const struct route auth_routes[] = {
    { "getMe", get_me },
    { NULL, NULL },
};
