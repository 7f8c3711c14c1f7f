/* fuzz_yamljson: the YAML/JSON loader (common/yamljson) on arbitrary text, read as YAML and
 * as strict JSON. A failure must say why in one positioned line; a success must come back
 * the same through the YAML emitter (common/yamlemit) and through cJSON's printer. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "xmalloc.h"
#include "yamlemit.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure is one line "name:line:col: what" placed inside the text (or just past its
 * end), and nothing else is set. */
static void check_failure(const char *name, enum rc rc, const cJSON *doc, const struct buf *err,
                          const uint8_t *data, size_t size)
{
    const char *msg = buf_cstr(err);
    unsigned long line = 0, col = 0, lines = 1;
    size_t i;

    if (doc || rc == RC_OK || err->len == 0 || strchr(msg, '\n')
        || strncmp(msg, name, strlen(name)) != 0 || msg[strlen(name)] != ':')
        abort();
    /* Line breaks as YAML counts them: LF, CR LF, CR, NEL, LS and PS. */
    for (i = 0; i < size; i++)
        lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'))
                 || (data[i] == 0xC2 && i + 1 < size && data[i + 1] == 0x85)
                 || (data[i] == 0xE2 && i + 2 < size && data[i + 1] == 0x80
                     && (data[i + 2] == 0xA8 || data[i + 2] == 0xA9));
    if (sscanf(msg + strlen(name), ":%lu:%lu:", &line, &col) != 2 || line < 1 || line > lines + 1
        || col < 1 || col > size + 1)
        abort();
}

/* text must load back as doc. */
static void reload(const char *name, const struct buf *text, const cJSON *doc)
{
    struct buf err = BUF_INIT;
    cJSON *again = NULL;

    if (yamljson_parse(text->data, text->len, name, &again, &err) != RC_OK
        || !cJSON_Compare(doc, again, true))
        abort();
    cJSON_Delete(again);
    buf_release(&err);
}

static void load(const uint8_t *data, size_t size, const char *name)
{
    struct buf err = BUF_INIT, text = BUF_INIT;
    cJSON *doc = NULL;
    enum rc rc = yamljson_parse((const char *)data, size, name, &doc, &err);
    char *json;

    if (rc != RC_OK) {
        check_failure(name, rc, doc, &err, data, size);
        buf_release(&err);
        return;
    }
    if (!doc || err.len)
        abort();
    yamlemit_doc(&text, doc);
    reload("again.yaml", &text, doc);
    json = cJSON_PrintUnformatted(doc);
    buf_reset(&text);
    buf_addstr(&text, json);
    cJSON_free(json);
    reload("again.json", &text, doc);
    buf_release(&text);
    buf_release(&err);
    cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmalloc_init_cjson();
    load(data, size, "input.yaml");
    load(data, size, "input.json");
    return 0;
}
