"""`upshot report EXP --html FILE` against a real upshotd and Redis: the
page is well-formed XML as well as HTML, self-contained, and says what
upshotd counted and decided (the same numbers as `upshot show --json`),
and its audit trail holds what was done, hostile text included, as text.
"""
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from harness import RedisServer, Upshotd
from test_cli import EXP, VARIANTS, Sent, cli, cli_json, exp_def, feed

NS = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}
HOSTILE = "<script>alert('x')</script> & ok"


@pytest.fixture(scope="module")
def world():
    with RedisServer() as redis, Upshotd(redis, experiments=[exp_def()]) as up:
        sent = Sent()
        for region in ("gr", "pl"):
            feed(up, sent, region, 450, "v")
        up.wait_applied()
        p = cli(up, "promote", EXP, "--region", "gr", "--variant", "three-tiers",
                "--reason", HOSTILE)
        assert p.returncode == 0, p.stderr
        yield up


def report(up, tmp_path, *extra):
    path = str(tmp_path / "report.html")
    p = cli(up, "report", EXP, "--html", path, *extra)
    return p, path


def parse(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("<!DOCTYPE html>\n")
    return text, ET.fromstring(text[len("<!DOCTYPE html>\n"):])


def test_the_report_is_well_formed_and_self_contained(world, tmp_path):
    p, path = report(world, tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"{EXP}: report written to {path}")
    text, root = parse(path)
    assert root.findall(".//h:script", NS) == []
    assert not re.search(r"\b(src|href)=", text)
    svgs = root.findall(".//s:svg", NS)
    # all regions, gr, pl; the forest plot; the exposure split
    assert len(svgs) == 5
    for s in svgs:
        assert s.get("role") == "img"
        assert s.find("s:title", NS).text and s.find("s:desc", NS).text


def table_rows(root, section):
    sec = root.find(f".//h:section[@id='{section}']", NS)
    rows = []
    for tr in sec.findall(".//h:tbody/h:tr", NS):
        rows.append(["".join(c.itertext()) for c in tr])
    return rows


def test_the_report_says_what_show_says(world, tmp_path):
    up = world
    view = cli_json(up, "show", EXP)
    p, path = report(up, tmp_path)
    assert p.returncode == 0, p.stderr
    _, root = parse(path)
    decisions = {r[0]: r for r in table_rows(root, "decisions")}
    for g in view["regions"]:
        assert decisions[g["region"]][1] == g["recommendation"]
        assert decisions[g["region"]][2] == (g["promote_variant"] or "")
    assert decisions["gr"][5].startswith("three-tiers, holdback")
    forest = {(r[0], r[1]): r for r in table_rows(root, "forest")}
    for g in view["regions"]:
        for a in g["variants"]:
            if a["control"]:
                continue
            row = forest[(g["region"], a["variant"])]
            assert row[2] == f"{a['lift'] * 100:+.1f}%", (row, a["lift"])
            lo, hi = a["lift_ci"]
            assert row[3] == f"[{lo * 100:+.1f}%, {hi * 100:+.1f}%]"
    exposure = {(r[0], r[1]): r for r in table_rows(root, "exposure")}
    for g in view["regions"]:
        for a in g["variants"]:
            assert exposure[(g["region"], a["variant"])][2] == str(a["visitors"])
    assert exposure[("gr", "control")][4] == "34.0%"


def test_the_audit_trail_holds_the_promotion_as_text(world, tmp_path):
    p, path = report(world, tmp_path)
    text, root = parse(path)
    audit = table_rows(root, "audit")
    promo = [r for r in audit if r[2] == "promote"]
    assert promo, audit
    assert HOSTILE in promo[-1][4], promo
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_report_json_and_errors(world, tmp_path):
    up = world
    p, path = report(up, tmp_path, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["experiment"] == EXP and doc["html"] == path
    assert doc["bytes"] == os.path.getsize(path)
    p = cli(up, "report", "offer-tiesr", "--html", "/dev/null", "--json")
    assert p.returncode == 5 and p.stdout == ""
    err = json.loads(p.stderr)["error"]
    assert err["kind"] == "not_found" and err["did_you_mean"] == EXP
    p = cli(up, "report", EXP)
    assert p.returncode == 2 and "--html" in p.stderr
