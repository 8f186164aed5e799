"""``Engine.dispatch``: the one entry point for every platform and for the scheduler.

dedupe (inbox row, written first) → middleware (person, group, command,
locale) → router → handler → ``Outcome`` → one commit of records, audit
entries, outbox rows and timers. A user mistake rolls the handler's writes
back and commits only the inbox row and a translated reply. A bug is logged
and answered with a translated apology; it never crashes the process.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from tortoise.transactions import in_transaction

from bot import outcome_writer
from bot.calendar import WorkCalendar
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.errors import DatabaseUnavailable, InvalidInput, UserError
from bot.i18n import _, localize
from bot.logs import event_context
from bot.middleware import DEFAULT_MIDDLEWARE
from bot.router import Context, Router
from bot.types import Event, EventKind, Form, Outcome
from storage import at_end, db, directory
from storage.directory_cache import DirectoryCache
from storage.event_rows import AuditRow, DirectoryState, claim_and_read_directory

log = logging.getLogger("collabbot.engine")

Middleware = Callable[[Context, "Engine"], Any]


@dataclass(slots=True)
class DispatchResult:
    """What ``dispatch`` did, for transports that must answer synchronously (Slack modals, acks)."""

    duplicate: bool = False
    locale: str = "zh_CN"
    outcome: Outcome | None = None
    error: UserError | None = None
    outbox_ids: list[int] = field(default_factory=list)  # the outbox rows this event wrote
    incident: str | None = None  # set when the event failed on a bug and was answered with an apology

    @property
    def queued(self) -> int:
        return len(self.outbox_ids)

    @property
    def form_errors(self) -> dict[str, str]:
        """Per-field errors of a rejected form submission, localized."""
        if self.outcome is None:
            return {}
        return {name: str(localize(message, self.locale)) for name, message in self.outcome.form_errors.items()}

    @property
    def open_form(self) -> Form | None:
        return self.outcome.open_form if self.outcome else None


class _Duplicate(Exception):
    pass


def prefixes_for(config: Config) -> tuple[str, ...]:
    """What may stand before a command: the slash command and every name the bot answers to, @-mentioned or not.

    Longest first, so ``collabbot`` is not read as ``collab`` + ``bot``.
    """
    names = list(config.bot.names)
    for section in ("dingtalk", "wecom", "slack", "feishu"):
        own = getattr(getattr(config, section, None), "bot_name", None)
        if own:
            names.append(own)
    prefixes = {"/collab", "collab"} | {f"@{n}" for n in names} | set(names)
    return tuple(sorted(prefixes, key=lambda p: (-len(p), p)))


class Engine:
    """Dispatches events. ``services`` are extra names handlers can ask for; ``calendar`` (the working-day
    calendar of the configuration) is always there. ``directory_cache`` is this process's cache of the
    directory (``storage/directory.py``), one per engine."""

    def __init__(
        self,
        router: Router,
        config: Config,
        clock: Clock | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        services: dict[str, Any] | None = None,
        command_prefixes: tuple[str, ...] | None = None,
        directory_cache: DirectoryCache | None = None,
    ):
        self.router = router
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.middleware = tuple(middleware if middleware is not None else DEFAULT_MIDDLEWARE)
        self.services = {"calendar": WorkCalendar.from_config(config), **(services or {})}
        self.command_prefixes = command_prefixes if command_prefixes is not None else prefixes_for(config)
        self.directory_cache = directory_cache or DirectoryCache(config.bot.directory_cache_size)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: what happens inside rolls back alone on error."""
        async with in_transaction("default"):
            yield

    async def dispatch(self, event: Event) -> DispatchResult:
        """Handle one event exactly once (per ``(platform, delivery_id)``), in one transaction."""
        with event_context(event.platform, event.delivery_id):  # every log line of the event names it
            return await self._dispatch(event)

    async def _dispatch(self, event: Event) -> DispatchResult:
        event = _without_control_characters(event)
        now = self.clock.now()
        ctx = Context(event=event, config=self.config, clock=self.clock, now=now, locale=self.config.bot.locale)
        ctx.services = {**self.services, "engine": self}
        try:
            try:
                with directory.event_scope(self.directory_cache) as scope, at_end.scope():
                    async with db.transaction():
                        since = scope.cache.version
                        directory_state = await self._claim(event, now, since)
                        await scope.catch_up(directory_state, since)  # what other processes changed in the directory
                        result = await self._handle(ctx)
                    scope.commit()
                    return result
            except UserError as error:  # everything the handler wrote is rolled back; say what was wrong
                return await self._refuse(ctx, error)
        except _Duplicate:
            log.info("duplicate delivery %s/%s ignored", event.platform, event.delivery_id)
            return DispatchResult(duplicate=True, locale=ctx.locale)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if _database_unavailable(exc):  # the transport does not ack: the platform redelivers once it is back
                raise DatabaseUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc
            incident = uuid.uuid4().hex[:8]
            log.exception("event %s/%s failed (incident %s)", event.platform, event.delivery_id, incident)
            return await self._apologize(ctx, incident)

    @staticmethod
    async def _claim(event: Event, now: Any, since: int | None = None) -> DirectoryState:
        """The inbox row is the transaction's first write (SQLite then never upgrades a read lock); the same
        statement reads the directory's version and its changes after ``since``, returned."""
        state = await claim_and_read_directory(event.platform, event.delivery_id, now, since)
        if state is None:
            raise _Duplicate
        return state

    async def _handle(self, ctx: Context) -> DispatchResult:
        for middleware in self.middleware:
            await middleware(ctx, self)
        limit = self.config.bot.max_text_length
        if len(ctx.event.text) > limit:
            raise InvalidInput(
                _("Your message is too long ({length} characters, the limit is {limit}). Shorten it or split it into several messages.", length=len(ctx.event.text), limit=limit)
            )
        outcome = await self._route(ctx)
        result = DispatchResult(locale=ctx.locale, outcome=outcome)
        result.outbox_ids = await outcome_writer.commit(ctx, outcome, self._audit_rows(ctx, outcome))
        return result

    async def _refuse(self, ctx: Context, error: UserError) -> DispatchResult:
        log.info("user error %s on %s", error, ctx.event.delivery_id)
        outcome = Outcome()
        if ctx.event.kind is EventKind.FORM and error.field:
            outcome.form_errors[error.field] = error.message
        if ctx.event.kind is not EventKind.TIMER:
            outcome.reply(error.message, ephemeral=True)
        async with in_transaction("default"):
            await self._claim(ctx.event, ctx.now)
            ids = await outcome_writer.commit(ctx, outcome)
        return DispatchResult(locale=ctx.locale, outcome=outcome, error=error, outbox_ids=ids)

    async def _route(self, ctx: Context) -> Outcome:
        route = self.router.route_for(ctx)
        if route is not None:
            outcome = await self.router.call(route, ctx)
            if outcome is not None:
                return outcome
        event = ctx.event
        if event.kind is EventKind.MESSAGE or (event.kind is EventKind.COMMAND and ctx.command is None):
            for handler in self.router.message_handlers:
                outcome = await self.router.call(handler, ctx)
                if outcome is not None:
                    return outcome
        if event.kind is EventKind.TIMER:
            log.warning("no handler for timer kind %s", event.action)
            return Outcome()
        if event.kind in (EventKind.ACTION, EventKind.FORM):
            raise UserError(_("This button or form is no longer handled by the bot. Send “help” to see what you can do."))
        if self.router.fallback is not None:
            outcome = await self.router.call(self.router.fallback, ctx)
            if outcome is not None:
                return outcome
        return Outcome().reply(_("Sorry, I did not understand that. Send “help” for the commands."), ephemeral=True)

    @staticmethod
    def _audit_rows(ctx: Context, outcome: Outcome) -> list[AuditRow]:
        """The outcome's decisions, with who took them (person and platform account), when, and in which delivery."""
        event = ctx.event
        actor_id = ctx.actor.id if ctx.actor else None
        return [
            AuditRow(ctx.now, actor_id, event.platform, event.actor_id, note.action, note.subject, note.detail, event.delivery_id)
            for note in outcome.audit
        ]

    async def _apologize(self, ctx: Context, incident: str) -> DispatchResult:
        """After a bug: keep the inbox row (a redelivery would fail the same way) and say so."""
        event = ctx.event
        outcome = Outcome()
        if event.kind is not EventKind.TIMER and event.conversation is not None:
            outcome.reply(
                _("Something went wrong on our side and nothing was saved (incident {incident}). Please try again or tell your admin.", incident=incident),
                ephemeral=True,
            )
        try:
            async with in_transaction("default"):
                await self._claim(event, ctx.now)
                ids = await outcome_writer.commit(ctx, outcome)
        except _Duplicate:
            return DispatchResult(duplicate=True, locale=ctx.locale, incident=incident)
        except Exception as exc:
            if _database_unavailable(exc):
                raise DatabaseUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc
            raise
        return DispatchResult(locale=ctx.locale, outcome=outcome, outbox_ids=ids, incident=incident)



_CONTROL = {code: None for code in (*range(0, 9), 11, 12, *range(14, 32), 127)}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_CONTROL)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _without_control_characters(event: Event) -> Event:
    """NUL and other control characters mean nothing in chat text, and PostgreSQL refuses NUL in text columns."""
    text, actor_name, value, form = cleaned = tuple(_clean(v) for v in (event.text, event.actor_name, event.value, event.form))
    if cleaned == (event.text, event.actor_name, event.value, event.form):  # the usual case: nothing to take out
        return event
    return replace(event, text=text, actor_name=actor_name, value=value, form=form)


def _database_unavailable(error: BaseException) -> bool:
    """A lost connection or a locked file, not a statement the database refused."""
    seen: BaseException | None = error
    for _depth in range(8):
        if seen is None:
            break
        text = str(seen).lower()
        if isinstance(seen, ConnectionError | OSError | TimeoutError) or "database is locked" in text or "connection" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
