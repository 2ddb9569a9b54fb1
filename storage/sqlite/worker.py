"""One SQLite connection and the thread that runs every statement on it.

Why: ``sqlite3`` runs a statement in the thread that calls it. Run on the event loop's thread,
a query that takes a second stalls every request for that second — even the ack budget's timer
cannot fire (issue #14: 500 simultaneous commands on a cold cache, every ack over 3 s). So each
connection of ours lives in a thread of its own, and the loop only hands it work and awaits the
answer: ``sqlite3`` releases the GIL while SQLite works, so the loop goes on serving meanwhile.

One thread per connection rather than a pool of threads sharing connections: a connection is
used by one thread only, its statements run in the order they were handed over (the writer's
``SAVEPOINT``, statements and ``RELEASE`` must), and a hop costs one queue put, one wake-up of
the thread and one of the loop — no ``concurrent.futures`` machinery in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

__all__ = ["Worker"]

R = TypeVar("R")

_Job = tuple[Callable[[Connection], Any] | None, asyncio.Future[Any], asyncio.AbstractEventLoop]
"""What to run on the connection (None: close it and stop), and where its outcome goes."""


class Worker:
    """A connection of ``engine``, opened on first use in the worker's own thread."""

    def __init__(self, engine: Engine, *, name: str) -> None:
        self._engine = engine
        self.name = name
        """Its thread's name."""
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Jobs handed over and not yet answered (for picking the least busy reader)."""
        return self._waiting

    async def run(self, work: Callable[[Connection], R]) -> R:
        """``work(connection)`` in the worker's thread; its result or its exception.

        A cancelled caller stops waiting, not the work: it still runs, in its turn, so the
        statements handed over after it still run after it."""
        result: R = await self._submit(work)
        return result

    async def close(self) -> None:
        """Close the connection once the work handed over before has run; end the thread."""
        if self._thread is None:
            return
        await self._submit(None)
        self._thread.join()
        self._thread = None

    def _submit(self, work: Callable[[Connection], Any] | None) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        self._waiting += 1
        self._jobs.put((work, answer, loop))
        return answer

    def _serve(self) -> None:
        connection: Connection | None = None
        while True:
            work, answer, loop = self._jobs.get()
            result: Any = None
            error: BaseException | None = None
            try:
                if work is None:
                    if connection is not None:
                        connection.close()
                else:
                    connection = connection or self._engine.connect()
                    result = work(connection)
            except BaseException as failure:  # handed to the caller, whatever it is
                error = failure
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(self._answer, answer, result, error)
            if work is None:
                return

    def _answer(
        self, answer: asyncio.Future[Any], result: Any, error: BaseException | None
    ) -> None:
        self._waiting -= 1
        if answer.done():  # the caller was cancelled
            return
        if error is None:
            answer.set_result(result)
        else:
            answer.set_exception(error)
