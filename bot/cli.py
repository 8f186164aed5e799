"""``collabbot``: demo, run, db upgrade, check-config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import tomllib
from pathlib import Path

from bot.config import Config, ConfigError, from_dict, load

DEMO_CONFIG = Path(__file__).with_name("demo.toml")


def _demo_config(args: argparse.Namespace) -> Config:
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data.setdefault("database", {})["url"] = f"sqlite://{args.db}"
    data.setdefault("server", {}).update({"host": args.host, "port": args.port})
    data["simulator"]["manual_clock"] = args.manual_clock
    return from_dict(data)


async def _serve(config: Config) -> None:
    from bot.app import App
    from bot.clock import ManualClock

    clock = ManualClock() if config.simulator.manual_clock else None
    if clock is not None:
        from datetime import UTC, datetime

        clock.set(datetime.now(UTC))
    app = App(config, clock=clock)
    await app.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    if config.simulator.enabled:
        print(f"collabbot simulator: http://{config.server.host}:{app.port}/sim/", flush=True)
    try:
        await stop.wait()
    finally:
        await app.stop()


def _check(path: str) -> int:
    try:
        config = load(path)
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    platforms = [name for name in ("slack", "dingtalk", "wecom") if getattr(config, name) is not None]
    if config.simulator.enabled:
        platforms.append("simulator")
    print(f"{path}: OK ({len(config.people)} people, {len(config.departments)} departments, platforms: {', '.join(platforms) or 'none'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collabbot", description="Cross-department collaboration bot")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the local simulator with a demo organisation (SQLite, no account)")
    demo.add_argument("--db", default="collabbot-demo.db")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--manual-clock", action="store_true", help="let the simulator API move time")
    run = sub.add_parser("run", help="run the bot with a configuration file")
    run.add_argument("--config", required=True)
    dbp = sub.add_parser("db", help="database maintenance")
    dbp.add_argument("action", choices=["upgrade"])
    dbp.add_argument("--config", help="configuration file (else COLLABBOT_DATABASE_URL or the default)")
    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "check-config":
        return _check(args.file)
    try:
        if args.command == "demo":
            config = _demo_config(args)
        elif args.command == "run":
            config = load(args.config)
        else:
            config = load(args.config) if args.config else from_dict({})
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config: {problem}", file=sys.stderr)
        return 2
    if args.command == "db":
        from storage import db

        async def upgrade() -> None:
            await db.upgrade(config.database.url)
            await db.close()

        asyncio.run(upgrade())
        print(f"database {config.database.url}: up to date")
        return 0
    asyncio.run(_serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
