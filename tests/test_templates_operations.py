"""Operations messages: golden Block Kit, Slack's limits, hostile text, elapsed times."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows.cards import (
    IncidentCard,
    ListedIncident,
    RenderedMessage,
    RoleLine,
    StatusSummary,
    UpdateCard,
)
from bot.templates.incident import IncidentTemplates
from bot.templates.operations import (
    NO_INCIDENTS,
    TAKE_ROLE_ACTION,
    acknowledged_message,
    audience_notice,
    closed_message,
    format_elapsed,
    incident_list,
    not_in_incident_channel,
    parse_take_role_value,
    refusal,
    reopened_message,
    resolution_message,
    role_assigned_message,
    role_dm,
    severity_changed_message,
    severity_notify_message,
    status_changed_message,
    status_summary,
    status_update_message,
    status_update_share,
    take_role_value,
)
from tests.conftest import assert_golden
from tests.test_templates_incident import HOSTILE, as_json, check_message, make_card

POSTED = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
NEXT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 16, 8, tzinfo=UTC)
ACKED = datetime(2026, 11, 23, 14, 9, tzinfo=UTC)
DUE = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ARCHIVE = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

RAW_PINGS = ("<!channel>", "<!here>", "<!everyone>", "<https://evil")


def make_update(**changes: Any) -> UpdateCard:
    values: dict[str, Any] = {
        "seq": 3,
        "status": "identified",
        "impact": "Card payments fail for about 40% of customers.\nPayPal still works.",
        "actions": "Rolling back the 13:45 deploy of payments-api.",
        "next_update_at": NEXT,
        "author": "U_ALICE",
        "posted_at": POSTED,
    }
    values.update(changes)
    return UpdateCard(**values)


def make_summary(**changes: Any) -> StatusSummary:
    values: dict[str, Any] = {
        "card": make_card(),
        "age": timedelta(hours=2, minutes=18),
        "last_update": make_update(),
        "next_update_due_at": NEXT,
        "open_action_items": ("Add an alert on card error rate", "Pin payments-api version"),
        "acknowledged_by": "U_ALICE",
        "acknowledged_at": ACKED,
    }
    values.update(changes)
    return StatusSummary(**values)


def listed(number: int = 42, **changes: Any) -> ListedIncident:
    values: dict[str, Any] = {
        "number": number,
        "title": "Checkout API returns 500 for all card payments",
        "severity_id": "P1",
        "severity_name": "Critical",
        "status": "investigating",
        "channel_id": f"C0INC{number}",
        "private": False,
        "commander": "U_ALICE",
        "declared_at": NOW - timedelta(hours=2, minutes=3),
    }
    values.update(changes)
    return ListedIncident(**values)


def strings(node: Any) -> Iterator[str]:
    """Every string anywhere in a rendered structure (keys' values, not keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from strings(item)


def plain_texts(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from plain_texts(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from plain_texts(item)


def check_ops_message(message: RenderedMessage) -> None:
    """The incident templates' checks, plus: no raw ping or link in any string at all."""
    check_message(message)
    for text in strings(as_json(message)):
        for raw in RAW_PINGS:
            assert raw not in text, text[:200]
    for text in plain_texts(list(message.blocks)):
        assert "<" not in text
        assert ">" not in text


def section_texts(message: RenderedMessage) -> list[str]:
    out = []
    for block in message.blocks:
        text = block.get("text")
        if isinstance(text, Mapping):
            out.append(text["text"])
    return out


def accessories(message: RenderedMessage) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in message.blocks:
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            found.append(dict(accessory))
    return found


def everything(card: IncidentCard, update: UpdateCard, *, word: str) -> list[RenderedMessage]:
    """Every message builder, fed `word` wherever a person or a policy supplies text."""
    summary = make_summary(
        card=card,
        last_update=update,
        open_action_items=(word,) * 30,
        acknowledged_by=word,
    )
    incidents = [
        listed(1, title=word, severity_id=word, status=word, channel_id=word, commander=word),
        listed(2, title=word, private=True, commander=None, channel_id=None),
    ]
    return [
        status_update_message(card, update),
        status_update_share(card, update),
        severity_changed_message(card, old=word, new=word, by=word, upgrade=True),
        severity_changed_message(card, old=word, new=word, by="U_BOB", upgrade=False),
        severity_notify_message(card, old=word, new=word),
        resolution_message(
            card,
            summary=word,
            root_cause=word,
            duration=timedelta(0),
            postmortem_due_at=DUE,
            by=word,
        ),
        acknowledged_message(card, by=word, at=ACKED, first=True),
        acknowledged_message(card, by=word, at=ACKED, first=False),
        role_assigned_message(card, role_name=word, user=word, previous=word, by="U_BOB"),
        role_assigned_message(card, role_name=word, user=word, previous=None, by=word),
        closed_message(card, by=word, archive_at=ARCHIVE),
        reopened_message(card, by=word),
        audience_notice(card, event="following", by=word, old=word, upgrade=True),
        audience_notice(card, event="leaving", by=word, old=word),
        audience_notice(card, event="reopened", by=word),
        status_changed_message(card, old=word, new=word, by=word),
        role_dm(card, role_name=word, role_description=word, by=word),
        refusal(word),
        status_summary(summary, lead_role_id=word),
        incident_list(incidents, now=NOW),
        not_in_incident_channel(incidents, subcommand=word, now=NOW),
        not_in_incident_channel([], subcommand=word),
    ]


def test_every_time_shown_in_slack_is_a_date_token() -> None:
    """Each reader sees times in their own zone: in blocks a time appears only inside a
    `<!date^…|fallback>` token, never as words like "17:09 UTC"."""
    card = make_card(
        next_update_due_at=DUE,
        acknowledged_by="U_BOB",
        acknowledged_at=ACKED,
        last_update_impact="Slow",
        last_update_at=ACKED,
        update_count=2,
    )
    update = make_update(actions="Rolling back")  # no times typed by people
    cards = [IncidentTemplates().panel(card), IncidentTemplates().announcement(card)]
    for message in [*everything(card, update, word="words"), *cards]:
        blocks = json.dumps(message.blocks)
        outside_tokens = re.sub(r"<!date\^[^>]*>", "", blocks)
        assert not re.search(r"\d{1,2}:\d{2}", outside_tokens), blocks


# -- golden ---------------------------------------------------------------------------------


def test_status_update_matches_golden() -> None:
    message = status_update_message(make_card(), make_update())
    check_ops_message(message)
    header = message.blocks[0]["text"]
    assert isinstance(header, Mapping)
    assert header["text"] == "INC-42 · Checkout API returns 500 for all card payments · Update #3"
    assert section_texts(message)[1:] == [
        "*Status:* Identified",
        "*Impact:* Card payments fail for about 40% of customers.\nPayPal still works.",
        "*What is being done:* Rolling back the 13:45 deploy of payments-api.",
        "*Next update* <!date^1795446000^{date_short_pretty} {time}|2026-11-23 15:00 UTC>",
    ]
    assert message.text.startswith(
        "INC-42 · Checkout API returns 500 for all card payments · Update #3"
    )
    assert "Identified" in message.text
    assert "Posted by <@U_ALICE>" in str(message.blocks[-1])
    assert_golden("ops_status_update", as_json(message))


def test_status_update_without_next_update_matches_golden() -> None:
    card = make_card(drill=True)
    update = make_update(seq=1, status="investigating", next_update_at=None, actions="", impact="")
    message = status_update_message(card, update)
    check_ops_message(message)
    assert "Next update" not in str(message.blocks)
    assert "*Impact:* _not given_" in section_texts(message)
    assert message.text.startswith("[DRILL] INC-42 · Checkout")
    assert_golden("ops_status_update_minimal", as_json(message))


def test_next_update_time_is_a_date_token_each_reader_sees_in_their_zone() -> None:
    plus_two = datetime(2026, 11, 23, 17, 5, tzinfo=timezone_hours(2))
    naive = datetime(2026, 11, 23, 15, 5)
    epoch = int(datetime(2026, 11, 23, 15, 5, tzinfo=UTC).timestamp())
    for moment in (plus_two, naive):
        texts = section_texts(
            status_update_message(make_card(), make_update(next_update_at=moment))
        )
        assert (
            f"*Next update* <!date^{epoch}^{{date_short_pretty}} {{time}}|2026-11-23 15:05 UTC>"
            in texts
        )


def timezone_hours(hours: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_status_update_share_matches_golden() -> None:
    message = status_update_share(make_card(), make_update())
    check_ops_message(message)
    header = message.blocks[0]["text"]
    assert isinstance(header, Mapping)
    assert header["text"] == "INC-42 · Checkout API returns 500 for all card payments · Update #3"
    body = section_texts(message)[1]
    assert body.startswith("*Status:* Identified\n*Impact:* Card payments fail")
    assert "Follow along in <#C0INC42>" in str(message.blocks[-1])
    assert "Actions" not in str(message.blocks)
    assert_golden("ops_status_update_share", as_json(message))


def test_share_without_channel_has_no_link() -> None:
    message = status_update_share(make_card(channel_id=None), make_update())
    check_ops_message(message)
    assert "Follow along" not in str(message.blocks)


def test_severity_messages_match_golden() -> None:
    card = make_card()
    up = severity_changed_message(card, old="P3", new="P1", by="U_BOB", upgrade=True)
    down = severity_changed_message(card, old="P1", new="P2", by="U_BOB", upgrade=False)
    notify = severity_notify_message(card, old="P3", new="P1")
    for message in (up, down, notify):
        check_ops_message(message)
    assert section_texts(up)[0] == (
        ":arrow_up: <@U_BOB> raised the severity of *INC-42* from *P3* to *P1*"
    )
    assert section_texts(down)[0].startswith(":arrow_down: <@U_BOB> lowered")
    assert "INC-42" in notify.text
    assert "<#C0INC42>" in notify.text
    assert "*P1*" in section_texts(notify)[0]
    assert_golden(
        "ops_severity",
        {"raised": as_json(up), "lowered": as_json(down), "notify": as_json(notify)},
    )


def test_audience_notices_match_golden() -> None:
    """What a notified channel hears in its thread: still following (with the link), leaving
    (told it hears no more but the resolution), reopened."""
    card = make_card()
    following = audience_notice(card, event="following", by="U_BOB", old="P2", upgrade=True)
    leaving = audience_notice(
        make_card(severity_id="P2", severity_name="High"),
        event="leaving",
        by="U_BOB",
        old="P1",
    )
    reopened = audience_notice(card, event="reopened", by="U_BOB")
    for message in (following, leaving, reopened):
        check_ops_message(message)
    assert "raised by <@U_BOB>" in section_texts(following)[0]
    assert "<#C0INC42>" in section_texts(following)[0]
    assert "lowered by <@U_BOB>" in section_texts(leaving)[0]
    assert "resolution will be posted here" in section_texts(leaving)[0]
    assert "reopened by <@U_BOB>" in section_texts(reopened)[0]
    assert_golden(
        "ops_audience",
        {
            "following": as_json(following),
            "leaving": as_json(leaving),
            "reopened": as_json(reopened),
        },
    )


def test_resolution_matches_golden() -> None:
    message = resolution_message(
        make_card(status="resolved"),
        summary="Rolled back payments-api to 4.12.1; card payments succeed again.",
        root_cause="A config change disabled the card processor's TLS 1.3 support.",
        duration=timedelta(hours=1, minutes=23, seconds=9),
        postmortem_due_at=DUE,
        by="U_ALICE",
    )
    check_ops_message(message)
    first = section_texts(message)[0]
    assert first == (
        ":white_check_mark: *INC-42 resolved* · Checkout API returns 500 for all card payments"
    )
    fields = str(message.blocks[0]["fields"])
    assert "1h 23m" in fields
    assert "Post-mortem due" in fields
    assert "*Root cause*" in str(message.blocks)
    assert message.text.startswith("✅ INC-42 resolved · Checkout API")
    assert_golden("ops_resolution", as_json(message))


def test_the_resolution_and_status_show_the_incidents_own_figures() -> None:
    """Time to acknowledge (from the declaration), to resolve (from the impact's start) and
    update adherence; nothing invented when they are unknown."""
    card = make_card(
        status="resolved",
        acknowledged_at=make_card().declared_at + timedelta(minutes=4),
        resolved_at=make_card().started_at + timedelta(hours=1, minutes=10),
        update_intervals=3,
        update_intervals_kept=2,
    )
    resolution = resolution_message(
        card,
        summary="Fixed",
        root_cause="",
        duration=timedelta(hours=1),
        postmortem_due_at=None,
        by="U_ALICE",
    )
    status = status_summary(make_summary(card=card))
    for message in (resolution, status):
        check_ops_message(message)
        shown = json.dumps(message.blocks, ensure_ascii=False)
        assert "Acknowledged in 4m · resolved in 1h 10m · updates on cadence 2 of 3 (66%)" in shown
    bare = status_summary(make_summary(card=make_card()))
    assert "on cadence" not in json.dumps(bare.blocks)


def test_minimal_resolution_matches_golden() -> None:
    message = resolution_message(
        make_card(status="resolved", channel_id=None, drill=True),
        summary="Fixed.",
        root_cause="  ",
        duration=timedelta(days=2, hours=3, minutes=10),
        postmortem_due_at=None,
        by="U_ALICE",
    )
    check_ops_message(message)
    assert "Root cause" not in str(message.blocks)
    assert "Post-mortem" not in str(message.blocks)
    assert "2d 3h" in str(message.blocks)
    assert section_texts(message)[0].startswith(":white_check_mark: *[DRILL] INC-42 resolved*")
    assert_golden("ops_resolution_minimal", as_json(message))


def test_notices_match_golden() -> None:
    card = make_card()
    notices = {
        "acknowledged": acknowledged_message(card, by="U_ALICE", at=ACKED, first=True),
        "also_acknowledged": acknowledged_message(card, by="U_CAROL", at=ACKED, first=False),
        "role_assigned": role_assigned_message(
            card, role_name="Technical Lead", user="U_CAROL", previous="U_DAVE", by="U_ALICE"
        ),
        "role_taken": role_assigned_message(
            card, role_name="Communications Lead", user="U_ERIN", previous=None, by="U_ERIN"
        ),
        "status_changed": status_changed_message(
            card, old="investigating", new="identified", by="U_ALICE"
        ),
        "closed": closed_message(card, by="U_ALICE", archive_at=ARCHIVE),
        "closed_no_archive": closed_message(card, by="U_ALICE", archive_at=None),
        "reopened": reopened_message(card, by="U_BOB"),
    }
    for message in notices.values():
        check_ops_message(message)
        assert len(message.blocks) == 1
    first = section_texts(notices["acknowledged"])[0]
    assert first.startswith(":eyes: <@U_ALICE> acknowledged *INC-42*")
    assert notices["acknowledged"].text.startswith("<@U_ALICE> acknowledged INC-42")
    assert "also acknowledged" in notices["also_acknowledged"].text
    assert section_texts(notices["role_assigned"])[0] == (
        ":bust_in_silhouette: <@U_ALICE> made <@U_CAROL> the *Technical Lead* of *INC-42* "
        "(was <@U_DAVE>)"
    )
    assert "<@U_ERIN> is now the *Communications Lead*" in section_texts(notices["role_taken"])[0]
    changed = section_texts(notices["status_changed"])[0]
    assert "from *Investigating* to *Identified*" in changed
    assert "archived" in notices["closed"].text
    assert "archived" not in notices["closed_no_archive"].text
    assert_golden("ops_notices", {key: as_json(value) for key, value in notices.items()})


def test_role_dm_matches_golden() -> None:
    message = role_dm(
        make_card(),
        role_name="Technical Lead",
        role_description="Leads the technical investigation.\nWho: a senior engineer.",
        by="U_ALICE",
    )
    check_ops_message(message)
    assert section_texts(message)[0] == (
        "You are now the *Technical Lead* of INC-42 · Checkout API returns 500 for all card "
        "payments in <#C0INC42>."
    )
    assert message.text.startswith("You are now the Technical Lead of INC-42 · Checkout")
    assert "Leads the technical investigation." in message.text
    assert_golden("ops_role_dm", as_json(message))


def test_role_dm_without_channel_or_description() -> None:
    message = role_dm(make_card(channel_id=None), role_name="Scribe", role_description="", by="U_A")
    check_ops_message(message)
    assert " in <#" not in message.text
    assert len(message.blocks) == 2


def test_refusal_matches_golden() -> None:
    words = "Only the Incident Commander or Technical Lead can resolve INC-42."
    message = refusal(words)
    check_ops_message(message)
    assert message.text == words
    assert section_texts(message) == [f":warning: {words}"]
    unknown = refusal("Unknown role `foo`. Roles: commander (Incident Commander), scribe (Scribe)")
    check_ops_message(unknown)
    assert "`foo`" in unknown.text
    assert_golden("ops_refusal", {"permission": as_json(message), "unknown": as_json(unknown)})


def test_refusal_escapes_everything() -> None:
    message = refusal("<!channel> <@U123> & *x*")
    check_ops_message(message)
    assert message.text == "&lt;!channel&gt; &lt;@U123&gt; &amp; *x*"
    assert refusal("  ").text == "That did not work."


def test_status_summary_matches_golden() -> None:
    message = status_summary(make_summary(), lead_role_id="commander")
    check_ops_message(message)
    fields = str(message.blocks[0]["fields"])
    for words in ("*P1* Critical", "Investigating", "2h 18m", "<@U_ALICE>", "#3"):
        assert words in fields
    roles = section_texts(message)[1]
    assert roles == (
        "*Roles*\nIncident Commander: <@U_ALICE>\nTechnical Lead: <@U_CAROL>\n"
        "Communications Lead: _unassigned_"
    )
    found = accessories(message)
    assert len(found) == 1
    assert found[0]["action_id"] == TAKE_ROLE_ACTION
    assert parse_take_role_value(found[0]["value"]) == (42, "comms")
    assert "Add an alert on card error rate" in str(message.blocks)
    assert message.text == (
        "INC-42 · Checkout API returns 500 for all card payments · P1 Critical · "
        "Investigating · open for 2h 18m"
    )
    assert_golden("ops_status_summary", as_json(message))


def test_bare_status_summary_matches_golden() -> None:
    card = make_card(commander=None, roles=(), private=True)
    summary = make_summary(
        card=card,
        age=timedelta(seconds=45),
        last_update=None,
        next_update_due_at=None,
        open_action_items=(),
        acknowledged_by=None,
        acknowledged_at=None,
    )
    message = status_summary(summary)
    check_ops_message(message)
    text = str(message.blocks)
    for words in ("not acknowledged yet", "no update yet", "no cadence", "45s", ":lock:"):
        assert words in text
    assert "Incident Commander: _unassigned_" in text
    assert all("accessory" not in b for b in message.blocks)  # no lead role id: no button
    with_lead = status_summary(summary, lead_role_id="commander")
    assert parse_take_role_value(accessories(with_lead)[0]["value"]) == (42, "commander")
    assert_golden("ops_status_summary_bare", as_json(message))


def test_status_summary_bounds_roles_and_items() -> None:
    roles = tuple(RoleLine(f"r{i}", "Role " * 30, None) for i in range(200))
    items = tuple(f"Item {i} " + "words " * 30 for i in range(120))
    message = status_summary(make_summary(card=make_card(roles=roles), open_action_items=items))
    check_ops_message(message)
    assert len([b for b in message.blocks if "accessory" in b]) == 10
    texts = section_texts(message)
    assert any(re.search(r"…and \d+ more$", t) for t in texts if t.startswith("*Roles*"))
    last_items = next(t for t in texts if t.startswith("*Open action items* (120)"))
    assert last_items.endswith("…and 110 more")
    long_items = tuple("word " * 200 for _ in range(30))
    long = status_summary(make_summary(open_action_items=long_items))
    check_ops_message(long)
    shown = next(t for t in section_texts(long) if t.startswith("*Open action items* (30)"))
    tail = re.search(r"…and (\d+) more$", shown)
    assert tail is not None
    assert shown.count("\n• ") + int(tail.group(1)) == 30


def test_incident_list_matches_golden() -> None:
    incidents = [
        listed(42),
        listed(
            43,
            title="Login slow in EU",
            severity_id="P3",
            status="monitoring",
            private=True,
            commander=None,
            declared_at=NOW - timedelta(days=2, hours=3, minutes=1),
        ),
        listed(44, channel_id=None, declared_at=NOW - timedelta(seconds=30)),
    ]
    message = incident_list(incidents, now=NOW)
    check_ops_message(message)
    lines = section_texts(message)[0].split("\n")
    assert lines == [
        "*P1* · <#C0INC42> · INC-42 · Checkout API returns 500 for all card payments · "
        "Investigating · IC <@U_ALICE> · 2h 3m",
        "*P3* · <#C0INC43> · INC-43 :lock: · Login slow in EU · Monitoring · IC unassigned · 2d 3h",
        "*P1* · _no channel yet_ · INC-44 · Checkout API returns 500 for all card payments · "
        "Investigating · IC <@U_ALICE> · 30s",
    ]
    assert message.text.startswith("3 open incidents: INC-42 P1")
    assert_golden("ops_incident_list", as_json(message))


def test_empty_incident_list_matches_golden() -> None:
    message = incident_list([], now=NOW)
    check_ops_message(message)
    assert message.text == NO_INCIDENTS == "No open incidents you can see. :tada:"
    assert_golden("ops_incident_list_empty", as_json(message))


def test_long_lists_stay_within_fifty_blocks() -> None:
    incidents = [listed(n, title="t" * 200 + "&" * 300) for n in range(1, 1001)]
    message = incident_list(incidents, now=NOW)
    check_ops_message(message)
    assert len(message.blocks) == 50
    texts = section_texts(message)
    shown = sum(t.count("\n") + 1 for t in texts) - 1
    tail = re.search(r"…and (\d+) more$", texts[-1])
    assert tail is not None
    assert shown + int(tail.group(1)) == 1000
    assert all(len(t) <= 3000 for t in texts)
    outside = not_in_incident_channel(incidents, subcommand="update")
    check_ops_message(outside)
    assert len(outside.blocks) == 50


def test_list_keeps_the_given_order() -> None:
    message = incident_list([listed(7), listed(3), listed(5)], now=NOW)
    numbers = re.findall(r"INC-(\d+)", section_texts(message)[0])
    assert numbers == ["7", "3", "5"]


def test_not_in_incident_channel_matches_golden() -> None:
    some = not_in_incident_channel([listed(42)], subcommand="update", now=NOW)
    none = not_in_incident_channel([], subcommand="resolve")
    ageless = not_in_incident_channel([listed(42)], subcommand="status")
    for message in (some, none, ageless):
        check_ops_message(message)
    assert section_texts(some)[0] == (
        "`/incident update` works in an incident's channel. Open incidents you can see:"
    )
    assert "2h 3m" in section_texts(some)[1]
    assert section_texts(ageless)[1].endswith("IC <@U_ALICE>")
    assert section_texts(none) == [
        "`/incident resolve` works in an incident's channel. No open incidents you can see. :tada:"
    ]
    assert_golden("ops_not_in_incident_channel", {"some": as_json(some), "none": as_json(none)})


def test_odd_subcommand_cannot_break_out_of_the_code_span() -> None:
    message = not_in_incident_channel([], subcommand="x` <!here> `y")
    check_ops_message(message)
    assert section_texts(message)[0].startswith("`/incident x &lt;!here&gt; y`")


def test_take_role_value_round_trip() -> None:
    assert take_role_value(42, "comms") == '{"incident":42,"role":"comms"}'
    assert parse_take_role_value(take_role_value(7, "tech_lead")) == (7, "tech_lead")
    for bad in ("", "nope", "[1]", '{"incident": true, "role": 3}', None):
        assert parse_take_role_value(bad) == (None, None)


# -- elapsed times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "words"),
    [
        (timedelta(0), "0s"),
        (timedelta(milliseconds=900), "0s"),
        (timedelta(seconds=-30), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=60), "1m"),
        (timedelta(seconds=61), "1m 1s"),
        (timedelta(minutes=59, seconds=59), "59m 59s"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, seconds=5), "1h"),
        (timedelta(hours=1, minutes=23, seconds=9), "1h 23m"),
        (timedelta(hours=2, minutes=3), "2h 3m"),
        (timedelta(days=1), "1d"),
        (timedelta(days=2, hours=3, minutes=59), "2d 3h"),
        (timedelta(days=2, minutes=5), "2d"),
        (timedelta(days=400, hours=1), "400d 1h"),
    ],
)
def test_format_elapsed(elapsed: timedelta, words: str) -> None:
    assert format_elapsed(elapsed) == words


# -- hostile text ---------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_escaped_and_bounded(hostile: str) -> None:
    card = make_card(
        title=hostile,
        severity_id=hostile,
        severity_name=hostile,
        status=hostile,
        commander=hostile,
        channel_id=hostile,
        roles=(RoleLine(hostile, hostile, None), RoleLine("x", hostile, hostile)),
    )
    update = make_update(status=hostile, impact=hostile, actions=hostile, author=hostile)
    for message in everything(card, update, word=hostile):
        check_ops_message(message)
    sane = make_card(title=hostile)
    for message in everything(sane, update, word=hostile):
        check_ops_message(message)


def test_hostile_title_keeps_the_update_number() -> None:
    message = status_update_message(make_card(title="<!channel> " * 500), make_update(seq=12))
    header = message.blocks[0]["text"]
    assert isinstance(header, Mapping)
    assert header["text"].startswith("INC-42 · ‹!channel› ")
    assert header["text"].endswith("… · Update #12")
    assert len(header["text"]) == 150


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=400), body=st.text(max_size=4000))
def test_any_unicode_renders_valid_messages(title: str, body: str) -> None:
    card = make_card(title=title)
    update = make_update(impact=body, actions=body)
    for message in everything(card, update, word=body):
        check_ops_message(message)


def test_an_unreachable_target_is_told_plainly_to_the_commander() -> None:
    from bot.templates.operations import unreachable_target_notice

    message = unreachable_target_notice(
        label="INC-42",
        target="@security",
        why="does not exist in this workspace",
        commander="U_ALICE",
    )
    check_ops_message(message)
    assert message.text.startswith(":warning: <@U_ALICE>: `@security` does not exist")
    assert "nobody from it was notified or invited" in message.text
    nobody = unreachable_target_notice(label="INC-42", target="#ops", why="x", commander=None)
    assert "<@" not in nobody.text


def test_a_drill_is_marked_in_the_list() -> None:
    message = incident_list([listed(1, drill=True), listed(2)], now=NOW)
    check_ops_message(message)
    lines = "\n".join(section_texts(message))
    assert "[DRILL] INC-1" in lines
    assert "[DRILL] INC-2" not in lines


def test_the_resolution_in_its_own_channel_does_not_link_to_itself() -> None:
    def resolution(*, in_channel: bool) -> str:
        message = resolution_message(
            make_card(),
            summary="Rolled back",
            root_cause="",
            duration=timedelta(minutes=40),
            postmortem_due_at=None,
            by="U_ALICE",
            in_channel=in_channel,
        )
        check_ops_message(message)
        return str(message.blocks)

    card = make_card()
    assert f"<#{card.channel_id}>" in resolution(in_channel=False)
    assert f"<#{card.channel_id}>" not in resolution(in_channel=True)
