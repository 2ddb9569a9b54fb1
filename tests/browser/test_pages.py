"""The leader's pages in real headless Chromium against ``leaderbot serve --demo`` (issue 12).

A leader opens the link the bot gave them, sees what waits on them, opens an ask and a
blocker and reads their history; the admin's start-up link opens the overview; expired,
tampered and other-organization links are refused with a page that says how to get one. Every
page fits a 390 px phone and leaves a screenshot in ``tests/artifacts/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page

from adapters.web import sign_link
from adapters.web.link_key import key_file
from bot.model import Ask, Organization, Person, Project
from storage.database import Database
from tests.browser.kit import LAPTOP, PHONE, Site, assert_fits, screenshot

OTHER_ASK = "Other Trust's confidential ask"


def _open(page: Page, url: str) -> int:
    response = page.goto(url)
    assert response is not None
    return response.status


def _key(site: Site) -> bytes:
    path = key_file(f"sqlite+aiosqlite:///{site.db}")
    assert path is not None and path.exists(), "make run's server keeps its link key beside the db"
    return path.read_bytes().strip()


def _query(link: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}


async def _other_organization(site: Site) -> tuple[int, int, int]:
    """A second organization in the same database, with a person and an ask of its own."""
    db = Database(f"sqlite+aiosqlite:///{site.db}")
    try:
        async with db.uow() as uow:
            org = await uow.organizations.add(Organization(name="Other Trust"))
            zoe = await uow.people.add(
                Person(organization_id=org.id, handle="zoe", name="Zoe Other")
            )
            project = await uow.projects.add(
                Project(organization_id=org.id, key="HIDDEN", name="Hidden project")
            )
            ask = await uow.asks.add(
                Ask(
                    organization_id=org.id,
                    project_id=project.id,
                    requester_id=zoe.id,
                    assignee_id=zoe.id,
                    area="*",
                    text=OTHER_ASK,
                    created_at=datetime.now(UTC),
                )
            )
            await uow.commit()
            return org.id, zoe.id, ask.id
    finally:
        await db.close()


@pytest.fixture(scope="module")
def other(site: Site) -> tuple[int, int, int]:
    # Playwright's sync API keeps an event loop running on this thread: use another one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _other_organization(site)).result()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_a_leader_opens_their_link_sees_waiting_on_you_and_an_asks_history(
    site: Site, new_page: Callable[[int], Page], width: int
) -> None:
    page = new_page(width)
    assert _open(page, site.link_for("raj")) == 200
    assert urlsplit(page.url).path == "/dashboard/waiting"
    assert page.locator("h1").inner_text() == "Waiting on you, Raj Patel"
    asks = page.get_by_role("region", name="Asks to decide")
    assert "Fund the sepsis screening tool licence" in asks.inner_text()
    assert "Release two healthcare assistants" not in page.content()  # Dana's, not Raj's
    assert_fits(page, width)
    screenshot(page, f"waiting-on-you-{width}")

    asks.get_by_role("link", name="Fund the sepsis screening tool licence", exact=False).click()
    assert urlsplit(page.url).path.startswith("/dashboard/asks/")
    assert "£4,000 a year" in page.locator(".text").inner_text()
    history = page.get_by_role("region", name="History").inner_text()
    assert "Raised and routed" in history and "Ana Silva" in history
    assert "Raj Patel" in history  # routed to him, named instead of person:<id>
    assert "Card sent" in history  # and whether it reached him
    facts = page.locator("dl.facts").inner_text()
    assert "Decides" in facts and "Raj Patel" in facts and "Needed by" in facts
    assert_fits(page, width)
    screenshot(page, f"ask-{width}")


def test_a_blocker_shows_at_its_rung_and_on_its_own_page(
    site: Site, new_page: Callable[[int], Page]
) -> None:
    page = new_page(PHONE)
    assert _open(page, site.link_for("eve")) == 200
    blockers = page.get_by_role("region", name="Blockers at your rung")
    blockers.get_by_role("link", name="Lab system access", exact=False).click()
    assert urlsplit(page.url).path.startswith("/dashboard/blockers/")
    facts = page.locator("dl.facts").inner_text()
    assert "Eve Martin (now)" in facts and "high" in facts
    history = page.inner_text("ol.timeline")
    assert "Raised, with its escalation ladder" in history
    assert "ladder Eve Martin → Dr Carmen Diaz" in history  # names, not ids
    assert_fits(page)
    screenshot(page, "blocker-390")


def test_the_admins_start_up_link_opens_the_overview(
    site: Site, new_page: Callable[[int], Page]
) -> None:
    page = new_page(PHONE)
    assert _open(page, site.admin_link) == 200
    assert urlsplit(page.url).path == "/dashboard/overview"
    assert "Northfield Health (demo)" in page.inner_text("header")
    assert page.get_by_role("link", name="Overview").is_visible()
    assert_fits(page)
    screenshot(page, "overview-390")


def test_a_non_admin_cannot_open_the_overview(site: Site, new_page: Callable[[int], Page]) -> None:
    page = new_page(PHONE)
    link = site.link_for("raj")
    assert _open(page, link.replace("/dashboard?", "/dashboard/overview?")) == 403
    assert "for the organization's admins" in page.inner_text("main")


@pytest.mark.parametrize("case", ["expired", "tampered", "no link"])
def test_bad_links_are_refused_with_a_page_that_says_how_to_get_one(
    site: Site, new_page: Callable[[int], Page], case: str
) -> None:
    page = new_page(PHONE)
    query = _query(site.link_for("raj"))
    if case == "expired":
        query = _query(
            sign_link(
                key=_key(site),
                organization_id=int(query["org"]),
                person_id=int(query["p"]),
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    if case == "tampered":
        query["p"] = str(int(query["p"]) + 1)  # someone else's page with Raj's signature
    url = f"{site.base}/dashboard?{urlencode(query)}" if case != "no link" else site.base
    assert _open(page, url + ("/dashboard" if case == "no link" else "")) == 401
    main = page.inner_text("main")
    assert "type `dashboard` to the bot" in main
    assert ("expired" in main) is (case == "expired")
    assert "Waiting on you" not in page.content()
    assert_fits(page)
    screenshot(page, f"refused-{case.replace(' ', '-')}-390")


def test_another_organizations_link_sees_nothing_of_this_one(
    site: Site, new_page: Callable[[int], Page], other: tuple[int, int, int]
) -> None:
    org, zoe, their_ask = other
    theirs = sign_link(
        key=_key(site),
        organization_id=org,
        person_id=zoe,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        base_url=site.base,
    )
    page = new_page(PHONE)
    assert _open(page, theirs) == 200
    assert OTHER_ASK in page.content() and "Sepsis" not in page.content()
    # Raj's ask id, opened with Zoe's link: not in her organization.
    raj = new_page(PHONE)
    _open(raj, site.link_for("raj"))
    raj.get_by_role("link", name="Fund the sepsis", exact=False).click()
    demo_ask = urlsplit(raj.url).path
    assert _open(page, f"{site.base}{demo_ask}?{urlsplit(theirs).query}") == 404
    assert "Fund the sepsis" not in page.content()
    # Zoe's ask, opened with a demo link: refused the same way.
    assert _open(raj, f"{site.base}/dashboard/asks/{their_ask}?{urlsplit(raj.url).query}") == 404
    assert OTHER_ASK not in raj.content()
    # Zoe's signature with the demo organization's id: the signature no longer matches.
    forged = theirs.replace(f"org={org}", f"org={_query(site.link_for('raj'))['org']}")
    assert _open(page, forged) == 401
