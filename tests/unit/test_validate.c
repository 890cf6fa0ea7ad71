/* Tests for validate.h: the key rule, the id rule and the constant-time
 * comparison. Boundary lengths are built at run time from the header's
 * limits so the tests follow them if they ever change. */
#include <criterion/criterion.h>
#include <string.h>

#include "validate.h"

/* s filled with n copies of c (s must hold n + 1 bytes). */
static char *repeat(char *s, char c, size_t n)
{
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

#define EXPECT_KEY(s, want) \
    cr_expect_eq(validate_key(s), (want), "validate_key(\"%s\") = %d, expected %d", (s), !(want), (want))
#define EXPECT_ID(s, want) \
    cr_expect_eq(validate_id(s), (want), "validate_id(\"%s\") = %d, expected %d", (s), !(want), (want))

TestSuite(validate);

Test(validate, key_accepts_the_documented_alphabet)
{
    EXPECT_KEY("a", true);
    EXPECT_KEY("0", true);
    EXPECT_KEY("checkout-tiers", true);
    EXPECT_KEY("checkout_popup", true);
    EXPECT_KEY("gr", true);
    EXPECT_KEY("v2-a_b", true);
    EXPECT_KEY("abcdefghijklmnopqrstuvwxyz0123456789", true);
}

Test(validate, key_rejects_bad_first_character)
{
    EXPECT_KEY("-a", false);
    EXPECT_KEY("_a", false);
    EXPECT_KEY("-", false);
    EXPECT_KEY("_", false);
}

Test(validate, key_rejects_other_characters)
{
    EXPECT_KEY("Checkout", false);
    EXPECT_KEY("checkoutA", false);
    EXPECT_KEY("a b", false);
    EXPECT_KEY("a.b", false);
    EXPECT_KEY("a/b", false);
    EXPECT_KEY("a|b", false);
    EXPECT_KEY("a:b", false);
    EXPECT_KEY("a{b}", false);
    EXPECT_KEY("a\tb", false);
    EXPECT_KEY("a\nb", false);
    EXPECT_KEY("caf\xc3\xa9", false);
    EXPECT_KEY("\xff", false);
}

Test(validate, key_rejects_empty_and_null)
{
    EXPECT_KEY("", false);
    cr_expect(!validate_key(NULL), "validate_key(NULL) must be false");
}

Test(validate, key_length_boundary)
{
    char s[VALIDATE_KEY_MAX + 2];
    EXPECT_KEY(repeat(s, 'k', VALIDATE_KEY_MAX - 1), true);
    EXPECT_KEY(repeat(s, 'k', VALIDATE_KEY_MAX), true);
    EXPECT_KEY(repeat(s, 'k', VALIDATE_KEY_MAX + 1), false);
    cr_expect_eq(VALIDATE_KEY_MAX, 64, "docs/config.md says keys are at most 64 characters");
}

Test(validate, id_accepts_printable_ascii)
{
    EXPECT_ID("v", true);
    EXPECT_ID("visitor-123", true);
    EXPECT_ID("Visitor_ABC.def@example.com", true);
    EXPECT_ID("9f1c2e3d-4b5a-6789-abcd-ef0123456789", true);
    EXPECT_ID("!", true);     /* 0x21, the lowest accepted byte */
    EXPECT_ID("~", true);     /* 0x7E, the highest accepted byte */
    EXPECT_ID("a|b{c}:d", true);

    /* Every printable byte on its own. */
    for (int c = 0x21; c <= 0x7e; c++) {
        char s[2] = {(char)c, '\0'};
        cr_expect(validate_id(s), "byte 0x%02x should be a valid id", c);
    }
}

Test(validate, id_rejects_space_and_control_characters)
{
    EXPECT_ID("", false);
    cr_expect(!validate_id(NULL), "validate_id(NULL) must be false");
    EXPECT_ID(" ", false);
    EXPECT_ID("a b", false);
    EXPECT_ID("a\tb", false);   /* would split a journal line into fields */
    EXPECT_ID("a\nb", false);   /* would split a journal line */
    EXPECT_ID("a\rb", false);
    EXPECT_ID("abc\x7f", false); /* DEL */
    for (int c = 0x01; c < 0x21; c++) {
        char s[4] = {'a', (char)c, 'b', '\0'};
        cr_expect(!validate_id(s), "control byte 0x%02x should make an id invalid", c);
    }
}

Test(validate, id_rejects_non_ascii_bytes)
{
    EXPECT_ID("caf\xc3\xa9", false);  /* UTF-8 é */
    EXPECT_ID("\xe2\x82\xac", false);  /* UTF-8 € */
    for (int c = 0x80; c <= 0xff; c++) {
        char s[4] = {'a', (char)c, 'b', '\0'};
        cr_expect(!validate_id(s), "byte 0x%02x should make an id invalid", c);
    }
}

Test(validate, id_length_boundary)
{
    char s[VALIDATE_ID_MAX + 2];
    EXPECT_ID(repeat(s, 'x', VALIDATE_ID_MAX - 1), true);
    EXPECT_ID(repeat(s, 'x', VALIDATE_ID_MAX), true);
    EXPECT_ID(repeat(s, 'x', VALIDATE_ID_MAX + 1), false);
    cr_expect_eq(VALIDATE_ID_MAX, 128, "ids are documented as at most 128 bytes");

    /* A bad byte right at the limit is still caught. */
    repeat(s, 'x', VALIDATE_ID_MAX);
    s[VALIDATE_ID_MAX - 1] = ' ';
    EXPECT_ID(s, false);
}

#define EXPECT_EQ_CT(a, alen, b, blen, want)                                                   \
    cr_expect_eq(validate_equal_const_time((a), (alen), (b), (blen)), (want),                 \
                 "validate_equal_const_time(\"%.*s\", %zu, \"%.*s\", %zu) = %d, expected %d", \
                 (int)(alen), (a), (size_t)(alen), (int)(blen), (b), (size_t)(blen), !(want), (want))

Test(validate, const_time_equal_strings)
{
    const char *t = "0123456789abcdef-token";
    EXPECT_EQ_CT(t, strlen(t), "0123456789abcdef-token", strlen(t), true);
    EXPECT_EQ_CT("", (size_t)0, "", (size_t)0, true);
    EXPECT_EQ_CT("x", (size_t)1, "x", (size_t)1, true);
}

Test(validate, const_time_differs_anywhere)
{
    const char *t = "0123456789abcdef";
    size_t n = strlen(t);
    char other[32];
    for (size_t i = 0; i < n; i++) {
        memcpy(other, t, n + 1);
        other[i] ^= 0x01;
        cr_expect(!validate_equal_const_time(t, n, other, n),
                  "a difference at byte %zu must be seen", i);
    }
    /* A difference only in the high bit. */
    memcpy(other, t, n + 1);
    other[n - 1] = (char)(other[n - 1] | 0x80);
    cr_expect(!validate_equal_const_time(t, n, other, n), "a high-bit difference must be seen");
}

Test(validate, const_time_different_lengths)
{
    /* A prefix is not equal, in either order. */
    EXPECT_EQ_CT("secret", (size_t)6, "secret-longer", (size_t)13, false);
    EXPECT_EQ_CT("secret-longer", (size_t)13, "secret", (size_t)6, false);
    EXPECT_EQ_CT("", (size_t)0, "a", (size_t)1, false);
    EXPECT_EQ_CT("a", (size_t)1, "", (size_t)0, false);

    /* The shorter side is padded with zero bytes internally: a trailing NUL
     * in the longer one must still not compare equal. */
    const char a[] = "abc";
    const char b[] = "abc\0";
    cr_expect(!validate_equal_const_time(a, 3, b, 4), "\"abc\" vs \"abc\\0\" must differ");
    cr_expect(!validate_equal_const_time(b, 4, a, 3), "\"abc\\0\" vs \"abc\" must differ");
}

Test(validate, const_time_uses_lengths_not_terminators)
{
    /* Bytes past the given lengths are not compared. */
    EXPECT_EQ_CT("token-AAAA", (size_t)6, "token-BBBB", (size_t)6, true);
    /* Embedded NULs inside the lengths are compared. */
    const char a[] = {'a', '\0', 'b'};
    const char b[] = {'a', '\0', 'c'};
    cr_expect(!validate_equal_const_time(a, 3, b, 3), "bytes after an embedded NUL must count");
    cr_expect(validate_equal_const_time(a, 3, a, 3), "equal buffers with a NUL must be equal");
}
