"""The post-mortem draft end to end: a scripted incident's file holds every section, the right
people, the timeline in time order with captured messages' own times and the action items;
`warroom postmortem` prints the same; the file is posted exactly once across a kill -9
between the upload and its completion, and across a 500 from the completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.slack import FakeSlack
from sandbox.slack.records import FileView
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, unsettled, wait_provisioned

RECOVERY_TIMEOUT = 40  # a killed worker's lease (15 s) runs out first


def _modal(fake: FakeSlack, user: str, callback_id: str, seen: set[str]) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for view in fake.views(user):
            if view.payload.get("callback_id") == callback_id and view.payload["id"] not in seen:
                return dict(view.payload)
        return None

    view: dict[str, Any] = wait_for(find, what=f"the {callback_id} modal", timeout=5)
    seen.add(view["id"])
    return view


def _submit(
    slack: SlackDriver, fake: FakeSlack, user: str, callback_id: str, answers: dict[str, Any]
) -> None:
    seen = _SEEN.setdefault(id(fake), set())
    view = _modal(fake, user, callback_id, seen)
    reply = slack.view_submission(user, view, fill_modal(view, answers))
    assert reply.status == 200, reply.text
    assert not reply.body or "errors" not in reply.text, reply.text


_SEEN: dict[int, set[str]] = {}


def _shared_files(fake: FakeSlack, cid: str) -> list[FileView]:
    return [f for f in fake.files() if cid in f.channels]


def _status(server: WarroomServer) -> str:
    return str(db_rows(server, "select status from incidents where number = 1")[0][0])


def _resolve(slack: SlackDriver, fake: FakeSlack, server: WarroomServer, cid: str) -> None:
    assert slack.slash("U_ALICE", "resolve", channel=cid).status == 200
    _submit(
        slack,
        fake,
        "U_ALICE",
        "incident_resolve",
        {
            "Resolution summary": "Raised the pool to 100",
            "Root cause": "Pool of 20 exhausted",
            "What went well": "Rollback took two minutes",
        },
    )
    wait_for(lambda: _status(server) == "resolved", what="INC-1 resolved", timeout=10)


def _utc(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%d %H:%M")


def test_a_scripted_incident_gets_a_complete_post_mortem(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing <!channel>", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    slack.slash("U_ALICE", "assign tech_lead <@U_BOB|bob>", channel=cid)
    slack.slash("U_ALICE", "assign scribe <@U_CAROL|carol>", channel=cid)
    slack.slash("U_BOB", "ack", channel=cid)
    for status in ("Investigating", "Identified", "Monitoring"):
        assert slack.slash("U_BOB", "update", channel=cid).status == 200
        _submit(
            slack,
            fake,
            "U_BOB",
            "incident_update",
            {"Status": status, "Impact": f"Impact while {status}", "What is being done": "Work"},
        )
    slack.slash("U_CAROL", "note Restarted pgbouncer on db-2", channel=cid)
    slack.slash("U_CAROL", "note Paged the DBA | on call", channel=cid)
    first = fake.post_as_user(cid, "U_BOB", "Pool is at 20/20 connections")
    second = fake.post_as_user(cid, "U_DAVE", "EU customers recovering")
    for ts in (first, second):
        slack.event(
            {
                "type": "reaction_added",
                "user": "U_CAROL",
                "reaction": "pushpin",
                "item": {"type": "message", "channel": cid, "ts": ts},
            }
        )
    wait_for(
        lambda: len(db_rows(warroom, "select id from timeline_events where kind = 'message'")) == 2,
        what="both captured messages",
    )
    slack.slash("U_ALICE", "severity P1", channel=cid)
    slack.slash("U_ALICE", "action Alert on pool usage <@U_BOB|bob> due:2099-01-31", channel=cid)
    slack.slash("U_ALICE", "action Load test at 3x traffic", channel=cid)
    wait_for(lambda: len(db_rows(warroom, "select id from action_items")) == 2, what="both items")
    _resolve(slack, fake, warroom, cid)

    [posted] = wait_for(lambda: _shared_files(fake, cid), what="the post-mortem file")
    assert posted.name == "INC-1-postmortem.md"
    markdown = posted.content.decode() if posted.content else ""
    for section in (
        "Summary",
        "Key times",
        "People",
        "Timeline",
        "Status updates",
        "Root cause",
        "Contributing factors",
        "What went well",
        "go well",
        "Action items",
    ):
        assert section in markdown, section
    assert "INC-1" in markdown
    assert "<!channel>" not in markdown
    for person in ("U_ALICE", "U_BOB", "U_CAROL"):
        assert person in markdown
    assert "Pool of 20 exhausted" in markdown
    assert "Raised the pool to 100" in markdown
    assert "Alert on pool usage" in markdown
    assert "2099-01-31" in markdown
    assert "Load test at 3x traffic" in markdown
    assert "Rollback took two minutes" in markdown
    for update in ("Investigating", "Identified", "Monitoring"):
        assert f"Impact while {update}" in markdown
    # The captured messages, at their own times, in time order, with their links.
    first_at = markdown.index("Pool is at 20/20 connections")
    second_at = markdown.index("EU customers recovering")
    assert first_at < second_at
    assert _utc(first) in markdown[: first_at + 200]
    assert "Restarted pgbouncer" in markdown
    assert "Paged the DBA \\| on call" in markdown  # a pipe cannot break the table
    # The message that went with it is one line in the channel.
    shared = [m for m in fake.channel(cid).messages if m.files]
    assert len(shared) == 1
    assert "\n" not in shared[0].text

    # `warroom postmortem` prints the same document from the database.
    env = {
        **os.environ,
        "DATABASE_URL": warroom.env()["DATABASE_URL"],
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("WARROOM_POLICY", None)
    printed = subprocess.run(
        [sys.executable, "-m", "bot", "postmortem", "INC-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    def stable(text: str) -> str:
        return re.sub(r"(?m)^.*generated.*$", "", text)

    assert stable(printed) == stable(markdown)
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "postmortem", "999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_fresh_draft_on_request_is_a_new_file_and_one_line_never_a_flood(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P4"})
    cid = wait_provisioned(fake, 1).id
    reply = slack.slash("U_ALICE", "postmortem", channel=cid)
    assert "fresh post-mortem draft" in reply.json["text"]
    wait_for(lambda: len(_shared_files(fake, cid)) == 1, what="the draft")
    again = slack.slash("U_ALICE", "postmortem", channel=cid)
    assert "on its way" in again.json["text"]
    time.sleep(1)
    assert len(_shared_files(fake, cid)) == 1
    shared = [m for m in fake.channel(cid).messages if m.files]
    assert len(shared) == 1
    assert "\n" not in shared[0].text

    done = slack.slash("U_ALICE", "postmortem done <https://docs.example.com/pm/1>", channel=cid)
    assert "Recorded the final post-mortem" in done.json["text"]
    assert db_rows(warroom, "select postmortem_link from incidents") == [
        ("https://docs.example.com/pm/1",)
    ]


def test_killed_between_upload_and_completion_the_file_is_posted_once(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    hold = fake.hold("files.completeUploadExternal")
    _resolve(slack, fake, warroom, cid)
    assert hold.wait_arrived(15), "the completion was never sent"
    warroom.kill()
    hold.release()  # the completion lands, but its answer never reaches the bot
    wait_for(lambda: _shared_files(fake, cid), what="the held completion to land", timeout=5)

    warroom.start()
    wait_for(
        lambda: unsettled(warroom) == 0,
        what="every job settled",
        timeout=RECOVERY_TIMEOUT,
    )
    assert len(_shared_files(fake, cid)) == 1
    assert len([m for m in fake.channel(cid).messages if m.files]) == 1
    assert fake.calls("files.info"), "the retry asked Slack whether the file was shared"


def test_a_500_from_the_completion_is_recognised_or_retried_never_doubled(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    fake.fail_after("files.completeUploadExternal", status=500)  # Slack shared it, then 500
    _resolve(slack, fake, warroom, cid)
    wait_for(lambda: fake.calls("files.info"), what="the retry's check", timeout=20)
    wait_for(
        lambda: (
            db_rows(warroom, "select state from jobs where payload like '%postmortem_requested%'")
            == [("done",)]
        ),
        what="the post-mortem job done",
        timeout=20,
    )
    assert len(_shared_files(fake, cid)) == 1

    fake.fail_next("files.completeUploadExternal", status=500)  # Slack did nothing
    slack.slash("U_ALICE", "postmortem", channel=cid)
    wait_for(lambda: len(_shared_files(fake, cid)) == 2, what="the retried draft", timeout=20)
    assert len([m for m in fake.channel(cid).messages if m.files]) == 2


def test_with_canvas_format_the_channel_canvas_holds_the_latest_draft(
    fake: FakeSlack, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    default = (REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8")
    policy.write_text(default.replace("postmortem_format: file", "postmortem_format: canvas"))
    server = WarroomServer(fake=fake, workdir=tmp_path / "w", policy=policy)
    server.start()
    try:
        slack = SlackDriver(server, fake)
        declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
        cid = wait_provisioned(fake, 1).id
        _resolve(slack, fake, server, cid)
        [canvas] = wait_for(
            lambda: [c for c in fake.canvases() if c.channel_id == cid], what="the canvas"
        )
        assert "INC-1" in canvas.markdown
        assert "Raised the pool to 100" in canvas.markdown
        wait_for(
            lambda: [m for m in fake.channel(cid).messages if "canvas" in m.text],
            what="the one line about it",
        )
        assert fake.files() == [] or all(cid not in f.channels for f in fake.files())

        slack.slash("U_ALICE", "note Found a second cause", channel=cid)
        slack.slash("U_ALICE", "postmortem", channel=cid)
        wait_for(
            lambda: "Found a second cause" in fake.canvases()[0].markdown,
            what="the canvas replaced by the fresh draft",
        )
        assert len([c for c in fake.canvases() if c.channel_id == cid]) == 1
        notes = wait_for(
            lambda: (
                [m for m in fake.channel(cid).messages if "canvas" in m.text]
                if len([m for m in fake.channel(cid).messages if "canvas" in m.text]) == 2
                else None
            ),
            what="a second one-line note",
        )
        assert len(notes) == 2
    finally:
        server.stop()
