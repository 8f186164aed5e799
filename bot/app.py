"""The running bot: engine, delivery worker, timers, platforms and the HTTP server, wired together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot import i18n
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.delivery import DeliveryWorker
from bot.engine import DispatchResult, Engine
from bot.housekeeping import Housekeeper
from bot.logs import mask_config_secrets
from bot.metrics import CONTENT_TYPE, Metrics, readiness
from bot.platform import Platform
from bot.process_clock import ProcessClock
from bot.scheduler import TimerRunner
from bot.types import Event
from storage import db
from workflows.directory.sync import sync_directory
from workflows.registry import AREAS, build_router

log = logging.getLogger("collabbot")

PlatformFactory = Callable[[Config], "Platform | list[Any] | None"]


def settle_heap() -> None:
    """Take what a started process keeps for good out of the cyclic garbage collector's sight.

    Start-up leaves hundreds of thousands of long-lived objects (modules, models, catalogs, the
    migrations' state). Each full collection walked all of them: 100–220 ms with the event loop
    stopped, the same loop that must answer the platforms' requests within their deadlines
    (bench/bench_ack.py measured those pauses in the ack p99). Collect once, then freeze the
    survivors; later collections walk only what was made since. Call it once, in a long-running
    process, after ``App.start``.
    """
    gc.collect()
    gc.freeze()


def _platform_factories() -> list[PlatformFactory]:
    """Each adapter's ``build(config)``; an adapter returns None when its section is absent or disabled."""
    import importlib

    factories = []
    for name in ("adapters.simulator.transport", "adapters.slack.transport", "adapters.dingtalk.transport", "adapters.wecom.transport", "adapters.feishu.transport"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("adapters."):
                continue
            raise
        factories.append(module.build)
    return factories


class App:
    """One bot process. ``platforms`` may be given (tests); otherwise built from the config."""

    def __init__(self, config: Config, *, clock: Clock | None = None, platforms: list[Platform] | None = None):
        self.config = config
        mask_config_secrets(config)  # whatever logs them (an SDK at DEBUG), tokens show as ***
        self.clock: Clock = clock or SystemClock()
        self.engine = Engine(build_router(), config, self.clock)
        if platforms is None:
            platforms = []
            for factory in _platform_factories():
                built = factory(config)
                platforms += built if isinstance(built, list) else [built] if built is not None else []
        self.platforms: dict[str, Platform] = {p.name: p for p in platforms}
        self.timers = TimerRunner(self.dispatch, self.clock, config=config, areas=tuple(AREAS))
        self.housekeeper = Housekeeper(config.retention, self.clock, self.timers.owner)
        self.metrics = Metrics(self)
        self.delivery = DeliveryWorker(self.metrics.counting(self.platforms), self.clock)
        self.process_clock = ProcessClock(self.timers, self.clock, housekeeper=self.housekeeper)  # started with the background workers
        self.web: web.Application | None = web.Application(client_max_size=1024 * 1024)
        self.web.router.add_get("/healthz", self._health)
        if config.dashboard.enabled:  # the read-only dashboard (adapters/dashboard, docs/dashboard.md)
            import importlib

            importlib.import_module("adapters.dashboard.web").mount(self)
        self.web.router.add_get("/readyz", self._ready)
        self.web.router.add_get("/metrics", self._metrics)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def dispatch(self, event: Event) -> DispatchResult:
        result: DispatchResult | None = None
        started = time.perf_counter()  # wall time, for the latency histogram only
        try:
            result = await self.engine.dispatch(event)
        finally:
            self.metrics.observe(event, result, time.perf_counter() - started)
        if result.queued:
            self.delivery.kick()
        if result.outcome is not None and result.outcome.timers:
            self.process_clock.wake()
        return result

    async def _health(self, request: web.Request) -> web.Response:
        """Liveness: the process and its event loop answer (says nothing about the database)."""
        return web.json_response({"ok": True, "platforms": sorted(self.platforms)})

    async def _ready(self, request: web.Request) -> web.Response:
        """Readiness: the database answers and each platform connection is up (503 otherwise)."""
        ready, checks = await readiness(self)
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def open_database(self, *, run_migrations: bool = True) -> None:
        await db.connect(self.config.database.url, run_migrations=run_migrations)
        await sync_directory(self.config, self.clock.now())

    async def start(self, *, serve_http: bool = True, background: bool = True) -> None:
        """Open the database, start platforms, the HTTP server and (if ``background``) the workers."""
        await asyncio.to_thread(i18n.preload)
        await asyncio.to_thread(self.engine.services["calendar"].preload, self.clock.now().date())
        await self.open_database()
        for platform in self.platforms.values():
            await platform.start(self)
        if serve_http and self.web is not None:
            self._runner = web.AppRunner(self.web, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.server.host, self.config.server.port)
            await site.start()
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1] if sockets else self.config.server.port
            log.info("listening on http://%s:%s", self.config.server.host, self.port)
        if background:
            self._tasks.append(asyncio.create_task(self.delivery.run_forever(self._stop)))
            self.process_clock.start()

    async def stop(self) -> None:
        self._stop.set()
        self.process_clock.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for platform in self.platforms.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(platform.stop(), timeout=5)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.timers.release()
        await db.close()

    async def settle(self) -> None:
        """Fire due timers and deliver everything due now (tests, the simulator's clock API)."""
        for _ in range(100):
            fired = await self.timers.run_due()
            await self.delivery.flush()
            if not fired:
                return
