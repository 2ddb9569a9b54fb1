"""What browser tests share: the running demo site and its links, the overflow check,
screenshots."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
"""Screenshots land here (gitignored): a reviewer opens them to see each page."""
PHONE = 390
LAPTOP = 1280
CLI = [sys.executable, "-c", "import sys; from adapters.cli import main; sys.exit(main())"]
"""``leaderbot`` itself, run by this interpreter (the venv's script shebangs may point
elsewhere)."""
LINK = re.compile(r"https?://\S+sig=[0-9a-f]+")


@dataclass
class Site:
    """The running demo server: its base URL and the links its users would be handed."""

    base: str
    admin_link: str
    db: Path
    cwd: Path
    env: Mapping[str, str]
    _links: dict[str, str] = field(default_factory=dict)

    def console(self, handle: str, text: str) -> str:
        """What ``leaderbot console --as <handle>`` answers to ``text``, on the site's database."""
        done = subprocess.run(
            [*CLI, "console", "--as", handle],
            input=f"{text}\n",
            cwd=self.cwd,
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout + done.stderr

    def link_for(self, handle: str) -> str:
        """The personal link ``dashboard`` gives ``handle`` in the console (cached)."""
        if handle not in self._links:
            answer = self.console(handle, "dashboard")
            found = LINK.search(answer)
            assert found, f"no link in the console's answer: {answer!r}"
            self._links[handle] = found.group(0)
        return self._links[handle]


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


@contextmanager
def serve_demo(cwd: Path) -> Iterator[Site]:
    """``leaderbot serve --demo`` as ``make run`` runs it (no DASHBOARD_SECRET, a fresh SQLite
    file in ``cwd``, a free local port), with links handed out the way a user gets them: the
    admin link the server prints at start-up, and the console's ``dashboard`` for anyone else."""
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


def assert_fits(page: Page, width: int = PHONE) -> None:
    """Nothing overflows sideways: the document is no wider than the viewport."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at {width}px"


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot ``tests/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
