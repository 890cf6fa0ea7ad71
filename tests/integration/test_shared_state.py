"""Several upshotd instances on one Redis share their experiments.

The shared state (docs/redis.md, "Shared state") is the truth: every
instance serves the same assignments, sees a change made through any
other within a second (a notification, and a version check when the
notification is lost), never silently loses one of two concurrent
changes, honours If-Match, serves its cached copy while Redis is down,
imports a state.json of older versions, treats the config file as a seed,
and runs auto-promotion on one instance at a time.
"""
import json
import os
import statistics
import threading
import time

from harness import Proc, RedisServer, Upshotd, experiment, servers, wait_until

SEEN_WITHIN_S = 1.0


def instances(redis, n, experiments=None, **settings):
    exps = experiments if experiments is not None else [experiment()]
    return [Upshotd(redis, json.loads(json.dumps(exps)), **settings) for _ in range(n)]


def started(ups):
    for u in ups:
        u.start()
    return ups


def stop_all(ups):
    for u in ups:
        u.__exit__(None, None, None)


def get_exp(up, key="checkout-tiers"):
    r = up.admin("GET", f"/v1/experiments/{key}")
    assert r.status == 200, r
    return r.json()


def seen_after(up, predicate, limit=SEEN_WITHIN_S * 3):
    """Seconds until predicate(experiment on up) holds (polled every 2 ms)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if predicate(get_exp(up)):
            return time.monotonic() - t0
        time.sleep(0.002)
    raise AssertionError("the change never reached the instance")


def log_of(up, key="checkout-tiers"):
    r = up.admin("GET", f"/v1/experiments/{key}/log")
    assert r.status == 200, r
    return r.json()["entries"]


def test_every_instance_assigns_the_same_variant(redis):
    ups = started(instances(redis, 3))
    try:
        for i in range(300):
            got = {u.assign(f"visitor-{i}", expose=False).json()["variant"] for u in ups}
            assert len(got) == 1, (i, got)
    finally:
        stop_all(ups)


def test_a_change_through_one_instance_reaches_the_others_within_a_second(redis):
    ups = started(instances(redis, 3))
    try:
        delays = []
        for i in range(12):
            pct = 10 + i
            r = ups[i % 3].admin("PUT", "/v1/experiments/checkout-tiers",
                                 body=experiment(traffic_percent=pct))
            assert r.status == 200, r
            for other in ups:
                if other is ups[i % 3]:
                    continue
                delays.append(seen_after(other, lambda e: e.get("traffic_percent") == pct))
        print(f"\nchange propagation: median {statistics.median(delays) * 1000:.1f} ms, "
              f"max {max(delays) * 1000:.1f} ms over {len(delays)} observations")
        assert max(delays) < SEEN_WITHIN_S, delays
        # And the others' assignments follow the new definition too.
        assert ups[1].assign("v", expose=False).json()["in_experiment"] in (True, False)
    finally:
        stop_all(ups)


def test_the_version_check_catches_a_change_whose_message_was_lost(redis):
    """The subscriber is killed right before a change (its message goes
    nowhere); and a change written straight into Redis is not published at
    all. The periodic version check still brings both within a second."""
    ups = started(instances(redis, 2))
    a, b = ups
    try:
        delays = []
        for pct in (21, 22, 23):
            wait_until(lambda: redis.command("PUBSUB", "NUMSUB", "upshot:changes")[1] == 2,
                       what="both subscribers back")
            killed = redis.command("CLIENT", "KILL", "TYPE", "pubsub")
            assert killed == 2, killed
            assert a.admin("PUT", "/v1/experiments/checkout-tiers",
                           body=experiment(traffic_percent=pct)).status == 200
            delays.append(seen_after(b, lambda e: e.get("traffic_percent") == pct))
        print(f"\nwithout the notification: {[round(d * 1000) for d in delays]} ms")
        assert max(delays) < SEEN_WITHIN_S, delays
        # Unpublished: a new revision and version, no message.
        cur = json.loads(redis.command("HGET", "{upshot}:experiments", "checkout-tiers"))
        cur["traffic_percent"] = 37
        cur["revision"] += 1
        redis.command("HSET", "{upshot}:experiments", "checkout-tiers", json.dumps(cur))
        redis.command("INCR", "{upshot}:version")
        for u in ups:
            assert seen_after(u, lambda e: e.get("traffic_percent") == 37) < SEEN_WITHIN_S
    finally:
        stop_all(ups)


def concurrently(*calls):
    """Runs the calls at the same moment; returns their results in order."""
    barrier = threading.Barrier(len(calls))
    out = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        out[i] = fn()
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_conflicting_changes_are_never_silently_lost(redis):
    ups = started(instances(redis, 2))
    a, b = ups
    try:
        outcomes = {"one_409": 0, "both_applied": 0}
        acknowledged = 0
        for i in range(40):
            before = get_exp(a)
            wait_until(lambda: get_exp(b)["revision"] == before["revision"], what="b in step")
            ra, rb = concurrently(
                lambda: a.admin("PUT", "/v1/experiments/checkout-tiers", body=experiment(traffic_percent=30)),
                lambda: b.admin("PUT", "/v1/experiments/checkout-tiers", body=experiment(traffic_percent=60)))
            statuses = sorted([ra.status, rb.status])
            assert statuses in ([200, 200], [200, 409]), (ra, rb)
            for r in (ra, rb):
                if r.status == 409:
                    assert r.json()["error"] == "concurrent_change", r
                    assert "checkout-tiers" in r.json()["message"], r
            ok = [r.json() for r in (ra, rb) if r.status == 200]
            after = get_exp(a)
            # Each acknowledged change is one revision and one audit entry.
            assert after["revision"] == before["revision"] + len(ok), (before["revision"], after, ok)
            assert max(o["revision"] for o in ok) == after["revision"]
            last = [o for o in ok if o["revision"] == after["revision"]][0]
            assert after["traffic_percent"] == last["traffic_percent"]
            outcomes["one_409" if len(ok) == 1 else "both_applied"] += 1
            acknowledged += len(ok)
            # Reset for the next round (also a change).
            assert a.admin("PUT", "/v1/experiments/checkout-tiers", body=experiment()).status == 200
        updates = [e for e in log_of(a) if e["action"] == "update"]
        assert len(updates) == 40 + acknowledged, (len(updates), acknowledged)
        print(f"\nconcurrent updates: {outcomes}")
        assert outcomes["one_409"] > 0, outcomes  # the race did happen
    finally:
        stop_all(ups)


def test_concurrent_changes_of_different_fields_are_both_applied(redis):
    """A stop and a promotion race: the loser is reapplied on the winner's
    definition, so both are made, in some order."""
    ups = started(instances(redis, 2))
    a, b = ups
    try:
        for i in range(15):
            rev = get_exp(a)["revision"]
            wait_until(lambda: get_exp(b)["revision"] == rev, what="b in step")
            ra, rb = concurrently(
                lambda: a.admin("POST", "/v1/experiments/checkout-tiers/stop", body={}),
                lambda: b.admin("POST", "/v1/experiments/checkout-tiers/promotions",
                                body={"region": "gr", "variant": "three-tiers"}))
            assert ra.status == 200 and rb.status == 200, (ra, rb)
            # b's reply means Redis has its change; a serves it within a
            # second (when the promotion came second, it was made on b).
            wait_until(lambda: get_exp(a)["revision"] >= rev + 2, what="a to have both changes")
            after = get_exp(a)
            assert after["status"] == "stopped" and after["promotions"]["gr"]["variant"] == "three-tiers"
            assert after["revision"] == rev + 2, (rev, after["revision"])
            assert a.admin("POST", "/v1/experiments/checkout-tiers/start", body={}).status == 200
            assert a.admin("DELETE", "/v1/experiments/checkout-tiers/promotions/gr").status == 200
    finally:
        stop_all(ups)


def test_if_match_pins_the_revision(redis):
    ups = started(instances(redis, 2))
    a, b = ups
    try:
        r = a.admin("GET", "/v1/experiments/checkout-tiers")
        etag = r.headers["etag"]
        assert etag == '"%d"' % r.json()["revision"]
        assert b.admin("POST", "/v1/experiments/checkout-tiers/stop", body={}).status == 200
        # a has not necessarily seen b's change: a stale ETag is refused either way.
        r = a.admin("PUT", "/v1/experiments/checkout-tiers", body=experiment(traffic_percent=20),
                    headers={"If-Match": etag})
        assert r.status == 412 and r.json()["error"] == "revision_mismatch", r
        r = a.admin("POST", "/v1/experiments/checkout-tiers/start", body={}, headers={"If-Match": etag})
        assert r.status == 412, r
        assert get_exp(b)["status"] == "stopped"
        current = b.admin("GET", "/v1/experiments/checkout-tiers").headers["etag"]
        r = a.admin("POST", "/v1/experiments/checkout-tiers/start", body={}, headers={"If-Match": current})
        assert r.status == 200 and r.headers["etag"] == '"%d"' % r.json()["revision"], r
        assert r.headers["etag"] != current
    finally:
        stop_all(ups)


def test_an_instance_started_with_redis_down_serves_its_cached_copy():
    with RedisServer() as redis:
        a, b = instances(redis, 2)
        try:
            a.start()
            b.start()
            assert a.admin("POST", "/v1/experiments/checkout-tiers/promotions",
                           body={"region": "gr", "variant": "three-tiers", "holdback": 0}).status == 200
            seen_after(b, lambda e: "gr" in e.get("promotions", {}))
            b.stop()
            redis.stop()
            b.start(wait_redis=False)
            # Assignments from the cached copy, promotion included.
            r = b.assign("someone", region="gr", expose=False).json()
            assert r["variant"] == "three-tiers" and r["reason"] == "promoted", r
            r = b.admin("POST", "/v1/experiments/checkout-tiers/stop", body={})
            assert r.status == 503 and r.json()["error"] == "redis_unavailable", r
            health = b.health()
            assert health["status"] == "degraded" and health["shared_state"] == "down", health
            assert "cached copy" in health["reason"], health
            # Redis comes back: b catches up and takes changes again.
            redis.start()
            wait_until(lambda: b.health()["shared_state"] == "up", what="b's shared state")
            wait_until(lambda: a.health()["shared_state"] == "up", what="a's shared state")
            assert a.admin("POST", "/v1/experiments/checkout-tiers/stop", body={}).status == 200
            assert seen_after(b, lambda e: e["status"] == "stopped") < SEEN_WITHIN_S
            assert b.admin("POST", "/v1/experiments/checkout-tiers/start", body={}).status == 200
        finally:
            stop_all([a, b])


class SlowLoadingRedis(RedisServer):
    """A Redis that takes seconds to load its data at start (Redis's own
    key-load-delay, in microseconds per key), answering LOADING meanwhile."""

    def start(self):
        self.proc = servers.start_redis(
            lambda name, argv: Proc(name, argv), self.port, self.dir, persistent=True,
            extra=["--protected-mode", "no", "--key-load-delay", "100"], timeout=60.0)
        return self


def test_an_instance_that_meets_a_loading_redis_comes_up_once_it_has_loaded():
    with SlowLoadingRedis() as redis:
        up = Upshotd(redis)
        try:
            up.start()
            # 40,000 keys in the AOF's RDB part: about 4 s of LOADING at start.
            redis.command("EVAL", "for i = 1, 40000 do redis.call('SET', 'filler:' .. i, i) end", "0")
            redis.command("BGREWRITEAOF")
            wait_until(lambda: b"aof_rewrite_in_progress:0" in
                       redis.command("INFO", "persistence").encode(), what="the AOF rewrite")
            up.stop()
            redis.stop()
            up.start(wait_redis=False)
            time.sleep(2.5)  # up's reconnects back off to 2 s: it meets Redis while loading
            redis.start()
            wait_until(lambda: up.health()["shared_state"] == "up", timeout=5,
                       what="the shared state after Redis loaded")
            assert up.admin("POST", "/v1/experiments/checkout-tiers/stop", body={}).status == 200
        finally:
            up.__exit__(None, None, None)


def test_a_state_json_of_an_older_version_is_imported_into_an_empty_redis():
    """A state.json (the same format older versions kept as the truth) and
    an audit.jsonl are imported on the first start against a Redis without
    experiments; the admin change it recorded is not undone by the
    unchanged file."""
    with RedisServer() as old_redis, RedisServer() as new_redis:
        up = Upshotd(old_redis, [experiment("from-file")])
        try:
            up.start()
            assert up.admin("POST", "/v1/experiments/from-file/stop", body={}).status == 200
            assert up.admin("POST", "/v1/experiments", body=experiment("made-by-hand", status="draft")).status == 201
            up.stop()
            with open(os.path.join(up.data_dir, "state.json")) as f:
                state = json.load(f)
            for e in state["experiments"]:  # older versions had no revisions
                e.pop("revision", None)
            with open(os.path.join(up.data_dir, "state.json"), "w") as f:
                json.dump(state, f)
            with open(os.path.join(up.data_dir, "audit.jsonl"), "w") as f:
                f.write(json.dumps({"ts": "2026-01-01T00:00:00Z", "actor": "alice", "action": "create",
                                    "experiment": "made-by-hand", "reason": "from the old log"}) + "\n")
            up.redis = new_redis
            up.config["redis"]["port"] = new_redis.port
            up.write_config()
            up.start()
            assert set(json.loads(new_redis.command("HGET", "{upshot}:experiments", "made-by-hand"))) >= {"key"}
            assert get_exp(up, "from-file")["status"] == "stopped"
            assert get_exp(up, "made-by-hand")["revision"] >= 1
            log = log_of(up, "made-by-hand")
            assert log[0]["actor"] == "alice" and log[0]["reason"] == "from the old log", log
            assert [e["action"] for e in log_of(up, "from-file")] == ["import"]
        finally:
            up.__exit__(None, None, None)


def test_the_config_file_is_a_seed(redis):
    ups = started(instances(redis, 2, [experiment("seeded")]))
    a, b = ups
    try:
        # Two instances with one file import it once.
        assert [e["action"] for e in log_of(a, "seeded")] == ["reload"]
        # An admin change survives restarts with the unchanged file.
        assert a.admin("POST", "/v1/experiments/seeded/stop", body={}).status == 200
        for u in ups:
            u.stop()
            u.start()
        assert get_exp(a, "seeded")["status"] == "stopped"
        assert get_exp(b, "seeded")["status"] == "stopped"
        # A changed file definition replaces the shared one once, audited as reload.
        for u in ups:
            u.config["experiments"][0]["traffic_percent"] = 30
            u.write_config()
        b.stop()
        b.start()
        assert get_exp(b, "seeded")["traffic_percent"] == 30
        wait_until(lambda: get_exp(a, "seeded").get("traffic_percent") == 30, timeout=SEEN_WITHIN_S,
                   what="a to see the file's change")
        a.stop()
        a.start()
        assert a.admin("POST", "/v1/admin/reload").status == 200
        actions = [e["action"] for e in log_of(a, "seeded")]
        assert actions == ["reload", "stop", "reload"], actions
        assert get_exp(a, "seeded")["traffic_percent"] == 30
    finally:
        stop_all(ups)


def test_auto_promotion_with_two_instances_acts_once(redis):
    exp = experiment(regions=["gr", "pl"], stats={"min_sample": 200},
                     auto_promote={"enabled": True, "holdback": 0.1})
    ups = started(instances(redis, 2, [exp], auto_promote_interval_s=1))
    try:
        events = []
        for i in range(1600):
            region = "gr" if i % 2 else "pl"
            up = ups[i % 2]
            variant = up.assign(f"v{i}", region=region).json()["variant"]
            rate = 0.30 if (region == "gr" and variant == "three-tiers") else 0.05
            if (i * 7919 % 1000) / 1000 < rate:
                events.append({"id": f"o{i}", "type": "conversion", "experiment": "checkout-tiers",
                               "visitor": f"v{i}", "value": 20})
        for k in range(0, len(events), 200):
            assert ups[(k // 200) % 2].events(events[k:k + 200]).status == 202
        for up in ups:
            up.wait_applied()
        wait_until(lambda: get_exp(ups[0]).get("promotions"), timeout=15, what="an automatic promotion")
        time.sleep(3.5)  # several more ticks on both instances
        log = log_of(ups[1])
        promotes = [e for e in log if e["action"] == "promote"]
        assert len(promotes) == 1 and promotes[0]["actor"] == "auto-promote", log
        # One decider audits each change of recommendation once; two would
        # each audit it (the same recommendation twice in a row).
        gr = [e["details"]["recommendation"] for e in log
              if e["action"] == "decision" and e["details"]["region"] == "gr"]
        assert gr[-1] == "promote" and all(x != y for x, y in zip(gr, gr[1:])), gr
        held = [u for u in ups if "holds the lease" in u.read_log()]
        assert len(held) == 1, [u.read_log()[-500:] for u in ups]
    finally:
        stop_all(ups)
