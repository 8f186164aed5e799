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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from tortoise.exceptions import OperationalError

from bot.config import Config, WeComSection, secret_text
from bot.errors import MalformedPayload, PermanentError, RateLimited, TransientError
from bot.platform import Capabilities, Delivery, Pace, Receipt, Runtime
from bot.types import Card, FileContent, Text
from storage import outbox as outbox_store

from . import inbound as parse
from .client import AppClient, WeComAPIError, classify
from .crypto import WeComCrypto, WeComCryptoError
from .longconn import RESPOND, RESPOND_UPDATE, RESPOND_WELCOME, SEND, LongConnection, NotConnected, new_req_id
from .render import (
    APP_MARKDOWN_BYTES,
    CannotRender,
    Rendered,
    RenderOptions,
    card_markdown,
    plain,
    render,
    stream_body,
    template_card,
)

log = logging.getLogger("collabbot.wecom")

UPDATE_WINDOW = 4.5  # seconds after a click in which we still try the in-place update (WeCom allows 5)
WELCOME_WINDOW = 4.5
REPLY_WINDOW = 300.0  # a message's req_id is answered only this long; later answers are sent anew
RESPONSE_URL_WINDOW = 3500.0  # WeCom: a response_url works once, for one hour
PASSIVE_DEADLINE = 4.0  # API mode: seconds we wait for the passive reply before answering empty
PASSIVE_POLL = 0.05  # seconds between looks while another worker holds this callback's rows
MAX_BODY = 1024 * 1024
RECONNECT_RETRY = 5.0  # seconds before a row that met a dropped connection is tried again

# Sliding windows (bot/pacing.py), the whole documented limit: a member gets at most 30 messages from the
# app in any 60 s and 1000 in any hour; a group, like a group robot, 20 in any 60 s.
MEMBER_PACES = ((30, 60.0, "m"), (1000, 3600.0, "h"))
GROUP_PACES = ((20, 60.0, "m"), (1000, 3600.0, "h"))


class ConnectionDown(RateLimited):
    """The long connection is reconnecting: retry soon, without counting an attempt (an outage must not kill rows)."""

    def __init__(self, message: str):
        super().__init__(message, retry_after=RECONNECT_RETRY, status=None)


def task_id_for(delivery: Delivery) -> str:
    """A card's task id: stable for one outbox row (so a resend is refused by WeCom, not shown twice)."""
    digest = hashlib.sha1(f"{delivery.dedupe_key}|{delivery.outbox_id}".encode()).hexdigest()[:22]
    return f"cb{digest}"


def task_base(task_id: str) -> str:
    """The task id of the first copy: later copies posted after an update are ``<base>-<suffix>``."""
    return task_id.split("-", 1)[0]


@dataclass(slots=True)
class Click:
    """A card click we may still answer: by ``req_id`` (robot) or ``response_code`` (app)."""

    via: str
    task_id: str
    at: float
    userid: str
    req_id: str = ""
    response_code: str = ""
    response_url: str = ""
    used: bool = False


class _Bounded(OrderedDict[str, Any]):
    """An insertion-ordered dict that forgets its oldest entries."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class WeComPlatform:
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
            self.crypto = WeComCrypto(secret_text(section.token), secret_text(section.encoding_aes_key), "", now=self.epoch)
        if section.app_token and section.app_encoding_aes_key and section.corp_id:
            self.app_crypto = WeComCrypto(secret_text(section.app_token), secret_text(section.app_encoding_aes_key), section.corp_id, now=self.epoch)
        self.clicks: _Bounded = _Bounded(10_000)  # task base → Click
        self.used: _Bounded = _Bounded(50_000)  # req_ids, response_urls and response_codes already spent
        self.slots: dict[str, asyncio.Future[dict[str, Any]]] = {}  # API mode: req_id → passive reply
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
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

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.stop()
        for slot in self.slots.values():
            slot.cancel()
        if self.session is not None:
            await self.session.close()

    # -- inbound -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _serial(self, key: str) -> Any:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

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
            log.warning("WeCom says another connection subscribed with this bot id; this one will be dropped and retried")
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

    # -- the self-built app ---------------------------------------------------

    def _app_user(self, delivery: Delivery) -> str:
        return (delivery.recipient or delivery.conversation.id).removeprefix(parse.APP_PREFIX)

    async def _app_post(self, delivery: Delivery, task_id: str) -> Receipt:
        assert self.app is not None
        user = self._app_user(delivery)
        rendered = self._render(delivery, task_id, self.app_options)
        try:
            result = await self.app.send(user, rendered.body())
        except WeComAPIError as exc:
            error = classify(exc)
            if rendered.msgtype != "template_card" or isinstance(error, TransientError | RateLimited):
                raise error from exc
            log.warning("WeCom refused the app's template card (%s); sending markdown", exc)
            text_ = card_markdown(delivery.content, locale=delivery.locale, mentions=delivery.mentions, limit=APP_MARKDOWN_BYTES)  # type: ignore[arg-type]
            try:
                await self.app.send(user, Rendered("markdown", text_).body())
            except WeComAPIError as again:
                raise classify(again) from again
            return Receipt(f"{parse.APP_PREFIX}{task_id}:")
        if isinstance(delivery.content, Card):
            return Receipt(f"{parse.APP_PREFIX}{task_id}:{result.response_code}")
        return Receipt(None)

    async def _app_file(self, delivery: Delivery, file: FileContent) -> Receipt:
        """Through the self-built app: the caption, then the uploaded image or file."""
        assert self.app is not None
        user = self._app_user(delivery)
        kind = "image" if file.is_image else "file"
        try:
            if file.caption:
                await self.app.send(user, Rendered("markdown", str(file.caption)).body())
            media_id = await self.app.upload_media(kind, file.filename, file.data, file.mime)
            await self.app.send(user, {"msgtype": kind, kind: {"media_id": media_id}})
        except WeComAPIError as exc:
            raise classify(exc) from exc
        return Receipt(None)

    async def _app_edit(self, delivery: Delivery, ref: str) -> Receipt:
        assert self.app is not None
        task_id, _, sent_code = ref[len(parse.APP_PREFIX) :].partition(":")
        base = task_base(task_id)
        click = self._live_click(ref)
        codes = [click.response_code] if click is not None and click.via == "app" else []
        codes.append(sent_code)
        if isinstance(delivery.content, Card):
            try:
                card = template_card(
                    delivery.content,
                    task_id=click.task_id if click else task_id,
                    locale=delivery.locale,
                    mentions=delivery.mentions,
                    update=True,
                    options=self.app_options,
                )
            except CannotRender:
                codes = []
            for code in codes:
                if not self._spend(code):
                    continue
                try:
                    await self.app.update_template_card([self._app_user(delivery)], code, card)
                    if click is not None:
                        click.used = True
                    return Receipt(ref)
                except WeComAPIError as exc:
                    error = classify(exc)
                    if isinstance(error, TransientError | RateLimited):
                        raise error from exc
                    log.info("WeCom refused the app card update (%s)", exc)
        receipt = await self._app_post(dataclasses.replace(delivery, kind="post"), f"{base}-{os.urandom(3).hex()}")
        return Receipt(receipt.message_ref or ref)

    # -- HTTP callbacks (API mode, the app) ----------------------------------

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
            plaintext = crypto.verify_url(signature, timestamp, nonce, echostr)
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
            body = json.loads(self.crypto.open(signature, timestamp, nonce, str(encrypted)))
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
            data = parse.parse_xml(self.app_crypto.open(signature, timestamp, nonce, encrypted))
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


def build(config: Config) -> WeComPlatform | None:
    """The WeCom platform, or None when ``[wecom]`` is absent or disabled."""
    section = config.wecom
    if section is None or not section.enabled:
        return None
    return WeComPlatform(section, locale=config.bot.locale, source=section.bot_name or "collabbot")
