"""DingTalk as a platform: Stream mode in (``stream.py``), OpenAPI over aiohttp out (``openapi.py``).

Inbound: robot messages and card callbacks are turned into events
(``inbound``), dispatched, and acked once the engine has committed them (a
failure acks 500, so DingTalk pushes the frame again; the engine's inbox
drops what it already handled). A card click is acked with an empty
response: the card changes through the outbox like on every platform
(``PUT /v1.0/card/instances``).

Outbound, ``deliver`` maps one outbox row to:

- a card (``post``) → ``createAndDeliver`` with the template
  (``card_template_id``) to the group (``IM_GROUP``) or the person
  (``IM_ROBOT``); its ``outTrackId`` (derived from the outbox dedupe key, so
  a retried create does not make a second card) is the ``message_ref``;
- a card update (``edit``) → ``PUT /v1.0/card/instances`` on that
  ``outTrackId``; without a template, cards are markdown messages with link
  buttons and an update is sent as a new message;
- a text → markdown through the message's ``sessionWebhook`` while it is
  valid (it can @-mention the asker), else ``groupMessages/send`` or
  ``oToMessages/batchSend``.

Pacing: DingTalk throttles a robot at 20 messages a minute per group and
then blocks it for 10 minutes. ``pace`` gives each group (and each person)
a sliding window of ``messages_per_minute`` sends in any 60 seconds (the
whole limit, shared by every process: ``bot/pacing.py``), and each OpenAPI
20 calls a second. Once half of the minute's limit has been sent (a burst is
under way), ``deliver`` folds: the text messages queued right behind the one
being sent *for the same audience* (the same person, or the whole group) go
out inside it as one message, and their outbox rows are marked sent —
messages for different people are never merged, and folding stops at the
first message for someone else or a card, so the conversation's order holds.
Nothing is dropped: a folded row is claimed before the send and given back if
the send fails. A throttling answer holds the conversation for the time
DingTalk says, or its documented 10-minute block when it says nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.clock import SystemClock
from bot.config import Config, DingTalkSection, secret_text
from bot.delivery import LEASE, localized
from bot.errors import MalformedPayload, PermanentError, PlatformError, RateLimited
from bot.platform import Capabilities, Delivery, Pace, Receipt, Runtime
from bot.types import Card, Event, FileContent, Text, content_from_json
from storage.models import OutboxMessage

from . import files, inbound, mentions, render
from .openapi import OpenApi

if TYPE_CHECKING:
    from dingtalk_stream import CallbackMessage, DingTalkStreamClient

    from .stream import StreamRunner

log = logging.getLogger("collabbot.dingtalk")

APP_CALLS_PER_SECOND = 20  # "about 20 QPS per app per API"
WEBHOOK_MARGIN = timedelta(seconds=60)
FOLD_MAX_CHARS = 4000
FOLD_MAX_ITEMS = 50
MAX_NAMES = 10000
STATUS_OK = 200
STATUS_RETRY = 500


class DingTalkPlatform:
    """One DingTalk enterprise-internal app with its robot."""

    name = inbound.PLATFORM

    def __init__(self, config: DingTalkSection, *, default_locale: str = "zh_CN"):
        self.config = config
        self.default_locale = default_locale
        self.robot_code = config.robot_code or config.app_key
        self.template_id = config.card_template_id
        self.capabilities = Capabilities(
            cards=True,
            card_update=bool(self.template_id),
            forms=False,
            ephemeral=False,
            direct_messages=True,
            threads=False,
            markdown=True,
        )
        self.per_minute = config.messages_per_minute
        self.fold_after = max(1, self.per_minute // 2)
        self.runtime: Runtime | None = None
        self.stream: StreamRunner | None = None
        self.names: dict[str, str] = {}  # staff id → the name DingTalk showed for it
        self._api: OpenApi | None = None
        self._sent: dict[str, deque[datetime]] = {}
        self.handled = 0  # frames dispatched (duplicates included)

    # -- lifecycle -------------------------------------------------------------

    def now(self) -> datetime:
        return self.runtime.clock.now() if self.runtime is not None else SystemClock().now()

    @property
    def api(self) -> OpenApi:
        if self._api is None:
            self._api = OpenApi(
                self.config.openapi_url,
                self.config.app_key,
                secret_text(self.config.app_secret),
                now=self.now,
                timeout=self.config.timeout,
            )
        return self._api

    async def start(self, runtime: Runtime) -> None:
        from .stream import StreamRunner

        self.runtime = runtime
        self.stream = StreamRunner(self.stream_client(), watchdog_seconds=self.config.watchdog_seconds)
        await self.stream.start()

    def connected(self) -> bool | None:
        """Whether a Stream connection is open (``/readyz``, metrics)."""
        current = self.stream.current if self.stream is not None else None
        return current is not None and not current.closed.is_set()

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
            self.stream = None
        if self._api is not None:
            await self._api.close()

    def stream_client(self) -> DingTalkStreamClient:
        """The SDK client with our two handlers; used for its connection opening, frames and acks only."""
        import dingtalk_stream

        # The SDK builds this URL from DINGTALK_OPENAPI_ENDPOINT when it is imported; keep it on our endpoint.
        wanted = self.config.openapi_url.rstrip("/") + "/v1.0/gateway/connections/open"
        if wanted != dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API:
            log.info("dingtalk: opening Stream connections at %s", wanted)
            dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API = wanted
        client = dingtalk_stream.DingTalkStreamClient(
            dingtalk_stream.Credential(self.config.app_key, secret_text(self.config.app_secret)),
            logger=logging.getLogger("collabbot.dingtalk.sdk"),
        )
        client.register_callback_handler(inbound.ROBOT_TOPIC, _handler(self.on_robot_message))
        client.register_callback_handler(inbound.CARD_TOPIC, _handler(self.on_card_callback))
        return client

    # -- inbound ---------------------------------------------------------------

    async def on_robot_message(self, message: CallbackMessage) -> tuple[int, Any]:
        try:
            event = inbound.robot_message(
                message.data, message_id=message.headers.message_id, secret=secret_text(self.config.app_secret)
            )
        except MalformedPayload as exc:  # acked, so the platform does not push it again
            log.warning("dingtalk: refused malformed robot message %s: %s", message.headers.message_id, exc.reason)
            return STATUS_OK, "refused: malformed payload"
        if event is None:
            log.info(
                "dingtalk: robot message %s without sender or conversation ignored",
                message.headers.message_id,
            )
            return STATUS_OK, "ignored"
        if event.actor_id and event.actor_name:
            self._remember(event.actor_id, event.actor_name)
        return await self._dispatch(event), "OK"

    async def on_card_callback(self, message: CallbackMessage) -> tuple[int, Any]:
        try:
            event = inbound.card_callback(message.data, message_id=message.headers.message_id, names=self.names)
        except MalformedPayload as exc:
            log.warning("dingtalk: refused malformed card callback %s: %s", message.headers.message_id, exc.reason)
            return STATUS_OK, {}
        if event is None:
            log.info("dingtalk: card callback %s without action ignored", message.headers.message_id)
            return STATUS_OK, {}
        return await self._dispatch(event), {}

    async def _dispatch(self, event: Event) -> int:
        if self.runtime is None:
            return STATUS_RETRY
        try:
            await self.runtime.dispatch(event)
        except Exception:
            log.exception(
                "dingtalk: %s could not be dispatched; DingTalk will push it again", event.delivery_id
            )
            return STATUS_RETRY
        self.handled += 1
        return STATUS_OK

    def _remember(self, staff_id: str, name: str) -> None:
        if staff_id not in self.names and len(self.names) >= MAX_NAMES:
            self.names.pop(next(iter(self.names)))
        self.names[staff_id] = name

    # -- pacing ----------------------------------------------------------------

    def conversation_key(self, delivery: Delivery) -> str:
        if delivery.conversation.is_direct:
            return f"dingtalk:user:{delivery.recipient or delivery.conversation.id}"
        return f"dingtalk:group:{delivery.conversation.id}"

    def pace(self, delivery: Delivery) -> list[Pace]:
        paces = []
        api = self.api_for(delivery)
        if api != "webhook":  # about 20 calls a second per API and app
            paces.append(Pace(f"dingtalk:api:{api}", APP_CALLS_PER_SECOND, 1.0))
        if api != "card.update":
            paces.append(Pace(self.conversation_key(delivery), self.per_minute, 60.0))
        return paces

    def api_for(self, delivery: Delivery) -> str:
        """Which DingTalk API ``deliver`` will call for ``delivery`` (what ``pace`` counts it against)."""
        if delivery.kind == "edit" and self._updates_in_place(delivery):
            return "card.update"
        if delivery.kind == "post" and isinstance(delivery.content, Card) and self.template_id:
            return "card.create"
        if self._fresh_webhook(delivery):
            return "webhook"
        return "robot.oto" if delivery.conversation.is_direct else "robot.group"

    def _updates_in_place(self, delivery: Delivery) -> bool:
        return bool(self.template_id and delivery.message_ref and not delivery.message_ref.startswith("md:"))

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        sent = self._sent.setdefault(key, deque())
        while sent and now - sent[0] >= timedelta(seconds=60):
            sent.popleft()
        return sent

    # -- outbound --------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> Receipt:
        content = delivery.content
        if isinstance(content, FileContent):
            return await files.send_file(self, delivery, content)
        if delivery.kind == "edit":
            assert isinstance(content, Card)
            return await self._edit(delivery, content)
        if isinstance(content, Card):
            if self.template_id:
                ref = await self._create_card(delivery, content)
            else:
                title, text = render.card_markdown(
                    content,
                    delivery.mentions,
                    delivery.locale,
                    secret=secret_text(self.config.app_secret),
                    direct=delivery.conversation.is_direct,
                )
                ref = "md:" + await self._send_markdown(delivery, title, text, self._at(delivery))
            self._recent(self.conversation_key(delivery), self.now()).append(self.now())
            return Receipt(ref)
        return await self._send_text(delivery, content)

    def _at(self, delivery: Delivery) -> list[str]:
        ids = [m.platform_user_id for m in delivery.mentions if m.platform_user_id]
        content = delivery.content
        if (
            isinstance(content, Text)
            and content.ephemeral
            and delivery.recipient
            and not delivery.conversation.is_direct
        ):
            ids.append(delivery.recipient)
        return list(dict.fromkeys(ids))

    async def _send_text(self, delivery: Delivery, content: Text) -> Receipt:
        now = self.now()
        key = self.conversation_key(delivery)
        folded: list[tuple[OutboxMessage, str, str | None]] = []
        if len(self._recent(key, now)) >= self.fold_after:
            folded = await self._claim_queued(delivery, now)
        title, text = render.text_markdown(content, delivery.mentions)
        name = self.names.get(delivery.recipient or "") if content.ephemeral else None
        if name and not delivery.conversation.is_direct:
            text = f"@{name} {text}"  # meant for one person, seen by the group: say whom
        at = self._at(delivery)
        if folded:
            items = [text] + [item for _, item, _ in folded]
            title, text = render.fold_markdown(items, delivery.locale)
            at = list(dict.fromkeys(at + [recipient for _, _, recipient in folded if recipient]))
        try:
            ref = await self._send_markdown(delivery, title, text, at)
        except BaseException:
            if folded:
                await self._release_folded(delivery, [row for row, _, _ in folded])
            raise
        if folded:
            await OutboxMessage.filter(id__in=[row.id for row, _, _ in folded]).update(
                status="sent",
                sent_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=f"folded into outbox {delivery.outbox_id}",
            )
            log.info("dingtalk: folded %d queued messages into outbox %s", len(folded), delivery.outbox_id)
        self._recent(key, now).append(now)
        return Receipt("md:" + ref)

    async def _claim_queued(
        self, delivery: Delivery, now: datetime
    ) -> list[tuple[OutboxMessage, str, str | None]]:
        """Claim the text messages queued right behind ``delivery`` for the same audience, to send them inside it.

        The same audience: the same recipient (a reply only they are meant to read) and the same people
        @-mentioned, or the whole group.
        The run stops at the first card, the first message for someone else, or a row another worker
        holds — so prompts to different people are never merged and the conversation's order holds.
        Pending rows are claimed by compare-and-set.
        """
        def audience_of(recipient: str | None, direct: bool, content: Any) -> tuple[str | None, tuple[str, ...]]:
            return (None if direct else recipient, tuple(getattr(content, "mentions", None) or ()))

        audience = audience_of(delivery.recipient, delivery.conversation.is_direct, delivery.content)
        rows = (
            await OutboxMessage.filter(
                platform=self.name,
                conversation_id=delivery.conversation.id,
                status__in=["pending", "sending"],
                id__gt=delivery.outbox_id,
            )
            .order_by("id")
            .limit(FOLD_MAX_ITEMS)
        )
        claimed: list[tuple[OutboxMessage, str, str | None]] = []
        size = 0
        for row in rows:
            if row.kind != "text" or row.status != "pending":
                break
            if audience_of(row.recipient, row.is_direct, content_from_json(row.payload)) != audience:
                break  # a message for someone else (a reply to another person, a prompt naming another person)
            item = self._fold_item(row)
            if size + len(item) > FOLD_MAX_CHARS:
                break
            taken = await OutboxMessage.filter(id=row.id, status="pending", attempts=row.attempts).update(
                status="sending", lease_owner=f"fold:{delivery.outbox_id}", lease_until=now + LEASE
            )
            if not taken:
                break
            claimed.append((row, item, row.recipient if not row.is_direct else None))
            size += len(item)
        return claimed

    def _fold_item(self, row: OutboxMessage) -> str:
        content = localized(content_from_json(row.payload), row.locale)
        body = render.markdown(str(content.body or "")) if isinstance(content, Text) else ""
        name = self.names.get(row.recipient or "") if row.recipient and not row.is_direct else None
        return f"@{name} {body}" if name else body

    async def _release_folded(self, delivery: Delivery, rows: list[OutboxMessage]) -> None:
        await OutboxMessage.filter(
            id__in=[r.id for r in rows], lease_owner=f"fold:{delivery.outbox_id}"
        ).update(status="pending", lease_owner=None, lease_until=None)

    def _fresh_webhook(self, delivery: Delivery) -> str | None:
        reply_to = delivery.reply_to or {}
        url = reply_to.get("session_webhook")
        expires_ms = int(reply_to.get("expires_ms") or 0)
        if not url or not expires_ms:
            return None
        if datetime.fromtimestamp(expires_ms / 1000, UTC) - WEBHOOK_MARGIN <= self.now():
            return None
        host = urlsplit(str(url)).hostname or ""
        # The URL came in a frame; only ever post to DingTalk (or to the configured endpoint, e.g. a test double).
        if not (host.endswith(".dingtalk.com") or host == urlsplit(self.config.openapi_url).hostname):
            log.warning("dingtalk: session webhook on unexpected host %s ignored", host)
            return None
        return str(url)

    async def _send_markdown(self, delivery: Delivery, title: str, text: str, at: list[str]) -> str:
        webhook = self._fresh_webhook(delivery)
        if webhook:
            marked = mentions.by_id(text, at, delivery.mentions, self.names) if at else text
            body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": marked}}
            if at:
                body["at"] = {"atUserIds": at}
            try:
                await self.api.webhook(webhook, body)
                return "webhook"
            except RateLimited:
                raise
            except PlatformError as exc:
                log.info("dingtalk: session webhook failed (%s), sending through the OpenAPI", exc)
        if delivery.conversation.is_direct:
            data = await self.api.send_people(
                self.robot_code, [delivery.recipient or delivery.conversation.id], title, text
            )
        else:
            data = await self.api.send_group(self.robot_code, delivery.conversation.id, title, text)
            if at:  # the robot API cannot @ anyone: the mentioned people get it one-to-one
                await mentions.notify_directly(self.api, self.robot_code, at, title, text, delivery.locale)
        return str(data.get("processQueryKey") or "")

    def out_track_id(self, delivery: Delivery) -> str:
        digest = hashlib.sha256(f"{self.config.app_key}:{delivery.dedupe_key}".encode()).hexdigest()
        return f"collab-{digest[:32]}"

    async def _create_card(self, delivery: Delivery, card: Card) -> str:
        out_track_id = self.out_track_id(delivery)
        body: dict[str, Any] = {
            "cardTemplateId": self.template_id,
            "outTrackId": out_track_id,
            "callbackType": "STREAM",
            "userIdType": 1,
            "cardData": {"cardParamMap": render.card_params(card, delivery.mentions, delivery.locale)},
        }
        if delivery.conversation.is_direct:
            user = delivery.recipient or delivery.conversation.id
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{user}"
            body["imRobotOpenSpaceModel"] = {"supportForward": False}
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": self.robot_code}
        else:
            deliver_model: dict[str, Any] = {"robotCode": self.robot_code}
            at = {m.platform_user_id: m.name for m in delivery.mentions if m.platform_user_id}
            if at:
                deliver_model["atUserIds"] = at
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{delivery.conversation.id}"
            body["imGroupOpenSpaceModel"] = {"supportForward": True}
            body["imGroupOpenDeliverModel"] = deliver_model
        try:
            await self.api.create_and_deliver(body)
        except PermanentError as exc:
            if "exist" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                raise
            log.info("dingtalk: card %s already exists (a retried create), keeping it", out_track_id)
        return out_track_id

    async def _edit(self, delivery: Delivery, card: Card) -> Receipt:
        if self._updates_in_place(delivery):
            await self.api.update_card(
                {
                    "outTrackId": delivery.message_ref,
                    "cardData": {
                        "cardParamMap": render.card_params(card, delivery.mentions, delivery.locale)
                    },
                    "cardUpdateOptions": {"updateCardDataByKey": True},
                }
            )
            return Receipt(delivery.message_ref)
        # A markdown message cannot change: post the card's new state.
        title, text = render.card_markdown(
            card,
            delivery.mentions,
            delivery.locale,
            secret=secret_text(self.config.app_secret),
            direct=delivery.conversation.is_direct,
        )
        await self._send_markdown(delivery, title, text.replace("### ", "### 🔄 ", 1), self._at(delivery))
        self._recent(self.conversation_key(delivery), self.now()).append(self.now())
        return Receipt(delivery.message_ref)


def _handler(process: Any) -> Any:
    """An SDK ``CallbackHandler`` whose ``process`` is ``process``; the SDK builds and sends the ack."""
    import dingtalk_stream

    class Handler(dingtalk_stream.CallbackHandler):
        async def process(self, message: CallbackMessage) -> tuple[int, Any]:
            result: tuple[int, Any] = await process(message)
            return result

    handler = Handler()
    handler.logger = logging.getLogger("collabbot.dingtalk.sdk")
    return handler


def build(config: Config) -> DingTalkPlatform | None:
    section = config.dingtalk
    if section is None or not section.enabled:
        return None
    return DingTalkPlatform(section, default_locale=config.bot.locale)
