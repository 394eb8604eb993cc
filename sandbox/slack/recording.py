"""The call log, the violation log, and queries over them (round-trip waves, rendered text)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.slack.records import Call, Violation

# Plain string arguments that end up in front of people.
TEXT_ARGS = ("text", "topic", "purpose", "initial_comment", "title", "name")
STRUCTURED_ARGS = ("blocks", "attachments", "view", "document_content", "changes")


# `Call.error` of a call whose connection `fail_after(..., drop=True)` closed without answering.
DROPPED_ERROR = "connection_closed"


@dataclass
class Effect:
    """What happened to a call besides its answer (filled in by the server's pipeline)."""

    applied: bool = False  # the fake executed it successfully: its effects happened
    suppressed: dict[str, Any] | None = None  # the real answer `fail_after` replaced
    dropped: bool = False  # the connection is closed without an HTTP answer


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._calls: list[Call] = []
        self._violations: list[Violation] = []
        self._sent: list[Any] = []  # bodies sent outside the Web API: response_urls, acks
        self._next_index = 0

    def begin(self, method: str, args: dict[str, Any], http_method: str) -> Call:
        with self.lock:
            call = Call(
                index=self._next_index,
                method=method,
                args=args,
                http_method=http_method,
                started_at=time.monotonic(),
                wall_started_at=time.time(),
            )
            self._next_index += 1
            self._calls.append(call)
            return call

    def end(self, call: Call, status: int, body: dict[str, Any], effect: Effect) -> None:
        with self.lock:
            call.ended_at = time.monotonic()
            call.wall_ended_at = time.time()
            call.applied = effect.applied
            call.suppressed_response = effect.suppressed
            if effect.dropped:
                call.dropped, call.ok, call.error = True, False, DROPPED_ERROR
                return
            call.status = status
            call.response = body
            call.ok = bool(body.get("ok")) and status == 200
            call.error = None if call.ok else str(body.get("error") or f"http_{status}")
            warning = body.get("warning")
            call.warning = str(warning) if warning else None

    def violate(self, method: str, rule: str, detail: str, call_index: int | None) -> None:
        with self.lock:
            self._violations.append(Violation(method, rule, detail, call_index))

    def sent(self, body: Any) -> None:
        with self.lock:
            self._sent.append(copy.deepcopy(body))

    def calls(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c.method == method]

    def violations(self) -> list[Violation]:
        with self.lock:
            return list(self._violations)

    def take_violations(self) -> list[Violation]:
        with self.lock:
            taken, self._violations = self._violations, []
            return taken

    def reset_calls(self) -> None:
        with self.lock:
            self._calls.clear()
            self._sent.clear()

    def render_texts(self) -> list[str]:
        with self.lock:
            sources: list[Any] = [c.args for c in self._calls] + list(self._sent)
        out: list[str] = []
        for source in sources:
            if isinstance(source, str):
                out.append(source)
            elif isinstance(source, dict):
                out.extend(texts_of(source))
        return out


def texts_of(args: dict[str, Any]) -> list[str]:
    """Every human-visible string in a request: text-like arguments and every `text`
    (or canvas `markdown`) string nested inside blocks, views, attachments."""
    out = [args[k] for k in TEXT_ARGS if isinstance(args.get(k), str) and args[k]]
    for key in STRUCTURED_ARGS:
        if key in args:
            out.extend(_nested_texts(args[key]))
    return out


def _nested_texts(node: Any) -> Iterable[str]:
    if isinstance(node, list):
        for item in node:
            yield from _nested_texts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "markdown", "fallback", "pretext") and isinstance(value, str):
                yield value
            else:
                yield from _nested_texts(value)


def critical_path(calls: list[Call], *, since: float, until: float | None) -> list[list[Call]]:
    """Group calls that started in [since, until] into sequential round-trip waves: calls
    overlapping in time (transitively) share a wave. In-flight calls count as ending now."""
    now = time.monotonic()
    window = sorted(
        (c for c in calls if c.started_at >= since and (until is None or c.started_at <= until)),
        key=lambda c: (c.started_at, c.index),
    )
    waves: list[list[Call]] = []
    wave_end = float("-inf")
    for call in window:
        end = call.ended_at if call.ended_at is not None else now
        if waves and call.started_at < wave_end:
            waves[-1].append(call)
            wave_end = max(wave_end, end)
        else:
            waves.append([call])
            wave_end = end
    return waves
