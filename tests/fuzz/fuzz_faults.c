/* fuzz_faults: the fault-plan loader (mockserver/faults) on arbitrary text, read as
 * faults_load reads a --faults file (YAML or JSON: a list of plans, or one plan as the
 * admin API takes it). The plans loaded then pick faults for a few requests. A refusal
 * must say why and add nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "faults.h"
#include "xmalloc.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *header(void *ctx, const char *name)
{
    (void)ctx;
    if (strcasecmp(name, "Idempotency-Key") == 0)
        return "key-1";
    if (strcasecmp(name, "User-Agent") == 0)
        return "hogclient/0.1 (c)";
    return NULL;
}

static void pick_some(struct faults *fs)
{
    static const struct fault_request reqs[] = {
        { "create", "createHogbox", "POST", "/v1/hogboxes", "pr_alice", header, NULL, false, 0 },
        { "me", "getMe", "GET", "/v1/me", "pr_bob", header, NULL, false, 0 },
        { "exec_stream", "execHogboxStream", "POST", "/v1/hogboxes/hb_1/exec/stream", "pr_alice",
          header, NULL, true, 0 },
        { "get", "getHogbox", "GET", "/v1/hogboxes/hb_%2F..", NULL, header, NULL, false, 0 },
    };
    size_t i;

    for (i = 0; i < 12; i++) {
        struct fault_request r = reqs[i % 4];
        struct fault *f;

        r.now_ms = i * 25000;
        f = faults_pick(fs, &r);
        if (f && f->label[0] == '\0')
            abort();
        if (f && (f->kind == FAULT_GARBAGE || f->kind == FAULT_SSE_GARBAGE_LINE)) {
            char out[256];

            fault_garbage(f->seed, out, f->bytes < sizeof(out) ? (size_t)f->bytes : sizeof(out),
                          f->kind == FAULT_SSE_GARBAGE_LINE);
        }
        fault_free(f);
    }
}

/* Add def; a refusal says why and leaves the plans as they were (compared while there
 * are few, since listing them all after each add would be quadratic). */
static void add(struct faults *fs, const cJSON *def, size_t *n)
{
    struct buf err = BUF_INIT;
    cJSON *plan = NULL, *before = *n < 32 ? faults_list(fs) : NULL, *after;
    enum rc rc = faults_add(fs, def, &plan, &err);

    if (rc == RC_OK) {
        if (!cJSON_IsObject(plan) || err.len)
            abort();
        ++*n;
    } else {
        after = before ? faults_list(fs) : NULL;
        if (plan || err.len == 0 || (before && !cJSON_Compare(before, after, true)))
            abort();
        cJSON_Delete(after);
    }
    cJSON_Delete(plan);
    cJSON_Delete(before);
    buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf err = BUF_INIT;
    struct faults *fs;
    cJSON *doc = NULL, *list;
    const cJSON *def;
    size_t n = 0;

    xmalloc_init_cjson();
    if (yamljson_parse((const char *)data, size, "plans.yaml", &doc, &err) != RC_OK) {
        buf_release(&err);
        return 0;
    }
    fs = faults_new(42);
    if (cJSON_IsArray(doc)) {
        cJSON_ArrayForEach(def, doc)
            add(fs, def, &n);
    } else {
        add(fs, doc, &n);
    }
    pick_some(fs);
    /* What is listed goes back in (without what listing adds); it may be refused. */
    list = faults_list(fs);
    cJSON_ArrayForEach(def, list) {
        cJSON *copy = cJSON_Duplicate(def, true);
        static const char *const listed[] = { "id", "matched", "hits", "expired" };
        size_t i;

        for (i = 0; i < 4; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(copy, listed[i]);
        add(fs, copy, &n);
        cJSON_Delete(copy);
    }
    pick_some(fs);
    if (cJSON_GetArraySize(list) > 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(list->child, "id");

        if (!cJSON_IsString(id) || faults_delete(fs, id->valuestring) != RC_OK)
            abort();
    }
    cJSON_Delete(list);
    faults_free(fs);
    cJSON_Delete(doc);
    buf_release(&err);
    return 0;
}
