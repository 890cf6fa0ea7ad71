"""Factorial decisions end to end: a 4 x 2 factorial experiment in two
regions, visitors assigned by a real upshotd, conversions chosen per cell
so the counts are known exactly. In gr placement=checkout converts only
together with wording=benefit (a strong interaction): the best cell is
promoted as a combination. In pl checkout converts better whatever the
other factors (a clean main effect, too weak for any single cell against
the control cell): placement=checkout is promoted as a factor level, on
the control cell. The results' factorial object is checked against a
logistic fit recomputed here from the same counts, and auto-promotion
lands both promotions."""
import math

from harness import Upshotd, wait_until

KEY = "offer-strategy"
FACTORS = [("placement", ["cart", "checkout"]), ("wording", ["plain", "benefit"]),
           ("tiers", ["one", "three"]), ("urgency", ["none", "timer"])]
PER_REGION = 6400  # about 400 visitors a cell


def definition(auto_promote):
    factors = [{"key": f, "levels": [{"key": lv, "payload": {f: lv}} for lv in levels]}
               for f, levels in FACTORS]
    return {"key": KEY, "status": "running", "placement": "offer_slot", "pages": ["cart"],
            "regions": ["gr", "pl"], "goal": "conversion", "factors": factors,
            "stats": {"min_sample": 100},
            "auto_promote": {"enabled": auto_promote, "holdback": 0.1}}


def rate(region, levels):
    """The true conversion rate of a cell (levels: dict factor -> level)."""
    if region == "gr":  # strong enough for one cell of ~400 against the control cell
        return 0.40 if levels["placement"] == "checkout" and levels["wording"] == "benefit" else 0.04
    return 0.07 if levels["placement"] == "checkout" else 0.04


def cell_levels(cell):
    return dict(zip([f for f, _ in FACTORS], cell.split("-")))


# ---- a small logistic regression, for the expected numbers --------------

def solve_inverse(a):
    n = len(a)
    m = [row[:] + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        piv = m[c][c]
        m[c] = [x / piv for x in m[c]]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [row[n:] for row in m]


def design_row(levels):
    """Intercept, main effects, two-way interactions in factor-pair order."""
    x = [1.0 if levels[f] == lv[1] else 0.0 for f, lv in FACTORS]
    row = [1.0] + x
    for a in range(len(x)):
        for b in range(a + 1, len(x)):
            row.append(x[a] * x[b])
    return row


def logit_fit(cells):
    """cells: [(levels, n, converted)] -> (coefficients, standard errors)."""
    rows = [(design_row(lv), n, y) for lv, n, y in cells]
    k = len(rows[0][0])
    b = [0.0] * k
    for _ in range(50):
        xtwx = [[0.0] * k for _ in range(k)]
        xtwz = [0.0] * k
        for x, n, y in rows:
            eta = sum(bi * xi for bi, xi in zip(b, x))
            mu = 1 / (1 + math.exp(-eta))
            w = n * mu * (1 - mu)
            z = eta + (y / n - mu) / (mu * (1 - mu))
            for i in range(k):
                xtwz[i] += x[i] * w * z
                for j in range(k):
                    xtwx[i][j] += x[i] * w * x[j]
        inv = solve_inverse(xtwx)
        nb = [sum(inv[i][j] * xtwz[j] for j in range(k)) for i in range(k)]
        done = max(abs(p - q) for p, q in zip(nb, b)) < 1e-12
        b = nb
        if done:
            break
    return b, [math.sqrt(inv[i][i]) for i in range(k)]


def term_names():
    names = ["(Intercept)"] + [f"{f}={lv[1]}" for f, lv in FACTORS]
    for a in range(len(FACTORS)):
        for b in range(a + 1, len(FACTORS)):
            names.append(f"{FACTORS[a][0]}={FACTORS[a][1][1]}:{FACTORS[b][0]}={FACTORS[b][1][1]}")
    return names


def test_factorial_results_and_decisions(redis):
    with Upshotd(redis, [definition(False)], auto_promote_interval_s=1) as up:
        # visitors: assigned by upshotd, tallied per region and cell
        seen = {"gr": {}, "pl": {}}
        for region in ("gr", "pl"):
            for i in range(PER_REGION):
                visitor = f"{region}-v{i}"
                r = up.assign(visitor, region=region, experiment=KEY)
                assert r.status == 200, r
                body = r.json()
                assert body["reason"] == "assigned", body
                cell = body["variant"]
                assert body["factors"] == cell_levels(cell), body
                seen[region].setdefault(cell, []).append(visitor)
        assert all(len(seen[r]) == 16 for r in seen), {r: len(seen[r]) for r in seen}

        # conversions: the first round(rate x n) visitors of each cell
        events, counts = [], {}
        for region, cells in seen.items():
            for cell, visitors in cells.items():
                x = round(rate(region, cell_levels(cell)) * len(visitors))
                counts[(region, cell)] = (len(visitors), x)
                for v in visitors[:x]:
                    events.append({"id": f"o-{v}", "type": "conversion", "experiment": KEY,
                                   "visitor": v, "value": 20})
        for k in range(0, len(events), 200):
            assert up.events(events[k:k + 200]).status == 202
        up.wait_applied()

        res = up.results(KEY)
        f = res["factorial"]
        assert [x["key"] for x in f["factors"]] == [k for k, _ in FACTORS]
        assert f["interactions"] is True
        assert len(f["cells"]) == 16
        assert f["cells"][0] == {"variant": "cart-plain-one-none",
                                 "levels": cell_levels("cart-plain-one-none")}
        assert [m["scope"] for m in f["models"]] == ["overall", "gr", "pl"]

        # the gr logit model, term by term, against the fit recomputed here
        gr = f["models"][1]["conversion"]
        assert gr["model"] == "logit" and gr["status"] == "ok", gr
        assert gr["n"] == sum(n for (r, _), (n, _) in counts.items() if r == "gr")
        b, se = logit_fit([(cell_levels(c), n, x) for (r, c), (n, x) in counts.items()
                           if r == "gr"])
        assert [t["term"] for t in gr["terms"]] == term_names()
        for t, bi, si in zip(gr["terms"], b, se):
            assert math.isclose(t["estimate"], bi, rel_tol=1e-6, abs_tol=1e-9), (t, bi)
            assert math.isclose(t["se"], si, rel_tol=1e-6), (t, si)
        inter = {tuple(x["factors"]): x for x in gr["interaction_tests"]}
        assert len(inter) == 6
        assert inter[("placement", "wording")]["p_value"] < 1e-6, inter
        assert inter[("placement", "wording")]["df"] == 1
        pl_tests = f["models"][2]["conversion"]["interaction_tests"]
        assert all(x["p_value"] > 0.05 for x in pl_tests
                   if "placement" in x["factors"]), pl_tests
        # the overall model has the region as a stratum
        overall_terms = [t["term"] for t in f["models"][0]["conversion"]["terms"]]
        assert overall_terms[-1] == "region=pl", overall_terms
        assert f["models"][0]["revenue"]["model"] == "ols_hc3"

        # the pl placement marginal: the cells pooled over the other factors
        marg = {(m["scope"], m["factor"]): m for m in f["marginals"]}
        m = marg[("pl", "placement")]
        n1 = sum(n for (r, c), (n, _) in counts.items() if r == "pl" and c.startswith("checkout"))
        x1 = sum(x for (r, c), (_, x) in counts.items() if r == "pl" and c.startswith("checkout"))
        n0 = sum(n for (r, c), (n, _) in counts.items() if r == "pl" and c.startswith("cart"))
        assert (m["level"], m["control_level"]) == ("checkout", "cart")
        assert m["visitors"] == n1 and m["control_visitors"] == n0
        assert math.isclose(m["rate"], x1 / n1, rel_tol=1e-12)
        assert m["p_adjusted"] < 0.05 and m["eligible"] and m["winner"], m
        assert not marg[("gr", "placement")]["eligible"], marg[("gr", "placement")]

        # power: the control cell's rate over both regions, 20% of it as the effect
        n0c = sum(counts[(r, "cart-plain-one-none")][0] for r in ("gr", "pl"))
        x0c = sum(counts[(r, "cart-plain-one-none")][1] for r in ("gr", "pl"))
        p0 = x0c / n0c
        assert math.isclose(f["power"]["interaction_effect"], 0.2 * p0, rel_tol=1e-9)
        z = 1.959963984540054 + 0.8416212335729143
        need = z * z * (3 * p0 * (1 - p0) + 1.2 * p0 * (1 - 1.2 * p0)) / (0.2 * p0) ** 2
        assert abs(f["power"]["per_cell_needed"] - math.ceil(need)) <= 1, (f["power"], need)

        # the decisions: a combination in gr, a factor level in pl
        dec = {d["region"]: d for d in res["decisions"]["regions"]}
        assert res["decisions"]["factor_level_family_size"] == 2 * 4
        # the two steps split alpha, so any false promotion stays within 0.05
        assert res["decisions"]["alpha"] == 0.025, res["decisions"]["alpha"]
        assert all(a["p_adjusted"] < 0.025 for a in dec["gr"]["arms"]
                   if a["verdict"] == "winner"), dec["gr"]["arms"]
        assert all(m["p_adjusted"] < 0.025 for m in f["marginals"] if m.get("winner")), \
            [m for m in f["marginals"] if m.get("winner")]
        assert dec["gr"]["recommendation"] == "promote", (dec["gr"]["why"], dec["gr"]["arms"])
        assert dec["gr"]["kind"] == "combination" and dec["gr"]["factor"] is None
        assert dec["gr"]["variant"].startswith("checkout-benefit-"), dec["gr"]
        assert dec["pl"]["recommendation"] == "promote", dec["pl"]
        assert (dec["pl"]["kind"], dec["pl"]["factor"], dec["pl"]["level"]) == \
            ("factor_level", "placement", "checkout"), dec["pl"]
        assert dec["pl"]["variant"] == "checkout-plain-one-none"
        # no single pl cell wins on its own
        assert all(a["verdict"] != "winner" for a in dec["pl"]["arms"]), dec["pl"]["arms"]

        # auto-promotion promotes the same cells, with the holdback
        exp = up.admin("GET", f"/v1/experiments/{KEY}").json()
        exp["auto_promote"] = {"enabled": True, "holdback": 0.1}
        for field in ("revision", "started_at", "allocation_version", "promotions"):
            exp.pop(field, None)
        r = up.admin("PUT", f"/v1/experiments/{KEY}", exp)
        assert r.status == 200, r
        promos = wait_until(lambda: (lambda p: p if p and len(p) == 2 else None)(
            up.admin("GET", f"/v1/experiments/{KEY}").json().get("promotions")),
            timeout=20, what="both promotions")
        assert promos["gr"]["variant"] == dec["gr"]["variant"]
        assert promos["pl"]["variant"] == "checkout-plain-one-none"
        assert promos["pl"]["holdback"] == 0.1
        log = up.admin("GET", f"/v1/experiments/{KEY}/log").json()["entries"]
        entries = {e["details"]["region"]: e["details"] for e in log if e["action"] == "decision"}
        assert entries["pl"]["kind"] == "factor_level", entries
        assert (entries["pl"]["factor"], entries["pl"]["level"]) == ("placement", "checkout")
        assert entries["gr"]["kind"] == "combination" and entries["gr"]["factor"] is None
        promote = [e for e in log if e["action"] == "promote" and e.get("region", e.get(
            "details", {}).get("region")) == "pl"]
        assert promote, log
        # pl visitors now get the promoted cell (apart from the holdback)
        got = [up.assign(f"new{i}", region="pl", experiment=KEY, expose=False).json()
               for i in range(100)]
        promoted = [g for g in got if g["reason"] == "promoted"]
        assert len(promoted) > 75, len(promoted)
        assert all(g["variant"] == "checkout-plain-one-none" for g in promoted)
