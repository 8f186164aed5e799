"""The small version of every fault scenario of ``bench/faults.py``: nothing lost, duplicated or reordered,
no Retry-After violated, nothing crashed. The full sizes and their figures are in bench/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import run
from tests.conftest import PG_URL


def assert_clean(tallies: list) -> None:
    for tally in tallies:
        assert tally.clean, tally.line()


async def test_redelivered_and_late_inbound_events_are_answered_once_in_order(tmp_path: Path) -> None:
    assert_clean(await run(["inbound"], small=True, database_url=PG_URL, folder=tmp_path))


async def test_a_bot_killed_three_times_mid_burst_loses_and_repeats_nothing(tmp_path: Path) -> None:
    assert_clean(await run(["kill"], small=True, database_url=PG_URL, folder=tmp_path))


async def test_an_outbound_storm_of_429_5xx_and_timeouts_loses_and_repeats_nothing(tmp_path: Path) -> None:
    [tally] = await run(["storm"], small=True, database_url=PG_URL, folder=tmp_path)
    assert tally.clean, tally.line()
    assert "429" in tally.notes[0] and "timeout" in tally.notes[0]  # the storm really happened


@pytest.mark.skipif(not PG_URL, reason="several processes share PostgreSQL; the PostgreSQL pass of the suite runs it")
async def test_three_processes_on_postgresql_one_killed_deliver_everything_once(tmp_path: Path) -> None:
    assert_clean(await run(["workers"], small=True, database_url=PG_URL, folder=tmp_path))


async def test_a_database_that_disappears_and_comes_back_loses_nothing(tmp_path: Path) -> None:
    assert_clean(await run(["outage"], small=True, database_url=PG_URL, folder=tmp_path))


@pytest.mark.parametrize("scenario", ["storm-dingtalk", "storm-wecom"])
async def test_an_outbound_storm_at_dingtalk_and_wecom_loses_repeats_and_reorders_nothing_and_keeps_every_block(
    scenario: str, tmp_path: Path
) -> None:
    """Throttling as the platform answers it (and a block the fake judges), server errors, answers lost after the
    fake showed the message: every pong once, in commit order, nothing sent into a block; a pong shown again after
    a lost answer is counted apart (no robot API can be asked whether it took a message)."""
    [tally] = await run([scenario], small=True, database_url=PG_URL, folder=tmp_path)
    assert tally.clean, tally.line()
    counts = {kind: int(count) for count, kind in (p.split(" ", 1) for p in tally.notes[0].split(" injected")[0].split(", "))}
    assert counts["throttle"] >= 2 and counts["server error"] >= 1 and counts["answer lost"] >= 1, tally.line()
    assert tally.ambiguous_duplicates <= counts["answer lost"] * 50, tally.line()  # at most one fold (50 messages) per lost answer
    if scenario == "storm-wecom":  # the self-built app's enable_duplicate_check closes the window for personal answers
        assert any(note.startswith("app messages:") and ", 0 shown twice," in note for note in tally.notes), tally.line()
