#include "redact.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

/* Names that carry a credential outright: the exact ones, and any holding one of the
 * parts. A cookie is not one of them: its names are kept, only its values go. Every
 * header of every request is asked, so the parts are looked for in one pass, by their
 * first letter. */
static bool credential_name(const char *name)
{
    static const char *const exact[] = {
        "authorization", "proxy-authorization", "x-hogmock-admin-token", NULL,
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
    for (i = 0; lower[i]; i++) {
        if (!strchr("tspca", lower[i]))
            continue;
        for (p = parts; *p; p++)
            if (**p == lower[i] && strncmp(lower + i, *p, strlen(*p)) == 0)
                return true;
    }
    return false;
}

bool redact_secret_name(const char *name)
{
    return strcasecmp(name, "cookie") == 0 || strcasecmp(name, "set-cookie") == 0
           || credential_name(name);
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

bool redact_secret_value(const char *v, size_t len)
{
    size_t i, dots = 0;

    if (len > 4 && strncmp(v, "tok_", 4) == 0)
        return true;
    if (len > 3 && strncmp(v, "eyJ", 3) == 0) {
        for (i = 0; i < len; i++)
            dots += v[i] == '.';
        return dots >= 2;
    }
    return false;
}

/* The length of the credential run at s[i] (a tok_..., or a JWT when jwts), 0 when there
 * is none. */
static size_t secret_run(const char *s, size_t len, size_t i, bool jwts)
{
    size_t j, dots = 0;

    if (i > 0 && tok_char((unsigned char)s[i - 1]))
        return 0;
    if (len - i > 4 && strncmp(s + i, "tok_", 4) == 0) {
        for (j = i + 4; j < len && tok_char((unsigned char)s[j]); j++)
            ;
        return j > i + 4 ? j - i : 0;
    }
    if (jwts && len - i > 3 && strncmp(s + i, "eyJ", 3) == 0) {
        for (j = i; j < len && (tok_char((unsigned char)s[j]) || s[j] == '.'); j++)
            dots += s[j] == '.';
        return dots >= 2 ? j - i : 0;
    }
    return 0;
}

static void replace_runs(struct buf *out, const char *s, size_t len, bool jwts)
{
    size_t i = 0, from = 0;

    while (i < len) {
        size_t n = (s[i] == 't' || (jwts && s[i] == 'e')) ? secret_run(s, len, i, jwts) : 0;

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

void redact_text(struct buf *out, const char *s, size_t len)
{
    replace_runs(out, s, len, true);
}

void redact_tokens(struct buf *out, const char *s, size_t len)
{
    replace_runs(out, s, len, false);
}

/* The length of an auth scheme ("Bearer") followed by a blank at the start of v, else 0.
 * No scheme is long: the scan stops early on a long value. */
static size_t scheme_len(const char *v)
{
    static const char *const schemes[] = {
        "Bearer", "Basic", "Digest", "Token", "DPoP", "Negotiate", "NTLM", "ApiKey", NULL,
    };
    const char *const *s;
    size_t n = 0;

    while (n < 20 && v[n] && v[n] != ' ' && v[n] != '\t')
        n++;
    if (!n || (v[n] != ' ' && v[n] != '\t'))
        return 0;
    for (s = schemes; *s; s++)
        if (strlen(*s) == n && strncasecmp(v, *s, n) == 0)
            return n;
    return 0;
}

void redact_credential(struct buf *out, const char *v)
{
    size_t n = scheme_len(v), len;

    if (!n) {
        add_fp(out, v, strlen(v));
        return;
    }
    buf_add(out, v, n);
    buf_addch(out, ' ');
    v += n;
    v += strspn(v, " \t");
    len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    add_fp(out, v, len);
}

/* "a=1; b=2" -> "a=fp_...; b=fp_...": cookie names stay, values go; with attributes (a
 * response's Set-Cookie), what follows the first pair is kept as it is. */
static void redact_cookie(struct buf *out, const char *v, bool attributes)
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
        if (attributes && !first) {
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

static void header(struct buf *out, const char *name, const char *value, bool light)
{
    bool set_cookie = strcasecmp(name, "set-cookie") == 0;

    if (set_cookie || strcasecmp(name, "cookie") == 0)
        redact_cookie(out, value, set_cookie && !light);
    else if (credential_name(name) || scheme_len(value)
             || redact_secret_value(value, strlen(value)))
        redact_credential(out, value);
    else if (light)
        buf_addstr(out, value);
    else
        redact_text(out, value, strlen(value));
}

void redact_header(struct buf *out, const char *name, const char *value)
{
    header(out, name, value, false);
}

void redact_header_light(struct buf *out, const char *name, const char *value)
{
    header(out, name, value, true);
}

void redact_query(struct buf *out, const char *q)
{
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);

        if (eq) {
            char name[128];
            size_t nlen = (size_t)(eq - q);
            size_t vlen = len - nlen - 1;

            snprintf(name, sizeof(name), "%.*s", (int)(nlen < 127 ? nlen : 127), q);
            /* In a query the blank after a scheme is '+' or %20: Bearer leads a credential. */
            if (vlen && (credential_name(name) || redact_secret_value(eq + 1, vlen)
                         || strncasecmp(eq + 1, "Bearer", 6) == 0)) {
                redact_tokens(out, q, nlen + 1);
                add_fp(out, eq + 1, vlen);
            } else {
                redact_tokens(out, q, len);
            }
        } else {
            redact_tokens(out, q, len);
        }
        q += len;
        if (*q == '&') {
            buf_addch(out, '&');
            q++;
        }
    }
}

static void redact_node(cJSON *node, bool secret_member, bool light)
{
    cJSON *c;

    if (cJSON_IsString(node) && node->valuestring) {
        const char *v = node->valuestring;
        bool whole = secret_member || scheme_len(v) || redact_secret_value(v, strlen(v));
        struct buf b = BUF_INIT;

        if (!whole && light)
            return;
        if (whole)
            redact_credential(&b, v);
        else
            redact_text(&b, v, strlen(v));
        if (strcmp(buf_cstr(&b), v) != 0)
            cJSON_SetValuestring(node, buf_cstr(&b));
        buf_release(&b);
        return;
    }
    cJSON_ArrayForEach(c, node) {
        bool secret = secret_member;

        if (cJSON_IsObject(node))
            secret = c->string && (light ? credential_name(c->string)
                                         : redact_secret_name(c->string));
        redact_node(c, secret, light);
    }
}

void redact_json(cJSON *node)
{
    redact_node(node, false, false);
}

void redact_json_light(cJSON *node)
{
    redact_node(node, false, true);
}
