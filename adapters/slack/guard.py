"""The door of Slack's HTTP endpoint: a signature over the raw bytes, then the payload's shape, before Bolt.

An unsigned or stale request is answered 401. A signed one of the wrong shape (not
UTF-8, JSON that is not an object, a string where an object belongs…) is answered
400 with one warning line, so neither Bolt nor a handler ever trips on it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.errors import MalformedPayload

from . import inbound

log = logging.getLogger("collabbot.slack")

SIGNATURE_WINDOW = 5 * 60  # seconds, Slack's own; on real time, as Bolt checks it


def signed(raw: bytes, headers: dict[str, str | Sequence[str]], secret: str) -> bool:
    """Slack's v0 signature over the raw bytes (a body that is not UTF-8 can still be signed); a timestamp
    that is not a number, or is older than five minutes, is unsigned."""
    lower = {k.lower(): v for k, v in headers.items() if isinstance(v, str)}
    timestamp, signature = lower.get("x-slack-request-timestamp", ""), lower.get("x-slack-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def admit(raw: bytes, query: str, headers: dict[str, str | Sequence[str]], secret: str) -> AsyncBoltRequest | web.Response:
    """The request for Bolt, or the answer that refuses it (401 unsigned, 400 malformed)."""
    if not signed(raw, headers, secret):
        log.warning("slack: refused an unsigned or stale request")
        return web.Response(status=401, text="invalid request signature")
    try:
        request = AsyncBoltRequest(body=raw.decode("utf-8"), query=query, headers=headers)
        inbound.check_request(request.body)
    except UnicodeDecodeError:
        return malformed(MalformedPayload("the body is not UTF-8"))
    except MalformedPayload as exc:
        return malformed(exc)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:  # Bolt's own parsing and context
        return malformed(MalformedPayload(f"the body cannot be parsed: {type(exc).__name__}"))
    return request


def malformed(error: MalformedPayload) -> web.Response:
    log_refusal(error)
    return web.Response(status=400, text=f"malformed payload: {error.reason}")


def log_refusal(error: MalformedPayload) -> None:
    """A refusal, not a crash: one line, no traceback (the payload's shape is the sender's problem)."""
    log.warning("slack: refused a malformed payload: %s", error.reason)
