/* bench_assign_adapter.h: how bench_bucketing.c calls the engine's full
 * assignment (engine/core/assign.h), kept apart so the benchmark itself only
 * knows three calls: setup, one assignment, teardown.
 *
 * The experiment is the one the HTTP benchmarks use (bench-exp: running, two
 * variants 50/50, five regions, full coverage), parsed by the engine's own
 * experiment_parse, so the assignment runs the same compiled ranges as
 * upshotd does. */
#ifndef UPSHOT_BENCH_ASSIGN_ADAPTER_H
#define UPSHOT_BENCH_ASSIGN_ADAPTER_H

#include <stdio.h>

#include <jansson.h>

#include "assign.h"
#include "experiment.h"

static const char BENCH_ASSIGN_EXPERIMENT[] =
    "{\"key\":\"bench-exp\",\"salt\":\"bench-exp\",\"status\":\"running\","
    "\"placement\":\"checkout_popup\",\"pages\":[\"checkout\"],"
    "\"regions\":[\"gr\",\"pl\",\"mena\",\"ee\",\"se\"],\"traffic_percent\":100,"
    "\"control\":\"control\",\"goal\":\"conversion\",\"variants\":["
    "{\"key\":\"control\",\"weight\":0.5,\"payload\":{\"offer\":\"none\"}},"
    "{\"key\":\"premium\",\"weight\":0.5,\"payload\":{\"offer\":\"premium\"}}]}";

static const char *const BENCH_ASSIGN_REGIONS[5] = {"gr", "pl", "mena", "ee", "se"};

/* Returns the parsed experiment (owned; free with teardown), or NULL. */
static void *bench_assign_setup(void)
{
    json_error_t jerr;
    json_t *def = json_loads(BENCH_ASSIGN_EXPERIMENT, 0, &jerr);
    if (!def)
        return NULL;
    char err[EXP_ERR_MAX] = "";
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    json_decref(def);
    if (!e)
        fprintf(stderr, "bench_bucketing: %s\n", err);
    return e;
}

/* One full assignment of visitor in the i-th region of five; returns the
 * variant index so the caller can fold it into a checksum. */
static inline unsigned bench_assign_one(void *ctx, const char *visitor, unsigned i)
{
    assign_result r = assign_visitor(ctx, visitor, BENCH_ASSIGN_REGIONS[i % 5], NULL);
    return (unsigned)r.variant + (unsigned)r.in_experiment;
}

static void bench_assign_teardown(void *ctx)
{
    experiment_release(ctx);
}

#endif
