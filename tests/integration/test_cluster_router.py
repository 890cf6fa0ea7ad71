"""upshotd in cluster mode against a real Redis Cluster: the slot router
(engine/redis_link.c) and the store's checkpoint on top of it.

Each test starts its own small cluster of real redis-server processes made
with `redis-cli --cluster create` (tests/lib/upshot_testlib/redis_cluster.py)
and a real upshotd whose config lists the nodes as `redis.nodes`. What is
checked is what a client sees: events acknowledged (202) are counted in the
results exactly once, whatever the cluster does meanwhile (slots moved,
a migration half done, the cluster down, a master killed and replaced),
and the router's own metrics say it did what the cluster asked.

The key slot oracle is the real server: `CLUSTER KEYSLOT` of many random
keys against keyslot_of() (through tests/tools/keyslot_tool.c).
"""
import collections
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from harness import Upshotd, experiment, totals_by_variant, wait_until
from upshot_testlib import keys as schema
from upshot_testlib.redis_cluster import RedisCluster
from upshot_testlib.resp import Redis

KEYSLOT_TOOL = os.environ.get("UPSHOT_KEYSLOT_TOOL",
                              os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                           "tests", "keyslot_tool"))


class NoRedis:
    """Upshotd's harness wants a Redis object; in cluster mode the config
    names the nodes instead."""
    port = 1
    proc = None


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="upshot-cluster-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start_cluster(workdir, replicas=0, extra_conf=None):
    return RedisCluster(os.path.join(workdir, "cluster"), masters=3, replicas=replicas,
                        node_timeout_ms=1000, extra_conf=extra_conf).start()


def exp_on_each_master(cluster, n_per_master=1):
    """As many experiments as masters (times n_per_master). Each one spreads
    over every master (twelve shard groups, docs/redis.md); a test that
    moves "an experiment's slot" moves the slot of its group 0."""
    return [f"exp-{i}" for i in range(n_per_master * len(cluster.masters()))]


def start_upshotd(cluster, exps, **redis_extra):
    up = Upshotd(NoRedis(), experiments=[experiment(key=k) for k in exps],
                 pipeline={"flush_ms": 2, "batch_size": 32})
    up.config["redis"] = dict({"nodes": cluster.seeds()}, **redis_extra)
    up.write_config()
    up.start(wait_redis=False)
    wait_until(lambda: up.health().get("redis") == "up", timeout=20, what="upshotd's cluster link")
    return up


def metric(up, name):
    for line in up.get("/metrics").body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


class Ledger:
    """What upshotd acknowledged, per experiment."""

    def __init__(self):
        self.variant = collections.defaultdict(dict)        # exp -> visitor -> variant
        self.revenue = collections.defaultdict(float)       # (exp, visitor) -> sum
        self.orders = collections.Counter()                 # (exp, visitor) -> n
        self.lock = threading.Lock()
        self.errors = []

    def drive(self, up, exp, first, count):
        """Exposes visitors first..first+count of exp, then converts every
        third; only acknowledged events enter the ledger. A request that
        fails (the server answered 503, say) is not acknowledged."""
        for i in range(first, first + count):
            v = f"{exp}-v{i}"
            r = up.assign(v, experiment=exp)
            if r.status == 200 and r.json()["exposure"] == "recorded":
                with self.lock:
                    self.variant[exp][v] = r.json()["variant"]
        events = [{"id": f"{exp}-o{i}", "type": "conversion", "experiment": exp,
                   "visitor": f"{exp}-v{i}", "value": float(1 + i % 7)}
                  for i in range(first, first + count)
                  if i % 3 == 0 and f"{exp}-v{i}" in self.variant[exp]]
        for at in range(0, len(events), 20):
            batch = events[at:at + 20]
            r = up.events(batch)
            if r.status != 202:
                continue
            assert r.json()["rejected"] == [], r
            with self.lock:
                for ev in batch:
                    self.revenue[(exp, ev["visitor"])] += ev["value"]
                    self.orders[(exp, ev["visitor"])] += 1

    def expected(self, exp):
        out = {}
        for v, variant in self.variant[exp].items():
            c = out.setdefault(variant, {"visitors": 0, "conversions": 0, "orders": 0,
                                         "revenue_sum": 0.0})
            c["visitors"] += 1
            if (exp, v) in self.orders:
                c["conversions"] += 1
                c["orders"] += self.orders[(exp, v)]
                c["revenue_sum"] += self.revenue[(exp, v)]
        return out

    def assert_counted(self, up, exps):
        up.wait_applied(timeout=60)
        for exp in exps:
            got = totals_by_variant(up.results(experiment=exp))
            want = self.expected(exp)
            assert sum(w["visitors"] for w in want.values()) > 0, exp
            for variant, w in want.items():
                g = got[variant]
                for field in ("visitors", "conversions", "orders"):
                    assert g[field] == w[field], (exp, variant, field, g[field], w[field])
                assert abs(g["revenue_sum"] - w["revenue_sum"]) < 1e-6, (exp, variant, g, w)
            extra = set(got) - set(want)
            assert all(got[v]["visitors"] == 0 for v in extra), (exp, got)


def migrate_slot(cluster, slot, src, dst, finish=True, keys=None):
    """Moves slot from master src to master dst by hand, as redis-cli's
    reshard does: IMPORTING on dst, MIGRATING on src, MIGRATE of the keys
    (all, or the given ones), then (finish) SETSLOT NODE everywhere."""
    dst_id, src_id = cluster.node_id(dst), cluster.node_id(src)
    with Redis(src, decode=True) as s, Redis(dst, decode=True) as d:
        d.command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        s.command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        to_move = keys if keys is not None else s.command("CLUSTER", "GETKEYSINSLOT", slot, 100000)
        for k in to_move:
            s.command("MIGRATE", "127.0.0.1", dst, k, 0, 5000)
        if finish:
            finish_migration(cluster, slot, dst)


def finish_migration(cluster, slot, dst):
    dst_id = cluster.node_id(dst)
    with Redis(dst, decode=True) as d:
        d.command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    for p in cluster.masters():
        if p != dst:
            with Redis(p, decode=True) as r:
                rest = r.command("CLUSTER", "GETKEYSINSLOT", slot, 100000)
                for k in rest:
                    r.command("MIGRATE", "127.0.0.1", dst, k, 0, 5000)
                r.command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)


def slot_of_exp(cluster, exp):
    with Redis(cluster.masters()[0], decode=True) as r:
        return int(r.command("CLUSTER", "KEYSLOT", schema.counters_key(exp, 0)))


def applied_then_a_slot_to_move(cluster, up, ledger, exp):
    """Drives 60 visitors of exp and waits until Redis has them; returns
    the slot of exp's group 0, its master and another master to move it to."""
    ledger.drive(up, exp, 0, 60)
    up.wait_applied()
    slot = slot_of_exp(cluster, exp)
    src = cluster.master_of_slot(slot)
    return slot, src, next(p for p in cluster.masters() if p != src)


# ---------------------------------------------------------------------------

def test_keyslot_matches_cluster_keyslot(workdir):
    """keyslot_of() agrees with CLUSTER KEYSLOT of a real server for random
    keys: plain, with hash tags, empty tags, nested and unbalanced braces,
    and the key shapes upshotd writes."""
    cluster = start_cluster(workdir)
    try:
        rng = random.Random(1234)
        alphabet = "abcXYZ019{}:|-_ ."
        keys = []
        for i in range(3000):
            n = rng.randrange(0, 24)
            keys.append("".join(rng.choice(alphabet) for _ in range(n)))
        keys += ["{x:checkout-tiers}:cnt", "{x:checkout-tiers}:v:65535", "upshot:dataset",
                 "{upshot}:experiments", "{}", "{}{x}", "{{x}}", "x{", "}{x}", "{x:a:0}:ev"]
        keys = [k for k in keys if "\n" not in k]
        out = subprocess.run([KEYSLOT_TOOL], input="\n".join(keys) + "\n", text=True,
                             capture_output=True, check=True).stdout.split()
        assert len(out) == len(keys)
        with Redis(cluster.masters()[0], decode=True) as r:
            for key, mine in zip(keys, out):
                want = r.command("CLUSTER", "KEYSLOT", key)
                assert int(mine) == int(want), (key, mine, want)
    finally:
        cluster.stop()


def test_events_are_counted_exactly_across_masters(workdir):
    cluster = start_cluster(workdir)
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps)
        assert metric(up, "upshot_redis_nodes_connected") == 3
        assert metric(up, "upshot_redis_masters") == 3
        ledger = Ledger()
        for exp in exps:
            ledger.drive(up, exp, 0, 60)
        ledger.assert_counted(up, exps)
        # Each experiment's groups live on every master: each group its
        # visitors fell into has its counters on the master of its slot.
        for exp in exps:
            groups = {schema.group_of(v) for v in ledger.variant[exp]}
            holders = set()
            for g in groups:
                key = schema.counters_key(exp, g)
                m = cluster.master_of_slot(schema.key_slot(key))
                with Redis(m, decode=True) as r:
                    assert r.command("EXISTS", key) == 1, key
                holders.add(m)
            assert holders == set(cluster.masters())
        assert metric(up, 'upshot_redis_redirects_total{kind="moved"}') == 0
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()


def test_moved_after_a_slot_moves_refreshes_the_map(workdir):
    """The slot of an experiment's keys moves to another master: the next
    commands get MOVED, the router refreshes its map and resends, and the
    counts stay exact."""
    cluster = start_cluster(workdir)
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps)
        ledger = Ledger()
        slot, src, dst = applied_then_a_slot_to_move(cluster, up, ledger, exps[0])
        refreshes = metric(up, "upshot_redis_map_refreshes_total")
        migrate_slot(cluster, slot, src, dst)
        ledger.drive(up, exps[0], 60, 60)
        ledger.assert_counted(up, exps[:1])
        assert metric(up, 'upshot_redis_redirects_total{kind="moved"}') > 0
        assert metric(up, "upshot_redis_map_refreshes_total") > refreshes
        with Redis(dst, decode=True) as r:
            assert r.command("EXISTS", schema.counters_key(exps[0], 0)) == 1
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()


def test_ask_and_tryagain_during_a_migration_in_progress(workdir):
    """A slot half migrated (MIGRATING on the source, IMPORTING on the
    target, the counters already moved): the results read follows ASK to
    the target; script calls whose keys are split get TRYAGAIN and are
    retried until the migration ends; nothing is lost or doubled."""
    cluster = start_cluster(workdir)
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps)
        ledger = Ledger()
        slot, src, dst = applied_then_a_slot_to_move(cluster, up, ledger, exps[0])
        counters = schema.counters_key(exps[0], 0)
        migrate_slot(cluster, slot, src, dst, finish=False, keys=[counters])
        before = totals_by_variant(up.results(experiment=exps[0]))
        assert sum(v["visitors"] for v in before.values()) == len(ledger.variant[exps[0]])
        assert metric(up, 'upshot_redis_redirects_total{kind="ask"}') > 0
        # New events: their calls touch keys on both sides (TRYAGAIN).
        t = threading.Thread(target=ledger.drive, args=(up, exps[0], 60, 30))
        t.start()
        wait_until(lambda: metric(up, 'upshot_redis_redirects_total{kind="tryagain"}') > 0,
                   timeout=10, what="a TRYAGAIN")
        finish_migration(cluster, slot, dst)
        t.join(60)
        ledger.assert_counted(up, exps[:1])
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()


def test_clusterdown_backs_off_and_loses_nothing(workdir):
    """A master stops answering (SIGSTOP) until the others call the cluster
    down: writes to the other masters get CLUSTERDOWN, are retried, then
    spooled; once the master is back every acknowledged event is counted
    once."""
    cluster = start_cluster(workdir)
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps)
        ledger = Ledger()
        for exp in exps:
            ledger.drive(up, exp, 0, 30)
        up.wait_applied()
        stopped = cluster.master_of_slot(slot_of_exp(cluster, exps[0]))
        cluster.kill(stopped, signal.SIGSTOP)
        try:
            other = next(p for p in cluster.nodes if p != stopped)
            wait_until(lambda: "cluster_state:fail" in cluster.cli(other, "CLUSTER", "INFO"),
                       timeout=20, what="the cluster down")
            for exp in exps[1:]:
                ledger.drive(up, exp, 30, 30)
            wait_until(lambda: metric(up, 'upshot_redis_redirects_total{kind="clusterdown"}') > 0,
                       timeout=10, what="a CLUSTERDOWN")
        finally:
            cluster.kill(stopped, signal.SIGCONT)
        cluster.wait_ok(timeout=30)
        ledger.assert_counted(up, exps)
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()


def test_master_sigkill_and_promotion_under_load_loses_nothing(workdir):
    """With replicas, min-replicas-to-write 1 and redis.wait_replicas 1: a
    master is killed with SIGKILL while events flow, its replica takes over,
    the old master returns as a replica; every acknowledged event is counted
    exactly once."""
    cluster = start_cluster(workdir, replicas=1, extra_conf={"min-replicas-to-write": 1})
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps, wait_replicas=1, wait_timeout_ms=500)
        ledger = Ledger()
        victim = cluster.master_of_slot(slot_of_exp(cluster, exps[0]))
        replica = cluster.replicas_of(victim)[0]
        stop = threading.Event()

        def load(exp):
            i = 0
            while not stop.is_set():
                try:
                    ledger.drive(up, exp, i, 15)
                except Exception as exc:  # noqa: BLE001 (kept for the report)
                    ledger.errors.append(exc)
                i += 15
        threads = [threading.Thread(target=load, args=(e,)) for e in exps]
        for t in threads:
            t.start()
        time.sleep(1.0)
        cluster.kill(victim, signal.SIGKILL)
        cluster.wait_promoted(replica, timeout=30)
        time.sleep(1.5)
        # The promoted master has no replica left, so with
        # min-replicas-to-write 1 it refuses writes (and WAIT cannot pass)
        # until the old master comes back as its replica, as an operator
        # would bring it back.
        cluster.start_node(victim)
        cluster.wait_ok(timeout=30)
        cluster.wait_replicas_synced(timeout=30)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(60)
        assert not ledger.errors, ledger.errors[:3]
        ledger.assert_counted(up, exps)
        assert metric(up, "upshot_redis_reconnects_total") > 0
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()


def test_checkpoint_waits_for_a_replica(workdir):
    """wait_replicas 1: while the replica of an experiment's master is
    stopped, its batches are applied on the master but not checkpointed
    (the journal keeps them); once it resumes they are, counted once."""
    cluster = start_cluster(workdir, replicas=1, extra_conf={"min-replicas-to-write": 1})
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps, wait_replicas=1, wait_timeout_ms=200)
        ledger = Ledger()
        ledger.drive(up, exps[0], 0, 20)
        up.wait_applied()
        master = cluster.master_of_slot(slot_of_exp(cluster, exps[0]))
        replica = cluster.replicas_of(master)[0]
        cluster.kill(replica, signal.SIGSTOP)
        try:
            ledger.drive(up, exps[0], 20, 20)
            # Applied on the master (the counters moved) ...
            # (a read may meet the store starting over: 503, asked again)
            def applied():
                r = up.admin("GET", f"/v1/experiments/{exps[0]}/results")
                return r.status == 200 and sum(v["visitors"] for v in totals_by_variant(
                    r.json()).values()) == len(ledger.variant[exps[0]])
            wait_until(applied, timeout=10, what="the master to apply the batch")
            # ... yet not checkpointed while no replica acknowledges it.
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                assert up.health()["journal_pending"] > 0
                time.sleep(0.1)
            assert metric(up, "upshot_redis_wait_short_total") > 0
        finally:
            cluster.kill(replica, signal.SIGCONT)
        ledger.assert_counted(up, exps[:1])
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()


def test_manual_failover_moves_commands_without_dropping_connections(workdir):
    """CLUSTER FAILOVER under load: the old master answers MOVED, naming its
    replica, which upshotd had no connection to. The router connects it and
    queues the commands behind its setup, so no connection is given up (no
    reconnect) and the counts stay exact."""
    cluster = start_cluster(workdir, replicas=1)
    up = None
    try:
        exps = exp_on_each_master(cluster)
        up = start_upshotd(cluster, exps)
        ledger = Ledger()
        ledger.drive(up, exps[0], 0, 30)
        up.wait_applied()
        reconnects = metric(up, "upshot_redis_reconnects_total")
        old = cluster.master_of_slot(slot_of_exp(cluster, exps[0]))
        stop = threading.Event()

        def load():
            i = 30
            while not stop.is_set():
                ledger.drive(up, exps[0], i, 10)
                i += 10
        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(0.5)
            cluster.failover(cluster.replicas_of(old)[0])
            time.sleep(1.0)
        finally:
            stop.set()
            t.join(60)
        ledger.assert_counted(up, exps[:1])
        assert metric(up, 'upshot_redis_redirects_total{kind="moved"}') > 0
        assert metric(up, "upshot_redis_reconnects_total") == reconnects
    finally:
        if up:
            up.__exit__(None, None, None)
        cluster.stop()
