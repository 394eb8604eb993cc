"""What an incident tells the public status page (Atlassian Statuspage), decided with the
change that tells it.

An update (or the resolution) of a public, non-drill incident of a severity the policy's
`statuspage.severities` lists may carry a *public message*: it is stored as the incident's
next `StatusPagePost`, in the change's transaction, with one job (`statuspage:<n>:<seq>`)
that publishes it. The first publication creates the status page incident, later ones update
it, in `seq` order (`bot/statuspage.py` does the talking). An incident that has published
keeps its status page in step even if it is lowered below those severities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.lifecycle import Status
from bot.policy import Policy, lookup_key

STATUSPAGE_JOB = "statuspage"
OPERATIONAL = "operational"
_BY_RANK = ("major_outage", "partial_outage")  # the most severe, the next; degraded below
# warroom's statuses as Statuspage's (triage is shown as investigating: someone is looking).
PUBLIC_STATUS = {
    Status.TRIAGE.value: "investigating",
    Status.INVESTIGATING.value: "investigating",
    Status.IDENTIFIED.value: "identified",
    Status.MONITORING.value: "monitoring",
    Status.RESOLVED.value: "resolved",
}


@dataclass(frozen=True)
class PublicUpdate:
    """What to publish: the public message and the affected components (the policy's names)."""

    message: str
    components: tuple[str, ...] = ()


def statuspage_key(number: int, seq: int) -> str:
    return f"{STATUSPAGE_JOB}:{number}:{seq}"


def offers_status_page(policy: Policy, incident: store.Incident, *, published: bool) -> bool:
    """Whether this incident's updates may publish (`published`: it already has)."""
    if incident.private or incident.drill:
        return False  # never, whatever the policy says
    listed = {lookup_key(s) for s in policy.statuspage.severities}
    return published or lookup_key(incident.severity) in listed


def component_status(policy: Policy, severity_id: str) -> str:
    """How an affected component is shown for an incident of this severity."""
    wanted = {lookup_key(k): v for k, v in policy.statuspage.component_status.items()}
    if lookup_key(severity_id) in wanted:
        return wanted[lookup_key(severity_id)]
    rank = policy.rank(severity_id) if policy.find_severity(severity_id) else len(_BY_RANK)
    return _BY_RANK[rank] if rank < len(_BY_RANK) else "degraded_performance"


def component_choices(policy: Policy) -> tuple[str, ...]:
    return tuple(policy.statuspage.components)


async def publish(
    session: AsyncSession,
    *,
    policy: Policy,
    incident: store.Incident,
    status: str,
    public: PublicUpdate,
    by: str,
    now: datetime,
) -> int | None:
    """Store the publication and its job in the caller's transaction; its seq, or None when
    this incident may not publish. Resolving sets the components it affected back to
    operational."""
    number = incident.number or 0
    last = await store.last_status_page_post(session, incident_number=number)
    if not offers_status_page(policy, incident, published=last is not None):
        return None
    public_status = PUBLIC_STATUS.get(status)
    if public_status is None:
        return None
    ids = policy.statuspage.components
    still = [
        cid for cid, shown in (last.components if last else {}).items() if shown != OPERATIONAL
    ]
    affected: dict[str, str] = {}
    if public_status != "resolved":
        shown = component_status(policy, incident.severity)
        affected = {ids[name]: shown for name in public.components if name in ids}
    for component_id in still:  # no longer named (or resolved): back to normal on the page
        affected.setdefault(component_id, OPERATIONAL)
    post = await store.add_status_page_post(
        session,
        incident_number=number,
        status=public_status,
        body=public.message,
        components=affected,
        author=by,
        now=now,
    )
    await store.enqueue_job(
        session,
        key=statuspage_key(number, post.seq),
        kind=STATUSPAGE_JOB,
        incident_number=number,
        due_at=now,
        now=now,
    )
    return post.seq
