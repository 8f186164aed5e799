"""The outbox worker: claim due rows, pace them, hand them to the platform, record the result.

A row is claimed by compare-and-set (``pending`` → ``sending`` with a lease),
which is safe with any number of workers on PostgreSQL and on SQLite. A 429
reschedules the row for ``Retry-After`` without counting an attempt; 5xx and
timeouts back off exponentially with jitter; permanent errors make it
``dead``. A lease that expired while ``sending`` (the process died mid-send)
is taken again: that is the one window where a platform may see a message
twice, and adapters narrow it where the platform allows (see README).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from bot.clock import Clock
from bot.errors import PlatformError, RateLimited
from bot.i18n import localize
from bot.platform import Delivery, Mention, Pace, Platform
from bot.types import Card, Conversation, Text, content_from_json
from storage.models import CardPost, CardRecord, Identity, OutboxMessage, Person
from storage.outbox import enqueue_edit_if_behind

log = logging.getLogger("collabbot.delivery")

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
MAX_BACKOFF = 600.0


@dataclass(slots=True)
class TokenBucket:
    limit: int
    per_seconds: float
    tokens: float = -1.0
    updated: datetime | None = None

    def wait_time(self, now: datetime) -> float:
        """Seconds until a token is free (0 = take it now)."""
        rate = self.limit / self.per_seconds
        if self.updated is None:  # not ``tokens < 0``: a 429 holds the bucket with negative tokens
            self.tokens, self.updated = float(self.limit), now
        elapsed = max(0.0, (now - self.updated).total_seconds())
        self.tokens = min(float(self.limit), self.tokens + elapsed * rate)
        self.updated = now
        if self.tokens >= 1 - 1e-9:  # 6 s of a 10-a-minute refill is 0.9999999999999999 in floats
            return 0.0
        return (1 - self.tokens) / rate

    def take(self) -> None:
        self.tokens -= 1


def localized(content: Card | Text, locale: str) -> Card | Text:
    """The same content with every translatable text resolved for ``locale``."""
    data = content.to_json()
    from bot.i18n import from_json

    return content_from_json(localize(from_json(data), locale))


@dataclass
class DeliveryWorker:
    platforms: dict[str, Platform]
    clock: Clock
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    batch: int = 50

    def kick(self) -> None:
        self.wake.set()

    async def claim(self, platform: str | None = None) -> list[OutboxMessage]:
        now = self.clock.now()
        due = Q(status="pending", next_attempt_at__lte=now) | Q(status="sending", lease_until__lt=now)
        query = OutboxMessage.filter(due).filter(platform__in=list(self.platforms))
        if platform:
            query = query.filter(platform=platform)
        candidates = await query.order_by("id").limit(self.batch).values_list("id", "status", "attempts")
        claimed = []
        for row_id, status, attempts in candidates:
            # A lease that ran out was a send that may have happened: count it, so the adapter knows to check
            # (Delivery.attempt > 0) and a second worker's compare-and-set on the same expired row fails.
            updated = await OutboxMessage.filter(id=row_id, status=status, attempts=attempts).update(
                status="sending",
                lease_until=now + LEASE,
                lease_owner=self.owner,
                attempts=attempts + 1 if status == "sending" else attempts,
            )
            if updated:
                claimed.append(row_id)
        if not claimed:
            return []
        return await OutboxMessage.filter(id__in=claimed).order_by("id")

    async def run_once(self, platform: str | None = None) -> int:
        """Claim and process one batch; returns how many rows were claimed."""
        rows = await self.claim(platform)
        # Keep per-conversation order: later rows wait for an earlier one that is paced or retrying.
        # Edits of an existing message are exempt: they change what is there, so order does not matter,
        # and some must go out within seconds of a click (WeCom).
        blocked: set[tuple[str, str]] = set()
        for row in rows:
            conv = (row.platform, row.conversation_id)
            in_order = row.kind != "edit"
            if in_order and conv in blocked:
                await self._release(row, self.clock.now())
                continue
            if not await self._process(row) and in_order:
                blocked.add(conv)
        return len(rows)

    async def flush(self, platform: str | None = None, max_rounds: int = 1000) -> None:
        """Deliver everything due now (used by the simulator and tests)."""
        for _ in range(max_rounds):
            if not await self.run_once(platform):
                return

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("delivery round failed")
                claimed = 0
            if claimed:
                continue
            self.wake.clear()
            wake_task = asyncio.ensure_future(self.wake.wait())
            stop_task = asyncio.ensure_future(stop.wait())
            await asyncio.wait({wake_task, stop_task}, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            for task in (wake_task, stop_task):
                task.cancel()

    # -- one row ---------------------------------------------------------

    async def _release(self, row: OutboxMessage, when: datetime) -> None:
        await OutboxMessage.filter(id=row.id, lease_owner=self.owner).update(
            status="pending", next_attempt_at=when, lease_until=None, lease_owner=None
        )

    async def _build(self, row: OutboxMessage) -> tuple[Delivery, CardPost | None, CardRecord | None] | None:
        post: CardPost | None = None
        record: CardRecord | None = None
        if row.post_id is not None:
            post = await CardPost.get_or_none(id=row.post_id)
            if post is None:
                return None
            record = await CardRecord.get(id=post.card_id)
            if row.kind == "edit" and (not post.message_ref or post.sent_version >= record.version):
                return None  # nothing to edit yet, or already up to date
            content: Card | Text = Card.from_json(record.content)
        else:
            content = content_from_json(row.payload)
        delivery = Delivery(
            outbox_id=row.id,
            dedupe_key=row.dedupe_key,
            kind=row.kind,  # type: ignore[arg-type]
            conversation=Conversation(row.platform, row.conversation_id, row.is_direct, thread=row.thread),
            content=localized(content, row.locale),
            locale=row.locale,
            recipient=row.recipient,
            message_ref=post.message_ref if post else None,
            reply_to=row.reply_to,
            mentions=await self._mentions(row.platform, content),
            attempt=row.attempts,
        )
        return delivery, post, record

    async def _mentions(self, platform: str, content: Card | Text) -> list[Mention]:
        if not content.mentions:
            return []
        ids = [int(p) for p in content.mentions]
        people = {p.id: p for p in await Person.filter(id__in=ids)}
        identities = {i.person_id: i for i in await Identity.filter(person_id__in=ids, platform=platform)}
        return [
            Mention(identities[pid].platform_user_id if pid in identities else "", people[pid].name)
            for pid in ids
            if pid in people
        ]

    async def _process(self, row: OutboxMessage) -> bool:
        """Deliver one row; False if the conversation must wait (paced or retrying)."""
        now = self.clock.now()
        platform = self.platforms[row.platform]
        built = await self._build(row)
        if built is None:
            await OutboxMessage.filter(id=row.id).update(status="sent", sent_at=now, lease_until=None, last_error="superseded")
            return True
        delivery, post, record = built
        paces = platform.pace(delivery)
        wait = max((self._bucket(p).wait_time(now) for p in paces), default=0.0)
        if wait > 0:
            await self._release(row, now + timedelta(seconds=wait))
            return False
        for pace in paces:
            self._bucket(pace).take()
        try:
            receipt = await platform.deliver(delivery)
        except RateLimited as exc:
            log.info("rate limited on %s, retry after %.1fs", row.dedupe_key, exc.retry_after)
            for pace in paces:  # the platform knows better: hold the whole bucket
                bucket = self._bucket(pace)
                bucket.tokens = min(bucket.tokens, 0.0) - exc.retry_after * pace.limit / pace.per_seconds
            await OutboxMessage.filter(id=row.id).update(last_error=str(exc)[:500])
            await self._release(row, now + timedelta(seconds=exc.retry_after))
            return False
        except Exception as exc:
            await self._failed(row, exc, now)
            return False
        await OutboxMessage.filter(id=row.id).update(
            status="sent", sent_at=now, lease_until=None, message_ref=receipt.message_ref, attempts=row.attempts + 1
        )
        if post is not None and record is not None:
            rendered = record.version
            if delivery.kind == "post":
                post.message_ref = receipt.message_ref or post.message_ref
            post.sent_version = max(post.sent_version, rendered)
            await post.save(update_fields=["message_ref", "sent_version"])
            fresh = await CardRecord.get(id=record.id)
            await enqueue_edit_if_behind(post, fresh, now)
        return True

    async def _failed(self, row: OutboxMessage, exc: Exception, now: datetime) -> None:
        attempts = row.attempts + 1
        permanent = isinstance(exc, PlatformError) and exc.permanent
        if not isinstance(exc, PlatformError):
            log.exception("delivery of %s raised", row.dedupe_key)
        if permanent or attempts >= MAX_ATTEMPTS:
            log.error("outbox row %s is dead after %d attempts: %s", row.dedupe_key, attempts, exc)
            await OutboxMessage.filter(id=row.id).update(
                status="dead", attempts=attempts, last_error=repr(exc)[:500], lease_until=None
            )
            return
        backoff = min(MAX_BACKOFF, 2.0**attempts) * random.uniform(0.5, 1.0)
        await OutboxMessage.filter(id=row.id).update(attempts=attempts, last_error=repr(exc)[:500])
        await self._release(row, now + timedelta(seconds=backoff))

    def _bucket(self, pace: Pace) -> TokenBucket:
        bucket = self.buckets.get(pace.key)
        if bucket is None:
            bucket = self.buckets[pace.key] = TokenBucket(pace.limit, pace.per_seconds)
        return bucket


def describe(row: OutboxMessage) -> dict[str, Any]:
    return {"id": row.id, "key": row.dedupe_key, "status": row.status, "attempts": row.attempts}
