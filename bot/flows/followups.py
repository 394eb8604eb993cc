"""What an incident leaves behind: notes and corrections on its timeline, action items,
and the post-mortem (a fresh draft on request, the final document's link).

Same shape as every operation (see operations.py): load → who may → write with the timeline
in one transaction → effects for Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.alarms import ACTION_DUE_JOB, action_due_key, first_wake
from bot.flows.cards import ActionItemView
from bot.flows.changes import IncidentFlow, label
from bot.flows.effects import ActionItemAdded, Effect, PostmortemRequested, Refresh
from bot.flows.permissions import Refused
from bot.flows.timeline import TimelineKind

NOTE_LIMIT: Final = 3000
ACTION_TEXT_LIMIT: Final = 500
LINK_LIMIT: Final = 2000
# The improvement categories and the impact × effort priorities of the seed procedures.
CATEGORIES: Final = ("detection", "response", "recovery", "prevention")
PRIORITIES: Final = {
    1: "Immediate (high impact, low effort)",
    2: "Planned project (high impact, high effort)",
    3: "Quick win (low impact, low effort)",
    4: "Consider an alternative (low impact, high effort)",
}
# A backfilled time may be a little ahead of the server's clock (the user's clock runs fast).
CLOCK_SLACK: Final = timedelta(minutes=2)


@dataclass(frozen=True)
class ActionRequest:
    text: str
    owner: str | None = None
    due_on: date | None = None
    category: str | None = None
    priority: int | None = None


class Followups(IncidentFlow):
    # -- notes and corrections -----------------------------------------------------------------
    async def add_note(
        self, number: int, *, by: str, text: str, at: datetime | None = None, key: str | None = None
    ) -> bool:
        """A note by its author, at `at` (a backfilled time) or now. With `key` (a modal
        submission), a repeated submission adds nothing; returns whether it was added."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "note")
        text = text.strip()
        if not text:
            raise Refused("A note needs some text: `/incident note <what happened>`.")
        if len(text) > NOTE_LIMIT:
            raise Refused(f"That note is {len(text)} characters; keep it under {NOTE_LIMIT}.")
        now = self.clock.now()
        when = self._past(at, now) if at is not None else now
        async with self.sessions() as session:
            event = await store.add_timeline_event(
                session,
                incident_number=number,
                kind=TimelineKind.NOTE.value,
                at=when,
                actor=by,
                text=text,
                dedupe_key=f"{number}:note:{key}" if key else None,
            )
            await session.commit()
        return event is not None

    async def delete_entry(self, number: int, *, by: str, event_id: int) -> store.TimelineEvent:
        incident = await self.incident(number)
        await self.authorize(incident, by, "timeline")
        async with self.sessions() as session:
            deleted = await store.delete_timeline_event(
                session, incident_number=number, event_id=event_id
            )
            await session.commit()
        if deleted is None:
            raise Refused(f"That entry is no longer on the timeline of {label(number)}.")
        return deleted

    async def retime_entry(
        self, number: int, *, by: str, event_id: int, at: datetime
    ) -> store.TimelineEvent:
        """Correct when something happened, e.g. "impact started at 13:52"."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "timeline")
        now = self.clock.now()
        async with self.sessions() as session:
            event = await store.set_timeline_event_time(
                session, incident_number=number, event_id=event_id, at=self._past(at, now), now=now
            )
            await session.commit()
        if event is None:
            raise Refused(f"That entry is no longer on the timeline of {label(number)}.")
        return event

    @staticmethod
    def _past(at: datetime, now: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("times are aware UTC inside")
        if at > now + CLOCK_SLACK:
            raise Refused("That time is in the future; the timeline records what happened.")
        return at.astimezone(UTC)

    # -- action items --------------------------------------------------------------------------
    async def add_action(
        self, number: int, *, by: str, request: ActionRequest, key: str | None = None
    ) -> tuple[ActionItemView | None, list[Effect]]:
        """Store the item once (per submission `key`), note it on the timeline, tell the
        owner. Bad input is refused before anything is stored. Returns the item (None for a
        repeated submission) and the effects to deliver."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "action")
        now = self.clock.now()
        text = " ".join(request.text.split())
        self.check_action(request, today=now.date())
        async with self.sessions() as session:
            if key is not None and not await store.claim_idempotency_key(
                session, key=key, now=now, incident_number=number
            ):
                return None, []
            item = await store.add_action_item(
                session,
                incident_number=number,
                text=text,
                now=now,
                owner=request.owner,
                due_at=_midnight(request.due_on),
                created_by=by,
                category=request.category,
                priority=request.priority,
            )
            await self._event(session, number, TimelineKind.ACTION_ITEM, f"Action item: {text}", by)
            if item.id is None:
                raise RuntimeError("a stored action item has an id")
            if request.due_on is not None and request.owner is not None:
                await store.reschedule_job(
                    session,
                    key=action_due_key(item.id),
                    kind=ACTION_DUE_JOB,
                    incident_number=number,
                    due_at=max(first_wake(request.due_on), now),
                    now=now,
                    payload=str(item.id),
                )
            effects: list[Effect] = [
                ActionItemAdded(number, item_id=item.id, owner=request.owner, by=by),
                Refresh(number),
            ]
            queued = await self._enqueue(session, number, effects)
            await session.commit()
        return action_view(item, title=None), queued

    @staticmethod
    def check_action(request: ActionRequest, *, today: date) -> None:
        text = " ".join(request.text.split())
        if not text:
            raise Refused(
                "An action item needs a description: "
                "`/incident action <what to do> [@owner] [due:YYYY-MM-DD]`."
            )
        if len(text) > ACTION_TEXT_LIMIT:
            raise Refused(
                f"That action item is {len(text)} characters; keep it under {ACTION_TEXT_LIMIT} "
                "(details belong in the post-mortem)."
            )
        if request.due_on is not None and request.due_on < today:
            raise Refused(
                f"The due date {request.due_on.isoformat()} is in the past; "
                f"pick {today.isoformat()} or later."
            )
        if request.category is not None and request.category not in CATEGORIES:
            raise Refused(
                f"Unknown category `{request.category}`. Use one of: {', '.join(CATEGORIES)}."
            )
        if request.priority is not None and request.priority not in PRIORITIES:
            raise Refused("Priority is 1 (immediate) to 4 (consider an alternative).")

    async def set_action_done(
        self, item_id: int, *, by: str, done: bool = True
    ) -> tuple[store.ActionItem, list[Effect]]:
        """Its owner, or whoever may correct the record (commander, scribe), closes an item
        or reopens it. A second click changes nothing."""
        async with self.sessions() as session:
            item = await store.get_action_item(session, item_id=item_id)
        if item is None:
            raise Refused("That action item no longer exists.")
        number = item.incident_number
        if item.owner != by:
            await self.authorize(await self.incident(number), by, "timeline")
        now = self.clock.now()
        async with self.sessions() as session:
            changed = await store.set_action_item_done(
                session, item_id=item_id, now=now, done=done, by=by
            )
            if changed is None:
                await session.rollback()
                return item, []
            if not done and changed.due_at is not None and changed.owner is not None:
                # Reopened: its owner is reminded again from its due date on.
                await store.reschedule_job(
                    session,
                    key=action_due_key(item_id),
                    kind=ACTION_DUE_JOB,
                    incident_number=number,
                    due_at=max(first_wake(changed.due_at.date()), now),
                    now=now,
                    payload=str(item_id),
                )
            kind = TimelineKind.ACTION_ITEM_DONE if done else TimelineKind.ACTION_ITEM_REOPENED
            verb = "Done" if done else "Reopened"
            await self._event(session, number, kind, f"{verb}: {changed.text}", by)
            queued = await self._enqueue(session, number, [Refresh(number)])
            await session.commit()
        return changed, queued

    # -- post-mortem ---------------------------------------------------------------------------
    async def request_postmortem(self, number: int, *, by: str) -> list[Effect]:
        """A fresh draft, posted as a new version (a file with a one-line message); at most
        one a minute per incident, so impatient repeats never flood the channel."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "note")
        now = self.clock.now()
        async with self.sessions() as session:
            minute = now.strftime("%Y%m%d%H%M")
            if not await store.claim_idempotency_key(
                session, key=f"{number}:postmortem:{minute}", now=now, incident_number=number
            ):
                raise Refused(
                    f"A fresh draft of {label(number)} is on its way already; "
                    "ask again in a minute for a newer one."
                )
            queued = await self._enqueue(
                session, number, [PostmortemRequested(number, by=by, reason="requested")]
            )
            await session.commit()
        return queued

    async def postmortem_done(self, number: int, *, by: str, link: str) -> list[Effect]:
        """Record the final document: shown on the panel; post-mortem reminders stop."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "note")
        link = link.strip()
        if not link.startswith(("https://", "http://")) or len(link) > LINK_LIMIT:
            raise Refused(
                "Give the link of the final post-mortem: `/incident postmortem done https://…`."
            )
        now = self.clock.now()

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            if current.postmortem_link == link:
                return None
            return {"postmortem_link": link, "postmortem_done_at": now}

        async def record(session: AsyncSession, _b: store.Incident, _a: store.Incident) -> None:
            text = f"Post-mortem written: {link}"
            await self._event(session, number, TimelineKind.POSTMORTEM_DONE, text, by)

        def effects(_b: store.Incident, _a: store.Incident) -> list[Effect]:
            return [Refresh(number)]

        changed = await self._change(number, decide, record, effects)
        return changed.effects if changed is not None else []


def action_view(item: store.ActionItem, *, title: str | None) -> ActionItemView:
    """How lists and DMs show an item; `title` None where the reader must not see it."""
    return ActionItemView(
        id=item.id or 0,
        number=item.incident_number,
        text=item.text,
        owner=item.owner,
        due_on=item.due_at.date() if item.due_at else None,
        done=item.done,
        category=item.category,
        priority=item.priority,
        incident_title=title,
    )


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day is not None else None
