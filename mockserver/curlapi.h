/* curlapi: libcurl, opened the first time hogmock needs it (a JWKS to fetch, proxy or
 * record mode) instead of linked: loading it with the score of libraries it depends on
 * (TLS, Kerberos, LDAP, SSH, ...) and initialising it took about as long as the rest of
 * the start. Never opened by a hogmock that fetches nothing. */
#ifndef HOG_CURLAPI_H
#define HOG_CURLAPI_H

#include <curl/curl.h>

#include "buf.h"
#include "rc.h"

/* The functions hogmock uses, named without their curl_ prefix; each has the type of
 * the function of that name in <curl/curl.h>. */
struct curlapi {
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_pause) *easy_pause;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_multi_init) *multi_init;
    __typeof__(curl_multi_add_handle) *multi_add_handle;
    __typeof__(curl_multi_remove_handle) *multi_remove_handle;
    __typeof__(curl_multi_perform) *multi_perform;
    __typeof__(curl_multi_info_read) *multi_info_read;
    __typeof__(curl_multi_poll) *multi_poll;
    __typeof__(curl_multi_wakeup) *multi_wakeup;
    __typeof__(curl_multi_cleanup) *multi_cleanup;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
    __typeof__(curl_url) *url;
    __typeof__(curl_url_set) *url_set;
    __typeof__(curl_url_get) *url_get;
    __typeof__(curl_url_cleanup) *url_cleanup;
    __typeof__(curl_free) *free;
};

/* Open libcurl and run its global initialisation, once for the process (thread-safe;
 * later calls only report how the first went). RC_IO with why appended to err (may be
 * NULL) when it cannot be opened. */
enum rc curlapi_load(struct buf *err);

/* The functions, borrowed for the life of the process: filled in by a curlapi_load that
 * returned RC_OK, and not to be called before. */
const struct curlapi *curlapi(void);

#endif
