"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Without /usr/bin/chromium the browser tests skip with a loud reason on a developer's
machine, and fail under CI=true, where a skipped browser test would hide a defect.
"""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the
# tests themselves are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LABSTUDY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TABLET = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1024, "height": 768}
DESKTOP = {"width": 1366, "height": 900}


class _Requests:
    """How many requests the live server is handling right now (Django's request signals;
    this receiver runs after Django's own close_old_connections).

    The live server handles each request in a thread of its own; a request in the main
    thread is a test's own django.test.Client, which never finishes a streamed response
    it does not read (an export, an import's confirm page) and would otherwise keep the
    count up until the next browser test's teardown had waited its full 10 s."""

    lock = threading.Lock()
    active = 0

    @staticmethod
    def _live_server() -> bool:
        return threading.current_thread() is not threading.main_thread()

    @classmethod
    def started(cls, **kwargs):
        if cls._live_server():
            with cls.lock:
                cls.active += 1

    @classmethod
    def finished(cls, **kwargs):
        if cls._live_server():
            with cls.lock:
                cls.active = max(0, cls.active - 1)


request_started.connect(_Requests.started, weak=False, dispatch_uid="browser-tests-started")
request_finished.connect(_Requests.finished, weak=False, dispatch_uid="browser-tests-finished")


@pytest.fixture(autouse=True)
def _live_server_settles():
    """Before the test database is flushed, wait for the live server's requests to end.

    A request still running when the test ends (a tap or a queue replay the page sent just
    before its context closed) holds a lock the flush's TRUNCATE waits for, while it waits
    for a table the flush has already taken: PostgreSQL reports a deadlock, the database
    is left unflushed and the next test on that worker fails too (seen in CI). This
    fixture is set up after pytest-django's live-server helper, so it is torn down before
    it: after the test's browser contexts have closed, before the flush.
    """
    yield
    time.sleep(0.05)  # a request the closing browser sent may not have started yet
    deadline = time.monotonic() + 10
    while _Requests.active and time.monotonic() < deadline:
        time.sleep(0.05)
    with _Requests.lock:
        _Requests.active = 0  # a request that raised before request_finished: start clean


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}")
        pytest.skip(f"BROWSER TESTS SKIPPED — {message}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # expect() waits as long as the pages' default
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page at a viewport; `login` signs in through the real login form."""
    contexts = []

    def make(viewport=TABLET):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(30_000)  # a loaded 2-core CI machine
        contexts.append(context)
        page = context.new_page()
        page.server_url = live_server.url  # for sign_in's cookie
        return page

    yield make
    for context in contexts:
        context.close()


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def sign_in(page, username: str) -> None:
    """Signed in as `username` and on the home page, as `login` leaves the browser, without
    the sign-in form's two requests: the session is made the way the form's view makes it
    and its cookie handed to the browser. For tests about something after signing in; the
    form itself is tested with `login` (tests/browser/test_study_pages.py and others)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": cookie.key, "value": cookie.value, "url": page.server_url, "httpOnly": True}]
    )
    page.goto("/")


def wait_until(page, script: str, arg=None, timeout: float = 30.0) -> None:
    """Wait until `script` (a JS function, which may be async) gives a truthy value.

    Not `page.wait_for_function` for promises: it does not await them, and a promise is
    truthy, so `async () => ...` or `.then(...)` passed there returns at once.
    `page.evaluate` awaits them; this polls it."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout:.0f} s: {script}")
        page.wait_for_timeout(50)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def too_small_targets(page) -> list[str]:
    """Visible buttons, links styled as buttons and form controls smaller than 48 px,
    anywhere on the page (the navigation bar's Sign out and home link included)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
              'button, .btn, input:not([type=hidden]):not([type=checkbox]),'
              + ' select, textarea, .nav-link, .navbar-brand')]
            .filter(el => el.offsetParent !== null)
            .filter(el => { const r = el.getBoundingClientRect();
                            return r.height < 48 || r.width < 48; })
            .map(el => (el.innerText || el.name || el.outerHTML).trim().slice(0, 60))"""
    )
