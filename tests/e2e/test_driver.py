"""The driver sends what Slack sends: signed, with Slack's encodings and retry headers.

Checked against a recording HTTP endpoint and slack_sdk's own signature verifier, so the
end-to-end tests can trust that the bot saw real Slack-shaped requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, free_port


@dataclass
class Recorder:
    """A stand-in for the bot's /slack/events: records each request, answers 200."""

    port: int = field(default_factory=free_port)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        runner: web.AppRunner | None = None

        async def record(request: web.Request) -> web.Response:
            self.requests.append((dict(request.headers), await request.read()))
            return web.json_response({"ok": True})

        async def start() -> None:
            nonlocal runner
            app = web.Application()
            app.router.add_post("/slack/events", record)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            ready.set()

        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(start(), loop)
        ready.wait(5)
        yield
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    with rec.serve():
        yield rec


@pytest.fixture
def driver(recorder: Recorder, tmp_path: Any) -> Iterator[tuple[SlackDriver, FakeSlack]]:
    fake = FakeSlack()
    fake.start()
    server = WarroomServer(fake=fake, workdir=tmp_path, port=recorder.port)
    yield SlackDriver(server, fake), fake
    fake.stop()


def _verified(fake: FakeSlack, headers: dict[str, str], body: bytes) -> None:
    verifier = SignatureVerifier(fake.signing_secret)
    assert verifier.is_valid_request(body, headers), "not a validly signed Slack request"


def test_slash_command_is_form_encoded_and_signed(
    driver: tuple[SlackDriver, FakeSlack], recorder: Recorder
) -> None:
    slack, fake = driver
    slack.slash("U_ALICE", "declare API down", channel="incident-response")
    headers, body = recorder.requests[-1]
    _verified(fake, headers, body)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(urllib.parse.parse_qsl(body.decode()))
    assert form["command"] == "/incident"
    assert form["text"] == "declare API down"
    assert form["channel_id"] == fake.channel_id("incident-response")
    assert form["response_url"].startswith(fake.base_url)
    assert form["trigger_id"]


def test_interactivity_is_a_signed_payload_field(
    driver: tuple[SlackDriver, FakeSlack], recorder: Recorder
) -> None:
    slack, fake = driver
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "declare_incident",
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "title"},
            }
        ],
    }
    slack.view_submission("U_ALICE", view, fill_modal(view, {"Title": "x"}))
    slack.view_closed("U_ALICE", view)
    ts = fake.post_as_user("incident-response", "U_BOB", "hello")
    slack.message_shortcut("U_BOB", "declare_incident_from_message", channel="incident-response",
                           message_ts=ts)  # fmt: skip
    slack.block_action(
        "U_BOB", {"action_id": "incident_ack", "value": "1"}, channel="incident-response",
        message_ts=ts,
    )  # fmt: skip
    kinds = []
    for headers, body in recorder.requests:
        _verified(fake, headers, body)
        payload = json.loads(dict(urllib.parse.parse_qsl(body.decode()))["payload"])
        kinds.append(payload["type"])
    assert kinds == ["view_submission", "view_closed", "message_action", "block_actions"]
    submitted = json.loads(
        dict(urllib.parse.parse_qsl(recorder.requests[0][1].decode()))["payload"]
    )
    assert submitted["view"]["state"]["values"] == {
        "title": {"title": {"type": "plain_text_input", "value": "x"}}
    }


def test_events_are_json_with_retry_headers_when_retried(
    driver: tuple[SlackDriver, FakeSlack], recorder: Recorder
) -> None:
    slack, fake = driver
    event = {"type": "reaction_added", "user": "U_BOB", "reaction": "pushpin"}
    slack.event(event, event_id="Ev1")
    slack.event(event, event_id="Ev1", retry_num=1, retry_reason="http_timeout")
    (first_headers, first_body), (retry_headers, retry_body) = recorder.requests
    for headers, body in recorder.requests:
        _verified(fake, headers, body)
        assert headers["Content-Type"] == "application/json"
    assert "X-Slack-Retry-Num" not in first_headers
    assert retry_headers["X-Slack-Retry-Num"] == "1"
    assert retry_headers["X-Slack-Retry-Reason"] == "http_timeout"
    first = cast(dict[str, Any], json.loads(first_body))
    assert first["type"] == "event_callback"
    assert first["event"]["type"] == "reaction_added"
    assert json.loads(retry_body)["event_id"] == first["event_id"] == "Ev1"


def test_fill_modal_uses_labels_and_keeps_initial_values() -> None:
    view = {
        "blocks": [
            {
                "type": "input",
                "block_id": "sev",
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "sev",
                    "options": [
                        {"text": {"type": "plain_text", "text": "P1 · Critical"}, "value": "P1"}
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "ic",
                "label": {"type": "plain_text", "text": "Incident commander"},
                "element": {"type": "users_select", "action_id": "ic", "initial_user": "U_A"},
            },
        ]
    }
    values = fill_modal(view, {"Severity": "P1 · Critical"})
    assert values["sev"]["sev"]["selected_option"]["value"] == "P1"
    assert values["ic"]["ic"]["selected_user"] == "U_A"
    with pytest.raises(KeyError):
        fill_modal(view, {"Colour": "red"})
