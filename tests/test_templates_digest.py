"""The digest message: public titles escaped with channel links, private ones only counted,
long lists bounded, valid Block Kit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block

import store
from bot.templates.digest import digest_message
from tests.conftest import assert_golden

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _incident(number: int, **fields: object) -> store.Incident:
    values: dict[str, object] = {
        "number": number,
        "title": f"Incident {number}",
        "severity": "P2",
        "status": "investigating",
        "declared_by": "U_ALICE",
        "declared_at": NOW - timedelta(days=2),
        "channel_id": f"C{number:04d}",
        "updated_at": NOW,
    }
    return store.Incident(**(values | fields))


def _metrics(count: int, private: int) -> store.IncidentMetrics:
    overall = store.SeverityMetrics(
        count=count,
        spreads={"tta": store.Spread(2, 300, 300, 500), "ttr": store.Spread(1, 3600, 3600, 3600)},
        update_intervals=4,
        updates_on_time=3,
    )
    return store.IncidentMetrics(
        since=NOW - timedelta(days=7),
        until=NOW,
        overall=overall,
        by_severity={"P2": overall},
        by_type={"": count},
        open_count=1,
        private_count=private,
        postmortems_due=0,
        postmortems_on_time=0,
        actions_open=0,
        actions_done=0,
        actions_overdue=0,
    )


def test_digest_matches_golden_and_keeps_private_incidents_to_a_count() -> None:
    public = _incident(1, title="Checkout <!channel> down")
    secret = _incident(2, title="Leaked key", private=True, channel_id="CSECRET")
    overdue = _incident(3, status="resolved", postmortem_due_at=NOW - timedelta(days=1))
    item = store.ActionItem(
        id=1, incident_number=3, text="Add alerts", owner="U_BOB", created_at=NOW,
        due_at=NOW - timedelta(days=1),
    )  # fmt: skip
    hidden = store.ActionItem(
        id=2, incident_number=2, text="Rotate every key", owner="U_BOB", created_at=NOW
    )
    lists = store.DigestLists(
        declared=[public, secret],
        still_open=[public, secret],
        overdue_postmortems=[overdue],
        overdue_actions=[(item, overdue), (hidden, secret)],
        declared_total=2,
        still_open_total=2,
    )
    message = digest_message(
        _metrics(2, 1),
        _metrics(4, 0),
        lists,
        period_name="Mon 2026-11-23 to Mon 2026-11-30",
        now=NOW,
    )
    for raw in message.blocks:
        block = Block.parse(dict(raw))
        assert block is not None
        block.validate_json()
    body = json.dumps(message.blocks)
    assert "Checkout &lt;!channel&gt; down" in body
    assert "<#C0001>" in body
    for secret_text in ("Leaked key", "CSECRET", "Rotate every key"):
        assert secret_text not in body
    assert "and 1 private" in body
    assert "Add alerts" in body
    assert "MTTA (median) 5m (was 5m)" in body
    assert_golden("digest", {"text": message.text, "blocks": list(message.blocks)})


def test_long_lists_stay_within_slacks_limits() -> None:
    many = [_incident(n, title="x" * 200) for n in range(1, 60)]
    lists = store.DigestLists(
        declared=many, still_open=many, overdue_postmortems=[], overdue_actions=[],
        declared_total=500, still_open_total=59,
    )  # fmt: skip
    message = digest_message(_metrics(500, 0), _metrics(0, 0), lists, period_name="w", now=NOW)
    for raw in message.blocks:
        text = raw.get("text")
        if isinstance(text, dict):
            assert len(str(text["text"])) <= 3000
    assert "more" in json.dumps(message.blocks)
