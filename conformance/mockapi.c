#include "mockapi.h"

#include <string.h>

#include <curl/curl.h>

#include "xmalloc.h"

#define MAX_BODY ((size_t)64 << 20)

void mockapi_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mockapi_global_cleanup(void)
{
    curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;

    if (b->len + size * n > MAX_BODY)
        return 0;
    buf_add(b, data, size * n);
    return size * n;
}

enum rc mockapi_call(const char *base, const char *method, const char *path,
                     const cJSON *body, const char *token, struct http_resp *out,
                     struct buf *err)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct buf url = BUF_INIT, auth = BUF_INIT;
    char *text = NULL;
    CURLcode cc;
    enum rc rc = RC_OK;

    out->status = 0;
    buf_init(&out->body);
    out->json = NULL;
    if (!h) {
        buf_addstr(err, "unable to set up libcurl");
        return RC_ERR;
    }
    buf_addf(&url, "%s%s", base, path);
    curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hogconf/0.1.0");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (token) {
        buf_addf(&auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, buf_cstr(&auth));
    }
    if (body) {
        text = cJSON_PrintUnformatted(body);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        buf_addf(err, "%s %s failed: %s", method, path, curl_easy_strerror(cc));
        rc = RC_IO;
        buf_release(&out->body);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body.len)
            out->json = cJSON_ParseWithLength(out->body.data, out->body.len);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    buf_release(&url);
    buf_release(&auth);
    if (text)
        cJSON_free(text);
    return rc;
}

enum rc mockapi_do(const char *base, const char *method, const char *path, const cJSON *body,
                   cJSON **json, struct buf *err)
{
    struct http_resp r;
    enum rc rc = mockapi_call(base, method, path, body, NULL, &r, err);

    if (json)
        *json = NULL;
    if (rc != RC_OK)
        return rc;
    if (r.status < 200 || r.status > 299) {
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(r.json, "detail");
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive(r.json, "errors"), *e;

        buf_addf(err, "%s %s answered %ld", method, path, r.status);
        if (cJSON_IsString(detail))
            buf_addf(err, ": %s", detail->valuestring);
        else if (r.body.len)
            buf_addf(err, ": %.200s", buf_cstr(&r.body));
        cJSON_ArrayForEach(e, errors) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "pointer");
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");

            buf_addf(err, "; %s: %s", cJSON_IsString(p) ? p->valuestring : "?",
                     cJSON_IsString(d) ? d->valuestring : "?");
        }
        rc = RC_ERR;
    } else if (json) {
        *json = r.json;
        r.json = NULL;
    }
    http_resp_release(&r);
    return rc;
}

void http_resp_release(struct http_resp *r)
{
    buf_release(&r->body);
    cJSON_Delete(r->json);
    r->json = NULL;
}
