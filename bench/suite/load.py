"""The load generators, and waiting until what upshotd acknowledged is in
Redis.

    wrk()            one bounded wrk run (-t1) with bench/wrk/assign.lua,
                     its BENCHJSON figures and the CPU share other
                     processes took meanwhile;
    ingest_driver()  one bounded bench/bench_ingest run;
    wait_in_redis()  upshotd's journal drained and the counts read back
                     through the results endpoint as expected;
    wait_drained()   let earlier work finish before the next measurement.
"""
import json
import os
import re
import time

from upshot_testlib.procs import http_get

from suite.common import (ADMIN_TOKEN, EXPERIMENT, LOAD_CPU, SDK_KEY, WRK_SCRIPT, BenchError)


def wrk(procs, url, secs, conns, delay_ms=0, timeout_s=2):
    """wrk -t1 -c conns for secs seconds on LOAD_CPU; each connection pauses
    delay_ms after every response. Returns the script's BENCHJSON figures
    plus `bad` (errors of any kind) and `foreign_cpu`."""
    env = dict(os.environ, BENCH_EXPERIMENT=EXPERIMENT, BENCH_SDK_KEY=SDK_KEY,
               BENCH_DELAY_MS=str(delay_ms))
    mark = procs.meter.start()
    out = procs.run(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--timeout", f"{timeout_s}s",
                     "-s", WRK_SCRIPT, url], cpu=LOAD_CPU, timeout=secs + 60, env=env)
    foreign = procs.meter.foreign_share(mark)
    m = re.search(r"^BENCHJSON (\{.*\})$", out, re.M)
    if not m:
        raise BenchError("wrk printed no BENCHJSON line:\n" + out[-1500:])
    r = json.loads(m.group(1))
    r["bad"] = sum(r["errors"].values())
    r["foreign_cpu"] = round(foreign, 3)
    return r


def ingest_driver(procs, exe, port, phase, experiment, first, n, tag, dup_share):
    """bench_ingest posting n visitors' events of one phase (expose or
    convert) in batches of 1,000 over 64 connections, dup_share of batches
    resent; bounded to two minutes. Returns its JSON summary."""
    out = procs.run([exe, "--port", str(port), "--key", SDK_KEY, "--experiment", experiment,
                     "--phase", phase, "--visitors", str(n), "--first", str(first),
                     "--batch", "1000", "--connections", "64", "--dup-share", str(dup_share),
                     "--tag", tag, "--visitor-prefix", f"{experiment[:3]}-",
                     "--seconds", "120"], cpu=LOAD_CPU, timeout=180)
    r = json.loads(out.strip().splitlines()[-1])
    if not r.get("complete"):
        raise BenchError(f"bench_ingest {phase} incomplete: {r}")
    return r


def upshot_counts(port, experiment):
    """(visitors, orders, conversions) over all variants and regions, from
    the results endpoint (read from Redis by upshotd)."""
    _, body = http_get(f"http://127.0.0.1:{port}/v1/experiments/{experiment}/results",
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    j = json.loads(body)
    vs = j.get("total", {}).get("variants", [])
    return (sum(v.get("visitors", 0) for v in vs), sum(v.get("orders", 0) for v in vs),
            sum(v.get("conversions", 0) for v in vs))


def journal_pending(port):
    _, body = http_get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    return json.loads(body).get("journal_pending")


def wait_in_redis(port, experiment, want_visitors, want_orders, timeout=60.0):
    """Waits until upshotd's journal is drained (every acknowledged event
    applied to Redis: /healthz journal_pending 0) and the counts read back
    from Redis through the results endpoint match. Returns the wall-clock
    time the drain was first seen (or, without a journal gauge, the time the
    counts first matched), and the counts."""
    deadline = time.monotonic() + timeout
    t_seen = None
    while time.monotonic() < deadline:
        pending = journal_pending(port)
        if pending is None:
            break
        if pending == 0:
            t_seen = time.time()
            break
        time.sleep(0.002)
    else:
        raise BenchError("upshotd's journal did not drain within the time bound")
    counts = (0, 0, 0)
    while time.monotonic() < deadline:
        counts = upshot_counts(port, experiment)
        if counts[0] >= want_visitors and counts[1] >= want_orders:
            return (t_seen if t_seen is not None else time.time()), *counts
        time.sleep(0.02)
    raise BenchError(f"Redis counts stayed at visitors={counts[0]} orders={counts[1]}, "
                     f"expected {want_visitors}/{want_orders}")


def wait_drained(port, timeout=30.0):
    """Lets upshotd finish applying earlier work (e.g. the assign benchmark's
    exposures) so it does not count against the next measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal_pending(port) in (0, None):
            return
        time.sleep(0.01)
