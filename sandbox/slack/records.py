"""Public record types: what the fake recorded and what queries return.

Everything a query returns is a snapshot (a deep copy); mutating it never changes the fake.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One HTTP request to the Web API, recorded when it arrives and completed when answered.

    `started_at`/`ended_at` are `time.monotonic()` values (comparable with the test's own
    clock); `wall_started_at`/`wall_ended_at` are `time.time()` values. A call still in flight
    has `ended_at is None` and `ok is None`.

    `ok`, `error`, `status` and `response` are what the client saw. `applied` says whether the
    fake executed the call successfully (its effects, if any, happened), whatever the client
    saw: True for a successful call and for one that `fail_after` failed after the fact (its
    real answer is then in `suppressed_response`), False when the call was refused or failed
    before it changed anything, None while in flight. `dropped`: the connection was closed
    without any HTTP answer (`fail_after(..., drop=True)`); then `status` and `response` are
    None and `error` is "connection_closed".
    """

    index: int
    method: str
    args: dict[str, Any]
    http_method: str
    started_at: float
    wall_started_at: float
    ended_at: float | None = None
    wall_ended_at: float | None = None
    ok: bool | None = None
    error: str | None = None
    status: int | None = None
    response: dict[str, Any] | None = None
    warning: str | None = None
    applied: bool | None = None
    dropped: bool = False
    suppressed_response: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.ended_at is not None

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class Violation:
    """A Slack platform rule the client broke. `call_index` is `Call.index` (None when the
    violation did not come from a Web API call, e.g. a response_url post)."""

    method: str
    rule: str
    detail: str
    call_index: int | None


@dataclass
class Message:
    """A message in a conversation. `reactions` maps emoji name -> user ids.

    In `ChannelView.messages`, `replies` holds the thread replies of a parent message; a
    message returned by `FakeSlack.message()` also carries its replies.
    """

    ts: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited: bool = False
    replies: list[Message] = field(default_factory=list)
    subtype: str | None = None
    bot_id: str | None = None
    attachments: list[dict[str, Any]] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    reply_broadcast: bool = False
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions (chat.update)
    posted_at: float = field(default_factory=time.monotonic)


@dataclass
class ChannelView:
    """A snapshot of a conversation. `messages` are top-level messages oldest first (thread
    replies under `Message.replies`; broadcast replies appear in both places); Slack's system
    messages (`channel_join`, `channel_topic`, ...) are left out here but are returned by
    conversations.history as Slack does."""

    id: str
    name: str
    is_private: bool
    is_archived: bool
    members: set[str]
    topic: str
    purpose: str
    pins: list[str]
    bookmarks: list[dict[str, Any]]
    messages: list[Message]
    is_im: bool = False
    is_mpim: bool = False
    creator: str | None = None
    previous_names: list[str] = field(default_factory=list)
    canvas_id: str | None = None

    def find(self, text: str) -> list[Message]:
        """Top-level messages and replies whose text contains `text`."""
        found: list[Message] = []
        for message in self.messages:
            for candidate in (message, *message.replies):
                if text in candidate.text and candidate not in found:
                    found.append(candidate)
        return found


@dataclass
class Seen:
    """Something a user saw.

    kind: "ack" (HTTP ack body recorded by the driver), "response_url" (a post to a
    response_url; `response_type` says ephemeral or in_channel, `action` says post / replace /
    delete), "ephemeral" (chat.postEphemeral), "dm" (a message in the user's IM, `action` post
    or update), "view" (views.open / push / update / publish; `view` is the view as sent),
    "channel_message" (only with `seen_by(..., include_channels=True)`).
    """

    kind: str
    channel: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    at: float  # time.monotonic()
    ts: str | None = None
    view: dict[str, Any] | None = None
    view_id: str | None = None
    response_type: str | None = None
    action: str = "post"
    raw: Any = None


@dataclass
class View:
    """A modal or Home tab. `view` is the view as the client sent it (latest version);
    `payload` is the view object as Slack returns it and sends it in interaction payloads
    (id, hash, state, block_ids filled in, root/previous view ids...)."""

    id: str
    user_id: str
    type: str
    view: dict[str, Any]
    hash: str
    state: dict[str, Any]
    payload: dict[str, Any]
    external_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None
    opened_at: float = 0.0  # time.monotonic()
    updated_at: float = 0.0
    closed: bool = False
    errors: dict[str, str] | None = None  # last response_action=errors applied to it
    versions: int = 1


@dataclass
class CanvasView:
    id: str
    title: str | None
    markdown: str
    channel_id: str | None
    edits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FileView:
    id: str
    name: str
    title: str | None
    length: int
    content: bytes | None
    uploaded: bool
    channels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UserView:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
