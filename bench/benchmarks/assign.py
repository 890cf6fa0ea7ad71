"""Assign throughput over HTTP.

Measures: requests/s and latency of `GET /v1/assign?expose=1` (exposure
recorded in Redis) at 64 connections, wrk -t1, visitor ids drawn from a
million (bench/wrk/assign.lua).

Against: in the same rounds, taking turns in a rotated order, the ceiling
(bench/baseline_server: bare evhttp returning upshotd's own response body)
and the peer (bench/peer/server.js: GrowthBook's SDK in Node's http server,
same experiment). Context without a target: ceiling-cl, the ceiling with the
epoll changelist upshotd uses, and the share of exposures upshotd did not
send to Redis because the visitor was already known (engine/core/seen.h).

Targets: upshotd / ceiling >= 0.85, upshotd / peer >= 2 (suite/gate.py has
the CI floors). Bounds: one warm-up of warm_secs per subject, then
assign_rounds rounds of assign_secs per subject; extra_rounds more only when
a ratio looks below its CI floor or every round was disturbed. Every wrk
run is bounded by its duration plus a minute.
"""
import re

from upshot_testlib.procs import http_get

from suite.common import BenchError, log, median, rotate
from suite.gate import check, gate_verdict, round_noise, undisturbed
from suite.load import wrk


def run(ctx):
    """Throughput at 64 connections, subjects interleaved round by round."""
    procs, subjects, m, results = ctx.procs, ctx.assign_subjects, ctx.m, ctx.results
    log("assign: warm-up")
    for name, url in subjects:
        wrk(procs, url, m["warm_secs"], 64)
    rounds = []

    def one_round(i):
        row = {}
        for name, url in rotate(subjects, i):
            r = wrk(procs, url, m["assign_secs"], 64)
            row[name] = r
            log(f"assign round {i + 1} {name:8s} {r['rps']:9.0f} req/s  p50 {r['p50_us']} us"
                f"  p99 {r['p99_us']} us  errors {r['bad']}  other processes "
                f"{r['foreign_cpu'] * 100:.0f}% CPU")
        rounds.append(row)

    for i in range(m["assign_rounds"]):
        one_round(i)
    summarize(rounds, results)
    known_share(dict(subjects).get("upshotd"), results)
    # Repeat when a ratio looks clearly low, so a burst of noise during one
    # round set cannot fail CI on its own.
    keys = ("assign_vs_ceiling", "assign_vs_peer")
    if m["extra_rounds"] and any(gate_verdict(results["checks"][k]) != "ok"
                                 for k in keys if k in results["checks"]):
        log("assign: a ratio is below its CI threshold or every round was disturbed; "
            "repeating rounds")
        for i in range(m["assign_rounds"], m["assign_rounds"] + m["extra_rounds"]):
            one_round(i)
        summarize(rounds, results)
        known_share(dict(subjects).get("upshotd"), results)


def known_share(url, results):
    """Which share of the exposures upshotd recorded were repeats of visitors
    Redis already held, left out of its Redis writes (engine/core/seen.h). Ids
    drawn from a million repeat more as the rounds go on, as returning
    visitors do; the report says how many did, so the figure can be read."""
    if not url or "assign" not in results:
        return
    _, body = http_get(url + "/metrics")
    text = body.decode()
    known = re.search(r"^upshot_exposures_known_total (\d+)", text, re.M)
    accepted = re.search(r'^upshot_events_total\{type="exposure",outcome="accepted"\} (\d+)',
                         text, re.M)
    if known and accepted and int(accepted.group(1)):
        results["assign"]["known_share"] = int(known.group(1)) / int(accepted.group(1))


def summarize(rounds, results):
    names = list(rounds[0].keys())
    a = {"rounds": rounds, "rps": {}, "p50_us": {}, "p99_us": {}}
    use = undisturbed(rounds, round_noise(rounds))
    for n in names:
        a["rps"][n] = median([r[n]["rps"] for r in use])
        a["p50_us"][n] = median([r[n]["p50_us"] for r in use])
        a["p99_us"][n] = median([r[n]["p99_us"] for r in use])
    errors = {n: sum(r[n]["bad"] for r in rounds) for n in names}
    a["errors"] = errors
    if "upshotd" in names:
        if errors["upshotd"]:
            raise BenchError(f"upshotd answered {errors['upshotd']} requests with errors "
                             "during the assign benchmark; its figures would be meaningless")
        for other, key in (("ceiling", "assign_vs_ceiling"), ("peer", "assign_vs_peer")):
            if other in names:
                per = [r["upshotd"]["rps"] / r[other]["rps"] for r in rounds]
                results["checks"][key] = check(key, median(per), per, round_noise(rounds))
    if "peer" in names and "ceiling" in names:
        a["peer_vs_ceiling"] = median([r["peer"]["rps"] / r["ceiling"]["rps"] for r in use])
    if "upshotd" in names and "ceiling-cl" in names:
        per = [r["upshotd"]["rps"] / r["ceiling-cl"]["rps"] for r in use]
        a["upshotd_vs_ceiling_cl"] = {"value": median(per), "rounds": per}
    results["assign"] = a
