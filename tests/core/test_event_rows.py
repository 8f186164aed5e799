"""The engine's fixed path in plain SQL (storage/event_rows.py): every row it writes is the row tortoise writes.

Each test writes a row by hand-written SQL and its twin through the ORM, then compares what the database holds
(column by column) and what the ORM reads back. The suite runs on SQLite and again on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.config import from_dict
from bot.engine import Engine
from bot.i18n import _, join
from bot.router import Router
from bot.types import AuditNote, Button, Card, CardField, Conversation, Event, EventKind, Outcome, TimerSpec
from storage import event_end, event_rows, outbox_queue, sql
from storage.event_rows import AuditRow, OutboxRow, TimerRow
from storage.models import (
    AuditEntry,
    CardPost,
    CardRecord,
    Confirmation,
    InboxEntry,
    OutboxMessage,
    Person,
    Timer,
)

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=SHANGHAI)  # microseconds and a zone other than UTC
DETAIL: dict[str, Any] = {
    "title": "物料“海报”\\ 'quoted' \"double\" ✅",
    "nested": {"list": [1, 2.5, True, None, "二"], "empty": {}},
    "count": 3,
}


async def _stored(table: str, ids: list[int]) -> list[dict[str, Any]]:
    """The rows as the database holds them (no ORM decoding), without their id."""
    rows = await sql.fetch(f'SELECT * FROM "{table}" WHERE "id" IN ({", ".join("?" * len(ids))}) ORDER BY "id"', ids)
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_placeholders_are_numbered_for_postgres_only():
    text = "SELECT '?' AS \"a?\", x FROM t WHERE a = ? AND b IN (?, ?)"
    assert sql.statement(text, "sqlite") == text
    assert sql.statement(text, "postgres") == "SELECT '?' AS \"a?\", x FROM t WHERE a = $1 AND b IN ($2, $3)"
    assert sql.rows_of(2, 3) == "(?, ?, ?), (?, ?, ?)"


async def test_an_inbox_row_is_the_orm_row_and_a_second_claim_is_refused(database):
    assert await event_rows.claim_delivery("slack", "Ev01", AT) is True
    assert await event_rows.claim_delivery("slack", "Ev01", AT + timedelta(seconds=1)) is False
    assert await event_rows.claim_delivery("dingtalk", "Ev01", AT) is True  # dedupe is per platform
    twin = await InboxEntry.create(platform="wecom", delivery_id="Ev01", received_at=AT)
    mine = await InboxEntry.get(platform="slack", delivery_id="Ev01")
    assert mine.received_at == AT and mine.platform == "slack"
    (raw_mine, raw_twin) = await _stored("inbox", [mine.id, twin.id])
    assert {**raw_mine, "platform": "wecom"} == raw_twin
    assert await InboxEntry.all().count() == 3


async def test_audit_rows_are_the_orm_rows(database):
    actor = await Person.create(handle="lilei", name="李雷", created_at=AT)
    await event_rows.insert_audit(
        [
            AuditRow(AT, actor.id, "slack", "U1", "request.created", "XZB2026112301", DETAIL, "Ev1"),
            AuditRow(AT, None, "slack", None, "request.activated", "XZB2026112301", {}, None),
        ]
    )
    twin = await AuditEntry.create(
        at=AT, actor_id=actor.id, platform="slack", platform_user_id="U1", action="request.created",
        subject="XZB2026112301", detail=DETAIL, delivery_id="Ev1",
    )
    mine, other = await AuditEntry.filter(id__lt=twin.id).order_by("id")
    assert (mine.at, mine.actor_id, mine.platform_user_id, mine.action, mine.detail, mine.delivery_id) == (
        AT, actor.id, "U1", "request.created", DETAIL, "Ev1",
    )
    assert (other.actor_id, other.platform_user_id, other.detail, other.delivery_id) == (None, None, {}, None)
    raw_mine, raw_twin = await _stored("audit_entry", [mine.id, twin.id])
    assert raw_mine == raw_twin


def _written(ids: list[int | None]) -> list[int]:
    """The ids of rows written (every one of them)."""
    assert None not in ids
    return [i for i in ids if i is not None]


def _outbox_row(key: str, conversation: str = "C1", **changes: Any) -> OutboxRow:
    values: dict[str, Any] = {
        "dedupe_key": key, "platform": "slack", "conversation_id": conversation, "is_direct": True, "recipient": "U1",
        "thread": "1700000000.000100", "kind": "text", "payload": DETAIL, "locale": "zh_CN",
        "reply_to": {"message_id": "m1", "nested": [1, "二"]}, "post_id": None, "next_attempt_at": AT, "created_at": AT,
    }
    return OutboxRow(**{**values, **changes})


async def test_outbox_rows_are_the_orm_rows(database):
    [row_id] = _written(await event_rows.insert_outbox([_outbox_row("k:1")]))
    twin = await OutboxMessage.create(
        dedupe_key="k:2", platform="slack", conversation_id="C1", is_direct=True, recipient="U1", thread="1700000000.000100",
        kind="text", payload=DETAIL, locale="zh_CN", reply_to={"message_id": "m1", "nested": [1, "二"]},
        next_attempt_at=AT, created_at=AT,
    )
    mine = await OutboxMessage.get(id=row_id)
    assert (mine.payload, mine.reply_to, mine.is_direct, mine.status, mine.attempts) == (
        DETAIL, {"message_id": "m1", "nested": [1, "二"]}, True, "pending", 0,
    )
    assert mine.next_attempt_at == AT and mine.created_at == AT and mine.post_id is None and mine.lease_until is None
    raw_mine, raw_twin = await _stored("outbox", [row_id, twin.id])
    assert {**raw_mine, "dedupe_key": "k:2"} == raw_twin


async def test_outbox_rows_of_one_statement_queue_in_the_order_given(database):
    ids = _written(await event_rows.insert_outbox([_outbox_row(f"q:{i}", payload={"n": i}) for i in range(3)] + [_outbox_row("q:other", "C2")]))
    assert ids == sorted(ids) and len(set(ids)) == 4
    rows = {r.id: r for r in await OutboxMessage.filter(id__in=ids)}
    assert [rows[i].payload for i in ids[:3]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    # the delivery worker's queues see the first row as the head of its conversation, the rest wait behind it
    candidates = await outbox_queue.due(["slack"], AT + timedelta(seconds=1), 10)
    heads = await outbox_queue.heads(candidates)
    assert heads[("conversation", "slack", "C1")].id == ids[0]
    assert heads[("conversation", "slack", "C2")].id == ids[3]


async def test_an_outbox_dedupe_key_is_written_once(database):
    [first] = _written(await event_rows.insert_outbox([_outbox_row("edit:1:2")]))
    skipped, added = await event_rows.insert_outbox([_outbox_row("edit:1:2"), _outbox_row("edit:1:3")], skip_existing=True)
    assert skipped is None and added is not None and added > first
    with pytest.raises(IntegrityError):
        async with in_transaction("default"):
            await event_rows.insert_outbox([_outbox_row("edit:1:2")])
    assert await OutboxMessage.filter(dedupe_key="edit:1:2").count() == 1


async def test_a_card_is_upserted_in_one_statement_and_reads_back(database):
    card = Card(title="海报", body="第一版", key="task:XZB2026112301-01")
    card_id, version = await event_rows.upsert_card("task:XZB2026112301-01", card.json_text(), AT)
    assert (card_id, version) == ((await CardRecord.get(key="task:XZB2026112301-01")).id, 1)
    later = AT + timedelta(minutes=5)
    # what a workflow's card holds: messages (with messages and joins inside), fields, buttons, DETAIL's escapes
    card = Card(
        title=_("Stand-up digest · {group} · {day}", group="设计部", day=_("{date} ({weekday})", date="2026-11-23", weekday=_("Mon"))),
        key="task:XZB2026112301-01",
        body=join(["第二版 ✅", _("{answered} of {total} answered ({away} away, {missing} missing).", answered=1, total=2, away=0, missing=1), DETAIL["title"]]),
        fields=[CardField(_("Missing"), join(["李雷", "韩梅梅"], ", "))],
        buttons=[Button(_("Accept"), "request.accept", {"code": "XZB2026112301", "n": 2.5})],
        status={"nested": DETAIL["nested"]},
    )
    edited = card.to_json()
    assert card.json_text() == json.dumps(edited, separators=(",", ":"))
    assert await event_rows.upsert_card("task:XZB2026112301-01", card.json_text(), later) == (card_id, 2)
    record = await CardRecord.get(id=card_id)
    assert (record.content, record.version, record.updated_at) == (edited, 2, later)
    assert Card.from_json(record.content).to_json() == edited
    twin = await CardRecord.create(key="twin", content=edited, version=2, updated_at=later)
    raw_mine, raw_twin = await _stored("card", [card_id, twin.id])
    assert {**raw_mine, "key": "twin"} == raw_twin

    post_id = await event_rows.insert_card_post(card_id, "slack", "D1", "U1", "en")
    assert await event_rows.card_post(card_id, "slack", "D1") == event_rows.PostRow(post_id, "slack", "D1", "U1", "en", None)
    assert await event_rows.card_post(card_id, "slack", "D2") is None
    post = await CardPost.get(id=post_id)
    assert (post.card_id, post.recipient, post.locale, post.sent_version, post.message_ref) == (card_id, "U1", "en", 0, None)
    await CardPost.filter(id=post_id).update(message_ref="1700000000.000200")
    second = await event_rows.insert_card_post(card_id, "slack", "C1", None, "zh_CN")
    assert [(p.id, p.message_ref) for p in await event_rows.card_posts(card_id)] == [(post_id, "1700000000.000200"), (second, None)]
    twin_post = await CardPost.create(card_id=twin.id, platform="slack", conversation_id="C1", recipient=None, locale="zh_CN")
    # the copies of several cards in one statement, by card, oldest first; a card without copies is absent
    both = await event_rows.card_posts_of([twin.id, card_id, twin.id, card_id + twin.id + 1])
    assert {k: [p.id for p in v] for k, v in both.items()} == {card_id: [post_id, second], twin.id: [twin_post.id]}
    assert await event_rows.card_posts_of([]) == {}
    raw_mine, raw_twin = await _stored("card_post", [second, twin_post.id])
    assert {**raw_mine, "card_id": twin.id} == raw_twin


async def test_timers_are_set_rearmed_and_cancelled_like_the_orm_did(database):
    due = AT + timedelta(days=1)
    await event_rows.set_timers(
        [TimerRow("sla:a_b:remind", "sla.remind", due, DETAIL), TimerRow("sla:axb:remind", "sla.remind", due, {}),
         TimerRow("sla:a_b:escalate", "sla.escalate", due, {"first": True}), TimerRow("sla:a_b:escalate", "sla.escalate", due, {"last": True})],
        AT,
    )
    twin = await Timer.create(key="twin", kind="sla.remind", due_at=due, payload=DETAIL, created_at=AT)
    mine = await Timer.get(key="sla:a_b:remind")
    assert (mine.kind, mine.due_at, mine.payload, mine.status, mine.created_at) == ("sla.remind", due, DETAIL, "pending", AT)
    assert (await Timer.get(key="sla:a_b:escalate")).payload == {"last": True}  # a key given twice: the last one
    raw_mine, raw_twin = await _stored("timer", [mine.id, twin.id])
    assert {**raw_mine, "key": "twin"} == raw_twin

    # a prefix's "_" is a character, not a wildcard: sla:axb is not under sla:a_b; the prefix is exact (its case,
    # its last character: the text just before or after it in the key index is not under it) on both databases
    neighbours = ["sla:a_b", "sla:a_b;", "SLA:A_B:remind", "sla:a_b:提醒"]
    await event_rows.set_timers([TimerRow(key, "sla.remind", due, {}) for key in neighbours], AT)
    assert await event_rows.cancel_timers(["sla:a_b:*", "twin"]) == 4
    assert {t.key: t.status for t in await Timer.all()} == {
        "sla:a_b:remind": "cancelled", "sla:axb:remind": "pending", "sla:a_b:escalate": "cancelled", "twin": "cancelled",
        "sla:a_b": "pending", "sla:a_b;": "pending", "SLA:A_B:remind": "pending", "sla:a_b:提醒": "cancelled",
    }
    await Timer.filter(key="sla:a_b:remind").update(lease_owner="w1", fired_at=AT)
    later = due + timedelta(hours=2)
    await event_rows.set_timers([TimerRow("sla:a_b:remind", "sla.remind2", later, {"n": 2})], AT + timedelta(hours=1))
    rearmed = await Timer.get(key="sla:a_b:remind")
    assert (rearmed.id, rearmed.kind, rearmed.due_at, rearmed.payload, rearmed.status) == (mine.id, "sla.remind2", later, {"n": 2}, "pending")
    assert (rearmed.created_at, rearmed.lease_owner, rearmed.fired_at) == (AT, "w1", AT)  # only what the ORM path changed

    assert await event_rows.add_timers([TimerRow("sla:a_b:remind", "x", AT, {}), TimerRow("new", "x", AT, {})], AT) == 1
    assert (await Timer.get(key="sla:a_b:remind")).kind == "sla.remind2"


async def test_a_key_prefix_is_read_from_an_index_among_many_pending_timers(database):
    """A prefix cancel reads the range of its keys, not every pending timer (the planner decides from the table's
    statistics, so the table holds what an organisation's would: thousands of pending timers)."""
    due = AT + timedelta(days=1)
    await event_rows.set_timers([TimerRow(f"sla:XZB{n:05d}:remind", "sla.remind", due, {}) for n in range(3000)], AT)
    text, params = event_rows.cancel_statement(["sla:XZB00017:*", "twin"], sql.dialect())
    async with in_transaction("default") as conn:
        postgres = sql.dialect() == "postgres"
        if postgres:
            await conn.execute_query('ANALYZE "timer"')
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = str(await conn.execute_query_dict(explain + sql.statement(text, sql.dialect()), params))
    assert ("timer_pending_key_bytes" if postgres else "sqlite_autoindex_timer_1 (key>? AND key<?)") in plan, plan
    assert await event_rows.cancel_timers(["sla:XZB00017:*"]) == 1


async def test_the_end_of_an_event_writes_its_timers_audit_and_outbox_rows_together(database):
    """On PostgreSQL one statement (the timers and audit entries as WITH clauses of the outbox insert), on SQLite
    one each: the same rows either way, the outbox ids in the order given; a key cancelled and set is set."""
    actor = await Person.create(handle="lilei", name="李雷", created_at=AT)
    due = AT + timedelta(days=1)
    await event_rows.set_timers([TimerRow("sla:X:remind", "sla.remind", AT, {}), TimerRow("sla:X:escalate", "sla.escalate", AT, {})], AT)
    async with in_transaction("default"):
        ids = await event_end.finish_event(
            [_outbox_row("e:1"), _outbox_row("e:2", "C2"), _outbox_row("e:3")],
            {},
            {},
            [AuditRow(AT, actor.id, "slack", "U1", "request.created", "X", DETAIL, "Ev1")],
            [TimerRow("sla:X:remind", "sla.remind", due, {"n": 2}), TimerRow("sla:Y:remind", "sla.remind", due, {})],
            AT,
            cancel=["sla:X:*"],
        )
    assert ids == [row.id for row in await OutboxMessage.all().order_by("id")] and ids == sorted(ids) and len(ids) == 3
    assert [row.dedupe_key for row in await OutboxMessage.all().order_by("id")] == ["e:1", "e:2", "e:3"]
    assert {t.key: (t.status, t.payload) for t in await Timer.all()} == {
        "sla:X:remind": ("pending", {"n": 2}), "sla:X:escalate": ("cancelled", {}), "sla:Y:remind": ("pending", {}),
    }
    entry = await AuditEntry.get(action="request.created")
    assert (entry.actor_id, entry.detail, entry.delivery_id) == (actor.id, DETAIL, "Ev1")
    # each part alone, and a duplicate outbox key refuses the whole statement: nothing of it is written
    assert await event_end.finish_event([], {}, {}, [AuditRow(AT, None, "slack", None, "a", "Y", {}, None)], [], AT) == []
    assert await event_end.finish_event([_outbox_row("e:4")], {}, {}, [], [], AT) == [ids[-1] + 1]
    # timers cancelled by an event that sets none: on PostgreSQL a clause of the outbox insert too
    [cancelled_with] = await event_end.finish_event([_outbox_row("e:5")], {}, {}, [], [], AT, cancel=["sla:Y:*", "nothing"])
    assert (await Timer.get(key="sla:Y:remind")).status == "cancelled" and cancelled_with == ids[-1] + 2
    with pytest.raises(IntegrityError):
        async with in_transaction("default"):
            await event_end.finish_event(
                [_outbox_row("e:1")], {}, {}, [AuditRow(AT, None, "slack", None, "b", "Z", {}, None)], [TimerRow("z", "k", due, {})], AT
            )
    assert not await AuditEntry.filter(action="b").exists() and not await Timer.filter(key="z").exists()
    assert await AuditEntry.all().count() == 2


async def test_a_card_placed_in_conversations_is_stored_and_finds_or_adds_its_copies(database):
    """The same rows and answers on both databases, in the order of the places."""
    text = Card(title="海报", key="task:P").json_text()
    [first] = await event_rows.place_card("task:P", text, AT, [("slack", "C1", None, "zh_CN")])
    assert (first.version, first.existing) == (1, None) and first.new_post_id is not None
    post = await CardPost.get(id=first.new_post_id)
    assert (post.card_id, post.platform, post.conversation_id, post.recipient, post.locale, post.sent_version) == (first.id, "slack", "C1", None, "zh_CN", 0)
    await CardPost.filter(id=post.id).update(message_ref="1700000000.000400")
    [again] = await event_rows.place_card("task:P", text, AT + timedelta(minutes=1), [("slack", "C1", None, "zh_CN")])
    assert (again.id, again.version, again.new_post_id) == (first.id, 2, None)
    assert again.existing == event_rows.PostRow(post.id, "slack", "C1", None, "zh_CN", "1700000000.000400")
    elsewhere = await event_rows.place_card("task:P", text, AT, [("slack", "D9", "U9", "en"), ("slack", "C1", None, "zh_CN"), ("dingtalk", "cid1", None, "zh_CN")])
    assert [(p.id, p.version) for p in elsewhere] == [(first.id, 3)] * 3
    assert elsewhere[0].existing is None and elsewhere[2].existing is None
    assert elsewhere[1].existing == again.existing and elsewhere[1].new_post_id is None
    added = [elsewhere[0].new_post_id, elsewhere[2].new_post_id]
    assert None not in added and added == sorted(added)  # new copies numbered in the order of the places
    rows = await CardPost.filter(card_id=first.id).order_by("id").values_list("id", "platform", "conversation_id", "recipient", "locale")
    assert rows == [(post.id, "slack", "C1", None, "zh_CN"), (added[0], "slack", "D9", "U9", "en"), (added[1], "dingtalk", "cid1", None, "zh_CN")]
    assert (await CardRecord.get(id=first.id)).version == 3
    [new] = await event_rows.place_card("task:Q", text, AT, [("slack", "C1", None, "zh_CN")])
    assert (new.version, new.existing) == (1, None) and new.id != first.id  # another card: no copy of task:P is taken for it


async def test_cards_updated_together_return_their_versions_and_their_copies(database):
    first = Card(title="海报", key="task:A")
    a_id, _version = await event_rows.upsert_card("task:A", first.json_text(), AT)
    shown = await event_rows.insert_card_post(a_id, "slack", "C1", None, "zh_CN")
    unsent = await event_rows.insert_card_post(a_id, "slack", "D1", "U1", "en")
    await CardPost.filter(id=shown).update(message_ref="1700000000.000300")
    later = AT + timedelta(minutes=1)
    updated = await event_rows.update_cards({"task:A": Card(title="海报 v2", key="task:A").json_text(), "task:B": first.json_text()}, later)
    assert set(updated) == {"task:A", "task:B"}
    a, b = updated["task:A"], updated["task:B"]
    assert (a.id, a.version, [(p.id, p.message_ref) for p in a.posts]) == (a_id, 2, [(shown, "1700000000.000300"), (unsent, None)])
    assert (b.version, b.posts) == (1, [])  # a new card: no copies, and none read
    record = await CardRecord.get(key="task:A")
    assert (record.version, record.content["title"], record.updated_at) == (2, "海报 v2", later)
    assert (await CardRecord.get(key="task:B")).id == b.id
    assert await event_rows.update_cards({}, later) == {}


async def test_the_end_of_an_event_posts_new_copies_edits_sent_ones_and_queues_in_order(database):
    """storage.event_end: one statement on PostgreSQL, one per part on SQLite, the same rows. A placed card's new
    copy is posted, its sent copy edited, its unsent copy left to go out with the newest content; an updated
    card's sent copies are edited after the event's other rows; a card both placed and updated is written too."""
    a_id, _version = await event_rows.upsert_card("task:A", Card(title="A", key="task:A").json_text(), AT)
    sent_a = await event_rows.insert_card_post(a_id, "slack", "C1", None, "zh_CN")
    await event_rows.insert_card_post(a_id, "slack", "D1", "U1", "en")  # posted but not yet sent
    b_id, _version = await event_rows.upsert_card("task:B", Card(title="B", key="task:B").json_text(), AT)
    sent_b = await event_rows.insert_card_post(b_id, "dingtalk", "cid9", "u9", "en")
    await CardPost.filter(id__in=[sent_a, sent_b]).update(message_ref="m-1")

    def copy(key: str, conversation: str, dedupe: str, is_direct: bool = False, platform: str = "slack") -> event_end.CardCopy:
        row = _outbox_row(dedupe, conversation, platform=platform, kind="post", payload={}, is_direct=is_direct, thread=None, reply_to=None)
        return event_end.CardCopy(key, row)

    later = AT + timedelta(minutes=1)
    entries = [_outbox_row("e:1"), copy("task:A", "C1", "e:2"), copy("task:A", "C2", "e:3"), copy("task:A", "D1", "e:4", True), _outbox_row("e:5", "C2")]
    contents = {"task:A": Card(title="A v2", key="task:A").json_text()}
    updates = {"task:B": Card(title="B v2", key="task:B").json_text(), "task:N": Card(title="N", key="task:N").json_text()}
    async with in_transaction("default"):
        ids = await event_end.finish_event(
            entries, contents, updates, [AuditRow(later, None, "slack", "U1", "card.moved", "A", {}, "Ev9")], [TimerRow("t:A", "sla.remind", later, {})], later
        )
    queued = await OutboxMessage.all().order_by("id")
    new_c2 = await CardPost.get(card_id=a_id, conversation_id="C2")
    assert ids == [row.id for row in queued]
    assert [(r.dedupe_key, r.kind, r.conversation_id, r.post_id, r.payload) for r in queued] == [
        ("e:1", "text", "C1", None, DETAIL),
        (f"edit:{sent_a}:2", "edit", "C1", sent_a, {}),
        ("e:3", "post", "C2", new_c2.id, {}),
        ("e:5", "text", "C2", None, DETAIL),
        (f"edit:{sent_b}:2", "edit", "cid9", sent_b, {}),
    ]
    edit_b = queued[-1]
    assert (edit_b.platform, edit_b.is_direct, edit_b.recipient, edit_b.locale, edit_b.thread, edit_b.reply_to) == ("dingtalk", True, "u9", "en", None, None)
    assert (edit_b.status, edit_b.attempts, edit_b.next_attempt_at, edit_b.created_at) == ("pending", 0, later, later)
    assert (new_c2.recipient, new_c2.locale, new_c2.sent_version) == (None, "zh_CN", 0)
    assert {c.key: (c.version, c.content["title"]) for c in await CardRecord.all()} == {"task:A": (2, "A v2"), "task:B": (2, "B v2"), "task:N": (1, "N")}
    assert await AuditEntry.filter(action="card.moved", delivery_id="Ev9").exists() and await Timer.filter(key="t:A").exists()
    # a card placed and updated by one event (written apart on PostgreSQL), and an event of updates only
    both = await event_end.finish_event([copy("task:B", "cid9", "e:6", platform="dingtalk")], {"task:B": contents["task:A"]}, {"task:B": updates["task:B"]}, [], [], later)
    only = await event_end.finish_event([], {}, {"task:A": contents["task:A"]}, [], [], later)
    assert [(r.dedupe_key, r.post_id) for r in await OutboxMessage.filter(id__in=both + only).order_by("id")] == [
        (f"edit:{sent_b}:3", sent_b), (f"edit:{sent_b}:4", sent_b), (f"edit:{sent_a}:3", sent_a)
    ]


def _router() -> Router:
    router = Router()

    @router.command("card")
    async def card(now: datetime) -> Outcome:
        outcome = Outcome().reply("收到").reply(Card(title="海报", key="task:X"))
        outcome.timers.append(TimerSpec("sla:x", "sla.remind", now + timedelta(days=1), {"code": "X"}))
        outcome.audit.append(AuditNote("card.posted", "X", {"n": 1}))
        return outcome

    @router.command("answer")
    async def answer(args: str) -> Outcome:
        outcome = Outcome().confirmed("X", "acceptance:1", "confirmed" if args == "yes" else "rejected", "颜色 OK")
        return outcome.reply("已确认") if args == "yes" else outcome  # with the outbox insert, and on its own

    return router


async def test_a_redelivered_event_is_handled_once_even_when_both_copies_arrive_together(database, clock):
    engine = Engine(_router(), from_dict({}, environ={}), clock)
    event = Event(EventKind.COMMAND, "simulator", "dup-7", Conversation("simulator", "g1"), actor_id="p1", actor_name="P", text="card")
    results = await asyncio.gather(engine.dispatch(event), engine.dispatch(event))  # on PostgreSQL: two connections at once
    assert sorted(r.duplicate for r in results) == [False, True]
    later = await engine.dispatch(event)
    assert later.duplicate and later.outbox_ids == []
    assert await InboxEntry.filter(platform="simulator", delivery_id="dup-7").count() == 1
    assert await OutboxMessage.all().count() == 2 and await Timer.all().count() == 1
    assert await CardRecord.all().count() == 1 and await CardPost.all().count() == 1
    entry = await AuditEntry.get(action="card.posted")
    person = await Person.get(id=entry.actor_id)
    assert (entry.at, entry.platform_user_id, entry.delivery_id, entry.detail) == (clock.now(), "p1", "dup-7", {"n": 1})
    assert person.name == "P"
    [handled] = [r for r in results if not r.duplicate]
    assert handled.outbox_ids == [row.id for row in await OutboxMessage.all().order_by("id")]


async def test_an_answer_to_a_confirmation_is_written_with_the_event_and_its_account_and_time(database, clock):
    """Outcome.confirmed: the row asked for (pending) takes the answer, the platform account and the time; on
    PostgreSQL a clause of the event's last statement, or a statement of its own when the event sends nothing."""
    engine = Engine(_router(), from_dict({}, environ={}), clock)
    answer = Event(EventKind.COMMAND, "simulator", "a-1", Conversation("simulator", "g1"), actor_id="p1", actor_name="P", text="answer yes")
    await engine.dispatch(Event(EventKind.COMMAND, "simulator", "a-0", Conversation("simulator", "g1"), actor_id="p1", actor_name="P", text="card"))
    person = await Person.get(name="P")
    asked_at = clock.now()
    await Confirmation.create(subject="X", purpose="acceptance:1", person=person, state="pending", created_at=asked_at)
    clock.advance(timedelta(minutes=5))
    assert (await engine.dispatch(answer)).outbox_ids
    row = await Confirmation.get(subject="X", purpose="acceptance:1", person_id=person.id)
    assert (row.state, row.comment, row.platform, row.platform_user_id, row.decided_at, row.created_at) == (
        "confirmed", "颜色 OK", "simulator", "p1", clock.now(), asked_at
    )
    clock.advance(timedelta(minutes=5))
    silent = Event(EventKind.COMMAND, "simulator", "a-2", Conversation("simulator", "g1"), actor_id="p1", actor_name="P", text="answer no")
    assert (await engine.dispatch(silent)).outbox_ids == []
    row = await Confirmation.get(subject="X", purpose="acceptance:1", person_id=person.id)
    assert (row.state, row.decided_at) == ("rejected", clock.now()) and await Confirmation.all().count() == 1


async def test_every_column_of_the_fixed_path_tables_is_written_or_starts_empty(database):
    """A column added to one of these models fails here until storage/event_rows.py writes it (or it may start NULL)."""
    starts_null = {
        InboxEntry: set(),
        AuditEntry: set(),
        OutboxMessage: {"lease_until", "lease_owner", "last_error", "message_ref", "sent_at"},
        CardRecord: set(),
        CardPost: {"message_ref"},
        Timer: {"lease_until", "lease_owner", "fired_at"},
    }
    written = {
        InboxEntry: {"platform", "delivery_id", "received_at"},
        AuditEntry: set(event_rows._AUDIT_COLUMNS),
        OutboxMessage: set(event_rows._OUTBOX_COLUMNS),
        CardRecord: {"key", "content", "version", "updated_at"},
        CardPost: {"card_id", "platform", "conversation_id", "recipient", "locale", "sent_version"},
        Timer: {"key", "kind", "due_at", "payload", "status", "created_at"},
    }
    for model, empty in starts_null.items():
        columns = set(model._meta.fields_db_projection.values()) - {"id"}
        assert columns == written[model] | empty, model.__name__
        assert all(model._meta.fields_map[name].null for name in empty), model.__name__
