/* xmalloc: allocation that never returns NULL; out of memory is fatal.
 * Also points cJSON at the same allocator so its failures are fatal too. */
#ifndef HOG_XMALLOC_H
#define HOG_XMALLOC_H

#include <stddef.h>

/* New memory; caller frees with free(). xmalloc(0) returns a valid pointer. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* Takes over ptr; the returned pointer replaces it. */
void *xrealloc(void *ptr, size_t size);
/* New NUL-terminated copies; caller frees with free(). */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

/* Route cJSON's allocations through xmalloc; idempotent, call before using cJSON. */
void xmalloc_init_cjson(void);

#endif
