/* Tests for engine/core/etag.h: the fingerprint tag and the weak
 * If-None-Match comparison that decide between a 200 and a 304. */
#include <criterion/criterion.h>
#include <string.h>

#include "etag.h"

TestSuite(etag);

Test(etag, fnv1a64_matches_the_published_vectors)
{
    /* The FNV-1a 64-bit values of "" and "a" from the algorithm's authors. */
    cr_expect_eq(etag_fnv1a64("", 0), 0xcbf29ce484222325u);
    cr_expect_eq(etag_fnv1a64("a", 1), 0xaf63dc4c8601ec8cu);
    cr_expect_eq(etag_fnv1a64("foobar", 6), 0x85944171f73967e8u);
}

Test(etag, the_weak_tag_is_sixteen_hex_digits_in_quotes)
{
    char tag[ETAG_FINGERPRINT_LEN + 1];
    etag_format_weak(0x0123456789abcdefu, tag);
    cr_expect_str_eq(tag, "W/\"0123456789abcdef\"");
    etag_format_weak(0, tag);
    cr_expect_str_eq(tag, "W/\"0000000000000000\"");
    cr_expect_eq(strlen(tag), ETAG_FINGERPRINT_LEN);
}

Test(etag, matches_the_same_tag_strong_or_weak)
{
    cr_expect(etag_none_match("\"abc\"", "\"abc\""));
    cr_expect(etag_none_match("W/\"abc\"", "\"abc\""));
    cr_expect(etag_none_match("\"abc\"", "W/\"abc\""));
    cr_expect(etag_none_match("  W/\"abc\"  ", "W/\"abc\""));
}

Test(etag, matches_any_member_of_a_list_and_the_star)
{
    cr_expect(etag_none_match("\"x\", \"abc\"", "\"abc\""));
    cr_expect(etag_none_match("\"x\",W/\"abc\",\"y\"", "\"abc\""));
    cr_expect(etag_none_match("*", "\"abc\""));
    cr_expect(etag_none_match(" * ", "\"abc\""));
}

Test(etag, a_different_or_absent_tag_does_not_match)
{
    cr_expect_not(etag_none_match(NULL, "\"abc\""));
    cr_expect_not(etag_none_match("", "\"abc\""));
    cr_expect_not(etag_none_match("\"abd\"", "\"abc\""));
    cr_expect_not(etag_none_match("\"ab\"", "\"abc\""));
    cr_expect_not(etag_none_match("\"abcd\"", "\"abc\""));
    cr_expect_not(etag_none_match("\"x\", \"y\"", "\"abc\""));
}

Test(etag, a_malformed_header_never_gives_a_304_for_what_follows)
{
    cr_expect_not(etag_none_match("abc", "\"abc\""));        /* unquoted */
    cr_expect_not(etag_none_match("\"abc", "\"abc\""));      /* unterminated */
    cr_expect_not(etag_none_match("*, \"abc\"", "\"abc\"")); /* star in a list */
    cr_expect_not(etag_none_match("\"x\" junk, \"abc\"", "\"abc\""));
    cr_expect(etag_none_match("\"abc\", junk", "\"abc\"")); /* read before the garbage */
}
