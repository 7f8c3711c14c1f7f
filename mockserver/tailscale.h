/* tailscale: the identity a Tailscale ingress proxy vouches for in Tailscale-User-Login and
 * Tailscale-User-Name, resolved through the tailscale TrustMappings. The server trusts those
 * headers on the ingress listener only; nothing here decides where they came from. */
#ifndef HOG_TAILSCALE_H
#define HOG_TAILSCALE_H

#include "auth.h"
#include "buf.h"
#include "rc.h"

#define TAILSCALE_LOGIN_HEADER "Tailscale-User-Login"
#define TAILSCALE_NAME_HEADER "Tailscale-User-Name"

struct oidc;

/* The principal for login (name: the Tailscale-User-Name value, NULL when absent): RC_OK
 * and a new principal (principal_free; auth_path tailscale, subject login, attributes
 * {login, name}); RC_DENIED with a sentence naming the login appended to why when no
 * mapping has it; RC_INVALID when login is not 1 to 256 printable ASCII characters. */
enum rc tailscale_resolve(struct oidc *o, const char *login, const char *name,
                          struct principal **out, struct buf *why);

#endif
