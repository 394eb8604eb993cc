"""`warroom sandbox` without a browser: a game day at `--speed 60` (a P1's 15-minute update
reminder within ~15 s), the workspace kept across a restart, and bad input refused in one
line."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.driver import REPO_ROOT, wait_for
from tests.e2e.sandboxes import SandboxProcess, running_sandbox


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path, "--fresh", "--speed", "60") as sandbox:
        yield sandbox


def declare_p1(sandbox: SandboxProcess, title: str) -> dict[str, Any]:
    """/incident, then the modal, through the page's API (what the page's script sends)."""
    general = channel_named(sandbox, "U_ALICE", "incident-response")
    sandbox.api("send", {"user": "U_ALICE", "channel": general["id"], "text": "/incident"})
    modal = wait_for(
        lambda: sandbox.api("state", user="U_ALICE")["modal"], what="the declare modal"
    )
    answers = {"title/title": title, "severity/severity": "P1"}
    answer = sandbox.api("submit", {"user": "U_ALICE", "view": modal["id"], "answers": answers})
    assert answer["errors"] == {}
    return wait_for(
        lambda: next(
            (
                c
                for c in sandbox.api("state", user="U_ALICE")["channels"]
                if c["name"].startswith("inc-")
            ),
            None,
        ),
        what="the incident channel",
    )


def channel_named(sandbox: SandboxProcess, user: str, name: str) -> dict[str, Any]:
    channels = sandbox.api("state", user=user)["channels"]
    return next(c for c in channels if c["name"] == name)


def texts(sandbox: SandboxProcess, channel: str) -> list[str]:
    state = sandbox.api("state", user="U_ALICE", channel=channel)
    return [re.sub(r"<[^>]+>", "", m["html"]) for m in state["channel"]["messages"]]


def test_at_speed_60_the_first_update_reminder_comes_within_about_15_seconds(
    fast: SandboxProcess,
) -> None:
    channel = declare_p1(fast, "Checkout down")
    declared = time.monotonic()
    wait_for(
        lambda: any("No status update on" in t for t in texts(fast, channel["id"])),
        timeout=30,
        what="the update reminder",
    )
    waited = time.monotonic() - declared
    # 15 minutes of the built-in policy's P1 cadence, 60× faster: 15 s (not at once).
    assert 10 <= waited <= 25, waited


def test_the_workspace_and_the_incidents_survive_a_restart(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, "--fresh") as first:
        channel = declare_p1(first, "Search slow")
        wait_for(lambda: texts(first, channel["id"]), what="the panel")
    with running_sandbox(tmp_path) as again:
        kept = channel_named(again, "U_ALICE", channel["name"])
        assert kept["id"] == channel["id"]
        assert any("Search slow" in t for t in texts(again, channel["id"]))
        assert again.rows("select title from incidents") == [("Search slow",)]


def run_sandbox(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", *args],
        cwd=cwd,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_input_is_refused_in_one_line(tmp_path: Path) -> None:
    missing = run_sandbox("--policy", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0
    assert "nope.yaml" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("severities: []\n")
    invalid = run_sandbox("--policy", str(broken), cwd=tmp_path)
    assert invalid.returncode == 1
    assert "severities" in invalid.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_sandbox("--port", str(port), cwd=tmp_path)
    assert busy.returncode == 2
    assert f"port {port}" in busy.stderr
    assert "--port" in busy.stderr
    assert not (tmp_path / "warroom-sandbox.db").exists()  # nothing started


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path, "--fresh") as sandbox:
        yield sandbox


def test_field_errors_shortcuts_threads_home_and_privacy(plain: SandboxProcess) -> None:
    general = channel_named(plain, "U_ALICE", "general")["id"]
    # A modal's field errors (response_action: errors) are drawn on the field.
    plain.api("send", {"user": "U_ALICE", "channel": general, "text": "/incident"})
    modal = wait_for(lambda: plain.api("state", user="U_ALICE")["modal"], what="the modal")
    answer = plain.api("submit", {"user": "U_ALICE", "view": modal["id"], "answers": {}})
    assert "title" in answer["errors"]
    shown = plain.api("state", user="U_ALICE")["modal"]["html"]
    assert 'class="field-error"' in shown
    assert "Give the incident a title." in shown
    plain.api("close", {"user": "U_ALICE", "view": modal["id"]})
    assert plain.api("state", user="U_ALICE")["modal"] is None

    # A thread reply, then the message shortcut on the parent: its text prefills the form.
    sent = plain.api(
        "send", {"user": "U_BOB", "channel": general, "text": "Search returns 500 <b>now</b>"}
    )
    plain.api(
        "send",
        {"user": "U_CAROL", "channel": general, "text": "same here", "thread": sent["ts"]},
    )
    state = plain.api("state", user="U_ALICE", channel=general, thread=sent["ts"])
    assert state["thread"]["replies"][0]["html"] == "same here"
    parent = next(m for m in state["channel"]["messages"] if m["ts"] == sent["ts"])
    assert parent["replies"] == 1
    assert "&lt;b&gt;now&lt;/b&gt;" in parent["html"]  # escaped, not markup
    plain.api(
        "shortcut",
        {
            "user": "U_ALICE",
            "channel": general,
            "ts": sent["ts"],
            "callback_id": "declare_incident_from_message",
        },
    )
    prefilled = wait_for(lambda: plain.api("state", user="U_ALICE")["modal"], what="the form")
    assert "Search returns 500" in prefilled["html"]
    plain.api("close", {"user": "U_ALICE", "view": prefilled["id"]})

    # The App Home tab, published when opened.
    plain.api("home", {"user": "U_ALICE"})
    home = wait_for(lambda: plain.api("state", user="U_ALICE")["home"], what="the Home tab")
    assert "block" in home["html"]

    # A private incident's channel is listed for its members only.
    plain.api("send", {"user": "U_ALICE", "channel": general, "text": "/incident"})
    modal = wait_for(lambda: plain.api("state", user="U_ALICE")["modal"], what="the modal")
    answers = {
        "title/title": "Token leak",
        "severity/severity": "P2",
        "type/type": "security",
    }
    assert plain.api("submit", {"user": "U_ALICE", "view": modal["id"], "answers": answers})
    wait_for(
        lambda: any(c["private"] for c in plain.api("state", user="U_ALICE")["channels"]),
        what="the private channel, for alice",
    )
    dave = plain.api("state", user="U_DAVE")["channels"]
    assert not any(c["name"].startswith("inc-") for c in dave)
