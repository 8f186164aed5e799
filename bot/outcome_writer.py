"""Turning a handler's ``Outcome`` into outbox, card and timer rows (inside the event's transaction).

This is the engine's job, not the storage layer's: it knows the neutral types and audiences.

Audiences are resolved to concrete conversations here: a person is reached
on the platform where they were last seen, a collaboration in every group it
is bound to, each copy in that reader's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.i18n import normalize_locale
from bot.types import Card, Outgoing, Reply, Text, ToCollaboration, ToConversation, ToPerson
from storage import directory, event_rows
from storage.event_rows import AuditRow, OutboxRow, PlacedCard, TimerRow
from storage.models import Group, Person

if TYPE_CHECKING:
    from bot.router import Context
    from bot.types import Outcome


@dataclass(slots=True)
class Target:
    platform: str
    conversation_id: str
    locale: str
    is_direct: bool = False
    recipient: str | None = None
    thread: str | None = None
    reply_to: dict[str, Any] | None = None


async def person_target(person: Person, default_locale: str) -> Target | None:
    """A DM to ``person`` on the platform they used most recently."""
    identities = await directory.identities_of(person.id)
    if not identities:
        return None
    identity = identities[0]
    if len(identities) > 1:  # the account used last: its time as the database has it (see directory.last_seen)
        seen = await directory.last_seen(person.id)
        latest = max((i for i in identities if seen.get(i.id)), key=lambda i: seen[i.id], default=None)  # type: ignore[arg-type, return-value]
        identity = latest or identity
    return Target(
        platform=identity.platform,
        conversation_id=identity.dm_conversation or identity.platform_user_id,
        locale=normalize_locale(person.locale) or default_locale,
        is_direct=True,
        recipient=identity.platform_user_id,
    )


def group_target(group: Group, default_locale: str) -> Target:
    return Target(
        platform=group.platform,
        conversation_id=group.conversation_id,
        locale=normalize_locale(group.locale) or default_locale,
    )


async def targets_for(ctx: Context, message: Outgoing) -> list[Target]:
    default = ctx.config.bot.locale
    audience = message.to
    if isinstance(audience, Reply):
        conversation = ctx.event.conversation
        if conversation is None:
            return []
        ephemeral = isinstance(message.content, Text) and message.content.ephemeral
        return [
            Target(
                platform=conversation.platform,
                conversation_id=conversation.id,
                locale=ctx.locale,
                is_direct=conversation.is_direct,
                recipient=ctx.event.actor_id if (ephemeral or conversation.is_direct) else None,
                thread=conversation.thread,
                reply_to=ctx.event.reply_to or None,
            )
        ]
    if isinstance(audience, ToPerson):
        person = await directory.person(audience.person_id)
        target = await person_target(person, default) if person else None
        if target and ctx.event.conversation and target.platform == ctx.event.platform and target.recipient == ctx.event.actor_id:
            target.locale = (normalize_locale(person.locale) if person and person.locale else None) or ctx.locale
        return [target] if target else []
    if isinstance(audience, ToConversation):
        conv = audience.conversation
        group = await directory.group(conv.platform, conv.id)
        locale = normalize_locale(group.locale) if group and group.locale else default
        return [Target(conv.platform, conv.id, locale or default, conv.is_direct, thread=conv.thread)]
    if isinstance(audience, ToCollaboration):
        group_ids = await directory.bound_groups(audience.collaboration_id)
        if not group_ids and audience.or_person is not None:
            return await targets_for(ctx, Outgoing(ToPerson(audience.or_person), message.content))
        groups = await directory.groups_by_id(group_ids)
        return [group_target(groups[gid], default) for gid in group_ids if gid in groups]
    raise TypeError(f"unknown audience {audience!r}")


async def commit(ctx: Context, outcome: Outcome, audit: Sequence[AuditRow] = ()) -> list[int]:
    """Write the outcome's messages, card updates and timers, and the event's ``audit`` entries; return the ids
    of the outbox rows queued."""
    now = ctx.now
    base_key = f"{ctx.event.platform}:{ctx.event.delivery_id}"
    rows: list[OutboxRow] = []

    def row(key: str, target: Target, kind: str, payload: dict[str, Any], post_id: int | None = None) -> None:
        rows.append(
            OutboxRow(
                dedupe_key=key[:191],
                platform=target.platform,
                conversation_id=target.conversation_id,
                is_direct=target.is_direct,
                recipient=target.recipient,
                thread=target.thread,
                kind=kind,
                payload=payload,
                locale=target.locale,
                reply_to=target.reply_to,
                post_id=post_id,
                next_attempt_at=now,
                created_at=now,
            )
        )

    # a card sent to several conversations is stored once (again only if its content differs), and a copy is
    # looked up or posted once per conversation: what this event stored and which copies it has seen
    stored: dict[str, tuple[str, int, int]] = {}
    copies: set[tuple[int, str, str]] = set()

    async def place(card: Card, target: Target) -> PlacedCard | None:
        """The card stored (unless this event stored this content already) and its copy in ``target``'s
        conversation found or added; None when this event placed it there already."""
        key, content = card.key or "", card.json_text()
        recipient = target.recipient if target.is_direct else None
        where = (target.platform, target.conversation_id)
        known = stored.get(key)
        if known is None:  # the card's first place in this event: stored and placed by one call
            placed = await event_rows.place_card(key, content, now, *where, recipient, target.locale)
            stored[key] = (content, placed.id, placed.version)
            copies.add((placed.id, *where))
            return placed
        known_content, card_id, version = known
        if known_content != content:
            card_id, version = await event_rows.upsert_card(key, content, now)
            stored[key] = (content, card_id, version)
        if (card_id, *where) in copies:
            return None
        copies.add((card_id, *where))
        return await event_rows.place_copy(card_id, version, *where, recipient, target.locale)

    for index, message in enumerate(outcome.messages):
        content = message.content
        for t_index, target in enumerate(await targets_for(ctx, message)):
            key = f"{base_key}:{index}:{t_index}"
            if not (isinstance(content, Card) and content.key):
                row(key, target, "text" if isinstance(content, Text) else "post", content.to_json())
                continue
            placed = await place(content, target)
            if placed is not None and placed.new_post_id is not None:
                row(key, target, "post", {}, placed.new_post_id)
            elif placed is not None and placed.existing is not None and placed.existing.message_ref:
                row(f"edit:{placed.existing.id}:{placed.version}", target, "edit", {}, placed.existing.id)

    # the cards updated stored and their copies read, in one statement (the last content given for a key)
    updated = await event_rows.update_cards({card.key or "": card.json_text() for card in outcome.updates}, now)
    for card in updated.values():
        for post in card.posts:
            if post.message_ref:  # not yet posted copies will be sent with the newest content anyway
                target = Target(post.platform, post.conversation_id, post.locale, bool(post.recipient), post.recipient)
                row(f"edit:{post.id}:{card.version}", target, "edit", {}, post.id)

    timers = [TimerRow(t.key, t.kind, t.due_at, t.payload) for t in outcome.timers]
    # the outbox rows in one statement get ascending ids in this order, their order in their queues
    return await event_rows.insert_event_rows(rows, audit, timers, now, outcome.cancel_timers)
