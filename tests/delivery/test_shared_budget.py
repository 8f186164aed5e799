"""One set of platform limits for every process: two workers, a restart, three workers, a throttle answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from adapters.dingtalk.transport import DingTalkPlatform
from bot.delivery import DeliveryWorker
from storage.models import Identity, OutboxMessage, Person
from tests.delivery import platform_limits
from tests.delivery.helpers import drive, queue
from tests.dingtalk.world import GROUP, DingTalkWorld
from tests.fakelimits import PlatformLimits

GROUPS = [GROUP] + [f"cidGROUP{n}==" for n in range(1, 5)]


@asynccontextmanager
async def process(world: DingTalkWorld, batch: int = 3) -> AsyncIterator[DeliveryWorker]:
    """Another bot process's delivery worker: its own platform client, its own memory, the same database."""
    platform = DingTalkPlatform(world.app.config.dingtalk)  # type: ignore[arg-type]
    platform.runtime = world.app
    try:
        yield DeliveryWorker({platform.name: platform}, world.clock, batch=batch)
    finally:
        await platform.stop()


def limited(world: DingTalkWorld) -> PlatformLimits:
    limits = PlatformLimits(now=world.clock.now)
    world.fake.limits = platform_limits.dingtalk(limits, world.fake.sessions)
    return limits


async def test_two_processes_sending_40_cards_to_each_of_5_groups_stay_under_20_a_minute(database_url, clock, dingtalk):
    async with DingTalkWorld.open(database_url, clock, dingtalk) as world:
        limits = limited(world)
        for group in GROUPS:
            await queue(clock, "dingtalk", group, [f"卡片 {group} {i}" for i in range(40)], card=True)
        start = clock.now()
        async with process(world) as first, process(world) as second:
            await drive([first, second], clock, take_turns=True)  # each spends the budget the other's memory lacks
            assert first.delivered > 0 and second.delivered > 0  # both really worked
        assert limits.refused == []  # not one throttling answer
        for group in GROUPS:
            assert limits.most_in_any(f"group:{group}", 60) <= 20
            titles = [c.params.get("title") for c in dingtalk.cards_in(group)]
            assert sorted(titles) == sorted(f"卡片 {group} {i}" for i in range(40))  # each once
        # and the whole limit is used: each group's second 20 as its minute ends, 100 cards at the API's 20 a second
        assert clock.now() - start <= timedelta(seconds=60 + 5 + 1)


async def test_a_restart_mid_burst_remembers_what_was_spent(database_url, clock, dingtalk):
    async with DingTalkWorld.open(database_url, clock, dingtalk) as world:
        limits = limited(world)
        await queue(clock, "dingtalk", GROUP, [f"卡片 {i}" for i in range(45)], card=True)
        async with process(world) as before:
            await before.flush()
            assert before.delivered == 20
        clock.advance(seconds=10)  # the process died; a new one starts with empty memory
        async with process(world) as after:
            await after.flush()
            assert after.delivered == 0  # the group's minute is spent, whoever spent it
            await drive([after], clock)
            assert after.delivered == 25
        assert limits.refused == []
        assert limits.most_in_any(f"group:{GROUP}", 60) == 20
        assert len(dingtalk.cards_in(GROUP)) == 45


async def test_three_workers_deliver_every_row_exactly_once_in_order(database_url, clock, dingtalk):
    async with DingTalkWorld.open(database_url, clock, dingtalk) as world:
        limits = limited(world)
        for group in GROUPS:
            await queue(clock, "dingtalk", group, [f"通知 {group} #{i:03d}" for i in range(30)])
        async with process(world) as a, process(world) as b, process(world) as c:
            await drive([a, b, c], clock)
            assert a.claims + b.claims + c.claims >= 5
        assert limits.refused == []
        assert set(await OutboxMessage.all().values_list("status", flat=True)) == {"sent"}
        for group in GROUPS:
            text = "\n".join(m.text for m in dingtalk.sent_to(group))
            numbers = [int(n) for n in re.findall(r"#(\d{3})", text)]
            assert numbers == list(range(30))  # every one exactly once, in order (folded or not)


async def test_20_standup_prompts_to_20_people_in_one_group_arrive_as_20_messages_within_the_limit(
    database_url, clock, dingtalk
):
    async with DingTalkWorld.open(database_url, clock, dingtalk) as world:
        limits = limited(world)
        people = []
        for n in range(20):
            person = await Person.create(handle=f"member{n}", name=f"成员{n}", created_at=clock.now())
            await Identity.create(person=person, platform="dingtalk", platform_user_id=f"09{n:02d}member")
            people.append(person)
        for person in people:
            await queue(clock, "dingtalk", GROUP, [f"站会提醒：{person.name}，请填写今天的站会。"], mentions=[str(person.id)])
        await drive([world.app.delivery], clock)
        sent = dingtalk.sent_to(GROUP)
        assert len(sent) == 20  # never folded into one digest: each prompt names another person
        assert [re.findall(r"成员\d+", m.text) for m in sent] == [[f"成员{n}"] * 2 for n in range(20)]
        assert limits.refused == [] and limits.most_in_any(f"group:{GROUP}", 60) == 20


async def test_a_throttle_answer_without_retry_after_waits_out_the_10_minute_block_in_every_process(
    database_url, clock, dingtalk
):
    async with DingTalkWorld.open(database_url, clock, dingtalk) as world:
        dingtalk.fail("POST", "/v1.0/card/instances/createAndDeliver", 429, {"code": "Throttling.Api", "message": "slow down"})
        await queue(clock, "dingtalk", GROUP, ["卡片一", "卡片二"], card=True)
        start = clock.now()
        await world.app.delivery.flush()
        first = await OutboxMessage.filter(dedupe_key__startswith="test:").order_by("id").first()
        assert first is not None and first.status == "pending"
        assert first.next_attempt_at - start == timedelta(seconds=600)
        clock.advance(seconds=300)
        async with process(world) as other:  # another process knows the group is blocked too
            await other.flush()
            assert other.claims == 0 and other.delivered == 0
            clock.advance(seconds=300)
            await drive([other], clock)
        assert [c.params.get("title") for c in dingtalk.cards_in(GROUP)] == ["卡片一", "卡片二"]
