"""upshotd's resident memory with many experiments.

Measures: VmRSS of an upshotd started with a generated config of
many_experiments (10,000) experiments, half a second after /healthz first
answers, and how long that start-up took.

Against: the run's main upshotd right after its start with two experiments
(ctx.one_rss_kib); the report gives the bytes per extra experiment. No
target: a figure to watch. Bounds: start-up waits two minutes at most; the
upshotd is stopped before the benchmark returns.
"""
import time

from upshot_testlib.procs import rss_kib

from suite.common import REGIONS, bench_experiment, log, start_upshotd


def run(ctx):
    n = ctx.m["many_experiments"]
    exps = []
    for i in range(n):
        e = bench_experiment(f"gen-{i:05d}", REGIONS[: 1 + i % 5])
        e["pages"] = [f"page-{i % 50}"]
        exps.append(e)
    t0 = time.monotonic()
    port, p, _ = start_upshotd(ctx.procs, ctx.tmp, ctx.upshotd_exe, ctx.redis_port,
                               "upshotd-10k", exps)
    startup = time.monotonic() - t0
    time.sleep(0.5)
    rss = rss_kib(p.pid)
    ctx.procs.stop(p)
    one = ctx.one_rss_kib
    ctx.results["upshotd_memory"] = {
        "experiments": n, "rss_kib": rss, "rss_one_experiment_kib": one,
        "bytes_per_experiment": (rss - one) * 1024 / (n - 1),
        "startup_s": startup,
    }
    log(f"upshotd RSS: {rss / 1024:.1f} MiB with {n} experiments, "
        f"{one / 1024:.1f} MiB with one; start-up {startup:.1f}s")
