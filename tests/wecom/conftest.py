"""The WeCom harness: the fake WeCom, the real app wired to it, and a small demo workflow for generic cards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.wecom.inbound import decode_key
from adapters.wecom.transport import WeComPlatform, build
from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from bot.router import Router
from bot.types import Button, Card, CardField, Choice, Form, FormField, Outcome, Text

from .fake import FakeWeCom

# the 43-character EncodingAESKeys of the fake's robot and app
ROBOT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

# A tiny workflow to exercise the adapter with generic cards (the real workflows live in workflows/).
demo = Router()


def approval_card(state: str = "pending", actor: str | None = None) -> Card:
    value = {"id": 7}
    buttons = [Button("同意", "demo.approve", value, "primary", command="同意 7"), Button("驳回", "demo.reject", value, "danger")]
    return Card(
        key="demo:7",
        title="采购审批：显示器两台",
        body="请审批本次采购。",
        fields=[CardField("申请人", "李雷"), CardField("金额", "3000 元")],
        buttons=buttons if state == "pending" else [],
        status=None if state == "pending" else f"已{state}：{actor}",
        color="blue" if state == "pending" else "green",
    )


@demo.command("审批演示", "demo-card")
async def post_card() -> Outcome:
    return Outcome().reply(approval_card())


@demo.command("两条演示")
async def two_messages() -> Outcome:
    return Outcome().reply(Text("第一条")).reply(approval_card())


@demo.action("demo.approve")
async def approve(event: Any) -> Outcome:
    return Outcome().update(approval_card("同意", event.actor_id))


@demo.action("demo.reject")
async def reject(event: Any) -> Outcome:
    return Outcome().update(approval_card("驳回", event.actor_id)).reply(Text("已驳回，申请人会收到通知。"))


def counter_card(n: int) -> Card:
    return Card(key="demo:counter", title=f"计数：{n}", buttons=[Button("加一", "demo.inc", {"n": n})])


@demo.command("计数演示")
async def post_counter() -> Outcome:
    return Outcome().reply(counter_card(0))


@demo.action("demo.inc")
async def increment(event: Any) -> Outcome:
    return Outcome().update(counter_card(int(event.value["n"]) + 1))


@demo.command("投票演示")
async def vote_card() -> Outcome:
    form = Form(
        id="demo.vote",
        title="午饭",
        submit_label="提交",
        value={"poll": 1},
        fields=[FormField("dish", "吃什么", "select", choices=[Choice("noodles", "面"), Choice("rice", "饭")])],
    )
    return Outcome().reply(Card(key="demo:vote", title="午饭投票", form=form))


@demo.form("demo.vote")
async def voted(event: Any) -> Outcome:
    return Outcome().reply(Text(f"收到：{event.form.get('dish')}"))


@demo.command("私信演示")
async def dm(actor: Any) -> Outcome:
    from bot.types import ToPerson

    return Outcome().send(ToPerson(actor.id), approval_card())


PEOPLE = [
    {"id": "li", "name": "李雷", "identities": {"wecom": "lilei"}},
    {"id": "han", "name": "韩梅梅", "identities": {"wecom": "hanmeimei"}},
]


def wecom_config(database_url: str, fake: FakeWeCom, **wecom: Any) -> Any:
    section = {
        "bot_id": fake.bot_id,
        "secret": fake.secret,
        "ws_url": fake.ws_url,
        "api_url": fake.api_url,
        "reconnect_max_seconds": 0.05,
        **wecom,
    }
    return from_dict(
        {"database": {"url": database_url}, "server": {"port": 0}, "people": PEOPLE, "wecom": section},
        environ={},
    )


@dataclass
class Harness:
    app: App
    platform: WeComPlatform
    fake: FakeWeCom
    clock: ManualClock

    async def _handled(self, before: int) -> None:
        assert self.platform.ws is not None
        ws = self.platform.ws
        await self.fake.wait_for(lambda: ws.handled > before)

    async def _after(self, push: Callable[[], Any], settle: bool) -> str:
        assert self.platform.ws is not None
        before = self.platform.ws.handled
        req_id = await push()
        await self._handled(before)
        if settle:
            await self.app.settle()
        return req_id

    async def say(self, userid: str, text: str, *, chatid: str | None = None, settle: bool = True, **kw: Any) -> str:
        return await self._after(lambda: self.fake.say(userid, text, chatid=chatid, **kw), settle)

    async def click(self, userid: str, task_id: str, event_key: str, *, settle: bool = True, **kw: Any) -> str:
        return await self._after(lambda: self.fake.click(userid, task_id, event_key, **kw), settle)

    def answers(self, req_id: str) -> list[Any]:
        return [r for r in self.fake.frames(ok=True) if r.req_id == req_id and r.cmd != "ping"]

    def last_card(self, chatid: str | None = None) -> dict[str, Any]:
        for r in reversed(self.fake.messages(chatid)):
            if r.body.get("msgtype") == "template_card":
                return r.body["template_card"]
        raise AssertionError("no template card was sent")

    @staticmethod
    def key(card: dict[str, Any], action: str) -> str:
        for button in card.get("button_list", []):
            decoded = decode_key(button["key"])
            if decoded and decoded[1] == action:
                return str(button["key"])
        raise AssertionError(f"no button {action!r} on the card")


def text_of(frame_body: dict[str, Any]) -> str:
    """The readable text of a reply or send body."""
    if frame_body.get("msgtype") == "stream":
        return str(frame_body["stream"]["content"])
    if frame_body.get("msgtype") == "markdown":
        return str(frame_body["markdown"]["content"])
    if frame_body.get("msgtype") == "text":
        return str(frame_body["text"]["content"])
    card = frame_body.get("template_card") or {}
    parts = [card.get("main_title", {}).get("title", ""), card.get("sub_title_text", ""), card.get("quote_area", {}).get("quote_text", "")]
    parts += [f"{h['keyname']}：{h.get('value', '')}" for h in card.get("horizontal_content_list", [])]
    return "\n".join(p for p in parts if p)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeWeCom]:
    server = await FakeWeCom(clock).start()
    yield server
    await server.stop()


async def start_app(config: Any, clock: ManualClock, *, with_demo: bool = True) -> tuple[App, WeComPlatform]:
    platform = build(config)
    assert platform is not None
    app = App(config, clock=clock, platforms=[platform])
    if with_demo:
        app.engine.router.include(demo)
    await app.start(background=False)
    return app, platform


@pytest.fixture
async def harness(database_url: str, fake: FakeWeCom, clock: ManualClock) -> AsyncIterator[Harness]:
    app, platform = await start_app(wecom_config(database_url, fake), clock)
    try:
        assert platform.ws is not None
        ws = platform.ws
        await fake.wait_for(lambda: ws.ready.is_set())
        yield Harness(app, platform, fake, clock)
    finally:
        await app.stop()
