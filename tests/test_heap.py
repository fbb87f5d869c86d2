"""The worker's heap after start-up (cds_service/heap.py): start-up objects frozen, young objects
collected every 10,000 allocations rather than 700, the older generations as Python sets them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cds_service import heap


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored")
def test_settling_freezes_start_up_and_collects_young_objects_less_often() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    kept = [{"start-up": n} for n in range(1000)]
    heap.settle()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, 10, 10)
    assert heap.YOUNG_THRESHOLD > 700
