/* api_admin.c: the endpoints of the growth team and the CLI (docs/api.md,
 * "Admin"). Every one needs the bearer token, which the router checks
 * before a handler runs (router.c). A change is computed from the live
 * snapshot by the registry (validated, read-only fields filled, revision
 * + 1), written to the shared state by one compare-and-set together with
 * its audit entry (shared_state.h), and answered only once Redis has it.
 * A change that lost a race with another instance's is reapplied on the
 * new definition when it touches something the other did not (a start,
 * stop, promotion or unpromotion), else refused with 409; If-Match pins
 * the revision (412). Registry outcomes become HTTP statuses here and
 * nowhere below. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "api.h"
#include "audit.h"
#include "results.h"
#include "shared_state.h"
#include "validate.h"
#include "worker.h"

#define RESULTS_BUDGET_MS 5000

/* The actor: the name of the admin token that authenticated the request
 * (the router set it). What a client says of itself in X-Upshot-Actor is
 * not trusted as the actor; it goes in *behalf ("" when absent, invalid or
 * the same name) and the audit entry keeps it as "on_behalf_of". */
static void actor_of(const http_exchange *x, char out[65], char behalf[65])
{
    snprintf(out, 65, "%s", x->actor[0] ? x->actor : "admin-api");
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(x->req), "X-Upshot-Actor");
    if (a && validate_id(a) && strlen(a) <= 64 && strcmp(a, out) != 0)
        snprintf(behalf, 65, "%s", a);
    else
        behalf[0] = '\0';
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

/* The optional "reason" of a body (for the audit log) must be a string of
 * at most 500 characters; replies 400 and returns false when it is not. */
static bool check_reason(http_exchange *x, json_t *body)
{
    json_t *r = json_object_get(body, "reason");
    if (r && (!json_is_string(r) || json_string_length(r) > 500)) {
        http_reply_error(x, 400, "invalid_reason", "reason: must be a string of at most 500 characters");
        return false;
    }
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

/* Replies to a change that was not made: the one place registry outcomes
 * become HTTP statuses and error codes. */
static void reply_registry_error(http_exchange *x, registry_status st, const char *err)
{
    int status = 500;
    const char *code = "internal";
    switch (st) {
    case REGISTRY_INVALID: status = 400; code = "invalid_experiment"; break;
    case REGISTRY_NOT_FOUND: status = 404; code = "unknown_experiment"; break;
    case REGISTRY_EXISTS:
    case REGISTRY_CONFLICT: status = 409; code = "conflict"; break;
    case REGISTRY_STALE: status = 409; code = "concurrent_change"; break;
    case REGISTRY_PRECONDITION: status = 412; code = "revision_mismatch"; break;
    case REGISTRY_UNAVAILABLE: status = 503; code = "redis_unavailable"; break;
    case REGISTRY_NOT_REPLICATED: status = 503; code = "not_replicated"; break;
    case REGISTRY_NO_MEMORY:
    case REGISTRY_OK: break;
    }
    http_reply_error(x, status, code, "%s", err);
}

/* Sends an experiment's definition with its revision as the ETag. */
static void reply_experiment(http_exchange *x, int status, const experiment *e)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", e->revision);
    evhttp_add_header(evhttp_request_get_output_headers(x->req), "ETag", etag);
    http_reply_json(x, status, json_deep_copy(e->def));
}

/* The revision of an If-Match header: -1 when there is none, -2 for "*"
 * (any revision), -3 when it names no revision. */
static long long if_match_of(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "If-Match");
    if (!h)
        return -1;
    while (*h == ' ')
        h++;
    if (strcmp(h, "*") == 0)
        return -2;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    if (*h == '"')
        h++;
    char *end;
    long long v = strtoll(h, &end, 10);
    if (end == h || v < 0 || (*end && *end != '"'))
        return -3;
    return v;
}

/* ---- changes ------------------------------------------------------------ */

typedef enum {
    OP_CREATE, OP_UPDATE, OP_START, OP_STOP, OP_PROMOTE, OP_UNPROMOTE,
    OP_SET_FIELD, /* a read-only field upshotd maintains (api_admin_set_field) */
    OP_BREAKER_TRIP,  /* the circuit breaker sends a region to control */
    OP_BREAKER_RESET  /* an operator lets the region randomize again */
} change_op;

/* How many times a change that keeps losing races is recomputed. */
#define CHANGE_ATTEMPTS 5

/* One change on its way through the shared state. */
typedef struct change_job {
    upshotd *d;
    http_exchange x;           /* when answering HTTP (done == NULL) */
    api_change_done *done;     /* auto-promotion */
    void *arg;
    change_op op;
    char key[VALIDATE_KEY_MAX + 1];
    char actor[65];
    char on_behalf[65];        /* X-Upshot-Actor, when it names someone else */
    char reason[501];
    bool has_reason;
    json_t *def;               /* OP_CREATE, OP_UPDATE: the request's definition;
                                  OP_SET_FIELD: the field's new value */
    char field[32];            /* OP_SET_FIELD */
    char region[VALIDATE_KEY_MAX + 1];
    char variant[VALIDATE_KEY_MAX + 1];
    double holdback;
    const char *action;        /* for the audit log */
    int ok_status;
    long long if_match;        /* if_match_of's */
    bool refreshed;            /* re-read after an If-Match mismatch */
    json_t *seen;              /* the field it changes, as first computed against */
    int attempts;
    json_t *trip;              /* OP_BREAKER_TRIP: the evidence, {variant, metric, ...} */
    json_t *details;           /* OP_SET_FIELD: the audit's details, when not the value */
} change_job;

static void change_run(change_job *job);

static void change_finish(change_job *job, registry_status st, const char *err)
{
    if (job->done) {
        job->done(job->arg, st, err);
    } else if (st == REGISTRY_OK) {
        experiment *e = registry_get(job->d->reg, job->key);
        if (e)
            reply_experiment(&job->x, job->ok_status, e);
        else
            http_reply_error(&job->x, 500, "internal", "the experiment vanished");
    } else {
        reply_registry_error(&job->x, st, err);
    }
    json_decref(job->def);
    json_decref(job->seen);
    json_decref(job->trip);
    json_decref(job->details);
    free(job);
}

/* The part of e a start, stop, promotion or unpromotion changes: its
 * status, or its promotion in the region ({variant, holdback}, or null). */
static json_t *touched_field(const change_job *job, const experiment *e)
{
    if (job->op == OP_SET_FIELD) {
        json_t *v = json_object_get(e->def, job->field);
        return v ? json_incref(v) : json_null();
    }
    if (job->op == OP_START || job->op == OP_STOP)
        return json_string(experiment_status_name(e->status));
    if (job->op == OP_BREAKER_TRIP || job->op == OP_BREAKER_RESET)
        return json_boolean(experiment_breaker_trip(e, job->region) != NULL);
    json_t *p = json_object_get(json_object_get(e->def, "promotions"), job->region);
    if (!p)
        return json_null();
    return json_pack("{s:O?, s:O?}", "variant", json_object_get(p, "variant"), "holdback",
                     json_object_get(p, "holdback"));
}

/* What the field is once the change is made. */
static json_t *target_field(const change_job *job)
{
    switch (job->op) {
    case OP_START: return json_string("running");
    case OP_STOP: return json_string("stopped");
    case OP_PROMOTE:
        return json_pack("{s:s, s:f}", "variant", job->variant, "holdback", job->holdback);
    case OP_SET_FIELD: return json_incref(job->def);
    case OP_BREAKER_TRIP: return json_true();
    case OP_BREAKER_RESET: return json_false();
    default: return json_null();
    }
}

static bool field_equal(json_t *a, json_t *b)
{
    json_t *ha = json_object_get(a, "holdback"), *hb = json_object_get(b, "holdback");
    if (ha && hb && json_is_number(ha) && json_is_number(hb))
        return json_equal(json_object_get(a, "variant"), json_object_get(b, "variant")) &&
               fabs(json_number_value(ha) - json_number_value(hb)) < 1e-12;
    return json_equal(a, b);
}

/* A trip writes breaker_trips[region] (the evidence and since) and takes
 * back the region's promotion in the same change, so no instance ever
 * serves a promoted variant in a tripped region; a reset removes the trip
 * and records the day in breaker_resets[region], from which the breaker
 * tests only new days (engine/core/analysis.c). */
static registry_status breaker_compute(change_job *job, experiment *e, experiment **next,
                                       json_t **details, char err[REGISTRY_ERR_MAX])
{
    char now[32], day[11];
    registry_now_rfc3339(now);
    snprintf(day, sizeof day, "%.10s", now);
    json_t *def = json_deep_copy(e->def);
    if (!def) {
        snprintf(err, REGISTRY_ERR_MAX, "out of memory");
        return REGISTRY_NO_MEMORY;
    }
    json_t *trips = json_object_get(def, "breaker_trips");
    if (!trips) {
        trips = json_object();
        json_object_set_new(def, "breaker_trips", trips);
    }
    if (job->op == OP_BREAKER_TRIP) {
        const char *vk = json_string_value(json_object_get(job->trip, "variant"));
        if (!experiment_targets_region(e, job->region) || !vk ||
            experiment_variant_index(e, vk) < 0) {
            json_decref(def);
            snprintf(err, REGISTRY_ERR_MAX, "experiment %s no longer runs in region %s with "
                     "that variant", e->key, job->region);
            return REGISTRY_STALE;
        }
        json_t *t = json_deep_copy(job->trip);
        json_object_set_new(t, "since", json_string(now));
        json_object_set_new(trips, job->region, t);
        json_t *proms = json_object_get(def, "promotions");
        json_t *withdrawn = json_incref(json_object_get(proms, job->region));
        if (withdrawn)
            json_object_del(proms, job->region);
        *details = json_deep_copy(job->trip);
        json_object_set_new(*details, "region", json_string(job->region));
        json_object_set_new(*details, "withdrew_promotion", withdrawn ? withdrawn : json_null());
    } else {
        json_t *was = json_incref(json_object_get(trips, job->region));
        json_object_del(trips, job->region);
        json_t *resets = json_object_get(def, "breaker_resets");
        if (!resets) {
            resets = json_object();
            json_object_set_new(def, "breaker_resets", resets);
        }
        json_object_set_new(resets, job->region, json_pack("{s:s, s:s}", "at", now, "day", day));
        *details = json_pack("{s:s, s:o, s:s}", "region", job->region, "was",
                             was ? was : json_null(), "tests_from_after", day);
    }
    registry_status st = registry_prepare(job->d->reg, def, EXP_FROM_STATE, REG_UPDATE, "api",
                                          next, err);
    json_decref(def);
    return st;
}

/* The definition the change makes of e (NULL for a create), and its audit
 * details. */
static registry_status change_compute(change_job *job, experiment *e, experiment **next,
                                      json_t **details, char err[REGISTRY_ERR_MAX])
{
    registry *reg = job->d->reg;
    *details = NULL;
    switch (job->op) {
    case OP_CREATE:
        return registry_prepare(reg, job->def, EXP_FROM_USER, REG_CREATE, "api", next, err);
    case OP_UPDATE:
        return registry_prepare(reg, job->def, EXP_FROM_USER, REG_UPDATE, "api", next, err);
    case OP_START:
    case OP_STOP: {
        const char *to = job->op == OP_START ? "running" : "stopped";
        json_t *def = experiment_def_with(e, "status", json_string(to));
        registry_status st = registry_prepare(reg, def, EXP_FROM_STATE, REG_UPDATE, "api", next, err);
        json_decref(def);
        *details = json_pack("{s:s, s:s}", "from", experiment_status_name(e->status), "to", to);
        return st;
    }
    case OP_PROMOTE:
        if (experiment_variant_index(e, job->variant) < 0 ||
            !experiment_targets_region(e, job->region)) {
            snprintf(err, REGISTRY_ERR_MAX, "experiment %s no longer has variant %s in region %s",
                     e->key, job->variant, job->region);
            return REGISTRY_STALE;
        }
        /* fall through */
    case OP_UNPROMOTE: {
        json_t *proms = json_deep_copy(json_object_get(e->def, "promotions"));
        if (!proms)
            proms = json_object();
        json_t *prev = json_incref(json_object_get(proms, job->region));
        char now[32];
        registry_now_rfc3339(now);
        if (job->op == OP_PROMOTE)
            json_object_set_new(proms, job->region,
                                json_pack("{s:s, s:f, s:s}", "variant", job->variant, "holdback",
                                          job->holdback, "since", now));
        else
            json_object_del(proms, job->region);
        json_t *def = experiment_def_with(e, "promotions", proms);
        registry_status st = registry_prepare(reg, def, EXP_FROM_STATE, REG_UPDATE, "api", next, err);
        json_decref(def);
        *details = job->op == OP_PROMOTE
                       ? json_pack("{s:s, s:s, s:f}", "region", job->region, "variant",
                                   job->variant, "holdback", job->holdback)
                       : json_pack("{s:s, s:O?}", "region", job->region, "was", prev);
        json_decref(prev);
        return st;
    }
    case OP_SET_FIELD: {
        json_t *def = experiment_def_with(e, job->field, json_incref(job->def));
        registry_status st = registry_prepare(reg, def, EXP_FROM_STATE, REG_UPDATE, "api", next, err);
        json_decref(def);
        *details = job->details ? json_deep_copy(job->details) : json_pack("{s:O}", job->field, job->def);
        return st;
    }
    case OP_BREAKER_TRIP:
    case OP_BREAKER_RESET:
        return breaker_compute(job, e, next, details, err);
    }
    return REGISTRY_INVALID;
}

static void on_change_refreshed(void *arg, shared_status st, const char *detail)
{
    change_job *job = arg;
    if (st == SHARED_OK)
        change_run(job);
    else
        change_finish(job, REGISTRY_UNAVAILABLE, "the shared state could not be re-read");
}

static void on_change_committed(void *arg, shared_status st, const char *detail)
{
    change_job *job = arg;
    char err[REGISTRY_ERR_MAX];
    switch (st) {
    case SHARED_OK:
        change_finish(job, REGISTRY_OK, NULL);
        return;
    case SHARED_CONFLICT:
        if (job->if_match != -1) {
            snprintf(err, sizeof err, "If-Match: %s", detail ? detail : "the revision moved");
            change_finish(job, REGISTRY_PRECONDITION, err);
            return;
        }
        if (job->op != OP_CREATE && job->op != OP_UPDATE && ++job->attempts < CHANGE_ATTEMPTS &&
            shared_state_refresh(job->d->shared, job->key, on_change_refreshed, job) == 0)
            return;
        snprintf(err, sizeof err, "%s changed %s while this change was made (%s); read it again "
                 "and retry", job->key, job->op == OP_CREATE ? "(created elsewhere)" : "elsewhere",
                 detail ? detail : "conflict");
        change_finish(job, job->op == OP_CREATE ? REGISTRY_EXISTS : REGISTRY_STALE, err);
        return;
    case SHARED_NOT_REPLICATED:
        snprintf(err, sizeof err, "the change is made on the Redis master but not confirmed by "
                 "redis.wait_replicas replicas (%s): a failover now could lose it", detail);
        change_finish(job, REGISTRY_NOT_REPLICATED, err);
        return;
    case SHARED_UNAVAILABLE:
        snprintf(err, sizeof err, "Redis is unreachable (%s); whether the change was made is "
                 "unknown: read the experiment again", detail ? detail : "connection lost");
        change_finish(job, REGISTRY_UNAVAILABLE, err);
        return;
    default:
        snprintf(err, sizeof err, "Redis refused the change: %s", detail ? detail : "error");
        change_finish(job, REGISTRY_NO_MEMORY, err);
        return;
    }
}

/* Computes the change on the live definition and sends it; after a lost
 * race, first decides whether it still applies. */
static void change_run(change_job *job)
{
    upshotd *d = job->d;
    char err[REGISTRY_ERR_MAX];
    if (!shared_state_is_up(d->shared)) {
        snprintf(err, sizeof err, "Redis is unreachable (%s): changes are refused until it is "
                 "back; assignments are served from the cached copy",
                 shared_state_last_error(d->shared));
        change_finish(job, REGISTRY_UNAVAILABLE, err);
        return;
    }
    experiment *e = registry_get(d->reg, job->key);
    if (!e && job->op != OP_CREATE) {
        snprintf(err, sizeof err, "experiment %s does not exist", job->key);
        change_finish(job, REGISTRY_NOT_FOUND, err);
        return;
    }
    if (job->if_match != -1 && job->op != OP_CREATE &&
        (job->if_match == -3 || (job->if_match >= 0 && e->revision != job->if_match))) {
        /* This instance's copy may be behind the client's: look once. */
        if (job->if_match >= 0 && !job->refreshed &&
            shared_state_refresh(d->shared, job->key, on_change_refreshed, job) == 0) {
            job->refreshed = true;
            return;
        }
        snprintf(err, sizeof err, "If-Match names revision %s, but %s is at revision %lld",
                 job->if_match == -3 ? "(unreadable)" : "another", job->key, e->revision);
        change_finish(job, REGISTRY_PRECONDITION, err);
        return;
    }
    if (job->op != OP_CREATE && job->op != OP_UPDATE) {
        json_t *now = touched_field(job, e), *target = target_field(job);
        bool done = field_equal(now, target);
        bool moved = job->seen && !field_equal(now, job->seen);
        if (!job->seen)
            job->seen = json_incref(now);
        json_decref(now);
        json_decref(target);
        if (done) { /* idempotent, or another request made the same change */
            change_finish(job, REGISTRY_OK, NULL);
            return;
        }
        if (moved) {
            snprintf(err, sizeof err, "another request changed the %s of %s (now revision %lld) "
                     "while this %s was made; read it again and retry",
                     job->op == OP_START || job->op == OP_STOP ? "status"
                     : job->op == OP_SET_FIELD                 ? job->field
                     : job->op == OP_BREAKER_TRIP || job->op == OP_BREAKER_RESET
                         ? "circuit breaker of the region"
                         : "promotion in the region",
                     job->key, e->revision, job->action);
            change_finish(job, REGISTRY_STALE, err);
            return;
        }
    }
    experiment *next = NULL;
    json_t *details = NULL;
    registry_status st = change_compute(job, e, &next, &details, err);
    if (st != REGISTRY_OK) {
        json_decref(details);
        change_finish(job, st, err);
        return;
    }
    if (job->on_behalf[0]) {
        if (!details)
            details = json_object();
        if (details && json_is_object(details))
            json_object_set_new(details, "on_behalf_of", json_string(job->on_behalf));
    }
    char *line = audit_entry(job->actor, job->action, next->key,
                             job->has_reason ? job->reason : NULL, details);
    json_t *audit = json_array();
    if (line && audit)
        json_array_append_new(audit, json_string(line));
    free(line);
    int rc = audit && json_array_size(audit) == 1
                 ? shared_state_commit(d->shared, &next, NULL, 1, audit, on_change_committed, job)
                 : -1;
    json_decref(audit);
    experiment_release(next);
    if (rc != 0)
        change_finish(job, REGISTRY_UNAVAILABLE, "Redis is unreachable: the change was not made");
}

static change_job *change_new(upshotd *d, http_exchange *x, change_op op, const char *key,
                              const char *action, const char *reason)
{
    change_job *job = calloc(1, sizeof *job);
    if (!job) {
        if (x)
            http_reply_error(x, 500, "internal", "out of memory");
        return NULL;
    }
    job->d = d;
    job->op = op;
    job->action = action;
    job->ok_status = 200;
    job->if_match = -1;
    snprintf(job->key, sizeof job->key, "%s", key);
    if (x) {
        job->x = *x;
        actor_of(x, job->actor, job->on_behalf);
        job->if_match = if_match_of(x->req);
    }
    job->has_reason = reason && *reason;
    snprintf(job->reason, sizeof job->reason, "%s", reason ? reason : "");
    return job;
}

static void set_status(upshotd *d, http_exchange *x, experiment *e, const char *status)
{
    json_t *body;
    if (!read_json_body(d, x, false, &body))
        return;
    if (!check_reason(x, body)) {
        json_decref(body);
        return;
    }
    bool start = strcmp(status, "running") == 0;
    change_job *job = change_new(d, x, start ? OP_START : OP_STOP, e->key, start ? "start" : "stop",
                                 reason_of(body));
    json_decref(body);
    if (job)
        change_run(job);
}

int api_admin_apply_promotion(upshotd *d, const char *key, const char *region,
                              const char *variant, double holdback, const char *actor,
                              const char *action, const char *reason, api_change_done *done,
                              void *arg)
{
    if (!shared_state_is_up(d->shared))
        return -1;
    change_job *job = change_new(d, NULL, variant ? OP_PROMOTE : OP_UNPROMOTE, key, action, reason);
    if (!job)
        return -1;
    job->done = done;
    job->arg = arg;
    snprintf(job->actor, sizeof job->actor, "%s", actor);
    snprintf(job->region, sizeof job->region, "%s", region);
    snprintf(job->variant, sizeof job->variant, "%s", variant ? variant : "");
    job->holdback = holdback;
    change_run(job);
    return 0;
}

int api_admin_set_field(upshotd *d, const char *key, const char *field, json_t *value,
                        const char *actor, const char *action, api_change_done *done, void *arg)
{
    if (!shared_state_is_up(d->shared) || strlen(field) >= sizeof ((change_job *)0)->field)
        return -1;
    change_job *job = change_new(d, NULL, OP_SET_FIELD, key, action, NULL);
    if (!job)
        return -1;
    job->done = done;
    job->arg = arg;
    job->def = json_incref(value);
    snprintf(job->field, sizeof job->field, "%s", field);
    snprintf(job->actor, sizeof job->actor, "%s", actor);
    change_run(job);
    return 0;
}

int api_admin_set_field_audited(upshotd *d, const char *key, const char *field, json_t *value,
                                json_t *details, const char *actor, const char *action,
                                api_change_done *done, void *arg)
{
    if (!shared_state_is_up(d->shared) || strlen(field) >= sizeof ((change_job *)0)->field) {
        json_decref(details);
        return -1;
    }
    change_job *job = change_new(d, NULL, OP_SET_FIELD, key, action, NULL);
    if (!job) {
        json_decref(details);
        return -1;
    }
    job->done = done;
    job->arg = arg;
    job->def = json_incref(value);
    job->details = details;
    snprintf(job->field, sizeof job->field, "%s", field);
    snprintf(job->actor, sizeof job->actor, "%s", actor);
    change_run(job);
    return 0;
}

int api_admin_apply_breaker_trip(upshotd *d, const char *key, const char *region,
                                 json_t *evidence, const char *reason, api_change_done *done,
                                 void *arg)
{
    if (!shared_state_is_up(d->shared)) {
        json_decref(evidence);
        return -1;
    }
    change_job *job = change_new(d, NULL, OP_BREAKER_TRIP, key, "breaker_trip", reason);
    if (!job) {
        json_decref(evidence);
        return -1;
    }
    job->done = done;
    job->arg = arg;
    job->trip = evidence;
    snprintf(job->actor, sizeof job->actor, "breaker");
    snprintf(job->region, sizeof job->region, "%s", region);
    change_run(job);
    return 0;
}

static void promote(upshotd *d, http_exchange *x, experiment *e)
{
    json_t *body;
    if (!read_json_body(d, x, true, &body))
        return;
    const char *region = json_string_value(json_object_get(body, "region"));
    json_t *jv = json_object_get(body, "variant");
    const char *variant = json_string_value(jv);
    json_t *h = json_object_get(body, "holdback");
    double holdback = h ? json_number_value(h) : 0.05;
    json_t *r = json_object_get(body, "reason");
    if (r && (!json_is_string(r) || json_string_length(r) > 500))
        http_reply_error(x, 400, "invalid_reason", "reason: must be a string of at most 500 characters");
    else if (!region || !validate_key(region))
        http_reply_error(x, 400, "invalid_region", "region: required, a region key");
    else if (jv && !json_is_string(jv))
        http_reply_error(x, 400, "invalid_variant", "variant: must be a string");
    else if (!variant || experiment_variant_index(e, variant) < 0)
        http_reply_error(x, 400, "unknown_variant", "variant: required, a variant of %s", e->key);
    else if (h && (!json_is_number(h) || !(holdback >= 0 && holdback <= 0.5)))
        http_reply_error(x, 400, "invalid_holdback", "holdback: a share between 0 and 0.5");
    else if (!experiment_targets_region(e, region))
        http_reply_error(x, 409, "conflict", "experiment %s does not run in region %s", e->key, region);
    else if (experiment_breaker_trip(e, region))
        http_reply_error(x, 409, "breaker_tripped", "the circuit breaker of %s tripped in region "
                         "%s: its visitors get the control; reset it first "
                         "(POST .../breaker/reset)", e->key, region);
    else {
        change_job *job = change_new(d, x, OP_PROMOTE, e->key, "promote", reason_of(body));
        if (job) {
            snprintf(job->region, sizeof job->region, "%s", region);
            snprintf(job->variant, sizeof job->variant, "%s", variant);
            job->holdback = holdback;
            change_run(job);
        }
    }
    json_decref(body);
}

static void unpromote(upshotd *d, http_exchange *x, experiment *e, const char *region)
{
    if (!experiment_promotion(e, region)) {
        http_reply_error(x, 404, "unknown_promotion", "%s has no promotion in region %s", e->key, region);
        return;
    }
    const char *reason = evhttp_find_header(evhttp_request_get_input_headers(x->req), "X-Upshot-Reason");
    change_job *job = change_new(d, x, OP_UNPROMOTE, e->key, "unpromote", reason);
    if (job) {
        snprintf(job->region, sizeof job->region, "%s", region);
        change_run(job);
    }
}

/* ---- results ------------------------------------------------------------- */

/* A results read runs in three steps, so that the event loop never
 * computes statistics (docs/operations.md, "Off the event loop"):
 *
 *   1. loop:   HGETALL of the counters (store.c), at most RESULTS_BUDGET_MS;
 *              the reply is copied into the job with the analysis settings;
 *   2. worker: counters -> table -> statistics -> JSON -> bytes (HTTP), or
 *              the caller's work (auto-promotion), on data the job owns;
 *   3. loop:   the bytes are sent, or the caller's done runs.
 *
 * The job retains its experiment from step 1 to the end of step 3, where
 * it is released: the count is not atomic, so never on the worker. */

/* The Retry-After of a results request refused because the worker is
 * full: one computation of a large experiment takes about a second. */
#define RESULTS_RETRY_S 2
/* json_dumps flags of every JSON reply (http_reply_json's). */
#define RESULTS_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
/* A lower bound of the bytes of one row of "daily" (COUNTS of one
 * variant, region and day): its key names alone take more. It lets a
 * request whose body must exceed limits.max_results_bytes be refused
 * before the JSON is built, so the tree never grows past the bound. */
#define RESULTS_MIN_ROW_BYTES 128

typedef enum { RESULTS_OUT_OK, RESULTS_OUT_TOO_LARGE, RESULTS_OUT_NO_MEMORY } results_outcome;

typedef struct results_job {
    upshotd *d;
    experiment *e;           /* retained on the loop; released by results_job_release */
    bool replied;            /* Redis answered or the budget ran out */
    bool reply_pending;      /* the Redis callback has not run yet */
    bool on_worker;          /* submitted; its done has not run yet */
    struct event *timer;

    /* Step 2's input, owned: the counters (n pairs, pointers into one
     * block) and the analysis settings at the time Redis answered. */
    size_t n;
    char **fields, **values;
    analysis_settings settings;

    /* HTTP (work == NULL) */
    http_exchange x;
    char region[VALIDATE_KEY_MAX + 1]; /* "" for every region */
    char generated_at[32];
    long max_bytes;          /* limits.max_results_bytes */
    results_outcome outcome; /* step 2's verdict */
    char *body;              /* step 2's reply bytes, malloc'ed */
    size_t body_len;

    /* api_admin_fetch_results */
    api_results_work *work;
    api_results_done *done;
    void *arg;
    bool built;              /* step 2 made the table and ran work */
} results_job;

static void results_job_release(results_job *job)
{
    if (!job->replied || job->reply_pending || job->on_worker)
        return;
    experiment_release(job->e);
    if (job->timer)
        event_free(job->timer);
    free(job->fields); /* one block with values and the strings */
    free(job->body);
    free(job);
}

/* Copies the store's lent arrays into one block owned by the job: 2n
 * pointers, then the strings. */
static int copy_counters(results_job *job, size_t n, const char *const *fields,
                         const char *const *values)
{
    size_t bytes = 2 * n * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(fields[i]) + strlen(values[i]) + 2;
    char **block = malloc(bytes ? bytes : 1);
    if (!block)
        return -1;
    char *p = (char *)(block + 2 * n);
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(fields[i]) + 1, vl = strlen(values[i]) + 1;
        block[i] = memcpy(p, fields[i], fl);
        p += fl;
        block[n + i] = memcpy(p, values[i], vl);
        p += vl;
    }
    job->n = n;
    job->fields = block;
    job->values = block + n;
    return 0;
}

typedef struct bounded_buf {
    char *data;
    size_t len, cap, max;
    bool too_large;
} bounded_buf;

static int bounded_append(const char *buf, size_t size, void *arg)
{
    bounded_buf *b = arg;
    if (b->len + size > b->max) {
        b->too_large = true;
        return -1;
    }
    if (b->len + size + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + size + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, buf, size);
    b->len += size;
    b->data[b->len] = '\0';
    return 0;
}

/* Step 2 of an HTTP request, on the worker: the body as bytes, at most
 * job->max_bytes of them. */
static void results_body(results_job *job, const results_table *t)
{
    const char *filter = job->region[0] ? job->region : NULL;
    experiment *e = job->e;
    size_t rows = 0;
    for (int r = 0; r < t->nregions; r++)
        if (!filter || strcmp(filter, t->regions[r]) == 0)
            rows += (size_t)(t->ndays ? t->ndays : 1) * (size_t)t->nvariants;
    if (rows > (size_t)job->max_bytes / RESULTS_MIN_ROW_BYTES) {
        job->outcome = RESULTS_OUT_TOO_LARGE;
        return;
    }
    json_t *body = results_json(t, e, filter);
    if (!body) {
        job->outcome = RESULTS_OUT_NO_MEMORY;
        return;
    }
    json_object_set_new(body, "experiment", json_string(e->key));
    json_object_set_new(body, "status", json_string(experiment_status_name(e->status)));
    json_object_set_new(body, "control", json_string(e->variants[e->control].key));
    json_object_set_new(body, "goal", json_string(e->goal == EXP_GOAL_REVENUE ? "revenue"
                                                  : e->goal == EXP_GOAL_AOV   ? "aov"
                                                                              : "conversion"));
    json_object_set_new(body, "generated_at", json_string(job->generated_at));
    analysis_attach(body, t, e, &job->settings, filter);
    bounded_buf b = {.max = (size_t)job->max_bytes};
    int rc = json_dump_callback(body, bounded_append, &b, RESULTS_JSON_FLAGS);
    json_decref(body);
    if (rc != 0 || !b.data) {
        free(b.data);
        job->outcome = b.too_large ? RESULTS_OUT_TOO_LARGE : RESULTS_OUT_NO_MEMORY;
        return;
    }
    job->body = b.data;
    job->body_len = b.len;
    job->outcome = RESULTS_OUT_OK;
}

/* Step 2, on the worker. */
static void results_work(void *arg)
{
    results_job *job = arg;
    results_table t;
    int rc = results_build(&t, job->e->nvariants, job->n, (const char *const *)job->fields,
                           (const char *const *)job->values);
    free(job->fields); /* the table holds what is needed now */
    job->fields = job->values = NULL;
    job->n = 0;
    if (rc != 0) {
        job->outcome = RESULTS_OUT_NO_MEMORY;
        return;
    }
    if (job->work) {
        job->work(job->arg, job->e, &t, &job->settings);
        job->built = true;
    } else {
        results_body(job, &t);
    }
    results_free(&t);
}

static void free_body(const void *data, size_t len, void *extra)
{
    free((void *)data);
}

static void reply_busy(http_exchange *x, const char *why)
{
    g_metrics.results_busy++;
    char retry[8];
    snprintf(retry, sizeof retry, "%d", RESULTS_RETRY_S);
    evhttp_add_header(evhttp_request_get_output_headers(x->req), "Retry-After", retry);
    http_reply_error(x, 503, "busy", "%s; retry after %d s", why, RESULTS_RETRY_S);
}

/* Step 3, on the loop. */
static void results_done(void *arg, bool ran)
{
    results_job *job = arg;
    job->on_worker = false;
    if (job->work) {
        job->done(job->arg, job->e, ran && job->built);
    } else if (!ran) {
        reply_busy(&job->x, "the server is shutting down");
    } else if (job->outcome == RESULTS_OUT_OK) {
        /* The bytes are handed to evhttp as they are: no copy on the loop. */
        struct evbuffer *out = evhttp_request_get_output_buffer(job->x.req);
        if (evbuffer_add_reference(out, job->body, job->body_len, free_body, NULL) == 0) {
            job->body = NULL;
            http_reply_raw(&job->x, 200, "application/json", NULL, 0);
        } else {
            http_reply_error(&job->x, 500, "internal", "out of memory");
        }
    } else if (job->outcome == RESULTS_OUT_TOO_LARGE) {
        http_reply_error(&job->x, 422, "results_too_large",
                         "the results of %s exceed limits.max_results_bytes (%ld bytes); "
                         "ask for one region at a time with ?region=", job->e->key,
                         job->max_bytes);
    } else {
        http_reply_error(&job->x, 500, "internal", "out of memory");
    }
    results_job_release(job);
}

/* Step 1 ends: Redis answered (or gave up). Hands the job to the worker. */
static void on_results_reply(void *arg, store_status st, size_t n, const char *const *fields,
                             const char *const *values)
{
    results_job *job = arg;
    job->reply_pending = false;
    if (job->replied) { /* the budget ran out first: answered already */
        results_job_release(job);
        return;
    }
    job->replied = true;
    if (job->timer)
        event_del(job->timer);
    worker_status ws = WORKER_STOPPED;
    if (st == STORE_OK && copy_counters(job, n, fields, values) != 0)
        st = STORE_NO_MEMORY;
    if (st == STORE_OK) {
        analysis_settings_from(&job->settings, &job->d->cfg);
        job->max_bytes = job->d->cfg.max_results_bytes;
        registry_now_rfc3339(job->generated_at);
        if (job->d->worker)
            ws = worker_submit(job->d->worker, results_work, results_done, job);
        job->on_worker = ws == WORKER_OK;
    }
    if (job->on_worker)
        return;
    if (job->work) {
        job->done(job->arg, job->e, false); /* auto-promotion tries again at its next tick */
    } else if (st == STORE_NO_MEMORY || ws == WORKER_NO_MEMORY) {
        http_reply_error(&job->x, 500, "internal", "out of memory");
    } else if (st != STORE_OK) {
        http_reply_error(&job->x, 503, "redis_unavailable", "Redis did not answer: %s",
                         st == STORE_UNAVAILABLE ? "connection lost" : store_status_name(st));
    } else {
        reply_busy(&job->x, ws == WORKER_FULL ? "every results worker is busy"
                                              : "the server is shutting down");
    }
    results_job_release(job);
}

static void on_results_timeout(evutil_socket_t fd, short what, void *arg)
{
    results_job *job = arg;
    if (!job->replied) {
        job->replied = true;
        if (job->work)
            job->done(job->arg, job->e, false);
        else
            http_reply_error(&job->x, 503, "redis_unavailable", "Redis did not answer within %d ms",
                             RESULTS_BUDGET_MS);
    }
    results_job_release(job);
}

/* Starts reading e's counters; the reply or job->done follows. */
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

/* Looks up the live experiment a {key} row names; replies 404 and returns
 * NULL when there is none. */
static experiment *path_experiment(upshotd *d, http_exchange *x, const route_params *p)
{
    const char *key = route_param(p, "key");
    experiment *e = key ? registry_get(d->reg, key) : NULL;
    if (!e)
        http_reply_error(x, 404, "unknown_experiment", "experiment %s does not exist",
                         key ? key : "?");
    return e;
}

void api_admin_results(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (!e)
        return;
    results_job *job = calloc(1, sizeof *job);
    if (!job) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    job->d = d;
    job->x = *x;
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

int api_admin_fetch_results(upshotd *d, experiment *e, api_results_work *work,
                            api_results_done *done, void *arg)
{
    results_job *job = calloc(1, sizeof *job);
    if (!job)
        return -1;
    job->d = d;
    job->e = experiment_retain(e);
    job->work = work;
    job->done = done;
    job->arg = arg;
    if (start_results(d, job) != 0) {
        experiment_release(job->e);
        free(job);
        return -1;
    }
    return 0;
}

/* ---- the handlers of the route table (router.c) ----------------------- */

typedef struct reload_reply {
    upshotd *d;
    http_exchange x;
} reload_reply;

static void on_reloaded(void *arg, registry_status st, const char *err)
{
    reload_reply *rr = arg;
    if (st == REGISTRY_INVALID || st == REGISTRY_CONFLICT)
        http_reply_error(&rr->x, 400, "invalid_config", "%s", err);
    else if (st != REGISTRY_OK)
        reply_registry_error(&rr->x, st, err);
    else
        http_reply_json(&rr->x, 200, json_pack("{s:s, s:I}", "status", "reloaded", "experiments",
                                               (json_int_t)registry_count(rr->d->reg)));
    free(rr);
}

void api_admin_reload(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    char actor[65], behalf[65], err[CONFIG_ERR_MAX];
    actor_of(x, actor, behalf);
    reload_reply *rr = calloc(1, sizeof *rr);
    if (!rr) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    rr->d = d;
    rr->x = *x;
    registry_status st = upshotd_reload(d, actor, on_reloaded, rr, err, sizeof err);
    if (st != REGISTRY_OK)
        on_reloaded(rr, st, err);
}

void api_admin_list(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    json_t *a = json_array();
    for (size_t i = 0; i < registry_count(d->reg); i++)
        json_array_append(a, registry_at(d->reg, i)->def);
    http_reply_json(x, 200, json_pack("{s:o}", "experiments", a));
}

/* Create and replace: the request's definition through the shared state. */
static void put_definition(upshotd *d, http_exchange *x, json_t *def, change_op op)
{
    char reason[501];
    take_reason(def, reason);
    const char *key = json_string_value(json_object_get(def, "key"));
    change_job *job = change_new(d, x, op, key ? key : "", op == OP_CREATE ? "create" : "update",
                                 reason);
    if (!job) {
        json_decref(def);
        return;
    }
    job->def = def;
    job->ok_status = op == OP_CREATE ? 201 : 200;
    change_run(job);
}

void api_admin_create(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    json_t *def;
    if (!read_json_body(d, x, true, &def))
        return;
    if (!check_reason(x, def)) {
        json_decref(def);
        return;
    }
    put_definition(d, x, def, OP_CREATE);
}

void api_admin_get(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (e)
        reply_experiment(x, 200, e);
}

void api_admin_replace(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (!e)
        return;
    json_t *def;
    if (!read_json_body(d, x, true, &def))
        return;
    json_t *jk = json_object_get(def, "key");
    const char *bk = json_string_value(jk);
    if (jk && !json_is_string(jk)) {
        http_reply_error(x, 400, "invalid_experiment", "key: must be a string");
        json_decref(def);
        return;
    }
    if (!check_reason(x, def)) {
        json_decref(def);
        return;
    }
    if (bk && strcmp(bk, e->key) != 0) {
        http_reply_error(x, 400, "invalid_experiment", "key: the body says %s but the path %s", bk,
                         e->key);
        json_decref(def);
        return;
    }
    json_object_set_new(def, "key", json_string(e->key));
    put_definition(d, x, def, OP_UPDATE);
}

/* Start and stop: the {key} experiment's status becomes status. */
static void set_status_of_path(upshotd *d, http_exchange *x, const route_params *p,
                               const char *status)
{
    experiment *e = path_experiment(d, x, p);
    if (e)
        set_status(d, x, e, status);
}

void api_admin_start(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    set_status_of_path(d, x, p, "running");
}

void api_admin_stop(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    set_status_of_path(d, x, p, "stopped");
}

static void on_log_read(void *arg, shared_status st, json_t *entries)
{
    http_exchange *x = arg;
    if (st == SHARED_OK)
        http_reply_json(x, 200, json_pack("{s:O}", "entries", entries));
    else
        http_reply_error(x, 503, "redis_unavailable", "the audit log lives in Redis, which did "
                         "not answer");
    free(x);
}

void api_admin_log(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (!e)
        return;
    http_exchange *held = malloc(sizeof *held);
    if (!held) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    *held = *x;
    if (shared_state_read_log(d->shared, e->key, 1000, on_log_read, held) != 0) {
        free(held);
        http_reply_error(x, 503, "redis_unavailable", "the audit log lives in Redis, which is "
                         "unreachable (%s)", shared_state_last_error(d->shared));
    }
}

void api_admin_promotions(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (!e)
        return;
    json_t *proms = json_object_get(e->def, "promotions");
    http_reply_json(x, 200, json_pack("{s:o}", "promotions",
                                      proms ? json_deep_copy(proms) : json_object()));
}

void api_admin_promote(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (e)
        promote(d, x, e);
}

void api_admin_unpromote(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (e)
        unpromote(d, x, e, route_param(p, "region"));
}

/* ---- circuit breaker ------------------------------------------------------ */

void api_admin_breaker(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (!e)
        return;
    analysis_settings s;
    analysis_settings_from(&s, &d->cfg);
    json_t *b = analysis_breaker_json(e, &s);
    json_t *resets = json_object_get(e->def, "breaker_resets");
    json_object_set_new(b, "resets", resets ? json_deep_copy(resets) : json_object());
    http_reply_json(x, 200, json_pack("{s:s, s:o}", "experiment", e->key, "breaker", b));
}

/* POST .../breaker/reset {"region": "de", "reason": "..."}: the region
 * randomizes again, and the breaker tests only the days after today. */
void api_admin_breaker_reset(upshotd *d, http_exchange *x, const http_query *q,
                             const route_params *p)
{
    experiment *e = path_experiment(d, x, p);
    if (!e)
        return;
    json_t *body;
    if (!read_json_body(d, x, true, &body))
        return;
    const char *region = json_string_value(json_object_get(body, "region"));
    if (!check_reason(x, body)) {
        /* replied */
    } else if (!region || !validate_key(region)) {
        http_reply_error(x, 400, "invalid_region", "region: required, a region key");
    } else if (!experiment_breaker_trip(e, region)) {
        http_reply_error(x, 404, "unknown_trip", "the circuit breaker of %s has not tripped in "
                         "region %s", e->key, region);
    } else {
        change_job *job = change_new(d, x, OP_BREAKER_RESET, e->key, "breaker_reset",
                                     reason_of(body));
        if (job) {
            snprintf(job->region, sizeof job->region, "%s", region);
            change_run(job);
        }
    }
    json_decref(body);
}
