"""The HTTP event subscription: the challenge answered, events signed and encrypted as Feishu sends them,
and whatever is forged, stale, replayed, for another app or garbled refused before the engine sees it."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.feishu import crypto
from adapters.feishu.transport import FeishuPlatform
from bot.app import App
from bot.clock import ManualClock
from storage.models import InboxEntry
from tests.feishu import events
from tests.feishu.conftest import GROUP, lifecycle_data, open_app, open_id
from tests.feishu.fake import FakeFeishu


@dataclass
class Http:
    app: App
    platform: FeishuPlatform
    fake: FakeFeishu
    clock: ManualClock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app.port}/feishu/events"

    async def post(self, body: dict, **signing) -> tuple[int, object]:
        raw, headers = self.fake.signed(body, **signing)
        return await self.fake.post_callback(self.url, raw, headers)


@pytest.fixture
async def http(database_url: str, fake: FakeFeishu, clock: ManualClock) -> AsyncIterator[Http]:
    data = lifecycle_data(database_url, fake, mode="http", verification_token=events.VERIFICATION_TOKEN, encrypt_key=events.ENCRYPT_KEY)
    app, platform = await open_app(data, fake, clock, serve_http=True)
    try:
        assert platform.ws is None
        yield Http(app, platform, fake, clock)
    finally:
        await app.stop()


async def test_the_url_challenge_is_answered(http: Http) -> None:
    challenge = {"challenge": "ajls384kdjx98XX", "token": events.VERIFICATION_TOKEN, "type": "url_verification"}
    plain = json.dumps(challenge).encode()
    raw = json.dumps({"encrypt": crypto.encrypt(plain, events.ENCRYPT_KEY, os.urandom(16))}).encode()
    status, answer = await http.fake.post_callback(http.url, raw, {"Content-Type": "application/json"})  # not signed, as Feishu sends it
    assert (status, answer) == (200, {"challenge": "ajls384kdjx98XX"})
    challenge["token"] = "someone-elses-token"
    status, _ = await http.fake.post_callback(http.url, json.dumps({"encrypt": crypto.encrypt(json.dumps(challenge).encode(), events.ENCRYPT_KEY, os.urandom(16))}).encode(), {})
    assert status == 401


async def test_a_signed_event_is_handled(http: Http) -> None:
    status, answer = await http.post(events.message(open_id("lilei"), "帮助", chat_id=GROUP))
    assert (status, answer) == (200, {})
    await http.app.settle()
    assert "新建协作" in http.fake.texts(GROUP)[0]


async def test_forged_stale_replayed_and_foreign_callbacks_are_refused(http: Http, caplog) -> None:
    body = events.message(open_id("lilei"), "帮助", chat_id=GROUP)
    raw, headers = http.fake.signed(body)
    # a forged signature (the body changed after signing)
    forged = raw.replace(b'"}', b'x"}', 1)
    assert (await http.fake.post_callback(http.url, forged, headers))[0] == 401
    # signed with another Encrypt Key
    assert (await http.post(body, encrypt_key="anotherAppsEncryptKey"))[0] == 401
    # too old: six minutes ago by the bot's clock
    assert (await http.post(body, timestamp=http.clock.now().timestamp() - 360))[0] == 401
    # unsigned events are not taken
    assert (await http.fake.post_callback(http.url, raw, {"Content-Type": "application/json"}))[0] == 401
    # the right signature but another app's verification token inside
    other = events.message(open_id("lilei"), "帮助", chat_id=GROUP)
    other["header"]["token"] = "not-our-token"
    assert (await http.post(other))[0] == 401
    assert await InboxEntry.filter(platform="feishu").count() == 0  # none of them reached the engine
    # the genuine one goes through once; the same request replayed (same nonce) is refused
    assert (await http.fake.post_callback(http.url, raw, headers))[0] == 200
    assert (await http.fake.post_callback(http.url, raw, headers))[0] == 401
    assert await InboxEntry.filter(platform="feishu").count() == 1
    assert "refused" in caplog.text


async def test_garbled_callbacks_get_400_not_500(http: Http) -> None:
    for raw in (b"not json", b"[1, 2]", json.dumps({"encrypt": 5}).encode(), json.dumps({"encrypt": "bm90IGFlcw=="}).encode()):
        stamp, nonce = str(int(http.clock.now().timestamp())), os.urandom(6).hex()
        headers = {crypto.TIMESTAMP: stamp, crypto.NONCE: nonce, crypto.SIGNATURE: crypto.signature(stamp, nonce, events.ENCRYPT_KEY, raw)}
        status, _ = await http.fake.post_callback(http.url, raw, headers)
        assert status == 400, raw
    status, _ = await http.post({"schema": "2.0", "header": {"event_type": 7}})
    assert status == 400


async def test_a_redelivered_http_event_is_handled_once(http: Http) -> None:
    body = events.message(open_id("lilei"), "帮助", chat_id=GROUP)
    assert (await http.post(body))[0] == 200
    assert (await http.post(body))[0] == 200  # Feishu retries with a new nonce, the same event id
    await http.app.settle()
    assert len(http.fake.to(GROUP)) == 1


def test_the_fakes_encryption_is_what_lark_oapi_decrypts() -> None:
    """The fake encrypts as Feishu does: the SDK's own decryptor reads it, and so does ours."""
    from lark_oapi.core.utils.decryptor import AESCipher

    sealed = crypto.encrypt("你好，飞书".encode(), events.ENCRYPT_KEY, os.urandom(16))
    assert AESCipher(events.ENCRYPT_KEY).decrypt_str(sealed) == "你好，飞书"
    assert crypto.decrypt(sealed, events.ENCRYPT_KEY).decode() == "你好，飞书"
