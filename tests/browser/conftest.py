"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser).

Where /usr/bin/chromium is missing these tests skip with a message; under CI=true they fail."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by the
# test itself (setting up data) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    # pytest-xdist registers this marker, but not under `-p no:xdist` (and --strict-markers is on).
    config.addinivalue_line(
        "markers", "xdist_group(name): run these tests in one xdist worker (--dist loadgroup)"
    )


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (make test does when root)"
    for item in items:
        # Under CI=true nothing is skipped: the launch fixture below fails the test instead.
        if "tests/browser" in str(item.fspath) and os.environ.get("CI", "").lower() != "true":
            item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists() and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is required under CI=true")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live_server, started with MEDIA_URL set for the moment it starts.

    Settings have MEDIA_URL = None (uploads are never served from a public URL), which breaks
    Django's LiveServerThread: its media handler runs urlparse(None) and every request fails
    with "startswith first arg must be str ... not bytes". While the server builds its handlers
    MEDIA_URL is an absolute URL on another host, so the media handler never serves anything
    and the app still sees MEDIA_URL = None."""
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    addr = (
        request.config.getvalue("liveserver")
        or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    with override_settings(MEDIA_URL="http://media.invalid/"):
        server = LiveServer(addr)  # returns once the server thread has built its handlers
    yield server
    server.stop()


# --- shared by the journeys: signing in and out, screenshots, dialogs --------------------------


class Journey:
    """Signs people in and out and saves a numbered screenshot per step."""

    def __init__(self, page: Page, base_url: str, artifacts: Path, password: str) -> None:
        self.page = page
        self.base_url = base_url
        self.artifacts = artifacts
        self.password = password
        self.step = 0

    def shot(self, name: str) -> None:
        self.step += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=self.artifacts / f"{self.step:02d}-{name}.png", full_page=True)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def sign_in(self, email: str, full_name: str) -> None:
        page = self.page
        self.goto("/accounts/login/")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(self.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("banner").get_by_text(full_name, exact=True)).to_be_visible()

    def sign_out(self) -> None:
        page = self.page
        page.get_by_role("banner").get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


@pytest.fixture
def journey(page: Page, live_server, desk, request) -> Journey:
    page.set_default_timeout(10_000)
    output = Path(request.config.getoption("--output"))
    artifacts = output / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return Journey(page, live_server.url, artifacts, desk.password)


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every dialog (alert/confirm/prompt) the page opens; a journey expects none."""
    opened: list[str] = []

    def on_dialog(dialog) -> None:
        opened.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened
