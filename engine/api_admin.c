/* api_admin.c: the endpoints of the growth team and the CLI (docs/api.md,
 * "Admin"). Every one needs the bearer token. Changes go through the
 * registry (validated, persisted before the reply) and the audit log. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "audit.h"
#include "results.h"
#include "server.h"
#include "validate.h"

#define RESULTS_BUDGET_MS 5000

/* The actor named by X-Upshot-Actor, or "admin-api". */
static void actor_of(struct evhttp_request *req, char out[65])
{
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Upshot-Actor");
    if (a && validate_id(a) && strlen(a) <= 64)
        snprintf(out, 65, "%s", a);
    else
        snprintf(out, 65, "admin-api");
}

/* Parses an optional JSON object body. NULL body: *out = empty object.
 * Replies and returns false on a problem. */
static bool read_json_body(upshotd *d, http_exchange *x, bool required, json_t **out)
{
    static const char *const types[] = {"application/json", NULL};
    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    if (evbuffer_get_length(in) == 0 && !required) {
        *out = json_object();
        return true;
    }
    if (!http_content_type_is(x->req, types)) {
        http_reply_error(x, 415, "unsupported_media_type", "Content-Type must be application/json");
        return false;
    }
    char *body;
    size_t len;
    int st = http_read_body(x->req, d->cfg.max_body_bytes, &body, &len);
    if (st) {
        http_reply_error(x, st, st == 413 ? "body_too_large" : "internal", "the body exceeds %ld bytes",
                         d->cfg.max_body_bytes);
        return false;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        http_reply_error(x, 400, "invalid_json", "the body must be a JSON object (%s)",
                         root ? "got another JSON value" : jerr.text);
        return false;
    }
    *out = root;
    return true;
}

/* Moves an optional top-level "reason" (for the audit log) out of an
 * experiment definition, which does not carry one itself. */
static void take_reason(json_t *def, char out[501])
{
    const char *r = json_string_value(json_object_get(def, "reason"));
    snprintf(out, 501, "%s", r ? r : "");
    json_object_del(def, "reason");
}

static const char *reason_of(json_t *body)
{
    const char *r = json_string_value(json_object_get(body, "reason"));
    return r && strlen(r) <= 500 ? r : NULL;
}

/* Applies def through the registry, audits, replies with the experiment. */
static void put_and_reply(upshotd *d, http_exchange *x, json_t *def, exp_source src,
                          registry_mode mode, const char *actor, const char *action,
                          const char *reason, json_t *details, int ok_status)
{
    char err[REGISTRY_ERR_MAX];
    int status = 500;
    if (registry_put(d->reg, def, src, mode, "api", err, &status) != 0) {
        json_decref(details);
        http_reply_error(x, status, status == 404 ? "unknown_experiment"
                                    : status == 409 ? "conflict" : status == 400 ? "invalid_experiment"
                                                                                 : "internal",
                         "%s", err);
        return;
    }
    const char *key = json_string_value(json_object_get(def, "key"));
    if (audit_append(d->cfg.data_dir, actor, action, key, reason, details) != 0)
        fprintf(stderr, "upshotd: audit log write failed for %s %s\n", action, key);
    experiment *e = registry_get(d->reg, key);
    http_reply_json(x, ok_status, json_deep_copy(e->def));
}

static void list_experiments(upshotd *d, http_exchange *x)
{
    json_t *a = json_array();
    for (size_t i = 0; i < registry_count(d->reg); i++)
        json_array_append(a, registry_at(d->reg, i)->def);
    http_reply_json(x, 200, json_pack("{s:o}", "experiments", a));
}

static void set_status(upshotd *d, http_exchange *x, experiment *e, const char *status,
                       const char *actor)
{
    json_t *body;
    if (!read_json_body(d, x, false, &body))
        return;
    if (strcmp(experiment_status_name(e->status), status) == 0) {
        json_decref(body);
        http_reply_json(x, 200, json_deep_copy(e->def)); /* idempotent */
        return;
    }
    json_t *def = experiment_def_with(e, "status", json_string(status));
    put_and_reply(d, x, def, EXP_FROM_STATE, REG_UPDATE, actor,
                  strcmp(status, "running") == 0 ? "start" : "stop", reason_of(body),
                  json_pack("{s:s, s:s}", "from", experiment_status_name(e->status), "to", status), 200);
    json_decref(def);
    json_decref(body);
}

/* Sets or removes (variant NULL) the promotion of region in e. */
static int api_apply_promotion(upshotd *d, experiment *e, const char *region, const char *variant,
                        double holdback, const char *actor, const char *action,
                        const char *reason, char err[REGISTRY_ERR_MAX], int *status)
{
    /* registry_put swaps in a new experiment and releases the live one:
     * hold our own reference until we are done with e. */
    experiment_retain(e);
    json_t *proms = json_deep_copy(json_object_get(e->def, "promotions"));
    if (!proms)
        proms = json_object();
    char now[32];
    registry_now_rfc3339(now);
    json_t *prev = json_incref(json_object_get(proms, region));
    if (variant)
        json_object_set_new(proms, region, json_pack("{s:s, s:f, s:s}", "variant", variant,
                                                     "holdback", holdback, "since", now));
    else
        json_object_del(proms, region);
    json_t *def = experiment_def_with(e, "promotions", proms);
    int rc = registry_put(d->reg, def, EXP_FROM_STATE, REG_UPDATE, "api", err, status);
    json_decref(def);
    if (rc == 0) {
        json_t *details = variant ? json_pack("{s:s, s:s, s:f}", "region", region, "variant",
                                              variant, "holdback", holdback)
                                  : json_pack("{s:s, s:O?}", "region", region, "was", prev);
        if (audit_append(d->cfg.data_dir, actor, action, e->key, reason, details) != 0)
            fprintf(stderr, "upshotd: audit log write failed for %s %s\n", action, e->key);
    }
    json_decref(prev);
    experiment_release(e);
    return rc;
}

static void promote(upshotd *d, http_exchange *x, experiment *e, const char *actor)
{
    json_t *body;
    if (!read_json_body(d, x, true, &body))
        return;
    char key[VALIDATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s", e->key); /* e is replaced by a successful promotion */
    const char *region = json_string_value(json_object_get(body, "region"));
    const char *variant = json_string_value(json_object_get(body, "variant"));
    json_t *h = json_object_get(body, "holdback");
    double holdback = h ? json_number_value(h) : 0.05;
    char err[REGISTRY_ERR_MAX];
    int status = 400;
    if (!region || !validate_key(region))
        http_reply_error(x, 400, "invalid_region", "region: required, a region key");
    else if (!variant || experiment_variant_index(e, variant) < 0)
        http_reply_error(x, 400, "unknown_variant", "variant: required, a variant of %s", e->key);
    else if (h && (!json_is_number(h) || !(holdback >= 0 && holdback <= 0.5)))
        http_reply_error(x, 400, "invalid_holdback", "holdback: a share between 0 and 0.5");
    else if (!experiment_targets_region(e, region))
        http_reply_error(x, 409, "conflict", "experiment %s does not run in region %s", e->key, region);
    else if (api_apply_promotion(d, e, region, variant, holdback, actor, "promote",
                                 reason_of(body), err, &status) != 0)
        http_reply_error(x, status, "conflict", "%s", err);
    else
        http_reply_json(x, 200, json_deep_copy(registry_get(d->reg, key)->def));
    json_decref(body);
}

static void unpromote(upshotd *d, http_exchange *x, experiment *e, const char *region,
                      const char *actor)
{
    char err[REGISTRY_ERR_MAX];
    int status = 500;
    if (!experiment_promotion(e, region)) {
        http_reply_error(x, 404, "unknown_promotion", "%s has no promotion in region %s", e->key, region);
        return;
    }
    const char *reason = evhttp_find_header(evhttp_request_get_input_headers(x->req), "X-Upshot-Reason");
    char key[VALIDATE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s", e->key); /* e is replaced on success */
    if (api_apply_promotion(d, e, region, NULL, 0, actor, "unpromote", reason, err, &status) != 0)
        http_reply_error(x, status, "internal", "%s", err);
    else
        http_reply_json(x, 200, json_deep_copy(registry_get(d->reg, key)->def));
}

/* ---- results ------------------------------------------------------------- */

typedef struct results_job {
    upshotd *d;
    http_exchange x;
    experiment *e;
    char region[VALIDATE_KEY_MAX + 1];
    bool replied;
    bool reply_pending; /* the Redis callback has not run yet */
    struct event *timer;
    void (*done)(struct results_job *job, const results_table *t); /* NULL: HTTP reply */
} results_job;

static void results_job_release(results_job *job)
{
    if (!job->replied || job->reply_pending)
        return;
    experiment_release(job->e);
    if (job->timer)
        event_free(job->timer);
    free(job);
}

static void on_results_reply(void *arg, store_status st, size_t n, const char *const *fields,
                             const char *const *values)
{
    results_job *job = arg;
    job->reply_pending = false;
    if (!job->replied) {
        job->replied = true;
        results_table t;
        if (st != STORE_OK) {
            /* Auto-promotion (job->done) just tries again at its next tick. */
            if (!job->done && st == STORE_NO_MEMORY)
                http_reply_error(&job->x, 500, "internal", "out of memory");
            else if (!job->done)
                http_reply_error(&job->x, 503, "redis_unavailable", "Redis did not answer: %s",
                                 st == STORE_UNAVAILABLE ? "connection lost" : store_status_name(st));
        } else if (results_build(&t, job->e->nvariants, n, fields, values) != 0) {
            if (!job->done)
                http_reply_error(&job->x, 500, "internal", "out of memory");
        } else if (job->done) {
            job->done(job, &t);
            results_free(&t);
        } else {
            json_t *body = results_json(&t, job->e, job->region[0] ? job->region : NULL);
            char now[32];
            registry_now_rfc3339(now);
            if (body) {
                json_object_set_new(body, "experiment", json_string(job->e->key));
                json_object_set_new(body, "status", json_string(experiment_status_name(job->e->status)));
                json_object_set_new(body, "control", json_string(job->e->variants[job->e->control].key));
                json_object_set_new(body, "goal", json_string(job->e->goal == EXP_GOAL_REVENUE ? "revenue" : job->e->goal == EXP_GOAL_AOV ? "aov" : "conversion"));
                json_object_set_new(body, "generated_at", json_string(now));
                analysis_attach(body, &t, job->e, &job->d->cfg, job->region[0] ? job->region : NULL);
            }
            results_free(&t);
            http_reply_json(&job->x, body ? 200 : 500, body);
        }
    }
    results_job_release(job);
}

static void on_results_timeout(evutil_socket_t fd, short what, void *arg)
{
    results_job *job = arg;
    if (!job->replied) {
        job->replied = true;
        if (!job->done)
            http_reply_error(&job->x, 503, "redis_unavailable", "Redis did not answer within %d ms",
                             RESULTS_BUDGET_MS);
    }
    results_job_release(job);
}

/* Starts reading e's counters; job->done or the HTTP reply follows. */
static int start_results(upshotd *d, results_job *job)
{
    job->reply_pending = true;
    if (store_fetch_counters(d->store, job->e->key, on_results_reply, job) != STORE_OK) {
        job->reply_pending = false;
        return -1;
    }
    job->timer = evtimer_new(d->base, on_results_timeout, job);
    struct timeval tv = {RESULTS_BUDGET_MS / 1000, (RESULTS_BUDGET_MS % 1000) * 1000};
    if (job->timer)
        event_add(job->timer, &tv);
    return 0;
}

static void results(upshotd *d, http_exchange *x, experiment *e, const http_query *q)
{
    results_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    job->d = d;
    job->x = *x;
    job->x.route = ROUTE_RESULTS;
    job->e = experiment_retain(e);
    int rl = http_query_value(q, "region", job->region, sizeof job->region);
    if (rl == -2 || (rl >= 0 && !validate_key(job->region))) {
        http_reply_error(x, 400, "invalid_region", "region: must be a region key");
        experiment_release(job->e);
        free(job);
        return;
    }
    if (rl < 0)
        job->region[0] = '\0';
    if (start_results(d, job) != 0) {
        http_reply_error(x, 503, "redis_unavailable", "Redis is unreachable (%s); results need it",
                         store_last_error(d->store));
        experiment_release(job->e);
        free(job);
    }
}

/* ---- automatic promotion ------------------------------------------------- */

static void auto_promote_done(results_job *job, const results_table *t)
{
    upshotd *d = job->d;
    experiment *live = registry_get(d->reg, job->e->key);
    if (!live || live != job->e || live->status != EXP_RUNNING)
        return; /* changed meanwhile: the next tick decides on fresh data */
    analysis_decisions dec;
    if (analysis_decide(t, live, &d->cfg, &dec) != 0)
        return;
    json_t *last = json_object_get(d->auto_last, live->key);
    if (!last) {
        last = json_object();
        json_object_set_new(d->auto_last, live->key, last);
    }
    for (size_t i = 0; i < dec.n; i++) {
        const analysis_region_decision *rd = &dec.regions[i];
        /* Every change of a region's recommendation goes to the audit log,
         * so the log explains why a promotion did or did not happen. */
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
        int status;
        snprintf(reason, sizeof reason, "%s", rd->why);
        const char *vkey = live->variants[rd->promote_variant].key;
        if (api_apply_promotion(d, live, rd->region, vkey, live->auto_holdback, "auto-promote",
                                "promote", reason, err, &status) == 0) {
            g_metrics.promotions_auto++;
            fprintf(stderr, "upshotd: auto-promoted %s in %s for %s\n", vkey, rd->region, live->key);
            live = registry_get(d->reg, job->e->key); /* replaced by the promotion */
        } else {
            fprintf(stderr, "upshotd: auto-promotion of %s failed: %s\n", live->key, err);
        }
    }
    analysis_decisions_free(&dec);
}

void api_auto_promote_tick(upshotd *d)
{
    for (size_t i = 0; i < registry_count(d->reg); i++) {
        experiment *e = registry_at(d->reg, i);
        if (!e->auto_promote || e->status != EXP_RUNNING)
            continue;
        results_job *job = calloc(1, sizeof *job);
        if (!job)
            return;
        job->d = d;
        job->e = experiment_retain(e);
        job->done = auto_promote_done;
        if (start_results(d, job) != 0) {
            experiment_release(job->e);
            free(job);
            return; /* Redis down: try next tick */
        }
    }
}

/* ---- routing ------------------------------------------------------------- */

void api_admin(upshotd *d, struct evhttp_request *req, const char *path, const http_query *q)
{
    http_exchange x;
    http_exchange_begin(&x, req, ROUTE_ADMIN);
    if (!http_admin_authorized(&d->cfg, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
        http_reply_error(&x, 401, "unauthorized", "admin endpoints need Authorization: Bearer <admin_token>");
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    char actor[65];
    actor_of(req, actor);

    if (strcmp(path, "/v1/admin/reload") == 0) {
        if (m != EVHTTP_REQ_POST) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            http_reply_error(&x, 405, "method_not_allowed", "use POST");
            return;
        }
        char err[CONFIG_ERR_MAX];
        if (upshotd_reload(d, actor, err, sizeof err) != 0)
            http_reply_error(&x, 400, "invalid_config", "%s", err);
        else
            http_reply_json(&x, 200, json_pack("{s:s, s:I}", "status", "reloaded", "experiments",
                                               (json_int_t)registry_count(d->reg)));
        return;
    }

    /* /v1/experiments[/KEY[/ACTION[/ARG]]] */
    const char *rest = path + strlen("/v1/experiments");
    char key[VALIDATE_KEY_MAX + 2] = "", action[32] = "", arg[VALIDATE_KEY_MAX + 2] = "";
    if (*rest == '/') {
        rest++;
        size_t kl = strcspn(rest, "/");
        if (kl > VALIDATE_KEY_MAX) {
            http_reply_error(&x, 404, "unknown_experiment", "no such experiment");
            return;
        }
        memcpy(key, rest, kl);
        key[kl] = '\0';
        rest += kl;
        if (*rest == '/') {
            rest++;
            size_t al = strcspn(rest, "/");
            if (al >= sizeof action) {
                http_reply_error(&x, 404, "not_found", "no such endpoint");
                return;
            }
            memcpy(action, rest, al);
            action[al] = '\0';
            rest += al;
            if (*rest == '/') {
                rest++;
                if (strlen(rest) > VALIDATE_KEY_MAX || strchr(rest, '/')) {
                    http_reply_error(&x, 404, "not_found", "no such endpoint");
                    return;
                }
                snprintf(arg, sizeof arg, "%s", rest);
            }
        }
    } else if (*rest) {
        http_reply_error(&x, 404, "not_found", "no such endpoint");
        return;
    }

#define ALLOW(methods_mask, allow_header)                                                  \
    if (!(m & (methods_mask))) {                                                           \
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow_header);  \
        http_reply_error(&x, 405, "method_not_allowed", "allowed: %s", allow_header);      \
        return;                                                                            \
    }

    if (!key[0]) {
        ALLOW(EVHTTP_REQ_GET | EVHTTP_REQ_POST, "GET, POST");
        if (m == EVHTTP_REQ_GET) {
            list_experiments(d, &x);
            return;
        }
        json_t *def;
        if (!read_json_body(d, &x, true, &def))
            return;
        char reason[501];
        take_reason(def, reason);
        put_and_reply(d, &x, def, EXP_FROM_USER, REG_CREATE, actor, "create",
                      reason[0] ? reason : NULL, NULL, 201);
        json_decref(def);
        return;
    }
    if (!validate_key(key)) {
        http_reply_error(&x, 404, "unknown_experiment", "experiment keys are [a-z0-9][a-z0-9_-]*");
        return;
    }
    experiment *e = registry_get(d->reg, key);
    if (!e) {
        http_reply_error(&x, 404, "unknown_experiment", "experiment %s does not exist", key);
        return;
    }
    if (!action[0]) {
        ALLOW(EVHTTP_REQ_GET | EVHTTP_REQ_PUT, "GET, PUT");
        if (m == EVHTTP_REQ_GET) {
            http_reply_json(&x, 200, json_deep_copy(e->def));
            return;
        }
        json_t *def;
        if (!read_json_body(d, &x, true, &def))
            return;
        const char *bk = json_string_value(json_object_get(def, "key"));
        if (bk && strcmp(bk, key) != 0) {
            json_decref(def);
            http_reply_error(&x, 400, "invalid_experiment", "key: the body says %s but the path %s", bk, key);
            return;
        }
        json_object_set_new(def, "key", json_string(key));
        char reason[501];
        take_reason(def, reason);
        put_and_reply(d, &x, def, EXP_FROM_USER, REG_UPDATE, actor, "update",
                      reason[0] ? reason : NULL, NULL, 200);
        json_decref(def);
        return;
    }
    if (strcmp(action, "start") == 0 || strcmp(action, "stop") == 0) {
        ALLOW(EVHTTP_REQ_POST, "POST");
        if (arg[0]) {
            http_reply_error(&x, 404, "not_found", "no such endpoint");
            return;
        }
        set_status(d, &x, e, action[2] == 'a' ? "running" : "stopped", actor);
        return;
    }
    if (strcmp(action, "results") == 0 && !arg[0]) {
        ALLOW(EVHTTP_REQ_GET, "GET");
        results(d, &x, e, q);
        return;
    }
    if (strcmp(action, "log") == 0 && !arg[0]) {
        ALLOW(EVHTTP_REQ_GET, "GET");
        http_reply_json(&x, 200, json_pack("{s:o}", "entries", audit_read(d->cfg.data_dir, key, 1000)));
        return;
    }
    if (strcmp(action, "promotions") == 0) {
        if (!arg[0]) {
            ALLOW(EVHTTP_REQ_POST | EVHTTP_REQ_GET, "GET, POST");
            if (m == EVHTTP_REQ_GET) {
                json_t *p = json_object_get(e->def, "promotions");
                http_reply_json(&x, 200, json_pack("{s:o}", "promotions", p ? json_deep_copy(p) : json_object()));
                return;
            }
            promote(d, &x, e, actor);
            return;
        }
        ALLOW(EVHTTP_REQ_DELETE, "DELETE");
        unpromote(d, &x, e, arg, actor);
        return;
    }
    http_reply_error(&x, 404, "not_found", "no such endpoint: %s", path);
#undef ALLOW
}
