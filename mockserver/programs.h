/* programs: scripted programs from the admin API: an argv match and the events it
 * produces (output with delays, an exit code). Shared by exec; thread-safe. */
#ifndef HOG_PROGRAMS_H
#define HOG_PROGRAMS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

struct programs;

struct program_event {
    int fd;                 /* 1 stdout, 2 stderr, 0 for the exit event */
    char *data;
    size_t len;
    uint64_t after_ms;      /* delay before this event */
    int exit_code;          /* fd == 0 only */
};

struct program {
    char *id;
    struct program_event *events;
    size_t nevents;
};

struct programs *programs_new(void);
void programs_free(struct programs *p);
/* Add a program from its JSON ({argv: ["tool", "--flag"], match?: "exact" (default) |
 * "prefix", events: [{stdout: "a\n", after_ms?: 100}, {stderr: "b\n"}, ..., {exit: 3}]}:
 * exactly one exit event (0..255), last; after_ms 0..3600000) and return its id ("prog_N",
 * new string); RC_INVALID with a message starting with a JSON pointer on a bad definition. */
enum rc programs_add(struct programs *p, const cJSON *def, char **id, struct buf *err);
enum rc programs_delete(struct programs *p, const char *id);
void programs_clear(struct programs *p);
/* Every program as a new array (cJSON_Delete) of {id, argv, match, events}, oldest first. */
cJSON *programs_list(struct programs *p);
/* The program argv runs, or NULL: a new copy (program_free), so it outlives a delete.
 * An exact match beats a prefix one, a longer prefix a shorter, a later add an earlier. */
struct program *programs_match(struct programs *p, const char *const *argv, size_t argc);
void program_free(struct program *prog);

#endif
