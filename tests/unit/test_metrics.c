/* Tests for metrics.h: metrics_render writes valid Prometheus text
 * exposition format. A small checker reads the output line by line: every
 * line is "# HELP", "# TYPE" or a sample `name{labels} value` /
 * `name value`; every sample's family has HELP and TYPE before it; and
 * histogram buckets are cumulative with +Inf equal to _count. Each test
 * runs in its own process, so g_metrics starts at zero in each. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define MAX_FAMILIES 64
#define MAX_SAMPLES 1024

typedef struct family {
    char name[128];
    char type[16];
    bool help;
} family;

typedef struct sample {
    char name[128];
    char labels[256]; /* as written, without braces */
    double value;
} sample;

typedef struct exposition {
    family fam[MAX_FAMILIES];
    int nfam;
    sample s[MAX_SAMPLES];
    int ns;
} exposition;

static char *render(const metrics_gauges *g)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_not_null(b);
    metrics_render(b, g);
    size_t n = evbuffer_get_length(b);
    char *text = malloc(n + 1);
    cr_assert_not_null(text);
    cr_assert_eq(evbuffer_remove(b, text, n), (int)n);
    text[n] = '\0';
    evbuffer_free(b);
    return text;
}

static bool is_name_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == ':'; }
static bool is_name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == ':'; }

/* Length of a metric name at p (0 if none). */
static size_t name_len(const char *p)
{
    if (!is_name_start(*p))
        return 0;
    size_t n = 1;
    while (is_name_char(p[n]))
        n++;
    return n;
}

static family *find_family(exposition *x, const char *name)
{
    for (int i = 0; i < x->nfam; i++)
        if (strcmp(x->fam[i].name, name) == 0)
            return &x->fam[i];
    return NULL;
}

/* The family a sample belongs to: histogram series end in _bucket, _sum
 * or _count. */
static family *family_of(exposition *x, const char *sample_name)
{
    family *f = find_family(x, sample_name);
    if (f)
        return f;
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(sample_name), k = strlen(suffixes[i]);
        if (n > k && strcmp(sample_name + n - k, suffixes[i]) == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), sample_name);
            f = find_family(x, base);
            if (f && strcmp(f->type, "histogram") == 0)
                return f;
        }
    }
    return NULL;
}

/* Checks a label set `a="x",b="y"` (without braces). */
static void check_labels(const char *p, const char *line)
{
    cr_assert(*p, "empty braces in: %s", line);
    for (;;) {
        size_t n = name_len(p);
        cr_assert_gt(n, 0u, "bad label name in: %s", line);
        p += n;
        cr_assert_eq(*p, '=', "label without '=' in: %s", line);
        p++;
        cr_assert_eq(*p, '"', "label value not quoted in: %s", line);
        p++;
        while (*p && *p != '"') {
            if (*p == '\\') {
                cr_assert(p[1] == '\\' || p[1] == '"' || p[1] == 'n', "bad escape in: %s", line);
                p++;
            }
            cr_assert(*p != '\n', "newline inside a label value: %s", line);
            p++;
        }
        cr_assert_eq(*p, '"', "unterminated label value in: %s", line);
        p++;
        if (!*p)
            return;
        cr_assert_eq(*p, ',', "labels not separated by ',' in: %s", line);
        p++;
    }
}

static double parse_value(const char *v, const char *line)
{
    if (strcmp(v, "+Inf") == 0)
        return INFINITY;
    if (strcmp(v, "-Inf") == 0)
        return -INFINITY;
    if (strcmp(v, "NaN") == 0)
        return NAN;
    char *end;
    double d = strtod(v, &end);
    cr_assert(end != v && *end == '\0', "sample value \"%s\" is not a number in: %s", v, line);
    return d;
}

/* Parses the whole text, asserting the format as it goes. */
static void parse(const char *text, exposition *x)
{
    memset(x, 0, sizeof *x);
    size_t len = strlen(text);
    cr_assert_gt(len, 0u, "empty exposition");
    cr_assert_eq(text[len - 1], '\n', "the exposition must end with a newline");

    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cr_assert(*line, "empty line");
        if (line[0] == '#') {
            char kind[8], name[128];
            int off = 0;
            cr_assert_eq(sscanf(line, "# %7s %127s %n", kind, name, &off), 2, "bad comment line: %s", line);
            cr_assert_eq(name_len(name), strlen(name), "bad metric name in: %s", line);
            family *f = find_family(x, name);
            if (!f) {
                cr_assert_lt(x->nfam, MAX_FAMILIES);
                f = &x->fam[x->nfam++];
                snprintf(f->name, sizeof f->name, "%s", name);
            }
            if (strcmp(kind, "HELP") == 0) {
                cr_assert(!f->help, "second HELP for %s", name);
                cr_assert(off > 0 && line[off], "HELP without text: %s", line);
                f->help = true;
            } else if (strcmp(kind, "TYPE") == 0) {
                cr_assert(!f->type[0], "second TYPE for %s", name);
                const char *t = line + off;
                cr_assert(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
                              strcmp(t, "histogram") == 0 || strcmp(t, "summary") == 0 ||
                              strcmp(t, "untyped") == 0,
                          "unknown TYPE in: %s", line);
                snprintf(f->type, sizeof f->type, "%s", t);
            } else {
                cr_assert_fail("comment is neither HELP nor TYPE: %s", line);
            }
            continue;
        }
        cr_assert_lt(x->ns, MAX_SAMPLES);
        sample *s = &x->s[x->ns++];
        size_t n = name_len(line);
        cr_assert_gt(n, 0u, "sample line does not start with a metric name: %s", line);
        cr_assert_lt(n, sizeof s->name);
        memcpy(s->name, line, n);
        s->name[n] = '\0';
        const char *p = line + n;
        if (*p == '{') {
            const char *close = strrchr(p, '}');
            cr_assert_not_null(close, "unclosed labels in: %s", line);
            cr_assert_lt((size_t)(close - p - 1), sizeof s->labels);
            memcpy(s->labels, p + 1, (size_t)(close - p - 1));
            s->labels[close - p - 1] = '\0';
            check_labels(s->labels, line);
            p = close + 1;
        }
        cr_assert_eq(*p, ' ', "no single space before the value in: %s", line);
        p++;
        cr_assert(*p && !strchr(p, ' '), "value must be the last field (no timestamp expected): %s", line);
        s->value = parse_value(p, line);

        family *f = family_of(x, s->name);
        cr_assert_not_null(f, "sample %s has no HELP/TYPE before it", s->name);
        cr_assert(f->help, "no HELP for %s", f->name);
        cr_assert(f->type[0], "no TYPE for %s", f->name);
        if (strcmp(f->type, "counter") == 0 || strcmp(f->type, "histogram") == 0)
            cr_assert(s->value >= 0, "negative %s value in: %s", f->type, line);
    }
    free(copy);
}

/* Value of the sample name{labels}, asserting it exists exactly once. */
static double value_of(const exposition *x, const char *name, const char *labels)
{
    int hits = 0;
    double v = NAN;
    for (int i = 0; i < x->ns; i++)
        if (strcmp(x->s[i].name, name) == 0 && strcmp(x->s[i].labels, labels) == 0) {
            hits++;
            v = x->s[i].value;
        }
    cr_assert_eq(hits, 1, "%s{%s} appears %d times", name, labels, hits);
    return v;
}

/* A label's value from a label string (into out). */
static bool label(const char *labels, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=\"", key);
    const char *p = strstr(labels, pat);
    if (!p)
        return false;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    snprintf(out, cap, "%.*s", (int)(q - p), p);
    return true;
}

/* Every histogram: per route, le ascending, counts non-decreasing, +Inf
 * last and equal to _count. Returns the number of routes checked. */
static int check_histogram(const exposition *x, const char *base)
{
    char bucket[160], count[160];
    snprintf(bucket, sizeof bucket, "%s_bucket", base);
    snprintf(count, sizeof count, "%s_count", base);
    int routes = 0;
    char route[64] = "";
    double prev_le = -INFINITY, prev_v = -1;
    bool saw_inf = true;
    for (int i = 0; i < x->ns; i++) {
        const sample *s = &x->s[i];
        if (strcmp(s->name, bucket) != 0)
            continue;
        char r[64], le[32];
        cr_assert(label(s->labels, "route", r, sizeof r), "bucket without route: %s", s->labels);
        cr_assert(label(s->labels, "le", le, sizeof le), "bucket without le: %s", s->labels);
        if (strcmp(r, route) != 0) {
            cr_assert(saw_inf, "route %s has no +Inf bucket", route);
            snprintf(route, sizeof route, "%s", r);
            prev_le = -INFINITY;
            prev_v = -1;
            saw_inf = false;
            routes++;
        }
        cr_assert(!saw_inf, "bucket after +Inf for route %s", r);
        double lev = parse_value(le, s->labels);
        cr_assert_gt(lev, prev_le, "route %s: le %s not ascending", r, le);
        cr_assert_geq(s->value, prev_v, "route %s: bucket le=%s = %g below the previous %g (not cumulative)",
                      r, le, s->value, prev_v);
        prev_le = lev;
        prev_v = s->value;
        if (isinf(lev)) {
            saw_inf = true;
            char lab[96];
            snprintf(lab, sizeof lab, "route=\"%s\"", r);
            double c = value_of(x, count, lab);
            cr_assert_eq(s->value, c, "route %s: +Inf bucket %g != _count %g", r, s->value, c);
            value_of(x, "upshot_http_request_duration_seconds_sum", lab);
        }
    }
    cr_assert(saw_inf, "route %s has no +Inf bucket", route);
    return routes;
}

TestSuite(metrics);

Test(metrics, empty_render_is_valid)
{
    metrics_gauges g = {0};
    char *text = render(&g);
    static exposition x;
    parse(text, &x);
    cr_expect_eq(check_histogram(&x, "upshot_http_request_duration_seconds"), ROUTE_COUNT);
    /* Families the API documents (docs/api.md). */
    const char *documented[] = {
        "upshot_http_requests_total", "upshot_http_request_duration_seconds", "upshot_assignments_total",
        "upshot_events_total", "upshot_journal_pending_events", "upshot_journal_bytes", "upshot_redis_up",
        "upshot_redis_errors_total", "upshot_redis_batches_total", "upshot_experiments_loaded",
    };
    for (size_t i = 0; i < sizeof documented / sizeof *documented; i++) {
        family *f = find_family(&x, documented[i]);
        cr_expect_not_null(f, "family %s missing", documented[i]);
    }
    cr_expect_str_eq(find_family(&x, "upshot_http_request_duration_seconds")->type, "histogram");
    cr_expect_str_eq(find_family(&x, "upshot_http_requests_total")->type, "counter");
    cr_expect_str_eq(find_family(&x, "upshot_redis_up")->type, "gauge");
    free(text);
}

Test(metrics, counters_and_gauges_render_their_values)
{
    metrics_observe_request(ROUTE_ASSIGN, 200, 0.0002);
    metrics_observe_request(ROUTE_ASSIGN, 204, 0.0003);
    metrics_observe_request(ROUTE_ASSIGN, 400, 0.0001);
    metrics_observe_request(ROUTE_EVENTS, 503, 0.02);
    g_metrics.assignments[0] = 41;
    g_metrics.events[EVT_CONVERSION][EVT_DUPLICATE_RECENT] = 5;
    g_metrics.redis_errors = 2;
    g_metrics.redis_batches = 123456789012ULL;
    g_metrics.redis_reconnects = 4;
    g_metrics.journal_errors = 1;
    g_metrics.promotions_auto = 3;
    metrics_gauges g = {.journal_pending_events = 77, .journal_bytes = 4096, .redis_inflight_batches = 2,
                        .redis_up = 1, .experiments_loaded = 5};
    char *text = render(&g);
    static exposition x;
    parse(text, &x);

    cr_expect_eq(value_of(&x, "upshot_http_requests_total", "route=\"assign\",code=\"2xx\""), 2.0);
    cr_expect_eq(value_of(&x, "upshot_http_requests_total", "route=\"assign\",code=\"4xx\""), 1.0);
    cr_expect_eq(value_of(&x, "upshot_http_requests_total", "route=\"events\",code=\"5xx\""), 1.0);
    cr_expect_eq(value_of(&x, "upshot_http_request_duration_seconds_count", "route=\"assign\""), 3.0);
    cr_expect_float_eq(value_of(&x, "upshot_http_request_duration_seconds_sum", "route=\"assign\""), 0.0006, 1e-12);
    cr_expect_eq(value_of(&x, "upshot_events_total", "type=\"conversion\",outcome=\"duplicate_recent\""), 5.0);
    cr_expect_eq(value_of(&x, "upshot_events_total", "type=\"exposure\",outcome=\"accepted\""), 0.0);
    cr_expect_eq(value_of(&x, "upshot_journal_pending_events", ""), 77.0);
    cr_expect_eq(value_of(&x, "upshot_journal_bytes", ""), 4096.0);
    cr_expect_eq(value_of(&x, "upshot_journal_errors_total", ""), 1.0);
    cr_expect_eq(value_of(&x, "upshot_redis_up", ""), 1.0);
    cr_expect_eq(value_of(&x, "upshot_redis_inflight_batches", ""), 2.0);
    cr_expect_eq(value_of(&x, "upshot_redis_errors_total", ""), 2.0);
    cr_expect_eq(value_of(&x, "upshot_redis_batches_total", ""), 123456789012.0, "large counters print in full");
    cr_expect_eq(value_of(&x, "upshot_redis_reconnects_total", ""), 4.0);
    cr_expect_eq(value_of(&x, "upshot_promotions_auto_total", ""), 3.0);
    cr_expect_eq(value_of(&x, "upshot_experiments_loaded", ""), 5.0);

    /* One assignments line per reason, each with a distinct reason label. */
    int reasons = 0;
    double total = 0;
    for (int i = 0; i < x.ns; i++)
        if (strcmp(x.s[i].name, "upshot_assignments_total") == 0) {
            char r[64];
            cr_expect(label(x.s[i].labels, "reason", r, sizeof r) && r[0], "no reason in %s", x.s[i].labels);
            for (int k = 0; k < i; k++)
                cr_expect(strcmp(x.s[k].name, x.s[i].name) != 0 || strcmp(x.s[k].labels, x.s[i].labels) != 0,
                          "duplicate series %s{%s}", x.s[i].name, x.s[i].labels);
            reasons++;
            total += x.s[i].value;
        }
    cr_expect_geq(reasons, 9, "only %d assignment reasons rendered", reasons);
    cr_expect_eq(total, 41.0);
    free(text);
}

Test(metrics, histogram_is_cumulative)
{
    /* One observation per bucket, one exactly on a bound (le is <=), two
     * past the last bound (only in +Inf). */
    for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++)
        metrics_observe_request(ROUTE_RESULTS, 200, metrics_latency_bounds[b] * 0.9);
    metrics_observe_request(ROUTE_RESULTS, 200, metrics_latency_bounds[4]);
    metrics_observe_request(ROUTE_RESULTS, 200, 2.5);
    metrics_observe_request(ROUTE_RESULTS, 200, 30.0);
    metrics_gauges g = {0};
    char *text = render(&g);
    static exposition x;
    parse(text, &x);
    cr_expect_eq(check_histogram(&x, "upshot_http_request_duration_seconds"), ROUTE_COUNT);

    /* Bucket i (le = bound i) holds i + 1 observations, +1 from index 4 on. */
    for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
        char lab[96], le[32];
        snprintf(le, sizeof le, "%g", metrics_latency_bounds[b]);
        snprintf(lab, sizeof lab, "route=\"results\",le=\"%s\"", le);
        double want = b + 1 + (b >= 4 ? 1 : 0);
        double got = value_of(&x, "upshot_http_request_duration_seconds_bucket", lab);
        cr_expect_eq(got, want, "bucket le=%s holds %g, expected %g", le, got, want);
    }
    double inf = value_of(&x, "upshot_http_request_duration_seconds_bucket", "route=\"results\",le=\"+Inf\"");
    cr_expect_eq(inf, METRICS_LATENCY_BUCKETS + 3.0, "+Inf holds %g", inf);
    cr_expect_eq(value_of(&x, "upshot_http_request_duration_seconds_count", "route=\"results\""), inf);
    free(text);
}

Test(metrics, odd_status_codes_do_not_break_the_output)
{
    metrics_observe_request(ROUTE_OTHER, 99, 0.001);
    metrics_observe_request(ROUTE_OTHER, 600, 0.001);
    metrics_observe_request(ROUTE_OTHER, -1, 0.001);
    metrics_observe_request(ROUTE_OTHER, 599, 0.001);
    metrics_gauges g = {0};
    char *text = render(&g);
    static exposition x;
    parse(text, &x);
    cr_expect_eq(value_of(&x, "upshot_http_requests_total", "route=\"other\",code=\"5xx\""), 1.0);
    /* The three odd ones are in the latency histogram but in no status class. */
    cr_expect_eq(value_of(&x, "upshot_http_request_duration_seconds_count", "route=\"other\""), 4.0);
    free(text);
}
