from __future__ import annotations

from datetime import UTC, date, datetime

from bot.clock import ManualClock
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


def config(url):
    return make_config(
        url,
        people=[person("li", "Li Lei"), person("han", "Han Mei"), person("lead", "Lead", admin=True)],
        groups=[{"platform": "simulator", "id": "sh", "name": "Shanghai team", "timezone": SH}],
    )


async def test_prompt_answer_remind_digest(database_url):
    await reset_database(database_url)
    clock = ManualClock(datetime(2026, 11, 22, 16, 0, tzinfo=UTC))  # Mon 23 Nov 00:00 Shanghai
    async with running(config(database_url), clock) as (app, sim):
        r = await sim.say("lead", "standup set time: 09:30 cutoff: 11:00 participants: li, han", "sh")
        assert r["ok"] and not r["error"], r
        print(text_of((await bot_messages("sh"))[-1]))
        day = date(2026, 11, 23)
        await run_until(app, clock, local(day, "09:31", SH))
        li = await bot_messages("dm:li", "standup:")
        han = await bot_messages("dm:han", "standup:")
        assert len(li) == 1 and len(han) == 1
        print(text_of(li[0]))
        r = await sim.say("li", "yesterday: wrote the spec\ntoday: review copy\nblockers: waiting for legal", None)
        assert r["ok"] and not r["error"], r
        print(text_of((await bot_messages("dm:li"))[-1]))
        await run_until(app, clock, local(day, "11:01", SH))
        assert len(await bot_messages("dm:li", "standup-remind:")) == 0
        assert len(await bot_messages("dm:han", "standup-remind:")) == 1
        digests = await bot_messages("sh", "standup-digest:")
        assert len(digests) == 1
        print(text_of(digests[0]))
        r = await sim.say("han", "今天: 设计评审\n障碍: 无", None)
        assert r["ok"] and not r["error"], r
        digests = await bot_messages("sh", "standup-digest:")
        print(text_of(digests[0]))
        for m in await bot_messages("sh"):
            print("---", text_of(m))
