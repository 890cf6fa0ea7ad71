/* bench_bucketing.c: assignments per second on one core, in process.
 *
 * Measures, over the same million visitor ids and in the same process:
 *
 *   copy      the floor: build the string the hash would read
 *             (salt "|" purpose "|" visitor) with memcpy and touch one byte
 *             of it; no hashing. Any bucketing costs at least this much.
 *   murmur    hash_murmur3_32 over those prebuilt strings: the raw hash.
 *   bucket    hash_bucket(salt, "variant", visitor): one bucketing decision
 *             as the engine makes it (concatenation + hash + bucket map).
 *   assign    the engine's full public assignment for one running experiment
 *             (status, region targeting, coverage, variant ranges).
 *
 * Each kind runs for --seconds per round, rounds interleave the kinds
 * (copy, murmur, bucket, assign, copy, ...) so a noisy neighbour slows all of
 * them alike, and the best round of each kind is reported with its ratio to
 * the copy floor. Output is one JSON object on stdout (bench/run reads it).
 *
 * Every loop is bounded: a round stops after its time budget, checked every
 * 64k ids. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "bench_assign_adapter.h"

#define N_IDS 1000000u /* visitor ids drawn from a million, as over HTTP */
#define ID_SLOT 16u    /* bytes per id slot: "v" + up to 7 digits + NUL */
#define KEY_SLOT 48u   /* bytes per prebuilt hash input */
#define CHECK_EVERY 65536u

static const char SALT[] = "bench-exp";
static const char PURPOSE[] = "variant";

enum kind { K_COPY, K_MURMUR, K_BUCKET, K_ASSIGN, K_COUNT };
static const char *const KIND_NAME[K_COUNT] = {"copy", "murmur", "bucket", "assign"};

struct ids {
    char *vis;      /* N_IDS slots of ID_SLOT bytes: "v0000001"... */
    char *keys;     /* N_IDS slots of KEY_SLOT bytes: salt|purpose|visitor */
    uint8_t *klen;  /* length of each key */
};

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The ids are shuffled (a fixed LCG permutation of the walk order is
 * implicit: id i is visitor (i * 7919) mod N) so that the access pattern is
 * not a straight sequential scan of sorted strings. */
static int ids_init(struct ids *d)
{
    d->vis = malloc((size_t)N_IDS * ID_SLOT);
    d->keys = malloc((size_t)N_IDS * KEY_SLOT);
    d->klen = malloc(N_IDS);
    if (!d->vis || !d->keys || !d->klen)
        return -1;
    for (uint32_t i = 0; i < N_IDS; i++) {
        uint32_t v = (uint32_t)(((uint64_t)i * 7919u) % N_IDS) + 1u;
        snprintf(d->vis + (size_t)i * ID_SLOT, ID_SLOT, "v%u", v);
        int n = snprintf(d->keys + (size_t)i * KEY_SLOT, KEY_SLOT, "%s|%s|v%u", SALT,
                         PURPOSE, v);
        d->klen[i] = (uint8_t)n;
    }
    return 0;
}

static volatile uint32_t sink; /* keeps results alive past the optimiser */

/* Runs one kind over the ids until `seconds` have passed; returns ids/s. */
static double run_kind(const struct ids *d, enum kind k, double seconds, void *assign_ctx)
{
    uint64_t done = 0;
    uint32_t acc = 0, i = 0;
    char buf[KEY_SLOT];
    double t0 = now_sec(), t1 = t0;
    const size_t salt_len = sizeof SALT - 1, purpose_len = sizeof PURPOSE - 1;
    for (;;) {
        for (uint32_t j = 0; j < CHECK_EVERY; j++, i = (i + 1 == N_IDS) ? 0 : i + 1) {
            const char *vis = d->vis + (size_t)i * ID_SLOT;
            switch (k) {
            case K_COPY: {
                size_t vl = strlen(vis);
                memcpy(buf, SALT, salt_len);
                buf[salt_len] = '|';
                memcpy(buf + salt_len + 1, PURPOSE, purpose_len);
                buf[salt_len + 1 + purpose_len] = '|';
                memcpy(buf + salt_len + 2 + purpose_len, vis, vl);
                acc += (uint8_t)buf[salt_len + 2 + purpose_len + vl - 1];
                break;
            }
            case K_MURMUR:
                acc += hash_murmur3_32(d->keys + (size_t)i * KEY_SLOT, d->klen[i], 0);
                break;
            case K_BUCKET:
                acc += hash_bucket(SALT, PURPOSE, vis);
                break;
            case K_ASSIGN:
                acc += bench_assign_one(assign_ctx, vis, i);
                break;
            default:
                break;
            }
        }
        done += CHECK_EVERY;
        t1 = now_sec();
        if (t1 - t0 >= seconds)
            break;
    }
    sink += acc;
    return (double)done / (t1 - t0);
}

int main(int argc, char **argv)
{
    double seconds = 0.5;
    int rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            ; /* the only output format; accepted for symmetry with bench_stats */
        else {
            fprintf(stderr, "usage: bench_bucketing [--seconds S] [--rounds R] [--json]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 30 || rounds < 1 || rounds > 50) {
        fprintf(stderr, "bench_bucketing: --seconds in (0,30], --rounds in [1,50]\n");
        return 2;
    }

    struct ids d;
    if (ids_init(&d)) {
        fprintf(stderr, "bench_bucketing: out of memory\n");
        return 1;
    }
    void *assign_ctx = bench_assign_setup();
    int have_assign = assign_ctx != NULL;
    if (!have_assign)
        fprintf(stderr, "bench_bucketing: assignment setup failed; skipping assign\n");

    double best[K_COUNT] = {0};
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < K_COUNT; k++) {
            if (k == K_ASSIGN && !have_assign)
                continue;
            double rate = run_kind(&d, (enum kind)k, seconds, assign_ctx);
            if (rate > best[k])
                best[k] = rate;
        }
    }

    printf("{\"ids\":%u,\"rounds\":%d,\"seconds_per_round\":%g", N_IDS, rounds, seconds);
    for (int k = 0; k < K_COUNT; k++) {
        if (k == K_ASSIGN && !have_assign) {
            printf(",\"%s_per_s\":null,\"%s_vs_copy\":null", KIND_NAME[k], KIND_NAME[k]);
            continue;
        }
        printf(",\"%s_per_s\":%.0f,\"%s_vs_copy\":%.4f", KIND_NAME[k], best[k], KIND_NAME[k],
               best[k] / best[K_COPY]);
    }
    printf("}\n");
    bench_assign_teardown(assign_ctx);
    free(d.vis);
    free(d.keys);
    free(d.klen);
    return 0;
}
