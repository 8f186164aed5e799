"""Operator commands: ``collabbot db upgrade|current|prune``, ``outbox list|retry|purge-sent``, ``timers list``,
and the summary ``check-config`` prints.

Nothing here prints a secret: database URLs go through ``redact_url``, tokens are only said to be set.
Times are printed in UTC (ISO 8601) so two operators in different places read the same thing.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, SecretStr
from tortoise.exceptions import DBConnectionError, OperationalError

from bot.config import Config, redact_url
from bot.logs import redact

DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s``."""
    match = DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; write a number and a unit, e.g. 30d, 12h, 90m, 2w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def add_parsers(sub: Any) -> None:
    """Add ``db``, ``outbox`` and ``timers`` to the ``collabbot`` sub-command parser."""
    dbp = sub.add_parser("db", help="database maintenance")
    dbp.add_argument(
        "action", choices=["upgrade", "current", "prune"],
        help="upgrade: apply migrations; current: show applied and pending; prune: delete what [retention] no longer keeps, now",
    )
    dbp.add_argument("--config", help="configuration file (else COLLABBOT_CONFIG, else COLLABBOT_DATABASE_URL or the default)")

    outbox = sub.add_parser("outbox", help="inspect and repair the outbox (messages waiting to be sent)")
    outbox.add_argument("--config", help="configuration file (else COLLABBOT_CONFIG)")
    actions = outbox.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list outbox rows, newest first")
    listing.add_argument("--status", choices=["pending", "sending", "dead", "sent", "all"], default="dead")
    listing.add_argument("--platform")
    listing.add_argument("--limit", type=int, default=20)
    retry = actions.add_parser("retry", help="send dead rows again (attempts reset)")
    retry.add_argument("ids", nargs="+", type=int, metavar="DEAD_ID")
    purge = actions.add_parser("purge-sent", help="delete sent rows older than a duration")
    purge.add_argument("--older-than", type=parse_duration, required=True, metavar="DURATION", help="e.g. 30d, 12h")
    purge.add_argument("--dry-run", action="store_true", help="count only")

    timers = sub.add_parser("timers", help="inspect the timer table (reminders, stand-ups, reports)")
    timers.add_argument("--config", help="configuration file (else COLLABBOT_CONFIG)")
    tactions = timers.add_subparsers(dest="action", required=True)
    tlist = tactions.add_parser("list", help="list timers, soonest first")
    tlist.add_argument("--status", choices=["pending", "firing", "fired", "missed", "cancelled", "all"], default="pending")
    tlist.add_argument("--kind", help="only this kind, or a prefix ending in * (e.g. standup.*)")
    tlist.add_argument("--limit", type=int, default=20)


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def _cut(text: Any, width: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[list[str]], header: list[str], out: TextIO) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


# ---------------------------------------------------------------- db


def migration_files() -> list[str]:
    folder = Path(__file__).resolve().parents[1] / "storage" / "migrations"
    return sorted(p.stem for p in folder.glob("[0-9]*.py"))


async def db_current(config: Config, out: TextIO) -> int:
    from tortoise.migrations.recorder import MigrationRecorder

    from storage import db

    await db.connect(config.database.url, run_migrations=False)
    try:
        applied = [key.name for key in await MigrationRecorder(db.connection()).applied_migrations()]
    finally:
        await db.close()
    pending = [name for name in migration_files() if name not in applied]
    print(f"database: {redact_url(config.database.url)}", file=out)
    print(f"applied:  {', '.join(applied) or 'none'}", file=out)
    if pending:
        print(f"pending:  {', '.join(pending)}  → run `collabbot db upgrade`", file=out)
        return 1
    print("pending:  none (up to date)", file=out)
    return 0


async def db_upgrade(config: Config, out: TextIO) -> int:
    from storage import db

    await db.upgrade(config.database.url)
    await db.close()
    print(f"database {redact_url(config.database.url)}: up to date", file=out)
    return 0


async def db_prune(config: Config, now: datetime, out: TextIO) -> int:
    """One housekeeping sweep now, whoever holds the hour's lease (deleting twice deletes nothing more)."""
    from bot.housekeeping import sweep

    retention = config.retention
    deleted = await sweep(retention, now)
    days = {"inbox": retention.inbox_days, "outbox": retention.outbox_sent_days, "timer": retention.timers_days}
    what = {"inbox": "handled delivery id(s)", "outbox": "sent outbox row(s)", "timer": "done timer(s)"}
    for table in ("inbox", "outbox", "timer"):
        if table in deleted:
            print(f"{table}: deleted {deleted[table]} {what[table]} older than {days[table]} days", file=out)
        else:
            print(f"{table}: kept for ever (retention 0)", file=out)
    return 0


# ---------------------------------------------------------------- outbox


async def outbox_list(args: argparse.Namespace, out: TextIO) -> int:
    from storage.models import OutboxMessage

    query = OutboxMessage.all() if args.status == "all" else OutboxMessage.filter(status=args.status)
    if args.platform:
        query = query.filter(platform=args.platform)
    total = await query.count()
    rows = await query.order_by("-id").limit(max(1, args.limit))
    table = [
        [
            str(r.id), r.status, r.platform, _cut(r.conversation_id, 24), r.kind, str(r.attempts),
            _time(r.created_at), _time(r.next_attempt_at if r.status == "pending" else r.sent_at), _cut(r.last_error, 60),
        ]
        for r in rows
    ]
    _table(table, ["ID", "STATUS", "PLATFORM", "CONVERSATION", "KIND", "TRIES", "CREATED", "NEXT/SENT", "LAST ERROR"], out)
    print(f"{len(rows)} of {total} {args.status} row(s)", file=out)
    if args.status == "dead" and rows:
        print("retry with: collabbot outbox retry " + " ".join(str(r.id) for r in rows[:5]), file=out)
    return 0


async def outbox_retry(args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from storage.models import OutboxMessage

    problems = 0
    for row_id in args.ids:
        row = await OutboxMessage.get_or_none(id=row_id)
        if row is None:
            print(f"{row_id}: no such outbox row", file=sys.stderr)
            problems += 1
            continue
        if row.status != "dead":
            print(f"{row_id}: is {row.status}, not dead; only dead rows are retried", file=sys.stderr)
            problems += 1
            continue
        await OutboxMessage.filter(id=row_id, status="dead").update(
            status="pending", attempts=0, next_attempt_at=now, lease_until=None, lease_owner=None
        )
        print(f"{row_id}: queued again ({row.platform} {row.conversation_id}); the running bot sends it within seconds", file=out)
    return 1 if problems else 0


async def outbox_purge(args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from storage import housekeeping
    from storage.models import OutboxMessage

    if args.older_than < timedelta(days=1):
        print("--older-than must be at least 1d: a purged row's dedupe key is forgotten, and a platform may still redeliver", file=sys.stderr)
        return 2
    cutoff = now - args.older_than
    query = OutboxMessage.filter(status="sent", sent_at__lt=cutoff)
    count = await query.count()
    if args.dry_run:
        print(f"{count} sent row(s) older than {_time(cutoff)} would be deleted", file=out)
        return 0
    deleted = await housekeeping.delete_walking(housekeeping.SENT_OUTBOX, cutoff)
    print(f"deleted {deleted} sent row(s) older than {_time(cutoff)}", file=out)
    return 0


# ---------------------------------------------------------------- timers


async def timers_list(args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    from storage.models import Timer

    query = Timer.all() if args.status == "all" else Timer.filter(status=args.status)
    if args.kind:
        query = query.filter(kind__startswith=args.kind[:-1]) if args.kind.endswith("*") else query.filter(kind=args.kind)
    total = await query.count()
    rows = await query.order_by("due_at", "id").limit(max(1, args.limit))
    table = []
    for r in rows:
        late = ""
        if r.status == "pending" and r.due_at <= now:
            late = f"late {int((now - r.due_at).total_seconds())}s"
        table.append([str(r.id), r.status, r.kind, _cut(r.key, 48), _time(r.due_at), late or _time(r.fired_at)])
    _table(table, ["ID", "STATUS", "KIND", "KEY", "DUE", "FIRED/LATE"], out)
    print(f"{len(rows)} of {total} {args.status} timer(s); now {_time(now)}", file=out)
    return 0


async def with_database(config: Config, job: Callable[[], Awaitable[int]]) -> int:
    """Open the database without migrating (an operator command must not change the schema), run, close."""
    from storage import db

    await db.connect(config.database.url, run_migrations=False)
    try:
        return await job()
    finally:
        await db.close()


async def run(args: argparse.Namespace, config: Config, out: TextIO = sys.stdout) -> int:
    """Run ``db``, ``outbox`` or ``timers``; a database that cannot be reached is one clear line, not a traceback."""
    try:
        return await _run(args, config, out)
    except (OSError, TimeoutError, DBConnectionError, OperationalError) as exc:
        reason = redact(f"{type(exc).__name__}: {exc}")
        print(
            f"{args.command}: the database {redact_url(config.database.url)} cannot be used ({reason}); "
            "check database.url (or COLLABBOT_DATABASE_URL) and that the server is running",
            file=sys.stderr,
        )
        return 3


async def _run(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    now = datetime.now(UTC)
    if args.command == "db":
        if args.action == "prune":
            return await with_database(config, lambda: db_prune(config, now, out))
        return await (db_current(config, out) if args.action == "current" else db_upgrade(config, out))
    if args.command == "outbox":
        jobs: dict[str, Callable[[], Awaitable[int]]] = {
            "list": lambda: outbox_list(args, out),
            "retry": lambda: outbox_retry(args, now, out),
            "purge-sent": lambda: outbox_purge(args, now, out),
        }
        return await with_database(config, jobs[args.action])
    return await with_database(config, lambda: timers_list(args, now, out))


# ---------------------------------------------------------------- check-config


def _secret_fields(section: BaseModel, prefix: str) -> list[str]:
    return [f"{prefix}.{name}" for name, value in section if isinstance(value, SecretStr)]


def summary(path: str, config: Config) -> list[str]:
    """What ``check-config`` prints for a valid file: counts, platforms, the database (password hidden), and
    which secrets are set — never their values."""
    platforms = [name for name in ("slack", "dingtalk", "wecom", "feishu") if getattr(config, name) is not None]
    if config.simulator.enabled:
        platforms.append("simulator")
    lines = [
        f"{path}: OK ({len(config.people)} people, {len(config.departments)} departments, platforms: {', '.join(platforms) or 'none'})",
        f"  database: {redact_url(config.database.url)}",
        f"  server: http://{config.server.host}:{config.server.port} (/healthz, /readyz, /metrics)",
        "  retention: " + ", ".join(
            f"{what} {f'{days} days' if days else 'for ever'}"
            for what, days in (
                ("delivery ids", config.retention.inbox_days),
                ("sent messages", config.retention.outbox_sent_days),
                ("done timers", config.retention.timers_days),
            )
        ),
    ]
    secrets: list[str] = []
    for name in ("slack", "dingtalk", "wecom", "feishu", "dashboard"):
        section = getattr(config, name, None)
        if isinstance(section, BaseModel):
            secrets += _secret_fields(section, name)
    if secrets:
        lines.append(f"  secrets set: {', '.join(secrets)} (values not shown)")
    return lines
