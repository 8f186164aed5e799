"""The outbox as per-conversation queues: which rows may go now, claiming them, finishing them.

A conversation's rows (texts and card posts to one platform conversation) go out in the order they
were committed: only the *head* of a conversation — its oldest row not yet sent or dead — may be
claimed. An edit of a card copy waits for every earlier row of that copy (its post, older edits).
A due row that is not the head of its queue is *parked*: its ``next_attempt_at`` moves to
``PARK_RECHECK`` after its head can go, so it is not looked at again round after round; when the
head is finished, the next row of the queue is made due in the same transaction (``finish``), so a
queue drains one row after the other at the pace of its limit. The re-check is only a safety net
(two processes parking and promoting the same row at once on PostgreSQL): a parked row is looked at
again after it in any case, so nothing waits for good.

Claiming: on PostgreSQL ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING id``, so
workers of several processes never wait on each other's rows; on SQLite a compare-and-set per row
(``status`` and ``attempts`` unchanged), which is just as exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.functions import Min
from tortoise.transactions import in_transaction

from storage import db
from storage.models import OutboxMessage

PARK_RECHECK = timedelta(minutes=5)
UNFINISHED = ("pending", "sending")
ROW_FIELDS = ("id", "platform", "conversation_id", "kind", "post_id", "status", "attempts", "next_attempt_at", "lease_until")


def _postgres() -> bool:
    return db.connection().capabilities.dialect == "postgres"


@dataclass(slots=True)
class Candidate:
    id: int
    platform: str
    conversation_id: str
    kind: str
    post_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None

    @property
    def lane(self) -> tuple[str, ...]:
        """The queue the row waits in: its conversation, or (an edit) its card copy."""
        if self.kind == "edit" and self.post_id is not None:
            return ("post", str(self.post_id))
        return ("conversation", self.platform, self.conversation_id)


async def due(platforms: list[str], now: datetime, limit: int, lease_now: datetime | None = None) -> list[Candidate]:
    """Rows that may be due now: pending and due, or sending with a lease that ran out (a dead worker).

    ``lease_now`` is real time: leases run on it even when the product's clock is a demo's manual one."""
    lease_now = lease_now or now
    # Two queries, each walking the (status, next_attempt_at) index: one with an OR across both
    # states made SQLite pick the platform index and sort every waiting row — milliseconds per round
    # with a backlog, on the thread that also answers the platforms' requests (bench_ack).
    pending = (
        OutboxMessage.filter(status="pending", next_attempt_at__lte=now, platform__in=platforms)
        .order_by("next_attempt_at", "id")
        .limit(limit)
        .values(*ROW_FIELDS)
    )
    expired = (
        OutboxMessage.filter(status="sending", lease_until__lt=lease_now, platform__in=platforms)
        .order_by("next_attempt_at", "id")
        .limit(limit)
        .values(*ROW_FIELDS)
    )
    rows = sorted([*await pending, *await expired], key=lambda row: (row["next_attempt_at"], row["id"]))[:limit]
    return [Candidate(**row) for row in rows]


async def heads(candidates: list[Candidate]) -> dict[tuple[str, ...], Candidate]:
    """The head (oldest unfinished row) of each queue the candidates wait in."""
    first: list[int] = []
    conversations = {c.conversation_id for c in candidates if c.lane[0] == "conversation"}
    if conversations:
        grouped = (
            await OutboxMessage.filter(conversation_id__in=list(conversations), status__in=list(UNFINISHED))
            .exclude(kind="edit")
            .annotate(first=Min("id"))
            .group_by("platform", "conversation_id")
            .values("first")
        )
        first += [int(g["first"]) for g in grouped]
    posts = {c.post_id for c in candidates if c.lane[0] == "post"}
    if posts:
        grouped = (
            await OutboxMessage.filter(post_id__in=list(posts), status__in=list(UNFINISHED))
            .annotate(first=Min("id"))
            .group_by("post_id")
            .values("first")
        )
        first += [int(g["first"]) for g in grouped]
    found: dict[tuple[str, ...], Candidate] = {}
    for row in await OutboxMessage.filter(id__in=first).values(*ROW_FIELDS):
        head = Candidate(**row)
        # a post row heads its conversation and also the queue of its own edits
        found.setdefault(head.lane, head)
        if head.kind != "edit" and head.post_id is not None:
            found.setdefault(("post", str(head.post_id)), head)
    return found


def head_ready_at(head: Candidate, now: datetime) -> datetime:
    """The earliest moment a queue's head may be sent, on the product's clock.

    A head being sent is done any moment (``finish`` then makes the next row due); its lease runs on
    real time, not on this clock, so it says nothing here.
    """
    if head.status == "sending":
        return now
    return head.next_attempt_at


async def park(ids: list[int], until: datetime, head_id: int) -> int:
    """Park rows waiting behind ``head_id`` until ``until`` — only while that head is still unfinished.

    On PostgreSQL the head row is locked (``FOR SHARE``) by the same statement: a worker finishing the
    head at that moment either waits for this park and then promotes the next row, or has committed
    already and nothing is parked. So a promotion is never overwritten by a park decided on a stale
    view of the head (three processes and a kill -9 left rows parked for minutes before). SQLite has
    one writer at a time: the check and the update cannot interleave with a finish."""
    if not ids:
        return 0
    if _postgres():
        rows = await db.connection().execute_query_dict(
            "UPDATE outbox SET next_attempt_at = $1 WHERE id = ANY($2) AND status = 'pending' AND EXISTS "
            "(SELECT 1 FROM outbox h WHERE h.id = $3 AND h.status IN ('pending', 'sending') FOR SHARE) RETURNING id",
            [until, ids, head_id],
        )
        return len(rows)
    if not await OutboxMessage.filter(id=head_id, status__in=list(UNFINISHED)).exists():
        return 0
    return await OutboxMessage.filter(id__in=ids, status="pending").update(next_attempt_at=until)


async def claim(candidates: list[Candidate], now: datetime, owner: str, lease: timedelta, lease_now: datetime | None = None) -> list[int]:
    """Take the candidates for ``owner`` until ``lease_now + lease`` (real time); returns the ids this worker got."""
    if not candidates:
        return []
    lease_now = lease_now or now
    if _postgres():
        rows = await db.connection().execute_query_dict(
            "UPDATE outbox SET status = 'sending', lease_until = $1, lease_owner = $2, "
            "attempts = CASE WHEN status = 'sending' THEN attempts + 1 ELSE attempts END "
            "WHERE id IN (SELECT id FROM outbox WHERE id = ANY($3::int[]) AND "
            "((status = 'pending' AND next_attempt_at <= $4) OR (status = 'sending' AND lease_until < $5)) "
            "FOR UPDATE SKIP LOCKED) RETURNING id",
            [lease_now + lease, owner, [c.id for c in candidates], now, lease_now],
        )
        return sorted(int(r["id"]) for r in rows)
    claimed = []
    for c in candidates:
        # A lease that ran out was a send that may have happened: count it, so the adapter knows to check
        # (Delivery.attempt > 0) and a second worker's compare-and-set on the same expired row fails.
        updated = await OutboxMessage.filter(id=c.id, status=c.status, attempts=c.attempts).update(
            status="sending",
            lease_until=lease_now + lease,
            lease_owner=owner,
            attempts=c.attempts + 1 if c.status == "sending" else c.attempts,
        )
        if updated:
            claimed.append(c.id)
    return claimed


async def release(row_id: int, owner: str, when: datetime, **changes: Any) -> None:
    """Give a claimed row back, to be tried again at ``when``."""
    await OutboxMessage.filter(id=row_id, lease_owner=owner).update(
        status="pending", next_attempt_at=when, lease_until=None, lease_owner=None, **changes
    )


async def finish(row: OutboxMessage, now: datetime, **changes: Any) -> None:
    """Mark a row sent or dead and make the next row of its queue(s) due, in one transaction."""
    async with in_transaction("default") as conn:
        await OutboxMessage.filter(id=row.id).using_db(conn).update(lease_until=None, **changes)
        followers = []
        if row.kind != "edit":
            followers.append(
                OutboxMessage.filter(platform=row.platform, conversation_id=row.conversation_id, status="pending", id__gt=row.id)
                .exclude(kind="edit")
            )
        if row.post_id is not None:
            followers.append(OutboxMessage.filter(post_id=row.post_id, status="pending", kind="edit", id__gt=row.id))
        for query in followers:
            following = await query.using_db(conn).order_by("id").first().values("id", "next_attempt_at")
            if following and following["next_attempt_at"] > now:
                await OutboxMessage.filter(id=following["id"], status="pending").using_db(conn).update(next_attempt_at=now)


async def next_due(platforms: list[str]) -> datetime | None:
    """When the next pending row becomes due (on the product's clock)."""
    pending = await OutboxMessage.filter(status="pending", platform__in=platforms).order_by("next_attempt_at").first().values("next_attempt_at")
    return (pending or {}).get("next_attempt_at")


async def next_lease_expiry(platforms: list[str]) -> datetime | None:
    """When the first lease of a row being sent runs out (on real time: a dead worker's row is taken over then)."""
    leased = await OutboxMessage.filter(status="sending", platform__in=platforms).order_by("lease_until").first().values("lease_until")
    return (leased or {}).get("lease_until")


async def unfinished_count() -> int:
    return await OutboxMessage.filter(status__in=list(UNFINISHED)).count()
