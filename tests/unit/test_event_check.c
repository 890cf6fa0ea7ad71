/* Tests for engine/core/event_check.h: the events batch envelope and the
 * state-free checks of one event, in the order that picks the error code
 * an event with several faults is rejected with. The whole endpoint is
 * tested over HTTP in tests/integration/test_bad_input.py. */
#include <criterion/criterion.h>
#include <string.h>

#include "event_check.h"

TestSuite(event_check);

static experiment *exp_load(const char *status)
{
    char text[512], err[EXP_ERR_MAX];
    snprintf(text, sizeof text,
             "{\"key\":\"checkout-tiers\",\"name\":\"n\",\"status\":\"%s\",\"placement\":\"p\","
             "\"regions\":[\"gr\"],\"traffic_percent\":100,\"control\":\"a\",\"variants\":["
             "{\"key\":\"a\",\"weight\":0.5,\"payload\":{}},{\"key\":\"b\",\"weight\":0.5,"
             "\"payload\":{}}],\"goal\":\"conversion\"}",
             status);
    json_t *def = json_loads(text, 0, NULL);
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert(e, "%s", err);
    json_decref(def);
    return e;
}

/* Both steps, as the handler runs them; NULL when accepted. The checked
 * fields borrow from the event, kept in *keep when keep is not NULL. */
static const char *check(const char *event, const char *status, event_checked *c,
                         char msg[EVENT_MSG_MAX], json_t **keep)
{
    json_t *ev = json_loads(event, 0, NULL);
    cr_assert(ev, "%s", event);
    *c = (event_checked){.type = EVENT_EXPOSURE};
    const char *code = event_check_fields(ev, c, msg);
    if (!code) {
        experiment *e = exp_load(status);
        code = event_check_against(ev, e, 1000, c, msg);
        experiment_release(e);
    }
    if (keep)
        *keep = ev;
    else
        json_decref(ev);
    return code;
}

Test(event_check, a_batch_is_an_object_with_one_to_the_limit_events)
{
    static const struct {
        const char *body, *code;
        int status;
    } cases[] = {
        {"{\"events\":[{}]}", NULL, 0},
        {"[{}]", "invalid_batch", 400},
        {"{\"events\":{}}", "invalid_batch", 400},
        {"{\"events\":[]}", "empty_batch", 400},
        {"{\"events\":[1,2,3]}", "batch_too_large", 413},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *root = json_loads(cases[i].body, 0, NULL), *events = NULL;
        char msg[EVENT_MSG_MAX] = "";
        int status = 0;
        const char *code = event_check_batch(root, 2, &events, &status, msg);
        if (!cases[i].code) {
            cr_expect_null(code, "%s", cases[i].body);
            cr_expect_eq(events, json_object_get(root, "events"));
        } else {
            cr_expect_str_eq(code, cases[i].code, "%s", cases[i].body);
            cr_expect_eq(status, cases[i].status, "%s", cases[i].body);
            cr_expect_neq(msg[0], 0);
        }
        json_decref(root);
    }
}

Test(event_check, an_accepted_event_hands_back_its_fields)
{
    json_t *ev = NULL;
    event_checked c;
    char msg[EVENT_MSG_MAX];
    cr_assert_null(check("{\"id\":\"e1\",\"type\":\"conversion\",\"experiment\":\"checkout-tiers\","
                         "\"visitor\":\"v1\",\"variant\":\"b\",\"region\":\"gr\",\"value\":12.5}",
                         "running", &c, msg, &ev));
    cr_expect_eq(c.type, EVENT_CONVERSION);
    cr_expect_str_eq(c.id, "e1");
    cr_expect_str_eq(c.experiment, "checkout-tiers");
    cr_expect_str_eq(c.visitor, "v1");
    cr_expect_str_eq(c.region, "gr");
    cr_expect_eq(c.variant, 1);
    cr_expect_eq(c.value, 12.5);
    json_decref(ev);
}

Test(event_check, a_refund_and_a_cart_value_hand_back_their_fields)
{
    json_t *ev = NULL;
    event_checked c;
    char msg[EVENT_MSG_MAX];
    cr_assert_null(check("{\"id\":\"r1\",\"type\":\"refund\",\"experiment\":\"checkout-tiers\","
                         "\"visitor\":\"v1\",\"value\":-12.5,\"order\":\"o-9\"}",
                         "running", &c, msg, &ev), "%s", msg);
    cr_expect_eq(c.type, EVENT_REFUND);
    cr_expect_eq(c.value, -12.5);
    cr_expect_str_eq(c.order, "o-9");
    json_decref(ev);
    ev = NULL;
    cr_assert_null(check("{\"id\":\"x1\",\"type\":\"exposure\",\"experiment\":\"checkout-tiers\","
                         "\"visitor\":\"v1\",\"region\":\"gr\",\"cart_value\":35.5}",
                         "running", &c, msg, &ev), "%s", msg);
    cr_expect_eq(c.cart_value, 35.5);
    json_decref(ev);
}

Test(event_check, the_first_failing_check_names_the_event_s_fault)
{
    static const struct {
        const char *event, *status, *code;
    } cases[] = {
        {"[1]", "running", "invalid_event"},
        {"{\"id\":\"e\",\"colour\":1}", "running", "unknown_field"},
        {"{\"id\":\"e\",\"type\":\"click\",\"region\":null}", "running", "invalid_region"},
        {"{\"id\":\"\",\"type\":\"click\"}", "running", "invalid_type"},
        {"{\"id\":\"\",\"type\":\"decline\"}", "running", "invalid_id"},
        {"{\"id\":\"e\",\"type\":\"decline\",\"experiment\":\"A\"}", "running", "invalid_experiment"},
        {"{\"id\":\"e\",\"type\":\"decline\",\"experiment\":\"checkout-tiers\",\"variant\":\"z\"}",
         "running", "invalid_visitor"},
        {"{\"id\":\"e\",\"type\":\"decline\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"variant\":\"z\",\"region\":\"G R\"}", "running", "unknown_variant"},
        {"{\"id\":\"e\",\"type\":\"exposure\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":1}", "running", "invalid_region"},
        {"{\"id\":\"e\",\"type\":\"exposure\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"region\":\"gr\",\"value\":1}", "draft", "invalid_value"},
        {"{\"id\":\"e\",\"type\":\"conversion\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\"}",
         "draft", "not_running"},
        {"{\"id\":\"e\",\"type\":\"conversion\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":1001}", "running", "invalid_value"},
        {"{\"id\":\"e\",\"type\":\"decline\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":0}", "running", "invalid_value"},
        {"{\"id\":\"e\",\"type\":\"exposure\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"region\":\"gr\",\"cart_value\":-1}", "running", "invalid_cart_value"},
        {"{\"id\":\"e\",\"type\":\"exposure\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"region\":\"gr\",\"cart_value\":1001}", "running", "invalid_cart_value"},
        {"{\"id\":\"e\",\"type\":\"exposure\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"region\":\"gr\",\"cart_value\":\"5\"}", "running", "invalid_cart_value"},
        {"{\"id\":\"e\",\"type\":\"conversion\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":5,\"cart_value\":5}", "running", "invalid_cart_value"},
        {"{\"id\":\"e\",\"type\":\"refund\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":5,\"order\":\"o\"}", "running", "invalid_value"},
        {"{\"id\":\"e\",\"type\":\"refund\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":-1001,\"order\":\"o\"}", "running", "invalid_value"},
        {"{\"id\":\"e\",\"type\":\"refund\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":-5}", "running", "invalid_order"},
        {"{\"id\":\"e\",\"type\":\"refund\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":-5,\"order\":\"e\"}", "running", "invalid_order"},
        {"{\"id\":\"e\",\"type\":\"refund\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"value\":-5,\"order\":\"o\"}", "draft", "not_running"},
        {"{\"id\":\"e\",\"type\":\"decline\",\"experiment\":\"checkout-tiers\",\"visitor\":\"v\","
         "\"order\":\"o\"}", "running", "invalid_order"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        event_checked c;
        char msg[EVENT_MSG_MAX] = "";
        const char *code = check(cases[i].event, cases[i].status, &c, msg, NULL);
        cr_expect(code && strcmp(code, cases[i].code) == 0, "%s: got %s, want %s", cases[i].event,
                  code ? code : "(accepted)", cases[i].code);
        cr_expect_neq(msg[0], 0, "%s", cases[i].event);
    }
}

Test(event_check, the_type_is_known_even_when_a_later_check_fails)
{
    event_checked c;
    char msg[EVENT_MSG_MAX];
    cr_assert_str_eq(check("{\"id\":\"\",\"type\":\"decline\"}", "running", &c, msg, NULL),
                     "invalid_id");
    cr_expect_eq(c.type, EVENT_DECLINE, "the metrics count a rejection under its type");
}
