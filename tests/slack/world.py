"""A running collabbot wired to a fake Slack, driven the way Slack users drive it.

``SlackWorld.open(...)`` starts the fake Slack, then the real ``App`` built
from a config with a ``[slack]`` section pointing at it (Socket Mode or HTTP).
Each user action (a slash command, an @-mention, a DM, a button click, a modal
submission) goes in over the real transport, waits for the ack and for the
bot to finish the work it does after the ack, then delivers the outbox.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.slack.inbound import FORM_ACTION
from adapters.slack.transport import SlackPlatform
from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from bot.i18n import from_json, localize
from storage import db
from storage.models import CardPost, CardRecord, Identity, OutboxMessage, Person, Timer
from tests.conftest import PG_URL, _truncate_pg
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.snapshot_files import assert_snapshot_file

USERS = {
    "U1LI": {"name": "li.lei", "real_name": "李雷", "email": "lilei@example.com", "locale": "zh-CN"},
    "U2WANG": {"name": "wang.fang", "real_name": "王芳", "email": "wangfang@example.com", "locale": "zh-CN"},
    "U3LIU": {"name": "liu.yang", "real_name": "刘洋", "email": "liuyang@example.com", "locale": "zh-CN"},
    "U4CHEN": {"name": "chen.jie", "real_name": "陈杰", "email": "chenjie@example.com", "locale": "zh-CN"},
    "U5HAN": {"name": "han.mei", "real_name": "韩梅", "email": "hanmei@example.com", "locale": "zh-CN"},
    "U6ANNA": {"name": "anna", "real_name": "Anna Schmidt", "email": "anna@example.com", "locale": "en-US"},
    "U9NEW": {"name": "sam", "real_name": "Sam Newcomer", "display_name": "Sam", "email": "sam@example.com", "locale": "en-US"},
}

# The demo organisation (bot/demo.toml), with Slack identities instead of simulator ones.
ORG: dict[str, Any] = {
    "departments": [
        {"code": "market", "name": "市场部", "head": "wangfang"},
        {"code": "design", "name": "设计部", "head": "liuyang"},
        {"code": "rd", "name": "研发部", "head": "chenjie"},
    ],
    "people": [
        {"id": "wangfang", "name": "王芳", "department": "market", "identities": {"slack": "U2WANG"}},
        {"id": "lilei", "name": "李雷", "department": "market", "superior": "wangfang", "identities": {"slack": "U1LI"}},
        {"id": "liuyang", "name": "刘洋", "department": "design", "identities": {"slack": "U3LIU"}},
        {"id": "hanmei", "name": "韩梅", "department": "design", "superior": "liuyang", "identities": {"slack": "U5HAN"}},
        {"id": "chenjie", "name": "陈杰", "department": "rd", "identities": {"slack": "U4CHEN"}},
        {"id": "anna", "name": "Anna Schmidt", "department": "rd", "superior": "chenjie", "locale": "en", "identities": {"slack": "U6ANNA"}},
    ],
    "groups": [
        {"platform": "slack", "id": "C1LAUNCH", "name": "新品发布协作群"},
        {"platform": "slack", "id": "C2GLOBAL", "name": "global-launch", "locale": "en"},
    ],
}


@dataclass
class SlackWorld:
    fake: FakeSlack
    app: App
    clock: ManualClock
    mode: str

    @property
    def platform(self) -> SlackPlatform:
        platform = self.app.platforms["slack"]
        assert isinstance(platform, SlackPlatform)
        return platform

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.app.port}/slack/events"

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        database_url: str,
        clock: ManualClock,
        *,
        mode: str = "socket",
        org: dict[str, Any] | None = None,
        prepare: Callable[[FakeSlack], None] | None = None,
        **slack: Any,
    ) -> AsyncIterator[SlackWorld]:
        """``prepare`` arranges the fake Slack before the bot starts (inject failures into ``auth.test`` …)."""
        fake = await FakeSlack(users=dict(USERS)).start()
        if prepare is not None:
            prepare(fake)
        section: dict[str, Any] = {"mode": mode, "bot_token": BOT_TOKEN, "api_url": fake.base_url, **slack}
        if mode == "socket":
            section["app_token"] = APP_TOKEN
        else:
            section["signing_secret"] = SIGNING_SECRET
        config = from_dict(
            {"database": {"url": database_url}, "server": {"port": 0}, "slack": section, **(ORG if org is None else org)},
            environ={},
        )
        if PG_URL:  # the shared PostgreSQL test database starts empty for every test
            await db.connect(database_url, run_migrations=False)
            await _truncate_pg()
            await db.close()
        app = App(config, clock=clock)
        world = cls(fake, app, clock, mode)
        try:
            await app.start(background=False)
            if mode == "socket":
                await fake.wait_connected()
            yield world
            assert not fake.rejected, [(c.method, c.error, c.detail) for c in fake.rejected]
        finally:
            await app.stop()
            await fake.stop()

    # -- one user action -------------------------------------------------

    async def send(self, kind: str, payload: dict[str, Any], *, retry: int = 0) -> dict[str, Any]:
        """Deliver one request the way Slack would and return the ack body (``{}`` for an empty ack)."""
        if self.mode == "socket":
            socket_kind = {"command": "slash_commands", "event": "events_api", "interactive": "interactive"}[kind]
            envelope_id = await self.fake.push(socket_kind, payload, retry_attempt=retry)
            return await self.fake.wait_ack(envelope_id)
        status, body = await self.fake.post(self.events_url, kind, payload, retry_num=retry or None)
        assert status == 200, (status, body)
        return json.loads(body) if body.startswith("{") else {}

    async def _handled(self, target: int) -> None:
        await self.fake.until(lambda: self.platform.handled >= target, what=f"{target} handled events")
        assert await self.platform.idle()

    async def command(self, user: str, channel: str, text: str, *, command: str = "/collab", settle: bool = True) -> dict[str, Any]:
        before = self.platform.handled
        ack = await self.send("command", self.fake.slash(user, channel, text, command))
        await self._handled(before + 1)
        if settle:
            await self.settle()
        return ack

    async def event(self, payload: dict[str, Any], *, retry: int = 0, settle: bool = True, handled: int = 1) -> dict[str, Any]:
        before = self.platform.handled
        ack = await self.send("event", payload, retry=retry)
        await self._handled(before + handled)
        if settle:
            await self.settle()
        return ack

    async def mention(self, user: str, channel: str, text: str, **kwargs: Any) -> dict[str, Any]:
        return await self.event(self.fake.mention(user, channel, text), **kwargs)

    async def dm(self, user: str, text: str, **kwargs: Any) -> dict[str, Any]:
        return await self.event(self.fake.direct(user, text), **kwargs)

    async def click(self, user: str, message: dict[str, Any], action: str, *, settle: bool = True) -> dict[str, Any]:
        """Press a button; a button that opens a form returns once the modal is open (see ``last_view``)."""
        payload = self.fake.click(user, message, button_id(message, action))
        action_id = payload["actions"][0]["action_id"]
        before, views = self.platform.handled, len(self.fake.views)
        ack = await self.send("interactive", payload)
        if action_id.startswith(FORM_ACTION):
            await self.fake.until(lambda: len(self.fake.views) > views, what="views.open")
        else:
            await self._handled(before + 1)
        if settle:
            await self.settle()
        return ack

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, Any], *, settle: bool = True) -> dict[str, Any]:
        """Submit a modal; returns the ack (``{"response_action": "errors", …}`` when a field is wrong)."""
        before = self.platform.handled
        ack = await self.send("interactive", self.fake.submit(user, view, values))
        await self._handled(before + 1)
        if settle:
            await self.settle()
        return ack

    async def settle(self, *, advance: bool = True) -> None:
        """Deliver the outbox. Rows held back by pacing (1 message/s per channel) get product time, not a sleep."""
        assert await self.platform.idle()
        for _ in range(200):
            await self.app.settle()
            pending = await OutboxMessage.filter(status__in=("pending", "sending")).order_by("next_attempt_at").first()
            if pending is None or not advance:
                return
            if pending.next_attempt_at > self.clock.now():
                self.clock.set(pending.next_attempt_at)
            else:
                self.clock.advance(timedelta(seconds=1))
        raise AssertionError("the outbox never drained")

    async def run_until(self, until: datetime) -> None:
        """Let product time pass until ``until``, stopping at every due timer and delivering what it sends."""
        await self.settle()
        while self.clock.now() < until:
            upcoming = await Timer.filter(status="pending", due_at__gt=self.clock.now()).order_by("due_at").first()
            target = min(until, self.clock.now() + timedelta(hours=1))
            if upcoming is not None and upcoming.due_at < target:
                target = upcoming.due_at
            self.clock.set(target)
            await self.settle()

    # -- reading what users see ------------------------------------------

    @property
    def last_view(self) -> dict[str, Any]:
        assert self.fake.views, "no modal was opened"
        return self.fake.views[-1]


def text_of(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: its blocks' texts, field texts, button labels."""
    parts: list[str] = [str(message.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def button_id(message: dict[str, Any], action: str) -> str:
    """The action_id of the button for ``action`` (a form button is ``collabbot.form:<action>``, repeats get ``#n``)."""
    for action_id in buttons_of(message):
        bare = action_id.split("#", 1)[0]
        if bare == action or bare.endswith(":" + action):
            return action_id
    raise AssertionError(f"no {action!r} button in {buttons_of(message)}")


def card_with(messages: list[dict[str, Any]], action: str) -> dict[str, Any]:
    """The newest message with a button for ``action``."""
    for message in reversed(messages):
        if any(a.split("#", 1)[0] in (action, f"{FORM_ACTION}:{action}") for a in buttons_of(message)):
            return message
    raise AssertionError(f"no message with a {action!r} button among {len(messages)}")


def buttons_of(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks") or [] if b.get("type") == "actions" for e in b.get("elements", [])]


SNAPSHOTS = Path(__file__).parent / "snapshots"


def snapshot_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What a snapshot keeps of a message or modal: the Block Kit, without ids the fake or Slack made up."""
    volatile = {"id", "hash", "trigger_id", "private_metadata", "state", "team_id", "app_id", "bot_id", "channel", "ts", "edits", "thread_ts", "as_user", "unfurl_links"}
    return {k: v for k, v in payload.items() if k not in volatile and k != "token"}


def assert_snapshot(name: str, payload: dict[str, Any]) -> None:
    """Compare with ``snapshots/<name>.json``; ``COLLABBOT_UPDATE_SNAPSHOTS=1`` (re)writes it."""
    assert_snapshot_file(SNAPSHOTS, name, snapshot_payload(payload), "the Block Kit")


CARD_INPUTS = SNAPSHOTS / "cards"


async def capture_card(name: str, message: dict[str, Any]) -> None:
    """With ``COLLABBOT_UPDATE_SNAPSHOTS=1``: save the neutral card behind a posted message (as the workflow made it,
    localized) to ``snapshots/cards/<name>.card.json``. ``test_slack_render`` renders every saved card and compares the
    Block Kit with its snapshot, so wording changes in the workflows do not break the Slack tests until captured again."""
    if os.environ.get("COLLABBOT_UPDATE_SNAPSHOTS") != "1":
        return
    ref = f"{message['channel']}:{message['ts']}"
    post = await CardPost.filter(platform="slack", message_ref=ref).first()
    if post is not None:
        record = await CardRecord.get(id=post.card_id)
        content, locale = record.content, post.locale
    else:
        row = await OutboxMessage.get(platform="slack", message_ref=ref)
        content, locale = row.payload, row.locale
    mentions = []
    for person_id in content.get("mentions") or []:
        person = await Person.get(id=int(person_id))
        identity = await Identity.filter(person_id=person.id, platform="slack").first()
        mentions.append({"platform_user_id": identity.platform_user_id if identity else "", "name": person.name})
    data = {"locale": locale, "mentions": mentions, "card": localize(from_json(content), locale)}
    CARD_INPUTS.mkdir(parents=True, exist_ok=True)
    (CARD_INPUTS / f"{name}.card.json").write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
