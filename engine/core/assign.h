/* assign.h: the assignment decision, a pure function of an experiment and
 * a visitor (docs/assignment.md is the normative description, in the same
 * order as the code).
 *
 * It never touches Redis or the clock. Stickiness after a weight change is
 * layered on top by the caller (engine/server): when allocation_version > 1
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

/* "assigned", "sticky", ... as in the API. */
const char *assign_reason_name(assign_reason r);

#endif
