"""The upgrade from the single-tag layout: a Redis holding data written by
the record script of the versions before shard groups
(tests/vectors/record_single_tag.lua, byte for byte the old
engine/record.lua) is migrated by upshotd before it applies any new event
(engine/migrate.lua, store.c "The upgrade"). Nothing may be lost or
counted twice: results before == after, visitors stay sticky, a journal
line applied before the upgrade and replayed after it counts nothing, and
a client sending a pre-upgrade id again is a duplicate. A migration cut
short is run again to the same end."""
import json
import os

from harness import RedisServer, Upshotd, experiment
from upshot_testlib import keys

SOURCE = os.environ.get("UPSHOT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
OLD_SCRIPT = open(os.path.join(SOURCE, "tests", "vectors", "record_single_tag.lua")).read()
MIGRATE = open(os.path.join(SOURCE, "engine", "migrate.lua")).read()
EXP = "checkout-tiers"
DAY = "2026-11-22"


def old_call(redis, exposures, others):
    """One call of the old script: exposures [(visitor, variant, region)],
    others [(type, visitor, id, value, token)]; the old keys and argument
    layout (type first, six arguments per conversion or decline)."""
    def shard_key(v):
        return "{x:%s}:v:%d" % (EXP, keys.shard_of(v))
    groups = {}
    for v, variant, region in exposures:
        groups.setdefault((variant, region), []).append(v)
    names = ["{x:%s}:cnt" % EXP, "{x:%s}:ev" % EXP, "{x:%s}:ids" % EXP]
    argv = [str(len(groups))]
    for (variant, region), vs in groups.items():
        argv += [f"{variant}|{region}|", f"e|{variant}|{region}|{DAY}", str(len(vs))] + vs
        names += [shard_key(v) for v in vs]
    for typ, v, event_id, value, tok in others:
        argv += [typ, v, event_id, value, DAY, tok]
        names.append(shard_key(v))
    return redis.command("EVAL", OLD_SCRIPT, str(len(names)), *names, *argv)


def tok(n):
    return "%016x" % (0xfeed000000000000 + n)


def write_old_layout(redis):
    """Old-layout data: 300 exposed visitors in both variants and three
    regions, 1,500 conversions (more ids than one migration chunk moves),
    declines, a client duplicate, an unexposed conversion, and ids in the
    set of the versions before tokens. Returns the old records."""
    visitors = [f"u{i}" for i in range(300)]
    exposures = [(v, str(i % 2), ("gr", "pl", "se")[i % 3]) for i, v in enumerate(visitors)]
    assert old_call(redis, exposures, []) == "0" * 300
    others = [("C", visitors[i % 300], f"order-{i}", "%.2f" % (5 + i % 7 * 1.25), tok(i))
              for i in range(1500)]
    others += [("D", v, f"no-{v}", "-", tok(2000 + i)) for i, v in enumerate(visitors[:40])]
    others += [("C", "u1", "order-1", "9", tok(3000)),   # a client duplicate
               ("C", "ghost", "order-g", "3", tok(3001))]  # never exposed
    status = old_call(redis, [], others)
    assert status == "0" * 1540 + "12", status[-10:]
    redis.command("SADD", "{x:%s}:ids" % EXP, "ancient-1", "ancient-2")
    records = {}
    for k in redis.command("KEYS", "{x:%s}:v:*" % EXP):
        records.update(redis.hgetall(k))
    return records


def old_counters(redis):
    return keys.merge_counters([redis.hgetall("{x:%s}:cnt" % EXP)])


def legacy_keys(redis):
    return [k for k in redis.command("KEYS", "{x:%s}*" % EXP)]


def migrate_by_hand(redis, old, kind, dest, cursor="0"):
    """One migrate.lua step, as upshotd sends it (for a cut-short run)."""
    return redis.command("EVAL", MIGRATE, str(1 + len(dest)), old, *dest, kind, cursor)


def check_migrated(redis, up, before, records):
    assert legacy_keys(redis) == [], legacy_keys(redis)
    assert keys.merge_counters(redis.counter_hashes(EXP)) == before
    for v, rec in records.items():
        assert redis.command("HGET", keys.visitor_key(EXP, v), v) == rec, v
    assert redis.command("GET", "upshot:layout") == "groups12"


def test_single_tag_data_is_migrated_once_and_keeps_its_meaning():
    with RedisServer() as redis:
        records = write_old_layout(redis)
        before = old_counters(redis)
        assert before["dup"] == 1 and before["unexposed|c"] == 1
        # A migration cut short: the counters and some shards moved, one
        # chunk of the event ids copied (the old hash still there).
        migrate_by_hand(redis, "{x:%s}:cnt" % EXP, "cnt", [keys.counters_key(EXP, 0)])
        for v in ("u0", "u5"):
            s = keys.shard_of(v)
            migrate_by_hand(redis, "{x:%s}:v:%d" % (EXP, s), "v", [keys.visitor_key(EXP, v)])
        evs = [keys.event_tokens_key(EXP, g) for g in range(keys.GROUPS)]
        cursor = migrate_by_hand(redis, "{x:%s}:ev" % EXP, "ev", evs)
        assert cursor != "0" and redis.command("EXISTS", "{x:%s}:ev" % EXP) == 1

        # A journal line applied before the upgrade (its token is in Redis)
        # and replayed after it, as after a crash before the checkpoint.
        up = Upshotd(redis, [experiment(EXP)])
        os.makedirs(up.data_dir, exist_ok=True)
        with open(os.path.join(up.data_dir, "journal.log"), "w") as f:
            f.write(f"C\t{EXP}\tu7\torder-7\t{5 + 7 % 7 * 1.25:.17g}\t{DAY}\t{tok(7)}\n")
        with up:
            up.wait_applied()
            check_migrated(redis, up, before, records)
            assert "moved" in up.read_log()
            # Results through upshotd are those of before.
            total = up.results(EXP)["total"]["variants"]
            assert sum(v["visitors"] for v in total) == 300
            assert sum(v["orders"] for v in total) == before_orders(before)

            # A client sending pre-upgrade ids again: duplicates, wherever
            # the visitor's group is; the set of the oldest versions too.
            r = up.events([{"id": "order-3", "type": "conversion", "experiment": EXP,
                            "visitor": "u3", "region": "gr", "value": 10},
                           {"id": "ancient-2", "type": "conversion", "experiment": EXP,
                            "visitor": "u4", "region": "gr", "value": 10},
                           {"id": "no-u9", "type": "decline", "experiment": EXP,
                            "visitor": "u9", "region": "gr"}])
            assert r.status in (200, 202), r
            up.wait_applied()
            after = redis.counters(EXP)
            assert after["dup"] == before["dup"] + 3, after["dup"]
            assert after == {**{f: float(v) for f, v in before.items()}, "dup": before["dup"] + 3}

            # Stickiness: with the weights turned round, an old visitor keeps
            # the variant its pre-upgrade record holds.
            exp = up.admin("GET", f"/v1/experiments/{EXP}").json()
            exp["variants"][0]["weight"], exp["variants"][1]["weight"] = 0.01, 0.99
            assert up.admin("PUT", f"/v1/experiments/{EXP}", exp).status == 200
            names = [v["key"] for v in exp["variants"]]
            for v in ("u0", "u2", "u4", "u6"):
                a = up.assign(v, expose=False).json()
                assert a["reason"] == "sticky", a
                assert a["variant"] == names[int(records[v].split("|")[0])], (v, a)

        # A second start finds the marker and moves nothing.
        with Upshotd(redis, [experiment(EXP)]) as again:
            again.wait_applied()
            assert "moved" not in again.read_log()
        assert keys.merge_counters(redis.counter_hashes(EXP))["dup"] == before["dup"] + 3


def before_orders(counters):
    return sum(n for f, n in counters.items() if f.startswith("o|"))


def test_the_migration_is_idempotent_step_by_step():
    """Each migrate.lua step run twice ends where running it once does."""
    with RedisServer() as redis:
        write_old_layout(redis)
        before = old_counters(redis)
        migrate_by_hand(redis, "{x:%s}:cnt" % EXP, "cnt", [keys.counters_key(EXP, 0)])
        migrate_by_hand(redis, "{x:%s}:cnt" % EXP, "cnt", [keys.counters_key(EXP, 0)])
        assert keys.merge_counters(redis.counter_hashes(EXP)) == before
        # Old counters found next to new ones (both written) are added, once.
        redis.command("HSET", "{x:%s}:cnt" % EXP, "dup", "2", f"s|0|gr|{DAY}", "1.5")
        migrate_by_hand(redis, "{x:%s}:cnt" % EXP, "cnt", [keys.counters_key(EXP, 0)])
        merged = keys.merge_counters(redis.counter_hashes(EXP))
        assert merged["dup"] == before["dup"] + 2
        assert merged[f"s|0|gr|{DAY}"] == before[f"s|0|gr|{DAY}"] + 1.5
        evs = [keys.event_tokens_key(EXP, g) for g in range(keys.GROUPS)]
        n_ids = redis.command("HLEN", "{x:%s}:ev" % EXP)
        cursor = "0"
        for _ in range(2):  # the whole copy twice, the first one cut before its end
            cursor = migrate_by_hand(redis, "{x:%s}:ev" % EXP, "ev", evs, cursor)
        while cursor != "0":
            cursor = migrate_by_hand(redis, "{x:%s}:ev" % EXP, "ev", evs, cursor)
        assert redis.command("EXISTS", "{x:%s}:ev" % EXP) == 0
        for g in range(keys.GROUPS):
            assert redis.command("HLEN", evs[g]) == n_ids
        assert json.dumps(redis.hgetall(evs[0]), sort_keys=True) == \
            json.dumps(redis.hgetall(evs[11]), sort_keys=True)
