/* bandit_replay: recomputes a bandit update from its audit entry alone.
 *
 * Reads the `details` of a `bandit_update` audit entry (docs/config.md,
 * "Bandit allocation") as JSON on stdin and, for each region that was not
 * waiting, runs stats_bandit_update_run on the recorded counts, settings
 * and seed, and prints {"REGION": [weights...], ...} on stdout. The
 * integration suite compares the output with the weights upshotd wrote:
 * the audit entry must be enough to reproduce an update exactly. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_bandit.h"

int main(void)
{
    json_error_t jerr;
    json_t *d = json_loadf(stdin, 0, &jerr);
    if (!d) {
        fprintf(stderr, "bandit_replay: %s\n", jerr.text);
        return 2;
    }
    json_t *s = json_object_get(d, "settings"), *variants = json_object_get(d, "variants");
    size_t k = json_array_size(variants), control = k;
    const char *ck = json_string_value(json_object_get(s, "control"));
    for (size_t i = 0; i < k; i++)
        if (ck && strcmp(json_string_value(json_array_get(variants, i)), ck) == 0)
            control = i;
    const char *metric = json_string_value(json_object_get(s, "metric"));
    stats_bandit_config cfg = {
        .k = k, .control = control,
        .control_share = json_number_value(json_object_get(s, "control_share")),
        .floor = json_number_value(json_object_get(s, "floor")),
        .min_per_arm = (uint64_t)json_integer_value(json_object_get(s, "min_visitors_per_arm")),
        .metric = metric && strcmp(metric, "revenue") == 0 ? STATS_BANDIT_REVENUE
                                                           : STATS_BANDIT_CONVERSION,
        .beta = json_number_value(json_object_get(s, "beta")),
        .draws = (unsigned)json_integer_value(json_object_get(s, "draws"))};
    json_t *out = json_object();
    const char *region;
    json_t *r;
    json_object_foreach(json_object_get(d, "regions"), region, r) {
        stats_bandit_arm arms[STATS_BANDIT_MAX_ARMS] = {{0}};
        double prev[STATS_BANDIT_MAX_ARMS];
        json_t *counts = json_object_get(r, "counts");
        for (size_t i = 0; i < k && i < STATS_BANDIT_MAX_ARMS; i++) {
            json_t *c = json_array_get(counts, i);
            arms[i].visitors = (uint64_t)json_integer_value(json_object_get(c, "visitors"));
            arms[i].conversions = (uint64_t)json_integer_value(json_object_get(c, "conversions"));
            arms[i].revenue_sum = json_number_value(json_object_get(c, "revenue_sum"));
            arms[i].revenue_sumsq = json_number_value(json_object_get(c, "revenue_sumsq"));
            prev[i] = json_number_value(json_array_get(json_object_get(r, "previous_weights"), i));
        }
        cfg.seed = (uint64_t)json_integer_value(json_object_get(r, "seed"));
        stats_bandit_update up;
        if (stats_bandit_update_run(&cfg, arms, prev, &up) != 0) {
            fprintf(stderr, "bandit_replay: region %s rejected\n", region);
            return 1;
        }
        json_t *w = json_array();
        for (size_t i = 0; i < k; i++)
            json_array_append_new(w, json_real(up.weights[i]));
        json_object_set_new(out, region, json_pack("{s:o, s:b}", "weights", w, "waiting",
                                                   up.waiting));
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    puts(text ? text : "{}");
    free(text);
    json_decref(out);
    json_decref(d);
    return 0;
}
