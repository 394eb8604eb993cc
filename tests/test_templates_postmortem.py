"""The post-mortem draft's Markdown: the golden document, its sections and prompts, what
people typed made harmless, and policy templates."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.flows.postmortem import (
    ActionLine,
    PostmortemDraft,
    RoleHolding,
    TimelineLine,
    UpdateLine,
)
from bot.policy import default_policy, policy_from_data
from bot.templates.postmortem import cell, md, person, render_postmortem
from tests.conftest import GOLDEN

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
GENERATED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LINK = "https://acme.slack.com/archives/C0INC42/p1763906520000100"

SECTIONS = (
    "## Summary",
    "## Key times",
    "## People",
    "## Timeline",
    "## Status updates",
    "## Resolution",
    "## Root cause",
    "## Contributing factors",
    "## What went well",
    "## What didn't go well",
    "## Action items",
    "## Final document",
)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def full_draft() -> PostmortemDraft:
    return PostmortemDraft(
        number=42,
        title="Checkout API returns 500s",
        severity_id="P1",
        severity_name="Critical",
        type_name="Service Outage",
        status="resolved",
        private=False,
        drill=False,
        channel_name="inc-42-checkout-api",
        declared_by="U0ALICE",
        declared_at=at(0),
        started_at=at(-10),
        detected_at=at(-5),
        acknowledged_at=at(3),
        acknowledged_by="U0BOB",
        identified_at=at(12),
        mitigated_at=at(40),
        resolved_at=at(75),
        impact_ended_at=at(45),
        closed_at=None,
        description="Customers could not pay.\nThe API answered 500 for every checkout.",
        impact="Error rate back to normal",
        summary="Rolled back release 2026.11.23.\n\nError rate normal within 5 minutes.",
        root_cause="The connection pool was set to 20 connections.",
        contributing_factors="1. Traffic spike (2x normal)\n2. No pool usage alert",
        went_well="- Fast detection\n- Clear hand-over",
        went_badly=None,
        postmortem_link=None,
        roles=(
            RoleHolding("commander", "Incident Commander", "U0ALICE", at(0), at(20)),
            RoleHolding("commander", "Incident Commander", "U0CAROL", at(20), None),
            RoleHolding("tech_lead", "Technical Lead", "U0BOB", at(3), None),
            RoleHolding("scribe", "Scribe", "U0DAVE", at(5), at(50)),
        ),
        timeline=(
            TimelineLine(at(0), "declared", "U0ALICE", "Declared as P1", None),
            TimelineLine(at(3), "acknowledged", "U0BOB", "Acknowledged", None),
            TimelineLine(at(8), "message", "U0BOB", "Pool at 20/20, timeouts 60 s", LINK),
            TimelineLine(at(12), "status_update", "U0BOB", "Update #1: identified", None),
            TimelineLine(at(20), "role_assigned", "U0ALICE", "", None),
            TimelineLine(at(38), "message", "U0CAROL", "Rolling back now\nETA 5 min", LINK + "1"),
            TimelineLine(at(75), "resolved", "U0CAROL", "Resolved: Rolled back", None),
        ),
        updates=(
            UpdateLine(1, at(12), "identified", "All checkouts fail", "Rolling back", "U0BOB"),
            UpdateLine(2, at(45), "monitoring", "Error rate back to normal", "", "U0CAROL"),
        ),
        action_items=(
            ActionLine("Load test with 3x traffic", "U0DAVE", date(2026, 12, 5), False, None, 3),
            ActionLine("Raise the pool to 100", "U0BOB", date(2026, 11, 25), True, "recovery", 1),
            ActionLine("Alert on pool usage", "U0BOB", None, False, "detection", 1),
        ),
    )


def bare_draft() -> PostmortemDraft:
    return replace(
        full_draft(),
        status="investigating",
        acknowledged_at=None,
        acknowledged_by=None,
        identified_at=None,
        mitigated_at=None,
        resolved_at=None,
        impact_ended_at=None,
        description="",
        impact="",
        summary=None,
        root_cause=None,
        contributing_factors=None,
        went_well="   ",
        roles=(),
        timeline=(),
        updates=(),
        action_items=(),
    )


def assert_markdown_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/<name>; `UPDATE_GOLDEN=1` rewrites it (as `assert_golden`)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(f"golden file {path.name} is missing; run with UPDATE_GOLDEN=1")
        path.write_text(actual, "utf-8")
    assert actual == path.read_text("utf-8"), f"{path.name} differs from the golden file"


def render(draft: PostmortemDraft, template: str | None = None) -> str:
    return render_postmortem(draft, template=template, generated_at=GENERATED)


def section(text: str, heading: str) -> str:
    """The body of one `## ` section."""
    body = text.split(heading + "\n", 1)[1]
    return body.split("\n## ", 1)[0].strip()


def test_golden() -> None:
    assert_markdown_golden("postmortem.md", render(full_draft()))


def test_head_sections_and_their_order() -> None:
    text = render(full_draft())
    lines = text.splitlines()
    assert lines[0] == "# INC-42: Checkout API returns 500s — post-mortem (draft)"
    assert "generated by warroom at 2026-11-24 09:30 UTC" in lines[2]
    positions = [text.index(f"\n{heading}\n") for heading in SECTIONS]
    assert positions == sorted(positions)
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert "\n\n\n" not in text


def test_what_the_full_draft_shows() -> None:
    text = render(full_draft())
    summary = section(text, "## Summary")
    for bullet in (
        "- **Date**: 2026-11-23",
        "- **Duration**: 55m",  # started 13:50, impact ended 14:45
        "- **Severity**: P1 (Critical)",
        "- **Type**: Service Outage",
        "- **Status**: Resolved",
        "- **Impact**: Error rate back to normal",
        "- **Root cause**: The connection pool was set to 20 connections.",
    ):
        assert bullet in summary
    key_times = section(text, "## Key times")
    assert "| Acknowledged | 2026-11-23 14:03 UTC |" in key_times
    assert "- **Time to acknowledge**: 3m" in key_times
    assert "- **Time to resolve**: 1h 15m" in key_times
    people = section(text, "## People")
    assert (
        "@U0ALICE from 2026-11-23 14:00 UTC to 2026-11-23 14:20 UTC, handed over to @U0CAROL"
        in (people)
    )
    assert "@U0DAVE from 2026-11-23 14:05 UTC to 2026-11-23 14:50 UTC\n" in people + "\n"
    timeline = section(text, "## Timeline").splitlines()
    assert timeline[0] == "| Time (UTC) | Event | By | Link |"
    assert len(timeline) == 2 + 7
    assert f"| [message]({LINK}) |" in timeline[4]
    assert "| Rolling back now ETA 5 min | @U0CAROL |" in timeline[7]
    assert "| Role |" in timeline[6]  # no text: the kind says what happened
    updates = section(text, "## Status updates")
    assert "### Update #1 — 2026-11-23 14:12 UTC — Identified" in updates
    assert "**Actions:** —" in updates  # update 2 gave none
    items = section(text, "## Action items").splitlines()
    assert items == [
        "- [ ] Alert on pool usage [Owner: @U0BOB] [Due: —] [Category: Detection]"
        " [Priority: 1 – Immediate]",
        "- [ ] Load test with 3x traffic [Owner: @U0DAVE] [Due: 2026-12-05]"
        " [Priority: 3 – Quick win]",
        "- [x] Raise the pool to 100 [Owner: @U0BOB] [Due: 2026-11-25] [Category: Recovery]"
        " [Priority: 1 – Immediate]",
    ]
    assert section(text, "## Resolution") == (
        "Rolled back release 2026.11.23.\n\nError rate normal within 5 minutes."
    )


def test_empty_sections_carry_prompts_never_an_empty_heading() -> None:
    text = render(bare_draft())
    for heading in SECTIONS:
        assert section(text, heading), heading
    assert "- **Duration**: ongoing, not resolved yet" in text
    assert "- **Impact**: _not described yet_" in text
    assert "_What made this worse or harder to fix? Add the factors here._" in text
    assert section(text, "## What went well").startswith("_What helped?")
    assert section(text, "## Status updates") == "_No status updates were posted._"
    assert section(text, "## Timeline").startswith("_Nothing is on the timeline yet.")
    assert "_No roles were recorded." in section(text, "## People")
    items = section(text, "## Action items")
    for category in ("Detection", "Response", "Recovery", "Prevention"):
        assert f"- **{category}**:" in items
    assert "| High | Low | 1 – Immediate |" in items
    assert "| Low | High | 4 – Consider an alternative |" in items
    assert "/incident postmortem done" in section(text, "## Final document")
    assert "- **Time to acknowledge**: not acknowledged" in text


def test_the_final_document_link() -> None:
    text = render(replace(full_draft(), postmortem_link="https://docs.example/pm_42"))
    final = section(text, "## Final document")
    assert final == r"[https://docs.example/pm\_42](https://docs.example/pm_42)"
    text = render(replace(full_draft(), postmortem_link="javascript:alert(1)"))
    assert section(text, "## Final document") == "javascript:alert(1)"


def test_drill_and_private_are_said() -> None:
    text = render(replace(full_draft(), drill=True, private=True))
    assert "_This incident was a drill._" in text
    assert "_Private incident:" in text


LONG = "A" * 5000
HOSTILE = (
    "<!channel>",
    "<@U123>",
    "<https://evil.example|Google>",
    "[x](http://evil)",
)


def hostile_draft() -> PostmortemDraft:
    nasty = " ".join(HOSTILE)
    return replace(
        full_draft(),
        title=f"{nasty} *bold* `code` # x",
        description=f"# Fake heading\n{nasty}\n---\n\\[y](http://evil)",
        impact=nasty,
        summary=nasty,
        root_cause=nasty,
        contributing_factors=nasty,
        went_well=nasty,
        went_badly=f"{nasty}\n===",
        timeline=(
            *full_draft().timeline,
            TimelineLine(at(90), "note", "U0BOB", f"a | b\nc || d {nasty}", None),
            TimelineLine(at(91), "note", "<!channel>", LONG, None),
            TimelineLine(at(92), "message", "U0BOB", "x", "http://evil.example/p1"),
            TimelineLine(at(93), "message", "U0BOB", "y", "https://evil.example/a)(b"),
        ),
        updates=(UpdateLine(1, at(12), "identified", nasty, nasty, "<@U123>"),),
        action_items=(ActionLine(nasty, "<!channel>", None, False, None, None),),
    )


def test_hostile_text_never_survives_raw() -> None:
    text = render(hostile_draft())
    for raw in (*HOSTILE, LONG, "*bold*", "`code`", "\\[y]"):
        assert raw not in text, raw
    assert "&lt;!channel&gt;" in text
    assert "\\[x\\](http://evil)" in text
    assert "\\*bold\\*" in text
    links = re.findall(r"(?<!\\)\[([^\]]*)\]\(([^)]*)\)", text)
    assert {url for _label, url in links} == {LINK, LINK + "1"}
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert all(h.startswith(("# INC-42: ", "## ", "### Update #")) for h in headings)
    assert "\\# Fake heading" in text
    assert "\n\\---\n" in text
    assert "\n\\===" in text


def test_hostile_timeline_cells_stay_one_bounded_line() -> None:
    text = render(hostile_draft())
    rows = [line for line in section(text, "## Timeline").splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 7 + 4
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row  # four cells, none split
        assert len(row) < 1500
    assert "a \\| b c \\|\\| d" in text
    long_row = rows[-3]
    assert "A" * 499 + "…" in long_row
    assert "A" * 500 not in long_row
    assert long_row.count("&lt;") == 1  # the actor, escaped, not a mention
    # Not https, or able to break out of the link: no link, not even as text.
    assert rows[-2].endswith("|  |")
    assert rows[-1].endswith("|  |")


def test_escaping_helpers() -> None:
    assert md("a\n\n\n\n  b  \n c") == "a\n\nb\nc"
    assert md("\\[x](y)") == "\\\\\\[x\\](y)"
    assert md("&amp; <b>") == "&amp;amp; &lt;b&gt;"
    assert md("tab\there\x00") == "tab here"
    assert md("evil\u202eright") == "evilright"
    assert cell("one\ntwo | three") == "one two \\| three"
    assert cell("x" * 600) == "x" * 499 + "…"
    assert cell("#1") == "\\#1"
    assert md(None) == ""
    assert cell(None) == ""
    # An `_` inside a Slack id is no emphasis; anything else that is not an id is escaped.
    assert person("U_ALICE") == "@U_ALICE"
    assert person("U_") == "@U\\_"
    assert person("<!channel>") == "@&lt;!channel&gt;"
    assert person(None) == "—"
    assert len(person("U" + "A" * 100)) < 50


def test_a_policy_template_replaces_the_default() -> None:
    template = (
        "{{ label }} — {{ title }} — {{ severity_id }} — {{ duration }}\n"
        "{% for row in timeline %}* {{ row.at | utc }} {{ row.event | cell }} {{ row.link }}\n"
        "{% endfor %}"
    )
    text = render(replace(full_draft(), title="A <!channel> [x](y)"), template)
    lines = text.splitlines()
    assert lines[0] == "INC-42 — A &lt;!channel&gt; \\[x\\](y) — P1 — 55m"  # escaped, unfiltered
    assert lines[3] == f"* 2026-11-23 14:08 UTC Pool at 20/20, timeouts 60 s [message]({LINK})"
    assert "## Summary" not in text


def test_a_policy_template_from_a_policy_file_is_used() -> None:
    data = default_policy().model_dump(mode="json", exclude={"permissions"})
    data["templates"] = {"postmortem": "Custom {{ label }}"}
    policy = policy_from_data(data)
    assert render(full_draft(), policy.templates.postmortem) == "Custom INC-42"


def test_a_typo_in_a_policy_template_renders_empty() -> None:
    text = render(full_draft(), "[{{ titel }}][{{ incident.nope.deeper }}][{{ label }}]")
    assert text == "[][][INC-42]"


@pytest.mark.parametrize(
    "template",
    [
        "{{ title | no_such_filter }}",
        "{{ 1 / 0 }}",
        "{% for x in range(10**9) %}{% endfor %}",
    ],
)
def test_a_broken_policy_template_falls_back_to_the_default(template: str) -> None:
    text = render(full_draft(), template)
    assert text.startswith("# INC-42: ")
    assert "_The policy's post-mortem template could not be used (" in text
    assert "## Action items" in text


def test_a_policy_template_stays_in_the_sandbox() -> None:
    assert render(full_draft(), "{{ incident.__class__.__mro__ }}|{{ md.__globals__ }}") == "|"


def test_the_same_source_renders_alike_and_the_default_is_strict() -> None:
    assert render(full_draft()) == render(full_draft())
    template = "{{ label }} {{ generated_at }}"
    assert render(full_draft(), template) == "INC-42 2026-11-24 09:30 UTC"
