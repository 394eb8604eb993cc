"""Statuspage end to end: `warroom serve` with the fake Slack and the fake Statuspage. The
update modal offers "Publish to status page" and a public message for public P1/P2 incidents;
the first publication creates the status page incident, the next updates it, resolving
resolves it; the panel links it; private incidents never reach the status page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.slack import FakeSlack
from tests.e2e.driver import Reply, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, panel_messages, wait_provisioned
from tests.fakestatuspage import FakeStatuspage
from tests.flows.conftest import default_policy_text

STATUSPAGE_POLICY = """
statuspage:
  severities: [P1, P2]
  components: {API: cmpapi000001, Website: cmpweb000001}
"""


@pytest.fixture
def publishing(
    fake: FakeSlack, fake_statuspage: FakeStatuspage, tmp_path: Path
) -> Iterator[WarroomServer]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_text() + STATUSPAGE_POLICY, "utf-8")
    server = WarroomServer(
        fake=fake,
        workdir=tmp_path / "publishing",
        policy=policy,
        extra_env={
            "STATUSPAGE_API_KEY": fake_statuspage.api_key,
            "STATUSPAGE_PAGE_ID": fake_statuspage.page_id,
            "STATUSPAGE_API_URL": fake_statuspage.api_url,
        },
    )
    with server.running():
        yield server


def _open(slack: SlackDriver, fake: FakeSlack, command: str, cid: str) -> dict[str, Any]:
    before = len(fake.views("U_ALICE"))
    assert slack.slash("U_ALICE", command, channel=cid).status == 200
    wait_for(lambda: len(fake.views("U_ALICE")) > before, what=f"the {command} modal")
    return dict(fake.views("U_ALICE")[0].payload)


def _labels(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["label"]["text"]: b for b in view["blocks"] if b.get("type") == "input"}


def _submit(slack: SlackDriver, view: dict[str, Any], answers: dict[str, Any]) -> Reply:
    reply = slack.view_submission("U_ALICE", view, fill_modal(view, answers))
    assert reply.status == 200, reply.text
    return reply


def _writes(fake: FakeStatuspage) -> list[str]:
    return [r.method for r in fake.requests if r.method in ("POST", "PATCH") and r.applied]


def test_updates_publish_create_update_resolve(
    publishing: WarroomServer, fake: FakeSlack, fake_statuspage: FakeStatuspage
) -> None:
    slack = SlackDriver(publishing, fake)
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P1"})
    cid = wait_provisioned(fake, 1).id

    view = _open(slack, fake, "update", cid)
    fields = _labels(view)
    publish = fields["Status page"]["element"]
    assert [o["value"] for o in publish["initial_options"]] == ["publish"]  # checked
    assert fields["Affected components"]["element"]["type"] == "checkboxes"
    # Ticked but no public message: refused on the field, nothing stored.
    reply = _submit(slack, view, {"Impact": "Checkout 500s", "What is being done": "Looking"})
    assert reply.json["response_action"] == "errors"
    assert set(reply.json["errors"]) == {"statuspage_message"}
    assert db_rows(publishing, "select count(*) from status_updates") == [(0,)]

    _submit(
        slack,
        view,
        {
            "Impact": "Checkout 500s for 30% of EU users",  # internal: never public
            "What is being done": "Rolling back deploy 4711",
            "Public message": "We are investigating errors at checkout.",
            "Affected components": ["API"],
        },
    )
    (created,) = wait_for(lambda: list(fake_statuspage.incidents.values()), what="the create")
    assert created["name"] == "Checkout failing"
    assert created["status"] == "investigating"
    assert created["incident_updates"][0]["body"] == "We are investigating errors at checkout."
    assert "4711" not in json.dumps(created)
    assert "EU users" not in json.dumps(created)
    assert fake_statuspage.components["cmpapi000001"]["status"] == "major_outage"
    wait_for(
        lambda: created["shortlink"] in json.dumps(panel_messages(fake.channel(cid))[0].blocks),
        what="the panel's status page link",
    )

    # The next update starts from the last public message.
    view = _open(slack, fake, "update", cid)
    assert (
        _labels(view)["Public message"]["element"]["initial_value"]
        == "We are investigating errors at checkout."
    )
    _submit(
        slack,
        view,
        {
            "Status": "Monitoring",
            "Impact": "Recovering",
            "What is being done": "Watching",
            "Public message": "A fix is in place; we are monitoring.",
        },
    )
    wait_for(lambda: _writes(fake_statuspage) == ["POST", "PATCH"], what="the update")

    view = _open(slack, fake, "resolve", cid)
    _submit(
        slack,
        view,
        {"Resolution summary": "Rolled back", "Public resolution message": "Checkout works."},
    )
    wait_for(
        lambda: fake_statuspage.incident(created["id"])["status"] == "resolved",
        what="the status page resolved",
    )
    assert _writes(fake_statuspage) == ["POST", "PATCH", "PATCH"]
    final = fake_statuspage.incident(created["id"])
    assert [u["status"] for u in reversed(final["incident_updates"])] == [
        "investigating",
        "monitoring",
        "resolved",
    ]
    assert fake_statuspage.components["cmpapi000001"]["status"] == "operational"
    assert fake_statuspage.violations == []


def test_private_and_minor_incidents_are_not_offered_and_never_publish(
    publishing: WarroomServer, fake: FakeSlack, fake_statuspage: FakeStatuspage
) -> None:
    slack = SlackDriver(publishing, fake)
    declare(
        slack,
        fake,
        "U_ALICE",
        {"Title": "Token leak", "Severity": "P1", "Incident type": "security"},
    )
    private = wait_provisioned(fake, 1, announced=False)
    declare(slack, fake, "U_ALICE", {"Title": "Slow search", "Severity": "P3"})
    minor = wait_provisioned(fake, 2)
    for channel in (private, minor):
        view = _open(slack, fake, "update", channel.id)
        assert "Status page" not in _labels(view)
        assert "Public message" not in _labels(view)
        _submit(slack, view, {"Impact": "Some", "What is being done": "Things"})
    # A forged submission carrying the status page fields publishes nothing either.
    view = _open(slack, fake, "update", private.id)
    values = fill_modal(view, {"Impact": "Some", "What is being done": "More"})
    values["statuspage_publish"] = {
        "statuspage_publish": {"type": "checkboxes", "selected_options": [{"value": "publish"}]}
    }
    values["statuspage_message"] = {
        "statuspage_message": {"type": "plain_text_input", "value": "Token leak details"}
    }
    assert slack.view_submission("U_ALICE", view, values).status == 200
    wait_for(
        lambda: db_rows(publishing, "select count(*) from status_updates") == [(3,)],
        what="the three updates",
    )
    view = _open(slack, fake, "resolve", private.id)
    assert "Public resolution message" not in _labels(view)
    assert fake_statuspage.requests == []
    assert db_rows(publishing, "select count(*) from status_page_posts") == [(0,)]
