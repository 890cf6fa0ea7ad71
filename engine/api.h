/* api.h: the handlers the route table (router.c) points to, and the few
 * pieces api_admin.c lends to the automatic promotion (autopromote.c).
 *
 * A handler runs after the router has matched its row, checked the row's
 * authentication (and, for public rows, CORS) and begun the exchange x
 * with the row's metrics route. Path parameters arrive in p, already
 * valid keys. Every handler ends in exactly one http_reply_* on x, now
 * or later from a callback (it then keeps a copy of *x: x itself lives on
 * the router's stack). */
#ifndef UPSHOT_API_H
#define UPSHOT_API_H

#include "analysis.h"
#include "http.h"
#include "registry.h"
#include "results.h"
#include "route.h"
#include "server.h"

typedef void api_handler(upshotd *d, http_exchange *x, const http_query *q,
                         const route_params *p);

/* server.c */
api_handler upshotd_healthz, upshotd_metrics;

/* api_public.c: the shop's pages, and the SDK bundle they load. */
api_handler api_assign, api_assignments, api_sdk_config, api_events, api_sdk_bundle;

/* api_public.c keeps caches of the live set (the page index, the SDK
 * snapshot), each valid for one registry_version. Owned by the upshotd;
 * api_public_free(NULL) does nothing. */
typedef struct api_public api_public;
api_public *api_public_new(void);
void api_public_free(api_public *pub);

/* api_admin.c: the growth team; every row is admin-only. {key} rows
 * answer 404 for an experiment that is not live. */
api_handler api_admin_list, api_admin_create, api_admin_get, api_admin_replace;
api_handler api_admin_start, api_admin_stop, api_admin_results, api_admin_log;
api_handler api_admin_promotions, api_admin_promote, api_admin_unpromote, api_admin_reload;
api_handler api_admin_breaker, api_admin_breaker_reset;

/* Reads e's counters from Redis (HGETALL, at most 5 s), then, on the
 * worker (worker.h), builds their table and calls work(arg, e, t, s) with
 * it and the analysis settings of the moment Redis answered; then
 * done(arg, e, ok) on the loop. ok is false when Redis failed or timed
 * out, the worker was full or shutting down, or memory ran out: work did
 * not run. work follows worker.h's rules (it reads e, t, s and what arg
 * owns, nothing else). e is retained until done returns. 0, or -1 (Redis
 * unreachable, out of memory): nothing was started, done will not run. */
typedef void api_results_work(void *arg, const experiment *e, const results_table *t,
                              const analysis_settings *s);
typedef void api_results_done(void *arg, experiment *e, bool ok);
int api_admin_fetch_results(upshotd *d, experiment *e, api_results_work *work,
                            api_results_done *done, void *arg);

/* Sets (variant non-NULL) or removes the promotion of region in experiment
 * key through the shared state (the same compare-and-set as a change made
 * by hand, audited as actor/action with reason, reapplied on a newer
 * definition when another change touched something else). done runs once
 * from the loop with the outcome, unless this returns -1 (out of memory,
 * or the shared state is down: nothing was changed). */
typedef void api_change_done(void *arg, registry_status st, const char *err);
int api_admin_apply_promotion(upshotd *d, const char *key, const char *region,
                              const char *variant, double holdback, const char *actor,
                              const char *action, const char *reason, api_change_done *done,
                              void *arg);

/* Sets field of experiment key's definition to value (a read-only field
 * upshotd itself maintains: "capping_learned", engine/capping.h) through
 * the same compare-and-set, audited as actor/action with the value as its
 * details. Done when the field already holds value; refused (stale) when
 * another change set it otherwise meanwhile. done and the return value as
 * for api_admin_apply_promotion; value is borrowed. */
int api_admin_set_field(upshotd *d, const char *key, const char *field, json_t *value,
                        const char *actor, const char *action, api_change_done *done, void *arg);

/* The same, with details (stolen) as the audit entry's details instead of
 * the value: the bandit updater records its inputs (engine/bandit.h). */
int api_admin_set_field_audited(upshotd *d, const char *key, const char *field, json_t *value,
                                json_t *details, const char *actor, const char *action,
                                api_change_done *done, void *arg);

/* Records a trip of the circuit breaker in region of experiment key (the
 * region then gets the control on every instance, its promotion, if any,
 * withdrawn in the same change), audited as actor "breaker", action
 * "breaker_trip", with reason and the evidence (stolen: {variant, metric,
 * e_value, p, diff, day, ...}) as details. done as for
 * api_admin_apply_promotion; -1 (evidence freed): nothing was changed. */
int api_admin_apply_breaker_trip(upshotd *d, const char *key, const char *region,
                                 json_t *evidence, const char *reason, api_change_done *done,
                                 void *arg);

#endif
