"""One collaboration through every area, typed the way a Chinese team types, recording what was typed.

The language scan renders everything the bot sent during this run in both
languages; what people typed is known exactly (``RecordingSim.typed``), so the
scan can tell their words from the bot's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.simclient import SimClient, body_text, buttons

GROUP = "launch"


@dataclass
class RecordingSim:
    """The simulator client, remembering every text and form value a person sent."""

    sim: SimClient
    typed: list[str] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)

    async def say(self, person: str, text: str, conversation: str | None = GROUP) -> dict[str, Any]:
        self.typed.append(text)
        return await self._check(text, await self.sim.say(person, text, conversation))

    async def click(self, person: str, message: dict[str, Any], action: str) -> dict[str, Any]:
        return await self._check(action, await self.sim.click(person, message["id"], action))

    async def submit(self, person: str, message: dict[str, Any], fields: dict[str, Any], action: str | None = None) -> dict[str, Any]:
        self.typed += [str(v) for v in fields.values()]
        extra = {"action": action} if action else {}
        return await self._check(str(fields), await self.sim.submit(person, message["id"], fields, **extra))

    async def _check(self, what: str, response: dict[str, Any]) -> dict[str, Any]:
        assert response.get("ok"), (what, response)
        if response.get("error"):
            self.refusals.append((what, response["error"]))
        return response

    async def bot(self, **where: Any) -> list[dict[str, Any]]:
        return [m for m in await self.sim.messages(**where) if m["sender"] == "bot"]

    async def card_with(self, action: str, **where: Any) -> dict[str, Any]:
        for message in reversed(await self.bot(**where)):
            if action in buttons(message):
                return message
        raise AssertionError(f"no card with {action} in {where}")

    async def keyed(self, prefix: str, **where: Any) -> dict[str, Any]:
        for message in reversed(await self.bot(**where)):
            if str(message["content"].get("key") or "").startswith(prefix):
                return message
        raise AssertionError(f"no card {prefix} in {where}")


NEW = """新建协作
标题：新品发布物料（第一批）
背景：12月新品发布，需要统一的宣传物料。
目标：12月18日前完成海报和落地页
范围：海报、落地页
不包含：线下活动
协作部门：设计部，研发部
期望启动：2026-11-24
截止：2026-12-20
优先级：高
交付物：海报，落地页
备注：素材以市场部提供的为准；有问题找李雷。"""


async def run_zh(sim: SimClient) -> RecordingSim:
    """Every area once, in Chinese, by the demo organisation (李雷 initiates, 刘洋/陈杰 head design/rd, 王芳 reviews)."""
    r = RecordingSim(sim)
    await r.say("lilei", "帮助")
    await r.say("lilei", "更多帮助")
    await r.say("lilei", "我是谁")
    await r.say("lilei", "新建协作")  # the form and the template
    await r.say("lilei", NEW)
    code = re.search(r"XZB\d{10}", body_text((await r.bot(conversation=GROUP))[-1])).group(0)  # type: ignore[union-attr]
    await r.say("lilei", f"待确认 {code}")
    await r.click("liuyang", await r.card_with("request.accept", person="liuyang"), "request.accept")
    await r.submit("chenjie", await r.card_with("request.decline", person="chenjie"), {"reason": "人力饱和，本周排满", "counter_date": "2026-12-01"}, action="request.decline")
    await r.say("lilei", f"调整 {code} 截止：2026-12-24 范围：海报、落地页（延期四天）")
    for head in ("liuyang", "chenjie"):
        await r.click(head, await r.card_with("request.accept", person=head), "request.accept")
    await r.say("lilei", f"待确认 {code}")

    await r.say("lilei", f"任务 {code}\n标题：主视觉海报\n负责人：韩梅\n协作人：刘洋\n所需资源：品牌VI手册\n交付标准：300DPI，750×1500px，品牌VI色\n截止：2026-12-10\n优先级：高")
    await r.say("lilei", f"任务 {code}\n标题：落地页\n负责人：陈杰\n协作人：韩梅\n所需资源：测试服务器\n交付标准：首屏加载不超过两秒\n截止：2026-12-15\n优先级：中")
    poster, page = f"{code}-01", f"{code}-02"
    await r.click("hanmei", await r.card_with("task.ack", person="hanmei"), "task.ack")
    await r.say("chenjie", f"确认任务 {page}")
    await r.say("hanmei", f"进度 {poster} 40% 已完成：初稿 问题：主色调待定 所需支持：品牌确认 下一步：修改配色")
    await r.say("chenjie", f"进度 {page} 30% 已完成：框架 问题：无 所需支持：无 下一步：接口联调")
    await r.say("lilei", f"查看 {code}")
    await r.say("lilei", "列表")

    await r.say("hanmei", f"风险 {poster}\n描述：素材未及时提供，海报需延迟1天\n风险等级：高\n影响范围：海报初稿\n建议解决方案：申请市场部专员今日18点前补充素材")
    await r.say("lilei", f"风险列表 {code}")
    await r.say("lilei", f"响应 {code}-R01 协调 意见：已联系市场部专员补充素材")
    await r.say("hanmei", f"问题 {poster} 描述：素材缺失 级别：一般")
    await r.say("hanmei", f"解决 {code}-P01 处理结果：素材已补齐")
    await r.say("chenjie", f"问题 {code} 描述：海报主视觉归属有分歧 级别：跨部门争议")
    await r.say("hanmei", f"延期 {poster} 原因：素材晚到两天 新日期：2026-12-14")
    await r.click("lilei", await r.card_with("delay.confirm", person="lilei"), "delay.confirm")
    await r.say("lilei", f"变更申请 {code}\n变更原因：客户临时增加1支短视频需求\n影响：设计部工作量增加，整体顺延四天\n-02 截止：2026-12-18")
    for head in ("liuyang", "chenjie"):
        await r.click(head, await r.card_with("change.confirm", person=head), "change.confirm")
    await r.say("lilei", f"变更记录 {code}")

    await r.say("lilei", f"会议通知 {code}\n主题：宣传物料制作启动会\n时间：2026-11-27 14:00\n形式：线上\n地点：https://meeting.example/123\n参会人员：刘洋，陈杰，韩梅\n议程：1.需求同步 2.分工确认\n记录人：韩梅")
    await r.submit("chenjie", await r.card_with("meeting.absent", person="chenjie"), {"reason": "客户拜访，无法参会"}, action="meeting.absent")
    await r.say("lilei", f"会议列表 {code}")
    await r.sim.advance(days=4, hours=6)  # reminders, the meeting, the minutes request
    await r.say("hanmei", f"会议纪要 {code}-M01\n讨论内容及结论：主视觉由设计部负责\n决议事项：12月5日前完成主视觉初稿\n待跟进问题：落地页域名待定\n待办事项：\n- 主视觉初稿 | 韩梅 | 2026-12-07 | 主视觉PSD | 中")
    await r.click("liuyang", await r.card_with("minutes.confirm", person="liuyang"), "minutes.confirm")

    await r.say("zhaomin", "站会 设置 时间：09:30 截止：10:00 参与人：韩梅")
    await r.sim.call("POST", "/sim/api/clock", json={"to": "2026-11-30T01:35:00+00:00"})  # Monday 09:35, the prompt is out
    await r.say("hanmei", "昨天：海报初稿\n今天：修改配色\n障碍：需协调市场部专员10点前反馈", None)
    await r.sim.advance(hours=2)
    await r.say("lilei", f"周进度 {code} 完成度：40% 风险：素材晚到 所需支持：无")
    await r.say("lilei", "周报 生成")
    await r.say("lilei", f"改进 {code}\n问题：需求变更未及时同步\n类别：信息传递\n根本原因：没有变更通知机制\n改进措施：建立需求变更通知机制\n负责人：刘洋\n截止：2026-12-11")
    await r.say("lilei", f"改进列表 {code}")

    await r.say("hanmei", f"提交验收 {poster}\n交付物：海报 https://files.example/poster.pdf v1\n完成说明：已按标准完成，请查收。\n自检：符合交付标准")
    await r.submit("wangfang", await r.card_with("acceptance.fail", person="wangfang"), {"comments": "海报色彩与品牌VI不符，需调整主色调。"}, action="acceptance.fail")
    await r.say("hanmei", f"提交验收 {poster}\n交付物：海报 https://files.example/poster-v2.pdf v2\n完成说明：已按意见修改\n自检：符合交付标准")
    await r.click("wangfang", await r.card_with("acceptance.pass", person="wangfang"), "acceptance.pass")
    await r.say("chenjie", f"提交验收 {page}\n交付物：落地页 https://files.example/page v1\n完成说明：已上线测试环境\n自检：符合交付标准")
    await r.say("wangfang", f"通过 {page}")
    await r.say("hanmei", f"提交验收 {code}-03\n交付物：主视觉PSD https://files.example/kv.psd v1\n完成说明：初稿完成\n自检：符合交付标准")
    await r.say("wangfang", f"通过 {code}-03")
    await r.sim.advance(days=20)  # deadline alerts, SLA reminders, the daily rounds
    await r.say("lilei", f"完成 {code}")
    await r.say("lilei", f"复盘 {code}\n做得好的方面：每日站会机制有效暴露问题\n待改进点：需提前明确素材提交标准\n优化措施：建立需求变更通知机制；素材标准写入交付标准\n协作SOP：新品发布物料")
    await r.say("lilei", "协作SOP")
    await r.say("lilei", "搜索 海报")
    await r.say("lilei", f"记录 {code}")
    await r.say("lilei", "未知的命令")
    return r
