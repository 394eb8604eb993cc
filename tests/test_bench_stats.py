"""`python -m bench.stats --quick` runs to the end and prints its figures: three SQL statements
per call, the period read through `ix_incidents_declared_at`, and figures that are the ones the
generator put in the database (counted again here from the generated rows, with the README's
rule: declared in the period, drills, declined incidents and alerts still in triage left out).

Whether the 200 ms target is met is the benchmark's own verdict, printed; here only a crash, a
missing figure or a wrong one fails.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from bench import stats as bench
from bot.flows.metrics import parse_period
from tests.test_bench_ack import NUMBER, run_quick


def generated_in_period() -> list[dict[str, Any]]:
    period = parse_period("90d", now=bench.NOW)
    incidents = [row for block in bench.generate(bench.QUICK.big) for row in block.incidents]
    assert len(incidents) == bench.QUICK.big.incidents
    return [
        row
        for row in incidents
        if period.since <= row["declared_at"] < period.until
        and not row["drill"]
        and row["status"] not in ("declined", "triage")
    ]


def test_quick_run_reads_back_what_was_generated() -> None:
    done = run_quick("bench.stats")  # Postgres too when TEST_DATABASE_URL is set
    assert done.returncode == 0, done.stdout + done.stderr  # targets are printed, not exited on
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    databases = re.findall(r"^(sqlite|postgres): databases$", out, flags=re.MULTILINE)
    assert databases[:1] == ["sqlite"], out

    mine = generated_in_period()
    assert 0 < len(mine) < bench.QUICK.big.incidents
    big = bench.QUICK.big.label
    events = re.findall(rf"^  {big}\s+([\d ]+) events", out, flags=re.MULTILINE)
    assert [int(n.replace(" ", "")) for n in events] == [bench.QUICK.big.events] * len(databases)
    for db in databases:
        found = re.search(rf"^{db}: report_json at {big}: (\{{.*\}})$", out, flags=re.MULTILINE)
        assert found is not None, out
        figures = json.loads(found[1])
        assert figures["incidents"] == len(mine), (figures, len(mine))
        severities = Counter(row["severity"] for row in mine)
        assert {k: v["count"] for k, v in figures["by_severity"].items()} == severities
        still_open = [row for row in mine if row["status"] not in ("resolved", "closed")]
        assert figures["open"] == len(still_open) > 0
        assert figures["private"] == sum(1 for row in mine if row["private"]) > 0
        for key in ("mtta_seconds", "mttr_seconds"):
            spread = figures[key]
            assert 0 < spread["median"] <= spread["p90"], (key, spread)
        assert 0 < figures["update_adherence"] < 1

        agree = re.findall(
            rf"^{db}: figures at .+?: agree with the generator's", out, flags=re.MULTILINE
        )
        assert len(agree) == 2, out  # the baseline and the big database
        plans = re.findall(
            rf"^  (spread|counts|actions): period filter through {bench.INDEX}: yes$",
            out,
            flags=re.MULTILINE,
        )
        assert len(plans) == 3 * len(databases), out

    calls = re.findall(
        rf"^  (/incident stats|report --since)\S* .*? {NUMBER} ms\s+{NUMBER} ms\s+{NUMBER} ms"
        rf"\s+{NUMBER} ×\s+(\S+)$",
        out,
        flags=re.MULTILINE,
    )
    assert len(calls) == 6 * len(databases), out  # 3 operations × 2 databases, each backend
    assert {statements for _op, statements in calls} == {"3"}, out  # 3 statements every call
    verdicts = re.findall(r"^  (PASS|FAIL)  ", out, flags=re.MULTILINE)
    assert len(verdicts) == 3 * len(databases), out
