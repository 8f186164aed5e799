"""DingTalk's robot limit (20 messages a minute per group, then a 10-minute block): paced, folded, never dropped."""

from __future__ import annotations

from datetime import timedelta

from storage.models import OutboxMessage
from tests.dingtalk.world import GROUP, STAFF, DingTalkWorld, staff

LIMIT = 20  # messages_per_minute, the default


def busiest_minute(timeline: list[tuple[float, int]]) -> int:
    return max(sum(n for t, n in timeline if start <= t < start + 60) for start, _ in timeline)


async def test_a_burst_of_60_messages_to_one_group_is_paced_and_folded_never_dropped(
    database_url, clock, fake
):
    people = list(STAFF)
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        message_ids = []
        for i in range(60):
            person = people[i % len(people)]
            message_ids.append(
                await fake.say(staff(person), f"查看 XZB20261123{i:02d}", group=GROUP, name=STAFF[person][1])
            )
        for message_id in message_ids:
            assert (await fake.wait_ack(message_id))["code"] == 200
        assert await OutboxMessage.filter(platform="dingtalk").count() == 60

        start = clock.now()
        timeline: list[tuple[float, int]] = []  # (seconds since the burst, messages DingTalk got then)
        while await OutboxMessage.filter(platform="dingtalk", status__in=["pending", "sending"]).exists():
            before = len(fake.sent_to(GROUP))
            await world.app.settle()
            timeline.append(((clock.now() - start).total_seconds(), len(fake.sent_to(GROUP)) - before))
            clock.advance(seconds=3)
            assert clock.now() - start < timedelta(minutes=15), "the burst never drained"

        sent = fake.sent_to(GROUP)
        assert busiest_minute(timeline) <= LIMIT  # never over DingTalk's limit, in any 60 seconds
        assert len(sent) < 60  # folded: fewer messages than answers
        text = "\n".join(m.text for m in sent)
        assert [text.count(f"XZB20261123{i:02d}") for i in range(60)] == [
            1
        ] * 60  # every answer arrived, once
        assert any("合并为一条" in m.text for m in sent)
        statuses = await OutboxMessage.filter(platform="dingtalk").values_list("status", flat=True)
        assert set(statuses) == {"sent"}
        asked = {staff(p) for p in people}
        assert set().union(*(m.at for m in sent)) == asked  # every asker is still @-mentioned


async def test_a_burst_of_cards_cannot_be_folded_and_is_paced_within_the_limit(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        for message_id in [
            await fake.say(staff("lilei"), "帮助", group=GROUP, name="李雷") for _ in range(30)
        ]:
            await fake.wait_ack(message_id)
        start = clock.now()
        timeline: list[tuple[float, int]] = []
        while len(fake.cards) < 30:
            before = len(fake.cards)
            await world.app.settle()
            timeline.append(((clock.now() - start).total_seconds(), len(fake.cards) - before))
            clock.advance(seconds=3)
            assert clock.now() - start < timedelta(minutes=10), "the burst never drained"
        assert busiest_minute(timeline) <= LIMIT
        assert timeline[0][1] == LIMIT // 2  # a burst of half the limit at once, then one every 6 seconds
        assert max(t for t, n in timeline if n) >= 100
