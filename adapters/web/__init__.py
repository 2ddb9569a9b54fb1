"""The dashboard's pages (DESIGN §7, issue 12): templates, static files, signed access.

``add_routes(app, deps)`` sets up Jinja2 (autoescaping on) and adds every page; each page handler
is wrapped by :func:`adapters.web.access.page`, which refuses a request without valid credentials
before the handler runs and puts the :class:`~adapters.web.access.Viewer` in
``request["viewer"]``. docs/web.md says how to add a page.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from adapters.web import api, exports, leader_pages, org_pages
from adapters.web.access import Viewer, page, sign_link
from adapters.web.deps import WEB, WebDeps

__all__ = ["WEB", "Viewer", "WebDeps", "add_routes", "page", "sign_link"]

_HERE = Path(__file__).parent
STATIC = _HERE / "static"


def add_routes(app: web.Application, deps: WebDeps) -> None:
    """Jinja2, ``/static/…`` and every dashboard page, on the server's application."""
    app[WEB] = deps
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    app.router.add_static("/static/", STATIC, name="static")
    app.router.add_routes(leader_pages.ROUTES)
    app.router.add_routes(org_pages.ROUTES)
    app.router.add_routes(api.ROUTES)
    app.router.add_routes(exports.ROUTES)
