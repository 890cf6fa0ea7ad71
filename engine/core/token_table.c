/* token_table.c: named admin tokens with roles (token_table.h). */
#include "token_table.h"

#include <stdio.h>
#include <string.h>

#include "decimal.h"

bool token_role_parse(const char *s, token_role *out)
{
    if (s && strcmp(s, "read") == 0)
        *out = TOKEN_ROLE_READ;
    else if (s && strcmp(s, "write") == 0)
        *out = TOKEN_ROLE_WRITE;
    else
        return false;
    return true;
}

const char *token_role_name(token_role r)
{
    return r == TOKEN_ROLE_WRITE ? "write" : "read";
}

bool token_role_allows(token_role have, token_role need)
{
    return have == TOKEN_ROLE_WRITE || need == TOKEN_ROLE_READ;
}

/* The checks every new entry passes; the entry to fill, or NULL (err). */
static token_entry *new_entry(token_table *t, const char *name, token_role role, char *err,
                              size_t errcap)
{
    if (!name || !validate_key(name)) {
        snprintf(err, errcap, "name: must be a key (lowercase letters, digits, - and _, at most %d)",
                 VALIDATE_KEY_MAX);
        return NULL;
    }
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0) {
            snprintf(err, errcap, "name: \"%s\" is used by two tokens", name);
            return NULL;
        }
    if (t->n >= TOKEN_TABLE_MAX) {
        snprintf(err, errcap, "name: no room, at most %d admin tokens", TOKEN_TABLE_MAX);
        return NULL;
    }
    if (role != TOKEN_ROLE_READ && role != TOKEN_ROLE_WRITE) {
        snprintf(err, errcap, "role: must be read or write");
        return NULL;
    }
    token_entry *e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->role = role;
    return e;
}

bool token_table_add_hex(token_table *t, const char *name, token_role role, const char *hex,
                         char *err, size_t errcap)
{
    if (!hex || strlen(hex) != SHA256_HEX_LEN) {
        snprintf(err, errcap, "sha256: must be %d hex digits (upshotd --hash-token prints them)",
                 SHA256_HEX_LEN);
        return false;
    }
    uint8_t d[SHA256_DIGEST_LEN];
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        int hi = decimal_hex_digit(hex[2 * i]), lo = decimal_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errcap, "sha256: must be %d hex digits (upshotd --hash-token prints them)",
                     SHA256_HEX_LEN);
            return false;
        }
        d[i] = (uint8_t)(hi << 4 | lo);
    }
    token_entry *e = new_entry(t, name, role, err, errcap);
    if (!e)
        return false;
    memcpy(e->digest, d, sizeof d);
    t->n++;
    return true;
}

bool token_table_add_plain(token_table *t, const char *name, token_role role, const char *token,
                           size_t len, char *err, size_t errcap)
{
    token_entry *e = new_entry(t, name, role, err, errcap);
    if (!e)
        return false;
    sha256(token, len, e->digest);
    t->n++;
    return true;
}

bool token_table_parse(const json_t *list, token_table *t, char *err, size_t errcap)
{
    if (!json_is_array(list) || json_array_size(list) > TOKEN_TABLE_MAX) {
        snprintf(err, errcap, "admin_tokens: must be a list of at most %d objects", TOKEN_TABLE_MAX);
        return false;
    }
    size_t i;
    const json_t *v;
    char why[200];
    json_array_foreach(list, i, v) {
        if (!json_is_object(v)) {
            snprintf(err, errcap, "admin_tokens[%zu]: must be an object with name, role, sha256", i);
            return false;
        }
        const char *f;
        const json_t *fv;
        json_object_foreach((json_t *)v, f, fv) {
            if (strcmp(f, "name") && strcmp(f, "role") && strcmp(f, "sha256")) {
                snprintf(err, errcap, "admin_tokens[%zu]: unknown field \"%.40s\"", i, f);
                return false;
            }
        }
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *role_s = json_string_value(json_object_get(v, "role"));
        const char *hex = json_string_value(json_object_get(v, "sha256"));
        token_role role;
        if (!token_role_parse(role_s, &role)) {
            snprintf(err, errcap, "admin_tokens[%zu].role: must be read or write", i);
            return false;
        }
        bool ok = hex ? token_table_add_hex(t, name, role, hex, why, sizeof why)
                      : (snprintf(why, sizeof why, "sha256: required, %d hex digits",
                                  SHA256_HEX_LEN), false);
        if (!ok) {
            snprintf(err, errcap, "admin_tokens[%zu].%s", i, why);
            return false;
        }
    }
    return true;
}

const token_entry *token_table_find(const token_table *t, const char *token, size_t len)
{
    uint8_t d[SHA256_DIGEST_LEN];
    sha256(token, len, d);
    const token_entry *found = NULL;
    for (int i = 0; i < t->n; i++) {
        bool eq = validate_equal_const_time((const char *)d, sizeof d,
                                            (const char *)t->e[i].digest, sizeof d);
        if (eq && !found)
            found = &t->e[i];
    }
    return found;
}
