"""The request layer in-process: signatures, strict body parsing, events once, unhandled → 200.

End-to-end counterparts (real server, HTTP statuses, the log) are in
tests/e2e/test_request_hardening.py; here are the pure rules, and what needs a listener of
the test's own (dispatch counts) or Socket Mode.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

import store
from bot.app import build_bolt_app, build_http_app, build_services
from bot.commands.surface import Surface
from bot.policy import default_policy
from bot.services import Services
from bot.settings import Settings
from bot.web import BadRequest, _Refusals, is_ssl_check, read_slack_body, signature_problem
from sandbox.slack import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_700_000_000.0
FORM = "application/x-www-form-urlencoded"


def _sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# -- signatures ----------------------------------------------------------------------------


def _problem(
    body: bytes = b"command=%2Fincident",
    *,
    timestamp: str | None = str(int(NOW)),
    signature: str | None = None,
    secret: str | None = SECRET,
    now: float = NOW,
) -> str | None:
    if signature is None and timestamp is not None:
        signature = _sign(SECRET, timestamp, body)
    return signature_problem(secret, body=body, timestamp=timestamp, signature=signature, now=now)


def test_a_slack_signature_is_accepted_within_five_minutes() -> None:
    assert _problem() is None
    assert _problem(now=NOW + 300) is None
    assert _problem(now=NOW - 300) is None
    assert _problem(b"\xff\xfe not utf-8") is None  # signed over bytes, whatever they are


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"timestamp": None, "signature": "v0=" + "0" * 64}, "no X-Slack-Request-Timestamp"),
        ({"timestamp": ""}, "no X-Slack-Request-Timestamp"),
        ({"timestamp": "+1700000000"}, "X-Slack-Request-Timestamp is not a number"),
        ({"timestamp": "1_700_000_000"}, "X-Slack-Request-Timestamp is not a number"),
        ({"timestamp": "١٧٠٠٠٠٠٠٠٠"}, "X-Slack-Request-Timestamp is not a number"),
        ({"timestamp": "1700000000.5"}, "X-Slack-Request-Timestamp is not a number"),
        ({"timestamp": "9" * 400}, "X-Slack-Request-Timestamp is not a number"),
        ({"now": NOW + 301}, "X-Slack-Request-Timestamp is more than 5 minutes away"),
        ({"now": NOW - 301}, "X-Slack-Request-Timestamp is more than 5 minutes away"),
        ({"signature": ""}, "no X-Slack-Signature"),
        ({"signature": "v0=" + "0" * 64}, "X-Slack-Signature does not match"),
        ({"signature": "v0=é" + "0" * 63}, "X-Slack-Signature does not match"),
        ({"signature": "v1=" + "0" * 64}, "X-Slack-Signature does not match"),
        ({"secret": None}, "no signing secret is configured"),
        ({"secret": "another secret"}, "X-Slack-Signature does not match"),
    ],
)
def test_what_is_not_from_slack_is_named(changes: dict[str, Any], reason: str) -> None:
    assert _problem(**changes) == reason


def test_refusals_are_logged_once_per_reason_per_minute() -> None:
    now = [0.0]
    refusals = _Refusals(60.0, clock=lambda: now[0])
    with structlog.testing.capture_logs() as logs:
        for _ in range(5):
            refusals.warn("X-Slack-Signature does not match", status=401)
        refusals.warn("no X-Slack-Signature", status=401)
        now[0] = 61.0
        refusals.warn("X-Slack-Signature does not match", status=401)
    assert [(line["reason"], line["suppressed"]) for line in logs] == [
        ("X-Slack-Signature does not match", 0),
        ("no X-Slack-Signature", 0),
        ("X-Slack-Signature does not match", 4),
    ]
    assert {line["log_level"] for line in logs} == {"warning"}


def test_only_a_bare_ssl_check_passes_unsigned() -> None:
    assert is_ssl_check(b"ssl_check=1&token=abc", FORM)
    assert not is_ssl_check(b"ssl_check=0&token=abc", FORM)
    assert not is_ssl_check(b"ssl_check=true", FORM)
    assert not is_ssl_check(b"ssl_check=1&command=%2Fincident", FORM)
    assert not is_ssl_check(b"ssl_check=1&payload=%7B%7D", FORM)
    assert not is_ssl_check(b'{"ssl_check": "1"}', "application/json")
    assert not is_ssl_check(b"ssl_check=1&x=" + b"y" * 300, FORM)


# -- reading a signed body -----------------------------------------------------------------


def _form(**fields: str) -> str:
    return urllib.parse.urlencode(fields)


@pytest.mark.parametrize(
    ("text", "content_type", "reason"),
    [
        ("", FORM, "The body is empty."),
        ("payload=%7Bnot", FORM, "The payload is not valid JSON."),
        ("payload=null", FORM, "The payload is not a JSON object."),
        (_form(payload="[1]"), FORM, "The payload is not a JSON object."),
        (_form(payload="[" * 50_000), FORM, "The payload is not valid JSON."),
        (_form(payload="{}"), FORM, 'The payload has no "type" string.'),
        (_form(payload='{"type": 3}'), FORM, 'The payload has no "type" string.'),
        (_form(payload='{"type": ""}'), FORM, 'The payload has no "type" string.'),
        (
            _form(payload='{"type": "block_actions", "user": {"id": "U1"}}'),
            FORM,
            'The block_actions payload has no "actions".',
        ),
        (
            _form(payload='{"type": "block_actions", "user": {"id": "U1"}, "actions": [1]}'),
            FORM,
            'The payload\'s "actions" has an item that is not an object.',
        ),
        (
            _form(payload='{"type": "view_submission", "user": {"id": "U1"}, "view": {}}'),
            FORM,
            'The view_submission payload has no "view" with a "callback_id" and a "type".',
        ),
        (
            _form(payload='{"type": "workflow_step_edit", "callback_id": "x"}'),
            FORM,
            'The workflow step payload has no "workflow_step" object.',
        ),
        (
            _form(payload='{"type": "shortcut", "event": null}'),
            FORM,
            'The payload\'s "event" is not an object.',
        ),
        (
            _form(payload='{"type": "shortcut", "user": 7}'),
            FORM,
            'The payload\'s "user" is not an object or a string.',
        ),
        (
            _form(hello="world"),
            FORM,
            "The form is neither a slash command nor an interactivity payload.",
        ),
        ("[1, 2]", "application/json", "The body is not a JSON object."),
        ("null", "application/json", "The body is not a JSON object."),
        ("{not", "application/json", "The body is not valid JSON."),
        ("{not", FORM, "The body is not valid JSON."),  # Bolt reads any "{…" as JSON
        ('{"event": {}}', "application/json", 'The payload has no "type" string.'),
        (
            '{"type": "event_callback", "event": "app_mention"}',
            "application/json",
            'The payload\'s "event" is not an object.',
        ),
        (
            '{"type": "event_callback", "event": {"type": 1}}',
            "application/json",
            'The event_callback has no "event" object with a "type".',
        ),
    ],
)
def test_a_body_that_is_not_slacks_is_a_bad_request(
    text: str, content_type: str, reason: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        read_slack_body(text, content_type)
    assert str(refused.value) == reason


def test_slack_bodies_read_as_bolt_should_see_them() -> None:
    # Bolt reads any form with the word "payload" in it as `{}`: this is a slash command.
    command = _form(command="/incident", text="declare payload API down", user_id="U1")
    assert read_slack_body(command, FORM)["text"] == "declare payload API down"
    action = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]}
    assert read_slack_body(_form(payload=json.dumps(action)), FORM) == action
    event = {"type": "event_callback", "event": {"type": "app_mention"}, "event_id": "Ev1"}
    assert read_slack_body(json.dumps(event), "application/json") == event
    challenge = {"type": "url_verification", "challenge": "c"}
    assert read_slack_body(json.dumps(challenge), "application/json") == challenge


# -- the Bolt app in-process ---------------------------------------------------------------


def _settings(tmp_path: Path, fake: FakeSlack, **extra: Any) -> Settings:
    return Settings(
        slack_bot_token=SecretStr(fake.bot_token),
        slack_signing_secret=SecretStr(fake.signing_secret),
        slack_api_url=fake.api_url,
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        _env_file=None,  # type: ignore[call-arg]
        **extra,
    )


class Bot:
    """The real Bolt app with one listener of the test's own: `app_mention` events."""

    def __init__(self, services: Services, app: AsyncApp, surface: Surface) -> None:
        self.services = services
        self.app = app
        self.surface = surface
        self.mentions: list[str] = []

        @surface.event("app_mention")
        async def mentioned(ack: Callable[[], Any], event: dict[str, Any]) -> None:
            await ack()
            self.mentions.append(str(event["text"]))

    async def wait_for_mentions(self, count: int) -> list[str]:
        for _ in range(200):
            if len(self.mentions) >= count:
                break
            await asyncio.sleep(0.01)
        return self.mentions


async def _bot(tmp_path: Path, fake: FakeSlack, **extra: Any) -> Bot:
    settings = _settings(tmp_path, fake, **extra)
    store.upgrade(settings.database_url)
    services = await build_services(settings, default_policy())
    app, surface = build_bolt_app(services)
    return Bot(services, app, surface)


@pytest.fixture
async def http_bot(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[tuple[Bot, TestClient]]:
    bot = await _bot(tmp_path, fake)
    async with TestClient(TestServer(build_http_app(bot.app, bot.services))) as client:
        yield bot, client
    await bot.services.engine.dispose()


@pytest.fixture
async def socket_bot(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[Bot]:
    bot = await _bot(tmp_path, fake, slack_app_token=SecretStr("xapp-1-test"))
    yield bot
    await bot.services.engine.dispose()


def _mention(event_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T_FAKE",
        "api_app_id": "A_WARROOM",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {"type": "app_mention", "user": "U_ALICE", "text": text, "channel": "C1"},
        "authorizations": [{"team_id": "T_FAKE", "user_id": "U_BOT", "is_bot": True}],
    }


async def _post(
    client: TestClient,
    secret: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    retry: int | None = None,
) -> tuple[int, str]:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": _sign(secret, timestamp, body),
    }
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    response = await client.post("/slack/events", data=body, headers=headers)
    return response.status, await response.text()


async def test_a_retried_event_is_not_dispatched_twice_over_http(
    http_bot: tuple[Bot, TestClient], fake: FakeSlack
) -> None:
    bot, client = http_bot
    first = json.dumps(_mention("Ev0001", "first")).encode()
    with structlog.testing.capture_logs() as logs:
        assert await _post(client, fake.signing_secret, first) == (200, "")
        assert await bot.wait_for_mentions(1) == ["first"]
        started = time.monotonic()
        assert await _post(client, fake.signing_secret, first, retry=1) == (200, "")
        assert time.monotonic() - started < 3
        assert await _post(client, fake.signing_secret, first, retry=2) == (200, "")
        later = json.dumps(_mention("Ev0002", "second")).encode()
        assert await _post(client, fake.signing_secret, later) == (200, "")
        # Had a retry been dispatched, it would have run before the later event.
        assert await bot.wait_for_mentions(2) == ["first", "second"]
    gate = ("event_dispatched", "event_duplicate", "event_ignored")
    events = [(line["event"], line.get("retry_num")) for line in logs if line["event"] in gate]
    assert events == [
        ("event_dispatched", None),
        ("event_duplicate", "1"),
        ("event_duplicate", "2"),
        ("event_dispatched", None),
    ]
    assert all(line["log_level"] != "error" for line in logs)


async def test_a_retried_event_is_not_dispatched_twice_in_socket_mode(socket_bot: Bot) -> None:
    bot = socket_bot

    async def deliver(event_id: str, text: str, retry: int | None = None) -> int:
        headers = {"x-slack-retry-num": str(retry)} if retry is not None else None
        request = AsyncBoltRequest(
            mode="socket_mode", body=_mention(event_id, text), headers=headers
        )
        return (await bot.app.async_dispatch(request)).status

    assert await deliver("Ev0001", "first") == 200
    assert await bot.wait_for_mentions(1) == ["first"]
    assert await deliver("Ev0001", "first", retry=1) == 200
    assert await deliver("Ev0002", "second") == 200
    assert await bot.wait_for_mentions(2) == ["first", "second"]


async def test_events_of_unhandled_types_are_acknowledged_without_the_database(
    socket_bot: Bot,
) -> None:
    async def no_database() -> None:
        raise AssertionError("an ignored event needs no database")

    bot = socket_bot
    bot.services.sessions = no_database  # type: ignore[assignment]
    body = {**_mention("Ev0009", "x"), "event": {"type": "reaction_added", "user": "U_ALICE"}}
    with structlog.testing.capture_logs() as logs:
        response = await bot.app.async_dispatch(AsyncBoltRequest(mode="socket_mode", body=body))
    assert (response.status, response.body) == (200, "")
    assert [line["event"] for line in logs] == ["event_ignored"]


async def test_without_the_database_an_event_is_dispatched_rather_than_lost(
    socket_bot: Bot,
) -> None:
    def broken() -> Any:
        raise OSError("database unreachable")

    bot = socket_bot
    bot.services.sessions = broken  # type: ignore[assignment]
    request = AsyncBoltRequest(mode="socket_mode", body=_mention("Ev0003", "still"))
    with structlog.testing.capture_logs() as logs:
        assert (await bot.app.async_dispatch(request)).status == 200
    assert await bot.wait_for_mentions(1) == ["still"]
    assert "event_dedupe_failed" in [line["event"] for line in logs]


async def test_unhandled_requests_are_200_in_socket_mode_too(socket_bot: Bot) -> None:
    body = {
        "type": "block_actions",
        "user": {"id": "U_ALICE"},
        "actions": [{"action_id": "retired_button", "value": "1"}],
    }
    with structlog.testing.capture_logs() as logs:
        response = await socket_bot.app.async_dispatch(
            AsyncBoltRequest(mode="socket_mode", body=body)
        )
    assert (response.status, response.body) == (200, "")
    assert [(line["event"], line["log_level"]) for line in logs] == [
        ("request_unhandled", "warning")
    ]


# -- anything signed: a 200 or a 400, never a 500 or an error in the log ---------------------

_INNER_KEYS = st.sampled_from(
    ["type", "id", "callback_id", "action_id", "block_id", "value", "workflow_step", "user",
     "channel", "text", "ts", "private_metadata", "state", "values", "selected_option"]
) | st.text(max_size=3)  # fmt: skip
_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.just("modal"),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(_INNER_KEYS, children, max_size=4),
    max_leaves=10,
)  # fmt: skip
_KEYS = st.sampled_from(
    ["type", "event", "actions", "view", "user", "team", "channel", "container", "message",
     "callback_id", "trigger_id", "response_url", "enterprise", "authorizations", "event_id",
     "api_app_id", "is_enterprise_install", "action_id", "command", "state",
     "workflow_step", "assistant_thread", "function_data", "bot_access_token"]
)  # fmt: skip
_TYPES = st.sampled_from(
    ["block_actions", "view_submission", "view_closed", "shortcut", "message_action",
     "block_suggestion", "interactive_message", "event_callback", "url_verification",
     "app_rate_limited", "dialog_submission", "workflow_step_edit", "function_executed"]
)  # fmt: skip
_PAYLOADS = st.tuples(_TYPES, st.dictionaries(_KEYS, _ANY_JSON, max_size=6)).map(
    lambda typed: {**typed[1], "type": typed[0]}
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=_PAYLOADS, as_form=st.booleans())
async def test_no_signed_body_makes_a_500_or_an_error_line(
    http_bot: tuple[Bot, TestClient], fake: FakeSlack, payload: dict[str, Any], as_form: bool
) -> None:
    client = http_bot[1]
    if as_form:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        content_type = FORM
    else:
        body, content_type = json.dumps(payload).encode(), "application/json"
    with structlog.testing.capture_logs() as logs:
        status, text = await _post(client, fake.signing_secret, body, content_type=content_type)
        await asyncio.sleep(0)  # listeners acked first run after the answer
    assert status in (200, 400), (status, text)
    errors = [line for line in logs if line["log_level"] in ("error", "critical")]
    assert errors == []
