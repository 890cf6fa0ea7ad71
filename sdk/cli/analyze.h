/* analyze.h -- `upshot analyze FILE [--json]`: offline analysis of a file
 * of per-variant summaries (JSON) or of `upshot export --csv` output.
 *
 * Why: analysts re-run the numbers on exported data, or on totals from
 * another system, without a running upshotd. The same library, the same
 * settings and the same JSON encoding as the engine's results endpoint
 * are used, so an export piped into `analyze - --json` prints the
 * endpoint's statistics (docs/analyze.md says when to the last digit).
 * The input readers are analyze_input.h.
 *
 * Exit codes are the CLI's one table (enum cli_exit in cli.h); analyze
 * never talks to the network, so it returns only these:
 *   CLI_EXIT_OK         report printed
 *   CLI_EXIT_FAILURE    out of memory
 *   CLI_EXIT_USAGE      unknown option, missing FILE, bad option value
 *   CLI_EXIT_BAD_INPUT  the input file cannot be read or is invalid; the
 *                       message on err names the field and the variant
 *                       or line
 */
#ifndef UPSHOT_ANALYZE_H
#define UPSHOT_ANALYZE_H

#include <stdio.h>

/* argv[0] is "analyze". Writes the report to out, diagnostics to err;
 * returns an exit code of enum cli_exit (above). */
int analyze_command(int argc, char **argv, FILE *out, FILE *err);

#endif
