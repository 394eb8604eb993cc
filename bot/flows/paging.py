"""When an incident pages PagerDuty, and the exactly-once jobs that do it.

A severity (or an escalation step) whose `notify` names `pagerduty` pages the incident: a
`trigger` when the incident is declared at (or raised to) that severity, or when that step
fires; `acknowledge` when it is acknowledged in Slack and `resolve` when it is resolved — the
last two only if it was paged. Each is one job keyed `page:<n>:<action>`: stored with the
change that causes it, run once (a retried send carries the same `dedup_key`, which PagerDuty
itself de-duplicates). Nothing here talks to PagerDuty: `bot/pagerduty.py` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.policy import Policy

PAGE_JOB = "page"
PageAction = Literal["trigger", "acknowledge", "resolve"]


def page_key(number: int, action: PageAction) -> str:
    return f"{PAGE_JOB}:{number}:{action}"


def severity_pages(policy: Policy, severity_id: str) -> bool:
    found = policy.find_severity(severity_id)
    return found is not None and found.pages


async def page(session: AsyncSession, *, number: int, action: PageAction, now: datetime) -> bool:
    """Store the page in the caller's transaction (once per incident and action); acknowledge
    and resolve only follow a trigger. Returns whether a job was stored."""
    if action != "trigger":
        trigger = await store.get_job(session, key=page_key(number, "trigger"))
        if trigger is None:
            return False
    return await store.enqueue_job(
        session,
        key=page_key(number, action),
        kind=PAGE_JOB,
        incident_number=number,
        due_at=now,
        now=now,
    )
