"""`FakePagerDuty`: a stateful fake of PagerDuty's Events API v2, served in a background thread.

Like the fake Slack (sandbox/slack), it runs an aiohttp server on 127.0.0.1:<random port>
with its own asyncio loop in a daemon thread, so sync tests, async tests and the real bot (a
subprocess pointed at `fake.url`) can all talk to it.

    with FakePagerDuty() as pd:
        # PAGERDUTY_EVENTS_URL=pd.url
        ...
        assert pd.incident("warroom-T1-7").status == "resolved"
        assert pd.violations == []

Route: `POST /v2/enqueue`. It checks an event the way PagerDuty does (JSON object;
`routing_key`; `event_action` trigger|acknowledge|resolve; `dedup_key` ≤ 255 chars, required for
acknowledge and resolve, generated for a trigger without one; a trigger's `payload.summary`
(≤ 1024), `payload.source`, `payload.severity` critical|error|warning|info; the optional fields'
types; the 512 KB size cap) and answers PagerDuty's bodies:

* 202 `{"status": "success", "message": "Event processed", "dedup_key": …}`
* 400 `{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`
* 429 `{"status": "throttle event", "message": …}` (fault injection or `rate_limit_per_minute`)

Dedup follows PagerDuty: events act on the open incident with the same `dedup_key` from the
same `routing_key`; a trigger for an open one is folded into it (no second incident); acknowledge
and resolve for no open incident are accepted (202) and ignored; after a resolve, a trigger with
the same key opens a new incident.

Every rule a client broke is also kept in `violations` (text), including fields PagerDuty
ignores (an unknown top-level or payload key, a non-https image `src`), which are accepted.

This module also holds `FaultQueue`, which the Statuspage fake
(tests/fakestatuspage.py) reuses.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web

from sandbox.slack.background import BackgroundHttpServer, ServedFake

# -- shared plumbing (also used by tests/fakestatuspage.py) ------------------------------------


@dataclass
class Fault:
    """One injected failure: answer HTTP `status` (with `Retry-After: retry_after` if given),
    or with `drop` close the connection without an answer; `remaining` uses left."""

    status: int
    remaining: int
    retry_after: float | None = None
    drop: bool = False
    where: Callable[[Any], bool] | None = None

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        seconds = self.retry_after
        return {"Retry-After": str(int(seconds) if float(seconds).is_integer() else seconds)}


class FaultQueue:
    """`fail_next` faults (answer before acting) and `fail_after` faults (act, then answer the
    error), each used first-in first-out by the requests their `where` accepts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._before: list[Fault] = []
        self._after: list[Fault] = []

    def add_before(self, fault: Fault) -> None:
        _check_fault(fault)
        with self._lock:
            self._before.append(fault)

    def add_after(self, fault: Fault) -> None:
        _check_fault(fault)
        with self._lock:
            self._after.append(fault)

    def take_before(self, subject: Any) -> Fault | None:
        return self._take(self._before, subject)

    def take_after(self, subject: Any) -> Fault | None:
        return self._take(self._after, subject)

    def _take(self, faults: list[Fault], subject: Any) -> Fault | None:
        with self._lock:
            for fault in faults:
                if fault.where is None or fault.where(subject):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        faults.remove(fault)
                    return fault
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._before + self._after)

    def clear(self) -> None:
        with self._lock:
            self._before.clear()
            self._after.clear()


def _check_fault(fault: Fault) -> None:
    if fault.remaining < 1:
        raise ValueError("n must be at least 1")
    if not fault.drop and not 400 <= fault.status <= 599:
        raise ValueError(f"status {fault.status}: use 400-599")


class SlidingWindow:
    """At most `per_minute` hits per key in any 60 s (None: no limit). `over(key)` counts a hit
    and answers None, or, when the key is over its limit (the hit is not counted), how many
    seconds until it may try again."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def over(self, key: str) -> float | None:
        if self.per_minute is None:
            return None
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(0.0, 60 - (now - hits[0]))
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()


# -- PagerDuty ----------------------------------------------------------------------------------

EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
PAYLOAD_LIMIT = 512 * 1024
_TOP_LEVEL = {
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "links",
    "images",
    "client",
    "client_url",
}
_PAYLOAD_FIELDS = {
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
}
_INVALID = {"status": "invalid event", "message": "Event object is invalid"}
_THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly. Please retry later.",
}


@dataclass
class PagerDutyIncident:
    """What PagerDuty made of the events with one `dedup_key` (from one `routing_key`) while
    it was open: `status` triggered → acknowledged → resolved, `history` the statuses in order,
    `trigger` the event that opened it, `events` every event applied to it (repeated triggers
    included), `trigger_count` how many triggers it absorbed (1 = no duplicate)."""

    number: int
    dedup_key: str
    routing_key: str
    trigger: dict[str, Any]
    status: str = "triggered"
    history: list[str] = field(default_factory=lambda: ["triggered"])
    events: list[dict[str, Any]] = field(default_factory=list)
    trigger_count: int = 1

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.trigger.get("payload")
        return payload if isinstance(payload, dict) else {}

    @property
    def summary(self) -> str:
        return str(self.payload.get("summary", ""))

    @property
    def source(self) -> str:
        return str(self.payload.get("source", ""))

    @property
    def severity(self) -> str:
        return str(self.payload.get("severity", ""))

    @property
    def links(self) -> list[dict[str, Any]]:
        return list(self.trigger.get("links") or [])

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


@dataclass
class PagerDutyRequest:
    """One request to `/v2/enqueue`, whatever became of it. `body` is the decoded JSON (None if
    it was not JSON); `status`/`response` what the client got (`status` 0 when the connection
    was dropped); `outcome` what the fake did: created | deduplicated | acknowledged | resolved |
    ignored (ack/resolve with nothing open, or nothing to change) | invalid | rate_limited |
    fault (a `fail_next`); `applied` whether the event was accepted and acted on (True also
    under a `fail_after`, whose error then replaced the real answer, kept in `suppressed`)."""

    index: int
    body: Any
    status: int = 0
    response: dict[str, Any] | None = None
    outcome: str = ""
    applied: bool = False
    errors: list[str] = field(default_factory=list)
    suppressed: dict[str, Any] | None = None
    dropped: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class FakePagerDuty(ServedFake):
    """PagerDuty's Events API v2 (`POST /v2/enqueue`) in a background thread. See the module
    docstring for what it checks and answers."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_minute: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._incidents: list[PagerDutyIncident] = []
        self._requests: list[PagerDutyRequest] = []
        self._violations: list[str] = []
        self._faults = FaultQueue()
        self._window = SlidingWindow(rate_limit_per_minute)
        self._server = BackgroundHttpServer("fakepagerduty", self._routes, host, port)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/enqueue", self._enqueue)

    @property
    def url(self) -> str:
        """The events endpoint, `http://127.0.0.1:PORT/v2/enqueue`."""
        return f"{self.base_url}/v2/enqueue"

    # -- fault injection -----------------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        *,
        where: Callable[[Any], bool] | None = None,
    ) -> None:
        """The next `n` requests (whose decoded body `where` accepts, if given; None for a body
        that is not JSON) are answered HTTP `status` without being looked at or acted on: 429
        with PagerDuty's throttle body, 400 with its invalid-event body, others with
        `{"status": "error", …}`; `Retry-After: retry_after` when given."""
        self._faults.add_before(Fault(status, n, retry_after, False, where))

    def fail_after(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after: float | None = None,
        drop: bool = False,
        where: Callable[[Any], bool] | None = None,
    ) -> None:
        """The next `n` valid events (that `where` accepts, if given) are acted on as usual,
        then answered HTTP `status` instead of 202 ("answered 500 after it acted"); with `drop`
        the connection is closed without any answer. Invalid events do not use it up."""
        self._faults.add_after(Fault(status, n, retry_after, drop, where))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- what it received ----------------------------------------------------------------------
    @property
    def events(self) -> list[dict[str, Any]]:
        """The events accepted and acted on (as sent), oldest first; not the refused ones."""
        with self._lock:
            return copy.deepcopy(self._events)

    @property
    def requests(self) -> list[PagerDutyRequest]:
        """Every request, oldest first, with what was answered and done."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def incidents(self) -> dict[str, PagerDutyIncident]:
        """dedup_key → the latest incident with that key (a new one after a resolve)."""
        with self._lock:
            return {i.dedup_key: copy.deepcopy(i) for i in self._incidents}

    @property
    def all_incidents(self) -> list[PagerDutyIncident]:
        """Every incident, in the order they were opened."""
        with self._lock:
            return copy.deepcopy(self._incidents)

    def incident(self, dedup_key: str) -> PagerDutyIncident:
        """The latest incident with `dedup_key` (KeyError if none)."""
        found = self.incidents.get(dedup_key)
        if found is None:
            raise KeyError(f"no PagerDuty incident with dedup_key {dedup_key!r}")
        return found

    def open_incidents(self) -> list[PagerDutyIncident]:
        return [i for i in self.all_incidents if i.is_open]

    @property
    def violations(self) -> list[str]:
        """Each rule a client broke (refused events' errors and ignored fields), as text."""
        with self._lock:
            return list(self._violations)

    def take_violations(self) -> list[str]:
        with self._lock:
            taken, self._violations = self._violations, []
            return taken

    def reset(self) -> None:
        """Forget events, incidents, requests, violations, faults and rate-limit windows."""
        with self._lock:
            self._events.clear()
            self._incidents.clear()
            self._requests.clear()
            self._violations.clear()
            self._window.reset()
        self._faults.clear()

    # -- the endpoint --------------------------------------------------------------------------
    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        parse_error: str | None = None
        try:
            body = json.loads(raw)
        except ValueError:
            parse_error = "Event object is not valid JSON"
        with self._lock:
            record = PagerDutyRequest(len(self._requests), copy.deepcopy(body))
            record.headers = {"Content-Type": request.headers.get("Content-Type", "")}
            self._requests.append(record)
        try:
            status, answer, headers = self._handle(record, raw, body, parse_error, request)
        except Exception as exc:  # a bug in the fake itself: make it loud
            traceback.print_exc(file=sys.stderr)
            status, answer, headers = 500, {"status": "error", "message": repr(exc)}, {}
            with self._lock:
                self._violations.append(f"fake_internal_error: {exc!r}")
        with self._lock:
            record.status = 0 if record.dropped else status
            record.response = None if record.dropped else copy.deepcopy(answer)
        if record.dropped:
            request.protocol.force_close()
        return web.json_response(answer, status=status, headers=headers)

    def _handle(
        self,
        record: PagerDutyRequest,
        raw: bytes,
        body: Any,
        parse_error: str | None,
        request: web.Request,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self._faults.take_before(body)
        if fault is not None:
            record.outcome = "fault"
            return _fault_answer(fault)
        errors: list[str] = []
        notes: list[str] = []
        if parse_error:
            errors.append(parse_error)
        elif len(raw) > PAYLOAD_LIMIT:
            errors.append(f"Event object is too large (at most {PAYLOAD_LIMIT} bytes)")
        elif not isinstance(body, dict):
            errors.append("Event object must be a JSON object")
        else:
            errors, notes = validate_event(body)
        if not request.content_type.startswith("application/json"):
            notes.append(f"Content-Type is {request.content_type!r}, not application/json")
        with self._lock:
            self._violations.extend(notes)
            if errors:
                self._violations.extend(errors)
                record.outcome, record.errors = "invalid", list(errors)
                return 400, {**_INVALID, "errors": errors}, {}
            assert isinstance(body, dict)
            if self._window.over(str(body["routing_key"])) is not None:
                record.outcome = "rate_limited"
                return 429, dict(_THROTTLED), {}
            dedup_key, outcome = self._apply(body)
            record.outcome, record.applied = outcome, True
        answer = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        after = self._faults.take_after(body)
        if after is None:
            return 202, answer, {}
        record.suppressed = answer
        record.dropped = after.drop
        return _fault_answer(after)

    def _apply(self, event: dict[str, Any]) -> tuple[str, str]:
        """Act on a valid event (under the lock): its dedup_key and the outcome."""
        self._events.append(copy.deepcopy(event))
        action = event["event_action"]
        routing_key = event["routing_key"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        current = next(
            (
                i
                for i in reversed(self._incidents)
                if i.is_open and i.dedup_key == dedup_key and i.routing_key == routing_key
            ),
            None,
        )
        if action == "trigger":
            if current is not None:
                current.trigger_count += 1
                current.events.append(copy.deepcopy(event))
                return dedup_key, "deduplicated"
            incident = PagerDutyIncident(
                number=len(self._incidents) + 1,
                dedup_key=dedup_key,
                routing_key=routing_key,
                trigger=copy.deepcopy(event),
                events=[copy.deepcopy(event)],
            )
            self._incidents.append(incident)
            return dedup_key, "created"
        if current is None:
            return dedup_key, "ignored"
        current.events.append(copy.deepcopy(event))
        target = "acknowledged" if action == "acknowledge" else "resolved"
        if current.status == target:
            return dedup_key, "ignored"
        current.status = target
        current.history.append(target)
        return dedup_key, target


def _fault_answer(fault: Fault) -> tuple[int, dict[str, Any], dict[str, str]]:
    if fault.status == 429:
        return 429, dict(_THROTTLED), fault.headers()
    if fault.status == 400:
        return 400, {**_INVALID, "errors": ["Event object is invalid"]}, fault.headers()
    reason = "Internal Server Error" if fault.status == 500 else f"HTTP {fault.status}"
    return fault.status, {"status": "error", "message": reason}, fault.headers()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_event(event: dict[str, Any]) -> tuple[list[str], list[str]]:
    """PagerDuty's checks of an Events API v2 event: (errors that refuse it with 400, notes on
    what PagerDuty would accept but ignore)."""
    errors: list[str] = []
    notes: list[str] = []
    routing_key = event.get("routing_key")
    if _blank(routing_key):
        errors.append("'routing_key' is missing or blank")
    elif not isinstance(routing_key, str):
        errors.append("'routing_key' must be a string")
    action = event.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in EVENT_ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > DEDUP_KEY_LIMIT:
        errors.append(f"'dedup_key' is too long (maximum is {DEDUP_KEY_LIMIT} characters)")
    elif action in ("acknowledge", "resolve") and _blank(dedup_key):
        errors.append(f"'dedup_key' is missing or blank (required to {action})")
    notes.extend(f"unknown field {key!r} (ignored)" for key in event if key not in _TOP_LEVEL)
    if action == "trigger":
        _validate_payload(event.get("payload"), errors, notes)
    _validate_links(event.get("links"), errors)
    _validate_images(event.get("images"), errors, notes)
    for key in ("client", "client_url"):
        if key in event and not isinstance(event[key], str):
            errors.append(f"'{key}' must be a string")
    return errors, notes


def _validate_payload(payload: Any, errors: list[str], notes: list[str]) -> None:
    if payload is None:
        errors.append("'payload' is missing or blank")
        return
    if not isinstance(payload, dict):
        errors.append("'payload' must be an object")
        return
    summary = payload.get("summary")
    if _blank(summary):
        errors.append("'payload.summary' is missing or blank")
    elif not isinstance(summary, str):
        errors.append("'payload.summary' must be a string")
    elif len(summary) > SUMMARY_LIMIT:
        errors.append(f"'payload.summary' is too long (maximum is {SUMMARY_LIMIT} characters)")
    source = payload.get("source")
    if _blank(source):
        errors.append("'payload.source' is missing or blank")
    elif not isinstance(source, str):
        errors.append("'payload.source' must be a string")
    severity = payload.get("severity")
    if _blank(severity):
        errors.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
        )
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        if not isinstance(timestamp, str):
            errors.append("'payload.timestamp' must be an ISO 8601 string")
        else:
            try:
                datetime.fromisoformat(timestamp)
            except ValueError:
                errors.append("'payload.timestamp' is not a valid ISO 8601 timestamp")
    for key in ("component", "group", "class"):
        if key in payload and payload[key] is not None and not isinstance(payload[key], str):
            errors.append(f"'payload.{key}' must be a string")
    notes.extend(
        f"unknown field 'payload.{key}' (ignored)" for key in payload if key not in _PAYLOAD_FIELDS
    )


def _validate_links(links: Any, errors: list[str]) -> None:
    if links is None:
        return
    if not isinstance(links, list):
        errors.append("'links' must be an array")
        return
    for n, link in enumerate(links):
        if not isinstance(link, dict):
            errors.append(f"'links[{n}]' must be an object")
        elif _blank(link.get("href")) or not isinstance(link.get("href"), str):
            errors.append(f"'links[{n}].href' is missing or blank")
        elif "text" in link and not isinstance(link["text"], str):
            errors.append(f"'links[{n}].text' must be a string")


def _validate_images(images: Any, errors: list[str], notes: list[str]) -> None:
    if images is None:
        return
    if not isinstance(images, list):
        errors.append("'images' must be an array")
        return
    for n, image in enumerate(images):
        if not isinstance(image, dict):
            errors.append(f"'images[{n}]' must be an object")
            continue
        src = image.get("src")
        if _blank(src) or not isinstance(src, str):
            errors.append(f"'images[{n}].src' is missing or blank")
        elif not src.startswith("https://"):
            notes.append(f"'images[{n}].src' is not served over https (PagerDuty won't show it)")


@pytest.fixture
def fake_pagerduty() -> Iterator[FakePagerDuty]:
    """A started `FakePagerDuty`, stopped after the test."""
    with FakePagerDuty() as fake:
        yield fake
