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


def shard_key(visitor, exp="e"):
    return "{%s}:v:%d" % (keys.tags(exp)[0], keys.shard_of(visitor) // keys.GROUPS * keys.GROUPS)


_serial = [0]


def token():
    """A fresh acknowledgment token: 16 hex digits, as upshotd makes them."""
    _serial[0] += 1
    return "%016x" % (0xfeed000000000000 + _serial[0])


def run(redis, exposures, others, exp="e", cap=""):
    """exposures: [(visitor, variant, region[, promoted[, cart[, period]]])],
    one run per (variant, region, promoted, with a cart value or not,
    bandit period or None); others:
    [(type, visitor, id, value[, token[, order]])], each with a fresh
    acknowledgment token unless one is given (the same token again is a
    replay of the same journal line); type is 'C', 'D' or 'R' (a refund,
    value negative, naming the refunded order's id), which the script
    tells apart by the value ('-': a decline) and the order. cap is the
    experiment's configured revenue cap. Returns the status string."""
    runs = {}
    for visitor, variant, region, *rest in exposures:
        promoted = bool(rest and rest[0])
        cart = rest[1] if len(rest) > 1 else None
        period = rest[2] if len(rest) > 2 else None
        runs.setdefault((variant, region, promoted, cart is not None, period), []).append((visitor, cart))
    names = [keys.counters_key(exp, 0), keys.event_tokens_key(exp, 0)]
    argv = [cap]
    for with_cart in (False, True):
        chosen = {k: v for k, v in runs.items() if k[3] == with_cart}
        argv.append(str(len(chosen)))
        for (variant, region, promoted, _, period), visitors in chosen.items():
            p = "p" if promoted else ""
            if period is None:
                record = f"{variant}|{region}|{p}x|" if with_cart else f"{variant}|{region}|{p}"
                pfield = ""
            else:
                record = f"{variant}|{region}|bx|{period}|" if with_cart else f"{variant}|{region}|b|{period}"
                pfield = f"e|{variant}|{region}|#{period}"
            argv += [record, f"{p}e|{variant}|{region}|{DAY}", pfield, str(len(visitors))]
            for visitor, cart in visitors:
                argv += [visitor, cart] if with_cart else [visitor]
            names += [shard_key(v, exp) for v, _ in visitors]
    for typ, visitor, event_id, value, *more in others:
        assert (typ == "D") == (value == "-")
        ack = more[0] if more and more[0] else token()
        order = more[1] if len(more) > 1 else ""
        assert (typ == "R") == (order != "")
        argv += [visitor, event_id, value, DAY, ack, order]
        names.append(shard_key(visitor, exp))
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
        assert tokens["o1"] == first[0][4] + " 10", "the id keeps the token of the line that counted it, and the amount"
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
            others = []
            for j, (typ, value, *order) in enumerate(v["events"]):
                refund = (token(), f"vector-{i}-{order[0]}") if order else ()
                others.append((typ, visitor, f"vector-{i}-{j}", value) + refund)
            exposure = (visitor, str(v["variant"]), v["region"], v["promoted"])
            cart = None
            if "cart" in v:
                cart = repr(v["cart"]).removesuffix(".0") if v["cart"] != int(v["cart"]) else str(int(v["cart"]))
            exposure += (cart, v.get("period"))
            # A capped vector runs in an experiment of its own: a cap, once
            # set in a group, stays.
            exp, cap = ("e", "") if "cap" not in v else (f"capped-{i}", str(v["cap"]))
            status = run(redis, [exposure], others, exp=exp, cap=cap)
            assert status == "0" * (1 + len(others)), (v["why"], status)  # every event counts
            got = redis.command("HGET", shard_key(visitor, exp), visitor)
            assert got == v["value"], (v["why"], got, v["value"])
        # Promoted exposures count apart from the randomized ones.
        promoted = [v for v in valid if v["promoted"]]
        exps = ["e"] + [f"capped-{i}" for i, v in enumerate(valid) if "cap" in v]
        c = [redis.counters(exp) for exp in exps]
        assert sum(n for h in c for f, n in h.items() if f.startswith("pe|")) == len(promoted)
        assert sum(n for h in c for f, n in h.items() if f.startswith("e|") and "#" not in f) == len(valid) - len(promoted)
        banded = [v for v in valid if "period" in v]
        assert sum(n for h in c for f, n in h.items() if f.startswith("e|") and "|#" in f) == len(banded)


def _close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def test_refunds_caps_and_cart_values_keep_every_sum_exact():
    """Random visitors, some exposed with a cart value, place orders and
    get refunds (partial, complete, more than is left, of an order that
    does not exist) in an experiment capped at 250. After the calls the
    counters must equal sums over the visitors' final totals, computed
    here from the events alone: revenue and squares net of refunds, the
    same under the cap, the cart value's sums and its cross sums. A replay
    of every call changes nothing."""
    import random
    rnd = random.Random(20261201)
    cap = 250.0
    with RedisServer() as redis:
        visitors = [f"u{i}" for i in range(300)]
        cart = {v: round(rnd.uniform(0, 400), 2) for v in visitors if rnd.random() < 0.7}
        exposures = [(v, "0", "gr", False, repr(cart[v])) if v in cart else (v, "0", "gr")
                     for v in visitors]
        assert run(redis, exposures, [], exp="m", cap=str(int(cap))) == "0" * len(visitors)
        total = {v: 0.0 for v in visitors}
        orders = {}  # order id -> [visitor, amount, refunded]
        refunds = refunded = rejected = 0
        calls = []
        for round_ in range(6):
            others, want = [], []
            for j in range(120):
                v = rnd.choice(visitors)
                kind = rnd.random()
                mine = [o for o, (w, _, _) in orders.items() if w == v]
                if kind < 0.55 or not mine:
                    oid = f"o{round_}-{j}"
                    amount = round(rnd.uniform(1, 300), 2)
                    others.append(("C", v, oid, repr(amount), token()))
                    orders[oid] = [v, amount, 0.0]
                    total[v] += amount
                    want.append("0")
                    continue
                rid = f"r{round_}-{j}"
                if kind < 0.65:  # an order that does not exist
                    others.append(("R", v, rid, "-5", token(), "no-such-order"))
                    want.append("4")
                    rejected += 1
                    continue
                oid = rnd.choice(mine)
                _, amount, took = orders[oid]
                left = amount - took
                if kind < 0.75:  # more than is left of it
                    others.append(("R", v, rid, repr(-round(left + 1, 2)), token(), oid))
                    want.append("4")
                    rejected += 1
                    continue
                r = left if kind < 0.85 or left < 0.02 else round(rnd.uniform(0.01, left), 2)
                if r <= 0:
                    continue
                others.append(("R", v, rid, repr(-r), token(), oid))
                want.append("0")
                orders[oid][2] += r
                total[v] = max(0.0, total[v] - r)
                refunds += 1
                refunded += r
            status = run(redis, [], others, exp="m", cap=str(int(cap)))
            assert status == "".join(want), (status, "".join(want))
            calls.append(others)
        c = redis.counters("m")
        summed = lambda m: sum(n for f, n in c.items() if f.split("|", 1)[0] == m)
        converters = {w for w, _, _ in orders.values()}
        capped = {v: min(total[v], cap) for v in visitors}
        x = {v: cart.get(v, 0.0) for v in visitors}
        assert c["cap"] == cap
        assert summed("c") == len(converters)
        assert summed("o") == len(orders)
        assert summed("r") == refunds and _close(summed("rs"), refunded)
        assert c["refund|rejected"] == rejected
        assert _close(summed("s"), sum(total.values()))
        assert _close(summed("q"), sum(t * t for t in total.values()))
        assert _close(summed("xy"), sum(x[v] * total[v] for v in visitors))
        assert _close(summed("s") + summed("ks"), sum(capped.values()))
        assert _close(summed("q") + summed("kq"), sum(t * t for t in capped.values()))
        assert _close(summed("xy") + summed("kx"), sum(x[v] * capped[v] for v in visitors))
        assert summed("xn") == len(cart)
        assert _close(summed("xs"), sum(cart.values()))
        assert _close(summed("xq"), sum(a * a for a in cart.values()))
        assert any(total[v] > cap for v in visitors), "the cap must bind somewhere"
        # Every record's capped total is what the counters were built from.
        for v in converters:
            rec = redis.command("HGET", shard_key(v, "m"), v).split("|")
            t = float(rec[4] if v in cart else rec[3])
            assert _close(t, total[v]), (v, rec, total[v])
        # A replay of every call (same tokens) is recognised line by line.
        before = redis.counters("m")
        for others in calls:
            assert set(run(redis, [], others, exp="m", cap=str(int(cap)))) == {"3"}
        assert redis.counters("m") == before


def test_a_cap_once_set_stays_whatever_the_calls_say():
    """The first call that records an order sets the group's cap; a later
    call configured otherwise (an upshotd with an older definition) still
    records under the cap Redis holds, so every visitor is capped alike."""
    with RedisServer() as redis:
        assert run(redis, [("a", "0", "gr"), ("b", "0", "gr")], [], exp="k", cap="100") == "00"
        assert run(redis, [], [("C", "a", "o1", "300")], exp="k", cap="100") == "0"
        assert run(redis, [], [("C", "b", "o2", "300")], exp="k", cap="") == "0"
        c = redis.counters("k")
        assert c["cap"] == 100
        assert c[f"s|0|gr|{DAY}"] + c[f"ks|0|gr|{DAY}"] == 200
        assert redis.command("HGET", shard_key("b", "k"), "b") == "0|gr|c|300|100"


RECAP = open(os.path.join(SOURCE, "engine", "recap.lua")).read()


def test_recap_caps_earlier_visitors_once_and_record_lua_agrees_after():
    """Visitors recorded uncapped, then a cap learned: recap.lua over the
    shard caps those above it (with their cart values' cross sums), and a
    second run changes nothing. Orders recorded afterwards by record.lua
    under the same cap keep the sums exact."""
    with RedisServer() as redis:
        ex = [("a", "0", "gr", False, "10"), ("b", "0", "gr"), ("c", "1", "gr", True, "4")]
        assert run(redis, ex, [], exp="rc") == "000"
        orders = [("C", "a", "o1", "300"), ("C", "b", "o2", "50"), ("C", "c", "o3", "700")]
        assert run(redis, [], orders, exp="rc") == "000"
        cnt = keys.counters_key("rc", 0)
        shards = sorted({shard_key(v, "rc") for v in "abc"})
        capped = [redis.command("EVAL", RECAP, "2", cnt, s, "200", DAY) for s in shards]
        assert sum(capped) == 2  # a and c
        assert [redis.command("EVAL", RECAP, "2", cnt, s, "999", DAY) for s in shards] == [0] * len(shards)
        c = redis.counters("rc")
        assert c["cap"] == 200, "the first cap stays"
        assert redis.command("HGET", shard_key("a", "rc"), "a") == "0|gr|xc|10|300|200"
        assert redis.command("HGET", shard_key("c", "rc"), "c") == "1|gr|pxc|4|700|200"
        assert c[f"s|0|gr|{DAY}"] + c[f"ks|0|gr|{DAY}"] == 200 + 50
        assert c[f"q|0|gr|{DAY}"] + c[f"kq|0|gr|{DAY}"] == 200 ** 2 + 50 ** 2
        assert c[f"xy|0|gr|{DAY}"] + c[f"kx|0|gr|{DAY}"] == 10 * 200
        assert c[f"ps|1|gr|{DAY}"] + c[f"pks|1|gr|{DAY}"] == 200
        # record.lua after: b crosses the cap, a's refund takes it below.
        more = [("C", "b", "o4", "500"), ("R", "a", "r1", "-150", token(), "o1")]
        assert run(redis, [], more, exp="rc") == "00"
        c = redis.counters("rc")
        assert c[f"s|0|gr|{DAY}"] + c[f"ks|0|gr|{DAY}"] == 150 + 200
        assert c[f"xy|0|gr|{DAY}"] + c[f"kx|0|gr|{DAY}"] == 10 * 150


def test_capping_differences_that_cancel_in_ks_still_write_kq_and_kx():
    """In one call, one visitor's refund raises ks by 100 while two first
    orders lower it by 50 each: ks nets to 0, but kq and kx do not, and
    must still be written."""
    with RedisServer() as redis:
        ex = [("a", "0", "gr", False, "2"), ("b", "0", "gr", False, "3"), ("c", "0", "gr")]
        assert run(redis, ex, [], exp="kc", cap="100") == "000"
        assert run(redis, [], [("C", "a", "o1", "200")], exp="kc", cap="100") == "0"
        more = [("R", "a", "r1", "-100", token(), "o1"), ("C", "b", "o2", "150"),
                ("C", "c", "o3", "150")]
        assert run(redis, [], more, exp="kc", cap="100") == "000"
        c = redis.counters("kc")
        totals, x = {"a": 100, "b": 150, "c": 150}, {"a": 2, "b": 3, "c": 0}
        assert c[f"s|0|gr|{DAY}"] == sum(totals.values())
        assert c[f"s|0|gr|{DAY}"] + c.get(f"ks|0|gr|{DAY}", 0) == 300
        assert c[f"q|0|gr|{DAY}"] + c.get(f"kq|0|gr|{DAY}", 0) == 3 * 100 ** 2
        assert c[f"xy|0|gr|{DAY}"] + c.get(f"kx|0|gr|{DAY}", 0) == 2 * 100 + 3 * 100


def test_a_refund_of_a_decline_is_refused_and_a_refused_refund_stays_refused_on_replay():
    with RedisServer() as redis:
        assert run(redis, [("a", "0", "gr")], [], exp="rr") == "0"
        # a refund naming a decline's id: no order there
        assert run(redis, [], [("C", "a", "o1", "50"), ("D", "a", "d1", "-")], exp="rr") == "00"
        assert run(redis, [], [("R", "a", "r1", "-5", token(), "d1")], exp="rr") == "4"
        # refused because its order had not landed; replayed after it did
        line = ("R", "a", "r2", "-5", token(), "o9")
        assert run(redis, [], [line], exp="rr") == "4"
        assert run(redis, [], [("C", "a", "o9", "20")], exp="rr") == "0"
        before = redis.counters("rr")
        assert run(redis, [], [line], exp="rr") == "3"
        assert redis.counters("rr") == before
        assert before["refund|rejected"] == 2
        # the same refund sent again by a client (a new line) now counts
        assert run(redis, [], [("R", "a", "r2", "-5", token(), "o9")], exp="rr") == "0"
        assert redis.counters("rr")[f"s|0|gr|{DAY}"] == 65


def test_a_bandits_visitors_count_in_the_period_of_their_first_exposure_once():
    """Exposures carrying a bandit period count in "e|VARIANT|REGION|#PERIOD"
    besides the day; the visitor's conversions, orders, revenue (per
    visitor, capped), refunds and declines count in the period of the
    first exposure whatever period is in force when they arrive, and a
    replay of the same lines changes nothing."""
    with RedisServer() as redis:
        ex = [("a", "0", "gr", False, None, "0"), ("b", "1", "gr", False, None, "0"),
              ("c", "1", "gr", False, "20", "1"), ("d", "0", "pl", False, None, "1"),
              ("f", "0", "gr")]  # f: a visitor from before periods (no period)
        assert run(redis, ex, [], cap="100") == "00000"
        # a's later exposure in period 1 is not a new visitor: period 0 stays
        assert run(redis, [("a", "0", "gr", False, None, "1")], [], cap="100") == "1"
        others = [("C", "a", "o1", "30", token()), ("C", "a", "o2", "90", token()),
                  ("C", "c", "o3", "10", token()), ("D", "b", "d1", "-", token()),
                  ("D", "b", "d2", "-", token()), ("C", "f", "o4", "5", token()),
                  ("R", "c", "r1", "-4", token(), "o3"), ("D", "d", "d3", "-", token())]
        assert run(redis, [], others, cap="100") == "0" * len(others)
        c = redis.counters("e")
        per = {f: n for f, n in c.items() if "|#" in f}
        assert per == {
            "e|0|gr|#0": 1, "e|1|gr|#0": 1, "e|1|gr|#1": 1, "e|0|pl|#1": 1,
            "c|0|gr|#0": 1, "o|0|gr|#0": 2, "s|0|gr|#0": 120, "q|0|gr|#0": 120 ** 2,
            "ks|0|gr|#0": -20, "kq|0|gr|#0": 100 ** 2 - 120 ** 2,
            "d|1|gr|#0": 1, "dn|1|gr|#0": 2,
            "c|1|gr|#1": 1, "o|1|gr|#1": 1, "s|1|gr|#1": 6, "q|1|gr|#1": 36,
            "r|1|gr|#1": 1, "rs|1|gr|#1": 4,
            "d|0|pl|#1": 1, "dn|0|pl|#1": 1,
        }, per
        # The daily fields are what they were without periods.
        assert c[f"e|0|gr|{DAY}"] == 2 and c[f"c|0|gr|{DAY}"] == 2 and c[f"s|0|gr|{DAY}"] == 125
        assert redis.command("HGET", shard_key("a"), "a") == "0|gr|bc|0|120|100"
        assert redis.command("HGET", shard_key("c"), "c") == "1|gr|bxc|1|20|6"
        # The same lines again (same tokens): replays, counted nowhere.
        assert run(redis, ex, others, cap="100") == "1" * len(ex) + "3" * len(others)
        assert redis.counters("e") == c


def test_recap_corrects_a_bandits_period_fields_too():
    with RedisServer() as redis:
        ex = [("a", "0", "gr", False, None, "2"), ("b", "0", "gr", False, "7", "2")]
        assert run(redis, ex, [], exp="rb") == "00"
        assert run(redis, [], [("C", "a", "o1", "300"), ("C", "b", "o2", "50")], exp="rb") == "00"
        cnt = keys.counters_key("rb", 0)
        shards = sorted({shard_key(v, "rb") for v in "ab"})
        assert sum(redis.command("EVAL", RECAP, "2", cnt, s, "200", DAY) for s in shards) == 1
        assert redis.command("HGET", shard_key("a", "rb"), "a") == "0|gr|bc|2|300|200"
        c = redis.counters("rb")
        assert c["s|0|gr|#2"] + c["ks|0|gr|#2"] == 200 + 50
        assert c["q|0|gr|#2"] + c["kq|0|gr|#2"] == 200 ** 2 + 50 ** 2
        assert c[f"s|0|gr|{DAY}"] + c[f"ks|0|gr|{DAY}"] == 200 + 50
        # a second pass changes nothing; record.lua after agrees
        assert sum(redis.command("EVAL", RECAP, "2", cnt, s, "200", DAY) for s in shards) == 0
        assert run(redis, [], [("C", "b", "o3", "500")], exp="rb") == "0"
        c = redis.counters("rb")
        assert c["s|0|gr|#2"] + c["ks|0|gr|#2"] == 200 + 200
        assert redis.command("HGET", shard_key("b", "rb"), "b") == "0|gr|bxc|2|7|550|200"
