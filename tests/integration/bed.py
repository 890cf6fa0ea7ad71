"""The multi-instance test bed: several real upshotd instances, each with its
own data_dir and journal, sharing one Redis or a Redis Cluster, with a real
nginx balancing over them.

    with Bed("cluster") as bed:          # 3 masters + 3 replicas
        bed.ups[0].assign("v1")          # one instance (harness.Upshotd)
        bed.front.assign("v1")           # through nginx
        bed.cluster.failover(...)

Topologies (docs/operations.md): "single" is one redis-server (AOF on)
with upshotd's default redis.host/port; "cluster" is six nodes made with
redis-cli --cluster create, masters with min-replicas-to-write 1 and
upshotd with redis.nodes and redis.wait_replicas 1.

LoadGen is a client that behaves as a real one does: it sends each
visitor's exposure, orders and decline in one batch, retries a batch that
failed (connection error, 5xx) with the same event ids until it is
acknowledged, and records exactly what was acknowledged, so the expected
counts are known event by event.
"""
import os
import random
import shutil
import tempfile
import threading
import time

from harness import (ADMIN_TOKEN, RedisServer, Response, Upshotd, experiment,  # noqa: F401
                     free_port, wait_until)
from upshot_testlib.nginx import Nginx
from upshot_testlib.redis_cluster import RedisCluster


class Endpoint:
    """HTTP helpers of harness.Upshotd against any port (nginx's)."""

    def __init__(self, port):
        self.port = port

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    request = Upshotd.request
    get = Upshotd.get
    public = Upshotd.public
    assign = Upshotd.assign
    events = Upshotd.events
    admin = Upshotd.admin
    results = Upshotd.results


class _ClusterHandle:
    """What harness.Upshotd needs of its redis: a port (for the default
    config, replaced here) and a proc (truthy: wait for redis up)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.port = cluster.nodes[0]
        self.proc = True


class Bed:
    """topology: "single" or "cluster"; instances: upshotd count.
    experiments: their definitions (every instance gets the same file)."""

    def __init__(self, topology="cluster", instances=3, experiments=None, upshotd_settings=None):
        self.topology = topology
        self.n = instances
        self.experiments = experiments if experiments is not None else [experiment()]
        self.settings = dict(upshotd_settings or {})
        self.dir = tempfile.mkdtemp(prefix=f"upshot-bed-{topology}-")
        self.cluster = None
        self.redis = None
        self.ups = []
        self.nginx = None
        self.front = None

    def start(self):
        try:
            if self.topology == "cluster":
                self.cluster = RedisCluster(os.path.join(self.dir, "cluster"), masters=3,
                                            replicas=1, node_timeout_ms=1000,
                                            extra_conf={"min-replicas-to-write": 1,
                                                        "min-replicas-max-lag": 10})
                self.cluster.start()
                handle = _ClusterHandle(self.cluster)
                redis_cfg = {"nodes": self.cluster.seeds(), "wait_replicas": 1,
                             "wait_timeout_ms": 1000}
            else:
                self.redis = RedisServer().start()
                handle = self.redis
                redis_cfg = {"host": "127.0.0.1", "port": self.redis.port}
            for _ in range(self.n):
                up = Upshotd(handle, self.experiments, **self.settings)
                up.config["redis"] = dict(redis_cfg)
                up.write_config()
                self.ups.append(up)
            for up in self.ups:
                up.start()
            self.nginx = Nginx(os.path.join(self.dir, "nginx"), free_port(),
                               [f"127.0.0.1:{u.port}" for u in self.ups]).start()
            self.front = Endpoint(self.nginx.port)
        except BaseException:
            self.stop()
            raise
        return self

    def endpoints(self):
        """Every instance, then nginx."""
        return list(self.ups) + [self.front]

    def wait_applied(self, timeout=60):
        """Waits until every running instance's journal reached Redis."""
        for up in self.ups:
            if up.proc is not None:
                up.wait_applied(timeout=timeout)

    def logs(self):
        """The end of every log, for a failing assertion's message."""
        out = []
        for i, up in enumerate(self.ups):
            try:
                out.append(f"--- upshotd {i}\n" + "\n".join(up.read_log().splitlines()[-20:]))
            except OSError:
                pass
        if self.nginx:
            out.append("--- nginx\n" + self.nginx.error_log()[-2000:])
        return "\n".join(out)

    def stop(self):
        for step in ([self.nginx.stop] if self.nginx else []) + \
                    [u.stop for u in self.ups] + \
                    ([self.cluster.stop] if self.cluster else []) + \
                    ([self.redis.stop] if self.redis else []):
            try:
                step()
            except Exception:  # keep stopping the rest
                pass
        self.nginx = None
        for up in self.ups:
            shutil.rmtree(up.dir, ignore_errors=True)
        self.ups = []
        if self.redis:
            shutil.rmtree(self.redis.dir, ignore_errors=True)
            self.redis = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---- load ----

class LoadGen:
    """Sends every visitor's events once acknowledged, round robin over
    targets (Endpoints or Upshotds), from `threads` threads, batch_size
    visitors per POST. A batch that fails (no answer, 5xx) is sent again,
    same ids, to the next target, until acknowledged or `give_up` seconds
    passed (then the test fails: a real client would still be retrying).

    plan(visitors, variant_of) decides each visitor's events up front;
    variant_of(visitor) is the assignment (asked of the server with
    expose=0). expected() are the counts the acknowledged events must
    produce, per variant, in results' COUNTS fields."""

    def __init__(self, experiment_key, targets, seed=1, region="gr"):
        self.exp = experiment_key
        self.targets = list(targets)
        self.rng = random.Random(seed)
        self.region = region
        self.batches = []          # [(visitor's variant, [events of one visitor]), ...]
        self.acked = []            # batches acknowledged (index)
        self.failures = 0          # attempts that failed and were retried
        self.errors = []           # what failed, for the message
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()

    def plan(self, prefix, n_visitors, variant_of):
        for i in range(n_visitors):
            v = f"{prefix}-{i}"
            evs = [{"id": f"x-{v}", "type": "exposure", "experiment": self.exp,
                    "visitor": v, "region": self.region}]
            r = self.rng.random()
            if r < 0.3:
                for k in range(1 + (self.rng.random() < 0.3)):
                    # whole-number values: float sums stay exact in any order
                    evs.append({"id": f"o-{v}-{k}", "type": "conversion",
                                "experiment": self.exp, "visitor": v,
                                "value": float(self.rng.randint(5, 120))})
            elif r < 0.5:
                evs.append({"id": f"d-{v}", "type": "decline", "experiment": self.exp,
                            "visitor": v})
            self.batches.append((variant_of(v), evs))

    def _send(self, batch_events, turn, give_up):
        deadline = time.monotonic() + give_up
        attempt = 0
        while True:
            t = self.targets[(turn + attempt) % len(self.targets)]
            attempt += 1
            try:
                r = t.events(batch_events)
                if r.status == 202:
                    body = r.json()
                    if body.get("rejected"):
                        raise AssertionError(f"events rejected: {body}")
                    return
                why = f"status {r.status}: {r.body[:200]}"
            except (OSError, ConnectionError) as e:
                why = f"{type(e).__name__}: {e}"
            with self.lock:
                self.failures += 1
                if len(self.errors) < 20:
                    self.errors.append(why)
            if time.monotonic() > deadline:
                raise AssertionError(f"a batch was not acknowledged in {give_up}s: {why}")
            time.sleep(0.05)

    def run(self, threads=4, batch_size=10, rate=None, give_up=120.0):
        """Sends everything planned; returns when all is acknowledged.
        rate: batches per second over all threads (None: as fast as
        acknowledged)."""
        groups = [list(range(i, min(i + batch_size, len(self.batches))))
                  for i in range(0, len(self.batches), batch_size)]
        queue = list(enumerate(groups))
        qlock = threading.Lock()
        errs = []
        interval = (threads / rate) if rate else 0

        def worker():
            while True:
                with qlock:
                    if not queue:
                        return
                    turn, g = queue.pop(0)
                evs = [e for i in g for e in self.batches[i][1]]
                try:
                    self._send(evs, turn, give_up)
                except BaseException as e:
                    errs.append(e)
                    return
                with self.lock:
                    self.acked.extend(g)
                if interval:
                    time.sleep(interval)
        ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errs:
            raise errs[0]

    def start(self, **kw):
        """run() in a background thread; join() waits and raises its error."""
        self._err = []

        def body():
            try:
                self.run(**kw)
            except BaseException as e:
                self._err.append(e)
        self._thread = threading.Thread(target=body, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout=300):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load generator did not finish"
        if self._err:
            raise self._err[0]

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def expected(self):
        """{variant: COUNTS} the acknowledged events must produce."""
        out = {}
        for i in sorted(set(self.acked)):
            variant, evs = self.batches[i]
            c = out.setdefault(variant, {"visitors": 0, "conversions": 0, "orders": 0,
                                         "revenue_sum": 0.0, "revenue_sumsq": 0.0,
                                         "decliners": 0})
            c["visitors"] += 1
            revenue = sum(e["value"] for e in evs if e["type"] == "conversion")
            orders = sum(1 for e in evs if e["type"] == "conversion")
            if orders:
                c["conversions"] += 1
                c["orders"] += orders
                c["revenue_sum"] += revenue
                c["revenue_sumsq"] += revenue * revenue
            if any(e["type"] == "decline" for e in evs):
                c["decliners"] += 1
        return out


def assignments(target, experiment_key, visitors, region="gr"):
    """{visitor: variant} as target assigns them, without exposing."""
    out = {}
    for v in visitors:
        r = target.assign(v, region=region, experiment=experiment_key, expose=False)
        assert r.status == 200, r
        out[v] = r.json()["variant"]
    return out


def check_counts(results, expected):
    """Compares results' total COUNTS with expected, field by field; returns
    a list of differences (empty: exact)."""
    got = {v["variant"]: v for v in results["total"]["variants"]}
    diffs = []
    for variant in sorted(set(got) | set(expected)):
        g = got.get(variant, {})
        e = expected.get(variant, {})
        for field in ("visitors", "conversions", "orders", "revenue_sum", "revenue_sumsq",
                      "decliners"):
            gv, ev = g.get(field, 0), e.get(field, 0)
            if abs(float(gv) - float(ev)) > 1e-6 * max(1.0, abs(float(ev))):
                diffs.append(f"{variant}.{field}: got {gv}, expected {ev}")
    if results.get("integrity", {}).get("unexposed_conversions"):
        diffs.append(f"integrity: {results['integrity']}")
    return diffs
