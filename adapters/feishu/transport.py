"""Feishu / Lark as a platform: events over the long connection (default) or HTTP, the OpenAPI out.

Inbound: each event (``longconn`` or ``callbacks``) is read by ``inbound``, its sender named
through the contact API (``names.py``: name and e-mail, so the directory can match a person by
e-mail), and dispatched — one at a time per conversation. The engine dedupes on the event id, so
an event Feishu delivers again is handled once.

A card click waits (at most ``CLICK_DEADLINE``, inside Feishu's three seconds) for the delivery
of what it decided: when that includes the new content of the clicked card, it becomes the
callback's answer (``{"card": {"type": "raw", "data": …}}``) and Feishu changes the card in place
for everyone at once. Every other copy, and any later change, goes through ``PATCH
/open-apis/im/v1/messages/{id}``.

Outbound (``deliver``): a card is an ``interactive`` message (card JSON 2.0), a text a ``post``,
a chart an uploaded image then an ``image`` message, an export an uploaded file then a ``file``
message (its caption as a text before it). Groups get ``receive_id_type=chat_id``, people
``open_id``. Each send carries a ``uuid`` made from the outbox row, so a retried send is not shown
twice.

Pacing (``pace``): Feishu allows a bot 5 messages a second in one chat (or to one person), 5
updates a second of one message, and 50 calls a second (1000 a minute) per app for sending; each
is a sliding window shared by every process (``bot/pacing.py``). A 429 / 99991400 answer holds
the row for the wait Feishu names (``x-ogw-ratelimit-reset``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import OperationalError

from adapters.keyed_locks import KeyedLocks
from bot.config import Config, FeishuSection, secret_text
from bot.errors import MalformedPayload, PlatformError
from bot.platform import Capabilities, Delivery, Pace, Receipt, Runtime
from bot.types import Card, Event, EventKind, FileContent, Text
from storage import outbox as outbox_store
from storage.nonces import SharedNonces

from . import inbound, render
from .names import Names
from .openapi import OpenApi

if TYPE_CHECKING:
    from aiohttp import web

    from .longconn import LongConnection

log = logging.getLogger("collabbot.feishu")

CLICK_DEADLINE = 2.5  # seconds a click waits for its card's new content (Feishu waits three)
CLICK_POLL = 0.05
CHAT_PER_SECOND = 5
MESSAGE_UPDATES_PER_SECOND = 5
APP_SENDS = ((50, 1.0, "s"), (1000, 60.0, "m"))
# what ``im/v1/images`` and ``im/v1/files`` take (larger: error 234006)
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_FILE_BYTES = 30 * 1024 * 1024
FILE_TYPES = {"pdf": "pdf", "doc": "doc", "docx": "doc", "xls": "xls", "xlsx": "xls", "ppt": "ppt", "pptx": "ppt", "mp4": "mp4", "opus": "opus"}


class FeishuPlatform:
    """One self-built Feishu (or Lark) app with its bot."""

    name = inbound.PLATFORM
    capabilities = Capabilities(cards=True, card_update=True, forms=True, ephemeral=False, direct_messages=True, threads=False, markdown=True)

    def __init__(self, section: FeishuSection, *, default_locale: str = "zh_CN"):
        self.section = section
        self.default_locale = default_locale
        self.runtime: Runtime | None = None
        self.api = OpenApi(section.api_url, section.app_id, secret_text(section.app_secret), now=self.epoch, timeout=section.timeout)
        self.names = Names(self.api, enabled=section.lookup_users, now=self.epoch)
        self.ws: LongConnection | None = None
        self.nonces: SharedNonces | None = SharedNonces("feishu:http", 2 * section.max_age_seconds) if section.mode == "http" else None
        self.bot_open_id: str | None = None
        self._learning: asyncio.Task[None] | None = None
        self.slots: dict[str, asyncio.Future[dict[str, Any]]] = {}  # clicked message id → its new card
        self._serial = KeyedLocks().hold  # one event of a conversation at a time
        self._flushes: set[asyncio.Future[None]] = set()  # deliveries a click started and left running
        self.handled = 0

    # -- lifecycle -------------------------------------------------------------

    def epoch(self) -> float:
        """Now in epoch seconds, by the bot's clock (the ManualClock in tests)."""
        return self.runtime.clock.now().timestamp() if self.runtime is not None else time.time()

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._learning = asyncio.create_task(self._learn_bot_open_id())
        if self.section.mode == "long_connection":
            from .longconn import LongConnection

            self.ws = LongConnection(
                self.section.api_url,
                self.section.app_id,
                secret_text(self.section.app_secret),
                self.on_ws_event,
                reconnect_max=self.section.reconnect_max_seconds,
                timeout=self.section.timeout,
            )
            await self.ws.start()
        elif runtime.web is not None:
            runtime.web.router.add_post(self.section.events_path, self._http_callback)
        else:
            log.error("feishu: http mode needs the bot's HTTP server; no event callback is mounted")

    async def _learn_bot_open_id(self) -> None:
        """The bot's own open_id, to tell its @-mention from the others (until then: the leading mention)."""
        try:
            self.bot_open_id = await self.api.bot_open_id() or None
        except PlatformError as exc:
            log.warning("feishu: the bot's own open_id could not be read (%s)", exc)

    def connected(self) -> bool | None:
        """The long connection is up (``/readyz``, metrics); None in http mode."""
        return None if self.ws is None else self.ws.ready.is_set()

    async def stop(self) -> None:
        if self._learning is not None and not self._learning.done():
            self._learning.cancel()
        if self.ws is not None:
            await self.ws.stop()
        for slot in self.slots.values():
            slot.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.idle(), timeout=3)
        await self.api.close()

    # -- inbound ---------------------------------------------------------------

    async def _http_callback(self, request: web.Request) -> web.Response:
        from .callbacks import http_callback

        return await http_callback(self, request)

    async def on_ws_event(self, payload: bytes) -> dict[str, Any] | None:
        """One event frame of the long connection → the frame's answer. A malformed one is acked and logged."""
        try:
            body = json.loads(payload)
            found = inbound.envelope(body if isinstance(body, dict) else {})
            return await self.handle(found)
        except (MalformedPayload, ValueError) as exc:
            log.warning("feishu: refused a malformed long-connection event: %s", getattr(exc, "reason", exc))
            return None

    async def handle(self, found: inbound.Envelope) -> dict[str, Any] | None:
        """An event (from either way in) → dispatched; a card action's answer is the card's new content."""
        started = time.monotonic()
        event = inbound.to_event(found, bot_open_id=self.bot_open_id)
        if event is None or self.runtime is None:
            return None
        event = await self.names.fill(event)
        conversation = event.conversation.id if event.conversation else ""
        clicked = str(event.reply_to.get("message_id") or "") if event.kind in (EventKind.ACTION, EventKind.FORM) else ""
        slot: asyncio.Future[dict[str, Any]] | None = None
        if clicked:
            slot = asyncio.get_running_loop().create_future()
            self.slots[clicked] = slot
        try:
            async with self._serial(conversation):
                try:
                    result = await self.runtime.dispatch(event)
                except OperationalError:
                    log.exception("feishu: the database is unavailable; event %s not handled", event.delivery_id)
                    raise
            self.handled += 1
            if slot is None:
                return None
            if not result.duplicate and not slot.done():
                await self._await_card(slot, CLICK_DEADLINE - (time.monotonic() - started), result.outbox_ids)
        finally:
            if clicked:
                self.slots.pop(clicked, None)
        if slot.done() and not slot.cancelled():
            return {"card": {"type": "raw", "data": slot.result()}}
        slot.cancel()
        return {}

    async def _await_card(self, slot: asyncio.Future[dict[str, Any]], seconds: float, outbox_ids: list[int]) -> None:
        """Deliver what the click produced now; the clicked card's update fills ``slot`` (see ``_edit``).

        Another worker may have claimed the rows: while one of them is unsent, keep waiting for
        the slot (that worker fills the same slot) and flush again.
        """
        delivery = getattr(self.runtime, "delivery", None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not slot.done() and loop.time() < deadline:
            if delivery is None:
                await asyncio.wait({slot}, timeout=max(0.0, deadline - loop.time()))
                return
            flush = asyncio.ensure_future(delivery.flush(self.name))
            done, _ = await asyncio.wait({slot, flush}, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED)
            if flush not in done:  # the rest of the click's rows go on being delivered
                self._flushes.add(flush)
                flush.add_done_callback(self._flush_done)
                return
            flush.result()
            if slot.done() or not await outbox_store.unsent(outbox_ids):
                return
            await asyncio.wait({slot}, timeout=min(CLICK_POLL, max(0.0, deadline - loop.time())))

    def _flush_done(self, flush: asyncio.Future[None]) -> None:
        self._flushes.discard(flush)
        if not flush.cancelled() and flush.exception() is not None:
            log.warning("feishu: delivering after a click failed: %s", flush.exception())

    async def idle(self) -> None:
        """Wait for the deliveries that clicks started and left running (tests, shutdown)."""
        while self._flushes:
            await asyncio.wait(set(self._flushes))

    # -- pacing ----------------------------------------------------------------

    def _receiver(self, delivery: Delivery) -> tuple[str, str]:
        if delivery.conversation.is_direct:
            return "open_id", delivery.recipient or delivery.conversation.id
        return "chat_id", delivery.conversation.id

    def _answers_click(self, delivery: Delivery) -> bool:
        slot = self.slots.get(delivery.message_ref or "")
        return delivery.kind == "edit" and slot is not None and not slot.done()

    def pace(self, delivery: Delivery) -> list[Pace]:
        if self._answers_click(delivery):
            return []  # it is the click's answer, due within seconds: no message is sent
        if delivery.kind == "edit" and delivery.message_ref:
            return [Pace(f"feishu:message:{delivery.message_ref}", MESSAGE_UPDATES_PER_SECOND, 1.0)]
        kind, receiver = self._receiver(delivery)
        paces = [Pace(f"feishu:{kind}:{receiver}", self.section.messages_per_second, 1.0)]
        paces += [Pace(f"feishu:app:{self.section.app_id}:{tag}", limit, per) for limit, per, tag in APP_SENDS]
        return paces

    # -- outbound --------------------------------------------------------------

    def uuid(self, delivery: Delivery, part: str = "") -> str:
        digest = hashlib.sha1(f"{self.section.app_id}|{delivery.dedupe_key}|{delivery.outbox_id}|{part}".encode()).hexdigest()
        return digest[:40]

    def _card(self, delivery: Delivery, card: Card) -> dict[str, Any]:
        return render.card(card, delivery.mentions, delivery.locale, direct=delivery.conversation.is_direct)

    async def deliver(self, delivery: Delivery) -> Receipt:
        content = delivery.content
        if isinstance(content, FileContent):
            return await self._file(delivery, content)
        if delivery.kind == "edit" and isinstance(content, Card):
            return await self._edit(delivery, content)
        return Receipt(await self._send(delivery, content))

    async def _send(self, delivery: Delivery, content: Card | Text, part: str = "") -> str:
        kind, receiver = self._receiver(delivery)
        if isinstance(content, Card):
            msg_type, body = "interactive", self._card(delivery, content)
        else:
            private = content.ephemeral and not delivery.conversation.is_direct and delivery.recipient
            msg_type, body = "post", render.text_post(content, delivery.mentions, also_at=delivery.recipient if private else None)
        return await self.api.send(kind, receiver, msg_type, render.content_json(body), self.uuid(delivery, part))

    async def _edit(self, delivery: Delivery, card: Card) -> Receipt:
        ref = delivery.message_ref
        body = self._card(delivery, card)
        slot = self.slots.get(ref or "")
        if slot is not None and not slot.done():
            slot.set_result(body)  # the click's callback answers with it: the card changes in place at once
            return Receipt(ref)
        if not ref:
            return Receipt(await self._send(dataclasses.replace(delivery, kind="post"), card))
        await self.api.patch(ref, render.content_json(body))
        return Receipt(ref)

    async def _file(self, delivery: Delivery, file: FileContent) -> Receipt:
        kind, receiver = self._receiver(delivery)
        instead = file.in_place_of_oversize(MAX_IMAGE_BYTES if file.is_image else MAX_FILE_BYTES)
        if instead is not None:  # larger than Feishu's upload takes: say where to get it
            return Receipt(await self._send(delivery, instead, "oversize"))
        if file.caption:  # what it is, then the file (a retry sends neither twice: each has its uuid)
            await self._send(delivery, Text(file.caption, mentions=file.mentions), "caption")
        if file.is_image:
            key = await self.api.upload_image(file.data, file.filename)
            sent = await self.api.send(kind, receiver, "image", render.content_json({"image_key": key}), self.uuid(delivery, "image"))
        else:
            suffix = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else ""
            key = await self.api.upload_file(file.data, file.filename, FILE_TYPES.get(suffix, "stream"))
            sent = await self.api.send(kind, receiver, "file", render.content_json({"file_key": key}), self.uuid(delivery, "file"))
        return Receipt(sent)


def build(config: Config) -> FeishuPlatform | None:
    """The Feishu platform, or None when ``[feishu]`` is absent or disabled."""
    section = config.feishu
    if section is None or not section.enabled:
        return None
    return FeishuPlatform(section, default_locale=config.bot.locale)


__all__ = ["Event", "FeishuPlatform", "build"]
