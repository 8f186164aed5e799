"""Keep the gettext catalogs in step with the code: ``python scripts/i18n.py``.

Every ``_("…")`` in an area (``bot``, ``workflows/<area>``, ``adapters/<platform>``)
lands in ``locales/<locale>/LC_MESSAGES/<area>.po``; existing translations are
kept, new messages are added untranslated (the test suite then fails until a
zh_CN translation is written), and messages no longer in the code are dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_CN", "en")


def areas() -> dict[str, Path]:
    found = {"core": ROOT / "bot"}
    for parent in ("workflows", "adapters"):
        for folder in sorted((ROOT / parent).iterdir()):
            if folder.is_dir() and not folder.name.startswith(("_", ".")):
                found[folder.name] = folder
    return found


def extract(folder: Path) -> list[tuple[str, list[tuple[str, int]]]]:
    messages: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        folder, method_map=[("**.py", "python")], keywords={"_": None}, comment_tags=(), strip_comment_tags=True
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            messages.setdefault(msgid, []).append((str(folder.relative_to(ROOT) / filename), lineno))
    return sorted(messages.items())


def update(check_only: bool = False) -> list[str]:
    problems = []
    for area, folder in areas().items():
        messages = extract(folder)
        for locale in LOCALES:
            path = ROOT / "locales" / locale / "LC_MESSAGES" / f"{area}.po"
            old: dict[str, str] = {}
            if path.exists():
                with path.open("rb") as handle:
                    for m in read_po(handle, locale=locale):
                        if m.id:
                            old[str(m.id)] = str(m.string or "")
            if not messages:
                if path.exists() and not check_only:
                    path.unlink()
                continue
            catalog = Catalog(locale=locale, project="collabbot", charset="utf-8")
            for msgid, locations in messages:
                catalog.add(msgid, old.get(msgid, ""), locations=locations)
                if locale == "zh_CN" and not old.get(msgid):
                    problems.append(f"{path.relative_to(ROOT)}: no translation for {msgid!r}")
            if not check_only:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("wb") as handle:
                    write_po(handle, catalog, width=0, omit_header=True, sort_output=True)
    return problems


if __name__ == "__main__":
    missing = update(check_only="--check" in sys.argv)
    for line in missing:
        print(line)
    sys.exit(1 if missing and "--check" in sys.argv else 0)
