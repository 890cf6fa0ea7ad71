"""A bandit experiment's periods end to end, through a real upshotd and a
real Redis: exposures carry the region's period when they are accepted,
each visitor's conversions, orders and revenue count in the period of
their first exposure (however late they arrive), and the results body's
`bandit` object reports exactly those per-period counts, the weighted and
naive estimates computed here from the visitors the test sent, and the SRM
expectations from the weights in force in each period."""
import math
import statistics

from harness import experiment
from upshot_testlib import keys

VARIANTS = ["control", "b", "c"]
START = [0.4, 0.3, 0.3]
RATES = [0.05, 0.45, 0.10]  # b is clearly best: each update moves weight to it


def bandit_experiment(key):
    return experiment(key, salt="periods", regions=["gr"],
                      variants=[{"key": k, "weight": w} for k, w in zip(VARIANTS, START)],
                      allocation={"mode": "bandit", "metric": "conversion", "every": "1d",
                                  "control_share": 0.2, "floor": 0.05,
                                  "min_visitors_per_arm": 20, "beta": 0.5, "seed": 777})


def converts(i, arm, period):
    # deterministic, and lower in later periods: rates drift while weights move
    return (i * 37 + 11) % 100 < RATES[arm] * 100 * (1.0 - 0.3 * period)


def update(up, key):
    # the update reads Redis: every event acknowledged so far must be there
    up.wait_applied()
    r = up.admin("POST", f"/v1/experiments/{key}/bandit/update")
    assert r.status == 200, r
    return r.json()["regions"]["gr"]


def test_counts_estimates_and_srm_follow_the_period_of_first_exposure(upshot):
    up = upshot
    key = "periods"
    assert up.admin("POST", "/v1/experiments", bandit_experiment(key)).status == 201
    visitors = {}   # visitor -> [period, arm, orders, revenue]
    weights = {0: START}
    period = 0
    serial = [0]

    def order(v, value):
        serial[0] += 1
        return {"id": f"o{serial[0]}", "type": "conversion", "experiment": key, "visitor": v,
                "value": value}

    def send(events):
        for at in range(0, len(events), 100):
            body = up.events(events[at:at + 100]).json()
            assert body["accepted"] == len(events[at:at + 100]), body

    def wave(n, label):
        events = []
        for i in range(n):
            v = f"{label}-{i}"
            r = up.assign(v, region="gr", experiment=key)
            assert r.status == 200 and r.json()["exposure"] == "recorded", r
            arm = VARIANTS.index(r.json()["variant"])
            visitors[v] = [period, arm, 0, 0.0]
            if converts(i, arm, period):
                value = 10 + (i % 7) * 2.5
                events.append(order(v, value))
                visitors[v][2] += 1
                visitors[v][3] += value
        send(events)

    wave(240, "p0")
    up.wait_applied()
    for beta in (0.5, 0.8):
        # With beta 0.5 top-two sampling splits the treatments' share
        # between the two best; the second update runs with beta 0.8 (a
        # steering setting a started bandit may change), which gives the
        # leader most of it: the weights move again, a second period.
        changed = bandit_experiment(key)
        changed["allocation"]["beta"] = beta
        assert up.admin("PUT", f"/v1/experiments/{key}", changed).status == 200
        st = update(up, key)
        assert st["period"] == period + 1, st  # b's lead is clear: the weights move
        period = st["period"]
        weights[period] = st["weights"]
        # Late events of earlier visitors: a second order of a period-0
        # converter and a first order of a period-0 non-converter count in
        # period 0, whatever period is in force now; a re-exposure counts
        # nowhere.
        late = []
        for v, (p, arm, orders, rev) in list(visitors.items())[:40]:
            if p != 0:
                continue
            late.append(order(v, 4.0))
            visitors[v][2] += 1
            visitors[v][3] += 4.0
            r = up.assign(v, region="gr", experiment=key)
            assert VARIANTS.index(r.json()["variant"]) == arm, "a visitor keeps their variant"
        send(late)
        wave(200, f"p{period}")
        up.wait_applied()
    assert period == 2

    body = up.results(key)
    b = body["bandit"]
    assert b["metric"] == "conversion" and b["control_share"] == 0.2 and b["seed"] == 777
    (gr,) = [r for r in b["regions"] if r["region"] == "gr"]
    assert gr["period"] == 2 and [w["weight"] for w in gr["weights"]] == weights[2]
    assert [h["weights"] for h in gr["history"]][-2:] == [weights[0], weights[1]]

    # The exact counts of every period and variant.
    want = {}
    for p, arm, orders, rev in visitors.values():
        c = want.setdefault((p, arm), [0, 0, 0, 0.0])
        c[0] += 1
        c[1] += orders > 0
        c[2] += orders
        c[3] += rev
    got = {}
    for per in gr["periods"]:
        for c in per["variants"]:
            got[(per["period"], VARIANTS.index(c["variant"]))] = \
                [c["visitors"], c["conversions"], c["orders"], c["revenue_sum"]]
    assert {k: v for k, v in got.items() if v[0]} == want, (got, want)
    assert [p["period"] for p in gr["periods"]] == [0, 1, 2]

    # Weighted and naive conversion rates, and the differences, from the
    # visitors (docs/stats.md, "Bandit periods").
    periods = [0, 1, 2]
    rows = {(p, a): [1 if o else 0 for (pp, aa, o, _) in visitors.values() if (pp, aa) == (p, a)]
            for p in periods for a in range(3)}
    total = len(visitors)
    est = {e["variant"]: e for e in gr["estimates"]}
    m, var = [], []
    for a in range(3):
        wm = sum(len([1 for (pp, *_) in visitors.values() if pp == p]) / total *
                 statistics.fmean(rows[p, a]) for p in periods)
        wv = sum((len([1 for (pp, *_) in visitors.values() if pp == p]) / total) ** 2 *
                 statistics.fmean(rows[p, a]) * (1 - statistics.fmean(rows[p, a])) / len(rows[p, a])
                 for p in periods)
        pooled = [1 if o else 0 for (pp, aa, o, _) in visitors.values() if aa == a]
        e = est[VARIANTS[a]]
        assert math.isclose(e["weighted"]["rate"], wm, rel_tol=1e-9), (a, e, wm)
        assert math.isclose(e["weighted"]["se"], math.sqrt(wv), rel_tol=1e-9)
        assert math.isclose(e["naive"]["rate"], statistics.fmean(pooled), rel_tol=1e-9)
        m.append(wm)
        var.append(wv)
    for a in (1, 2):
        d = est[VARIANTS[a]]["diff_weighted"]
        assert math.isclose(d["estimate"], m[a] - m[0], rel_tol=1e-9)
        se = math.sqrt(var[a] + var[0])
        z = statistics.NormalDist().inv_cdf(0.975)
        assert math.isclose(d["ci"][0], m[a] - m[0] - z * se, rel_tol=1e-9)
        assert math.isclose(d["p_value"], math.erfc(abs(m[a] - m[0]) / se / math.sqrt(2)), rel_tol=1e-9)
    assert est["control"]["diff_weighted"] is None

    # SRM: expected visitors from each period's visitors and the weights
    # then in force; no alarm, since upshotd assigned by those weights.
    n_p = {p: sum(1 for (pp, *_) in visitors.values() if pp == p) for p in periods}
    expected = [sum(n_p[p] * weights[p][a] for p in periods) for a in range(3)]
    for got_e, want_e in zip(gr["srm"]["expected"], expected):
        assert math.isclose(got_e, want_e, rel_tol=1e-9)
    assert gr["srm"]["p_always_valid"] > 0.001

    # The decision runs on the weighted comparison, with the bandit's SRM.
    (dec,) = [d for d in body["decisions"]["regions"] if d["region"] == "gr"]
    assert dec["recommendation"] != "check_srm", dec
