"""Routing: decorators register handlers for commands, card actions, forms and timers.

First match wins; unmatched input gets the localized help reply, never silence.
A handler receives, by parameter name, only what it asks for (see ``Context``):

    @router.command("new", "新建协作", "发起")
    async def new_request(ctx: Context, args: str) -> Outcome: ...
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.types import EventKind, Outcome

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import Config
    from bot.types import Conversation, Event
    from storage.models import Group, Identity, Person

Handler = Callable[..., Awaitable[Outcome | None]]


@dataclass(slots=True)
class Context:
    """Everything a handler may ask for by name.

    - ``event``: the ``Event``; ``actor``: the resolved ``Person`` (None for timers);
    - ``identity``: the actor's platform identity; ``group``: the ``Group`` the event came from, if any;
    - ``locale``: the reply locale; ``now``: the injected clock's time (UTC); ``clock``, ``config``;
    - ``args``: the command text after the command word; ``command``: the canonical command name;
    - ``conversation``: where the event happened.
    """

    event: Event
    config: Config
    clock: Clock
    now: datetime
    locale: str
    actor: Person | None = None
    identity: Identity | None = None
    group: Group | None = None
    conversation: Conversation | None = None
    args: str = ""
    command: str | None = None
    services: dict[str, Any] = field(default_factory=dict)

    def injectable(self) -> dict[str, Any]:
        names = {
            "ctx": self,
            "event": self.event,
            "config": self.config,
            "clock": self.clock,
            "now": self.now,
            "locale": self.locale,
            "actor": self.actor,
            "identity": self.identity,
            "group": self.group,
            "conversation": self.conversation,
            "args": self.args,
            "command": self.command,
        }
        names.update(self.services)
        return names


@dataclass(slots=True)
class Route:
    handler: Handler
    wants: tuple[str, ...]
    name: str


def _wants(handler: Handler) -> tuple[str, ...]:
    return tuple(inspect.signature(handler).parameters)


_FULLWIDTH = str.maketrans({"：": ":", "，": ",", "；": ";", "（": "(", "）": ")", "　": " ", "／": "/"})


def normalize_text(text: str) -> str:
    """Full-width punctuation to ASCII, NFKC, trimmed: ``新建协作：`` reads like ``新建协作:``."""
    return unicodedata.normalize("NFKC", text.translate(_FULLWIDTH)).strip()


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """``normalize_text`` without the trim, and for each character of the result the index of the typed one it came from."""
    translated = text.translate(_FULLWIDTH)  # one character for one: the positions stay
    if unicodedata.is_normalized("NFKC", translated):  # most text: nothing more to change
        return translated, list(range(len(text)))
    parts: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char.translate(_FULLWIDTH))
        parts.append(normal)
        positions += [index] * len(normal)
    return "".join(parts), positions


class TypedText(str):
    """The normalized text a handler parses, still holding what the person typed.

    Commands are recognised on a normalized copy (``：`` reads as ``:``), but
    what a person typed is stored and shown as typed: ``parse_fields`` reads
    field values from ``original``.
    """

    original: str

    def __new__(cls, normalized: str, original: str) -> TypedText:
        made = super().__new__(cls, normalized)
        made.original = original
        return made


def typed_rest(text: str, normalized_start: int) -> TypedText:
    """The normalized text from ``normalized_start`` on (trimmed), carrying the typed text it came from."""
    normal, positions = normalize_with_map(text)
    rest = normal[normalized_start:]
    lead = len(rest) - len(rest.lstrip())
    start = normalized_start + lead
    end = len(normal.rstrip())
    if start >= end:
        return TypedText("", "")
    return TypedText(normal[start:end], text[positions[start] : positions[end - 1] + 1])


_CJK = re.compile(r"[\u3400-\u9fff]")


def split_command(text: str, prefixes: tuple[str, ...] = ()) -> tuple[str, str]:
    """``"/collab new title: x"`` → ``("new", "title: x")``; ``"进度 XZB-01 50%"`` → ``("进度", "XZB-01 50%")``.

    The rest is a ``TypedText``: normalized, and holding what was typed.
    """
    typed = text
    normal = normalize_with_map(text)[0]
    at = len(normal) - len(normal.lstrip())
    for prefix in prefixes:
        if normal[at:].lower().startswith(prefix.lower()):
            at += len(prefix)
            break
    while at < len(normal) and (normal[at].isspace() or normal[at] == "/"):
        at += 1
    if at >= len(normal.rstrip()):
        return "", ""
    match = re.compile(r"([^\s:,]+)[\s:,]*").match(normal, at)
    if not match:
        return "", typed_rest(typed, at)
    return match.group(1), typed_rest(typed, match.end())


class Router:
    """Maps events to handlers. Several routers can be included into one."""

    def __init__(self) -> None:
        self.commands: dict[str, Route] = {}
        self.canonical: dict[str, str] = {}  # alias (lower-case) -> canonical name
        self.cjk_aliases: list[str] = []  # tried as prefixes when no space follows a Chinese command
        self.actions: dict[str, Route] = {}
        self.forms: dict[str, Route] = {}
        self.timers: dict[str, Route] = {}
        self.message_handlers: list[Route] = []
        self.fallback: Route | None = None

    # -- registration ----------------------------------------------------

    def command(self, name: str, *aliases: str) -> Callable[[Handler], Handler]:
        """Register a command under its canonical ``name`` and any aliases (English and Chinese)."""

        def register(handler: Handler) -> Handler:
            route = Route(handler, _wants(handler), name)
            self.commands[name] = route
            for word in (name, *aliases):
                self.canonical[word.lower()] = name
                if _CJK.search(word):
                    self.cjk_aliases.append(word)
            self.cjk_aliases.sort(key=len, reverse=True)
            return handler

        return register

    def action(self, action_id: str) -> Callable[[Handler], Handler]:
        """Register a card button action (``Button.action``)."""
        return self._register(self.actions, action_id)

    def form(self, form_id: str) -> Callable[[Handler], Handler]:
        """Register a form submission (``Form.id``)."""
        return self._register(self.forms, form_id)

    def timer(self, kind: str) -> Callable[[Handler], Handler]:
        """Register a timer kind (``TimerSpec.kind``)."""
        return self._register(self.timers, kind)

    def message(self) -> Callable[[Handler], Handler]:
        """Register a handler for free text that is no command; it returns None to pass."""

        def register(handler: Handler) -> Handler:
            self.message_handlers.append(Route(handler, _wants(handler), handler.__name__))
            return handler

        return register

    def unhandled(self) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.fallback = Route(handler, _wants(handler), "unhandled")
            return handler

        return register

    def _register(self, table: dict[str, Route], key: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if key in table:
                raise ValueError(f"{key!r} is registered twice")
            table[key] = Route(handler, _wants(handler), key)
            return handler

        return register

    def include(self, other: Router) -> None:
        for name, route in other.commands.items():
            self.commands[name] = route
        self.canonical.update(other.canonical)
        self.cjk_aliases = sorted({*self.cjk_aliases, *other.cjk_aliases}, key=len, reverse=True)
        for table, theirs in ((self.actions, other.actions), (self.forms, other.forms), (self.timers, other.timers)):
            for key, route in theirs.items():
                if key in table:
                    raise ValueError(f"{key!r} is registered twice")
                table[key] = route
        self.message_handlers += other.message_handlers
        self.fallback = other.fallback or self.fallback

    # -- matching --------------------------------------------------------

    def parse_command(self, text: str, prefixes: tuple[str, ...] = ()) -> tuple[str | None, str]:
        """The canonical command and its argument text, or ``(None, text)``."""
        word, rest = split_command(text, prefixes)
        if not word:
            return None, rest
        name = self.canonical.get(word.lower())
        if name:
            return name, rest
        normal = normalize_with_map(text)[0]
        at = len(normal) - len(normal.lstrip())
        while at < len(normal) and normal[at] == "/":
            at += 1
        for prefix in prefixes:
            if normal[at:].lower().startswith(prefix.lstrip("/").lower()):
                at += len(prefix.lstrip("/"))
                at += len(normal[at:]) - len(normal[at:].lstrip())
        for alias in self.cjk_aliases:  # "进度XZB…" without a space
            if normal.startswith(alias, at):
                at += len(alias)
                while at < len(normal) and normal[at] in " :,":
                    at += 1
                return self.canonical[alias.lower()], typed_rest(text, at)
        return None, typed_rest(text, 0)

    def route_for(self, ctx: Context) -> Route | None:
        event = ctx.event
        if event.kind is EventKind.ACTION:
            return self.actions.get(event.action or "")
        if event.kind is EventKind.FORM:
            return self.forms.get(event.action or "")
        if event.kind is EventKind.TIMER:
            return self.timers.get(event.action or "")
        if ctx.command:
            return self.commands.get(ctx.command)
        return None

    @staticmethod
    async def call(route: Route, ctx: Context) -> Outcome | None:
        available = ctx.injectable()
        kwargs = {name: available.get(name) for name in route.wants}
        return await route.handler(**kwargs)
