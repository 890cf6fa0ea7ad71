"""Statistics of one experiment.

Measures: bench/bench_stats --json (the statistics library's own benchmark):
the time to compute the full results of one experiment of 5 variants x 50
regions, in ms, pinned to the server CPU.

Against: no baseline; an absolute bound. Target: < 5 ms (CI floor in
suite/gate.py). Bounds: two minutes for the program.
"""
import json

from suite.common import SERVER_CPU, log
from suite.gate import check


def find_ms(j):
    """bench_stats --json: the per-experiment time in ms (first of a few
    plausible field names)."""
    for k in ("ms_per_experiment", "ms_per_results", "median_ms", "ms", "p50_ms", "mean_ms"):
        if isinstance(j.get(k), (int, float)):
            return float(j[k]), k
    for k, v in j.items():
        if isinstance(v, (int, float)) and k.endswith("_ms"):
            return float(v), k
    return None, None


def run(ctx):
    procs = ctx.procs
    mark = procs.meter.start()
    out = procs.run([ctx.exes["bench_stats"], "--json"], cpu=SERVER_CPU, timeout=120)
    foreign = procs.meter.foreign_share(mark)
    j = json.loads(out.strip().splitlines()[-1])
    ms, field = find_ms(j)
    ctx.results["stats"] = {"output": j, "ms_field": field, "ms": ms}
    log(f"statistics: {ms} ms per experiment ({field}) — {json.dumps(j)[:300]}")
    if ms is not None:
        ctx.results["checks"]["stats_ms"] = check("stats_ms", ms, [ms], [foreign])
