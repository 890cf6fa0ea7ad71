/* page_index.c: running experiments by page and by placement (see
 * page_index.h). Entries (kind, name, live-set position, experiment) are
 * sorted once; a lookup finds its run of equal (kind, name) by binary
 * search, and the run's experiments sit contiguously in `exps`. */
#include "page_index.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    bool by_page;       /* a page name, or else a placement */
    const char *name;   /* points into the experiment's definition */
    size_t position;    /* in the live set: keeps its order within a run */
    experiment *e;
} entry;

struct page_index {
    entry *entries;     /* sorted by (by_page, name, position) */
    experiment **exps;  /* entries[i].e, contiguous for the lookup result */
    size_t n;
};

static int cmp_key(bool a_page, const char *a_name, const entry *b)
{
    if (a_page != b->by_page)
        return a_page ? 1 : -1;
    return strcmp(a_name, b->name);
}

static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int c = cmp_key(a->by_page, a->name, b);
    if (c)
        return c;
    return (a->position > b->position) - (a->position < b->position);
}

page_index *page_index_build(experiment *const *exps, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (exps[i]->status == EXP_RUNNING)
            total += 1 + json_array_size(json_object_get(exps[i]->def, "pages"));
    page_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->entries = malloc((total ? total : 1) * sizeof *ix->entries);
    ix->exps = malloc((total ? total : 1) * sizeof *ix->exps);
    if (!ix->entries || !ix->exps) {
        page_index_free(ix);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        experiment *e = exps[i];
        if (e->status != EXP_RUNNING)
            continue;
        if (e->placement)
            ix->entries[ix->n++] = (entry){false, e->placement, i, e};
        size_t p;
        json_t *page;
        json_array_foreach(json_object_get(e->def, "pages"), p, page) {
            if (json_is_string(page))
                ix->entries[ix->n++] = (entry){true, json_string_value(page), i, e};
        }
    }
    /* Validation refuses a page listed twice (experiment.c), so no
     * experiment appears twice in one run. */
    qsort(ix->entries, ix->n, sizeof *ix->entries, cmp_entry);
    for (size_t i = 0; i < ix->n; i++)
        ix->exps[i] = experiment_retain(ix->entries[i].e);
    return ix;
}

void page_index_free(page_index *ix)
{
    if (!ix)
        return;
    if (ix->exps)
        for (size_t i = 0; i < ix->n; i++)
            experiment_release(ix->exps[i]);
    free(ix->entries);
    free(ix->exps);
    free(ix);
}

experiment *const *page_index_find(const page_index *ix, bool by_page, const char *key,
                                   size_t *count)
{
    *count = 0;
    if (!ix)
        return NULL;
    /* First entry not below (by_page, key), then the run of equal ones. */
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(by_page, key, &ix->entries[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < ix->n && cmp_key(by_page, key, &ix->entries[end]) == 0)
        end++;
    *count = end - lo;
    return *count ? ix->exps + lo : NULL;
}
