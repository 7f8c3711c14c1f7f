#include "admin.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "faults.h"
#include "issuer.h"
#include "log.h"
#include "journal.h"
#include "oidc.h"
#include "problem.h"
#include "programs.h"
#include "server.h"
#include "services.h"
#include "store.h"
#include "vclock.h"
#include "verify.h"
#include "violations.h"
#include "xmalloc.h"

#ifndef HOGMOCK_VERSION
#define HOGMOCK_VERSION "0.1.0"
#endif

/* ---- helpers ---------------------------------------------------------------------- */

static const cJSON *member(const cJSON *obj, const char *name)
{
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static const char *member_str(const cJSON *obj, const char *name)
{
    const cJSON *v = member(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void admin_invalid_body(struct req *r, const char *what, const char *msg)
{
    cJSON *problem = problem_new(422, "validation_failed", "%s", what);
    const char *sep = msg[0] == '/' ? strstr(msg, ": ") : NULL;

    if (sep) {
        char *pointer = xstrndup(msg, (size_t)(sep - msg));

        problem_add_error(problem, pointer, sep + 2);
        free(pointer);
    } else {
        problem_add_error(problem, "", msg);
    }
    req_problem_json(r, problem);
}

static cJSON *items_object(cJSON *items)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "items", items);
    return o;
}

void admin_answer_items(struct req *r, cJSON *items)
{
    req_json(r, 200, items_object(items));
}

void admin_answer_page(struct req *r, cJSON *items, size_t total)
{
    cJSON *o = items_object(items);

    cJSON_AddNumberToObject(o, "total", (double)total);
    req_json(r, 200, o);
}

static void db_error(struct req *r, sqlite3 *db, const char *what)
{
    log_error("admin: %s: %s", what, sqlite3_errmsg(db));
    req_problem(r, 500, "internal_error", "the database failed while %s", what);
}

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char t[40];

    vclock_format(ms < 0 ? 0 : (uint64_t)ms, t, sizeof(t));
    cJSON_AddStringToObject(o, name, t);
}

/* ---- health ----------------------------------------------------------------------- */

static void admin_health(struct req *r)
{
    struct hogmock *hm = r->hm;
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "version", HOGMOCK_VERSION);
    cJSON_AddNumberToObject(o, "uptime_ms", (double)journal_age_ms(hm->journal));
    cJSON_AddStringToObject(o, "clock", vclock_is_virtual(hm->clock) ? "virtual" : "real");
    req_json(r, 200, o);
}

/* ---- reset ------------------------------------------------------------------------ */

/* Files first: they belong to the boxes and snapshots by id. */
static const char *const reset_all_sql[] = {
    "DELETE FROM files",
    "DELETE FROM snapshots",
    "DELETE FROM hogboxes",
    "DELETE FROM idempotency",
};
static const char *const reset_principal_sql[] = {
    "DELETE FROM files WHERE owner IN (SELECT id FROM hogboxes WHERE principal_id = ?1"
    " UNION SELECT id FROM snapshots WHERE principal_id = ?1)",
    "DELETE FROM snapshots WHERE principal_id = ?1",
    "DELETE FROM hogboxes WHERE principal_id = ?1",
    "DELETE FROM idempotency WHERE principal_id = ?1",
};

static void admin_reset(struct req *r)
{
    struct hogmock *hm = r->hm;
    const char *principal = member_str(r->json, "principal_id");
    bool tokens = cJSON_IsTrue(member(r->json, "tokens"));
    long long counts[4] = { 0, 0, 0, 0 };
    size_t removed_tokens = 0, i;
    sqlite3 *db;
    cJSON *o, *removed;
    enum rc rc;

    db = store_lock(hm->store);
    rc = store_begin(hm->store);
    for (i = 0; rc == RC_OK && i < 4; i++) {
        sqlite3_stmt *st = store_stmt(hm->store, principal ? reset_principal_sql[i]
                                                           : reset_all_sql[i]);

        if (!st) {
            rc = RC_ERR;
            break;
        }
        if (principal)
            store_bind_text(st, 1, principal);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = RC_IO;
        else
            counts[i] = sqlite3_changes(db);
        sqlite3_reset(st);
    }
    if (rc == RC_OK)
        rc = store_commit(hm->store);
    if (rc != RC_OK) {
        store_rollback(hm->store);
        db_error(r, db, "resetting the state");
        store_unlock(hm->store);
        return;
    }
    store_unlock(hm->store);

    if (tokens && auth_reset_tokens(hm->auth, principal, &removed_tokens) != RC_OK) {
        req_problem(r, 500, "internal_error", "the database failed while resetting the tokens");
        return;
    }
    if (!principal) {
        journal_clear(hm->journal);
        violations_clear(hm->violations);
        faults_clear(hm->faults);
        programs_clear(hm->programs);
        services_clear(hm->services);
        oidc_clear(hm->oidc, true);
        /* Last: hogmock's own issuers stay trusted whatever else the reset forgot. */
        issuers_register(hm->issuers, hm->oidc);
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scope", principal ? "principal" : "all");
    if (principal)
        cJSON_AddStringToObject(o, "principal_id", principal);
    else
        cJSON_AddNullToObject(o, "principal_id");
    removed = cJSON_AddObjectToObject(o, "removed");
    cJSON_AddNumberToObject(removed, "hogboxes", (double)counts[2]);
    cJSON_AddNumberToObject(removed, "snapshots", (double)counts[1]);
    cJSON_AddNumberToObject(removed, "files", (double)counts[0]);
    cJSON_AddNumberToObject(removed, "idempotency_keys", (double)counts[3]);
    cJSON_AddNumberToObject(removed, "tokens", (double)removed_tokens);
    cJSON_AddBoolToObject(o, "journal_cleared", !principal);
    req_json(r, 200, o);
}

/* ---- state ------------------------------------------------------------------------ */

static const char state_boxes_sql[] =
    "SELECT principal_id, id,"
    " CASE WHEN state IN ('creating', 'snapshotting') AND ready_at <= ?1 THEN 'running'"
    " ELSE state END,"
    " cpus, memory_mib, disk_gib, snapshot_id, access_type, labels, created_at,"
    " CASE WHEN state IN ('creating', 'snapshotting') AND ready_at <= ?1 THEN ready_at"
    " ELSE updated_at END"
    " FROM hogboxes ORDER BY principal_id, seq";
static const char state_snaps_sql[] =
    "SELECT principal_id, id, hogbox_id, size_bytes, created_at FROM snapshots"
    " ORDER BY principal_id, seq";
static const char state_files_sql[] =
    "SELECT owner, path, is_dir, mode, length(content), sha256 FROM files ORDER BY owner, path";

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? (const char *)t : "";
}

/* The principal's entry in list (created on first use). */
static cJSON *principal_entry(cJSON *list, const char *id)
{
    cJSON *p;

    cJSON_ArrayForEach(p, list)
        if (strcmp(member_str(p, "principal_id"), id) == 0)
            return p;
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "principal_id", id);
    cJSON_AddArrayToObject(p, "hogboxes");
    cJSON_AddArrayToObject(p, "snapshots");
    cJSON_AddItemToArray(list, p);
    return p;
}

static cJSON *owner_files(cJSON *by_owner, const char *owner)
{
    cJSON *files = cJSON_DetachItemFromObjectCaseSensitive(by_owner, owner);

    return files ? files : cJSON_CreateArray();
}

static void admin_state(struct req *r)
{
    struct hogmock *hm = r->hm;
    int64_t now = (int64_t)vclock_now_ms(hm->clock);
    cJSON *o = cJSON_CreateObject(), *principals, *by_owner = cJSON_CreateObject(), *list;
    sqlite3_stmt *st;
    sqlite3 *db;
    int step = SQLITE_DONE;

    cJSON_AddNumberToObject(o, "now_ms", (double)now);
    add_time(o, "now", now);
    principals = cJSON_AddArrayToObject(o, "principals");

    db = store_lock(hm->store);
    /* Files first, indexed by owner, so that boxes and snapshots can take theirs. */
    if ((st = store_stmt(hm->store, state_files_sql)) != NULL) {
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *owner = col(st, 0);
            cJSON *files = cJSON_GetObjectItemCaseSensitive(by_owner, owner), *f;
            bool dir = sqlite3_column_int(st, 2) != 0;

            if (!files)
                files = cJSON_AddArrayToObject(by_owner, owner);
            f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "path", col(st, 1));
            cJSON_AddStringToObject(f, "type", dir ? "directory" : "file");
            cJSON_AddNumberToObject(f, "mode", (double)sqlite3_column_int64(st, 3));
            cJSON_AddNumberToObject(f, "size", dir ? 0 : (double)sqlite3_column_int64(st, 4));
            if (dir || sqlite3_column_type(st, 5) == SQLITE_NULL)
                cJSON_AddNullToObject(f, "sha256");
            else
                cJSON_AddStringToObject(f, "sha256", col(st, 5));
            cJSON_AddItemToArray(files, f);
        }
        sqlite3_reset(st);
    }
    if (step == SQLITE_DONE && (st = store_stmt(hm->store, state_boxes_sql)) != NULL) {
        sqlite3_bind_int64(st, 1, now);
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            cJSON *p = principal_entry(principals, col(st, 0));
            cJSON *b = cJSON_CreateObject(), *labels;

            cJSON_AddStringToObject(b, "id", col(st, 1));
            cJSON_AddStringToObject(b, "state", col(st, 2));
            cJSON_AddNumberToObject(b, "cpus", (double)sqlite3_column_int64(st, 3));
            cJSON_AddNumberToObject(b, "memory_mib", (double)sqlite3_column_int64(st, 4));
            cJSON_AddNumberToObject(b, "disk_gib", (double)sqlite3_column_int64(st, 5));
            if (sqlite3_column_type(st, 6) == SQLITE_NULL)
                cJSON_AddNullToObject(b, "snapshot_id");
            else
                cJSON_AddStringToObject(b, "snapshot_id", col(st, 6));
            cJSON_AddStringToObject(b, "access_type", col(st, 7));
            labels = cJSON_Parse(col(st, 8));
            if (!cJSON_IsObject(labels)) {
                cJSON_Delete(labels);
                labels = cJSON_CreateObject();
            }
            cJSON_AddItemToObject(b, "labels", labels);
            add_time(b, "created_at", sqlite3_column_int64(st, 9));
            add_time(b, "updated_at", sqlite3_column_int64(st, 10));
            cJSON_AddItemToObject(b, "files", owner_files(by_owner, col(st, 1)));
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(p, "hogboxes"), b);
        }
        sqlite3_reset(st);
    }
    if (step == SQLITE_DONE && (st = store_stmt(hm->store, state_snaps_sql)) != NULL) {
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            cJSON *p = principal_entry(principals, col(st, 0));
            cJSON *s = cJSON_CreateObject();

            cJSON_AddStringToObject(s, "id", col(st, 1));
            cJSON_AddStringToObject(s, "hogbox_id", col(st, 2));
            cJSON_AddNumberToObject(s, "size_bytes", (double)sqlite3_column_int64(st, 3));
            add_time(s, "created_at", sqlite3_column_int64(st, 4));
            cJSON_AddItemToObject(s, "files", owner_files(by_owner, col(st, 1)));
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(p, "snapshots"), s);
        }
        sqlite3_reset(st);
    }
    if (step != SQLITE_DONE || !st) {
        db_error(r, db, "reading the state");
        store_unlock(hm->store);
        cJSON_Delete(o);
        cJSON_Delete(by_owner);
        return;
    }
    store_unlock(hm->store);
    cJSON_Delete(by_owner);

    cJSON_AddItemToObject(o, "tokens", auth_list_tokens(hm->auth));
    list = programs_list(hm->programs);
    cJSON_AddNumberToObject(o, "programs", cJSON_GetArraySize(list));
    cJSON_Delete(list);
    list = services_list(hm->services);
    cJSON_AddNumberToObject(o, "services", cJSON_GetArraySize(list));
    cJSON_Delete(list);
    req_json(r, 200, o);
}

/* ---- tokens ----------------------------------------------------------------------- */

static void admin_add_token(struct req *r)
{
    struct hogmock *hm = r->hm;
    const char *token = member_str(r->json, "token");
    const char *principal = member_str(r->json, "principal_id");
    struct buf err = BUF_INIT;
    char fp[AUTH_FINGERPRINT_SIZE];
    enum rc rc;
    cJSON *o;

    if (!auth_token_well_formed(token)) {
        /* Never quote the token back, not even a bad one. */
        admin_invalid_body(r, "the token is not valid",
                     "/token: must be \"tok_\" followed by 1 to 200 of A-Z a-z 0-9 _ -");
        return;
    }
    rc = auth_add_token(hm->auth, token, principal, member_str(r->json, "display_name"), &err);
    if (rc == RC_INVALID) {
        struct buf msg = BUF_INIT;
        const char *m = buf_cstr(&err);

        buf_addf(&msg, "/%s: %s",
                 str_startswith(m, "display_name") ? "display_name" : "principal_id", m);
        admin_invalid_body(r, "the token is not valid", buf_cstr(&msg));
        buf_release(&msg);
    } else if (rc != RC_OK) {
        req_problem(r, 500, "internal_error", "the token could not be stored");
    } else {
        auth_fingerprint(token, strlen(token), fp);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "fingerprint", fp);
        cJSON_AddStringToObject(o, "principal_id", principal);
        req_json(r, 201, o);
    }
    buf_release(&err);
}

static void admin_revoke_token(struct req *r)
{
    const char *which = req_path_str(r, "token");
    char fp[AUTH_FINGERPRINT_SIZE];
    enum rc rc;

    if (!which)
        which = "";
    rc = auth_revoke(r->hm->auth, which);
    if (rc == RC_OK) {
        req_empty(r, 204);
    } else if (rc == RC_NOT_FOUND) {
        if (str_startswith(which, "fp_") && strlen(which) < AUTH_FINGERPRINT_SIZE) {
            req_problem(r, 404, "not_found", "no token has the fingerprint %s", which);
        } else {
            auth_fingerprint(which, strlen(which), fp);
            req_problem(r, 404, "not_found", "no such token (its fingerprint would be %s)", fp);
        }
    } else {
        req_problem(r, 500, "internal_error", "the token could not be revoked");
    }
}

/* ---- journal ---------------------------------------------------------------------- */

static void admin_journal(struct req *r)
{
    size_t total = 0;
    cJSON *items = journal_query(r->hm->journal, r->query_params, &total);

    admin_answer_page(r, items, total);
}

static void admin_journal_count(struct req *r)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "count", (double)journal_count(r->hm->journal, r->query_params));
    req_json(r, 200, o);
}

static void admin_journal_verify(struct req *r)
{
    struct buf err = BUF_INIT;
    cJSON *answer = NULL;

    if (verify_run(r->hm->journal, r->json, vclock_is_virtual(r->hm->clock), &answer, &err)
        != RC_OK)
        admin_invalid_body(r, "a check cannot be run", buf_cstr(&err));
    else
        req_json(r, 200, answer);
    buf_release(&err);
}

/* ---- clock ------------------------------------------------------------------------ */

static void answer_clock(struct req *r)
{
    struct vclock *c = r->hm->clock;
    uint64_t now = vclock_now_ms(c);
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "now_ms", (double)now);
    add_time(o, "now", (int64_t)now);
    cJSON_AddBoolToObject(o, "virtual", vclock_is_virtual(c));
    req_json(r, 200, o);
}

static bool clock_movable(struct req *r)
{
    if (vclock_is_virtual(r->hm->clock))
        return true;
    req_problem(r, 409, "invalid_state",
                "the clock is real and cannot be moved; start hogmock with --clock virtual");
    return false;
}

static void admin_clock(struct req *r)
{
    answer_clock(r);
}

static void admin_clock_advance(struct req *r)
{
    const cJSON *ms = member(r->json, "ms");

    if (!clock_movable(r))
        return;
    if (!cJSON_IsNumber(ms) || ms->valuedouble < 0) {
        admin_invalid_body(r, "the clock cannot move that way", "/ms: must be a whole number >= 0");
        return;
    }
    vclock_advance(r->hm->clock, (uint64_t)ms->valuedouble);
    answer_clock(r);
}

static int digits(const char **p, int n)
{
    int v = 0;

    while (n--) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (*(*p)++ - '0');
    }
    return v;
}

/* RFC 3339 date-time -> Unix milliseconds (fractions past milliseconds dropped). */
static bool parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    int y, mo, d, h, mi, sec, ms = 0, off = 0;
    int64_t t;

    if ((y = digits(&s, 4)) < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 1 || mo > 12
        || *s++ != '-' || (d = digits(&s, 2)) < 1 || d > 31 || (*s != 'T' && *s != 't')
        || (++s, (h = digits(&s, 2)) < 0) || h > 23 || *s++ != ':'
        || (mi = digits(&s, 2)) < 0 || mi > 59 || *s++ != ':' || (sec = digits(&s, 2)) < 0
        || sec > 60)
        return false;
    if (*s == '.') {
        int scale = 100, n = 0;

        s++;
        while (*s >= '0' && *s <= '9') {
            ms += (*s - '0') * scale;
            scale /= 10;
            s++;
            n++;
        }
        if (!n)
            return false;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om;

        if ((oh = digits(&s, 2)) < 0 || oh > 23 || *s++ != ':' || (om = digits(&s, 2)) < 0
            || om > 59)
            return false;
        off = sign * (oh * 60 + om);
    } else {
        return false;
    }
    if (*s)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec > 59 ? 59 : sec;
    t = (int64_t)timegm(&tm);
    if (t < 0)
        return false;
    *out = (t - (int64_t)off * 60) * 1000 + ms;
    return *out >= 0;
}

static void admin_clock_set(struct req *r)
{
    const cJSON *now_ms = member(r->json, "now_ms");
    const char *now = member_str(r->json, "now");
    uint64_t cur;
    int64_t want;

    if (!clock_movable(r))
        return;
    if (cJSON_IsNumber(now_ms) && !now) {
        want = (int64_t)now_ms->valuedouble;
    } else if (now && !now_ms) {
        if (!parse_rfc3339(now, &want)) {
            admin_invalid_body(r, "the time is not valid", "/now: must be an RFC 3339 date-time, as "
                         "2027-01-01T00:00:00Z");
            return;
        }
    } else {
        admin_invalid_body(r, "the time is not valid", "give exactly one of now_ms and now");
        return;
    }
    cur = vclock_now_ms(r->hm->clock);
    if (want < 0 || !vclock_set(r->hm->clock, (uint64_t)want)) {
        char a[40], b[40];

        vclock_format(cur, a, sizeof(a));
        vclock_format(want < 0 ? 0 : (uint64_t)want, b, sizeof(b));
        req_problem(r, 409, "invalid_state",
                    "the clock never moves backwards: it is at %s, %s is earlier", a, b);
        return;
    }
    answer_clock(r);
}

/* ---- exec programs ---------------------------------------------------------------- */

static void admin_list_programs(struct req *r)
{
    admin_answer_items(r, programs_list(r->hm->programs));
}

static void admin_add_program(struct req *r)
{
    struct buf err = BUF_INIT;
    char *id = NULL;
    cJSON *o;

    if (programs_add(r->hm->programs, r->json, &id, &err) != RC_OK) {
        admin_invalid_body(r, "the program definition is not valid", buf_cstr(&err));
        buf_release(&err);
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    free(id);
    req_json(r, 201, o);
}

static void admin_delete_program(struct req *r)
{
    const char *id = req_path_str(r, "id");

    if (id && programs_delete(r->hm->programs, id) == RC_OK)
        req_empty(r, 204);
    else
        req_problem(r, 404, "not_found", "no program '%.64s'", id ? id : "");
}

static void admin_clear_programs(struct req *r)
{
    programs_clear(r->hm->programs);
    req_empty(r, 204);
}

/* ---- services --------------------------------------------------------------------- */

static void admin_list_services(struct req *r)
{
    admin_answer_items(r, services_list(r->hm->services));
}

static void admin_set_service(struct req *r)
{
    struct hogmock *hm = r->hm;
    struct buf err = BUF_INIT;
    const char *box = member_str(r->json, "box"), *path = member_str(r->json, "path");
    const cJSON *port = member(r->json, "port");
    cJSON *list, *d, *found = NULL;

    if (services_set(hm->services, r->json, vclock_now_ms(hm->clock), &err) != RC_OK) {
        admin_invalid_body(r, "the service definition is not valid", buf_cstr(&err));
        buf_release(&err);
        return;
    }
    /* Answer with the stored, normalised definition. */
    list = services_list(hm->services);
    cJSON_ArrayForEach(d, list) {
        if (strcmp(member_str(d, "box"), box) == 0
            && member(d, "port")->valueint == port->valueint
            && strcmp(member_str(d, "path"), path ? path : "/") == 0)
            found = d;
    }
    if (found) {
        req_json(r, 200, cJSON_DetachItemViaPointer(list, found));
    } else {
        req_problem(r, 500, "internal_error", "the service was set but cannot be found");
    }
    cJSON_Delete(list);
}

static void admin_clear_services(struct req *r)
{
    services_clear(r->hm->services);
    req_empty(r, 204);
}

const struct route admin_routes[] = {
    { "adminHealth", admin_health },
    { "adminReset", admin_reset },
    { "adminState", admin_state },
    { "adminAddToken", admin_add_token },
    { "adminRevokeToken", admin_revoke_token },
    { "adminJournal", admin_journal },
    { "adminJournalCount", admin_journal_count },
    { "adminJournalVerify", admin_journal_verify },
    { "adminClock", admin_clock },
    { "adminClockAdvance", admin_clock_advance },
    { "adminClockSet", admin_clock_set },
    { "adminListPrograms", admin_list_programs },
    { "adminAddProgram", admin_add_program },
    { "adminDeleteProgram", admin_delete_program },
    { "adminClearPrograms", admin_clear_programs },
    { "adminListServices", admin_list_services },
    { "adminSetService", admin_set_service },
    { "adminClearServices", admin_clear_services },
    { NULL, NULL },
};
