"""Socket Mode against the fake Slack: commands, mentions, DMs, redeliveries, reconnects, rate limits, pacing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from storage.models import Identity, InboxEntry, OutboxMessage, Person
from tests.slack.world import SlackWorld, text_of


async def test_slash_command_is_acked_then_answered_in_the_channel(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        ack = await world.command("U6ANNA", "C1LAUNCH", "help")
        assert ack == {}  # an empty ack: Slack shows nothing until the answer is posted
        [answer] = world.fake.in_channel("C1LAUNCH")
        assert "collaboration" in text_of(answer)
        assert answer["blocks"][0]["type"] == "header"
        # Bolt authorized with auth.test; the bot read the user's profile once
        assert world.fake.calls_to("users.info")[0].args["user"] == "U6ANNA"


async def test_standup_command_routes_like_the_typed_word(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        before = len(world.fake.calls)
        await world.command("U1LI", "C1LAUNCH", "", command="/standup")
        assert await InboxEntry.filter(platform="slack").count() == 1
        answered = [c for c in world.fake.calls[before:] if c.method.startswith("chat.")]
        assert answered, "the bot answers /standup (a stand-up reply or, without the workflow, the unknown-command help)"


async def test_empty_collab_command_shows_help(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.command("U6ANNA", "C1LAUNCH", "")
        assert "collaboration" in text_of(world.fake.in_channel("C1LAUNCH")[-1])


async def test_mention_in_a_channel_and_a_direct_message(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.mention("U6ANNA", "C2GLOBAL", "help")
        assert "collaboration" in text_of(world.fake.in_channel("C2GLOBAL")[-1])

        await world.dm("U1LI", "帮助")
        [reply] = world.fake.dms("U1LI")
        assert "协作" in text_of(reply)
        assert world.fake.calls_to("conversations.open")[-1].args["users"] == "U1LI"
        identity = await Identity.get(platform="slack", platform_user_id="U1LI")
        assert identity.dm_conversation == reply["channel"]


async def test_a_mention_in_a_thread_is_answered_in_the_thread(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        payload = world.fake.mention("U6ANNA", "C2GLOBAL", "help", thread_ts="1699999999.000100")
        await world.event(payload)
        assert world.fake.in_channel("C2GLOBAL")[-1]["thread_ts"] == "1699999999.000100"


async def test_bot_messages_and_edits_are_ignored(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        bot_post = world.fake.event({"type": "message", "channel_type": "im", "channel": "DU1LI", "bot_id": "BOTHER", "text": "hi", "ts": "1.1"})
        edit = world.fake.event(
            {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DU1LI", "user": "U1LI", "ts": "1.2"}
        )
        for payload in (bot_post, edit):
            await world.send("event", payload)
        await world.fake.until(lambda: world.platform.received == 2, what="both events reached the listener")
        assert await world.platform.idle()
        assert world.platform.handled == 0
        assert await InboxEntry.all().count() == 0


async def test_a_new_person_is_named_from_the_slack_profile(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.mention("U9NEW", "C2GLOBAL", "help")
        person = await Person.get(handle="slack:U9NEW")
        assert (person.name, person.email) == ("Sam", "sam@example.com")
        await world.mention("U9NEW", "C2GLOBAL", "help")
        assert len([c for c in world.fake.calls_to("users.info") if c.args["user"] == "U9NEW"]) == 1  # cached


async def test_a_redelivered_event_is_handled_once(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        payload = world.fake.mention("U6ANNA", "C2GLOBAL", "help")
        await world.event(payload)
        await world.event(payload, retry=1)  # Slack's retry: same event_id, retry_attempt 1 (X-Slack-Retry-Num: 1)
        assert world.platform.handled == 2
        assert len(world.fake.in_channel("C2GLOBAL")) == 1
        assert await InboxEntry.filter(platform="slack", delivery_id=payload["event_id"]).count() == 1


async def test_a_redelivered_command_envelope_is_handled_once(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        command = world.fake.slash("U6ANNA", "C2GLOBAL", "help")
        first = await world.fake.push("slash_commands", command)
        await world.fake.wait_ack(first)
        second = await world.fake.redeliver(first)
        await world.fake.wait_ack(second)
        await world.fake.until(lambda: world.platform.handled == 2, what="both envelopes handled")
        await world.settle()
        assert len(world.fake.in_channel("C2GLOBAL")) == 1


async def test_a_refresh_disconnect_reconnects_and_loses_nothing(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.mention("U6ANNA", "C2GLOBAL", "help")
        await world.fake.disconnect("refresh_requested")
        # Slack holds envelopes while the app reconnects; this one is sent on the new connection
        ack = await world.mention("U4CHEN", "C1LAUNCH", "帮助")
        assert ack == {}
        assert world.fake.connects == 2
        assert len(world.fake.calls_to("apps.connections.open")) == 2
        assert len(world.fake.in_channel("C1LAUNCH")) == 1 and len(world.fake.in_channel("C2GLOBAL")) == 1
        assert not world.fake.unacked


async def test_a_dropped_connection_reconnects_and_loses_nothing(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.fake.drop()
        await world.mention("U6ANNA", "C2GLOBAL", "help")  # queued by Slack until the app is back
        await world.fake.wait_connected(2)
        assert len(world.fake.in_channel("C2GLOBAL")) == 1
        assert not world.fake.unacked


async def test_a_429_is_retried_after_retry_after_and_arrives_once(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postMessage", status=429, retry_after=30)
        await world.command("U6ANNA", "C2GLOBAL", "help", settle=False)
        await world.app.settle()
        assert world.fake.in_channel("C2GLOBAL") == []
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "pending" and row.next_attempt_at == clock.now() + timedelta(seconds=30)
        assert row.attempts == 0  # a 429 is not a failed attempt

        clock.advance(seconds=29)
        await world.app.settle()
        assert world.fake.in_channel("C2GLOBAL") == []
        clock.advance(seconds=2)
        await world.app.settle()
        assert len(world.fake.in_channel("C2GLOBAL")) == 1
        assert [c.status for c in world.fake.calls_to("chat.postMessage")] == [429, 200]


async def test_a_server_error_is_retried_with_backoff(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postMessage", status=503)
        await world.command("U6ANNA", "C2GLOBAL", "help", settle=False)
        await world.app.settle()
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "pending" and row.attempts == 1 and "503" in (row.last_error or "")
        await world.settle()  # product time passes until the backoff is over
        assert len(world.fake.in_channel("C2GLOBAL")) == 1


async def test_an_invalid_token_makes_the_row_retry_not_vanish(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postMessage", status=200, error="invalid_auth")
        await world.command("U6ANNA", "C2GLOBAL", "help", settle=False)
        await world.app.settle()
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "pending" and "invalid_auth" in (row.last_error or "")


async def test_a_channel_the_bot_was_not_invited_to_is_joined_then_posted(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.outside.add("C7PUBLIC")
        await world.command("U6ANNA", "C7PUBLIC", "help")
        assert world.fake.calls_to("conversations.join")[0].args["channel"] == "C7PUBLIC"
        assert len(world.fake.in_channel("C7PUBLIC")) == 1


async def test_an_ephemeral_error_in_a_private_channel_goes_through_the_response_url(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.outside.add("G8PRIVATE")
        await world.command("U6ANNA", "G8PRIVATE", "show XZB2099010199")
        [response] = world.fake.responses
        assert response["response_type"] == "ephemeral" and "XZB2099010199" in text_of(response)
        assert await OutboxMessage.filter(status="sent").count() == 1


async def test_an_ephemeral_error_is_shown_only_to_the_actor(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.mention("U6ANNA", "C2GLOBAL", "show XZB2099010199")
        [reply] = world.fake.ephemerals_for("U6ANNA", "C2GLOBAL")
        assert "XZB2099010199" in text_of(reply)
        assert world.fake.in_channel("C2GLOBAL") == []


async def test_posts_to_one_channel_are_paced_to_about_one_per_second(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        for _ in range(6):
            await world.mention("U6ANNA", "C2GLOBAL", "help", settle=False)
        await world.app.settle()
        assert len(world.fake.in_channel("C2GLOBAL")) == 3  # a short burst
        clock.advance(seconds=1)
        await world.app.settle()
        assert len(world.fake.in_channel("C2GLOBAL")) == 4
        clock.advance(seconds=2)
        await world.app.settle()
        assert len(world.fake.in_channel("C2GLOBAL")) == 6
        # other channels are not held up by this one
        await world.mention("U6ANNA", "C1LAUNCH", "help", settle=False)
        await world.app.settle()
        assert len(world.fake.in_channel("C1LAUNCH")) == 1


async def test_a_form_button_whose_card_is_unknown_goes_to_the_workflow_which_opens_the_form(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.command(
            "U1LI", "C2GLOBAL", "new\ntitle: T\ngoal: G\ndepartments: rd\ndeadline: 2026-12-20"
        )
        card = next(m for m in world.fake.dms("U4CHEN") if "collabbot.form:request.decline" in json.dumps(m["blocks"]))
        stranger = {**card, "ts": "1600000000.000001"}  # e.g. a copy posted before the database was restored
        await world.click("U4CHEN", stranger, "request.decline")
        assert world.platform.handled == 2  # the click was dispatched, not answered from the stored card
        assert world.last_view["callback_id"] == "request.decline"
        assert json.loads(world.last_view["private_metadata"])["v"]["dept"] == "rd"


async def test_a_bare_slash_command_answers_in_the_language_of_the_slack_client(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.command("U9NEW", "C1LAUNCH", "")  # Slack client in English
        assert "collaboration" in text_of(world.fake.in_channel("C1LAUNCH")[-1])
        world.fake.users["U8ZH"] = {"name": "xiao.zhang", "real_name": "小张", "locale": "zh-CN"}
        await world.command("U8ZH", "C1LAUNCH", "")
        assert "协作" in text_of(world.fake.in_channel("C1LAUNCH")[-1])


async def test_a_slack_user_missing_from_the_directory_is_matched_by_e_mail(database_url, clock):
    org = {
        "departments": [{"code": "rd", "name": "研发部", "head": "chenjie"}],
        "people": [{"id": "chenjie", "name": "陈杰", "department": "rd", "email": "ChenJie@example.com"}],  # no Slack id
    }
    async with SlackWorld.open(database_url, clock, org=org) as world:
        await world.mention("U4CHEN", "C2GLOBAL", "help")
        identity = await Identity.get(platform="slack", platform_user_id="U4CHEN").prefetch_related("person")
        assert identity.person.handle == "chenjie"
        assert await Person.all().count() == 1


async def test_a_rejected_bot_token_stops_the_start_with_a_clear_message(database_url, clock):
    with pytest.raises(RuntimeError, match=r"slack\.bot_token"):
        async with SlackWorld.open(database_url, clock, prepare=lambda fake: fake.fail("auth.test", status=200, error="invalid_auth")):
            pass


async def test_slack_unreachable_at_start_does_not_stop_the_bot(database_url, clock):
    async with SlackWorld.open(database_url, clock, prepare=lambda fake: fake.fail("auth.test", status=503)) as world:
        assert world.platform.bot_user_id is None
        await world.mention("U6ANNA", "C2GLOBAL", "help")  # the bot's id comes with the event's authorizations
        assert "collaboration" in text_of(world.fake.in_channel("C2GLOBAL")[-1])


async def test_a_post_whose_answer_was_lost_is_not_posted_twice(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postMessage", status=500, commit=True)  # Slack posted, the bot saw a 500
        await world.command("U6ANNA", "C2GLOBAL", "help", settle=False)
        await world.app.settle()
        assert len(world.fake.in_channel("C2GLOBAL")) == 1
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "pending" and row.attempts == 1
        await world.settle()  # the retry finds its own post by the metadata key instead of posting again
        [message] = world.fake.in_channel("C2GLOBAL")
        assert message["metadata"]["event_payload"]["key"] == row.dedupe_key
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "sent" and row.message_ref == f"C2GLOBAL:{message['ts']}"
        assert len(world.fake.calls_to("chat.postMessage")) == 1


async def test_without_history_scopes_a_retry_still_delivers(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.scopes.clear()
        world.fake.fail("chat.postMessage", status=503)  # nothing was posted
        await world.command("U6ANNA", "C2GLOBAL", "help")
        assert len(world.fake.in_channel("C2GLOBAL")) == 1
        assert world.fake.calls_to("conversations.history")[0].error == "missing_scope"


async def test_a_send_cut_short_by_a_crash_is_not_posted_twice(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.command("U6ANNA", "C2GLOBAL", "help")
        [message] = world.fake.in_channel("C2GLOBAL")
        # the process died after Slack accepted the message and before the row was marked sent
        await OutboxMessage.filter(platform="slack").update(
            status="sending", lease_owner="dead-worker", lease_until=clock.now() - timedelta(seconds=1), message_ref=None
        )
        await world.app.settle()
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "sent" and row.message_ref == f"C2GLOBAL:{message['ts']}"
        assert len(world.fake.in_channel("C2GLOBAL")) == 1
