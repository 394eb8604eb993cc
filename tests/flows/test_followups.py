"""Notes, corrections to the timeline, action items and the post-mortem's bookkeeping."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import store
from bot.flows.effects import ActionItemAdded, PostmortemRequested, Refresh
from bot.flows.followups import ActionRequest
from bot.flows.permissions import Refused
from tests.flows.conftest import DECLARER, NOW, OUTSIDER, RESPONDER, Flows

SCRIBE = "U_SCRIBE"


async def test_a_note_is_by_its_author_now(flows: Flows) -> None:
    n = await flows.declare()
    flows.advance(timedelta(minutes=5))

    assert await flows.followups.add_note(n, by=RESPONDER, text="  Restarted the pool  ")

    note = (await flows.timeline(n))[-1]
    assert (note.kind, note.actor, note.text) == ("note", RESPONDER, "Restarted the pool")
    assert note.at == NOW + timedelta(minutes=5)


async def test_a_backfilled_note_keeps_its_time_and_sorts_before_later_events(
    flows: Flows,
) -> None:
    n = await flows.declare()
    flows.advance(timedelta(minutes=30))
    earlier = NOW - timedelta(minutes=8)

    await flows.followups.add_note(n, by=DECLARER, text="Impact started", at=earlier)

    first = (await flows.timeline(n))[0]
    assert (first.kind, first.at, first.text) == ("note", earlier, "Impact started")


async def test_a_note_in_the_future_or_empty_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused, match="future"):
        await flows.followups.add_note(n, by=DECLARER, text="x", at=NOW + timedelta(hours=1))
    with pytest.raises(Refused, match="needs some text"):
        await flows.followups.add_note(n, by=DECLARER, text="   ")
    with pytest.raises(Refused, match="under 3000"):
        await flows.followups.add_note(n, by=DECLARER, text="x" * 3001)
    assert "note" not in await flows.kinds(n)


async def test_a_note_submitted_twice_is_added_once(flows: Flows) -> None:
    n = await flows.declare()
    assert await flows.followups.add_note(n, by=DECLARER, text="x", key="V1")
    assert not await flows.followups.add_note(n, by=DECLARER, text="x", key="V1")
    assert (await flows.kinds(n)).count("note") == 1


async def test_outsiders_may_not_add_notes(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused):
        await flows.followups.add_note(n, by=OUTSIDER, text="x")


async def test_the_commander_and_the_scribe_correct_the_record_a_responder_may_not(
    flows: Flows,
) -> None:
    n = await flows.declare()
    await flows.ops.assign_roles(n, assignments={"scribe": SCRIBE}, by=DECLARER)
    await flows.followups.add_note(n, by=RESPONDER, text="Impact started")
    note = (await flows.timeline(n))[-1]
    assert note.id is not None
    backfill = NOW - timedelta(minutes=20)

    with pytest.raises(Refused):
        await flows.followups.retime_entry(n, by=RESPONDER, event_id=note.id, at=backfill)
    moved = await flows.followups.retime_entry(n, by=SCRIBE, event_id=note.id, at=backfill)
    assert moved.at == backfill
    assert (await flows.timeline(n))[0].id == note.id

    with pytest.raises(Refused):
        await flows.followups.delete_entry(n, by=RESPONDER, event_id=note.id)
    await flows.followups.delete_entry(n, by=DECLARER, event_id=note.id)
    assert note.id not in [e.id for e in await flows.timeline(n)]
    with pytest.raises(Refused, match="no longer"):
        await flows.followups.delete_entry(n, by=DECLARER, event_id=note.id)


async def test_an_action_item_is_stored_noted_and_its_owner_told(flows: Flows) -> None:
    n = await flows.declare()
    request = ActionRequest("Add a pool alert", owner=RESPONDER, due_on=date(2025, 3, 10))

    view, effects = await flows.followups.add_action(n, by=DECLARER, request=request)

    [added, refresh] = effects
    assert isinstance(added, ActionItemAdded)
    assert added.owner == RESPONDER
    assert refresh == Refresh(n)
    async with flows.sessions() as session:
        [item] = await store.list_action_items(session, incident_number=n)
    assert (item.text, item.owner, item.due_at.date() if item.due_at else None) == (
        "Add a pool alert",
        RESPONDER,
        date(2025, 3, 10),
    )
    assert added.item_id == item.id
    assert view is not None
    assert (view.id, view.text, view.owner) == (item.id, "Add a pool alert", RESPONDER)
    assert (await flows.timeline(n))[-1].text == "Action item: Add a pool alert"


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (ActionRequest("   "), "needs a description"),
        (ActionRequest("x" * 501), "keep it under 500"),
        (ActionRequest("Fix", due_on=date(2025, 3, 3)), "in the past"),
        (ActionRequest("Fix", category="luck"), "Unknown category"),
        (ActionRequest("Fix", priority=9), "Priority"),
    ],
)
async def test_bad_action_items_are_refused_and_nothing_is_stored(
    flows: Flows, request_: ActionRequest, why: str
) -> None:
    n = await flows.declare()
    with pytest.raises(Refused, match=why):
        await flows.followups.add_action(n, by=DECLARER, request=request_)
    async with flows.sessions() as session:
        assert await store.list_action_items(session, incident_number=n) == []
    assert "action_item" not in await flows.kinds(n)


async def test_an_action_item_due_today_is_fine(flows: Flows) -> None:
    n = await flows.declare()
    _item, effects = await flows.followups.add_action(
        n, by=DECLARER, request=ActionRequest("Fix", due_on=NOW.date())
    )
    assert effects


async def test_a_submitted_form_adds_one_item(flows: Flows) -> None:
    n = await flows.declare()
    request = ActionRequest("Fix")
    first = await flows.followups.add_action(n, by=DECLARER, request=request, key="action:V1")
    assert first[0] is not None
    again = await flows.followups.add_action(n, by=DECLARER, request=request, key="action:V1")
    assert again == (None, [])


async def test_owner_commander_and_scribe_close_items_others_may_not(flows: Flows) -> None:
    n = await flows.declare(members=(RESPONDER, "U_OTHER"))
    await flows.followups.add_action(n, by=DECLARER, request=ActionRequest("a", owner=RESPONDER))
    async with flows.sessions() as session:
        [item] = await store.list_action_items(session, incident_number=n)
    assert item.id is not None

    with pytest.raises(Refused):
        await flows.followups.set_action_done(item.id, by="U_OTHER")
    done, effects = await flows.followups.set_action_done(item.id, by=RESPONDER)
    assert done.done
    assert done.done_by == RESPONDER
    assert effects == [Refresh(n)]
    _again, none = await flows.followups.set_action_done(item.id, by=RESPONDER)
    assert none == []  # a double click changes it once
    reopened, _ = await flows.followups.set_action_done(item.id, by=DECLARER, done=False)
    assert not reopened.done
    kinds = await flows.kinds(n)
    assert kinds.count("action_item_done") == 1
    assert kinds.count("action_item_reopened") == 1


async def test_resolving_a_severity_that_requires_a_post_mortem_asks_for_the_draft(
    flows: Flows,
) -> None:
    n = await flows.declare(severity="P1")
    effects = await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause="Pool", impact_ended_at=None
    )
    assert [e for e in effects if isinstance(e, PostmortemRequested)] == [
        PostmortemRequested(n, by=DECLARER, reason="resolved")
    ]
    quiet = await flows.declare(severity="P4")
    effects = await flows.resolution.resolve(
        quiet, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    assert not [e for e in effects if isinstance(e, PostmortemRequested)]


async def test_the_final_post_mortem_stops_its_deadline(flows: Flows) -> None:
    n = await flows.declare(severity="P1")
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    assert (await flows.incident(n)).postmortem_due_at == NOW + timedelta(hours=48)

    with pytest.raises(Refused, match="link"):
        await flows.followups.postmortem_done(n, by=DECLARER, link="not a link")
    effects = await flows.followups.postmortem_done(
        n, by=DECLARER, link="https://docs.example.com/pm/1"
    )

    incident = await flows.incident(n)
    assert effects == [Refresh(n)]
    assert incident.postmortem_link == "https://docs.example.com/pm/1"
    assert incident.postmortem_due_at is None
    assert (await flows.kinds(n))[-1] == "postmortem_done"
    assert (
        await flows.followups.postmortem_done(n, by=DECLARER, link="https://docs.example.com/pm/1")
        == []
    )


async def test_a_fresh_draft_is_a_new_effect_each_time_at_most_one_a_minute(
    flows: Flows,
) -> None:
    n = await flows.declare()
    first = await flows.followups.request_postmortem(n, by=RESPONDER)
    with pytest.raises(Refused, match="on its way"):
        await flows.followups.request_postmortem(n, by=DECLARER)
    flows.advance(timedelta(minutes=1))
    second = await flows.followups.request_postmortem(n, by=RESPONDER)
    assert first == second == [PostmortemRequested(n, by=RESPONDER, reason="requested")]
    assert first[0].job != second[0].job
    with pytest.raises(Refused):
        await flows.followups.request_postmortem(n, by=OUTSIDER)


async def test_first_thoughts_given_at_resolution_feed_the_draft(flows: Flows) -> None:
    from bot.flows.postmortem import load_draft
    from bot.flows.resolution import Reflections

    n = await flows.declare(severity="P1")
    await flows.resolution.resolve(
        n,
        by=DECLARER,
        summary="Fixed",
        root_cause=None,
        impact_ended_at=None,
        reflections=Reflections(contributing_factors="No pool alert", went_well="Fast rollback"),
    )
    async with flows.sessions() as session:
        draft = await load_draft(session, flows.policy, number=n)
    assert draft is not None
    assert (draft.contributing_factors, draft.went_well, draft.went_badly) == (
        "No pool alert",
        "Fast rollback",
        None,
    )
