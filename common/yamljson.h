/* yamljson: load one YAML 1.2 (or JSON) document into a cJSON tree, for specs and configs.
 * Never guesses: what JSON cannot hold (tags, inf/nan, complex keys, merge keys) is refused
 * with a positioned message instead of being read some other way.
 *
 * Rules, for both entry points:
 * - Input is UTF-8 (a leading byte-order mark is skipped); exactly one document. An empty
 *   stream (nothing, or only comments) is RC_PARSE "empty document"; a bare "---" is null;
 *   a second document is RC_PARSE "more than one document".
 * - Plain scalars follow the YAML 1.2 core schema: null|Null|NULL|~|empty, true|false (and
 *   True/TRUE/False/FALSE; yes/no/on/off stay strings), decimal/0o/0x integers, floats.
 *   Quoted and block scalars are strings. Tags !!str !!int !!float !!bool !!null !!map !!seq
 *   are honoured; any other tag is RC_UNSUPPORTED.
 * - Numbers are doubles (cJSON has nothing else): an integer beyond 2^53 (such as an int64
 *   bound in a spec) is kept as the nearest double, not rejected. .inf, .nan and numbers
 *   that overflow a double are RC_UNSUPPORTED. Strings containing NUL are RC_UNSUPPORTED.
 * - Mapping keys must be scalars and become the key text as written ("200", "0x10",
 *   "true"); keys are compared as text, and a duplicate is RC_PARSE naming both places.
 *   The merge key "<<" is RC_UNSUPPORTED (quote it to mean the string).
 * - Anchors and aliases work: an alias is a deep copy of the anchored node. Against alias
 *   bombs, a document over YAMLJSON_MAX_NODES nodes (counting every copy), or whose aliases
 *   copy over YAMLJSON_MAX_ALIAS_BYTES of strings and keys, is RC_TOO_LARGE.
 * - Nesting deeper than YAMLJSON_MAX_DEPTH containers is RC_TOO_DEEP (also for JSON).
 * - JSON: a name ending in ".json" is parsed as strict RFC 8259 JSON only. Other input
 *   whose first non-blank character is '{' or '[' is tried as strict JSON first (libyaml
 *   has limits JSON does not, such as 1024-character keys) and, when that is not valid
 *   JSON, read as YAML, of which JSON is a subset. JSON has no node limit (no aliases).
 * - A %YAML 1.1 directive does not switch to 1.1 typing.
 */
#ifndef HOG_YAMLJSON_H
#define HOG_YAMLJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

#define YAMLJSON_MAX_DEPTH 256
#define YAMLJSON_MAX_NODES 1000000
#define YAMLJSON_MAX_ALIAS_BYTES (64 << 20) /* text (strings, keys) that aliases may copy */

/* Parse one YAML (or JSON) document of len bytes; text need not be NUL-terminated and
 * may be NULL when len is 0. name is used in messages ("hogplane.yaml"; NULL reads as
 * "<input>"). On success *out is a new tree (caller cJSON_Delete). On failure *out is
 * NULL, the rc says why (RC_PARSE, RC_TOO_DEEP, RC_UNSUPPORTED, RC_TOO_LARGE) and one line
 * "name:line:col: what went wrong" (1-based, columns in characters, no newline) is
 * appended to err, which may be NULL. */
enum rc yamljson_parse(const char *text, size_t len, const char *name, cJSON **out,
                       struct buf *err);

/* Same for the file at path (path is the name in messages). On success *out is a new
 * tree (caller cJSON_Delete). When the file cannot be read: RC_NOT_FOUND (no such file)
 * or RC_IO, with "cannot read 'path': reason" appended to err (may be NULL). */
enum rc yamljson_load_file(const char *path, cJSON **out, struct buf *err);

#endif
