/* Tests for token_table.h and sha256.h: the digest against the FIPS 180-4
 * examples, the admin_tokens list as the config file writes it (and each
 * way it can be wrong), lookup by the token's text, and what each role
 * may call. */
#include <criterion/criterion.h>
#include <string.h>

#include "token_table.h"

TestSuite(token_table);

static void expect_hex(const char *text, size_t len, const char *want)
{
    char got[SHA256_HEX_LEN + 1];
    sha256_hex(text, len, got);
    cr_expect_str_eq(got, want, "sha256 of %zu bytes: %s, expected %s", len, got, want);
}

Test(token_table, sha256_matches_the_standard_examples)
{
    expect_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the length no longer fits the first padding block. */
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_hex(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* A million 'a's: many full blocks. */
    static char million[1000000];
    memset(million, 'a', sizeof million);
    expect_hex(million, sizeof million,
               "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* 64 bytes exactly: a full block, then a padding block of its own. */
    expect_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
               "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static json_t *list_of(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    cr_assert(v, "test JSON does not parse: %s", e.text);
    return v;
}

/* sha256 of "reader-token-0123456789" and "writer-token-0123456789". */
static const char *hex_of(const char *token, char out[SHA256_HEX_LEN + 1])
{
    sha256_hex(token, strlen(token), out);
    return out;
}

Test(token_table, parses_named_tokens_and_finds_them_by_text)
{
    char r[65], w[65], text[512];
    snprintf(text, sizeof text,
             "[{\"name\": \"growth-bot\", \"role\": \"read\", \"sha256\": \"%s\"},"
             " {\"name\": \"ops\", \"role\": \"write\", \"sha256\": \"%s\"}]",
             hex_of("reader-token-0123456789", r), hex_of("writer-token-0123456789", w));
    json_t *list = list_of(text);
    token_table t = {0};
    char err[256] = "";
    cr_assert(token_table_parse(list, &t, err, sizeof err), "%s", err);
    json_decref(list);
    cr_assert_eq(t.n, 2);

    const token_entry *e = token_table_find(&t, "reader-token-0123456789", 23);
    cr_assert(e);
    cr_expect_str_eq(e->name, "growth-bot");
    cr_expect_eq(e->role, TOKEN_ROLE_READ);
    e = token_table_find(&t, "writer-token-0123456789", 23);
    cr_assert(e);
    cr_expect_str_eq(e->name, "ops");
    cr_expect_eq(e->role, TOKEN_ROLE_WRITE);

    cr_expect_null(token_table_find(&t, "writer-token-012345678", 22), "a prefix is not the token");
    cr_expect_null(token_table_find(&t, "writer-token-01234567890", 24), "nor a longer text");
    cr_expect_null(token_table_find(&t, "", 0));
    /* The digest itself is not a token. */
    cr_expect_null(token_table_find(&t, w, strlen(w)));
}

Test(token_table, digest_hex_may_be_upper_case)
{
    char hex[65];
    hex_of("some-token-0123456789", hex);
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    token_table t = {0};
    char err[256];
    cr_assert(token_table_add_hex(&t, "ci", TOKEN_ROLE_READ, hex, err, sizeof err), "%s", err);
    cr_expect(token_table_find(&t, "some-token-0123456789", 21));
}

Test(token_table, plain_token_is_kept_as_its_digest)
{
    token_table t = {0};
    char err[256];
    cr_assert(token_table_add_plain(&t, "admin", TOKEN_ROLE_WRITE, "legacy-admin-token-1", 20, err,
                                    sizeof err));
    uint8_t d[SHA256_DIGEST_LEN];
    sha256("legacy-admin-token-1", 20, d);
    cr_expect(memcmp(t.e[0].digest, d, sizeof d) == 0);
    cr_expect_str_eq(t.e[0].name, "admin");
    cr_expect(token_table_find(&t, "legacy-admin-token-1", 20));
}

static void expect_parse_error(const char *text, const char *want)
{
    json_t *list = list_of(text);
    token_table t = {0};
    char err[256] = "";
    cr_expect(!token_table_parse(list, &t, err, sizeof err), "accepted %s", text);
    cr_expect(strstr(err, want), "error \"%s\" does not say \"%s\"", err, want);
    json_decref(list);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(token_table, rejects_each_bad_entry_naming_it)
{
    expect_parse_error("{}", "admin_tokens: must be a list");
    expect_parse_error("[\"x\"]", "admin_tokens[0]: must be an object");
    expect_parse_error("[{\"name\": \"a\", \"role\": \"admin\", \"sha256\": \"" HEX64 "\"}]",
                       "admin_tokens[0].role: must be read or write");
    expect_parse_error("[{\"name\": \"a\", \"sha256\": \"" HEX64 "\"}]",
                       "admin_tokens[0].role: must be read or write");
    expect_parse_error("[{\"name\": \"Growth Bot\", \"role\": \"read\", \"sha256\": \"" HEX64 "\"}]",
                       "admin_tokens[0].name: must be a key");
    expect_parse_error("[{\"role\": \"read\", \"sha256\": \"" HEX64 "\"}]",
                       "admin_tokens[0].name: must be a key");
    expect_parse_error("[{\"name\": \"a\", \"role\": \"read\", \"sha256\": \"abc\"}]",
                       "admin_tokens[0].sha256: must be 64 hex digits");
    expect_parse_error("[{\"name\": \"a\", \"role\": \"read\", \"sha256\": \"" HEX64 "\"},"
                       " {\"name\": \"b\", \"role\": \"read\", \"sha256\": \"" "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "\"}]",
                       "admin_tokens[1].sha256: must be 64 hex digits");
    expect_parse_error("[{\"name\": \"a\", \"role\": \"read\"}]", "admin_tokens[0].sha256: required");
    expect_parse_error("[{\"name\": \"a\", \"role\": \"read\", \"token\": \"x\", \"sha256\": \"" HEX64 "\"}]",
                       "admin_tokens[0]: unknown field \"token\"");
    expect_parse_error("[{\"name\": \"a\", \"role\": \"read\", \"sha256\": \"" HEX64 "\"},"
                       " {\"name\": \"a\", \"role\": \"write\", \"sha256\": \"" HEX64 "\"}]",
                       "admin_tokens[1].name: \"a\" is used by two tokens");
}

Test(token_table, is_bounded)
{
    token_table t = {0};
    char err[256], name[16];
    for (int i = 0; i < TOKEN_TABLE_MAX; i++) {
        snprintf(name, sizeof name, "t%d", i);
        cr_assert(token_table_add_hex(&t, name, TOKEN_ROLE_READ, HEX64, err, sizeof err), "%s", err);
    }
    cr_expect(!token_table_add_hex(&t, "one-more", TOKEN_ROLE_READ, HEX64, err, sizeof err));
    cr_expect(strstr(err, "at most"), "%s", err);
    cr_expect_eq(t.n, TOKEN_TABLE_MAX);
}

Test(token_table, roles)
{
    token_role r;
    cr_expect(token_role_parse("read", &r) && r == TOKEN_ROLE_READ);
    cr_expect(token_role_parse("write", &r) && r == TOKEN_ROLE_WRITE);
    cr_expect(!token_role_parse("Write", &r));
    cr_expect(!token_role_parse("", &r));
    cr_expect(!token_role_parse(NULL, &r));
    cr_expect(token_role_allows(TOKEN_ROLE_READ, TOKEN_ROLE_READ));
    cr_expect(!token_role_allows(TOKEN_ROLE_READ, TOKEN_ROLE_WRITE));
    cr_expect(token_role_allows(TOKEN_ROLE_WRITE, TOKEN_ROLE_READ));
    cr_expect(token_role_allows(TOKEN_ROLE_WRITE, TOKEN_ROLE_WRITE));
    cr_expect_str_eq(token_role_name(TOKEN_ROLE_READ), "read");
    cr_expect_str_eq(token_role_name(TOKEN_ROLE_WRITE), "write");
}
