"""What a Slack admin trips over, at the fake Slack with a slow ``users.info``: a slash command from someone
new still opens its modal (the lookup is not waited for), a slow command opens a loading modal and turns it
into the form, an empty submission's errors are in its ack before the lookup is back, and the App Home tab
shows the person's pending items.

No test here races the wall clock (a loaded CI machine would make that a coin toss): the lookup takes far
longer than anything the bot may wait for, and the tests assert the *order* — the modal opened, or the ack
left, before the lookup answered. How far inside Slack's 3 s the modal opens is measured by
``bench/bench_slack_trigger.py``."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import interactive, render
from bot.types import Form, FormField
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.world import USERS, SlackWorld, text_of

SLOW_LOOKUP = 6.0  # far past Slack's 3 s: a bot that waited for it could not have answered first


def slow(fake: FakeSlack) -> None:
    fake.delays["users.info"] = SLOW_LOOKUP


def completed_lookups(fake: FakeSlack, user: str) -> list[int]:
    """Positions in the call log of the users.info answers for ``user`` (recorded when Slack answered)."""
    return [i for i, c in enumerate(fake.calls) if c.method == "users.info" and c.args.get("user") == user]


async def test_a_new_user_s_slash_command_opens_its_modal_without_waiting_for_the_lookup(database_url, clock):
    async with SlackWorld.open(database_url, clock, prepare=slow) as world:
        fake = world.fake
        await world.command("U9NEW", "C1LAUNCH", "新建协作")
        [opened] = [i for i, c in enumerate(fake.calls) if c.method == "views.open"]
        assert fake.calls[opened].error is None  # not expired_trigger_id
        assert not completed_lookups(fake, "U9NEW") or completed_lookups(fake, "U9NEW")[0] > opened
        assert world.last_view["callback_id"] == "request.new"
        await fake.until(lambda: bool(completed_lookups(fake, "U9NEW")), what="the background lookup", within=30)


async def test_an_empty_submission_is_answered_with_its_errors_before_the_lookup_returns(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        fake = world.fake
        await world.command("U1LI", "C1LAUNCH", "新建协作")
        modal = world.last_view
        slow(fake)
        before = world.platform.handled
        ack = await world.send("interactive", fake.submit("U6ANNA", modal, {}))  # Anna's profile is not cached
        assert ack["response_action"] == "errors" and ack["errors"]
        assert completed_lookups(fake, "U6ANNA") == []  # the ack did not wait for users.info
        await world._handled(before + 1)
        await fake.until(lambda: bool(completed_lookups(fake, "U6ANNA")), what="the background lookup", within=30)


async def test_slow_work_opens_a_loading_modal_in_time_and_turns_it_into_the_form():
    fake = await FakeSlack(users=dict(USERS)).start()
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.base_url, retry_handlers=[])
    work: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    form = Form(id="request.new", title="新建协作", fields=[FormField("title", "标题", "text", required=True)], submit_label="提交")
    try:
        answering = asyncio.create_task(
            interactive.answer(client, fake.trigger(), time.monotonic(), work, lambda _r: render.render_modal(form, "zh_CN"), "zh_CN")
        )
        await fake.until(lambda: bool(fake.views), what="the loading modal")
        assert "处理中" in text_of({"blocks": fake.views[0]["blocks"]}) and "callback_id" not in fake.views[0]
        work.set_result(None)  # the work is done: the loading modal becomes the form
        await answering
        [view] = fake.views
        assert view["callback_id"] == "request.new" and view["blocks"][0]["block_id"] == "title"
        assert [c.method for c in fake.calls] == ["views.open", "views.update"] and all(c.error is None for c in fake.calls)
    finally:
        await client.session.close() if client.session else None
        await fake.stop()


async def test_work_that_needs_no_form_turns_the_loading_modal_into_a_short_note():
    fake = await FakeSlack(users=dict(USERS)).start()
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.base_url, retry_handlers=[])
    work: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        answering = asyncio.create_task(interactive.answer(client, fake.trigger(), time.monotonic() - 5, work, lambda _r: None, "en"))
        await fake.until(lambda: bool(fake.views), what="the loading modal")
        work.set_result(None)
        await answering
        assert "The answer is in the conversation" in text_of({"blocks": fake.views[0]["blocks"]})
    finally:
        await fake.stop()


async def test_the_app_home_tab_shows_the_person_s_pending_items(database_url, clock):
    async with SlackWorld.open(database_url, clock) as world:
        await world.command("U1LI", "C1LAUNCH", "新建协作\n标题：海报\n目标：海报上线\n协作部门：设计部\n截止：2026-12-20")
        posted = len(world.fake.messages)
        payload = world.fake.event({"type": "app_home_opened", "user": "U3LIU", "channel": "D3LIU", "tab": "home", "event_ts": "1700000000.000100"})
        await world.event(payload)
        home = world.fake.homes["U3LIU"]
        assert home["type"] == "home"
        shown = text_of({"blocks": home["blocks"]})
        assert "海报" in shown  # the request waiting for 刘洋's answer
        assert len(world.fake.messages) == posted  # published to the Home tab, nothing posted


async def test_under_load_every_new_user_s_modal_opens_before_the_lookup_answers(database_url, clock):
    """Twenty people new to the bot type ``/collab 新建协作`` at once (users.info slow for each): every
    trigger is used before that person's lookup answered, as the form or a loading modal that becomes the form."""
    newcomers = {f"U7NEW{i:02d}": {"name": f"new{i}", "real_name": f"New {i}", "locale": "zh-CN"} for i in range(20)}

    def prepare(fake: FakeSlack) -> None:
        fake.users.update(newcomers)
        slow(fake)

    async with SlackWorld.open(database_url, clock, prepare=prepare) as world:
        fake = world.fake
        before = world.platform.handled
        await asyncio.gather(*(world.send("command", fake.slash(user, "C1LAUNCH", "新建协作")) for user in newcomers))
        await world._handled(before + len(newcomers))
        opens = fake.calls_to("views.open")
        assert len(opens) == len(newcomers) and [c.error for c in opens] == [None] * len(newcomers)
        last_open = max(i for i, c in enumerate(fake.calls) if c.method == "views.open")
        assert all(not completed_lookups(fake, user) or completed_lookups(fake, user)[0] > last_open for user in newcomers)
        await fake.until(lambda: all(v.get("callback_id") == "request.new" for v in fake.views), what="every form", within=20)
