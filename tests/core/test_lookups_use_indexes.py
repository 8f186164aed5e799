"""A collaboration's rows are found through an index, never by reading a whole table.

Tables that grow with every collaboration (subtasks, their reports and acceptances, the departments asked, the
group bindings, the cards' copies…) are read a collaboration, a subtask or a person at a time. Without an index
on the column a lookup filters on, SQLite reads the whole table: invisible in a test's empty database, and the
full mix 1.6–2.1 times slower with 10,000 finished collaborations stored (bench/README.md). This test runs a
collaboration's life on SQLite, records every statement, and asks SQLite how it would run each one.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from storage import db
from storage.models import CardPost, Person, Subtask
from tests.conftest import _template_sqlite
from tests.core.harness import running
from tests.workflows.helpers import NEW, active_collaboration, add_subtask, card_with, ok

# every table whose rows grow with the collaborations, the events or the messages
GROWING = {
    "collaboration", "group_binding", "requested_department", "subtask", "planned_subtask", "progress_update",
    "acceptance_request", "confirmation", "card", "card_post", "outbox", "inbox", "audit_entry", "timer",
    "risk_report", "issue", "change_request", "delay_notice", "meeting", "minutes", "improvement", "retrospective",
}  # fmt: skip


def _full_scans(connection: sqlite3.Connection, statement: str) -> list[str]:
    """The growing tables SQLite would read whole to run ``statement`` (with its values written in)."""
    if "WHERE 1=0 " in statement:  # tortoise's filter on an empty list: SQLite tests the constant once, reads nothing
        return []
    try:
        plan = connection.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
    except sqlite3.Error:  # a statement of the schema or of a transaction: nothing to plan
        return []
    scans = []
    for row in plan:
        detail = str(row[3]).split()
        if detail[:1] == ["SCAN"] and "USING" not in detail and detail[1] in GROWING:
            scans.append(detail[1])
    return scans


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file, whichever database the rest of the suite runs on: the plans asked are SQLite's."""
    target = Path(tmp_path_factory.mktemp("plans")) / "plans.db"
    shutil.copyfile(_template_sqlite(tmp_path_factory.getbasetemp()), target)
    return f"sqlite://{target}"


async def test_a_collaborations_life_reads_no_growing_table_whole(sqlite_url, clock):
    statements: list[str] = []
    async with running(sqlite_url, clock, fresh=False) as (app, sim):
        db.connection()._connection._conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        await active_collaboration(sim, group="global", text=NEW)  # two open collaborations: SQLite plans a list of two unlike a list of one
        code = await active_collaboration(sim, text=NEW)
        subtask = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        await ok(await sim.click("hanmei", (await card_with(sim, "task.ack", person="hanmei"))["id"], "task.ack"))
        await ok(await sim.say("hanmei", f"进度 {subtask} 50% 已完成：初稿 问题：字体授权未到", "launch"))
        await ok(await sim.say("hanmei", f"提交验收 {subtask}\n交付物：海报 v1", "launch"))
        reviewer = (await Person.get(id=(await Subtask.get(code=subtask)).reviewer_id)).handle
        await ok(await sim.click(reviewer, (await card_with(sim, "acceptance.pass", person=reviewer))["id"], "acceptance.pass"))
        await ok(await sim.say("lilei", f"查看 {code}", "launch"))
        await ok(await sim.say("lilei", f"记录 {code}", "launch"))
        await ok(await sim.say("lilei", f"待确认 {code}", "launch"))
        await ok(await sim.say("hanmei", "我的任务", "launch"))
        await ok(await sim.say("lilei", f"完成 {code}", "launch"))
        clock.advance(days=1)
        await app.settle()
        db.connection()._connection._conn.set_trace_callback(None)  # type: ignore[attr-defined]

    assert len(statements) > 100  # the life above was recorded
    plans = sqlite3.connect(sqlite_url.removeprefix("sqlite://"))
    scans = {statement[:400]: tables for statement in statements if (tables := _full_scans(plans, statement))}
    assert not scans, "\n".join(f"{tables}: {statement}" for statement, tables in scans.items())


async def test_a_slack_form_button_finds_its_card_through_an_index(sqlite_url):
    """A form button's modal must open within the 3 s of Slack's trigger: the card behind the clicked message is
    found by the message's reference, among every copy and every message ever sent."""
    from adapters.slack.modals import stored_card

    await db.connect(sqlite_url, run_migrations=False)
    try:
        assert await CardPost.all().count() == 0  # opens the connection
        statements: list[str] = []
        db.connection()._connection._conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        assert await stored_card("slack", "C0LAUNCH:1764000000.000100") is None
    finally:
        await db.close()
    plans = sqlite3.connect(sqlite_url.removeprefix("sqlite://"))
    lookups = {
        table: [str(row[3]) for row in plans.execute("EXPLAIN QUERY PLAN " + s)]
        for s in statements
        for table in ("card_post", "outbox")
        if f'FROM "{table}"' in s
    }
    assert lookups.keys() == {"card_post", "outbox"}, statements
    # the index read must be the reference's: an index on the platform alone reads every row of a one-platform bot
    assert all(any(f"SEARCH {table} USING INDEX" in step and "message_ref=?" in step for step in plan) for table, plan in lookups.items()), lookups
