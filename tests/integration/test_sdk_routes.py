"""What upshotd serves to integrators' pages besides decisions: the SDK
bundle (GET /v1/sdk/upshot.js, embedded at build time) and the local
evaluation snapshot (GET /v1/sdk/config), both with ETags so browsers and
CDNs revalidate with a 304 instead of downloading again."""
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

from harness import RedisServer, Upshotd, experiment


@pytest.fixture(scope="module")
def up():
    with RedisServer() as redis, Upshotd(redis) as u:
        yield u


def test_the_bundle_is_the_sdk_as_one_module_with_its_hash_as_etag(up):
    r = up.request("GET", "/v1/sdk/upshot.js", headers={"Origin": "https://shop.other"})
    assert r.status == 200, r
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    body = r.body.encode()
    assert int(r.headers["content-length"]) == len(body)
    digest = hashlib.sha256(body).hexdigest()[:32]
    assert r.headers["etag"] == f'"{digest}"'
    # Unversioned: kept five minutes, then revalidated; any origin may load it.
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["access-control-allow-origin"] == "*"
    # No SDK key needed: a <script> tag cannot send one (the public API's
    # other routes refuse a request without it).
    assert up.request("GET", "/v1/sdk/config").status == 401

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    # It is the SDK: node imports it as an ES module and finds its API.
    d = tempfile.mkdtemp(prefix="upshot-bundle-")
    try:
        path = os.path.join(d, "upshot.mjs")
        with open(path, "wb") as f:
            f.write(body)
        out = subprocess.run(
            [node, "--input-type=module", "-e",
             f"const m = await import({path!r}); "
             "console.log(Object.keys(m).sort().join(','), m.murmur3('visitor-1', 0))"],
            capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        names, h = out.stdout.split()
        assert {"Upshot", "createUpshot", "evaluate", "murmur3", "visitorId"} <= set(names.split(","))
        assert h.isdigit()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_versioned_url_is_immutable_and_a_matching_tag_gets_304(up):
    r = up.get("/v1/sdk/upshot.js")
    etag = r.headers["etag"]
    v = etag.strip('"')
    pinned = up.get("/v1/sdk/upshot.js", v=v)
    assert pinned.status == 200
    assert pinned.body == r.body
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    # A hash this upshotd does not serve (a page pinned before an upgrade)
    # still gets the SDK, but not the promise that it never changes.
    stale = up.get("/v1/sdk/upshot.js", v="0" * 32)
    assert stale.status == 200
    assert stale.headers["cache-control"] == "public, max-age=300"

    for inm in (etag, "W/" + etag, f'"other", {etag}', "*"):
        nm = up.request("GET", "/v1/sdk/upshot.js", headers={"If-None-Match": inm})
        assert nm.status == 304, (inm, nm)
        assert nm.body == ""
        assert nm.headers["etag"] == etag
        assert nm.headers["cache-control"] == "public, max-age=300"
    changed = up.request("GET", "/v1/sdk/upshot.js", headers={"If-None-Match": '"0123"'})
    assert changed.status == 200 and changed.body == r.body


def test_the_config_snapshot_revalidates_until_an_experiment_changes(up):
    r = up.public("GET", "/v1/sdk/config")
    assert r.status == 200, r
    etag = r.headers["etag"]
    assert etag.startswith('W/"') and len(etag) == 20
    assert r.headers["cache-control"] == "no-cache"
    same = up.public("GET", "/v1/sdk/config", headers={"If-None-Match": etag})
    assert same.status == 304, same
    assert same.body == "" and same.headers["etag"] == etag
    # The key is still checked before any 304.
    nokey = up.request("GET", "/v1/sdk/config", headers={"If-None-Match": etag})
    assert nokey.status == 401

    # A change of the live set changes the snapshot and its tag.
    made = up.admin("POST", "/v1/experiments", body=experiment("urgency"))
    assert made.status == 201, made
    after = up.public("GET", "/v1/sdk/config", headers={"If-None-Match": etag})
    assert after.status == 200, after
    assert after.headers["etag"] != etag
    assert "urgency" in [e["key"] for e in after.json()["experiments"]]
    assert up.public("GET", "/v1/sdk/config",
                     headers={"If-None-Match": after.headers["etag"]}).status == 304


def test_the_snapshot_tag_is_the_same_on_another_instance_with_the_same_experiments():
    """Behind a load balancer a page may revalidate on another instance:
    the tag depends on the experiments only, not on the instance's
    generation counter or the time it built the snapshot."""
    with RedisServer() as redis, Upshotd(redis) as a:
        first = a.public("GET", "/v1/sdk/config")
        with Upshotd(redis) as b:
            second = b.public("GET", "/v1/sdk/config",
                              headers={"If-None-Match": first.headers["etag"]})
            assert second.status == 304, second
