"""A fake DingTalk of its own for the delivery tests (the one in tests/dingtalk/ serves that folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from tests.dingtalk.fake_dingtalk import FakeDingTalk, ms

FAKE = FakeDingTalk().start()
os.environ.setdefault("DINGTALK_OPENAPI_ENDPOINT", FAKE.url)
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session", autouse=True)
def _fake_server() -> Iterator[None]:
    yield
    FAKE.stop()


@pytest.fixture
def dingtalk(clock: ManualClock) -> Iterator[FakeDingTalk]:
    FAKE.reset()
    FAKE.clock_ms = lambda: ms(clock.now())
    yield FAKE
    FAKE.reset()
