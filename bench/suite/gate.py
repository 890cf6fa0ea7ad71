"""The targets, and how `bench/run --short` turns them into a CI gate.

Targets (what the product promises; docs/performance.md compares every run
with them):
  - assign throughput over HTTP: upshotd >= 0.85x the bare-evhttp ceiling
    and >= 2x the GrowthBook/Node peer;
  - p99 latency at moderate load < 1 ms;
  - ingestion >= 200k conversions/s into Redis, i.e. >= 0.51x the Redis
    one-command script rate (200k at the reference machine's 390k);
  - >= 20M full assignments/s on one core;
  - statistics of one experiment (5 variants x 50 regions) < 5 ms;
  - <= 120 Redis bytes per (visitor, experiment);
  - factorial promotion: <= 5% of simulated A/A runs promote anything.
  - a bandit experiment's A/A family-wise false promotion rate <= 5%
    (bench/sim_bandit).

A check fails CI only when even its BEST undisturbed round is beyond
`fail_at`, a wide margin past the target; noise alone cannot fail it. A
round is disturbed when processes outside the run used more than
NOISY_SHARE of the machine's CPU while it ran (upshot_testlib.procs.
CpuMeter); the gate ignores disturbed rounds, and a check whose rounds
were all disturbed is `inconclusive`, never failed.
"""
from suite.common import median

TARGETS = {
    # Undisturbed rounds on this shared 2-core machine have read as low as
    # 0.82 (ceiling) and 1.53 (peer) with no change to the code, and the
    # best round of a run (what the gate looks at) never below 0.89 against
    # the ceiling, so the CI floors sit below that noise; a real regression
    # (a quarter slower) still fails, and the report still compares every
    # run with the target.
    "assign_vs_ceiling": {"target": 0.85, "better": "higher", "fail_at": 0.75},
    "assign_vs_peer": {"target": 2.0, "better": "higher", "fail_at": 1.5},
    "moderate_p99_ms": {"target": 1.0, "better": "lower", "fail_at": 2.0},
    # The realistic mix (exposures, 5% conversions with values, 2%
    # declines) per Redis core second, from Redis's CPU per event (INFO
    # CPU): the wall rate on a 2-core machine shared by the load generator,
    # upshotd and Redis measures the box, not Redis.
    "ingest_events_per_s": {"target": 200000, "better": "higher", "fail_at": 100000},
    # Conversions alone against a trivial EVALSHA (one INCR) on the same
    # Redis in the same round (redis-benchmark -P 64 -c 50).
    "ingest_vs_redis_script": {"target": 0.4, "better": "higher", "fail_at": 0.05},
    "bucketing_per_s": {"target": 20e6, "better": "higher", "fail_at": 10e6},
    "stats_ms": {"target": 5.0, "better": "lower", "fail_at": 10.0},
    "redis_bytes_per_visitor": {"target": 120, "better": "lower", "fail_at": 150},
    # Simulated A/A runs of the demo's factorial experiment in which any
    # region promoted anything (benchmarks/factorial.py): the gate reads the
    # lower end of its 95% interval, so fail_at is the promise itself.
    "factorial_aa_false_rate": {"target": 0.05, "better": "lower", "fail_at": 0.05},
    # A simulated rate, not a timing: machine noise cannot move it. The
    # short mode's 20 A/A experiments put a true 5% at 5 or more false
    # promotions (25%) with probability under 2%, so the floor fails only
    # a rule that lets far more through; --full's 1000 measure the target.
    "bandit_aa_false_promotion": {"target": 0.05, "better": "lower", "fail_at": 0.25},
}

# A round is "disturbed" when processes other than this run's used more than
# this share of the machine's CPU time while it ran (other builds and tests
# on a shared machine).
NOISY_SHARE = 0.15


def disturbed(noise):
    """Whether a round with this foreign CPU share (None: not measured)
    counts as disturbed."""
    return noise is not None and noise >= NOISY_SHARE


def round_noise(rounds):
    """Per round of an HTTP benchmark, the largest share of CPU other
    processes took during any of its runs."""
    return [max(x.get("foreign_cpu", 0.0) for x in row.values()) for row in rounds]


def undisturbed(rows, noise):
    """The rows whose round was not disturbed by other processes, or all of
    them when every round was: the summary medians come from these."""
    clean = [r for r, n in zip(rows, noise) if not disturbed(n)]
    return clean or rows


def check(key, value, per_round, noise=None):
    """A measured figure against its target. When some rounds were
    undisturbed by other processes, the reported value is the median of
    those rounds only."""
    t = TARGETS[key]
    hi = t["better"] == "higher"
    if noise and len(per_round) > 1:
        clean = [x for x, n in zip(per_round, noise) if not disturbed(n)]
        if clean:
            value = median(clean)
    met = value is not None and (value >= t["target"] if hi else value <= t["target"])
    return {"value": value, "rounds": per_round, "noise": noise, "target": t["target"],
            "better": t["better"], "met": met, "fail_at": t["fail_at"]}


def gate_verdict(c):
    """'ok', 'failed' or 'inconclusive' for one check. Looks only at rounds
    that other processes did not disturb, and at the best of them: it fails
    only when even that one is beyond fail_at."""
    if c["fail_at"] is None or c["value"] is None:
        c["verdict"] = "ok"
        return "ok"
    rounds = c.get("gate_rounds") or c["rounds"]
    noise = c.get("noise") or [0.0] * len(rounds)
    clean = [x for x, n in zip(rounds, noise) if not disturbed(n)]
    if not clean:
        c["verdict"], c["best"] = "inconclusive", None
        return "inconclusive"
    hi = c["better"] == "higher"
    c["best"] = max(clean) if hi else min(clean)
    failed = c["best"] < c["fail_at"] if hi else c["best"] > c["fail_at"]
    c["verdict"] = "failed" if failed else "ok"
    return c["verdict"]


def gate_failures(results, only=None):
    """The checks whose verdict is 'failed' (setting every check's verdict)."""
    return [k for k, c in results["checks"].items()
            if (not only or k in only) and gate_verdict(c) == "failed"]


def shortfall(c):
    """How far a missed check is from its target, in percent."""
    t, v = c["target"], c["value"]
    return (t - v) / t * 100 if c["better"] == "higher" else (v - t) / t * 100


def missed_lines(results):
    """`target missed:` lines, one per check measured short of its target."""
    return [f"target missed: {key} = {c['value']:.4g}, target {c['target']:.4g} "
            f"({shortfall(c):.0f}% short)"
            for key, c in results["checks"].items() if not c["met"] and c["value"] is not None]


def inconclusive_lines(results):
    return [f"inconclusive: {key}: every round was disturbed by other processes "
            f"(>{NOISY_SHARE * 100:.0f}% of the CPU); not gated"
            for key, c in results["checks"].items() if c.get("verdict") == "inconclusive"]


def failure_lines(results, bad):
    """`BENCH GATE FAILED:` lines for the checks gate_failures() returned."""
    return [f"BENCH GATE FAILED: {key}: best undisturbed round "
            f"{results['checks'][key]['best']:.4g}, fails beyond "
            f"{results['checks'][key]['fail_at']}, target {results['checks'][key]['target']:.4g}"
            for key in bad]
