"""Helpers for end-to-end tests about incidents: declaring through the modal, reading state."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.slack import FakeSlack
from sandbox.slack.records import ChannelView
from tests.e2e.driver import Reply, SlackDriver, WarroomServer, fill_modal, wait_for


@dataclass
class Declaration:
    form_reply: Reply  # the ack of `/incident`
    submit_reply: Reply  # the ack of the view submission
    view: dict[str, Any]  # the modal as Slack held it (with id and state)
    values: dict[str, Any]


def open_declare_form(
    slack: SlackDriver, fake: FakeSlack, user: str, text: str = "", *, channel: str = "general"
) -> tuple[Reply, dict[str, Any]]:
    opened_before = len(fake.views(user))
    reply = slack.slash(user, text, channel=channel)
    assert reply.status == 200, reply.text
    wait_for(lambda: len(fake.views(user)) > opened_before, what="the declare modal", timeout=5)
    return reply, dict(fake.views(user)[0].payload)


def declare(
    slack: SlackDriver,
    fake: FakeSlack,
    user: str,
    answers: Mapping[str, Any],
    *,
    text: str = "",
    channel: str = "general",
) -> Declaration:
    form_reply, view = open_declare_form(slack, fake, user, text, channel=channel)
    values = fill_modal(view, answers)
    submit = slack.view_submission(user, view, values)
    return Declaration(form_reply, submit, view, values)


def incident_channels(fake: FakeSlack, number: int | None = None) -> list[ChannelView]:
    prefix = f"inc-{number}-" if number is not None else "inc-"
    return [c for c in fake.channels() if c.name.startswith(prefix)]


def panel_messages(channel: ChannelView) -> list[Any]:
    return [m for m in channel.messages if _kind(m) == "panel"]


def metadata_posts(channel: ChannelView, kind: str, number: int | None = None) -> list[Any]:
    return [
        m
        for m in channel.messages
        if _kind(m) == kind and (number is None or _payload(m).get("incident") == number)
    ]


def _payload(message: Any) -> dict[str, Any]:
    meta = message.metadata or {}
    payload = meta.get("event_payload") or {}
    return payload if isinstance(payload, dict) else {}


def _kind(message: Any) -> str | None:
    return _payload(message).get("kind")


def provisioned(fake: FakeSlack, number: int, *, announced: bool = True) -> ChannelView | None:
    """The incident channel once it has its pinned panel (and, if expected, the announcement)."""
    channels = incident_channels(fake, number)
    if len(channels) != 1 or not channels[0].pins:
        return None
    if announced and not metadata_posts(fake.channel("incident-response"), "announcement", number):
        return None
    return channels[0]


def wait_provisioned(
    fake: FakeSlack, number: int, *, announced: bool = True, timeout: float = 20
) -> ChannelView:
    channel: ChannelView = wait_for(
        lambda: provisioned(fake, number, announced=announced),
        timeout=timeout,
        what=f"INC-{number} to be provisioned",
    )
    return channel


def db_rows(server: WarroomServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the bot's SQLite database directly (tests only)."""
    with sqlite3.connect(server.workdir / "warroom.db") as connection:
        return list(connection.execute(sql, params))


def provisioning(server: WarroomServer, number: int) -> dict[str, str]:
    """{step: "done" | "failed" | "pending"} from the incident's provisioning job."""
    rows = db_rows(server, "select progress from jobs where key = ?", f"provision:{number}")
    progress = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    marks = progress.get("done", {})
    # Finished steps are marked `true`; other marks (posts, recipients …) hold data.
    steps = {name: "done" for name, value in marks.items() if ":" not in name and value is True}
    steps.update({name[len("failed:") :]: "failed" for name in marks if name.startswith("failed:")})
    return steps


# Jobs that stand for as long as an incident lives (its clock, a private channel's membership
# refresh, an action item's due-date reminder): pending by design, never "left to run".
UNSETTLED_SQL = (
    "select count(*) from jobs where state in ('pending', 'running') "
    "and kind not in ('members', 'clock', 'action_due', 'digest')"
)


def unsettled(server: WarroomServer) -> int:
    """Jobs left to run: side effects not yet delivered or given up."""
    ((count,),) = db_rows(server, UNSETTLED_SQL)
    return int(count)


def job_states(server: WarroomServer, kind: str) -> list[str]:
    return [state for (state,) in db_rows(server, "select state from jobs where kind = ?", kind)]


def opened_view(fake: FakeSlack, user: str, callback_id: str) -> dict[str, Any]:
    """The newest `callback_id` modal opened for `user`, once Slack has it."""

    def newest() -> dict[str, Any] | None:
        return next(
            (
                dict(v.payload)
                for v in fake.views(user)
                if v.payload.get("callback_id") == callback_id
            ),
            None,
        )

    found: dict[str, Any] = wait_for(newest, what=f"the {callback_id} modal", timeout=5)
    return found
