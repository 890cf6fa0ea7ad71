/* cli_view.h: what `upshot show` says about an experiment, as one JSON
 * document, and its rendering for people.
 *
 * cli_view_build turns the experiment's definition and its results into a
 * report: every number computed by the statistics library (stats/) and
 * every verdict by decide_run (engine/core/decide.h), the same function
 * upshotd's auto-promotion calls. `show --json` prints that document;
 * cli_view_render prints the same document as tables and a chart, so the
 * text and the JSON cannot disagree. docs/cli.md lists the fields.
 */
#ifndef UPSHOT_CLI_VIEW_H
#define UPSHOT_CLI_VIEW_H

#include <jansson.h>
#include <stdio.h>

#include "cli_results.h"
#include "decide.h"

typedef struct cli_view_opts {
    const char *region;      /* only this region in tables (NULL: all) */
    int metric;              /* decide_goal shown in the tables; -1: the goal */
    double alpha;            /* <= 0: experiment's, else 0.05 */
    long long min_sample;    /* < 0: experiment's, else 1000 */
    int correction;          /* decide_correction; -1: holm */
    double mde;              /* relative MDE for sample size; <= 0: default */
} cli_view_opts;

/* Fills the decision settings from the experiment definition exp (GET
 * /v1/experiments/{key}), the options, and documented defaults, in that
 * order of precedence: options, experiment, defaults. weights must hold
 * r->nvariants entries and stay alive while cfg is used. */
void cli_view_config(const json_t *exp, const cli_results *r, const cli_view_opts *o,
                     double *weights, decide_config *cfg);

/* Builds the report. Returns a new JSON object, or NULL with err filled. */
json_t *cli_view_build(const json_t *exp, const cli_results *r, const cli_view_opts *o,
                       char *err, size_t errcap);

/* Writes the report for people, every line at most width columns. */
void cli_view_render(const json_t *view, FILE *f, int color, int width);

/* The one-line summary `upshot ls` shows for an experiment: fills
 * visitors, leading variant and conclusiveness from a built view. */
void cli_view_summary(const json_t *view, unsigned long long *visitors, const char **leading,
                      int *conclusive, int *regions);

/* Draws a chart of series by day, as the cumulative-lift chart of `show`:
 * chart is {"days": ["YYYY-MM-DD", ...], "series": [{"variant", "lift":
 * [one number or null per day]}]}, values as fractions (labels in %).
 * Every line fits width columns. */
void cli_view_render_chart(const json_t *chart, FILE *f, int color, int width);

#endif
