/* fuzz_analyze_csv.c: `upshot analyze`'s reader of `upshot export --csv` output
 * (sdk/cli/analyze_input.h), then the statistics and the JSON report on
 * whatever it accepts, as the command runs them.
 *
 * Byte 0 picks the options (a region filter, explicit weights); the rest is
 * the file. Checks beyond the sanitizers: a refusal names what is wrong,
 * and an accepted file either analyses or is refused by stats_analyze
 * with a reason. */
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
    char *text = NULL;
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
    if (size < 1)
        goto out;
    text = malloc(size);
    if (!text)
        goto out;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0; /* the reader needs a NUL and cuts the text in place */
    static const double weights[3] = {0.5, 0.25, 0.25};
    analyze_csv_options opt = {(data[0] & 1) ? "gr" : NULL, (data[0] & 2) ? weights : NULL,
                               1 + (size_t)(data[0] >> 2) % 3};
    if (analyze_input_csv(d, text, &opt) != 0) {
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
    free(text);
    return 0;
}
