#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "auth.h"
#include "base64.h"
#include "files.h"
#include "hogmock.h"
#include "log.h"
#include "problem.h"
#include "server.h"
#include "store.h"
#include "vclock.h"
#include "xmalloc.h"
#include "yamljson.h"

/* An Idempotency-Key is remembered this long (the spec's 24 hours). */
#define IDEM_TTL_MS (24LL * 3600 * 1000)
#define ID_SIZE 48

/* ---- limits ---- */

void hogmock_limits_default(struct hog_limits *l)
{
    l->cpus = (struct hog_range){ 1, 8, 2 };
    l->memory_mib = (struct hog_range){ 256, 16384, 1024 };
    l->disk_gib = (struct hog_range){ 1, 100, 10 };
    l->exec_timeout_seconds = (struct hog_range){ 1, 3600, 60 };
    l->memory_multiple_of = 256;
    l->exec_output_max_bytes = 1048576;
    l->file_max_bytes = 67108864;
    l->max_hogboxes = 20;
}

static cJSON *range_json(const struct hog_range *rg, int64_t multiple_of)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "min", (double)rg->min);
    cJSON_AddNumberToObject(o, "max", (double)rg->max);
    cJSON_AddNumberToObject(o, "default", (double)rg->def);
    if (multiple_of > 0)
        cJSON_AddNumberToObject(o, "multiple_of", (double)multiple_of);
    return o;
}

static cJSON *limits_json(const struct hog_limits *l)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "cpus", range_json(&l->cpus, 0));
    cJSON_AddItemToObject(o, "memory_mib", range_json(&l->memory_mib, l->memory_multiple_of));
    cJSON_AddItemToObject(o, "disk_gib", range_json(&l->disk_gib, 0));
    cJSON_AddItemToObject(o, "exec_timeout_seconds", range_json(&l->exec_timeout_seconds, 0));
    cJSON_AddNumberToObject(o, "exec_output_max_bytes", (double)l->exec_output_max_bytes);
    cJSON_AddNumberToObject(o, "file_max_bytes", (double)l->file_max_bytes);
    cJSON_AddNumberToObject(o, "max_hogboxes", (double)l->max_hogboxes);
    return o;
}

/* What the bundled spec allows (HogboxCreate, ExecRequest, Limits); a limits file may only
 * narrow these, or create would promise what the schema validator refuses. */
static const struct hog_range spec_cpus = { 1, 8, 2 };
static const struct hog_range spec_memory = { 256, 16384, 1024 };
static const struct hog_range spec_disk = { 1, 100, 10 };
static const struct hog_range spec_timeout = { 1, 3600, 60 };
#define SPEC_MEMORY_MULTIPLE 256
#define SPEC_EXEC_OUTPUT_MAX 1048576
#define SPEC_FILE_MAX 67108864
#define MAX_HOGBOXES_MAX 1000000

/* An integer member of a limits file; false with a message when it is not one. */
static bool limits_int(const cJSON *v, const char *path, const char *field, int64_t *out,
                       struct buf *err)
{
    double d;

    if (!cJSON_IsNumber(v)) {
        buf_addf(err, "invalid limits in '%s': %s must be an integer", path, field);
        return false;
    }
    d = v->valuedouble;
    if (d != d || d < -9007199254740992.0 || d > 9007199254740992.0 || d != (double)(int64_t)d) {
        buf_addf(err, "invalid limits in '%s': %s must be an integer (got %g)", path, field, d);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One LimitRange member: read what the file gives over rg, then check it against spec.
 * multiple_of is NULL for ranges that have none. */
static bool limits_range(const cJSON *node, const char *path, const char *name,
                         const struct hog_range *spec, struct hog_range *rg,
                         int64_t *multiple_of, struct buf *err)
{
    const cJSON *m;
    bool def_given = false;
    char field[64];
    int64_t mult = multiple_of ? *multiple_of : 1;

    if (node) {
        if (!cJSON_IsObject(node)) {
            buf_addf(err, "invalid limits in '%s': %s must be an object with min, max and "
                     "default", path, name);
            return false;
        }
        cJSON_ArrayForEach(m, node) {
            int64_t *dst;

            snprintf(field, sizeof(field), "%s.%s", name, m->string);
            if (strcmp(m->string, "min") == 0)
                dst = &rg->min;
            else if (strcmp(m->string, "max") == 0)
                dst = &rg->max;
            else if (strcmp(m->string, "default") == 0)
                dst = &rg->def, def_given = true;
            else if (multiple_of && strcmp(m->string, "multiple_of") == 0)
                dst = &mult;
            else {
                buf_addf(err, "invalid limits in '%s': unknown field '%s'", path, field);
                return false;
            }
            if (!limits_int(m, path, field, dst, err))
                return false;
        }
    }
    if (multiple_of && (mult < SPEC_MEMORY_MULTIPLE || mult % SPEC_MEMORY_MULTIPLE != 0)) {
        buf_addf(err, "invalid limits in '%s': %s.multiple_of must be a positive multiple of "
                 "%d, as the spec requires (got %" PRId64 ")", path, name,
                 SPEC_MEMORY_MULTIPLE, mult);
        return false;
    }
    if (rg->min < spec->min) {
        buf_addf(err, "invalid limits in '%s': %s.min must be at least %" PRId64 ", the "
                 "spec's minimum (got %" PRId64 ")", path, name, spec->min, rg->min);
        return false;
    }
    if (rg->max > spec->max) {
        buf_addf(err, "invalid limits in '%s': %s.max must be at most %" PRId64 ", the "
                 "spec's maximum (got %" PRId64 ")", path, name, spec->max, rg->max);
        return false;
    }
    if (rg->min > rg->max) {
        buf_addf(err, "invalid limits in '%s': %s.min (%" PRId64 ") is above %s.max (%"
                 PRId64 ")", path, name, rg->min, name, rg->max);
        return false;
    }
    if (!def_given) {
        /* A narrowed range keeps a usable default without the user restating it. */
        rg->def = clamp64(rg->def, rg->min, rg->max);
        if (rg->def % mult != 0) {
            int64_t up = (rg->def / mult + 1) * mult, down = rg->def / mult * mult;

            rg->def = up <= rg->max ? up : down;
        }
    }
    if (rg->def < rg->min || rg->def > rg->max) {
        buf_addf(err, "invalid limits in '%s': %s.default (%" PRId64 ") is outside %s.min.."
                 "%s.max (%" PRId64 "..%" PRId64 ")", path, name, rg->def, name, name,
                 rg->min, rg->max);
        return false;
    }
    if (rg->def % mult != 0) {
        buf_addf(err, "invalid limits in '%s': %s.default (%" PRId64 ") is not a multiple "
                 "of %s.multiple_of (%" PRId64 ")", path, name, rg->def, name, mult);
        return false;
    }
    if (multiple_of)
        *multiple_of = mult;
    return true;
}

static bool limits_scalar(const cJSON *v, const char *path, const char *name, int64_t lo,
                          int64_t hi, int64_t *out, struct buf *err)
{
    int64_t x;

    if (!v)
        return true;
    if (!limits_int(v, path, name, &x, err))
        return false;
    if (x < lo || x > hi) {
        buf_addf(err, "invalid limits in '%s': %s must be between %" PRId64 " and %" PRId64
                 " (got %" PRId64 ")", path, name, lo, hi, x);
        return false;
    }
    *out = x;
    return true;
}

enum rc sim_load_limits(struct hog_limits *limits, const char *path, struct buf *err)
{
    static const char *const known[] = {
        "cpus", "memory_mib", "disk_gib", "exec_timeout_seconds", "exec_output_max_bytes",
        "file_max_bytes", "max_hogboxes", NULL
    };
    struct hog_limits l;
    cJSON *doc = NULL;
    const cJSON *m;
    enum rc rc;
    size_t i;

    rc = yamljson_load_file(path, &doc, err);
    if (rc != RC_OK)
        return rc;
    rc = RC_INVALID;
    if (!cJSON_IsObject(doc)) {
        buf_addf(err, "invalid limits in '%s': the document must be a mapping in the shape "
                 "of /v1/limits", path);
        goto out;
    }
    cJSON_ArrayForEach(m, doc) {
        for (i = 0; known[i] && strcmp(known[i], m->string) != 0; i++)
            ;
        if (!known[i]) {
            buf_addf(err, "invalid limits in '%s': unknown field '%s'", path, m->string);
            goto out;
        }
    }
    hogmock_limits_default(&l);
#define MEMBER(name) cJSON_GetObjectItemCaseSensitive(doc, name)
    if (!limits_range(MEMBER("cpus"), path, "cpus", &spec_cpus, &l.cpus, NULL, err)
        || !limits_range(MEMBER("memory_mib"), path, "memory_mib", &spec_memory,
                         &l.memory_mib, &l.memory_multiple_of, err)
        || !limits_range(MEMBER("disk_gib"), path, "disk_gib", &spec_disk, &l.disk_gib,
                         NULL, err)
        || !limits_range(MEMBER("exec_timeout_seconds"), path, "exec_timeout_seconds",
                         &spec_timeout, &l.exec_timeout_seconds, NULL, err)
        || !limits_scalar(MEMBER("exec_output_max_bytes"), path, "exec_output_max_bytes", 0,
                          SPEC_EXEC_OUTPUT_MAX, &l.exec_output_max_bytes, err)
        || !limits_scalar(MEMBER("file_max_bytes"), path, "file_max_bytes", 0, SPEC_FILE_MAX,
                          &l.file_max_bytes, err)
        || !limits_scalar(MEMBER("max_hogboxes"), path, "max_hogboxes", 0, MAX_HOGBOXES_MAX,
                          &l.max_hogboxes, err))
        goto out;
#undef MEMBER
    *limits = l;
    rc = RC_OK;
out:
    cJSON_Delete(doc);
    return rc;
}

/* ---- small helpers ---- */

/* Whole-second RFC 3339 UTC, as the spec's Timestamp says. */
static void fmt_time(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t now_ms(const struct hogmock *hm)
{
    return (int64_t)vclock_now_ms(hm->clock);
}

static int cmp_keys(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

/* A copy of v with every object's members sorted by key (new; cJSON_Delete): two bodies
 * that differ only in member order are the same request. */
static cJSON *canonical(const cJSON *v)
{
    const cJSON *c;
    cJSON *out;

    if (cJSON_IsObject(v)) {
        size_t n = 0, i;
        const cJSON **kids;

        cJSON_ArrayForEach(c, v)
            n++;
        kids = xcalloc(n ? n : 1, sizeof(*kids));
        n = 0;
        cJSON_ArrayForEach(c, v)
            kids[n++] = c;
        qsort(kids, n, sizeof(*kids), cmp_keys);
        out = cJSON_CreateObject();
        for (i = 0; i < n; i++)
            cJSON_AddItemToObject(out, kids[i]->string, canonical(kids[i]));
        free(kids);
        return out;
    }
    if (cJSON_IsArray(v)) {
        out = cJSON_CreateArray();
        cJSON_ArrayForEach(c, v)
            cJSON_AddItemToArray(out, canonical(c));
        return out;
    }
    return cJSON_Duplicate(v, false);
}

/* The request fingerprint an Idempotency-Key is bound to: method, path and the body with
 * its members in a canonical order. */
static void request_fingerprint(const struct req *r, char out[65])
{
    struct buf b = BUF_INIT;

    buf_addf(&b, "%s %s\n", r->method, r->path);
    if (r->json) {
        cJSON *c = canonical(r->json);
        char *text = cJSON_PrintUnformatted(c);

        buf_addstr(&b, text ? text : "");
        cJSON_free(text);
        cJSON_Delete(c);
    } else if (r->body) {
        buf_add(&b, r->body, r->body_len);
    }
    digest_sha256_hex(b.data ? b.data : "", b.len, out);
    buf_release(&b);
}

/* The Idempotency-Key header, checked per the spec's parameter (1..255 of '!'..'~').
 * *key is NULL when absent. A malformed key is answered here (400) and false returned. */
static bool idem_key(struct req *r, const char **key)
{
    const char *k = req_header(r, "Idempotency-Key");
    const char *why = NULL;
    size_t len, i;
    cJSON *p;

    *key = k;
    if (!k)
        return true;
    len = strlen(k);
    if (len == 0)
        why = "must not be empty";
    else if (len > 255)
        why = "must be at most 255 characters";
    for (i = 0; !why && i < len; i++)
        if ((unsigned char)k[i] < '!' || (unsigned char)k[i] > '~')
            why = "must not contain spaces or control characters";
    if (!why)
        return true;
    p = problem_new(400, "invalid_parameter",
                    "Header Idempotency-Key must be 1 to 255 printable ASCII characters.");
    problem_add_param_error(p, "Idempotency-Key", why);
    req_problem_json(r, p);
    return false;
}

/* How a handler answers once the store lock is released: one problem, or a status with an
 * optional body and Location. */
struct answer {
    int status;
    cJSON *body;
    cJSON *problem;
    char location[96];
};

static void answer_send(struct req *r, struct answer *a)
{
    if (a->problem) {
        cJSON_Delete(a->body);
        req_problem_json(r, a->problem);
        return;
    }
    if (a->location[0])
        req_set_header(r, "Location", a->location);
    if (a->status == 204 || !a->body)
        req_empty(r, a->status);
    else
        req_json(r, a->status, a->body);
}

/* Record a database failure (while locked) and make the answer a 500. */
static void db_fail(struct answer *a, sqlite3 *db, const char *what)
{
    log_error("sim: %s: %s", what, db ? sqlite3_errmsg(db) : "statement did not compile");
    cJSON_Delete(a->body);
    a->body = NULL;
    cJSON_Delete(a->problem);
    a->problem = problem_new(500, "internal_error",
                             "The server failed to %s; the request had no effect.", what);
}

static cJSON *not_found_problem(const char *box_id)
{
    return problem_new(404, "hogbox_not_found", "No hogbox %s.", box_id);
}

static cJSON *invalid_state_problem(const struct req *r, const char *box_id,
                                    const char *state, const char *need)
{
    return problem_new(409, "invalid_state", "Hogbox %s is %s; %s needs it %s.", box_id, state,
                       r->op && r->op->name ? r->op->name : "this operation", need);
}

void sim_box_not_found(struct req *r, const char *box_id)
{
    req_problem_json(r, not_found_problem(box_id));
}

void sim_invalid_state(struct req *r, const char *box_id, const char *state, const char *need)
{
    req_problem_json(r, invalid_state_problem(r, box_id, state, need));
}

static const char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? (const char *)t : "";
}

/* ---- hogboxes on the store ---- */

/* Columns of a Hogbox, then the sort key (created_at in whole seconds) for cursors. */
#define BOX_COLS "id, state, cpus, memory_mib, disk_gib, snapshot_id, access_type, labels, " \
                 "created_at, updated_at, created_at / 1000"

static cJSON *box_row_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject(), *labels;
    char t[32];

    cJSON_AddStringToObject(o, "id", col_text(st, 0));
    cJSON_AddStringToObject(o, "state", col_text(st, 1));
    cJSON_AddNumberToObject(o, "cpus", (double)sqlite3_column_int64(st, 2));
    cJSON_AddNumberToObject(o, "memory_mib", (double)sqlite3_column_int64(st, 3));
    cJSON_AddNumberToObject(o, "disk_gib", (double)sqlite3_column_int64(st, 4));
    if (sqlite3_column_type(st, 5) == SQLITE_NULL)
        cJSON_AddNullToObject(o, "snapshot_id");
    else
        cJSON_AddStringToObject(o, "snapshot_id", col_text(st, 5));
    cJSON_AddStringToObject(o, "access_type", col_text(st, 6));
    labels = cJSON_Parse(col_text(st, 7));
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(o, "labels", labels);
    fmt_time(sqlite3_column_int64(st, 8), t);
    cJSON_AddStringToObject(o, "created_at", t);
    fmt_time(sqlite3_column_int64(st, 9), t);
    cJSON_AddStringToObject(o, "updated_at", t);
    return o;
}

/* Transient states end lazily: whoever looks next finds the box running, updated when
 * the clock passed ready_at. No timers. */
static const char settle_box_sql[] =
    "UPDATE hogboxes SET state = 'running', updated_at = ready_at"
    " WHERE id = ?1 AND state IN ('creating', 'snapshotting') AND ready_at <= ?2";
static const char settle_principal_sql[] =
    "UPDATE hogboxes SET state = 'running', updated_at = ready_at"
    " WHERE principal_id = ?1 AND state IN ('creating', 'snapshotting') AND ready_at <= ?2";
static const char box_get_sql[] =
    "SELECT " BOX_COLS " FROM hogboxes WHERE id = ?1 AND principal_id = ?2";

static bool settle(struct store *s, const char *sql, const char *key, int64_t now)
{
    sqlite3_stmt *st = store_stmt(s, sql);
    int rc;

    if (!st)
        return false;
    store_bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

/* While locked: box id as principal sees it now. RC_OK with its state (and, when json is
 * non-NULL, a new Hogbox object), RC_NOT_FOUND, or RC_IO. */
static enum rc box_load(struct hogmock *hm, const char *principal, const char *id,
                        char state[16], cJSON **json)
{
    struct store *s = hm->store;
    sqlite3_stmt *st;
    enum rc rc = RC_IO;
    int step;

    if (json)
        *json = NULL;
    if (!settle(s, settle_box_sql, id, now_ms(hm)) || !(st = store_stmt(s, box_get_sql)))
        return RC_IO;
    store_bind_text(st, 1, id);
    store_bind_text(st, 2, principal);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        snprintf(state, 16, "%s", col_text(st, 1));
        if (json)
            *json = box_row_json(st);
        rc = RC_OK;
    } else if (step == SQLITE_DONE) {
        rc = RC_NOT_FOUND;
    }
    sqlite3_reset(st);
    return rc;
}

enum rc sim_box_state(struct hogmock *hm, const char *principal_id, const char *box_id,
                      char *state, size_t size)
{
    char st[16];
    enum rc rc;

    store_lock(hm->store);
    rc = box_load(hm, principal_id, box_id, st, NULL);
    store_unlock(hm->store);
    if (rc == RC_OK)
        snprintf(state, size, "%s", st);
    return rc;
}

/* ---- idempotency ---- */

static const char idem_get_sql[] =
    "SELECT request_sha256, status, location, body, created_at FROM idempotency"
    " WHERE principal_id = ?1 AND op = ?2 AND key = ?3";
static const char idem_put_sql[] =
    "INSERT OR REPLACE INTO idempotency (principal_id, op, key, request_sha256, status,"
    " location, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char idem_purge_sql[] = "DELETE FROM idempotency WHERE created_at <= ?1";

/* While locked, inside the caller's transaction: what an earlier request with this key
 * got. True when that decides the answer (a replay, a 422, or a 500 in *a); false to go on
 * (no record, or one older than the spec's 24 hours, which the store then replaces). */
static bool idem_check(struct req *r, const char *op, const char *key, const char *fp,
                       struct answer *a)
{
    struct store *s = r->hm->store;
    sqlite3_stmt *st = store_stmt(s, idem_get_sql);
    bool decided = true;
    int step;

    if (!st) {
        db_fail(a, NULL, "look up the Idempotency-Key");
        return true;
    }
    store_bind_text(st, 1, r->principal->id);
    store_bind_text(st, 2, op);
    store_bind_text(st, 3, key);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE
        || (step == SQLITE_ROW && sqlite3_column_int64(st, 4) + IDEM_TTL_MS <= now_ms(r->hm))) {
        decided = false;
    } else if (step != SQLITE_ROW) {
        db_fail(a, sqlite3_db_handle(st), "look up the Idempotency-Key");
    } else if (strcmp(col_text(st, 0), fp) == 0) {
        a->status = sqlite3_column_int(st, 1);
        snprintf(a->location, sizeof(a->location), "%s", col_text(st, 2));
        a->body = cJSON_Parse(col_text(st, 3));
    } else if (strcmp(op, "snapshotHogbox") == 0) {
        cJSON *first = cJSON_Parse(col_text(st, 3));
        const char *box = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first,
                                                                                 "hogbox_id"));

        a->problem = problem_new(422, "idempotency_key_reused",
                                 "Idempotency-Key %s was used with a different request "
                                 "(POST /v1/hogboxes/%s/snapshot).", key, box ? box : "?");
        cJSON_Delete(first);
    } else {
        a->problem = problem_new(422, "idempotency_key_reused",
                                 "Idempotency-Key %s was used with a different request body.",
                                 key);
    }
    sqlite3_reset(st);
    return decided;
}

/* While locked: forget the keys past the spec's 24 hours, at most once a minute of
 * hogmock's clock (or whenever it is behind the last time), so that a long run holds a
 * day of keys, not every key it ever saw. */
static void idem_purge(struct hogmock *hm)
{
    int64_t now = now_ms(hm);
    sqlite3_stmt *st;

    if (now >= hm->idem_purged_at && now - hm->idem_purged_at < 60000)
        return;
    hm->idem_purged_at = now;
    if (!(st = store_stmt(hm->store, idem_purge_sql)))
        return;
    sqlite3_bind_int64(st, 1, now - IDEM_TTL_MS);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_warn("cannot forget expired Idempotency-Keys: %s",
                 sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
}

/* While locked, in the transaction that did the work: remember its answer under key. */
static bool idem_put(struct req *r, const char *op, const char *key, const char *fp,
                     const struct answer *a)
{
    sqlite3_stmt *st;
    char *text;
    int step;

    idem_purge(r->hm);
    st = store_stmt(r->hm->store, idem_put_sql);
    if (!st)
        return false;
    text = cJSON_PrintUnformatted(a->body);
    store_bind_text(st, 1, r->principal->id);
    store_bind_text(st, 2, op);
    store_bind_text(st, 3, key);
    store_bind_text(st, 4, fp);
    sqlite3_bind_int(st, 5, a->status);
    store_bind_text(st, 6, a->location[0] ? a->location : NULL);
    store_bind_text(st, 7, text ? text : "{}");
    sqlite3_bind_int64(st, 8, now_ms(r->hm));
    step = sqlite3_step(st);
    sqlite3_reset(st);
    cJSON_free(text);
    return step == SQLITE_DONE;
}

/* ---- cursors ---- */

/* A cursor is base64url("<kind>1.<created second>.<id>.<filters digest>.<check>"): the
 * keyset of the last item shown, so boxes created or destroyed between pages neither
 * repeat nor hide the others; the digest binds it to the filters it was issued for and
 * the check rejects cursors this server did not make. */
static void digest16(const char *text, char out[17])
{
    char hex[65];

    digest_sha256_hex(text, strlen(text), hex);
    memcpy(out, hex, 16);
    out[16] = '\0';
}

static char *cursor_make(char kind, int64_t sec, const char *id, const char *filters)
{
    struct buf payload = BUF_INIT, signed_text = BUF_INIT, out = BUF_INIT;
    char fd[17], check[17];

    digest16(filters, fd);
    buf_addf(&payload, "%c1.%" PRId64 ".%s.%s", kind, sec, id, fd);
    buf_addf(&signed_text, "hogmock cursor\n%s", buf_cstr(&payload));
    digest16(buf_cstr(&signed_text), check);
    buf_addf(&payload, ".%s", check);
    base64url_encode(&out, payload.data, payload.len);
    buf_release(&payload);
    buf_release(&signed_text);
    return buf_detach(&out, NULL);
}

/* Decode cursor for kind and filters into the keyset (*sec, id). NULL, or why not. */
static const char *cursor_parse(const char *cursor, char kind, const char *filters,
                                int64_t *sec, char id[ID_SIZE])
{
    static const char bad[] = "not a cursor issued by this server";
    struct buf raw = BUF_INIT, signed_text = BUF_INIT;
    const char *why = bad;
    char check[17], fd[17], *text, *dot, *end, *idp, *fdp;
    long long n;

    if (base64url_decode(cursor, strlen(cursor), &raw) != RC_OK || raw.len == 0
        || raw.len > 400 || memchr(raw.data, '\0', raw.len))
        goto out;
    text = raw.data;
    dot = strrchr(text, '.');
    if (!dot || strlen(dot + 1) != 16)
        goto out;
    *dot = '\0';
    buf_addf(&signed_text, "hogmock cursor\n%s", text);
    digest16(buf_cstr(&signed_text), check);
    if (!mem_equal_ct(check, 16, dot + 1, 16))
        goto out;
    /* Ours from here on: "<kind>1.<sec>.<id>.<digest>". */
    if (text[0] != kind || text[1] != '1' || text[2] != '.')
        goto out;
    n = strtoll(text + 3, &end, 10);
    if (end == text + 3 || *end != '.' || n < 0)
        goto out;
    idp = end + 1;
    fdp = strrchr(idp, '.');
    if (!fdp || fdp == idp || (size_t)(fdp - idp) >= ID_SIZE)
        goto out;
    *fdp++ = '\0';
    digest16(filters, fd);
    if (strcmp(fd, fdp) != 0) {
        why = "was issued for other filters";
        goto out;
    }
    *sec = n;
    snprintf(id, ID_SIZE, "%s", idp);
    why = NULL;
out:
    buf_release(&raw);
    buf_release(&signed_text);
    return why;
}

static void bad_cursor(struct req *r, const char *why)
{
    cJSON *p = problem_new(400, "invalid_parameter",
                           "Query parameter cursor is not a valid cursor.");

    problem_add_param_error(p, "cursor", why);
    req_problem_json(r, p);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool label_key_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 63)
        return false;
    for (i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.'
              || s[i] == '_' || s[i] == '/' || s[i] == '-'))
            return false;
    return true;
}

/* ---- handlers ---- */

static void get_limits(struct req *r)
{
    req_json(r, 200, limits_json(&r->hm->limits));
}

struct field_error {
    const char *pointer;
    char detail[80];
};

/* A size given in the body, checked against the configured range (the schema already
 * held it to the spec's). */
static void check_size(const cJSON *body, const char *name, const char *pointer,
                       const struct hog_range *rg, int64_t multiple_of, int64_t *value,
                       struct field_error *errs, int *nerr)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    int64_t x;

    if (!cJSON_IsNumber(v))
        return;
    x = (int64_t)v->valuedouble;
    *value = x;
    if (x < rg->min)
        snprintf(errs[*nerr].detail, sizeof(errs[0].detail), "must be at least %" PRId64,
                 rg->min);
    else if (x > rg->max)
        snprintf(errs[*nerr].detail, sizeof(errs[0].detail), "must be at most %" PRId64,
                 rg->max);
    else if (multiple_of > 1 && x % multiple_of != 0)
        snprintf(errs[*nerr].detail, sizeof(errs[0].detail), "must be a multiple of %" PRId64,
                 multiple_of);
    else
        return;
    errs[(*nerr)++].pointer = pointer;
}

static const char snapshot_mine_sql[] =
    "SELECT 1 FROM snapshots WHERE id = ?1 AND principal_id = ?2";
static const char box_count_sql[] = "SELECT count(*) FROM hogboxes WHERE principal_id = ?1";
static const char box_insert_sql[] =
    "INSERT INTO hogboxes (id, principal_id, state, cpus, memory_mib, disk_gib, snapshot_id,"
    " access_type, ssh_public_key, labels, created_at, updated_at, ready_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)";

static void create_hogbox(struct req *r)
{
    struct hogmock *hm = r->hm;
    const struct hog_limits *lim = &hm->limits;
    struct store *s = hm->store;
    const cJSON *body = r->json, *v;
    const char *key, *snapshot_id = NULL, *ssh_key = NULL, *access = "none";
    const char *principal = r->principal->id;
    int64_t cpus = lim->cpus.def, mem = lim->memory_mib.def, disk = lim->disk_gib.def;
    int64_t now, count;
    struct field_error errs[4];
    struct answer a = { 201, NULL, NULL, "" };
    char fp[65], id[ID_SIZE], state[16], *labels = NULL;
    long long bytes = 0;
    sqlite3_stmt *st;
    sqlite3 *db;
    int nerr = 0, i;

    if (!idem_key(r, &key))
        return;
    check_size(body, "cpus", "/cpus", &lim->cpus, 0, &cpus, errs, &nerr);
    check_size(body, "memory_mib", "/memory_mib", &lim->memory_mib, lim->memory_multiple_of,
               &mem, errs, &nerr);
    check_size(body, "disk_gib", "/disk_gib", &lim->disk_gib, 0, &disk, errs, &nerr);
    snapshot_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "snapshot_id"));
    ssh_key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "ssh_public_key"));
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "access_type")) && cJSON_IsString(v))
        access = v->valuestring;
    if (strcmp(access, "ssh-public") == 0 && !ssh_key) {
        errs[nerr].pointer = "/ssh_public_key";
        snprintf(errs[nerr++].detail, sizeof(errs[0].detail),
                 "required when access_type is ssh-public");
    }
    if (nerr) {
        cJSON *p = problem_new(422, "validation_failed", "The request body has %d invalid "
                               "field%s.", nerr, nerr == 1 ? "" : "s");

        for (i = 0; i < nerr; i++)
            problem_add_error(p, errs[i].pointer, errs[i].detail);
        req_problem_json(r, p);
        return;
    }
    v = cJSON_GetObjectItemCaseSensitive(body, "labels");
    labels = cJSON_IsObject(v) ? cJSON_PrintUnformatted(v) : NULL;
    if (key)
        request_fingerprint(r, fp);

    db = store_lock(s);
    now = now_ms(hm);
    if (store_begin(s) != RC_OK) {
        db_fail(&a, db, "start a transaction");
        goto unlock;
    }
    if (key && idem_check(r, "createHogbox", key, fp, &a))
        goto rollback;
    if (snapshot_id) {
        if (!(st = store_stmt(s, snapshot_mine_sql)))
            goto fail;
        store_bind_text(st, 1, snapshot_id);
        store_bind_text(st, 2, principal);
        i = sqlite3_step(st);
        sqlite3_reset(st);
        if (i == SQLITE_DONE) {
            a.problem = problem_new(404, "snapshot_not_found", "No snapshot %s.", snapshot_id);
            goto rollback;
        } else if (i != SQLITE_ROW) {
            goto fail;
        }
    }
    if (!(st = store_stmt(s, box_count_sql)))
        goto fail;
    store_bind_text(st, 1, principal);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        goto fail;
    }
    count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (count >= lim->max_hogboxes) {
        /* The spec: quota_exceeded carries no Retry-After, since waiting does not help. */
        a.problem = problem_new(429, "quota_exceeded", "Principal %s already holds %" PRId64
                                " hogboxes, the most max_hogboxes allows; destroy one first.",
                                principal, count);
        goto rollback;
    }
    hogmock_new_id(hm, "hb_", id, sizeof(id));
    if (!(st = store_stmt(s, box_insert_sql)))
        goto fail;
    store_bind_text(st, 1, id);
    store_bind_text(st, 2, principal);
    store_bind_text(st, 3, hm->cfg.boot_ms ? "creating" : "running");
    sqlite3_bind_int64(st, 4, cpus);
    sqlite3_bind_int64(st, 5, mem);
    sqlite3_bind_int64(st, 6, disk);
    store_bind_text(st, 7, snapshot_id);
    store_bind_text(st, 8, access);
    store_bind_text(st, 9, ssh_key);
    store_bind_text(st, 10, labels ? labels : "{}");
    sqlite3_bind_int64(st, 11, now);
    sqlite3_bind_int64(st, 12, now + (int64_t)hm->cfg.boot_ms);
    i = sqlite3_step(st);
    sqlite3_reset(st);
    if (i != SQLITE_DONE)
        goto fail;
    if ((snapshot_id ? files_copy(s, snapshot_id, id, &bytes) : files_init_box(s, id)) != RC_OK)
        goto fail;
    if (box_load(hm, principal, id, state, &a.body) != RC_OK)
        goto fail;
    snprintf(a.location, sizeof(a.location), "/v1/hogboxes/%s", id);
    if (key && !idem_put(r, "createHogbox", key, fp, &a))
        goto fail;
    if (store_commit(s) != RC_OK)
        goto fail;
    goto unlock;
fail:
    db_fail(&a, db, "create the hogbox");
rollback:
    store_rollback(s);
unlock:
    store_unlock(s);
    cJSON_free(labels);
    answer_send(r, &a);
}

static const char box_list_sql[] =
    "SELECT " BOX_COLS " FROM hogboxes AS h WHERE principal_id = ?1"
    " AND (?2 IS NULL OR state = ?2)"
    " AND (created_at / 1000 > ?3 OR (created_at / 1000 = ?3 AND id > ?4))"
    " AND NOT EXISTS (SELECT 1 FROM json_each(?5) AS f WHERE"
    "   json_extract(h.labels, '$.\"' || json_extract(f.value, '$[0]') || '\"')"
    "   IS NOT json_extract(f.value, '$[1]'))"
    " ORDER BY created_at / 1000, id LIMIT ?6";

/* Run a bound list statement (asking for limit + 1 rows) into items: at most limit rows
 * through row(), then next_cursor (kind, the sort column sec_col and the row's id, with
 * filters) when a row was left over, else null; the statement is reset. */
static void page_fill(struct answer *a, sqlite3 *db, sqlite3_stmt *st, int64_t limit,
                      cJSON *(*row)(sqlite3_stmt *), int sec_col, char kind,
                      const char *filters, const char *what)
{
    cJSON *items = cJSON_GetObjectItemCaseSensitive(a->body, "items");
    char last_id[ID_SIZE] = "";
    int64_t last_sec = 0, shown = 0;
    int step;

    while ((step = sqlite3_step(st)) == SQLITE_ROW && shown < limit) {
        cJSON_AddItemToArray(items, row(st));
        last_sec = sqlite3_column_int64(st, sec_col);
        snprintf(last_id, sizeof(last_id), "%s", col_text(st, 0));
        shown++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        db_fail(a, db, what);
    } else if (step == SQLITE_ROW) {
        char *next = cursor_make(kind, last_sec, last_id, filters);

        cJSON_AddStringToObject(a->body, "next_cursor", next);
        free(next);
    } else {
        cJSON_AddNullToObject(a->body, "next_cursor");
    }
    sqlite3_reset(st);
}

static void list_hogboxes(struct req *r)
{
    struct hogmock *hm = r->hm;
    struct store *s = hm->store;
    int64_t limit = req_query_int(r, "limit", 20), sec = -1;
    const char *state = req_query_str(r, "state"), *cursor = req_query_str(r, "cursor");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(r->query_params, "label"), *v;
    struct answer a = { 200, NULL, NULL, "" };
    struct buf filters = BUF_INIT;
    const char **sorted = NULL;
    cJSON *pairs = cJSON_CreateArray();
    char after[ID_SIZE] = "", *pairs_text = NULL;
    const char *why;
    sqlite3_stmt *st;
    sqlite3 *db;
    size_t n = 0, i;

    if (limit < 1 || limit > 100)
        limit = 20;
    /* Labels as [[key, value], ...] for the query, and sorted in the filters' digest
     * (the same set of filters in another order is the same list). */
    if (cJSON_IsString(labels) || cJSON_IsArray(labels)) {
        sorted = xcalloc((size_t)cJSON_GetArraySize(labels) + 1, sizeof(*sorted));
        if (cJSON_IsString(labels))
            sorted[n++] = labels->valuestring;
        else
            cJSON_ArrayForEach(v, labels)
                if (cJSON_IsString(v))
                    sorted[n++] = v->valuestring;
    }
    for (i = 0; i < n; i++) {
        const char *eq = strchr(sorted[i], '=');
        cJSON *pair;
        char *key;

        if (!eq || !label_key_ok(sorted[i], (size_t)(eq - sorted[i]))) {
            cJSON *p = problem_new(400, "invalid_parameter",
                                   "Query parameter label must be key=value.");

            problem_add_param_error(p, "label", "must be key=value with a valid label key");
            a.problem = p;
            goto send;
        }
        key = xstrndup(sorted[i], (size_t)(eq - sorted[i]));
        pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(key));
        cJSON_AddItemToArray(pair, cJSON_CreateString(eq + 1));
        free(key);
        cJSON_AddItemToArray(pairs, pair);
    }
    if (n)
        qsort(sorted, n, sizeof(*sorted), cmp_str);
    buf_addf(&filters, "state=%s\n", state ? state : "");
    for (i = 0; i < n; i++)
        buf_addf(&filters, "label=%s\n", sorted[i]);
    if (cursor && (why = cursor_parse(cursor, 'h', buf_cstr(&filters), &sec, after))) {
        bad_cursor(r, why);
        goto out;
    }
    pairs_text = cJSON_PrintUnformatted(pairs);

    db = store_lock(s);
    a.body = cJSON_CreateObject();
    cJSON_AddArrayToObject(a.body, "items");
    if (!settle(s, settle_principal_sql, r->principal->id, now_ms(hm))
        || !(st = store_stmt(s, box_list_sql))) {
        db_fail(&a, db, "list hogboxes");
        goto unlock;
    }
    store_bind_text(st, 1, r->principal->id);
    store_bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, sec);
    store_bind_text(st, 4, after);
    store_bind_text(st, 5, pairs_text);
    sqlite3_bind_int64(st, 6, limit + 1);
    page_fill(&a, db, st, limit, box_row_json, 10, 'h', buf_cstr(&filters), "list hogboxes");
unlock:
    store_unlock(s);
send:
    answer_send(r, &a);
out:
    cJSON_free(pairs_text);
    cJSON_Delete(pairs);
    buf_release(&filters);
    free(sorted);
}

static void get_hogbox(struct req *r)
{
    const char *id = req_path_str(r, "id");
    struct answer a = { 200, NULL, NULL, "" };
    char state[16];
    enum rc rc;
    sqlite3 *db = store_lock(r->hm->store);

    rc = box_load(r->hm, r->principal->id, id, state, &a.body);
    if (rc == RC_NOT_FOUND)
        a.problem = not_found_problem(id);
    else if (rc != RC_OK)
        db_fail(&a, db, "read the hogbox");
    store_unlock(r->hm->store);
    answer_send(r, &a);
}

static const char box_delete_sql[] = "DELETE FROM hogboxes WHERE id = ?1 AND principal_id = ?2";

static void destroy_hogbox(struct req *r)
{
    struct store *s = r->hm->store;
    const char *id = req_path_str(r, "id");
    struct answer a = { 204, NULL, NULL, "" };
    sqlite3_stmt *st;
    sqlite3 *db = store_lock(s);
    int step;

    if (store_begin(s) != RC_OK || !(st = store_stmt(s, box_delete_sql)))
        goto fail;
    store_bind_text(st, 1, id);
    store_bind_text(st, 2, r->principal->id);
    step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        goto fail;
    if (sqlite3_changes(db) == 0) {
        a.problem = not_found_problem(id);
        goto rollback;
    }
    if (files_drop(s, id) != RC_OK || store_commit(s) != RC_OK)
        goto fail;
    goto unlock;
fail:
    db_fail(&a, db, "destroy the hogbox");
rollback:
    store_rollback(s);
unlock:
    store_unlock(s);
    answer_send(r, &a);
}

static const char box_set_state_sql[] =
    "UPDATE hogboxes SET state = ?2, updated_at = ?3, ready_at = ?4 WHERE id = ?1";

/* While locked: move box id to state, ready (for a transient state) at ready_at. */
static bool set_state(struct store *s, const char *id, const char *state, int64_t now,
                      int64_t ready_at)
{
    sqlite3_stmt *st = store_stmt(s, box_set_state_sql);
    int step;

    if (!st)
        return false;
    store_bind_text(st, 1, id);
    store_bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, ready_at);
    step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE;
}

/* pause and resume: from -> to, or 409 naming the state the box is in. */
static void transition(struct req *r, const char *from, const char *to)
{
    struct hogmock *hm = r->hm;
    const char *id = req_path_str(r, "id");
    struct answer a = { 200, NULL, NULL, "" };
    char state[16];
    sqlite3 *db = store_lock(hm->store);
    enum rc rc = box_load(hm, r->principal->id, id, state, NULL);

    if (rc == RC_NOT_FOUND)
        a.problem = not_found_problem(id);
    else if (rc != RC_OK)
        db_fail(&a, db, "read the hogbox");
    else if (strcmp(state, from) != 0)
        a.problem = invalid_state_problem(r, id, state, from);
    else if (!set_state(hm->store, id, to, now_ms(hm), 0)
             || box_load(hm, r->principal->id, id, state, &a.body) != RC_OK)
        db_fail(&a, db, "change the hogbox's state");
    store_unlock(hm->store);
    answer_send(r, &a);
}

static void pause_hogbox(struct req *r)
{
    transition(r, "running", "paused");
}

static void resume_hogbox(struct req *r)
{
    transition(r, "paused", "running");
}

#define SNAP_COLS "id, hogbox_id, size_bytes, created_at, created_at / 1000"

static cJSON *snap_json(const char *id, const char *box_id, int64_t size, int64_t created)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];

    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "hogbox_id", box_id);
    cJSON_AddNumberToObject(o, "size_bytes", (double)size);
    fmt_time(created, t);
    cJSON_AddStringToObject(o, "created_at", t);
    return o;
}

static cJSON *snap_row_json(sqlite3_stmt *st)
{
    return snap_json(col_text(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2),
                     sqlite3_column_int64(st, 3));
}

static const char snap_insert_sql[] =
    "INSERT INTO snapshots (id, principal_id, hogbox_id, size_bytes, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

static void snapshot_hogbox(struct req *r)
{
    struct hogmock *hm = r->hm;
    struct store *s = hm->store;
    const char *id = req_path_str(r, "id"), *key;
    struct answer a = { 201, NULL, NULL, "" };
    char fp[65], sid[ID_SIZE], state[16];
    long long bytes = 0;
    int64_t now, snap_ms = (int64_t)hm->cfg.snapshot_ms;
    sqlite3_stmt *st;
    sqlite3 *db;
    enum rc rc;
    int step;

    if (!idem_key(r, &key))
        return;
    if (key)
        request_fingerprint(r, fp);
    db = store_lock(s);
    now = now_ms(hm);
    if (store_begin(s) != RC_OK) {
        db_fail(&a, db, "start a transaction");
        goto unlock;
    }
    if (key && idem_check(r, "snapshotHogbox", key, fp, &a))
        goto rollback;
    rc = box_load(hm, r->principal->id, id, state, NULL);
    if (rc == RC_NOT_FOUND) {
        a.problem = not_found_problem(id);
        goto rollback;
    } else if (rc != RC_OK) {
        goto fail;
    } else if (strcmp(state, "running") != 0) {
        a.problem = invalid_state_problem(r, id, state, "running");
        goto rollback;
    }
    hogmock_new_id(hm, "snap_", sid, sizeof(sid));
    if (files_copy(s, id, sid, &bytes) != RC_OK || !(st = store_stmt(s, snap_insert_sql)))
        goto fail;
    store_bind_text(st, 1, sid);
    store_bind_text(st, 2, r->principal->id);
    store_bind_text(st, 3, id);
    sqlite3_bind_int64(st, 4, bytes);
    sqlite3_bind_int64(st, 5, now);
    step = sqlite3_step(st);
    sqlite3_reset(st);
    /* running -> snapshotting -> running; with no snapshot_ms the box is back at once. */
    if (step != SQLITE_DONE
        || !set_state(s, id, snap_ms ? "snapshotting" : "running", now, now + snap_ms))
        goto fail;
    a.body = snap_json(sid, id, bytes, now);
    snprintf(a.location, sizeof(a.location), "/v1/snapshots/%s", sid);
    if (key && !idem_put(r, "snapshotHogbox", key, fp, &a))
        goto fail;
    if (store_commit(s) != RC_OK)
        goto fail;
    goto unlock;
fail:
    db_fail(&a, db, "snapshot the hogbox");
rollback:
    store_rollback(s);
unlock:
    store_unlock(s);
    answer_send(r, &a);
}

static const char snap_list_sql[] =
    "SELECT " SNAP_COLS " FROM snapshots WHERE principal_id = ?1"
    " AND (created_at / 1000 > ?2 OR (created_at / 1000 = ?2 AND id > ?3))"
    " ORDER BY created_at / 1000, id LIMIT ?4";

static void list_snapshots(struct req *r)
{
    struct store *s = r->hm->store;
    int64_t limit = req_query_int(r, "limit", 20), sec = -1;
    const char *cursor = req_query_str(r, "cursor"), *why;
    struct answer a = { 200, NULL, NULL, "" };
    char after[ID_SIZE] = "";
    sqlite3_stmt *st;
    sqlite3 *db;

    if (limit < 1 || limit > 100)
        limit = 20;
    if (cursor && (why = cursor_parse(cursor, 's', "", &sec, after))) {
        bad_cursor(r, why);
        return;
    }
    db = store_lock(s);
    a.body = cJSON_CreateObject();
    cJSON_AddArrayToObject(a.body, "items");
    if (!(st = store_stmt(s, snap_list_sql))) {
        db_fail(&a, db, "list snapshots");
        goto unlock;
    }
    store_bind_text(st, 1, r->principal->id);
    sqlite3_bind_int64(st, 2, sec);
    store_bind_text(st, 3, after);
    sqlite3_bind_int64(st, 4, limit + 1);
    page_fill(&a, db, st, limit, snap_row_json, 4, 's', "", "list snapshots");
unlock:
    store_unlock(s);
    answer_send(r, &a);
}

static const char snap_get_sql[] =
    "SELECT " SNAP_COLS " FROM snapshots WHERE id = ?1 AND principal_id = ?2";

static void get_snapshot(struct req *r)
{
    struct store *s = r->hm->store;
    const char *id = req_path_str(r, "id");
    struct answer a = { 200, NULL, NULL, "" };
    sqlite3 *db = store_lock(s);
    sqlite3_stmt *st = store_stmt(s, snap_get_sql);
    int step = SQLITE_ERROR;

    if (st) {
        store_bind_text(st, 1, id);
        store_bind_text(st, 2, r->principal->id);
        step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            a.body = snap_row_json(st);
        sqlite3_reset(st);
    }
    if (step == SQLITE_DONE)
        a.problem = problem_new(404, "snapshot_not_found", "No snapshot %s.", id);
    else if (step != SQLITE_ROW)
        db_fail(&a, db, "read the snapshot");
    store_unlock(s);
    answer_send(r, &a);
}

static const char snap_user_sql[] =
    "SELECT id FROM hogboxes WHERE snapshot_id = ?1 ORDER BY seq LIMIT 1";
static const char snap_delete_sql[] = "DELETE FROM snapshots WHERE id = ?1 AND principal_id = ?2";

static void delete_snapshot(struct req *r)
{
    struct store *s = r->hm->store;
    const char *id = req_path_str(r, "id");
    struct answer a = { 204, NULL, NULL, "" };
    sqlite3 *db = store_lock(s);
    sqlite3_stmt *st;
    int step;

    if (store_begin(s) != RC_OK || !(st = store_stmt(s, snap_delete_sql)))
        goto fail;
    store_bind_text(st, 1, id);
    store_bind_text(st, 2, r->principal->id);
    step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        goto fail;
    if (sqlite3_changes(db) == 0) {
        a.problem = problem_new(404, "snapshot_not_found", "No snapshot %s.", id);
        goto rollback;
    }
    /* Deleted inside the transaction; a box still using it rolls that back. */
    if (!(st = store_stmt(s, snap_user_sql)))
        goto fail;
    store_bind_text(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        a.problem = problem_new(409, "snapshot_in_use", "Snapshot %s is used by hogbox %s; "
                                "destroy that hogbox first.", id, col_text(st, 0));
        sqlite3_reset(st);
        goto rollback;
    }
    sqlite3_reset(st);
    if (step != SQLITE_DONE || files_drop(s, id) != RC_OK || store_commit(s) != RC_OK)
        goto fail;
    goto unlock;
fail:
    db_fail(&a, db, "delete the snapshot");
rollback:
    store_rollback(s);
unlock:
    store_unlock(s);
    answer_send(r, &a);
}

const struct route sim_routes[] = {
    { "getLimits", get_limits },
    { "createHogbox", create_hogbox },
    { "listHogboxes", list_hogboxes },
    { "getHogbox", get_hogbox },
    { "destroyHogbox", destroy_hogbox },
    { "pauseHogbox", pause_hogbox },
    { "resumeHogbox", resume_hogbox },
    { "snapshotHogbox", snapshot_hogbox },
    { "listSnapshots", list_snapshots },
    { "getSnapshot", get_snapshot },
    { "deleteSnapshot", delete_snapshot },
    { NULL, NULL },
};
