#include "subst.h"

#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "xmalloc.h"

#define MAX_DEPTH 256

/* The value named by "a.b.0" in vars, borrowed; NULL when a step is missing. */
static const cJSON *lookup(const cJSON *vars, const char *name, size_t len)
{
    const cJSON *cur = vars;
    size_t i = 0;

    while (cur && i <= len) {
        size_t j = i;
        char *part;

        while (j < len && name[j] != '.')
            j++;
        part = xstrndup(name + i, j - i);
        if (cJSON_IsArray(cur)) {
            char *end;
            long idx = strtol(part, &end, 10);

            cur = (*part && !*end && idx >= 0) ? cJSON_GetArrayItem(cur, (int)idx) : NULL;
        } else if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        } else {
            cur = NULL;
        }
        free(part);
        i = j + 1;
    }
    return cur;
}

static enum rc subst_string(const char *s, const cJSON *vars, const struct buf *at,
                            cJSON **out, struct buf *err)
{
    size_t n = strlen(s);
    struct buf text = BUF_INIT;
    const char *p = s;

    /* The whole string one reference: keep the value's type. */
    if (n > 3 && s[0] == '$' && s[1] == '{' && s[n - 1] == '}' && !memchr(s + 2, '}', n - 3)) {
        const cJSON *v = lookup(vars, s + 2, n - 3);

        if (!v) {
            buf_addf(err, "%s: unknown variable %s", at->len ? buf_cstr(at) : "/", s);
            return RC_NOT_FOUND;
        }
        *out = cJSON_Duplicate(v, true);
        return RC_OK;
    }
    while (*p) {
        const char *open = strstr(p, "${"), *close;
        const cJSON *v;

        if (!open || !(close = strchr(open + 2, '}'))) {
            buf_addstr(&text, p);
            break;
        }
        buf_add(&text, p, (size_t)(open - p));
        v = lookup(vars, open + 2, (size_t)(close - open - 2));
        if (!v) {
            buf_addf(err, "%s: unknown variable %.*s", at->len ? buf_cstr(at) : "/",
                     (int)(close - open + 1), open);
            buf_release(&text);
            return RC_NOT_FOUND;
        }
        if (cJSON_IsString(v)) {
            buf_addstr(&text, v->valuestring);
        } else {
            char *j = cJSON_PrintUnformatted(v);

            buf_addstr(&text, j);
            cJSON_free(j);
        }
        p = close + 1;
    }
    *out = cJSON_CreateString(buf_cstr(&text));
    buf_release(&text);
    return RC_OK;
}

static enum rc subst_at(const cJSON *t, const cJSON *vars, struct buf *at, cJSON **out,
                        struct buf *err, int depth)
{
    const cJSON *c;
    size_t mark = at->len, i = 0;
    cJSON *copy;

    if (depth > MAX_DEPTH) {
        buf_addf(err, "%s: nested too deeply", buf_cstr(at));
        return RC_TOO_DEEP;
    }
    if (cJSON_IsString(t))
        return subst_string(t->valuestring, vars, at, out, err);
    if (!cJSON_IsObject(t) && !cJSON_IsArray(t)) {
        *out = cJSON_Duplicate(t, false);
        return RC_OK;
    }
    copy = cJSON_IsObject(t) ? cJSON_CreateObject() : cJSON_CreateArray();
    for (c = t->child; c; c = c->next, i++) {
        cJSON *v = NULL;
        enum rc rc;

        if (cJSON_IsObject(t))
            jsonptr_append(at, c->string);
        else
            jsonptr_append_index(at, i);
        rc = subst_at(c, vars, at, &v, err, depth + 1);
        buf_truncate(at, mark);
        if (rc != RC_OK) {
            cJSON_Delete(copy);
            return rc;
        }
        if (cJSON_IsObject(t))
            cJSON_AddItemToObject(copy, c->string, v);
        else
            cJSON_AddItemToArray(copy, v);
    }
    *out = copy;
    return RC_OK;
}

enum rc subst_json(const cJSON *tmpl, const cJSON *vars, const char *at, cJSON **out,
                   struct buf *err)
{
    struct buf ptr = BUF_INIT;
    enum rc rc;

    *out = NULL;
    buf_addstr(&ptr, at ? at : "");
    rc = subst_at(tmpl, vars, &ptr, out, err, 0);
    buf_release(&ptr);
    return rc;
}
