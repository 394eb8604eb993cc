"""`/incident stats` end to end: the same figures `warroom report` prints from the same
database, in the reader's time zone, privately, and a bad period refused at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.report import duration_words
from sandbox.slack import FakeSlack
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import declare, opened_view, wait_provisioned


def _report(server: WarroomServer) -> dict[str, object]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{server.workdir / 'warroom.db'}",
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("WARROOM_POLICY", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--since", "30d", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    figures = json.loads(done.stdout)
    assert isinstance(figures, dict)
    return figures


def test_stats_show_the_figures_the_report_prints(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    first = wait_provisioned(fake, 1).id
    declare(
        slack, fake, "U_BOB", {"Title": "Leaked key", "Severity": "P1", "Incident type": "security"}
    )
    wait_provisioned(fake, 2, announced=False)
    slack.slash("U_BOB", "ack", channel=first)
    slack.slash("U_ALICE", "resolve", channel=first)
    view = opened_view(fake, "U_ALICE", "incident_resolve")
    slack.view_submission("U_ALICE", view, fill_modal(view, {"Resolution summary": "Fixed"}))
    wait_for(lambda: _report(warroom)["mttr_seconds"] is not None, what="the resolution stored")

    before = len(fake.calls("response_url"))
    reply = slack.slash("U_BOB", "stats 30d", channel="general")  # Bob lives in New York
    assert reply.status == 200
    answer = wait_for(lambda: fake.calls("response_url")[before:], what="the stats answer")[0].args
    assert answer["response_type"] == "ephemeral"
    shown = json.dumps(answer["blocks"])
    figures = _report(warroom)
    assert figures["incidents"] == 2
    table = next(
        b["text"]["text"] for b in answer["blocks"] if "```" in b.get("text", {}).get("text", "")
    )
    all_row = next(line for line in table.split("\n") if line.startswith("All"))
    assert all_row.split()[1] == "2"
    mtta = figures["mtta_seconds"]
    assert isinstance(mtta, dict)
    assert duration_words(mtta["median"]) in all_row
    assert "*2* incidents, 1 still open" in shown
    assert "Leaked key" not in shown  # counted, never titled
    assert "America/New_York" in shown  # the period in the reader's zone


def test_a_bad_period_is_refused_at_once(slack: SlackDriver, fake: FakeSlack) -> None:
    reply = slack.slash("U_CAROL", "stats fortnight", channel="general")
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert "is not a period" in json.dumps(reply.json)
