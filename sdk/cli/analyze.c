/* analyze.c -- `upshot analyze`. See analyze.h and docs/analyze.md.
 *
 * Flow: parse options, read the whole file (at most ANALYZE_MAX_FILE
 * bytes), decode JSON or CSV into an analyze_data (fixed-size arrays, no
 * allocation per row), validate with messages that name what is wrong,
 * run stats_analyze, print text or JSON. */
#include "analyze.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "report_json.h"

#define ANALYZE_MAX_FILE (64u << 20) /* 64 MiB */
#define ANALYZE_MAX_LOOKS 4096
#define ANALYZE_NAME 64

typedef struct analyze_data {
    char experiment[128];
    size_t k;
    char names[STATS_MAX_VARIANTS][ANALYZE_NAME];
    stats_variant_input v[STATS_MAX_VARIANTS];
    stats_experiment_input in;
    size_t n_looks;
    uint64_t look_n[ANALYZE_MAX_LOOKS * STATS_MAX_VARIANTS];
    uint64_t look_x[ANALYZE_MAX_LOOKS * STATS_MAX_VARIANTS];
    char msg[256]; /* error message */
} analyze_data;

__attribute__((format(printf, 2, 3)))
static int fail(analyze_data *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---------- JSON input ---------- */

static int json_count(analyze_data *d, json_t *v, const char *what, size_t i, const char *key,
                      uint64_t *out)
{
    double x;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return fail(d, "%s %zu: \"%s\" is negative", what, i + 1, key);
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        x = json_real_value(v);
        if (x < 0 || x != floor(x) || x > 9007199254740992.0)
            return fail(d, "%s %zu: \"%s\" must be a whole non-negative number", what, i + 1,
                        key);
        *out = (uint64_t)x;
        return 0;
    }
    return fail(d, "%s %zu: \"%s\" must be a number", what, i + 1, key);
}

static int json_num(analyze_data *d, json_t *v, const char *ctx, const char *key, double *out)
{
    if (!json_is_number(v))
        return fail(d, "%s: \"%s\" must be a number", ctx, key);
    *out = json_number_value(v);
    if (!isfinite(*out))
        return fail(d, "%s: \"%s\" must be finite", ctx, key);
    return 0;
}

static int parse_variant(analyze_data *d, json_t *o, size_t i)
{
    static const char *known[] = {"name", "weight", "visitors", "conversions", "revenue_sum",
                                  "revenue_sumsq", "declines"};
    char ctx[64];
    snprintf(ctx, sizeof ctx, "variant %zu", i + 1);
    if (!json_is_object(o))
        return fail(d, "%s is not an object", ctx);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            ok = ok || strcmp(key, known[j]) == 0;
        if (!ok)
            return fail(d, "%s: unknown key \"%s\"", ctx, key);
    }
    stats_variant_input *v = &d->v[i];
    json_t *name = json_object_get(o, "name");
    if (!json_is_string(name) || json_string_length(name) == 0)
        return fail(d, "%s: missing field \"name\" (a non-empty string)", ctx);
    snprintf(d->names[i], ANALYZE_NAME, "%s", json_string_value(name));
    for (size_t j = 0; j < i; j++)
        if (strcmp(d->names[j], d->names[i]) == 0)
            return fail(d, "%s: name \"%s\" is used twice", ctx, d->names[i]);
    json_t *w = json_object_get(o, "weight");
    v->weight = 1.0;
    if (w && json_num(d, w, ctx, "weight", &v->weight) != 0)
        return -1;
    if (!(v->weight > 0))
        return fail(d, "%s: \"weight\" must be positive", ctx);
    const char *req[] = {"visitors", "conversions", "revenue_sum", "revenue_sumsq"};
    for (size_t j = 0; j < 4; j++)
        if (!json_object_get(o, req[j]))
            return fail(d, "%s: missing field \"%s\"", ctx, req[j]);
    if (json_count(d, json_object_get(o, "visitors"), "variant", i, "visitors", &v->visitors) ||
        json_count(d, json_object_get(o, "conversions"), "variant", i, "conversions",
                   &v->conversions) ||
        json_num(d, json_object_get(o, "revenue_sum"), ctx, "revenue_sum", &v->revenue_sum) ||
        json_num(d, json_object_get(o, "revenue_sumsq"), ctx, "revenue_sumsq",
                 &v->revenue_sumsq))
        return -1;
    json_t *dec = json_object_get(o, "declines");
    if (dec && json_count(d, dec, "variant", i, "declines", &v->declines) != 0)
        return -1;
    if ((dec != NULL) != d->in.has_declines && i > 0)
        return fail(d, "%s: \"declines\" must be given for every variant or none", ctx);
    d->in.has_declines = dec != NULL;
    return 0;
}

static int parse_json(analyze_data *d, const char *text, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(d, "line %d column %d: %s", je.line, je.column, je.text);
    int rc = -1;
    static const char *known[] = {"experiment", "alpha", "tau2", "adjust", "power",
                                  "visitors_per_day", "variants", "looks"};
    const char *key;
    json_t *val;
    if (!json_is_object(root)) {
        fail(d, "the top level must be an object");
        goto out;
    }
    json_object_foreach(root, key, val) {
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            ok = ok || strcmp(key, known[j]) == 0;
        if (!ok) {
            fail(d, "unknown key \"%s\" at the top level", key);
            goto out;
        }
    }
    json_t *e = json_object_get(root, "experiment");
    if (e && !json_is_string(e)) {
        fail(d, "\"experiment\" must be a string");
        goto out;
    }
    if (e)
        snprintf(d->experiment, sizeof d->experiment, "%s", json_string_value(e));
    if ((val = json_object_get(root, "alpha")) &&
        (json_num(d, val, "top level", "alpha", &d->in.alpha) ||
         !(d->in.alpha > 0 && d->in.alpha < 1))) {
        if (!d->msg[0])
            fail(d, "\"alpha\" must be between 0 and 1");
        goto out;
    }
    if ((val = json_object_get(root, "tau2")) &&
        (json_num(d, val, "top level", "tau2", &d->in.tau2) || !(d->in.tau2 > 0))) {
        if (!d->msg[0])
            fail(d, "\"tau2\" must be positive");
        goto out;
    }
    if ((val = json_object_get(root, "visitors_per_day")) &&
        json_num(d, val, "top level", "visitors_per_day", &d->in.visitors_per_day))
        goto out;
    if ((val = json_object_get(root, "adjust"))) {
        const char *m = json_string_value(val);
        if (m && strcmp(m, "holm") == 0)
            d->in.adjust = STATS_ADJUST_HOLM;
        else if (m && strcmp(m, "bh") == 0)
            d->in.adjust = STATS_ADJUST_BH;
        else if (m && strcmp(m, "none") == 0)
            d->in.adjust = STATS_ADJUST_NONE;
        else {
            fail(d, "\"adjust\" must be \"holm\", \"bh\" or \"none\"");
            goto out;
        }
    }
    if ((val = json_object_get(root, "power"))) {
        if (!json_is_object(val)) {
            fail(d, "\"power\" must be an object");
            goto out;
        }
        json_object_foreach(val, key, e) {
            double *dst = strcmp(key, "baseline_rate") == 0  ? &d->in.power_baseline
                          : strcmp(key, "relative_mde") == 0 ? &d->in.power_mde_rel
                          : strcmp(key, "power") == 0        ? &d->in.power
                                                             : NULL;
            if (!dst) {
                fail(d, "power: unknown key \"%s\"", key);
                goto out;
            }
            if (json_num(d, e, "power", key, dst))
                goto out;
        }
        if (d->in.power != 0 && !(d->in.power > 0 && d->in.power < 1)) {
            fail(d, "power: \"power\" must be between 0 and 1");
            goto out;
        }
    }
    json_t *vars = json_object_get(root, "variants");
    if (!json_is_array(vars)) {
        fail(d, "missing field \"variants\" (an array)");
        goto out;
    }
    d->k = json_array_size(vars);
    if (d->k < 2 || d->k > STATS_MAX_VARIANTS) {
        fail(d, "\"variants\" must list 2 to %d variants (control first), found %zu",
             STATS_MAX_VARIANTS, d->k);
        goto out;
    }
    for (size_t i = 0; i < d->k; i++)
        if (parse_variant(d, json_array_get(vars, i), i) != 0)
            goto out;
    json_t *looks = json_object_get(root, "looks");
    if (looks) {
        if (!json_is_array(looks) || json_array_size(looks) > ANALYZE_MAX_LOOKS) {
            fail(d, "\"looks\" must be an array of at most %d looks", ANALYZE_MAX_LOOKS);
            goto out;
        }
        d->n_looks = json_array_size(looks);
        for (size_t l = 0; l < d->n_looks; l++) {
            json_t *lk = json_array_get(looks, l);
            json_t *ln = json_object_get(lk, "visitors"), *lx = json_object_get(lk, "conversions");
            if (!json_is_array(ln) || !json_is_array(lx) || json_array_size(ln) != d->k ||
                json_array_size(lx) != d->k) {
                fail(d, "look %zu: \"visitors\" and \"conversions\" must be arrays of %zu "
                        "counts, one per variant",
                     l + 1, d->k);
                goto out;
            }
            json_object_foreach(lk, key, e) {
                if (strcmp(key, "visitors") && strcmp(key, "conversions") && strcmp(key, "day")) {
                    fail(d, "look %zu: unknown key \"%s\"", l + 1, key);
                    goto out;
                }
            }
            for (size_t i = 0; i < d->k; i++)
                if (json_count(d, json_array_get(ln, i), "look", l, "visitors",
                               &d->look_n[l * d->k + i]) ||
                    json_count(d, json_array_get(lx, i), "look", l, "conversions",
                               &d->look_x[l * d->k + i]))
                    goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---------- CSV input (upshot export --csv) ---------- */

#define CSV_HEADER "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines"

typedef struct csv_day {
    char day[32];
} csv_day;

static int parse_csv(analyze_data *d, char *text, const char *region, const double *weights,
                     size_t n_weights)
{
    static csv_day days[ANALYZE_MAX_LOOKS];
    size_t n_days = 0;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line)
        return fail(d, "empty file");
    size_t hl = strlen(line);
    if (hl && line[hl - 1] == '\r')
        line[hl - 1] = 0;
    if (strcmp(line, CSV_HEADER) != 0)
        return fail(d, "line 1: expected the header \"%s\"", CSV_HEADER);
    d->in.has_declines = true;
    /* per day increments, later turned into cumulative looks */
    static uint64_t inc_n[ANALYZE_MAX_LOOKS * STATS_MAX_VARIANTS];
    static uint64_t inc_x[ANALYZE_MAX_LOOKS * STATS_MAX_VARIANTS];
    memset(inc_n, 0, sizeof inc_n);
    memset(inc_x, 0, sizeof inc_x);
    size_t lineno = 1, rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = 0;
        if (ll == 0)
            continue;
        char *f[8];
        size_t nf = 0;
        char *p = line;
        while (nf < 8) {
            f[nf++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = 0;
            p = c + 1;
        }
        if (nf != 8 || strchr(p, ','))
            return fail(d, "line %zu: expected 8 comma-separated fields", lineno);
        if (region && strcmp(f[1], region) != 0)
            continue;
        uint64_t cnt[3];
        const int cidx[3] = {3, 4, 7};
        const char *cname[3] = {"visitors", "conversions", "declines"};
        for (int j = 0; j < 3; j++) {
            char *end;
            errno = 0;
            if (f[cidx[j]][0] == '-' )
                return fail(d, "line %zu: \"%s\" is negative", lineno, cname[j]);
            unsigned long long u = strtoull(f[cidx[j]], &end, 10);
            if (errno || end == f[cidx[j]] || *end)
                return fail(d, "line %zu: \"%s\" is not a whole number", lineno, cname[j]);
            cnt[j] = u;
        }
        double rs, rq;
        char *end;
        rs = strtod(f[5], &end);
        if (end == f[5] || *end || !isfinite(rs) || rs < 0)
            return fail(d, "line %zu: \"revenue_sum\" must be a non-negative number", lineno);
        rq = strtod(f[6], &end);
        if (end == f[6] || *end || !isfinite(rq) || rq < 0)
            return fail(d, "line %zu: \"revenue_sumsq\" must be a non-negative number", lineno);
        if (cnt[1] > cnt[0])
            return fail(d, "line %zu: conversions exceed visitors", lineno);
        if (cnt[2] > cnt[0])
            return fail(d, "line %zu: declines exceed visitors", lineno);
        size_t vi;
        for (vi = 0; vi < d->k; vi++)
            if (strcmp(d->names[vi], f[2]) == 0)
                break;
        if (vi == d->k) {
            if (d->k == STATS_MAX_VARIANTS)
                return fail(d, "line %zu: more than %d variants", lineno, STATS_MAX_VARIANTS);
            if (!f[2][0])
                return fail(d, "line %zu: empty variant name", lineno);
            snprintf(d->names[d->k++], ANALYZE_NAME, "%s", f[2]);
        }
        size_t di;
        for (di = 0; di < n_days; di++)
            if (strcmp(days[di].day, f[0]) == 0)
                break;
        if (di == n_days) {
            if (n_days == ANALYZE_MAX_LOOKS)
                return fail(d, "line %zu: more than %d days", lineno, ANALYZE_MAX_LOOKS);
            snprintf(days[n_days++].day, sizeof days[0].day, "%s", f[0]);
        }
        stats_variant_input *v = &d->v[vi];
        v->visitors += cnt[0];
        v->conversions += cnt[1];
        v->declines += cnt[2];
        v->revenue_sum += rs;
        v->revenue_sumsq += rq;
        inc_n[di * STATS_MAX_VARIANTS + vi] += cnt[0];
        inc_x[di * STATS_MAX_VARIANTS + vi] += cnt[1];
        rows++;
    }
    if (rows == 0)
        return fail(d, region ? "no rows for region \"%s\"" : "no data rows%s", region ? region : "");
    if (d->k < 2)
        return fail(d, "only one variant (\"%s\") in the file", d->names[0]);
    if (weights) {
        if (n_weights != d->k)
            return fail(d, "--weights gives %zu weights but the file has %zu variants", n_weights,
                        d->k);
        for (size_t i = 0; i < d->k; i++)
            d->v[i].weight = weights[i];
    } else {
        for (size_t i = 0; i < d->k; i++)
            d->v[i].weight = 1.0;
    }
    /* days in ascending order (ISO dates sort as strings), then cumulate */
    size_t order[ANALYZE_MAX_LOOKS];
    for (size_t i = 0; i < n_days; i++) {
        size_t j = i;
        while (j > 0 && strcmp(days[order[j - 1]].day, days[i].day) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    d->n_looks = n_days;
    for (size_t l = 0; l < n_days; l++)
        for (size_t i = 0; i < d->k; i++) {
            uint64_t pn = l ? d->look_n[(l - 1) * d->k + i] : 0;
            uint64_t px = l ? d->look_x[(l - 1) * d->k + i] : 0;
            d->look_n[l * d->k + i] = pn + inc_n[order[l] * STATS_MAX_VARIANTS + i];
            d->look_x[l * d->k + i] = px + inc_x[order[l] * STATS_MAX_VARIANTS + i];
        }
    return 0;
}

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
    fprintf(out, "%-18s %11s %9s %8s %-18s %10s %9s %8s\n", "variant", "visitors", "conv", "rate",
            "rate CI", "rev/visit", "AOV", "declines");
    for (size_t i = 0; i < r->k; i++) {
        const stats_variant_report *v = &r->variants[i];
        fprintf(out, "%-18.18s %11llu %9llu %8s %-18s %10s %9s %8s\n", d->names[i],
                (unsigned long long)d->v[i].visitors, (unsigned long long)d->v[i].conversions,
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
          "  FILE      a JSON summary (docs/analyze.md) or `upshot export --csv` output\n"
          "  --json    print every quantity as JSON instead of the report\n"
          "  --region  CSV only: analyse one region instead of the sum over regions\n"
          "  --weights CSV only: configured weights for the SRM check (default equal)\n"
          "exit: 0 ok, 2 usage error, 3 unreadable or invalid input\n",
          f);
}

static char *read_file(const char *path, size_t *len, char *msg, size_t msgsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msgsz, "cannot open: %s", strerror(errno));
        return NULL;
    }
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
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    if (buf && ferror(f)) {
        snprintf(msg, msgsz, "read error");
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    } else if (!msg[0]) {
        snprintf(msg, msgsz, "out of memory");
    }
    return buf;
}

int analyze_command(int argc, char **argv, FILE *out, FILE *err)
{
    const char *path = NULL, *region = NULL, *weights_arg = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(out);
            return ANALYZE_EXIT_OK;
        } else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc) {
            region = argv[++i];
        } else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) {
            weights_arg = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(err, "upshot analyze: unknown option \"%s\"\n", argv[i]);
            usage(err);
            return ANALYZE_EXIT_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(err, "upshot analyze: more than one FILE given\n");
            return ANALYZE_EXIT_USAGE;
        }
    }
    if (!path) {
        usage(err);
        return ANALYZE_EXIT_USAGE;
    }
    double weights[STATS_MAX_VARIANTS];
    size_t n_weights = 0;
    if (weights_arg) {
        const char *p = weights_arg;
        while (*p) {
            char *end;
            double w = strtod(p, &end);
            if (end == p || !(w > 0) || !isfinite(w) || n_weights == STATS_MAX_VARIANTS ||
                (*end && *end != ',')) {
                fprintf(err, "upshot analyze: --weights must be positive numbers separated by "
                             "commas\n");
                return ANALYZE_EXIT_USAGE;
            }
            weights[n_weights++] = w;
            p = *end ? end + 1 : end;
        }
    }
    stats_init();
    analyze_data *d = calloc(1, sizeof *d);
    stats_experiment_report *r = calloc(1, sizeof *r);
    int rc = ANALYZE_EXIT_BAD_INPUT;
    size_t len = 0;
    char *text = NULL;
    if (!d || !r) {
        fprintf(err, "upshot analyze: out of memory\n");
        goto done;
    }
    text = read_file(path, &len, d->msg, sizeof d->msg);
    if (!text) {
        fprintf(err, "upshot analyze: %s: %s\n", path, d->msg);
        goto done;
    }
    size_t skip = 0;
    while (skip < len && (text[skip] == ' ' || text[skip] == '\n' || text[skip] == '\r' ||
                          text[skip] == '\t'))
        skip++;
    bool is_json = skip < len && text[skip] == '{';
    if (!is_json && (region || weights_arg) == false && strncmp(text + skip, "day,", 4) != 0) {
        fprintf(err, "upshot analyze: %s: neither a JSON object nor a CSV export\n", path);
        goto done;
    }
    if (is_json && (region || weights_arg)) {
        fprintf(err, "upshot analyze: --region and --weights apply to CSV input only\n");
        rc = ANALYZE_EXIT_USAGE;
        goto done;
    }
    int prc = is_json ? parse_json(d, text, len)
                      : parse_csv(d, text + skip, region, weights_arg ? weights : NULL, n_weights);
    if (prc != 0) {
        fprintf(err, "upshot analyze: %s: %s\n", path, d->msg);
        goto done;
    }
    d->in.k = d->k;
    d->in.variants = d->v;
    d->in.n_looks = d->n_looks;
    d->in.look_visitors = d->n_looks ? d->look_n : NULL;
    d->in.look_conversions = d->n_looks ? d->look_x : NULL;
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
            goto done;
        }
        if (d->experiment[0])
            json_object_set_new(j, "experiment", json_string(d->experiment));
        json_dumpf(j, out, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(j);
    } else {
        print_text(out, d, r);
    }
    rc = ANALYZE_EXIT_OK;
done:
    free(text);
    free(d);
    free(r);
    return rc;
}
