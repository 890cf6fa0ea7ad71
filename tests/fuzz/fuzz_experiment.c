/* fuzz_experiment.c: experiment_parse (engine/core/experiment.h) on any
 * JSON document, as the admin API's POST/PUT bodies and the state file
 * deliver them.
 *
 * Checks beyond the sanitizers: the definition is not modified (the
 * header promises it); a refusal names the field; and an accepted
 * experiment's normalized definition parses again as state, since that is
 * what state.json holds and what a restart reads back; a factorial
 * experiment's cells match their levels. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const experiment *e)
{
    (void)experiment_variant_index(e, "control");
    (void)experiment_targets_region(e, "gr");
    (void)experiment_promotion(e, "gr");
    (void)experiment_on_page(e, "checkout");
    (void)experiment_status_name(e->status);
    /* A factorial experiment's cells and levels map onto each other, and
     * each cell key is its level keys joined by '-'. */
    for (int c = 0; experiment_is_factorial(e) && c < e->nvariants; c++) {
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, c, lv);
        if (experiment_cell_index(e, lv) != c)
            abort();
        char key[EXP_MAX_FACTORS * (VALIDATE_KEY_MAX + 1)];
        size_t n = 0;
        for (int f = 0; f < e->nfactors; f++)
            n += (size_t)snprintf(key + n, sizeof key - n, "%s%s", f ? "-" : "",
                                  e->factors[f].levels[lv[f]].key);
        if (strcmp(key, e->variants[c].key) != 0 || experiment_variant_index(e, key) != c)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *def = json_loadb((const char *)data, size, 0, NULL);
    if (!def)
        return 0;
    json_t *before = json_deep_copy(def);
    for (int src = 0; src < 2; src++) {
        char err[EXP_ERR_MAX];
        memset(err, 0, sizeof err);
        experiment *e = experiment_parse(def, src ? EXP_FROM_STATE : EXP_FROM_USER, err);
        if (!e) {
            if (!err[0])
                abort(); /* refused without saying why */
            continue;
        }
        exercise(e);
        (void)experiment_fingerprint(def);
        char err2[EXP_ERR_MAX];
        experiment *again = experiment_parse(e->def, EXP_FROM_STATE, err2);
        if (!again)
            abort(); /* what state.json would hold does not load back */
        experiment_release(again);
        experiment_release(e);
    }
    if (before && !json_equal(before, def))
        abort(); /* experiment_parse modified its input */
    json_decref(before);
    json_decref(def);
    return 0;
}
