/* validate.c: identifier rules (see validate.h). */
#include "validate.h"

#include <string.h>

bool validate_key(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (n > 0 && (c == '_' || c == '-'));
        if (!ok || n >= VALIDATE_KEY_MAX)
            return false;
    }
    return true;
}

bool validate_id(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        if (*p < 0x21 || *p > 0x7e || n >= VALIDATE_ID_MAX)
            return false;
    return true;
}

bool validate_equal_const_time(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Walk the longer length every time; fold the length mismatch into the
     * accumulator so an early exit never reveals a prefix match. */
    size_t n = alen > blen ? alen : blen;
    unsigned diff = (unsigned)(alen != blen);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}
