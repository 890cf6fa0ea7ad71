"""Ingestion: events into Redis, with Redis's own CPU per event.

Measures, in every round, three phases posted by bench/bench_ingest in
batches of 1,000 over 64 keep-alive connections:
  expose   one exposure per visitor (new visitors);
  convert  one conversion per visitor exposed before, with an order value
           (5% of batches resent as retries, which must come back as
           duplicates): the conversions-only figure;
  mix      what a shop sends: new visitors' exposures, 5% of them
           converting with a value and 2% declining in the same batch.
The wall rate of a phase is its distinct events divided by the time from
the first POST until upshotd's journal is drained and the counts read back
from Redis through the results endpoint match (Redis holding more orders
than distinct conversions fails the benchmark: dedup broken). Next to it,
Redis CPU per event: the growth of used_cpu_user + used_cpu_sys (INFO CPU)
over the phase divided by its distinct events, and its inverse, events per
Redis core second, which the shared 2-core machine does not cap the way it
caps the wall rate (load generator, upshotd and Redis share two cores).

Against, in every round on the same Redis, redis-benchmark -P 64 -c 50:
SET of one key (raw pipelined commands), EVALSHA of a one-command script
(the trivial script call the ratios are taken to), and EVALSHA of
REDIS_EQUIV_SCRIPT (per event what engine/record.lua does for a
conversion, i.e. a client without batching).

Targets: the mix at >= 200k events per Redis core second (from its CPU per
event), and conversions alone >= 0.4x the one-command script rate of the
same round (suite/gate.py). Bounds: ingest_rounds rounds of ingest_visitors
visitors per phase; each bench_ingest run is bounded to two minutes (three
with start-up), each redis-benchmark run to three, each wait for Redis to a
minute.
"""
from suite.common import EXPERIMENT, SERVER_CPU, BenchError, log, median
from suite.gate import check, undisturbed
from suite.load import ingest_driver, wait_drained, wait_in_redis

# The Lua script given to redis-benchmark: what engine/record.lua does for
# one conversion of an exposed visitor, one event per call: read the
# visitor's record from its shard, claim the event id with its
# acknowledgment token (HSETNX), rewrite the
# record with the running revenue, and bump the converter, order, revenue and
# revenue-squared counters. upshotd sends up to 512 events per script call
# and folds the counter increments of a batch together; this baseline pays
# them per event, which is what a client without batching would send.
REDIS_EQUIV_SCRIPT = """
local shard = KEYS[3] .. (tonumber(ARGV[1]) % 65536)
local rec = redis.call('HGET', shard, ARGV[1])
if redis.call('HSETNX', KEYS[2], ARGV[2], 'feed00000000002a') == 0 then return 1 end
redis.call('HSET', shard, ARGV[1], '0|gr|c|' .. ARGV[3])
redis.call('HINCRBY', KEYS[1], 'c|0|gr|20261122', 1)
redis.call('HINCRBY', KEYS[1], 'o|0|gr|20261122', 1)
redis.call('HINCRBYFLOAT', KEYS[1], 's|0|gr|20261122', ARGV[3])
redis.call('HINCRBYFLOAT', KEYS[1], 'q|0|gr|20261122', ARGV[3] * ARGV[3])
return 0
"""


def redis_benchmark(procs, port, r, requests):
    """Three pipelined rates of the same Redis (redis-benchmark -P 64 -c 50,
    as in the reference points of docs/anchors): SET of one key, EVALSHA of a
    one-command script (INCR), and EVALSHA of REDIS_EQUIV_SCRIPT with random
    visitors and event ids. Returns (set, simple_script, record_script)."""
    def rb(*cmd, n=requests, rand=None):
        argv = ["redis-benchmark", "-p", str(port), "-P", "64", "-c", "50", "-n", str(n), "--csv"]
        if rand:
            argv += ["-r", str(rand)]
        out = procs.run(argv + list(cmd), cpu=SERVER_CPU, timeout=180)
        for ln in out.splitlines():
            cells = [c.strip('"') for c in ln.split(",")]
            if len(cells) >= 2:
                try:
                    return float(cells[1])
                except ValueError:
                    continue
        raise BenchError("cannot parse redis-benchmark output: " + out[-400:])

    incr = r.command("SCRIPT", "LOAD", "return redis.call('INCR', KEYS[1])").decode()
    record = r.command("SCRIPT", "LOAD", REDIS_EQUIV_SCRIPT).decode()
    set_rps = rb("SET", "{x:rb}:k", "v", n=requests * 2)
    simple = rb("EVALSHA", incr, "1", "{x:rb}:n")
    equiv = rb("EVALSHA", record, "3", "{x:rb}:cnt", "{x:rb}:ev", "{x:rb}:v:", "__rand_int__",
               "c-__rand_int__", "42.50", n=max(50000, requests // 4), rand=100000000)
    # drop what the baselines wrote so it does not skew the memory figures
    for k in r.keys_matching("{x:rb}:*"):
        r.command("DEL", k)
    return set_rps, simple, equiv


def redis_cpu_s(r):
    """Redis's own CPU seconds so far (INFO CPU: user + system, main thread
    and all)."""
    i = r.info("cpu")
    return float(i["used_cpu_user"]) + float(i["used_cpu_sys"])


def mix_counts(first, n):
    """Conversions and declines bench_ingest's mix phase adds for visitors
    first..first+n-1 (every 20th converts, every 50th at 7 declines)."""
    conv = sum(1 for v in range(first, first + n) if v % 20 == 0)
    decl = sum(1 for v in range(first, first + n) if v % 50 == 7)
    return conv, decl


def phase(procs, exe, u_port, r, phase_name, first, n, tag, dup, want_v, want_o, events):
    """One bench_ingest phase timed to the drain; returns (driver summary,
    wall rate, Redis CPU us per event)."""
    cpu0 = redis_cpu_s(r)
    out = ingest_driver(procs, exe, u_port, phase_name, EXPERIMENT, first, n, tag, dup)
    t_end, visitors, orders, conversions = wait_in_redis(u_port, EXPERIMENT, want_v, want_o)
    cpu = redis_cpu_s(r) - cpu0
    if orders != want_o:
        raise BenchError(f"Redis holds {orders} orders after {want_o} distinct conversions "
                         f"(and {out['events_retried']} retried events): deduplication failed")
    return out, events / (t_end - out["t_start"]), cpu / events * 1e6


def run(ctx):
    procs, exe, u_port, m = ctx.procs, ctx.exes["bench_ingest"], ctx.upshotd_port, ctx.m
    rounds = []
    n = m["ingest_visitors"]
    want_v = want_o = 0
    for i in range(m["ingest_rounds"]):
        first = i * 2 * n + 1
        tag = f"r{i}"
        wait_drained(u_port)
        mark = procs.meter.start()
        want_v += n
        _, ex_rate, ex_cpu = phase(procs, exe, u_port, ctx.redis, "expose", first, n, tag, 0.0,
                                   want_v, want_o, n)
        want_o += n
        cv, cv_rate, cv_cpu = phase(procs, exe, u_port, ctx.redis, "convert", first, n, tag, 0.05,
                                    want_v, want_o, n)
        conv, decl = mix_counts(first + n, n)
        want_v += n
        want_o += conv
        mx, mx_rate, mx_cpu = phase(procs, exe, u_port, ctx.redis, "mix", first + n, n, tag + "m",
                                    0.05, want_v, want_o, n + conv + decl)
        foreign = procs.meter.foreign_share(mark)
        row = {
            "expose_events": n, "expose_per_s": ex_rate, "expose_redis_us": ex_cpu,
            "convert_events": n, "convert_retried": cv["events_retried"],
            "convert_per_s": cv_rate, "convert_redis_us": cv_cpu,
            "convert_acked_per_s": cv["acked_events_per_s"],
            "duplicates_reported": cv["response_totals"].get("duplicates"),
            "mix_events": n + conv + decl, "mix_per_s": mx_rate, "mix_redis_us": mx_cpu,
            "foreign_cpu": round(foreign, 3),
        }
        st, simple, equiv = redis_benchmark(procs, ctx.redis_port, ctx.redis, m["rb_requests"])
        row.update(redis_set_per_s=st, redis_simple_script_per_s=simple,
                   redis_record_script_per_s=equiv)
        rounds.append(row)
        log(f"ingest round {i + 1}: mix {mx_rate:.0f} events/s ({mx_cpu:.2f} us Redis CPU each, "
            f"{1e6 / mx_cpu:.0f}/Redis core s); conversions {cv_rate:.0f}/s ({cv_cpu:.2f} us); "
            f"exposures {ex_rate:.0f}/s ({ex_cpu:.2f} us); {row['duplicates_reported']} retries "
            f"reported duplicate; redis-benchmark -P64: SET {st:.0f}/s, 1-command script "
            f"{simple:.0f}/s (conversions {cv_rate / simple:.2f}x, mix {mx_rate / simple:.2f}x), "
            f"per-event record script {equiv:.0f}/s; other processes {foreign * 100:.0f}% CPU")
    summarize(rounds, ctx.results)


def summarize(rounds, results):
    noise = [x["foreign_cpu"] for x in rounds]
    use = undisturbed(rounds, noise)

    def med(k):
        return median([x[k] for x in use])
    results["ingest"] = {
        "rounds": rounds,
        "convert_per_s": med("convert_per_s"),
        "expose_per_s": med("expose_per_s"),
        "mix_per_s": med("mix_per_s"),
        "convert_redis_us": med("convert_redis_us"),
        "expose_redis_us": med("expose_redis_us"),
        "mix_redis_us": med("mix_redis_us"),
        "mix_per_redis_core_s": median([1e6 / x["mix_redis_us"] for x in use]),
        "convert_per_redis_core_s": median([1e6 / x["convert_redis_us"] for x in use]),
        "redis_simple_script_per_s": med("redis_simple_script_per_s"),
        "redis_record_script_per_s": med("redis_record_script_per_s"),
        "redis_set_per_s": med("redis_set_per_s"),
        "vs_record_script": median([x["convert_per_s"] / x["redis_record_script_per_s"]
                                    for x in use]),
        "mix_vs_redis_script": median([x["mix_per_s"] / x["redis_simple_script_per_s"]
                                       for x in use]),
    }
    core = [1e6 / x["mix_redis_us"] for x in rounds]
    results["checks"]["ingest_events_per_s"] = check("ingest_events_per_s", median(core), core,
                                                     noise)
    per = [x["convert_per_s"] / x["redis_simple_script_per_s"] for x in rounds]
    results["checks"]["ingest_vs_redis_script"] = check("ingest_vs_redis_script", median(per), per,
                                                        noise)
