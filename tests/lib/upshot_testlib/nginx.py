"""nginx as the load balancer in front of several upshotd instances: the
config an operator can use (docs/operations.md shows the same one), and an
unprivileged nginx process running it in the foreground.

Which requests nginx may send again to another instance when one fails:
  - the public routes (/v1/assign, /v1/assignments, /v1/sdk/config,
    /v1/events) are safe to retry even after the first instance may have
    acted on them: an assignment is a pure function of the shared config,
    an exposure counts once per visitor, and every event carries an id that
    Redis counts once however many instances journal it. So they are
    retried on connection errors and timeouts, POST included
    (`non_idempotent`);
  - admin requests are not: a promotion or an update applied twice writes
    two audit entries, and a create answered 409 the second time would
    hide that the first worked. nginx retries them only when the
    connection to an instance could not be made (its default: GET and
    HEAD on error and timeout; never a POST, PUT or DELETE).
A status from upshotd (503 `busy`, 503 when the journal is full) is
passed to the client, never retried by nginx: the client's own retry with
the same ids is the one that knows when to give up.

Standard library only.
"""
import os
import shutil
import signal
import socket

from .procs import Proc, wait_until

NGINX = "/usr/sbin/nginx"


def nginx_path():
    return shutil.which("nginx") or NGINX


def nginx_conf(prefix, port, upstreams, host="127.0.0.1"):
    """nginx.conf text: listens on host:port and balances over upstreams
    ("host:port" strings). Every file nginx writes (pid, error log, temp
    bodies) is under prefix, so it runs as any user."""
    servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=2s;" for u in upstreams)
    tmp = os.path.join(prefix, "tmp")
    proxy_common = """
      proxy_pass http://upshotd;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
      proxy_next_upstream_tries 3;"""
    return f"""# nginx in front of upshotd instances (docs/operations.md).
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  client_max_body_size 2m;

  upstream upshotd {{
{servers}
    keepalive 32;
  }}

  server {{
    listen {host}:{port};

    # Assignments and events: idempotent by visitor and event id, so a
    # request whose instance failed goes to the next one, POST included.
    location ~ ^/v1/(assign|assignments|sdk/config|events)$ {{{proxy_common}
      proxy_next_upstream error timeout non_idempotent;
    }}

    # Admin and the rest: retried only as nginx does by default for a
    # GET or HEAD; a POST, PUT or DELETE is never sent twice.
    location / {{{proxy_common}
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


class Nginx:
    """nginx on host:port in front of upstreams, with its files in
    prefix (created). start() waits until it accepts connections."""

    def __init__(self, prefix, port, upstreams, host="127.0.0.1"):
        self.prefix = os.path.abspath(prefix)
        self.port = port
        self.host = host
        self.upstreams = list(upstreams)
        self.conf_path = os.path.join(self.prefix, "nginx.conf")
        self.log_path = os.path.join(self.prefix, "nginx.log")
        self.proc = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def write_conf(self):
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        with open(self.conf_path, "w") as f:
            f.write(nginx_conf(self.prefix, self.port, self.upstreams, self.host))

    def argv(self):
        return [nginx_path(), "-p", self.prefix, "-c", self.conf_path, "-g", "daemon off;"]

    def start(self, timeout=10.0):
        self.write_conf()
        self.proc = Proc("nginx", self.argv(), self.log_path)

        def listening():
            self.proc.check_alive()
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return True
            except OSError:
                return False
        try:
            wait_until(listening, timeout=timeout, interval=0.05, what=f"nginx on {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGQUIT lets nginx finish its requests (graceful shutdown);
        SIGKILL after the grace period."""
        if self.proc:
            self.proc.stop(signal.SIGQUIT, grace=5.0)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
