"""upshotd over HTTPS, against a real Redis, with certificates made here by
openssl at test time (a private CA and two server certificates it signed):
a real handshake verified against the CA (TLS 1.2 or later, no
compression); assign, events and the admin API over https; plain HTTP to
the TLS port fails cleanly and the server carries on; SIGHUP with new
files swaps the served certificate (its fingerprint changes) and files
that do not load keep the running one; the CLI talks https with --cacert
(or UPSHOT_CACERT), fails as unreachable without it, and --insecure
works only with a warning."""
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import warnings

import pytest

from harness import (ADMIN_TOKEN, UPSHOT_CLI, RedisServer, Upshotd, read_until_closed,
                     wait_until)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki():
    """ca.pem, and a.pem/a.key and b.pem/b.key for 127.0.0.1 signed by it."""
    d = tempfile.mkdtemp(prefix="upshot-pki-")
    try:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-days", "2", "-subj", "/CN=upshot test CA", cwd=d)
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for name in ("a", "b"):
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                    f"{name}.csr", "-subj", f"/CN=upshotd {name}", cwd=d)
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext",
                    cwd=d)
        with open(os.path.join(d, "garbage.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def der_fingerprint(pem_path):
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def served(up):
    """The served certificate's SHA-256, the TLS version and compression."""
    with socket.create_connection(("127.0.0.1", up.port), timeout=5) as raw:
        with up.tls.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest(), s.version(), \
                s.compression()


def refused_over_tls(up, after_a_request):
    """What the server answers, over TLS, to a body larger than allowed."""
    with socket.create_connection(("127.0.0.1", up.port), timeout=5) as raw:
        with up.tls.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            if after_a_request:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(4096)
                length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                              if l.lower().startswith(b"content-length:")][0])
                body = head.split(b"\r\n\r\n", 1)[1]
                while len(body) < length:
                    body += s.recv(4096)
                assert head.startswith(b"HTTP/1.1 200"), head
            s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n")
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except (ssl.SSLError, ConnectionError, socket.timeout):
                pass
            return got


@pytest.fixture
def tls_up(pki):
    with RedisServer() as redis:
        up = Upshotd(redis, tls={"cert": os.path.join(pki, "a.pem"),
                                 "key": os.path.join(pki, "a.key")})
        up.tls = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
        up.start()
        try:
            yield up
        finally:
            up.__exit__(None, None, None)


def test_https_serves_the_api(tls_up, pki):
    up = tls_up
    fp, version, compression = served(up)
    assert fp == der_fingerprint(os.path.join(pki, "a.pem"))
    assert version in ("TLSv1.2", "TLSv1.3") and compression is None
    r = up.assign("v-tls")
    assert r.status == 200 and r.json()["in_experiment"], r
    r = up.events([{"id": "c1", "type": "conversion", "experiment": "checkout-tiers",
                    "visitor": "v-tls", "value": 3}])
    assert r.status in (200, 202), r
    up.wait_applied()
    assert up.results()["experiment"] == "checkout-tiers"
    assert up.admin("GET", "/v1/experiments").status == 200
    assert up.admin("POST", "/v1/experiments/checkout-tiers/stop").status == 200

    # The connection guard's own refusals reach the client over TLS too,
    # on a fresh connection and after a first request on a kept-alive one.
    for first in (False, True):
        got = refused_over_tls(up, first)
        assert got.startswith(b"HTTP/1.1 413") and b'"error":' in got, (first, got[:300])
    assert up.get("/healthz").status == 200

    # A client that does not trust the CA gets no answer.
    with pytest.raises(ssl.SSLCertVerificationError):
        served_with = ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", up.port), timeout=5) as raw:
            served_with.wrap_socket(raw, server_hostname="127.0.0.1")

    # TLS 1.1 is refused.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot offer TLS 1.1 as a client")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection(("127.0.0.1", up.port), timeout=5) as raw:
            old.wrap_socket(raw, server_hostname="127.0.0.1")


def test_plain_http_to_the_tls_port_fails_cleanly(tls_up):
    up = tls_up
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", up.port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            got, closed = read_until_closed(s, timeout=5)
        # OpenSSL answers with an alert (or nothing) and the server closes.
        assert not got.startswith(b"HTTP/"), got[:200]
        assert closed, got[:200]
    # The server carries on, over https.
    assert up.proc.poll() is None
    assert up.get("/healthz").status == 200


def test_sighup_swaps_the_certificate_and_keeps_it_when_the_new_one_is_bad(tls_up, pki):
    up = tls_up
    fa, fb = der_fingerprint(os.path.join(pki, "a.pem")), der_fingerprint(os.path.join(pki, "b.pem"))
    assert served(up)[0] == fa
    up.config["tls"] = {"cert": os.path.join(pki, "b.pem"), "key": os.path.join(pki, "b.key")}
    up.write_config()
    up.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: served(up)[0] == fb, timeout=10, what="certificate b served after SIGHUP")
    assert up.results()["experiment"] == "checkout-tiers"

    # Files that do not load: a certificate that is not one, then a key
    # that is not the certificate's. Certificate b stays.
    for cert, key in (("garbage.pem", "a.key"), ("a.pem", "b.key")):
        up.config["tls"] = {"cert": os.path.join(pki, cert), "key": os.path.join(pki, key)}
        up.write_config()
        before = up.read_log().count("keeping the running certificate")
        up.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: up.read_log().count("keeping the running certificate") > before,
                   timeout=10, what="the refusal of the bad certificate in the log")
        assert served(up)[0] == fb
        assert up.get("/healthz").status == 200

    # The admin reload reads the files too.
    up.config["tls"] = {"cert": os.path.join(pki, "a.pem"), "key": os.path.join(pki, "a.key")}
    up.write_config()
    assert up.admin("POST", "/v1/admin/reload").status == 200
    assert served(up)[0] == fa


def cli(up, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
    env.update({"UPSHOT_URL": up.url, "UPSHOT_TOKEN": ADMIN_TOKEN, "UPSHOT_CONFIG": os.devnull,
                "NO_COLOR": "1", "COLUMNS": "100"})
    env.update(env_extra or {})
    return subprocess.run([UPSHOT_CLI, *args], capture_output=True, text=True, env=env, timeout=60)


def test_cli_speaks_https_with_the_ca(tls_up, pki):
    up = tls_up
    ca = os.path.join(pki, "ca.pem")
    p = cli(up, "ls", "--cacert", ca)
    assert p.returncode == 0 and "checkout-tiers" in p.stdout, p.stderr
    p = cli(up, "ls", env_extra={"UPSHOT_CACERT": ca})
    assert p.returncode == 0 and "checkout-tiers" in p.stdout, p.stderr
    # A write over https, as a person would do it.
    p = cli(up, "stop", "checkout-tiers", "--reason", "over tls", "--cacert", ca)
    assert p.returncode == 0, p.stderr
    assert up.admin("GET", "/v1/experiments/checkout-tiers").json()["status"] == "stopped"

    # Without the CA: unreachable (3), saying it is the certificate.
    p = cli(up, "ls")
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert "cannot reach upshotd" in p.stderr and "certificate" in p.stderr, p.stderr
    # A CA file that is not there is bad input on the command line.
    p = cli(up, "ls", "--cacert", os.path.join(pki, "missing.pem"))
    assert p.returncode == 2 and "missing.pem" in p.stderr, (p.returncode, p.stderr)
    # --insecure talks, loudly.
    p = cli(up, "ls", "--insecure")
    assert p.returncode == 0 and "checkout-tiers" in p.stdout, p.stderr
    assert "WARNING" in p.stderr and "not verified" in p.stderr, p.stderr
