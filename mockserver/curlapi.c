#include "curlapi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The library's soname: what -lcurl links against, stable since libcurl 7.16. */
#define LIBCURL_SONAME "libcurl.so.4"

#define FN(name) { "curl_" #name, offsetof(struct curlapi, name) }

static const struct {
    const char *symbol;
    size_t offset;
} functions[] = {
    FN(easy_init), FN(easy_setopt), FN(easy_getinfo), FN(easy_perform), FN(easy_pause),
    FN(easy_strerror), FN(easy_cleanup), FN(multi_init), FN(multi_add_handle),
    FN(multi_remove_handle), FN(multi_perform), FN(multi_info_read), FN(multi_poll),
    FN(multi_wakeup), FN(multi_cleanup), FN(slist_append), FN(slist_free_all), FN(url),
    FN(url_set), FN(url_get), FN(url_cleanup), FN(free),
};

static struct curlapi api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static enum rc load_rc = RC_IO;
static char load_error[256];

static void load(void)
{
    CURLcode (*global_init)(long);
    void *lib, *sym;
    size_t i;

    /* Kept open for the life of the process: libcurl cannot be unloaded safely. */
    lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof(load_error), "cannot open %s: %s", LIBCURL_SONAME,
                 dlerror());
        return;
    }
    for (i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
        sym = dlsym(lib, functions[i].symbol);
        if (!sym) {
            snprintf(load_error, sizeof(load_error), "%s has no %s", LIBCURL_SONAME,
                     functions[i].symbol);
            return;
        }
        /* POSIX makes a data pointer from dlsym usable as the function pointer. */
        memcpy((char *)&api + functions[i].offset, &sym, sizeof(sym));
    }
    sym = dlsym(lib, "curl_global_init");
    if (!sym) {
        snprintf(load_error, sizeof(load_error), "%s has no curl_global_init", LIBCURL_SONAME);
        return;
    }
    memcpy(&global_init, &sym, sizeof(sym));
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_error, sizeof(load_error), "libcurl does not initialise");
        return;
    }
    load_rc = RC_OK;
}

enum rc curlapi_load(struct buf *err)
{
    pthread_once(&once, load);
    if (load_rc != RC_OK && err)
        buf_addstr(err, load_error);
    return load_rc;
}

const struct curlapi *curlapi(void)
{
    return &api;
}
