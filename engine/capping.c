/* capping.c: learning revenue caps and capping earlier visitors (see
 * capping.h). One experiment at a time, like the promotion pass: a step
 * either reads the counters (on the worker), freezes a cap, runs the
 * recap over the shards, or marks it done, and its completion starts the
 * next step. */
#include "capping.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "api.h"
#include "log.h"
#include "shared_state.h"
#include "store.h"

struct capping {
    struct upshotd *d;
    struct event *timer;
    struct event *step;
    char (*keys)[VALIDATE_KEY_MAX + 1]; /* the pass: experiments to look at */
    size_t nkeys, at;
    bool in_pass;
    bool lease_pending;
    bool held;
    struct capping_job *running; /* the step in flight, told when capping is freed */
};

typedef struct capping_job {
    capping *c;                  /* NULL once capping_free ran */
    char key[VALIDATE_KEY_MAX + 1];
    int rc;                      /* analysis_learn_cap's */
    double cap, mean, sd;
    uint64_t converters;
} capping_job;

static void next_step(capping_job *job)
{
    capping *c = job->c;
    if (c) {
        c->running = NULL;
        event_active(c->step, EV_TIMEOUT, 1);
    }
    free(job);
}

static void on_committed(void *arg, registry_status st, const char *err)
{
    capping_job *job = arg;
    if (st != REGISTRY_OK)
        log_msg(LOG_ERROR, "capping %s: the change was not made: %s", job->key,
                err ? err : "?");
    next_step(job);
}

/* Sets capping_learned of job->key to value (stolen). */
static void commit(capping_job *job, json_t *value, const char *action)
{
    capping *c = job->c;
    int rc = value ? api_admin_set_field(c->d, job->key, "capping_learned", value, "capping",
                                         action, on_committed, job)
                   : -1;
    json_decref(value);
    if (rc != 0)
        next_step(job);
}

/* On the worker. */
static void learn_work(void *arg, const experiment *e, const results_table *t,
                       const analysis_settings *s)
{
    (void)s;
    capping_job *job = arg;
    job->rc = analysis_learn_cap(t, e, &job->cap, &job->mean, &job->sd, &job->converters);
}

static void learn_done(void *arg, experiment *e, bool ok)
{
    (void)e;
    capping_job *job = arg;
    if (!job->c || !ok || job->rc != 0 || !job->c->held) {
        next_step(job);
        return;
    }
    char now[32];
    registry_now_rfc3339(now);
    log_msg(LOG_INFO, "learned the revenue cap of %s: %.17g (mean %.17g + k sd %.17g, "
            "%llu converters)", job->key, job->cap, job->mean, job->sd,
            (unsigned long long)job->converters);
    commit(job, json_pack("{s:f, s:s, s:I, s:f, s:f, s:b}", "value", job->cap, "learned_at", now,
                          "converters", (json_int_t)job->converters, "mean", job->mean, "sd",
                          job->sd, "recapped", false),
           "learn_cap");
}

static void recap_done(void *arg, bool ok, uint64_t capped)
{
    capping_job *job = arg;
    if (!job->c || !ok || !job->c->held) {
        if (job->c && !ok)
            log_msg(LOG_WARN, "capping %s: the pass over earlier visitors stopped; it "
                    "runs again at the next tick", job->key);
        next_step(job);
        return;
    }
    experiment *e = registry_get(job->c->d->reg, job->key);
    json_t *learned = e ? json_deep_copy(json_object_get(e->def, "capping_learned")) : NULL;
    if (!learned) {
        next_step(job);
        return;
    }
    log_msg(LOG_INFO, "capped %llu earlier visitors of %s", (unsigned long long)capped,
            job->key);
    json_object_set_new(learned, "recapped", json_true());
    json_object_set_new(learned, "recapped_visitors", json_integer((json_int_t)capped));
    commit(job, learned, "recap");
}

static void end_pass(capping *c)
{
    free(c->keys);
    c->keys = NULL;
    c->nkeys = c->at = 0;
    c->in_pass = false;
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    capping *c = arg;
    while (c->held && c->at < c->nkeys) {
        experiment *e = registry_get(c->d->reg, c->keys[c->at++]);
        if (!e || !e->cap_learn || !e->started || (e->revenue_cap > 0 && e->cap_recapped))
            continue;
        capping_job *job = calloc(1, sizeof *job);
        if (!job)
            break;
        job->c = c;
        snprintf(job->key, sizeof job->key, "%s", e->key);
        c->running = job;
        int rc = e->revenue_cap == 0
                     ? api_admin_fetch_results(c->d, e, learn_work, learn_done, job)
                     : store_recap(c->d->store, e->key, e->revenue_cap, upshotd_today(c->d),
                                   recap_done, job);
        if (rc != 0) {
            c->running = NULL;
            free(job);
            break; /* Redis down: the next tick starts over */
        }
        return; /* the job's completion activates the next step */
    }
    end_pass(c);
}

static void start_pass(capping *c)
{
    registry *reg = c->d->reg;
    size_t n = registry_count(reg);
    if (!(c->keys = calloc(n ? n : 1, sizeof *c->keys)))
        return;
    for (size_t i = 0; i < n; i++) {
        experiment *e = registry_at(reg, i);
        if (e->cap_learn && !(e->revenue_cap > 0 && e->cap_recapped))
            snprintf(c->keys[c->nkeys++], sizeof c->keys[0], "%s", e->key);
    }
    c->at = 0;
    c->in_pass = true;
    on_step(-1, EV_TIMEOUT, c);
}

static void on_lease(void *arg, bool held)
{
    capping *c = arg;
    c->lease_pending = false;
    c->held = held;
    if (held && !c->in_pass)
        start_pass(c);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    capping *c = arg;
    if (c->lease_pending)
        return;
    long ttl_ms = 2000L * c->d->cfg.auto_promote_interval_s + 1000;
    if (shared_state_lease(c->d->shared, "capping", ttl_ms, on_lease, c) == 0)
        c->lease_pending = true;
}

capping *capping_start(struct upshotd *d)
{
    capping *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->d = d;
    c->timer = event_new(d->base, -1, EV_PERSIST, on_tick, c);
    c->step = event_new(d->base, -1, 0, on_step, c);
    struct timeval tv = {d->cfg.auto_promote_interval_s, 0};
    if (!c->timer || !c->step || event_add(c->timer, &tv) != 0) {
        capping_free(c);
        return NULL;
    }
    return c;
}

void capping_free(capping *c)
{
    if (!c)
        return;
    if (c->running)
        c->running->c = NULL; /* its completion, if it still comes, only frees it */
    if (c->timer)
        event_free(c->timer);
    if (c->step)
        event_free(c->step);
    free(c->keys);
    free(c);
}
