"""The outbox worker: take the rows that may go now, pace them, hand them to the platform, record the result.

Order: a conversation's messages go out in the order they were committed, whatever fails and is
retried, across batches and processes; a card's edits wait for its post (``storage/outbox_queue.py``:
only the head of each queue is claimed, the rows behind it are parked until it is done).

Pacing costs nothing while it waits: a row whose platform limit is spent is given back with
``next_attempt_at`` = the moment its bucket has a send for it (``bot/pacing.py``, shared by every
process through the database), and the loop sleeps until the earliest such moment or a ``kick``
from a new commit — it never re-claims a row that cannot go yet. ``claims`` and ``delivered``
count what the loop did, so tests and benchmarks can bound the claims per delivered row.

Failures: a throttle answer holds the delivery's buckets for ``Retry-After`` (or the platform's
documented block) without counting an attempt; 5xx and timeouts back off exponentially with jitter;
permanent errors make the row ``dead`` (and let the queue move on). A lease that expired while
``sending`` (the process died mid-send) is taken again: that is the one window where a platform may
see a message twice, and adapters narrow it where the platform allows (see README).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, SystemClock, wait_for_any
from bot.errors import PlatformError, RateLimited
from bot.i18n import localize
from bot.pacing import SharedBudget
from bot.platform import Delivery, Mention, Platform
from bot.types import Card, Conversation, FileContent, Text, content_from_json
from storage import outbox_queue
from storage.models import CardPost, CardRecord, Identity, OutboxMessage, Person
from storage.outbox import enqueue_edit_if_behind

log = logging.getLogger("collabbot.delivery")

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
MAX_BACKOFF = 600.0
MIN_SLEEP = 0.01  # seconds: never spin, even when the next row is due already


def localized(content: Card | Text | FileContent, locale: str) -> Card | Text | FileContent:
    """The same content with every translatable text resolved for ``locale``."""
    data = content.to_json()
    from bot.i18n import from_json

    return content_from_json(localize(from_json(data), locale))


@dataclass
class DeliveryWorker:
    """One process's outbox worker (any number may run, in one process or many, on one database)."""

    platforms: dict[str, Platform]
    clock: Clock
    lease_clock: Clock = field(default_factory=SystemClock)  # leases run on real time, even under a demo's manual clock
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    budget: SharedBudget = field(default_factory=SharedBudget)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    batch: int = 200
    concurrency: int = 16  # queues (conversations) sent to at the same time
    gather_seconds: float = 0.02  # after a kick: one round for a burst of commits, not one per commit
    claims: int = 0  # rows claimed, a row claimed twice counted twice
    delivered: int = 0  # rows finished as sent
    parked: int = 0  # rows found due behind an unfinished row of their conversation
    _parked_now: int = 0

    def kick(self) -> None:
        """A commit queued rows: look now instead of at the next due time."""
        self.wake.set()

    def _names(self, platform: str | None) -> list[str]:
        return [platform] if platform else list(self.platforms)

    async def claim(self, platform: str | None = None) -> list[OutboxMessage]:
        """Take the heads of the queues that are due now (parking the rows behind them); the rows now ours."""
        now = self.clock.now()
        self._parked_now = 0
        lease_now = self.lease_clock.now()
        candidates = await outbox_queue.due(self._names(platform), now, self.batch, lease_now)
        if not candidates:
            return []
        heads = await outbox_queue.heads(candidates)
        go: list[outbox_queue.Candidate] = []
        lanes: set[tuple[str, ...]] = set()
        parked: dict[tuple[datetime, int], list[int]] = {}
        for candidate in candidates:
            head = heads.get(candidate.lane)
            if head is None or head.id == candidate.id:
                if candidate.lane not in lanes:
                    lanes.add(candidate.lane)
                    go.append(candidate)
                continue
            until = max(now, outbox_queue.head_ready_at(head, now)) + outbox_queue.PARK_RECHECK
            parked.setdefault((until, head.id), []).append(candidate.id)
        for (until, head_id), ids in parked.items():
            self._parked_now += await outbox_queue.park(ids, until, head_id)
        self.parked += self._parked_now
        claimed = await outbox_queue.claim(go, now, self.owner, LEASE, lease_now)
        self.claims += len(claimed)
        if not claimed:
            return []
        return list(await OutboxMessage.filter(id__in=claimed, lease_owner=self.owner).order_by("id"))

    async def run_once(self, platform: str | None = None) -> int:
        """Take one batch of due rows: send the heads of their queues, park the rest.

        Returns how many rows were claimed or parked (0: nothing is due now).
        """
        rows = await self.claim(platform)
        limit = asyncio.Semaphore(self.concurrency)
        conversations: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in rows:  # an edit claimed beside a message to the same conversation still goes in id order
            conversations.setdefault((row.platform, row.conversation_id), []).append(row)

        async def one(group: list[OutboxMessage]) -> None:
            async with limit:
                for row in group:
                    await self._process(row)

        for result in await asyncio.gather(*(one(group) for group in conversations.values()), return_exceptions=True):
            if isinstance(result, BaseException):
                log.error("delivery of a row failed", exc_info=result)
        return len(rows) + self._parked_now

    async def flush(self, platform: str | None = None, max_rounds: int = 1000) -> None:
        """Deliver everything due now (used by the simulator and tests)."""
        for _ in range(max_rounds):
            if not await self.run_once(platform):
                return

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 5.0) -> None:
        """Deliver what is due, then sleep until the next row is due, a ``kick``, or ``idle_seconds``.

        ``idle_seconds`` bounds how late this process notices rows committed by another process.
        """
        while not stop.is_set():
            self.wake.clear()
            timeout = idle_seconds
            try:
                while await self.run_once():
                    if stop.is_set():
                        return
                    await asyncio.sleep(0)  # let acks and events in between batches
                names = self._names(None)
                upcoming = await outbox_queue.next_due(names)
                if upcoming is not None:
                    timeout = min(timeout, (upcoming - self.clock.now()).total_seconds())
                expiry = await outbox_queue.next_lease_expiry(names)
                if expiry is not None:
                    timeout = min(timeout, (expiry - self.lease_clock.now()).total_seconds())
                timeout = max(MIN_SLEEP, timeout)
            except Exception:
                log.exception("delivery round failed")
                timeout = 1.0
            await wait_for_any([self.wake, stop], timeout)
            if self.wake.is_set() and not stop.is_set():
                # a commit woke us: let the commits of a burst gather, then take them in one round
                await asyncio.sleep(self.gather_seconds)

    # -- one row ---------------------------------------------------------

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
            content: Card | Text | FileContent = Card.from_json(record.content)
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
            first_try=row.created_at,
        )
        return delivery, post, record

    async def _mentions(self, platform: str, content: Card | Text | FileContent) -> list[Mention]:
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

    async def _process(self, row: OutboxMessage) -> None:
        """Deliver one claimed row, or give it back with the time it may be tried again."""
        now = self.clock.now()
        platform = self.platforms[row.platform]
        built = await self._build(row)
        if built is None:
            await outbox_queue.finish(row, now, status="sent", sent_at=now, last_error="superseded")
            self.delivered += 1
            return
        delivery, post, record = built
        paces = platform.pace(delivery)
        if paces:
            ready = await self.budget.try_take(paces, now)
            if ready is not None:
                await outbox_queue.release(row.id, self.owner, ready)
                return
        try:
            receipt = await platform.deliver(delivery)
        except RateLimited as exc:
            log.info("rate limited on %s, retry after %.1fs", row.dedupe_key, exc.retry_after)
            until = self.clock.now() + timedelta(seconds=exc.retry_after)  # counted from the answer, not the send
            await self.budget.hold(paces, until)  # the platform knows better: hold the buckets, for every process
            await outbox_queue.release(row.id, self.owner, until, last_error=str(exc)[:500])
            return
        except Exception as exc:
            await self._failed(row, exc, now)
            return
        if post is not None and record is not None:
            if delivery.kind == "post":
                post.message_ref = receipt.message_ref or post.message_ref
            post.sent_version = max(post.sent_version, record.version)
            await post.save(update_fields=["message_ref", "sent_version"])
        await outbox_queue.finish(
            row, now, status="sent", sent_at=now, lease_owner=None, message_ref=receipt.message_ref, attempts=row.attempts + 1
        )
        self.delivered += 1
        if post is not None and record is not None:
            fresh = await CardRecord.get(id=record.id)
            await enqueue_edit_if_behind(post, fresh, now)

    async def _failed(self, row: OutboxMessage, exc: Exception, now: datetime) -> None:
        attempts = row.attempts + 1
        permanent = isinstance(exc, PlatformError) and exc.permanent
        if not isinstance(exc, PlatformError):
            log.exception("delivery of %s raised", row.dedupe_key)
        if permanent or attempts >= MAX_ATTEMPTS:
            log.error("outbox row %s is dead after %d attempts: %s", row.dedupe_key, attempts, exc)
            await outbox_queue.finish(row, now, status="dead", attempts=attempts, last_error=repr(exc)[:500], lease_owner=None)
            return
        backoff = min(MAX_BACKOFF, 2.0**attempts) * random.uniform(0.5, 1.0)
        await outbox_queue.release(
            row.id, self.owner, now + timedelta(seconds=backoff), attempts=attempts, last_error=repr(exc)[:500]
        )


def describe(row: OutboxMessage) -> dict[str, Any]:
    return {"id": row.id, "key": row.dedupe_key, "status": row.status, "attempts": row.attempts}
