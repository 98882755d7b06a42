"""Browser tests: Playwright for Python driving Debian's Chromium against `myia demo`.

One demo server for the whole folder (a real `myia demo` process on a loopback port: fresh
SQLite, the provider simulator behind it, the first-start certification job running), one
browser per module. Every page a test opens fails it on a request to anything but the app,
on an uncaught JavaScript exception and on a console error.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Route,
    sync_playwright,
)

from tests.sim_support import free_port, myia_command

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
STARTUP_TIMEOUT_S = 180.0
USER = ("leo@leo.com", "leoleo")
ADMIN = ("123@123.com", "123123")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Chromium reports an HTTP error answer (a 403 page a test asked for) as a console error;
# that is the server's answer, checked by the tests, not a script failing.
_HTTP_STATUS_LINE = re.compile(
    r"^Failed to load resource: the server responded with a status of 4\d\d"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup` (make test) every browser test goes to one xdist worker: one
    demo server and browser for the folder, not one per worker."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("e2e"))


@dataclass(frozen=True)
class Demo:
    """A running `myia demo`: its address and its SQLite database (for tests that store
    rows directly, as a long chat)."""

    url: str
    database_url: str
    workdir: Path


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{message} and CI=true: refusing to skip", pytrace=False)
        pytest.skip(message)


@contextlib.contextmanager
def run_demo(workdir: Path, *args: str, env_extra: dict[str, str] | None = None) -> Iterator[Demo]:
    """`make run`'s `myia demo` on a free loopback port with a new SQLite file in `workdir`
    (`args`: more options of `myia demo`); stopped with Ctrl-C on exit."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"QUEUE_URL", "REDIS_URL", "MYIA_MODE", "ENCRYPTION_SECRET", "JWT_SECRET"}
    }
    database_url = f"sqlite+aiosqlite:///{workdir / 'demo.db'}"
    env["DATABASE_URL"] = database_url
    env.update(env_extra or {})
    log = (workdir / "demo.log").open("w")
    process = subprocess.Popen(
        [*myia_command(), "demo", "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"myia demo exited: {(workdir / 'demo.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("myia demo did not become healthy in time")
            time.sleep(0.5)
        yield Demo(url=base, database_url=database_url, workdir=workdir)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The folder's shared demo (fresh SQLite, the first-start certification running)."""
    need_chromium()
    with run_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="session")
def app_url(demo: Demo) -> str:
    return demo.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    need_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watch:
    """What a page did that fails the test: foreign requests and JavaScript errors."""

    app_url: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.app_url + "/") or url == self.app_url:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not _HTTP_STATUS_LINE.match(message.text):
            self.errors.append(f"console: {message.text}")

    def check(self) -> None:
        assert not self.foreign, f"requests left the app: {self.foreign}"
        assert not self.errors, f"JavaScript errors: {self.errors}"


def open_context(browser: Browser, app_url: str) -> tuple[BrowserContext, Page, Watch]:
    watch = Watch(app_url)
    width, height = VIEWPORTS["desktop"]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    page.on("console", watch.console)
    page.set_default_timeout(15_000)
    return context, page, watch


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    context, opened, watch = open_context(browser, app_url)
    try:
        yield opened
        watch.check()
    finally:
        context.close()


def log_in(page: Page, app_url: str, email: str, password: str) -> None:
    page.goto(f"{app_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/chat$"))


def shoot(page: Page, name: str, focus: Locator | None = None) -> None:
    """The page as it is, at 1280×800 and 390×844 (what the screen shows), under
    screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        if focus is not None:  # a resize reflows the page: bring the subject back in view
            focus.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"))
    width, height = VIEWPORTS["desktop"]
    page.set_viewport_size({"width": width, "height": height})
