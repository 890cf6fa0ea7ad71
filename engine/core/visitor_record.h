/* visitor_record.h: the value of a visitor's record in Redis, read.
 *
 * record.lua keeps one record per (experiment, visitor) in the visitor
 * shard hashes (docs/redis.md, keys.h). Its value is text:
 *
 *   VARIANT|REGION|FLAGS[|PERIOD][|CART][|TOTAL[|CAPPED]]
 *
 *   VARIANT  variant index of the first exposure, decimal (0..63)
 *   REGION   region key of the first exposure (validate.h)
 *   FLAGS    each of these at most once, in any order, possibly none:
 *              p  exposed as promoted traffic (not randomized)
 *              c  has converted
 *              d  has declined
 *              x  was exposed with a cart value
 *              b  was exposed in a bandit experiment's period
 *   PERIOD   the region's bandit period at the first exposure, decimal
 *            (0..999999999, journal_line.h); present exactly when FLAGS
 *            holds b (records written before periods have none)
 *   CART     the cart value at exposure (the covariate of docs/stats.md);
 *            present exactly when FLAGS holds x
 *   TOTAL    the visitor's revenue total, net of refunds; present exactly
 *            when FLAGS holds c
 *   CAPPED   what the total counts for under the experiment's revenue cap,
 *            present only when below TOTAL
 *   (a cart value and a first order's total are the shortest text that
 *   reads back exactly; later totals and capped totals "%.17g")
 *
 * e.g. "2|gr|" (just exposed), "0|pl|pc|12.5", "1|se|d", "0|gr|xc|35|900|500",
 * "1|gr|b|3" (a bandit's visitor of period 3), "0|gr|bxc|0|35|900".
 * This is the one
 * C reader of that text (record.lua writes it, and reads it back inside
 * Redis). It reads only values record.lua can write: anything else,
 * garbage, a missing or extra field, a flag twice, a total that is not a
 * number, is rejected rather than read as something close.
 * tests/vectors/visitor_records.json holds the cases; the C unit test and
 * the record.lua integration test both check them. Pure, no allocation. */
#ifndef UPSHOT_VISITOR_RECORD_H
#define UPSHOT_VISITOR_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "validate.h"

/* Longest value accepted: 2 (variant) + 64 (region) + 5 (flags) + 9
 * (period) + 3 x 24 (cart, total, capped) + 6 separators = 158; anything
 * longer is not a record. */
#define VISITOR_RECORD_MAX 158

typedef struct visitor_record {
    int variant;                       /* index in the experiment, < EXP_MAX_VARIANTS */
    char region[VALIDATE_KEY_MAX + 1]; /* region of the first exposure */
    bool promoted;                     /* p: exposed as promoted traffic */
    bool converted;                    /* c: has converted */
    bool declined;                     /* d: has declined */
    bool has_cart;                     /* x: exposed with a cart value */
    int period;                        /* b: the bandit period of the first exposure; else -1 */
    double cart;                       /* the cart value; 0 unless has_cart */
    double total;                      /* revenue total; 0 unless converted */
    double capped;                     /* the total under the cap (= total when not capped) */
} visitor_record;

/* Parses the len bytes at value (not necessarily NUL-terminated). 0 with
 * *out filled, or -1 when the text is not a record (*out is then
 * unspecified). The variant is only checked against EXP_MAX_VARIANTS:
 * whether it names a variant of a given experiment is the caller's test. */
int visitor_record_parse(const char *value, size_t len, visitor_record *out);

#endif
