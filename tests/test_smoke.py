from __future__ import annotations

import aiohttp

from bot.app import App
from bot.config import from_dict
from tests.simclient import SimClient, body_text


async def test_help_answers_in_the_readers_language_whatever_word_was_typed(database_url, clock):
    config = from_dict(
        {
            "database": {"url": database_url},
            "server": {"port": 0},
            "simulator": {"enabled": True, "manual_clock": True},
            "people": [{"id": "li", "name": "李雷", "identities": {"simulator": "li"}}],
            "groups": [{"platform": "simulator", "id": "g1", "name": "市场协作群"}],
        },
        environ={},
    )
    app = App(config, clock=clock)
    await app.start(background=False)
    try:
        async with aiohttp.ClientSession() as session:
            sim = SimClient(f"http://127.0.0.1:{app.port}", session)
            r = await sim.say("li", "帮助", "g1")
            assert r["ok"], r
            assert "协作" in body_text(await sim.last("g1", person="li"))
            await sim.say("li", "help", "g1")  # an English command word does not switch a Chinese reader
            assert "协作" in body_text(await sim.last("g1", person="li"))
            await sim.say("li", "lang en", "g1")
            await sim.say("li", "帮助", "g1")  # nor does a Chinese one switch an English reader back
            assert "collaboration" in body_text(await sim.last("g1", person="li"))
    finally:
        await app.stop()
