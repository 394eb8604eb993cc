"""Bolt listeners, one module per feature, each exposing `register(surface, services)`."""

from __future__ import annotations

from bot.commands import (
    alerts,
    declare,
    followups,
    incident,
    membership,
    modals,
    panel,
    reminders,
    timeline,
)
from bot.commands.surface import Surface
from bot.services import Services


def register_all(surface: Surface, services: Services) -> None:
    incident.register(surface, services)  # `/incident` and every subcommand
    declare.register(surface, services)  # the message shortcut and the declare modal
    panel.register(surface, services)
    modals.register(surface, services)
    membership.register(surface, services)
    timeline.register(surface, services)  # 📌, pins, "Add to timeline", notes, corrections
    followups.register(surface, services)  # action items and their buttons
    reminders.register(surface, services)  # the update reminder's Snooze
    alerts.register(surface, services)  # the triage message's Declare and Decline
