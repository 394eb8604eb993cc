"""What the flows need from Slack, as a Protocol; `bot/gateway.py` implements it.

Flows never import `slack_*`: they talk to this port and handle `SlackFailure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Not Slack's: a message to thread under is not posted yet (another job posts it); wait.
NOT_READY = "not_ready"
TRANSIENT_ERRORS = frozenset(
    {
        "fatal_error",
        "internal_error",
        "service_unavailable",
        "request_timeout",
        "unreachable",
        "ratelimited",
        NOT_READY,
    }
)


class SlackFailure(Exception):
    """A Web API call that failed after the gateway's quick retries.

    `error` is Slack's code (`name_taken`, `ratelimited`, `http_500`, `fatal_error` …);
    `retry_after` is Slack's Retry-After in seconds when it rate-limited us.
    """

    def __init__(
        self,
        method: str,
        error: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        needed: str | None = None,
    ) -> None:
        super().__init__(f"{method} failed: {error}")
        self.method = method
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.needed = needed  # missing_scope: the scope Slack said the call needs

    @property
    def transient(self) -> bool:
        """Worth retrying later: rate limits, Slack's own trouble, an unreachable Slack."""
        return (
            self.rate_limited
            or (self.status is not None and self.status >= 500)
            or self.error in TRANSIENT_ERRORS
        )

    @property
    def rate_limited(self) -> bool:
        return self.error == "ratelimited" or self.status == 429

    def plain_words(self) -> str:
        """Why, for a person: used in "announcement delayed: Slack is rate-limiting"."""
        if self.rate_limited:
            return "Slack is rate-limiting"
        if self.error == NOT_READY:
            return "the message to reply under is not posted yet"
        if (self.status is not None and self.status >= 500) or self.error in (
            "fatal_error",
            "internal_error",
            "service_unavailable",
            "request_timeout",
            "unreachable",
        ):
            return "Slack is having trouble"
        if self.error == "missing_scope":
            return missing_scope_words(self.needed)
        return f"Slack refused it ({self.error})"


class ServiceFailure(Exception):
    """A call to another service (PagerDuty, Statuspage) that failed: `words` for people,
    `transient` when worth retrying (429, 5xx, unreachable), `retry_after` its Retry-After."""

    def __init__(
        self, error: str, words: str, *, transient: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{error}: {words}")
        self.error = error
        self.words = words
        self.transient = transient
        self.retry_after = retry_after


def missing_scope_words(needed: str | None) -> str:
    """What a person must do about a scope the app lacks."""
    scope = f"the `{needed}` permission" if needed else "a permission it needs"
    return (
        f"Slack refused it (missing_scope): the Slack app lacks {scope}; an admin must "
        "reinstall the app with warroom's manifest.yml"
    )


@dataclass(frozen=True)
class ChannelRef:
    id: str
    name: str
    creator: str | None = None
    is_private: bool = False
    created: float | None = None  # epoch seconds


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


class SlackPort(Protocol):
    bot_user_id: str

    async def create_channel(self, *, name: str, private: bool) -> ChannelRef: ...

    async def find_channel(self, *, name: str) -> ChannelRef | None: ...

    async def set_topic(self, *, channel: str, topic: str) -> None: ...

    async def set_purpose(self, *, channel: str, purpose: str) -> None: ...

    async def invite(self, *, channel: str, users: Sequence[str]) -> None: ...

    async def group_members(self, *, group: str) -> list[str]: ...

    async def resolve_channel(self, *, channel: str) -> str: ...

    async def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> PostedMessage: ...

    async def update_message(
        self,
        *,
        channel: str,
        ts: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
    ) -> None: ...

    async def find_posted(
        self,
        *,
        channel: str,
        event_type: str,
        match: Mapping[str, Any],
        thread_ts: str | None = None,
    ) -> PostedMessage | None: ...

    async def pin(self, *, channel: str, ts: str) -> None: ...

    async def add_bookmark(self, *, channel: str, title: str, link: str) -> None: ...

    async def has_bookmark(self, *, channel: str, link: str) -> bool: ...

    async def dm(
        self,
        *,
        user: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> PostedMessage: ...

    async def find_dm(
        self, *, user: str, event_type: str, match: Mapping[str, Any]
    ) -> PostedMessage | None:
        """The bot's earlier DM to `user` carrying this metadata, if Slack has it."""
        ...

    async def members(self, *, channel: str) -> list[str]: ...

    async def archive(self, *, channel: str) -> None: ...

    async def unarchive(self, *, channel: str) -> None: ...
