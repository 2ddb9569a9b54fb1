"""``leaderbot teams-package``: the Teams app package (manifest.json + two icons, zipped).

Teams installs a bot from this zip (Apps → Manage your apps → Upload an app). The manifest uses
the bot's Azure app id and lists the commands of the grammar so Teams suggests them as the user
types. Its website, privacy and terms URLs are the server's own pages under ``PUBLIC_URL``
(``/privacy``, ``/terms``: :mod:`adapters.web.legal`), so the package is refused without a
public https ``PUBLIC_URL``: Teams shows those links to every user and must reach them.
The icons are drawn here (a few lines of zlib + struct) so the repository carries no binary
files and needs no imaging library.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.settings import is_loopback
from bot.grammar import usage

MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
)
PACKAGE_NAME = "leaderbot-teams.zip"
ACCENT = (0x2B, 0x57, 0x9A)
"""The colour of the colour icon and the manifest's accent colour (a calm blue)."""
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

COMMANDS = (
    "ask",
    "blocker",
    "update",
    "status",
    "asks",
    "digest",
    "approve",
    "raci",
    "decisions",
    "help",
)
"""The grammar's commands Teams suggests as the user types (the manifest allows 10 per list);
each description is the grammar's own usage line, so the two cannot drift apart."""


class PackageError(ValueError):
    """The package cannot be built as configured (the sentence is shown by the CLI)."""


def build_package(app_id: str, out: Path, *, bot_name: str = "Leaderbot", public_url: str) -> Path:
    """Write ``leaderbot-teams.zip`` into the directory ``out`` and return its path.

    Args:
        app_id: the bot's Microsoft App ID (``MicrosoftAppId``), also used as the Teams app id.
        out: directory to write into (created if missing).
        bot_name: the name users see in Teams.
        public_url: this server's public https base (``PUBLIC_URL``), e.g.
            ``https://leaderbot.example.org``; a bare host means https.
    """
    if not _GUID.match(app_id or ""):
        raise PackageError(
            "MicrosoftAppId must be set to the bot's Azure app id (a GUID) to build the package."
        )
    site = public_site(public_url)
    out.mkdir(parents=True, exist_ok=True)
    path = out / PACKAGE_NAME
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        manifest = manifest_for(app_id, bot_name=bot_name, site=site)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    return path


def manifest_for(app_id: str, *, bot_name: str, site: str) -> dict[str, Any]:
    """The Teams app manifest (schema 1.17) for a bot whose pages are under ``site``
    (``https://host[:port][/prefix]``, no trailing slash)."""
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": "1.0.0",
        "id": app_id,
        "developer": {
            "name": bot_name[:32],
            "websiteUrl": f"{site}/",
            "privacyUrl": f"{site}/privacy",
            "termsOfUseUrl": f"{site}/terms",
        },
        "name": {"short": bot_name[:30], "full": f"{bot_name} — leaders in the loop"[:100]},
        "description": {
            "short": "Asks, blockers and digests that keep senior leaders engaged."[:80],
            "full": (
                "Leaderbot keeps senior leaders engaged in improvement projects: explicit asks "
                "routed by RACI and decided with one click, blockers with an escalation ladder, "
                "and one concise digest on each leader's own cadence."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal", "team", "groupChat"],
                        "commands": [
                            {
                                "title": name,
                                "description": _cut(" · ".join(usage(name).splitlines()), 128),
                            }
                            for name in COMMANDS
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [urlsplit(site).netloc],
    }


def color_icon() -> bytes:
    """192×192 opaque PNG: an accent-coloured tile with a white "L"."""
    return _png(192, _letter_l(192, background=(*ACCENT, 255), ink=(255, 255, 255, 255)))


def outline_icon() -> bytes:
    """32×32 PNG, transparent except a white "L" (what Teams asks of outline icons)."""
    return _png(32, _letter_l(32, background=(0, 0, 0, 0), ink=(255, 255, 255, 255)))


Pixel = tuple[int, int, int, int]


def _letter_l(size: int, *, background: Pixel, ink: Pixel) -> Callable[[int, int], Pixel]:
    margin, stroke = size // 4, max(size // 8, 2)

    def pixel(x: int, y: int) -> Pixel:
        inside = margin <= x < size - margin and margin <= y < size - margin
        on_l = x < margin + stroke or y >= size - margin - stroke
        return ink if inside and on_l else background

    return pixel


def _png(size: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """A square 8-bit RGBA PNG (filter 0 on every row)."""
    rows = b"".join(
        b"\x00" + b"".join(struct.pack("4B", *pixel(x, y)) for x in range(size))
        for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(rows, 9)))
    ) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _cut(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def public_site(public_url: str) -> str:
    """``PUBLIC_URL`` as the https base of the manifest's links, or why it cannot be one:
    missing, not https, or a loopback address Teams' users could never open."""
    url = public_url.strip().rstrip("/")
    if not url:
        raise PackageError(
            "Set PUBLIC_URL to this server's public https address (https://your-host): the "
            "package's privacy and terms links point there."
        )
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme != "https" or not parts.hostname:
        raise PackageError(f"PUBLIC_URL must be an https:// address for Teams, not {url}.")
    if is_loopback(parts.hostname) or parts.hostname == "0.0.0.0":
        raise PackageError(
            f"PUBLIC_URL is {url}, a loopback address: Teams users could not open the "
            "package's privacy and terms links. Set it to the public https address."
        )
    return f"https://{parts.netloc}{parts.path}"
