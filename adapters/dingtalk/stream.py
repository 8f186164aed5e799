"""The Stream-mode connection, run with the dingtalk-stream SDK's own pieces but not its ``start()``.

The SDK (0.24.3) opens its connection with a blocking ``requests.post`` (no
timeout) inside the event loop, swallows ``CancelledError`` (so its task
cannot be stopped) and can sit forever on a dead socket when its keepalive
hangs (SDK issue #65). So this module keeps the SDK for what it does well —
``open_connection`` (the ``/v1.0/gateway/connections/open`` call, with the
subscriptions of the registered handlers), the frame classes and the
handlers' ``raw_process`` that builds each ack — and owns the loop itself:

- ``open_connection`` runs in a daemon thread with a timeout, so a hung call
  neither blocks the loop nor keeps the process alive at exit;
- one reader per websocket acks SYSTEM frames (``ping``) at once and queues
  the rest; the worker hands each queued frame to a lane (its conversation, or
  its card, or its sender): frames of one lane are handled in arrival order,
  frames of different lanes side by side (at most ``PARALLEL_FRAMES`` at once),
  and each is acked on the connection it came from as soon as *its* handler
  returned (i.e. after its inbox row is committed). So one slow frame (a
  locked database, a slow lookup) holds back only the later frames of its own
  conversation, not the acks of every other group: DingTalk pushes a frame
  again when its ack is late, and a late ack for everyone would turn one slow
  handler into a redelivery storm;
- a SYSTEM ``disconnect`` opens the next connection *before* the old one is
  closed (make before break: pushes in between still land), and the old one
  is closed only once its queued frames are handled;
- a watchdog pings the server and aborts a connection that shows no frame
  and no pong for ``watchdog_seconds`` (a half-open socket), which reconnects;
- reconnects back off exponentially (1 s … 60 s, with jitter) while they fail;
- ``stop`` stops reading, handles what is queued (bounded), closes the sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import websockets
from dingtalk_stream import AckMessage, CallbackMessage, DingTalkStreamClient, EventMessage, SystemMessage
from dingtalk_stream.frames import Headers
from websockets.exceptions import ConnectionClosed

log = logging.getLogger("collabbot.dingtalk.stream")

MAX_FRAME = 4 * 1024 * 1024
PARALLEL_FRAMES = 8  # frames of different conversations handled at once (each holds a database connection)


async def call_blocking(fn: Callable[[], Any], wait_seconds: float) -> Any:
    """Run a blocking call in a daemon thread; give up waiting after ``wait_seconds`` (the thread is abandoned)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="dingtalk-blocking-call", daemon=True).start()
    return await asyncio.wait_for(future, wait_seconds)


def backoff(failures: int) -> float:
    if failures <= 0:
        return 0.0
    return min(60.0, 2.0 ** (failures - 1)) + random.uniform(0, 1)


class Connection:
    """One websocket to the Stream gateway."""

    def __init__(self, ws: Any, number: int):
        self.ws = ws
        self.number = number
        self.last_activity = asyncio.get_running_loop().time()
        self.proved = False  # a frame or a pong came back: the connection worked
        self.replace = asyncio.Event()
        self.closed = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None
        self.keeper: asyncio.Task[None] | None = None
        self.pinger: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_activity = asyncio.get_running_loop().time()

    def abort(self) -> None:
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()

    async def close(self, wait_seconds: float = 2.0) -> None:
        for task in (self.keeper, self.pinger):
            if task is not None:
                task.cancel()
        try:
            await asyncio.wait_for(self.ws.close(), wait_seconds)
        except (TimeoutError, ConnectionClosed, OSError):
            self.abort()


class StreamRunner:
    """Keeps one live Stream connection for ``client`` (whose handlers are registered) until ``stop``."""

    def __init__(
        self, client: DingTalkStreamClient, *, watchdog_seconds: float = 90.0, open_timeout: float = 15.0
    ):
        self.client = client
        self.watchdog_seconds = watchdog_seconds
        self.open_timeout = open_timeout
        self.queue: asyncio.Queue[tuple[Connection, dict[str, Any] | None]] = asyncio.Queue()
        self.connections: list[Connection] = []
        self.current: Connection | None = None
        self.opened = 0
        self._stop = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(PARALLEL_FRAMES)
        self._lanes: dict[str, asyncio.Task[None]] = {}  # lane → its newest frame's task
        self._in_flight: dict[int, set[asyncio.Task[None]]] = {}  # connection number → its frames' tasks

    async def start(self) -> None:
        self.client.pre_start()
        self._supervisor = asyncio.create_task(self._supervise(), name="dingtalk-stream")
        self._worker = asyncio.create_task(self._work(), name="dingtalk-frames")

    async def stop(self, drain_timeout: float = 2.0) -> None:
        """Stop reconnecting and reading, handle (and ack) what was already read, close every socket."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        readers = [c.reader for c in self.connections if c.reader is not None]
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), drain_timeout)
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        left = [task for tasks in self._in_flight.values() for task in tasks]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        await asyncio.gather(*(c.close(wait_seconds=1.0) for c in self.connections), return_exceptions=True)
        self.connections.clear()
        self.current = None

    # -- connecting ----------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                connection = await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = backoff(failures)
                log.warning("dingtalk stream: cannot connect (%s); retrying in %.1fs", exc, delay)
                await self._pause(delay)
                continue
            previous, self.current = self.current, connection
            if previous is not None and not previous.closed.is_set():
                self.queue.put_nowait((previous, None))  # closed by the worker after its queued frames
            await self._until_replace_or_closed(connection)
            if connection.closed.is_set():
                failures = 0 if connection.proved else failures + 1
                if not self._stop.is_set():
                    log.warning("dingtalk stream: connection %d lost, reconnecting", connection.number)
                await self._pause(backoff(failures))
            else:
                log.info("dingtalk stream: replacing connection %d", connection.number)

    async def _until_replace_or_closed(self, connection: Connection) -> None:
        waits = [
            asyncio.ensure_future(connection.closed.wait()),
            asyncio.ensure_future(connection.replace.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def _connect(self) -> Connection:
        endpoint = await call_blocking(self.client.open_connection, self.open_timeout)
        if not endpoint or "endpoint" not in endpoint or "ticket" not in endpoint:
            raise ConnectionError(
                "connections/open gave no endpoint: check dingtalk.app_key and dingtalk.app_secret (COLLABBOT_DINGTALK__APP_SECRET) and that the robot uses Stream mode"
            )
        uri = f"{endpoint['endpoint']}?ticket={quote_plus(endpoint['ticket'])}"
        ws = await websockets.connect(
            uri, open_timeout=10, ping_interval=None, close_timeout=2, max_size=MAX_FRAME
        )
        self.opened += 1
        connection = Connection(ws, self.opened)
        connection.reader = asyncio.create_task(self._read(connection), name=f"dingtalk-read-{self.opened}")
        connection.keeper = asyncio.create_task(
            self._keepalive(connection), name=f"dingtalk-keepalive-{self.opened}"
        )
        self.connections = [c for c in self.connections if not c.closed.is_set()] + [connection]
        log.info("dingtalk stream: connection %d open", connection.number)
        return connection

    # -- reading and acking --------------------------------------------------

    async def _read(self, connection: Connection) -> None:
        try:
            async for raw in connection.ws:
                connection.touch()
                connection.proved = True
                try:
                    frame = json.loads(raw)
                except (TypeError, ValueError):
                    log.warning("dingtalk stream: invalid frame %r", raw[:200])
                    continue
                if not isinstance(frame, dict):
                    log.warning("dingtalk stream: refused a frame that is not an object")
                    continue
                if frame.get("type") == SystemMessage.TYPE:
                    try:
                        await self._system(connection, frame)
                    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a garbled system frame
                        log.warning("dingtalk stream: refused a malformed system frame: %s", exc)
                else:
                    self.queue.put_nowait((connection, frame))
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("dingtalk stream: reader of connection %d failed", connection.number)
        finally:
            connection.closed.set()
            if connection.keeper is not None:
                connection.keeper.cancel()

    async def _system(self, connection: Connection, frame: dict[str, Any]) -> None:
        message = SystemMessage.from_dict(frame)
        await self._send_ack(connection, await self.client.system_handler.raw_process(message))
        if message.headers.topic == SystemMessage.TOPIC_DISCONNECT:
            log.info("dingtalk stream: server asked connection %d to disconnect", connection.number)
            connection.replace.set()

    async def _work(self) -> None:
        """Hand queued frames to their lanes (see the module docstring); ``queue.join`` waits for them all."""
        while True:
            connection, frame = await self.queue.get()
            in_flight = self._in_flight.setdefault(connection.number, set())
            if frame is None:  # close the replaced connection once its frames are handled and acked
                task = asyncio.create_task(self._close_after(connection, list(in_flight)))
            else:
                lane = _lane(frame)
                task = asyncio.create_task(self._handle(connection, frame, self._lanes.get(lane)))
                self._lanes[lane] = task
                task.add_done_callback(functools.partial(self._lane_done, lane))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            task.add_done_callback(lambda _done: self.queue.task_done())

    def _lane_done(self, lane: str, task: asyncio.Task[None]) -> None:
        if self._lanes.get(lane) is task:
            del self._lanes[lane]

    async def _handle(self, connection: Connection, frame: dict[str, Any], before: asyncio.Task[None] | None) -> None:
        if before is not None:  # the lane's earlier frame first: a conversation's messages keep their order
            await asyncio.gather(before, return_exceptions=True)
        async with self._slots:
            try:
                ack = await self._route(frame)
                if ack is not None:
                    await self._send_ack(connection, ack)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dingtalk stream: frame could not be handled")

    async def _close_after(self, connection: Connection, frames: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*frames, return_exceptions=True)
        await connection.close()

    async def _route(self, frame: dict[str, Any]) -> AckMessage | None:
        kind = frame.get("type")
        if kind in (CallbackMessage.TYPE, EventMessage.TYPE) and (reason := _malformed(frame)):
            # acked all the same: a frame of the wrong shape would otherwise be pushed again forever
            message_id = (frame.get("headers") or {}).get("messageId") if isinstance(frame.get("headers"), dict) else None
            log.warning("dingtalk stream: refused malformed frame %s: %s", message_id, reason)
            return _ack(message_id if isinstance(message_id, str) else None, AckMessage.STATUS_OK, "refused: malformed payload")
        if kind == CallbackMessage.TYPE:
            message = CallbackMessage.from_dict(frame)
            handler = self.client.callback_handler_map.get(message.headers.topic)
            if handler is None:
                return _ack(
                    message.headers.message_id, AckMessage.STATUS_NOT_IMPLEMENT, "no handler for this topic"
                )
            ack: AckMessage = await handler.raw_process(message)
            return ack
        if kind == EventMessage.TYPE:
            event_ack: AckMessage = await self.client.event_handler.raw_process(EventMessage.from_dict(frame))
            return event_ack
        log.warning("dingtalk stream: unknown frame type %r", kind)
        return None

    async def _send_ack(self, connection: Connection, ack: AckMessage) -> None:
        try:
            await connection.ws.send(json.dumps(ack.to_dict(), ensure_ascii=False))
        except (ConnectionClosed, OSError):
            # The platform pushes an unacked frame again; the inbox makes that harmless.
            log.info(
                "dingtalk stream: ack for %s not sent, connection %d closed",
                ack.headers.message_id,
                connection.number,
            )

    # -- watchdog --------------------------------------------------------------

    async def _keepalive(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        interval = max(0.05, self.watchdog_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            idle = loop.time() - connection.last_activity
            if idle > self.watchdog_seconds:
                log.warning(
                    "dingtalk stream: no frame and no pong on connection %d for %.1fs, reconnecting",
                    connection.number,
                    idle,
                )
                connection.abort()
                return
            if connection.pinger is None or connection.pinger.done():
                connection.pinger = asyncio.create_task(self._ping(connection))

    async def _ping(self, connection: Connection) -> None:
        # In its own task: a ping that never completes (SDK issue #65) must not stall the watchdog.
        with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
            pong = await asyncio.wait_for(connection.ws.ping(), self.watchdog_seconds)
            await asyncio.wait_for(pong, self.watchdog_seconds)
            connection.touch()
            connection.proved = True


def _malformed(frame: dict[str, Any]) -> str | None:
    """Why the SDK could not read this callback or event frame, or None when it can."""
    headers = frame.get("headers")
    if not isinstance(headers, dict):
        return "headers is not an object"
    for name in ("messageId", "topic"):
        if headers.get(name) is not None and not isinstance(headers[name], str):
            return f"headers.{name} is not a string"
    for name in ("time", "eventBornTime"):
        if name in headers:  # the SDK calls int() on whatever is there
            try:
                int(headers[name])
            except (TypeError, ValueError, OverflowError):
                return f"headers.{name} is not a number"
    data = frame.get("data")
    if data in (None, ""):
        return None
    if not isinstance(data, str):
        return "data is not a JSON string"
    try:
        parsed = json.loads(data)
    except ValueError:
        return "data is not JSON"
    return None if isinstance(parsed, dict) else "data is not a JSON object"


def _lane(frame: dict[str, Any]) -> str:
    """What must stay in order: a robot message's conversation, a card's instance, else the sender, else
    nothing (the frame's own id)."""
    data: Any = frame.get("data")
    try:
        data = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("conversationId", "outTrackId", "senderStaffId", "userId"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return f"{key}:{value}"
    headers = frame.get("headers")
    return f"frame:{headers.get('messageId') if isinstance(headers, dict) else id(frame)}"


def _ack(message_id: str | None, code: int, message: str) -> AckMessage:
    ack = AckMessage()
    ack.code = code
    ack.headers.message_id = message_id
    ack.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
    ack.message = message
    return ack
