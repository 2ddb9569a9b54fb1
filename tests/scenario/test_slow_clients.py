"""Slow and vanishing clients (issue 11 §8): headers that crawl in are cut off, a body that
crawls in gets a 408, an upload the client aborts is one log line and no traceback.

Real sockets against the real aiohttp server, with the timeouts shortened from their
production values (``HEADER_TIMEOUT``, ``BODY_TIMEOUT``) so the test takes a second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from adapters.http import build_web_app
from adapters.logs import AccessLogger
from bot.clock import SystemClock
from tests.fakes import make_memory_uow_factory

SHORT = 0.3


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = build_web_app(
        uow=make_memory_uow_factory(),
        clock=SystemClock(),
        dashboard_key=b"k",
        body_timeout=SHORT,
    )

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    app.router.add_post("/upload", echo)
    runner = web.AppRunner(app, access_log_class=AccessLogger, keepalive_timeout=SHORT)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    yield server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


async def test_headers_that_never_finish_are_cut_off(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\n")  # …and never the rest
    await writer.drain()
    async with asyncio.timeout(5):
        assert await reader.read() == b""  # the server closed the connection
    writer.close()


async def test_a_body_that_crawls_in_gets_a_408(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    async with asyncio.timeout(5):
        answer = await reader.readline()  # the status line; the server then lingers a while
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")


async def test_an_aborted_upload_is_one_line_and_no_traceback(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
        for _ in range(100):
            if any("upload aborted" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.01)
    assert [r.getMessage() for r in caplog.records if "upload aborted" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
