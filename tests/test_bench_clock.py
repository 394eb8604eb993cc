"""`python -m bench.clock --quick` runs to the end and prints its figures: no update reminder
is posted twice, and a tick with nothing due costs at 1 000 open incidents what it costs at 10.

Whether the reminders are on time (p99 ≤ 2 s) is the benchmark's own verdict, printed; here
only a crash, a missing figure, a duplicate or a costlier idle tick fails.
"""

from __future__ import annotations

import re

from tests.test_bench_ack import NUMBER, run_quick


def test_quick_run_prints_the_figures_without_duplicates_and_flat_idle_ticks() -> None:
    done = run_quick("bench.clock", sqlite_only=True)
    assert done.returncode == 0, done.stdout + done.stderr  # targets are printed, not exited on
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    databases = re.findall(r"^(sqlite|postgres): live, \d+ ticks", out, flags=re.MULTILINE)
    assert databases[:1] == ["sqlite"], out
    for label in ("10 incidents \\(baseline\\)", "1000 incidents", "1000 incidents after the run"):
        rows = re.findall(
            rf"^  {label}\s+\d+\s+\d+\s+{NUMBER} ms\s+{NUMBER} ms\s+{NUMBER}\s+0\s+{NUMBER} ×",
            out,
            flags=re.MULTILINE,
        )
        assert len(rows) >= len(databases), out  # printed for each database, nothing was due
    for figure in (
        rf"claim \(due-jobs query\)\s+p50\s+{NUMBER} ms\s+max\s+{NUMBER} ms",
        rf"jobs due per tick\s+p50\s+{NUMBER}\s+max\s+{NUMBER}",
        rf"reminder lateness\s+p50\s+{NUMBER} s\s+p99\s+{NUMBER} s\s+max\s+{NUMBER} s",
        r"p99 ≤ 2 s: (PASS|FAIL)",
        r"reminders\s+expected \d+, posted [1-9]\d*",
        rf"SQL statements\s+\d+ \({NUMBER} per reminder\)",
    ):
        assert len(re.findall(figure, out)) == len(databases), (figure, out)
    assert re.findall(r"^  duplicates\s+(\d+)$", out, flags=re.MULTILINE) == ["0"] * len(
        databases
    ), out
    targets = re.findall(r"^  (PASS|FAIL)  (.+?)  ", out, flags=re.MULTILINE)
    verdicts = {name: verdict for verdict, name in targets}
    for database in databases:
        assert verdicts[f"{database}: idle tick CPU, 1000 incidents / 10 incidents"] == "PASS", out
        assert verdicts[f"{database}: duplicate reminders"] == "PASS", out
