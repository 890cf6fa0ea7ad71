/* Tests for decimal.h: decimal_u64 against snprintf's "%" PRIu64 over the
 * edges of every digit count (10^k - 1, 10^k, 10^k + 1), the 32-bit
 * limits and UINT64_MAX, and the promise to write no byte past the NUL. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"

static void expect_like_snprintf(uint64_t v)
{
    char want[32], got[DECIMAL_U64_BUF + 8];
    int wn = snprintf(want, sizeof want, "%" PRIu64, v);
    memset(got, '#', sizeof got);
    size_t n = decimal_u64(got, v);
    cr_expect_eq(n, (size_t)wn, "decimal_u64(%" PRIu64 ") returned %zu, snprintf wrote %d", v, n, wn);
    cr_expect_str_eq(got, want, "decimal_u64(%" PRIu64 ") wrote \"%s\"", v, got);
    for (size_t i = n + 1; i < sizeof got; i++)
        cr_expect_eq(got[i], '#', "decimal_u64(%" PRIu64 ") wrote past its NUL at %zu", v, i);
}

TestSuite(decimal);

Test(decimal, zero_and_single_digits)
{
    for (uint64_t v = 0; v < 10; v++)
        expect_like_snprintf(v);
}

Test(decimal, around_every_power_of_ten)
{
    uint64_t p = 10;
    for (int k = 1; k <= 19; k++, p *= 10) {
        expect_like_snprintf(p - 1);
        expect_like_snprintf(p);
        expect_like_snprintf(p + 1);
    }
}

Test(decimal, type_limits)
{
    expect_like_snprintf(UINT16_MAX);
    expect_like_snprintf(UINT32_MAX);
    expect_like_snprintf((uint64_t)UINT32_MAX + 1);
    expect_like_snprintf(INT64_MAX);
    expect_like_snprintf(UINT64_MAX - 1);
    expect_like_snprintf(UINT64_MAX);
    char out[DECIMAL_U64_BUF];
    cr_expect_eq(decimal_u64(out, UINT64_MAX), (size_t)DECIMAL_U64_DIGITS,
                 "UINT64_MAX has DECIMAL_U64_DIGITS digits");
}

Test(decimal, a_value_below_ten_to_the_k_needs_k_plus_one_bytes)
{
    /* The bound keys.c relies on: a shard below 65536 fits in 5 + 1. */
    char out[6];
    cr_expect_eq(decimal_u64(out, 65535), 5u);
    cr_expect_str_eq(out, "65535");
}

Test(decimal, parse_u64_reads_back_what_decimal_u64_writes)
{
    const uint64_t values[] = {0, 1, 9, 10, 15, 65535, UINT32_MAX, INT64_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char text[DECIMAL_U64_BUF];
        size_t n = decimal_u64(text, values[i]);
        uint64_t got = 12345;
        cr_expect_eq(decimal_parse_u64(text, n, UINT64_MAX, &got), 0, "\"%s\" rejected", text);
        cr_expect_eq(got, values[i], "\"%s\" read as %" PRIu64, text, got);
    }
}

Test(decimal, parse_u64_rejects_every_other_spelling)
{
    static const struct {
        const char *text;
        uint64_t max;
    } bad[] = {
        {"", 99},     {"01", 99},   {"00", 99},  {"+1", 99},  {"-1", 99}, {" 1", 99},
        {"1 ", 99},   {"1a", 99},   {"0x1", 99}, {"16", 15},  {"1.0", 99},
        {"18446744073709551616", UINT64_MAX}, /* UINT64_MAX + 1 wraps */
        {"99999999999999999999", UINT64_MAX},
        {"100000000000000000000", UINT64_MAX}, /* 21 digits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t got = 7;
        cr_expect_eq(decimal_parse_u64(bad[i].text, strlen(bad[i].text), bad[i].max, &got), -1,
                     "\"%s\" (max %" PRIu64 ") accepted as %" PRIu64, bad[i].text, bad[i].max, got);
    }
    uint64_t got;
    cr_expect_eq(decimal_parse_u64("15", 2, 15, &got), 0, "the bound itself is allowed");
    cr_expect_eq(decimal_parse_u64("129", 2, 99, &got), 0, "only len bytes are read");
    cr_expect_eq(got, 12u);
}

Test(decimal, parse_amount_reads_back_g17_text)
{
    const double values[] = {0, -0.0, 1, 10, 12.5, 0.1 + 0.2, 1e-300, 4.9406564584124654e-324,
                             123456789.12345679, 1e20, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char text[64];
        int n = snprintf(text, sizeof text, "%.17g", values[i]);
        cr_assert_leq(n, DECIMAL_G17_MAX, "\"%s\" is longer than DECIMAL_G17_MAX", text);
        double got = -1;
        cr_expect_eq(decimal_parse_amount(text, (size_t)n, &got), 0, "\"%s\" rejected", text);
        cr_expect_eq(got, values[i], "\"%s\" read as %.17g", text, got);
    }
}

Test(decimal, parse_amount_rejects_what_g17_never_writes_for_an_amount)
{
    static const char *const bad[] = {
        "", "-", ".", "-1", "-0.5", "+1", " 1", "1 ", "1,5", "0x10", "inf", "-inf", "nan",
        "1e999", "e5", ".5e", "1e", "1..2", "abc", "12.5abc",
        "1234567890123456789012345", /* 25 bytes: longer than any %.17g */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double got = 0;
        cr_expect_eq(decimal_parse_amount(bad[i], strlen(bad[i]), &got), -1,
                     "\"%s\" accepted as %.17g", bad[i], got);
    }
}
