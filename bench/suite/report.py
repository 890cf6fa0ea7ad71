"""The reports: the summary table printed after every run, and with
--full docs/performance.md (the table, the targets, each round's figures,
the machine and how it was measured) and bench/results/latest.json (every
figure of the run). tools/readme-performance copies the table, the first
paragraph and the machine of docs/performance.md into README.md, so their
shape is a contract with it: the table's header row starts `| measure |`,
and the machine section is `## Machine`.
"""
import json
import os
import platform
import subprocess
from datetime import datetime, timezone

from suite.common import PEER_DIR
from suite.gate import NOISY_SHARE, disturbed, shortfall


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M{unit}"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k{unit}"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    return f"{v:.3g}{unit}"


def rounds_text(c):
    """'rounds 0.73, 0.81, 0.45*' with * marking disturbed rounds."""
    noise = c.get("noise") or [0.0] * len(c["rounds"])
    marks = ["*" if disturbed(n) else "" for n in noise]
    text = ", ".join(f"{x:.2f}{m}" for x, m in zip(c["rounds"], marks))
    if any(marks):
        return f"median of undisturbed rounds; all rounds {text} (* disturbed)"
    return f"median of rounds {text}"


def table(results):
    rows = []
    ck = results["checks"]
    a = results.get("assign")

    def status(key):
        c = ck.get(key)
        if not c or c["value"] is None:
            return "not measured"
        s = "met" if c["met"] else "MISSED"
        if c.get("verdict") == "inconclusive":
            s += " (every round disturbed by other processes)"
        return s

    if a:
        rps, p50, p99 = a["rps"], a["p50_us"], a["p99_us"]
        for n in ("ceiling", "upshotd", "peer", "ceiling-cl"):
            if n in rps:
                rows.append([f"assign, wrk -t1 -c64: {n}", f"{fmt(rps[n])} req/s, p50 {p50[n]:.0f} us,"
                             f" p99 {p99[n]:.0f} us", "", "", ""])
        if "assign_vs_ceiling" in ck:
            c = ck["assign_vs_ceiling"]
            rows.append(["assign: upshotd / ceiling", f"{c['value']:.3f}x",
                         rounds_text(c), ">= 0.85x",
                         status("assign_vs_ceiling")])
        if "assign_vs_peer" in ck:
            c = ck["assign_vs_peer"]
            rows.append(["assign: upshotd / GrowthBook-Node peer", f"{c['value']:.2f}x",
                         rounds_text(c), ">= 2x",
                         status("assign_vs_peer")])
        if a.get("known_share") is not None:
            rows.append(["assign: upshotd exposures that were repeats, not sent to Redis",
                         f"{a['known_share'] * 100:.0f}%", "visitor ids drawn from a million; "
                         "warm-up and every round", "", ""])
        if a.get("upshotd_vs_ceiling_cl"):
            c = a["upshotd_vs_ceiling_cl"]
            rows.append(["assign: upshotd / ceiling-cl (the ceiling with upshotd's epoll "
                         "changelist; context, no target)", f"{c['value']:.3f}x",
                         "median of rounds " + ", ".join(f"{v:.2f}" for v in c["rounds"]),
                         "", ""])
        if a.get("peer_vs_ceiling"):
            rows.append(["assign: peer / ceiling", f"{a['peer_vs_ceiling']:.3f}x", "", "", ""])
    mo = results.get("moderate")
    if mo:
        for n in ("ceiling", "upshotd", "peer"):
            if n in mo["p99_us"]:
                rows.append([f"moderate load (8 conns, 1 ms pause): {n}",
                             f"p99 {mo['p99_us'][n] / 1000:.3f} ms",
                             f"{fmt(mo['rps'][n])} req/s, p50 {mo['p50_us'][n]:.0f} us",
                             "< 1 ms" if n == "upshotd" else "",
                             status("moderate_p99_ms") if n == "upshotd" else ""])
    ing = results.get("ingest")
    if ing:
        rows.append(["ingestion, mix (exposures, 5% conversions, 2% declines) per Redis core",
                     f"{fmt(ing['mix_per_redis_core_s'])} events/s",
                     f"{ing['mix_redis_us']:.2f} us Redis CPU/event; wall {fmt(ing['mix_per_s'])}/s "
                     f"({ing['mix_vs_redis_script']:.2f}x the 1-command script)", ">= 200k/s",
                     status("ingest_events_per_s")])
        rows.append(["ingestion, conversions alone", f"{fmt(ing['convert_per_s'])} events/s",
                     f"{ing['convert_redis_us']:.2f} us Redis CPU/event "
                     f"({fmt(ing['convert_per_redis_core_s'])}/Redis core s); exposures "
                     f"{fmt(ing['expose_per_s'])}/s, {ing['expose_redis_us']:.2f} us", "", ""])
        c = ck["ingest_vs_redis_script"]
        rows.append(["conversions / Redis one-command script calls (redis-benchmark -P64 -c50)",
                     f"{c['value']:.3f}x", f"Redis: {fmt(ing['redis_simple_script_per_s'])} "
                     f"EVALSHA INCR/s, {fmt(ing['redis_set_per_s'])} SET/s",
                     f">= {c['target']:.2f}x", status("ingest_vs_redis_script")])
        rows.append(["ingestion / per-event record script (redis-benchmark -P64 -c50)",
                     f"{ing['vs_record_script']:.2f}x",
                     f"Redis: {fmt(ing['redis_record_script_per_s'])} events/s, one "
                     f"EVALSHA per event", "", ""])
    for sc in results.get("ingest_scaling") or []:
        m = sc["masters"]
        ok = sc["worst_share_vs_even"] <= 0.10 and abs(sc["cpu_vs_one_master"] - 1) <= 0.10
        rows.append([f"ingestion scaling: one hot experiment over {m} master{'s' if m > 1 else ''}",
                     f"{sc['cpu_vs_one_master']:.3f}x one master's Redis CPU/event",
                     f"{sc['redis_us_per_event']:.2f} us/event; shares "
                     + ", ".join(f"{x:.3f}" for x in sc["share"].values())
                     + f" (1/m = {1 / m:.3f}); {sc['events_per_call']:.0f} events per call",
                     "shares and CPU/event within 10%", "met" if ok else "MISSED"])
    b = results.get("bucketing")
    if b:
        rows.append(["bucketing, one core: hash_bucket", f"{fmt(b['bucket_per_s'])}/s",
                     f"{b['bucket_vs_copy']:.3f}x the copy floor ({fmt(b['copy_per_s'])}/s); "
                     f"raw murmur3 {fmt(b['murmur_per_s'])}/s", "", ""])
        if b.get("assign_per_s"):
            rows.append(["bucketing, one core: full assignment", f"{fmt(b['assign_per_s'])}/s",
                         f"{b['assign_vs_copy']:.3f}x the copy floor", ">= 20M/s",
                         status("bucketing_per_s")])
        else:
            rows[-1][3:] = [">= 20M/s", status("bucketing_per_s")]
    s = results.get("stats")
    if s:
        rows.append(["statistics: results of 5 variants x 50 regions",
                     f"{s['ms']:.3f} ms" if s["ms"] is not None else "n/a",
                     "bench_stats --json", "< 5 ms", status("stats_ms")])
    fa = results.get("factorial")
    if fa:
        aa, pw = fa["aa"], fa["power"]
        rows.append([f"factorial promotion, A/A: runs promoting anything within {fa['days']} days",
                     f"{aa['rate'] * 100:.1f}%", f"{aa['false']} of {aa['runs']} runs, 95% CI "
                     f"{aa['ci'][0] * 100:.1f}-{aa['ci'][1] * 100:.1f}%; offer-strategy's 16 cells, "
                     f"5 regions, {fa['daily_total']:,} visitors/day", "<= 5%",
                     status("factorial_aa_false_rate")])
        rows.append([f"factorial promotion: true best cell promoted within {fa['days']} days",
                     ", ".join(f"{r} {v * 100:.0f}%" for r, v in pw["found_rate"].items()),
                     f"{pw['runs']} runs with tools/simulate's true effects; a wrong cell "
                     f"promoted in {pw['wrong_rate'] * 100:.1f}% of region-runs", "", ""])
    bd = results.get("bandit")
    if bd:
        for sc, what in (("strong", "one wording +20%"), ("aa", "A/A"),
                         ("regional", "best wording by region")):
            x = bd[sc]
            rows.append([f"bandit vs fixed split, 30 days: regret, {what}",
                         f"{x['regret_bandit']:.0f} vs {x['regret_fixed']:.0f} conversions",
                         f"{bd['runs']} experiments; best wording leads from day "
                         f"{x['largest_day'] or 0:.1f}, fixed split promotes it on day "
                         f"{x['fixed_promote_day'] or 0:.1f}" if sc != "aa"
                         else f"{bd['runs']} experiments", "", ""])
        rows.append(["bandit A/A: experiments with a false promotion",
                     f"{bd['aa_rate'] * 100:.2f}%",
                     f"{bd['aa_any_promotion']} of {bd['aa_experiments']}, 95% CI "
                     f"{bd['aa_ci_lo'] * 100:.2f}..{bd['aa_ci_hi'] * 100:.2f}%", "<= 5%",
                     status("bandit_aa_false_promotion")])
    rm = results.get("redis_memory")
    if rm:
        rows.append(["Redis bytes per (visitor, experiment)", f"{rm['bytes_per_visitor']:.1f} B",
                     f"{rm['visitors']:,} visitors exposed, 4% converted; "
                     f"{rm['bytes_per_visitor_exposed']:.1f} B exposed only", "<= 120 B",
                     status("redis_bytes_per_visitor")])
    um = results.get("upshotd_memory")
    if um:
        rows.append(["upshotd RSS, 10,000 experiments", f"{um['rss_kib'] / 1024:.1f} MiB",
                     f"{um['rss_one_experiment_kib'] / 1024:.1f} MiB with one; "
                     f"{um['bytes_per_experiment']:.0f} B per experiment; "
                     f"start-up {um['startup_s']:.1f} s", "", ""])
    lines = ["| measure | result | context | target | status |", "| --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    model = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip() \
                .splitlines()[0]
        except Exception:
            return "unknown"
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "wrk": ver(["wrk", "-v"]), "redis": ver(["redis-server", "--version"]),
            "node": ver(["node", "--version"]),
            "growthbook": json.load(open(os.path.join(PEER_DIR, "node_modules", "@growthbook",
                                                      "growthbook", "package.json")))["version"]
            if os.path.exists(os.path.join(PEER_DIR, "node_modules", "@growthbook")) else None}


def target_lines(results):
    names = {
        "assign_vs_ceiling": "assign throughput, upshotd / ceiling",
        "assign_vs_peer": "assign throughput, upshotd / GrowthBook-Node peer",
        "moderate_p99_ms": "p99 at moderate load, ms",
        "ingest_events_per_s": "ingestion, mix events per Redis core second",
        "ingest_vs_redis_script": "conversions / Redis one-command script rate",
        "bucketing_per_s": "full assignments/s on one core",
        "stats_ms": "statistics, ms per experiment",
        "redis_bytes_per_visitor": "Redis bytes per (visitor, experiment)",
        "factorial_aa_false_rate": "factorial promotion, A/A runs promoting anything",
        "bandit_aa_false_promotion": "bandit A/A false promotion rate",
    }
    out = []
    for key, c in results["checks"].items():
        v, t = c["value"], c["target"]
        if v is None:
            continue
        if c["met"]:
            out.append(f"- met: {names.get(key, key)}: {fmt(v)} (target {fmt(t)})")
        else:
            out.append(f"- **missed**: {names.get(key, key)}: {fmt(v)}, target {fmt(t)} "
                       f"({shortfall(c):.0f}% short)")
    for sk in results.get("skipped", []):
        out.append(f"- not measured: {sk}")
    return "\n".join(out)


def round_details(results):
    """Per-round figures of the HTTP benchmarks, so a reader can see the
    spread behind each median."""
    out = []
    for key, title in (("assign", "Assign rounds (wrk -t1 -c64)"),
                       ("moderate", "Moderate-load rounds (wrk -t1 -c8, 1 ms pause)")):
        sect = results.get(key)
        if not sect:
            continue
        names = list(sect["rounds"][0].keys())
        out.append(f"### {title}\n")
        out.append("| round | " + " | ".join(f"{n} req/s | {n} p99 us" for n in names)
                   + " | others' CPU |")
        out.append("| --- " * (2 * len(names) + 2) + "|")
        for i, row in enumerate(sect["rounds"]):
            cells = [f"{row[n]['rps']:.0f} | {row[n]['p99_us']}" for n in names]
            noise = max(row[n].get("foreign_cpu", 0) for n in names)
            out.append(f"| {i + 1} | " + " | ".join(cells) + f" | {noise * 100:.0f}% |")
        out.append("")
    ing = results.get("ingest")
    if ing:
        out.append("### Ingestion rounds\n")
        out.append("| round | mix/s | mix Redis us/event | conversions/s | conversions Redis "
                   "us/event | exposures/s | exposures Redis us/event | SET/s | "
                   "1-command script/s | record script/s | others' CPU |")
        out.append("| --- " * 11 + "|")
        for i, x in enumerate(ing["rounds"]):
            out.append(f"| {i + 1} | {x['mix_per_s']:.0f} | {x['mix_redis_us']:.2f} | "
                       f"{x['convert_per_s']:.0f} | {x['convert_redis_us']:.2f} | "
                       f"{x['expose_per_s']:.0f} | {x['expose_redis_us']:.2f} | "
                       f"{x['redis_set_per_s']:.0f} | {x['redis_simple_script_per_s']:.0f} | "
                       f"{x['redis_record_script_per_s']:.0f} | {x['foreign_cpu'] * 100:.0f}% |")
        out.append("")
    return "\n".join(out)


def write_performance_md(results, tbl, path):
    mc = results["machine"]
    text = f"""# Performance

Measured by `bench/run --full` on {mc['date']}. Every ratio compares
subjects measured side by side in the same run, taking turns round by
round; absolute numbers drift on shared machines, the ratios much less.
Processes outside the benchmark used a median {100 * (results.get('other_processes_cpu_share_median') or 0):.0f}% of the machine's CPU
during the measured rounds (a round above {NOISY_SHARE * 100:.0f}% counts as disturbed; the CI
gate ignores disturbed rounds).

{tbl}

## Targets

{target_lines(results)}

{round_details(results)}

## Machine

| | |
| --- | --- |
| CPUs (nproc) | {mc['nproc']} |
| CPU model | {mc['cpu']} |
| kernel | {mc['kernel']} |
| date | {mc['date']} |
| wrk | {mc['wrk']} |
| Redis | {mc['redis']} |
| Node | {mc['node']}, @growthbook/growthbook {mc['growthbook']} |

## How it was measured

- **Assign**: `wrk -t1 -c64 -d{results['mode_params']['assign_secs']}s --timeout 2s -s
  bench/wrk/assign.lua`, {results['mode_params']['assign_rounds']} rounds, subjects rotated
  each round; each request `GET /v1/assign?experiment=bench-exp&expose=1&key=...&visitor=vN&region=R`
  with N drawn from a million and R from gr, pl, mena, ee, se. upshotd records the
  exposure in Redis. The **ceiling** is `bench/baseline_server` (bare libevent evhttp,
  one thread) returning upshotd's own assign response body
  ({results.get('body_bytes', 'n/a')} bytes). **ceiling-cl** is the same server with
  libevent's epoll changelist on, the event-loop setting upshotd uses
  (`engine/main.c`): context for how much of upshotd's ratio that setting buys,
  not a target. The **peer** is `bench/peer/server.js`: Node's
  http server evaluating the same experiment (variants, weights, region condition,
  coverage) per request with `GrowthBookClient.runInlineExperiment`; it records
  nothing (its tracking callback only counts), so it does less work than upshotd.
  Reported: median requests/s and latency over the undisturbed rounds (all rounds
  when every one was disturbed); ratios are medians of the per-round ratios.
- **Moderate load**: `wrk -t1 -c8` with the script's `delay()` hook pausing 1 ms
  after each response on each connection, so the offered rate stays a small
  fraction of capacity; p99 is the median of the rounds' p99.
- **Ingestion**: `bench/bench_ingest` posts batches of 1,000 events over 64
  keep-alive connections, in three phases per round: one exposure per new
  visitor; one conversion per visitor exposed before, with an order value and
  its own event id, 5% of batches posted twice (retries, which must come back
  as duplicates); and the mix a shop sends (new visitors' exposures, 5% of
  them converting with a value and 2% declining in the same batch). A phase's
  rate is its distinct events divided by the time from the first POST until
  upshotd's journal is drained and the counts read back through the results
  endpoint match; Redis's CPU per event is the growth of `used_cpu_user +
  used_cpu_sys` (INFO CPU) over the phase divided by its events, and its
  inverse the events per Redis core second (the wall rate on two shared cores
  measures the box). It is compared with `redis-benchmark -P 64 -c 50` on the
  same Redis in the same round: `SET` (raw pipelined commands), `EVALSHA` of a
  one-command script (the trivial script call the conversion ratio is taken
  to), and `EVALSHA` of a script doing per event what engine/record.lua does
  for one conversion, which is what a client without batching would pay.
- **Bucketing**: `bench/bench_bucketing` on one pinned core over a million
  ids, best of {results['mode_params']['bucket_rounds']} interleaved rounds, against a
  copy floor (building the hashed string with memcpy, no hash).
- **Statistics**: `bench/bench_stats --json` (full results of one experiment,
  5 variants x 50 regions).
- **Bandit**: `bench/sim_bandit --runs {results['mode_params']['bandit_runs']} --aa
  {results['mode_params']['bandit_aa']}` (the traffic, settings and figures are in its
  header comment and bench/README.md).
- **Memory**: Redis `MEMORY USAGE` summed over the keys of one experiment
  (hash tag `{{x:mem-exp}}`) after {results['mode_params']['mem_visitors']:,} visitors were exposed
  and 4% of them converted; upshotd's VmRSS after start-up with a generated
  config of 10,000 experiments, against one experiment.
- **CPU placement** (the same for every subject): {results['pinning']}.
  Redis runs without persistence (no RDB, no AOF).
"""
    with open(path, "w") as f:
        f.write(text)


def write_json(results, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
