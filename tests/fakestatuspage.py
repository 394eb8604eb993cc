"""`FakeStatuspage`: a stateful fake of a subset of Atlassian Statuspage's REST API v1, served
in a background thread the way the fake Slack and the fake PagerDuty are.

    with FakeStatuspage(api_key="test-key", page_id="pg123") as sp:
        # STATUSPAGE_API_URL=sp.api_url, the key and the page id
        ...
        (incident,) = sp.incidents.values()
        assert incident["status"] == "resolved"
        assert sp.violations == []

Routes (under `api_url`, `http://127.0.0.1:PORT/v1`):

* `POST  /pages/{page_id}/incidents` → 201 the new incident
* `PATCH /pages/{page_id}/incidents/{incident_id}` (also `PUT`) → 200 the incident
* `GET   /pages/{page_id}/incidents/{incident_id}` → 200 the incident
* `GET   /pages/{page_id}/incidents/unresolved` (`page`, `per_page`) → 200 a list, newest first
* `GET   /pages/{page_id}/incidents` (`q`, `limit`, `page`) → 200 a list, newest first; `q`
  keeps incidents whose name, status, post-mortem or any update's body contains it (any case)
* `GET   /pages/{page_id}/components` → 200 the page's components

Request body (create and update): `{"incident": {"name", "status", "body", "component_ids",
"components": {id: status}, "impact_override", "deliver_notifications", "metadata"}}`.

Checks, in order: injected `fail_next` fault; `Authorization: OAuth <api_key>` (missing or
wrong → 401 `{"error": …}`); the page id (unknown → 404); the optional rate limit (429 with
`Retry-After`); a JSON body with an `incident` object (else 400); the fields (→ 422
`{"error": …}`): name required on create; status investigating|identified|monitoring|resolved
(default investigating; the scheduled-maintenance statuses are refused); component statuses
operational|degraded_performance|partial_outage|major_outage|under_maintenance; component ids
must be the page's; impact_override none|minor|major|critical; unknown incident → 404. Each
refusal, and each field Statuspage would ignore, is also kept in `violations` (text).

The incident JSON follows Statuspage's: `id` (12 lowercase alphanumerics), `page_id`, `name`,
`status`, `impact`, `impact_override`, `shortlink` (`https://stspg.io/xxxx`), `created_at`,
`updated_at`, `started_at`, `monitoring_at`, `resolved_at`, `postmortem_body`, `metadata`,
`components` (the page's component objects with their current status) and `incident_updates`
(newest first: `id`, `incident_id`, `status`, `body`, `created_at`, `updated_at`, `display_at`,
`deliver_notifications`, `affected_components` [{code, name, old_status, new_status}] or null).
An update adds an incident update when it carries a body, changes the status or changes a
component's status. Setting a component's status changes it on the page (as Statuspage does;
resolving does not set components back to operational).
"""

from __future__ import annotations

import copy
import json
import math
import secrets
import string
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from sandbox.slack.background import BackgroundHttpServer, ServedFake
from tests.fakepagerduty import Fault, FaultQueue, SlidingWindow

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
SCHEDULED_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
IMPACTS = ("none", "minor", "major", "critical")
DEFAULT_COMPONENTS = {
    "cmpapi000001": "API",
    "cmpweb000001": "Website",
    "cmpdb0000001": "Database",
}
_FIELDS = {
    "name",
    "status",
    "body",
    "component_ids",
    "components",
    "impact_override",
    "deliver_notifications",
    "metadata",
}
_IMPACT_OF = {
    "major_outage": "critical",
    "partial_outage": "major",
    "degraded_performance": "minor",
}
_ALNUM = string.ascii_lowercase + string.digits
_FAULT_ERRORS = {
    401: "Could not authenticate",
    404: "Not found",
    422: "Unprocessable entity",
    429: "Rate limit exceeded",
}

Answer = tuple[int, Any, dict[str, str]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _random_id(length: int = 12) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass
class StatuspageRequest:
    """One request, whatever became of it: `method`, `path` (below `/v1`), `query`, decoded
    JSON `body` (None if none or not JSON), `authorized` (the right OAuth key), then what the
    client got (`status`, `response`; `status` 0 when the connection was dropped), `applied`
    (the fake acted on it successfully; True also under a `fail_after`, whose error replaced
    the real answer, kept in `suppressed`)."""

    index: int
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorized: bool = False
    status: int = 0
    response: Any = None
    applied: bool = False
    suppressed: Any = None
    dropped: bool = False


@dataclass
class _Component:
    id: str
    name: str
    status: str = "operational"
    position: int = 1
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)


@dataclass
class _Incident:
    id: str
    name: str
    status: str
    shortlink: str
    created_at: str
    updated_at: str
    impact_override: str | None = None
    component_ids: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    metadata: dict[str, Any] = field(default_factory=dict)
    monitoring_at: str | None = None
    resolved_at: str | None = None


class FakeStatuspage(ServedFake):
    """Statuspage's REST API v1 (incidents of one page) in a background thread. See the module
    docstring for the routes, checks and shapes."""

    def __init__(
        self,
        api_key: str = "test-key",
        page_id: str = "pg123",
        *,
        components: dict[str, str] | None = None,
        rate_limit_per_minute: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.page_id = page_id
        self._lock = threading.Lock()
        self._components: dict[str, _Component] = {}
        for position, (cid, name) in enumerate(
            (DEFAULT_COMPONENTS if components is None else components).items(), 1
        ):
            self._components[cid] = _Component(cid, name, position=position)
        self._incidents: dict[str, _Incident] = {}
        self._requests: list[StatuspageRequest] = []
        self._violations: list[str] = []
        self._shortlinks: set[str] = set()
        self._faults = FaultQueue()
        self._window = SlidingWindow(rate_limit_per_minute)
        self._server = BackgroundHttpServer("fakestatuspage", self._routes, host, port)

    def _routes(self, app: web.Application) -> None:
        base = "/v1/pages/{page_id}"
        r = app.router
        r.add_post(base + "/incidents", self._wrap(self._create))
        r.add_get(base + "/incidents", self._wrap(self._list))
        r.add_get(base + "/incidents/unresolved", self._wrap(self._unresolved))
        r.add_get(base + "/incidents/{incident_id}", self._wrap(self._get))
        r.add_patch(base + "/incidents/{incident_id}", self._wrap(self._update))
        r.add_put(base + "/incidents/{incident_id}", self._wrap(self._update))
        r.add_get(base + "/components", self._wrap(self._list_components))
        r.add_route("*", "/{tail:.*}", self._wrap(None))

    @property
    def api_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, the stand-in for `https://api.statuspage.io/v1`."""
        return f"{self.base_url}/v1"

    @property
    def headers(self) -> dict[str, str]:
        """The headers a client should send: `Authorization: OAuth <api_key>`, JSON."""
        return {"Authorization": f"OAuth {self.api_key}", "Content-Type": "application/json"}

    # -- seeding -------------------------------------------------------------------------------
    def add_component(self, id: str, name: str, status: str = "operational") -> None:
        if status not in COMPONENT_STATUSES:
            raise ValueError(f"component status {status!r} is not one of {COMPONENT_STATUSES}")
        with self._lock:
            position = len(self._components) + 1
            self._components[id] = _Component(id, name, status, position)

    # -- fault injection -----------------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        *,
        where: Callable[[StatuspageRequest], bool] | None = None,
    ) -> None:
        """The next `n` requests (that `where` accepts, if given: it gets the
        `StatuspageRequest`, with `method`, `path`, `body`) are answered HTTP `status` with
        `{"error": …}` without being looked at or acted on; `Retry-After: retry_after` when
        given."""
        self._faults.add_before(Fault(status, n, retry_after, False, where))

    def fail_after(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after: float | None = None,
        drop: bool = False,
        where: Callable[[StatuspageRequest], bool] | None = None,
    ) -> None:
        """The next `n` requests that succeed (and that `where` accepts, if given) take effect
        (an incident is created or updated), then are answered HTTP `status` with
        `{"error": …}`; with `drop` the connection is closed without any answer. Refused
        requests do not use it up."""
        self._faults.add_after(Fault(status, n, retry_after, drop, where))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- what it holds ---------------------------------------------------------------------------
    @property
    def requests(self) -> list[StatuspageRequest]:
        """Every request, oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def incidents(self) -> dict[str, dict[str, Any]]:
        """incident id → the incident as the API shows it, in creation order."""
        with self._lock:
            return {iid: self._render(i) for iid, i in self._incidents.items()}

    def incident(self, incident_id: str) -> dict[str, Any]:
        found = self.incidents.get(incident_id)
        if found is None:
            raise KeyError(f"no Statuspage incident {incident_id!r}")
        return found

    def incidents_named(self, name: str) -> list[dict[str, Any]]:
        """The incidents called exactly `name`, oldest first (a duplicate shows as two)."""
        return [i for i in self.incidents.values() if i["name"] == name]

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        """component id → the component as the API shows it (with its current status)."""
        with self._lock:
            return {cid: self._render_component(c) for cid, c in self._components.items()}

    @property
    def violations(self) -> list[str]:
        """Each rule a client broke (refused requests and ignored fields), as text."""
        with self._lock:
            return list(self._violations)

    def take_violations(self) -> list[str]:
        with self._lock:
            taken, self._violations = self._violations, []
            return taken

    def reset(self) -> None:
        """Forget incidents, requests, violations, faults and rate-limit windows; components
        go back to operational."""
        with self._lock:
            self._incidents.clear()
            self._requests.clear()
            self._violations.clear()
            self._shortlinks.clear()
            self._window.reset()
            for component in self._components.values():
                component.status = "operational"
        self._faults.clear()

    # -- request plumbing --------------------------------------------------------------------
    def _wrap(
        self, handler: Callable[[StatuspageRequest, dict[str, str]], Answer] | None
    ) -> Callable[[web.Request], Any]:
        async def serve(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            body: Any = None
            parse_error = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    parse_error = "the body is not valid JSON"
            path = request.path.removeprefix("/v1")
            with self._lock:
                record = StatuspageRequest(
                    len(self._requests), request.method, path, dict(request.query), body
                )
                self._requests.append(record)
            try:
                status, answer, headers = self._pipeline(
                    request, record, handler, parse_error, dict(request.match_info)
                )
            except Exception as exc:  # a bug in the fake itself: make it loud
                traceback.print_exc(file=sys.stderr)
                status, answer, headers = 500, {"error": repr(exc)}, {}
                self._violate(f"fake_internal_error: {exc!r}")
            with self._lock:
                record.status = 0 if record.dropped else status
                record.response = None if record.dropped else copy.deepcopy(answer)
            if record.dropped:
                request.protocol.force_close()
            return web.json_response(answer, status=status, headers=headers)

        return serve

    def _pipeline(
        self,
        request: web.Request,
        record: StatuspageRequest,
        handler: Callable[[StatuspageRequest, dict[str, str]], Answer] | None,
        parse_error: str | None,
        match: dict[str, str],
    ) -> Answer:
        fault = self._faults.take_before(record)
        if fault is not None:
            return _fault_answer(fault)
        header = request.headers.get("Authorization")
        record.authorized = header == f"OAuth {self.api_key}"
        if not record.authorized:
            if header is None:
                self._violate(f"{record.method} {record.path}: no Authorization header")
            elif not header.startswith("OAuth "):
                self._violate(f"{record.method} {record.path}: Authorization is not 'OAuth <key>'")
            else:
                self._violate(f"{record.method} {record.path}: wrong API key")
            return 401, {"error": "Could not authenticate"}, {}
        if handler is None:
            self._violate(f"{record.method} {record.path}: not an endpoint of this fake")
            return 404, {"error": "Not found"}, {}
        if match.get("page_id") != self.page_id:
            self._violate(f"{record.method} {record.path}: unknown page {match.get('page_id')!r}")
            return 404, {"error": "Page not found"}, {}
        wait = self._window.over(self.api_key)
        if wait is not None:
            return 429, {"error": "Rate limit exceeded"}, {"Retry-After": str(math.ceil(wait))}
        if parse_error is not None:
            self._violate(f"{record.method} {record.path}: {parse_error}")
            return 400, {"error": parse_error}, {}
        try:
            with self._lock:
                answer = handler(record, match)
        except _Refused as refused:
            self._violate(f"{record.method} {record.path}: {refused.error}")
            return refused.status, {"error": refused.error}, {}
        record.applied = True
        after = self._faults.take_after(record)
        if after is None:
            return answer
        record.suppressed = copy.deepcopy(answer[1])
        record.dropped = after.drop
        return _fault_answer(after)

    def _violate(self, text: str) -> None:
        with self._lock:
            self._violations.append(text)

    # -- handlers (run under the lock) -----------------------------------------------------------
    def _create(self, record: StatuspageRequest, match: dict[str, str]) -> Answer:
        fields = self._fields(record, creating=True)
        now = _now()
        incident_id = _random_id()
        while incident_id in self._incidents:
            incident_id = _random_id()
        status = fields.get("status") or "investigating"
        incident = _Incident(
            id=incident_id,
            name=fields["name"],
            status=status,
            shortlink=self._shortlink(),
            created_at=now,
            updated_at=now,
            impact_override=fields.get("impact_override"),
            metadata=dict(fields.get("metadata") or {}),
        )
        incident.component_ids = _merge_ids(
            fields.get("component_ids") or [], fields.get("components") or {}
        )
        affected = self._set_components(fields.get("components") or {}, now)
        self._stamp(incident, status, now)
        incident.updates.append(
            self._update_json(incident, status, fields.get("body") or "", fields, affected, now)
        )
        self._incidents[incident_id] = incident
        return 201, self._render(incident), {}

    def _update(self, record: StatuspageRequest, match: dict[str, str]) -> Answer:
        incident = self._incidents.get(match["incident_id"])
        if incident is None:
            raise _Refused(404, "Incident not found")
        fields = self._fields(record, creating=False)
        now = _now()
        if "name" in fields:
            incident.name = fields["name"]
        if "impact_override" in fields:
            incident.impact_override = fields["impact_override"]
        if isinstance(fields.get("metadata"), dict):
            incident.metadata = dict(fields["metadata"])
        components = fields.get("components") or {}
        if fields.get("component_ids") is not None:
            incident.component_ids = _merge_ids(fields["component_ids"], components)
        else:
            incident.component_ids = _merge_ids(incident.component_ids, components)
        affected = self._set_components(components, now)
        status = fields.get("status") or incident.status
        changed = status != incident.status
        body = fields.get("body")
        if changed:
            incident.status = status
            self._stamp(incident, status, now)
        if body is not None or changed or affected:
            incident.updates.append(
                self._update_json(incident, status, body or "", fields, affected, now)
            )
        incident.updated_at = now
        return 200, self._render(incident), {}

    def _get(self, record: StatuspageRequest, match: dict[str, str]) -> Answer:
        incident = self._incidents.get(match["incident_id"])
        if incident is None:
            raise _Refused(404, "Incident not found")
        return 200, self._render(incident), {}

    def _list(self, record: StatuspageRequest, match: dict[str, str]) -> Answer:
        newest_first = list(reversed(self._incidents.values()))
        q = record.query.get("q", "").strip().lower()
        if q:
            newest_first = [i for i in newest_first if q in _searchable(i)]
        limit = min(_positive(record.query, "limit", 100), 100)
        page = _positive(record.query, "page", 1)
        chosen = newest_first[(page - 1) * limit : page * limit]
        return 200, [self._render(i) for i in chosen], {}

    def _unresolved(self, record: StatuspageRequest, match: dict[str, str]) -> Answer:
        open_ = [i for i in reversed(self._incidents.values()) if i.status != "resolved"]
        per_page = min(_positive(record.query, "per_page", 100), 100)
        page = _positive(record.query, "page", 1)
        chosen = open_[(page - 1) * per_page : page * per_page]
        return 200, [self._render(i) for i in chosen], {}

    def _list_components(self, record: StatuspageRequest, match: dict[str, str]) -> Answer:
        return 200, [self._render_component(c) for c in self._components.values()], {}

    # -- helpers ---------------------------------------------------------------------------------
    def _fields(self, record: StatuspageRequest, *, creating: bool) -> dict[str, Any]:
        """The checked `incident` fields of a create/update body (raises _Refused)."""
        body = record.body
        if not isinstance(body, dict) or not isinstance(body.get("incident"), dict):
            raise _Refused(400, "param is missing or the value is empty: incident")
        fields: dict[str, Any] = body["incident"]
        for key in fields:
            if key not in _FIELDS:
                self._violations.append(
                    f"{record.method} {record.path}: unknown field incident.{key} (ignored)"
                )
        errors: list[str] = []
        name = fields.get("name")
        if (creating or "name" in fields) and (not isinstance(name, str) or not name.strip()):
            errors.append("Name can't be blank")
        status = fields.get("status")
        if status is not None:
            if status in SCHEDULED_STATUSES:
                errors.append(
                    f"Status {status!r} is for scheduled maintenance, which this fake refuses"
                )
            elif status not in INCIDENT_STATUSES:
                errors.append(f"Status {status!r} is not included in the list")
        if "body" in fields and fields["body"] is not None and not isinstance(fields["body"], str):
            errors.append("Body must be a string")
        ids = fields.get("component_ids")
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(c, str) for c in ids):
                errors.append("component_ids must be an array of component ids")
            else:
                errors.extend(
                    f"Component {c!r} not found on this page"
                    for c in ids
                    if c not in self._components
                )
        components = fields.get("components")
        if components is not None:
            if not isinstance(components, dict):
                errors.append("components must be an object of component id to status")
            else:
                for cid, cstatus in components.items():
                    if cid not in self._components:
                        errors.append(f"Component {cid!r} not found on this page")
                    elif cstatus not in COMPONENT_STATUSES:
                        errors.append(f"Component status {cstatus!r} is not included in the list")
        impact = fields.get("impact_override")
        if impact is not None and impact not in IMPACTS:
            errors.append(f"Impact override {impact!r} is not included in the list")
        notify = fields.get("deliver_notifications")
        if notify is not None and not isinstance(notify, bool):
            errors.append("deliver_notifications must be true or false")
        metadata = fields.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            errors.append("metadata must be an object")
        if errors:
            raise _Refused(422, "; ".join(errors))
        return fields

    def _set_components(self, wanted: dict[str, str], now: str) -> list[dict[str, Any]] | None:
        affected = []
        for cid, status in wanted.items():
            component = self._components[cid]
            if component.status == status:
                continue
            affected.append(
                {
                    "code": cid,
                    "name": component.name,
                    "old_status": component.status,
                    "new_status": status,
                }
            )
            component.status, component.updated_at = status, now
        return affected or None

    @staticmethod
    def _stamp(incident: _Incident, status: str, now: str) -> None:
        if status == "monitoring" and incident.monitoring_at is None:
            incident.monitoring_at = now
        incident.resolved_at = now if status == "resolved" else None

    def _update_json(
        self,
        incident: _Incident,
        status: str,
        body: str,
        fields: dict[str, Any],
        affected: list[dict[str, Any]] | None,
        now: str,
    ) -> dict[str, Any]:
        notify = fields.get("deliver_notifications")
        return {
            "id": _random_id(),
            "incident_id": incident.id,
            "status": status,
            "body": body,
            "created_at": now,
            "updated_at": now,
            "display_at": now,
            "deliver_notifications": True if notify is None else notify,
            "affected_components": affected,
            "custom_tweet": None,
            "tweet_id": None,
            "twitter_updated_at": None,
            "wants_twitter_update": False,
        }

    def _shortlink(self) -> str:
        while True:
            link = f"https://stspg.io/{_random_id(5)}"
            if link not in self._shortlinks:
                self._shortlinks.add(link)
                return link

    def _render_component(self, component: _Component) -> dict[str, Any]:
        return {
            "id": component.id,
            "page_id": self.page_id,
            "group_id": None,
            "created_at": component.created_at,
            "updated_at": component.updated_at,
            "group": False,
            "name": component.name,
            "description": None,
            "position": component.position,
            "status": component.status,
            "showcase": True,
            "only_show_if_degraded": False,
        }

    def _render(self, incident: _Incident) -> dict[str, Any]:
        components = [self._render_component(self._components[c]) for c in incident.component_ids]
        return {
            "id": incident.id,
            "page_id": self.page_id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact_override or _impact(components),
            "impact_override": incident.impact_override,
            "shortlink": incident.shortlink,
            "created_at": incident.created_at,
            "updated_at": incident.updated_at,
            "started_at": incident.created_at,
            "monitoring_at": incident.monitoring_at,
            "resolved_at": incident.resolved_at,
            "postmortem_body": None,
            "postmortem_published_at": None,
            "metadata": copy.deepcopy(incident.metadata),
            "components": components,
            "incident_updates": copy.deepcopy(list(reversed(incident.updates))),
        }


def _merge_ids(ids: list[str], components: dict[str, str]) -> list[str]:
    return list(dict.fromkeys([*ids, *components]))


def _impact(components: list[dict[str, Any]]) -> str:
    ranked = [_IMPACT_OF.get(c["status"], "none") for c in components]
    return max(ranked, key=IMPACTS.index, default="none")


def _searchable(incident: _Incident) -> str:
    texts = [incident.name, incident.status, *(u["body"] or "" for u in incident.updates)]
    return "\n".join(texts).lower()


def _positive(query: dict[str, str], key: str, default: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Refused(400, f"{key} must be a positive integer") from None
    if value < 1:
        raise _Refused(400, f"{key} must be a positive integer")
    return value


def _fault_answer(fault: Fault) -> Answer:
    error = _FAULT_ERRORS.get(fault.status, "Internal Server Error")
    return fault.status, {"error": error}, fault.headers()


@pytest.fixture
def fake_statuspage() -> Iterator[FakeStatuspage]:
    """A started `FakeStatuspage` (api key "test-key", page "pg123"), stopped after the test."""
    with FakeStatuspage() as fake:
        yield fake
