/* analyze.h -- `upshot analyze FILE [--json]`: offline analysis of a file
 * of per-variant summaries (JSON) or of `upshot export --csv` output.
 *
 * Why: analysts re-run the numbers on exported data, or on totals from
 * another system, without a running upshotd. The same library and the
 * same JSON encoding as the engine's results endpoint are used, so the
 * numbers agree to the last digit. Formats: docs/analyze.md.
 *
 * Exit codes (analyze never talks to the network):
 *   0  report printed
 *   2  usage error (unknown option, missing FILE, bad option value)
 *   3  the input file cannot be read or is invalid; the message on err
 *      names the field and the variant or line
 */
#ifndef UPSHOT_ANALYZE_H
#define UPSHOT_ANALYZE_H

#include <stdio.h>

#define ANALYZE_EXIT_OK 0
#define ANALYZE_EXIT_USAGE 2
#define ANALYZE_EXIT_BAD_INPUT 3

/* argv[0] is "analyze". Writes the report to out, diagnostics to err. */
int analyze_command(int argc, char **argv, FILE *out, FILE *err);

#endif
