"""The Debian package, installed and run: cpack builds the .deb from this
build, dpkg installs it on this machine, and the installed binaries serve
and record traffic (label `package`; CI runs it as root on Debian 12).

What it checks: the package's metadata (dependencies computed from the
binaries, redis-server recommended, file modes), what postinst made (the
user, the data directory, the config and token, readable by the service
only) and that it started nothing; then /usr/sbin/upshotd, run as the
package's user from the installed example config (made private: its own
port, a private redis-server, a temporary data dir), answers an
assignment, records a conversion and reports it, while /usr/bin/upshot
creates and starts the experiment and lists it. systemd itself need not
run. The package is purged at the end, and the user removed when this
test created it, so the machine is left as it was found.

Skipped when not root, without dpkg, or when a package called upshot is
already installed (it is not this test's to replace)."""
import glob
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import RedisServer, Proc, free_port, wait_until  # noqa: E402

CPACK_CONFIG = os.environ.get("UPSHOT_CPACK_CONFIG", "")
TOKEN = "package-smoke-admin-token"
SDK_KEY = "pk_live_change_me"  # the example config's


def run(*argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(list(argv), **kw)


def installed(package):
    p = run("dpkg-query", "-W", "-f=${Status}", package)
    return p.returncode == 0 and "install ok installed" in p.stdout


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def deb():
    if os.geteuid() != 0:
        pytest.skip("installing a .deb needs root (CI runs as root)")
    if not shutil.which("dpkg") or not shutil.which("cpack"):
        pytest.skip("no dpkg or cpack on this machine")
    if not os.path.exists(CPACK_CONFIG):
        pytest.skip("UPSHOT_CPACK_CONFIG does not name the build's CPackConfig.cmake")
    if installed("upshot"):
        pytest.skip("a package called upshot is installed here already")
    out = tempfile.mkdtemp(prefix="upshot-deb-")
    had_user = user_exists("upshot")
    try:
        p = run("cpack", "--config", CPACK_CONFIG, "-G", "DEB", "-B", out)
        assert p.returncode == 0, p.stdout + p.stderr
        debs = glob.glob(os.path.join(out, "upshot_*.deb"))
        assert len(debs) == 1, os.listdir(out)
        p = run("dpkg", "-i", debs[0])
        assert p.returncode == 0, p.stdout + p.stderr
        yield debs[0]
    finally:
        run("dpkg", "--purge", "upshot")
        if not had_user and user_exists("upshot"):
            run("userdel", "upshot")
            run("groupdel", "upshot")  # absent already when userdel took it
        shutil.rmtree(out, ignore_errors=True)


def test_the_package_says_what_it_needs_and_ships_sane_modes(deb):
    fields = run("dpkg-deb", "-f", deb, "Depends", "Recommends", "Package").stdout
    for lib in ("libc6", "libevent-2.1-7", "libhiredis0.14", "libgsl27", "libjansson4", "adduser"):
        assert lib in fields, fields
    assert "Recommends: redis-server" in fields, fields
    listing = run("dpkg-deb", "-c", deb).stdout.splitlines()
    modes = {line.split()[-1]: (line.split()[0], line.split()[1]) for line in listing}
    assert modes["./usr/sbin/upshotd"] == ("-rwxr-xr-x", "root/root")
    assert modes["./usr/bin/upshot"] == ("-rwxr-xr-x", "root/root")
    for f in ("./etc/upshot/upshotd.json.example", "./lib/systemd/system/upshotd.service",
              "./usr/share/man/man8/upshotd.8.gz", "./usr/share/man/man1/upshot.1.gz",
              "./usr/share/doc/upshot/copyright"):
        assert modes[f] == ("-rw-r--r--", "root/root"), (f, modes.get(f))
    assert all(not path.startswith("./work") and not path.startswith("./tmp") for path in modes)


def test_postinst_made_the_user_data_dir_and_private_config_and_started_nothing(deb):
    user = pwd.getpwnam("upshot")
    assert user.pw_uid < 1000 and user.pw_dir == "/var/lib/upshot"
    st = os.stat("/var/lib/upshot")
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, 0o750)
    for f in ("/etc/upshot/upshotd.json", "/etc/upshot/upshotd.env"):
        st = os.stat(f)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, user.pw_gid, 0o640), f
    with open("/etc/upshot/upshotd.env") as f:
        line = f.read().strip()
    name, token = line.split("=", 1)
    assert name == "UPSHOT_ADMIN_TOKEN" and len(token) == 48, line
    with open("/etc/upshot/upshotd.json") as f, open("/etc/upshot/upshotd.json.example") as g:
        assert json.load(f) == json.load(g)
    # Nothing runs the installed binary: postinst starts nothing.
    running = []
    for exe in glob.glob("/proc/[0-9]*/exe"):
        try:
            if os.readlink(exe).startswith("/usr/sbin/upshotd"):
                running.append(exe)
        except OSError:
            pass
    assert running == []
    if shutil.which("systemd-analyze"):
        p = run("systemd-analyze", "verify", "/lib/systemd/system/upshotd.service")
        assert p.returncode == 0, p.stdout + p.stderr


def test_the_installed_binaries_assign_record_and_report(deb):
    work = tempfile.mkdtemp(prefix="upshot-pkg-run-")
    user = pwd.getpwnam("upshot")
    os.chown(work, user.pw_uid, user.pw_gid)
    up = None
    try:
        with RedisServer() as redis:
            with open("/etc/upshot/upshotd.json.example") as f:
                config = json.load(f)
            port = free_port()
            config["listen"]["port"] = port
            config["redis"]["port"] = redis.port
            config["data_dir"] = os.path.join(work, "data")
            path = os.path.join(work, "upshotd.json")
            with open(path, "w") as f:
                json.dump(config, f)
            os.chown(path, user.pw_uid, user.pw_gid)
            os.mkdir(config["data_dir"])
            os.chown(config["data_dir"], user.pw_uid, user.pw_gid)

            env = dict(os.environ, UPSHOT_ADMIN_TOKEN=TOKEN)
            up = Proc("upshotd", ["setpriv", "--reuid=upshot", "--regid=upshot", "--clear-groups",
                                  "/usr/sbin/upshotd", "--config", path],
                      os.path.join(work, "upshotd.log"), env=env)
            url = f"http://127.0.0.1:{port}"

            def healthy():
                try:
                    status, body = http("GET", url + "/healthz")
                    return status == 200 and json.loads(body).get("redis") == "up"
                except OSError:
                    return False
            wait_until(healthy, timeout=20, what="the installed upshotd to reach its redis")

            cli = dict(os.environ, UPSHOT_URL=url, UPSHOT_TOKEN=TOKEN, UPSHOT_ACTOR="package-test")
            exp = {"key": "pkg-smoke", "placement": "cart_page", "regions": "all",
                   "variants": [{"key": "control", "weight": 0.5},
                                {"key": "bundle", "weight": 0.5, "payload": {"offer": "bundle"}}]}
            exp_path = os.path.join(work, "exp.json")
            with open(exp_path, "w") as f:
                json.dump(exp, f)
            p = run("/usr/bin/upshot", "create", "-f", exp_path, env=cli)
            assert p.returncode == 0, p.stdout + p.stderr
            p = run("/usr/bin/upshot", "start", "pkg-smoke", "--reason", "package test", env=cli)
            assert p.returncode == 0, p.stdout + p.stderr

            key = {"X-Upshot-Key": SDK_KEY}
            status, body = http("GET", url + "/v1/assign?experiment=pkg-smoke&visitor=v-1"
                                "&region=se&expose=1", headers=key)
            assert status == 200, body
            variant = json.loads(body)["variant"]
            status, body = http("POST", url + "/v1/events", headers=key, body={"events": [
                {"id": "o-1", "type": "conversion", "experiment": "pkg-smoke",
                 "visitor": "v-1", "value": 25.0}]})
            assert status == 202, body

            admin = {"Authorization": "Bearer " + TOKEN}

            def counted():
                status, body = http("GET", url + "/v1/experiments/pkg-smoke/results",
                                    headers=admin)
                if status != 200:
                    return False
                total = {v["variant"]: v for v in json.loads(body)["total"]["variants"]}
                return total[variant]["visitors"] == 1 and total[variant]["conversions"] == 1
            wait_until(counted, timeout=20, what="the conversion in the results")

            p = run("/usr/bin/upshot", "ls", "--no-color", env=cli)
            assert p.returncode == 0, p.stdout + p.stderr
            row = next(line for line in p.stdout.splitlines() if line.startswith("pkg-smoke"))
            assert "running" in row, p.stdout

            status, body = http("GET", url + "/v1/sdk/upshot.js")
            assert status == 200 and "createUpshot" in body

            assert up.stop(signal.SIGTERM, grace=15.0) == 0
            up = None
    finally:
        if up is not None:
            up.stop(signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
