"""The procedure document rendered from a policy: Markdown golden, examples, escaping, HTML."""

from __future__ import annotations

import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.policy import PERMISSION_ACTIONS, Policy, default_policy, format_duration, load_policy
from bot.policy.doc import DEFAULT_TITLE, render_procedure
from tests.conftest import GOLDEN, REPO_ROOT

EXAMPLES = sorted((REPO_ROOT / "examples" / "policies").glob("*.yaml"))
SECTIONS = (
    "Severities",
    "Roles",
    "Incident types",
    "Channels and announcements",
    "Who may do what",
    "Reminders and the clock",
)
VOID = {"meta", "br", "hr", "img", "link", "input", "wbr", "col", "source"}
_PIPE = re.compile(r"(?<!\\)\|")  # GFM: a pipe after a backslash belongs to the cell


def assert_text_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/<name>; `UPDATE_GOLDEN=1` rewrites it (as assert_golden)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(f"golden file {path.name} is missing; run with UPDATE_GOLDEN=1")
        path.write_text(actual, "utf-8", newline="")
    assert actual == path.read_text("utf-8"), f"{path.name} differs from the golden file"


def md_tables(markdown: str) -> list[list[list[str]]]:
    """Every GFM table as rows of cells (the header first, the delimiter row left out)."""
    tables: list[list[list[str]]] = []
    lines = markdown.split("\n")
    for i in range(len(lines)):
        is_header = i + 1 < len(lines) and re.fullmatch(r"\|( --- \|)+", lines[i + 1])
        if is_header and (i == 0 or not lines[i - 1].startswith("|")):
            table, j = [], i
            while j < len(lines) and lines[j].startswith("|"):
                if j != i + 1:
                    assert lines[j].endswith(" |"), lines[j]
                    table.append([cell.strip() for cell in _PIPE.split(lines[j])[1:-1]])
                j += 1
            tables.append(table)
    return tables


class StrictParser(HTMLParser):
    """Fails on end tags that do not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1:] == [tag], f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(page: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.open == [], f"left open: {parser.open}"
    return parser


def tricky_policy() -> Policy:
    return Policy.model_validate(
        {
            "severities": [
                {
                    "id": "P1",
                    "name": "Crit | ical <script>alert(1)</script>",
                    "description": "pipes | and *bold* and <b>tags</b> & `ticks` \\ [link](x)",
                    "examples": ["a|b", "<script>x</script>", "$10k/hour and $1k", "# heading"],
                    "escalation": [{"after": "15m", "notify": ["@oncall"]}],
                },
                {"id": "P2", "name": "Low\nwith a newline"},
            ],
            "roles": [
                {
                    "id": "commander",
                    "name": "Boss | <i>Chief</i>",
                    "lead": True,
                    "aliases": ["a|b", "back`tick", "x\\"],
                    "description": "*runs* the <script>show</script> | all",
                },
            ],
            "types": [
                {
                    "id": "weird",
                    "name": "Type | <script>",
                    "description": "_under_ ~strike~",
                    "private": True,
                    "notify": ["@legal"],
                    "runbook": "https://runbooks.example.com/a|b<c>?q=1&r=2",
                }
            ],
        }
    )


# -- Markdown ----------------------------------------------------------------------------------


def test_default_policy_markdown_matches_the_golden_file() -> None:
    assert_text_golden("policy_doc_default.md", render_procedure(default_policy()))


def test_markdown_has_the_sections_in_order_and_a_title() -> None:
    text = render_procedure(default_policy())
    assert text.startswith(f"# {DEFAULT_TITLE}\n\nGenerated from the incident policy")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert tuple(headings) == SECTIONS
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert render_procedure(default_policy(), title="Acme #1 *on-call*").startswith(
        "# Acme \\#1 \\*on-call\\*\n"
    )


@pytest.mark.parametrize("fmt", ["markdown", "html"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).stem)
def test_each_example_policy_renders_its_severities_roles_and_escalation(
    path: Path, fmt: str
) -> None:
    policy = load_policy(path)
    text = render_procedure(policy, format="html" if fmt == "html" else "markdown")
    assert "None" not in text
    assert "null" not in text
    for severity in policy.severities:
        assert severity.id in text
        for step in severity.escalation:
            assert f"after {format_duration(step.after)}: " in text
    for role in policy.roles:
        assert (html.escape(role.name) if fmt == "html" else role.name) in text
    for kind in policy.types:
        assert kind.id in text
    if fmt == "markdown":
        for table in md_tables(text):
            assert all(len(row) == len(table[0]) for row in table), table
    else:
        parse_html(text)


def test_markdown_tables_have_a_row_per_item() -> None:
    policy = load_policy(REPO_ROOT / "examples" / "policies" / "sre-escalation-matrix-p0-p3.yaml")
    severities, roles, types, channels, permissions, clock = md_tables(render_procedure(policy))
    assert [row[0] for row in severities[1:]] == ["P0", "P1", "P2", "P3"]
    assert severities[1][4] == "—"  # P0 has no respond_within ("Immediate")
    assert severities[1][9] == (
        "after 5m: `@eng-managers`; after 15m: `@vp-engineering`; after 30m: `@exec-team`;"
        " after 1h: `@customer-comms`"
    )
    assert severities[4][10] == "not required"
    assert severities[1][10] == "required, due 2d, reminder 1d before"
    assert roles[1] == ["Incident Commander (lead)", "`commander`, `ic`", roles[1][2]]
    assert len(types) == 1 + len(policy.types)
    security = next(row for row in types if row[1] == "`security`")
    assert security[3] == "yes"
    assert security[5] == "nobody (private), not `@legal`"
    assert security[7] == "<https://runbooks.example.com/security-incident>"
    assert len(permissions) == 1 + len(PERMISSION_ACTIONS)
    assert ["Close a resolved incident", "the Incident Commander"] in permissions
    assert channels[1][1] == "`inc-{number}-{severity}-{slug}`, e.g. `inc-42-p0-db-down`"
    assert ["Archive", "never"] in channels
    assert ["Nobody in command", "after 5m, one nudge if nobody is Incident Commander"] in clock


def test_escalation_steps_that_invite_say_so() -> None:
    policy = load_policy(REPO_ROOT / "examples" / "policies" / "ai-writing-platform-p1-p4.yaml")
    severities = md_tables(render_procedure(policy))[0]
    assert severities[1][9] == (
        "after 5m: `@oncall-secondary` and invite `@oncall-secondary`;"
        " after 30m: `@escalation-manager`"
    )


def test_policy_text_cannot_break_markdown_tables() -> None:
    text = render_procedure(tricky_policy())
    tables = md_tables(text)
    assert len(tables) == len(SECTIONS)
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table), table
    for markup in ("<script>", "<b>", "<i>"):
        assert markup not in text
    assert "\\*bold\\*" in text
    assert "\\*runs\\*" in text
    assert "Crit \\| ical \\<script\\>" in text
    assert "\\$10k/hour and \\$1k" in text
    assert "Low with a newline" in text  # a newline would end the table row
    severities, roles, types = tables[:3]
    assert severities[1][3] == (
        "a\\|b; \\<script\\>x\\</script\\>; \\$10k/hour and \\$1k; \\# heading"
    )
    assert roles[1][1] == "`commander`, a\\|b, back\\`tick, x\\\\"
    assert types[1][7] == "<https://runbooks.example.com/a%7Cb%3Cc%3E?q=1&r=2>"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_procedure(default_policy(), format="pdf")  # type: ignore[arg-type]


# -- HTML --------------------------------------------------------------------------------------


def test_html_is_a_standalone_page_with_the_same_sections() -> None:
    page = render_procedure(default_policy(), format="html", title="Acme <Ops> & co")
    assert page.startswith("<!doctype html>\n")
    assert '<meta charset="utf-8">' in page
    assert "<style>" in page
    assert "<title>Acme &lt;Ops&gt; &amp; co</title>" in page
    parser = parse_html(page)
    assert parser.tags[:3] == ["html", "head", "meta"]
    assert parser.tags.count("table") == len(SECTIONS)
    assert tuple(re.findall(r"<h2>(.+?)</h2>", page)) == SECTIONS
    assert "<h1>Acme &lt;Ops&gt; &amp; co</h1>" in page
    text = "".join(parser.text)
    assert "after 15m: @backup-oncall; after 30m: @eng-lead" in text
    assert "required, due 2d, reminder 1d before" in text


def test_html_escapes_every_policy_text() -> None:
    page = render_procedure(tricky_policy(), format="html")
    parser = parse_html(page)
    assert "<script" not in page.lower()
    assert set(parser.tags) <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "ul", "li",
        "table", "thead", "tbody", "tr", "th", "td", "code", "a",
    }  # fmt: skip
    assert "Crit | ical &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "*bold* and &lt;b&gt;tags&lt;/b&gt; &amp; `ticks`" in page
    url = "https://runbooks.example.com/a|b&lt;c&gt;?q=1&amp;r=2"
    assert f'<a href="{url}">{url}</a>' in page
    text = "".join(parser.text)
    assert "Boss | <i>Chief</i> (lead)" in text  # shown as written, never as markup
