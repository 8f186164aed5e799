"""Type-confused Feishu events: the parsers raise MalformedPayload, the HTTP callback answers 400 (401 when the
token itself is garbled), a long-connection frame is acked with a logged refusal — never a 500, never a
traceback, never a dead connection."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.feishu import inbound
from bot.clock import ManualClock
from bot.errors import MalformedPayload
from bot.types import Event
from tests.feishu import events
from tests.feishu.conftest import GROUP, Harness, lifecycle_data, open_app
from tests.feishu.fake import FakeFeishu
from tests.malformed import confused


def real_bodies() -> dict[str, dict[str, Any]]:
    """The bodies the fake Feishu sends: a group mention, a direct message, a click, a form submission."""
    return {
        "group": events.message("ou_lilei", "帮助 @刘洋", chat_id=GROUP, mentions={"ou_liuyang": "刘洋"}),
        "direct": events.message("ou_lilei", "列表"),
        "click": events.card_action("ou_liuyang", "om_1", GROUP, {"a": "request.accept", "v": {"code": "XZB2026112301", "round": 1}}),
        "submit": events.card_action(
            "ou_chenjie", "om_2", "oc_p2p_ou_chenjie", {"f": "request.decline", "v": {"code": "XZB2026112301"}, "d": 1},
            form_value={"reason": "人力饱和", "counter_date": "2026-12-01 +0800", "depts": ["design"]},
        ),
    }


BODIES = real_bodies()


def parse(body: Any) -> Event | None:
    return inbound.to_event(inbound.envelope(body), bot_open_id=events.BOT_OPEN_ID)


def well_typed(event: Event | None) -> None:
    if event is None:
        return
    assert isinstance(event.delivery_id, str) and event.delivery_id and isinstance(event.text, str)
    assert isinstance(event.actor_id, str) and isinstance(event.value, dict) and isinstance(event.form, dict)
    assert event.conversation is not None and isinstance(event.conversation.id, str)
    assert all(v is None or isinstance(v, str | list | int | float) for v in event.form.values())


def test_the_real_bodies_parse() -> None:
    for kind, body in BODIES.items():
        assert parse(body) is not None, kind
    assert parse(BODIES["group"]).text == "帮助 @刘洋"


@pytest.mark.parametrize("kind", sorted(BODIES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_confused_event_parses_or_is_refused(kind: str, data: st.DataObject) -> None:
    body = data.draw(confused(BODIES[kind]))
    try:
        event = parse(body)
    except MalformedPayload as refusal:
        assert refusal.reason
        return
    well_typed(event)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("group", ("event", "message"), "帮助"),  # a string where an object belongs
        ("group", ("event", "message", "mentions"), 3),  # a number where a list belongs
        ("group", ("event", "message", "content"), "{not json"),
        ("click", ("event", "action", "value"), ["request.accept"]),
        ("submit", ("event", "action", "form_value"), "reason"),
        ("click", ("header",), "event"),
    ],
)
def test_the_obvious_confusions_are_refused(kind: str, path: tuple[Any, ...], value: Any) -> None:
    body = json.loads(json.dumps(BODIES[kind]))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(MalformedPayload):
        parse(body)


@pytest.fixture
async def http(database_url: str, fake: FakeFeishu, clock: ManualClock) -> AsyncIterator[Harness]:
    data = lifecycle_data(database_url, fake, mode="http", verification_token=events.VERIFICATION_TOKEN, encrypt_key=events.ENCRYPT_KEY)
    app, platform = await open_app(data, fake, clock, serve_http=True)
    try:
        yield Harness(app, platform, fake, clock)
    finally:
        await app.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(BODIES)), data=st.data())
async def test_the_http_callback_answers_confused_bodies_with_200_400_or_401(http: Harness, kind: str, data: st.DataObject) -> None:
    body = data.draw(confused(BODIES[kind]))
    raw, headers = http.fake.signed(body)
    status, answer = await http.fake.post_callback(f"http://127.0.0.1:{http.app.port}/feishu/events", raw, headers)
    assert status in (200, 400, 401), (status, answer)
    if status == 400:
        assert "malformed payload" in answer["error"]


async def test_confused_long_connection_frames_are_acked_and_the_connection_lives(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    bad: list[Any] = [
        {**BODIES["group"], "event": "帮助"},
        {**BODIES["click"], "header": {"event_type": "card.action.trigger", "event_id": ["x"]}},
        ["not", "an", "object"],
    ]
    for body in bad:
        answer = await harness.push(body, settle=False)
        assert answer.code == 200  # acked: Feishu must not deliver it again
    message_id = await harness.fake.ws.push({})  # no header at all
    assert (await harness.fake.ws.answer(message_id)).code == 200
    refusals = [r for r in caplog.records if "refused a malformed" in r.getMessage()]
    assert len(refusals) == len(bad) + 1
    await harness.say("lilei", "帮助")
    assert harness.fake.to(GROUP)  # the same connection still answers
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
