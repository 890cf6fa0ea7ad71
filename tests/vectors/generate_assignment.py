#!/usr/bin/env python3
"""Writes tests/vectors/assignment.json from an independent Python
implementation of docs/assignment.md (MurmurHash3 x86 32, buckets,
variant ranges, the decision order).

The C engine (tests/unit/test_assign.c) and the web SDK
(sdk/web/test/) both check themselves against this file, so three
implementations must agree. Run it again only when the spec changes:

    python3 tests/vectors/generate_assignment.py > tests/vectors/assignment.json
"""
import itertools
import json
import math


def murmur3_32(data: bytes, seed: int = 0) -> int:
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    n = len(data)
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[n - n % 4:]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def bucket(h: int) -> int:
    return (h * 10000) >> 32


def decision_bucket(salt: str, purpose: str, visitor: str) -> int:
    return bucket(murmur3_32(f"{salt}|{purpose}|{visitor}".encode("utf-8"), 0))


def to_buckets(fraction: float) -> int:
    return max(0, min(10000, math.floor(fraction * 10000 + 0.5)))


def coverage_buckets(traffic_percent: float) -> int:
    """floor(traffic_percent * 100 + 0.5), in that order (docs/assignment.md):
    dividing by 100 first rounds some halfway values (0.015) the other way."""
    return max(0, min(10000, math.floor(traffic_percent * 100 + 0.5)))


def range_index(weights, b):
    """Index of the item whose range holds bucket b: ranges from cumulative
    weights, floor(c * 10000 + 0.5), the last one up to 10000."""
    cum, starts = 0.0, []
    for w in weights:
        starts.append(to_buckets(cum))
        cum += w
    for i in range(len(weights)):
        end = starts[i + 1] if i + 1 < len(weights) else 10000
        if b < end:
            return i
    return len(weights) - 1


def level_weights(factor):
    levels = factor["levels"]
    if any("weight" in lv for lv in levels):
        return [lv["weight"] for lv in levels]
    return [1 / len(levels)] * len(levels)


def cells(exp):
    """Cell keys of a factorial experiment, first factor slowest."""
    return ["-".join(c) for c in itertools.product(
        *[[lv["key"] for lv in f["levels"]] for f in exp["factors"]])]


def factor_levels(exp, cell_key):
    """{factor key: level key} of a cell."""
    return dict(zip([f["key"] for f in exp["factors"]], cell_key.split("-")))


def assign_factorial(exp, visitor):
    """Step 7 of a factorial experiment: each factor's level from its own
    bucket; the cell key joins the level keys."""
    salt = exp.get("salt", exp["key"])
    levels = []
    for f in exp["factors"]:
        b = decision_bucket(salt, "factor:" + f["key"], visitor)
        levels.append(f["levels"][range_index(level_weights(f), b)]["key"])
    return "-".join(levels)


def assign(exp, visitor, region, force=None):
    """Returns (variant key, reason, in_experiment)."""
    if "factors" in exp:
        variants = [{"key": k} for k in cells(exp)]
        control = variants[0]["key"]
    else:
        variants = exp["variants"]
        control = exp.get("control", variants[0]["key"])
    salt = exp.get("salt", exp["key"])
    if exp.get("status", "draft") != "running":
        return control, "not_running", False
    qa = exp.get("qa", {})
    if force is not None and qa.get("query_override") and force in [v["key"] for v in variants]:
        return force, "forced", True
    if visitor in qa.get("visitors", {}):
        return qa["visitors"][visitor], "forced", True
    regions = exp.get("regions", "all")
    if regions != "all" and region not in regions:
        return control, "region", False
    layer = exp.get("layer")
    if layer:
        lo, hi = layer.get("range", [0, 10000])
        if not lo <= decision_bucket(layer["name"], "layer", visitor) < hi:
            return control, "layer", False
    promo = exp.get("promotions", {}).get(region)
    if promo and decision_bucket(salt, "holdback", visitor) >= to_buckets(promo["holdback"]):
        return promo["variant"], "promoted", True
    if decision_bucket(salt, "coverage", visitor) >= coverage_buckets(exp.get("traffic_percent", 100)):
        return control, "coverage", False
    if "factors" in exp:
        return assign_factorial(exp, visitor), "assigned", True
    b = decision_bucket(salt, "variant", visitor)
    cum, starts = 0.0, []
    for v in variants:
        starts.append(to_buckets(cum))
        cum += v["weight"]
    chosen = variants[-1]["key"]
    for i, v in enumerate(variants):
        end = starts[i + 1] if i + 1 < len(variants) else 10000
        if b < end:
            chosen = v["key"]
            break
    return chosen, "assigned", True


# ---- Bandit layouts (engine/core/bandit_layout.h, docs/assignment.md
# "Bandit stickiness"), written again from the description.

def layout_targets(weights):
    """Buckets each arm should own: the fixed ranges' sizes."""
    counts, cum, start = [], 0.0, 0
    for i, w in enumerate(weights):
        cum += w
        end = 10000 if i == len(weights) - 1 else max(start, to_buckets(cum))
        counts.append(end - start)
        start = end
    return counts


def layout_init(weights):
    owner = []
    for i, c in enumerate(layout_targets(weights)):
        owner += [i] * c
    return {"owner": owner, "moved": [False] * 10000}


def layout_apply(layout, weights):
    """Arms above their new count give up buckets, the moved ones first and
    then the others, highest first in each group; the freed buckets, lowest
    first, go to the arms below theirs, in arm order."""
    k = len(weights)
    owner, moved = layout["owner"], layout["moved"]
    have = [owner.count(i) for i in range(k)]
    want = layout_targets(weights)
    surplus = [max(0, have[i] - want[i]) for i in range(k)]
    freed = []
    for group in (True, False):
        for b in range(9999, -1, -1):
            o = owner[b]
            if moved[b] == group and b not in freed and surplus[o]:
                surplus[o] -= 1
                have[o] -= 1
                freed.append(b)
    takers = [i for i in range(k) for _ in range(max(0, want[i] - have[i]))]
    assert len(takers) == len(freed)
    for b, arm in zip(sorted(freed), takers):
        owner[b] = arm
        moved[b] = True


def runs(values):
    out = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def layout_text(layout):
    owners = ",".join(f"{arm}*{n}" for arm, n in runs(layout["owner"]))
    moved_runs = runs(layout["moved"])
    lengths = [n for _, n in moved_runs]
    if moved_runs[0][0]:  # runs start with an unmoved one, possibly empty
        lengths = [0] + lengths
    return owners + "/" + ",".join(str(n) for n in lengths)


def bandit_experiments():
    """(experiment, {region: weight history after the start}) pairs."""
    base = {"status": "running", "placement": "checkout_popup",
            "started_at": "2026-11-18T00:00:00Z"}
    alloc = {"mode": "bandit", "every": "1d", "control_share": 0.25}
    return [
        (dict(base, key="wordings", regions=["gr", "pl", "mena"], allocation=alloc,
              variants=[{"key": "control", "weight": 0.25}, {"key": "short", "weight": 0.25},
                        {"key": "benefits", "weight": 0.25}, {"key": "social", "weight": 0.25}]),
         {"gr": [[0.25, 0.6, 0.1, 0.05], [0.25, 0.7, 0.03, 0.02]],
          "pl": [[0.25, 0.05, 0.1, 0.6]]}),
        (dict(base, key="thirds", salt="thirds-2026", traffic_percent=60,
              allocation=dict(alloc, control_share=1 / 3),
              promotions={"se": {"variant": "b", "holdback": 0.2}},
              variants=[{"key": "a", "weight": 1 / 3}, {"key": "b", "weight": 1 / 3},
                        {"key": "c", "weight": 1 / 3}]),
         {"se": [[1 / 3, 0.01, 1 - 1 / 3 - 0.01]],
          "gr": [[1 / 3, 0.5, 1 / 6], [1 / 3, 0.2, 0.8 - 1 / 3], [1 / 3, 0.45, 1 - 1 / 3 - 0.45]]}),
    ]


def bandit_cases():
    cases = []
    visitors = [f"v{i}" for i in range(80)] + ["Ωmega-ü"]
    for exp, histories in bandit_experiments():
        start = [v["weight"] for v in exp["variants"]]
        state, layouts = {}, {}
        for region, history in histories.items():
            layout = layout_init(start)
            for w in history:
                layout_apply(layout, w)
            layouts[region] = layout
            state[region] = {"period": len(history), "weights": history[-1],
                             "layout": layout_text(layout), "since": "2026-11-20T00:00:00Z",
                             "waiting": False,
                             "history": [{"period": p, "since": "2026-11-19T00:00:00Z",
                                          "weights": w} for p, w in
                                         enumerate([start] + history[:-1])]}
        # A waiting region: present, period 0, no layout.
        state["ee"] = {"period": 0, "weights": start, "waiting": True, "fewest_visitors": 3}
        exp = dict(exp, bandit_state={"regions": state, "next_update": "2026-11-21T00:00:00Z"})
        for i, v in enumerate(visitors):
            region = ["gr", "pl", "mena", "ee", "se", "de"][i % 6]
            variant, reason, inside = assign(exp, v, region)
            lookup = False
            if reason == "assigned":
                b = decision_bucket(exp.get("salt", exp["key"]), "variant", v)
                if region in layouts:
                    variant = exp["variants"][layouts[region]["owner"][b]]["key"]
                # moved in any region: the visitor may have been first
                # exposed elsewhere under another owner
                lookup = any(lay["moved"][b] for lay in layouts.values())
            cases.append({"experiment": exp, "visitor": v, "region": region,
                          "history": {r: h for r, h in histories.items()},
                          "variant": variant, "reason": reason, "in_experiment": inside,
                          "lookup": lookup})
    return cases


def experiments():
    base = {"status": "running", "placement": "checkout_popup"}
    return [
        dict(base, key="checkout-tiers", variants=[
            {"key": "control", "weight": 0.5}, {"key": "three-tiers", "weight": 0.5}]),
        dict(base, key="wording", salt="wording-2026", regions=["gr", "pl", "mena"],
             variants=[{"key": "control", "weight": 0.2}, {"key": "benefits", "weight": 0.3},
                       {"key": "social-proof", "weight": 0.5}]),
        dict(base, key="urgency", traffic_percent=30, control="none",
             variants=[{"key": "none", "weight": 1 / 3}, {"key": "countdown", "weight": 1 / 3},
                       {"key": "few-left", "weight": 1 / 3}]),
        dict(base, key="placement-a", layer={"name": "cart-slot", "range": [0, 5000]},
             variants=[{"key": "control", "weight": 0.5}, {"key": "cart", "weight": 0.5}]),
        dict(base, key="promoted", promotions={"se": {"variant": "b", "holdback": 0.1}},
             variants=[{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]),
        dict(base, key="qa", qa={"visitors": {"qa-anna": "b"}, "query_override": True},
             variants=[{"key": "a", "weight": 0.9}, {"key": "b", "weight": 0.1}]),
        dict(base, key="zero-weight", variants=[
            {"key": "a", "weight": 0.0}, {"key": "b", "weight": 0.25}, {"key": "c", "weight": 0.75}]),
        dict(key="draft", placement="cart_page", variants=[
            {"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]),
        # factorial: four 2-level factors, equal weights, a promoted cell
        # and QA by cell key
        dict(base, key="offer-strategy", regions=["gr", "pl", "mena", "ee", "se"],
             promotions={"se": {"variant": "checkout-benefit-three-timer", "holdback": 0.2}},
             qa={"visitors": {"qa-anna": "checkout-plain-one-timer"}, "query_override": True},
             factors=[
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
                     {"key": "none", "payload": {}},
                     {"key": "timer", "payload": {"timer_s": 600}}]}]),
        # factorial: uneven and zero level weights, partial coverage, its own salt
        dict(base, key="fact-uneven", salt="fact-uneven-2026", traffic_percent=70,
             factors=[
                 {"key": "tiers", "levels": [
                     {"key": "one", "weight": 0.2}, {"key": "two", "weight": 0.3},
                     {"key": "three", "weight": 0.5}]},
                 {"key": "badge", "levels": [
                     {"key": "off", "weight": 0.0}, {"key": "new", "weight": 0.25},
                     {"key": "sale", "weight": 0.75}]},
                 {"key": "colour", "levels": [
                     {"key": "grey"}, {"key": "green"}, {"key": "blue"}]}]),
    ]


def main():
    strings = ["", "a", "ab", "abc", "abcd", "hello", "visitor-42", "ΚΑΛΗΜΕΡΑ",
               "مرحبا", "Łódź", "checkout-tiers|variant|v-1"]
    out = {
        "spec": "docs/assignment.md",
        "generated_by": "tests/vectors/generate_assignment.py",
        "murmur3": [{"input": s, "seed": seed, "hash": murmur3_32(s.encode("utf-8"), seed)}
                    for s in strings for seed in (0, 1, 0x9747B28C)],
        "bucket": [],
        "assign": [],
    }
    # Public vector: Optimizely murmur3-32, seed 1, key "ppid1" + "1886780721" -> 5254.
    out["optimizely_public"] = {"input": "ppid11886780721", "seed": 1,
                                "bucket": bucket(murmur3_32(b"ppid11886780721", 1))}
    assert out["optimizely_public"]["bucket"] == 5254
    for i in range(40):
        v = f"visitor-{i * 7919}"
        for purpose in ("variant", "coverage", "holdback", "layer"):
            out["bucket"].append({"salt": "exp-salt", "purpose": purpose, "visitor": v,
                                  "bucket": decision_bucket("exp-salt", purpose, v)})
    out["coverage_threshold"] = [
        {"traffic_percent": t, "buckets": coverage_buckets(t)}
        for t in (0, 0.005, 0.015, 0.175, 0.575, 1, 12.345, 33.335, 50, 98.085, 99.995, 100)]
    visitors = [f"v{i}" for i in range(60)] + ["qa-anna", "Ωmega-ü", "a" * 128]
    for exp in experiments():
        for i, v in enumerate(visitors):
            region = ["gr", "pl", "mena", "ee", "se", "de"][i % 6]
            force = None
            if exp["key"] == "qa" and i % 10 == 3:
                force = "b"
            if exp["key"] == "offer-strategy" and i % 10 == 3:
                force = "cart-benefit-three-none"
            variant, reason, inside = assign(exp, v, region, force)
            case = {"experiment": exp, "visitor": v, "region": region, "variant": variant,
                    "reason": reason, "in_experiment": inside}
            if "factors" in exp:
                case["factors"] = factor_levels(exp, variant)
            if force:
                case["force"] = force
            out["assign"].append(case)
    out["bandit"] = bandit_cases()
    json.dump(out, fp=__import__("sys").stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
