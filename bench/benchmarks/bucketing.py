"""Bucketing on one core, in process.

Measures: bench/bench_bucketing over a million ids: raw murmur3,
hash_bucket, and the engine's full assign_visitor (through
bench_assign_adapter.h); best of bucket_rounds interleaved rounds of
bucket_secs each, pinned to the server CPU.

Against: a copy floor in the same process (building the hashed string with
memcpy, no hash), reported as a ratio for context.

Target: >= 20M full assignments/s (hash_bucket's rate when the full
assignment is not built); CI floor in suite/gate.py. Bounds: the program's
own --seconds x --rounds, and two minutes for the whole run.
"""
import json

from suite.common import SERVER_CPU, log
from suite.gate import check


def run(ctx):
    procs, m = ctx.procs, ctx.m
    mark = procs.meter.start()
    out = procs.run([ctx.exes["bench_bucketing"], "--seconds", str(m["bucket_secs"]), "--rounds",
                     str(m["bucket_rounds"]), "--json"], cpu=SERVER_CPU, timeout=120)
    foreign = procs.meter.foreign_share(mark)
    b = json.loads(out.strip().splitlines()[-1])
    ctx.results["bucketing"] = b
    log("bucketing on one core: copy floor {:.1f}M/s, murmur3 {:.1f}M/s, hash_bucket {:.1f}M/s, "
        "full assignment {}".format(b["copy_per_s"] / 1e6, b["murmur_per_s"] / 1e6,
                                    b["bucket_per_s"] / 1e6,
                                    f"{b['assign_per_s'] / 1e6:.1f}M/s" if b.get("assign_per_s")
                                    else "n/a"))
    best = b.get("assign_per_s") or b["bucket_per_s"]
    ctx.results["checks"]["bucketing_per_s"] = check("bucketing_per_s", best, [best], [foreign])
