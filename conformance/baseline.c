#include "baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "yamljson.h"
#include "yamlpos.h"

static void where(const char *path, const char *ptr, struct buf *err)
{
    struct buf text = BUF_INIT;
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n, line, col;

    if (f) {
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && text.len < (1 << 20))
            buf_add(&text, chunk, n);
        fclose(f);
    }
    if (text.len && yamlpos_find(text.data, text.len, ptr, &line, &col))
        buf_addf(err, "%s:%zu:%zu: %s: ", path, line, col, ptr);
    else
        buf_addf(err, "%s: %s: ", path, *ptr ? ptr : "/");
    buf_release(&text);
}

/* Whether the file holds nothing but blank lines and comments (an empty baseline, which
 * YAML calls no document at all). */
static bool only_comments(const char *path)
{
    FILE *f = fopen(path, "r");
    bool at_line_start = true, in_comment = false, empty = true;
    int ch;

    if (!f)
        return false;
    while (empty && (ch = getc(f)) != EOF) {
        if (ch == '\n') {
            at_line_start = true;
            in_comment = false;
        } else if (in_comment || ch == ' ' || ch == '\t' || ch == '\r') {
            continue;
        } else if (ch == '#' && at_line_start) {
            in_comment = true;
        } else {
            empty = false;
        }
    }
    fclose(f);
    return empty;
}

enum rc baseline_load(const char *path, struct baseline *b, struct buf *err)
{
    cJSON *doc = NULL;
    const cJSON *e;
    enum rc rc;
    size_t i = 0;

    if (only_comments(path)) {
        b->path = xstrdup(path);
        return RC_OK;       /* an empty baseline */
    }
    rc = yamljson_load_file(path, &doc, err);
    if (rc != RC_OK)
        return rc;
    b->path = xstrdup(path);
    if (cJSON_IsNull(doc)) {
        cJSON_Delete(doc);
        return RC_OK;       /* an empty baseline */
    }
    if (!cJSON_IsArray(doc)) {
        where(path, "", err);
        buf_addstr(err, "a baseline is a list of {id, reason}");
        rc = RC_INVALID;
        goto out;
    }
    b->items = xcalloc((size_t)cJSON_GetArraySize(doc) + 1, sizeof(*b->items));
    cJSON_ArrayForEach(e, doc) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
        const cJSON *m;
        char ptr[64];

        snprintf(ptr, sizeof(ptr), "/%zu", i++);
        if (!cJSON_IsObject(e) || !cJSON_IsString(id) || (reason && !cJSON_IsString(reason))) {
            where(path, ptr, err);
            buf_addstr(err, "an entry is {id: SCENARIO, reason: TEXT}");
            rc = RC_INVALID;
            goto out;
        }
        cJSON_ArrayForEach(m, e) {
            if (strcmp(m->string, "id") != 0 && strcmp(m->string, "reason") != 0) {
                char p2[160];

                snprintf(p2, sizeof(p2), "%s/%s", ptr, m->string);
                where(path, p2, err);
                buf_addf(err, "unknown member '%s' (known: id, reason)", m->string);
                rc = RC_INVALID;
                goto out;
            }
        }
        b->items[b->n].id = xstrdup(id->valuestring);
        b->items[b->n].reason = xstrdup(cJSON_IsString(reason) ? reason->valuestring : "");
        b->n++;
    }
out:
    cJSON_Delete(doc);
    return rc;
}

void baseline_release(struct baseline *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        free(b->items[i].id);
        free(b->items[i].reason);
    }
    free(b->items);
    free(b->path);
    b->items = NULL;
    b->path = NULL;
    b->n = 0;
}

void baseline_apply(const struct baseline *b, struct result *r)
{
    size_t i;

    for (i = 0; b && i < b->n; i++) {
        if (strcmp(b->items[i].id, r->sc->id) != 0)
            continue;
        r->baseline_reason = b->items[i].reason;
        if (r->outcome == OUTCOME_FAIL || r->outcome == OUTCOME_ERROR)
            r->known = true;
        else if (r->outcome == OUTCOME_PASS)
            r->stale = true;
        return;
    }
}

void baseline_entry_format(const struct result *r, struct buf *out)
{
    buf_addf(out, "- id: %s\n  reason: ", r->sc->id);
    /* JSON strings are valid YAML double-quoted scalars. */
    buf_add_json_str(out, r->message.data ? r->message.data : "", r->message.len);
    buf_addch(out, '\n');
}
