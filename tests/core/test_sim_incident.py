"""The simulator API tells a crash from a success: an internal-error apology answers with an ``incident``,
and the test helpers fail on it instead of reading ``ok: true`` as success."""

from __future__ import annotations

import pytest

from bot.router import Router
from bot.types import Outcome
from tests.core.harness import running
from tests.workflows.helpers import ok

crashing = Router()


@crashing.command("崩溃演示")
async def crash() -> Outcome:
    raise RuntimeError("a bug on purpose")


async def test_an_apology_carries_its_incident_and_the_helpers_fail_on_it(database_url, clock):
    async with running(database_url, clock) as (app, sim):
        app.engine.router.include(crashing)
        with pytest.raises(AssertionError, match="incident"):
            await sim.say("lilei", "崩溃演示", "launch")
        sim.allow_incidents = True
        response = await sim.say("lilei", "崩溃演示", "launch")
        assert response["ok"] and response["error"] is None and response["incident"], response
        with pytest.raises(AssertionError):
            await ok(response)
        apology = (await sim.messages("launch", person="lilei"))[-1]
        assert response["incident"] in str(apology["content"])  # the person is given the same incident id
        sim.allow_incidents = False
        healthy = await sim.say("lilei", "帮助", "launch")
        assert healthy["incident"] is None and (await ok(healthy))
