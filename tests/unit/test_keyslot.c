/* test_keyslot.c: key slots against values a real Redis 7.0 answered to
 * `CLUSTER KEYSLOT key` (redis-server 7.0.15, cluster-enabled), and the
 * CRC16-XMODEM check value from the CRC catalogue. */
#include <criterion/criterion.h>
#include <string.h>

#include "keyslot.h"

static unsigned slot(const char *k) { return keyslot_of(k, strlen(k)); }

Test(keyslot, crc16_xmodem_check_value)
{
    /* The catalogue's check value: CRC of the ASCII digits 1..9. */
    cr_assert_eq(keyslot_crc16("123456789", 9), 0x31C3);
}

Test(keyslot, plain_keys_match_redis)
{
    cr_assert_eq(slot("foo"), 12182u);
    cr_assert_eq(slot("bar"), 5061u);
    cr_assert_eq(slot("123456789"), 12739u);
    cr_assert_eq(slot(""), 0u);
    cr_assert_eq(slot("upshot:dataset"), 16229u);
}

Test(keyslot, hash_tags_match_redis)
{
    cr_assert_eq(slot("{user1000}.following"), 3443u);
    cr_assert_eq(slot("{user1000}.followers"), 3443u);
    cr_assert_eq(slot("{x:spring}:cnt"), 3180u);
    cr_assert_eq(slot("{upshot}:version"), 5503u);
    cr_assert_eq(slot("{x:EXP:g3}:v:17"), 6601u);
}

Test(keyslot, tag_edge_cases_match_redis)
{
    cr_assert_eq(slot("foo{}{bar}"), 8363u, "an empty first tag means no tag");
    cr_assert_eq(slot("foo{{bar}}zap"), 4015u, "the tag is '{bar' up to the first '}'");
    cr_assert_eq(slot("foo{bar}{zap}"), 5061u, "only the first tag counts: slot of 'bar'");
    cr_assert_eq(slot("a{"), 14311u, "an unclosed brace is no tag");
    cr_assert_eq(slot("}b{c}"), 7365u, "a '}' before the first '{' does not close it");
}

Test(keyslot, binary_keys_use_their_length)
{
    const char k[] = {'f', 'o', 'o', '\0', 'x'};
    cr_assert_eq(keyslot_of(k, 3), 12182u);
    cr_assert_neq(keyslot_of(k, sizeof k), 12182u);
}
