/* registry.c: the live experiment snapshot and its cached copy (see registry.h). */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct registry {
    char path[1100];      /* data_dir/state.json */
    char dir[1024];
    experiment **list;    /* sorted by key */
    size_t n, cap;
    uint64_t version;     /* registry_version */
    json_t *fingerprints; /* the shared seeds, {key: fingerprint of the file definition
                             last imported}, as last installed */
};

__attribute__((format(printf, 2, 3)))
static int rfail(char err[REGISTRY_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, REGISTRY_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

void registry_now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Binary search of a list sorted by key: the index of key, or where it
 * would go. */
static size_t find_slot_in(experiment *const *list, size_t n, const char *key, int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(list[mid]->key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

experiment *registry_get(const registry *r, const char *key)
{
    int found;
    size_t i = find_slot_in(r->list, r->n, key, &found);
    return found ? r->list[i] : NULL;
}

size_t registry_count(const registry *r) { return r->n; }
experiment *registry_at(const registry *r, size_t i) { return i < r->n ? r->list[i] : NULL; }
uint64_t registry_version(const registry *r) { return r->version; }

/* Inserts or replaces e in a sorted list (grown as needed); takes
 * ownership of e, and releases the experiment it replaces. */
static int list_put(experiment ***list, size_t *n, size_t *cap, experiment *e)
{
    int found;
    size_t i = find_slot_in(*list, *n, e->key, &found);
    if (found) {
        experiment_release((*list)[i]);
        (*list)[i] = e;
        return 0;
    }
    if (*n == *cap) {
        size_t grown = *cap ? *cap * 2 : 64;
        experiment **l = realloc(*list, grown * sizeof *l);
        if (!l)
            return -1;
        *list = l;
        *cap = grown;
    }
    memmove(*list + i + 1, *list + i, (*n - i) * sizeof **list);
    (*list)[i] = e;
    (*n)++;
    return 0;
}

/* Writes state.json: temporary file, fsync, rename, fsync of the directory,
 * so a crash leaves either the old or the new state, never half of one. */
static int save(const registry *r, char err[REGISTRY_ERR_MAX])
{
    json_t *root = json_object();
    json_t *exps = json_array();
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "experiments", exps);
    json_object_set(root, "file_fingerprints", r->fingerprints);
    for (size_t i = 0; i < r->n; i++)
        json_array_append(exps, r->list[i]->def);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", r->path);
    int rc = -1;
    FILE *f = fopen(tmp, "w");
    if (f && json_dumpf(root, f, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) == 0 &&
        fflush(f) == 0 && fsync(fileno(f)) == 0) {
        if (fclose(f) == 0 && rename(tmp, r->path) == 0) {
            int dfd = open(r->dir, O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            rc = 0;
        }
        f = NULL;
    }
    if (f)
        fclose(f);
    if (rc != 0)
        rfail(err, "cannot write %s: %s", r->path, strerror(errno));
    json_decref(root);
    return rc;
}

registry *registry_new(const char *data_dir, char err[REGISTRY_ERR_MAX])
{
    registry *r = calloc(1, sizeof *r);
    if (!r) {
        rfail(err, "out of memory");
        return NULL;
    }
    snprintf(r->dir, sizeof r->dir, "%s", data_dir);
    snprintf(r->path, sizeof r->path, "%s/state.json", data_dir);
    r->fingerprints = json_object();

    json_error_t jerr;
    json_t *root = json_load_file(r->path, 0, &jerr);
    if (!root) {
        if (access(r->path, F_OK) == 0) {
            rfail(err, "%s: %s (line %d)", r->path, jerr.text, jerr.line);
            registry_free(r);
            return NULL;
        }
        return r; /* first start */
    }
    json_t *fp = json_object_get(root, "file_fingerprints");
    if (json_is_object(fp))
        json_object_update(r->fingerprints, fp);
    size_t i;
    json_t *def;
    json_array_foreach(json_object_get(root, "experiments"), i, def) {
        char eerr[EXP_ERR_MAX];
        experiment *e = experiment_parse(def, EXP_FROM_STATE, eerr);
        if (!e || list_put(&r->list, &r->n, &r->cap, e) != 0) {
            rfail(err, "%s: %s", r->path, e ? "out of memory" : eerr);
            experiment_release(e);
            json_decref(root);
            registry_free(r);
            return NULL;
        }
    }
    json_decref(root);
    return r;
}

void registry_free(registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        experiment_release(r->list[i]);
    free(r->list);
    json_decref(r->fingerprints);
    free(r);
}

static const char *const carried_fields[] = {
    "created_at", "started_at", "stopped_at", "allocation_version", "promotions",
    "capping_learned", "breaker_trips", "breaker_resets", "bandit_state", NULL,
};

/* Builds the experiment that would replace `prev` (NULL when new) from def,
 * with read-only fields filled. Does not install it. */
static experiment *prepare(const experiment *prev, json_t *def, exp_source src,
                           const char *origin, char err[REGISTRY_ERR_MAX],
                           registry_status *status)
{
    char eerr[EXP_ERR_MAX], now[32];
    registry_now_rfc3339(now);
    /* A first parse validates what the user wrote, before anything is added. */
    experiment *probe = experiment_parse(def, src, eerr);
    if (!probe) {
        *status = REGISTRY_INVALID;
        rfail(err, "%s", eerr);
        return NULL;
    }
    json_t *d = json_deep_copy(probe->def);
    experiment_release(probe);
    if (!d) {
        *status = REGISTRY_NO_MEMORY;
        rfail(err, "out of memory");
        return NULL;
    }
    if (src == EXP_FROM_USER && prev)
        for (const char *const *f = carried_fields; *f; f++) {
            json_t *v = json_object_get(prev->def, *f);
            if (v)
                json_object_set(d, *f, v);
        }
    if (!json_object_get(d, "created_at"))
        json_object_set_new(d, "created_at", json_string(now));
    json_object_set_new(d, "updated_at", json_string(now));
    json_object_set_new(d, "origin", json_string(origin));
    json_object_set_new(d, "revision", json_integer(prev ? (json_int_t)prev->revision + 1 : 1));
    const char *status_s = json_string_value(json_object_get(d, "status"));
    const char *prev_status = prev ? experiment_status_name(prev->status) : "draft";
    if (status_s && strcmp(status_s, "running") == 0 && !json_object_get(d, "started_at"))
        json_object_set_new(d, "started_at", json_string(now));
    if (status_s && strcmp(status_s, "stopped") == 0 && strcmp(prev_status, "stopped") != 0)
        json_object_set_new(d, "stopped_at", json_string(now));
    if (status_s && strcmp(status_s, "running") == 0)
        json_object_del(d, "stopped_at");

    experiment *next = experiment_parse(d, EXP_FROM_STATE, eerr);
    if (next && prev) {
        bool bump = false;
        if (!experiment_check_update(prev, next, &bump, eerr)) {
            experiment_release(next);
            json_decref(d);
            *status = REGISTRY_CONFLICT;
            rfail(err, "%s", eerr);
            return NULL;
        }
        if (bump) {
            json_object_set_new(d, "allocation_version", json_integer(prev->allocation_version + 1));
            experiment_release(next);
            next = experiment_parse(d, EXP_FROM_STATE, eerr);
        }
    }
    json_decref(d);
    if (!next) {
        *status = REGISTRY_INVALID;
        rfail(err, "%s", eerr);
    }
    return next;
}

/* Checks next against every other live experiment (layers). */
static int check_set(const registry *r, experiment *next, char err[REGISTRY_ERR_MAX])
{
    char cerr[CONFIG_ERR_MAX];
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->list[i]->key, next->key) == 0)
            continue;
        experiment *pair[2] = {r->list[i], next};
        if (!config_check_experiment_set(pair, 2, cerr))
            return rfail(err, "%s", cerr);
    }
    return 0;
}

registry_status registry_prepare(const registry *r, json_t *def, exp_source src,
                                 registry_mode mode, const char *origin, experiment **out,
                                 char err[REGISTRY_ERR_MAX])
{
    const char *key = json_string_value(json_object_get(def, "key"));
    experiment *prev = key ? registry_get(r, key) : NULL;
    *out = NULL;
    if (mode == REG_CREATE && prev) {
        rfail(err, "experiment %s already exists", key);
        return REGISTRY_EXISTS;
    }
    if (mode == REG_UPDATE && !prev) {
        rfail(err, "experiment %s does not exist", key ? key : "(no key)");
        return REGISTRY_NOT_FOUND;
    }
    registry_status status = REGISTRY_OK;
    experiment *next = prepare(prev, def, src, origin, err, &status);
    if (!next)
        return status;
    if (check_set(r, next, err) != 0) {
        experiment_release(next);
        return REGISTRY_CONFLICT;
    }
    *out = next;
    return REGISTRY_OK;
}

void registry_plan_free(experiment **plan, uint32_t *fps, size_t n)
{
    for (size_t i = 0; plan && i < n; i++)
        experiment_release(plan[i]);
    free(plan);
    free(fps);
}

registry_status registry_plan_config(const registry *r, const upshot_config *cfg, json_t *seeds,
                                     experiment ***out, uint32_t **fps, size_t *n,
                                     char err[REGISTRY_ERR_MAX])
{
    *out = NULL;
    *fps = NULL;
    *n = 0;
    size_t nfile = (size_t)cfg->nexperiments;
    experiment **staged = calloc(nfile + 1, sizeof *staged);
    uint32_t *sfp = calloc(nfile + 1, sizeof *sfp);
    if (!staged || !sfp) {
        free(staged);
        free(sfp);
        rfail(err, "out of memory");
        return REGISTRY_NO_MEMORY;
    }
    registry_status rc = REGISTRY_OK;
    size_t k = 0;
    for (size_t i = 0; i < nfile && rc == REGISTRY_OK; i++) {
        const experiment *fe = cfg->experiments[i];
        experiment *live = registry_get(r, fe->key);
        if (live) {
            if (!seeds)
                continue; /* no shared state to compare with: keep what is live */
            json_t *fp = json_object_get(seeds, fe->key);
            if (fp && (uint32_t)json_integer_value(fp) == cfg->fingerprints[i])
                continue; /* the file did not change since it was imported */
        }
        experiment *next = prepare(live, fe->def, EXP_FROM_USER, "file", err, &rc);
        if (next) {
            staged[k] = next;
            sfp[k++] = cfg->fingerprints[i];
        }
    }
    /* Layers across the staged set and the experiments that stay. */
    for (size_t i = 0; i < k && rc == REGISTRY_OK; i++) {
        char cerr[CONFIG_ERR_MAX];
        for (size_t j = 0; j < r->n && rc == REGISTRY_OK; j++) {
            bool replaced = false;
            for (size_t m = 0; m < k && !replaced; m++)
                replaced = strcmp(staged[m]->key, r->list[j]->key) == 0;
            experiment *pair[2] = {r->list[j], staged[i]};
            if (!replaced && !config_check_experiment_set(pair, 2, cerr)) {
                rfail(err, "%s", cerr);
                rc = REGISTRY_CONFLICT;
            }
        }
    }
    if (rc != REGISTRY_OK || k == 0) {
        registry_plan_free(staged, sfp, k);
        return rc;
    }
    *out = staged;
    *fps = sfp;
    *n = k;
    return REGISTRY_OK;
}

json_t *registry_seeds(const registry *r) { return r->fingerprints; }

int registry_install(registry *r, experiment *const *list, size_t n, bool complete, json_t *seeds)
{
    experiment **next = NULL;
    size_t nn = 0, cap = 0;
    if (complete) {
        /* The shared set is the whole set: start from nothing. */
    } else {
        cap = r->n + n + 1;
        if (!(next = malloc(cap * sizeof *next)))
            return -1;
        for (size_t i = 0; i < r->n; i++)
            next[nn++] = experiment_retain(r->list[i]);
    }
    bool changed = complete && r->n != n;
    for (size_t i = 0; i < n; i++) {
        experiment *live = registry_get(r, list[i]->key);
        if (live != list[i])
            changed = true;
        if (list_put(&next, &nn, &cap, experiment_retain(list[i])) != 0) {
            experiment_release(list[i]);
            for (size_t j = 0; j < nn; j++)
                experiment_release(next[j]);
            free(next);
            return -1;
        }
    }
    if (seeds && !json_equal(seeds, r->fingerprints)) {
        json_t *copy = json_deep_copy(seeds);
        if (copy) {
            json_decref(r->fingerprints);
            r->fingerprints = copy;
        }
    }
    if (!changed) {
        for (size_t j = 0; j < nn; j++)
            experiment_release(next[j]);
        free(next);
        return 0;
    }
    for (size_t i = 0; i < r->n; i++)
        experiment_release(r->list[i]);
    free(r->list);
    r->list = next;
    r->n = nn;
    r->cap = cap;
    r->version++;
    char err[REGISTRY_ERR_MAX];
    if (save(r, err) != 0)
        log_msg(LOG_WARN, "the cached copy of the shared state was not written: %s", err);
    return 0;
}
