"""Shared steps of the workflow tests: a collaboration made active through the simulator, cards by button or key."""

from __future__ import annotations

import re
from typing import Any

from storage.models import AuditEntry
from tests.simclient import SimClient, body_text, buttons

NEW = "新建协作\n标题：新品发布物料\n目标：12月18日前完成海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20\n交付物：海报，落地页"
HEADS = {"设计部": "liuyang", "研发部": "chenjie", "市场部": "wangfang"}


async def bot_messages(sim: SimClient, **where: Any) -> list[dict[str, Any]]:
    return [m for m in await sim.messages(**where) if m["sender"] == "bot"]


async def card_with(sim: SimClient, action: str, **where: Any) -> dict[str, Any]:
    for message in reversed(await bot_messages(sim, **where)):
        if action in buttons(message):
            return message
    raise AssertionError(f"no card with {action} in {where}")


async def keyed(sim: SimClient, key: str, **where: Any) -> dict[str, Any]:
    for message in reversed(await bot_messages(sim, **where)):
        if message["content"].get("key") == key:
            return message
    raise AssertionError(f"no card {key} in {where}")


async def last_text(sim: SimClient, **where: Any) -> str:
    return body_text((await bot_messages(sim, **where))[-1])


async def ok(response: dict[str, Any]) -> dict[str, Any]:
    assert response["ok"] and response["error"] is None and response.get("incident") is None, response
    return response


async def refused(sim: SimClient, response: dict[str, Any], person: str, expected: str, conversation: str | None = "launch", **where: Any) -> None:
    """The bot said no: a specific reply (``expected``) to ``person`` where they acted."""
    assert response["ok"] and response["error"], response
    assert expected in response["error"], (expected, response["error"])
    text = await last_text(sim, conversation=conversation, person=person, **where)
    assert expected in text, (expected, text)


async def active_collaboration(sim: SimClient, group: str = "launch", text: str = NEW, heads: tuple[str, ...] = ("liuyang", "chenjie"), **extra: Any) -> str:
    await ok(await sim.say("lilei", text, group, **extra))
    code = re.search(r"XZB\d{10}", body_text((await bot_messages(sim, conversation=group, **extra))[-1])).group(0)  # type: ignore[union-attr]
    for head in heads:
        card = await card_with(sim, "request.accept", person=head, **extra)
        await ok(await sim.click(head, card["id"], "request.accept", **extra))
    return code


async def add_subtask(sim: SimClient, code: str, title: str, owner: str, standard: str, deadline: str, group: str = "launch", **extra: Any) -> str:
    await ok(await sim.say("lilei", f"任务 {code}\n标题：{title}\n负责人：{owner}\n交付标准：{standard}\n截止：{deadline}", group, **extra))
    card = await card_with(sim, "task.ack", person=owner, **extra)
    return str(card["content"]["key"].split(":", 1)[1])


async def audit_count() -> int:
    return await AuditEntry.all().count()
