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
from storage import directory
from storage.event_end import CardCopy, ConfirmationRow, finish_event
from storage.event_rows import AuditRow, OutboxRow, TimerRow
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

    def row(key: str, target: Target, kind: str, payload: dict[str, Any]) -> OutboxRow:
        return OutboxRow(
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
            post_id=None,
            next_attempt_at=now,
            created_at=now,
        )

    entries: list[OutboxRow | CardCopy] = []
    contents: dict[str, str] = {}  # each keyed card's content: the last given for its key
    seen: set[tuple[str, str, str]] = set()  # (card key, platform, conversation): a copy is placed once
    for index, message in enumerate(outcome.messages):
        content = message.content
        targets = await targets_for(ctx, message)
        if isinstance(content, Card) and content.key:
            contents[content.key] = content.json_text()
        for t_index, target in enumerate(targets):
            key = f"{base_key}:{index}:{t_index}"
            if not (isinstance(content, Card) and content.key):
                entries.append(row(key, target, "text" if isinstance(content, Text) else "post", content.to_json()))
                continue
            where = (content.key, target.platform, target.conversation_id)
            if where not in seen:
                seen.add(where)
                entries.append(CardCopy(content.key, row(key, target, "post", {})))
    placed = {entry.card_key for entry in entries if isinstance(entry, CardCopy)}
    cards = {key: text for key, text in contents.items() if key in placed}  # a card with nowhere to go is not stored
    updates = {card.key or "": card.json_text() for card in outcome.updates}  # the last content given for a key
    timers = [TimerRow(t.key, t.kind, t.due_at, t.payload) for t in outcome.timers]
    return await finish_event(entries, cards, updates, audit, timers, now, outcome.cancel_timers, _answers(ctx, outcome))


def _answers(ctx: Context, outcome: Outcome) -> list[ConfirmationRow]:
    """The actor's answers to confirmations, with the platform account and time they came from."""
    if not outcome.confirmations:
        return []
    actor, event = ctx.actor, ctx.event
    if actor is None:
        raise ValueError("a confirmation answered by no one")
    return [
        ConfirmationRow(note.subject, note.purpose, actor.id, note.state, ctx.now, event.platform, event.actor_id, note.comment)
        for note in outcome.confirmations
    ]
