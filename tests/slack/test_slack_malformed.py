"""Type-confused Slack payloads get a typed answer: MalformedPayload from the parsers, HTTP 400 from the
endpoint (401 when unsigned), an ack and a logged refusal over Socket Mode — never a crash or a 500."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adapters.slack import inbound
from bot.errors import MalformedPayload
from bot.types import Event
from tests.malformed import confused
from tests.slack.fake_slack import BOT_USER, SIGNING_SECRET, FakeSlack
from tests.slack.world import SlackWorld

GROUP, LI = "C2GLOBAL", "U1LI"
CARD = {
    "channel": GROUP,
    "ts": "1700000000.000100",
    "text": "XZB2026112301",
    "blocks": [
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "action_id": "request.accept",
                    "text": {"type": "plain_text", "text": "接受"},
                    "value": json.dumps({"code": "XZB2026112301", "department": "design", "round": 1}),
                }
            ],
        }
    ],
}
VIEW = {
    "id": "V1",
    "type": "modal",
    "hash": "h1",
    "callback_id": "request.decline",
    "private_metadata": json.dumps({"v": {"code": "XZB2026112301", "round": 1}, "c": GROUP}),
    "blocks": [
        {"type": "input", "block_id": "reason", "element": {"type": "plain_text_input", "action_id": "reason"}},
        {"type": "input", "block_id": "date", "element": {"type": "datepicker", "action_id": "date"}},
    ],
}


def real_shapes() -> dict[str, tuple[str, dict[str, Any]]]:
    """One payload of each kind the bot reads, as the fake Slack builds them: (how it is posted, payload)."""
    fake = FakeSlack()
    return {
        "command": ("command", fake.slash(LI, GROUP, "新建协作")),
        "mention": ("event", fake.mention(LI, GROUP, "帮助")),
        "direct": ("event", fake.direct(LI, "帮助")),
        "click": ("interactive", fake.click(LI, CARD, "request.accept")),
        "submit": ("interactive", fake.submit(LI, VIEW, {"reason": "忙", "date": "2026-12-01"})),
    }


SHAPES = real_shapes()
PARSERS = {
    "command": inbound.command_event,
    "mention": lambda body: inbound.message_event(body, bot_user_id=BOT_USER),
    "direct": lambda body: inbound.message_event(body, bot_user_id=BOT_USER),
    "click": inbound.action_event,
    "submit": inbound.form_event,
}


def well_typed(event: Event | None) -> None:
    """What the engine relies on: strings where strings belong, a dict as the value."""
    if event is None:
        return
    assert isinstance(event.delivery_id, str) and isinstance(event.text, str)
    assert event.actor_id is None or isinstance(event.actor_id, str)
    assert event.actor_name is None or isinstance(event.actor_name, str)
    assert event.action is None or isinstance(event.action, str)
    assert isinstance(event.value, dict) and isinstance(event.form, dict)
    if event.conversation is not None:
        assert isinstance(event.conversation.id, str)
        assert event.conversation.thread is None or isinstance(event.conversation.thread, str)


@pytest.mark.parametrize("kind", sorted(SHAPES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_type_confused_payload_parses_or_is_refused(kind: str, data: st.DataObject) -> None:
    payload = data.draw(confused(SHAPES[kind][1]))
    try:
        inbound.check_request(payload)
        event = PARSERS[kind](payload)
    except MalformedPayload as refusal:
        assert refusal.reason
        return
    well_typed(event)


def test_the_real_shapes_parse() -> None:
    for kind, (_how, payload) in SHAPES.items():
        inbound.check_request(payload)
        assert PARSERS[kind](payload) is not None, kind


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("actions", 0, "value"), {"code": "XZB2026112301"}),  # a dict as a button value
        (("actions",), "request.accept"),  # a string where a list belongs
        (("user",), "U1LI"),  # a string where an object belongs
        (("message", "ts"), ["1", "2"]),
    ],
)
def test_the_issues_examples_are_refused(path: tuple[Any, ...], value: Any) -> None:
    payload = json.loads(json.dumps(SHAPES["click"][1]))
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(MalformedPayload):
        inbound.action_event(payload)


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.name, r.getMessage()) for r in errors]


async def _post_raw(world: SlackWorld, body: bytes, *, timestamp: str, sign: bool = True) -> int:
    fake = world.fake
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp}
    if sign:
        import hashlib
        import hmac

        base = b"v0:" + timestamp.encode() + b":" + body
        headers["X-Slack-Signature"] = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    assert fake._session is not None
    async with fake._session.post(world.events_url, data=body, headers=headers) as response:
        return response.status


async def test_http_endpoint_answers_bad_bodies_400_and_unsigned_401(database_url, clock, caplog):
    caplog.set_level(logging.WARNING)
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        now = str(int(time.time()))
        assert await _post_raw(world, b'{"type": "event_callback", "event": "\xff\xfe"}', timestamp=now) == 400  # not UTF-8
        assert await _post_raw(world, b"[1, 2, 3]", timestamp=now) == 400  # JSON, not an object
        assert await _post_raw(world, b'{"type": "event_callback", "event": 7}', timestamp=now) == 400
        assert await _post_raw(world, b"{}", timestamp="soon", sign=False) == 401  # a non-numeric timestamp
        assert await _post_raw(world, b"{}", timestamp="soon") == 401
        status, _ = await world.fake.post(world.events_url, "command", {**SHAPES["command"][1], "text": "x"}, timestamp=0)
        assert status == 401
        click = json.loads(json.dumps(SHAPES["click"][1]))
        click["actions"][0]["value"] = {"code": "XZB2026112301"}
        assert (await world.fake.post(world.events_url, "interactive", click))[0] == 400
        # the bot still works afterwards
        await world.command(LI, GROUP, "帮助")
        assert world.fake.in_channel(GROUP) or world.fake.calls
    _no_errors_logged(caplog)


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # each example starts a bot: report the failing batch as found
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.tuples(*(confused(payload) for _how, payload in SHAPES.values())))
async def test_http_endpoint_never_fails_on_confused_payloads(database_url, clock, batch):
    """Through the real endpoint, signed like Slack signs: every answer is 200 (parsed or ignored) or 400."""
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        for (how, _payload), payload in zip(SHAPES.values(), batch, strict=True):
            try:
                status, body = await world.fake.post(world.events_url, how, payload)
            except (TypeError, ValueError):  # the form encoder of the fake cannot even send it
                continue
            assert status in (200, 400), (how, status, body)


async def test_socket_mode_acks_a_confused_frame_and_keeps_working(database_url, clock, caplog):
    caplog.set_level(logging.WARNING)
    async with SlackWorld.open(database_url, clock) as world:
        frames = [
            ("slash_commands", {**SHAPES["command"][1], "text": {"not": "text"}}),
            ("events_api", {**SHAPES["mention"][1], "event": {**SHAPES["mention"][1]["event"], "user": ["U1LI"]}}),
            ("interactive", {**SHAPES["click"][1], "actions": [{**SHAPES["click"][1]["actions"][0], "value": {"a": 1}}]}),
            ("interactive", {**SHAPES["submit"][1], "view": {**SHAPES["submit"][1]["view"], "state": {"values": "x"}}}),
        ]
        for kind, payload in frames:
            envelope_id = await world.fake.push(kind, payload)
            await world.fake.wait_ack(envelope_id)  # acked: Slack will not redeliver it
        refusals = [r for r in caplog.records if "refused a malformed payload" in r.getMessage()]
        assert len(refusals) == len(frames), [r.getMessage() for r in caplog.records]
        await world.command(LI, GROUP, "帮助")
    _no_errors_logged(caplog)
