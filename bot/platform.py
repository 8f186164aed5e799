"""What a platform adapter gives the engine, and what the engine gives it.

Every platform folder in ``adapters/`` has the same files: ``inbound.py``
(payload → ``Event``, pure), ``render.py`` (localized ``Card``/``Text`` →
platform payload, pure), ``transport.py`` (network: connections, acks,
sends). The transport implements ``Platform`` below; the core never imports
a platform SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.types import Card, Conversation, FileContent, Text

if TYPE_CHECKING:
    from aiohttp import web

    from bot.clock import Clock
    from bot.engine import DispatchResult
    from bot.types import Event


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can show; the engine and renderers degrade where it cannot."""

    cards: bool = True
    card_update: bool = True
    forms: bool = False  # modal / card forms
    ephemeral: bool = False
    direct_messages: bool = True
    threads: bool = False
    markdown: bool = True


@dataclass(slots=True)
class Mention:
    platform_user_id: str
    name: str


@dataclass(slots=True)
class Delivery:
    """One outbox row, localized and ready for ``render``/``transport``.

    ``kind``: ``text`` (a plain message), ``post`` (a new copy of a card),
    ``edit`` (bring an already posted copy, ``message_ref``, to the new content). A ``FileContent``
    comes as a ``post``: upload it, or show its caption and link where the platform cannot.
    ``recipient`` is the platform user id of a DM or of an ephemeral reply.
    ``reply_to`` is whatever the adapter's ``inbound`` put in ``Event.reply_to``.
    """

    outbox_id: int
    dedupe_key: str
    kind: Literal["text", "post", "edit"]
    conversation: Conversation
    content: Card | Text | FileContent
    locale: str
    recipient: str | None = None
    message_ref: str | None = None
    reply_to: dict[str, Any] | None = None
    mentions: list[Mention] = field(default_factory=list)
    attempt: int = 0
    first_try: datetime | None = None  # when the row was committed: no earlier try can have posted before it


@dataclass(slots=True)
class Receipt:
    """What the platform answered: the id to update the message later (Slack ``ts``, DingTalk outTrackId…)."""

    message_ref: str | None = None
    # What happened when a send was ambiguous: "reconciled" (an earlier try had posted it: not posted
    # again), "not_repeated" (it may have been shown and the platform offers no way to check: not sent
    # again), "unverified" (no way to check: sent again, may show twice). Counted in /metrics.
    ambiguity: str | None = None


@dataclass(frozen=True, slots=True)
class Pace:
    """A platform limit that a delivery counts against, shared by every process (``bot/pacing.py``).

    Without ``burst``: a sliding window, at most ``limit`` sends in any ``per_seconds`` (DingTalk's 20 a
    minute per group, WeCom's 30 a minute per member) — the whole limit may go at once. With ``burst``:
    a token bucket refilled at ``limit`` per ``per_seconds`` holding at most ``burst`` tokens (Slack's
    "one message a second per channel, short bursts allowed").
    """

    key: str
    limit: int
    per_seconds: float
    burst: int | None = None


class Runtime(Protocol):
    """What the running bot hands a platform when it starts."""

    clock: Clock
    web: web.Application | None

    async def dispatch(self, event: Event) -> DispatchResult:
        """Run ``Engine.dispatch`` and wake the delivery worker for what it produced."""
        ...


class Platform(Protocol):
    """A platform transport. Raise ``bot.errors.PlatformError`` subclasses from ``deliver``."""

    name: str
    capabilities: Capabilities

    async def start(self, runtime: Runtime) -> None:
        """Connect (websocket, stream) and/or mount HTTP routes on ``runtime.web``. Must return promptly."""
        ...

    async def stop(self) -> None:
        """Close connections; must finish within a few seconds."""
        ...

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Send, post or edit one message. Idempotency is the outbox's job, pacing is ``pace``'s."""
        ...

    def pace(self, delivery: Delivery) -> list[Pace]:
        """The rate limits this delivery counts against."""
        ...
