"""``serve``'s collector settings: what startup loaded is frozen, and young collections wait
for :data:`adapters.app.YOUNG_OBJECTS_COLLECTED` new objects, not the interpreter's 700."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from adapters.app import YOUNG_OBJECTS_COLLECTED, freeze_startup_heap


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was, afterwards."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_startup_freezes_the_heap_and_collects_the_young_generation_less_often(
    collector: None,
) -> None:
    _, middle, old = gc.get_threshold()

    freeze_startup_heap()

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_OBJECTS_COLLECTED, middle, old)
    assert YOUNG_OBJECTS_COLLECTED > 700  # the interpreter's default


def test_objects_made_after_startup_do_not_start_a_young_collection_at_the_default(
    collector: None,
) -> None:
    freeze_startup_heap()
    before = gc.get_stats()[0]["collections"]

    kept = [{} for _ in range(5_000)]  # the objects of requests in flight, say

    assert gc.get_stats()[0]["collections"] == before
    assert len(kept) == 5_000
