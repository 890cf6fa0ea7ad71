"""Ingestion scaling: one hot experiment over 1, 2 and 3 Redis Cluster
masters.

Measures: for m = 1, 2, 3 a cluster of m masters (no replicas, made with
`redis-cli --cluster create` by tests/lib/upshot_testlib/redis_cluster.py),
an upshotd in cluster mode (`redis.nodes`), and bench_ingest's mix phase
(exposures, 5% conversions with values, 2% declines) of one experiment,
posted while the masters are stopped (SIGSTOP), so that upshotd journals
it all and then, with the masters resumed, applies it in full batches:
every topology is measured at the same batch size, whatever this shared
box lets the load generator do. Per master: its share of the
experiment's events, read back from the counters of the shard groups
whose slots it owns (engine/core/keys.h: each group's counters hash counts
exactly the events applied on that master), and its CPU from /proc from
resume to drained, less what the node spends idle over as long (measured
for IDLE_S just before, with upshotd connected: serverCron and the cluster
bus, which grows with the node count and is not a cost of the events).
Reported: each master's share against 1/m (target: within 10% of it), the
total Redis CPU per event against the single-master figure of the same
run (target: within 10%), and events per script call. On the 2-core
machine the wall rate is capped by the box, so the figures are per event,
not per second.

redis-cli --cluster create needs three masters; the launcher makes the
one- and two-master clusters by hand with the same slot ranges. Bounds: each m runs one bench_ingest mix of scaling_visitors
visitors (two minutes at most), the cluster start is bounded by the
launcher.
"""
import json
import os
import signal
import time

from upshot_testlib import keys, servers
from upshot_testlib.procs import free_port
from upshot_testlib.resp import Redis

from suite.common import EXPERIMENT, SDK_KEY, SERVER_CPU, BenchError, bench_experiment, log, write_config
from suite.load import ingest_driver, wait_in_redis

from upshot_testlib.redis_cluster import RedisCluster


IDLE_S = 3.0


def proc_cpu_s(pid):
    """User + system CPU seconds of a process, from /proc (what INFO CPU
    reports, readable while the process is stopped)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def script_calls(nodes):
    """EVALSHA calls every node has run (INFO commandstats)."""
    total = 0
    for p in nodes:
        with Redis(p) as r:
            stats = r.info("commandstats")
        entry = stats.get("cmdstat_evalsha")
        if entry:
            total += int(dict(kv.split("=") for kv in entry.split(","))["calls"])
    return total


def slot_owners(port):
    """{slot: the port of its master} from CLUSTER SLOTS (all on loopback)."""
    with Redis(port, decode=True) as r:
        ranges = r.command("CLUSTER", "SLOTS")
    owner = {}
    for lo, hi, master, *_ in ranges:
        for s in range(int(lo), int(hi) + 1):
            owner[s] = int(master[1])
    return owner


def events_by_master(nodes, owner):
    """Events applied per master: per shard group, its counters (e: visitors
    exposed, o: orders, dn: decline events) from the master owning its slot."""
    out = {}
    for g in range(keys.GROUPS):
        key = keys.counters_key(EXPERIMENT, g)
        port = owner[keys.key_slot(key)]
        with Redis(port, decode=True) as r:
            flat = r.command("HGETALL", key) or []
        n = sum(int(v) for f, v in zip(flat[0::2], flat[1::2])
                if f.split("|", 1)[0] in ("e", "o", "dn"))
        out[port] = out.get(port, 0) + n
    return out


def one(ctx, masters):
    procs, tmp = ctx.procs, ctx.tmp
    cluster = RedisCluster(os.path.join(tmp, f"cluster{masters}"), masters=masters, replicas=0)
    cluster.start()
    try:
        nodes = cluster.masters()
        port = free_port()
        data = os.path.join(tmp, f"scaling{masters}-data")
        os.makedirs(data, exist_ok=True)
        cfg = os.path.join(tmp, f"scaling{masters}.json")
        write_config(cfg, port, nodes[0], data, [bench_experiment(EXPERIMENT)])
        with open(cfg) as f:
            c = json.load(f)
        c["redis"] = {"nodes": [f"127.0.0.1:{p}" for p in nodes]}
        with open(cfg, "w") as f:
            json.dump(c, f)
        up = servers.start_upshotd(lambda n, argv: procs.start(n, argv, cpu=SERVER_CPU),
                                   ctx.upshotd_exe, cfg, port, timeout=60,
                                   name=f"upshotd-scaling{masters}")
        n = ctx.m["scaling_visitors"] if "scaling_visitors" in ctx.m else ctx.m["ingest_visitors"]
        # The events are applied from a full journal: the masters are
        # stopped (SIGSTOP) while bench_ingest posts, so upshotd acknowledges
        # everything into its journal, then resumed, and upshotd drains it in
        # full batches. Otherwise the batch size would follow how fast this
        # shared 2-core box lets the load arrive, which differs with the
        # number of Redis processes competing for it, and the per-call cost
        # of a script would pass for a cost of the topology. CPU comes from
        # /proc (a stopped process answers no INFO); each node's idle CPU
        # over as long (serverCron, the cluster bus) is charged to the node.
        pids = {p: cluster.procs[p].pid for p in nodes}
        idle0 = {p: proc_cpu_s(pids[p]) for p in nodes}
        t_idle = time.monotonic()
        time.sleep(IDLE_S)
        idle_rate = {p: (proc_cpu_s(pids[p]) - idle0[p]) / (time.monotonic() - t_idle)
                     for p in nodes}
        calls0 = script_calls(nodes)
        for p in nodes:
            os.kill(pids[p], signal.SIGSTOP)
        try:
            ingest_driver(procs, ctx.exes["bench_ingest"], port, "mix", EXPERIMENT, 1, n,
                          f"s{masters}", 0.0)
            cpu0 = {p: proc_cpu_s(pids[p]) for p in nodes}
            t0 = time.monotonic()
        finally:
            for p in nodes:
                os.kill(pids[p], signal.SIGCONT)
        conv = sum(1 for v in range(1, n + 1) if v % 20 == 0)
        wait_in_redis(port, EXPERIMENT, n, conv, timeout=180)
        raw = {p: proc_cpu_s(pids[p]) - cpu0[p] for p in nodes}
        elapsed = time.monotonic() - t0
        cpu = {p: max(0.0, raw[p] - idle_rate[p] * elapsed) for p in nodes}
        calls = script_calls(nodes) - calls0
        per = events_by_master(nodes, slot_owners(nodes[0]))
        total = sum(per.values())
        procs.stop(up)
        return {"masters": masters, "events": total,
                "share": {str(p): per.get(p, 0) / total for p in nodes},
                "redis_us_per_event": sum(cpu.values()) / total * 1e6,
                "raw_redis_us_per_event": sum(raw.values()) / total * 1e6,
                "idle_cpu_share": sum(idle_rate.values()) * elapsed / max(sum(raw.values()), 1e-9),
                "seconds": elapsed,
                "events_per_call": total / max(calls, 1),
                "cpu_share": {str(p): cpu[p] / sum(cpu.values()) for p in nodes}}
    finally:
        cluster.stop()


def run(ctx):
    # Rounds in the order 1, 2, 3, 3, 2, 1, ...: a drift of the shared box
    # during the run then weighs on every topology alike. Per topology the
    # median round (by Redis CPU per event) is reported, every round kept.
    rounds = ctx.m.get("scaling_rounds", 2)
    order = []
    for i in range(rounds):
        order += [1, 2, 3] if i % 2 == 0 else [3, 2, 1]
    by_m = {1: [], 2: [], 3: []}
    for m in order:
        by_m[m].append(one(ctx, m))
    rows = []
    for m in (1, 2, 3):
        runs = sorted(by_m[m], key=lambda r: r["redis_us_per_event"])
        row = dict(runs[(len(runs) - 1) // 2])
        row["rounds_us_per_event"] = [r["redis_us_per_event"] for r in by_m[m]]
        rows.append(row)
    if not rows:
        raise BenchError("no scaling rows")
    base = rows[0]["redis_us_per_event"]
    for r in rows:
        r["cpu_vs_one_master"] = r["redis_us_per_event"] / base
        r["worst_share_vs_even"] = max(abs(s * r["masters"] - 1) for s in r["share"].values())
        log(f"ingest scaling, {r['masters']} masters: shares "
            f"{', '.join(f'{s:.3f}' for s in r['share'].values())} (1/m = {1 / r['masters']:.3f}, "
            f"worst {r['worst_share_vs_even'] * 100:.1f}% off); Redis CPU {r['redis_us_per_event']:.2f}"
            f" us/event above idle (rounds {', '.join(f'{x:.2f}' for x in r['rounds_us_per_event'])}; "
            f"{r['raw_redis_us_per_event']:.2f} with idle), {r['cpu_vs_one_master']:.3f}x one master; "
            f"{r['events_per_call']:.0f} events per script call")
        if r["worst_share_vs_even"] > 0.10 or abs(r["cpu_vs_one_master"] - 1) > 0.10:
            log(f"target missed: ingest scaling over {r['masters']} masters")
    ctx.results["ingest_scaling"] = rows
