"""One fake DingTalk for the session, started before the SDK is imported.

dingtalk-stream reads ``DINGTALK_OPENAPI_ENDPOINT`` when it is imported, so
the fake's address goes into the environment here, first; the adapter's
``openapi_url`` is set to the same address, so the SDK runs unmodified.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from tests.dingtalk.fake_dingtalk import FakeDingTalk, ms

FAKE = FakeDingTalk().start()
os.environ["DINGTALK_OPENAPI_ENDPOINT"] = FAKE.url
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

import dingtalk_stream  # noqa: E402, F401  (only now: it reads the endpoint at import time)


@pytest.fixture(scope="session", autouse=True)
def _fake_server() -> Iterator[None]:
    yield
    FAKE.stop()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeDingTalk]:
    FAKE.reset()
    FAKE.clock_ms = lambda: ms(clock.now())
    yield FAKE
    FAKE.reset()
