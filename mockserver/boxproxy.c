/* boxproxy: proxyHogbox, the HTTP proxy into a running box, answered by the simulated
 * services. Forwards what a real proxy would; never lets the hogplane credential through. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "digest.h"
#include "server.h"
#include "services.h"
#include "sim.h"
#include "vclock.h"
#include "xmalloc.h"

/* Choices where the spec leaves room:
 * - the service sees "/" + the greedy path as received (percent-encoding kept), the raw
 *   query, the body, and the request headers minus Authorization, the hop-by-hop ones
 *   and Host and Content-Length, which the proxy regenerates: Host is localhost:PORT,
 *   Content-Length the body's size when there is a body;
 * - the service's headers pass through minus the hop-by-hop ones, Content-Length (the
 *   server sets it) and X-Request-Id (hogplane's own replaces it); a body without a
 *   Content-Type gets text/plain; charset=utf-8, as Go's net/http would sniff for text;
 *   204 and 304 answers drop the body, as net/http does; a 1xx status alone is no final
 *   answer, so it is 502 upstream_unavailable, as from a service that then hung up;
 * - delay_ms waits on a real clock and takes no time on a virtual one, like exec's sleep;
 *   a delay cut short by hogmock stopping is 502 upstream_unavailable. */

#define SNIFFED_TEXT "text/plain; charset=utf-8"

/* Where a request goes: the box, the port, and the path the service sees. */
struct target {
    const char *box;
    int port;
    const char *path;
};

/* RFC 9110 7.6.1 and the older names proxies still drop. */
static const char *const hop_by_hop[] = {
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
    "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", NULL,
};

static bool in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(name, *list) == 0)
            return true;
    return false;
}

/* Add the comma-separated tokens of a Connection value to named (",a,b," in lower case). */
static void add_connection_tokens(struct buf *named, const char *value)
{
    const char *p = value;

    if (!named->len)
        buf_addch(named, ',');
    while (*p) {
        size_t n, i;

        p += strspn(p, " \t,");
        n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n) {
            for (i = 0; i < n; i++)
                buf_addch(named, (char)tolower((unsigned char)p[i]));
            buf_addch(named, ',');
        }
        p += n;
        p += strcspn(p, ",");
    }
}

/* Was name listed in a Connection header? */
static bool named_by_connection(const struct buf *named, const char *name)
{
    struct buf key = BUF_INIT;
    bool found;

    if (!named->len)
        return false;
    buf_addch(&key, ',');
    for (; *name; name++)
        buf_addch(&key, (char)tolower((unsigned char)*name));
    buf_addch(&key, ',');
    found = strstr(named->data, key.data) != NULL;
    buf_release(&key);
    return found;
}

/* ---- what the service receives ---------------------------------------------------- */

struct forward {
    struct buf named;   /* tokens of the request's Connection headers */
    cJSON *headers;     /* lower-case name -> value, repeated headers joined with ", " */
};

static int note_connection(void *ctx, const char *name, const char *value)
{
    struct forward *f = ctx;

    if (strcasecmp(name, "Connection") == 0)
        add_connection_tokens(&f->named, value);
    return 0;
}

static int forward_header(void *ctx, const char *name, const char *value)
{
    static const char *const regenerated[] = {
        "Authorization", "Host", "Content-Length", NULL,
    };
    struct forward *f = ctx;
    cJSON *seen;
    char *lname;
    size_t i;

    if (in_list(name, regenerated) || in_list(name, hop_by_hop)
        || named_by_connection(&f->named, name))
        return 0;
    lname = xstrdup(name);
    for (i = 0; lname[i]; i++)
        lname[i] = (char)tolower((unsigned char)lname[i]);
    seen = cJSON_GetObjectItemCaseSensitive(f->headers, lname);
    if (seen) {
        struct buf joined = BUF_INIT;

        buf_addf(&joined, "%s, %s", seen->valuestring, value);
        cJSON_ReplaceItemInObjectCaseSensitive(f->headers, lname,
                                               cJSON_CreateString(buf_cstr(&joined)));
        buf_release(&joined);
    } else {
        cJSON_AddStringToObject(f->headers, lname, value);
    }
    free(lname);
    return 0;
}

/* The echo service's answer: the request as the service at t received it (new). */
static cJSON *echo_of(struct req *r, const struct target *t)
{
    struct forward f = { BUF_INIT, cJSON_CreateObject() };
    char text[2 * DIGEST_SHA256_LEN + 1];
    cJSON *o = cJSON_CreateObject(), *body;

    snprintf(text, sizeof(text), "localhost:%d", t->port);
    cJSON_AddStringToObject(f.headers, "host", text);
    req_each_header(r, note_connection, &f);
    req_each_header(r, forward_header, &f);
    if (r->body_len) {
        snprintf(text, sizeof(text), "%zu", r->body_len);
        cJSON_AddStringToObject(f.headers, "content-length", text);
    }
    buf_release(&f.named);

    cJSON_AddStringToObject(o, "method", r->method);
    cJSON_AddStringToObject(o, "path", t->path);
    cJSON_AddStringToObject(o, "query", r->query ? r->query : "");
    cJSON_AddItemToObject(o, "headers", f.headers);
    body = cJSON_AddObjectToObject(o, "body");
    cJSON_AddNumberToObject(body, "size", (double)r->body_len);
    digest_sha256_hex(r->body, r->body_len, text);
    cJSON_AddStringToObject(body, "sha256", text);
    return o;
}

/* ---- what the client receives ----------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static bool body_allowed(int status)
{
    return status != 204 && status != 304;
}

/* Answer status as the service of def at t: its headers and its body or, for an echo
 * service, the request it received. A starting service sends neither. */
static void answer_as(struct req *r, const struct target *t, const cJSON *def, int status,
                      bool starting)
{
    const cJSON *headers = starting ? NULL : member(def, "headers");
    const cJSON *h, *conn = member(headers, "Connection");
    struct buf named = BUF_INIT;
    const char *ctype = NULL;
    char *body = NULL;
    size_t len = 0;

    if (status < 200) {
        /* An interim status is no answer: the client would wait for a final one forever. */
        req_problem(r, 502, "upstream_unavailable", "The service on port %d in hogbox %s "
                    "answered only the interim status %d.", t->port, t->box, status);
        return;
    }
    if (cJSON_IsString(conn))
        add_connection_tokens(&named, conn->valuestring);
    cJSON_ArrayForEach(h, headers) {
        if (!cJSON_IsString(h))
            continue;
        if (strcasecmp(h->string, "Content-Type") == 0) {
            if (!ctype)
                ctype = h->valuestring;
        } else if (!in_list(h->string, hop_by_hop) && strcasecmp(h->string, "Content-Length")
                   && strcasecmp(h->string, "X-Request-Id")
                   && !named_by_connection(&named, h->string)) {
            req_set_header(r, h->string, h->valuestring);
        }
    }
    buf_release(&named);
    if (!starting && cJSON_IsTrue(member(def, "echo"))) {
        cJSON *echo = echo_of(r, t);

        body = cJSON_PrintUnformatted(echo);
        cJSON_Delete(echo);
        ctype = "application/json";
    } else if (!starting) {
        const cJSON *b = member(def, "body");

        body = xstrdup(cJSON_IsString(b) ? b->valuestring : "");
    }
    len = body ? strlen(body) : 0;
    if (!len || !body_allowed(status)) {
        free(body);
        body = NULL;
        len = 0;
    }
    if (len && !ctype)
        ctype = SNIFFED_TEXT;
    req_bytes(r, status, ctype, body, len);
}

/* Wait the service's delay_ms: real time on a real clock, none on a virtual one. False
 * when hogmock began stopping meanwhile. */
static bool service_delay(struct req *r, const cJSON *def)
{
    const cJSON *d = member(def, "delay_ms");
    uint64_t ms = cJSON_IsNumber(d) && d->valuedouble > 0 ? (uint64_t)d->valuedouble : 0;

    if (!ms || vclock_is_virtual(r->hm->clock))
        return true;
    return hogmock_nap(r->hm, ms);
}

static void proxy_hogbox(struct req *r)
{
    const char *box = req_path_str(r, "id"), *rest = req_path_str(r, "path");
    const cJSON *port_v = member(r->path_params, "port"), *starting, *status;
    int port = cJSON_IsNumber(port_v) ? port_v->valueint : 0;
    struct buf path = BUF_INIT;
    struct target t;
    cJSON *def = NULL;
    char state[32];

    if (!box || !r->principal
        || sim_box_state(r->hm, r->principal->id, box, state, sizeof(state)) != RC_OK) {
        sim_box_not_found(r, box ? box : "");
        goto out;
    }
    if (strcmp(state, "running") != 0) {
        sim_invalid_state(r, box, state, "running");
        goto out;
    }
    /* The router gives the greedy rest raw and without its leading slash. */
    buf_addch(&path, '/');
    buf_addstr(&path, rest ? rest : "");
    t.box = box;
    t.port = port;
    t.path = buf_cstr(&path);
    switch (services_lookup(r->hm->services, box, port, t.path, vclock_now_ms(r->hm->clock),
                            &def)) {
    case SERVICE_CLOSED:
        req_problem(r, 502, "upstream_unavailable", "Nothing is listening on port %d in "
                    "hogbox %s.", port, box);
        break;
    case SERVICE_STARTING:
        starting = member(def, "starting_status");
        if (!cJSON_IsNumber(starting))
            req_problem(r, 502, "upstream_unavailable", "Nothing is listening on port %d in "
                        "hogbox %s yet: the service is starting.", port, box);
        else if (service_delay(r, def))
            answer_as(r, &t, def, starting->valueint, true);
        break;
    case SERVICE_READY:
        status = member(def, "status");
        if (service_delay(r, def))
            answer_as(r, &t, def, cJSON_IsNumber(status) ? status->valueint : 200, false);
        break;
    }
    if (!req_answered(r))
        req_problem(r, 502, "upstream_unavailable", "The service on port %d in hogbox %s did "
                    "not answer.", port, box);
out:
    cJSON_Delete(def);
    buf_release(&path);
}

const struct route boxproxy_routes[] = {
    { "proxyHogbox", proxy_hogbox, ROUTE_BLOCKING },
    { NULL, NULL, 0 },
};
