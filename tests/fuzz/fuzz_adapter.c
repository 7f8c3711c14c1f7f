/* fuzz_adapter: the hogconf side of the adapter protocol (conformance/adapter, child) on
 * arbitrary bytes as an adapter's stdout: split into lines by child_read_line from a
 * pipe, each taken by adapter_take_line for the call "c1"; each result and the events
 * then go through the matchers a scenario's expect uses. The transcript must stay one
 * JSON object per line whatever the adapter wrote. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "adapter.h"
#include "buf.h"
#include "child.h"
#include "match.h"
#include "utf8check.h"
#include "xmalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIPE_MAX 60000      /* what a pipe takes without a reader */

static cJSON *expects;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmalloc_init_cjson();
    /* Matchers in the shapes scenarios use on results (conformance/scenarios). */
    expects = cJSON_Parse(
        "[{\"ok\": true, \"value\": {\"id\": {\"$regex\": \"^hb_\"}, \"state\": \"running\","
        "  \"cpus\": {\"$gte\": 1, \"$lte\": 8}, \"labels\": {}}},"
        " {\"ok\": false, \"error\": {\"type\": \"NotFound\", \"status\": 404,"
        "  \"code\": {\"$any\": [\"not_found\", \"hogbox_not_found\"]}}},"
        " {\"ok\": true, \"value\": {\"items\": {\"$len\": 2}, \"next_cursor\": {\"$type\": \"null\"}}},"
        " {\"ok\": true, \"value\": {\"stdout\": {\"$contains\": \"hi\"}, \"exit_code\": 0,"
        "  \"data\": {\"$bytes\": {\"size\": 3, \"repeat\": \"a\"}}}},"
        " {\"ok\": {\"$present\": true}, \"value\": [1, {\"$type\": \"string\"}, {\"$present\": false}]}]");
    return 0;
}

static void check_result(const cJSON *result, const cJSON *events)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(result, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(result, "id");
    const cJSON *want;
    struct buf why = BUF_INIT;

    if (!cJSON_IsString(type) || strcmp(type->valuestring, "result") != 0 || !cJSON_IsString(id)
        || strcmp(id->valuestring, "c1") != 0 || !cJSON_IsArray(events))
        abort();
    cJSON_ArrayForEach(want, expects) {
        (void)match_json(want, result, "", &why);
        (void)match_json(want, events, "/events", &why);
    }
    match_describe(&why, result);
    match_describe(&why, events);
    buf_release(&why);
}

/* Every transcript line is one JSON object, in UTF-8, with the line it stands for. */
static void check_transcript(const struct buf *t)
{
    const char *p = buf_cstr(t), *end = p + t->len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cJSON *o;

        if (!nl)
            abort();
        o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        if (!cJSON_IsObject(o) || !utf8_valid((const unsigned char *)p, (size_t)(nl - p))
            || (!cJSON_GetObjectItemCaseSensitive(o, "msg")
                && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "raw"))))
            abort();
        cJSON_Delete(o);
        p = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct adapter a;
    struct buf line = BUF_INIT;
    cJSON *result = NULL, *events = cJSON_CreateArray();
    int fds[2];
    size_t off = 0;

    if (size > PIPE_MAX || pipe(fds) != 0)
        return 0;
    while (off < size) {
        ssize_t n = write(fds[1], data + off, size - off);

        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    close(fds[1]);
    memset(&a, 0, sizeof(a));
    a.child.in_fd = -1;
    a.child.out_fd = fds[0];
    a.first_event_ms = -1;
    a.t0 = child_now_ms();
    while (child_read_line(&a.child, child_now_ms() + 5000, NULL, &line) == RC_OK) {
        adapter_take_line(&a, "c1", line.data ? line.data : "", line.len, a.t0, &result, events);
        if (result) {
            check_result(result, events);
            cJSON_Delete(result);
            result = NULL;
            cJSON_Delete(events);
            events = cJSON_CreateArray();
        }
    }
    check_transcript(&a.transcript);
    close(fds[0]);
    buf_release(&a.child.rbuf);
    buf_release(&a.transcript);
    buf_release(&line);
    cJSON_Delete(events);
    return 0;
}
