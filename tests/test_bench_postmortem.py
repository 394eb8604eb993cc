"""`python -m bench.postmortem --quick` runs to the end, prints its figures, and the draft of
a 10 000-event incident is read and rendered within the 500 ms target on SQLite."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from tests.test_bench_ack import NUMBER, run_quick


def _measured() -> tuple[subprocess.CompletedProcess[str], list[Any], dict[str, float]]:
    done = run_quick("bench.postmortem", sqlite_only=True)
    assert "Traceback" not in done.stderr, done.stderr
    rows = re.findall(
        rf"^  (sqlite|postgres)\s+(10|10 000) events, (2|200) updates.*?"
        rf"({NUMBER}) ms\s+({NUMBER}) ms\s+({NUMBER}) ms\s+({NUMBER}) ×",
        done.stdout,
        flags=re.MULTILINE,
    )
    sqlite = {events: float(total) for db, events, _u, _l, _r, total, _x in rows if db == "sqlite"}
    return done, rows, sqlite


def test_quick_run_meets_the_target_on_sqlite() -> None:
    done, rows, sqlite = _measured()
    if sqlite.get("10 000", 0) >= 500:
        # Measured once more: a shared two-core machine busy elsewhere misses a target once;
        # a regression misses it twice.
        done, rows, sqlite = _measured()
    out = done.stdout
    assert set(sqlite) == {"10", "10 000"}, out
    assert sqlite["10 000"] < 500, out
    assert re.search(r"^  PASS  sqlite: draft of 10 000 events", out, flags=re.MULTILINE), out
    verdicts = re.findall(r"^  (PASS|FAIL)  ", out, flags=re.MULTILINE)
    assert len(verdicts) == len({db for db, *_ in rows}), out
    assert (done.returncode == 1) == ("FAIL" in verdicts), out
