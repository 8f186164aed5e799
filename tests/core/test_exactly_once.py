"""Restart, redelivery and one-transaction-per-event."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import from_dict
from bot.engine import Engine
from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Router
from bot.types import Conversation, Event, EventKind, Outcome
from storage.models import (
    AuditEntry,
    Collaboration,
    InboxEntry,
    OutboxMessage,
    Person,
    SimulatorMessage,
    Timer,
)
from tests.core.harness import running
from tests.simclient import body_text, buttons

NEW = "新建协作\n标题：海报\n目标：完成海报\n协作部门：设计部\n截止：2026-12-20"


async def test_state_survives_a_process_restart(database_url, clock):
    """On the SQLite file (and on PostgreSQL when the suite runs there): a new App picks up where the old one stopped."""
    async with running(database_url, clock) as (_app, sim):
        await sim.say("lilei", NEW, "launch")
        card = next(m for m in await sim.messages(person="liuyang") if "request.accept" in buttons(m))
    clock.advance(minutes=5)
    async with running(database_url, clock, fresh=False) as (_app, sim):
        assert (await sim.click("liuyang", card["id"], "request.accept"))["error"] is None
        await sim.say("lilei", "查看 XZB2026112301", "launch")
        shown = body_text([m for m in await sim.messages("launch", person="lilei") if m["sender"] == "bot"][-1])
        assert "进行中" in shown and "✅ 设计部" in shown
        assert await Collaboration.filter(state="active").count() == 1


async def test_an_event_delivered_twice_is_handled_once(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        first = await sim.say("lilei", NEW, "launch", delivery_id="dup-1")
        second = await sim.say("lilei", NEW, "launch", delivery_id="dup-1")
        assert first["duplicate"] is False and second["duplicate"] is True
        assert await Collaboration.all().count() == 1
        assert await InboxEntry.filter(delivery_id="dup-1").count() == 1
        bot_cards = [m for m in await sim.messages("launch") if m["sender"] == "bot"]
        assert len(bot_cards) == 1
        card = next(m for m in await sim.messages(person="liuyang") if "request.accept" in buttons(m))
        a = await sim.click("liuyang", card["id"], "request.accept", delivery_id="click-1")
        b = await sim.click("liuyang", card["id"], "request.accept", delivery_id="click-1", value=card["content"]["buttons"][0]["value"])
        assert a["duplicate"] is False and b["duplicate"] is True
        assert await AuditEntry.filter(action="request.accepted").count() == 1


def _crashing_router() -> Router:
    router = Router()

    @router.command("half")
    async def half(actor: Person, now: object) -> Outcome:
        await Collaboration.create(code="XZB2099010101", title="half", initiator=actor, raised_on=date(2099, 1, 1), deadline=date(2099, 1, 2), created_at=now)
        await Timer.create(key="t:half", kind="nothing", due_at=now, created_at=now)
        raise RuntimeError("a bug after two writes")

    @router.command("mistake")
    async def mistake(actor: Person, now: object) -> Outcome:
        await Collaboration.create(code="XZB2099010102", title="mistake", initiator=actor, raised_on=date(2099, 1, 1), deadline=date(2099, 1, 2), created_at=now)
        raise InvalidInput(_("Unknown field “{name}”. Known fields: {known}.", name="x", known="y"))

    return router


@pytest.mark.parametrize("command", ["half", "mistake"])
async def test_one_event_is_one_transaction(database, clock, command):
    engine = Engine(_crashing_router(), from_dict({}, environ={}), clock)
    event = Event(EventKind.COMMAND, "simulator", f"tx-{command}", Conversation("simulator", "g1"), actor_id="p1", actor_name="P", text=command)
    result = await engine.dispatch(event)
    assert not result.duplicate
    assert await Collaboration.all().count() == 0  # the handler's write was rolled back
    assert await Timer.all().count() == 0
    assert await AuditEntry.all().count() == 0
    assert await InboxEntry.filter(delivery_id=f"tx-{command}").count() == 1  # the event counts as handled …
    replies = await OutboxMessage.all()
    assert len(replies) == 1 and replies[0].payload["type"] == "text"  # … and the person is told, once
    again = await engine.dispatch(event)
    assert again.duplicate and await OutboxMessage.all().count() == 1
    assert await SimulatorMessage.all().count() == 0
