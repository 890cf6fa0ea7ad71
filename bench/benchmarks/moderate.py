"""Latency at moderate load.

Measures: p99 (and p50, requests/s) of the assign request at 8 connections,
each pausing 1 ms after every response (wrk's delay() hook): a few thousand
requests/s, far below what any subject can serve, so latency is service
time, not queueing.

Against: the ceiling and the peer in the same rounds, taking turns. The CI
gate divides upshotd's p99 in ms by max(1, the ceiling's p99 in ms) of the
same round, taking out scheduler stalls that the bare ceiling suffered too.

Target: upshotd p99 < 1 ms (CI floor in suite/gate.py). Bounds:
moderate_rounds rounds of moderate_secs per subject, each wrk run bounded by
its duration plus a minute.
"""
from suite.common import log, median, rotate
from suite.gate import check, round_noise, undisturbed
from suite.load import wrk


def run(ctx):
    procs, subjects, m = ctx.procs, ctx.subjects, ctx.m
    rounds = []
    for i in range(m["moderate_rounds"]):
        row = {}
        for name, url in rotate(subjects, i):
            r = wrk(procs, url, m["moderate_secs"], 8, delay_ms=1)
            row[name] = r
            log(f"moderate round {i + 1} {name:8s} {r['rps']:7.0f} req/s  p50 {r['p50_us']} us"
                f"  p99 {r['p99_us']} us  errors {r['bad']}  other processes "
                f"{r['foreign_cpu'] * 100:.0f}% CPU")
        rounds.append(row)
    summarize(rounds, ctx.results)


def summarize(rounds, results):
    names = list(rounds[0].keys())
    use = undisturbed(rounds, round_noise(rounds))
    mo = {"rounds": rounds, "connections": 8, "delay_ms": 1,
          "rps": {n: median([r[n]["rps"] for r in use]) for n in names},
          "p50_us": {n: median([r[n]["p50_us"] for r in use]) for n in names},
          "p99_us": {n: median([r[n]["p99_us"] for r in use]) for n in names}}
    results["moderate"] = mo
    if "upshotd" in names:
        per = [r["upshotd"]["p99_us"] / 1000.0 for r in rounds]
        c = check("moderate_p99_ms", median(per), per, round_noise(rounds))
        if "ceiling" in names:
            # What the gate looks at: upshotd's p99 with the part the bare
            # ceiling also suffered in the same round (scheduler stalls from
            # neighbours on a shared machine) taken out, i.e. the p99 in ms
            # divided by max(1, ceiling p99 in ms).
            c["gate_rounds"] = [r["upshotd"]["p99_us"] / max(1000.0, r["ceiling"]["p99_us"])
                                for r in rounds]
        results["checks"]["moderate_p99_ms"] = c
        if "ceiling" in names:
            mo["p99_vs_ceiling"] = median([r["upshotd"]["p99_us"] / max(1, r["ceiling"]["p99_us"])
                                           for r in use])
