"""No client can crash, stall or exhaust upshotd.

Raw sockets against a real upshotd over a real Redis: smuggling attempts
(two Content-Lengths, a signed one, Content-Length with
Transfer-Encoding), bodies far over the limit, heads sent a byte at a
time, more idle connections than the cap, and a descriptor limit smaller
than the connections. After each, the server still answers, and where
state could change, Redis and the experiment set are as before.
"""
import os
import select
import socket
import threading
import time

import pytest

from harness import ADMIN_TOKEN, SDK_KEY, Proc, RedisServer, Upshotd, read_until_closed, servers

EVENT = (b'{"events":[{"id":"smuggled-1","type":"conversion","experiment":"checkout-tiers",'
         b'"visitor":"known-visitor","value":99}]}')
SMUGGLED = (b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Upshot-Key: " + SDK_KEY.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: " +
            str(len(EVENT)).encode() + b"\r\n\r\n" + EVENT)


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def parse(data):
    """(status, headers, body) of the first response in data."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    n = int(headers.get("content-length", len(body)))
    return status, headers, body[:n]


def exchange(port, raw, timeout=5.0):
    with connect(port, timeout) as s:
        s.sendall(raw)
        data, closed = read_until_closed(s, timeout)
    return data, closed


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def state(up):
    return (up.redis.counters("checkout-tiers"),
            up.admin("GET", "/v1/experiments").body)


def alive(up):
    assert up.proc.poll() is None, "upshotd exited"
    assert up.get("/healthz").status == 200


@pytest.fixture(scope="module")
def redis():
    with RedisServer() as r:
        yield r


@pytest.fixture(scope="module")
def server(redis):
    with Upshotd(redis, limits={"header_timeout_ms": 2000, "max_connections": 50}) as up:
        assert up.assign("known-visitor", region="gr").status == 200
        up.wait_applied()
        yield up


# ---- smuggling -----------------------------------------------------------

def post_head(*headers):
    return (b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Upshot-Key: " + SDK_KEY.encode() +
            b"\r\nContent-Type: application/json\r\n" + b"".join(h + b"\r\n" for h in headers) +
            b"\r\n")


# (name, raw request, status, error code)
FRAMING = [
    ("Content-Length 0 then N, the body a second request",
     post_head(b"Content-Length: 0", b"Content-Length: %d" % len(SMUGGLED)) + SMUGGLED,
     400, "duplicate_content_length"),
    ("signed Content-Length +0, the body a second request",
     post_head(b"Content-Length: +0") + SMUGGLED, 400, "invalid_content_length"),
    ("Content-Length and Transfer-Encoding",
     post_head(b"Content-Length: %d" % len(SMUGGLED), b"Transfer-Encoding: chunked") + SMUGGLED,
     400, "conflicting_framing"),
    ("chunked body", post_head(b"Transfer-Encoding: chunked") +
     b"%x\r\n" % len(EVENT) + EVENT + b"\r\n0\r\n\r\n", 411, "length_required"),
    ("NUL after the admin token",
     b"GET /v1/experiments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_TOKEN.encode() +
     b"\x00junk\r\n\r\n", 400, "invalid_header"),
    ("bare LF hides a Content-Length",
     b"GET /healthz HTTP/1.1\r\nX-A: 1\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
     400, "invalid_line_ending"),
]


@pytest.mark.parametrize("name,raw,status,code", FRAMING, ids=[c[0] for c in FRAMING])
def test_ambiguous_framing_is_refused_and_the_connection_closed(server, name, raw, status, code):
    before = state(server)
    data, closed = exchange(server.port, raw)
    st, headers, body = parse(data)
    assert st == status, (name, data[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    import json
    err = json.loads(body)
    assert err["error"] == code and len(err["message"]) > 5, err
    assert data.count(b"HTTP/1.1 ") == 1, f"{name}: a second response: {data!r}"
    assert closed, f"{name}: the connection stayed open"
    server.wait_applied()
    assert state(server) == before, f"{name} changed state"
    alive(server)


# ---- bodies over the limit ----------------------------------------------

def push_body(port, head, total, chunk=1 << 16, budget=20.0):
    """Sends head and then up to `total` body bytes while reading whatever
    the server answers. Returns what was read."""
    s = connect(port)
    s.setblocking(False)
    got = b""
    sent = 0
    pending = head
    data = b"\0" * chunk
    deadline = time.monotonic() + budget
    try:
        while time.monotonic() < deadline:
            r, w, _ = select.select([s], [s] if (pending or sent < total) else [], [], 0.5)
            if r:
                try:
                    c = s.recv(65536)
                except (BlockingIOError, ConnectionResetError):
                    c = b""
                if not c:
                    break
                got += c
            if w:
                try:
                    if pending:
                        pending = pending[s.send(pending):]
                    else:
                        sent += s.send(data[:min(chunk, total - sent)])
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    break
            if not (pending or sent < total) and not r:
                break
    finally:
        s.close()
    return got


def test_twelve_48_mb_bodies_get_413_and_memory_stays_flat(server):
    before = state(server)
    pid = server.proc.pid
    base = rss_kb(pid)
    head = post_head(b"Content-Length: %d" % (48 << 20))
    results, peak = [None] * 12, [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.05)

    def client(i):
        results[i] = push_body(server.port, head, 48 << 20)

    sampler = threading.Thread(target=sample)
    sampler.start()
    clients = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(60)
    done.set()
    sampler.join()
    for got in results:
        st, _, body = parse(got)
        assert st == 413 and b"body_too_large" in body, got[:300]
    # Before the guard: 16 MB to 594 MB. Now the bodies are discarded as
    # they arrive; allow the loop's buffers some room.
    assert peak[0] - base < 40 * 1024, f"RSS grew from {base} kB to {peak[0]} kB"
    assert state(server) == before
    alive(server)


# ---- slow heads ----------------------------------------------------------

def test_a_head_sent_a_byte_at_a_time_is_cut_off_at_its_deadline(server):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    socks = [connect(server.port) for _ in range(20)]
    start = time.monotonic()
    closed_at = [None] * 20
    replies = [b""] * 20
    i = 0
    # One byte a connection every 0.25 s; the deadline is 2 s from the
    # first byte. Give up after 8 s.
    while time.monotonic() - start < 8 and None in closed_at:
        for k, s in enumerate(socks):
            if closed_at[k] is not None:
                continue
            try:
                s.send(head[i:i + 1])
            except OSError:
                pass
            s.setblocking(False)
            try:
                c = s.recv(65536)
                if c:
                    replies[k] += c
                else:
                    closed_at[k] = time.monotonic() - start
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed_at[k] = time.monotonic() - start
            s.setblocking(True)
        i += 1
        time.sleep(0.25)
    for s in socks:
        s.close()
    assert None not in closed_at, f"still open after 8 s: {closed_at}"
    assert max(closed_at) < 5, closed_at
    for r in replies:
        st, _, body = parse(r)
        assert st == 408 and b"request_timeout" in body, r[:200]
    alive(server)


def test_a_slow_but_timely_head_is_answered(server):
    with connect(server.port) as s:
        for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            s.sendall(part)
            time.sleep(0.3)
        s.settimeout(5)
        st, _, _ = parse(s.recv(65536))
    assert st == 200


# ---- connections ----------------------------------------------------------

def test_more_idle_connections_than_the_cap_shed_the_oldest(server):
    idle = [connect(server.port) for _ in range(80)]
    try:
        time.sleep(0.5)
        log_before = os.path.getsize(server.log_path)
        pid = server.proc.pid
        t0 = cpu_ticks(pid)
        time.sleep(2)
        cpu = (cpu_ticks(pid) - t0) / os.sysconf("SC_CLK_TCK") / 2
        assert cpu < 0.2, f"upshotd used {cpu:.0%} CPU with idle connections"
        r = server.get("/healthz")
        assert r.status == 200, r
        # The oldest idle connections were closed to make room.
        closed = 0
        for s in idle[:40]:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed >= 25, f"only {closed} of the oldest 40 were closed"
        assert os.path.getsize(server.log_path) - log_before < 20000
    finally:
        for s in idle:
            s.close()
    alive(server)


class LimitedUpshotd(Upshotd):
    """An upshotd whose open-files limit (soft and hard) is `nofile`."""

    def __init__(self, redis, nofile, **settings):
        super().__init__(redis, **settings)
        self.nofile = nofile

    def start(self, wait_redis=True):
        def launch(name, argv):
            return Proc(name, ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--"] + argv,
                        self.log_path)
        import harness
        self.proc = servers.start_upshotd(launch, harness.UPSHOTD, self.config_path, self.port,
                                          timeout=10.0)
        return self


def test_more_connections_than_descriptors_neither_spin_nor_flood_the_log(redis):
    with LimitedUpshotd(redis, 128) as up:
        pid = up.proc.pid
        conns = []
        try:
            for _ in range(200):
                conns.append(connect(up.port))
            time.sleep(0.5)
            log_before = os.path.getsize(up.log_path)
            t0 = cpu_ticks(pid)
            time.sleep(2)
            cpu = (cpu_ticks(pid) - t0) / os.sysconf("SC_CLK_TCK") / 2
            assert cpu < 0.2, f"upshotd used {cpu:.0%} CPU"
            assert os.path.getsize(up.log_path) - log_before < 20000, "the log grows"
            r = up.get("/healthz")
            assert r.status == 200, r
        finally:
            for s in conns:
                s.close()
        log = up.read_log()
        assert "open files limit 128" in log, log[:2000]
        alive(up)
