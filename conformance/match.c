#include "match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base64.h"
#include "jsonptr.h"
#include "xmalloc.h"

#define DESCRIBE_MAX 200
#define MAX_DEPTH 64

#define BYTES_MAX ((double)(256 << 20))

/* The base64 of a {size, repeat} spec into out; false when the spec is malformed. */
static bool bytes_of(const cJSON *spec, struct buf *out, const char **why)
{
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(spec, "size");
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(spec, "repeat");
    struct buf raw = BUF_INIT;
    size_t n, plen;

    if (!cJSON_IsObject(spec) || cJSON_GetArraySize(spec) != 2 || !cJSON_IsNumber(size)
        || size->valuedouble < 0 || size->valuedouble > BYTES_MAX
        || floor(size->valuedouble) != size->valuedouble || !cJSON_IsString(rep)
        || !*rep->valuestring) {
        *why = "$bytes takes {size: N (up to 256 MiB), repeat: TEXT (not empty)}";
        return false;
    }
    n = (size_t)size->valuedouble;
    plen = strlen(rep->valuestring);
    buf_grow(&raw, n + 1);
    while (raw.len < n)
        buf_add(&raw, rep->valuestring, n - raw.len < plen ? n - raw.len : plen);
    base64_encode(out, raw.data ? raw.data : "", raw.len);
    buf_release(&raw);
    return true;
}

static const char *const type_names[] = {
    "string", "number", "integer", "boolean", "object", "array", "null",
};

void match_describe(struct buf *out, const cJSON *v)
{
    char *text;
    size_t n;

    if (!v) {
        buf_addstr(out, "absent");
        return;
    }
    text = cJSON_PrintUnformatted(v);
    n = strlen(text);
    if (n > DESCRIBE_MAX) {
        /* Cut on a UTF-8 character boundary. */
        size_t cut = DESCRIBE_MAX;

        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;
        buf_add(out, text, cut);
        buf_addf(out, "... (%zu bytes)", n);
    } else {
        buf_add(out, text, n);
    }
    cJSON_free(text);
}

/* An object whose every key starts with '$' is an operator matcher. */
static bool is_operator(const cJSON *m)
{
    const cJSON *c;

    if (!cJSON_IsObject(m) || !m->child)
        return false;
    for (c = m->child; c; c = c->next)
        if (!c->string || c->string[0] != '$')
            return false;
    return true;
}

static void mismatch(struct buf *why, const char *at, const cJSON *want, const cJSON *got,
                     const char *what)
{
    buf_addf(why, "%s: expected ", *at ? at : "/");
    if (what)
        buf_addstr(why, what);
    else
        match_describe(why, want);
    buf_addstr(why, ", got ");
    match_describe(why, got);
    buf_addch(why, '\n');
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool regex_search(const char *pattern, const char *subject, struct buf *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                   &code, &off, NULL);
    pcre2_match_data *md;
    int rc;

    if (!re) {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(code, msg, sizeof(msg));
        if (err)
            buf_addf(err, "not a valid regular expression: %s at offset %zu", (char *)msg,
                     (size_t)off);
        return false;
    }
    if (!subject) {
        pcre2_code_free(re);
        return true;
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static bool type_is(const char *name, const cJSON *got)
{
    if (!got)
        return false;
    if (strcmp(name, "string") == 0)
        return cJSON_IsString(got);
    if (strcmp(name, "number") == 0)
        return cJSON_IsNumber(got);
    if (strcmp(name, "integer") == 0)
        return cJSON_IsNumber(got) && isfinite(got->valuedouble)
               && floor(got->valuedouble) == got->valuedouble;
    if (strcmp(name, "boolean") == 0)
        return cJSON_IsBool(got);
    if (strcmp(name, "object") == 0)
        return cJSON_IsObject(got);
    if (strcmp(name, "array") == 0)
        return cJSON_IsArray(got);
    return cJSON_IsNull(got);
}

static bool match_at(const cJSON *want, const cJSON *got, struct buf *at, struct buf *why,
                     int depth);

/* want's elements occur in got in order, not necessarily adjacent. */
static bool contains_in_order(const cJSON *want, const cJSON *got, struct buf *at,
                              struct buf *why, int depth)
{
    const cJSON *w, *g;
    size_t mark = at->len, wi = 0;
    struct buf scratch = BUF_INIT;

    if (!cJSON_IsArray(got)) {
        mismatch(why, buf_cstr(at), NULL, got, "an array");
        return false;
    }
    g = got->child;
    for (w = want->child; w; w = w->next, wi++) {
        bool hit = false;

        for (; g && !hit; g = g->next) {
            buf_reset(&scratch);
            hit = match_at(w, g, at, &scratch, depth + 1);
            buf_truncate(at, mark);
        }
        if (!hit) {
            struct buf what = BUF_INIT;

            buf_addf(&what, "to contain, in order, element %zu of the expected list: ", wi);
            match_describe(&what, w);
            mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
            buf_release(&what);
            buf_release(&scratch);
            return false;
        }
    }
    buf_release(&scratch);
    return true;
}

static bool match_operator(const cJSON *want, const cJSON *got, struct buf *at,
                           struct buf *why, int depth)
{
    const cJSON *op;

    for (op = want->child; op; op = op->next) {
        const char *k = op->string;

        if (strcmp(k, "$present") == 0) {
            bool present = got && !cJSON_IsNull(got);

            if (present != cJSON_IsTrue(op)) {
                mismatch(why, buf_cstr(at), NULL, got,
                         cJSON_IsTrue(op) ? "present" : "absent or null");
                return false;
            }
        } else if (strcmp(k, "$regex") == 0) {
            if (!cJSON_IsString(got) || !regex_search(op->valuestring, got->valuestring, NULL)) {
                struct buf what = BUF_INIT;

                buf_addstr(&what, "a string matching /");
                buf_addstr(&what, op->valuestring);
                buf_addch(&what, '/');
                mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
                buf_release(&what);
                return false;
            }
        } else if (strcmp(k, "$type") == 0) {
            if (!type_is(op->valuestring, got)) {
                struct buf what = BUF_INIT;

                buf_addf(&what, "a value of type %s", op->valuestring);
                mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
                buf_release(&what);
                return false;
            }
        } else if (strcmp(k, "$len") == 0) {
            double n = -1;

            if (cJSON_IsString(got))
                n = (double)utf8_length(got->valuestring);
            else if (cJSON_IsArray(got) || cJSON_IsObject(got))
                n = (double)cJSON_GetArraySize(got);
            if (n != op->valuedouble) {
                struct buf what = BUF_INIT;

                buf_addf(&what, "a length of %g", op->valuedouble);
                if (n >= 0)
                    buf_addf(&what, " (it has %g)", n);
                mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
                buf_release(&what);
                return false;
            }
        } else if (strcmp(k, "$gte") == 0 || strcmp(k, "$lte") == 0) {
            bool gte = k[1] == 'g';

            if (!cJSON_IsNumber(got)
                || (gte ? got->valuedouble < op->valuedouble : got->valuedouble > op->valuedouble)) {
                struct buf what = BUF_INIT;

                buf_addf(&what, "a number %s %g", gte ? ">=" : "<=", op->valuedouble);
                mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
                buf_release(&what);
                return false;
            }
        } else if (strcmp(k, "$any") == 0) {
            const cJSON *alt;
            struct buf scratch = BUF_INIT;
            size_t mark = at->len;
            bool hit = false;

            for (alt = op->child; alt && !hit; alt = alt->next) {
                hit = match_at(alt, got, at, &scratch, depth + 1);
                buf_truncate(at, mark);
            }
            buf_release(&scratch);
            if (!hit) {
                struct buf what = BUF_INIT;

                buf_addstr(&what, "any of ");
                match_describe(&what, op);
                mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
                buf_release(&what);
                return false;
            }
        } else if (strcmp(k, "$contains") == 0) {
            if (!contains_in_order(op, got, at, why, depth))
                return false;
        } else if (strcmp(k, "$bytes") == 0) {
            struct buf b64 = BUF_INIT;
            const char *bad;
            bool same = bytes_of(op, &b64, &bad) && cJSON_IsString(got)
                        && strcmp(got->valuestring, buf_cstr(&b64)) == 0;

            buf_release(&b64);
            if (!same) {
                struct buf what = BUF_INIT;

                buf_addstr(&what, "the base64 of ");
                match_describe(&what, op);
                mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
                buf_release(&what);
                return false;
            }
        }
    }
    return true;
}

static bool match_at(const cJSON *want, const cJSON *got, struct buf *at, struct buf *why,
                     int depth)
{
    if (depth > MAX_DEPTH) {
        mismatch(why, buf_cstr(at), want, got, "a matcher nested less deeply");
        return false;
    }
    if (is_operator(want))
        return match_operator(want, got, at, why, depth);
    if (!got) {
        mismatch(why, buf_cstr(at), want, got, NULL);
        return false;
    }
    if (cJSON_IsObject(want)) {
        const cJSON *w;
        size_t mark = at->len;
        bool ok = true;

        if (!cJSON_IsObject(got)) {
            mismatch(why, buf_cstr(at), want, got, "an object");
            return false;
        }
        for (w = want->child; w; w = w->next) {
            jsonptr_append(at, w->string);
            ok &= match_at(w, cJSON_GetObjectItemCaseSensitive(got, w->string), at, why,
                           depth + 1);
            buf_truncate(at, mark);
        }
        return ok;
    }
    if (cJSON_IsArray(want)) {
        const cJSON *w, *g;
        size_t mark = at->len, i = 0;
        int nw = cJSON_GetArraySize(want), ng;
        bool ok = true;

        if (!cJSON_IsArray(got)) {
            mismatch(why, buf_cstr(at), want, got, NULL);
            return false;
        }
        ng = cJSON_GetArraySize(got);
        if (nw != ng) {
            struct buf what = BUF_INIT;

            buf_addf(&what, "%d element%s: ", nw, nw == 1 ? "" : "s");
            match_describe(&what, want);
            buf_addf(&what, " (got %d)", ng);
            mismatch(why, buf_cstr(at), NULL, got, buf_cstr(&what));
            buf_release(&what);
            return false;
        }
        for (w = want->child, g = got->child; w && g; w = w->next, g = g->next, i++) {
            jsonptr_append_index(at, i);
            ok &= match_at(w, g, at, why, depth + 1);
            buf_truncate(at, mark);
        }
        return ok;
    }
    if (cJSON_IsNumber(want)) {
        if (cJSON_IsNumber(got) && got->valuedouble == want->valuedouble)
            return true;
    } else if (cJSON_IsString(want)) {
        if (cJSON_IsString(got) && strcmp(got->valuestring, want->valuestring) == 0)
            return true;
    } else if (cJSON_IsBool(want)) {
        if (cJSON_IsBool(got) && cJSON_IsTrue(got) == cJSON_IsTrue(want))
            return true;
    } else if (cJSON_IsNull(want)) {
        if (cJSON_IsNull(got))
            return true;
    }
    mismatch(why, buf_cstr(at), want, got, NULL);
    return false;
}

bool match_json(const cJSON *want, const cJSON *got, const char *at, struct buf *why)
{
    struct buf ptr = BUF_INIT;
    bool ok;

    buf_addstr(&ptr, at ? at : "");
    ok = match_at(want, got, &ptr, why, 0);
    buf_release(&ptr);
    return ok;
}

static enum rc bad(struct buf *err, const struct buf *at, const char *what)
{
    buf_addf(err, "%s: %s", at->len ? buf_cstr(at) : "/", what);
    return RC_INVALID;
}

static enum rc validate_at(const cJSON *m, struct buf *at, struct buf *err, int depth);

static enum rc validate_list(const cJSON *list, struct buf *at, struct buf *err, int depth)
{
    const cJSON *c;
    size_t mark = at->len, i = 0;

    for (c = list->child; c; c = c->next, i++) {
        enum rc rc;

        jsonptr_append_index(at, i);
        rc = validate_at(c, at, err, depth + 1);
        buf_truncate(at, mark);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

static enum rc validate_operator(const cJSON *op, struct buf *at, struct buf *err, int depth)
{
    const char *k = op->string;
    enum rc rc = RC_OK;
    size_t mark = at->len;

    jsonptr_append(at, k);
    if (strcmp(k, "$present") == 0) {
        if (!cJSON_IsBool(op))
            rc = bad(err, at, "$present takes true or false");
    } else if (strcmp(k, "$regex") == 0) {
        struct buf why = BUF_INIT;

        if (!cJSON_IsString(op))
            rc = bad(err, at, "$regex takes a string");
        else if (!regex_search(op->valuestring, NULL, &why) && why.len)
            rc = bad(err, at, buf_cstr(&why));
        buf_release(&why);
    } else if (strcmp(k, "$type") == 0) {
        size_t i;
        bool known = false;

        for (i = 0; cJSON_IsString(op) && i < sizeof(type_names) / sizeof(type_names[0]); i++)
            known |= strcmp(op->valuestring, type_names[i]) == 0;
        if (!known)
            rc = bad(err, at, "$type takes string, number, integer, boolean, object, array or null");
    } else if (strcmp(k, "$len") == 0) {
        if (!cJSON_IsNumber(op) || op->valuedouble < 0 || floor(op->valuedouble) != op->valuedouble)
            rc = bad(err, at, "$len takes a non-negative integer");
    } else if (strcmp(k, "$gte") == 0 || strcmp(k, "$lte") == 0) {
        if (!cJSON_IsNumber(op))
            rc = bad(err, at, "$gte and $lte take a number");
    } else if (strcmp(k, "$bytes") == 0) {
        struct buf b64 = BUF_INIT;
        const char *why = NULL;
        cJSON *probe = cJSON_Duplicate(op, true);
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(probe, "size");

        /* Check the shape without making the bytes. */
        if (cJSON_IsNumber(size) && size->valuedouble >= 0 && size->valuedouble <= BYTES_MAX)
            cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(probe, "size"), 0);
        if (!bytes_of(probe, &b64, &why))
            rc = bad(err, at, why);
        else if (!cJSON_IsNumber(size) || size->valuedouble > BYTES_MAX)
            rc = bad(err, at, "$bytes takes {size: N (up to 256 MiB), repeat: TEXT (not empty)}");
        cJSON_Delete(probe);
        buf_release(&b64);
    } else if (strcmp(k, "$any") == 0 || strcmp(k, "$contains") == 0) {
        if (!cJSON_IsArray(op) || !op->child)
            rc = bad(err, at, "$any and $contains take a non-empty list of matchers");
        else
            rc = validate_list(op, at, err, depth);
    } else {
        rc = bad(err, at, "unknown matcher (known: $regex, $type, $present, $len, $gte, $lte, "
                 "$any, $contains, $bytes)");
    }
    buf_truncate(at, mark);
    return rc;
}

static enum rc validate_at(const cJSON *m, struct buf *at, struct buf *err, int depth)
{
    const cJSON *c;
    size_t mark = at->len;

    if (depth > MAX_DEPTH)
        return bad(err, at, "matcher nested too deeply");
    if (cJSON_IsObject(m)) {
        bool some_op = false, some_plain = false;

        for (c = m->child; c; c = c->next) {
            if (c->string[0] == '$')
                some_op = true;
            else
                some_plain = true;
        }
        if (some_op && some_plain)
            return bad(err, at, "an object mixes $ matchers and members");
        for (c = m->child; c; c = c->next) {
            enum rc rc;

            if (some_op) {
                rc = validate_operator(c, at, err, depth);
            } else {
                jsonptr_append(at, c->string);
                rc = validate_at(c, at, err, depth + 1);
                buf_truncate(at, mark);
            }
            if (rc != RC_OK)
                return rc;
        }
        return RC_OK;
    }
    if (cJSON_IsArray(m))
        return validate_list(m, at, err, depth);
    return RC_OK;
}

enum rc match_validate(const cJSON *m, const char *at, struct buf *err)
{
    struct buf ptr = BUF_INIT;
    enum rc rc;

    buf_addstr(&ptr, at ? at : "");
    rc = validate_at(m, &ptr, err, 0);
    buf_release(&ptr);
    return rc;
}

static enum rc expand_at(cJSON *v, struct buf *at, struct buf *err, int depth)
{
    cJSON *c;
    size_t mark = at->len, i = 0;

    if (depth > MAX_DEPTH)
        return bad(err, at, "nested too deeply");
    for (c = v ? v->child : NULL; c; c = c->next, i++) {
        const cJSON *spec;
        enum rc rc;

        if (cJSON_IsObject(v))
            jsonptr_append(at, c->string);
        else
            jsonptr_append_index(at, i);
        if (cJSON_IsObject(c) && cJSON_GetArraySize(c) == 1
            && (spec = cJSON_GetObjectItemCaseSensitive(c, "$bytes"))) {
            struct buf b64 = BUF_INIT;
            const char *why;

            if (!bytes_of(spec, &b64, &why)) {
                buf_addstr(at, "/$bytes");
                rc = bad(err, at, why);
            } else {
                cJSON *str = cJSON_CreateString(buf_cstr(&b64));

                /* The new item takes c's place (and key); c is freed. */
                if (cJSON_IsObject(v))
                    cJSON_ReplaceItemInObjectCaseSensitive(v, c->string, str);
                else
                    cJSON_ReplaceItemViaPointer(v, c, str);
                c = str;
                rc = RC_OK;
            }
            buf_release(&b64);
        } else {
            rc = expand_at(c, at, err, depth + 1);
        }
        buf_truncate(at, mark);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc match_expand_bytes(cJSON *v, const char *at, struct buf *err)
{
    struct buf ptr = BUF_INIT;
    enum rc rc;

    buf_addstr(&ptr, at ? at : "");
    rc = expand_at(v, &ptr, err, 0);
    buf_release(&ptr);
    return rc;
}
