"""The daily stand-up on Slack: set up in a modal, prompts by DM when the timer fires, answered in a modal or by
a plain DM, and the digest posted to the channel."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.slack.inbound import FORM_ACTION
from bot.clock import ManualClock
from tests.slack.world import SlackWorld, capture_card, card_with, text_of

GROUP = "C1LAUNCH"


async def test_standup_set_up_prompted_answered_and_digested(database_url):
    clock = ManualClock(datetime(2026, 11, 22, 16, 0, tzinfo=UTC))  # Monday 23 Nov, 00:00 in Shanghai
    async with SlackWorld.open(database_url, clock) as world:
        fake = world.fake
        await world.command("U2WANG", GROUP, "set", command="/standup")
        setup = card_with(fake.in_channel(GROUP), FORM_ACTION)
        await capture_card("card_standup_setup", setup)
        await world.click("U2WANG", setup, FORM_ACTION)
        assert world.last_view["callback_id"] == "standup.setup"
        ack = await world.submit("U2WANG", world.last_view, {"time": "09:30", "cutoff": "11:00", "participants": "lilei, hanmei", "mode": "dm"})
        assert ack == {}, ack

        await world.run_until(datetime(2026, 11, 23, 1, 31, tzinfo=UTC))  # 09:31 in Shanghai
        li_prompt = card_with(fake.dms("U1LI"), FORM_ACTION)
        await capture_card("card_standup_prompt", li_prompt)
        assert card_with(fake.dms("U5HAN"), FORM_ACTION)

        await world.click("U1LI", li_prompt, FORM_ACTION)
        assert world.last_view["callback_id"] == "standup.answer"
        ack = await world.submit("U1LI", world.last_view, {"yesterday": "写完文案", "today": "评审海报", "blockers": "等法务确认"})
        assert ack == {}, ack
        await world.dm("U5HAN", "今天: 设计评审\n障碍: 无")

        await world.run_until(datetime(2026, 11, 23, 3, 1, tzinfo=UTC))  # 11:01: the digest
        digest = "\n".join(text_of(m) for m in fake.in_channel(GROUP))
        assert "等法务确认" in digest and "设计评审" in digest
        await capture_card("card_standup_digest", card_with(fake.in_channel(GROUP), "standup.raise_risk"))
