"""A real Redis Cluster of redis-server processes on loopback, for tests and
for `tools/run --cluster`:

    c = RedisCluster(workdir, masters=3, replicas=1,
                     extra_conf={"min-replicas-to-write": 1})
    c.start()                 # 6 nodes, `redis-cli --cluster create`, state ok
    c.seeds()                 # ["127.0.0.1:P", ...] for upshotd's redis.nodes
    c.failover(c.replicas_of(c.masters()[0])[0])
    c.stop()

Every node lives in workdir/node-PORT/ (redis.conf, nodes.conf, the AOF,
redis.log), so a killed node restarted with start_node(port) rejoins with
its identity and becomes a replica of whoever took its slots.

Ports: a cluster node also listens on port+10000 (the cluster bus), so a
port is taken only when both it and its bus port are free; ports are drawn
from 10000-22000 (buses 20000-32000), below the ephemeral range where outgoing
connections would otherwise take them.

Why redis-cli for create and reshard: those are the tools an operator
uses, and the test bed must show that upshotd survives exactly what they
do. Everything else (state, roles, slots) is read with redis-cli too, so a
reply is what an operator would see.

Every wait has a time bound; every node is stopped by its own pid, by
stop() and also when the interpreter exits. Standard library only.
"""
import atexit
import os
import random
import signal
import socket
import subprocess
import time

from .procs import Proc, ProcessError, wait_until
from .servers import redis_server_path

CLUSTER_SLOTS = 16384


def _bindable(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_ports(n, low=10000, high=22000):
    """n ports, each free on 127.0.0.1 together with its bus port
    (port+10000), all distinct and no bus port colliding with another
    node's port. Another process may still take one before the node binds
    it; start() then fails with the node's log, which is rare."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    chosen = []
    for _ in range(2000):
        p = rng.randrange(low, high)
        taken = set(chosen) | {c + 10000 for c in chosen}
        if p in taken or p + 10000 in taken:
            continue
        if _bindable(p) and _bindable(p + 10000):
            chosen.append(p)
            if len(chosen) == n:
                return chosen
    raise ProcessError(f"could not find {n} free port pairs for a cluster")


def free_cluster_port_range(n, low=10000, high=22000):
    """The first of n consecutive ports that are free with their bus ports
    (for RedisCluster(ports=...) and tools/run --cluster's
    UPSHOT_CLUSTER_PORT)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(500):
        base = rng.randrange(low, high - n)
        if all(_bindable(p) and _bindable(p + 10000) for p in range(base, base + n)):
            return base
    raise ProcessError(f"could not find {n} consecutive free port pairs")


def redis_cli_path():
    return os.path.join(os.path.dirname(redis_server_path()), "redis-cli")


class RedisCluster:
    """masters x (1 + replicas) redis-server nodes forming one cluster.

    node_timeout_ms: cluster-node-timeout, how long a master may be
    unreachable before its replica is promoted; small here so failovers in
    tests take about a second or two.
    extra_conf: {directive: value} added to every node's redis.conf, e.g.
    {"min-replicas-to-write": 1} or {"appendfsync": "always"}.
    ports: the nodes' ports (masters x (1 + replicas) of them) instead of
    free ones drawn at random; for a bed whose addresses people type.
    """

    def __init__(self, workdir, masters=3, replicas=1, node_timeout_ms=1000, extra_conf=None,
                 ports=None):
        self.workdir = os.path.abspath(workdir)
        self.fixed_ports = list(ports) if ports else None
        self.n_masters = masters
        self.n_replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.extra_conf = dict(extra_conf or {})
        self.nodes = []          # ports, in creation order
        self.procs = {}          # port -> Proc (only nodes currently started)
        self._atexit = False

    # ---- lifecycle ----
    def node_dir(self, port):
        return os.path.join(self.workdir, f"node-{port}")

    def log_path(self, port):
        return os.path.join(self.node_dir(port), "redis.log")

    def conf_path(self, port):
        return os.path.join(self.node_dir(port), "redis.conf")

    def _write_conf(self, port):
        d = self.node_dir(port)
        os.makedirs(d, exist_ok=True)
        conf = {
            "port": port, "bind": "127.0.0.1", "protected-mode": "no",
            "daemonize": "no", "dir": d, "save": '""',
            "cluster-enabled": "yes", "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": self.node_timeout_ms,
            "appendonly": "yes", "appendfsync": "everysec",
            # Slots whose master is lost make the whole cluster refuse
            # commands until a replica takes over: what operators run.
            "cluster-require-full-coverage": "yes",
        }
        conf.update(self.extra_conf)
        with open(self.conf_path(port), "w") as f:
            for k, v in conf.items():
                f.write(f"{k} {v}\n")

    def start_node(self, port, timeout=20.0):
        """Starts (or restarts) the node on port from its redis.conf and
        waits until it answers PING. A restarted node keeps its nodes.conf,
        so it rejoins the cluster with its old identity."""
        if port in self.procs and self.procs[port].poll() is None:
            return self.procs[port]
        p = Proc(f"redis-{port}", [redis_server_path(), self.conf_path(port)],
                 self.log_path(port))
        self.procs[port] = p

        def ready():
            p.check_alive()
            try:
                return self.cli(port, "PING", timeout=2).strip() == "PONG"
            except (ProcessError, subprocess.TimeoutExpired):
                return False
        wait_until(ready, timeout=timeout, interval=0.05, what=f"redis node {port}")
        return p

    def start(self, timeout=60.0):
        """Starts every node, creates the cluster with redis-cli, and waits
        until every node reports cluster_state:ok and every replica is in
        sync with its master. Stops what it started if any step fails."""
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        n = self.n_masters * (1 + self.n_replicas)
        if self.fixed_ports:
            if len(self.fixed_ports) != n:
                raise ValueError(f"{n} ports needed, {len(self.fixed_ports)} given")
            busy = [p for p in self.fixed_ports if not (_bindable(p) and _bindable(p + 10000))]
            if busy:
                raise ProcessError(f"port or bus port (port+10000) taken: {busy}")
            self.nodes = list(self.fixed_ports)
        else:
            self.nodes = free_cluster_ports(n)
        try:
            for port in self.nodes:
                self._write_conf(port)
                self.start_node(port)
            if self.n_masters >= 3:
                args = ["--cluster", "create"] + [f"127.0.0.1:{p}" for p in self.nodes]
                args += ["--cluster-replicas", str(self.n_replicas), "--cluster-yes"]
                self._run_cli(args, timeout=timeout)
            else:
                self._create_small()
            self.wait_ok(timeout=timeout)
            self.wait_replicas_synced(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _create_small(self):
        """redis-cli --cluster create refuses fewer than three masters; a
        benchmark comparing one, two and three masters makes the small ones
        by hand the same way: master i takes the slot range redis-cli would
        give it (16384/m slots each, rounded as redis-cli rounds), every
        node meets the first, and replicas follow the masters in order."""
        m = self.n_masters
        masters, others = self.nodes[:m], self.nodes[m:]
        per, cursor, first = 16384 / m, 0.0, 0
        for i, port in enumerate(masters):
            last = 16383 if i == m - 1 else int(round(cursor + per - 1))
            self.cli(port, "CLUSTER", "ADDSLOTSRANGE", str(first), str(last))
            first, cursor = last + 1, cursor + per
        for port in self.nodes[1:]:
            self.cli(port, "CLUSTER", "MEET", "127.0.0.1", str(self.nodes[0]))
        for i, port in enumerate(others):
            master = masters[i % m]

            def known():
                return self.node_id(master) in self.cli(port, "CLUSTER", "NODES")
            wait_until(known, timeout=20, interval=0.05, what=f"node {port} to learn {master}")
            self.cli(port, "CLUSTER", "REPLICATE", self.node_id(master))

    def stop(self, sig=signal.SIGKILL):
        """Stops every node: SIGKILL by default (a test bed has nothing to
        save); SIGTERM lets each write its AOF first (SIGKILL after 10 s).
        Idempotent."""
        for port, p in list(self.procs.items()):
            try:
                p.stop(sig, grace=10.0)
            except Exception:  # keep stopping the others
                pass
        self.procs.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def kill(self, port, sig=signal.SIGKILL):
        """Sends sig to the node on port; for SIGKILL and SIGTERM waits
        until it exited. The node stays in the cluster's view (as failing)
        until start_node(port) brings it back or a replica takes over."""
        p = self.procs[port]
        if sig in (signal.SIGKILL, signal.SIGTERM):
            p.stop(sig, grace=10.0)
            del self.procs[port]
        else:
            p.send_signal(sig)

    def alive(self):
        return [p for p in self.nodes if p in self.procs and self.procs[p].poll() is None]

    # ---- redis-cli ----
    def _run_cli(self, args, timeout=30.0):
        r = subprocess.run([redis_cli_path()] + list(args), capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise ProcessError(f"redis-cli {' '.join(args[:4])}... exited {r.returncode}:\n"
                               f"{(r.stdout + r.stderr)[-2000:]}")
        return r.stdout

    def cli(self, port, *args, cluster=False, timeout=10.0):
        """redis-cli's output of one command to the node on port (with
        cluster=True, `-c`: follows MOVED/ASK like a cluster client).
        Errors replies come back as text (redis-cli prints them), as an
        operator sees them."""
        argv = ["-h", "127.0.0.1", "-p", str(port)] + (["-c"] if cluster else [])
        return self._run_cli(argv + [str(a) for a in args], timeout=timeout)

    def _info(self, port, section):
        out = {}
        for ln in self.cli(port, "INFO", section, timeout=3).splitlines():
            if ":" in ln and not ln.startswith("#"):
                k, v = ln.split(":", 1)
                out[k] = v.strip()
        return out

    # ---- topology ----
    def cluster_nodes(self, port=None):
        """CLUSTER NODES as seen from port (default: any live node):
        dicts with id, port, flags (set), master (id or None), slots
        (list of (first, last)), connected (bool)."""
        port = port or self.alive()[0]
        rows = []
        for ln in self.cli(port, "CLUSTER", "NODES", timeout=3).splitlines():
            f = ln.split()
            if len(f) < 8:
                continue
            addr = f[1].split("@")[0]
            slots = []
            for s in f[8:]:
                if s.startswith("["):
                    continue  # a slot being migrated or imported
                a, _, b = s.partition("-")
                slots.append((int(a), int(b or a)))
            rows.append({"id": f[0], "port": int(addr.rsplit(":", 1)[1]),
                         "flags": set(f[2].split(",")),
                         "master": None if f[3] == "-" else f[3],
                         "connected": f[7] == "connected", "slots": slots})
        return rows

    def node_id(self, port):
        return self.cli(port, "CLUSTER", "MYID", timeout=3).strip()

    def masters(self):
        """Ports of the live nodes that are masters holding slots, as the
        cluster (seen from a live node) currently has them."""
        return sorted(r["port"] for r in self.cluster_nodes()
                      if "master" in r["flags"] and "fail" not in r["flags"] and r["slots"])

    def replicas_of(self, port):
        """Ports of the nodes replicating the node on port."""
        rows = self.cluster_nodes()
        mid = next(r["id"] for r in rows if r["port"] == port)
        return sorted(r["port"] for r in rows if r["master"] == mid)

    def master_of_slot(self, slot):
        for r in self.cluster_nodes():
            if "master" in r["flags"] and "fail" not in r["flags"]:
                if any(a <= slot <= b for a, b in r["slots"]):
                    return r["port"]
        return None

    def slots_of(self, port):
        """(first, last) slot ranges the node on port serves."""
        return next(r["slots"] for r in self.cluster_nodes() if r["port"] == port)

    def keyslot(self, key):
        return int(self.cli(self.alive()[0], "CLUSTER", "KEYSLOT", key, timeout=3).strip())

    def seeds(self):
        """Every node as "127.0.0.1:port": upshotd's redis.nodes."""
        return [f"127.0.0.1:{p}" for p in self.nodes]

    # ---- waits ----
    def _state_ok(self, port):
        info = self.cli(port, "CLUSTER", "INFO", timeout=3)
        return "cluster_state:ok" in info

    def wait_ok(self, timeout=30.0):
        """Waits until every live node reports cluster_state:ok and all of
        them agree on which node serves each slot and which live node
        replicates which (so a client that loads the map from any of them
        gets the same one, and replicas_of() is settled)."""
        def ok():
            views = set()
            live = self.alive()
            for port in live:
                if not self._state_ok(port):
                    return False
                rows = self.cluster_nodes(port)
                ids = {r["id"]: r["port"] for r in rows}
                view = tuple(sorted((r["port"], tuple(r["slots"]), ids.get(r["master"]))
                                    for r in rows
                                    if r["port"] in live and "fail" not in r["flags"]
                                    and "fail?" not in r["flags"]))
                views.add(view)
            return len(views) == 1
        wait_until(ok, timeout=timeout, interval=0.1, what="cluster_state:ok on every node")

    def wait_replicas_synced(self, timeout=30.0):
        """Waits until every live replica has its link to its master up and
        no sync in progress, and every live master has as many connected
        replicas as the cluster gives it."""
        def synced():
            rows = self.cluster_nodes()
            live = set(self.alive())
            for r in rows:
                if r["port"] not in live:
                    continue
                if r["master"] is not None:
                    info = self._info(r["port"], "replication")
                    if info.get("role") != "slave" or info.get("master_link_status") != "up" \
                            or info.get("master_sync_in_progress") != "0":
                        return False
                elif r["slots"]:
                    want = sum(1 for x in rows if x["master"] == r["id"] and x["port"] in live)
                    info = self._info(r["port"], "replication")
                    if int(info.get("connected_slaves", "0")) < want:
                        return False
            return True
        wait_until(synced, timeout=timeout, interval=0.1, what="replicas in sync")

    # ---- operations ----
    def failover(self, replica_port, mode="", timeout=30.0):
        """CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica; waits until it
        is a master and the cluster state is ok on every live node."""
        args = ["CLUSTER", "FAILOVER"] + ([mode.upper()] if mode else [])
        out = self.cli(replica_port, *args).strip()
        if out != "OK":
            raise ProcessError(f"CLUSTER FAILOVER on {replica_port}: {out}")
        self.wait_promoted(replica_port, timeout=timeout)

    def wait_promoted(self, port, timeout=30.0):
        """Waits until the node on port is a master serving slots and the
        cluster state is ok everywhere (after a failover, manual or not)."""
        def promoted():
            return self._info(port, "replication").get("role") == "master" and \
                any(r["port"] == port and r["slots"] for r in self.cluster_nodes(port))
        wait_until(promoted, timeout=timeout, interval=0.05, what=f"node {port} to be master")
        self.wait_ok(timeout=timeout)

    def reshard(self, from_port, to_port, slots, timeout=120.0):
        """Moves `slots` slots (a count: redis-cli takes the lowest-numbered
        slots the source serves) from one master to another with
        `redis-cli --cluster reshard`, keys and all, then waits until the
        cluster state is ok."""
        args = ["--cluster", "reshard", f"127.0.0.1:{from_port}",
                "--cluster-from", self.node_id(from_port),
                "--cluster-to", self.node_id(to_port),
                "--cluster-slots", str(slots), "--cluster-yes"]
        out = self._run_cli(args, timeout=timeout)
        self.wait_ok(timeout=timeout)
        return out
