"""The organization's pages in real headless Chromium against ``leaderbot serve --demo``: the
admin's start-up link opens the overview, a project's row opens its page with the RACI grid and
a KPI run chart with its threshold lines, the responsiveness page has its trend charts; each
fits a 390 px phone and leaves a screenshot in ``tests/artifacts/``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.kit import LAPTOP, PHONE, Site, assert_fits, screenshot


def _overview(new_page: Callable[[int], Page], site: Site, width: int) -> Page:
    page = new_page(width)
    response = page.goto(site.admin_link)
    assert response is not None and response.status == 200
    assert page.url.split("?")[0].endswith("/dashboard/overview")
    return page


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_the_project_page_shows_the_raci_grid_and_a_kpi_run_chart(
    site: Site, new_page: Callable[[int], Page], width: int
) -> None:
    page = _overview(new_page, site, width)
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator("svg[role=img]").first.is_visible()  # open asks by age
    assert_fits(page, width)
    screenshot(page, f"overview-admin-{width}")

    page.get_by_role("link", name="SEPSIS", exact=True).first.click()
    page.wait_for_url("**/dashboard/projects/SEPSIS?*")
    grid = page.locator("table.raci")
    assert grid.is_visible()
    assert grid.locator("th[scope=row]").all_inner_texts() == ["budget", "it", "staffing", "*"]
    budget = grid.locator("tr", has=page.locator("th[scope=row]", has_text="budget"))
    assert "A" in budget.locator("td").all_inner_texts()
    chart = page.locator("figure.chart svg[role=img]").first
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    for kind in ("target", "warn", "alert"):
        assert chart.locator(f"line.threshold.{kind}").count() == 1
    assert chart.locator("circle.crossed").count() >= 1
    assert "Time to antibiotics: run chart" in (chart.locator("title").first.text_content() or "")
    assert_fits(page, width)
    screenshot(page, f"project-{width}")


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_the_responsiveness_page_fits_and_has_its_trends(
    site: Site, new_page: Callable[[int], Page], width: int
) -> None:
    page = _overview(new_page, site, width)
    page.get_by_role("link", name="Responsiveness").click()
    page.wait_for_url("**/dashboard/responsiveness?*")
    assert page.get_by_role("heading", name="Leaders").is_visible()
    assert page.locator("svg[role=img]").count() >= 2
    assert_fits(page, width)
    screenshot(page, f"responsiveness-{width}")


def test_a_leader_reads_their_own_reflection_and_opens_their_project(
    site: Site, new_page: Callable[[int], Page]
) -> None:
    page = new_page(PHONE)
    page.goto(site.link_for("raj"))
    page.get_by_role("link", name="Responsiveness").click()
    page.wait_for_url("**/dashboard/responsiveness?*")
    assert page.get_by_text("You decided no asks in the last 12 weeks", exact=False).is_visible()
    assert_fits(page)
    screenshot(page, "responsiveness-leader-390")
    page.get_by_role("link", name="#SEPSIS Sepsis six within the hour").click()
    page.wait_for_url("**/dashboard/projects/SEPSIS?*")
    assert page.locator("table.raci").is_visible()
    assert_fits(page)
