/* report_json.h -- encodes the statistics library's report structs as
 * jansson JSON, for the engine's results endpoint and `upshot analyze
 * --json`.
 *
 * Why here and not in stats/: the library stays free of I/O and JSON;
 * this is the one place that decides how its numbers look on the wire.
 *
 * Conventions (documented for API users in docs/analyze.md):
 *   - a defined value is a JSON number; an undefined one is null and a
 *     sibling "<key>_reason" string says why;
 *   - an interval is [lo, hi] or null (+ reason);
 *   - a p-value is "<key>": number (0 only if it underflowed a double)
 *     with "<key>_log10": log10 p, always finite when defined.
 * Every function returns a new reference, or NULL on out of memory.
 */
#ifndef UPSHOT_REPORT_JSON_H
#define UPSHOT_REPORT_JSON_H

#include <jansson.h>

#include "stats.h"

/* Sets obj[key] from each kind of value (and key_reason / key_log10). */
int report_json_set_value(json_t *obj, const char *key, stats_value v);
int report_json_set_interval(json_t *obj, const char *key, stats_interval v);
int report_json_set_pvalue(json_t *obj, const char *key, stats_pvalue v);

/* One arm (names[i] may be NULL: "variant<i>"). */
json_t *report_json_variant(const stats_variant_report *v, const char *name, bool is_control);

/* The whole report: {"alpha", "tau2", "adjust", "variants": [...],
 * "independence", "srm", "power"}. names: k entries or NULL. */
json_t *report_json_report(const stats_experiment_report *r, const char *const *names);

/* For a report computed on capped revenue: sets "revenue_capped": true and
 * adds to each of report.variants[j] "revenue_uncapped", the revenue per
 * visitor and (for treatments) the Welch comparison with variants[0] on
 * the uncapped sums n[j], s[j], q[j] (k entries, control first), so that a
 * reader sees what the cap changed. The results endpoint and `upshot
 * analyze` both call it, so they print the same. */
void report_json_add_uncapped(json_t *report, const double *n, const double *s, const double *q,
                              size_t k, double alpha);

#endif
