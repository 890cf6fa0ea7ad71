"""Processes for tests and benchmarks: free loopback ports, bounded waits,
servers started with their output in a log file, and the CPU time that
processes outside a run used while it measured.

Every wait here has a time bound, and every process is stopped by its own
pid (SIGTERM, then SIGKILL after a grace period), never by name.
"""
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


class ProcessError(RuntimeError):
    """A process exited before it was ready, or a bounded command failed."""


def free_port():
    """A TCP port free on 127.0.0.1 now. Another process may take it before
    the caller binds it; on a test machine that race is rare enough."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Calls predicate until it returns a true value, which it returns;
    raises TimeoutError after `timeout` seconds. Exceptions of predicate
    pass through (a server that died is not worth waiting for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Proc(subprocess.Popen):
    """A started process with a name and, unless log_path is None (output
    discarded), its stdout and stderr appended to log_path. The log file is
    the child's: this side closes its copy at once."""

    def __init__(self, name, argv, log_path=None, env=None, cwd=None):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            super().__init__(argv, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        finally:
            if log_path:
                out.close()
        self.name = name
        self.log_path = log_path

    def stop(self, sig=signal.SIGTERM, grace=8.0):
        """Sends sig unless the process already exited, waits up to `grace`
        seconds, then SIGKILL. Returns the exit status (negative: the signal
        that ended it)."""
        if self.poll() is None:
            self.send_signal(sig)
            try:
                self.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait(timeout=5)
        return self.returncode

    def exited(self):
        """None while running, else how it ended, in words."""
        rc = self.poll()
        if rc is None:
            return None
        return f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"

    def log_text(self):
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, n=15):
        return "\n".join(self.log_text().splitlines()[-n:])

    def check_alive(self):
        """Raises ProcessError, with the end of the log, if it exited."""
        how = self.exited()
        if how is not None:
            raise ProcessError(f"{self.name} exited ({how}):\n{self.tail()}")


class Procs:
    """The processes one run started, each with a log `<name>.log` in
    log_dir. With pin, a process given a CPU runs under `taskset -c CPU`
    (taskset execs the program, so the pid is the program's own).
    stop_all() stops every one still running, newest first."""

    def __init__(self, log_dir, pin=False):
        self.log_dir = log_dir
        self.pin = pin
        self.procs = []
        self.meter = CpuMeter(lambda: [p.pid for p in self.procs])

    def argv(self, cpu, argv):
        if self.pin and cpu is not None:
            return ["taskset", "-c", cpu] + list(argv)
        return list(argv)

    def start(self, name, argv, cpu=None, env=None, cwd=None):
        p = Proc(name, self.argv(cpu, argv), os.path.join(self.log_dir, f"{name}.log"),
                 env=env, cwd=cwd)
        self.procs.append(p)
        return p

    def stop(self, p, grace=8.0):
        p.stop(grace=grace)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self, on_error=None):
        """on_error(proc, exception) hears of a process that could not be
        stopped; the others are stopped all the same."""
        for p in reversed(list(self.procs)):
            try:
                self.stop(p)
            except Exception as e:  # keep stopping the others
                if on_error:
                    on_error(p, e)

    def dead(self):
        """Processes of this run that exited on their own: (name, how)."""
        return [(p.name, p.exited()) for p in self.procs if p.exited() is not None]

    def run(self, argv, cpu=None, timeout=120, env=None):
        """Runs a command in the foreground, bounded by timeout (raises
        subprocess.TimeoutExpired); returns its stdout as text, or raises
        ProcessError with the end of its stderr when it fails."""
        r = subprocess.run(self.argv(cpu, argv), capture_output=True, timeout=timeout,
                           env=env, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise ProcessError(f"{' '.join(argv[:3])}... exited {r.returncode}: "
                               f"{r.stderr.decode(errors='replace')[-800:]}")
        return r.stdout.decode(errors="replace")


CLK_TCK = os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """The CPU time used on the machine by processes NOT of this run, as a
    share of capacity (wall time x CPUs), over a span: start() marks its
    beginning, foreign_share(mark) measures up to now. Machine busy time
    comes from /proc/stat (steal included: time the hypervisor gave to other
    guests); the run's own is its live processes (pids(), threads included,
    from /proc/PID/stat), its reaped children and this process itself.
    Disk contention from neighbours does not show here."""

    def __init__(self, pids):
        self.pids = pids
        self.ncpu = os.cpu_count() or 1

    @staticmethod
    def _busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        user, nice, system, idle, iowait, irq, softirq, steal = v
        return (user + nice + system + irq + softirq + steal) / CLK_TCK

    def _ours(self):
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            ru = resource.getrusage(who)
            total += ru.ru_utime + ru.ru_stime
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            except (OSError, IndexError, ValueError):
                pass  # exited meanwhile: its time is in RUSAGE_CHILDREN
        return total

    def start(self):
        return (time.monotonic(), self._busy(), self._ours())

    def foreign_share(self, mark):
        t0, b0, o0 = mark
        dt = time.monotonic() - t0
        if dt <= 0:
            return 0.0
        foreign = (self._busy() - b0) - (self._ours() - o0)
        return max(0.0, foreign) / (dt * self.ncpu)


def rss_kib(pid):
    """Resident memory of a live process in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise ProcessError(f"no VmRSS for pid {pid}")


def http_get(url, headers=None, timeout=5.0):
    """(status, body bytes) of a GET; raises urllib.error.HTTPError for a
    status of 400 or more."""
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_http(url, proc=None, timeout=60.0, headers=None):
    """Waits until GET url answers 200 and returns the body; raises
    ProcessError as soon as proc (the server behind url) exits, and
    TimeoutError after `timeout` seconds."""
    def ready():
        if proc is not None:
            proc.check_alive()
        try:
            status, body = http_get(url, headers=headers, timeout=1.0)
        except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
            return None
        return (body,) if status == 200 else None
    return wait_until(ready, timeout=timeout, interval=0.05, what=url)[0]
