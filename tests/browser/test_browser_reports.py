"""The simulator page shows a chart inline and offers an export as a download, in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from bot.app import App
from storage.models import Group, GroupBinding
from tests.reports.fixture import CODE, NOW, seed


def url(app: App) -> str:
    return f"http://127.0.0.1:{app.port}/sim/"


async def send(page: Any, text: str) -> None:
    await page.locator("#composer-text").fill(text)
    await page.locator("#composer-text").press("Enter")
    await expect(page.locator("#composer-text")).to_have_value("")


async def test_the_gantt_shows_inline_and_the_export_downloads(demo_app: App, page: Any, tmp_path: Path) -> None:
    demo_app.clock.set(NOW)  # type: ignore[attr-defined]
    fixture = await seed()
    group = await Group.get(platform="simulator", conversation_id="launch")
    await GroupBinding.create(collaboration=fixture.collab, group=group, created_at=NOW)

    await page.goto(url(demo_app))
    await page.locator('[data-person="liuyang"]').click()
    await page.locator('[data-conv="g:launch"]').click()
    await send(page, f"甘特图 {CODE}")
    image = page.locator(".msg.from-bot img.file-image").last
    await expect(image).to_be_visible()
    await expect(page.locator(".msg.from-bot .bubble.file").last).to_contain_text("任务甘特图")
    await page.wait_for_function("() => { const i = [...document.querySelectorAll('img.file-image')].pop(); return i && i.complete && i.naturalWidth > 0; }")
    width = await image.evaluate("i => i.naturalWidth")
    assert width > 800  # the PNG itself arrived and decoded, not a broken-image icon

    await send(page, f"导出 {CODE} xlsx")
    link = page.locator(".msg.from-bot a.file-link").last
    await expect(link).to_have_text(f"⬇ {CODE}.xlsx")
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes().startswith(b"PK")  # an XLSX is a zip

    await page.screenshot(path=str(Path(os.environ.get("COLLABBOT_SCREENSHOTS", tmp_path)) / "simulator-gantt.png"), full_page=True)
