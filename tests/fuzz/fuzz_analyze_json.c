/* fuzz_analyze_json.c: `upshot analyze`'s JSON summary reader
 * (sdk/cli/analyze_input.h), then the statistics and the JSON report on
 * whatever it accepts, as the command runs them.
 *
 * Checks beyond the sanitizers: a refusal names what is wrong, and an
 * accepted file either analyses or is refused by stats_analyze with a
 * reason. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_input.h"
#include "report_json.h"
#include "stats.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    stats_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one zeroed buffer per process, not a fresh 1 MiB calloc per input:
     * under ASan that allocation costs more than the parsing */
    static analyze_data *d;
    static stats_experiment_report *r;
    if (!d)
        d = malloc(sizeof *d);
    if (!r)
        r = malloc(sizeof *r);
    if (!d || !r)
        return 0;
    memset(d, 0, sizeof *d);
    memset(r, 0, sizeof *r);
    if (analyze_input_json(d, (const char *)data, size) != 0) {
        if (!d->msg[0])
            abort(); /* refused without saying why */
        goto out;
    }
    analyze_data_input(d);
    if (stats_analyze(&d->in, r, NULL) != 0) {
        if (!r->error || !r->error[0])
            abort();
        goto out;
    }
    const char *names[STATS_MAX_VARIANTS];
    for (size_t i = 0; i < d->k; i++)
        names[i] = d->names[i];
    json_t *j = report_json_report(r, names);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    free(s);
    json_decref(j);
out:
    return 0;
}
