/* fuzz_analyze_csv.c: `upshot analyze`'s reader of `upshot export --csv` output
 * (sdk/cli/analyze_input.h), then the statistics and the JSON report on
 * whatever it accepts, as the command runs them.
 *
 * Byte 0 picks the options (a region filter, explicit weights); the rest is
 * the file. Checks beyond the sanitizers: a refusal names what is wrong,
 * and an accepted file either analyses or is refused by stats_analyze
 * with a reason. */
#include <stdint.h>

#include "fuzz_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stats_experiment_report *r;
    analyze_data *d = fuzz_analyze_buffers(&r);
    if (!d || size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0; /* the reader needs a NUL and cuts the text in place */
    static const double weights[3] = {0.5, 0.25, 0.25};
    analyze_csv_options opt = {(data[0] & 1) ? "gr" : NULL, (data[0] & 2) ? weights : NULL,
                               1 + (size_t)(data[0] >> 2) % 3};
    fuzz_analyze_accepted(analyze_input_csv(d, text, &opt), d, r);
    free(text);
    return 0;
}
