"""Bad input gets a clear JSON error with the right 4xx and changes
nothing: no counter in Redis moves, the live experiment set stays as it
was, and upshotd keeps answering after every bad request.

Two tables. CASES: one row per bad request at the application level
(method, path, body as JSON, raw bytes or None, headers, the expected
status and error code). RAW_CASES: bytes written on a socket, for what an
HTTP client library would not send (framing, request lines, header
syntax). After every row the counters in Redis and the live experiment
set must be exactly as before, and /healthz must still answer.
"""
import json
import socket

import pytest

from harness import ADMIN_TOKEN, SDK_KEY, RedisServer, Upshotd, read_until_closed

KEY = {"X-Upshot-Key": SDK_KEY}
JSON = {"Content-Type": "application/json", **KEY}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_JSON = {"Content-Type": "application/json", **ADMIN}


def ev(**kw):
    base = {"id": "e-1", "type": "conversion", "experiment": "checkout-tiers",
            "visitor": "known-visitor", "value": 10}
    base.update(kw)
    return {"events": [base]}


def exp_def(**kw):
    """A valid new experiment's definition with fields replaced."""
    d = {"key": "typed", "placement": "cart_page",
         "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]}
    d.update(kw)
    return d


def assign_q(**kw):
    q = {"experiment": "checkout-tiers", "visitor": "v1", "region": "gr", "expose": "1"}
    q.update(kw)
    return "/v1/assign?" + "&".join(f"{k}={v}" for k, v in q.items() if v is not None)


# (name, method, path, body, headers, status, error code)
CASES = [
    ("assign: missing visitor", "GET", assign_q(visitor=None), None, KEY, 400, "invalid_visitor"),
    ("assign: empty visitor", "GET", assign_q(visitor=""), None, KEY, 400, "invalid_visitor"),
    ("assign: overlong visitor", "GET", assign_q(visitor="v" * 129), None, KEY, 400, "invalid_visitor"),
    ("assign: control char in visitor", "GET", assign_q(visitor="a%01b"), None, KEY, 400, "invalid_visitor"),
    ("assign: space in visitor", "GET", assign_q(visitor="a%20b"), None, KEY, 400, "invalid_visitor"),
    ("assign: NUL in visitor", "GET", assign_q(visitor="a%00b"), None, KEY, 400, "invalid_visitor"),
    ("assign: bad percent escape", "GET", assign_q(visitor="a%zz"), None, KEY, 400, "invalid_visitor"),
    ("assign: non-ASCII visitor", "GET", assign_q(visitor="%C3%A9"), None, KEY, 400, "invalid_visitor"),
    ("assign: missing region", "GET", assign_q(region=None), None, KEY, 400, "invalid_region"),
    ("assign: uppercase region", "GET", assign_q(region="GR"), None, KEY, 400, "invalid_region"),
    ("assign: unknown experiment", "GET", assign_q(experiment="nope"), None, KEY, 404, "unknown_experiment"),
    ("assign: invalid experiment key", "GET", assign_q(experiment="Bad!"), None, KEY, 400, "invalid_experiment"),
    ("assign: unknown forced variant", "GET", assign_q(force="gold"), None, KEY, 400, "unknown_variant"),
    ("assign: bad expose flag", "GET", assign_q(expose="yes"), None, KEY, 400, "invalid_parameter"),
    ("assign: no SDK key", "GET", assign_q(), None, {}, 401, "invalid_sdk_key"),
    ("assign: wrong SDK key", "GET", assign_q(), None, {"X-Upshot-Key": "pk_wrong"}, 401, "invalid_sdk_key"),
    ("assign: origin not allowed", "GET", assign_q(), None, {**KEY, "Origin": "http://evil.example"}, 403, "origin_not_allowed"),
    ("assign: POST", "POST", assign_q(), {}, JSON, 405, "method_not_allowed"),
    ("assign: too many query parameters", "GET", assign_q() + "".join(f"&p{i}=1" for i in range(40)), None, KEY, 400, "too_many_parameters"),
    ("assignments: no page or placement", "GET", "/v1/assignments?visitor=v1&region=gr", None, KEY, 400, "invalid_parameter"),
    ("events: malformed JSON", "POST", "/v1/events", b'{"events": [', JSON, 400, "invalid_json"),
    ("events: not an object", "POST", "/v1/events", b'[1,2]', JSON, 400, "invalid_batch"),
    ("events: events not a list", "POST", "/v1/events", {"events": {}}, JSON, 400, "invalid_batch"),
    ("events: empty batch", "POST", "/v1/events", {"events": []}, JSON, 400, "empty_batch"),
    ("events: too many events", "POST", "/v1/events", {"events": [ev(id=f"x{i}")["events"][0] for i in range(1001)]}, JSON, 413, "batch_too_large"),
    ("events: body over the limit", "POST", "/v1/events", b'{"events":["' + b"x" * 300000 + b'"]}', JSON, 413, "body_too_large"),
    ("events: wrong content type", "POST", "/v1/events", b'{"events":[]}', {**KEY, "Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ("events: no content type", "POST", "/v1/events", b'{"events":[]}', KEY, 415, "unsupported_media_type"),
    ("events: GET", "GET", "/v1/events", None, KEY, 405, "method_not_allowed"),
    ("events: duplicate JSON keys", "POST", "/v1/events", b'{"events":[],"events":[]}', JSON, 400, "invalid_json"),
    ("event: negative value", "POST", "/v1/events", ev(value=-1), JSON, 422, "invalid_value"),
    ("event: huge value", "POST", "/v1/events", ev(value=1e300), JSON, 422, "invalid_value"),
    ("event: NaN value (as text)", "POST", "/v1/events", b'{"events":[{"id":"e","type":"conversion","experiment":"checkout-tiers","visitor":"known-visitor","value":NaN}]}', JSON, 400, "invalid_json"),
    ("event: value as a string", "POST", "/v1/events", ev(value="10"), JSON, 422, "invalid_value"),
    ("event: missing value", "POST", "/v1/events", ev(value=None), JSON, 422, "invalid_value"),
    ("event: missing id", "POST", "/v1/events", {"events": [{"type": "decline", "experiment": "checkout-tiers", "visitor": "known-visitor"}]}, JSON, 422, "invalid_id"),
    ("event: overlong id", "POST", "/v1/events", ev(id="i" * 129), JSON, 422, "invalid_id"),
    ("event: tab in id", "POST", "/v1/events", ev(id="a\tb"), JSON, 422, "invalid_id"),
    ("event: unknown type", "POST", "/v1/events", ev(type="purchase"), JSON, 422, "invalid_type"),
    ("event: unknown experiment", "POST", "/v1/events", ev(experiment="nope"), JSON, 422, "unknown_experiment"),
    ("event: unknown variant", "POST", "/v1/events", {"events": [{"id": "x", "type": "exposure", "experiment": "checkout-tiers", "visitor": "v9", "region": "gr", "variant": "gold"}]}, JSON, 422, "unknown_variant"),
    ("event: exposure without region", "POST", "/v1/events", {"events": [{"id": "x", "type": "exposure", "experiment": "checkout-tiers", "visitor": "v9"}]}, JSON, 422, "invalid_region"),
    ("event: exposure outside targeting", "POST", "/v1/events", {"events": [{"id": "x", "type": "exposure", "experiment": "checkout-tiers", "visitor": "v9", "region": "de"}]}, JSON, 422, "not_in_experiment"),
    ("event: unknown field", "POST", "/v1/events", ev(coupon="X"), JSON, 422, "unknown_field"),
    ("event: not an object", "POST", "/v1/events", {"events": [42]}, JSON, 422, "invalid_event"),
    ("event: value on a decline", "POST", "/v1/events", ev(type="decline", value=3), JSON, 422, "invalid_value"),
    ("admin: no token", "GET", "/v1/experiments", None, {}, 401, "unauthorized"),
    ("admin: wrong token", "GET", "/v1/experiments", None, {"Authorization": "Bearer wrong-token-123456"}, 401, "unauthorized"),
    ("admin: SDK key is not an admin token", "POST", "/v1/experiments/checkout-tiers/stop", None, {"Authorization": f"Bearer {SDK_KEY}"}, 401, "unauthorized"),
    ("admin: create invalid weights", "POST", "/v1/experiments", {"key": "bad", "placement": "cart_page", "variants": [{"key": "a", "weight": 0.8}, {"key": "b", "weight": 0.5}]}, ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create existing", "POST", "/v1/experiments", {"key": "checkout-tiers", "placement": "cart_page", "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]}, ADMIN_JSON, 409, "conflict"),
    ("admin: change variants of a started experiment", "PUT", "/v1/experiments/checkout-tiers", {"key": "checkout-tiers", "status": "running", "placement": "checkout_popup", "variants": [{"key": "control", "weight": 0.5}, {"key": "gold", "weight": 0.5}]}, ADMIN_JSON, 409, "conflict"),
    ("admin: replace with another key in the body", "PUT", "/v1/experiments/checkout-tiers", {"key": "other-key", "status": "running", "placement": "checkout_popup", "variants": [{"key": "control", "weight": 0.5}, {"key": "three-tiers", "weight": 0.5}]}, ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: unknown experiment", "GET", "/v1/experiments/nope", None, ADMIN, 404, "unknown_experiment"),
    ("admin: promote unknown variant", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": "gr", "variant": "gold"}, ADMIN_JSON, 400, "unknown_variant"),
    ("admin: promote huge holdback", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": "gr", "variant": "three-tiers", "holdback": 2}, ADMIN_JSON, 400, "invalid_holdback"),
    ("admin: promote untargeted region", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": "de", "variant": "three-tiers"}, ADMIN_JSON, 409, "conflict"),
    ("admin: unpromote without promotion", "DELETE", "/v1/experiments/checkout-tiers/promotions/gr", None, ADMIN, 404, "unknown_promotion"),
    ("admin: wrong method", "DELETE", "/v1/experiments/checkout-tiers", None, ADMIN, 405, "method_not_allowed"),
    ("admin: create with wrong content type", "POST", "/v1/experiments", b"key=x", {**ADMIN, "Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ("unknown path", "GET", "/v2/assign", None, {}, 404, "not_found"),
    # Fields of the wrong JSON type: each names its field.
    ("event: region a number", "POST", "/v1/events", ev(region=7), JSON, 422, "invalid_region"),
    ("event: region null", "POST", "/v1/events", b'{"events":[{"id":"e","type":"conversion","experiment":"checkout-tiers","visitor":"known-visitor","value":1,"region":null}]}', JSON, 422, "invalid_region"),
    ("event: id a number", "POST", "/v1/events", ev(id=5), JSON, 422, "invalid_id"),
    ("event: visitor a number", "POST", "/v1/events", ev(visitor=5), JSON, 422, "invalid_visitor"),
    ("event: visitor a list", "POST", "/v1/events", ev(visitor=["known-visitor"]), JSON, 422, "invalid_visitor"),
    ("event: experiment a number", "POST", "/v1/events", ev(experiment=1), JSON, 422, "invalid_experiment"),
    ("event: type a number", "POST", "/v1/events", ev(type=1), JSON, 422, "invalid_type"),
    ("event: variant a number", "POST", "/v1/events", ev(variant=1), JSON, 422, "invalid_variant"),
    ("event: ts a list", "POST", "/v1/events", ev(ts=[]), JSON, 422, "invalid_ts"),
    ("event: value a boolean", "POST", "/v1/events", ev(value=True), JSON, 422, "invalid_value"),
    ("event: value null", "POST", "/v1/events", b'{"events":[{"id":"e","type":"conversion","experiment":"checkout-tiers","visitor":"known-visitor","value":null}]}', JSON, 422, "invalid_value"),
    ("event: value an object", "POST", "/v1/events", ev(value={"amount": 1}), JSON, 422, "invalid_value"),
    ("events: events null", "POST", "/v1/events", b'{"events":null}', JSON, 400, "invalid_batch"),
    ("events: a string body", "POST", "/v1/events", b'"events"', JSON, 400, "invalid_json"),
    ("events: trailing garbage", "POST", "/v1/events", b'{"events":[]} x', JSON, 400, "invalid_json"),
    ("events: empty body", "POST", "/v1/events", b'', JSON, 400, "invalid_json"),
    ("admin: create with name a number", "POST", "/v1/experiments", exp_def(name=7), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with description a list", "POST", "/v1/experiments", exp_def(description=[]), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with salt a number", "POST", "/v1/experiments", exp_def(salt=1), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with status a number", "POST", "/v1/experiments", exp_def(status=1), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with placement a number", "POST", "/v1/experiments", exp_def(placement=5), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with pages a string", "POST", "/v1/experiments", exp_def(pages="checkout"), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with regions a number", "POST", "/v1/experiments", exp_def(regions=7), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with traffic_percent a string", "POST", "/v1/experiments", exp_def(traffic_percent="50"), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with control a number", "POST", "/v1/experiments", exp_def(control=1), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with variants an object", "POST", "/v1/experiments", exp_def(variants={}), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with a variant weight a string", "POST", "/v1/experiments", exp_def(variants=[{"key": "a", "weight": "0.5"}, {"key": "b", "weight": 0.5}]), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with a variant key a number", "POST", "/v1/experiments", exp_def(variants=[{"key": 1, "weight": 0.5}, {"key": "b", "weight": 0.5}]), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with a payload a string", "POST", "/v1/experiments", exp_def(variants=[{"key": "a", "weight": 0.5, "payload": "x"}, {"key": "b", "weight": 0.5}]), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with goal a number", "POST", "/v1/experiments", exp_def(goal=1), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with guardrails a string", "POST", "/v1/experiments", exp_def(guardrails="decline_rate"), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with layer a number", "POST", "/v1/experiments", exp_def(layer=5), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with qa a list", "POST", "/v1/experiments", exp_def(qa=[]), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with auto_promote a string", "POST", "/v1/experiments", exp_def(auto_promote="yes"), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with stats a number", "POST", "/v1/experiments", exp_def(stats=3), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with key a number", "POST", "/v1/experiments", exp_def(key=7), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: create with reason a number", "POST", "/v1/experiments", exp_def(reason=7), ADMIN_JSON, 400, "invalid_reason"),
    ("admin: create with a JSON list", "POST", "/v1/experiments", b"[]", ADMIN_JSON, 400, "invalid_json"),
    ("admin: create with malformed JSON", "POST", "/v1/experiments", b'{"key":', ADMIN_JSON, 400, "invalid_json"),
    ("admin: create with an empty body", "POST", "/v1/experiments", b"", ADMIN_JSON, 400, "invalid_json"),
    ("admin: replace with key a number", "PUT", "/v1/experiments/checkout-tiers", exp_def(key=7), ADMIN_JSON, 400, "invalid_experiment"),
    ("admin: replace with reason a list", "PUT", "/v1/experiments/checkout-tiers", exp_def(key="checkout-tiers", reason=[]), ADMIN_JSON, 400, "invalid_reason"),
    ("admin: start with reason a number", "POST", "/v1/experiments/checkout-tiers/start", {"reason": 7}, ADMIN_JSON, 400, "invalid_reason"),
    ("admin: stop with reason a list", "POST", "/v1/experiments/checkout-tiers/stop", {"reason": []}, ADMIN_JSON, 400, "invalid_reason"),
    ("admin: stop with an overlong reason", "POST", "/v1/experiments/checkout-tiers/stop", {"reason": "r" * 501}, ADMIN_JSON, 400, "invalid_reason"),
    ("admin: stop with malformed JSON", "POST", "/v1/experiments/checkout-tiers/stop", b"{", ADMIN_JSON, 400, "invalid_json"),
    ("admin: promote with variant a number", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": "gr", "variant": 7}, ADMIN_JSON, 400, "invalid_variant"),
    ("admin: promote with region a number", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": 7, "variant": "control"}, ADMIN_JSON, 400, "invalid_region"),
    ("admin: promote with holdback a string", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": "gr", "variant": "control", "holdback": "0.1"}, ADMIN_JSON, 400, "invalid_holdback"),
    ("admin: promote with reason a list", "POST", "/v1/experiments/checkout-tiers/promotions", {"region": "gr", "variant": "control", "reason": []}, ADMIN_JSON, 400, "invalid_reason"),
    ("admin: promote without a body", "POST", "/v1/experiments/checkout-tiers/promotions", None, ADMIN, 415, "unsupported_media_type"),
    ("admin: results for a bad region", "GET", "/v1/experiments/checkout-tiers/results?region=GR", None, ADMIN, 400, "invalid_region"),
    ("assignments: overlong visitor", "GET", "/v1/assignments?visitor=" + "v" * 129 + "&region=gr&page=checkout", None, KEY, 400, "invalid_visitor"),
    ("sdk config: wrong SDK key", "GET", "/v1/sdk/config", None, {"X-Upshot-Key": "pk_wrong"}, 401, "invalid_sdk_key"),
]


@pytest.fixture(scope="module")
def server():
    with RedisServer() as redis, Upshotd(redis) as up:
        r = up.assign("known-visitor", region="gr")
        assert r.status == 200
        up.wait_applied()
        yield up


def snapshot(up):
    return (up.redis.counters("checkout-tiers"),
            up.admin("GET", "/v1/experiments").body)


@pytest.mark.parametrize("name,method,path,body,headers,status,code", CASES, ids=[c[0] for c in CASES])
def test_bad_request(server, name, method, path, body, headers, status, code):
    before = snapshot(server)
    raw = body if isinstance(body, bytes) else None
    if isinstance(body, dict):
        # drop None fields so "missing value" really misses it
        for e in body.get("events", []) if isinstance(body.get("events"), list) else []:
            if isinstance(e, dict):
                for k in [k for k, v in e.items() if v is None]:
                    del e[k]
        raw = json.dumps(body).encode()
    r = server.request(method, path, headers=headers, raw_body=raw)
    assert r.status == status, f"{name}: {r}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    err = r.json()
    if status == 422:  # every event of the batch rejected: reported by index
        assert err["accepted"] == 0 and err["rejected"][0]["index"] == 0, err
        assert err["rejected"][0]["error"] == code, err
        assert err["rejected"][0]["message"], err
    else:
        assert err["error"] == code, err
        assert len(err["message"]) > 5, err
    server.wait_applied()
    assert snapshot(server) == before, f"{name} changed state"
    assert server.get("/healthz").status == 200


def test_batch_with_some_bad_events_accepts_the_good_ones(server):
    events = [
        {"id": "ok-1", "type": "decline", "experiment": "checkout-tiers", "visitor": "known-visitor"},
        {"id": "bad-1", "type": "conversion", "experiment": "checkout-tiers", "visitor": "known-visitor", "value": -5},
        {"id": "ok-2", "type": "conversion", "experiment": "checkout-tiers", "visitor": "known-visitor", "value": 12.5},
        {"id": "bad-2", "type": "conversion", "experiment": "nope", "visitor": "known-visitor", "value": 1},
    ]
    r = server.events(events)
    assert r.status == 202, r
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["index"], x["error"]) for x in body["rejected"]] == [(1, "invalid_value"), (3, "unknown_experiment")]
    server.wait_applied()
    cnt = server.redis.counters("checkout-tiers")
    assert sum(v for k, v in cnt.items() if k.startswith("s|")) == 12.5
    assert sum(v for k, v in cnt.items() if k.startswith("d|")) == 1
    # The same batch again: the good events are duplicates now, nothing is counted twice.
    r = server.events(events)
    assert r.status == 202 and r.json()["duplicates"] == 2 and r.json()["accepted"] == 0, r
    server.wait_applied()
    assert server.redis.counters("checkout-tiers") == cnt


# Raw bytes on a socket: request lines, headers, framing. The connection
# guard (engine/http_guard.h) answers these before evhttp parses them, and
# closes the connection. (name, request bytes, status, error code)
def post_events(*headers, body=b""):
    return (b"POST /v1/events HTTP/1.1\r\nHost: t\r\nX-Upshot-Key: " + SDK_KEY.encode() +
            b"\r\nContent-Type: application/json\r\n" + b"".join(h + b"\r\n" for h in headers) +
            b"\r\n" + body)


def get(path=b"/healthz", *headers, line=None):
    first = line if line is not None else b"GET " + path + b" HTTP/1.1"
    return first + b"\r\nHost: t\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"


AUTH = b"Authorization: Bearer " + ADMIN_TOKEN.encode()
GOOD_EVENT = json.dumps(ev(id="raw-1")).encode()

RAW_CASES = [
    ("two Content-Lengths", post_events(b"Content-Length: 0", b"Content-Length: %d" % len(GOOD_EVENT), body=GOOD_EVENT), 400, "duplicate_content_length"),
    ("two equal Content-Lengths", post_events(b"Content-Length: %d" % len(GOOD_EVENT), b"Content-Length: %d" % len(GOOD_EVENT), body=GOOD_EVENT), 400, "duplicate_content_length"),
    ("Content-Length +0", post_events(b"Content-Length: +0", body=GOOD_EVENT), 400, "invalid_content_length"),
    ("Content-Length -1", post_events(b"Content-Length: -1", body=GOOD_EVENT), 400, "invalid_content_length"),
    ("Content-Length list", post_events(b"Content-Length: 5, 5", body=b"{}{}{"), 400, "invalid_content_length"),
    ("Content-Length hex", post_events(b"Content-Length: 0x10"), 400, "invalid_content_length"),
    ("Content-Length with a space inside", post_events(b"Content-Length: 1 0"), 400, "invalid_content_length"),
    ("Content-Length empty", post_events(b"Content-Length:"), 400, "invalid_content_length"),
    ("Content-Length of 19 digits", post_events(b"Content-Length: 1000000000000000000"), 400, "invalid_content_length"),
    ("Content-Length and Transfer-Encoding", post_events(b"Content-Length: 3", b"Transfer-Encoding: chunked", body=b"0\r\n"), 400, "conflicting_framing"),
    ("Transfer-Encoding chunked", post_events(b"Transfer-Encoding: chunked", body=b"2\r\n{}\r\n0\r\n\r\n"), 411, "length_required"),
    ("Transfer-Encoding gzip", post_events(b"Transfer-Encoding: gzip"), 411, "length_required"),
    ("Content-Length over the limit", post_events(b"Content-Length: 300000"), 413, "body_too_large"),
    ("admin PUT over the limit", b"PUT /v1/experiments/checkout-tiers HTTP/1.1\r\nHost: t\r\n" + AUTH + b"\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{", 413, "body_too_large"),
    ("a body on GET", get(b"/healthz", b"Content-Length: 4") + b"GET ", 400, "unexpected_body"),
    ("a body on DELETE", b"DELETE /v1/experiments/checkout-tiers/promotions/gr HTTP/1.1\r\nHost: t\r\n" + AUTH + b"\r\nContent-Length: 2\r\n\r\n{}", 400, "unexpected_body"),
    ("NUL in the admin token", get(b"/v1/experiments", AUTH + b"\x00junk"), 400, "invalid_header"),
    ("NUL in the SDK key", get(b"/v1/sdk/config", b"X-Upshot-Key: " + SDK_KEY.encode() + b"\x00x"), 400, "invalid_header"),
    ("control byte in a header", get(b"/healthz", b"X-A: a\x01b"), 400, "invalid_header"),
    ("DEL in a header", get(b"/healthz", b"X-A: a\x7f"), 400, "invalid_header"),
    ("escape sequence in a header", get(b"/healthz", b"X-A: \x1b[2J"), 400, "invalid_header"),
    ("bare LF between headers", b"GET /healthz HTTP/1.1\r\nHost: t\nX-A: 1\r\n\r\n", 400, "invalid_line_ending"),
    ("bare LF ends the head", b"GET /healthz HTTP/1.1\nHost: t\r\n\r\n", 400, "invalid_line_ending"),
    ("bare CR in a header", get(b"/healthz", b"X-A: 1\r2"), 400, "invalid_line_ending"),
    ("folded header", get(b"/healthz", b"X-A: 1", b" 2"), 400, "invalid_header"),
    ("space before the colon", get(b"/healthz", b"Host : t"), 400, "invalid_header"),
    ("empty header name", get(b"/healthz", b": x"), 400, "invalid_header"),
    ("header without a colon", get(b"/healthz", b"X-A"), 400, "invalid_header"),
    ("non-token header name", get(b"/healthz", b"X(A): 1"), 400, "invalid_header"),
    ("request line over 8 KiB", get(b"/healthz?p=" + b"a" * 9000), 414, "uri_too_long"),
    ("head over 16 KiB", get(b"/healthz", *[b"X-Pad-%d: %s" % (i, b"p" * 100) for i in range(170)]), 431, "header_too_large"),
    ("more than 100 header fields", get(b"/healthz", *[b"X-%d: 1" % i for i in range(101)]), 431, "header_too_large"),
    ("TRACE", get(line=b"TRACE / HTTP/1.1"), 501, "method_not_implemented"),
    ("CONNECT", get(line=b"CONNECT t:443 HTTP/1.1"), 501, "method_not_implemented"),
    ("lower-case method", get(line=b"get /healthz HTTP/1.1"), 501, "method_not_implemented"),
    ("HTTP/2.0", get(line=b"GET /healthz HTTP/2.0"), 400, "invalid_request_line"),
    ("HTTP/0.9 style", get(line=b"GET /healthz"), 400, "invalid_request_line"),
    ("two spaces in the request line", get(line=b"GET  /healthz HTTP/1.1"), 400, "invalid_request_line"),
    ("tab in the target", get(line=b"GET /health\tz HTTP/1.1"), 400, "invalid_request_line"),
    ("non-ASCII target", get(line=b"GET /h\xc3\xa9 HTTP/1.1"), 400, "invalid_request_line"),
    ("leading blank line", b"\r\n" + get(), 400, "invalid_request_line"),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "invalid_request_line"),
]


def raw_exchange(port, data, timeout=5.0):
    """Sends data on a fresh connection; returns everything read until the
    server closed it, and whether it did."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_until_closed(s, timeout)


@pytest.mark.parametrize("name,data,status,code", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_bad_raw_request(server, name, data, status, code):
    before = snapshot(server)
    got, closed = raw_exchange(server.port, data)
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), f"{name}: {got[:300]!r}"
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert headers.get("connection", "").lower() == "close", headers
    err = json.loads(body[:int(headers["content-length"])])
    assert err["error"] == code, err
    assert len(err["message"]) > 5, err
    assert closed, f"{name}: the connection stayed open"
    server.wait_applied()
    assert snapshot(server) == before, f"{name} changed state"
    assert server.get("/healthz").status == 200


def test_the_table_holds_at_least_a_hundred_bad_requests():
    assert len(CASES) + len(RAW_CASES) >= 100


# A known path with a method none of its routes answers: 405, and Allow
# lists exactly the methods the path has (router.c's table; every GET
# row takes HEAD too).
# (method, path, headers, Allow)
WRONG_METHODS = [
    ("POST", "/v1/assign", KEY, "GET, HEAD, OPTIONS"),
    ("DELETE", "/v1/assignments", KEY, "GET, HEAD, OPTIONS"),
    ("GET", "/v1/events", KEY, "POST, OPTIONS"),
    ("PUT", "/v1/sdk/config", KEY, "GET, HEAD, OPTIONS"),
    ("POST", "/healthz", {}, "GET, HEAD"),
    ("POST", "/metrics", {}, "GET, HEAD"),
    ("DELETE", "/v1/experiments", ADMIN, "GET, HEAD, POST"),
    ("DELETE", "/v1/experiments/checkout-tiers", ADMIN, "GET, HEAD, PUT"),
    ("DELETE", "/v1/experiments/no-such-experiment", ADMIN, "GET, HEAD, PUT"),
    ("GET", "/v1/experiments/checkout-tiers/start", ADMIN, "POST"),
    ("PUT", "/v1/experiments/checkout-tiers/results", ADMIN, "GET, HEAD"),
    ("DELETE", "/v1/experiments/checkout-tiers/promotions", ADMIN, "GET, HEAD, POST"),
    ("GET", "/v1/experiments/checkout-tiers/promotions/gr", ADMIN, "DELETE"),
    ("GET", "/v1/admin/reload", ADMIN, "POST"),
]


@pytest.mark.parametrize("method,path,headers,allow", WRONG_METHODS,
                         ids=[f"{m} {p}" for m, p, _, _ in WRONG_METHODS])
def test_wrong_method_on_a_known_path_gets_405_with_its_allow(server, method, path, headers, allow):
    r = server.request(method, path, headers=headers)
    assert r.status == 405, r
    assert r.headers["allow"] == allow, r.headers
    assert r.json()["error"] == "method_not_allowed"
    assert allow in r.json()["message"]


def test_admin_paths_answer_401_before_anything_else_without_a_token(server):
    for method, path in (("DELETE", "/v1/experiments"), ("GET", "/v1/experiments/Bad!Key"),
                         ("GET", "/v1/admin/reload")):
        r = server.request(method, path)
        assert r.status == 401 and r.json()["error"] == "unauthorized", (method, path, r)
        assert r.headers["www-authenticate"] == "Bearer"


def test_path_parameters_that_are_not_keys_get_404(server):
    r = server.request("GET", "/v1/experiments/Bad!Key", headers=ADMIN)
    assert r.status == 404 and r.json()["error"] == "unknown_experiment", r
    r = server.request("DELETE", "/v1/experiments/checkout-tiers/promotions/GR", headers=ADMIN)
    assert r.status == 404 and r.json()["error"] == "not_found", r
    r = server.request("GET", "/v1/experiments/checkout-tiers/nothing", headers=ADMIN)
    assert r.status == 404 and r.json()["error"] == "not_found", r


def test_replacing_with_a_mismatched_key_names_both_keys(server):
    before = snapshot(server)
    body = {"key": "another-experiment", "placement": "checkout_popup",
            "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]}
    r = server.admin("PUT", "/v1/experiments/checkout-tiers", body=body)
    assert r.status == 400, r
    err = r.json()
    assert err["error"] == "invalid_experiment", err
    assert "another-experiment" in err["message"] and "checkout-tiers" in err["message"], err
    assert snapshot(server) == before
    assert server.get("/healthz").status == 200


def test_head_healthz_answers_without_a_body(server):
    r = server.request("HEAD", "/healthz")
    assert r.status == 200 and not r.body, r
