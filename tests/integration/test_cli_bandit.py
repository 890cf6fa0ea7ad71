"""`upshot show` on a bandit experiment against a real upshotd and Redis:
after one weight update (POST .../bandit/update), the weights, p(best),
moved share and next update that the CLI shows, in --json and in the text,
are the ones the server's GET .../bandit holds; a region without enough
visitors shows the waiting line with the server's counts."""
import json
import os
import subprocess
import time

from harness import ADMIN_TOKEN, UPSHOT_CLI, experiment

KEY = "wordings"
VARIANTS = ["control", "b", "c"]


def bandit_experiment():
    return experiment(KEY, salt="wordings-cli", regions=["gr", "pl"],
                      variants=[{"key": k, "weight": w} for k, w in zip(VARIANTS, [0.4, 0.3, 0.3])],
                      allocation={"mode": "bandit", "metric": "conversion", "every": "1d",
                                  "control_share": 0.2, "floor": 0.05,
                                  "min_visitors_per_arm": 30, "beta": 0.8, "seed": 777})


def cli(up, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSHOT_")}
    env.update({"UPSHOT_URL": up.url, "UPSHOT_TOKEN": ADMIN_TOKEN,
                "UPSHOT_CONFIG": os.devnull, "NO_COLOR": "1", "COLUMNS": "100"})
    p = subprocess.run([UPSHOT_CLI, *args], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def feed(up, region, n, best):
    """n visitors exposed in region; those on arm `best` convert one in two,
    the others one in twenty (by their number, so the run is repeatable)."""
    events = []
    for i in range(n):
        v = f"{region}-{i}"
        r = up.assign(v, region=region, experiment=KEY)
        assert r.status == 200, r
        arm = VARIANTS.index(r.json()["variant"])
        if (arm == best and i % 2 == 0) or i % 20 == 0:
            events.append({"id": f"c-{v}", "type": "conversion", "experiment": KEY,
                           "visitor": v, "value": 10})
    for at in range(0, len(events), 100):
        body = up.events(events[at:at + 100]).json()
        assert body["accepted"] == len(events[at:at + 100]), body


def test_show_weights_equal_the_servers_after_an_update(upshot):
    up = upshot
    r = up.admin("POST", "/v1/experiments", bandit_experiment())
    assert r.status == 201, r
    feed(up, "gr", 400, best=1)  # about 100+ per arm: the weights move
    feed(up, "pl", 40, best=2)   # fewer than 30 on some arm: waits
    up.wait_applied()  # the update reads the counts from Redis
    r = up.admin("POST", f"/v1/experiments/{KEY}/bandit/update")
    assert r.status == 200, r
    state = up.admin("GET", f"/v1/experiments/{KEY}/bandit").json()
    gr, pl = state["regions"]["gr"], state["regions"]["pl"]
    assert gr["waiting"] is False and gr["period"] == 1, gr
    assert gr["weights"] != [0.4, 0.3, 0.3], gr
    assert pl["waiting"] is True, pl

    # The results' counts reach Redis through the journal: ask until both
    # regions are in the view.
    for _ in range(100):
        view = json.loads(cli(up, "show", KEY, "--json"))
        regions = {g["region"]: g for g in view.get("bandit", {}).get("regions", [])}
        if {"gr", "pl"} <= regions.keys():
            break
        time.sleep(0.1)
    b = view["bandit"]
    assert b["next_update"] == state["next_update"]
    assert b["min_visitors_per_arm"] == 30 and b["control_share"] == 0.2
    g = regions["gr"]
    assert [w["variant"] for w in g["weights"]] == VARIANTS
    assert [w["weight"] for w in g["weights"]] == gr["weights"]
    assert [p["p"] for p in g["p_best"]] == gr["p_best"]
    assert g["moved_share"] == gr["moved_share"] and g["period"] == gr["period"]
    assert [h["weights"] for h in g["history"]] == [h["weights"] for h in gr["history"]]
    assert regions["pl"]["waiting"] is True
    assert regions["pl"]["fewest_visitors"] == pl["fewest_visitors"]

    text = cli(up, "show", KEY)
    section = text[text.index("Bandit: "):text.index("Recommendations")]
    assert f"next update {state['next_update']}" in section, section
    gr_text = section[section.index("\ngr "):section.index("\npl ")]
    assert f"moved buckets {gr['moved_share'] * 100:.1f}%" in gr_text, gr_text
    for name, w, p in zip(VARIANTS, gr["weights"], gr["p_best"]):
        row = next(line for line in gr_text.splitlines() if line.split()[:1] == [name])
        cells = row.split()
        assert cells[1] == f"{w * 100:.1f}%", (row, w)
        assert cells[2] == f"{p:.3f}", (row, p)
    pl_text = section[section.index("\npl "):]
    assert (f"waiting for 30 visitors per arm (fewest: {pl['fewest_visitors']})"
            in pl_text), pl_text
