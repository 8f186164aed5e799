"""The middleware every event passes through after dedupe: person, group, locale, command.

Each is ``async def (ctx, engine) -> None`` and may fill the ``Context``.
They run inside the event's transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from bot.i18n import DEFAULT_LOCALE, normalize_locale
from bot.types import EventKind
from storage import directory
from storage.models import Group, Identity, Person
from storage.unique import create_or_get

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from bot.config import Config
    from bot.router import Context, Router


class EngineServices(Protocol):
    """What middleware may use of the engine (a protocol: this module does not import ``bot.engine``)."""

    router: Router
    config: Config
    command_prefixes: tuple[str, ...]

    def savepoint(self) -> AbstractAsyncContextManager[None]: ...

_SEEN_REFRESH = timedelta(hours=1)


async def resolve_person(ctx: Context, engine: EngineServices) -> None:
    """Map the platform user id to a ``Person``, registering people the directory does not know yet."""
    event = ctx.event
    if not event.actor_id:
        return
    identity = await directory.identity(event.platform, event.actor_id)
    if identity is not None:  # two plain lookups (cached) cost less than tortoise's select_related join
        owner = await directory.person(identity.person_id)
        if owner is None:  # cannot be (accounts go with their person); never hand on an account without one
            identity = None
        else:
            identity.person = owner
    if identity is None:
        handle = f"{event.platform}:{event.actor_id}"[:64]
        person = await Person.filter(handle=handle).first()
        if person is None and event.actor_email:  # the platform's verified e-mail matches a directory entry
            taken = await Identity.filter(platform=event.platform).values_list("person_id", flat=True)
            person = await Person.filter(email__iexact=event.actor_email.strip()).exclude(id__in=list(taken)).first()
        if person is None:
            person, _ = await create_or_get(
                Person,
                {"handle": handle},
                {"name": (event.actor_name or event.actor_id)[:128], "email": event.actor_email, "created_at": ctx.now},
            )
        identity, created = await create_or_get(
            Identity,
            {"platform": event.platform, "platform_user_id": event.actor_id},
            {"person": person, "display_name": event.actor_name, "last_seen_at": ctx.now},
        )
        # a concurrent event may have registered this account first, with its own person row
        identity.person = person if created else await Person.get(id=identity.person_id)
    elif identity.last_seen_at is None or ctx.now - identity.last_seen_at > _SEEN_REFRESH:
        await directory.mark_seen(identity, ctx.now)
    if event.conversation is not None and event.conversation.is_direct and identity.dm_conversation is None:
        identity.dm_conversation = event.conversation.id
        await identity.save(update_fields=["dm_conversation"])
    ctx.identity = identity
    ctx.actor = identity.person


async def resolve_group(ctx: Context, engine: EngineServices) -> None:
    conversation = ctx.event.conversation
    ctx.conversation = conversation
    if conversation is None or conversation.is_direct:
        return
    group = await directory.group(conversation.platform, conversation.id)
    if group is None:
        group, _ = await create_or_get(
            Group,
            {"platform": conversation.platform, "conversation_id": conversation.id},
            {"name": conversation.name, "created_at": ctx.now},
        )
    ctx.group = group


async def parse_command(ctx: Context, engine: EngineServices) -> None:
    event = ctx.event
    if event.kind in (EventKind.COMMAND, EventKind.MESSAGE) and event.text:
        ctx.command, ctx.args = engine.router.parse_command(event.text, engine.command_prefixes)


async def choose_locale(ctx: Context, engine: EngineServices) -> None:
    """Whose language to answer in: the person's own setting; their platform account's
    language (Slack ``users.info``); the group's; the organisation's.

    The words a person types never change it: a Chinese reader who types the
    English command word ``help`` (or a slash command, whose name is English on
    every platform) still reads Chinese. ``lang en`` / ``语言 英文`` is how a
    person chooses.
    """
    event = ctx.event
    candidates = [
        ctx.actor.locale if ctx.actor else None,
        event.locale_hint,
        ctx.group.locale if ctx.group else None,
        engine.config.bot.locale,
    ]
    ctx.locale = next((loc for c in candidates if (loc := normalize_locale(c))), DEFAULT_LOCALE)


DEFAULT_MIDDLEWARE = (resolve_person, resolve_group, parse_command, choose_locale)
