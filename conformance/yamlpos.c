#include "yamlpos.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"
#include "jsonptr.h"
#include "xmalloc.h"

#define MAX_DEPTH 256
#define MAX_EVENTS 10000000

struct frame {
    bool is_map;
    bool want_key;      /* a mapping: the next node is a key */
    size_t index;       /* a sequence: the next item's index */
    size_t mark;        /* length of the pointer to this container */
};

bool yamlpos_find(const char *text, size_t len, const char *ptr, size_t *line, size_t *col)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct frame stack[MAX_DEPTH];
    size_t depth = 0, events = 0;
    struct buf path = BUF_INIT;     /* the pointer of the node at hand */
    bool found = false, done = false;

    if (!yaml_parser_initialize(&parser))
        return false;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && !found && events++ < MAX_EVENTS && yaml_parser_parse(&parser, &ev)) {
        bool is_node = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT
                       || ev.type == YAML_SEQUENCE_START_EVENT
                       || ev.type == YAML_MAPPING_START_EVENT;
        bool is_key = false, check = true;

        if (is_node && depth > 0) {
            struct frame *f = &stack[depth - 1];

            if (f->is_map && f->want_key) {
                is_key = true;
                f->want_key = false;
                buf_truncate(&path, f->mark);
                if (ev.type == YAML_SCALAR_EVENT) {
                    char *key = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);

                    jsonptr_append(&path, key);
                    free(key);
                }
            } else if (f->is_map) {
                f->want_key = true;     /* a value: path already names its member */
                check = false;          /* reported at its key */
            } else {
                buf_truncate(&path, f->mark);
                jsonptr_append_index(&path, f->index++);
            }
        }
        if (is_node && check && strcmp(buf_cstr(&path), ptr) == 0) {
            *line = ev.start_mark.line + 1;
            *col = ev.start_mark.column + 1;
            found = true;
        }
        if (!is_key && (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)) {
            if (depth == MAX_DEPTH) {
                done = true;
            } else {
                stack[depth].is_map = ev.type == YAML_MAPPING_START_EVENT;
                stack[depth].want_key = true;
                stack[depth].index = 0;
                stack[depth].mark = path.len;
                depth++;
            }
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            if (depth > 0)
                depth--;
        } else if (ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT) {
            done = true;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    buf_release(&path);
    return found;
}
