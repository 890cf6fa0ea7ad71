"""Named admin tokens with roles, against a real upshotd and Redis: a read
token reads (results, log, list) and gets 403 forbidden on every change; a
write token changes; an unknown token gets 401; the audit log's actor is
the token's name (X-Upshot-Actor is only kept as "on_behalf_of"); the
older single admin_token still works as the write token "admin"; and a
reload (SIGHUP or the admin endpoint) rotates the tokens, after which the
removed one gets 401. Hashes come from `upshotd --hash-token`."""
import signal
import subprocess

from harness import ADMIN_TOKEN, UPSHOTD, Upshotd, wait_until

READ_TOKEN = "growth-bot-token-0123456789"
WRITE_TOKEN = "ops-write-token-0123456789"
NEW_WRITE_TOKEN = "ops-rotated-token-0123456789"


def hash_token(token):
    """The "sha256" value upshotd --hash-token prints for token."""
    out = subprocess.run([UPSHOTD, "--hash-token"], input=token + "\n", capture_output=True,
                         text=True, timeout=10, check=True).stdout
    assert out.startswith('"sha256": "') and out.endswith('"\n'), out
    return out[len('"sha256": "'):-2]


def call(up, method, path, token, body=None, actor=None):
    h = {"Authorization": f"Bearer {token}"}
    if actor:
        h["X-Upshot-Actor"] = actor
    return up.request(method, path, body=body, headers=h)


def tokens(write_token):
    return [{"name": "growth-bot", "role": "read", "sha256": hash_token(READ_TOKEN)},
            {"name": "ops", "role": "write", "sha256": hash_token(write_token)}]


def test_hash_token_refuses_a_short_token():
    p = subprocess.run([UPSHOTD, "--hash-token"], input="short\n", capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2 and "at least 16" in p.stderr


def test_read_token_reads_and_is_forbidden_to_change(redis):
    with Upshotd(redis, admin_tokens=tokens(WRITE_TOKEN)) as up:
        exp = "/v1/experiments/checkout-tiers"
        for path in ("/v1/experiments", exp, exp + "/results", exp + "/log", exp + "/promotions"):
            r = call(up, "GET", path, READ_TOKEN)
            assert r.status == 200, (path, r)
        for method, path, body in (("POST", exp + "/stop", None), ("POST", exp + "/start", None),
                                   ("PUT", exp, {"key": "checkout-tiers"}),
                                   ("POST", "/v1/admin/reload", None),
                                   ("POST", exp + "/breaker/reset", None),
                                   ("DELETE", exp + "/promotions/gr", None)):
            r = call(up, method, path, READ_TOKEN, body=body)
            assert r.status == 403, (method, path, r)
            err = r.json()
            assert err["error"] == "forbidden" and "needs a write token" in err["message"], err
            assert "growth-bot" in err["message"] and "role read" in err["message"], err
        # Nothing changed: the experiment still runs.
        assert call(up, "GET", exp, READ_TOKEN).json()["status"] == "running"

        # Unknown or missing tokens are 401, whatever the route.
        for token in ("not-a-known-token-0123", hash_token(READ_TOKEN)):
            assert call(up, "GET", exp + "/results", token).status == 401
        assert up.request("POST", exp + "/stop").status == 401

        # A method the path does not have stays a 405 for a read token.
        assert call(up, "PATCH", exp, READ_TOKEN).status == 405


def test_write_token_changes_and_is_the_audit_actor(redis):
    with Upshotd(redis, admin_tokens=tokens(WRITE_TOKEN)) as up:
        exp = "/v1/experiments/checkout-tiers"
        r = call(up, "POST", exp + "/stop", WRITE_TOKEN, body={"reason": "pause"}, actor="maria")
        assert r.status == 200, r
        r = call(up, "POST", exp + "/start", WRITE_TOKEN, body={"reason": "resume"})
        assert r.status == 200, r
        # The older admin_token is the write token "admin".
        r = call(up, "POST", exp + "/stop", ADMIN_TOKEN, body={"reason": "again"}, actor="ops")
        assert r.status == 200, r
        log = call(up, "GET", exp + "/log", READ_TOKEN).json()["entries"]
        changes = [e for e in log if e["action"] in ("start", "stop")]
        assert [(e["action"], e["actor"], e["reason"]) for e in changes] == [
            ("stop", "ops", "pause"), ("start", "ops", "resume"), ("stop", "admin", "again")], log
        # What the client said of itself is a note, never the actor.
        assert changes[0]["details"]["on_behalf_of"] == "maria", changes[0]
        assert "on_behalf_of" not in (changes[1].get("details") or {}), changes[1]
        assert changes[2]["details"]["on_behalf_of"] == "ops", changes[2]


def test_reload_rotates_tokens(redis):
    up = Upshotd(redis, admin_tokens=tokens(WRITE_TOKEN))
    up.start()
    try:
        res = "/v1/experiments/checkout-tiers/results"
        assert call(up, "GET", res, WRITE_TOKEN).status == 200
        # SIGHUP: the ops token is replaced.
        up.config["admin_tokens"] = tokens(NEW_WRITE_TOKEN)
        up.write_config()
        up.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: call(up, "GET", res, WRITE_TOKEN).status == 401, timeout=10,
                   what="the old token refused after SIGHUP")
        assert call(up, "GET", res, NEW_WRITE_TOKEN).status == 200
        assert call(up, "GET", res, READ_TOKEN).status == 200

        # The admin endpoint: the reader is withdrawn, by the rotated writer.
        up.config["admin_tokens"] = tokens(NEW_WRITE_TOKEN)[1:]
        up.write_config()
        r = call(up, "POST", "/v1/admin/reload", NEW_WRITE_TOKEN)
        assert r.status == 200, r
        assert call(up, "GET", res, READ_TOKEN).status == 401
        log = call(up, "GET", "/v1/experiments/checkout-tiers/log", NEW_WRITE_TOKEN).json()

        # A file with a bad token entry is refused; the running tokens stay.
        up.config["admin_tokens"] = [{"name": "x", "role": "owner", "sha256": "00" * 32}]
        up.write_config()
        r = call(up, "POST", "/v1/admin/reload", NEW_WRITE_TOKEN)
        assert r.status in (400, 422) and "admin_tokens[0].role" in r.body, r
        assert call(up, "GET", res, NEW_WRITE_TOKEN).status == 200
        assert isinstance(log["entries"], list)
    finally:
        up.__exit__(None, None, None)
