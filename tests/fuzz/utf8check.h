/* utf8check: the fuzz targets' oracle for strict UTF-8, written apart from the decoders
 * under test (common/buf, common/sse) so that it does not share their mistakes. */
#ifndef HOG_FUZZ_UTF8CHECK_H
#define HOG_FUZZ_UTF8CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Are the n bytes at s well-formed UTF-8: shortest forms, no surrogates, up to U+10FFFF? */
static inline bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp;

    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] >= 0xC2 && s[i] <= 0xDF)
            need = 1, cp = s[i] & 0x1F;
        else if (s[i] >= 0xE0 && s[i] <= 0xEF)
            need = 2, cp = s[i] & 0x0F;
        else if (s[i] >= 0xF0 && s[i] <= 0xF4)
            need = 3, cp = s[i] & 0x07;
        else
            return false;
        for (k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF
            || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

#endif
