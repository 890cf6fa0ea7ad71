/* etag.c: entity tags (see etag.h). */
#include "etag.h"

#include <string.h>

uint64_t etag_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325u; /* the FNV-1a offset basis and prime, 64-bit */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

void etag_format_weak(uint64_t h, char out[ETAG_FINGERPRINT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "W/\"", 3);
    for (int i = 0; i < 16; i++)
        out[3 + i] = hex[(h >> (60 - 4 * i)) & 0xf];
    out[19] = '"';
    out[20] = '\0';
}

/* The opaque part of a tag, its quotes included: skips W/. */
static const char *opaque(const char *tag)
{
    return strncmp(tag, "W/", 2) == 0 ? tag + 2 : tag;
}

static bool ows(char c) { return c == ' ' || c == '\t'; }

bool etag_none_match(const char *if_none_match, const char *etag)
{
    if (!if_none_match || !etag)
        return false;
    const char *want = opaque(etag);
    size_t want_len = strlen(want);
    const char *s = if_none_match;
    while (ows(*s))
        s++;
    if (s[0] == '*') {
        s++;
        while (ows(*s))
            s++;
        return *s == '\0';
    }
    for (;;) {
        while (ows(*s) || *s == ',')
            s++;
        if (*s == '\0')
            return false;
        if (strncmp(s, "W/", 2) == 0)
            s += 2;
        if (*s != '"')
            return false; /* malformed: stop here */
        const char *end = strchr(s + 1, '"');
        if (!end)
            return false;
        size_t len = (size_t)(end - s) + 1;
        if (len == want_len && memcmp(s, want, len) == 0)
            return true;
        s = end + 1;
        while (ows(*s))
            s++;
        if (*s != ',' && *s != '\0')
            return false;
    }
}
