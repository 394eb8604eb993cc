"""Slack's side of talking to an app: the requests Slack sends to the bot, exactly as Slack
sends them (form-encoded or JSON, signed, with Slack's headers): slash commands,
interactivity payloads and Events API callbacks. Each HTTP ack is recorded into the fake so
that what the bot answered (an ephemeral, a view's errors) is part of the workspace.

The end-to-end tests and the sandbox's web page both drive the bot through it. Blocking
(urllib): an asyncio caller runs it in a thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.slack.fake import FakeSlack

_CHOSEN = ("selected_option", "selected_options", "selected_user", "selected_date")


class BotAddress(Protocol):
    """Where the bot listens (`url`: its base URL, `/slack/events` below it)."""

    @property
    def url(self) -> str: ...


@dataclass
class Reply:
    """What the bot answered to one HTTP request."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    elapsed: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Sends requests exactly as Slack would: form-encoded, signed, with Slack's headers."""

    def __init__(self, server: BotAddress, fake: FakeSlack) -> None:
        self.server = server
        self.fake = fake

    # -- raw -----------------------------------------------------------------------------
    def post(
        self,
        body: bytes,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Reply:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        request = urllib.request.Request(
            f"{self.server.url}/slack/events",
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature or sign(self.fake.signing_secret, ts, body),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                **(headers or {}),
            },
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                data = response.read()
                return Reply(
                    int(response.status),
                    data,
                    dict(response.headers),
                    time.monotonic() - started,
                )
        except urllib.error.HTTPError as exc:
            return Reply(int(exc.code), exc.read(), dict(exc.headers), time.monotonic() - started)

    def _interactive(self, user_id: str, payload: dict[str, Any]) -> Reply:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        reply = self.post(body)
        self._record(user_id, reply)
        return reply

    def _record(self, user_id: str, reply: Reply) -> None:
        if reply.status == 200 and reply.body:
            try:
                self.fake.record_ack(user_id=user_id, body=reply.json)
            except ValueError:
                self.fake.record_ack(user_id=user_id, body=reply.text)

    def _user(self, user_id: str) -> dict[str, str]:
        return {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": self.fake.team_id,
        }

    def _team(self) -> dict[str, str]:
        return {"id": self.fake.team_id, "domain": "fake"}

    # -- slash commands ----------------------------------------------------------------------
    def slash(
        self,
        user_id: str,
        text: str = "",
        *,
        channel: str = "general",
        command: str = "/incident",
    ) -> Reply:
        channel_id = self.fake.channel_id(channel)
        form = {
            "token": "verification-token-unused",
            "team_id": self.fake.team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": self.fake.channel(channel_id).name,
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A_WARROOM",
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(user_id=user_id, channel_id=channel_id),
            "trigger_id": self.fake.issue_trigger_id(user_id),
        }
        reply = self.post(urllib.parse.urlencode(form).encode())
        self._record(user_id, reply)
        return reply

    # -- interactivity -----------------------------------------------------------------------
    def view_submission(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> Reply:
        submitted = {**view, "state": {"values": dict(values)}}
        return self._interactive(
            user_id,
            {
                "type": "view_submission",
                "team": self._team(),
                "user": self._user(user_id),
                "api_app_id": "A_WARROOM",
                "token": "verification-token-unused",
                "trigger_id": self.fake.issue_trigger_id(user_id),
                "view": submitted,
                "response_urls": [],
                "is_enterprise_install": False,
            },
        )

    def view_closed(self, user_id: str, view: Mapping[str, Any]) -> Reply:
        return self._interactive(
            user_id,
            {
                "type": "view_closed",
                "team": self._team(),
                "user": self._user(user_id),
                "api_app_id": "A_WARROOM",
                "view": dict(view),
                "is_cleared": False,
                "is_enterprise_install": False,
            },
        )

    def block_action(
        self,
        user_id: str,
        action: Mapping[str, Any],
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> Reply:
        """A click on `action` (a block element dict from what the bot sent)."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": "A_WARROOM",
            "token": "verification-token-unused",
            "trigger_id": self.fake.issue_trigger_id(user_id),
            "actions": [
                {
                    "action_id": action["action_id"],
                    "block_id": action.get("block_id", "block"),
                    "type": action.get("type", "button"),
                    "value": action.get("value"),
                    "action_ts": f"{time.time():.6f}",
                    **({"text": action["text"]} if "text" in action else {}),
                    # An overflow menu, a select or a picker: what the person chose.
                    **{key: action[key] for key in _CHOSEN if key in action},
                }
            ],
            "is_enterprise_install": False,
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = dict(view)
        if channel is not None:
            channel_id = self.fake.channel_id(channel)
            payload["channel"] = {"id": channel_id, "name": self.fake.channel(channel_id).name}
            # A click on a message: its response_url can replace that message, as in Slack.
            payload["response_url"] = self.fake.new_response_url(
                user_id=user_id, channel_id=channel_id, message_ts=message_ts
            )
            if message_ts is not None:
                message = self.fake.message(channel_id, message_ts)
                payload["container"] = {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel_id,
                    "is_ephemeral": False,
                }
                payload["message"] = {
                    "type": "message",
                    "ts": message_ts,
                    "text": message.text,
                    "blocks": message.blocks,
                }
        return self._interactive(user_id, payload)

    def message_shortcut(
        self, user_id: str, callback_id: str, *, channel: str, message_ts: str
    ) -> Reply:
        channel_id = self.fake.channel_id(channel)
        message = self.fake.message(channel_id, message_ts)
        return self._interactive(
            user_id,
            {
                "type": "message_action",
                "callback_id": callback_id,
                "team": self._team(),
                "user": self._user(user_id),
                "channel": {"id": channel_id, "name": self.fake.channel(channel_id).name},
                "message": {
                    "type": "message",
                    "user": message.user,
                    "ts": message_ts,
                    "text": message.text,
                },
                "message_ts": message_ts,
                "response_url": self.fake.new_response_url(user_id=user_id, channel_id=channel_id),
                "trigger_id": self.fake.issue_trigger_id(user_id),
                "action_ts": f"{time.time():.6f}",
                "token": "verification-token-unused",
                "is_enterprise_install": False,
            },
        )

    # -- Events API --------------------------------------------------------------------------
    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Reply:
        now = int(time.time())
        envelope = {
            "token": "verification-token-unused",
            "team_id": self.fake.team_id,
            "api_app_id": "A_WARROOM",
            "event": {"event_ts": f"{time.time():.6f}", **dict(event)},
            "type": "event_callback",
            "event_id": event_id or f"Ev{now}{os.urandom(3).hex()}",
            "event_time": now,
            "authorizations": [
                {"team_id": self.fake.team_id, "user_id": self.fake.bot_user_id, "is_bot": True}
            ],
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.post(
            json.dumps(envelope).encode(), content_type="application/json", headers=headers
        )
