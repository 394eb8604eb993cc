"""The `warroom` console script (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.settings import SLACK_SETUP_HINT, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.policy import Policy

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warroom", description="Slack incident-response bot")
    parser.add_argument("--version", action="version", version=f"warroom {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the newest schema")
    policy = sub.add_parser("policy", help="policy file tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate a policy YAML file")
    check.add_argument("file")
    doc = policy_sub.add_parser("doc", help="render the incident procedure a policy enforces")
    doc.add_argument("file", nargs="?", help="a policy YAML file (default: the built-in one)")
    doc.add_argument("--format", choices=("markdown", "html"), default="markdown")
    sub.add_parser("doctor", help="check a live installation: token, scopes, database, policy")
    postmortem = sub.add_parser("postmortem", help="print the post-mortem draft of an incident")
    postmortem.add_argument("incident", help="incident number, e.g. 42 or INC-42")
    report = sub.add_parser("report", help="incident metrics over a period (MTTA, MTTR …)")
    report.add_argument("--since", default="30d", help="30d, quarter, YYYY-MM-DD (default 30d)")
    report.add_argument("--until", help="last day included, YYYY-MM-DD (default: now)")
    report.add_argument("--format", choices=("markdown", "json", "csv"), default="markdown")
    sandbox = sub.add_parser(
        "sandbox", help="try warroom in the browser: a local Slack workspace, no token needed"
    )
    _sandbox_arguments(sandbox)
    return parser


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    from sandbox.run import add_arguments

    add_arguments(parser)


def _version() -> str:
    """The installed package's version (a checkout run without installing says so)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("warroom")
    except PackageNotFoundError:
        return "(not installed)"


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
    from bot.app import StartupError, serve
    from bot.logs import configure_logging

    configure_logging(level=settings.log_level, fmt=settings.log_format)
    try:
        return asyncio.run(serve(settings))
    except StartupError as problem:
        print(f"warroom: cannot start: {problem}", file=sys.stderr)
        return 2


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


class _Refusal(Exception):
    """A one-line reason `warroom postmortem` stops, and its exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _incident_number(text: str) -> int | None:
    """`42`, `INC-42` or `inc-42`."""
    from bot.templates.ops_common import parse_incident_number

    found = re.fullmatch(r"(?:inc-)?([0-9]+)", text.strip(), flags=re.IGNORECASE)
    return parse_incident_number(found.group(1)) if found else None


def _existing_sqlite_file(database_url: str) -> None:
    """Refuse a SQLite file that is not there: opening it would leave an empty database
    behind, in whatever folder the command happened to run."""
    from sqlalchemy.engine import make_url

    import store

    url = make_url(store.sync_url(database_url))
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if not path.startswith("file:") and not Path(path).exists():
        raise _Refusal(f"no database at {path} (DATABASE_URL); run `warroom db upgrade` first", 1)


def _policy(path: Path | None) -> Policy:
    from bot.policy import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        first = exc.problems[0] if exc.problems else "invalid"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise _Refusal(f"invalid policy: {first}{more}; see `warroom policy check`", 2) from None


async def _read(
    database_url: str, what: str, read: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run `read` against the database; a failure is one line naming `what` could not be read."""
    from sqlalchemy.exc import SQLAlchemyError

    import store

    engine = store.make_engine(database_url)
    try:
        return await read(store.session_factory(engine))
    except (SQLAlchemyError, OSError) as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split()[:40])
        # SQLite and Postgres words for a table that is not there: a database never migrated.
        missing_table = "no such table" in reason or "does not exist" in reason
        hint = "; is it migrated (`warroom db upgrade`)?" if missing_table else ""
        raise _Refusal(f"cannot read {what} from the database ({reason}){hint}", 1) from None
    finally:
        await engine.dispose()


async def _read_postmortem(database_url: str, policy: Policy, number: int) -> str:
    from bot.postmortem import postmortem_markdown

    async def read(sessions: async_sessionmaker[AsyncSession]) -> str | None:
        return await postmortem_markdown(sessions, policy, number, now=datetime.now(UTC))

    markdown = await _read(database_url, f"INC-{number}", read)
    if markdown is None:
        raise _Refusal(f"INC-{number} does not exist", 1)
    return markdown


def _postmortem(incident: str) -> int:
    """Print the draft as Markdown. Reads the database only (no Slack token needed, no
    migration run): an operator may point it at a production database."""
    import store

    try:
        number = _incident_number(incident)
        if number is None:
            raise _Refusal(f"{incident!r} is not an incident number (e.g. 42 or INC-42)", 2)
        settings = Settings()
        try:
            _existing_sqlite_file(settings.database_url)
        except store.UnsupportedDatabaseURL as exc:
            raise _Refusal(str(exc), 2) from None
        policy = _policy(settings.warroom_policy)
        markdown = asyncio.run(_read_postmortem(settings.database_url, policy, number))
    except _Refusal as refusal:
        print(f"warroom: {refusal}", file=sys.stderr)
        return refusal.status
    sys.stdout.write(markdown)
    return 0


def _report(since: str, until: str | None, fmt: str) -> int:
    """The period's figures from DATABASE_URL (the operator's view: every incident counted,
    no titles printed). A bad period is one line and exit 2."""
    import store
    from bot.flows.metrics import PeriodError, read_metrics, report_period
    from bot.report import render_report

    try:
        try:
            period = report_period(since, until, now=datetime.now(UTC))
        except PeriodError as problem:
            raise _Refusal(str(problem), 2) from None
        settings = Settings()
        try:
            _existing_sqlite_file(settings.database_url)
        except store.UnsupportedDatabaseURL as exc:
            raise _Refusal(str(exc), 2) from None
        policy = _policy(settings.warroom_policy)  # its post-mortem windows

        async def read(sessions: async_sessionmaker[AsyncSession]) -> store.IncidentMetrics:
            return await read_metrics(sessions, policy, period)

        metrics = asyncio.run(_read(settings.database_url, "the incidents", read))
    except _Refusal as refusal:
        print(f"warroom: {refusal}", file=sys.stderr)
        return refusal.status
    sys.stdout.write(render_report(metrics, fmt))
    return 0


def _doctor() -> int:
    """One line per check, ✓ or ✗ with the fix; exit 1 when anything is broken."""
    from bot.doctor import diagnose

    checks = asyncio.run(diagnose(Settings()))
    for check in checks:
        print(check.line())
    return 0 if all(check.ok for check in checks) else 1


def _policy_doc(path: str | None, fmt: str) -> int:
    """The procedure people read, from the policy the bot enforces: they cannot drift apart."""
    from bot.policy import PolicyError, load_policy
    from bot.policy.doc import render_procedure

    try:
        policy = load_policy(path)
    except PolicyError as problem:
        print(f"warroom: the policy is invalid: {problem}", file=sys.stderr)
        return 1
    print(render_procedure(policy, format="html" if fmt == "html" else "markdown"), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve()
    if args.command == "doctor":
        return _doctor()
    if args.command == "db":
        return _db_upgrade()
    if args.command == "policy" and args.policy_command == "doc":
        return _policy_doc(args.file, args.format)
    if args.command == "policy":
        return _policy_check(args.file)
    if args.command == "report":
        return _report(args.since, args.until, args.format)
    if args.command == "sandbox":
        from sandbox.run import main as sandbox_main

        return sandbox_main(args)
    return _postmortem(args.incident)


if __name__ == "__main__":
    sys.exit(main())
