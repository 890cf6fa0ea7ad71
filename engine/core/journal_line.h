/* journal_line.h: the journal's line format, written and read in one place.
 *
 * Every event upshotd acknowledges is one line of journal.log (journal.h
 * keeps the file; store.c sends the lines to Redis). A line is six fields
 * separated by one tab and ended by '\n':
 *
 *   type | 2: exp | 3: visitor | 4          | 5          | 6: day      | event
 *   -----+--------+------------+------------+------------+------------+-------------------
 *   X    | key    | visitor id | variant    | region key | YYYY-MM-DD | randomized exposure
 *   P    | key    | visitor id | variant    | region key | YYYY-MM-DD | promoted exposure
 *   C    | key    | visitor id | event id   | value      | YYYY-MM-DD | conversion
 *   D    | key    | visitor id | event id   | "-"        | YYYY-MM-DD | decline
 *
 * C and D lines carry a seventh field, the acknowledgment token: 16
 * lowercase hex digits that upshotd makes unique for every event it
 * acknowledges (journal_line_ack). Redis keeps the token of the line that
 * counted an event id, so when a line is applied a second time (a replay
 * after a crash or a lost connection) the script can tell it from a
 * client sending the same id again. Lines without it (journals written
 * before the token existed) are read with an empty token.
 *
 *   variant  the variant's index in the experiment, decimal without
 *            leading zeros (0..63: EXP_MAX_VARIANTS)
 *   value    the order amount, shortest text that reads back exactly, >= 0
 *   cart     the cart value at exposure, printed the same way, >= 0
 *   amount   the amount refunded, printed the same way, > 0 (the event
 *            said it as a negative value)
 *   order id the event id of the conversion the refund takes from
 *   day      the UTC day on which upshotd acknowledged the event
 *
 * An X line of a bandit experiment (docs/stats.md, periods) carries an
 * eighth field, the region's bandit period when upshotd accepted the
 * exposure; the seventh is then the cart value or empty:
 *
 *   X | key | visitor | variant | region | day | [cart] | period
 *
 *   period   decimal without leading zeros, 0..JOURNAL_PERIOD_MAX
 * Lines without it (every other experiment, and journals written before
 * periods existed) are read with no period.
 *
 * Keys and ids follow validate.h, so they never hold a tab or a newline
 * and need no escaping. The longest line is JOURNAL_LINE_MAX bytes.
 *
 * The formatters are on the assign and events paths and the parser on
 * the Redis write path: neither allocates, and the parser splits the line
 * where it lies. Pure. */
#ifndef UPSHOT_JOURNAL_LINE_H
#define UPSHOT_JOURNAL_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decimal.h"
#include "validate.h"

/* The type letters, the first field. */
typedef enum journal_type {
    JOURNAL_EXPOSURE = 'X',   /* randomized exposure */
    JOURNAL_PROMOTED = 'P',   /* exposure to a promoted variant */
    JOURNAL_CONVERSION = 'C',
    JOURNAL_DECLINE = 'D',
    JOURNAL_REFUND = 'R',
} journal_type;

#define JOURNAL_DAY_LEN 10 /* "YYYY-MM-DD" */
#define JOURNAL_ACK_LEN 16 /* hex digits of an acknowledgment token */
#define JOURNAL_PERIOD_MAX 999999999 /* nine digits: a period per 15 minutes for 28,000 years */

/* The longest line is a refund's: type + exp + visitor + event id + amount
 * + day + token + order id, with 7 tabs and the newline: 507 (an exposure
 * with a cart value and a period is at most 1 + 64 + 128 + 2 + 64 + 10 +
 * 24 + 9 + 8 = 310). */
#define JOURNAL_LINE_MAX                                                                       \
    (1 + VALIDATE_KEY_MAX + 3 * VALIDATE_ID_MAX + DECIMAL_G17_MAX + JOURNAL_DAY_LEN +            \
     JOURNAL_ACK_LEN + 8)

/* A field as parsed: NUL-terminated where it lies in the line, and its
 * length. */
typedef struct journal_text {
    const char *s;
    size_t len;
} journal_text;

/* One parsed line. The fields of the other kind of event are {NULL, 0}. */
typedef struct journal_line {
    journal_type type;
    journal_text exp;         /* experiment key */
    journal_text visitor;     /* visitor id */
    journal_text variant;     /* X, P: the variant index as written */
    journal_text region;      /* X, P */
    journal_text cart;        /* X, P: the cart value as written, or "" */
    journal_text event_id;    /* C, D, R */
    journal_text value;       /* C, R: the amount as written; D: "-" */
    journal_text day;         /* "YYYY-MM-DD" */
    journal_text ack;         /* C, D, R: the acknowledgment token; "" in old lines */
    journal_text order;       /* R: the refunded order's event id */
    int variant_index;        /* X, P: variant read as a number; else -1 */
    double amount;            /* C, R: value read as a number; else 0 */
    double cart_value;        /* X, P: the cart value, or -1 when absent */
    journal_text period;      /* X: the bandit period as written, or "" */
    int period_index;         /* X: the period read as a number, or -1 when absent */
} journal_line;

/* Formatters: write one line, '\n' included, into out (cap bytes; a cap of
 * JOURNAL_LINE_MAX always suffices) and return its length, or 0 when it
 * does not fit (nothing useful is then in out). No NUL is written.
 * The caller has validated the fields: exp and region with validate_key,
 * visitor, event_id and order with validate_id, 0 <= variant <
 * EXP_MAX_VARIANTS, 0 <= value (finite), 0 < amount (finite), day
 * "YYYY-MM-DD"; a line made of those is one that journal_line_parse
 * accepts. An exposure's cart value below 0 means none. */
size_t journal_line_exposure(char *out, size_t cap, bool promoted, const char *exp,
                             const char *visitor, int variant, const char *region, const char *day,
                             double cart);
/* The same for a randomized exposure of a bandit experiment in the
 * region's bandit `period` (0..JOURNAL_PERIOD_MAX; below 0: none, the line
 * journal_line_exposure writes). */
size_t journal_line_exposure_period(char *out, size_t cap, const char *exp, const char *visitor,
                                    int variant, const char *region, const char *day, double cart,
                                    int period);
size_t journal_line_conversion(char *out, size_t cap, const char *exp, const char *visitor,
                               const char *event_id, double value, const char *day,
                               const char *ack);
size_t journal_line_decline(char *out, size_t cap, const char *exp, const char *visitor,
                            const char *event_id, const char *day, const char *ack);
size_t journal_line_refund(char *out, size_t cap, const char *exp, const char *visitor,
                           const char *event_id, double amount, const char *day, const char *ack,
                           const char *order);

/* Writes acknowledgment token number `serial` of the process whose random
 * `nonce` it is: 16 hex digits and a NUL. Two acknowledgments of one event
 * id get the same token only if two processes drew the same 32-bit nonce
 * and reached the same serial; the cost of that would be one client
 * duplicate taken for a replay. */
void journal_line_ack(char out[JOURNAL_ACK_LEN + 1], uint32_t nonce, uint32_t serial);

/* Parses the len bytes at line (without the '\n'), which must be
 * followed by one writable byte (the '\n' itself, or a NUL): every tab and
 * that byte become NULs, so each field in *out is a C string pointing into
 * the line (borrowed: valid while the buffer is). Checks every field as
 * the table above says. 0, or -1 when the line is malformed (the buffer
 * may then have been partly split). */
int journal_line_parse(char *line, size_t len, journal_line *out);

#endif
