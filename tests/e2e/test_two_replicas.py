"""Two replicas of `warroom serve` on one Postgres: the same request reaching both (a load
balancer, Slack's retry) makes one change, one post and one DM."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sandbox.slack import FakeSlack
from store.db import sync_url
from tests.e2e.driver import SlackDriver, WarroomServer, wait_for
from tests.e2e.incidents import UNSETTLED_SQL, declare, wait_provisioned
from tests.store.conftest import EmptyDatabases

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    databases = EmptyDatabases(tmp_path)
    try:
        yield databases.new("postgres")  # skips, visibly, without TEST_DATABASE_URL
    finally:
        databases.close()


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_the_same_assignment_on_two_replicas_posts_and_dms_once(
    fake: FakeSlack, tmp_path: Path, postgres_url: str
) -> None:
    replicas = [
        WarroomServer(fake=fake, workdir=tmp_path / name, database_url=postgres_url)
        for name in ("a", "b")
    ]
    for replica in replicas:
        replica.start()
    try:
        first, second = (SlackDriver(replica, fake) for replica in replicas)
        declare(first, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
        channel = wait_provisioned(fake, 1).id
        with ThreadPoolExecutor(4) as pool:
            replies = list(
                pool.map(
                    lambda driver: driver.slash(
                        "U_ALICE", "assign scribe <@U_CAROL>", channel=channel
                    ),
                    [first, second, first, second],
                )
            )
        assert [reply.status for reply in replies] == [200] * 4
        wait_for(
            lambda: rows(postgres_url, UNSETTLED_SQL) == [(0,)],
            what="every job to finish",
        )
        posts = [m for m in fake.channel(channel).messages if "Scribe" in m.text]
        assert len(posts) == 1
        assert len(fake.dms("U_CAROL")) == 1
        assigned = "select count(*) from timeline_events where kind = 'role_assigned'"
        assert rows(postgres_url, assigned) == [(1,)]
        current = "select user_id from role_assignments where role = 'scribe' and ended_at is null"
        assert rows(postgres_url, current) == [("U_CAROL",)]
    finally:
        for replica in replicas:
            replica.stop()
            print(replica.logs()[-3000:])
