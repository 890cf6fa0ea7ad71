/* autopromote.c: the automatic promotion pass (see autopromote.h).
 *
 * A pass takes the experiments one at a time: the counters of one are
 * read, its decisions computed on the worker (worker.h) and applied on the
 * loop, then the next one starts. One at a time keeps the pass to one slot
 * of the worker's bounded queue, so it never crowds out results requests,
 * and it cannot be starved by them either: an experiment refused for a
 * full worker is simply decided again at the next tick. A tick that finds
 * the previous pass still running does nothing.
 *
 * With several instances on one shared state only one of them runs the
 * passes: a tick first takes or renews the lease {upshot}:lease:autopromote
 * (shared_state_lease, a SET NX PX renewed by its holder), and an instance
 * that does not hold it does nothing. Its promotions go through the same
 * compare-and-set as changes made by hand (api_admin_apply_promotion).
 *
 * The same pass runs the circuit breaker (docs/promotion.md): every
 * running experiment with a breaker metric on is decided, with or without
 * auto_promote, and a region whose breaker trips is written to the shared
 * state (api_admin_apply_breaker_trip) with its evidence, which withdraws
 * any promotion there; every instance then routes it to control. Only
 * experiments with auto_promote get promotions and decision entries. */
#include "autopromote.h"

#include <event2/event.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "api.h"
#include "audit.h"
#include "log.h"
#include "shared_state.h"

struct autopromote {
    struct upshotd *d;
    struct event *timer;
    struct event *step;       /* continues the pass with the next experiment */
    json_t *last;             /* {experiment: {region: recommendation}} last audited */
    char (*keys)[VALIDATE_KEY_MAX + 1]; /* the pass: experiments to decide */
    size_t nkeys, at;         /* at: the next one */
    bool in_pass;
    bool lease_pending;       /* a lease request is on the wire */
    bool held;                /* this instance held the lease at the last tick */
};

/* A promotion on its way through the shared state. */
typedef struct promotion_ctx {
    char key[VALIDATE_KEY_MAX + 1];
    char region[VALIDATE_KEY_MAX + 1];
    char variant[VALIDATE_KEY_MAX + 1];
} promotion_ctx;

static bool pass_wants(const experiment *e)
{
    return e->status == EXP_RUNNING && (e->auto_promote || e->breaker_decline || e->breaker_aov);
}

static void on_tripped(void *arg, registry_status st, const char *err)
{
    promotion_ctx *p = arg;
    if (st == REGISTRY_OK)
        log_msg(LOG_WARN, "circuit breaker tripped for %s in %s (variant %s): the region "
                        "gets the control", p->key, p->region, p->variant);
    else
        log_msg(LOG_ERROR, "circuit breaker trip of %s in %s not recorded: %s", p->key,
                p->region, err ? err : "?");
    free(p);
}

/* The region's breaker tripped and the shared state does not say so yet:
 * record it, with the evidence the audit log and `upshot show` report. */
static void trip_region(upshotd *d, const experiment *live, const analysis_region_decision *rd)
{
    promotion_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return;
    const char *vkey = live->variants[rd->breaker_variant].key;
    snprintf(ctx->key, sizeof ctx->key, "%s", live->key);
    snprintf(ctx->region, sizeof ctx->region, "%s", rd->region);
    snprintf(ctx->variant, sizeof ctx->variant, "%s", vkey);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:s, s:f, s:I}", "variant", vkey,
                           "metric", rd->breaker_metric, "test",
                           "one-sided mSPRT (always-valid), Bonferroni over the family",
                           "e_value", isfinite(rd->breaker_e_value) ? rd->breaker_e_value : DBL_MAX,
                           "p", rd->breaker_p, "diff",
                           isfinite(rd->breaker_diff) ? rd->breaker_diff : 0.0, "day",
                           rd->breaker_day, "alpha", rd->breaker_alpha, "family",
                           (json_int_t)rd->breaker_family);
    if (!ev || api_admin_apply_breaker_trip(d, live->key, rd->region, ev, rd->why, on_tripped,
                                            ctx) != 0)
        on_tripped(ctx, REGISTRY_UNAVAILABLE, "the shared state is unreachable");
}

static void on_promoted(void *arg, registry_status st, const char *err)
{
    promotion_ctx *p = arg;
    if (st == REGISTRY_OK) {
        g_metrics.promotions_auto++;
        log_msg(LOG_INFO, "auto-promoted %s in %s for %s", p->variant, p->region, p->key);
    } else {
        log_msg(LOG_ERROR, "auto-promotion of %s failed: %s", p->key, err ? err : "?");
    }
    free(p);
}

/* One experiment's decisions, computed on the worker. */
typedef struct autopromote_job {
    autopromote *a;
    int rc;                   /* analysis_decide's */
    analysis_decisions dec;
} autopromote_job;

/* On the worker: reads only e, t, s and the job. */
static void decide_work(void *arg, const experiment *e, const results_table *t,
                        const analysis_settings *s)
{
    autopromote_job *job = arg;
    job->rc = analysis_decide(t, e, s, &job->dec);
}

/* The details of a "decision" audit entry: region, recommendation,
 * variant, and for a factorial experiment how the cell won (kind) and,
 * for a factor-level promotion, the factor and its level. */
static json_t *decision_details(const experiment *live, const analysis_region_decision *rd)
{
    bool has_variant = rd->promote_variant >= 0 && rd->promote_variant < live->nvariants;
    json_t *j = json_pack("{s:s, s:s, s:o}", "region", rd->region, "recommendation",
                          rd->recommendation, "variant",
                          has_variant ? json_string(live->variants[rd->promote_variant].key)
                                      : json_null());
    if (j && experiment_is_factorial(live)) {
        bool by_level = rd->factor >= 0 && rd->factor < live->nfactors && rd->level >= 0 &&
                        rd->level < live->factors[rd->factor].nlevels;
        json_object_set_new(j, "kind", rd->kind ? json_string(rd->kind) : json_null());
        json_object_set_new(j, "factor",
                            by_level ? json_string(live->factors[rd->factor].key) : json_null());
        json_object_set_new(j, "level", by_level ? json_string(
                                                       live->factors[rd->factor].levels[rd->level].key)
                                                 : json_null());
    }
    return j;
}

/* On the loop: audit changes of recommendation, promote where the rule
 * says so. e is the experiment the decisions were computed for. */
static void apply_decisions(autopromote *a, experiment *e, const analysis_decisions *dec)
{
    upshotd *d = a->d;
    experiment *live = registry_get(d->reg, e->key);
    if (!a->held)
        return; /* the lease went to another instance during the pass */
    if (!live || live != e || live->status != EXP_RUNNING)
        return; /* changed meanwhile: the next tick decides on fresh data */
    json_t *last = json_object_get(a->last, live->key);
    if (!last) {
        last = json_object();
        json_object_set_new(a->last, live->key, last);
    }
    for (size_t i = 0; i < dec->n; i++) {
        const analysis_region_decision *rd = &dec->regions[i];
        if (rd->breaker_tripped && rd->breaker_variant >= 0 &&
            rd->breaker_variant < live->nvariants && experiment_targets_region(live, rd->region) &&
            !experiment_breaker_trip(live, rd->region)) {
            trip_region(d, live, rd);
            continue; /* the trip withdraws any promotion; nothing to promote */
        }
        if (!live->auto_promote)
            continue;
        /* A factorial region may promote one cell, then another (a second
         * factor's level on top of the first): the cell is part of what
         * changed, so it is part of what is remembered. */
        char seen[sizeof "keep_running" + VALIDATE_KEY_MAX + 2];
        snprintf(seen, sizeof seen, "%s%s%s", rd->recommendation,
                 experiment_is_factorial(live) && rd->promote_variant >= 0 ? ":" : "",
                 experiment_is_factorial(live) && rd->promote_variant >= 0
                     ? live->variants[rd->promote_variant].key
                     : "");
        const char *before = json_string_value(json_object_get(last, rd->region));
        if (!before || strcmp(before, seen) != 0) {
            json_object_set_new(last, rd->region, json_string(seen));
            shared_state_audit(d->shared, audit_entry("auto-promote", "decision", live->key,
                                                      rd->why, decision_details(live, rd)));
        }
        const exp_promotion *p = experiment_promotion(live, rd->region);
        if (rd->promote_variant < 0 || (p && p->variant == rd->promote_variant))
            continue;
        promotion_ctx *ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            continue;
        const char *vkey = live->variants[rd->promote_variant].key;
        snprintf(ctx->key, sizeof ctx->key, "%s", live->key);
        snprintf(ctx->region, sizeof ctx->region, "%s", rd->region);
        snprintf(ctx->variant, sizeof ctx->variant, "%s", vkey);
        /* Each region's promotion is its own change: two regions of one
         * experiment race, and the loser is reapplied on the winner's
         * definition (they touch different promotions). */
        if (api_admin_apply_promotion(d, live->key, rd->region, vkey, live->auto_holdback,
                                      "auto-promote", "promote", rd->why, on_promoted, ctx) != 0)
            on_promoted(ctx, REGISTRY_UNAVAILABLE, "the shared state is unreachable");
    }
}

/* On the loop, after the worker (or after a failed read: ok false). The
 * pass goes on from its own event, not from here, so that nothing new
 * starts once the loop has stopped (worker_free runs the last dones). */
static void decide_done(void *arg, experiment *e, bool ok)
{
    autopromote_job *job = arg;
    if (ok && job->rc == 0)
        apply_decisions(job->a, e, &job->dec);
    analysis_decisions_free(&job->dec);
    event_active(job->a->step, EV_TIMEOUT, 1);
    free(job);
}

static void end_pass(autopromote *a)
{
    free(a->keys);
    a->keys = NULL;
    a->nkeys = a->at = 0;
    a->in_pass = false;
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    autopromote *a = arg;
    while (a->at < a->nkeys) {
        experiment *e = registry_get(a->d->reg, a->keys[a->at++]);
        if (!e || !pass_wants(e))
            continue;
        autopromote_job *job = calloc(1, sizeof *job);
        if (!job)
            break;
        job->a = a;
        if (api_admin_fetch_results(a->d, e, decide_work, decide_done, job) != 0) {
            free(job);
            break; /* Redis down: the next tick starts over */
        }
        return; /* decide_done activates the next step */
    }
    end_pass(a);
}

static void start_pass(autopromote *a);

static void on_lease(void *arg, bool held)
{
    autopromote *a = arg;
    a->lease_pending = false;
    if (held != a->held)
        log_msg(LOG_INFO, "auto-promotion: this instance %s the lease",
                held ? "holds" : "no longer holds");
    a->held = held;
    if (held && !a->in_pass)
        start_pass(a);
}

/* The lease outlives two intervals, so its holder's renewal at every tick
 * keeps it, and another instance takes over within two intervals of the
 * holder's end. A tick that finds a pass running only renews. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    autopromote *a = arg;
    if (a->lease_pending)
        return; /* renewed also while a pass runs: a long pass must not lose it */
    long ttl_ms = 2000L * a->d->cfg.auto_promote_interval_s + 1000;
    if (shared_state_lease(a->d->shared, "autopromote", ttl_ms, on_lease, a) == 0)
        a->lease_pending = true;
}

static void start_pass(autopromote *a)
{
    registry *reg = a->d->reg;
    size_t n = registry_count(reg);
    if (!(a->keys = calloc(n ? n : 1, sizeof *a->keys)))
        return;
    for (size_t i = 0; i < n; i++) {
        experiment *e = registry_at(reg, i);
        if (pass_wants(e))
            snprintf(a->keys[a->nkeys++], sizeof a->keys[0], "%s", e->key);
    }
    a->at = 0;
    a->in_pass = true;
    on_step(-1, EV_TIMEOUT, a);
}

autopromote *autopromote_start(struct upshotd *d)
{
    autopromote *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->d = d;
    a->last = json_object();
    a->timer = event_new(d->base, -1, EV_PERSIST, on_tick, a);
    a->step = event_new(d->base, -1, 0, on_step, a);
    struct timeval tv = {d->cfg.auto_promote_interval_s, 0};
    if (!a->last || !a->timer || !a->step || event_add(a->timer, &tv) != 0) {
        autopromote_free(a);
        return NULL;
    }
    return a;
}

void autopromote_free(autopromote *a)
{
    if (!a)
        return;
    if (a->timer)
        event_free(a->timer);
    if (a->step)
        event_free(a->step);
    free(a->keys);
    json_decref(a->last);
    free(a);
}
