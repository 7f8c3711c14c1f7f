/* fixtures: request -> response pairs kept as one readable file each, derived from a
 * spec's examples, written by record mode, and served back by replay mode. */
#ifndef HOG_FIXTURES_H
#define HOG_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

/* One exchange. The request side is what must match (absent members match anything);
 * the response side is what replay answers. */
struct fixture {
    char *name;             /* file stem, unique in its directory */
    char *operation;        /* operation name (x-hog-operation, else operationId) */
    char *method;           /* "GET" */
    char *path;             /* concrete request path, no query ("/v1/hogboxes/hb_1") */
    cJSON *query;           /* object: name -> string, a subset to match; or NULL */
    cJSON *headers;         /* object: lower-case name -> string, a subset; or NULL */
    cJSON *body;            /* JSON request body, a subset to match; or NULL */
    int status;
    cJSON *resp_headers;    /* object: name -> string (Content-Type included); or NULL */
    char *resp_body;        /* raw bytes (malloc); NULL when none */
    size_t resp_len;
    char *description;      /* where it comes from, for people; or NULL */
};

/* Free what f holds (not f itself); f is left zeroed. */
void fixture_release(struct fixture *f);

/* Write f as DIR/<f->name>.yaml (the format README'd in fixtures/README.md), creating DIR
 * when missing; an existing file of that name is replaced atomically. Credentials must
 * already be redacted by the caller. RC_IO with a one-line message. */
enum rc fixture_save(const char *dir, const struct fixture *f, struct buf *err);

/* f as the YAML text fixture_save writes (appended to out). */
void fixture_to_yaml(const struct fixture *f, struct buf *out);

/* Read one fixture document (parsed YAML or JSON) into *f, which is zeroed first and owns
 * copies of what it needs; stem names it when the document has no name. On RC_INVALID f
 * is released and "/pointer: what is wrong" is appended to err. */
enum rc fixture_from_json(const cJSON *doc, const char *stem, struct fixture *f,
                          struct buf *err);

/* Every fixture of a directory, sorted by name. */
struct fixture_set;

/* Load the .yaml, .yml and .json files of dir (not below it, not hidden ones). *out is new
 * (fixture_set_free); on failure it is NULL and one line naming the file and the JSON
 * pointer at fault is appended to err. Two files with one name is an error. */
enum rc fixture_set_load(const char *dir, struct fixture_set **out, struct buf *err);
/* NULL is a no-op. */
void fixture_set_free(struct fixture_set *set);
size_t fixture_set_count(const struct fixture_set *set);
/* Borrowed until fixture_set_free; in name order. */
const struct fixture *fixture_set_at(const struct fixture_set *set, size_t i);

/* A request as replay sees it; every pointer is borrowed for the call. */
struct fixture_request {
    const char *operation;      /* operation name (x-hog-operation, else operationId) */
    const char *operation_id;
    const char *method;
    const char *path;           /* as received, percent-encoded, no query */
    const char *query;          /* raw, without '?'; "" or NULL when none */
    const cJSON *headers;       /* object: lower-case name -> value (repeated ones joined
                                 * with ", "), or NULL */
    const char *body;           /* NULL when none */
    size_t body_len;
    const char *content_type;   /* NULL when none */
};

/* The fixture that answers rq: the operation's fixtures whose method and path equal the
 * request's and whose query, headers and body are subsets of it; of those the most
 * specific (most query members, headers and body values), then the first by name.
 * NULL when none matches; then why (appended) says which fixture came closest and what
 * differed, as "fixture NAME differs: path ..., fixture has ...; query ...". */
const struct fixture *fixture_set_match(const struct fixture_set *set,
                                        const struct fixture_request *rq, struct buf *why);

/* Whether name can be a fixture's name: 1 to 200 of A-Z a-z 0-9 . _ -, not starting
 * with a dot. */
bool fixture_name_ok(const char *name);

#endif
