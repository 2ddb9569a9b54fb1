"""The overview, a project's page and the responsiveness page through the real server, on the
demo lived through for three weeks (tests/lived_demo.py), as an admin and as a leader."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import pytest
from aiohttp.test_utils import TestClient

from bot.ports import UnitOfWorkFactory
from tests.lived_demo import lived_site

KEY = b"pages-link-key"


@pytest.fixture
async def site(
    sql_uow_factory: UnitOfWorkFactory,
) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    async with lived_site(sql_uow_factory, key=KEY, handles=("ana", "ben", "carmen")) as served:
        yield served


async def _page(client: TestClient, path: str, query: str, status: int = 200) -> str:
    response = await client.get(f"{path}?{query}")
    assert response.status == status, await response.text()
    return await response.text()


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, title: str) -> str:
    return html.split(f"<h2>{title}", 1)[1].split("<h2>", 1)[0]


async def test_the_overview_lists_projects_asks_and_blockers_and_flags_the_overdue(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    html = await _page(client, "/dashboard/overview", links["ana"])
    projects = _text(_section(html, "Projects"))
    assert "FALLS Fewer inpatient falls" in projects and "SEPSIS" in projects
    asks = _section(html, "Asks")
    # Dana's staffing ask (needed within 7 days, 20 days ago) is open and overdue.
    [overdue] = re.findall(r'<tr class="overdue">(.*?)</tr>', asks, re.S)
    assert "Release two healthcare assistants" in overdue and "overdue" in _text(overdue)
    assert 'role="img"' in asks and "1 open ask: under 1 week 0" in unescape(asks)
    assert "<h2>Undelivered</h2>" in html
    # The filter form carries the link's credentials so filtering keeps the page open.
    assert re.search(r'<input type="hidden" name="sig" value="[0-9a-f]{64}">', html)


async def test_overview_filters_by_state_project_and_person(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    closed = _text(
        _section(
            await _page(client, "/dashboard/overview", links["ana"] + "&state=closed&person=raj"),
            "Asks",
        )
    )
    assert "Fund the sepsis screening tool" in closed and "approved" in closed
    assert "Release two healthcare" not in closed
    other = await _page(client, "/dashboard/overview", links["ana"] + "&project=FALLS&state=all")
    assert "Fund the sepsis" not in other and "Release two healthcare" in other
    bad = await _page(client, "/dashboard/overview", links["ana"] + "&project=NOPE")
    assert "No project #NOPE here; nothing matches it." in bad
    assert "No asks match." in bad


async def test_a_leader_reaches_their_projects_not_the_overview(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    refused = await _page(client, "/dashboard/overview", links["ben"], status=403)
    assert "The overview is for the organization's admins." in _text(refused)
    html = await _page(client, "/dashboard/responsiveness", links["ben"])
    projects = _section(html, "Projects")
    assert "/dashboard/projects/FALLS?" in projects and "SEPSIS" not in html
    assert ">Overview</a>" not in html  # not offered in the navigation either
    assert "Fewer inpatient falls" in await _page(client, "/dashboard/projects/FALLS", links["ben"])
    refused = await _page(client, "/dashboard/projects/SEPSIS", links["ben"], status=404)
    assert "There is no project #SEPSIS among the projects you can see." in refused


async def test_the_project_page_shows_charter_stakeholders_raci_ladder_and_kpi_chart(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    html = await _page(client, "/dashboard/projects/sepsis", links["ana"])
    assert "90% of patients with red-flag sepsis" in _text(_section(html, "Charter"))
    stakeholders = _text(_section(html, "Stakeholder map"))
    assert "Sponsor Dr Carmen Diaz — CMO; owns the sepsis priority" in stakeholders
    assert "Resistors Raj Patel — Worried about screening-tool costs" in stakeholders
    raci = _section(html, "RACI matrix")
    heads = re.findall(r'<th scope="col">(.*?)</th>', raci)
    assert heads[0] == "Area" and "Raj Patel" in heads
    budget = re.search(r'<th scope="row">budget</th>(.*?)</tr>', raci, re.S)
    assert budget is not None
    letters = re.findall(r'<td class="letter ?\w*">(\w?)</td>', budget.group(1))
    assert dict(zip(heads[1:], letters, strict=True))["Raj Patel"] == "A"
    # The budget ask was decided in time, though its needed-by date has passed since.
    asks = _section(html, "Asks")
    assert "Fund the sepsis screening tool" in asks and 'class="overdue"' not in asks
    ladder = _text(_section(html, "Blockers"))
    assert "Eve Martin Accountable and executive · passed" in ladder
    assert "Dr Carmen Diaz sponsor · held it when it closed" in ladder
    kpis = _section(html, "KPIs")
    assert "<title" in kpis and "Time to antibiotics: run chart" in kpis
    for kind in ("target", "warn", "alert"):
        assert f'class="threshold {kind}"' in kpis
    assert kpis.count('class="point alert crossed"') == 1
    assert "Decision log" in html and "Funded from the safety budget" in html


async def test_the_responsiveness_page_speaks_to_the_leader(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    mine = _text(await _page(client, "/dashboard/responsiveness", links["carmen"]))
    assert "1 blocker that reached you was resolved in a median of 5 days." in mine
    assert "1 escalation reached you because an earlier rung did not act in time." in mine
    assert "Raj Patel" not in mine.split("Projects")[0]  # a leader sees their own figures
    everyone = await _page(client, "/dashboard/responsiveness", links["ana"])
    text = _text(everyone)
    assert "Dana Lee decided no asks in the last 12 weeks; 1 is overdue." in text
    assert "Worth a word with Dana Lee before the next digest: 1 overdue ask." in text
    assert everyone.count('role="img"') >= 4


async def test_the_overview_lists_closed_blockers_when_asked(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    # The demo's only blocker was resolved in its first week.
    html = await _page(client, "/dashboard/overview", links["ana"])
    assert "No blockers match." in _text(_section(html, "Blockers"))
    for state in ("closed", "all"):
        html = await _page(client, "/dashboard/overview", links["ana"] + f"&state={state}")
        blockers = _section(html, "Blockers")
        assert f"<h2>Blockers ({state})</h2>" in html
        [row] = re.findall(r"<tr>(.*?)</tr>", blockers.split("<tbody>", 1)[1], re.S)
        assert "Lab system access for the sepsis nurses" in row and "resolved" in _text(row)
        assert "past its deadline" not in row
    overdue = await _page(client, "/dashboard/overview", links["ana"] + "&state=overdue")
    assert "No blockers match." in _text(_section(overdue, "Blockers"))


async def test_admins_are_offered_the_downloads_with_their_credentials(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = site
    for path in ("/dashboard/overview", "/dashboard/projects/SEPSIS"):
        section = _section(await _page(client, path, links["ana"]), "Downloads")
        hrefs = [unescape(h) for h in re.findall(r'<a href="([^"]+)" download>', section)]
        assert [h.split("?")[0] for h in hrefs] == [
            f"/dashboard/export/{kind}.csv"
            for kind in ("asks", "blockers", "decisions", "kpis", "audit")
        ]
        decisions = await client.get(hrefs[2])  # the link alone opens the download
        assert decisions.status == 200, await decisions.text()
        assert "Funded from the safety budget" in await decisions.text()
    # A leader's project page offers no download (it would refuse them).
    assert "<h2>Downloads" not in await _page(client, "/dashboard/projects/FALLS", links["ben"])
