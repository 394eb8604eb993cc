"""The help message: golden Block Kit, within Slack's limits, honest about what exists."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from bot.commands.catalogue import SUBCOMMANDS, split_subcommand
from bot.templates.help import help_message
from bot.templates.text import escape_mrkdwn
from tests.conftest import assert_golden


def test_help_matches_golden() -> None:
    assert_golden("help", help_message(SUBCOMMANDS))


def test_unknown_help_matches_golden() -> None:
    assert_golden("help_unknown", help_message(SUBCOMMANDS, unknown="frob<!here>"))


def test_every_block_is_valid_block_kit() -> None:
    message = help_message(SUBCOMMANDS, unknown="x" * 5000)
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()
    assert message["text"]


def test_unavailable_subcommands_say_so() -> None:
    text = help_message(SUBCOMMANDS)["text"]
    for sub in SUBCOMMANDS:
        usage = escape_mrkdwn(f"/incident {sub.usage}")
        line = next(line for line in text.splitlines() if f"{usage}`" in line)
        assert ("not available yet" in line) is (not sub.available)


def test_split_subcommand() -> None:
    assert split_subcommand("  Assign  tech_lead @bob ") == ("assign", "tech_lead @bob")
    assert split_subcommand("") == ("", "")
    assert split_subcommand("help") == ("help", "")


@pytest.mark.parametrize("gap", ["\t", "\n", " \t ", "\u00a0", "\u3000"])
def test_any_whitespace_after_the_subcommand_separates_it(gap: str) -> None:
    assert split_subcommand(f"assign{gap}tech_lead <@U1>") == ("assign", "tech_lead <@U1>")
    assert split_subcommand(f"\tUPDATE{gap}") == ("update", "")


def test_placeholders_are_escaped_so_they_show() -> None:
    text = json.dumps(help_message(SUBCOMMANDS))
    assert "&lt;role&gt;" in text
    assert "<role>" not in text
