"""Real processes for integration tests: a redis-server and an upshotd on
free loopback ports, each in its own temporary directory.

    with RedisServer() as redis, Upshotd(redis, config) as up:
        up.get("/v1/assign", visitor="v1", ...)

Nothing here is faked: the tests speak HTTP to the real binary and read
the real Redis. Every wait is bounded, and every process is killed on
exit. Paths come from the environment ctest sets (UPSHOTD, UPSHOT_CLI);
the defaults fit a build in ./build.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

SOURCE_DIR = os.environ.get("UPSHOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UPSHOTD = os.environ.get("UPSHOTD", os.path.join(SOURCE_DIR, "build", "engine", "upshotd"))
UPSHOT_CLI = os.environ.get("UPSHOT_CLI", os.path.join(SOURCE_DIR, "build", "sdk", "cli", "upshot"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
ADMIN_TOKEN = "integration-admin-token"
SDK_KEY = "pk_integration"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A private redis-server with AOF on; stop() and start() keep its data."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="upshot-redis-")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--hash-max-listpack-entries", "1024", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, what=f"redis on {self.port}")
        return self

    def _ping(self):
        try:
            return self.command("PING") == "PONG"
        except (OSError, RuntimeError):  # not listening yet, or LOADING the AOF
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def command(self, *args):
        """One command over a fresh connection, RESP parsed minimally."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            payload = f"*{len(args)}\r\n" + "".join(
                f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
            s.sendall(payload.encode())
            f = s.makefile("rb")
            return self._read(f)

    def _read(self, f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read(f) for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def hgetall(self, key):
        flat = self.command("HGETALL", key) or []
        return dict(zip(flat[0::2], flat[1::2]))

    def counters(self, experiment):
        """The counters hash of an experiment, numbers parsed."""
        return {k: float(v) for k, v in self.hgetall("{x:%s}:cnt" % experiment).items()}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def experiment(key="checkout-tiers", **overrides):
    """A running two-variant experiment in the five demo regions."""
    exp = {
        "key": key, "status": "running", "placement": "checkout_popup", "pages": ["checkout"],
        "regions": ["gr", "pl", "mena", "ee", "se"], "control": "control",
        "variants": [
            {"key": "control", "weight": 0.5, "payload": {"tiers": ["basic"]}},
            {"key": "three-tiers", "weight": 0.5,
             "payload": {"tiers": ["basic", "standard", "premium"]}},
        ],
    }
    exp.update(overrides)
    return exp


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Upshotd:
    """A real upshotd with a generated config in a temporary data dir."""

    def __init__(self, redis, experiments=None, **settings):
        self.redis = redis
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="upshotd-")
        self.config_path = os.path.join(self.dir, "upshotd.json")
        self.log_path = os.path.join(self.dir, "upshotd.log")
        self.proc = None
        self.config = {
            "listen": {"host": "127.0.0.1", "port": self.port},
            "redis": {"host": "127.0.0.1", "port": redis.port},
            "data_dir": "data",
            "admin_token": ADMIN_TOKEN,
            "sdk_keys": [SDK_KEY],
            "cors_origins": ["http://shop.example"],
            "experiments": experiments if experiments is not None else [experiment()],
        }
        self.config.update(settings)
        self.write_config()

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f)

    def start(self, wait_redis=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([UPSHOTD, "--config", self.config_path],
                                     stdout=self.log, stderr=self.log)
        wait_until(self._healthy, what=f"upshotd on {self.port}")
        if wait_redis and self.redis.proc:
            wait_until(lambda: self.health().get("redis") == "up", what="upshotd's redis link")
        return self

    def _healthy(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"upshotd exited with {self.proc.returncode}: {self.read_log()}")
        try:
            return self.get("/healthz").status == 200
        except OSError:
            return False

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def health(self):
        return self.get("/healthz").json()

    def wait_applied(self, timeout=10):
        """Waits until every journaled event reached Redis."""
        wait_until(lambda: self.health()["journal_pending"] == 0, timeout=timeout,
                   what="the journal to drain into redis")

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        code = self.proc.wait(15)
        self.log.close()
        self.proc = None
        return code

    def stop(self):
        if self.proc and self.proc.poll() is None:
            return self.kill(signal.SIGTERM)
        return None

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, params=None, raw_body=None):
        if params:
            path = path + "?" + urllib.parse.urlencode(params)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                            r.read().decode(errors="replace"))
        finally:
            conn.close()

    def get(self, path, **params):
        return self.request("GET", path, params=params or None)

    def public(self, method, path, body=None, params=None, headers=None, raw_body=None):
        h = {"X-Upshot-Key": SDK_KEY}
        h.update(headers or {})
        return self.request(method, path, body=body, params=params, headers=h, raw_body=raw_body)

    def assign(self, visitor, region="gr", experiment="checkout-tiers", expose=True, **extra):
        params = {"experiment": experiment, "visitor": visitor, "region": region,
                  "expose": "1" if expose else "0"}
        params.update(extra)
        return self.public("GET", "/v1/assign", params=params)

    def events(self, events):
        return self.public("POST", "/v1/events", body={"events": events})

    def admin(self, method, path, body=None, params=None, headers=None):
        h = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Upshot-Actor": "integration-test"}
        h.update(headers or {})
        return self.request(method, path, body=body, params=params, headers=h)

    def results(self, experiment="checkout-tiers", **params):
        r = self.admin("GET", f"/v1/experiments/{experiment}/results", params=params or None)
        assert r.status == 200, r
        return r.json()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def totals_by_variant(results):
    return {v["variant"]: v for v in results["total"]["variants"]}
