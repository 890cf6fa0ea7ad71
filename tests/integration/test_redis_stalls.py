"""A Redis that stops answering for a while loses nothing acknowledged.

A failover, a long fork or a paused process all look the same to upshotd:
Redis keeps the connection open and answers nothing for seconds. These
tests stall a real redis-server in the two ways such stalls happen,
SIGSTOP of the process and `CLIENT PAUSE ... ALL` (what a failover does),
for 2, 5 and 10 seconds, while events keep being acknowledged, and then
compare exactly what was acknowledged with what Redis holds. They also
check that /healthz calls a stalled Redis degraded while it lasts.

The smallest pipeline settings (one event per script call, no flush delay)
make every acknowledged event its own batch, so a checkpoint that moved
past a batch whose own reply never confirmed it shows as missing visitors.
"""
import signal
import threading
import time

import pytest

from harness import RedisServer, Upshotd, expose_recorded, totals_by_variant, wait_until


def stall(redis, how, seconds):
    """Stalls redis for `seconds`; returns a function that ends the stall
    early if it is still on (SIGSTOP) or a no-op (CLIENT PAUSE ends by
    itself)."""
    if how == "sigstop":
        redis.proc.send_signal(signal.SIGSTOP)
        timer = threading.Timer(seconds, lambda: redis.proc.send_signal(signal.SIGCONT))
        timer.start()

        def end():
            timer.cancel()
            redis.proc.send_signal(signal.SIGCONT)
        return end
    assert redis.command("CLIENT", "PAUSE", str(int(seconds * 1000)), "ALL") == "OK"
    return lambda: None


def expose(up, first, count, acknowledged):
    for i in range(first, first + count):
        acknowledged[f"stall-{i}"] = expose_recorded(up, f"stall-{i}")


def recorded_visitors(up):
    return {v: t["visitors"] for v, t in totals_by_variant(up.results()).items()}


def expected_visitors(acknowledged):
    out = {}
    for variant in acknowledged.values():
        out[variant] = out.get(variant, 0) + 1
    return out


@pytest.mark.parametrize("how", ["sigstop", "client-pause"])
@pytest.mark.parametrize("seconds", [2, 5, 10])
def test_a_stall_loses_no_acknowledged_exposure(how, seconds):
    with RedisServer() as redis, \
            Upshotd(redis, pipeline={"batch_size": 1, "flush_ms": 0}) as up:
        acknowledged = {}
        expose(up, 0, 4, acknowledged)
        up.wait_applied()
        began = time.monotonic()
        end = stall(redis, how, seconds)
        try:
            expose(up, 4, 4, acknowledged)
            # Into the stall (past the writer's 3 s slow-Redis watchdog when
            # the stall is that long, so the connection is dropped with
            # replies pending), then more events while it lasts.
            time.sleep(max(0.0, min(0.75 * seconds, 3.5) - (time.monotonic() - began)))
            health = up.health()
            assert health["status"] == "degraded", health
            expose(up, 8, 16, acknowledged)
            time.sleep(max(0.0, seconds + 0.2 - (time.monotonic() - began)))
        finally:
            end()
        up.wait_applied(timeout=30)
        assert recorded_visitors(up) == expected_visitors(acknowledged)
        wait_until(lambda: up.health()["status"] == "ok", what="healthz back to ok")
