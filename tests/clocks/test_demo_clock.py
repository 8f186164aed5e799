"""The demo clock shows time passing: moving the simulated clock forward through ``POST /sim/api/clock``
(the demo page's "+1 天" / "+7 天" buttons) fires every timer at its own due time and delivers it then —
nothing late, nothing missed — and moving it backwards is refused with a message in the reader's language."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.clock import ManualClock
from storage.models import SimulatorMessage, Timer
from tests.clocks.harness import bot_messages, local, reset_database, running, text_of
from tests.clocks.test_alerts_reports import collaboration, demo, ok, titled

SH = "Asia/Shanghai"
LATE_OR_MISSED = re.compile(r"Sent late|sent late|Missed while|missed|延迟发送|错过")


async def test_plus_one_day_and_plus_seven_days_deliver_every_timer_at_its_own_time(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "09:00", SH))  # Monday
    async with running(demo(database_url), clock) as (_app, sim):
        code = await collaboration(sim)
        # an unanswered request: its SLA reminder and escalation fall inside the jump
        await ok(await sim.say("lilei", "new\ntitle: Site\ngoal: a site\ndepartments: rd\ndeadline: 2026-12-31\ndeliverables: site", "global"))
        await ok(await sim.say("lilei", "standup set time: 09:30 cutoff: 11:00", "global"))

        assert (await sim.advance(hours=1))["ok"]
        prompts = titled(await bot_messages("dm:hanmei"), "Stand-up ·")
        assert [m.created_at for m in prompts] == [local(date(2026, 11, 23), "09:30", SH)]

        assert (await sim.advance(days=1))["ok"]
        assert (await sim.advance(days=7))["ok"]
        assert clock.now() == local(date(2026, 12, 1), "10:00", SH)

        # every stand-up prompt at 09:30 on its own working day, every digest at 11:00
        working_days = [date(2026, 11, d) for d in (23, 24, 25, 26, 27, 30)] + [date(2026, 12, 1)]
        for who in ("hanmei", "anna"):
            prompts = titled(await bot_messages(f"dm:{who}"), "Stand-up ·")
            assert [m.created_at for m in prompts] == [local(d, "09:30", SH) for d in working_days], who
        digests = titled(await bot_messages("global"), "Stand-up digest")
        assert [m.created_at for m in digests] == [local(d, "11:00", SH) for d in working_days[:-1]]
        # the weekly report: asked Friday 17:00, compiled an hour later
        asks = titled(await bot_messages("dm:hanmei"), f"Weekly report {code}")
        assert [m.created_at for m in asks] == [local(date(2026, 11, 27), "17:00", SH)]
        reports = [m for m in await bot_messages("global") if f"{code} Poster · 2026-W48" in str(m.content.get("title"))]
        assert [m.created_at for m in reports] == [local(date(2026, 11, 27), "18:00", SH)]

        # the SLA clock of the unanswered request: reminded and escalated, each at its own due time
        sla = await Timer.filter(kind__startswith="sla.request", status="fired").order_by("due_at")
        assert {t.kind for t in sla} >= {"sla.request.remind", "sla.request.escalate"}
        sent_at = {m.created_at for m in await SimulatorMessage.filter(sender="bot")}
        for timer in sla:
            assert timer.fired_at == timer.due_at, timer.key
            assert timer.due_at in sent_at, timer.key

        # nothing missed, nothing late: every row due by now fired exactly at its due time
        assert not await Timer.filter(status="missed").exists()
        due = await Timer.filter(due_at__lte=clock.now(), status__not="cancelled")
        assert due and all(t.status == "fired" and t.fired_at == t.due_at for t in due), [
            (t.key, t.status, t.due_at, t.fired_at) for t in due if t.status != "fired" or t.fired_at != t.due_at
        ]
        texts = [text_of(m) for m in await SimulatorMessage.filter(sender="bot")]
        assert not [t for t in texts if LATE_OR_MISSED.search(t)]


async def test_moving_the_clock_back_is_refused_and_recurring_timers_keep_working(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "09:00", SH))
    config = demo(database_url)
    async with running(config, clock) as (_app, sim):
        await collaboration(sim)
        await ok(await sim.say("lilei", "standup set time: 09:30 cutoff: 11:00", "global"))
        assert (await sim.advance(hours=2))["ok"]
        before = clock.now()

        refused = await sim.advance(hours=-1)
        assert refused["_status"] == 400 and not refused["ok"]
        assert "only moves forward" in refused["error"]
        refused = await sim.call("POST", "/sim/api/clock", json={"to": (before - timedelta(days=1)).isoformat()})
        assert refused["_status"] == 400 and "only moves forward" in refused["error"]
        config.bot.locale = "zh_CN"
        refused = await sim.call("POST", "/sim/api/clock", json={"minutes": -5})
        assert refused["_status"] == 400 and "只能向前" in refused["error"], refused
        config.bot.locale = "en"
        assert clock.now() == before

        bad = await sim.call("POST", "/sim/api/clock", json={"to": "2026-11-24T09:00"})
        assert bad["_status"] == 400
        assert (await sim.advance(days=1))["ok"]
        prompts = titled(await bot_messages("dm:hanmei"), "Stand-up ·")
        assert [m.created_at for m in prompts] == [local(date(2026, 11, d), "09:30", SH) for d in (23, 24)]
