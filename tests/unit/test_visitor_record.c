/* Tests for visitor_record.h: every value of tests/vectors/visitor_records.json
 * (the values record.lua writes, which tests/integration/test_record_script.py
 * checks against the script itself) parses to the fields the vector lists,
 * and every invalid one is rejected; then what a JSON file cannot hold: an
 * embedded NUL, a value that is not NUL-terminated. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "visitor_record.h"

static json_t *vectors;

static void load(void)
{
    json_error_t err;
    vectors = json_load_file(UPSHOT_SOURCE_DIR "/tests/vectors/visitor_records.json", 0, &err);
    cr_assert_not_null(vectors, "cannot read vectors: %s", err.text);
}

static void unload(void) { json_decref(vectors); }

TestSuite(visitor_record, .init = load, .fini = unload);

Test(visitor_record, every_valid_vector_parses_to_its_fields)
{
    json_t *valid = json_object_get(vectors, "valid");
    cr_assert_gt(json_array_size(valid), 0u);
    size_t i;
    json_t *v;
    json_array_foreach(valid, i, v) {
        const char *value = json_string_value(json_object_get(v, "value"));
        const char *why = json_string_value(json_object_get(v, "why"));
        visitor_record r;
        memset(&r, 0x5a, sizeof r);
        cr_expect_eq(visitor_record_parse(value, strlen(value), &r), 0, "%s: \"%s\" rejected", why, value);
        cr_expect_eq(r.variant, json_integer_value(json_object_get(v, "variant")),
                     "%s: variant %d", why, r.variant);
        cr_expect_str_eq(r.region, json_string_value(json_object_get(v, "region")), "%s: region", why);
        cr_expect_eq(r.promoted, json_is_true(json_object_get(v, "promoted")), "%s: promoted", why);
        cr_expect_eq(r.converted, json_is_true(json_object_get(v, "converted")), "%s: converted", why);
        cr_expect_eq(r.declined, json_is_true(json_object_get(v, "declined")), "%s: declined", why);
        double want = json_number_value(json_object_get(v, "total"));
        cr_expect_eq(r.total, want, "%s: total %.17g, expected %.17g", why, r.total, want);
        cr_expect_eq(r.has_cart, json_is_true(json_object_get(v, "has_cart")), "%s: has_cart", why);
        double cart = json_number_value(json_object_get(v, "cart")); /* 0 when absent */
        cr_expect_eq(r.cart, cart, "%s: cart %.17g, expected %.17g", why, r.cart, cart);
        json_t *capped = json_object_get(v, "capped");
        double wcap = capped ? json_number_value(capped) : want;
        cr_expect_eq(r.capped, wcap, "%s: capped %.17g, expected %.17g", why, r.capped, wcap);
        json_t *period = json_object_get(v, "period");
        int wperiod = period ? (int)json_integer_value(period) : -1;
        cr_expect_eq(r.period, wperiod, "%s: period %d, expected %d", why, r.period, wperiod);
    }
}

Test(visitor_record, every_invalid_vector_is_rejected)
{
    json_t *invalid = json_object_get(vectors, "invalid");
    cr_assert_gt(json_array_size(invalid), 0u);
    size_t i;
    json_t *v;
    json_array_foreach(invalid, i, v) {
        const char *value = json_string_value(json_object_get(v, "value"));
        visitor_record r;
        cr_expect_eq(visitor_record_parse(value, strlen(value), &r), -1, "%s: \"%s\" accepted",
                     json_string_value(json_object_get(v, "why")), value);
    }
}

Test(visitor_record, an_embedded_nul_is_rejected)
{
    visitor_record r;
    cr_expect_eq(visitor_record_parse("0|gr|\0", 6, &r), -1);
    cr_expect_eq(visitor_record_parse("0|g\0r|", 6, &r), -1);
    cr_expect_eq(visitor_record_parse("1|pl|c|1\0", 9, &r), -1);
}

Test(visitor_record, reads_exactly_len_bytes)
{
    /* A Redis reply is a length and bytes: nothing past len is looked at. */
    const char buf[] = {'1', '|', 'p', 'l', '|', 'c', '|', '2', '.', '5', '9', '9'};
    visitor_record r;
    cr_assert_eq(visitor_record_parse(buf, 10, &r), 0);
    cr_expect_eq(r.total, 2.5, "total %.17g", r.total);
    cr_expect_eq(visitor_record_parse(buf, 5, &r), 0, "\"1|pl|\" is a record (just exposed)");
    cr_expect(!r.converted && r.total == 0);
    cr_expect_eq(visitor_record_parse(buf, 6, &r), -1, "\"1|pl|c\": c without a total");
    cr_expect_eq(visitor_record_parse(NULL, 0, &r), -1);
}

Test(visitor_record, the_longest_possible_value_fits_the_bound)
{
    /* Variant 15, a 64-byte region, all five flags, a nine-digit period,
     * a cart value, a total and a capped total of 23 bytes each (the
     * bound allows 24, a sign). */
    char value[VISITOR_RECORD_MAX + 2];
    int n = snprintf(value, sizeof value, "15|%s|pcdxb|999999999|%s|%s|%s",
                     "r123456789012345678901234567890123456789012345678901234567890123",
                     "1.2345678901234567e+300", "2.2345678901234567e+300",
                     "1.2345678901234567e+299");
    cr_assert_eq(n, VISITOR_RECORD_MAX - 3, "built %d bytes", n);
    visitor_record r;
    cr_expect_eq(visitor_record_parse(value, (size_t)n, &r), 0);
    cr_expect(r.promoted && r.converted && r.declined && r.has_cart);
    cr_expect_eq(r.period, 999999999);
    cr_expect_eq(r.capped, 1.2345678901234567e+299);
}
