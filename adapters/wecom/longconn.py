"""The intelligent robot's long connection, spoken directly on aiohttp.

Frames are JSON ``{"cmd", "headers": {"req_id"}, "body"}``; the server answers every
client frame with ``{"headers": {"req_id": <same>}, "errcode", "errmsg"}``. After
connecting we send ``aibot_subscribe`` with the bot id and secret, then a ``ping``
every ``heartbeat`` seconds; two pings without an answer mean the connection is dead.

The official SDK (``aibot``) speaks the same frames but stops reconnecting after
``max_reconnect_attempts`` (10 by default) and cancels its own reconnect task when the
connection drops. This client reconnects forever with capped exponential backoff and
jitter, and resets the backoff after every successful subscription. Replies that share
a ``req_id`` are sent one at a time, because the answer is matched by ``req_id``.

A robot has one long connection. When another process subscribes with the same bot id,
WeCom moves the connection there and tells this one (``disconnected_event``, see
``taken_over``). Reconnecting at once would take it back and make the other process do
the same, for ever; so after a takeover this client waits ``takeover_base`` seconds
(30 by default), doubling with every takeover that follows a short tenure, up to
``takeover_max`` (5 minutes), before it subscribes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from adapters.keyed_locks import KeyedLocks

from .client import WeComAPIError

log = logging.getLogger("collabbot.wecom.ws")

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"

FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]


class NotConnected(ConnectionError):
    """The long connection is down (reconnecting)."""


def _is_takeover(frame: dict[str, Any]) -> bool:
    body = frame.get("body")
    event = body.get("event") if isinstance(body, dict) else None
    return isinstance(event, dict) and event.get("eventtype") == "disconnected_event"


def new_req_id(prefix: str) -> str:
    return f"{prefix}_{int(time.time() * 1000)}_{os.urandom(4).hex()}"


class LongConnection:
    def __init__(
        self,
        url: str,
        bot_id: str,
        secret: str,
        on_frame: FrameHandler,
        *,
        heartbeat: float = 30.0,
        reconnect_base: float = 1.0,
        reconnect_max: float = 30.0,
        ack_timeout: float = 5.0,
        takeover_base: float = 30.0,
        takeover_max: float = 300.0,
    ):
        self.url = url
        self.bot_id = bot_id
        self.secret = secret
        self.on_frame = on_frame
        self.heartbeat = heartbeat
        self.reconnect_base = reconnect_base
        self.reconnect_max = reconnect_max
        self.ack_timeout = ack_timeout
        self.takeover_base = takeover_base
        self.takeover_max = takeover_max
        self.takeovers = 0  # takeovers in a row, each soon after we had subscribed again
        self.next_delay: float | None = None  # the wait before the next connection attempt (tests, logs)
        self._taken_over = False
        self._subscribed_at: float | None = None
        self._closer: asyncio.Task[bool] | None = None
        self.ready = asyncio.Event()
        self.subscriptions = 0  # successful subscriptions so far (1 + reconnects)
        self.failures = 0  # consecutive failed attempts
        self.handled = 0  # callbacks handled so far (tests wait on it)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._locks = KeyedLocks()
        self._handlers: set[asyncio.Task[None]] = set()
        self._missed_pings = 0
        self._closing = False

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._closing = False
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name="wecom-long-connection")

    async def stop(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._fail_pending("the bot is stopping")

    def taken_over(self) -> None:
        """WeCom said another connection subscribed with this bot id: give the connection up and wait before
        taking it back (see the module docstring)."""
        now = time.monotonic()
        held = now - self._subscribed_at if self._subscribed_at is not None else 0.0
        self.takeovers = 1 if held > self.takeover_max else self.takeovers + 1
        self._taken_over = True
        log.warning(
            "another process took over the WeCom robot's long connection (takeover %d in a row); backing off", self.takeovers
        )
        ws = self._ws
        if ws is not None and not ws.closed:
            self._closer = asyncio.create_task(ws.close())  # WeCom drops it too; do not wait for that

    def takeover_backoff(self, takeovers: int) -> float:
        delay = min(self.takeover_max, self.takeover_base * 2 ** max(0, takeovers - 1))
        return delay * random.uniform(0.8, 1.0)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures: doubling, capped, with jitter."""
        delay = min(self.reconnect_max, self.reconnect_base * 2 ** max(0, failures - 1))
        return delay * random.uniform(0.5, 1.0)

    async def _run(self) -> None:
        assert self._session is not None
        while not self._closing:
            try:
                async with self._session.ws_connect(self.url, heartbeat=None, autoping=True, max_msg_size=8 * 1024 * 1024) as ws:
                    self._ws = ws
                    reader = asyncio.create_task(self._read(ws))
                    try:
                        if await self._subscribe(ws):
                            self.failures = 0
                            self.subscriptions += 1
                            self._missed_pings = 0
                            self.ready.set()
                            self._subscribed_at = time.monotonic()
                            log.info("WeCom long connection subscribed (%d)", self.subscriptions)
                            pinger = asyncio.create_task(self._ping(ws))
                            try:
                                await reader
                            finally:
                                pinger.cancel()
                                with contextlib.suppress(asyncio.CancelledError):
                                    await pinger
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await reader
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("WeCom long connection failed: %s", exc)
            except Exception:
                log.exception("WeCom long connection broke")
            finally:
                self.ready.clear()
                self._ws = None
                self._fail_pending("the WeCom long connection dropped")
            if self._closing:
                return
            if self._taken_over:
                self._taken_over = False
                delay = self.takeover_backoff(self.takeovers)
                log.info("leaving the WeCom long connection to the other process for %.0f s", delay)
            else:
                self.failures += 1
                delay = self.backoff(self.failures)
                log.info("reconnecting to WeCom in %.1f s (attempt %d)", delay, self.failures)
            self.next_delay = delay
            await asyncio.sleep(delay)

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        req_id = new_req_id(SUBSCRIBE)
        try:
            ack = await self._exchange(ws, {"cmd": SUBSCRIBE, "headers": {"req_id": req_id}, "body": {"bot_id": self.bot_id, "secret": self.secret}})
        except TimeoutError:
            log.warning("WeCom did not answer the subscription within %.0f s", self.ack_timeout)
            await ws.close()
            return False
        except NotConnected:
            return False
        if ack.get("errcode", 0) != 0:
            log.error("WeCom refused the subscription (errcode %s: %s): check wecom.bot_id and wecom.secret (COLLABBOT_WECOM__SECRET)", ack.get("errcode"), ack.get("errmsg"))
            await ws.close()
            return False
        return True

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self.heartbeat)
            if self._missed_pings >= 2:
                log.warning("two WeCom heartbeats unanswered: reconnecting")
                await ws.close()
                return
            self._missed_pings += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(json.dumps({"cmd": PING, "headers": {"req_id": new_req_id(PING)}}))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await self._read_frames(ws)
        finally:
            self._fail_pending("the WeCom long connection closed")

    async def _read_frames(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                if message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    return
                continue
            try:
                frame = json.loads(message.data)
            except ValueError:
                log.warning("WeCom sent a frame that is not JSON")
                continue
            if not isinstance(frame, dict):
                continue
            cmd = frame.get("cmd")
            if cmd == EVENT_CALLBACK and _is_takeover(frame):
                self.taken_over()  # here, before WeCom's close is read: the decision to back off must not race it
            if cmd in (MSG_CALLBACK, EVENT_CALLBACK):
                task = asyncio.create_task(self._handle(frame))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
                continue
            headers = frame.get("headers")
            req_id = str(headers.get("req_id") or "") if isinstance(headers, dict) else ""
            future = self._pending.get(req_id)
            if future is not None and not future.done():
                future.set_result(frame)
            elif req_id.startswith(PING):
                self._missed_pings = 0
            else:
                log.debug("WeCom frame not awaited: %s", req_id)

    async def _handle(self, frame: dict[str, Any]) -> None:
        try:
            await self.on_frame(frame)
        except Exception:
            log.exception("handling a WeCom callback failed")
        finally:
            self.handled += 1

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected(reason))
        self._pending.clear()

    # -- requests ----------------------------------------------------------

    async def _exchange(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> dict[str, Any]:
        req_id = frame["headers"]["req_id"]
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            try:
                await ws.send_str(json.dumps(frame, ensure_ascii=False))
            except (ConnectionError, RuntimeError) as exc:
                raise NotConnected(str(exc)) from exc
            return await asyncio.wait_for(future, self.ack_timeout)
        finally:
            if self._pending.get(req_id) is future:
                del self._pending[req_id]

    async def request(self, cmd: str, req_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send one frame and wait for WeCom's answer; ``WeComAPIError`` on a non-zero errcode."""
        async with self._locks.hold(req_id):
            ws = self._ws
            if ws is None or ws.closed or not self.ready.is_set():
                raise NotConnected("the WeCom long connection is down (reconnecting)")
            ack = await self._exchange(ws, {"cmd": cmd, "headers": {"req_id": req_id}, "body": body})
        errcode = int(ack.get("errcode") or 0)
        if errcode:
            raise WeComAPIError(errcode, str(ack.get("errmsg", "")))
        return ack
