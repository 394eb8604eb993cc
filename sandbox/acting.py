"""What a person does on the sandbox's page, sent to the bot as Slack would send it, after
the workspace changed as Slack's would (a message posted, a reaction added, a channel
joined). Blocking driver calls run in a thread: the bot answers on this process's loop."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.commands.declare import DECLARE_SHORTCUT
from bot.commands.timeline import ADD_TO_TIMELINE
from sandbox.blockkit_html import state_values
from sandbox.interactions import clicked_action, find_element
from sandbox.slack import FakeSlack
from sandbox.slack.driver import Reply, SlackDriver

COMMAND = "/incident"
# The message shortcuts the app's manifest declares (manifest.yml, `features.shortcuts`).
SHORTCUTS = (
    (DECLARE_SHORTCUT, "Declare incident"),
    (ADD_TO_TIMELINE, "Add to timeline"),
)
EPHEMERALS_KEPT = 50
EMOJI_NAME = re.compile(r"[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?")  # Slack's emoji names


@dataclass(frozen=True)
class Ephemeral:
    user: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None
    at: float


class PersonActions:
    """The page's POST endpoints (the `Sandbox` holds the state they use)."""

    fake: FakeSlack
    driver: SlackDriver
    read: dict[tuple[str, str], str]
    ephemerals: list[Ephemeral]

    def directory_tz(self, user: str) -> str:
        return next((p.tz for p in self.fake.users() if p.id == user), "UTC")

    # -- what a person does ----------------------------------------------------------------
    async def send(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user, channel = data["user"], data["channel"]
        text = str(data.get("text") or "").strip()
        thread = data.get("thread") or None
        if not text:
            raise web.HTTPBadRequest(text="empty message")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command != COMMAND:
                self._tell(user, channel, f"`{command}` is not a command here; try `{COMMAND}`")
                return web.json_response({"ok": True})
            reply = await asyncio.to_thread(
                self.driver.slash, user, rest.strip(), channel=channel, command=COMMAND
            )
            self._keep_ack(user, channel, reply)
            return web.json_response({"ok": reply.status == 200})
        ts = self.fake.post_as_user(channel, user, text, thread_ts=thread)
        view = self.fake.channel(channel)
        event = {
            "type": "message",
            "channel": view.id,
            "user": user,
            "text": text,
            "ts": ts,
            "channel_type": "im" if view.is_im else "group" if view.is_private else "channel",
            **({"thread_ts": thread} if thread else {}),
        }
        reply = await asyncio.to_thread(self.driver.event, event)
        return web.json_response({"ok": reply.status == 200, "ts": ts})

    async def action(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user = data["user"]
        view_id = data.get("view") or None
        channel, ts = data.get("channel") or None, data.get("ts") or None
        if view_id:
            view = self.fake.view(view_id)  # as Slack holds it: block ids filled in
            blocks, payload = view.payload.get("blocks") or [], view.payload
        elif channel and ts:
            message = self.fake.message(channel, ts)
            blocks, payload = message.blocks or [], None
        else:
            raise web.HTTPBadRequest(text="a view, or a channel and a message")
        element = find_element(blocks, str(data["block_id"]), str(data["action_id"]))
        if element is None:
            raise web.HTTPBadRequest(text="no such element")
        clicked = clicked_action(element, str(data["block_id"]), data.get("selected"))
        reply = await asyncio.to_thread(
            self.driver.block_action,
            user,
            clicked,
            channel=channel,
            message_ts=None if view_id else ts,
            view=payload,
        )
        if channel:
            self._keep_ack(user, channel, reply)
        return web.json_response({"ok": reply.status == 200})

    async def submit(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user, view_id = data["user"], data["view"]
        view = self.fake.view(view_id)
        tz = self.directory_tz(user)
        values = state_values(view.payload, data.get("answers") or {}, tz=tz)
        reply = await asyncio.to_thread(self.driver.view_submission, user, view.payload, values)
        body: object = {}
        if reply.status == 200 and reply.body:
            try:
                body = reply.json
            except ValueError:
                body = {}
        self.fake.apply_view_ack(view_id, body)
        errors = body.get("errors") if isinstance(body, dict) else None
        return web.json_response({"ok": reply.status == 200, "errors": errors or {}})

    async def close(self, request: web.Request) -> web.Response:
        data = await _json(request)
        view = self.fake.view(data["view"])
        self.fake.close_view(view.id)
        if view.view.get("notify_on_close"):
            await asyncio.to_thread(self.driver.view_closed, data["user"], view.payload)
        return web.json_response({"ok": True})

    async def react(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user, channel, ts, name = data["user"], data["channel"], data["ts"], data["name"]
        if not isinstance(name, str) or not EMOJI_NAME.fullmatch(name):
            raise web.HTTPBadRequest(text="an emoji name, like pushpin")
        added = self.fake.react_as_user(channel, ts, user, name)
        message = self.fake.message(channel, ts)
        event = {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user,
            "reaction": name,
            "item_user": message.user,
            "item": {"type": "message", "channel": self.fake.channel_id(channel), "ts": ts},
        }
        reply = await asyncio.to_thread(self.driver.event, event)
        return web.json_response({"ok": reply.status == 200, "added": added})

    async def pin(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user, channel, ts = data["user"], data["channel"], data["ts"]
        channel_id = self.fake.channel_id(channel)
        pinned = self.fake.pin_as_user(channel_id, ts, user)
        message = self.fake.message(channel_id, ts)
        item_message = {"type": "message", "user": message.user, "text": message.text, "ts": ts}
        if message.thread_ts and message.thread_ts != ts:
            item_message["thread_ts"] = message.thread_ts
        event = {
            "type": "pin_added" if pinned else "pin_removed",
            "user": user,
            "channel_id": channel_id,
            "item_user": message.user,
            "item": {"type": "message", "channel": channel_id, "message": item_message},
        }
        reply = await asyncio.to_thread(self.driver.event, event)
        return web.json_response({"ok": reply.status == 200, "pinned": pinned})

    async def shortcut(self, request: web.Request) -> web.Response:
        data = await _json(request)
        if data["callback_id"] not in dict(SHORTCUTS):
            raise web.HTTPBadRequest(text="unknown shortcut")
        reply = await asyncio.to_thread(
            self.driver.message_shortcut,
            data["user"],
            data["callback_id"],
            channel=data["channel"],
            message_ts=data["ts"],
        )
        return web.json_response({"ok": reply.status == 200})

    async def home(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user = data["user"]
        event = {"type": "app_home_opened", "user": user, "tab": "home"}
        reply = await asyncio.to_thread(self.driver.event, event)
        return web.json_response({"ok": reply.status == 200})

    async def join(self, request: web.Request) -> web.Response:
        data = await _json(request)
        user, channel_id = data["user"], self.fake.channel_id(data["channel"])
        if not self.fake.join_as_user(channel_id, user):
            return web.json_response({"ok": True})
        event = {
            "type": "member_joined_channel",
            "user": user,
            "channel": channel_id,
            "channel_type": "C",
            "team": self.fake.team_id,
        }
        reply = await asyncio.to_thread(self.driver.event, event)
        return web.json_response({"ok": reply.status == 200})

    async def mark_read(self, request: web.Request) -> web.Response:
        data = await _json(request)
        channel = self.fake.channel(data["channel"])
        latest = max((m.ts for m in channel.messages), key=float, default="0")
        self.read[(data["user"], channel.id)] = latest
        return web.json_response({"ok": True})

    # -- ephemerals ------------------------------------------------------------------------
    def _keep_ack(self, user: str, channel: str, reply: Reply) -> None:
        """What the bot answered in its ack (a refusal, a list, `/incident help`): shown to
        that person only, in that channel, as Slack shows an ephemeral."""
        if reply.status != 200:
            self._tell(user, channel, "The app did not answer in time.")
            return
        if not reply.body:
            return
        try:
            body = reply.json
        except ValueError:
            body = reply.text
        if isinstance(body, str) and body.strip():
            self._tell(user, channel, body)
        elif isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self._remember(user, channel, str(body.get("text") or ""), body.get("blocks"))

    def _tell(self, user: str, channel: str, text: str) -> None:
        self._remember(user, channel, text, None)

    def _remember(
        self, user: str, channel: str, text: str, blocks: list[dict[str, Any]] | None
    ) -> None:
        channel_id = self.fake.channel_id(channel)
        self.ephemerals.append(Ephemeral(user, channel_id, text, blocks, time.time()))
        del self.ephemerals[:-EPHEMERALS_KEPT]


async def _json(request: web.Request) -> Mapping[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="a JSON body, please") from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str):
        raise web.HTTPBadRequest(text="who is acting (user) is missing")
    return data
