"""Automatic promotion: an experiment that opts in is promoted in the
region where a variant clearly wins, with its holdback, and only there;
the other region keeps randomizing; every decision change is audited."""
from harness import Upshotd, experiment, wait_until


def test_auto_promotion_promotes_the_clear_winner_only_where_it_wins(redis):
    exp = experiment(regions=["gr", "pl"], stats={"min_sample": 200},
                     auto_promote={"enabled": True, "holdback": 0.1})
    with Upshotd(redis, [exp], auto_promote_interval_s=1) as up:
        events = []
        for i in range(1600):
            region = "gr" if i % 2 else "pl"
            visitor = f"v{i}"
            variant = up.assign(visitor, region=region).json()["variant"]
            # gr: three-tiers converts 30% vs control 5%; pl: both 5%.
            rate = 0.30 if (region == "gr" and variant == "three-tiers") else 0.05
            if (i * 7919 % 1000) / 1000 < rate:
                events.append({"id": f"o{i}", "type": "conversion", "experiment": "checkout-tiers",
                               "visitor": visitor, "value": 20})
        for k in range(0, len(events), 200):
            assert up.events(events[k:k + 200]).status == 202
        up.wait_applied()
        promos = wait_until(lambda: up.admin("GET", "/v1/experiments/checkout-tiers").json().get("promotions"),
                            timeout=15, what="an automatic promotion")
        assert set(promos) == {"gr"}, promos
        assert promos["gr"]["variant"] == "three-tiers" and promos["gr"]["holdback"] == 0.1
        log = up.admin("GET", "/v1/experiments/checkout-tiers/log").json()["entries"]
        promote = [e for e in log if e["action"] == "promote"]
        assert promote and promote[0]["actor"] == "auto-promote" and promote[0]["reason"], log
        decisions = {e["details"]["region"]: e["details"]["recommendation"]
                     for e in log if e["action"] == "decision"}
        assert decisions.get("gr") == "promote", decisions
        assert decisions.get("pl") in ("keep_running", "stop"), decisions
        # gr visitors now get the winner (except the 10% holdback); pl is untouched.
        gr = [up.assign(f"new{i}", region="gr", expose=False).json()["reason"] for i in range(200)]
        assert gr.count("promoted") > 150, gr.count("promoted")
        pl = [up.assign(f"new{i}", region="pl", expose=False).json()["reason"] for i in range(100)]
        assert set(pl) == {"assigned"}
