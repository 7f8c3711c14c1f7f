#include "verify.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "xmalloc.h"

#define ADMIN_PREFIX "/__hogmock"
/* Seqs and gaps an answer lists; the counts and messages still cover them all. */
#define LIST_MAX 100
/* Requests or gaps a message names before "...". */
#define NAMED_MAX 3
/* Backtracking steps one header match may take: a slow regex fails, it does not hang. */
#define MATCH_LIMIT 1000000

/* One matcher of a check, compiled. */
struct matcher {
    const cJSON *json;          /* as given, for messages */
    const char *op, *method, *path, *principal, *header;
    bool path_glob, has_status;
    int status;
    char header_lower[257];
    pcre2_code *re;
};

/* The entries a verification looks at: the hogplane API's, oldest first. */
struct view {
    cJSON *all;
    const cJSON **items;
    size_t count;
    bool clock_virtual;
    pcre2_match_context *mctx;
};

/* ---- entries ---------------------------------------------------------------------- */

static const char *e_str(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double e_num(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static unsigned long long e_seq(const cJSON *e)
{
    return (unsigned long long)e_num(e, "seq");
}

/* ---- matchers --------------------------------------------------------------------- */

static const char *m_str(const cJSON *m, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Compile the matcher at ptr (json may be NULL: every request). */
static bool matcher_init(struct matcher *m, const cJSON *json, const char *ptr,
                         struct buf *err)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(json, "status");
    const cJSON *header = cJSON_GetObjectItemCaseSensitive(json, "header");
    const char *regex = m_str(header, "regex");
    size_t i;

    memset(m, 0, sizeof(*m));
    m->json = json;
    if (!json)
        return true;
    m->op = m_str(json, "op");
    m->method = m_str(json, "method");
    m->path = m_str(json, "path");
    m->principal = m_str(json, "principal");
    m->path_glob = m->path && strpbrk(m->path, "*?[") != NULL;
    if (cJSON_IsNumber(status)) {
        m->has_status = true;
        m->status = status->valueint;
    }
    m->header = m_str(header, "name");
    if (header && (!m->header || !m->header[0] || strlen(m->header) >= sizeof(m->header_lower))) {
        buf_addf(err, "%s/header/name: must be a header name of 1 to 256 characters", ptr);
        return false;
    }
    for (i = 0; m->header && m->header[i]; i++)
        m->header_lower[i] = (char)tolower((unsigned char)m->header[i]);
    if (regex) {
        PCRE2_SIZE off;
        int code;

        m->re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off,
                              NULL);
        if (!m->re) {
            PCRE2_UCHAR msg[256];

            if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
                strcpy((char *)msg, "unknown error");
            buf_addf(err, "%s/header/regex: not a valid regular expression: %s at offset %zu",
                     ptr, (const char *)msg, (size_t)off);
            return false;
        }
    }
    return true;
}

static void matcher_release(struct matcher *m)
{
    pcre2_code_free(m->re);
    m->re = NULL;
}

static bool regex_finds(const struct view *v, const pcre2_code *re, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, v->mctx);

    pcre2_match_data_free(md);
    return rc >= 0;
}

static bool matches(const struct view *v, const struct matcher *m, const cJSON *e)
{
    const char *s;

    if (!m->json)
        return true;
    if (m->op && (!(s = e_str(e, "op")) || strcmp(s, m->op) != 0))
        return false;
    if (m->method && (!(s = e_str(e, "method")) || strcasecmp(s, m->method) != 0))
        return false;
    if (m->principal && (!(s = e_str(e, "principal_id")) || strcmp(s, m->principal) != 0))
        return false;
    if (m->has_status && (int)e_num(e, "status") != m->status)
        return false;
    if (m->path) {
        s = e_str(e, "path");
        /* As the journal's filter: a glob's star also crosses slashes. */
        if (!s || (m->path_glob ? fnmatch(m->path, s, 0) != 0 : strcmp(m->path, s) != 0))
            return false;
    }
    if (m->header) {
        s = e_str(cJSON_GetObjectItemCaseSensitive(e, "headers"), m->header_lower);
        if (!s || (m->re && !regex_finds(v, m->re, s)))
            return false;
    }
    return true;
}

/* "op=getHogbox status=404 header retry-after~/^1$/", or "any request". */
static void describe(struct buf *b, const struct matcher *m)
{
    static const char *const names[] = { "op", "method", "path", "principal", NULL };
    const char *const *n;
    size_t start = b->len;

    for (n = names; *n; n++) {
        const char *s = m_str(m->json, *n);

        if (s)
            buf_addf(b, "%s%s=%s", b->len > start ? " " : "", *n, s);
    }
    if (m->has_status)
        buf_addf(b, "%sstatus=%d", b->len > start ? " " : "", m->status);
    if (m->header) {
        const char *re = m_str(cJSON_GetObjectItemCaseSensitive(m->json, "header"), "regex");

        buf_addf(b, "%sheader %s", b->len > start ? " " : "", m->header_lower);
        if (re)
            buf_addf(b, "~/%s/", re);
    }
    if (b->len == start)
        buf_addstr(b, "any request");
}

/* ---- results ---------------------------------------------------------------------- */

static cJSON *result_new(const cJSON *check, const char *kind)
{
    cJSON *res = cJSON_CreateObject();
    const char *name = m_str(check, "name");

    cJSON_AddStringToObject(res, "kind", kind);
    if (name)
        cJSON_AddStringToObject(res, "name", name);
    return res;
}

static void result_end(cJSON *res, bool passed, struct buf *msg, cJSON *seqs)
{
    cJSON_AddBoolToObject(res, "passed", passed);
    cJSON_AddStringToObject(res, "message", buf_cstr(msg));
    cJSON_AddItemToObject(res, "seqs", seqs);
    buf_release(msg);
}

static void add_seq(cJSON *seqs, const cJSON *e)
{
    if (cJSON_GetArraySize(seqs) < LIST_MAX)
        cJSON_AddItemToArray(seqs, cJSON_CreateNumber((double)e_seq(e)));
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* The bounds a count or gaps check states. */
static void describe_bounds(struct buf *b, const cJSON *check, const char *lo, const char *hi,
                            const char *unit)
{
    const cJSON *exact = cJSON_GetObjectItemCaseSensitive(check, "exact");
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(check, lo);
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(check, hi);

    if (cJSON_IsNumber(exact))
        buf_addf(b, "exactly %g%s", exact->valuedouble, unit);
    else if (cJSON_IsNumber(min) && cJSON_IsNumber(max))
        buf_addf(b, "from %g to %g%s", min->valuedouble, max->valuedouble, unit);
    else if (cJSON_IsNumber(min))
        buf_addf(b, "at least %g%s", min->valuedouble, unit);
    else
        buf_addf(b, "at most %g%s", max->valuedouble, unit);
}

/* Check the bounds lo/hi (and exact, when exact_ok) of check at ptr: at least one, and
 * none that contradict. */
static bool bounds_ok(const cJSON *check, const char *ptr, const char *lo, const char *hi,
                      bool exact_ok, struct buf *err)
{
    const cJSON *exact = exact_ok ? cJSON_GetObjectItemCaseSensitive(check, "exact") : NULL;
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(check, lo);
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(check, hi);

    if (!exact && !min && !max) {
        buf_addf(err, "%s: a %s check needs %s%s or %s", ptr, m_str(check, "kind"),
                 exact_ok ? "exact, " : "", lo, hi);
        return false;
    }
    if (exact && (min || max)) {
        buf_addf(err, "%s/exact: exact leaves no room for %s", ptr, min ? lo : hi);
        return false;
    }
    if (cJSON_IsNumber(min) && cJSON_IsNumber(max) && min->valuedouble > max->valuedouble) {
        buf_addf(err, "%s/%s: %s %g is more than %s %g", ptr, lo, lo, min->valuedouble, hi,
                 max->valuedouble);
        return false;
    }
    return true;
}

/* ---- the checks ------------------------------------------------------------------- */

static cJSON *check_count(const struct view *v, const cJSON *check, const struct matcher *m)
{
    const cJSON *exact = cJSON_GetObjectItemCaseSensitive(check, "exact");
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(check, "min");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(check, "max");
    cJSON *res = result_new(check, "count"), *seqs = cJSON_CreateArray();
    struct buf msg = BUF_INIT;
    size_t n = 0, i;
    bool passed;

    for (i = 0; i < v->count; i++) {
        if (matches(v, m, v->items[i])) {
            n++;
            add_seq(seqs, v->items[i]);
        }
    }
    if (cJSON_IsNumber(exact))
        passed = (double)n == exact->valuedouble;
    else
        passed = (!cJSON_IsNumber(min) || (double)n >= min->valuedouble)
                 && (!cJSON_IsNumber(max) || (double)n <= max->valuedouble);
    buf_addf(&msg, "%zu %s ", n, plural(n, "request matches", "requests match"));
    describe(&msg, m);
    if (passed) {
        buf_addstr(&msg, ": ");
        describe_bounds(&msg, check, "min", "max", "");
        buf_addstr(&msg, " expected");
    } else {
        buf_addstr(&msg, ", expected ");
        describe_bounds(&msg, check, "min", "max", "");
    }
    cJSON_AddNumberToObject(res, "count", (double)n);
    result_end(res, passed, &msg, seqs);
    return res;
}

static cJSON *check_order(const struct view *v, const cJSON *check, const struct matcher *steps,
                          size_t nsteps)
{
    cJSON *res = result_new(check, "order"), *seqs = cJSON_CreateArray();
    struct buf msg = BUF_INIT;
    const cJSON *last = NULL;
    size_t pos = 0, i;

    for (i = 0; i < v->count && pos < nsteps; i++) {
        if (matches(v, &steps[pos], v->items[i])) {
            last = v->items[i];
            add_seq(seqs, last);
            pos++;
        }
    }
    if (pos == nsteps) {
        buf_addf(&msg, "the %zu %s in order", nsteps, plural(nsteps, "step occurs", "steps occur"));
        if (nsteps <= 10) {
            const cJSON *s;

            buf_addstr(&msg, " (seqs ");
            cJSON_ArrayForEach(s, seqs)
                buf_addf(&msg, "%s%.0f", s == seqs->child ? "" : ", ", s->valuedouble);
            buf_addch(&msg, ')');
        }
        result_end(res, true, &msg, seqs);
        return res;
    }
    buf_addf(&msg, "step %zu of %zu (", pos + 1, nsteps);
    describe(&msg, &steps[pos]);
    if (!last) {
        buf_addstr(&msg, ") matches no request");
    } else {
        size_t before = 0;
        const cJSON *first = NULL;

        buf_addf(&msg, ") does not occur after step %zu (seq %llu)", pos, e_seq(last));
        for (i = 0; i < v->count && e_seq(v->items[i]) <= e_seq(last); i++) {
            if (matches(v, &steps[pos], v->items[i])) {
                if (!first)
                    first = v->items[i];
                before++;
            }
        }
        if (first)
            buf_addf(&msg, "; it matches %zu earlier %s, the first at seq %llu", before,
                     plural(before, "request", "requests"), e_seq(first));
        else
            buf_addstr(&msg, "; it matches no request at all");
    }
    result_end(res, false, &msg, seqs);
    return res;
}

static void add_ms(struct buf *b, double ms)
{
    if (ms == floor(ms))
        buf_addf(b, "%.0f ms", ms);
    else
        buf_addf(b, "%.3f ms", ms);
}

static cJSON *check_gaps(const struct view *v, const cJSON *check, const struct matcher *m,
                         const struct matcher *after)
{
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(check, "min_ms");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(check, "max_ms");
    const char *clock = m_str(check, "clock");
    bool mono = clock && strcmp(clock, "monotonic") == 0;
    const char *field = mono ? "mono_ms" : "time_ms";
    cJSON *res = result_new(check, "gaps"), *seqs = cJSON_CreateArray(), *gaps;
    struct buf msg = BUF_INIT, bad = BUF_INIT, what = BUF_INIT;
    const cJSON *prev = NULL;
    size_t n = 0, ngaps = 0, nbad = 0, i;
    double lo = INFINITY, hi = -INFINITY;

    cJSON_AddStringToObject(res, "clock", mono ? "monotonic" : "hogmock");
    gaps = cJSON_AddArrayToObject(res, "gaps");
    for (i = 0; i < v->count; i++) {
        const cJSON *e = v->items[i];
        double ms;

        if (!matches(v, m, e))
            continue;
        n++;
        add_seq(seqs, e);
        if (prev && (!after->json || matches(v, after, prev))) {
            bool ok;

            ms = e_num(e, field) - e_num(prev, field);
            ok = (!cJSON_IsNumber(min) || ms >= min->valuedouble)
                 && (!cJSON_IsNumber(max) || ms <= max->valuedouble);
            ngaps++;
            lo = ms < lo ? ms : lo;
            hi = ms > hi ? ms : hi;
            if (cJSON_GetArraySize(gaps) < LIST_MAX) {
                cJSON *g = cJSON_CreateObject();

                cJSON_AddNumberToObject(g, "from_seq", (double)e_seq(prev));
                cJSON_AddNumberToObject(g, "to_seq", (double)e_seq(e));
                cJSON_AddNumberToObject(g, "ms", ms);
                cJSON_AddBoolToObject(g, "passed", ok);
                cJSON_AddItemToArray(gaps, g);
            }
            if (!ok && nbad++ < NAMED_MAX) {
                if (bad.len)
                    buf_addstr(&bad, ", ");
                add_ms(&bad, ms);
                buf_addf(&bad, " from seq %llu to seq %llu", e_seq(prev), e_seq(e));
            }
        }
        prev = e;
    }
    buf_addstr(&what, "requests matching ");
    describe(&what, m);
    if (after->json) {
        buf_addstr(&what, " that follow one matching ");
        describe(&what, after);
    }
    buf_addstr(&what, mono ? ", on the monotonic clock (real time)"
                           : v->clock_virtual ? ", on hogmock's clock (virtual)"
                                              : ", on hogmock's clock (real)");
    if (!ngaps) {
        buf_addf(&msg, "no gap to check between %s: %zu %s", buf_cstr(&what), n,
                 plural(n, "request matches", "requests match"));
    } else if (!nbad) {
        buf_addf(&msg, "%zu %s between %s, from ", ngaps, plural(ngaps, "gap", "gaps"),
                 buf_cstr(&what));
        add_ms(&msg, lo);
        buf_addstr(&msg, " to ");
        add_ms(&msg, hi);
        buf_addstr(&msg, ", all ");
        describe_bounds(&msg, check, "min_ms", "max_ms", " ms");
    } else {
        buf_addf(&msg, "%zu of %zu %s between %s %s not ", nbad, ngaps,
                 plural(ngaps, "gap", "gaps"), buf_cstr(&what), plural(nbad, "is", "are"));
        describe_bounds(&msg, check, "min_ms", "max_ms", " ms");
        buf_addf(&msg, ": %s%s", buf_cstr(&bad), nbad > NAMED_MAX ? ", ..." : "");
    }
    buf_release(&bad);
    buf_release(&what);
    result_end(res, nbad == 0, &msg, seqs);
    return res;
}

static cJSON *check_unmatched(const struct view *v, const cJSON *check)
{
    const cJSON *empty = cJSON_GetObjectItemCaseSensitive(check, "empty");
    bool want_empty = !cJSON_IsFalse(empty);
    cJSON *res = result_new(check, "unmatched"), *seqs = cJSON_CreateArray();
    struct buf msg = BUF_INIT, list = BUF_INIT;
    size_t n = 0, i;
    bool passed;

    for (i = 0; i < v->count; i++) {
        const cJSON *e = v->items[i];

        if (e_str(e, "op"))
            continue;
        add_seq(seqs, e);
        if (n++ < NAMED_MAX) {
            const char *q = e_str(e, "query");

            buf_addf(&list, "%s%s %s%s%s (seq %llu)", list.len ? ", " : "", e_str(e, "method"),
                     e_str(e, "path"), q && *q ? "?" : "", q ? q : "", e_seq(e));
        }
    }
    passed = (n == 0) == want_empty;
    if (n == 0)
        buf_addstr(&msg, want_empty ? "every request matched an operation of the spec"
                                    : "every request matched an operation of the spec, but "
                                      "unmatched ones were expected");
    else
        buf_addf(&msg, "%zu %s no operation of the spec%s: %s%s", n,
                 plural(n, "request matched", "requests matched"), want_empty ? "" : ", as expected",
                 buf_cstr(&list), n > NAMED_MAX ? ", ..." : "");
    buf_release(&list);
    cJSON_AddNumberToObject(res, "count", (double)n);
    result_end(res, passed, &msg, seqs);
    return res;
}

/* ---- the run ---------------------------------------------------------------------- */

/* Refuse a member that check's kind does not take. */
static bool members_ok(const cJSON *check, const char *kind, const char *ptr, struct buf *err)
{
    static const struct { const char *kind, *const members[7]; } kinds[] = {
        { "count", { "kind", "name", "match", "exact", "min", "max", NULL } },
        { "order", { "kind", "name", "steps", NULL } },
        { "gaps", { "kind", "name", "match", "after", "clock", "min_ms", "max_ms" } },
        { "unmatched", { "kind", "name", "empty", NULL } },
    };
    const cJSON *m;
    size_t k, i;

    for (k = 0; k < 4 && strcmp(kinds[k].kind, kind) != 0; k++)
        ;
    if (k == 4) {
        buf_addf(err, "%s/kind: '%s' is not count, order, gaps or unmatched", ptr, kind);
        return false;
    }
    cJSON_ArrayForEach(m, check) {
        for (i = 0; i < 7 && kinds[k].members[i] && strcmp(kinds[k].members[i], m->string) != 0;
             i++)
            ;
        if (i < 7 && kinds[k].members[i])
            continue;
        buf_addf(err, "%s/%s: a%s %s check does not take %s (it takes ", ptr, m->string,
                 kind[0] == 'o' || kind[0] == 'u' ? "n" : "", kind, m->string);
        for (i = 1; i < 7 && kinds[k].members[i]; i++)
            buf_addf(err, "%s%s", i > 1 ? ", " : "", kinds[k].members[i]);
        buf_addch(err, ')');
        return false;
    }
    return true;
}

/* Compile every matcher of check at ptr; steps gets the order's (nsteps of them). */
static bool prepare(const cJSON *check, const char *ptr, struct matcher *m, struct matcher *after,
                    struct matcher **steps, size_t *nsteps, struct buf *err)
{
    const char *kind = m_str(check, "kind");
    struct buf sub = BUF_INIT;
    bool ok = true;

    *steps = NULL;
    *nsteps = 0;
    memset(m, 0, sizeof(*m));
    memset(after, 0, sizeof(*after));
    if (!kind) {
        buf_addf(err, "%s/kind: must be count, order, gaps or unmatched", ptr);
        return false;
    }
    if (!members_ok(check, kind, ptr, err))
        return false;
    if (strcmp(kind, "order") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(check, "steps"), *s;
        size_t i = 0;

        if (!cJSON_IsArray(list) || !list->child) {
            buf_addf(err, "%s/steps: an order check needs at least one step", ptr);
            return false;
        }
        *steps = xcalloc((size_t)cJSON_GetArraySize(list), sizeof(**steps));
        cJSON_ArrayForEach(s, list) {
            buf_reset(&sub);
            buf_addf(&sub, "%s/steps/%zu", ptr, i);
            if (!(ok = matcher_init(&(*steps)[i++], s, buf_cstr(&sub), err)))
                break;
        }
        *nsteps = i;
    } else if (strcmp(kind, "count") == 0 || strcmp(kind, "gaps") == 0) {
        bool count = strcmp(kind, "count") == 0;

        buf_addf(&sub, "%s/match", ptr);
        ok = matcher_init(m, cJSON_GetObjectItemCaseSensitive(check, "match"), buf_cstr(&sub),
                          err);
        if (ok && !count) {
            buf_reset(&sub);
            buf_addf(&sub, "%s/after", ptr);
            ok = matcher_init(after, cJSON_GetObjectItemCaseSensitive(check, "after"),
                              buf_cstr(&sub), err);
        }
        ok = ok && bounds_ok(check, ptr, count ? "min" : "min_ms", count ? "max" : "max_ms",
                             count, err);
    }
    buf_release(&sub);
    return ok;
}

static void release_matchers(struct matcher *m, struct matcher *after, struct matcher *steps,
                             size_t nsteps)
{
    size_t i;

    matcher_release(m);
    matcher_release(after);
    for (i = 0; i < nsteps; i++)
        matcher_release(&steps[i]);
    free(steps);
}

enum rc verify_run(struct journal *j, const cJSON *request, bool clock_virtual, cJSON **out,
                   struct buf *err)
{
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(request, "checks"), *check;
    const cJSON *since = cJSON_GetObjectItemCaseSensitive(request, "since");
    cJSON *filter = cJSON_CreateObject(), *results = cJSON_CreateArray();
    struct view v = { 0 };
    enum rc rc = RC_OK;
    bool all = true;
    size_t i = 0;

    *out = NULL;
    if (cJSON_IsNumber(since))
        cJSON_AddNumberToObject(filter, "since", since->valuedouble);
    v.all = journal_select(j, filter);
    cJSON_Delete(filter);
    v.clock_virtual = clock_virtual;
    v.mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(v.mctx, MATCH_LIMIT);
    v.items = xcalloc((size_t)cJSON_GetArraySize(v.all) + 1, sizeof(*v.items));
    for (check = v.all->child; check; check = check->next) {
        const char *path = e_str(check, "path");

        /* The admin API's requests (these very checks among them) are not the client's. */
        if (path && str_startswith(path, ADMIN_PREFIX)
            && (path[strlen(ADMIN_PREFIX)] == '/' || !path[strlen(ADMIN_PREFIX)]))
            continue;
        v.items[v.count++] = check;
    }
    cJSON_ArrayForEach(check, checks) {
        struct matcher m, after, *steps;
        size_t nsteps;
        char ptr[32];
        const char *kind = m_str(check, "kind");
        cJSON *res = NULL;

        snprintf(ptr, sizeof(ptr), "/checks/%zu", i++);
        if (!prepare(check, ptr, &m, &after, &steps, &nsteps, err)) {
            release_matchers(&m, &after, steps, nsteps);
            rc = RC_INVALID;
            break;
        }
        if (strcmp(kind, "count") == 0)
            res = check_count(&v, check, &m);
        else if (strcmp(kind, "order") == 0)
            res = check_order(&v, check, steps, nsteps);
        else if (strcmp(kind, "gaps") == 0)
            res = check_gaps(&v, check, &m, &after);
        else
            res = check_unmatched(&v, check);
        release_matchers(&m, &after, steps, nsteps);
        all = all && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "passed"));
        cJSON_AddItemToArray(results, res);
    }
    if (rc == RC_OK && !checks) {
        buf_addstr(err, "/checks: at least one check is needed");
        rc = RC_INVALID;
    }
    pcre2_match_context_free(v.mctx);
    free(v.items);
    cJSON_Delete(v.all);
    if (rc != RC_OK) {
        cJSON_Delete(results);
        return rc;
    }
    *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(*out, "passed", all);
    cJSON_AddItemToObject(*out, "checks", results);
    return RC_OK;
}
