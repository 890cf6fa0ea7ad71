/* cli_report.h: `upshot report EXP --html FILE`, one self-contained page.
 *
 * Two steps, so the page can be tested without a server:
 *
 *   cli_report_model   experiment definition + results + audit log
 *                      -> one JSON document: the view of `upshot show`
 *                      (cli_view.h), the configured weights, and the
 *                      cumulative lift by day with its always-valid band,
 *                      per region and for all regions together;
 *   cli_report_html    that document -> HTML.
 *
 * The band at day d is what the decision rules (engine/core/decide.h)
 * compute from the looks up to d: the mSPRT confidence sequence of the
 * difference (stats/stats_msprt.h, intersected over looks) divided by
 * the control's rate, i.e. the interval `upshot show` prints as the
 * lift's, on each day as it stood then. It may be watched daily without
 * losing its coverage, which a fixed-horizon interval would.
 *
 * The page: inline CSS, inline SVG, no script, no external request (no
 * font, no image, no link to fetch). Every chart is an <svg role="img">
 * with a <title> and a <desc>, and its numbers are also in a table.
 * Every string that came from outside (experiment name, keys, audit log
 * actors and reasons) is escaped for HTML, and wrapped in <bdi> (or
 * unicode-bidi: isolate in SVG) so a right-to-left name does not reorder
 * the text around it. The output is well-formed XML as well as HTML
 * (void elements are self-closed), which the tests check.
 */
#ifndef UPSHOT_CLI_REPORT_H
#define UPSHOT_CLI_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "cli_results.h"
#include "cli_view.h"

/* Builds the report's document. exp and log are borrowed (log: the body
 * of GET /v1/experiments/{key}/log, or NULL). Returns a new object, or
 * NULL with err filled. */
json_t *cli_report_model(const json_t *exp, const cli_results *r, const json_t *log,
                         const cli_view_opts *o, char *err, size_t errcap);

/* Writes the page for model to f. Returns 0, or -1 when f reports a
 * write error. */
int cli_report_html(const json_t *model, FILE *f);

/* Writes s to f escaped for HTML text and attribute values (& < > " '). */
void cli_report_escape(FILE *f, const char *s);

#endif
