/* fuzz_results.c: results_build (engine/core/results.h) on any counters
 * hash, then everything the results endpoint does with the table: sums,
 * the counts body, the statistics and decisions (analysis.h), and the
 * JSON encoding.
 *
 * Redis is outside input too: the hash may be from an older layout, hand
 * edited, or written by a buggy script, so every field and value must be
 * survivable. Input format: byte 0 picks the experiment (2 or 3 variants,
 * or with bit 2 a bandit of three arms whose region gr is in period 2,
 * so that per-period fields "METRIC|VARIANT|REGION|#PERIOD" reach the
 * bandit inference and body) and whether to filter on a region; then one
 * "FIELD VALUE" per line (the first space separates them), as HGETALL
 * returns them. Checks beyond the sanitizers: the period numbers are
 * distinct and sorted, and a bandit's body has its "bandit" object. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "config.h"
#include "results.h"
#include "stats.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PAIRS 4096

static experiment *fuzz_exp[3];
static upshot_config fuzz_cfg;
static analysis_settings fuzz_settings; /* what analysis reads of fuzz_cfg */

static experiment *make_experiment_from(const char *text, exp_source from)
{
    char err[EXP_ERR_MAX];
    json_t *def = json_loads(text, 0, NULL);
    experiment *e = def ? experiment_parse(def, from, err) : NULL;
    json_decref(def);
    if (!e)
        abort();
    return e;
}

static experiment *make_experiment(const char *text)
{
    return make_experiment_from(text, EXP_FROM_USER);
}

/* A bandit whose region gr moved twice: starting weights, then two
 * updates, each in the state's history with its layout. */
static experiment *make_bandit(void)
{
    static bandit_layout l;
    static char layout[65536], def[70000];
    double w1[3] = {0.2, 0.5, 0.3}, w2[3] = {0.2, 0.7, 0.1};
    double w0[3] = {0.4, 0.3, 0.3};
    if (bandit_layout_init(&l, w0, 3) != 0 || bandit_layout_apply(&l, w1, 3) < 0 ||
        bandit_layout_apply(&l, w2, 3) < 0 || bandit_layout_encode(&l, layout, sizeof layout) < 0)
        abort();
    snprintf(def, sizeof def,
             "{\"key\":\"wordings\",\"status\":\"running\",\"placement\":\"checkout_popup\","
             "\"regions\":\"all\",\"control\":\"a\",\"variants\":["
             "{\"key\":\"a\",\"weight\":0.4},{\"key\":\"b\",\"weight\":0.3},"
             "{\"key\":\"c\",\"weight\":0.3}],\"allocation\":{\"mode\":\"bandit\"},"
             "\"bandit_state\":{\"regions\":{\"gr\":{\"period\":2,\"weights\":[0.2,0.7,0.1],"
             "\"layout\":\"%s\",\"since\":\"2026-11-22T00:00:00Z\",\"waiting\":false,"
             "\"fewest_visitors\":300,\"p_best\":[0.01,0.9,0.09],\"history\":["
             "{\"period\":0,\"since\":\"2026-11-20T00:00:00Z\",\"weights\":[0.4,0.3,0.3]},"
             "{\"period\":1,\"since\":\"2026-11-21T00:00:00Z\",\"weights\":[0.2,0.5,0.3]}]}},"
             "\"next_update\":\"2026-11-23T00:00:00Z\"}}",
             layout);
    return make_experiment_from(def, EXP_FROM_STATE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    stats_init();
    fuzz_exp[0] = make_experiment(
        "{\"key\":\"checkout-tiers\",\"status\":\"running\",\"placement\":\"checkout_popup\","
        "\"regions\":[\"gr\",\"pl\"],\"control\":\"control\",\"variants\":["
        "{\"key\":\"control\",\"weight\":0.5},{\"key\":\"three-tiers\",\"weight\":0.5}]}");
    fuzz_exp[1] = make_experiment(
        "{\"key\":\"offer\",\"status\":\"running\",\"placement\":\"checkout_popup\","
        "\"regions\":\"all\",\"control\":\"b\",\"goal\":\"revenue\",\"variants\":["
        "{\"key\":\"a\",\"weight\":0.3},{\"key\":\"b\",\"weight\":0.4},"
        "{\"key\":\"c\",\"weight\":0.3}]}");
    fuzz_exp[2] = make_bandit();
    fuzz_cfg.alpha = 0.05;
    fuzz_cfg.tau2 = CONFIG_DEFAULT_TAU2;
    fuzz_cfg.min_sample = 100;
    fuzz_cfg.correction = CORRECTION_HOLM;
    analysis_settings_from(&fuzz_settings, &fuzz_cfg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 16))
        return 0;
    const experiment *e = fuzz_exp[data[0] & 4 ? 2 : data[0] & 1];
    bool filter = data[0] & 2;
    char *text = malloc(size);
    const char **fields = malloc(FUZZ_MAX_PAIRS * sizeof *fields);
    const char **values = malloc(FUZZ_MAX_PAIRS * sizeof *values);
    if (!text || !fields || !values)
        goto out;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    size_t n = 0;
    for (char *line = text, *next; line && n < FUZZ_MAX_PAIRS; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = 0;
        fields[n] = line;
        values[n++] = sp + 1;
    }
    results_table t;
    if (results_build(&t, e->nvariants, n, fields, values) != 0)
        goto out;
    for (int p = 1; p < t.nperiods; p++)
        if (t.periods[p - 1] >= t.periods[p])
            abort(); /* periods distinct and sorted */
    results_counts sum[EXP_MAX_VARIANTS];
    for (int r = -1; r < t.nregions; r++)
        results_sum(&t, r, t.ndays - 1, sum);
    const char *region = filter && t.nregions ? t.regions[0] : NULL;
    json_t *body = results_json(&t, e, region);
    if (body) {
        analysis_attach(body, &t, e, &fuzz_settings, region);
        if (experiment_is_bandit(e) != (json_object_get(body, "bandit") != NULL))
            abort(); /* the bandit object, for a bandit only */
        char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
        free(s);
        json_decref(body);
    }
    analysis_decisions d;
    if (analysis_decide(&t, e, &fuzz_settings, &d) == 0)
        analysis_decisions_free(&d);
    results_free(&t);
out:
    free(text);
    free(fields);
    free(values);
    return 0;
}
