/* test_cli_suggest.c: the edit distance and the "did you mean" choice. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "cli_suggest.h"

Test(cli_suggest, distance_counts_each_kind_of_edit_once)
{
    static const struct { const char *a, *b; size_t d; } cases[] = {
        {"", "", 0},           {"show", "show", 0},   {"", "abc", 3},
        {"show", "shwo", 1},   /* adjacent swap */    {"show", "sho", 1},  /* deletion */
        {"show", "shows", 1},  /* insertion */        {"show", "shaw", 1}, /* substitution */
        {"chekout-tiers", "checkout-tiers", 1},       {"kitten", "sitting", 3},
        {"ls", "log", 2},      {"abcd", "badc", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(cli_suggest_distance(cases[i].a, cases[i].b), cases[i].d, "%s / %s",
                     cases[i].a, cases[i].b);
        cr_assert_eq(cli_suggest_distance(cases[i].b, cases[i].a), cases[i].d, "symmetric");
    }
}

Test(cli_suggest, words_longer_than_the_bound_are_far)
{
    char big[CLI_SUGGEST_MAX_LEN + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(cli_suggest_distance(big, "a"), SIZE_MAX);
}

Test(cli_suggest, best_picks_the_closest_within_the_threshold)
{
    const char *cmds[] = {"ls", "show", "watch", "promote", "unpromote", "start", "stop"};
    size_t n = sizeof cmds / sizeof cmds[0];
    cr_assert_str_eq(cli_suggest_best("shwo", cmds, n), "show");
    cr_assert_str_eq(cli_suggest_best("promot", cmds, n), "promote");
    cr_assert_str_eq(cli_suggest_best("strat", cmds, n), "start");
    cr_assert_null(cli_suggest_best("deploy", cmds, n), "nothing close: no guess");
    cr_assert_null(cli_suggest_best("show", cmds, n), "the word itself is not a suggestion");
    const char *keys[] = {"cart-bundle", "checkout-tiers"};
    cr_assert_str_eq(cli_suggest_best("chekout-tiers", keys, 2), "checkout-tiers");
    cr_assert_null(cli_suggest_best("x", keys, 2));
}
