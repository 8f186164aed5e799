"""A running collabbot wired to the fake DingTalk, driven the way DingTalk users drive it.

Each user action (an @-mention in the group, a one-to-one message, a card
button) goes in as a Stream frame over the real dingtalk-stream connection;
the helper waits for the ack (sent after the engine committed the event),
then delivers the outbox (``App.settle``) so the fake has the bot's answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from adapters.dingtalk.transport import DingTalkPlatform
from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from storage import db
from storage.models import OutboxMessage
from tests.conftest import PG_URL, _truncate_pg
from tests.dingtalk.fake_dingtalk import FakeCard, FakeDingTalk

GROUP = "cidLAUNCH8wXh2=="
TEMPLATE_ID = "c0ffee00-1111-2222-3333-collabbot.schema"

# person id → (DingTalk staff id, name)
STAFF = {
    "zhaomin": ("0101zhaomin", "赵敏"),
    "wangfang": ("0102wangfang", "王芳"),
    "lilei": ("0103lilei", "李雷"),
    "liuyang": ("0104liuyang", "刘洋"),
    "hanmei": ("0105hanmei", "韩梅"),
    "chenjie": ("0106chenjie", "陈杰"),
}

ORG: dict[str, Any] = {
    "departments": [
        {"code": "market", "name": "市场部", "head": "wangfang", "superior": "zhaomin"},
        {"code": "design", "name": "设计部", "head": "liuyang", "superior": "zhaomin"},
        {"code": "rd", "name": "研发部", "head": "chenjie", "superior": "zhaomin"},
    ],
    "people": [
        {"id": "zhaomin", "name": "赵敏", "admin": True},
        {"id": "wangfang", "name": "王芳", "department": "market", "superior": "zhaomin"},
        {"id": "lilei", "name": "李雷", "department": "market", "superior": "wangfang"},
        {"id": "liuyang", "name": "刘洋", "department": "design", "superior": "zhaomin"},
        {"id": "hanmei", "name": "韩梅", "department": "design", "superior": "liuyang"},
        {"id": "chenjie", "name": "陈杰", "department": "rd", "superior": "zhaomin"},
    ],
    "groups": [{"platform": "dingtalk", "id": GROUP, "name": "新品发布协作群"}],
}


def staff(person: str) -> str:
    return STAFF[person][0]


def config_data(
    database_url: str, fake: FakeDingTalk, *, template: bool = True, **section: Any
) -> dict[str, Any]:
    people = [dict(p, identities={"dingtalk": staff(p["id"])}) for p in ORG["people"]]
    return {
        "database": {"url": database_url},
        "server": {"host": "127.0.0.1", "port": 0},
        "bot": {"locale": "zh_CN", "timezone": "Asia/Shanghai"},
        "departments": ORG["departments"],
        "people": people,
        "groups": ORG["groups"],
        "dingtalk": {
            "app_key": fake.app_key,
            "app_secret": fake.app_secret,
            "openapi_url": fake.url,
            "card_template_id": TEMPLATE_ID if template else None,
            **section,
        },
    }


@dataclass
class DingTalkWorld:
    app: App
    platform: DingTalkPlatform
    fake: FakeDingTalk
    clock: ManualClock
    patience: timedelta = timedelta(seconds=2)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        database_url: str,
        clock: ManualClock,
        fake: FakeDingTalk,
        *,
        template: bool = True,
        **section: Any,
    ) -> AsyncIterator[DingTalkWorld]:
        config = from_dict(config_data(database_url, fake, template=template, **section), environ={})
        if PG_URL:
            await db.connect(config.database.url, run_migrations=False)
            await _truncate_pg()
            await db.close()
        app = App(config, clock=clock)
        platform = app.platforms["dingtalk"]
        assert isinstance(platform, DingTalkPlatform)
        await app.start(serve_http=False, background=False)
        try:
            await fake.wait_connected()
            yield cls(app, platform, fake, clock)
        finally:
            await app.stop()

    async def settled(self, message_id: str) -> dict[str, Any]:
        ack = await self.fake.wait_ack(message_id)
        await self.deliver()
        return ack

    async def deliver(self) -> None:
        """Deliver the outbox, letting the clock run on while rows wait at most ``patience`` (pacing).

        Rows held longer (a 429's Retry-After, a backoff, by default the
        per-group limit) stay where they are: those tests move the clock themselves.
        """
        patience = self.patience
        for _ in range(100):
            await self.app.settle()
            waiting = (
                await OutboxMessage.filter(platform="dingtalk", status="pending")
                .order_by("next_attempt_at")
                .first()
            )
            if waiting is None or waiting.next_attempt_at - self.clock.now() > patience:
                return
            self.clock.set(max(self.clock.now(), waiting.next_attempt_at))

    async def say(
        self, person: str, text: str, *, group: str | None = GROUP, **kwargs: Any
    ) -> dict[str, Any]:
        """``person`` @-mentions the robot in ``group`` (``group=None``: a one-to-one message)."""
        staff_id, name = STAFF[person]
        message_id = await self.fake.say(staff_id, text, group=group, name=name, **kwargs)
        return await self.settled(message_id)

    async def click(self, person: str, card: FakeCard, label: str) -> dict[str, Any]:
        message_id = await self.fake.click(staff(person), card, label)
        return await self.settled(message_id)

    def card_for(self, person: str, label: str) -> FakeCard:
        """The newest card in ``person``'s one-to-one chat with a ``label`` button."""
        return self.fake.card_with(label, space=f"IM_ROBOT.{staff(person)}")

    def said_to(self, person: str) -> list[str]:
        """Everything ``person`` saw in their one-to-one chat: messages and cards."""
        texts = [m.text for m in self.fake.sent_to(f"user:{staff(person)}")]
        return texts + [c.text() for c in self.fake.cards_in(f"IM_ROBOT.{staff(person)}")]

    def in_group(self, group: str = GROUP) -> list[str]:
        return [m.text for m in self.fake.sent_to(group)]
