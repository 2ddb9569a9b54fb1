"""The real server and a real browser, for the dashboard's browser tests (issue 12).

``site`` runs ``leaderbot serve --demo`` exactly as ``make run`` does
(:func:`tests.browser.kit.serve_demo`), once for the session: tests that change the demo serve
their own. ``browser`` is headless Debian Chromium driven by Playwright;
when ``/usr/bin/chromium`` is missing every browser test is skipped with a loud reason
(``.ci/run`` installs it). ``new_page(width)`` opens a page at a viewport width;
``tests/browser/kit.py`` has what each page test ends with (``assert_fits``,
``screenshot``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.kit import Site, serve_demo

CHROMIUM = Path("/usr/bin/chromium")

MISSING = (
    f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)"
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it at the end of the run, where nobody misses it, when the browser was missing."""
    if not CHROMIUM.exists():
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_demo(tmp_path_factory.mktemp("site")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per test module: Playwright's sync API runs an event loop on this thread while it is
    open, which pytest-asyncio's tests in later modules could not start theirs beside."""
    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[int], Page]]:
    """Opens pages at a viewport width (390 for a phone, 1280 for a laptop); closes them after."""
    contexts = []

    def open_at(width: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield open_at
    for context in contexts:
        context.close()
