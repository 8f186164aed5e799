"""Housekeeping deletes exactly the bookkeeping rows ``[retention]`` no longer keeps, a batch at a time: old
handled delivery ids, old sent outbox rows, timers done long ago — never a pending or dead outbox row, a pending
timer, a young row, a collaboration's records or the audit. One process a hour sweeps (a lease); /metrics counts
what it deleted; ``collabbot db prune`` sweeps at once; a retention shorter than the clock's backfill is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from bot.config import ConfigError, from_dict
from bot.housekeeping import Housekeeper, sweep
from bot.process_clock import HOUSEKEEPING
from storage import db, housekeeping
from storage.models import AuditEntry, InboxEntry, OutboxMessage, Timer
from tests.conftest import PG_URL, _truncate_pg
from tests.ops.test_admin_cli import cli

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # the clock fixture's time


def days_ago(days: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days)


def outbox_row(key: str, status: str, created: datetime, sent: datetime | None = None) -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=key, platform="dingtalk", conversation_id="cid-launch", kind="text", payload={"type": "text", "body": "好"},
        locale="zh_CN", status=status, next_attempt_at=created, created_at=created, sent_at=sent,
    )


async def fill(now: datetime = NOW) -> None:
    """Rows in the order time wrote them, the oldest first, ``now`` being the sweep's time."""

    def days_ago(days: float) -> datetime:
        return now - timedelta(days=days)

    await InboxEntry.bulk_create(
        [InboxEntry(platform="dingtalk", delivery_id=f"old-{i}", received_at=days_ago(45 - i / 100)) for i in range(25)]
        + [InboxEntry(platform="dingtalk", delivery_id=f"young-{i}", received_at=days_ago(29 - i)) for i in range(5)]
    )
    await OutboxMessage.bulk_create(
        [
            outbox_row("dead-old", "dead", days_ago(120)),
            outbox_row("pending-old", "pending", days_ago(100)),
            *[outbox_row(f"sent-old-{i}", "sent", days_ago(99 - i / 10), days_ago(99 - i / 10)) for i in range(7)],
            outbox_row("sent-late", "sent", days_ago(95), days_ago(80)),  # created long ago, sent within 90 days
            outbox_row("sent-young", "sent", days_ago(10), days_ago(10)),
        ]
    )
    timers = [("fired-old", "fired", 40), ("cancelled-old", "cancelled", 31), ("missed-old", "missed", 60)]
    timers += [("pending-old", "pending", 40), ("firing-old", "firing", 40), ("fired-young", "fired", 20), ("cancelled-future", "cancelled", -3)]
    await Timer.bulk_create([Timer(key=key, kind="ops.noop", status=status, due_at=days_ago(due), created_at=days_ago(90)) for key, status, due in timers])
    await AuditEntry.create(at=days_ago(400), platform="dingtalk", action="request.created", subject="XZB2025110101", detail={})


async def remaining() -> tuple[set[str], set[str], set[str]]:
    inbox = set(await InboxEntry.all().values_list("delivery_id", flat=True))
    outbox = set(await OutboxMessage.all().values_list("dedupe_key", flat=True))
    timers = set(await Timer.all().values_list("key", flat=True))
    return inbox, outbox, timers


def config(database_url: str, **retention: int):  # type: ignore[no-untyped-def]
    return from_dict({"database": {"url": database_url}, "retention": retention}, environ={})


async def test_a_sweep_deletes_only_what_retention_no_longer_keeps(database_url, database):
    await fill()
    deleted = await sweep(config(database_url).retention, NOW)  # 30 days, 90 days, 30 days
    assert deleted == {"inbox": 25, "outbox": 7, "timer": 3}
    inbox, outbox, timers = await remaining()
    assert inbox == {f"young-{i}" for i in range(5)}
    assert outbox == {"dead-old", "pending-old", "sent-late", "sent-young"}
    assert timers == {"pending-old", "firing-old", "fired-young", "cancelled-future"}
    assert await AuditEntry.all().count() == 1  # the audit is never swept
    assert await sweep(config(database_url).retention, NOW) == {"inbox": 0, "outbox": 0, "timer": 0}


async def test_batches_walk_the_whole_backlog_and_stop_at_the_first_young_row(database):
    await fill()
    assert await housekeeping.delete_walking(housekeeping.INBOX, days_ago(30), batch=4) == 25
    # the dead and pending rows at the head of the outbox do not stop the walk; batches of two cross them
    assert await housekeeping.delete_walking(housekeeping.SENT_OUTBOX, days_ago(90), batch=2) == 7
    assert await housekeeping.delete_done_timers(days_ago(30), batch=1) == 3
    inbox, outbox, timers = await remaining()
    assert len(inbox) == 5 and outbox == {"dead-old", "pending-old", "sent-late", "sent-young"} and len(timers) == 4


async def test_zero_keeps_a_table_for_ever(database_url, database):
    await fill()
    deleted = await sweep(config(database_url, inbox_days=0, outbox_sent_days=0, timers_days=0).retention, NOW)
    assert deleted == {}
    inbox, outbox, timers = await remaining()
    assert (len(inbox), len(outbox), len(timers)) == (30, 11, 7)


async def test_one_process_sweeps_an_hour(database_url, database, clock):
    await fill()
    retention = config(database_url).retention
    first, second = Housekeeper(retention, clock, "host-a:1"), Housekeeper(retention, clock, "host-b:2")
    assert await first.run() == {"inbox": 25, "outbox": 7, "timer": 3}
    assert await second.run() is None  # the hour's lease is taken
    assert await first.run() is None  # and not taken again within the hour by its holder either
    clock.advance(timedelta(hours=1))
    assert await second.run() == {"inbox": 0, "outbox": 0, "timer": 0}
    assert first.deleted == {"inbox": 25, "outbox": 7, "timer": 3}


async def test_the_process_clock_runs_it_and_metrics_count_it(database_url, clock):
    app = App(config(database_url), clock=clock, platforms=[])
    await app.open_database(run_migrations=False)
    if PG_URL:
        await _truncate_pg()
    try:
        await fill()
        app.process_clock.start()
        try:
            job = app.process_clock.scheduler.get_job(HOUSEKEEPING)
            assert job is not None and job.trigger.interval == timedelta(hours=1)
        finally:
            app.process_clock.stop()
        await app.process_clock._housekeeping()  # what the job runs
        text = (await app.metrics.exposition()).decode()
        samples = {
            sample.labels.get("table"): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "collabbot_housekeeping_deleted_total"
        }
        assert samples == {"inbox": 25, "outbox": 7, "timer": 3}
    finally:
        await app.stop()


def test_db_prune_sweeps_now(database_url):
    async def make() -> None:
        await db.connect(database_url, run_migrations=False)
        try:
            await fill(datetime.now(UTC) - timedelta(hours=1))  # the command reads the system's clock, a little later
        finally:
            await db.close()

    asyncio.run(make())
    pruned = cli("db", "prune", url=database_url)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines() == [
        "inbox: deleted 25 handled delivery id(s) older than 30 days",
        "outbox: deleted 7 sent outbox row(s) older than 90 days",
        "timer: deleted 3 done timer(s) older than 30 days",
    ]
    kept = cli("db", "prune", url=database_url, COLLABBOT_RETENTION__INBOX_DAYS="0")
    assert kept.returncode == 0 and kept.stdout.splitlines()[0] == "inbox: kept for ever (retention 0)"


def test_a_timer_retention_within_the_backfill_is_refused(database_url):
    with pytest.raises(ConfigError) as refused:
        config(database_url, timers_days=3)
    assert "retention.timers_days" in str(refused.value) and "at least 8" in str(refused.value)
    assert config(database_url, timers_days=0).retention.timers_days == 0
    with pytest.raises(ConfigError):
        config(database_url, inbox_days=-1)
