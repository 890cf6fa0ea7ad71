/* Tests for registry.h, each with its own data directory under /tmp:
 * revisions of prepared changes, the config file as a seed (what
 * registry_plan_config selects with and without shared fingerprints),
 * installs (partial and complete, the version bump, the cached copy read
 * back by registry_new), and a corrupt cached copy refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

#define TOKEN "0123456789abcdef0123"
#define EXP(key, pct)                                                                      \
    "{\"key\": \"" key "\", \"placement\": \"cart_page\", \"traffic_percent\": " pct ", "  \
    "\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}"

static char g_dir[64];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/upshot-registry-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
}

static void remove_dir(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/state.json", g_dir);
    unlink(p);
    rmdir(g_dir);
}

TestSuite(registry, .init = make_dir, .fini = remove_dir);

static void parse_config(const char *experiments, upshot_config *c)
{
    char text[2048], err[CONFIG_ERR_MAX];
    snprintf(text, sizeof text,
             "{\"data_dir\": \"%s\", \"admin_token\": \"" TOKEN "\", \"experiments\": [%s]}",
             g_dir, experiments);
    cr_assert(config_parse(text, NULL, getenv, c, err), "%s", err);
}

static experiment *prepared(registry *r, const char *def_text, registry_mode mode)
{
    json_t *def = json_loads(def_text, 0, NULL);
    cr_assert_not_null(def);
    experiment *e = NULL;
    char err[REGISTRY_ERR_MAX];
    cr_assert_eq(registry_prepare(r, def, EXP_FROM_USER, mode, "api", &e, err), REGISTRY_OK, "%s", err);
    json_decref(def);
    return e;
}

Test(registry, a_prepared_change_is_one_revision_on_and_not_installed)
{
    char err[REGISTRY_ERR_MAX];
    registry *r = registry_new(g_dir, err);
    cr_assert_not_null(r, "%s", err);
    experiment *one = prepared(r, EXP("one", "100"), REG_CREATE);
    cr_assert_eq(one->revision, 1);
    cr_assert_null(registry_get(r, "one"));
    cr_assert_eq(registry_version(r), 0);
    cr_assert_eq(registry_install(r, &one, 1, false, NULL), 0);
    cr_assert_eq(registry_get(r, "one"), one);
    cr_assert_eq(registry_version(r), 1);
    experiment *two = prepared(r, EXP("one", "40"), REG_UPDATE);
    cr_assert_eq(two->revision, 2);
    /* A revision a client sends is read-only: it is not taken. */
    experiment *three = prepared(r, "{\"key\": \"one\", \"placement\": \"cart_page\", \"revision\": 99, "
                                    "\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, "
                                    "{\"key\": \"b\", \"weight\": 0.5}]}",
                                 REG_UPDATE);
    cr_assert_eq(three->revision, 2);
    json_t *def = json_loads(EXP("one", "100"), 0, NULL);
    experiment *dup = NULL;
    cr_assert_eq(registry_prepare(r, def, EXP_FROM_USER, REG_CREATE, "api", &dup, err), REGISTRY_EXISTS);
    cr_assert_null(dup);
    json_decref(def);
    experiment_release(one);
    experiment_release(two);
    experiment_release(three);
    registry_free(r);
}

Test(registry, the_file_is_planned_only_where_it_changed_since_its_import)
{
    char err[REGISTRY_ERR_MAX];
    registry *r = registry_new(g_dir, err);
    upshot_config c;
    parse_config(EXP("one", "100") ", " EXP("two", "100"), &c);
    experiment **plan;
    uint32_t *fps;
    size_t n;
    /* Nothing live, no shared state: everything. */
    cr_assert_eq(registry_plan_config(r, &c, NULL, &plan, &fps, &n, err), REGISTRY_OK, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_eq(fps[0], c.fingerprints[0]);
    cr_assert_eq(registry_install(r, plan, n, true, NULL), 0);
    registry_plan_free(plan, fps, n);

    /* Live, no shared state: nothing (what is live stays). */
    cr_assert_eq(registry_plan_config(r, &c, NULL, &plan, &fps, &n, err), REGISTRY_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(plan);

    /* Shared seeds equal to the file: nothing; one differs: that one. */
    json_t *seeds = json_pack("{s:I, s:I}", "one", (json_int_t)c.fingerprints[0], "two",
                              (json_int_t)c.fingerprints[1]);
    cr_assert_eq(registry_plan_config(r, &c, seeds, &plan, &fps, &n, err), REGISTRY_OK);
    cr_assert_eq(n, 0);
    json_object_set_new(seeds, "two", json_integer(1));
    cr_assert_eq(registry_plan_config(r, &c, seeds, &plan, &fps, &n, err), REGISTRY_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(plan[0]->key, "two");
    cr_assert_eq(plan[0]->revision, registry_get(r, "two")->revision + 1);
    registry_plan_free(plan, fps, n);
    /* A live experiment without a seed (made by hand, same key) is replaced. */
    json_object_del(seeds, "one");
    json_object_set_new(seeds, "two", json_integer((json_int_t)c.fingerprints[1]));
    cr_assert_eq(registry_plan_config(r, &c, seeds, &plan, &fps, &n, err), REGISTRY_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(plan[0]->key, "one");
    registry_plan_free(plan, fps, n);
    json_decref(seeds);
    config_free(&c);
    registry_free(r);
}

Test(registry, a_complete_install_is_the_whole_set_and_is_cached_on_disk)
{
    char err[REGISTRY_ERR_MAX];
    registry *r = registry_new(g_dir, err);
    experiment *one = prepared(r, EXP("one", "100"), REG_CREATE);
    experiment *two = prepared(r, EXP("two", "100"), REG_CREATE);
    experiment *both[2] = {one, two};
    cr_assert_eq(registry_install(r, both, 2, false, NULL), 0);
    cr_assert_eq(registry_count(r), 2);
    uint64_t v = registry_version(r);
    /* The same set again changes nothing: no version bump. */
    cr_assert_eq(registry_install(r, both, 2, true, NULL), 0);
    cr_assert_eq(registry_version(r), v);
    /* A complete install without "one" drops it; the seeds go with it. */
    json_t *seeds = json_pack("{s:i}", "two", 7);
    cr_assert_eq(registry_install(r, &two, 1, true, seeds), 0);
    cr_assert_eq(registry_version(r), v + 1);
    cr_assert_null(registry_get(r, "one"));
    registry *again = registry_new(g_dir, err);
    cr_assert_not_null(again, "%s", err);
    cr_assert_eq(registry_count(again), 1);
    cr_assert_eq(registry_get(again, "two")->revision, 1);
    cr_assert(json_equal(registry_seeds(again), seeds));
    json_decref(seeds);
    experiment_release(one);
    experiment_release(two);
    registry_free(again);
    registry_free(r);
}

Test(registry, a_corrupt_cached_copy_is_refused_with_its_reason)
{
    char p[128], err[REGISTRY_ERR_MAX] = "";
    snprintf(p, sizeof p, "%s/state.json", g_dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("{\"experiments\": [", f);
    fclose(f);
    cr_assert_null(registry_new(g_dir, err));
    cr_assert(strstr(err, "state.json") != NULL, "%s", err);
}
