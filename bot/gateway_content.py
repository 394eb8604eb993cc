"""The gateway's reads of people's messages and its writes of documents (files, canvases).

A mixin of `SlackGateway` (kept apart to keep each module readable); every call still goes
through `SlackGateway.call`, so errors map to `SlackFailure` the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from bot.flows.ports import SlackFailure

# A thread reply is answered together with its thread's parent by conversations.replies.
REPLIES_WINDOW = 2
UPLOAD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class SlackMessage:
    """A message as read back from Slack."""

    ts: str
    user: str | None  # None for a bot or integration without a user
    text: str
    thread_ts: str | None


class _Caller(Protocol):
    team_url: str | None

    async def call(self, method: str, **args: Any) -> dict[str, Any]: ...


class ContentGateway:
    """Messages people wrote (for the timeline) and documents warroom writes (post-mortems)."""

    team_url: str | None = None  # `https://acme.slack.com/`, from auth.test

    async def fetch_message(self: _Caller, *, channel: str, ts: str) -> SlackMessage | None:
        """One message by its ts, top-level or in a thread, in one call; None when it is gone.

        conversations.replies answers for a top-level message (itself) and for a reply (the
        window around it, with the thread's parent), unlike conversations.history, which
        never returns replies."""
        try:
            data = await self.call(
                "conversations.replies",
                channel=channel,
                ts=ts,
                oldest=ts,
                latest=ts,
                inclusive=True,
                limit=REPLIES_WINDOW,
            )
        except SlackFailure as failure:
            if failure.error in ("thread_not_found", "message_not_found"):
                return None
            raise
        for message in data.get("messages") or ():
            if isinstance(message, dict) and message.get("ts") == ts:
                return _message(message)
        return None

    async def message_link(
        self: _Caller, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        """A permalink. Built from the workspace URL auth.test gave at start-up (Slack's
        permalink shape), so capturing a message costs no extra call; asked of Slack only when
        that URL is unknown."""
        if self.team_url:
            link = f"{self.team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
            if thread_ts and thread_ts != ts:
                link += f"?thread_ts={thread_ts}&cid={channel}"
            return link
        try:
            data = await self.call("chat.getPermalink", channel=channel, message_ts=ts)
        except SlackFailure:
            return None  # a link is a nicety; the entry stands without it
        found = data.get("permalink")
        return str(found) if found else None

    # -- files (upload v2: get a URL, send the bytes, complete with the channel) ---------------
    async def start_upload(self: _Caller, *, filename: str, length: int) -> tuple[str, str]:
        """(file id, upload URL) for a file of `length` bytes."""
        data = await self.call("files.getUploadURLExternal", filename=filename, length=length)
        return str(data["file_id"]), str(data["upload_url"])

    async def send_upload(self, *, upload_url: str, content: bytes) -> None:
        """The bytes, to the URL Slack gave (no token: the URL is the credential)."""
        timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(upload_url, data=content) as response,
            ):
                if response.status != 200:
                    raise SlackFailure(
                        "file_upload", f"http_{response.status}", status=response.status
                    )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SlackFailure("file_upload", "unreachable") from exc

    async def complete_upload(
        self: _Caller, *, file_id: str, title: str, channel: str, comment: str
    ) -> None:
        """Share the uploaded file in `channel` with a one-line comment."""
        await self.call(
            "files.completeUploadExternal",
            files=[{"id": file_id, "title": title}],
            channel_id=channel,
            initial_comment=comment,
        )

    async def file_shared_in(self: _Caller, *, file_id: str, channel: str) -> bool:
        """Whether the file is already shared in `channel` (an earlier attempt's completion
        may have reached Slack without its answer reaching us)."""
        try:
            data = await self.call("files.info", file=file_id)
        except SlackFailure as failure:
            if failure.error == "file_not_found":
                return False
            raise
        return channel in _shared_channels(data.get("file") or {})

    # -- canvases ------------------------------------------------------------------------------
    async def channel_canvas(self: _Caller, *, channel: str) -> str | None:
        """The channel's canvas id, if it has one."""
        data = await self.call("conversations.info", channel=channel)
        canvas = ((data.get("channel") or {}).get("properties") or {}).get("canvas") or {}
        file_id = canvas.get("file_id")
        return str(file_id) if file_id else None

    async def create_channel_canvas(
        self: _Caller, *, channel: str, title: str, markdown: str
    ) -> str:
        data = await self.call(
            "conversations.canvases.create",
            channel_id=channel,
            title=title,
            document_content={"type": "markdown", "markdown": markdown},
        )
        return str(data["canvas_id"])

    async def replace_canvas(self: _Caller, *, canvas_id: str, markdown: str) -> None:
        await self.call(
            "canvases.edit",
            canvas_id=canvas_id,
            changes=[
                {
                    "operation": "replace",
                    "document_content": {"type": "markdown", "markdown": markdown},
                }
            ],
        )


def _message(raw: Mapping[str, Any]) -> SlackMessage:
    user = raw.get("user")
    return SlackMessage(
        ts=str(raw["ts"]),
        user=str(user) if user else None,
        text=str(raw.get("text") or ""),
        thread_ts=str(raw["thread_ts"]) if raw.get("thread_ts") else None,
    )


def _shared_channels(file: Mapping[str, Any]) -> set[str]:
    found = {str(c) for key in ("channels", "groups", "ims") for c in file.get(key) or ()}
    shares = file.get("shares") or {}
    for scope in ("public", "private"):
        found |= {str(c) for c in (shares.get(scope) or {})}
    return found
