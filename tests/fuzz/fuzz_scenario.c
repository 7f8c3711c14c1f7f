/* fuzz_scenario: the scenario loader (conformance/scenario) on arbitrary text as one
 * scenario file, at the path its own id names when it has one. What loads then goes
 * through what the runner does with a step before and after the call: substitution of
 * ${...} (subst), $bytes expansion, and its expect matchers against a fixed answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "match.h"
#include "scenario.h"
#include "subst.h"
#include "xmalloc.h"
#include "yamljson.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BYTES_MAX 65536     /* $bytes expanded here; the runner allows far more */

static cJSON *vars, *answer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmalloc_init_cjson();
    vars = cJSON_Parse("{\"principal\": \"pr_fuzz\", \"token\": \"tok_fuzz\", \"run_id\": \"r1\","
                       " \"host\": \"http://127.0.0.1:1\", \"issuer\": {\"url\": \"http://i\","
                       " \"name\": \"k8s\"}}");
    answer = cJSON_Parse("{\"id\": \"hb_0123456789abcdef\", \"state\": \"running\", \"cpus\": 1,"
                         " \"memory_mib\": 256, \"labels\": {\"a\": \"b\"}, \"stdout\": \"hi\\n\","
                         " \"exit_code\": 0, \"items\": [1, \"two\", null, true, {\"k\": [ ]}],"
                         " \"type\": \"NotFound\", \"status\": 404, \"data\": \"AAEC\"}");
    return 0;
}

/* Whether every {"$bytes": {"size": N}} in v is small enough to expand here. */
static bool bytes_small(const cJSON *v)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, v) {
        if (c->string && strcmp(c->string, "$bytes") == 0) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "size");

            if (!cJSON_IsNumber(n) || n->valuedouble > BYTES_MAX)
                return false;
        }
        if (!bytes_small(c))
            return false;
    }
    return true;
}

static void run_steps(const struct scenario *sc)
{
    cJSON *v = cJSON_Duplicate(vars, true);
    const cJSON *step;
    struct buf err = BUF_INIT, why = BUF_INIT;

    cJSON_ArrayForEach(step, sc->steps) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(step, "args");
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
        const cJSON *save = cJSON_GetObjectItemCaseSensitive(step, "save");
        cJSON *a = NULL, *e = NULL;

        buf_reset(&err);
        if (args && subst_json(args, v, "/args", &a, &err) == RC_OK && bytes_small(a))
            (void)match_expand_bytes(a, "/args", &err);
        if (expect && subst_json(expect, v, "/expect", &e, &err) == RC_OK) {
            const cJSON *m;

            cJSON_ArrayForEach(m, e) {
                buf_reset(&why);
                (void)match_json(m, answer, "/value", &why);
                (void)match_json(m, NULL, "/value", &why);
                match_describe(&why, m);
            }
        }
        if (cJSON_IsString(save))
            cJSON_AddItemToObject(v, save->valuestring, cJSON_Duplicate(answer, true));
        cJSON_Delete(a);
        cJSON_Delete(e);
    }
    if (sc->wire) {
        cJSON *w = NULL;

        if (subst_json(sc->wire, v, "/wire", &w, &err) == RC_OK)
            cJSON_Delete(w);
    }
    cJSON_Delete(v);
    buf_release(&err);
    buf_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario_set set = { NULL, 0 };
    struct buf err = BUF_INIT, rel = BUF_INIT;
    cJSON *doc = NULL;
    const cJSON *id;
    enum rc rc;

    /* The file sits where its id says, so that a good scenario loads. */
    if (yamljson_parse((const char *)data, size, "s.yaml", &doc, NULL) == RC_OK
        && cJSON_IsString(id = cJSON_GetObjectItemCaseSensitive(doc, "id"))
        && strlen(id->valuestring) < 128 && strchr(id->valuestring, '/'))
        buf_addf(&rel, "%s.yaml", id->valuestring);
    else
        buf_addstr(&rel, "fuzz/input.yaml");
    cJSON_Delete(doc);

    rc = scenario_load_text(buf_cstr(&rel), buf_cstr(&rel), (const char *)data, size, &set, &err);
    if (set.n != 1 || (rc == RC_OK) != (set.items[0].load_error == NULL)
        || (rc != RC_OK && err.len == 0))
        abort();
    if (rc == RC_OK) {
        if (!cJSON_IsArray(set.items[0].steps) || !set.items[0].targets)
            abort();
        run_steps(&set.items[0]);
    }
    scenario_set_release(&set);
    buf_release(&err);
    buf_release(&rel);
    return 0;
}
