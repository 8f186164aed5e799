"""HTTP Events mode: requests signed like Slack signs them, POSTed to /slack/events on the bot's own server."""

from __future__ import annotations

import json
import re
import time

from storage.models import Collaboration, InboxEntry, OutboxMessage
from tests.slack.fake_slack import SIGNING_SECRET
from tests.slack.world import SlackWorld, buttons_of, card_with, text_of

GROUP = "C2GLOBAL"
LI, LIU, CHEN = "U1LI", "U3LIU", "U4CHEN"


async def test_url_verification_answers_the_challenge(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        status, body = await world.fake.post(world.events_url, "event", {"token": "t", "challenge": "c-123", "type": "url_verification"})
        assert status == 200 and "c-123" in body


async def test_a_wrong_secret_or_a_stale_timestamp_gets_401_and_changes_nothing(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        calls = len(world.fake.calls)
        command = world.fake.slash(LI, GROUP, "help")
        status, body = await world.fake.post(world.events_url, "command", command, secret="not-the-secret")
        assert status == 401, body
        mention = world.fake.mention(LI, GROUP, "help")
        status, _ = await world.fake.post(world.events_url, "event", mention, secret="not-the-secret")
        assert status == 401
        six_minutes_ago = int(time.time()) - 6 * 60
        status, _ = await world.fake.post(world.events_url, "command", command, timestamp=six_minutes_ago)
        assert status == 401
        status, _ = await world.fake.post(world.events_url, "event", mention, timestamp=six_minutes_ago)
        assert status == 401

        assert await world.platform.idle()
        assert world.platform.received == 0 and world.platform.handled == 0
        assert await InboxEntry.all().count() == 0 and await OutboxMessage.all().count() == 0
        assert world.fake.calls[calls:] == []

        # the same request, signed right and fresh, is accepted
        ack = await world.send("command", command)
        assert ack == {}


async def test_a_retried_event_is_handled_once(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        payload = world.fake.mention(LI, GROUP, "help")
        await world.event(payload)
        await world.event(payload, retry=1)  # X-Slack-Retry-Num: 1, same event_id
        assert world.platform.handled == 2
        assert len(world.fake.in_channel(GROUP)) == 1
        assert await InboxEntry.filter(delivery_id=payload["event_id"]).count() == 1


async def test_key_lifecycle_steps_over_http(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        fake = world.fake
        # a request with all fields in one slash command
        await world.command(
            LI,
            GROUP,
            "new\ntitle: Launch materials\ngoal: poster and landing page ready by Dec 18\n"
            "departments: design, rd\nstart: 2026-11-24\ndeadline: 2026-12-20\npriority: high",
        )
        overview = fake.in_channel(GROUP)[-1]
        code = re.search(r"XZB\d{10}", text_of(overview)).group(0)

        # a button click (signed interactive payload) updates the card in place
        liu_card = card_with(fake.dms(LIU), "request.accept")
        await world.click(LIU, liu_card, "request.accept")
        assert buttons_of(liu_card) == [] and liu_card["edits"] == 1

        # a modal submission: the field error comes back in the HTTP response body, Slack keeps the modal open
        chen_card = card_with(fake.dms(CHEN), "request.decline")
        await world.click(CHEN, chen_card, "request.decline")
        view = world.last_view
        status, body = await fake.post(world.events_url, "interactive", fake.submit(CHEN, view, {"reason": ""}))
        assert status == 200 and json.loads(body)["response_action"] == "errors"
        assert "reason" in json.loads(body)["errors"]
        ack = await world.submit(CHEN, view, {"reason": "fully booked", "counter_date": "2026-12-01"})
        assert ack == {}
        assert buttons_of(chen_card) == [] and "fully booked" in text_of(chen_card)
        assert (await Collaboration.get(code=code)).state == "pending"
        assert [c.status for c in fake.calls_to("chat.update")] and all(c.status == 200 for c in fake.calls_to("chat.update"))


async def test_the_signing_secret_is_the_one_from_the_config(database_url, clock):
    async with SlackWorld.open(database_url, clock, mode="http") as world:
        assert world.platform.config.signing_secret is not None
        assert world.platform.config.signing_secret.get_secret_value() == SIGNING_SECRET
        assert world.platform.socket is None  # no Socket Mode connection in HTTP mode
        assert world.fake.calls_to("apps.connections.open") == []
