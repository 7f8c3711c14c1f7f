#include "scenario.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonptr.h"
#include "match.h"
#include "xmalloc.h"
#include "yamljson.h"
#include "yamlpos.h"

#define MAX_FILES 10000
#define MAX_DIR_DEPTH 16
#define MAX_FILE_BYTES (4 << 20)

static const struct {
    const char *op, *feature;
} ops[] = {
    { "configure", NULL }, { "me", NULL }, { "limits", NULL }, { "create", NULL },
    { "get", NULL }, { "list", NULL }, { "list_all", NULL }, { "exec", NULL },
    { "pause", NULL }, { "resume", NULL }, { "destroy", NULL },
    { "exec_stream", "exec_stream" }, { "write_file", "files" }, { "read_file", "files" },
    { "snapshot", "snapshots" }, { "list_snapshots", "snapshots" },
    { "get_snapshot", "snapshots" }, { "delete_snapshot", "snapshots" },
    { "proxy_url", "proxy" }, { "proxy_request", "proxy" },
};

static const char *const features[] = {
    "exec_stream", "files", "snapshots", "proxy", "token_file", "idempotency_key", "concurrent",
};

static const char *const auths[] = { "api_token", "token_file", "k8s_sa", "github_oidc", "none" };

/* Names the runner sets; a step may not save over them. */
static const char *const reserved[] = { "principal", "token", "run_id", "issuer", "host" };

/* Admin paths whose changes every principal sees: such scenarios get a hogmock of their own. */
static const char *const shared_paths[] = {
    "/__hogmock/clock", "/__hogmock/exec-programs", "/__hogmock/services",
    "/__hogmock/issuers", "/__hogmock/trust", "/__hogmock/reset",
    /* Not shared, but credentials made or revoked here may be refused: such requests
     * have no principal, and only a scenario with a hogmock of its own can tell them
     * its own. */
    "/__hogmock/tokens", "/__hogmock/mint",
};

const char *scenario_op_feature(const char *op, bool *known)
{
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(ops[i].op, op) == 0) {
            *known = true;
            return ops[i].feature;
        }
    }
    *known = false;
    return NULL;
}

bool scenario_glob(const char *pattern, const char *id)
{
    return fnmatch(pattern, id, 0) == 0;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}
#define IN(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

/* One file being checked. */
struct loader {
    const char *path;
    const char *text;
    size_t len;
    struct buf *err;
    unsigned problems;
};

static void problem(struct loader *ld, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct loader *ld, const char *ptr, const char *fmt, ...)
{
    size_t line = 0, col = 0;
    va_list ap;

    if (ld->problems++ > 20)
        return;
    if (yamlpos_find(ld->text, ld->len, ptr, &line, &col))
        buf_addf(ld->err, "%s:%zu:%zu: ", ld->path, line, col);
    else
        buf_addf(ld->err, "%s: ", ld->path);
    buf_addf(ld->err, "%s: ", *ptr ? ptr : "/");
    va_start(ap, fmt);
    {
        char msg[512];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        buf_addstr(ld->err, msg);
    }
    va_end(ap);
    buf_addch(ld->err, '\n');
}

/* A matcher problem comes as "POINTER: what"; place it at its pointer. */
static void matcher_problem(struct loader *ld, const struct buf *msg)
{
    const char *s = buf_cstr(msg);
    const char *colon = strstr(s, ": ");
    char *ptr = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup("");

    problem(ld, strcmp(ptr, "/") == 0 ? "" : ptr, "%s", colon ? colon + 2 : s);
    free(ptr);
}

static void ptr_of(struct buf *out, const char *base, const char *member)
{
    buf_reset(out);
    buf_addstr(out, base);
    jsonptr_append(out, member);
}

/* Members of obj must be among allowed. */
static void only_members(struct loader *ld, const cJSON *obj, const char *at,
                         const char *const *allowed, size_t n)
{
    const cJSON *c;
    struct buf p = BUF_INIT;

    for (c = obj->child; c; c = c->next) {
        if (!in_list(c->string, allowed, n)) {
            struct buf list = BUF_INIT;
            size_t i;

            for (i = 0; i < n; i++)
                buf_addf(&list, "%s%s", i ? ", " : "", allowed[i]);
            ptr_of(&p, at, c->string);
            problem(ld, buf_cstr(&p), "unknown member '%s' (known: %s)", c->string,
                    buf_cstr(&list));
            buf_release(&list);
        }
    }
    buf_release(&p);
}
#define ONLY(ld, obj, at, list) only_members((ld), (obj), (at), (list), sizeof(list) / sizeof((list)[0]))

static bool is_int(const cJSON *v, double min)
{
    return cJSON_IsNumber(v) && v->valuedouble >= min && v->valuedouble <= 9007199254740991.0
           && (double)(long long)v->valuedouble == v->valuedouble;
}

static void check_matcher(struct loader *ld, const cJSON *m, const char *at)
{
    struct buf msg = BUF_INIT;

    if (match_validate(m, at, &msg) != RC_OK)
        matcher_problem(ld, &msg);
    buf_release(&msg);
}

static void check_expect(struct loader *ld, const cJSON *expect, const char *op, const char *at)
{
    static const char *const members[] = { "value", "error", "events", "stdout", "stderr", "exit_code",
                                           "first_event_ms" };
    static const char *const error_members[] = { "type", "status_code", "body", "retry_after", "message" };
    const cJSON *c, *err = cJSON_GetObjectItemCaseSensitive(expect, "error");
    struct buf p = BUF_INIT;
    bool stream = strcmp(op, "exec_stream") == 0;

    if (!cJSON_IsObject(expect)) {
        problem(ld, at, "expect must be an object");
        return;
    }
    ONLY(ld, expect, at, members);
    if (err && cJSON_GetObjectItemCaseSensitive(expect, "value")) {
        ptr_of(&p, at, "error");
        problem(ld, buf_cstr(&p), "expect takes value or error, not both");
    }
    for (c = expect->child; c; c = c->next) {
        ptr_of(&p, at, c->string);
        if (!stream && (strcmp(c->string, "events") == 0 || strcmp(c->string, "stdout") == 0
                        || strcmp(c->string, "stderr") == 0 || strcmp(c->string, "exit_code") == 0
                        || strcmp(c->string, "first_event_ms") == 0))
            problem(ld, buf_cstr(&p), "'%s' is for exec_stream steps only", c->string);
        if (strcmp(c->string, "error") == 0) {
            if (!cJSON_IsObject(c)) {
                problem(ld, buf_cstr(&p), "error must be an object");
                continue;
            }
            ONLY(ld, c, buf_cstr(&p), error_members);
        }
        check_matcher(ld, c, buf_cstr(&p));
    }
    buf_release(&p);
}

/* Features the step needs beyond its op's (an argument that only some adapters take). */
static void add_feature(cJSON *requires, const char *f)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, requires)
        if (strcmp(c->valuestring, f) == 0)
            return;
    cJSON_AddItemToArray(requires, cJSON_CreateString(f));
}

static void check_step(struct loader *ld, struct scenario *sc, const cJSON *step, const char *at)
{
    static const char *const op_members[] = { "op", "args", "save", "deadline_ms", "expect" };
    static const char *const admin_members[] = { "admin", "save" };
    static const char *const file_members[] = { "write_token_file" };
    const cJSON *wtf = cJSON_GetObjectItemCaseSensitive(step, "write_token_file");
    static const char *const admin_call[] = { "method", "path", "body" };
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(step, "op");
    const cJSON *admin = cJSON_GetObjectItemCaseSensitive(step, "admin");
    const cJSON *save = cJSON_GetObjectItemCaseSensitive(step, "save");
    struct buf p = BUF_INIT;

    if (!cJSON_IsObject(step)) {
        problem(ld, at, "a step must be an object with op or admin");
        return;
    }
    if (save) {
        ptr_of(&p, at, "save");
        if (!cJSON_IsString(save) || !*save->valuestring
            || strspn(save->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
               != strlen(save->valuestring))
            problem(ld, buf_cstr(&p), "save takes a name of letters, digits and _");
        else if (IN(save->valuestring, reserved))
            problem(ld, buf_cstr(&p), "'%s' is set by the runner; save under another name",
                    save->valuestring);
    }
    if (wtf) {
        ONLY(ld, step, at, file_members);
        ptr_of(&p, at, "write_token_file");
        if (!cJSON_IsString(wtf))
            problem(ld, buf_cstr(&p), "write_token_file takes the new credential (a string)");
        else if (!sc->token_file)
            problem(ld, buf_cstr(&p), "write_token_file needs auth token_file (or auth {file: true})");
        buf_release(&p);
        return;
    }
    if (admin) {
        const cJSON *method = cJSON_GetObjectItemCaseSensitive(admin, "method");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(admin, "path");
        size_t i;

        ONLY(ld, step, at, admin_members);
        ptr_of(&p, at, "admin");
        if (!cJSON_IsObject(admin)) {
            problem(ld, buf_cstr(&p), "admin must be an object {method, path, body}");
        } else {
            ONLY(ld, admin, buf_cstr(&p), admin_call);
            if (!cJSON_IsString(method) || (strcmp(method->valuestring, "GET") != 0
                && strcmp(method->valuestring, "POST") != 0 && strcmp(method->valuestring, "PUT") != 0
                && strcmp(method->valuestring, "DELETE") != 0))
                problem(ld, buf_cstr(&p), "admin needs method GET, POST, PUT or DELETE");
            if (!cJSON_IsString(path) || !str_startswith(path->valuestring, "/__hogmock/"))
                problem(ld, buf_cstr(&p), "admin needs a path under /__hogmock/");
            else
                for (i = 0; i < sizeof(shared_paths) / sizeof(shared_paths[0]); i++)
                    if (str_startswith(path->valuestring, shared_paths[i]))
                        sc->exclusive = true;
        }
        buf_release(&p);
        return;
    }
    ONLY(ld, step, at, op_members);
    ptr_of(&p, at, "op");
    if (!cJSON_IsString(op)) {
        problem(ld, cJSON_IsObject(step) && op ? buf_cstr(&p) : at,
                "a step needs op (an adapter operation) or admin");
    } else {
        bool known;
        const char *f = scenario_op_feature(op->valuestring, &known);
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(step, "args");
        const cJSON *dl = cJSON_GetObjectItemCaseSensitive(step, "deadline_ms");
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");

        if (!known)
            problem(ld, buf_cstr(&p), "unknown op '%s' (see harness/PROTOCOL.md section 11)",
                    op->valuestring);
        if (f)
            add_feature(sc->requires, f);
        if (args && !cJSON_IsObject(args)) {
            ptr_of(&p, at, "args");
            problem(ld, buf_cstr(&p), "args must be an object");
        }
        if (cJSON_GetObjectItemCaseSensitive(args, "idempotency_key"))
            add_feature(sc->requires, "idempotency_key");
        if (strcmp(op->valuestring, "configure") == 0
            && cJSON_GetObjectItemCaseSensitive(args, "token_file"))
            add_feature(sc->requires, "token_file");
        /* Another credential may be refused, or name another principal. */
        if (strcmp(op->valuestring, "configure") == 0
            && (cJSON_GetObjectItemCaseSensitive(args, "token_file")
                || cJSON_GetObjectItemCaseSensitive(args, "token")))
            sc->exclusive = true;
        if (dl && !is_int(dl, 1)) {
            ptr_of(&p, at, "deadline_ms");
            problem(ld, buf_cstr(&p), "deadline_ms must be a positive integer");
        }
        if (expect) {
            ptr_of(&p, at, "expect");
            check_expect(ld, expect, op->valuestring, buf_cstr(&p));
        }
    }
    buf_release(&p);
}

static void check_setup(struct loader *ld, struct scenario *sc, const cJSON *setup)
{
    static const char *const members[] = { "clock", "programs", "services", "faults", "issuers", "trust" };
    const cJSON *c;
    struct buf p = BUF_INIT;

    if (!cJSON_IsObject(setup)) {
        problem(ld, "/setup", "setup must be an object");
        return;
    }
    ONLY(ld, setup, "/setup", members);
    for (c = setup->child; c; c = c->next) {
        ptr_of(&p, "/setup", c->string);
        if (strcmp(c->string, "clock") == 0) {
            const cJSON *adv = cJSON_GetObjectItemCaseSensitive(c, "advance_ms");
            const cJSON *set = cJSON_GetObjectItemCaseSensitive(c, "set_ms");

            sc->exclusive = true;
            if (!cJSON_IsObject(c) || cJSON_GetArraySize(c) != 1 || (!adv && !set)
                || !is_int(adv ? adv : set, 0))
                problem(ld, buf_cstr(&p), "clock takes {advance_ms: N} or {set_ms: N}");
        } else if (!cJSON_IsArray(c)) {
            problem(ld, buf_cstr(&p), "%s must be a list of admin API bodies", c->string);
        } else {
            const cJSON *item;
            size_t i = 0;

            if (strcmp(c->string, "faults") != 0)
                sc->exclusive = true;
            cJSON_ArrayForEach(item, c) {
                if (!cJSON_IsObject(item)) {
                    jsonptr_append_index(&p, i);
                    problem(ld, buf_cstr(&p), "each of %s must be an object", c->string);
                    break;
                }
                i++;
            }
        }
    }
    buf_release(&p);
}

/* Whether a matcher (or any nested) names a 401 or 403. */
static bool names_refusal(const cJSON *j)
{
    const cJSON *c;

    if (cJSON_IsObject(j)) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");

        if (cJSON_IsNumber(st) && (st->valueint == 401 || st->valueint == 403))
            return true;
    }
    for (c = j ? j->child : NULL; c; c = c->next)
        if (names_refusal(c))
            return true;
    return false;
}

static void check_wire(struct loader *ld, struct scenario *sc, const cJSON *wire)
{
    static const char *const kinds[] = { "count", "order", "gaps", "unmatched" };
    const cJSON *c;
    struct buf p = BUF_INIT;
    size_t i = 0;

    if (!cJSON_IsArray(wire)) {
        problem(ld, "/wire", "wire must be a list of journal checks");
        return;
    }
    cJSON_ArrayForEach(c, wire) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(c, "kind");

        buf_reset(&p);
        buf_addstr(&p, "/wire");
        jsonptr_append_index(&p, i++);
        if (!cJSON_IsObject(c) || !cJSON_IsString(kind) || !IN(kind->valuestring, kinds))
            problem(ld, buf_cstr(&p), "a wire check needs kind count, order, gaps or unmatched");
    }
    if (names_refusal(wire))
        sc->exclusive = true;
    buf_release(&p);
}

/* auth: a kind, or {kind, mint, file}. */
static void check_auth(struct loader *ld, struct scenario *sc, const cJSON *auth)
{
    static const char *const members[] = { "kind", "mint", "file" };
    const cJSON *kind = cJSON_IsObject(auth) ? cJSON_GetObjectItemCaseSensitive(auth, "kind") : auth;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(auth, "file");

    if (cJSON_IsObject(auth)) {
        ONLY(ld, auth, "/auth", members);
        sc->mint = cJSON_GetObjectItemCaseSensitive(auth, "mint");
    }
    if (auth && (!cJSON_IsString(kind) || !IN(kind->valuestring, auths))) {
        problem(ld, cJSON_IsObject(auth) ? "/auth/kind" : "/auth",
                "auth takes api_token, token_file, k8s_sa, github_oidc or none (or {kind, mint, file})");
        kind = NULL;
    }
    sc->auth = xstrdup(cJSON_IsString(kind) ? kind->valuestring : "api_token");
    if (file && !cJSON_IsBool(file))
        problem(ld, "/auth/file", "file takes true or false");
    sc->token_file = strcmp(sc->auth, "token_file") == 0 || cJSON_IsTrue(file);
    if (sc->token_file)
        add_feature(sc->requires, "token_file");
    if (sc->mint && (!cJSON_IsObject(sc->mint) || cJSON_GetObjectItemCaseSensitive(sc->mint, "issuer")))
        problem(ld, "/auth/mint", "mint takes the members of POST /__hogmock/mint but issuer "
                "(the auth kind chooses it)");
    if (sc->mint && strcmp(sc->auth, "k8s_sa") != 0 && strcmp(sc->auth, "github_oidc") != 0)
        problem(ld, "/auth/mint", "mint is for auth kinds k8s_sa and github_oidc");
    if (cJSON_IsTrue(file) && strcmp(sc->auth, "none") == 0)
        problem(ld, "/auth/file", "auth none has no credential to put in a file");
    /* Refused credentials leave requests without a principal: told apart only on a
     * hogmock of its own. */
    if (strcmp(sc->auth, "k8s_sa") == 0 || strcmp(sc->auth, "github_oidc") == 0
        || strcmp(sc->auth, "none") == 0)
        sc->exclusive = true;
}

static void check_doc(struct loader *ld, struct scenario *sc, const char *want_id)
{
    static const char *const members[] = { "id", "title", "targets", "requires", "auth", "setup",
                                           "steps", "wire" };
    const cJSON *doc = sc->doc, *c;
    const cJSON *id, *title, *targets, *requires, *auth;
    struct buf p = BUF_INIT;
    size_t i = 0;
    bool mock_only = false;

    if (!cJSON_IsObject(doc)) {
        problem(ld, "", "a scenario is a mapping (id, title, steps, ...)");
        return;
    }
    ONLY(ld, doc, "", members);
    id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    if (!cJSON_IsString(id))
        problem(ld, "", "a scenario needs an id, '%s'", want_id);
    else if (strcmp(id->valuestring, want_id) != 0)
        problem(ld, "/id", "the id '%s' is not the file's path, '%s'", id->valuestring, want_id);
    sc->id = xstrdup(want_id);
    sc->suite = xstrndup(want_id, strcspn(want_id, "/"));
    title = cJSON_GetObjectItemCaseSensitive(doc, "title");
    if (title && !cJSON_IsString(title))
        problem(ld, "/title", "title must be a string");
    sc->title = xstrdup(cJSON_IsString(title) ? title->valuestring : want_id);

    auth = cJSON_GetObjectItemCaseSensitive(doc, "auth");
    check_auth(ld, sc, auth);
    requires = cJSON_GetObjectItemCaseSensitive(doc, "requires");
    if (requires && !cJSON_IsArray(requires))
        problem(ld, "/requires", "requires must be a list of adapter features");
    cJSON_ArrayForEach(c, requires) {
        buf_reset(&p);
        buf_addstr(&p, "/requires");
        jsonptr_append_index(&p, i++);
        if (!cJSON_IsString(c) || !IN(c->valuestring, features))
            problem(ld, buf_cstr(&p), "unknown feature (known: exec_stream, files, snapshots, "
                    "proxy, token_file, idempotency_key, concurrent)");
        else
            add_feature(sc->requires, c->valuestring);
    }

    sc->setup = cJSON_GetObjectItemCaseSensitive(doc, "setup");
    if (sc->setup) {
        check_setup(ld, sc, sc->setup);
        mock_only = true;
    }
    sc->steps = cJSON_GetObjectItemCaseSensitive(doc, "steps");
    if (!cJSON_IsArray(sc->steps) || !sc->steps->child) {
        problem(ld, sc->steps ? "/steps" : "", "a scenario needs a non-empty list of steps");
    } else {
        i = 0;
        cJSON_ArrayForEach(c, sc->steps) {
            buf_reset(&p);
            buf_addstr(&p, "/steps");
            jsonptr_append_index(&p, i++);
            check_step(ld, sc, c, buf_cstr(&p));
            if (cJSON_GetObjectItemCaseSensitive(c, "admin"))
                mock_only = true;
        }
    }
    sc->wire = cJSON_GetObjectItemCaseSensitive(doc, "wire");
    if (sc->wire)
        check_wire(ld, sc, sc->wire);

    targets = cJSON_GetObjectItemCaseSensitive(doc, "targets");
    if (!targets) {
        sc->targets = mock_only ? TARGET_MOCK : TARGET_MOCK | TARGET_REAL;
    } else if (!cJSON_IsArray(targets) || !targets->child) {
        problem(ld, "/targets", "targets must be a non-empty list of mock and real");
    } else {
        i = 0;
        cJSON_ArrayForEach(c, targets) {
            buf_reset(&p);
            buf_addstr(&p, "/targets");
            jsonptr_append_index(&p, i++);
            if (cJSON_IsString(c) && strcmp(c->valuestring, "mock") == 0)
                sc->targets |= TARGET_MOCK;
            else if (cJSON_IsString(c) && strcmp(c->valuestring, "real") == 0)
                sc->targets |= TARGET_REAL;
            else
                problem(ld, buf_cstr(&p), "a target is mock or real");
        }
        if ((sc->targets & TARGET_REAL) && mock_only)
            problem(ld, "/targets", "setup and admin steps need hogmock: the target real cannot run them");
    }
    buf_release(&p);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void scenario_release(struct scenario *sc)
{
    free(sc->id);
    free(sc->suite);
    free(sc->title);
    free(sc->path);
    free(sc->auth);
    free(sc->load_error);
    cJSON_Delete(sc->requires);
    cJSON_Delete(sc->doc);
    memset(sc, 0, sizeof(*sc));
}

/* Load one file, or mem (mem_len bytes) as that file when mem is not NULL; its id is rel
 * without the extension. */
static enum rc load_file(const char *path, const char *rel, const char *mem, size_t mem_len,
                         struct scenario_set *set, struct buf *err)
{
    struct buf text = BUF_INIT, why = BUF_INIT;
    struct scenario sc;
    struct buf mine = BUF_INIT;     /* this file's problems */
    struct loader ld = { path, NULL, 0, &mine, 0 };
    char *id = xstrndup(rel, strlen(rel) - (str_endswith(rel, ".yml") ? 4 : 5));
    FILE *f = mem ? NULL : fopen(path, "rb");
    enum rc rc = RC_OK;
    char chunk[8192];
    size_t n;

    memset(&sc, 0, sizeof(sc));
    sc.path = xstrdup(path);
    sc.requires = cJSON_CreateArray();
    if (mem) {
        buf_add(&text, mem, mem_len);
    } else if (!f) {
        buf_addf(&mine, "%s: unable to open: %s\n", path, strerror(errno));
        rc = RC_IO;
        goto out;
    } else {
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && text.len <= MAX_FILE_BYTES)
            buf_add(&text, chunk, n);
        fclose(f);
    }
    if (text.len > MAX_FILE_BYTES) {
        buf_addf(&mine, "%s: over %d bytes\n", path, MAX_FILE_BYTES);
        rc = RC_TOO_LARGE;
        goto out;
    }
    rc = yamljson_parse(text.data, text.len, path, &sc.doc, &why);
    if (rc != RC_OK) {
        buf_addf(&mine, "%s\n", buf_cstr(&why));
        goto out;
    }
    if (!strchr(id, '/')) {
        buf_addf(&mine, "%s: a scenario lives in a suite directory: <suite>/<name>.yaml\n", path);
        rc = RC_INVALID;
        goto out;
    }
    ld.text = text.data;
    ld.len = text.len;
    check_doc(&ld, &sc, id);
    if (ld.problems)
        rc = RC_INVALID;
out:
    if (rc != RC_OK) {
        /* Kept as a scenario that cannot run, so the run reports it. */
        struct scenario broken;

        memset(&broken, 0, sizeof(broken));
        broken.id = id;
        id = NULL;
        broken.suite = xstrndup(broken.id, strcspn(broken.id, "/"));
        broken.title = xstrdup(broken.id);
        broken.path = sc.path;
        sc.path = NULL;
        broken.auth = xstrdup("api_token");
        broken.requires = cJSON_CreateArray();
        broken.load_error = xstrdup(buf_cstr(&mine));
        broken.hash = fnv1a(broken.id);
        buf_addstr(err, buf_cstr(&mine));
        set->items = xrealloc(set->items, (set->n + 1) * sizeof(*set->items));
        set->items[set->n++] = broken;
    } else {
        sc.hash = fnv1a(sc.id);
        set->items = xrealloc(set->items, (set->n + 1) * sizeof(*set->items));
        set->items[set->n++] = sc;
        memset(&sc, 0, sizeof(sc));
    }
    scenario_release(&sc);
    buf_release(&text);
    buf_release(&why);
    buf_release(&mine);
    free(id);
    return rc;
}

static enum rc walk(const char *dir, const char *rel, int depth, struct scenario_set *set,
                    struct buf *err, size_t *files)
{
    DIR *d;
    struct dirent *e;
    enum rc first = RC_OK;

    if (depth > MAX_DIR_DEPTH)
        return RC_OK;
    d = opendir(dir);
    if (!d) {
        buf_addf(err, "%s: unable to open the directory: %s\n", dir, strerror(errno));
        return errno == ENOENT ? RC_NOT_FOUND : RC_IO;
    }
    while ((e = readdir(d)) != NULL && *files < MAX_FILES) {
        struct buf path = BUF_INIT, r = BUF_INIT;
        struct stat st;
        enum rc rc = RC_OK;

        if (e->d_name[0] == '.')
            continue;
        buf_addf(&path, "%s/%s", dir, e->d_name);
        buf_addf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (stat(buf_cstr(&path), &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = walk(buf_cstr(&path), buf_cstr(&r), depth + 1, set, err, files);
        } else if (str_endswith(e->d_name, ".yaml") || str_endswith(e->d_name, ".yml")) {
            (*files)++;
            rc = load_file(buf_cstr(&path), buf_cstr(&r), NULL, 0, set, err);
        }
        if (rc != RC_OK && first == RC_OK)
            first = rc;
        buf_release(&path);
        buf_release(&r);
    }
    closedir(d);
    return first;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct scenario *)a)->id, ((const struct scenario *)b)->id);
}

enum rc scenario_load_dir(const char *dir, struct scenario_set *set, struct buf *err)
{
    size_t files = 0;
    enum rc rc = walk(dir, "", 0, set, err, &files);

    if (set->n)
        qsort(set->items, set->n, sizeof(*set->items), by_id);
    return rc;
}

enum rc scenario_load_text(const char *path, const char *rel, const char *text, size_t len,
                           struct scenario_set *set, struct buf *err)
{
    return load_file(path, rel, text ? text : "", len, set, err);
}

void scenario_set_release(struct scenario_set *set)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        scenario_release(&set->items[i]);
    free(set->items);
    set->items = NULL;
    set->n = 0;
}
