/* stats_core.h -- shared types of the statistics library: values that may be
 * undefined, intervals, p-values carried in log space, and the one-time
 * initialisation.
 *
 * Why: every number Upshot prints must be either right or visibly absent.
 * A quantity that cannot be computed (zero visitors, zero variance, a rate
 * of exactly 0 in a denominator) is returned with defined == false and a
 * static reason string, never as a silent NaN. P-values are carried as
 * log10(p) next to p itself, because an experiment with 10^8 visitors per
 * arm easily produces z = 40, where p = 3.6e-350 is below the smallest
 * double (about 4.9e-324) and would otherwise print as 0.
 *
 * The library is pure: GSL and libm only, no I/O, and no mutable state of
 * its own (results depend only on the arguments and, for the Bayesian
 * module, on a workspace the caller owns). The one global it touches is
 * GSL's process-wide error handler: stats_init() switches it off.
 *
 * That call is required, not a nicety. Inputs are checked before every
 * GSL call (so GSL's domain errors cannot arise) and the status of every
 * *_e variant is read; but GSL can still report errors that checking
 * inputs cannot rule out: running out of memory in
 * stats_bayes_workspace_new, an iteration that does not converge (as
 * gsl_cdf_tdist_Pinv's can). With the handler off such an error becomes
 * an undefined value or a NULL; without stats_init(), GSL's default
 * handler prints it and aborts the process.
 */
#ifndef UPSHOT_STATS_CORE_H
#define UPSHOT_STATS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A scalar that may be undefined. why is a static string (never freed),
 * NULL when defined. */
typedef struct stats_value {
    double value;    /* meaningful only when defined */
    bool defined;
    const char *why; /* reason it is undefined, static storage */
} stats_value;

/* A two-sided interval [lo, hi]. */
typedef struct stats_interval {
    double lo, hi;   /* meaningful only when defined */
    bool defined;
    const char *why;
} stats_interval;

/* A p-value. p may underflow to 0 for extreme evidence; log10_p never does
 * (it is finite whenever defined). Printers should use log10_p. */
typedef struct stats_pvalue {
    double p;        /* in [0, 1]; 0 only through underflow */
    double log10_p;  /* <= 0, always finite when defined */
    bool defined;
    const char *why;
} stats_pvalue;

/* Default significance level used when a caller passes alpha <= 0. */
#define STATS_DEFAULT_ALPHA 0.05

/* Switch GSL's aborting error handler off (process-wide). Call once at
 * start-up, before threads and before any other function of this library;
 * idempotent. The library reads GSL's status codes itself, so with the
 * handler off an error is an undefined value, never an abort (see the top
 * of this file). upshotd and the CLI call it at start-up. */
void stats_init(void);

/* Constructors. why must point to static storage. */
stats_value stats_value_of(double v);
stats_value stats_value_undef(const char *why);
stats_interval stats_interval_of(double lo, double hi);
stats_interval stats_interval_undef(const char *why);
stats_pvalue stats_pvalue_undef(const char *why);
/* From a natural-log p-value (ln p <= 0); clamps ln p > 0 to 0. */
stats_pvalue stats_pvalue_from_log(double ln_p);

/* Formats a p-value for people: "0.0213", "3.2e-07", "1.4e-400" (from
 * log10_p when p underflows), "<undefined>" when not defined. Pure string
 * formatting, no I/O. Returns buf. */
char *stats_pvalue_format(stats_pvalue p, char *buf, size_t size);

#endif
