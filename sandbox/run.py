"""`warroom sandbox`: the embedded workspace, the real bot wired to it, and the web page, in
one process. No token, no account, no internet; data in ./warroom-sandbox.db unless --fresh.

The bot is `warroom serve` itself in HTTP mode: the page sends it signed requests on the same
`/slack/events` path as Slack would, and the bot answers through the Web API at the embedded
workspace (`SLACK_API_URL`). Integrations that reach the outside (PagerDuty, Statuspage, the
alert endpoints) are switched off whatever the environment says.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

from aiohttp import web

from sandbox.page import Sandbox
from sandbox.slack import FakeSlack
from sandbox.workspace import seed_demo

DATABASE_FILE = "warroom-sandbox.db"
WORKSPACE_FILE = "warroom-sandbox.slack"  # the workspace's channels and messages, beside it
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=3000, help="the page's port (default 3000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1 only)"
    )
    parser.add_argument("--policy", help="a policy YAML file (default: the built-in one)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="run time N× faster (a game day: --speed 60)"
    )
    parser.add_argument("--fresh", action="store_true", help=f"start from an empty {DATABASE_FILE}")


def main(args: argparse.Namespace) -> int:
    from bot.policy import check_policy_file

    if args.policy is not None:
        problems = check_policy_file(args.policy)
        if problems:
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1
    if not args.speed > 0:
        print("warroom sandbox: --speed must be a positive number", file=sys.stderr)
        return 2
    refused = _port_refused(args.host, args.port)
    if refused is not None:
        print(f"warroom sandbox: {refused}", file=sys.stderr)
        return 2
    if args.host not in LOCAL_HOSTS:
        print(
            f"warroom sandbox: warning: listening on {args.host}: the page has no login, "
            "anyone who can reach it can act as anyone in the workspace",
            file=sys.stderr,
        )
    database = Path(DATABASE_FILE).resolve()
    workspace = Path(WORKSPACE_FILE).resolve()
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        workspace.unlink(missing_ok=True)
    elif database.exists() != workspace.exists():
        print(
            f"warroom sandbox: {database.name} and {workspace.name} belong together and one "
            "is missing; start again with --fresh",
            file=sys.stderr,
        )
        return 2
    return _run(args, database, workspace)


def _port_refused(host: str, port: int) -> str | None:
    """Why the page cannot listen there (None: it can), before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return (
                f"port {port} on {host} is in use or not allowed ({error.strerror}); "
                "choose another with --port"
            )
    return None


def _run(args: argparse.Namespace, database: Path, workspace: Path) -> int:
    from bot.app import StartupError, serve
    from bot.logs import configure_logging
    from bot.services import Services
    from bot.settings import Settings

    fake = FakeSlack()
    fake.load_workspace(workspace)
    seed_demo(fake)
    fake.start()
    settings = Settings(
        _env_file=None,
        slack_bot_token=fake.bot_token,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        database_url=f"sqlite:///{database}",
        warroom_policy=args.policy,
        port=args.port,
        log_level="WARNING",
        log_format="console",
    ).model_copy(
        update={
            "slack_app_token": None,  # HTTP mode: the page sends the requests
            "warroom_alerts_token": None,
            "pagerduty_routing_key": None,
            "statuspage_api_key": None,
            "statuspage_page_id": None,
        }
    )
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    near = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{near}:{args.port}/"

    def extend(app: web.Application, services: Services) -> None:
        page = Sandbox(
            fake,
            bot_url=url.rstrip("/"),
            now=services.clock.now,
            speed=args.speed,
            workspace_file=workspace,
        )
        page.routes(app)

    def started() -> None:
        speed = f", time ×{args.speed:g}" if args.speed != 1 else ""
        print(f"warroom sandbox: open {url} (data in {database}{speed}); Ctrl-C stops it")
        sys.stdout.flush()

    try:
        return asyncio.run(
            serve(settings, host=args.host, speed=args.speed, extend=extend, started=started)
        )
    except StartupError as problem:
        print(f"warroom sandbox: cannot start: {problem}", file=sys.stderr)
        return 2
    finally:
        fake.stop()
