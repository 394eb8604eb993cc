"""The only code that calls the Slack Web API; it implements `bot.flows.ports.SlackPort`.

Its client (`bot/slack_client.py`) retries quickly what is safe to retry; every other failure
comes back to the job as a `SlackFailure`, and the job's retry first recognises what the
earlier attempt did (message metadata, stored ids). Anything longer than a quick retry is
rescheduled from the database by the job runner, so a slow Slack never blocks a worker for
minutes and nothing is lost on a crash.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.flows.ports import ChannelRef, PostedMessage, SlackFailure
from bot.gateway_content import ContentGateway
from bot.logs import get_logger
from bot.slack_client import retry_after

INVITE_BATCH = 100  # conversations.invite takes at most 100 users
# A handle missing from the cache is looked up again at most this often (groups change rarely).
GROUP_CACHE_SECONDS = 60.0

log = get_logger(__name__)


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str | None
    team_id: str


class SlackGateway(ContentGateway):
    """Typed, error-mapped access to the Web API for the rest of the bot."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.bot_user_id = ""
        self.team_id = ""
        self._group_ids: dict[str, str] = {}
        self._groups_loaded_at = -GROUP_CACHE_SECONDS
        self._channel_ids: dict[str, str] = {}
        self._im_ids: dict[str, str] = {}  # user → DM conversation (a cache; ids never change)
        self._group_members: dict[str, tuple[float, list[str]]] = {}

    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        """Call `method`; raise `SlackFailure` with Slack's error code on failure."""
        data = (await self._request(method, **args)).data
        return data if isinstance(data, dict) else {}

    async def granted_scopes(self) -> frozenset[str] | None:
        """The token's scopes, as Slack states them on every answer (`x-oauth-scopes`)."""
        response = await self._request("auth.test")
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        granted = headers.get("x-oauth-scopes")
        if isinstance(granted, list):
            granted = ",".join(granted)
        if granted is None:
            return None
        return frozenset(s.strip() for s in str(granted).split(",") if s.strip())

    async def _request(self, method: str, **args: Any) -> AsyncSlackResponse:
        # slack_sdk's typed method knows each method's encoding (JSON, form or GET query).
        bound = getattr(self.client, method.replace(".", "_"))
        try:
            response: AsyncSlackResponse = await bound(**args)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            status = int(exc.response.status_code)
            error = str(data.get("error") or f"http_{status}")
            wait = retry_after(dict(exc.response.headers or {}))
            log.warning("slack_call_failed", method=method, error=error, status=status)
            needed = str(data["needed"]) if data.get("needed") else None
            raise SlackFailure(
                method, error, status=status, retry_after=wait, needed=needed
            ) from exc
        except (TimeoutError, ServerConnectionError, ServerDisconnectedError, ClientOSError) as exc:
            log.warning("slack_call_unreachable", method=method, error=type(exc).__name__)
            raise SlackFailure(method, "unreachable") from exc
        return response

    async def identify(self) -> BotIdentity:
        """`auth.test`: proves the token works against the configured API URL."""
        data = await self.call("auth.test")
        self.bot_user_id = str(data["user_id"])
        self.team_url = str(data["url"]) if data.get("url") else None
        self.team_id = str(data["team_id"])
        return BotIdentity(
            user_id=self.bot_user_id,
            bot_id=str(data["bot_id"]) if data.get("bot_id") else None,
            team_id=str(data["team_id"]),
        )

    async def warm_up(self) -> None:
        """Fill the group and channel caches at start-up, so a declaration never waits on
        usergroups.list or conversations.list (they are not on its critical path)."""
        try:
            await self._load_groups()
        except SlackFailure as failure:
            log.warning("group_cache_not_warmed", error=failure.error)
        try:
            async for found in self._channels():
                self._channel_ids[str(found["name"])] = str(found["id"])
        except SlackFailure as failure:
            log.warning("channel_cache_not_warmed", error=failure.error)

    async def open_view(self, *, trigger_id: str, view: Mapping[str, Any]) -> str:
        data = await self.call("views.open", trigger_id=trigger_id, view=dict(view))
        return str((data.get("view") or {}).get("id", ""))

    async def publish_home(self, *, user: str, view: Mapping[str, Any]) -> None:
        """`views.publish`: `user`'s App Home becomes `view` (replaced whole, so safe to repeat)."""
        await self.call("views.publish", user_id=user, view=dict(view))

    # -- channels ------------------------------------------------------------------------------
    async def create_channel(self, *, name: str, private: bool) -> ChannelRef:
        data = await self.call("conversations.create", name=name, is_private=private)
        return _channel_ref(data["channel"])

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        async for channel in self._channels():
            if channel.get("name") == name:
                return _channel_ref(channel)
        return None

    async def resolve_channel(self, *, channel: str) -> str:
        """`#name`, `name` or an id → the channel id (names are looked up once, then cached)."""
        if not channel.startswith("#") and channel[:1] in ("C", "G") and channel.isupper():
            return channel
        name = channel.lstrip("#")
        if name not in self._channel_ids:
            async for found in self._channels():
                self._channel_ids[str(found["name"])] = str(found["id"])
        if name not in self._channel_ids:
            raise SlackFailure("conversations.list", "channel_not_found")
        return self._channel_ids[name]

    def _channels(self) -> AsyncIterator[dict[str, Any]]:
        return self._paged(
            "conversations.list",
            "channels",
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=200,
        )

    async def _paged(self, method: str, key: str, **args: Any) -> AsyncIterator[Any]:
        """Every item under `key` across the pages of a cursor-paginated method."""
        cursor = ""
        while True:
            data = await self.call(method, cursor=cursor or None, **args)
            for item in data.get(key, []):
                yield item
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return

    async def members(self, *, channel: str) -> list[str]:
        """Every member of `channel` (for the background membership refresh)."""
        return [
            str(member)
            async for member in self._paged(
                "conversations.members", "members", channel=channel, limit=1000
            )
        ]

    async def user_timezone(self, *, user: str) -> str | None:
        """The person's Slack time zone (IANA name), None when Slack has none."""
        data = await self.call("users.info", user=user)
        tz = (data.get("user") or {}).get("tz")
        return str(tz) if tz else None

    async def user_exists(self, *, user: str) -> bool:
        """Whether Slack knows `user` (a bare id typed in a command is checked, after the ack)."""
        try:
            data = await self.call("users.info", user=user)
        except SlackFailure as failure:
            if failure.error in ("user_not_found", "user_not_visible"):
                return False
            raise
        found = data.get("user") or {}
        return bool(found) and not found.get("deleted", False)

    async def archive(self, *, channel: str) -> None:
        try:
            await self.call("conversations.archive", channel=channel)
        except SlackFailure as failure:
            if failure.error != "already_archived":
                raise

    async def unarchive(self, *, channel: str) -> None:
        try:
            await self.call("conversations.unarchive", channel=channel)
        except SlackFailure as failure:
            if failure.error != "not_archived":
                raise

    async def set_topic(self, *, channel: str, topic: str) -> None:
        await self.call("conversations.setTopic", channel=channel, topic=topic)

    async def set_purpose(self, *, channel: str, purpose: str) -> None:
        await self.call("conversations.setPurpose", channel=channel, purpose=purpose)

    async def invite(self, *, channel: str, users: Sequence[str]) -> None:
        wanted = [u for u in dict.fromkeys(users) if u and u != self.bot_user_id]
        for start in range(0, len(wanted), INVITE_BATCH):
            batch = wanted[start : start + INVITE_BATCH]
            try:
                # force: invite the valid users even if one of them cannot be invited.
                await self.call(
                    "conversations.invite", channel=channel, users=",".join(batch), force=True
                )
            except SlackFailure as failure:
                if failure.error != "already_in_channel":
                    raise
                if len(batch) > 1:
                    # Someone in the batch is already a member: invite the rest one by one.
                    for user in batch:
                        await self._invite_one(channel, user)

    async def _invite_one(self, channel: str, user: str) -> None:
        try:
            await self.call("conversations.invite", channel=channel, users=user)
        except SlackFailure as failure:
            if failure.error != "already_in_channel":
                raise

    async def group_members(self, *, group: str) -> list[str]:
        """A group's members; kept for `GROUP_CACHE_SECONDS`, so a burst of declarations does
        not spend the rate-limited call once per incident (a cache, never authoritative)."""
        group_id = await self.group_id(group)
        cached = self._group_members.get(group_id)
        if cached is not None and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return list(cached[1])
        data = await self.call("usergroups.users.list", usergroup=group_id)
        members = [str(u) for u in data.get("users", [])]
        self._group_members[group_id] = (time.monotonic(), members)
        return list(members)

    async def group_id(self, group: str) -> str:
        """`@handle` (or an id) → the group's id, for `<!subteam^…>` mentions."""
        if not group.startswith("@"):
            return group
        handle = group[1:]
        stale = time.monotonic() - self._groups_loaded_at > GROUP_CACHE_SECONDS
        if handle not in self._group_ids and stale:
            await self._load_groups()
        if handle not in self._group_ids:
            raise SlackFailure("usergroups.list", "no_such_subteam")
        return self._group_ids[handle]

    async def _load_groups(self) -> None:
        data = await self.call("usergroups.list")
        self._group_ids = {str(g["handle"]): str(g["id"]) for g in data.get("usergroups", [])}
        self._groups_loaded_at = time.monotonic()

    # -- messages -------------------------------------------------------------------------------
    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> PostedMessage:
        if channel.startswith("#") and channel[1:] in self._channel_ids:
            channel = self._channel_ids[channel[1:]]  # names work too, ids never change
        args: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks is not None:
            args["blocks"] = list(blocks)
        if metadata is not None:
            args["metadata"] = dict(metadata)
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
            args["reply_broadcast"] = reply_broadcast
        data = await self.call("chat.postMessage", **args)
        return PostedMessage(channel=str(data["channel"]), ts=str(data["ts"]))

    async def update_message(
        self,
        *,
        channel: str,
        ts: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        args: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            args["blocks"] = list(blocks)
        await self.call("chat.update", **args)

    async def find_posted(
        self,
        *,
        channel: str,
        event_type: str,
        match: Mapping[str, Any],
        thread_ts: str | None = None,
    ) -> PostedMessage | None:
        """The bot's earlier post carrying this metadata, if Slack has it (crash recovery).

        Looks in the channel's recent history, or in the thread of `thread_ts`."""
        if thread_ts is not None:
            data = await self.call(
                "conversations.replies",
                channel=channel,
                ts=thread_ts,
                include_all_metadata=True,
                limit=200,
            )
        else:
            data = await self.call(
                "conversations.history", channel=channel, include_all_metadata=True, limit=200
            )
        for message in data.get("messages", []):
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == event_type and all(
                payload.get(k) == v for k, v in match.items()
            ):
                return PostedMessage(channel=channel, ts=str(message["ts"]))
        return None

    async def pin(self, *, channel: str, ts: str) -> None:
        try:
            await self.call("pins.add", channel=channel, timestamp=ts)
        except SlackFailure as failure:
            if failure.error != "already_pinned":
                raise

    async def add_bookmark(self, *, channel: str, title: str, link: str) -> None:
        await self.call("bookmarks.add", channel_id=channel, title=title, type="link", link=link)

    async def has_bookmark(self, *, channel: str, link: str) -> bool:
        data = await self.call("bookmarks.list", channel_id=channel)
        return any(b.get("link") == link for b in data.get("bookmarks", []))

    async def dm(
        self,
        *,
        user: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> PostedMessage:
        posted = await self.post(channel=user, text=text, blocks=blocks, metadata=metadata)
        self._im_ids[user] = posted.channel
        return posted

    async def find_dm(
        self, *, user: str, event_type: str, match: Mapping[str, Any]
    ) -> PostedMessage | None:
        """The bot's earlier DM to `user` carrying this metadata (a retry's recognition)."""
        if user not in self._im_ids:
            data = await self.call("conversations.open", users=user, return_im=False)
            self._im_ids[user] = str((data.get("channel") or {})["id"])
        return await self.find_posted(
            channel=self._im_ids[user], event_type=event_type, match=match
        )


def _channel_ref(channel: Mapping[str, Any]) -> ChannelRef:
    return ChannelRef(
        id=str(channel["id"]),
        name=str(channel["name"]),
        creator=str(channel["creator"]) if channel.get("creator") else None,
        is_private=bool(channel.get("is_private")),
        created=float(channel["created"]) if channel.get("created") else None,
    )
