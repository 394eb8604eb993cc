"""pins.*, reactions.* and bookmarks.* methods."""

from __future__ import annotations

import re
from typing import Any

from sandbox.slack.records import Message
from sandbox.slack.registry import method
from sandbox.slack.rules import Ctx, as_str
from sandbox.slack.shapes import message_obj, permalink
from sandbox.slack.state import Channel

BOOKMARK_TITLE_MAX = 256
BOOKMARK_LINK_MAX = 2048
_EMOJI_NAME = re.compile(r"^[a-z0-9_+'\-]+(::skin-tone-[2-6])?$")


def _item(ctx: Ctx, a: dict[str, Any], **channel_rules: Any) -> tuple[Channel, Message]:
    ch = ctx.ws.channel_for(a.get("channel"), **channel_rules)
    if not a.get("timestamp"):
        ctx.fail("no_item_specified")
    return ch, ctx.ws.message_or_fail(ch, a.get("timestamp"))


# -- pins ---------------------------------------------------------------------------------


@method("pins.add", tier="t2", required=("channel",))
def pins_add(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch, message = _item(ctx, a, hidden="not_in_channel", member="not_in_channel")
    if message.ts in ch.pins:
        ctx.fail("already_pinned")
    ch.pins.append(message.ts)
    ch.pin_meta[message.ts] = (ctx.ws.now(), ctx.ws.bot_user_id)
    return {}


@method("pins.remove", tier="t2", required=("channel",))
def pins_remove(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch, message = _item(ctx, a, hidden="not_in_channel")
    if message.ts not in ch.pins:
        ctx.fail("not_pinned")
    ch.pins.remove(message.ts)
    ch.pin_meta.pop(message.ts, None)
    return {}


@method("pins.list", tier="t2", required=("channel",), http="GET")
def pins_list(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"))
    items = []
    for ts in ch.pins:
        message = ws.find_message(ch, ts)
        if message is None:
            continue
        created, by = ch.pin_meta.get(ts, (0, ws.bot_user_id))
        obj = message_obj(ws, ch, message)
        obj["permalink"] = permalink(ws, ch, message)
        items.append(
            {
                "type": "message",
                "channel": ch.id,
                "created": created,
                "created_by": by,
                "message": obj,
            }
        )
    return {"items": items}


# -- reactions ----------------------------------------------------------------------------


def _emoji(ctx: Ctx, a: dict[str, Any]) -> str:
    name = as_str(a, "name") or ""
    if not _EMOJI_NAME.match(name):
        ctx.fail("invalid_name", rule="emoji_name", detail=f"reaction name {name!r}")
    return name


@method("reactions.add", tier="t3", required=("name", "timestamp", "channel"))
def reactions_add(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    _, message = _item(ctx, a, archived="is_archived")
    name = _emoji(ctx, a)
    users = message.reactions.setdefault(name, [])
    if ctx.ws.bot_user_id in users:
        ctx.fail("already_reacted")
    users.append(ctx.ws.bot_user_id)
    return {}


@method("reactions.remove", tier="t2", required=("name",))
def reactions_remove(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    if not a.get("channel") or not a.get("timestamp"):
        ctx.fail("no_item_specified")
    _, message = _item(ctx, a)
    name = _emoji(ctx, a)
    users = message.reactions.get(name, [])
    if ctx.ws.bot_user_id not in users:
        ctx.fail("no_reaction")
    users.remove(ctx.ws.bot_user_id)
    if not users:
        del message.reactions[name]
    return {}


@method("reactions.get", tier="t3", http="GET")
def reactions_get(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    if not a.get("channel") or not a.get("timestamp"):
        ctx.fail("no_item_specified")
    ch, message = _item(ctx, a)
    obj = message_obj(ctx.ws, ch, message)
    obj["permalink"] = permalink(ctx.ws, ch, message)
    return {"type": "message", "channel": ch.id, "message": obj}


# -- bookmarks ----------------------------------------------------------------------------


@method("bookmarks.add", tier="t2", required=("title", "type"))
def bookmarks_add(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel_id"))
    if as_str(a, "type") != "link":
        ctx.fail("invalid_bookmark_type", rule="bookmark", detail=f"type={a.get('type')!r}")
    title = as_str(a, "title") or ""
    if len(title) > BOOKMARK_TITLE_MAX:
        ctx.fail(
            "invalid_arguments",
            rule="bookmark",
            detail=f"title is {len(title)} > 256",
            messages=[
                f"[ERROR] must be less than {BOOKMARK_TITLE_MAX + 1} characters "
                "[json-pointer:/title]"
            ],
        )
    link = as_str(a, "link") or ""
    if not re.match(r"^https?://\S+$", link) or len(link) > BOOKMARK_LINK_MAX:
        ctx.fail("invalid_link", rule="bookmark", detail=f"link {link[:80]!r}")
    bookmark = {
        "id": ws.new_id("Bk"),
        "channel_id": ch.id,
        "title": title,
        "link": link,
        "emoji": as_str(a, "emoji"),
        "icon_url": None,
        "type": "link",
        "entity_id": None,
        "date_created": ws.now(),
        "date_updated": 0,
        "rank": chr(ord("a") + len(ch.bookmarks) % 26),
        "last_updated_by_user_id": ws.bot_user_id,
        "last_updated_by_team_id": ws.team_id,
        "shortcut_id": None,
        "app_id": ws.app_id,
    }
    ch.bookmarks.append(bookmark)
    return {"bookmark": dict(bookmark)}


@method("bookmarks.list", tier="t3")
def bookmarks_list(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch = ctx.ws.channel_for(a.get("channel_id"))
    return {"bookmarks": [dict(b) for b in ch.bookmarks]}


@method("bookmarks.remove", tier="t2")
def bookmarks_remove(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch = ctx.ws.channel_for(a.get("channel_id"))
    wanted = as_str(a, "bookmark_id")
    for bookmark in ch.bookmarks:
        if bookmark["id"] == wanted:
            ch.bookmarks.remove(bookmark)
            return {}
    ctx.fail("not_found")
