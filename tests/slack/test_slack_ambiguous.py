"""Sends the platform may have accepted without saying so (a 5xx or a time-out after Slack posted):
a retry must not show the message twice, however far newer messages pushed it down."""

from __future__ import annotations

from storage.models import OutboxMessage
from tests.slack.world import SlackWorld, text_of

GROUP = "C2GLOBAL"
ANNA = "U6ANNA"


async def test_a_retry_finds_its_post_under_250_newer_messages(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postMessage", status=500, commit=True)  # Slack posted, the bot saw a 500
        await world.command(ANNA, GROUP, "help", settle=False)
        await world.app.settle()
        assert (await OutboxMessage.get(platform="slack")).status == "pending"
        world.fake.chatter(GROUP, 250)  # the channel is busy before the retry: the post is pages down
        await world.settle()
        posts = [m for m in world.fake.in_channel(GROUP) if m.get("metadata")]
        assert len(posts) == 1 and len(world.fake.calls_to("chat.postMessage")) == 1
        history = world.fake.calls_to("conversations.history")
        assert len(history) >= 2 and history[1].args.get("cursor")  # it read past the first page
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "sent" and row.message_ref == f"{GROUP}:{posts[0]['ts']}"
        assert world.app.metrics.tally[("slack", "ambiguous_reconciled")] == 1


async def test_an_ephemeral_answer_that_may_have_been_shown_is_not_shown_again(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postEphemeral", status=503, commit=True)  # shown, but the answer got lost
        await world.command(ANNA, GROUP, "blorp")
        [shown] = world.fake.ephemerals_for(ANNA, GROUP)
        assert "help" in text_of(shown)
        assert len(world.fake.calls_to("chat.postEphemeral")) == 1
        row = await OutboxMessage.get(platform="slack")
        assert row.status == "sent" and row.attempts == 2
        assert world.app.metrics.tally[("slack", "ambiguous_not_repeated")] == 1


async def test_an_ephemeral_answer_that_plainly_failed_is_not_retried_either_and_is_counted(database_url, clock):
    """Slack leaves no trace of an ephemeral message: after any failed try it is at most once, counted."""
    async with SlackWorld.open(database_url, clock) as world:
        world.fake.fail("chat.postEphemeral", status=503)  # nothing was shown this time
        await world.command(ANNA, GROUP, "blorp")
        assert world.fake.ephemerals_for(ANNA, GROUP) == []
        assert world.app.metrics.tally[("slack", "ambiguous_not_repeated")] == 1
