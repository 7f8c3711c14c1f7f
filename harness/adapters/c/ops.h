/* ops: the operations of the hogconf/1 protocol (harness/PROTOCOL.md) carried out with
 * libhogclient: a call's args in, its events and one result line out. One libhogclient
 * call per protocol call: never a retry, wait or fallback of its own. */
#ifndef HOG_ADAPTER_OPS_H
#define HOG_ADAPTER_OPS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "hogclient.h"

/* How calls reach hogplane: from the environment, changed by `configure`. */
struct conf {
    char *host;                 /* NULL until HOG_HOST or configure sets it */
    char *token;
    char *token_file;           /* wins over token */
    struct hog_client_options o; /* numbers only; strings above */
};

/* One call being carried out; owns its members. */
struct call {
    char *id;
    char *op;
    cJSON *args;                /* an object */
    long deadline_ms;           /* 0: none */
    struct conf conf;           /* a copy taken when the call was read */
    unsigned seq;               /* events written so far */
};

/* Write one message line (a '\n' is added), whole, under the output lock. Defined by
 * the adapter's main; ends the process when stdout is gone. */
void adapter_emit(struct buf *line);

/* Set up conf from HOG_HOST, HOG_TOKEN and HOG_TOKEN_FILE. */
void conf_from_env(struct conf *conf);
/* dst as a copy of src (strings duplicated). */
void conf_copy(struct conf *dst, const struct conf *src);
void conf_release(struct conf *conf);
/* Apply a configure call's args to conf; a new {"ignored": [...]} in *value, or RC_PARSE
 * with why (InvalidArguments). */
enum rc conf_apply(struct conf *conf, const cJSON *args, cJSON **value, struct buf *why);

/* The features of this adapter as a new JSON array. */
cJSON *ops_features(void);
/* Is op one this adapter carries out (configure aside)? */
bool ops_known(const char *op);
/* Carry out call (not configure): its events and its result are written. */
void ops_run(struct call *call);

/* Write the result of call: ok with value (rendered JSON text), or the error. */
void emit_ok(const struct call *call, const char *value, size_t len);
/* An error result of one of the adapter's own types (UnsupportedOperation,
 * InvalidArguments, AdapterError). */
void emit_adapter_error(const struct call *call, const char *type, const char *message);

#endif
