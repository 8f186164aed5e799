"""A started process's long-lived objects are out of the cyclic collector's sight (bot.app.settle_heap).

bench/bench_ack.py found full collections of 100–220 ms on the event loop, over the start-up heap,
in the middle of a burst of platform requests; after ``settle_heap`` a collection walks only what
was made since.
"""

from __future__ import annotations

import gc

from bot.app import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_what_lives_at_start_is_frozen_and_what_comes_later_is_still_collected() -> None:
    kept = _Node()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert not gc.is_tracked(kept) or kept not in gc.get_objects(generation=2)
        gc.collect()
        assert kept.me is kept  # frozen, untouched

        later = _Node()
        probe = id(later)
        del later
        gc.collect()
        assert all(id(o) != probe for o in gc.get_objects() if isinstance(o, _Node))
    finally:
        gc.unfreeze()
