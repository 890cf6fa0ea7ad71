"""The fault matrix: one real fault at a time under load, then an exact count.

Several client threads send traffic to a real upshotd over a real Redis:
exposures in three experiments and five regions, conversions with values
(some visitors order twice) and declines, every event with its own id.
Like the web SDK, a client retries whatever was not acknowledged (no 2xx,
or no answer at all) with the same visitor and event id until it is, so
the set of acknowledged events is exactly the set of events sent.

While the load runs, one fault is injected:
  - SIGKILL of upshotd, restarted half a second later;
  - SIGKILL of redis-server (AOF with appendfsync always), restarted;
  - SIGSTOP of redis-server for 10 s;
  - CLIENT PAUSE 5000 ALL (what a failover does);
  - the journal's disk full (a small tmpfs filled up, then freed);
  - Redis restarted with an empty data set.

Afterwards the journal is drained and, per experiment, variant and region,
the counters Redis holds (exposed visitors, converters, orders, revenue,
decliners, decline events) must equal what was acknowledged: nothing lost,
nothing counted twice. A Redis restarted empty has lost data that no
client can give back; there the test checks that upshotd says so.
"""
import collections
import os
import shutil
import signal
import threading
import time

import pytest

from harness import (RedisServer, Upshotd, can_mount_tmpfs, experiment, fill_disk, small_disk,
                     wait_until)

EXPERIMENTS = ("fm-placement", "fm-wording", "fm-tiers")
REGIONS = ("gr", "pl", "mena", "ee", "se")
CLIENTS = 4
# A client stops at this many visitors even if the fault is still on.
MAX_VISITORS_PER_CLIENT = 20000


def definitions():
    out = []
    for key in EXPERIMENTS:
        exp = experiment(key)
        exp["variants"] = [
            {"key": "control", "weight": 0.34, "payload": {"v": 0}},
            {"key": "b", "weight": 0.33, "payload": {"v": 1}},
            {"key": "c", "weight": 0.33, "payload": {"v": 2}},
        ]
        out.append(exp)
    return out


VARIANT_INDEX = {"control": 0, "b": 1, "c": 2}


class Ledger:
    """What was acknowledged, as the counters it implies."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cells = collections.defaultdict(lambda: collections.Counter())
        self.revenue = collections.defaultdict(float)
        self.where = {}  # (experiment, visitor) -> (variant index, region)
        self.converted = set()
        self.declined = set()

    def exposed(self, exp, visitor, variant, region):
        with self.lock:
            if (exp, visitor) in self.where:
                return
            self.where[(exp, visitor)] = (VARIANT_INDEX[variant], region)
            self.cells[(exp, VARIANT_INDEX[variant], region)]["e"] += 1

    def event(self, ev):
        with self.lock:
            vi, region = self.where[(ev["experiment"], ev["visitor"])]
            cell = self.cells[(ev["experiment"], vi, region)]
            who = (ev["experiment"], ev["visitor"])
            if ev["type"] == "conversion":
                cell["o"] += 1
                self.revenue[(ev["experiment"], vi, region)] += ev["value"]
                if who not in self.converted:
                    self.converted.add(who)
                    cell["c"] += 1
            else:
                cell["dn"] += 1
                if who not in self.declined:
                    self.declined.add(who)
                    cell["d"] += 1


def retry(call, deadline, pause=0.05):
    """Calls until it returns a value (an acknowledgement) or the deadline
    passes; connection errors count as no acknowledgement."""
    while time.monotonic() < deadline:
        try:
            value = call()
        except OSError:
            value = None
        if value is not None:
            return value
        time.sleep(pause)
    raise TimeoutError("an event was never acknowledged")


class Load:
    """CLIENTS threads, each with its own visitors, until stop() (or
    MAX_VISITORS_PER_CLIENT each)."""

    def __init__(self, up, ledger, tag):
        self.up, self.ledger, self.tag = up, ledger, tag
        self.errors = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(c,), daemon=True)
                        for c in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        return self

    def join(self, timeout=120):
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "a client thread hung"
        assert not self.errors, self.errors[:3]

    def _expose(self, exp, visitor, region):
        r = self.up.assign(visitor, region=region, experiment=exp)
        if r.status != 200:
            return None
        body = r.json()
        if body.get("exposure") != "recorded":
            return None
        return body["variant"]

    def _send(self, events):
        r = self.up.events(events)
        if r.status != 202:
            return None
        body = r.json()
        assert body["rejected"] == [], body
        return body

    def _client(self, c):
        try:
            deadline = time.monotonic() + 90
            for i in range(MAX_VISITORS_PER_CLIENT):
                if self.stopping.is_set():
                    break
                visitor = f"{self.tag}-c{c}-v{i}"
                region = REGIONS[(c + i) % len(REGIONS)]
                events = []
                for n, exp in enumerate(EXPERIMENTS):
                    variant = retry(lambda: self._expose(exp, visitor, region), deadline)
                    self.ledger.exposed(exp, visitor, variant, region)
                    roll = (i * 7 + n * 3 + c) % 10
                    if roll < 3:
                        value = round(5 + ((i * 31 + n * 17 + c) % 400) / 4, 2)
                        events.append({"id": f"{visitor}-{exp}-o1", "type": "conversion",
                                       "experiment": exp, "visitor": visitor, "value": value})
                        if roll == 0:
                            events.append({"id": f"{visitor}-{exp}-o2", "type": "conversion",
                                           "experiment": exp, "visitor": visitor, "value": 2.5})
                    elif roll < 5:
                        events.append({"id": f"{visitor}-{exp}-n", "type": "decline",
                                       "experiment": exp, "visitor": visitor})
                if events:
                    retry(lambda: self._send(events), deadline)
                    for ev in events:
                        self.ledger.event(ev)
        except Exception as e:  # surfaced by join()
            self.errors.append(repr(e))


def held_by_redis(redis, exp):
    """Redis's counters of one experiment, summed over days, by cell."""
    cells = collections.defaultdict(collections.Counter)
    revenue = collections.defaultdict(float)
    for field, value in redis.counters(exp).items():
        parts = field.split("|")
        if len(parts) != 4:
            continue
        metric, vi, region, _day = parts
        if metric in ("e", "c", "o", "d", "dn"):
            cells[(exp, int(vi), region)][metric] += int(value)
        elif metric == "s":
            revenue[(exp, int(vi), region)] += float(value)
    return cells, revenue


def assert_exact(redis, ledger):
    for exp in EXPERIMENTS:
        cells, revenue = held_by_redis(redis, exp)
        want = {k: v for k, v in ledger.cells.items() if k[0] == exp}
        assert set(cells) == set(want), (exp, sorted(set(cells) ^ set(want)))
        for cell, counts in want.items():
            for metric in ("e", "c", "o", "d", "dn"):
                assert cells[cell][metric] == counts[metric], (cell, metric, cells[cell][metric],
                                                               counts[metric])
            assert abs(revenue[cell] - ledger.revenue[cell]) < 1e-6, (cell, revenue[cell],
                                                                     ledger.revenue[cell])


def run_with_fault(redis, up, fault, tag):
    ledger = Ledger()
    load = Load(up, ledger, tag).start()
    time.sleep(1.0)  # the load is under way
    fault()
    time.sleep(1.0)  # and goes on after the fault
    load.stop().join()
    up.wait_applied(timeout=60)
    return ledger


def kill_upshotd(redis, up):
    up.kill(signal.SIGKILL)
    time.sleep(0.5)
    up.start()


def kill_redis(redis, up):
    redis.proc.kill()
    redis.proc.wait(10)
    time.sleep(0.5)
    redis.start()


def stop_redis(redis, up):
    redis.proc.send_signal(signal.SIGSTOP)
    time.sleep(10)
    redis.proc.send_signal(signal.SIGCONT)


def pause_redis(redis, up):
    assert redis.command("CLIENT", "PAUSE", "5000", "ALL") == "OK"
    time.sleep(5.5)


FAULTS = {
    "sigkill-upshotd": kill_upshotd,
    "sigkill-redis": kill_redis,
    "sigstop-redis-10s": stop_redis,
    "client-pause-5s": pause_redis,
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_nothing_acknowledged_is_lost_or_counted_twice(name):
    with RedisServer() as redis, Upshotd(redis, experiments=definitions()) as up:
        ledger = run_with_fault(redis, up, lambda: FAULTS[name](redis, up), name)
        assert_exact(redis, ledger)
        assert sum(c["o"] for c in ledger.cells.values()) > 100, "too little load to prove much"
        # Redis kept its data through the fault: no false alarm of a loss.
        assert up.health()["redis_data"] == "ok"
        if name != "sigkill-upshotd":
            # Every event was acknowledged at its first sending, so no client
            # sent one twice: batches replayed after the fault are not
            # client duplicates.
            for exp in EXPERIMENTS:
                assert redis.counters(exp).get("dup", 0) == 0, exp


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and tmpfs mounts")
def test_a_full_journal_disk_refuses_events_and_loses_none():
    with RedisServer() as redis:
        up = Upshotd(redis, experiments=definitions())
        with small_disk(up.data_dir), up:
            def fill():
                # Fill what is left, then free it a few seconds later.
                filler = fill_disk(up.data_dir)
                time.sleep(3)
                # The journal's last page may still hold a few short lines
                # (the filesystem allocates whole pages), and a line that
                # fits there is durable and rightly accepted; a few probes
                # later the page is full and the next is refused.
                for i in range(200):
                    refused = up.events([{"id": f"diskfull-probe-{i}", "type": "decline",
                                          "experiment": EXPERIMENTS[0], "visitor": "nobody"}])
                    if refused.status != 202:
                        break
                os.unlink(filler)
                # Nothing could be journaled, so nothing was acknowledged.
                assert refused.status == 503, refused
                assert refused.json()["error"] == "journal_unavailable", refused
            ledger = run_with_fault(redis, up, fill, "diskfull")
            assert_exact(redis, ledger)


def test_a_redis_restarted_empty_is_detected_and_reported():
    with RedisServer() as redis, Upshotd(redis, experiments=definitions()) as up:
        ledger = Ledger()
        load = Load(up, ledger, "before").start()
        time.sleep(1.0)
        load.stop().join()
        up.wait_applied(timeout=60)
        redis.proc.kill()
        redis.proc.wait(10)
        for name in os.listdir(redis.dir):
            path = os.path.join(redis.dir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        redis.start()
        wait_until(lambda: up.health().get("redis_data") == "lost", timeout=15,
                   what="upshotd to notice that Redis lost its data")
        health = up.health()
        assert health["status"] == "degraded", health
        assert "lost" in health["reason"], health
        metrics = up.get("/metrics").body
        assert "upshot_redis_data_lost 1" in metrics
        assert "data set" in up.read_log()


def test_a_flush_under_a_running_upshotd_is_detected():
    with RedisServer() as redis, Upshotd(redis, experiments=definitions()) as up:
        assert up.assign("before-flush", experiment=EXPERIMENTS[0]).status == 200
        up.wait_applied()
        assert up.health()["redis_data"] == "ok"
        assert redis.command("FLUSHALL") == "OK"
        wait_until(lambda: up.health().get("redis_data") == "lost", timeout=10,
                   what="upshotd to notice the flush")
        # Recording goes on into the new data set.
        assert up.assign("after-flush", experiment=EXPERIMENTS[0]).status == 200
        up.wait_applied()
        cells, _ = held_by_redis(redis, EXPERIMENTS[0])
        assert sum(c["e"] for c in cells.values()) == 1


def test_an_upshotd_restarted_on_an_intact_redis_reports_no_loss():
    with RedisServer() as redis, Upshotd(redis, experiments=definitions()) as up:
        assert up.assign("v1", experiment=EXPERIMENTS[0]).status == 200
        up.wait_applied()
        up.kill(signal.SIGTERM)
        up.start()
        assert up.assign("v2", experiment=EXPERIMENTS[0]).status == 200
        up.wait_applied()
        health = up.health()
        assert health["redis_data"] == "ok" and health["status"] == "ok", health
