"""Putting people's Slack messages on the timeline: 📌 reactions, pins, "Add to timeline".

Each reason a message is on the timeline is a hold; the first hold schedules a `capture` job
that reads the message from Slack (after the ack) and records it with the message's own time
and author. More holds on the same message add nothing; the entry goes with its last hold.
Everything here reads and writes the database only: nothing calls Slack before the ack.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import store
from bot.flows.changes import IncidentFlow
from bot.jobs import REQUEST_GRACE

CAPTURE_JOB = "capture"
PIN_HOLDER = "pin"
SHORTCUT_HOLDER = "shortcut"
# Slack's longest message is 40 000 characters; the timeline keeps enough to read the point.
CAPTURED_TEXT_LIMIT = 4000


@dataclass(frozen=True)
class CapturedSource:
    """What the event or shortcut already told about the message; `text` None means the
    capture job reads it from Slack (a reaction event carries no text)."""

    channel: str
    ts: str
    thread_ts: str | None = None
    user: str | None = None
    text: str | None = None
    permalink: str | None = None

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, payload: str) -> CapturedSource:
        raw = json.loads(payload)
        if not isinstance(raw, dict) or not raw.get("channel") or not raw.get("ts"):
            raise ValueError("not a captured message")

        def text(name: str) -> str | None:
            value = raw.get(name)
            return str(value) if value is not None else None

        return cls(
            channel=str(raw["channel"]),
            ts=str(raw["ts"]),
            thread_ts=text("thread_ts"),
            user=text("user"),
            text=text("text"),
            permalink=text("permalink"),
        )


def capture_key(number: int, ts: str) -> str:
    return f"{CAPTURE_JOB}:{number}:{ts}"


def message_time(ts: str) -> datetime | None:
    """A Slack ts (`1764512345.000200`) is the message's own time in epoch seconds."""
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


class TimelineCapture(IncidentFlow):
    async def hold(self, number: int, *, source: CapturedSource, holder: str) -> str | None:
        """One more reason for the message to be on the timeline. Returns the capture job to
        run now, or None when the message is already there (or the ts is no message's)."""
        if message_time(source.ts) is None:
            return None
        now = self.clock.now()
        async with self.sessions() as session:
            await store.add_timeline_hold(
                session, incident_number=number, message_ts=source.ts, holder=holder, now=now
            )
            if await store.captured_message(session, incident_number=number, message_ts=source.ts):
                await session.commit()
                return None
            key = capture_key(number, source.ts)
            # A message captured, released and captured again runs the same job once more.
            await store.reschedule_job(
                session,
                key=key,
                kind=CAPTURE_JOB,
                incident_number=number,
                due_at=now + REQUEST_GRACE,
                now=now,
                payload=source.encode(),
            )
            await session.commit()
        return key

    async def release(self, number: int, *, ts: str, holder: str) -> bool:
        """One reason fewer; True when that was the last and the entry went."""
        async with self.sessions() as session:
            removed = await store.release_timeline_hold(
                session, incident_number=number, message_ts=ts, holder=holder
            )
            await session.commit()
        return removed

    async def record(
        self, number: int, *, source: CapturedSource, text: str, author: str | None
    ) -> bool:
        """The capture job's write, once it knows the text: stamped with the message's time."""
        at = message_time(source.ts)
        if at is None:
            return False
        async with self.sessions() as session:
            event = await store.add_captured_message(
                session,
                incident_number=number,
                message_ts=source.ts,
                at=at,
                actor=author,
                text=text[:CAPTURED_TEXT_LIMIT],
                permalink=source.permalink,
                now=self.clock.now(),
            )
            await session.commit()
        return event is not None
