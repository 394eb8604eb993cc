"""The sandbox's web page: a small Slack client over the embedded workspace.

The page acts as whichever person is picked. What it shows comes from the fake Slack's state
(channels, messages, pins, threads, the person's modals and App Home), rendered to HTML on
the server (`sandbox/blockkit_html.py`). What a person does goes to the bot the way Slack would
send it (`sandbox.slack.driver`: signed slash commands, interactivity payloads, Events API
callbacks), after the workspace has changed as Slack's would (a message posted, a reaction
added). The bot answers the workspace through the Web API as it does in production.

UI state only lives here (which messages a person has read, the ephemerals they were shown):
nothing of the bot's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.acting import SHORTCUTS, Ephemeral, PersonActions
from sandbox.blockkit_html import blocks_html, view_html
from sandbox.mrkdwn_html import Directory, mrkdwn_html
from sandbox.slack import FakeSlack
from sandbox.slack.driver import SlackDriver
from sandbox.slack.records import ChannelView, Message, UserView

API = "/sandbox/api"
STATIC = "/sandbox/static"
SAVE_EVERY_SECONDS = 3.0


@dataclass(frozen=True)
class BotAt:
    url: str


@dataclass
class Sandbox(PersonActions):
    fake: FakeSlack
    bot_url: str
    now: Callable[[], datetime]  # the bot's clock (faster with --speed)
    speed: float = 1.0
    workspace_file: Path | None = None  # where the workspace is kept between runs
    read: dict[tuple[str, str], str] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.driver = SlackDriver(BotAt(self.bot_url), self.fake)

    # -- routes ----------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_get(STATIC + "/{name}", self.static)
        app.router.add_get(API + "/state", self.state)
        for name, handler in (
            ("send", self.send),
            ("action", self.action),
            ("submit", self.submit),
            ("close", self.close),
            ("react", self.react),
            ("pin", self.pin),
            ("shortcut", self.shortcut),
            ("home", self.home),
            ("read", self.mark_read),
            ("join", self.join),
        ):
            app.router.add_post(f"{API}/{name}", handler)
        if self.workspace_file is not None:
            app.cleanup_ctx.append(self._keep_workspace)

    async def _keep_workspace(self, _app: web.Application) -> AsyncIterator[None]:
        """Save the workspace every few seconds and when the sandbox stops, beside the
        database, so that a restart finds the channels its incidents live in."""
        target = self.workspace_file
        assert target is not None

        async def every_few_seconds() -> None:
            while True:
                await asyncio.sleep(SAVE_EVERY_SECONDS)
                await asyncio.to_thread(self.fake.save_workspace, target)

        saver = asyncio.create_task(every_few_seconds())
        yield
        saver.cancel()
        self.fake.save_workspace(target)

    async def index(self, _request: web.Request) -> web.Response:
        return web.Response(text=_asset("index.html"), content_type="text/html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        types = {"sandbox.js": "application/javascript", "sandbox.css": "text/css"}
        if name not in types:
            raise web.HTTPNotFound()
        return web.Response(text=_asset(name), content_type=types[name])

    # -- what a person sees ----------------------------------------------------------------
    def directory(
        self, user: str, people: list[UserView], channels: list[ChannelView]
    ) -> Directory:
        """What the renderer knows, from one snapshot of the workspace's people and
        conversations (each a deep copy: taken once per state read)."""
        tz = next((p.tz for p in people if p.id == user), "UTC")
        return Directory(
            users={p.id: p.name for p in people},
            channels={c.id: c.name for c in channels if not c.is_im},
            groups=self.fake.usergroups(),
            tz=tz,
            now=self.now(),
        )

    def shown_time(self, ts: str) -> datetime:
        """A message's time on the sandbox's clock (the bot's; faster with --speed)."""
        real = datetime.fromtimestamp(float(ts), tz=UTC)
        return self.now() - (datetime.now(UTC) - real) * self.speed

    async def state(self, request: web.Request) -> web.Response:
        user = request.query.get("user") or "U_ALICE"
        wanted = request.query.get("channel") or ""
        thread = request.query.get("thread") or None
        people, channels = self.fake.users(), self.fake.channels()
        d = self.directory(user, people, channels)
        visible = [c for c in channels if _visible(c, user, self.fake.bot_user_id)]
        current = next((c for c in visible if c.id == wanted), None)
        if current is None:
            current = next((c for c in visible if c.name == "incident-response"), visible[0])
        body: dict[str, Any] = {
            "me": user,
            "people": [
                {"id": p.id, "name": p.name, "real_name": p.real_name, "tz": p.tz}
                for p in people
                if not p.is_bot
            ],
            "channels": [self._channel_entry(c, user) for c in visible],
            "channel": self._channel_body(current, user, d),
            "thread": self._thread_body(current, thread, d) if thread else None,
            "modal": self._modal(user, d),
            "home": self._home(user, d),
            "shortcuts": [{"callback_id": c, "name": n} for c, n in SHORTCUTS],
            "now": self.now().isoformat(),
        }
        return web.json_response(body)

    def _channel_entry(self, channel: ChannelView, user: str) -> dict[str, Any]:
        last = self.read.get((user, channel.id), "0")
        unread = sum(1 for m in channel.messages if float(m.ts) > float(last) and m.user != user)
        return {
            "id": channel.id,
            "name": _label(channel, self.fake.bot_user_id),
            "private": channel.is_private and not channel.is_im,
            "im": channel.is_im,
            "member": user in channel.members,
            "unread": unread if user in channel.members else 0,
        }

    def _message(self, message: Message, channel: ChannelView, d: Directory) -> dict[str, Any]:
        return {
            "ts": message.ts,
            "author": d.users.get(message.user, message.user),
            "bot": message.user == self.fake.bot_user_id,
            "time": self.shown_time(message.ts).isoformat(),
            "html": _content_html(message.blocks, message.text, d),
            "edited": message.edited,
            "pinned": message.ts in channel.pins,
            "replies": len(message.replies),
            "files": [f.get("name") or f.get("title") or "file" for f in message.files],
            "reactions": [
                {"name": name, "count": len(users), "users": sorted(users)}
                for name, users in message.reactions.items()
            ],
        }

    def _channel_body(self, channel: ChannelView, user: str, d: Directory) -> dict[str, Any]:
        shown: list[dict[str, str | None]] = [
            {"html": _content_html(e.blocks, e.text, d), "time": _iso(e.at)}
            for e in self.ephemerals
            if e.user == user and e.channel == channel.id
        ]
        # And what the bot sent that person alone later (chat.postEphemeral, response_url).
        for seen in self.fake.seen_by(user):
            later = seen.kind == "ephemeral" or (
                seen.kind == "response_url" and seen.response_type != "in_channel"
            )
            if later and seen.channel == channel.id and seen.action == "post":
                html = _content_html(seen.blocks, seen.text or "", d)
                shown.append({"html": html, "time": None})
        return {
            "id": channel.id,
            "name": _label(channel, self.fake.bot_user_id),
            "topic": mrkdwn_html(channel.topic, d) if channel.topic else "",
            "member": user in channel.members,
            "pins": [
                self._message(m, channel, d) for m in channel.messages if m.ts in channel.pins
            ],
            "messages": [self._message(m, channel, d) for m in channel.messages],
            "ephemerals": shown,
        }

    def _thread_body(
        self, channel: ChannelView, thread: str, d: Directory
    ) -> dict[str, Any] | None:
        parent = next((m for m in channel.messages if m.ts == thread), None)
        if parent is None:
            return None
        return {
            "ts": parent.ts,
            "parent": self._message(parent, channel, d),
            "replies": [self._message(r, channel, d) for r in parent.replies],
        }

    def _modal(self, user: str, d: Directory) -> dict[str, Any] | None:
        stack = self.fake.open_views(user)
        if not stack:
            return None
        top = stack[-1]
        return {"id": top.id, "html": view_html(top.payload, d, errors=top.errors or {})}

    def _home(self, user: str, d: Directory) -> dict[str, str] | None:
        homes = [v for v in self.fake.views(user) if v.type == "home"]
        if not homes:
            return None
        blocks = homes[0].payload.get("blocks") or []  # as Slack holds it, like a modal
        return {"id": homes[0].id, "html": blocks_html(blocks, d)}


def _visible(channel: ChannelView, user: str, bot: str) -> bool:
    if channel.is_archived and user not in channel.members:
        return False
    if channel.is_im:
        return user in channel.members and bot in channel.members
    return not channel.is_private or user in channel.members


def _label(channel: ChannelView, bot: str) -> str:
    return "warroom" if channel.is_im else channel.name


def _content_html(blocks: list[dict[str, Any]] | None, text: str, d: Directory) -> str:
    """A message's content as Slack shows it: its blocks, else its mrkdwn text."""
    return blocks_html(blocks, d) if blocks else mrkdwn_html(text, d)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _asset(name: str) -> str:
    return resources.files("sandbox").joinpath("static", name).read_text("utf-8")
