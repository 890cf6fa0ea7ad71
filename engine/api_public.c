/* api_public.c: the endpoints shop pages call (docs/api.md, "Public").
 *
 * They never reveal results and never change configuration. The router
 * (router.c) has checked the origin and the SDK key before they run.
 *
 * The assign path is the hot one: a pure decision (assign.c), one journal
 * append when an exposure is recorded, and a reply built with snprintf
 * from payloads serialized when the experiment was loaded. It waits on Redis only for
 * an experiment whose weights changed after it started (stickiness), and
 * then at most STICKY_BUDGET_MS. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "assign.h"
#include "etag.h"
#include "event_check.h"
#include "journal_line.h"
#include "page_index.h"
#include "region_set.h"
#include "sdk_bundle.h" /* generated: the minified SDK (cmake/EmbedBytes.cmake) */
#include "validate.h"

#define STICKY_BUDGET_MS 50
#define MAX_PAGE_EXPERIMENTS 64

/* Caches of the live set, each rebuilt on the first request after the
 * registry_version it was built for. */
struct api_public {
    char *sdk_snapshot;            /* the /v1/sdk/config body */
    uint64_t sdk_snapshot_version;
    char sdk_etag[ETAG_FINGERPRINT_LEN + 1]; /* its ETag: the experiments' fingerprint */
    page_index *page_index;        /* running experiments by page and placement */
    uint64_t page_index_version;
    region_set *regions;           /* the regions counted by; also follows config reloads */
    uint64_t regions_version, regions_generation;
};

api_public *api_public_new(void)
{
    return calloc(1, sizeof(api_public));
}

void api_public_free(api_public *pub)
{
    if (!pub)
        return;
    free(pub->sdk_snapshot);
    page_index_free(pub->page_index);
    region_set_free(pub->regions);
    free(pub);
}

/* The region a visitor is counted in: the region the page sent when
 * upshotd knows it (the config's `regions` and those live experiments
 * name), else "other" (region_set.h says why). The set is rebuilt after a
 * change of either; if that fails, the previous one stays, and without
 * any every region counts as "other". */
static const char *counted_region(upshotd *d, const char *region)
{
    api_public *pub = d->pub;
    uint64_t version = registry_version(d->reg);
    if (!pub->regions || pub->regions_version != version ||
        pub->regions_generation != d->config_generation) {
        region_set *s = region_set_new();
        bool ok = s != NULL;
        for (int i = 0; ok && i < d->cfg.nregions; i++)
            ok = region_set_add(s, d->cfg.regions[i]) == 0;
        for (size_t i = 0; ok && i < registry_count(d->reg); i++) {
            const experiment *e = registry_at(d->reg, i);
            for (int r = 0; ok && !e->all_regions && r < e->nregions; r++)
                ok = region_set_add(s, e->regions[r]) == 0;
        }
        if (ok) {
            region_set_seal(s);
            region_set_free(pub->regions);
            pub->regions = s;
            pub->regions_version = version;
            pub->regions_generation = d->config_generation;
        } else {
            region_set_free(s);
            log_limited(&d->regions_log, "the region set could not be rebuilt; "
                        "keeping the previous one");
        }
    }
    return pub->regions ? region_set_fold(pub->regions, region) : REGION_OTHER;
}

/* ---- assignment (single and page) ------------------------------------ */

typedef struct assign_item {
    experiment *e;           /* retained */
    assign_result res;
    struct assign_job *job;
    bool lookup_pending;
} assign_item;

typedef struct assign_job {
    upshotd *d;
    http_exchange x;
    bool single;
    bool expose;
    double cart;             /* cart_value with expose, or -1 */
    bool finishing;          /* job_finish ran: the decision is final */
    bool replied;
    int outstanding;         /* Redis lookups not yet answered */
    struct event *timer;
    char visitor[VALIDATE_ID_MAX + 1];
    char region[VALIDATE_KEY_MAX + 1];
    int n;
    int capacity;            /* items allocated */
    const char *exposure[MAX_PAGE_EXPERIMENTS]; /* per item: recorded, none, ... */
    assign_item items[];
} assign_job;

/* Finished single-item jobs (the /v1/assign kind) kept for reuse: under
 * load a malloc here cost ~470 instructions in callgrind (evhttp's own
 * allocations churn the heap), a reuse a few. Bounded, so a burst does
 * not pin memory (256 jobs of ~1 KiB). The event loop is the only
 * thread that assigns. Off under AddressSanitizer, so that it still sees
 * every use after free. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang's spelling */
#define UPSHOT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(UPSHOT_ASAN)
#define JOB_CACHE_MAX 0
#else
#define JOB_CACHE_MAX 256
#endif
static assign_job *job_cache[JOB_CACHE_MAX + 1];
static int job_cache_len;

static void job_free(assign_job *job)
{
    if (job->capacity == 1 && job_cache_len < JOB_CACHE_MAX)
        job_cache[job_cache_len++] = job;
    else
        free(job);
}

/* A job with n items. Only the fields read before being written are
 * zeroed (the exposure table is filled by job_finish). */
static assign_job *job_new(int n)
{
    assign_job *job = n == 1 && job_cache_len > 0
                          ? job_cache[--job_cache_len]
                          : malloc(sizeof *job + (size_t)n * sizeof(assign_item));
    if (!job)
        return NULL;
    job->capacity = n;
    job->single = job->expose = job->finishing = job->replied = false;
    job->outstanding = 0;
    job->timer = NULL;
    job->n = 0;
    memset(job->items, 0, (size_t)n * sizeof(assign_item));
    return job;
}

static void job_release_if_done(assign_job *job)
{
    if (!job->replied || job->outstanding > 0)
        return;
    for (int i = 0; i < job->n; i++)
        experiment_release(job->items[i].e);
    if (job->timer)
        event_free(job->timer);
    job_free(job);
}

/* Appends one assignment object to out, assembled in a stack buffer and
 * added with one call: printf-style formatting and a dozen small adds
 * each showed in profiles of the assign path. */
static void append_assignment(struct evbuffer *out, const assign_item *it, const char *exposure)
{
    const experiment *e = it->e;
    const exp_variant *v = &e->variants[it->res.variant];
    const char *pieces[] = {
        "{\"experiment\":\"", e->key, "\",\"variant\":\"", v->key, "\",\"payload\":",
        v->payload_json,
        it->res.in_experiment ? ",\"in_experiment\":true,\"reason\":\""
                              : ",\"in_experiment\":false,\"reason\":\"",
        assign_reason_name(it->res.reason), "\",\"exposure\":\"", exposure, "\"}",
    };
    char buf[2048];
    size_t n = 0;
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        size_t l = strlen(pieces[i]);
        if (n + l > sizeof buf) { /* a large payload: flush and add directly */
            evbuffer_add(out, buf, n);
            n = 0;
            if (l > sizeof buf) {
                evbuffer_add(out, pieces[i], l);
                continue;
            }
        }
        memcpy(buf + n, pieces[i], l);
        n += l;
    }
    evbuffer_add(out, buf, n);
}

static void job_reply(assign_job *job)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(job->x.req);
    /* Written straight into the reply buffer: no intermediate copy. */
    if (job->single) {
        append_assignment(out, &job->items[0], job->exposure[0]);
    } else {
        /* visitor ids are printable ASCII: escape the two JSON specials */
        char head[sizeof "{\"visitor\":\"" + 2 * VALIDATE_ID_MAX + sizeof "\",\"region\":\"" +
                  VALIDATE_KEY_MAX + sizeof "\",\"assignments\":["];
        size_t n = sizeof "{\"visitor\":\"" - 1;
        memcpy(head, "{\"visitor\":\"", n);
        for (const char *p = job->visitor; *p; p++) {
            if (*p == '"' || *p == '\\')
                head[n++] = '\\';
            head[n++] = *p;
        }
        n += (size_t)snprintf(head + n, sizeof head - n, "\",\"region\":\"%s\",\"assignments\":[",
                              job->region);
        evbuffer_add(out, head, n);
        for (int i = 0; i < job->n; i++) {
            if (i)
                evbuffer_add(out, ",", 1);
            append_assignment(out, &job->items[i], job->exposure[i]);
        }
        evbuffer_add(out, "]}", 2);
    }
    http_reply_raw(&job->x, 200, "application/json", NULL, 0);
    job->replied = true;
}

/* Group commit done: the exposures are in the journal, or not (the
 * journal failed, or its backlog is full: the page still gets its
 * variant, and the exposure field says it was not recorded). Now the
 * client may hear it. */
static void on_exposures_committed(void *arg, upshotd_journal_status st)
{
    assign_job *job = arg;
    for (int i = 0; i < job->n; i++) {
        if (strcmp(job->exposure[i], "recorded") != 0)
            continue;
        if (st == UPSHOTD_JOURNALED)
            g_metrics.events[EVT_EXPOSURE][EVT_ACCEPTED]++;
        else
            job->exposure[i] = st == UPSHOTD_BACKLOG_FULL ? "backlog_full" : "failed";
    }
    job_reply(job);
    job_release_if_done(job);
}

/* The journal line of an exposure: a randomized exposure of a bandit
 * experiment carries the region's current period, the cohort its visitor
 * is counted in (docs/stats.md, periods). */
static size_t exposure_line(char *out, size_t cap, const experiment *e, bool promoted,
                            const char *visitor, int variant, const char *region, const char *day,
                            double cart)
{
    if (!promoted && experiment_is_bandit(e))
        return journal_line_exposure_period(out, cap, e->key, visitor, variant, region, day, cart,
                                            experiment_bandit_period(e, region));
    return journal_line_exposure(out, cap, promoted, e->key, visitor, variant, region, day, cart);
}

/* Makes the decision final, journals the exposures (group commit) and
 * replies once they are durable. */
static void job_finish(assign_job *job)
{
    upshotd *d = job->d;
    char lines[MAX_PAGE_EXPERIMENTS * JOURNAL_LINE_MAX];
    size_t total = 0;
    job->finishing = true;
    for (int i = 0; i < job->n; i++) {
        assign_item *it = &job->items[i];
        g_metrics.assignments[it->res.reason]++;
        job->exposure[i] = "none";
        if (!job->expose)
            continue;
        if (!it->res.counted) {
            job->exposure[i] = "skipped";
            continue;
        }
        /* Room for every item: lines holds n <= MAX_PAGE_EXPERIMENTS lines. */
        total += exposure_line(lines + total, sizeof lines - total, it->e, it->res.promoted,
                               job->visitor, it->res.variant, job->region, upshotd_today(d),
                               job->cart);
        job->exposure[i] = "recorded";
    }
    if (total == 0) {
        job_reply(job);
        return;
    }
    if (upshotd_journal_deferred(d, lines, total, on_exposures_committed, job) != 0)
        on_exposures_committed(job, UPSHOTD_JOURNAL_FAILED);
}

/* The visitor's record, or why there is none to go by. A record written
 * by an earlier version of the experiment keeps the visitor's variant
 * (stickiness); none means a new visitor; promoted records are not
 * sticky; anything else leaves the decision unverified. */
static void on_sticky_reply(void *arg, store_status st, const visitor_record *rec)
{
    assign_item *it = arg;
    assign_job *job = it->job;
    job->outstanding--;
    it->lookup_pending = false;
    if (!job->finishing) {
        if (st == STORE_OK) {
            if (rec->variant < it->e->nvariants && !rec->promoted) {
                it->res.variant = rec->variant;
                it->res.reason = ASSIGN_STICKY;
            }
        } else if (st != STORE_NOT_FOUND) {
            it->res.reason = ASSIGN_STICKY_UNVERIFIED;
        }
        if (job->outstanding == 0)
            job_finish(job);
    }
    job_release_if_done(job);
}

static void on_sticky_timeout(evutil_socket_t fd, short what, void *arg)
{
    assign_job *job = arg;
    if (job->finishing)
        return;
    for (int i = 0; i < job->n; i++)
        if (job->items[i].lookup_pending)
            job->items[i].res.reason = ASSIGN_STICKY_UNVERIFIED;
    job_finish(job);
    job_release_if_done(job);
}

/* Decides every item; starts Redis lookups for items that need stickiness;
 * replies now when none do. */
static void job_run(assign_job *job, const char *force)
{
    upshotd *d = job->d;
    for (int i = 0; i < job->n; i++) {
        assign_item *it = &job->items[i];
        it->job = job;
        it->res = assign_visitor(it->e, job->visitor, job->region, force);
        bool needs_lookup = assign_needs_lookup(it->e, job->visitor, job->region, &it->res);
        if (experiment_is_bandit(it->e) && it->res.reason == ASSIGN_ASSIGNED) {
            if (needs_lookup)
                g_metrics.bandit_lookups++;
            else
                g_metrics.bandit_no_lookup++;
        }
        if (!needs_lookup)
            continue;
        if (store_lookup_visitor(d->store, it->e->key, job->visitor, on_sticky_reply, it) == STORE_OK) {
            it->lookup_pending = true;
            job->outstanding++;
        } else {
            it->res.reason = ASSIGN_STICKY_UNVERIFIED;
        }
    }
    if (job->outstanding == 0) {
        job_finish(job);
        job_release_if_done(job);
        return;
    }
    job->timer = evtimer_new(d->base, on_sticky_timeout, job);
    struct timeval tv = {0, STICKY_BUDGET_MS * 1000};
    if (job->timer)
        event_add(job->timer, &tv);
}

/* Common checks of both assign endpoints: visitor, region, expose and
 * cart_value (the router has checked CORS and the SDK key). Replies and
 * returns false on a problem. */
static bool read_visitor_region(upshotd *d, http_exchange *x, const http_query *q, char *visitor,
                                char *region, bool *expose, double *cart)
{
    int vl = http_query_value(q, "visitor", visitor, VALIDATE_ID_MAX + 1);
    if (vl < 0 || !validate_id(visitor)) {
        http_reply_error(x, 400, "invalid_visitor",
                         "visitor: required, 1-%d printable ASCII characters", VALIDATE_ID_MAX);
        return false;
    }
    int rl = http_query_value(q, "region", region, VALIDATE_KEY_MAX + 1);
    if (rl < 0 || !validate_key(region)) {
        http_reply_error(x, 400, "invalid_region", "region: required, a key like \"gr\"");
        return false;
    }
    const char *counted = counted_region(d, region);
    if (counted != region && strcmp(counted, region) != 0)
        snprintf(region, VALIDATE_KEY_MAX + 1, "%s", counted);
    char ex[8];
    int el = http_query_value(q, "expose", ex, sizeof ex);
    if (el == -2 || (el >= 0 && strcmp(ex, "0") && strcmp(ex, "1") && strcmp(ex, "true") &&
                     strcmp(ex, "false"))) {
        http_reply_error(x, 400, "invalid_parameter", "expose: must be 0 or 1");
        return false;
    }
    *expose = el >= 0 && (strcmp(ex, "1") == 0 || strcmp(ex, "true") == 0);
    char cv[DECIMAL_G17_MAX + 2];
    int cl = http_query_value(q, "cart_value", cv, sizeof cv);
    *cart = -1;
    if (cl >= 0 || cl == -2) {
        char *end = NULL;
        double v = cl >= 0 && cl > 0 ? strtod(cv, &end) : NAN;
        if (!end || *end || !isfinite(v) || v < 0 || v > d->cfg.max_value) {
            http_reply_error(x, 400, "invalid_cart_value",
                             "cart_value: a number between 0 and %g, the cart's value when the "
                             "offer is shown",
                             d->cfg.max_value);
            return false;
        }
        *cart = v;
    }
    return true;
}

void api_assign(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    char visitor[VALIDATE_ID_MAX + 1], region[VALIDATE_KEY_MAX + 1], key[VALIDATE_KEY_MAX + 1];
    char force[VALIDATE_KEY_MAX + 1];
    bool expose;
    double cart;
    if (!read_visitor_region(d, x, q, visitor, region, &expose, &cart))
        return;
    if (http_query_value(q, "experiment", key, sizeof key) < 0 || !validate_key(key)) {
        http_reply_error(x, 400, "invalid_experiment", "experiment: required, an experiment key");
        return;
    }
    experiment *e = registry_get(d->reg, key);
    if (!e) {
        http_reply_error(x, 404, "unknown_experiment", "experiment %s does not exist", key);
        return;
    }
    int fl = http_query_value(q, "force", force, sizeof force);
    if (fl == -2 || (fl >= 0 && experiment_variant_index(e, force) < 0)) {
        http_reply_error(x, 400, "unknown_variant", "force: not a variant of %s", key);
        return;
    }
    assign_job *job = job_new(1);
    if (!job) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    job->d = d;
    job->x = *x;
    job->single = true;
    job->expose = expose;
    job->cart = cart;
    memcpy(job->visitor, visitor, sizeof visitor);
    memcpy(job->region, region, sizeof region);
    job->n = 1;
    job->items[0].e = experiment_retain(e);
    job_run(job, fl >= 0 ? force : NULL);
}

void api_assignments(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    api_public *pub = d->pub;
    char visitor[VALIDATE_ID_MAX + 1], region[VALIDATE_KEY_MAX + 1], page[VALIDATE_KEY_MAX + 1];
    bool expose;
    double cart;
    if (!read_visitor_region(d, x, q, visitor, region, &expose, &cart))
        return;
    int pl = http_query_value(q, "page", page, sizeof page);
    bool by_page = pl >= 0;
    if (!by_page)
        pl = http_query_value(q, "placement", page, sizeof page);
    if (pl < 0 || !validate_key(page)) {
        http_reply_error(x, 400, "invalid_parameter", "page or placement: required, a key");
        return;
    }
    if (!pub->page_index || pub->page_index_version != registry_version(d->reg)) {
        /* Rebuilt on the first page load after a change of the live set. */
        size_t total = registry_count(d->reg);
        experiment **all = malloc((total ? total : 1) * sizeof *all);
        page_index *ix = NULL;
        if (all) {
            for (size_t i = 0; i < total; i++)
                all[i] = registry_at(d->reg, i);
            ix = page_index_build(all, total);
            free(all);
        }
        if (!ix) {
            http_reply_error(x, 500, "internal", "out of memory");
            return;
        }
        page_index_free(pub->page_index);
        pub->page_index = ix;
        pub->page_index_version = registry_version(d->reg);
    }
    size_t count;
    experiment *const *found = page_index_find(pub->page_index, by_page, page, &count);
    int n = count < MAX_PAGE_EXPERIMENTS ? (int)count : MAX_PAGE_EXPERIMENTS;
    assign_job *job = job_new(n);
    if (!job) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    job->d = d;
    job->x = *x;
    job->expose = expose;
    job->cart = cart;
    memcpy(job->visitor, visitor, sizeof visitor);
    memcpy(job->region, region, sizeof region);
    job->n = n;
    for (int i = 0; i < n; i++)
        job->items[i].e = experiment_retain(found[i]);
    job_run(job, NULL);
}

/* ---- SDK snapshot ------------------------------------------------------ */

/* A bandit's part of the snapshot: the layout text of every region whose
 * weights moved, so the SDK assigns as upshotd does and knows which
 * buckets moved (docs/assignment.md, "Bandit stickiness"). */
static json_t *snapshot_bandit(const experiment *e)
{
    json_t *regions = json_object();
    json_t *st = json_object_get(json_object_get(e->def, "bandit_state"), "regions");
    for (int i = 0; i < e->bandit.nregions; i++) {
        const exp_bandit_region *r = &e->bandit.regions[i];
        json_t *layout = json_object_get(json_object_get(st, r->region), "layout");
        if (layout)
            json_object_set_new(regions, r->region, json_pack("{s:i, s:O}", "period", r->period,
                                                              "layout", layout));
    }
    return json_pack("{s:o}", "regions", regions);
}

static json_t *snapshot_of(const experiment *e)
{
    static const char *const fields[] = {
        "key", "salt", "status", "placement", "pages", "regions", "traffic_percent",
        "control", "layer", "allocation_version", "promotions", "breaker_trips", NULL,
    };
    json_t *o = json_object();
    for (const char *const *f = fields; *f; f++) {
        json_t *v = json_object_get(e->def, *f);
        if (v)
            json_object_set(o, *f, v);
    }
    json_object_set_new(o, "salt", json_string(e->salt));
    json_object_set_new(o, "control", json_string(e->variants[e->control].key));
    json_t *vs = json_array();
    for (int i = 0; i < e->nvariants; i++) {
        json_t *src = json_array_get(json_object_get(e->def, "variants"), (size_t)i);
        json_array_append_new(vs, json_pack("{s:s, s:f, s:O}", "key", e->variants[i].key,
                                            "weight", e->variants[i].weight, "payload",
                                            json_object_get(src, "payload")));
    }
    json_object_set_new(o, "variants", vs);
    if (experiment_is_bandit(e))
        json_object_set_new(o, "bandit", snapshot_bandit(e));
    json_object_set_new(o, "qa", json_pack("{s:b}", "query_override", e->qa_query_override));
    json_t *qa = json_object_get(e->def, "qa");
    if (json_object_get(qa, "visitors"))
        json_object_set(json_object_get(o, "qa"), "visitors", json_object_get(qa, "visitors"));
    return o;
}

void api_sdk_config(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    api_public *pub = d->pub;
    if (!pub->sdk_snapshot || pub->sdk_snapshot_version != registry_version(d->reg)) {
        char now[32];
        registry_now_rfc3339(now);
        json_t *exps = json_array();
        for (size_t i = 0; i < registry_count(d->reg); i++)
            if (registry_at(d->reg, i)->status != EXP_DRAFT)
                json_array_append_new(exps, snapshot_of(registry_at(d->reg, i)));
        /* The ETag is the fingerprint of the experiments alone, not of
         * generated_at or the generation, which differ between instances
         * and restarts serving the same definitions: so a page's cached
         * snapshot revalidates with a 304 on any instance behind the load
         * balancer as long as the experiments are the same, and a change
         * of any of them changes the tag. */
        char *exps_text = json_dumps(exps, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_t *root = json_pack("{s:s, s:I, s:o}", "generated_at", now, "generation",
                                 (json_int_t)registry_version(d->reg), "experiments", exps);
        free(pub->sdk_snapshot);
        pub->sdk_snapshot = exps_text ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15))
                                      : NULL;
        if (exps_text)
            etag_format_weak(etag_fnv1a64(exps_text, strlen(exps_text)), pub->sdk_etag);
        pub->sdk_snapshot_version = registry_version(d->reg);
        free(exps_text);
        json_decref(root);
    }
    if (!pub->sdk_snapshot) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    /* no-cache: a browser (or a CDN) may keep the snapshot, but asks
     * upshotd before each use, so a change reaches the next page load. */
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    evhttp_add_header(h, "ETag", pub->sdk_etag);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    if (etag_none_match(evhttp_find_header(evhttp_request_get_input_headers(x->req),
                                           "If-None-Match"),
                        pub->sdk_etag)) {
        http_reply_raw(x, 304, NULL, NULL, 0);
        return;
    }
    http_reply_raw(x, 200, "application/json", pub->sdk_snapshot, strlen(pub->sdk_snapshot));
}

/* GET /v1/sdk/upshot.js: the SDK as one minified ES module, embedded in
 * upshotd at build time (engine/CMakeLists.txt), so the bundle a page
 * loads always speaks this upshotd's API, and installing upshotd installs
 * it. Its ETag is the start of its SHA-256 (computed by the build).
 *
 * Caching: at the versioned URL, ?v=<the ETag's digits>, the bytes can
 * never change, so caches keep it a year (immutable). At the plain URL
 * they keep it five minutes and then revalidate (a 304 while upshotd is
 * unchanged): an upgrade reaches every page within five minutes. Any
 * origin may load it (Access-Control-Allow-Origin: *; a module script is
 * fetched with CORS): it is public code and carries no credentials.
 * No SDK key is asked: a <script> tag cannot send one. */
void api_sdk_bundle(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    if (sdk_bundle_LEN == 0) {
        http_reply_error(x, 404, "sdk_not_built",
                         "this upshotd was built without the SDK bundle (UPSHOT_SDK_BUNDLE=OFF)");
        return;
    }
    static const char etag[] = "\"" sdk_bundle_SHA256 "\"";
    char v[sizeof sdk_bundle_SHA256];
    bool versioned = http_query_value(q, "v", v, sizeof v) == (int)sizeof v - 1 &&
                     strcmp(v, sdk_bundle_SHA256) == 0;
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    evhttp_add_header(h, "ETag", etag);
    evhttp_add_header(h, "Cache-Control", versioned ? "public, max-age=31536000, immutable"
                                                    : "public, max-age=300");
    evhttp_add_header(h, "Access-Control-Allow-Origin", "*");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (etag_none_match(evhttp_find_header(evhttp_request_get_input_headers(x->req),
                                           "If-None-Match"),
                        etag)) {
        http_reply_raw(x, 304, NULL, NULL, 0);
        return;
    }
    http_reply_raw(x, 200, "text/javascript; charset=utf-8", (const char *)sdk_bundle,
                   sdk_bundle_LEN);
}

/* ---- events -------------------------------------------------------------- */

/* The order of event_check.h: its state-free checks, the experiment's
 * lookup between them, then the assignment check for an exposure. */
_Static_assert((int)EVENT_EXPOSURE == (int)EVT_EXPOSURE && (int)EVENT_CONVERSION == (int)EVT_CONVERSION &&
                   (int)EVENT_DECLINE == (int)EVT_DECLINE && (int)EVENT_REFUND == (int)EVT_REFUND,
               "event types index the events metrics");

/* Validates one event; on success appends its journal line to out and
 * returns NULL, else returns the error code and fills msg. */
static const char *check_event(upshotd *d, json_t *ev, struct evbuffer *out, int *type,
                               bool *duplicate, char msg[EVENT_MSG_MAX])
{
    *duplicate = false;
    event_checked c = {.type = EVENT_EXPOSURE};
    const char *code = event_check_fields(ev, &c, msg);
    *type = (int)c.type;
    if (code)
        return code;
    const char *key = c.experiment, *id = c.id;
    experiment *e = registry_get(d->reg, key);
    if (!e) {
        snprintf(msg, EVENT_MSG_MAX, "experiment %s does not exist", key);
        return "unknown_experiment";
    }
    code = event_check_against(ev, e, d->cfg.max_value, &c, msg);
    if (code)
        return code;
    const char *visitor = c.visitor;
    const char *region = c.region ? counted_region(d, c.region) : NULL;
    if (c.type == EVENT_EXPOSURE) {
        assign_result r = assign_visitor(e, visitor, region, NULL);
        if (!r.counted) {
            snprintf(msg, EVENT_MSG_MAX, "visitor is not counted in %s (%s)", key,
                     assign_reason_name(r.reason));
            return "not_in_experiment";
        }
        int variant = c.variant;
        /* A bandit visitor in a moved bucket may rightly report the
         * variant of an earlier period. */
        if (variant >= 0 && variant != r.variant && e->allocation_version == 1 &&
            !(experiment_is_bandit(e) && assign_needs_lookup(e, visitor, region, &r))) {
            snprintf(msg, EVENT_MSG_MAX, "variant %s does not match the assignment (%s)",
                     e->variants[variant].key, e->variants[r.variant].key);
            return "variant_mismatch";
        }
        int vi = variant >= 0 && !r.promoted ? variant : r.variant;
        *duplicate = recent_check_and_add(d->recent_ids, key, id);
        if (!*duplicate) {
            char line[JOURNAL_LINE_MAX];
            evbuffer_add(out, line, exposure_line(line, sizeof line, e, r.promoted, visitor, vi,
                                                  region, upshotd_today(d), c.cart_value));
        }
        return NULL;
    }
    *duplicate = recent_check_and_add(d->recent_ids, key, id);
    if (*duplicate)
        return NULL;
    char line[JOURNAL_LINE_MAX], ack[JOURNAL_ACK_LEN + 1];
    upshotd_ack_token(d, ack);
    size_t n = c.type == EVENT_CONVERSION
                   ? journal_line_conversion(line, sizeof line, key, visitor, id, c.value,
                                             upshotd_today(d), ack)
               : c.type == EVENT_REFUND
                   ? journal_line_refund(line, sizeof line, key, visitor, id, -c.value,
                                         upshotd_today(d), ack, c.order)
                   : journal_line_decline(line, sizeof line, key, visitor, id, upshotd_today(d), ack);
    evbuffer_add(out, line, n);
    return NULL;
}

void api_events(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    static const char *const types[] = {"application/json", "text/plain", NULL};
    if (!http_content_type_is(x->req, types)) {
        http_reply_error(x, 415, "unsupported_media_type",
                         "Content-Type must be application/json (or text/plain for beacons)");
        return;
    }
    char *body = NULL;
    size_t len = 0;
    int st = http_read_body(x->req, d->cfg.max_body_bytes, &body, &len);
    if (st == 413) {
        http_reply_error(x, 413, "body_too_large", "the body exceeds %ld bytes", d->cfg.max_body_bytes);
        return;
    }
    if (st) {
        http_reply_error(x, 500, "internal", "out of memory");
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!root) {
        http_reply_error(x, 400, "invalid_json", "malformed JSON at line %d column %d: %s",
                         jerr.line, jerr.column, jerr.text);
        return;
    }
    json_t *events = NULL;
    char bmsg[EVENT_MSG_MAX];
    int bstatus = 400;
    const char *bcode = event_check_batch(root, d->cfg.max_batch_events, &events, &bstatus, bmsg);
    if (bcode) {
        json_decref(root);
        http_reply_error(x, bstatus, bcode, "%s", bmsg);
        return;
    }
    size_t n = json_array_size(events);
    struct evbuffer *lines = evbuffer_new();
    json_t *rejected = json_array();
    size_t accepted = 0, duplicates = 0;
    int *types_seen = calloc(n, sizeof *types_seen);
    for (size_t i = 0; i < n; i++) {
        char msg[EVENT_MSG_MAX];
        bool dup;
        int type = EVT_EXPOSURE;
        const char *code = check_event(d, json_array_get(events, i), lines, &type, &dup, msg);
        types_seen[i] = code || dup ? -1 : type;
        if (code) {
            g_metrics.events[type][EVT_REJECTED]++;
            json_array_append_new(rejected, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
                                                      "error", code, "message", msg));
        } else if (dup) {
            duplicates++;
            g_metrics.events[type][EVT_DUPLICATE_RECENT]++;
        } else {
            accepted++;
        }
    }
    size_t blen = evbuffer_get_length(lines);
    upshotd_journal_status written =
        blen ? upshotd_journal(d, (const char *)evbuffer_pullup(lines, -1), blen) : UPSHOTD_JOURNALED;
    if (written != UPSHOTD_JOURNALED) {
        /* Nothing acknowledged: let a retry through as new. */
        for (size_t i = 0; i < n; i++) {
            json_t *ev = json_array_get(events, i);
            const char *id = json_string_value(json_object_get(ev, "id"));
            const char *key = json_string_value(json_object_get(ev, "experiment"));
            if (id && key)
                recent_forget(d->recent_ids, key, id);
        }
        evbuffer_free(lines);
        json_decref(rejected);
        json_decref(root);
        free(types_seen);
        if (written == UPSHOTD_BACKLOG_FULL) {
            char retry[8];
            snprintf(retry, sizeof retry, "%d", UPSHOTD_BACKLOG_RETRY_S);
            evhttp_add_header(evhttp_request_get_output_headers(x->req), "Retry-After", retry);
            http_reply_error(x, 503, "backlog_full",
                             "Redis is behind: nothing was recorded; retry after %d s",
                             UPSHOTD_BACKLOG_RETRY_S);
        } else {
            http_reply_error(x, 503, "journal_unavailable",
                             "events could not be stored durably; nothing was recorded, retry later");
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (types_seen[i] >= 0)
            g_metrics.events[types_seen[i]][EVT_ACCEPTED]++;
    evbuffer_free(lines);
    free(types_seen);
    json_decref(root);
    int status = accepted == 0 && duplicates == 0 ? 422 : 202;
    http_reply_json(x, status,
                    json_pack("{s:I, s:I, s:o, s:b}", "accepted", (json_int_t)accepted, "duplicates",
                              (json_int_t)duplicates, "rejected", rejected, "spooled",
                              !store_is_up(d->store)));
}
