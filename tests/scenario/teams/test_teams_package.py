"""``leaderbot teams-package``: a manifest valid against the official 1.17 schema, with icons of
the sizes Teams demands."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from jsonschema import Draft6Validator

from adapters.teams.package import PackageError, build_package

APP_ID = "7f2b6a5e-9c0d-4e1f-8a3b-2c4d6e8f0a1b"


def test_package_manifest_and_icons(tmp_path: Path, manifest_validator: Draft6Validator) -> None:
    path = build_package(
        APP_ID, tmp_path, bot_name="Leaderbot", public_url="https://bot.example.org/"
    )
    assert path == tmp_path / "leaderbot-teams.zip"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color, outline = archive.read("color.png"), archive.read("outline.png")

    errors = [f"{list(e.path)}: {e.message}" for e in manifest_validator.iter_errors(manifest)]
    assert not errors, errors
    assert manifest["manifestVersion"] == "1.17"
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["bot.example.org"]
    developer = manifest["developer"]
    assert developer["privacyUrl"] == "https://bot.example.org/privacy"
    assert developer["termsOfUseUrl"] == "https://bot.example.org/terms"
    bot = manifest["bots"][0]
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert {"ask", "blocker", "update", "status", "help"} <= set(titles)

    assert _png_size(color) == (192, 192)
    assert _png_size(outline) == (32, 32)
    assert min(_alphas(color)) == 255
    outline_alphas = _alphas(outline)
    assert 0 in outline_alphas and 255 in outline_alphas


def test_package_needs_the_app_id(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="MicrosoftAppId"):
        build_package("", tmp_path, public_url="bot.example.org")


@pytest.mark.parametrize(
    ("public_url", "why"),
    [
        ("", "Set PUBLIC_URL"),
        ("http://bot.example.org", "must be an https:// address"),
        ("https://127.0.0.1:3978", "loopback"),
        ("https://localhost", "loopback"),
        ("https://[::1]:8443", "loopback"),
    ],
)
def test_package_needs_a_public_https_url(tmp_path: Path, public_url: str, why: str) -> None:
    with pytest.raises(PackageError, match=why):
        build_package(APP_ID, tmp_path, public_url=public_url)
    assert not (tmp_path / "leaderbot-teams.zip").exists()


def test_package_links_follow_a_path_prefix_and_a_bare_host(tmp_path: Path) -> None:
    for public_url, privacy, domain in (
        ("https://intranet.example.nhs.uk:8443/leaderbot/", "/leaderbot/privacy", ":8443"),
        ("bot.example.org", "/privacy", ""),
    ):
        with zipfile.ZipFile(build_package(APP_ID, tmp_path, public_url=public_url)) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        assert manifest["developer"]["privacyUrl"].endswith(privacy)
        assert manifest["developer"]["privacyUrl"].startswith("https://")
        assert manifest["validDomains"][0].endswith(domain)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _alphas(data: bytes) -> set[int]:
    """Alpha values of an 8-bit RGBA PNG written with filter 0 (as ours are)."""
    width, _ = _png_size(data)
    assert data[24:26] == bytes([8, 6])
    idat, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    return {raw[row + 1 + 4 * x + 3] for row in range(0, len(raw), stride) for x in range(width)}
