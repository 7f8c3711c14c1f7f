#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* The whole schema. Ids are text ("hb_..."), times Unix milliseconds, seq columns give a
 * stable order for cursors. Files belong to a box (or a snapshot) by path; their content
 * (up to 64 MiB) is the last column of a rowid table, so the (owner, path) index and the
 * other columns are read without touching it (in a WITHOUT ROWID table every search that
 * passed a big row compared against all of it). */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  token_sha256 BLOB PRIMARY KEY, principal_id TEXT NOT NULL, display_name TEXT,"
    "  fingerprint TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS hogboxes ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    "  principal_id TEXT NOT NULL, state TEXT NOT NULL, cpus INTEGER NOT NULL,"
    "  memory_mib INTEGER NOT NULL, disk_gib INTEGER NOT NULL, snapshot_id TEXT,"
    "  access_type TEXT NOT NULL, ssh_public_key TEXT, labels TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  ready_at INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX IF NOT EXISTS hogboxes_by_principal ON hogboxes (principal_id, seq);\n"
    "CREATE TABLE IF NOT EXISTS files ("
    "  owner TEXT NOT NULL, path TEXT NOT NULL, is_dir INTEGER NOT NULL,"
    "  mode INTEGER NOT NULL, sha256 TEXT, content BLOB,"
    "  UNIQUE (owner, path));\n"
    "CREATE TABLE IF NOT EXISTS snapshots ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    "  principal_id TEXT NOT NULL, hogbox_id TEXT NOT NULL, size_bytes INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS snapshots_by_principal ON snapshots (principal_id, seq);\n"
    "CREATE TABLE IF NOT EXISTS idempotency ("
    "  principal_id TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL,"
    "  request_sha256 TEXT NOT NULL, status INTEGER NOT NULL, location TEXT,"
    "  body TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (principal_id, op, key)) WITHOUT ROWID;\n";

/* PRAGMA user_version of the schema above. 0: files was a WITHOUT ROWID table. */
#define SCHEMA_VERSION 1

/* A database of schema 0 moves its files into the table of schema 1. */
static const char migrate_files_sql[] =
    "CREATE TABLE files_v1 ("
    "  owner TEXT NOT NULL, path TEXT NOT NULL, is_dir INTEGER NOT NULL,"
    "  mode INTEGER NOT NULL, sha256 TEXT, content BLOB,"
    "  UNIQUE (owner, path));\n"
    "INSERT INTO files_v1 (owner, path, is_dir, mode, sha256, content)"
    "  SELECT owner, path, is_dir, mode, sha256, content FROM files;\n"
    "DROP TABLE files;\n"
    "ALTER TABLE files_v1 RENAME TO files;\n";

struct cached {
    const char *sql;
    sqlite3_stmt *st;
};

struct store {
    sqlite3 *db;
    pthread_mutex_t lock;
    struct cached *stmts;
    size_t nstmts, cap;
};

static enum rc exec_sql(sqlite3 *db, const char *sql, struct buf *err)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            buf_addf(err, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return RC_IO;
    }
    return RC_OK;
}

/* Create the schema, or bring an older one up to SCHEMA_VERSION, in one transaction. */
static enum rc migrate(sqlite3 *db, struct buf *err)
{
    sqlite3_stmt *st = NULL;
    int version = -1, has_files = 0;
    struct buf sql = BUF_INIT;
    enum rc rc;

    if (sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM pragma_user_version),"
                           " EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'files')",
                           -1, &st, NULL) == SQLITE_OK
        && sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
        has_files = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    if (version < 0) {
        buf_addf(err, "%s", sqlite3_errmsg(db));
        return RC_IO;
    }
    if (version > SCHEMA_VERSION) {
        buf_addf(err, "the database is of a newer hogmock (schema %d, this one knows %d)",
                 version, SCHEMA_VERSION);
        return RC_IO;
    }
    buf_addstr(&sql, "BEGIN IMMEDIATE;\n");
    if (version < 1 && has_files)
        buf_addstr(&sql, migrate_files_sql);
    buf_addstr(&sql, schema_sql);
    buf_addf(&sql, "PRAGMA user_version=%d;\nCOMMIT;\n", SCHEMA_VERSION);
    rc = exec_sql(db, buf_cstr(&sql), err);
    if (rc != RC_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    buf_release(&sql);
    return rc;
}

enum rc store_open(const char *path, struct store **out, struct buf *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    struct buf why = BUF_INIT;

    *out = NULL;
    pthread_mutex_init(&s->lock, NULL);
    if (sqlite3_open_v2(path ? path : ":memory:", &s->db, flags, NULL) != SQLITE_OK) {
        buf_addf(err, "cannot open database '%s': %s", path ? path : ":memory:",
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return RC_IO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* - page_size (only takes on a new database): a 64 MiB file is 1024 pages of 64 KiB
     *   rather than 16384 of 4 KiB, each a malloc in memory and a frame in the WAL (the
     *   small tables cost a page each: well under a MiB);
     * - secure_delete off (Debian builds SQLite with it on): deleting a box with a big
     *   file would otherwise overwrite all of its pages with zeros first;
     * - with a file, WAL and synchronous NORMAL: a commit is written to the WAL before it
     *   is acknowledged, which survives hogmock being killed (only a crash of the machine
     *   may lose the last commits), and fsync waits for checkpoints only. */
    if (exec_sql(s->db, "PRAGMA page_size=65536", &why) != RC_OK
        || exec_sql(s->db, "PRAGMA secure_delete=OFF", &why) != RC_OK
        || (path && (exec_sql(s->db, "PRAGMA journal_mode=WAL", &why) != RC_OK
                     || exec_sql(s->db, "PRAGMA synchronous=NORMAL", &why) != RC_OK))
        || exec_sql(s->db, "PRAGMA foreign_keys=ON", &why) != RC_OK
        || migrate(s->db, &why) != RC_OK) {
        buf_addf(err, "cannot set up database '%s': %s", path ? path : ":memory:",
                 buf_cstr(&why));
        buf_release(&why);
        store_close(s);
        return RC_IO;
    }
    buf_release(&why);
    *out = s;
    return RC_OK;
}

void store_close(struct store *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->nstmts; i++)
        sqlite3_finalize(s->stmts[i].st);
    free(s->stmts);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

sqlite3 *store_lock(struct store *s)
{
    pthread_mutex_lock(&s->lock);
    return s->db;
}

void store_unlock(struct store *s)
{
    pthread_mutex_unlock(&s->lock);
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql)
{
    sqlite3_stmt *st;
    size_t i;

    for (i = 0; i < s->nstmts; i++) {
        if (s->stmts[i].sql == sql) {
            st = s->stmts[i].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_error("cannot prepare statement: %s (%s)", sqlite3_errmsg(s->db), sql);
        return NULL;
    }
    if (s->nstmts == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->stmts = xrealloc(s->stmts, s->cap * sizeof(*s->stmts));
    }
    s->stmts[s->nstmts].sql = sql;
    s->stmts[s->nstmts++].st = st;
    return st;
}

enum rc store_exec(struct store *s, const char *sql)
{
    struct buf err = BUF_INIT;
    enum rc rc = exec_sql(s->db, sql, &err);

    if (rc != RC_OK)
        log_error("database: %s", buf_cstr(&err));
    buf_release(&err);
    return rc;
}

enum rc store_begin(struct store *s)
{
    return store_exec(s, "BEGIN IMMEDIATE");
}

enum rc store_commit(struct store *s)
{
    return store_exec(s, "COMMIT");
}

void store_rollback(struct store *s)
{
    /* Harmless when no transaction is open (SQLite then reports an error we ignore). */
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *text)
{
    if (!text)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
}

char *store_column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? xstrdup((const char *)t) : NULL;
}
