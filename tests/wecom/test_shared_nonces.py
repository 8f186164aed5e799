"""WeCom replay protection is shared through the database: a callback replayed to another process (another
bot behind the same URL) is refused too, and a nonce is forgotten once its window has passed."""

from __future__ import annotations

import json

import pytest

from adapters.wecom.crypto import MAX_AGE_SECONDS, ReplayedNonce, WeComCrypto
from bot.clock import ManualClock
from storage.models_security import SeenNonce
from storage.nonces import SharedNonces

from .conftest import ROBOT_AES_KEY, start_app
from .fake import FakeWeCom
from .test_api_mode import PATH, ROBOT_TOKEN, ApiHarness, api, api_config  # noqa: F401  (api is a fixture)


def crypto(clock: ManualClock, scope: str = "wecom:robot") -> WeComCrypto:
    """One process's view: its own memory of nonces, the shared table behind it."""
    return WeComCrypto(ROBOT_TOKEN, ROBOT_AES_KEY, "", now=lambda: clock.now().timestamp(), shared=SharedNonces(scope, 2 * MAX_AGE_SECONDS))


def sealed(box: WeComCrypto, clock: ManualClock, nonce: str) -> tuple[str, str, str, str]:
    encrypted = box.encrypt(json.dumps({"msgtype": "text"}))
    timestamp = str(int(clock.now().timestamp()))
    return box.signature(timestamp, nonce, encrypted), timestamp, nonce, encrypted


async def test_a_nonce_used_by_one_process_is_refused_by_another(database, clock):
    first, second = crypto(clock), crypto(clock)
    callback = sealed(first, clock, "n-1")
    assert await first.open_once(*callback)
    with pytest.raises(ReplayedNonce, match="already used"):
        await second.open_once(*callback)  # nothing in its own memory: the table refused it
    assert await SeenNonce.filter(scope="wecom:robot", nonce="n-1").count() == 1
    # another endpoint's nonces are its own
    assert await crypto(clock, "wecom:app").open_once(*sealed(first, clock, "n-1"))


async def test_a_refused_callback_does_not_use_up_its_nonce(database, clock):
    box = crypto(clock)
    signature, timestamp, nonce, encrypted = sealed(box, clock, "n-2")
    with pytest.raises(Exception, match="msg_signature"):
        await box.open_once("0" * 40, timestamp, nonce, encrypted)
    assert await SeenNonce.filter(nonce="n-2").count() == 0
    assert await crypto(clock).open_once(signature, timestamp, nonce, encrypted)


async def test_a_nonce_expires_with_its_window_and_old_rows_are_swept(database, clock):
    box = crypto(clock)
    assert await box.shared.claim("n-3", clock.now().timestamp())  # type: ignore[union-attr]
    assert not await crypto(clock).shared.claim("n-3", clock.now().timestamp())  # type: ignore[union-attr]
    clock.advance(seconds=2 * MAX_AGE_SECONDS + 1)
    later = crypto(clock)
    assert await later.shared.claim("n-4", clock.now().timestamp())  # type: ignore[union-attr]
    assert await SeenNonce.filter(nonce="n-3").count() == 0  # swept
    assert await later.shared.claim("n-3", clock.now().timestamp())  # type: ignore[union-attr]


async def test_two_bots_on_one_database_refuse_a_replay_between_them(api: ApiHarness, database_url: str, fake: FakeWeCom, clock: ManualClock) -> None:  # noqa: F811
    other, _platform = await start_app(api_config(database_url, fake), clock)
    try:
        body = api.body("lilei", "帮助")
        status, reply, query = await api.robot.post_json(PATH, body)
        assert status == 200 and reply
        replay = {**api.robot.__dict__, "base_url": f"http://127.0.0.1:{other.port}"}
        twin = type(api.robot)(**replay)
        encrypted = api.robot.crypto.encrypt(json.dumps(body, ensure_ascii=False))
        signature = api.robot.crypto.signature(query["timestamp"], query["nonce"], encrypted)
        status, text, _ = await twin.post_json(PATH, encrypted=encrypted, nonce=query["nonce"], signature=signature, timestamp=int(query["timestamp"]))
        assert status == 403 and "already used" in text
    finally:
        await other.stop()
