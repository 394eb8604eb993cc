"""The `warroom` console script and `make run`, as an operator meets them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

import store
from bot.cli import main
from sandbox.slack import FakeSlack
from tests.conftest import REPO_ROOT
from tests.e2e.driver import _STRIPPED_ENV, free_port, wait_for


def _env_without_slack() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _warroom(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=_env_without_slack(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_tokens_names_what_is_missing(tmp_path: Path) -> None:
    result = _warroom("serve", cwd=tmp_path)
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "README" in result.stderr
    assert "Create the Slack app" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_without_tokens_starts_the_sandbox(tmp_path: Path) -> None:
    """No token anywhere (an empty folder: no .env): `make run` says so in one line and
    serves the sandbox's page, within 60 s."""
    port = free_port()
    env = _env_without_slack()
    env["PORT"] = str(port)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "-f", str(REPO_ROOT / "Makefile"), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and the sandbox it starts are stopped together
    )
    try:

        def serving() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return answer.status == 200
            except OSError:
                return False

        wait_for(serving, timeout=60, what="the sandbox behind make run")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    said = [line for line in out.splitlines() if "SLACK_BOT_TOKEN is not set" in line]
    assert len(said) == 1, out
    assert "Create the Slack app" in said[0]
    assert f"http://127.0.0.1:{port}/" in out
    assert (tmp_path / "warroom-sandbox.db").exists()  # its data where it was started


def test_readme_has_the_section_the_message_points_at() -> None:
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    assert "## Create the Slack app" in readme


def test_readme_opens_with_the_two_commands() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "README.md").read_text("utf-8").splitlines()
        if line.strip().startswith("make ")
    ]
    assert lines[:2] == ["make run", "make test"]


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    env = _env_without_slack()
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'w.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "w.db").exists()


def test_policy_check_prints_ok_for_the_default_policy(tmp_path: Path) -> None:
    default = REPO_ROOT / "bot" / "policy" / "default.yaml"
    result = _warroom("policy", "check", str(default), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_policy_check_lists_problems_with_paths_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8")
    bad.write_text(text.replace("update_every: 15m", "update_every: 0m", 1), "utf-8")
    result = _warroom("policy", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "severities[0].update_every" in result.stdout


def test_python_dash_m_bot_and_console_script_agree(tmp_path: Path) -> None:
    result = _warroom("--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in ("serve", "db", "policy", "postmortem"):
        assert word in result.stdout


def _incident_in(url: str, title: str) -> int:
    """A migrated database at `url` holding one incident; its number."""
    store.upgrade(url)

    async def create() -> int:
        engine = store.make_engine(url)
        try:
            async with store.session_factory(engine)() as session:
                incident = await store.create_incident(
                    session,
                    title=title,
                    severity="P2",
                    status="investigating",
                    declared_by="U0ALICE",
                    declared_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
                )
                await session.commit()
        finally:
            await engine.dispose()
        assert incident.number is not None
        return incident.number

    return asyncio.run(create())


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL of a SQLite file in an otherwise empty folder (no developer `.env`)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WARROOM_POLICY", raising=False)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.mark.parametrize("spelling", ["{n}", "INC-{n}", "inc-{n}"])
def test_postmortem_prints_the_draft(
    database: str, spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    number = _incident_in(database, "Checkout <!channel> is down")
    assert main(["postmortem", spelling.format(n=number)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"# INC-{number}: Checkout &lt;!channel&gt; is down — post-mortem")
    assert "## Timeline" in out
    assert out.endswith("\n")


def test_postmortem_of_an_unknown_incident(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _incident_in(database, "Something")
    assert main(["postmortem", "INC-999"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "warroom: INC-999 does not exist\n"


@pytest.mark.parametrize("incident", ["abc", "INC-", "42x", "0", "99999999999", "²"])
def test_postmortem_of_a_malformed_number(
    database: str, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["postmortem", incident]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("warroom: ")
    assert err.count("\n") == 1


def test_postmortem_without_a_database_says_so_in_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["postmortem", "1"]) == 1
    assert not (tmp_path / "w.db").exists()  # nothing left behind
    (tmp_path / "w.db").touch()  # a database never migrated
    assert main(["postmortem", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert "no database at" in lines[0]
    assert "no such table" in lines[1]
    assert "warroom db upgrade" in lines[1]


def test_postmortem_uses_the_policy_template(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = _incident_in(database, "Slow search")
    policy = tmp_path / "policy.yaml"
    default = (REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8")
    policy.write_text(default + '\ntemplates:\n  postmortem: "PM {{ label }}: {{ title }}"\n')
    monkeypatch.setenv("WARROOM_POLICY", str(policy))
    assert main(["postmortem", str(number)]) == 0
    assert capsys.readouterr().out == f"PM INC-{number}: Slow search"


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"warroom {version('warroom')}"


def test_env_example_names_every_setting() -> None:
    from bot.settings import Settings
    from tests.conftest import REPO_ROOT

    example = (REPO_ROOT / ".env.example").read_text("utf-8")
    for field in Settings.model_fields:
        assert f"{field.upper()}=" in example, field


def _serve_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**_env_without_slack(), "SLACK_SIGNING_SECRET": "secret", **env}
    environment.setdefault("SLACK_BOT_TOKEN", "xoxb-start-up-test")
    environment.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("warroom:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_start_up_problems_are_one_clear_line_never_a_traceback(
    tmp_path: Path, fake: FakeSlack
) -> None:
    _one_clear_line(
        _serve_with(tmp_path, SLACK_BOT_TOKEN="xapp-1-A1-x"), "xapp-", "SLACK_APP_TOKEN"
    )
    _one_clear_line(
        _serve_with(tmp_path, SLACK_API_URL=fake.api_url), "Slack refused", "invalid_auth"
    )
    _one_clear_line(
        _serve_with(tmp_path, SLACK_API_URL="http://127.0.0.1:9/api/"),
        "cannot be reached",
        "SLACK_API_URL",
    )
    _one_clear_line(
        _serve_with(tmp_path, DATABASE_URL="postgresql://warroom:s3cret@127.0.0.1:9/x"),
        "does not answer",
        "DATABASE_URL",
    )
    broken = tmp_path / "policy.yaml"
    broken.write_text("severities: []\n", "utf-8")
    _one_clear_line(_serve_with(tmp_path, WARROOM_POLICY=str(broken)), "policy", "invalid")
    secret = _serve_with(tmp_path, DATABASE_URL="postgresql://warroom:s3cret@127.0.0.1:9/x")
    assert "s3cret" not in secret.stderr  # a password never reaches the log


def test_policy_doc_renders_each_example_procedure(tmp_path: Path) -> None:
    for path in sorted((REPO_ROOT / "examples" / "policies").glob("*.yaml")):
        result = _warroom("policy", "doc", str(path), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Severities" in result.stdout
        html = _warroom("policy", "doc", str(path), "--format", "html", cwd=tmp_path)
        assert html.stdout.lower().startswith("<!doctype html>")
    built_in = _warroom("policy", "doc", cwd=tmp_path)
    assert built_in.returncode == 0
    assert "P1" in built_in.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("severities: []\n", "utf-8")
    refused = _warroom("policy", "doc", str(broken), cwd=tmp_path)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
