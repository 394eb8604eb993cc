"""Who outside the incident channel has been told, and what they must hear next.

A channel named in a severity's or its type's `notify` (say `#leadership` for P1) hears of the
incident once, as a message of its own; after that it is kept in step under that message:
every severity change while it follows the incident (its severity or type notifies it), the
change that lowers the incident below what it follows (then nothing until it is raised back),
the resolution and a reopening. Status updates stay in the incident channel and the
announcement's thread. So a notified channel never hears of a change without having heard of
the incident, and never stays believing an over incident is still on.

Private incidents and drills have no audience. People named in `notify` are DM'd once per
severity (bot/flows/operations.py); only channels keep a thread.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.ports import PostedMessage
from bot.policy import Policy


def audience_channels(policy: Policy, *, severity: str, type_id: str | None) -> tuple[str, ...]:
    """The channel targets the incident's severity and type tell, as the policy writes them
    (the announce channel has the announcement and its thread instead)."""
    found = policy.find_severity(severity)
    kind = policy.find_incident_type(type_id) if type_id else None
    targets = (*(found.notify if found else ()), *(kind.notify if kind else ()))
    announce = policy.announce_channel
    return tuple(dict.fromkeys(str(t) for t in targets if t.kind == "channel" and t != announce))


@dataclass(frozen=True)
class AudienceShift:
    """What a severity change means for the channels: who hears of the incident for the first
    time (`fresh`: a message of its own), and, threaded under what they first heard, who still
    follows it (`following`) and who stops following it with this change (`leaving`)."""

    fresh: tuple[str, ...] = ()
    following: tuple[str, ...] = ()
    leaving: tuple[str, ...] = ()


def shift(
    policy: Policy, *, old: str, new: str, type_id: str | None, told: Collection[str]
) -> AudienceShift:
    """`told`: the channels already told of this incident (stored audiences). A channel
    follows the incident while its severity or type notifies it; one that stopped following
    (lowered below it) hears nothing more until it follows again, but hears the resolution."""
    before = audience_channels(policy, severity=old, type_id=type_id)
    after = audience_channels(policy, severity=new, type_id=type_id)
    return AudienceShift(
        fresh=tuple(t for t in after if t not in told),
        following=tuple(t for t in after if t in told),
        leaving=tuple(t for t in before if t in told and t not in after),
    )


async def record_first_news(
    sessions: async_sessionmaker[AsyncSession],
    *,
    number: int,
    posted: Mapping[str, PostedMessage],
    refused: Iterable[str] = (),
    now: datetime,
) -> None:
    """The channels' first messages, under which they hear the rest; a channel Slack refused
    has nothing to thread under, ever."""
    refused = list(refused)
    if not posted and not refused:
        return
    async with sessions() as session:
        for target, message in posted.items():
            await store.set_audience_message(
                session,
                incident_number=number,
                target=target,
                channel_id=message.channel,
                message_ts=message.ts,
                now=now,
            )
        for target in refused:
            await store.drop_audience(session, incident_number=number, target=target)
        await session.commit()
