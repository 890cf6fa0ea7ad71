"""One benchmark a module, each with run(ctx) (ctx: suite.common.Context)
adding its figures to ctx.results and its checks to
ctx.results["checks"]:

    assign     HTTP assign throughput: upshotd vs the ceiling and the peer
    moderate   p99 latency at moderate load, same subjects
    ingest     conversions into Redis vs redis-benchmark on the same Redis
    bucketing  assignments per second on one core vs a memcpy floor
    stats      the statistics of one experiment, in ms
    memory     Redis bytes per (visitor, experiment)
    rss        upshotd's resident memory with 10,000 experiments vs one
"""
