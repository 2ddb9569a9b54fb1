"""The CSV downloads: ``leaderbot export KIND --csv`` and ``/dashboard/export/{kind}.csv``.

One function makes the CSV for (organization, kind) from :mod:`bot.services.exports`' tables,
in a unit of work bound to that organization, so the command line and the dashboard hand out
the same file. A cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …)
is prefixed with ``'``: these files are opened in Excel by the people a review is for.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from aiohttp import web

from adapters.web.access import VIEWER, Viewer, href, page, refuse
from adapters.web.deps import WEB
from bot.ports import UnitOfWorkFactory
from bot.services.exports import ExportKind, Table, export
from bot.tenancy import bound

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    """Text a spreadsheet shows as text (numbers such as ``-3`` stay numbers)."""
    if value.startswith(_FORMULA):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([_safe(v) for v in row] for row in table.rows)
    return out.getvalue()


async def export_csv(
    uow: UnitOfWorkFactory, *, organization_id: int, kind: ExportKind, now: datetime
) -> str:
    """The CSV of one kind for one organization (only its header when there is none: 0)."""
    async with bound(uow(), organization_id) as scoped:
        table = await export(scoped, organization_id=organization_id, kind=kind, now=now)
    return to_csv(table)


async def csv_response(
    uow: UnitOfWorkFactory, *, organization_id: int, kind: str, now: datetime
) -> web.Response:
    """The download for ``/dashboard/export/{kind}.csv``, after the caller's access check."""
    try:
        chosen = ExportKind(kind)
    except ValueError:
        kinds = ", ".join(f"{k.value}.csv" for k in ExportKind)
        raise web.HTTPNotFound(text=f"No such export. There are {kinds}.") from None
    body = await export_csv(uow, organization_id=organization_id, kind=chosen, now=now)
    return web.Response(
        text=body,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="leaderbot-{chosen.value}-'
            f'{now:%Y-%m-%d}.csv"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def downloads(viewer: Viewer) -> list[tuple[str, str]]:
    """(kind, link) of every download, carrying the viewer's credentials, for the pages to
    offer; none for someone who is not an admin (the download would refuse them)."""
    if not viewer.is_admin:
        return []
    return [(k.value, href(viewer, f"/dashboard/export/{k.value}.csv")) for k in ExportKind]


ROUTES = web.RouteTableDef()


@ROUTES.get("/dashboard/export/{kind}.csv")
@page
async def download(request: web.Request) -> web.StreamResponse:
    """The organization's whole record as CSV: for its admins (a governance review's file), as
    the command line hands it to whoever runs the server."""
    viewer = request[VIEWER]
    if not viewer.is_admin:
        raise refuse(
            request,
            "html",
            "Exports hold the whole organization's record, so only its admins download them.",
            web.HTTPForbidden,
        )
    deps = request.app[WEB]
    return await csv_response(
        deps.uow,
        organization_id=viewer.organization_id,
        kind=request.match_info["kind"],
        now=deps.clock.now(),
    )
