"""Benchmark: how fast does warroom ack, and what does a request do before its ack?

Slack waits at most 3 seconds for the HTTP answer to a slash command or a modal submission;
everything a listener does before `ack()` is on that clock. This benchmark runs everything in
this process, against the fake Slack:

1. Ack latency under load. A baseline (a bare Bolt `AsyncApp`, request verification on, one
   `/incident` listener that only acks, behind the same aiohttp adapter) and the real warroom
   app each get `--requests` signed `/incident help` slash commands, `--concurrency` at a
   time, in interleaved rounds (so drifting load on the machine hits both alike). Prints
   p50/p99 for both and warroom's ratio to the baseline.
2. Work before the ack, one request at a time with nothing else running: `/incident help`,
   `/incident status` in an incident's channel, `/incident` (opens the declare form) and the
   declare form's submission. Prints the SQL statements run and the Slack Web API calls
   started before the listener called `ack()` (the worst of `--repeat` requests).

Targets: warroom p50 ≤ 1.3 × baseline p50; `/incident status` ≤ 2 queries before its ack;
declare submission ≤ 8; no Slack call before any ack. Exits 1 if one is missed.

    python -m bench.ack [--requests 600] [--concurrency 50] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

import store
from bench._common import (
    AckProbe,
    Payload,
    SlackRequests,
    Target,
    Warroom,
    app_logs_to,
    bare_http_app,
    client_session,
    now_utc,
    percentile,
    ratio,
    record_members,
    report_targets,
    running_warroom,
    send,
    serve_locally,
    settle,
    tail,
    wait_until,
)
from sandbox.slack import FakeSlack
from tests.e2e.driver import fill_modal

MAX_P50_RATIO = 1.3
MAX_STATUS_QUERIES = 2
MAX_DECLARE_QUERIES = 8
MAX_CALLS_BEFORE_ACK = 0
ROUNDS = 6
WARM_UP = 50  # per app: connections, Bolt's one-off auth.test, first-use caches
USER = "U_ALICE"
STATUS_CHANNEL = "bench-status-incident"


@dataclass
class Latencies:
    label: str
    seconds: list[float] = field(default_factory=list)
    not_ok: int = 0
    busy: float = 0.0  # wall time of its blocks: requests / busy is its throughput


@dataclass
class BeforeAck:
    label: str
    queries: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    call_names: set[str] = field(default_factory=set)
    ack_after: list[float] = field(default_factory=list)
    missing_ack: int = 0

    def worst_queries(self) -> float:
        return float(max(self.queries)) if self.queries and not self.missing_ack else math.nan

    def worst_calls(self) -> float:
        return float(max(self.calls)) if self.calls and not self.missing_ack else math.nan


@dataclass
class Result:
    requests: int
    concurrency: int
    rounds: int
    baseline: Latencies
    warroom: Latencies
    before_ack: list[BeforeAck]
    notes: list[str]


def baseline_app(fake: FakeSlack) -> AsyncApp:
    """The least a Bolt app can do for `/incident`: verify the signature and ack."""
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
        signing_secret=fake.signing_secret,
        request_verification_enabled=True,
        process_before_response=False,  # as warroom: answer at ack, keep working after it
    )

    @app.command("/incident")
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    return app


async def seed_status_incident(fake: FakeSlack, services: Any) -> None:
    """One open incident whose channel exists in the fake, for `/incident status`."""
    members = [USER, "U_BOB"]
    channel_id = fake.add_channel(name=STATUS_CHANNEL, members=members)
    policy = services.policy
    now = now_utc()
    async with services.sessions() as session:
        incident = await store.create_incident(
            session,
            title="Checkout errors",
            severity=policy.severities[0].id,
            status="investigating",
            declared_by=USER,
            declared_at=now,
            channel_id=channel_id,
            channel_name=STATUS_CHANNEL,
        )
        assert incident.number is not None
        await store.assign_role(
            session,
            incident_number=incident.number,
            role=policy.lead_role.id,
            user_id=USER,
            assigned_by=USER,
            now=now,
        )
        await session.commit()
    await record_members(services, channel_id, [*members, fake.bot_user_id])


# -- 1. latency under load ---------------------------------------------------------------------


async def blast(
    session: aiohttp.ClientSession,
    url: str,
    payloads: list[Payload],
    *,
    secret: str,
    concurrency: int,
    into: Latencies | None,
) -> None:
    """Send every payload, `concurrency` in flight at any time."""
    queue: asyncio.Queue[Payload] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)

    async def worker() -> None:
        while not queue.empty():
            sent = await send(session, url, queue.get_nowait(), secret=secret)
            if into is None:
                continue
            into.seconds.append(sent.elapsed)
            if sent.status != 200:
                into.not_ok += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def latency_under_load(
    fake: FakeSlack,
    warroom: Warroom,
    baseline_url: str,
    *,
    requests: int,
    concurrency: int,
    rounds: int,
) -> tuple[Latencies, Latencies]:
    slack = SlackRequests(fake)
    targets = {"baseline": baseline_url, "warroom": warroom.url}
    results = {
        "baseline": Latencies("baseline (bare AsyncApp)"),
        "warroom": Latencies("warroom"),
    }
    per_round = [requests // rounds + (1 if r < requests % rounds else 0) for r in range(rounds)]
    async with client_session(concurrency) as session:
        for url in targets.values():
            warm = [slack.slash(USER, "help") for _ in range(WARM_UP)]
            await blast(
                session, url, warm, secret=fake.signing_secret, concurrency=concurrency, into=None
            )
        for count in per_round:
            for name, url in targets.items():
                # Built before the clock starts: the fake hands out response_urls/triggers.
                payloads = [slack.slash(USER, "help") for _ in range(count)]
                # A full collection now, not in the middle of the other app's block: each
                # block pays for the garbage it makes, not for what came before it.
                gc.collect()
                began = time.monotonic()
                await blast(
                    session,
                    url,
                    payloads,
                    secret=fake.signing_secret,
                    concurrency=concurrency,
                    into=results[name],
                )
                results[name].busy += time.monotonic() - began
    return results["baseline"], results["warroom"]


# -- 2. work before the ack ------------------------------------------------------------------


async def counted(
    warroom: Warroom,
    session: aiohttp.ClientSession,
    probe: AckProbe,
    payload: Callable[[], Payload],
    into: BeforeAck,
) -> Any:
    """Send one request with nothing else running; note what happened before its ack."""
    fake = warroom.fake
    if not await settle(warroom.queries, fake):
        warroom.notes.append(f"{into.label}: earlier work had not settled after 30 s")
    # Built only now: its trigger_id is valid for 3 s, and settling may take longer.
    body = payload()
    fake.reset_calls()  # afterwards, every recorded call belongs to this request
    before = warroom.queries.count
    sent = await send(session, warroom.url, body, secret=fake.signing_secret)
    ack = probe.first_after(sent.started)
    if ack is None or sent.status != 200:
        into.missing_ack += 1
        warroom.notes.append(f"{into.label}: HTTP {sent.status}, ack seen: {ack is not None}")
        return sent.json()
    into.queries.append(ack.queries - before)
    early = [call for call in fake.calls() if call.started_at <= ack.at]
    into.calls.append(len(early))
    into.call_names.update(call.method for call in early)
    into.ack_after.append(ack.at - sent.started)
    await settle(warroom.queries, fake)  # its after-ack work, before the next request
    return sent.json()


async def open_form(
    warroom: Warroom, session: aiohttp.ClientSession, probe: AckProbe, into: BeforeAck
) -> dict[str, Any]:
    fake = warroom.fake
    slack = SlackRequests(fake)
    opened = len(fake.views(USER))
    await counted(warroom, session, probe, lambda: slack.slash(USER, ""), into)
    await wait_until(lambda: len(fake.views(USER)) > opened, within=10, what="the declare form")
    return dict(fake.views(USER)[0].payload)


async def before_ack(warroom: Warroom, *, repeat: int) -> list[BeforeAck]:
    fake = warroom.fake
    slack = SlackRequests(fake)
    help_ = BeforeAck("/incident help")
    status = BeforeAck("/incident status (in its channel)")
    form = BeforeAck("/incident (opens the declare form)")
    submit = BeforeAck("declare form submitted")
    with AckProbe(lambda: warroom.queries.count) as probe:
        async with client_session(1) as session:
            for number in range(repeat):
                await counted(warroom, session, probe, lambda: slack.slash(USER, "help"), help_)
                await counted(
                    warroom,
                    session,
                    probe,
                    lambda: slack.slash(USER, "status", channel=STATUS_CHANNEL),
                    status,
                )
                view = await open_form(warroom, session, probe, form)
                values = fill_modal(view, {"Title": f"Bench ack {number}", "Severity": "P1"})
                answer = await counted(
                    warroom,
                    session,
                    probe,
                    lambda view=view, values=values: slack.view_submission(USER, view, values),
                    submit,
                )
                if not isinstance(answer, dict) or answer.get("response_action") == "errors":
                    warroom.notes.append(f"declare submission answered {answer!r:.200}")
    return [help_, status, form, submit]


# -- run and report ----------------------------------------------------------------------------


async def run(
    *, requests: int, concurrency: int, rounds: int, repeat: int, workdir: Path
) -> Result:
    fake = FakeSlack()
    fake.start()
    try:
        baseline_runner, baseline_url = await serve_locally(bare_http_app(baseline_app(fake)))
        try:
            async with running_warroom(
                fake, workdir, seed=lambda services: seed_status_incident(fake, services)
            ) as warroom:
                base, real = await latency_under_load(
                    fake,
                    warroom,
                    baseline_url,
                    requests=requests,
                    concurrency=concurrency,
                    rounds=rounds,
                )
                counts = await before_ack(warroom, repeat=repeat)
                notes = warroom.notes
        finally:
            await baseline_runner.cleanup()
    finally:
        fake.stop()
    return Result(requests, concurrency, rounds, base, real, counts, notes)


def report(result: Result) -> list[Target]:
    base, real = result.baseline, result.warroom
    print(
        f"ack latency: {result.requests} × `/incident help` per app, "
        f"{result.concurrency} concurrent, {result.rounds} interleaved rounds"
    )
    for lat in (base, real):
        p50 = percentile(lat.seconds, 50) * 1000
        p99 = percentile(lat.seconds, 99) * 1000
        answered = len(lat.seconds) - lat.not_ok
        rate = len(lat.seconds) / lat.busy if lat.busy else math.nan
        print(
            f"  {lat.label:<26} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   {rate:5.0f} req/s   "
            f"({answered}/{len(lat.seconds)} answered 200)"
        )
    p50_ratio = ratio(percentile(real.seconds, 50), percentile(base.seconds, 50))
    p99_ratio = ratio(percentile(real.seconds, 99), percentile(base.seconds, 99))
    print(f"  {'warroom / baseline':<26} p50 {p50_ratio:7.2f} ×    p99 {p99_ratio:7.2f} ×")

    print("before the ack (one request at a time, nothing else running; worst of the runs)")
    print(f"  {'request':<36} {'SQL queries':>11} {'Slack calls':>11} {'ack after':>11}")
    for row in result.before_ack:
        ack_ms = max(row.ack_after) * 1000 if row.ack_after else math.nan
        calls = f"{row.worst_calls():.0f}"
        if row.call_names:
            calls += f" ({', '.join(sorted(row.call_names))})"
        print(f"  {row.label:<36} {row.worst_queries():>11.0f} {calls:>11} {ack_ms:>8.1f} ms")
    for note in result.notes:
        print(f"  note: {note}")

    by_label = {row.label: row for row in result.before_ack}
    not_answered = float(base.not_ok + real.not_ok)
    targets = [
        Target("every request answered 200 (else the figures mean nothing)", not_answered, 0),
        Target("warroom ack p50 / baseline ack p50", p50_ratio, MAX_P50_RATIO, "{:.3f}"),
        Target(
            "/incident status: SQL queries before the ack",
            by_label["/incident status (in its channel)"].worst_queries(),
            MAX_STATUS_QUERIES,
        ),
        Target(
            "declare submission: SQL queries before the ack",
            by_label["declare form submitted"].worst_queries(),
            MAX_DECLARE_QUERIES,
        ),
    ]
    targets += [
        Target(f"{row.label}: Slack calls before the ack", row.worst_calls(), MAX_CALLS_BEFORE_ACK)
        for row in result.before_ack
    ]
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="per app")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each counted request")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args(argv)
    requests, concurrency, rounds, repeat = args.requests, args.concurrency, ROUNDS, args.repeat
    if args.quick:
        requests, concurrency, rounds, repeat = 40, 10, 1, 1
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        workdir = Path(tmp)
        log_path = workdir / "warroom.log"
        try:
            with app_logs_to(log_path):
                result = asyncio.run(
                    run(
                        requests=requests,
                        concurrency=concurrency,
                        rounds=rounds,
                        repeat=repeat,
                        workdir=workdir,
                    )
                )
        except BaseException:
            print(f"--- warroom log (tail) ---\n{tail(log_path)}", file=sys.stderr)
            raise
    return report_targets(report(result))


if __name__ == "__main__":
    sys.exit(main())
