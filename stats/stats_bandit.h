/* stats_bandit.h -- the weight update of a bandit experiment: top-two
 * Thompson sampling with a fixed control share and an additive floor.
 *
 * Why: with six wordings of an offer, a fixed 1/6 split keeps showing the
 * weak ones while the test waits for significance. A bandit moves traffic
 * to the arms that are probably best; keeping the control's share fixed
 * keeps the comparison with "no change" as precise as the growth team
 * planned it, whatever the bandit does with the rest.
 *
 * The rule, for one region at one update (docs/stats.md, "Bandits"):
 *
 *   1. Wait: while some arm has fewer than min_per_arm visitors, the
 *      weights do not move (the previous ones are returned, waiting set).
 *   2. Posterior of each arm's goal metric: conversion Beta(1 + c, 1 + n - c)
 *      (uniform prior); revenue per visitor Normal(mean, s^2 / n), the
 *      large-sample posterior under a flat prior (s^2 the sample variance).
 *   3. Top-two Thompson sampling (Russo 2020, "Simple Bayesian algorithms
 *      for best-arm identification") among the treatments: in each of
 *      `draws` rounds, draw every treatment's metric from its posterior and
 *      take the leader I; with probability beta the round goes to I,
 *      otherwise draws are repeated until another treatment J leads, and
 *      the round goes to J. After 100 redraws without a challenger (the
 *      leader is then all but certain) J is the best of the other
 *      treatments in the last draw, so the challengers keep their 1 - beta
 *      of the rounds however clear the leader is. a_i = rounds won / draws.
 *   4. Weights: the control keeps control_share c. The treatments share
 *      1 - c as floor + (1 - c - m floor) a_i (m treatments): an additive
 *      floor, so the weights still sum to one; when m floor >= 1 - c the
 *      floor leaves no room and the treatments split 1 - c equally.
 *
 * The probability that each arm (control included) is best is counted on
 * the same first draws, for the dashboard; it is a statement about the
 * posterior under the model, not a test (docs/stats.md says what it does
 * not mean).
 *
 * Reproducible: the draws come from GSL's MT19937 seeded with `seed`, so
 * the same counts, settings and seed give the same weights on every
 * machine. Pure: GSL and libm; allocates nothing the caller keeps. */
#ifndef UPSHOT_STATS_BANDIT_H
#define UPSHOT_STATS_BANDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_BANDIT_MAX_ARMS 16
/* Rounds of top-two sampling: the allocation's Monte Carlo error is at
 * most 0.5 / sqrt(draws) = 0.5% of the traffic. */
#define STATS_BANDIT_DEFAULT_DRAWS 10000
#define STATS_BANDIT_DEFAULT_BETA 0.5

typedef enum {
    STATS_BANDIT_CONVERSION,       /* converters / visitors */
    STATS_BANDIT_REVENUE           /* revenue per visitor */
} stats_bandit_metric;

/* One arm's data in the region: cumulative over the experiment. */
typedef struct stats_bandit_arm {
    uint64_t visitors;
    uint64_t conversions;          /* visitors who converted */
    double revenue_sum;            /* sum over visitors of revenue */
    double revenue_sumsq;          /* sum over visitors of revenue^2 */
} stats_bandit_arm;

typedef struct stats_bandit_config {
    size_t k;                      /* arms, 2..STATS_BANDIT_MAX_ARMS */
    size_t control;                /* index of the control arm */
    double control_share;          /* 0 <= c < 1 */
    double floor;                  /* minimum share of every treatment, >= 0 */
    uint64_t min_per_arm;          /* visitors every arm needs before weights move */
    stats_bandit_metric metric;
    double beta;                   /* top-two: chance the leader gets the round; (0,1) */
    unsigned draws;                /* rounds, >= 100 */
    uint64_t seed;
} stats_bandit_config;

typedef struct stats_bandit_update {
    bool waiting;                  /* some arm is below min_per_arm: weights unchanged */
    size_t fewest;                 /* the arm with the fewest visitors */
    double weights[STATS_BANDIT_MAX_ARMS];    /* the new weights (sum 1) */
    double allocation[STATS_BANDIT_MAX_ARMS]; /* a_i, top-two shares among treatments
                                                 (0 for the control) */
    double p_best[STATS_BANDIT_MAX_ARMS];     /* posterior probability of being best,
                                                 control included (0 while waiting) */
} stats_bandit_update;

/* Computes the update. prev holds the k weights in force (returned as
 * they are while waiting). Returns 0, or -1 when cfg or the data are
 * invalid (k out of range, control >= k, shares outside their ranges,
 * conversions > visitors, a non-finite sum, prev not a distribution). */
int stats_bandit_update_run(const stats_bandit_config *cfg, const stats_bandit_arm *arms,
                            const double *prev, stats_bandit_update *out);

/* The weights the rule gives for a top-two allocation a (treatments; the
 * control's entry is ignored): step 4 alone, for tests and for the first
 * weights of an experiment (a uniform over treatments). */
void stats_bandit_weights_from(const stats_bandit_config *cfg, const double *a, double *weights);

#endif
