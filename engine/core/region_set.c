/* region_set.c: see region_set.h. */
#include "region_set.h"

#include <stdlib.h>
#include <string.h>

struct region_set {
    char **keys;       /* sorted and unique once sealed */
    size_t n, cap;
};

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

region_set *region_set_new(void)
{
    region_set *s = calloc(1, sizeof *s);
    if (!s || region_set_add(s, REGION_OTHER) != 0) {
        region_set_free(s);
        return NULL;
    }
    region_set_seal(s);
    return s;
}

void region_set_free(region_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s);
}

int region_set_add(region_set *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++) /* building is rare and small: a scan will do */
        if (strcmp(s->keys[i], key) == 0)
            return 0;
    if (s->n == REGION_SET_MAX)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **keys = realloc(s->keys, cap * sizeof *keys);
        if (!keys)
            return -1;
        s->keys = keys;
        s->cap = cap;
    }
    if (!(s->keys[s->n] = strdup(key)))
        return -1;
    s->n++;
    return 0;
}

void region_set_seal(region_set *s)
{
    if (s->n > 1)
        qsort(s->keys, s->n, sizeof *s->keys, cmp_key);
}

size_t region_set_count(const region_set *s)
{
    return s->n;
}

const char *region_set_fold(const region_set *s, const char *region)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->keys[mid], region);
        if (c == 0)
            return s->keys[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return REGION_OTHER;
}
