"""Bandit experiments end to end through a real upshotd and a real Redis:
per-region weights move towards each region's best arm with the control's
share exact and the floor kept; the update is audited with its inputs and
reproducible from them; every visitor exposed before an update keeps their
variant after it, only those in moved buckets cost a Redis lookup, and new
visitors follow the new layout bucket for bucket; a region without enough
visitors waits on its weights."""
import importlib.util
import json
import os
import re
import subprocess

import pytest

from harness import experiment

SRC = os.environ.get("UPSHOT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
_spec = importlib.util.spec_from_file_location(
    "gen", os.path.join(SRC, "tests", "vectors", "generate_assignment.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

VARIANTS = ["control", "b", "c"]
START = [0.4, 0.3, 0.3]
SEED = 12345
# Conversion rate of each arm per region: b is best in gr, c in pl.
RATES = {"gr": [0.05, 0.45, 0.05], "pl": [0.05, 0.05, 0.45], "ee": [0.1, 0.1, 0.1]}


def bandit_experiment(key):
    return experiment(key, salt="wordings", regions=["gr", "pl", "ee"],
                      variants=[{"key": k, "weight": w} for k, w in zip(VARIANTS, START)],
                      allocation={"mode": "bandit", "metric": "conversion", "every": "1d",
                                  "control_share": 0.2, "floor": 0.05,
                                  "min_visitors_per_arm": 30, "beta": 0.8, "seed": SEED})


def decode_layout(text):
    owners, moved = text.split("/")
    owner = []
    for run in owners.split(","):
        arm, n = run.split("*")
        owner += [int(arm)] * int(n)
    marks, state = [], False
    for n in moved.split(","):
        marks += [state] * int(n)
        state = not state
    assert len(owner) == 10000 and len(marks) == 10000
    return owner, marks


def metric(up, name):
    text = up.get("/metrics").body
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(m.group(1))


def converts(visitor, region, arm):
    """Deterministic: a visitor converts when their own hash says so."""
    h = gen.murmur3_32(f"conv|{visitor}".encode(), 0) % 1000
    return h < RATES[region][arm] * 1000


def expose_and_convert(up, keys, visitors, region, variants):
    events = []
    for v in visitors:
        got = None
        for key in keys:
            r = up.assign(v, region=region, experiment=key)
            assert r.status == 200, r
            body = r.json()
            assert body["exposure"] == "recorded", body
            if got is None:
                got = body["variant"]
            assert body["variant"] == got, "twins with one salt give one variant"
        variants[(region, v)] = got
        if converts(v, region, VARIANTS.index(got)):
            for key in keys:
                events.append({"id": f"{key}-{v}-c", "type": "conversion", "experiment": key,
                               "visitor": v, "value": 10})
    for at in range(0, len(events), 100):
        body = up.events(events[at:at + 100]).json()
        assert body["accepted"] == len(events[at:at + 100]), body


def update(up, key):
    # the update reads Redis: every event acknowledged so far must be there
    up.wait_applied()
    r = up.admin("POST", f"/v1/experiments/{key}/bandit/update")
    assert r.status == 200, r
    return r.json()


def check_weights(state, region, best):
    r = state["regions"][region]
    w = r["weights"]
    assert r["waiting"] is False, r
    assert w[0] == 0.2, w  # the control's share, exact
    assert all(x >= 0.05 - 1e-12 for x in w[1:]), w  # the floor
    assert abs(sum(w) - 1) < 1e-9
    other = 2 if best == 1 else 1
    # beta 0.8: once the leader is clear it gets 0.8 of the treatments'
    # share above the floors, 0.05 + 0.8 * 0.7 = 0.61 (with two treatments
    # top-two sampling with beta 0.5 would split them equally).
    assert abs(w[best] - 0.61) < 0.02 and abs(w[other] - 0.19) < 0.02, w
    assert r["p_best"][best] > 0.95, r


def check_sticky(up, key, variants, state):
    """Every visitor exposed so far keeps their variant; exactly those in
    buckets moved in some region were looked up (a visitor may ask from
    another region than their first exposure's)."""
    layouts = {reg: decode_layout(r["layout"]) for reg, r in state["regions"].items()
               if r.get("layout")}

    def moved_anywhere(v):
        b = gen.decision_bucket("wordings", "variant", v)
        return any(lay[1][b] for lay in layouts.values())

    want_lookups = 0
    before_l = metric(up, "upshot_bandit_lookups_total")
    before_n = metric(up, "upshot_bandit_no_lookup_total")
    for (region, v), first in variants.items():
        moved = moved_anywhere(v)
        for attempt in range(20):
            r = up.assign(v, region=region, experiment=key, expose=False).json()
            want_lookups += moved
            # A lookup that missed its 50 ms budget on a busy machine says
            # so; ask again: the test is about the answers upshotd vouches for.
            if r["reason"] != "sticky_unverified":
                break
        assert moved or r["reason"] == "assigned", (region, v, r)
        assert r["variant"] == first, (region, v, r["reason"], r)
        assert r["reason"] in ("assigned", "sticky"), r
    assert metric(up, "upshot_bandit_lookups_total") - before_l == want_lookups
    assert metric(up, "upshot_bandit_no_lookup_total") - before_n == len(variants) - \
        sum(1 for (reg, v) in variants if moved_anywhere(v))
    return want_lookups


def test_bandit_moves_weights_per_region_and_keeps_visitors(upshot):
    up = upshot
    for key in ("wordings", "twin"):
        r = up.admin("POST", "/v1/experiments", bandit_experiment(key))
        assert r.status == 201, r
    # Fixed experiments have no bandit.
    assert up.admin("GET", "/v1/experiments/checkout-tiers/bandit").status == 409
    assert up.admin("POST", "/v1/experiments/checkout-tiers/bandit/update").status == 409

    variants = {}
    for region in ("gr", "pl"):
        expose_and_convert(up, ["wordings", "twin"], [f"{region}-{i}" for i in range(300)],
                           region, variants)
    expose_and_convert(up, ["wordings", "twin"], [f"ee-{i}" for i in range(12)], "ee", variants)
    up.wait_applied()

    s1 = update(up, "wordings")
    check_weights(s1, "gr", 1)
    check_weights(s1, "pl", 2)
    for reg in ("gr", "pl"):
        assert s1["regions"][reg]["period"] == 1
        assert 0 < s1["regions"][reg]["moved_share"] < 1
        assert s1["regions"][reg]["history"][0]["weights"] == START
    ee = s1["regions"]["ee"]
    assert ee["waiting"] is True and ee["period"] == 0 and ee["weights"] == START, ee
    assert ee["fewest_visitors"] < 30
    assert s1["next_update"].endswith("T00:00:00Z")  # every 1d: midnight UTC

    # The same data and seed give the same weights (the twin shares the
    # seed, so its first update per region uses the same draws).
    t1 = update(up, "twin")
    for reg in ("gr", "pl", "ee"):
        assert t1["regions"][reg]["weights"] == s1["regions"][reg]["weights"], reg
        assert t1["regions"][reg]["layout" if reg != "ee" else "period"] == \
            s1["regions"][reg]["layout" if reg != "ee" else "period"]

    # The audit entry holds the inputs.
    log = up.admin("GET", "/v1/experiments/wordings/log").json()["entries"]
    entries = [e for e in log if e["action"] == "bandit_update"]
    assert len(entries) == 1 and entries[0]["actor"] == "bandit", log
    d = entries[0]["details"]
    assert d["settings"]["control_share"] == 0.2 and d["settings"]["seed"] == SEED
    assert d["settings"]["min_visitors_per_arm"] == 30 and d["settings"]["floor"] == 0.05
    assert d["settings"]["beta"] == 0.8
    assert d["variants"] == VARIANTS
    gr = d["regions"]["gr"]
    assert gr["seed"] == gen.murmur3_32(b"gr|1", SEED)  # docs/config.md, the seed formula
    assert gr["previous_weights"] == START and gr["weights"] == s1["regions"]["gr"]["weights"]
    assert gr["changed"] is True and gr["waiting"] is False
    n = {VARIANTS[i]: 0 for i in range(3)}
    conv = {VARIANTS[i]: 0 for i in range(3)}
    for (region, v), var in variants.items():
        if region == "gr":
            n[var] += 1
            conv[var] += converts(v, "gr", VARIANTS.index(var))
    assert [(c["visitors"], c["conversions"]) for c in gr["counts"]] == \
        [(n[k], conv[k]) for k in VARIANTS]
    assert d["regions"]["ee"]["waiting"] is True
    assert len(gr["p_best"]) == 3 and len(gr["allocation"]) == 3
    # ... enough to recompute the update exactly, outside upshotd.
    replay = os.environ.get("UPSHOT_BANDIT_REPLAY")
    if replay:
        out = json.loads(subprocess.run([replay], input=json.dumps(d), text=True,
                                        capture_output=True, check=True).stdout)
        # (the stored JSON keeps 15 significant digits)
        for reg in ("gr", "pl"):
            for a, b, c in zip(out[reg]["weights"], d["regions"][reg]["computed_weights"],
                               s1["regions"][reg]["weights"]):
                assert abs(a - b) < 1e-12 and abs(a - c) < 1e-12, (reg, out, d)
        assert out["ee"]["waiting"] is True

    # Stickiness after the update.
    looked = check_sticky(up, "wordings", variants, s1)
    assert looked > 0
    # An exposure event may name an earlier variant only in a moved bucket.
    owner_gr, moved_gr = decode_layout(s1["regions"]["gr"]["layout"])
    moved_v = next(v for (reg, v), var in variants.items() if reg == "gr" and
                   moved_gr[gen.decision_bucket("wordings", "variant", v)])
    still_v = next(v for (reg, v), var in variants.items() if reg == "gr" and
                   not moved_gr[gen.decision_bucket("wordings", "variant", v)])
    ev = {"id": "again-1", "type": "exposure", "experiment": "wordings", "visitor": moved_v,
          "region": "gr", "variant": variants[("gr", moved_v)]}
    assert up.events([ev]).json()["accepted"] == 1
    wrong = VARIANTS[(owner_gr[gen.decision_bucket("wordings", "variant", still_v)] + 1) % 3]
    body = up.events([{"id": "again-2", "type": "exposure", "experiment": "wordings",
                       "visitor": still_v, "region": "gr", "variant": wrong}]).json()
    assert body["rejected"][0]["error"] == "variant_mismatch", body

    # New visitors follow the new layout, bucket for bucket.
    owner = {reg: decode_layout(s1["regions"][reg]["layout"])[0] for reg in ("gr", "pl")}
    counts = [0, 0, 0]
    for i in range(600):
        v = f"new-gr-{i}"
        for attempt in range(20):  # a lookup over its budget says so: ask again
            r = up.assign(v, region="gr", experiment="wordings", expose=False).json()
            if r["reason"] != "sticky_unverified":
                break
        want = VARIANTS[owner["gr"][gen.decision_bucket("wordings", "variant", v)]]
        assert r["variant"] == want and r["reason"] == "assigned", (v, r, want)
        counts[VARIANTS.index(r["variant"])] += 1
    assert counts[1] > counts[2] and counts[1] > counts[0]

    # More data, a second update, and stickiness again.
    for region in ("gr", "pl"):
        expose_and_convert(up, ["wordings"], [f"{region}-late-{i}" for i in range(150)], region,
                           variants)
    up.wait_applied()
    s2 = update(up, "wordings")
    check_weights(s2, "gr", 1)
    check_weights(s2, "pl", 2)
    assert s2["regions"]["ee"]["waiting"] is True and s2["regions"]["ee"]["weights"] == START
    for reg in ("gr", "pl"):
        r2 = s2["regions"][reg]
        if r2["period"] == 2:
            assert r2["history"][-1]["weights"] == s1["regions"][reg]["weights"]
        else:  # a change within the Monte Carlo noise keeps the period
            assert r2["period"] == 1 and r2["layout"] == s1["regions"][reg]["layout"]
        assert r2["moved_share"] >= s1["regions"][reg]["moved_share"]
    check_sticky(up, "wordings", variants, s2)

    # A PUT of the definition (a steering setting changed) keeps the state.
    steer = bandit_experiment("wordings")
    steer["allocation"]["min_visitors_per_arm"] = 40
    assert up.admin("PUT", "/v1/experiments/wordings", steer).status == 200
    got = up.admin("GET", "/v1/experiments/wordings/bandit").json()
    assert got["allocation"]["min_visitors_per_arm"] == 40
    assert got["regions"]["gr"]["weights"] == s2["regions"]["gr"]["weights"]
    assert got["regions"]["gr"]["layout"] == s2["regions"]["gr"]["layout"]
    assert got["allocation"]["every_seconds"] == 86400
    # A clean exit (under the sanitizers: no leak of layouts or jobs).
    assert up.stop() == 0, up.read_log()[-2000:]


def test_bandit_settings_rules(upshot):
    up = upshot
    assert up.admin("POST", "/v1/experiments", bandit_experiment("wordings")).status == 201
    bad = bandit_experiment("bad")
    bad["allocation"]["every"] = "5m"
    r = up.admin("POST", "/v1/experiments", bad)
    assert r.status == 400 and "allocation.every" in r.json()["message"], r
    # A started bandit may change its steering settings, not its control share.
    steer = bandit_experiment("wordings")
    steer["allocation"]["floor"] = 0.02
    r = up.admin("PUT", "/v1/experiments/wordings", steer)
    assert r.status == 200, r
    locked = bandit_experiment("wordings")
    locked["allocation"]["control_share"] = 0.3
    r = up.admin("PUT", "/v1/experiments/wordings", locked)
    assert r.status == 409 and "control_share" in r.json()["message"], r


@pytest.mark.parametrize("path", ["/v1/sdk/config"])
def test_sdk_config_carries_the_layouts(upshot, path):
    up = upshot
    assert up.admin("POST", "/v1/experiments", bandit_experiment("wordings")).status == 201
    variants = {}
    expose_and_convert(up, ["wordings"], [f"gr-{i}" for i in range(200)], "gr", variants)
    up.wait_applied()
    s = update(up, "wordings")
    cfg = up.public("GET", path).json()
    e = [x for x in cfg["experiments"] if x["key"] == "wordings"][0]
    assert e["bandit"]["regions"]["gr"] == {"period": 1, "layout": s["regions"]["gr"]["layout"]}
    assert "pl" not in e["bandit"]["regions"]
    assert [v["weight"] for v in e["variants"]] == START
