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
        setup = text_of((await bot_messages("sh"))[-1])
        assert "Daily stand-up · Shanghai team" in setup and "09:30" in setup and "Digest: 11:00" in setup
        assert "Participants: Li Lei, Han Mei" in setup and "Next: 2026-11-23 09:30" in setup
        day = date(2026, 11, 23)
        await run_until(app, clock, local(day, "09:31", SH))
        li = await bot_messages("dm:li", "standup:")
        han = await bot_messages("dm:han", "standup:")
        assert len(li) == 1 and len(han) == 1
        prompt = text_of(li[0])
        assert "Stand-up · 2026-11-23 (Mon)" in prompt and "Answer by 11:00" in prompt
        r = await sim.say("li", "yesterday: wrote the spec\ntoday: review copy\nblockers: waiting for legal", None)
        assert r["ok"] and not r["error"], r
        assert "your stand-up for 2026-11-23 (Mon) is recorded" in text_of((await bot_messages("dm:li"))[-1])
        await run_until(app, clock, local(day, "11:01", SH))
        assert len(await bot_messages("dm:li", "standup-remind:")) == 0
        assert len(await bot_messages("dm:han", "standup-remind:")) == 1
        digests = await bot_messages("sh", "standup-digest:")
        assert len(digests) == 1
        digest = text_of(digests[0])
        assert "Stand-up digest · Shanghai team · 2026-11-23 (Mon)" in digest
        assert "1 of 2 answered (0 away, 1 missing)." in digest
        assert "- ⚠ Li Lei: waiting for legal" in digest and "Yesterday: wrote the spec" in digest and "Today: review copy" in digest
        assert "Missing: Han Mei" in digest and "Raise as risk: Li Lei" in digest
        assert "Late answers" not in digest
        r = await sim.say("han", "今天: 设计评审\n障碍: 无", None)
        assert r["ok"] and not r["error"], r
        # the late answer updates the same digest (no second digest) and the group is told
        digests = await bot_messages("sh", "standup-digest:")
        assert len(digests) == 1
        digest = text_of(digests[0])
        assert "2 of 2 answered (0 away, 0 missing)." in digest and "Missing:" not in digest
        assert "**Late answers**" in digest and "**Han Mei** (late, 11:01)" in digest and "Today: 设计评审" in digest
        assert "Blockers (1)" in digest  # Han's "无" is no blocker
        assert text_of((await bot_messages("sh"))[-1]) == "Late stand-up answer from Han Mei (added to the digest)."
