"""One way to compare what a platform gets with a reviewed JSON file under a test folder's ``snapshots/``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

UPDATE = "COLLABBOT_UPDATE_SNAPSHOTS"


def assert_snapshot_file(folder: Path, name: str, value: Any, what: str) -> None:
    """Compare ``value`` with ``folder/<name>.json``; ``COLLABBOT_UPDATE_SNAPSHOTS=1`` (re)writes it instead.

    A missing snapshot fails: writing it here would compare the output with itself.
    """
    path = folder / f"{name}.json"
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get(UPDATE) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path.name}; run with {UPDATE}=1 to create it, then review it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"{what} of {name} changed; if intended, rerun with {UPDATE}=1 and review the diff"
    )
