"""engine/record.lua on its own, against a real Redis: the script upshotd
sends its journal through, called here with hand-built batches so that the
cases the HTTP edge normally filters out (an event id repeated inside one
batch, an unexposed visitor's id, thousands of conversions in one call) are
exercised directly. The argument layout is the one record.lua's header
describes. The visitor records the script writes are checked against
tests/vectors/visitor_records.json, the cases the C reader is tested on."""
import json
import os
import zlib

from harness import RedisServer

SOURCE = os.environ.get("UPSHOT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = open(os.path.join(SOURCE, "engine", "record.lua")).read()
with open(os.path.join(SOURCE, "tests", "vectors", "visitor_records.json")) as f:
    RECORD_VECTORS = json.load(f)
DAY = "2026-11-22"


def shard(visitor):
    """Any stable spread will do here; upshotd's own is in engine/core/keys.h."""
    return zlib.crc32(visitor.encode()) % 7


def run(redis, exposures, others):
    """exposures: [(visitor, variant, region[, promoted])], one group per
    (variant, region, promoted); others: [(type, visitor, id, value)].
    Returns the status string."""
    groups = {}
    for visitor, variant, region, *promoted in exposures:
        groups.setdefault((variant, region, bool(promoted and promoted[0])), []).append(visitor)
    keys = ["{x:e}:cnt", "{x:e}:ids"]
    argv = [str(len(groups))]
    for (variant, region, promoted), visitors in groups.items():
        p = "p" if promoted else ""
        argv += [f"{variant}|{region}|{p}", f"{p}e|{variant}|{region}|{DAY}", str(len(visitors))] + visitors
        keys += ["{x:e}:v:%d" % shard(v) for v in visitors]
    for typ, visitor, event_id, value in others:
        argv += [typ, visitor, event_id, value, DAY]
        keys.append("{x:e}:v:%d" % shard(visitor))
    return redis.command("EVAL", SCRIPT, str(len(keys)), *keys, *argv)


def test_ids_repeated_inside_one_batch_count_once_and_unexposed_ids_stay_free():
    with RedisServer() as redis:
        status = run(redis, [("a", "0", "gr"), ("b", "1", "gr")],
                     [("C", "a", "o1", "10"), ("C", "a", "o1", "10"), ("D", "b", "d1", "-"),
                      ("C", "ghost", "o2", "5"), ("C", "a", "o3", "2.5")])
        assert status == "00" + "01020", status  # exposures, then o1 o1 d1 ghost o3
        c = redis.counters("e")
        assert c[f"c|0|gr|{DAY}"] == 1 and c[f"o|0|gr|{DAY}"] == 2
        assert c[f"s|0|gr|{DAY}"] == 12.5 and c[f"q|0|gr|{DAY}"] == 12.5 ** 2  # per visitor
        assert c[f"d|1|gr|{DAY}"] == 1 and c["dup"] == 1 and c["unexposed|c"] == 1
        assert sorted(redis.command("SMEMBERS", "{x:e}:ids")) == ["d1", "o1", "o3"]
        # The unexposed id was not consumed: once the visitor is exposed, it counts.
        assert run(redis, [("ghost", "0", "pl")], [("C", "ghost", "o2", "5")]) == "00"
        # And a replay of the first batch changes nothing.
        before = redis.counters("e")
        run(redis, [("a", "0", "gr"), ("b", "1", "gr")],
            [("C", "a", "o1", "10"), ("D", "b", "d1", "-"), ("C", "a", "o3", "2.5")])
        after = redis.counters("e")
        assert after["dup"] == before["dup"] + 3
        assert {k: v for k, v in after.items() if k != "dup"} == {k: v for k, v in before.items() if k != "dup"}


def test_thousands_of_conversions_in_one_call():
    with RedisServer() as redis:
        n = 2500  # a replay after an outage sends batches of up to pipeline.batch_size
        visitors = [f"v{i}" for i in range(n)]
        assert run(redis, [(v, "0", "se") for v in visitors], []) == "0" * n
        others = [("C", v, f"id{i}", "1") for i, v in enumerate(visitors)]
        others.append(("C", "v0", "id0", "1"))  # a copy at the very end
        status = run(redis, [], others)
        assert status == "0" * n + "1", status[-5:]
        c = redis.counters("e")
        assert c[f"c|0|se|{DAY}"] == n and c[f"o|0|se|{DAY}"] == n and c["dup"] == 1
        assert redis.command("SCARD", "{x:e}:ids") == n
        # Replayed, mixed with new ids: every old id is a duplicate, every new one counts.
        others = [("C", v, f"id{i}" if i % 2 else f"new{i}", "1") for i, v in enumerate(visitors)]
        status = run(redis, [], others)
        assert status == "".join("1" if i % 2 else "0" for i in range(n)), status[:20]
        assert redis.command("SCARD", "{x:e}:ids") == n + (n + 1) // 2


def test_the_records_written_are_the_shared_vectors():
    """Each valid vector says how a visitor was exposed and what followed;
    the record the script leaves must be the vector's value, byte for byte,
    since the C reader (engine/core/visitor_record.c) is tested on them."""
    valid = RECORD_VECTORS["valid"]
    assert valid
    with RedisServer() as redis:
        for i, v in enumerate(valid):
            visitor = f"vector-{i}"
            others = [(typ, visitor, f"vector-{i}-{j}", value) for j, (typ, value) in enumerate(v["events"])]
            status = run(redis, [(visitor, str(v["variant"]), v["region"], v["promoted"])], others)
            assert status == "0" * (1 + len(others)), (v["why"], status)  # every event counts
            got = redis.command("HGET", "{x:e}:v:%d" % shard(visitor), visitor)
            assert got == v["value"], (v["why"], got, v["value"])
        # Promoted exposures count apart from the randomized ones.
        promoted = [v for v in valid if v["promoted"]]
        c = redis.counters("e")
        assert sum(n for f, n in c.items() if f.startswith("pe|")) == len(promoted)
        assert sum(n for f, n in c.items() if f.startswith("e|")) == len(valid) - len(promoted)
