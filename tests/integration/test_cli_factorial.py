"""`upshot show` on a factorial experiment, against a real upshotd and a
real Redis: the factorial sections appear, their numbers are the ones
upshotd's results carry, and the W mark sits where upshotd's decision
promotes (docs/cli.md, "A factorial experiment").

Known traffic: a 2x2 experiment (placement x wording) in two regions.
Conversions are a deterministic share of each cell's visitors:

  gr: checkout-benefit converts at 40%, every other cell at 5%, so that
      combination wins on its own (kind "combination");
  pl: checkout converts at 35% with either wording, cart at 20%: no cell
      wins against the control cell with these samples, but placement has
      no interaction with wording, and its level checkout wins on the
      marginal counts (kind "factor_level").
"""
import collections
import json
import math
import os
import subprocess

import pytest

from harness import ADMIN_TOKEN, UPSHOT_CLI, RedisServer, Upshotd

EXP = "offer-strategy"
PER_REGION = 600
RATES = {"gr": {"cart-plain": 0.05, "cart-benefit": 0.05, "checkout-plain": 0.05,
                "checkout-benefit": 0.40},
         "pl": {"cart-plain": 0.20, "cart-benefit": 0.20, "checkout-plain": 0.35,
                "checkout-benefit": 0.35}}


def exp_def():
    return {
        "key": EXP, "name": "Offer strategy", "status": "running",
        "placement": "offer_slot", "regions": ["gr", "pl"], "goal": "conversion",
        "factors": [
            {"key": "placement", "levels": [{"key": "cart", "payload": {"placement": "cart_page"}},
                                            {"key": "checkout",
                                             "payload": {"placement": "checkout_popup"}}]},
            {"key": "wording", "levels": [{"key": "plain", "payload": {"wording": "plain"}},
                                          {"key": "benefit", "payload": {"wording": "benefit"}}]}],
        "interactions": True, "guardrails": ["decline_rate"],
        # large effects, small samples: a wide prior and a small minimum
        "stats": {"min_sample": 50, "tau2": 0.01},
    }


def cli(up, *args, columns="100"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
    env.update({"UPSHOT_URL": up.url, "UPSHOT_TOKEN": ADMIN_TOKEN,
                "UPSHOT_CONFIG": os.devnull, "NO_COLOR": "1", "COLUMNS": columns})
    p = subprocess.run([UPSHOT_CLI, *args], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def feed(up, region):
    seen = collections.Counter()
    events = []
    for i in range(PER_REGION):
        visitor = f"f-{region}-{i}"
        r = up.assign(visitor, region=region, experiment=EXP)
        assert r.status == 200, r
        body = r.json()
        assert body["exposure"] == "recorded", body
        cell = body["variant"]
        assert body["factors"] == dict(zip(["placement", "wording"], cell.split("-"))), body
        k = seen[cell]
        seen[cell] += 1
        if (k % 100) < round(RATES[region][cell] * 100):
            events.append({"id": f"o-{visitor}", "type": "conversion", "experiment": EXP,
                           "visitor": visitor, "value": 30.0 + (k % 5) * 4.0})
        if k % 10 == 9:
            events.append({"id": f"d-{visitor}", "type": "decline", "experiment": EXP,
                           "visitor": visitor})
    for i in range(0, len(events), 500):
        r = up.events(events[i:i + 500])
        assert r.status == 202, r


@pytest.fixture(scope="module")
def world():
    with RedisServer() as redis, Upshotd(redis, experiments=[exp_def()]) as up:
        for region in ("gr", "pl"):
            feed(up, region)
        up.wait_applied()
        yield up, up.results(EXP)


def section(text, start, end):
    a = text.index(start)
    b = text.find(end, a + 1)
    return text[a:b if b >= 0 else len(text)]


def line_of(text, prefix):
    for line in text.splitlines():
        if line.lstrip().startswith(prefix):
            return line
    raise AssertionError(f"no line starting {prefix!r} in:\n{text}")


def test_json_passes_the_factorial_object_through(world):
    up, res = world
    view = json.loads(cli(up, "show", EXP, "--json"))
    assert view["factorial"] == res["factorial"]
    got = {g["region"]: g["factorial_decision"] for g in view["regions"]}
    for d in res["decisions"]["regions"]:
        assert got[d["region"]]["kind"] == d.get("kind")
        assert got[d["region"]]["variant"] == d.get("variant")


def test_the_server_decides_a_combination_in_gr_and_a_level_in_pl(world):
    """The traffic does what the module says, so the marks below are tested
    on both kinds of decision."""
    _, res = world
    dec = {d["region"]: d for d in res["decisions"]["regions"]}
    assert dec["gr"]["recommendation"] == "promote", dec["gr"]
    assert (dec["gr"]["kind"], dec["gr"]["variant"]) == ("combination", "checkout-benefit")
    assert dec["pl"]["recommendation"] == "promote", dec["pl"]
    assert (dec["pl"]["kind"], dec["pl"]["factor"], dec["pl"]["level"]) == \
        ("factor_level", "placement", "checkout")
    assert dec["pl"]["variant"] == "checkout-plain"


def test_show_prints_every_section_with_the_servers_numbers(world):
    up, res = world
    out = cli(up, "show", EXP)
    fact = res["factorial"]
    for want in ("Factorial design: 2 factors, 4 cells", "Factorial effects: conversion",
                 "Interaction tests: conversion, overall", "Interactions: predicted conversion",
                 "placement x wording (p", "Region gr:", "Region pl:",
                 "Power of the interaction tests"):
        assert want in out, (want, out)
    assert max(len(line) for line in out.splitlines()) <= 100

    overall = next(m for m in fact["models"] if m["scope"] == "overall")["conversion"]
    assert overall["status"] == "ok", overall
    eff = section(out, "Factorial effects", "By region")
    for term in overall["terms"]:
        if term["kind"] != "main":
            continue
        line = line_of(eff, term["term"] + " ")
        assert "%+.3f" % term["estimate"] in line, (term, line)
        assert "%.2f" % math.exp(term["estimate"]) in line, (term, line)
        p = term["p_value"]
        assert ("<0.0001" if p < 0.0001 else "%.4f" % p) in line, (term, line)

    test = overall["interaction_tests"][0]
    line = line_of(section(out, "Interaction tests", "Interactions:"), "placement x wording")
    assert "%.2f" % test["chi2"] in line, line

    power = fact["power"]
    if power["per_cell_needed"] is not None:
        assert "needs {:,}".format(int(power["per_cell_needed"])) in out, out


def test_show_marks_what_upshotd_promotes(world):
    up, res = world
    out = cli(up, "show", EXP)
    gr = section(out, "Region gr:", "Region pl:")
    assert line_of(gr, "checkout-benefit ").endswith("  W"), gr
    assert "W promote checkout-benefit: the combination wins" in gr
    pl = section(out, "Region pl:", "Power of")
    assert line_of(pl, "checkout-plain ").endswith("  W"), pl
    assert line_of(pl, "placement=checkout vs cart").endswith("  W"), pl
    assert not line_of(pl, "wording=benefit vs plain").endswith("W"), pl
    # the cell's observed rate is the server's count
    counts = {c["variant"]: c for g in res["regions"] if g["region"] == "pl"
              for c in g["variants"]}
    c = counts["checkout-plain"]
    assert "%.2f%%" % (100 * c["conversions"] / c["visitors"]) in line_of(pl, "checkout-plain "), pl


def test_show_for_one_region_and_a_narrow_terminal(world):
    up, res = world
    out = cli(up, "show", EXP, "--region", "pl", columns="80")
    fact = section(out, "Factorial design", "Cumulative lift")
    assert max(len(line) for line in fact.splitlines()) <= 80, fact
    assert "Factorial effects: conversion, pl" in fact and "Region gr:" not in fact
    pl = next(m for m in res["factorial"]["models"] if m["scope"] == "pl")["conversion"]
    term = next(t for t in pl["terms"] if t["term"] == "placement=checkout")
    assert "%+.3f" % term["estimate"] in line_of(fact, "placement=checkout "), fact


def cli_rc(up, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
    env.update({"UPSHOT_URL": up.url, "UPSHOT_TOKEN": ADMIN_TOKEN,
                "UPSHOT_CONFIG": os.devnull, "NO_COLOR": "1"})
    return subprocess.run([UPSHOT_CLI, *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_promote_follows_the_servers_factorial_decision(world):
    """`upshot promote` takes the factor-level step's cell as advised (the
    server's run of the rule), refuses a cell the rule does not pick, and
    knows the cells although the definition lists factors. Runs last: it
    changes the experiment."""
    up, _ = world
    p = cli_rc(up, "promote", EXP, "--region", "pl", "--variant", "cart-benefit")
    assert p.returncode == 7, (p.returncode, p.stderr)
    assert "do not recommend" in p.stderr, p.stderr
    p = cli_rc(up, "promote", EXP, "--region", "pl", "--variant", "checkout-nothing")
    assert p.returncode != 0 and "no variant" in p.stderr, p.stderr

    p = cli_rc(up, "promote", EXP, "--region", "pl", "--variant", "checkout-plain")
    assert p.returncode == 0, p.stderr
    assert "checkout-plain promoted in pl" in p.stdout, p.stdout
    log = json.loads(cli(up, "log", EXP, "--json"))
    entries = log if isinstance(log, list) else log.get("entries", [])
    promo = [e for e in entries if e.get("action") == "promote"]
    assert promo, log
    assert "factor placement at level checkout" in json.dumps(promo[-1]), promo[-1]
