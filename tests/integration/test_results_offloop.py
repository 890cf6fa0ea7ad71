"""Results are computed off the event loop (engine/worker.h): while
results requests over many regions x days compute, /v1/assign keeps
answering; the results are the same as when nothing else happens; a full
worker answers 503 busy with Retry-After; a body over
limits.max_results_bytes is refused; a client that leaves before its
results are ready, and a shutdown while they compute, harm nothing.

The counters hash is written directly (docs/redis.md: fields
METRIC|VARIANT|REGION|DAY), as the Redis writer would have."""
import http.client
import json
import signal
import socket
import threading
import time

from harness import ADMIN_TOKEN, Upshotd, experiment
from upshot_testlib import keys, resp

BIG = "many-regions"
REGIONS = 600
DAYS = 12


def big_experiment():
    return experiment(BIG, regions="all", placement="product_page", pages=["product"])


def fill_counters(redis, regions=REGIONS, days=DAYS):
    """Counters for both variants in every region and day: exposures and
    conversions, one HSET per region. Many regions with few fields each:
    the statistics grow with the regions, the loop's share (reading
    Redis's reply) only with the fields."""
    with resp.Redis(redis.port) as r:
        for g in range(regions):
            # each region's counters in one shard group, spread over all twelve
            args = ["HSET", keys.counters_key(BIG, g % keys.GROUPS)]
            region = "r%04d" % g
            for d in range(days):
                day = "2024-%02d-%02d" % (1 + d // 28, 1 + d % 28)
                for v in (0, 1):
                    n = 200 + (g * 7 + d * 3 + v * 11) % 97
                    c = n // (9 - v)
                    args += [f"e|{v}|{region}|{day}", n, f"c|{v}|{region}|{day}", c]
            r.command(*args)


def results_request(up, **params):
    """(seconds, status, headers, body) of one results request."""
    t0 = time.monotonic()
    r = up.admin("GET", f"/v1/experiments/{BIG}/results", params=params or None)
    return time.monotonic() - t0, r.status, r.headers, r.body


def results_answered(up):
    """Results requests answered 2xx, from /metrics."""
    line = 'upshot_http_requests_total{route="results",code="2xx"} '
    for row in up.get("/metrics").body.splitlines():
        if row.startswith(line):
            return int(row[len(line):])
    return 0


def start_results_requests(up, n):
    """n results requests at once, each on its own thread; returns the
    threads and the list their (seconds, status, headers, body) go to."""
    got, lock = [], threading.Lock()

    def fetch():
        out = results_request(up)
        with lock:
            got.append(out)

    threads = [threading.Thread(target=fetch) for _ in range(n)]
    for t in threads:
        t.start()
    return threads, got


def comparable(body):
    doc = json.loads(body)
    doc.pop("generated_at")
    return doc


def test_assign_answers_while_results_compute_and_results_do_not_change(redis):
    fill_counters(redis)
    with Upshotd(redis, [experiment(), big_experiment()]) as up:
        # Alone: the reference body and how long one computation takes.
        alone = []
        for _ in range(2):
            secs, status, _, body = results_request(up)
            assert status == 200, body[:300]
            alone.append((secs, comparable(body)))
        assert alone[0][1] == alone[1][1]
        reference = alone[1][1]
        one_results = min(s for s, _ in alone)
        assert len(reference["regions"]) == REGIONS
        assert len(reference["daily"]) == REGIONS * DAYS * 2

        # Three results requests at once; assigns measured meanwhile.
        threads, got = start_results_requests(up, 3)
        latencies = []
        i = 0
        while any(t.is_alive() for t in threads):
            t0 = time.monotonic()
            r = up.assign(f"v-{i}")
            latencies.append(time.monotonic() - t0)
            assert r.status == 200, r
            i += 1
        for t in threads:
            t.join()

        assert [status for _, status, _, _ in got] == [200, 200, 200]
        for _, _, _, body in got:
            assert comparable(body) == reference
        assert len(latencies) >= 10, latencies
        slowest = max(latencies)
        # With the statistics on the loop, an assign waited for whole
        # computations (as long as one results request, or several). Off
        # the loop it waits at most for the reading of a counters reply and
        # for a core shared with the worker: half of one request is the
        # line, with room for a machine as small as two cores.
        assert slowest < one_results / 2, (
            f"slowest assign {slowest * 1000:.1f} ms during results requests; "
            f"one results request alone takes {one_results * 1000:.1f} ms")


def test_a_full_worker_answers_busy_with_retry_after(redis):
    fill_counters(redis)
    with Upshotd(redis, [experiment(), big_experiment()], worker={"threads": 1, "queue": 1}) as up:
        threads, got = start_results_requests(up, 6)
        for t in threads:
            t.join()
        statuses = sorted(status for _, status, _, _ in got)
        assert 200 in statuses, statuses
        assert 503 in statuses, statuses
        for _, status, headers, body in got:
            if status == 503:
                assert json.loads(body)["error"] == "busy"
                assert int(headers["retry-after"]) >= 1
        # Once the worker is free again, the next request is served.
        assert results_request(up)[1] == 200
        # And /metrics counted every refusal.
        busy = [line for line in up.get("/metrics").body.splitlines()
                if line.startswith("upshot_results_busy_total ")]
        assert busy == [f"upshot_results_busy_total {statuses.count(503)}"], busy


def test_a_body_over_the_bound_is_refused_and_one_region_still_answers(redis):
    fill_counters(redis)
    with Upshotd(redis, [experiment(), big_experiment()],
                 limits={"max_results_bytes": 1 << 20}) as up:
        _, status, _, body = results_request(up)
        assert status == 422, body[:300]
        err = json.loads(body)
        assert err["error"] == "results_too_large" and "region=" in err["message"]
        _, status, _, body = results_request(up, region="r0007")
        assert status == 200, body[:300]
        doc = json.loads(body)
        assert [r["region"] for r in doc["regions"]] == ["r0007"]
        assert len(body) <= 1 << 20


def test_a_client_that_leaves_before_its_results_harms_nothing(redis):
    fill_counters(redis)
    with Upshotd(redis, [experiment(), big_experiment()]) as up:
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", up.port))
            s.sendall((f"GET /v1/experiments/{BIG}/results HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n").encode())
            time.sleep(0.2)  # read and dispatched: its computation has begun
            s.close()
        # Each computation ends with a reply to a connection that is gone;
        # the server goes on answering, and its exit is clean (under
        # AddressSanitizer: no use after free, no leak).
        secs, status, _, _ = results_request(up)
        assert status == 200
        # The three were computed and answered, into closed sockets.
        assert results_answered(up) == 4
        assert up.assign("v-after").status == 200
        assert up.stop() == 0, up.read_log()[-2000:]


def test_shutdown_while_results_compute_exits_cleanly(redis):
    fill_counters(redis)
    with Upshotd(redis, [experiment(), big_experiment()]) as up:
        got = []

        def fetch():
            try:
                got.append(results_request(up)[1])
            except (OSError, http.client.HTTPException):
                got.append("closed")

        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        assert up.kill(signal.SIGTERM) == 0, up.read_log()[-2000:]
        for t in threads:
            t.join()
        assert set(got) <= {200, 503, "closed"}, got
