/* adapter: one adapter process spoken to in hogconf/1 (harness/PROTOCOL.md): hello,
 * calls with their events, deadlines; keeps a transcript of every line both ways. */
#ifndef HOG_ADAPTER_H
#define HOG_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "child.h"
#include "rc.h"

#define ADAPTER_HELLO_MS 10000
#define ADAPTER_GRACE_MS 5000       /* waited beyond a call's deadline */
#define ADAPTER_NO_DEADLINE_MS 60000

struct adapter {
    struct child child;
    long long t0;
    struct buf transcript;  /* NDJSON: {"ms", "dir": "send"|"recv", "msg"} per line */
    cJSON *hello;           /* the adapter's hello, once received */
    const volatile int *stop;
    long long first_event_ms; /* of the last call, -1 when none */
};

/* Start command (run by /bin/sh) with envp, its stderr appended to stderr_path, and
 * shake hands. stop (may be NULL) turning true interrupts every wait. On RC_OK
 * a->hello is set (check its "runnable"). On failure err says why and the process is
 * stopped; the transcript stays until adapter_release. */
enum rc adapter_start(struct adapter *a, const char *command, char *const envp[],
                      const char *stderr_path, const volatile int *stop, struct buf *err);

/* Send one call and wait for its answer: deadline_ms (0: none) plus the grace, or 60 s.
 * On RC_OK *result is the result message, new (caller cJSON_Delete): a protocol_error
 * naming the call is turned into {"type": "result", "ok": false, "error": {"type":
 * "ProtocolError", "message"}}; *events is a new array of the call's event objects.
 * RC_TIMEOUT: no answer in time (hung); RC_IO: the adapter went away; RC_STOPPED: the
 * run is being stopped. err says what happened then. */
enum rc adapter_call(struct adapter *a, const char *id, const char *op, const cJSON *args,
                     long deadline_ms, cJSON **result, cJSON **events, struct buf *err);

/* Take one line (len bytes, without its newline) the adapter wrote while call id is
 * awaited, sent at sent_ms (a child_now_ms reading): the line goes to the transcript; an
 * event of the call is appended to events; its result, or its protocol_error turned into
 * a result, becomes *result, new (caller cJSON_Delete); other lines are only recorded. */
void adapter_take_line(struct adapter *a, const char *id, const char *line, size_t len,
                       long long sent_ms, cJSON **result, cJSON *events);

/* Milliseconds from sending the last call to its first event; -1 when it had none. */
long long adapter_first_event_ms(const struct adapter *a);

/* End it: close its stdin and give it 2 s to leave (or, when hung, SIGTERM at once), then
 * SIGTERM, SIGKILL. The transcript and hello stay. */
void adapter_stop(struct adapter *a, bool hung);

/* Stop it if running and free everything. */
void adapter_release(struct adapter *a);

/* How it ended, for messages: "exited with status 3", "killed by signal 9". */
void adapter_describe_exit(struct adapter *a, struct buf *out);

#endif
