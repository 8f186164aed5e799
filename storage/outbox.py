"""Outbox rows: what the delivery worker and transports ask of the table beyond plain queries."""

from __future__ import annotations

from datetime import datetime

from storage.event_rows import OutboxRow, insert_outbox
from storage.models import CardPost, CardRecord, OutboxMessage


async def enqueue_edit_if_behind(post: CardPost, record: CardRecord, now: datetime) -> None:
    """After posting a copy rendered at an older version, bring it up to date."""
    if post.sent_version >= record.version or not post.message_ref:
        return
    edit = OutboxRow(
        dedupe_key=f"edit:{post.id}:{record.version}",
        platform=post.platform,
        conversation_id=post.conversation_id,
        is_direct=bool(post.recipient),
        recipient=post.recipient,
        thread=None,
        kind="edit",
        payload={},
        locale=post.locale,
        reply_to=None,
        post_id=post.id,
        next_attempt_at=now,
        created_at=now,
    )
    await insert_outbox([edit], skip_existing=True)


async def unsent(ids: list[int]) -> bool:
    """Whether any of these outbox rows still waits to be sent (pending, or claimed by a worker)."""
    if not ids:
        return False
    return await OutboxMessage.filter(id__in=ids, status__in=("pending", "sending")).exists()
