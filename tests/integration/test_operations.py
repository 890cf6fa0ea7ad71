"""What an operator relies on: --version and --check-config, one
parseable format for every log line, the optional access log, build and
process metrics, and HEAD on every GET route, against a real upshotd."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from harness import (ADMIN_TOKEN, SDK_KEY, SOURCE_DIR, UPSHOTD, RedisServer, Upshotd,
                     read_until_closed, servers, wait_until)

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (debug|info|warn|error) "
                      r"upshotd: (\S.*)$")
ACCESS_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) ([A-Z]+) (/\S*) "
                         r"(\d{3}) (\d+) (\d+\.\d{6})$")
GET_ROUTES = ["/v1/assign?experiment=checkout-tiers&visitor=v1&region=gr",
              "/v1/assignments?visitor=v1&region=gr&page=checkout",
              "/v1/sdk/config", "/healthz", "/metrics", "/v1/experiments",
              "/v1/experiments/checkout-tiers", "/v1/experiments/checkout-tiers/results",
              "/v1/experiments/checkout-tiers/log", "/v1/experiments/checkout-tiers/promotions",
              "/v1/experiments/checkout-tiers/breaker"]
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Upshot-Key": SDK_KEY}


def run(*args):
    return subprocess.run([UPSHOTD, *args], capture_output=True, text=True, timeout=30)


def test_version_names_the_project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        version = re.search(r"project\(upshot VERSION (\S+)", f.read()).group(1)
    r = run("--version")
    assert r.returncode == 0, r
    assert re.fullmatch(rf"upshotd {re.escape(version)}( \(\S+\))?\n", r.stdout), r.stdout


def test_check_config_says_ok_or_names_the_error(tmp_path):
    d = str(tmp_path)
    good = os.path.join(d, "good.json")
    cfg = servers.upshotd_config(8080, 6379, "data", ADMIN_TOKEN, SDK_KEY, [], cors_origins=[])
    servers.write_json(good, cfg)
    r = run("--check-config", good)
    assert (r.returncode, r.stdout) == (0, "OK\n"), r
    assert not os.path.exists(os.path.join(d, "data")), "checking must not create data_dir"

    bad = os.path.join(d, "bad.json")
    servers.write_json(bad, dict(cfg, limits={"max_body_bytez": 1}))
    r = run("--check-config", bad)
    assert r.returncode == 1 and "max_body_bytez" in r.stderr and bad in r.stderr, r
    exp = {"key": "a", "placement": "p", "variants": [{"key": "x", "weight": 0.7},
                                                        {"key": "y", "weight": 0.7}]}
    servers.write_json(bad, dict(cfg, experiments=[exp]))
    r = run("--check-config", bad)
    assert r.returncode == 1 and "weight" in r.stderr, r
    r = run("--check-config", os.path.join(d, "missing.json"))
    assert r.returncode == 1 and "missing.json" in r.stderr, r
    assert run("--check-config").returncode == 2
    assert run("--check-config", good, "extra").returncode == 2


def test_every_log_line_parses(redis):
    up = Upshotd(redis)
    up.start()
    try:
        up.admin("POST", "/v1/experiments/checkout-tiers/stop")
        up.admin("POST", "/v1/admin/reload")
        # a refusal of the request guard, logged rate-limited
        s = socket.create_connection(("127.0.0.1", up.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        read_until_closed(s)
        s.close()
    finally:
        assert up.stop() == 0
    lines = up.read_log().splitlines()
    levels = set()
    for line in lines:
        m = LOG_LINE.match(line)
        assert m, f"does not parse: {line!r}"
        levels.add(m.group(2))
    assert {"info", "warn"} <= levels, lines
    assert any("listening (http) on" in line for line in lines) and lines[-1].endswith("upshotd: stopped")


def test_the_access_log_is_off_unless_configured(redis):
    with Upshotd(redis) as up:
        up.get("/healthz")
        assert not any(ACCESS_LINE.match(line) for line in up.read_log().splitlines())
        assert not any("access" in name for name in os.listdir(up.dir))


def test_the_access_log_has_one_line_per_request_without_secrets(redis):
    with Upshotd(redis, access_log="access.log") as up:
        t0 = time.time()
        up.request("GET", "/v1/assign", params={"experiment": "checkout-tiers", "visitor": "v9",
                                                "region": "gr", "key": SDK_KEY})
        up.admin("GET", "/v1/experiments/nope")
        up.request("HEAD", "/healthz")
        path = os.path.join(up.dir, "access.log")
        lines = open(path).read().splitlines()
        # rotated away and SIGHUP: a new file
        os.rename(path, path + ".1")
        up.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: os.path.exists(path), what="the access log reopened")
        up.get("/healthz")
        after = open(path).read().splitlines()
    text = "\n".join(lines)
    assert SDK_KEY not in text and ADMIN_TOKEN not in text, text
    parsed = [ACCESS_LINE.match(line) for line in lines]
    assert all(parsed), lines
    by_path = {m.group(4).split("?")[0] + " " + m.group(3): m for m in parsed}
    assign = by_path["/v1/assign GET"]
    assert "key=-" in assign.group(4) and "visitor=v9" in assign.group(4)
    assert assign.group(2) == "127.0.0.1" and assign.group(5) == "200" and int(assign.group(6)) > 0
    assert by_path["/v1/experiments/nope GET"].group(5) == "404"
    assert by_path["/healthz HEAD"].group(6) == "0"
    stamp = time.mktime(time.strptime(assign.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(stamp - t0) < 60
    assert after and all(ACCESS_LINE.match(line) for line in after), after


def test_the_access_log_can_go_to_stderr(redis):
    with Upshotd(redis, access_log="-") as up:
        up.get("/healthz", probe="1")
        lines = up.read_log().splitlines()
    assert any(ACCESS_LINE.match(line) and "/healthz?probe=1" in line for line in lines), lines


def test_build_info_and_process_metrics(upshot):
    text = upshot.get("/metrics").body
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    info = [n for n in values if n.startswith("upshot_build_info{")]
    assert len(info) == 1 and values[info[0]] == 1 and 'version="' in info[0], info
    assert abs(values["process_start_time_seconds"] - time.time()) < 120
    assert values["process_resident_memory_bytes"] > 1 << 20
    assert values["process_open_fds"] >= 5
    assert values["process_cpu_seconds_total"] >= 0


@pytest.mark.parametrize("target", GET_ROUTES)
def test_head_answers_every_get_route_as_get_would_without_a_body(upshot, target):
    get = upshot.request("GET", target, headers=AUTH)
    head = upshot.request("HEAD", target, headers=AUTH)
    assert get.status == head.status == 200, (get, head)
    same = {k: v for k, v in get.headers.items() if k not in ("date", "content-length")}
    assert {k: v for k, v in head.headers.items() if k not in ("date", "content-length")} == same
    if target == "/metrics":  # its counters moved between the two requests
        assert abs(int(head.headers["content-length"]) - len(get.body.encode())) < 1024
    else:
        assert int(head.headers["content-length"]) == len(get.body.encode())
    # On one connection: a body after the HEAD reply would be read as the
    # start of the next reply.
    s = socket.create_connection(("127.0.0.1", upshot.port))
    hdrs = "".join(f"{k}: {v}\r\n" for k, v in AUTH.items())
    s.sendall(f"HEAD {target} HTTP/1.1\r\nHost: x\r\n{hdrs}\r\n"
              f"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data, closed = read_until_closed(s)
    s.close()
    first, rest = data.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200"), data[:200]
    assert rest.startswith(b"HTTP/1.1 200"), f"bytes after the HEAD reply: {rest[:120]!r}"
