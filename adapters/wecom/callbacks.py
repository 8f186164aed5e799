"""The HTTP callback server: the robot's JSON callback (API mode) and the self-built app's XML callback,
verified and decrypted (``crypto``), dispatched, and answered — in API mode with the encrypted passive reply
that must be in the same HTTP answer (``_await_passive``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web
from tortoise.exceptions import OperationalError

from bot.errors import MalformedPayload
from storage import outbox as outbox_store

from . import inbound as parse
from .common import MAX_BODY, PASSIVE_DEADLINE, PASSIVE_POLL, WeComState
from .crypto import WeComCrypto, WeComCryptoError

log = logging.getLogger("collabbot.wecom")


class CallbackServer(WeComState):
    """Mounted by ``WeComPlatform.start`` on the bot's aiohttp server."""

    async def _read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
        return raw

    @staticmethod
    def _params(request: web.Request, *names: str) -> list[str]:
        missing = [n for n in names if not request.query.get(n)]
        if missing:
            raise web.HTTPBadRequest(text=f"missing query parameter(s): {', '.join(missing)}")
        return [request.query[n] for n in names]

    @staticmethod
    def _refused(exc: WeComCryptoError, where: str) -> web.Response:
        log.warning("refused a WeCom %s callback: %s", where, exc)
        return web.Response(status=403, text=f"refused: {exc}")

    async def _verify(self, request: web.Request, crypto: WeComCrypto, where: str) -> web.Response:
        signature, timestamp, nonce, echostr = self._params(request, "msg_signature", "timestamp", "nonce", "echostr")
        try:
            plaintext = await crypto.open_once(signature, timestamp, nonce, echostr)
        except WeComCryptoError as exc:
            return self._refused(exc, where)
        return web.Response(text=plaintext, content_type="text/plain")

    async def _robot_verify(self, request: web.Request) -> web.Response:
        assert self.crypto is not None
        return await self._verify(request, self.crypto, "robot")

    async def _app_verify(self, request: web.Request) -> web.Response:
        assert self.app_crypto is not None
        return await self._verify(request, self.app_crypto, "app")

    async def _robot_callback(self, request: web.Request) -> web.Response:
        assert self.crypto is not None and self.runtime is not None
        started = time.monotonic()
        signature, timestamp, nonce = self._params(request, "msg_signature", "timestamp", "nonce")
        raw = await self._read_body(request)
        try:
            envelope = json.loads(raw)
            encrypted = envelope["encrypt"]
            if not isinstance(encrypted, str):
                raise TypeError("encrypt is not a string")
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text='the body must be JSON {"encrypt": "…"}')
        try:
            body = json.loads(await self.crypto.open_once(signature, timestamp, nonce, str(encrypted)))
        except WeComCryptoError as exc:
            return self._refused(exc, "robot")
        except ValueError:
            return web.Response(status=400, text="the decrypted callback is not JSON")
        if not isinstance(body, dict):
            return web.Response(status=400, text="the decrypted callback is not a JSON object")
        req_id = f"api-{uuid.uuid4().hex}"
        try:
            item = parse.robot_callback(body, req_id=req_id, received_at=self.epoch(), via="api", bot_name=self.section.bot_name, welcome_text=self.welcome_text)
        except MalformedPayload as exc:
            log.warning("refused a malformed WeCom robot callback: %s", exc.reason)
            return web.Response(status=400, text=f"malformed payload: {exc.reason}")
        if item.event is None:
            return web.Response(text="")
        if item.kind == "card":
            self._remember_click(item, "api", response_url=str(item.event.reply_to.get("response_url") or ""))
        elif item.kind == "msg":
            self._remember_message(item, "api")
        slot: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.slots[req_id] = slot
        try:
            try:
                result = await self._dispatch(item)
            except OperationalError:
                log.exception("the database is unavailable: answering 503 so WeCom retries")
                return web.Response(status=503, text="temporarily unavailable")
            if not result.duplicate and not slot.done():
                await self._await_passive(slot, PASSIVE_DEADLINE - (time.monotonic() - started), result.outbox_ids)
        finally:
            self.slots.pop(req_id, None)
        if not slot.done() or slot.cancelled():
            slot.cancel()
            return web.Response(text="")
        sealed = self.crypto.seal(json.dumps(slot.result(), ensure_ascii=False), nonce)
        return web.json_response(sealed)

    async def _await_passive(self, slot: asyncio.Future[dict[str, Any]], seconds: float, outbox_ids: list[int]) -> None:
        """Deliver what the event produced now: the passive reply must be in this HTTP answer.

        The background delivery worker (of this process or another) may have claimed the event's
        rows first; then our own flush finds nothing to send. As long as one of the event's rows is
        unsent we keep waiting for the slot — that worker fills the same slot — and flush again.
        """
        delivery = getattr(self.runtime, "delivery", None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not slot.done() and loop.time() < deadline:
            if delivery is None:
                await asyncio.wait({slot}, timeout=deadline - loop.time())
                return
            flush = asyncio.ensure_future(delivery.flush(self.name))
            done, _ = await asyncio.wait({slot, flush}, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED)
            if flush not in done:
                flush.add_done_callback(lambda f: f.cancelled() or f.exception())
                return  # the slot was filled, or the deadline passed mid-flush
            flush.result()
            if slot.done() or not await outbox_store.unsent(outbox_ids):
                return  # everything this event queued was delivered, and none of it was this callback's answer
            await asyncio.wait({slot}, timeout=min(PASSIVE_POLL, max(0.0, deadline - loop.time())))

    async def _app_callback(self, request: web.Request) -> web.Response:
        assert self.app_crypto is not None
        signature, timestamp, nonce = self._params(request, "msg_signature", "timestamp", "nonce")
        raw = await self._read_body(request)
        try:
            envelope = parse.parse_xml(raw.decode())
            encrypted = envelope["Encrypt"]
        except (ValueError, KeyError, UnicodeDecodeError):
            return web.Response(status=400, text="the body must be WeCom XML with an <Encrypt> element")
        try:
            data = parse.parse_xml(await self.app_crypto.open_once(signature, timestamp, nonce, encrypted))
        except WeComCryptoError as exc:
            return self._refused(exc, "app")
        except ValueError:
            return web.Response(status=400, text="the decrypted callback is not XML")
        try:
            item = parse.app_callback(data, received_at=self.epoch())
        except MalformedPayload as exc:
            log.warning("refused a malformed WeCom app callback: %s", exc.reason)
            return web.Response(status=400, text=f"malformed payload: {exc.reason}")
        if item.event is None:
            return web.Response(text="")
        if item.kind == "card":
            self._remember_click(item, "app", response_code=str(item.extras.get("response_code") or ""))
        try:
            await self._dispatch(item)
        except OperationalError:
            log.exception("the database is unavailable: answering 503 so WeCom retries")
            return web.Response(status=503, text="temporarily unavailable")
        return web.Response(text="")
