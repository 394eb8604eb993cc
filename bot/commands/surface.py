"""A thin recorder around Bolt's registration methods.

Every listener is registered through it, so a test can compare what the code registers with
what `manifest.yml` declares.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[Any]])
Matcher = Callable[..., Awaitable[bool]]


class Surface:
    def __init__(self, app: AsyncApp) -> None:
        self.app = app
        self.commands: set[str] = set()
        self.shortcuts: set[str] = set()
        self.message_shortcuts: set[str] = set()
        self.events: set[str] = set()
        self.actions: set[str] = set()
        self.views: set[str] = set()

    def command(
        self, name: str, *, matchers: Sequence[Matcher] = ()
    ) -> Callable[[Listener], Listener]:
        self.commands.add(name)
        return self._register(self.app.command(name, matchers=list(matchers) or None))

    def message_shortcut(self, callback_id: str) -> Callable[[Listener], Listener]:
        self.message_shortcuts.add(callback_id)
        return self._register(self.app.message_shortcut(callback_id))

    def global_shortcut(self, callback_id: str) -> Callable[[Listener], Listener]:
        self.shortcuts.add(callback_id)
        return self._register(self.app.global_shortcut(callback_id))

    def event(self, event_type: str) -> Callable[[Listener], Listener]:
        self.events.add(event_type)
        return self._register(self.app.event(event_type))

    def action(self, action_id: str) -> Callable[[Listener], Listener]:
        self.actions.add(action_id)
        return self._register(self.app.action(action_id))

    def view(self, callback_id: str) -> Callable[[Listener], Listener]:
        self.views.add(callback_id)
        return self._register(self.app.view(callback_id))

    @staticmethod
    def _register(bolt_decorator: Callable[..., Any]) -> Callable[[Listener], Listener]:
        def decorate(listener: Listener) -> Listener:
            bolt_decorator(listener)
            return listener

        return decorate
