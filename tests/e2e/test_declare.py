"""Declaring an incident end to end: modal → channel → responders → panel → announcement."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox.slack import FakeSlack
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import (
    db_rows,
    declare,
    incident_channels,
    job_states,
    metadata_posts,
    open_declare_form,
    panel_messages,
    provisioning,
    wait_provisioned,
)

CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
ALL_STEPS = {
    "create_channel", "set_topic", "set_purpose", "invite", "post_panel", "pin_panel",
    "announce", "notify", "tell_declarer",
}  # fmt: skip


def _labels(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def test_declare_p1_end_to_end(slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer) -> None:
    form_reply, view = open_declare_form(slack, fake, "U_ALICE")
    assert form_reply.status == 200
    assert form_reply.elapsed < 3
    # The modal is built from the policy, with the fields the brief names.
    assert _labels(view) == [
        "Title", "Severity", "Incident type", "Impact / description", "Affected services",
        "Incident commander", "Impact started at", "Options",
    ]  # fmt: skip
    guide = json.dumps(view["blocks"][:2])
    assert "P1" in guide
    assert "Critical" in guide
    assert "15m" in guide

    fake.latency = 0.1  # Slack's round trip, so concurrent calls overlap as they would
    started = time.monotonic()
    values = fill_modal(view, {"Title": "API is down", "Severity": "P1"})
    submit = slack.view_submission("U_ALICE", view, values)
    assert submit.status == 200
    assert submit.elapsed < 3
    assert submit.json["response_action"] == "update"
    assert "INC-1" in json.dumps(submit.json["view"])

    channel = wait_provisioned(fake, 1)
    assert channel.name == "inc-1-api-is-down"
    assert not channel.is_private
    assert channel.topic == "P1 · Investigating · IC <@U_ALICE>"
    assert channel.purpose == "API is down"
    # Declarer, IC and the P1 responders (@oncall: bob and carol).
    assert {"U_ALICE", "U_BOB", "U_CAROL"} <= channel.members
    (panel,) = panel_messages(channel)
    assert channel.pins == [panel.ts]
    actions = [
        element["action_id"]
        for block in panel.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert actions == [
        "incident_ack", "incident_post_update", "incident_assign_roles",
        "incident_change_severity", "incident_resolve", "incident_add_action",
    ]  # fmt: skip
    (announcement,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)
    assert f"<#{channel.id}>" in json.dumps(announcement.blocks)
    assert "INC-1" in announcement.text
    (notice,) = metadata_posts(fake.channel("leadership"), "notify", 1)
    assert "INC-1" in notice.text
    wait_for(lambda: [s for s in fake.seen_by("U_ALICE") if s.kind == "dm"], what="the DM")
    dms = [s for s in fake.seen_by("U_ALICE") if s.kind == "dm"]
    assert f"<#{channel.id}>" in dms[-1].text

    # At most three sequential Slack round trips from the submission to the pinned panel.
    waves = fake.critical_path(since=started)
    assert len(waves) <= 3, [[c.method for c in wave] for wave in waves]

    # Every step is recorded as done; the timeline tells the story, not the bookkeeping.
    wait_for(
        lambda: provisioning(warroom, 1) == dict.fromkeys(ALL_STEPS, "done"),
        what="every provisioning step to be recorded as done",
    )
    assert job_states(warroom, "provision") == ["done"]
    kinds = db_rows(warroom, "select kind, text from timeline_events where incident_number = 1")
    assert kinds[0] == ("declared", "Declared as P1")
    assert {kind for kind, _ in kinds} == {
        "declared",
        "channel_created",
        "responders_invited",
        "announced",
        "policy_problem",  # the default policy's @eng-lead and @cto are not in this workspace
    }


def test_commander_other_than_declarer_is_invited_and_in_the_topic(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    declare(
        slack,
        fake,
        "U_ALICE",
        {"Title": "Checkout errors", "Severity": "P2", "Incident commander": "U_DAVE"},
    )
    channel = wait_provisioned(fake, 1)
    assert channel.topic == "P2 · Investigating · IC <@U_DAVE>"
    assert {"U_ALICE", "U_DAVE", "U_BOB", "U_CAROL", "U_BACKUP"} <= channel.members
    # P2 has no notify channel: #leadership stays quiet.
    assert fake.channel("leadership").messages == []


def test_private_type_gets_a_private_channel_and_no_announcement(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    declaration = declare(
        slack,
        fake,
        "U_ALICE",
        {"Title": "Credential leak", "Severity": "P1", "Incident type": "security"},
    )
    assert declaration.submit_reply.status == 200
    channel = wait_provisioned(fake, 1, announced=False)
    assert channel.is_private
    assert "U_ERIN" in channel.members  # the @security responders
    wait_for(lambda: [s for s in fake.seen_by("U_ALICE") if s.kind == "dm"], what="the DM")
    assert fake.channel("incident-response").messages == []
    assert fake.channel("leadership").messages == []


def test_a_drill_invites_the_responders_when_the_policy_says_so(
    fake: FakeSlack, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    default = (REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8")
    practise = "drills: { reminders: false, invite_responders: true }"
    policy.write_text(
        default.replace("drills: { reminders: false, invite_responders: false }", practise)
    )
    server = WarroomServer(fake=fake, workdir=tmp_path / "w", policy=policy)
    server.start()
    try:
        slack = SlackDriver(server, fake)
        _form_reply, view = open_declare_form(slack, fake, "U_ALICE", "drill Failover practice")
        slack.view_submission("U_ALICE", view, fill_modal(view, {"Severity": "P1"}))
        channel = wait_provisioned(fake, 1, announced=False)
        assert {"U_ALICE", "U_BOB", "U_CAROL"} <= channel.members
    finally:
        server.stop()
    elsewhere = [
        call.args
        for call in fake.calls("chat.postMessage")
        if call.args.get("channel") not in (channel.id, "U_ALICE")
    ]
    assert "Credential leak" not in json.dumps(elsewhere)


def test_a_drill_is_announced_only_in_its_own_channel(slack: SlackDriver, fake: FakeSlack) -> None:
    _form_reply, view = open_declare_form(slack, fake, "U_ALICE", "drill Failover practice")
    assert view["title"]["text"] == "Declare drill"
    values = fill_modal(view, {"Severity": "P1"})
    assert values["title"]["title"]["value"] == "Failover practice"
    assert [o["value"] for o in values["options"]["options"]["selected_options"]] == ["drill"]
    slack.view_submission("U_ALICE", view, values)
    channel = wait_provisioned(fake, 1, announced=False)
    assert channel.topic.startswith("[DRILL] ")
    # Practice pages nobody: P1's @oncall (bob, carol) is not invited.
    assert channel.members & {"U_BOB", "U_CAROL"} == set()
    assert "U_ALICE" in channel.members
    listed = slack.slash("U_ALICE", "list", channel="general").json
    assert "[DRILL] INC-1" in str(listed)
    wait_for(lambda: [s for s in fake.seen_by("U_ALICE") if s.kind == "dm"], what="the DM")
    assert fake.channel("incident-response").messages == []
    assert fake.channel("leadership").messages == []


def test_declare_subcommand_prefills_the_title(slack: SlackDriver, fake: FakeSlack) -> None:
    _reply, view = open_declare_form(slack, fake, "U_BOB", "declare Payments failing")
    values = fill_modal(view, {"Severity": "P3"})
    assert values["title"]["title"]["value"] == "Payments failing"
    assert view["title"]["text"] == "Declare incident"


def test_message_shortcut_prefills_description_and_link(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    ts = fake.post_as_user("incident-response", "U_BOB", "Grafana: 5xx rate at 40% on api-gw")
    reply = slack.message_shortcut(
        "U_BOB", "declare_incident_from_message", channel="incident-response", message_ts=ts
    )
    assert reply.status == 200
    view = dict(wait_for(lambda: fake.views("U_BOB"), what="the modal")[0].payload)
    values = fill_modal(view, {"Title": "API gateway errors", "Severity": "P2"})
    assert values["description"]["description"]["value"] == "Grafana: 5xx rate at 40% on api-gw"
    assert "archives" in json.loads(view["private_metadata"])["source_link"]
    slack.view_submission("U_BOB", view, values)
    channel = wait_provisioned(fake, 1)
    (panel,) = panel_messages(channel)
    assert "Source message" in json.dumps(panel.blocks)


@pytest.mark.parametrize(
    ("answers", "block", "message"),
    [
        ({"Title": "   ", "Severity": "P1"}, "title", "title"),
        ({"Title": "x" * 151, "Severity": "P1"}, "title", "150"),
        ({"Title": "Future", "Severity": "P1", "Impact started at": 4102444800}, "started_at",
         "future"),
    ],
)  # fmt: skip
def test_field_errors_come_back_on_the_field_and_nothing_is_created(
    slack: SlackDriver, fake: FakeSlack, answers: dict[str, Any], block: str, message: str
) -> None:
    reply = declare(slack, fake, "U_ALICE", answers).submit_reply
    assert reply.status == 200
    assert reply.json["response_action"] == "errors"
    assert message in reply.json["errors"][block].lower()
    time.sleep(0.5)
    assert fake.calls("conversations.create") == []


HOSTILE = [
    "<!channel> API down",
    "<!here> everyone look",
    "@everyone *bold* _it_ ~x~",
    "<https://evil.example|click here> for details",
    "🔥 データベース障害 🔥",
    "עברית: השרת נפל",
]


def test_hostile_text_never_reaches_slack_unescaped(slack: SlackDriver, fake: FakeSlack) -> None:
    description = "<!channel> <!here> <https://evil.example|click> *bold* " + "x" * 5000
    for number, title in enumerate(HOSTILE, start=1):
        declare(
            slack,
            fake,
            "U_ALICE",
            {"Title": title, "Severity": "P1", "Impact / description": description},
        )
        wait_provisioned(fake, number)
    for call in fake.calls():
        if call.method in ("auth.test", "views.open", "usergroups.list"):
            continue
        sent = json.dumps(call.args, ensure_ascii=False)
        for raw in ("<!channel>", "<!here>", "<!everyone>", "<https://evil"):
            assert raw not in sent, (call.method, raw)
    for channel in incident_channels(fake):
        assert CHANNEL_NAME.match(channel.name), channel.name
    assert {c.name for c in incident_channels(fake)} >= {"inc-1-channel-api-down"}


def test_same_submission_twice_yields_one_incident(slack: SlackDriver, fake: FakeSlack) -> None:
    declaration = declare(slack, fake, "U_ALICE", {"Title": "DB failover", "Severity": "P2"})
    again = slack.view_submission("U_ALICE", declaration.view, declaration.values)
    assert again.status == 200
    assert "INC-1" in json.dumps(again.json)
    wait_provisioned(fake, 1)
    # Concurrent double click on a second form.
    _reply, view = open_declare_form(slack, fake, "U_BOB")
    values = fill_modal(view, {"Title": "Cache stampede", "Severity": "P3"})
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: slack.view_submission("U_BOB", view, values), range(4)))
    assert {r.status for r in replies} == {200}
    assert {"INC-2" in json.dumps(r.json) for r in replies} == {True}
    wait_provisioned(fake, 2)
    time.sleep(1)
    assert len(fake.calls("conversations.create")) == 2
    assert [c.name for c in incident_channels(fake)] == [
        "inc-1-db-failover",
        "inc-2-cache-stampede",
    ]


def test_concurrent_declarations_get_distinct_numbers_and_channels(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    users = ["U_ALICE", "U_BOB", "U_CAROL", "U_DAVE", "U_ERIN"]
    forms = [open_declare_form(slack, fake, user)[1] for user in users]

    def submit(index: int) -> str:
        values = fill_modal(forms[index], {"Title": "Outage", "Severity": "P2"})
        return json.dumps(slack.view_submission(users[index], forms[index], values).json)

    with ThreadPoolExecutor(5) as pool:
        acks = list(pool.map(submit, range(5)))
    numbers = sorted(int(re.search(r"INC-(\d+)", ack).group(1)) for ack in acks)  # type: ignore[union-attr]
    assert numbers == [1, 2, 3, 4, 5]
    for number in numbers:
        wait_provisioned(fake, number)
    assert sorted(c.name for c in incident_channels(fake)) == [f"inc-{n}-outage" for n in numbers]


def test_a_name_taken_by_a_foreign_channel_gets_a_suffix(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.add_channel(name="inc-1-api-down", bot_member=False, members=["U_BOB"])
    fake.add_channel(name="inc-1-api-down-2", bot_member=False, members=["U_BOB"])
    declare(slack, fake, "U_ALICE", {"Title": "API down", "Severity": "P3"})
    wait_for(
        lambda: any(c.name == "inc-1-api-down-3" and c.pins for c in fake.channels()),
        what="the suffixed channel with its panel",
    )
    ours = fake.channel("inc-1-api-down-3")
    assert "U_ALICE" in ours.members
    # The foreign channels are untouched.
    assert fake.channel("inc-1-api-down").messages == []
    assert fake.channel("inc-1-api-down").topic == ""
