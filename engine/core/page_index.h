/* page_index.h: the running experiments of each page and each placement,
 * for the page-load endpoint (GET /v1/assignments).
 *
 * A page load names a page or a placement and gets every running
 * experiment on it. Scanning the live set per request costs time in the
 * number of experiments (and their page lists), which a shop with
 * thousands of archived or parallel experiments would feel on every page
 * view. The index is built once per change of the live set (the server
 * keys it by registry_version) and answers with a binary search.
 *
 * Each list keeps the live set's order, which is the order the page-load
 * reply lists its assignments in. The index holds a reference to every
 * experiment it lists, so it stays valid on its own until freed. Pure. */
#ifndef UPSHOT_PAGE_INDEX_H
#define UPSHOT_PAGE_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "experiment.h"

typedef struct page_index page_index;

/* Indexes the running experiments among exps[0..n). NULL when out of
 * memory. */
page_index *page_index_build(experiment *const *exps, size_t n);
void page_index_free(page_index *ix); /* NULL is ignored */

/* The running experiments on page `key` (by_page) or with placement `key`,
 * in live-set order; *count is set, and 0 with NULL for none. */
experiment *const *page_index_find(const page_index *ix, bool by_page, const char *key,
                                   size_t *count);

#endif
