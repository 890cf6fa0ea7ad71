/* Tests for journal_line.h: every line type written by its formatter reads
 * back to the same fields (round trip), the longest possible line fits
 * JOURNAL_LINE_MAX, a buffer too small gives 0, and malformed lines (a
 * table of them) are rejected. */
#include <criterion/criterion.h>
#include <string.h>

#include "journal_line.h"

#define DAY "2026-11-22"
#define ACK "00c0ffee0000002a"

TestSuite(journal_line);

/* Parses the line formatted in buf (n bytes, '\n' last) from a copy, so
 * that the caller's text stays intact for messages. */
static journal_line parse_ok(char *copy, const char *buf, size_t n)
{
    cr_assert_gt(n, 0u, "the formatter wrote nothing");
    cr_assert_eq(buf[n - 1], '\n', "a line ends in a newline");
    cr_assert_null(memchr(buf, '\n', n - 1), "one line, one newline");
    memcpy(copy, buf, n);
    journal_line l;
    cr_assert_eq(journal_line_parse(copy, n - 1, &l), 0, "rejected its own line \"%.*s\"", (int)n - 1, buf);
    return l;
}

static void expect_text(journal_text t, const char *want, const char *what)
{
    cr_expect_not_null(t.s, "%s missing", what);
    if (!t.s)
        return;
    cr_expect_str_eq(t.s, want, "%s", what);
    cr_expect_eq(t.len, strlen(want), "%s: length %zu", what, t.len);
}

Test(journal_line, exposure_round_trip)
{
    char buf[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
    const int variants[] = {0, 1, 9, 10, 15};
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        for (int promoted = 0; promoted <= 1; promoted++) {
            size_t n = journal_line_exposure(buf, sizeof buf, promoted, "checkout-tiers", "v-42~x",
                                             variants[i], "gr", DAY, -1);
            journal_line l = parse_ok(copy, buf, n);
            cr_expect_eq(l.type, promoted ? JOURNAL_PROMOTED : JOURNAL_EXPOSURE);
            expect_text(l.exp, "checkout-tiers", "exp");
            expect_text(l.visitor, "v-42~x", "visitor");
            expect_text(l.region, "gr", "region");
            expect_text(l.day, DAY, "day");
            cr_expect_eq(l.variant_index, variants[i], "variant %d read as %d", variants[i], l.variant_index);
            cr_expect_eq(l.variant.len, variants[i] < 10 ? 1u : 2u);
            cr_expect_null(l.event_id.s, "an exposure has no event id");
            cr_expect_null(l.value.s, "an exposure has no value");
            expect_text(l.cart, "", "cart value of an exposure without one");
            cr_expect_eq(l.cart_value, -1);
        }
    }
    size_t n = journal_line_exposure(buf, sizeof buf, false, "e", "v", 3, "pl", DAY, -1);
    cr_expect_eq(n, strlen("X\te\tv\t3\tpl\t" DAY "\n"));
    cr_expect(memcmp(buf, "X\te\tv\t3\tpl\t" DAY "\n", n) == 0, "the layout of the table");
}

Test(journal_line, an_exposure_keeps_its_cart_value_exactly_and_short)
{
    char buf[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
    const double carts[] = {0, 19.99, 0.1 + 0.2, 1e-300, 1234567.89};
    for (size_t i = 0; i < sizeof carts / sizeof *carts; i++) {
        size_t n = journal_line_exposure(buf, sizeof buf, i % 2, "e", "v", 1, "gr", DAY, carts[i]);
        journal_line l = parse_ok(copy, buf, n);
        cr_expect_eq(l.cart_value, carts[i], "%.17g read back as %.17g", carts[i], l.cart_value);
        cr_expect_gt(l.cart.len, 0u);
        cr_expect_eq(l.ack.len, 0u, "an exposure has no token");
    }
    /* Shortest text that reads back: "19.99", not "19.989999999999998". */
    size_t n = journal_line_exposure(buf, sizeof buf, false, "e", "v", 3, "pl", DAY, 19.99);
    const char *want = "X\te\tv\t3\tpl\t" DAY "\t19.99\n";
    cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "got \"%.*s\"", (int)n, buf);
}

Test(journal_line, a_bandit_exposure_keeps_its_period_with_or_without_a_cart_value)
{
    char buf[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
    const int periods[] = {0, 1, 9, 10, 400, JOURNAL_PERIOD_MAX};
    for (size_t i = 0; i < sizeof periods / sizeof *periods; i++) {
        for (int with_cart = 0; with_cart <= 1; with_cart++) {
            size_t n = journal_line_exposure_period(buf, sizeof buf, "e", "v", 2, "gr", DAY,
                                                    with_cart ? 19.99 : -1, periods[i]);
            journal_line l = parse_ok(copy, buf, n);
            cr_expect_eq(l.type, JOURNAL_EXPOSURE);
            cr_expect_eq(l.variant_index, 2);
            cr_expect_eq(l.period_index, periods[i], "period %d read as %d", periods[i], l.period_index);
            cr_expect_eq(l.cart_value, with_cart ? 19.99 : -1);
            expect_text(l.cart, with_cart ? "19.99" : "", "cart");
        }
    }
    size_t n = journal_line_exposure_period(buf, sizeof buf, "e", "v", 3, "pl", DAY, -1, 7);
    const char *want = "X\te\tv\t3\tpl\t" DAY "\t\t7\n";
    cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "got \"%.*s\"", (int)n, buf);
    n = journal_line_exposure_period(buf, sizeof buf, "e", "v", 3, "pl", DAY, 5, 12);
    want = "X\te\tv\t3\tpl\t" DAY "\t5\t12\n";
    cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "got \"%.*s\"", (int)n, buf);
    /* No period: exactly the line of a fixed experiment. */
    n = journal_line_exposure_period(buf, sizeof buf, "e", "v", 3, "pl", DAY, -1, -1);
    want = "X\te\tv\t3\tpl\t" DAY "\n";
    cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "got \"%.*s\"", (int)n, buf);
}

Test(journal_line, lines_without_a_period_read_with_none)
{
    char line[] = "X\te\tv\t1\tgr\t" DAY "\t3.5";
    journal_line l;
    cr_assert_eq(journal_line_parse(line, strlen(line), &l), 0);
    cr_expect_eq(l.period_index, -1);
    expect_text(l.period, "", "period");
    char conv[] = "C\te\tv\to\t1\t" DAY "\t" ACK;
    cr_assert_eq(journal_line_parse(conv, strlen(conv), &l), 0);
    cr_expect_eq(l.period_index, -1);
}

Test(journal_line, refund_round_trip)
{
    char buf[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
    size_t n = journal_line_refund(buf, sizeof buf, "cart", "visitor-1", "rf-1", 20.5, DAY, ACK,
                                   "c:cart:order-7");
    journal_line l = parse_ok(copy, buf, n);
    cr_expect_eq(l.type, JOURNAL_REFUND);
    expect_text(l.event_id, "rf-1", "event id");
    expect_text(l.value, "20.5", "amount");
    expect_text(l.ack, ACK, "acknowledgment token");
    expect_text(l.order, "c:cart:order-7", "order");
    cr_expect_eq(l.amount, 20.5);
    const char *want = "R\tcart\tvisitor-1\trf-1\t20.5\t" DAY "\t" ACK "\tc:cart:order-7\n";
    cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "got \"%.*s\"", (int)n, buf);
}

Test(journal_line, conversion_round_trip_keeps_the_exact_amount)
{
    char buf[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
    const double values[] = {0, 10, 12.5, 0.1, 0.1 + 0.2, 1e20, 123456.78901234567, 1e-300,
                             1.7976931348623157e308};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        size_t n = journal_line_conversion(buf, sizeof buf, "cart", "visitor-1", "order-7", values[i], DAY, ACK);
        journal_line l = parse_ok(copy, buf, n);
        cr_expect_eq(l.type, JOURNAL_CONVERSION);
        expect_text(l.exp, "cart", "exp");
        expect_text(l.visitor, "visitor-1", "visitor");
        expect_text(l.event_id, "order-7", "event id");
        expect_text(l.day, DAY, "day");
        expect_text(l.ack, ACK, "acknowledgment token");
        cr_expect_eq(l.amount, values[i], "%.17g read back as %.17g", values[i], l.amount);
        cr_expect_eq(l.variant_index, -1);
        cr_expect_null(l.region.s, "a conversion has no region");
    }
    size_t n = journal_line_conversion(buf, sizeof buf, "e", "v", "o", 12.5, DAY, ACK);
    const char *want = "C\te\tv\to\t12.5\t" DAY "\t" ACK "\n";
    cr_expect(n == strlen(want) && memcmp(buf, want, n) == 0, "got \"%.*s\"", (int)n, buf);
}

Test(journal_line, decline_round_trip)
{
    char buf[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
    size_t n = journal_line_decline(buf, sizeof buf, "cart", "visitor-1", "no-thanks-3", DAY, ACK);
    journal_line l = parse_ok(copy, buf, n);
    cr_expect_eq(l.type, JOURNAL_DECLINE);
    expect_text(l.exp, "cart", "exp");
    expect_text(l.visitor, "visitor-1", "visitor");
    expect_text(l.event_id, "no-thanks-3", "event id");
    expect_text(l.value, "-", "value");
    expect_text(l.day, DAY, "day");
    expect_text(l.ack, ACK, "acknowledgment token");
    cr_expect(memcmp(buf, "D\tcart\tvisitor-1\tno-thanks-3\t-\t" DAY "\t" ACK "\n", n) == 0,
              "got \"%.*s\"", (int)n, buf);
}

Test(journal_line, lines_written_before_the_token_read_with_an_empty_one)
{
    char conv[] = "C\te\tv\to\t12.5\t" DAY, decl[] = "D\te\tv\to\t-\t" DAY;
    journal_line l;
    cr_assert_eq(journal_line_parse(conv, sizeof conv - 1, &l), 0);
    expect_text(l.ack, "", "token of an old conversion line");
    cr_assert_eq(journal_line_parse(decl, sizeof decl - 1, &l), 0);
    expect_text(l.ack, "", "token of an old decline line");
}

Test(journal_line, tokens_are_sixteen_hex_digits_of_nonce_and_serial)
{
    char a[JOURNAL_ACK_LEN + 1], b[JOURNAL_ACK_LEN + 1];
    journal_line_ack(a, 0x00c0ffeeu, 42);
    cr_expect_str_eq(a, ACK);
    journal_line_ack(b, 0xffffffffu, 0xffffffffu);
    cr_expect_str_eq(b, "ffffffffffffffff");
    journal_line_ack(b, 0, 0);
    cr_expect_str_eq(b, "0000000000000000");
    journal_line_ack(b, 0x00c0ffeeu, 43);
    cr_expect(strcmp(a, b) != 0, "the next serial, another token");
}

static void fill(char *s, char c, size_t n)
{
    memset(s, c, n);
    s[n] = '\0';
}

Test(journal_line, the_longest_lines_fit_the_bound_and_one_byte_less_does_not)
{
    char key[VALIDATE_KEY_MAX + 1], id[VALIDATE_ID_MAX + 1], id2[VALIDATE_ID_MAX + 1];
    fill(key, 'k', VALIDATE_KEY_MAX);
    fill(id, '~', VALIDATE_ID_MAX);
    fill(id2, '!', VALIDATE_ID_MAX);
    char buf[JOURNAL_LINE_MAX + 1], copy[JOURNAL_LINE_MAX + 1];
    size_t n = journal_line_conversion(buf, sizeof buf, key, id, id2, 1.2345678901234567e-300, DAY, ACK);
    cr_expect_leq(n, (size_t)JOURNAL_LINE_MAX);
    parse_ok(copy, buf, n);
    n = journal_line_decline(buf, JOURNAL_LINE_MAX, key, id, id2, DAY, ACK);
    parse_ok(copy, buf, n);
    n = journal_line_exposure(buf, JOURNAL_LINE_MAX, true, key, id, 15, key, DAY,
                              1.2345678901234567e-300);
    parse_ok(copy, buf, n);
    cr_expect_eq(journal_line_exposure(buf, n - 1, true, key, id, 15, key, DAY,
                                       1.2345678901234567e-300),
                 0u, "a line one byte too long for the buffer is not written");
    /* The bound is the widest line, a refund's: exp, visitor, two ids, the
     * longest amount, the token and the order id. */
    char id3[VALIDATE_ID_MAX + 1];
    fill(id3, '#', VALIDATE_ID_MAX);
    n = journal_line_refund(buf, sizeof buf, key, id, id2, 1.2345678901234567e-300, DAY, ACK, id3);
    /* A positive amount is at most 23 bytes, one less than DECIMAL_G17_MAX
     * (which allows a sign): the bound is that one byte loose. */
    cr_expect_eq(n, (size_t)JOURNAL_LINE_MAX - 1, "the longest refund is the bound");
    parse_ok(copy, buf, n);
    cr_expect_eq(journal_line_refund(buf, n - 1, key, id, id2, 1.2345678901234567e-300, DAY, ACK,
                                     id3),
                 0u, "one byte short");
}

Test(journal_line, malformed_lines_are_rejected)
{
    static const struct {
        const char *line;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"garbage", "one field"},
        {"X\te\tv\t0\tgr", "five fields"},
        {"X\te\tv\t0\tgr\t" DAY "\textra", "seven fields in an exposure"},
        {"X\te\tv\t0\tgr\t" DAY "\t" ACK, "an exposure with a token"},
        {"C\te\tv\to\t1\t" DAY "\t" ACK "\tx", "eight fields"},
        {"C\te\tv\to\t1\t" DAY "\t", "an empty token"},
        {"C\te\tv\to\t1\t" DAY "\t00C0FFEE0000002A", "a token in uppercase"},
        {"C\te\tv\to\t1\t" DAY "\t00c0ffee000002a", "a token of 15 digits"},
        {"D\te\tv\to\t-\t" DAY "\t00c0ffee0000002ag", "a token of 17 digits"},
        {"D\te\tv\to\t-\t" DAY "\t00c0ffee0000002g", "a token not hex"},
        {"X\te\tv\t0\tgr\t" DAY "\t", "a trailing tab"},
        {"Q\te\tv\t0\tgr\t" DAY, "unknown type"},
        {"XX\te\tv\t0\tgr\t" DAY, "type of two letters"},
        {"x\te\tv\t0\tgr\t" DAY, "lowercase type"},
        {"\te\tv\t0\tgr\t" DAY, "empty type"},
        {"X\t\tv\t0\tgr\t" DAY, "empty experiment"},
        {"X\tBad Key\tv\t0\tgr\t" DAY, "experiment not a key"},
        {"X\te\t\t0\tgr\t" DAY, "empty visitor"},
        {"X\te\tv v\t0\tgr\t" DAY, "visitor with a space"},
        {"X\te\tv\t\tgr\t" DAY, "empty variant"},
        {"X\te\tv\t16\tgr\t" DAY, "variant beyond 16 variants"},
        {"X\te\tv\t01\tgr\t" DAY, "variant with a leading zero"},
        {"X\te\tv\t-1\tgr\t" DAY, "negative variant"},
        {"X\te\tv\tA\tgr\t" DAY, "variant not a number"},
        {"P\te\tv\t0\tGR\t" DAY, "region not a key"},
        {"P\te\tv\t0\t\t" DAY, "empty region"},
        {"X\te\tv\t0\tgr\t2026-11-2", "day too short"},
        {"X\te\tv\t0\tgr\t2026/11/22", "day with slashes"},
        {"X\te\tv\t0\tgr\t2026-11-22Z", "day too long"},
        {"X\te\tv\t0\tgr\t", "empty day"},
        {"C\te\tv\to\t\t" DAY, "conversion without a value"},
        {"C\te\tv\to\t-\t" DAY, "conversion with a decline's value"},
        {"C\te\tv\to\t-5\t" DAY, "negative value"},
        {"C\te\tv\to\tnan\t" DAY, "nan value"},
        {"C\te\tv\to\tinf\t" DAY, "infinite value"},
        {"C\te\tv\to\t1e999\t" DAY, "value that overflows"},
        {"C\te\tv\to\t12,5\t" DAY, "value with a comma"},
        {"C\te\tv\t\t10\t" DAY, "conversion without an event id"},
        {"D\te\tv\to\t0\t" DAY, "decline with a value"},
        {"D\te\tv\to\t\t" DAY, "decline without its dash"},
        {"D\te\tv\t\t-\t" DAY, "decline without an event id"},
        {"X\te\tv\t0\tgr\t" DAY "\t-1", "negative cart value"},
        {"P\te\tv\t0\tgr\t" DAY "\t1\t2", "eight fields in a promoted exposure"},
        {"X\te\tv\t0\tgr\t" DAY "\t1\t", "an empty period"},
        {"X\te\tv\t0\tgr\t" DAY "\t\t", "an empty cart value and period"},
        {"X\te\tv\t0\tgr\t" DAY "\t\t03", "a period with a leading zero"},
        {"X\te\tv\t0\tgr\t" DAY "\t\t-1", "a negative period"},
        {"X\te\tv\t0\tgr\t" DAY "\t\t1000000000", "a period beyond nine digits"},
        {"X\te\tv\t0\tgr\t" DAY "\t\t1x", "a period not a number"},
        {"X\te\tv\t0\tgr\t" DAY "\t-1\t1", "a negative cart value before a period"},
        {"R\te\tv\tr\t5\t" DAY "\t" ACK, "refund without an order"},
        {"R\te\tv\tr\t0\t" DAY "\t" ACK "\to", "refund of nothing"},
        {"R\te\tv\tr\t-5\t" DAY "\t" ACK "\to", "refund amount negative"},
        {"R\te\tv\tr\t5\t" DAY "\t\to", "refund without a token"},
        {"R\te\tv\tr\t5\t" DAY "\t" ACK "\t", "refund with an empty order"},
        {"R\te\tv\tr\t5\t" DAY "\t" ACK "\to p", "order with a space"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[256];
        size_t n = strlen(bad[i].line);
        memcpy(buf, bad[i].line, n + 1);
        journal_line l;
        cr_expect_eq(journal_line_parse(buf, n, &l), -1, "%s: accepted", bad[i].why);
    }
}

Test(journal_line, a_nul_or_newline_inside_a_line_is_rejected)
{
    char with_nul[] = "X\te\tv\0\t0\tgr\t" DAY;
    journal_line l;
    cr_expect_eq(journal_line_parse(with_nul, sizeof with_nul - 1, &l), -1);
    char with_nl[] = "X\te\tv\t0\tgr\n\t" DAY;
    cr_expect_eq(journal_line_parse(with_nl, sizeof with_nl - 1, &l), -1);
}

Test(journal_line, parses_in_place_and_reads_only_len_bytes)
{
    /* Two lines in one buffer, as the store reads them: parsing the first
     * ends at its own newline and leaves the second alone. */
    char buf[] = "X\te\tv\t2\tgr\t" DAY "\nD\te\tv\to\t-\t" DAY "\n";
    size_t first = strlen("X\te\tv\t2\tgr\t" DAY);
    journal_line a, b;
    cr_assert_eq(journal_line_parse(buf, first, &a), 0);
    cr_expect_eq(buf[first], '\0', "the newline became the first line's terminator");
    cr_expect(a.exp.s >= buf && a.exp.s < buf + first, "fields point into the line");
    size_t second = strlen(buf + first + 1) - 1;
    cr_assert_eq(journal_line_parse(buf + first + 1, second, &b), 0);
    cr_expect_eq(a.variant_index, 2);
    cr_expect_eq(b.type, JOURNAL_DECLINE);
    cr_expect_str_eq(a.day.s, DAY);
}
