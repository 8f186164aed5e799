"""``collabbot``: demo, run, check-config; db, outbox and timers (operator commands, bot/cli_admin.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tomllib
from pathlib import Path

from bot import cli_admin, logs
from bot.config import Config, ConfigError, config_path, from_dict, load

DEMO_CONFIG = Path(__file__).with_name("demo.toml")


def _demo_config(args: argparse.Namespace) -> Config:
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data.setdefault("database", {})["url"] = f"sqlite://{args.db}"
    data.setdefault("server", {}).update({"host": args.host, "port": args.port})
    data["simulator"]["manual_clock"] = args.manual_clock
    data["simulator"]["unsafe_demo"] = args.unsafe_demo
    return from_dict(data)


def demo_hazards(config: Config) -> list[str]:
    """What makes this configuration a demo, unsafe in production: each line says what and why."""
    hazards = []
    if config.simulator.enabled:
        hazards.append("the simulator is enabled: anyone who reaches its API can act as anyone")
    if config.simulator.manual_clock:
        hazards.append("the clock is manual: the simulator API can move time, so deadlines and reminders are not real")
    return hazards


def _refuse_or_warn(config: Config, allowed: bool) -> bool:
    """``collabbot run``: False (refuse) when the configuration is a demo and nobody said so."""
    hazards = demo_hazards(config)
    if not hazards:
        return True
    if not allowed:
        print("run: refusing to start, this configuration is a demo:", file=sys.stderr)
        for hazard in hazards:
            print(f"  - {hazard}", file=sys.stderr)
        print("  For a demo, pass --unsafe-demo or set [simulator] unsafe_demo = true; in production, disable both.", file=sys.stderr)
        return False
    banner = "!" * 72
    print(f"{banner}\nUNSAFE DEMO MODE: not for production\n" + "\n".join(f"  - {h}" for h in hazards) + f"\n{banner}", file=sys.stderr)
    return True


async def _serve(config: Config) -> None:
    from bot.app import App, settle_heap
    from bot.clock import ManualClock

    clock = ManualClock() if config.simulator.manual_clock else None
    if clock is not None:
        from datetime import UTC, datetime

        clock.set(datetime.now(UTC))
    app = App(config, clock=clock)
    await app.start()
    settle_heap()
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


def _check(path: str | None) -> int:
    if path is None:
        print("check-config: name the file (collabbot check-config FILE) or set COLLABBOT_CONFIG", file=sys.stderr)
        return 2
    try:
        config = load(path)
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print("\n".join(cli_admin.summary(path, config)))
    for hazard in demo_hazards(config):
        allowed = "allowed: [simulator] unsafe_demo = true" if config.simulator.unsafe_demo else "collabbot run refuses it without --unsafe-demo"
        print(f"  WARNING: {hazard} ({allowed})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collabbot", description="Cross-department collaboration bot")
    parser.add_argument("--log-level", default=os.environ.get("COLLABBOT_LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--log-format", choices=["text", "json"], default=os.environ.get("COLLABBOT_LOG_FORMAT", "text"),
        help="json: one JSON object a line, with platform and delivery_id (env COLLABBOT_LOG_FORMAT)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the local simulator with a demo organisation (SQLite, no account)")
    demo.add_argument("--db", default="collabbot-demo.db")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--manual-clock", action="store_true", help="let the simulator API move time")
    demo.add_argument("--unsafe-demo", action="store_true", help="needed to serve the simulator on a non-loopback --host")
    run = sub.add_parser("run", help="run the bot with a configuration file")
    run.add_argument("--config", help="configuration file (else COLLABBOT_CONFIG)")
    run.add_argument(
        "--unsafe-demo", action="store_true",
        help="allow a demo configuration (the simulator, a manual clock); never in production",
    )
    cli_admin.add_parsers(sub)
    # the composition root reaches the workflows, as bot/app.py does
    from workflows.reports import cli as reports_cli

    reports_cli.add_parser(sub)
    check = sub.add_parser("check-config", help="validate a configuration file (secrets are never shown)")
    check.add_argument("file", nargs="?", help="the file (else --config's default, COLLABBOT_CONFIG)")
    args = parser.parse_args(argv)
    logs.setup(args.log_level, args.log_format)

    if args.command == "check-config":
        return _check(config_path(args.file))
    if args.command == "run" and config_path(args.config) is None:
        print("run: no configuration; pass --config FILE or set COLLABBOT_CONFIG (see collabbot.example.toml)", file=sys.stderr)
        return 2
    try:
        if args.command == "demo":
            config = _demo_config(args)
        else:
            path = config_path(getattr(args, "config", None))
            config = load(path) if path else from_dict({})
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config: {problem}", file=sys.stderr)
        return 2
    logs.mask_config_secrets(config)
    if args.command == "export":
        return asyncio.run(reports_cli.run(args, config))
    if args.command in ("db", "outbox", "timers"):
        return asyncio.run(cli_admin.run(args, config))
    if args.command == "run" and not _refuse_or_warn(config, args.unsafe_demo or config.simulator.unsafe_demo):
        return 2
    asyncio.run(_serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
