"""Every SLA clock: a reminder before it runs out, an escalation when it does, nothing once answered.

The request and review clocks run through the real workflows (a head who does not answer a request, a
reviewer who gives no verdict). The risk, minutes and meeting-notice clocks belong to the risk/meeting
workflow; here their timings (``bot.scheduler.sla_clocks`` / ``meeting_notice_timers``) run through the
real timer table, engine and simulator with a small router that stands in for that workflow.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.calendar import WorkCalendar
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import from_dict
from bot.router import Context, Router
from bot.scheduler import SlaClock, meeting_notice_due, meeting_notice_timers, sla_clocks
from bot.types import Outcome, Text, ToPerson
from storage.models import Person
from tests.clocks.harness import (
    bot_messages,
    local,
    make_config,
    person,
    reset_database,
    run_until,
    running,
    text_of,
)

SH = "Asia/Shanghai"
CN = WorkCalendar("CN")


def test_sla_timings_count_working_days_and_hours():
    config = make_config("sqlite://:memory:", people=[], groups=[])
    clocks = sla_clocks(config)
    start = local(date(2026, 9, 30), "15:00", SH)  # Wednesday before the National Day week
    assert clocks["request"].deadline(start, CN, SH) == local(date(2026, 10, 9), "15:00", SH)
    assert clocks["request"].remind_at(start, CN, SH) == local(date(2026, 10, 8), "15:00", SH)
    assert clocks["review"].deadline(start, CN, SH) == local(date(2026, 10, 9), "15:00", SH)
    # hour clocks count working hours (09:00–18:00): 3 h on 30 Sep, the rest after the holiday week
    assert clocks["risk"].deadline(start, CN, SH) == local(date(2026, 10, 8), "10:00", SH)
    assert clocks["risk"].remind_at(start, CN, SH) == local(date(2026, 10, 8), "09:00", SH)
    assert clocks["minutes"].deadline(start, CN, SH) == local(date(2026, 10, 8), "15:00", SH)  # 24 h: one working day
    plain = WorkCalendar("CN", hour_clocks="calendar")  # [clocks] hour_clocks = "calendar"
    assert clocks["risk"].deadline(start, plain, SH) == start + timedelta(hours=4)
    assert clocks["risk"].remind_at(start, plain, SH) == start + timedelta(hours=3)
    # a meeting on Monday 12 Oct: the notice is due three working days earlier, Thursday 8 Oct (the holiday
    # week does not count, the adjusted working Saturday 10 Oct does)
    meeting = local(date(2026, 10, 12), "10:00", SH)
    assert meeting_notice_due(meeting, CN, SH) == local(date(2026, 10, 8), "10:00", SH)
    # its reminder would be one working day earlier (30 Sep 10:00), before the start: only the escalation is set
    specs = meeting_notice_timers("meet:1", meeting, start, CN, SH)
    assert [(s.key, s.kind, s.due_at) for s in specs] == [("meet:1:escalate", "sla.notice.escalate", local(date(2026, 10, 8), "10:00", SH))]
    later = meeting_notice_timers("meet:1", meeting, local(date(2026, 9, 28), "09:00", SH), CN, SH)
    assert [s.kind for s in later] == ["sla.notice.remind", "sla.notice.escalate"]
    config2 = from_dict({"bot": {"review_working_days": 3}}, environ={})
    assert sla_clocks(config2)["review"].deadline(start, CN, SH) == local(date(2026, 10, 10), "15:00", SH)


# ---------------------------------------------------------------- risk / minutes / notice stand-in

CLOCKS = ("request", "review", "risk", "minutes", "notice")


def stand_in_router(config) -> Router:
    """What the risk/meeting workflow does with these clocks: start, answer (cancel), remind, escalate."""
    router = Router()
    clocks = {name: dataclasses.replace(clock, kind=f"t.{clock.kind}") for name, clock in sla_clocks(config).items()}

    @router.command("zzsla")
    async def start(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
        name, key, boss = args.split()
        boss_id = (await Person.get(handle=boss)).id
        outcome = Outcome()
        if name == "notice":
            meeting = ctx.now + timedelta(days=14)
            specs = meeting_notice_timers(f"t:{key}", meeting, ctx.now, calendar, SH, kind="t.sla.notice", to=ctx.actor.id, boss=boss_id)
        else:
            specs = clocks[name].start(f"t:{key}", ctx.now, calendar, SH, to=ctx.actor.id, boss=boss_id)
        for spec in specs:
            outcome.timer(spec.key, spec.kind, spec.due_at, **spec.payload)
        return outcome.reply("started")

    @router.command("zzanswer")
    async def answer(args: str) -> Outcome:
        return Outcome().cancel(SlaClock.stop(f"t:{args.strip()}")).reply("answered")

    def remind(ctx: Context) -> Outcome:
        return Outcome().send(ToPerson(ctx.event.payload["to"]), Text(f"remind {ctx.event.timer_key}"))

    def escalate(ctx: Context) -> Outcome:
        return Outcome().send(ToPerson(ctx.event.payload["boss"]), Text(f"escalate {ctx.event.timer_key}"))

    for name in CLOCKS:
        kind = "t.sla.notice" if name == "notice" else clocks[name].kind

        async def on_remind(ctx: Context) -> Outcome:
            return remind(ctx)

        async def on_escalate(ctx: Context) -> Outcome:
            return escalate(ctx)

        router.timer(f"{kind}.remind")(on_remind)
        router.timer(f"{kind}.escalate")(on_escalate)
    return router


@pytest.mark.parametrize("name", CLOCKS)
async def test_each_clock_reminds_escalates_and_stops_when_answered(database_url, name):
    await reset_database(database_url)
    start = local(date(2026, 9, 29), "15:00", SH)  # Tuesday, two days before the National Day week
    clock = ManualClock(start)
    config = make_config(database_url, people=[person("ann", "Ann"), person("boss", "Boss")], groups=[])
    async with running(config, clock) as (app, sim):
        app.engine.router.include(stand_in_router(config))
        assert (await sim.say("ann", f"zzsla {name} k1 boss"))["ok"]
        assert (await sim.say("ann", f"zzsla {name} k2 boss"))["ok"]
        assert (await sim.say("ann", "zzanswer k2"))["ok"]
        if name == "notice":
            specs = meeting_notice_timers("t:k1", start + timedelta(days=14), start, CN, SH)
            remind, deadline = specs[0].due_at, specs[-1].due_at
        else:
            sla = sla_clocks(config)[name]
            remind, deadline = sla.remind_at(start, CN, SH), sla.deadline(start, CN, SH)
        assert start < remind < deadline

        async def said(handle: str) -> list[str]:
            return [text_of(m) for m in await bot_messages(f"dm:{handle}") if text_of(m).startswith(("remind", "escalate"))]

        await run_until(app, clock, remind - timedelta(seconds=1))
        assert await said("ann") == []
        await run_until(app, clock, remind)
        assert await said("ann") == ["remind t:k1:remind"]
        await run_until(app, clock, deadline - timedelta(seconds=1))
        assert await said("boss") == []
        await run_until(app, clock, deadline)
        assert await said("boss") == ["escalate t:k1:escalate"]
        await run_until(app, clock, deadline + timedelta(days=7))
        assert await said("ann") == ["remind t:k1:remind"] and await said("boss") == ["escalate t:k1:escalate"]


# ---------------------------------------------------------------- the core workflows' clocks


def demo(url: str):
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data["bot"]["locale"] = "en"
    data["database"] = {"url": url}
    data["server"] = {"host": "127.0.0.1", "port": 0}
    data["simulator"] = {"enabled": True, "manual_clock": True}
    return from_dict(data, environ={})


def titles(messages) -> list[str]:
    return [str(m.content.get("title") or m.content.get("body") or "") for m in messages]


async def test_request_answer_clock(database_url):
    await reset_database(database_url)
    clock = ManualClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # Monday 10:00 in Shanghai
    async with running(demo(database_url), clock) as (app, sim):
        r = await sim.say(
            "lilei", "new\ntitle: Poster\ngoal: a poster\ndepartments: design, rd\ndeadline: 2026-12-20\ndeliverables: poster", "launch"
        )
        assert r["ok"] and not r["error"], r
        code = re.search(r"XZB\d+", text_of((await bot_messages("launch"))[0])).group()
        # R&D answers at once: its clock stops; design stays silent
        r = await sim.say("chenjie", f"accept {code}")
        assert r["ok"] and not r["error"], r
        await run_until(app, clock, clock.now() + timedelta(days=7))
        design_head = titles(await bot_messages("dm:liuyang"))
        assert sum("Reminder: request" in t for t in design_head) == 1
        assert sum("Escalation" in t for t in design_head) == 0
        assert sum("Escalation: request" in t for t in titles(await bot_messages("dm:zhaomin"))) == 1  # design's superior
        assert sum("Escalation: request" in t for t in titles(await bot_messages("dm:lilei"))) == 1  # the initiator
        rd_head = titles(await bot_messages("dm:chenjie"))
        assert not [t for t in rd_head if "Reminder" in t or "Escalation" in t]
        # the reminder came one working day before the escalation
        reminder = next(m for m in await bot_messages("dm:liuyang") if "Reminder: request" in str(m.content.get("title")))
        escalation = next(m for m in await bot_messages("dm:lilei") if "Escalation: request" in str(m.content.get("title")))
        assert CN.working_days_between(reminder.created_at.astimezone(UTC).date(), escalation.created_at.astimezone(UTC).date()) == 1
