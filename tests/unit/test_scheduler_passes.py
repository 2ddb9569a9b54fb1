"""A cadence pass outlives the cancellation of its APScheduler job (cadence.scheduler): the
scheduler cancels running jobs when it shuts down, and a drain stopped between sending and
recording would send its messages again after the restart."""

from __future__ import annotations

import asyncio

from cadence.scheduler import CadenceScheduler


async def test_a_job_cancelled_mid_pass_ends_quietly_and_stop_waits_for_the_pass() -> None:
    scheduler = CadenceScheduler()
    started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        await release.wait()
        finished.set()

    job = asyncio.create_task(scheduler.run_pass("drain", work))
    await started.wait()
    job.cancel()
    assert await job is None  # no CancelledError for APScheduler to log as a failed job
    assert not finished.is_set()
    release.set()
    await scheduler.stop()
    assert finished.is_set()


async def test_a_job_cancelled_as_its_pass_finishes_ends_quietly() -> None:
    """Under load the drain's passes end back to back, so the shutdown's cancellation can reach
    a job whose pass has just finished: that job, too, ends without a traceback."""
    scheduler = CadenceScheduler()
    finished = asyncio.Event()

    async def work() -> None:
        finished.set()

    job = asyncio.create_task(scheduler.run_pass("drain", work))
    await finished.wait()
    await asyncio.sleep(0)  # the pass's task completes; the job has not resumed yet
    job.cancel()
    assert await job is None


async def test_a_run_while_its_pass_is_still_going_returns_at_once() -> None:
    """A drain working through a backlog takes longer than its interval: the next run neither
    overlaps it nor makes APScheduler log a skipped run every interval."""
    scheduler = CadenceScheduler()
    release = asyncio.Event()
    runs: list[str] = []

    async def slow() -> None:
        runs.append("slow")
        await release.wait()

    async def other() -> None:
        runs.append("other")

    first = asyncio.create_task(scheduler.run_pass("drain", slow))
    await asyncio.sleep(0)
    await scheduler.run_pass("drain", slow)  # returns at once, starts nothing
    await scheduler.run_pass("tick", other)  # another kind of pass runs
    assert runs == ["slow", "other"]
    release.set()
    await first
    await scheduler.run_pass("drain", other)
    assert runs == ["slow", "other", "other"]
