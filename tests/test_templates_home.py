"""The App Home tab: golden Block Kit, Slack's limits (100 blocks, whatever the lists), hostile
text, private titles; and the page read from the store in a fixed number of statements."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.commands.home import home_page
from bot.flows.cards import ActionItemView
from bot.policy import default_policy
from bot.templates import followups
from bot.templates import home as views
from sandbox.slack.blockkit import validate_view
from tests.conftest import assert_golden
from tests.store.conftest import EmptyDatabases
from tests.test_templates_incident import HOSTILE, check_block

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
SECRET = "Leaked customer export"


def incident(number: int, **changes: Any) -> views.HomeIncident:
    values: dict[str, Any] = {
        "number": number,
        "title": f"Checkout API returns 500 ({number})",
        "severity_id": "P1",
        "status": "investigating",
        "channel_id": f"C0INC{number}",
        "private": False,
        "drill": False,
        "declared_at": NOW - timedelta(days=1) + timedelta(minutes=number),
        "roles": ("Incident Commander",),
    }
    return views.HomeIncident(**(values | changes))


def item(i: int, **changes: Any) -> ActionItemView:
    values: dict[str, Any] = {
        "id": i,
        "number": 42,
        "text": f"Add an alert on connection pool usage ({i})",
        "owner": "U_ALICE",
        "due_on": date(2026, 12, 1),
        "done": False,
        "category": "detection",
        "priority": 1,
        "incident_title": "Checkout API returns 500",
    }
    return ActionItemView(**(values | changes))


FIGURES = views.HomeFigures(
    period="the last 30 days",
    incidents=7,
    mtta_median=300.0,
    mttr_median=5400.0,
    update_adherence=0.8,
)


def page(**changes: Any) -> views.HomePage:
    values: dict[str, Any] = {
        "user": "U_ALICE",
        "now": NOW,
        "incidents": (
            incident(42, roles=("Incident Commander", "Scribe")),
            incident(41, drill=True, severity_id="P3", status="monitoring"),
            incident(40, title=None, private=True, roles=("Technical Lead",)),
        ),
        "incidents_total": 3,
        "action_items": (
            item(7),
            item(8, incident_title=None, number=40, text="Rotate the token", due_on=None),
        ),
        "action_items_total": 2,
        "recent": (
            incident(42, roles=()),
            incident(41, roles=(), drill=True, severity_id="P3"),
            incident(39, roles=(), private=True, title="Card data in logs", status="resolved"),
        ),
        "figures": FIGURES,
    }
    return views.HomePage(**(values | changes))


def check_view(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    assert 1 <= len(view["blocks"]) <= 100
    for block in view["blocks"]:
        check_block(block)
    assert validate_view(view, surface="home") == []


def blob(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


# -- golden ---------------------------------------------------------------------------------


def test_home_matches_golden() -> None:
    view = views.home_view(page())
    check_view(view)
    assert_golden("home", view)


def test_empty_home_matches_golden() -> None:
    empty = page(incidents=(), incidents_total=0, action_items=(), action_items_total=0, recent=())
    figures = replace(FIGURES, incidents=0, mtta_median=None, mttr_median=None)
    view = views.home_view(replace(empty, figures=replace(figures, update_adherence=None)))
    check_view(view)
    assert_golden("home_empty", view)
    text = blob(view)
    assert views.NO_INCIDENTS in text
    assert "You own no open action items" in text
    assert views.NO_RECENT in text
    assert "—" in text  # figures nobody has yet


# -- what it shows ----------------------------------------------------------------------------


def test_incidents_link_their_channels_with_the_readers_roles_and_drills_marked() -> None:
    text = blob(views.home_view(page()))
    assert "<#C0INC42>" in text
    assert "you are *Incident Commander*, *Scribe*" in text
    assert "[DRILL] INC-41" in text
    assert "*P1*" in text


def test_action_items_carry_the_done_button_lists_and_dms_use() -> None:
    view = views.home_view(page())
    buttons = [b["accessory"] for b in view["blocks"] if "accessory" in b]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (followups.ACTION_DONE_ACTION, "7"),
        (followups.ACTION_DONE_ACTION, "8"),
    ]
    assert buttons[0] == followups.action_button(item(7)).to_dict()


def test_the_figures_are_the_periods() -> None:
    text = blob(views.home_view(page()))
    assert "The last 30 days" in text
    assert "*Incidents*\\n7" in text
    assert "*MTTA (median)*\\n5m" in text
    assert "*MTTR (median)*\\n1h 30m" in text
    assert "*Update adherence*\\n80%" in text


def test_a_private_title_the_reader_may_not_see_never_shows() -> None:
    hidden = page(
        incidents=(incident(40, title=None, private=True),),
        action_items=(item(8, incident_title=None, number=40),),
    )
    view = views.home_view(hidden)
    check_view(view)
    text = blob(view)
    assert "INC-40 :lock: _private_" in text
    assert "INC-40 (private)" in text
    assert "Checkout API returns 500 (40)" not in text


# -- bounds ------------------------------------------------------------------------------------


def test_never_more_than_100_blocks_and_the_rest_counted() -> None:
    many = page(
        incidents=tuple(incident(n, roles=("Incident Commander",) * 9) for n in range(1, 501)),
        incidents_total=5000,
        action_items=tuple(item(i) for i in range(1, 501)),
        action_items_total=5000,
        recent=tuple(incident(n, roles=()) for n in range(1, 51)),
    )
    view = views.home_view(many)
    check_view(view)
    text = blob(view)
    assert f"…and {5000 - views.ACTION_ITEMS_SHOWN} more" in text
    assert "…and 4986 more" in blob(view["blocks"][4])  # the incidents too (14 shown)
    buttons = [b for b in view["blocks"] if "accessory" in b]
    assert len(buttons) == views.ACTION_ITEMS_SHOWN


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_escaped_everywhere(hostile: str) -> None:
    nasty = page(
        incidents=(
            incident(1, title=hostile, severity_id=hostile, status=hostile, roles=(hostile,) * 7),
            incident(2, title=hostile, channel_id=hostile, drill=True),
        ),
        action_items=(item(1, text=hostile, incident_title=hostile, category=hostile),),
        recent=tuple(incident(n, title=hostile, severity_id=hostile) for n in range(1, 11)),
    )
    view = views.home_view(nasty)
    check_view(view)
    text = blob(view)
    assert "<!channel>" not in text
    assert "<!here" not in text
    assert "<!everyone>" not in text
    assert "<https://evil.example" not in text
    assert "\u202e" not in text


# -- read from the store ---------------------------------------------------------------------

ALICE, BOB = "U_ALICE", "U_BOB"


@pytest.fixture(params=["sqlite", "postgres"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database: SQLite, and Postgres when TEST_DATABASE_URL is set."""
    databases = EmptyDatabases(tmp_path)
    url = databases.new(request.param)
    try:
        store.upgrade(url)
        engine = store.make_engine(url)
        try:
            yield store.session_factory(engine)
        finally:
            await engine.dispose()
    finally:
        databases.close()


async def _incident(
    sessions: async_sessionmaker[AsyncSession],
    title: str,
    *,
    at: datetime,
    members: tuple[str, ...] = (ALICE,),
    commander: str | None = ALICE,
    **fields: Any,
) -> int:
    async with sessions() as session:
        found = await store.create_incident(
            session,
            title=title,
            severity="P2",
            status=fields.pop("status", "investigating"),
            declared_by=ALICE,
            declared_at=at,
            **fields,
        )
        number = found.number or 0
        channel = f"C_INC{number}"
        await store.update_incident(
            session, number=number, expected_version=None, now=at, channel_id=channel
        )
        if members:
            await store.add_channel_members(session, channel_id=channel, user_ids=members, now=at)
        if commander is not None:
            await store.add_role_holder(
                session,
                incident_number=number,
                role="commander",
                user_id=commander,
                assigned_by=None,
                now=at,
            )
        await session.commit()
    return number


async def _action_item(
    sessions: async_sessionmaker[AsyncSession], number: int, text: str, owner: str = ALICE
) -> None:
    async with sessions() as session:
        await store.add_action_item(
            session, incident_number=number, text=text, owner=owner, now=NOW
        )
        await session.commit()


async def test_the_page_from_the_store_hides_what_the_reader_may_not_see(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    policy = default_policy()
    public = await _incident(sessions, "Checkout failing", at=NOW - timedelta(hours=3))
    secret = await _incident(
        sessions, SECRET, at=NOW - timedelta(hours=2), private=True, members=(ALICE,)
    )
    drill = await _incident(sessions, "Game day", at=NOW - timedelta(hours=1), drill=True)
    resolved = await _incident(sessions, "Old one", at=NOW - timedelta(days=2), status="resolved")
    await _action_item(sessions, public, "Patch the API")
    await _action_item(sessions, secret, "Revoke the token")
    await _action_item(sessions, public, "Bob's", owner=BOB)

    alice = await home_page(sessions, policy, user=ALICE, now=NOW)
    assert [i.number for i in alice.incidents] == [drill, secret, public]  # open, newest first
    assert all(i.roles == ("Incident Commander",) for i in alice.incidents)
    assert alice.incidents[1].title == SECRET  # a member sees it
    assert [i.text for i in alice.action_items] == ["Patch the API", "Revoke the token"]
    assert [i.number for i in alice.recent] == [drill, secret, public, resolved]
    assert alice.figures.incidents == 3  # the drill is not counted

    bob = await home_page(sessions, policy, user=BOB, now=NOW)
    assert bob.incidents == ()
    assert [i.text for i in bob.action_items] == ["Bob's"]
    assert [i.number for i in bob.recent] == [drill, public, resolved]  # not the private one
    assert SECRET not in blob(views.home_view(bob))

    # A role in a private incident whose channel Bob is not recorded in: its number, no title.
    async with sessions() as session:
        await store.assign_role(
            session, incident_number=secret, role="scribe", user_id=BOB, assigned_by=ALICE, now=NOW
        )
        await session.commit()
    await _action_item(sessions, secret, "Write the notice", owner=BOB)
    bob = await home_page(sessions, policy, user=BOB, now=NOW)
    assert [(i.number, i.title, i.roles) for i in bob.incidents] == [(secret, None, ("Scribe",))]
    view = views.home_view(bob)
    check_view(view)
    assert SECRET not in blob(view)
    assert f"INC-{secret} (private)" in blob(view)


async def test_the_page_costs_a_fixed_number_of_statements(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    policy = default_policy()
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    async def cost(read: Callable[[], Awaitable[object]]) -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await read()
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    async def read() -> object:
        return await home_page(sessions, policy, user=ALICE, now=NOW)

    number = await _incident(sessions, "One", at=NOW - timedelta(hours=1))
    await _action_item(sessions, number, "One thing")
    few = await cost(read)
    for i in range(30):
        n = await _incident(
            sessions, f"More {i}", at=NOW - timedelta(minutes=i), private=i % 3 == 0
        )
        await _action_item(sessions, n, f"Thing {i}")
    assert await cost(read) == few <= 7
