/* cli_fmt.h: how the dashboard writes numbers, and reads them back from
 * the JSON documents it renders (cli_view.h).
 *
 * One place for the conventions every text view shares: an undefined
 * number (absent, JSON null, NaN) prints as "-"; counts get thousands
 * separators; rates print as percentages with two decimals, lifts signed
 * with one; p-values with four decimals and "<0.0001" below that. Every
 * writer takes an output buffer and its capacity and always terminates it.
 */
#ifndef UPSHOT_CLI_FMT_H
#define UPSHOT_CLI_FMT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* o[k] as a number; NaN when absent or not a number. */
double cli_fmt_num(const json_t *o, const char *k);

/* o[k] as a string; "" when absent or not a string (never NULL). */
const char *cli_fmt_str(const json_t *o, const char *k);

/* 1234567 -> "1,234,567". */
void cli_fmt_count(double v, char *out, size_t cap);

/* 0.0452 -> "4.52%"; with sign: 0.123 -> "+12.3%". */
void cli_fmt_pct(double v, int sign, char *out, size_t cap);

/* A JSON pair [lo, hi] of shares as percentages: "[3.9, 5.1]", signed
 * "[-1.2, +4.0]". */
void cli_fmt_ci(const json_t *pair, int sign, char *out, size_t cap);

/* "0.0123", "<0.0001". */
void cli_fmt_p(double p, char *out, size_t cap);

/* Money with two decimals: "24.50". */
void cli_fmt_money(double v, char *out, size_t cap);

/* A blank line, then text in bold (when color), then a newline. */
void cli_fmt_heading(FILE *f, int color, const char *text);

#endif
