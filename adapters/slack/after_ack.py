"""Answer Slack at the ack — or at the ack budget — and let the listener finish after it.

bolt runs an app in one of two ways. By default it starts each listener in a task and checks
every 10 ms whether it has acked yet: every request waits for that tick (a floor of ~10 ms per
request, and timer wake-ups on a busy loop). With ``process_before_response`` it awaits the
listener and answers when the listener returns, so a listener must not do anything after its
ack that Slack has to wait for — a Web API call, ``respond``, a modal.

Leaderbot runs bolt the second way and wraps each listener in :meth:`AfterAck.until_ack`. The
wrapper returns as soon as the listener has acked, so bolt answers at once, and the rest of the
listener — whatever follows its ``ack`` — goes on as a tracked task. Slack gives up after 3 s,
so if the listener has not acked within ``budget`` seconds (a busy database), the wrapper acks
for it with the listener's ``late`` answer ("Working on it…"); the listener's own ``ack`` then
returns False and reaches nobody, and the listener answers another way (``respond``). Events API
listeners never ack themselves (bolt acks them on return): they run wholly after the ack. A
listener that fails before anything was acked fails the request as bolt handles it; one that
fails afterwards is logged. The server waits for work under way when it shuts down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["AfterAck"]

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[None]]


def _settle(future: asyncio.Future[None]) -> None:
    """Resolve ``future`` unless it is already: the first of several events to happen wins (a
    lighter "first completed" than ``asyncio.wait``, which this path would pay per request)."""
    if not future.done():
        future.set_result(None)


class AfterAck:
    """The listeners' work still running after their acks, in one process."""

    def __init__(self, *, budget: float) -> None:
        self.budget = budget
        """Seconds a listener has to ack before the wrapper acks for it."""
        self._tasks: set[asyncio.Future[None]] = set()

    def until_ack(self, listener: Listener, *, late: Mapping[str, Any] | None = None) -> Listener:
        """``listener`` (one that takes ``ack``), returning once it has acked or the budget is
        spent (then acked with ``late``). Its ``ack`` returns whether it reached Slack."""
        late = dict(late or {})

        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> None:
            loop = asyncio.get_running_loop()
            answered = loop.create_future()
            acked = False
            ack = kwargs["ack"]

            async def ack_in_time(*ack_args: Any, **ack_kwargs: Any) -> bool:
                nonlocal acked
                if acked:
                    return False
                acked = True
                await ack(*ack_args, **ack_kwargs)
                _settle(answered)
                return True

            kwargs["ack"] = ack_in_time
            task = asyncio.ensure_future(listener(*args, **kwargs))
            task.add_done_callback(lambda _: _settle(answered))
            budget = loop.call_later(self.budget, _settle, answered)
            await answered
            budget.cancel()
            if not acked and not task.done():
                acked = True
                await ack(**late)
            if acked:
                self._track(task)
            else:
                task.result()  # finished without acking: bolt acks; a failure is the request's

        return run

    def after(self, listener: Listener) -> Listener:
        """``listener`` (an Events API one, acked by bolt on return), run after the ack."""

        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> None:
            self._track(asyncio.ensure_future(listener(*args, **kwargs)))

        return run

    def _track(self, task: asyncio.Future[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("Slack listener failed after its ack", exc_info=error)

    async def wait(self) -> None:
        """Wait for the work under way (server shutdown), including work it starts."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
