/* scenario: the scenario files of conformance/SCENARIOS.md, loaded and checked before
 * anything runs. Unknown members and malformed matchers are refused with file:line:col. */
#ifndef HOG_SCENARIO_H
#define HOG_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

enum { TARGET_MOCK = 1, TARGET_REAL = 2 };

struct scenario {
    char *id;               /* "suite/name", the file's path under the directory */
    char *suite;
    char *title;
    char *path;             /* the file */
    char *auth;             /* api_token, token_file, k8s_sa, github_oidc or none */
    const cJSON *mint;      /* auth.mint: how to mint its JWT (k8s_sa, github_oidc), or NULL */
    bool token_file;        /* the credential goes in a file (auth token_file, or auth.file) */
    unsigned targets;       /* TARGET_* bits */
    cJSON *requires;        /* array of feature names: the file's and those its ops imply */
    cJSON *doc;             /* the whole file; setup, steps and wire point into it */
    const cJSON *setup;     /* NULL when none */
    const cJSON *steps;     /* array */
    const cJSON *wire;      /* NULL when none */
    uint64_t hash;          /* FNV-1a of the id: principal names and shards */
    char *load_error;       /* the file does not load: why (lines), and nothing else is set
                             * but id, suite, title, path, auth, requires */
    bool exclusive;         /* gets a hogmock of its own: it changes what all principals share (clock,
                             * programs, ...), or its requests may be refused before they
                             * have a principal (JWT auth paths, none, 401/403 checks) */
};

struct scenario_set {
    struct scenario *items; /* sorted by id */
    size_t n;
};

/* Load every *.yaml (and *.yml) under dir, recursively, into set (caller
 * scenario_set_release). RC_OK when all load; otherwise every problem found is appended
 * to err, one line each ("file:line:col: /pointer: what is wrong"), and the rc of the
 * first; a file that does not load is in set too, with its load_error. */
enum rc scenario_load_dir(const char *dir, struct scenario_set *set, struct buf *err);
/* Load text (len bytes) as the file path, at rel ("suite/name.yaml") under the directory,
 * into set as scenario_load_dir would; for tests that hold no file. */
enum rc scenario_load_text(const char *path, const char *rel, const char *text, size_t len,
                           struct scenario_set *set, struct buf *err);
void scenario_set_release(struct scenario_set *set);

/* The adapter feature an op needs, or NULL for the core ops; whether op is known. */
const char *scenario_op_feature(const char *op, bool *known);

/* Whether id matches the shell glob pattern (fnmatch, '*' crossing '/'). */
bool scenario_glob(const char *pattern, const char *id);

#endif
