#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown Status";
    }
}

/* The code catalogue of openapi/hogplane.yaml (Problem.code): one title per code. */
static const struct { const char *code, *title; } catalogue[] = {
    { "invalid_token", "Invalid credential" },
    { "malformed_token", "Malformed token" },
    { "unknown_issuer", "Unknown issuer" },
    { "unknown_kid", "Unknown signing key" },
    { "alg_not_allowed", "Algorithm not allowed" },
    { "bad_signature", "Bad signature" },
    { "audience_mismatch", "Audience mismatch" },
    { "token_expired", "Token expired" },
    { "token_not_yet_valid", "Token not yet valid" },
    { "invalid_claims", "Invalid claims" },
    { "no_trust_mapping", "No trust mapping" },
    { "forbidden", "Forbidden" },
    { "not_found", "Not found" },
    { "hogbox_not_found", "Hogbox not found" },
    { "snapshot_not_found", "Snapshot not found" },
    { "file_not_found", "File not found" },
    { "method_not_allowed", "Method not allowed" },
    { "not_acceptable", "Not acceptable" },
    { "invalid_state", "Invalid state" },
    { "snapshot_in_use", "Snapshot in use" },
    { "idempotency_key_reused", "Idempotency key reused" },
    { "payload_too_large", "Payload too large" },
    { "unsupported_media_type", "Unsupported media type" },
    { "malformed_json", "Malformed JSON" },
    { "invalid_parameter", "Invalid parameter" },
    { "validation_failed", "Validation failed" },
    { "quota_exceeded", "Quota exceeded" },
    { "rate_limited", "Rate limited" },
    { "internal_error", "Internal error" },
    { "upstream_unavailable", "Upstream unavailable" },
    { "unavailable", "Unavailable" },
};

const char *problem_title(const char *code, int status)
{
    size_t i;

    for (i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
        if (strcmp(catalogue[i].code, code) == 0)
            return catalogue[i].title;
    return http_reason(status);
}

cJSON *problem_new(int status, const char *code, const char *fmt, ...)
{
    cJSON *p = cJSON_CreateObject();
    struct buf type = BUF_INIT;

    buf_addstr(&type, PROBLEM_TYPE_BASE);
    buf_addstr(&type, code);
    cJSON_AddStringToObject(p, "type", buf_cstr(&type));
    cJSON_AddStringToObject(p, "title", problem_title(code, status));
    cJSON_AddNumberToObject(p, "status", status);
    if (fmt) {
        struct buf detail = BUF_INIT;
        char first[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(first, sizeof(first), fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof(first)) {
            cJSON_AddStringToObject(p, "detail", first);
        } else if (n >= 0) {
            buf_grow(&detail, (size_t)n);
            va_start(ap, fmt);
            vsnprintf(detail.data, (size_t)n + 1, fmt, ap);
            va_end(ap);
            detail.len = (size_t)n;
            cJSON_AddStringToObject(p, "detail", buf_cstr(&detail));
        }
        buf_release(&detail);
    }
    cJSON_AddStringToObject(p, "code", code);
    buf_release(&type);
    return p;
}

void problem_set_request_id(cJSON *problem, const char *request_id)
{
    cJSON_DeleteItemFromObjectCaseSensitive(problem, "request_id");
    cJSON_AddStringToObject(problem, "request_id", request_id);
}

static void add_error(cJSON *problem, const char *key, const char *where, const char *detail)
{
    cJSON *errors = cJSON_GetObjectItemCaseSensitive(problem, "errors");
    cJSON *e;

    if (!cJSON_IsArray(errors)) {
        cJSON_DeleteItemFromObjectCaseSensitive(problem, "errors");
        errors = cJSON_AddArrayToObject(problem, "errors");
    }
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, key, where);
    cJSON_AddStringToObject(e, "detail", detail);
    cJSON_AddItemToArray(errors, e);
}

void problem_add_error(cJSON *problem, const char *pointer, const char *detail)
{
    add_error(problem, "pointer", pointer, detail);
}

void problem_add_param_error(cJSON *problem, const char *parameter, const char *detail)
{
    add_error(problem, "parameter", parameter, detail);
}

char *problem_render(const cJSON *problem, size_t *len)
{
    char *text = cJSON_PrintUnformatted(problem);
    char *copy;

    if (!text)
        text = xstrdup("{}");
    /* cJSON's memory goes back through cJSON_free; hand the caller plain malloc memory. */
    copy = xstrdup(text);
    cJSON_free(text);
    if (len)
        *len = strlen(copy);
    return copy;
}
