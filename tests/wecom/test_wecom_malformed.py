"""Type-confused WeCom callbacks: the parsers raise MalformedPayload, the HTTPS callback answers 400, a
long-connection frame is dropped with a logged refusal — never a 500, never a traceback, never a dead reader."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.wecom import inbound
from adapters.wecom.inbound import encode_key
from bot.clock import ManualClock
from bot.errors import MalformedPayload
from bot.types import Event
from tests.malformed import confused

from .fake import FakeWeCom
from .test_api_mode import APP_PATH, GROUP, PATH, ApiHarness, api  # noqa: F401  (api is a fixture)

KEY = encode_key("b", "request.accept", {"code": "XZB2026112301", "round": 1})


def real_bodies() -> dict[str, dict[str, Any]]:
    """The callback bodies the fake WeCom builds: a group message, a single chat, a card click, a form submit."""
    fake = FakeWeCom(ManualClock())
    submit = fake.click_body("lilei", "task-2", encode_key("f", "demo.vote", {"poll": 1}), chatid=GROUP, selected={"dish": ["rice"]})
    return {
        "group": fake.message_body("lilei", "帮助", chatid=GROUP),
        "single": fake.message_body("lilei", "帮助"),
        "click": fake.click_body("lilei", "task-1", KEY, chatid=GROUP),
        "flat": fake.click_body("lilei", "task-1", KEY, flat=True),
        "submit": submit,
        "mixed": {**fake.message_body("lilei", ""), "msgtype": "mixed", "mixed": {"msg_item": [{"msgtype": "text", "text": {"content": "帮助"}}]}},
    }


BODIES = real_bodies()


def parse(body: Any) -> inbound.Inbound:
    return inbound.robot_callback(body, req_id="r-1", received_at=0.0, via="ws", bot_name="collabbot")


def well_typed(event: Event | None) -> None:
    if event is None:
        return
    assert isinstance(event.delivery_id, str) and isinstance(event.text, str)
    assert isinstance(event.actor_id, str) and isinstance(event.value, dict) and isinstance(event.form, dict)
    assert event.conversation is not None and isinstance(event.conversation.id, str)
    assert all(isinstance(v, str | list) for v in event.form.values())


@pytest.mark.parametrize("kind", sorted(BODIES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_confused_callback_parses_or_is_refused(kind: str, data: st.DataObject) -> None:
    body = data.draw(confused(BODIES[kind]))
    try:
        item = parse(body)
    except MalformedPayload as refusal:
        assert refusal.reason
        return
    well_typed(item.event)


def test_the_real_bodies_parse() -> None:
    for kind, body in BODIES.items():
        assert parse(body).event is not None, kind


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("from",), "lilei"),  # a string where an object belongs
        (("text",), "帮助"),
        (("event", "template_card_event", "selected_items", "selected_item", 0, "option_ids"), "rice"),
        (("mixed", "msg_item"), 3),  # a number where a list belongs
    ],
)
def test_the_issues_examples_are_refused(path: tuple[Any, ...], value: Any) -> None:
    kind = {"text": "group", "event": "submit", "mixed": "mixed"}.get(str(path[0]), "click")
    body = json.loads(json.dumps(BODIES[kind]))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(MalformedPayload):
        parse(body)


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.name, r.getMessage()) for r in errors]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(BODIES)), data=st.data())
async def test_the_https_callback_answers_confused_bodies_with_200_or_400(api: ApiHarness, kind: str, data: st.DataObject) -> None:  # noqa: F811
    body = data.draw(confused(BODIES[kind]))
    status, reply, _ = await api.robot.post_json(PATH, body)
    assert status in (200, 400), (status, reply)
    if status == 400:
        assert "malformed payload" in reply


async def test_the_https_callbacks_refuse_bodies_that_are_not_utf8_or_not_objects(api: ApiHarness, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.WARNING)
    robot = api.robot
    for raw in ("[1, 2]", '"text"', "\udcff".encode("utf-8", "surrogatepass").decode("latin-1")):
        encrypted = robot.crypto.encrypt(raw)
        status, _reply, _ = await robot.post_json(PATH, encrypted=encrypted)
        assert status == 400
    params = robot._query("x")
    async with robot.session.post(robot.base_url + PATH, params=params, data=b'{"encrypt": "\xff\xfe"}') as response:
        assert response.status == 400
    async with robot.session.post(robot.base_url + PATH, params=params, data=b'{"encrypt": {"a": 1}}') as response:
        assert response.status == 400
    pusher = api.app_pusher
    async with pusher.session.post(pusher.base_url + APP_PATH, params=pusher._query("x"), data=b"<xml>\xff</xml>") as response:
        assert response.status == 400
    status, reply = await api.say("lilei", "帮助")  # still answering
    assert status == 200 and reply
    _no_errors(caplog)


async def test_a_confused_long_connection_frame_is_refused_and_the_connection_lives(harness: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    fake, ws = harness.fake, harness.platform.ws
    bad = [
        {**BODIES["group"], "from": "lilei"},
        {**BODIES["group"], "text": ["帮助"]},
        {**BODIES["click"], "event": "template_card_event"},
        "not an object",
    ]
    for body in bad:
        before = ws.handled
        conn = await fake.wait_for(lambda: fake.live)
        await conn.ws.send_json({"cmd": "aibot_msg_callback", "headers": {"req_id": f"bad-{before}"}, "body": body})
        await fake.wait_for(lambda before=before: ws.handled > before)
    conn = await fake.wait_for(lambda: fake.live)
    await conn.ws.send_json({"cmd": "pong", "headers": "not headers"})
    refusals = [r for r in caplog.records if "refused a malformed WeCom" in r.getMessage()]
    assert len(refusals) == len(bad), [r.getMessage() for r in caplog.records]
    req_id = await harness.say("lilei", "帮助")
    assert harness.answers(req_id)  # the same connection still answers
    _no_errors(caplog)
