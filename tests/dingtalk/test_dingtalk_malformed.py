"""Type-confused DingTalk Stream frames: the parsers raise MalformedPayload, the stream acks the frame
(so DingTalk does not push it again) and logs a refusal — never a traceback, never a dead reader."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adapters.dingtalk import inbound
from adapters.dingtalk.stream import _malformed
from bot.errors import MalformedPayload
from bot.types import Event
from tests.dingtalk.fake_dingtalk import FakeDingTalk
from tests.dingtalk.world import GROUP, DingTalkWorld, staff
from tests.malformed import confused

SECRET = "app-secret-1"


def real_frames() -> dict[str, dict[str, Any]]:
    """A robot message and a card click, framed the way the fake DingTalk frames them."""
    fake = FakeDingTalk()
    fake.port = 1
    robot = fake.robot_frame(staff("lilei"), "帮助", group=GROUP, name="李雷", title="发布")
    params = {"action": "request.accept", "value": json.dumps({"code": "XZB2026112301", "round": 1})}
    click_data = {
        "outTrackId": "track-1",
        "corpId": fake.corp_id,
        "userId": staff("liuyang"),
        "type": "actionCallback",
        "spaceType": "IM_GROUP",
        "spaceId": GROUP,
        "extension": "{}",
        "content": json.dumps({"cardPrivateData": {"actionIds": ["accept"], "params": params}}),
    }
    click = fake._frame(inbound.CARD_TOPIC, click_data)
    return {"robot": robot, "click": click}


FRAMES = real_frames()


def parse(kind: str, data: Any, message_id: Any = "m-1") -> Event | None:
    if kind == "robot":
        return inbound.robot_message(data, message_id=message_id, secret=SECRET)
    return inbound.card_callback(data, message_id=message_id)


def well_typed(event: Event | None) -> None:
    if event is None:
        return
    assert isinstance(event.delivery_id, str) and isinstance(event.text, str)
    assert isinstance(event.actor_id, str) and (event.actor_name is None or isinstance(event.actor_name, str))
    assert isinstance(event.value, dict) and event.conversation is not None and isinstance(event.conversation.id, str)
    assert isinstance(event.reply_to.get("expires_ms", 0), int)


@pytest.mark.parametrize("kind", sorted(FRAMES))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_confused_callback_data_parses_or_is_refused(kind: str, data: st.DataObject) -> None:
    payload = data.draw(confused(json.loads(FRAMES[kind]["data"])))
    try:
        event = parse(kind, payload)
    except MalformedPayload as refusal:
        assert refusal.reason
        return
    well_typed(event)


@pytest.mark.parametrize("kind", sorted(FRAMES))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_confused_frame_is_caught_before_the_sdk_reads_it(kind: str, data: st.DataObject) -> None:
    """Whatever ``_malformed`` lets through, the SDK's ``CallbackMessage.from_dict`` can read."""
    from dingtalk_stream.frames import CallbackMessage

    frame = data.draw(confused(FRAMES[kind]))
    if _malformed(frame) is None:
        message = CallbackMessage.from_dict(frame)
        assert isinstance(message.data, dict) or message.data is None or message.data == {}


def test_the_real_frames_parse() -> None:
    for kind, frame in FRAMES.items():
        assert _malformed(frame) is None
        assert parse(kind, json.loads(frame["data"])) is not None


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("robot", "text", "帮助"),  # a string where an object belongs
        ("robot", "sessionWebhookExpiredTime", "tomorrow"),  # a non-numeric timestamp
        ("robot", "senderStaffId", {"id": "x"}),
        ("click", "userId", ["a"]),
        ("click", "spaceId", 3.5),
    ],
)
def test_the_issues_examples_are_refused(kind: str, field: str, value: Any) -> None:
    payload = {**json.loads(FRAMES[kind]["data"]), field: value}
    with pytest.raises(MalformedPayload):
        parse(kind, payload)


def _frame_with(kind: str, data: Any, message_id: str) -> dict[str, Any]:
    frame = json.loads(json.dumps(FRAMES[kind]))
    frame["headers"]["messageId"] = message_id
    frame["data"] = json.dumps(data, ensure_ascii=False) if not isinstance(data, str) else data
    return frame


async def _push_raw(fake: FakeDingTalk, text: str) -> None:
    async def send() -> None:
        await fake.open_connections[-1].ws.send_str(text)

    await fake._in_loop(send())


async def test_confused_frames_are_acked_and_the_stream_keeps_working(database_url, clock, fake, caplog):
    caplog.set_level(logging.WARNING)
    robot, click = json.loads(FRAMES["robot"]["data"]), json.loads(FRAMES["click"]["data"])
    async with DingTalkWorld.open(database_url, clock, fake) as world:
        pushed = [
            await fake.push(_frame_with("robot", {**robot, "text": "帮助"}, "bad-1")),
            await fake.push(_frame_with("robot", {**robot, "sessionWebhookExpiredTime": "soon"}, "bad-2")),
            await fake.push(_frame_with("click", {**click, "content": {"cardPrivateData": "x"}, "userId": 7.5}, "bad-3")),
            await fake.push(_frame_with("robot", "not json", "bad-4")),
            await fake.push(_frame_with("robot", "[1, 2]", "bad-5")),
            await fake.push({**_frame_with("robot", robot, "bad-6"), "headers": {**FRAMES["robot"]["headers"], "messageId": "bad-6", "time": "noon"}}),
        ]
        for message_id in pushed:
            ack = await fake.wait_ack(message_id)
            assert ack["code"] == 200, ack  # acked: DingTalk does not push it again
        await _push_raw(fake, json.dumps({**FRAMES["robot"], "headers": "no headers"}))
        await _push_raw(fake, json.dumps({**FRAMES["robot"], "type": "SYSTEM", "headers": 5}))
        await _push_raw(fake, "[]")
        answer = await world.say("lilei", "帮助")  # the same connection still reads and answers
        assert answer["code"] == 200
        assert fake.cards_in(f"IM_GROUP.{GROUP}")
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) >= len(pushed) + 3, [r.getMessage() for r in caplog.records]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.name, r.getMessage()) for r in errors]


@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.tuples(confused(json.loads(FRAMES["robot"]["data"])), confused(json.loads(FRAMES["click"]["data"]))))
async def test_every_confused_frame_gets_an_ack(database_url, clock, fake, batch):
    async with DingTalkWorld.open(database_url, clock, fake):
        ids = [
            await fake.push(_frame_with(kind, data, f"h-{kind}"))
            for kind, data in zip(("robot", "click"), batch, strict=True)
        ]
        for message_id in ids:
            assert (await fake.wait_ack(message_id))["code"] == 200
