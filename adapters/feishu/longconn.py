"""The long connection (长连接), with lark-oapi's frame format and our own loop.

lark-oapi's ``ws.Client`` fetches its endpoint with a blocking ``requests.post``, runs its
handlers synchronously on a module-level event loop captured at import, and its ``start()``
never returns. So, as ``adapters/dingtalk/stream.py`` does with its SDK, this module keeps the
SDK's protocol pieces — the protobuf ``Frame`` (``pbbp2``), the endpoint path, the header names
and frame types — and owns the loop on aiohttp:

1. ``POST {api_url}/callback/ws/endpoint`` with ``{"AppID", "AppSecret"}`` → ``{"code": 0, "data":
   {"URL": "wss://…?device_id=…&service_id=…", "ClientConfig": {"PingInterval", …}}}``;
2. the websocket carries binary ``Frame``s: ``method`` 0 = control (``type`` header ``ping`` /
   ``pong``; a pong may carry a new ``ClientConfig``), 1 = data (``type`` ``event``, headers
   ``message_id``, ``sum``/``seq`` for a payload split in parts, ``trace_id``);
3. each data frame is answered with the same frame whose payload is ``{"code": 200, "data":
   base64(json(answer))}`` — for a card action the answer (a toast, the updated card) is what
   the clicker sees; a 500 makes Feishu deliver the event again.

A ping goes out every ``PingInterval`` seconds; a connection with no frame for three intervals is
dropped and opened anew; reconnects back off (1 s … ``reconnect_max``, with jitter).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from lark_oapi.ws.const import (
    GEN_ENDPOINT_URI,
    HEADER_BIZ_RT,
    HEADER_MESSAGE_ID,
    HEADER_SEQ,
    HEADER_SUM,
    HEADER_TYPE,
    SERVICE_ID,
)
from lark_oapi.ws.enum import FrameType, MessageType
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

log = logging.getLogger("collabbot.feishu.ws")

OnEvent = Callable[[bytes], Awaitable[dict[str, Any] | None]]
MAX_FRAME = 4 * 1024 * 1024


class EndpointRefused(Exception):
    """The endpoint call failed; ``fatal`` when retrying cannot help (wrong credentials, too many connections)."""

    def __init__(self, message: str, *, fatal: bool = False):
        super().__init__(message)
        self.fatal = fatal


def headers_of(frame: Any) -> dict[str, str]:
    return {h.key: h.value for h in frame.headers}


def control_frame(kind: str, service: int, payload: bytes = b"") -> Any:
    frame = Frame()
    frame.SeqID = 0
    frame.LogID = 0
    frame.service = service
    frame.method = FrameType.CONTROL.value
    header = frame.headers.add()
    header.key, header.value = HEADER_TYPE, kind
    if payload:
        frame.payload = payload
    return frame


def answer_frame(frame: Any, code: int, answer: dict[str, Any] | None, elapsed_ms: int = 0) -> bytes:
    """The data frame sent back: the same frame, ``biz_rt`` added, the answer as its payload."""
    header = frame.headers.add()
    header.key, header.value = HEADER_BIZ_RT, str(elapsed_ms)
    body: dict[str, Any] = {"code": code}
    if answer is not None:
        body["data"] = base64.b64encode(json.dumps(answer, ensure_ascii=False).encode()).decode()
    frame.payload = json.dumps(body).encode()
    return bytes(frame.SerializeToString())


class LongConnection:
    """One app's long connection; ``on_event`` gets each event's JSON and returns the answer (or None)."""

    def __init__(
        self,
        api_url: str,
        app_id: str,
        app_secret: str,
        on_event: OnEvent,
        *,
        reconnect_max: float = 60.0,
        timeout: float = 10.0,
    ):
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.on_event = on_event
        self.reconnect_max = reconnect_max
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.ping_interval = 120.0
        self.ready = asyncio.Event()
        self.connections = 0
        self.handled = 0
        self.failures = 0
        self._parts: dict[str, list[bytes]] = {}
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        self._task = asyncio.create_task(self._run(), name="feishu-long-connection")

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=3)
        if self._session is not None:
            await self._session.close()

    async def _endpoint(self) -> str:
        assert self._session is not None
        body = {"AppID": self.app_id, "AppSecret": self.app_secret}
        async with self._session.post(self.api_url + GEN_ENDPOINT_URI, json=body, headers={"locale": "zh"}) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = None
            if response.status != 200 or not isinstance(data, dict):
                raise EndpointRefused(f"endpoint answered HTTP {response.status}")
        code = data.get("code")
        if code != 0:
            # 1: system busy and 1000040343: internal error are worth retrying; the rest are ours to fix
            raise EndpointRefused(f"endpoint refused: {code} {data.get('msg')}", fatal=code not in (1, 1000040343))
        found: dict[str, Any] = data["data"] if isinstance(data.get("data"), dict) else {}
        self._configure(found.get("ClientConfig"))
        url = str(found.get("URL") or "")
        if not url:
            raise EndpointRefused("endpoint answered without a URL")
        return url

    def _configure(self, config: Any) -> None:
        if isinstance(config, dict) and isinstance(config.get("PingInterval"), int | float) and config["PingInterval"] > 0:
            self.ping_interval = float(config["PingInterval"])

    async def _run(self) -> None:
        delay = 1.0
        while not self._stopping:
            try:
                url = await self._endpoint()
                await self._serve(url)
                delay = 1.0  # it was up: the next drop retries soon
            except asyncio.CancelledError:
                raise
            except EndpointRefused as exc:
                self.failures += 1
                log.error("feishu: %s", exc)
                if exc.fatal:
                    delay = self.reconnect_max
            except Exception as exc:
                self.failures += 1
                log.warning("feishu: the long connection failed (%s: %s); reconnecting", type(exc).__name__, exc)
            self.ready.clear()
            if self._stopping:
                return
            await asyncio.sleep(min(delay, self.reconnect_max) * (0.5 + random.random() / 2))
            delay = min(delay * 2, self.reconnect_max)

    async def _serve(self, url: str) -> None:
        assert self._session is not None
        service = int((parse_qs(urlsplit(url).query).get(SERVICE_ID) or ["0"])[0] or 0)
        async with self._session.ws_connect(url, max_msg_size=MAX_FRAME, autoping=True, heartbeat=None) as ws:
            self._ws = ws
            self.connections += 1
            self.ready.set()
            log.info("feishu: long connection open")
            pinger = asyncio.create_task(self._ping(ws, service))
            try:
                while True:
                    message = await ws.receive(timeout=3 * self.ping_interval)
                    if message.type == aiohttp.WSMsgType.BINARY:
                        self._on_frame(ws, message.data)
                    elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        break
            finally:
                pinger.cancel()
                self._ws = None
                self.ready.clear()

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse, service: int) -> None:
        while not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(control_frame(MessageType.PING.value, service).SerializeToString())
            await asyncio.sleep(self.ping_interval)

    def _on_frame(self, ws: aiohttp.ClientWebSocketResponse, data: bytes) -> None:
        frame = Frame()
        try:
            frame.ParseFromString(data)
        except Exception:
            log.warning("feishu: a frame that is not a pbbp2 Frame was dropped")
            return
        headers = headers_of(frame)
        if frame.method == FrameType.CONTROL.value:
            if headers.get(HEADER_TYPE) == MessageType.PONG.value and frame.payload:
                with contextlib.suppress(ValueError):
                    self._configure(json.loads(frame.payload))
            return
        payload = self._whole(headers, bytes(frame.payload))
        if payload is None:
            return
        task = asyncio.create_task(self._answer(ws, frame, headers, payload))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    def _whole(self, headers: dict[str, str], part: bytes) -> bytes | None:
        """A payload Feishu split into ``sum`` frames, once every part has come."""
        try:
            total, seq = int(headers.get(HEADER_SUM) or 1), int(headers.get(HEADER_SEQ) or 0)
        except ValueError:
            return part
        if total <= 1:
            return part
        key = headers.get(HEADER_MESSAGE_ID, "")
        parts = self._parts.setdefault(key, [b""] * total)
        if len(parts) != total or not 0 <= seq < total:
            self._parts.pop(key, None)
            return None
        parts[seq] = part
        if any(not p for p in parts):
            return None
        del self._parts[key]
        return b"".join(parts)

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, frame: Any, headers: dict[str, str], payload: bytes) -> None:
        code, answer = 200, None
        if headers.get(HEADER_TYPE) == MessageType.EVENT.value:
            try:
                answer = await self.on_event(payload)
            except Exception:
                log.exception("feishu: event %s not handled; answering 500 so it comes again", headers.get(HEADER_MESSAGE_ID))
                code = 500
        # the answer goes on the connection the frame came on; if that one is gone, Feishu delivers again
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_bytes(answer_frame(frame, code, answer))
        self.handled += 1
