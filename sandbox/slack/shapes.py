"""Slack's JSON shapes for users, conversations, messages and files; query snapshots."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.slack.records import ChannelView, Message
from sandbox.slack.state import Channel, FileObj, User, Workspace

SYSTEM_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
    }
)


def _tz(name: str) -> tuple[str, int]:
    try:
        now = dt.datetime.now(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", 0
    offset = now.utcoffset()
    return now.tzname() or name, int(offset.total_seconds()) if offset else 0


def user_obj(ws: Workspace, user: User) -> dict[str, Any]:
    label, offset = _tz(user.tz)
    real_name = user.real_name or user.name.title()
    profile: dict[str, Any] = {
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "email": user.email,
        "team": ws.team_id,
        "image_48": f"https://fake.slack.com/avatars/{user.id}_48.png",
    }
    if user.bot_id:
        profile["bot_id"] = user.bot_id
    return {
        "id": user.id,
        "team_id": ws.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": real_name,
        "tz": user.tz,
        "tz_label": label,
        "tz_offset": offset,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "is_admin": False,
        "is_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "updated": 0,
        "profile": profile,
    }


def conversation_obj(ws: Workspace, ch: Channel) -> dict[str, Any]:
    if ch.is_im:
        return {
            "id": ch.id,
            "created": ch.created,
            "is_im": True,
            "is_org_shared": False,
            "user": ch.im_user,
            "is_user_deleted": False,
            "priority": 0,
            "is_open": True,
            "context_team_id": ws.team_id,
        }
    return {
        "id": ch.id,
        "name": ch.name,
        "is_channel": not ch.is_private,
        "is_group": ch.is_private and not ch.is_mpim,
        "is_im": False,
        "is_mpim": ch.is_mpim,
        "is_private": ch.is_private,
        "created": ch.created,
        "creator": ch.creator,
        "is_archived": ch.is_archived,
        "is_general": ch.is_general,
        "unlinked": 0,
        "name_normalized": ch.name,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": ws.team_id,
        "is_member": ws.bot_user_id in ch.members,
        "topic": dict(ch.topic),
        "purpose": dict(ch.purpose),
        "previous_names": list(ch.previous_names),
        "num_members": len(ch.members),
        "properties": {"canvas": {"file_id": ch.canvas_id}} if ch.canvas_id else {},
    }


def with_block_ids(blocks: list[Any], seed: str) -> list[Any]:
    """Blocks as Slack returns them: a block_id filled in where the sender gave none."""
    out = copy.deepcopy(blocks)
    for i, block in enumerate(out):
        if isinstance(block, dict) and "block_id" not in block:
            block["block_id"] = hashlib.sha1(f"{seed}:{i}".encode()).hexdigest()[:5]
    return out


def permalink(ws: Workspace, ch: Channel, message: Message) -> str:
    link = f"https://{ws.domain}.slack.com/archives/{ch.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={ch.id}"
    return link


def message_obj(ws: Workspace, ch: Channel, m: Message, *, metadata: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "message", "ts": m.ts, "user": m.user, "text": m.text}
    out["team"] = ws.team_id
    if m.subtype:
        out["subtype"] = m.subtype
    if m.bot_id:
        out["bot_id"] = m.bot_id
        out["app_id"] = ws.app_id
    if m.blocks:
        out["blocks"] = with_block_ids(m.blocks, m.ts)
    if m.attachments:
        out["attachments"] = copy.deepcopy(m.attachments)
    if m.files:
        out["files"] = copy.deepcopy(m.files)
        out["upload"] = False
    if m.thread_ts and m.thread_ts != m.ts:
        out["thread_ts"] = m.thread_ts
        parent = ws.find_message(ch, m.thread_ts)
        if parent is not None:
            out["parent_user_id"] = parent.user
    replies = ws.replies_of(ch, m.ts)
    if replies:
        out["thread_ts"] = m.ts
        out["reply_count"] = len(replies)
        out["reply_users"] = sorted({r.user for r in replies})
        out["reply_users_count"] = len(out["reply_users"])
        out["latest_reply"] = replies[-1].ts
    if m.reactions:
        out["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in m.reactions.items()
        ]
    if m.edited:
        out["edited"] = {"user": m.user, "ts": m.history[-1].get("edited_ts", m.ts)}
    if m.ts in ch.pins:
        out["pinned_to"] = [ch.id]
    if metadata and m.metadata is not None:
        out["metadata"] = copy.deepcopy(m.metadata)
    return out


def file_obj(ws: Workspace, f: FileObj) -> dict[str, Any]:
    channels = [c for c in f.channels if c in ws.channels]
    public = [c for c in channels if not ws.channels[c].is_private]
    groups = [c for c in channels if ws.channels[c].is_private and not ws.channels[c].is_im]
    ims = [c for c in channels if ws.channels[c].is_im]
    out: dict[str, Any] = {
        "id": f.id,
        "created": f.created,
        "timestamp": f.created,
        "name": f.name,
        "title": f.title or f.name,
        "mimetype": "application/vnd.slack-docs" if f.is_canvas else "application/octet-stream",
        "filetype": "quip" if f.is_canvas else (f.name.rsplit(".", 1)[-1] if "." in f.name else ""),
        "user": ws.bot_user_id,
        "user_team": ws.team_id,
        "size": f.length,
        "is_external": False,
        "is_public": bool(public),
        "url_private": f"{ws.base_url}/files/{f.id}/{f.name}",
        "permalink": f"https://{ws.domain}.slack.com/files/{ws.bot_user_id}/{f.id}/{f.name}",
        "channels": public,
        "groups": groups,
        "ims": ims,
    }
    return out


# -- query snapshots --------------------------------------------------------------------------


def snapshot_message(ws: Workspace, ch: Channel, m: Message) -> Message:
    copied = copy.deepcopy(m)
    copied.replies = [copy.deepcopy(r) for r in ws.replies_of(ch, m.ts)]
    return copied


def snapshot_channel(ws: Workspace, ch: Channel) -> ChannelView:
    top = [
        snapshot_message(ws, ch, m)
        for m in ch.messages
        if m.subtype not in SYSTEM_SUBTYPES and (m.thread_ts in (None, m.ts) or m.reply_broadcast)
    ]
    return ChannelView(
        id=ch.id,
        name=ch.name,
        is_private=ch.is_private,
        is_archived=ch.is_archived,
        members=set(ch.members),
        topic=str(ch.topic.get("value", "")),
        purpose=str(ch.purpose.get("value", "")),
        pins=list(ch.pins),
        bookmarks=copy.deepcopy(ch.bookmarks),
        messages=top,
        is_im=ch.is_im,
        is_mpim=ch.is_mpim,
        creator=ch.creator,
        previous_names=list(ch.previous_names),
        canvas_id=ch.canvas_id,
    )
