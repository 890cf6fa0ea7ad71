"""Real processes for integration tests: a redis-server and an upshotd on
free loopback ports, each in its own temporary directory.

    with RedisServer() as redis, Upshotd(redis, config) as up:
        up.get("/v1/assign", visitor="v1", ...)

Nothing here is faked: the tests speak HTTP to the real binary and read
the real Redis, and every reply Upshotd.request receives is checked
against docs/openapi.yaml (contract.py) before the test sees it. Every
wait is bounded, and every process is killed on exit. Paths come from the environment ctest sets (UPSHOTD, UPSHOT_CLI);
the defaults fit a build in ./build. Starting, waiting and the RESP client
are tests/lib/upshot_testlib's, shared with the benchmark suite.
"""
import http.client
import json
import os
import shutil
import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.parse

import contract

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from upshot_testlib import keys, resp, servers  # noqa: E402
from upshot_testlib.procs import Proc, free_port, wait_until  # noqa: E402,F401 (re-exported)

SOURCE_DIR = os.environ.get("UPSHOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UPSHOTD = os.environ.get("UPSHOTD", os.path.join(SOURCE_DIR, "build", "engine", "upshotd"))
UPSHOT_CLI = os.environ.get("UPSHOT_CLI", os.path.join(SOURCE_DIR, "build", "sdk", "cli", "upshot"))
REDIS_SERVER = servers.redis_server_path()
ADMIN_TOKEN = "integration-admin-token"
SDK_KEY = "pk_integration"


class RedisServer:
    """A private redis-server with AOF on; stop() and start() keep its data."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="upshot-redis-")
        self.proc = None

    def start(self):
        self.proc = servers.start_redis(
            lambda name, argv: Proc(name, argv), self.port, self.dir, persistent=True,
            extra=["--hash-max-listpack-entries", "1024", "--protected-mode", "no"],
            timeout=10.0)
        return self

    def stop(self):
        if self.proc:
            self.proc.stop(grace=10.0)
        self.proc = None

    def command(self, *args):
        """One command over a fresh connection; bulk replies as str."""
        return resp.command(self.port, *args)

    def hgetall(self, key):
        flat = self.command("HGETALL", key) or []
        return dict(zip(flat[0::2], flat[1::2]))

    def counted_event_ids(self, experiment):
        """The conversion and decline ids Redis counted for an experiment
        (the fields of every group's {x:EXP:G:N}:ev that are ids; the
        others, starting with a space, are tokens of lines that were not
        counted: docs/redis.md)."""
        return {k for g in range(keys.GROUPS)
                for k in self.hgetall(keys.event_tokens_key(experiment, g)) if not k.startswith(" ")}

    def counter_hashes(self, experiment):
        """Each shard group's counters hash of an experiment, as stored."""
        return [self.hgetall(keys.counters_key(experiment, g)) for g in range(keys.GROUPS)]

    def counters(self, experiment):
        """The counters of an experiment summed over its groups, numbers
        parsed (as the results endpoint sees them)."""
        return {k: float(v) for k, v in keys.merge_counters(self.counter_hashes(experiment)).items()}

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
        self.tls = None  # an ssl.SSLContext: speak https (the config's "tls" is the test's)
        self.config = servers.upshotd_config(
            self.port, redis.port, "data", ADMIN_TOKEN, SDK_KEY,
            experiments if experiments is not None else [experiment()],
            cors_origins=["http://shop.example"])
        self.config.update(settings)
        self.write_config()

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def write_config(self):
        servers.write_json(self.config_path, self.config)

    def start(self, wait_redis=True):
        if self.tls:
            self.proc = Proc("upshotd", [UPSHOTD, "--config", self.config_path], self.log_path)
            try:
                wait_until(lambda: self.proc.check_alive() or self._answers(), timeout=10.0,
                           what="upshotd over https")
            except BaseException:
                self.proc.stop()
                raise
        else:
            self.proc = servers.start_upshotd(lambda name, argv: Proc(name, argv, self.log_path),
                                              UPSHOTD, self.config_path, self.port, timeout=10.0)
        if wait_redis and self.redis.proc:
            wait_until(lambda: self.health().get("redis") == "up" and
                       self.health().get("shared_state") == "up", what="upshotd's redis link")
        return self

    def _answers(self):
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
        """Sends sig and returns the exit status (SIGKILL after 15 s)."""
        code = self.proc.stop(sig, grace=15.0)
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
        if getattr(self, "tls", None):  # bed.Endpoint borrows this method
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=self.tls)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                            r.read().decode(errors="replace"))
        finally:
            conn.close()
        # Every reply a test sees is held to docs/openapi.yaml.
        contract.check(method, path, resp.status, resp.headers, resp.body)
        return resp

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


def read_until_closed(sock, timeout=5.0):
    """Everything a raw socket receives until the server closes it (or the
    timeout passes); the bool says whether it closed."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except (socket.timeout, ConnectionResetError):
        return data, False


def expose_recorded(up, visitor, region="gr", experiment="checkout-tiers"):
    """Assigns and exposes visitor; the exposure must be acknowledged as
    recorded. Returns the variant."""
    r = up.assign(visitor, region=region, experiment=experiment)
    assert r.status == 200, r
    body = r.json()
    assert body["exposure"] == "recorded", body
    return body["variant"]


def totals_by_variant(results):
    return {v["variant"]: v for v in results["total"]["variants"]}


def can_mount_tmpfs():
    """Whether this process may mount a tmpfs (root in a machine or
    namespace that allows it): the way tests fill a disk for real."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = tempfile.mkdtemp(prefix="upshot-tmpfs-probe-")
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", probe], check=True)
        return ok
    finally:
        os.rmdir(probe)


@contextlib.contextmanager
def small_disk(path, size="4m"):
    """Mounts a tmpfs of `size` on path (created if needed) for the block."""
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # the parent, when the block emptied it
            os.rmdir(os.path.dirname(path))


def fill_disk(path):
    """Writes zeros to path/filler until the disk is full; returns the
    filler's path (unlink it to free the space)."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler
