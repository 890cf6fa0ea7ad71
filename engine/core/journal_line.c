/* journal_line.c: the journal's line format (see journal_line.h). */
#include "journal_line.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "experiment.h"

/* A line under construction in a caller's buffer; once full, stays full. */
typedef struct line_buf {
    char *out;
    size_t cap, n;
    bool full;
} line_buf;

static void put(line_buf *b, const char *s, size_t len, char sep)
{
    if (b->full || len + 1 > b->cap - b->n) {
        b->full = true;
        return;
    }
    memcpy(b->out + b->n, s, len);
    b->n += len;
    b->out[b->n++] = sep;
}

static void put_str(line_buf *b, const char *s, char sep)
{
    put(b, s, strlen(s), sep);
}

static size_t done(const line_buf *b)
{
    return b->full ? 0 : b->n;
}

size_t journal_line_exposure(char *out, size_t cap, bool promoted, const char *exp,
                             const char *visitor, int variant, const char *region, const char *day,
                             double cart)
{
    line_buf b = {out, cap, 0, false};
    char vi[DECIMAL_U64_BUF];
    put(&b, promoted ? "P" : "X", 1, '\t');
    put_str(&b, exp, '\t');
    put_str(&b, visitor, '\t');
    put(&b, vi, decimal_u64(vi, (uint64_t)variant), '\t');
    put_str(&b, region, '\t');
    if (cart >= 0) {
        char c[DECIMAL_G17_MAX + 1];
        put_str(&b, day, '\t');
        put(&b, c, decimal_amount(c, cart), '\n');
    } else {
        put_str(&b, day, '\n');
    }
    return done(&b);
}

size_t journal_line_exposure_period(char *out, size_t cap, const char *exp, const char *visitor,
                                    int variant, const char *region, const char *day, double cart,
                                    int period)
{
    if (period < 0)
        return journal_line_exposure(out, cap, false, exp, visitor, variant, region, day, cart);
    line_buf b = {out, cap, 0, false};
    char vi[DECIMAL_U64_BUF], pi[DECIMAL_U64_BUF];
    put(&b, "X", 1, '\t');
    put_str(&b, exp, '\t');
    put_str(&b, visitor, '\t');
    put(&b, vi, decimal_u64(vi, (uint64_t)variant), '\t');
    put_str(&b, region, '\t');
    put_str(&b, day, '\t');
    if (cart >= 0) {
        char c[DECIMAL_G17_MAX + 1];
        put(&b, c, decimal_amount(c, cart), '\t');
    } else {
        put(&b, "", 0, '\t'); /* no cart value: the field is empty */
    }
    put(&b, pi, decimal_u64(pi, (uint64_t)period), '\n');
    return done(&b);
}

size_t journal_line_conversion(char *out, size_t cap, const char *exp, const char *visitor,
                               const char *event_id, double value, const char *day,
                               const char *ack)
{
    line_buf b = {out, cap, 0, false};
    char v[DECIMAL_G17_MAX + 1];
    size_t vn = decimal_amount(v, value);
    put(&b, "C", 1, '\t');
    put_str(&b, exp, '\t');
    put_str(&b, visitor, '\t');
    put_str(&b, event_id, '\t');
    put(&b, v, vn, '\t');
    put_str(&b, day, '\t');
    put_str(&b, ack, '\n');
    return done(&b);
}

size_t journal_line_decline(char *out, size_t cap, const char *exp, const char *visitor,
                            const char *event_id, const char *day, const char *ack)
{
    line_buf b = {out, cap, 0, false};
    put(&b, "D", 1, '\t');
    put_str(&b, exp, '\t');
    put_str(&b, visitor, '\t');
    put_str(&b, event_id, '\t');
    put(&b, "-", 1, '\t');
    put_str(&b, day, '\t');
    put_str(&b, ack, '\n');
    return done(&b);
}

size_t journal_line_refund(char *out, size_t cap, const char *exp, const char *visitor,
                           const char *event_id, double amount, const char *day, const char *ack,
                           const char *order)
{
    line_buf b = {out, cap, 0, false};
    char v[DECIMAL_G17_MAX + 1];
    size_t vn = decimal_amount(v, amount);
    put(&b, "R", 1, '\t');
    put_str(&b, exp, '\t');
    put_str(&b, visitor, '\t');
    put_str(&b, event_id, '\t');
    put(&b, v, vn, '\t');
    put_str(&b, day, '\t');
    put_str(&b, ack, '\t');
    put_str(&b, order, '\n');
    return done(&b);
}

void journal_line_ack(char out[JOURNAL_ACK_LEN + 1], uint32_t nonce, uint32_t serial)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = (uint64_t)nonce << 32 | serial;
    for (int i = JOURNAL_ACK_LEN - 1; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
    out[JOURNAL_ACK_LEN] = '\0';
}

static bool is_ack(const journal_text *t)
{
    if (t->len != JOURNAL_ACK_LEN)
        return false;
    for (size_t i = 0; i < JOURNAL_ACK_LEN; i++)
        if (!((t->s[i] >= '0' && t->s[i] <= '9') || (t->s[i] >= 'a' && t->s[i] <= 'f')))
            return false;
    return true;
}

static bool is_day(const journal_text *t)
{
    if (t->len != JOURNAL_DAY_LEN)
        return false;
    for (size_t i = 0; i < JOURNAL_DAY_LEN; i++) {
        bool dash = i == 4 || i == 7;
        char c = t->s[i];
        if (dash ? c != '-' : (c < '0' || c > '9'))
            return false;
    }
    return true;
}

int journal_line_parse(char *line, size_t len, journal_line *out)
{
    /* Split at the tabs first: the checks below read C strings. */
    journal_text f[8];
    int nf = 0;
    char *start = line;
    for (char *p = line, *end = line + len;; p++) {
        if (p == end || *p == '\t') {
            if (nf == 8)
                return -1; /* a ninth field */
            f[nf].s = start;
            f[nf].len = (size_t)(p - start);
            nf++;
            *p = '\0'; /* at end: the byte after the line, which the caller lent */
            if (p == end)
                break;
            start = p + 1;
        } else if (*p == '\0' || *p == '\n') {
            return -1;
        }
    }
    if (nf < 6 || f[0].len != 1)
        return -1;
    char type = f[0].s[0];
    bool event = type == JOURNAL_CONVERSION || type == JOURNAL_DECLINE || type == JOURNAL_REFUND;
    if (type == JOURNAL_REFUND ? nf != 8 : nf == 8 && type != JOURNAL_EXPOSURE)
        return -1; /* a refund has all eight fields; else only a bandit's X has an eighth */
    if (nf >= 7 && event && !is_ack(&f[6]))
        return -1;

    *out = (journal_line){.type = (journal_type)type, .exp = f[1], .visitor = f[2],
                          .day = f[5], .variant_index = -1, .cart_value = -1,
                          .cart = {"", 0}, .period = {"", 0}, .period_index = -1,
                          .ack = nf >= 7 && event ? f[6] : (journal_text){"", 0}};
    if (!validate_key(f[1].s) || !validate_id(f[2].s) || !is_day(&f[5]))
        return -1;
    switch (out->type) {
    case JOURNAL_EXPOSURE:
    case JOURNAL_PROMOTED: {
        uint64_t vi;
        if (decimal_parse_u64(f[3].s, f[3].len, EXP_MAX_VARIANTS - 1, &vi) != 0 || !validate_key(f[4].s))
            return -1;
        out->variant = f[3];
        out->variant_index = (int)vi;
        out->region = f[4];
        /* The cart value; with a period after it, it may be empty. */
        if (nf >= 7 && !(nf == 8 && f[6].len == 0)) {
            if (decimal_parse_amount(f[6].s, f[6].len, &out->cart_value) != 0)
                return -1;
            out->cart = f[6];
        }
        if (nf == 8) {
            uint64_t pv;
            /* decimal_parse_u64 refuses leading zeros and an empty text */
            if (decimal_parse_u64(f[7].s, f[7].len, JOURNAL_PERIOD_MAX, &pv) != 0)
                return -1;
            out->period = f[7];
            out->period_index = (int)pv;
        }
        return 0;
    }
    case JOURNAL_CONVERSION:
        if (!validate_id(f[3].s) || decimal_parse_amount(f[4].s, f[4].len, &out->amount) != 0)
            return -1;
        out->event_id = f[3];
        out->value = f[4];
        return 0;
    case JOURNAL_DECLINE:
        if (!validate_id(f[3].s) || f[4].len != 1 || f[4].s[0] != '-')
            return -1;
        out->event_id = f[3];
        out->value = f[4];
        return 0;
    case JOURNAL_REFUND:
        if (!validate_id(f[3].s) || decimal_parse_amount(f[4].s, f[4].len, &out->amount) != 0 ||
            !(out->amount > 0) || !validate_id(f[7].s))
            return -1;
        out->event_id = f[3];
        out->value = f[4];
        out->order = f[7];
        return 0;
    }
    return -1;
}
