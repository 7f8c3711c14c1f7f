/* bundle: where the kit's own data files (openapi/, fixtures/) are, so tools find them
 * whatever the working directory. Looks only; never creates or changes a file. */
#ifndef HOG_BUNDLE_H
#define HOG_BUNDLE_H

#include "buf.h"

/* Append the path of relative ("openapi/hogplane.yaml") to out: beside the running
 * binary's tree (build/bin/X -> ../../relative) when it exists there, else in the
 * source tree the kit was built from. */
void bundle_path(const char *relative, struct buf *out);

#endif
