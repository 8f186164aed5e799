"""Answers: by the member's message's ``req_id`` over the long connection (``aibot_respond_msg``, welcome
replies), by the API-mode passive reply slot or the callback's one-time ``response_url`` — else as a new
message (``aibot_send_msg``). Single-use tokens are spent once (``_spend``)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import aiohttp

from bot.errors import PermanentError, RateLimited, TransientError
from bot.platform import Delivery
from bot.types import Card

from .client import WeComAPIError, classify
from .common import REPLY_WINDOW, RESPONSE_URL_WINDOW, WELCOME_WINDOW, ConnectionDown, WeComState, task_id_for
from .longconn import RESPOND, RESPOND_WELCOME, SEND, NotConnected, new_req_id
from .render import Rendered, card_markdown, plain, stream_body

log = logging.getLogger("collabbot.wecom")


class PassiveReplies(WeComState):
    """How a rendered message reaches WeCom through the robot."""

    def _spend(self, token: str) -> bool:
        """Mark a single-use token used; False if it already was."""
        if not token or token in self.used:
            return False
        self.used.put(token, True)
        return True

    def _fresh(self, reply_to: dict[str, Any], window: float) -> bool:
        try:
            return self.epoch() - float(reply_to.get("at") or 0) <= window
        except (TypeError, ValueError):
            return False

    async def _ws_request(self, cmd: str, req_id: str, body: dict[str, Any]) -> None:
        assert self.ws is not None
        try:
            await self.ws.request(cmd, req_id, body)
        except NotConnected as exc:
            raise ConnectionDown(str(exc)) from exc
        except TimeoutError as exc:
            raise TransientError(f"WeCom did not acknowledge {cmd} within {self.ws.ack_timeout:.0f} s") from exc

    async def _ws_post(self, delivery: Delivery, rendered: Rendered, reply_to: dict[str, Any]) -> None:
        reply_to = self._answerable(delivery, reply_to, "ws")
        kind, req_id = reply_to.get("kind"), str(reply_to.get("req_id") or "")
        if reply_to.get("via") == "ws" and req_id and kind in ("msg", "welcome"):
            window = REPLY_WINDOW if kind == "msg" else WELCOME_WINDOW
            if self._fresh(reply_to, window) and self._spend(req_id):
                if kind == "msg":
                    cmd = RESPOND
                    body = stream_body(rendered.payload, uuid.uuid4().hex) if rendered.msgtype == "markdown" else rendered.body()
                else:
                    cmd = RESPOND_WELCOME
                    body = {"msgtype": "text", "text": {"content": plain(rendered.payload)}} if rendered.msgtype == "markdown" else rendered.body()
                try:
                    await self.ws.request(cmd, req_id, body)  # type: ignore[union-attr]
                    return
                except NotConnected as exc:
                    self.used.pop(req_id, None)  # nothing left: the retry may still answer by req_id
                    raise ConnectionDown(str(exc)) from exc
                except TimeoutError as exc:
                    raise TransientError(f"WeCom did not acknowledge {cmd}") from exc
                except WeComAPIError as exc:
                    error = classify(exc)
                    if isinstance(error, RateLimited | TransientError):
                        # a frequency limit or "busy" is about the chat, not the req_id: sending the same
                        # message anew at once would go out during the limit; wait, and answer by req_id then
                        self.used.pop(req_id, None)
                        raise error from exc
                    log.info("WeCom refused the answer by req_id (%s); sending it as a new message", exc)
        await self._ws_send(delivery, rendered)

    async def _ws_send(self, delivery: Delivery, rendered: Rendered) -> None:
        chatid = delivery.conversation.id
        try:
            await self._ws_request(SEND, new_req_id(SEND), {"chatid": chatid, **rendered.body()})
        except WeComAPIError as exc:
            error = classify(exc)
            if rendered.msgtype != "template_card" or isinstance(error, TransientError | RateLimited):
                raise error from exc
            log.warning("WeCom refused a template card (%s); sending it as markdown", exc)
            fallback = Rendered("markdown", card_markdown(delivery.content, locale=delivery.locale, mentions=delivery.mentions))  # type: ignore[arg-type]
            try:
                await self._ws_request(SEND, new_req_id(SEND), {"chatid": chatid, **fallback.body()})
            except WeComAPIError as again:
                raise classify(again) from again

    async def _api_post(self, delivery: Delivery, rendered: Rendered, reply_to: dict[str, Any]) -> None:
        if reply_to.get("kind") != "card":
            answer = self._answerable(delivery, reply_to, "api")
            reply_to = {**answer, "response_url": reply_to.get("response_url") or ""} if answer is not reply_to else reply_to
        kind, req_id = reply_to.get("kind"), str(reply_to.get("req_id") or "")
        if reply_to.get("via") == "api":
            slot = self.slots.get(req_id)
            if slot is not None and not slot.done() and kind in ("msg", "welcome") and self._spend(req_id):
                if kind == "welcome" and rendered.msgtype == "markdown":
                    slot.set_result({"msgtype": "text", "text": {"content": plain(rendered.payload)}})
                elif rendered.msgtype == "markdown":
                    slot.set_result(stream_body(rendered.payload, uuid.uuid4().hex))
                else:
                    slot.set_result(rendered.body())
                return
            url = str(reply_to.get("response_url") or "")
            if url and self._fresh(reply_to, RESPONSE_URL_WINDOW) and self._spend(url):
                await self._response_url(url, delivery, rendered, single=bool(reply_to.get("single")))
                return
        if self.app is not None and delivery.conversation.is_direct:
            await self._app_post(delivery, task_id_for(delivery))
            return
        raise PermanentError(
            "in WeCom API mode the robot can only answer a member's message or click (once, within an hour); "
            "use mode = \"long_connection\" for messages the bot starts, or a self-built app for personal ones"
        )

    async def _response_url(self, url: str, delivery: Delivery, rendered: Rendered, *, single: bool) -> None:
        """The robot's one active reply to a callback (markdown; a template card only in a single chat)."""
        assert self.session is not None
        if rendered.msgtype == "template_card" and not single:
            content = delivery.content
            rendered = Rendered("markdown", card_markdown(content, locale=delivery.locale, mentions=delivery.mentions) if isinstance(content, Card) else rendered.payload)
        try:
            async with self.session.post(url, json=rendered.body(), timeout=aiohttp.ClientTimeout(total=10)) as response:
                if response.status >= 500:
                    raise TransientError(f"response_url: HTTP {response.status}", status=response.status)
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"response_url: {exc}") from exc
        errcode = int((data or {}).get("errcode") or 0) if isinstance(data, dict) else 0
        if errcode:
            raise classify(WeComAPIError(errcode, str(data.get("errmsg", ""))))
