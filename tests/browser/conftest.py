"""Fixtures for the browser tests: the demo organisation's App on a free port and a headless Chromium page.

Chromium is Debian's package (``apt-get install chromium``, done by ``scripts/setup.sh test``);
Playwright only drives it. A missing browser fails these tests: it never skips them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.config import from_dict
from storage import db
from tests.conftest import PG_URL, _truncate_pg

CHROMIUM = os.environ.get("COLLABBOT_CHROMIUM", "/usr/bin/chromium")
DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo.toml"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium keeps calling out to Google, which this closed network refuses
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def demo_app(database_url: str, clock: ManualClock) -> AsyncIterator[App]:
    """``collabbot demo``'s organisation with the simulator on a free port and the test's manual clock."""
    with DEMO.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    data["database"] = {"url": database_url}
    data["server"] = {"host": "127.0.0.1", "port": 0}
    data["simulator"]["manual_clock"] = True
    if PG_URL:  # one PostgreSQL database for the whole run: empty it first
        await db.connect(database_url, run_migrations=False)
        await _truncate_pg()
        await db.close()
    app = App(from_dict(data, environ={}), clock=clock)
    await app.start(background=False)
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    """A 1280×800 page in a fresh headless Chromium profile; JavaScript errors on the page fail the test."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's 'chromium' package. "
            "Run ./scripts/setup.sh test (it installs it), or: apt-get install chromium fonts-noto-cjk",
            pytrace=False,
        )
    from playwright.async_api import async_playwright

    errors: list[str] = []
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
            locale="zh-CN",
        )
        try:
            tab = context.pages[0] if context.pages else await context.new_page()
            tab.set_default_timeout(15_000)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            yield tab
        finally:
            await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
