"""The CSV downloads in real headless Chromium: from the admin's start-up link, the overview's
decisions download hands the browser a file with the decision log's header and the demo's
decision. Its own demo site, since deciding an ask changes what the other browser tests see."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.kit import LAPTOP, Site, screenshot, serve_demo

RATIONALE = "Funded from the safety budget"


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo once Raj has approved the screening tool's ask in the console."""
    with serve_demo(tmp_path_factory.mktemp("decided")) as served:
        answer = served.console("raj", f"approve 1 {RATIONALE}")
        assert "Ask #1 approved" in answer, answer
        yield served


def test_the_admin_downloads_the_decision_log_from_the_overview(
    decided: Site, new_page: Callable[[int], Page], tmp_path: Path
) -> None:
    page = new_page(LAPTOP)
    response = page.goto(decided.admin_link)
    assert response is not None and response.status == 200
    assert page.url.split("?")[0].endswith("/dashboard/overview")
    downloads = page.get_by_role("region", name="Downloads")
    downloads.scroll_into_view_if_needed()
    screenshot(page, "overview-downloads")
    with page.expect_download() as started:
        downloads.get_by_role("link", name="decisions.csv").click()
    download = started.value
    assert download.suggested_filename.startswith("leaderbot-decisions-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    # The header line as a spreadsheet shows it (docs/import.md lists the columns).
    assert ",".join(header) == (
        "id,project,subject,subject_id,area,outcome,rationale,decided_by,for,decided_at"
    )
    [decision] = [dict(zip(header, row, strict=True)) for row in rows]
    assert (decision["project"], decision["subject"], decision["area"]) == (
        "SEPSIS",
        "ask",
        "budget",
    )
    assert decision["rationale"] == RATIONALE
    assert decision["outcome"].startswith("approved") and decision["decided_by"] == "Raj Patel"
