/* fuzz_analyze_json.c: `upshot analyze`'s JSON summary reader
 * (sdk/cli/analyze_input.h), then the statistics and the JSON report on
 * whatever it accepts, as the command runs them.
 *
 * Checks beyond the sanitizers: a refusal names what is wrong, and an
 * accepted file either analyses or is refused by stats_analyze with a
 * reason. */
#include <stdint.h>

#include "fuzz_analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stats_experiment_report *r;
    analyze_data *d = fuzz_analyze_buffers(&r);
    if (d)
        fuzz_analyze_accepted(analyze_input_json(d, (const char *)data, size), d, r);
    return 0;
}
