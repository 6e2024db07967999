"""Browser tests: a real server on 127.0.0.1 (a thread), Debian's chromium driven by Playwright.

With REQUIRE_BROWSER=1 (set by .ci/run) a missing chromium or Playwright fails the tests instead of skipping.
On failure every open page is saved as a screenshot under tests/screenshots/failures/.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import NOW
from tests.web import conftest as web_conftest

synced = web_conftest.synced  # the synced bundled calendar, shared with the web tests

CHROMIUM = os.environ.get("EVENTPROMO_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("REQUIRE_BROWSER") == "1"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FAILURES = Path(__file__).resolve().parent.parent / "screenshots" / "failures"


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"the browser is required (REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Playwright is not installed ({exc})")
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} does not exist (make browser installs Debian's chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Remember each phase's report on the test item, so fixtures know whether the test failed."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def live_server(synced: Any) -> Iterator[str]:
    """The app served by a real HTTP server on 127.0.0.1 (a random port), clock pinned to NOW."""
    from service.web import create_app

    app = create_app(runtime=synced)
    app.config.update(EVENTPROMO_NOW=NOW)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context; its pages are screenshotted if the test fails."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    ctx.errors = errors
    yield ctx
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for i, page in enumerate(ctx.pages):
            try:
                page.screenshot(path=str(FAILURES / f"{name}-{i}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"screenshot of page {i} failed: {exc}")
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    """A page in the context, with console messages collected on `page.console_messages`."""
    pg = context.new_page()
    messages: list[str] = []
    pg.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    pg.console_messages = messages
    return pg
