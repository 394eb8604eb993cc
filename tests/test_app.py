"""The composition root: nothing at import time, both serving modes, health."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import build_bolt_app, build_http_app, build_scheduler, build_services
from bot.policy import default_policy
from bot.settings import Settings


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        slack_bot_token=SecretStr("xoxb-app-test"),
        slack_signing_secret=SecretStr("secret"),
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        _env_file=None,  # type: ignore[call-arg]
        **extra,  # type: ignore[arg-type]
    )


def test_importing_the_app_builds_nothing() -> None:
    for name in [m for m in sys.modules if m == "bot.app"]:
        del sys.modules[name]
    module = importlib.import_module("bot.app")
    # No client, engine, scheduler or Bolt app lives at module level.
    kinds = {type(value).__name__ for value in vars(module).values()}
    assert not kinds & {"AsyncApp", "AsyncWebClient", "AsyncEngine", "AsyncIOScheduler"}


async def test_http_mode_verifies_signatures_and_socket_mode_does_not(tmp_path: Path) -> None:
    http = await build_services(_settings(tmp_path), default_policy())
    socket = await build_services(
        _settings(tmp_path, slack_app_token=SecretStr("xapp-1")), default_policy()
    )
    try:
        http_app, _ = build_bolt_app(http)
        socket_app, _ = build_bolt_app(socket)
        names = {type(m).__name__ for m in http_app._async_middleware_list}
        assert "AsyncRequestVerification" in names
        assert "AsyncRequestVerification" not in {
            type(m).__name__ for m in socket_app._async_middleware_list
        }
    finally:
        await http.engine.dispose()
        await socket.engine.dispose()


async def test_healthz_reflects_the_database(tmp_path: Path) -> None:
    import store

    settings = _settings(tmp_path)
    store.upgrade(settings.database_url)
    services = await build_services(settings, default_policy())
    bolt, _ = build_bolt_app(services)
    async with TestClient(TestServer(build_http_app(bolt, services))) as client:
        ok = await client.get("/healthz")
        assert ok.status == 200
        await services.engine.dispose()
        (tmp_path / "w.db").unlink()
        (tmp_path / "w.db").mkdir()  # a database that cannot be opened
        broken = await client.get("/healthz")
        assert broken.status == 503
        assert (await broken.json())["ok"] is False
    await services.engine.dispose()


async def test_the_scheduler_has_one_tick_the_job_runner(tmp_path: Path) -> None:
    services = await build_services(_settings(tmp_path), default_policy())
    scheduler = build_scheduler(services)
    (tick,) = scheduler.get_jobs()
    assert tick.id == "run_due_jobs"
    assert (tick.func.func, tick.func.keywords) == (services.jobs.tick, {"wait": False})
    await services.engine.dispose()


async def test_a_crashed_listener_answers_in_words_not_a_500() -> None:
    from slack_bolt.response import BoltResponse

    from bot.app import UNEXPECTED_ERROR_TEXT, _answer_unexpected_error

    answer = await _answer_unexpected_error(RuntimeError("boom"), BoltResponse(status=500))
    assert answer is not None
    assert answer.status == 200
    assert json.loads(answer.body) == {"response_type": "ephemeral", "text": UNEXPECTED_ERROR_TEXT}
    # Already acknowledged: the user had their answer; nothing more to send.
    assert await _answer_unexpected_error(RuntimeError("late"), None) is None
