"""Alert webhooks read into one shape: Alertmanager (payload version 4), Grafana alerting
(`version: "1"`, Alertmanager's shape plus `title`, `state`, `message`, `orgId`) and a generic
JSON body. Pure: a parsed JSON body in, an `AlertGroup` or an `AlertError` (the one-line reason
a 400 carries) out.

A group is keyed by its source and its group key (Alertmanager's `groupKey`, Grafana's
`groupKey`, the generic `dedup_key`): every delivery of a group while its incident is open is
the same incident (`bot/flows/intake.py`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

Source = Literal["alertmanager", "grafana", "generic"]
SOURCES: tuple[Source, ...] = ("alertmanager", "grafana", "generic")
TITLE_MAX = 250
DESCRIPTION_MAX = 3000
KEY_MAX = 1000  # longer group keys are hashed (Alertmanager's can be long)
GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert


ALERT_MESSAGE_JOB = "alert_message"


def alert_message_key(number: int, *, refresh: bool = False) -> str:
    """The job that posts the triage message of an incident an alert opened (one per
    incident), or (`refresh`) one that edits it after a change (one per change: a change
    while another job runs is never lost)."""
    key = f"{ALERT_MESSAGE_JOB}:{number}"
    return f"{key}:{uuid.uuid4().hex}" if refresh else key


class AlertError(ValueError):
    """Not an alert this endpoint takes; the message is the 400's one line."""


@dataclass(frozen=True)
class AlertGroup:
    source: Source
    group_key: str
    status: Literal["firing", "resolved"]
    title: str
    severity_value: str | None  # the severity label's value, e.g. "critical"
    description: str
    labels: tuple[tuple[str, str], ...]  # the group's common labels, sorted
    links: tuple[tuple[str, str], ...]  # (what, https URL): source, runbook, silence, dashboard
    started_at: datetime | None  # the earliest firing alert's startsAt: the impact's start
    firing: int
    resolved: int


def parse_alert(source: Source, body: Any, *, severity_label: str) -> AlertGroup:
    if not isinstance(body, Mapping):
        raise AlertError("the body must be a JSON object")
    if source == "generic":
        return _generic(body, severity_label)
    return _grouped(source, body, severity_label)


def _grouped(source: Source, body: Mapping[str, Any], label: str) -> AlertGroup:
    key = body.get("groupKey")
    if not isinstance(key, str) or not key:
        raise AlertError("missing groupKey (a string)")
    status = body.get("status")
    if status not in ("firing", "resolved"):
        raise AlertError("status must be firing or resolved")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(a, Mapping) for a in alerts):
        raise AlertError("alerts must be a list of objects")
    common = _strings(body.get("commonLabels"))
    annotations = _strings(body.get("commonAnnotations"))
    firing = [a for a in alerts if a.get("status", status) == "firing"]
    first = (firing or alerts or [{}])[0]
    first_labels, first_notes = _strings(first.get("labels")), _strings(first.get("annotations"))
    title = (
        (body.get("title") if source == "grafana" and isinstance(body.get("title"), str) else None)
        or annotations.get("summary")
        or first_notes.get("summary")
        or common.get("alertname")
        or first_labels.get("alertname")
        or "Alert"
    )
    description = (
        annotations.get("description")
        or first_notes.get("description")
        or (body.get("message") if isinstance(body.get("message"), str) else "")
        or ""
    )
    links = [("Source", first.get("generatorURL"))]
    links.append(("Runbook", annotations.get("runbook_url") or first_notes.get("runbook_url")))
    if source == "grafana":
        links += [("Silence", first.get("silenceURL")), ("Dashboard", first.get("dashboardURL"))]
    else:
        links.append(("Silence", _silence_url(body.get("externalURL"), common)))
    started = [t for a in firing if (t := _time(a.get("startsAt"))) is not None]
    return AlertGroup(
        source=source,
        group_key=_key(key),
        status=status,
        title=_line(str(title), TITLE_MAX),
        severity_value=common.get(label) or first_labels.get(label),
        description=str(description)[:DESCRIPTION_MAX],
        labels=tuple(sorted(common.items()))[:30],
        links=tuple((what, url) for what, url in links if _web(url)),
        started_at=min(started) if started else None,
        firing=len(firing),
        resolved=len(alerts) - len(firing),
    )


def _generic(body: Mapping[str, Any], label: str) -> AlertGroup:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise AlertError("missing title (a non-empty string)")
    status = body.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise AlertError("status must be firing or resolved")
    for name in ("severity", "description", "dedup_key", "source", "url"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            raise AlertError(f"{name} must be a string")
    dedup = body.get("dedup_key") or f"title:{title.strip()}"
    source_name = body.get("source")
    labels = (("source", _line(source_name, 100)),) if source_name else ()
    return AlertGroup(
        source="generic",
        group_key=_key(str(dedup)),
        status=status,
        title=_line(title, TITLE_MAX),
        severity_value=body.get("severity") or None,
        description=str(body.get("description") or "")[:DESCRIPTION_MAX],
        labels=labels,
        links=(("Source", body["url"]),) if _web(body.get("url")) else (),
        started_at=None,
        firing=1 if status == "firing" else 0,
        resolved=1 if status == "resolved" else 0,
    )


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k)[:100]: str(v)[:1000] for k, v in value.items() if isinstance(v, str | int)}


def _line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _key(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _web(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) < 2000


def _time(value: Any) -> datetime | None:
    """RFC 3339 as Go writes it (nanoseconds allowed); Go's zero time is no time."""
    if not isinstance(value, str) or not value or value == GO_ZERO_TIME:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Python takes at most microseconds
        head, _, rest = text.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.year < 2000:
        return None
    return moment.astimezone(UTC)


def _silence_url(external: Any, labels: Mapping[str, str]) -> str | None:
    """Alertmanager's "new silence" page with the group's common labels as matchers."""
    if not _web(external) or not labels:
        return None
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{str(external).rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}')}"
