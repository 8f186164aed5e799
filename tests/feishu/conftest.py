"""The Feishu harness: the fake Feishu, the real app wired to it, and helpers that act as Feishu users."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from adapters.feishu.transport import FeishuPlatform
from bot.app import App
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import from_dict
from storage.models import OutboxMessage
from tests.feishu import events
from tests.feishu.fake import FakeFeishu, Sent

GROUP = "oc_launch00000000000000000000000a"


def open_id(person: str) -> str:
    return f"ou_{person}"


def lifecycle_data(database_url: str, fake: FakeFeishu, *, email_only: tuple[str, ...] = (), **section: Any) -> dict[str, Any]:
    """The demo organisation on Feishu: identities by open id, or (``email_only``) an e-mail the contact API confirms."""
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    for person in data["people"]:
        if person["id"] in email_only:
            person["email"] = f"{person['id']}@example.cn"
            person["identities"] = {}
        else:
            person["identities"] = {"feishu": open_id(person["id"])}
        fake.people[open_id(person["id"])] = {"name": person["name"], "enterprise_email": f"{person['id']}@example.cn"}
    data["groups"] = [{"platform": "feishu", "id": GROUP, "name": "新品发布协作群"}]
    data["simulator"] = {"enabled": False}
    data["database"] = {"url": database_url}
    data["server"] = {"host": "127.0.0.1", "port": 0}
    data["feishu"] = {"app_id": fake.app_id, "app_secret": fake.app_secret, "api_url": fake.url, "bot_name": events.BOT_NAME, "reconnect_max_seconds": 0.2, **section}
    return data


@dataclass
class Harness:
    app: App
    platform: FeishuPlatform
    fake: FakeFeishu
    clock: ManualClock
    patience: timedelta = timedelta(seconds=2)

    async def deliver(self) -> None:
        """Deliver the outbox, letting the clock run on while rows wait at most ``patience`` (pacing)."""
        for _ in range(100):
            await self.platform.idle()
            await self.app.settle()
            waiting = await OutboxMessage.filter(platform="feishu", status="pending").order_by("next_attempt_at").first()
            if waiting is None or waiting.next_attempt_at - self.clock.now() > self.patience:
                return
            self.clock.set(max(self.clock.now(), waiting.next_attempt_at))

    async def push(self, body: dict[str, Any], *, settle: bool = True) -> Any:
        """One event over the long connection; waits for the bot's answer frame, then delivers."""
        message_id = await self.fake.ws.push(body)
        answer = await self.fake.ws.answer(message_id)
        if settle:
            await self.deliver()
        return answer

    async def say(self, person: str, text: str, *, group: str | None = GROUP, settle: bool = True, **kwargs: Any) -> Any:
        ms = int(self.clock.now().timestamp() * 1000)
        return await self.push(events.message(open_id(person), text, chat_id=group, create_ms=ms, **kwargs), settle=settle)

    async def click(self, person: str, card: Sent, label: str, *, form_value: dict[str, Any] | None = None) -> Any:
        """``person`` presses ``label`` on ``card``; Feishu shows the card of the answer (if any) at once."""
        button = card.button(label)
        value = button["behaviors"][0]["value"]
        body = events.card_action(open_id(person), card.message_id, card.chat, value, form_value=form_value, name=button["name"])
        message_id = await self.fake.ws.push(body)
        answer = await self.fake.ws.answer(message_id)
        self.fake.apply_answer(card.message_id, answer.data)
        await self.deliver()
        return answer


async def open_app(config_data: dict[str, Any], fake: FakeFeishu, clock: ManualClock, *, serve_http: bool = False) -> tuple[App, FeishuPlatform]:
    config = from_dict(config_data, environ={})
    app = App(config, clock=clock)
    platform = app.platforms["feishu"]
    assert isinstance(platform, FeishuPlatform)
    await app.start(serve_http=serve_http, background=False)
    return app, platform


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeFeishu]:
    server = await FakeFeishu(clock).start()
    yield server
    await server.stop()


@pytest.fixture
async def harness(database_url: str, fake: FakeFeishu, clock: ManualClock) -> AsyncIterator[Harness]:
    app, platform = await open_app(lifecycle_data(database_url, fake), fake, clock)
    try:
        assert platform.ws is not None
        ws = platform.ws
        await fake.wait_for(lambda: ws.ready.is_set())
        yield Harness(app, platform, fake, clock)
    finally:
        await app.stop()
