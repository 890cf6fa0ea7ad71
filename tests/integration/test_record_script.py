"""engine/record.lua on its own, against a real Redis: the script upshotd
sends its journal through, called here with hand-built batches so that the
cases the HTTP edge normally filters out (an event id repeated inside one
batch, an unexposed visitor's id, thousands of conversions in one call) are
exercised directly. The argument layout is the one record.lua's header
describes. The visitor records the script writes are checked against
tests/vectors/visitor_records.json, the cases the C reader is tested on."""
import json
import os

from harness import RedisServer
from upshot_testlib import keys

SOURCE = os.environ.get("UPSHOT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = open(os.path.join(SOURCE, "engine", "record.lua")).read()
with open(os.path.join(SOURCE, "tests", "vectors", "visitor_records.json")) as f:
    RECORD_VECTORS = json.load(f)
DAY = "2026-11-22"


# One call is for one shard group of one experiment: these tests put every
# visitor in group 0 of experiment "e" (on one Redis the shard number in a
# key is free; upshotd's own spread is engine/core/keys.h).
CNT, EV = keys.counters_key("e", 0), keys.event_tokens_key("e", 0)


def shard_key(visitor):
    return "{%s}:v:%d" % (keys.tags("e")[0], keys.shard_of(visitor) // keys.GROUPS * keys.GROUPS)


_serial = [0]


def token():
    """A fresh acknowledgment token: 16 hex digits, as upshotd makes them."""
    _serial[0] += 1
    return "%016x" % (0xfeed000000000000 + _serial[0])


def run(redis, exposures, others):
    """exposures: [(visitor, variant, region[, promoted])], one group per
    (variant, region, promoted); others: [(type, visitor, id, value[,
    token])], each with a fresh acknowledgment token unless one is given
    (the same token again is a replay of the same journal line); type is
    'C' or 'D', which the script tells apart by the value ('-': a decline).
    Returns the status string."""
    groups = {}
    for visitor, variant, region, *promoted in exposures:
        groups.setdefault((variant, region, bool(promoted and promoted[0])), []).append(visitor)
    names = [CNT, EV]
    argv = [str(len(groups))]
    for (variant, region, promoted), visitors in groups.items():
        p = "p" if promoted else ""
        argv += [f"{variant}|{region}|{p}", f"{p}e|{variant}|{region}|{DAY}", str(len(visitors))] + visitors
        names += [shard_key(v) for v in visitors]
    for typ, visitor, event_id, value, *ack in others:
        assert (typ == "D") == (value == "-")
        argv += [visitor, event_id, value, DAY, ack[0] if ack else token()]
        names.append(shard_key(visitor))
    return redis.command("EVAL", SCRIPT, str(len(names)), *names, *argv)


def test_ids_repeated_inside_one_batch_count_once_and_unexposed_ids_stay_free():
    with RedisServer() as redis:
        first = [("C", "a", "o1", "10", token()), ("C", "a", "o1", "10", token()),
                 ("D", "b", "d1", "-", token()), ("C", "ghost", "o2", "5", token()),
                 ("C", "a", "o3", "2.5", token())]
        status = run(redis, [("a", "0", "gr"), ("b", "1", "gr")], first)
        assert status == "00" + "01020", status  # exposures, then o1 o1 d1 ghost o3
        c = redis.counters("e")
        assert c[f"c|0|gr|{DAY}"] == 1 and c[f"o|0|gr|{DAY}"] == 2
        assert c[f"s|0|gr|{DAY}"] == 12.5 and c[f"q|0|gr|{DAY}"] == 12.5 ** 2  # per visitor
        assert c[f"d|1|gr|{DAY}"] == 1 and c["dup"] == 1 and c["unexposed|c"] == 1
        tokens = redis.hgetall(EV)
        # The counted ids, and the tokens of the lines that were a duplicate
        # (o1's second) or unattributable (ghost's o2).
        assert sorted(tokens) == sorted(["d1", "o1", "o3", " " + first[1][4], " " + first[3][4]])
        assert tokens["o1"] == first[0][4], "the id keeps the token of the line that counted it"
        # The unexposed id was not consumed: once the visitor is exposed, it counts.
        assert run(redis, [("ghost", "0", "pl")], [("C", "ghost", "o2", "5")]) == "00"
        # A replay of the first batch (the same lines, so the same tokens)
        # changes nothing, not even the client duplicate count.
        before = redis.counters("e")
        status = run(redis, [("a", "0", "gr"), ("b", "1", "gr")], first)
        assert status == "11" + "33333", status
        assert redis.counters("e") == before
        # The same ids sent again by a client (new acknowledgments) are duplicates.
        status = run(redis, [], [("C", "a", "o1", "10"), ("D", "b", "d1", "-")])
        assert status == "11", status
        assert redis.counters("e")["dup"] == before["dup"] + 2


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
        assert len(redis.counted_event_ids("e")) == n
        # Sent again, mixed with new ids: every old id is a duplicate, every new one counts.
        others = [("C", v, f"id{i}" if i % 2 else f"new{i}", "1") for i, v in enumerate(visitors)]
        status = run(redis, [], others)
        assert status == "".join("1" if i % 2 else "0" for i in range(n)), status[:20]
        assert len(redis.counted_event_ids("e")) == n + (n + 1) // 2


def test_a_call_touching_more_counter_fields_than_lua_can_unpack_at_once():
    """3,000 conversions, each of a visitor in its own region, bump 12,000
    counter fields (c, o, s, q per region): more arguments than Lua's C
    stack takes in one unpack(), so the script reads and writes them in
    slices. Without that the call fails, and a batch that fails is
    replayed forever."""
    with RedisServer() as redis:
        n = 3000
        visitors = [(f"w{i}", "0", f"r{i}") for i in range(n)]
        assert run(redis, visitors, []) == "0" * n
        status = run(redis, [], [("C", v, f"x{i}", "2") for i, (v, _, _) in enumerate(visitors)])
        assert status == "0" * n, status[:20]
        c = redis.counters("e")
        assert sum(1 for f in c if f.startswith(("c|", "o|", "s|", "q|"))) == 4 * n
        assert all(c[f"o|0|r{i}|{DAY}"] == 1 and c[f"s|0|r{i}|{DAY}"] == 2 for i in range(n))


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
            got = redis.command("HGET", shard_key(visitor), visitor)
            assert got == v["value"], (v["why"], got, v["value"])
        # Promoted exposures count apart from the randomized ones.
        promoted = [v for v in valid if v["promoted"]]
        c = redis.counters("e")
        assert sum(n for f, n in c.items() if f.startswith("pe|")) == len(promoted)
        assert sum(n for f, n in c.items() if f.startswith("e|")) == len(valid) - len(promoted)
