/* problem: RFC 9457 problem+json bodies, the one shape of every error the kit sends over HTTP.
 * Builds documents only; never writes to a connection and never copies a credential in. */
#ifndef HOG_PROBLEM_H
#define HOG_PROBLEM_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define PROBLEM_CONTENT_TYPE "application/problem+json"
/* Problem types are this prefix followed by the code ("urn:hogplane:problem:hogbox_not_found"). */
#define PROBLEM_TYPE_BASE "urn:hogplane:problem:"

/* A new problem {type, title, status, detail, code} (caller cJSON_Delete); title is the
 * code's fixed title from the spec's catalogue (problem_title), detail is formatted from
 * fmt (NULL for none). */
cJSON *problem_new(int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the request_id extension (copied). */
void problem_set_request_id(cJSON *problem, const char *request_id);
/* Append {pointer, detail} to the errors array, creating it on first use (both copied);
 * pointer is a JSON Pointer into the request body. */
void problem_add_error(cJSON *problem, const char *pointer, const char *detail);
/* Append {parameter, detail}: the same for a query, path or header parameter. */
void problem_add_param_error(cJSON *problem, const char *parameter, const char *detail);

/* The fixed title of a catalogue code ("Hogbox not found"); for a code outside the
 * catalogue, the reason phrase of status. */
const char *problem_title(const char *code, int status);

/* The compact JSON text of problem (caller frees with free()); *len gets its length. */
char *problem_render(const cJSON *problem, size_t *len);

/* The reason phrase of an HTTP status ("Not Found"), "Unknown Status" for others. */
const char *http_reason(int status);

#endif
