"""The server shell end to end: the real application on a temporary SQLite database, served by
aiohttp on 127.0.0.1; the real ``leaderbot`` console script in a subprocess; the CLI's errors."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from adapters.app import Application, build_application, core_session, migrate
from adapters.cli import main
from adapters.http import build_web_app, sign_dashboard_link
from adapters.settings import Settings
from bot.clock import ManualClock
from bot.model import (
    Ask,
    Decision,
    Organization,
    Person,
    Platform,
    Project,
    Rag,
    Update,
)
from tests.prometheus import kinds, sample

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ADMIN = "admin-token-for-tests"
KEY = "dashboard-key-for-tests"
LEADERBOT = Path(sys.executable).with_name("leaderbot")


def make_settings(db: Path) -> Settings:
    """Explicit values for everything that matters, so the machine's environment cannot leak in."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db}",
        admin_token=ADMIN,
        dashboard_secret=KEY,
        slack_signing_secret=None,
        slack_bot_token=None,
        microsoft_app_id="",
    )


async def seed(app: Application) -> tuple[int, int]:
    """Two organizations; the first has a project with an update, an open ask (with markup in
    its text) and a decision. Returns both organization ids."""
    async with app.uow() as uow:
        org = await uow.organizations.add(Organization(name="Mercy Hospital"))
        other = await uow.organizations.add(Organization(name="Other Trust"))
        ana = await uow.people.add(Person(organization_id=org.id, handle="ana", name="Ana Ruiz"))
        dana = await uow.people.add(Person(organization_id=org.id, handle="dana", name="Dana Lee"))
        zoe = await uow.people.add(Person(organization_id=other.id, handle="zoe", name="Zoe Kim"))
        sepsis = await uow.projects.add(
            Project(organization_id=org.id, key="SEPSIS", name="Sepsis bundle")
        )
        secret = await uow.projects.add(
            Project(organization_id=other.id, key="HIDDEN", name="Other trust's project")
        )
        await uow.updates.add(
            Update(
                project_id=sepsis.id,
                author_id=ana.id,
                period="2026-W48",
                rag=Rag.AMBER,
                progress="Pilot on ward 3",
                created_at=NOW - timedelta(days=1),
            )
        )
        await uow.asks.add(
            Ask(
                organization_id=org.id,
                project_id=sepsis.id,
                requester_id=ana.id,
                assignee_id=dana.id,
                area="staffing",
                text="Approve 0.5 FTE <script>alert(1)</script>",
                needed_by=date(2026, 12, 4),
                created_at=NOW - timedelta(days=3),
            )
        )
        await uow.asks.add(
            Ask(
                organization_id=other.id,
                project_id=secret.id,
                requester_id=zoe.id,
                assignee_id=zoe.id,
                area="*",
                text="Other trust's ask",
                created_at=NOW,
            )
        )
        await uow.decisions.add(
            Decision(
                organization_id=org.id,
                project_id=sepsis.id,
                subject_kind="free",
                outcome="Pilot extended to ward 4",
                decided_by_id=dana.id,
                decided_at=NOW - timedelta(days=2),
            )
        )
        await uow.commit()
        return org.id, other.id


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[TestClient, Application, int, int]]:
    settings = make_settings(tmp_path / "leaderbot.db")
    await migrate(settings)
    app = await build_application(settings, clock=ManualClock(NOW))
    org, other = await seed(app)
    async with TestClient(TestServer(app.web, host="127.0.0.1")) as client:
        yield client, app, org, other
    await app.close()


async def test_health_and_readiness(server: tuple[TestClient, Application, int, int]) -> None:
    client, *_ = server
    health = await client.get("/healthz")
    assert health.status == 200 and await health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200


async def test_metrics_are_prometheus_text(
    server: tuple[TestClient, Application, int, int],
) -> None:
    client, *_ = server
    await client.get("/healthz")
    await client.get("/no-such-page")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    assert kinds(text)["leaderbot_http_requests"] == "counter"
    requests = "leaderbot_http_requests_total"
    assert sample(text, requests, route="/healthz", method="GET", status="200") == 1
    assert sample(text, requests, route="unmatched", method="GET", status="404") == 1
    assert sample(text, "leaderbot_outbox_messages", state="pending") == 0
    assert sample(text, "leaderbot_database_up") == 1


async def test_dashboard_needs_a_token_or_a_signed_link(
    server: tuple[TestClient, Application, int, int],
) -> None:
    client, _, org, _ = server
    assert (await client.get("/dashboard")).status == 401
    assert (await client.get("/dashboard", params={"token": "wrong"})).status == 401
    page = await client.get("/dashboard", params={"token": ADMIN})
    assert page.status == 200
    html = await page.text()
    assert "Mercy Hospital" in html and "SEPSIS" in html and "amber" in html
    assert "Pilot extended to ward 4" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "Other trust" not in html

    link = sign_dashboard_link(org, NOW + timedelta(hours=1), key=KEY.encode())
    signed = await client.get(link)
    assert signed.status == 200 and "Approve 0.5 FTE" in await signed.text()


async def test_the_dashboard_command_hands_out_a_link_that_opens_the_dashboard(
    server: tuple[TestClient, Application, int, int],
) -> None:
    client, app, _, _ = server
    refused = await client.get("/dashboard")
    assert "type `dashboard`" in await refused.text()
    caller = await app.core.caller_for_handle("dana", platform=Platform.CONSOLE)
    assert caller is not None
    reply = await app.core.command(caller, "dashboard")
    link = reply.messages[0].sections[0].rsplit(" ", 1)[1]
    assert link.startswith("http://127.0.0.1:") and "sig=" in link
    page = await client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert page.status == 200 and "Pilot extended to ward 4" in await page.text()

    # The digest's "everything, with history" link is a personal signed one too.
    digest = (await app.core.command(caller, "digest")).messages[0]
    assert digest.link is not None and "sig=" in digest.link
    opened = await client.get(urlsplit(digest.link).path + "?" + urlsplit(digest.link).query)
    assert opened.status == 200


@pytest.mark.parametrize("case", ["expired", "forged", "other key", "malformed", "superscript"])
async def test_bad_signed_links_are_refused(
    server: tuple[TestClient, Application, int, int], case: str
) -> None:
    client, _, org, other = server
    expires = NOW + (timedelta(minutes=-1) if case == "expired" else timedelta(hours=1))
    key = b"not the key" if case == "other key" else KEY.encode()
    query = dict(
        part.split("=")
        for part in urlsplit(sign_dashboard_link(org, expires, key=key)).query.split("&")
    )
    if case == "forged":
        query["org"] = str(other)
    if case == "malformed":
        query["exp"] = "9" * 5000
    if case == "superscript":
        query["org"] = "²"
    response = await client.get("/dashboard", params=query)
    assert response.status == 401
    assert "Traceback" not in await response.text()


async def test_api_is_scoped_to_one_organization(
    server: tuple[TestClient, Application, int, int],
) -> None:
    client, _, org, other = server
    denied = await client.get("/api/v1/asks")
    assert denied.status == 401 and "error" in await denied.json()

    mine = await (await client.get("/api/v1/asks", params={"token": ADMIN})).json()
    assert mine["organization_id"] == org
    [ask] = mine["asks"]
    assert ask["text"].startswith("Approve 0.5 FTE")
    assert (ask["project"], ask["assignee"], ask["state"]) == ("SEPSIS", "Dana Lee", "open")
    assert (ask["age_days"], ask["needed_by"]) == (3, "2026-12-04")

    link = sign_dashboard_link(other, NOW + timedelta(hours=1), key=KEY.encode())
    theirs = await (await client.get("/api/v1/asks?" + urlsplit(link).query)).json()
    assert [a["text"] for a in theirs["asks"]] == ["Other trust's ask"]

    bearer = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {ADMIN}"})
    assert [p["rag"] for p in (await bearer.json())["projects"]] == ["amber"]
    decisions = await (await client.get("/api/v1/decisions", params={"token": ADMIN})).json()
    assert [d["outcome"] for d in decisions["decisions"]] == ["Pilot extended to ward 4"]
    blockers = await (await client.get("/api/v1/blockers", params={"token": ADMIN})).json()
    assert blockers["blockers"] == []
    missing = await client.get("/api/v1/asks", params={"token": ADMIN, "org": "999"})
    assert missing.status == 404


async def test_unknown_route_is_404(server: tuple[TestClient, Application, int, int]) -> None:
    client, *_ = server
    assert (await client.get("/nope")).status == 404
    assert (await client.get("/api/v1/nope", params={"token": ADMIN})).status == 404


class _DownUnitOfWork:
    """A database that refuses every connection."""

    async def __aenter__(self) -> _DownUnitOfWork:
        raise ConnectionRefusedError("database is down")

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def test_bugs_are_500_without_traceback_and_db_down_is_503() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug with secret details")

    def mount(app: web.Application) -> None:
        app.router.add_get("/broken", broken)

    web_app = build_web_app(
        uow=_DownUnitOfWork,  # type: ignore[arg-type]
        clock=ManualClock(NOW),
        dashboard_key=b"k",
        mounts={"test": mount},
    )
    async with TestClient(TestServer(web_app, host="127.0.0.1")) as client:
        bug = await client.get("/broken")
        assert bug.status == 500
        assert await bug.json() == {"error": "internal error"}
        assert (await client.get("/readyz")).status == 503
        assert (await client.get("/healthz")).status == 200
        metrics = await (await client.get("/metrics")).text()
        assert sample(metrics, "leaderbot_database_up") == 0
        assert sample(metrics, "leaderbot_http_requests_total", route="/broken", status="500") == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "MICROSOFT"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{db}", LOG_LEVEL="INFO")
    return env


async def test_leaderbot_serve_demo_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(LEADERBOT), "serve", "--port", str(port), "--demo"],
        cwd=tmp_path,
        env=cli_env(tmp_path / "demo.db"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        async with ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        status = response.status
                        break
                except OSError:
                    if process.poll() is not None:
                        break
                    await asyncio.sleep(0.1)
        assert status == 200, process.stderr.read() if process.poll() is not None else "timeout"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"listening on http://127.0.0.1:{port}" in err
    assert "Leaderbot stopping" in err


def run_cli(*args: str, db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEADERBOT), *args],
        cwd=cwd,
        env=cli_env(db),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    done = run_cli("db", "upgrade", db=tmp_path / "up.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "up.db").exists()
    assert "latest revision" in done.stdout
    again = run_cli("db", "upgrade", db=tmp_path / "up.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_bad_arguments_give_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_cli("serve", "--port", "http", db=tmp_path / "x.db", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("leaderbot serve: error: argument --port")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["db", "downgrade"],
        ["export", "everything"],
        ["tick", "--now", "yesterday-ish"],
        ["console"],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("leaderbot")


def test_user_errors_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'u.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(tmp_path / "missing.csv")]) == 1
    assert main(["import", str(tmp_path)]) == 1
    monkeypatch.setenv("PORT", "not-a-port")
    assert main(["db", "upgrade"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("leaderbot: error: ") for line in lines)
    assert "PORT" in lines[2]


@pytest.fixture
def demo_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """The CLI in this process, on a fresh database holding the demo organization."""
    for name in list(os.environ):
        if name.upper().startswith(("SLACK_", "MICROSOFT")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "seed"]) == 0
    assert "Seeded" in capsys.readouterr().out
    return tmp_path


def test_demo_seed_export_and_digest_preview(
    demo_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "seed"]) == 0
    assert "Nothing to do" in capsys.readouterr().out

    assert main(["export", "asks", "--csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert rows and {"id", "project", "text", "state", "assignee", "age_days"} <= set(rows[0])

    assert main(["export", "decisions", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("id")

    assert main(["digest", "preview", "raj"]) == 0
    assert "digest" in capsys.readouterr().out.lower()
    assert main(["digest", "preview", "nobody"]) == 1
    assert capsys.readouterr().err.startswith("leaderbot: error: I don't know anyone")


async def _raci_and_roles(db: Path) -> tuple[set[tuple[str, str, str]], dict[str, str]]:
    """(area, handle, letter) of #SEPSIS's matrix, and raj's role → note on #FALLS."""
    settings = make_settings(db)
    async with core_session(settings) as session, session.uow() as uow:
        project = await uow.projects.first(key="SEPSIS")
        falls = await uow.projects.first(key="FALLS")
        raj = await uow.people.first(handle="raj")
        assert project and falls and raj
        names = {p.id: p.handle for p in await uow.people.find()}
        matrix = {
            (e.area, names[e.person_id], e.letter.value)
            for e in await uow.raci.find(project_id=project.id)
        }
        roles = {
            s.role.value: s.note
            for s in await uow.stakeholders.find(project_id=falls.id, person_id=raj.id)
        }
        return matrix, roles


def test_import_raci_csv_and_stakeholders_yaml(
    demo_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raci = demo_cli / "raci.csv"
    raci.write_text("project,area,person,letter\nSEPSIS,quality,@eve,A\n#SEPSIS,quality,raj,c\n")
    assert main(["import", str(raci)]) == 0
    assert "raci.csv into Northfield Health (demo): 2 changes" in capsys.readouterr().out

    roles = demo_cli / "stakeholders.yaml"
    roles.write_text("- {project: FALLS, person: raj, role: Champion, note: Converted at M&M}\n")
    assert main(["import", str(roles), "--as", "ben"]) == 0
    capsys.readouterr()

    matrix, raj_roles = asyncio.run(_raci_and_roles(demo_cli / "demo.db"))
    assert {("quality", "eve", "A"), ("quality", "raj", "C")} <= matrix
    assert raj_roles == {"champion": "Converted at M&M"}


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        (
            "raci.csv",
            "project,person,letter\nSEPSIS,eve,A\n",
            "line 1: the header lacks column(s): area",
        ),
        ("raci.csv", "project,area,person,letter\nSEPSIS,it,eve,X\n", "line 2: RACI letter 'X'"),
        ("raci.csv", "project,area,person,letter\nSEPSIS,it,eve,A\nNOPE,it,eve,A\n", "line 3: "),
        ("raci.csv", "project,area,person,letter\nSEPSIS,it,ghost,A\n", "@ghost"),
        ("roles.yaml", "- {project: SEPSIS, person: eve, role: boss}\n", "line 1: role 'boss'"),
        ("roles.yaml", "project: SEPSIS\n", "unknown field(s) in the file: project"),
        ("roles.yaml", "- [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_imports_change_nothing_and_say_why(
    demo_cli: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, error: str
) -> None:
    """A bad file is listed problem by problem (issue 12 §5: every error at once, with its line,
    where this test once expected one line), and ends saying nothing was changed."""
    before = asyncio.run(_raci_and_roles(demo_cli / "demo.db"))
    (demo_cli / name).write_text(content)
    assert main(["import", str(demo_cli / name)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("leaderbot: error: ") and error in err, err
    assert err.rstrip().endswith("Nothing was changed."), err
    assert asyncio.run(_raci_and_roles(demo_cli / "demo.db")) == before


def test_an_import_of_no_known_kind_is_one_line(
    demo_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo_cli / "raci.txt").write_text("whatever")
    assert main(["import", str(demo_cli / "raci.txt")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kind people|raci|stakeholders|org" in err, err


def test_tick_now_runs_the_cadence_once(demo_cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tick", "--now", "2026-11-30T09:00:00+00:00"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tick:") and "drain:" in out


def test_teams_package_needs_an_app_id(
    demo_cli: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["teams-package", "--out", str(demo_cli)]) == 1
    assert "MicrosoftAppId" in capsys.readouterr().err
    monkeypatch.setenv("MicrosoftAppId", "11111111-2222-3333-4444-555555555555")
    for public_url, why in (("", "Set PUBLIC_URL"), ("http://127.0.0.1:3978", "https://")):
        monkeypatch.setenv("PUBLIC_URL", public_url)
        assert main(["teams-package", "--out", str(demo_cli)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("leaderbot: error: ") and why in err and "Traceback" not in err
    monkeypatch.setenv("PUBLIC_URL", "https://localhost:8443")
    assert main(["teams-package", "--out", str(demo_cli)]) == 1
    assert "loopback" in capsys.readouterr().err
    assert not (demo_cli / "leaderbot-teams.zip").exists()
    monkeypatch.setenv("PUBLIC_URL", "https://leaderbot.example.org")
    assert main(["teams-package", "--out", str(demo_cli)]) == 0
    assert (demo_cli / "leaderbot-teams.zip").exists()


def test_cli_org_commands_set_up_the_organization(
    demo_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def out(argv: list[str], code: int = 0) -> str:
        assert main(argv) == code
        captured = capsys.readouterr()
        return (captured.out if code == 0 else captured.err).strip()

    assert out(["org", "admin", "add", "@raj"]) == (
        "@raj is now an admin of Northfield Health (demo)."
    )
    assert out(["org", "admin", "remove", "ana", "--org", "1"]) == (
        "@ana is no longer an admin of Northfield Health (demo)."
    )
    assert out(["org", "admin", "remove", "raj"], code=1) == (
        "leaderbot: error: Raj Patel is the only admin of Northfield Health (demo); name "
        "another admin first (org admin add @person). Nothing was changed."
    )
    assert out(["org", "executive", "carmen"]) == (
        "@carmen is now the executive of Northfield Health (demo)."
    )
    assert out(["org", "name", "Northfield", "Health"]) == (
        "The organization is now called Northfield Health."
    )
    assert out(["org", "show"]) == (
        "Northfield Health (organization 1)\n"
        "workspaces:\n"
        "  console console Console\n"
        "admins: @raj\n"
        "executive: @carmen"
    )
    invite = out(["org", "invite"])
    code = invite.split(": ", 1)[1].split("\n")[0]
    assert invite.endswith(f"in their own Slack or Teams: org join {code}")
    assert "Valid once, until " in invite
    assert out(["org", "show", "--org", "9"], code=1) == "leaderbot: error: no organization 9"
