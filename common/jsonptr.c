#include "jsonptr.h"

#include <string.h>

/* Decode one reference token (ptr .. end) into out; false when an escape is bad. */
static bool decode_token(const char *p, const char *end, struct buf *out)
{
    buf_reset(out);
    for (; p < end; p++) {
        if (*p != '~') {
            buf_addch(out, *p);
            continue;
        }
        if (p + 1 >= end || (p[1] != '0' && p[1] != '1'))
            return false;
        buf_addch(out, p[1] == '0' ? '~' : '/');
        p++;
    }
    return true;
}

/* Array index per RFC 6901: "0" or digits without a leading zero. */
static bool parse_index(const char *s, size_t len, size_t *out)
{
    size_t v = 0, i;

    if (len == 0 || (len > 1 && s[0] == '0') || len > 9)
        return false;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

const cJSON *jsonptr_get(const cJSON *doc, const char *ptr)
{
    struct buf tok = BUF_INIT;
    const cJSON *node = doc;

    if (*ptr && *ptr != '/')
        return NULL;
    while (node && *ptr == '/') {
        const char *start = ptr + 1, *end = strchr(start, '/');

        if (!end)
            end = start + strlen(start);
        if (!decode_token(start, end, &tok)) {
            node = NULL;
            break;
        }
        if (cJSON_IsArray(node)) {
            size_t idx;

            node = parse_index(buf_cstr(&tok), tok.len, &idx)
                       ? cJSON_GetArrayItem(node, (int)idx) : NULL;
        } else if (cJSON_IsObject(node)) {
            /* Exact, case-sensitive key match. */
            node = cJSON_GetObjectItemCaseSensitive(node, buf_cstr(&tok));
        } else {
            node = NULL;
        }
        ptr = end;
    }
    buf_release(&tok);
    return node;
}

void jsonptr_append(struct buf *b, const char *token)
{
    buf_addch(b, '/');
    for (; *token; token++) {
        if (*token == '~')
            buf_addstr(b, "~0");
        else if (*token == '/')
            buf_addstr(b, "~1");
        else
            buf_addch(b, *token);
    }
}

void jsonptr_append_index(struct buf *b, size_t index)
{
    buf_addf(b, "/%zu", index);
}

enum rc jsonptr_from_fragment(const char *fragment, struct buf *out)
{
    const char *p = fragment;

    if (*p == '#')
        p++;
    if (*p && *p != '/')
        return RC_PARSE;
    if (!buf_add_pct_decoded(out, p, strlen(p), false))
        return RC_PARSE;
    return RC_OK;
}
