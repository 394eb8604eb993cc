"""The clock's messages: golden Block Kit, the people mentioned, buttons, hostile titles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.templates import reminders
from tests.conftest import assert_golden
from tests.test_templates_incident import HOSTILE, as_json, check_message, make_card

SNOOZE = [
    ("15m", timedelta(minutes=15)),
    ("30m", timedelta(minutes=30)),
    ("1h", timedelta(hours=1)),
]
DUE = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_update_reminder_matches_golden() -> None:
    message = reminders.update_reminder(
        make_card(),
        since=timedelta(minutes=32),
        last_update=2,
        remind=["U_ALICE", "U_CAROL"],
        snooze=SNOOZE,
    )
    check_message(message)
    assert_golden("reminder_update", as_json(message))
    assert message.text.startswith("<@U_ALICE> <@U_CAROL> ")
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[union-attr]
    assert [b["text"]["text"] for b in buttons] == [
        "Post update",
        "Snooze 15m",
        "Snooze 30m",
        "Snooze 1h",
    ]
    assert [b["value"] for b in buttons[1:]] == ["42:900", "42:1800", "42:3600"]
    assert len({b["action_id"] for b in buttons}) == len(buttons)  # unique in the block


def test_a_reminder_with_nobody_to_mention_and_no_update_yet() -> None:
    message = reminders.update_reminder(
        make_card(),
        since=timedelta(minutes=15),
        last_update=None,
        remind=[None, None],
        snooze=SNOOZE[:1],
    )
    check_message(message)
    assert message.text.startswith(":bell:")
    assert "none posted yet" in message.text


def test_snooze_values_round_trip_and_junk_is_refused() -> None:
    assert reminders.parse_snooze_value(reminders.snooze_value(42, timedelta(minutes=30))) == (
        42,
        1800,
    )
    for junk in ("", "42", "x:1", "42:-1", "1" * 20 + ":1"):
        assert reminders.parse_snooze_value(junk) == (None, None)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_titles_stay_harmless(hostile: str) -> None:
    card = make_card(title=hostile)
    for message in (
        reminders.update_reminder(
            card, since=timedelta(1), last_update=1, remind=["U_A"], snooze=SNOOZE
        ),
        reminders.superseded_reminder(card),
        reminders.snoozed_reminder(card, by="U_B", until=DUE),
        reminders.ack_overdue(card, since=timedelta(minutes=5), remind=["U_A"]),
        reminders.escalation_notice(card, step=2),
        reminders.roles_nudge(card, lead_role="Incident Commander", lead_role_id="commander"),
        reminders.postmortem_reminder(card, due_at=DUE, now=DUE - timedelta(hours=1)),
        reminders.stale_nudge(card, open_for=timedelta(days=8), remind=["U_A"]),
        reminders.action_item_due(
            number=42, title=hostile, text=hostile, due_on="2026-11-25", overdue=True
        ),
    ):
        check_message(message)


def test_escalation_in_the_channel_mentions_the_groups_paged() -> None:
    message = reminders.escalated_in_channel(
        make_card(), step=2, mentions=["<!subteam^S0ONCALL>", "<@U0ESC>"]
    )
    assert "<!subteam^S0ONCALL> <@U0ESC>" in message.text
    assert "step 2" in message.text


def test_post_mortem_reminder_says_due_or_overdue() -> None:
    before = reminders.postmortem_reminder(make_card(), due_at=DUE, now=DUE - timedelta(hours=2))
    after = reminders.postmortem_reminder(make_card(), due_at=DUE, now=DUE + timedelta(hours=2))
    assert "is due" in before.text
    assert "was due" in after.text
    assert "/incident postmortem done" in json.dumps(as_json(after))
