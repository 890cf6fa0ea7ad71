#!/usr/bin/env python3
"""check_layout.py: the layout keeps the promises docs/architecture.md makes.

Rules, each checked on the sources and, where it matters, on the compiled
libraries (so an I/O call hidden behind a macro or an indirect include is
caught too):

  core-includes   engine/core/ and stats/ include no header of the event
                  loop, Redis, sockets, threads, files or the clock;
  core-layering   engine/core/ includes nothing from engine/ (the I/O side);
                  stats/ includes nothing from the engine at all;
  core-symbols    the compiled upshot_core and upshot_stats call no function
                  that touches a file, socket, process, thread, the clock,
                  the environment, libevent or hiredis (from `nm -u`);
  hiredis-owner   only redis_link.{c,h} (the connections), store.c and
                  shared_state.c include hiredis, and only the latter two
                  redis_link.h, which carries hiredis types (not store.h);
  event-loop      only the listed I/O modules include libevent.

Run by ctest as layout.core_purity. `--self-test` builds a small tree with
one violation of each rule and checks that every rule reports it, so the
check itself cannot silently pass everything.

Exit status: 0 when every rule holds, 1 with one line per violation.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# Headers that mean I/O, the event loop, Redis, threads or the clock.
FORBIDDEN_CORE_HEADERS = re.compile(
    r"^(event2/.*|event\.h|evhttp\.h|hiredis/.*|sys/socket\.h|sys/un\.h|netinet/.*|"
    r"arpa/.*|netdb\.h|unistd\.h|fcntl\.h|sys/stat\.h|sys/mman\.h|sys/time\.h|"
    r"time\.h|pthread\.h|threads\.h|dirent\.h|poll\.h|sys/epoll\.h|sys/select\.h|"
    r"signal\.h|syslog\.h)$")

# The I/O side's headers: the core may not reach up into them.
IO_MODULES = ("api", "api_admin", "api_public", "audit", "autopromote", "bandit", "capping", "http", "http_guard",
              "log_limit",
              "journal", "main", "metrics", "redis_link", "registry", "router", "server",
              "shared_state", "store", "tls")

# Functions the core may not call, after normalisation (see base_symbol).
FORBIDDEN_SYMBOLS = {
    # files and descriptors
    "open", "openat", "creat", "close", "read", "write", "pread", "pwrite",
    "readv", "writev", "lseek", "fsync", "fdatasync", "ftruncate", "unlink",
    "rename", "renameat", "mkdir", "rmdir", "stat", "fstat", "lstat",
    "opendir", "readdir", "mmap", "fopen", "fdopen", "freopen", "fclose",
    "fread", "fwrite", "fgets", "fgetc", "getc", "fputs", "fputc", "putc",
    "puts", "putchar", "printf", "fprintf", "vprintf", "vfprintf", "perror",
    "fflush", "dprintf", "tmpfile", "mkstemp", "mkdtemp",
    "json_load_file", "json_loadf", "json_loadfd", "json_dump_file",
    "json_dumpf", "json_dumpfd",
    # sockets
    "socket", "connect", "bind", "listen", "accept", "accept4", "send",
    "recv", "sendto", "recvfrom", "sendmsg", "recvmsg", "getaddrinfo",
    "setsockopt", "poll", "select", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait",
    # the clock and sleeping
    "time", "clock", "clock_gettime", "gettimeofday", "localtime", "gmtime",
    "localtime_r", "gmtime_r", "mktime", "timegm", "sleep", "usleep",
    "nanosleep",
    # processes, threads, signals, the environment
    "fork", "execv", "execve", "execvp", "system", "popen", "exit", "abort",
    "kill", "signal", "sigaction", "raise", "getenv", "setenv",
    "pthread_create", "pthread_mutex_lock", "pthread_join", "thrd_create",
    "getpid", "rand", "srand", "random",
}
FORBIDDEN_SYMBOL_PREFIXES = ("event_", "evhttp_", "evbuffer_", "bufferevent_",
                             "evutil_", "redis", "__redis")

# Modules of engine/ that may include libevent: the event loop, HTTP, the
# store's adapter, the metrics page written into an evbuffer, the guard in
# front of evhttp, its TLS bufferevents, the worker threads' completion
# event, and the timers of the promotion, capping and bandit passes.
EVENT_LOOP_MODULES = ("main", "server", "router", "http", "http_guard", "api_admin", "api_public",
                      "autopromote", "bandit", "capping", "store", "metrics", "worker", "redis_link",
                      "shared_state", "tls")
# The files that speak hiredis: redis_link.c owns the connections, store.c
# and shared_state.c send commands through it. store.h and shared_state.h
# offer typed calls, so no hiredis type reaches the handlers.
HIREDIS_MODULES = ("redis_link.h", "redis_link.c", "store.c", "shared_state.c")

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def includes(path):
    """Yields (kind, header) for each #include of a file; kind is < or "."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for m in INCLUDE_RE.finditer(text):
        yield m.group(1), m.group(2)


def sources(folder):
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                  if n.endswith((".c", ".h")))


def check_core_includes(root):
    problems = []
    core = sources(os.path.join(root, "engine", "core"))
    stats = sources(os.path.join(root, "stats"))
    stats_headers = {os.path.basename(p) for p in stats}
    core_headers = {os.path.basename(p) for p in core}
    for path in core + stats:
        rel = os.path.relpath(path, root)
        for kind, header in includes(path):
            if FORBIDDEN_CORE_HEADERS.match(header):
                problems.append(f"core-includes: {rel} includes <{header}>, which means I/O")
            base = os.path.splitext(os.path.basename(header))[0]
            if path in core and kind == '"' and base in IO_MODULES:
                problems.append(f"core-layering: {rel} includes \"{header}\" from the I/O side")
            if path in stats and kind == '"' and header not in stats_headers:
                owner = "the engine's core" if header in core_headers else "outside stats/"
                problems.append(f"core-layering: {rel} includes \"{header}\" from {owner}")
    return problems


def base_symbol(name):
    """Normalises a libc symbol to the function a reader would name:
    fortified (__fprintf_chk), large-file (open64) and versioned
    (__open_2, stat@GLIBC) spellings all map to the plain name."""
    name = name.split("@")[0]
    name = name.lstrip("_")
    for suffix in ("_chk", "_2"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith("64") and name[:-2] in FORBIDDEN_SYMBOLS:
        name = name[:-2]
    name = name.lstrip("_")
    if name.startswith("isoc99_") or name.startswith("isoc23_"):
        name = name.split("_", 1)[1]
    return name


def undefined_symbols(library):
    out = subprocess.run(["nm", "-u", "--format=posix", library], check=True,
                         capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("U", "w"):
            syms.add(parts[0])
    return syms


def check_symbols(library, label):
    problems = []
    for sym in sorted(undefined_symbols(library)):
        if sym.startswith(("__asan", "__ubsan", "__sanitizer", "__lsan")):
            continue
        plain = base_symbol(sym)
        if plain in FORBIDDEN_SYMBOLS or sym.startswith(FORBIDDEN_SYMBOL_PREFIXES) \
                or plain.startswith(FORBIDDEN_SYMBOL_PREFIXES):
            problems.append(f"core-symbols: {label} calls {sym}, which means I/O")
    return problems


def check_io_owners(root):
    problems = []
    engine = sources(os.path.join(root, "engine"))
    for path in engine:
        name = os.path.basename(path)
        module = os.path.splitext(name)[0]
        for _, header in includes(path):
            hiredis = header.startswith("hiredis/") or header == "redis_link.h"
            if hiredis and name not in HIREDIS_MODULES:
                problems.append(f"hiredis-owner: engine/{name} includes <{header}>; "
                                "only the router and its two users speak hiredis")
            if header.startswith("event2/") and module not in EVENT_LOOP_MODULES:
                problems.append(f"event-loop: engine/{name} includes <{header}>; "
                                "it is not one of the event-loop modules")
    return problems


def run_checks(root, core_lib, stats_lib):
    problems = check_core_includes(root) + check_io_owners(root)
    if core_lib:
        problems += check_symbols(core_lib, "upshot_core")
    if stats_lib:
        problems += check_symbols(stats_lib, "upshot_stats")
    return problems


def self_test():
    """One violation per rule in a scratch tree: each must be reported."""
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "engine", "core"))
        os.makedirs(os.path.join(tmp, "stats"))
        files = {
            "engine/core/bad_include.c": '#include <event2/event.h>\n',
            "engine/core/bad_layer.c": '#include "store.h"\n',
            "engine/core/clean.c": '#include <string.h>\n#include "clean.h"\n',
            "stats/stats_bad.c": '#include "experiment.h"\n#include <gsl/gsl_cdf.h>\n',
            "engine/journal.c": '#include <hiredis/hiredis.h>\n',
            "engine/store.h": '#include <hiredis/async.h>\n',
            "engine/server.c": '#include "redis_link.h"\n',
            "engine/redis_link.h": '#include <hiredis/hiredis.h>\n',
            "engine/redis_link.c": '#include <hiredis/async.h>\n#include <event2/event.h>\n',
            "engine/shared_state.c": '#include "redis_link.h"\n#include <hiredis/hiredis.h>\n',
            "engine/registry.c": '#include <event2/buffer.h>\n',
            "engine/store.c": '#include <hiredis/async.h>\n#include <event2/event.h>\n',
        }
        for rel, text in files.items():
            with open(os.path.join(tmp, rel), "w", encoding="utf-8") as f:
                f.write(text)
        obj = os.path.join(tmp, "impure.o")
        lib = os.path.join(tmp, "libimpure.a")
        c_src = os.path.join(tmp, "impure.c")
        with open(c_src, "w", encoding="utf-8") as f:
            f.write("#include <stdio.h>\n#include <time.h>\n"
                    "long impure(void) { FILE *f = fopen(\"x\", \"r\");"
                    " if (f) fclose(f); return (long)time(NULL); }\n")
        subprocess.run(["cc", "-O2", "-D_FORTIFY_SOURCE=2", "-c", c_src, "-o", obj], check=True)
        subprocess.run(["ar", "rcs", lib, obj], check=True)
        got = run_checks(tmp, lib, None)
    expected = [
        ("core-includes", "bad_include.c"),
        ("core-layering", "bad_layer.c"),
        ("core-layering", "stats_bad.c"),
        ("hiredis-owner", "journal.c"),
        ("hiredis-owner", "store.h"),
        ("hiredis-owner", "server.c"),
        ("event-loop", "registry.c"),
        ("core-symbols", "fopen"),
        ("core-symbols", "time"),
    ]
    missing = [e for e in expected
               if not any(p.startswith(e[0]) and e[1] in p for p in got)]
    unexpected = [p for p in got if "clean.c" in p or "engine/store.c" in p
                  or "engine/redis_link.c" in p or "engine/shared_state.c" in p]
    for e in missing:
        print(f"self-test: rule {e[0]} did not report {e[1]}")
    for p in unexpected:
        print(f"self-test: reported a file that keeps the rules: {p}")
    if missing or unexpected:
        return 1
    print(f"self-test: all {len(expected)} planted violations reported")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", help="the source tree's root")
    ap.add_argument("--core-lib", help="the built libupshot_core.a")
    ap.add_argument("--stats-lib", help="the built libupshot_stats.a")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.source:
        ap.error("--source is required")
    problems = run_checks(args.source, args.core_lib, args.stats_lib)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layout violation(s); see tests/layout/check_layout.py")
        return 1
    print("layout: the core and stats are pure; hiredis and libevent stay in their modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
