"""`warroom doctor`: checks a live installation and says, one line each, what is broken and
how to fix it: settings, the policy, the database, the token and its scopes, and every
channel, group and user the policy names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text

import store
from bot.flows.ports import SlackFailure
from bot.flows.timeline import unreachable_words
from bot.gateway import SlackGateway
from bot.policy import Policy, PolicyError, Target, load_policy
from bot.settings import Settings
from bot.slack_client import build_web_client

# The bot scopes the manifest asks for (a test keeps this equal to manifest.yml's list).
REQUIRED_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:manage",
        "channels:read",
        "channels:history",
        "groups:write",
        "groups:read",
        "groups:history",
        "im:write",
        "im:history",
        "pins:write",
        "pins:read",
        "bookmarks:write",
        "bookmarks:read",
        "reactions:read",
        "files:write",
        "files:read",
        "canvases:write",
        "users:read",
        "usergroups:read",
    }
)
REINSTALL = "an admin must reinstall the app from manifest.yml (OAuth & Permissions)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        fix = f" Fix: {self.fix}" if not self.ok and self.fix else ""
        return f"{mark} {self.name}: {self.detail}.{fix}"


def policy_targets(policy: Policy) -> Iterator[tuple[str, Target]]:
    """Every (where, target) the policy names, in the policy's order, each once."""
    seen: set[str] = set()
    named: list[tuple[str, Target]] = [("announce_channel", policy.announce_channel)]
    for severity in policy.severities:
        named += [(f"severity {severity.id} notify", t) for t in severity.notify]
        named += [(f"severity {severity.id} invite", t) for t in severity.invite]
        for step in severity.escalation:
            named += [
                (f"severity {severity.id} escalation", t) for t in (*step.notify, *step.invite)
            ]
    for kind in policy.types:
        named += [(f"type {kind.id}", t) for t in (*kind.notify, *kind.invite)]
    if policy.digest is not None:
        named.append(("digest", policy.digest.channel))
    for where, target in named:
        if str(target) not in seen:
            seen.add(str(target))
            yield where, target


async def diagnose(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    if settings.slack_bot_token is None:
        checks.append(Check("Slack token", False, "SLACK_BOT_TOKEN is not set", "set it (.env)"))
    if not settings.socket_mode and settings.slack_signing_secret is None:
        checks.append(
            Check(
                "Signing secret",
                False,
                "HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests",
                "copy it from Basic Information → App Credentials",
            )
        )
    policy = _policy(settings, checks)
    await _database(settings, checks)
    if settings.slack_bot_token is not None:
        client = build_web_client(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
        gateway = SlackGateway(client)
        if await _token(gateway, checks) and policy is not None:
            await _targets(gateway, policy, checks)
    return checks


def _policy(settings: Settings, checks: list[Check]) -> Policy | None:
    where = str(settings.warroom_policy or "the built-in policy")
    try:
        policy = load_policy(settings.warroom_policy)
    except PolicyError as problem:
        checks.append(
            Check(
                "Policy",
                False,
                f"{where} is invalid: {str(problem).strip().splitlines()[-1].strip()}",
                f"`warroom policy check {where}` lists every problem",
            )
        )
        return None
    checks.append(Check("Policy", True, f"{where} is valid"))
    return policy


async def _database(settings: Settings, checks: list[Check]) -> None:
    engine = store.make_engine(settings.database_url)
    try:
        if not await store.ping(engine, max_wait=5):
            checks.append(Check("Database", False, "it does not answer", "check DATABASE_URL"))
            return
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(store.alembic_config(settings.database_url))
        async with engine.connect() as conn:
            try:
                current = (
                    await conn.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar()
            except Exception:
                current = None
        if current != head.get_current_head():
            checks.append(
                Check(
                    "Database",
                    False,
                    f"it answers but is not migrated (at {current or 'nothing'})",
                    "run `warroom db upgrade` (warroom serve also does it)",
                )
            )
            return
        checks.append(Check("Database", True, "it answers and is migrated"))
    finally:
        await engine.dispose()


async def _token(gateway: SlackGateway, checks: list[Check]) -> bool:
    try:
        identity = await gateway.identify()
        granted = await gateway.granted_scopes()
    except SlackFailure as failure:
        checks.append(
            Check(
                "Slack token",
                False,
                f"Slack refused SLACK_BOT_TOKEN ({failure.error})",
                "copy the Bot User OAuth Token again, and check SLACK_API_URL",
            )
        )
        return False
    checks.append(Check("Slack token", True, f"works for team {identity.team_id}"))
    if granted is None:
        checks.append(
            Check("Scopes", False, "Slack did not say which scopes it granted", REINSTALL)
        )
        return True
    missing = sorted(REQUIRED_SCOPES - granted)
    if missing:
        checks.append(Check("Scopes", False, f"missing {', '.join(missing)}", REINSTALL))
    else:
        checks.append(Check("Scopes", True, "every scope the manifest asks for is granted"))
    return True


async def _targets(gateway: SlackGateway, policy: Policy, checks: list[Check]) -> None:
    for where, target in policy_targets(policy):
        name = f"Policy target {target}"
        try:
            detail = await _reach(gateway, target)
        except SlackFailure as failure:
            checks.append(
                Check(
                    name,
                    False,
                    f"({where}) {unreachable_words(failure)}",
                    "create it, invite warroom to it, or fix the policy",
                )
            )
            continue
        checks.append(Check(name, True, f"({where}) {detail}"))


async def _reach(gateway: SlackGateway, target: Target) -> str:
    if target.kind == "group":
        group = str(target)
        members = await gateway.group_members(group=group)
        return f"a group of {len(members)}"
    if target.kind == "user":
        if not await gateway.user_exists(user=target.value):
            raise SlackFailure("users.info", "user_not_found")
        return "a user"
    channel = await gateway.resolve_channel(channel=str(target))
    data = await gateway.call("conversations.info", channel=channel)
    info = data.get("channel") or {}
    if info.get("is_archived"):
        raise SlackFailure("conversations.info", "is_archived")
    if info.get("is_private") and not info.get("is_member"):
        raise SlackFailure("conversations.info", "not_in_channel")
    return "a channel warroom can post in"
