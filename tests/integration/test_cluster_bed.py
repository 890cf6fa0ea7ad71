"""The test bed's own parts, checked against the real programs: the Redis
Cluster launcher (six redis-server nodes made with redis-cli --cluster
create, a write through redis-cli -c, a manual failover) and nginx
balancing over plain HTTP servers. The multi-instance suite
(test_multi_instance.py) builds on both."""
import http.server
import os
import threading
import urllib.request

import pytest

import harness  # noqa: F401 (puts tests/lib on sys.path)
from upshot_testlib.nginx import Nginx
from upshot_testlib.redis_cluster import RedisCluster


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


def test_cluster_write_failover_stop(workdir):
    c = RedisCluster(os.path.join(workdir, "c"), masters=3, replicas=1,
                     extra_conf={"min-replicas-to-write": 1})
    c.start()
    try:
        assert len(c.nodes) == 6 and len(c.masters()) == 3
        for m in c.masters():
            assert len(c.replicas_of(m)) == 1
        assert sorted(c.seeds()) == sorted(f"127.0.0.1:{p}" for p in c.nodes)
        # Every key reaches its master through any node with -c.
        for i in range(20):
            assert c.cli(c.nodes[i % 6], "SET", f"k{i}", i, cluster=True).strip() == "OK"
        slot = c.keyslot("k7")
        old = c.master_of_slot(slot)
        replica = c.replicas_of(old)[0]
        c.failover(replica)
        assert c.master_of_slot(slot) == replica
        assert c.replicas_of(replica) == [old]
        assert c.cli(old, "GET", "k7", cluster=True).strip() == "7"
        # A master killed: its replica takes over; with min-replicas-to-write
        # 1 it refuses writes until the old master is back as its replica.
        c.kill(replica)
        c.wait_promoted(old)
        assert "NOREPLICAS" in c.cli(old, "SET", "k7", "x", cluster=True)
        c.start_node(replica)
        c.wait_ok()
        c.wait_replicas_synced()
        assert c.cli(old, "SET", "k7", "x", cluster=True).strip() == "OK"
        # A reshard moves the lowest slots of a master, keys included.
        src, dst = c.masters()[:2]
        first = c.slots_of(src)[0][0]
        c.reshard(src, dst, 10)
        assert c.master_of_slot(first) == dst
        for i in range(20):
            assert c.cli(c.nodes[0], "GET", f"k{i}", cluster=True).strip() == ("x" if i == 7 else str(i))
    finally:
        c.stop()
    assert not c.alive()
    c.stop()  # idempotent


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_nginx_balances_and_skips_a_dead_instance(workdir):
    servers = []
    for name in ("a", "b"):
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Named)
        s.name = name
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
    dead = harness.free_port()  # nothing listens: a connection error
    ports = [s.server_address[1] for s in servers] + [dead]
    ng = Nginx(os.path.join(workdir, "nginx"), harness.free_port(),
               [f"127.0.0.1:{p}" for p in ports])
    try:
        ng.start()
        seen = set()
        for _ in range(12):
            with urllib.request.urlopen(ng.url + "/v1/assign", timeout=5) as r:
                assert r.status == 200
                seen.add(r.read().decode())
        assert seen == {"a", "b"}
    finally:
        ng.stop()
        for s in servers:
            s.shutdown()
            s.server_close()
    assert ng.proc is None
