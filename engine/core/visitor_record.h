/* visitor_record.h: the value of a visitor's record in Redis, read.
 *
 * record.lua keeps one record per (experiment, visitor) in the visitor
 * shard hashes (docs/redis.md, keys.h). Its value is text:
 *
 *   VARIANT|REGION|FLAGS[|TOTAL]
 *
 *   VARIANT  variant index of the first exposure, decimal (0..15)
 *   REGION   region key of the first exposure (validate.h)
 *   FLAGS    each of these at most once, in any order, possibly none:
 *              p  exposed as promoted traffic (not randomized)
 *              c  has converted
 *              d  has declined
 *   TOTAL    the visitor's revenue total, "%.17g"; present exactly when
 *            FLAGS holds c
 *
 * e.g. "2|gr|" (just exposed), "0|pl|pc|12.5", "1|se|d". This is the one
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

/* Longest value accepted: 2 (variant) + 64 (region) + 3 (flags) + 24
 * (a %.17g total) + 3 separators = 96; anything longer is not a record. */
#define VISITOR_RECORD_MAX 96

typedef struct visitor_record {
    int variant;                       /* index in the experiment, < EXP_MAX_VARIANTS */
    char region[VALIDATE_KEY_MAX + 1]; /* region of the first exposure */
    bool promoted;                     /* p: exposed as promoted traffic */
    bool converted;                    /* c: has converted */
    bool declined;                     /* d: has declined */
    double total;                      /* revenue total; 0 unless converted */
} visitor_record;

/* Parses the len bytes at value (not necessarily NUL-terminated). 0 with
 * *out filled, or -1 when the text is not a record (*out is then
 * unspecified). The variant is only checked against EXP_MAX_VARIANTS:
 * whether it names a variant of a given experiment is the caller's test. */
int visitor_record_parse(const char *value, size_t len, visitor_record *out);

#endif
