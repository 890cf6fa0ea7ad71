"""A bounded backlog: when Redis falls behind, upshotd refuses, it does not pile up.

Events are acknowledged once they are in the journal and reach Redis
later. While Redis is stalled the journal grows; past
pipeline.max_backlog_events (or _bytes) upshotd answers 503 backlog_full
with Retry-After, acknowledges nothing it did not journal, and says how far
behind it is (/healthz, /metrics). When Redis is back everything that was
acknowledged arrives, exactly once, and nothing that was refused.
"""
import signal

from harness import RedisServer, Upshotd, wait_until

BOUND = 1000


def metric(up, name):
    for line in up.get("/metrics").body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def conversions(visitors, tag):
    return [{"id": f"{tag}-{v}", "type": "conversion", "experiment": "checkout-tiers",
             "visitor": v, "value": 10.0} for v in visitors]


def test_a_full_backlog_refuses_with_retry_after_and_loses_nothing():
    with RedisServer() as redis, \
            Upshotd(redis, pipeline={"max_backlog_events": BOUND, "degraded_lag_ms": 500}) as up:
        visitors = [f"bp-{i}" for i in range(150)]
        for v in visitors:
            assert up.assign(v).json()["exposure"] == "recorded"
        up.wait_applied()

        redis.proc.send_signal(signal.SIGSTOP)
        try:
            acknowledged, refused = [], None
            for n in range(40):  # 40 batches of 100 would be 4,000 events: past the bound
                batch = conversions(visitors[:100], f"b{n}")
                r = up.public("POST", "/v1/events", body={"events": batch},
                              headers={"Origin": "http://shop.example"})
                if r.status == 202:
                    acknowledged += batch
                    continue
                refused = r
                break
            assert refused is not None, "the backlog bound was never reached"
            assert refused.status == 503, refused
            assert refused.json()["error"] == "backlog_full", refused
            assert refused.headers["retry-after"] == "5"
            # A page on the shop's origin can read the header.
            assert "retry-after" in refused.headers["access-control-expose-headers"].lower()
            assert BOUND - 100 <= len(acknowledged) <= BOUND

            # Exposures are refused the same way; the page still gets its variant.
            r = up.assign("late-visitor")
            assert r.status == 200 and r.json()["exposure"] == "backlog_full", r

            health = up.health()
            assert health["status"] == "degraded", health
            assert health["journal_pending"] <= BOUND
            wait_until(lambda: metric(up, "upshot_apply_lag_seconds") >= 1.0, timeout=5,
                       what="the apply lag to grow while Redis is stopped")
            assert metric(up, "upshot_backlog_refusals_total") >= 2
        finally:
            redis.proc.send_signal(signal.SIGCONT)

        up.wait_applied(timeout=30)
        assert metric(up, "upshot_apply_lag_seconds") == 0
        wait_until(lambda: up.health()["status"] == "ok", what="healthz ok once Redis caught up")
        # Exactly what was acknowledged, and room for new events again.
        ids = redis.counted_event_ids("checkout-tiers")
        assert ids == {e["id"] for e in acknowledged}
        cnt = redis.counters("checkout-tiers")
        assert sum(v for k, v in cnt.items() if k.startswith("o|")) == len(acknowledged)
        assert up.events(conversions(visitors[:1], "after")).status == 202


def test_the_lag_shows_on_healthz_past_its_threshold():
    with RedisServer() as redis, Upshotd(redis, pipeline={"degraded_lag_ms": 300}) as up:
        assert up.assign("lag-1").json()["exposure"] == "recorded"
        up.wait_applied()
        assert up.health()["apply_lag_seconds"] == 0
        redis.proc.send_signal(signal.SIGSTOP)
        try:
            assert up.assign("lag-2").json()["exposure"] == "recorded"
            health = wait_until(lambda: (lambda h: h if h["apply_lag_seconds"] > 0.3 else None)(
                up.health()), timeout=5, what="the lag to pass 0.3 s")
            assert health["status"] == "degraded"
        finally:
            redis.proc.send_signal(signal.SIGCONT)
        up.wait_applied()
