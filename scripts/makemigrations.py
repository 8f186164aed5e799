"""Generate a migration for model changes: ``python scripts/makemigrations.py [--reset | --check] [name]``.

``--reset`` regenerates ``0001_initial`` from all models (allowed until the
first release: nobody has a database to upgrade yet). ``--check`` writes
nothing: it lists what a new migration would do and exits 1 if anything
(a model changed without its migration; the test suite runs it).

Runs tortoise's autodetector, then wraps the new file's operations in
``storage.migration_order.ordered`` (see that module for why).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "storage" / "migrations"


async def pending_operations() -> list[str]:
    """What a new migration would do, one line per operation: nothing when the migrations describe the models."""
    sys.path.insert(0, str(ROOT))
    from tortoise.cli.cli import tortoise_cli_context
    from tortoise.migrations.autodetector import MigrationAutodetector

    from storage.db import tortoise_config

    config = tortoise_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as context:
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    return [operation.describe() for writer in writers for operation in writer.operations]


def main() -> int:
    if "--check" in sys.argv:
        pending = asyncio.run(pending_operations())
        for line in pending:
            print(line)
        return 1 if pending else 0
    args = [a for a in sys.argv[1:] if a != "--reset"]
    if "--reset" in sys.argv:
        for old in MIGRATIONS.glob("[0-9]*.py"):
            old.unlink()
    before = set(MIGRATIONS.glob("[0-9]*.py"))
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, COLLABBOT_DATABASE_URL=f"sqlite://{tmp}/make.db")
        cmd = [sys.executable, "-m", "tortoise", "-c", "storage.db.TORTOISE_ORM", "makemigrations"]
        if args:
            cmd += ["-n", args[0]]
        subprocess.run(cmd, check=True, env=env, cwd=MIGRATIONS.parent.parent)
    for path in sorted(set(MIGRATIONS.glob("[0-9]*.py")) - before):
        source = path.read_text()
        if "ordered(" in source:
            continue
        source = source.replace("\nclass Migration", "from storage.migration_order import ordered\n\n\nclass Migration", 1)
        source = source.replace("    operations = [\n", "    operations = ordered([\n", 1)
        source = source.rstrip()
        assert source.endswith("]"), path
        path.write_text(source[:-1] + "])\n")
        print(f"wrapped {path.name} in ordered()")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
