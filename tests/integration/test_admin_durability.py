"""Admin changes are durable or not made.

Every change of the live experiment set (create, update, start, stop,
promote, unpromote, reload) is written to state.json before it goes live.
With the data directory's disk full (a real tmpfs, filled up), each change
must be refused with 503 state_not_saved and leave the live set exactly as
it was, before and after a restart; once space is free again, changes go
through and survive a restart.
"""
import json
import os

import pytest

from harness import RedisServer, Upshotd, can_mount_tmpfs, experiment, fill_disk, small_disk

pytestmark = pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and tmpfs mounts")


def live_set(up):
    r = up.admin("GET", "/v1/experiments")
    assert r.status == 200, r
    return {e["key"]: {k: e.get(k) for k in ("status", "variants", "promotions", "traffic_percent")}
            for e in r.json()["experiments"]}


def refused(r):
    assert r.status == 503, r
    assert r.json()["error"] == "state_not_saved", r


def test_changes_on_a_full_disk_are_refused_and_not_made():
    with RedisServer() as redis:
        up = Upshotd(redis, experiments=[experiment("live-one"), experiment("stopped-one", status="stopped")])
        with small_disk(up.data_dir, size="1m"), up:
            before = live_set(up)
            filler = fill_disk(up.data_dir)

            refused(up.admin("POST", "/v1/experiments", body=experiment("new-one", status="draft")))
            changed = experiment("live-one", traffic_percent=50)
            refused(up.admin("PUT", "/v1/experiments/live-one", body=changed))
            refused(up.admin("POST", "/v1/experiments/live-one/stop", body={}))
            refused(up.admin("POST", "/v1/experiments/stopped-one/start", body={}))
            refused(up.admin("POST", "/v1/experiments/live-one/promotions",
                             body={"region": "gr", "variant": "three-tiers"}))
            up.config["experiments"].append(experiment("from-reload"))
            up.write_config()
            r = up.admin("POST", "/v1/admin/reload")
            assert r.status >= 500, r

            assert up.admin("GET", "/v1/experiments/new-one").status == 404
            assert live_set(up) == before
            # What the SDK sees did not change either.
            assert up.assign("v1", experiment="live-one").json()["in_experiment"] is True

            up.stop()
            up.config["experiments"].pop()
            up.write_config()
            os.unlink(filler)
            up.start()
            assert live_set(up) == before

            # With space again, the same changes go through and stay.
            assert up.admin("POST", "/v1/experiments", body=experiment("new-one", status="draft")).status == 201
            assert up.admin("POST", "/v1/experiments/live-one/promotions",
                            body={"region": "gr", "variant": "three-tiers"}).status == 200
            after = live_set(up)
            up.stop()
            up.start()
            assert live_set(up) == after
            assert "new-one" in after and after["live-one"]["promotions"]
            with open(os.path.join(up.data_dir, "state.json")) as f:
                assert {e["key"] for e in json.load(f)["experiments"]} == set(after)
