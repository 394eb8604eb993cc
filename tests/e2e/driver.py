"""End-to-end driver: runs the real `warroom serve` and talks to it the way Slack does.

`WarroomServer` owns the bot process (its own database, `SLACK_API_URL` at the fake Slack);
`SlackDriver` (the sandbox's, `sandbox/slack/driver.py`) sends Slack-signed requests to it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.slack import FakeSlack
from sandbox.slack.driver import Reply, SlackDriver, sign

__all__ = ["Reply", "SlackDriver", "WarroomServer", "fill_modal", "sign", "wait_for"]

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

    def stop_showing_log(self, tail: int = 6000) -> None:
        """Stop, and print the log's tail: pytest shows it only when the test failed, as the
        bot's own account of what happened."""
        self.stop()
        print(f"--- warroom log (tail) ---\n{self.logs()[-tail:]}")

    @contextmanager
    def running(self) -> Iterator[WarroomServer]:
        """Started for the block, then stopped whatever happens (`stop_showing_log`)."""
        try:
            self.start()
            yield self
        finally:
            self.stop_showing_log()


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
