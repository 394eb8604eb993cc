"""The one durable job runner: provisioning, effects, archiving, membership refreshes and,
later, reminders, escalations and digests are all jobs (`store.Job`).

One rule for every kind:

* A job is claimed with a lease (one conditional UPDATE: exactly one worker across replicas),
  the lease is renewed by a heartbeat while it runs, and a crashed worker's job becomes due
  again when its lease runs out.
* A transient failure (HTTP 429 with Retry-After, 5xx, timeouts, `fatal_error`, an
  unreachable Slack) is retried: after Retry-After when Slack gave one, else with exponential
  backoff, until `MAX_ATTEMPTS`, then given up.
* A permanent failure (Slack refused: `missing_scope`, `channel_not_found`, …; or a bug) is
  given up at once.
* Giving up is recorded on the job (`failed`, with the reason), on the incident's timeline, and
  told to a human once, in plain words: a `notice` job posts in the incident channel, or DMs
  the declarer when the channel cannot be used.
* Ticks read only due rows (`store.due_jobs`: `due_at <= now` on its index) and run them with
  bounded concurrency, so a long wait on one incident's job never stalls the others.

A handler recognises what an earlier attempt did: `JobRun.retrying` says that an attempt may
have reached Slack without us seeing the answer, and `JobRun.progress` (saved with
`remember`) says what it finished.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.ports import ServiceFailure, SlackFailure
from bot.flows.timeline import NOTICE, TimelineKind
from bot.logs import get_logger

log = get_logger(__name__)

LEASE = timedelta(seconds=15)
HEARTBEAT_SECONDS = 5.0
# A job enqueued by a request is run by that request right after its ack; ticks leave it alone
# this long, and take it over only if that request died.
REQUEST_GRACE = timedelta(seconds=10)
MAX_ATTEMPTS = 20  # with the backoff below: about an hour of Slack trouble
MAX_BACKOFF = timedelta(minutes=5)
TICK_BATCH = 100
CONCURRENCY = 16


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 5 minutes."""
    return min(timedelta(seconds=2 ** max(attempts, 1)), MAX_BACKOFF)


@dataclass(frozen=True)
class Failure:
    """Why an attempt failed, classified once for every kind of job."""

    error: str  # Slack's code or the exception's name, for operators
    words: str  # for people: "Slack is rate-limiting", "Slack refused it (not_in_channel)"
    transient: bool
    retry_after: float | None = None
    slack: bool = True  # False: another service (PagerDuty, Statuspage) failed

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        if isinstance(exc, SlackFailure):
            return cls(exc.error, exc.plain_words(), exc.transient, exc.retry_after)
        if isinstance(exc, ServiceFailure):
            return cls(exc.error, exc.words, exc.transient, exc.retry_after, slack=False)
        if isinstance(exc, TimeoutError | ConnectionError):
            return cls(type(exc).__name__, "Slack did not answer in time", True)
        return cls(type(exc).__name__, "warroom hit an internal error (it has been logged)", False)


@dataclass
class JobRun:
    """One attempt at one job, as its handler sees it."""

    id: int
    key: str
    kind: str
    incident_number: int | None
    attempts: int
    payload: str | None
    progress: dict[str, Any]
    _save: Callable[[JobRun], Awaitable[None]] = field(repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    again_at: datetime | None = None

    @property
    def retrying(self) -> bool:
        """An earlier attempt may have reached Slack even though we never saw its answer."""
        return self.attempts > 1

    def done(self, mark: str) -> bool:
        return bool(self.progress.get("done", {}).get(mark))

    async def remember(self, mark: str, value: Any = True) -> None:
        """Record that `mark` is done (with a value, e.g. a message ts), durably, at once."""
        async with self._lock:  # a job's parts may run concurrently; writes stay whole
            self.progress.setdefault("done", {})[mark] = value
            await self._save(self)

    async def forget(self, mark: str) -> None:
        async with self._lock:
            if self.progress.get("done", {}).pop(mark, None) is not None:
                await self._save(self)

    def recalled(self, mark: str) -> Any:
        return self.progress.get("done", {}).get(mark)

    def repeat_at(self, due_at: datetime) -> None:
        """Run this job again at `due_at` once this run succeeds (a periodic job), afresh."""
        self.again_at = due_at


class JobHandler(Protocol):
    async def run(self, job: JobRun) -> None: ...

    def describe(self, job: JobRun) -> str:
        """What the job was for, for a person: "Archiving the incident channel"."""
        ...


class Notices(Protocol):
    """Tells a human about a job that was given up (the `notice` job kind implements it)."""

    def notice_payload(self, job: JobRun, failure: Failure, what: str) -> str | None: ...


class JobRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        lease: timedelta = LEASE,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.lease = lease
        self._handlers: dict[str, JobHandler] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._notices: Notices | None = None

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} is registered twice")
        self._handlers[kind] = handler

    def tell_humans_with(self, notices: Notices) -> None:
        self._notices = notices

    # -- running ----------------------------------------------------------------------------
    async def run_now(self, keys: Sequence[str]) -> None:
        """Run these jobs now, in order (a request's own jobs, right after its ack). A job
        somebody else holds, or that is already done, is skipped."""
        for key in keys:
            await self._run(key, early=True)

    async def tick(self, *, wait: bool = True) -> int:
        """Start every due job (oldest first, at most `CONCURRENCY` at a time); returns how many
        were due. The scheduler does not `wait`: a job waiting out a rate limit must not hold
        back the next tick and the jobs that fall due meanwhile."""
        async with self.sessions() as session:
            due = await store.due_jobs(session, now=self.clock.now(), limit=TICK_BATCH)
        for job in due:
            if job.key not in self._running:  # already waiting for a slot in this process
                self._running[job.key] = asyncio.create_task(self._slot(job.key))
        if wait:
            await self.drain()
        return len(due)

    async def drain(self) -> None:
        """Wait for the jobs this process started (tests; an orderly shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def stop(self, *, grace: float = 5.0) -> None:
        """Shutting down: let running jobs finish for `grace` seconds, then cancel them. Their
        leases run out and another replica (or the next start) takes them over."""
        if not self._running:
            return
        _done, pending = await asyncio.wait(list(self._running.values()), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _slot(self, key: str) -> None:
        try:
            async with self._slots:
                await self._run(key, early=False)
        finally:
            self._running.pop(key, None)

    async def _run(self, key: str, *, early: bool) -> None:
        now = self.clock.now()
        async with self.sessions() as session:
            claimed = await store.claim_job(
                session, key=key, now=now, lease=self.lease, early=early
            )
            await session.commit()
        if claimed is None or claimed.id is None:
            return  # done already, or somebody else holds it
        run = JobRun(
            id=claimed.id,
            key=claimed.key,
            kind=claimed.kind,
            incident_number=claimed.incident_number,
            attempts=claimed.attempts,
            payload=claimed.payload,
            progress={},
            _save=self._save_progress,
        )
        with structlog.contextvars.bound_contextvars(
            job=claimed.key, incident=claimed.incident_number
        ):
            await self._attempt(run, claimed.progress)

    async def _attempt(self, run: JobRun, progress: str | None) -> None:
        handler = self._handlers.get(run.kind)
        try:
            run.progress = json.loads(progress) if progress else {}
            if handler is None:
                raise LookupError(f"no handler for job kind {run.kind!r}")
        except Exception as error:
            # Unreadable row: fail it and move on; it must not block the jobs behind it.
            log.error("job_unreadable", kind=run.kind, error=repr(error))
            await self._settle(run, store.fail_job, attempts=None, error=repr(error)[:500])
            return
        heartbeat = asyncio.create_task(self._heartbeat(run))
        try:
            await handler.run(run)
        except Exception as error:
            failure = Failure.of(error)
            if not failure.transient:
                log.error("job_failed", kind=run.kind, error=failure.error, exc_info=error)
            await self._failed(run, handler, failure)
            return
        finally:
            heartbeat.cancel()
        if run.again_at is not None:
            await self._settle(run, store.repeat_job, due_at=run.again_at)
        else:
            await self._settle(run, store.finish_job)
        log.info("job_done", kind=run.kind, attempts=run.attempts)

    async def _failed(self, run: JobRun, handler: JobHandler, failure: Failure) -> None:
        now = self.clock.now()
        error = (
            failure.words
            if failure.error in failure.words
            else f"{failure.words} ({failure.error})"
        )
        if failure.transient and run.attempts < MAX_ATTEMPTS:
            wait = (
                timedelta(seconds=failure.retry_after)
                if failure.retry_after is not None
                else backoff(run.attempts)
            )
            log.warning(
                "job_retrying",
                kind=run.kind,
                error=failure.error,
                attempts=run.attempts,
                retry_in_s=wait.total_seconds(),
            )
            await self._settle(run, store.retry_job, retry_at=now + wait, error=error)
            return
        log.error("job_given_up", kind=run.kind, error=failure.error, attempts=run.attempts)
        async with self.sessions() as session:
            if not await store.fail_job(
                session, job_id=run.id, attempts=run.attempts, now=now, error=error
            ):
                return  # our lease was taken over: the new holder decides
            what = handler.describe(run)
            if run.incident_number is not None:
                await store.add_timeline_event(
                    session,
                    incident_number=run.incident_number,
                    kind=TimelineKind.SLACK_FAILURE.value,
                    at=now,
                    text=f"{what} failed: {failure.words}",
                    dedupe_key=f"failed:{run.key}",
                )
            payload = (
                self._notices.notice_payload(run, failure, what)
                if self._notices is not None and run.kind != NOTICE
                else None
            )
            if payload is not None:
                await store.enqueue_job(
                    session,
                    key=f"{NOTICE}:{run.key}",
                    kind=NOTICE,
                    incident_number=run.incident_number,
                    due_at=now,
                    now=now,
                    payload=payload,
                )
            await session.commit()

    # -- bookkeeping ------------------------------------------------------------------------
    async def _settle(
        self, run: JobRun, action: Callable[..., Awaitable[bool]], **values: Any
    ) -> None:
        values.setdefault("attempts", run.attempts)
        async with self.sessions() as session:
            await action(session, job_id=run.id, now=self.clock.now(), **values)
            await session.commit()

    async def _save_progress(self, run: JobRun) -> None:
        async with self.sessions() as session:
            await store.record_job_progress(
                session,
                job_id=run.id,
                attempts=run.attempts,
                now=self.clock.now(),
                progress=json.dumps(run.progress),
            )
            await session.commit()

    async def _heartbeat(self, run: JobRun) -> None:
        """Renew the lease until cancelled: the lease can be short (a crashed worker's job is
        taken over quickly) while a slow Slack call keeps it."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            async with self.sessions() as session:
                await store.extend_job_lease(
                    session,
                    job_id=run.id,
                    attempts=run.attempts,
                    now=self.clock.now(),
                    lease=self.lease,
                )
                await session.commit()


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    now: datetime,
    incident_number: int | None = None,
    payload: str | None = None,
    due_at: datetime | None = None,
) -> str:
    """Store a job in the caller's transaction. Without `due_at` it is meant to be run by the
    caller right after its ack (`run_now`); ticks pick it up only after `REQUEST_GRACE`."""
    await store.enqueue_job(
        session,
        key=key,
        kind=kind,
        incident_number=incident_number,
        due_at=due_at if due_at is not None else now + REQUEST_GRACE,
        now=now,
        payload=payload,
    )
    return key
