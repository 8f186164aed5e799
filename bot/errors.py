"""One error hierarchy, mapped once at the edge.

``UserError`` and its children are mistakes a person made: their message is a
translatable ``Msg`` that the engine replies with, in the person's language,
after rolling back everything the event had written. ``PlatformError`` and its
children are raised only by transports and drive the outbox's retry policy.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import OperationalError

from bot.i18n import Join, Msg


class CollabError(Exception):
    """Base of every error collabbot raises on purpose."""


class UserError(CollabError):
    """A mistake by the person who sent the event; ``message`` tells them what and how to fix it."""

    def __init__(self, message: Msg | Join, *, field: str | None = None, **detail: Any):
        super().__init__(message.msgid if isinstance(message, Msg) else "(several lines)")
        self.message = message
        self.field = field
        self.detail = detail


class NotAllowed(UserError):
    """The actor may not do this (the wrong head, not the reviewer, their own deliverable…)."""


class NotFound(UserError):
    """A collaboration, subtask, person or department named by the user does not exist."""


class InvalidInput(UserError):
    """A field is missing or malformed; ``field`` names it where there is one."""


class TransitionNotAllowed(UserError):
    """The record is not in a state where this step can happen (decided, archived, stale card)."""


class MalformedPayload(CollabError):
    """An inbound payload of the wrong shape (a string where an object belongs, a non-numeric timestamp,
    a body that is not UTF-8…). Not a person's mistake and not a bug: the transport refuses it with
    HTTP 400, or acks a stream frame and logs the refusal, so the platform does not redeliver it forever."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class DatabaseUnavailable(OperationalError):
    """The database cannot be reached (connection lost or refused, file locked), whatever the driver raised.

    ``Engine.dispatch`` raises it instead of answering, with nothing committed: a transport answers the
    platform 503 or leaves the frame unacknowledged, so the platform redelivers the event once the
    database is back. A tortoise ``OperationalError``, so ``except OperationalError`` catches it too."""


class PlatformError(CollabError):
    """Raised by transports only. ``permanent`` errors are not retried."""

    permanent = False

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class RateLimited(PlatformError):
    def __init__(self, message: str = "rate limited", *, retry_after: float = 1.0, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class AuthExpired(PlatformError):
    """The access token expired or was revoked; the transport refreshes and the row is retried."""


class TransientError(PlatformError):
    """5xx, timeouts, connection resets: retried with backoff."""


class PermanentError(PlatformError):
    """A 4xx that retrying cannot fix (unknown channel, bad payload): the row becomes dead."""

    permanent = True
