/* mockapi: HTTP calls to hogmock's admin API (and plain hogplane calls for cleanup),
 * over libcurl, JSON in and out. The runner's only way of talking to hogmock. */
#ifndef HOG_MOCKAPI_H
#define HOG_MOCKAPI_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct http_resp {
    long status;
    struct buf body;
    cJSON *json;            /* the body parsed, when it is JSON; else NULL */
};

/* Call once before any thread makes calls. */
void mockapi_global_init(void);
void mockapi_global_cleanup(void);

/* method base+path with body (NULL: none) as JSON, and with token (NULL: none) as the
 * bearer credential; 30 s at most. out is filled (caller http_resp_release) unless the
 * transfer failed: then RC_IO with a message in err. */
enum rc mockapi_call(const char *base, const char *method, const char *path,
                     const cJSON *body, const char *token, struct http_resp *out,
                     struct buf *err);

/* mockapi_call that also wants a 2xx: anything else is RC_ERR with "METHOD PATH answered
 * STATUS: detail" in err. *json (may be NULL) is the answer's JSON, new (caller
 * cJSON_Delete), or NULL when it had none. */
enum rc mockapi_do(const char *base, const char *method, const char *path, const cJSON *body,
                   cJSON **json, struct buf *err);

void http_resp_release(struct http_resp *r);

#endif
