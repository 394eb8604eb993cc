"""The incident procedure people read, rendered from the policy the bot enforces.

:func:`render_procedure` turns a :class:`Policy` into GitHub-flavoured Markdown or a small
standalone HTML page: severities, roles, incident types, channels, permissions and the clock.
Both formats render the same blocks, built from the object the bot runs on, so the written
procedure and the behaviour cannot drift apart. Every text from the policy is escaped for the
format. Pure: no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal
from urllib.parse import quote

from bot.policy.durations import format_duration
from bot.policy.models import EscalationStep, IncidentType, Policy, Postmortem, Role, Severity
from bot.policy.naming import Target
from bot.policy.rules import PERMISSION_ACTIONS, PermissionAction

__all__ = ["DEFAULT_TITLE", "render_procedure"]

DEFAULT_TITLE = "Incident response procedure"
NONE = "—"
_EXAMPLE_DAY = date(2025, 1, 31)  # for the example channel name: the document stays stable

# -- a tiny document model: both formats render the same blocks --------------------------------

Span = tuple[Literal["text", "code", "link"], str]
Inline = tuple[Span, ...]


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Para:
    inline: Inline


@dataclass(frozen=True)
class _Bullets:
    items: tuple[Inline, ...]


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]


_Block = _Heading | _Para | _Bullets | _Table


def _t(text: str) -> Inline:
    """Text, from the policy or not: always escaped."""
    return (("text", text),) if text else ()


def _c(text: str) -> Inline:
    return (("code", text),)


def _f(fixed: str) -> Inline:
    """This module's own wording, where `backticks` mark code (never for policy text)."""
    parts = fixed.split("`")
    return tuple(("code" if i % 2 else "text", part) for i, part in enumerate(parts) if part)


def _cat(*parts: Inline) -> Inline:
    return tuple(span for part in parts for span in part)


def _join(parts: Iterable[Inline], sep: str = ", ", last: str | None = None) -> Inline:
    items = [part for part in parts if part]
    out: Inline = ()
    for i, part in enumerate(items):
        if i:
            out += _t(last if last is not None and i == len(items) - 1 else sep)
        out += part
    return out


def _or_none(inline: Inline) -> Inline:
    return inline or _t(NONE)


def _duration(value: timedelta | None) -> Inline:
    return _t(format_duration(value) if value is not None else NONE)


def _targets(targets: Sequence[Target]) -> Inline:
    return _join(_c(str(target)) for target in targets)


# -- the sections ------------------------------------------------------------------------------


def _postmortem(rule: Postmortem) -> Inline:
    if not rule.required:
        return _t("not required")
    if rule.due is None:
        return _t("required, no due date")
    before = rule.first_reminder_before() or rule.due
    return _t(
        f"required, due {format_duration(rule.due)}, reminder {format_duration(before)} before"
    )


def _escalation(steps: Sequence[EscalationStep]) -> Inline:
    chain = []
    for step in steps:
        reached = [_targets(step.notify)]
        if step.invite:
            reached.append(_cat(_t("invite "), _targets(step.invite)))
        chain.append(_cat(_t(f"after {format_duration(step.after)}: "), _join(reached, " and ")))
    return _or_none(_join(chain, "; "))


_POSTMORTEM_NOTE = (
    " is reminded before the due time, at it, then daily while overdue, until"
    " `/incident postmortem done <link>` records the final document."
)
_PRIVATE_NOTE = (
    "Private incidents and drills are not announced and nobody in “Who is told” hears of them;"
    " escalation of a private incident tells people, never channels."
)
_SEVERITY_COLUMNS: tuple[tuple[str, Callable[[Severity], Inline]], ...] = (
    ("Severity", lambda s: _t(s.id)),
    ("Name", lambda s: _t(s.name)),
    ("Description", lambda s: _or_none(_t(s.description))),
    ("Examples", lambda s: _or_none(_join((_t(example) for example in s.examples), "; "))),
    ("Respond within", lambda s: _duration(s.respond_within)),
    ("Acknowledge within", lambda s: _duration(s.ack_within)),
    ("Update every", lambda s: _duration(s.update_every)),
    ("Who is told", lambda s: _or_none(_targets(s.notify))),
    ("Who is invited", lambda s: _or_none(_targets(s.invite))),
    ("Escalation while unacknowledged", lambda s: _escalation(s.escalation)),
    ("Post-mortem", lambda s: _postmortem(s.postmortem)),
    ("Monitor for", lambda s: _duration(s.monitor_for)),
)


def _severities(policy: Policy) -> list[_Block]:
    header = tuple(name for name, _ in _SEVERITY_COLUMNS)
    rows = tuple(tuple(cell(s) for _, cell in _SEVERITY_COLUMNS) for s in policy.severities)
    lead = _t(policy.lead_role.name)
    notes = (
        _f("Most severe first. Respond within: how soon someone should be working on it."),
        _f("Acknowledge within: if nobody has acknowledged by then, the channel is told once."),
        _f(
            "Update every: the channel is reminded when a status update is due"
            f" ({NONE}: only when an update asks for the next one)."
        ),
        _f("Escalation counts from the declaration and runs only while nobody has acknowledged."),
        _cat(_f("Post-mortem: due counts from resolution. The "), lead, _f(_POSTMORTEM_NOTE)),
        _f("Monitor for: how long to watch after the fix before resolving (guidance only)."),
        _f(_PRIVATE_NOTE),
    )
    return [_Heading(2, "Severities"), _Table(header, rows), _Bullets(notes)]


def _role_row(role: Role) -> tuple[Inline, ...]:
    words = _join([_c(role.id), *(_c(alias) for alias in role.aliases)])
    return (_t(role.name + (" (lead)" if role.lead else "")), words, _or_none(_t(role.description)))


def _roles(policy: Policy) -> list[_Block]:
    intro = _cat(
        _f("`/incident assign <role> @user` takes a role's id, name or alias (case, spaces,"),
        _f(" `-` and `_` do not matter). When nobody has taken command, the bot asks for the "),
        _t(policy.lead_role.name),
        _f("."),
    )
    rows = tuple(_role_row(role) for role in policy.roles)
    return [_Heading(2, "Roles"), _Para(intro), _Table(("Role", "Id and aliases", "Duties"), rows)]


def _default_severity(policy: Policy, kind: IncidentType) -> Inline:
    severity = policy.find_severity(kind.default_severity) if kind.default_severity else None
    return _t(severity.id if severity is not None else NONE)


def _type_told(kind: IncidentType) -> Inline:
    told = _targets(kind.notify)
    return _or_none(_cat(_t("nobody (private), not "), told) if kind.private and told else told)


_TYPE_COLUMNS: tuple[tuple[str, Callable[[Policy, IncidentType], Inline]], ...] = (
    ("Type", lambda _, k: _t(k.name)),
    ("Id", lambda _, k: _c(k.id)),
    ("Description", lambda _, k: _or_none(_t(k.description))),
    ("Private", lambda _, k: _t("yes" if k.private else "no")),
    ("Default severity", _default_severity),
    ("Who is told", lambda _, k: _type_told(k)),
    ("Who is invited", lambda _, k: _or_none(_targets(k.invite))),
    ("Runbook", lambda _, k: (("link", k.runbook),) if k.runbook else _t(NONE)),
)


def _types(policy: Policy) -> list[_Block]:
    if not policy.types:
        return [_Heading(2, "Incident types"), _Para(_t("None: incidents have no type."))]
    intro = _f(
        "A type's people are told and invited on top of the severity's; its runbook is"
        " bookmarked in the incident channel. Private types get a private channel and never"
        " appear in announcements, shared updates or incident lists outside it; nobody is told"
        " at declaration, only the invited are brought in."
    )
    header = tuple(name for name, _ in _TYPE_COLUMNS)
    rows = tuple(tuple(cell(policy, k) for _, cell in _TYPE_COLUMNS) for k in policy.types)
    return [_Heading(2, "Incident types"), _Para(intro), _Table(header, rows)]


def _channels(policy: Policy) -> list[_Block]:
    kind, severity = policy.types[0].id if policy.types else "", policy.severities[0].id
    example = policy.channel_name_for(
        42, "db-down", severity=severity, type_id=kind, on=_EXAMPLE_DAY
    )
    announce = _c(str(policy.announce_channel))
    if policy.share_updates:
        share = _cat(_f("also shared to "), announce, _f(" unless the poster unticks it"))
    else:
        share = _cat(_f("stay in the incident channel unless the poster shares them to "), announce)
    after = policy.archive_after
    rows = (
        (_f("Incident channel"), _cat(_c(policy.channel_name), _f(", e.g. "), _c(example))),
        (_f("Announcements"), _cat(_f("every declaration is posted in "), announce)),
        (_f("Status updates"), share),
        (_f("Private incidents, drills"), _f("never announced, updates never shared")),
        (_f("Archive"), _f(f"{format_duration(after)} after closing" if after else "never")),
    )
    return [_Heading(2, "Channels and announcements"), _Table(("Setting", "Rule"), rows)]


_ACTIONS: dict[PermissionAction, str] = {
    "resolve": "Resolve the incident, or reopen it",
    "close": "Close a resolved incident",
    "severity": "Change the severity",
    "assign": "Assign roles (or take a role someone else holds)",
    "update": "Post status updates, snooze the update reminder, take a vacant role",
    "note": "Add notes to the timeline, ask for a post-mortem draft, record the final one",
    "ack": "Acknowledge the incident",
    "action": "Record action items",
    "timeline": "Correct the timeline (delete or re-time entries), close others' action items",
}


def _who_may(policy: Policy, grantees: Sequence[str]) -> Inline:
    names = []
    for grantee in grantees:
        role = policy.find_role(grantee)
        if grantee in ("members", "anyone"):
            names.append(_t("members of the incident channel" if grantee == "members" else grantee))
        else:
            names.append(_t(f"the {role.name}") if role is not None else _c(grantee))
    return _or_none(_join(names, ", ", " or "))


def _permissions(policy: Policy) -> list[_Block]:
    rows = tuple(
        (_t(_ACTIONS.get(action, action)), _who_may(policy, policy.allowed(action)))
        for action in PERMISSION_ACTIONS
    )
    intro = _Para(_f("A role means whoever holds it in the incident."))
    return [_Heading(2, "Who may do what"), intro, _Table(("Action", "Who may"), rows)]


_DRILLS = {
    True: "practice incidents (`/incident drill`) get reminders, ack notices and escalation",
    False: "practice incidents (`/incident drill`) get no reminders, ack notices or escalation",
}
_DRILL_INVITES = {
    True: "the severity's and type's responders, as for a real incident",
    False: "the declarer and the commander they name; nobody else is paged",
}
_DRAFT = {"canvas": "written to the channel's canvas", "file": "posted as a Markdown file"}


def _digest(policy: Policy) -> Inline:
    digest = policy.digest
    if digest is None:
        return _f("none")
    return _cat(
        _f("posted to "),
        _t(str(digest.channel)),
        _f(" on the schedule "),
        _c(digest.cron),
        _f(f" ({digest.timezone}): the figures of the period, open incidents, overdue work"),
    )


def _clock(policy: Policy) -> list[_Block]:
    snooze = _join((_t(format_duration(d)) for d in policy.snooze), ", ", " or ")
    nudge, stale = policy.roles_nudge_after, policy.stale_after
    if nudge is None:
        command = _f("no nudge")
    else:
        lead = _t(policy.lead_role.name)
        command = _cat(_f(f"after {format_duration(nudge)}, one nudge if nobody is "), lead)
    emoji = _c(f":{policy.timeline_emoji}:")
    rows = (
        (_f("Snoozing the update reminder"), _cat(snooze, _f(", once: the cadence never moves"))),
        (_f("Nobody in command"), command),
        (
            _f("Incidents left open"),
            _f(f"still open {format_duration(stale)} after declaration: a daily nudge")
            if stale
            else _f("no nudge"),
        ),
        (_f("Drills"), _f(_DRILLS[policy.drills.reminders])),
        (_f("Who a drill invites"), _f(_DRILL_INVITES[policy.drills.invite_responders])),
        (_f("Timeline"), _cat(_f("react to a message with "), emoji, _f(" to add it there"))),
        (_f("Post-mortem draft"), _f(_DRAFT[policy.postmortem_format])),
        (_f("Incident digest"), _digest(policy)),
    )
    return [_Heading(2, "Reminders and the clock"), _Table(("What", "Rule"), rows)]


def _document(policy: Policy, title: str) -> list[_Block]:
    intro = _f(
        "Generated from the incident policy the bot enforces: to change it, change the policy."
    )
    blocks: list[_Block] = [_Heading(1, title), _Para(intro)]
    for section in (_severities, _roles, _types, _channels, _permissions, _clock):
        blocks += section(policy)
    return blocks


# -- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$#])")
_CODE_SAFE = re.compile(r"[^`|\\\s](?:[^`|\\\r\n\t]*[^`|\\\s])?")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%"


def _md_text(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text))


def _md_inline(inline: Inline) -> str:
    out = []
    for kind, value in inline:
        if kind == "code" and _CODE_SAFE.fullmatch(value):
            out.append(f"`{value}`")
        elif kind == "link":
            out.append(f"<{quote(value, safe=_URL_SAFE)}>")
        else:
            out.append(_md_text(value))
    return "".join(out)


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_block(block: _Block) -> str:
    if isinstance(block, _Heading):
        return "#" * block.level + " " + _md_text(block.text)
    if isinstance(block, _Para):
        return _md_inline(block.inline)
    if isinstance(block, _Bullets):
        return "\n".join(f"- {_md_inline(item)}" for item in block.items)
    lines = [_md_row(map(_md_text, block.header)), _md_row("---" for _ in block.header)]
    return "\n".join(lines + [_md_row(map(_md_inline, row)) for row in block.rows])


# -- HTML --------------------------------------------------------------------------------------

_STYLE = """\
body { font-family: system-ui, sans-serif; line-height: 1.45; margin: 2rem; color: #1d1d1f; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #c8c8cc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th, code { background: #f2f2f5; }
tbody tr:nth-child(even) { background: #fafafc; }"""


_HTML_SPANS = {"text": "{0}", "code": "<code>{0}</code>", "link": '<a href="{0}">{0}</a>'}


def _html_inline(inline: Inline) -> str:
    return "".join(_HTML_SPANS[kind].format(html.escape(value)) for kind, value in inline)


def _html_block(block: _Block) -> str:
    if isinstance(block, _Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, _Para):
        return f"<p>{_html_inline(block.inline)}</p>"
    if isinstance(block, _Bullets):
        return "<ul>" + "".join(f"\n<li>{_html_inline(i)}</li>" for i in block.items) + "\n</ul>"
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block.header)
    rows = "".join(
        "\n<tr>" + "".join(f"<td>{_html_inline(cell)}</td>" for cell in row) + "</tr>"
        for row in block.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{rows}\n</tbody>\n</table>"


def _html_page(title: str, blocks: Sequence[_Block]) -> str:
    body = "\n".join(_html_block(block) for block in blocks)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def render_procedure(
    policy: Policy,
    *,
    format: Literal["markdown", "html"] = "markdown",
    title: str | None = None,
) -> str:
    """The organisation's incident procedure, from its policy: GitHub-flavoured Markdown or a
    standalone HTML page. Sections: severities, roles, incident types, channels and
    announcements, who may do what, reminders and the clock; missing values read "—"."""
    heading = title if title is not None and title.strip() else DEFAULT_TITLE
    blocks = _document(policy, heading)
    if format == "markdown":
        return "\n\n".join(_md_block(block) for block in blocks) + "\n"
    if format == "html":
        return _html_page(heading, blocks)
    raise ValueError(f"unknown format {format!r}: use 'markdown' or 'html'")
