"""`python -m bench.ack --quick` runs to the end and prints its figures.

Whether warroom meets the targets is the benchmark's own verdict (its exit status); here
only a crash, a usage error or a missing figure fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"\d+(?:\.\d+)?"


def run_quick(module: str, *, sqlite_only: bool = False) -> subprocess.CompletedProcess[str]:
    """`--quick` run of a benchmark; `sqlite_only` leaves Postgres out (a smoke test of the
    figures need not pay for both databases)."""
    env = {k: v for k, v in os.environ.items() if not (sqlite_only and k == "TEST_DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", module, "--quick"],
        cwd=REPO_ROOT,  # the benchmark imports bot, store and tests from the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_quick_run_prints_every_figure() -> None:
    done = run_quick("bench.ack")
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a target was missed
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    for label in (r"baseline \(bare AsyncApp\)", "warroom"):
        assert re.search(rf"{label}\s+p50\s+{NUMBER} ms\s+p99\s+{NUMBER} ms", out), out
    assert re.search(rf"warroom / baseline\s+p50\s+{NUMBER} ×\s+p99\s+{NUMBER} ×", out), out
    for request in (
        "/incident help",
        r"/incident status \(in its channel\)",
        r"/incident \(opens the declare form\)",
        "declare form submitted",
    ):
        # SQL statements, Slack calls, then when the listener called ack()
        assert re.search(rf"{request}\s+\d+\s+\d+.*{NUMBER} ms", out), out
    verdicts = re.findall(r"^  (PASS|FAIL)  ", out, flags=re.MULTILINE)
    assert len(verdicts) == 8, out
    assert (done.returncode == 1) == ("FAIL" in verdicts)
