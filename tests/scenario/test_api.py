"""``/api/v1`` through the real server: the OpenAPI document validates, every path in it answers
200 with a body its schema accepts (as an admin and as a leader with a personal link), and a
leader sees only the projects they are part of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from adapters.web import sign_link
from adapters.web.api import ENDPOINTS
from bot.model import Organization, Person, Project, Role, Stakeholder
from bot.ports import UnitOfWorkFactory
from tests.lived_demo import NOW, lived_site

ADMIN = "api-admin-token"
KEY = b"api-link-key"


@pytest.fixture
async def api(
    sql_uow_factory: UnitOfWorkFactory,
) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    """The server on the lived demo, and a personal link's query for each demo person."""
    async with lived_site(
        sql_uow_factory, key=KEY, handles=("ana", "ben", "dana", "raj"), admin_token=ADMIN
    ) as served:
        yield served


async def _document(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    return document


def _schema_of(document: dict[str, Any], path: str, status: str = "200") -> dict[str, Any]:
    response = document["paths"][path]["get"]["responses"][status]
    return {**response["content"]["application/json"]["schema"], **document}


async def test_the_document_validates_and_lists_every_endpoint(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = api
    document = await _document(client)
    validate(document)
    assert set(document["paths"]) == set(ENDPOINTS)


@pytest.mark.parametrize("who", ["admin token", "ana (admin)", "dana (leader)"])
async def test_every_documented_path_answers_with_its_schema(
    api: tuple[TestClient, dict[str, str]], who: str
) -> None:
    client, links = api
    credentials = f"token={ADMIN}" if who == "admin token" else links[who.split()[0]]
    document = await _document(client)
    # The first ask and blocker the viewer's lists show, for the item paths.
    listed = {
        kind: (await (await client.get(f"/api/v1/{kind}?state=all&{credentials}")).json())[kind]
        for kind in ("asks", "blockers")
    }
    for path in document["paths"]:
        url = path.replace("{key}", "FALLS")
        if "{id}" in path:
            url = url.replace("{id}", str(listed[path.split("/")[3]][0]["id"]))
        response = await client.get(f"{url}?{credentials}")
        if path == "/api/v1/waiting" and who == "admin token":
            assert response.status == 403  # no person behind the token: nothing waits on it
            jsonschema.validate(await response.json(), _schema_of(document, path, "403"))
            continue
        assert response.status == 200, (path, await response.text())
        body = await response.json()
        jsonschema.validate(body, _schema_of(document, path))
        if path not in ("/api/v1/undelivered", "/api/v1/blockers", "/api/v1/waiting"):
            # Each list has rows, so their schemas were really exercised.
            assert all(v for k, v in body.items() if isinstance(v, list) and k != "notices"), (
                path,
                body,
            )
    refused = await client.get("/api/v1/asks")
    jsonschema.validate(await refused.json(), _schema_of(document, "/api/v1/asks", "401"))


async def test_a_leader_sees_only_their_projects(api: tuple[TestClient, dict[str, str]]) -> None:
    client, links = api
    ben = links["ben"]  # leads FALLS, nothing on SEPSIS
    projects = await (await client.get(f"/api/v1/projects?{ben}")).json()
    assert [p["key"] for p in projects["projects"]] == ["FALLS"]
    hidden = await client.get(f"/api/v1/projects/SEPSIS?{ben}")
    assert hidden.status == 404 and (await hidden.json())["error"] == "There is no such item here."
    kpis = await (await client.get(f"/api/v1/kpis?{ben}")).json()
    assert [k["name"] for k in kpis["kpis"]] == ["Falls per 1000 bed days"]
    decisions = await (await client.get(f"/api/v1/decisions?{ben}")).json()
    assert decisions["decisions"] == []  # the only decisions are SEPSIS's
    mine = await (await client.get(f"/api/v1/responsiveness?{links['raj']}")).json()
    assert [leader["name"] for leader in mine["leaders"]] == ["Raj Patel"]
    assert mine["leaders"][0]["sentences"][0] == (
        "You decided 1 ask in a median of 2 days; none is waiting."
    )
    everyone = await (await client.get(f"/api/v1/responsiveness?token={ADMIN}")).json()
    assert len(everyone["leaders"]) > 1
    assert "Raj Patel decided 1 ask" in everyone["leaders"][-1]["sentences"][0]


async def test_asks_take_the_overview_filters(api: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = api
    overdue = await (await client.get(f"/api/v1/asks?token={ADMIN}&state=overdue")).json()
    assert [(a["assignee"], a["overdue"]) for a in overdue["asks"]] == [("Dana Lee", True)]
    assert overdue["filters"] == {"state": "overdue"}
    closed = await (await client.get(f"/api/v1/asks?token={ADMIN}&state=closed&person=raj")).json()
    assert [(a["assignee"], a["state"]) for a in closed["asks"]] == [("Raj Patel", "approved")]
    unknown = await (await client.get(f"/api/v1/asks?token={ADMIN}&project=NOPE")).json()
    assert unknown["asks"] == []
    assert unknown["notices"] == ["No project #NOPE here; nothing matches it."]


async def test_the_project_detail_holds_the_raci_grid_and_kpi_observations(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = api
    body = await (await client.get(f"/api/v1/projects/sepsis?token={ADMIN}")).json()
    project = body["project"]
    assert project["key"] == "SEPSIS" and project["rag"] == "amber"
    grid = project["raci"]
    budget = dict(zip(grid["people"], grid["rows"][0]["letters"], strict=True))
    assert grid["rows"][0]["area"] == "budget" and grid["rows"][-1]["area"] == "*"
    assert (budget["Raj Patel"], budget["Dr Carmen Diaz"], budget["Dana Lee"]) == ("A", "I", "")
    roles = {g["role"]: [p["name"] for p in g["people"]] for g in project["stakeholders"]}
    assert roles["sponsor"] == ["Dr Carmen Diaz"] and roles["resistor"] == ["Raj Patel"]
    [blocker] = project["blockers"]
    assert [(r["name"], r["state"]) for r in blocker["ladder"]] == [
        ("Eve Martin", "passed"),
        ("Dr Carmen Diaz", "closed"),
    ]
    [kpi] = project["kpis"]
    assert [(o["value"], o["level"]) for o in kpi["observations"]] == [
        (85.0, "warn"),
        (78.0, "warn"),
        (95.0, "alert"),
    ]


async def test_another_organization_sees_none_of_the_demo(
    api: tuple[TestClient, dict[str, str]], sql_uow_factory: UnitOfWorkFactory
) -> None:
    client, links = api
    async with sql_uow_factory() as uow:
        other = await uow.organizations.add(Organization(name="Other Trust"))
        zoe = await uow.people.add(Person(organization_id=other.id, handle="zoe", name="Zoe Kim"))
        hidden = await uow.projects.add(
            Project(organization_id=other.id, key="HIDDEN", name="Other trust's project")
        )
        await uow.stakeholders.add(
            Stakeholder(project_id=hidden.id, person_id=zoe.id, role=Role.SPONSOR)
        )
        await uow.commit()
    link = sign_link(
        key=KEY, organization_id=other.id, person_id=zoe.id, expires_at=NOW + timedelta(days=1)
    )
    theirs = urlsplit(link).query
    demo_words = ("SEPSIS", "FALLS", "Dana Lee", "Raj Patel", "antibiotics", "Northfield")
    demo_ask = (await (await client.get(f"/api/v1/asks?{links['ana']}")).json())["asks"][0]["id"]
    for path in ENDPOINTS:
        url = path.replace("{key}", "HIDDEN").replace("{id}", str(demo_ask))
        response = await client.get(f"{url}?{theirs}")
        # The demo's ask (and no blocker of theirs) is "no such item" to them.
        assert response.status == (404 if "{id}" in path else 200), path
        body = await response.text()
        assert not [w for w in demo_words if w in body], (path, body)
    # The demo's own admin cannot open the other organization's project by its key.
    mine = await client.get(f"/api/v1/projects/HIDDEN?{links['ana']}")
    assert mine.status == 404


async def test_a_leader_reads_what_waits_on_them_and_an_items_history(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, links = api
    mine = (await (await client.get(f"/api/v1/waiting?{links['dana']}")).json())["waiting"]
    assert mine["name"] == "Dana Lee" and mine["today"] == NOW.date().isoformat()
    [ask] = mine["asks"]
    assert ask["text"].startswith("Release two healthcare assistants")
    raj = (await (await client.get(f"/api/v1/waiting?{links['raj']}")).json())["waiting"]
    assert [d["rationale"] for d in raj["decisions"]] == ["Funded from the safety budget"]
    item = (await (await client.get(f"/api/v1/asks/{ask['id']}?{links['dana']}")).json())["ask"]
    assert (item["kind"], item["id"], item["project"]) == ("ask", ask["id"], "FALLS")
    assert {"label": "Decides", "value": "Dana Lee"} in item["facts"]
    assert item["events"][0]["what"] == "Raised and routed"
    budget = (await (await client.get(f"/api/v1/asks?state=closed&token={ADMIN}")).json())["asks"]
    decided = await (await client.get(f"/api/v1/asks/{budget[0]['id']}?token={ADMIN}")).json()
    [decision] = [e for e in decided["ask"]["events"] if e["what"].startswith("Decided")]
    assert (decision["who"], decision["detail"]) == ("Raj Patel", "Funded from the safety budget")
    blockers = await (await client.get(f"/api/v1/blockers?state=all&token={ADMIN}")).json()
    [blocker] = blockers["blockers"]
    history = await (await client.get(f"/api/v1/blockers/{blocker['id']}?token={ADMIN}")).json()
    assert [e["what"] for e in history["blocker"]["events"]][:1] == [
        "Raised, with its escalation ladder"
    ]
    assert any(e["what"] == "Escalated" for e in history["blocker"]["events"])
    # Ben (FALLS only) may not open SEPSIS's blocker; a made-up id is no such item.
    refused = await client.get(f"/api/v1/blockers/{blocker['id']}?{links['ben']}")
    assert refused.status == 403 and "error" in await refused.json()
    for bad in ("999999", "12a"):
        missing = await client.get(f"/api/v1/asks/{bad}?{links['dana']}")
        assert missing.status == 404
        assert (await missing.json())["error"] == "There is no such item here."
