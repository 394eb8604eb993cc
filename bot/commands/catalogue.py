"""Every `/incident` subcommand, one line each: the source of the help text."""

from __future__ import annotations

from bot.templates.help import SubcommandHelp

COMMAND = "/incident"

# `available` flips to True as each feature lands; until then the subcommand says so honestly.
SUBCOMMANDS: tuple[SubcommandHelp, ...] = (
    SubcommandHelp("help", "help", "Show this list"),
    SubcommandHelp("declare", "declare [title]", "Declare an incident"),
    SubcommandHelp("drill", "drill [title]", "Declare a practice incident"),
    SubcommandHelp("status", "status", "Summary of this incident"),
    SubcommandHelp("list", "list", "Open incidents you can see"),
    SubcommandHelp("ack", "ack", "Acknowledge the incident"),
    SubcommandHelp("assign", "assign <role> @user", "Give someone a role"),
    SubcommandHelp("update", "update", "Post a status update"),
    SubcommandHelp("severity", "severity <level>", "Change the severity"),
    SubcommandHelp("note", "note [text]", "Add a note to the timeline"),
    SubcommandHelp("action", "action <text> [@owner] [due:YYYY-MM-DD]", "Record an action item"),
    SubcommandHelp("actions", "actions", "Action items (here: this incident's; else yours)"),
    SubcommandHelp("timeline", "timeline", "Show the incident timeline"),
    SubcommandHelp("resolve", "resolve", "Resolve the incident"),
    SubcommandHelp("close", "close", "Close a resolved incident"),
    SubcommandHelp("reopen", "reopen", "Reopen a resolved or closed incident"),
    SubcommandHelp(
        "postmortem", "postmortem [done <link>]", "Post a fresh draft, or record the final one"
    ),
    SubcommandHelp(
        "stats", "stats [7d|30d|90d|quarter|YYYY-MM-DD..YYYY-MM-DD]", "MTTA, MTTR, update cadence"
    ),
)

BY_NAME = {sub.name: sub for sub in SUBCOMMANDS}


def split_subcommand(text: str) -> tuple[str, str]:
    """`"assign tech_lead @bob"` → `("assign", "tech_lead @bob")`; the word is lower-cased.

    Any whitespace ends the word, not only a space: a tab or a newline typed (or pasted)
    after it must not glue it to the rest, as `"assign\ttech_lead"` would otherwise be.
    """
    parts = text.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1].strip() if len(parts) > 1 else ""
