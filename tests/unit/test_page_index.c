/* Tests for page_index.h: the running experiments of a page or placement,
 * in live-set order, found without scanning the live set. Checked against
 * the scan it replaces (experiment_on_page and the placement field) on a
 * generated live set. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "page_index.h"

TestSuite(page_index);

static experiment *make(const char *key, const char *status, const char *placement,
                        const char *pages_json)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"key\": \"%s\", \"status\": \"%s\", \"placement\": \"%s\", \"pages\": %s,"
             " \"control\": \"a\", \"variants\": [{\"key\": \"a\", \"weight\": 0.5},"
             " {\"key\": \"b\", \"weight\": 0.5}]}",
             key, status, placement, pages_json);
    json_error_t jerr;
    json_t *def = json_loads(text, 0, &jerr);
    cr_assert_not_null(def, "bad test json: %s", jerr.text);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    return e;
}

static void expect_keys(const page_index *ix, bool by_page, const char *name,
                        const char *const *want, size_t nwant)
{
    size_t n;
    experiment *const *got = page_index_find(ix, by_page, name, &n);
    cr_assert_eq(n, nwant, "%s %s: %zu experiments, want %zu", by_page ? "page" : "placement",
                 name, n, nwant);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(got[i]->key, want[i], "%s[%zu]", name, i);
}

Test(page_index, lists_running_experiments_in_live_set_order)
{
    experiment *exps[] = {
        make("a", "running", "checkout_popup", "[\"checkout\"]"),
        make("b", "running", "checkout_popup", "[\"checkout\", \"cart\"]"),
        make("c", "running", "cart_banner", "[\"cart\"]"),
        make("d", "stopped", "checkout_popup", "[\"checkout\"]"),
        make("e", "draft", "cart_banner", "[\"cart\"]"),
    };
    size_t n = sizeof exps / sizeof *exps;
    page_index *ix = page_index_build(exps, n);
    cr_assert_not_null(ix);
    expect_keys(ix, true, "checkout", (const char *[]){"a", "b"}, 2);
    expect_keys(ix, true, "cart", (const char *[]){"b", "c"}, 2);
    expect_keys(ix, false, "checkout_popup", (const char *[]){"a", "b"}, 2);
    expect_keys(ix, false, "cart_banner", (const char *[]){"c"}, 1);
    expect_keys(ix, true, "checkout_popup", NULL, 0); /* a placement is not a page */
    expect_keys(ix, false, "checkout", NULL, 0);
    expect_keys(ix, true, "nowhere", NULL, 0);
    /* The index holds its own references: it outlives the caller's. */
    for (size_t i = 0; i < n; i++)
        experiment_release(exps[i]);
    expect_keys(ix, true, "checkout", (const char *[]){"a", "b"}, 2);
    page_index_free(ix);
}

Test(page_index, agrees_with_a_scan_of_the_live_set)
{
    enum { N = 300 };
    static const char *const pages[] = {"home", "product", "cart", "checkout", "thanks"};
    experiment *exps[N];
    for (int i = 0; i < N; i++) {
        char key[32], placement[32], list[128];
        snprintf(key, sizeof key, "exp-%03d", i);
        snprintf(placement, sizeof placement, "slot-%d", i % 7);
        snprintf(list, sizeof list, "[\"%s\", \"%s\"]", pages[i % 5],
                 pages[(i + 1 + i % 3) % 5]);
        exps[i] = make(key, i % 4 == 3 ? "stopped" : "running", placement, list);
    }
    page_index *ix = page_index_build(exps, N);
    cr_assert_not_null(ix);
    for (int by = 0; by < 2; by++) {
        for (int k = 0; k < (by ? 5 : 7); k++) {
            char name[32];
            if (by)
                snprintf(name, sizeof name, "%s", pages[k]);
            else
                snprintf(name, sizeof name, "slot-%d", k);
            const char *want[N];
            size_t nwant = 0;
            for (int i = 0; i < N; i++) {
                if (exps[i]->status != EXP_RUNNING)
                    continue;
                if (by ? experiment_on_page(exps[i], name) : strcmp(exps[i]->placement, name) == 0)
                    want[nwant++] = exps[i]->key;
            }
            cr_assert_gt(nwant, 0);
            expect_keys(ix, by, name, want, nwant);
        }
    }
    page_index_free(ix);
    for (int i = 0; i < N; i++)
        experiment_release(exps[i]);
}

Test(page_index, empty_live_set_and_null_index)
{
    page_index *ix = page_index_build(NULL, 0);
    cr_assert_not_null(ix);
    expect_keys(ix, true, "checkout", NULL, 0);
    page_index_free(ix);
    size_t n = 7;
    cr_expect_null(page_index_find(NULL, true, "checkout", &n));
    cr_expect_eq(n, 0);
    page_index_free(NULL);
}
