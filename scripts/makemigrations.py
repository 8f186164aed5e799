"""Generate a migration for model changes: ``python scripts/makemigrations.py [--reset] [name]``.

``--reset`` regenerates ``0001_initial`` from all models (allowed until the
first release: nobody has a database to upgrade yet).

Runs tortoise's autodetector, then wraps the new file's operations in
``storage.migration_order.ordered`` (see that module for why).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "storage" / "migrations"


def main() -> int:
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
        source = source.replace("from tortoise import fields\n", "from tortoise import fields\n\nfrom storage.migration_order import ordered\n", 1)
        source = source.replace("    operations = [\n", "    operations = ordered([\n", 1)
        source = source.rstrip()
        assert source.endswith("]"), path
        path.write_text(source[:-1] + "])\n")
        print(f"wrapped {path.name} in ordered()")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
