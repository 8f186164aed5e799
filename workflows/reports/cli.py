"""``collabbot export``: the documents' tables as XLSX or CSV files, from the command line.

    collabbot export --config collabbot.toml XZB2026112301 --format xlsx --out exports/
    collabbot export --config collabbot.toml all --format csv --locale en
    collabbot export --config collabbot.toml all --from 2026-10-01 --to 2026-12-31

An operator's command: it reads every collaboration (no per-person visibility), in the organisation's
language and timezone unless ``--locale`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.i18n import SUPPORTED_LOCALES, localize, normalize_locale

from ..retro.archive import ArchiveSearch, find_collaborations
from .export_commands import FORMATS, export_files
from .tables import build_tables


def add_parser(sub: Any) -> None:
    """Add ``export`` to the ``collabbot`` sub-command parser."""
    export = sub.add_parser("export", help="write the documents' tables (表1, 表2, 表3, 协作沟通记录表, 改进流程表) as XLSX or CSV")
    export.add_argument("collaboration", help="a collaboration id (XZB…) or 'all'")
    export.add_argument("--format", default="xlsx", choices=sorted(set(FORMATS.values())))
    export.add_argument("--locale", help=f"headers' language ({', '.join(SUPPORTED_LOCALES)}; default: the organisation's)")
    export.add_argument("--from", dest="start", type=_iso_date, metavar="YYYY-MM-DD", help="with all: collaborations still open or finished on or after this day")
    export.add_argument("--to", dest="end", type=_iso_date, metavar="YYYY-MM-DD", help="with all: collaborations raised on or before this day")
    export.add_argument("--out", default=".", help="a folder to write into (default: the current one)")
    export.add_argument("--config", help="configuration file (else COLLABBOT_CONFIG, else COLLABBOT_DATABASE_URL or the default)")


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write it as 2026-12-31") from None


async def run(args: argparse.Namespace, config: Config, *, clock: Clock | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Write the files; 0 when written, 2 for a bad argument or nothing to export."""
    from storage import db
    from storage.models import Collaboration

    today = (clock or SystemClock()).now().astimezone(ZoneInfo(config.bot.timezone)).date()

    locale = normalize_locale(args.locale) if args.locale else config.bot.locale
    if locale not in SUPPORTED_LOCALES:
        print(f"export: unsupported locale {args.locale!r}; use one of {', '.join(SUPPORTED_LOCALES)}", file=err)
        return 2
    folder = Path(args.out)
    if await asyncio.to_thread(lambda: folder.exists() and not folder.is_dir()):
        print(f"export: --out {folder} is a file, not a folder", file=err)
        return 2
    await db.connect(config.database.url)
    try:
        wanted = args.collaboration.strip()
        start, end = getattr(args, "start", None), getattr(args, "end", None)
        if (start or end) and wanted.lower() not in ("all", "全部"):
            print("export: --from and --to go with 'all'", file=err)
            return 2
        if start and end and end < start:
            print(f"export: --to {end} is before --from {start}", file=err)
            return 2
        if start or end:
            collabs = sorted(await find_collaborations(ArchiveSearch(start=start, end=end, tz=config.bot.timezone)), key=lambda c: c.id)
            stem = f"collabbot-{start or ''}_{end or ''}"
        elif wanted.lower() in ("all", "全部"):
            collabs = list(await Collaboration.all().order_by("id"))
            stem = f"collabbot-{today.isoformat()}"
        else:
            found = await Collaboration.get_or_none(code=wanted.upper())
            collabs = [found] if found else []
            stem = wanted.upper()
        if not collabs:
            everything = wanted.lower() in ("all", "全部")
            if start or end:
                print(f"export: no collaboration falls within {start or '…'} – {end or '…'}", file=err)
            else:
                print("export: there is no collaboration yet" if everything else f"export: there is no collaboration {wanted!r}", file=err)
            return 2
        tables = await build_tables(
            collabs, locale=locale, tz=config.bot.timezone, calendar=WorkCalendar.from_config(config), today=today,
            due_soon=config.bot.due_soon_working_days,
        )
    finally:
        await db.close()
    files = await export_files(tables, args.format, stem, locale)
    for path, size in await asyncio.to_thread(_write, folder, [(f.filename, f.data) for f in files]):
        print(f"{path} ({size} bytes)", file=out)
    print(str(localize(files[0].caption, locale)), file=out)
    return 0


def _write(folder: Path, files: list[tuple[str, bytes]]) -> list[tuple[Path, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files:
        path = folder / name.replace("/", "_")
        path.write_bytes(data)
        written.append((path, len(data)))
    return written
