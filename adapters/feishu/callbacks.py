"""The HTTP event subscription (事件订阅 / 回调 over HTTPS), the alternative to the long connection.

Feishu POSTs every event and card callback to ``events_path`` on the bot's own aiohttp server.
Checked in this order, each failure answered without touching the engine:

1. the signature over timestamp, nonce, Encrypt Key and the raw body, and the timestamp's age
   (``crypto.check_signature``; 401);
2. the nonce, claimed once across every process (``storage.nonces``; a replay is 401);
3. decryption (400 when it fails) and the Verification Token inside (401);
4. the ``url_verification`` challenge is answered with itself; an event goes to ``handle``, and
   a card action's answer (the updated card) is the HTTP response.

The challenge Feishu sends when the URL is saved is not signed; it is accepted on its token alone,
and it changes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from tortoise.exceptions import OperationalError

from bot.config import secret_text
from bot.errors import MalformedPayload

from . import crypto, inbound

if TYPE_CHECKING:
    from .transport import FeishuPlatform

log = logging.getLogger("collabbot.feishu")

MAX_BODY = 1024 * 1024


async def http_callback(platform: FeishuPlatform, request: web.Request) -> web.Response:
    section = platform.section
    encrypt_key = secret_text(section.encrypt_key)
    token = secret_text(section.verification_token)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return web.Response(status=413, text="callback too large")
    signed = crypto.SIGNATURE in request.headers
    try:
        if signed:
            _timestamp, nonce = crypto.check_signature(request.headers, raw, encrypt_key, now=platform.epoch(), max_age=section.max_age_seconds)
            if platform.nonces is not None and not await platform.nonces.claim(nonce, platform.epoch()):
                raise crypto.Refused("replayed callback")
        body = crypto.open_body(raw, encrypt_key)
        found = inbound.envelope(body)
        crypto.check_token(found.token, token)
    except crypto.Refused as exc:
        log.warning("feishu: refused an HTTP callback: %s", exc)
        return web.json_response({"error": "refused"}, status=401)
    except MalformedPayload as exc:
        log.warning("feishu: refused a malformed HTTP callback: %s", exc.reason)
        return web.json_response({"error": f"malformed payload: {exc.reason}"}, status=400)
    if found.kind == "challenge":
        return web.json_response({"challenge": found.challenge})
    if not signed:
        log.warning("feishu: refused an unsigned event callback")
        return web.json_response({"error": "refused"}, status=401)
    try:
        answer: dict[str, Any] | None = await platform.handle(found)
    except MalformedPayload as exc:
        log.warning("feishu: refused a malformed %s event: %s", found.event_type, exc.reason)
        return web.json_response({"error": f"malformed payload: {exc.reason}"}, status=400)
    except OperationalError:
        log.exception("feishu: the database is unavailable; answering 503 so Feishu delivers %s again", found.event_id)
        return web.json_response({"error": "temporarily unavailable"}, status=503)
    return web.json_response(answer or {})
