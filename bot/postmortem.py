"""The post-mortem draft of an incident as Markdown: loaded by the flows, rendered by the
templates. `warroom postmortem` prints it and the Slack job posts it; both call
:func:`postmortem_markdown`, so for the same `now` they produce the same bytes.

It lives beside the composition root because it needs both layers: the flows never import
templates, and templates never read the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.postmortem import load_draft
from bot.policy import Policy
from bot.templates.postmortem import render_postmortem


async def postmortem_markdown(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, number: int, *, now: datetime
) -> str | None:
    """The draft of incident `number` rendered with the policy's template (else the built-in
    one), stamped as generated at `now`; None when there is no such incident."""
    async with sessions() as session:
        draft = await load_draft(session, policy, number=number)
    if draft is None:
        return None
    return render_postmortem(draft, template=policy.templates.postmortem, generated_at=now)
