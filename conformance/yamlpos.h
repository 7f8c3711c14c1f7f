/* yamlpos: where in a YAML file the node at a JSON Pointer was written, so that a
 * scenario's mistakes are reported as file:line:col. Reads only; for messages. */
#ifndef HOG_YAMLPOS_H
#define HOG_YAMLPOS_H

#include <stdbool.h>
#include <stddef.h>

/* The 1-based line and column of the node at ptr in the YAML (or JSON) text: for a
 * mapping member, of its key. False when the text does not parse or has no such node. */
bool yamlpos_find(const char *text, size_t len, const char *ptr, size_t *line, size_t *col);

#endif
