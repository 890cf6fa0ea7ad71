/* event_check.h: the checks of a POST /v1/events body that need no server
 * state: the batch envelope, and each event's shape, field types and
 * values against the experiment it names.
 *
 * A body is {"events": [EVENT, ...]}, 1 to max_batch_events events; each
 * event is checked on its own and rejected alone (docs/api.md). The
 * handler (engine/api_public.c) runs, per event:
 *
 *   1. event_check_fields: an object; only the known fields; each of the
 *      JSON type it must have (null is a wrong type, not an absence);
 *      type one of exposure, conversion, decline, refund; id a valid id;
 *      experiment a valid key;
 *   2. its own lookup of the experiment (unknown_experiment);
 *   3. event_check_against: visitor a valid id; variant one of the
 *      experiment's; region a key (required on exposures); an exposure
 *      carries no value, and may carry cart_value in [0, max_value] (the
 *      cart the offer was shown on: the covariate of docs/stats.md); a
 *      conversion, decline or refund needs a started experiment, a
 *      conversion a finite value in [0, max_value], a refund a value in
 *      [-max_value, 0) and the order (the conversion's event id) it
 *      takes from, a decline no value;
 *   4. for an exposure, the assignment check (it needs the region as
 *      counted, which is server state), then the recent-id check and the
 *      journal line.
 *
 * The order is the order of the error codes a client sees when an event
 * has several faults: the first failing check names it.
 *
 * Pure: no I/O. The checked fields borrow from the event's JSON. */
#ifndef UPSHOT_EVENT_CHECK_H
#define UPSHOT_EVENT_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "experiment.h"

#define EVENT_MSG_MAX 256

typedef enum { EVENT_EXPOSURE, EVENT_CONVERSION, EVENT_DECLINE, EVENT_REFUND } event_type;

typedef struct event_checked {
    event_type type;        /* set as soon as "type" is valid; EXPOSURE before */
    const char *id;         /* a valid id */
    const char *experiment; /* a valid key */
    const char *visitor;    /* event_check_against: a valid id */
    const char *region;     /* event_check_against: a key, or NULL (not on exposures) */
    int variant;            /* event_check_against: its index, or -1 when absent */
    double value;           /* event_check_against: a conversion's value (>= 0) or a
                               refund's (< 0), else 0 */
    double cart_value;      /* event_check_against: an exposure's cart value, or -1 */
    const char *order;      /* event_check_against: a refund's order event id, else NULL */
} event_checked;

/* Checks the envelope of a parsed body: an object whose "events" is an
 * array of 1 to max_events entries. Returns NULL and sets *events
 * (borrowed from root), or the error code, with *status (400 or 413) and
 * msg filled. */
const char *event_check_batch(json_t *root, long max_events, json_t **events, int *status,
                              char msg[EVENT_MSG_MAX]);

/* Step 1 above on ev (not modified). Returns NULL with out's type, id
 * and experiment set, or the error code with msg filled (naming the
 * field); out->type is set whenever "type" itself was valid. */
const char *event_check_fields(json_t *ev, event_checked *out, char msg[EVENT_MSG_MAX]);

/* Step 3 above, for an event that passed event_check_fields, with e the
 * experiment it names. Returns NULL with the rest of out set, or the
 * error code with msg filled. */
const char *event_check_against(json_t *ev, const experiment *e, double max_value,
                                event_checked *out, char msg[EVENT_MSG_MAX]);

#endif
