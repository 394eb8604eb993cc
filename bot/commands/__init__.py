"""Bolt listeners, one module per feature, each exposing `register(surface, services)`."""

from __future__ import annotations

from bot.commands import declare, incident_ops, modals, panel
from bot.commands import help as help_command
from bot.commands.surface import Surface
from bot.services import Services


def register_all(surface: Surface, services: Services) -> None:
    # Order matters for `/incident`: specific subcommands first, the catch-all help last.
    declare.register(surface, services)
    incident_ops.register(surface, services)
    panel.register(surface, services)
    modals.register(surface, services)
    help_command.register(surface, services)
