"""The `upshot` dashboard tells the truth about what upshotd counted, and
its exit codes say what went wrong. Run against a real upshotd and a real
Redis.

Known traffic is sent through the public API (assignments with exposure,
then conversions and declines as events); then the CLI is run as a
subprocess, as the growth team runs it, and what it prints is compared
with what was sent:

  - the dashboard's counts (show --json, show, ls --json, export --csv)
    equal the traffic sent, per region and variant;
  - --json output is checked field by field;
  - promote changes what visitors of that region get, and only there;
    unpromote undoes it; the audit log names who and why;
  - errors: bad token (exit 4), unknown experiment (5), unreachable
    server (3), refused change (6), promotion not advised (7), a bad
    input file (8, never the unreachable server's 3).
"""
import collections
import csv
import io
import json
import os
import subprocess

import pytest

from harness import ADMIN_TOKEN, UPSHOT_CLI, RedisServer, Upshotd, free_port

EXP = "offer-tiers"
VARIANTS = ["control", "three-tiers", "urgency"]

# Traffic sent per region. The true conversion rates make three-tiers a
# clear winner in gr and nothing differ in pl; declines are the same share
# everywhere, so the guardrail holds.
VISITORS_PER_REGION = 450
RATES = {"gr": {"control": 0.05, "three-tiers": 0.40, "urgency": 0.05},
         "pl": {"control": 0.10, "three-tiers": 0.10, "urgency": 0.10}}


def exp_def(key=EXP, status="running"):
    return {
        "key": key, "name": "Offer tiers at checkout", "status": status,
        "placement": "checkout_popup", "regions": ["gr", "pl", "se"], "control": "control",
        "variants": [{"key": "control", "weight": 0.34, "payload": {"tiers": 1}},
                     {"key": "three-tiers", "weight": 0.33, "payload": {"tiers": 3}},
                     {"key": "urgency", "weight": 0.33, "payload": {"countdown": True}}],
        "goal": "conversion", "guardrails": ["decline_rate"],
        # tau2: the prior spread of effects, wide because this test's effects
        # are large and its samples small; min_sample small for the same reason
        "stats": {"min_sample": 100, "tau2": 0.01},
    }


def cli(up, *args, token=ADMIN_TOKEN, url=None, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
    env.update({"UPSHOT_URL": url or up.url, "UPSHOT_TOKEN": token,
                "UPSHOT_CONFIG": os.devnull, "NO_COLOR": "1", "COLUMNS": "100"})
    env.update(env_extra or {})
    p = subprocess.run([UPSHOT_CLI, *args], capture_output=True, text=True, env=env, timeout=60)
    return p


def cli_json(up, *args):
    p = cli(up, *args, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


class Sent:
    """What the test sent and upshotd acknowledged, per region x variant."""

    def __init__(self):
        self.c = collections.defaultdict(lambda: {"visitors": 0, "conversions": 0, "orders": 0,
                                                  "revenue_sum": 0.0, "revenue_sumsq": 0.0,
                                                  "decliners": 0})

    def total(self, variant):
        out = {"visitors": 0, "conversions": 0, "orders": 0, "revenue_sum": 0.0,
               "revenue_sumsq": 0.0, "decliners": 0}
        for (region, v), c in self.c.items():
            if v == variant:
                for k in out:
                    out[k] += c[k]
        return out


def feed(up, sent, region, n, prefix):
    """Exposes n visitors of region; converts a deterministic share of each
    variant at RATES; every 10th visitor of each variant declines."""
    seen = collections.Counter()
    events = []
    for i in range(n):
        visitor = f"{prefix}-{region}-{i}"
        r = up.assign(visitor, region=region, experiment=EXP)
        assert r.status == 200, r
        body = r.json()
        assert body["exposure"] == "recorded" and body["reason"] == "assigned", body
        v = body["variant"]
        k = seen[v]
        seen[v] += 1
        c = sent.c[(region, v)]
        c["visitors"] += 1
        # convert the first rate*100 of every 100 visitors of the variant
        if (k % 100) < round(RATES[region][v] * 100):
            value = 20.0 + (k % 7) * 5.0
            events.append({"id": f"o-{visitor}", "type": "conversion", "experiment": EXP,
                           "visitor": visitor, "value": value})
            c["conversions"] += 1
            c["orders"] += 1
            c["revenue_sum"] += value
            c["revenue_sumsq"] += value * value
        if k % 10 == 9:
            events.append({"id": f"d-{visitor}", "type": "decline", "experiment": EXP,
                           "visitor": visitor})
            c["decliners"] += 1
    for i in range(0, len(events), 500):
        r = up.events(events[i:i + 500])
        assert r.status == 202, r
        assert r.json()["accepted"] == len(events[i:i + 500]), r


@pytest.fixture(scope="module")
def world():
    """One upshotd + Redis fed known traffic, shared by the read tests."""
    with RedisServer() as redis, Upshotd(redis, experiments=[exp_def()]) as up:
        sent = Sent()
        for region in ("gr", "pl"):
            feed(up, sent, region, VISITORS_PER_REGION, "v")
        up.wait_applied()
        yield up, sent


def by_key(items, field):
    return {x[field]: x for x in items}


# ---- counts --------------------------------------------------------------


def test_show_json_counts_equal_what_was_sent(world):
    up, sent = world
    view = cli_json(up, "show", EXP)
    assert view["experiment"] == EXP
    assert view["name"] == "Offer tiers at checkout"
    assert view["status"] == "running"
    assert view["control"] == "control"
    assert view["goal"] == "conversion" and view["metric"] == "conversion"
    assert view["alpha"] == pytest.approx(0.05)
    assert view["correction"] == "holm"
    assert view["min_sample"] == 100
    assert view["guardrails"] == ["decline_rate"]
    regions = by_key(view["regions"], "region")
    assert set(regions) == {"gr", "pl"}
    # the family: 2 regions with traffic x 2 non-control variants
    assert view["family_size"] == 4
    for region in ("gr", "pl"):
        arms = by_key(regions[region]["variants"], "variant")
        assert list(arms) == VARIANTS
        for v in VARIANTS:
            want, got = sent.c[(region, v)], arms[v]
            assert got["visitors"] == want["visitors"], (region, v)
            assert got["conversions"] == want["conversions"], (region, v)
            assert got["orders"] == want["orders"], (region, v)
            assert got["decliners"] == want["decliners"], (region, v)
            assert got["revenue_sum"] == pytest.approx(want["revenue_sum"]), (region, v)
            assert got["conversion_rate"] == pytest.approx(want["conversions"] / want["visitors"])
            assert got["decline_rate"] == pytest.approx(want["decliners"] / want["visitors"])
            assert got["revenue_per_visitor"] == pytest.approx(
                want["revenue_sum"] / want["visitors"])
            assert got["aov"] == pytest.approx(want["revenue_sum"] / want["conversions"])
            assert got["control"] == (v == "control")
            lo, hi = got["conversion_rate_ci"]
            assert lo <= got["conversion_rate"] <= hi
    total = by_key(view["total"]["variants"], "variant")
    for v in VARIANTS:
        want = sent.total(v)
        for k in ("visitors", "conversions", "orders", "decliners"):
            assert total[v][k] == want[k], (v, k)
        assert total[v]["revenue_sum"] == pytest.approx(want["revenue_sum"])
    # one day of data -> one look, one chart point per variant
    assert len(view["days"]) == 1
    assert [s["variant"] for s in view["chart"]["series"]] == ["three-tiers", "urgency"]
    assert view["integrity"] == {"duplicates": 0, "unexposed_conversions": 0}


def test_show_json_decisions(world):
    up, sent = world
    view = cli_json(up, "show", EXP)
    regions = by_key(view["regions"], "region")
    gr, pl = regions["gr"], regions["pl"]
    assert gr["recommendation"] == "promote"
    assert gr["promote_variant"] == "three-tiers"
    assert gr["srm_failed"] is False and gr["min_sample_met"] is True
    assert gr["min_visitors"] == min(sent.c[("gr", v)]["visitors"] for v in VARIANTS)
    arms = by_key(gr["variants"], "variant")
    assert arms["control"]["verdict"] == "control"
    assert arms["three-tiers"]["goal_verdict"] == "winner"
    assert arms["three-tiers"]["lift"] > 1.0
    assert arms["three-tiers"]["p_adjusted"] < 0.05
    assert arms["three-tiers"]["p_adjusted"] >= arms["three-tiers"]["p_always_valid"]
    assert arms["three-tiers"]["guardrail_failed"] is False
    assert 0 <= arms["three-tiers"]["chance_to_beat"] <= 1
    assert arms["urgency"]["goal_verdict"] in ("inconclusive", "worse")
    assert pl["recommendation"] in ("keep_running", "stop")
    assert pl["promote_variant"] is None
    for a in pl["variants"]:
        if not a["control"]:
            assert a["goal_verdict"] == "inconclusive"
    assert gr["promotion"] is None and pl["promotion"] is None
    # the dashboard and upshotd's own evaluation (the same decide_run) agree
    for g in (gr, pl):
        assert g["server_recommendation"] == g["recommendation"], g["region"]


def test_show_text_matches_and_fits_100_columns(world):
    up, sent = world
    p = cli(up, "show", EXP)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "\033" not in out, "no colour when not a terminal / NO_COLOR"
    for line in out.splitlines():
        assert len(line) <= 100, line
    for region in ("gr", "pl"):
        p = cli(up, "show", EXP, "--region", region)
        assert p.returncode == 0, p.stderr
        for v in VARIANTS:
            n = sent.c[(region, v)]["visitors"]
            row = [l for l in p.stdout.splitlines() if l.strip().startswith(v + " ")][0]
            assert f"{n:,}" in row, (row, n)
    assert "promote three-tiers" in cli(up, "show", EXP).stdout


def test_ls_and_export_counts(world, tmp_path):
    up, sent = world
    doc = cli_json(up, "ls")
    rows = by_key(doc["experiments"], "key")
    row = rows[EXP]
    assert row["status"] == "running"
    assert row["traffic_percent"] == 100
    assert row["visitors"] == sum(c["visitors"] for c in sent.c.values())
    assert row["leading"] == "three-tiers"
    assert row["regions"] == 2
    assert row["recommendations"]["gr"] == "promote"
    assert row["promotions"] == []
    text = cli(up, "ls")
    assert text.returncode == 0 and EXP in text.stdout

    p = cli(up, "export", EXP, "--csv")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == ("day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,"
                        "declines,orders,weight,revenue_sum_capped,revenue_sumsq_capped,cap,"
                        "cart_visitors,cart_sum,cart_sumsq,cart_revenue_sum,"
                        "cart_revenue_sum_capped")
    got = collections.defaultdict(lambda: collections.Counter())
    for r in csv.DictReader(io.StringIO(p.stdout)):
        assert len(r["day"]) == 10 and r["day"][4] == "-"
        g = got[(r["region"], r["variant"])]
        g["visitors"] += int(r["visitors"])
        g["conversions"] += int(r["conversions"])
        g["declines"] += int(r["declines"])
        g["orders"] += int(r["orders"])
        g["revenue_sum"] += float(r["revenue_sum"])
        g["revenue_sumsq"] += float(r["revenue_sumsq"])
    for key, want in sent.c.items():
        assert got[key]["visitors"] == want["visitors"], key
        assert got[key]["conversions"] == want["conversions"], key
        assert got[key]["declines"] == want["decliners"], key
        assert got[key]["orders"] == want["orders"], key
        assert got[key]["revenue_sum"] == pytest.approx(want["revenue_sum"]), key
        assert got[key]["revenue_sumsq"] == pytest.approx(want["revenue_sumsq"]), key

    # the export is what `upshot analyze` reads
    f = tmp_path / "export.csv"
    p = cli(up, "export", EXP, "--csv", "-o", str(f))
    assert p.returncode == 0, p.stderr
    p = cli(up, "analyze", str(f))
    assert p.returncode == 0, p.stderr
    for v in VARIANTS:
        row = [l for l in p.stdout.splitlines() if l.startswith(v + " ")][0]
        assert str(sent.total(v)["visitors"]) in row.split(), (row, sent.total(v))


# ---- export | analyze ------------------------------------------------------


def test_export_piped_into_analyze_reproduces_the_results_statistics():
    """`upshot export EXP | upshot analyze - --json` prints the statistics of
    the results endpoint, every field equal, for all regions and for each
    region: the export carries orders and the configured weights, writes
    the control first, and analyze sums in upshotd's order and uses its
    settings. Converters here place several orders each, so orders and
    converters differ; order values are multiples of 0.25, whose sums the
    endpoint's 15-digit numbers carry exactly."""
    key = "basket-orders"
    exp = {
        "key": key, "status": "running", "placement": "checkout_popup",
        "regions": ["gr", "pl"], "control": "control",
        # the control is not listed first and the weights are unequal, so
        # the variant order and the SRM check's weights both matter
        "variants": [{"key": "bundle", "weight": 0.3, "payload": {"bundle": True}},
                     {"key": "control", "weight": 0.45, "payload": {}},
                     {"key": "countdown", "weight": 0.25, "payload": {"countdown": True}}],
        "goal": "revenue",
    }
    with RedisServer() as redis, Upshotd(redis, experiments=[exp]) as up:
        events, orders_sent, converters = [], 0, set()
        for i in range(1500):
            region = ("gr", "pl")[i % 2]
            visitor = f"b-{i}"
            r = up.assign(visitor, region=region, experiment=key)
            assert r.status == 200 and r.json()["exposure"] == "recorded", r
            variant = r.json()["variant"]
            rate = {"bundle": 0.30, "control": 0.20, "countdown": 0.22}[variant]
            if (i * 7919 % 1000) / 1000 < rate:
                for n in range(1 + i % 3):  # 1 to 3 orders per converter
                    events.append({"id": f"o-{i}-{n}", "type": "conversion", "experiment": key,
                                   "visitor": visitor, "value": 12.25 + (i * 3 + n) % 17 * 3.5})
                    orders_sent += 1
                converters.add(visitor)
            if i % 13 == 0:
                events.append({"id": f"d-{i}", "type": "decline", "experiment": key,
                               "visitor": visitor})
        for k in range(0, len(events), 500):
            assert up.events(events[k:k + 500]).status == 202
        up.wait_applied()
        results = up.results(key)
        total = by_key(results["total"]["variants"], "variant")
        assert sum(v["orders"] for v in total.values()) == orders_sent
        assert sum(v["conversions"] for v in total.values()) == len(converters)
        assert orders_sent > len(converters) + 100

        export = cli(up, "export", key, "--csv")
        assert export.returncode == 0, export.stderr
        rows = list(csv.DictReader(io.StringIO(export.stdout)))
        assert rows[0]["variant"] == "control"
        assert sum(int(r["orders"]) for r in rows) == orders_sent
        assert {r["variant"]: float(r["weight"]) for r in rows} == \
            {"bundle": 0.3, "control": 0.45, "countdown": 0.25}

        env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
        slices = [("all regions", [], results["total"]["analysis"])]
        slices += [(reg["region"], ["--region", reg["region"]], reg["analysis"])
                   for reg in results["regions"]]
        assert len(slices) == 3
        for name, extra, want in slices:
            p = subprocess.run([UPSHOT_CLI, "analyze", "-", "--json", *extra],
                               input=export.stdout, capture_output=True, text=True, env=env,
                               timeout=60)
            assert p.returncode == 0, p.stderr
            got = json.loads(p.stdout)
            assert "error" not in want, want
            assert sorted(got) == sorted(want), name
            for field in want:
                assert got[field] == want[field], (name, field, got[field], want[field])
            # the statistics that used to differ, named so a failure reads well
            for g, w in zip(got["variants"], want["variants"]):
                assert g["aov"] == w["aov"], (name, g["name"])
            assert got["power"]["n_per_arm"] == want["power"]["n_per_arm"], name
            assert got["srm"] == want["srm"], name

        text = subprocess.run([UPSHOT_CLI, "analyze", "-"], input=export.stdout,
                              capture_output=True, text=True, env=env, timeout=60)
        assert text.returncode == 0, text.stderr
        row = next(l for l in text.stdout.splitlines() if l.startswith("control "))
        assert str(total["control"]["orders"]) in row.split(), row


# ---- errors --------------------------------------------------------------


def test_errors_are_readable_with_exit_codes(world):
    up, _ = world
    p = cli(up, "show", EXP, token="not-the-token-at-all")
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert "401" in p.stderr and "token" in p.stderr
    p = cli(up, "show", "no-such-experiment")
    assert p.returncode == 5, (p.returncode, p.stderr)
    assert "no-such-experiment" in p.stderr and "404" in p.stderr
    p = cli(up, "ls", url=f"http://127.0.0.1:{free_port()}")
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert "cannot reach upshotd" in p.stderr
    p = cli(up, "show")
    assert p.returncode == 2
    p = cli(up, "show", "Bad Key!")
    assert p.returncode == 2
    for cmd in ("ls", "show", "watch", "promote", "unpromote", "start", "stop", "create",
                "log", "export"):
        h = cli(up, cmd, "--help")
        assert h.returncode == 0 and "usage: upshot " + cmd in h.stdout, cmd


def test_analyze_bad_file_exit_code_differs_from_unreachable(tmp_path):
    """One exit-code table: a bad or missing input file exits 8 from
    `upshot analyze` (and `upshot create -f`), never 3, which every command
    uses for "upshotd unreachable"; a bad option stays 2."""
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = cli(None, "ls", url=down)
    assert unreachable.returncode == 3, unreachable.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("day,region,variant,visitors\n2026-11-20,gr,control,10\n")
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"variants": [')
    for path in (bad, garbage, tmp_path / "missing.csv"):
        p = cli(None, "analyze", str(path), url=down)
        assert p.returncode == 8, (path.name, p.returncode, p.stderr)
        assert p.returncode != unreachable.returncode
        assert str(path) in p.stderr, p.stderr
    p = cli(None, "create", "-f", str(garbage), url=down)
    assert p.returncode == 8, (p.returncode, p.stderr)
    p = cli(None, "analyze", str(bad), "--colour", url=down)
    assert p.returncode == 2, (p.returncode, p.stderr)


# ---- changes ---------------------------------------------------------------


def assignments(up, region, n, prefix):
    out = []
    for i in range(n):
        r = up.assign(f"{prefix}-{region}-{i}", region=region, experiment=EXP, expose=False)
        assert r.status == 200, r
        out.append(r.json())
    return out


def test_promotion_changes_only_that_region():
    with RedisServer() as redis, Upshotd(redis, experiments=[exp_def()]) as up:
        sent = Sent()
        for region in ("gr", "pl"):
            feed(up, sent, region, VISITORS_PER_REGION, "v")
        up.wait_applied()

        before = {r: assignments(up, r, 200, "new") for r in ("gr", "pl", "se")}
        for r in before.values():
            assert {a["reason"] for a in r} == {"assigned"}

        # the rules do not back a promotion in pl: refused, nothing changes
        p = cli(up, "promote", EXP, "--region", "pl", "--variant", "urgency")
        assert p.returncode == 7, (p.returncode, p.stderr)
        assert "do not recommend" in p.stderr
        assert assignments(up, "pl", 200, "new") == before["pl"]

        p = cli(up, "promote", EXP, "--region", "gr", "--variant", "three-tiers",
                "--holdback", "10%", "--actor", "maria", "--reason", "clear winner")
        assert p.returncode == 0, p.stderr
        assert "three-tiers promoted in gr" in p.stdout

        after = {r: assignments(up, r, 200, "new") for r in ("gr", "pl", "se")}
        # gr: the same visitors now get three-tiers, except the holdback,
        # who keep exactly the variant they had
        promoted = 0
        for old, new in zip(before["gr"], after["gr"]):
            if new["reason"] == "promoted":
                promoted += 1
                assert new["variant"] == "three-tiers" and new["in_experiment"]
            else:
                assert new == old
        assert 150 <= promoted < 200, promoted  # a 10% holdback of 200
        # pl and se: untouched
        assert after["pl"] == before["pl"]
        assert after["se"] == before["se"]

        view = cli_json(up, "show", EXP)
        regions = by_key(view["regions"], "region")
        assert regions["gr"]["promotion"]["variant"] == "three-tiers"
        assert regions["gr"]["promotion"]["holdback"] == pytest.approx(0.10)
        assert regions["pl"]["promotion"] is None
        # promoted traffic never enters the statistics
        arms = by_key(regions["gr"]["variants"], "variant")
        for v in VARIANTS:
            assert arms[v]["visitors"] == sent.c[("gr", v)]["visitors"]
        ls_row = by_key(cli_json(up, "ls")["experiments"], "key")[EXP]
        assert ls_row["promotions"] == [{"region": "gr", "variant": "three-tiers"}]

        log = cli_json(up, "log", EXP)
        promos = [e for e in log["entries"] if "promot" in e["action"]]
        assert promos, log
        assert promos[-1]["actor"] == "admin"  # the token's name
        assert promos[-1]["details"]["on_behalf_of"] == "maria"
        assert "clear winner" in promos[-1]["reason"]
        assert "recommended by upshot" in promos[-1]["reason"]
        text = cli(up, "log", EXP)
        assert text.returncode == 0 and "admin for maria" in text.stdout

        p = cli(up, "unpromote", EXP, "--region", "gr", "--reason", "re-test",
                "--actor", "maria")
        assert p.returncode == 0, p.stderr
        assert assignments(up, "gr", 200, "new") == before["gr"]
        last = cli_json(up, "log", EXP)["entries"][-1]
        assert "promot" in last["action"] and last["actor"] == "admin", last
        assert last["details"]["on_behalf_of"] == "maria", last
        assert last["reason"] == "re-test", last


def test_create_start_stop_lifecycle(tmp_path):
    with RedisServer() as redis, Upshotd(redis, experiments=[exp_def()]) as up:
        f = tmp_path / "exp.json"
        f.write_text(json.dumps(exp_def("cart-bundle", status="draft")))
        p = cli(up, "create", "-f", str(f))
        assert p.returncode == 0, p.stderr
        assert "cart-bundle: created" in p.stdout
        p = cli(up, "create", "-f", str(f))
        assert p.returncode == 6, (p.returncode, p.stderr)  # 409: exists
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        assert cli(up, "create", "-f", str(bad)).returncode == 8

        rows = by_key(cli_json(up, "ls")["experiments"], "key")
        assert rows["cart-bundle"]["status"] == "draft"
        assert up.assign("x1", region="gr", experiment="cart-bundle").json()["reason"] == \
            "not_running"
        p = cli(up, "start", "cart-bundle", "--reason", "go")
        assert p.returncode == 0, p.stderr
        assert cli_json(up, "ls", "--status", "running")["experiments"][-1]["key"] in \
            ("cart-bundle", EXP)
        assert up.assign("x1", region="gr", experiment="cart-bundle").json()["reason"] == \
            "assigned"
        p = cli(up, "stop", "cart-bundle")
        assert p.returncode == 0, p.stderr
        rows = by_key(cli_json(up, "ls")["experiments"], "key")
        assert rows["cart-bundle"]["status"] == "stopped"
        actions = [e["action"] for e in cli_json(up, "log", "cart-bundle")["entries"]]
        assert any("create" in a for a in actions), actions
        assert any("start" in a for a in actions), actions
        assert any("stop" in a for a in actions), actions


def test_export_of_a_capped_experiment_with_cart_values_and_refunds_reproduces_the_results():
    """The same, for an experiment that caps revenue, whose exposures carry
    cart values and whose orders are partly refunded: the export carries
    the capped sums, the cap and the cart value's sums, and analyze's
    statistics (the capped revenue tests, the uncapped comparison beside
    them, CUPED) equal the endpoint's field by field."""
    key = "capped-carts"
    exp = {
        "key": key, "status": "running", "placement": "checkout_popup",
        "regions": ["gr", "pl"], "control": "control", "goal": "revenue",
        "capping": {"value": 90},
        "variants": [{"key": "control", "weight": 0.5, "payload": {}},
                     {"key": "bundle", "weight": 0.5, "payload": {"bundle": True}}],
    }
    with RedisServer() as redis, Upshotd(redis, experiments=[exp]) as up:
        events = []
        for i in range(1200):
            region = ("gr", "pl")[i % 2]
            visitor = f"c-{i}"
            cart = 5 + (i * 37 % 40) * 2.5
            r = up.assign(visitor, region=region, experiment=key, cart_value=str(cart))
            assert r.status == 200 and r.json()["exposure"] == "recorded", r
            bundle = r.json()["variant"] == "bundle"
            if (i * 7919 % 1000) / 1000 < (0.30 if bundle else 0.22):
                for n in range(1 + i % 2):
                    value = 10.25 + cart * 0.5 + (i * 3 + n) % 23 * 4.5
                    events.append({"id": f"o-{i}-{n}", "type": "conversion", "experiment": key,
                                   "visitor": visitor, "value": value})
                if i % 5 == 0:
                    events.append({"id": f"rf-{i}", "type": "refund", "experiment": key,
                                   "visitor": visitor, "value": -4.25, "order": f"o-{i}-0"})
        for k in range(0, len(events), 500):
            assert up.events(events[k:k + 500]).status == 202
        up.wait_applied()
        results = up.results(key)
        assert results["capping"]["value"] == 90
        total = by_key(results["total"]["variants"], "variant")
        assert sum(v["refunds"] for v in total.values()) > 0
        assert all(v["revenue_sum_capped"] < v["revenue_sum"] for v in total.values())
        assert results["total"]["analysis"]["variants"][1]["cuped"]["lift"] is not None

        export = cli(up, "export", key, "--csv")
        assert export.returncode == 0, export.stderr
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
        slices = [("all regions", [], results["total"]["analysis"])]
        slices += [(reg["region"], ["--region", reg["region"]], reg["analysis"])
                   for reg in results["regions"]]
        for name, extra, want in slices:
            p = subprocess.run([UPSHOT_CLI, "analyze", "-", "--json", *extra],
                               input=export.stdout, capture_output=True, text=True, env=env,
                               timeout=60)
            assert p.returncode == 0, p.stderr
            got = json.loads(p.stdout)
            assert sorted(got) == sorted(want), name
            for field in want:
                assert got[field] == want[field], (name, field, got[field], want[field])
        text = subprocess.run([UPSHOT_CLI, "analyze", "-"], input=export.stdout,
                              capture_output=True, text=True, env=env, timeout=60)
        assert text.returncode == 0 and "Revenue capped at 90" in text.stdout, text.stdout
        show = cli(up, "show", key)
        assert show.returncode == 0 and "revenue capped at 90 per visitor" in show.stdout, show.stdout
        view = json.loads(cli(up, "show", key, "--json").stdout)
        assert view["revenue_cap"] == 90
