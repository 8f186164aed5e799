"""A small client for the simulator's HTTP API, used by the black-box tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class SimClient:
    base: str
    session: aiohttp.ClientSession
    platform: str = "simulator"
    counter: list[int] = field(default_factory=lambda: [0])
    allow_incidents: bool = False  # a test that provokes a bug on purpose sets it

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with self.session.request(method, self.base + path, **kwargs) as response:
            data = await response.json()
            data["_status"] = response.status
        if data.get("incident") and not self.allow_incidents:
            raise AssertionError(f"the bot hit a bug (incident {data['incident']}) on {method} {path}: see the log")
        return data

    async def say(self, person: str, text: str, conversation: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"person": person, "text": text, "conversation": conversation, "platform": extra.pop("platform", self.platform), **extra}
        return await self.call("POST", "/sim/api/messages", json=body)

    async def messages(self, conversation: str | None = None, person: str | None = None, platform: str | None = None) -> list[dict[str, Any]]:
        params = {"platform": platform or self.platform}
        if conversation:
            params["conversation"] = conversation
        if person:
            params["person"] = person
        data = await self.call("GET", "/sim/api/messages", params=params)
        assert data["ok"], data
        return data["messages"]

    async def last(self, conversation: str | None = None, person: str | None = None, platform: str | None = None) -> dict[str, Any]:
        messages = [m for m in await self.messages(conversation, person, platform) if m["sender"] == "bot"]
        assert messages, f"no bot message in {conversation or 'dm:' + str(person)}"
        return messages[-1]

    async def click(self, person: str, message_id: int, action: str, **extra: Any) -> dict[str, Any]:
        body = {"person": person, "message_id": message_id, "action": action, "platform": extra.pop("platform", self.platform), **extra}
        return await self.call("POST", "/sim/api/actions", json=body)

    async def submit(self, person: str, message_id: int, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {"person": person, "message_id": message_id, "fields": fields, "platform": extra.pop("platform", self.platform), **extra}
        return await self.call("POST", "/sim/api/forms", json=body)

    async def advance(self, **units: float) -> dict[str, Any]:
        return await self.call("POST", "/sim/api/clock", json=units)


def body_text(message: dict[str, Any]) -> str:
    """Everything readable in a message (title, body, fields, status) as one string."""
    content = message["content"]
    if content.get("type") == "text":
        return str(content.get("body") or "")
    parts = [content.get("title"), content.get("body"), content.get("status")]
    parts += [f"{f['label']}: {f['value']}" for f in content.get("fields", [])]
    return "\n".join(str(p) for p in parts if p)


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["action"] for b in message["content"].get("buttons") or []]
