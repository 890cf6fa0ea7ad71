"""The contract check itself: contract.py must refuse what
docs/openapi.yaml does not describe, or it proves nothing when every
other suite passes through it. The synthetic replies here are each one
mismatch away from a reply the description allows; the last test sends
real requests to a real upshotd."""
import json

import pytest

from contract import Contract, ContractError

ERROR = {"content-type": "application/json"}
HEALTH = {"status": "ok", "redis": "up", "redis_data": "ok", "journal_pending": 0,
          "journal_bytes": 0, "experiments": 1, "draining": False, "apply_lag_seconds": 0.0,
          "shared_state": "up", "state_version": 3}


@pytest.fixture(scope="module")
def c():
    return Contract()


def body(obj):
    return json.dumps(obj)


def test_a_described_reply_passes(c):
    assert c.check("GET", "/healthz", 200, ERROR, body(HEALTH)) == "/healthz"
    assert c.check("GET", "/v1/experiments/checkout-tiers/results?region=gr", 404, ERROR,
                   body({"error": "unknown_experiment", "message": "no"})) \
        == "/v1/experiments/{key}/results"


def test_a_status_not_listed_for_the_route_fails(c):
    with pytest.raises(ContractError, match="status 418 is not documented"):
        c.check("GET", "/healthz", 418, ERROR, body({"error": "x", "message": "y"}))


def test_a_missing_required_field_fails(c):
    broken = dict(HEALTH)
    del broken["journal_pending"]
    with pytest.raises(ContractError, match="journal_pending"):
        c.check("GET", "/healthz", 200, ERROR, body(broken))


def test_a_field_of_the_wrong_type_or_an_unknown_field_fails(c):
    with pytest.raises(ContractError, match="draining"):
        c.check("GET", "/healthz", 200, ERROR, body(dict(HEALTH, draining="no")))
    with pytest.raises(ContractError, match="surprise"):
        c.check("GET", "/healthz", 200, ERROR, body(dict(HEALTH, surprise=1)))


def test_an_undocumented_content_type_fails(c):
    with pytest.raises(ContractError, match="Content-Type"):
        c.check("GET", "/healthz", 200, {"content-type": "text/html"}, body(HEALTH))


def test_an_error_body_must_be_error_shaped(c):
    with pytest.raises(ContractError, match="message"):
        c.check("GET", "/v1/experiments/x", 404, ERROR, body({"error": "unknown_experiment"}))


def test_unknown_paths_and_methods_answer_only_404_and_405(c):
    c.check("GET", "/nope", 404, ERROR, body({"error": "not_found", "message": "no"}))
    with pytest.raises(ContractError, match="no documented path"):
        c.check("GET", "/nope", 200, ERROR, "{}")
    c.check("PATCH", "/v1/assign", 405, dict(ERROR, allow="GET, HEAD, OPTIONS"),
            body({"error": "method_not_allowed", "message": "allowed: GET"}))
    with pytest.raises(ContractError, match="without an Allow header"):
        c.check("PATCH", "/v1/assign", 405, ERROR,
                body({"error": "method_not_allowed", "message": "allowed: GET"}))


def test_head_replies_carry_no_body(c):
    c.check("HEAD", "/healthz", 200, {"content-length": "212"}, "")
    with pytest.raises(ContractError, match="sent a body"):
        c.check("HEAD", "/healthz", 200, {}, body(HEALTH))


def test_documented_headers_are_checked(c):
    with pytest.raises(ContractError, match="Retry-After"):
        c.check("GET", "/v1/experiments/x/results", 503, dict(ERROR, **{"retry-after": "soon"}),
                body({"error": "busy", "message": "busy"}))


def test_a_results_body_without_a_required_count_or_with_a_stray_one_fails(upshot):
    r = upshot.admin("GET", "/v1/experiments/checkout-tiers/results")
    assert r.status == 200, r  # checked by the harness against the description
    res = r.json()
    del res["total"]["variants"][0]["decline_events"]
    with pytest.raises(ContractError, match="decline_events"):
        Contract().check("GET", "/v1/experiments/checkout-tiers/results", 200, r.headers,
                         json.dumps(res))
    res = r.json()
    res["total"]["variants"][0]["revenue_sum_capd"] = 1.0
    with pytest.raises(ContractError, match="revenue_sum_capd"):
        Contract().check("GET", "/v1/experiments/checkout-tiers/results", 200, r.headers,
                         json.dumps(res))
