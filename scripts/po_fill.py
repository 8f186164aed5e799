"""Fill zh_CN translations from a JSON object {msgid: msgstr} on stdin: ``python scripts/po_fill.py < zh.json``.

Only empty msgstr entries are filled unless ``--force`` is given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    table: dict[str, str] = json.load(sys.stdin)
    force = "--force" in sys.argv
    used: set[str] = set()
    for path in sorted((ROOT / "locales" / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="zh_CN")
        changed = False
        for message in catalog:
            if message.id in table and (force or not message.string):
                message.string = table[message.id]
                used.add(str(message.id))
                changed = True
        if changed:
            with path.open("wb") as handle:
                write_po(handle, catalog, width=0, omit_header=True, sort_output=True)
    unused = sorted(set(table) - used)
    for msgid in unused:
        print(f"not found or already translated: {msgid!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
