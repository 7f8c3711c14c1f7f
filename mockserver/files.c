#include "files.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "digest.h"
#include "auth.h"
#include "log.h"
#include "problem.h"
#include "req.h"
#include "server.h"
#include "sim.h"
#include "store.h"
#include "xmalloc.h"

/* Where the tree of a box lives: one row per file or directory, keyed by (owner, path),
 * owner being a box id or a snapshot id. A file's parent directories always have rows of
 * their own ("/" included), so a lookup of the parent is enough to know it exists.
 *
 * Choices where the spec leaves room:
 * - writing over a directory (EISDIR) and writing below a regular file (ENOTDIR, with or
 *   without mkdir) are 422 validation_failed on the path parameter: the spec's 409 is
 *   only invalid_state and its 404 only a missing parent;
 * - a write sets the mode it is given (or 0644) even over an existing file, as the
 *   write-to-temp-and-rename that makes it atomic would;
 * - "/a/b/" is "/a/b"; reading a directory, or below a regular file, is 404. */

#define DIR_MODE 0755
#define FILE_MODE_DEFAULT 0644

/* The fresh tree of a new box, as a small Debian-like root file system has it. */
static const struct {
    const char *path;
    int mode;
} fresh_tree[] = {
    { "/", 0755 },     { "/tmp", 01777 },    { "/root", 0700 }, { "/home", 0755 },
    { "/etc", 0755 },  { "/usr", 0755 },     { "/usr/bin", 0755 }, { "/var", 0755 },
};

static const char sql_insert_dir[] =
    "INSERT OR IGNORE INTO files (owner, path, is_dir, mode, content, sha256)"
    " VALUES (?1, ?2, 1, ?3, NULL, NULL)";
static const char sql_copy[] =
    "INSERT OR REPLACE INTO files (owner, path, is_dir, mode, content, sha256)"
    " SELECT ?2, path, is_dir, mode, content, sha256 FROM files WHERE owner = ?1";
static const char sql_size[] =
    "SELECT COALESCE(SUM(LENGTH(content)), 0) FROM files WHERE owner = ?1 AND is_dir = 0";
static const char sql_drop[] = "DELETE FROM files WHERE owner = ?1";
static const char sql_lookup[] = "SELECT is_dir FROM files WHERE owner = ?1 AND path = ?2";
/* Not the content itself: a result column is read whole by every step. */
static const char sql_read[] =
    "SELECT is_dir, length(content), rowid FROM files WHERE owner = ?1 AND path = ?2";
static const char sql_content[] = "SELECT content FROM files WHERE rowid = ?1";
static const char sql_put[] =
    "INSERT OR REPLACE INTO files (owner, path, is_dir, mode, content, sha256)"
    " VALUES (?1, ?2, 0, ?3, ?4, ?5)";

/* Content from this size up is written and read through SQLite's blob handle, straight
 * between the pages and the caller's memory: no record of its size is built on the way
 * in, no copy of it is made on the way out. Smaller content goes the plain way, which
 * costs less than opening a handle. */
#define BLOB_IO_MIN (256u << 10)

static enum rc step_done(sqlite3_stmt *st)
{
    int rc;

    if (!st)
        return RC_ERR;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        log_error("files: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        return RC_IO;
    }
    return RC_OK;
}

enum rc files_init_box(struct store *s, const char *box_id)
{
    size_t i;

    for (i = 0; i < sizeof(fresh_tree) / sizeof(fresh_tree[0]); i++) {
        sqlite3_stmt *st = store_stmt(s, sql_insert_dir);
        enum rc rc;

        if (!st)
            return RC_ERR;
        store_bind_text(st, 1, box_id);
        store_bind_text(st, 2, fresh_tree[i].path);
        sqlite3_bind_int(st, 3, fresh_tree[i].mode);
        if ((rc = step_done(st)) != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc files_copy(struct store *s, const char *from, const char *to, long long *bytes)
{
    sqlite3_stmt *st = store_stmt(s, sql_size);
    enum rc rc;

    if (!st)
        return RC_ERR;
    store_bind_text(st, 1, from);
    if (sqlite3_step(st) != SQLITE_ROW) {
        log_error("files: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        sqlite3_reset(st);
        return RC_IO;
    }
    if (bytes)
        *bytes = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    st = store_stmt(s, sql_copy);
    if (!st)
        return RC_ERR;
    store_bind_text(st, 1, from);
    store_bind_text(st, 2, to);
    rc = step_done(st);
    return rc;
}

enum rc files_drop(struct store *s, const char *owner)
{
    sqlite3_stmt *st = store_stmt(s, sql_drop);

    if (!st)
        return RC_ERR;
    store_bind_text(st, 1, owner);
    return step_done(st);
}

enum rc files_normalise(const char *path, struct buf *out)
{
    const char *p;

    if (!path || path[0] != '/')
        return RC_INVALID;
    buf_reset(out);
    p = path;
    while (*p) {
        const char *start;
        size_t n;

        while (*p == '/')
            p++;
        start = p;
        while (*p && *p != '/')
            p++;
        n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            /* Drop the last component; at "/" there is none, and "/.." is "/". */
            while (out->len > 0 && out->data[out->len - 1] != '/')
                out->len--;
            if (out->len > 0)
                out->len--;
            if (out->data)
                out->data[out->len] = '\0';
            continue;
        }
        buf_addch(out, '/');
        buf_add(out, start, n);
    }
    if (out->len == 0)
        buf_addch(out, '/');
    return RC_OK;
}

/* 1 directory, 0 file, -1 absent, -2 database error. Only while locked. */
static int lookup(struct store *s, const char *owner, const char *path)
{
    sqlite3_stmt *st = store_stmt(s, sql_lookup);
    int rc, kind;

    if (!st)
        return -2;
    store_bind_text(st, 1, owner);
    store_bind_text(st, 2, path);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        kind = sqlite3_column_int(st, 0) ? 1 : 0;
    else if (rc == SQLITE_DONE)
        kind = -1;
    else
        kind = -2;
    sqlite3_reset(st);
    return kind;
}

/* Only while locked. RC_NOT_FOUND when path is absent, RC_INVALID when a directory. */
static enum rc read_locked(struct store *s, const char *owner, const char *path,
                           struct buf *content)
{
    sqlite3_stmt *st = store_stmt(s, sql_read);
    sqlite3_blob *blob = NULL;
    enum rc rc;
    int step;

    if (!st)
        return RC_ERR;
    store_bind_text(st, 1, owner);
    store_bind_text(st, 2, path);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = RC_NOT_FOUND;
    } else if (step != SQLITE_ROW) {
        log_error("files: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        rc = RC_IO;
    } else if (sqlite3_column_int(st, 0)) {
        rc = RC_INVALID;
    } else {
        sqlite3_int64 len = sqlite3_column_int64(st, 1), rowid = sqlite3_column_int64(st, 2);
        sqlite3 *db = sqlite3_db_handle(st);
        sqlite3_stmt *cst;

        rc = RC_OK;
        if (len > 0) {
            /* Exactly the size: buf_add's doubling would reserve 128 MiB for 64 MiB. */
            buf_grow_exact(content, (size_t)len);
            if (len < BLOB_IO_MIN) {
                cst = store_stmt(s, sql_content);
                if (cst)
                    sqlite3_bind_int64(cst, 1, rowid);
                if (cst && sqlite3_step(cst) == SQLITE_ROW && sqlite3_column_bytes(cst, 0) == len)
                    buf_add(content, sqlite3_column_blob(cst, 0), (size_t)len);
                else
                    rc = RC_IO;
                if (cst)
                    sqlite3_reset(cst);
            } else if (sqlite3_blob_open(db, "main", "files", "content", rowid, 0, &blob)
                           != SQLITE_OK
                       || sqlite3_blob_read(blob, content->data + content->len, (int)len, 0)
                          != SQLITE_OK) {
                rc = RC_IO;
            } else {
                content->len += (size_t)len;
                content->data[content->len] = '\0';
            }
            sqlite3_blob_close(blob);
            if (rc != RC_OK)
                log_error("files: %s", sqlite3_errmsg(db));
        }
    }
    sqlite3_reset(st);
    return rc;
}

enum rc files_read(struct store *s, const char *box_id, const char *path, struct buf *content)
{
    struct buf norm = BUF_INIT;
    enum rc rc;

    if (files_normalise(path, &norm) != RC_OK)
        return RC_NOT_FOUND;
    store_lock(s);
    rc = read_locked(s, box_id, buf_cstr(&norm), content);
    store_unlock(s);
    buf_release(&norm);
    return rc;
}

enum rc files_stat(struct store *s, const char *box_id, const char *path, bool *is_dir)
{
    struct buf norm = BUF_INIT;
    int kind = -1;

    if (files_normalise(path, &norm) == RC_OK) {
        store_lock(s);
        kind = lookup(s, box_id, buf_cstr(&norm));
        store_unlock(s);
    }
    buf_release(&norm);
    if (kind == -2)
        return RC_IO;
    if (kind < 0)
        return RC_NOT_FOUND;
    *is_dir = kind == 1;
    return RC_OK;
}

/* ---- handlers -------------------------------------------------------------------- */

/* The spec's RelativeFilePath answer: 422 validation_failed naming the path parameter. */
static void relative_path(struct req *r, const char *path)
{
    cJSON *p = problem_new(422, "validation_failed",
                           "Query parameter path must be an absolute path; got %s.",
                           path ? path : "nothing");

    problem_add_param_error(p, "path", "must be an absolute path");
    req_problem_json(r, p);
}

/* A path that names something the tree does not allow here (a directory to write over,
 * a file where a directory should be): 422 validation_failed on the path parameter,
 * as the spec documents no status of its own for EISDIR and ENOTDIR. */
static void path_conflict(struct req *r, const char *detail_param, const char *path,
                          bool is_dir)
{
    cJSON *p = is_dir ? problem_new(422, "validation_failed", "%s is a directory.", path)
                      : problem_new(422, "validation_failed",
                                    "%s is a file, not a directory.", path);

    problem_add_param_error(p, "path", detail_param);
    req_problem_json(r, p);
}

/* The box for a files request, checked: answers (and returns false) when it is not the
 * principal's or not running. */
static bool box_ready(struct req *r, const char *box)
{
    char state[32];

    if (!r->principal || sim_box_state(r->hm, r->principal->id, box, state, sizeof(state))
                             != RC_OK) {
        sim_box_not_found(r, box);
        return false;
    }
    if (strcmp(state, "running") != 0) {
        sim_invalid_state(r, box, state, "running");
        return false;
    }
    return true;
}

static bool parse_mode(const char *s, int *mode)
{
    size_t n, i;
    int m = 0;

    if (!s) {
        *mode = FILE_MODE_DEFAULT;
        return true;
    }
    n = strlen(s);
    if (n < 3 || n > 4)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '7')
            return false;
        m = m * 8 + (s[i] - '0');
    }
    *mode = m;
    return true;
}

/* The spec takes a file body as application/octet-stream, or with no Content-Type. */
static bool octet_stream(const char *ctype)
{
    static const char want[] = "application/octet-stream";
    size_t n;

    if (!ctype)
        return true;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    n = strcspn(ctype, "; \t");
    return n == sizeof(want) - 1 && strncasecmp(ctype, want, n) == 0;
}

static bool query_bool(const struct req *r, const char *name)
{
    const cJSON *v = r->query_params ? cJSON_GetObjectItemCaseSensitive(r->query_params, name)
                                     : NULL;

    return cJSON_IsTrue(v);
}

/* Make sure every ancestor of path (normalised, not "/") is a directory, creating the
 * missing ones when mkdir. Only inside the write's transaction. Answers r and returns
 * false when it cannot. */
static bool ensure_parents(struct req *r, struct store *s, const char *box, const char *path,
                           bool mkdir)
{
    struct buf prefix = BUF_INIT;
    const char *slash = path;
    const char *last = strrchr(path, '/');
    bool ok = true;

    /* Walk "/a", "/a/b", ... up to the parent; "/" always exists. */
    while ((slash = strchr(slash + 1, '/')) != NULL && slash <= last) {
        int kind;

        buf_reset(&prefix);
        buf_add(&prefix, path, (size_t)(slash - path));
        kind = lookup(s, box, buf_cstr(&prefix));
        if (kind == 1)
            continue;
        if (kind == 0) {
            path_conflict(r, "a parent is not a directory", buf_cstr(&prefix), false);
            ok = false;
            break;
        }
        if (kind == -2) {
            req_problem(r, 500, "internal_error", "The file store failed.");
            ok = false;
            break;
        }
        if (!mkdir) {
            struct buf parent = BUF_INIT;

            buf_add(&parent, path, last > path ? (size_t)(last - path) : 1);
            req_problem(r, 404, "file_not_found",
                        "Directory %s does not exist; pass mkdir=true to create it.",
                        buf_cstr(&parent));
            buf_release(&parent);
            ok = false;
            break;
        }
        {
            sqlite3_stmt *st = store_stmt(s, sql_insert_dir);

            if (!st) {
                req_problem(r, 500, "internal_error", "The file store failed.");
                ok = false;
                break;
            }
            store_bind_text(st, 1, box);
            store_bind_text(st, 2, buf_cstr(&prefix));
            sqlite3_bind_int(st, 3, DIR_MODE);
            if (step_done(st) != RC_OK) {
                req_problem(r, 500, "internal_error", "The file store failed.");
                ok = false;
                break;
            }
        }
    }
    buf_release(&prefix);
    return ok;
}

static bool put_file(struct store *s, const char *box, const char *path, int mode,
                     const char *data, size_t len, const char *sha)
{
    sqlite3_stmt *st = store_stmt(s, sql_put);
    sqlite3_blob *blob = NULL;
    sqlite3 *db;
    bool ok;

    if (!st)
        return false;
    db = sqlite3_db_handle(st);
    store_bind_text(st, 1, box);
    store_bind_text(st, 2, path);
    sqlite3_bind_int(st, 3, mode);
    /* Big content: room for it first (SQLite does not build zeros in memory), then
     * written into place. The body outlives the statement's step either way; an empty
     * body must still be a (zero-length) blob, not NULL. */
    if (len >= BLOB_IO_MIN)
        sqlite3_bind_zeroblob64(st, 4, len);
    else if (len)
        sqlite3_bind_blob64(st, 4, data, len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(st, 4, 0);
    store_bind_text(st, 5, sha);
    ok = step_done(st) == RC_OK;
    sqlite3_clear_bindings(st);
    if (ok && len >= BLOB_IO_MIN) {
        ok = sqlite3_blob_open(db, "main", "files", "content", sqlite3_last_insert_rowid(db), 1,
                               &blob) == SQLITE_OK
             && sqlite3_blob_write(blob, data, (int)len, 0) == SQLITE_OK;
        if (!ok)
            log_error("files: %s", sqlite3_errmsg(db));
        sqlite3_blob_close(blob);
    }
    return ok;
}

static void write_file(struct req *r)
{
    struct hogmock *hm = r->hm;
    const char *box = req_path_str(r, "id");
    const char *raw_path = req_query_str(r, "path");
    const char *mode_str = req_query_str(r, "mode");
    bool mkdir = query_bool(r, "mkdir");
    struct buf path = BUF_INIT;
    char sha[65];
    int mode, kind;
    cJSON *out;
    char mode_out[16];

    if (files_normalise(raw_path, &path) != RC_OK) {
        relative_path(r, raw_path);
        goto out;
    }
    if (!parse_mode(mode_str, &mode)) {
        cJSON *p = problem_new(400, "invalid_parameter",
                               "Query parameter mode must be an octal file mode such as 0644.");

        problem_add_param_error(p, "mode", "must match ^[0-7]{3,4}$");
        req_problem_json(r, p);
        goto out;
    }
    if (!octet_stream(req_header(r, "Content-Type"))) {
        req_problem(r, 415, "unsupported_media_type",
                    "Content-Type %s is not supported here; send application/octet-stream.",
                    req_header(r, "Content-Type"));
        goto out;
    }
    if (hm->limits.file_max_bytes >= 0 && r->body_len > (size_t)hm->limits.file_max_bytes) {
        req_problem(r, 413, "payload_too_large",
                    "File body of %zu bytes exceeds file_max_bytes (%lld).", r->body_len,
                    (long long)hm->limits.file_max_bytes);
        goto out;
    }
    if (!box_ready(r, box))
        goto out;
    if (strcmp(buf_cstr(&path), "/") == 0) {
        path_conflict(r, "is a directory", "/", true);
        goto out;
    }
    /* Hashed as the body came in; else here, outside the lock: 64 MiB takes a while, and
     * nobody needs to wait for it. */
    if (r->body_sha256[0])
        memcpy(sha, r->body_sha256, sizeof(sha));
    else
        digest_sha256_hex(r->body, r->body_len, sha);

    /* One transaction: parents, the conflict checks and the content land together or
     * not at all, and a reader (who takes the same lock) sees the old file or the new. */
    store_lock(hm->store);
    if (store_begin(hm->store) != RC_OK) {
        store_unlock(hm->store);
        req_problem(r, 500, "internal_error", "The file store failed.");
        goto out;
    }
    if (!ensure_parents(r, hm->store, box, buf_cstr(&path), mkdir))
        goto rollback;
    kind = lookup(hm->store, box, buf_cstr(&path));
    if (kind == 1) {
        path_conflict(r, "is a directory", buf_cstr(&path), true);
        goto rollback;
    }
    if (kind == -2 || !put_file(hm->store, box, buf_cstr(&path), mode, r->body, r->body_len, sha)
        || store_commit(hm->store) != RC_OK) {
        req_problem(r, 500, "internal_error", "The file store failed.");
        goto rollback;
    }
    store_unlock(hm->store);

    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "path", buf_cstr(&path));
    cJSON_AddNumberToObject(out, "size", (double)r->body_len);
    snprintf(mode_out, sizeof(mode_out), "%04o", (unsigned)mode & 07777u);
    cJSON_AddStringToObject(out, "mode", mode_out);
    cJSON_AddStringToObject(out, "sha256", sha);
    req_json(r, 200, out);
    goto out;

rollback:
    store_rollback(hm->store);
    store_unlock(hm->store);
out:
    buf_release(&path);
}

static void read_file(struct req *r)
{
    struct hogmock *hm = r->hm;
    const char *box = req_path_str(r, "id");
    const char *raw_path = req_query_str(r, "path");
    struct buf path = BUF_INIT, content = BUF_INIT;
    enum rc rc;

    if (files_normalise(raw_path, &path) != RC_OK) {
        relative_path(r, raw_path);
        goto out;
    }
    if (!box_ready(r, box))
        goto out;
    store_lock(hm->store);
    rc = read_locked(hm->store, box, buf_cstr(&path), &content);
    store_unlock(hm->store);
    if (rc == RC_OK) {
        size_t len;
        char *data = buf_detach(&content, &len);

        req_bytes(r, 200, "application/octet-stream", data, len);
    } else if (rc == RC_NOT_FOUND || rc == RC_INVALID) {
        req_problem(r, 404, "file_not_found", "No file %s in hogbox %s.", buf_cstr(&path), box);
    } else {
        req_problem(r, 500, "internal_error", "The file store failed.");
    }
out:
    buf_release(&content);
    buf_release(&path);
}

const struct route files_routes[] = {
    { "writeFile", write_file },
    { "readFile", read_file },
    { NULL, NULL },
};
