/* test_cli_report.c: the report's document and HTML page (cli_report.h)
 * from the CLI's fixtures: the page is well-formed, self-contained and
 * accessible, hostile strings come out as text, and the bands are the
 * decision rules' intervals day by day. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_report.h"
#include "stats_core.h"

static json_t *fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/%s", UPSHOT_SOURCE_DIR, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s: %s", path, je.text);
    return j;
}

/* The model and page for the checkout-tiers fixtures, after edit(exp, log). */
static char *page_of(void (*edit)(json_t *exp, json_t *log), json_t **model_out)
{
    stats_init();
    json_t *exp = fixture("experiment_checkout_tiers.json");
    json_t *res = fixture("results_checkout_tiers.json");
    json_t *log = fixture("log_checkout_tiers.json");
    if (edit) edit(exp, log);
    cli_results r;
    char err[256];
    cr_assert_eq(cli_results_parse(res, &r, err, sizeof err), 0, "%s", err);
    cli_view_opts vo = {NULL, -1, 0, -1, -1, 0};
    json_t *model = cli_report_model(exp, &r, log, &vo, err, sizeof err);
    cr_assert_not_null(model, "%s", err);
    cli_results_free(&r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(cli_report_html(model, f), 0);
    fclose(f);
    json_decref(exp);
    json_decref(res);
    json_decref(log);
    if (model_out) *model_out = model;
    else json_decref(model);
    return buf;
}

/* Checks that every element is closed in order (void elements are
 * written self-closed), the way an XML parser would. Returns NULL, or a
 * static message. */
static const char *well_formed(const char *s)
{
    static char msg[160];
    char stack[256][24];
    int depth = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        if (p[1] == '!') continue; /* doctype */
        const char *end = strchr(p, '>');
        if (end == NULL) return "a tag is not closed by >";
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t len = strcspn(n, " />\n");
        if (len == 0 || len >= sizeof stack[0]) return "a tag without a name";
        if (end[-1] == '/') continue; /* self-closed */
        if (!closing) {
            if (depth == 256) return "too deep";
            memcpy(stack[depth], n, len);
            stack[depth++][len] = '\0';
            continue;
        }
        if (depth == 0 || strlen(stack[depth - 1]) != len ||
            strncmp(stack[depth - 1], n, len) != 0) {
            snprintf(msg, sizeof msg, "</%.*s> closes <%s>", (int)len, n,
                     depth ? stack[depth - 1] : "(nothing)");
            return msg;
        }
        depth--;
    }
    return depth == 0 ? NULL : "elements left open at the end";
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

Test(cli_report, the_page_is_well_formed_and_self_contained)
{
    char *html = page_of(NULL, NULL);
    const char *bad = well_formed(html);
    cr_assert_null(bad, "%s", bad);
    cr_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    /* nothing to fetch: no script, no src, no href, no url(), and the
     * only URLs are the XML namespaces */
    cr_assert_eq(count(html, "<script"), 0);
    cr_assert_eq(count(html, "src="), 0);
    cr_assert_eq(count(html, "href="), 0);
    cr_assert_eq(count(html, "url("), 0);
    cr_assert_eq(count(html, "://"), count(html, "xmlns=\"http://"));
    cr_assert(strstr(html, "default-src 'none'") != NULL, "a CSP forbids any fetch");
    free(html);
}

Test(cli_report, every_chart_has_a_title_a_description_and_a_table)
{
    json_t *model = NULL;
    char *html = page_of(NULL, &model);
    size_t svgs = count(html, "<svg ");
    /* lift: all regions + 2 regions; forest; exposure */
    cr_assert_eq(svgs, 5, "%zu charts", svgs);
    cr_assert_eq(count(html, "role=\"img\""), svgs);
    cr_assert_eq(count(html, "<title id="), svgs);
    cr_assert_eq(count(html, "<desc id="), svgs);
    cr_assert_geq(count(html, "<table>"), svgs + 2, "a table per chart, decisions and audit");
    const char *sections[] = {"id=\"decisions\"", "id=\"lift\"", "id=\"forest\"",
                              "id=\"exposure\"", "id=\"audit\"", "@media print", NULL};
    for (int i = 0; sections[i]; i++)
        cr_assert(strstr(html, sections[i]) != NULL, "missing %s", sections[i]);
    json_decref(model);
    free(html);
}

static void hostile(json_t *exp, json_t *log)
{
    json_object_set_new(exp, "name", json_string("<script>alert(1)</script> & \"q\" 'a' "
                                                 "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\x01"));
    json_t *e = json_array_get(json_object_get(log, "entries"), 0);
    json_object_set_new(e, "actor", json_string("<img src=x onerror=alert(1)>"));
    json_object_set_new(e, "reason", json_string("</td></tr></table><svg onload=alert(1)>"));
}

Test(cli_report, hostile_strings_come_out_as_text)
{
    char *html = page_of(hostile, NULL);
    const char *bad = well_formed(html);
    cr_assert_null(bad, "%s", bad);
    cr_assert_eq(count(html, "<script"), 0);
    cr_assert_eq(count(html, "<img"), 0);
    cr_assert_eq(count(html, "<svg onload"), 0);
    cr_assert(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; "
                           "&#39;a&#39;") != NULL);
    cr_assert(strstr(html, "&lt;img src=x onerror=alert(1)&gt;") != NULL);
    /* a right-to-left name is isolated, and the control byte dropped */
    cr_assert(strstr(html, "<bdi>&lt;script&gt;") != NULL);
    cr_assert(strstr(html, "\xd7\x9d\x01") == NULL);
    cr_assert(strstr(html, "\xd7\x9d</bdi>") != NULL);
    free(html);
}

Test(cli_report, the_bands_are_the_decision_rules_intervals_day_by_day)
{
    json_t *model = NULL;
    char *html = page_of(NULL, &model);
    json_t *view = json_object_get(model, "view");
    size_t nd = json_array_size(json_object_get(view, "days"));
    cr_assert_gt(nd, 1);
    /* the last day's band of each region is the interval `show` prints */
    size_t i, j;
    json_t *band;
    json_array_foreach(json_object_get(model, "bands"), i, band) {
        if (i == 0) continue; /* all regions: the pooled slice */
        json_t *g = json_array_get(json_object_get(view, "regions"), i - 1);
        cr_assert_str_eq(json_string_value(json_object_get(band, "region")),
                         json_string_value(json_object_get(g, "region")));
        json_t *s;
        json_array_foreach(json_object_get(band, "series"), j, s) {
            const char *v = json_string_value(json_object_get(s, "variant"));
            json_t *arm = NULL, *a;
            size_t k;
            json_array_foreach(json_object_get(g, "variants"), k, a)
                if (strcmp(json_string_value(json_object_get(a, "variant")), v) == 0) arm = a;
            cr_assert_not_null(arm);
            json_t *ci = json_object_get(arm, "lift_ci");
            double lo = json_number_value(json_array_get(json_object_get(s, "lo"), nd - 1));
            double hi = json_number_value(json_array_get(json_object_get(s, "hi"), nd - 1));
            cr_assert_float_eq(lo, json_number_value(json_array_get(ci, 0)), 1e-12, "%s", v);
            cr_assert_float_eq(hi, json_number_value(json_array_get(ci, 1)), 1e-12, "%s", v);
            /* a confidence sequence only narrows: the running intersection */
            for (size_t d = 1; d < nd; d++) {
                double l0 = json_number_value(json_array_get(json_object_get(s, "lo"), d - 1));
                double h0 = json_number_value(json_array_get(json_object_get(s, "hi"), d - 1));
                double l1 = json_number_value(json_array_get(json_object_get(s, "lo"), d));
                double h1 = json_number_value(json_array_get(json_object_get(s, "hi"), d));
                if (isfinite(l0) && isfinite(l1) && isfinite(h0) && isfinite(h1))
                    cr_assert_leq(h1 - l1, (h0 - l0) * (1 + 1e-9) + 1e-9,
                                  "%s day %zu widened", v, d);
            }
        }
    }
    json_decref(model);
    free(html);
}

Test(cli_report, escape_covers_the_five_characters)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_report_escape(f, "a<b>&\"'c\x02\td");
    fclose(f);
    cr_assert_str_eq(buf, "a&lt;b&gt;&amp;&quot;&#39;c\td");
    free(buf);
}
