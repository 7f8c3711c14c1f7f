#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void param_issues_release(struct param_issues *issues)
{
    size_t i;

    for (i = 0; i < issues->count; i++) {
        free(issues->items[i].name);
        free(issues->items[i].detail);
    }
    free(issues->items);
    issues->items = NULL;
    issues->count = issues->cap = 0;
}

static void issue(struct param_issues *issues, enum openapi_in in, const char *name,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void issue(struct param_issues *issues, enum openapi_in in, const char *name,
                  const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    char tmp[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    buf_addstr(&b, tmp);
    if (issues->count == issues->cap) {
        issues->cap = issues->cap ? issues->cap * 2 : 4;
        issues->items = xrealloc(issues->items, issues->cap * sizeof(*issues->items));
    }
    issues->items[issues->count].in = in;
    issues->items[issues->count].name = xstrdup(name);
    issues->items[issues->count++].detail = buf_detach(&b, NULL);
}

/* Quote a value for a message, cut short so a huge parameter cannot flood a response. */
static const char *shown(const char *text, char *tmp, size_t size)
{
    size_t len = strlen(text);

    if (len + 1 <= size)
        return text;
    snprintf(tmp, size, "%.*s...", (int)(size - 4), text);
    return tmp;
}

static bool parse_integer(const char *s, double *out)
{
    const char *p = s;
    long long v;
    char *end;

    if (*p == '-' || *p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    /* Beyond 2^53 a JSON number (double) would no longer be exact. */
    if (*end || errno == ERANGE || v > 9007199254740992LL || v < -9007199254740992LL)
        return false;
    *out = (double)v;
    return true;
}

static bool parse_number(const char *s, double *out)
{
    char *end;
    double v;

    /* JSON's number grammar: no hex, no inf/nan, no leading '+' or whitespace. */
    if (!*s || strspn(s, "-0123456789.eE+") != strlen(s) || *s == '+' || *s == '.')
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Convert text to one of the schema's types, tried in a fixed order (most specific first,
 * so "1" under ["string","integer"] is the integer); arrays and objects are not scalars. */
static cJSON *convert_scalar(const char *text, const cJSON *schema, struct buf *why)
{
    const cJSON *type = schema ? cJSON_GetObjectItemCaseSensitive(schema, "type") : NULL;
    static const char *const order[] = { "null", "boolean", "integer", "number", "string" };
    bool any = !type, want[5] = { false };
    size_t i;
    double d;

    if (cJSON_IsString(type)) {
        for (i = 0; i < 5; i++)
            want[i] = strcmp(type->valuestring, order[i]) == 0;
    } else if (cJSON_IsArray(type)) {
        const cJSON *t;

        cJSON_ArrayForEach(t, type)
            for (i = 0; i < 5; i++)
                if (cJSON_IsString(t) && strcmp(t->valuestring, order[i]) == 0)
                    want[i] = true;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(schema, "nullable")))
        want[0] = true;
    if (any || want[4])
        want[4] = true;
    if (want[0] && strcmp(text, "null") == 0)
        return cJSON_CreateNull();
    if (want[1] && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0))
        return cJSON_CreateBool(text[0] == 't');
    if (want[2] && parse_integer(text, &d))
        return cJSON_CreateNumber(d);
    if (want[3] && parse_number(text, &d))
        return cJSON_CreateNumber(d);
    if (want[4])
        return cJSON_CreateString(text);

    {
        char tmp[80];
        const char *v = shown(text, tmp, sizeof(tmp));

        if (want[2] && !want[3])
            buf_addf(why, "'%s' is not an integer", v);
        else if (want[3])
            buf_addf(why, "'%s' is not a number", v);
        else if (want[1])
            buf_addf(why, "'%s' is not a boolean (true or false)", v);
        else
            buf_addf(why, "'%s' is not of the expected type", v);
    }
    return NULL;
}

static bool is_array_schema(const cJSON *schema)
{
    const cJSON *type = schema ? cJSON_GetObjectItemCaseSensitive(schema, "type") : NULL;
    const cJSON *t;

    if (cJSON_IsString(type))
        return strcmp(type->valuestring, "array") == 0;
    cJSON_ArrayForEach(t, type)
        if (cJSON_IsString(t) && strcmp(t->valuestring, "array") == 0)
            return true;
    return false;
}

enum rc params_convert(const char *text, const cJSON *schema, cJSON **out, struct buf *why)
{
    *out = convert_scalar(text, schema, why);
    return *out ? RC_OK : RC_INVALID;
}

/* Decode a form-urlencoded component ('+' is a space); false on a bad escape or NUL. */
static bool form_decode(const char *s, size_t len, struct buf *out)
{
    buf_reset(out);
    return buf_add_pct_decoded(out, s, len, true);
}

/* Add value (raw text) for parameter p to obj, converting per p's schema. */
static void add_value(cJSON *obj, const struct openapi_param *p, const char *text,
                      struct param_issues *issues)
{
    const cJSON *items = p->schema ? cJSON_GetObjectItemCaseSensitive(p->schema, "items") : NULL;
    cJSON *have = cJSON_GetObjectItemCaseSensitive(obj, p->name), *v;
    struct buf why = BUF_INIT;

    if (!is_array_schema(p->schema)) {
        if (have) {
            issue(issues, p->in, p->name, "given more than once; it takes a single value");
            return;
        }
        v = convert_scalar(text, p->schema, &why);
        if (v)
            cJSON_AddItemToObject(obj, p->name, v);
        else
            issue(issues, p->in, p->name, "%s", buf_cstr(&why));
        buf_release(&why);
        return;
    }
    if (!have)
        have = cJSON_AddArrayToObject(obj, p->name);
    if (p->explode) {
        v = convert_scalar(text, items, &why);
        if (v)
            cJSON_AddItemToArray(have, v);
        else
            issue(issues, p->in, p->name, "item %d: %s", cJSON_GetArraySize(have), buf_cstr(&why));
    } else {
        const char *s = text;

        for (;;) {
            const char *comma = strchr(s, p->delim);
            char *one = comma ? xstrndup(s, (size_t)(comma - s)) : xstrdup(s);

            buf_reset(&why);
            v = convert_scalar(one, items, &why);
            free(one);
            if (v)
                cJSON_AddItemToArray(have, v);
            else
                issue(issues, p->in, p->name, "item %d: %s", cJSON_GetArraySize(have),
                      buf_cstr(&why));
            if (!comma)
                break;
            s = comma + 1;
        }
    }
    buf_release(&why);
}

static bool has_issue(const struct param_issues *issues, size_t from, enum openapi_in in,
                      const char *name)
{
    size_t i;

    for (i = from; i < issues->count; i++)
        if (issues->items[i].in == in && strcmp(issues->items[i].name, name) == 0)
            return true;
    return false;
}

/* Fill defaults for absent optional parameters and report absent required ones (those
 * given with a bad value are already reported). */
static void finish(const struct openapi_op *op, enum openapi_in in, cJSON *obj,
                   struct param_issues *issues, size_t before)
{
    size_t i;

    for (i = 0; i < op->nparams; i++) {
        const struct openapi_param *p = &op->params[i];
        const cJSON *def;

        if (p->in != in || cJSON_GetObjectItemCaseSensitive(obj, p->name)
            || has_issue(issues, before, in, p->name))
            continue;
        if (p->required) {
            issue(issues, in, p->name, "is required");
            continue;
        }
        def = p->schema ? cJSON_GetObjectItemCaseSensitive(p->schema, "default") : NULL;
        if (def)
            cJSON_AddItemToObject(obj, p->name, cJSON_Duplicate(def, 1));
    }
}

/* The deepObject query parameter that key ("filter[state]") belongs to, or NULL. */
static const struct openapi_param *deep_object_of(const struct openapi_op *op, const char *key)
{
    size_t i, n;

    for (i = 0; i < op->nparams; i++) {
        const struct openapi_param *p = &op->params[i];

        n = strlen(p->name);
        if (p->deep_object && p->in == OPENAPI_IN_QUERY && strncmp(key, p->name, n) == 0
            && (key[n] == '[' || key[n] == '\0'))
            return p;
    }
    return NULL;
}

static enum rc done(cJSON *obj, size_t before, struct param_issues *issues, cJSON **out)
{
    if (issues->count > before) {
        cJSON_Delete(obj);
        *out = NULL;
        return RC_INVALID;
    }
    *out = obj;
    return RC_OK;
}

enum rc params_query(const struct openapi_op *op, const char *query, cJSON **out,
                     struct param_issues *issues)
{
    cJSON *obj = cJSON_CreateObject();
    struct buf name = BUF_INIT, value = BUF_INIT;
    size_t before = issues->count;
    const char *s = query ? query : "";

    while (*s) {
        const char *amp = strchr(s, '&'), *end = amp ? amp : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        const char *name_end = eq ? eq : end;
        const struct openapi_param *p;

        if (end == s) {
            s = end + 1;
            continue;
        }
        if (!form_decode(s, (size_t)(name_end - s), &name)) {
            char tmp[80], *raw = xstrndup(s, (size_t)(name_end - s));

            issue(issues, OPENAPI_IN_QUERY, shown(raw, tmp, sizeof(tmp)),
                  "the parameter name has a malformed %%-escape");
            free(raw);
        } else if ((p = deep_object_of(op, buf_cstr(&name))) != NULL) {
            if (!has_issue(issues, before, OPENAPI_IN_QUERY, p->name))
                issue(issues, OPENAPI_IN_QUERY, p->name,
                      "uses style deepObject, which is not supported");
        } else if ((p = openapi_find_param(op, buf_cstr(&name), OPENAPI_IN_QUERY)) != NULL) {
            const char *vs = eq ? eq + 1 : end;

            if (!form_decode(vs, (size_t)(end - vs), &value))
                issue(issues, OPENAPI_IN_QUERY, p->name, "the value has a malformed %%-escape or an encoded NUL");
            else
                add_value(obj, p, buf_cstr(&value), issues);
        }
        if (!amp)
            break;
        s = amp + 1;
    }
    buf_release(&name);
    buf_release(&value);
    finish(op, OPENAPI_IN_QUERY, obj, issues, before);
    return done(obj, before, issues, out);
}

enum rc params_path(const struct openapi_op *op, const struct openapi_match *m, cJSON **out,
                    struct param_issues *issues)
{
    cJSON *obj = cJSON_CreateObject();
    size_t before = issues->count, i;

    for (i = 0; i < m->nparams; i++) {
        const struct openapi_param *p = openapi_find_param(op, m->params[i].name, OPENAPI_IN_PATH);

        if (p)
            add_value(obj, p, m->params[i].value, issues);
    }
    finish(op, OPENAPI_IN_PATH, obj, issues, before);
    return done(obj, before, issues, out);
}
