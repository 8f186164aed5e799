"""Writes a handler hands to the event's end (storage/at_end.py): a state machine's compare-and-set, an insert
and an upsert go with the event's last statement (on PostgreSQL a clause of its outbox insert; on SQLite, or
when the event sends nothing, statements of their own), and a compare-and-set that finds the row moved by
someone else refuses the whole event. The suite runs on SQLite and again on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import from_dict
from bot.engine import DispatchResult, Engine
from bot.errors import TransitionNotAllowed
from bot.i18n import localize
from bot.router import Context, Router
from bot.types import Conversation, Event, EventKind, Outcome
from storage import db, sql
from storage.models import Collaboration, Confirmation, Group, GroupBinding, OutboxMessage, Person
from workflows.common.records import open_confirmation
from workflows.requests.states import CollaborationFlow

CODE = "XZB2026112301"


def _router() -> Router:
    router = Router()

    @router.command("activate")
    async def activate(ctx: Context, args: str) -> Outcome:
        collab = await Collaboration.get(code=CODE)
        if "raced" in args:  # another event moved the row after this one read it
            await sql.update_where(Collaboration, {"state": "active", "version": collab.version + 1}, {"id": collab.id})
        await CollaborationFlow.fire_at_end(collab, "activate", collab.code)
        group = await Group.get(conversation_id="g1")
        await sql.insert_at_end(GroupBinding(collaboration=collab, group=group, created_at=ctx.now))
        await open_confirmation(collab.code, "request:r1:design", collab.initiator_id, ctx.now, at_end=True)
        return Outcome() if "quietly" in args else Outcome().reply(f"{collab.code} {collab.state}")

    @router.command("bind")
    async def bind(ctx: Context) -> Outcome:
        collab = await Collaboration.get(code=CODE)
        people = await Person.filter(handle__startswith="head").order_by("-handle")  # head3, head2, head1
        for group in await Group.filter(conversation_id__startswith="g").order_by("-conversation_id"):
            await sql.insert_at_end(GroupBinding(collaboration=collab, group=group, created_at=ctx.now))
        for person in people:
            await open_confirmation(collab.code, "change", person.id, ctx.now, at_end=True)
        return Outcome().reply("bound")

    @router.command("close")
    async def close(args: str) -> Outcome:
        collab = await Collaboration.get(code=CODE)
        for step in ("activate", "complete", "archive"):  # one row written three times in one event
            await CollaborationFlow.fire_at_end(collab, step, collab.code)
        return Outcome().reply("closed")

    return router


async def _start(clock) -> Engine:
    engine = Engine(_router(), from_dict({}, environ={}), clock)
    now = clock.now()
    await Group.create(platform="simulator", conversation_id="g1", created_at=now)
    initiator = await Person.create(handle="lilei", name="李雷", created_at=now)
    await Collaboration.create(code=CODE, title="物料", goal="按时", raised_on=date(2026, 11, 23), deadline=date(2026, 12, 20), initiator=initiator, created_at=now)
    return engine


def _say(text: str, n: int) -> Event:
    return Event(EventKind.COMMAND, "simulator", f"at-end-{n}", Conversation("simulator", "g1"), actor_id="lilei", actor_name="李雷", text=text)


@pytest.mark.parametrize("how", ["", "quietly"])
async def test_the_writes_handed_to_the_end_are_written_with_the_event(database, clock, how):
    engine = await _start(clock)
    result = await engine.dispatch(_say(f"activate {how}", 1))
    assert result.error is None and result.incident is None
    collab = await Collaboration.get(code=CODE)
    assert (collab.state, collab.version) == ("active", 2)
    assert [b.collaboration_id for b in await GroupBinding.all()] == [collab.id]
    confirmation = await Confirmation.get(subject=CODE, purpose="request:r1:design")
    assert (confirmation.state, confirmation.person_id, confirmation.created_at) == ("pending", collab.initiator_id, clock.now())
    sent = [row.payload["body"] for row in await OutboxMessage.filter(id__in=result.outbox_ids)]
    assert sent == ([] if how else [f"{CODE} active"])


@pytest.mark.parametrize("how", ["", "quietly"])
async def test_a_compare_and_set_that_finds_the_row_moved_refuses_the_whole_event(database, clock, how):
    engine = await _start(clock)
    result: DispatchResult = await engine.dispatch(_say(f"activate raced {how}", 1))
    assert isinstance(result.error, TransitionNotAllowed)
    said = str(localize(result.error.message, "zh_CN"))
    assert CODE in said and str(localize(CollaborationFlow.label("active"), "zh_CN")) in said  # the state it is in now
    collab = await Collaboration.get(code=CODE)
    assert (collab.state, collab.version) == ("pending", 1)  # everything the event wrote rolled back
    assert not await GroupBinding.exists() and not await Confirmation.exists()
    [reply] = await OutboxMessage.filter(id__in=result.outbox_ids)
    body = reply.payload["body"]  # the refusal, to the person who acted, translated when it is sent
    assert (body["$m"], body["a"]["state"]["$m"], reply.recipient) == ("{subject} is {state}, so this cannot be done now.", "active", "lilei")


async def test_a_row_written_twice_in_one_event_takes_every_write(database, clock):
    """One statement cannot change a row twice: the earlier writes go at once when the same row is queued again."""
    engine = await _start(clock)
    assert (await engine.dispatch(_say("close", 1))).error is None
    collab = await Collaboration.get(code=CODE)
    assert (collab.state, collab.version) == ("archived", 4)


async def test_outside_an_event_a_write_for_the_end_runs_at_once(database, clock):
    await _start(clock)
    collab = await Collaboration.get(code=CODE)
    stale: list[str] = []

    async def refuse() -> None:
        stale.append("refused")

    async with db.transaction():
        await sql.update_at_end(Collaboration, {"title": "物料 v2", "version": 2}, {"id": collab.id, "version": 1}, refuse)
        assert (await Collaboration.get(id=collab.id)).title == "物料 v2"  # already written, in the transaction
        await sql.update_at_end(Collaboration, {"title": "物料 v3", "version": 2}, {"id": collab.id, "version": 1}, refuse)
    assert stale == ["refused"] and (await Collaboration.get(id=collab.id)).title == "物料 v2"


async def test_rows_inserted_at_the_end_get_their_ids_in_the_order_queued(database, clock):
    """The clauses of one statement run in no set order: inserts of one table queued one after the other are one
    multi-row insert, so their ids ascend as they were queued (what the request card's departments rely on)."""
    engine = await _start(clock)
    for n in (2, 3):
        await Group.create(platform="simulator", conversation_id=f"g{n}", created_at=clock.now())
    for n in (1, 2, 3):
        await Person.create(handle=f"head{n}", name=f"部长{n}", created_at=clock.now())
    assert (await engine.dispatch(_say("bind", 1))).error is None
    bound = [b.group_id for b in await GroupBinding.all().order_by("id")]
    groups = {g.id: g.conversation_id for g in await Group.all()}
    assert [groups[g] for g in bound] == ["g3", "g2", "g1"]
    asked = [c.person_id for c in await Confirmation.filter(purpose="change").order_by("id")]
    handles = {p.id: p.handle for p in await Person.all()}
    assert [handles[p] for p in asked] == ["head3", "head2", "head1"]
