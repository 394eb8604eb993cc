"""`warroom sandbox` in a real browser (Playwright driving Debian's Chromium): as alice,
declare through the modal and see the channel with its pinned panel; as dave, acknowledge;
post an update through the modal; 📌 a message; resolve; see the resolution in
#incident-response. A screenshot of each step goes to test-artifacts/sandbox/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.driver import REPO_ROOT, wait_for
from tests.e2e.sandboxes import SandboxProcess, running_sandbox

ARTIFACTS = REPO_ROOT / "test-artifacts" / "sandbox"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: browser tests skipped"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium at /usr/bin/chromium (apt-get install chromium): browser tests skipped",
        allow_module_level=True,
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path, "--fresh") as running:
        yield running


@pytest.fixture
def page(sandbox: SandboxProcess) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            tab.set_default_timeout(20_000)
            tab.goto(sandbox.url)
            yield tab
        finally:
            browser.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def act_as(page: Any, user: str) -> None:
    page.select_option("#user-switcher", user)
    page.wait_for_function("u => document.querySelector('#user-switcher').value === u", arg=user)


def open_channel(page: Any, name: str) -> None:
    page.locator(".nav-item", has_text=name).first.click()
    page.wait_for_function(
        "n => document.querySelector('#channel-name').textContent.includes(n)", arg=name
    )


def send(page: Any, text: str) -> None:
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")


def test_an_incident_run_in_the_browser(page: Any, sandbox: SandboxProcess) -> None:
    # As alice: /incident, the modal, the new channel with its pinned panel.
    act_as(page, "U_ALICE")
    open_channel(page, "incident-response")
    shot(page, "01-start")
    send(page, "/incident")
    modal = page.locator("form.modal")
    modal.wait_for()
    modal.locator("input[name='title/title']").fill("Checkout <b>down</b>")
    modal.locator("select[name='severity/severity']").select_option("P1")
    shot(page, "02-declare-modal")
    modal.locator("[data-role=submit]").click()
    page.locator(".nav-item", has_text="inc-1-checkout").wait_for()
    modal.locator("[data-role=close]").click()  # the "Declaring…" view
    page.locator("#modal-backdrop").wait_for(state="hidden")
    open_channel(page, "inc-1-checkout")
    panel = page.locator("#messages .message", has_text="INC-1").first
    panel.wait_for()
    assert "Checkout" in panel.inner_text()
    assert panel.locator("b", has_text="down").count() == 0  # the title is text, not markup
    page.locator("#pin-list .message", has_text="INC-1").first.wait_for(state="attached")
    shot(page, "03-incident-channel")

    # As dave: join the channel, Acknowledge on the panel.
    act_as(page, "U_DAVE")
    open_channel(page, "inc-1-checkout")
    page.click("#join")
    page.locator("#join").wait_for(state="hidden")
    page.locator("#messages button", has_text="Acknowledge").first.click()
    wait_for(
        lambda: sandbox.rows("select acknowledged_by from incidents") == [("U_DAVE",)],
        what="the acknowledgement",
    )
    page.locator("#messages", has_text="acknowledged").wait_for()
    shot(page, "04-acknowledged")

    # As alice: an update through the modal.
    act_as(page, "U_ALICE")
    open_channel(page, "inc-1-checkout")
    page.locator("#messages button", has_text="Post update").first.click()
    modal.wait_for()
    modal.locator("textarea[name='impact/impact']").fill("Checkout fails for a third of users")
    modal.locator("textarea[name='actions/actions']").fill("Rolling back the deploy")
    modal.locator("[data-role=submit]").click()
    page.locator("#modal-backdrop").wait_for(state="hidden")
    page.locator("#messages .message", has_text="Update #1").first.wait_for()
    shot(page, "05-update")

    # A message 📌'd onto the timeline.
    send(page, "Rollback finished at the edge")
    message = page.locator("#messages .message", has_text="Rollback finished").first
    message.wait_for()
    message.hover()
    message.locator("button[data-react=pushpin]").click()
    wait_for(
        lambda: (
            ("Rollback finished at the edge",)
            in sandbox.rows("select text from timeline_events where kind = 'message'")
        ),
        what="the 📌'd message on the timeline",
    )
    shot(page, "06-pinned-to-timeline")

    # Resolve through the modal; the resolution reaches #incident-response.
    send(page, "/incident resolve")
    modal.wait_for()
    modal.locator("textarea[name='summary/summary']").fill("Rolled back; checkout works")
    modal.locator("[data-role=submit]").click()
    page.locator("#modal-backdrop").wait_for(state="hidden")
    wait_for(
        lambda: sandbox.rows("select status from incidents") == [("resolved",)],
        what="the resolution",
    )
    open_channel(page, "incident-response")
    page.locator("#messages", has_text="resolved").wait_for()
    shot(page, "07-resolution-announced")
    # The title as typed, shown as text (escaped), never as markup.
    assert "Checkout <b>down</b>" in page.locator("#messages").inner_text()
