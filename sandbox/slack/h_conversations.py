"""conversations.* methods."""

from __future__ import annotations

from typing import Any

from sandbox.slack.registry import method
from sandbox.slack.rules import (
    INVITE_MAX_USERS,
    PURPOSE_MAX,
    TOPIC_MAX,
    Ctx,
    SlackError,
    as_bool,
    as_int,
    as_list,
    as_str,
    check_channel_name,
    check_max_length,
    paginate,
)
from sandbox.slack.shapes import conversation_obj, message_obj
from sandbox.slack.state import Channel, Workspace

CONVERSATION_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})
MPIM_MAX_USERS = 8


def _no_dm(ch: Channel) -> None:
    if ch.is_im or ch.is_mpim:
        raise SlackError("method_not_supported_for_channel_type")


def _types(args: dict[str, Any]) -> set[str]:
    types = set(as_list(args, "types")) or {"public_channel"}
    if not types <= CONVERSATION_TYPES:
        raise SlackError("invalid_types", rule="argument_value", detail=f"types={sorted(types)}")
    return types


def type_of(ch: Channel) -> str:
    if ch.is_im:
        return "im"
    if ch.is_mpim:
        return "mpim"
    return "private_channel" if ch.is_private else "public_channel"


def list_conversations(ws: Workspace, args: dict[str, Any], member: str | None) -> dict[str, Any]:
    """conversations.list (member None) and users.conversations (member = a user id)."""
    types = _types(args)
    limit = as_int(args, "limit", 100, error="invalid_limit", low=1, high=1000)
    exclude_archived = as_bool(args, "exclude_archived")
    found = [
        ch
        for ch in ws.channels.values()
        if type_of(ch) in types
        and ws.visible(ch)
        and not (exclude_archived and ch.is_archived)
        and (member is None or member in ch.members)
    ]
    page, cursor = paginate(found, limit=limit, cursor=as_str(args, "cursor"), kind="conv")
    return {
        "channels": [conversation_obj(ws, ch) for ch in page],
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.create", tier="t2", required=("name",))
def create(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    name = check_channel_name(as_str(a, "name"))
    if ws.channel_by_name(name) is not None:
        ctx.fail("name_taken")
    bot = ws.bot_user_id
    ch = ws.add_channel(name, private=as_bool(a, "is_private"), members={bot}, creator=bot)
    ws.system_message(ch, "channel_join", bot, f"<@{bot}> has joined the channel")
    return {"channel": conversation_obj(ws, ch)}


@method("conversations.info", tier="t3", required=("channel",), http="GET")
def info(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch = ctx.ws.channel_for(a.get("channel"))
    obj = conversation_obj(ctx.ws, ch)
    if not as_bool(a, "include_num_members"):
        obj.pop("num_members", None)
    return {"channel": obj}


@method("conversations.list", tier="t2", http="GET")
def list_(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    return list_conversations(ctx.ws, a, None)


def _set_text(ctx: Ctx, a: dict[str, Any], key: str, limit: int) -> Channel:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"), hidden="not_in_channel", archived="is_archived")
    value = as_str(a, key) or ""
    check_max_length(value, limit, error="too_long", what=key)
    if not ch.is_im and ws.bot_user_id not in ch.members:
        raise SlackError("not_in_channel")
    setattr(ch, key, {"value": value, "creator": ws.bot_user_id, "last_set": ws.now()})
    bot = ws.bot_user_id
    verb = "set the channel " + key
    ws.system_message(ch, f"channel_{key}", bot, f"<@{bot}> {verb}: {value}")
    return ch


@method("conversations.setTopic", tier="t2", required=("channel", "topic"))
def set_topic(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    return {"channel": conversation_obj(ctx.ws, _set_text(ctx, a, "topic", TOPIC_MAX))}


@method("conversations.setPurpose", tier="t2", required=("channel", "purpose"))
def set_purpose(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    _set_text(ctx, a, "purpose", PURPOSE_MAX)
    return {}


@method("conversations.invite", tier="t3", required=("channel", "users"))
def invite(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(
        a.get("channel"), hidden="not_in_channel", archived="is_archived", member="not_in_channel"
    )
    _no_dm(ch)
    users = list(dict.fromkeys(as_list(a, "users")))
    if not users:
        ctx.fail("no_user")
    if len(users) > INVITE_MAX_USERS:
        ctx.fail(
            "too_many_users",
            rule="invite_max_users",
            detail=f"{len(users)} users in one conversations.invite (max {INVITE_MAX_USERS})",
        )
    errors: list[dict[str, Any]] = []
    valid: list[str] = []
    for user_id in users:
        user = ws.users.get(user_id)
        if user_id == ws.bot_user_id:
            errors.append({"user": user_id, "ok": False, "error": "cant_invite_self"})
        elif user is None or user.deleted:
            errors.append({"user": user_id, "ok": False, "error": "user_not_found"})
        elif user_id in ch.members:
            errors.append({"user": user_id, "ok": False, "error": "already_in_channel"})
        else:
            valid.append(user_id)
    # Without `force`, one bad user fails the whole call and nobody is invited.
    if errors and (not as_bool(a, "force") or not valid):
        ctx.fail(str(errors[0]["error"]), errors=errors)
    for user_id in valid:
        ch.members.add(user_id)
        ws.system_message(ch, "channel_join", user_id, f"<@{user_id}> has joined the channel")
    out: dict[str, Any] = {"channel": conversation_obj(ws, ch)}
    if errors:
        out["errors"] = errors
    return out


@method("conversations.kick", tier="t3", required=("channel",))
def kick(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"), member="not_in_channel")
    _no_dm(ch)
    user_id = as_str(a, "user")
    if user_id == ws.bot_user_id:
        ctx.fail("cant_kick_self")
    if ch.is_general:
        ctx.fail("cant_kick_from_general")
    ws.user(user_id)
    if user_id not in ch.members:
        ctx.fail("not_in_channel")
    assert user_id is not None
    ws.remove_member(ch, user_id)
    return {"errors": {}}


@method("conversations.join", tier="t3", required=("channel",))
def join(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"))
    if ch.is_private or ch.is_im:
        ctx.fail("method_not_supported_for_channel_type")
    if ch.is_archived:
        ctx.fail("is_archived")
    bot = ws.bot_user_id
    if bot in ch.members:
        ctx.warn("already_in_channel")
    else:
        ch.members.add(bot)
        ws.system_message(ch, "channel_join", bot, f"<@{bot}> has joined the channel")
    return {"channel": conversation_obj(ws, ch)}


@method("conversations.members", tier="t4", required=("channel",), http="GET")
def members(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch = ctx.ws.channel_for(a.get("channel"))
    limit = as_int(a, "limit", 100, error="invalid_limit", low=1, high=1000)
    page, cursor = paginate(sorted(ch.members), limit=limit, cursor=as_str(a, "cursor"), kind="m")
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def _ts_bound(a: dict[str, Any], key: str, error: str) -> float | None:
    value = a.get(key)
    if value in (None, "", "0", 0):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SlackError(error) from None


def _window(ctx: Ctx, a: dict[str, Any], messages: list[Any]) -> list[Any]:
    oldest = _ts_bound(a, "oldest", "invalid_ts_oldest")
    latest = _ts_bound(a, "latest", "invalid_ts_latest")
    inclusive = as_bool(a, "inclusive")
    out = []
    for m in messages:
        ts = float(m.ts)
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            continue
        out.append(m)
    return out


@method("conversations.history", tier="t3", required=("channel",), http="GET")
def history(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"), member="not_in_channel")
    limit = min(max(as_int(a, "limit", 100), 1), 999)  # Slack clamps rather than refuses
    top = [m for m in ch.messages if m.thread_ts in (None, m.ts) or m.reply_broadcast]
    found = list(reversed(_window(ctx, a, top)))
    page, cursor = paginate(found, limit=limit, cursor=as_str(a, "cursor"), kind="h")
    meta = as_bool(a, "include_all_metadata")
    out: dict[str, Any] = {
        "messages": [message_obj(ws, ch, m, metadata=meta) for m in page],
        "has_more": bool(cursor),
        "pin_count": len(ch.pins),
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }
    if a.get("latest") not in (None, ""):
        out["latest"] = str(a["latest"])  # Slack echoes `latest` when it was given
    return out


@method("conversations.replies", tier="t3", required=("channel", "ts"), http="GET")
def replies(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"), member="not_in_channel")
    message = ws.find_message(ch, a.get("ts"))
    if message is None:
        ctx.fail("thread_not_found")
    root = ws.find_message(ch, message.thread_ts) if message.thread_ts else message
    root = root or message
    thread = [root, *ws.replies_of(ch, root.ts)]
    limit = min(max(as_int(a, "limit", 1000), 1), 1000)
    found = _window(ctx, a, thread)
    page, cursor = paginate(found, limit=limit, cursor=as_str(a, "cursor"), kind="r")
    meta = as_bool(a, "include_all_metadata")
    return {
        "messages": [message_obj(ws, ch, m, metadata=meta) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.archive", tier="t2", required=("channel",))
def archive(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"), hidden="not_in_channel")
    _no_dm(ch)
    if ch.is_archived:
        ctx.fail("already_archived")
    if ws.bot_user_id not in ch.members:
        ctx.fail("not_in_channel")
    if ch.is_general:
        ctx.fail("cant_archive_general")
    ch.is_archived = True
    bot = ws.bot_user_id
    ws.system_message(ch, "channel_archive", bot, f"<@{bot}> archived the channel")
    return {}


@method("conversations.unarchive", tier="t2", required=("channel",))
def unarchive(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(a.get("channel"))
    _no_dm(ch)
    if not ch.is_archived:
        ctx.fail("not_archived")
    ch.is_archived = False
    bot = ws.bot_user_id
    ws.system_message(ch, "channel_unarchive", bot, f"<@{bot}> un-archived the channel")
    return {}


@method("conversations.open", tier="t3")
def open_(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    if a.get("channel"):
        ch = ws.channel_for(a.get("channel"))
        if not (ch.is_im or ch.is_mpim):
            ctx.fail("method_not_supported_for_channel_type")
        existed = True
    else:
        users = [u for u in dict.fromkeys(as_list(a, "users")) if u != ws.bot_user_id]
        if not users:
            ctx.fail("users_list_not_supplied")
        if len(users) > MPIM_MAX_USERS:
            ctx.fail("too_many_users")
        for user_id in users:
            ws.user(user_id)
        if len(users) == 1:
            existed = users[0] in ws.ims
            ch = ws.open_im(users[0])
        else:
            ch, existed = ws.open_mpim(users)
    obj = conversation_obj(ws, ch) if as_bool(a, "return_im") else {"id": ch.id}
    out: dict[str, Any] = {"channel": obj}
    if existed:
        out.update(no_op=True, already_open=True)
    return out


@method("conversations.rename", tier="t2", required=("channel", "name"))
def rename(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    ch = ws.channel_for(
        a.get("channel"), hidden="not_in_channel", archived="is_archived", member="not_in_channel"
    )
    _no_dm(ch)
    name = check_channel_name(as_str(a, "name"))
    other = ws.channel_by_name(name)
    if other is not None and other.id != ch.id:
        ctx.fail("name_taken")
    if name != ch.name:
        ch.previous_names.insert(0, ch.name)
        ch.name = name
        bot = ws.bot_user_id
        ws.system_message(ch, "channel_name", bot, f"<@{bot}> renamed the channel to #{name}")
    return {"channel": conversation_obj(ws, ch)}
