"""The sandbox's rendering layer: Block Kit and mrkdwn → safe HTML, form answers → Slack's
`view.state.values` (golden pages, hostile text, date tokens, round trips)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows.cards import RoleLine
from bot.templates.operations import (
    assign_modal,
    parse_assign_submission,
    parse_resolve_submission,
    parse_update_submission,
    resolve_modal,
)
from sandbox.blockkit_html import (
    Directory,
    blocks_html,
    mrkdwn_html,
    plain_html,
    state_values,
    text_html,
    view_html,
)
from tests.conftest import assert_golden
from tests.test_templates_incident import HOSTILE, TEMPLATES, make_card
from tests.test_templates_operations_modals import make_update_modal

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)  # a Monday
D = Directory(
    users={"U_ALICE": "alice", "U_BOB": "bob", "U_EVIL": '"><img src=x onerror=alert(1)>'},
    channels={"C0INC42": "inc-42-checkout"},
    groups={"S0SRE": "oncall"},
    tz="Europe/Paris",
    now=NOW,
)
NY = Directory(users=D.users, channels=D.channels, groups=D.groups, tz="America/New_York", now=NOW)
STAMP = 1709561100  # 2024-03-04 14:05:00 UTC


def pt(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": pt(text or value.title()), "value": value}


def per_block(page: str) -> list[str]:
    """A page split before each block, so golden files read one block a line."""
    return re.split(r'(?=<div class="block )', page)


# -- a safety checker over the parsed HTML --------------------------------------------------

TAGS = {
    "a", "b", "i", "s", "code", "pre", "br", "blockquote", "span", "div", "time", "h2", "h3",
    "hr", "button", "select", "option", "optgroup", "input", "textarea", "label", "img",
    "figure", "figcaption", "form",
}  # fmt: skip
URL_ATTRS = {"href", "src", "data-url"}


class Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction", "action"):
                self.problems.append(f"attribute {name} on <{tag}>")
            if name in URL_ATTRS and not re.match(r"(https?://|mailto:)", value or "", re.I):
                self.problems.append(f"{name}={value!r}")
            if name == "data-confirm":
                json.loads(value or "")  # survives the attribute escaping intact

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")


def assert_safe(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.problems == [], checker.problems
    assert not re.search(r"<\s*/?\s*script", page, re.I)
    assert not re.search(r"<img[^>]*\sonerror=", page, re.I)
    assert "javascript:" not in "".join(re.findall(r'(?:href|src)="([^"]*)"', page)).lower()
    return checker


def visible(page: str) -> str:
    return "".join(assert_safe(page).texts)


# -- mrkdwn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold* _italic_ ~strike~", "<b>bold</b> <i>italic</i> <s>strike</s>"),
        ("*_both_* a*b*c snake_case_name", "<b><i>both</i></b> a*b*c snake_case_name"),
        ("`*not* <@U_ALICE>`", '<code>*not* <span class="mention" data-user="U_ALICE">'
         "@alice</span></code>"),
        ("```\n*x* _y_\n  indented\n```\nafter", "<pre>*x* _y_\n  indented</pre>after"),
        ("&gt; quoted *b*\n&gt; more\nplain",
         "<blockquote>quoted <b>b</b><br>more</blockquote>plain"),
        ("&gt;&gt;&gt; all\nof it", "<blockquote>all<br>of it</blockquote>"),
        ("• one\n- two\n1. three", "• one<br>- two<br>1. three"),
        ("a\n\nb", "a<br><br>b"),
        ("<https://x.example/?a=1&amp;b=2|A &amp; B>",
         '<a href="https://x.example/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">'
         "A &amp; B</a>"),
        ("<https://x.example>",
         '<a href="https://x.example" target="_blank" rel="noopener noreferrer">'
         "https://x.example</a>"),
        ("<mailto:oncall@x.example|mail us>",
         '<a href="mailto:oncall@x.example" target="_blank" rel="noopener noreferrer">mail us</a>'),
        ("<javascript:alert(1)|click>", "click"),
        ("<JavaScript:alert(1)>", "JavaScript:alert(1)"),
        ("<@U_ALICE> <@U_NEW> <@U_X|xavier>",
         '<span class="mention" data-user="U_ALICE">@alice</span> '
         '<span class="mention" data-user="U_NEW">@U_NEW</span> '
         '<span class="mention" data-user="U_X">@xavier</span>'),
        ("<#C0INC42> <#C9|general>",
         '<span class="channel" data-channel="C0INC42">#inc-42-checkout</span> '
         '<span class="channel" data-channel="C9">#general</span>'),
        ("<!subteam^S0SRE> <!subteam^S9|@dba>",
         '<span class="mention mention-group" data-group="S0SRE">@oncall</span> '
         '<span class="mention mention-group" data-group="S9">@dba</span>'),
        ("<!here> <!channel|channel> <!everyone>",
         '<span class="mention mention-broadcast">@here</span> '
         '<span class="mention mention-broadcast">@channel</span> '
         '<span class="mention mention-broadcast">@everyone</span>'),
        (":warning: :fire: :no_such_emoji: :x:", "⚠️ 🔥 :no_such_emoji: ❌"),
        ("&lt;script&gt; &amp;lt; &quot;", "&lt;script&gt; &amp;lt; &amp;quot;"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<<<<!channel>", '&lt;&lt;&lt;<span class="mention mention-broadcast">@channel</span>'),
        ("*a _b* c_", "<b>a _b</b> c_"),
    ],
)  # fmt: skip
def test_mrkdwn(text: str, expected: str) -> None:
    assert mrkdwn_html(text, D) == expected
    assert_safe(expected)


def test_a_mention_of_a_hostile_name_is_text() -> None:
    out = mrkdwn_html("<@U_EVIL>", D)
    assert out == (
        '<span class="mention" data-user="U_EVIL">@&quot;&gt;&lt;img src=x '
        "onerror=alert(1)&gt;</span>"
    )
    assert visible(out) == '@"><img src=x onerror=alert(1)>'


def test_plain_and_text_objects() -> None:
    assert plain_html('a <b> & "c"\nd') == "a &lt;b&gt; &amp; &quot;c&quot;<br>d"
    assert text_html(pt("*not bold* :fire:"), D) == "*not bold* 🔥"
    assert text_html({"type": "plain_text", "text": ":fire:", "emoji": False}, D) == ":fire:"
    assert text_html(md("*bold*"), D) == "<b>bold</b>"
    assert text_html(None, D) == ""


# -- dates ----------------------------------------------------------------------------------

DATE_CASES = [
    ("{date_num} {time}", "2024-03-04 15:05", "2024-03-04 09:05"),
    ("{date}", "March 4th, 2024", "March 4th, 2024"),
    ("{date_short} at {time_secs}", "Mar 4, 2024 at 15:05:00", "Mar 4, 2024 at 09:05:00"),
    ("{date_long}", "Monday, March 4th, 2024", "Monday, March 4th, 2024"),
    ("{date_pretty}", "Today", "Today"),
    ("{ago}", "in 2 hours", "in 2 hours"),
]


@pytest.mark.parametrize(("fmt", "paris", "new_york"), DATE_CASES)
def test_date_tokens_in_the_viewers_zone(fmt: str, paris: str, new_york: str) -> None:
    text = f"<!date^{STAMP}^{fmt}|fallback>"
    tag = '<time datetime="2024-03-04T14:05:00Z">'
    assert mrkdwn_html(text, D) == f"{tag}{paris}</time>"
    assert mrkdwn_html(text, NY) == f"{tag}{new_york}</time>"


def test_pretty_dates_and_ago() -> None:
    late = Directory(tz="Europe/Paris", now=datetime(2024, 3, 4, 23, 30, tzinfo=UTC))
    night = 1709594400  # 2024-03-04 23:20 UTC: the 5th in Paris, still the 4th in New York
    text = f"<!date^{night}^{{date_short_pretty}} {{time}} ({{ago}})|x>"
    eve = Directory(tz="Europe/Paris", now=datetime(2024, 3, 4, 22, 0, tzinfo=UTC))
    assert "Tomorrow 00:20 (in 1 hour)" in mrkdwn_html(text, eve)
    assert "Today 00:20 (10 minutes ago)" in mrkdwn_html(text, late)
    ny_late = Directory(tz="America/New_York", now=datetime(2024, 3, 5, 23, 0, tzinfo=UTC))
    assert "Yesterday 18:20 (24 hours ago)" in mrkdwn_html(text, ny_late)
    old = f"<!date^{STAMP - 86400 * 40}^{{date_long_pretty}}, {{ago}}|x>"
    assert "Wednesday, January 24th, 2024, 1 month ago" in mrkdwn_html(old, D)


def test_date_link_fallback_and_garbage() -> None:
    linked = mrkdwn_html(f"<!date^{STAMP}^{{time}}^https://x.example/p|f>", D)
    assert linked == (
        '<a href="https://x.example/p" target="_blank" rel="noopener noreferrer">'
        '<time datetime="2024-03-04T14:05:00Z">15:05</time></a>'
    )
    evil = mrkdwn_html(f"<!date^{STAMP}^{{time}}^javascript:alert(1)|f>", D)
    assert evil == '<time datetime="2024-03-04T14:05:00Z">15:05</time>'
    assert mrkdwn_html(f"<!date^{STAMP}^{{weekday}}|2024-03-04 &lt;b&gt;>", D) == (
        "2024-03-04 &lt;b&gt;"
    )
    assert mrkdwn_html("<!date^soon^{time}|later>", D) == "later"
    assert mrkdwn_html(f"<!date^{STAMP}^&lt;b&gt; {{time}}|f>", D).endswith(
        "&lt;b&gt; 15:05</time>"
    )
    assert "UTC" not in mrkdwn_html(f"<!date^{STAMP}^{{time}}|f>", Directory(tz="Nowhere/Land"))


# -- blocks ---------------------------------------------------------------------------------

CONFIRM = {
    "title": pt('Really "close"?'),
    "text": md("Close *INC-42* <it's> & done"),
    "confirm": pt("Close"),
    "deny": pt("Keep open"),
    "style": "danger",
}
GROUPS = [
    {"label": pt("Urgent"), "options": [option("P1"), option("P2")]},
    {"label": pt("Later"), "options": [option("P3")]},
]


def every_block() -> list[dict[str, Any]]:
    return [
        {"type": "header", "block_id": "h", "text": pt("INC-42 · Checkout down :rotating_light:")},
        {
            "type": "section",
            "block_id": "s1",
            "text": md("*Status* <@U_ALICE> <#C0INC42> <!date^1709561100^{date_short_pretty}|x>"),
            "accessory": {
                "type": "button",
                "action_id": "open",
                "text": pt("Open"),
                "url": "https://x.example/inc/42",
            },
        },
        {
            "type": "section",
            "block_id": "s2",
            "fields": [md("*Severity*\nP1"), md("*Status*\nInvestigating"), pt("plain *field*")],
            "accessory": {
                "type": "overflow",
                "action_id": "more",
                "options": [option("edit"), {**option("docs"), "url": "https://x.example/d"}],
            },
        },
        {
            "type": "section",
            "block_id": "s3",
            "text": md("Severity"),
            "accessory": {
                "type": "static_select",
                "action_id": "sev",
                "placeholder": pt("Pick"),
                "option_groups": GROUPS,
                "initial_option": option("P2"),
            },
        },
        {
            "type": "section",
            "block_id": "s4",
            "text": md("Commander"),
            "accessory": {"type": "users_select", "action_id": "who", "initial_user": "U_BOB"},
        },
        {
            "type": "section",
            "block_id": "s5",
            "text": md("Due"),
            "accessory": {"type": "datepicker", "action_id": "due", "initial_date": "2024-03-05"},
        },
        {
            "type": "section",
            "block_id": "s6",
            "text": md("Graph"),
            "accessory": {"type": "image", "image_url": "https://x.example/g.png", "alt_text": "g"},
        },
        {
            "type": "context",
            "block_id": "c",
            "elements": [
                {"type": "image", "image_url": "https://x.example/a.png", "alt_text": "avatar"},
                md(":book: <https://x.example/runbook|Runbook>"),
                pt("plain <context>"),
            ],
        },
        {"type": "divider", "block_id": "d"},
        {
            "type": "actions",
            "block_id": "incident_panel_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "incident_ack",
                    "text": pt("Acknowledge"),
                    "style": "primary",
                    "value": "42",
                },
                {
                    "type": "button",
                    "action_id": "incident_close",
                    "text": pt("Close"),
                    "style": "danger",
                    "value": "42",
                    "confirm": CONFIRM,
                },
                {
                    "type": "static_select",
                    "action_id": "status",
                    "options": [option("investigating"), option("monitoring")],
                },
                {"type": "users_select", "action_id": "assign", "placeholder": pt("Assign")},
                {"type": "overflow", "action_id": "ovf", "options": [option("a"), option("b")]},
                {"type": "datepicker", "action_id": "date"},
                {
                    "type": "checkboxes",
                    "action_id": "checks",
                    "options": [option("x", "X"), {**option("y", "Y"), "description": md("_why_")}],
                    "initial_options": [option("y", "Y")],
                },
            ],
        },
        {
            "type": "image",
            "block_id": "img",
            "image_url": "https://x.example/chart.png",
            "alt_text": "error rate",
            "title": pt("Error rate"),
        },
        {
            "type": "image",
            "block_id": "img2",
            "image_url": "ftp://x.example/c.png",
            "alt_text": "c",
        },
        {"type": "rich_text", "block_id": "rt", "elements": []},
    ]


def test_every_block_matches_golden() -> None:
    blocks = every_block()
    page = blocks_html(blocks, D)
    assert_safe(page)
    assert page == "".join(blocks_html([b], D) for b in blocks)
    assert_golden("sandbox_blocks", [blocks_html([b], D) for b in blocks])


def test_buttons_and_their_data() -> None:
    page = blocks_html(every_block(), D)
    assert (
        '<button type="button" class="btn btn-primary" data-type="button" '
        'data-action-id="incident_ack" data-block-id="incident_panel_actions" '
        'data-value="42">Acknowledge</button>'
    ) in page
    attrs = dict(re.findall(r'(data-confirm)="([^"]*)"', page))
    assert '"' not in attrs["data-confirm"]  # quotes inside are &quot;
    assert '<a href="https://x.example/inc/42"' in page
    assert '<div class="unknown">rich_text</div>' in page
    assert '<span class="image-blocked">[image: c]</span>' in page


def test_confirm_survives_as_json() -> None:
    class Grab(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str | None] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found += [v for k, v in attrs if k == "data-confirm"]

    grab = Grab()
    grab.feed(blocks_html(every_block(), D))
    assert [json.loads(v or "") for v in grab.found] == [CONFIRM]


def test_the_bots_panel_matches_golden() -> None:
    page = blocks_html(TEMPLATES.panel(make_card()).blocks, D)
    assert_safe(page)
    assert_golden("sandbox_incident_panel", per_block(page))


# -- modals ---------------------------------------------------------------------------------


def inp(block_id: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    element = {"action_id": block_id, **element}
    label = pt(block_id.replace("_", " ").capitalize())
    return {"type": "input", "block_id": block_id, "label": label, "element": element, **extra}


SEVERITY = [option("P1", "P1 · Critical"), option("P2", "P2 · High")]
FLAGS = [option("share"), option("page", "Page the vendor")]


def every_input_modal() -> dict[str, Any]:
    return {
        "id": "V0ALL",
        "type": "modal",
        "callback_id": "sandbox_all",
        "title": pt("Every input"),
        "submit": pt("Save"),
        "close": pt("Cancel"),
        "blocks": [
            {"type": "section", "block_id": "intro", "text": md("*INC-42* <@U_ALICE>")},
            inp(
                "title",
                {"type": "plain_text_input", "initial_value": "Checkout down", "max_length": 150},
                hint=pt("Short and clear"),
            ),
            inp(
                "details",
                {"type": "plain_text_input", "multiline": True, "placeholder": pt("What happened")},
                optional=True,
            ),
            inp("severity",
                {"type": "static_select", "options": SEVERITY, "initial_option": SEVERITY[1]}),
            inp("grouped", {"type": "static_select", "option_groups": GROUPS}, optional=True),
            inp("services",
                {"type": "multi_static_select", "options": [option("api"), option("db")]}),
            inp("commander", {"type": "users_select", "initial_user": "U_ALICE"}),
            inp("watchers", {"type": "multi_users_select", "initial_users": ["U_BOB"]},
                optional=True),
            inp("flags", {"type": "checkboxes", "options": FLAGS, "initial_options": [FLAGS[0]]}),
            inp("kind", {"type": "radio_buttons", "options": SEVERITY}),
            inp(
                "minutes",
                {"type": "number_input", "is_decimal_allowed": False, "initial_value": "30",
                 "min_value": "1", "max_value": "600"},
            ),
            inp("ratio", {"type": "number_input", "is_decimal_allowed": True}, optional=True),
            inp("due", {"type": "datepicker", "initial_date": "2024-03-05"}),
            inp("at", {"type": "timepicker", "initial_time": "09:30"}),
            inp("ended", {"type": "datetimepicker", "initial_date_time": STAMP}),
        ],
    }  # fmt: skip


def test_a_modal_with_every_input_matches_golden() -> None:
    view = every_input_modal()
    errors = {"title": "Say what is broken <b>now</b>", "severity": "Pick one"}
    page = view_html(view, D, errors=errors)
    assert_safe(page)
    assert page.startswith(
        '<form class="modal" data-view-id="V0ALL" data-callback-id="sandbox_all">'
    )
    assert '<div class="field-error" role="alert">Say what is broken &lt;b&gt;now&lt;/b&gt;' in page
    assert 'data-role="submit">Save</button>' in page
    assert 'data-role="close">Cancel</button>' in page
    assert_golden("sandbox_modal_every_input", per_block(page))


def test_required_and_optional_fields() -> None:
    page = view_html(every_input_modal(), D)
    assert re.search(r'name="title/title"[^>]*\srequired', page)
    assert not re.search(r'name="details/details"[^>]*\srequired', page)
    assert '<input type="datetime-local"' in page
    assert 'value="2024-03-04T15:05"' in page
    assert 'value="2024-03-04T09:05"' in view_html(every_input_modal(), NY)


def test_the_bots_update_modal_matches_golden() -> None:
    view = {**make_update_modal(), "id": "V0UPD"}
    page = view_html(view, D, errors={"impact": "Say who is affected."})
    assert_safe(page)
    assert_golden("sandbox_update_modal", per_block(page))


# -- hostile text ---------------------------------------------------------------------------

NASTY = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<javascript:alert(1)|click>",
    '<https://x.example"onmouseover="alert(1)|x>',
    "<data:text/html;base64,PHNjcmlwdD4=|x>",
    "' onfocus='alert(1)",
    "\x00\x01\U000f0000\x01 <!--",
    *HOSTILE,
)


def hostile_blocks(text: str) -> list[dict[str, Any]]:
    opt = {"text": pt(text), "value": text, "url": "javascript:alert(1)"}
    confirm = {"title": pt(text), "text": md(text), "confirm": pt(text), "deny": pt(text)}
    return [
        {"type": "header", "block_id": text, "text": pt(text)},
        {"type": "section", "block_id": text, "text": md(text), "fields": [md(text), pt(text)]},
        {"type": "context",
         "elements": [md(text), {"type": "image", "image_url": text, "alt_text": text}]},
        {
            "type": "actions",
            "block_id": text,
            "elements": [
                {"type": "button", "action_id": text, "text": pt(text), "value": text,
                 "confirm": confirm, "url": text, "style": text},
                {"type": "button", "action_id": "u", "text": pt("u"), "url": "javascript:alert(1)"},
                {"type": "static_select", "action_id": text, "options": [opt],
                 "placeholder": pt(text)},
                {"type": "overflow", "action_id": text, "options": [opt, opt]},
                {"type": "checkboxes", "action_id": text,
                 "options": [{**opt, "description": md(text)}]},
                {"type": text, "action_id": text},
            ],
        },
        {"type": "image", "image_url": "javascript:alert(1)", "alt_text": text, "title": pt(text)},
        {"type": text},
    ]  # fmt: skip


@pytest.mark.parametrize("text", NASTY)
def test_hostile_text_stays_text(text: str) -> None:
    d = Directory(users={"U123": text}, channels={"C123": text}, groups={"S0SRE": text}, tz=text)
    page = blocks_html(hostile_blocks(text), d)
    assert_safe(page)
    assert_safe(mrkdwn_html(text, d))
    view = {
        "id": text,
        "type": "modal",
        "callback_id": text,
        "title": pt(text),
        "submit": pt(text),
        "close": pt(text),
        "blocks": [
            inp("a", {"type": "plain_text_input", "initial_value": text, "placeholder": pt(text)},
                hint=pt(text)),
            inp("b", {"type": "plain_text_input", "multiline": True, "initial_value": text}),
            inp("c", {"type": "users_select", "initial_user": text}),
            {**inp("d", {"type": "static_select", "options": [option(text, text)]}),
             "label": pt(text)},
            {**inp(text, {"type": "radio_buttons", "options": [option(text, text)]})},
        ],
    }  # fmt: skip
    assert_safe(view_html(view, d, errors={"a": text, text: text}))
    assert_safe(view_html({**view, "type": text}, d))


def test_script_text_is_shown_not_run() -> None:
    page = blocks_html(hostile_blocks("<script>alert(1)</script>")[:2], D)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert visible(page).count("<script>alert(1)</script>") == 4
    assert visible(mrkdwn_html("&lt;script&gt;", D)) == "<script>"
    assert visible(mrkdwn_html("<javascript:alert(1)|click>", D)) == "click"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>&|*_~`@#!^:;/\\\"' abcUSC123hjtps.\n{}", max_size=80))
def test_any_mrkdwn_is_safe(text: str) -> None:
    assert_safe(mrkdwn_html(text, D))


# -- state_values ---------------------------------------------------------------------------

ANSWERS: dict[str, Any] = {
    "title/title": "Checkout down",
    "details/details": "",
    "severity/severity": "P1",
    "grouped/grouped": "P3",
    "services/services": ["db", "api", "nope"],
    "commander/commander": "U_BOB",
    "watchers/watchers": ["U_ALICE", "U_BOB"],
    "flags/flags": ["page"],
    "kind/kind": "P2",
    "minutes/minutes": "45",
    "ratio/ratio": "0.5",
    "due/due": "2024-03-06",
    "at/at": "17:45",
    "ended/ended": "2024-03-04T15:05",
}


def slack_state(**values: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {block: {block: value} for block, value in values.items()}


EXPECTED = slack_state(
    title={"type": "plain_text_input", "value": "Checkout down"},
    details={"type": "plain_text_input", "value": None},
    severity={"type": "static_select", "selected_option": SEVERITY[0]},
    grouped={"type": "static_select", "selected_option": option("P3")},
    services={"type": "multi_static_select", "selected_options": [option("db"), option("api")]},
    commander={"type": "users_select", "selected_user": "U_BOB"},
    watchers={"type": "multi_users_select", "selected_users": ["U_ALICE", "U_BOB"]},
    flags={"type": "checkboxes", "selected_options": [FLAGS[1]]},
    kind={"type": "radio_buttons", "selected_option": SEVERITY[1]},
    minutes={"type": "number_input", "value": "45"},
    ratio={"type": "number_input", "value": "0.5"},
    due={"type": "datepicker", "selected_date": "2024-03-06"},
    at={"type": "timepicker", "selected_time": "17:45"},
    ended={"type": "datetimepicker", "selected_date_time": STAMP},
)


def test_answers_become_slacks_state_values() -> None:
    assert state_values(every_input_modal(), ANSWERS, tz="Europe/Paris") == EXPECTED


def test_the_datetime_is_read_in_the_viewers_zone() -> None:
    answers = {"ended/ended": "2024-03-04T09:05"}
    ended = state_values(every_input_modal(), answers, tz="America/New_York")["ended"]["ended"]
    assert ended == {"type": "datetimepicker", "selected_date_time": STAMP}
    utc = state_values(every_input_modal(), answers)["ended"]["ended"]
    assert utc["selected_date_time"] == STAMP - 5 * 3600


def test_unanswered_inputs_are_there_empty() -> None:
    assert state_values(every_input_modal(), {}) == slack_state(
        title={"type": "plain_text_input", "value": None},
        details={"type": "plain_text_input", "value": None},
        severity={"type": "static_select", "selected_option": None},
        grouped={"type": "static_select", "selected_option": None},
        services={"type": "multi_static_select", "selected_options": []},
        commander={"type": "users_select", "selected_user": None},
        watchers={"type": "multi_users_select", "selected_users": []},
        flags={"type": "checkboxes", "selected_options": []},
        kind={"type": "radio_buttons", "selected_option": None},
        minutes={"type": "number_input", "value": None},
        ratio={"type": "number_input", "value": None},
        due={"type": "datepicker", "selected_date": None},
        at={"type": "timepicker", "selected_time": None},
        ended={"type": "datetimepicker", "selected_date_time": None},
    )


def test_values_a_slack_client_would_never_send_are_dropped() -> None:
    wrong = {
        "severity/severity": "P9",
        "kind/kind": ["P0"],
        "flags/flags": "forged",
        "commander/commander": "<!channel>",
        "minutes/minutes": "1.5",
        "ratio/ratio": "lots",
        "due/due": "2024-02-30",
        "at/at": "25:00",
        "ended/ended": "yesterday",
    }
    got = state_values(every_input_modal(), wrong)
    assert got["severity"]["severity"]["selected_option"] is None
    assert got["kind"]["kind"]["selected_option"] is None
    assert got["flags"]["flags"]["selected_options"] == []
    assert got["commander"]["commander"]["selected_user"] is None
    assert got["minutes"]["minutes"]["value"] is None
    assert state_values(every_input_modal(), {"minutes/minutes": "601"})["minutes"]["minutes"] == {
        "type": "number_input",
        "value": None,
    }
    assert got["ratio"]["ratio"]["value"] is None
    assert got["due"]["due"]["selected_date"] is None
    assert got["at"]["at"]["selected_time"] is None
    assert got["ended"]["ended"]["selected_date_time"] is None


def test_text_keeps_its_newlines() -> None:
    view = {"blocks": [inp("b", {"type": "plain_text_input", "multiline": True})]}
    assert state_values(view, {"b/b": "one\r\ntwo"}) == slack_state(
        b={"type": "plain_text_input", "value": "one\ntwo"}
    )
    view["blocks"][0]["element"]["initial_value"] = "\nindented & <b>"
    page = view_html(view, D)
    assert ">\n\nindented &amp; &lt;b&gt;</textarea>" in page


def test_option_objects_are_copies() -> None:
    view = every_input_modal()
    got = state_values(view, ANSWERS)
    got["severity"]["severity"]["selected_option"]["value"] = "changed"
    assert view["blocks"][3]["element"]["options"][0]["value"] == "P1"


# -- round trip: the rendered form, submitted as a browser would ----------------------------


class FormReader(HTMLParser):
    """What a browser submits for a form: successful controls, name → value(s)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.multi: set[str] = set()
        self._select: tuple[str, bool, list[tuple[str, bool]]] | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        present = {k for k, _ in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in present:
                    self.fields.append((a["name"], a["value"]))
                if a.get("type") == "checkbox":
                    self.multi.add(a["name"])
            else:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and "name" in a:
            self._select = (a["name"], "multiple" in present, [])
        elif tag == "option" and self._select is not None:
            self._select[2].append((a.get("value", ""), "selected" in present))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            name, multiple, options = self._select
            chosen = [v for v, s in options if s] or ([] if multiple else [options[0][0]])
            self.fields += [(name, v) for v in chosen]
            if multiple:
                self.multi.add(name)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text))
            self._textarea = None

    def answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.fields:
            if name in self.multi:
                out.setdefault(name, []).append(value)
            else:
                out[name] = value
        return out


def submit(page: str) -> dict[str, Any]:
    reader = FormReader()
    reader.feed(page)
    reader.close()
    return reader.answers()


@pytest.mark.parametrize("d", [D, NY], ids=["paris", "new_york"])
def test_a_form_submitted_untouched_gives_its_initial_values(d: Directory) -> None:
    view = every_input_modal()
    got = state_values(view, submit(view_html(view, d)), tz=d.tz)
    assert got == slack_state(
        title={"type": "plain_text_input", "value": "Checkout down"},
        details={"type": "plain_text_input", "value": None},
        severity={"type": "static_select", "selected_option": SEVERITY[1]},
        grouped={"type": "static_select", "selected_option": None},
        services={"type": "multi_static_select", "selected_options": []},
        commander={"type": "users_select", "selected_user": "U_ALICE"},
        watchers={"type": "multi_users_select", "selected_users": ["U_BOB"]},
        flags={"type": "checkboxes", "selected_options": [FLAGS[0]]},
        kind={"type": "radio_buttons", "selected_option": None},
        minutes={"type": "number_input", "value": "30"},
        ratio={"type": "number_input", "value": None},
        due={"type": "datepicker", "selected_date": "2024-03-05"},
        at={"type": "timepicker", "selected_time": "09:30"},
        ended={"type": "datetimepicker", "selected_date_time": STAMP},
    )


def test_the_bots_parsers_read_what_the_sandbox_builds() -> None:
    update = make_update_modal()
    answers = submit(view_html(update, D)) | {"impact/impact": "All card payments fail"}
    parsed = parse_update_submission(state_values(update, answers))
    assert (parsed.status, parsed.impact, parsed.next_in_minutes, parsed.share) == (
        "investigating",
        "All card payments fail",
        30,
        True,
    )
    resolve = resolve_modal(card=make_card())
    answers = {
        "summary/summary": "Rolled back",
        "impact_ended_at/impact_ended_at": "2024-03-04T15:05",
    }
    parsed_resolve = parse_resolve_submission(state_values(resolve, answers, tz="Europe/Paris"))
    assert parsed_resolve.summary == "Rolled back"
    assert parsed_resolve.impact_ended_at == datetime.fromtimestamp(STAMP, UTC)
    roles = [RoleLine("commander", "Incident Commander", "U_ALICE")]
    assign = assign_modal(card=make_card(), roles=roles)
    picked = state_values(assign, submit(view_html(assign, D)))
    assert parse_assign_submission(picked) == {"commander": "U_ALICE"}


def test_real_bot_modals_render_safely() -> None:
    for view in (make_update_modal(), resolve_modal(card=make_card())):
        assert_safe(view_html(view, D))
    for message in (TEMPLATES.panel(make_card()), TEMPLATES.announcement(make_card())):
        assert_safe(blocks_html(message.blocks, D))
