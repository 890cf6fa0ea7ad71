/* test_cli_config.c: flags > environment > config file > defaults. */
#define _XOPEN_SOURCE 700 /* nftw, to remove each test's temporary HOME */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_config.h"

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/upshot-cfg-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    unsetenv("UPSHOT_URL");
    unsetenv("UPSHOT_TOKEN");
    unsetenv("UPSHOT_ACTOR");
    unsetenv("UPSHOT_TIMEOUT");
    unsetenv("UPSHOT_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", tmpdir, 1);
    setenv("USER", "tester", 1);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Each test's HOME goes away with it: the suite leaves nothing in /tmp. */
static void teardown(void)
{
    nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cli_config, .init = setup, .fini = teardown);

Test(cli_config, parse_keys_comments_quotes)
{
    cli_settings s = {0};
    char err[200];
    const char *text = "# upshot\n\n  url = http://a:1  \ntoken=\"secret token\"\nactor = ops\n"
                       "timeout = 2.5\n";
    cr_assert_eq(cli_config_parse(text, &s, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(s.url, "http://a:1");
    cr_assert_str_eq(s.token, "secret token");
    cr_assert_str_eq(s.actor, "ops");
    cr_assert_float_eq(s.timeout_s, 2.5, 1e-12);
}

Test(cli_config, parse_errors_name_the_line)
{
    cli_settings s = {0};
    char err[200];
    cr_assert_eq(cli_config_parse("url = x\nbogus = 1\n", &s, err, sizeof err), -1);
    cr_assert(strstr(err, "line 2") && strstr(err, "bogus"), "%s", err);
    cr_assert_eq(cli_config_parse("no equals sign\n", &s, err, sizeof err), -1);
    cr_assert_eq(cli_config_parse("timeout = -1\n", &s, err, sizeof err), -1);
}

Test(cli_config, token_from_env_indirection)
{
    cli_settings s = {0};
    char err[200];
    setenv("MY_UPSHOT_SECRET", "from-env-0123456789", 1);
    cr_assert_eq(cli_config_parse("token = env:MY_UPSHOT_SECRET\n", &s, err, sizeof err), 0);
    cr_assert_str_eq(s.token, "from-env-0123456789");
    unsetenv("MY_UPSHOT_SECRET");
    cr_assert_eq(cli_config_parse("token = env:MY_UPSHOT_SECRET\n", &s, err, sizeof err), -1);
}

Test(cli_config, defaults_without_anything)
{
    cli_settings s;
    char err[200];
    cr_assert_eq(cli_config_resolve(NULL, NULL, NULL, NULL, &s, NULL, err, sizeof err), 0);
    cr_assert_str_eq(s.url, CLI_CONFIG_DEFAULT_URL);
    cr_assert_str_eq(s.token, "");
    cr_assert_str_eq(s.actor, "tester");
    cr_assert_str_eq(s.url_from, "default");
}

Test(cli_config, precedence_flag_env_file)
{
    char dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/.config/upshot", tmpdir);
    snprintf(path, sizeof path, "%s/config", dir);
    char mk[200];
    snprintf(mk, sizeof mk, "%s/.config", tmpdir);
    mkdir(mk, 0700);
    mkdir(dir, 0700);
    write_file(path, "url = http://file:1/\ntoken = file-token\nactor = filer\n", 0600);

    cli_settings s;
    char err[200];
    cr_assert_eq(cli_config_resolve(NULL, NULL, NULL, NULL, &s, NULL, err, sizeof err), 0);
    cr_assert_str_eq(s.url, "http://file:1", "trailing slash dropped");
    cr_assert_str_eq(s.token, "file-token");
    cr_assert_str_eq(s.actor, "filer");

    setenv("UPSHOT_URL", "http://env:2", 1);
    setenv("UPSHOT_TOKEN", "env-token", 1);
    cr_assert_eq(cli_config_resolve(NULL, NULL, NULL, NULL, &s, NULL, err, sizeof err), 0);
    cr_assert_str_eq(s.url, "http://env:2");
    cr_assert_str_eq(s.token, "env-token");
    cr_assert_str_eq(s.token_from, "UPSHOT_TOKEN");

    cr_assert_eq(cli_config_resolve("http://flag:3", "flag-token", "me", "3", &s, NULL, err,
                                    sizeof err), 0);
    cr_assert_str_eq(s.url, "http://flag:3");
    cr_assert_str_eq(s.token, "flag-token");
    cr_assert_str_eq(s.actor, "me");
    cr_assert_float_eq(s.timeout_s, 3.0, 1e-12);
}

Test(cli_config, explicit_config_must_exist_and_warns_when_readable)
{
    char path[160];
    snprintf(path, sizeof path, "%s/nope", tmpdir);
    setenv("UPSHOT_CONFIG", path, 1);
    cli_settings s;
    char err[300];
    cr_assert_eq(cli_config_resolve(NULL, NULL, NULL, NULL, &s, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "UPSHOT_CONFIG") != NULL, "%s", err);

    snprintf(path, sizeof path, "%s/open", tmpdir);
    write_file(path, "token = t0123456789abcdef\n", 0644);
    setenv("UPSHOT_CONFIG", path, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *warn = open_memstream(&buf, &len);
    cr_assert_eq(cli_config_resolve(NULL, NULL, NULL, NULL, &s, warn, err, sizeof err), 0);
    fclose(warn);
    cr_assert(strstr(buf, "chmod 600") != NULL, "warning expected, got: %s", buf);
    free(buf);
}
