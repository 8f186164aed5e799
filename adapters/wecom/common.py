"""What the parts of the WeCom platform share: timing constants, task ids, remembered clicks, and the
state every part reads (``WeComState``; ``WeComPlatform`` in ``transport.py`` fills it)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.config import WeComSection
from bot.errors import RateLimited
from bot.platform import Delivery, Receipt, Runtime

if TYPE_CHECKING:
    from . import inbound as parse
    from .client import AppClient
    from .crypto import WeComCrypto
    from .longconn import LongConnection
    from .render import Rendered, RenderOptions

UPDATE_WINDOW = 4.5  # seconds after a click in which we still try the in-place update (WeCom allows 5)
WELCOME_WINDOW = 4.5
REPLY_WINDOW = 300.0  # a message's req_id is answered only this long; later answers are sent anew
RESPONSE_URL_WINDOW = 3500.0  # WeCom: a response_url works once, for one hour
PASSIVE_DEADLINE = 4.0  # API mode: seconds we wait for the passive reply before answering empty
PASSIVE_POLL = 0.05  # seconds between looks while another worker holds this callback's rows
MAX_BODY = 1024 * 1024
RECONNECT_RETRY = 5.0  # seconds before a row that met a dropped connection is tried again

# Sliding windows (bot/pacing.py), the whole documented limit: a member gets at most 30 messages from the
# app in any 60 s and 1000 in any hour; a group, like a group robot, 20 in any 60 s.
MEMBER_PACES = ((30, 60.0, "m"), (1000, 3600.0, "h"))
GROUP_PACES = ((20, 60.0, "m"), (1000, 3600.0, "h"))


class ConnectionDown(RateLimited):
    """The long connection is reconnecting: retry soon, without counting an attempt (an outage must not kill rows)."""

    def __init__(self, message: str):
        super().__init__(message, retry_after=RECONNECT_RETRY, status=None)


def task_id_for(delivery: Delivery) -> str:
    """A card's task id: stable for one outbox row (so a resend is refused by WeCom, not shown twice)."""
    digest = hashlib.sha1(f"{delivery.dedupe_key}|{delivery.outbox_id}".encode()).hexdigest()[:22]
    return f"cb{digest}"


def task_base(task_id: str) -> str:
    """The task id of the first copy: later copies posted after an update are ``<base>-<suffix>``."""
    return task_id.split("-", 1)[0]


@dataclass(slots=True)
class Click:
    """A card click we may still answer: by ``req_id`` (robot) or ``response_code`` (app)."""

    via: str
    task_id: str
    at: float
    userid: str
    req_id: str = ""
    response_code: str = ""
    response_url: str = ""
    used: bool = False


class Bounded(OrderedDict[str, Any]):
    """An insertion-ordered dict that forgets its oldest entries."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class WeComState:
    """The attributes and methods the parts (callbacks, replies, sender) use from the platform."""

    name: str
    section: WeComSection
    mode: str
    welcome_text: str
    runtime: Runtime | None
    session: aiohttp.ClientSession | None
    ws: LongConnection | None
    app: AppClient | None
    crypto: WeComCrypto | None
    app_crypto: WeComCrypto | None
    options: RenderOptions
    app_options: RenderOptions
    clicks: Bounded
    used: Bounded
    slots: dict[str, asyncio.Future[dict[str, Any]]]
    unanswered: dict[str, list[tuple[str, str, float]]]

    def epoch(self) -> float:
        raise NotImplementedError

    async def _dispatch(self, item: parse.Inbound) -> Any:
        raise NotImplementedError

    def _remember_click(self, item: parse.Inbound, via: str, *, response_code: str = "", response_url: str = "") -> None:
        raise NotImplementedError

    def _remember_message(self, item: parse.Inbound, via: str) -> None:
        raise NotImplementedError

    def _answerable(self, delivery: Delivery, reply_to: dict[str, Any], via: str) -> dict[str, Any]:
        raise NotImplementedError

    def _live_click(self, message_ref: str | None) -> Click | None:
        raise NotImplementedError

    def _render(self, delivery: Delivery, task_id: str, options: RenderOptions | None = None) -> Rendered:
        raise NotImplementedError

    async def _post(self, delivery: Delivery, task_id: str, *, reply_to: dict[str, Any] | None = None) -> Receipt:
        raise NotImplementedError

    def _spend(self, token: str) -> bool:
        raise NotImplementedError

    async def _app_post(self, delivery: Delivery, task_id: str) -> Receipt:
        raise NotImplementedError
