/* region_set.h: the regions upshotd counts by, a bounded set.
 *
 * A region arrives with every assignment and exposure, from the shop's
 * pages, so from anyone holding the public SDK key. Counting by whatever
 * string arrives would let one client create any number of regions, and
 * every results request and promotion pass grows with them. So upshotd
 * counts only the regions it knows: the `regions` list of the config and
 * the regions that live experiments name; any other region is counted as
 * REGION_OTHER ("other"), which experiments running in "all" regions
 * include. The set is built by its owner from those lists whenever they
 * change, and bounded by REGION_SET_MAX.
 *
 * Lookups are a binary search over the sorted keys: no allocation. Pure. */
#ifndef UPSHOT_REGION_SET_H
#define UPSHOT_REGION_SET_H

#include <stdbool.h>
#include <stddef.h>

#define REGION_OTHER "other"
/* The config's list (CONFIG_MAX_REGIONS) plus what experiments name. */
#define REGION_SET_MAX 4096

typedef struct region_set region_set;

region_set *region_set_new(void); /* empty but for REGION_OTHER; NULL on out of memory */
void region_set_free(region_set *s); /* NULL is ignored */

/* Adds a region key (borrowed; copied). Adding one already there does
 * nothing. 0, or -1 when the set holds REGION_SET_MAX keys or memory ran
 * out (the key is then not added). Lookups need region_set_seal first. */
int region_set_add(region_set *s, const char *key);
void region_set_seal(region_set *s);

size_t region_set_count(const region_set *s);

/* region itself when the set knows it, else REGION_OTHER. */
const char *region_set_fold(const region_set *s, const char *region);

#endif
