"""Redis memory per (visitor, experiment).

Measures: MEMORY USAGE summed over the keys of an experiment of its own
(its twelve shard groups' tags {x:mem-exp:G:N}, docs/redis.md) after mem_visitors visitors were
exposed to it through upshotd, and again after 4% of them converted; INFO
used_memory's growth is reported alongside. With fewer visitors (--short:
200,000) the fixed cost of each visitor-shard key is spread thinner, so the
figure reads higher than at the target's million: an upper bound.

Against: no baseline; an absolute bound. Target: <= 120 bytes (CI floor in
suite/gate.py). Bounds: two bench_ingest runs of two minutes at most, each
wait for Redis two minutes; SCAN stops past two million keys.
"""
from suite.common import MEM_EXPERIMENT, BenchError, log
from suite.gate import check
from suite.load import ingest_driver, wait_drained, wait_in_redis


def run(ctx):
    procs, exe, u_port, r, m = (ctx.procs, ctx.exes["bench_ingest"], ctx.upshotd_port,
                                ctx.redis, ctx.m)
    n = m["mem_visitors"]
    pattern = "{x:" + MEM_EXPERIMENT + ":*}:*"
    wait_drained(u_port)
    before = r.info("memory")
    ex = ingest_driver(procs, exe, u_port, "expose", MEM_EXPERIMENT, 1, n, "m", 0.0)
    wait_in_redis(u_port, MEM_EXPERIMENT, n, 0, timeout=120)

    def usage():
        keys = r.keys_matching(pattern)
        total = 0
        for k in keys:
            total += r.command("MEMORY", "USAGE", k, "SAMPLES", "0") or 0
        return len(keys), total
    nkeys, exposed_bytes = usage()
    if nkeys == 0 or exposed_bytes == 0:
        raise BenchError(f"no keys of {MEM_EXPERIMENT} match {pattern}: the key layout changed?")
    used_exposed = int(r.info("memory")["used_memory"]) - int(before["used_memory"])
    conv_n = n * 4 // 100
    ingest_driver(procs, exe, u_port, "convert", MEM_EXPERIMENT, 1, conv_n, "m", 0.0)
    wait_in_redis(u_port, MEM_EXPERIMENT, n, conv_n, timeout=120)
    nkeys2, converted_bytes = usage()
    mem = {"visitors": n, "keys": nkeys2, "bytes_exposed": exposed_bytes,
           "bytes_per_visitor_exposed": exposed_bytes / n,
           "used_memory_delta_per_visitor_exposed": used_exposed / n,
           "converted": conv_n, "bytes_with_conversions": converted_bytes,
           "bytes_per_visitor": converted_bytes / n,
           "expose_per_s": n / max(1e-9, ex["seconds_to_last_ack"])}
    ctx.results["redis_memory"] = mem
    log(f"redis memory: {nkeys2} keys, {mem['bytes_per_visitor_exposed']:.1f} B/visitor exposed, "
        f"{mem['bytes_per_visitor']:.1f} B/visitor with 4% converted "
        f"(INFO used_memory delta {mem['used_memory_delta_per_visitor_exposed']:.1f} B/visitor)")
    ctx.results["checks"]["redis_bytes_per_visitor"] = check(
        "redis_bytes_per_visitor", mem["bytes_per_visitor"], [mem["bytes_per_visitor"]])
