#include "redact.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

bool redact_secret_name(const char *name)
{
    static const char *const exact[] = {
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-hogmock-admin-token",
        NULL,
    };
    static const char *const parts[] = {
        "token", "secret", "password", "passwd", "credential", "api-key", "api_key", "apikey",
        "private_key", "private-key", "authorization", NULL,
    };
    const char *const *p;
    char lower[128];
    size_t i;

    for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[i] = '\0';
    for (p = exact; *p; p++)
        if (strcmp(lower, *p) == 0)
            return true;
    for (p = parts; *p; p++)
        if (strstr(lower, *p))
            return true;
    return false;
}

static void add_fp(struct buf *out, const char *secret, size_t len)
{
    char fp[AUTH_FINGERPRINT_SIZE];

    auth_fingerprint(secret, len, fp);
    buf_addstr(out, fp);
}

static bool tok_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* The length of the credential run at s[i] (a tok_... or a JWT), 0 when there is none. */
static size_t secret_run(const char *s, size_t len, size_t i)
{
    size_t j, dots = 0;

    if (i > 0 && tok_char((unsigned char)s[i - 1]))
        return 0;
    if (len - i > 4 && strncmp(s + i, "tok_", 4) == 0) {
        for (j = i + 4; j < len && tok_char((unsigned char)s[j]); j++)
            ;
        return j > i + 4 ? j - i : 0;
    }
    if (len - i > 3 && strncmp(s + i, "eyJ", 3) == 0) {
        for (j = i; j < len && (tok_char((unsigned char)s[j]) || s[j] == '.'); j++)
            dots += s[j] == '.';
        return dots >= 2 ? j - i : 0;
    }
    return 0;
}

void redact_text(struct buf *out, const char *s, size_t len)
{
    size_t i = 0, from = 0;

    while (i < len) {
        size_t n = (s[i] == 't' || s[i] == 'e') ? secret_run(s, len, i) : 0;

        if (!n) {
            i++;
            continue;
        }
        buf_add(out, s + from, i - from);
        add_fp(out, s + i, n);
        i += n;
        from = i;
    }
    buf_add(out, s + from, len - from);
}

/* The length of an auth scheme ("Bearer") followed by a blank at the start of v, else 0. */
static size_t scheme_len(const char *v)
{
    static const char *const schemes[] = {
        "Bearer", "Basic", "Digest", "Token", "DPoP", "Negotiate", "NTLM", "ApiKey", NULL,
    };
    const char *const *s;
    size_t n = strcspn(v, " \t");

    if (!n || !v[n])
        return 0;
    for (s = schemes; *s; s++)
        if (strlen(*s) == n && strncasecmp(v, *s, n) == 0)
            return n;
    return 0;
}

/* "Scheme secret" -> "Scheme fp_..."; anything else -> "fp_..." of the whole. */
static void redact_credential(struct buf *out, const char *v)
{
    size_t n = scheme_len(v), len;

    if (n) {
        buf_add(out, v, n);
        buf_addch(out, ' ');
        v += n;
        v += strspn(v, " \t");
    }
    len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    add_fp(out, v, len);
}

/* "a=1; b=2" -> "a=fp_...; b=fp_...": cookie names stay, values go; attributes after the
 * first pair of a Set-Cookie are kept as they are. */
static void redact_cookie(struct buf *out, const char *v, bool set_cookie)
{
    bool first = true;

    while (*v) {
        size_t len = strcspn(v, ";");
        const char *eq;

        while (len && *v == ' ') {
            v++;
            len--;
        }
        eq = memchr(v, '=', len);
        if (!first)
            buf_addstr(out, "; ");
        if (set_cookie && !first) {
            buf_add(out, v, len);
        } else if (eq) {
            buf_add(out, v, (size_t)(eq - v) + 1);
            add_fp(out, eq + 1, len - (size_t)(eq - v) - 1);
        } else {
            add_fp(out, v, len);
        }
        first = false;
        v += len;
        if (*v == ';')
            v++;
    }
}

void redact_header(struct buf *out, const char *name, const char *value)
{
    if (strcasecmp(name, "cookie") == 0 || strcasecmp(name, "set-cookie") == 0)
        redact_cookie(out, value, strcasecmp(name, "set-cookie") == 0);
    else if (redact_secret_name(name) || scheme_len(value))
        redact_credential(out, value);
    else
        redact_text(out, value, strlen(value));
}

static void redact_node(cJSON *node, bool secret_member)
{
    cJSON *c;

    if (cJSON_IsString(node) && node->valuestring) {
        const char *v = node->valuestring;
        struct buf b = BUF_INIT;

        if (secret_member || scheme_len(v))
            redact_credential(&b, v);
        else
            redact_text(&b, v, strlen(v));
        if (strcmp(buf_cstr(&b), v) != 0)
            cJSON_SetValuestring(node, buf_cstr(&b));
        buf_release(&b);
        return;
    }
    cJSON_ArrayForEach(c, node)
        redact_node(c, cJSON_IsObject(node) ? c->string && redact_secret_name(c->string)
                                            : secret_member);
}

void redact_json(cJSON *node)
{
    redact_node(node, false);
}
