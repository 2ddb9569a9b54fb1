"""``/privacy`` and ``/terms`` (issue 12 §6): served by the whole server to anyone, naming who
runs it (escaped), at exactly the URLs the Teams package links to."""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import build_application, migrate
from adapters.teams.package import build_package
from bot.clock import ManualClock
from tests.scenario.test_server import NOW, make_settings

CONTACT = "Quality & Safety <qi@mercy.example>"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = make_settings(tmp_path / "legal.db").model_copy(
        update={"legal_contact": CONTACT, "public_url": "https://leaderbot.mercy.example"}
    )
    await migrate(settings)
    app = await build_application(settings, clock=ManualClock(NOW))
    async with TestClient(TestServer(app.web, host="127.0.0.1")) as served:
        yield served
    await app.close()


@pytest.mark.parametrize(("path", "title"), [("/privacy", "Privacy"), ("/terms", "Terms of use")])
async def test_legal_pages_open_without_a_link_and_name_who_runs_the_server(
    client: TestClient, path: str, title: str
) -> None:
    response = await client.get(path)
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert f"<h1>{title}</h1>" in page
    assert "Quality &amp; Safety &lt;qi@mercy.example&gt;" in page and CONTACT not in page
    assert "https://leaderbot.mercy.example" in page
    assert "$" not in page  # every placeholder filled


async def test_the_teams_package_links_answer(client: TestClient, tmp_path: Path) -> None:
    package = build_package(
        "7f2b6a5e-9c0d-4e1f-8a3b-2c4d6e8f0a1b",
        tmp_path,
        public_url="https://leaderbot.mercy.example",
    )
    with zipfile.ZipFile(package) as archive:
        developer = json.loads(archive.read("manifest.json"))["developer"]
    for url in (developer["privacyUrl"], developer["termsOfUseUrl"]):
        assert (await client.get(urlsplit(url).path)).status == 200
