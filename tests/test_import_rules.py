"""The layers of the architecture brief, enforced on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SLACK_PACKAGES = ("slack_bolt", "slack_sdk")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _violations(folder: str, banned: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in banned:
                found.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("folder", ["bot/flows", "store"])
def test_flows_and_store_never_import_slack(folder: str) -> None:
    assert (REPO_ROOT / folder).is_dir()
    assert _violations(folder, SLACK_PACKAGES) == []


def test_store_never_imports_the_bot() -> None:
    assert _violations("store", ("bot",)) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from slack_sdk.web import WebClient\nimport slack_bolt\n")
    assert [n.split(".")[0] for n in _imports(sample)] == ["slack_sdk", "slack_bolt"]
