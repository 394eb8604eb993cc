"""chat.* methods, and the message-content rules shared with response_url posts."""

from __future__ import annotations

import time
from typing import Any

from sandbox.slack.blockkit import validate_message_blocks
from sandbox.slack.records import Seen
from sandbox.slack.registry import method
from sandbox.slack.rules import MESSAGE_TEXT_MAX, Ctx, SlackError, as_bool, as_str
from sandbox.slack.shapes import SYSTEM_SUBTYPES, message_obj, permalink
from sandbox.slack.state import Channel, Workspace

FALLBACK_WARNING = "missing_text_or_fallback_or_attachments"


def check_content(
    ctx: Ctx, a: dict[str, Any], *, require: bool = True
) -> tuple[str | None, list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """Validate text / blocks / attachments of a message; returns them (blocks [] -> None).

    Blocks without a `text` fallback are accepted with Slack's warning, and recorded as a
    violation (screen readers and notifications show the fallback)."""
    text = as_str(a, "text")
    blocks = a.get("blocks")
    if blocks == "":
        blocks = None
    code, messages = validate_message_blocks(blocks)
    if code:
        raise SlackError(code, rule="block_kit", messages=messages)
    attachments = a.get("attachments")
    if attachments in ("", None):
        attachments = None
    elif not isinstance(attachments, list):
        raise SlackError("invalid_attachments", rule="attachments", detail="not a JSON array")
    if text is not None and len(text) > MESSAGE_TEXT_MAX:
        raise SlackError(
            "msg_too_long",
            rule="message_length",
            detail=f"text is {len(text)} characters (max {MESSAGE_TEXT_MAX})",
        )
    if require and not text and not blocks and not attachments:
        raise SlackError("no_text", rule="no_text", detail="no text, blocks or attachments")
    if blocks and not (text or "").strip():
        ctx.warn(FALLBACK_WARNING)
        ctx.violate("missing_text_fallback", "blocks sent without a `text` fallback")
    return text, blocks or None, attachments


def check_metadata(a: dict[str, Any]) -> dict[str, Any] | None:
    metadata = a.get("metadata")
    if metadata in (None, ""):
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload", {}), dict)
    ):
        raise SlackError(
            "invalid_metadata_format",
            rule="metadata",
            detail="metadata must be {event_type: str, event_payload: object}",
        )
    return metadata


def see_dm(ws: Workspace, ch: Channel, seen: Seen) -> None:
    """Record a message in an IM/MPIM as seen by its human members."""
    if ch.is_im or ch.is_mpim:
        for user_id in sorted(ch.members - {ws.bot_user_id}):
            ws.see(user_id, seen)


@method("chat.postMessage", tier="t5", required=("channel",))
def post_message(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(
        a.get("channel"), hidden="not_in_channel", archived="is_archived", names=True, users=True
    )
    text, blocks, attachments = check_content(ctx, a)
    metadata = check_metadata(a)
    thread_ts = as_str(a, "thread_ts") or None
    if thread_ts:
        parent = ws.find_message(ch, thread_ts)
        if parent is None:
            ctx.violate("unknown_thread_ts", f"thread_ts {thread_ts} is not a message in {ch.id}")
        elif parent.thread_ts and parent.thread_ts != parent.ts:
            thread_ts = parent.thread_ts
    message = ws.add_message(
        ch,
        user=ws.bot_user_id,
        text=text or "",
        blocks=blocks,
        thread_ts=thread_ts,
        metadata=metadata,
        bot_id=ws.bot_id,
        attachments=attachments,
        reply_broadcast=bool(thread_ts) and as_bool(a, "reply_broadcast"),
        unfurl_links=as_bool(a, "unfurl_links") if "unfurl_links" in a else None,
        unfurl_media=as_bool(a, "unfurl_media") if "unfurl_media" in a else None,
    )
    if thread_ts and message.thread_ts is None:
        message.thread_ts = thread_ts
    see_dm(ws, ch, Seen("dm", ch.id, message.text, blocks, time.monotonic(), ts=message.ts))
    return {"channel": ch.id, "ts": message.ts, "message": message_obj(ws, ch, message)}


@method("chat.postEphemeral", tier="t4", required=("user", "channel"))
def post_ephemeral(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(
        a.get("channel"), hidden="not_in_channel", archived="is_archived", names=True
    )
    user_id = as_str(a, "user") or ""
    if user_id not in ch.members:
        ctx.fail("user_not_in_channel")
    text, blocks, _ = check_content(ctx, a)
    ts = ws.next_ts()
    thread_ts = as_str(a, "thread_ts") or None
    ws.see(
        user_id, Seen("ephemeral", ch.id, text or "", blocks, time.monotonic(), ts=thread_ts or ts)
    )
    return {"message_ts": ts}


def _own_message(ctx: Ctx, a: dict[str, Any], error: str) -> tuple[Channel, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"))
    message = ws.message_or_fail(ch, a.get("ts"))
    if message.user != ws.bot_user_id or message.subtype in SYSTEM_SUBTYPES:
        ctx.fail(error)
    return ch, message


@method("chat.update", tier="t3", required=("ts", "channel"))
def update(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch, message = _own_message(ctx, a, "cant_update_message")
    if not any(k in a for k in ("text", "blocks", "attachments", "metadata", "file_ids")):
        ctx.fail(
            "no_text", rule="no_text", detail="chat.update without text, blocks or attachments"
        )
    text, blocks, attachments = check_content(ctx, a, require=False)
    metadata = check_metadata(a)
    message.history.append(
        {"text": message.text, "blocks": message.blocks, "edited_ts": ws.next_ts()}
    )
    # Slack keeps what the update does not mention (blocks=[] removes the blocks).
    if "text" in a:
        message.text = text or ""
    if "blocks" in a:
        message.blocks = blocks
    if "attachments" in a:
        message.attachments = attachments
    if metadata is not None:
        message.metadata = metadata
    message.edited = True
    seen = Seen(
        "dm", ch.id, message.text, message.blocks, time.monotonic(), ts=message.ts, action="update"
    )
    see_dm(ws, ch, seen)
    return {
        "channel": ch.id,
        "ts": message.ts,
        "text": message.text,
        "message": message_obj(ws, ch, message),
    }


@method("chat.delete", tier="t3", required=("ts", "channel"))
def delete(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch, message = _own_message(ctx, a, "cant_delete_message")
    ch.messages.remove(message)
    if message.ts in ch.pins:
        ch.pins.remove(message.ts)
    return {"channel": ch.id, "ts": message.ts}


@method("chat.getPermalink", tier="t5", required=("channel", "message_ts"), http="GET")
def get_permalink(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"))
    message = ws.message_or_fail(ch, a.get("message_ts"))
    return {"channel": ch.id, "permalink": permalink(ws, ch, message)}
