"""What browser tests share: the running site's links, the overflow check, screenshots."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
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

    def link_for(self, handle: str) -> str:
        """The personal link ``dashboard`` gives ``handle`` in the console (cached)."""
        if handle not in self._links:
            done = subprocess.run(
                [*CLI, "console", "--as", handle],
                input="dashboard\n",
                cwd=self.cwd,
                env=dict(self.env),
                capture_output=True,
                text=True,
                timeout=60,
            )
            found = LINK.search(done.stdout)
            assert found, f"no link in the console's answer: {done.stdout!r} {done.stderr!r}"
            self._links[handle] = found.group(0)
        return self._links[handle]


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
