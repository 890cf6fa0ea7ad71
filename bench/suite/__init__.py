"""The benchmark suite's own modules, imported by bench/run (which puts
bench/ on sys.path) and by the benchmarks in bench/benchmarks/:

    common  names, CPU placement, the benchmark experiment and starting
            upshotd for a benchmark;
    load    the load generators (wrk, bench_ingest) and waiting until what
            upshotd acknowledged is in Redis;
    gate    targets, CI thresholds and disturbed rounds: a figure's verdict;
    report  the summary table, docs/performance.md and the JSON results.

Processes, free ports and the Redis client are tests/lib/upshot_testlib's,
shared with the integration tests.
"""
