/* yamlemit: a cJSON tree written as block YAML that people can read and edit, and that
 * yamljson (and any YAML 1.2 or 1.1 reader) reads back as the same tree. Writes text only. */
#ifndef HOG_YAMLEMIT_H
#define HOG_YAMLEMIT_H

#include <cjson/cJSON.h>

#include "buf.h"

/* Append doc as one YAML document ending in a newline. Strings are plain when no reader
 * could take them for anything else, literal blocks (|) when they span lines, else
 * double-quoted; bytes that are not UTF-8 become U+FFFD. A document holding a mapping key
 * longer than YAMLEMIT_MAX_KEY bytes as written (quotes and escapes included) is written
 * as JSON, which YAML readers take too. */
void yamlemit_doc(struct buf *out, const cJSON *doc);

/* Longer keys are over what libyaml takes as an implicit key. */
#define YAMLEMIT_MAX_KEY 1000

#endif
