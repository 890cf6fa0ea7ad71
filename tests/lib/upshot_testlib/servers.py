"""redis-server and upshotd for tests and benchmarks: their command lines,
upshotd's config file, and starting each until it answers.

Both start through a caller's `launch(name, argv) -> Proc` (procs.Proc, or
procs.Procs.start, which may pin it to a CPU and keeps it for stop_all), so
the caller decides where logs go and who stops the process; these
functions stop it themselves only when it never became ready.
"""
import json
import shutil

from .procs import wait_http, wait_until
from .resp import RedisError, command


def redis_server_path():
    """redis-server from PATH, looked up at call time (a runner may install
    it first)."""
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_argv(port, data_dir, persistent, extra=()):
    """A redis-server on 127.0.0.1:port with its files in data_dir, never
    snapshotting. persistent: an AOF synced on every write (what durability
    tests need); otherwise no persistence at all (what benchmarks of the
    engine want: the disk is not theirs to measure)."""
    argv = [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", data_dir, "--save", "", "--daemonize", "no"]
    if persistent:
        argv += ["--appendonly", "yes", "--appendfsync", "always"]
    else:
        argv += ["--appendonly", "no"]
    return argv + list(extra)


def redis_ready(port, proc=None):
    """True once the Redis on port answers PING; false while it is not
    listening yet or still LOADING its AOF. Raises ProcessError if proc (the
    server) exited."""
    if proc is not None:
        proc.check_alive()
    try:
        return command(port, "PING") == "PONG"
    except (OSError, RedisError):
        return False


def start_redis(launch, port, data_dir, persistent, extra=(), timeout=20.0, name="redis"):
    """Starts redis-server (see redis_argv) and waits until it answers."""
    p = launch(name, redis_argv(port, data_dir, persistent, extra))
    return _ready_or_stopped(p, lambda: wait_until(lambda: redis_ready(port, p), timeout=timeout,
                                                   what=f"redis on {port}"))


def upshotd_config(port, redis_port, data_dir, admin_token, sdk_key, experiments,
                   cors_origins=()):
    """An upshotd config (docs/config.md) listening on 127.0.0.1:port. A
    relative data_dir is taken from the config file's folder."""
    return {
        "listen": {"host": "127.0.0.1", "port": port},
        "redis": {"host": "127.0.0.1", "port": redis_port},
        "data_dir": data_dir,
        "admin_token": admin_token,
        "sdk_keys": [sdk_key],
        "cors_origins": list(cors_origins),
        "experiments": experiments,
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def start_upshotd(launch, exe, config_path, port, timeout=60.0, name="upshotd"):
    """Starts `exe --config config_path` and waits until its /healthz
    answers 200 (it may still be connecting to Redis: /healthz says so)."""
    p = launch(name, [exe, "--config", config_path])
    return _ready_or_stopped(p, lambda: wait_http(f"http://127.0.0.1:{port}/healthz", p,
                                                  timeout=timeout))


def _ready_or_stopped(p, wait):
    """Returns p once wait() returns; stops p when it raises (not ready in
    time, exited, interrupted) and lets the exception through."""
    try:
        wait()
    except BaseException:
        p.stop()
        raise
    return p
