"""Benchmark: how fast is a declaration, and how many Slack round trips does it wait on?

Runs the real `warroom serve` against the fake Slack twice in this process tree: a baseline
with no Slack latency, then with `--latency` (default 100 ms) per Web API call. For each run it
declares `--n` incidents one after another and prints

- submit → ack latency (p50 / p99): what the declarer waits for the modal to answer;
- submit → announcement and submit → pinned panel (p50 / p99);
- the number of sequential Slack round trips on the critical path (must be ≤ 3);

and the ratios of the slow run to the baseline and to the ideal (round trips × latency).
Exits 1 when the critical path is longer than 3 round trips.

    python -m bench.declare [--n 20] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import metadata_posts, open_declare_form

MAX_ROUND_TRIPS = 3


@dataclass
class Run:
    latency: float
    acks: list[float]
    announced: list[float]
    pinned: list[float]
    round_trips: list[int]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def run(*, n: int, latency: float) -> Run:
    fake = FakeSlack(rate_limits=False)
    fake.start()
    result = Run(latency=latency, acks=[], announced=[], pinned=[], round_trips=[])
    with tempfile.TemporaryDirectory() as tmp:
        server = WarroomServer(fake=fake, workdir=Path(tmp))
        server.start()
        slack = SlackDriver(server, fake)
        try:
            for number in range(1, n + 1):
                fake.latency = 0.0  # opening the form is not what is measured
                _reply, view = open_declare_form(slack, fake, "U_ALICE")
                values = fill_modal(view, {"Title": f"Bench {number}", "Severity": "P1"})
                fake.latency = latency
                started = time.monotonic()
                reply = slack.view_submission("U_ALICE", view, values)
                result.acks.append(reply.elapsed)
                announced = wait_for(
                    lambda number=number: metadata_posts(
                        fake.channel("incident-response"), "announcement", number
                    ),
                    what=f"announcement of INC-{number}",
                )
                ann_call = next(
                    c
                    for c in fake.calls("chat.postMessage")
                    if c.response and c.response.get("ts") == announced[0].ts
                )
                result.announced.append((ann_call.ended_at or 0) - started)
                pins = wait_for(
                    lambda started=started: [
                        c for c in fake.calls("pins.add") if c.ok and c.started_at > started
                    ],
                    what=f"pinned panel of INC-{number}",
                )
                result.pinned.append((pins[0].ended_at or 0) - started)
                time.sleep(latency * 2 + 0.2)  # let the declarer's DM finish
                waves = fake.critical_path(since=started, until=pins[0].ended_at)
                result.round_trips.append(len(waves))
        finally:
            server.stop()
            fake.stop()
    return result


def report(label: str, result: Run) -> None:
    print(f"{label} (Slack latency {result.latency * 1000:.0f} ms, {len(result.acks)} runs)")
    for name, values in (
        ("submit → ack", result.acks),
        ("submit → announcement", result.announced),
        ("submit → pinned panel", result.pinned),
    ):
        p50 = percentile(values, 50) * 1000
        p99 = percentile(values, 99) * 1000
        print(f"  {name:<24} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    if result.latency > 0:  # without latency no two calls overlap: nothing to count
        print(f"  sequential round trips   max {max(result.round_trips)} (limit {MAX_ROUND_TRIPS})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args(argv)
    baseline = run(n=args.n, latency=0.0)
    slow = run(n=args.n, latency=args.latency)
    report("baseline", baseline)
    report("with latency", slow)
    ideal = MAX_ROUND_TRIPS * args.latency
    p50_pinned = percentile(slow.pinned, 50)
    print("ratios")
    print(
        f"  ack p50 / baseline ack p50             "
        f"{percentile(slow.acks, 50) / max(percentile(baseline.acks, 50), 1e-6):6.2f}"
    )
    print(f"  pinned p50 / ideal ({ideal * 1000:.0f} ms)            {p50_pinned / ideal:6.2f}")
    announce_p50 = percentile(slow.announced, 50)
    print(
        f"  announcement p50 / {2 * args.latency * 1000:.0f} ms (2 trips)    "
        f"{announce_p50 / (2 * args.latency):6.2f}"
    )
    worst = max(slow.round_trips)
    if worst > MAX_ROUND_TRIPS:
        print(f"FAIL: {worst} sequential round trips on the critical path", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
