"""The README's first command: tools/run --smoke starts Redis, upshotd with
the demo experiments, the demo shop and the traffic simulator, waits until
every demo experiment has visitors, prints the dashboard, and stops; and
tools/run --cluster --smoke does the same on a Redis Cluster with three
upshotd instances behind nginx."""
import os
import subprocess

from harness import SOURCE_DIR, free_port


def test_main_job_smoke():
    env = dict(os.environ, UPSHOT_REDIS_PORT=str(free_port()), UPSHOT_PORT=str(free_port()),
               UPSHOT_SHOP_PORT=str(free_port()))
    p = subprocess.run([os.path.join(SOURCE_DIR, "tools", "run"), "--smoke"], cwd=SOURCE_DIR,
                       env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "every demo experiment has data" in p.stderr, p.stderr
    table = p.stdout.splitlines()
    assert table[0].split()[:3] == ["experiment", "status", "traffic"], p.stdout
    for key in ("checkout-tiers", "offer-placement", "offer-wording", "urgency"):
        row = next(line for line in table if line.startswith(key))
        assert "running" in row, row


def test_main_job_on_a_cluster_smoke():
    """tools/run --cluster --smoke: six Redis nodes, three upshotd behind
    nginx, the shop and the simulator through nginx; every instance must
    see data for every demo experiment."""
    from upshot_testlib.redis_cluster import free_cluster_port_range
    nodes = free_cluster_port_range(6)
    taken = set(range(nodes, nodes + 6)) | set(range(nodes + 10000, nodes + 10006))
    instances = free_cluster_port_range(3)  # three consecutive free ports
    while taken & set(range(instances, instances + 3)):
        instances = free_cluster_port_range(3)
    env = dict(os.environ, UPSHOT_CLUSTER_PORT=str(nodes), UPSHOT_INSTANCE_PORT=str(instances),
               UPSHOT_PORT=str(free_port()), UPSHOT_SHOP_PORT=str(free_port()))
    p = subprocess.run([os.path.join(SOURCE_DIR, "tools", "run"), "--cluster", "--smoke"],
                       cwd=SOURCE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "every demo experiment has data, on all three instances" in p.stderr, p.stderr
    table = p.stdout.splitlines()
    assert table[0].split()[:3] == ["experiment", "status", "traffic"], p.stdout
    for key in ("checkout-tiers", "offer-placement", "offer-wording", "urgency"):
        row = next(line for line in table if line.startswith(key))
        assert "running" in row, row
