"""`python -m sandbox.slack --port N` runs the fake standalone with the demo workspace."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from slack_sdk import WebClient

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_standalone_server_prints_its_url_and_serves_the_demo_workspace() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.slack", "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        api_url = process.stdout.readline().strip()
        assert api_url == f"http://127.0.0.1:{port}/api/"
        settings = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
        assert settings["SLACK_API_URL"] == api_url
        client = WebClient(base_url=api_url, token=settings["SLACK_BOT_TOKEN"])
        assert client.auth_test()["ok"] is True
        names = {c["name"] for c in client.conversations_list()["channels"]}
        assert names == {"general", "incident-response", "leadership"}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
