"""`warroom sandbox` as a separate process, for the sandbox's end-to-end tests."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.driver import REPO_ROOT, free_port, wait_for


class SandboxProcess:
    def __init__(self, workdir: Path, *extra: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.log = (workdir / "sandbox.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "sandbox", "--port", str(self.port), *extra],
            cwd=workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, self.logs()
            try:
                with urllib.request.urlopen(self.url, timeout=2) as page:
                    return page.status == 200
            except OSError:
                return False

        wait_for(answers, timeout=timeout, what="the sandbox page")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.workdir / "warroom-sandbox.db") as db:
            return db.execute(sql).fetchall()

    def logs(self) -> str:
        return (self.workdir / "sandbox.log").read_text("utf-8", "replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def api(self, name: str, body: dict[str, Any] | None = None, **query: str) -> Any:
        """The page's own API: GET state (with `query`), or POST an action."""
        url = f"{self.url}sandbox/api/{name}"
        if body is None:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
            request = urllib.request.Request(url)
        else:
            data = json.dumps(body).encode()
            request = urllib.request.Request(
                url, data=data, headers={"Content-Type": "application/json"}, method="POST"
            )
        with urllib.request.urlopen(request, timeout=20) as answer:
            return json.loads(answer.read())


@contextmanager
def running_sandbox(workdir: Path, *args: str) -> Iterator[SandboxProcess]:
    """A sandbox serving its page, stopped afterwards (its log shown when a test fails)."""
    sandbox = SandboxProcess(workdir, *args)
    try:
        sandbox.wait_ready()
        yield sandbox
    finally:
        sandbox.stop()
        print(f"--- sandbox log (tail) ---\n{sandbox.logs()[-6000:]}")
