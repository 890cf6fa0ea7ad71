/* metrics.c: Prometheus text rendering of the counters (see metrics.h). */
#include "metrics.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "assign.h"
#include "version.h"

metrics g_metrics;

const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
    0.005, 0.01, 0.025, 0.05, 0.1, 1.0,
};

static const char *const route_names[ROUTE_COUNT] = {
    "assign", "assignments", "sdk_config", "events", "healthz", "metrics", "admin",
    "results", "other",
};
static const char *const event_types[EVT_TYPE_COUNT] = {"exposure", "conversion", "decline",
                                                               "refund"};
static const char *const event_outcomes[EVT_OUTCOME_COUNT] = {
    "accepted", "rejected", "duplicate_recent", "applied", "duplicate", "unexposed", "replayed",
    "refused",
};

static void render_process(struct evbuffer *out);

void metrics_observe_request(metrics_route route, int status, double seconds)
{
    int cls = status / 100;
    if (cls < 0 || cls > 5)
        cls = 0;
    g_metrics.requests[route][cls]++;
    int b = 0;
    while (b < METRICS_LATENCY_BUCKETS && seconds > metrics_latency_bounds[b])
        b++;
    g_metrics.latency_hist[route][b]++;
    g_metrics.latency_sum[route] += seconds;
}

void metrics_render(struct evbuffer *out, const metrics_gauges *g)
{
    evbuffer_add_printf(out, "# HELP upshot_http_requests_total HTTP requests by route and status class.\n"
                             "# TYPE upshot_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int c = 1; c <= 5; c++)
            if (g_metrics.requests[r][c])
                evbuffer_add_printf(out, "upshot_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                                    route_names[r], c, (unsigned long long)g_metrics.requests[r][c]);

    evbuffer_add_printf(out, "# HELP upshot_http_request_duration_seconds Time from request parsed to reply queued.\n"
                             "# TYPE upshot_http_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (int b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
            cum += g_metrics.latency_hist[r][b];
            if (b < METRICS_LATENCY_BUCKETS)
                evbuffer_add_printf(out, "upshot_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                                    route_names[r], metrics_latency_bounds[b], (unsigned long long)cum);
            else
                evbuffer_add_printf(out, "upshot_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                                    route_names[r], (unsigned long long)cum);
        }
        evbuffer_add_printf(out, "upshot_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                                 "upshot_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                            route_names[r], g_metrics.latency_sum[r], route_names[r],
                            (unsigned long long)cum);
    }

    evbuffer_add_printf(out, "# HELP upshot_assignments_total Assignment decisions by reason.\n"
                             "# TYPE upshot_assignments_total counter\n");
    for (int i = 0; i <= ASSIGN_BREAKER; i++)
        evbuffer_add_printf(out, "upshot_assignments_total{reason=\"%s\"} %llu\n",
                            assign_reason_name((assign_reason)i),
                            (unsigned long long)g_metrics.assignments[i]);

    evbuffer_add_printf(out, "# HELP upshot_events_total Events by type and outcome (edge and Redis).\n"
                             "# TYPE upshot_events_total counter\n");
    for (int t = 0; t < EVT_TYPE_COUNT; t++)
        for (int o = 0; o < EVT_OUTCOME_COUNT; o++)
            evbuffer_add_printf(out, "upshot_events_total{type=\"%s\",outcome=\"%s\"} %llu\n",
                                event_types[t], event_outcomes[o],
                                (unsigned long long)g_metrics.events[t][o]);

    evbuffer_add_printf(out,
        "# HELP upshot_journal_pending_events Acknowledged events not yet applied to Redis (the spool).\n"
        "# TYPE upshot_journal_pending_events gauge\nupshot_journal_pending_events %llu\n"
        "# HELP upshot_journal_bytes Size of the journal file.\n"
        "# TYPE upshot_journal_bytes gauge\nupshot_journal_bytes %llu\n"
        "# HELP upshot_journal_pending_bytes Bytes of the events not yet applied to Redis.\n"
        "# TYPE upshot_journal_pending_bytes gauge\nupshot_journal_pending_bytes %llu\n"
        "# HELP upshot_apply_lag_seconds How long the oldest event not yet in Redis has waited.\n"
        "# TYPE upshot_apply_lag_seconds gauge\nupshot_apply_lag_seconds %.3f\n"
        "# HELP upshot_backlog_refusals_total Journal writes refused because the backlog bound was reached (events got 503).\n"
        "# TYPE upshot_backlog_refusals_total counter\nupshot_backlog_refusals_total %llu\n"
        "# HELP upshot_journal_errors_total Failed journal writes (the request got a 503).\n"
        "# TYPE upshot_journal_errors_total counter\nupshot_journal_errors_total %llu\n"
        "# HELP upshot_redis_up Whether upshotd has a working Redis connection.\n"
        "# TYPE upshot_redis_up gauge\nupshot_redis_up %d\n"
        "# HELP upshot_redis_data_lost Whether Redis was found to have lost its data set since start.\n"
        "# TYPE upshot_redis_data_lost gauge\nupshot_redis_data_lost %d\n"
        "# HELP upshot_redis_data_losses_total Times Redis was found without the data set upshotd wrote to.\n"
        "# TYPE upshot_redis_data_losses_total counter\nupshot_redis_data_losses_total %llu\n"
        "# HELP upshot_redis_inflight_batches Script calls sent and not yet answered.\n"
        "# TYPE upshot_redis_inflight_batches gauge\nupshot_redis_inflight_batches %llu\n"
        "# HELP upshot_redis_errors_total Redis errors and lost connections.\n"
        "# TYPE upshot_redis_errors_total counter\nupshot_redis_errors_total %llu\n"
        "# HELP upshot_redis_batches_total Batches applied to Redis.\n"
        "# TYPE upshot_redis_batches_total counter\nupshot_redis_batches_total %llu\n"
        "# HELP upshot_redis_reconnects_total Connection attempts after a failure.\n"
        "# TYPE upshot_redis_reconnects_total counter\nupshot_redis_reconnects_total %llu\n"
        "# HELP upshot_promotions_auto_total Promotions made by automatic promotion.\n"
        "# TYPE upshot_promotions_auto_total counter\nupshot_promotions_auto_total %llu\n"
        "# HELP upshot_experiments_loaded Experiments in the live set.\n"
        "# TYPE upshot_experiments_loaded gauge\nupshot_experiments_loaded %d\n"
        "# HELP upshot_exposures_known_total Repeat exposures not sent to Redis because it was "
        "known to hold the visitor's record (also counted as outcome duplicate).\n"
        "# TYPE upshot_exposures_known_total counter\nupshot_exposures_known_total %llu\n"
        "# HELP upshot_seen_pairs (experiment, visitor) pairs remembered as recorded in Redis.\n"
        "# TYPE upshot_seen_pairs gauge\nupshot_seen_pairs %llu\n"
        "# HELP upshot_worker_jobs Results and promotion jobs queued or running off the event loop.\n"
        "# TYPE upshot_worker_jobs gauge\nupshot_worker_jobs %d\n"
        "# HELP upshot_results_busy_total Results requests refused with 503 busy (the worker queue was full).\n"
        "# TYPE upshot_results_busy_total counter\nupshot_results_busy_total %llu\n",
        (unsigned long long)g->journal_pending_events, (unsigned long long)g->journal_bytes,
        (unsigned long long)g->journal_pending_bytes, g->apply_lag_seconds,
        (unsigned long long)g_metrics.backlog_refusals, (unsigned long long)g_metrics.journal_errors, g->redis_up, g->redis_data_lost,
        (unsigned long long)g_metrics.redis_data_losses,
        (unsigned long long)g->redis_inflight_batches, (unsigned long long)g_metrics.redis_errors,
        (unsigned long long)g_metrics.redis_batches, (unsigned long long)g_metrics.redis_reconnects,
        (unsigned long long)g_metrics.promotions_auto, g->experiments_loaded,
        (unsigned long long)g_metrics.exposures_known, (unsigned long long)g->seen_pairs,
        g->worker_jobs, (unsigned long long)g_metrics.results_busy);

    evbuffer_add_printf(out,
        "# HELP upshot_bandit_lookups_total Bandit assignments in a moved bucket, which looked "
        "the visitor record up.\n"
        "# TYPE upshot_bandit_lookups_total counter\nupshot_bandit_lookups_total %llu\n"
        "# HELP upshot_bandit_no_lookup_total Bandit assignments in a never-moved bucket, "
        "answered without Redis.\n"
        "# TYPE upshot_bandit_no_lookup_total counter\nupshot_bandit_no_lookup_total %llu\n"
        "# HELP upshot_bandit_updates_total Bandit updates written (weights moved or not).\n"
        "# TYPE upshot_bandit_updates_total counter\nupshot_bandit_updates_total %llu\n"
        "# HELP upshot_bandit_update_failures_total Bandit updates that could not read the "
        "counters or write the state.\n"
        "# TYPE upshot_bandit_update_failures_total counter\nupshot_bandit_update_failures_total %llu\n",
        (unsigned long long)g_metrics.bandit_lookups, (unsigned long long)g_metrics.bandit_no_lookup,
        (unsigned long long)g_metrics.bandit_updates,
        (unsigned long long)g_metrics.bandit_update_failures);

    static const char *const redirect_names[REDIS_REDIRECT_COUNT] = {
        "moved", "ask", "tryagain", "clusterdown", "noscript"};
    evbuffer_add_printf(out, "# HELP upshot_redis_redirects_total Replies the router followed "
                             "instead of handing them over, by kind.\n"
                             "# TYPE upshot_redis_redirects_total counter\n");
    for (int k = 0; k < REDIS_REDIRECT_COUNT; k++)
        evbuffer_add_printf(out, "upshot_redis_redirects_total{kind=\"%s\"} %llu\n",
                            redirect_names[k], (unsigned long long)g_metrics.redis_redirects[k]);
    evbuffer_add_printf(out,
        "# HELP upshot_redis_map_refreshes_total Slot map requests (CLUSTER SLOTS).\n"
        "# TYPE upshot_redis_map_refreshes_total counter\nupshot_redis_map_refreshes_total %llu\n"
        "# HELP upshot_redis_wait_short_total WAITs that answered fewer replicas than redis.wait_replicas.\n"
        "# TYPE upshot_redis_wait_short_total counter\nupshot_redis_wait_short_total %llu\n"
        "# HELP upshot_redis_nodes_connected Masters with a ready connection.\n"
        "# TYPE upshot_redis_nodes_connected gauge\nupshot_redis_nodes_connected %d\n"
        "# HELP upshot_redis_masters Masters the slot map names (1: one Redis).\n"
        "# TYPE upshot_redis_masters gauge\nupshot_redis_masters %d\n",
        (unsigned long long)g_metrics.redis_map_refreshes,
        (unsigned long long)g_metrics.redis_wait_short, g->redis_nodes_connected,
        g->redis_masters);
    render_process(out);
}

/* The standard process metrics, read from /proc/self at each scrape (a
 * few small reads; a scrape comes every few seconds at most). On a system
 * without /proc a metric that cannot be read is left out. */
static void render_process(struct evbuffer *out)
{
    evbuffer_add_printf(out,
        "# HELP upshot_build_info The version of upshotd (the value is always 1).\n"
        "# TYPE upshot_build_info gauge\n"
        "upshot_build_info{version=\"%s\",revision=\"%s\"} 1\n",
        UPSHOT_VERSION, UPSHOT_GIT_DESCRIBE);
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which is in parentheses and may hold
     * spaces: state is field 3, utime 14, stime 15, starttime 22. */
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    unsigned long long start = 0;
    if (p && ticks > 0 &&
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                      "%*d %llu", &utime, &stime, &start) == 3) {
        evbuffer_add_printf(out,
            "# HELP process_cpu_seconds_total User and system CPU time spent, in seconds.\n"
            "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n",
            (double)(utime + stime) / (double)ticks);
        unsigned long long btime = 0;
        FILE *st = fopen("/proc/stat", "r");
        char line[256];
        while (st && fgets(line, sizeof line, st))
            if (sscanf(line, "btime %llu", &btime) == 1)
                break;
        if (st)
            fclose(st);
        if (btime)
            evbuffer_add_printf(out,
                "# HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.\n"
                "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
                (double)btime + (double)start / (double)ticks);
    }
    unsigned long size = 0, resident = 0;
    FILE *m = fopen("/proc/self/statm", "r");
    if (m && fscanf(m, "%lu %lu", &size, &resident) == 2 && page > 0)
        evbuffer_add_printf(out,
            "# HELP process_resident_memory_bytes Resident memory size, in bytes.\n"
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n"
            "# HELP process_virtual_memory_bytes Virtual memory size, in bytes.\n"
            "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n",
            (unsigned long long)resident * (unsigned long long)page,
            (unsigned long long)size * (unsigned long long)page);
    if (m)
        fclose(m);
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        long fds = 0;
        for (struct dirent *e; (e = readdir(dir));)
            if (e->d_name[0] != '.')
                fds++;
        closedir(dir);
        evbuffer_add_printf(out,
            "# HELP process_open_fds Open file descriptors.\n"
            "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n", fds - 1 /* opendir's own */);
        long max = sysconf(_SC_OPEN_MAX);
        if (max > 0)
            evbuffer_add_printf(out,
                "# HELP process_max_fds Limit on open file descriptors.\n"
                "# TYPE process_max_fds gauge\nprocess_max_fds %ld\n", max);
    }
}
