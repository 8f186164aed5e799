"""Slack Web API failures mapped onto the outbox's retry policy, and the message reference format."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.errors import AuthExpired, PermanentError, RateLimited, TransientError

# Slack error codes (https://api.slack.com/methods/chat.postMessage#errors …) by what retrying can do.
_AUTH_ERRORS = {"invalid_auth", "not_authed", "token_expired", "token_revoked", "account_inactive", "ekm_access_denied"}
_TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
NOT_THERE = {"not_in_channel", "channel_not_found"}


class SlackError(PermanentError):
    """A Slack ``ok: false`` that retrying cannot fix; ``error`` is Slack's code."""

    def __init__(self, error: str, *, status: int | None = None):
        super().__init__(f"slack error: {error}", status=status)
        self.error = error


def split_ref(message_ref: str) -> tuple[str, str]:
    """``"C123:1700000000.000100"`` → ``("C123", "1700000000.000100")``."""
    channel, sep, ts = message_ref.partition(":")
    if not sep or not channel or not ts:
        raise SlackError(f"bad message_ref {message_ref!r}")
    return channel, ts


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def platform_error(exc: SlackApiError) -> Exception:
    """Map a Slack Web API failure onto the outbox's retry policy."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if status == 429 or error == "ratelimited":
        retry_after = _header(getattr(response, "headers", None), "Retry-After")
        try:
            seconds = max(1.0, float(retry_after)) if retry_after else 1.0
        except ValueError:
            seconds = 1.0
        return RateLimited(f"slack rate limited ({error or status})", retry_after=seconds)
    if (status is not None and status >= 500) or error in _TRANSIENT_ERRORS:
        return TransientError(f"slack {status}: {error or 'server error'}", status=status)
    if error in _AUTH_ERRORS:
        return AuthExpired(f"slack rejected the bot token: {error}", status=status)
    return SlackError(str(error or f"http {status}"), status=status)
