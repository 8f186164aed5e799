"""WeCom as a platform: the intelligent robot (long connection or HTTPS callback) and an optional self-built app.

Inbound:

- **long connection** (default, no public URL): ``aibot_msg_callback`` (group
  @-mentions, single chats) and ``aibot_event_callback`` (card clicks, ``enter_chat``)
  frames are parsed by ``inbound`` and dispatched, one at a time per conversation;
- **API mode**: the robot's JSON callback ``{"encrypt": …}`` at ``callback_path`` on the
  bot's own aiohttp server (URL verification, signature, age, nonce and receive id
  checked by ``crypto``), answered with the encrypted passive reply;
- a self-built app's XML callback at ``app_callback_path`` (receive id = corp id), when
  ``app_token`` is set.

Outbound (``deliver``):

- an answer to a member's message reuses the callback's ``req_id``
  (``aibot_respond_msg``; for ``enter_chat``, ``aibot_respond_welcome_msg``);
  everything else is ``aibot_send_msg`` to the group ``chatid`` or the member's userid;
- a card update after a click is ``aibot_respond_update_msg`` with the click's
  ``req_id`` and ``task_id``. WeCom accepts it only within 5 seconds of the click, so
  clicks are remembered in memory (by the card's task id) and such an update is never
  paced. A copy nobody clicked, or one whose window has passed, cannot be edited by a
  robot: the new content is posted as a new copy;
- personal messages go through the self-built app when ``direct_messages = "app"``
  (``message/send``; updates with the single-use ``response_code``).

Pacing: WeCom silently drops what an app sends a member beyond 30 a minute and 1000
an hour, so every member and group has two token buckets sized so that no 60-second
(or 3600-second) window can exceed those numbers, bursts included.

The platform is split by job: this module (lifecycle, inbound frames, pacing, routing a delivery),
``callbacks.py`` (the HTTP callback server), ``replies.py`` (answers by ``req_id``, passive replies,
``response_url``, new robot messages), ``sender.py`` (the self-built app) and ``common.py`` (what they share).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from typing import Any

import aiohttp
from tortoise.exceptions import OperationalError

from adapters.keyed_locks import KeyedLocks
from bot.config import Config, WeComSection, secret_text
from bot.errors import MalformedPayload, PermanentError
from bot.platform import Capabilities, Delivery, Pace, Receipt, Runtime
from bot.types import Card, FileContent, Text
from storage.nonces import SharedNonces

from . import inbound as parse
from .callbacks import CallbackServer
from .client import AppClient, WeComAPIError
from .common import (
    GROUP_PACES,
    MEMBER_PACES,
    REPLY_WINDOW,
    UPDATE_WINDOW,
    Bounded,
    Click,
    ConnectionDown,
    task_base,
    task_id_for,
)
from .crypto import MAX_AGE_SECONDS, WeComCrypto
from .longconn import RESPOND_UPDATE, LongConnection
from .render import (
    APP_MARKDOWN_BYTES,
    CannotRender,
    Rendered,
    RenderOptions,
    render,
    template_card,
)
from .replies import PassiveReplies
from .sender import AppSender

log = logging.getLogger("collabbot.wecom")

__all__ = ["Click", "ConnectionDown", "WeComPlatform", "build", "task_base", "task_id_for"]


class WeComPlatform(CallbackServer, PassiveReplies, AppSender):
    capabilities = Capabilities(cards=True, card_update=True, forms=False, ephemeral=False, direct_messages=True, threads=False, markdown=True)

    def __init__(self, section: WeComSection, *, name: str = parse.PLATFORM, locale: str = "zh_CN", source: str = "collabbot"):
        self.name = name
        self.section = section
        self.mode = section.mode
        self.welcome_text = "帮助" if locale.startswith("zh") else "help"
        self.options = RenderOptions(source=source, card_url=section.card_url)
        self.app_options = dataclasses.replace(self.options, markdown_bytes=APP_MARKDOWN_BYTES)
        self.runtime: Runtime | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: LongConnection | None = None
        self.app: AppClient | None = None
        self.crypto: WeComCrypto | None = None
        self.app_crypto: WeComCrypto | None = None
        if section.mode == "api":
            assert section.token and section.encoding_aes_key
            self.crypto = WeComCrypto(secret_text(section.token), secret_text(section.encoding_aes_key), "", now=self.epoch, shared=SharedNonces("wecom:robot", 2 * MAX_AGE_SECONDS))
        if section.app_token and section.app_encoding_aes_key and section.corp_id:
            self.app_crypto = WeComCrypto(secret_text(section.app_token), secret_text(section.app_encoding_aes_key), section.corp_id, now=self.epoch, shared=SharedNonces("wecom:app", 2 * MAX_AGE_SECONDS))
        self.clicks: Bounded = Bounded(10_000)  # task base → Click
        self.used: Bounded = Bounded(50_000)  # req_ids, response_urls and response_codes already spent
        self.slots: dict[str, asyncio.Future[dict[str, Any]]] = {}  # API mode: req_id → passive reply
        self._serial = KeyedLocks().hold  # one event of a conversation at a time
        # conversation → messages not yet answered by req_id: [(via, req_id, received at)]
        self.unanswered: dict[str, list[tuple[str, str, float]]] = {}

    # -- lifecycle ---------------------------------------------------------

    def epoch(self) -> float:
        """Now, in epoch seconds, by the bot's clock (the ManualClock in tests)."""
        return self.runtime.clock.now().timestamp() if self.runtime is not None else time.time()

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.session = aiohttp.ClientSession()
        section = self.section
        if section.corp_id and section.corp_secret and section.agent_id:
            self.app = AppClient(
                self.session,
                base_url=section.api_url,
                corp_id=section.corp_id,
                corp_secret=secret_text(section.corp_secret),
                agent_id=section.agent_id,
                now=self.epoch,
            )
        if self.mode == "long_connection":
            assert section.bot_id and section.secret
            self.ws = LongConnection(
                section.ws_url,
                section.bot_id,
                secret_text(section.secret),
                self._on_frame,
                heartbeat=section.heartbeat_seconds,
                reconnect_base=min(1.0, section.reconnect_max_seconds),
                reconnect_max=section.reconnect_max_seconds,
            )
            await self.ws.start()
        if runtime.web is not None:
            if self.crypto is not None:
                runtime.web.router.add_get(section.callback_path, self._robot_verify)
                runtime.web.router.add_post(section.callback_path, self._robot_callback)
            if self.app_crypto is not None:
                runtime.web.router.add_get(section.app_callback_path, self._app_verify)
                runtime.web.router.add_post(section.app_callback_path, self._app_callback)
        elif self.crypto is not None:
            log.error("WeCom API mode needs the bot's HTTP server; no callback is mounted")

    def connected(self) -> bool | None:
        """The long connection is up (``/readyz``, metrics); None in API mode, and while another process holds
        the robot's one connection (this one stands by, see ``LongConnection.taken_over``)."""
        if self.ws is None:
            return None
        if self.ws.ready.is_set():
            return True
        return None if self.ws.next_delay is not None and self.ws.takeovers and self.ws.failures == 0 else False

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.stop()
        for slot in self.slots.values():
            slot.cancel()
        if self.session is not None:
            await self.session.close()

    # -- inbound -----------------------------------------------------------

    def _remember_click(self, item: parse.Inbound, via: str, *, response_code: str = "", response_url: str = "") -> None:
        if not item.task_id:
            return
        click = Click(
            via=via,
            task_id=item.task_id,
            at=self.epoch(),
            userid=item.actor or "",
            req_id=item.req_id,
            response_code=response_code,
            response_url=response_url,
        )
        self.clicks.put(task_base(item.task_id), click)

    def _remember_message(self, item: parse.Inbound, via: str) -> None:
        """A member's message that WeCom waits to see answered (it keeps at most three open per member)."""
        conversation = item.event.conversation if item.event else None
        if conversation is None or not item.req_id:
            return
        now = self.epoch()
        waiting = [w for w in self.unanswered.get(conversation.id, []) if now - w[2] <= REPLY_WINDOW and w[1] not in self.used]
        self.unanswered[conversation.id] = [*waiting[-9:], (via, item.req_id, now)]
        if len(self.unanswered) > 10_000:
            self.unanswered.pop(next(iter(self.unanswered)))

    def _answerable(self, delivery: Delivery, reply_to: dict[str, Any], via: str) -> dict[str, Any]:
        """``reply_to`` if it can be answered by req_id, else the oldest unanswered message in the same conversation.

        A command's result often goes to the group as a new message (``ToCollaboration``) rather
        than as a reply: it still answers the member's message there, which WeCom waits for.
        """
        if reply_to.get("via") == via and reply_to.get("kind") in ("msg", "welcome") and str(reply_to.get("req_id") or "") not in self.used:
            return reply_to
        now = self.epoch()
        waiting = [w for w in self.unanswered.get(delivery.conversation.id, []) if now - w[2] <= REPLY_WINDOW and w[1] not in self.used]
        self.unanswered[delivery.conversation.id] = waiting
        for w_via, req_id, at in waiting:
            if w_via == via:
                return {"via": via, "kind": "msg", "req_id": req_id, "at": at}
        return reply_to

    async def _dispatch(self, item: parse.Inbound) -> Any:
        event = item.event
        assert event is not None and self.runtime is not None
        conversation = event.conversation.id if event.conversation else ""
        async with self._serial(conversation):
            return await self.runtime.dispatch(event)

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        body = frame.get("body")
        headers = frame.get("headers")
        req_id = str(headers.get("req_id") or "") if isinstance(headers, dict) else ""
        try:
            if not isinstance(body, dict):
                raise MalformedPayload("the frame's body is not an object")
            item = parse.robot_callback(body, req_id=req_id, received_at=self.epoch(), via="ws", bot_name=self.section.bot_name, welcome_text=self.welcome_text)
        except MalformedPayload as exc:  # nothing to answer: WeCom does not push a frame twice for want of a reply
            log.warning("refused a malformed WeCom long-connection callback %s: %s", req_id, exc.reason)
            return
        if item.kind == "disconnected":
            log.info("WeCom moved the robot's connection to another process; this one stands by (longconn backs off)")
            return
        if item.event is None:
            return
        if item.kind == "card":
            self._remember_click(item, "ws")
        elif item.kind == "msg":
            self._remember_message(item, "ws")
        try:
            await self._dispatch(item)
        except OperationalError:
            log.exception("the database is unavailable: a WeCom callback (%s) was not handled", item.event.delivery_id)

    # -- pacing ------------------------------------------------------------

    def _live_click(self, message_ref: str | None) -> Click | None:
        if not message_ref:
            return None
        ref = message_ref
        if ref.startswith(parse.APP_PREFIX):
            ref = ref[len(parse.APP_PREFIX) :].split(":", 1)[0]
        click = self.clicks.get(task_base(ref))
        if click is None or click.used or self.epoch() - click.at > UPDATE_WINDOW:
            return None
        return click

    def pace(self, delivery: Delivery) -> list[Pace]:
        if delivery.kind == "edit" and self._live_click(delivery.message_ref) is not None:
            return []  # the in-place update must leave within seconds; it is not a new message
        conversation = delivery.conversation
        if conversation.is_direct:
            member = delivery.recipient or conversation.id.removeprefix(parse.APP_PREFIX)
            return [Pace(f"{self.name}:member:{member}:{tag}", limit, per) for limit, per, tag in MEMBER_PACES]
        return [Pace(f"{self.name}:chat:{conversation.id}:{tag}", limit, per) for limit, per, tag in GROUP_PACES]

    # -- outbound ----------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> Receipt:
        if delivery.kind == "edit":
            return await self._edit(delivery)
        return await self._post(delivery, task_id_for(delivery))

    def _via_app(self, delivery: Delivery) -> bool:
        conversation = delivery.conversation
        if not conversation.is_direct:
            return False
        if conversation.id.startswith(parse.APP_PREFIX) or self.section.direct_messages == "app":
            if self.app is None:
                raise PermanentError("this message goes through the WeCom self-built app, but corp_id, corp_secret and agent_id are not set")
            return True
        return False

    def _render(self, delivery: Delivery, task_id: str, options: RenderOptions | None = None) -> Rendered:
        content = delivery.content
        assert not isinstance(content, FileContent), "a file is sent by _app_file or turned into text by _post"
        private = isinstance(content, Text) and content.ephemeral and not delivery.conversation.is_direct
        return render(
            content,
            task_id=task_id,
            locale=delivery.locale,
            mentions=delivery.mentions,
            at=delivery.recipient if private else None,
            options=options or self.options,
        )

    async def _post(self, delivery: Delivery, task_id: str, *, reply_to: dict[str, Any] | None = None) -> Receipt:
        ref = task_id if isinstance(delivery.content, Card) else None
        if isinstance(delivery.content, FileContent):
            if self._via_app(delivery):
                return await self._app_file(delivery, delivery.content)
            # The robot (long connection and API mode) answers with text and cards only: say where the file is.
            file = delivery.content
            delivery = dataclasses.replace(delivery, content=Text(file.fallback or file.caption or file.filename, mentions=file.mentions))
        if self._via_app(delivery):
            return await self._app_post(delivery, task_id)
        rendered = self._render(delivery, task_id)
        if reply_to is None:
            reply_to = delivery.reply_to or {}
        if self.mode == "long_connection":
            await self._ws_post(delivery, rendered, reply_to)
        else:
            await self._api_post(delivery, rendered, reply_to)
        return Receipt(ref)

    # -- card updates -------------------------------------------------------

    async def _edit(self, delivery: Delivery) -> Receipt:
        ref = delivery.message_ref or ""
        if ref.startswith(parse.APP_PREFIX):
            return await self._app_edit(delivery, ref)
        base = task_base(ref)
        click = self._live_click(ref)
        if click is not None and isinstance(delivery.content, Card):
            try:
                card = template_card(delivery.content, task_id=click.task_id, locale=delivery.locale, mentions=delivery.mentions, update=True, options=self.options)
            except CannotRender:
                card = None
            if card is not None:
                body = {"response_type": "update_template_card", "template_card": card}
                click.used = True
                if click.via == "ws":
                    try:
                        await self._ws_request(RESPOND_UPDATE, click.req_id, body)
                        return Receipt(ref)
                    except WeComAPIError as exc:
                        log.info("WeCom refused the card update (%s); posting the new state as a new card", exc)
                elif click.via == "api":
                    slot = self.slots.get(click.req_id)
                    if slot is not None and not slot.done():
                        slot.set_result(body)
                        return Receipt(ref)
        # nobody clicked this copy within the last seconds: a robot cannot edit it any more
        reply_to: dict[str, Any] = {}
        old = self.clicks.get(base)
        if self.mode == "api":
            if old is not None and old.response_url:
                reply_to = {"via": "api", "response_url": old.response_url, "at": old.at, "single": delivery.conversation.is_direct}
            elif not (self.app is not None and delivery.conversation.is_direct):
                log.info("WeCom API mode cannot post the new state of card %s to %s; it stays as it was", base, delivery.conversation.id)
                return Receipt(ref)
        await self._post(dataclasses.replace(delivery, kind="post"), f"{base}-{os.urandom(3).hex()}", reply_to=reply_to)
        return Receipt(ref)



def build(config: Config) -> WeComPlatform | None:
    """The WeCom platform, or None when ``[wecom]`` is absent or disabled."""
    section = config.wecom
    if section is None or not section.enabled:
        return None
    return WeComPlatform(section, locale=config.bot.locale, source=section.bot_name or "collabbot")
