"""Snapshots of the real workflow cards as DingTalk gets them: template variables and the markdown fallback."""

from __future__ import annotations

from tests.dingtalk.snapshots import assert_snapshot, readable
from tests.dingtalk.world import GROUP, DingTalkWorld, staff

NEW = (
    "新建协作\n标题：新品发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n优先级：高"
)
TASK = "任务 XZB2026112301\n标题：海报\n负责人：韩梅\n交付标准：300DPI\n截止：2026-12-10"
SUBMIT = (
    "提交验收 XZB2026112301-01\n交付物：海报 https://files.example/poster v1\n完成说明：已完成\n自检：符合"
)


async def run_flow(world: DingTalkWorld) -> None:
    await world.say("lilei", "帮助")
    await world.say("lilei", "新建协作")  # no fields: the form prompt
    await world.say("lilei", NEW)
    if world.platform.template_id:
        await world.click("liuyang", world.card_for("liuyang", "接受"), "接受")
        await world.click("chenjie", world.card_for("chenjie", "拒绝"), "拒绝")
    else:
        await world.say("liuyang", "接受 XZB2026112301", group=None)
        await world.say("chenjie", "拒绝 XZB2026112301", group=None)
    await world.say("chenjie", "接受 XZB2026112301", group=None)
    await world.say("lilei", TASK)
    await world.say("hanmei", SUBMIT)


async def test_workflow_cards_with_the_template_snapshot(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        world.patience = world.patience * 30
        await run_flow(world)
        group = fake.cards_in(f"IM_GROUP.{GROUP}")
        shots = {
            "help": group[0].history[0],
            "request_form": group[1].history[0],
            "request_overview_pending": group[2].history[0],
            "request_overview_active": group[2].params,
            "request_decision_pending": fake.cards_in(f"IM_ROBOT.{staff('liuyang')}")[0].history[0],
            "request_decision_accepted": fake.cards_in(f"IM_ROBOT.{staff('liuyang')}")[0].params,
            "request_decline_prompt": fake.cards_in(f"IM_ROBOT.{staff('chenjie')}")[1].history[0],
            "task_pending": fake.cards_in(f"IM_ROBOT.{staff('hanmei')}")[0].history[0],
            "acceptance_pending": fake.cards_in(f"IM_ROBOT.{staff('wangfang')}")[0].history[0],
        }
        for name, params in shots.items():
            assert_snapshot(f"workflow_template_{name}", readable(params))


async def test_workflow_cards_as_markdown_without_a_template_snapshot(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake, template=False) as world:
        world.patience = world.patience * 30
        await run_flow(world)
        assert fake.cards == {}
        group = fake.sent_to(GROUP)
        shots = {
            "help": group[0],
            "request_form": group[1],
            "request_overview_pending": group[2],
            "request_overview_update": group[3],
            "request_decision_pending": fake.sent_to(f"user:{staff('liuyang')}")[0],
            "request_decision_accepted": fake.sent_to(f"user:{staff('liuyang')}")[1],
            "task_pending": fake.sent_to(f"user:{staff('hanmei')}")[0],
            "acceptance_pending": fake.sent_to(f"user:{staff('wangfang')}")[0],
        }
        for name, message in shots.items():
            assert_snapshot(
                f"workflow_markdown_{name}",
                {"title": message.title, "text": message.text, "via": message.via},
            )
