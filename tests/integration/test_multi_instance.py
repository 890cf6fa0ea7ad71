"""Several upshotd instances behind nginx, on one Redis ("single") and on a
Redis Cluster of three masters and three replicas ("cluster"):

  - every instance (and nginx) gives the same assignment;
  - an admin change through one instance is seen by all within 1 s;
  - events sent through every instance and through nginx are counted
    exactly, field by field;
  - an upshotd SIGKILLed under load: nginx moves on, the client retries
    with the same ids, and the killed instance's journal, replayed when it
    restarts, leaves the counts exact;
  - on the cluster, under load: CLUSTER FAILOVER, SIGKILL of a master with
    its replica promoted, and a reshard of slots holding the experiment's
    data: 0 acknowledged events lost, 0 counted twice.

One bed per topology serves the whole module (starting six nodes and
three instances takes seconds); each test has an experiment of its own,
so what one test did cannot change another's counts.
"""
import signal
import time

import pytest

from bed import Bed, LoadGen, assignments, check_counts
from harness import experiment, wait_until

EXPERIMENTS = ["exp-assign", "exp-admin", "exp-events", "exp-upkill", "exp-failover",
               "exp-masterkill", "exp-reshard"]


@pytest.fixture(scope="module", params=["single", "cluster"])
def bed(request):
    b = Bed(request.param, instances=3,
            experiments=[experiment(key=k) for k in EXPERIMENTS])
    b.start()
    yield b
    b.stop()


@pytest.fixture
def ready(bed):
    """The bed as a test expects it: every instance running and up, the
    cluster (if any) ok with its replicas in sync."""
    if bed.cluster:
        bed.cluster.wait_ok()
        bed.cluster.wait_replicas_synced()
    for up in bed.ups:
        if up.proc is None:
            up.start()
        wait_until(lambda: up.health().get("redis") == "up", timeout=30, what="redis up")
    return bed


def run_load(bed, exp, targets, n_visitors, prefix, during=None, rate=None, seed=1):
    """Plans n_visitors' events, sends them through targets (in the
    background when `during` is given: during(load) runs while it goes),
    waits until every instance applied its journal, and returns the load."""
    load = LoadGen(exp, targets, seed=seed)
    variants = assignments(bed.ups[0], exp, [f"{prefix}-{i}" for i in range(n_visitors)])
    load.plan(prefix, n_visitors, variants.__getitem__)
    if during is None:
        load.run(threads=4, batch_size=10, rate=rate)
    else:
        load.start(threads=4, batch_size=10, rate=rate)
        wait_until(lambda: load.acked_count() >= 5 or not load._thread.is_alive(),
                   timeout=30, what="load to start")
        during(load)
        load.join()
    return load


def assert_exact(bed, exp, *loads):
    expected = {}
    for load in loads:
        for variant, counts in load.expected().items():
            acc = expected.setdefault(variant, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                acc[k] += v
    for up in bed.ups:
        if up.proc is not None:
            up.wait_applied(timeout=60)
    for target in bed.endpoints():
        diffs = check_counts(target.results(exp), expected)
        assert not diffs, f"counts through {target.url} differ:\n" + "\n".join(diffs) + \
            "\n" + bed.logs()


def test_same_assignment_from_every_instance_and_nginx(ready):
    visitors = [f"same-{i}" for i in range(150)]
    first = assignments(ready.ups[0], "exp-assign", visitors)
    assert len(set(first.values())) == 2, first
    for target in ready.endpoints()[1:]:
        assert assignments(target, "exp-assign", visitors) == first, target.url


def test_admin_change_through_one_instance_seen_by_all_within_1s(ready):
    for up in ready.ups:
        assert up.admin("GET", "/v1/experiments/exp-admin").json()["status"] == "running"
    t0 = time.monotonic()
    r = ready.ups[0].admin("POST", "/v1/experiments/exp-admin/stop",
                           body={"reason": "seen everywhere"})
    assert r.status == 200, r
    for up in ready.ups[1:]:
        wait_until(lambda: up.admin("GET", "/v1/experiments/exp-admin").json()["status"]
                   == "stopped", timeout=5, interval=0.01,
                   what=f"instance {up.port} to see the stop")
    took = time.monotonic() - t0
    assert took < 1.0, f"the last instance saw the change after {took:.2f}s"
    # And back, through another instance.
    assert ready.ups[2].admin("POST", "/v1/experiments/exp-admin/start").status == 200
    for up in ready.ups:
        wait_until(lambda: up.admin("GET", "/v1/experiments/exp-admin").json()["status"]
                   == "running", timeout=1.0, interval=0.01, what="the start everywhere")


def test_events_through_every_instance_and_nginx_counted_exactly(ready):
    load = run_load(ready, "exp-events", ready.endpoints(), 600, "ev")
    assert load.acked_count() == len(load.batches)
    assert_exact(ready, "exp-events", load)


def test_upshotd_sigkilled_under_load(ready):
    """nginx stops sending to the dead instance; the client's retries (same
    ids) land elsewhere; the dead one's journal is replayed on restart."""
    victim = ready.ups[2]

    def kill_one(load):
        wait_until(lambda: load.acked_count() >= 20, timeout=30, what="some acks")
        victim.kill(signal.SIGKILL)
        n = load.acked_count()
        wait_until(lambda: load.acked_count() >= n + 20 or not load._thread.is_alive(),
                   timeout=30, what="acks after the kill")
        victim.start()

    load = run_load(ready, "exp-upkill", [ready.front], 800, "uk", during=kill_one, rate=20)
    assert_exact(ready, "exp-upkill", load)


def _cluster_only(bed):
    if bed.topology != "cluster":
        pytest.skip("a Redis Cluster operation")


def test_cluster_failover_under_load(ready):
    _cluster_only(ready)
    c = ready.cluster

    def failover(load):
        wait_until(lambda: load.acked_count() >= 20, timeout=30, what="some acks")
        for master in c.masters():  # every master once: each holds some groups
            c.failover(c.replicas_of(master)[0])
            c.wait_replicas_synced()

    load = run_load(ready, "exp-failover", ready.endpoints(), 900, "fo", during=failover,
                    rate=15)
    assert_exact(ready, "exp-failover", load)


def test_master_sigkill_with_replica_promotion_under_load(ready):
    _cluster_only(ready)
    c = ready.cluster

    def kill_master(load):
        wait_until(lambda: load.acked_count() >= 20, timeout=30, what="some acks")
        master = c.masters()[0]
        replica = c.replicas_of(master)[0]
        c.kill(master, signal.SIGKILL)
        c.wait_promoted(replica)
        # With min-replicas-to-write 1 the new master takes writes once it
        # has a replica again: the old master, back as its replica.
        c.start_node(master)
        c.wait_ok()
        c.wait_replicas_synced()

    load = run_load(ready, "exp-masterkill", ready.endpoints(), 900, "mk",
                    during=kill_master, rate=15)
    assert_exact(ready, "exp-masterkill", load)


def _experiment_slots(c, exp):
    """Slots of every key holding exp's data, by master."""
    by_master = {}
    for m in c.masters():
        keys = [k for k in c.cli(m, "--scan", "--pattern", f"*{exp}*").split() if k]
        for k in keys:
            by_master.setdefault(m, set()).add(c.keyslot(k))
    return by_master


def test_reshard_under_load(ready):
    _cluster_only(ready)
    c = ready.cluster
    warm = run_load(ready, "exp-reshard", ready.endpoints(), 300, "rw", seed=2)
    ready.wait_applied()
    slots = _experiment_slots(c, "exp-reshard")
    assert slots, "no key of the experiment found on any master"
    # redis-cli moves the lowest slots of the source: take the master whose
    # lowest experiment slot is nearest its first slot, and move through it.
    def cost(m):
        return min(slots[m]) - c.slots_of(m)[0][0] + 1
    src = min(slots, key=cost)
    dst = next(m for m in c.masters() if m != src)
    n = cost(src)
    moving = {s for s in slots[src] if s < c.slots_of(src)[0][0] + n}
    assert moving

    def reshard(load):
        wait_until(lambda: load.acked_count() >= 20, timeout=30, what="some acks")
        c.reshard(src, dst, n)
        for s in moving:
            assert c.master_of_slot(s) == dst

    load = run_load(ready, "exp-reshard", ready.endpoints(), 900, "rs", during=reshard,
                    rate=10, seed=3)  # about 9 s: redis-cli moves ~100 slots/s
    assert_exact(ready, "exp-reshard", warm, load)
