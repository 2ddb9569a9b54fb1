"""The benchmarks' own machinery: what they count is counted, and their targets can fail.

Not timed: the benchmarks in ``bench/`` print figures; these tests check that the figures mean
something — the digest benchmark sees every statement on both backends (an uncounted statement
would make "constant in N" vacuous), a run that counted none fails its target, and the Slack
benchmark's pipeline (``leaderbot serve`` acking, announcing and delivering every ask's cards to
the fake) completes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.app import core_session
from adapters.settings import Settings
from bench.digest_fanout import StatementCounter, judged, postgres_database
from bench.slack_ack import ceiling, measure
from tests.conftest import POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'counted.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("LEADERBOT_TEST_POSTGRES_URL is unset")
    with postgres_database(POSTGRES_URL) as url:
        yield url


async def test_the_counter_sees_a_unit_of_works_statements_on_every_backend(
    database_url: str,
) -> None:
    settings = Settings(_env_file=None, database_url=database_url, microsoft_app_id="")  # type: ignore[call-arg]
    async with core_session(settings) as session:
        with StatementCounter() as counter:
            async with session.uow() as uow:
                assert await uow.outbox.count() == 0
            after_one = counter.statements
            async with session.uow() as uow:
                await uow.outbox.count()
                await uow.outbox.count()
    assert after_one >= 1
    # Two more reads of the outbox: at least two more statements, whatever else a unit runs.
    assert counter.statements >= after_one + 2
    assert counter.untraced == 0


def _figures(statements: tuple[int, int], stopped: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    row = {"total_s": 0.5}
    return {
        "n10": {**row, "statements": statements[0], "stopped": stopped[0]},
        "n100": {**row, "statements": statements[1], "stopped": stopped[1]},
        "untraced_connections": 0,
        "peak_rss_mb": 80.0,
    }


def test_a_digest_run_that_counted_no_statement_fails_its_target() -> None:
    assert judged(_figures((0, 0)), 100)["target_met"] is False
    assert judged(_figures((12, 14)), 100)["target_met"] is False
    assert judged(_figures((12, 12)), 100)["target_met"] is True


def test_reads_run_again_after_their_budget_are_left_out_of_the_comparison() -> None:
    """A read SQLite stopped on the event loop runs again on a reader: seen twice, once more
    for the large N than the small, which is not a query per leader."""
    assert judged(_figures((12, 14), stopped=(0, 2)), 100)["target_met"] is True
    assert judged(_figures((12, 15), stopped=(0, 2)), 100)["target_met"] is False


async def test_the_slack_benchmark_delivers_every_asks_cards() -> None:
    figures = await measure(requests=20, concurrency=4, rounds=1, size=10, drain_seconds=0.2)
    served = figures["leaderbot"]
    assert served["requests"] == 20
    assert served["failures"] == 0
    assert served["cards_received"] == served["cards_expected"] == 40
    assert served["sustained_rps"] > 0
    assert figures["ack_ratio"] > 0
    assert figures["bolt_at_ack"]["failures"] == 0
    (send_us,) = figures["send_us"]  # one measurement of slack_sdk's cost per round
    assert send_us > 0
    assert 0 < figures["sustained_ceiling"] < 1


def test_the_libraries_ceiling_is_one_bolt_ack_and_both_cards_sends() -> None:
    # 3,000 acks/s is 333 µs an ack; with two 300 µs sends an ask costs 933 µs in all.
    assert ceiling(3000.0, 300.0) == round(333.3 / 933.3, 3)
    assert ceiling(3000.0, 0.0) == 1.0
