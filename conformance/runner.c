#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "adapter.h"
#include "child.h"
#include "jose.h"
#include "jsonptr.h"
#include "match.h"
#include "mockapi.h"
#include "mockproc.h"
#include "subst.h"
#include "xmalloc.h"

#define DEFAULT_DEADLINE_MS 10000
#define JOURNAL_LIMIT 1000
#define MAX_JOBS 64
#define LOG_MAX_BYTES (4 << 20)
#define SWEEP_PAGES 1000        /* of 100 boxes, when listing what a run left */
#define SWEEP_ROUNDS 3

extern char **environ;

/* What every job shares. */
struct shared {
    struct run *run;
    const struct scenario *const *sel;
    struct result *results;
    size_t n, next;
    pthread_mutex_t lock;       /* next, and on_result */
    const char *real_token;     /* real: the credential, read once */
    char *real_principal;
};

/* One scenario in progress. */
struct ctx {
    struct shared *sh;
    struct result *r;
    const struct scenario *sc;
    char dir[512];              /* its work directory */
    const char *mock_url;       /* the hogmock it talks to: the run's, or its own */
    struct mockproc own;        /* exclusive: a hogmock of its own, started for it */
    char principal[40];
    char *credential;           /* what the adapter was given */
    cJSON *vars;
    cJSON *faults;              /* ids of fault plans it added */
    cJSON *programs;            /* ids of programs it added */
    cJSON *issuers;             /* URLs of issuers it added */
    bool services, trust;       /* it set services / TrustMappings */
    long long since;            /* real or own hogmock: journal seqs after this are its */
    bool by_since;              /* its requests are told apart by seq, not by principal */
    char token_path[600];       /* its token file, when it has one */
    struct adapter ad;
    bool adapter_up;
};

const char *outcome_str(enum outcome o)
{
    static const char *const names[] = { "PASS", "FAIL", "ERROR", "SKIP" };

    return names[o];
}

void result_release(struct result *r)
{
    buf_release(&r->message);
    buf_release(&r->details);
    buf_release(&r->journal);
    buf_release(&r->transcript);
    buf_release(&r->adapter_log);
    buf_release(&r->mock_log);
    cJSON_Delete(r->journal_json);
    cJSON_Delete(r->steps);
    r->journal_json = r->steps = NULL;
}

static void slurp(const char *path, struct buf *out, size_t max)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;

    if (!f)
        return;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len < max)
        buf_add(out, chunk, n);
    fclose(f);
}

/* Remove dir and what it holds, two levels deep (all the runner makes). */
static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d) {
        while ((e = readdir(d)) != NULL) {
            struct buf p = BUF_INIT;
            struct stat st;

            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            buf_addf(&p, "%s/%s", dir, e->d_name);
            if (lstat(buf_cstr(&p), &st) == 0 && S_ISDIR(st.st_mode) && depth < 3)
                remove_tree(buf_cstr(&p), depth + 1);
            else
                unlink(buf_cstr(&p));
            buf_release(&p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The environment for an adapter: ours without HOG_HOST/HOG_TOKEN/HOG_TOKEN_FILE, then
 * those given (NULL values are left out). New; free with free_env. */
static char **make_env(const char *host, const char *token, const char *token_file)
{
    size_t n = 0, i, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = xcalloc(n + 4, sizeof(*env));
    for (i = 0; i < n; i++) {
        if (str_startswith(environ[i], "HOG_HOST=") || str_startswith(environ[i], "HOG_TOKEN=")
            || str_startswith(environ[i], "HOG_TOKEN_FILE="))
            continue;
        env[k++] = xstrdup(environ[i]);
    }
    if (host) {
        struct buf b = BUF_INIT;

        buf_addf(&b, "HOG_HOST=%s", host);
        env[k++] = buf_detach(&b, NULL);
    }
    if (token) {
        struct buf b = BUF_INIT;

        buf_addf(&b, "HOG_TOKEN=%s", token);
        env[k++] = buf_detach(&b, NULL);
    }
    if (token_file) {
        struct buf b = BUF_INIT;

        buf_addf(&b, "HOG_TOKEN_FILE=%s", token_file);
        env[k++] = buf_detach(&b, NULL);
    }
    return env;
}

static void free_env(char **env)
{
    size_t i;

    for (i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static bool has_feature(const cJSON *features, const char *f)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, features)
        if (cJSON_IsString(c) && strcmp(c->valuestring, f) == 0)
            return true;
    return false;
}

/* ---- outcomes ---- */

static void set_outcome(struct ctx *c, enum outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first verdict stands; an error outranks a failure found later only when none was
 * set before. */
static void set_outcome(struct ctx *c, enum outcome o, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];

    if (c->r->outcome != OUTCOME_PASS)
        return;
    c->r->outcome = o;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    buf_addstr(&c->r->message, msg);
}

/* ---- the admin API ---- */

static const char *url(struct ctx *c)
{
    return c->mock_url;
}

static enum rc admin(struct ctx *c, const char *method, const char *path, const cJSON *body,
                     cJSON **json, const char *what)
{
    struct buf err = BUF_INIT;
    enum rc rc = mockapi_do(url(c), method, path, body, json, &err);

    if (rc != RC_OK)
        set_outcome(c, OUTCOME_ERROR, "%s: %s", what, buf_cstr(&err));
    buf_release(&err);
    return rc;
}

/* Scope a fault plan to the scenario's principal, and give it the run's seed. */
static void scope_fault(struct ctx *c, cJSON *plan)
{
    cJSON *match = cJSON_GetObjectItemCaseSensitive(plan, "match");

    if (!match)
        match = cJSON_AddObjectToObject(plan, "match");
    if (cJSON_IsObject(match) && !cJSON_GetObjectItemCaseSensitive(match, "principal")
        && c->principal[0])
        cJSON_AddStringToObject(match, "principal", c->principal);
    if (cJSON_GetObjectItemCaseSensitive(plan, "probability")
        && !cJSON_GetObjectItemCaseSensitive(plan, "seed"))
        cJSON_AddNumberToObject(plan, "seed",
                                (double)((c->sh->run->seed ^ c->sc->hash) & 0xFFFFFFFFFFFFULL));
}

static enum rc add_fault(struct ctx *c, cJSON *plan, const char *what, cJSON **answer)
{
    cJSON *json = NULL;
    const cJSON *id;
    enum rc rc;

    scope_fault(c, plan);
    rc = admin(c, "POST", "/__hogmock/faults", plan, &json, what);
    id = cJSON_GetObjectItemCaseSensitive(json, "id");
    if (rc == RC_OK && cJSON_IsString(id))
        cJSON_AddItemToArray(c->faults, cJSON_CreateString(id->valuestring));
    if (answer)
        *answer = json;
    else
        cJSON_Delete(json);
    return rc;
}

/* Give the scenario its principal and credential, as its auth says. */
static enum rc make_principal(struct ctx *c)
{
    const struct scenario *sc = c->sc;
    struct shared *sh = c->sh;
    cJSON *body = cJSON_CreateObject(), *json = NULL;
    char token[96];
    enum rc rc = RC_OK;

    snprintf(c->principal, sizeof(c->principal), "pr_%016llx", (unsigned long long)sc->hash);
    snprintf(token, sizeof(token), "tok_hogconf_%016llx_%s", (unsigned long long)sc->hash,
             sh->run->run_id);
    if (strcmp(sc->auth, "k8s_sa") == 0 || strcmp(sc->auth, "github_oidc") == 0) {
        bool k8s = sc->auth[0] == 'k';
        char name[64], issuer[600];
        const cJSON *tok;
        cJSON *mint = sc->mint ? cJSON_Duplicate(sc->mint, true) : cJSON_CreateObject();
        /* Without an identity of its own, the scenario gets one mapped to its principal. */
        bool own = k8s ? !cJSON_GetObjectItemCaseSensitive(mint, "namespace")
                         && !cJSON_GetObjectItemCaseSensitive(mint, "service_account")
                       : !cJSON_GetObjectItemCaseSensitive(mint, "repository");

        snprintf(issuer, sizeof(issuer), "%s/__hogmock/oidc/%s", url(c), k8s ? "k8s" : "github");
        if (k8s)
            snprintf(name, sizeof(name), "sc-%016llx", (unsigned long long)sc->hash);
        else
            snprintf(name, sizeof(name), "hogconf/s%016llx", (unsigned long long)sc->hash);
        if (own) {
            cJSON_AddStringToObject(body, "kind", sc->auth);
            cJSON_AddStringToObject(body, "issuer", issuer);
            if (k8s) {
                cJSON_AddStringToObject(body, "namespace", "hogconf");
                cJSON_AddStringToObject(body, "service_account", name);
                cJSON_AddStringToObject(mint, "namespace", "hogconf");
                cJSON_AddStringToObject(mint, "service_account", name);
            } else {
                cJSON_AddStringToObject(body, "repository", name);
                cJSON_AddStringToObject(mint, "repository", name);
            }
            cJSON_AddStringToObject(body, "principal_id", c->principal);
            cJSON_AddStringToObject(body, "display_name", sc->id);
            rc = admin(c, "POST", "/__hogmock/trust", body, NULL, "setup: a TrustMapping for the principal");
        }
        cJSON_AddStringToObject(mint, "issuer", k8s ? "k8s" : "github");
        if (rc == RC_OK)
            rc = admin(c, "POST", "/__hogmock/mint", mint, &json, "setup: minting the principal's token");
        cJSON_Delete(mint);
        tok = cJSON_GetObjectItemCaseSensitive(json, "token");
        if (rc == RC_OK && !cJSON_IsString(tok)) {
            set_outcome(c, OUTCOME_ERROR, "setup: /__hogmock/mint gave no token");
            rc = RC_ERR;
        }
        if (rc == RC_OK)
            c->credential = xstrdup(tok->valuestring);
    } else {
        cJSON_AddStringToObject(body, "token", token);
        cJSON_AddStringToObject(body, "principal_id", c->principal);
        cJSON_AddStringToObject(body, "display_name", sc->id);
        rc = admin(c, "POST", "/__hogmock/tokens", body, NULL, "setup: a token for the principal");
        if (rc == RC_OK)
            c->credential = xstrdup(token);
    }
    cJSON_Delete(body);
    cJSON_Delete(json);
    return rc;
}

/* Apply the scenario's setup (already substituted). */
static enum rc apply_setup(struct ctx *c, const cJSON *setup)
{
    const cJSON *part, *item;
    enum rc rc = RC_OK;

    for (part = setup ? setup->child : NULL; part && rc == RC_OK; part = part->next) {
        const char *k = part->string;

        if (strcmp(k, "clock") == 0) {
            const cJSON *adv = cJSON_GetObjectItemCaseSensitive(part, "advance_ms");
            const cJSON *set = cJSON_GetObjectItemCaseSensitive(part, "set_ms");
            cJSON *body = cJSON_CreateObject();

            if (adv)
                cJSON_AddNumberToObject(body, "ms", adv->valuedouble);
            else
                cJSON_AddNumberToObject(body, "now_ms", set->valuedouble);
            rc = admin(c, "POST", adv ? "/__hogmock/clock/advance" : "/__hogmock/clock/set", body,
                       NULL, "setup: clock");
            cJSON_Delete(body);
            continue;
        }
        cJSON_ArrayForEach(item, part) {
            cJSON *copy = cJSON_Duplicate(item, true), *json = NULL;
            char what[64];

            snprintf(what, sizeof(what), "setup: %s", k);
            if (strcmp(k, "faults") == 0) {
                rc = add_fault(c, copy, what, NULL);
            } else if (strcmp(k, "programs") == 0) {
                const cJSON *id;

                rc = admin(c, "POST", "/__hogmock/exec-programs", copy, &json, what);
                id = cJSON_GetObjectItemCaseSensitive(json, "id");
                if (rc == RC_OK && cJSON_IsString(id))
                    cJSON_AddItemToArray(c->programs, cJSON_CreateString(id->valuestring));
            } else if (strcmp(k, "services") == 0) {
                c->services = true;
                rc = admin(c, "PUT", "/__hogmock/services", copy, NULL, what);
            } else if (strcmp(k, "issuers") == 0) {
                const cJSON *iss = cJSON_GetObjectItemCaseSensitive(copy, "issuer");

                rc = admin(c, "POST", "/__hogmock/issuers", copy, NULL, what);
                if (rc == RC_OK && cJSON_IsString(iss))
                    cJSON_AddItemToArray(c->issuers, cJSON_CreateString(iss->valuestring));
            } else if (strcmp(k, "trust") == 0) {
                c->trust = true;
                rc = admin(c, "POST", "/__hogmock/trust", copy, NULL, what);
            }
            cJSON_Delete(copy);
            cJSON_Delete(json);
            if (rc != RC_OK)
                break;
        }
    }
    return rc;
}

/* Undo what the scenario added that others would see. Best effort. */
static void undo_setup(struct ctx *c)
{
    const cJSON *id;
    struct buf path = BUF_INIT, err = BUF_INIT;
    cJSON *body;

    cJSON_ArrayForEach(id, c->faults) {
        buf_reset(&path);
        buf_addf(&path, "/__hogmock/faults/%s", id->valuestring);
        mockapi_do(url(c), "DELETE", buf_cstr(&path), NULL, NULL, &err);
    }
    cJSON_ArrayForEach(id, c->programs) {
        buf_reset(&path);
        buf_addf(&path, "/__hogmock/exec-programs/%s", id->valuestring);
        mockapi_do(url(c), "DELETE", buf_cstr(&path), NULL, NULL, &err);
    }
    cJSON_ArrayForEach(id, c->issuers) {
        char *q = curl_easy_escape(NULL, id->valuestring, 0);

        buf_reset(&path);
        buf_addf(&path, "/__hogmock/issuers?issuer=%s", q ? q : "");
        curl_free(q);
        mockapi_do(url(c), "DELETE", buf_cstr(&path), NULL, NULL, &err);
    }
    if (c->services)
        mockapi_do(url(c), "DELETE", "/__hogmock/services", NULL, NULL, &err);
    if (c->trust)
        mockapi_do(url(c), "DELETE", "/__hogmock/trust", NULL, NULL, &err);
    if (c->principal[0] && !c->sh->run->real) {
        body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "principal_id", c->principal);
        mockapi_do(url(c), "POST", "/__hogmock/reset", body, NULL, &err);
        cJSON_Delete(body);
    }
    buf_release(&path);
    buf_release(&err);
}

/* ---- steps ---- */

static bool is_adapter_fault(const char *type)
{
    return strcmp(type, "UnsupportedOperation") == 0 || strcmp(type, "InvalidArguments") == 0
           || strcmp(type, "AdapterError") == 0 || strcmp(type, "ProtocolError") == 0;
}

static void describe_error(struct buf *out, const cJSON *error)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(error, "type");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(error, "status_code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");

    buf_addstr(out, cJSON_IsString(type) ? type->valuestring : "an error without a type");
    if (cJSON_IsNumber(status))
        buf_addf(out, " %d", status->valueint);
    if (cJSON_IsString(msg))
        buf_addf(out, ": %.300s", msg->valuestring);
}

/* Adjacent stdout (or stderr) chunks as one: chunk boundaries carry no meaning. Plain
 * string data only; a matcher in data keeps its event apart. New array. */
static cJSON *coalesce(const cJSON *events)
{
    cJSON *out = cJSON_CreateArray(), *last = NULL;
    const cJSON *e;

    cJSON_ArrayForEach(e, events) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
        bool chunk = cJSON_IsObject(e) && cJSON_IsString(kind) && cJSON_IsString(data)
                     && cJSON_GetArraySize(e) == 2
                     && (strcmp(kind->valuestring, "stdout") == 0
                         || strcmp(kind->valuestring, "stderr") == 0);

        if (chunk && last) {
            cJSON *lkind = cJSON_GetObjectItemCaseSensitive(last, "kind");
            cJSON *ldata = cJSON_GetObjectItemCaseSensitive(last, "data");

            if (strcmp(lkind->valuestring, kind->valuestring) == 0) {
                struct buf b = BUF_INIT;

                buf_addf(&b, "%s%s", ldata->valuestring, data->valuestring);
                cJSON_ReplaceItemInObjectCaseSensitive(last, "data", cJSON_CreateString(buf_cstr(&b)));
                buf_release(&b);
                continue;
            }
        }
        last = cJSON_Duplicate(e, true);
        cJSON_AddItemToArray(out, last);
        if (!chunk)
            last = NULL;
    }
    return out;
}

static cJSON *concat(const cJSON *events, const char *kind)
{
    struct buf b = BUF_INIT;
    const cJSON *e;
    cJSON *s;

    cJSON_ArrayForEach(e, events) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "kind");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");

        if (cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0 && cJSON_IsString(d))
            buf_addstr(&b, d->valuestring);
    }
    s = cJSON_CreateString(buf_cstr(&b));
    buf_release(&b);
    return s;
}

/* Check one op step's answer against its expect; mismatches go to why. */
static bool check_expect(const cJSON *expect, const char *op, const cJSON *result,
                         const cJSON *events, long long first_event_ms, struct buf *why)
{
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(result, "ok");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(result, "value");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(result, "error");
    const cJSON *want_error = cJSON_GetObjectItemCaseSensitive(expect, "error");
    const cJSON *want_value = cJSON_GetObjectItemCaseSensitive(expect, "value");
    const cJSON *m;
    bool pass = true;

    if (want_error) {
        if (cJSON_IsTrue(ok)) {
            buf_addstr(why, "/error: expected an error ");
            match_describe(why, want_error);
            buf_addstr(why, ", got success: ");
            match_describe(why, value);
            buf_addch(why, '\n');
            pass = false;
        } else {
            pass &= match_json(want_error, error, "/error", why);
        }
    } else if (!cJSON_IsTrue(ok)) {
        buf_addstr(why, "expected success, got ");
        describe_error(why, error);
        buf_addch(why, '\n');
        pass = false;
    } else if (want_value) {
        pass &= match_json(want_value, value, "/value", why);
    }
    if (strcmp(op, "exec_stream") != 0 || !events)
        return pass;
    if ((m = cJSON_GetObjectItemCaseSensitive(expect, "events"))) {
        cJSON *got = coalesce(events), *want = cJSON_IsArray(m) ? coalesce(m) : cJSON_Duplicate(m, true);

        pass &= match_json(want, got, "/events", why);
        cJSON_Delete(got);
        cJSON_Delete(want);
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(expect, "stdout"))) {
        cJSON *got = concat(events, "stdout");

        pass &= match_json(m, got, "/stdout", why);
        cJSON_Delete(got);
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(expect, "stderr"))) {
        cJSON *got = concat(events, "stderr");

        pass &= match_json(m, got, "/stderr", why);
        cJSON_Delete(got);
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(expect, "exit_code"))) {
        const cJSON *code = NULL, *e;

        cJSON_ArrayForEach(e, events) {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "kind");

            if (cJSON_IsString(k) && strcmp(k->valuestring, "exit") == 0)
                code = cJSON_GetObjectItemCaseSensitive(e, "exit_code");
        }
        if (!code)
            code = cJSON_GetObjectItemCaseSensitive(value, "exit_code");
        pass &= match_json(m, code, "/exit_code", why);
    }
    if ((m = cJSON_GetObjectItemCaseSensitive(expect, "first_event_ms"))) {
        cJSON *got = first_event_ms < 0 ? NULL : cJSON_CreateNumber((double)first_event_ms);

        pass &= match_json(m, got, "/first_event_ms", why);
        cJSON_Delete(got);
    }
    return pass;
}

/* A copy of v for the reports, long strings cut (a file read back can be 90 MB). */
static cJSON *shrunk(const cJSON *v)
{
    cJSON *copy = v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
    cJSON *stack[64];
    size_t depth = 0;

    stack[depth++] = copy;
    while (depth) {
        cJSON *c, *node = stack[--depth];

        for (c = node->child; c; c = c->next) {
            if (cJSON_IsString(c) && strlen(c->valuestring) > 4096) {
                struct buf b = BUF_INIT;

                buf_addf(&b, "%.256s... (%zu bytes)", c->valuestring, strlen(c->valuestring));
                cJSON_SetValuestring(c, buf_cstr(&b));
                buf_release(&b);
            } else if (c->child && depth < 64) {
                stack[depth++] = c;
            }
        }
    }
    return copy;
}

static bool start_adapter(struct ctx *c)
{
    const struct scenario *sc = c->sc;
    struct run *run = c->sh->run;
    char stderr_path[600], token_path[600];
    const char *token = NULL, *token_file = NULL;
    struct buf err = BUF_INIT;
    char **env;
    enum rc rc;

    snprintf(stderr_path, sizeof(stderr_path), "%s/adapter.stderr", c->dir);
    snprintf(token_path, sizeof(token_path), "%s/token", c->dir);
    if (sc->token_file || (run->real && run->token_file)) {
        FILE *f = fopen(token_path, "w");

        if (!f || fprintf(f, "%s\n", c->credential) < 0) {
            set_outcome(c, OUTCOME_ERROR, "setup: unable to write '%s': %s", token_path,
                        strerror(errno));
            if (f)
                fclose(f);
            return false;
        }
        fclose(f);
        token_file = token_path;
        snprintf(c->token_path, sizeof(c->token_path), "%s", token_path);
    } else if (strcmp(sc->auth, "none") != 0) {
        token = c->credential;
    }
    env = make_env(url(c), token, token_file);
    rc = adapter_start(&c->ad, run->adapter, env, stderr_path, run->stop, &err);
    free_env(env);
    if (rc != RC_OK) {
        set_outcome(c, OUTCOME_ERROR, "the adapter did not start: %s", buf_cstr(&err));
        buf_release(&err);
        return false;
    }
    c->adapter_up = true;
    buf_release(&err);
    return true;
}

/* Real target: tag what create makes, so leftovers can be found and destroyed. */
static void tag_create(struct ctx *c, cJSON *args)
{
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(args, "labels");

    if (!labels || cJSON_IsNull(labels)) {
        cJSON_DeleteItemFromObjectCaseSensitive(args, "labels");
        labels = cJSON_AddObjectToObject(args, "labels");
    }
    if (cJSON_IsObject(labels) && !cJSON_GetObjectItemCaseSensitive(labels, "hogconf-run"))
        cJSON_AddStringToObject(labels, "hogconf-run", c->sh->run->run_id);
}

/* One op step. False when the scenario cannot go on. */
static bool op_step(struct ctx *c, const cJSON *step, size_t index, cJSON *record)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(step, "op");
    const cJSON *targs = cJSON_GetObjectItemCaseSensitive(step, "args");
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(step, "deadline_ms");
    const cJSON *texpect = cJSON_GetObjectItemCaseSensitive(step, "expect");
    const cJSON *save = cJSON_GetObjectItemCaseSensitive(step, "save");
    const cJSON *ok, *error;
    cJSON *args = NULL, *expect = NULL, *result = NULL, *events = NULL;
    struct buf err = BUF_INIT, why = BUF_INIT;
    char at[64], id[600];
    long deadline = dl ? (long)dl->valuedouble : DEFAULT_DEADLINE_MS;
    long long t0 = child_now_ms();
    bool go_on = false;
    enum rc rc;

    snprintf(at, sizeof(at), "/steps/%zu", index);
    snprintf(id, sizeof(id), "%s#%zu", c->sc->id, index + 1);
    if ((targs && subst_json(targs, c->vars, at, &args, &err) != RC_OK)
        || (texpect && subst_json(texpect, c->vars, at, &expect, &err) != RC_OK)) {
        set_outcome(c, OUTCOME_ERROR, "step %zu (%s): %s", index + 1, op->valuestring, buf_cstr(&err));
        goto out;
    }
    if (!args)
        args = cJSON_CreateObject();
    if (c->sh->run->real && strcmp(op->valuestring, "create") == 0)
        tag_create(c, args);
    cJSON_AddItemToObject(record, "args", cJSON_Duplicate(args, true));
    if (match_expand_bytes(args, at, &err) != RC_OK) {
        set_outcome(c, OUTCOME_ERROR, "step %zu (%s): %s", index + 1, op->valuestring, buf_cstr(&err));
        goto out;
    }
    rc = adapter_call(&c->ad, id, op->valuestring, args, deadline, &result, &events, &err);
    cJSON_AddNumberToObject(record, "ms", (double)(child_now_ms() - t0));
    if (rc != RC_OK) {
        set_outcome(c, OUTCOME_ERROR, "step %zu (%s): %s", index + 1, op->valuestring, buf_cstr(&err));
        adapter_stop(&c->ad, true);
        c->adapter_up = false;
        goto out;
    }
    ok = cJSON_GetObjectItemCaseSensitive(result, "ok");
    error = cJSON_GetObjectItemCaseSensitive(result, "error");
    cJSON_AddBoolToObject(record, "ok", cJSON_IsTrue(ok));
    if (cJSON_IsTrue(ok))
        cJSON_AddItemToObject(record, "value",
                              shrunk(cJSON_GetObjectItemCaseSensitive(result, "value")));
    else
        cJSON_AddItemToObject(record, "error", shrunk(error));
    if (cJSON_GetArraySize(events)) {
        cJSON_AddItemToObject(record, "events", shrunk(events));
        cJSON_AddNumberToObject(record, "first_event_ms", (double)adapter_first_event_ms(&c->ad));
    }
    if (!cJSON_IsTrue(ok)) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(error, "type");

        if (!cJSON_IsString(type) || is_adapter_fault(type->valuestring)) {
            buf_reset(&why);
            describe_error(&why, error);
            set_outcome(c, OUTCOME_ERROR, "step %zu (%s): adapter fault, not the client's: %s",
                        index + 1, op->valuestring, buf_cstr(&why));
            goto out;
        }
    }
    if (!check_expect(expect, op->valuestring, result, events, adapter_first_event_ms(&c->ad), &why)) {
        set_outcome(c, OUTCOME_FAIL, "step %zu (%s): expectation not met", index + 1, op->valuestring);
        buf_addf(&c->r->details, "step %zu (%s) args ", index + 1, op->valuestring);
        match_describe(&c->r->details, args);
        buf_addch(&c->r->details, '\n');
        {
            const char *p = buf_cstr(&why);

            while (*p) {
                size_t n = strcspn(p, "\n");

                buf_addf(&c->r->details, "  %.*s\n", (int)n, p);
                p += n + (p[n] == '\n');
            }
        }
        goto out;
    }
    if (cJSON_IsString(save)) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, cJSON_IsTrue(ok) ? "value" : "error");

        cJSON_DeleteItemFromObjectCaseSensitive(c->vars, save->valuestring);
        cJSON_AddItemToObject(c->vars, save->valuestring, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    }
    go_on = true;
out:
    cJSON_Delete(args);
    cJSON_Delete(expect);
    cJSON_Delete(result);
    cJSON_Delete(events);
    buf_release(&err);
    buf_release(&why);
    return go_on;
}

/* Rewrite the token file as a kubelet does: a new file renamed over the old one. */
static bool token_file_step(struct ctx *c, const cJSON *step, size_t index, cJSON *record)
{
    cJSON *v = NULL;
    struct buf err = BUF_INIT, tmp = BUF_INIT;
    char at[64];
    FILE *f;
    bool ok = false;

    snprintf(at, sizeof(at), "/steps/%zu/write_token_file", index);
    cJSON_AddStringToObject(record, "write_token_file", c->token_path);
    if (subst_json(cJSON_GetObjectItemCaseSensitive(step, "write_token_file"), c->vars, at, &v,
                   &err) != RC_OK || !cJSON_IsString(v)) {
        set_outcome(c, OUTCOME_ERROR, "step %zu (write_token_file): %s", index + 1,
                    err.len ? buf_cstr(&err) : "not a string");
        goto out;
    }
    if (!c->token_path[0]) {
        set_outcome(c, OUTCOME_ERROR, "step %zu (write_token_file): the scenario has no token file",
                    index + 1);
        goto out;
    }
    buf_addf(&tmp, "%s.new", c->token_path);
    f = fopen(buf_cstr(&tmp), "w");
    if (!f || fprintf(f, "%s\n", v->valuestring) < 0 || fclose(f) != 0
        || rename(buf_cstr(&tmp), c->token_path) != 0) {
        if (f)
            fclose(f);
        set_outcome(c, OUTCOME_ERROR, "step %zu (write_token_file): unable to write '%s': %s",
                    index + 1, c->token_path, strerror(errno));
        goto out;
    }
    ok = true;
out:
    cJSON_Delete(v);
    buf_release(&err);
    buf_release(&tmp);
    return ok;
}

/* One admin step. False when the scenario cannot go on. */
static bool admin_step(struct ctx *c, const cJSON *step, size_t index, cJSON *record)
{
    const cJSON *save = cJSON_GetObjectItemCaseSensitive(step, "save");
    const cJSON *method, *path, *body;
    cJSON *call = NULL, *json = NULL;
    struct buf err = BUF_INIT;
    char at[64], what[96];
    enum rc rc;

    snprintf(at, sizeof(at), "/steps/%zu/admin", index);
    snprintf(what, sizeof(what), "step %zu (admin)", index + 1);
    if (subst_json(cJSON_GetObjectItemCaseSensitive(step, "admin"), c->vars, at, &call, &err) != RC_OK) {
        set_outcome(c, OUTCOME_ERROR, "%s: %s", what, buf_cstr(&err));
        buf_release(&err);
        return false;
    }
    method = cJSON_GetObjectItemCaseSensitive(call, "method");
    path = cJSON_GetObjectItemCaseSensitive(call, "path");
    body = cJSON_GetObjectItemCaseSensitive(call, "body");
    cJSON_AddItemToObject(record, "admin", cJSON_Duplicate(call, true));
    if (strcmp(method->valuestring, "POST") == 0 && strcmp(path->valuestring, "/__hogmock/faults") == 0) {
        cJSON *plan = body ? cJSON_Duplicate(body, true) : cJSON_CreateObject();

        rc = add_fault(c, plan, what, &json);
        cJSON_Delete(plan);
    } else
        rc = admin(c, method->valuestring, path->valuestring, body, &json, what);
    if (rc == RC_OK && cJSON_IsString(save)) {
        cJSON_DeleteItemFromObjectCaseSensitive(c->vars, save->valuestring);
        cJSON_AddItemToObject(c->vars, save->valuestring, json ? json : cJSON_CreateNull());
        json = NULL;
    }
    cJSON_Delete(call);
    cJSON_Delete(json);
    buf_release(&err);
    return rc == RC_OK;
}

/* ---- the wire ---- */

/* Add the principal to a verify matcher that names none. */
static void scope_matcher(cJSON *m, const char *principal)
{
    if (cJSON_IsObject(m) && !cJSON_GetObjectItemCaseSensitive(m, "principal"))
        cJSON_AddStringToObject(m, "principal", principal);
}

static void fetch_journal(struct ctx *c)
{
    struct buf path = BUF_INIT, err = BUF_INIT;
    struct http_resp r;
    const cJSON *items;

    if (c->by_since)
        buf_addf(&path, "/__hogmock/journal?since=%lld&limit=%d", c->since, JOURNAL_LIMIT);
    else
        buf_addf(&path, "/__hogmock/journal?principal=%s&limit=%d", c->principal, JOURNAL_LIMIT);
    if (mockapi_call(url(c), "GET", buf_cstr(&path), NULL, NULL, &r, &err) == RC_OK) {
        items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
        if (r.status == 200 && cJSON_IsArray(items)) {
            cJSON *keep = cJSON_CreateArray();
            const cJSON *e;

            /* The admin API's own requests are not the client's. */
            cJSON_ArrayForEach(e, items) {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");

                if (cJSON_IsString(p) && !str_startswith(p->valuestring, "/__hogmock/"))
                    cJSON_AddItemToArray(keep, cJSON_Duplicate(e, true));
            }
            c->r->journal_json = keep;
        }
        http_resp_release(&r);
    }
    buf_release(&path);
    buf_release(&err);
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *header_of(const cJSON *entry, const char *name)
{
    return str_of(cJSON_GetObjectItemCaseSensitive(entry, "headers"), name);
}

static void format_journal(struct ctx *c)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, c->r->journal_json) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(e, "status");
        const char *q = str_of(e, "query"), *fault = str_of(e, "fault"), *op = str_of(e, "op");

        buf_addf(&c->r->journal, "#%d %s %s%s%s -> %d %s", cJSON_IsNumber(seq) ? seq->valueint : 0,
                 str_of(e, "method") ? str_of(e, "method") : "?",
                 str_of(e, "path") ? str_of(e, "path") : "?", q && *q ? "?" : "", q && *q ? q : "",
                 cJSON_IsNumber(status) ? status->valueint : 0, op ? op : "(no operation)");
        if (fault)
            buf_addf(&c->r->journal, " fault %s", fault);
        if (str_of(e, "auth_error"))
            buf_addf(&c->r->journal, " auth_error %s", str_of(e, "auth_error"));
        buf_addch(&c->r->journal, '\n');
    }
}

static bool retryable_status(const cJSON *entry)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(entry, "status");
    int v = cJSON_IsNumber(s) ? s->valueint : 0;

    return v == 0 || v == 429 || v >= 500 || str_of(entry, "fault") != NULL;
}

static const char *body_digest(const cJSON *entry)
{
    const char *d = str_of(cJSON_GetObjectItemCaseSensitive(entry, "body"), "sha256");

    return d ? d : "";
}

/* What PROTOCOL.md section 12 asks of every request; violations go to why. */
static bool global_checks(struct ctx *c, struct buf *why)
{
    const cJSON *e, *prev_create = NULL, *prev_snap = NULL;
    bool pass = true;

    cJSON_ArrayForEach(e, c->r->journal_json) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
        const char *authz = header_of(e, "authorization"), *ua = header_of(e, "user-agent");
        const char *path = str_of(e, "path"), *query = str_of(e, "query"), *op = str_of(e, "op");
        int n = cJSON_IsNumber(seq) ? seq->valueint : 0;
        const cJSON **prev;

        if (strcmp(c->sc->auth, "none") != 0 && (!c->sh->run->real || authz)) {
            if (!authz || !str_startswith(authz, "Bearer ")) {
                buf_addf(why, "#%d %s: no Authorization: Bearer header\n", n, path ? path : "?");
                pass = false;
            }
        }
        if (!ua || !*ua) {
            buf_addf(why, "#%d %s: no User-Agent header\n", n, path ? path : "?");
            pass = false;
        }
        if ((path && strstr(path, "fp_")) || (query && strstr(query, "fp_"))) {
            buf_addf(why, "#%d %s: a credential in the URL (hogmock shows it as a fingerprint)\n",
                     n, path ? path : "?");
            pass = false;
        }
        if (!op) {
            buf_addf(why, "#%d %s %s: matches no operation of the spec\n", n,
                     str_of(e, "method") ? str_of(e, "method") : "?", path ? path : "?");
            pass = false;
            continue;
        }
        prev = strcmp(op, "createHogbox") == 0 ? &prev_create
               : strcmp(op, "snapshotHogbox") == 0 ? &prev_snap : NULL;
        if (!prev) {
            prev_create = prev_snap = NULL;
            continue;
        }
        /* A retry follows its attempt at once: anything between makes it a new operation. */
        if (prev == &prev_create)
            prev_snap = NULL;
        else
            prev_create = NULL;
        if (*prev && retryable_status(*prev) && strcmp(body_digest(*prev), body_digest(e)) == 0
            && (op[0] == 'c' || strcmp(path ? path : "", str_of(*prev, "path") ? str_of(*prev, "path") : "") == 0)) {
            const char *k1 = header_of(*prev, "idempotency-key"), *k2 = header_of(e, "idempotency-key");

            if (!k1 || !k2 || strcmp(k1, k2) != 0) {
                const cJSON *pseq = cJSON_GetObjectItemCaseSensitive(*prev, "seq");

                buf_addf(why, "#%d %s: a retry of #%d without the same Idempotency-Key (%s, then %s)\n",
                         n, op, cJSON_IsNumber(pseq) ? pseq->valueint : 0, k1 ? k1 : "none",
                         k2 ? k2 : "none");
                pass = false;
            }
        }
        *prev = e;
    }
    return pass;
}

static void check_wire(struct ctx *c)
{
    const struct scenario *sc = c->sc;
    struct buf why = BUF_INIT, err = BUF_INIT;
    cJSON *body = NULL, *json = NULL;
    const cJSON *chk;

    fetch_journal(c);
    format_journal(c);
    if (c->r->outcome != OUTCOME_PASS)
        goto out;
    if (sc->wire) {
        cJSON *checks;

        if (subst_json(sc->wire, c->vars, "/wire", &checks, &err) != RC_OK) {
            set_outcome(c, OUTCOME_ERROR, "wire: %s", buf_cstr(&err));
            goto out;
        }
        body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "checks", checks);
        if (c->by_since)
            cJSON_AddNumberToObject(body, "since", (double)c->since);
        cJSON_ArrayForEach(chk, checks) {
            cJSON *steps = cJSON_GetObjectItemCaseSensitive(chk, "steps"), *s;

            if (c->by_since)
                continue;
            scope_matcher(cJSON_GetObjectItemCaseSensitive(chk, "match"), c->principal);
            scope_matcher(cJSON_GetObjectItemCaseSensitive(chk, "after"), c->principal);
            if (!cJSON_GetObjectItemCaseSensitive(chk, "match") && strcmp(str_of(chk, "kind"), "count") == 0) {
                cJSON *m = cJSON_AddObjectToObject((cJSON *)chk, "match");

                scope_matcher(m, c->principal);
            }
            cJSON_ArrayForEach(s, steps)
                scope_matcher(s, c->principal);
        }
        if (admin(c, "POST", "/__hogmock/journal/verify", body, &json, "wire: journal/verify") != RC_OK)
            goto out;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "passed"))) {
            size_t i = 0;

            set_outcome(c, OUTCOME_FAIL, "wire: a journal check failed");
            cJSON_ArrayForEach(chk, cJSON_GetObjectItemCaseSensitive(json, "checks")) {
                if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(chk, "passed")))
                    buf_addf(&c->r->details, "wire check %zu (%s): %s\n", i,
                             str_of(chk, "name") ? str_of(chk, "name") : str_of(chk, "kind") ? str_of(chk, "kind") : "?",
                             str_of(chk, "message") ? str_of(chk, "message") : "failed");
                i++;
            }
        }
    }
    if (!global_checks(c, &why)) {
        const char *p = buf_cstr(&why);

        set_outcome(c, OUTCOME_FAIL, "wire: a request breaks what every request must do");
        while (*p) {
            size_t n = strcspn(p, "\n");

            buf_addf(&c->r->details, "wire: %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
out:
    cJSON_Delete(body);
    cJSON_Delete(json);
    buf_release(&why);
    buf_release(&err);
}

/* ---- a scenario ---- */

static void missing_features(const struct scenario *sc, const cJSON *features, struct buf *out)
{
    const cJSON *f;

    cJSON_ArrayForEach(f, sc->requires)
        if (!has_feature(features, f->valuestring))
            buf_addf(out, "%s%s", out->len ? ", " : "", f->valuestring);
}

static void make_vars(struct ctx *c)
{
    struct run *run = c->sh->run;
    cJSON *issuer;
    char u[600];

    c->vars = cJSON_CreateObject();
    cJSON_AddStringToObject(c->vars, "principal", c->principal);
    cJSON_AddStringToObject(c->vars, "token", c->credential ? c->credential : "");
    cJSON_AddStringToObject(c->vars, "run_id", run->run_id);
    cJSON_AddStringToObject(c->vars, "host", c->mock_url);
    issuer = cJSON_AddObjectToObject(c->vars, "issuer");
    snprintf(u, sizeof(u), "%s/__hogmock/oidc/k8s", c->mock_url);
    cJSON_AddStringToObject(issuer, "k8s", u);
    snprintf(u, sizeof(u), "%s/__hogmock/oidc/github", c->mock_url);
    cJSON_AddStringToObject(issuer, "github", u);
}

/* "METHOD PATH answered STATUS" and the problem's detail, into err. */
static void answered(struct buf *err, const char *method, const char *path,
                     const struct http_resp *r)
{
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(r->json, "detail");

    buf_addf(err, "%s %s answered %ld", method, path, r->status);
    if (cJSON_IsString(detail))
        buf_addf(err, ": %s", detail->valuestring);
}

/* Real target: the ids of token's boxes labelled hogconf-run=<run_id>, every page
 * (following next_cursor), appended to ids. */
static enum rc list_labelled(const char *base, const char *token, const char *run_id,
                             cJSON *ids, struct buf *err)
{
    struct buf path = BUF_INIT;
    char *cursor = NULL;
    enum rc rc = RC_OK;
    int page;

    for (page = 0; page < SWEEP_PAGES; page++) {
        struct http_resp r;
        const cJSON *item, *next;

        buf_reset(&path);
        buf_addf(&path, "/v1/hogboxes?limit=100&label=hogconf-run%%3D%s", run_id);
        if (cursor) {
            char *esc = curl_easy_escape(NULL, cursor, 0);

            buf_addf(&path, "&cursor=%s", esc ? esc : "");
            curl_free(esc);
        }
        rc = mockapi_call(base, "GET", buf_cstr(&path), NULL, token, &r, err);
        if (rc != RC_OK)
            break;
        if (r.status != 200) {
            answered(err, "GET", buf_cstr(&path), &r);
            http_resp_release(&r);
            rc = RC_ERR;
            break;
        }
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r.json, "items")) {
            const char *id = str_of(item, "id"), *state = str_of(item, "state");

            /* A server that keeps tombstones may list a destroyed box. */
            if (id && !(state && strcmp(state, "destroyed") == 0))
                cJSON_AddItemToArray(ids, cJSON_CreateString(id));
        }
        next = cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor");
        free(cursor);
        cursor = cJSON_IsString(next) && next->valuestring[0] ? xstrdup(next->valuestring) : NULL;
        http_resp_release(&r);
        if (!cursor)
            break;
    }
    if (rc == RC_OK && cursor) {
        buf_addf(err, "GET /v1/hogboxes gave a next_cursor after %d pages", SWEEP_PAGES);
        rc = RC_ERR;
    }
    free(cursor);
    buf_release(&path);
    return rc;
}

/* Real target: destroy every box of token's principal labelled hogconf-run=<run_id>,
 * through base (the proxy). Every page is listed before anything is destroyed (a cursor
 * need not outlive a destroy), then listed again, until none is left or SWEEP_ROUNDS
 * have not sufficed. Adds the boxes destroyed to *destroyed. RC_OK when none is left;
 * else err says why. */
static enum rc destroy_labelled(const char *base, const char *token, const char *run_id,
                                unsigned *destroyed, struct buf *err)
{
    struct buf path = BUF_INIT, why = BUF_INIT;
    cJSON *ids = NULL;
    const cJSON *id;
    enum rc rc;
    int round;

    for (round = 0;; round++) {
        cJSON_Delete(ids);
        ids = cJSON_CreateArray();
        rc = list_labelled(base, token, run_id, ids, err);
        if (rc != RC_OK || cJSON_GetArraySize(ids) == 0)
            break;
        if (round == SWEEP_ROUNDS) {
            buf_addf(err, "%d box%s still there after %d rounds of destroys%s%s",
                     cJSON_GetArraySize(ids), cJSON_GetArraySize(ids) == 1 ? " is" : "es are",
                     SWEEP_ROUNDS, why.len ? "; " : "", buf_cstr(&why));
            rc = RC_ERR;
            break;
        }
        buf_reset(&why);
        cJSON_ArrayForEach(id, ids) {
            struct buf one = BUF_INIT;
            struct http_resp d;

            buf_reset(&path);
            buf_addf(&path, "/v1/hogboxes/%s", id->valuestring);
            if (mockapi_call(base, "DELETE", buf_cstr(&path), NULL, token, &d, &one) == RC_OK) {
                if (d.status >= 200 && d.status <= 299)
                    (*destroyed)++;
                else if (d.status != 404)   /* 404: gone already */
                    answered(&one, "DELETE", buf_cstr(&path), &d);
                http_resp_release(&d);
            }
            if (one.len && !why.len)    /* the first failure of the round tells enough */
                buf_addstr(&why, buf_cstr(&one));
            buf_release(&one);
        }
    }
    cJSON_Delete(ids);
    buf_release(&path);
    buf_release(&why);
    return rc;
}

/* The seq of the journal's last entry: from the count (seqs count from 1 and only a
 * reset or a full ring makes them differ), then paged forward to the true end. Each of
 * these queries is journaled too, so the end is reached once a page that is not full
 * holds nothing but the admin API's own requests. */
static long long journal_last_seq(struct ctx *c)
{
    cJSON *json = NULL;
    struct buf err = BUF_INIT, path = BUF_INIT;
    long long seq = 0;
    int round;

    if (mockapi_do(url(c), "GET", "/__hogmock/journal/count", NULL, &json, &err) == RC_OK) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(json, "count");

        seq = cJSON_IsNumber(n) ? (long long)n->valuedouble : 0;
    }
    cJSON_Delete(json);
    for (round = 0; round < 200; round++) {
        const cJSON *e;
        long long last = seq;
        bool more = false;

        buf_reset(&path);
        buf_addf(&path, "/__hogmock/journal?since=%lld&limit=%d", seq, JOURNAL_LIMIT);
        json = NULL;
        if (mockapi_do(url(c), "GET", buf_cstr(&path), NULL, &json, &err) != RC_OK) {
            cJSON_Delete(json);
            break;
        }
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(json, "items")) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "seq");
            const char *p = str_of(e, "path");

            if (cJSON_IsNumber(s) && (long long)s->valuedouble > last)
                last = (long long)s->valuedouble;
            if (!p || !str_startswith(p, "/__hogmock/"))
                more = true;
        }
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json, "items")) >= JOURNAL_LIMIT)
            more = true;
        cJSON_Delete(json);
        seq = last;
        if (!more)
            break;
    }
    buf_release(&err);
    buf_release(&path);
    return seq;
}

static void run_steps(struct ctx *c)
{
    const cJSON *step;
    size_t i = 0;

    c->r->steps = cJSON_CreateArray();
    cJSON_ArrayForEach(step, c->sc->steps) {
        cJSON *record = cJSON_CreateObject();
        bool go_on;

        cJSON_AddNumberToObject(record, "step", (double)(i + 1));
        cJSON_AddItemToArray(c->r->steps, record);
        if (*c->sh->run->stop) {
            set_outcome(c, OUTCOME_ERROR, "interrupted");
            return;
        }
        if (cJSON_GetObjectItemCaseSensitive(step, "admin")) {
            go_on = admin_step(c, step, i, record);
        } else if (cJSON_GetObjectItemCaseSensitive(step, "write_token_file")) {
            go_on = token_file_step(c, step, i, record);
        } else {
            cJSON_AddStringToObject(record, "op", cJSON_GetObjectItemCaseSensitive(step, "op")->valuestring);
            go_on = op_step(c, step, i, record);
        }
        if (!go_on)
            return;
        i++;
    }
}

#define MOCK_ARGS_MAX 16

/* hogmock's arguments for this run (NULL-terminated): in front of the host, or a mock
 * on a virtual clock that knows the fixture tokens and both built-in issuers. */
static void mock_args(const struct run *run, const char *args[MOCK_ARGS_MAX])
{
    size_t k = 0;

    if (run->real) {
        args[k++] = "--mode";
        args[k++] = "proxy";
        args[k++] = "--upstream";
        args[k++] = run->host;
    } else {
        args[k++] = "--clock";
        args[k++] = "virtual";
        args[k++] = "--tokens";
        args[k++] = run->tokens;
        args[k++] = "--issuer";
        args[k++] = run->issuer_args[0] ? run->issuer_args[0] : "k8s";
        args[k++] = "--issuer";
        args[k++] = run->issuer_args[1] ? run->issuer_args[1] : "github";
    }
    args[k] = NULL;
}

/* A random run id, "r" and 10 hex digits: two runs (shards, pipelines) sharing a host and
 * a seed must not take each other's boxes for their own. */
static void make_run_id(struct run *run)
{
    unsigned char b[5];
    struct timespec ts;

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        unsigned long long x;

        clock_gettime(CLOCK_REALTIME, &ts);
        x = (unsigned long long)ts.tv_nsec ^ (unsigned long long)ts.tv_sec << 20
            ^ (unsigned long long)getpid() << 8 ^ run->seed;
        memcpy(b, &x, sizeof(b));
    }
    snprintf(run->run_id, sizeof(run->run_id), "r%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4]);
}

/* The built-in issuers' keys, made once for the run (an RSA key takes a third of a
 * second here) and given to every hogmock it starts: "NAME=PEM file" in issuer_args.
 * Without them each hogmock would make its own; a failure only costs that time. */
static void make_issuer_keys(struct run *run)
{
    static const char *const names[2] = { "k8s", "github" };
    static const char *const algs[2] = { "ES256", "RS256" };
    int i;

    for (i = 0; i < 2; i++) {
        struct jose_key *key = NULL;
        struct buf err = BUF_INIT, path = BUF_INIT, arg = BUF_INIT;
        char *pem = NULL;
        FILE *f;

        buf_addf(&path, "%s/issuer-%s.pem", run->workdir, names[i]);
        if (jose_key_generate(algs[i], NULL, &key, &err) == JOSE_OK
            && (pem = jose_key_private_pem(key)) != NULL
            && (f = fopen(buf_cstr(&path), "wx")) != NULL) {
            bool ok = fputs(pem, f) >= 0;

            if (fclose(f) == 0 && ok) {
                buf_addf(&arg, "%s=%s", names[i], buf_cstr(&path));
                run->issuer_args[i] = buf_detach(&arg, NULL);
            }
        }
        if (pem) {
            OPENSSL_cleanse(pem, strlen(pem));
            free(pem);
        }
        jose_key_free(key);
        buf_release(&err);
        buf_release(&path);
        buf_release(&arg);
    }
}

static void run_one(struct shared *sh, struct result *r)
{
    struct run *run = sh->run;
    const struct scenario *sc = r->sc;
    struct ctx c;
    struct buf missing = BUF_INIT, err = BUF_INIT;
    long long t0 = child_now_ms();
    char path[600];

    memset(&c, 0, sizeof(c));
    c.sh = sh;
    c.r = r;
    c.sc = sc;
    r->ran = true;
    if (sc->load_error) {
        r->outcome = OUTCOME_ERROR;
        buf_addstr(&r->message, "the scenario file does not load");
        buf_addstr(&r->details, sc->load_error);
        goto done;
    }
    if (!(sc->targets & (run->real ? TARGET_REAL : TARGET_MOCK))) {
        r->outcome = OUTCOME_SKIP;
        buf_addf(&r->message, "not for the %s target", run->real ? "real" : "mock");
        goto done;
    }
    if (run->real && (strcmp(sc->auth, "k8s_sa") == 0 || strcmp(sc->auth, "github_oidc") == 0)) {
        r->outcome = OUTCOME_SKIP;
        buf_addf(&r->message, "auth %s needs hogmock's issuers: the mock target only", sc->auth);
        goto done;
    }
    if (!run->runnable) {
        r->outcome = OUTCOME_SKIP;
        buf_addf(&r->message, "not runnable: %s", run->not_runnable ? run->not_runnable : "");
        goto done;
    }
    missing_features(sc, run->features, &missing);
    if (missing.len) {
        r->outcome = OUTCOME_SKIP;
        buf_addf(&r->message, "N/A: the adapter does not announce %s", buf_cstr(&missing));
        goto done;
    }
    c.faults = cJSON_CreateArray();
    c.programs = cJSON_CreateArray();
    c.issuers = cJSON_CreateArray();
    snprintf(c.dir, sizeof(c.dir), "%s/s%016llx", run->workdir, (unsigned long long)sc->hash);
    if (mkdir(c.dir, 0700) != 0 && errno != EEXIST) {
        set_outcome(&c, OUTCOME_ERROR, "unable to make '%s': %s", c.dir, strerror(errno));
        goto done;
    }
    c.mock_url = run->mock_url;
    if (sc->exclusive && !run->real) {
        const char *args[MOCK_ARGS_MAX];
        struct buf why = BUF_INIT;

        mock_args(run, args);
        if (mockproc_start(&c.own, run->hogmock, args, c.dir, run->hogmock_wait_s, &why)
            != RC_OK) {
            set_outcome(&c, OUTCOME_ERROR, "its own hogmock did not start: %s", buf_cstr(&why));
            buf_release(&why);
            goto finish;
        }
        buf_release(&why);
        c.mock_url = c.own.url;
    }
    if (run->real || sc->exclusive) {
        c.by_since = true;
        c.since = journal_last_seq(&c);
    }
    if (run->real) {
        snprintf(c.principal, sizeof(c.principal), "%s", sh->real_principal ? sh->real_principal : "");
        c.credential = xstrdup(sh->real_token);
    } else if (make_principal(&c) != RC_OK) {
        goto finish;
    }
    make_vars(&c);
    if (sc->setup) {
        cJSON *setup = NULL;

        if (subst_json(sc->setup, c.vars, "/setup", &setup, &err) != RC_OK)
            set_outcome(&c, OUTCOME_ERROR, "setup: %s", buf_cstr(&err));
        else
            apply_setup(&c, setup);
        cJSON_Delete(setup);
        if (r->outcome != OUTCOME_PASS)
            goto finish;
    }
    if (!start_adapter(&c))
        goto finish;
    run_steps(&c);
    if (c.adapter_up)
        adapter_stop(&c.ad, false);
    check_wire(&c);
finish:
    if (!r->journal_json && (c.principal[0] || c.by_since)) {
        fetch_journal(&c);
        format_journal(&c);
    }
    if (run->real && c.credential) {
        unsigned destroyed = 0;

        /* What it left now, so the next scenario starts clean; the end of the run
         * sweeps again and reports what may remain. */
        buf_reset(&err);
        destroy_labelled(url(&c), c.credential, run->run_id, &destroyed, &err);
        pthread_mutex_lock(&sh->lock);
        run->leftovers += destroyed;
        pthread_mutex_unlock(&sh->lock);
    } else if (!run->real && !c.own.url)
        undo_setup(&c);
    if (c.own.url) {
        mockproc_stop(&c.own);
        snprintf(path, sizeof(path), "%s/hogmock.log", c.dir);
        slurp(path, &r->mock_log, LOG_MAX_BYTES);
    }
    buf_add(&r->transcript, c.ad.transcript.data ? c.ad.transcript.data : "", c.ad.transcript.len);
    snprintf(path, sizeof(path), "%s/adapter.stderr", c.dir);
    slurp(path, &r->adapter_log, LOG_MAX_BYTES);
    adapter_release(&c.ad);
done:
    r->ms = child_now_ms() - t0;
    /* Cut short by Ctrl-C: not a verdict on the client. */
    if (*run->stop && r->outcome == OUTCOME_ERROR)
        r->ran = false;
    cJSON_Delete(c.vars);
    cJSON_Delete(c.faults);
    cJSON_Delete(c.programs);
    cJSON_Delete(c.issuers);
    free(c.credential);
    buf_release(&missing);
    buf_release(&err);
}

/* ---- jobs ---- */

static void *job(void *arg)
{
    struct shared *sh = arg;

    for (;;) {
        size_t i;

        pthread_mutex_lock(&sh->lock);
        i = sh->next < sh->n && !*sh->run->stop ? sh->next++ : sh->n;
        pthread_mutex_unlock(&sh->lock);
        if (i >= sh->n)
            break;
        run_one(sh, &sh->results[i]);
        pthread_mutex_lock(&sh->lock);
        if (sh->run->on_result)
            sh->run->on_result(&sh->results[i], sh->run->ctx);
        pthread_mutex_unlock(&sh->lock);
    }
    return NULL;
}

/* Greet the adapter once, for its client, features and whether it can run at all. */
static enum rc probe_adapter(struct run *run, struct buf *err)
{
    struct adapter ad;
    struct buf path = BUF_INIT, log = BUF_INIT;
    char **env = make_env(run->mock_url, "tok_hogconf_probe", NULL);
    const cJSON *runnable, *error;
    enum rc rc;

    buf_addf(&path, "%s/probe.stderr", run->workdir);
    rc = adapter_start(&ad, run->adapter, env, buf_cstr(&path), run->stop, err);
    free_env(env);
    if (rc != RC_OK) {
        slurp(buf_cstr(&path), &log, 2000);
        if (log.len)
            buf_addf(err, "; its stderr: %s", buf_cstr(&log));
        goto out;
    }
    runnable = cJSON_GetObjectItemCaseSensitive(ad.hello, "runnable");
    error = cJSON_GetObjectItemCaseSensitive(ad.hello, "error");
    run->runnable = !cJSON_IsFalse(runnable);
    if (!run->runnable)
        run->not_runnable = xstrdup(cJSON_IsString(error) ? error->valuestring : "(no reason given)");
    run->client = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ad.hello, "client"), true);
    run->features = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ad.hello, "features"), true);
    if (!cJSON_IsArray(run->features)) {
        cJSON_Delete(run->features);
        run->features = cJSON_CreateArray();
    }
out:
    adapter_release(&ad);
    buf_release(&path);
    buf_release(&log);
    return rc;
}

/* Real target: the credential, and whom it names (GET /v1/me through the proxy). */
static enum rc real_identity(struct run *run, struct shared *sh, struct buf *err)
{
    struct buf tok = BUF_INIT;
    struct http_resp r;
    enum rc rc;

    if (run->token_file) {
        slurp(run->token_file, &tok, 65536);
        while (tok.len && strchr(" \t\r\n", tok.data[tok.len - 1]))
            buf_truncate(&tok, tok.len - 1);
        if (!tok.len) {
            buf_addf(err, "unable to read a credential from '%s'", run->token_file);
            buf_release(&tok);
            return RC_IO;
        }
    } else {
        buf_addstr(&tok, run->token ? run->token : "");
    }
    sh->real_token = buf_detach(&tok, NULL);
    rc = mockapi_call(run->mock_url, "GET", "/v1/me", NULL, sh->real_token, &r, err);
    if (rc != RC_OK)
        return rc;
    if (r.status != 200) {
        buf_addf(err, "GET %s/v1/me with the credential answered %ld", run->host, r.status);
        http_resp_release(&r);
        return RC_DENIED;
    }
    sh->real_principal = xstrdup(str_of(r.json, "principal_id") ? str_of(r.json, "principal_id") : "");
    http_resp_release(&r);
    return RC_OK;
}

enum rc runner_run(struct run *run, const struct scenario *const *sel, size_t n,
                   struct result *results, struct buf *err)
{
    struct shared sh;
    struct mockproc mock;
    pthread_t threads[MAX_JOBS];
    unsigned jobs = run->jobs ? run->jobs : 1, started = 0, i;
    char tmpl[] = "/tmp/hogconf-XXXXXX";
    const char *args[MOCK_ARGS_MAX];
    long long t0 = child_now_ms();
    enum rc rc;

    memset(&sh, 0, sizeof(sh));
    memset(&mock, 0, sizeof(mock));
    if (!run->run_id[0])
        make_run_id(run);
    if (!mkdtemp(tmpl)) {
        buf_addf(err, "unable to make a work directory: %s", strerror(errno));
        return RC_IO;
    }
    run->workdir = xstrdup(tmpl);
    if (!run->real)
        make_issuer_keys(run);
    mock_args(run, args);
    rc = mockproc_start(&mock, run->hogmock, args, run->workdir, run->hogmock_wait_s, err);
    if (rc != RC_OK)
        goto out;
    run->mock_url = xstrdup(mock.url);
    rc = probe_adapter(run, err);
    if (rc != RC_OK)
        goto out;
    sh.run = run;
    sh.sel = sel;
    sh.results = results;
    sh.n = n;
    if (run->real) {
        rc = real_identity(run, &sh, err);
        if (rc != RC_OK)
            goto out;
        jobs = 1;   /* the journal is told apart by sequence, not by principal */
    }
    for (i = 0; i < n; i++)
        results[i].sc = sel[i];
    pthread_mutex_init(&sh.lock, NULL);
    if (jobs > MAX_JOBS)
        jobs = MAX_JOBS;
    if (jobs > n)
        jobs = n ? (unsigned)n : 1;
    for (i = 0; i < jobs; i++) {
        if (pthread_create(&threads[i], NULL, job, &sh) != 0)
            break;
        started++;
    }
    if (started == 0)
        job(&sh);
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&sh.lock);
    run->interrupted = *run->stop != 0;
    if (run->real) {
        struct buf why = BUF_INIT;

        /* Also after Ctrl-C: whatever a scenario cut short or failed to clean up. */
        if (destroy_labelled(run->mock_url, sh.real_token, run->run_id, &run->leftovers, &why)
            != RC_OK)
            run->sweep_error = buf_detach(&why, NULL);
        buf_release(&why);
    }
out:
    mockproc_stop(&mock);
    if (run->workdir) {
        struct buf p = BUF_INIT, log = BUF_INIT;

        buf_addf(&p, "%s/hogmock.log", run->workdir);
        slurp(buf_cstr(&p), &log, LOG_MAX_BYTES);
        run->hogmock_log = buf_detach(&log, NULL);
        buf_release(&p);
        remove_tree(run->workdir, 0);
    }
    free((char *)sh.real_token);
    free(sh.real_principal);
    run->ms = child_now_ms() - t0;
    return rc;
}

void runner_release(struct run *run)
{
    free(run->mock_url);
    free(run->hogmock_log);
    free(run->workdir);
    free(run->not_runnable);
    free(run->sweep_error);
    run->sweep_error = NULL;
    free(run->issuer_args[0]);
    free(run->issuer_args[1]);
    run->issuer_args[0] = run->issuer_args[1] = NULL;
    cJSON_Delete(run->client);
    cJSON_Delete(run->features);
    run->mock_url = run->hogmock_log = run->workdir = run->not_runnable = NULL;
    run->client = run->features = NULL;
}
