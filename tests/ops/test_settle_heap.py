"""A started process's long-lived objects are out of the cyclic collector's sight (bot.app.settle_heap).

bench/bench_ack.py found full collections of 100–220 ms on the event loop, over the start-up heap,
in the middle of a burst of platform requests; after ``settle_heap`` a collection walks only what
was made since.
"""

from __future__ import annotations

import gc
import weakref

from bot.app import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_what_lives_at_start_is_frozen_and_what_comes_later_is_still_collected() -> None:
    kept = _Node()
    kept_ref = weakref.ref(kept)
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        del kept  # garbage now, but frozen: no collection walks it
        gc.collect()
        assert kept_ref() is not None

        later = _Node()
        later_ref = weakref.ref(later)
        del later
        gc.collect()
        assert later_ref() is None  # made after start-up: collected as ever
    finally:
        gc.unfreeze()
        gc.collect()
    assert kept_ref() is None  # unfrozen, the start-up cycle is collected again
