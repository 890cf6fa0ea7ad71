/* fuzz_events.c: the state-free checks of a POST /v1/events body
 * (engine/core/event_check.h): event_check_batch on the parsed body, then
 * event_check_fields and event_check_against on each event, against two
 * fixed experiments (checkout-tiers, running, three variants; draft-one,
 * a draft). The body is what any page, or anyone with the public SDK key,
 * sends.
 *
 * Byte 0 of an input sets the batch limit (1 to 32 events) and max_value
 * (100 or 1e6); the rest is the body, parsed as the handler parses it.
 * What stays in the handler and is not fuzzed here: the experiment lookup,
 * the assignment check of exposures (it needs the region as the server
 * counts it), the recent-id set and the journal line.
 *
 * Checks beyond the sanitizers: the body is not modified, and checking it
 * again gives the same answers; a refusal's code is a documented one and
 * an invalid_FIELD refusal's message starts with "FIELD:"; an accepted
 * batch is an object whose "events" holds 1 to the limit events; an
 * accepted event has only known fields, a valid id, visitor and key
 * (those of its JSON), a region that is a key (always on exposures), a
 * variant index that names its "variant", no value unless a conversion,
 * whose value is finite and within [0, max_value], and names a started
 * experiment unless it is an exposure. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event_check.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static experiment *running, *draft;

static experiment *load(const char *text)
{
    char err[EXP_ERR_MAX];
    json_t *def = json_loads(text, 0, NULL);
    experiment *e = def ? experiment_parse(def, EXP_FROM_STATE, err) : NULL;
    json_decref(def);
    if (!e)
        abort();
    return e;
}

static const experiment *lookup(const char *key)
{
    if (!running) {
        running = load("{\"key\":\"checkout-tiers\",\"name\":\"Checkout tiers\",\"status\":\"running\","
                       "\"placement\":\"checkout_popup\",\"regions\":[\"gr\",\"pl\"],"
                       "\"traffic_percent\":100,\"control\":\"control\",\"variants\":["
                       "{\"key\":\"control\",\"weight\":0.34,\"payload\":{}},"
                       "{\"key\":\"three-tiers\",\"weight\":0.33,\"payload\":{}},"
                       "{\"key\":\"urgency\",\"weight\":0.33,\"payload\":{}}],"
                       "\"goal\":\"conversion\"}");
        draft = load("{\"key\":\"draft-one\",\"name\":\"Draft\",\"status\":\"draft\","
                     "\"placement\":\"banner\",\"regions\":[\"se\"],\"traffic_percent\":50,"
                     "\"control\":\"a\",\"variants\":[{\"key\":\"a\",\"weight\":0.5,\"payload\":{}},"
                     "{\"key\":\"b\",\"weight\":0.5,\"payload\":{}}],\"goal\":\"conversion\"}");
    }
    if (strcmp(key, running->key) == 0)
        return running;
    if (strcmp(key, draft->key) == 0)
        return draft;
    return NULL;
}

static const char *const codes[] = {
    "invalid_event", "unknown_field", "invalid_id", "invalid_type", "invalid_experiment",
    "invalid_visitor", "invalid_region", "invalid_variant", "invalid_value", "invalid_ts",
    "invalid_cart_value", "invalid_order", "unknown_variant", "not_running", NULL};

static void check_refusal(const char *code, const char *msg)
{
    bool known = false;
    for (const char *const *c = codes; *c; c++)
        known |= strcmp(*c, code) == 0;
    if (!known || !msg[0] || !memchr(msg, 0, EVENT_MSG_MAX))
        abort();
    /* invalid_FIELD names FIELD first (invalid_event is about the whole) */
    if (strncmp(code, "invalid_", 8) == 0 && strcmp(code, "invalid_event") != 0) {
        size_t fl = strlen(code + 8);
        if (strncmp(msg, code + 8, fl) != 0 || msg[fl] != ':')
            abort();
    }
}

static void check_accepted(json_t *ev, const experiment *e, const event_checked *c, double max_value)
{
    static const char *const known[] = {"id",      "type",  "experiment", "visitor",
                                        "region",  "variant", "value",    "ts",
                                        "cart_value", "order", NULL};
    const char *f;
    json_t *v;
    json_object_foreach(ev, f, v) {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, f) == 0;
        if (!ok)
            abort();
    }
    if (!validate_id(c->id) || !validate_id(c->visitor) || !validate_key(c->experiment) ||
        c->id != json_string_value(json_object_get(ev, "id")) ||
        c->visitor != json_string_value(json_object_get(ev, "visitor")) ||
        c->experiment != json_string_value(json_object_get(ev, "experiment")))
        abort();
    const char *t = json_string_value(json_object_get(ev, "type"));
    static const char *const names[] = {"exposure", "conversion", "decline", "refund"};
    if (!t || (unsigned)c->type > 3 || strcmp(t, names[c->type]) != 0)
        abort();
    if (c->region ? !validate_key(c->region) : c->type == EVENT_EXPOSURE)
        abort();
    json_t *jv = json_object_get(ev, "variant");
    if (jv ? c->variant < 0 || c->variant >= e->nvariants ||
                 strcmp(e->variants[c->variant].key, json_string_value(jv)) != 0
           : c->variant != -1)
        abort();
    json_t *ts = json_object_get(ev, "ts");
    if (ts && !json_is_number(ts) && !json_is_string(ts))
        abort();
    json_t *val = json_object_get(ev, "value");
    if (c->type == EVENT_CONVERSION) {
        if (!json_is_number(val) || c->value != json_number_value(val) || !isfinite(c->value) ||
            c->value < 0 || c->value > max_value)
            abort();
    } else if (c->type == EVENT_REFUND) {
        /* a refund: a value below 0 down to -max_value, and the order it
         * takes from, a valid id other than its own */
        const char *order = json_string_value(json_object_get(ev, "order"));
        if (!json_is_number(val) || c->value != json_number_value(val) || !isfinite(c->value) ||
            !(c->value < 0) || c->value < -max_value || !order || c->order != order ||
            !validate_id(order) || strcmp(order, c->id) == 0)
            abort();
    } else if (val || c->value != 0) {
        abort();
    }
    if (c->type != EVENT_REFUND && (json_object_get(ev, "order") || c->order))
        abort();
    /* a cart value only on an exposure, in [0, max_value] */
    json_t *cart = json_object_get(ev, "cart_value");
    if (cart ? c->type != EVENT_EXPOSURE || !json_is_number(cart) ||
                   c->cart_value != json_number_value(cart) || !(c->cart_value >= 0) ||
                   c->cart_value > max_value
             : c->cart_value != -1)
        abort();
    if (c->type != EVENT_EXPOSURE && e->status == EXP_DRAFT)
        abort();
}

/* Checks one event as the handler does; returns the code (NULL: accepted)
 * and fills c. */
static const char *check_one(json_t *ev, double max_value, event_checked *c, const experiment **e,
                             char msg[EVENT_MSG_MAX])
{
    *c = (event_checked){.type = EVENT_EXPOSURE};
    *e = NULL;
    const char *code = event_check_fields(ev, c, msg);
    if (code)
        return code;
    if (!validate_id(c->id) || !validate_key(c->experiment))
        abort();
    *e = lookup(c->experiment);
    if (!*e)
        return "unknown_experiment";
    return event_check_against(ev, *e, max_value, c, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    long max_events = 1 + (data[0] & 31);
    double max_value = data[0] & 0x20 ? 1e6 : 100;
    json_t *root = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!root)
        return 0;
    json_t *before = json_deep_copy(root);
    char msg[EVENT_MSG_MAX];
    json_t *events = NULL;
    int status = 0;
    const char *code = event_check_batch(root, max_events, &events, &status, msg);
    if (code) {
        if ((status != 400 && status != 413) || !msg[0] ||
            (strcmp(code, "invalid_batch") && strcmp(code, "empty_batch") &&
             strcmp(code, "batch_too_large")))
            abort();
    } else {
        size_t n = json_array_size(events);
        if (!json_is_object(root) || events != json_object_get(root, "events") ||
            !json_is_array(events) || n < 1 || n > (size_t)max_events)
            abort();
        for (size_t i = 0; i < n; i++) {
            json_t *ev = json_array_get(events, i);
            event_checked c, c2;
            const experiment *e, *e2;
            char msg2[EVENT_MSG_MAX];
            const char *r = check_one(ev, max_value, &c, &e, msg);
            const char *r2 = check_one(ev, max_value, &c2, &e2, msg2);
            if ((r == NULL) != (r2 == NULL) || (r && strcmp(r, r2) != 0) ||
                c.type != c2.type)
                abort(); /* the same event checked twice answers differently */
            if (r && strcmp(r, "unknown_experiment") != 0)
                check_refusal(r, msg);
            else if (!r)
                check_accepted(ev, e, &c, max_value);
        }
    }
    if (before && !json_equal(before, root))
        abort(); /* the checks modified the body */
    json_decref(before);
    json_decref(root);
    return 0;
}
