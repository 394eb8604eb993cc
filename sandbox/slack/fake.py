"""`FakeSlack`: the public facade (seeding, interaction plumbing, knobs, recording, queries)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import os
import pickle
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.slack.background import ServedFake
from sandbox.slack.h_views import apply_view_ack, close_stack
from sandbox.slack.limits import AfterFault, Clock, Fault, Faults, Hold, Holds, RateLimiter
from sandbox.slack.recording import Recorder, critical_path
from sandbox.slack.records import (
    Call,
    CanvasView,
    ChannelView,
    FileView,
    Message,
    Seen,
    UserView,
    View,
    Violation,
)
from sandbox.slack.registry import effective_tier
from sandbox.slack.responses import ack_seen
from sandbox.slack.server import Server
from sandbox.slack.shapes import snapshot_channel, snapshot_message
from sandbox.slack.state import Channel, ResponseUrl, Trigger, User, Usergroup, Workspace

DEFAULT_USERS = (
    ("U_ALICE", "alice", "Europe/Paris", "Alice Martin"),
    ("U_BOB", "bob", "America/New_York", "Bob Smith"),
    ("U_CAROL", "carol", "Asia/Tokyo", "Carol Tanaka"),
    ("U_DAVE", "dave", "UTC", "Dave Jones"),
    ("U_ERIN", "erin", "UTC", "Erin Brown"),
    ("U_BACKUP", "backup", "UTC", "Backup Oncall"),
)
DEFAULT_GROUPS = (
    ("S_ONCALL", "oncall", ["U_BOB", "U_CAROL"]),
    ("S_BACKUP", "backup-oncall", ["U_BACKUP"]),
    ("S_SECURITY", "security", ["U_ERIN"]),
)


_DURABLE = ("users", "usergroups", "channels", "ims", "files", "canvases", "views", "home_views")


class FakeSlack(ServedFake):
    """A stateful fake of the Slack Web API, served in a background thread. See README.md."""

    def __init__(
        self,
        *,
        signing_secret: str = "test-signing-secret",
        rate_limits: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: bool = True,
    ) -> None:
        self.signing_secret = signing_secret
        self.team_id = "T_FAKE"
        self.bot_user_id = "U_WARROOM"
        self.bot_id = "B_WARROOM"
        self.app_id = "A_WARROOM"
        self.bot_token = f"xoxb-fake-{secrets.token_hex(12)}"
        self.latency: float = 0.0
        # The bot token's scopes, sent back as Slack does on every Web API answer
        # (`x-oauth-scopes`); None sends no such header.
        self.granted_scopes: list[str] | None = None
        self.clock = Clock()
        self._ws = Workspace(
            team_id=self.team_id,
            bot_user_id=self.bot_user_id,
            bot_id=self.bot_id,
            app_id=self.app_id,
            clock=self.clock,
        )
        self._recorder = Recorder()
        self._limiter = RateLimiter(self.clock, effective_tier)
        self._limiter.set_enabled(rate_limits)
        self._faults = Faults()
        self._holds = Holds()
        self._server: Server = Server(self, host, port)
        self.add_user(id=self.bot_user_id, name="warroom", real_name="Warroom", is_bot=True)
        self._ws.users[self.bot_user_id].bot_id = self.bot_id
        if seed:
            self._seed_default()

    def _seed_default(self) -> None:
        for user_id, name, tz, real_name in DEFAULT_USERS:
            self.add_user(id=user_id, name=name, tz=tz, real_name=real_name)
        for group_id, handle, users in DEFAULT_GROUPS:
            self.add_usergroup(id=group_id, handle=handle, users=users)
        humans = [u[0] for u in DEFAULT_USERS]
        self.add_channel(name="general", members=humans, bot_member=False)
        with self._ws.lock:
            self._ws.channels[self.channel_id("general")].is_general = True
        self.add_channel(name="incident-response", members=humans)
        self.add_channel(name="leadership", members=humans)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        self._ws.base_url = self.base_url

    def stop(self) -> None:
        self._holds.clear()  # also when not started: nothing stays held for the next start
        super().stop()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def trigger_ttl(self) -> float:
        return self._ws.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        self._ws.trigger_ttl = seconds

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock forward (trigger/response_url expiry, rate-limit windows)."""
        self.clock.advance(seconds)

    # -- seeding ----------------------------------------------------------------------------------
    def add_user(
        self,
        *,
        id: str,
        name: str,
        tz: str = "UTC",
        real_name: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
    ) -> str:
        with self._ws.lock:
            return self._ws.add_user(User(id, name, tz, real_name, is_bot, email))

    def add_usergroup(self, *, id: str, handle: str, users: list[str]) -> str:
        with self._ws.lock:
            self._ws.usergroups[id] = Usergroup(id, handle, list(users), name=handle)
            return id

    def add_channel(
        self,
        *,
        name: str,
        private: bool = False,
        members: list[str] | None = None,
        bot_member: bool = True,
    ) -> str:
        wanted = set(members or ()) | ({self.bot_user_id} if bot_member else set())
        with self._ws.lock:
            if self._ws.channel_by_name(name) is not None:
                raise ValueError(f"a channel named {name!r} exists")
            creator = self.bot_user_id if bot_member else min(wanted, default=None)
            return self._ws.add_channel(name, private=private, members=wanted, creator=creator).id

    def post_as_user(
        self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """Seed a message written by a person (not the bot); returns its ts."""
        with self._ws.lock:
            ch = self._channel(channel)
            return self._ws.add_message(ch, user=user_id, text=text, thread_ts=thread_ts).ts

    def react_as_user(self, channel: str, ts: str, user_id: str, name: str) -> bool:
        """A person adds (or, when they already have, removes) reaction `name` on a message;
        True when it was added. The caller sends the matching `reaction_added/removed`."""
        with self._ws.lock:
            message = self._ws.message_or_fail(self._channel(channel), ts)
            users = message.reactions.setdefault(name, [])
            if user_id in users:
                users.remove(user_id)
                if not users:
                    del message.reactions[name]
                return False
            users.append(user_id)
            return True

    def join_as_user(self, channel: str, user_id: str) -> bool:
        """A person joins a public channel (Slack's `channel_join` system message); False
        when they already were a member. The caller sends `member_joined_channel`."""
        with self._ws.lock:
            ch = self._channel(channel)
            if ch.is_private or ch.is_im or ch.is_mpim:
                raise ValueError(f"{ch.id} is not a public channel: nobody joins it by hand")
            if user_id in ch.members:
                return False
            ch.members.add(user_id)
            self._ws.system_message(
                ch, "channel_join", user_id, f"<@{user_id}> has joined the channel"
            )
            return True

    def pin_as_user(self, channel: str, ts: str, user_id: str) -> bool:
        """A person pins (or, when it is pinned, unpins) a message; True when pinned."""
        with self._ws.lock:
            ch = self._channel(channel)
            message = self._ws.message_or_fail(ch, ts)
            if message.ts in ch.pins:
                ch.pins.remove(message.ts)
                ch.pin_meta.pop(message.ts, None)
                return False
            ch.pins.append(message.ts)
            ch.pin_meta[message.ts] = (self._ws.now(), user_id)
            return True

    def users(self) -> list[UserView]:
        """The workspace's people and bots (not deleted)."""
        with self._ws.lock:
            return [
                UserView(u.id, u.name, u.real_name or u.name, u.tz, u.is_bot)
                for u in self._ws.users.values()
                if not u.deleted
            ]

    def usergroups(self) -> dict[str, str]:
        """Usergroup id → handle."""
        with self._ws.lock:
            return {g.id: g.handle for g in self._ws.usergroups.values()}

    # -- keeping a workspace across runs (the sandbox) -----------------------------------------
    def save_workspace(self, path: str | os.PathLike[str]) -> None:
        """Write what the workspace holds (people, conversations, views, files) to `path`,
        atomically; a replaced file is never half written. Only for files this process
        writes itself: `load_workspace` unpickles."""
        with self._ws.lock:
            data = {name: getattr(self._ws, name) for name in _DURABLE}
            following = next(self._ws._seq)
            self._ws._seq = itertools.count(following)
            data["next_id"] = following
            data["last_ts_us"] = self._ws._last_ts_us
            blob = pickle.dumps(data)
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(blob)
        os.replace(partial, target)

    def load_workspace(self, path: str | os.PathLike[str]) -> bool:
        """Restore a workspace `save_workspace` wrote; False when there is none."""
        target = Path(path)
        if not target.exists():
            return False
        data = pickle.loads(target.read_bytes())
        with self._ws.lock:
            for name in _DURABLE:
                setattr(self._ws, name, data[name])
            self._ws.modal_stacks = {}  # modals do not survive a restart, as in Slack
            self._ws._seq = itertools.count(int(data["next_id"]))
            self._ws._last_ts_us = int(data["last_ts_us"])
        return True

    def archive_channel(self, channel: str) -> None:
        with self._ws.lock:
            self._channel(channel).is_archived = True

    def remove_member(self, channel: str, user_id: str) -> None:
        """Take `user_id` out of `channel` (name or id), as an admin removing them would, with
        the `channel_leave` system message. For the bot and a private channel the bot can no
        longer see it: reads answer `channel_not_found`, writes `not_in_channel`; for the bot
        and a public channel, what needs membership answers `not_in_channel`."""
        with self._ws.lock:
            ch = self._channel(channel)
            if ch.is_im or ch.is_mpim:
                raise ValueError(f"{ch.id} is a direct message: its members cannot change")
            if user_id not in ch.members:
                raise ValueError(f"{user_id} is not a member of {ch.id} (#{ch.name})")
            self._ws.remove_member(ch, user_id)

    def _channel(self, name_or_id: str) -> Channel:
        ws = self._ws
        if name_or_id in ws.channels:
            return ws.channels[name_or_id]
        if name_or_id in ws.ims:
            return ws.channels[ws.ims[name_or_id]]
        found = ws.channel_by_name(name_or_id.removeprefix("#"))
        if found is None:
            raise KeyError(f"no channel {name_or_id!r}")
        return found

    def channel_id(self, name_or_id: str) -> str:
        with self._ws.lock:
            return self._channel(name_or_id).id

    # -- interaction plumbing ---------------------------------------------------------------------
    def issue_trigger_id(self, user_id: str) -> str:
        with self._ws.lock:
            trigger_id = (
                f"{int(self.clock.wall())}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}"
            )
            self._ws.triggers[trigger_id] = Trigger(user_id, self.clock.monotonic())
            return trigger_id

    def new_response_url(
        self, *, user_id: str, channel_id: str, message_ts: str | None = None
    ) -> str:
        """A response_url served by the fake. With `message_ts` (a block action on a channel
        message) `replace_original`/`delete_original` act on that message."""
        token = secrets.token_urlsafe(16)
        with self._ws.lock:
            self._ws.response_urls[token] = ResponseUrl(
                token, user_id, channel_id, self.clock.monotonic(), message_ts
            )
        return f"{self.base_url}/response_url/{token}"

    def record_ack(self, *, user_id: str, body: object) -> None:
        seen, violations = ack_seen(body)
        with self._ws.lock:
            self._ws.see(user_id, seen)
        self._recorder.sent(body)
        for rule, detail in violations:
            self._recorder.violate("ack", rule, detail, None)

    def apply_view_ack(self, view_id: str, body: object) -> None:
        """Do what Slack does with a view_submission ack (close / clear / update / push /
        errors), validating any view in it."""
        with self._ws.lock:
            violations = apply_view_ack(self._ws, view_id, body)
        for rule, detail in violations:
            self._recorder.violate("view_submission", rule, detail, None)

    def close_view(self, view_id: str) -> None:
        """The user closed the modal `view_id` (and anything stacked on it)."""
        with self._ws.lock:
            view = self._ws.views[view_id]
            stack = self._ws.modal_stacks.get(view.user_id, [])
            close_stack(self._ws, view.user_id, stack.index(view_id) if view_id in stack else 0)
            view.closed = True

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's request-signing headers for `body` sent to the bot."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + ts.encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    # -- knobs ------------------------------------------------------------------------------------
    def set_rate_limits(self, enabled: bool) -> None:
        self._limiter.set_enabled(enabled)

    def set_rate_limit(self, method: str, per_minute: int) -> None:
        self._limiter.set_limit(method, per_minute)

    def reset_rate_limits(self) -> None:
        self._limiter.reset()

    def fail_next(
        self,
        method: str,
        n: int = 1,
        *,
        error: str | None = "fatal_error",
        status: int = 200,
        hang: float | None = None,
        retry_after: int = 1,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """The next `n` calls of `method` (or "response_url" / "file_upload"): wait `hang`
        seconds if given; then answer HTTP `status` if not 200, else `ok: false` with `error`;
        with `error=None` and status 200 the call then proceeds normally (a slow success).
        `status=429` answers like the rate limiter: `ratelimited` with `Retry-After`. With
        `where`, only calls whose decoded arguments it accepts (e.g. one user's DM)."""
        self._faults.add(method, n, Fault(error, status, hang, retry_after, where))

    def fail_after(
        self,
        method: str,
        n: int = 1,
        *,
        status: int = 500,
        error: str | None = None,
        drop: bool = False,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """The next `n` calls of `method` (or "response_url" / "file_upload") whose decoded
        arguments satisfy `where` (if given) and that the fake executes successfully take
        effect, then fail: with `drop` the connection is closed without any HTTP answer (the
        client sees e.g. aiohttp's ServerDisconnectedError); otherwise HTTP `status` with
        `{"ok": false, "error": error or "internal_error"}` (status 200 with e.g.
        `error="fatal_error"`: `ok: false` at HTTP 200; 429 adds `Retry-After: 1`). Calls
        refused before the handler (holds and rate limits apply as usual) or by it do not use
        the fault up. `Call.applied` is True and `Call.suppressed_response` holds the real
        answer; a dropped call has `Call.dropped`."""
        if n < 1:
            raise ValueError("n must be at least 1")
        if not drop and not (status == 200 or 400 <= status <= 599):
            raise ValueError(f"status {status}: use 200 (with `error`) or 400-599")
        self._faults.add_after(method, n, AfterFault(status, error, drop, where))

    def hold(self, method: str, where: Callable[[dict[str, Any]], bool] | None = None) -> Hold:
        """Hold the next call of `method` (whose arguments satisfy `where`, if given)."""
        return self._holds.add(method, where)

    def clear_hold(self, method: str | None = None) -> None:
        self._holds.clear(method)

    # -- recording --------------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        return self._recorder.calls(method)

    @property
    def violations(self) -> list[Violation]:
        return self._recorder.violations()

    def take_violations(self) -> list[Violation]:
        return self._recorder.take_violations()

    def reset_calls(self) -> None:
        self._recorder.reset_calls()

    def critical_path(self, *, since: float, until: float | None = None) -> list[list[Call]]:
        return critical_path(self._recorder.calls(), since=since, until=until)

    def render_texts(self) -> list[str]:
        return self._recorder.render_texts()

    # -- queries ----------------------------------------------------------------------------------
    def channel(self, name_or_id: str) -> ChannelView:
        with self._ws.lock:
            return snapshot_channel(self._ws, self._channel(name_or_id))

    def channels(self) -> list[ChannelView]:
        with self._ws.lock:
            return [snapshot_channel(self._ws, ch) for ch in self._ws.channels.values()]

    def message(self, channel: str, ts: str) -> Message:
        with self._ws.lock:
            ch = self._channel(channel)
            found = self._ws.find_message(ch, ts)
            if found is None:
                raise KeyError(f"no message {ts} in {ch.id}")
            return snapshot_message(self._ws, ch, found)

    def dms(self, user_id: str) -> list[Message]:
        """The bot's messages in its IM with `user_id`, oldest first (thread replies under
        `Message.replies`, as in `ChannelView.messages`); [] if no IM is open.
        `channel(user_id)` is the whole IM."""
        with self._ws.lock:
            channel_id = self._ws.ims.get(user_id)
            if channel_id is None:
                return []
            view = snapshot_channel(self._ws, self._ws.channels[channel_id])
        return [m for m in view.messages if m.user == self.bot_user_id]

    def seen_by(self, user_id: str, *, include_channels: bool = False) -> list[Seen]:
        with self._ws.lock:
            seen = [copy.deepcopy(s) for u, s in self._ws.seen if u == user_id]
            if include_channels:
                for ch in self._ws.channels.values():
                    if ch.is_im or ch.is_mpim or user_id not in ch.members:
                        continue
                    for m in ch.messages:
                        if m.user == self.bot_user_id and m.subtype is None:
                            seen.append(
                                Seen(
                                    "channel_message",
                                    ch.id,
                                    m.text,
                                    copy.deepcopy(m.blocks),
                                    m.posted_at,
                                    ts=m.ts,
                                )
                            )
        return sorted(seen, key=lambda s: s.at)

    def views(self, user_id: str | None = None) -> list[View]:
        """Views (modals and Home tabs), most recently opened or updated first."""
        with self._ws.lock:
            found = [v for v in self._ws.views.values() if user_id in (None, v.user_id)]
            return [copy.deepcopy(v) for v in sorted(found, key=lambda v: -v.updated_at)]

    def view(self, view_id: str) -> View:
        with self._ws.lock:
            return copy.deepcopy(self._ws.views[view_id])

    def open_views(self, user_id: str) -> list[View]:
        """The user's modal stack, bottom first."""
        with self._ws.lock:
            stack = self._ws.modal_stacks.get(user_id, [])
            return [copy.deepcopy(self._ws.views[v]) for v in stack]

    def canvases(self) -> list[CanvasView]:
        with self._ws.lock:
            return [
                CanvasView(c.id, c.title, c.markdown, c.channel_id, copy.deepcopy(c.edits))
                for c in self._ws.canvases.values()
            ]

    def files(self) -> list[FileView]:
        with self._ws.lock:
            return [
                FileView(f.id, f.name, f.title, f.length, f.content, f.uploaded, list(f.channels))
                for f in self._ws.files.values()
                if not f.is_canvas
            ]

    def __repr__(self) -> str:
        where = self.api_url if self._server.running else "not started"
        return f"<FakeSlack {self.team_id} {where}>"
