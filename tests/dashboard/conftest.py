"""The demo organisation with the dashboard on, signed links for its people, a place for screenshots.

Screenshots go to ``tmp/artifacts/dashboard/`` in the repository (or ``$COLLABBOT_ARTIFACTS``); the tests
print where.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.links import sign_link
from storage.models import Person
from tests.browser.conftest import page  # noqa: F401  (the headless Chromium page fixture)
from tests.core.harness import running
from tests.simclient import SimClient

SECRET = "dashboard-test-secret-0123456789"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
DASHBOARD = {"enabled": True, "base_url": "https://collab.example.com", "secret": SECRET, "admin_token": ADMIN_TOKEN}
ARTIFACTS = Path(os.environ.get("COLLABBOT_ARTIFACTS") or Path(__file__).resolve().parents[2] / "tmp" / "artifacts") / "dashboard"


@pytest.fixture
async def dashboard(database_url: str, clock: ManualClock) -> AsyncIterator[tuple[App, SimClient]]:
    async with running(database_url, clock, dashboard=DASHBOARD) as (app, sim):
        yield app, sim


def local(app: App, url: str) -> str:
    """A link the bot made (under the public base URL) pointed at the test server."""
    parts = urlsplit(url)
    return f"http://127.0.0.1:{app.port}{parts.path}?{parts.query}"


async def link_for(app: App, handle: str | None, scope: str, *, now: datetime | None = None, ttl: timedelta | None = None, locale: str | None = None) -> str:
    person_id = (await Person.get(handle=handle)).id if handle else None
    return local(app, sign_link(app.config, scope=scope, person_id=person_id, now=now or app.clock.now(), ttl=ttl, locale=locale))


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    print(f"screenshot: {path}")
    return path
