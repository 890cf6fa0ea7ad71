/* visitor_record.c: reading a visitor record's value (see visitor_record.h). */
#include "visitor_record.h"

#include <stdint.h>
#include <string.h>

#include "decimal.h"
#include "experiment.h"

/* The next '|'-separated field of [*p, end): its start and length; *p
 * moves past the separator. false when there is no separator left and
 * last is false (a field is missing). */
static bool next_field(const char **p, const char *end, bool last, const char **s, size_t *n)
{
    const char *bar = memchr(*p, '|', (size_t)(end - *p));
    if (!bar && !last)
        return false;
    *s = *p;
    *n = (size_t)((bar ? bar : end) - *p);
    *p = bar ? bar + 1 : end;
    return true;
}

int visitor_record_parse(const char *value, size_t len, visitor_record *out)
{
    if (!value || len == 0 || len > VISITOR_RECORD_MAX || memchr(value, '\0', len))
        return -1;
    const char *p = value, *end = value + len, *s;
    size_t n;

    uint64_t vi;
    if (!next_field(&p, end, false, &s, &n) || decimal_parse_u64(s, n, EXP_MAX_VARIANTS - 1, &vi))
        return -1;
    out->variant = (int)vi;

    if (!next_field(&p, end, false, &s, &n) || n == 0 || n > VALIDATE_KEY_MAX)
        return -1;
    memcpy(out->region, s, n);
    out->region[n] = '\0';
    if (!validate_key(out->region))
        return -1;

    /* FLAGS ends at the next '|' (a number follows) or at the end. */
    bool more = memchr(p, '|', (size_t)(end - p)) != NULL;
    next_field(&p, end, true, &s, &n);
    out->promoted = out->converted = out->declined = out->has_cart = false;
    bool has_period = false;
    for (size_t i = 0; i < n; i++) {
        bool *flag = s[i] == 'p'   ? &out->promoted
                     : s[i] == 'c' ? &out->converted
                     : s[i] == 'd' ? &out->declined
                     : s[i] == 'x' ? &out->has_cart
                     : s[i] == 'b' ? &has_period
                                   : NULL;
        if (!flag || *flag)
            return -1; /* unknown, or twice */
        *flag = true;
    }

    /* Then, each '|'-separated: the period (with b), the cart value (with x), the total (with
     * c), the capped total (only after a total, and below it). */
    out->cart = out->total = out->capped = 0;
    out->period = -1;
    if (has_period) {
        if (!more)
            return -1;
        more = memchr(p, '|', (size_t)(end - p)) != NULL;
        next_field(&p, end, true, &s, &n);
        uint64_t pv;
        if (decimal_parse_u64(s, n, 999999999, &pv) != 0)
            return -1;
        out->period = (int)pv;
    }
    if (out->has_cart) {
        if (!more)
            return -1;
        more = memchr(p, '|', (size_t)(end - p)) != NULL;
        next_field(&p, end, true, &s, &n);
        if (decimal_parse_amount(s, n, &out->cart) != 0)
            return -1;
    }
    if (more != out->converted)
        return -1; /* a total comes with the c flag, and only with it */
    if (out->converted) {
        more = memchr(p, '|', (size_t)(end - p)) != NULL;
        next_field(&p, end, true, &s, &n);
        if (decimal_parse_amount(s, n, &out->total) != 0)
            return -1;
        out->capped = out->total;
        if (more) {
            /* The rest is the capped total: a further '|' makes it not a
             * number. */
            if (decimal_parse_amount(p, (size_t)(end - p), &out->capped) != 0 ||
                !(out->capped < out->total))
                return -1;
        }
    }
    return 0;
}
