"""upshot_testlib: the real processes that the integration tests and the
benchmark suite both run, and a client for the Redis they share.

    procs    free ports, bounded waits, started processes with their logs
             (Proc), a group of them that can be pinned to CPUs and stopped
             together (Procs), the CPU time other processes used while a
             measurement ran (CpuMeter), a process's resident memory;
    resp     a small RESP client (Redis), enough for commands, INFO and
             SCAN;
    servers  redis-server and upshotd: argv, config file, start and wait
             until each answers.

Why here, in tests/lib/: the integration tests (tests/integration/) are
this code's first user and always present; the benchmark suite (bench/run)
is the second, a test of speed built on the same servers. Placing it next
to the tests keeps tests/ free of any dependency on bench/, and bench/
already reaches into the source tree for its build. Neither installs it:
tests/integration/harness.py and bench/run each put
<their folder>/../tests/lib (computed from their own file) on sys.path.

Standard library only, so it runs on a bare Debian python3.
"""
