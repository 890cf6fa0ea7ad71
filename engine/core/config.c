/* config.c: parsing and validation of the configuration file (config.h). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 2, 3)))
static bool cfail(char err[CONFIG_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
    va_end(ap);
    return false;
}

static const char *const known_top[] = {
    "listen", "redis", "data_dir", "admin_token", "admin_tokens", "tls", "sdk_keys", "cors_origins", "regions",
    "limits", "pipeline", "stats", "auto_promote_interval_s", "experiments", "worker", "state",
    "access_log", NULL,
};

/* Known sub-fields per section, so that a typo is an error, not a default. */
static bool check_fields(json_t *obj, const char *section, const char *const *known,
                         char err[CONFIG_ERR_MAX])
{
    const char *f;
    json_t *v;
    json_object_foreach(obj, f, v) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, f) == 0;
        if (!ok)
            return section ? cfail(err, "%s: unknown field \"%s\"", section, f)
                           : cfail(err, "unknown field \"%s\"", f);
    }
    return true;
}

static bool get_object(json_t *root, const char *name, json_t **out, char err[CONFIG_ERR_MAX])
{
    json_t *v = json_object_get(root, name);
    if (v && !json_is_object(v))
        return cfail(err, "%s: must be an object", name);
    *out = v;
    return true;
}

static bool get_int(json_t *obj, const char *section, const char *name, long lo, long hi,
                    long *out, char err[CONFIG_ERR_MAX])
{
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return cfail(err, "%s%s%s: must be an integer between %ld and %ld", section ? section : "",
                     section ? "." : "", name, lo, hi);
    *out = (long)json_integer_value(v);
    return true;
}

static bool get_num(json_t *obj, const char *section, const char *name, double lo, double hi,
                    double *out, char err[CONFIG_ERR_MAX])
{
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (!v)
        return true;
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
        return cfail(err, "%s.%s: must be a number between %g and %g", section, name, lo, hi);
    *out = json_number_value(v);
    return true;
}

static bool get_str(json_t *obj, const char *section, const char *name, char *out, size_t cap,
                    char err[CONFIG_ERR_MAX])
{
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (!v)
        return true;
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return cfail(err, "%s%s%s: must be a string of at most %zu characters",
                     section ? section : "", section ? "." : "", name, cap - 1);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

static bool get_str_list(json_t *root, const char *name, char (*out)[129], int *n,
                         size_t cap, char err[CONFIG_ERR_MAX])
{
    json_t *list = json_object_get(root, name);
    *n = 0;
    if (!list)
        return true;
    if (!json_is_array(list) || json_array_size(list) > CONFIG_MAX_LIST)
        return cfail(err, "%s: must be a list of at most %d strings", name, CONFIG_MAX_LIST);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
            return cfail(err, "%s[%zu]: must be a non-empty string of at most %zu characters",
                         name, i, cap - 1);
        memcpy((char *)out + i * cap, json_string_value(v), json_string_length(v) + 1);
        (*n)++;
    }
    return true;
}

/* "tls": {"cert": PATH, "key": PATH}, both or neither; a relative path is
 * taken from the config file's directory, like data_dir. */
static bool get_tls(json_t *root, const char *base_dir, upshot_config *c, char err[CONFIG_ERR_MAX])
{
    static const char *const tls_f[] = {"cert", "key", NULL};
    json_t *tls = NULL;
    if (!get_object(root, "tls", &tls, err))
        return false;
    if (!tls)
        return true;
    char cert[1024] = "", key[1024] = "";
    if (!check_fields(tls, "tls", tls_f, err) ||
        !get_str(tls, "tls", "cert", cert, sizeof cert - 512, err) ||
        !get_str(tls, "tls", "key", key, sizeof key - 512, err))
        return false;
    if (!cert[0] || !key[0])
        return cfail(err, "tls: needs both cert and key (PEM file paths)");
    const char *b = base_dir && *base_dir ? base_dir : NULL;
    snprintf(c->tls_cert, sizeof c->tls_cert, "%s%s%s", cert[0] != '/' && b ? b : "",
             cert[0] != '/' && b ? "/" : "", cert);
    snprintf(c->tls_key, sizeof c->tls_key, "%s%s%s", key[0] != '/' && b ? b : "",
             key[0] != '/' && b ? "/" : "", key);
    return true;
}

/* "regions": the shop's regions, keys, at most CONFIG_MAX_REGIONS, no
 * repeats. */
static bool get_regions(json_t *root, upshot_config *c, char err[CONFIG_ERR_MAX])
{
    json_t *list = json_object_get(root, "regions");
    c->nregions = 0;
    if (!list)
        return true;
    if (!json_is_array(list) || json_array_size(list) > CONFIG_MAX_REGIONS)
        return cfail(err, "regions: must be a list of at most %d region keys", CONFIG_MAX_REGIONS);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *key = json_string_value(v);
        if (!key || !validate_key(key))
            return cfail(err, "regions[%zu]: must be a region key like \"gr\"", i);
        for (int k = 0; k < c->nregions; k++)
            if (strcmp(c->regions[k], key) == 0)
                return cfail(err, "regions[%zu]: \"%s\" is listed twice", i, key);
        snprintf(c->regions[c->nregions++], sizeof c->regions[0], "%s", key);
    }
    return true;
}

/* "host:port" of one cluster seed; an IPv6 address goes in brackets
 * ("[::1]:7000"). */
static bool parse_node(const char *text, struct config_redis_node *out)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || colon[1] == '\0')
        return false;
    const char *host = text;
    size_t hostlen = (size_t)(colon - text);
    if (host[0] == '[') {
        if (hostlen < 3 || host[hostlen - 1] != ']')
            return false;
        host++;
        hostlen -= 2;
    }
    if (hostlen >= sizeof out->host)
        return false;
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return false;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        return false;
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    out->port = (int)port;
    return true;
}

/* redis.nodes, redis.wait_replicas and redis.wait_timeout_ms. A non-empty
 * node list means cluster mode: it excludes redis.host/port (one address
 * or the seeds, never both) and a db other than 0 (a cluster has only db
 * 0). wait_timeout_ms stays below the store's 3 s bound on an unanswered
 * batch (store.h), so a WAIT answers before the store gives up on it. */
static bool get_redis_nodes(json_t *redis, upshot_config *c, char err[CONFIG_ERR_MAX])
{
    long replicas = c->redis_wait_replicas, wait_ms = c->redis_wait_timeout_ms;
    if (!get_int(redis, "redis", "wait_replicas", 0, 16, &replicas, err) ||
        !get_int(redis, "redis", "wait_timeout_ms", 10, 2000, &wait_ms, err))
        return false;
    c->redis_wait_replicas = (int)replicas;
    c->redis_wait_timeout_ms = (int)wait_ms;
    json_t *list = redis ? json_object_get(redis, "nodes") : NULL;
    c->nredis_nodes = 0;
    if (!list)
        return true;
    if (!json_is_array(list) || json_array_size(list) > CONFIG_MAX_LIST)
        return cfail(err, "redis.nodes: must be a list of at most %d \"host:port\" strings",
                     CONFIG_MAX_LIST);
    if (json_array_size(list) == 0)
        return true;
    if (json_object_get(redis, "host") || json_object_get(redis, "port"))
        return cfail(err, "redis.nodes: give either redis.nodes (a cluster) or redis.host and "
                          "redis.port (one Redis), not both");
    if (c->redis_db != 0)
        return cfail(err, "redis.db: must be 0 with redis.nodes (a cluster has only db 0)");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *text = json_string_value(v);
        if (!text || !parse_node(text, &c->redis_nodes[i]))
            return cfail(err, "redis.nodes[%zu]: must be \"host:port\" with a port between 1 "
                              "and 65535", i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->redis_nodes[k].host, c->redis_nodes[i].host) == 0 &&
                c->redis_nodes[k].port == c->redis_nodes[i].port)
                return cfail(err, "redis.nodes[%zu]: \"%s\" is listed twice", i, text);
    }
    c->nredis_nodes = (int)json_array_size(list);
    return true;
}

static bool parse_server(json_t *root, const char *base_dir, char *(*getenv_fn)(const char *),
                         upshot_config *c, char err[CONFIG_ERR_MAX])
{
    static const char *const listen_f[] = {"host", "port", NULL};
    static const char *const redis_f[] = {"host", "port", "password", "db", "nodes",
                                          "wait_replicas", "wait_timeout_ms", NULL};
    static const char *const state_f[] = {"poll_ms", NULL};
    static const char *const limits_f[] = {"max_body_bytes", "max_batch_events", "max_value",
                                           "max_header_bytes", "header_timeout_ms",
                                           "max_connections", "max_results_bytes", NULL};
    static const char *const worker_f[] = {"threads", "queue", NULL};
    static const char *const pipe_f[] = {"batch_size", "flush_ms", "fsync", "fsync_ms",
                                            "seen_visitors", "max_backlog_events",
                                            "max_backlog_bytes", "degraded_lag_ms", NULL};
    static const char *const stats_f[] = {"alpha", "tau2", "min_sample", "correction", NULL};
    json_t *listen = NULL, *redis = NULL, *limits = NULL, *pipe = NULL, *stats = NULL;
    json_t *worker = NULL, *state = NULL;
    if (!get_object(root, "state", &state, err) || (state && !check_fields(state, "state", state_f, err)))
        return false;
    long poll_ms = c->state_poll_ms;
    if (!get_int(state, "state", "poll_ms", 10, 60000, &poll_ms, err))
        return false;
    c->state_poll_ms = (int)poll_ms;
    if (!get_object(root, "listen", &listen, err) || !get_object(root, "redis", &redis, err) ||
        !get_object(root, "limits", &limits, err) || !get_object(root, "pipeline", &pipe, err) ||
        !get_object(root, "stats", &stats, err) || !get_object(root, "worker", &worker, err))
        return false;
    if ((listen && !check_fields(listen, "listen", listen_f, err)) ||
        (redis && !check_fields(redis, "redis", redis_f, err)) ||
        (limits && !check_fields(limits, "limits", limits_f, err)) ||
        (pipe && !check_fields(pipe, "pipeline", pipe_f, err)) ||
        (stats && !check_fields(stats, "stats", stats_f, err)) ||
        (worker && !check_fields(worker, "worker", worker_f, err)))
        return false;

    long port = c->listen_port, rport = c->redis_port, rdb = c->redis_db;
    if (!get_str(listen, "listen", "host", c->listen_host, sizeof c->listen_host, err) ||
        !get_int(listen, "listen", "port", 0, 65535, &port, err) ||
        !get_str(redis, "redis", "host", c->redis_host, sizeof c->redis_host, err) ||
        !get_int(redis, "redis", "port", 1, 65535, &rport, err) ||
        !get_str(redis, "redis", "password", c->redis_password, sizeof c->redis_password, err) ||
        !get_int(redis, "redis", "db", 0, 1000, &rdb, err))
        return false;
    c->listen_port = (int)port;
    c->redis_port = (int)rport;
    c->redis_db = (int)rdb;
    if (!get_redis_nodes(redis, c, err))
        return false;

    char data_dir[1024] = "";
    if (!get_str(root, NULL, "data_dir", data_dir, sizeof data_dir, err))
        return false;
    if (!data_dir[0])
        return cfail(err, "data_dir: required (where the journal, state and audit log live)");
    if (data_dir[0] == '/' || !base_dir || !*base_dir)
        snprintf(c->data_dir, sizeof c->data_dir, "%s", data_dir);
    else
        snprintf(c->data_dir, sizeof c->data_dir, "%s/%s", base_dir, data_dir);

    char access[1024] = "";
    if (!get_str(root, NULL, "access_log", access, sizeof access, err))
        return false;
    if (access[0] == '\0' || strcmp(access, "-") == 0 || access[0] == '/' || !base_dir || !*base_dir)
        snprintf(c->access_log, sizeof c->access_log, "%s", access);
    else
        snprintf(c->access_log, sizeof c->access_log, "%s/%s", base_dir, access);

    char token[256] = "";
    if (!get_str(root, NULL, "admin_token", token, sizeof token, err))
        return false;
    if (strncmp(token, "env:", 4) == 0) {
        const char *v = getenv_fn ? getenv_fn(token + 4) : NULL;
        if (!v)
            return cfail(err, "admin_token: environment variable %s is not set", token + 4);
        snprintf(token, sizeof token, "%s", v);
    }
    json_t *tokens = json_object_get(root, "admin_tokens");
    if (token[0] || !tokens) {
        if (strlen(token) < 16)
            return cfail(err, "admin_token: required, at least 16 characters (or admin_tokens)");
        memcpy(c->admin_token, token, sizeof token);
        /* The older single token: one write token named "admin". */
        if (!token_table_add_plain(&c->admin_tokens, "admin", TOKEN_ROLE_WRITE, token,
                                   strlen(token), err, CONFIG_ERR_MAX))
            return false;
    }
    if (tokens) {
        if (!token_table_parse(tokens, &c->admin_tokens, err, CONFIG_ERR_MAX))
            return false;
        if (c->admin_tokens.n == 0)
            return cfail(err, "admin_tokens: at least one token (or admin_token)");
    }
    if (!get_tls(root, base_dir, c, err))
        return false;

    if (!get_str_list(root, "sdk_keys", c->sdk_keys, &c->nsdk_keys, sizeof c->sdk_keys[0], err))
        return false;
    if (!get_regions(root, c, err))
        return false;
    char origins[CONFIG_MAX_LIST][129];
    int norigins = 0;
    if (!get_str_list(root, "cors_origins", origins, &norigins, sizeof origins[0], err))
        return false;
    for (int i = 0; i < norigins; i++) {
        if (strcmp(origins[i], "*") == 0)
            c->cors_any = true;
        else
            snprintf(c->cors_origins[c->ncors++], sizeof c->cors_origins[0], "%s", origins[i]);
    }

    long batch = c->batch_size, flush = c->flush_ms, fsync_ms = c->fsync_ms;
    long head_ms = c->header_timeout_ms;
    long wthreads = c->worker_threads, wqueue = c->worker_queue;
    if (!get_int(limits, "limits", "max_body_bytes", 1024, 64L << 20, &c->max_body_bytes, err) ||
        !get_int(limits, "limits", "max_header_bytes", 1024, 1L << 20, &c->max_header_bytes, err) ||
        !get_int(limits, "limits", "header_timeout_ms", 100, 600000, &head_ms, err) ||
        !get_int(limits, "limits", "max_connections", 0, 1L << 20, &c->max_connections, err) ||
        !get_int(limits, "limits", "max_batch_events", 1, 100000, &c->max_batch_events, err) ||
        !get_num(limits, "limits", "max_value", 1, 1e12, &c->max_value, err) ||
        !get_int(limits, "limits", "max_results_bytes", 64L << 10, 1L << 30,
                 &c->max_results_bytes, err) ||
        !get_int(worker, "worker", "threads", 1, 16, &wthreads, err) ||
        !get_int(worker, "worker", "queue", 1, 4096, &wqueue, err) ||
        !get_int(pipe, "pipeline", "batch_size", 1, 10000, &batch, err) ||
        !get_int(pipe, "pipeline", "flush_ms", 0, 1000, &flush, err) ||
        !get_int(pipe, "pipeline", "fsync_ms", 1, 60000, &fsync_ms, err) ||
        !get_int(pipe, "pipeline", "seen_visitors", 0, 1L << 24, &c->seen_visitors, err) ||
        !get_int(pipe, "pipeline", "max_backlog_events", 1000, 1000000000L,
                 &c->max_backlog_events, err) ||
        !get_int(pipe, "pipeline", "max_backlog_bytes", 1L << 20, 1L << 40, &c->max_backlog_bytes,
                 err) ||
        !get_int(pipe, "pipeline", "degraded_lag_ms", 100, 3600000L, &c->degraded_lag_ms, err))
        return false;
    c->header_timeout_ms = (int)head_ms;
    c->batch_size = (int)batch;
    c->worker_threads = (int)wthreads;
    c->worker_queue = (int)wqueue;
    c->flush_ms = (int)flush;
    c->fsync_ms = (int)fsync_ms;
    /* Room for any plausible wrong word, so that it gets the "must be ..."
     * message below rather than a length complaint. */
    char fs[64] = "interval";
    if (!get_str(pipe, "pipeline", "fsync", fs, sizeof fs, err))
        return false;
    if (strcmp(fs, "never") == 0)
        c->fsync = FSYNC_NEVER;
    else if (strcmp(fs, "interval") == 0)
        c->fsync = FSYNC_INTERVAL;
    else if (strcmp(fs, "always") == 0)
        c->fsync = FSYNC_ALWAYS;
    else
        return cfail(err, "pipeline.fsync: must be never, interval or always");

    long interval = c->auto_promote_interval_s;
    if (!get_num(stats, "stats", "alpha", 1e-6, 0.5, &c->alpha, err) ||
        !get_num(stats, "stats", "tau2", 1e-12, 1, &c->tau2, err) ||
        !get_int(stats, "stats", "min_sample", 0, 1L << 40, &c->min_sample, err) ||
        !get_int(root, NULL, "auto_promote_interval_s", 1, 86400, &interval, err))
        return false;
    c->auto_promote_interval_s = (int)interval;
    char corr[64] = "holm";
    if (!get_str(stats, "stats", "correction", corr, sizeof corr, err))
        return false;
    if (strcmp(corr, "holm") == 0)
        c->correction = CORRECTION_HOLM;
    else if (strcmp(corr, "bh") == 0)
        c->correction = CORRECTION_BH;
    else
        return cfail(err, "stats.correction: must be holm or bh");
    return true;
}

bool config_check_experiment_set(experiment *const *list, int n, char err[CONFIG_ERR_MAX])
{
    for (int i = 0; i < n; i++) {
        if (!list[i])
            continue;
        for (int j = 0; j < i; j++) {
            const experiment *a = list[i], *b = list[j];
            if (!b)
                continue;
            if (strcmp(a->key, b->key) == 0)
                return cfail(err, "experiment %s: key is used twice", a->key);
            if (a->has_layer && b->has_layer && strcmp(a->layer_name, b->layer_name) == 0 &&
                a->layer_from < b->layer_to && b->layer_from < a->layer_to)
                return cfail(err, "experiment %s: layer %s range [%u, %u) overlaps experiment %s [%u, %u)",
                             a->key, a->layer_name, a->layer_from, a->layer_to, b->key,
                             b->layer_from, b->layer_to);
        }
    }
    return true;
}

static void set_defaults(upshot_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    snprintf(c->redis_host, sizeof c->redis_host, "127.0.0.1");
    c->redis_port = 6379;
    c->redis_wait_timeout_ms = 1000;
    c->state_poll_ms = 250;
    c->max_body_bytes = 256 * 1024;
    c->max_header_bytes = 16 * 1024;
    c->header_timeout_ms = 10000;
    c->max_connections = 0;
    c->max_batch_events = 1000;
    c->max_value = 1e6;
    c->max_results_bytes = 16L << 20;
    c->worker_threads = 1;
    c->worker_queue = 16;
    c->batch_size = 4096;
    c->flush_ms = 20;
    c->seen_visitors = 1L << 20;
    c->max_backlog_events = 2000000;
    c->max_backlog_bytes = 256L << 20;
    c->degraded_lag_ms = 5000;
    c->fsync = FSYNC_INTERVAL;
    c->fsync_ms = 200;
    c->alpha = 0.05;
    c->tau2 = CONFIG_DEFAULT_TAU2;
    c->min_sample = 1000;
    c->correction = CORRECTION_HOLM;
    c->auto_promote_interval_s = 300;
}

bool config_parse(const char *text, const char *base_dir, char *(*getenv_fn)(const char *),
                  upshot_config *out, char err[CONFIG_ERR_MAX])
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cfail(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    upshot_config c;
    set_defaults(&c);
    bool ok = json_is_object(root) ? true : cfail(err, "the configuration must be a JSON object");
    ok = ok && check_fields(root, NULL, known_top, err) &&
         parse_server(root, base_dir, getenv_fn, &c, err);

    json_t *exps = ok ? json_object_get(root, "experiments") : NULL;
    if (ok && exps && !json_is_array(exps))
        ok = cfail(err, "experiments: must be a list");
    size_t n = json_array_size(exps);
    if (ok && n) {
        c.experiments = calloc(n, sizeof *c.experiments);
        c.fingerprints = calloc(n, sizeof *c.fingerprints);
        if (!c.experiments || !c.fingerprints)
            ok = cfail(err, "out of memory");
    }
    for (size_t i = 0; ok && i < n; i++) {
        char eerr[EXP_ERR_MAX];
        json_t *def = json_array_get(exps, i);
        experiment *e = experiment_parse(def, EXP_FROM_USER, eerr);
        if (!e) {
            ok = cfail(err, "experiments[%zu]: %s", i, eerr);
            break;
        }
        c.experiments[c.nexperiments] = e;
        c.fingerprints[c.nexperiments++] = experiment_fingerprint(def);
    }
    ok = ok && config_check_experiment_set(c.experiments, c.nexperiments, err);
    json_decref(root);
    if (!ok) {
        config_free(&c);
        return false;
    }
    *out = c;
    return true;
}

void config_free(upshot_config *c)
{
    for (int i = 0; i < c->nexperiments; i++)
        experiment_release(c->experiments[i]);
    free(c->experiments);
    free(c->fingerprints);
    c->experiments = NULL;
    c->fingerprints = NULL;
    c->nexperiments = 0;
}
