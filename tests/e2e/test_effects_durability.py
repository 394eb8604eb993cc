"""A change is never stored without what Slack must be told: the effect outbox survives a
crash and is delivered once, recognised rather than repeated."""

from __future__ import annotations

from typing import Any

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import (
    declare,
    job_states,
    metadata_posts,
    panel_messages,
    wait_provisioned,
)

RECOVERY_TIMEOUT = 45  # the dead process's 15 s lease must run out first


def _update_posts(fake: FakeSlack, channel: str) -> list[str]:
    return [m.text for m in fake.channel(channel).messages if "Update #1" in m.text]


def test_killed_while_posting_a_status_update(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Payments down", "Severity": "P2"})
    channel = wait_provisioned(fake, 1)

    def is_update(args: dict[str, Any]) -> bool:
        return args.get("channel") == channel.id and "Update #1" in str(args.get("text"))

    slack.slash("U_ALICE", "update", channel=channel.id)
    view = dict(
        wait_for(
            lambda: [
                v for v in fake.views("U_ALICE") if v.payload["callback_id"] == "incident_update"
            ],
            what="the update modal",
        )[0].payload
    )
    values = fill_modal(
        view, {"Status": "Identified", "Impact": "Card payments fail", "What is being done": "Fix"}
    )
    hold = fake.hold("chat.postMessage", where=is_update)
    assert slack.view_submission("U_ALICE", view, values).status == 200
    assert hold.wait_arrived(10)
    warroom.kill()  # the update is stored; its Slack message is in flight
    hold.release()  # …and lands, but the bot never learns its ts
    wait_for(lambda: _update_posts(fake, channel.id), what="the held update", timeout=5)

    warroom.start()
    (announcement,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)

    def thread_reply() -> bool:
        replies = fake.message(fake.channel_id("incident-response"), announcement.ts).replies
        return any("Update #1" in r.text for r in replies)

    wait_for(thread_reply, what="the update in the announcement thread", timeout=RECOVERY_TIMEOUT)
    wait_for(
        lambda: "Identified" in fake.channel(channel.id).topic,
        what="the topic refresh",
        timeout=RECOVERY_TIMEOUT,
    )
    assert len(_update_posts(fake, channel.id)) == 1  # recognised, not posted again
    (panel,) = panel_messages(fake.channel(channel.id))
    assert panel.edited
    wait_for(
        lambda: set(job_states(warroom, "effect")) == {"done"},
        what="every effect delivered",
        timeout=RECOVERY_TIMEOUT,
    )
