"""The fake's long connection is the one lark-oapi's own ``ws.Client`` speaks: the unmodified SDK fetches its
endpoint, connects, parses the fake's event frames into its typed events, and its answers (a card action's
toast) come back in the frame format the fake reads — the same format ``adapters/feishu/longconn.py`` writes."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from tests.feishu import events
from tests.feishu.conftest import GROUP
from tests.feishu.fake import FakeFeishu


async def test_lark_oapis_own_client_speaks_the_fakes_long_connection(fake: FakeFeishu) -> None:
    import lark_oapi as lark
    import lark_oapi.ws.client as sdk_ws
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse

    messages: list[Any] = []
    clicks: list[Any] = []

    def on_message(data: Any) -> None:
        messages.append((data.header.event_id, data.event.sender.sender_id.open_id, json.loads(data.event.message.content)))

    def on_click(data: Any) -> Any:
        clicks.append((data.event.operator.open_id, data.event.action.value, data.event.context.open_message_id))
        return P2CardActionTriggerResponse({"toast": {"type": "success", "content": "已接受"}})

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(on_message)
        .register_p2_card_action_trigger(on_click)
        .build()
    )
    client = lark.ws.Client(fake.app_id, fake.app_secret, event_handler=handler, domain=fake.url, auto_reconnect=False, log_level=lark.LogLevel.ERROR)
    loop = asyncio.new_event_loop()

    def run() -> None:  # the SDK blocks (requests) and runs on its module-level loop: give it its own thread and loop
        asyncio.set_event_loop(loop)
        sdk_ws.loop = loop
        loop.run_until_complete(client._connect())
        loop.run_forever()

    thread = threading.Thread(target=run, name="lark-oapi-ws", daemon=True)
    thread.start()
    try:
        await fake.wait_for(lambda: fake.ws.connected)
        assert fake.ws.endpoint_calls == 1
        body = events.message("ou_lilei", "帮助", chat_id=GROUP)
        answer = await fake.ws.answer(await fake.ws.push(body, parts=2))
        assert answer.code == 200 and answer.data is None and "biz_rt" in answer.headers
        assert messages == [(body["header"]["event_id"], "ou_lilei", {"text": "@_user_1 帮助"})]
        click = events.card_action("ou_liuyang", "om_7", GROUP, {"a": "request.accept", "v": {"round": 1}})
        answer = await fake.ws.answer(await fake.ws.push(click))
        assert answer.code == 200 and answer.data == {"toast": {"type": "success", "content": "已接受"}}
        assert clicks == [("ou_liuyang", {"a": "request.accept", "v": {"round": 1}}, "om_7")]
    finally:
        client._auto_reconnect = False
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(client._disconnect(), loop))
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 5)
