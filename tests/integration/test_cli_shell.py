"""`upshot` in a real terminal and a real shell, against a real upshotd and
Redis:

  - `upshot watch` inside tmux at 80x24 and at 120x40: the pane holds the
    title whole and the key table, no line is wider than the terminal, a
    resize is followed, and after ^C the scrollback holds no frame (the
    alternate screen was used and given back);
  - the bash completion (sdk/cli/completion/upshot.bash) sourced in bash:
    commands, options, and experiment keys fetched from the server.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import ADMIN_TOKEN, SOURCE_DIR, UPSHOT_CLI, RedisServer, Upshotd
from test_cli import EXP, Sent, exp_def, feed

COMPLETION = os.path.join(SOURCE_DIR, "sdk", "cli", "completion", "upshot.bash")
TITLE = "offer-tiers  Offer tiers at checkout  [running]"


@pytest.fixture(scope="module")
def world():
    with RedisServer() as redis, Upshotd(redis, experiments=[
            exp_def(), exp_def(key="cart-bundle", status="draft")]) as up:
        sent = Sent()
        for region in ("gr", "pl"):
            feed(up, sent, region, 300, "v")
        up.wait_applied()
        yield up


class Tmux:
    """A private tmux server (its own socket) with one pane of cols x rows
    running bash without rc files."""

    def __init__(self, cols, rows):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is missing: tools/install-deps installs it")
        self.dir = tempfile.mkdtemp(prefix="upshot-tmux-")
        self.socket = os.path.join(self.dir, "sock")
        conf = os.path.join(self.dir, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g status off\nset -g history-limit 10000\n")
        self.base = ["tmux", "-S", self.socket, "-f", conf]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir,
               "TERM": "xterm-256color", "LANG": "C.UTF-8"}
        subprocess.run(self.base + ["new-session", "-d", "-x", str(cols), "-y", str(rows),
                                    "bash --norc --noprofile"], check=True, env=env, timeout=10)
        self.run("set-option", "-g", "status", "off")

    def run(self, *args):
        return subprocess.run(self.base + list(args), check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def send(self, *keys):
        self.run("send-keys", "-t", "0", *keys)

    def pane(self, history=False):
        return self.run("capture-pane", "-p", "-t", "0", *(["-S", "-"] if history else []))

    def wait_for(self, text, history=False, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.pane(history)
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{self.pane(history)}")

    def close(self):
        subprocess.run(self.base + ["kill-server"], capture_output=True, timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def watch_command(up):
    return (f"UPSHOT_URL={up.url} UPSHOT_TOKEN={ADMIN_TOKEN} UPSHOT_CONFIG=/dev/null "
            f"{UPSHOT_CLI} watch {EXP} --interval 0.5; echo WATCH-ENDED rc=$?")


def check_frame(screen, cols, rows):
    lines = screen.split("\n")
    assert len([x for x in lines if x]) <= rows
    for line in lines:
        assert len(line) <= cols, f"line of {len(line)} > {cols}: {line!r}"
    assert TITLE in screen, f"the title is not whole:\n{screen}"
    # the key table: its heading, its columns and every variant's row
    assert "All regions: conversion" in screen, screen
    for v in ("control", "three-tiers", "urgency"):
        assert any(line.lstrip().startswith(v) for line in lines), (v, screen)
    assert "^C to quit" in screen


@pytest.mark.parametrize("cols,rows", [(80, 24), (120, 40)])
def test_watch_fits_the_terminal_and_leaves_no_scrollback(world, cols, rows):
    up = world
    t = Tmux(cols, rows)
    try:
        t.send("clear", "Enter")
        t.send(watch_command(up), "Enter")
        screen = t.wait_for("^C to quit")
        # a second refresh, redrawn in place
        time.sleep(1.2)
        screen = t.wait_for("^C to quit")
        check_frame(screen, cols, rows)
        t.send("C-c")
        after = t.wait_for("WATCH-ENDED rc=0", history=True)
        # the shell's screen came back, and no frame reached the scrollback
        for frame_text in (TITLE, "All regions: conversion", "^C to quit", "Recommendations"):
            assert frame_text not in after, f"{frame_text!r} left behind:\n{after}"
    finally:
        t.close()


def test_watch_follows_a_resize(world):
    up = world
    t = Tmux(120, 40)
    try:
        t.send(watch_command(up), "Enter")
        t.wait_for("^C to quit")
        t.run("resize-window", "-t", "0", "-x", "80", "-y", "24")
        deadline = time.monotonic() + 10
        while True:
            screen = t.pane()
            lines = screen.split("\n")
            if all(len(x) <= 80 for x in lines) and "^C to quit" in screen:
                break
            assert time.monotonic() < deadline, screen
            time.sleep(0.1)
        check_frame(screen, 80, 24)
        t.send("C-c")
        t.wait_for("WATCH-ENDED rc=0", history=True)
    finally:
        t.close()


# ---- bash completion -------------------------------------------------------


def complete(words, cword, url=None):
    """Runs the completion function as bash would on `words` with the
    cursor on word `cword`, and returns COMPREPLY."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "UPSHOT_CLI": UPSHOT_CLI,
           "UPSHOT_CONFIG": os.devnull, "UPSHOT_TOKEN": ADMIN_TOKEN}
    if url:
        env["UPSHOT_URL"] = url
    script = (f"source {COMPLETION}\n"
              f"PATH=\"$(dirname \"$UPSHOT_CLI\"):$PATH\"\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={cword}\n"
              f"COMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n"
              "_upshot_complete upshot \"${COMP_WORDS[COMP_CWORD]}\" "
              "\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
              "complete -p upshot\n")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "complete -F _upshot_complete upshot", lines[-1]
    return sorted(x for x in lines[:-1] if x)


def test_completion_of_commands():
    assert complete(["upshot", "s"], 1) == ["show", "start", "stop"]
    assert "report" in complete(["upshot", ""], 1)
    assert complete(["upshot", "unp"], 1) == ["unpromote"]


def test_completion_of_options():
    got = complete(["upshot", "promote", "offer-tiers", "--"], 3)
    for opt in ("--region", "--variant", "--holdback", "--force", "--json", "--url"):
        assert opt in got, got
    assert complete(["upshot", "show", "--me"], 2) == ["--metric"]
    assert complete(["upshot", "show", "x", "--metric", ""], 4) == ["aov", "conversion",
                                                                     "revenue"]
    assert complete(["upshot", "report", "x", "--html", "zz-no-such"], 4) == []


def test_completion_of_experiment_keys_from_the_server(world):
    up = world
    assert complete(["upshot", "show", ""], 2, url=up.url) == ["cart-bundle", "offer-tiers"]
    assert complete(["upshot", "promote", "of"], 2, url=up.url) == ["offer-tiers"]
    # without a server: no keys, and no error on the command line
    assert complete(["upshot", "show", ""], 2) == []
