/* stats_core.c -- see stats_core.h. */
#include "stats_core.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <math.h>
#include <stdio.h>

void stats_init(void)
{
    gsl_set_error_handler_off();
}

stats_value stats_value_of(double v)
{
    if (!isfinite(v))
        return stats_value_undef("not a finite number");
    return (stats_value){.value = v, .defined = true, .why = NULL};
}

stats_value stats_value_undef(const char *why)
{
    return (stats_value){.value = 0.0, .defined = false, .why = why};
}

stats_interval stats_interval_of(double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi))
        return stats_interval_undef("interval bound is not finite");
    return (stats_interval){.lo = lo, .hi = hi, .defined = true, .why = NULL};
}

stats_interval stats_interval_undef(const char *why)
{
    return (stats_interval){.lo = 0.0, .hi = 0.0, .defined = false, .why = why};
}

stats_pvalue stats_pvalue_undef(const char *why)
{
    return (stats_pvalue){.p = 0.0, .log10_p = 0.0, .defined = false, .why = why};
}

stats_pvalue stats_pvalue_from_log(double ln_p)
{
    if (isnan(ln_p))
        return stats_pvalue_undef("p-value computation failed");
    if (ln_p > 0.0)
        ln_p = 0.0;
    if (ln_p == -INFINITY)  /* only for truly infinite evidence */
        return stats_pvalue_undef("p-value is below every representable bound");
    return (stats_pvalue){.p = exp(ln_p), .log10_p = ln_p / M_LN10,
                          .defined = true, .why = NULL};
}

char *stats_pvalue_format(stats_pvalue p, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    if (!p.defined) {
        snprintf(buf, size, "undefined");
    } else if (p.log10_p > -4.0) {
        snprintf(buf, size, "%.4f", p.p);
    } else {
        /* Split log10 p into mantissa and exponent so that 1e-400 prints. */
        double e = floor(p.log10_p);
        double m = pow(10.0, p.log10_p - e);
        if (m >= 9.95) {  /* rounding would print 10.0e-x */
            m /= 10.0;
            e += 1.0;
        }
        snprintf(buf, size, "%.1fe-%02d", m, (int)-e);
    }
    return buf;
}
