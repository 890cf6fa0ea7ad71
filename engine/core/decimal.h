/* decimal.h: numbers as decimal text and back, without printf or scanf.
 *
 * The write path turns several integers per event into text (RESP
 * lengths and counts, shard numbers in key names, variant indexes in
 * journal lines); snprintf's format parsing showed in profiles there, so
 * this is the one hand-written conversion the engine shares. The two
 * parsers are the strict readers of what upshotd itself wrote (journal
 * lines, visitor records): one spelling per value, anything else is
 * rejected rather than read as something close. Pure, no allocation. */
#ifndef UPSHOT_DECIMAL_H
#define UPSHOT_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Digits of UINT64_MAX (18446744073709551615): the longest output. */
#define DECIMAL_U64_DIGITS 20
/* A buffer this size always holds the digits and the terminating NUL. */
#define DECIMAL_U64_BUF (DECIMAL_U64_DIGITS + 1)

/* Writes the decimal digits of v to out (no sign, no leading zeros, "0"
 * for zero) followed by a NUL, and returns the number of digits (1..20).
 * out must have room for that many digits plus one: DECIMAL_U64_BUF
 * always suffices, and a value known to be below 10^k needs k + 1. */
size_t decimal_u64(char *out, uint64_t v);

/* Reads exactly len bytes as decimal_u64 writes them: 1..20 digits, no
 * sign, no spaces, no leading zero (except "0" itself). 0 with *out set
 * when the value is at most max, else -1. */
int decimal_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/* Longest text of a double printed with "%.17g" ("-1.2345678901234567e-308"). */
#define DECIMAL_G17_MAX 24

/* Reads exactly len bytes as an amount printed with "%.17g": a finite,
 * non-negative number (minus zero included) in plain or exponent form.
 * Rejects empty or longer than DECIMAL_G17_MAX text, spaces, a leading
 * '+', hex, inf and nan. 0 with *out set, else -1. */
int decimal_parse_amount(const char *s, size_t len, double *out);

/* The value 0..15 of a hexadecimal digit (either case), or -1. */
int decimal_hex_digit(char c);

/* Writes v (finite) as the shortest of "%.15g", "%.16g" and "%.17g" that
 * reads back as v, with a NUL, into out (DECIMAL_G17_MAX + 1 bytes), and
 * returns its length: 19.99 stays "19.99" where "%.17g" alone would write
 * "19.989999999999998", and each byte is kept per visitor in Redis. The
 * one formatter here that uses snprintf: amounts are a few per order, not
 * several per event. */
size_t decimal_amount(char *out, double v);

#endif
