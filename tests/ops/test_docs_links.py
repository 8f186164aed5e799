"""The README and docs/ are read by people who have only this repository: every relative link resolves inside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_relative_link_in_the_docs_resolves_inside_the_repository():
    broken = []
    for document in documents():
        for target in LINK.findall(document.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            resolved = (document.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{document.relative_to(ROOT)} → {target}")
    assert not broken, "links that lead nowhere or out of the repository:\n" + "\n".join(broken)


def test_no_document_points_at_files_outside_the_repository():
    outside = [
        f"{document.relative_to(ROOT)}:{number}"
        for document in documents()
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1)
        if "../shared" in line
    ]
    assert not outside, outside
