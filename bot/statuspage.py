"""Atlassian Statuspage (REST v1): the job that publishes one of an incident's status page posts.

Posts go out in `seq` order: a post waits (a transient failure, retried shortly) while the one
before it is neither out nor given up. The first creates the status page incident (`POST
/pages/{page}/incidents`), the others update it (`PATCH …/incidents/{id}`).

Exactly once, though Statuspage has no idempotency key: a create carries the incident's
marker in its `metadata`, and a retried create first looks for an unresolved status page
incident with that marker (an earlier attempt may have created it before its answer was
lost); a retried update first reads the status page incident and recognises its own update as
the newest one. 429 and 5xx are retried (after Retry-After); 401, 404 and 422 are told to the
commander once, in plain words (the job runner's rule for permanent failures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.changes import enqueue_effects
from bot.flows.effects import Refresh
from bot.flows.ports import ServiceFailure
from bot.flows.publishing import statuspage_key
from bot.flows.timeline import TimelineKind
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.logs import get_logger
from bot.service_http import ServiceAnswer, call_service
from bot.settings import Settings

log = get_logger(__name__)

DEFAULT_API_URL = "https://api.statuspage.io/v1"
NAME_LIMIT = 255  # Statuspage's incident name
WAIT_FOR_EARLIER_SECONDS = 2.0
_TELL = {
    401: "Statuspage refused the API key (401); check STATUSPAGE_API_KEY",
    403: "Statuspage refused the API key for this page (403); check STATUSPAGE_API_KEY",
    404: "Statuspage does not know the page or its incident (404); check STATUSPAGE_PAGE_ID",
}


@dataclass(frozen=True)
class StatuspageSettings:
    api_key: str = ""  # empty (or no page id): publishing is not configured
    page_id: str = ""
    api_url: str = DEFAULT_API_URL

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.page_id)

    @classmethod
    def of(cls, settings: Settings) -> StatuspageSettings:
        key = settings.statuspage_api_key
        return cls(
            api_key=key.get_secret_value() if key is not None else "",
            page_id=settings.statuspage_page_id or "",
            api_url=settings.statuspage_api_url.rstrip("/"),
        )


def marker(team_id: str, number: int) -> dict[str, Any]:
    """What a created status page incident carries, to be recognised by a retry."""
    return {"warroom": {"incident": f"{team_id}-{number}"}}


class StatuspageClient:
    def __init__(self, settings: StatuspageSettings) -> None:
        self.base = f"{settings.api_url}/pages/{settings.page_id}/incidents"
        self.headers = {"Authorization": f"OAuth {settings.api_key}"}

    async def _call(self, method: str, url: str, body: Any = None) -> Any:
        answer = await call_service(
            "Statuspage", method, url, headers=self.headers, body=body, params=None
        )
        if not answer.ok:
            raise _refusal(answer)
        return answer.json()

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        found = await self._call("POST", self.base, {"incident": fields})
        return found if isinstance(found, dict) else {}

    async def update(self, incident_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        found = await self._call("PATCH", f"{self.base}/{incident_id}", {"incident": fields})
        return found if isinstance(found, dict) else {}

    async def get(self, incident_id: str) -> dict[str, Any]:
        found = await self._call("GET", f"{self.base}/{incident_id}")
        return found if isinstance(found, dict) else {}

    async def unresolved(self) -> list[dict[str, Any]]:
        found = await self._call("GET", f"{self.base}/unresolved")
        return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def _refusal(answer: ServiceAnswer) -> ServiceFailure:
    words = _TELL.get(answer.status) or (
        f"Statuspage refused the update ({answer.status}: {answer.short_text()})"
    )
    return ServiceFailure(f"statuspage_{answer.status}", words, transient=False)


def _is_ours(post: store.StatusPagePost, found: dict[str, Any]) -> bool:
    """Whether the status page incident's newest update is this post (a retry's check)."""
    updates = found.get("incident_updates")
    newest = updates[0] if isinstance(updates, list) and updates else None
    return (
        isinstance(newest, dict)
        and newest.get("status") == post.status
        and (newest.get("body") or "") == post.body
    )


class PublishStatus:
    """Kind `statuspage`: one post of one incident (`statuspage:<n>:<seq>`)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: StatuspageSettings,
        clock: Clock,
        gateway: SlackGateway,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.client = StatuspageClient(settings)
        self.gateway = gateway  # its team id is known once started (auth.test)

    def describe(self, job: JobRun) -> str:
        return "Publishing to the status page"

    async def run(self, job: JobRun) -> None:
        number = job.incident_number or 0
        seq = int(job.key.rsplit(":", 1)[-1])
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
            post = await store.get_status_page_post(session, incident_number=number, seq=seq)
            earlier = await store.get_job(session, key=statuspage_key(number, seq - 1))
        if incident is None or post is None or post.published_at is not None:
            return
        if incident.private or incident.drill:
            return  # made private since: the public page hears nothing more
        if not self.settings.configured:
            raise ServiceFailure(
                "statuspage_not_configured",
                "the update asked to publish but STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID "
                "are not both set",
                transient=False,
            )
        if earlier is not None and earlier.state in ("pending", "running"):
            raise ServiceFailure(
                "statuspage_waiting",
                "the status page's previous update has not gone out yet",
                transient=True,
                retry_after=WAIT_FOR_EARLIER_SECONDS,
            )
        fields: dict[str, Any] = {
            "status": post.status,
            "body": post.body,
            "deliver_notifications": True,
        }
        if post.components:
            fields["component_ids"] = list(post.components)
            fields["components"] = dict(post.components)
        created = incident.statuspage_incident_id is None
        if created:
            found = await self._create(job, incident, fields)
        else:
            found = await self._update(job, post, str(incident.statuspage_incident_id), fields)
        await self._record(incident, post, found, created=created)

    async def _create(
        self, job: JobRun, incident: store.Incident, fields: dict[str, Any]
    ) -> dict[str, Any]:
        tag = marker(self.gateway.team_id or "T", incident.number or 0)
        if job.retrying:
            for found in await self.client.unresolved():
                carried = found.get("metadata")
                if isinstance(carried, dict) and carried.get("warroom") == tag["warroom"]:
                    log.info("statuspage_create_recognised")
                    return found
        name = " ".join(incident.title.split())[:NAME_LIMIT] or f"INC-{incident.number}"
        return await self.client.create({"name": name, **fields, "metadata": tag})

    async def _update(
        self, job: JobRun, post: store.StatusPagePost, incident_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if job.retrying:
            found = await self.client.get(incident_id)
            if _is_ours(post, found):
                log.info("statuspage_update_recognised")
                return found
        return await self.client.update(incident_id, fields)

    async def _record(
        self,
        incident: store.Incident,
        post: store.StatusPagePost,
        found: dict[str, Any],
        *,
        created: bool,
    ) -> None:
        number = incident.number or 0
        now = self.clock.now()
        link = found.get("shortlink")
        async with self.sessions() as session:
            if created and isinstance(found.get("id"), str):
                await store.set_status_page_incident(
                    session,
                    number=number,
                    incident_id=found["id"],
                    link=link if isinstance(link, str) else None,
                )
            await store.set_status_page_post_published(
                session, incident_number=number, seq=post.seq, now=now
            )
            what = "created" if created else "updated"
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind=TimelineKind.STATUS_PAGE.value,
                at=now,
                text=f"Status page {what} ({post.status}): {post.body}",
                dedupe_key=f"{number}:statuspage:{post.seq}",
            )
            if created:  # the panel shows the status page's link
                await enqueue_effects(
                    session,
                    number=number,
                    effects=[Refresh(number)],
                    now=now,
                    keys=[f"{statuspage_key(number, post.seq)}:panel"],
                    due_at=now,
                )
            await session.commit()
        log.info("statuspage_published", seq=post.seq, status=post.status, created=created)
