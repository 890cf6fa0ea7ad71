"""A bandit experiment at the demo's traffic, simulated.

Measures: bench/sim_bandit (stats_bandit_update_run, the weight update
upshotd runs, against a fixed equal split; decide_run, the promotion rule):
expected conversions lost over 30 days against always showing the best
arm, for one strong wording (+20%), A/A, and a best wording that differs by
region; the day the best wording leads the weights for good against the
day the fixed split promotes it; and the A/A family-wise false promotion
rate with its Clopper-Pearson 95% interval. The program's header states the
traffic and settings.

Against: the fixed equal split on the same truth, in the same run.

Target: A/A false promotions <= 5% (CI floor in suite/gate.py: 25%, which a
true 5% cannot reach with the short mode's experiments). Bounds: the short
mode runs 1 experiment per scenario and 20 A/A (a few CPU seconds); the full
mode 20 and 1000 (a few CPU minutes); ten minutes at most.
"""
import json

from suite.common import SERVER_CPU, log
from suite.gate import check


def run(ctx):
    m = ctx.m
    out = ctx.procs.run([ctx.exes["sim_bandit"], "--runs", str(m["bandit_runs"]), "--aa",
                         str(m["bandit_aa"]), "--report-only"], cpu=SERVER_CPU, timeout=600)
    lines = out.strip().splitlines()
    j = json.loads(lines[-1])
    ctx.results["bandit"] = j
    for line in lines[:-1]:
        log(f"bandit simulation: {line}")
    ctx.results["checks"]["bandit_aa_false_promotion"] = check(
        "bandit_aa_false_promotion", j["aa_rate"], [j["aa_rate"]])
