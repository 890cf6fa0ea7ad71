/* counters_merge.c: one experiment's counters summed over its shard groups
 * (see counters_merge.h). */
#include "counters_merge.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool counters_is_float(const char *field)
{
    static const char *const floats[] = {"s", "q", "xs", "xq", "xy", "ks", "kq", "kx", "rs", NULL};
    const char *bar = strchr(field, '|');
    if (!bar)
        return false;
    const char *m = field[0] == 'p' ? field + 1 : field;
    size_t n = (size_t)(bar - m);
    for (const char *const *f = floats; *f; f++)
        if (strlen(*f) == n && memcmp(*f, m, n) == 0)
            return true;
    return false;
}

typedef struct pair {
    const char *field, *value;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(((const pair *)a)->field, ((const pair *)b)->field);
}

void counters_merged_free(counters_merged *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->fields[i]);
        free(m->values[i]);
    }
    free(m->fields);
    free(m->values);
    memset(m, 0, sizeof *m);
}

int counters_merge(size_t n, const char *const *fields, const char *const *values,
                   counters_merged *out)
{
    memset(out, 0, sizeof *out);
    pair *p = malloc((n ? n : 1) * sizeof *p);
    out->fields = calloc(n ? n : 1, sizeof *out->fields);
    out->values = calloc(n ? n : 1, sizeof *out->values);
    if (!p || !out->fields || !out->values) {
        free(p);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (pair){fields[i], values[i]};
    qsort(p, n, sizeof *p, cmp_pair);
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo + 1;
        while (hi < n && strcmp(p[hi].field, p[lo].field) == 0)
            hi++;
        char buf[64];
        if (strcmp(p[lo].field, "cap") == 0) {
            /* The revenue cap: every group holds the same one; not a sum. */
            snprintf(buf, sizeof buf, "%s", p[lo].value);
        } else if (counters_is_float(p[lo].field)) {
            double sum = 0;
            for (size_t i = lo; i < hi; i++) {
                char *end;
                double v = strtod(p[i].value, &end);
                sum += (end != p[i].value && *end == '\0') ? v : 0;
            }
            snprintf(buf, sizeof buf, "%.17g", sum);
        } else {
            int64_t sum = 0;
            for (size_t i = lo; i < hi; i++) {
                char *end;
                long long v = strtoll(p[i].value, &end, 10);
                sum += (end != p[i].value && *end == '\0') ? (int64_t)v : 0;
            }
            snprintf(buf, sizeof buf, "%lld", (long long)sum);
        }
        out->fields[out->n] = strdup(p[lo].field);
        out->values[out->n] = strdup(buf);
        if (!out->fields[out->n] || !out->values[out->n]) {
            free(out->fields[out->n]);
            free(out->values[out->n]);
            free(p);
            return -1;
        }
        out->n++;
        lo = hi;
    }
    free(p);
    return 0;
}
