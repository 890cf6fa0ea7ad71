/* bandit.c: the bandit updater and its admin endpoints (see bandit.h).
 *
 * Shaped like capping.c: a timer, a lease, a pass over the experiments one
 * at a time. One update is three steps: read the counters (store, via
 * api_admin_fetch_results), compute every region on the worker (GSL, up to
 * 10,000 top-two rounds per region: kept off the event loop), then build
 * and write the new bandit_state on the loop. */
#include "bandit.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bandit_layout.h"
#include "bandit_plan.h"
#include "log.h"
#include "metrics.h"
#include "results.h"
#include "route.h"
#include "shared_state.h"
#include "stats_bandit.h"

/* How often the holder of the lease looks for updates that are due; the
 * lease outlives three missed ticks. */
#define BANDIT_TICK_S 30
#define BANDIT_LEASE_MS (3 * BANDIT_TICK_S * 1000L + 1000)
/* A layout's text: at most two runs per bucket in the worst case. */
#define BANDIT_LAYOUT_TEXT_MAX (HASH_BUCKETS * 14 + 64)

struct bandit {
    upshotd *d;
    struct event *timer;
    struct event *step;
    char (*keys)[VALIDATE_KEY_MAX + 1]; /* the pass: bandits whose update is due */
    size_t nkeys, at;
    bool in_pass;
    bool lease_pending;
    bool held;
    struct bandit_job *running; /* the pass's update in flight */
};

/* One region's update, computed on the worker. */
typedef struct bandit_calc {
    char region[VALIDATE_KEY_MAX + 1];
    int prev_period;
    double prev[STATS_BANDIT_MAX_ARMS];
    stats_bandit_arm arms[STATS_BANDIT_MAX_ARMS];
    uint32_t seed;
    int rc;                      /* stats_bandit_update_run's */
    bool changed;                /* starts a new period */
    stats_bandit_update up;
} bandit_calc;

typedef struct bandit_job {
    bandit *b;                   /* the pass's owner; NULL for an HTTP update or once freed */
    upshotd *d;
    bool http;                   /* answer x when done */
    http_exchange x;
    char key[VALIDATE_KEY_MAX + 1];
    json_t *seen;                /* bandit_state as the update started from (or null) */
    stats_bandit_config cfg;     /* settings; seed set per region */
    bool capped;                 /* revenue from the capped sums */
    bandit_calc *calcs;
    int ncalcs;
    bool failed;                 /* out of memory on the worker */
} bandit_job;

static void job_free(bandit_job *job)
{
    json_decref(job->seen);
    free(job->calcs);
    free(job);
}

/* ---- the admin body -------------------------------------------------- */

static const char *metric_name(exp_bandit_metric m)
{
    return m == EXP_BANDIT_REVENUE ? "revenue" : "conversion";
}

static json_t *allocation_json(const experiment *e)
{
    const exp_bandit *b = &e->bandit;
    return json_pack("{s:s, s:s, s:i, s:f, s:f, s:I, s:f, s:I}", "mode", "bandit", "metric",
                     metric_name(b->metric), "every_seconds", b->every, "control_share",
                     b->control_share, "floor", b->floor, "min_visitors_per_arm",
                     (json_int_t)b->min_visitors_per_arm, "beta", b->beta, "seed",
                     (json_int_t)b->seed);
}

/* GET .../bandit: the settings, the variants in weight order, and the
 * state, each region with its moved_share. */
static json_t *bandit_body(const experiment *e)
{
    json_t *variants = json_array();
    for (int i = 0; i < e->nvariants; i++)
        json_array_append_new(variants, json_string(e->variants[i].key));
    json_t *st = json_object_get(e->def, "bandit_state");
    json_t *regions = json_deep_copy(json_object_get(st, "regions"));
    if (!regions)
        regions = json_object();
    const char *r;
    json_t *o;
    json_object_foreach(regions, r, o) {
        const exp_bandit_region *br = experiment_bandit_region(e, r);
        json_object_set_new(o, "moved_share",
                            json_real(br ? bandit_layout_moved_share(br->layout) : 0));
    }
    json_t *starting = json_array();
    for (int i = 0; i < e->nvariants; i++)
        json_array_append_new(starting, json_real(e->variants[i].weight));
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:O?, s:O?, s:o}", "experiment", e->key,
                     "control", e->variants[e->control].key, "variants", variants,
                     "starting_weights", starting, "allocation", allocation_json(e),
                     "next_update", json_object_get(st, "next_update"), "last_update",
                     json_object_get(st, "last_update"), "regions", regions);
}

static experiment *path_bandit(upshotd *d, http_exchange *x, const route_params *p)
{
    const char *key = route_param(p, "key");
    experiment *e = key ? registry_get(d->reg, key) : NULL;
    if (!e) {
        http_reply_error(x, 404, "unknown_experiment", "experiment %s does not exist",
                         key ? key : "?");
        return NULL;
    }
    if (!experiment_is_bandit(e)) {
        http_reply_error(x, 409, "not_bandit", "experiment %s allocates fixed weights "
                         "(allocation.mode is not \"bandit\")", e->key);
        return NULL;
    }
    return e;
}

void api_bandit_get(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    (void)q;
    experiment *e = path_bandit(d, x, p);
    if (e)
        http_reply_json(x, 200, bandit_body(e));
}

/* ---- one update ------------------------------------------------------ */

static void add_calc(bandit_job *job, const experiment *e, const results_table *t,
                     const char *region)
{
    for (int i = 0; i < job->ncalcs; i++)
        if (strcmp(job->calcs[i].region, region) == 0)
            return;
    if (!experiment_targets_region(e, region))
        return;
    bandit_calc *c = &job->calcs[job->ncalcs++];
    memset(c, 0, sizeof *c);
    snprintf(c->region, sizeof c->region, "%s", region);
    const exp_bandit_region *br = experiment_bandit_region(e, region);
    c->prev_period = br ? br->period : 0;
    for (int v = 0; v < e->nvariants; v++)
        c->prev[v] = br ? br->weights[v] : e->variants[v].weight;
    int ri = results_region_index(t, region);
    if (ri >= 0 && t->ndays > 0) {
        results_counts sum[EXP_MAX_VARIANTS];
        results_sum(t, ri, t->ndays - 1, sum);
        for (int v = 0; v < e->nvariants; v++) {
            c->arms[v].visitors = sum[v].visitors;
            c->arms[v].conversions = sum[v].conversions;
            c->arms[v].revenue_sum = job->capped ? sum[v].capped_sum : sum[v].revenue_sum;
            c->arms[v].revenue_sumsq = job->capped ? sum[v].capped_sumsq : sum[v].revenue_sumsq;
        }
    }
    stats_bandit_config cfg = job->cfg;
    c->seed = cfg.seed = bandit_plan_seed((uint32_t)e->bandit.seed, region, c->prev_period + 1);
    c->rc = stats_bandit_update_run(&cfg, c->arms, c->prev, &c->up);
    c->changed = c->rc == 0 && !c->up.waiting &&
                 bandit_plan_changed(c->prev, c->up.weights, e->nvariants);
}

/* On the worker: every region with data or with a state. */
static void update_work(void *arg, const experiment *e, const results_table *t,
                        const analysis_settings *s)
{
    (void)s;
    bandit_job *job = arg;
    job->capped = results_capping_applied(t, e);
    size_t cap = (size_t)t->nregions + (size_t)e->bandit.nregions + 1;
    if (!(job->calcs = calloc(cap, sizeof *job->calcs))) {
        job->failed = true;
        return;
    }
    for (int i = 0; i < e->bandit.nregions; i++)
        add_calc(job, e, t, e->bandit.regions[i].region);
    for (int i = 0; i < t->nregions; i++)
        add_calc(job, e, t, t->regions[i]);
}

static json_t *reals(const double *w, int k)
{
    json_t *a = json_array();
    for (int i = 0; i < k; i++)
        json_array_append_new(a, json_real(w[i]));
    return a;
}

/* The region's new state (into regions) and its audit details. */
static int build_region(const bandit_job *job, const experiment *e, const bandit_calc *c,
                        json_t *regions, const char *now, json_t *audit_regions, char *text)
{
    int k = e->nvariants;
    json_t *r = json_object_get(regions, c->region);
    if (!r) {
        r = json_pack("{s:i, s:o, s:s}", "period", 0, "weights", reals(c->prev, k), "since",
                      json_string_value(json_object_get(e->def, "started_at"))
                          ? json_string_value(json_object_get(e->def, "started_at")) : now);
        json_object_set_new(regions, c->region, r);
    }
    json_t *counts = json_array();
    for (int v = 0; v < k; v++)
        json_array_append_new(counts, json_pack("{s:s, s:I, s:I, s:f, s:f}", "variant",
                                                e->variants[v].key, "visitors",
                                                (json_int_t)c->arms[v].visitors, "conversions",
                                                (json_int_t)c->arms[v].conversions, "revenue_sum",
                                                c->arms[v].revenue_sum, "revenue_sumsq",
                                                c->arms[v].revenue_sumsq));
    json_t *a = json_pack("{s:o, s:I, s:i, s:o}", "counts", counts, "seed", (json_int_t)c->seed,
                          "previous_period", c->prev_period, "previous_weights", reals(c->prev, k));
    json_object_set_new(audit_regions, c->region, a);
    if (c->rc != 0) {
        json_object_set_new(a, "error", json_string("the counts or settings were rejected"));
        return 0;
    }
    json_object_set_new(a, "waiting", json_boolean(c->up.waiting));
    json_object_set_new(a, "allocation", reals(c->up.allocation, k));
    json_object_set_new(a, "p_best", reals(c->up.p_best, k));
    json_object_set_new(a, "computed_weights", reals(c->up.weights, k));
    json_object_set_new(a, "changed", json_boolean(c->changed));
    json_object_set_new(r, "waiting", json_boolean(c->up.waiting));
    json_object_set_new(r, "fewest_visitors",
                        json_integer((json_int_t)c->arms[c->up.fewest].visitors));
    if (!c->up.waiting)
        json_object_set_new(r, "p_best", reals(c->up.p_best, k));
    if (c->changed) {
        bandit_layout *l = malloc(sizeof *l);
        const exp_bandit_region *br = experiment_bandit_region(e, c->region);
        double start[EXP_MAX_VARIANTS];
        for (int v = 0; v < k; v++)
            start[v] = e->variants[v].weight;
        int rc = !l ? -1 : br ? (memcpy(l, br->layout, sizeof *l), 0) : bandit_layout_init(l, start, k);
        int moved = rc == 0 ? bandit_layout_apply(l, c->up.weights, k) : -1;
        int len = moved >= 0 ? bandit_layout_encode(l, text, BANDIT_LAYOUT_TEXT_MAX) : -1;
        free(l);
        if (len < 0)
            return -1;
        json_t *hist = json_object_get(r, "history");
        if (!hist) {
            hist = json_array();
            json_object_set_new(r, "history", hist);
        }
        if (bandit_plan_history_push(hist, c->prev_period,
                                     json_string_value(json_object_get(r, "since")), c->prev, k,
                                     EXP_BANDIT_MAX_HISTORY) != 0)
            return -1;
        json_object_set_new(r, "period", json_integer(c->prev_period + 1));
        json_object_set_new(r, "weights", reals(c->up.weights, k));
        json_object_set_new(r, "layout", json_string(text));
        json_object_set_new(r, "since", json_string(now));
        json_object_set_new(a, "moved_buckets", json_integer(moved));
    }
    json_object_set_new(a, "period", json_object_get(r, "period") ? json_incref(json_object_get(r, "period")) : json_integer(0));
    json_object_set_new(a, "weights", json_deep_copy(json_object_get(r, "weights")));
    return 0;
}

static void update_finish(bandit_job *job, registry_status st, const char *err)
{
    if (st == REGISTRY_OK)
        g_metrics.bandit_updates++;
    else
        g_metrics.bandit_update_failures++;
    if (st != REGISTRY_OK)
        log_msg(LOG_WARN, "bandit update of %s not made: %s", job->key, err ? err : "?");
    if (job->http) {
        experiment *e = registry_get(job->d->reg, job->key);
        if (st == REGISTRY_OK && e) {
            http_reply_json(&job->x, 200, bandit_body(e));
        } else {
            int status = st == REGISTRY_STALE ? 409 : st == REGISTRY_UNAVAILABLE ? 503 : 500;
            const char *code = st == REGISTRY_STALE         ? "concurrent_change"
                               : st == REGISTRY_UNAVAILABLE ? "redis_unavailable"
                                                            : "internal";
            http_reply_error(&job->x, status, code, "the bandit update of %s was not made: %s",
                             job->key, err ? err : "?");
        }
    }
    bandit *b = job->b;
    job_free(job);
    if (b) {
        b->running = NULL;
        event_active(b->step, EV_TIMEOUT, 1);
    }
}

static void on_committed(void *arg, registry_status st, const char *err)
{
    update_finish(arg, st, err);
}

/* On the loop: builds the new state and writes it. */
static void update_done(void *arg, experiment *fetched, bool ok)
{
    (void)fetched;
    bandit_job *job = arg;
    if (!ok || job->failed) {
        update_finish(job, REGISTRY_UNAVAILABLE, "the counters could not be read");
        return;
    }
    if (!job->http && (!job->b || !job->b->held)) {
        update_finish(job, REGISTRY_STALE, "the lease was lost");
        return;
    }
    experiment *e = registry_get(job->d->reg, job->key);
    json_t *cur = e ? json_object_get(e->def, "bandit_state") : NULL;
    if (!e || !experiment_is_bandit(e) || !json_equal(cur ? cur : json_null(), job->seen)) {
        update_finish(job, REGISTRY_STALE, "another update or change came first; retry");
        return;
    }
    char now[32], next[32];
    int64_t t = (int64_t)time(NULL);
    bandit_plan_format_time(t, now);
    bandit_plan_format_time(bandit_plan_next(t, e->bandit.every), next);
    json_t *state = cur ? json_deep_copy(cur) : json_object();
    json_t *regions = json_object_get(state, "regions");
    if (!regions) {
        regions = json_object();
        json_object_set_new(state, "regions", regions);
    }
    json_t *audit_regions = json_object();
    char *text = malloc(BANDIT_LAYOUT_TEXT_MAX);
    int rc = text && audit_regions ? 0 : -1;
    for (int i = 0; rc == 0 && i < job->ncalcs; i++)
        rc = build_region(job, e, &job->calcs[i], regions, now, audit_regions, text);
    free(text);
    if (rc != 0) {
        json_decref(state);
        json_decref(audit_regions);
        update_finish(job, REGISTRY_NO_MEMORY, "out of memory");
        return;
    }
    json_object_set_new(state, "next_update", json_string(next));
    json_object_set_new(state, "last_update", json_string(now));
    json_t *settings = allocation_json(e);
    json_object_set_new(settings, "control", json_string(e->variants[e->control].key));
    json_object_set_new(settings, "draws", json_integer(job->cfg.draws));
    json_object_set_new(settings, "revenue", json_string(job->capped ? "capped" : "uncapped"));
    json_object_set_new(settings, "min_move", json_real(BANDIT_PLAN_MIN_MOVE));
    json_t *variants = json_array();
    for (int v = 0; v < e->nvariants; v++)
        json_array_append_new(variants, json_string(e->variants[v].key));
    json_t *details = json_pack("{s:o, s:o, s:o, s:s, s:s}", "settings", settings, "variants",
                                variants, "regions", audit_regions, "at", now, "next_update",
                                next);
    log_msg(LOG_INFO, "bandit update of %s: %d regions, next at %s", e->key, job->ncalcs, next);
    if (api_admin_set_field_audited(job->d, job->key, "bandit_state", state, details, "bandit",
                                    "bandit_update", on_committed, job) != 0)
        update_finish(job, REGISTRY_UNAVAILABLE, "Redis is unreachable");
    json_decref(state);
}

/* Starts the update of e. 0, or -1 (Redis down, out of memory): job freed
 * and nothing will be called. */
static int update_start(upshotd *d, experiment *e, bandit *b, const http_exchange *x)
{
    bandit_job *job = calloc(1, sizeof *job);
    if (!job)
        return -1;
    job->b = b;
    job->d = d;
    if (x) {
        job->http = true;
        job->x = *x;
    }
    snprintf(job->key, sizeof job->key, "%s", e->key);
    json_t *st = json_object_get(e->def, "bandit_state");
    job->seen = st ? json_deep_copy(st) : json_null();
    const exp_bandit *s = &e->bandit;
    job->cfg = (stats_bandit_config){
        .k = (size_t)e->nvariants, .control = (size_t)e->control,
        .control_share = s->control_share, .floor = s->floor,
        .min_per_arm = (uint64_t)s->min_visitors_per_arm,
        .metric = s->metric == EXP_BANDIT_REVENUE ? STATS_BANDIT_REVENUE : STATS_BANDIT_CONVERSION,
        .beta = s->beta, .draws = STATS_BANDIT_DEFAULT_DRAWS};
    if (b)
        b->running = job;
    if (api_admin_fetch_results(d, e, update_work, update_done, job) != 0) {
        if (b)
            b->running = NULL;
        job_free(job);
        return -1;
    }
    return 0;
}

void api_bandit_update(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    (void)q;
    experiment *e = path_bandit(d, x, p);
    if (!e)
        return;
    if (e->status != EXP_RUNNING) {
        http_reply_error(x, 409, "not_running", "experiment %s is %s: a bandit updates only while "
                         "running", e->key, experiment_status_name(e->status));
        return;
    }
    if (!shared_state_is_up(d->shared) || update_start(d, e, NULL, x) != 0)
        http_reply_error(x, 503, "redis_unavailable", "Redis is unreachable: the update was not "
                         "made; the weights in force stay");
}

/* ---- the timer ------------------------------------------------------- */

static bool due(const experiment *e, int64_t now)
{
    if (!experiment_is_bandit(e) || e->status != EXP_RUNNING)
        return false;
    int64_t next = bandit_plan_parse_time(e->bandit.next_update);
    return next < 0 || now >= next;
}

static void end_pass(bandit *b)
{
    free(b->keys);
    b->keys = NULL;
    b->nkeys = b->at = 0;
    b->in_pass = false;
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bandit *b = arg;
    int64_t now = (int64_t)time(NULL);
    while (b->held && b->at < b->nkeys) {
        experiment *e = registry_get(b->d->reg, b->keys[b->at++]);
        if (!e || !due(e, now))
            continue;
        if (update_start(b->d, e, b, NULL) != 0)
            break; /* Redis down: the next tick starts over */
        return;    /* the update's completion activates the next step */
    }
    end_pass(b);
}

static void start_pass(bandit *b)
{
    registry *reg = b->d->reg;
    size_t n = registry_count(reg);
    int64_t now = (int64_t)time(NULL);
    if (!(b->keys = calloc(n ? n : 1, sizeof *b->keys)))
        return;
    for (size_t i = 0; i < n; i++)
        if (due(registry_at(reg, i), now))
            snprintf(b->keys[b->nkeys++], sizeof b->keys[0], "%s", registry_at(reg, i)->key);
    b->at = 0;
    b->in_pass = true;
    on_step(-1, EV_TIMEOUT, b);
}

static void on_lease(void *arg, bool held)
{
    bandit *b = arg;
    b->lease_pending = false;
    b->held = held;
    if (held && !b->in_pass)
        start_pass(b);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bandit *b = arg;
    if (b->lease_pending)
        return;
    /* No lease traffic while no bandit runs here. */
    bool any = false;
    for (size_t i = 0; !any && i < registry_count(b->d->reg); i++)
        any = experiment_is_bandit(registry_at(b->d->reg, i));
    if (any && shared_state_lease(b->d->shared, "bandit", BANDIT_LEASE_MS, on_lease, b) == 0)
        b->lease_pending = true;
}

bandit *bandit_start(upshotd *d)
{
    bandit *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->d = d;
    b->timer = event_new(d->base, -1, EV_PERSIST, on_tick, b);
    b->step = event_new(d->base, -1, 0, on_step, b);
    struct timeval tv = {BANDIT_TICK_S, 0};
    if (!b->timer || !b->step || event_add(b->timer, &tv) != 0) {
        bandit_free(b);
        return NULL;
    }
    return b;
}

void bandit_free(bandit *b)
{
    if (!b)
        return;
    if (b->running)
        b->running->b = NULL; /* its completion, if it still comes, only frees it */
    if (b->timer)
        event_free(b->timer);
    if (b->step)
        event_free(b->step);
    free(b->keys);
    free(b);
}
