"""API mode (the robot's encrypted HTTPS callback) and the self-built app (XML callback and HTTP API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from adapters.wecom.crypto import WeComCrypto
from adapters.wecom.inbound import decode_key
from adapters.wecom.transport import WeComPlatform
from bot.app import App
from bot.clock import ManualClock
from bot.delivery import DeliveryWorker
from storage.models import OutboxMessage

from .conftest import APP_AES_KEY, ROBOT_AES_KEY, Harness, start_app, text_of, wecom_config
from .fake import FakeWeCom, Pusher

GROUP = "wrkGroup002"
ROBOT_TOKEN = "robot-token"
APP_TOKEN = "app-token"
PATH = "/wecom/callback"
APP_PATH = "/wecom/app/callback"


@dataclass
class ApiHarness:
    app: App
    platform: WeComPlatform
    fake: FakeWeCom
    clock: ManualClock
    robot: Pusher
    app_pusher: Pusher

    def body(self, userid: str, text: str, *, chatid: str | None = GROUP, msgid: str | None = None) -> dict[str, Any]:
        body = self.fake.message_body(userid, text, chatid=chatid, msgid=msgid)
        body["response_url"] = self.fake.new_response_url()
        return body

    async def say(self, userid: str, text: str, **kw: Any) -> tuple[int, Any]:
        status, reply, _ = await self.robot.post_json(PATH, self.body(userid, text, **kw))
        return status, reply

    def app_text(self, userid: str, text: str, msgid: str = "1") -> str:
        return (
            f"<xml><ToUserName><![CDATA[{self.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msgid}</MsgId><AgentID>{self.fake.agent_id}</AgentID></xml>"
        )

    def app_click(self, userid: str, task_id: str, key: str, code: str) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{self.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>{self.fake.agent_id}</AgentID></xml>"
        )

    async def post_app(self, xml: str) -> int:
        status, _ = await self.app_pusher.post_xml(APP_PATH, xml, to_user=self.fake.corp_id, agent_id=self.fake.agent_id)
        await self.app.settle()
        return status

    def http(self, name: str, ok: bool = True) -> list[Any]:
        return [r for r in self.fake.http if r.cmd == name and (r.errcode == 0) == ok]


def api_config(database_url: str, fake: FakeWeCom, *, with_app: bool = True, **extra: Any) -> Any:
    wecom: dict[str, Any] = {"mode": "api", "token": ROBOT_TOKEN, "encoding_aes_key": ROBOT_AES_KEY, **extra}
    if with_app:
        wecom |= {
            "corp_id": fake.corp_id,
            "corp_secret": fake.corp_secret,
            "agent_id": fake.agent_id,
            "app_token": APP_TOKEN,
            "app_encoding_aes_key": APP_AES_KEY,
            "direct_messages": "app",
        }
    return wecom_config(database_url, fake, **wecom)


@pytest.fixture
async def api(database_url: str, fake: FakeWeCom, clock: ManualClock, request: pytest.FixtureRequest) -> AsyncIterator[ApiHarness]:
    with_app = getattr(request, "param", True)
    app, platform = await start_app(api_config(database_url, fake, with_app=with_app), clock)
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{app.port}"
            robot = Pusher(base, WeComCrypto(ROBOT_TOKEN, ROBOT_AES_KEY, ""), clock, session)
            app_pusher = Pusher(base, WeComCrypto(APP_TOKEN, APP_AES_KEY, fake.corp_id), clock, session)
            yield ApiHarness(app, platform, fake, clock, robot, app_pusher)
    finally:
        await app.stop()


# ---------------------------------------------------------------- URL verification


async def test_url_verification_answers_the_decrypted_echostr(api: ApiHarness) -> None:
    assert await api.robot.verify(PATH, "1616140317555161061") == (200, "1616140317555161061")
    assert await api.app_pusher.verify(APP_PATH, "4242") == (200, "4242")


async def test_url_verification_refuses_forgeries_stale_and_replayed_requests(api: ApiHarness) -> None:
    status, text = await api.robot.verify(PATH, "1", signature="0" * 40)
    assert (status, "msg_signature does not match" in text) == (403, True)
    stale = int(api.clock.now().timestamp()) - 301
    status, text = await api.robot.verify(PATH, "1", timestamp=stale)
    assert status == 403 and "timestamp" in text
    assert (await api.robot.verify(PATH, "1", nonce="n-1"))[0] == 200
    status, text = await api.robot.verify(PATH, "1", nonce="n-1")
    assert status == 403 and "already used" in text
    # the app's key does not open the robot's callback (nor the other way round)
    status, _ = await api.app_pusher.verify(PATH, "1")
    assert status == 403


async def test_missing_parameters_and_bad_bodies_are_clear_errors(api: ApiHarness) -> None:
    async with api.robot.session.get(f"{api.robot.base_url}{PATH}") as response:
        assert response.status == 400 and "msg_signature" in await response.text()
    status, text, _ = await api.robot.post_json(PATH, encrypted="!!not base64!!")
    assert status == 403 and "base64" in text


# ---------------------------------------------------------------- the robot's callbacks


async def test_a_group_mention_gets_the_encrypted_passive_reply(api: ApiHarness) -> None:
    status, reply = await api.say("lilei", "帮助")
    assert status == 200
    assert reply["msgtype"] == "stream" and reply["stream"]["finish"] is True
    assert "协作" in reply["stream"]["content"]


async def test_a_tampered_or_replayed_callback_is_refused_and_not_handled(api: ApiHarness) -> None:
    body = api.body("lilei", "帮助", msgid="m-replay")
    status, _, query = await api.robot.post_json(PATH, body)
    assert status == 200
    status, text, _ = await api.robot.post_json(PATH, body, nonce=query["nonce"])
    assert status == 403 and "already used" in text
    encrypted = api.robot.crypto.encrypt('{"msgid": "m-tampered"}')
    forged = encrypted[:-8] + ("A" if encrypted[-8] != "A" else "B") + encrypted[-7:]
    status, text, _ = await api.robot.post_json(PATH, encrypted=forged, signature=api.robot.crypto.signature(str(int(api.clock.now().timestamp())), "n-t", encrypted), nonce="n-t")
    assert status == 403 and "msg_signature" in text
    assert await OutboxMessage.all().count() == 1


async def test_a_duplicated_callback_is_answered_once(api: ApiHarness) -> None:
    _, first = await api.say("lilei", "帮助", msgid="m-dup")
    _, second = await api.say("lilei", "帮助", msgid="m-dup")
    assert first["msgtype"] == "stream" and second == ""


async def test_a_card_click_is_answered_with_the_updated_card(api: ApiHarness) -> None:
    _, reply = await api.say("lilei", "审批演示")
    card = reply["template_card"]
    assert card["card_type"] == "button_interaction"
    key = Harness.key(card, "demo.approve")
    click = api.fake.click_body("hanmeimei", card["task_id"], key, chatid=GROUP)
    click["response_url"] = api.fake.new_response_url()
    status, update, _ = await api.robot.post_json(PATH, click)
    assert status == 200
    assert update["response_type"] == "update_template_card"
    assert update["template_card"]["task_id"] == card["task_id"]
    assert "已同意：hanmeimei" in text_of(update)


async def test_a_click_is_answered_even_when_another_worker_claims_its_update(api: ApiHarness) -> None:
    """Regression: the delivery loop claimed the update before the callback's own flush, which found
    nothing and answered empty — on a real tenant the click went unanswered."""
    _, reply = await api.say("lilei", "审批演示")
    card = reply["template_card"]
    other = DeliveryWorker(api.app.delivery.platforms, api.clock)  # the process's background loop
    stop = asyncio.Event()

    async def compete() -> None:
        """Claim the update as soon as it is committed, then take a while to send it (busy with other rows)."""
        while not stop.is_set():
            rows = await other.claim()
            if rows:
                await asyncio.sleep(0.3)
                for row in rows:
                    await other._process(row)
            await asyncio.sleep(0)

    competitor = asyncio.create_task(compete())
    try:
        click = api.fake.click_body("hanmeimei", card["task_id"], Harness.key(card, "demo.approve"), chatid=GROUP)
        status, update, _ = await api.robot.post_json(PATH, click)
    finally:
        stop.set()
        await competitor
    assert status == 200
    assert update["response_type"] == "update_template_card"
    assert "已同意：hanmeimei" in text_of(update)


async def test_a_second_answer_uses_the_response_url_once(api: ApiHarness) -> None:
    _, reply = await api.say("lilei", "两条演示")
    assert reply["stream"]["content"] == "第一条"
    await api.fake.wait_for(lambda: api.http("aibot/response"))
    [active] = api.http("aibot/response")
    # a template card is allowed through response_url only in a single chat: in a group it is markdown
    assert active.body["msgtype"] == "markdown" and "采购审批" in active.body["markdown"]["content"]


@pytest.mark.parametrize("api", [False], indirect=True)
async def test_without_an_app_a_message_the_bot_starts_cannot_be_sent(api: ApiHarness) -> None:
    await api.say("lilei", "私信演示")
    await api.app.settle()
    row = await OutboxMessage.get(status="dead")
    assert "long_connection" in (row.last_error or "")


# ---------------------------------------------------------------- the self-built app


async def test_an_app_message_is_answered_through_message_send(api: ApiHarness) -> None:
    assert await api.post_app(api.app_text("lilei", "帮助")) == 200
    [sent] = api.http("message/send")
    assert sent.body["touser"] == "lilei" and sent.body["agentid"] == api.fake.agent_id
    assert sent.body["msgtype"] == "markdown" and "协作" in sent.body["markdown"]["content"]
    assert sent.body["enable_duplicate_check"] == 1 and sent.body["duplicate_check_interval"] == 1800
    assert api.fake.token_requests == 1


async def test_the_access_token_is_cached_and_renewed_on_42001(api: ApiHarness) -> None:
    await api.post_app(api.app_text("lilei", "帮助", msgid="1"))
    await api.post_app(api.app_text("lilei", "help", msgid="2"))
    assert api.fake.token_requests == 1  # cached
    api.fake.expire_tokens()
    await api.post_app(api.app_text("lilei", "帮助", msgid="3"))
    assert api.fake.token_requests == 2
    assert [r.errcode for r in api.fake.http if r.cmd == "message/send"] == [0, 0, 42001, 0]


async def test_an_app_card_is_updated_with_the_clicks_response_code(api: ApiHarness) -> None:
    await api.say("lilei", "私信演示")  # a personal card: sent through the app (direct_messages = "app")
    await api.app.settle()
    [sent] = api.http("message/send")
    card = sent.body["template_card"]
    assert sent.body["touser"] == "lilei" and card["card_type"] == "button_interaction"
    code = api.fake.issue_response_code()
    assert await api.post_app(api.app_click("lilei", card["task_id"], Harness.key(card, "demo.approve"), code)) == 200
    [update] = api.http("message/update_template_card")
    assert update.body["response_code"] == code and update.body["userids"] == ["lilei"]
    assert update.body["template_card"]["task_id"] == card["task_id"]
    assert "已同意：lilei" in text_of(update.body)
    assert api.fake.response_codes[code] is True  # spent


async def test_late_app_updates_use_the_send_code_then_post_a_new_card(api: ApiHarness) -> None:
    await api.say("lilei", "私信演示")
    await api.app.settle()
    card = api.http("message/send")[0].body["template_card"]
    key = Harness.key(card, "demo.reject")
    # the click is handled too late for its own code: the code from message/send is used
    await api.app_pusher.post_xml(APP_PATH, api.app_click("lilei", card["task_id"], key, "rc-expired"), to_user=api.fake.corp_id, agent_id=api.fake.agent_id)
    api.clock.advance(seconds=30)
    await api.app.settle()
    [update] = api.http("message/update_template_card")
    assert update.body["response_code"] == api.fake.tasks[card["task_id"]]["response_code"]
    assert "已驳回" in text_of(update.body)
    assert [decode_key(b["key"]) for b in update.body["template_card"]["button_list"]] == [None]
