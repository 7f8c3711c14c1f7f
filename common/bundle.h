/* bundle: where the kit's own data files (openapi/, fixtures/) are, so tools find them
 * whatever the working directory. Looks only; never creates or changes a file. */
#ifndef HOG_BUNDLE_H
#define HOG_BUNDLE_H

#include <stdbool.h>

#include "buf.h"

/* Append the path of relative ("openapi/hogplane.yaml") to out: beside the running
 * binary's tree (build/bin/X -> ../../relative) when it exists there, else in the
 * source tree the kit was built from. */
void bundle_path(const char *relative, struct buf *out);

/* Append the path of relative ("share/openapi/hogplane.yaml.cache") in the build tree the
 * running binary belongs to (build/bin/X, build/san/bin/X, build/tests/.../X -> build or
 * build/san) to out and return true, when there is such a file; false (out unchanged)
 * when there is none. */
bool bundle_build_path(const char *relative, struct buf *out);

#endif
