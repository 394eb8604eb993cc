"""The incident policy as immutable pydantic models.

Rules about one value live on its field (durations, targets, cron, templates…); rules that
relate parts of the policy live in :mod:`bot.policy.rules`, which ``Policy`` runs on itself, so
a ``Policy`` object is always valid. Lists are tuples and every model is frozen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.policy.durations import CronExpr, Duration, TimeZoneName
from bot.policy.naming import (
    Target,
    channel_target,
    channel_template_placeholders,
    channel_template_problems,
    invite_target,
    render_channel_name,
)
from bot.policy.rules import (
    SPECIAL_GRANTEES,
    PermissionAction,
    cross_check,
    format_loc,
    lookup_key,
    raw_field,
)

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_EMOJI = re.compile(r"[a-z0-9_+'-]+")
_T = TypeVar("_T")


class PolicyLookupError(LookupError):
    """An id or name that the policy does not define; the message lists what it does define."""


def _identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise PydanticCustomError(
            "identifier",
            "ids use letters, digits, '-' and '_' (at most 32, e.g. 'P1', 'SEV-1', 'tech_lead'),"
            " got '{value}'",
            {"value": value},
        )
    return value


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://\S+", value):
        raise PydanticCustomError("url", "must be an http(s):// link")
    return value


def _emoji(value: str) -> str:
    name = value.strip().strip(":")
    if not _EMOJI.fullmatch(name):
        raise PydanticCustomError("emoji", "must be an emoji name such as 'pushpin'")
    return name


def _template(value: str) -> str:
    import jinja2

    try:
        jinja2.Environment().parse(value)
    except jinja2.TemplateSyntaxError as exc:
        raise PydanticCustomError(
            "template",
            "invalid Jinja2 template at line {line}: {error}",
            {"line": exc.lineno, "error": exc.message or str(exc)},
        ) from None
    return value


def _channel_name(value: str) -> str:
    problems = channel_template_problems(value)
    if problems:
        raise PydanticCustomError("channel_name", "; ".join(problems))
    return value


def _non_empty_text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("text", "must not be empty")
    return value.strip()


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _non_empty(what: str) -> AfterValidator:
    def check(value: tuple[Any, ...]) -> tuple[Any, ...]:
        if not value:
            raise PydanticCustomError("empty", "must list at least one {what}", {"what": what})
        return value

    return AfterValidator(check)


Identifier = Annotated[str, AfterValidator(_identifier)]
Text = Annotated[str, AfterValidator(_non_empty_text)]
Url = Annotated[str, AfterValidator(_url)]
ChannelTarget = Annotated[Target, AfterValidator(channel_target)]
InviteTarget = Annotated[Target, AfterValidator(invite_target)]
JinjaTemplate = Annotated[str, AfterValidator(_template)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


PAGERDUTY = "pagerduty"  # the `notify` target that pages through PagerDuty (Events API v2)
PagerDutySeverity = Literal["critical", "error", "warning", "info"]


def _pages(data: Any) -> Any:
    """`notify: [pagerduty, …]` → `pages: true` and the other targets (YAML-shaped data)."""
    notify = data.get("notify") if isinstance(data, Mapping) else None
    if not isinstance(notify, list | tuple):
        return data

    def is_pagerduty(target: Any) -> bool:
        return isinstance(target, str) and target.strip().lower() == PAGERDUTY

    if not any(is_pagerduty(t) for t in notify):
        return data
    return {**data, "notify": [t for t in notify if not is_pagerduty(t)], "pages": True}


class EscalationStep(_Model):
    """While nobody has acknowledged, ``after`` the declaration: notify (and optionally invite)."""

    after: Duration
    notify: tuple[Target, ...] = ()
    invite: tuple[InviteTarget, ...] = ()
    pages: StrictBool = False  # `pagerduty` in `notify`: the incident is paged (once)

    _split = model_validator(mode="before")(_pages)

    @model_validator(mode="after")
    def _reaches_someone(self) -> Self:
        if not self.notify and not self.invite and not self.pages:
            raise PydanticCustomError("escalation", "a step must notify or invite someone")
        return self


class Postmortem(_Model):
    required: StrictBool = False
    due: Duration | None = None  # after resolution; None: no due date
    # The commander is reminded this long before the due time (default: 24h, or half the
    # window when that is shorter), at the due time, then daily while overdue.
    remind_before: Duration | None = None

    def first_reminder_before(self) -> timedelta | None:
        if self.due is None:
            return None
        if self.remind_before is not None:
            return min(self.remind_before, self.due)
        return min(timedelta(hours=24), self.due / 2)


class Severity(_Model):
    id: Identifier
    name: Text
    description: str = ""
    examples: tuple[str, ...] = ()
    respond_within: Duration | None = None
    ack_within: Duration | None = None  # escalation starts when nobody acknowledged by then
    update_every: Duration | None = None  # None: no periodic status-update reminders
    notify: tuple[Target, ...] = ()  # told at declaration
    invite: tuple[InviteTarget, ...] = ()  # invited into the incident channel at declaration
    escalation: tuple[EscalationStep, ...] = ()  # only while unacknowledged, from declaration
    postmortem: Postmortem = Postmortem()
    monitor_for: Duration | None = None  # how long to watch after the fix before resolving
    pages: StrictBool = False  # `pagerduty` in `notify`: paged at declaration (or on a raise)
    pagerduty_severity: PagerDutySeverity | None = None  # default: by rank (see pagerduty.py)

    _split = model_validator(mode="before")(_pages)


class Role(_Model):
    id: Identifier
    name: Text
    description: str = ""
    lead: StrictBool = False
    aliases: tuple[Text, ...] = ()  # more words `/incident assign <role>` accepts, e.g. "ic"

    def matches(self, text: str) -> bool:
        key = lookup_key(text)
        return key in {lookup_key(word) for word in (self.id, self.name, *self.aliases)}


class IncidentType(_Model):
    id: Identifier
    name: Text
    description: str = ""
    private: StrictBool = False  # private channel; never in announcements, digests, lists, stats
    default_severity: str | None = None
    notify: tuple[Target, ...] = ()
    invite: tuple[InviteTarget, ...] = ()
    runbook: Url | None = None


DEFAULT_PERMISSIONS: Mapping[PermissionAction, tuple[str, ...]] = MappingProxyType(
    {
        "resolve": ("commander", "tech_lead"),
        "close": ("commander", "tech_lead"),
        "severity": ("commander", "tech_lead"),
        "assign": ("commander", "tech_lead"),
        "update": ("members",),
        "note": ("members",),
        "ack": ("members",),
        "action": ("members",),
        # Correcting the record: delete or re-time timeline entries, close others' action items.
        "timeline": ("commander", "scribe"),
    }
)
Grantees = Annotated[
    tuple[Identifier, ...],
    BeforeValidator(_listed),
    _non_empty("role id, 'members' or 'anyone'"),
]


class Permissions(_Model):
    """Who may do what: role ids (holders of that role in the incident), ``members`` (of the
    incident channel) or ``anyone``."""

    resolve: Grantees = DEFAULT_PERMISSIONS["resolve"]
    close: Grantees = DEFAULT_PERMISSIONS["close"]
    severity: Grantees = DEFAULT_PERMISSIONS["severity"]
    assign: Grantees = DEFAULT_PERMISSIONS["assign"]
    update: Grantees = DEFAULT_PERMISSIONS["update"]
    note: Grantees = DEFAULT_PERMISSIONS["note"]
    ack: Grantees = DEFAULT_PERMISSIONS["ack"]
    action: Grantees = DEFAULT_PERMISSIONS["action"]
    timeline: Grantees = DEFAULT_PERMISSIONS["timeline"]

    def allowed(self, action: PermissionAction) -> tuple[str, ...]:
        grantees: tuple[str, ...] = getattr(self, action)
        return grantees


class Drills(_Model):
    reminders: StrictBool = False  # practice incidents are quiet unless the policy says so
    # A drill invites its declarer and commander only (nobody is paged for practice) unless
    # the policy says the severity's and type's responders practise too.
    invite_responders: StrictBool = False


DEFAULT_SNOOZE = (timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1))


class Digest(_Model):
    # In a policy it defaults to the policy's announce channel (see Policy._fill_defaults).
    channel: ChannelTarget = Target.parse("#incident-response")
    cron: CronExpr = "0 9 * * MON"
    timezone: TimeZoneName = "UTC"


def _label_name(value: str) -> str:
    if not value.strip() or len(value) > 100:
        raise PydanticCustomError("label", "an alert label name of 1 to 100 characters")
    return value.strip()


class Alerts(_Model):
    """Alert intake (Alertmanager, Grafana, generic webhooks) → triage incidents."""

    # Where triage messages go; None: the announce channel (see Policy._fill_defaults).
    channel: ChannelTarget | None = None
    # The alert label read for the severity (`severity: critical`), and what each value means.
    severity_label: Annotated[str, AfterValidator(_label_name)] = "severity"
    # Unmapped values leave the severity to whoever presses Declare.
    severity_map: dict[str, str] = {}
    # Label values declared at once (the channel provisioned), without a human's Declare;
    # only values the map gives a severity.
    auto_declare: tuple[str, ...] = ()


ComponentStatus = Literal["degraded_performance", "partial_outage", "major_outage"]


class StatusPage(_Model):
    """What reaches the public status page (Atlassian Statuspage), when it is configured."""

    # Public incidents of these severities offer "Publish to status page" on their updates.
    severities: tuple[str, ...] = ()
    # The components an update may mark as affected: a name people know → Statuspage's id.
    components: dict[str, str] = {}
    # How an affected component is shown, by severity (default by rank: major_outage for the
    # most severe, partial_outage for the next, degraded_performance below).
    component_status: dict[str, ComponentStatus] = {}


class Templates(_Model):
    """Jinja2 sources replacing the built-in texts (the variables are the templates module's)."""

    announcement: JinjaTemplate | None = None
    status_update: JinjaTemplate | None = None
    resolution: JinjaTemplate | None = None
    postmortem: JinjaTemplate | None = None


DEFAULT_ROLES = (
    Role(id="commander", name="Incident Commander", lead=True, aliases=("ic",)),
    Role(id="tech_lead", name="Technical Lead", aliases=("tl",)),
    Role(id="comms", name="Communications Lead"),
    Role(id="scribe", name="Scribe"),
)


class Policy(_Model):
    announce_channel: ChannelTarget = Target.parse("#incident-response")
    channel_name: Annotated[str, AfterValidator(_channel_name)] = "inc-{number}-{slug}"
    severities: Annotated[tuple[Severity, ...], _non_empty("severity")]  # most severe first
    roles: Annotated[tuple[Role, ...], _non_empty("role")] = DEFAULT_ROLES
    types: tuple[IncidentType, ...] = ()
    permissions: Permissions = Permissions()
    share_updates: StrictBool = True  # status updates also go to the announce channel by default
    archive_after: Duration | None = None  # archive the channel this long after close
    digest: Digest | None = None
    timeline_emoji: Annotated[str, AfterValidator(_emoji)] = "pushpin"
    # How the post-mortem draft reaches the channel: a Markdown file, or the channel's canvas.
    postmortem_format: Literal["file", "canvas"] = "file"
    # The clock (bot/flows/alarms.py): the update reminder's one-off delays, the nudge when
    # nobody took command, the daily nudge of an incident left open, drills' reminders.
    snooze: Annotated[tuple[Duration, ...], _non_empty("snooze duration")] = DEFAULT_SNOOZE
    roles_nudge_after: Duration | None = timedelta(minutes=5)
    stale_after: Duration | None = timedelta(days=7)
    drills: Drills = Drills()
    alerts: Alerts = Alerts()
    statuspage: StatusPage = StatusPage()
    templates: Templates = Templates()

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        """Defaults that depend on other keys: the digest goes to the announce channel; unset
        permissions name the default roles this policy has (else its lead role)."""
        if not isinstance(data, Mapping):
            return data
        filled = dict(data)
        digest = data.get("digest")
        if isinstance(digest, Mapping) and "channel" not in digest:
            announce = data.get("announce_channel", cls.model_fields["announce_channel"].default)
            filled["digest"] = {**digest, "channel": announce}
        permissions = data.get("permissions", {})
        if isinstance(permissions, Mapping):
            roles = data.get("roles", DEFAULT_ROLES)
            roles = roles if isinstance(roles, list | tuple) else ()
            role_ids = {raw_field(role, "id") for role in roles}
            leads = [raw_field(role, "id") for role in roles if raw_field(role, "lead") is True]
            given = dict(permissions)
            for action, default in DEFAULT_PERMISSIONS.items():
                if action not in given:
                    kept = tuple(g for g in default if g in SPECIAL_GRANTEES or g in role_ids)
                    given[action] = kept or (tuple(leads[:1]) or ("members",))
            filled["permissions"] = given
        return filled

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        problems = cross_check(self.model_dump(mode="json"))
        if problems:
            text = "; ".join(f"{format_loc(loc)}: {message}" for loc, message in problems)
            raise PydanticCustomError("policy_cross_check", text)
        return self

    # -- lookups (ids compare as lookup_key does: case, spaces, '-' and '_' ignored) --

    @property
    def severity_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.severities)

    @property
    def role_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.roles)

    @property
    def type_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.types)

    def find_severity(self, severity_id: str) -> Severity | None:
        return next(
            (s for s in self.severities if lookup_key(s.id) == lookup_key(severity_id)), None
        )

    def severity(self, severity_id: str) -> Severity:
        """The severity with this id; raises :class:`PolicyLookupError` naming the known ids."""
        return _found(self.find_severity(severity_id), "severity", severity_id, self.severity_ids)

    def rank(self, severity_id: str) -> int:
        """0 for the most severe; raises :class:`PolicyLookupError` for unknown ids."""
        return self.severities.index(self.severity(severity_id))

    @property
    def lead_role(self) -> Role:
        return next(r for r in self.roles if r.lead)

    def find_role(self, id_or_name: str) -> Role | None:
        """By id, name or alias, ignoring case, spaces, '-' and '_' ("tech lead" → tech_lead)."""
        return next((r for r in self.roles if r.matches(id_or_name)), None)

    def role(self, id_or_name: str) -> Role:
        return _found(self.find_role(id_or_name), "role", id_or_name, self.role_ids)

    def find_incident_type(self, type_id: str) -> IncidentType | None:
        return next((t for t in self.types if lookup_key(t.id) == lookup_key(type_id)), None)

    def incident_type(self, type_id: str) -> IncidentType:
        return _found(self.find_incident_type(type_id), "incident type", type_id, self.type_ids)

    def is_private_type(self, type_id: str | None) -> bool:
        """Whether incidents of this type are private; ``None`` or an unknown id is not."""
        found = self.find_incident_type(type_id) if type_id else None
        return found is not None and found.private

    def allowed(self, action: PermissionAction) -> tuple[str, ...]:
        return self.permissions.allowed(action)

    @property
    def channel_placeholders(self) -> tuple[str, ...]:
        """The placeholders ``channel_name`` uses, in order of first use."""
        return channel_template_placeholders(self.channel_name)

    def channel_name_for(
        self,
        number: int,
        slug: str = "",
        *,
        severity: str = "",
        type_id: str = "",
        on: date | None = None,
    ) -> str:
        """The incident channel's name; see :func:`render_channel_name`."""
        return render_channel_name(
            self.channel_name, number=number, slug=slug, severity=severity, type_id=type_id, on=on
        )


def _found(item: _T | None, what: str, wanted: str, known: Sequence[str]) -> _T:
    if item is None:
        raise PolicyLookupError(f"unknown {what} {wanted!r} (known: {', '.join(known) or 'none'})")
    return item
