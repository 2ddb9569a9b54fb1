"""``/privacy`` and ``/terms``: the pages a Teams app package must link to (and anyone may read).

Two static HTML files in this folder, with ``$contact`` and ``$site`` filled in by
:class:`string.Template` from HTML-escaped values: no template engine for two fixed pages, and
nothing a user typed ever reaches them. Served to everyone without a link or a token — they say
what the bot keeps and on what terms, which is for anyone to know before installing it.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from aiohttp import web

__all__ = ["PAGES", "mount_legal", "render"]

_HERE = Path(__file__).parent

PAGES = ("privacy", "terms")
"""Each is served at ``/<name>`` from ``<name>.html``."""

NO_CONTACT = "the person or team that runs this Leaderbot server"
"""Who the pages name when LEGAL_CONTACT is not set."""


def render(name: str, *, contact: str, site: str) -> str:
    """Page ``name`` with its placeholders filled (every value escaped)."""
    template = Template((_HERE / f"{name}.html").read_text(encoding="utf-8"))
    return template.substitute(
        contact=html.escape(contact or NO_CONTACT), site=html.escape(site or "this server")
    )


def mount_legal(app: web.Application, *, contact: str, site: str) -> None:
    """Add ``GET /privacy`` and ``GET /terms``, rendered once."""
    for name in PAGES:
        page = render(name, contact=contact, site=site)

        async def serve(_: web.Request, page: str = page) -> web.Response:
            return web.Response(
                text=page, content_type="text/html", headers={"Cache-Control": "max-age=3600"}
            )

        app.router.add_get(f"/{name}", serve)
