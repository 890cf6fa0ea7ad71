"""What every benchmark shares: paths, the SDK key and experiments the
subjects serve, where each process runs (CPU placement), logging, and
starting an upshotd for a benchmark.

CPU placement. The machine has two cores shared by the load generator, the
server under test and Redis. Every HTTP subject (ceiling, upshotd, peer)
runs pinned to SERVER_CPU; wrk, bench_ingest and redis-server to LOAD_CPU.
So each server gets one whole core (upshotd is single-threaded; the peer's
Node threads all share that core too), and the load generator and Redis
share the other. For the Redis baseline of the ingestion benchmark,
redis-benchmark takes upshotd's place on SERVER_CPU (it is Redis's client
there, as upshotd is). With fewer than two CPUs or no taskset, nothing is
pinned (upshot_testlib.procs.Procs ignores the CPU then).
"""
import os
import statistics
import subprocess
import time

from upshot_testlib import servers
from upshot_testlib.procs import ProcessError, free_port
from upshot_testlib.resp import RedisError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
WRK_SCRIPT = os.path.join(BENCH, "wrk", "assign.lua")
PEER_DIR = os.path.join(BENCH, "peer")

SDK_KEY = "pk_bench_0123456789"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
EXPERIMENT = "bench-exp"
MEM_EXPERIMENT = "mem-exp"
REGIONS = ["gr", "pl", "mena", "ee", "se"]

SERVER_CPU, LOAD_CPU = "0", "1"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class BenchError(RuntimeError):
    """A benchmark could not produce a meaningful figure."""


# What makes one benchmark fail to run without stopping the others: reported
# as an error, never as a performance verdict.
RUN_ERRORS = (BenchError, ProcessError, RedisError, subprocess.TimeoutExpired, KeyError,
              ValueError, OSError)


def median(xs):
    """Median of the values that are not None; None when there are none."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rotate(seq, k):
    """seq turned by k places: the order subjects take in round k."""
    k %= len(seq)
    return seq[k:] + seq[:k]


def bench_payload(variant, tier):
    """An offer payload of realistic size (a few hundred bytes in total)."""
    return {
        "placement": "checkout_popup",
        "headline": f"Upgrade to {tier} and save on delivery",
        "cta": "Add to my order",
        "tiers": ["basic", "standard", "premium"],
        "urgency": "offer ends at midnight" if variant != "control" else None,
        "social_proof": "4.7/5 from 2,310 reviews",
    }


def bench_experiment(key, regions=REGIONS):
    """A running two-variant experiment, the one every HTTP subject serves."""
    return {
        "key": key, "salt": key, "status": "running", "placement": "checkout_popup",
        "pages": ["checkout"], "regions": regions, "traffic_percent": 100,
        "control": "control", "goal": "conversion",
        "variants": [
            {"key": "control", "weight": 0.5, "payload": bench_payload("control", "standard")},
            {"key": "premium", "weight": 0.5, "payload": bench_payload("premium", "premium")},
        ],
    }


def write_config(path, port, redis_port, data_dir, experiments):
    """An upshotd config for the benchmarks (also read by the peer)."""
    cfg = servers.upshotd_config(port, redis_port, data_dir, ADMIN_TOKEN, SDK_KEY, experiments)
    servers.write_json(path, cfg)
    return cfg


def start_upshotd(procs, tmp, exe, redis_port, name, experiments):
    """An upshotd on SERVER_CPU with a config of its own in tmp; waits up to
    two minutes for /healthz (10,000 experiments take a while to load).
    Returns (port, process, config path)."""
    port = free_port()
    data = os.path.join(tmp, name + "-data")
    os.makedirs(data, exist_ok=True)
    cfg = os.path.join(tmp, name + ".json")
    write_config(cfg, port, redis_port, data, experiments)
    p = servers.start_upshotd(lambda n, argv: procs.start(n, argv, cpu=SERVER_CPU), exe, cfg,
                              port, timeout=120, name=name)
    return port, p, cfg


class Context:
    """What bench/run started and hands to every benchmark's run(ctx):

    procs         upshot_testlib.procs.Procs of this run (pinning, stop_all)
    tmp           the run's temporary folder (configs, logs, data)
    m             the mode's parameters (bench/run's MODES)
    results       the dict every benchmark adds its figures and checks to
    exes          built programs by target name
    redis_port    the shared redis-server; redis: a resp.Redis client of it
    upshotd_exe   upshotd's path; upshotd_port its port (None: not built)
    one_rss_kib   upshotd's RSS right after start with its two experiments
    subjects      [(name, url)]: ceiling, upshotd, peer, for moderate load
    assign_subjects  subjects plus ceiling-cl, for the assign benchmark
    """

    def __init__(self, **kw):
        self.subjects = self.assign_subjects = []
        self.upshotd_exe = self.upshotd_port = self.one_rss_kib = None
        self.__dict__.update(kw)
