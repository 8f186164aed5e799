"""What the fault harness (``bench/faults.py``) is made of: a probe workflow, a faulty fake Slack, a TCP
proxy that can cut the database away, and the tally that counts lost, duplicated and reordered messages.

The probe is a real workflow on the real engine: ``probe <n>`` answers ``pong <n>`` in the same
conversation, through the outbox and the platform's real transport. Every count is taken at the fake
platform server — what a person in the chat would have seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.router import Router
from bot.types import Outcome, Text
from tests.slack.fake_slack import FakeSlack

probe = Router()
FAULT_ARGS = web.RequestKey("fault_args", dict)
PONG = re.compile(r"pong (\d+)")


@probe.command("probe")
async def answer_probe(args: str) -> Outcome:
    return Outcome().reply(Text(f"pong {args.strip()}"))


def longest_increasing(values: list[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting)."""
    import bisect

    tails: list[int] = []
    for value in values:
        at = bisect.bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
        else:
            tails[at] = value
    return len(tails)


@dataclass
class Tally:
    """One scenario's line: what went in, what came out at the fake, and what went wrong."""

    name: str
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    retry_after_violations: int = 0
    crashes: int = 0
    ambiguous_duplicates: int = 0  # duplicates inside the documented window, counted, not hidden
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.retry_after_violations or self.crashes)

    def line(self) -> str:
        extra = f", {self.ambiguous_duplicates} duplicated inside the ambiguity window" if self.ambiguous_duplicates else ""
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (
            f"{self.name:<26} events {self.events:>6}  lost {self.lost}  duplicated {self.duplicated}  "
            f"reordered {self.reordered}  retry-after violations {self.retry_after_violations}  "
            f"crashes {self.crashes}{extra}  [{self.seconds:.1f} s]{notes}"
        )

    def count_deliveries(self, expected: dict[str, list[int]], delivered: dict[str, list[int]]) -> None:
        """``expected``: per conversation, the probe numbers in commit order; ``delivered``: in arrival order."""
        for conversation, wanted in expected.items():
            got = delivered.get(conversation, [])
            seen = Counter(got)
            self.lost += sum(1 for n in wanted if seen[n] == 0)
            self.duplicated += sum(c - 1 for c in seen.values() if c > 1)
            rank = {n: i for i, n in enumerate(wanted)}
            firsts: list[int] = []
            taken: set[int] = set()
            for n in got:
                if n in rank and n not in taken:
                    taken.add(n)
                    firsts.append(rank[n])
            self.reordered += len(firsts) - longest_increasing(firsts)


def pongs_by_channel(fake: FakeSlack) -> dict[str, list[int]]:
    """The probe answers the fake Slack holds, per channel, in the order it received them."""
    found: dict[str, list[int]] = defaultdict(list)
    for (channel, _ts), message in sorted(fake.messages.items(), key=lambda item: float(item[0][1])):
        match = PONG.fullmatch(str(message.get("text") or "").strip())
        if match:
            found[channel].append(int(match.group(1)))
    return found


class CrashCounter:
    """A logging handler counting records logged with a traceback (a crash the bot caught and reported)."""

    def __init__(self) -> None:
        import logging

        class _Handler(logging.Handler):
            def __init__(inner) -> None:
                super().__init__(logging.ERROR)
                inner.count = 0

            def emit(inner, record: logging.LogRecord) -> None:
                # A request the sender gave up on after 3 s is cancelled with it (Slack redelivers it):
                # the cancellation is logged by Bolt, but nothing in the bot crashed.
                if record.exc_info and not isinstance(record.exc_info[1], asyncio.CancelledError | TimeoutError):
                    inner.count += 1

        self.handler = _Handler()
        self._logging = logging

    def __enter__(self) -> CrashCounter:
        self._logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logging.getLogger().removeHandler(self.handler)

    @property
    def count(self) -> int:
        return int(self.handler.count)


@dataclass
class Storm:
    """Failure rates for the outbound storm: 429 with Retry-After, 5xx, and client time-outs."""

    rate_limited: float = 0.10
    server_error: float = 0.05
    timeout: float = 0.02
    retry_after: float = 1.0
    hang: float = 1.6  # longer than the bot's 1 s client timeout
    seed: int = 7


@dataclass
class FaultySlack(FakeSlack):
    """The fake Slack, answering ``chat.postMessage`` with a seeded storm, and judging Retry-After.

    A 429 answers for one channel (Slack's chat.postMessage limit is per channel); a post to that
    channel before the Retry-After has passed is a violation. A time-out really posts and then does
    not answer in time: the ambiguous failure.
    """

    storm: Storm | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.random = random.Random(self.storm.seed if self.storm else 0)
        self.blocked_until: dict[str, float] = {}
        self.violations = 0
        self.injected: Counter[str] = Counter()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        """Parsed once per request: the storm looks at it before the fake's own handling reads it again."""
        if FAULT_ARGS not in request:
            request[FAULT_ARGS] = await super()._args(request)
        return dict(request[FAULT_ARGS])

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method != "chat.postMessage" or self.storm is None:
            return await super()._api(request)
        args = await self._args(request)
        channel = str(args.get("channel") or "")
        now = time.monotonic()
        if now < self.blocked_until.get(channel, 0.0) - 0.05:  # 50 ms for the clocks of two processes
            self.violations += 1
        roll = self.random.random()
        storm = self.storm
        if roll < storm.rate_limited:
            self.injected["429"] += 1
            self.blocked_until[channel] = now + storm.retry_after
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(int(storm.retry_after))})
        if roll < storm.rate_limited + storm.server_error:
            self.injected["5xx"] += 1
            return web.Response(status=503, text="upstream connect error")
        if roll < storm.rate_limited + storm.server_error + storm.timeout:
            self.injected["timeout"] += 1
            self._m_chat_postMessage(args)  # Slack posted it; the answer never arrives in time
            await asyncio.sleep(storm.hang)
            return web.json_response({"ok": False, "error": "request_timeout"}, status=504)
        return await super()._api(request)


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of the database: ``cut()`` drops every connection and refuses
    new ones until ``restore()`` — the database disappears, as far as the bot can tell."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, upstream_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        self._pipes -= {writer, upstream_writer}

    def cut(self) -> None:
        self.up = False
        for pipe in list(self._pipes):
            pipe.close()
        self._pipes.clear()

    def restore(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
