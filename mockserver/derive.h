/* derive: fixtures made from a spec's own examples, one per response example of every
 * operation (successes and every documented error), so replay answers as the spec shows.
 * Reads the spec only; writing the fixtures is the caller's business. */
#ifndef HOG_DERIVE_H
#define HOG_DERIVE_H

#include "buf.h"
#include "fixtures.h"
#include "openapi.h"
#include "rc.h"

/* Called with each fixture, borrowed for the call; non-zero stops the walk (RC_STOPPED). */
typedef int derive_fn(const struct fixture *f, void *ctx);

/* Derive the fixtures of api, operation by operation in document order, and within one
 * its responses in order: one per example of a response (named
 * "<operationId>-<status>-<example>") and one per response without a body
 * ("<operationId>-<status>-no_content"). The request is the request-body example of the
 * same name (else the first when the body is required, else no body condition), path
 * and required query and header parameters from their
 * examples; the response is the example with the response's Content-Type and the headers
 * that have an example. A "default" (or "4XX") response gets the status its example's
 * `status` member names, else 418 or the first status of its range the operation does not
 * list. When several fixtures of an operation have the same request, all but the first
 * also need the header `prefer: example=<name>`, so that each can be asked for.
 * spec_name (the file's name) goes into each description. RC_OK, or the rc of a $ref that
 * does not resolve with a message appended to err. */
enum rc derive_fixtures(const struct openapi *api, const char *spec_name, derive_fn *fn,
                        void *ctx, struct buf *err);

/* The header that picks one fixture among those with the same request. */
#define DERIVE_SELECT_HEADER "prefer"

#endif
