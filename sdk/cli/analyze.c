/* analyze.c -- `upshot analyze`. See analyze.h and docs/analyze.md.
 *
 * Flow: parse options, read the whole file or standard input (at most
 * ANALYZE_MAX_FILE bytes), decode JSON or CSV into an analyze_data
 * (analyze_input.h: validation with messages that name what is wrong),
 * run stats_analyze, print text or JSON. */
#include "analyze.h"
#include "analyze_input.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stats.h"
#include "decide.h"
#include "report_json.h"

#define ANALYZE_MAX_FILE (64u << 20) /* 64 MiB */

/* ---------- text report ---------- */

/* Number formats of the report: plain, signed, or exponent; a suffix. */
enum { F_PLAIN, F_SIGNED, F_EXP };

static const char *fmt_num(char *b, size_t n, double x, int kind, int dec, const char *suffix)
{
    if (kind == F_EXP)
        snprintf(b, n, "%.*e%s", dec, x, suffix);
    else if (kind == F_SIGNED)
        snprintf(b, n, "%+.*f%s", dec, x, suffix);
    else
        snprintf(b, n, "%.*f%s", dec, x, suffix);
    return b;
}

static const char *fmt_v(char *b, size_t n, stats_value v, int kind, int dec,
                         const char *suffix, double scale)
{
    if (!v.defined) {
        snprintf(b, n, "-");
        return b;
    }
    return fmt_num(b, n, v.value * scale, kind, dec, suffix);
}

static const char *fmt_ci(char *b, size_t n, stats_interval v, int kind, int dec,
                          const char *suffix, double scale)
{
    if (!v.defined) {
        snprintf(b, n, "-");
        return b;
    }
    char lo[32], hi[32];
    fmt_num(lo, sizeof lo, v.lo * scale, kind, dec, suffix);
    fmt_num(hi, sizeof hi, v.hi * scale, kind, dec, suffix);
    snprintf(b, n, "[%s, %s]", lo, hi);
    return b;
}

static void print_text(FILE *out, const analyze_data *d, const stats_experiment_report *r)
{
    char a[64], b[64], c[64], e[64], f[64], g[64], h[64], risk[64];
    fprintf(out, "Experiment %s: %zu variants, alpha %.3g, tau^2 %.3g, %s adjustment\n\n",
            d->experiment[0] ? d->experiment : "(unnamed)", r->k, r->alpha, r->tau2,
            r->adjust == STATS_ADJUST_BH ? "Benjamini-Hochberg"
            : r->adjust == STATS_ADJUST_HOLM ? "Holm" : "no");
    if (d->capped)
        fprintf(out, "Revenue capped at %.10g per visitor: rev/visit, AOV and every revenue test "
                "use the capped sums.\n\n", d->cap);
    /* 100 columns: variant 14, visitors 10, conv 8, orders 8, rate 8, CI 17,
     * rev/visit 10, AOV 9, declines 8, and the 8 spaces between them */
    fprintf(out, "%-14s %10s %8s %8s %8s %-17s %10s %9s %8s\n", "variant", "visitors", "conv",
            "orders", "rate", "rate CI", "rev/visit", "AOV", "declines");
    for (size_t i = 0; i < r->k; i++) {
        const stats_variant_report *v = &r->variants[i];
        char ord[24] = "-";
        if (d->has_orders)
            snprintf(ord, sizeof ord, "%llu", (unsigned long long)d->orders[i]);
        fprintf(out, "%-14.14s %10llu %8llu %8s %8s %-17s %10s %9s %8s\n", d->names[i],
                (unsigned long long)d->v[i].visitors, (unsigned long long)d->v[i].conversions, ord,
                fmt_v(a, sizeof a, v->rate, F_PLAIN, 3, "%", 100), fmt_ci(b, sizeof b, v->rate_ci, F_PLAIN, 2, "%", 100),
                fmt_v(c, sizeof c, v->revenue_per_visitor, F_PLAIN, 4, "", 1),
                fmt_v(e, sizeof e, v->aov, F_PLAIN, 2, "", 1),
                fmt_v(f, sizeof f, v->decline_rate, F_PLAIN, 2, "%", 100));
    }
    fprintf(out, "\nConversion vs %s (diff in percentage points, lift relative)\n", d->names[0]);
    fprintf(out, "%-18s %7s %-17s %7s %8s %8s %8s %7s %8s\n", "variant", "diff", "diff CI", "lift",
            "p", "p adj", "p always", "P(beat)", "risk");
    for (size_t i = 1; i < r->k; i++) {
        const stats_variant_report *v = &r->variants[i];
        fprintf(out, "%-18.18s %7s %-17s %7s %8s %8s %8s %7s %8s\n", d->names[i],
                fmt_v(a, sizeof a, v->conversion.diff, F_SIGNED, 3, "", 100),
                fmt_ci(b, sizeof b, v->conversion.diff_ci, F_SIGNED, 3, "", 100),
                fmt_v(c, sizeof c, v->conversion.lift, F_SIGNED, 1, "%", 100),
                stats_pvalue_format(v->conversion.p, e, sizeof e),
                stats_pvalue_format(v->conversion_p_adj, f, sizeof f),
                stats_pvalue_format(v->msprt.p, g, sizeof g),
                fmt_v(h, sizeof h, v->bayes.chance_to_beat, F_PLAIN, 4, "", 1),
                fmt_v(risk, sizeof risk, v->bayes.loss_ship, F_EXP, 1, "", 1));
    }
    /* a "-" in the table says nothing on its own: name the reason */
    for (size_t i = 1; i < r->k; i++) {
        const stats_variant_report *v = &r->variants[i];
        if (!v->conversion.diff.defined)
            fprintf(out, "  %s: comparison undefined: %s\n", d->names[i], v->conversion.diff.why);
        else if (!v->bayes.chance_to_beat.defined)
            fprintf(out, "  %s: P(beat) and risk undefined: %s\n", d->names[i],
                    v->bayes.chance_to_beat.why);
    }
    fprintf(out, "\nRevenue per visitor vs %s (Welch)\n", d->names[0]);
    fprintf(out, "%-18s %10s %-24s %8s %9s %9s %9s\n", "variant", "diff", "diff CI", "lift", "p",
            "p adj", "AOV diff");
    for (size_t i = 1; i < r->k; i++) {
        const stats_variant_report *v = &r->variants[i];
        fprintf(out, "%-18.18s %10s %-24s %8s %9s %9s %9s\n", d->names[i],
                fmt_v(a, sizeof a, v->revenue.diff, F_SIGNED, 4, "", 1),
                fmt_ci(b, sizeof b, v->revenue.diff_ci, F_SIGNED, 4, "", 1),
                fmt_v(c, sizeof c, v->revenue.lift, F_SIGNED, 1, "%", 100),
                stats_pvalue_format(v->revenue.p, e, sizeof e),
                stats_pvalue_format(v->revenue_p_adj, f, sizeof f),
                fmt_v(g, sizeof g, v->aov_cmp.diff, F_SIGNED, 2, "", 1));
    }
    if (d->in.has_covariate) {
        fprintf(out, "\nRevenue per visitor vs %s, CUPED (adjusted for the covariate)\n",
                d->names[0]);
        fprintf(out, "%-18s %10s %-24s %8s %9s %9s %9s\n", "variant", "diff", "diff CI", "lift",
                "p", "p adj", "var red");
        for (size_t i = 1; i < r->k; i++) {
            const stats_variant_report *v = &r->variants[i];
            fprintf(out, "%-18.18s %10s %-24s %8s %9s %9s %9s\n", d->names[i],
                    fmt_v(a, sizeof a, v->cuped.diff, F_SIGNED, 4, "", 1),
                    fmt_ci(b, sizeof b, v->cuped.diff_ci, F_SIGNED, 4, "", 1),
                    fmt_v(c, sizeof c, v->cuped.lift, F_SIGNED, 1, "%", 100),
                    stats_pvalue_format(v->cuped.p, e, sizeof e),
                    stats_pvalue_format(v->cuped_p_adj, f, sizeof f),
                    fmt_v(g, sizeof g, v->cuped.variance_reduction, F_PLAIN, 1, "%", 100));
        }
        for (size_t i = 1; i < r->k; i++) {
            const stats_variant_report *v = &r->variants[i];
            if (v->cuped.theta_note)
                fprintf(out, "  %s: %s\n", d->names[i], v->cuped.theta_note);
            else if (!v->cuped.p.defined)
                fprintf(out, "  %s: CUPED undefined: %s\n", d->names[i], v->cuped.p.why);
        }
    }
    if (d->in.has_declines) {
        fprintf(out, "\nDecline rate vs %s (guardrail: higher is worse)\n", d->names[0]);
        for (size_t i = 1; i < r->k; i++) {
            const stats_variant_report *v = &r->variants[i];
            fprintf(out, "%-18.18s %8s pp  %-18s p %s  p adj %s\n", d->names[i],
                    fmt_v(a, sizeof a, v->decline.diff, F_SIGNED, 3, "", 100),
                    fmt_ci(b, sizeof b, v->decline.diff_ci, F_SIGNED, 3, "", 100),
                    stats_pvalue_format(v->decline.p, e, sizeof e),
                    stats_pvalue_format(v->decline_p_adj, f, sizeof f));
        }
    }
    fprintf(out, "\nSample ratio: chi2 %s (df %s), p %s: %s\n",
            fmt_v(a, sizeof a, r->srm.statistic, F_PLAIN, 3, "", 1), fmt_v(b, sizeof b, r->srm.df, F_PLAIN, 0, "", 1),
            stats_pvalue_format(r->srm.p, c, sizeof c),
            r->srm.flagged ? "MISMATCH, check assignment before trusting results"
                           : r->srm.p.defined ? "ok" : r->srm.p.why);
    fprintf(out, "Conversion x variant: chi2 %s (df %s), p %s\n",
            fmt_v(a, sizeof a, r->independence.statistic, F_PLAIN, 3, "", 1),
            fmt_v(b, sizeof b, r->independence.df, F_PLAIN, 0, "", 1),
            stats_pvalue_format(r->independence.p, c, sizeof c));
    if (r->power.n_per_arm.defined)
        fprintf(out, "Power %.2f to detect %s -> %s: %s visitors per arm, %s days to go%s%s\n",
                r->power.power.value, fmt_v(a, sizeof a, r->power.baseline, F_PLAIN, 4, "", 1),
                fmt_v(b, sizeof b, r->power.target, F_PLAIN, 4, "", 1),
                fmt_v(c, sizeof c, r->power.n_per_arm, F_PLAIN, 0, "", 1),
                fmt_v(e, sizeof e, r->power.days_remaining, F_PLAIN, 0, "", 1),
                r->power.days_remaining.defined ? "" : " (",
                r->power.days_remaining.defined ? "" : "traffic per day unknown)");
    else
        fprintf(out, "Power: %s\n", r->power.n_per_arm.why);
}

/* ---------- command ---------- */

static void usage(FILE *f)
{
    fputs("usage: upshot analyze FILE [--json] [--region NAME] [--weights W1,W2,...]\n"
          "                      [--alpha A] [--tau2 T] [--adjust holm|bh|none] [--mde PCT]\n"
          "  FILE      a JSON summary (docs/analyze.md) or `upshot export --csv` output;\n"
          "            - reads standard input\n"
          "  --json    print every quantity as JSON instead of the report\n"
          "  --region  CSV only: analyse one region instead of the sum over regions\n"
          "  --weights CSV only: configured weights for the SRM check (default: the\n"
          "            export's weight column, else equal)\n"
          "  --alpha, --tau2, --adjust  CSV only: the experiment's settings (default\n"
          "            upshotd's: 0.05, 1e-4, holm)\n"
          "  --mde     CSV only: relative effect for the sample size (default 10%, as upshotd)\n"
          "exit: 0 ok, 1 out of memory, 2 usage error, 8 unreadable or invalid FILE\n"
          "      (the codes of every upshot command: upshot --help)\n",
          f);
}

/* Reads all of f (at most ANALYZE_MAX_FILE bytes) into a NUL-terminated
 * buffer the caller frees; NULL with a reason in msg. Does not close f. */
static char *read_all(FILE *f, size_t *len, char *msg, size_t msgsz)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        if (cap >= ANALYZE_MAX_FILE) {
            free(buf);
            buf = NULL;
            snprintf(msg, msgsz, "file is larger than %u bytes", ANALYZE_MAX_FILE);
            break;
        }
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb)
            free(buf);
        buf = nb;
    }
    if (buf && ferror(f)) {
        snprintf(msg, msgsz, "read error");
        free(buf);
        buf = NULL;
    }
    if (buf) {
        buf[n] = 0;
        *len = n;
    } else if (!msg[0]) {
        snprintf(msg, msgsz, "out of memory");
    }
    return buf;
}

static char *read_path(const char *path, size_t *len, char *msg, size_t msgsz)
{
    if (strcmp(path, "-") == 0)
        return read_all(stdin, len, msg, msgsz);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msgsz, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = read_all(f, len, msg, msgsz);
    fclose(f);
    return buf;
}

/* The CSV-only settings of the command line; NaN / -1 when not given. */
typedef struct analyze_settings {
    double alpha, tau2, mde;
    int adjust; /* stats_adjust_method, or -1 */
} analyze_settings;

/* Parses a positive share written "10%" or "0.1". */
static int parse_share(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (*end == '%') {
        v /= 100.0;
        end++;
    }
    if (*end || !isfinite(v) || !(v > 0))
        return -1;
    *out = v;
    return 0;
}

static int parse_option(const char *name, const char *val, analyze_settings *st, FILE *err)
{
    char *end;
    if (strcmp(name, "--alpha") == 0) {
        st->alpha = strtod(val, &end);
        if (end == val || *end || !(st->alpha > 0 && st->alpha < 1)) {
            fprintf(err, "upshot analyze: --alpha must be between 0 and 1\n");
            return -1;
        }
    } else if (strcmp(name, "--tau2") == 0) {
        st->tau2 = strtod(val, &end);
        if (end == val || *end || !(st->tau2 > 0) || !isfinite(st->tau2)) {
            fprintf(err, "upshot analyze: --tau2 must be a positive number\n");
            return -1;
        }
    } else if (strcmp(name, "--adjust") == 0) {
        st->adjust = strcmp(val, "holm") == 0 ? STATS_ADJUST_HOLM
                     : strcmp(val, "bh") == 0 ? STATS_ADJUST_BH
                     : strcmp(val, "none") == 0 ? STATS_ADJUST_NONE
                                                : -1;
        if (st->adjust < 0) {
            fprintf(err, "upshot analyze: --adjust must be holm, bh or none\n");
            return -1;
        }
    } else if (strcmp(name, "--mde") == 0) {
        if (parse_share(val, &st->mde) != 0) {
            fprintf(err, "upshot analyze: --mde must be a positive share such as 10%% or 0.1\n");
            return -1;
        }
    }
    return 0;
}

static int parse_weights(const char *arg, double *weights, size_t *n, FILE *err)
{
    const char *p = arg;
    *n = 0;
    while (*p) {
        char *end;
        double w = strtod(p, &end);
        if (end == p || !(w > 0) || !isfinite(w) || *n == STATS_MAX_VARIANTS ||
            (*end && *end != ',')) {
            fprintf(err, "upshot analyze: --weights must be positive numbers separated by "
                         "commas\n");
            return -1;
        }
        weights[(*n)++] = w;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* Prints the report of d (read and valid). Returns an exit code. */
static int analyze_report(analyze_data *d, const char *path, bool as_json, FILE *out, FILE *err)
{
    stats_experiment_report *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(err, "upshot analyze: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    int rc = CLI_EXIT_BAD_INPUT;
    analyze_data_input(d);
    if (stats_analyze(&d->in, r, NULL) != 0) {
        if (r->error_variant >= 0)
            fprintf(err, "upshot analyze: %s: variant %d (\"%s\"): %s\n", path,
                    r->error_variant + 1, d->names[r->error_variant], r->error);
        else
            fprintf(err, "upshot analyze: %s: %s\n", path, r->error);
        goto done;
    }
    if (as_json) {
        const char *names[STATS_MAX_VARIANTS];
        for (size_t i = 0; i < d->k; i++)
            names[i] = d->names[i];
        json_t *j = report_json_report(r, names);
        if (!j) {
            fprintf(err, "upshot analyze: out of memory\n");
            rc = CLI_EXIT_FAILURE;
            goto done;
        }
        if (d->experiment[0])
            json_object_set_new(j, "experiment", json_string(d->experiment));
        if (d->capped) {
            double n[STATS_MAX_VARIANTS];
            for (size_t i = 0; i < d->k; i++)
                n[i] = (double)d->v[i].visitors;
            report_json_add_uncapped(j, n, d->uncapped_sum, d->uncapped_sumsq, d->k, r->alpha);
        }
        /* 15 significant digits, as upshotd writes its bodies (engine/http.c),
         * so that equal statistics print as equal text */
        json_dumpf(j, out, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(j);
    } else {
        print_text(out, d, r);
    }
    rc = CLI_EXIT_OK;
done:
    free(r);
    return rc;
}

int analyze_command(int argc, char **argv, FILE *out, FILE *err)
{
    const char *path = NULL, *region = NULL, *weights_arg = NULL;
    bool as_json = false, csv_only = false;
    analyze_settings set = {NAN, NAN, NAN, -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(out);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--region") == 0 && i + 1 < argc) {
            region = argv[++i];
            csv_only = true;
        } else if (strcmp(a, "--weights") == 0 && i + 1 < argc) {
            weights_arg = argv[++i];
            csv_only = true;
        } else if ((strcmp(a, "--alpha") == 0 || strcmp(a, "--tau2") == 0 ||
                    strcmp(a, "--adjust") == 0 || strcmp(a, "--mde") == 0) &&
                   i + 1 < argc) {
            if (parse_option(a, argv[++i], &set, err) != 0)
                return CLI_EXIT_USAGE;
            csv_only = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(err, "upshot analyze: unknown option \"%s\"\n", a);
            usage(err);
            return CLI_EXIT_USAGE;
        } else if (!path) {
            path = a;
        } else {
            fprintf(err, "upshot analyze: more than one FILE given\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (!path) {
        usage(err);
        return CLI_EXIT_USAGE;
    }
    double weights[STATS_MAX_VARIANTS];
    size_t n_weights = 0;
    if (weights_arg && parse_weights(weights_arg, weights, &n_weights, err) != 0)
        return CLI_EXIT_USAGE;
    stats_init();
    analyze_data *d = calloc(1, sizeof *d);
    int rc = CLI_EXIT_BAD_INPUT; /* the early exits below blame the file unless set */
    size_t len = 0;
    char *text = NULL;
    if (!d) {
        fprintf(err, "upshot analyze: out of memory\n");
        rc = CLI_EXIT_FAILURE;
        goto done;
    }
    text = read_path(path, &len, d->msg, sizeof d->msg);
    if (!text) {
        fprintf(err, "upshot analyze: %s: %s\n", path, d->msg);
        goto done;
    }
    size_t skip = 0;
    while (skip < len && (text[skip] == ' ' || text[skip] == '\n' || text[skip] == '\r' ||
                          text[skip] == '\t'))
        skip++;
    bool is_json = skip < len && text[skip] == '{';
    if (!is_json && !csv_only && strncmp(text + skip, "day,", 4) != 0) {
        fprintf(err, "upshot analyze: %s: neither a JSON object nor a CSV export\n", path);
        goto done;
    }
    if (is_json && csv_only) {
        fprintf(err, "upshot analyze: --region, --weights, --alpha, --tau2, --adjust and "
                     "--mde apply to CSV input only\n");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    int prc;
    if (is_json) {
        prc = analyze_input_json(d, text, len);
    } else {
        analyze_csv_options opt = {region, weights_arg ? weights : NULL, n_weights};
        prc = analyze_input_csv(d, text + skip, &opt);
        /* an export is upshotd's data: analyse it with upshotd's settings
         * unless told otherwise, so the numbers equal the results endpoint's */
        d->in.alpha = isnan(set.alpha) ? 0 : set.alpha;
        d->in.tau2 = isnan(set.tau2) ? 0 : set.tau2;
        d->in.adjust = set.adjust < 0 ? STATS_ADJUST_HOLM : (stats_adjust_method)set.adjust;
        d->in.power_mde_rel = isnan(set.mde) ? DECIDE_DEFAULT_MDE : set.mde;
        d->in.power = DECIDE_POWER;
    }
    if (prc != 0) {
        fprintf(err, "upshot analyze: %s: %s\n", path, d->msg);
        goto done;
    }
    rc = analyze_report(d, path, as_json, out, err);
done:
    free(text);
    free(d);
    return rc;
}
