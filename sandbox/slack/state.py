"""The workspace: users, groups, conversations, messages, views, files. Not thread-safe by
itself: every access goes through `Workspace.lock` (the server holds it while a handler runs,
the `FakeSlack` facade while seeding or querying)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.limits import Clock
from sandbox.slack.records import Message, Seen, View
from sandbox.slack.rules import SlackError


@dataclass
class User:
    id: str
    name: str
    tz: str = "UTC"
    real_name: str | None = None
    is_bot: bool = False
    email: str | None = None
    bot_id: str | None = None
    deleted: bool = False


@dataclass
class Usergroup:
    id: str
    handle: str
    users: list[str]
    name: str = ""


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool
    created: int
    creator: str
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    is_general: bool = False
    is_archived: bool = False
    members: set[str] = field(default_factory=set)
    topic: dict[str, Any] = field(
        default_factory=lambda: {"value": "", "creator": "", "last_set": 0}
    )
    purpose: dict[str, Any] = field(
        default_factory=lambda: {"value": "", "creator": "", "last_set": 0}
    )
    pins: list[str] = field(default_factory=list)
    pin_meta: dict[str, tuple[int, str]] = field(default_factory=dict)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    previous_names: list[str] = field(default_factory=list)
    canvas_id: str | None = None


@dataclass
class Trigger:
    user_id: str
    issued_at: float  # Clock.monotonic()
    used: bool = False


@dataclass
class ResponseUrl:
    token: str
    user_id: str
    channel_id: str
    created_at: float  # Clock.monotonic()
    message_ts: str | None = None  # the original message, when it is a channel message
    uses: int = 0
    original: Seen | None = None  # the original ephemeral message, once posted


@dataclass
class FileObj:
    id: str
    name: str
    length: int
    created: int
    title: str | None = None
    content: bytes | None = None
    uploaded: bool = False
    channels: list[str] = field(default_factory=list)
    is_canvas: bool = False


@dataclass
class Canvas:
    id: str
    title: str | None
    markdown: str
    channel_id: str | None
    created: int
    edits: list[dict[str, Any]] = field(default_factory=list)


class Workspace:
    def __init__(
        self, *, team_id: str, bot_user_id: str, bot_id: str, app_id: str, clock: Clock
    ) -> None:
        self.lock = threading.RLock()
        self.team_id = team_id
        self.team_name = "Fake Workspace"
        self.domain = "fake"
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self.base_url = ""  # set by the server once it listens
        self.trigger_ttl = 3.0
        self.response_url_ttl = 30 * 60.0
        self.response_url_max_uses = 5
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.channels: dict[str, Channel] = {}
        self.ims: dict[str, str] = {}
        self.files: dict[str, FileObj] = {}
        self.canvases: dict[str, Canvas] = {}
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.home_views: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.seen: list[tuple[str, Seen]] = []
        self._seq = itertools.count(1)
        self._last_ts_us = 0

    # -- ids and time ----------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._seq):08X}"

    def now(self) -> int:
        return int(self.clock.wall())

    def next_ts(self) -> str:
        """A message ts: wall-clock microseconds, strictly increasing across the workspace."""
        micros = max(int(self.clock.wall() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- users --------------------------------------------------------------------------------
    def add_user(self, user: User) -> str:
        if user.email is None:
            user.email = f"{user.name}@example.com"
        self.users[user.id] = user
        return user.id

    def user(self, user_id: str | None, error: str = "user_not_found") -> User:
        user = self.users.get(user_id or "")
        if user is None or user.deleted:
            raise SlackError(error)
        return user

    # -- conversations ------------------------------------------------------------------------
    def add_channel(
        self,
        name: str,
        *,
        private: bool = False,
        members: set[str] | None = None,
        creator: str | None = None,
        is_general: bool = False,
    ) -> Channel:
        channel = Channel(
            id=self.new_id("G" if private else "C"),
            name=name,
            is_private=private,
            created=self.now(),
            creator=creator or self.bot_user_id,
            is_general=is_general,
            members=set(members or ()),
        )
        self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, name: str) -> Channel | None:
        for channel in self.channels.values():
            if not channel.is_im and not channel.is_mpim and channel.name == name:
                return channel
        return None

    def open_im(self, user_id: str) -> Channel:
        existing = self.ims.get(user_id)
        if existing:
            return self.channels[existing]
        self.user(user_id)
        channel = Channel(
            id=self.new_id("D"),
            name=user_id,
            is_private=True,
            created=self.now(),
            creator=self.bot_user_id,
            is_im=True,
            im_user=user_id,
            members={user_id, self.bot_user_id},
        )
        self.channels[channel.id] = channel
        self.ims[user_id] = channel.id
        return channel

    def open_mpim(self, user_ids: list[str]) -> tuple[Channel, bool]:
        wanted = {*user_ids, self.bot_user_id}
        for channel in self.channels.values():
            if channel.is_mpim and channel.members == wanted:
                return channel, True
        names = sorted(self.users[u].name for u in wanted if u in self.users)
        channel = Channel(
            id=self.new_id("G"),
            name="mpdm-" + "--".join(names) + "-1",
            is_private=True,
            created=self.now(),
            creator=self.bot_user_id,
            is_mpim=True,
            members=wanted,
        )
        self.channels[channel.id] = channel
        return channel, False

    def get_channel(self, ref: Any, *, names: bool = False, users: bool = False) -> Channel:
        """By id; optionally by `#name`/`name` (chat.postMessage) or user id (-> their IM)."""
        if not isinstance(ref, str) or not ref:
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if users and ref in self.users:
            return self.open_im(ref)
        if names:
            found = self.channel_by_name(ref[1:] if ref.startswith("#") else ref)
            if found is not None:
                return found
        raise SlackError("channel_not_found")

    def visible(self, channel: Channel) -> bool:
        return not channel.is_private or self.bot_user_id in channel.members

    def channel_for(
        self,
        ref: Any,
        *,
        hidden: str = "channel_not_found",
        archived: str | None = None,
        member: str | None = None,
        names: bool = False,
        users: bool = False,
    ) -> Channel:
        """Resolve a channel the way most methods do: `hidden` when the bot cannot see a
        private channel, `archived` when archived, `member` when the bot is not a member."""
        channel = self.get_channel(ref, names=names, users=users)
        if not self.visible(channel):
            raise SlackError(hidden)
        if archived and channel.is_archived:
            raise SlackError(archived)
        if member and self.bot_user_id not in channel.members:
            raise SlackError(member)
        return channel

    def remove_member(self, channel: Channel, user_id: str) -> None:
        """`user_id` leaves `channel` (kicked, or removed by an admin), with Slack's
        `channel_leave` system message. Once the bot is out of a private channel it no longer
        sees it (`visible`)."""
        channel.members.discard(user_id)
        self.system_message(channel, "channel_leave", user_id, f"<@{user_id}> has left the channel")

    # -- messages -----------------------------------------------------------------------------
    def add_message(self, channel: Channel, **fields: Any) -> Message:
        message = Message(ts=self.next_ts(), channel=channel.id, **fields)
        channel.messages.append(message)
        return message

    def system_message(self, channel: Channel, subtype: str, user: str, text: str) -> None:
        self.add_message(channel, user=user, text=text, subtype=subtype)

    def find_message(self, channel: Channel, ts: Any) -> Message | None:
        for message in channel.messages:
            if message.ts == ts:
                return message
        return None

    def message_or_fail(self, channel: Channel, ts: Any) -> Message:
        message = self.find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def replies_of(self, channel: Channel, ts: str) -> list[Message]:
        return [m for m in channel.messages if m.thread_ts == ts and m.ts != ts]

    # -- what users saw ---------------------------------------------------------------------
    def see(self, user_id: str, seen: Seen) -> None:
        self.seen.append((user_id, seen))
