"""A small Redis client speaking RESP2 over one blocking socket: enough for
the tests' and benchmarks' commands, INFO and SCAN. No pipelining, no
pub/sub, no RESP3; a reply is read whole before the next command is sent.

Replies map to Python as: simple string -> str, integer -> int, bulk
string -> bytes (str with decode=True), nil -> None, array -> list;
an error reply raises RedisError.
"""
import socket


class RedisError(RuntimeError):
    """An error reply (e.g. LOADING while an AOF loads) or a broken reply."""


class Redis:
    """One connection to the Redis on 127.0.0.1:port. Arguments of a
    command may be str, bytes or anything str() turns into one."""

    def __init__(self, port, timeout=30.0, decode=False, host="127.0.0.1"):
        self.decode = decode
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise RedisError("redis closed the connection")
        kind, rest = line[:1], line[1:].rstrip(b"\r\n")
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode() if self.decode else data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")

    def info(self, section):
        """INFO section as a dict of strings."""
        text = self.command("INFO", section)
        if isinstance(text, bytes):
            text = text.decode()
        out = {}
        for ln in text.splitlines():
            if ":" in ln and not ln.startswith("#"):
                k, v = ln.split(":", 1)
                out[k] = v
        return out

    def keys_matching(self, pattern, limit=2_000_000):
        """Keys matching pattern, by SCAN; stops once more than `limit` are
        found (a bound on memory and time, not an exact cap)."""
        cursor, keys = "0", []
        while True:
            cursor, batch = self.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys.extend(batch)
            if cursor in (b"0", "0") or len(keys) > limit:
                return keys


def command(port, *args, decode=True, timeout=5.0):
    """One command over a connection of its own: for callers whose Redis
    stops and restarts between commands."""
    with Redis(port, timeout=timeout, decode=decode) as r:
        return r.command(*args)
