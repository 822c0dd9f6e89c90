"""sync/heap.py: the collector's settings for a process that runs a large sync."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from iptvsync.sync import heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_bulk_work_freezes_the_heap_and_collects_the_young_less_often(restored_gc: None) -> None:
    gc.unfreeze()
    older = gc.get_threshold()[1:]
    heap.for_bulk_work()
    assert gc.get_freeze_count() > 1000  # the imported modules, at least
    assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *older)
    assert heap.YOUNG_THRESHOLD > 700  # CPython's default


def test_cyclic_garbage_is_still_collected(restored_gc: None) -> None:
    """Fewer young collections, not none: cycles made after the freeze are freed."""
    heap.for_bulk_work()

    class Node:
        pass

    freed: list[weakref.ref[Node]] = []
    for _ in range(5):
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        freed.append(weakref.ref(a))
        del a, b
    # Allocations alone collect them, as in a walk: one threshold's worth of live objects.
    junk = [[i] for i in range(heap.YOUNG_THRESHOLD + 100)]
    del junk
    assert all(ref() is None for ref in freed)


def test_bulk_work_gives_the_thresholds_back(restored_gc: None) -> None:
    """For a process that goes on to other work after its sync (the demo serves)."""
    gc.set_threshold(700, 10, 10)
    with heap.bulk_work():
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)
