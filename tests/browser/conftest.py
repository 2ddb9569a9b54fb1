"""The real server and a real browser, for the dashboard's browser tests (issue 12).

``site`` runs ``leaderbot serve --demo`` exactly as ``make run`` does (no DASHBOARD_SECRET, a
fresh SQLite file, a free local port) and hands out links the way a user gets them: the admin
link the server prints at start-up, and ``leaderbot console --as <handle>`` answering
``dashboard`` for anyone else. ``browser`` is headless Debian Chromium driven by Playwright;
when ``/usr/bin/chromium`` is missing every browser test is skipped with a loud reason
(``.ci/run`` installs it). ``new_page(width)`` opens a page at a viewport width;
``tests/browser/kit.py`` has what each page test ends with (``assert_fits``,
``screenshot``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.kit import CLI, LINK, Site

CHROMIUM = Path("/usr/bin/chromium")

MISSING = (
    f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)"
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it at the end of the run, where nobody misses it, when the browser was missing."""
    if not CHROMIUM.exists():
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(db: Path, port: int) -> dict[str, str]:
    """``make run``'s environment: a database file and a port (no secret, no platform)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("SLACK_", "MICROSOFT", "DASHBOARD_", "ADMIN_", "PUBLIC_"))
    }
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{db}", PORT=str(port), LOG_LEVEL="INFO")
    return env


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    cwd = tmp_path_factory.mktemp("site")
    db = cwd / "leaderbot.db"
    port = _free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        env=_env(db, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        admin_link = ""
        for line in process.stdout:
            if found := LINK.search(line):
                admin_link = found.group(0)
            if "listening on" in line:
                break
        assert admin_link, "serve --demo printed no admin link"
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        yield Site(base=base, admin_link=admin_link, db=db, cwd=cwd, env=_env(db, port))
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


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
