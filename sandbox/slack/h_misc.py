"""auth.test, users.*, usergroups.*, files.* (external upload flow) and canvases."""

from __future__ import annotations

import time
from typing import Any

from sandbox.slack.h_chat import check_content, see_dm
from sandbox.slack.h_conversations import list_conversations
from sandbox.slack.records import Seen
from sandbox.slack.registry import method
from sandbox.slack.rules import Ctx, as_bool, as_int, as_list, as_str, paginate
from sandbox.slack.shapes import file_obj, user_obj
from sandbox.slack.state import Canvas, FileObj, Usergroup, Workspace


@method("auth.test", tier="t5")
def auth_test(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    return {
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


# -- users ----------------------------------------------------------------------------------


@method("users.info", tier="t4", required=("user",), http="GET")
def users_info(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    return {"user": user_obj(ctx.ws, ctx.ws.user(as_str(a, "user")))}


@method("users.list", tier="t2", http="GET")
def users_list(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    limit = min(max(as_int(a, "limit", 0), 0), 1000) or 1000
    users = [u for u in ws.users.values() if not u.deleted]
    page, cursor = paginate(users, limit=limit, cursor=as_str(a, "cursor"), kind="u")
    return {
        "members": [user_obj(ws, u) for u in page],
        "cache_ts": ws.now(),
        "response_metadata": {"next_cursor": cursor},
    }


@method("users.lookupByEmail", tier="t3", required=("email",), http="GET")
def users_lookup_by_email(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    email = (as_str(a, "email") or "").lower()
    for user in ctx.ws.users.values():
        if (user.email or "").lower() == email and not user.deleted:
            return {"user": user_obj(ctx.ws, user)}
    ctx.fail("users_not_found")


@method("users.conversations", tier="t3", http="GET")
def users_conversations(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    user_id = as_str(a, "user") or ctx.ws.bot_user_id
    ctx.ws.user(user_id)
    return list_conversations(ctx.ws, a, user_id)


# -- user groups ----------------------------------------------------------------------------


def usergroup_obj(ws: Workspace, group: Usergroup, *, users: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": group.id,
        "team_id": ws.team_id,
        "is_usergroup": True,
        "name": group.name or group.handle,
        "description": "",
        "handle": group.handle,
        "is_external": False,
        "date_create": 0,
        "date_update": 0,
        "date_delete": 0,
        "auto_type": None,
        "created_by": ws.bot_user_id,
        "updated_by": ws.bot_user_id,
        "deleted_by": None,
        "prefs": {"channels": [], "groups": []},
        "user_count": len(group.users),
    }
    if users:
        out["users"] = list(group.users)
    return out


@method("usergroups.list", tier="t2", http="GET")
def usergroups_list(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    users = as_bool(a, "include_users")
    groups = [usergroup_obj(ctx.ws, g, users=users) for g in ctx.ws.usergroups.values()]
    return {"usergroups": groups}


@method("usergroups.users.list", tier="t2", required=("usergroup",), http="GET")
def usergroups_users_list(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    group = ctx.ws.usergroups.get(as_str(a, "usergroup") or "")
    if group is None:
        ctx.fail("no_such_subteam")
    return {"users": list(group.users)}


# -- files ----------------------------------------------------------------------------------


@method("files.getUploadURLExternal", tier="t4", required=("length", "filename"))
def files_get_upload_url(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    length = as_int(a, "length", 0, low=0)
    name = as_str(a, "filename") or ""
    if not name:
        ctx.fail("missing_argument", rule="missing_argument", detail="empty filename")
    f = FileObj(id=ws.new_id("F"), name=name, length=length, created=ws.now())
    ws.files[f.id] = f
    return {"upload_url": f"{ws.base_url}/upload/v1/{f.id}", "file_id": f.id}


@method("files.completeUploadExternal", tier="t4", required=("files",))
def files_complete_upload(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    items = a.get("files")
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(i, dict) and i.get("id") for i in items)
    ):
        problem = "[ERROR] files must be a JSON array of {id, title} [json-pointer:/files]"
        ctx.fail("invalid_arguments", rule="argument_format", messages=[problem])
    files: list[FileObj] = []
    for item in items:
        f = ws.files.get(str(item["id"]))
        if f is None or f.is_canvas:
            ctx.fail("file_not_found")
        if not f.uploaded:
            ctx.fail("file_not_found", rule="upload_flow", detail=f"{f.id} completed before upload")
        files.append(f)
    targets = as_list(a, "channels") or as_list(a, "channel_id")
    channels = [
        ws.channel_for(t, hidden="not_in_channel", archived="is_archived", member="not_in_channel")
        for t in targets
    ]
    comment = as_str(a, "initial_comment") or ""
    _, blocks, _ = check_content(ctx, {"blocks": a.get("blocks"), "text": comment}, require=False)
    for item, f in zip(items, files, strict=True):
        f.title = item.get("title") or f.title or f.name
    for ch in channels:
        for f in files:
            f.channels.append(ch.id)
        message = ws.add_message(
            ch,
            user=ws.bot_user_id,
            text=comment,
            blocks=blocks,
            bot_id=ws.bot_id,
            thread_ts=as_str(a, "thread_ts") or None,
            files=[file_obj(ws, f) for f in files],
        )
        see_dm(ws, ch, Seen("dm", ch.id, comment, blocks, time.monotonic(), ts=message.ts))
    return {"files": [file_obj(ws, f) for f in files]}


@method("files.info", tier="t4", required=("file",), http="GET")
def files_info(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    f = ctx.ws.files.get(as_str(a, "file") or "")
    if f is None:
        ctx.fail("file_not_found")
    return {
        "file": file_obj(ctx.ws, f),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


# -- canvases -------------------------------------------------------------------------------


def _markdown(ctx: Ctx, doc: Any, error: str) -> str:
    if doc in (None, ""):
        return ""
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "markdown"
        or not isinstance(doc.get("markdown"), str)
    ):
        ctx.fail(
            error,
            rule="canvas_document",
            detail="document_content must be {type: 'markdown', markdown: str}",
        )
    return str(doc["markdown"])


def _new_canvas(ws: Workspace, title: str | None, markdown: str, channel_id: str | None) -> str:
    canvas = Canvas(ws.new_id("F"), title, markdown, channel_id, ws.now())
    ws.canvases[canvas.id] = canvas
    ws.files[canvas.id] = FileObj(
        canvas.id,
        title or "Untitled",
        len(markdown.encode()),
        canvas.created,
        title=title,
        uploaded=True,
        is_canvas=True,
    )
    return canvas.id


@method("canvases.create", tier="t2")
def canvases_create(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    markdown = _markdown(ctx, a.get("document_content"), "canvas_creation_failed")
    channel_id = None
    if a.get("channel_id"):
        channel_id = ctx.ws.channel_for(a.get("channel_id")).id
    return {"canvas_id": _new_canvas(ctx.ws, as_str(a, "title"), markdown, channel_id)}


@method("conversations.canvases.create", tier="t2", required=("channel_id",))
def conversations_canvases_create(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ch = ctx.ws.channel_for(a.get("channel_id"))
    if ch.canvas_id:
        ctx.fail("channel_canvas_already_exists")
    markdown = _markdown(ctx, a.get("document_content"), "canvas_creation_failed")
    ch.canvas_id = _new_canvas(ctx.ws, as_str(a, "title"), markdown, ch.id)
    return {"canvas_id": ch.canvas_id}


CANVAS_OPERATIONS = frozenset(
    {
        "insert_after",
        "insert_before",
        "insert_at_start",
        "insert_at_end",
        "replace",
        "delete",
        "rename",
    }
)


@method("canvases.edit", tier="t3", required=("canvas_id", "changes"))
def canvases_edit(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    canvas = ctx.ws.canvases.get(as_str(a, "canvas_id") or "")
    if canvas is None:
        ctx.fail("canvas_not_found")
    changes = a.get("changes")
    if not isinstance(changes, list) or not changes:
        ctx.fail("canvas_editing_failed", rule="canvas_changes", detail="changes must be a list")
    markdown, title = canvas.markdown, canvas.title
    for change in changes:
        op = change.get("operation") if isinstance(change, dict) else None
        if op not in CANVAS_OPERATIONS:
            ctx.fail("canvas_editing_failed", rule="canvas_changes", detail=f"operation {op!r}")
        assert isinstance(change, dict)
        if change.get("section_id"):
            # Section ids come from canvases.sections.lookup, which the fake does not model.
            ctx.fail("canvas_editing_failed", detail=f"section {change['section_id']} not found")
        if op in ("insert_after", "insert_before", "delete"):
            ctx.fail(
                "canvas_editing_failed", rule="canvas_changes", detail=f"{op} needs section_id"
            )
        if op == "rename":
            title = _markdown(ctx, change.get("title_content"), "canvas_editing_failed")
            continue
        text = _markdown(ctx, change.get("document_content"), "canvas_editing_failed")
        if op == "insert_at_end":
            markdown = f"{markdown}\n{text}" if markdown else text
        elif op == "insert_at_start":
            markdown = f"{text}\n{markdown}" if markdown else text
        else:  # replace, whole document
            markdown = text
    canvas.markdown, canvas.title = markdown, title
    canvas.edits.extend(dict(c) for c in changes)
    return {}
