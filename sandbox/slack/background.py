"""An aiohttp application served from a daemon thread with its own event loop: how the fake
Slack, and the tests' fake PagerDuty and Statuspage, listen while sync code, async code and
other processes talk to them."""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from aiohttp import web


class BackgroundHttpServer:
    """An aiohttp application on `host:port` (0: a free port) in a daemon thread with its own
    event loop. `setup(app)` adds the routes. `start()` returns once it listens; `stop()` shuts
    it down and joins the thread. Both are idempotent."""

    def __init__(
        self,
        name: str,
        setup: Callable[[web.Application], None],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_max_size: int = 8 * 1024 * 1024,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._setup = setup
        self._client_max_size = client_max_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to start()
                self._error = exc
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(15) or self._error is not None:
            error, self._error, self._thread = self._error, None, None
            raise RuntimeError(f"{self.name} did not start: {error!r}")

    async def _listen(self) -> None:
        app = web.Application(client_max_size=self._client_max_size)
        self._setup(app)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if self._runner is not None:
            cleanup = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
            try:
                cleanup.result(10)
            except Exception:  # a stuck handler must not keep the test from finishing
                traceback.print_exc(file=sys.stderr)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._thread = self._loop = self._runner = None

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the server's loop (from any thread), if it is running."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(callback)

    @property
    def base_url(self) -> str:
        if self._thread is None:
            raise RuntimeError(f"{self.name} is not started: call start() first")
        return f"http://{self.host}:{self.port}"


class Listening(Protocol):
    """What a fake listens through: a `BackgroundHttpServer`, or the fake Slack's server."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def base_url(self) -> str: ...


class ServedFake:
    """The lifecycle the fakes share, through their `_server`: `start()`, `stop()`, a `with`
    block, and `base_url` (RuntimeError before `start()`)."""

    _server: Listening

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT`."""
        return self._server.base_url
