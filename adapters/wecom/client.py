"""A small client for a self-built app (自建应用): ``gettoken``, ``message/send``,
``message/update_template_card`` and ``media/upload``, on aiohttp.

The access token is cached until shortly before ``expires_in`` and fetched again
when WeCom answers 42001 (expired) or 40014 (invalid): WeCom may invalidate a token
early, so one retry with a fresh token follows. Errors map to the outbox's retry
classes: -1 (busy) and 5xx are transient, 45009 (frequency limit) is a rate limit,
the rest are permanent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.errors import AuthExpired, PermanentError, RateLimited, TransientError

log = logging.getLogger("collabbot.wecom.app")

TOKEN_ERRORS = {40014, 41001, 42001}
BUSY = {-1}
RATE_LIMITED = {45009, 45033}
UNTRUSTED_IP = 60020  # "not allow to access from your ip": the server is not in the app's 企业可信IP
CONFIGURATION_HOLD = 600.0  # seconds a message waits for an admin to fix the app's settings, then is tried again
TOKEN_MARGIN = 300.0  # seconds before expires_in at which a cached token is renewed


class WeComAPIError(Exception):
    """WeCom answered with a non-zero ``errcode``."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class ConfigurationProblem(RateLimited):
    """WeCom refuses because of the app's settings, not the message: the message is not dead, it waits
    ``CONFIGURATION_HOLD`` and is tried again, and the error says which setting to fix."""

    metric = "configuration"


def classify(error: WeComAPIError) -> Exception:
    """The outbox exception for a WeCom error code."""
    if error.errcode == UNTRUSTED_IP:
        message = (
            f"WeCom refused the self-built app's API call from this server's IP ({error}): add the server's public "
            "egress IP to the app's 企业可信IP (管理后台 → 应用管理 → the app of wecom.agent_id → 企业可信IP; see "
            "docs/wecom.md). Messages wait and are tried again every 10 minutes."
        )
        log.error("%s", message)
        return ConfigurationProblem(message, retry_after=CONFIGURATION_HOLD, status=None)
    if error.errcode in BUSY:
        return TransientError(str(error))
    if error.errcode in RATE_LIMITED:
        return RateLimited(str(error), retry_after=60.0, status=None)
    if error.errcode in TOKEN_ERRORS:
        return AuthExpired(str(error))
    return PermanentError(str(error))


@dataclass(slots=True)
class SendResult:
    msgid: str
    response_code: str


class AppClient:
    """One self-built app. ``now`` gives epoch seconds (the bot's clock, so tests can expire tokens)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        corp_id: str,
        corp_secret: str,
        agent_id: int,
        now: Callable[[], float],
        timeout: float = 10.0,
    ):
        self.session = session
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.agent_id = agent_id
        self.now = now
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs) as response:
                if response.status >= 500:
                    raise TransientError(f"WeCom {path}: HTTP {response.status}", status=response.status)
                if response.status >= 400:
                    raise PermanentError(f"WeCom {path}: HTTP {response.status}", status=response.status)
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"WeCom {path}: {exc.__class__.__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise TransientError(f"WeCom {path}: the answer is not a JSON object")
        return data

    async def token(self, *, refresh: bool = False) -> str:
        async with self._lock:
            if not refresh and self._token and self.now() < self._expires_at:
                return self._token
            data = await self._json("GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self.corp_secret})
            self.token_fetches += 1
            errcode = int(data.get("errcode") or 0)
            if errcode:
                error = WeComAPIError(errcode, str(data.get("errmsg", "")))
                if errcode in BUSY or errcode == UNTRUSTED_IP:
                    raise classify(error)
                raise PermanentError(f"gettoken refused ({error}): check wecom.corp_id and wecom.corp_secret")
            self._token = str(data["access_token"])
            self._expires_at = self.now() + max(60.0, float(data.get("expires_in", 7200)) - TOKEN_MARGIN)
            return self._token

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path`` with the access token; one retry with a new token on 42001/40014."""
        for attempt in range(2):
            token = await self.token(refresh=attempt > 0)
            data = await self._json("POST", path, params={"access_token": token}, json=body)
            errcode = int(data.get("errcode") or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                log.info("WeCom token rejected (%s), fetching a new one", errcode)
                self._token = None
                continue
            if errcode:
                raise WeComAPIError(errcode, str(data.get("errmsg", "")))
            return data
        raise AuthExpired("WeCom rejected a freshly fetched access token")

    async def send(self, touser: str, message: dict[str, Any], *, duplicate_check_seconds: int = 1800) -> SendResult:
        """``message/send`` to one member; ``message`` is ``{"msgtype", <type>: {...}}``.

        ``enable_duplicate_check`` makes WeCom drop the same content sent again within
        the interval, which covers the one window where the outbox may send a row twice.
        """
        body = {
            "touser": touser,
            "agentid": self.agent_id,
            **message,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": duplicate_check_seconds,
        }
        data = await self.call("message/send", body)
        # partial success still answers errcode 0
        if data.get("invaliduser") or data.get("unlicenseduser"):
            raise PermanentError(f"WeCom did not deliver to {touser}: invalid or unlicensed member")
        return SendResult(str(data.get("msgid") or ""), str(data.get("response_code") or ""))

    async def upload_media(self, kind: str, filename: str, data: bytes, mime: str) -> str:
        """``media/upload?type=image|file`` (multipart ``media``): a chart or an export; its ``media_id`` (valid 3 days)."""
        for attempt in range(2):
            token = await self.token(refresh=attempt > 0)
            form = aiohttp.FormData()  # consumed by one request
            form.add_field("media", data, filename=filename, content_type=mime)
            answer = await self._json("POST", "media/upload", params={"access_token": token, "type": kind}, data=form)
            errcode = int(answer.get("errcode") or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                self._token = None
                continue
            if errcode:
                raise classify(WeComAPIError(errcode, str(answer.get("errmsg", ""))))
            return str(answer["media_id"])
        raise AuthExpired("WeCom rejected a freshly fetched access token")

    async def update_template_card(self, userids: list[str], response_code: str, template_card: dict[str, Any]) -> dict[str, Any]:
        """Replace a sent card for ``userids``; ``response_code`` is single-use and valid 72 h."""
        body = {"userids": userids, "agentid": self.agent_id, "response_code": response_code, "template_card": template_card}
        return await self.call("message/update_template_card", body)
