/* decimal.c: unsigned integers as decimal text (see decimal.h). */
#include "decimal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t decimal_u64(char *out, uint64_t v)
{
    /* Digits come out least significant first: fill a scratch buffer from
     * its end, then copy the used tail, so out is written only within the
     * length the caller sized it for. */
    char tmp[DECIMAL_U64_DIGITS];
    size_t at = sizeof tmp;
    do {
        tmp[--at] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = sizeof tmp - at;
    memcpy(out, tmp + at, n);
    out[n] = '\0';
    return n;
}

int decimal_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > DECIMAL_U64_DIGITS || (len > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) /* would wrap: only 20-digit text gets here */
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int decimal_parse_amount(const char *s, size_t len, double *out)
{
    /* strtod alone would take " 1", "+1", "0x10", "inf" and "nan" too, and
     * needs a terminator: check the alphabet first, then convert a copy. */
    char buf[DECIMAL_G17_MAX + 1];
    if (len == 0 || len > DECIMAL_G17_MAX)
        return -1;
    if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && len > 1 && s[1] >= '0' && s[1] <= '9'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '-' || c == '+'))
            return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

size_t decimal_amount(char *out, double v)
{
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(out, DECIMAL_G17_MAX + 1, "%.*g", digits, v);
        if (n > 0 && n <= DECIMAL_G17_MAX && strtod(out, NULL) == v)
            break;
    }
    return n > 0 ? (size_t)n : 0;
}

int decimal_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
