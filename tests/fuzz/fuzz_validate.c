/* fuzz_validate.c: the identifier rules (engine/core/validate.h) against
 * a second, deliberately plain implementation of the documented rules.
 *
 * Keys: [a-z0-9][a-z0-9_-]*, 1..VALIDATE_KEY_MAX bytes. Ids: 1..
 * VALIDATE_ID_MAX bytes of 0x21-0x7E. validate_equal_const_time: equal
 * lengths and equal bytes. Any disagreement aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool model_key(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > VALIDATE_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
        if (!alnum && !(i > 0 && (s[i] == '_' || s[i] == '-')))
            return false;
    }
    return true;
}

static bool model_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > VALIDATE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0; /* the string ends at the first NUL, as a C caller's would */
    if (validate_key(s) != model_key(s) || validate_id(s) != model_id(s))
        abort();
    /* the input split in two at a position taken from its first byte */
    size_t cut = size ? data[0] % (size + 1) : 0;
    const char *a = (const char *)data, *b = (const char *)data + cut;
    size_t alen = cut, blen = size - cut;
    bool same = alen == blen && memcmp(a, b, alen) == 0;
    if (validate_equal_const_time(a, alen, b, blen) != same ||
        !validate_equal_const_time(a, alen, a, alen))
        abort();
    free(s);
    return 0;
}
