/* test_cli_args.c: the reentrant option parser of the `upshot` commands. */
#include <criterion/criterion.h>

#include "cli_args.h"

static const cli_optspec opts[] = {
    {"region", 'r', 1, "REGION", "a region"},
    {"json", 0, 0, NULL, "json"},
};

Test(cli_args, long_short_inline_and_positional_in_any_order)
{
    char *argv[] = {"--region", "gr", "exp-1", "--json", "--url=http://h:1", "-r", "pl"};
    cli_args a;
    char err[128];
    cr_assert_eq(cli_args_parse(&a, 7, argv, opts, 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.npos, 1);
    cr_assert_str_eq(a.pos[0], "exp-1");
    cr_assert_str_eq(cli_args_get(&a, "region"), "pl", "the last value wins");
    cr_assert(cli_args_has(&a, "json"));
    cr_assert_str_eq(cli_args_get(&a, "url"), "http://h:1");
    cr_assert_null(cli_args_get(&a, "token"));
}

Test(cli_args, double_dash_ends_options)
{
    char *argv[] = {"--", "--json"};
    cli_args a;
    char err[128];
    cr_assert_eq(cli_args_parse(&a, 2, argv, opts, 2, err, sizeof err), 0);
    cr_assert_eq(a.npos, 1);
    cr_assert_str_eq(a.pos[0], "--json");
    cr_assert_not(cli_args_has(&a, "json"));
}

Test(cli_args, errors_name_the_option)
{
    cli_args a;
    char err[128];
    char *unknown[] = {"--regoin", "gr"};
    cr_assert_eq(cli_args_parse(&a, 2, unknown, opts, 2, err, sizeof err), -1);
    cr_assert(strstr(err, "--regoin") != NULL, "%s", err);
    char *missing[] = {"--region"};
    cr_assert_eq(cli_args_parse(&a, 1, missing, opts, 2, err, sizeof err), -1);
    cr_assert(strstr(err, "needs a value") != NULL, "%s", err);
    char *flagval[] = {"--json=1"};
    cr_assert_eq(cli_args_parse(&a, 1, flagval, opts, 2, err, sizeof err), -1);
    cr_assert(strstr(err, "takes no value") != NULL, "%s", err);
}

Test(cli_args, negative_numbers_are_positional)
{
    char *argv[] = {"-5"};
    cli_args a;
    char err[128];
    cr_assert_eq(cli_args_parse(&a, 1, argv, opts, 2, err, sizeof err), 0);
    cr_assert_eq(a.npos, 1);
}
