"""One collaboration, two groups on two platforms: a decision in one group updates the card in the other, and
each person is reached on the platform where they are."""

from __future__ import annotations

from typing import Any

from tests.core.harness import running
from tests.simclient import SimClient, body_text, buttons
from tests.workflows.helpers import ok

DING, SLACK = "sim-dingtalk", "sim-slack"


def people() -> list[dict[str, Any]]:
    def person(pid: str, name: str, platforms: tuple[str, ...], **extra: Any) -> dict[str, Any]:
        return {"id": pid, "name": name, "identities": {p: pid for p in platforms}, **extra}

    return [
        person("zhaomin", "赵敏", (DING,), admin=True),
        person("wangfang", "王芳", (DING,), department="market", superior="zhaomin"),
        person("lilei", "李雷", (DING, SLACK), department="market", superior="wangfang"),
        person("liuyang", "刘洋", (DING,), department="design", superior="zhaomin"),
        person("hanmei", "韩梅", (DING,), department="design", superior="liuyang"),
        person("chenjie", "陈杰", (SLACK,), department="rd", superior="zhaomin"),  # the overseas team's head, on Slack only
        person("anna", "Anna Schmidt", (SLACK,), department="rd", superior="chenjie", locale="en", timezone="Europe/Berlin"),
    ]


GROUPS = [
    {"platform": DING, "id": "sh-launch", "name": "上海发布群"},
    {"platform": SLACK, "id": "global-launch", "name": "Global launch", "locale": "en"},
]


async def on(sim: SimClient, platform: str, **where: Any) -> list[dict[str, Any]]:
    return [m for m in await sim.messages(platform=platform, **where) if m["sender"] == "bot"]


async def keyed_on(sim: SimClient, platform: str, key: str, **where: Any) -> dict[str, Any]:
    found = [m for m in await on(sim, platform, **where) if m["content"].get("key") == key]
    assert found, (platform, key, where)
    return found[-1]


async def test_a_decision_in_one_group_updates_the_card_in_the_other(database_url, clock):
    async with running(database_url, clock, simulator={"platforms": [DING, SLACK]}, groups=GROUPS, people=people()) as (_app, sim):
        await ok(await sim.say("lilei", "新建协作\n标题：全球发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20", "sh-launch", platform=DING))
        code = "XZB2026112301"
        # the bind command from the Slack channel: the request card is posted there too
        await ok(await sim.say("lilei", f"bind {code}", "global-launch", platform=SLACK))
        slack_overview = await keyed_on(sim, SLACK, f"req:{code}", conversation="global-launch")
        assert "Collaboration request" in body_text(slack_overview)  # the English channel reads English

        # each head is asked where they are: 陈杰 on Slack, 刘洋 on DingTalk
        assert not [m for m in await on(sim, DING, person="chenjie")]
        chen_card = next(m for m in await on(sim, SLACK, person="chenjie") if "request.accept" in buttons(m))
        liu_card = next(m for m in await on(sim, DING, person="liuyang") if "request.accept" in buttons(m))
        await ok(await sim.click("liuyang", liu_card["id"], "request.accept", platform=DING))
        slack_overview = await keyed_on(sim, SLACK, f"req:{code}", conversation="global-launch")
        assert slack_overview["version"] == 2 and "刘洋" in body_text(slack_overview)
        await ok(await sim.click("chenjie", chen_card["id"], "request.accept", platform=SLACK))
        ding_overview = await keyed_on(sim, DING, f"req:{code}", conversation="sh-launch")
        assert "陈杰" in body_text(ding_overview) and ding_overview["content"]["color"] == "green"

        # a change request is posted in both groups; 陈杰 confirms it in the Slack channel …
        await ok(await sim.say("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10", "sh-launch", platform=DING))
        assert "task.ack" in buttons(await keyed_on(sim, SLACK, f"task:{code}-01", conversation="global-launch"))
        await ok(await sim.say("lilei", f"变更申请 {code}\n原因：客户加需求\n影响：顺延两天\n-01 截止：2026-12-12", "sh-launch", platform=DING))
        key = f"chg:{code}-C01"
        slack_card = await keyed_on(sim, SLACK, key, conversation="global-launch")
        ding_card = await keyed_on(sim, DING, key, conversation="sh-launch")
        assert "Change request" in body_text(slack_card) and "变更申请" in body_text(ding_card)
        await ok(await sim.click("chenjie", slack_card["id"], "change.confirm", platform=SLACK))
        # … and the copy in the DingTalk group shows it at once
        ding_card = await keyed_on(sim, DING, key, conversation="sh-launch")
        assert ding_card["version"] == 2 and "✅ 陈杰" in body_text(ding_card) and "⏳ 刘洋" in body_text(ding_card)
        # 刘洋 confirms in the DingTalk group: both copies show the change applied, no buttons left anywhere
        await ok(await sim.click("liuyang", ding_card["id"], "change.confirm", platform=DING))
        for platform, group in ((DING, "sh-launch"), (SLACK, "global-launch")):
            card = await keyed_on(sim, platform, key, conversation=group)
            assert not buttons(card), platform
        assert "confirmed by all and applied" in body_text(await keyed_on(sim, SLACK, key, conversation="global-launch"))
        assert "已全部确认并生效" in body_text(await keyed_on(sim, DING, key, conversation="sh-launch"))
        # the heads' own copies were updated too, on their own platforms
        assert not buttons(await keyed_on(sim, SLACK, key, person="chenjie"))
        assert not buttons(await keyed_on(sim, DING, key, person="liuyang"))

        # 李雷 has both accounts: the bot reaches him where he was last seen
        await ok(await sim.say("hanmei", f"风险 {code}-01 描述：素材晚到 等级：高 影响：海报 建议：催素材", "sh-launch", platform=DING))
        assert [m for m in await on(sim, DING, person="lilei") if m["content"].get("key") == f"risk:{code}-R01"]
        await sim.advance(hours=2)
        await ok(await sim.say("lilei", "whoami", "global-launch", platform=SLACK))
        await ok(await sim.say("hanmei", f"风险 {code}-01 描述：打样延迟 等级：中 影响：海报 建议：换供应商", "sh-launch", platform=DING))
        assert [m for m in await on(sim, SLACK, person="lilei") if m["content"].get("key") == f"risk:{code}-R02"]


async def test_a_group_bound_later_gets_the_cards_still_open_and_their_updates(database_url, clock):
    async with running(database_url, clock, simulator={"platforms": [DING, SLACK]}, groups=GROUPS, people=people()) as (_app, sim):
        await ok(await sim.say("lilei", "新建协作\n标题：全球发布物料\n目标：海报\n协作部门：设计部\n截止：2026-12-20", "sh-launch", platform=DING))
        code = "XZB2026112301"
        liu_card = next(m for m in await on(sim, DING, person="liuyang") if "request.accept" in buttons(m))
        await ok(await sim.click("liuyang", liu_card["id"], "request.accept", platform=DING))
        await ok(await sim.say("lilei", f"任务 {code}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10", "sh-launch", platform=DING))
        await ok(await sim.say("hanmei", f"风险 {code}-01 描述：素材晚到 等级：高 影响：海报 建议：催素材", "sh-launch", platform=DING))
        r = await sim.say("anna", f"bind {code}", "global-launch", platform=SLACK)
        assert r["error"] and "Only the initiator" in r["error"]
        await ok(await sim.say("lilei", f"bind {code}", "global-launch", platform=SLACK))
        keys = {m["content"].get("key") for m in await on(sim, SLACK, conversation="global-launch")}
        assert {f"req:{code}", f"task:{code}-01", f"risk:{code}-R01"} <= keys
        # the owner acknowledges in DingTalk, the initiator answers the risk: the Slack copies follow
        await ok(await sim.click("hanmei", (await keyed_on(sim, DING, f"task:{code}-01", person="hanmei"))["id"], "task.ack", platform=DING))
        assert not buttons(await keyed_on(sim, SLACK, f"task:{code}-01", conversation="global-launch"))
        risk = await keyed_on(sim, DING, f"risk:{code}-R01", conversation="sh-launch")
        await ok(await sim.submit("lilei", risk["id"], {"comment": "市场部今天补"}, action="risk.coordinate", platform=DING))
        slack_risk = await keyed_on(sim, SLACK, f"risk:{code}-R01", conversation="global-launch")
        assert not buttons(slack_risk) and "市场部今天补" in body_text(slack_risk)
