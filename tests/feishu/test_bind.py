"""One collaboration, a DingTalk group and a Feishu group: bound with ``绑定``, each decision shows on both
groups' cards — a click on Feishu changes the DingTalk card, a click on DingTalk changes the Feishu card —
and each head is asked on the platform where they are. Both fakes speak their real protocols."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.feishu.transport import FeishuPlatform
from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from storage.models import OutboxMessage
from tests.dingtalk.fake_dingtalk import FakeDingTalk, ms
from tests.feishu.conftest import Harness, open_id
from tests.feishu.fake import FakeFeishu

DING_GROUP = "cidSHLAUNCH8wXh2=="
FEISHU_GROUP = "oc_globallaunch000000000000000000"
TEMPLATE_ID = "c0ffee00-1111-2222-3333-collabbot.schema"


@pytest.fixture
def dingtalk(clock: ManualClock) -> Iterator[FakeDingTalk]:
    fake = FakeDingTalk().start()  # in its own thread, as the dingtalk-stream SDK needs
    fake.clock_ms = lambda: ms(clock.now())
    yield fake
    fake.stop()


def config_data(database_url: str, feishu: FakeFeishu, dingtalk: FakeDingTalk) -> dict:
    def person(pid: str, name: str, platforms: tuple[str, ...], **extra: object) -> dict:
        ids = {"dingtalk": f"staff-{pid}", "feishu": open_id(pid)}
        feishu.people[open_id(pid)] = {"name": name}
        return {"id": pid, "name": name, "identities": {p: ids[p] for p in platforms}, **extra}

    return {
        "database": {"url": database_url},
        "server": {"host": "127.0.0.1", "port": 0},
        "bot": {"locale": "zh_CN", "timezone": "Asia/Shanghai"},
        "departments": [
            {"code": "market", "name": "市场部", "head": "wangfang"},
            {"code": "design", "name": "设计部", "head": "liuyang"},
            {"code": "rd", "name": "研发部", "head": "chenjie"},
        ],
        "people": [
            person("wangfang", "王芳", ("dingtalk",), department="market"),
            person("lilei", "李雷", ("dingtalk", "feishu"), department="market"),
            person("liuyang", "刘洋", ("feishu",), department="design"),  # the design team works in Feishu
            person("chenjie", "陈杰", ("dingtalk",), department="rd"),
        ],
        "groups": [{"platform": "dingtalk", "id": DING_GROUP, "name": "上海发布群"}, {"platform": "feishu", "id": FEISHU_GROUP, "name": "设计协作群"}],
        "dingtalk": {"app_key": dingtalk.app_key, "app_secret": dingtalk.app_secret, "openapi_url": dingtalk.url, "card_template_id": TEMPLATE_ID},
        "feishu": {"app_id": feishu.app_id, "app_secret": feishu.app_secret, "api_url": feishu.url, "reconnect_max_seconds": 0.2},
    }


async def test_a_decision_on_either_platform_updates_the_card_on_both(database_url: str, fake: FakeFeishu, dingtalk: FakeDingTalk, clock: ManualClock) -> None:
    app = App(from_dict(config_data(database_url, fake, dingtalk), environ={}), clock=clock)
    feishu = app.platforms["feishu"]
    assert isinstance(feishu, FeishuPlatform) and "dingtalk" in app.platforms
    await app.start(serve_http=False, background=False)
    try:
        await dingtalk.wait_connected()
        assert feishu.ws is not None
        await fake.wait_for(feishu.ws.ready.is_set)
        h = Harness(app, feishu, fake, clock, patience=timedelta(minutes=1))

        async def on_dingtalk(message_id: str) -> None:
            await dingtalk.wait_ack(message_id)
            await h.deliver()

        # 李雷 raises the request in the DingTalk group …
        await on_dingtalk(await dingtalk.say("staff-lilei", "新建协作\n标题：全球发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20", group=DING_GROUP, name="李雷"))
        [ding_overview] = dingtalk.cards_in(f"IM_GROUP.{DING_GROUP}")
        code = re.search(r"XZB\d{10}", ding_overview.params["title"]).group(0)
        # … and binds the Feishu group to it from there: the request card is posted in the Feishu group too
        await h.say("lilei", f"绑定 {code}", group=FEISHU_GROUP)
        [feishu_overview] = [s for s in fake.to(FEISHU_GROUP) if s.msg_type == "interactive" and code in s.card_text()]
        assert "协作需求" in feishu_overview.card_text()

        # each head is asked where they are: 刘洋 on Feishu, 陈杰 on DingTalk
        assert not dingtalk.cards_in("IM_ROBOT.staff-liuyang")
        liu_card = fake.card_with(open_id("liuyang"), "接受")
        chen_card = dingtalk.card_with("接受", space="IM_ROBOT.staff-chenjie")

        # 刘洋 accepts on Feishu: his card changes in the click's answer, the Feishu group's copy by PATCH,
        # and the DingTalk group's card through DingTalk's card API
        await h.click("liuyang", liu_card, "接受")
        assert liu_card.via[-1] == "callback" and "刘洋" in liu_card.card_text()
        assert feishu_overview.via[-1] == "patch" and "刘洋" in feishu_overview.card_text()
        assert "刘洋" in ding_overview.text() and len(ding_overview.history) >= 1

        # 陈杰 accepts on DingTalk: the Feishu group's card follows, and turns green with the collaboration
        await on_dingtalk(await dingtalk.click("staff-chenjie", chen_card, "接受"))
        assert "陈杰" in ding_overview.text() and ding_overview.params["title"].startswith("🟢")
        assert "陈杰" in feishu_overview.card_text() and feishu_overview.content["header"]["template"] == "green"
        assert await OutboxMessage.filter(status__in=["dead", "pending", "sending"]).count() == 0
    finally:
        await app.stop()
