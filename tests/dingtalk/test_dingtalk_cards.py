"""The real workflow cards, captured for the render snapshots (``test_dingtalk_render``).

The flow runs every time (a help card, the request form, a request with its
decision cards, a decline prompt, a task card, an acceptance card). With
``COLLABBOT_UPDATE_SNAPSHOTS=1`` it also saves each card as the workflow made
it, localized, to ``snapshots/cards/<name>.card.json``; the render test turns
every saved card into DingTalk's template variables and markdown fallback and
compares them with their snapshots. So a wording change in a workflow does
not break the DingTalk tests until the cards are captured again.
"""

from __future__ import annotations

import json
import os

from bot.i18n import from_json, localize
from bot.types import Card
from storage.models import CardPost, CardRecord, Identity, OutboxMessage, Person
from tests.dingtalk.fake_dingtalk import FakeCard
from tests.dingtalk.snapshots import SNAPSHOTS
from tests.dingtalk.world import GROUP, DingTalkWorld, staff

CARD_INPUTS = SNAPSHOTS / "cards"
NEW = (
    "新建协作\n标题：新品发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n优先级：高"
)
TASK = "任务 XZB2026112301\n标题：海报\n负责人：韩梅\n交付标准：300DPI\n截止：2026-12-10"
SUBMIT = (
    "提交验收 XZB2026112301-01\n交付物：海报 https://files.example/poster v1\n完成说明：已完成\n自检：符合"
)


async def capture(name: str, card: FakeCard) -> None:
    """Save the neutral card behind ``card`` as it is now (with ``COLLABBOT_UPDATE_SNAPSHOTS=1``)."""
    row = await OutboxMessage.filter(platform="dingtalk", kind="post", message_ref=card.out_track_id).first()
    assert row is not None, name
    if os.environ.get("COLLABBOT_UPDATE_SNAPSHOTS") != "1":
        return
    if row.post_id is not None:
        post = await CardPost.get(id=row.post_id)
        content, locale, direct = (
            (await CardRecord.get(id=post.card_id)).content,
            post.locale,
            bool(post.recipient),
        )
    else:
        content, locale, direct = row.payload, row.locale, row.is_direct
    mentions = []
    for person_id in content.get("mentions") or []:
        person = await Person.get(id=int(person_id))
        identity = await Identity.filter(person_id=person.id, platform="dingtalk").first()
        mentions.append(
            {"platform_user_id": identity.platform_user_id if identity else "", "name": person.name}
        )
    localized = Card.from_json(localize(from_json(content), locale)).to_json()
    data = {"card": localized, "locale": locale, "direct": direct, "mentions": mentions}
    CARD_INPUTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (CARD_INPUTS / f"{name}.card.json").write_text(text, encoding="utf-8")


async def test_the_workflow_cards_reach_dingtalk_and_are_captured(database_url, clock, fake):
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        world.patience = world.patience * 30
        await world.say("lilei", "帮助")
        await capture("help", fake.cards_in(f"IM_GROUP.{GROUP}")[-1])
        await world.say("lilei", "新建协作")  # without fields: the form and the template
        await capture("request_form", fake.cards_in(f"IM_GROUP.{GROUP}")[-1])
        await world.say("lilei", NEW)
        overview = fake.cards_in(f"IM_GROUP.{GROUP}")[-1]
        await capture("request_overview_pending", overview)
        design = world.card_for("liuyang", "接受")
        await capture("request_decision_pending", design)
        await world.click("liuyang", design, "接受")
        await capture("request_decision_accepted", design)
        await capture("request_overview_one_accepted", overview)
        await world.click("chenjie", world.card_for("chenjie", "拒绝"), "拒绝")
        await capture("request_decline_prompt", fake.cards_in(f"IM_ROBOT.{staff('chenjie')}")[-1])
        await world.say("chenjie", "接受 XZB2026112301", group=None)
        await capture("request_overview_active", overview)
        await world.say("lilei", TASK)
        task = world.card_for("hanmei", "确认接收")
        await capture("task_pending", task)
        await world.say("hanmei", SUBMIT)
        await capture("acceptance_pending", world.card_for("wangfang", "通过"))
        assert overview.params["title"].startswith("🟢") and design.buttons == []
