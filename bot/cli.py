"""The `warroom` console script (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.settings import SLACK_SETUP_HINT, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warroom", description="Slack incident-response bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the newest schema")
    policy = sub.add_parser("policy", help="policy file tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate a policy YAML file")
    check.add_argument("file")
    postmortem = sub.add_parser("postmortem", help="print the post-mortem draft of an incident")
    postmortem.add_argument("incident", help="incident number, e.g. 42 or INC-42")
    return parser


def _serve() -> int:
    settings = Settings()
    missing = settings.missing_for_serve()
    if missing:
        print(
            f"warroom: cannot start: missing {', '.join(missing)}. "
            f"Set them in the environment or in .env ({SLACK_SETUP_HINT}).",
            file=sys.stderr,
        )
        return 2
    from bot.app import serve
    from bot.logs import configure_logging

    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return asyncio.run(serve(settings))


def _db_upgrade() -> int:
    import store

    settings = Settings()
    store.upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0


def _policy_check(path: str) -> int:
    from bot.policy import check_policy_file

    problems = check_policy_file(path)
    if not problems:
        print("ok")
        return 0
    for problem in problems:
        print(problem)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve()
    if args.command == "db":
        return _db_upgrade()
    if args.command == "policy":
        return _policy_check(args.file)
    print(
        "warroom: post-mortem drafts are not available in this version yet.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
