/* autopromote.c: the automatic promotion pass (see autopromote.h). */
#include "autopromote.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "api.h"
#include "audit.h"

struct autopromote {
    struct upshotd *d;
    struct event *timer;
    json_t *last; /* {experiment: {region: recommendation}} last audited */
};

/* One experiment's counters arrived: decide per region, audit changes of
 * recommendation, promote where the rule says so. */
static void on_results(void *arg, experiment *e, const results_table *t)
{
    autopromote *a = arg;
    upshotd *d = a->d;
    experiment *live = registry_get(d->reg, e->key);
    if (!live || live != e || live->status != EXP_RUNNING)
        return; /* changed meanwhile: the next tick decides on fresh data */
    analysis_decisions dec;
    if (analysis_decide(t, live, &d->cfg, &dec) != 0)
        return;
    json_t *last = json_object_get(a->last, live->key);
    if (!last) {
        last = json_object();
        json_object_set_new(a->last, live->key, last);
    }
    char key[VALIDATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s", live->key); /* live is replaced by a promotion */
    for (size_t i = 0; i < dec.n; i++) {
        const analysis_region_decision *rd = &dec.regions[i];
        const char *before = json_string_value(json_object_get(last, rd->region));
        if (!before || strcmp(before, rd->recommendation) != 0) {
            json_object_set_new(last, rd->region, json_string(rd->recommendation));
            audit_append(d->cfg.data_dir, "auto-promote", "decision", live->key, rd->why,
                         json_pack("{s:s, s:s, s:o}", "region", rd->region, "recommendation",
                                   rd->recommendation, "variant",
                                   rd->promote_variant >= 0
                                       ? json_string(live->variants[rd->promote_variant].key)
                                       : json_null()));
        }
        const exp_promotion *p = experiment_promotion(live, rd->region);
        if (rd->promote_variant < 0 || (p && p->variant == rd->promote_variant))
            continue;
        char err[REGISTRY_ERR_MAX], reason[300];
        snprintf(reason, sizeof reason, "%s", rd->why);
        const char *vkey = live->variants[rd->promote_variant].key;
        if (api_admin_apply_promotion(d, live, rd->region, vkey, live->auto_holdback,
                                      "auto-promote", "promote", reason, err) == REGISTRY_OK) {
            g_metrics.promotions_auto++;
            fprintf(stderr, "upshotd: auto-promoted %s in %s for %s\n", vkey, rd->region, key);
            live = registry_get(d->reg, key);
        } else {
            fprintf(stderr, "upshotd: auto-promotion of %s failed: %s\n", key, err);
        }
    }
    analysis_decisions_free(&dec);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    autopromote *a = arg;
    registry *reg = a->d->reg;
    for (size_t i = 0; i < registry_count(reg); i++) {
        experiment *e = registry_at(reg, i);
        if (e->auto_promote && e->status == EXP_RUNNING &&
            api_admin_fetch_results(a->d, e, on_results, a) != 0)
            return; /* Redis down: try next tick */
    }
}

autopromote *autopromote_start(struct upshotd *d)
{
    autopromote *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->d = d;
    a->last = json_object();
    a->timer = event_new(d->base, -1, EV_PERSIST, on_tick, a);
    struct timeval tv = {d->cfg.auto_promote_interval_s, 0};
    if (!a->last || !a->timer || event_add(a->timer, &tv) != 0) {
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
    json_decref(a->last);
    free(a);
}
