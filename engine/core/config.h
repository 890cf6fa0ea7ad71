/* config.h: the server's configuration file, parsed and validated.
 *
 * config_parse turns the file's text into a `upshot_config` (docs/config.md
 * is the schema), validating every field and every experiment, and the
 * experiments against each other (unique keys, no overlapping layer
 * ranges). Pure: it reads no file and no environment except through the
 * getenv callback the caller passes for "env:NAME" tokens. */
#ifndef UPSHOT_CONFIG_H
#define UPSHOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "experiment.h"
#include "token_table.h"

#define CONFIG_ERR_MAX 320
#define CONFIG_MAX_LIST 64
#define CONFIG_MAX_REGIONS 256

typedef enum { FSYNC_NEVER, FSYNC_INTERVAL, FSYNC_ALWAYS } config_fsync;
typedef enum { CORRECTION_HOLM, CORRECTION_BH } config_correction;

typedef struct upshot_config {
    char listen_host[64];
    int listen_port;
    char redis_host[256];
    int redis_port;
    char redis_password[256]; /* empty: no AUTH */
    int redis_db;
    /* Cluster mode: the seed nodes (redis.nodes); 0 means one Redis at
     * redis_host:redis_port. */
    int nredis_nodes;
    struct config_redis_node {
        char host[256];
        int port;
    } redis_nodes[CONFIG_MAX_LIST];
    int redis_wait_replicas;    /* 0: no WAIT before the checkpoint passes a batch */
    int redis_wait_timeout_ms;  /* each WAIT's own timeout */
    int state_poll_ms;          /* how often the shared state version is checked (shared_state.h) */
    char data_dir[1024];      /* absolute or relative to the process cwd */
    char access_log[1100];    /* "": off; "-": stderr; else a file (access_log.h) */
    char admin_token[256];    /* the older single token ("" when not set): it is
                                 also admin_tokens' entry "admin", role write */
    token_table admin_tokens; /* every admin token, hashed (token_table.h) */
    char tls_cert[1024];      /* tls.cert: PEM chain; "" serves plain HTTP */
    char tls_key[1024];       /* tls.key: its PEM private key */
    int nsdk_keys;
    char sdk_keys[CONFIG_MAX_LIST][129];
    int ncors;
    bool cors_any;
    char cors_origins[CONFIG_MAX_LIST][256];
    int nregions;             /* the shop's regions (region_set.h); 0: none listed */
    char regions[CONFIG_MAX_REGIONS][VALIDATE_KEY_MAX + 1];

    long max_body_bytes;
    long max_header_bytes;  /* request line and header fields (431 beyond) */
    int header_timeout_ms;  /* a request head's deadline from its first byte (408) */
    long max_connections;   /* open connections; 0: the descriptor limit less a reserve */
    long max_batch_events;
    double max_value;
    long max_results_bytes; /* a results body larger than this is refused (422) */

    int worker_threads;     /* threads computing results off the event loop (worker.h) */
    int worker_queue;       /* jobs they take at once; beyond, results get 503 busy */

    int batch_size;
    int flush_ms;
    long seen_visitors;   /* pairs the writer remembers as recorded (seen.h); 0: off */
    long max_backlog_events; /* journaled, not yet in Redis: beyond, events get 503 */
    long max_backlog_bytes;
    long degraded_lag_ms; /* /healthz says degraded when the oldest unapplied event is older */
    config_fsync fsync;
    int fsync_ms;

    double alpha;
    double tau2;
    long min_sample;
    config_correction correction;
    int auto_promote_interval_s;

    int nexperiments;
    experiment **experiments; /* owned: released by config_free */
    uint32_t *fingerprints;   /* experiment_fingerprint of each file definition */
} upshot_config;

/* Default mSPRT mixing variance (docs/stats.md explains the choice). */
#define CONFIG_DEFAULT_TAU2 1e-4

/* Parses text. base_dir resolves a relative data_dir (the config file's
 * directory); getenv_fn resolves "env:NAME" (pass getenv, or a fake in
 * tests). On error returns false, err names the field, *out is untouched. */
bool config_parse(const char *text, const char *base_dir, char *(*getenv_fn)(const char *),
                  upshot_config *out, char err[CONFIG_ERR_MAX]);

void config_free(upshot_config *c);

/* Checks that no two experiments of one layer own overlapping ranges and
 * that keys are unique. list may contain NULLs (skipped). */
bool config_check_experiment_set(experiment *const *list, int n, char err[CONFIG_ERR_MAX]);

#endif
