"""Every event upshotd acknowledged is counted in Redis exactly once, across
a Redis outage, SIGKILL and SIGTERM of upshotd, and restarts; the live
experiments and promotions made through the API survive a SIGKILL too.

Each test tracks what upshotd acknowledged (2xx) and compares it with the
counters in the real Redis after the failure: Redis stopped and restarted,
upshotd killed with SIGKILL, upshotd stopped with SIGTERM.
"""
import collections
import os
import shutil
import signal
import threading

from harness import RedisServer, Upshotd, experiment, expose_recorded, totals_by_variant, wait_until


class Ledger:
    """What the server acknowledged, and the counts it implies."""

    def __init__(self):
        self.variant_of = {}            # visitor -> variant
        self.revenue = collections.defaultdict(float)
        self.orders = collections.Counter()
        self.decliners = set()

    def expected(self):
        out = {}
        for visitor, variant in self.variant_of.items():
            c = out.setdefault(variant, {"visitors": 0, "conversions": 0, "orders": 0,
                                         "revenue_sum": 0.0, "revenue_sumsq": 0.0, "decliners": 0})
            c["visitors"] += 1
            if visitor in self.revenue:
                c["conversions"] += 1
                c["revenue_sum"] += self.revenue[visitor]
                c["revenue_sumsq"] += self.revenue[visitor] ** 2
                c["orders"] += self.orders[visitor]
            if visitor in self.decliners:
                c["decliners"] += 1
        return out


def drive(up, ledger, first, count, region="gr"):
    """Exposes visitors first..first+count, then converts or declines some;
    records only what was acknowledged."""
    for i in range(first, first + count):
        visitor = f"visitor-{i}"
        ledger.variant_of[visitor] = expose_recorded(up, visitor, region=region)
    events = []
    for i in range(first, first + count):
        visitor = f"visitor-{i}"
        if i % 3 == 0:
            value = round(10 + (i % 17) * 2.5, 2)
            events.append({"id": f"order-{i}", "type": "conversion", "experiment": "checkout-tiers",
                           "visitor": visitor, "value": value})
            if i % 9 == 0:  # a second order of the same visitor
                events.append({"id": f"order-{i}-b", "type": "conversion",
                               "experiment": "checkout-tiers", "visitor": visitor, "value": 5.0})
        elif i % 5 == 0:
            events.append({"id": f"no-{i}", "type": "decline", "experiment": "checkout-tiers",
                           "visitor": visitor})
    for start in range(0, len(events), 50):
        batch = events[start:start + 50]
        r = up.events(batch)
        assert r.status == 202, r
        assert r.json()["rejected"] == [], r
        for ev in batch:
            if ev["type"] == "conversion":
                ledger.revenue[ev["visitor"]] += ev["value"]
                ledger.orders[ev["visitor"]] += 1
            else:
                ledger.decliners.add(ev["visitor"])
    return r.json()


def assert_each_event_counted_once(redis, experiment="checkout-tiers"):
    """Independent of what was acknowledged: every counted order and
    decline event is exactly one member of the event-id set, so a replay
    that counted an event twice would show as more events than ids."""
    cnt = redis.counters(experiment)
    counted = sum(v for k, v in cnt.items() if k.split("|")[0] in ("o", "dn", "po", "pdn"))
    assert counted == len(redis.counted_event_ids(experiment)), (counted, cnt)


def assert_counts_match(up, ledger):
    got = totals_by_variant(up.results())
    want = ledger.expected()
    assert set(want) <= set(got)
    for variant, w in want.items():
        g = got[variant]
        for field in ("visitors", "conversions", "orders", "decliners"):
            assert g[field] == w[field], (variant, field, g[field], w[field])
        assert abs(g["revenue_sum"] - w["revenue_sum"]) < 1e-6 * max(1, w["revenue_sum"])
        assert abs(g["revenue_sumsq"] - w["revenue_sumsq"]) < 1e-6 * max(1, w["revenue_sumsq"])


def test_redis_down_spools_and_replays_exactly_once(redis):
    ledger = Ledger()
    with Upshotd(redis) as up:
        drive(up, ledger, 0, 60)
        up.wait_applied()
        redis.stop()
        up_health = up.health()
        # Assignments still work and events are acknowledged into the spool.
        last = drive(up, ledger, 60, 90)
        assert last["spooled"] is True
        health = up.health()
        assert health["status"] == "degraded" and health["redis"] == "down", health
        assert health["journal_pending"] > 0
        assert up_health is not None
        # Results need Redis: a clear 503, not a crash.
        r = up.admin("GET", "/v1/experiments/checkout-tiers/results")
        assert r.status == 503 and r.json()["error"] == "redis_unavailable", r
        redis.start()
        up.wait_applied(timeout=20)
        # The shared state reconnects on its own schedule (at most 2 s apart).
        wait_until(lambda: up.health()["status"] == "ok", timeout=5, what="healthy again")
        assert_counts_match(up, ledger)
        assert_each_event_counted_once(redis)


def test_sigkill_after_acknowledgement_loses_nothing(redis):
    ledger = Ledger()
    up = Upshotd(redis)
    try:
        up.start()
        drive(up, ledger, 0, 40)
        up.wait_applied()
        # With Redis away, acknowledged events exist only in upshotd's journal.
        redis.stop()
        drive(up, ledger, 40, 80)
        assert up.health()["journal_pending"] > 0
        assert up.kill(signal.SIGKILL) == -signal.SIGKILL
        redis.start()
        up.start()
        up.wait_applied(timeout=20)
        assert_counts_match(up, ledger)
        assert_each_event_counted_once(redis)
    finally:
        up.__exit__(None, None, None)


def test_sigkill_under_load_counts_each_event_once(redis):
    """Kill upshotd while it is writing to Redis: the journal replays from
    the last checkpoint, and batches applied just before the kill must not
    count twice."""
    ledger = Ledger()
    up = Upshotd(redis, pipeline={"flush_ms": 5, "batch_size": 16})
    try:
        up.start()
        errors = []

        def load():
            try:
                drive(up, ledger, 0, 300)
            except Exception as exc:  # the kill interrupts the last request
                errors.append(exc)

        t = threading.Thread(target=load)
        t.start()
        threading.Event().wait(0.4)
        up.kill(signal.SIGKILL)
        t.join(30)
        up.start()
        up.wait_applied(timeout=20)
        assert len(ledger.variant_of) > 0
        got = totals_by_variant(up.results())
        want = ledger.expected()
        for variant, w in want.items():
            g = got[variant]
            # Every acknowledged event is there; at most the one request in
            # flight at the kill may have been journaled but not acknowledged.
            assert 0 <= g["visitors"] - w["visitors"] <= 1, (variant, g, w)
            assert 0 <= g["conversions"] - w["conversions"] <= 50, (variant, g, w)
        assert_each_event_counted_once(redis)
        total_visitors = sum(g["visitors"] for g in got.values())
        assert total_visitors == len(set(ledger.variant_of)) or total_visitors == len(ledger.variant_of) + 1
    finally:
        up.__exit__(None, None, None)


def test_sigterm_drains_the_journal_and_exits_cleanly(redis):
    ledger = Ledger()
    up = Upshotd(redis, pipeline={"flush_ms": 1000, "batch_size": 10000})
    try:
        up.start()
        drive(up, ledger, 0, 50)
        # flush_ms is long: most events are still only in the journal now.
        assert up.kill(signal.SIGTERM) == 0
        assert "drained (0 events left" in up.read_log()
        # Counted without restarting upshotd: read Redis directly.
        cnt = redis.counters("checkout-tiers")
        visitors = sum(v for k, v in cnt.items() if k.startswith("e|"))
        assert visitors == len(ledger.variant_of)
    finally:
        up.__exit__(None, None, None)


def test_state_survives_restart(redis):
    """Experiments created and promoted through the API are live after a restart."""
    up = Upshotd(redis)
    try:
        up.start()
        r = up.admin("POST", "/v1/experiments", experiment("urgency-se", regions=["se"]))
        assert r.status == 201, r
        r = up.admin("POST", "/v1/experiments/urgency-se/start")
        assert r.status == 200 and r.json()["status"] == "running", r
        r = up.admin("POST", "/v1/experiments/checkout-tiers/promotions",
                     {"region": "pl", "variant": "three-tiers", "holdback": 0.1, "reason": "won in pl"})
        assert r.status == 200, r
        up.kill(signal.SIGKILL)
        up.start()
        r = up.admin("GET", "/v1/experiments/urgency-se")
        assert r.status == 200 and r.json()["status"] == "running", r
        promo = up.admin("GET", "/v1/experiments/checkout-tiers").json()["promotions"]["pl"]
        assert promo["variant"] == "three-tiers" and promo["holdback"] == 0.1
        log = up.admin("GET", "/v1/experiments/checkout-tiers/log").json()["entries"]
        assert any(e["action"] == "promote" and e["reason"] == "won in pl" and
                   e["actor"] == "admin" and e["details"]["on_behalf_of"] == "integration-test"
                   for e in log), log
    finally:
        up.__exit__(None, None, None)


def metric(up, name):
    for line in up.get("/metrics").body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_repeat_exposures_skip_redis_until_it_may_have_lost_records(redis):
    """A repeat exposure of a visitor Redis already holds is not sent to Redis
    (engine/core/seen.h) and changes no count. When Redis comes back empty (a
    restart that lost its data), the writer has forgotten what it knew, so
    the same visitor is recorded again rather than silently skipped."""
    with Upshotd(redis) as up:
        assert up.assign("r1").json()["exposure"] == "recorded"
        up.wait_applied()
        known = metric(up, "upshot_exposures_known_total")
        assert metric(up, "upshot_seen_pairs") == 1
        for _ in range(5):
            assert up.assign("r1").json()["exposure"] == "recorded"
        up.wait_applied()
        assert metric(up, "upshot_exposures_known_total") == known + 5
        assert sum(c["visitors"] for c in totals_by_variant(up.results()).values()) == 1

        redis.stop()
        for name in os.listdir(redis.dir):  # the AOF: Redis restarts empty
            path = os.path.join(redis.dir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        redis.start()
        wait_until(lambda: up.health()["redis"] == "up", timeout=20, what="the reconnect")
        assert metric(up, "upshot_seen_pairs") == 0
        assert up.assign("r1").json()["exposure"] == "recorded"
        up.wait_applied()
        assert sum(c["visitors"] for c in totals_by_variant(up.results()).values()) == 1
        assert metric(up, "upshot_exposures_known_total") == known + 5


def test_first_exposure_decides_within_one_replayed_batch(redis):
    """After an outage the journal is replayed in large batches, and the
    writer sends each batch's exposures grouped by the record they create.
    A visitor's later exposure (here: the same visitor seen in another
    region) must still not overtake its first one, even when its group comes
    first in the batch."""
    with Upshotd(redis) as up:
        redis.stop()
        wait_until(lambda: up.health()["redis"] == "down", what="the outage to be noticed")
        v = up.assign("victim", region="gr", expose=False).json()["variant"]
        other = next(f"o{i}" for i in range(1000)
                     if up.assign(f"o{i}", region="pl", expose=False).json()["variant"] == v)
        assert up.assign(other, region="pl").json()["exposure"] == "recorded"  # (v, pl) first
        assert up.assign("victim", region="gr").json()["exposure"] == "recorded"  # victim's first
        assert up.assign("victim", region="pl").json()["exposure"] == "recorded"  # a later one
        redis.start()
        up.wait_applied(timeout=20)
        counts = redis.counters("checkout-tiers")
        exposed = {region: sum(n for f, n in counts.items() if f.startswith("e|") and f.split("|")[2] == region)
                   for region in ("gr", "pl")}
        assert exposed == {"gr": 1, "pl": 1}, counts
        records = redis.command(
            "EVAL", "local out = {} for _, k in ipairs(redis.call('KEYS', KEYS[1])) do "
            "local r = redis.call('HGET', k, ARGV[1]) if r then out[#out + 1] = r end end return out",
            "1", "{x:checkout-tiers:*}:v:*", "victim")
        assert len(records) == 1 and records[0].split("|")[1] == "gr", records


def test_sigterm_drain_ends_on_its_own_when_the_tail_is_all_repeats(redis):
    """When the last batches of a drain hold only repeat exposures (nothing
    left to send), the drain must notice it is done rather than wait for its
    5 s deadline, which upshotd logs when it is reached."""
    with Upshotd(redis, pipeline={"batch_size": 1, "flush_ms": 0}) as up:
        up.assign("known")
        up.wait_applied()
        up.assign("known")
        up.wait_applied()
        redis.command("CLIENT", "PAUSE", "1500", "ALL")  # batches pile up behind it
        for i in range(4):
            up.assign(f"new{i}")
        for _ in range(20):
            up.assign("known")
        assert up.kill(signal.SIGTERM) == 0
        log = up.read_log()
        assert "upshotd: drained (0 events left" in log, log[-800:]
        assert "drain deadline" not in log, log[-800:]


def test_replay_skips_malformed_journal_lines_and_applies_the_rest(redis):
    """A line that is not one upshotd writes (engine/core/journal_line.h) is
    skipped when the journal is applied, never sent to Redis as something
    close to it; the lines around it are applied and the backlog drains."""
    up = Upshotd(redis)
    up.start()
    assert up.assign("before").json()["exposure"] == "recorded"
    up.wait_applied()
    up.stop()
    day = "2026-11-22"
    with open(os.path.join(up.data_dir, "journal.log"), "a") as f:
        f.write(f"X\tcheckout-tiers\tbad-variant\tseven\tgr\t{day}\n")
        f.write(f"X\tcheckout-tiers\tbad-day\t0\tgr\tyesterday\n")
        f.write(f"C\tcheckout-tiers\tbefore\tbad-amount\tnan\t{day}\n")
        f.write(f"X\tcheckout-tiers\tbad-fields\t0\tgr\n")
        f.write(f"X\tcheckout-tiers\tgood\t1\tgr\t{day}\n")
    try:
        up.start()
        up.wait_applied()
        records = {}
        for key in redis.command("KEYS", "{x:checkout-tiers:*}:v:*"):
            records.update(redis.hgetall(key))
        assert records.get("good") == "1|gr|", records
        assert not {"bad-variant", "bad-day", "bad-fields"} & set(records), records
        counters = redis.counters("checkout-tiers")
        assert counters.get(f"e|1|gr|{day}") == 1, counters
        assert not [f for f in counters if "seven" in f or "yesterday" in f or f.startswith("o|")], counters
        assert up.read_log().count("skipping a malformed journal line") == 4
    finally:
        up.stop()


def test_a_replayed_journal_counts_no_duplicates_but_the_clients_own(redis):
    """Replays are not client duplicates. A crash between Redis applying a
    batch and the checkpoint moving replays the batch; here the checkpoint
    is set back to the start of the journal, as such a crash leaves it, so
    every line is applied a second time. Counters must not move, 'dup'
    must stay what the clients caused (one id sent again after a restart
    emptied the recent-id cache), and the replays show as outcome
    'replayed' in /metrics."""
    up = Upshotd(redis)
    up.start()
    try:
        ledger = Ledger()
        drive(up, ledger, 0, 60)
        up.stop()
        up.start()  # the recent-id cache is empty now: the id reaches Redis again
        r = up.events([{"id": "order-0", "type": "conversion", "experiment": "checkout-tiers",
                        "visitor": "visitor-0", "value": 10.0}])
        assert r.status == 202 and r.json()["accepted"] == 1, r
        up.wait_applied()
        before = redis.counters("checkout-tiers")
        assert before["dup"] == 1, before
        up.stop()
        with open(os.path.join(up.data_dir, "journal.ckpt"), "w") as f:
            f.write("%020d\n" % 0)
        up.start()
        up.wait_applied()
        assert redis.counters("checkout-tiers") == before
        assert_counts_match(up, ledger)
        assert_each_event_counted_once(redis)
        replayed = sum(float(line.split()[1]) for line in up.get("/metrics").body.splitlines()
                       if line.startswith("upshot_events_total{") and 'outcome="replayed"' in line)
        assert replayed >= 20, replayed
    finally:
        up.stop()
