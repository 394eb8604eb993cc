"""End-to-end driver: runs the real `warroom serve` and talks to it the way Slack does.

`WarroomServer` owns the bot process (its own database, `SLACK_API_URL` at the fake Slack);
`SlackDriver` sends Slack-signed requests: slash commands, interactivity payloads and Events
API callbacks, and records every HTTP ack into the fake so `fake.seen_by(user)` includes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakeslack import FakeSlack

REPO_ROOT = Path(__file__).resolve().parents[2]
_STRIPPED_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "DATABASE_URL",
    "WARROOM_POLICY",
    "WARROOM_ALERTS_TOKEN",
    "PAGERDUTY_ROUTING_KEY",
    "PAGERDUTY_EVENTS_URL",
    "STATUSPAGE_API_KEY",
    "STATUSPAGE_PAGE_ID",
    "STATUSPAGE_API_URL",
    "PORT",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@dataclass
class WarroomServer:
    """The bot as a separate process, as an operator would run it."""

    fake: FakeSlack
    workdir: Path
    policy: Path | None = None
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "warroom.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
        env.update(
            SLACK_BOT_TOKEN=self.fake.bot_token,
            SLACK_SIGNING_SECRET=self.fake.signing_secret,
            SLACK_API_URL=self.fake.api_url,
            DATABASE_URL=self.database_url or f"sqlite:///{self.workdir / 'warroom.db'}",
            PORT=str(self.port),
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            PYTHONPATH=str(REPO_ROOT),
        )
        if self.policy is not None:
            env["WARROOM_POLICY"] = str(self.policy)
        env.update(self.extra_env)
        return env

    def start(self, *, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=self.workdir,  # so no developer `.env` leaks into the test
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"warroom exited with {self.process.returncode}:\n{self.logs()[-4000:]}"
                )
            if self.healthz() == 200:
                return
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"warroom did not answer /healthz:\n{self.logs()[-4000:]}")

    def healthz(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return None

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as in a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, *, timeout: float = 15.0) -> int:
        """SIGTERM and wait: the graceful path an orchestrator takes."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode or 0)

    def restart(self) -> None:
        self.kill()
        self.start()

    def logs(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Sends requests exactly as Slack would: form-encoded, signed, with Slack's headers."""

    def __init__(self, server: WarroomServer, fake: FakeSlack) -> None:
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
                    # An overflow menu or a select: the option the person chose.
                    **(
                        {"selected_option": action["selected_option"]}
                        if "selected_option" in action
                        else {}
                    ),
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


# -- filling modals the way a person would -------------------------------------------------


def fill_modal(view: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Build `view.state.values` for `view` from answers keyed by input label.

    Inputs without an answer keep their initial value, as Slack does. A select takes an
    option's value or its visible text; a checkbox group takes a list of either.
    """
    values: dict[str, Any] = {}
    labels = set()
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        label = block["label"]["text"]
        labels.add(label)
        element = block["element"]
        answer = answers.get(label, _UNSET)
        values[block["block_id"]] = {element["action_id"]: _element_state(element, answer)}
    unknown = set(answers) - labels
    if unknown:
        raise KeyError(f"no input labelled {sorted(unknown)}; the modal has {sorted(labels)}")
    return values


_UNSET: Any = object()


def _option(element: Mapping[str, Any], wanted: str) -> dict[str, Any]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    for option in options:
        if wanted in (option.get("value"), option.get("text", {}).get("text")):
            return dict(option)
    raise KeyError(f"no option {wanted!r} in {element.get('action_id')}")


def _element_state(element: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    kind = element["type"]
    given = answer is not _UNSET
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return {"type": kind, "value": answer if given else element.get("initial_value")}
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = _option(element, answer) if given else element.get("initial_option")
        return {"type": kind, "selected_option": option}
    if kind in ("checkboxes", "multi_static_select"):
        chosen = (
            [_option(element, a) for a in answer] if given else element.get("initial_options", [])
        )
        return {"type": kind, "selected_options": chosen}
    if kind == "users_select":
        return {"type": kind, "selected_user": answer if given else element.get("initial_user")}
    if kind == "multi_users_select":
        users = list(answer) if given else element.get("initial_users", [])
        return {"type": kind, "selected_users": users}
    if kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        initial = element.get("initial_conversation") or element.get("initial_channel")
        return {"type": kind, key: answer if given else initial}
    if kind == "datetimepicker":
        return {
            "type": kind,
            "selected_date_time": answer if given else element.get("initial_date_time"),
        }
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer if given else element.get("initial_date")}
    if kind == "timepicker":
        return {"type": kind, "selected_time": answer if given else element.get("initial_time")}
    raise ValueError(f"fill_modal does not know how to fill a {kind}")


def wait_for(predicate: Any, *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
