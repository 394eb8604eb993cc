"""Time, rate limits, injected faults and holds. All thread-safe (tests poke them from the
test thread while the server thread consults them)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Requests per minute per method per workspace, by Slack tier. "t5" is Slack's "special"
# tier: auth.test and chat.getPermalink get a generous 600/min here; chat.postMessage is
# limited per channel by a token bucket instead (see below).
TIER_PER_MINUTE: dict[str, int] = {"t1": 1, "t2": 20, "t3": 50, "t4": 100, "t5": 600}
WINDOW_SECONDS = 60.0
# chat.postMessage: one message per second per channel, bursts of up to 5 tolerated.
POST_MESSAGE_BURST = 5.0
POST_MESSAGE_PER_SECOND = 1.0


class Clock:
    """The fake's notion of time: real time plus an offset that tests can advance, so that
    expiry (trigger ids, response_urls) and rate-limit windows can be tested without sleeping.
    Recorded call times (`Call.started_at`) always use the real `time.monotonic()`."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def wall(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


class RateLimiter:
    """Sliding one-minute windows per method; a token bucket per channel for postMessage."""

    def __init__(self, clock: Clock, tier_of: Callable[[str], str | None]) -> None:
        self.clock = clock
        self.enabled = True
        self._tier_of = tier_of
        self._overrides: dict[str, int] = {}
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self.enabled = enabled

    def set_limit(self, method: str, per_minute: int) -> None:
        with self._lock:
            self._overrides[method] = per_minute
            self._windows = {k: v for k, v in self._windows.items() if k[0] != method}

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._buckets.clear()

    def limit_for(self, method: str) -> int | None:
        """Requests per minute for `method` (None: chat.postMessage's per-channel bucket)."""
        if method in self._overrides:
            return self._overrides[method]
        if method == "chat.postMessage":
            return None
        return TIER_PER_MINUTE.get(self._tier_of(method) or "t3", TIER_PER_MINUTE["t3"])

    def check(self, method: str, channel_key: str | None) -> int | None:
        """Count one request; None if allowed, else the Retry-After seconds (>= 1)."""
        with self._lock:
            if not self.enabled:
                return None
            now = self.clock.monotonic()
            limit = self.limit_for(method)
            if limit is None:
                return self._bucket(channel_key or "-", now)
            key = channel_key if method == "chat.postMessage" else "-"
            window = self._windows.setdefault((method, key or "-"), deque())
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            if len(window) >= limit:
                wait = window[0] + WINDOW_SECONDS - now if window else WINDOW_SECONDS
                return max(1, math.ceil(wait))
            window.append(now)
            return None

    def _bucket(self, channel: str, now: float) -> int | None:
        tokens, last = self._buckets.get(channel, (POST_MESSAGE_BURST, now))
        tokens = min(POST_MESSAGE_BURST, tokens + (now - last) * POST_MESSAGE_PER_SECOND)
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / POST_MESSAGE_PER_SECOND))
        self._buckets[channel] = (tokens - 1.0, now)
        return None


@dataclass(frozen=True)
class Fault:
    error: str | None
    status: int
    hang: float | None
    retry_after: int = 1  # the Retry-After header sent with an injected HTTP 429
    where: Callable[[dict[str, Any]], bool] | None = None  # only calls whose arguments match


@dataclass(frozen=True)
class AfterFault:
    """`fail_after`: the call takes effect, then the client gets this instead of the answer."""

    status: int
    error: str | None
    drop: bool  # close the connection without any HTTP response
    where: Callable[[dict[str, Any]], bool] | None = None

    def answer(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The HTTP answer the client gets (not used when `drop`)."""
        if self.status == 429:
            return 429, {"ok": False, "error": self.error or "ratelimited"}, {"Retry-After": "1"}
        return self.status, {"ok": False, "error": self.error or "internal_error"}, {}


class Faults:
    def __init__(self) -> None:
        self._queue: dict[str, deque[Fault]] = {}
        self._after: dict[str, list[AfterFault]] = {}
        self._lock = threading.Lock()

    def add(self, method: str, n: int, fault: Fault) -> None:
        with self._lock:
            self._queue.setdefault(method, deque()).extend([fault] * n)

    def take(self, method: str, args: dict[str, Any] | None = None) -> Fault | None:
        """The first pending `fail_next` fault of `method` whose `where` accepts `args`."""
        with self._lock:
            queue = self._queue.get(method)
            for fault in list(queue or ()):
                if fault.where is None or fault.where(args or {}):
                    queue.remove(fault)  # type: ignore[union-attr]
                    return fault
            return None

    def add_after(self, method: str, n: int, fault: AfterFault) -> None:
        with self._lock:
            self._after.setdefault(method, []).extend([fault] * n)

    def take_after(self, method: str, args: dict[str, Any]) -> AfterFault | None:
        """The first pending `fail_after` fault of `method` whose `where` accepts `args`."""
        with self._lock:
            pending = self._after.get(method, [])
            for i, fault in enumerate(pending):
                if fault.where is None or fault.where(args):
                    del pending[i]
                    return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._after.clear()


class Hold:
    """Holds the next call of `method` before it changes anything, until `release()`."""

    def __init__(self, method: str, where: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.method = method
        self.where = where  # hold only a call whose arguments match, e.g. one channel's post
        self.call_index: int | None = None
        self._arrived = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    @property
    def arrived(self) -> bool:
        return self._arrived.is_set()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def wait_arrived(self, timeout: float = 5) -> bool:
        """Block until the held call has arrived. From a coroutine whose event loop also
        sends the call, use `await wait_arrived_async()` instead (this would block it)."""
        return self._arrived.wait(timeout)

    async def wait_arrived_async(self, seconds: float = 5) -> bool:
        deadline = time.monotonic() + seconds
        while not self._arrived.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return self._arrived.is_set()

    def release(self) -> None:
        with self._lock:
            self._released.set()
            if self._loop is not None and self._event is not None:
                with contextlib.suppress(RuntimeError):  # the server loop already closed
                    self._loop.call_soon_threadsafe(self._event.set)

    async def block(self, call_index: int) -> None:
        """Called by the server for the held call: mark it arrived, wait for release()."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            if self._released.is_set():
                self._event.set()
        self.call_index = call_index
        self._arrived.set()
        await self._event.wait()


class Holds:
    def __init__(self) -> None:
        self._pending: dict[str, deque[Hold]] = {}
        self._all: list[Hold] = []
        self._lock = threading.Lock()

    def add(self, method: str, where: Callable[[dict[str, Any]], bool] | None = None) -> Hold:
        hold = Hold(method, where)
        with self._lock:
            self._pending.setdefault(method, deque()).append(hold)
            self._all.append(hold)
        return hold

    def take(self, method: str, args: dict[str, Any] | None = None) -> Hold | None:
        with self._lock:
            queue = self._pending.get(method)
            for hold in list(queue or ()):
                if hold.where is None or hold.where(args or {}):
                    queue.remove(hold)  # type: ignore[union-attr]
                    return hold
            return None

    def clear(self, method: str | None = None) -> None:
        """Forget pending holds and release every held call (of `method`, or all)."""
        with self._lock:
            for name in list(self._pending):
                if method is None or name == method:
                    del self._pending[name]
            for hold in self._all:
                if method is None or hold.method == method:
                    hold.release()
            self._all = [h for h in self._all if not h.released]
