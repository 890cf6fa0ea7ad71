/* assign.h: the assignment decision, a pure function of an experiment and
 * a visitor (docs/assignment.md is the normative description, in the same
 * order as the code).
 *
 * It never touches Redis or the clock. Stickiness after a weight change is
 * layered on top by the caller (engine/server): when assign_needs_lookup
 * says so (allocation_version > 1, or a bandit visitor whose bucket moved)
 * the caller looks the visitor's recorded variant up and, if there is one,
 * uses it instead (reason ASSIGN_STICKY). */
#ifndef UPSHOT_ASSIGN_H
#define UPSHOT_ASSIGN_H

#include <stdbool.h>

#include "experiment.h"

typedef enum {
    ASSIGN_ASSIGNED,          /* randomized into a variant */
    ASSIGN_STICKY,            /* kept the variant recorded at first exposure */
    ASSIGN_STICKY_UNVERIFIED, /* the recorded variant could not be looked up */
    ASSIGN_PROMOTED,          /* region has a promoted winner */
    ASSIGN_FORCED,            /* QA override; never counted */
    ASSIGN_NOT_RUNNING,       /* out: experiment not running */
    ASSIGN_REGION,            /* out: region not targeted */
    ASSIGN_LAYER,             /* out: another slice of the layer */
    ASSIGN_COVERAGE,          /* out: outside traffic coverage */
    ASSIGN_BREAKER,           /* out: the region's circuit breaker tripped */
} assign_reason;

typedef struct assign_result {
    int variant;          /* index into e->variants (control when out) */
    assign_reason reason;
    bool in_experiment;   /* sees a tested variant (assigned, sticky, promoted, forced) */
    bool counted;         /* an exposure of this visitor enters the statistics */
    bool promoted;        /* counted apart, as promoted traffic */
} assign_result;

/* Decides the variant of visitor in region. force is a variant key from a
 * `force=` query (or NULL); it is honoured only when the experiment allows
 * query overrides and names a variant. */
assign_result assign_visitor(const experiment *e, const char *visitor, const char *region,
                             const char *force);

/* The variant index owning variant bucket b (0 <= b < 10000). */
int assign_variant_for_bucket(const experiment *e, unsigned b);

/* A bandit's step 7: the owner of variant bucket b in region's layout, or
 * the fixed range holding b while the region is on its starting weights. */
int assign_bandit_owner(const experiment *e, const char *region, unsigned b);

/* Whether the caller must look the visitor's recorded variant up before
 * trusting r (an ASSIGN_ASSIGNED result of assign_visitor for the same
 * visitor and region): when allocation_version > 1, or for a bandit when
 * the visitor's variant bucket is marked moved in the layout of any region
 * (a visitor may have been first exposed in another region). A bucket
 * unmoved everywhere has had one owner since the experiment started, in
 * every region, so its owner is the variant of every first exposure in it
 * (docs/assignment.md, "Bandit stickiness"). */
bool assign_needs_lookup(const experiment *e, const char *visitor, const char *region,
                         const assign_result *r);

/* "assigned", "sticky", ... as in the API. */
const char *assign_reason_name(assign_reason r);

#endif
