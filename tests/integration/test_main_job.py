"""The README's first command: tools/run --smoke starts Redis, upshotd with
the demo experiments, the demo shop and the traffic simulator, waits until
every demo experiment has visitors, prints the dashboard, and stops."""
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
