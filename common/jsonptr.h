/* jsonptr: RFC 6901 JSON Pointers over cJSON trees, and their URI-fragment form.
 * Only reads trees; never changes or frees them. */
#ifndef HOG_JSONPTR_H
#define HOG_JSONPTR_H

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

/* The node at ptr ("" is the whole document, "/a/0" ...), borrowed from doc;
 * NULL when a step is missing or ptr is malformed. */
const cJSON *jsonptr_get(const cJSON *doc, const char *ptr);

/* Append "/" and token, escaped (~ -> ~0, / -> ~1), to the pointer in b. */
void jsonptr_append(struct buf *b, const char *token);
void jsonptr_append_index(struct buf *b, size_t index);

/* Turn a URI fragment ("#/a%20b/c", the leading '#' optional) into a plain
 * pointer in out (appended). RC_PARSE on bad %-escapes or a missing '/'. */
enum rc jsonptr_from_fragment(const char *fragment, struct buf *out);

#endif
