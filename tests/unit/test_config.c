/* Tests for config.h: defaults, unknown fields in every section, field
 * errors, "env:NAME" tokens through a fake getenv, data_dir resolution,
 * the experiment set (unique keys, layer overlaps) and JSON syntax errors
 * with their position. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define TOKEN "0123456789abcdef"
#define MINIMAL "\"data_dir\": \"/var/lib/upshot\", \"admin_token\": \"" TOKEN "\""
#define EXP(key, layer)                                                                    \
    "{\"key\": \"" key "\", \"placement\": \"cart_page\", " layer " \"variants\": ["       \
    "{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}"

/* The fake environment: one variable. */
static char *fake_getenv(const char *name)
{
    static char value[] = "env-token-0123456789abcdef";
    static char shorty[] = "short";
    if (strcmp(name, "UPSHOT_ADMIN_TOKEN") == 0)
        return value;
    if (strcmp(name, "SHORT_TOKEN") == 0)
        return shorty;
    return NULL;
}

/* Parses text that must be valid. */
static void parse_ok(const char *text, const char *base_dir, upshot_config *c)
{
    char err[CONFIG_ERR_MAX] = "";
    bool ok = config_parse(text, base_dir, fake_getenv, c, err);
    cr_assert(ok, "config rejected: \"%s\"\n%s", err, text);
}

/* Parses text that must fail with an error containing want, leaving the
 * output untouched. */
static void expect_error(const char *text, const char *want)
{
    upshot_config c;
    memset(&c, 0xa5, sizeof c);
    char err[CONFIG_ERR_MAX];
    memset(err, 'x', sizeof err);
    bool ok = config_parse(text, "/etc/upshot", fake_getenv, &c, err);
    cr_expect(!ok, "config accepted, expected error \"%s\":\n%s", want, text);
    if (ok) {
        config_free(&c);
        return;
    }
    cr_expect(memchr(err, '\0', sizeof err) != NULL, "error not terminated");
    cr_expect(strstr(err, want) != NULL, "error    \"%s\"\nexpected \"%s\"\nfor %s", err, want, text);
    unsigned char *p = (unsigned char *)&c;
    size_t changed = 0;
    for (size_t i = 0; i < sizeof c; i++)
        changed += p[i] != 0xa5;
    cr_expect_eq(changed, 0u, "%zu bytes of *out changed on error \"%s\"", changed, err);
}

TestSuite(config);

Test(config, defaults)
{
    upshot_config c;
    parse_ok("{" MINIMAL "}", "/etc/upshot", &c);
    cr_expect_str_eq(c.listen_host, "127.0.0.1");
    cr_expect_eq(c.listen_port, 8080);
    cr_expect_str_eq(c.redis_host, "127.0.0.1");
    cr_expect_eq(c.redis_port, 6379);
    cr_expect_str_eq(c.redis_password, "", "no password by default");
    cr_expect_eq(c.redis_db, 0);
    cr_expect_str_eq(c.data_dir, "/var/lib/upshot");
    cr_expect_str_eq(c.admin_token, TOKEN);
    cr_expect_eq(c.nsdk_keys, 0);
    cr_expect_eq(c.ncors, 0);
    cr_expect(!c.cors_any);
    cr_expect_eq(c.max_body_bytes, 262144L);
    cr_expect_eq(c.max_header_bytes, 16384L);
    cr_expect_eq(c.header_timeout_ms, 10000);
    cr_expect_eq(c.max_connections, 0L, "0: derived from the open-files limit");
    cr_expect_eq(c.max_batch_events, 1000L);
    cr_expect_float_eq(c.max_value, 1e6, 1e-9);
    cr_expect_eq(c.max_results_bytes, 16L << 20);
    cr_expect_eq(c.worker_threads, 1);
    cr_expect_eq(c.worker_queue, 16);
    cr_expect_eq(c.batch_size, 4096);
    cr_expect_eq(c.flush_ms, 20);
    cr_expect_eq(c.fsync, FSYNC_INTERVAL);
    cr_expect_eq(c.fsync_ms, 200);
    cr_expect_eq(c.seen_visitors, 1048576);
    cr_expect_float_eq(c.alpha, 0.05, 1e-15);
    cr_expect_float_eq(c.tau2, CONFIG_DEFAULT_TAU2, 1e-20);
    cr_expect_eq(c.min_sample, 1000L);
    cr_expect_eq(c.correction, CORRECTION_HOLM);
    cr_expect_eq(c.auto_promote_interval_s, 300);
    cr_expect_eq(c.nexperiments, 0);
    config_free(&c);
    config_free(&c); /* a second free of an emptied config is harmless */
}

Test(config, every_field_set)
{
    const char *text =
        "{\"listen\": {\"host\": \"0.0.0.0\", \"port\": 0},"
        " \"redis\": {\"host\": \"redis.internal\", \"port\": 6380, \"password\": \"pw\", \"db\": 3},"
        " \"data_dir\": \"/srv/upshot\", \"admin_token\": \"" TOKEN "\","
        " \"sdk_keys\": [\"pk_live_1\", \"pk_live_2\"],"
        " \"cors_origins\": [\"https://shop.example\", \"*\", \"https://m.shop.example\"],"
        " \"limits\": {\"max_body_bytes\": 1024, \"max_batch_events\": 50, \"max_value\": 5000.5,"
        "             \"max_results_bytes\": 1048576},"
        " \"worker\": {\"threads\": 3, \"queue\": 40},"
        " \"pipeline\": {\"batch_size\": 64, \"flush_ms\": 0, \"fsync\": \"always\", \"fsync_ms\": 10, \"seen_visitors\": 0},"
        " \"stats\": {\"alpha\": 0.01, \"tau2\": 0.002, \"min_sample\": 200, \"correction\": \"bh\"},"
        " \"auto_promote_interval_s\": 60,"
        " \"experiments\": [" EXP("one", "") ", " EXP("two", "") "]}";
    upshot_config c;
    parse_ok(text, NULL, &c);
    cr_expect_str_eq(c.listen_host, "0.0.0.0");
    cr_expect_eq(c.listen_port, 0);
    cr_expect_str_eq(c.redis_host, "redis.internal");
    cr_expect_eq(c.redis_port, 6380);
    cr_expect_str_eq(c.redis_password, "pw");
    cr_expect_eq(c.redis_db, 3);
    cr_expect_str_eq(c.data_dir, "/srv/upshot");
    cr_assert_eq(c.nsdk_keys, 2);
    cr_expect_str_eq(c.sdk_keys[0], "pk_live_1");
    cr_expect_str_eq(c.sdk_keys[1], "pk_live_2");
    cr_expect(c.cors_any, "\"*\" allows any origin");
    cr_assert_eq(c.ncors, 2, "\"*\" is not kept as an origin, got %d", c.ncors);
    cr_expect_str_eq(c.cors_origins[0], "https://shop.example");
    cr_expect_str_eq(c.cors_origins[1], "https://m.shop.example");
    cr_expect_eq(c.max_body_bytes, 1024L);
    cr_expect_eq(c.max_batch_events, 50L);
    cr_expect_float_eq(c.max_value, 5000.5, 1e-12);
    cr_expect_eq(c.max_results_bytes, 1048576L);
    cr_expect_eq(c.worker_threads, 3);
    cr_expect_eq(c.worker_queue, 40);
    cr_expect_eq(c.batch_size, 64);
    cr_expect_eq(c.flush_ms, 0);
    cr_expect_eq(c.fsync, FSYNC_ALWAYS);
    cr_expect_eq(c.fsync_ms, 10);
    cr_expect_eq(c.seen_visitors, 0);
    cr_expect_float_eq(c.alpha, 0.01, 1e-15);
    cr_expect_float_eq(c.tau2, 0.002, 1e-15);
    cr_expect_eq(c.min_sample, 200L);
    cr_expect_eq(c.correction, CORRECTION_BH);
    cr_expect_eq(c.auto_promote_interval_s, 60);
    cr_assert_eq(c.nexperiments, 2);
    cr_expect_str_eq(c.experiments[0]->key, "one");
    cr_expect_str_eq(c.experiments[1]->key, "two");
    config_free(&c);
    cr_expect_null(c.experiments);
    cr_expect_eq(c.nexperiments, 0);
}

Test(config, fsync_modes)
{
    const char *modes[] = {"never", "interval", "always"};
    const config_fsync want[] = {FSYNC_NEVER, FSYNC_INTERVAL, FSYNC_ALWAYS};
    for (int i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text, "{" MINIMAL ", \"pipeline\": {\"fsync\": \"%s\"}}", modes[i]);
        upshot_config c;
        parse_ok(text, NULL, &c);
        cr_expect_eq(c.fsync, want[i], "fsync \"%s\" gave %d", modes[i], c.fsync);
        config_free(&c);
    }
}

Test(config, unknown_field_in_every_section)
{
    expect_error("{" MINIMAL ", \"listne\": {}}", "unknown field \"listne\"");
    expect_error("{" MINIMAL ", \"listen\": {\"hots\": \"x\"}}", "listen: unknown field \"hots\"");
    expect_error("{" MINIMAL ", \"redis\": {\"pass\": \"x\"}}", "redis: unknown field \"pass\"");
    expect_error("{" MINIMAL ", \"limits\": {\"max_body\": 1}}", "limits: unknown field \"max_body\"");
    expect_error("{" MINIMAL ", \"pipeline\": {\"fsync_every\": 1}}",
                 "pipeline: unknown field \"fsync_every\"");
    expect_error("{" MINIMAL ", \"stats\": {\"beta\": 0.2}}", "stats: unknown field \"beta\"");
    expect_error("{" MINIMAL ", \"experiments\": [{\"key\": \"x\", \"placement\": \"p\", \"colour\": 1,"
                 " \"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}]}",
                 "experiments[0]: experiment x: unknown field \"colour\"");
    expect_error("{" MINIMAL ", \"experiments\": [{\"key\": \"x\", \"placement\": \"p\","
                 " \"variants\": [{\"key\": \"a\", \"weight\": 0.5, \"wieght\": 1}, {\"key\": \"b\", \"weight\": 0.5}]}]}",
                 "variants[0]: unknown field \"wieght\"");
    expect_error("{" MINIMAL ", \"experiments\": [" EXP("ok", "") ", {\"key\": \"y\", \"placement\": \"p\","
                 " \"stats\": {\"alhpa\": 1}, \"variants\": [{\"key\": \"a\", \"weight\": 0.5},"
                 " {\"key\": \"b\", \"weight\": 0.5}]}]}",
                 "experiments[1]: experiment y: stats: unknown field \"alhpa\"");
}

Test(config, the_shops_regions_and_their_limits)
{
    upshot_config c;
    parse_ok("{" MINIMAL ", \"regions\": [\"gr\", \"pl\", \"mena\"]}", NULL, &c);
    cr_expect_eq(c.nregions, 3);
    cr_expect_str_eq(c.regions[2], "mena");
    config_free(&c);
    parse_ok("{" MINIMAL "}", NULL, &c);
    cr_expect_eq(c.nregions, 0, "no list: the regions experiments name");
    config_free(&c);
    expect_error("{" MINIMAL ", \"regions\": \"all\"}", "regions: must be a list");
    expect_error("{" MINIMAL ", \"regions\": [\"GR\"]}", "regions[0]: must be a region key");
    expect_error("{" MINIMAL ", \"regions\": [\"gr\", 7]}", "regions[1]: must be a region key");
    expect_error("{" MINIMAL ", \"regions\": [\"gr\", \"pl\", \"gr\"]}", "regions[2]: \"gr\" is listed twice");
    /* At most CONFIG_MAX_REGIONS. */
    static char big[16384];
    size_t n = (size_t)snprintf(big, sizeof big, "{" MINIMAL ", \"regions\": [");
    for (int i = 0; i <= CONFIG_MAX_REGIONS; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"r%d\"", i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]}");
    expect_error(big, "regions: must be a list of at most 256 region keys");
}

Test(config, field_errors_name_the_field)
{
    expect_error("{\"admin_token\": \"" TOKEN "\"}", "data_dir: required");
    expect_error("{\"data_dir\": \"\", \"admin_token\": \"" TOKEN "\"}", "data_dir: required");
    expect_error("{\"data_dir\": 5, \"admin_token\": \"" TOKEN "\"}", "data_dir: must be a string");
    expect_error("{\"data_dir\": \"/d\"}", "admin_token: required, at least 16 characters");
    expect_error("{\"data_dir\": \"/d\", \"admin_token\": \"0123456789abcde\"}",
                 "admin_token: required, at least 16 characters");
    expect_error("{" MINIMAL ", \"listen\": []}", "listen: must be an object");
    expect_error("{" MINIMAL ", \"listen\": {\"port\": 65536}}", "listen.port: must be an integer between 0 and 65535");
    expect_error("{" MINIMAL ", \"listen\": {\"port\": \"80\"}}", "listen.port: must be an integer");
    expect_error("{" MINIMAL ", \"listen\": {\"host\": 1}}", "listen.host: must be a string");
    expect_error("{" MINIMAL ", \"redis\": {\"port\": 0}}", "redis.port: must be an integer between 1 and 65535");
    expect_error("{" MINIMAL ", \"redis\": {\"db\": -1}}", "redis.db: must be an integer");
    expect_error("{" MINIMAL ", \"limits\": {\"max_body_bytes\": 10}}", "limits.max_body_bytes: must be an integer");
    expect_error("{" MINIMAL ", \"limits\": {\"max_batch_events\": 0}}", "limits.max_batch_events");
    expect_error("{" MINIMAL ", \"limits\": {\"max_header_bytes\": 100}}", "limits.max_header_bytes: must be an integer");
    expect_error("{" MINIMAL ", \"limits\": {\"header_timeout_ms\": 0}}", "limits.header_timeout_ms: must be an integer");
    expect_error("{" MINIMAL ", \"limits\": {\"max_connections\": -1}}", "limits.max_connections: must be an integer");
    expect_error("{" MINIMAL ", \"limits\": {\"max_value\": 0}}", "limits.max_value: must be a number");
    expect_error("{" MINIMAL ", \"limits\": {\"max_results_bytes\": 1000}}", "limits.max_results_bytes");
    expect_error("{" MINIMAL ", \"worker\": {\"threads\": 0}}", "worker.threads");
    expect_error("{" MINIMAL ", \"worker\": {\"threads\": 17}}", "worker.threads");
    expect_error("{" MINIMAL ", \"worker\": {\"queue\": 0}}", "worker.queue");
    expect_error("{" MINIMAL ", \"worker\": {\"thread\": 2}}", "worker: unknown field \"thread\"");
    expect_error("{" MINIMAL ", \"pipeline\": {\"batch_size\": 0}}", "pipeline.batch_size");
    expect_error("{" MINIMAL ", \"pipeline\": {\"flush_ms\": 1001}}", "pipeline.flush_ms");
    expect_error("{" MINIMAL ", \"pipeline\": {\"fsync\": \"sometimes\"}}",
                 "pipeline.fsync: must be never, interval or always");
    expect_error("{" MINIMAL ", \"pipeline\": {\"fsync_ms\": 0}}", "pipeline.fsync_ms");
    expect_error("{" MINIMAL ", \"pipeline\": {\"seen_visitors\": -1}}", "pipeline.seen_visitors");
    expect_error("{" MINIMAL ", \"stats\": {\"alpha\": 0.6}}", "stats.alpha: must be a number between");
    expect_error("{" MINIMAL ", \"stats\": {\"tau2\": 0}}", "stats.tau2");
    expect_error("{" MINIMAL ", \"stats\": {\"min_sample\": 1.5}}", "stats.min_sample: must be an integer");
    expect_error("{" MINIMAL ", \"stats\": {\"correction\": \"bonferroni\"}}", "stats.correction: must be holm or bh");
    expect_error("{" MINIMAL ", \"sdk_keys\": \"pk\"}", "sdk_keys: must be a list");
    expect_error("{" MINIMAL ", \"sdk_keys\": [\"pk\", \"\"]}", "sdk_keys[1]: must be a non-empty string");
    expect_error("{" MINIMAL ", \"cors_origins\": [3]}", "cors_origins[0]: must be a non-empty string");
    expect_error("{" MINIMAL ", \"experiments\": {}}", "experiments: must be a list");
    expect_error("[]", "must be a JSON object");
}

Test(config, top_level_field_error_has_no_stray_dot)
{
    /* auto_promote_interval_s sits at the top level: its message must
     * start with the field name, not ".auto_promote_interval_s". */
    upshot_config c;
    char err[CONFIG_ERR_MAX] = "";
    cr_assert(!config_parse("{" MINIMAL ", \"auto_promote_interval_s\": 0}", NULL, fake_getenv, &c, err));
    cr_expect(strncmp(err, "auto_promote_interval_s: must be an integer between 1 and 86400",
                      strlen("auto_promote_interval_s: must be an integer between 1 and 86400")) == 0,
              "error \"%s\"", err);
}

Test(config, sdk_key_length_limit)
{
    char key[200], text[512];
    memset(key, 'k', 128);
    key[128] = '\0';
    snprintf(text, sizeof text, "{" MINIMAL ", \"sdk_keys\": [\"%s\"]}", key);
    upshot_config c;
    parse_ok(text, NULL, &c);
    cr_expect_str_eq(c.sdk_keys[0], key);
    config_free(&c);
    key[128] = 'k';
    key[129] = '\0';
    snprintf(text, sizeof text, "{" MINIMAL ", \"sdk_keys\": [\"%s\"]}", key);
    expect_error(text, "sdk_keys[0]: must be a non-empty string of at most 128 characters");
}

Test(config, env_token)
{
    upshot_config c;
    parse_ok("{\"data_dir\": \"/d\", \"admin_token\": \"env:UPSHOT_ADMIN_TOKEN\"}", NULL, &c);
    cr_expect_str_eq(c.admin_token, "env-token-0123456789abcdef", "token \"%s\"", c.admin_token);
    config_free(&c);

    expect_error("{\"data_dir\": \"/d\", \"admin_token\": \"env:NOT_SET_ANYWHERE\"}",
                 "admin_token: environment variable NOT_SET_ANYWHERE is not set");
    /* The value read from the environment obeys the length rule too. */
    expect_error("{\"data_dir\": \"/d\", \"admin_token\": \"env:SHORT_TOKEN\"}",
                 "admin_token: required, at least 16 characters");

    /* No getenv callback: an env: token cannot be resolved. */
    char err[CONFIG_ERR_MAX] = "";
    cr_expect(!config_parse("{\"data_dir\": \"/d\", \"admin_token\": \"env:UPSHOT_ADMIN_TOKEN\"}", NULL,
                            NULL, &c, err));
    cr_expect(strstr(err, "UPSHOT_ADMIN_TOKEN is not set") != NULL, "error \"%s\"", err);
}

Test(config, data_dir_resolution)
{
    upshot_config c;
    parse_ok("{\"data_dir\": \"data\", \"admin_token\": \"" TOKEN "\"}", "/etc/upshot", &c);
    cr_expect_str_eq(c.data_dir, "/etc/upshot/data", "relative to the config file's directory");
    config_free(&c);

    parse_ok("{\"data_dir\": \"../var/upshot\", \"admin_token\": \"" TOKEN "\"}", "/etc/upshot", &c);
    cr_expect_str_eq(c.data_dir, "/etc/upshot/../var/upshot");
    config_free(&c);

    parse_ok("{\"data_dir\": \"/var/lib/upshot\", \"admin_token\": \"" TOKEN "\"}", "/etc/upshot", &c);
    cr_expect_str_eq(c.data_dir, "/var/lib/upshot", "an absolute path is kept");
    config_free(&c);

    /* No base directory (or an empty one): left relative to the cwd. */
    parse_ok("{\"data_dir\": \"data\", \"admin_token\": \"" TOKEN "\"}", NULL, &c);
    cr_expect_str_eq(c.data_dir, "data");
    config_free(&c);
    parse_ok("{\"data_dir\": \"data\", \"admin_token\": \"" TOKEN "\"}", "", &c);
    cr_expect_str_eq(c.data_dir, "data");
    config_free(&c);

    /* The config file in the cwd: base "." */
    parse_ok("{\"data_dir\": \"data\", \"admin_token\": \"" TOKEN "\"}", ".", &c);
    cr_expect_str_eq(c.data_dir, "./data");
    config_free(&c);
}

Test(config, experiments_parsed_with_fingerprints)
{
    const char *text = "{" MINIMAL ", \"experiments\": [" EXP("one", "") ", " EXP("two", "") "]}";
    upshot_config c;
    parse_ok(text, NULL, &c);
    cr_assert_eq(c.nexperiments, 2);
    cr_assert_not_null(c.fingerprints);

    json_t *root = json_loads(text, 0, NULL);
    cr_assert_not_null(root);
    for (int i = 0; i < 2; i++) {
        uint32_t want = experiment_fingerprint(json_array_get(json_object_get(root, "experiments"), (size_t)i));
        cr_expect_eq(c.fingerprints[i], want, "fingerprint %d = %08x, expected %08x", i, c.fingerprints[i], want);
        cr_expect_eq(c.experiments[i]->refs, 1);
    }
    cr_expect_neq(c.fingerprints[0], c.fingerprints[1]);
    json_decref(root);
    config_free(&c);
}

Test(config, experiment_errors_carry_the_index)
{
    expect_error("{" MINIMAL ", \"experiments\": [" EXP("one", "") ", {\"key\": \"checkout-tiers\","
                 " \"placement\": \"checkout_popup\", \"variants\": [{\"key\": \"a\", \"weight\": 0.5},"
                 " {\"key\": \"b\", \"weight\": 0.8}]}]}",
                 "experiments[1]: experiment checkout-tiers: variant weights sum to 1.3");
}

Test(config, duplicate_experiment_keys)
{
    expect_error("{" MINIMAL ", \"experiments\": [" EXP("same", "") ", " EXP("other", "") ", " EXP("same", "") "]}",
                 "experiment same: key is used twice");
}

Test(config, duplicate_json_object_keys)
{
    /* A key written twice is an error, not "the last one wins". */
    expect_error("{" MINIMAL ",\n \"listen\": {\"port\": 1},\n \"listen\": {\"port\": 2}}", "duplicate object key");
    expect_error("{" MINIMAL ", \"admin_token\": \"" TOKEN "\"}", "invalid JSON at line 1");
}

Test(config, layer_overlap_rejected)
{
    expect_error("{" MINIMAL ", \"experiments\": ["
                 EXP("left", "\"layer\": {\"name\": \"checkout\", \"range\": [0, 5000]},") ", "
                 EXP("right", "\"layer\": {\"name\": \"checkout\", \"range\": [4999, 10000]},") "]}",
                 "experiment right: layer checkout range [4999, 10000) overlaps experiment left [0, 5000)");
    /* A layer without a range owns all of it: it overlaps anything. */
    expect_error("{" MINIMAL ", \"experiments\": ["
                 EXP("small", "\"layer\": {\"name\": \"checkout\", \"range\": [9000, 9001]},") ", "
                 EXP("whole", "\"layer\": {\"name\": \"checkout\"},") "]}",
                 "experiment whole: layer checkout range [0, 10000) overlaps experiment small [9000, 9001)");
    /* Containment, with an unrelated experiment in between. */
    expect_error("{" MINIMAL ", \"experiments\": ["
                 EXP("outer", "\"layer\": {\"name\": \"l\", \"range\": [1000, 9000]},") ", "
                 EXP("free", "") ", "
                 EXP("inner", "\"layer\": {\"name\": \"l\", \"range\": [2000, 3000]},") "]}",
                 "experiment inner: layer l range [2000, 3000) overlaps experiment outer");
}

Test(config, adjacent_and_separate_layers_accepted)
{
    upshot_config c;
    parse_ok("{" MINIMAL ", \"experiments\": ["
             EXP("left", "\"layer\": {\"name\": \"checkout\", \"range\": [0, 5000]},") ", "
             EXP("right", "\"layer\": {\"name\": \"checkout\", \"range\": [5000, 10000]},") ", "
             EXP("other", "\"layer\": {\"name\": \"cart\", \"range\": [0, 10000]},") ", "
             EXP("free", "") "]}",
             NULL, &c);
    cr_expect_eq(c.nexperiments, 4);
    config_free(&c);
}

static experiment *exp_in_layer(const char *key, const char *layer, int from, int to)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"key\": \"%s\", \"placement\": \"p\", \"layer\": {\"name\": \"%s\", \"range\": [%d, %d]},"
             " \"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}",
             key, layer, from, to);
    json_t *def = json_loads(text, 0, NULL);
    cr_assert_not_null(def);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    return e;
}

Test(config, check_experiment_set_skips_nulls)
{
    experiment *list[4] = {
        exp_in_layer("a", "l", 0, 5000), NULL, exp_in_layer("b", "l", 5000, 10000), NULL,
    };
    char err[CONFIG_ERR_MAX] = "";
    cr_expect(config_check_experiment_set(list, 4, err), "rejected: %s", err);
    cr_expect(config_check_experiment_set(list, 0, err), "an empty set is fine");

    /* Replacing b by an overlapping c is refused; c vs a decides. */
    experiment *c = exp_in_layer("c", "l", 4000, 6000);
    experiment *list2[3] = {list[0], NULL, c};
    cr_expect(!config_check_experiment_set(list2, 3, err));
    cr_expect(strstr(err, "experiment c: layer l range [4000, 6000) overlaps experiment a [0, 5000)") != NULL,
              "error \"%s\"", err);

    /* Same key twice is refused even without layers. */
    experiment *list3[2] = {list[0], list[0]};
    cr_expect(!config_check_experiment_set(list3, 2, err));
    cr_expect(strstr(err, "experiment a: key is used twice") != NULL, "error \"%s\"", err);

    experiment_release(list[0]);
    experiment_release(list[2]);
    experiment_release(c);
}

Test(config, invalid_json_reports_line_and_column)
{
    const char *text = "{\n  \"data_dir\": \"/d\",\n  \"admin_token\": \"" TOKEN "\"\n  \"listen\": {}\n}\n";
    upshot_config c;
    char err[CONFIG_ERR_MAX] = "";
    cr_assert(!config_parse(text, NULL, fake_getenv, &c, err));
    /* The missing comma is noticed at the start of line 4 ("listen"). */
    cr_expect(strstr(err, "invalid JSON at line 4 column ") != NULL, "error \"%s\"", err);
    int line = 0, col = 0;
    const char *at = strstr(err, "line ");
    cr_assert_not_null(at, "no position in \"%s\"", err);
    cr_assert_eq(sscanf(at, "line %d column %d", &line, &col), 2, "cannot read the position in \"%s\"", err);
    cr_expect_eq(line, 4);
    cr_expect(col >= 3 && col <= 10, "column %d does not point at \"listen\" on line 4", col);

    cr_assert(!config_parse("", NULL, fake_getenv, &c, err));
    cr_expect(strstr(err, "invalid JSON at line") != NULL, "error \"%s\"", err);
    cr_assert(!config_parse("{\"data_dir\": \"/d\",", NULL, fake_getenv, &c, err));
    cr_expect(strstr(err, "invalid JSON at line 1") != NULL, "error \"%s\"", err);
}

Test(config, redis_cluster_nodes_and_wait)
{
    upshot_config c;
    parse_ok("{" MINIMAL "}", NULL, &c);
    cr_expect_eq(c.nredis_nodes, 0, "one Redis by default");
    cr_expect_eq(c.redis_wait_replicas, 0, "no WAIT by default");
    cr_expect_eq(c.redis_wait_timeout_ms, 1000);
    config_free(&c);

    parse_ok("{" MINIMAL ", \"redis\": {\"nodes\": [\"10.0.0.1:7000\", \"redis-b.internal:7001\","
             " \"[::1]:7002\"], \"password\": \"pw\", \"wait_replicas\": 1,"
             " \"wait_timeout_ms\": 250}}", NULL, &c);
    cr_assert_eq(c.nredis_nodes, 3);
    cr_expect_str_eq(c.redis_nodes[0].host, "10.0.0.1");
    cr_expect_eq(c.redis_nodes[0].port, 7000);
    cr_expect_str_eq(c.redis_nodes[1].host, "redis-b.internal");
    cr_expect_eq(c.redis_nodes[1].port, 7001);
    cr_expect_str_eq(c.redis_nodes[2].host, "::1", "brackets are not part of the host");
    cr_expect_eq(c.redis_nodes[2].port, 7002);
    cr_expect_str_eq(c.redis_password, "pw");
    cr_expect_eq(c.redis_wait_replicas, 1);
    cr_expect_eq(c.redis_wait_timeout_ms, 250);
    config_free(&c);

    /* An empty list is one Redis, as if it were absent. */
    parse_ok("{" MINIMAL ", \"redis\": {\"nodes\": [], \"port\": 6390}}", NULL, &c);
    cr_expect_eq(c.nredis_nodes, 0);
    cr_expect_eq(c.redis_port, 6390);
    config_free(&c);

    /* The most seeds the list takes. */
    char text[8192];
    int n = snprintf(text, sizeof text, "{" MINIMAL ", \"redis\": {\"nodes\": [");
    for (int i = 0; i < CONFIG_MAX_LIST; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s\"127.0.0.1:%d\"", i ? ", " : "",
                      7000 + i);
    snprintf(text + n, sizeof text - (size_t)n, "]}}");
    parse_ok(text, NULL, &c);
    cr_expect_eq(c.nredis_nodes, CONFIG_MAX_LIST);
    cr_expect_eq(c.redis_nodes[CONFIG_MAX_LIST - 1].port, 7000 + CONFIG_MAX_LIST - 1);
    config_free(&c);
    /* One more is refused. */
    snprintf(text + n - 0, sizeof text - (size_t)n, ", \"127.0.0.1:1\"]}}");
    expect_error(text, "redis.nodes: must be a list of at most 64");
}

Test(config, redis_cluster_errors)
{
    expect_error("{" MINIMAL ", \"redis\": {\"nodes\": [\"127.0.0.1:7000\"], \"host\": \"r\"}}",
                 "redis.nodes: give either redis.nodes (a cluster) or redis.host and redis.port");
    expect_error("{" MINIMAL ", \"redis\": {\"nodes\": [\"127.0.0.1:7000\"], \"port\": 7000}}",
                 "not both");
    expect_error("{" MINIMAL ", \"redis\": {\"nodes\": [\"127.0.0.1:7000\"], \"db\": 2}}",
                 "redis.db: must be 0 with redis.nodes");
    expect_error("{" MINIMAL ", \"redis\": {\"nodes\": \"127.0.0.1:7000\"}}",
                 "redis.nodes: must be a list");
    const char *bad[] = {"127.0.0.1", "127.0.0.1:", ":7000", "127.0.0.1:0", "127.0.0.1:65536",
                         "127.0.0.1:70x", "127.0.0.1:-1", "[::1:7000", "[]:7000",
                         "127.0.0.1:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{" MINIMAL ", \"redis\": {\"nodes\": [\"10.0.0.1:7000\", \"%s\"]}}",
                 bad[i]);
        expect_error(text, "redis.nodes[1]: must be \"host:port\" with a port between 1 and 65535");
    }
    expect_error("{" MINIMAL ", \"redis\": {\"nodes\": [1]}}", "redis.nodes[0]: must be \"host:port\"");
    expect_error("{" MINIMAL ", \"redis\": {\"nodes\": [\"a:1\", \"b:2\", \"a:1\"]}}",
                 "redis.nodes[2]: \"a:1\" is listed twice");
    expect_error("{" MINIMAL ", \"redis\": {\"wait_replicas\": -1}}",
                 "redis.wait_replicas: must be an integer between 0 and 16");
    expect_error("{" MINIMAL ", \"redis\": {\"wait_replicas\": 17}}", "redis.wait_replicas");
    expect_error("{" MINIMAL ", \"redis\": {\"wait_timeout_ms\": 0}}",
                 "redis.wait_timeout_ms: must be an integer between 10 and 2000");
    expect_error("{" MINIMAL ", \"redis\": {\"wait_timeout_ms\": 2001}}", "redis.wait_timeout_ms");
}

Test(config, the_shared_state_poll_and_its_bounds)
{
    upshot_config c;
    parse_ok("{" MINIMAL "}", NULL, &c);
    cr_expect_eq(c.state_poll_ms, 250);
    cr_expect_eq(c.redis_wait_replicas, 0);
    cr_expect_eq(c.redis_wait_timeout_ms, 1000);
    config_free(&c);
    parse_ok("{" MINIMAL ", \"state\": {\"poll_ms\": 50}, \"redis\": {\"wait_replicas\": 1,"
             " \"wait_timeout_ms\": 300}}", NULL, &c);
    cr_expect_eq(c.state_poll_ms, 50);
    cr_expect_eq(c.redis_wait_replicas, 1);
    cr_expect_eq(c.redis_wait_timeout_ms, 300);
    config_free(&c);
    expect_error("{" MINIMAL ", \"state\": {\"poll_ms\": 5}}",
                 "state.poll_ms: must be an integer between 10 and 60000");
    expect_error("{" MINIMAL ", \"state\": {\"pol_ms\": 50}}", "state: unknown field \"pol_ms\"");
    expect_error("{" MINIMAL ", \"state\": 3}", "state");
}

#define HEX_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

Test(config, the_older_admin_token_is_a_write_token_named_admin)
{
    upshot_config c;
    parse_ok("{" MINIMAL "}", NULL, &c);
    cr_assert_eq(c.admin_tokens.n, 1);
    cr_expect_str_eq(c.admin_tokens.e[0].name, "admin");
    cr_expect_eq(c.admin_tokens.e[0].role, TOKEN_ROLE_WRITE);
    cr_expect(token_table_find(&c.admin_tokens, TOKEN, strlen(TOKEN)));
    config_free(&c);
}

Test(config, named_admin_tokens_alone_or_beside_the_older_one)
{
    upshot_config c;
    parse_ok("{\"data_dir\": \"/d\", \"admin_tokens\": [{\"name\": \"growth-bot\", \"role\": \"read\","
             " \"sha256\": \"" HEX_A "\"}]}", NULL, &c);
    cr_assert_eq(c.admin_tokens.n, 1);
    cr_expect_str_eq(c.admin_tokens.e[0].name, "growth-bot");
    cr_expect_eq(c.admin_tokens.e[0].role, TOKEN_ROLE_READ);
    cr_expect_str_eq(c.admin_token, "");
    config_free(&c);

    parse_ok("{" MINIMAL ", \"admin_tokens\": [{\"name\": \"growth-bot\", \"role\": \"read\","
             " \"sha256\": \"" HEX_A "\"}]}", NULL, &c);
    cr_assert_eq(c.admin_tokens.n, 2);
    cr_expect_str_eq(c.admin_tokens.e[0].name, "admin");
    cr_expect_str_eq(c.admin_tokens.e[1].name, "growth-bot");
    config_free(&c);

    /* "admin" is taken by the older token when both are given. */
    expect_error("{" MINIMAL ", \"admin_tokens\": [{\"name\": \"admin\", \"role\": \"read\","
                 " \"sha256\": \"" HEX_A "\"}]}",
                 "admin_tokens[0].name: \"admin\" is used by two tokens");
    expect_error("{\"data_dir\": \"/d\", \"admin_tokens\": []}", "admin_tokens: at least one token");
    expect_error("{\"data_dir\": \"/d\", \"admin_tokens\": [{\"name\": \"x\", \"role\": \"owner\","
                 " \"sha256\": \"" HEX_A "\"}]}", "admin_tokens[0].role: must be read or write");
}

Test(config, tls_cert_and_key)
{
    upshot_config c;
    parse_ok("{" MINIMAL "}", NULL, &c);
    cr_expect_str_eq(c.tls_cert, "", "plain HTTP by default");
    config_free(&c);
    parse_ok("{" MINIMAL ", \"tls\": {\"cert\": \"/etc/upshot/cert.pem\", \"key\": \"key.pem\"}}",
             "/etc/upshot", &c);
    cr_expect_str_eq(c.tls_cert, "/etc/upshot/cert.pem");
    cr_expect_str_eq(c.tls_key, "/etc/upshot/key.pem", "relative to the config file's folder");
    config_free(&c);
    expect_error("{" MINIMAL ", \"tls\": {\"cert\": \"c.pem\"}}", "tls: needs both cert and key");
    expect_error("{" MINIMAL ", \"tls\": {\"cert\": \"c.pem\", \"key\": \"k.pem\", \"ca\": \"x\"}}",
                 "tls: unknown field \"ca\"");
    expect_error("{" MINIMAL ", \"tls\": \"on\"}", "tls: must be an object");
}
