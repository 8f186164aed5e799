"""DingTalk's robot limit (20 messages a minute per group, then a 10-minute block): used whole, folded per person, never dropped."""

from __future__ import annotations

from datetime import timedelta

from storage.models import OutboxMessage
from tests.dingtalk.world import GROUP, STAFF, DingTalkWorld, staff

LIMIT = 20  # messages_per_minute, the default


def busiest_minute(timeline: list[tuple[float, int]]) -> int:
    return max(sum(n for t, n in timeline if start <= t < start + 60) for start, _ in timeline)


async def drain(world: DingTalkWorld, clock, fake, step: float = 3.0) -> list[tuple[float, int]]:
    """Deliver until the outbox is empty; (seconds since the start, messages DingTalk got then)."""
    start = clock.now()
    timeline: list[tuple[float, int]] = []
    while await OutboxMessage.filter(platform="dingtalk", status__in=["pending", "sending"]).exists():
        before = len(fake.sent_to(GROUP))
        await world.app.settle()
        timeline.append(((clock.now() - start).total_seconds(), len(fake.sent_to(GROUP)) - before))
        clock.advance(seconds=step)
        assert clock.now() - start < timedelta(minutes=15), "the burst never drained"
    return timeline


async def test_a_burst_of_60_answers_to_six_people_is_paced_never_merged_across_people(database_url, clock, fake):
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
        timeline = await drain(world, clock, fake)

        sent = fake.sent_to(GROUP)
        assert busiest_minute(timeline) <= LIMIT  # never over DingTalk's limit, in any 60 seconds
        assert timeline[0][1] == LIMIT  # the whole limit is used at once
        assert len(sent) == 60  # one answer each: answers to different people are never merged
        assert [sum(f"XZB20261123{i:02d}" in m.text for m in sent) for i in range(60)] == [1] * 60
        for i, message in enumerate(sent):  # in the order they were asked, each to its asker
            assert f"XZB20261123{i:02d}" in message.text
            assert message.at == [staff(people[i % len(people)])]
        statuses = await OutboxMessage.filter(platform="dingtalk").values_list("status", flat=True)
        assert set(statuses) == {"sent"}


async def test_a_burst_of_answers_to_one_person_is_folded_once_half_the_minute_is_spent(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        message_ids = [
            await fake.say(staff("lilei"), f"查看 XZB20261123{i:02d}", group=GROUP, name="李雷") for i in range(40)
        ]
        for message_id in message_ids:
            assert (await fake.wait_ack(message_id))["code"] == 200
        timeline = await drain(world, clock, fake)

        sent = fake.sent_to(GROUP)
        assert busiest_minute(timeline) <= LIMIT
        assert len(sent) < 40  # folded: fewer messages than answers
        assert any("合并为一条" in m.text for m in sent)
        text = "\n".join(m.text for m in sent)
        assert [text.count(f"XZB20261123{i:02d}") for i in range(40)] == [1] * 40  # every answer arrived, once
        positions = [text.index(f"XZB20261123{i:02d}") for i in range(40)]
        assert positions == sorted(positions)  # and in the order they were asked
        assert set().union(*(m.at for m in sent)) == {staff("lilei")}


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
        assert timeline[0][1] == LIMIT  # the whole limit at once, the rest when the first ones leave the minute
        assert max(t for t, n in timeline if n) == 60
