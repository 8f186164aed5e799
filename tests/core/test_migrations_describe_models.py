"""The migrations describe the models: a model changed without its migration fails here, not in a deployment
whose database would lack the column or the index the code expects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_no_model_change_is_missing_from_the_migrations() -> None:
    # a process of its own: the autodetector builds tortoise's apps from the models and from the migrations
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "makemigrations.py"), "--check"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout == "", run.stdout + run.stderr
