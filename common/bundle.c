#include "bundle.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#ifndef HOG_SOURCE_DIR
#define HOG_SOURCE_DIR "."
#endif

void bundle_path(const char *relative, struct buf *out)
{
    char exe[PATH_MAX];
    size_t mark = out->len;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        char *slash;
        int up;

        exe[n] = '\0';
        /* build/bin/hogmock and build/san/bin/hogmock, and tests in build/tests/. */
        for (up = 0; up < 4 && (slash = strrchr(exe, '/')); up++) {
            *slash = '\0';
            if (up < 2)
                continue;
            buf_addf(out, "%s/%s", exe, relative);
            if (access(buf_cstr(out), R_OK) == 0)
                return;
            buf_truncate(out, mark);
        }
    }
    buf_addf(out, "%s/%s", HOG_SOURCE_DIR, relative);
}

bool bundle_build_path(const char *relative, struct buf *out)
{
    char exe[PATH_MAX];
    size_t mark = out->len;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    int up;

    if (n <= 0)
        return false;
    exe[n] = '\0';
    /* The binary itself, then bin/ or tests/integration/ up to the build directory. */
    for (up = 0; up < 4 && (slash = strrchr(exe, '/')); up++) {
        *slash = '\0';
        if (up < 1)
            continue;
        buf_addf(out, "%s/%s", exe, relative);
        if (access(buf_cstr(out), R_OK) == 0)
            return true;
        buf_truncate(out, mark);
    }
    return false;
}
