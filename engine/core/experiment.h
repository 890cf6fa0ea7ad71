/* experiment.h: one experiment, parsed, validated and compiled.
 *
 * An experiment arrives as JSON (config file, admin API, state file) and is
 * turned into an immutable, reference-counted `experiment`: hot-path fields
 * are compiled (variant bucket ranges, coverage threshold, layer range,
 * payloads pre-serialized), and the normalized definition is kept as JSON
 * for the API and the state file. A change never edits an experiment in
 * place: it builds a new one from a new definition and swaps it in the
 * registry, so anything still holding the old one (an in-flight Redis
 * lookup) keeps a consistent view until it releases it.
 *
 * docs/config.md is the schema; docs/assignment.md the bucket rules.
 * Pure: jansson only, no I/O. */
#ifndef UPSHOT_EXPERIMENT_H
#define UPSHOT_EXPERIMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bandit_layout.h"
#include "hash.h"
#include "validate.h"

/* Variants of a plain experiment, or cells (level combinations) of a
 * factorial one. 64 cells is four 2-level factors with room for two
 * 3-level ones on top (2*2*2*2*... or 4*4*4): beyond that every cell gets
 * too few visitors for its own estimate to mean anything. The statistics
 * (STATS_MAX_VARIANTS) and the decision rule (DECIDE_MAX_VARIANTS) share
 * this bound. */
#define EXP_MAX_VARIANTS 64
#define EXP_MAX_FACTORS 6   /* 2..6 factors */
#define EXP_MAX_LEVELS 8    /* 2..8 levels a factor */
#define EXP_MAX_REGIONS 256
#define EXP_ERR_MAX 256

typedef enum { EXP_DRAFT, EXP_RUNNING, EXP_STOPPED } exp_status;
typedef enum { EXP_GOAL_CONVERSION, EXP_GOAL_REVENUE, EXP_GOAL_AOV } exp_goal;

typedef struct exp_variant {
    char key[VALIDATE_KEY_MAX + 1];
    double weight;
    uint32_t start, end;   /* owns variant buckets [start, end) of 10,000 */
    char *payload_json;    /* compact JSON of the payload, for replies */
} exp_variant;

/* One level of a factor of a factorial experiment (docs/config.md,
 * "factors"). Level 0 of every factor is its control level. */
typedef struct exp_level {
    char key[VALIDATE_KEY_MAX + 1];
    double weight;
    uint32_t start, end;   /* owns factor buckets [start, end) of 10,000 */
} exp_level;

/* A factor: decided by its own hash ("salt|factor:KEY|visitor"), so the
 * factors are independent of each other (docs/assignment.md). */
typedef struct exp_factor {
    char key[VALIDATE_KEY_MAX + 1];
    exp_level levels[EXP_MAX_LEVELS];
    int nlevels;           /* 2..EXP_MAX_LEVELS */
    int stride;            /* cell index = sum over factors of level * stride */
    hash_prefix prefix;    /* MurmurHash3 state after "salt|factor:KEY|" */
} exp_factor;

typedef struct exp_promotion {
    char region[VALIDATE_KEY_MAX + 1];
    int variant;               /* index into variants */
    double holdback;           /* share kept randomized, 0..1 */
    uint32_t holdback_buckets; /* holdback bucket < this: stays randomized */
    char since[32];            /* RFC 3339 UTC */
} exp_promotion;

/* A region the circuit breaker tripped (docs/promotion.md): its visitors
 * see the control and are not counted, until an operator resets it. The
 * evidence (statistic, p-value) stays in the definition's JSON. */
typedef struct exp_breaker_trip {
    char region[VALIDATE_KEY_MAX + 1];
    int variant;               /* the variant found worse, index into variants */
    char since[32];            /* RFC 3339 UTC */
} exp_breaker_trip;

/* Bandit allocation ("allocation": {"mode": "bandit", ...}, docs/config.md):
 * the variants' weights are the starting weights, and the engine moves
 * them per region (engine/bandit.c) with stats_bandit_update_run. */
typedef enum { EXP_ALLOC_FIXED, EXP_ALLOC_BANDIT } exp_alloc_mode;
typedef enum { EXP_BANDIT_CONVERSION, EXP_BANDIT_REVENUE } exp_bandit_metric;

#define EXP_BANDIT_MIN_EVERY (15 * 60)       /* seconds: 15m */
#define EXP_BANDIT_MAX_EVERY (7 * 86400)     /* seconds: 7d */
#define EXP_BANDIT_MAX_HISTORY 400           /* periods kept per region */

/* One region's bandit state, from the read-only "bandit_state.regions".
 * Only regions whose weights have moved (period >= 1) are compiled here;
 * the others use the starting weights and the fixed ranges. */
typedef struct exp_bandit_region {
    char region[VALIDATE_KEY_MAX + 1];
    int period;                  /* >= 1 */
    int nweights;                /* = nvariants */
    double weights[EXP_MAX_VARIANTS];
    bandit_layout *layout;       /* owned by the experiment; decoded from "layout" */
    char since[32];              /* RFC 3339 UTC: start of this period */
} exp_bandit_region;

typedef struct exp_bandit {
    exp_alloc_mode mode;
    exp_bandit_metric metric;
    int every;                   /* seconds between updates, 15m..7d */
    double control_share;        /* 0 <= c < 1 */
    double floor;                /* minimum share of each treatment */
    long min_visitors_per_arm;   /* per region */
    double beta;                 /* top-two: 0 < beta < 1 */
    uint64_t seed;               /* 0..2^32-1; default murmur3_32 of the key */
    exp_bandit_region *regions;  /* sorted by region; period >= 1 only */
    int nregions;
    /* Buckets moved in ANY region (the union of the regions' moved marks),
     * NULL when none has moved: the visitor of a moved bucket may have been
     * exposed in another region under another owner, so stickiness looks
     * them up whatever region they ask from now. */
    uint8_t *moved_any;
    char next_update[32];        /* RFC 3339 UTC, "" when not scheduled yet */
} exp_bandit;

typedef struct experiment {
    int refs;                  /* experiment_retain / experiment_release */
    char key[VALIDATE_KEY_MAX + 1];
    const char *salt;          /* points into def */
    const char *placement;     /* points into def */
    exp_status status;
    exp_goal goal;

    exp_variant variants[EXP_MAX_VARIANTS]; /* a factorial's cells, in cell index order */
    int nvariants;
    int control;               /* index of the control variant (cell 0 of a factorial) */

    /* A factorial experiment ("factors" instead of "variants"): each
     * factor's level is drawn independently, and the variants above are
     * the compiled cells (key: level keys joined by "-", weight: product
     * of level weights, payload: the levels' fragments merged). The first
     * factor varies slowest: cell = sum_f level_f * factors[f].stride. */
    int nfactors;              /* 0: a plain experiment */
    exp_factor factors[EXP_MAX_FACTORS];
    bool interactions;         /* "interactions": the analysis models the two-way
                                  interactions (default true; false for plain ones) */

    bool all_regions;
    int nregions;
    const char *regions[EXP_MAX_REGIONS]; /* point into def */

    double traffic_percent;
    uint32_t coverage_buckets; /* coverage bucket < this: in the experiment */

    bool has_layer;
    const char *layer_name;    /* points into def */
    uint32_t layer_from, layer_to;

    json_t *qa_visitors;       /* borrowed from def: {visitor: variant} */
    bool qa_query_override;

    double alpha;              /* < 0: use the server default */
    double tau2;               /* < 0: use the server default */
    long min_sample;           /* < 0: use the server default */
    double interaction_effect; /* stats.interaction_effect: the interaction the factorial
                                  power figure is for (absolute, rate scale); < 0: 20% of
                                  the control cell's observed rate */
    bool auto_promote;
    double auto_holdback;
    double revenue_cap;        /* capping.value, or the learned cap: a visitor's revenue
                                  counts at most this in the capped figures; 0: none (yet) */
    bool cap_learn;            /* capping.learn: the cap is learned from the data */
    double cap_k;              /* capping.k: mean + k sd */
    long cap_min_converters;   /* capping.min_converters: learned once this many converted */
    bool cap_recapped;         /* capping_learned.recapped: every visitor recorded before
                                  the cap was learned has been capped */

    int allocation_version;    /* +1 whenever weights of a started experiment change */
    long long revision;        /* +1 on every change of the shared definition; 0: never
                                  stored (a file definition not yet imported) */
    bool started;              /* has ever run (started_at set) */

    exp_promotion *promotions; /* sorted by region */
    int npromotions;

    /* circuit breaker: "breaker" (docs/config.md) and the read-only
     * "breaker_trips" / "breaker_resets" the engine writes */
    bool breaker_decline;      /* trip on a higher decline rate (default true) */
    bool breaker_aov;          /* trip on a lower AOV (default false) */
    double breaker_alpha;      /* family-wise false-trip level; < 0: the stats alpha */
    exp_breaker_trip *trips;   /* sorted by region */
    int ntrips;

    /* MurmurHash3 state after "salt|purpose|" for each decision, so that
     * assignment hashes only the visitor id (hash.h, hash_prefix). */
    hash_prefix coverage_prefix, variant_prefix, holdback_prefix, layer_prefix;

    exp_bandit bandit;         /* "allocation" and "bandit_state"; mode FIXED by default */

    json_t *def;               /* normalized definition incl. read-only fields */
} experiment;

/* Where a definition comes from decides which fields it may carry:
 * EXP_FROM_USER (config file, admin API) may not set read-only fields
 * (they are ignored); EXP_FROM_STATE (our own state file) keeps them. */
typedef enum { EXP_FROM_USER, EXP_FROM_STATE } exp_source;

/* Parses and validates def (not modified; a normalized copy is kept).
 * Returns a new experiment with refs = 1, or NULL with a message naming
 * the field in err ("experiment checkout-tiers: variant weights sum to 1.3"). */
experiment *experiment_parse(json_t *def, exp_source source, char err[EXP_ERR_MAX]);

experiment *experiment_retain(experiment *e);
void experiment_release(experiment *e); /* NULL is ignored */

/* Checks that `next` may replace `prev` (either may be a draft). A started
 * experiment keeps its salt and its variant keys in order; a started
 * factorial one also its factors and their level keys, in order. If its
 * (variant or level) weights changed, *bump_allocation is set. Returns
 * false with err filled. */
bool experiment_check_update(const experiment *prev, const experiment *next,
                             bool *bump_allocation, char err[EXP_ERR_MAX]);

/* Index of the variant with this key, or -1. */
int experiment_variant_index(const experiment *e, const char *key);

/* Whether e is a factorial experiment (nfactors > 0). The helpers below
 * read e->factors and are meaningful only for a factorial experiment. */
bool experiment_is_factorial(const experiment *e);

/* The level of each factor in cell (levels[0..nfactors-1]). */
void experiment_cell_levels(const experiment *e, int cell, int levels[EXP_MAX_FACTORS]);

/* The cell of a level combination (levels[0..nfactors-1] in range). */
int experiment_cell_index(const experiment *e, const int *levels);

/* Index of the factor with this key, or -1; of its level with this key, or -1. */
int experiment_factor_index(const experiment *e, const char *key);
int experiment_level_index(const exp_factor *f, const char *key);

/* Whether the experiment runs in region (true for "all"). */
bool experiment_targets_region(const experiment *e, const char *region);

/* The promotion in region, or NULL. */
const exp_promotion *experiment_promotion(const experiment *e, const char *region);

/* The breaker's trip in region, or NULL. */
const exp_breaker_trip *experiment_breaker_trip(const experiment *e, const char *region);

/* The UTC day ("YYYY-MM-DD") of the last breaker reset in region, or NULL:
 * the breaker then tests only the days after it. Borrowed from e->def. */
const char *experiment_breaker_reset_day(const experiment *e, const char *region);

/* Whether the experiment allocates by bandit (allocation.mode "bandit"). */
bool experiment_is_bandit(const experiment *e);

/* The bandit state of region, or NULL while the region is on the starting
 * weights (period 0: no state, or its weights never moved). Borrowed from e. */
const exp_bandit_region *experiment_bandit_region(const experiment *e, const char *region);

/* The current period of region: 0 when experiment_bandit_region is NULL. */
int experiment_bandit_period(const experiment *e, const char *region);

/* Whether pages lists page. */
bool experiment_on_page(const experiment *e, const char *page);

const char *experiment_status_name(exp_status s);

/* A new definition: a deep copy of e->def with `field` set to value
 * (reference stolen). For building changed experiments (start, stop,
 * promote) that then go through experiment_parse(EXP_FROM_STATE). */
json_t *experiment_def_with(const experiment *e, const char *field, json_t *value);

/* Fingerprint of a user definition (read-only fields removed, keys
 * sorted), used to tell whether a config file's experiment changed. */
uint32_t experiment_fingerprint(json_t *user_def);

#endif
