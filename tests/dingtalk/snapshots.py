"""Snapshot files of what DingTalk is sent; ``COLLABBOT_UPDATE_SNAPSHOTS=1`` (re)writes them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("COLLABBOT_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path.name}; run with COLLABBOT_UPDATE_SNAPSHOTS=1 to create it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"what DingTalk gets for {name} changed; if intended, rerun with COLLABBOT_UPDATE_SNAPSHOTS=1 and review the diff"
    )
