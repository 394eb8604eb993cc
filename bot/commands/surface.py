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
# A pure look at an event (no database, no Slack): False drops it before anything is stored.
EventFilter = Callable[[dict[str, Any]], bool]


class Surface:
    def __init__(self, app: AsyncApp) -> None:
        self.app = app
        self.commands: set[str] = set()
        self.shortcuts: set[str] = set()
        self.message_shortcuts: set[str] = set()
        self.events: set[str] = set()
        self.event_filters: dict[str, EventFilter] = {}
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

    def event(
        self, event_type: str, *, relevant: EventFilter | None = None
    ) -> Callable[[Listener], Listener]:
        """`relevant`: most reactions in a busy workspace are not the timeline's; they are
        acknowledged and dropped before their delivery is even recorded."""
        self.events.add(event_type)
        if relevant is not None:
            self.event_filters[event_type] = relevant
        return self._register(self.app.event(event_type))

    def wants(self, event: dict[str, Any]) -> bool:
        """Whether a listener is registered for this event and would act on it."""
        event_type = event.get("type")
        if not isinstance(event_type, str) or event_type not in self.events:
            return False
        relevant = self.event_filters.get(event_type)
        return relevant is None or relevant(event)

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
