"""A factorial offer experiment end to end, through real HTTP, a real
upshotd and a real Redis: created, started, assigned, recorded, forced,
promoted by cell key and reweighted through the admin API.

Four 2-level factors make 16 cells. Each visitor's levels must follow
the level weights, two factors' levels must be independent (a
chi-square on their 2x2 table: drawing both from one bucket would fail
it by hundreds), the cell key, the `factors` object and the merged
payload must agree with each other and with the independent Python
implementation of docs/assignment.md (tests/vectors/generate_assignment.py),
and the results endpoint must count, per cell, exactly the exposures,
conversions and declines sent here."""
import os
import random
import sys

from harness import totals_by_variant

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
import generate_assignment as spec  # noqa: E402  the independent implementation

KEY = "offer-strategy"
REGIONS = ["gr", "pl", "mena", "ee", "se"]
FACTORS = [
    {"key": "placement", "levels": [
        {"key": "cart", "payload": {"placement": "cart_page"}},
        {"key": "checkout", "payload": {"placement": "checkout_popup"}}]},
    {"key": "wording", "levels": [
        {"key": "plain", "payload": {"wording": "plain"}},
        {"key": "benefit", "payload": {"wording": "benefit"}}]},
    {"key": "tiers", "levels": [
        {"key": "one", "payload": {"tiers": 1}},
        {"key": "three", "payload": {"tiers": 3}}]},
    {"key": "urgency", "levels": [
        {"key": "none", "weight": 0.75, "payload": {}},
        {"key": "timer", "weight": 0.25, "payload": {"timer_s": 600}}]},
]
WEIGHTS = {"placement": 0.5, "wording": 0.5, "tiers": 0.5, "urgency": 0.25}  # of the second level
N = 2400


def definition():
    return {"key": KEY, "status": "draft", "placement": "offer_slot", "pages": ["cart"],
            "regions": REGIONS, "goal": "conversion", "factors": FACTORS,
            "qa": {"query_override": True}}


def merged_payload(levels):
    out = {}
    for f in FACTORS:
        lv = next(x for x in f["levels"] if x["key"] == levels[f["key"]])
        out.update(lv.get("payload", {}))
    return out


def check_consistent(a):
    """The cell key, the levels and the payload of one assignment agree."""
    levels = a["factors"]
    assert list(levels) == [f["key"] for f in FACTORS], a
    assert a["variant"] == "-".join(levels[f["key"]] for f in FACTORS), a
    assert a["payload"] == merged_payload(levels), a


def chi_square_2x2(t):
    """Pearson's chi-square of a 2x2 table (no continuity correction)."""
    n = sum(map(sum, t))
    rows = [sum(r) for r in t]
    cols = [t[0][j] + t[1][j] for j in range(2)]
    return sum((t[i][j] - rows[i] * cols[j] / n) ** 2 / (rows[i] * cols[j] / n)
               for i in range(2) for j in range(2))


def test_factorial_experiment_end_to_end(upshot):
    # ---- definition through the admin API ----
    bad = dict(definition(), variants=[{"key": "a", "weight": 1}])
    r = upshot.admin("POST", "/v1/experiments", bad)
    assert r.status == 400 and "either variants or factors" in r.json()["message"], r
    r = upshot.admin("POST", "/v1/experiments", definition())
    assert r.status == 201, r
    r = upshot.admin("POST", f"/v1/experiments/{KEY}/start", {"reason": "factorial test"})
    assert r.status == 200 and r.json()["status"] == "running", r
    got = upshot.admin("GET", f"/v1/experiments/{KEY}").json()
    assert "variants" not in got and got["interactions"] is True
    assert [f["key"] for f in got["factors"]] == [f["key"] for f in FACTORS]
    assert got["factors"][0]["levels"][1]["weight"] == 0.5  # filled in: equal shares
    snapshot = upshot.public("GET", "/v1/sdk/config").json()
    mine = next(e for e in snapshot["experiments"] if e["key"] == KEY)
    assert mine["factors"] == got["factors"] and "variants" not in mine
    assert mine["control"] == "cart-plain-one-none"

    # ---- assignment: weights, independence, consistency, the spec ----
    rnd = random.Random(11)
    cell, region_of = {}, {}
    second = {f["key"]: 0 for f in FACTORS}
    table = [[0, 0], [0, 0]]  # placement level x wording level
    for i in range(N):
        v = f"fv-{i}"
        region = REGIONS[i % len(REGIONS)]
        r = upshot.assign(v, region=region, experiment=KEY)
        assert r.status == 200, r
        a = r.json()
        assert a["reason"] == "assigned" and a["exposure"] == "recorded", a
        check_consistent(a)
        if i % 8 == 0:  # the independent implementation agrees
            want, reason, _ = spec.assign(got, v, region)
            assert (a["variant"], a["reason"]) == (want, reason), (v, a, want)
        cell[v], region_of[v] = a["variant"], region
        for f in FACTORS:
            second[f["key"]] += a["factors"][f["key"]] == f["levels"][1]["key"]
        table[a["factors"]["placement"] == "checkout"][a["factors"]["wording"] == "benefit"] += 1
    for k, w in WEIGHTS.items():
        sd = (N * w * (1 - w)) ** 0.5
        assert abs(second[k] - N * w) < 4.5 * sd, (k, second[k], N * w)
    # df = 1: 10.83 is the 0.999 quantile. Independent factors pass; factors
    # drawn from one shared bucket would put everyone on the diagonal.
    chi2 = chi_square_2x2(table)
    assert chi2 < 10.83, (table, chi2)
    assert len(set(cell.values())) == 16, sorted(set(cell.values()))

    # The page endpoint answers the same, with factors too.
    page = upshot.public("GET", "/v1/assignments",
                         params={"visitor": "fv-7", "region": region_of["fv-7"], "page": "cart"})
    one = next(a for a in page.json()["assignments"] if a["experiment"] == KEY)
    assert one["variant"] == cell["fv-7"] and one["factors"]["placement"] == cell["fv-7"].split("-")[0]

    # ---- conversions and declines; the results count them per cell ----
    want = {}
    for v, c in cell.items():
        w = want.setdefault((c, region_of[v]), {"visitors": 0, "conversions": 0, "decliners": 0,
                                                "revenue_sum": 0.0})
        w["visitors"] += 1
    events = []
    for i, v in enumerate(sorted(cell)):
        w = want[(cell[v], region_of[v])]
        roll = rnd.random()
        if roll < 0.15:
            value = round(rnd.uniform(5, 80), 2)
            events.append({"id": f"c-{i}", "type": "conversion", "experiment": KEY, "visitor": v,
                           "value": value})
            w["conversions"] += 1
            w["revenue_sum"] += value
        elif roll < 0.35:
            events.append({"id": f"d-{i}", "type": "decline", "experiment": KEY, "visitor": v})
            w["decliners"] += 1
    for at in range(0, len(events), 50):
        body = upshot.events(events[at:at + 50]).json()
        assert body["accepted"] == len(events[at:at + 50]), body
    upshot.wait_applied()
    res = upshot.results(KEY)
    assert [x["key"] for x in res["variants"]][0] == "cart-plain-one-none"
    assert len(res["variants"]) == 16 and res["control"] == "cart-plain-one-none"
    totals = totals_by_variant(res)
    for c in totals:
        for field in ("visitors", "conversions", "decliners"):
            assert totals[c][field] == sum(w[field] for (cc, _), w in want.items() if cc == c), (c, field)
        assert abs(totals[c]["revenue_sum"] -
                   sum(w["revenue_sum"] for (cc, _), w in want.items() if cc == c)) < 1e-6
    for reg in res["regions"]:
        for counts in reg["variants"]:
            w = want.get((counts["variant"], reg["region"]),
                         {"visitors": 0, "conversions": 0, "decliners": 0})
            for field in ("visitors", "conversions", "decliners"):
                assert counts[field] == w[field], (reg["region"], counts["variant"], field)

    # ---- QA: force names a cell key; a level alone is not a cell ----
    r = upshot.assign("qa-1", experiment=KEY, force="checkout-benefit-three-timer").json()
    assert (r["reason"], r["exposure"]) == ("forced", "skipped"), r
    assert r["factors"] == {"placement": "checkout", "wording": "benefit", "tiers": "three",
                            "urgency": "timer"}
    check_consistent(r)
    r = upshot.assign("qa-1", experiment=KEY, force="checkout")
    assert r.status == 400 and r.json()["error"] == "unknown_variant", r

    # ---- promotion in one region, by cell key ----
    r = upshot.admin("POST", f"/v1/experiments/{KEY}/promotions",
                     {"region": "pl", "variant": "checkout-plain-three-none", "holdback": 0.1})
    assert r.status == 200, r
    r = upshot.admin("POST", f"/v1/experiments/{KEY}/promotions",
                     {"region": "pl", "variant": "three"})
    assert r.status == 400 and r.json()["error"] == "unknown_variant", r
    pl = [upshot.assign(f"pl-{i}", region="pl", experiment=KEY, expose=False).json()
          for i in range(300)]
    promoted = [a for a in pl if a["reason"] == "promoted"]
    assert 240 < len(promoted) < 300, len(promoted)  # 90% of 300: sd 5.2
    for a in promoted:
        assert a["variant"] == "checkout-plain-three-none", a
        assert a["factors"] == {"placement": "checkout", "wording": "plain", "tiers": "three",
                                "urgency": "none"}
        check_consistent(a)
    assert all(a["reason"] == "assigned" for a in pl if a not in promoted)
    gr = [upshot.assign(f"pl-{i}", region="gr", experiment=KEY, expose=False).json()
          for i in range(50)]
    assert all(a["reason"] == "assigned" for a in gr)

    # ---- a level weight change keeps exposed visitors in their cell ----
    got = upshot.admin("GET", f"/v1/experiments/{KEY}").json()
    for lv, w in zip(got["factors"][3]["levels"], (0.25, 0.75)):
        lv["weight"] = w
    r = upshot.admin("PUT", f"/v1/experiments/{KEY}", got)
    assert r.status == 200 and r.json()["allocation_version"] == 2, r
    moved = 0
    for v in [f"fv-{i}" for i in range(0, N, 5)]:
        if region_of[v] == "pl":
            continue  # promoted traffic is not sticky
        a = upshot.assign(v, region=region_of[v], experiment=KEY, expose=False).json()
        assert (a["variant"], a["reason"]) == (cell[v], "sticky"), (v, a)
        check_consistent(a)
        moved += a["variant"] != spec.assign(dict(got, promotions={}), v, region_of[v])[0]
    assert moved > 0, "the new weights must move someone for stickiness to mean anything"
    fresh = [upshot.assign(f"new-{i}", region="gr", experiment=KEY, expose=False).json()
             for i in range(400)]
    timer = sum(a["factors"]["urgency"] == "timer" for a in fresh)
    assert abs(timer - 300) < 4.5 * (400 * 0.75 * 0.25) ** 0.5, timer
    # The factors themselves are fixed once started.
    renamed = dict(got, factors=[dict(got["factors"][0], key="slot")] + got["factors"][1:])
    r = upshot.admin("PUT", f"/v1/experiments/{KEY}", renamed)
    assert r.status in (400, 409) and "factors" in r.json()["message"], r

    # ---- a restart reads the factorial definition back from its state ----
    upshot.stop()
    upshot.start()
    for v in [f"fv-{i}" for i in range(1, N, 97)]:
        if region_of[v] == "pl":
            continue
        a = upshot.assign(v, region=region_of[v], experiment=KEY, expose=False).json()
        assert (a["variant"], a["reason"]) == (cell[v], "sticky"), (v, a)
