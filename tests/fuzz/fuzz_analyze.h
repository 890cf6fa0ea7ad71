/* fuzz_analyze.h: what the two `upshot analyze` harnesses share, the part
 * after a reader accepted a file: the statistics and the JSON report, as
 * the command runs them, with the contract that a refusal names why.
 * Header-only: each harness is one translation unit. */
#ifndef UPSHOT_FUZZ_ANALYZE_H
#define UPSHOT_FUZZ_ANALYZE_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_input.h"
#include "report_json.h"
#include "stats.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    stats_init();
    return 0;
}

/* One zeroed pair of buffers per process, not a fresh 1 MiB calloc per
 * input: under ASan that allocation costs more than the parsing. NULL
 * when out of memory. */
static analyze_data *fuzz_analyze_buffers(stats_experiment_report **r)
{
    static analyze_data *d;
    static stats_experiment_report *report;
    if (!d)
        d = malloc(sizeof *d);
    if (!report)
        report = malloc(sizeof *report);
    if (!d || !report)
        return NULL;
    memset(d, 0, sizeof *d);
    memset(report, 0, sizeof *report);
    *r = report;
    return d;
}

/* After a reader returned rc for d: a refusal must say why; an accepted
 * file either analyses and encodes, or is refused by stats_analyze with a
 * reason. Aborts (a finding) otherwise. */
static void fuzz_analyze_accepted(int rc, analyze_data *d, stats_experiment_report *r)
{
    if (rc != 0) {
        if (!d->msg[0])
            abort(); /* refused without saying why */
        return;
    }
    analyze_data_input(d);
    if (stats_analyze(&d->in, r, NULL) != 0) {
        if (!r->error || !r->error[0])
            abort();
        return;
    }
    const char *names[STATS_MAX_VARIANTS];
    for (size_t i = 0; i < d->k; i++)
        names[i] = d->names[i];
    json_t *j = report_json_report(r, names);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    free(s);
    json_decref(j);
}

#endif
