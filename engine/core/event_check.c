/* event_check.c: the state-free checks of an events batch (see
 * event_check.h). */
#include "event_check.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

const char *event_check_batch(json_t *root, long max_events, json_t **events, int *status,
                              char msg[EVENT_MSG_MAX])
{
    json_t *ev = json_object_get(root, "events");
    if (!json_is_object(root) || !json_is_array(ev)) {
        *status = 400;
        snprintf(msg, EVENT_MSG_MAX, "the body must be {\"events\": [...]}");
        return "invalid_batch";
    }
    size_t n = json_array_size(ev);
    if (n == 0 || (long)n > max_events) {
        *status = n ? 413 : 400;
        snprintf(msg, EVENT_MSG_MAX, "a batch holds 1 to %ld events (got %zu)", max_events, n);
        return n ? "batch_too_large" : "empty_batch";
    }
    *events = ev;
    return NULL;
}

static const char *const event_fields[] = {"id", "type", "experiment", "visitor", "region",
                                           "variant", "value", "ts", "cart_value", "order",
                                           NULL};

/* The JSON type of each field an event may carry, and the code a field of
 * another type is rejected with (null is a wrong type, not an absence:
 * {"region": 7} or {"region": null} must not pass as "no region"). */
static const struct {
    const char *field, *code, *want;
    bool number, string; /* the types accepted */
} event_types[] = {
    {"id", "invalid_id", "a string", false, true},
    {"type", "invalid_type", "a string", false, true},
    {"experiment", "invalid_experiment", "a string", false, true},
    {"visitor", "invalid_visitor", "a string", false, true},
    {"region", "invalid_region", "a string", false, true},
    {"variant", "invalid_variant", "a string", false, true},
    {"value", "invalid_value", "a number", true, false},
    {"ts", "invalid_ts", "a number or a string", true, true},
    {"cart_value", "invalid_cart_value", "a number", true, false},
    {"order", "invalid_order", "a string", false, true},
};

/* Rejects a field of the wrong JSON type: returns its code and fills msg,
 * or NULL when every field present has its type. */
static const char *check_types(json_t *ev, char msg[EVENT_MSG_MAX])
{
    for (size_t i = 0; i < sizeof event_types / sizeof *event_types; i++) {
        json_t *v = json_object_get(ev, event_types[i].field);
        if (!v || (event_types[i].string && json_is_string(v)) ||
            (event_types[i].number && json_is_number(v)))
            continue;
        snprintf(msg, EVENT_MSG_MAX, "%s: must be %s", event_types[i].field, event_types[i].want);
        return event_types[i].code;
    }
    return NULL;
}

const char *event_check_fields(json_t *ev, event_checked *out, char msg[EVENT_MSG_MAX])
{
    if (!json_is_object(ev)) {
        snprintf(msg, EVENT_MSG_MAX, "an event must be a JSON object");
        return "invalid_event";
    }
    const char *f;
    json_t *v;
    json_object_foreach(ev, f, v) {
        bool known = false;
        for (const char *const *k = event_fields; *k && !known; k++)
            known = strcmp(*k, f) == 0;
        if (!known) {
            snprintf(msg, EVENT_MSG_MAX, "unknown field \"%.64s\"", f);
            return "unknown_field";
        }
    }
    const char *wrong = check_types(ev, msg);
    if (wrong)
        return wrong;
    const char *t = json_string_value(json_object_get(ev, "type"));
    if (!t || (strcmp(t, "exposure") && strcmp(t, "conversion") && strcmp(t, "decline") &&
               strcmp(t, "refund"))) {
        snprintf(msg, EVENT_MSG_MAX, "type: must be exposure, conversion, decline or refund");
        return "invalid_type";
    }
    out->type = t[0] == 'e'   ? EVENT_EXPOSURE
                : t[0] == 'c' ? EVENT_CONVERSION
                : t[0] == 'd' ? EVENT_DECLINE
                              : EVENT_REFUND;
    const char *id = json_string_value(json_object_get(ev, "id"));
    if (!id || !validate_id(id)) {
        snprintf(msg, EVENT_MSG_MAX, "id: required, 1-%d printable ASCII characters",
                 VALIDATE_ID_MAX);
        return "invalid_id";
    }
    const char *key = json_string_value(json_object_get(ev, "experiment"));
    if (!key || !validate_key(key)) {
        snprintf(msg, EVENT_MSG_MAX, "experiment: required, an experiment key");
        return "invalid_experiment";
    }
    out->id = id;
    out->experiment = key;
    return NULL;
}

const char *event_check_against(json_t *ev, const experiment *e, double max_value,
                                event_checked *out, char msg[EVENT_MSG_MAX])
{
    const char *key = out->experiment;
    const char *visitor = json_string_value(json_object_get(ev, "visitor"));
    if (!visitor || !validate_id(visitor)) {
        snprintf(msg, EVENT_MSG_MAX, "visitor: required, 1-%d printable ASCII characters",
                 VALIDATE_ID_MAX);
        return "invalid_visitor";
    }
    json_t *jv = json_object_get(ev, "variant");
    int variant = -1;
    if (jv) {
        if (!json_is_string(jv) ||
            (variant = experiment_variant_index(e, json_string_value(jv))) < 0) {
            snprintf(msg, EVENT_MSG_MAX, "variant \"%.64s\" is not a variant of %s",
                     json_is_string(jv) ? json_string_value(jv) : "?", key);
            return "unknown_variant";
        }
    }
    const char *region = json_string_value(json_object_get(ev, "region"));
    bool exposure = out->type == EVENT_EXPOSURE;
    if ((region || exposure) && (!region || !validate_key(region))) {
        snprintf(msg, EVENT_MSG_MAX, "region: %s a key like \"gr\"",
                 exposure ? "required," : "must be");
        return "invalid_region";
    }
    json_t *jval = json_object_get(ev, "value");
    json_t *jcart = json_object_get(ev, "cart_value");
    json_t *jorder = json_object_get(ev, "order");
    double value = 0, cart = -1;
    if (jcart && !exposure) {
        snprintf(msg, EVENT_MSG_MAX, "cart_value: only exposures carry a cart value");
        return "invalid_cart_value";
    }
    if (jorder && out->type != EVENT_REFUND) {
        snprintf(msg, EVENT_MSG_MAX, "order: only refunds name an order");
        return "invalid_order";
    }
    if (exposure) {
        if (jval) {
            snprintf(msg, EVENT_MSG_MAX, "value: only conversions and refunds carry a value");
            return "invalid_value";
        }
        if (jcart) {
            cart = json_number_value(jcart);
            if (!isfinite(cart) || cart < 0 || cart > max_value) {
                snprintf(msg, EVENT_MSG_MAX,
                         "cart_value: must be between 0 and %g, the cart's value when the offer "
                         "was shown (got %g)",
                         max_value, cart);
                return "invalid_cart_value";
            }
        }
    } else if (e->status == EXP_DRAFT) {
        snprintf(msg, EVENT_MSG_MAX, "experiment %s has not started", key);
        return "not_running";
    } else if (out->type == EVENT_CONVERSION) {
        if (!json_is_number(jval) || !isfinite(json_number_value(jval))) {
            snprintf(msg, EVENT_MSG_MAX, "value: required, the order amount (a finite number)");
            return "invalid_value";
        }
        value = json_number_value(jval);
        if (value < 0 || value > max_value) {
            snprintf(msg, EVENT_MSG_MAX, "value: must be between 0 and %g (got %g)", max_value,
                     value);
            return "invalid_value";
        }
    } else if (out->type == EVENT_REFUND) {
        if (!json_is_number(jval) || !isfinite(json_number_value(jval))) {
            snprintf(msg, EVENT_MSG_MAX,
                     "value: required, the amount refunded as a negative number");
            return "invalid_value";
        }
        value = json_number_value(jval);
        if (!(value < 0) || value < -max_value) {
            snprintf(msg, EVENT_MSG_MAX, "value: a refund is below 0 and at least -%g (got %g)",
                     max_value, value);
            return "invalid_value";
        }
        const char *order = json_string_value(jorder);
        if (!order || !validate_id(order)) {
            snprintf(msg, EVENT_MSG_MAX,
                     "order: required, the event id of the conversion being refunded");
            return "invalid_order";
        }
        if (strcmp(order, out->id) == 0) {
            snprintf(msg, EVENT_MSG_MAX, "order: a refund's id must differ from its order's");
            return "invalid_order";
        }
        out->order = order;
    } else if (jval) {
        snprintf(msg, EVENT_MSG_MAX, "value: only conversions and refunds carry a value");
        return "invalid_value";
    }
    out->visitor = visitor;
    out->variant = variant;
    out->region = region;
    out->value = value;
    out->cart_value = cart;
    return NULL;
}
