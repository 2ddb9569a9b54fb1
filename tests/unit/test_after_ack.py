"""adapters.slack.after_ack: a listener answers at its ack and finishes afterwards."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from adapters.slack.after_ack import AfterAck


async def test_the_wrapper_returns_at_the_ack_and_the_rest_finishes_later() -> None:
    after_ack = AfterAck(budget=1.0)
    steps: list[str] = []
    go_on = asyncio.Event()

    async def listener(ack: Any, body: dict[str, str]) -> None:
        await ack(text=body["text"])
        steps.append("acked")
        await go_on.wait()
        steps.append("finished")

    async def ack(**answer: str) -> None:
        steps.append(f"ack {answer['text']}")

    await asyncio.wait_for(after_ack.until_ack(listener)(ack=ack, body={"text": "hi"}), 1)
    assert steps[0] == "ack hi" and "finished" not in steps
    waiting = asyncio.ensure_future(after_ack.wait())
    await asyncio.sleep(0.01)
    assert steps == ["ack hi", "acked"] and not waiting.done()
    go_on.set()
    await asyncio.wait_for(waiting, 1)
    assert steps == ["ack hi", "acked", "finished"]


async def test_a_failure_before_the_ack_fails_the_request_and_after_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack = AfterAck(budget=1.0)

    async def ack() -> None:
        return None

    async def early(ack: Any) -> None:
        raise ValueError("before")

    async def late(ack: Any) -> None:
        await ack()
        await asyncio.sleep(0)
        raise ValueError("after")

    with pytest.raises(ValueError, match="before"):
        await after_ack.until_ack(early)(ack=ack)
    with caplog.at_level(logging.ERROR, logger="adapters.slack.after_ack"):
        await after_ack.until_ack(late)(ack=ack)
        await after_ack.wait()
    assert "failed after its ack" in caplog.text and "after" in caplog.text


async def test_an_event_listener_runs_wholly_after_the_ack() -> None:
    after_ack = AfterAck(budget=1.0)
    done = asyncio.Event()

    async def on_event(event: dict[str, str]) -> None:
        await asyncio.sleep(0.01)
        done.set()

    await after_ack.after(on_event)(event={"type": "app_home_opened"})
    assert not done.is_set()
    await asyncio.wait_for(after_ack.wait(), 1)
    assert done.is_set()


async def test_past_the_budget_the_wrapper_acks_and_the_listener_answers_otherwise() -> None:
    after_ack = AfterAck(budget=0.02)
    sent: list[str] = []

    async def ack(text: str = "") -> None:
        sent.append(f"ack {text}")

    async def slow(ack: Any) -> None:
        await asyncio.sleep(0.1)  # a busy database
        if not await ack(text="Ask #4 sent"):
            sent.append("respond Ask #4 sent")

    wrapped = after_ack.until_ack(slow, late={"text": "Working on it…"})
    await asyncio.wait_for(wrapped(ack=ack), 1)
    assert sent == ["ack Working on it…"]
    await asyncio.wait_for(after_ack.wait(), 1)
    assert sent == ["ack Working on it…", "respond Ask #4 sent"]
