"""The simulator page in headless Chromium: what a newcomer trying the demo does with the mouse and keyboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from bot.app import App

expect.set_options(timeout=15_000)

REQUEST = "\n".join(
    [
        "新建协作",
        "标题：新品发布会物料",
        "背景：双十二新品发布",
        "目标：12月5日前交付主视觉和落地页",
        "协作部门：设计部，研发部",
        "截止：2026-12-05",
        "优先级：高",
    ]
)


def url(app: App, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"http://127.0.0.1:{app.port}/sim/?{query}"


async def send(page: Any, text: str) -> None:
    await page.locator("#composer-text").fill(text)
    await page.locator("#composer-text").press("Enter")
    await expect(page.locator("#composer-text")).to_have_value("")


async def test_page_sends_as_the_chosen_person_and_shows_private_replies(demo_app: App, page: Any) -> None:
    await page.goto(url(demo_app))
    await page.locator('[data-person="lilei"]').click()
    await page.locator('[data-conv="g:launch"]').click()
    await expect(page.locator("#conversation-title")).to_contain_text("新品发布协作群")

    # Shift+Enter is a newline, not a send
    box = page.locator("#composer-text")
    await box.fill("第一行")
    await box.press("Shift+Enter")
    await box.type("第二行")
    await expect(box).to_have_value("第一行\n第二行")

    await send(page, "帮助")
    mine = page.locator(".msg.mine").last
    await expect(mine).to_contain_text("帮助")
    await expect(mine.locator(".sender")).to_have_text("李雷")
    help_card = page.locator(".msg.from-bot .card").last
    await expect(help_card.locator(".card-title")).not_to_be_empty()
    await expect(help_card.locator(".card-body li").first).to_be_visible()  # "- " lines became a list

    # a mistake is answered privately
    await send(page, "zzz-not-a-command")
    reply = page.locator(".msg.from-bot").last
    await expect(reply.locator(".badge")).to_contain_text("only visible to you")
    await expect(reply).to_contain_text("zzz-not-a-command")

    # user text is shown as text, never as markup
    await send(page, '<img src=x onerror="document.title=1"> **not bold**')
    await expect(page.locator(".msg.mine").last).to_contain_text('<img src=x onerror="document.title=1">')
    assert await page.locator("#messages img").count() == 0
    assert await page.locator(".msg.mine strong").count() == 0

    # the private reply is private: another person in the same group does not see it
    await page.locator('[data-person="wangfang"]').click()
    await expect(page.locator(".msg.mine")).to_have_count(0)
    await expect(page.locator(".msg.from-other").first).to_contain_text("帮助")
    await expect(page.locator(".msg.ephemeral")).to_have_count(0)


async def test_clicking_a_card_button_updates_the_card_in_place(demo_app: App, page: Any, tmp_path: Path) -> None:
    await page.goto(url(demo_app, person="lilei", conv="g:launch"))
    await send(page, REQUEST)
    group_card = page.locator(".msg.from-bot .card").last
    await expect(group_card.locator(".card-title")).to_contain_text("新品发布会物料")

    # the design head accepts in his direct messages with the bot
    await page.locator('[data-person="liuyang"]').click()
    await page.locator('[data-conv="dm"]').click()
    message = page.locator(".msg", has=page.locator('button[data-action="request.accept"]')).last
    await expect(message).to_be_visible()
    element = await message.element_handle()
    message_id = await element.get_attribute("data-id")
    version = await element.get_attribute("data-version")
    status_before = await element.eval_on_selector(".card-status", "n => n.textContent")

    await message.locator('button[data-action="request.accept"]').click()

    same = page.locator(f'.msg[data-id="{message_id}"]')
    await expect(same).not_to_have_attribute("data-version", version or "")
    await expect(same.locator(".card-buttons button")).to_have_count(0)
    await expect(same.locator(".card-status")).to_contain_text("刘洋")
    await expect(same.locator(".card-status")).not_to_have_text(status_before or "")
    assert await page.evaluate("([el, id]) => el.isConnected && document.querySelector(`.msg[data-id='${id}']`) === el", [element, message_id])
    await expect(same.locator(".badge.updated")).to_be_visible()

    # the R&D head declines through the inline form the Decline button opens
    await page.locator('[data-person="chenjie"]').click()
    await expect(page.locator("#conversation-sub")).to_contain_text("陈杰")
    card = page.locator(".msg", has=page.locator('button[data-action="request.decline"]')).last
    await card.locator('button[data-action="request.decline"]').click()
    form = card.locator("form.card-form")
    await expect(form.locator('[data-field="reason"] .req')).to_be_visible()
    await form.locator('button[type="submit"]').click()
    await expect(form.locator('[data-field="reason"] .field-error')).to_be_visible()  # required, checked before sending
    await form.locator('[data-field="reason"] textarea').fill("当前人力饱和")
    await form.locator('[data-field="counter_date"] input').fill("2026-12-20")
    decline_id = await card.get_attribute("data-id")
    await form.locator('button[type="submit"]').click()
    declined = page.locator(f'.msg[data-id="{decline_id}"]')
    await expect(declined.locator(".card-buttons button")).to_have_count(0)
    await expect(declined.locator("form")).to_have_count(0)
    await expect(declined.locator(".card-status")).to_contain_text("陈杰")

    # a screenshot of the initiator's view, for a person to look at when this test fails
    await page.locator('[data-person="lilei"]').click()
    await page.locator('[data-conv="g:launch"]').click()
    await expect(page.locator(".msg.from-bot .card-title").first).to_contain_text("新品发布会物料")
    await page.screenshot(path=str(Path(os.environ.get("COLLABBOT_SCREENSHOTS", tmp_path)) / "simulator.png"))
