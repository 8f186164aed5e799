"""Card values that drive a decision are checked on the server: a click whose value lacks or garbles the
record's version (a request's round, an acceptance attempt) is out of date, never current; a stale
acceptance card is refused (a deterministic test, not only the randomized state machine)."""

from __future__ import annotations

from typing import Any

import pytest

from storage.models import AcceptanceRequest, Person, RequestedDepartment, Subtask
from tests.core.harness import running
from tests.workflows.helpers import NEW, active_collaboration, add_subtask, card_with, ok

DAMAGED = "已过期或已损坏"
OUT_OF_DATE = "已过期"


def value_of(card: dict[str, Any], action: str) -> dict[str, Any]:
    return dict(next(b["value"] for b in card["content"]["buttons"] if b["action"] == action))


def without(value: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != name}


@pytest.mark.parametrize("garbled", [None, "abc", True, {"round": 1}, 0, "1; drop"])
async def test_a_request_click_without_a_valid_round_is_out_of_date(database_url, clock, garbled):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        card = await card_with(sim, "request.accept", person="liuyang")
        current = value_of(card, "request.accept")
        assert current["round"] == 1
        value = without(current, "round") if garbled is None else {**current, "round": garbled}
        response = await sim.click("liuyang", card["id"], "request.accept", value=value)
        assert response["ok"] and response["error"] and DAMAGED in response["error"], response
        assert await RequestedDepartment.filter(state="accepted").count() == 0
        await ok(await sim.click("liuyang", card["id"], "request.accept", value=current))
        assert await RequestedDepartment.filter(state="accepted").count() == 1


async def test_a_decline_form_without_its_round_changes_nothing(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", NEW, "launch"))
        card = await card_with(sim, "request.decline", person="chenjie")
        current = value_of(card, "request.decline")
        response = await sim.click("chenjie", card["id"], "request.decline", value=without(current, "round"))
        assert response["error"] and DAMAGED in response["error"], response
        assert await RequestedDepartment.filter(state="declined").count() == 0


async def test_a_stale_acceptance_card_is_refused_and_the_newest_one_decides(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        task = await Subtask.get(code=sub)
        reviewer = (await Person.get(id=task.reviewer_id)).handle
        await ok(await sim.say("hanmei", f"提交验收 {sub}\n交付物：海报 v1", "launch"))
        first = await card_with(sim, "acceptance.pass", person=reviewer)
        stale_pass = value_of(first, "acceptance.pass")
        assert stale_pass["attempt"] == 1
        await ok(await sim.submit(reviewer, first["id"], {"comments": "主色调不符"}, action="acceptance.fail"))
        await ok(await sim.say("hanmei", f"提交验收 {sub}\n交付物：海报 v2", "launch"))
        second = await card_with(sim, "acceptance.pass", person=reviewer)
        assert value_of(second, "acceptance.pass")["attempt"] == 2

        # the first card, clicked again (an old copy, or a platform that kept the button): refused
        response = await sim.click(reviewer, first["id"], "acceptance.pass", value=stale_pass)
        assert response["error"] and OUT_OF_DATE in response["error"], response
        # the newest card with its attempt removed or garbled: refused, never taken for the current attempt
        for value in (without(stale_pass, "attempt"), {**stale_pass, "attempt": "二"}):
            response = await sim.click(reviewer, second["id"], "acceptance.pass", value=value)
            assert response["error"] and DAMAGED in response["error"], response
        latest = await AcceptanceRequest.filter(subtask_id=task.id).order_by("-attempt").first()
        assert latest is not None and (latest.attempt, latest.state) == (2, "pending")

        await ok(await sim.click(reviewer, second["id"], "acceptance.pass"))
        await latest.refresh_from_db()
        assert latest.state == "passed"
