#include "tailscale.h"

#include <stdlib.h>
#include <string.h>

#include "oidc.h"
#include "xmalloc.h"

#define LOGIN_MAX 256

/* A login as Tailscale writes one (an email address, "user@github"): printable ASCII
 * without spaces, so it is safe in JSON, logs and problem details. */
static bool login_ok(const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return *s != '\0';
}

/* A copy of s with each byte outside printable ASCII replaced by '?': the name is shown,
 * never trusted, and need not survive exactly. */
static char *tidy(const char *s)
{
    char *t = xstrdup(s), *p;

    for (p = t; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    return t;
}

enum rc tailscale_resolve(struct oidc *o, const char *login, const char *name,
                          struct principal **out, struct buf *why)
{
    char *id = NULL, *display = NULL;
    struct principal *p;

    *out = NULL;
    if (strlen(login) > LOGIN_MAX || !login_ok(login)) {
        buf_addf(why, "the %s header is not a login (1 to %d printable ASCII characters)",
                 TAILSCALE_LOGIN_HEADER, LOGIN_MAX);
        return RC_INVALID;
    }
    if (oidc_trust_tailscale(o, login, &id, &display) != RC_OK) {
        buf_addf(why, "no TrustMapping for Tailscale login %s", login);
        free(id);
        free(display);
        return RC_DENIED;
    }
    p = xcalloc(1, sizeof(*p));
    p->id = id;
    p->auth_path = xstrdup("tailscale");
    p->subject = xstrdup(login);
    /* The mapping's display name, unless it only repeats the principal id (no name was
     * given); then the name the proxy sends, else the login. */
    if (display && *display && strcmp(display, id) != 0)
        p->display_name = display;
    else {
        free(display);
        p->display_name = tidy(name && *name ? name : login);
    }
    p->attributes = cJSON_CreateObject();
    cJSON_AddStringToObject(p->attributes, "login", login);
    if (name) {
        char *n = tidy(name);

        cJSON_AddStringToObject(p->attributes, "name", n);
        free(n);
    }
    *out = p;
    return RC_OK;
}
