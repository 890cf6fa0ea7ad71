/* bandit_plan.h: the pure rules of a bandit update around the statistics:
 * when updates run, which seed each one uses, whether new weights start a
 * new period, and how a region's history stays bounded.
 *
 * Why a module of its own: engine/bandit.c does the I/O (lease, timer,
 * counters, shared state); these rules decide what it writes, and they
 * must be exactly reproducible from the audit entry (docs/config.md,
 * "allocation"), so they are pure and unit-tested here. */
#ifndef UPSHOT_BANDIT_PLAN_H
#define UPSHOT_BANDIT_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* A change of weights starts a new period only when it moves more than
 * this total variation (1% of the traffic, 100 buckets): the Monte Carlo
 * error of one update is at most 0.5% (stats_bandit.h), so smaller
 * changes are mostly noise, and each would mark buckets moved for good. */
#define BANDIT_PLAN_MIN_MOVE 0.01

/* The seed of the update of region that would start period `period` (the
 * region's current period + 1): murmur3_32 of the UTF-8 text
 * "REGION|PERIOD" (PERIOD in decimal) with the experiment's seed as the
 * murmur seed. */
uint32_t bandit_plan_seed(uint32_t experiment_seed, const char *region, int period);

/* The first update time after now (Unix seconds, UTC): the next multiple
 * of every seconds since 1970-01-01T00:00:00Z, so "1d" runs at 00:00 UTC
 * and "15m" at :00, :15, :30 and :45. */
int64_t bandit_plan_next(int64_t now, int every);

/* Whether new weights start a new period: their bucket counts differ from
 * prev's and the total variation exceeds BANDIT_PLAN_MIN_MOVE. */
bool bandit_plan_changed(const double *prev, const double *next, int k);

/* Appends a finished period {period, since, weights} to history (an
 * array, modified) and keeps it at most max entries: when longer, the two
 * oldest entries are merged into one {"period": first, "through": last
 * period merged, "since": first's since, "weights": the mean of their
 * weights weighted by their durations (the next entry's since minus
 * their own; equal weights when a time does not parse), "summarized":
 * true}. 0, or -1 out of memory. */
int bandit_plan_history_push(json_t *history, int period, const char *since, const double *weights,
                             int k, size_t max);

/* Parses "YYYY-MM-DDTHH:MM:SSZ"; -1 when malformed. */
int64_t bandit_plan_parse_time(const char *s);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" (out has 32 bytes). */
void bandit_plan_format_time(int64_t t, char out[32]);

#endif
