"""What happens to posts to a response_url, and to the HTTP acks the driver records."""

from __future__ import annotations

import copy
import time
from typing import Any

from sandbox.slack.blockkit import validate_message_blocks
from sandbox.slack.records import Seen
from sandbox.slack.rules import MESSAGE_TEXT_MAX, as_bool
from sandbox.slack.state import ResponseUrl, Workspace

Violations = list[tuple[str, str]]


def _content(body: dict[str, Any]) -> tuple[str | None, Violations]:
    """(error, violations) for the text/blocks of a message body."""
    text = body.get("text")
    blocks = body.get("blocks")
    code, messages = validate_message_blocks(blocks)
    if code:
        return code, [("block_kit", "; ".join(messages))]
    if isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX:
        return "msg_too_long", [("message_length", f"text is {len(text)} characters")]
    if not text and not blocks and not body.get("attachments"):
        return "no_text", [("no_text", "no text, blocks or attachments")]
    if blocks and not (text or "").strip():
        return None, [("missing_text_fallback", "blocks sent without a `text` fallback")]
    return None, []


def apply_response_url(
    ws: Workspace, ru: ResponseUrl, body: Any
) -> tuple[int, dict[str, Any], Violations]:
    """Apply one POST to a response_url: (HTTP status, JSON answer, violations)."""
    if ws.clock.monotonic() - ru.created_at > ws.response_url_ttl:
        return (
            404,
            {"ok": False, "error": "expired_url"},
            [("response_url", f"posted more than {ws.response_url_ttl:g}s after it was issued")],
        )
    if ru.uses >= ws.response_url_max_uses:
        return (
            404,
            {"ok": False, "error": "used_url"},
            [("response_url", f"more than {ws.response_url_max_uses} posts to one response_url")],
        )
    if not isinstance(body, dict):
        return (
            400,
            {"ok": False, "error": "invalid_payload"},
            [("response_url", "body is not a JSON object")],
        )
    channel = ws.channels.get(ru.channel_id)
    if as_bool(body, "delete_original"):
        ru.uses += 1
        if ru.message_ts and channel is not None:
            original = ws.find_message(channel, ru.message_ts)
            if original is not None:
                channel.messages.remove(original)
        ws.see(
            ru.user_id,
            Seen(
                "response_url",
                ru.channel_id,
                None,
                None,
                time.monotonic(),
                action="delete",
                raw=copy.deepcopy(body),
            ),
        )
        ru.original = None
        return 200, {"ok": True}, []
    error, violations = _content(body)
    if error:
        return 400, {"ok": False, "error": error}, violations
    ru.uses += 1
    text = str(body.get("text") or "")
    blocks = body.get("blocks") or None
    replace = as_bool(body, "replace_original")
    in_channel = body.get("response_type") == "in_channel"
    seen = Seen(
        "response_url",
        ru.channel_id,
        text,
        copy.deepcopy(blocks),
        time.monotonic(),
        response_type="in_channel" if in_channel else "ephemeral",
        action="replace" if replace else "post",
        raw=copy.deepcopy(body),
    )
    original = ws.find_message(channel, ru.message_ts) if channel and ru.message_ts else None
    if replace and original is not None:
        original.history.append(
            {"text": original.text, "blocks": original.blocks, "edited_ts": ws.next_ts()}
        )
        original.text, original.blocks, original.edited = text, blocks, True
        seen.ts, seen.response_type = original.ts, "in_channel"
    elif in_channel and channel is not None:
        message = ws.add_message(
            channel,
            user=ws.bot_user_id,
            text=text,
            blocks=blocks,
            bot_id=ws.bot_id,
            thread_ts=body.get("thread_ts") or None,
        )
        seen.ts = message.ts
    else:
        ru.original = seen
    ws.see(ru.user_id, seen)
    return 200, {"ok": True}, violations


def ack_seen(body: Any) -> tuple[Seen, Violations]:
    """The Seen entry for an HTTP ack body, and the violations in it."""
    violations: Violations = []
    text: str | None = None
    blocks: Any = None
    response_type = None
    if isinstance(body, str):
        text = body
    elif isinstance(body, dict):
        text = body.get("text") if isinstance(body.get("text"), str) else None
        blocks = body.get("blocks")
        response_type = body.get("response_type")
        if blocks is not None or text is not None:
            _, violations = _content(body)
    seen = Seen(
        "ack",
        None,
        text,
        copy.deepcopy(blocks),
        time.monotonic(),
        response_type=response_type,
        raw=copy.deepcopy(body),
    )
    return seen, violations
