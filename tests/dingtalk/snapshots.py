"""Snapshot files of what DingTalk is sent; ``COLLABBOT_UPDATE_SNAPSHOTS=1`` (re)writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.snapshot_files import assert_snapshot_file

SNAPSHOTS = Path(__file__).parent / "snapshots"


def readable(params: dict[str, str]) -> dict[str, Any]:
    """A ``cardParamMap`` with its JSON-string values opened up, so a diff reads well."""
    out: dict[str, Any] = dict(params)
    if "btns" in out:
        out["btns"] = json.loads(out["btns"])
        for button in out["btns"]:
            inner = button["action"]["params"]["params"]
            inner["value"] = json.loads(inner["value"])
    return out


def assert_snapshot(name: str, data: Any) -> None:
    assert_snapshot_file(SNAPSHOTS, name, data, "what DingTalk gets")
