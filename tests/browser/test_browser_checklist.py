"""The simulator page draws a checkbox form: the owner ticks the delivery standard's items in her acceptance form
(it comes to her direct messages, not the group), submits it, and the used form's card closes in place."""

from __future__ import annotations

from typing import Any

import aiohttp
from playwright.async_api import expect

from bot.app import App
from storage.models import AcceptanceRequest
from tests.browser.test_browser_simulator import url
from tests.simclient import SimClient
from tests.workflows.helpers import active_collaboration, add_subtask

expect.set_options(timeout=15_000)


async def test_the_owner_ticks_items_in_a_checkbox_form(demo_app: App, page: Any) -> None:
    async with aiohttp.ClientSession() as session:
        sim = SimClient(f"http://127.0.0.1:{demo_app.port}", session)
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", "300DPI、750×1500px，品牌VI色", "2026-12-10")
        await sim.say("hanmei", f"提交验收 {sub}", "launch")

    await page.goto(url(demo_app, person="hanmei", conv="dm"))
    form = page.locator("form.card-form").last
    await expect(form.locator('[data-field="self_check_items"] input[type="checkbox"]')).to_have_count(3)
    await expect(form.locator('[data-field="self_check_items"]')).to_contain_text("3. 品牌VI色")
    await form.locator('[data-field="deliverables"] textarea').fill("海报 https://files.example/p v1")
    await form.locator('[data-field="self_check_items"] input[value="1"]').check()
    await form.locator('[data-field="self_check_items"] input[value="2"]').check()
    card = page.locator(".msg", has=form)
    card_id = await card.get_attribute("data-id")
    await form.locator('button[type="submit"]').click()

    closed = page.locator(f'.msg[data-id="{card_id}"]')
    await expect(closed.locator("form")).to_have_count(0)
    await expect(closed.locator(".card-status")).to_contain_text("此表单已关闭")
    request = await AcceptanceRequest.get()
    assert [row["self_check"] for row in request.checklist] == [True, True, False]
