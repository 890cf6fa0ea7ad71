/* assign.c: the assignment decision (see assign.h, docs/assignment.md). */
#include "assign.h"

#include <string.h>

#include "hash.h"

static assign_result out_of_experiment(const experiment *e, assign_reason why)
{
    return (assign_result){.variant = e->control, .reason = why};
}

int assign_variant_for_bucket(const experiment *e, unsigned b)
{
    /* A plain experiment has a handful of variants: a linear scan beats a
     * binary search here. (A factorial one's up to 64 cells are never
     * scanned: its cell comes from the factors' levels.) */
    for (int i = 0; i < e->nvariants; i++)
        if (b < e->variants[i].end)
            return i;
    return e->nvariants - 1;
}

/* Step 7 of a factorial experiment: each factor's level from its own
 * bucket ("salt|factor:KEY|visitor"), so that the levels of different
 * factors are independent; the cell is the combination. */
static int assign_cell(const experiment *e, const char *visitor)
{
    int cell = 0;
    for (int f = 0; f < e->nfactors; f++) {
        const exp_factor *fa = &e->factors[f];
        uint32_t b = hash_prefix_bucket(&fa->prefix, visitor);
        int l = 0;
        while (l < fa->nlevels - 1 && b >= fa->levels[l].end)
            l++;
        cell += l * fa->stride;
    }
    return cell;
}

/* ---- Bandit (docs/assignment.md, "Bandit stickiness") ------------------ */

int assign_bandit_owner(const experiment *e, const char *region, unsigned b)
{
    const exp_bandit_region *r = experiment_bandit_region(e, region);
    if (!r)
        return assign_variant_for_bucket(e, b); /* the first layout is the fixed ranges */
    return r->layout->owner[b];
}

bool assign_needs_lookup(const experiment *e, const char *visitor, const char *region,
                         const assign_result *r)
{
    if (!r->counted || r->promoted || r->reason != ASSIGN_ASSIGNED)
        return false;
    if (e->allocation_version > 1)
        return true;
    if (e->bandit.mode != EXP_ALLOC_BANDIT || !e->bandit.moved_any)
        return false;
    /* Moved in any region, not only this one: a visitor first exposed in
     * another region may have got another owner there. */
    (void)region;
    uint32_t b = hash_prefix_bucket(&e->variant_prefix, visitor);
    return (e->bandit.moved_any[b >> 3] >> (b & 7)) & 1;
}

static int forced_variant(const experiment *e, const char *visitor, const char *force)
{
    if (force && e->qa_query_override) {
        int i = experiment_variant_index(e, force);
        if (i >= 0)
            return i;
    }
    if (e->qa_visitors) {
        const char *vk = json_string_value(json_object_get(e->qa_visitors, visitor));
        if (vk)
            return experiment_variant_index(e, vk);
    }
    return -1;
}

assign_result assign_visitor(const experiment *e, const char *visitor, const char *region,
                             const char *force)
{
    if (e->status != EXP_RUNNING)
        return out_of_experiment(e, ASSIGN_NOT_RUNNING);

    int forced = forced_variant(e, visitor, force);
    if (forced >= 0)
        return (assign_result){.variant = forced, .reason = ASSIGN_FORCED, .in_experiment = true};

    if (!experiment_targets_region(e, region))
        return out_of_experiment(e, ASSIGN_REGION);

    if (e->has_layer) {
        uint32_t lb = hash_prefix_bucket(&e->layer_prefix, visitor);
        if (lb < e->layer_from || lb >= e->layer_to)
            return out_of_experiment(e, ASSIGN_LAYER);
    }

    /* A tripped breaker sends the whole region to control, promotion and
     * holdback included, and counts nobody: the region's statistics stay
     * as they were when it tripped. */
    if (e->ntrips > 0 && experiment_breaker_trip(e, region))
        return out_of_experiment(e, ASSIGN_BREAKER);

    const exp_promotion *p = experiment_promotion(e, region);
    if (p && hash_prefix_bucket(&e->holdback_prefix, visitor) >= p->holdback_buckets)
        return (assign_result){.variant = p->variant, .reason = ASSIGN_PROMOTED,
                               .in_experiment = true, .counted = true, .promoted = true};

    /* Full coverage admits everyone: skip the hash. */
    if (e->coverage_buckets < HASH_BUCKETS &&
        hash_prefix_bucket(&e->coverage_prefix, visitor) >= e->coverage_buckets)
        return out_of_experiment(e, ASSIGN_COVERAGE);

    int v;
    if (e->nfactors > 0) {
        v = assign_cell(e, visitor);
    } else {
        uint32_t b = hash_prefix_bucket(&e->variant_prefix, visitor);
        v = e->bandit.mode == EXP_ALLOC_BANDIT ? assign_bandit_owner(e, region, b)
                                               : assign_variant_for_bucket(e, b);
    }
    return (assign_result){.variant = v, .reason = ASSIGN_ASSIGNED, .in_experiment = true,
                           .counted = true};
}

const char *assign_reason_name(assign_reason r)
{
    static const char *const names[] = {
        [ASSIGN_ASSIGNED] = "assigned", [ASSIGN_STICKY] = "sticky",
        [ASSIGN_STICKY_UNVERIFIED] = "sticky_unverified", [ASSIGN_PROMOTED] = "promoted",
        [ASSIGN_FORCED] = "forced", [ASSIGN_NOT_RUNNING] = "not_running",
        [ASSIGN_REGION] = "region", [ASSIGN_LAYER] = "layer", [ASSIGN_COVERAGE] = "coverage",
        [ASSIGN_BREAKER] = "breaker",
    };
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "assigned";
}
