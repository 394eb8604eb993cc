"""The post-mortem draft as Markdown: a blameless starting point for the team's document.

:func:`render_postmortem` renders the built-in ``postmortem.md.j2``, or a policy's
``templates.postmortem`` source in its place, in a Jinja2 sandbox. Each source is compiled
once and kept.

**Escaping.** Whatever people typed becomes inert Markdown: ``&``, ``<`` and ``>`` turn into
entities (``<!channel>``, ``<@U1>`` and ``<https://x|y>`` stay text), ``\\ [ ] ` * _ ~ |``
are backslash-escaped (no links, code or emphasis), and so is a ``#``, ``-`` or ``=`` that
would make a heading or a rule of a line. On top of the filters, every ``{{ … }}`` whose
value is not already Markdown (a filter's result, a timeline row's ``link``) is passed
through ``md`` on its way out (None prints nothing), so a template that forgets a filter
prints text, never markup.
Write literal Markdown (``_italics_``) in the template text, not inside an expression.

**Variables** (what the built-in template uses; a policy template may use the same):

- every field of :class:`~bot.flows.postmortem.PostmortemDraft` by its name (``number``,
  ``title``, ``severity_id``, ``severity_name``, ``type_name``, ``status``, ``description``,
  ``impact``, ``summary``, ``root_cause``, ``contributing_factors``, ``went_well``,
  ``went_badly``, ``postmortem_link``, the ``*_at`` times …), raw, except ``roles``,
  ``timeline``, ``updates`` and ``action_items``, which come prepared as below;
- ``incident``: the draft itself (``incident.roles`` … are the raw tuples);
- ``label``: ``INC-42``; ``generated_at``: ``2026-11-23 14:05 UTC``; ``date``: the day it
  started (``2026-11-23``);
- ``duration``: from the start (else the declaration) to the end of impact (else the
  resolution); ``time_to_acknowledge``: declaration to first acknowledgement;
  ``time_to_resolve``: declaration to resolution. Each like ``1h 23m``, or None when the end
  is not known yet;
- ``key_times``: ``(event, time)`` pairs for Started, Detected, Declared, Acknowledged,
  Identified, Mitigated and Resolved, only those known;
- ``roles``: a :class:`RoleGroup` per role (``role_id``, ``role_name``, ``terms``), in the
  policy's order; each :class:`RoleTerm` has ``user``, ``since``, ``until`` (None: still
  held) and ``handed_to`` (who took the role over at that very moment, if anyone);
- ``timeline``: :class:`TimelineRow` s in time order (``at``, ``kind``, ``label``, ``event``:
  the text, else the label; ``actor``; ``link``: ``[message](url)`` for an https permalink,
  else empty);
- ``updates``: the draft's status updates by number (``seq``, ``posted_at``, ``status``,
  ``impact``, ``actions``, ``author``);
- ``action_items``: :class:`ActionRow` s, open ones first, then by priority (``text``,
  ``owner``, ``due``: ``YYYY-MM-DD`` or None, ``done``, ``category``: ``Detection`` … or
  None, ``priority``: 1–4 or None, ``priority_name``); ``open_action_items``: how many are
  not done;
- ``categories``: ``(name, what it covers)`` and ``priority_matrix``: ``(impact, effort,
  priority)``, the improvement categories and impact × effort matrix of the seed procedures;
- ``template_problem``: why the policy's template could not be used, else None.

**Filters**: ``md`` (multi-line text, paragraphs kept), ``cell`` (one line, pipes escaped,
at most 500 characters), ``utc`` (``2026-11-23 14:05 UTC``; None → ``—``), ``person`` (a
Slack user id as ``@U123``; None → ``—``), ``link`` (``[text](url)`` for an https URL, other
values as escaped text: ``{{ postmortem_link | link }}``).

**Mistakes in a policy template.** The built-in template is strict (an unknown name is a bug
the tests catch). A policy template is lenient (``ChainableUndefined``): an unknown name, or
an attribute of one, renders empty. Should it fail anyway (an unknown filter, a bad
operation), the built-in draft is rendered instead with a line saying why, so a slip in the
policy never costs the team its draft.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from importlib import resources
from operator import attrgetter
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, Undefined
from jinja2.sandbox import SandboxedEnvironment

from bot.flows.invisible import BIDI_CONTROLS
from bot.flows.postmortem import (
    ActionLine,
    PostmortemDraft,
    RoleHolding,
    TimelineLine,
    UpdateLine,
)
from bot.templates.ops_common import as_utc, format_elapsed, utc_words
from bot.templates.text import truncate
from bot.templates.timeline import kind_label


class Markdown(str):
    """Text already safe in the document: the output step prints it as it is."""


TEMPLATE_NAME = "postmortem.md.j2"
CELL_LIMIT = 500
PERSON_LIMIT = 40
PROBLEM_LIMIT = 300
NOBODY = "—"
NO_LINK = Markdown("")

CATEGORIES = {
    "detection": ("Detection", "monitoring, alerting and observability"),
    "response": ("Response", "procedures, tooling and automation"),
    "recovery": ("Recovery", "backup, restore and disaster recovery"),
    "prevention": ("Prevention", "architecture, quality and resilience"),
}
PRIORITIES = {
    1: ("High", "Low", "Immediate"),
    2: ("High", "High", "Planned project"),
    3: ("Low", "Low", "Quick win"),
    4: ("Low", "High", "Consider an alternative"),
}

# One pass does it all: escapes, and characters that have no business in a document go
# (C0 controls, tabs excepted, and the bidi controls that can make text read as other text).
_MARKDOWN = str.maketrans(
    {
        "\\": "\\\\",  # or a typed `\[` would cancel the escape that keeps `[` text
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        **{char: "\\" + char for char in "[]`*_~|"},
        **dict.fromkeys([*map(chr, range(0x20)), "\x7f", *BIDI_CONTROLS]),
        "\t": " ",
    }
)
# A line that is only `-`/`=` (and spaces) turns the line above into a heading, or is a rule.
_RULE_LINE = re.compile(r"[-=][-=\s]*")
# A Slack id as is: an `_` between letters or digits can neither open nor close emphasis.
_USER_ID = re.compile(r"[UWB][A-Z0-9]*(?:_[A-Z0-9]+)*")
_LINK_URL = re.compile(r"https://[^\s()<>\[\]`\\\"']+")


# -- filters -------------------------------------------------------------------------------


def _escape_line(line: str) -> str:
    """One line of text (no line breaks left in it) as Markdown."""
    line = line.translate(_MARKDOWN).strip()
    if line.startswith("#") or _RULE_LINE.fullmatch(line):
        return "\\" + line
    return line


def md(text: object) -> Markdown:
    """Free text as Markdown text: escaped, one paragraph per blank-line-separated block,
    lines kept (but not their indentation, which would make code blocks)."""
    if isinstance(text, Markdown):
        return text
    if text is None or isinstance(text, Undefined):
        return Markdown("")
    kept: list[str] = []
    for line in map(_escape_line, str(text).splitlines()):
        if line or (kept and kept[-1]):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return Markdown("\n".join(kept))


def cell(text: object, limit: int = CELL_LIMIT) -> Markdown:
    """Text for a table cell or a list item: one line, escaped, at most `limit` characters
    of the original (cut before escaping, so no escape is ever cut in half)."""
    if isinstance(text, Markdown):
        return Markdown(" ".join(text.split()))
    if text is None or isinstance(text, Undefined):
        return Markdown("")
    flat = " ".join(str(text).split())
    return Markdown(_escape_line(truncate(flat, limit) if flat else ""))


def utc(moment: object) -> Markdown:
    if isinstance(moment, datetime):
        return Markdown(utc_words(moment))
    return md(moment) if moment else Markdown(NOBODY)


def person(user: object) -> Markdown:
    """`@U123`; not a Slack id, it is escaped text all the same."""
    if user is None or isinstance(user, Undefined):
        return Markdown(NOBODY)
    return _person(str(user))


@functools.lru_cache(maxsize=1024)  # an incident has a handful of people, on every row
def _person(user: str) -> Markdown:
    if len(user) <= PERSON_LIMIT and _USER_ID.fullmatch(user):
        return Markdown("@" + user)
    name = cell(user, PERSON_LIMIT)
    return Markdown("@" + name if name else NOBODY)


def _finalize(value: Any) -> Any:
    if isinstance(value, Markdown | Undefined):
        return value  # StrictUndefined raises when printed, ChainableUndefined prints ""
    return "" if value is None else md(value)


# -- what the template gets ------------------------------------------------------------------


@dataclass(frozen=True)
class RoleTerm:
    user: str
    since: datetime
    until: datetime | None
    handed_to: str | None


@dataclass(frozen=True)
class RoleGroup:
    role_id: str
    role_name: str
    terms: tuple[RoleTerm, ...]


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    kind: str
    label: str
    event: str
    actor: str | None
    link: Markdown


@dataclass(frozen=True)
class ActionRow:
    text: str
    owner: str | None
    due: str | None
    done: bool
    category: str | None
    priority: int | None
    priority_name: str | None


def _elapsed(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    return format_elapsed(end - start)


def _key_times(draft: PostmortemDraft) -> list[tuple[str, str]]:
    moments = (
        ("Started", draft.started_at),
        ("Detected", draft.detected_at),
        ("Declared", draft.declared_at),
        ("Acknowledged", draft.acknowledged_at),
        ("Identified", draft.identified_at),
        ("Mitigated", draft.mitigated_at),
        ("Resolved", draft.resolved_at),
    )
    return [(event, utc_words(at)) for event, at in moments if at is not None]


def _role_groups(holdings: Iterable[RoleHolding]) -> list[RoleGroup]:
    grouped: dict[str, list[RoleHolding]] = {}
    for holding in holdings:
        grouped.setdefault(holding.role_id, []).append(holding)
    groups = []
    for role_id, held in grouped.items():
        terms = []
        for current, following in zip(held, [*held[1:], None], strict=True):
            handed = following is not None and following.assigned_at == current.ended_at
            terms.append(
                RoleTerm(
                    user=current.user,
                    since=current.assigned_at,
                    until=current.ended_at,
                    handed_to=following.user if handed and following is not None else None,
                )
            )
        groups.append(RoleGroup(role_id, held[0].role_name, tuple(terms)))
    return groups


def link(url: object, text: str | None = None) -> Markdown:
    """`[text](url)` (text defaults to the URL) for an https URL that cannot break out of the
    link; any other value as plain escaped text, and nothing for None."""
    if url is None or isinstance(url, Undefined):
        return Markdown("")
    target = str(url).strip()
    if not _is_link(target):
        return cell(target)
    return Markdown(f"[{cell(target if text is None else text)}]({target})")


def _is_link(url: str | None) -> bool:
    """An https URL with nothing in it that could end the link early or start markup."""
    return url is not None and _LINK_URL.fullmatch(url) is not None


def _timeline_rows(draft: PostmortemDraft) -> list[TimelineRow]:
    rows = []
    for line in sorted(draft.timeline, key=attrgetter("at")):
        label = kind_label(line.kind)
        rows.append(
            TimelineRow(
                at=line.at,
                kind=line.kind,
                label=label,
                event=line.text if line.text.strip() else label,
                actor=line.actor,
                link=link(line.permalink, "message") if _is_link(line.permalink) else NO_LINK,
            )
        )
    return rows


def _action_rows(draft: PostmortemDraft) -> list[ActionRow]:
    ordered = sorted(
        draft.action_items,
        key=lambda item: (item.done, item.priority is None, item.priority or 0),
    )
    return [
        ActionRow(
            text=item.text,
            owner=item.owner,
            due=item.due_on.isoformat() if item.due_on is not None else None,
            done=item.done,
            category=CATEGORIES[item.category][0] if item.category in CATEGORIES else None,
            priority=item.priority if item.priority in PRIORITIES else None,
            priority_name=PRIORITIES[item.priority][2] if item.priority in PRIORITIES else None,
        )
        for item in ordered
    ]


def postmortem_context(
    draft: PostmortemDraft, *, generated_at: datetime, template_problem: str | None = None
) -> dict[str, Any]:
    """The variables of the module doc, for `draft` made at `generated_at`."""
    start = draft.started_at or draft.declared_at
    actions = _action_rows(draft)
    raw = {f.name: getattr(draft, f.name) for f in fields(draft)}
    return raw | {
        "incident": draft,
        "label": f"INC-{draft.number}",
        "generated_at": utc_words(generated_at),
        "date": as_utc(start).date().isoformat(),
        "duration": _elapsed(start, draft.impact_ended_at or draft.resolved_at),
        "time_to_acknowledge": _elapsed(draft.declared_at, draft.acknowledged_at),
        "time_to_resolve": _elapsed(draft.declared_at, draft.resolved_at),
        "key_times": _key_times(draft),
        "roles": _role_groups(draft.roles),
        "timeline": _timeline_rows(draft),
        "updates": sorted(draft.updates, key=attrgetter("seq")),
        "action_items": actions,
        "open_action_items": sum(not item.done for item in actions),
        "categories": list(CATEGORIES.values()),
        "priority_matrix": [
            (impact, effort, f"{n} – {name}") for n, (impact, effort, name) in PRIORITIES.items()
        ],
        "template_problem": template_problem,
    }


# -- rendering -------------------------------------------------------------------------------


class _Sandbox(SandboxedEnvironment):
    """The sandbox, minus its inspection of our own records' fields: they are plain data, and
    the check would cost more than everything else a 10 000-row timeline needs."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if type(obj) in _RECORDS and not attr.startswith("_"):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))


_DRAFT_RECORDS = (PostmortemDraft, RoleHolding, TimelineLine, UpdateLine, ActionLine)
_RECORDS = frozenset((*_DRAFT_RECORDS, RoleGroup, RoleTerm, TimelineRow, ActionRow))


@functools.cache
def _environment(lenient: bool) -> SandboxedEnvironment:
    env = _Sandbox(
        autoescape=False,
        undefined=ChainableUndefined if lenient else StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(md=md, cell=cell, utc=utc, person=person, link=link)
    return env


@functools.lru_cache(maxsize=16)
def _compiled(source: str, lenient: bool) -> Template:
    return _environment(lenient).from_string(source)


@functools.cache
def default_template_source() -> str:
    return resources.files("bot.templates").joinpath(TEMPLATE_NAME).read_text("utf-8")


def render_postmortem(
    draft: PostmortemDraft, *, template: str | None = None, generated_at: datetime
) -> str:
    """The draft as Markdown; `template` is a policy's Jinja2 source replacing the built-in."""
    builtin = default_template_source()
    if template is not None:
        try:
            return _compiled(template, True).render(
                postmortem_context(draft, generated_at=generated_at)
            )
        except Exception as exc:  # anything a policy's template does wrong; see the module doc
            problem = truncate(" ".join(f"{type(exc).__name__}: {exc}".split()), PROBLEM_LIMIT)
            context = postmortem_context(draft, generated_at=generated_at, template_problem=problem)
            return _compiled(builtin, False).render(context)
    return _compiled(builtin, False).render(postmortem_context(draft, generated_at=generated_at))
