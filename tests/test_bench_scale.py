"""`python -m bench.scale --quick` runs to the end and prints its figures.

Whether warroom meets the targets is the benchmark's own verdict (its exit status); here
only a crash, a usage error or a missing figure fails. The burst (about 70 s) is not part of
the quick run.
"""

from __future__ import annotations

import re

from tests.test_bench_ack import NUMBER, run_quick


def test_quick_run_prints_every_figure() -> None:
    done = run_quick("bench.scale")
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a target was missed
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert re.search(rf"with the 10-incident app\s+{NUMBER} MiB", out), out
    assert re.search(rf"and the 500-incident app too\s+{NUMBER} MiB", out), out
    tick_lines = re.findall(
        rf"^  (\w+)\s+(10|500)\s+{NUMBER} ms\s+\d+ │\s+{NUMBER} ms\s+{NUMBER}\s+{NUMBER}",
        out,
        flags=re.MULTILINE,
    )
    jobs = {job for job, _size in tick_lines}
    assert jobs, out
    assert len(tick_lines) == 2 * len(jobs), out  # every job at both sizes
    assert re.search(rf"mean at 500 / at 10:\s+{NUMBER} ×", out), out
    assert len(re.findall(r"archived \d+ of the \d+ channels due", out)) == 2, out
    for user in ("in no incident channel", "member of private incidents"):
        for size in ("10", "500"):
            assert re.search(
                rf"{user}\s+{size}\s+{NUMBER} ms\s+{NUMBER} ms\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}",
                out,
            ), out
    assert "burst:" not in out
    verdicts = re.findall(r"^  (PASS|FAIL)  ", out, flags=re.MULTILINE)
    assert len(verdicts) == len(jobs) + 10, out
    assert (done.returncode == 1) == ("FAIL" in verdicts)
