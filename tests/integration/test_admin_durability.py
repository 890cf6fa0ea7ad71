"""Admin changes are durable or not made.

Every change of the live experiment set (create, update, start, stop,
promote, unpromote, reload) is made in the shared state in Redis before it
is acknowledged; data_dir/state.json is only a cached copy. With Redis
unreachable, each change must be refused with 503 redis_unavailable and
leave the live set exactly as it was, before and after a restart (which
serves the cached copy); once Redis is back, changes go through and
survive a restart of upshotd, even one that lost its data directory. A
full disk under data_dir (a real tmpfs, filled up) no longer refuses
changes: Redis has them, and a restart reads them back from there.
"""
import os
import shutil

import pytest

from harness import RedisServer, Upshotd, can_mount_tmpfs, experiment, fill_disk, small_disk, wait_until


def live_set(up):
    r = up.admin("GET", "/v1/experiments")
    assert r.status == 200, r
    return {e["key"]: {k: e.get(k) for k in ("status", "variants", "promotions", "traffic_percent")}
            for e in r.json()["experiments"]}


def refused(r):
    assert r.status == 503, r
    assert r.json()["error"] == "redis_unavailable", r


def try_every_change(up):
    """Sends one change of each kind; returns their responses."""
    out = [up.admin("POST", "/v1/experiments", body=experiment("new-one", status="draft")),
           up.admin("PUT", "/v1/experiments/live-one", body=experiment("live-one", traffic_percent=50)),
           up.admin("POST", "/v1/experiments/live-one/stop", body={}),
           up.admin("POST", "/v1/experiments/stopped-one/start", body={}),
           up.admin("POST", "/v1/experiments/live-one/promotions",
                    body={"region": "gr", "variant": "three-tiers"})]
    up.config["experiments"].append(experiment("from-reload"))
    up.write_config()
    out.append(up.admin("POST", "/v1/admin/reload"))
    up.config["experiments"].pop()
    up.write_config()
    return out


def test_changes_with_redis_unreachable_are_refused_and_not_made():
    with RedisServer() as redis:
        up = Upshotd(redis, experiments=[experiment("live-one"), experiment("stopped-one", status="stopped")])
        with up:
            before = live_set(up)
            redis.stop()
            wait_until(lambda: up.health()["shared_state"] == "down", what="the shared state to go down")
            for r in try_every_change(up):
                refused(r)
            assert up.admin("GET", "/v1/experiments/new-one").status == 404
            assert live_set(up) == before
            # What the SDK sees did not change either.
            assert up.assign("v1", experiment="live-one").json()["in_experiment"] is True
            health = up.health()
            assert health["status"] == "degraded" and "cached copy" in health["reason"], health

            # A restart with Redis still down serves the cached copy.
            up.stop()
            up.start(wait_redis=False)
            assert live_set(up) == before
            assert up.assign("v1", experiment="live-one").json()["in_experiment"] is True
            refused(up.admin("POST", "/v1/experiments/live-one/stop", body={}))

            # With Redis back, the same changes go through and stay.
            redis.start()
            wait_until(lambda: up.health()["shared_state"] == "up", what="the shared state to come back")
            assert up.admin("POST", "/v1/experiments", body=experiment("new-one", status="draft")).status == 201
            assert up.admin("POST", "/v1/experiments/live-one/promotions",
                            body={"region": "gr", "variant": "three-tiers"}).status == 200
            after = live_set(up)
            assert "new-one" in after and after["live-one"]["promotions"]
            up.stop()
            up.start()
            assert live_set(up) == after
            # Redis, not the data directory, holds them.
            up.stop()
            shutil.rmtree(up.data_dir)
            up.start()
            assert live_set(up) == after


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and tmpfs mounts")
def test_changes_on_a_full_disk_are_made_in_redis_and_survive_a_restart():
    with RedisServer() as redis:
        up = Upshotd(redis, experiments=[experiment("live-one"), experiment("stopped-one", status="stopped")])
        with small_disk(up.data_dir, size="1m"), up:
            filler = fill_disk(up.data_dir)
            statuses = [r.status for r in try_every_change(up)]
            assert statuses == [201, 200, 200, 200, 200, 200], statuses
            after = live_set(up)
            assert after["live-one"]["status"] == "stopped" and after["stopped-one"]["status"] == "running"
            assert after["live-one"]["traffic_percent"] == 50 and after["live-one"]["promotions"]
            assert "new-one" in after and "from-reload" in after
            up.stop()
            os.unlink(filler)
            up.start()
            assert live_set(up) == after
