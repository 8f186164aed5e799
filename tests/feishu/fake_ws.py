"""The fake Feishu's long connection, as lark-oapi's ``ws.Client`` expects it.

``POST /callback/ws/endpoint`` checks ``AppID``/``AppSecret`` and answers ``{"code": 0, "data": {"URL":
"ws://…/ws?device_id=…&service_id=…", "ClientConfig": {…}}}``; the websocket carries binary pbbp2
``Frame``s (the SDK's own protobuf classes): control frames (``ping`` → ``pong`` with the client
config) and data frames (``type: event``, ``message_id``, ``sum``/``seq``, ``trace_id``), each of which
the client answers with the same frame carrying ``{"code", "data": base64(json)}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

if TYPE_CHECKING:
    from tests.feishu.fake import FakeFeishu

SERVICE_ID = 77
CLIENT_CONFIG = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120}


@dataclass
class Answer:
    code: int
    data: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class LongConnectionServer:
    fake: FakeFeishu
    connections: list[web.WebSocketResponse] = field(default_factory=list)
    endpoint_calls: int = 0
    endpoint_failures: list[dict[str, Any]] = field(default_factory=list)
    pings: int = 0
    answers: dict[str, Answer] = field(default_factory=dict)
    pushed: dict[str, bytes] = field(default_factory=dict)  # frame message id → the event's JSON

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._devices: set[str] = set()

    def mount(self, app: web.Application) -> None:
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._websocket)

    async def _endpoint(self, request: web.Request) -> web.Response:
        self.endpoint_calls += 1
        if self.endpoint_failures:
            return web.json_response(self.endpoint_failures.pop(0))
        body = await request.json()
        if body.get("AppID") != self.fake.app_id or body.get("AppSecret") != self.fake.app_secret:
            return web.json_response({"code": 403, "msg": "app id or secret invalid"})
        device = f"d{next(self._ids)}"
        self._devices.add(device)
        url = f"ws://127.0.0.1:{self.fake.port}/ws?device_id={device}&service_id={SERVICE_ID}&access_key=k&ticket={os.urandom(4).hex()}"
        return web.json_response({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": CLIENT_CONFIG}})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("device_id") not in self._devices:
            raise web.HTTPForbidden(headers={"handshake-status": "403", "handshake-msg": "unknown device"})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections.append(ws)
        try:
            async for message in ws:
                if message.type == WSMsgType.BINARY:
                    await self._on_frame(ws, message.data)
        finally:
            with contextlib.suppress(ValueError):
                self.connections.remove(ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, data: bytes) -> None:
        frame = Frame()
        frame.ParseFromString(data)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == 0 and headers.get("type") == "ping":
            assert frame.service == SERVICE_ID
            self.pings += 1
            pong = Frame()
            pong.SeqID, pong.LogID, pong.service, pong.method = 0, 0, SERVICE_ID, 0
            header = pong.headers.add()
            header.key, header.value = "type", "pong"
            pong.payload = json.dumps(CLIENT_CONFIG).encode()
            await ws.send_bytes(pong.SerializeToString())
        elif frame.method == 1:
            body = json.loads(frame.payload)
            raw = body.get("data")
            answer = json.loads(base64.b64decode(raw)) if raw else None
            self.answers[headers["message_id"]] = Answer(int(body["code"]), answer, headers)

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self.connections)

    async def push(self, body: dict[str, Any], *, parts: int = 1, message_id: str | None = None) -> str:
        """Send an event as data frame(s) on the newest connection; ``parts`` splits the payload (``sum``/``seq``)."""
        await self.fake.wait_for(lambda: self.connected)
        ws = next(ws for ws in reversed(self.connections) if not ws.closed)
        message_id = message_id or f"msg-{next(self._ids)}"
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.pushed[message_id] = payload
        size = -(-len(payload) // parts)
        for seq in range(parts):
            frame = Frame()
            frame.SeqID, frame.LogID, frame.service, frame.method = seq, 0, SERVICE_ID, 1
            for key, value in (("type", "event"), ("message_id", message_id), ("sum", str(parts)), ("seq", str(seq)), ("trace_id", f"tr-{message_id}")):
                header = frame.headers.add()
                header.key, header.value = key, value
            frame.payload = payload[seq * size : (seq + 1) * size]
            await ws.send_bytes(frame.SerializeToString())
        return message_id

    async def answer(self, message_id: str, seconds: float = 10.0) -> Answer:
        await self.fake.wait_for(lambda: message_id in self.answers, seconds)
        return self.answers[message_id]

    async def drop(self) -> None:
        """Close every connection, as Feishu does on a deploy or a network cut."""
        for ws in list(self.connections):
            await ws.close()
        await asyncio.sleep(0)

    async def close_all(self) -> None:
        await self.drop()
