"""views.* methods, trigger ids, and the view stack a user has open."""

from __future__ import annotations

import copy
import time
from typing import Any

from sandbox.slack.blockkit import validate_view
from sandbox.slack.records import Seen, View
from sandbox.slack.registry import method
from sandbox.slack.rules import Ctx, as_str
from sandbox.slack.shapes import with_block_ids
from sandbox.slack.state import Trigger, Workspace

MAX_STACK = 3


def view_payload(ws: Workspace, v: View) -> dict[str, Any]:
    """The view object as Slack returns it and puts it in interaction payloads."""
    view = v.view
    return {
        "id": v.id,
        "team_id": ws.team_id,
        "type": v.type,
        "title": copy.deepcopy(view.get("title")),
        "submit": copy.deepcopy(view.get("submit")),
        "close": copy.deepcopy(view.get("close")),
        "blocks": with_block_ids(view.get("blocks", []), v.id),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": copy.deepcopy(v.state),
        "hash": v.hash,
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "submit_disabled": bool(view.get("submit_disabled", False)),
        "root_view_id": v.root_view_id,
        "previous_view_id": v.previous_view_id,
        "app_id": ws.app_id,
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }


def _new_hash(ws: Workspace) -> str:
    return f"{int(ws.clock.wall())}.{ws.new_id('H')}"


def _see(ws: Workspace, v: View, action: str) -> None:
    title = v.view.get("title")
    text = title.get("text") if isinstance(title, dict) else None
    seen = Seen(
        "view",
        None,
        text,
        copy.deepcopy(v.view.get("blocks")),
        time.monotonic(),
        view=copy.deepcopy(v.view),
        view_id=v.id,
        action=action,
    )
    ws.see(v.user_id, seen)


def new_view(ws: Workspace, user_id: str, view: dict[str, Any], *, previous: str | None) -> View:
    view_id = ws.new_id("V")
    root = ws.views[previous].root_view_id if previous in ws.views else view_id
    now = time.monotonic()
    v = View(
        id=view_id,
        user_id=user_id,
        type=str(view.get("type")),
        view=copy.deepcopy(view),
        hash=_new_hash(ws),
        state={"values": {}},
        payload={},
        external_id=view.get("external_id") or None,
        root_view_id=root,
        previous_view_id=previous,
        opened_at=now,
        updated_at=now,
    )
    v.payload = view_payload(ws, v)
    ws.views[view_id] = v
    return v


def replace_view(ws: Workspace, v: View, view: dict[str, Any]) -> None:
    v.view = copy.deepcopy(view)
    v.hash = _new_hash(ws)
    v.updated_at = time.monotonic()
    v.versions += 1
    v.external_id = view.get("external_id") or v.external_id
    v.payload = view_payload(ws, v)


def close_stack(ws: Workspace, user_id: str, keep: int = 0) -> None:
    stack = ws.modal_stacks.get(user_id, [])
    for view_id in stack[keep:]:
        ws.views[view_id].closed = True
    ws.modal_stacks[user_id] = stack[:keep]


def _trigger(ctx: Ctx, a: dict[str, Any]) -> Trigger:
    ws = ctx.ws
    trigger_id = as_str(a, "trigger_id") or as_str(a, "interactivity_pointer")
    if not trigger_id:
        ctx.fail(
            "invalid_arguments",
            rule="missing_argument",
            messages=["[ERROR] missing required field: trigger_id"],
        )
    trigger = ws.triggers.get(trigger_id)
    if trigger is None:
        ctx.fail("invalid_trigger_id", rule="trigger_id", detail=f"unknown {trigger_id!r}")
    if trigger.used:
        ctx.fail("exchanged_trigger_id", rule="trigger_id", detail="trigger_id used twice")
    age = ws.clock.monotonic() - trigger.issued_at
    if age > ws.trigger_ttl:
        ctx.fail(
            "expired_trigger_id",
            rule="trigger_id",
            detail=f"used {age:.2f}s after issue (valid {ws.trigger_ttl:g}s)",
        )
    return trigger


def _valid_view(ctx: Ctx, view: Any, surface: str) -> dict[str, Any]:
    messages = validate_view(view, surface=surface)
    if messages:
        ctx.fail("invalid_arguments", rule="block_kit", messages=messages)
    assert isinstance(view, dict)
    return view


def _external_id_free(ctx: Ctx, view: dict[str, Any], own: str | None = None) -> None:
    ext = view.get("external_id")
    if ext and any(
        v.external_id == ext and v.id != own and not v.closed for v in ctx.ws.views.values()
    ):
        ctx.fail("duplicate_external_id")


@method("views.open", tier="t4", required=("view",))
def views_open(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    trigger = _trigger(ctx, a)
    view = _valid_view(ctx, a.get("view"), "modal")
    _external_id_free(ctx, view)
    trigger.used = True
    close_stack(ws, trigger.user_id)
    v = new_view(ws, trigger.user_id, view, previous=None)
    ws.modal_stacks[trigger.user_id] = [v.id]
    _see(ws, v, "open")
    return {"view": copy.deepcopy(v.payload)}


@method("views.push", tier="t4", required=("view",))
def views_push(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    trigger = _trigger(ctx, a)
    view = _valid_view(ctx, a.get("view"), "modal")
    stack = ws.modal_stacks.get(trigger.user_id, [])
    if not stack:
        ctx.fail("not_found", rule="views_push", detail="no modal open to push onto")
    if len(stack) >= MAX_STACK:
        ctx.fail("push_limit_reached", rule="views_push", detail=f"{MAX_STACK} views stacked")
    _external_id_free(ctx, view)
    trigger.used = True
    v = new_view(ws, trigger.user_id, view, previous=stack[-1])
    stack.append(v.id)
    _see(ws, v, "push")
    return {"view": copy.deepcopy(v.payload)}


@method("views.update", tier="t4", required=("view",))
def views_update(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    view_id, external_id = as_str(a, "view_id"), as_str(a, "external_id")
    if not view_id and not external_id:
        ctx.fail(
            "invalid_arguments",
            rule="missing_argument",
            messages=["[ERROR] missing required field: view_id or external_id"],
        )
    found = ws.views.get(view_id or "")
    if found is None and external_id:
        found = next((v for v in ws.views.values() if v.external_id == external_id), None)
    if found is None:
        ctx.fail("not_found")
    view = _valid_view(ctx, a.get("view"), found.type)
    wanted_hash = as_str(a, "hash")
    if wanted_hash and wanted_hash != found.hash:
        ctx.fail("hash_conflict")
    _external_id_free(ctx, view, own=found.id)
    replace_view(ws, found, view)
    _see(ws, found, "update")
    return {"view": copy.deepcopy(found.payload)}


@method("views.publish", tier="t4", required=("user_id", "view"))
def views_publish(ctx: Ctx, a: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.ws
    user_id = as_str(a, "user_id") or ""
    if user_id not in ws.users:
        ctx.fail("invalid_arguments", rule="views_publish", messages=["invalid `user_id`"])
    view = _valid_view(ctx, a.get("view"), "home")
    existing = ws.views.get(ws.home_views.get(user_id, ""))
    wanted_hash = as_str(a, "hash")
    if existing is not None and wanted_hash and wanted_hash != existing.hash:
        ctx.fail("hash_conflict")
    if existing is None:
        existing = new_view(ws, user_id, view, previous=None)
        ws.home_views[user_id] = existing.id
    else:
        replace_view(ws, existing, view)
    _see(ws, existing, "publish")
    return {"view": copy.deepcopy(existing.payload)}


def apply_view_ack(ws: Workspace, view_id: str, body: Any) -> list[tuple[str, str]]:
    """What Slack does with the ack of a view_submission for `view_id`; returns violations."""
    v = ws.views.get(view_id)
    if v is None:
        return [("view_ack", f"no view {view_id}")]
    stack = ws.modal_stacks.get(v.user_id, [])
    action = body.get("response_action") if isinstance(body, dict) else None
    where = stack.index(view_id) if view_id in stack else len(stack)
    if action in (None, ""):
        close_stack(ws, v.user_id, keep=where)
        return []
    if action == "clear":
        close_stack(ws, v.user_id)
        return []
    if action == "errors":
        errors = body.get("errors")
        inputs = {b.get("block_id") for b in v.payload["blocks"] if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors:
            return [("view_ack", "response_action=errors without an errors object")]
        v.errors = {str(k): str(val) for k, val in errors.items()}
        unknown = sorted(set(v.errors) - inputs)
        return [("view_ack", f"errors for unknown input block_ids {unknown}")] if unknown else []
    if action not in ("update", "push"):
        return [("view_ack", f"unknown response_action {action!r}")]
    messages = validate_view(body.get("view"), surface="modal")
    if messages:
        return [("block_kit", f"response_action={action}: " + "; ".join(messages))]
    if action == "update":
        replace_view(ws, v, body["view"])
        _see(ws, v, "update")
        return []
    if len(stack) >= MAX_STACK:
        return [("views_push", f"response_action=push onto {MAX_STACK} stacked views")]
    pushed = new_view(ws, v.user_id, body["view"], previous=view_id)
    stack.append(pushed.id)
    _see(ws, pushed, "push")
    return []
