"""Every documented example works: the examples of `帮助`, `更多帮助`, `help`, `guide` and the README, run against the simulator.

Examples are read from the help texts themselves (every `…` span), in both languages. Each runs in the
group of a collaboration XZB2026112301 that has subtasks, a risk, an issue and a meeting, so that ids in the
examples exist. An example may meet a state it does not apply to (``decline`` after the department
accepted): that answer is a decision, not a refusal of the example. What must never come back is
"unknown command", an unknown or missing field, or an id the example names that the bot cannot find.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from bot.errors import InvalidInput, NotFound, UserError
from bot.i18n import localize
from bot.types import Conversation, Event, EventKind
from tests.core.harness import running
from tests.workflows.helpers import card_with, ok
from workflows.help.handlers import guide_text, help_text

README = Path(__file__).resolve().parents[2] / "README.md"
PEOPLE = ("lilei", "hanmei", "liuyang", "chenjie", "wangfang", "zhaomin")
LAST = ("cancel", "complete")  # they end the collaboration: run them after everything else


def examples(locale: str) -> list[str]:
    texts = [localize(help_text(), locale), localize(guide_text(), locale)]
    found = [m for text in texts for m in re.findall(r"`([^`]+)`", str(text))]
    return [e for e in dict.fromkeys(found) if "…" not in e]


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(新建协作\n.*?)```", text, re.S)
    return [b.strip() for b in blocks]


def test_the_help_names_every_command_and_its_examples_are_found():
    from workflows.registry import build_router

    router = build_router()
    documented = {router.parse_command(e)[0] for locale in ("zh_CN", "en") for e in examples(locale)}
    missing = set(router.commands) - documented - {"admin"}  # admin commands are in docs/, not in the chat help
    assert not missing, f"commands no help example shows: {sorted(missing)}"
    assert "report" in documented and "standup" in documented and "weekly" in documented
    assert readme_examples(), "the README's first request is no longer found"


async def _run(app, person: str, text: str):
    group = "global" if app.engine.router.parse_command(text, app.engine.command_prefixes)[0] == "bind" else "launch"  # bind follows from another group
    event = Event(
        kind=EventKind.COMMAND, platform="simulator", delivery_id=uuid.uuid4().hex,
        conversation=Conversation("simulator", group), actor_id=person, actor_name=person, text=text,
    )
    result = await app.dispatch(event)
    await app.settle()
    return result


SETUP = [
    ("lilei", "新建协作\n标题：新品发布物料\n目标：海报和落地页\n协作部门：设计部，研发部\n截止：2026-12-20"),
]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_every_documented_example_is_understood(database_url, clock, locale):
    async with running(database_url, clock) as (app, sim):
        if locale == "en":
            for person in PEOPLE:
                await ok(await sim.say(person, "lang en"))
        await ok(await sim.say("lilei", SETUP[0][1], "launch"))
        for head in ("liuyang", "chenjie"):
            card = await card_with(sim, "request.accept", person=head)
            await ok(await sim.click(head, card["id"], "request.accept"))
        code = "XZB2026112301"
        for text in (f"任务 {code} 标题：海报 负责人：韩梅 交付标准：300DPI 截止：2026-12-10", f"任务 {code} 标题：落地页 负责人：陈杰 交付标准：可访问 截止：2026-12-15"):
            await ok(await sim.say("lilei", text, "launch"))
        runs = sorted(examples(locale) + (readme_examples() if locale == "zh_CN" else []), key=lambda e: app.engine.router.parse_command(e)[0] in LAST)
        refused: list[str] = []
        for example in runs:
            for prefix in ("", "@协作助手 ", "@collabbot ", "/collab "):
                if prefix and example != runs[0]:
                    break  # every prefix once, on the first example
                errors: list[UserError] = []
                for person in PEOPLE:
                    result = await _run(app, person, prefix + example)
                    if result.error is None:
                        errors = []
                        break
                    errors.append(result.error)
                if any(isinstance(e, InvalidInput | NotFound) for e in errors):
                    refused.append(f"{prefix}{example} → " + " / ".join(str(localize(e.message, locale)) for e in errors))
        assert not refused, "\n".join(refused)
