/* metrics.h: the counters and latency histograms behind /metrics.
 *
 * A single process-wide set of plain counters (upshotd runs one event loop
 * thread, so no atomics are needed), rendered in the Prometheus text
 * format by metrics_render. Routes and outcomes are small enums so that
 * counting on the hot path is an array increment. */
#ifndef UPSHOT_METRICS_H
#define UPSHOT_METRICS_H

#include <stdint.h>

struct evbuffer;

typedef enum {
    ROUTE_ASSIGN, ROUTE_ASSIGNMENTS, ROUTE_SDK_CONFIG, ROUTE_EVENTS, ROUTE_HEALTHZ,
    ROUTE_METRICS, ROUTE_ADMIN, ROUTE_RESULTS, ROUTE_OTHER, ROUTE_COUNT
} metrics_route;

typedef enum { EVT_EXPOSURE, EVT_CONVERSION, EVT_DECLINE, EVT_REFUND, EVT_TYPE_COUNT } metrics_event_type;
typedef enum {
    EVT_ACCEPTED, EVT_REJECTED, EVT_DUPLICATE_RECENT,  /* at the HTTP edge */
    EVT_APPLIED, EVT_DUPLICATE_REDIS, EVT_UNEXPOSED,   /* in Redis */
    EVT_REPLAYED,    /* in Redis already, counted by this same acknowledgment: a replay */
    EVT_REFUSED,     /* a refund of an order Redis does not hold, or of more than is left */
    EVT_OUTCOME_COUNT
} metrics_event_outcome;

#define METRICS_LATENCY_BUCKETS 12

/* Replies redis_link.c followed instead of handing them over. */
typedef enum {
    REDIS_REDIRECT_MOVED, REDIS_REDIRECT_ASK, REDIS_REDIRECT_TRYAGAIN, REDIS_REDIRECT_CLUSTERDOWN,
    REDIS_REDIRECT_NOSCRIPT, REDIS_REDIRECT_COUNT
} metrics_redis_redirect;

typedef struct metrics {
    uint64_t requests[ROUTE_COUNT][6];   /* by status class 0xx..5xx */
    uint64_t latency_hist[ROUTE_COUNT][METRICS_LATENCY_BUCKETS + 1];
    double latency_sum[ROUTE_COUNT];
    uint64_t assignments[16];            /* by assign_reason */
    uint64_t events[EVT_TYPE_COUNT][EVT_OUTCOME_COUNT];
    uint64_t redis_errors;
    uint64_t redis_batches;
    uint64_t redis_reconnects;
    uint64_t redis_data_losses;          /* data set marker missing or replaced */
    uint64_t redis_redirects[REDIS_REDIRECT_COUNT];
    uint64_t redis_map_refreshes;        /* CLUSTER SLOTS requests */
    uint64_t redis_wait_short;           /* WAITs answered with fewer replicas than asked */
    uint64_t journal_errors;
    uint64_t backlog_refusals;           /* writes refused: the backlog bound was reached */
    uint64_t results_busy;               /* results requests refused: the worker queue was full */
    uint64_t promotions_auto;
    uint64_t exposures_known;            /* not sent: Redis held the record (seen.h) */
    uint64_t bandit_lookups;             /* bandit assignments in a moved bucket: looked up */
    uint64_t bandit_no_lookup;           /* bandit assignments in an unmoved bucket: no lookup */
    uint64_t bandit_updates;             /* bandit updates written (engine/bandit.c) */
    uint64_t bandit_update_failures;     /* bandit updates that could not be read or written */
} metrics;

extern metrics g_metrics;

/* Upper bounds of the latency buckets, in seconds. */
extern const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS];

void metrics_observe_request(metrics_route route, int status, double seconds);

/* Gauges are read at render time from the caller. */
typedef struct metrics_gauges {
    uint64_t journal_pending_events;
    uint64_t journal_bytes;
    uint64_t journal_pending_bytes;
    double apply_lag_seconds;
    uint64_t redis_inflight_batches;
    int redis_up;
    int redis_data_lost;
    int redis_nodes_connected;           /* masters with a ready connection (1: one Redis) */
    int redis_masters;                   /* masters the slot map names */
    int experiments_loaded;
    uint64_t seen_pairs;
    int worker_jobs;                     /* jobs queued, running or done but not yet handed back */
} metrics_gauges;

void metrics_render(struct evbuffer *out, const metrics_gauges *g);

#endif
