"""The fake Slack: messages, Block Kit rules, pins, reactions, bookmarks, files and canvases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import FakeSlack


@pytest.fixture
def channel(fake: FakeSlack) -> str:
    return fake.channel_id("incident-response")


def slack_error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    return dict(raised.value.response.data)


def rules(fake: FakeSlack) -> list[str]:
    return [v.rule for v in fake.take_violations()]


def section(text: str = "x") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Ack", value: str = "1") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": "ack",
        "value": value,
    }


# -- Block Kit in messages --


def test_fifty_blocks_are_accepted_fifty_one_refused(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    ok = client.chat_postMessage(channel=channel, text="50", blocks=[section()] * 50)
    assert len(fake.message(channel, ok["ts"]).blocks or []) == 50
    body = slack_error(
        lambda: client.chat_postMessage(channel=channel, text="51", blocks=[section()] * 51)
    )
    assert body["error"] == "invalid_blocks"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]
    assert rules(fake) == ["block_kit"]
    assert [m.text for m in fake.channel(channel).messages] == ["50"]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section("s" * 3001)], "/blocks/0/text/text"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0"),
        ([{"type": "actions", "elements": [button("b" * 76)]}], "/blocks/0/elements/0/text/text"),
        ([section(), {**section(), "block_id": "i" * 256}], "/blocks/1/block_id"),
        ([{"type": "actions", "elements": [{**button(), "action_id": "a" * 256}]}], "action_id"),
        ([{"type": "no_such_block"}], "/blocks/0/type"),
        ([{"type": "section"}], "/blocks/0"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "/blocks/0/text"),
    ],
)
def test_invalid_blocks_are_refused_with_a_pointer(
    fake: FakeSlack, client: WebClient, channel: str, blocks: list[Any], pointer: str
) -> None:
    body = slack_error(lambda: client.chat_postMessage(channel=channel, text="t", blocks=blocks))
    assert body["error"] == "invalid_blocks"
    assert any(pointer in m for m in body["response_metadata"]["messages"]), body
    assert rules(fake) == ["block_kit"]


def test_select_and_option_limits(fake: FakeSlack, client: WebClient, channel: str) -> None:
    def select(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
        element = {
            "type": "static_select",
            "action_id": "sev",
            "options": options,
            "placeholder": {"type": "plain_text", "text": "Severity"},
        }
        return [{"type": "actions", "elements": [element]}]

    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": text}, "value": value}

    fine = [option(f"o{i}", f"v{i}") for i in range(100)]
    client.chat_postMessage(channel=channel, text="ok", blocks=select(fine))
    for options in (
        [*fine, option("o100", "v100")],
        [option("t" * 76, "v")],
        [option("t", "v" * 151)],
    ):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel=channel, text="x", blocks=select(options))
        assert raised.value.response["error"] == "invalid_blocks"
    assert rules(fake) == ["block_kit"] * 3


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_blocks_without_text_fallback_succeed_with_warning_and_violation(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    response = client.chat_postMessage(channel=channel, blocks=[section("only blocks")])
    assert response["ok"] is True
    assert response["warning"] == "missing_text_or_fallback_or_attachments"
    assert response["response_metadata"]["warnings"] == ["missing_text_or_fallback_or_attachments"]
    [violation] = fake.take_violations()
    assert (violation.method, violation.rule) == ("chat.postMessage", "missing_text_fallback")
    client.chat_postMessage(channel=channel, text="fallback", blocks=[section("with text")])
    assert fake.violations == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_text_rules(fake: FakeSlack, client: WebClient, channel: str) -> None:
    client.chat_postMessage(channel=channel, text="m" * 40_000)
    assert (
        slack_error(lambda: client.chat_postMessage(channel=channel, text="m" * 40_001))["error"]
        == "msg_too_long"
    )
    assert slack_error(lambda: client.chat_postMessage(channel=channel))["error"] == "no_text"
    bad_meta = slack_error(
        lambda: client.chat_postMessage(channel=channel, text="t", metadata={"event_payload": {}})
    )
    assert bad_meta["error"] == "invalid_metadata_format"
    assert (
        slack_error(lambda: client.chat_postMessage(channel="C_NOWHERE", text="t"))["error"]
        == "channel_not_found"
    )
    assert rules(fake) == ["message_length", "no_text", "metadata"]


# -- update, delete, permalinks, ephemeral --


def test_update_keeps_what_it_does_not_mention(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    ts = client.chat_postMessage(channel=channel, text="v1", blocks=[section("v1")])["ts"]
    client.chat_update(channel=channel, ts=ts, text="v2")
    message = fake.message(channel, ts)
    assert (message.text, message.blocks, message.edited) == ("v2", [section("v1")], True)
    assert message.history[0]["text"] == "v1"
    client.chat_update(channel=channel, ts=ts, text="v3", blocks=[])
    assert fake.message(channel, ts).blocks is None
    assert (
        slack_error(lambda: client.chat_update(channel=channel, ts="1.000002", text="x"))["error"]
        == "message_not_found"
    )
    human = fake.post_as_user(channel, "U_ALICE", "mine")
    assert (
        slack_error(lambda: client.chat_update(channel=channel, ts=human, text="x"))["error"]
        == "cant_update_message"
    )
    assert slack_error(lambda: client.chat_delete(channel=channel, ts=human))["error"] == (
        "cant_delete_message"
    )
    slack_error(
        lambda: client.chat_update(channel=channel, ts=ts, text="t", blocks=[section("s" * 3001)])
    )
    assert rules(fake) == ["block_kit"]
    client.chat_delete(channel=channel, ts=ts)
    assert [m.text for m in fake.channel(channel).messages] == ["mine"]


def test_permalinks(fake: FakeSlack, client: WebClient, channel: str) -> None:
    ts = client.chat_postMessage(channel=channel, text="root")["ts"]
    reply = client.chat_postMessage(channel=channel, text="reply", thread_ts=ts)["ts"]
    link = client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    assert link == f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    thread_link = client.chat_getPermalink(channel=channel, message_ts=reply)["permalink"]
    assert thread_link.endswith(f"?thread_ts={ts}&cid={channel}")
    assert (
        slack_error(lambda: client.chat_getPermalink(channel=channel, message_ts="1.1"))["error"]
        == "message_not_found"
    )


def test_ephemeral_messages_are_seen_only_by_their_user(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    client.chat_postEphemeral(channel=channel, user="U_ALICE", text="only you")
    assert [(s.kind, s.text) for s in fake.seen_by("U_ALICE")] == [("ephemeral", "only you")]
    assert fake.seen_by("U_BOB") == []
    assert fake.channel(channel).messages == []
    outsider = fake.add_channel(name="tiny", members=["U_BOB"])
    assert (
        slack_error(lambda: client.chat_postEphemeral(channel=outsider, user="U_ALICE", text="x"))[
            "error"
        ]
        == "user_not_in_channel"
    )


# -- pins, reactions, bookmarks --


def test_pins(fake: FakeSlack, client: WebClient, channel: str) -> None:
    ts = client.chat_postMessage(channel=channel, text="summary")["ts"]
    client.pins_add(channel=channel, timestamp=ts)
    assert fake.channel(channel).pins == [ts]
    assert slack_error(lambda: client.pins_add(channel=channel, timestamp=ts))["error"] == (
        "already_pinned"
    )
    assert slack_error(lambda: client.pins_add(channel=channel))["error"] == "no_item_specified"
    items = client.pins_list(channel=channel)["items"]
    assert [i["message"]["ts"] for i in items] == [ts]
    client.pins_remove(channel=channel, timestamp=ts)
    assert slack_error(lambda: client.pins_remove(channel=channel, timestamp=ts))["error"] == (
        "not_pinned"
    )
    general = fake.channel_id("general")
    other = client.chat_postMessage(channel=general, text="pin me")["ts"]
    assert slack_error(lambda: client.pins_add(channel=general, timestamp=other))["error"] == (
        "not_in_channel"
    )


def test_reactions(fake: FakeSlack, client: WebClient, channel: str) -> None:
    ts = client.chat_postMessage(channel=channel, text="ack me")["ts"]
    client.reactions_add(channel=channel, timestamp=ts, name="eyes")
    assert fake.message(channel, ts).reactions == {"eyes": [fake.bot_user_id]}
    assert (
        slack_error(lambda: client.reactions_add(channel=channel, timestamp=ts, name="eyes"))[
            "error"
        ]
        == "already_reacted"
    )
    got = client.reactions_get(channel=channel, timestamp=ts)["message"]["reactions"]
    assert got == [{"name": "eyes", "users": [fake.bot_user_id], "count": 1}]
    client.reactions_remove(channel=channel, timestamp=ts, name="eyes")
    assert (
        slack_error(lambda: client.reactions_remove(channel=channel, timestamp=ts, name="eyes"))[
            "error"
        ]
        == "no_reaction"
    )
    assert (
        slack_error(lambda: client.reactions_add(channel=channel, timestamp=ts, name=":x:"))[
            "error"
        ]
        == "invalid_name"
    )
    assert rules(fake) == ["emoji_name"]


def test_bookmarks(fake: FakeSlack, client: WebClient, channel: str) -> None:
    added = client.bookmarks_add(
        channel_id=channel, title="Runbook", type="link", link="https://runbooks.example.com/db"
    )["bookmark"]
    assert added["channel_id"] == channel
    assert added["id"].startswith("Bk")
    assert [b["title"] for b in client.bookmarks_list(channel_id=channel)["bookmarks"]] == [
        "Runbook"
    ]
    assert fake.channel(channel).bookmarks[0]["link"] == "https://runbooks.example.com/db"
    bad = slack_error(
        lambda: client.bookmarks_add(
            channel_id=channel, title="x", type="link", link="javascript:alert(1)"
        )
    )
    assert bad["error"] == "invalid_link"
    client.bookmarks_remove(channel_id=channel, bookmark_id=added["id"])
    assert (
        slack_error(lambda: client.bookmarks_remove(channel_id=channel, bookmark_id=added["id"]))[
            "error"
        ]
        == "not_found"
    )
    assert rules(fake) == ["bookmark"]


# -- files and canvases --


async def test_file_upload_v2_flow(fake: FakeSlack, channel: str) -> None:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token)
    done = await client.files_upload_v2(
        channel=channel,
        content="timeline\n10:00 paged",
        filename="timeline.txt",
        title="Timeline",
        initial_comment="Incident timeline",
    )
    file_id = done["file"]["id"]
    [stored] = fake.files()
    assert (stored.id, stored.content, stored.uploaded) == (file_id, b"timeline\n10:00 paged", True)
    assert stored.title == "Timeline"
    assert stored.channels == [channel]
    [message] = fake.channel(channel).messages
    assert message.text == "Incident timeline"
    assert message.files[0]["id"] == file_id
    info = await client.files_info(file=file_id)
    assert info["file"]["name"] == "timeline.txt"
    assert info["file"]["channels"] == [channel]
    assert [c.method for c in fake.calls()] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
        "files.info",
    ]
    assert fake.violations == []


def test_complete_before_upload_is_refused(fake: FakeSlack, client: WebClient) -> None:
    url = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert url["upload_url"].startswith(fake.base_url + "/upload/v1/")
    body = slack_error(
        lambda: client.files_completeUploadExternal(files=[{"id": url["file_id"], "title": "A"}])
    )
    assert body["error"] == "file_not_found"
    assert rules(fake) == ["upload_flow"]


def test_canvases(fake: FakeSlack, client: WebClient, channel: str) -> None:
    doc = {"type": "markdown", "markdown": "# Postmortem\n"}
    canvas_id = client.canvases_create(title="PM", document_content=doc)["canvas_id"]
    client.canvases_edit(
        canvas_id=canvas_id,
        changes=[
            {
                "operation": "insert_at_end",
                "document_content": {"type": "markdown", "markdown": "- a"},
            },
            {"operation": "rename", "title_content": {"type": "markdown", "markdown": "PM v2"}},
        ],
    )
    channel_canvas = client.conversations_canvases_create(channel_id=channel, document_content=doc)
    assert fake.channel(channel).canvas_id == channel_canvas["canvas_id"]
    assert (
        slack_error(
            lambda: client.conversations_canvases_create(channel_id=channel, document_content=doc)
        )["error"]
        == "channel_canvas_already_exists"
    )
    canvases = {c.id: c for c in fake.canvases()}
    assert canvases[canvas_id].markdown == "# Postmortem\n\n- a"
    assert canvases[canvas_id].title == "PM v2"
    assert slack_error(lambda: client.canvases_edit(canvas_id="F_NOPE", changes=[]))["error"] == (
        "canvas_not_found"
    )
    bad = slack_error(
        lambda: client.canvases_edit(canvas_id=canvas_id, changes=[{"operation": "explode"}])
    )
    assert bad["error"] == "canvas_editing_failed"
    bad_doc = slack_error(lambda: client.canvases_create(document_content={"markdown": "x"}))
    assert bad_doc["error"] == "canvas_creation_failed"
    assert rules(fake) == ["canvas_changes", "canvas_document"]
    assert client.files_info(file=canvas_id)["file"]["filetype"] == "quip"


def test_render_texts_lists_every_string_the_bot_sent(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    client.chat_postMessage(channel=channel, text="plain <b>", blocks=[section("*in block*")])
    client.conversations_setTopic(channel=channel, topic="SEV1 & friends")
    texts = fake.render_texts()
    assert {"plain <b>", "*in block*", "SEV1 & friends"} <= set(texts)


def test_blocks_built_with_slack_sdk_models_are_accepted(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    """No false positives: what slack_sdk's own models build (with the seeded ids) is valid."""
    from slack_sdk.models import blocks as b
    from slack_sdk.models.views import View

    options = [b.Option(text=f"SEV{i}", value=f"sev{i}") for i in range(1, 4)]
    rich = b.RichTextSectionElement(
        elements=[
            b.RichTextElementParts.Text(text="paged ", style={"bold": True}),
            b.RichTextElementParts.User(user_id="U_ALICE"),
        ]
    )
    blocks = [
        b.HeaderBlock(text="Incident 12"),
        b.SectionBlock(
            text="*SEV1* database down",
            fields=[b.MarkdownTextObject(text="*Lead*\n<@U_BOB>")],
            accessory=b.StaticSelectElement(action_id="sev", options=options),
        ),
        b.ActionsBlock(
            elements=[
                b.ButtonElement(text="Ack", action_id="ack", value="12", style="primary"),
                b.UserSelectElement(action_id="lead", initial_user="U_ALICE"),
                b.OverflowMenuElement(action_id="more", options=options),
            ]
        ),
        b.ContextBlock(elements=[b.MarkdownTextObject(text="declared by <@U_ALICE>")]),
        b.DividerBlock(),
        b.RichTextBlock(elements=[rich]),
    ]
    client.chat_postMessage(channel=channel, text="Incident 12", blocks=blocks)
    modal = View(
        type="modal",
        title="Declare incident",
        submit="Declare",
        blocks=[
            b.InputBlock(label="Summary", element=b.PlainTextInputElement(action_id="v")),
            b.InputBlock(
                label="Responders",
                element=b.UserMultiSelectElement(action_id="u", initial_users=["U_BOB"]),
            ),
            b.InputBlock(
                label="Severity", element=b.RadioButtonsElement(action_id="s", options=options)
            ),
        ],
    )
    client.views_open(trigger_id=fake.issue_trigger_id("U_ALICE"), view=modal)
    client.views_publish(user_id="U_ALICE", view=View(type="home", blocks=blocks))
    assert fake.violations == []
